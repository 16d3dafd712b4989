"""A time-distributed affine layer: the read-out ``z = W h + b`` applied at every step.

Taught in the book's chapters "Elman and Jordan networks" (``book/04_elman_jordan``) and
"Shapes of sequence tasks" (``book/05_sequence_shapes``): a tagger turns each hidden state
``h_t`` into class scores with the same weights at every time step, so the layer accepts any
leading shape, ``(N, H)`` for one step or ``(T, N, H)`` for a whole sequence.

Equation, for every leading index ``i`` (every ``(t, n)``)::

    out[i] = W @ h[i] + b        i.e.  out = h @ W.T + b

where:
    H  input width (hidden units), K  output width (classes)
    W  (K, H) as ``torch.nn.Linear.weight``, b (K,) as ``torch.nn.Linear.bias``
"""

import numpy as np

from ._validate import as_array, check_finite, check_same, check_shape, shape_str

__all__ = ["linear_forward", "linear_backward"]


def linear_forward(h, W, b):
    """Affine map over the last axis, shared across all leading axes.

    h : ndarray (..., H), e.g. (T, N, H) or (N, H)
    W : ndarray (K, H), PyTorch layout (``nn.Linear(H, K).weight``)
    b : ndarray (K,)
    returns : out ndarray (..., K), cache for :func:`linear_backward`
    """
    W = as_array("W", W, dims="(K, H)", finite=True)
    K, H = W.shape
    b = as_array("b", b, dims="(K,)", finite=True)
    check_shape("b", b, (K,), dims="(K,)")
    h = as_array("h", h, finite=True)
    if h.ndim < 1:
        raise ValueError("h must be an array (..., H) with at least 1 dimension, got a scalar")
    check_same("h", h, "W", W, axis=(-1, 1), what="width H")
    out = h @ W.T + b
    # Copies: a caller that reuses its buffers must not change the backward pass.
    cache = (h.copy(), W.copy())
    return out, cache


def linear_backward(dout, cache):
    """Gradients of the affine map; the weight gradients sum over every leading index.

    dout : ndarray (..., K), upstream gradient on ``out``
    cache : from :func:`linear_forward`
    returns : dh ndarray (..., H), grads dict ``{"W": (K, H), "b": (K,)}``
    """
    h, W = cache
    K, H = W.shape
    dout = as_array("dout", dout)
    want = h.shape[:-1] + (K,)
    if dout.shape != want:
        raise ValueError(f"dout must have shape (..., K) = {shape_str(want)} like the forward "
                         f"output, got shape {shape_str(dout.shape)}")
    check_finite("dout", dout)
    dout2 = dout.reshape(-1, K)  # (M, K), M = product of the leading axes
    h2 = h.reshape(-1, H)  # (M, H)
    dh = dout @ W  # (..., H)
    grads = {"W": dout2.T @ h2, "b": dout2.sum(axis=0)}
    return dh, grads
