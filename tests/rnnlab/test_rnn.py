"""rnnlab.rnn (Elman) against PyTorch autograd in float64 and against centred differences."""

import numpy as np
import pytest
import torch

from rnnlab.rnn import (init_rnn_params, rnn_backward, rnn_forward, rnn_step_backward,
                        rnn_step_forward)
from rnnlab.torch_bridge import rnn_to_torch, rnncell_to_torch

from seq_oracles import (SHAPES, assert_close, assert_grads_match, assert_sequence_is_steps, numeric_grads,
                         torch_grads)

KEYS = ("W_ih", "W_hh", "b_ih", "b_hh")


def _problem(T, N, D, H, seed):
    rng = np.random.default_rng(seed)
    params = init_rnn_params(D, H, seed=seed)
    # Scale the weights up so that the nonlinearity is exercised away from its linear part.
    params = {k: 2.0 * v for k, v in params.items()}
    x = rng.normal(size=(T, N, D))
    h0 = rng.normal(size=(N, H))
    dh = rng.normal(size=(T, N, H))
    return params, x, h0, dh


def _torch_elman(x, h0, W_ih, W_hh, b_ih, b_hh, act):
    """Hand-written Elman loop in torch: the oracle for sigmoid, which nn.RNN does not offer."""
    h, hs = h0, []
    for t in range(x.shape[0]):
        h = act(x[t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
        hs.append(h)
    return torch.stack(hs)


# ---------------------------------------------------------------- one step

@pytest.mark.parametrize("nonlinearity", ["tanh", "relu", "sigmoid"])
@pytest.mark.parametrize("N, D, H, seed", [(1, 3, 5, 0), (4, 6, 2, 1), (3, 3, 3, 2)])
def test_step_matches_torch(nonlinearity, N, D, H, seed):
    params, x, h0, dh = _problem(1, N, D, H, seed)
    h_next, cache = rnn_step_forward(x[0], h0, params, nonlinearity)
    dx, dh_prev, grads = rnn_step_backward(dh[0], cache)

    if nonlinearity == "sigmoid":
        def loss(x, h, **p):
            return (_torch_elman(x[None], h, *(p[k] for k in KEYS), torch.sigmoid)[0] * torch.tensor(dh[0])).sum()
        _, g = torch_grads(loss, {"x": x[0], "h": h0, **params})
        with torch.no_grad():
            want_h = _torch_elman(torch.tensor(x), torch.tensor(h0), *(torch.tensor(params[k]) for k in KEYS),
                                  torch.sigmoid)[0].numpy()
        want_dx, want_dh, want_grads = g["x"], g["h"], {k: g[k] for k in KEYS}
    else:
        cell = rnncell_to_torch(params, nonlinearity)
        xt = torch.tensor(x[0], requires_grad=True)
        ht = torch.tensor(h0, requires_grad=True)
        out = cell(xt, ht)
        out.backward(torch.tensor(dh[0]))
        want_h, want_dx, want_dh = out.detach().numpy(), xt.grad.numpy(), ht.grad.numpy()
        want_grads = {"W_ih": cell.weight_ih.grad, "W_hh": cell.weight_hh.grad,
                      "b_ih": cell.bias_ih.grad, "b_hh": cell.bias_hh.grad}
        want_grads = {k: v.numpy() for k, v in want_grads.items()}

    assert_close(h_next, want_h, 1e-12, "h_next")
    assert_close(dx, want_dx, 1e-12, "dx")
    assert_close(dh_prev, want_dh, 1e-12, "dh_prev")
    assert set(grads) == set(KEYS)
    for k in KEYS:
        assert_close(grads[k], want_grads[k], 1e-12, "d" + k)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu", "sigmoid"])
def test_step_gradients_match_centred_differences(nonlinearity):
    params, x, h0, dh = _problem(1, 3, 4, 5, seed=3)

    def loss(x, h_prev, **p):
        return float(np.sum(rnn_step_forward(x, h_prev, p, nonlinearity)[0] * dh[0]))

    _, cache = rnn_step_forward(x[0], h0, params, nonlinearity)
    dx, dh_prev, grads = rnn_step_backward(dh[0], cache)
    num = numeric_grads(loss, {"x": x[0], "h_prev": h0, **params})
    assert_grads_match({"x": dx, "h_prev": dh_prev, **grads}, num)


# ---------------------------------------------------------------- whole sequence

@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("T, N, D, H", SHAPES)
def test_sequence_matches_torch_nn_rnn(nonlinearity, T, N, D, H):
    params, x, h0, dh = _problem(T, N, D, H, seed=T + N)
    h, cache = rnn_forward(x, h0, params, nonlinearity)
    dx, dh0, grads = rnn_backward(dh, cache)

    module = rnn_to_torch(params, nonlinearity)
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0[None], requires_grad=True)
    out, h_last = module(xt, h0t)
    out.backward(torch.tensor(dh))

    assert_close(h, out.detach().numpy(), 1e-12, "h")
    assert_close(h[-1], h_last[0].detach().numpy(), 1e-12, "h[-1]")
    assert_close(dx, xt.grad.numpy(), 1e-11, "dx")
    assert_close(dh0, h0t.grad[0].numpy(), 1e-11, "dh0")
    for k, name in [("W_ih", "weight_ih_l0"), ("W_hh", "weight_hh_l0"), ("b_ih", "bias_ih_l0"),
                    ("b_hh", "bias_hh_l0")]:
        assert_close(grads[k], getattr(module, name).grad.numpy(), 1e-11, "d" + k)


@pytest.mark.parametrize("T, N, D, H", SHAPES[:3])
def test_sigmoid_sequence_matches_torch_autograd(T, N, D, H):
    params, x, h0, dh = _problem(T, N, D, H, seed=7)
    h, cache = rnn_forward(x, h0, params, "sigmoid")
    dx, dh0, grads = rnn_backward(dh, cache)

    def loss(x, h0, **p):
        return (_torch_elman(x, h0, *(p[k] for k in KEYS), torch.sigmoid) * torch.tensor(dh)).sum()

    value, g = torch_grads(loss, {"x": x, "h0": h0, **params})
    assert value == pytest.approx(float(np.sum(h * dh)), rel=1e-12)
    assert_close(dx, g["x"], 1e-11, "dx")
    assert_close(dh0, g["h0"], 1e-11, "dh0")
    for k in KEYS:
        assert_close(grads[k], g[k], 1e-11, "d" + k)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu", "sigmoid"])
@pytest.mark.parametrize("T, N, D, H", [(1, 2, 3, 4), (4, 2, 3, 2)])
def test_sequence_gradients_match_centred_differences(nonlinearity, T, N, D, H):
    params, x, h0, dh = _problem(T, N, D, H, seed=11)

    def loss(x, h0, **p):
        return float(np.sum(rnn_forward(x, h0, p, nonlinearity)[0] * dh))

    _, cache = rnn_forward(x, h0, params, nonlinearity)
    dx, dh0, grads = rnn_backward(dh, cache)
    num = numeric_grads(loss, {"x": x, "h0": h0, **params})
    assert_grads_match({"x": dx, "h0": dh0, **grads}, num)


def test_sequence_is_the_step_function_applied_T_times():
    params, x, h0, dh = _problem(5, 3, 4, 6, seed=5)
    assert_sequence_is_steps(rnn_forward, rnn_backward, rnn_step_forward, rnn_step_backward, params, x, h0, dh, KEYS,
                             rtol_forward=1e-13)


def test_h0_none_means_zeros():
    params, x, _, _ = _problem(3, 2, 3, 4, seed=0)
    assert_close(rnn_forward(x, None, params)[0], rnn_forward(x, np.zeros((2, 4)), params)[0], 0.0)


def test_backward_leaves_cache_and_inputs_unchanged():
    params, x, h0, dh = _problem(4, 3, 2, 5, seed=1)
    _, cache = rnn_forward(x, h0, params)
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in cache.items()}
    snap = {k: v.copy() for k, v in params.items()}
    dh_copy = dh.copy()
    first = rnn_backward(dh, cache)
    second = rnn_backward(dh, cache, truncate=2)
    third = rnn_backward(dh, cache)
    np.testing.assert_array_equal(first[0], third[0])
    assert second[0].shape == first[0].shape
    np.testing.assert_array_equal(dh, dh_copy)
    for k, v in before.items():
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(cache[k], v)
    for k in KEYS:
        np.testing.assert_array_equal(cache["params"][k], snap[k])
        np.testing.assert_array_equal(params[k], snap[k])


def test_init_matches_pytorch_range_and_is_seeded():
    D, H = 3, 16
    p = init_rnn_params(D, H, seed=4)
    assert {k: v.shape for k, v in p.items()} == {"W_ih": (H, D), "W_hh": (H, H), "b_ih": (H,), "b_hh": (H,)}
    bound = 1 / np.sqrt(H)
    for v in p.values():
        assert v.dtype == np.float64 and np.all(np.abs(v) <= bound)
    # spread over the range, not a constant: the largest draw of 256 is near the bound
    assert np.max(np.abs(p["W_hh"])) > 0.9 * bound
    np.testing.assert_array_equal(p["W_hh"], init_rnn_params(D, H, seed=4)["W_hh"])
    assert not np.array_equal(p["W_hh"], init_rnn_params(D, H, seed=5)["W_hh"])


# ---------------------------------------------------------------- truncated BPTT

def _windowed_reference(params, x, h0, dh, k, nonlinearity):
    """Truncated-BPTT gradients by an independent definition, with torch autograd.

    For every step t, the loss ``sum(h_t * dh[t])`` alone is placed on a fresh unrolled window
    of steps max(0, t-k+1) .. t that starts from the state before the window, ``h[t-k]`` (or
    ``h0``), taken as a detached leaf. Full BPTT through that window gives exactly the part of
    the gradient that dh[t] contributes when it may travel back at most k steps; the window's
    starting leaf receives what reaches ``h[t-k]``, and it counts towards dh0 only when the
    window starts at step 0 (the leaf is then h0 itself). Summing over t gives the reference.
    Note this is *not* the same as detaching h every k steps of one forward pass, where a
    gradient's reach depends on where t falls between the cut points.
    """
    module = rnn_to_torch(params, nonlinearity)
    T = x.shape[0]
    with torch.no_grad():
        h_all, _ = module(torch.tensor(x), torch.tensor(h0[None]))
    dx, dh0 = np.zeros_like(x), np.zeros_like(h0)
    grads = {key: np.zeros_like(v) for key, v in params.items()}
    for t in range(T):
        start = max(0, t - k + 1)
        leaf = (torch.tensor(h0) if start == 0 else h_all[start - 1].clone()).requires_grad_(True)
        xs = torch.tensor(x[start:t + 1], requires_grad=True)
        module.zero_grad()
        out, _ = module(xs, leaf[None])
        (out[-1] * torch.tensor(dh[t])).sum().backward()
        dx[start:t + 1] += xs.grad.numpy()
        if start == 0:
            dh0 += leaf.grad.numpy()
        for key, name in [("W_ih", "weight_ih_l0"), ("W_hh", "weight_hh_l0"),
                          ("b_ih", "bias_ih_l0"), ("b_hh", "bias_hh_l0")]:
            grads[key] += getattr(module, name).grad.numpy()
    return dx, dh0, grads


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("T, N, D, H, k", [(6, 2, 3, 4, 1), (6, 2, 3, 4, 2), (7, 3, 2, 5, 3),
                                           (5, 1, 4, 3, 4), (1, 2, 3, 2, 1)])
def test_truncated_bptt_matches_windowed_reference(nonlinearity, T, N, D, H, k):
    params, x, h0, dh = _problem(T, N, D, H, seed=T * k)
    _, cache = rnn_forward(x, h0, params, nonlinearity)
    dx, dh0, grads = rnn_backward(dh, cache, truncate=k)
    want_dx, want_dh0, want_grads = _windowed_reference(params, x, h0, dh, k, nonlinearity)
    assert_close(dx, want_dx, 1e-11, "dx")
    assert_close(dh0, want_dh0, 1e-11, "dh0")
    for key in KEYS:
        assert_close(grads[key], want_grads[key], 1e-11, "d" + key)


def test_truncation_changes_the_gradient_and_long_truncation_is_full_bptt():
    params, x, h0, dh = _problem(6, 2, 3, 4, seed=2)
    _, cache = rnn_forward(x, h0, params)
    full = rnn_backward(dh, cache)
    for k in (6, 10):
        dx, dh0, grads = rnn_backward(dh, cache, truncate=k)
        assert_close(dx, full[0], 1e-13, "dx")
        assert_close(dh0, full[1], 1e-13, "dh0")
    dx2, _, grads2 = rnn_backward(dh, cache, truncate=2)
    assert np.max(np.abs(grads2["W_hh"] - full[2]["W_hh"])) > 1e-3
    # the last step's input gradient only ever sees dh[-1]: truncation cannot change it
    assert_close(dx2[-1], full[0][-1], 1e-13, "dx[-1]")


def test_truncate_one_is_the_local_gradient():
    params, x, h0, dh = _problem(4, 3, 2, 5, seed=9)
    h, cache = rnn_forward(x, h0, params)
    dx, dh0, grads = rnn_backward(dh, cache, truncate=1)
    dz = dh * (1 - h ** 2)  # each dh[t] passes through its own step only
    h_prev = np.concatenate([h0[None], h[:-1]])
    assert_close(dx, dz @ params["W_ih"], 1e-13, "dx")
    assert_close(dh0, dz[0] @ params["W_hh"], 1e-13, "dh0")
    assert_close(grads["W_hh"], np.einsum("tnh,tnk->hk", dz, h_prev), 1e-13, "dW_hh")
