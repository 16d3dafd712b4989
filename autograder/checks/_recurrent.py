"""Verdict helpers for the checks of the recurrent-cell assignments (a3, a4; trusted side only).

Hidden-case messages say which array is wrong, where, what the student's value is there and
how large the relative error is, but never print an expected value: a student could
otherwise read the hidden answer off the feedback one element at a time. Likely causes
(``hints``: cause -> the array that mistake produces) are named when they match.

Backward checks come in two kinds, chosen per case by ``case.meta["oracle"]``:
``"autograd"`` compares with PyTorch autograd in float64 at ``RTOL`` (1e-9, so float32
work fails), ``"centred"`` with centred differences of the reference forward (no autograd
at all) at ``GRADCHECK_TOL``.
"""

from __future__ import annotations

import numpy as np

from autograder.checks._common import ATOL, LOW_PRECISION, RTOL, centred_difference, rel_error
from autograder.checks._common import grads_issue as _common_grads_issue

# Centred differences with eps = 1e-6 in float64 are good to about 1e-9 relative on these
# smooth cells; 1e-6 leaves a wide margin and still rejects any wrong term.
GRADCHECK_TOL = 1e-6


def torch():
    """PyTorch, one thread (the graders share the machine)."""
    import torch as _torch

    _torch.set_num_threads(1)
    return _torch


def tensors(arrays: dict, requires_grad=False) -> dict:
    """float64 tensors (leaves) of a dict of numpy arrays."""
    t = torch()
    return {k: t.tensor(np.asarray(v, dtype=np.float64), requires_grad=requires_grad) for k, v in arrays.items()}


def array_issue(name, got, want, hints=None, rtol=RTOL, atol=ATOL):
    """Why ``got`` is not ``want``, or None; the expected values and shape are never printed,
    the relative error only to its order of magnitude.

    got : the student's value (anything); want : ndarray; hints : {cause: ndarray or None}.
    """
    want = np.asarray(want)
    if type(got).__module__.startswith("torch") and hasattr(got, "detach"):
        return f"{name} is a torch tensor: this assignment works in numpy, return a numpy array"
    if not isinstance(got, np.ndarray):
        kind = "None (did you forget to return it?)" if got is None else type(got).__name__
        return f"{name} should be a numpy array, got {kind}"
    if got.dtype.name in LOW_PRECISION:
        return (f"{name} has dtype {got.dtype}: keep every computation in float64 "
                "(float32 keeps about 7 significant digits, the check needs 9)")
    if got.shape != want.shape:
        wrong = "" if got.ndim == want.ndim else f": {got.ndim} dimensions is the wrong number of dimensions"
        return f"{name} has shape {got.shape}, which is wrong{wrong}" + _causes(got, want, hints, rtol, atol)
    if got.dtype.kind not in "biuf":
        return f"{name} has dtype {got.dtype}, expected float64"
    if got.size and not np.all(np.isfinite(got)):
        idx = np.unravel_index(np.argmax(~np.isfinite(got)), got.shape)
        return (f"{name} contains {float(got[idx])!r} at index {_idx(idx)}: look for an overflow "
                "(exp of a large number: shift the softmax scores, use a stable sigmoid)")
    close = np.isclose(got, want, rtol=rtol, atol=atol)
    if close.all():
        return None
    idx = np.unravel_index(np.argmin(close), got.shape)
    err = rel_error(got, want)
    # float64 work agrees to ~1e-13; an error near 1e-8 means a float32 array somewhere
    precision = ("\n  likely cause: the values agree to about 7 digits only: an array was float32 somewhere "
                 "in the computation (astype(np.float32), np.float32(...), a float32 array from torch)"
                 if err < 1e-5 else "")
    return (f"{name} is wrong at index {_idx(idx)} (your value {float(got[idx])!r}); {int((~close).sum())} of "
            f"{close.size} elements differ, relative error about {err:.0e} (tolerance {rtol:g})"
            + (precision or _causes(got, want, hints, rtol, atol)))


def keys_issue(what, got, keys, kind="a dict"):
    """A message unless ``got`` is a dict holding at least ``keys``."""
    if not isinstance(got, dict):
        return f"{what} should be {kind} with the keys {list(keys)}, got {type(got).__name__}"
    missing = [k for k in keys if k not in got]
    if missing:
        return f"{what} is missing the key(s) {missing}: it must hold {list(keys)}"
    return None


def cache_issue(what, cache, want: dict, hints=None):
    """Compare every entry of a returned cache with its reference, or None when all match.

    want : {key: ndarray, or a dict of ndarrays (params, gates)}; entries the cache holds beyond
        these are allowed (a solution may keep more for its backward pass).
    hints : {key: {cause: ndarray}} for the arrays, as in :func:`array_issue`.
    """
    problem = keys_issue(what, cache, list(want))
    if problem:
        return problem
    for key, ref in want.items():
        name = f'{what}["{key}"]'
        if isinstance(ref, dict):
            problem = keys_issue(name, cache[key], list(ref))
            for sub, sub_ref in ref.items():
                problem = problem or array_issue(f'{name}["{sub}"]', cache[key][sub], sub_ref)
        else:
            problem = array_issue(name, cache[key], ref, hints=(hints or {}).get(key))
        if problem:
            return problem
    return None


def expects_value_error(case, result, what):
    """The verdict of a case whose input the contract rejects with ValueError (``what`` names it)."""
    from autograder.checks.base import Verdict

    if result.error_type == "ValueError":
        return Verdict(True, "correct")
    return Verdict(False, f"{case.func} should raise ValueError for {what}, as its docstring says, "
                   + (f"got {result.error}" if result.error else "but it returned a value"))


def grads_issue(what, got, want, hints=None):
    """Compare a dict of gradients key by key (exactly the keys of ``want``), never printing
    expected values. hints : {key: {cause: ndarray}} per gradient."""
    return _common_grads_issue(what, got, want, hints, compare=array_issue)


def grads_gradcheck_issues(grads, numerical, keys):
    """Problems of a dict of parameter gradients against centred differences.

    grads : what the student returned; numerical : {key: ndarray} with at least ``keys``.
    With exactly the keys wanted, each gradient is checked on its own; otherwise one problem
    names the missing or extra keys (never printing the numerical values).
    """
    if isinstance(grads, dict) and set(grads) == set(keys):
        return [gradcheck_issue(f"grads[{k!r}]", grads[k], numerical[k]) for k in keys]
    return [grads_issue("grads", grads, {k: numerical[k] for k in keys})]


def gradcheck_issue(name, got, numerical, tol=GRADCHECK_TOL):
    """Compare an analytic gradient with centred differences (one relative error for the array)."""
    numerical = np.asarray(numerical)
    if not isinstance(got, np.ndarray) or got.shape != numerical.shape or got.dtype.kind not in "biuf":
        return array_issue(name, got, numerical)  # the shape or type message
    if got.dtype.name in LOW_PRECISION:
        return array_issue(name, got, numerical)
    err = rel_error(got, numerical)
    if not np.isfinite(err) or err > tol:
        return (f"{name} disagrees with a centred-difference gradient check: relative error "
                f"{err:.1e} (tolerance {tol:g})")
    return None


def numerical_grads(loss, inputs: dict, names=None, eps=1e-6) -> dict:
    """Centred differences of ``loss(inputs) -> float`` for each array named in ``names``."""
    out = {}
    for name in (names or inputs):
        def f(value, name=name):
            return loss({**inputs, name: value})
        out[name] = centred_difference(f, inputs[name], eps=eps)
    return out


def sigmoid(z):
    """Stable logistic function (numpy), for the likely-cause variants."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True, initial=-np.inf))  # initial: an axis of length 0 (N = 0)
    return e / e.sum(axis=axis, keepdims=True)


def _causes(got, want, hints, rtol, atol) -> str:
    """Likely causes whose mistaken array matches ``got``; a mistake that gives the right
    answer on this case (e.g. nothing to carry when T = 1) says nothing and is skipped."""
    found, loose = [], max(rtol, 1e-7)
    for cause, alt in (hints or {}).items():
        if alt is None:
            continue
        alt = np.asarray(alt)
        if alt.shape != got.shape or not np.all(np.isfinite(alt)):
            continue
        if alt.shape == want.shape and np.allclose(alt, want, rtol=loose, atol=atol):
            continue
        if np.allclose(got, alt, rtol=loose, atol=atol):
            found.append(cause)
    return "".join(f"\n  likely cause: {c}" for c in found)


def _idx(idx) -> str:
    return "(" + ", ".join(str(int(i)) for i in idx) + ")" if len(idx) != 1 else f"[{int(idx[0])}]"
