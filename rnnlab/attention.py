"""Attention over the source positions of an encoder: additive and dot-product.

Taught in ``book/15_attention``. A decoder state (the query) scores every encoder state
(the keys, which are also the values here), a softmax over the source axis turns the
scores into weights, and the context is the weighted sum of the keys:

    e_s = score(q, k_s)                          one score per source position s
    a   = softmax(e masked)  over s              padding gets weight exactly 0
    c   = sum_s a_s k_s

Scores:

    additive (Bahdanau et al. 2015):  e_s = v . tanh(W_q q + W_k k_s)
    dot product (Luong et al. 2015):  e_s = q . k_s      (scaled: q . k_s / sqrt(H))

The mask is applied BEFORE the softmax (a padded score becomes -inf), so the weights of
the real positions still sum to one; zeroing weights after the softmax would not.

where:
    S  source steps, N  batch size, H  width of the keys (and of the query for the dot
    product), Hq  width of the query, A  width of the additive scorer
    query : (N, Hq), keys : (S, N, H), mask : (S, N) 1 on real steps, 0 on padding,
    weights : (S, N), context : (N, H)
"""

import numpy as np

from ._validate import as_array, check_finite, check_same, check_shape, shape_str

__all__ = [
    "masked_softmax", "masked_softmax_backward", "init_additive_params",
    "additive_attention_forward", "additive_attention_backward",
    "dot_attention_forward", "dot_attention_backward",
]


def _check_inputs(query, keys, mask):
    query = as_array("query", query, dims="(N, Hq)", finite=True)
    keys = as_array("keys", keys, dims="(S, N, H)", finite=True)
    check_same("query", query, "keys", keys, (0, 1), "batch N")
    S, N, _ = keys.shape
    if S == 0:
        raise ValueError("keys must have at least one source step, got shape "
                         f"{shape_str(keys.shape)}")
    if mask is None:
        mask = np.ones((S, N))
    else:
        mask = as_array("mask", mask, dims="(S, N)", finite=True)
        check_shape("mask", mask, (S, N), "(S, N)")
        if not np.isin(mask, (0.0, 1.0)).all():
            raise ValueError("mask must hold only 0 and 1, got other values in shape "
                             f"{shape_str(mask.shape)}")
        empty = np.flatnonzero(mask.sum(axis=0) == 0)
        if empty.size:
            raise ValueError(f"mask (S, N) = {shape_str(mask.shape)} has no source "
                             f"step left in column {int(empty[0])}: nothing to attend "
                             "to")
    return query, keys, mask


def masked_softmax(scores, mask):
    """Softmax over the source axis 0, padding excluded before normalising.

    scores : ndarray (S, N); mask : ndarray (S, N) of 0/1, at least one 1 per column
    returns : weights ndarray (S, N), 0 where ``mask`` is 0, each column summing to 1
    """
    shifted = np.where(mask > 0, scores, -np.inf)
    shifted = shifted - shifted.max(axis=0, keepdims=True)
    e = np.exp(shifted)                                  # exp(-inf) = 0 on padding
    return e / e.sum(axis=0, keepdims=True)


def masked_softmax_backward(dweights, weights):
    """Gradient of the scores from that of the weights: ``a * (da - sum_s a_s da_s)``.

    dweights, weights : ndarray (S, N)
    returns : dscores ndarray (S, N), 0 on padding (where a = 0)
    """
    return weights * (dweights - (weights * dweights).sum(axis=0, keepdims=True))


def _dots(keys, q):
    """``keys[s, n] . q[n]`` for every s, n: keys (S, N, H), q (N, H) -> (S, N)."""
    # batched over n as a matrix product: (N, S, H) @ (N, H, 1)
    return np.matmul(keys.transpose(1, 0, 2), q[:, :, None])[:, :, 0].T


def _weighted_sum(w, keys):
    """``sum_s w[s, n] keys[s, n]``: w (S, N), keys (S, N, H) -> (N, H)."""
    return np.matmul(w.T[:, None, :], keys.transpose(1, 0, 2))[:, 0, :]


def _context_forward(scores, keys, mask):
    weights = masked_softmax(scores, mask)                            # (S, N)
    context = _weighted_sum(weights, keys)                            # (N, H)
    return context, weights


def _context_backward(dcontext, dweights, cache):
    """dscores (S, N) and the direct part of dkeys (S, N, H) from dcontext (N, H)."""
    weights, keys = cache["weights"], cache["keys"]
    dcontext = as_array("dcontext", dcontext, dims="(N, H)", finite=True)
    check_shape("dcontext", dcontext, keys.shape[1:], "(N, H)")
    dw = _dots(keys, dcontext)                                        # (S, N)
    if dweights is not None:
        dweights = as_array("dweights", dweights, dims="(S, N)", finite=True)
        check_shape("dweights", dweights, weights.shape, "(S, N)")
        dw = dw + dweights
    dkeys = weights[:, :, None] * dcontext[None]                      # (S, N, H)
    return masked_softmax_backward(dw, weights), dkeys


def dot_attention_forward(query, keys, mask=None, scaled=False):
    """Dot-product (Luong) attention: ``e_s = q . k_s``, over sqrt(H) if ``scaled``.

    query : ndarray (N, H); keys : ndarray (S, N, H)
    mask : ndarray (S, N) or None (all 1)
    returns : context ndarray (N, H), weights ndarray (S, N), cache
    """
    query, keys, mask = _check_inputs(query, keys, mask)
    check_same("query", query, "keys", keys, (1, 2), "width H")
    scale = 1.0 / np.sqrt(keys.shape[2]) if scaled else 1.0
    scores = scale * _dots(keys, query)                               # (S, N)
    context, weights = _context_forward(scores, keys, mask)
    cache = {"query": query, "keys": keys, "weights": weights, "scale": scale}
    return context, weights, cache


def dot_attention_backward(dcontext, cache, dweights=None):
    """Gradients of dot-product attention.

    dcontext : ndarray (N, H), upstream gradient of the context
    dweights : ndarray (S, N) or None, upstream gradient of the weights (when the loss
        reads them as well)
    returns : dquery ndarray (N, H), dkeys ndarray (S, N, H)
    """
    dscores, dkeys = _context_backward(dcontext, dweights, cache)
    dscores = cache["scale"] * dscores
    dquery = _weighted_sum(dscores, cache["keys"])
    dkeys = dkeys + dscores[:, :, None] * cache["query"][None]
    return dquery, dkeys


def init_additive_params(Hq, H, A, seed=0):
    """Additive scorer ``W_q (A, Hq)``, ``W_k (A, H)``, ``v (A,)``, each drawn
    uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) like ``nn.Linear(bias=False)``."""
    rng = np.random.default_rng(seed)
    return {"W_q": rng.uniform(-1, 1, (A, Hq)) / np.sqrt(Hq),
            "W_k": rng.uniform(-1, 1, (A, H)) / np.sqrt(H),
            "v": rng.uniform(-1, 1, A) / np.sqrt(A)}


def _check_additive_params(params, Hq, H):
    if not isinstance(params, dict) or not {"W_q", "W_k", "v"} <= set(params):
        raise ValueError("params must be a dict with keys ['W_q', 'W_k', 'v']")
    v = as_array("params['v']", params["v"], dims="(A,)", finite=True)
    A = v.shape[0]
    W_q = as_array("params['W_q']", params["W_q"], dims="(A, Hq)", finite=True)
    check_shape("params['W_q']", W_q, (A, Hq), "(A, Hq)")
    W_k = as_array("params['W_k']", params["W_k"], dims="(A, H)", finite=True)
    check_shape("params['W_k']", W_k, (A, H), "(A, H)")
    return W_q, W_k, v


def additive_attention_forward(query, keys, params, mask=None):
    """Additive (Bahdanau) attention: ``e_s = v . tanh(W_q q + W_k k_s)``.

    query : ndarray (N, Hq); keys : ndarray (S, N, H); params : dict ``W_q (A, Hq)``,
    ``W_k (A, H)``, ``v (A,)``; mask : ndarray (S, N) or None (all 1)
    returns : context ndarray (N, H), weights ndarray (S, N), cache
    """
    query, keys, mask = _check_inputs(query, keys, mask)
    W_q, W_k, v = _check_additive_params(params, query.shape[1], keys.shape[2])
    # W_q q is the same for every source position: computed once and broadcast over s
    u = np.tanh((query @ W_q.T)[None] + keys @ W_k.T)                 # (S, N, A)
    scores = u @ v                                                    # (S, N)
    context, weights = _context_forward(scores, keys, mask)
    cache = {"query": query, "keys": keys, "weights": weights, "u": u,
             "W_q": W_q, "W_k": W_k, "v": v}
    return context, weights, cache


def additive_attention_backward(dcontext, cache, dweights=None):
    """Gradients of additive attention.

    dcontext : ndarray (N, H); dweights : ndarray (S, N) or None
    returns : dquery ndarray (N, Hq), dkeys ndarray (S, N, H), grads dict with the keys
        of ``params``: ``W_q``, ``W_k``, ``v``
    """
    dscores, dkeys = _context_backward(dcontext, dweights, cache)
    u = cache["u"]
    dpre = dscores[:, :, None] * cache["v"] * (1.0 - u * u)           # (S, N, A)
    grads = {
        "W_q": dpre.sum(axis=0).T @ cache["query"],
        # (S*N, A).T @ (S*N, H): one BLAS product instead of an einsum loop
        "W_k": (dpre.reshape(-1, dpre.shape[-1]).T
                @ cache["keys"].reshape(-1, cache["keys"].shape[-1])),
        "v": dscores.reshape(-1) @ u.reshape(-1, u.shape[-1]),
    }
    dquery = dpre.sum(axis=0) @ cache["W_q"]
    dkeys = dkeys + dpre @ cache["W_k"]
    check_finite("dkeys", dkeys)
    return dquery, dkeys, grads
