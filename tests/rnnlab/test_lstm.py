"""rnnlab.lstm against torch.nn.LSTM / LSTMCell in float64, a hand-written torch loop and centred differences."""

import numpy as np
import pytest
import torch

from rnnlab.lstm import init_lstm_params, lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward
from rnnlab.torch_bridge import lstm_to_torch, lstmcell_to_torch

from seq_oracles import SHAPES, assert_close, assert_grads_match, numeric_grads

KEYS = ("W_ih", "W_hh", "b_ih", "b_hh")
TORCH_NAMES = {"W_ih": "weight_ih", "W_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}


def _problem(T, N, D, H, seed):
    rng = np.random.default_rng(seed)
    params = {k: 2.0 * v for k, v in init_lstm_params(D, H, seed=seed).items()}
    x = rng.normal(size=(T, N, D))
    h0, c0 = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    dh = rng.normal(size=(T, N, H))
    return params, x, h0, c0, dh


def _torch_gates_and_cells(params, x, h0, c0):
    """Hand-written LSTM loop in torch (PyTorch's documented equations), gates i, f, g, o."""
    p = {k: torch.tensor(v) for k, v in params.items()}
    h, c = torch.tensor(h0), torch.tensor(c0)
    gates, cells = {k: [] for k in "ifgo"}, []
    for t in range(x.shape[0]):
        a = torch.tensor(x[t]) @ p["W_ih"].T + p["b_ih"] + h @ p["W_hh"].T + p["b_hh"]
        ai, af, ag, ao = a.chunk(4, dim=1)
        i, f, g, o = torch.sigmoid(ai), torch.sigmoid(af), torch.tanh(ag), torch.sigmoid(ao)
        c = f * c + i * g
        h = o * torch.tanh(c)
        for k, v in zip("ifgo", (i, f, g, o)):
            gates[k].append(v)
        cells.append(c)
    return {k: torch.stack(v).numpy() for k, v in gates.items()}, torch.stack(cells).numpy()


@pytest.mark.parametrize("N, D, H, seed", [(1, 3, 5, 0), (4, 6, 2, 1), (3, 3, 3, 2)])
def test_step_matches_torch_lstmcell(N, D, H, seed):
    params, x, h0, c0, dh = _problem(1, N, D, H, seed)
    dc = np.random.default_rng(seed + 100).normal(size=(N, H))
    h_next, c_next, cache = lstm_step_forward(x[0], h0, c0, params)
    dx, dh_prev, dc_prev, grads = lstm_step_backward(dh[0], dc, cache)

    cell = lstmcell_to_torch(params)
    xt, ht, ct = (torch.tensor(a, requires_grad=True) for a in (x[0], h0, c0))
    h_t, c_t = cell(xt, (ht, ct))
    torch.autograd.backward([h_t, c_t], [torch.tensor(dh[0]), torch.tensor(dc)])

    assert_close(h_next, h_t.detach().numpy(), 1e-12, "h_next")
    assert_close(c_next, c_t.detach().numpy(), 1e-12, "c_next")
    assert_close(dx, xt.grad.numpy(), 1e-12, "dx")
    assert_close(dh_prev, ht.grad.numpy(), 1e-12, "dh_prev")
    assert_close(dc_prev, ct.grad.numpy(), 1e-12, "dc_prev")
    for k in KEYS:
        assert_close(grads[k], getattr(cell, TORCH_NAMES[k]).grad.numpy(), 1e-12, "d" + k)
    gates, _ = _torch_gates_and_cells(params, x, h0, c0)
    assert set(cache["gates"]) == set("ifgo")
    for k in "ifgo":
        assert_close(cache["gates"][k], gates[k][0], 1e-13, f"gates[{k!r}]")


def test_step_gradients_match_centred_differences():
    params, x, h0, c0, dh = _problem(1, 3, 4, 5, seed=3)
    dc = np.random.default_rng(4).normal(size=(3, 5))

    def loss(x, h_prev, c_prev, **p):
        h, c, _ = lstm_step_forward(x, h_prev, c_prev, p)
        return float(np.sum(h * dh[0]) + np.sum(c * dc))

    _, _, cache = lstm_step_forward(x[0], h0, c0, params)
    dx, dh_prev, dc_prev, grads = lstm_step_backward(dh[0], dc, cache)
    num = numeric_grads(loss, {"x": x[0], "h_prev": h0, "c_prev": c0, **params})
    assert_grads_match({"x": dx, "h_prev": dh_prev, "c_prev": dc_prev, **grads}, num)


@pytest.mark.parametrize("T, N, D, H", SHAPES)
def test_sequence_matches_torch_nn_lstm(T, N, D, H):
    params, x, h0, c0, dh = _problem(T, N, D, H, seed=T + H)
    h, cache = lstm_forward(x, h0, params, c0=c0)
    dx, dh0, grads = lstm_backward(dh, cache)

    module = lstm_to_torch(params)
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0[None], requires_grad=True)
    out, (h_n, c_n) = module(xt, (h0t, torch.tensor(c0[None])))
    out.backward(torch.tensor(dh))

    assert_close(h, out.detach().numpy(), 1e-12, "h")
    assert_close(cache["c"][-1], c_n[0].detach().numpy(), 1e-12, "c[-1]")
    assert_close(dx, xt.grad.numpy(), 1e-11, "dx")
    assert_close(dh0, h0t.grad[0].numpy(), 1e-11, "dh0")
    for k in KEYS:
        assert_close(grads[k], getattr(module, TORCH_NAMES[k] + "_l0").grad.numpy(), 1e-11, "d" + k)


def test_cached_gates_and_cells_are_pytorchs_in_pytorchs_order():
    params, x, h0, c0, _ = _problem(5, 3, 4, 6, seed=0)
    _, cache = lstm_forward(x, h0, params, c0=c0)
    gates, cells = _torch_gates_and_cells(params, x, h0, c0)
    assert_close(cache["c"], cells, 1e-13, "c")
    for k in "ifgo":
        assert cache["gates"][k].shape == (5, 3, 6)
        assert_close(cache["gates"][k], gates[k], 1e-13, f"gates[{k!r}]")
    # a large forget-gate bias (second block of b_ih in PyTorch's layout) opens f everywhere
    H = 6
    opened = dict(params, b_ih=params["b_ih"] + np.r_[np.zeros(H), 50 * np.ones(H), np.zeros(2 * H)])
    f = lstm_forward(x, h0, opened, c0=c0)[1]["gates"]["f"]
    assert np.all(f > 1 - 1e-12)


@pytest.mark.parametrize("T, N, D, H", [(1, 2, 3, 4), (4, 2, 3, 2)])
def test_sequence_gradients_match_centred_differences(T, N, D, H):
    params, x, h0, c0, dh = _problem(T, N, D, H, seed=12)

    def loss(x, h0, **p):
        return float(np.sum(lstm_forward(x, h0, p, c0=c0)[0] * dh))

    _, cache = lstm_forward(x, h0, params, c0=c0)
    dx, dh0, grads = lstm_backward(dh, cache)
    num = numeric_grads(loss, {"x": x, "h0": h0, **params})
    assert_grads_match({"x": dx, "h0": dh0, **grads}, num)


def test_sequence_is_the_step_function_applied_T_times():
    params, x, h0, c0, dh = _problem(5, 3, 4, 6, seed=5)
    h, cache = lstm_forward(x, h0, params, c0=c0)
    dx, dh0, grads = lstm_backward(dh, cache)
    h_prev, c_prev, caches = h0, c0, []
    for t in range(5):
        h_prev, c_prev, c = lstm_step_forward(x[t], h_prev, c_prev, params)
        assert_close(h[t], h_prev, 1e-14, f"h[{t}]")
        caches.append(c)
    dh_carry, dc_carry, sums, dxs = np.zeros_like(h0), np.zeros_like(c0), {k: 0.0 for k in KEYS}, []
    for t in reversed(range(5)):
        dx_t, dh_carry, dc_carry, g = lstm_step_backward(dh[t] + dh_carry, dc_carry, caches[t])
        dxs.append(dx_t)
        sums = {k: sums[k] + g[k] for k in KEYS}
    assert_close(dx, np.stack(dxs[::-1]), 1e-12, "dx")
    assert_close(dh0, dh_carry, 1e-12, "dh0")
    for k in KEYS:
        assert_close(grads[k], sums[k], 1e-12, "d" + k)


def test_missing_states_are_zeros():
    params, x, _, _, _ = _problem(3, 2, 3, 4, seed=0)
    zeros = np.zeros((2, 4))
    assert_close(lstm_forward(x, None, params)[0], lstm_forward(x, zeros, params, c0=zeros)[0], 0.0)


def test_backward_leaves_cache_and_inputs_unchanged():
    params, x, h0, c0, dh = _problem(4, 3, 2, 5, seed=1)
    snap_params = {k: v.copy() for k, v in params.items()}
    _, cache = lstm_forward(x, h0, params, c0=c0)
    snap = {k: v.copy() for k, v in cache.items() if isinstance(v, np.ndarray)}
    gates = {k: v.copy() for k, v in cache["gates"].items()}
    dh_copy = dh.copy()
    first = lstm_backward(dh, cache)
    second = lstm_backward(dh, cache)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(dh, dh_copy)
    for k, v in snap.items():
        np.testing.assert_array_equal(cache[k], v)
    for k, v in gates.items():
        np.testing.assert_array_equal(cache["gates"][k], v)
    for k, v in snap_params.items():
        np.testing.assert_array_equal(params[k], v)
    # the step functions too
    dc = np.ones((3, 5))
    _, _, step_cache = lstm_step_forward(x[0], h0, c0, params)
    lstm_step_backward(dh[0], dc, step_cache)
    np.testing.assert_array_equal(dc, np.ones((3, 5)))


def test_init_matches_pytorch_range_and_shapes():
    p = init_lstm_params(3, 16, seed=2)
    assert {k: v.shape for k, v in p.items()} == {"W_ih": (64, 3), "W_hh": (64, 16), "b_ih": (64,), "b_hh": (64,)}
    assert all(np.all(np.abs(v) <= 0.25) for v in p.values())
    assert np.max(np.abs(p["W_hh"])) > 0.24
    assert not np.array_equal(p["W_hh"], init_lstm_params(3, 16, seed=3)["W_hh"])
