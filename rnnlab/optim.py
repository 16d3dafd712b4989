"""Optimisers and gradient clipping on dicts of arrays, matching ``torch.optim`` step for step.

Taught in the book's chapters on BPTT (``book/07_bptt``) and vanishing/exploding gradients
(``book/08_vanishing_gradients``). ``params`` and ``grads`` are dicts with the same keys
(``W_ih``, ``W_hh``, ...) and arrays of the same shapes, as returned by the forward and
backward functions of :mod:`rnnlab`. ``step`` changes the arrays of ``params`` in place, so
a cache or a caller holding ``params["W_hh"]`` sees the new values, as with PyTorch tensors.
"""

import numpy as np

from ._validate import as_array, check_finite

__all__ = ["SGD", "Adam", "clip_grad_norm", "global_norm"]

# torch.nn.utils.clip_grad_norm_ adds this to the norm before dividing; kept so that our
# clipped gradients equal PyTorch's to rounding.
_CLIP_EPS = 1e-6


def _check_number(name, value, low, high=np.inf, low_open=False, high_open=True):
    """``value`` as a float in the interval from ``low`` to ``high``, or a ValueError naming it."""
    ok = (isinstance(value, (int, float, np.integer, np.floating))
          and not isinstance(value, bool) and bool(np.isfinite(value)))
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ValueError(f"{name} must be a number in {lo}{low}, {high}{hi}, got {value!r}")
    return float(value)


def _check_grads(grads, name="grads"):
    """``grads`` as a dict of finite float64 arrays; raises naming the bad key."""
    if not isinstance(grads, dict) or not grads:
        raise ValueError(f"{name} must be a non-empty dict name -> ndarray, got {grads!r:.60}")
    out = {}
    for k, g in grads.items():
        out[k] = as_array(f"{name}[{k!r}]", g, finite=True)
    return out


def _check_pair(params, grads):
    """Check that ``params`` can be updated in place by ``grads``; return float64 grads."""
    if not isinstance(params, dict) or not params:
        raise ValueError(f"params must be a non-empty dict name -> ndarray, got {params!r:.60}")
    grads = _check_grads(grads)
    if set(params) != set(grads):
        # A forgotten gradient would silently freeze a weight, so the keys must match.
        raise ValueError(f"grads must have the keys of params: params has {sorted(params)}, "
                         f"grads has {sorted(grads)}")
    for k, p in params.items():
        if not isinstance(p, np.ndarray) or p.dtype != np.float64 or not p.flags.writeable:
            raise ValueError(f"params[{k!r}] must be a writable float64 ndarray to be updated "
                             f"in place, got {type(p).__name__} {getattr(p, 'dtype', '')}")
        if grads[k].shape != p.shape:
            raise ValueError(f"grads[{k!r}] must have the shape of params[{k!r}] {p.shape}, "
                             f"got {grads[k].shape}")
        check_finite(f"params[{k!r}]", p)
    return grads


class SGD:
    """Stochastic gradient descent with optional momentum, as ``torch.optim.SGD``.

    ``b <- momentum * b + g`` (``b = g`` at the first step), then ``p <- p - lr * b``;
    with ``momentum=0`` simply ``p <- p - lr * g``.

    lr : float > 0
    momentum : float in [0, 1)
    """

    def __init__(self, lr, momentum=0.0):
        self.lr = _check_number("lr", lr, 0.0, low_open=True)
        self.momentum = _check_number("momentum", momentum, 0.0, 1.0)
        self.buffers = {}

    def step(self, params, grads):
        """Update every ``params[k]`` (ndarray, any shape) in place with ``grads[k]`` (same shape)."""
        grads = _check_pair(params, grads)
        for k, p in params.items():
            g = grads[k]
            if self.momentum:
                if k not in self.buffers:
                    self.buffers[k] = g.copy()
                else:
                    self.buffers[k] = self.momentum * self.buffers[k] + g
                g = self.buffers[k]
            p -= self.lr * g


class Adam:
    """Adam (Kingma and Ba, 2015), written as ``torch.optim.Adam`` computes it.

    At step ``t``: ``m <- m + (1 - beta1) (g - m)``, ``v <- beta2 v + (1 - beta2) g**2``,
    ``p <- p - (lr / (1 - beta1**t)) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)``.

    lr : float > 0
    betas : (beta1, beta2), each in [0, 1)
    eps : float >= 0
    """

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.lr = _check_number("lr", lr, 0.0, low_open=True)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (_check_number("betas[0]", betas[0], 0.0, 1.0),
                      _check_number("betas[1]", betas[1], 0.0, 1.0))
        self.eps = _check_number("eps", eps, 0.0)
        self.t = 0
        self.m = {}
        self.v = {}

    def step(self, params, grads):
        """Update every ``params[k]`` (ndarray, any shape) in place with ``grads[k]`` (same shape)."""
        grads = _check_pair(params, grads)
        beta1, beta2 = self.betas
        self.t += 1
        step_size = self.lr / (1.0 - beta1 ** self.t)
        bias2_sqrt = (1.0 - beta2 ** self.t) ** 0.5
        for k, p in params.items():
            g = grads[k]
            m = self.m.setdefault(k, np.zeros_like(p))
            v = self.v.setdefault(k, np.zeros_like(p))
            m += (1.0 - beta1) * (g - m)  # torch uses lerp, the same update in this form
            v *= beta2
            v += (1.0 - beta2) * g * g
            p -= step_size * m / (np.sqrt(v) / bias2_sqrt + self.eps)


def global_norm(grads):
    """Euclidean norm of all gradients taken together, ``sqrt(sum_k ||grads[k]||**2)``.

    grads : dict name -> ndarray (any shapes)
    returns : float
    """
    grads = _check_grads(grads)
    # Norm of the per-array norms, as PyTorch: no overflow from squaring large entries.
    return float(np.linalg.norm([np.linalg.norm(g.ravel()) for g in grads.values()]))


def clip_grad_norm(grads, max_norm):
    """Rescale gradients so their global norm is at most ``max_norm``, as PyTorch does.

    Every gradient is multiplied by ``min(1, max_norm / (total_norm + 1e-6))``, the formula of
    ``torch.nn.utils.clip_grad_norm_`` (the 1e-6 guards a zero norm). The direction of the
    update is kept; only its length shrinks.

    grads : dict name -> ndarray (any shapes), not modified
    max_norm : float > 0
    returns : clipped (a new dict of new arrays), total_norm (float, the norm before clipping)
    """
    max_norm = _check_number("max_norm", max_norm, 0.0, low_open=True)
    total_norm = global_norm(grads)
    scale = min(1.0, max_norm / (total_norm + _CLIP_EPS))
    clipped = {k: np.asarray(g, dtype=np.float64) * scale for k, g in grads.items()}
    return clipped, total_norm
