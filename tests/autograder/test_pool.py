"""The persistent worker pool: reuse, crashes, exceptions and deadlines never stop the run."""
import os
import time

import pytest

from autograder.classrun.pool import WorkerLost, WorkerPool

JOB = "pool_jobs.job"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose.
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split()[2] != "Z"


def test_workers_persist_across_jobs():
    with WorkerPool(2, JOB) as pool:
        results = dict(pool.run([(i, ("pid", None)) for i in range(8)]))
    assert sorted(results) == list(range(8))
    assert len(set(results.values())) <= 2  # eight jobs, at most two processes
    assert os.getpid() not in results.values()


def test_a_dying_worker_loses_only_its_job_and_is_replaced():
    jobs = [(0, ("die", 3)), (1, ("pid", None)), (2, ("raise", "boom")), (3, ("pid", None))]
    with WorkerPool(1, JOB) as pool:
        results = dict(pool.run(jobs))
    assert isinstance(results[0], WorkerLost) and "exit code 3" in results[0].reason
    assert isinstance(results[1], int) and isinstance(results[3], int)
    assert isinstance(results[2], RuntimeError) and "ValueError: boom" in str(results[2])


@pytest.mark.slow
def test_a_job_past_its_deadline_is_killed_with_its_children(tmp_path):
    pidfile = tmp_path / "orphan.pid"
    start = time.monotonic()
    with WorkerPool(2, JOB) as pool:
        results = dict(pool.run([(0, ("orphan", str(pidfile))), (1, ("sleep", 0.1))], deadline_s=4))
    assert time.monotonic() - start < 30
    assert results[1] == "slept"
    assert isinstance(results[0], WorkerLost) and "longer than the 4 s" in results[0].reason
    orphan = int(pidfile.read_text())
    time.sleep(0.2)
    assert not _alive(orphan)
