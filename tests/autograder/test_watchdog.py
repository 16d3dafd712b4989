"""Tests of autograder.isolation.watchdog: a real process tree past its memory or task limit is killed."""
import json
import os
import subprocess
import sys
import time

import pytest

from autograder.isolation import watchdog
from autograder.isolation.watchdog import Sample, WatchdogPolicy

MiB = 2**20
# A parent that forks two children; each child touches ``MB`` MiB and sleeps.
TREE = ("import os, sys, time\nmb = int(sys.argv[1])\nfor _ in range(2):\n    if os.fork() == 0:\n"
        "        x = bytearray(mb * 2**20)\n        x[::4096] = b'x' * len(x[::4096])\n        time.sleep(60)\n"
        "print('ready', flush=True)\ntime.sleep(60)\n")


def _tree(mb):
    proc = subprocess.Popen([sys.executable, "-c", TREE, str(mb)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.5)  # the children have touched their pages
    return proc


def _kill(pids):
    for pid in pids:
        try:
            os.kill(pid, 9)
        except OSError:
            pass


def _watch(tmp_path, proc, **policy):
    p = WatchdogPolicy(root_pid=proc.pid, verdict=str(tmp_path / "v.json"), poll_seconds=0.02, **policy)
    return watchdog.watch(p, watchdog.start_time(proc.pid))


def test_a_tree_past_its_memory_is_killed_whole_and_the_verdict_written(tmp_path):
    proc = _tree(80)
    try:
        verdict = _watch(tmp_path, proc, memory_bytes=120 * MiB, max_tasks=50)
        assert verdict["killed"] == "memory" and verdict["used"] > 120 * MiB
        assert json.loads((tmp_path / "v.json").read_text()) == verdict
        assert proc.wait(timeout=5) == -9
        assert watchdog.tree(proc.pid) == []
    finally:
        _kill(watchdog.tree(proc.pid))


def test_a_tree_within_its_limits_is_left_alone_until_it_exits(tmp_path):
    proc = _tree(10)
    family = watchdog.tree(proc.pid)
    try:
        s = watchdog.sample(proc.pid)
        assert len(s.pids) == 3 and s.tasks >= 3 and s.rss > 20 * MiB
        assert watchdog.over(WatchdogPolicy(proc.pid, 400 * MiB, 50, ""), s) is None
        proc.kill()
        proc.wait()
        assert _watch(tmp_path, proc, memory_bytes=400 * MiB, max_tasks=50) is None
        assert not (tmp_path / "v.json").exists()
    finally:
        _kill(family)  # the children outlive their parent


def test_too_many_tasks_is_a_process_kill(tmp_path):
    proc = _tree(1)
    try:
        verdict = _watch(tmp_path, proc, memory_bytes=400 * MiB, max_tasks=2)
        assert verdict["killed"] == "processes" and verdict["used"] >= 3
    finally:
        _kill(watchdog.tree(proc.pid))


def test_a_peak_past_the_limit_kills_even_after_the_memory_was_freed():
    # RLIMIT_DATA refused the next allocation and the process freed everything: VmHWM remembers.
    policy = WatchdogPolicy(1, memory_bytes=100 * MiB, max_tasks=10, verdict="")
    assert watchdog.over(policy, Sample((1,), 1, rss=10 * MiB, peak=150 * MiB)) == ("memory", 150 * MiB)
    assert watchdog.over(policy, Sample((1,), 1, rss=10 * MiB, peak=90 * MiB)) is None


def test_forked_children_sharing_pages_count_them_once():
    """RSS summed over a forked tree counts shared pages per child; the watchdog uses PSS."""
    code = ("import os, time\nx = bytearray(60 * 2**20)\nx[::4096] = b'x' * len(x[::4096])\n"
            "for _ in range(4):\n    if os.fork() == 0:\n        time.sleep(60)\nprint('ready', flush=True)\ntime.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        s = watchdog.sample(proc.pid)
        assert s.rss > 5 * 60 * MiB                      # five processes each "holding" 60 MiB
        assert s.memory() < 2 * 60 * MiB + 40 * MiB      # in fact one copy plus interpreters
        assert watchdog.over(WatchdogPolicy(proc.pid, 200 * MiB, 50, ""), s) is None
    finally:
        _kill(watchdog.tree(proc.pid))
        proc.wait()


def test_policy_fields_round_trip_through_the_launcher_spec():
    p = WatchdogPolicy(12, 3 * MiB, 7, "/x/v.json", 0.1)
    assert WatchdogPolicy(**json.loads(p.to_json())) == p


def test_a_zombie_counts_nothing():
    """A dying fork bomb is full of zombies and exiting processes: they must not count their RSS."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    try:
        deadline = time.monotonic() + 5
        while watchdog.start_time(pid) is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert watchdog.start_time(pid) is None and os.path.exists(f"/proc/{pid}")  # a zombie
        assert watchdog._pss(pid) == 0
    finally:
        os.waitpid(pid, 0)
