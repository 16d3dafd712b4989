"""Send grading jobs to an existing Dask cluster (``rnngrade grade --scheduler ADDRESS``).

Each job is the same self-contained payload the local pool uses (:mod:`autograder.classrun.worker`),
so Dask workers need this package and its dependencies installed (the same virtualenv
image), bubblewrap for the sandbox, and nothing of the course: no shared filesystem. Every
worker runs :func:`autograder.classrun.worker.grade_payload`, i.e. the same engine and sandbox as a
local run; results stream back to the main process, which alone journals them and writes
the gradebook. Start workers with one thread each (``dask worker ADDRESS --nthreads 1
--nworkers N``): a grading job is a kernel plus a watchdog, and two in one process would
share its environment.

A job whose worker dies is retried by the scheduler (its ``allowed-failures`` setting). A
failure of the cluster is never a student's result: when Dask gives up on a job, cancels it,
loses the scheduler, or a job runs past ``deadline_s`` on its worker, the job comes back as
:func:`~autograder.classrun.worker.retry_result` (nothing is journaled; a plain rerun grades it). A
worker that refuses a job (:class:`~autograder.classrun.worker.WorkerUnfit`: no sandbox, other course
code) is excluded and the job sent to the others.
"""
from __future__ import annotations

import time
import uuid

from autograder.classrun.worker import WorkerUnfit, grade_payload, retry_result


def _sandbox_here() -> tuple:
    from autograder.isolation import sandbox

    return sandbox.available()


def check_workers(client) -> None:
    """Refuse to start when a worker cannot run the sandbox, naming the worker and why."""
    answers = client.run(_sandbox_here)
    broken = {addr: why for addr, (ok, why) in answers.items() if not ok}
    if not answers:
        raise ValueError("the Dask cluster has no workers")
    if broken:
        lines = "; ".join(f"{addr}: {why}" for addr, why in sorted(broken.items()))
        raise ValueError(f"{len(broken)} of {len(answers)} Dask worker(s) cannot start the sandbox "
                         f"({lines}); fix them or grade with --no-sandbox")


def run_on_dask(scheduler: str, jobs, assignment: str, client=None, window: int | None = None,
                sandbox: bool = True, deadline_s: float | None = None):
    """Yield ``(student, result)`` as each job of ``jobs`` finishes on the cluster at ``scheduler``.

    jobs : iterable of ``(student, payload)``, consumed lazily: at most ``window`` jobs
        (default: four times the cluster's threads, at least 8) are on the cluster at once, so
        neither this process nor the scheduler holds a whole class of notebooks in memory.
    sandbox : check first that every worker can start the sandbox (ValueError if not).
    deadline_s : a job still running this long after it started on a worker is cancelled,
        its worker restarted, and the job returned as a retry.
    """
    from dask.distributed import Client

    own = client is None
    if own:
        client = Client(scheduler, timeout="30s")
    try:
        if sandbox:
            check_workers(client)
        if window is None:
            window = max(8, 4 * sum(client.nthreads().values()))
        yield from _Feeder(client, iter(jobs), window, deadline_s).results()
    finally:
        if own:
            client.close()


class _Feeder:
    """Keeps ``window`` jobs on the cluster and turns every failure of the cluster into a retry."""

    def __init__(self, client, source, window: int, deadline_s: float | None):
        self.client, self.source, self.window, self.deadline_s = client, source, window, deadline_s
        self.run = uuid.uuid4().hex[:8]
        self.meta = {}        # future key -> (student, payload, tries)
        self.pending = set()
        self.excluded = {}    # worker address -> why it refused a job
        self.started = {}     # future key -> monotonic time it was first seen processing
        self.lost = None      # why the scheduler is gone, once it is

    def submit(self, student, payload, tries=0) -> None:
        kwargs = {}
        if self.excluded:
            fit = [w for w in self.client.scheduler_info().get("workers", {}) if w not in self.excluded]
            if not fit:
                raise _NoFitWorker("; ".join(f"{w}: {why}" for w, why in sorted(self.excluded.items())))
            kwargs = {"workers": fit, "allow_other_workers": False}
        # pure=False and a unique key: a resubmitted submission is graded again, never
        # served from the scheduler's memory of an earlier run.
        fut = self.client.submit(grade_payload, payload, pure=False,
                                 key=f"rnngrade-{self.run}-{student}-{tries}", **kwargs)
        self.meta[fut.key] = (student, payload, tries)
        self.pending.add(fut)

    def fill(self):
        """Submit from the source until the window is full; yield retries for what cannot go."""
        while len(self.pending) < self.window:
            try:
                student, payload = next(self.source)
            except StopIteration:
                return
            if self.lost is not None:
                yield student, retry_result(f"not sent: {self.lost}")
                continue
            try:
                self.submit(student, payload)
            except _NoFitWorker as exc:
                yield student, retry_result(f"no worker can grade it ({exc})")
            except Exception as exc:  # the scheduler is gone
                self.lost = f"the Dask scheduler could not be reached ({type(exc).__name__}: {str(exc)[:200]})"
                yield student, retry_result(f"not sent: {self.lost}")

    def results(self):
        from dask.distributed import wait

        yield from self.fill()
        while self.pending:
            try:
                done, _ = wait(list(self.pending), timeout=1.0, return_when="FIRST_COMPLETED")
            except Exception:  # distributed's TimeoutError: nothing finished within the second
                done = set()
            for fut in done:
                self.pending.discard(fut)
                yield from self._finish(fut)
            yield from self._enforce_deadline()
            if self.lost is None and self.client.status not in ("running", "connecting"):
                self.lost = f"the client lost the Dask scheduler (client status {self.client.status})"
            if self.lost is not None and not done:
                for fut in list(self.pending):  # nothing more will come back
                    self.pending.discard(fut)
                    student, _, _ = self.meta.pop(fut.key)
                    yield student, retry_result(f"in flight when {self.lost}")
            yield from self.fill()

    def _finish(self, fut):
        student, payload, tries = self.meta.pop(fut.key)
        self.started.pop(fut.key, None)
        try:
            value = fut.result()
        except WorkerUnfit as exc:
            self.excluded[exc.worker or "unknown worker"] = str(exc)
            try:
                self.submit(student, payload, tries + 1)
            except _NoFitWorker as why:
                yield student, retry_result(f"no worker can grade it ({why})")
            return
        except Exception as exc:  # KilledWorker, a cancelled future, a lost scheduler...
            value = retry_result(f"the Dask job failed: {type(exc).__name__}: {str(exc)[:300]}")
        finally:
            fut.release()
        yield student, value

    def _enforce_deadline(self):
        if not self.deadline_s or not self.pending:
            return
        try:
            processing = self.client.processing()
        except Exception:
            return
        now = time.monotonic()
        where = {}
        for worker, keys in processing.items():
            for key in keys:
                where[key] = worker
                self.started.setdefault(key, now)
        for fut in list(self.pending):
            began = self.started.get(fut.key)
            if began is None or now - began <= self.deadline_s:
                continue
            self.pending.discard(fut)
            student, _, _ = self.meta.pop(fut.key)
            self.started.pop(fut.key, None)
            self.client.cancel(fut)
            worker = where.get(fut.key)
            if worker is not None:  # its thread is stuck in the job: a fresh process frees it
                try:
                    self.client.restart_workers([worker])
                except Exception:
                    pass
            yield student, retry_result(f"ran longer than the {self.deadline_s:g} s job deadline on {worker}")


class _NoFitWorker(RuntimeError):
    """Every worker of the cluster refused the job."""
