"""The grading journal: one JSON file per submission, written atomically.

``.rnngrade/<assignment>/results/<student>.json`` holds the engine's result for one
submission together with the checksum of the files it graded and the merge state:

    {"student", "assignment", "checksum", "graded_at", "attempt_id",
     "merged": false | true, "result": {...GradeResult as JSON...}}

Every write goes to a temporary file in the same folder, is flushed and fsync'ed, then
renamed over the old one (rename is atomic on POSIX), and the folder is fsync'ed so the
rename itself survives a power cut. A reader therefore sees either the old record or the
new one, never half of one; a SIGKILL at any instant leaves at worst a stray ``*.tmp``
that the next run deletes. The journal is the source of truth for "what is graded": the
gradebook is rebuilt from it by an idempotent merge, so a crash between grading and
merging costs a merge, never a second grading.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

from autograder.course import Course
from autograder.grades import GradeResult


def atomic_write_text(path: Path, text: str, mode: int = 0o644, durable: bool = True) -> None:
    """Replace ``path`` by ``text`` so that readers see the old or the new file, never a mix.

    mode : permissions of the new file (mkstemp's 0600 would hide feedback from students).
    """
    atomic_write_bytes(path, text.encode("utf-8"), mode, durable)


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o644, durable: bool = True) -> None:
    """Write ``data`` to ``path`` atomically and durably: temp file, fsync, rename, fsync of the folder.

    Used for collected notebooks and, through :func:`atomic_write_text`, for journal records.
    durable : False skips the fsyncs (still atomic): for a write whose loss after a crash
        only costs repeating idempotent work.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if not durable:
        return
    # The rename is only durable once the folder's entry is on disk too.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@dataclass
class JournalRecord:
    """One journal record, parsed once: the engine's result as a :class:`GradeResult`.

    checksum : of the submission folder that was graded; graded_at : Unix time;
    attempt_id : of the grading attempt; merged : the gradebook holds its scores.
    """

    student: str
    assignment: str
    result: GradeResult
    checksum: str | None = None
    graded_at: float | None = None
    attempt_id: str | None = None
    merged: bool = False

    @classmethod
    def from_dict(cls, data: dict) -> "JournalRecord":
        res = dict(data.get("result") or {})
        res.setdefault("assignment", data.get("assignment", ""))
        res.setdefault("student", data.get("student", ""))
        known = {f.name for f in fields(GradeResult)} | {"points", "max_points"}
        result = GradeResult.from_dict({k: v for k, v in res.items() if k in known})
        return cls(data.get("student", result.student), data.get("assignment", result.assignment), result,
                   data.get("checksum"), data.get("graded_at"), data.get("attempt_id"),
                   bool(data.get("merged")))

    def to_dict(self) -> dict:
        return {"student": self.student, "assignment": self.assignment, "checksum": self.checksum,
                "graded_at": self.graded_at, "attempt_id": self.attempt_id, "merged": self.merged,
                "result": self.result.to_dict()}


class Journal:
    """Read and write the per-submission records of one assignment."""

    def __init__(self, course: Course, assignment: str):
        self.course = course
        self.assignment = assignment
        self.folder = course.state / assignment / "results"

    def path(self, student: str) -> Path:
        return self.folder / f"{student}.json"

    def clean_stale_temporaries(self) -> int:
        """Delete ``*.tmp`` files left by a killed run; returns how many there were."""
        if not self.folder.is_dir():
            return 0
        stale = list(self.folder.glob(".*.tmp"))
        for p in stale:
            p.unlink(missing_ok=True)
        return len(stale)

    def read(self, student: str) -> dict | None:
        """The record of ``student``, or None when there is none (or it is unreadable)."""
        try:
            return json.loads(self.path(student).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            # Cannot happen with atomic writes unless someone edited the file by hand:
            # treat it as missing so the submission is graded again.
            return None

    def write(self, record: dict, durable: bool = True) -> None:
        """Replace the student's record atomically (durably unless ``durable`` is False)."""
        # 0600: a record holds hidden-case messages and the graded notebook, for staff only.
        atomic_write_text(self.path(record["student"]),
                          json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False), mode=0o600,
                          durable=durable)

    def parsed(self) -> dict[str, JournalRecord]:
        """Every record of the assignment, parsed, by student."""
        return {student: JournalRecord.from_dict(rec) for student, rec in self.records().items()}

    def records(self) -> dict[str, dict]:
        """Every record of the assignment, by student."""
        out = {}
        if self.folder.is_dir():
            for p in sorted(self.folder.glob("*.json")):
                rec = self.read(p.stem)
                if rec is not None:
                    out[p.stem] = rec
        return out
