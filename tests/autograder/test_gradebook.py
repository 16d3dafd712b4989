"""Merging journal records into nbgrader's gradebook: idempotent, manual scores kept, flags set."""
import pytest

from autograder.reporting import gradebook
from autograder.course import Course

from conftest import gradebook_rows


def _record(status="graded", add=3.0, scale=1.0):
    grades = {gid: {"notebook": "fixture.ipynb", "grade_id": gid, "points": pts, "max_points": mx,
                    "status": "passed", "messages": []}
              for gid, pts, mx in (("test_add", add, 3.0), ("test_scale", scale, 2.0))}
    return {"student": "alice", "assignment": "fixture", "checksum": "c", "merged": False,
            "result": {"status": status, "reasons": [], "flags": [], "grades": grades}}


@pytest.mark.slow
def test_merge_is_idempotent_keeps_manual_scores_and_flags_problems(released_course):
    course = Course.from_root(released_course)
    gradebook.merge(course, _record(), original_id="Alice Ünicode")
    gradebook.merge(course, _record())
    assert gradebook_rows(released_course) == {"alice": {"test_add": 3.0, "test_scale": 1.0}}

    with gradebook.open_gradebook(course) as gb:
        assert gb.find_student("alice").lms_user_id == "Alice Ünicode"
        grade = gb.find_grade("test_scale", "fixture", "fixture", "alice")
        grade.manual_score = 2.0
        gb.db.commit()
    gradebook.merge(course, _record(status="tampered", add=0.0, scale=0.0))
    with gradebook.open_gradebook(course) as gb:
        nb = gb.find_submission_notebook("fixture", "fixture", "alice")
        assert nb.flagged
        assert {g.name: (g.auto_score, g.manual_score, g.score) for g in nb.grades} == {
            "test_add": (0.0, None, 0.0), "test_scale": (1.0, 2.0, 2.0)}


@pytest.mark.slow
def test_grader_error_leaves_cells_for_manual_grading(released_course):
    course = Course.from_root(released_course)
    record = _record(status="error")
    record["result"]["grades"] = {}
    gradebook.merge(course, record)
    with gradebook.open_gradebook(course) as gb:
        nb = gb.find_submission_notebook("fixture", "fixture", "alice")
        assert nb.flagged and all(g.needs_manual_grade and g.auto_score is None for g in nb.grades)


@pytest.mark.slow
def test_place_autograded_swaps_the_folder_whole(released_course):
    course = Course.from_root(released_course)
    gradebook.place_autograded(course, "alice", "fixture", {"fixture": "v1"})
    gradebook.place_autograded(course, "alice", "fixture", {"fixture": "v2"})
    folder = course.autograded_dir("alice", "fixture")
    assert [p.name for p in folder.iterdir()] == ["fixture.ipynb"]
    assert (folder / "fixture.ipynb").read_text() == "v2"
    assert [p.name for p in folder.parent.iterdir()] == ["fixture"]


@pytest.mark.slow
def test_a_submission_without_a_notebook_removes_the_stale_autograded_one(released_course):
    from autograder.classrun.grade import commit
    from autograder.journal import Journal

    course = Course.from_root(released_course)
    journal = Journal(course, "fixture")
    record = _record()
    record["autograded_notebooks"] = {"fixture": "{}"}
    commit(course, journal, record, {})
    assert (course.autograded_dir("alice", "fixture") / "fixture.ipynb").is_file()
    malformed = _record(status="malformed", add=0.0, scale=0.0)
    malformed["autograded_notebooks"] = {}
    commit(course, journal, malformed, {})
    assert not course.autograded_dir("alice", "fixture").exists()
    assert journal.read("alice")["merged"] and "autograded_notebooks" not in journal.read("alice")


def test_an_invalid_timestamp_is_refused_with_a_reason_like_nbgrader(tmp_path):
    from autograder.reporting.gradebook import timestamp_problem

    assert timestamp_problem(tmp_path) == ""  # none: graded without one
    (tmp_path / "timestamp.txt").write_text("  \n")
    assert timestamp_problem(tmp_path) == ""  # empty: nbgrader warns and grades it as none
    (tmp_path / "timestamp.txt").write_text("2015-02-02 15:58:23.948203 America/Los_Angeles")
    assert timestamp_problem(tmp_path) == ""
    (tmp_path / "timestamp.txt").write_text("not a time")
    assert "invalid timestamp.txt ('not a time')" in timestamp_problem(tmp_path)
