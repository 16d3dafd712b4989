"""results: a journal record not yet merged shows its cells as merge will write them."""
import pytest

from autograder.reporting.gradebook import needs_manual_grade
from autograder.reporting.results import _cells_from_record


def _record(status, grades):
    return {"student": "s", "assignment": "a1", "result": {"status": status, "grades": {
        g: {"notebook": "a1.ipynb", "grade_id": g, "points": p, "max_points": m} for g, (p, m) in grades.items()}}}


GRADE_CELLS = {("a1", "test_f"): (3.0, "code"), ("a1", "answer_q"): (2.0, "markdown"),
               ("a1", "test_g"): (1.0, "code")}


def test_unmerged_written_answer_is_pending_like_after_the_merge():
    cells = {c.grade_id: c for c in _cells_from_record(_record("graded", {"test_f": (3.0, 3.0)}), GRADE_CELLS)}
    assert set(cells) == {"test_f", "answer_q", "test_g"}
    assert (cells["test_f"].points, cells["test_f"].pending) == (3.0, False)
    assert (cells["answer_q"].points, cells["answer_q"].max_points, cells["answer_q"].pending) == (0.0, 2.0, True)
    assert (cells["test_g"].points, cells["test_g"].pending) == (0.0, False)  # unscored code: 0, as merge


def test_grader_error_leaves_every_unscored_cell_pending():
    cells = _cells_from_record(_record("error", {}), GRADE_CELLS)
    assert sum(c.max_points for c in cells if c.pending) == 6.0


@pytest.mark.parametrize("status, cell_type, want", [
    ("graded", "markdown", True), ("graded", "code", False), ("missing", "code", False),
    ("error", "code", True), ("timeout", "markdown", True)])
def test_the_rule_merge_uses(status, cell_type, want):
    assert needs_manual_grade(status, cell_type) is want
