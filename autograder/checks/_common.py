"""Verdict helpers shared by the assignments' checks modules (trusted side only).

Tolerances: a float64 computation agrees with an independent float64 reference to about
1e-13, and float32 keeps about 7 significant digits, so ``rtol=1e-9`` accepts any correct
float64 implementation (loops, vectorised, einsum, another summation order) and rejects
a float32 one. Messages name what is wrong without printing the expected arrays.
"""

from __future__ import annotations

import numpy as np

from autograder.checks.base import Verdict
from autograder.hints import array_problem, scalar_problem

RTOL = 1e-9
ATOL = 1e-11
LOW_PRECISION = ("float16", "float32")


def memo(case, key, compute):
    """``compute()`` once per case, kept in ``case.meta`` (trusted side) for later verdicts."""
    if key not in case.meta:
        case.meta[key] = compute()
    return case.meta[key]


def array_issue(name, got, want, hints=None, rtol=RTOL, atol=ATOL):
    """Why ``got`` is not ``want`` (None when it matches), float32 results named as such; the
    expected values and shape are never printed (``array_problem(hidden=True)``)."""
    if isinstance(got, np.ndarray) and got.dtype.name in LOW_PRECISION:
        return (f"{name} has dtype {got.dtype}: keep every computation in float64 "
                "(float32 keeps about 7 significant digits, the check needs 9)")
    problem = array_problem(name, got, want, rtol=rtol, atol=atol, hints=hints, hidden=True)
    if problem is None:
        return None
    if (isinstance(got, np.ndarray) and got.shape == np.shape(want) and got.dtype.kind in "fc"
            and np.all(np.isfinite(got)) and np.allclose(got, want, rtol=1e-5, atol=1e-7)):
        problem += "\n  likely cause: precision lost: a float32 value somewhere, or a numerical approximation"
    return problem


def scalar_issue(name, got, want, hints=None, rtol=RTOL, atol=ATOL):
    """Like :func:`array_issue` for a number; ``hints`` maps a cause to a wrong value."""
    if isinstance(got, (np.ndarray, np.generic)) and np.asarray(got).dtype.name in LOW_PRECISION:
        return f"{name} has dtype {np.asarray(got).dtype}: keep every computation in float64"
    problem = scalar_problem(name, got, want, rtol=rtol, atol=atol, hidden=True)
    if problem is None:
        return None
    if isinstance(got, np.ndarray) and got.size == 1:
        got = got.item()
    if isinstance(got, (int, float, np.integer, np.floating)) and not isinstance(got, bool):
        for cause, alt in (hints or {}).items():
            if np.isclose(float(got), float(alt), rtol=rtol, atol=atol):
                problem += f"\n  likely cause: {cause}"
        if np.isfinite(float(got)) and np.isclose(float(got), float(want), rtol=1e-5, atol=1e-7):
            problem += "\n  likely cause: precision lost: a float32 value somewhere, or a numerical approximation"
    return problem


def same(a, b) -> bool:
    """Deep equality of decoded values (arrays by value and shape, NaN equal to NaN)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc" and b.dtype.kind in "fc"))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def modified_issue(case, result, names):
    """A message naming the positional arguments the call changed in place, or None."""
    if len(result.args_after) != len(case.args):
        return None  # not a "call" probe result
    changed = [n for n, before, after in zip(names, case.args, result.args_after) if not same(before, after)]
    if not changed:
        return None
    what = " and ".join(changed)
    return (f"{case.func} modified {what} in place: the caller's arrays must be left unchanged "
            "(copy before using +=, *=, slice assignment or sort)")


def unpack(value, n, what):
    """``value`` as a tuple of ``n`` items; a message string instead when it is not one."""
    if not isinstance(value, (tuple, list)):
        kind = "None (did you forget to return?)" if value is None else type(value).__name__
        return None, f"{what} should return a tuple of {n} values, got {kind}"
    if len(value) != n:
        return None, f"{what} should return a tuple of {n} values, got {len(value)}"
    return tuple(value), None


def grads_issue(what, got, want, hints=None, compare=None):
    """Compare a dict of gradients key by key; ``hints`` is {key: {cause: alternative}}.

    compare : the per-array comparison, :func:`array_issue` unless given.
    """
    compare = compare or array_issue
    if not isinstance(got, dict):
        return f"{what} should be a dict with keys {sorted(want)}, got {type(got).__name__}"
    missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    if missing or extra:
        return (f"{what} should have exactly the keys {sorted(want)}"
                + (f"; missing {missing}" if missing else "") + (f"; unexpected {extra}" if extra else ""))
    for key in want:
        problem = compare(f"{what}[{key!r}]", got[key], want[key], hints=(hints or {}).get(key))
        if problem:
            return problem
    return None


def verdict(*problems) -> Verdict:
    """Passed when every problem is None; otherwise the first problem is the message."""
    for problem in problems:
        if problem:
            return Verdict(False, problem)
    return Verdict(True, "correct")


def rel_error(a, b) -> float:
    """``max |a - b| / max(|a| + |b|)``: one number for a whole array (gradient checks)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    denom = max(float(np.max(np.abs(a) + np.abs(b), initial=0.0)), 1e-12)
    return float(np.max(np.abs(a - b), initial=0.0)) / denom


def centred_difference(f, x, eps=1e-6):
    """Numerical gradient of a scalar function ``f`` of the array ``x`` (works on a copy)."""
    x = np.array(x, dtype=np.float64)
    grad = np.empty_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = f(x)
        flat[i] = old - eps
        down = f(x)
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad
