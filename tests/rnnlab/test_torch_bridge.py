"""rnnlab.torch_bridge: parameters survive the trip to PyTorch and back, and land in the right slot."""

import numpy as np
import pytest
import torch

from rnnlab.torch_bridge import (birnn_from_torch, birnn_to_torch, gru_from_torch, gru_to_torch, grucell_to_torch,
                                 lstm_from_torch, lstm_to_torch, lstmcell_to_torch, rnn_from_torch, rnn_to_torch,
                                 rnncell_to_torch)

NAMES = {"W_ih": "weight_ih", "W_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}


def _params(D, H, gates, seed):
    rng = np.random.default_rng(seed)
    G = gates * H
    return {"W_ih": rng.normal(size=(G, D)), "W_hh": rng.normal(size=(G, H)),
            "b_ih": rng.normal(size=G), "b_hh": rng.normal(size=G)}


def _assert_same(a, b):
    assert set(a) == set(b)
    for k in a:
        assert a[k].dtype == np.float64
        np.testing.assert_array_equal(a[k], b[k])


@pytest.mark.parametrize("to_torch, gates, suffix", [
    (rnn_to_torch, 1, "_l0"), (rnncell_to_torch, 1, ""), (lstm_to_torch, 4, "_l0"), (lstmcell_to_torch, 4, ""),
    (gru_to_torch, 3, "_l0"), (grucell_to_torch, 3, ""),
])
def test_each_array_lands_in_the_pytorch_slot_of_the_same_name(to_torch, gates, suffix):
    params = _params(3, 5, gates, seed=gates)
    module = to_torch(params)
    for key, name in NAMES.items():
        tensor = getattr(module, name + suffix)
        assert tensor.dtype == torch.float64
        np.testing.assert_array_equal(tensor.detach().numpy(), params[key])
    _assert_same(rnn_from_torch(module), params)


def test_the_bridge_copies_instead_of_sharing_memory():
    params = _params(2, 3, 1, seed=0)
    module = rnn_to_torch(params)
    original = {k: v.copy() for k, v in params.items()}
    with torch.no_grad():
        module.weight_hh_l0.add_(1.0)
    _assert_same(params, original)
    back = rnn_from_torch(module)
    back["W_hh"][0, 0] = 99.0
    assert module.weight_hh_l0[0, 0].item() != 99.0


def test_from_torch_reads_a_torch_initialised_module_that_runs_the_same():
    torch.manual_seed(0)
    module = torch.nn.LSTM(4, 3, num_layers=2, dtype=torch.float64)
    layer1 = lstm_from_torch(module, layer=1)
    for key, name in NAMES.items():
        np.testing.assert_array_equal(layer1[key], getattr(module, name + "_l1").detach().numpy())
    single = torch.nn.LSTM(4, 3, dtype=torch.float64)
    x = torch.randn(5, 2, 4, dtype=torch.float64)
    with torch.no_grad():
        np.testing.assert_array_equal(lstm_to_torch(lstm_from_torch(single))(x)[0].numpy(), single(x)[0].numpy())


@pytest.mark.parametrize("cell, gates, cls", [("elman", 1, torch.nn.RNN), ("lstm", 4, torch.nn.LSTM),
                                              ("gru", 3, torch.nn.GRU)])
def test_bidirectional_round_trip_puts_backward_params_under_reverse(cell, gates, cls):
    fwd, bwd = _params(3, 4, gates, seed=1), _params(3, 4, gates, seed=2)
    module = birnn_to_torch(fwd, bwd, cell=cell)
    assert isinstance(module, cls) and module.bidirectional
    for key, name in NAMES.items():
        np.testing.assert_array_equal(getattr(module, name + "_l0_reverse").detach().numpy(), bwd[key])
    got_fwd, got_bwd = birnn_from_torch(module)
    _assert_same(got_fwd, fwd)
    _assert_same(got_bwd, bwd)


@pytest.mark.parametrize("to_torch, cls, suffix", [(gru_to_torch, torch.nn.GRU, "_l0"),
                                                   (grucell_to_torch, torch.nn.GRUCell, "")])
def test_gru_round_trip_copies_both_ways_and_runs_the_same(to_torch, cls, suffix):
    params = _params(4, 3, 3, seed=5)
    original = {k: v.copy() for k, v in params.items()}
    module = to_torch(params)
    assert type(module) is cls
    back = gru_from_torch(module)
    _assert_same(back, params)
    # copies, never views: writing to either side leaves the other alone
    with torch.no_grad():
        getattr(module, "weight_ih" + suffix).add_(1.0)
    _assert_same(back, original)
    _assert_same(params, original)
    back["b_hh"][0] = 99.0
    assert params["b_hh"][0] != 99.0
    # a torch-initialised GRU read into rnnlab and written back computes the same outputs
    torch.manual_seed(1)
    single = torch.nn.GRU(4, 3, dtype=torch.float64)
    x = torch.randn(5, 2, 4, dtype=torch.float64)
    with torch.no_grad():
        np.testing.assert_array_equal(gru_to_torch(gru_from_torch(single))(x)[0].numpy(), single(x)[0].numpy())


def test_relu_nonlinearity_is_passed_on():
    assert rnn_to_torch(_params(2, 3, 1, 0), nonlinearity="relu").nonlinearity == "relu"
    assert rnncell_to_torch(_params(2, 3, 1, 0), nonlinearity="relu").nonlinearity == "relu"
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        rnn_to_torch(_params(2, 3, 1, 0), nonlinearity="sigmoid")  # torch.nn.RNN has no sigmoid


def test_bad_parameters_are_refused_with_their_shapes():
    bad = _params(3, 4, 1, 0)
    bad["W_hh"] = np.zeros((4, 5))
    with pytest.raises(ValueError, match=r"params\['W_hh'\] must have shape \(H, H\) = \(5, 5\), got shape \(4, 5\)"):
        rnn_to_torch(bad)
    with pytest.raises(ValueError, match=r"params\['W_ih'\] must have shape \(4H, D\) = \(12, 3\), got shape \(3, 3\)"):
        lstm_to_torch({"W_ih": np.zeros((3, 3)), "W_hh": np.zeros((12, 3)), "b_ih": np.zeros(12), "b_hh": np.zeros(12)})
    with pytest.raises(ValueError, match=r"params_bwd has \(D, H\) = \(3, 5\) but params_fwd has \(3, 4\)"):
        birnn_to_torch(_params(3, 4, 1, 0), _params(3, 5, 1, 0))
    with pytest.raises(ValueError, match="missing keys"):
        rnn_to_torch({"W_ih": np.zeros((2, 2))})
    # LSTM-sized params handed to the GRU
    with pytest.raises(ValueError, match=r"params\['W_hh'\] must have shape \(3H, H\) = \(12, 4\), got shape \(16, 4\)"):
        gru_to_torch(_params(3, 4, 4, 0))


def test_from_torch_refuses_what_it_cannot_read():
    with pytest.raises(ValueError, match="bidirectional=True"):
        rnn_from_torch(torch.nn.RNN(2, 3), suffix="_reverse")
    with pytest.raises(ValueError, match=r"layer must be in \[0, 1\), got 1"):
        rnn_from_torch(torch.nn.RNN(2, 3), layer=1)
    with pytest.raises(ValueError, match="bias=False"):
        rnn_from_torch(torch.nn.RNN(2, 3, bias=False))
    with pytest.raises(ValueError, match="bidirectional=True"):
        birnn_from_torch(torch.nn.LSTM(2, 3))
    with pytest.raises(ValueError, match="module must be"):
        rnn_from_torch(torch.nn.Linear(2, 3))
