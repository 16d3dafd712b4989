import numpy as np
import pytest
import torch

from rnnlab.gradcheck import grad_check, numerical_gradient, rel_error
from rnnlab.layers import linear_backward, linear_forward

torch.set_num_threads(1)


def _torch_linear(h, W, b, dout):
    """Forward and backward of torch.nn.functional.linear in float64: the oracle."""
    ht = torch.tensor(h, requires_grad=True)
    Wt = torch.tensor(W, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    out = torch.nn.functional.linear(ht, Wt, bt)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), ht.grad.numpy(), Wt.grad.numpy(), bt.grad.numpy()


@pytest.mark.parametrize("lead", [(5,), (4, 3), (2, 3, 2)])
def test_linear_matches_torch_for_any_leading_shape(lead):
    rng = np.random.default_rng(0)
    H, K = 6, 4
    h = rng.normal(size=lead + (H,))
    W = rng.normal(size=(K, H))
    b = rng.normal(size=(K,))
    dout = rng.normal(size=lead + (K,))

    out, cache = linear_forward(h, W, b)
    dh, grads = linear_backward(dout, cache)
    out_t, dh_t, dW_t, db_t = _torch_linear(h, W, b, dout)

    assert out.shape == lead + (K,) and dh.shape == h.shape
    assert set(grads) == {"W", "b"}
    assert rel_error(out, out_t) < 1e-12
    assert rel_error(dh, dh_t) < 1e-12
    assert rel_error(grads["W"], dW_t) < 1e-12
    assert rel_error(grads["b"], db_t) < 1e-12


def test_linear_time_distributed_equals_a_loop_over_steps():
    # The same weights at every step: applying the layer to (T, N, H) equals T separate calls.
    rng = np.random.default_rng(1)
    T, N, H, K = 4, 3, 5, 2
    h = rng.normal(size=(T, N, H))
    W, b = rng.normal(size=(K, H)), rng.normal(size=(K,))
    out, _ = linear_forward(h, W, b)
    for t in range(T):
        np.testing.assert_allclose(out[t], linear_forward(h[t], W, b)[0], rtol=1e-13)


def test_linear_gradient_check():
    rng = np.random.default_rng(2)
    T, N, H, K = 3, 2, 4, 3
    h = rng.normal(size=(T, N, H))
    params = {"W": rng.normal(size=(K, H)), "b": rng.normal(size=(K,))}
    dout = rng.normal(size=(T, N, K))  # loss = sum(out * dout), so dloss/dout = dout

    def loss(p):
        return float(np.sum(linear_forward(h, p["W"], p["b"])[0] * dout))

    _, cache = linear_forward(h, params["W"], params["b"])
    dh, grads = linear_backward(dout, cache)
    result = grad_check(loss, params, grads, tol=1e-8)
    assert result.passed, str(result)
    dh_num = numerical_gradient(lambda x: float(np.sum(linear_forward(x, params["W"], params["b"])[0] * dout)), h)
    assert rel_error(dh, dh_num) < 1e-8


def test_linear_backward_does_not_depend_on_caller_reusing_buffers():
    rng = np.random.default_rng(3)
    h = rng.normal(size=(2, 3))
    W, b = rng.normal(size=(4, 3)), np.zeros(4)
    dout = rng.normal(size=(2, 4))
    _, cache = linear_forward(h, W, b)
    want = linear_backward(dout, cache)[1]["W"].copy()
    h[:] = 0.0
    W[:] = 0.0
    got = linear_backward(dout, cache)[1]["W"]
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "h_shape, W_shape, b_shape, match",
    [
        ((3, 4), (2, 5), (2,), r"h has shape \(3, 4\) but W has shape \(2, 5\)"),
        ((3, 4), (2, 4), (3,), r"b must have shape \(K,\) = \(2,\), got shape \(3,\)"),
        ((3, 4), (2, 4, 1), (2,), r"W must be a 2-D array \(K, H\)"),
        ((), (2, 4), (2,), r"h must be an array \(\.\.\., H\)"),
    ],
)
def test_linear_forward_rejects_bad_shapes(h_shape, W_shape, b_shape, match):
    with pytest.raises(ValueError, match=match):
        linear_forward(np.ones(h_shape), np.ones(W_shape), np.ones(b_shape))


def test_linear_rejects_nan_and_wrong_dout_shape():
    h = np.ones((2, 3))
    W, b = np.ones((4, 3)), np.ones(4)
    h_bad = h.copy()
    h_bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="h contains NaN"):
        linear_forward(h_bad, W, b)
    _, cache = linear_forward(h, W, b)
    with pytest.raises(ValueError, match=r"dout must have shape \(\.\.\., K\) = \(2, 4\)"):
        linear_backward(np.ones((2, 3)), cache)
