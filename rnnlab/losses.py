"""Losses over sequences, each returning ``(loss, gradient)``.

Taught in the book's chapters on the RNN cell (``book/03_rnn_cell``, cross-entropy over time)
and on BPTT (``book/07_bptt``). Every loss is the mean over the *kept* elements, as PyTorch's
default ``reduction="mean"``: padded positions (``mask == 0``) add nothing to the loss or the
gradient and do not count in the denominator.

Softmax cross-entropy suits tags that exclude each other (one slot tag per word); binary
cross-entropy suits independent yes/no outputs (the lecture notes use it for tagging, which
is right only when a word may carry several tags at once).

where:
    T  time steps, N  batch size, K  classes
"""

import numpy as np

from ._validate import as_array, check_finite, check_indices, check_shape
from .activations import sigmoid, softmax

__all__ = ["softmax_cross_entropy", "binary_cross_entropy", "mean_squared_error"]


def _as_mask(mask, shape):
    """``mask`` as float64 of ``shape`` holding only 0 and 1; ``None`` keeps everything."""
    if mask is None:
        return np.ones(shape, dtype=np.float64)
    mask = as_array("mask", mask)
    check_shape("mask", mask, shape)
    if not np.all((mask == 0) | (mask == 1)):
        raise ValueError(f"mask must hold only 0 (padding) and 1 (kept), got values "
                         f"{np.unique(mask)[:5]} in shape {mask.shape}")
    if mask.sum() == 0:
        raise ValueError(f"mask of shape {mask.shape} keeps no element: the mean is undefined")
    return mask


def softmax_cross_entropy(logits, targets, mask=None):
    """Mean cross-entropy ``-log softmax(z)[y]`` over the kept positions.

    ``L = (1 / M) sum_{t,n} m_{t,n} (logsumexp(z_{t,n}) - z_{t,n,y_{t,n}})`` with ``M =
    sum m``; its gradient is ``dz_{t,n} = m_{t,n} (softmax(z_{t,n}) - onehot(y_{t,n})) / M``.

    logits : ndarray (T, N, K) or (N, K), unnormalised scores z
    targets : ndarray (T, N) or (N,) int, classes in ``[0, K)`` where the mask keeps them
        (padded positions may hold anything, e.g. -100)
    mask : ndarray like ``targets``, 1 keeps, 0 is padding; ``None`` keeps all
    returns : loss float, dlogits ndarray like ``logits``
    """
    logits = as_array("logits", logits, finite=True)
    if logits.ndim not in (2, 3):
        raise ValueError(f"logits must be a 3-D array (T, N, K) or 2-D (N, K), got shape {logits.shape}")
    K = logits.shape[-1]
    dims = "(T, N)" if logits.ndim == 3 else "(N,)"
    targets = as_array("targets", targets, dtype=np.int64)
    check_shape("targets", targets, logits.shape[:-1], dims=dims)
    keep = _as_mask(mask, targets.shape)
    # Padded targets are never looked up, so only kept ones must be valid classes.
    safe = np.where(keep > 0, targets, 0)
    check_indices("targets", safe, K)

    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=-1))
    picked = np.take_along_axis(shifted, safe[..., None], axis=-1)[..., 0]
    M = keep.sum()
    loss = float(np.sum(keep * (log_z - picked)) / M)

    dlogits = softmax(logits)
    np.put_along_axis(dlogits, safe[..., None],
                      np.take_along_axis(dlogits, safe[..., None], axis=-1) - 1.0, axis=-1)
    dlogits *= keep[..., None] / M
    return loss, dlogits


def binary_cross_entropy(logits, targets, mask=None):
    """Mean binary cross-entropy on logits, stable for any ``|z|``.

    ``l = -y log sigmoid(z) - (1 - y) log(1 - sigmoid(z)) = max(z, 0) - z y + log(1 + exp(-|z|))``
    (the second form never takes the log of 0); ``dl/dz = sigmoid(z) - y``.

    logits : ndarray (any shape, e.g. (T, N, K)), z
    targets : ndarray like ``logits``, y in [0, 1]
    mask : ndarray like ``logits``, 1 keeps, 0 is padding; ``None`` keeps all
    returns : loss float, dlogits ndarray like ``logits``
    """
    logits = as_array("logits", logits, finite=True)
    if logits.size == 0:
        raise ValueError(f"logits must not be empty, got shape {logits.shape}")
    targets = as_array("targets", targets, finite=True)
    check_shape("targets", targets, logits.shape)
    if np.any((targets < 0) | (targets > 1)):
        raise ValueError(f"targets must lie in [0, 1], got values from {targets.min()} to {targets.max()}")
    keep = _as_mask(mask, logits.shape)
    M = keep.sum()
    per_elem = np.maximum(logits, 0.0) - logits * targets + np.log1p(np.exp(-np.abs(logits)))
    loss = float(np.sum(keep * per_elem) / M)
    dlogits = keep * (sigmoid(logits) - targets) / M
    return loss, dlogits


def mean_squared_error(pred, target):
    """Mean squared error ``L = mean((pred - target)**2)``; ``dL/dpred = 2 (pred - target) / size``.

    pred : ndarray (any shape, e.g. (T, N, 1))
    target : ndarray like ``pred``
    returns : loss float, dpred ndarray like ``pred``
    """
    pred = as_array("pred", pred, finite=True)
    if pred.size == 0:
        raise ValueError(f"pred must not be empty, got shape {pred.shape}")
    target = as_array("target", target)
    check_shape("target", target, pred.shape)
    check_finite("target", target)
    diff = pred - target
    return float(np.mean(diff ** 2)), 2.0 * diff / diff.size
