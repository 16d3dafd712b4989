import numpy as np
import pytest
import torch

from rnnlab.optim import SGD, Adam, clip_grad_norm, global_norm

torch.set_num_threads(1)
RTOL = 1e-10


def make_problem(seed=0, steps=6):
    """Initial parameters and a fixed sequence of gradients of growing and shrinking size."""
    rng = np.random.default_rng(seed)
    params = {"W_hh": rng.normal(size=(3, 3)), "b_hh": rng.normal(size=3)}
    scales = [1.0, 10.0, 0.1, 3.0, 1e-3, 0.5][:steps]
    grads = [{k: s * rng.normal(size=v.shape) for k, v in params.items()} for s in scales]
    return params, grads


def run_torch(opt_cls, params, grad_seq, **kw):
    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    opt = opt_cls(list(tensors.values()), **kw)
    history = []
    for grads in grad_seq:
        for k, t in tensors.items():
            t.grad = torch.from_numpy(grads[k].copy())
        opt.step()
        history.append({k: t.detach().numpy().copy() for k, t in tensors.items()})
    return history


def run_ours(opt, params, grad_seq):
    params = {k: v.copy() for k, v in params.items()}
    history = []
    for grads in grad_seq:
        opt.step(params, grads)
        history.append({k: v.copy() for k, v in params.items()})
    return history


def assert_same_history(ours, theirs):
    assert len(ours) == len(theirs)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for k in a:
            np.testing.assert_allclose(a[k], b[k], rtol=RTOL, atol=1e-13, err_msg=f"step {step}, {k}")


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_matches_torch_over_several_steps(momentum):
    params, grad_seq = make_problem()
    ours = run_ours(SGD(lr=0.05, momentum=momentum), params, grad_seq)
    theirs = run_torch(torch.optim.SGD, params, grad_seq, lr=0.05, momentum=momentum)
    assert_same_history(ours, theirs)


@pytest.mark.parametrize("kw", [{}, {"lr": 0.01, "betas": (0.8, 0.95), "eps": 1e-6}])
def test_adam_matches_torch_over_several_steps(kw):
    params, grad_seq = make_problem(seed=1)
    ours = run_ours(Adam(**kw), params, grad_seq)
    theirs = run_torch(torch.optim.Adam, params, grad_seq, **kw)
    assert_same_history(ours, theirs)


def test_step_updates_in_place():
    params, grad_seq = make_problem(steps=1)
    W = params["W_hh"]
    before = W.copy()
    SGD(lr=0.1).step(params, grad_seq[0])
    assert params["W_hh"] is W
    np.testing.assert_allclose(W, before - 0.1 * grad_seq[0]["W_hh"], rtol=RTOL)


@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_matches_torch(max_norm):
    _, grad_seq = make_problem(seed=2)
    grads = grad_seq[1]  # scale 10, so max_norm 0.5 clips and 1e3 does not
    originals = {k: v.copy() for k, v in grads.items()}
    clipped, total = clip_grad_norm(grads, max_norm)

    tensors = [torch.zeros(v.shape, dtype=torch.float64, requires_grad=True) for v in grads.values()]
    for t, v in zip(tensors, grads.values()):
        t.grad = torch.from_numpy(v.copy())
    want_total = torch.nn.utils.clip_grad_norm_(tensors, max_norm)

    assert total == pytest.approx(want_total.item(), rel=RTOL)
    for (k, c), t in zip(clipped.items(), tensors):
        np.testing.assert_allclose(c, t.grad.numpy(), rtol=RTOL, atol=0)
    for k in grads:  # a new dict, the input untouched
        np.testing.assert_array_equal(grads[k], originals[k])
        assert clipped[k] is not grads[k]
    assert global_norm(clipped) <= max_norm * (1 + 1e-12)
    if total > max_norm:
        assert global_norm(clipped) == pytest.approx(max_norm, rel=1e-5)


def test_global_norm_is_norm_of_everything():
    _, grad_seq = make_problem(seed=3, steps=1)
    flat = np.concatenate([g.ravel() for g in grad_seq[0].values()])
    assert global_norm(grad_seq[0]) == pytest.approx(np.sqrt(np.sum(flat ** 2)), rel=1e-12)


def test_mismatched_keys_and_shapes_raise():
    params, grad_seq = make_problem(steps=1)
    grads = dict(grad_seq[0])
    with pytest.raises(ValueError, match=r"grads\['W_hh'\] must have the shape of params\['W_hh'\] \(3, 3\)"):
        SGD(0.1).step(params, {**grads, "W_hh": np.zeros((3, 2))})
    del grads["b_hh"]
    with pytest.raises(ValueError, match="grads must have the keys of params"):
        Adam().step(params, grads)


def test_nan_gradient_raises_naming_the_key():
    params, grad_seq = make_problem(steps=1)
    grads = {k: v.copy() for k, v in grad_seq[0].items()}
    grads["b_hh"][1] = np.nan
    with pytest.raises(ValueError, match=r"grads\['b_hh'\] contains NaN"):
        SGD(0.1).step(params, grads)
    with pytest.raises(ValueError, match=r"grads\['b_hh'\] contains NaN"):
        clip_grad_norm(grads, 1.0)


def test_bad_hyperparameters_and_params_raise():
    with pytest.raises(ValueError, match="lr must be"):
        SGD(lr=0.0)
    with pytest.raises(ValueError, match="momentum must be"):
        SGD(lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match=r"betas\[1\] must be"):
        Adam(betas=(0.9, 1.5))
    with pytest.raises(ValueError, match="max_norm must be"):
        clip_grad_norm({"W": np.ones(2)}, -1.0)
    with pytest.raises(ValueError, match=r"params\['W'\] must be a writable float64 ndarray"):
        SGD(0.1).step({"W": np.ones(2, dtype=np.float32)}, {"W": np.ones(2)})
