"""Elman recurrent network: one step and a whole sequence, forward and backward.

The cell (taught in ``book/03_rnn_cell``, its backward pass and truncation in
``book/07_bptt``; PyTorch ``nn.RNN`` with one layer)::

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
    h_t = f(a_t),        f in {tanh, sigmoid, relu}

where, for a batch of N sequences:

    x_t     : (N, D)  input at step t               W_ih : (H, D)  input-to-hidden weights
    h_{t-1} : (N, H)  previous hidden state          W_hh : (H, H)  hidden-to-hidden weights
    a_t     : (N, H)  pre-activation                 b_ih, b_hh : (H,)  biases (PyTorch keeps two)
    h_t     : (N, H)  new hidden state               f   : elementwise nonlinearity

In row-major batch form this is ``a = x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh``.

Backpropagation through time (BPTT): with ``g_t`` the total gradient on ``h_t`` (the upstream
``dh[t]`` plus what flows back from step t+1),

    da_t = g_t * f'(a_t)                 dh_{t-1} (carried) = da_t @ W_hh
    dW_ih = sum_t da_t^T x_t             dW_hh = sum_t da_t^T h_{t-1}
    db_ih = db_hh = sum_t sum_n da_t     dx_t = da_t @ W_ih

The letter ``a`` is the pre-activation throughout the course; ``z`` is kept for output scores
(logits), as in ``rnnlab.tagger`` and ``rnnlab.jordan``. The code's buffers ``dz``/``dfdz``
below hold ``da`` and ``f'(a)``.

How the sequence functions are organised: ``rnn_forward`` and ``rnn_backward`` run the same
step kernels (``_step_forward_into``, ``_step_backward_into``) as ``rnn_step_forward`` and
``rnn_step_backward``; only the parts that do not depend on the recurrence (the input
projection ``x @ W_ih.T`` and the weight gradients) are computed for all T steps at once as
single ``(T*N, .)`` matrix products, which is what makes the numpy version fast.
"""

import numpy as np

from ._validate import (as_array, check_cell_params, check_choice, check_positive_int,
                        check_sequence, check_shape, check_state)
from .activations import ACTIVATIONS, _INPLACE

__all__ = ["init_rnn_params", "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward"]

PARAM_NAMES = ("W_ih", "W_hh", "b_ih", "b_hh")


def init_rnn_params(D, H, seed=0):
    """Parameters drawn uniform(-1/sqrt(H), 1/sqrt(H)), PyTorch's ``nn.RNN`` default.

    D : int, input features; H : int, hidden units; seed : int for ``np.random.default_rng``.
    Returns ``params`` dict: ``W_ih (H, D)``, ``W_hh (H, H)``, ``b_ih (H,)``, ``b_hh (H,)``.
    """
    D = check_positive_int("D", D)
    H = check_positive_int("H", H)
    rng = np.random.default_rng(seed)
    k = 1.0 / np.sqrt(H)
    shapes = {"W_ih": (H, D), "W_hh": (H, H), "b_ih": (H,), "b_hh": (H,)}
    return {name: rng.uniform(-k, k, size=shape) for name, shape in shapes.items()}


def _step_forward_into(h_next, xw_t, h_prev, W_hh, f_):
    """Kernel of one step, writing into ``h_next (N, H)``: ``h_next = f(xw_t + h_prev @ W_hh.T)``.

    ``xw_t (N, H)`` already holds ``x_t @ W_ih.T + b_ih + b_hh``; ``f_`` is an in-place activation.
    """
    np.dot(h_prev, W_hh.T, out=h_next)
    h_next += xw_t
    f_(h_next)


def _step_backward_into(dz, dh_prev, g, dfdz, W_hh):
    """Kernel of one backward step: ``da = g * f'(a)`` into ``dz``, ``dh_prev = da @ W_hh``.

    g, dfdz : (N, H) total gradient on h_t and f'(a_t); dz, dh_prev : (N, H) written in place.
    ``dh_prev`` may be the same array as ``g``.
    """
    np.multiply(g, dfdz, out=dz)
    np.dot(dz, W_hh, out=dh_prev)


def rnn_step_forward(x, h_prev, params, nonlinearity="tanh"):
    """One Elman step ``h_next = f(W_ih x + b_ih + W_hh h_prev + b_hh)``.

    Parameters
    ----------
    x : ndarray (N, D)
    h_prev : ndarray (N, H)
    params : dict with W_ih (H, D), W_hh (H, H), b_ih (H,), b_hh (H,)
    nonlinearity : "tanh", "sigmoid" or "relu"

    Returns
    -------
    h_next : ndarray (N, H)
    cache : dict for :func:`rnn_step_backward`
    """
    check_choice("nonlinearity", nonlinearity, ACTIVATIONS)
    x = as_array("x", x, dims="(N, D)", finite=True)
    params, H = check_cell_params(params, x.shape[1], x=x)
    h_prev = check_state("h_prev", h_prev, x, H, batch_axis=0)
    xw = x @ params["W_ih"].T
    xw += params["b_ih"] + params["b_hh"]
    h_next = np.empty_like(xw)
    with np.errstate(over="ignore"):
        _step_forward_into(h_next, xw, h_prev, params["W_hh"], _INPLACE[nonlinearity])
    cache = {"x": x, "h_prev": h_prev, "h_next": h_next, "params": params, "nonlinearity": nonlinearity}
    return h_next, cache


def rnn_step_backward(dh_next, cache):
    """Backward pass of one Elman step.

    ``da = dh_next * f'(a)``; ``dx = da @ W_ih``, ``dh_prev = da @ W_hh``, ``dW_ih = da.T @ x``,
    ``dW_hh = da.T @ h_prev``, ``db_ih = db_hh = da.sum(0)``.

    Parameters
    ----------
    dh_next : ndarray (N, H), gradient of the loss with respect to ``h_next``
    cache : dict from :func:`rnn_step_forward`

    Returns
    -------
    dx : ndarray (N, D)
    dh_prev : ndarray (N, H)
    grads : dict with dW_ih (H, D), dW_hh (H, H), db_ih (H,), db_hh (H,) under the keys of params
    """
    h_next, params = cache["h_next"], cache["params"]
    dh_next = as_array("dh_next", dh_next, dims="(N, H)", finite=True)
    check_shape("dh_next", dh_next, h_next.shape, "(N, H)")
    dfdz = ACTIVATIONS[cache["nonlinearity"]][1](h_next)
    dz = np.empty_like(dh_next)
    dh_prev = np.empty_like(dh_next)
    _step_backward_into(dz, dh_prev, dh_next, dfdz, params["W_hh"])
    db = dz.sum(axis=0)
    grads = {"W_ih": dz.T @ cache["x"], "W_hh": dz.T @ cache["h_prev"], "b_ih": db, "b_hh": db.copy()}
    return dz @ params["W_ih"], dh_prev, grads


def rnn_forward(x, h0, params, nonlinearity="tanh"):
    """Run an Elman network over a whole sequence.

    ``h[t] = f(x[t] @ W_ih.T + b_ih + h[t-1] @ W_hh.T + b_hh)`` for t = 0 .. T-1, with
    ``h[-1] = h0``: the step of :func:`rnn_step_forward` applied T times. Equivalent to::

        h_prev = h0
        for t in range(T):
            h_prev, _ = rnn_step_forward(x[t], h_prev, params, nonlinearity)
            h[t] = h_prev

    (one matrix product for all the input terms ``x @ W_ih.T`` makes it faster).

    Parameters
    ----------
    x : ndarray (T, N, D), time-major inputs
    h0 : ndarray (N, H), initial hidden state (None for zeros)
    params : dict with W_ih (H, D), W_hh (H, H), b_ih (H,), b_hh (H,)
    nonlinearity : "tanh", "sigmoid" or "relu"

    Returns
    -------
    h : ndarray (T, N, H), hidden state after every step (PyTorch's ``output``)
    cache : dict for :func:`rnn_backward`
    """
    check_choice("nonlinearity", nonlinearity, ACTIVATIONS)
    x = check_sequence(x)
    T, N, D = x.shape
    params, H = check_cell_params(params, D, x=x)
    h0 = np.zeros((N, H)) if h0 is None else check_state("h0", h0, x, H, batch_axis=1)
    W_hh = params["W_hh"]
    # The input projection does not depend on h: one (T*N, D) @ (D, H) product for all steps.
    xw = np.dot(x.reshape(T * N, D), params["W_ih"].T).reshape(T, N, H)
    xw += params["b_ih"] + params["b_hh"]
    h = np.empty((T, N, H))
    f_ = _INPLACE[nonlinearity]
    h_prev = h0
    with np.errstate(over="ignore"):
        for t in range(T):
            _step_forward_into(h[t], xw[t], h_prev, W_hh, f_)
            h_prev = h[t]
    cache = {"x": x, "h0": h0, "h": h, "params": params, "nonlinearity": nonlinearity}
    return h, cache


def rnn_backward(dh, cache, truncate=None):
    """Backpropagation through time for :func:`rnn_forward`, optionally truncated.

    From t = T-1 down to 0: ``g_t = dh[t] + dz_{t+1} @ W_hh`` (total gradient on h[t]),
    ``da_t = g_t * f'(a_t)``; then ``dW_ih = sum_t da_t.T @ x[t]``, ``dW_hh = sum_t da_t.T @ h[t-1]``,
    ``db_ih = db_hh = sum_t,n da_t``, ``dx[t] = da_t @ W_ih``, ``dh0 = da_0 @ W_hh``.
    Without truncation, equivalent to::

        dh_carry = zeros
        for t in reversed(range(T)):
            dx[t], dh_carry, g = rnn_step_backward(dh[t] + dh_carry, step_cache[t])
            grads += g
        dh0 = dh_carry

    Parameters
    ----------
    dh : ndarray (T, N, H)
        Upstream gradient of the loss with respect to every hidden state ``h[t]``.
    cache : dict from :func:`rnn_forward`
    truncate : int >= 1 or None
        None is full BPTT. With ``truncate=k`` the gradient entering at step t, ``dh[t]``,
        flows back through at most k steps, t, t-1, ..., t-k+1: it reaches ``a`` (and so the
        weight gradients and ``dx``) at those steps and the state ``h[t-k]`` that feeds the
        oldest of them, and goes no further. ``dh0`` therefore collects ``dh[t]`` for
        ``t < k`` only. For ``k >= T`` this is full BPTT.

    Returns
    -------
    dx : ndarray (T, N, D)
    dh0 : ndarray (N, H)
    grads : dict with dW_ih (H, D), dW_hh (H, H), db_ih (H,), db_hh (H,) under the keys of params
    """
    x, h, h0, params = cache["x"], cache["h"], cache["h0"], cache["params"]
    T, N, D = x.shape
    H = h.shape[2]
    truncate = check_positive_int("truncate", truncate, allow_none=True)
    dh = as_array("dh", dh, dims="(T, N, H)", finite=True)
    check_shape("dh", dh, h.shape, "(T, N, H)")
    # dh_prev = da @ W_hh is computed as da @ (W_hh.T contiguous).T: OpenBLAS runs the
    # product about 25% faster with the second operand flagged transposed (measured at
    # N=32, H=128), and the copy is made once, not per step.
    W_hh = np.ascontiguousarray(params["W_hh"].T).T
    # f'(a) from the cached outputs, for all steps in one vectorised call.
    dfdz = ACTIVATIONS[cache["nonlinearity"]][1](h)
    dz = np.empty((T, N, H))
    if truncate is None or truncate >= T:
        carry = np.zeros((N, H))  # gradient on h[t] arriving from step t+1
        for t in range(T - 1, -1, -1):
            carry += dh[t]
            _step_backward_into(dz[t], carry, carry, dfdz[t], W_hh)
        dh0 = carry
    else:
        dz, dh0 = _truncated_backward(dh, dfdz, W_hh, truncate, dz)
    # Weight gradients: sums over time of outer products, done as (H, T*N) @ (T*N, .) products.
    dz2 = dz.reshape(T * N, H)
    h_prev = np.concatenate((h0[None], h[:-1]), axis=0).reshape(T * N, H)  # (T*N, H)
    db = dz2.sum(axis=0)
    grads = {
        "W_ih": dz2.T @ x.reshape(T * N, D),
        "W_hh": dz2.T @ h_prev,
        "b_ih": db,
        "b_hh": db.copy(),
    }
    dx = np.dot(dz2, params["W_ih"]).reshape(T, N, D)
    return dx, dh0, grads


def _truncated_backward(dh, dfdz, W_hh, k, dz):
    """BPTT where each ``dh[t]`` travels through at most k steps; fills ``dz (T, N, H)`` (da).

    The gradients are linear in ``dh``, so the k gradients still in flight (those that entered
    at steps s .. s+k-1) are kept apart in a ring buffer ``carry (k, N, H)``, slot ``t % k`` for
    the one that entered at step t. At step s, slot ``s % k`` held the gradient that entered
    at s+k and has just used its k steps: it is dropped by overwriting it with ``dh[s]``.
    Cost: one (k*N, H) @ (H, H) product per step instead of (N, H) @ (H, H).

    Returns ``dz`` and ``dh0 (N, H)``, the in-flight gradients that reached ``h0``.
    """
    T, N, H = dh.shape
    carry = np.zeros((k, N, H))
    spare = np.empty((k, N, H))  # np.dot cannot write over its own input
    for s in range(T - 1, -1, -1):
        carry[s % k] = dh[s]
        carry *= dfdz[s]  # each in-flight gradient times f'(a_s)
        carry.sum(axis=0, out=dz[s])
        np.dot(carry.reshape(k * N, H), W_hh, out=spare.reshape(k * N, H))  # (k*N, H)
        carry, spare = spare, carry
    return dz, carry.sum(axis=0)
