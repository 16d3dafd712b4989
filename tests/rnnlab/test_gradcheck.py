import numpy as np
import pytest

from rnnlab.gradcheck import GradCheckResult, grad_check, numerical_gradient, rel_error


def quad(params):
    """f = sum(W x) ** 2 / 2 + sum(b ** 3): a smooth function with a known gradient."""
    W, x, b = params["W"], params["x"], params["b"]
    s = np.sum(W @ x)
    return 0.5 * s ** 2 + np.sum(b ** 3)


def quad_grads(params):
    W, x, b = params["W"], params["x"], params["b"]
    s = np.sum(W @ x)
    return {"W": s * np.outer(np.ones(W.shape[0]), x), "x": s * W.sum(axis=0), "b": 3 * b ** 2}


@pytest.fixture
def params():
    rng = np.random.default_rng(0)
    return {"W": rng.normal(size=(3, 4)), "x": rng.normal(size=4), "b": rng.normal(size=2)}


def test_numerical_gradient_matches_polynomial_derivative():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3))
    num = numerical_gradient(lambda z: np.sum(np.sin(z) * z), x)
    np.testing.assert_allclose(num, np.cos(x) * x + np.sin(x), rtol=1e-8, atol=1e-10)


def test_grad_check_passes_on_correct_gradient(params):
    result = grad_check(quad, params, quad_grads(params))
    assert isinstance(result, GradCheckResult)
    assert result.passed
    assert set(result.errors) == {"W", "x", "b"}
    assert result.max_error == max(result.errors.values())
    assert result.max_error < 1e-7


def test_grad_check_finds_a_wrong_gradient(params):
    grads = quad_grads(params)
    grads["W"] = grads["W"].T.reshape(grads["W"].shape)  # a transposed-weight style slip
    grads["b"] = 2 * params["b"] ** 2  # wrong power rule
    result = grad_check(quad, params, grads)
    assert not result.passed
    assert result.errors["W"] > 1e-2 and result.errors["b"] > 1e-2
    assert result.errors["x"] < 1e-7
    text = str(result)
    assert "FAIL" in text and "tol" in text and "1e-06" in text


def test_grad_check_does_not_modify_inputs(params):
    before = {k: v.copy() for k, v in params.items()}
    grads = quad_grads(params)
    grads_before = {k: v.copy() for k, v in grads.items()}
    grad_check(quad, params, grads)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
        np.testing.assert_array_equal(grads[k], grads_before[k])


def test_mutating_f_cannot_corrupt_the_check(params):
    """f scribbles on its argument; a checker relying on aliasing would drift."""
    def f(p):
        value = quad(p)
        for v in p.values():
            v += 1.0
        return value

    result = grad_check(f, params, quad_grads(params))
    assert result.passed, str(result)


def test_numerical_gradient_copies_x():
    x = np.arange(4.0)
    x_before = x.copy()
    seen = []
    numerical_gradient(lambda z: seen.append(z) or float(np.sum(z ** 2)), x)
    np.testing.assert_array_equal(x, x_before)
    assert all(z is not x for z in seen)


def test_result_reports_tolerance(params):
    result = grad_check(quad, params, quad_grads(params), tol=3e-5)
    assert result.tol == 3e-5
    assert "3e-05" in str(result)
    assert "passed" in str(result)


def test_rel_error_definition():
    a = np.array([1.0, 0.0, -2.0])
    b = np.array([1.5, 0.0, -2.0])
    # entry 0: 0.5 / 2.5; entry 1: 0 / floor; entry 2: 0.
    assert rel_error(a, b) == pytest.approx(0.5 / 2.5)
    with pytest.raises(ValueError, match="a and b"):
        rel_error(np.zeros(2), np.zeros(3))


def test_non_scalar_f_raises():
    with pytest.raises(ValueError, match="scalar"):
        numerical_gradient(lambda z: z * 2, np.ones(3))


def test_nan_f_raises():
    with pytest.raises(ValueError, match="nan"):
        numerical_gradient(lambda z: np.sum(z) * np.nan, np.ones(2))


def test_mismatched_grads_raise(params):
    grads = quad_grads(params)
    grads["W"] = grads["W"][:2]
    with pytest.raises(ValueError, match=r"grads\['W'\].*\(3, 4\)"):
        grad_check(quad, params, grads)
    del grads["W"]
    with pytest.raises(ValueError, match="keys"):
        grad_check(quad, params, grads)


def test_nan_in_x_or_grads_raises(params):
    with pytest.raises(ValueError, match="x contains NaN"):
        numerical_gradient(np.sum, np.array([1.0, np.nan]))
    grads = quad_grads(params)
    grads["b"][0] = np.inf
    with pytest.raises(ValueError, match=r"grads\['b'\]"):
        grad_check(quad, params, grads)
