"""Scoring a test cell from its runs: hidden checks count whatever the visible asserts did.

Uses the fixture assignment (``add(a, b)`` with three hidden units of weight, visible tests
before its hidden block) and payloads made by the real runtime on real functions.
"""
import json
from pathlib import Path

import numpy as np
import pytest

from autograder import runtime
from autograder.grading.executor import CellRun, HiddenRun, split_hidden
from autograder.grading.restore import load_source
from autograder.grading.scoring import VISIBLE_WEIGHT, GraderFailure, cases_by_check, score_cell

SOURCE = Path(__file__).resolve().parent / "fixtures" / "course" / "solutions" / "fixture" / "fixture.ipynb"


@pytest.fixture(scope="module")
def add_cell():
    source = load_source(SOURCE)
    test = next(t for t in source.tests if ("fixture", "add") in t.checks)
    return test, cases_by_check(source)


def _payload(checks, add):
    _, cases = checks[("fixture", "add")]
    raw = runtime._probe_all([runtime.case_to_wire(c) for c in cases], {"add": add})
    return {"assignment": "fixture", "check": "add", "results": json.loads(json.dumps(raw))}


def _run(visible="ok", hidden="ok", results=(), visible_results=(), error=(), hidden_error=()):
    run = CellRun(0, visible, error=error, results=list(results), visible_results=list(visible_results))
    run.hidden = HiddenRun(hidden, error=hidden_error)
    return run


def test_split_hidden_keeps_the_block_whole():
    visible, hidden = split_hidden("assert f(1) == 2\n### BEGIN HIDDEN TESTS\nhidden_check()\n### END HIDDEN TESTS\n")
    assert visible == "assert f(1) == 2\n"
    assert hidden.startswith("### BEGIN HIDDEN TESTS") and hidden.endswith("### END HIDDEN TESTS\n")
    assert split_hidden("print(1)") == ("print(1)", "")


def test_failing_visible_assert_keeps_each_hidden_case_and_its_message(add_cell):
    test, checks = add_cell
    half_right = lambda a, b: a + b if a.ndim == 1 else a - b  # noqa: E731 - wrong on matrices only
    run = _run(visible="error", error=("AssertionError", "add is wrong"), results=[_payload(checks, half_right)])
    tampered = []
    grade = score_cell(test, run, checks, {}, tampered)
    _, cases = checks[("fixture", "add")]
    weights = {c.name: c.weight for c in cases}
    passed = sum(w for name, w in weights.items() if name.startswith("two vectors"))
    assert grade.points == pytest.approx(test.points * passed / (sum(weights.values()) + VISIBLE_WEIGHT))
    assert grade.status == "partial" and not tampered
    hidden = [m for m in grade.messages if m.hidden]
    assert len(hidden) == len(cases)
    assert all("no result" not in m.message for m in hidden)
    assert any("a - b" in m.message for m in hidden if not m.passed)  # the case's own diagnostic
    assert any(m.name == "visible tests" and not m.passed and "add is wrong" in m.message for m in grade.messages)


def test_correct_code_gets_full_points_and_visible_failure_alone_loses_a_case(add_cell):
    test, checks = add_cell
    good = _payload(checks, lambda a, b: a + b)
    assert score_cell(test, _run(results=[good]), checks, {}, []).points == test.points
    grade = score_cell(test, _run(visible="error", error=("AssertionError", ""), results=[good]), checks, {}, [])
    assert 0 < grade.points < test.points


def test_result_shown_during_the_visible_part_is_forged(add_cell):
    test, checks = add_cell
    forged = _payload(checks, lambda a, b: a + b)
    tampered = []
    grade = score_cell(test, _run(visible_results=[forged], results=[_payload(checks, lambda a, b: a - b)]),
                       checks, {}, tampered)
    assert "visible tests" in tampered[0] and grade.points == 0


def test_hidden_part_that_failed_after_a_result_is_ignored(add_cell):
    test, checks = add_cell
    tampered = []
    run = _run(hidden="error", hidden_error=("KeyboardInterrupt", ""), results=[_payload(checks, lambda a, b: a + b)])
    grade = score_cell(test, run, checks, {}, tampered)
    assert tampered and grade.points < test.points
    assert any("hidden checks stopped" in m.message for m in grade.messages)


def test_runtime_missing_in_the_kernel_is_a_grader_failure_not_a_score(add_cell):
    test, checks = add_cell
    run = _run(hidden="error", hidden_error=("ModuleNotFoundError", "No module named 'autograder'"))
    with pytest.raises(GraderFailure, match="could not import the grader's runtime"):
        score_cell(test, run, checks, {}, [])


def test_passing_visible_tests_add_nothing_to_wrong_hidden_results(add_cell):
    """Visible asserts run in the student's kernel (allclose can be patched): they never add points."""
    test, checks = add_cell
    grade = score_cell(test, _run(results=[_payload(checks, lambda a, b: a - b)]), checks, {}, [])
    assert grade.points == 0 and grade.status == "failed"


def test_a_shortcut_earns_nothing(add_cell):
    test, checks = add_cell
    charged = {"add": "add uses the course's reference implementation"}
    grade = score_cell(test, _run(results=[_payload(checks, np.add)]), checks, charged, [])
    assert grade.points == 0


def _plain_test(source):
    """A plain nbgrader test cell (no hidden_check) as load_source analyses it."""
    import nbformat

    from autograder.grading.restore import SourceCell

    cell = nbformat.v4.new_code_cell(source, metadata={"nbgrader": {"grade": True, "grade_id": "t", "points": 2}})
    return SourceCell("t", "test", cell, source, points=2.0)


def test_a_plain_test_cell_fails_when_its_hidden_block_fails():
    # nbgrader's "### BEGIN HIDDEN TESTS" in a plain assert cell: ignoring the hidden part's
    # failure gave full marks to code that only passed the visible asserts.
    test = _plain_test("assert f(1) == 1\n### BEGIN HIDDEN TESTS\nassert f(2) == 4\n### END HIDDEN TESTS\n")
    grade = score_cell(test, _run(hidden="error", hidden_error=("AssertionError", "")), {}, {}, [])
    assert (grade.points, grade.status) == (0.0, "failed")
    assert "hidden tests: AssertionError" in grade.messages[0].message
    assert score_cell(test, _run(), {}, {}, []).points == 2.0
    visible_failed = _run(visible="error", error=("AssertionError", "f(1)"))
    assert score_cell(test, visible_failed, {}, {}, []).points == 0.0


def test_a_plain_test_cell_gets_nbgraders_partial_credit_from_its_value():
    import nbformat

    test = _plain_test("score = 0.5\nscore")
    value = lambda text: [nbformat.v4.new_output("execute_result", data={"text/plain": text}, execution_count=1)]  # noqa: E731
    assert score_cell(test, _run(), {}, {}, [], value("0.5")).points == 0.5
    assert score_cell(test, _run(), {}, {}, [], value("'a string'")).points == 2.0  # not a number: full
    assert score_cell(test, _run(), {}, {}, [], value("-1")).points == 2.0          # as nbgrader: full
    too_much = score_cell(test, _run(), {}, {}, [], value("3"))
    assert too_much.points == 0.0 and "more than its 2 points" in too_much.messages[0].message
    assert score_cell(test, _run(), {}, {}, [], []).points == 2.0
    # A failing cell earns nothing whatever it displayed.
    assert score_cell(test, _run(hidden="error", hidden_error=("AssertionError", "")), {}, {}, [], value("1")).points == 0.0
