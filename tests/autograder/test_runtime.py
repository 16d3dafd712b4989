"""Tests of autograder.runtime: hidden checks outside grading (raise) and inside (display raw results)."""

import json

import numpy as np
import pytest

from autograder import runtime
from autograder.checks.base import Result, evaluate, load_checks


def _honest():
    return {"add": lambda a, b: a + b, "scale": lambda x, c: c * x}


def test_outside_grading_honest_functions_pass(monkeypatch):
    monkeypatch.delenv(runtime.CASES_ENV, raising=False)
    runtime.hidden_check("fixture", "add", _honest())
    runtime.hidden_check("fixture", "scale", _honest())


def test_outside_grading_lists_every_failed_case_with_its_likely_cause(monkeypatch):
    monkeypatch.delenv(runtime.CASES_ENV, raising=False)
    with pytest.raises(AssertionError) as info:
        runtime.hidden_check("fixture", "add", {"add": lambda a, b: a - b})
    text = str(info.value)
    assert "2 of 2 hidden cases failed" in text
    assert "two vectors of length 3" in text and "two (2, 4) matrices" in text
    assert "likely cause: returned a - b instead of a + b" in text


def test_outside_grading_detects_in_place_modification(monkeypatch):
    monkeypatch.delenv(runtime.CASES_ENV, raising=False)

    def scale(x, c):
        x *= c
        return x

    with pytest.raises(AssertionError, match="modified x in place"):
        runtime.hidden_check("fixture", "scale", {"scale": scale})


def test_outside_grading_missing_function_is_reported(monkeypatch):
    monkeypatch.delenv(runtime.CASES_ENV, raising=False)
    with pytest.raises(AssertionError, match="add raised NameError: add is not defined"):
        runtime.hidden_check("fixture", "add", {})


def _grade_inside(monkeypatch, tmp_path, check_id, namespace):
    """Run hidden_check as the sandbox would and return the decoded Results and the payload."""
    check = load_checks("fixture")[check_id]
    spec = {"checks": {check_id: [runtime.case_to_wire(c) for c in check.make_cases()]}}
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(spec))
    monkeypatch.setenv(runtime.CASES_ENV, str(path))
    shown = []
    monkeypatch.setattr(runtime, "_display", lambda data, raw: shown.append(data))
    runtime.hidden_check("fixture", check_id, namespace)  # never raises for wrong answers
    assert len(shown) == 1
    payload = json.loads(json.dumps(shown[0][runtime.RESULT_MIME]))
    results = {k: runtime.result_from_wire(v) for k, v in payload["results"].items()}
    return check, payload, results


def test_inside_grading_emits_raw_results_and_never_raises(monkeypatch, tmp_path):
    def add(a, b):  # right on matrices only
        return a + b if a.ndim == 2 else a - b

    check, payload, results = _grade_inside(monkeypatch, tmp_path, "add", {"add": add})
    assert (payload["assignment"], payload["check"]) == ("fixture", "add")
    cases = check.make_cases()
    np.testing.assert_array_equal(results[cases[0].name].value, cases[0].args[0] - cases[0].args[1])
    fraction, rows = evaluate(check, results)
    assert fraction == pytest.approx(cases[1].weight / (cases[0].weight + cases[1].weight))
    assert [passed for _, _, passed, _ in rows] == [False, True]


def test_inside_grading_records_student_exceptions_and_exit(monkeypatch, tmp_path):
    def add(a, b):
        raise SystemExit("bye")

    _, _, results = _grade_inside(monkeypatch, tmp_path, "add", {"add": add})
    assert all(r.error == "SystemExit: bye" for r in results.values())
    _, _, results = _grade_inside(monkeypatch, tmp_path, "scale", {"scale": 3})
    assert all(r.error_type == "NameError" and "is a int" in r.error for r in results.values())


def test_call_probe_returns_args_after_the_call():
    def f(x):
        x[0] = 99.0
        return None

    out = runtime.run_probe("call", "f", (np.zeros(2),), {}, {"f": f})
    result = runtime.result_from_wire(json.loads(json.dumps(out)))
    assert result.value is None
    np.testing.assert_array_equal(result.args_after[0], [99.0, 0.0])


def test_torch_grad_probe_returns_value_and_gradients():
    import torch

    x = np.array([1.0, -2.0, 3.0])
    out = runtime.run_probe("torch_grad", "f", (x, 2.0), {}, {"f": lambda t, c: c * (t ** 2).sum()})
    result = runtime.result_from_wire(json.loads(json.dumps(out)))
    assert result.error is None
    assert float(result.value) == pytest.approx(2.0 * (x ** 2).sum())
    want = torch.tensor(x, requires_grad=True)
    (2.0 * (want ** 2).sum()).backward()
    np.testing.assert_allclose(result.grads[0], want.grad.numpy())
    assert result.grads[1] is None


def test_torch_grad_probe_rejects_non_scalar_output():
    out = runtime.run_probe("torch_grad", "f", (np.ones(3),), {}, {"f": lambda t: t * 2})
    assert out["error_type"] == "TypeError" and "scalar torch tensor" in out["error"]


def test_evaluate_fails_missing_results_and_broken_verdict_inputs():
    check = load_checks("fixture")["add"]
    cases = check.make_cases()
    fraction, rows = evaluate(check, {cases[0].name: Result(value="not an array")})
    assert fraction == 0.0
    assert "should be a numpy array" in rows[0][3]
    assert "no result" in rows[1][3]
    assert isinstance(load_checks("fixture")["scale"].make_cases()[0].args[0], np.ndarray)


def test_load_checks_rejects_non_identifier_assignment():
    with pytest.raises(ValueError, match="assignment must be an identifier"):
        load_checks("../a1")


def test_wire_cases_never_carry_meta():
    from autograder.checks.base import Case

    case = Case("c", "f", (np.ones(2),), meta={"expected": np.zeros(2)}, kwargs={"axis": 0})
    wire = runtime.case_to_wire(case)
    assert set(wire) == {"name", "func", "probe", "args", "kwargs"}
    assert "expected" not in json.dumps(wire)
