"""Grading from another folder either grades correctly or refuses with the cause and the fix.

The two-clone case of issue 10: the course installed in one clone, `rnngrade grade` run from
inside a second clone (its own `autograder/` beside the submissions). Before, every hidden
check failed with `ModuleNotFoundError: No module named 'autograder'` in the sandbox and a
correct submission was scored 0/21 with status `graded`.
"""
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.classrun import preflight
from autograder.course import Course

REPO = Path(__file__).resolve().parents[2]
A1 = "a1_rnn_cell"
RNNGRADE = str(Path(sys.prefix) / "bin" / "rnngrade")


def _second_clone(root: Path) -> Path:
    """The files of this checkout a clone has (the course code and assignment a1)."""
    for name in ("autograder", "rnnlab"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for folder in ("solutions", "exercises"):
        shutil.copytree(REPO / folder / A1, root / folder / A1)
    shutil.copy(REPO / "nbgrader_config.py", root)
    return root


def _filled_release(root: Path) -> nbformat.NotebookNode:
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source
               for c in nbformat.read(root / "solutions" / A1 / f"{A1}.ipynb", as_version=4).cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(root / "exercises" / A1 / f"{A1}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = answers[cell.metadata["nbgrader"]["grade_id"]]
    return nb


# -- fast: the comparisons ----------------------------------------------------------------

def test_fingerprint_changes_with_content_and_skips_checks(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "checks").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "checks" / "c.py").write_text("y = 1\n")
    before = preflight.fingerprint(pkg, skip=("checks",))
    (pkg / "checks" / "c.py").write_text("y = 2\n")
    assert preflight.fingerprint(pkg, skip=("checks",)) == before
    assert preflight.fingerprint(pkg) != preflight.fingerprint(pkg, skip=("checks",))
    (pkg / "a.py").write_text("x = 2\n")
    assert preflight.fingerprint(pkg, skip=("checks",)) != before


def test_course_copy_at_the_same_version_passes_and_an_edited_check_is_refused(tmp_path):
    root = _second_clone(tmp_path / "clone")
    course = Course.from_root(root)
    preflight.check_course_copies(course, A1)  # the same code: nothing to say
    check = root / "autograder" / "checks" / f"{A1}.py"
    check.write_text(check.read_text() + "\n# edited by the instructor\n")
    with pytest.raises(preflight.PreflightError) as err:
        preflight.check_course_copies(course, A1)
    message = str(err.value)
    assert f"autograder/checks/{A1}.py" in message and "differ" in message
    assert f"{root}/.venv/bin/rnngrade" in message and f"pip install -e {root}" in message


def test_course_copy_with_other_rnnlab_is_refused(tmp_path):
    root = _second_clone(tmp_path / "clone")
    (root / "rnnlab" / "activations.py").write_text("# another version\n")
    with pytest.raises(preflight.PreflightError, match="rnnlab"):
        preflight.check_course_copies(Course.from_root(root), A1)


def test_neutral_course_folder_uses_the_installed_checks(tmp_path):
    root = tmp_path / "course"
    shutil.copytree(REPO / "solutions" / A1, root / "solutions" / A1)
    shutil.copy(REPO / "nbgrader_config.py", root)
    course = Course.from_root(root)
    preflight.check_course_copies(course, A1)
    assert preflight.check_sources(course, A1) in (True, False)


def test_source_calling_an_unknown_check_is_refused(tmp_path):
    root = tmp_path / "course"
    (root / "solutions" / "a9_unknown").mkdir(parents=True)
    text = (REPO / "solutions" / A1 / f"{A1}.ipynb").read_text()
    (root / "solutions" / "a9_unknown" / "a9_unknown.ipynb").write_text(text.replace(f'\\"{A1}\\"', '\\"a9_unknown\\"'))
    shutil.copy(REPO / "nbgrader_config.py", root)
    with pytest.raises(preflight.PreflightError, match="hidden checks cannot be loaded"):
        preflight.check_sources(Course.from_root(root), "a9_unknown")


@pytest.mark.parametrize("stdout, stderr, code, expected", [
    ("", "ModuleNotFoundError: No module named 'autograder'", 1, "cannot import what the hidden checks need"),
    ('{"autograder": "x", "rnnlab": "y", "paths": ["/elsewhere/autograder", "/elsewhere/rnnlab"]}', "", 0,
     "imports other copies"),
])
def test_kernel_check_refuses_a_kernel_without_the_same_runtime(monkeypatch, stdout, stderr, code, expected):
    import autograder.isolation.sandbox

    monkeypatch.setattr(autograder.isolation.sandbox, "run_python",
                        lambda *a, **k: subprocess.CompletedProcess([], code, stdout, stderr))
    monkeypatch.setattr(preflight, "_kernel_checked", {})
    with pytest.raises(preflight.PreflightError, match=expected):
        preflight.check_kernel(sandbox=True)


# -- slow: the whole journey from a second clone ------------------------------------------------

@pytest.mark.slow
def test_grading_from_inside_a_second_clone_grades_correctly_or_refuses(tmp_path):
    from autograder.isolation.sandbox import available

    ok, why = available()
    if not ok:
        pytest.fail(f"the sandbox cannot start here: {why}")
    root = _second_clone(tmp_path / "clone2")
    student = root / "submitted" / "alice" / A1
    student.mkdir(parents=True)
    nb = _filled_release(root)
    nbformat.write(nb, student / f"{A1}.ipynb")
    auto_points = sum(c.metadata["nbgrader"].get("points", 0) for c in nb.cells
                      if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code")

    done = subprocess.run([RNNGRADE, "grade", A1, "--no-progress"], cwd=root, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "status: graded 1" in done.stdout, done.stdout
    graded = nbformat.read(root / "autograded" / "alice" / A1 / f"{A1}.ipynb", as_version=4)
    import json

    record = json.loads((root / ".rnngrade" / A1 / "results" / "alice.json").read_text())
    result = record["result"]
    assert result["status"] == "graded"
    assert sum(g["points"] for g in result["grades"].values()) == auto_points
    assert not any("ModuleNotFoundError" in m["message"] for g in result["grades"].values() for m in g["messages"])
    assert graded.cells  # the autograded notebook was placed

    check = root / "autograder" / "checks" / f"{A1}.py"
    check.write_text(check.read_text() + "\n# edited in this clone only\n")
    refused = subprocess.run([RNNGRADE, "grade", A1, "--no-progress", "--force"], cwd=root,
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0
    assert f"autograder/checks/{A1}.py" in refused.stderr and "differ" in refused.stderr, refused.stderr
