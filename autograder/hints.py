"""Student-friendly comparisons for visible tests (public).

``check_array("h_next", got, want)`` raises AssertionError with a message in the student's
terms: wrong type, wrong shape, the first wrong element, the relative error against the
tolerance, and a likely cause when ``got`` matches a known mistake (the transpose of the
expected value, or any alternative the caller passes in ``hints``, e.g. the result with
sigmoid instead of tanh). The ``*_problem`` functions return the message (or None) instead
of raising, so hidden verdicts can reuse them on the grader's side with ``hidden=True``: then
no expected value, shape or dtype is printed (a hidden case stays hidden).
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_array", "check_scalar", "check_not_modified", "array_problem", "scalar_problem"]


def array_problem(name, got, want, rtol=1e-7, atol=1e-10, hints=None, hidden=False):
    """Return a message describing why ``got`` is not ``want``, or None when it matches.

    got : the student's value; anything (it is validated here).
    want : ndarray, the expected value.
    hints : dict message -> ndarray, known wrong answers to recognise ("used sigmoid where
        tanh was expected" -> the sigmoid version).
    hidden : True for a hidden case (verdicts): the message shows the student's values, where
        the first wrong element is and the likely causes, never an expected value or shape,
        and the relative error only to its order of magnitude (a one-element array would
        otherwise give its expected value away).
    """
    want = np.asarray(want)
    if type(got).__module__ == "torch" and hasattr(got, "detach"):
        got = got.detach().cpu().numpy()
    if not isinstance(got, np.ndarray):
        if hidden:
            return f"{name} should be a numpy array, got {_describe(got)}"
        return f"{name} should be a numpy array of shape {want.shape}, got {_describe(got)}"
    if got.shape != want.shape:
        transposed = got.shape == want.shape[::-1] and got.ndim == 2
        if hidden:
            msg = f"{name} has shape {got.shape}, which is wrong" + (
                "" if got.ndim == want.ndim else f": {got.ndim} dimensions is the wrong number of dimensions")
        else:
            msg = f"{name} has shape {got.shape}, expected {want.shape}"
        if transposed:
            msg += " (the transposed shape: check the order of the matrix product)"
        return msg + _hint_suffix(got, want, rtol, atol, hints)
    if got.dtype.kind not in "biufc":
        return f"{name} has dtype {got.dtype}, expected numbers" + ("" if hidden else f" ({want.dtype})")
    if got.size and want.size and not np.all(np.isfinite(got)) and np.all(np.isfinite(want)):
        idx = np.unravel_index(np.argmax(~np.isfinite(got)), got.shape)
        shown = "" if hidden else f" (expected {_num(want[idx])})"
        return (f"{name} contains {_num(got[idx])} at index {_idx(idx)}{shown}: "
                "look for a division by zero or an overflow")
    close = np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return None
    idx = np.unravel_index(np.argmin(close), got.shape)
    err = _rel_error(got, want)
    if hidden:
        msg = (f"{name} is wrong at index {_idx(idx)}: got {_num(got[idx])}; "
               f"{int((~close).sum())} of {close.size} elements differ, relative error about {err:.0e} "
               f"(tolerance rtol={rtol:g}, atol={atol:g})")
    else:
        msg = (f"{name} is wrong at index {_idx(idx)}: got {_num(got[idx])}, expected {_num(want[idx])}; "
               f"{int((~close).sum())} of {close.size} elements differ, relative error {err:.2e} "
               f"(tolerance rtol={rtol:g}, atol={atol:g})")
    return msg + _hint_suffix(got, want, rtol, atol, hints)


def check_array(name, got, want, rtol=1e-7, atol=1e-10, hints=None):
    """Raise AssertionError with a helpful message unless ``got`` matches ``want``."""
    problem = array_problem(name, got, want, rtol=rtol, atol=atol, hints=hints)
    if problem is not None:
        raise AssertionError(problem)


def scalar_problem(name, got, want, rtol=1e-7, atol=1e-10, hidden=False):
    """Return a message unless ``got`` is a real number close to ``want``.

    hidden : True for a hidden case: the student's number is shown, the expected one is not,
        nor the relative error (with the student's number it would give the expected one away).
    """
    if isinstance(got, np.ndarray) and got.size == 1:
        got = got.item()
    if type(got).__module__ == "torch" and hasattr(got, "item") and got.numel() == 1:
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, (int, float, np.integer, np.floating)):
        return f"{name} should be a number, got {_describe(got)}"
    if np.isclose(float(got), float(want), rtol=rtol, atol=atol):
        return None
    if hidden:
        return f"{name} is {float(got)!r}, which is wrong (tolerance rtol={rtol:g}, atol={atol:g})"
    return (f"{name} is {float(got)!r}, expected {float(want)!r}; relative error "
            f"{_rel_error(np.float64(got), np.float64(want)):.2e} (tolerance rtol={rtol:g}, atol={atol:g})")


def check_scalar(name, got, want, rtol=1e-7, atol=1e-10):
    """Raise AssertionError unless ``got`` is a number close to ``want``."""
    problem = scalar_problem(name, got, want, rtol=rtol, atol=atol)
    if problem is not None:
        raise AssertionError(problem)


def check_not_modified(name, before, after):
    """Raise AssertionError if the array ``name`` changed during a call (``before`` is a copy)."""
    before, after = np.asarray(before), np.asarray(after)
    if before.shape != after.shape or not np.array_equal(before, after, equal_nan=True):
        raise AssertionError(
            f"{name} was modified in place by your function: work on a copy "
            f"(e.g. {name}.copy()) or build a new array instead of using +=, -= or slice assignment")


def _hint_suffix(got, want, rtol, atol, hints) -> str:
    causes = []
    if want.ndim == 2 and got.shape == want.T.shape and np.allclose(got, want.T, rtol=rtol, atol=atol):
        causes.append("it matches the transpose of the expected value")
    for cause, alt in (hints or {}).items():
        alt = np.asarray(alt)
        if alt.shape == got.shape and np.allclose(got, alt, rtol=rtol, atol=atol):
            causes.append(str(cause))
    return "".join(f"\n  likely cause: {c}" for c in causes)


def _rel_error(got, want) -> float:
    got, want = np.asarray(got, dtype=complex if np.iscomplexobj(got) else float), np.asarray(want)
    denom = np.maximum(np.abs(got) + np.abs(want), np.finfo(float).tiny)
    return float(np.max(np.abs(got - want) / denom)) if got.size else 0.0


def _num(x) -> str:
    return repr(x.item()) if hasattr(x, "item") else repr(x)


def _idx(idx) -> str:
    return "(" + ", ".join(str(int(i)) for i in idx) + ")" if len(idx) != 1 else f"[{int(idx[0])}]"


def _describe(x) -> str:
    if x is None:
        return "None (did you forget to return it?)"
    shape = getattr(x, "shape", None)
    return f"a {type(x).__name__}" + (f" of shape {tuple(shape)}" if shape is not None else "")
