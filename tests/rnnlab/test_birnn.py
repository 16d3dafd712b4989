"""rnnlab.birnn against PyTorch's bidirectional=True modules and against centred differences."""

import functools

import numpy as np
import pytest
import torch

from rnnlab.birnn import birnn_backward, birnn_forward
from rnnlab.gru import init_gru_params
from rnnlab.jordan import init_jordan_params, jordan_backward, jordan_forward
from rnnlab.lstm import init_lstm_params
from rnnlab.rnn import init_rnn_params, rnn_backward, rnn_forward
from rnnlab.torch_bridge import birnn_to_torch

from seq_oracles import SHAPES, assert_close, assert_grads_match, numeric_grads, torch_grads

INIT = {"elman": init_rnn_params, "lstm": init_lstm_params, "gru": init_gru_params}
TORCH_NAMES = {"W_ih": "weight_ih", "W_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}


def _problem(cell, T, N, D, H, seed):
    rng = np.random.default_rng(seed)
    fwd = {k: 2.0 * v for k, v in INIT[cell](D, H, seed=seed).items()}
    bwd = {k: 2.0 * v for k, v in INIT[cell](D, H, seed=seed + 1).items()}
    x = rng.normal(size=(T, N, D))
    h0 = rng.normal(size=(2, N, H))
    dout = rng.normal(size=(T, N, 2 * H))
    return fwd, bwd, x, h0, dout


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
@pytest.mark.parametrize("T, N, D, H", SHAPES)
def test_matches_torch_bidirectional(cell, T, N, D, H):
    fwd, bwd, x, h0, dout = _problem(cell, T, N, D, H, seed=T * N)
    out, cache = birnn_forward(x, h0, fwd, bwd, cell=cell)
    dx, dh0, g_f, g_b = birnn_backward(dout, cache)

    module = birnn_to_torch(fwd, bwd, cell=cell)
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0, requires_grad=True)
    state = (h0t, torch.zeros(2, N, H, dtype=torch.float64)) if cell == "lstm" else h0t
    out_t, h_n = module(xt, state)
    out_t.backward(torch.tensor(dout))

    assert out.shape == (T, N, 2 * H)
    assert_close(out, out_t.detach().numpy(), 1e-12, "out")
    h_n = h_n[0] if cell == "lstm" else h_n
    # h_n holds the last forward state and the *first* backward state (its last step)
    assert_close(out[-1, :, :H], h_n[0].detach().numpy(), 1e-12, "forward h_n")
    assert_close(out[0, :, H:], h_n[1].detach().numpy(), 1e-12, "backward h_n")
    assert_close(dx, xt.grad.numpy(), 1e-11, "dx")
    assert_close(dh0, h0t.grad.numpy(), 1e-11, "dh0")
    for k, name in TORCH_NAMES.items():
        assert_close(g_f[k], getattr(module, name + "_l0").grad.numpy(), 1e-11, "forward d" + k)
        assert_close(g_b[k], getattr(module, name + "_l0_reverse").grad.numpy(), 1e-11, "backward d" + k)


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
def test_gradients_match_centred_differences(cell):
    fwd, bwd, x, h0, dout = _problem(cell, 3, 2, 3, 2, seed=4)
    prefixed = {**{"f_" + k: v for k, v in fwd.items()}, **{"b_" + k: v for k, v in bwd.items()}}

    def split(p):
        return ({k[2:]: v for k, v in p.items() if k.startswith("f_")},
                {k[2:]: v for k, v in p.items() if k.startswith("b_")})

    def loss(x, h0, **p):
        return float(np.sum(birnn_forward(x, h0, *split(p), cell=cell)[0] * dout))

    _, cache = birnn_forward(x, h0, fwd, bwd, cell=cell)
    dx, dh0, g_f, g_b = birnn_backward(dout, cache)
    analytic = {"x": dx, "h0": dh0, **{"f_" + k: v for k, v in g_f.items()}, **{"b_" + k: v for k, v in g_b.items()}}
    assert_grads_match(analytic, numeric_grads(loss, {"x": x, "h0": h0, **prefixed}))


def test_a_pair_of_functions_is_used_as_the_cell():
    """A sigmoid Elman cell passed as a pair, checked against a hand-written torch loop."""
    fwd, bwd, x, h0, dout = _problem("elman", 4, 2, 3, 5, seed=6)
    pair = (functools.partial(rnn_forward, nonlinearity="sigmoid"), rnn_backward)
    out, cache = birnn_forward(x, h0, fwd, bwd, cell=pair)
    dx, dh0, g_f, g_b = birnn_backward(dout, cache)

    def run(x, h, p):
        hs = []
        for t in range(x.shape[0]):
            h = torch.sigmoid(x[t] @ p["W_ih"].T + p["b_ih"] + h @ p["W_hh"].T + p["b_hh"])
            hs.append(h)
        return torch.stack(hs)

    def loss(x, h0, **p):
        pf = {k[2:]: v for k, v in p.items() if k.startswith("f_")}
        pb = {k[2:]: v for k, v in p.items() if k.startswith("b_")}
        both = torch.cat([run(x, h0[0], pf), run(x.flip(0), h0[1], pb).flip(0)], dim=2)
        return (both * torch.tensor(dout)).sum()

    arrays = {"x": x, "h0": h0, **{"f_" + k: v for k, v in fwd.items()}, **{"b_" + k: v for k, v in bwd.items()}}
    value, g = torch_grads(loss, arrays)
    assert value == pytest.approx(float(np.sum(out * dout)), rel=1e-12)
    assert_close(dx, g["x"], 1e-11, "dx")
    assert_close(dh0, g["h0"], 1e-11, "dh0")
    for k in fwd:
        assert_close(g_f[k], g["f_" + k], 1e-11, "forward d" + k)
        assert_close(g_b[k], g["b_" + k], 1e-11, "backward d" + k)


def test_a_bidirectional_jordan_network_through_the_pair_interface():
    rng = np.random.default_rng(0)
    D, H, K = 3, 4, 2
    fwd, bwd = init_jordan_params(D, H, K, seed=1), init_jordan_params(D, H, K, seed=2)
    x, y0, dout = rng.normal(size=(3, 2, D)), rng.normal(size=(2, 2, K)), rng.normal(size=(3, 2, 2 * K))
    pair = (jordan_forward, jordan_backward)

    def loss(x, y0):
        return float(np.sum(birnn_forward(x, y0, fwd, bwd, cell=pair)[0] * dout))

    out, cache = birnn_forward(x, y0, fwd, bwd, cell=pair)
    assert out.shape == (3, 2, 2 * K)
    assert_close(out[..., :K], jordan_forward(x, y0[0], fwd)[0], 1e-15, "forward half")
    dx, dy0, _, _ = birnn_backward(dout, cache)
    assert_grads_match({"x": dx, "y0": dy0}, numeric_grads(loss, {"x": x, "y0": y0}))


def test_the_backward_half_reads_the_sequence_backwards():
    fwd, bwd, x, h0, _ = _problem("elman", 5, 2, 3, 4, seed=3)
    out, _ = birnn_forward(x, h0, fwd, bwd)
    h_rev, _ = rnn_forward(x[::-1], h0[1], bwd)
    assert_close(out[..., 4:], h_rev[::-1], 1e-15, "backward half")
    # the backward state at t = 0 has seen the whole sequence: changing x[-1] moves it
    x2 = x.copy()
    x2[-1] += 1.0
    assert np.max(np.abs(birnn_forward(x2, h0, fwd, bwd)[0][0, :, 4:] - out[0, :, 4:])) > 1e-3
    np.testing.assert_array_equal(birnn_forward(x2, h0, fwd, bwd)[0][0, :, :4], out[0, :, :4])


def test_h0_none_is_zeros_and_inputs_are_not_modified():
    fwd, bwd, x, h0, dout = _problem("lstm", 3, 2, 3, 4, seed=0)
    x_copy, dout_copy = x.copy(), dout.copy()
    out, cache = birnn_forward(x, None, fwd, bwd, cell="lstm")
    assert_close(out, birnn_forward(x, np.zeros_like(h0), fwd, bwd, cell="lstm")[0], 0.0)
    first = birnn_backward(dout, cache)
    second = birnn_backward(dout, cache)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(dout, dout_copy)


def test_bad_cells_and_shapes_are_refused():
    fwd, bwd, x, h0, dout = _problem("elman", 3, 2, 3, 4, seed=0)
    with pytest.raises(ValueError, match="cell must be one of"):
        birnn_forward(x, h0, fwd, bwd, cell="transformer")
    with pytest.raises(ValueError, match=r"cell must be one of 'elman', 'lstm', 'gru' or a pair"):
        birnn_forward(x, h0, fwd, bwd, cell=(rnn_forward,))
    with pytest.raises(ValueError, match=r"h0 must be a 3-D array \(2, N, H\), got shape \(2, 4\)"):
        birnn_forward(x, h0[0], fwd, bwd)
    with pytest.raises(ValueError, match=r"h0 must have shape \(2, N, H\) = \(2, \?, \?\), got shape \(1, 2, 4\)"):
        birnn_forward(x, h0[:1], fwd, bwd)
    with pytest.raises(ValueError, match=r"h0 has shape \(2, 3, 4\) but x has shape \(3, 2, 3\)"):
        birnn_forward(x, np.zeros((2, 3, 4)), fwd, bwd)
    with pytest.raises(ValueError, match="must have the same H"):
        birnn_forward(x, None, fwd, init_rnn_params(3, 5))
    _, cache = birnn_forward(x, h0, fwd, bwd)
    with pytest.raises(ValueError, match=r"dout must have shape \(T, N, 2H\) = \(3, 2, 8\), got shape \(3, 2, 4\)"):
        birnn_backward(dout[..., :4], cache)
