"""Grade one submission safely: ``grade_submission(job, limits, sandbox) -> GradeResult``.

The steps, each a small module:

1. :mod:`autograder.grading.validate` reads the file (empty, not JSON, not a notebook -> "malformed");
2. :mod:`autograder.grading.restore` rebuilds it around the source notebook's cells (nothing of the
   source's graded cells -> "wrong-assignment"; edited, deleted, moved, duplicated test
   cells or changed metadata -> "tampered", restored so honest code keeps its points);
3. :mod:`autograder.grading.shortcuts` finds uses of rnnlab's reference implementations;
4. :func:`autograder.grading.kernel.run_notebook` runs it in a kernel under the :class:`Limits` and
   the :class:`SandboxPolicy` (restarts and replays included: "crashed" / "timeout") and
   returns what happened;
5. :mod:`autograder.grading.scoring` turns the raw hidden-check results into points outside the
   kernel;
6. the autograded notebook is written to ``job.output_dir``.

Each step returns a value; :class:`NotebookGrade` collects one notebook's, and the result
is assembled from them at the end.

Nothing is raised for a bad submission; a bug in the grader gives status "error". No
nbgrader process is started: its preprocessor is used in-process and the gradebook is never
touched (the orchestrator merges the returned grades).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.isolation import sandbox as sandboxes
from autograder.checks.base import load_forbidden
from autograder.grades import CaseMessage, CellGrade, GradeJob, GradeResult, worst
from autograder.grading.kernel import run_notebook
from autograder.limits import Limits, SandboxPolicy
from autograder.grading.restore import load_source, restore
from autograder.runtime import case_to_wire
from autograder.grading.scoring import GraderFailure, cases_by_check, score_cell
from autograder.grading.shortcuts import scan_notebook
from autograder.grading.validate import read_submission

__all__ = ["GradeJob", "GradeResult", "Limits", "SandboxPolicy", "grade_submission"]

log = logging.getLogger(__name__)
_source_cache = {}


def grade_submission(job: GradeJob, limits: Limits = Limits(),
                     sandbox: SandboxPolicy | bool = True) -> GradeResult:
    """Grade one student's submission; never raises for anything the submission contains.

    sandbox : a :class:`SandboxPolicy`, or a bool for ``SandboxPolicy(enabled=...)``.
    """
    start = time.monotonic()
    result = GradeResult(job.assignment, job.student)
    result.timings = {"kernel_start": 0.0, "execution": 0.0, "parent_start": 0.0}
    try:
        _grade(job, limits, SandboxPolicy.of(sandbox), result)
    except GraderFailure as exc:  # the machinery failed in the kernel: a reason, never a score
        log.error("grading %s/%s: %s", job.assignment, job.student, exc)
        result.status = "error"
        result.reasons.append(f"grader failure, not graded: {exc}")
    except Exception as exc:
        log.error("grading %s/%s failed:\n%s", job.assignment, job.student, traceback.format_exc())
        result.status = "error"
        result.reasons.append(f"internal grader error: {type(exc).__name__}: {exc}")
    if result.status == "error":
        result.grades.clear()  # cells scored before the failure must not become a partial grade
    total = time.monotonic() - start
    result.timings["total"] = total
    # The warm parent starts once per worker, with its first job: a cost of the worker, shown apart.
    result.timings["overhead"] = (total - result.timings["execution"] - result.timings["kernel_start"]
                                  - result.timings["parent_start"])
    return result


def _source(path: Path):
    """The analysed source notebook and its cases, cached by content (workers get fresh copies)."""
    data = Path(path).read_bytes()
    key = (Path(path).name, hashlib.sha256(data).hexdigest())
    if key not in _source_cache:
        if len(_source_cache) >= 32:
            _source_cache.pop(next(iter(_source_cache)))
        source = load_source(path)
        _source_cache[key] = (source, cases_by_check(source))
    return _source_cache[key]


def _grade(job: GradeJob, limits: Limits, policy: SandboxPolicy, result: GradeResult):
    if policy.enabled:
        ok, why = sandboxes.available()
        if not ok:
            raise RuntimeError(f"{why} (grade with sandbox=False / --no-sandbox to skip the sandbox)")
    if not job.source:
        raise ValueError(f"no source notebook for assignment {job.assignment!r}")
    sources = [_source(p) for p in job.source]
    submitted = {p.name: p for p in job.submission}
    if len(sources) == 1 and len(submitted) == 1 and sources[0][0].name not in submitted:
        only = next(iter(submitted.values()))
        result.flags.append(f"the notebook was renamed ({only.name}, expected {sources[0][0].name})")
        submitted = {sources[0][0].name: only}
    statuses = []
    for source, checks in sources:
        graded = _grade_notebook(job, source, checks, submitted.get(source.name), limits, policy)
        prefix = f"{_stem(source.name)}/" if len(sources) > 1 else ""
        graded.add_to(result, prefix)
        statuses.append(graded.status)
    result.status = worst(statuses)


@dataclass
class NotebookGrade:
    """What grading one notebook of a submission gave; :meth:`add_to` puts it in the result."""

    name: str
    status: str = "graded"
    grades: dict = field(default_factory=dict)        # grade_id -> CellGrade
    reasons: list = field(default_factory=list)
    flags: list = field(default_factory=list)
    checksum: str | None = None
    autograded: str | None = None
    run: object = None                                # the kernel.NotebookRun, if it ran

    def add_to(self, result: GradeResult, prefix: str) -> None:
        if self.checksum:
            result.checksums[self.name] = self.checksum
        result.reasons += self.reasons
        result.flags += self.flags
        result.grades.update({prefix + gid: grade for gid, grade in self.grades.items()})
        if self.run is not None:
            result.enforced = list(self.run.enforced)
            result.timings["kernel_start"] += self.run.kernel_start
            result.timings["execution"] += self.run.execution
            result.timings["parent_start"] += self.run.parent_start
        if self.autograded is not None:
            result.autograded[self.name] = self.autograded


def _grade_notebook(job, source, checks, path, limits, policy) -> NotebookGrade:
    """The steps for one notebook: validate, restore, scan for shortcuts, run, score, write."""
    if path is None:
        return _refused(source, "missing", f"{source.name} was not submitted")
    sub = read_submission(path, limits.max_notebook_bytes)
    if sub.status is not None:
        return _refused(source, sub.status, sub.reason, checksum=sub.checksum,
                        reason=f"{source.name}: {sub.reason}")
    restored = restore(source, sub.nb)
    why = _not_this_assignment(job, source, sub, restored) or _files_problem(job, source, limits)
    if why:
        return _refused(source, *why, checksum=sub.checksum)
    out = NotebookGrade(source.name, checksum=sub.checksum)
    if restored.tampered:
        out.status = "tampered"
        out.reasons += [f"{source.name}: {r}" for r in restored.tampered]
    out.flags += [f"{source.name}: {f}" for f in restored.flags]
    charged, found = _shortcuts(job, source, checks, restored.nb)
    out.flags += found
    out.run = run_notebook(restored.nb, source.name, sub.data, _wire_cases(job, checks), limits,
                           policy, job.files)
    out.reasons += out.run.reasons
    out.flags += out.run.flags
    out.grades, tampered = _score(source, checks, charged, restored.nb, out.run.runs)
    if tampered:
        out.reasons += [f"{source.name}: {t}" for t in tampered]
        out.status = "tampered"
    if job.output_dir is not None:
        out.autograded = _write_autograded(job.output_dir, source.name, restored.nb)
    out.status = worst([out.status, out.run.status])
    return out


def _refused(source, status, why, checksum=None, reason=None) -> NotebookGrade:
    """Every test of ``source`` at 0 points with ``why``; ``reason`` (default ``why``) for the result."""
    out = NotebookGrade(source.name, status, reasons=[reason or why], checksum=checksum)
    for test in source.tests:
        grade = CellGrade(source.name, test.grade_id, 0.0, test.points, "not-run")
        grade.messages.append(CaseMessage("notebook", False, why))
        out.grades[test.grade_id] = grade
    return out


def _not_this_assignment(job, source, sub, restored) -> tuple | None:
    """("wrong-assignment", why) when none of the source's graded cells is in the submission."""
    # A source without graded cells (nbgrader's side-effect and infinite-loop notebooks) cannot
    # be recognised by its cells: nbgrader runs it, and so do we.
    if restored.matched != 0 or not source.cells:
        return None
    ids = sorted({c.get("metadata", {}).get("nbgrader", {}).get("grade_id", "") for c in sub.nb.cells} - {""})
    why = (f"{source.name} does not look like assignment {job.assignment!r}: none of its graded cells "
           f"({', '.join(c.grade_id for c in source.cells[:4])}, ...) are in the submission"
           + (f", which has {', '.join(ids[:4])}" if ids else ""))
    return "wrong-assignment", why


def _files_problem(job, source, limits) -> tuple | None:
    """("malformed", why) when the files beside the notebook cannot go into the sandbox."""
    try:
        sandboxes.check_files(job.files, source.name, limits)
    except ValueError as exc:  # a student's oversized data file: a reason and no points, not a crash
        return "malformed", f"{source.name} was not run: {exc}"
    return None


def _shortcuts(job, source, checks, nb) -> tuple[dict, list]:
    """(graded function -> the message charging it, flags) for uses of rnnlab's references."""
    graded = {case.func for _, cases in checks.values() for case in cases}
    trusted = [c.cell.source for c in source.cells if c.kind in ("test", "locked")]
    charged, flags = {}, []
    for finding in scan_notebook(nb, graded, load_forbidden(job.assignment), trusted_sources=trusted):
        flags.append(f"{source.name}: cell {finding.cell}, line {finding.line}: {finding.message}")
        for func in finding.functions:
            charged.setdefault(func, finding.message)
    return charged, flags


_wire_cache = {}   # id(checks) -> (checks, wire): the cases of a cached source are encoded once


def _wire_cases(job, checks) -> dict:
    """The hidden checks' inputs as the runtime reads them inside the kernel."""
    cached = _wire_cache.get(id(checks))
    if cached is None or cached[0] is not checks:
        if len(_wire_cache) >= 32:
            _wire_cache.pop(next(iter(_wire_cache)))
        wire = {cid: [case_to_wire(c) for c in cases] for (_, cid), (_, cases) in checks.items()}
        cached = _wire_cache[id(checks)] = (checks, wire)
    return {"assignment": job.assignment, "checks": cached[1]}


def _score(source, checks, charged, nb, runs) -> tuple[dict, list]:
    """(grade_id -> CellGrade, reasons the results were tampered with) for every test cell."""
    tampered, grades = [], {}
    index = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(nb.cells)
             if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata.get("nbgrader", {}).get("solution")}
    for test in source.tests:
        at = index.get(test.grade_id)
        outputs = nb.cells[at].get("outputs", []) if at is not None else []
        grade = score_cell(test, runs.get(at), checks, charged, tampered, outputs)
        grade.notebook = source.name
        grades[test.grade_id] = grade
    return grades, tampered


def _stem(name: str) -> str:
    return name[:-6] if name.endswith(".ipynb") else name


def _write_autograded(output_dir: Path, name: str, nb) -> str:
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / name
    tmp = output_dir / f".{name}.tmp"
    # nbformat.write would validate the whole notebook against the schema again (a twentieth of
    # a second): its cells were rebuilt valid by restore and each output validated as it came.
    tmp.write_text(nbformat.v4.writes(nb), encoding="utf-8")
    os.replace(tmp, path)
    return str(path)
