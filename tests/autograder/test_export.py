"""Export: one row per student and assignment, nothing lost; pass rates from the journal."""
import csv
import os

import pytest

from autograder.course import Course, find_submissions
from autograder.reporting.export import export
from autograder.journal import Journal


def _grade(grade_id, points, max_points, cases):
    return {"notebook": "fixture.ipynb", "grade_id": grade_id, "points": points, "max_points": max_points,
            "status": "passed" if points == max_points else "failed",
            "messages": [{"name": f"{grade_id}: {n}", "passed": p, "message": ""} for n, p in cases]}


def _record(course, student, status, add_pts, scale_pts, reasons=(), checksum=None):
    add_cases = [("a", add_pts == 3), ("b", add_pts >= 1)]
    grades = {"test_add": _grade("test_add", add_pts, 3.0, add_cases),
              "test_scale": _grade("test_scale", scale_pts, 2.0, [("c", scale_pts == 2)])}
    if checksum is None:
        subs = {s.student: s.checksum for s in find_submissions(course, "fixture")[0]}
        checksum = subs[student]
    result = {"status": status, "reasons": list(reasons), "flags": [], "grades": grades,
              "points": add_pts + scale_pts, "max_points": 5.0, "timings": {"total": 1.0, "execution": 0.1}}
    Journal(course, "fixture").write({"student": student, "assignment": "fixture", "checksum": checksum,
                                      "merged": True, "graded_at": 0.0, "attempt_id": "x", "result": result})


def _submit(course, student, text="{}"):
    folder = course.submission_dir(student, "fixture")
    folder.mkdir(parents=True)
    (folder / "fixture.ipynb").write_text(text)


@pytest.fixture
def class_course(course_root, tmp_path):
    course = Course.from_root(course_root)
    for s in ("alice", "bob", "carol", "dave", "erin"):
        _submit(course, s, text=s)
    _record(course, "alice", "graded", 3.0, 2.0)
    _record(course, "bob", "crashed", 1.0, 0.0, ["=HYPERLINK(\"http://x\") cell 3: the kernel died"])
    _record(course, "carol", "graded", 3.0, 0.0)
    _record(course, "dave", "graded", 0.0, 2.0, checksum="old")       # changed since grading
    # erin: submitted, never graded; frank: graded, then the folder vanished
    _record(course, "frank", "graded", 3.0, 2.0, checksum="gone")
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "fixture").mkdir(parents=True)
    os.symlink(elsewhere, course.submitted / "mallory")
    return course


def _read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_grades_csv_has_every_student_with_status_and_reason(class_course, tmp_path):
    grades_path, _, n = export(class_course, None, tmp_path / "out")
    rows = {r["student"]: r for r in _read(grades_path)}
    assert n == len(rows) == 7
    status = {s: r["status"] for s, r in rows.items()}
    assert status == {"alice": "graded", "bob": "crashed", "carol": "graded", "dave": "changed-since-grading",
                      "erin": "not-graded", "frank": "graded", "mallory": "refused"}
    assert rows["alice"]["points"] == "5" and rows["carol"]["points"] == "3"
    assert "kernel died" in rows["bob"]["reasons"]
    assert rows["bob"]["reasons"].startswith("'=")  # not a live formula in a spreadsheet
    assert "changed after it was graded" in rows["dave"]["reasons"]
    assert "not graded yet" in rows["erin"]["reasons"]
    assert "removed" in rows["frank"]["reasons"]
    assert "symbolic link" in rows["mallory"]["reasons"]


def test_tests_csv_pass_rates_match_a_count_by_hand(class_course, tmp_path):
    _, tests_path, _ = export(class_course, ["fixture"], tmp_path / "out")
    rows = _read(tests_path)
    cells = {r["grade_id"]: r for r in rows if not r["case"]}
    # Records: alice 3/2, bob 1/0, carol 3/0, dave 0/2, frank 3/2 -> five results per cell.
    assert cells["test_add"]["submissions"] == "5"
    assert (cells["test_add"]["full"], cells["test_add"]["partial"], cells["test_add"]["zero"]) == ("3", "1", "1")
    assert float(cells["test_add"]["pass_rate"]) == pytest.approx(3 / 5)
    assert float(cells["test_add"]["mean_points"]) == pytest.approx((3 + 1 + 3 + 0 + 3) / 5)
    assert float(cells["test_scale"]["pass_rate"]) == pytest.approx(3 / 5)
    case_b = next(r for r in rows if r["case"] == "test_add: b")
    assert float(case_b["pass_rate"]) == pytest.approx(4 / 5)


def test_pending_manual_points_column_sums_the_cells_waiting_for_a_grader():
    from autograder.reporting.export import GRADE_COLUMNS, grade_rows
    from autograder.reporting.results import CellScore, Row

    cells = [CellScore("nb", "test_a", 3.0, 3.0, False), CellScore("nb", "answer_1", 2.0, 0.0, True, cell_type="markdown"),
             CellScore("nb", "answer_2", 4.0, 3.5, False, manual=True, cell_type="markdown"),
             CellScore("nb", "answer_3", 1.5, 0.0, True, cell_type="markdown")]
    waiting = Row("a1", "ann", "graded", 6.5, 10.5, manual=True, cells=cells)
    done = Row("a1", "bob", "graded", 3.0, 3.0, cells=cells[:1])
    absent = Row("a1", "cat", "not-submitted")

    assert GRADE_COLUMNS.index("pending_manual_points") == GRADE_COLUMNS.index("manual") + 1
    out = {r[1]: dict(zip(GRADE_COLUMNS, r)) for r in grade_rows([waiting, done, absent])}
    assert (out["ann"]["manual"], out["ann"]["pending_manual_points"]) == ("yes", "3.5")  # 2 + 1.5
    assert (out["bob"]["manual"], out["bob"]["pending_manual_points"]) == ("no", "0")
    assert out["cat"]["pending_manual_points"] == ""  # nothing graded: nothing to count
