"""rnngrade grades the six course assignments: a solution gets every autograded point, the
student version as released gets none, and the feedback a student gets shows no hidden test.

Runs the real command-line tool (`rnngrade release`, `grade`, `export`, `feedback`) inside the
real sandbox on a throwaway copy of the course.
"""

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.isolation.sandbox import available

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENTS = sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())
RNNGRADE = [sys.executable, "-m", "autograder.cli"]

pytestmark = pytest.mark.slow


def _rnngrade(*args, course):
    done = subprocess.run([*RNNGRADE, *args, "--course", str(course)], capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, f"rnngrade {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _autograded_points(notebook: Path) -> float:
    nb = nbformat.read(notebook, as_version=4)
    return sum(c.metadata.get("nbgrader", {}).get("points", 0) for c in nb.cells
               if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code")


def _filled_release(release: Path, source: Path) -> nbformat.NotebookNode:
    """The student version with every answer cell filled in from the solution, as a student
    who solved everything would submit it."""
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source
               for c in nbformat.read(source, as_version=4).cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(release, as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = answers[meta["grade_id"]]
    return nb


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    ok, reason = available()
    if not ok:
        pytest.fail(f"bubblewrap cannot start here: {reason}")
    course = tmp_path_factory.mktemp("course")
    shutil.copy(REPO / "nbgrader_config.py", course)
    shutil.copytree(REPO / "solutions", course / "solutions")
    _rnngrade("release", "--all", course=course)
    for name in ASSIGNMENTS:
        release = course / "exercises" / name / f"{name}.ipynb"
        for student in ("full", "blank"):
            (course / "submitted" / student / name).mkdir(parents=True)
        shutil.copy(release, course / "submitted" / "blank" / name)
        nbformat.write(_filled_release(release, course / "solutions" / name / f"{name}.ipynb"),
                       course / "submitted" / "full" / name / f"{name}.ipynb")
        _rnngrade("grade", name, "--no-progress", course=course)
        _rnngrade("feedback", name, course=course)
    _rnngrade("export", "--out", str(course), course=course)
    return course


def _grades(course):
    rows = {}
    for row in csv.DictReader((course / "grades.csv").open()):
        rows[(row["student"], row["assignment"])] = row
    return rows


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_full_marks_release_zero(graded_course, name):
    rows = _grades(graded_course)
    max_auto = _autograded_points(REPO / "solutions" / name / f"{name}.ipynb")
    assert max_auto > 0
    full, blank = rows[("full", name)], rows[("blank", name)]
    assert full["status"] == "graded", full
    assert float(full["points"]) == pytest.approx(max_auto), full
    assert float(blank["points"]) == 0.0, blank


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_feedback_hides_hidden_tests(graded_course, name):
    pages = list((graded_course / "feedback" / "blank" / name).glob("*.html"))
    assert pages, "no feedback page written"
    html = pages[0].read_text()
    assert "hidden_check" not in html and "BEGIN HIDDEN TESTS" not in html
    # Every autograded test is listed by name, with its points.
    nb = nbformat.read(REPO / "solutions" / name / f"{name}.ipynb", as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            assert meta["grade_id"] in html
