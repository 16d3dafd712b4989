"""After rnngrade grade, nbgrader's own tools read the course as if nbgrader had graded it."""
import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course import Course
from autograder.classrun.grade import grade_assignment
from autograder.limits import Limits
from autograder.synthetic import write_class


@pytest.mark.slow
def test_nbgrader_export_feedback_and_formgrader_api_read_our_results(released_course):
    course = Course.from_root(released_course)
    students = write_class(course, "fixture", ["correct", "partial", "malformed"])
    summary = grade_assignment(course, "fixture", Limits(cell_timeout=10), progress=False)
    points = {r["student"]: r["result"]["points"] for r in summary.graded}
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")

    # nbgrader export: the same scores.
    subprocess.run(["nbgrader", "export", "--log-level=ERROR"], cwd=released_course, env=env, check=True,
                   capture_output=True)
    with open(released_course / "grades.csv", newline="") as fh:
        exported = {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh)}
    assert exported == points and set(exported) == set(students)

    # formgrader's API: every submission with a notebook is autograded (a malformed file has
    # none to show), each is flagged where rnngrade flagged it.
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from autograder.release import nbgrader_config

    config = nbgrader_config(course)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    subs = {s["student"]: s for s in api.get_submissions("fixture")}
    assert {s: subs[s]["autograded"] for s in students} == {s: k != "malformed" for s, k in students.items()}
    assert {s: subs[s]["score"] for s in students} == points
    notebooks = {s: api.get_student_notebook_submissions(s, "fixture")[0] for s in students}
    assert [notebooks[s]["score"] for s in students] == [points[s] for s in students]
    with api.gradebook as gb:  # formgrader lists a notebook it cannot show as unflagged
        flagged = {s: gb.find_submission_notebook("fixture", "fixture", s).flagged for s in students}
    assert flagged == {s: kind == "malformed" for s, kind in students.items()}

    # nbgrader generate_feedback runs on our autograded notebooks.
    proc = subprocess.run(["nbgrader", "generate_feedback", "fixture", "--log-level=ERROR"],
                          cwd=released_course, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for student, kind in students.items():
        assert (course.feedback_dir(student, "fixture") / "fixture.html").is_file() == (kind != "malformed")
