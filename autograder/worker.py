"""One grading job as plain data, and the function every worker runs on it.

A job payload is self-contained JSON-friendly data: the submission's notebooks and the
instructor's source notebooks travel as bytes, so a worker (a local process or a Dask
worker on another machine) needs only this package installed, never the course folder.
:func:`grade_payload` writes them into a private temporary directory, calls
:func:`autograder.engine.grade_submission` on that throwaway copy, and returns the result
as a dict together with the autograded notebooks' text; the directory is then deleted.
Whatever happens inside, it returns a result: an exception in the engine becomes status
``error`` with the traceback's last line as the reason.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
import traceback
from pathlib import Path

from autograder.course import Course, Submission


def build_payload(course: Course, sub: Submission, limits, sandbox: bool) -> dict:
    """The job for one submission: its top-level ``.ipynb`` files and the assignment's sources."""
    notebooks = {}
    for rel in sub.files:
        if "/" not in rel and rel.endswith(".ipynb"):
            fd = os.open(sub.path / rel, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as fh:
                notebooks[rel] = fh.read()
    sources = {p.name: p.read_bytes() for p in sorted((course.source / sub.assignment).glob("*.ipynb"))}
    return {"assignment": sub.assignment, "student": sub.student, "notebooks": notebooks,
            "sources": sources, "limits": limits.to_dict(), "sandbox": bool(sandbox)}


def _empty_result(assignment: str, student: str, status: str, reason: str) -> dict:
    return {"assignment": assignment, "student": student, "status": status,
            "reasons": [reason], "grades": {}, "flags": [], "timings": {}, "autograded": {},
            "checksums": {}, "enforced": [], "points": 0.0, "max_points": 0.0}


def lost_result(assignment: str, student: str, status: str, reason: str) -> dict:
    """The record part for a job whose worker died or overran (no result came back)."""
    return {"result": _empty_result(assignment, student, status, reason), "autograded_notebooks": {}}


def grade_payload(payload: dict) -> dict:
    """Grade one job (see the module docstring); returns ``{"result", "autograded_notebooks"}``."""
    from autograder.engine import grade_submission
    from autograder.grades import GradeJob
    from autograder.limits import Limits

    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="rnngrade-job-"))
    try:
        (tmp / "submission").mkdir()
        (tmp / "source").mkdir()
        (tmp / "autograded").mkdir()
        submitted = []
        for name, data in payload["notebooks"].items():
            if "/" in name or name.startswith("."):
                continue  # cannot happen with build_payload; never trust a payload's paths
            (tmp / "submission" / name).write_bytes(data)
            submitted.append(tmp / "submission" / name)
        for name, data in payload["sources"].items():
            (tmp / "source" / Path(name).name).write_bytes(data)
        job = GradeJob(assignment=payload["assignment"], student=payload["student"],
                       submission=submitted, source=tmp / "source", output_dir=tmp / "autograded")
        try:
            result = grade_submission(job, Limits.from_dict(payload["limits"]), sandbox=payload["sandbox"])
            data = result.to_dict()
        except Exception as exc:  # the engine's own failure: record it, never stop the class
            last = traceback.format_exception_only(type(exc), exc)[-1].strip()
            data = _empty_result(payload["assignment"], payload["student"], "error",
                                 f"the grader failed on this submission: {last}")
        texts = {}
        for name, path in (data.get("autograded") or {}).items():
            path = Path(path)
            if path.is_file() and tmp in path.resolve().parents:
                texts[Path(name).stem if name.endswith(".ipynb") else name] = path.read_text(encoding="utf-8")
        data["autograded"] = {}  # paths in a deleted folder mean nothing to the caller
        data.setdefault("timings", {})["worker_total"] = time.monotonic() - started
        return {"result": data, "autograded_notebooks": texts}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
