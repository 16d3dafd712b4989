"""Run one notebook in a (sandboxed) kernel under limits: ``run_notebook(...) -> NotebookRun``.

The kernel's whole lifecycle lives here, behind that one entry:

1. :func:`autograder.isolation.sandbox.prepare` writes the job (kernelspec, cgroup, case inputs);
2. a :class:`Kernel` is started and :class:`autograder.grading.executor.Executor` runs each code cell
   under the cell's and the notebook's time limits;
3. a kernel that dies or hangs is stopped and, at most ``MAX_RESTARTS`` times, restarted with
   the finished non-test cells replayed, so later tests still run; a death is explained
   (memory limit, signal, exit status) by :func:`_death`;
4. the job is cleaned up whatever happened; nothing outlives it.

The caller gets back what happened (per-cell runs, status, reasons, flags, timings) and never
sees a kernel.
"""

from __future__ import annotations

import copy
import logging
import queue
import signal
import subprocess
import time
import traceback
from dataclasses import dataclass, field

import nbformat
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

from autograder.isolation import sandbox as sandboxes
from autograder.isolation.cgroup import JobCgroup
from autograder.isolation.watchdog import stop_then_kill
from autograder.grading.executor import CellRun, Executor
from autograder.grades import worst
from autograder.limits import Limits, SandboxPolicy

log = logging.getLogger(__name__)
MAX_RESTARTS = 3
_SETUP = "import autograder.runtime"   # binds the runtime's display before any student code


@dataclass
class NotebookRun:
    """What happened to one notebook.

    runs : cell index -> :class:`CellRun`, for every non-empty code cell.
    status : "graded", "timeout" or "crashed" (the worst of what happened).
    reasons, flags : sentences for the result, the notebook's name in front of each reason.
    enforced : how the limits were enforced (from the sandbox's plan).
    kernel_start, execution : s spent starting kernels and running cells.
    parent_start : s spent starting this worker's warm parent (once per worker, with its first job).
    """

    runs: dict = field(default_factory=dict)
    status: str = "graded"
    reasons: list = field(default_factory=list)
    flags: list = field(default_factory=list)
    enforced: list = field(default_factory=list)
    kernel_start: float = 0.0
    execution: float = 0.0
    parent_start: float = 0.0


class Kernel:
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
            _wait_ready(self.km, self.kc, limits.startup_timeout)
            setup = self.kc.execute(_SETUP, silent=True, store_history=False)
            while self.kc.get_shell_msg(timeout=limits.startup_timeout)["parent_header"].get("msg_id") != setup:
                pass  # a late reply to one of the kernel_info requests
        except BaseException as exc:
            self.stop()
            if isinstance(exc, Exception):
                raise RuntimeError(f"the sandboxed kernel did not start ({exc}); its log ends: {self.log_tail()}") from exc
            raise
        self.executor = Executor(self.km, self.kc, limits,
                                 after_cell=_stray_killer(job, job.tree_root(self.km.provisioner.pid)))

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
                # Killed and reaped here, jupyter_client finds it dead at once instead of
                # polling every 0.1 s (the launcher's death stops a warm kernel's job too).
                proc = getattr(self.km.provisioner, "process", None)
                if proc is not None and proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=10)
                self.km.shutdown_kernel(now=True)
        except Exception:
            log.debug("kernel shutdown: %s", traceback.format_exc())
        if self.job.cgroup is not None:
            self.job.cgroup.kill_all()
        if getattr(self, "log", None) is not None:
            self.log.close()


def run_notebook(nb, name: str, data: bytes, cases: dict, limits: Limits,
                 sandbox: SandboxPolicy = SandboxPolicy(), files: dict | None = None) -> NotebookRun:
    """Run every non-empty code cell of ``nb`` in place (outputs are written into its cells).

    name, data : the notebook's file name and submitted bytes (the copy the kernel sees).
    cases : the JSON-ready hidden-check inputs; files : relative path -> bytes beside it.
    """
    job = sandboxes.prepare(name, data, cases, limits, sandbox=sandbox, files=files)
    session = _Session(nb, name, job, limits)
    try:
        session.start()
        for i in [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]:
            session.cell(i)
    finally:
        session.close()
    return session.out


class _Session:
    """The state of one notebook's run: its kernel, the restarts, the cells to replay."""

    def __init__(self, nb, name, job, limits):
        self.nb, self.name, self.job, self.limits = nb, name, job, limits
        self.out = NotebookRun(enforced=list(job.enforced), parent_start=job.parent_start)
        self.kernel, self.executed, self.restarts, self.stopped_by = None, [], 0, ""
        self.deadline = None

    def start(self):
        t = time.monotonic()
        try:
            self.kernel = Kernel(self.job, self.limits)
        finally:
            self.out.kernel_start += time.monotonic() - t
        self.deadline = time.monotonic() + self.limits.notebook_timeout

    def skip(self, i, note):
        self.out.runs[i] = CellRun(i, "skipped", note=f"not run: {note}")

    def cell(self, i):
        limits, out = self.limits, self.out
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.skip(i, f"the notebook's {limits.notebook_timeout:g} s time budget ran out")
            out.status = worst([out.status, "timeout"])
            return
        if self.kernel is None and not self.restart(i):
            return
        cell = self.nb.cells[i]
        timeout = min(limits.cell_timeout, remaining)
        run = self.kernel.executor.run_cell(cell, i, timeout, notebook_deadline=self.deadline)
        out.execution += run.seconds
        out.runs[i] = run
        if run.status in ("timeout", "hung"):
            out.status = worst([out.status, "timeout"])
            if timeout < limits.cell_timeout:
                run.note = f"the notebook's {limits.notebook_timeout:g} s time budget ran out during this cell"
            out.reasons.append(f"{self.name}: cell {i}{_label(cell)}: {run.note}")
        if run.status in ("dead", "hung"):
            self.stopped(i, cell, run)
        else:
            self.executed.append(i)

    def stopped(self, i, cell, run):
        """The kernel died or hung in cell ``i``: explain, stop it, mark the cell."""
        if run.status == "dead":
            run.note = _death(self.kernel, self.job, self.limits)
            self.out.status = worst([self.out.status, "crashed"])
            self.out.reasons.append(f"{self.name}: cell {i}{_label(cell)}: {run.note}")
        self.stopped_by = f"the kernel stopped in cell {i}"
        self.kernel.stop()
        self.kernel = None
        cell.outputs.append(nbformat.v4.new_output("error", ename="KernelDied", evalue=run.note,
                                                   traceback=[f"KernelDied: {run.note}"]))
        if run.status == "dead" and self.restarts < MAX_RESTARTS:
            self.out.reasons.append(f"{self.name}: the kernel was restarted and the cells before cell {i} replayed")

    def restart(self, i) -> bool:
        """A fresh kernel with the finished cells replayed; False (cell ``i`` skipped) if none."""
        if self.restarts >= MAX_RESTARTS:
            more = ("" if "restart failed" in self.stopped_by
                    else f", and the kernel was restarted {MAX_RESTARTS} times already")
            self.skip(i, f"{self.stopped_by}{more}")
            return False
        self.restarts += 1
        t = time.monotonic()
        try:
            self.kernel = Kernel(self.job, self.limits)
        except RuntimeError as exc:  # keep the cells graded so far
            self.restarts = MAX_RESTARTS
            self.stopped_by += f", and the restart failed: {exc}"
            self.skip(i, self.stopped_by)
            return False
        finally:
            self.out.kernel_start += time.monotonic() - t
        failed_at = self.replay()
        if failed_at is not None:
            # Replaying deterministic cells would fail the same way again: stop here
            # rather than spend the notebook's budget on more restarts.
            self.restarts = MAX_RESTARTS
            self.stopped_by += (f", and the kernel stopped again while cell {failed_at} was replayed "
                                "after the restart, so no later cell was run")
            self.out.reasons.append(f"{self.name}: {self.stopped_by}")
            self.skip(i, self.stopped_by)
            return False
        return True

    def replay(self):
        """Re-run the finished non-test cells on the fresh kernel (their outputs are discarded);
        None, or the index of the cell during which the kernel stopped again."""
        for j in self.executed:
            meta = self.nb.cells[j].metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                continue
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                break
            run = self.kernel.executor.run_cell(copy.deepcopy(self.nb.cells[j]), j,
                                                min(self.limits.cell_timeout, remaining))
            self.out.execution += run.seconds
            if run.status in ("dead", "hung"):
                self.kernel.stop()
                self.kernel = None
                return j
        return None

    def close(self):
        if self.kernel is not None:
            self.kernel.stop()
        leftover = self.job.cgroup.pids() if self.job.cgroup is not None else set()
        self.job.cleanup()
        if leftover:
            self.out.flags.append(f"{len(leftover)} processes outlived the kernel and were killed")


def _stray_killer(job, root_pid: int):
    """What kills the processes a cell leaves behind, called after every cell.

    In a cgroup, the job's processes are its members: the ones present once the kernel is
    ready (the launcher or job process, the namespace's init, the kernel) are kept, any
    other is a stray. One file read, where walking /proc reads a file per process of the
    machine. Elsewhere, the kernel's process tree is walked (sandbox.kill_strays).
    """
    group = job.cgroup
    if isinstance(group, JobCgroup):
        keep = group.pids()
        if root_pid in keep:
            return lambda: stop_then_kill(lambda: sorted(group.pids() - keep))
    return lambda: sandboxes.kill_strays(root_pid, job.sandboxed)


def _wait_ready(km, kc, timeout: float) -> None:
    """Wait until the kernel answers kernel_info on the shell channel *and* its iopub reaches
    us (its status message for that request: a late subscription loses a cell's first
    outputs). jupyter_client's wait_for_ready does the same with 1 s and 0.2 s waits between
    tries; a warm kernel is ready within milliseconds, so these waits are short."""
    deadline, asked = time.monotonic() + timeout, set()
    while True:
        asked.add(kc.kernel_info())
        try:
            reply = kc.get_shell_msg(timeout=max(0.01, min(0.5, deadline - time.monotonic())))
        except queue.Empty:
            reply = None
        if reply is not None and reply["parent_header"].get("msg_id") in asked:
            try:
                while True:
                    if kc.get_iopub_msg(timeout=0.02)["parent_header"].get("msg_id") in asked:
                        return
            except queue.Empty:
                pass  # iopub missed them: not subscribed yet, ask again
        if not km.is_alive():
            raise RuntimeError("Kernel died before replying to kernel_info")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")


def _label(cell) -> str:
    gid = cell.metadata.get("nbgrader", {}).get("grade_id")
    return f" ({gid})" if gid else ""


def _death(kernel, job, limits) -> str:
    from autograder.isolation.enforcement import memory_death  # whichever mechanism stopped it (cgroup, scope, watchdog)

    why = memory_death(job, getattr(kernel.km.provisioner, "pid", None), kernel.oom_kills_at_start, limits,
                       kernel.exit_code())
    if why:
        return why
    code = kernel.exit_code()
    detail = ""
    if code is not None and code > 128:
        try:
            detail = f" (signal {signal.Signals(code - 128).name})"
        except ValueError:
            detail = f" (exit status {code})"
    elif code is not None:
        detail = f" (exit status {code})"
    return f"the kernel died{detail}: the code exited the process or crashed it (os._exit, a segfault, a kill)"
