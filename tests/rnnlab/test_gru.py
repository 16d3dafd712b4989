"""rnnlab.gru against torch.nn.GRU / GRUCell in float64, a hand-written torch loop and centred differences.

The bad-input rows of the GRU are in test_validation.py's table, the bridge round trip in
test_torch_bridge.py and the bidirectional GRU in test_birnn.py, beside the other cells.
"""

import numpy as np
import pytest
import torch

from rnnlab.gru import gru_backward, gru_forward, gru_step_backward, gru_step_forward, init_gru_params
from rnnlab.torch_bridge import gru_to_torch, grucell_to_torch

from seq_oracles import (SHAPES, assert_close, assert_grads_match, assert_sequence_is_steps, numeric_grads,
                         torch_grads)

KEYS = ("W_ih", "W_hh", "b_ih", "b_hh")
TORCH_NAMES = {"W_ih": "weight_ih", "W_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}


def _problem(T, N, D, H, seed):
    rng = np.random.default_rng(seed)
    # weights twice PyTorch's range so that the gates leave their linear region
    params = {k: 2.0 * v for k, v in init_gru_params(D, H, seed=seed).items()}
    x = rng.normal(size=(T, N, D))
    h0 = rng.normal(size=(N, H))
    dh = rng.normal(size=(T, N, H))
    return params, x, h0, dh


def _torch_loop(p, x, h, reset="after", update="pytorch"):
    """A GRU written out in torch from its equations; ``p`` a dict of tensors, returns (h (T, N, H), gates).

    reset="after" is PyTorch's ``r * (W_hn h + b_hn)``; "before" is the 2014 paper's
    ``W_hn (r * h) + b_hn``. update="pytorch" is ``(1 - z) * n + z * h``; "swapped" gives
    the old state the weight ``1 - z`` (a convention some texts use).
    """
    W_ir, W_iz, W_in = p["W_ih"].chunk(3, dim=0)
    W_hr, W_hz, W_hn = p["W_hh"].chunk(3, dim=0)
    b_ir, b_iz, b_in = p["b_ih"].chunk(3)
    b_hr, b_hz, b_hn = p["b_hh"].chunk(3)
    hs, gates = [], {k: [] for k in "rzn"}
    for t in range(x.shape[0]):
        r = torch.sigmoid(x[t] @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
        z = torch.sigmoid(x[t] @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
        if reset == "after":
            n = torch.tanh(x[t] @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
        else:
            n = torch.tanh(x[t] @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)
        h = (1 - z) * n + z * h if update == "pytorch" else z * n + (1 - z) * h
        hs.append(h)
        for k, v in zip("rzn", (r, z, n)):
            gates[k].append(v)
    return torch.stack(hs), {k: torch.stack(v) for k, v in gates.items()}


@pytest.mark.parametrize("N, D, H, seed", [(1, 3, 5, 0), (4, 6, 2, 1), (3, 3, 3, 2)])
def test_step_matches_torch_grucell(N, D, H, seed):
    params, x, h0, dh = _problem(1, N, D, H, seed)
    h_next, cache = gru_step_forward(x[0], h0, params)
    dx, dh_prev, grads = gru_step_backward(dh[0], cache)

    cell = grucell_to_torch(params)
    xt, ht = torch.tensor(x[0], requires_grad=True), torch.tensor(h0, requires_grad=True)
    h_t = cell(xt, ht)
    h_t.backward(torch.tensor(dh[0]))

    assert_close(h_next, h_t.detach().numpy(), 1e-12, "h_next")
    assert_close(dx, xt.grad.numpy(), 1e-12, "dx")
    assert_close(dh_prev, ht.grad.numpy(), 1e-12, "dh_prev")
    for k in KEYS:
        assert_close(grads[k], getattr(cell, TORCH_NAMES[k]).grad.numpy(), 1e-12, "d" + k)
    _, gates = _torch_loop({k: torch.tensor(v) for k, v in params.items()}, torch.tensor(x), torch.tensor(h0))
    assert set(cache["gates"]) == set("rzn")
    for k in "rzn":
        assert_close(cache["gates"][k], gates[k][0].numpy(), 1e-13, f"gates[{k!r}]")


def test_step_gradients_match_centred_differences():
    params, x, h0, dh = _problem(1, 3, 4, 5, seed=3)

    def loss(x, h_prev, **p):
        return float(np.sum(gru_step_forward(x, h_prev, p)[0] * dh[0]))

    _, cache = gru_step_forward(x[0], h0, params)
    dx, dh_prev, grads = gru_step_backward(dh[0], cache)
    num = numeric_grads(loss, {"x": x[0], "h_prev": h0, **params})
    assert_grads_match({"x": dx, "h_prev": dh_prev, **grads}, num)


@pytest.mark.parametrize("T, N, D, H", SHAPES)
def test_sequence_matches_torch_nn_gru(T, N, D, H):
    params, x, h0, dh = _problem(T, N, D, H, seed=T + H)
    h, cache = gru_forward(x, h0, params)
    dx, dh0, grads = gru_backward(dh, cache)

    module = gru_to_torch(params)
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0[None], requires_grad=True)
    out, h_n = module(xt, h0t)
    out.backward(torch.tensor(dh))

    assert_close(h, out.detach().numpy(), 1e-12, "h")
    assert_close(h[-1], h_n[0].detach().numpy(), 1e-12, "h[-1]")
    assert_close(dx, xt.grad.numpy(), 1e-11, "dx")
    assert_close(dh0, h0t.grad[0].numpy(), 1e-11, "dh0")
    for k in KEYS:
        assert_close(grads[k], getattr(module, TORCH_NAMES[k] + "_l0").grad.numpy(), 1e-11, "d" + k)


def test_gradients_match_a_hand_written_torch_loop():
    """The second autograd oracle: PyTorch's documented equations, not its fused kernel."""
    params, x, h0, dh = _problem(5, 3, 4, 6, seed=8)
    h, cache = gru_forward(x, h0, params)
    dx, dh0, grads = gru_backward(dh, cache)

    def loss(x, h0, **p):
        return (_torch_loop(p, x, h0)[0] * torch.tensor(dh)).sum()

    value, g = torch_grads(loss, {"x": x, "h0": h0, **params})
    assert value == pytest.approx(float(np.sum(h * dh)), rel=1e-12)
    assert_close(dx, g["x"], 1e-11, "dx")
    assert_close(dh0, g["h0"], 1e-11, "dh0")
    for k in KEYS:
        assert_close(grads[k], g[k], 1e-11, "d" + k)
    # b_hn sits inside r * (.), b_in does not: the two bias gradients differ in the n block only
    H = 6
    assert_close(grads["b_ih"][:2 * H], grads["b_hh"][:2 * H], 1e-15, "db r, z blocks")
    assert np.max(np.abs(grads["b_ih"][2 * H:] - grads["b_hh"][2 * H:])) > 1e-3


def test_cached_gates_are_pytorchs_in_pytorchs_order():
    params, x, h0, _ = _problem(5, 3, 4, 6, seed=0)
    _, cache = gru_forward(x, h0, params)
    _, gates = _torch_loop({k: torch.tensor(v) for k, v in params.items()}, torch.tensor(x), torch.tensor(h0))
    for k in "rzn":
        assert cache["gates"][k].shape == (5, 3, 6)
        assert_close(cache["gates"][k], gates[k].numpy(), 1e-13, f"gates[{k!r}]")
    # a large update-gate bias (second block of b_ih in PyTorch's layout) copies h0 through
    H = 6
    frozen = dict(params, b_ih=params["b_ih"] + np.r_[np.zeros(H), 50 * np.ones(H), np.zeros(H)])
    h, _ = gru_forward(x, h0, frozen)
    assert_close(h[-1], h0, 1e-12, "h[-1] with z = 1")


def test_reset_after_the_product_is_pytorchs_and_differs_from_the_paper():
    """The oracle tells the conventions apart: a paper-style GRU or a swapped update would fail."""
    params, x, h0, _ = _problem(6, 3, 4, 5, seed=9)
    h, _ = gru_forward(x, h0, params)
    p = {k: torch.tensor(v) for k, v in params.items()}
    xt, h0t = torch.tensor(x), torch.tensor(h0)
    with torch.no_grad():
        torch_h = gru_to_torch(params)(xt, h0t[None])[0].numpy()
        variants = {kind: _torch_loop(p, xt, h0t, **kind_args)[0].numpy()
                    for kind, kind_args in {"after": {}, "before": {"reset": "before"},
                                            "swapped": {"update": "swapped"}}.items()}
    assert_close(variants["after"], torch_h, 1e-13, "hand-written loop vs nn.GRU")
    assert_close(h, torch_h, 1e-12, "h")
    for kind in ("before", "swapped"):
        gap = np.max(np.abs(variants[kind] - torch_h))
        assert gap > 1e-2, f"{kind}: differs from nn.GRU by only {gap:.1e}"
        with pytest.raises(AssertionError):
            assert_close(variants[kind], torch_h, 1e-10, kind)


@pytest.mark.parametrize("T, N, D, H", [(1, 2, 3, 4), (4, 2, 3, 2)])
def test_sequence_gradients_match_centred_differences(T, N, D, H):
    params, x, h0, dh = _problem(T, N, D, H, seed=12)

    def loss(x, h0, **p):
        return float(np.sum(gru_forward(x, h0, p)[0] * dh))

    _, cache = gru_forward(x, h0, params)
    dx, dh0, grads = gru_backward(dh, cache)
    num = numeric_grads(loss, {"x": x, "h0": h0, **params})
    assert_grads_match({"x": dx, "h0": dh0, **grads}, num)


def test_sequence_is_the_step_function_applied_T_times():
    params, x, h0, dh = _problem(5, 3, 4, 6, seed=5)
    assert_sequence_is_steps(gru_forward, gru_backward, gru_step_forward, gru_step_backward, params, x, h0, dh, KEYS,
                             rtol_forward=1e-14)


def test_missing_state_is_zeros():
    params, x, _, _ = _problem(3, 2, 3, 4, seed=0)
    assert_close(gru_forward(x, None, params)[0], gru_forward(x, np.zeros((2, 4)), params)[0], 0.0)


def test_backward_leaves_cache_and_inputs_unchanged():
    params, x, h0, dh = _problem(4, 3, 2, 5, seed=1)
    snap_params = {k: v.copy() for k, v in params.items()}
    _, cache = gru_forward(x, h0, params)
    snap = {k: v.copy() for k, v in cache.items() if isinstance(v, np.ndarray)}
    dh_copy = dh.copy()
    first = gru_backward(dh, cache)
    second = gru_backward(dh, cache)
    for a, b in zip(first[:2], second[:2]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(dh, dh_copy)
    for k, v in snap.items():
        np.testing.assert_array_equal(cache[k], v)
    for k, v in snap_params.items():
        np.testing.assert_array_equal(params[k], v)
    dh_step = dh[0].copy()
    _, step_cache = gru_step_forward(x[0], h0, params)
    gru_step_backward(dh_step, step_cache)
    np.testing.assert_array_equal(dh_step, dh[0])
    np.testing.assert_array_equal(h0, snap["h0"])


def test_init_matches_pytorch_range_and_shapes():
    p = init_gru_params(3, 16, seed=2)
    assert {k: v.shape for k, v in p.items()} == {"W_ih": (48, 3), "W_hh": (48, 16), "b_ih": (48,), "b_hh": (48,)}
    assert all(np.all(np.abs(v) <= 0.25) for v in p.values())
    assert np.max(np.abs(p["W_hh"])) > 0.24
    assert not np.array_equal(p["W_hh"], init_gru_params(3, 16, seed=3)["W_hh"])
    torch.manual_seed(0)
    module = torch.nn.GRU(3, 16)
    torch_shapes = {k: tuple(getattr(module, TORCH_NAMES[k] + "_l0").shape) for k in KEYS}
    assert torch_shapes == {k: v.shape for k, v in p.items()}
