"""Shared fixtures of the orchestration tests: throwaway copies of the fixture course."""
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
FIXTURE_COURSE = FIXTURES / "course"


def make_course(root: Path) -> Path:
    """Copy the fixture course (sources only) and the repository's nbgrader config to ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(FIXTURE_COURSE / "solutions", root / "solutions")
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    return root


@pytest.fixture
def course_root(tmp_path) -> Path:
    return make_course(tmp_path / "course")
