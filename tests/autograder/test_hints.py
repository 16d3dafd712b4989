"""Tests of autograder.hints: the messages a student sees from a visible test."""

import numpy as np
import pytest

from autograder.hints import array_problem, check_array, check_not_modified, check_scalar


def test_matching_arrays_pass():
    want = np.linspace(-1, 1, 6).reshape(2, 3)
    check_array("h", want * (1 + 1e-12), want)
    assert array_problem("h", want.copy(), want) is None


def test_wrong_type_and_none():
    with pytest.raises(AssertionError, match=r"should be a numpy array of shape \(2,\), got None \(did you forget"):
        check_array("h", None, np.zeros(2))
    with pytest.raises(AssertionError, match="got a list"):
        check_array("h", [0.0, 0.0], np.zeros(2))


def test_wrong_shape_mentions_transposed_shape():
    with pytest.raises(AssertionError, match=r"has shape \(3, 2\), expected \(2, 3\) \(the transposed shape"):
        check_array("h", np.zeros((3, 2)), np.ones((2, 3)))


def test_first_wrong_element_relative_error_and_tolerance():
    want = np.arange(6.0).reshape(2, 3)
    got = want.copy()
    got[1, 2] = 7.0
    msg = array_problem("h_next", got, want, rtol=1e-6)
    assert "wrong at index (1, 2): got 7.0, expected 5.0" in msg
    assert "1 of 6 elements differ" in msg
    assert f"relative error {2 / 12:.2e}" in msg and "rtol=1e-06" in msg


def test_transpose_and_caller_hints_are_recognised():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(3, 3))
    msg = array_problem("h", z.T, z)
    assert "likely cause: it matches the transpose of the expected value" in msg
    sig = 1 / (1 + np.exp(-z))
    msg = array_problem("h", sig, np.tanh(z), hints={"used sigmoid where tanh was expected": sig})
    assert "likely cause: used sigmoid where tanh was expected" in msg


def test_nan_is_reported_with_its_index():
    got = np.array([1.0, np.nan])
    with pytest.raises(AssertionError, match=r"contains nan at index \[1\]"):
        check_array("loss", got, np.array([1.0, 2.0]))


def test_scalar_and_not_modified():
    check_scalar("loss", 0.5 + 1e-12, 0.5)
    with pytest.raises(AssertionError, match="loss is 0.6, expected 0.5"):
        check_scalar("loss", 0.6, 0.5)
    with pytest.raises(AssertionError, match="should be a number"):
        check_scalar("loss", "0.5", 0.5)
    x = np.ones(3)
    check_not_modified("x", x.copy(), x)
    with pytest.raises(AssertionError, match="x was modified in place"):
        check_not_modified("x", x.copy(), x * 2)


def test_hidden_problems_show_neither_the_expected_values_nor_the_expected_shape():
    want = np.array([[0.123456789, -2.5], [3.75, 4.125]])
    assert "(2, 2)" not in array_problem("h", None, want, hidden=True)
    flat = array_problem("h", want.ravel(), want, hidden=True)
    assert "(4,)" in flat and "(2, 2)" not in flat and "wrong number of dimensions" in flat
    wrong = want.copy()
    wrong[0, 0] = 9.0
    msg = array_problem("h", wrong, want, hidden=True)
    assert "index (0, 0): got 9.0" in msg and "0.123" not in msg and "expected" not in msg
    nan = want.copy()
    nan[1, 0] = np.nan
    assert "3.75" not in array_problem("h", nan, want, hidden=True)
    from autograder.hints import scalar_problem
    msg = scalar_problem("loss", 1.5, 0.123456789, hidden=True)
    assert "1.5" in msg and "0.123" not in msg and "relative error" not in msg
    # visible tests keep showing the expected value
    assert "expected 0.123456789" in array_problem("h", wrong, want)
