"""rnnlab.attention against torch autograd (float64) and centred differences."""

import numpy as np
import pytest
import torch

from rnnlab.attention import (additive_attention_backward, additive_attention_forward,
                              dot_attention_backward, dot_attention_forward,
                              init_additive_params)
from rnnlab.gradcheck import grad_check, numerical_gradient

S, N, H, HQ, A = 6, 4, 5, 3, 7


def _problem(seed, Hq=HQ):
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(N, Hq))
    keys = rng.normal(size=(S, N, H))
    lengths = np.array([S, 1, 3, S - 1])
    mask = (np.arange(S)[:, None] < lengths[None]).astype(float)  # padding at the end
    dcontext = rng.normal(size=(N, H))
    dweights = rng.normal(size=(S, N))
    params = {k: 2.0 * v for k, v in init_additive_params(Hq, H, A, seed=seed).items()}
    return query, keys, mask, dcontext, dweights, params


def torch_attention(query, keys, mask, kind, params=None, scaled=False):
    """The layer in torch ops: scores, -inf on padding, softmax over dim 0."""
    if kind == "additive":
        u = torch.tanh(query @ params["W_q"].T + keys @ params["W_k"].T)   # (S, N, A)
        scores = u @ params["v"]
    else:
        scores = (keys * query).sum(-1)
        if scaled:
            scores = scores / keys.shape[-1] ** 0.5
    scores = scores.masked_fill(mask == 0, float("-inf"))
    weights = torch.softmax(scores, dim=0)
    return (weights[:, :, None] * keys).sum(0), weights


def _run_torch(query, keys, mask, dcontext, dweights, kind, params=None, scaled=False):
    t = {k: torch.tensor(v, requires_grad=True) for k, v in
         dict(query=query, keys=keys, **(params or {})).items()}
    p = {k: t[k] for k in ("W_q", "W_k", "v")} if params else None
    context, weights = torch_attention(t["query"], t["keys"], torch.tensor(mask), kind,
                                       p, scaled)
    ((context * torch.tensor(dcontext)).sum() + (weights * torch.tensor(dweights)).sum()
     ).backward()
    grads = {k: v.grad.numpy() for k, v in t.items()}
    return context.detach().numpy(), weights.detach().numpy(), grads


@pytest.mark.parametrize("scaled", [False, True])
def test_dot_attention_matches_torch(scaled):
    query, keys, mask, dc, dw, _ = _problem(0, Hq=H)
    context, weights, cache = dot_attention_forward(query, keys, mask, scaled=scaled)
    dq, dk = dot_attention_backward(dc, cache, dweights=dw)
    c_t, w_t, g = _run_torch(query, keys, mask, dc, dw, "dot", scaled=scaled)
    np.testing.assert_allclose(context, c_t, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(weights, w_t, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dq, g["query"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dk, g["keys"], rtol=1e-10, atol=1e-12)


def test_additive_attention_matches_torch():
    query, keys, mask, dc, dw, params = _problem(1)
    context, weights, cache = additive_attention_forward(query, keys, params, mask)
    dq, dk, grads = additive_attention_backward(dc, cache, dweights=dw)
    c_t, w_t, g = _run_torch(query, keys, mask, dc, dw, "additive", params)
    np.testing.assert_allclose(context, c_t, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(weights, w_t, rtol=1e-12, atol=1e-13)
    for name, ours in [("query", dq), ("keys", dk)] + list(grads.items()):
        np.testing.assert_allclose(ours, g[name], rtol=1e-10, atol=1e-12, err_msg=name)


def test_weights_are_a_distribution_over_real_positions():
    query, keys, mask, *_, params = _problem(2)
    results = (dot_attention_forward(query[:, :H - 2], keys[..., :H - 2], mask),
               additive_attention_forward(query, keys, params, mask))
    for _, weights, _ in results:
        assert (weights[mask == 0] == 0).all() and (weights[mask > 0] > 0).all()
        np.testing.assert_allclose(weights.sum(axis=0), 1.0, rtol=1e-14)


def test_padding_cannot_leak():
    # Whatever sits in the padded positions, the context, the weights and the gradients
    # of the real positions stay the same.
    query, keys, mask, dc, dw, params = _problem(3)
    noisy = keys + 100.0 * (mask == 0)[:, :, None] * np.random.default_rng(0).normal(
        size=keys.shape)
    c1, w1, cache1 = additive_attention_forward(query, keys, params, mask)
    c2, w2, cache2 = additive_attention_forward(query, noisy, params, mask)
    np.testing.assert_allclose(c1, c2, rtol=1e-13)
    np.testing.assert_allclose(w1, w2, rtol=1e-13)
    _, dk, _ = additive_attention_backward(dc, cache2, dw)
    assert (dk[mask == 0] == 0).all()


def test_mask_before_softmax_differs_from_after():
    # The wrong order (softmax over all positions, then zero the padding) leaves weights
    # that no longer sum to one: the test would catch it.
    query, keys, mask, *_ = _problem(4, Hq=H)
    _, weights, _ = dot_attention_forward(query, keys, mask)
    scores = np.einsum("snh,nh->sn", keys, query)
    e = np.exp(scores - scores.max(0))
    after = e / e.sum(0) * mask
    assert np.abs(after.sum(0) - 1).max() > 1e-3
    assert np.abs(weights - after).max() > 1e-3


def test_additive_gradients_by_centred_differences():
    query, keys, mask, dc, dw, params = _problem(5)
    _, _, cache = additive_attention_forward(query, keys, params, mask)
    dq, dk, grads = additive_attention_backward(dc, cache, dw)

    def loss(q, k, p):
        c, w, _ = additive_attention_forward(q, k, p, mask)
        return float((c * dc).sum() + (w * dw).sum())

    check = grad_check(lambda p: loss(query, keys, p), params, grads)
    assert check.passed, str(check)
    num_q = numerical_gradient(lambda q: loss(q, keys, params), query)
    num_k = numerical_gradient(lambda k: loss(query, k, params), keys)
    np.testing.assert_allclose(dq, num_q, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dk, num_k, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("scaled", [False, True])
def test_dot_gradients_by_centred_differences(scaled):
    query, keys, mask, dc, dw, _ = _problem(6, Hq=H)
    _, _, cache = dot_attention_forward(query, keys, mask, scaled=scaled)
    dq, dk = dot_attention_backward(dc, cache, dw)

    def loss(q, k):
        c, w, _ = dot_attention_forward(q, k, mask, scaled=scaled)
        return float((c * dc).sum() + (w * dw).sum())

    np.testing.assert_allclose(dq, numerical_gradient(lambda q: loss(q, keys), query),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dk, numerical_gradient(lambda k: loss(query, k), keys),
                               rtol=1e-6, atol=1e-8)


def test_bad_input_names_the_argument():
    query, keys, mask, dc, _, params = _problem(7, Hq=H)
    cache = dot_attention_forward(query, keys)[2]
    cases = [
        (lambda: dot_attention_forward(query[0], keys), r"query must be a 2-D array"),
        (lambda: dot_attention_forward(query[:2], keys), r"batch N"),
        (lambda: dot_attention_forward(query[:, :2], keys), r"width H"),
        (lambda: dot_attention_forward(query, keys, mask[:3]), r"mask must have shape"),
        (lambda: dot_attention_forward(query, keys, 0.5 * mask),
         r"mask must hold only"),
        (lambda: dot_attention_forward(query, keys, mask * (np.arange(N) != 2)),
         r"column 2"),
        (lambda: dot_attention_forward(query, keys * np.nan), r"keys contains NaN"),
        (lambda: additive_attention_forward(query, keys, {"W_q": 1}),
         r"params must be a dict"),
        (lambda: additive_attention_forward(query[:, :2], keys, params),
         r"params\['W_q'\]"),
        (lambda: dot_attention_backward(dc[:, :2], cache), r"dcontext must have shape"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()
