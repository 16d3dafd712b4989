"""Long short-term memory (LSTM): one step and a whole sequence, forward and backward.

The cell (taught in ``book/09_lstm``; PyTorch ``nn.LSTM`` with one layer, gates stacked i, f, g, o)::

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh          (4H pre-activations, blocks i f g o)
    i_t = sigmoid(a_i)     input gate:  how much of the candidate to write
    f_t = sigmoid(a_f)     forget gate: how much of the old cell to keep
    g_t = tanh(a_g)        candidate cell values
    o_t = sigmoid(a_o)     output gate: how much of the cell to show
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(c_t)

Shapes, for a batch of N sequences: ``x_t (N, D)``, ``h_t, c_t (N, H)``, ``a_t (N, 4H)``,
``W_ih (4H, D)``, ``W_hh (4H, H)``, ``b_ih, b_hh (4H,)``; each gate is ``(N, H)``.

Backward, with ``gh_t`` the total gradient on ``h_t`` and ``dc_t`` the total gradient on ``c_t``
(what step t+1 sends back through ``f_{t+1}`` plus ``gh_t * o_t * (1 - tanh(c_t)**2)``):

    do = gh * tanh(c_t)    di = dc * g_t    dg = dc * i_t    df = dc * c_{t-1}
    da = [di * i(1-i), df * f(1-f), dg * (1-g**2), do * o(1-o)]        (N, 4H)
    dc_{t-1} = dc * f_t    dh_{t-1} = da @ W_hh    dx_t = da @ W_ih
    dW_ih = sum_t da_t^T x_t    dW_hh = sum_t da_t^T h_{t-1}    db_ih = db_hh = sum_t,n da_t

Implementation note: internally the four blocks are kept in the order i, f, o, g so that the
three sigmoid gates are one contiguous column range and each step makes one sigmoid call
instead of two; the reordering is applied to the weights once per call and undone on the
gradients, so every public array is in PyTorch's order i, f, g, o. As in :mod:`rnnlab.rnn`,
the sequence functions run the step kernels of the step functions, and the input projection
and the weight gradients are computed for all steps at once.
"""

import numpy as np

from ._validate import as_array, check_positive_int, check_shape
from .activations import _sigmoid_
from ._validate import check_cell_params, check_sequence, check_state

__all__ = ["init_lstm_params", "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward"]

GATES = ("i", "f", "g", "o")  # PyTorch's order of the stacked blocks


def init_lstm_params(D, H, seed=0):
    """Parameters drawn uniform(-1/sqrt(H), 1/sqrt(H)), PyTorch's ``nn.LSTM`` default.

    D : int, input features; H : int, hidden units; seed : int.
    Returns dict ``W_ih (4H, D)``, ``W_hh (4H, H)``, ``b_ih (4H,)``, ``b_hh (4H,)``, gates i, f, g, o.
    """
    D = check_positive_int("D", D)
    H = check_positive_int("H", H)
    rng = np.random.default_rng(seed)
    k = 1.0 / np.sqrt(H)
    shapes = {"W_ih": (4 * H, D), "W_hh": (4 * H, H), "b_ih": (4 * H,), "b_hh": (4 * H,)}
    return {name: rng.uniform(-k, k, size=shape) for name, shape in shapes.items()}


def _swap_go(H):
    """Row order that swaps blocks g and o: i, f, g, o <-> i, f, o, g (its own inverse)."""
    return np.r_[0:2 * H, 3 * H:4 * H, 2 * H:3 * H]


def _internal(params, H):
    """Weights and summed bias with rows in the internal order i, f, o, g."""
    idx = _swap_go(H)
    return params["W_ih"][idx], params["W_hh"][idx], (params["b_ih"] + params["b_hh"])[idx]


def _gate_views(gates, H):
    """Dict i, f, g, o of views into ``gates (..., 4H)`` stored in the internal order i, f, o, g."""
    return {"i": gates[..., :H], "f": gates[..., H:2 * H], "o": gates[..., 2 * H:3 * H], "g": gates[..., 3 * H:]}


def _step_forward_into(a, c_next, tanh_c, h_next, xw_t, h_prev, c_prev, W_hh, tmp):
    """Kernel of one step. Writes the gates into ``a (N, 4H)`` (order i, f, o, g), and
    ``c_next``, ``tanh_c = tanh(c_next)``, ``h_next`` (N, H). ``xw_t (N, 4H)`` holds
    ``x_t @ W_ih.T + b_ih + b_hh``; ``tmp (N, H)`` is scratch space.
    """
    H = c_next.shape[1]
    np.dot(h_prev, W_hh.T, out=a)
    a += xw_t
    _sigmoid_(a[:, :3 * H])
    g = a[:, 3 * H:]
    np.tanh(g, out=g)
    np.multiply(a[:, H:2 * H], c_prev, out=c_next)
    np.multiply(a[:, :H], g, out=tmp)
    c_next += tmp
    np.tanh(c_next, out=tanh_c)
    np.multiply(a[:, 2 * H:3 * H], tanh_c, out=h_next)


def _step_backward_into(da, dh_prev, dc, gh, a, dact, o_dtanh, tanh_c, c_prev, W_hh, tmp):
    """Kernel of one backward step (internal gate order i, f, o, g).

    gh : (N, H) total gradient on h_t. dc : (N, H) on entry the gradient on c_t from step t+1,
    on exit the gradient on c_{t-1}. Writes ``da (N, 4H)`` and ``dh_prev (N, H)``.
    a, dact : (N, 4H) the gates and their derivatives; o_dtanh : (N, H) ``o * (1 - tanh(c)**2)``.
    """
    H = dc.shape[1]
    np.multiply(gh, tanh_c, out=da[:, 2 * H:3 * H])   # do
    np.multiply(gh, o_dtanh, out=tmp)
    dc += tmp                                         # total gradient on c_t
    np.multiply(dc, a[:, 3 * H:], out=da[:, :H])      # di = dc * g
    np.multiply(dc, c_prev, out=da[:, H:2 * H])       # df = dc * c_prev
    np.multiply(dc, a[:, :H], out=da[:, 3 * H:])      # dg = dc * i
    da *= dact                                        # through the sigmoids and the tanh
    dc *= a[:, H:2 * H]                               # dc_prev = dc * f
    np.dot(da, W_hh, out=dh_prev)


def _gate_derivatives(gates, tanh_c):
    """``dact (..., 4H)`` (sigmoid' for i, f, o; tanh' for g) and ``o * (1 - tanh(c)**2) (..., H)``."""
    H = tanh_c.shape[-1]
    dact = 1.0 - gates
    dact[..., :3 * H] *= gates[..., :3 * H]
    g = gates[..., 3 * H:]
    np.multiply(g, g, out=dact[..., 3 * H:])
    np.subtract(1.0, dact[..., 3 * H:], out=dact[..., 3 * H:])
    o_dtanh = 1.0 - tanh_c * tanh_c
    o_dtanh *= gates[..., 2 * H:3 * H]
    return dact, o_dtanh


def _public_order(grads_internal, H):
    """Gradients with rows from the internal order back to PyTorch's i, f, g, o."""
    idx = _swap_go(H)
    dW_ih, dW_hh, db = (g[idx] for g in grads_internal)
    return {"W_ih": dW_ih, "W_hh": dW_hh, "b_ih": db, "b_hh": db.copy()}


def lstm_step_forward(x, h_prev, c_prev, params):
    """One LSTM step.

    ``a = x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh`` split into blocks i, f, g, o of width H;
    ``i, f, o = sigmoid(a_i, a_f, a_o)``, ``g = tanh(a_g)``; ``c_next = f * c_prev + i * g``;
    ``h_next = o * tanh(c_next)`` (all symbols are defined in the module docstring).

    Parameters
    ----------
    x : ndarray (N, D)
    h_prev, c_prev : ndarray (N, H)
    params : dict W_ih (4H, D), W_hh (4H, H), b_ih (4H,), b_hh (4H,), gates stacked i, f, g, o

    Returns
    -------
    h_next, c_next : ndarray (N, H)
    cache : dict for :func:`lstm_step_backward`; ``cache["gates"]`` is a dict i, f, g, o of (N, H)
    """
    x = as_array("x", x, dims="(N, D)", finite=True)
    N, D = x.shape
    params, H = check_cell_params(params, D, gates=4, x=x)
    h_prev = check_state("h_prev", h_prev, x, H, batch_axis=0)
    c_prev = check_state("c_prev", c_prev, x, H, batch_axis=0)
    W_ih, W_hh, b = _internal(params, H)
    xw = x @ W_ih.T
    xw += b
    a, c_next, tanh_c, h_next = np.empty((N, 4 * H)), np.empty((N, H)), np.empty((N, H)), np.empty((N, H))
    with np.errstate(over="ignore"):
        _step_forward_into(a, c_next, tanh_c, h_next, xw, h_prev, c_prev, W_hh, np.empty((N, H)))
    cache = {"x": x, "h_prev": h_prev, "c_prev": c_prev, "c_next": c_next, "tanh_c": tanh_c,
             "a": a, "gates": _gate_views(a, H), "W_ih": W_ih, "W_hh": W_hh}
    return h_next, c_next, cache


def lstm_step_backward(dh_next, dc_next, cache):
    """Backward pass of one LSTM step (equations in the module docstring).

    Parameters
    ----------
    dh_next, dc_next : ndarray (N, H), gradients of the loss with respect to h_next and c_next
    cache : dict from :func:`lstm_step_forward`

    Returns
    -------
    dx : ndarray (N, D)
    dh_prev, dc_prev : ndarray (N, H)
    grads : dict dW_ih (4H, D), dW_hh (4H, H), db_ih, db_hh (4H,) under the keys of params
    """
    c_next = cache["c_next"]
    dh_next = as_array("dh_next", dh_next, dims="(N, H)", finite=True)
    check_shape("dh_next", dh_next, c_next.shape, "(N, H)")
    dc_next = as_array("dc_next", dc_next, dims="(N, H)", finite=True)
    check_shape("dc_next", dc_next, c_next.shape, "(N, H)")
    N, H = c_next.shape
    a = cache["a"]
    dact, o_dtanh = _gate_derivatives(a, cache["tanh_c"])
    da, dh_prev, dc = np.empty((N, 4 * H)), np.empty((N, H)), dc_next.copy()
    _step_backward_into(da, dh_prev, dc, dh_next, a, dact, o_dtanh, cache["tanh_c"], cache["c_prev"],
                        cache["W_hh"], np.empty((N, H)))
    grads = _public_order((da.T @ cache["x"], da.T @ cache["h_prev"], da.sum(axis=0)), H)
    return da @ cache["W_ih"], dh_prev, dc, grads


def lstm_forward(x, h0, params, c0=None):
    """Run an LSTM over a whole sequence: the step of :func:`lstm_step_forward` for t = 0 .. T-1.

    ``c_t = f_t * c_{t-1} + i_t * g_t``, ``h_t = o_t * tanh(c_t)`` from ``h_{-1} = h0``,
    ``c_{-1} = c0``, with the gates i, f, g, o of the module docstring. Equivalent to::

        h_prev, c_prev = h0, c0
        for t in range(T):
            h_prev, c_prev, _ = lstm_step_forward(x[t], h_prev, c_prev, params)
            h[t], c[t] = h_prev, c_prev

    (one matrix product for all the input terms ``x @ W_ih.T`` makes it faster).

    Parameters
    ----------
    x : ndarray (T, N, D)
    h0 : ndarray (N, H) or None (zeros)
    params : dict W_ih (4H, D), W_hh (4H, H), b_ih (4H,), b_hh (4H,), gates stacked i, f, g, o
    c0 : ndarray (N, H) or None (zeros), the initial cell state

    Returns
    -------
    h : ndarray (T, N, H), hidden state after every step (PyTorch's ``output``)
    cache : dict for :func:`lstm_backward`, with ``c (T, N, H)`` the cell states and
        ``gates`` a dict i, f, g, o of ``(T, N, H)`` arrays (views, for plotting)
    """
    x = check_sequence(x)
    T, N, D = x.shape
    params, H = check_cell_params(params, D, gates=4, x=x)
    h0 = np.zeros((N, H)) if h0 is None else check_state("h0", h0, x, H, batch_axis=1)
    c0 = np.zeros((N, H)) if c0 is None else check_state("c0", c0, x, H, batch_axis=1)
    W_ih, W_hh, b = _internal(params, H)
    xw = np.dot(x.reshape(T * N, D), W_ih.T).reshape(T, N, 4 * H)  # all steps in one product
    xw += b
    gates = np.empty((T, N, 4 * H))
    h, c, tanh_c = np.empty((T, N, H)), np.empty((T, N, H)), np.empty((T, N, H))
    tmp = np.empty((N, H))
    h_prev, c_prev = h0, c0
    with np.errstate(over="ignore"):
        for t in range(T):
            _step_forward_into(gates[t], c[t], tanh_c[t], h[t], xw[t], h_prev, c_prev, W_hh, tmp)
            h_prev, c_prev = h[t], c[t]
    cache = {"x": x, "h0": h0, "c0": c0, "h": h, "c": c, "tanh_c": tanh_c, "a": gates,
             "gates": _gate_views(gates, H), "W_ih": W_ih, "W_hh": W_hh}
    return h, cache


def lstm_backward(dh, cache):
    """Backpropagation through time for :func:`lstm_forward` (``c0`` is a constant input).

    Two gradients are carried back, on ``h[t-1]`` (``da_t @ W_hh``) and on ``c[t-1]``
    (``dc_t * f_t``); the per-step equations are in the module docstring. Equivalent to::

        dh_carry, dc_carry = zeros, zeros
        for t in reversed(range(T)):
            dx[t], dh_carry, dc_carry, g = lstm_step_backward(dh[t] + dh_carry, dc_carry,
                                                              step_cache[t])
            grads += g
        dh0 = dh_carry

    Parameters
    ----------
    dh : ndarray (T, N, H), upstream gradient of the loss with respect to every ``h[t]``
    cache : dict from :func:`lstm_forward`

    Returns
    -------
    dx : ndarray (T, N, D)
    dh0 : ndarray (N, H)
    grads : dict dW_ih (4H, D), dW_hh (4H, H), db_ih, db_hh (4H,) under the keys of params
    """
    x, h, c, gates, tanh_c = cache["x"], cache["h"], cache["c"], cache["a"], cache["tanh_c"]
    T, N, D = x.shape
    H = h.shape[2]
    dh = as_array("dh", dh, dims="(T, N, H)", finite=True)
    check_shape("dh", dh, h.shape, "(T, N, H)")
    # dh_prev = da @ W_hh is computed as da @ (W_hh.T contiguous).T: OpenBLAS runs the
    # product about 25% faster with the second operand flagged transposed (measured at
    # N=32, H=128), and the copy is made once, not per step.
    W_hh = np.ascontiguousarray(cache["W_hh"].T).T
    dact, o_dtanh = _gate_derivatives(gates, tanh_c)  # all steps at once
    da = np.empty((T, N, 4 * H))
    dh_carry, dc, gh, tmp = np.zeros((N, H)), np.zeros((N, H)), np.empty((N, H)), np.empty((N, H))
    for t in range(T - 1, -1, -1):
        np.add(dh[t], dh_carry, out=gh)
        c_prev = c[t - 1] if t > 0 else cache["c0"]
        _step_backward_into(da[t], dh_carry, dc, gh, gates[t], dact[t], o_dtanh[t], tanh_c[t], c_prev,
                            W_hh, tmp)
    da2 = da.reshape(T * N, 4 * H)
    h_prev = np.concatenate((cache["h0"][None], h[:-1]), axis=0).reshape(T * N, H)  # (T*N, H)
    grads = _public_order((da2.T @ x.reshape(T * N, D), da2.T @ h_prev, da2.sum(axis=0)), H)
    dx = np.dot(da2, cache["W_ih"]).reshape(T, N, D)
    return dx, dh_carry, grads
