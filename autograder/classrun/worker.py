"""One grading job as plain data, and the function every worker runs on it.

A job payload is self-contained JSON-friendly data: the submission's notebooks and the
instructor's source notebooks travel as bytes, so a worker (a local process or a Dask
worker on another machine) needs only this package installed, never the course folder.
:func:`grade_payload` writes them into a private temporary directory, calls
:func:`autograder.grading.engine.grade_submission` on that throwaway copy, and returns the result
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
from autograder.limits import SandboxPolicy


class WorkerUnfit(RuntimeError):
    """This worker cannot grade the job as the client expects (no sandbox, other course code):
    the job must go to another worker, and nothing is recorded for the student.

    ``WorkerUnfit(message, worker)``: ``worker`` is the Dask worker's address, or "" outside Dask.
    """

    @property
    def worker(self) -> str:
        return self.args[1] if len(self.args) > 1 else ""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def build_payload(course: Course, sub: Submission, limits, sandbox, code: dict | None = None,
                  sources: dict | None = None, files: dict | None = None) -> dict:
    """The job for one submission: its top-level ``.ipynb`` files and the assignment's sources.

    limits, sandbox : the :class:`~autograder.limits.Limits` and the
        :class:`~autograder.limits.SandboxPolicy` (or a bool for its ``enabled``).
    code : :func:`autograder.classrun.preflight.code_fingerprints` of the client; a worker whose own
        copy differs refuses the job (:class:`WorkerUnfit`).
    sources : notebook name -> bytes of the source notebooks as graded (default: read from
        the source folder); :func:`autograder.reporting.gradebook.graded_sources` gives nbgrader's.
    files : relative path -> bytes placed beside the notebook (:mod:`autograder.nbconfig`).
    """
    notebooks = {}
    for rel in sub.files:
        if "/" not in rel and rel.endswith(".ipynb"):
            fd = os.open(sub.path / rel, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as fh:
                notebooks[rel] = fh.read()
    if sources is None:
        sources = {p.name: p.read_bytes() for p in sorted((course.source / sub.assignment).glob("*.ipynb"))}
    return {"assignment": sub.assignment, "student": sub.student, "notebooks": notebooks,
            "sources": sources, "limits": limits.to_dict(), "sandbox": SandboxPolicy.of(sandbox).to_dict(), "code": code,
            "files": dict(files or {})}


def retry_result(reason: str) -> dict:
    """What a job comes back as when the grading infrastructure failed (a lost worker or
    scheduler, a cancelled job, a worker unfit to grade): nothing is journaled or merged, and
    a plain rerun grades the submission."""
    return {"retry": reason}


_loaded_checks = None  # fingerprint of the checks this process imported


def _where() -> tuple:
    """(how to name this worker in a message, its Dask address or "")."""
    try:
        from distributed import get_worker

        address = get_worker().address
        return f"Dask worker {address}", address
    except (ImportError, ValueError):
        import socket

        return f"worker {socket.gethostname()}:{os.getpid()}", ""


def check_fit(payload: dict) -> None:
    """Raise :class:`WorkerUnfit` unless this worker has the client's course code and, when
    asked, a working sandbox; reload the hidden checks when they changed on disk since this
    process imported them (a long-lived worker would otherwise grade with the old ones)."""
    global _loaded_checks
    import sys

    from autograder.classrun import preflight
    from autograder.isolation import sandbox

    expected = payload.get("code")
    if expected:
        here = preflight.code_fingerprints()
        differ = sorted(k for k in expected if expected[k] != here.get(k))
        if differ:
            name, address = _where()
            raise WorkerUnfit(f"{name} has other {' and '.join(differ)} code than the client: reinstall the "
                              "course package on it and restart it", address)
        if _loaded_checks is not None and _loaded_checks != here["checks"]:
            for name in [m for m in sys.modules if m.startswith("autograder.checks.") and m != "autograder.checks.base"]:
                del sys.modules[name]
            from autograder.grading import engine

            engine._source_cache.clear()
        _loaded_checks = here["checks"]
    if SandboxPolicy.of(payload.get("sandbox", False)).enabled:
        ok, why = sandbox.available()
        if not ok:
            name, address = _where()
            raise WorkerUnfit(f"{name} cannot start the sandbox: {why}", address)


def _empty_result(assignment: str, student: str, status: str, reason: str) -> dict:
    """A result with no grades, as JSON (a GradeResult's own fields, nothing spelled by hand)."""
    from autograder.grades import GradeResult

    return GradeResult(assignment, student, status, reasons=[reason]).to_dict()


def lost_result(assignment: str, student: str, status: str, reason: str) -> dict:
    """The record part for a job whose worker died or overran (no result came back)."""
    return {"result": _empty_result(assignment, student, status, reason), "autograded_notebooks": {}}


def grade_payload(payload: dict) -> dict:
    """Grade one job (see the module docstring); returns ``{"result", "autograded_notebooks"}``."""
    from autograder.grading.engine import grade_submission
    from autograder.grades import GradeJob
    from autograder.limits import Limits

    started = time.monotonic()
    check_fit(payload)  # WorkerUnfit: the client sends the job elsewhere
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
                       submission=submitted, source=tmp / "source", output_dir=tmp / "autograded",
                       files=payload.get("files") or {})
        try:
            policy = SandboxPolicy.of(payload["sandbox"])
            result = grade_submission(job, Limits.from_dict(payload["limits"]), policy)
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
