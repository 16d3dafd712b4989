"""rnnlab.activations against torch in float64, in the tails, and against centred differences."""

import warnings

import numpy as np
import pytest
import torch

from rnnlab.activations import ACTIVATIONS, activation, relu, sigmoid, softmax, tanh
from rnnlab.gradcheck import numerical_gradient

from seq_oracles import assert_close

TORCH = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}
# Ordinary values plus the tails where a naive formula overflows or cancels.
Z = np.concatenate([np.random.default_rng(0).normal(scale=4, size=200),
                    [-1000.0, -745.0, -709.0, -40.0, -30.0, -1e-9, 0.0, 1e-9, 30.0, 40.0, 709.0, 1000.0]])


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu"])
def test_matches_torch_everywhere_without_warnings(name):
    f, _ = ACTIVATIONS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning would fail the test
        got = f(Z)
    want = TORCH[name](torch.tensor(Z)).numpy()
    assert got.shape == Z.shape and got.dtype == np.float64
    # relative, element by element: the tails (sigmoid(-30) ~ 1e-13) must keep their digits
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)


def test_sigmoid_tails_keep_relative_precision():
    z = np.array([-700.0, -100.0, -30.0])
    # exp(z) / (1 + exp(z)) is the exact value to rounding for z << 0
    np.testing.assert_allclose(sigmoid(z), np.exp(z) / (1 + np.exp(z)), rtol=1e-15)
    assert sigmoid(np.array(-1000.0)) == 0.0 and sigmoid(np.array(1000.0)) == 1.0
    assert np.all(np.isfinite(sigmoid(Z)))


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu"])
def test_derivative_from_output_matches_torch_autograd(name):
    f, dfdz = activation(name)
    z = Z[np.abs(Z) < 50]
    zt = torch.tensor(z, requires_grad=True)
    TORCH[name](zt).sum().backward()
    assert_close(dfdz(f(z)), zt.grad.numpy(), 1e-15, "df/dz")


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu"])
def test_derivative_matches_centred_differences(name):
    f, dfdz = activation(name)
    z = np.random.default_rng(1).normal(scale=2, size=(3, 4))
    z[np.abs(z) < 1e-3] = 0.5  # keep relu's kink away from the finite-difference step
    num = numerical_gradient(lambda v: float(np.sum(f(v))), z)
    assert_close(dfdz(f(z)), num, 1e-8, "df/dz")


def test_relu_derivative_at_zero_is_zero_like_torch():
    zt = torch.zeros(3, requires_grad=True)
    torch.relu(zt).sum().backward()
    _, drelu = activation("relu")
    np.testing.assert_array_equal(drelu(relu(np.zeros(3))), zt.grad.numpy())


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_matches_torch_and_survives_large_logits(axis):
    z = np.random.default_rng(2).normal(scale=3, size=(4, 5, 6))
    z[0, 0, 0] = 1000.0  # exp(1000) overflows without the max shift
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = softmax(z, axis=axis)
    want = torch.softmax(torch.tensor(z), dim=axis).numpy()
    assert_close(got, want, 1e-14, "softmax")
    assert_close(got.sum(axis=axis), np.ones(np.delete(z.shape, axis)), 1e-15, "row sums")


def test_functions_do_not_modify_their_input():
    z = Z.copy()
    for f in (sigmoid, tanh, relu, softmax):
        f(z)
    np.testing.assert_array_equal(z, Z)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"nonlinearity must be one of \['relu', 'sigmoid', 'tanh'\], got 'gelu'"):
        activation("gelu")
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        activation(["tanh"])


def test_non_numeric_input_is_refused():
    with pytest.raises(ValueError, match="z must be a real array"):
        sigmoid(np.array(["a", "b"]))
