"""rnngrade release: generate_assignment for every source folder, and --check for drift."""
import json

import pytest

from autograder import cli


def _snapshot(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_release_all_then_check_finds_drift_without_writing(course_root, capsys):
    assert cli.main(["release", "--all", "--course", str(course_root)]) == 0
    released = course_root / "exercises" / "fixture" / "fixture.ipynb"
    text = released.read_text()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text and "return a + b" not in text
    assert "raise NotImplementedError()" in text

    assert cli.main(["release", "--all", "--check", "--course", str(course_root)]) == 0
    assert "in sync" in capsys.readouterr().out

    nb = json.loads(text)
    nb["cells"][3]["source"] = "def add(a, b):\n    return a + b\n"  # a solution leaked into the release
    released.write_text(json.dumps(nb))
    (course_root / "exercises" / "fixture" / "notes.txt").write_text("stray")
    before = _snapshot(course_root)
    assert cli.main(["release", "--all", "--check", "--course", str(course_root)]) == 1
    out = capsys.readouterr().out
    assert "exercises/fixture/fixture.ipynb: differs" in out
    assert "exercises/fixture/notes.txt: extra" in out
    assert _snapshot(course_root) == before  # --check wrote nothing in the course


def test_release_needs_names_or_all(course_root, capsys):
    assert cli.main(["release", "--course", str(course_root)]) == 2
    assert "--all" in capsys.readouterr().err
