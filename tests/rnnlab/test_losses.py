import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnlab.gradcheck import grad_check
from rnnlab.losses import binary_cross_entropy, mean_squared_error, softmax_cross_entropy

torch.set_num_threads(1)
RTOL = 1e-10


def torch_value_and_grad(fn, x):
    x_t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    loss = fn(x_t)
    loss.backward()
    return loss.item(), x_t.grad.numpy()


@pytest.fixture
def seq_batch():
    rng = np.random.default_rng(0)
    T, N, K = 5, 4, 6
    logits = rng.normal(scale=3.0, size=(T, N, K))
    targets = rng.integers(0, K, size=(T, N))
    lengths = np.array([5, 3, 1, 4])
    mask = (np.arange(T)[:, None] < lengths[None, :]).astype(np.float64)
    return logits, targets, mask


def test_cross_entropy_with_padding_matches_torch_ignore_index(seq_batch):
    logits, targets, mask = seq_batch
    K = logits.shape[-1]
    padded = np.where(mask > 0, targets, -100)  # padding may hold anything
    loss, dlogits = softmax_cross_entropy(logits, padded, mask)
    t_targets = torch.from_numpy(padded).reshape(-1)
    want, dwant = torch_value_and_grad(
        lambda z: F.cross_entropy(z.reshape(-1, K), t_targets, ignore_index=-100), logits)
    assert loss == pytest.approx(want, rel=RTOL)
    np.testing.assert_allclose(dlogits, dwant, rtol=RTOL, atol=1e-15)
    assert np.all(dlogits[mask == 0] == 0)


def test_cross_entropy_2d_without_mask_matches_torch():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(7, 3))
    targets = rng.integers(0, 3, size=7)
    loss, dlogits = softmax_cross_entropy(logits, targets)
    want, dwant = torch_value_and_grad(lambda z: F.cross_entropy(z, torch.from_numpy(targets)), logits)
    assert loss == pytest.approx(want, rel=RTOL)
    np.testing.assert_allclose(dlogits, dwant, rtol=RTOL, atol=1e-15)
    loss_ones, _ = softmax_cross_entropy(logits, targets, np.ones(7))
    assert loss_ones == loss


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1000.0, -1000.0, 0.0], [-800.0, 800.0, 799.0]])
    targets = np.array([1, 2])
    loss, dlogits = softmax_cross_entropy(logits, targets)
    want, dwant = torch_value_and_grad(lambda z: F.cross_entropy(z, torch.from_numpy(targets)), logits)
    assert np.isfinite(loss) and loss == pytest.approx(want, rel=RTOL)
    np.testing.assert_allclose(dlogits, dwant, rtol=RTOL, atol=1e-15)


def test_cross_entropy_gradient_by_centred_differences(seq_batch):
    _, targets, mask = seq_batch
    # Unit-scale logits: a probability near 1e-6 would give a gradient entry that the
    # centred difference resolves only to ~1e-4 relative (round-off / eps).
    logits = np.random.default_rng(5).normal(size=(5, 4, 6))
    _, dlogits = softmax_cross_entropy(logits, targets, mask)
    result = grad_check(lambda p: softmax_cross_entropy(p["z"], targets, mask)[0],
                        {"z": logits}, {"z": dlogits}, tol=1e-6)
    assert result.passed, str(result)


def test_bce_with_mask_matches_torch():
    rng = np.random.default_rng(2)
    logits = rng.normal(scale=4.0, size=(6, 3, 2))
    targets = rng.uniform(size=(6, 3, 2))  # soft targets are allowed
    mask = (rng.uniform(size=(6, 3, 2)) < 0.7).astype(float)
    loss, dlogits = binary_cross_entropy(logits, targets, mask)
    m_t, y_t = torch.from_numpy(mask), torch.from_numpy(targets)
    want, dwant = torch_value_and_grad(
        lambda z: (F.binary_cross_entropy_with_logits(z, y_t, reduction="none") * m_t).sum() / m_t.sum(),
        logits)
    assert loss == pytest.approx(want, rel=RTOL)
    np.testing.assert_allclose(dlogits, dwant, rtol=RTOL, atol=1e-15)

    result = grad_check(lambda p: binary_cross_entropy(p["z"], targets, mask)[0],
                        {"z": logits}, {"z": dlogits})
    assert result.passed, str(result)


def test_bce_without_mask_and_extreme_logits_match_torch():
    logits = np.array([[-500.0, 500.0, 0.0, 30.0]])
    targets = np.array([[1.0, 0.0, 1.0, 1.0]])
    loss, dlogits = binary_cross_entropy(logits, targets)
    want, dwant = torch_value_and_grad(
        lambda z: F.binary_cross_entropy_with_logits(z, torch.from_numpy(targets)), logits)
    assert loss == pytest.approx(want, rel=RTOL)
    np.testing.assert_allclose(dlogits, dwant, rtol=RTOL, atol=1e-15)


def test_mse_matches_torch_and_centred_differences():
    rng = np.random.default_rng(3)
    pred, target = rng.normal(size=(5, 2, 1)), rng.normal(size=(5, 2, 1))
    loss, dpred = mean_squared_error(pred, target)
    want, dwant = torch_value_and_grad(lambda p: F.mse_loss(p, torch.from_numpy(target)), pred)
    assert loss == pytest.approx(want, rel=RTOL)
    np.testing.assert_allclose(dpred, dwant, rtol=RTOL, atol=1e-15)
    result = grad_check(lambda p: mean_squared_error(p["y"], target)[0], {"y": pred}, {"y": dpred})
    assert result.passed, str(result)


def test_bad_ranks_and_shapes_name_the_argument():
    z = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match=r"logits must be a 3-D .*\(2, 3, 4, 1\)"):
        softmax_cross_entropy(np.zeros((2, 3, 4, 1)), np.zeros((2, 3), dtype=int))
    with pytest.raises(ValueError, match=r"targets must have shape \(T, N\) = \(2, 3\), got shape \(3, 2\)"):
        softmax_cross_entropy(z, np.zeros((3, 2), dtype=int))
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 3\)"):
        softmax_cross_entropy(z, np.zeros((2, 3), dtype=int), np.ones((2, 2)))
    with pytest.raises(ValueError, match="targets must have shape"):
        binary_cross_entropy(z, np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"target must have shape \(2, 3, 4\)"):
        mean_squared_error(z, np.zeros((2, 3)))


def test_target_outside_classes_raises():
    with pytest.raises(ValueError, match=r"targets .*outside .*\[0, 4\)"):
        softmax_cross_entropy(np.zeros((2, 4)), np.array([0, 4]))
    with pytest.raises(ValueError, match="targets must be an integer"):
        softmax_cross_entropy(np.zeros((2, 4)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        binary_cross_entropy(np.zeros(2), np.array([0.0, 2.0]))


def test_nan_or_inf_raises():
    with pytest.raises(ValueError, match="logits contains NaN or inf"):
        softmax_cross_entropy(np.array([[np.nan, 0.0]]), np.array([0]))
    with pytest.raises(ValueError, match="logits contains NaN or inf"):
        binary_cross_entropy(np.array([np.inf]), np.array([1.0]))
    with pytest.raises(ValueError, match="target contains NaN or inf"):
        mean_squared_error(np.zeros(2), np.array([0.0, np.nan]))


def test_bad_masks_raise():
    with pytest.raises(ValueError, match="mask must hold only 0"):
        softmax_cross_entropy(np.zeros((2, 4)), np.array([0, 1]), np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="mask .*keeps no element"):
        binary_cross_entropy(np.zeros(2), np.zeros(2), np.zeros(2))
