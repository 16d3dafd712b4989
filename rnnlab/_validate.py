"""Input checks shared by every rnnlab module.

Every public function validates its arguments with these helpers so that bad input fails
loudly, with a ``ValueError`` that names the argument, the shape it got and the shape it
wanted, instead of broadcasting silently into a wrong answer. Shapes are written with the
course notation (``docs/architecture.md``): ``dims`` strings such as ``"(T, N, D)"``.

Examples of messages::

    x must be a 3-D array (T, N, D), got shape (4, 5)
    h0 must have shape (N, H) = (3, 7), got shape (3, 8)
    h0 has shape (5, 7) but x has shape (4, 3, 2): h0.shape[0] must equal x.shape[1] = 3 (batch N)
    x contains NaN or inf: 2 of 60 entries, first at index (0, 1, 2)
"""

import numpy as np

__all__ = [
    "as_array",
    "check_shape",
    "check_finite",
    "check_same",
    "check_keys",
    "check_choice",
    "check_positive_int",
    "check_indices",
    "check_params",
    "shape_str",
]


def shape_str(shape):
    """Format a shape as ``(4, 5)``; ``None`` entries print as ``?``. ``(4,)`` for 1-D."""
    items = ["?" if s is None else str(int(s)) for s in shape]
    if len(items) == 1:
        return f"({items[0]},)"
    return "(" + ", ".join(items) + ")"


def as_array(name, x, ndim=None, dtype=np.float64, dims=None, finite=False):
    """Convert ``x`` to an ndarray and check its rank, without copying when possible.

    Parameters
    ----------
    name : str
        Argument name used in error messages.
    x : array_like
    ndim : int or None
        Required number of dimensions; defaults to ``len`` of the names in ``dims``.
    dtype : numpy dtype or None
        Target dtype (``np.float64`` by default). An integer dtype refuses non-integer
        input instead of truncating it. ``None`` keeps the input's dtype.
    dims : str or None
        Names of the axes for messages, e.g. ``"(T, N, D)"``.
    finite : bool
        Also reject NaN and inf (see :func:`check_finite`).

    Returns
    -------
    arr : ndarray
        ``x`` itself when it already is an ndarray of ``dtype`` (never modify it in place).
    """
    if dims is not None and ndim is None:
        ndim = len([d for d in dims.strip("()").split(",") if d.strip()])
    try:
        arr = np.asarray(x)
    except Exception as err:  # ragged lists and the like
        raise ValueError(f"{name} must be an array, could not convert: {err}") from None
    if arr.dtype == object:
        raise ValueError(f"{name} must be a numeric array, got an object array "
                         f"of shape {shape_str(arr.shape)}")
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype.kind in "iu" and arr.dtype.kind not in "iub":
            raise ValueError(f"{name} must be an integer array, got dtype {arr.dtype} "
                             f"with shape {shape_str(arr.shape)}")
        if dtype.kind == "f" and arr.dtype.kind not in "biuf":
            raise ValueError(f"{name} must be a real array, got dtype {arr.dtype} with shape {shape_str(arr.shape)}")
        if arr.dtype != dtype:
            arr = arr.astype(dtype)
    if ndim is not None and arr.ndim != ndim:
        doc = f" {dims}" if dims else ""
        raise ValueError(f"{name} must be a {ndim}-D array{doc}, got shape {shape_str(arr.shape)}")
    if finite:
        check_finite(name, arr)
    return arr


def check_shape(name, arr, expected, dims=None):
    """Raise ``ValueError`` unless ``arr.shape`` matches ``expected``.

    Parameters
    ----------
    name : str
    arr : ndarray
    expected : tuple of int or None
        Wanted shape; ``None`` accepts any length on that axis.
    dims : str or None
        Axis names for the message, e.g. ``"(N, H)"``.
    """
    shape = np.shape(arr)
    ok = len(shape) == len(expected) and all(e is None or s == e for s, e in zip(shape, expected))
    if not ok:
        doc = f"{dims} = " if dims else ""
        raise ValueError(f"{name} must have shape {doc}{shape_str(expected)}, got shape {shape_str(shape)}")
    return arr


def check_finite(name, arr):
    """Raise ``ValueError`` if ``arr`` holds NaN or inf, saying how many and where."""
    arr = np.asarray(arr)
    if arr.dtype.kind not in "fc":
        return arr
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} contains NaN or inf: {int(bad.sum())} of {arr.size} entries "
            f"(shape {shape_str(arr.shape)}), first at index {first}"
        )
    return arr


def check_same(name_a, a, name_b, b, axis, what=None):
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same length on the given axes.

    Parameters
    ----------
    name_a, name_b : str
        Argument names for the message.
    a, b : ndarray
    axis : int or (int, int)
        Axis compared, the same in both arrays or ``(axis_a, axis_b)``.
    what : str or None
        What the axis means, e.g. ``"batch N"`` or ``"width H"``.
    """
    ax_a, ax_b = (axis, axis) if np.isscalar(axis) else axis
    sa, sb = np.shape(a), np.shape(b)
    na = sa[ax_a] if -len(sa) <= ax_a < len(sa) else None
    nb = sb[ax_b] if -len(sb) <= ax_b < len(sb) else None
    if na is None or nb is None or na != nb:
        about = f" ({what})" if what else ""
        raise ValueError(
            f"{name_a} has shape {shape_str(sa)} but {name_b} has shape {shape_str(sb)}: "
            f"{name_a}.shape[{ax_a}] must equal {name_b}.shape[{ax_b}] = {nb}{about}"
        )


def check_keys(name, mapping, keys):
    """Raise ``ValueError`` unless the dict ``mapping`` holds every key of ``keys``."""
    if not isinstance(mapping, dict):
        raise ValueError(f"{name} must be a dict with keys {list(keys)}, got {type(mapping).__name__}")
    missing = [k for k in keys if k not in mapping]
    if missing:
        raise ValueError(f"{name} is missing keys {missing}; it must have {list(keys)}, got {sorted(mapping)}")
    return mapping


def check_choice(name, value, choices):
    """Raise ``ValueError`` unless ``value`` is one of ``choices``, listing them."""
    try:
        ok = value in choices
    except TypeError:  # unhashable value tested against a dict or set
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def check_positive_int(name, value, allow_none=False):
    """Raise ``ValueError`` unless ``value`` is an int >= 1 (or ``None`` when allowed)."""
    if value is None and allow_none:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        extra = " or None" if allow_none else ""
        raise ValueError(f"{name} must be an int >= 1{extra}, got {value!r}")
    return int(value)


def check_indices(name, idx, V):
    """Raise ``ValueError`` unless every entry of the integer array ``idx`` is in ``[0, V)``."""
    idx = np.asarray(idx)
    if idx.size and (idx.min() < 0 or idx.max() >= V):
        bad = (idx < 0) | (idx >= V)
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} has {int(bad.sum())} entries outside the vocabulary [0, {V}) "
            f"(shape {shape_str(idx.shape)}), first {int(idx[first])} at index {first}"
        )
    return idx


def check_params(name, params, shapes):
    """Check a parameter dict and return a new dict of float64 arrays.

    Parameters
    ----------
    name : str
        Name of the dict in messages, usually ``"params"``.
    params : dict of array_like
    shapes : dict
        ``key -> (expected_shape, dims)``, e.g. ``{"W_hh": ((H, H), "(H, H)")}``;
        ``None`` entries in ``expected_shape`` accept any length.

    Returns
    -------
    checked : dict of ndarray
        The same arrays (not copies) when they already are float64; extra keys are dropped.
    """
    check_keys(name, params, list(shapes))
    checked = {}
    for key, (expected, dims) in shapes.items():
        label = f"{name}[{key!r}]"
        arr = as_array(label, params[key], ndim=len(expected), dims=dims)
        check_shape(label, arr, expected, dims)
        checked[key] = check_finite(label, arr)
    return checked


# -- shared by the recurrent cells (rnn, lstm, gru, jordan) and the torch bridge --------------

def check_cell_params(params, D, gates=1, x=None):
    """Validate ``params`` of a cell with ``gates`` stacked blocks (1 Elman, 4 LSTM); return (params, H).

    With ``x`` given, a width mismatch is reported as one between ``x`` and ``W_ih``.
    """
    rows = "H" if gates == 1 else f"{gates}H"
    check_params("params", params, {"W_hh": ((None, None), f"({rows}, H)"), "W_ih": ((None, None), f"({rows}, D)")})
    if x is not None:
        check_same("x", x, "params['W_ih']", params["W_ih"], (-1, 1), "input width D")
    H = np.shape(params["W_hh"])[1]
    G = gates * H
    # W_hh first: H is read from it, so its own shape is the first thing to report.
    shapes = {
        "W_hh": ((G, H), f"({rows}, H)"),
        "W_ih": ((G, D), f"({rows}, D)"),
        "b_ih": ((G,), f"({rows},)"),
        "b_hh": ((G,), f"({rows},)"),
    }
    return check_params("params", params, shapes), H


def check_sequence(x):
    """Validate ``x (T, N, D)`` with T >= 1; return it as float64."""
    x = as_array("x", x, dims="(T, N, D)", finite=True)
    if x.shape[0] == 0:
        raise ValueError(f"x must have at least one time step (T >= 1), got shape {shape_str(x.shape)}")
    return x


def check_state(name, h, x, H, batch_axis):
    """Validate a state ``h (N, H)`` against the batch of ``x`` (axis ``batch_axis``) and width H."""
    h = as_array(name, h, dims="(N, H)", finite=True)
    check_same(name, h, "x", x, (0, batch_axis), "batch N")
    check_shape(name, h, (x.shape[batch_axis], H), "(N, H)")
    return h
