"""rnngrade grade on the fixture course: parallel workers, reruns, --force, --student, the lock."""
import json
import os
from pathlib import Path

import pytest

from autograder.course import Course
from autograder.classrun.grade import CourseBusy, course_lock, grade_assignment
from autograder.limits import Limits
from autograder.synthetic import write_class

from conftest import gradebook_rows, journal_points

LIMITS = Limits(cell_timeout=10, notebook_timeout=30)
FIXTURE_POINTS = {"test_add": 3.0, "test_scale": 2.0}


@pytest.mark.slow
def test_parallel_class_run_fills_the_gradebook_consistently_and_reruns_only_what_changed(released_course):
    course = Course.from_root(released_course)
    kinds = ["correct", "partial", "wrong", "empty", "correct", "correct", "partial", "wrong"]
    students = write_class(course, "fixture", kinds)

    summary = grade_assignment(course, "fixture", LIMITS, workers=2, progress=False)

    assert sorted(r["student"] for r in summary.graded) == sorted(students)
    gb, journal = gradebook_rows(released_course), journal_points(released_course)
    assert gb == journal and set(gb) == set(students)
    for student, kind in students.items():
        total = sum(gb[student].values())
        expected = {"correct": 5.0, "partial": 3.0, "wrong": 0.0, "empty": 0.0}[kind]
        assert total == expected, (student, gb[student])
        assert (course.autograded_dir(student, "fixture") / "fixture.ipynb").is_file()

    again = grade_assignment(course, "fixture", LIMITS, workers=2, progress=False)
    assert again.graded == [] and again.skipped == len(students)

    # A changed submission is regraded, and only it.
    changed = next(s for s, k in students.items() if k == "wrong")
    correct = next(s for s, k in students.items() if k == "correct")
    nb = course.submission_dir(changed, "fixture") / "fixture.ipynb"
    nb.write_bytes((course.submission_dir(correct, "fixture") / "fixture.ipynb").read_bytes())
    third = grade_assignment(course, "fixture", LIMITS, workers=2, progress=False)
    assert [r["student"] for r in third.graded] == [changed]
    assert sum(gradebook_rows(released_course)[changed].values()) == 5.0

    one = grade_assignment(course, "fixture", LIMITS, students=[correct], progress=False)
    assert [r["student"] for r in one.graded] == [correct]
    forced = grade_assignment(course, "fixture", LIMITS, force=True, workers=2, progress=False)
    assert len(forced.graded) == len(students)
    assert gradebook_rows(released_course) == journal_points(released_course)


@pytest.mark.slow
def test_unknown_student_and_second_run_are_refused_clearly(released_course):
    course = Course.from_root(released_course)
    write_class(course, "fixture", ["correct"])
    with pytest.raises(ValueError, match="no submission of 'fixture' for student"):
        grade_assignment(course, "fixture", LIMITS, students=["nobody"], progress=False)
    with course_lock(course):
        with pytest.raises(CourseBusy, match=f"pid {os.getpid()}"):
            grade_assignment(course, "fixture", LIMITS, progress=False)
    with pytest.raises(ValueError, match="known assignments"):
        grade_assignment(course, "nope", LIMITS, progress=False)


@pytest.mark.slow
def test_symlinked_student_folder_is_refused_and_reported(released_course, tmp_path):
    course = Course.from_root(released_course)
    write_class(course, "fixture", ["correct"])
    elsewhere = tmp_path / "elsewhere" / "fixture"
    elsewhere.mkdir(parents=True)
    (elsewhere / "fixture.ipynb").write_text("{}")
    os.symlink(elsewhere.parent, course.submitted / "mallory")

    summary = grade_assignment(course, "fixture", LIMITS, progress=False)

    assert [r["student"] for r in summary.graded] == ["s000-correct"]
    assert any("mallory" in line and "symbolic link" in line for line in summary.lines())
    assert not (course.autograded / "mallory").exists()


@pytest.mark.slow
def test_a_worker_job_never_opens_a_gradebook(released_course, monkeypatch):
    """Why concurrent workers cannot corrupt the gradebook: the job path has no access to it."""
    import nbgrader.api

    from autograder.course import find_submissions
    from autograder.classrun.worker import build_payload, grade_payload

    def refuse(*args, **kwargs):
        raise AssertionError("a grading job opened a gradebook")

    monkeypatch.setattr(nbgrader.api.Gradebook, "__init__", refuse)
    course = Course.from_root(released_course)
    write_class(course, "fixture", ["correct"])
    sub = find_submissions(course, "fixture")[0][0]
    payload = build_payload(course, sub, LIMITS, True)
    assert not any(isinstance(v, (str, Path)) and "gradebook" in str(v) for v in payload.values())
    out = grade_payload(payload)
    assert out["result"]["status"] == "graded" and out["result"]["points"] == 5.0
