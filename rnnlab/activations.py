"""Elementwise nonlinearities and their derivatives, written for backward passes.

Each derivative is expressed through the *output* ``y = f(z)`` so that a backward pass needs
only what the forward pass cached:

    tanh:     y = tanh(z),            dy/dz = 1 - y**2
    sigmoid:  y = 1 / (1 + exp(-z)),  dy/dz = y * (1 - y)
    relu:     y = max(z, 0),          dy/dz = 1 if y > 0 else 0   (0 at z = 0, as PyTorch)

``ACTIVATIONS[name] = (f, dfdz_from_output)``; ``activation(name)`` looks one up.
Every function takes and returns ndarrays of any shape, float64.
"""

import numpy as np

from ._validate import as_array, check_choice

__all__ = ["sigmoid", "tanh", "relu", "softmax", "ACTIVATIONS", "activation"]


def sigmoid(z):
    """Logistic function ``1 / (1 + exp(-z))``, safe for any finite ``z``.

    The formula keeps full relative precision in both tails: for ``z >> 0`` ``exp(-z)`` is
    tiny, for ``z << 0`` the quotient of 1 by a large number is exact to rounding. The only
    hazard is ``exp(-z)`` overflowing for ``z < -709``; that gives ``1 / inf = 0``, the
    correct limit, so the overflow warning is silenced. (The shortcut
    ``0.5 * (1 + tanh(z / 2))`` would instead cancel to zero in the negative tail.)
    This is also PyTorch's formula, so results agree to the last bits.

    z : ndarray (any shape) -> ndarray (same shape), values in [0, 1]
    """
    out = np.array(as_array("z", z), dtype=np.float64, copy=True)
    with np.errstate(over="ignore"):
        _sigmoid_(out)
    return out


def tanh(z):
    """Hyperbolic tangent. z : ndarray (any shape) -> ndarray (same shape), values in [-1, 1]."""
    return np.tanh(as_array("z", z))


def relu(z):
    """Rectified linear unit ``max(z, 0)``. z : ndarray (any shape) -> ndarray (same shape)."""
    return np.maximum(as_array("z", z), 0.0)


def softmax(z, axis=-1):
    """Softmax along ``axis``, shifted by the maximum so that ``exp`` never overflows.

    ``softmax(z)_k = exp(z_k - m) / sum_j exp(z_j - m)`` with ``m = max_j z_j``; the shift
    cancels in the ratio.

    z : ndarray (..., K) -> ndarray (..., K), non-negative, summing to 1 along ``axis``
    """
    z = as_array("z", z)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _dtanh(y):
    return 1.0 - y * y


def _dsigmoid(y):
    return y * (1.0 - y)


def _drelu(y):
    return (y > 0).astype(np.float64)


ACTIVATIONS = {
    "tanh": (tanh, _dtanh),
    "sigmoid": (sigmoid, _dsigmoid),
    "relu": (relu, _drelu),
}


def activation(name):
    """Return ``(f, dfdz_from_output)`` for ``name`` in ``"tanh"``, ``"sigmoid"``, ``"relu"``.

    Raises ``ValueError`` listing the valid names for anything else.
    """
    check_choice("nonlinearity", name, ACTIVATIONS)
    return ACTIVATIONS[name]


# In-place kernels for the time loops of rnn, jordan and lstm: no validation and no new
# arrays, because a loop over T calls them T times. Callers wrap their loop in
# ``np.errstate(over="ignore")``: exp(-z) overflows to inf for z < -709, and 1 / (1 + inf)
# is then the correct limit 0, so the warning carries no information.
def _tanh_(a):
    np.tanh(a, out=a)


def _sigmoid_(a):
    np.negative(a, out=a)
    np.exp(a, out=a)
    a += 1.0
    np.reciprocal(a, out=a)


def _relu_(a):
    np.maximum(a, 0.0, out=a)


_INPLACE = {"tanh": _tanh_, "sigmoid": _sigmoid_, "relu": _relu_}
