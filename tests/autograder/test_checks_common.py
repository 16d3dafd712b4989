"""Tests of autograder.checks._common, the verdict helpers shared by the checks modules."""

import numpy as np
import pytest

from autograder.checks import _common as C
from autograder.checks.base import Case, Result


def test_array_issue_passes_float64_agreeing_to_rounding():
    want = np.linspace(-3, 3, 12).reshape(3, 4)
    assert C.array_issue("h", want * (1 + 1e-13), want) is None


def test_array_issue_rejects_float32_by_name():
    want = np.linspace(-3, 3, 12).reshape(3, 4)
    message = C.array_issue("h", want.astype(np.float32), want)
    assert "float32" in message and "float64" in message


def test_array_issue_names_lost_precision_without_the_expected_values():
    want = np.array([0.123456789012, 2.5])
    got = want.astype(np.float32).astype(np.float64)
    message = C.array_issue("h", got, want)
    assert "precision lost" in message
    assert "0.123456789012" not in message and "expected 0.12" not in message


def test_hidden_messages_do_not_print_expected_elements():
    message = C.array_issue("h", np.array([1.0, 2.0]), np.array([1.0, 2.75]))
    assert "got 2.0" in message and "2.75" not in message
    nan = C.array_issue("h", np.array([np.nan, 1.0]), np.array([0.5, 1.0]))
    assert "nan" in nan and "0.5" not in nan


def test_scalar_issue_reports_a_hint_and_hides_the_expected_number():
    message = C.scalar_issue("loss", 6.0, 2.0, hints={"summed instead of averaged": 6.0})
    assert "summed instead of averaged" in message and "2.0" not in message
    assert C.scalar_issue("loss", 2.0 + 1e-14, 2.0) is None


@pytest.mark.parametrize("a, b, equal", [
    ({"W": np.ones(2)}, {"W": np.ones(2)}, True),
    ({"W": np.ones(2)}, {"W": np.ones(3)}, False),
    ((np.array([np.nan]), [1, "a"]), (np.array([np.nan]), [1, "a"]), True),
    ([1, 2], [1, 3], False),
    (1, 1.0, False),
])
def test_same_compares_decoded_values_deeply(a, b, equal):
    assert C.same(a, b) is equal


def test_modified_issue_names_the_argument_changed_in_place():
    x = np.zeros(3)
    case = Case("c", "f", (x, {"W": np.ones(2)}))
    after = Result(value=None, args_after=(np.zeros(3), {"W": np.array([1.0, 0.0])}))
    message = C.modified_issue(case, after, ("x", "params"))
    assert "params" in message and "x " not in message.split("modified")[1].split("in place")[0]
    assert C.modified_issue(case, Result(args_after=(np.zeros(3), {"W": np.ones(2)})), ("x", "params")) is None


def test_unpack_and_grads_issue_explain_the_structure():
    assert C.unpack(None, 2, "f")[1].endswith("None (did you forget to return?)")
    assert "got 3" in C.unpack((1, 2, 3), 2, "f")[1]
    want = {"W": np.eye(2), "b": np.ones(2)}
    assert "missing ['b']" in C.grads_issue("grads", {"W": np.eye(2)}, want)
    assert "transpose" in C.grads_issue("grads", {"W": np.array([[1.0, 2.0], [0.0, 1.0]]), "b": np.ones(2)},
                                         {"W": np.array([[1.0, 0.0], [2.0, 1.0]]), "b": np.ones(2)})


def test_centred_difference_matches_an_analytic_gradient_and_leaves_x_alone():
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    before = x.copy()
    grad = C.centred_difference(lambda v: float(np.sum(np.sin(v) * v)), x)
    assert C.rel_error(grad, np.cos(x) * x + np.sin(x)) < 1e-8
    assert np.array_equal(x, before)


def test_memo_computes_once_per_case():
    case, calls = Case("c", "f"), []
    for _ in range(3):
        C.memo(case, "want", lambda: calls.append(1) or 42)
    assert calls == [1] and case.meta["want"] == 42
