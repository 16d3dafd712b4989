"""Bidirectional wrapper: one recurrent cell reads the sequence forwards, a second one backwards.

Taught in ``book/06_bidirectional`` and ``book/10_bilstm``. With a forward cell (parameters ``params_fwd``) and a
backward cell (``params_bwd``) of the same width H::

    hf_t = cell(x_t, hf_{t-1})        t = 0, ..., T-1, from hf_{-1} = h0[0]
    hb_t = cell(x_t, hb_{t+1})        t = T-1, ..., 0, from hb_T = h0[1]
    out_t = [hf_t ; hb_t]             (N, 2H): forward states first, then backward states

This is the layout of PyTorch's ``bidirectional=True`` (``output[..., :H]`` forward,
``output[..., H:]`` backward) and of its ``h_0`` of shape ``(2, N, H)``. The backward cell is
simply the forward recursion run on the time-reversed sequence, whose outputs are reversed
back, so the backward pass is two ordinary BPTT calls and the input gradients add up:
``dx_t = dx^f_t + dx^b_t``.
"""

import numpy as np

from ._validate import as_array, check_choice, check_same, check_shape
from .gru import gru_backward, gru_forward
from .lstm import lstm_backward, lstm_forward
from .rnn import rnn_backward, rnn_forward

__all__ = ["birnn_forward", "birnn_backward", "CELLS"]

CELLS = {"elman": (rnn_forward, rnn_backward), "lstm": (lstm_forward, lstm_backward),
         "gru": (gru_forward, gru_backward)}


def _cell_functions(cell):
    """``(forward_fn, backward_fn)`` for a name of ``CELLS`` or a pair of callables."""
    if isinstance(cell, str):
        check_choice("cell", cell, CELLS)
        return CELLS[cell]
    if isinstance(cell, (tuple, list)) and len(cell) == 2 and all(callable(f) for f in cell):
        return tuple(cell)
    names = ", ".join(repr(name) for name in CELLS)
    raise ValueError(f"cell must be one of {names} or a pair (forward_fn, backward_fn) of callables, got {cell!r}")


def birnn_forward(x, h0, params_fwd, params_bwd, cell="elman"):
    """Run a bidirectional recurrent layer. Equivalent to (for ``cell="elman"``)::

        h_f, _ = rnn_forward(x, h0[0], params_fwd)
        h_b, _ = rnn_forward(x[::-1], h0[1], params_bwd)
        out = concatenate([h_f, h_b[::-1]], axis=-1)   # (T, N, 2H)

    Parameters
    ----------
    x : ndarray (T, N, D)
    h0 : ndarray (2, N, H) or None (zeros); ``h0[0]`` starts the forward cell, ``h0[1]`` the
        backward cell (an LSTM's cell states start at zero)
    params_fwd, params_bwd : params of the two cells, e.g. from ``init_rnn_params(D, H)``
    cell : "elman", "lstm", "gru", or a pair ``(forward_fn, backward_fn)`` with the signatures of
        ``rnn_forward(x, h0, params) -> (h, cache)`` and ``rnn_backward(dh, cache) -> (dx, dh0, grads)``

    Returns
    -------
    out : ndarray (T, N, 2H), forward states then backward states at every step
    cache : dict for :func:`birnn_backward`
    """
    forward_fn, backward_fn = _cell_functions(cell)
    x = as_array("x", x, dims="(T, N, D)", finite=True)
    if h0 is None:
        h0_f = h0_b = None
    else:
        h0 = as_array("h0", h0, dims="(2, N, H)", finite=True)
        check_shape("h0", h0, (2, None, None), "(2, N, H)")
        check_same("h0", h0, "x", x, (1, 1), "batch N")
        h0_f, h0_b = h0[0], h0[1]
    h_f, cache_f = forward_fn(x, h0_f, params_fwd)
    # The backward cell is the same recursion on the reversed sequence (a view, no copy).
    h_b, cache_b = forward_fn(x[::-1], h0_b, params_bwd)
    if np.shape(h_f) != np.shape(h_b):
        raise ValueError(f"the forward cell gave states of shape {np.shape(h_f)} but the backward cell "
                         f"{np.shape(h_b)}: params_fwd and params_bwd must have the same H")
    H = h_f.shape[2]
    out = np.concatenate((h_f, h_b[::-1]), axis=2)  # (T, N, 2H)
    cache = {"fwd": cache_f, "bwd": cache_b, "backward_fn": backward_fn, "H": H, "shape": out.shape}
    return out, cache


def birnn_backward(dout, cache):
    """Backward pass of :func:`birnn_forward`.

    Parameters
    ----------
    dout : ndarray (T, N, 2H), upstream gradient on ``out``
    cache : dict from :func:`birnn_forward`

    Returns
    -------
    dx : ndarray (T, N, D)
    dh0 : ndarray (2, N, H), gradients on ``h0[0]`` and ``h0[1]``
    grads_fwd, grads_bwd : dicts with the keys of params_fwd and params_bwd
    """
    dout = as_array("dout", dout, dims="(T, N, 2H)", finite=True)
    check_shape("dout", dout, cache["shape"], "(T, N, 2H)")
    H, backward_fn = cache["H"], cache["backward_fn"]
    dx_f, dh0_f, grads_fwd = backward_fn(dout[..., :H], cache["fwd"])
    # the backward cell saw time reversed: reverse its upstream gradient and its dx
    dx_b, dh0_b, grads_bwd = backward_fn(dout[::-1, :, H:], cache["bwd"])
    dx = dx_f + dx_b[::-1]
    return dx, np.stack((dh0_f, dh0_b)), grads_fwd, grads_bwd
