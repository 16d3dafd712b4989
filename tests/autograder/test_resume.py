"""SIGKILL the grader mid-class, rerun: every submission graded exactly once, gradebook consistent."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.course import Course
from autograder.synthetic import write_class

from conftest import gradebook_rows, journal_points

N = 12


def _records(root: Path) -> dict:
    out = {}
    for p in (root / ".rnngrade" / "fixture" / "results").glob("*.json"):
        out[p.stem] = json.loads(p.read_text())
    return out


def _descendants(pid: int) -> list[int]:
    kids = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            kids += [int(x) for x in (task / "children").read_text().split()]
    except FileNotFoundError:
        return []
    return kids + [d for k in kids for d in _descendants(k)]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow
def test_sigkill_mid_class_then_rerun_grades_each_submission_exactly_once(released_course):
    course = Course.from_root(released_course)
    kinds = ["correct", "partial", "wrong", "empty"] * (N // 4)
    students = write_class(course, "fixture", kinds)
    cmd = [sys.executable, "-m", "autograder.cli", "grade", "fixture", "--course", str(released_course),
           "--workers", "2", "--no-progress", "--cell-timeout", "10"]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    workers = []
    deadline = time.monotonic() + 60
    while len(_records(released_course)) < 3:
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.monotonic() < deadline, "the grader made no progress"
        workers = _descendants(proc.pid) or workers
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()

    before = _records(released_course)
    assert 3 <= len(before) < N, "the kill must land mid-class for this test to mean anything"
    attempts_before = {s: r["attempt_id"] for s, r in before.items()}

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr

    after = _records(released_course)
    assert set(after) == set(students)
    assert all(r["merged"] for r in after.values())
    # Nothing journaled before the kill was graded again (merged ones skipped, unmerged ones only merged).
    assert {s: after[s]["attempt_id"] for s in before} == attempts_before
    assert f"graded {N - len(before)} submission(s)" in rerun.stdout
    # The gradebook holds each submission once, with the journal's scores.
    assert gradebook_rows(released_course) == journal_points(released_course)
    for student in students:
        assert (course.autograded_dir(student, "fixture") / "fixture.ipynb").is_file()
    leftovers = [p for p in released_course.rglob("*.tmp")] + list(course.autograded.glob("*/.*"))
    assert leftovers == []
    # The killed run's worker processes (forkserver, workers, kernels) died with it.
    assert workers and not [w for w in workers if _alive(w)]
