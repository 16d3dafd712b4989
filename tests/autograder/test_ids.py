"""Student ids from LMS file names must stay one harmless path component."""
import os
from pathlib import Path

import pytest

from autograder.ids import SAFE_ID, InvalidStudentId, sanitise


@pytest.mark.parametrize("raw", ["alice", "bob.smith", "s-123_x", "A1"])
def test_safe_ids_are_kept(raw):
    sid = sanitise(raw)
    assert sid.safe == raw and not sid.changed and sid.reason == ""


@pytest.mark.parametrize("raw", [
    "../../x", "..", ".", "/etc/passwd", "a/b", "a\\b", "José", "张伟", " alice", "alice\n",
    ".hidden", "x" * 80, "a b", "../" * 30 + "evil",
])
def test_unsafe_ids_become_one_safe_component_with_a_reason(raw, tmp_path):
    sid = sanitise(raw)
    assert sid.changed and sid.reason and sid.original == raw
    assert SAFE_ID.fullmatch(sid.safe)
    # Used as nbgrader would, the path stays two levels below the course root.
    path = Path(os.path.normpath(tmp_path / "submitted" / sid.safe / "a1"))
    assert path.parent.parent == tmp_path / "submitted"


def test_distinct_originals_never_collide():
    raws = ["José", "Jose\u0301", "jose", "../jose", "jose/", "JOSÉ"]
    safes = [sanitise(r).safe for r in raws]
    assert len(set(safes)) == len(raws), safes


def test_accents_are_folded_readably():
    assert sanitise("José").safe.startswith("Jose-")
    assert sanitise("../../x").safe.startswith("x-")
    assert sanitise("张伟").safe.startswith("student-")


@pytest.mark.parametrize("raw", ["", "   ", "\x00\x01", "x" * 300])
def test_ids_naming_nobody_are_refused(raw):
    with pytest.raises(InvalidStudentId, match="student id"):
        sanitise(raw)
