"""Shared fixtures of the orchestration tests: throwaway copies of the fixture course, and the
rule for tests that need the sandbox (``@pytest.mark.needs_sandbox``)."""
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
FIXTURE_COURSE = FIXTURES / "course"


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_sandbox: needs bubblewrap; skipped where it cannot start, "
                                       "a failure when the CI environment variable is set")


def under_ci() -> bool:
    """Whether the environment variable CI is set (GitHub Actions and GitLab set CI=true)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_sandbox(ok: bool, why: str) -> None:
    """Let a sandbox test run, skip it, or fail it.

    A skipped security test looks green: under CI a sandbox that cannot start must turn the
    run red, so that a green CI always means the sandbox and hostile-fixture tests ran.
    """
    if ok:
        return
    if under_ci():
        pytest.fail(f"the sandbox cannot start and CI is set, so this security test may not be "
                    f"skipped: {why}", pytrace=False)
    pytest.skip(f"the sandbox cannot start here: {why}")


def pytest_runtest_setup(item):
    if item.get_closest_marker("needs_sandbox") is not None:
        from autograder.isolation import sandbox

        require_sandbox(*sandbox.available())


def make_course(root: Path) -> Path:
    """Copy the fixture course (sources only) and the repository's nbgrader config to ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(FIXTURE_COURSE / "solutions", root / "solutions")
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    return root


@pytest.fixture
def course_root(tmp_path) -> Path:
    return make_course(tmp_path / "course")


@pytest.fixture(scope="session")
def released_template(tmp_path_factory) -> Path:
    """The fixture course after `rnngrade release --all` (exercises/ and gradebook.db), built once."""
    from autograder.course import Course
    from autograder.release import release_all

    root = make_course(tmp_path_factory.mktemp("template") / "course")
    release_all(Course.from_root(root))
    return root


@pytest.fixture
def released_course(released_template, tmp_path) -> Path:
    """A private copy of the released fixture course."""
    root = tmp_path / "course"
    shutil.copytree(released_template, root)
    return root


def gradebook_rows(root: Path) -> dict:
    """student -> {grade_id: auto_score} read with plain sqlite3, plus an integrity check."""
    con = sqlite3.connect(root / "gradebook.db")
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        dup = con.execute("SELECT student_id, assignment_id, COUNT(*) FROM submitted_assignment "
                          "GROUP BY student_id, assignment_id HAVING COUNT(*) > 1").fetchall()
        assert dup == [], f"duplicate submissions in the gradebook: {dup}"
        rows = con.execute(
            "SELECT sa.student_id, bc.name, g.auto_score FROM grade g "
            "JOIN submitted_notebook sn ON g.notebook_id = sn.id "
            "JOIN submitted_assignment sa ON sn.assignment_id = sa.id "
            "JOIN base_cell bc ON g.cell_id = bc.id").fetchall()
    finally:
        con.close()
    out = {}
    for student, grade_id, score in rows:
        assert grade_id not in out.setdefault(student, {}), f"{student} has {grade_id} twice"
        out[student][grade_id] = score
    return out


def journal_points(root: Path, assignment: str = "fixture") -> dict:
    """student -> {grade_id: points} from the journal records."""
    out = {}
    for path in (root / ".rnngrade" / assignment / "results").glob("*.json"):
        rec = json.loads(path.read_text())
        out[rec["student"]] = {g["grade_id"]: g["points"] for g in rec["result"]["grades"].values()}
    return out
