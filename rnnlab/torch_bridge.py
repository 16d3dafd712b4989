"""Copy rnnlab parameters into PyTorch modules and back (float64, no transposes).

rnnlab keeps PyTorch's weight names and shapes, so the mapping is one to one:

    rnnlab key   PyTorch nn.RNN / LSTM / GRU         nn.RNNCell / LSTMCell / GRUCell
    W_ih         weight_ih_l{layer}{suffix}          weight_ih
    W_hh         weight_hh_l{layer}{suffix}          weight_hh
    b_ih         bias_ih_l{layer}{suffix}            bias_ih
    b_hh         bias_hh_l{layer}{suffix}            bias_hh

``suffix`` is ``""`` for the forward direction and ``"_reverse"`` for the backward direction
of a ``bidirectional=True`` module. Shapes: ``W_ih (G, D)``, ``W_hh (G, H)``, ``b_ih (G,)``,
``b_hh (G,)`` with ``G = H`` (Elman), ``G = 4H`` (LSTM, gates i, f, g, o) or ``G = 3H`` (GRU,
gates r, z, n).
The modules are built in float64 on the CPU; the arrays returned are float64 copies.
"""

import numpy as np
import torch

from ._validate import check_choice
from ._validate import check_cell_params

__all__ = [
    "rnn_to_torch", "rnn_from_torch", "rnncell_to_torch",
    "lstm_to_torch", "lstm_from_torch", "lstmcell_to_torch",
    "gru_to_torch", "gru_from_torch", "grucell_to_torch",
    "birnn_to_torch", "birnn_from_torch",
]

_TORCH_NAMES = {"W_ih": "weight_ih", "W_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}
_CELLS = {"elman": 1, "lstm": 4, "gru": 3}  # cell -> number of stacked gate blocks


def _checked(params, gates):
    """Validate params of a cell with ``gates`` blocks; return (params, D, H)."""
    D = np.shape(params.get("W_ih", np.empty((0, 0))))[-1] if isinstance(params, dict) else 0
    params, H = check_cell_params(params, D, gates)
    return params, D, H


def _copy_in(module, params, suffix):
    with torch.no_grad():
        for key, name in _TORCH_NAMES.items():
            getattr(module, name + suffix).copy_(torch.from_numpy(params[key]))


def _copy_out(module, suffix):
    return {key: getattr(module, name + suffix).detach().cpu().numpy().astype(np.float64, copy=True)
            for key, name in _TORCH_NAMES.items()}


def rnn_to_torch(params, nonlinearity="tanh"):
    """A one-layer float64 ``torch.nn.RNN`` holding ``params`` (W_ih (H, D), W_hh (H, H), b_ih, b_hh (H,))."""
    check_choice("nonlinearity", nonlinearity, ("tanh", "relu"))
    return _module(torch.nn.RNN, params, 1, "_l0", nonlinearity=nonlinearity)


def rnncell_to_torch(params, nonlinearity="tanh"):
    """A float64 ``torch.nn.RNNCell`` holding ``params`` (W_ih (H, D), W_hh (H, H), b_ih, b_hh (H,))."""
    check_choice("nonlinearity", nonlinearity, ("tanh", "relu"))
    return _module(torch.nn.RNNCell, params, 1, "", nonlinearity=nonlinearity)


def lstm_to_torch(params):
    """A one-layer float64 ``torch.nn.LSTM`` holding ``params`` (W_ih (4H, D), W_hh (4H, H), b_ih, b_hh (4H,))."""
    return _module(torch.nn.LSTM, params, 4, "_l0")


def lstmcell_to_torch(params):
    """A float64 ``torch.nn.LSTMCell`` holding ``params`` (W_ih (4H, D), W_hh (4H, H), b_ih, b_hh (4H,))."""
    return _module(torch.nn.LSTMCell, params, 4, "")


def gru_to_torch(params):
    """A one-layer float64 ``torch.nn.GRU`` holding ``params`` (W_ih (3H, D), W_hh (3H, H), b_ih, b_hh (3H,))."""
    return _module(torch.nn.GRU, params, 3, "_l0")


def grucell_to_torch(params):
    """A float64 ``torch.nn.GRUCell`` holding ``params`` (W_ih (3H, D), W_hh (3H, H), b_ih, b_hh (3H,))."""
    return _module(torch.nn.GRUCell, params, 3, "")


def _module(cls, params, gates: int, suffix: str, **kwargs):
    """A float64 ``cls(D, H, **kwargs)`` holding copies of ``params`` (``gates`` blocks of H rows)."""
    params, D, H = _checked(params, gates)
    module = cls(D, H, dtype=torch.float64, **kwargs)
    _copy_in(module, params, suffix)
    return module


def rnn_from_torch(module, layer=0, suffix=""):
    """rnnlab params (float64 copies) from ``nn.RNN``/``nn.LSTM``/``nn.GRU`` layer ``layer`` or from a cell.

    module : nn.RNN, nn.LSTM, nn.GRU, nn.RNNCell, nn.LSTMCell or nn.GRUCell
    layer : int, which layer of a stacked module; suffix : "" or "_reverse"
    Returns dict W_ih (G, D), W_hh (G, H), b_ih (G,), b_hh (G,).
    """
    if isinstance(module, torch.nn.RNNCellBase):
        if layer != 0 or suffix:
            raise ValueError(f"a {type(module).__name__} has one layer and one direction, "
                             f"got layer={layer!r}, suffix={suffix!r}")
        return _copy_out(module, "")
    if not isinstance(module, torch.nn.RNNBase):
        raise ValueError(f"module must be a torch.nn.RNN, LSTM, GRU, RNNCell, LSTMCell or GRUCell, "
                         f"got {type(module).__name__}")
    check_choice("suffix", suffix, ("", "_reverse"))
    if not 0 <= layer < module.num_layers:
        raise ValueError(f"layer must be in [0, {module.num_layers}), got {layer!r}")
    if suffix and not module.bidirectional:
        raise ValueError("suffix='_reverse' needs a module built with bidirectional=True")
    if not module.bias:
        raise ValueError("module was built with bias=False; rnnlab cells always have b_ih and b_hh")
    return _copy_out(module, f"_l{layer}{suffix}")


# The LSTM's four and the GRU's three gate blocks are stacked in the same four tensors, so one
# reader serves all three cells.
lstm_from_torch = rnn_from_torch
gru_from_torch = rnn_from_torch


def birnn_to_torch(params_fwd, params_bwd, cell="elman", nonlinearity="tanh"):
    """A one-layer float64 ``nn.RNN`` (cell="elman"), ``nn.LSTM`` ("lstm") or ``nn.GRU`` ("gru"), bidirectional=True.

    params_fwd, params_bwd : params of the forward and backward directions, same shapes.
    """
    check_choice("cell", cell, _CELLS)
    params_fwd, D, H = _checked(params_fwd, _CELLS[cell])
    params_bwd, D_b, H_b = _checked(params_bwd, _CELLS[cell])
    if (D_b, H_b) != (D, H):
        raise ValueError(f"params_bwd has (D, H) = {(D_b, H_b)} but params_fwd has {(D, H)}; they must match")
    if cell == "elman":
        check_choice("nonlinearity", nonlinearity, ("tanh", "relu"))
        module = torch.nn.RNN(D, H, nonlinearity=nonlinearity, bidirectional=True, dtype=torch.float64)
    else:
        cls = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
        module = cls(D, H, bidirectional=True, dtype=torch.float64)
    _copy_in(module, params_fwd, "_l0")
    _copy_in(module, params_bwd, "_l0_reverse")
    return module


def birnn_from_torch(module):
    """``(params_fwd, params_bwd)`` from the first layer of a bidirectional ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU``."""
    if not isinstance(module, torch.nn.RNNBase) or not module.bidirectional:
        raise ValueError(f"module must be an nn.RNN, nn.LSTM or nn.GRU with bidirectional=True, got {module!r}")
    return rnn_from_torch(module, 0, ""), rnn_from_torch(module, 0, "_reverse")
