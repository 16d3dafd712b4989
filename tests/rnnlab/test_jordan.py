"""rnnlab.jordan: no PyTorch module to compare with, so three oracles instead.

1. A two-step case unrolled by hand with plain numpy formulas, backward through explicit
   Jacobian matrices (not the vector-Jacobian shortcuts the module uses).
2. A hand-written torch loop under autograd in float64.
3. Centred differences.
"""

import numpy as np
import pytest
import torch

from rnnlab.jordan import (init_jordan_params, jordan_backward, jordan_forward, jordan_step_backward,
                           jordan_step_forward)

from seq_oracles import assert_close, assert_grads_match, numeric_grads, torch_grads

KEYS = ("W_ih", "W_yh", "b_ih", "b_hh", "W_hy", "b_y")
TORCH_ACT = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}
TORCH_OUT = {"softmax": lambda z: torch.softmax(z, dim=-1), "sigmoid": torch.sigmoid, "identity": lambda z: z}


def _problem(T, N, D, H, K, seed):
    rng = np.random.default_rng(seed)
    params = {k: 2.0 * v for k, v in init_jordan_params(D, H, K, seed=seed).items()}
    x = rng.normal(size=(T, N, D))
    y0 = rng.normal(size=(N, K))
    dy = rng.normal(size=(T, N, K))
    return params, x, y0, dy


def _torch_jordan(x, y0, p, act, out):
    y, ys = y0, []
    for t in range(x.shape[0]):
        h = act(x[t] @ p["W_ih"].T + p["b_ih"] + y @ p["W_yh"].T + p["b_hh"])
        y = out(h @ p["W_hy"].T + p["b_y"])
        ys.append(y)
    return torch.stack(ys)


def test_two_steps_unrolled_by_hand():
    """tanh hidden layer, softmax output, T = 2, everything written out."""
    params, x, y0, dy = _problem(2, 3, 4, 5, 3, seed=0)
    W_ih, W_yh, b_ih, b_hh, W_hy, b_y = (params[k] for k in KEYS)

    def softmax_rows(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    # forward
    h1 = np.tanh(x[0] @ W_ih.T + b_ih + y0 @ W_yh.T + b_hh)
    z1 = h1 @ W_hy.T + b_y
    y1 = softmax_rows(z1)
    h2 = np.tanh(x[1] @ W_ih.T + b_ih + y1 @ W_yh.T + b_hh)
    z2 = h2 @ W_hy.T + b_y
    y2 = softmax_rows(z2)

    # backward, sample by sample through the full softmax Jacobian diag(y) - y y^T
    def softmax_vjp(g, y):
        return np.stack([(np.diag(yn) - np.outer(yn, yn)).T @ gn for gn, yn in zip(g, y)])

    dz2 = softmax_vjp(dy[1], y2)
    da2 = (dz2 @ W_hy) * (1 - h2 ** 2)
    g1 = dy[0] + da2 @ W_yh  # y1 is read by the loss and by step 2
    dz1 = softmax_vjp(g1, y1)
    da1 = (dz1 @ W_hy) * (1 - h1 ** 2)
    want = {
        "W_ih": da1.T @ x[0] + da2.T @ x[1],
        "W_yh": da1.T @ y0 + da2.T @ y1,
        "b_ih": da1.sum(0) + da2.sum(0),
        "b_hh": da1.sum(0) + da2.sum(0),
        "W_hy": dz1.T @ h1 + dz2.T @ h2,
        "b_y": dz1.sum(0) + dz2.sum(0),
    }

    y, cache = jordan_forward(x, y0, params)
    dx, dy0, grads = jordan_backward(dy, cache)
    assert_close(y, np.stack([y1, y2]), 1e-14, "y")
    assert_close(cache["h"], np.stack([h1, h2]), 1e-14, "cache['h']")
    assert_close(cache["z"], np.stack([z1, z2]), 1e-14, "cache['z']")
    assert_close(dx, np.stack([da1 @ W_ih, da2 @ W_ih]), 1e-13, "dx")
    assert_close(dy0, da1 @ W_yh, 1e-13, "dy0")
    for k in KEYS:
        assert_close(grads[k], want[k], 1e-13, "d" + k)


@pytest.mark.parametrize("nonlinearity, output", [("tanh", "softmax"), ("tanh", "sigmoid"), ("tanh", "identity"),
                                                  ("relu", "softmax"), ("sigmoid", "identity")])
@pytest.mark.parametrize("T, N, D, H, K", [(1, 2, 3, 4, 3), (5, 1, 2, 6, 4), (4, 3, 5, 2, 2)])
def test_sequence_matches_torch_autograd(nonlinearity, output, T, N, D, H, K):
    params, x, y0, dy = _problem(T, N, D, H, K, seed=T + K)
    y, cache = jordan_forward(x, y0, params, nonlinearity, output)
    dx, dy0, grads = jordan_backward(dy, cache)

    def loss(x, y0, **p):
        return (_torch_jordan(x, y0, p, TORCH_ACT[nonlinearity], TORCH_OUT[output]) * torch.tensor(dy)).sum()

    value, g = torch_grads(loss, {"x": x, "y0": y0, **params})
    assert value == pytest.approx(float(np.sum(y * dy)), rel=1e-12)
    assert_close(dx, g["x"], 1e-11, "dx")
    assert_close(dy0, g["y0"], 1e-11, "dy0")
    for k in KEYS:
        assert_close(grads[k], g[k], 1e-11, "d" + k)


@pytest.mark.parametrize("nonlinearity, output", [("tanh", "softmax"), ("relu", "sigmoid"), ("sigmoid", "identity")])
def test_sequence_gradients_match_centred_differences(nonlinearity, output):
    params, x, y0, dy = _problem(3, 2, 3, 4, 3, seed=5)

    def loss(x, y0, **p):
        return float(np.sum(jordan_forward(x, y0, p, nonlinearity, output)[0] * dy))

    _, cache = jordan_forward(x, y0, params, nonlinearity, output)
    dx, dy0, grads = jordan_backward(dy, cache)
    num = numeric_grads(loss, {"x": x, "y0": y0, **params})
    assert_grads_match({"x": dx, "y0": dy0, **grads}, num)


@pytest.mark.parametrize("output", ["softmax", "sigmoid", "identity"])
def test_step_matches_torch_and_centred_differences(output):
    params, x, y0, dy = _problem(1, 3, 4, 5, 3, seed=8)
    y_next, cache = jordan_step_forward(x[0], y0, params, "tanh", output)
    dx, dy_prev, grads = jordan_step_backward(dy[0], cache)
    assert cache["h"].shape == (3, 5) and cache["z"].shape == (3, 3)

    def tloss(x, y, **p):
        return (_torch_jordan(x[None], y, p, torch.tanh, TORCH_OUT[output])[0] * torch.tensor(dy[0])).sum()

    value, g = torch_grads(tloss, {"x": x[0], "y": y0, **params})
    assert value == pytest.approx(float(np.sum(y_next * dy[0])), rel=1e-12)
    assert_close(dx, g["x"], 1e-12, "dx")
    assert_close(dy_prev, g["y"], 1e-12, "dy_prev")
    for k in KEYS:
        assert_close(grads[k], g[k], 1e-12, "d" + k)

    def loss(x, y_prev, **p):
        return float(np.sum(jordan_step_forward(x, y_prev, p, "tanh", output)[0] * dy[0]))

    num = numeric_grads(loss, {"x": x[0], "y_prev": y0, **params})
    assert_grads_match({"x": dx, "y_prev": dy_prev, **grads}, num)


def test_sequence_is_the_step_function_applied_T_times():
    params, x, y0, dy = _problem(4, 2, 3, 5, 3, seed=2)
    y, cache = jordan_forward(x, y0, params)
    dx, dy0, grads = jordan_backward(dy, cache)
    y_prev, caches = y0, []
    for t in range(4):
        y_prev, c = jordan_step_forward(x[t], y_prev, params)
        assert_close(y[t], y_prev, 1e-14, f"y[{t}]")
        assert_close(cache["z"][t], c["z"], 1e-14, f"z[{t}]")
        caches.append(c)
    carry, sums, dxs = np.zeros_like(y0), {k: 0.0 for k in KEYS}, []
    for t in reversed(range(4)):
        dx_t, carry, g = jordan_step_backward(dy[t] + carry, caches[t])
        dxs.append(dx_t)
        sums = {k: sums[k] + g[k] for k in KEYS}
    assert_close(dx, np.stack(dxs[::-1]), 1e-13, "dx")
    assert_close(dy0, carry, 1e-13, "dy0")
    for k in KEYS:
        assert_close(grads[k], sums[k], 1e-13, "d" + k)


def test_feedback_matters_and_y0_none_is_zeros():
    params, x, y0, _ = _problem(3, 2, 3, 4, 3, seed=1)
    y_zero, _ = jordan_forward(x, None, params)
    assert_close(y_zero, jordan_forward(x, np.zeros_like(y0), params)[0], 0.0)
    no_feedback = dict(params, W_yh=np.zeros_like(params["W_yh"]))
    # with W_yh = 0 the steps are independent; with it, the later outputs differ
    assert np.max(np.abs(jordan_forward(x, None, no_feedback)[0][1:] - y_zero[1:])) > 1e-3
    assert_close(jordan_forward(x, None, no_feedback)[0][0], y_zero[0], 1e-15)


def test_outputs_are_probabilities_for_softmax_and_sigmoid():
    params, x, y0, _ = _problem(3, 2, 3, 4, 5, seed=4)
    y, _ = jordan_forward(x, y0, params, output="softmax")
    assert_close(y.sum(axis=-1), np.ones((3, 2)), 1e-15, "row sums")
    y, _ = jordan_forward(x, y0, params, output="sigmoid")
    assert np.all((y > 0) & (y < 1))


def test_backward_leaves_cache_and_inputs_unchanged():
    params, x, y0, dy = _problem(3, 2, 3, 4, 3, seed=6)
    _, cache = jordan_forward(x, y0, params)
    snap = {k: v.copy() for k, v in cache.items() if isinstance(v, np.ndarray)}
    dy_copy = dy.copy()
    first = jordan_backward(dy, cache)
    second = jordan_backward(dy, cache)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(dy, dy_copy)
    for k, v in snap.items():
        np.testing.assert_array_equal(cache[k], v)


def test_init_shapes_and_range():
    p = init_jordan_params(3, 4, 5, seed=0)
    assert {k: v.shape for k, v in p.items()} == {"W_ih": (4, 3), "W_yh": (4, 5), "b_ih": (4,), "b_hh": (4,),
                                                  "W_hy": (5, 4), "b_y": (5,)}
    assert all(np.all(np.abs(v) <= 0.5) for v in p.values())
    assert not np.array_equal(p["W_ih"], init_jordan_params(3, 4, 5, seed=1)["W_ih"])
