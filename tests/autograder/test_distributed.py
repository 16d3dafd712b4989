"""rnngrade grade --scheduler: the same jobs, engine and sandbox on a dask.distributed cluster."""
import pytest

from autograder.course import Course, find_submissions
from autograder.classrun.distributed import run_on_dask
from autograder.classrun.worker import build_payload
from autograder.classrun.grade import grade_assignment
from autograder.limits import Limits
from autograder.synthetic import write_class

from conftest import gradebook_rows, journal_points


@pytest.mark.slow
def test_local_dask_cluster_grades_the_class_like_local_workers(released_course):
    from dask.distributed import LocalCluster

    course = Course.from_root(released_course)
    students = write_class(course, "fixture", ["correct", "partial", "wrong", "crash", "malformed"])
    limits = Limits(cell_timeout=10, notebook_timeout=30)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        summary = grade_assignment(course, "fixture", limits, scheduler=cluster.scheduler_address, progress=False)
        worker_pids = {w.pid for w in cluster.workers.values() if hasattr(w, "pid")}
        # A window smaller than the class: jobs are fed as others finish, none is lost.
        subs = find_submissions(course, "fixture")[0][:3]
        jobs = ((s.student, build_payload(course, s, limits, True)) for s in subs)
        windowed = dict(run_on_dask(cluster.scheduler_address, jobs, "fixture", window=1))
    assert set(windowed) == {s.student for s in subs}
    assert all(v["result"]["status"] in ("graded", "crashed", "malformed") for v in windowed.values())

    assert summary.workers.startswith("Dask scheduler tcp://")
    by_student = {r["student"]: r["result"] for r in summary.graded}
    assert set(by_student) == set(students)
    expected = {"correct": (5.0, "graded"), "partial": (3.0, "graded"), "wrong": (0.0, "graded"),
                "crash": (5.0, "crashed"), "malformed": (0.0, "malformed")}
    for student, kind in students.items():
        assert (by_student[student]["points"], by_student[student]["status"]) == expected[kind], student
        # Graded in the sandbox, as a local run would be.
        if kind != "malformed":
            assert any("bubblewrap" in e for e in by_student[student]["enforced"]), by_student[student]
    assert gradebook_rows(released_course) == journal_points(released_course)
    assert len(worker_pids) == 2


class _FakeClient:
    def __init__(self, answers):
        self.answers = answers

    def run(self, func):
        return self.answers


def test_workers_without_a_sandbox_stop_the_run_before_any_job():
    from autograder.classrun.distributed import check_workers

    check_workers(_FakeClient({"tcp://a:1": (True, "ok"), "tcp://b:1": (True, "ok")}))
    with pytest.raises(ValueError, match=r"1 of 2 Dask worker\(s\) cannot start the sandbox \(tcp://b:1: no bwrap\)"):
        check_workers(_FakeClient({"tcp://a:1": (True, "ok"), "tcp://b:1": (False, "no bwrap")}))
    with pytest.raises(ValueError, match="no workers"):
        check_workers(_FakeClient({}))


class _FakeFuture:
    def __init__(self, key):
        self.key = key


class _DeadlineClient:
    """Enough of a dask Client for the deadline: one job processing on one worker, forever."""

    def __init__(self):
        self.cancelled, self.restarted = [], []

    def processing(self):
        return {"tcp://w:1": ["rnngrade-x-s1-0"]}

    def cancel(self, fut):
        self.cancelled.append(fut.key)

    def restart_workers(self, workers):
        self.restarted += workers


def test_job_deadline_applies_on_dask_and_gives_a_retry(monkeypatch):
    from autograder.classrun import distributed

    client = _DeadlineClient()
    feeder = distributed._Feeder(client, iter(()), window=4, deadline_s=30)
    fut = _FakeFuture("rnngrade-x-s1-0")
    feeder.meta[fut.key] = ("s1", {}, 0)
    feeder.pending.add(fut)
    clock = [1000.0]
    monkeypatch.setattr(distributed.time, "monotonic", lambda: clock[0])
    assert list(feeder._enforce_deadline()) == []  # first seen processing now
    clock[0] += 29
    assert list(feeder._enforce_deadline()) == []  # within the deadline
    clock[0] += 2
    (student, result), = list(feeder._enforce_deadline())
    assert student == "s1" and "30 s job deadline" in result["retry"] and "tcp://w:1" in result["retry"]
    assert client.cancelled == [fut.key] and client.restarted == ["tcp://w:1"]
    assert not feeder.pending and not feeder.meta
