"""Jordan network: the previous *output* is fed back instead of the hidden state.

The cell (taught in ``book/04_elman_jordan``)::

    h_t = f(W_ih x_t + b_ih + W_yh y_{t-1} + b_hh)        f in {tanh, sigmoid, relu}
    z_t = W_hy h_t + b_y
    y_t = out(z_t)                                        out in {softmax, sigmoid, identity}

where, for a batch of N sequences:

    x_t     : (N, D)  input at step t                 W_ih : (H, D)  input-to-hidden weights
    y_{t-1} : (N, K)  previous output (y_0 given)      W_yh : (H, K)  output-to-hidden (feedback)
    h_t     : (N, H)  hidden state                    W_hy : (K, H)  hidden-to-output weights
    z_t     : (N, K)  output scores (logits)          b_ih, b_hh : (H,), b_y : (K,)  biases
    y_t     : (N, K)  output, fed back at step t+1

Backward, with ``g_t`` the total gradient on ``y_t`` (upstream ``dy[t]`` plus what step t+1
sends back through ``W_yh``) and ``J_out`` the output Jacobian:

    dz_t = J_out(z_t)^T g_t     softmax: y*(g - sum(g*y)); sigmoid: g*y*(1-y); identity: g
    da_t = (dz_t @ W_hy) * f'(a_t)                  dy_{t-1} (carried) = da_t @ W_yh
    dW_hy = sum_t dz_t^T h_t      db_y = sum_t,n dz_t
    dW_ih = sum_t da_t^T x_t      dW_yh = sum_t da_t^T y_{t-1}      db_ih = db_hh = sum_t,n da_t
    dx_t = da_t @ W_ih

As in :mod:`rnnlab.rnn`, the sequence functions run the step kernels of the step functions and
do the input projection and the weight gradients for all steps at once.
"""

import numpy as np

from ._validate import (as_array, check_choice, check_params, check_positive_int, check_same,
                        check_sequence, check_shape)
from .activations import _INPLACE, ACTIVATIONS

__all__ = ["init_jordan_params", "jordan_step_forward", "jordan_step_backward", "jordan_forward",
           "jordan_backward", "OUTPUTS"]

OUTPUTS = ("softmax", "sigmoid", "identity")


def init_jordan_params(D, H, K, seed=0):
    """Parameters drawn uniform(-1/sqrt(H), 1/sqrt(H)), as PyTorch's ``nn.RNN`` and ``nn.Linear(H, K)``.

    D, H, K : int, input features, hidden units, outputs; seed : int.
    Returns dict ``W_ih (H, D)``, ``W_yh (H, K)``, ``b_ih (H,)``, ``b_hh (H,)``, ``W_hy (K, H)``, ``b_y (K,)``.
    """
    D, H, K = (check_positive_int(n, v) for n, v in (("D", D), ("H", H), ("K", K)))
    rng = np.random.default_rng(seed)
    k = 1.0 / np.sqrt(H)
    shapes = {"W_ih": (H, D), "W_yh": (H, K), "b_ih": (H,), "b_hh": (H,), "W_hy": (K, H), "b_y": (K,)}
    return {name: rng.uniform(-k, k, size=shape) for name, shape in shapes.items()}


def _check_params(params, x):
    """Validate Jordan params for inputs ``x (..., D)``; return (params, H, K)."""
    check_params("params", params, {"W_hy": ((None, None), "(K, H)"), "W_ih": ((None, None), "(H, D)")})
    check_same("x", x, "params['W_ih']", params["W_ih"], (-1, 1), "input width D")
    D = x.shape[-1]
    K, H = np.shape(params["W_hy"])
    shapes = {
        "W_hy": ((K, H), "(K, H)"),
        "W_ih": ((H, D), "(H, D)"),
        "W_yh": ((H, K), "(H, K)"),
        "b_ih": ((H,), "(H,)"),
        "b_hh": ((H,), "(H,)"),
        "b_y": ((K,), "(K,)"),
    }
    return check_params("params", params, shapes), H, K


def _check_output(name, y, x, K, batch_axis):
    y = as_array(name, y, dims="(N, K)", finite=True)
    check_same(name, y, "x", x, (0, batch_axis), "batch N")
    check_shape(name, y, (x.shape[batch_axis], K), "(N, K)")
    return y


def _out_(name, z, y):
    """Write ``y = out(z)`` for a (N, K) block; ``z`` is left untouched."""
    if name == "softmax":
        np.subtract(z, z.max(axis=-1, keepdims=True), out=y)  # max shift: exp cannot overflow
        np.exp(y, out=y)
        y /= y.sum(axis=-1, keepdims=True)
    else:
        y[...] = z
        if name == "sigmoid":
            _INPLACE["sigmoid"](y)


def _out_backward(name, g, y, dz):
    """Write ``dz = J_out^T g`` from the output ``y``; g, y, dz : (N, K)."""
    if name == "softmax":
        np.multiply(g, y, out=dz)
        s = dz.sum(axis=-1, keepdims=True)  # (N, 1)
        np.subtract(g, s, out=dz)
        dz *= y
    elif name == "sigmoid":
        np.multiply(g, y, out=dz)
        dz *= 1.0 - y
    else:
        dz[...] = g


def _step_forward_into(h, z, y, xw_t, y_prev, W_yh, W_hy, b_y, f_, output):
    """Kernel of one step writing h (N, H), z (N, K), y (N, K); ``xw_t = x_t @ W_ih.T + b_ih + b_hh``."""
    np.dot(y_prev, W_yh.T, out=h)
    h += xw_t
    f_(h)
    np.dot(h, W_hy.T, out=z)
    z += b_y
    _out_(output, z, y)


def _step_backward_into(dz, da, dy_prev, g, y, dfda, W_hy, W_yh, output):
    """Kernel of one backward step: ``dz (N, K)``, ``da (N, H)``, ``dy_prev (N, K)`` from ``g (N, K)``.

    ``dy_prev`` may be the same array as ``g``.
    """
    _out_backward(output, g, y, dz)
    np.dot(dz, W_hy, out=da)
    da *= dfda
    np.dot(da, W_yh, out=dy_prev)


def jordan_step_forward(x, y_prev, params, nonlinearity="tanh", output="softmax"):
    """One Jordan step: ``h = f(W_ih x + b_ih + W_yh y_prev + b_hh)``, ``z = W_hy h + b_y``, ``y = out(z)``.

    Parameters
    ----------
    x : ndarray (N, D)
    y_prev : ndarray (N, K), the previous output
    params : dict W_ih (H, D), W_yh (H, K), b_ih (H,), b_hh (H,), W_hy (K, H), b_y (K,)
    nonlinearity : "tanh", "sigmoid" or "relu" (hidden layer)
    output : "softmax", "sigmoid" or "identity"

    Returns
    -------
    y_next : ndarray (N, K)
    cache : dict with ``h (N, H)``, ``z (N, K)`` and what :func:`jordan_step_backward` needs
    """
    check_choice("nonlinearity", nonlinearity, ACTIVATIONS)
    check_choice("output", output, OUTPUTS)
    x = as_array("x", x, dims="(N, D)", finite=True)
    params, H, K = _check_params(params, x)
    y_prev = _check_output("y_prev", y_prev, x, K, batch_axis=0)
    N = x.shape[0]
    xw = x @ params["W_ih"].T
    xw += params["b_ih"] + params["b_hh"]
    h, z, y = np.empty((N, H)), np.empty((N, K)), np.empty((N, K))
    with np.errstate(over="ignore"):
        _step_forward_into(h, z, y, xw, y_prev, params["W_yh"], params["W_hy"], params["b_y"],
                           _INPLACE[nonlinearity], output)
    cache = {"x": x, "y_prev": y_prev, "h": h, "z": z, "y": y, "params": params,
             "nonlinearity": nonlinearity, "output": output}
    return y, cache


def jordan_step_backward(dy_next, cache):
    """Backward pass of one Jordan step.

    Parameters
    ----------
    dy_next : ndarray (N, K), total gradient of the loss with respect to ``y_next``
    cache : dict from :func:`jordan_step_forward`

    Returns
    -------
    dx : ndarray (N, D)
    dy_prev : ndarray (N, K)
    grads : dict with the keys of params: W_ih (H, D), W_yh (H, K), b_ih, b_hh (H,), W_hy (K, H), b_y (K,)
    """
    p, h, y = cache["params"], cache["h"], cache["y"]
    dy_next = as_array("dy_next", dy_next, dims="(N, K)", finite=True)
    check_shape("dy_next", dy_next, y.shape, "(N, K)")
    dz, da, dy_prev = np.empty_like(y), np.empty_like(h), np.empty_like(y)
    dfda = ACTIVATIONS[cache["nonlinearity"]][1](h)
    _step_backward_into(dz, da, dy_prev, dy_next, y, dfda, p["W_hy"], p["W_yh"], cache["output"])
    db = da.sum(axis=0)
    grads = {"W_ih": da.T @ cache["x"], "W_yh": da.T @ cache["y_prev"], "b_ih": db, "b_hh": db.copy(),
             "W_hy": dz.T @ h, "b_y": dz.sum(axis=0)}
    return da @ p["W_ih"], dy_prev, grads


def jordan_forward(x, y0, params, nonlinearity="tanh", output="softmax"):
    """Run a Jordan network over a sequence: the step of :func:`jordan_step_forward` for t = 0 .. T-1.

    ``h[t] = f(x[t] @ W_ih.T + b_ih + y[t-1] @ W_yh.T + b_hh)``, ``z[t] = h[t] @ W_hy.T + b_y``,
    ``y[t] = out(z[t])``, with ``y[-1] = y0``. Equivalent to::

        y_prev = y0
        for t in range(T):
            y_prev, _ = jordan_step_forward(x[t], y_prev, params, nonlinearity, output)
            y[t] = y_prev

    Parameters
    ----------
    x : ndarray (T, N, D)
    y0 : ndarray (N, K), the output fed back at the first step (None for zeros)
    params : dict W_ih (H, D), W_yh (H, K), b_ih (H,), b_hh (H,), W_hy (K, H), b_y (K,)
    nonlinearity : "tanh", "sigmoid" or "relu"; output : "softmax", "sigmoid" or "identity"

    Returns
    -------
    y : ndarray (T, N, K), the outputs
    cache : dict with ``h (T, N, H)``, ``z (T, N, K)`` (the logits) and what
        :func:`jordan_backward` needs
    """
    check_choice("nonlinearity", nonlinearity, ACTIVATIONS)
    check_choice("output", output, OUTPUTS)
    x = check_sequence(x)
    T, N, D = x.shape
    params, H, K = _check_params(params, x)
    y0 = np.zeros((N, K)) if y0 is None else _check_output("y0", y0, x, K, batch_axis=1)
    xw = np.dot(x.reshape(T * N, D), params["W_ih"].T).reshape(T, N, H)  # all steps at once
    xw += params["b_ih"] + params["b_hh"]
    h, z, y = np.empty((T, N, H)), np.empty((T, N, K)), np.empty((T, N, K))
    f_ = _INPLACE[nonlinearity]
    W_yh, W_hy, b_y = params["W_yh"], params["W_hy"], params["b_y"]
    y_prev = y0
    with np.errstate(over="ignore"):
        for t in range(T):
            _step_forward_into(h[t], z[t], y[t], xw[t], y_prev, W_yh, W_hy, b_y, f_, output)
            y_prev = y[t]
    cache = {"x": x, "y0": y0, "h": h, "z": z, "y": y, "params": params,
             "nonlinearity": nonlinearity, "output": output}
    return y, cache


def jordan_backward(dy, cache):
    """Backpropagation through time for :func:`jordan_forward` (equations in the module docstring).

    The gradient carried back is the one on the fed-back output: ``g_t = dy[t] + da_{t+1} @ W_yh``.
    Equivalent to::

        dy_carry = zeros
        for t in reversed(range(T)):
            dx[t], dy_carry, g = jordan_step_backward(dy[t] + dy_carry, step_cache[t])
            grads += g
        dy0 = dy_carry

    Parameters
    ----------
    dy : ndarray (T, N, K), upstream gradient of the loss with respect to each output ``y[t]``
    cache : dict from :func:`jordan_forward`

    Returns
    -------
    dx : ndarray (T, N, D)
    dy0 : ndarray (N, K)
    grads : dict with the keys of params: W_ih (H, D), W_yh (H, K), b_ih, b_hh (H,), W_hy (K, H), b_y (K,)
    """
    x, y0, h, y, p = cache["x"], cache["y0"], cache["h"], cache["y"], cache["params"]
    T, N, D = x.shape
    H, K = h.shape[2], y.shape[2]
    dy = as_array("dy", dy, dims="(T, N, K)", finite=True)
    check_shape("dy", dy, y.shape, "(T, N, K)")
    dfda = ACTIVATIONS[cache["nonlinearity"]][1](h)  # (T, N, H), all steps at once
    dz, da = np.empty((T, N, K)), np.empty((T, N, H))
    carry = np.zeros((N, K))  # gradient on y[t] arriving from step t+1
    W_hy, W_yh, output = p["W_hy"], p["W_yh"], cache["output"]
    for t in range(T - 1, -1, -1):
        carry += dy[t]
        _step_backward_into(dz[t], da[t], carry, carry, y[t], dfda[t], W_hy, W_yh, output)
    dz2, da2 = dz.reshape(T * N, K), da.reshape(T * N, H)
    y_prev = np.concatenate((y0[None], y[:-1]), axis=0).reshape(T * N, K)  # (T*N, K)
    db = da2.sum(axis=0)
    grads = {
        "W_ih": da2.T @ x.reshape(T * N, D),
        "W_yh": da2.T @ y_prev,
        "b_ih": db,
        "b_hh": db.copy(),
        "W_hy": dz2.T @ h.reshape(T * N, H),
        "b_y": dz2.sum(axis=0),
    }
    dx = np.dot(da2, p["W_ih"]).reshape(T, N, D)
    return dx, carry, grads
