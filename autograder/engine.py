"""Grade one submission safely: ``grade_submission(job, limits, sandbox=True) -> GradeResult``.

The steps, each a small module:

1. :mod:`autograder.validate` reads the file (empty, not JSON, not a notebook -> "malformed");
2. :mod:`autograder.restore` rebuilds it around the source notebook's cells (nothing of the
   source's graded cells -> "wrong-assignment"; edited, deleted, moved, duplicated test
   cells or changed metadata -> "tampered", restored so honest code keeps its points);
3. :mod:`autograder.shortcuts` finds uses of rnnlab's reference implementations;
4. :mod:`autograder.sandbox` starts a kernel in bubblewrap under the :class:`Limits`,
   :mod:`autograder.executor` runs the cells (per-cell and whole-notebook time, output caps);
   a kernel that dies or hangs is restarted and the finished non-test cells are replayed, so
   later tests still run ("crashed" / "timeout", at most ``MAX_RESTARTS`` times);
5. :mod:`autograder.scoring` turns the raw hidden-check results into points outside the
   kernel.

Nothing is raised for a bad submission; a bug in the grader gives status "error". No
nbgrader process is started: its preprocessor is used in-process and the gradebook is never
touched (the orchestrator merges the returned grades).
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import subprocess
import time
import traceback
from pathlib import Path

import nbformat
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

from autograder import sandbox as sandboxes
from autograder.checks.base import load_forbidden
from autograder.executor import CellRun, Executor
from autograder.grades import CellGrade, GradeJob, GradeResult, worst
from autograder.limits import Limits
from autograder.restore import load_source, restore
from autograder.runtime import case_to_wire
from autograder.scoring import GraderFailure, cases_by_check, score_cell
from autograder.shortcuts import scan_notebook
from autograder.validate import read_submission

__all__ = ["GradeJob", "GradeResult", "Limits", "grade_submission"]

log = logging.getLogger(__name__)
MAX_RESTARTS = 3
_SETUP = "import autograder.runtime"   # binds the runtime's display before any student code
_source_cache = {}


def grade_submission(job: GradeJob, limits: Limits = Limits(), sandbox: bool = True) -> GradeResult:
    """Grade one student's submission; never raises for anything the submission contains."""
    start = time.monotonic()
    result = GradeResult(job.assignment, job.student)
    result.timings = {"kernel_start": 0.0, "execution": 0.0}
    try:
        _grade(job, limits, sandbox, result)
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
    result.timings["overhead"] = total - result.timings["execution"] - result.timings["kernel_start"]
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


def _grade(job: GradeJob, limits: Limits, sandbox: bool, result: GradeResult):
    if sandbox:
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
        prefix = f"{source.name[:-6] if source.name.endswith('.ipynb') else source.name}/" if len(sources) > 1 else ""
        path = submitted.get(source.name)
        status = _grade_notebook(job, source, checks, path, limits, sandbox, result, prefix)
        statuses.append(status)
    result.status = worst(statuses)


def _zero(result, source, prefix, status, why):
    for test in source.tests:
        grade = CellGrade(source.name, test.grade_id, 0.0, test.points, "not-run")
        grade.messages.append(_msg("notebook", False, why))
        result.grades[prefix + test.grade_id] = grade


def _msg(name, passed, message):
    from autograder.grades import CaseMessage

    return CaseMessage(name, passed, message)


def _grade_notebook(job, source, checks, path, limits, sandbox, result, prefix) -> str:
    if path is None:
        why = f"{source.name} was not submitted"
        result.reasons.append(why)
        _zero(result, source, prefix, "missing", why)
        return "missing"
    sub = read_submission(path, limits.max_notebook_bytes)
    if sub.checksum:
        result.checksums[source.name] = sub.checksum
    if sub.status is not None:
        result.reasons.append(f"{source.name}: {sub.reason}")
        _zero(result, source, prefix, sub.status, sub.reason)
        return sub.status
    restored = restore(source, sub.nb)
    # A source without graded cells (nbgrader's side-effect and infinite-loop notebooks) cannot
    # be recognised by its cells: nbgrader runs it, and so do we.
    if restored.matched == 0 and source.cells:
        ids = sorted({c.get("metadata", {}).get("nbgrader", {}).get("grade_id", "") for c in sub.nb.cells} - {""})
        why = (f"{source.name} does not look like assignment {job.assignment!r}: none of its graded cells "
               f"({', '.join(c.grade_id for c in source.cells[:4])}, ...) are in the submission"
               + (f", which has {', '.join(ids[:4])}" if ids else ""))
        result.reasons.append(why)
        _zero(result, source, prefix, "wrong-assignment", why)
        return "wrong-assignment"
    status = "graded"
    if restored.tampered:
        status = "tampered"
        result.reasons += [f"{source.name}: {r}" for r in restored.tampered]
    result.flags += [f"{source.name}: {f}" for f in restored.flags]

    try:
        sandboxes.check_files(job.files, source.name, limits)
    except ValueError as exc:  # a student's oversized data file: a reason and no points, not a crash
        why = f"{source.name} was not run: {exc}"
        result.reasons.append(why)
        _zero(result, source, prefix, "malformed", why)
        return "malformed"
    charged = _shortcuts(job, source, checks, restored.nb, result)
    cases = {"assignment": job.assignment,
             "checks": {cid: [case_to_wire(c) for c in cases] for (_, cid), (_, cases) in checks.items()}}
    runs, run_status = _execute(restored.nb, source.name, sub.data, cases, limits, sandbox, result, job.files)
    tampered = []
    index = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(restored.nb.cells)
             if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata.get("nbgrader", {}).get("solution")}
    for test in source.tests:
        at = index.get(test.grade_id)
        outputs = restored.nb.cells[at].get("outputs", []) if at is not None else []
        grade = score_cell(test, runs.get(at), checks, charged, tampered, outputs)
        grade.notebook = source.name
        result.grades[prefix + test.grade_id] = grade
    if tampered:
        result.reasons += [f"{source.name}: {t}" for t in tampered]
        status = "tampered"
    if job.output_dir is not None:
        result.autograded[source.name] = _write_autograded(job.output_dir, source.name, restored.nb)
    return worst([status, run_status])


def _shortcuts(job, source, checks, nb, result) -> dict:
    graded = {case.func for _, cases in checks.values() for case in cases}
    trusted = [c.cell.source for c in source.cells if c.kind in ("test", "locked")]
    charged = {}
    for finding in scan_notebook(nb, graded, load_forbidden(job.assignment), trusted_sources=trusted):
        result.flags.append(f"{source.name}: cell {finding.cell}, line {finding.line}: {finding.message}")
        for func in finding.functions:
            charged.setdefault(func, finding.message)
    return charged


class _Kernel:
    """A started (sandboxed) kernel and its client; :meth:`stop` leaves nothing running."""

    def __init__(self, job: sandboxes.KernelJob, limits: Limits):
        self.job = job
        job.fresh_run_dir()
        self.oom_kills_at_start = job.cgroup.oom_kills() if job.cgroup is not None else 0
        ksm = KernelSpecManager(kernel_dirs=job.kernel_dirs)
        self.km = KernelManager(kernel_name=job.kernel_name, kernel_spec_manager=ksm, transport="ipc",
                                ip=job.ipc_prefix, connection_file=job.connection_file)
        self.kc = self.log = None
        try:
            # The kernel's own stdout/stderr (bwrap errors, ipykernel banners) go to a log file.
            self.log = open(job.root / "kernel.log", "ab")
            self.km.start_kernel(cwd=job.cwd, stdout=subprocess.DEVNULL, stderr=self.log)
            self.kc = self.km.client()
            self.kc.start_channels()
            self.kc.wait_for_ready(timeout=limits.startup_timeout)
            self.kc.execute(_SETUP, silent=True, store_history=False)
            self.kc.get_shell_msg(timeout=limits.startup_timeout)
        except BaseException as exc:
            self.stop()
            if isinstance(exc, Exception):
                raise RuntimeError(f"the sandboxed kernel did not start ({exc}); its log ends: {self.log_tail()}") from exc
            raise
        pid = self.km.provisioner.pid
        self.executor = Executor(self.km, self.kc, limits,
                                 after_cell=lambda: sandboxes.kill_strays(pid, job.sandboxed))

    def log_tail(self, n=500) -> str:
        try:
            return (self.job.root / "kernel.log").read_bytes()[-n:].decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def exit_code(self):
        proc = getattr(self.km.provisioner, "process", None)
        return proc.poll() if proc is not None else None

    def stop(self):
        if self.kc is not None:
            self.kc.stop_channels()
        try:
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=True)
        except Exception:
            log.debug("kernel shutdown: %s", traceback.format_exc())
        if self.job.cgroup is not None:
            self.job.cgroup.kill_all()
        if getattr(self, "log", None) is not None:
            self.log.close()


def _execute(nb, name, data, cases, limits, sandbox, result, files=None):
    """Run every code cell of ``nb`` in place; return ({cell index: CellRun}, status)."""
    job = sandboxes.prepare(name, data, cases, limits, sandbox=sandbox, files=files)
    result.enforced = list(job.enforced)
    runs, executed, restarts, status = {}, [], 0, "graded"
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
    kernel, stopped_by = None, ""
    deadline = None
    try:
        t = time.monotonic()
        kernel = _Kernel(job, limits)
        result.timings["kernel_start"] += time.monotonic() - t
        deadline = time.monotonic() + limits.notebook_timeout
        for i in code:
            cell = nb.cells[i]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                runs[i] = CellRun(i, "skipped", note=f"not run: the notebook's {limits.notebook_timeout:g} s time budget ran out")
                status = worst([status, "timeout"])
                continue
            if kernel is None:
                if restarts >= MAX_RESTARTS:
                    more = "" if "restart failed" in stopped_by else f", and the kernel was restarted {MAX_RESTARTS} times already"
                    runs[i] = CellRun(i, "skipped", note=f"not run: {stopped_by}{more}")
                    continue
                restarts += 1
                t = time.monotonic()
                try:
                    kernel = _Kernel(job, limits)
                except RuntimeError as exc:  # keep the cells graded so far
                    restarts = MAX_RESTARTS
                    stopped_by += f", and the restart failed: {exc}"
                    runs[i] = CellRun(i, "skipped", note=f"not run: {stopped_by}")
                    continue
                finally:
                    result.timings["kernel_start"] += time.monotonic() - t
                kernel, failed_at = _replay(kernel, nb, executed, deadline, limits, result)
                if kernel is None:
                    # Replaying deterministic cells would fail the same way again: stop here
                    # rather than spend the notebook's budget on more restarts.
                    restarts = MAX_RESTARTS
                    stopped_by += (f", and the kernel stopped again while cell {failed_at} was replayed "
                                   "after the restart, so no later cell was run")
                    result.reasons.append(f"{name}: {stopped_by}")
                    runs[i] = CellRun(i, "skipped", note=f"not run: {stopped_by}")
                    continue
            timeout = min(limits.cell_timeout, remaining)
            run = kernel.executor.run_cell(cell, i, timeout, notebook_deadline=deadline)
            result.timings["execution"] += run.seconds
            runs[i] = run
            if run.status in ("timeout", "hung"):
                status = worst([status, "timeout"])
                if timeout < limits.cell_timeout:
                    run.note = f"the notebook's {limits.notebook_timeout:g} s time budget ran out during this cell"
                result.reasons.append(f"{name}: cell {i}{_label(cell)}: {run.note}")
            if run.status in ("dead", "hung"):
                if run.status == "dead":
                    run.note = _death(kernel, job, limits)
                    status = worst([status, "crashed"])
                    result.reasons.append(f"{name}: cell {i}{_label(cell)}: {run.note}")
                stopped_by = f"the kernel stopped in cell {i}"
                kernel.stop()
                kernel = None
                cell.outputs.append(nbformat.v4.new_output("error", ename="KernelDied", evalue=run.note,
                                                           traceback=[f"KernelDied: {run.note}"]))
                if run.status == "dead" and restarts < MAX_RESTARTS:
                    result.reasons.append(f"{name}: the kernel was restarted and the cells before cell {i} replayed")
            else:
                executed.append(i)
    finally:
        if kernel is not None:
            kernel.stop()
        leftover = job.cgroup.pids() if job.cgroup is not None else set()
        job.cleanup()
        if leftover:
            result.flags.append(f"{len(leftover)} processes outlived the kernel and were killed")
    return runs, status


def _replay(kernel, nb, executed, deadline, limits, result):
    """Re-run the finished non-test cells on a fresh kernel (their outputs are discarded).

    Returns (kernel, None), or (None, index of the cell during which the kernel stopped again).
    """
    for j in executed:
        meta = nb.cells[j].metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        run = kernel.executor.run_cell(copy.deepcopy(nb.cells[j]), j, min(limits.cell_timeout, remaining))
        result.timings["execution"] += run.seconds
        if run.status in ("dead", "hung"):
            kernel.stop()
            return None, j
    return kernel, None


def _label(cell) -> str:
    gid = cell.metadata.get("nbgrader", {}).get("grade_id")
    return f" ({gid})" if gid else ""


def _death(kernel, job, limits) -> str:
    from autograder.enforcement import memory_death  # whichever mechanism stopped it (cgroup, scope, watchdog)

    why = memory_death(job, getattr(kernel.km.provisioner, "pid", None), kernel.oom_kills_at_start, limits,
                       kernel.exit_code())
    if why:
        return why
    code = kernel.exit_code()
    detail = ""
    if code is not None and code > 128:
        import signal

        try:
            detail = f" (signal {signal.Signals(code - 128).name})"
        except ValueError:
            detail = f" (exit status {code})"
    elif code is not None:
        detail = f" (exit status {code})"
    return f"the kernel died{detail}: the code exited the process or crashed it (os._exit, a segfault, a kill)"


def _write_autograded(output_dir: Path, name: str, nb) -> str:
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / name
    tmp = output_dir / f".{name}.tmp"
    nbformat.write(nb, str(tmp))
    os.replace(tmp, path)
    return str(path)
