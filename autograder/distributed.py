"""Send grading jobs to an existing Dask cluster (``rnngrade grade --scheduler ADDRESS``).

Each job is the same self-contained payload the local pool uses (:mod:`autograder.worker`),
so Dask workers need this package and its dependencies installed (the same virtualenv
image), bubblewrap for the sandbox, and nothing of the course: no shared filesystem. Every
worker runs :func:`autograder.worker.grade_payload`, i.e. the same engine and sandbox as a
local run; results stream back to the main process, which alone journals them and writes
the gradebook. Start workers with one thread each (``dask worker ADDRESS --nthreads 1
--nworkers N``): a grading job is a kernel plus a watchdog, and two in one process would
share its environment.

A job whose worker dies is retried by the scheduler (its ``allowed-failures`` setting);
when Dask gives up (``KilledWorker``) or the job raises, it is recorded as ``crashed`` with
Dask's reason, and the run goes on.
"""
from __future__ import annotations

import uuid

from autograder.worker import grade_payload, lost_result


def _sandbox_here() -> tuple:
    from autograder import sandbox

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
                sandbox: bool = True):
    """Yield ``(student, result)`` as each job of ``jobs`` finishes on the cluster at ``scheduler``.

    jobs : iterable of ``(student, payload)``, consumed lazily: at most ``window`` jobs
        (default: twice the cluster's threads, at least 8) are on the cluster at once, so
        neither this process nor the scheduler holds a whole class of notebooks in memory.
    sandbox : check first that every worker can start the sandbox (ValueError if not).
    """
    from dask.distributed import Client, as_completed

    own = client is None
    if own:
        client = Client(scheduler, timeout="30s")
    try:
        if sandbox:
            check_workers(client)
        if window is None:
            window = max(8, 2 * sum(client.nthreads().values()))
        run = uuid.uuid4().hex[:8]
        source = iter(jobs)
        students = {}
        running = as_completed()

        def submit_next() -> bool:
            try:
                student, payload = next(source)
            except StopIteration:
                return False
            # pure=False and a unique key: a resubmitted submission is graded again, never
            # served from the scheduler's memory of an earlier run.
            fut = client.submit(grade_payload, payload, pure=False, key=f"rnngrade-{run}-{student}")
            students[fut.key] = student
            running.add(fut)
            return True

        for _ in range(window):
            if not submit_next():
                break
        for fut in running:
            student = students.pop(fut.key)
            try:
                value = fut.result()
            except Exception as exc:  # KilledWorker, a worker without the package, ...
                value = lost_result(assignment, student, "crashed",
                                    f"the Dask job failed: {type(exc).__name__}: {str(exc)[:300]}")
            fut.release()
            submit_next()
            yield student, value
    finally:
        if own:
            client.close()
