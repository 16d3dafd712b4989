"""Feedback shows each test's name, points and message, never hidden sources or expected values."""
import html
import json
import re

import numpy as np

from autograder.checks.base import Result
from autograder.checks.fixture import CHECKS
from autograder.course import Course
from autograder.reporting.feedback import hidden_lines, redact, render, write_feedback
from autograder.journal import Journal

from conftest import FIXTURE_COURSE

SOURCE = FIXTURE_COURSE / "solutions" / "fixture" / "fixture.ipynb"


def _failing_add_record():
    """A record as the engine writes it for add(a, b) returning a - b: every hidden case fails."""
    check = CHECKS["add"]
    messages, expected = [], []
    for case in check.make_cases():
        a, b = case.args
        verdict = check.verdict(case, Result(value=a - b))
        assert not verdict.passed and "expected" in verdict.message  # the leak we must remove
        messages.append({"name": f"add: {case.name}", "passed": False, "message": verdict.message})
        expected.append(a + b)
    # A visible failure whose traceback quotes the hidden block, as nbgrader's would.
    messages.append({"name": "visible tests", "passed": False,
                     "message": 'AssertionError: boom\n  hidden_check("fixture", "add", globals())'})
    grade = {"notebook": "fixture", "grade_id": "test_add", "points": 0.0, "max_points": 3.0,
             "status": "failed", "messages": messages}
    ok = {"notebook": "fixture", "grade_id": "test_scale", "points": 2.0, "max_points": 2.0,
          "status": "passed", "messages": [{"name": "scale: vector times 2.5", "passed": True, "message": "correct"}]}
    result = {"status": "graded", "reasons": [], "flags": [], "points": 2.0, "max_points": 5.0,
              "grades": {"test_add": grade, "test_scale": ok}}
    record = {"student": "alice", "assignment": "fixture", "checksum": "x", "merged": True, "result": result}
    return record, expected


def _value_spellings(arrays):
    for arr in arrays:
        yield np.array2string(arr)
        yield repr(arr)
        for x in arr.ravel():
            yield repr(float(x))
            yield repr(x)
            yield str(x)
            yield f"{x:.6g}"


def test_failing_hidden_test_shows_name_and_points_but_no_source_or_expected_values():
    source = json.loads(SOURCE.read_text())
    secret = hidden_lines(source)
    assert 'hidden_check("fixture", "add", globals())' in secret
    record, expected = _failing_add_record()

    page = render(record, "fixture", secret)

    for line in secret:
        assert line not in page and line.replace('"', "&quot;") not in page
    leaked = [s for s in _value_spellings(expected) if s in page]
    assert leaked == []
    # What the student must see is there: names, points, pass/fail, the wrong-index hint.
    assert "test_add" in page and "0 / 3" in page and "2 / 2" in page
    assert "add: two vectors of length 3" in page and "failed" in page
    assert "is wrong at index" in page and "(hidden)" in page


def test_everything_is_escaped_and_shapes_stay():
    record, _ = _failing_add_record()
    record["result"]["grades"]["test_add"]["messages"] = [
        {"name": "add: <script>alert(1)</script>", "passed": False,
         "message": "add(a, b) has shape (3,), expected (2, 4) <img src=x onerror=alert(1)>"}]
    page = render(record, "fixture", set())
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;" in page
    assert "expected (2, 4)" in page


def test_redact_keeps_visible_messages_whole():
    msg = "add(a, b) is wrong at index [0]: got 1.0, expected 4.0"
    assert redact(msg, set(), hidden_case=False) == msg
    assert "4.0" not in redact(msg, set(), hidden_case=True)
    assert "0.5" not in redact("x is 0.3, expected 0.5; relative error", set(), True)
    assert "9.5" not in redact("contains nan at index (0, 1) (expected np.float64(9.5))", set(), True)
    assert "7.25" not in redact("should be array([7.25, 1.5])", set(), True)


def test_write_feedback_uses_nbgrader_layout(course_root):
    course = Course.from_root(course_root)
    record, _ = _failing_add_record()
    Journal(course, "fixture").write(record)
    paths = write_feedback(course, "fixture")
    assert paths == [course.feedback / "alice" / "fixture" / "fixture.html"]
    assert "test_scale" in paths[0].read_text()


def test_hidden_flag_decides_and_old_records_fall_back_to_the_name():
    from autograder.reporting.feedback import is_hidden_case

    # The flag wins, whatever the name says.
    assert is_hidden_case({"name": "tests", "passed": False, "message": "", "hidden": True})
    assert not is_hidden_case({"name": "add: batch of 3", "passed": True, "message": "", "hidden": False})
    # Journal records written before the flag existed: judged by the name.
    assert not is_hidden_case({"name": "visible tests", "passed": False, "message": ""})
    assert is_hidden_case({"name": "add: batch of 3", "passed": False, "message": ""})


def test_scored_hidden_cases_carry_the_flag():
    from autograder.grades import CaseMessage, GradeResult

    msg = CaseMessage("add: batch of 3", False, "wrong", hidden=True)
    again = GradeResult.from_dict({"assignment": "a", "student": "s", "grades": {"t": {"notebook": "n", "grade_id": "t", "points": 0.0,
                                                  "max_points": 1.0, "status": "failed",
                                                  "messages": [vars(msg)]}}})
    assert again.grades["t"].messages[0].hidden is True


def _cell(grade_id, max_points, points, pending=False, manual=False, cell_type="code", comment=""):
    from autograder.reporting.results import CellScore

    return CellScore("fixture", grade_id, max_points, points, pending, manual, cell_type, comment)


def test_written_answers_awaiting_a_grader_are_on_the_page_and_in_the_total():
    record, _ = _failing_add_record()  # test_add 0 / 3, test_scale 2 / 2
    cells = [_cell("test_add", 3.0, 0.0), _cell("test_scale", 2.0, 2.0),
             _cell("answer_why", 2.0, 0.0, pending=True, cell_type="markdown"),
             _cell("answer_how", 4.0, 0.0, pending=True, cell_type="markdown")]

    page = render(record, "fixture", set(), cells=cells)

    # 2 earned of 3 + 2 + 2 + 4 = 11, with the two written answers' 6 points waiting.
    assert "Score: <b>2 of 11 points, 6 awaiting manual grading</b>" in page
    assert "awaiting manual grading (0 of 2)" in page and "awaiting manual grading (0 of 4)" in page
    assert "This score is not final" in page


def test_a_manual_grade_and_comment_replace_the_waiting_line():
    record, _ = _failing_add_record()
    comment = "Good, but <script>x</script> say why"
    cells = [_cell("test_add", 3.0, 2.5, manual=True),  # the grader overrode an automatic 0
             _cell("test_scale", 2.0, 2.0),
             _cell("answer_why", 2.0, 1.5, manual=True, cell_type="markdown", comment=comment)]

    page = render(record, "fixture", set(), cells=cells, comments={("fixture", "answer_why"): comment,
                                                                   ("fixture", "add"): "tidy code"})

    assert "Score: <b>6 of 7 points</b>" in page  # 2.5 + 2 + 1.5 of 3 + 2 + 2
    assert "awaiting" not in page and "not final" not in page
    why = re.search(r"<tr><td>answer_why</td>.*?</tr>", page, re.S).group(0)
    assert "1.5 / 2" in why and "graded by hand" in why and html.escape(comment) in why
    add = re.search(r"<tr><td>test_add</td>.*?</tr>", page, re.S).group(0)
    assert "2.5 / 3" in add and "graded by hand" in add and "is wrong at index" in add  # messages stay
    # A comment on a cell without points (a code answer) is shown too, once.
    assert page.count("tidy code") == 1 and "<script>" not in page


def test_cells_follow_the_notebook_order_when_given():
    record, _ = _failing_add_record()
    cells = [_cell("test_add", 3.0, 0.0), _cell("test_scale", 2.0, 2.0),
             _cell("answer_why", 2.0, 0.0, pending=True, cell_type="markdown")]
    page = render(record, "fixture", set(), cells=cells, order=["test_scale", "answer_why", "test_add"])
    assert page.index("<td>test_scale</td>") < page.index("<td>answer_why</td>") < page.index("<td>test_add</td>")


def test_passed_cases_are_grouped_and_failures_keep_their_text():
    messages = [{"name": f"step: case {i}", "passed": True, "message": "correct", "hidden": True}
                for i in range(4)]
    messages.append({"name": "step: T=1", "passed": False, "message": "wrong shape (2, 3)",
                     "hidden": True})
    messages.append({"name": "step: slow", "passed": True, "message": "correct, but took 3 s",
                     "hidden": True})
    grade = {"notebook": "fixture", "grade_id": "test_step", "points": 4.0, "max_points": 6.0,
             "status": "failed", "messages": messages}
    record = {"student": "bob", "assignment": "fixture", "checksum": "x", "merged": True,
              "result": {"status": "graded", "reasons": [], "flags": [], "points": 4.0,
                         "max_points": 6.0, "grades": {"test_step": grade}}}
    page = render(record, "fixture", set())
    # One line lists the four plain passes; "correct" is not repeated per case.
    assert "Passed (4 cases):" in page
    assert page.count(">correct<") == 0 and page.count("correct</pre>") == 0
    assert "hidden case step: case 0; hidden case step: case 1" in page
    # The failure and the pass that says more keep their own lines and text.
    assert "hidden case step: T=1: <span class='fail'>failed</span>" in page
    assert "wrong shape (2, 3)" in page and "correct, but took 3 s" in page


def test_failures_with_the_same_message_are_listed_once():
    messages = [{"name": f"f: case {i}", "passed": False, "hidden": True,
                 "message": "f raised NotImplementedError"} for i in range(3)]
    messages.append({"name": "f: T=1", "passed": False, "hidden": True, "message": "wrong shape"})
    grade = {"notebook": "fixture", "grade_id": "test_f", "points": 0.0, "max_points": 2.0,
             "status": "failed", "messages": messages}
    record = {"student": "bob", "assignment": "fixture", "checksum": "x", "merged": True,
              "result": {"status": "graded", "reasons": [], "flags": [], "points": 0.0,
                         "max_points": 2.0, "grades": {"test_f": grade}}}
    page = render(record, "fixture", set())
    assert page.count("f raised NotImplementedError") == 1
    assert "Failed (3 cases, same message):" in page
    assert "hidden case f: case 0; hidden case f: case 1; hidden case f: case 2" in page
    assert "hidden case f: T=1: <span class='fail'>failed</span>" in page
