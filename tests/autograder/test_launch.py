"""Tests of autograder.isolation.launch: the placeholders it fills and the watchdog it starts, detached."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from autograder.isolation import launch, watchdog

LAUNCH = Path(launch.__file__)
SHOW = ("import os, resource, sys; print(json.dumps({'pid': os.getpid(), 'argv': sys.argv[1:], "
        "'nproc': resource.getrlimit(resource.RLIMIT_NPROC)[0], 'data': resource.getrlimit(resource.RLIMIT_DATA)[0], "
        "'unit': os.environ.get('UNIT'), 'oom': open('/proc/self/oom_score_adj').read().strip()}))")


def _launch(tmp_path, **spec):
    spec = {"rlimits": {}, "files": [], "argv": [sys.executable, "-c", "import json; " + SHOW, "{connection_file}"],
            **spec}
    (tmp_path / "launch.json").write_text(json.dumps(spec))
    proc = subprocess.Popen([sys.executable, "-I", "-S", str(LAUNCH), str(tmp_path / "launch.json"), "CF"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    return json.loads(line), proc


def test_placeholders_become_this_pid_the_connection_file_and_the_users_count(tmp_path):
    got, proc = _launch(tmp_path, prefix=["/usr/bin/env", "UNIT=scope-{pid}"], count_tasks=50,
                        rlimits={"NPROC": "{nproc}", "DATA": 900 * 2**20}, oom_score_adj=1000)
    assert proc.wait(timeout=10) == 0
    assert got["argv"] == ["CF"] and got["data"] == 900 * 2**20 and got["unit"] == f"scope-{got['pid']}"
    assert got["oom"] == "1000"
    # exec keeps the pid: env, then python, are the launcher's own process
    assert 50 < got["nproc"] < launch.user_tasks() + 50 + 100


def test_the_watchdog_is_detached_and_gets_the_launchers_pid(tmp_path):
    dog = {"memory_bytes": 2**30, "max_tasks": 100, "poll_seconds": 0.05, "verdict_dir": str(tmp_path),
           "script": str(Path(watchdog.__file__))}
    argv = [sys.executable, "-c", "import json, time; " + SHOW + "; time.sleep(1.5)"]
    got, proc = _launch(tmp_path, watchdog=dog, argv=argv)
    spec = json.loads((tmp_path / f"watchdog-{got['pid']}.spec.json").read_text())
    assert spec["root_pid"] == got["pid"] and spec["verdict"].endswith(f"watchdog-{got['pid']}.json")
    dogs = [p for p in os.listdir("/proc") if p.isdigit() and str(tmp_path) in _cmdline(p)]
    assert dogs and all(int(p) not in watchdog.tree(got["pid"]) for p in dogs)  # not in the job's tree
    deadline = time.monotonic() + 10
    while any(watchdog.start_time(int(p)) for p in dogs) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.wait(timeout=10) == 0
    assert not any(watchdog.start_time(int(p)) for p in dogs)  # it left with its kernel


def _cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""
