"""Gated recurrent unit (GRU): one step and a whole sequence, forward and backward.

The cell (taught in ``book/13_gru``; PyTorch ``nn.GRU`` with one layer, gates stacked r, z, n)::

    r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)          reset gate
    z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)          update gate
    q_t = W_hn h_{t-1} + b_hn                                     recurrent part of the candidate
    n_t = tanh(W_in x_t + b_in + r_t * q_t)                       candidate state
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

This is PyTorch's convention: the reset gate multiplies ``W_hn h_{t-1} + b_hn``, *after* the
matrix product. The 2014 paper (Cho et al.) resets the state before it,
``n_t = tanh(W_in x_t + W_hn (r_t * h_{t-1}) + b_n)``; the two cells give different outputs
for the same weights (Keras calls PyTorch's form ``reset_after=True``).

Shapes, for a batch of N sequences: ``x_t (N, D)``, ``h_t (N, H)``, each gate ``(N, H)``;
``W_ih = [W_ir; W_iz; W_in] (3H, D)``, ``W_hh = [W_hr; W_hz; W_hn] (3H, H)``,
``b_ih = [b_ir; b_iz; b_in] (3H,)``, ``b_hh = [b_hr; b_hz; b_hn] (3H,)``.

Backward, with ``gh_t`` the total gradient on ``h_t`` (upstream plus what step t+1 sends back)::

    dn = gh * (1 - z)       dz = gh * (h_{t-1} - n)
    da_n = dn * (1 - n**2)  da_z = dz * z (1 - z)   da_r = da_n * q * r (1 - r)
    dxw = [da_r, da_z, da_n]          gradient on W_ih x_t + b_ih        (N, 3H)
    dhw = [da_r, da_z, da_n * r]      gradient on W_hh h_{t-1} + b_hh    (N, 3H)
    dh_{t-1} = gh * z + dhw @ W_hh    dx_t = dxw @ W_ih
    dW_ih = sum_t dxw_t^T x_t   dW_hh = sum_t dhw_t^T h_{t-1}   db_ih = sum_t,n dxw_t   db_hh = sum_t,n dhw_t

Unlike the Elman and LSTM cells, ``db_ih`` and ``db_hh`` differ: ``b_hn`` sits inside the
reset gate's product and ``b_in`` does not.

Implementation note: as in :mod:`rnnlab.lstm`, the sequence functions run the step kernels
of the step functions; the input projection (with ``b_ih`` and the r, z blocks of ``b_hh``
folded in), the gate derivatives and the weight gradients are computed for all steps at once.
The gates are stored as ``(3, N, H)`` per step (``(T, 3, N, H)`` for a sequence), each one a
contiguous block, because numpy's ``exp`` and ``tanh`` run about twice as fast on contiguous
memory as on the column ranges of an ``(N, 3H)`` array; every public array (parameters,
gradients, ``cache["gates"]``) has PyTorch's layout.
"""

import numpy as np

from ._validate import as_array, check_positive_int, check_shape
from .activations import _sigmoid_
from ._validate import check_cell_params, check_sequence, check_state

__all__ = ["init_gru_params", "gru_step_forward", "gru_step_backward", "gru_forward", "gru_backward"]

GATES = ("r", "z", "n")  # PyTorch's order of the stacked blocks


def init_gru_params(D, H, seed=0):
    """Parameters drawn uniform(-1/sqrt(H), 1/sqrt(H)), PyTorch's ``nn.GRU`` default.

    D : int, input features; H : int, hidden units; seed : int for ``np.random.default_rng``.
    Returns dict ``W_ih (3H, D)``, ``W_hh (3H, H)``, ``b_ih (3H,)``, ``b_hh (3H,)``, gates r, z, n.
    """
    D = check_positive_int("D", D)
    H = check_positive_int("H", H)
    rng = np.random.default_rng(seed)
    k = 1.0 / np.sqrt(H)
    shapes = {"W_ih": (3 * H, D), "W_hh": (3 * H, H), "b_ih": (3 * H,), "b_hh": (3 * H,)}
    return {name: rng.uniform(-k, k, size=shape) for name, shape in shapes.items()}


def _input_projection(x, params, H):
    """``x @ W_ih.T + b_ih`` plus the r and z blocks of ``b_hh`` (the biases outside ``r * (.)``).

    x : (M, D). Returns ``(3, M, H)``: blocks r, z, n, each contiguous (see :func:`_step_forward_into`).
    """
    M = x.shape[0]
    xw = np.dot(x, params["W_ih"].T).reshape(M, 3, H).transpose(1, 0, 2)  # (3, M, H) view
    b = params["b_ih"].reshape(3, 1, H).copy()
    b[:2] += params["b_hh"][:2 * H].reshape(2, 1, H)
    return np.add(xw, b)                                                   # contiguous copy


def _gate_views(gates):
    """Dict r, z, n of views into ``gates (..., 3, N, H)``."""
    return {"r": gates[..., 0, :, :], "z": gates[..., 1, :, :], "n": gates[..., 2, :, :]}


def _step_forward_into(g, q, h_next, xw_t, h_prev, W_hh, b_hn, hw):
    """Kernel of one step. Writes r, z, n into ``g (3, N, H)``, ``q = h_prev @ W_hn.T + b_hn`` and
    ``h_next`` (N, H). ``xw_t (3, N, H)`` holds ``x_t @ W_ih.T + b_ih`` plus ``b_hr, b_hz``;
    ``hw (N, 3H)`` is scratch space for the recurrent product.

    Each gate is a contiguous (N, H) block, not a column range of an (N, 3H) array: numpy's
    tanh and exp run about twice as fast on contiguous memory (measured at N = H = 32).
    """
    N, H = h_next.shape
    np.dot(h_prev, W_hh.T, out=hw)                   # all three recurrent blocks in one product
    hw3 = hw.reshape(N, 3, H).transpose(1, 0, 2)     # (3, N, H) view
    rz = g[:2]
    np.add(hw3[:2], xw_t[:2], out=rz)
    _sigmoid_(rz)
    np.add(hw3[2], b_hn, out=q)
    n = g[2]
    np.multiply(g[0], q, out=n)                      # reset applied after the product
    n += xw_t[2]
    np.tanh(n, out=n)
    np.subtract(h_prev, n, out=h_next)               # h = n + z * (h_prev - n)
    h_next *= g[1]
    h_next += n


def _coefficients(g, q, h_prev):
    """Per-unit factors of the backward pass from ``g (..., 3, N, H)``, ``q, h_prev (..., N, H)``.

    Returns ``a_n = (1 - z)(1 - n**2)``, ``a_z = (h_prev - n) z (1 - z)``,
    ``a_r = q r (1 - r)``, each ``(..., N, H)``: then ``da_n = gh * a_n``, ``da_z = gh * a_z``,
    ``da_r = da_n * a_r``.
    """
    r, z, n = g[..., 0, :, :], g[..., 1, :, :], g[..., 2, :, :]
    a_n = (1.0 - z) * (1.0 - n * n)
    a_z = (h_prev - n) * (z * (1.0 - z))
    a_r = q * (r * (1.0 - r))
    return a_n, a_z, a_r


def _step_backward_into(dhw, da_n, dh_prev, gh, z, r, a_n, a_z, a_r, W_hh, tmp):
    """Kernel of one backward step.

    gh : (N, H) total gradient on h_t; z, r : (N, H) the gates. Writes ``dhw (N, 3H)``
    (gradient on ``h_prev @ W_hh.T + b_hh``), ``da_n (N, H)`` (gradient on the candidate's
    pre-activation, the n block of the gradient on ``x @ W_ih.T + b_ih``) and ``dh_prev (N, H)``.
    ``dh_prev`` must not be ``gh``.
    """
    H = gh.shape[1]
    np.multiply(gh, a_n, out=da_n)
    np.multiply(gh, a_z, out=dhw[:, H:2 * H])
    np.multiply(da_n, a_r, out=dhw[:, :H])
    np.multiply(da_n, r, out=dhw[:, 2 * H:])         # through r * q
    np.dot(dhw, W_hh, out=dh_prev)
    np.multiply(gh, z, out=tmp)                      # the direct path z * h_prev
    dh_prev += tmp


def _grads(dhw, da_n, x, h_prev, H):
    """Weight gradients from ``dhw (M, 3H)``, ``da_n (M, H)``, ``x (M, D)``, ``h_prev (M, H)``.

    Returns the grads dict and ``dxw (M, 3H)``, the gradient on ``x @ W_ih.T + b_ih``.
    """
    dxw = dhw.copy()
    dxw[:, 2 * H:] = da_n
    grads = {"W_ih": dxw.T @ x, "W_hh": dhw.T @ h_prev, "b_ih": dxw.sum(axis=0), "b_hh": dhw.sum(axis=0)}
    return grads, dxw


def gru_step_forward(x, h_prev, params):
    """One GRU step, PyTorch's ``nn.GRUCell``.

    ``r = sigmoid(x @ W_ir.T + b_ir + h_prev @ W_hr.T + b_hr)``,
    ``z = sigmoid(x @ W_iz.T + b_iz + h_prev @ W_hz.T + b_hz)``,
    ``n = tanh(x @ W_in.T + b_in + r * (h_prev @ W_hn.T + b_hn))``,
    ``h_next = (1 - z) * n + z * h_prev`` (symbols in the module docstring).

    Parameters
    ----------
    x : ndarray (N, D)
    h_prev : ndarray (N, H)
    params : dict W_ih (3H, D), W_hh (3H, H), b_ih (3H,), b_hh (3H,), gates stacked r, z, n

    Returns
    -------
    h_next : ndarray (N, H)
    cache : dict for :func:`gru_step_backward`; ``cache["gates"]`` is a dict r, z, n of (N, H)
    """
    x = as_array("x", x, dims="(N, D)", finite=True)
    N, D = x.shape
    params, H = check_cell_params(params, D, gates=3, x=x)
    h_prev = check_state("h_prev", h_prev, x, H, batch_axis=0)
    xw = _input_projection(x, params, H)
    g, q, h_next = np.empty((3, N, H)), np.empty((N, H)), np.empty((N, H))
    with np.errstate(over="ignore"):
        _step_forward_into(g, q, h_next, xw, h_prev, params["W_hh"], params["b_hh"][2 * H:], np.empty((N, 3 * H)))
    cache = {"x": x, "h_prev": h_prev, "h_next": h_next, "a": g, "q": q, "gates": _gate_views(g), "params": params}
    return h_next, cache


def gru_step_backward(dh_next, cache):
    """Backward pass of one GRU step (equations in the module docstring).

    Parameters
    ----------
    dh_next : ndarray (N, H), gradient of the loss with respect to ``h_next``
    cache : dict from :func:`gru_step_forward`

    Returns
    -------
    dx : ndarray (N, D)
    dh_prev : ndarray (N, H)
    grads : dict dW_ih (3H, D), dW_hh (3H, H), db_ih (3H,), db_hh (3H,) under the keys of params
    """
    h_next, params = cache["h_next"], cache["params"]
    dh_next = as_array("dh_next", dh_next, dims="(N, H)", finite=True)
    check_shape("dh_next", dh_next, h_next.shape, "(N, H)")
    N, H = h_next.shape
    g = cache["a"]
    a_n, a_z, a_r = _coefficients(g, cache["q"], cache["h_prev"])
    dhw, da_n, dh_prev = np.empty((N, 3 * H)), np.empty((N, H)), np.empty((N, H))
    _step_backward_into(dhw, da_n, dh_prev, dh_next, g[1], g[0], a_n, a_z, a_r, params["W_hh"],
                        np.empty((N, H)))
    grads, dxw = _grads(dhw, da_n, cache["x"], cache["h_prev"], H)
    return dxw @ params["W_ih"], dh_prev, grads


def gru_forward(x, h0, params):
    """Run a GRU over a whole sequence: the step of :func:`gru_step_forward` for t = 0 .. T-1.

    ``h[t] = (1 - z_t) * n_t + z_t * h[t-1]`` from ``h[-1] = h0``, with r, z, n of the module
    docstring. Equivalent to::

        h_prev = h0
        for t in range(T):
            h_prev, _ = gru_step_forward(x[t], h_prev, params)
            h[t] = h_prev

    Parameters
    ----------
    x : ndarray (T, N, D), time-major inputs
    h0 : ndarray (N, H) or None (zeros)
    params : dict W_ih (3H, D), W_hh (3H, H), b_ih (3H,), b_hh (3H,), gates stacked r, z, n

    Returns
    -------
    h : ndarray (T, N, H), hidden state after every step (PyTorch's ``output``)
    cache : dict for :func:`gru_backward`, with ``gates`` a dict r, z, n of ``(T, N, H)``
        arrays (views, for plotting)
    """
    x = check_sequence(x)
    T, N, D = x.shape
    params, H = check_cell_params(params, D, gates=3, x=x)
    h0 = np.zeros((N, H)) if h0 is None else check_state("h0", h0, x, H, batch_axis=1)
    W_hh, b_hn = params["W_hh"], params["b_hh"][2 * H:]
    # the input projection does not depend on h: one product for all steps
    xw = _input_projection(x.reshape(T * N, D), params, H).reshape(3, T, N, H).transpose(1, 0, 2, 3)
    gates, q, h = np.empty((T, 3, N, H)), np.empty((T, N, H)), np.empty((T, N, H))
    hw = np.empty((N, 3 * H))
    h_prev = h0
    with np.errstate(over="ignore"):
        for t in range(T):
            _step_forward_into(gates[t], q[t], h[t], xw[t], h_prev, W_hh, b_hn, hw)
            h_prev = h[t]
    cache = {"x": x, "h0": h0, "h": h, "a": gates, "q": q, "gates": _gate_views(gates), "params": params}
    return h, cache


def gru_backward(dh, cache):
    """Backpropagation through time for :func:`gru_forward`.

    From t = T-1 down to 0, ``gh_t = dh[t] + dh_carry`` and the step of the module docstring
    gives the carried ``dh_carry = gh_t * z_t + dhw_t @ W_hh``. Equivalent to::

        dh_carry = zeros
        for t in reversed(range(T)):
            dx[t], dh_carry, g = gru_step_backward(dh[t] + dh_carry, step_cache[t])
            grads += g
        dh0 = dh_carry

    Parameters
    ----------
    dh : ndarray (T, N, H), upstream gradient of the loss with respect to every ``h[t]``
    cache : dict from :func:`gru_forward`

    Returns
    -------
    dx : ndarray (T, N, D)
    dh0 : ndarray (N, H)
    grads : dict dW_ih (3H, D), dW_hh (3H, H), db_ih (3H,), db_hh (3H,) under the keys of params
    """
    x, h, h0, gates, params = cache["x"], cache["h"], cache["h0"], cache["a"], cache["params"]
    T, N, D = x.shape
    H = h.shape[2]
    dh = as_array("dh", dh, dims="(T, N, H)", finite=True)
    check_shape("dh", dh, h.shape, "(T, N, H)")
    # W_hh as (W_hh.T contiguous).T: OpenBLAS runs dhw @ W_hh faster with the second operand
    # flagged transposed (see rnnlab.rnn.rnn_backward); the copy is made once, not per step.
    W_hh = np.ascontiguousarray(params["W_hh"].T).T
    h_prev = np.concatenate((h0[None], h[:-1]), axis=0)  # (T, N, H)
    a_n, a_z, a_r = _coefficients(gates, cache["q"], h_prev)  # all steps at once
    dhw, da_n = np.empty((T, N, 3 * H)), np.empty((T, N, H))
    dh_carry, gh, tmp = np.zeros((N, H)), np.empty((N, H)), np.empty((N, H))
    for t in range(T - 1, -1, -1):
        np.add(dh[t], dh_carry, out=gh)
        _step_backward_into(dhw[t], da_n[t], dh_carry, gh, gates[t, 1], gates[t, 0], a_n[t], a_z[t], a_r[t],
                            W_hh, tmp)
    grads, dxw = _grads(dhw.reshape(T * N, 3 * H), da_n.reshape(T * N, H), x.reshape(T * N, D),
                        h_prev.reshape(T * N, H), H)
    dx = np.dot(dxw, params["W_ih"]).reshape(T, N, D)
    return dx, dh_carry, grads
