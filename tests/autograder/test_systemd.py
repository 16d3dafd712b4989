"""Tests of autograder.isolation.systemd against a fake systemd-run and systemctl on PATH.

This machine has no systemd as PID 1, so nothing here shows that systemd enforces the
limits: these tests show that rnngrade asks for the right scope, reads a scope's OOM kill
as a memory kill, cleans the units up, and that a kernel started through the prefix grades.
"""
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from autograder.isolation import enforcement, sandbox, systemd
from autograder.limits import Limits, MiB

LIMITS = Limits(memory_bytes=512 * MiB, max_processes=64, cell_timeout=10, notebook_timeout=40)


def _script(path: Path, text: str):
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture
def fake_bin(tmp_path, monkeypatch):
    """A bin folder first on PATH; fake systemd-run logs its argv and execs the command after --."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    log = tmp_path / "systemd-run.log"
    _script(bin_ / "systemd-run", f"""#!{sys.executable}
import json, os, sys
args = sys.argv[1:]
with open({str(log)!r}, "a") as f:
    f.write(json.dumps(args) + "\\n")
if os.environ.get("FAKE_SCOPE_OUTPUT") is not None:
    print(os.environ["FAKE_SCOPE_OUTPUT"])
    sys.exit(int(os.environ.get("FAKE_SCOPE_EXIT", "0")))
rest = args[args.index("--") + 1:]
os.execv(rest[0], rest)
""")
    monkeypatch.setenv("PATH", f"{bin_}:{os.environ['PATH']}")
    return bin_, log


def test_parse_probe_needs_the_limits_really_set():
    assert systemd.parse_probe(0, f"{systemd.PROBE_MEMORY} {systemd.PROBE_TASKS}\n", "")[0]
    ok, why = systemd.parse_probe(0, "max max\n", "")
    assert not ok and "not delegated" in why
    ok, why = systemd.parse_probe(1, "", "Failed to connect to bus: No medium found\n")
    assert not ok and "No medium found" in why


def test_probe_runs_a_scope_with_the_probe_limits(fake_bin, monkeypatch):
    _, log = fake_bin
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("FAKE_SCOPE_OUTPUT", f"{systemd.PROBE_MEMORY} {systemd.PROBE_TASKS}")
    assert systemd.probe() == (True, "transient systemd user scopes get MemoryMax and TasksMax")
    argv = json.loads(log.read_text().splitlines()[-1])
    assert argv[:3] == ["--user", "--scope", "--quiet"] and f"MemoryMax={systemd.PROBE_MEMORY}" in argv
    monkeypatch.setenv("FAKE_SCOPE_OUTPUT", "max max")
    assert not systemd.probe()[0]


def test_probe_is_not_used_by_root(fake_bin):
    if os.geteuid() != 0:
        pytest.skip("runs as root only")
    assert systemd.probe() == (False, "running as root (a cgroup is created directly instead)")


def test_scope_reads_oom_kill_results_and_cleans_up(fake_bin, tmp_path):
    bin_, _ = fake_bin
    calls = tmp_path / "systemctl.log"
    _script(bin_ / "systemctl", f"""#!/bin/sh
echo "$@" >> {calls}
case "$*" in
  *list-units*) printf 'rnngrade-9-rng-x-11.scope loaded failed failed desc\\nrnngrade-9-rng-x-12.scope loaded active running desc\\n' ;;
  *"show -p Result"*) printf 'oom-kill\\nsuccess\\n' ;;
  *"show -p ControlGroup"*) printf '' ;;
esac
""")
    scope = systemd.SystemdScope("rnngrade-9-rng-x")
    assert scope.units() == ["rnngrade-9-rng-x-11.scope", "rnngrade-9-rng-x-12.scope"]
    assert scope.oom_kills() == 1
    why = enforcement.memory_death(type("J", (), {"root": tmp_path, "cgroup": scope})(), 11, 0, LIMITS)
    assert why == ("the kernel was killed for using more than 512 MiB (the memory limit; "
                   "out-of-memory kill in its systemd scope)")
    scope.remove()
    log = calls.read_text()
    assert "--user kill --signal=SIGKILL rnngrade-9-rng-x-11.scope" in log
    assert "--user stop rnngrade-9-rng-x-11.scope rnngrade-9-rng-x-12.scope" in log and "reset-failed" in log


@pytest.mark.slow
@pytest.mark.skipif(not sandbox.available()[0], reason=sandbox.available()[1])
def test_a_kernel_started_through_the_scope_prefix_grades(fake_bin, monkeypatch, tmp_path):
    from autograder.grading.engine import GradeJob, grade_submission

    _, log = fake_bin
    monkeypatch.setattr(enforcement, "choose", lambda sandbox=True: enforcement.Enforcement(
        "systemd scope", "systemd-run --user --scope, MemoryMax, MemorySwapMax=0", "systemd scope TasksMax"))
    monkeypatch.setattr(systemd.SystemdScope, "_systemctl", lambda self, *a: "")
    # The scope is for an instructor who is not root; as root the sandbox would start as nobody.
    monkeypatch.setattr(sandbox, "drop_ids", lambda: None)
    monkeypatch.setenv("RNNGRADE_TMP", str(tmp_path))
    fixtures = Path(__file__).parent / "fixtures"
    sub = tmp_path / "s" / "fixture.ipynb"
    sub.parent.mkdir()
    sub.write_bytes((fixtures / "submissions" / "honest.ipynb").read_bytes())
    result = grade_submission(GradeJob("fixture", "s", sub, fixtures / "course" / "solutions" / "fixture"), LIMITS)
    assert result.status == "graded" and result.points == result.max_points, result.reasons
    assert result.enforced[0].startswith("limits per job: memory 512 MiB by systemd scope")
    argv = json.loads(log.read_text().splitlines()[0])
    assert argv[0] == "--user" and argv[3].startswith("--unit=rnngrade-") and argv[3][-1].isdigit()
    assert f"MemoryMax={512 * MiB}" in argv and "TasksMax=64" in argv
    assert Path(argv[argv.index("--") + 1]).name == "bwrap"
