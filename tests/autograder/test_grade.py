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


def test_run_summary_gives_its_figures_and_one_line_on_the_main_process():
    from autograder.classrun.grade import RunSummary

    graded = [{"student": s, "result": {"status": st}} for s, st in
              (("a", "graded"), ("b", "timeout"), ("c", "graded"))]
    summary = RunSummary("fixture", graded=graded, seconds=3.0,
                         steps={"scan": 0.5, "grading": 2.0, "merge": 0.25, "journal": 0.125},
                         peak_rss_mib=150.4, cpu_seconds=1.0)
    figures = json.loads(json.dumps(summary.figures()))
    assert figures["graded"] == 3 and figures["statuses"] == {"graded": 2, "timeout": 1}
    assert figures["steps"]["merge"] == 0.25 and figures["peak_rss_mib"] == 150.4
    assert summary.lines()[-1] == ("main process: scan 0.5 s, grading 2.0 s, merge 0.2 s, "
                                   "journal 0.1 s; CPU 1.0 s, peak memory 150 MiB")
    assert not any("main process" in line for line in RunSummary("fixture").lines())


def test_a_merge_only_run_times_its_steps_and_measures_its_own_memory(released_course):
    """A run with only journaled, unmerged records starts no worker: fast, and every step timed."""
    from autograder.classrun.grade import GradeOptions, _grade_locked
    from autograder.course import find_submissions
    from autograder.grades import GradeResult
    from autograder.journal import Journal

    course = Course.from_root(released_course)
    write_class(course, "fixture", ["correct", "empty", "wrong"])
    journal = Journal(course, "fixture")
    for sub in find_submissions(course, "fixture")[0]:
        result = GradeResult("fixture", sub.student).to_dict()
        journal.write({"student": sub.student, "assignment": "fixture", "checksum": sub.checksum,
                       "merged": False, "result": result})

    summary = _grade_locked(course, "fixture", GradeOptions(progress=False))

    assert len(summary.merged_only) == 3 and not summary.graded
    assert list(summary.steps) == ["scan", "grading", "merge", "journal"]
    assert summary.steps["merge"] > 0 and summary.steps["journal"] == 0.0
    assert summary.steps["scan"] + summary.steps["grading"] <= summary.seconds
    # The test process itself: tens of MiB at least, and some CPU time.
    assert summary.peak_rss_mib > 20 and summary.cpu_seconds > 0
    assert all(r["merged"] for r in journal.records().values())
