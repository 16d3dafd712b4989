"""A failure of the grading cluster is never a student's grade (issue 18).

A real Dask cluster of separate processes on 127.0.0.1 (`dask scheduler`, `dask worker`), a
class of the fixture assignment, and one fault injected while it grades: the scheduler
stopped, a worker killed, a worker without the sandbox joining, a worker with stale checks.
Each run must record no infrastructure failure as a result, exit incomplete when something
was left, and a plain rerun must leave every student graded exactly once.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from autograder.course import Course
from autograder.classrun.grade import grade_assignment
from autograder.limits import Limits
from autograder.synthetic import write_class

from conftest import REPO, gradebook_rows, journal_points

pytestmark = pytest.mark.slow

DASK = str(Path(sys.prefix) / "bin" / "dask")
LIMITS = Limits(cell_timeout=10, notebook_timeout=40)
KINDS = ["correct", "partial", "wrong", "correct", "partial", "wrong", "correct", "partial"]
EXPECTED = {"correct": 5.0, "partial": 3.0, "wrong": 0.0}


class Cluster:
    """A scheduler and workers as separate processes; every process is stopped at the end."""

    def __init__(self, tmp: Path):
        self.tmp, self.procs, self.scheduler = tmp, {}, None
        self.file = tmp / "scheduler.json"

    def start_scheduler(self):
        self.file.unlink(missing_ok=True)
        self.scheduler = self._spawn("scheduler", [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0",
                                                   "--no-dashboard", "--scheduler-file", str(self.file)])
        deadline = time.monotonic() + 60
        while not self.file.exists() or not self.file.read_text().strip():
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.2)
        self.address = json.loads(self.file.read_text())["address"]
        return self.address

    def start_worker(self, name, env=None):
        return self._spawn(name, [DASK, "worker", "--scheduler-file", str(self.file), "--nthreads", "1",
                                  "--no-nanny", "--no-dashboard", "--name", name], env)

    def ready(self, n):
        """Wait until the scheduler counts ``n`` workers."""
        with _client(self.address) as client:
            client.wait_for_workers(n, timeout=120)

    def _spawn(self, name, argv, env=None):
        log = open(self.tmp / f"{name}.log", "ab")
        proc = subprocess.Popen(argv, stdout=log, stderr=log, env={**os.environ, **(env or {})},
                                start_new_session=True)
        self.procs[name] = proc
        return proc

    def kill(self, name):
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop(self):
        for name in list(self.procs):
            try:
                self.kill(name)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    c.stop()


@pytest.fixture
def course(released_course):
    course = Course.from_root(released_course)
    students = write_class(course, "fixture", KINDS)
    return course, students


def _grade_in_thread(course, address, deadline_s=None):
    out = {}

    def run():
        try:
            out["summary"] = grade_assignment(course, "fixture", LIMITS, scheduler=address, progress=False,
                                              deadline_s=deadline_s)
        except BaseException as exc:  # reported by the test
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def _journaled(course) -> int:
    folder = course.state / "fixture" / "results"
    return len(list(folder.glob("*.json"))) if folder.is_dir() else 0


def _wait_for(predicate, timeout=300, what="progress"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.2)


def _assert_graded_once_and_right(course, students):
    records = {p.stem: json.loads(p.read_text()) for p in (course.state / "fixture" / "results").glob("*.json")}
    assert set(records) == set(students)
    for student, kind in students.items():
        result = records[student]["result"]
        assert (result["status"], result["points"]) == ("graded", EXPECTED[kind]), (student, result["reasons"])
        assert not any("Dask" in r or "worker" in r or "scheduler" in r for r in result["reasons"]), result["reasons"]
    assert gradebook_rows(course.root) == journal_points(course.root)


def _client(address):
    from dask.distributed import Client

    return Client(address, timeout="30s")


def test_scheduler_stopped_midway_charges_nobody_and_a_plain_rerun_finishes(course, cluster):
    course, students = course
    address = cluster.start_scheduler()
    cluster.start_worker("w1")
    cluster.ready(1)
    thread, out = _grade_in_thread(course, address)
    _wait_for(lambda: _journaled(course) >= 1, what="first result")
    cluster.kill("scheduler")
    thread.join(300)
    assert not thread.is_alive(), "the client hung after losing the scheduler"
    summary = out.get("summary")
    assert summary is not None, out.get("error")
    assert summary.retry, "a lost scheduler must leave jobs to retry"
    assert any("rerun" in line for line in summary.lines())
    for record in summary.graded:  # whatever came back before the loss is a real grade
        assert record["result"]["status"] == "graded", record["result"]["reasons"]
    assert len(summary.graded) + len(summary.retry) == len(students)

    cluster.kill("w1")
    address = cluster.start_scheduler()
    cluster.start_worker("w2")
    cluster.ready(1)
    again = grade_assignment(course, "fixture", LIMITS, scheduler=address, progress=False)
    assert not again.retry
    assert {r["student"] for r in again.graded} == {s for s, _ in summary.retry}
    _assert_graded_once_and_right(course, students)


def test_worker_killed_midway_loses_no_student(course, cluster):
    course, students = course
    address = cluster.start_scheduler()
    cluster.start_worker("w1")
    cluster.start_worker("w2")
    cluster.ready(2)
    thread, out = _grade_in_thread(course, address)
    _wait_for(lambda: _journaled(course) >= 1, what="first result")
    cluster.kill("w1")
    thread.join(600)
    summary = out["summary"]
    if summary.retry:  # Dask gave up on a job: a plain rerun grades it
        again = grade_assignment(course, "fixture", LIMITS, scheduler=address, progress=False)
        assert not again.retry
    _assert_graded_once_and_right(course, students)


def test_worker_without_the_sandbox_joining_midway_is_excluded(course, cluster):
    """The unfit worker joins, then the only good one is killed: every job left reaches the
    unfit worker, which refuses it; none may become a grade, and a rerun grades them all."""
    course, students = course
    address = cluster.start_scheduler()
    cluster.start_worker("good")
    cluster.ready(1)
    thread, out = _grade_in_thread(course, address)
    _wait_for(lambda: _journaled(course) >= 1, what="first result")
    # No bwrap on its PATH: the worker cannot start the sandbox.
    cluster.start_worker("nobwrap", env={"PATH": str(Path(sys.prefix) / "bin")})
    cluster.ready(2)
    cluster.kill("good")
    thread.join(600)
    summary = out["summary"]
    assert summary.retry, summary.lines()
    assert any("cannot start the sandbox" in why for _, why in summary.retry), summary.retry
    for record in summary.graded:
        assert record["result"]["status"] == "graded", record["result"]["reasons"]
    # A run refuses to start while a worker cannot sandbox: the instructor replaces it.
    cluster.kill("nobwrap")
    cluster.start_worker("fresh")
    cluster.ready(1)
    again = grade_assignment(course, "fixture", LIMITS, scheduler=address, progress=False)
    assert not again.retry, again.lines()
    _assert_graded_once_and_right(course, students)


def test_worker_with_stale_checks_refuses_its_jobs(course, cluster):
    course, students = course
    # Outside pytest's private tmp folder: graded as root, the sandbox's user must reach it.
    stale = Path(tempfile.mkdtemp(prefix="rng-stale-"))
    os.chmod(stale, 0o755)
    shutil.copytree(REPO / "autograder", stale / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    check = stale / "autograder" / "checks" / "fixture.py"
    check.write_text(check.read_text() + "\n# an older copy of the checks\n")
    address = cluster.start_scheduler()
    cluster.start_worker("stale", env={"PYTHONPATH": str(stale)})
    cluster.ready(1)
    summary = grade_assignment(course, "fixture", LIMITS, scheduler=address, progress=False)
    assert not summary.graded and len(summary.retry) == len(students)
    assert all("other checks code" in why for _, why in summary.retry), summary.retry
    cluster.start_worker("fresh")
    cluster.ready(2)
    again = grade_assignment(course, "fixture", LIMITS, scheduler=address, progress=False)
    assert not again.retry, again.lines()
    _assert_graded_once_and_right(course, students)
    shutil.rmtree(stale, ignore_errors=True)
