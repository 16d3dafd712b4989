"""Centred-difference gradient checks.

Taught in the book's "Checking gradients" section. For a scalar function ``f`` the centred
difference ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` approximates ``df/dx_i`` with an
error of order ``eps**2``; comparing it with an analytic gradient through the relative error
catches transposed weights, missing sums over time and sign slips.

Unlike checkers that perturb the caller's array in place and rely on ``f`` closing over it,
these functions always hand ``f`` a fresh copy: the caller's arrays are never modified, and a
function that mutates its argument cannot corrupt the next evaluation.
"""

from dataclasses import dataclass, field

import numpy as np

from ._validate import as_array, check_finite

__all__ = ["numerical_gradient", "grad_check", "rel_error", "GradCheckResult"]


def rel_error(a, b, floor=1e-8):
    """Largest elementwise relative error ``|a - b| / max(|a| + |b|, floor)``.

    a, b : ndarray, same shape
    floor : float, keeps entries where both gradients are ~0 from dividing by ~0
    returns : float (0.0 for empty arrays)
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got a {a.shape} and b {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)))


def _scalar(value, where):
    """``value`` as a Python float, or a ValueError if it is not a finite scalar."""
    arr = np.asarray(value)
    if arr.ndim != 0:
        raise ValueError(f"f must return a scalar, got an array of shape {arr.shape} ({where})")
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"f must return a number, got {type(value).__name__} ({where})")
    out = float(arr)
    if not np.isfinite(out):
        raise ValueError(f"f returned {out} ({where})")
    return out


def numerical_gradient(f, x, eps=1e-6):
    """Centred-difference gradient of a scalar function of one array.

    f : callable, ``f(x) -> float``; it receives a fresh copy of ``x`` at every call
    x : ndarray (any shape), not modified
    eps : float > 0, the step
    returns : grad ndarray, the shape of ``x``, float64
    """
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps!r}")
    # A private copy: the caller's x is never touched.
    x0 = np.array(as_array("x", x, finite=True), dtype=np.float64, copy=True)
    grad = np.zeros_like(x0)
    for i in np.ndindex(x0.shape):
        xp = x0.copy()
        xp[i] += eps
        fp = _scalar(f(xp), f"at x + eps at index {i}")
        xm = x0.copy()
        xm[i] -= eps
        fm = _scalar(f(xm), f"at x - eps at index {i}")
        grad[i] = (fp - fm) / (2 * eps)
    return grad


@dataclass
class GradCheckResult:
    """Outcome of :func:`grad_check`.

    errors : dict name -> max relative error between analytic and numerical gradient
    max_error : float, the largest of ``errors``
    tol : float, the tolerance the check used
    passed : bool, ``max_error <= tol``
    eps : float, the finite-difference step
    """

    errors: dict
    max_error: float
    tol: float
    passed: bool
    eps: float = 1e-6
    numerical: dict = field(default_factory=dict, repr=False)

    def __str__(self):
        width = max([len(k) for k in self.errors] + [4])
        lines = [f"gradient check (eps={self.eps:g}, tol={self.tol:g})"]
        for name, err in self.errors.items():
            mark = "ok" if err <= self.tol else "FAIL"
            lines.append(f"  {name:<{width}}  rel. error {err:.2e}  {mark}")
        verdict = "passed" if self.passed else "FAILED"
        cmp = "<=" if self.passed else ">"
        lines.append(f"{verdict}: max error {self.max_error:.2e} {cmp} tol {self.tol:g}")
        return "\n".join(lines)


def grad_check(f, params, grads, eps=1e-6, tol=1e-6):
    """Compare analytic gradients with centred differences, parameter by parameter.

    f : callable, ``f(params) -> float``; it receives a fresh copy of the whole dict
    params : dict name -> ndarray, not modified
    grads : dict with the same keys, ``grads[name]`` the shape of ``params[name]``
    eps : float, finite-difference step
    tol : float, largest relative error that passes
    returns : :class:`GradCheckResult`
    """
    if not isinstance(params, dict) or not isinstance(grads, dict):
        raise ValueError(f"params and grads must be dicts, got {type(params).__name__} "
                         f"and {type(grads).__name__}")
    if set(params) != set(grads):
        raise ValueError(f"grads must have the keys of params: params has {sorted(params)}, "
                         f"grads has {sorted(grads)}")
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol!r}")
    base = {k: np.array(as_array(f"params[{k!r}]", v, finite=True), dtype=np.float64, copy=True)
            for k, v in params.items()}
    errors, numerical = {}, {}
    for name in params:
        g = as_array(f"grads[{name!r}]", grads[name])
        if g.shape != base[name].shape:
            raise ValueError(f"grads[{name!r}] must have the shape of params[{name!r}] "
                             f"{base[name].shape}, got {g.shape}")
        check_finite(f"grads[{name!r}]", g)

        def f_of_one(p, name=name):
            trial = {k: (p if k == name else v.copy()) for k, v in base.items()}
            return f(trial)

        num = numerical_gradient(f_of_one, base[name], eps=eps)
        numerical[name] = num
        errors[name] = rel_error(g, num)
    max_error = max(errors.values(), default=0.0)
    return GradCheckResult(errors=errors, max_error=max_error, tol=tol,
                           passed=bool(max_error <= tol), eps=eps, numerical=numerical)
