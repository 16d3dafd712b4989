"""Tests of autograder.isolation.enforcement: which mechanism holds, what each job gets, one memory message.

The cgroup v2 and systemd paths cannot run on the CI machine (cgroup v1, no systemd as PID 1):
they are tested here against a fake cgroup tree and, in test_systemd.py, a fake systemd-run.
"""
import json
import os
from pathlib import Path

import pytest

from autograder.isolation import cgroup, enforcement, sandbox, systemd
from autograder.isolation.enforcement import FALLBACK, Enforcement, choose, memory_death, plan_job
from autograder.limits import Limits, MiB, SandboxPolicy

LIMITS = Limits(memory_bytes=512 * MiB, max_processes=64, file_size_bytes=8 * MiB)


@pytest.fixture
def machine(monkeypatch):
    """Pretend: no writable cgroup, no systemd scopes, a regular user on a given kernel."""
    def set_(cgroup_kind=None, systemd_ok=False, euid=1000, release="6.1.0"):
        why = "cgroup v1 is writable" if cgroup_kind else "no writable cgroup"
        monkeypatch.setattr(cgroup, "probe", lambda: (cgroup_kind, why))
        monkeypatch.setattr(enforcement, "_systemd_cache", (systemd_ok, "fake systemd"))
        monkeypatch.setattr(os, "geteuid", lambda: euid)
        monkeypatch.setattr(os, "uname", lambda: os.uname_result(("Linux", "h", release, "", "x86_64")))
    return set_


def test_the_mechanism_is_the_strongest_available(machine):
    machine(cgroup_kind="v1", systemd_ok=True)
    assert choose().mechanism == "cgroup v1"
    machine(cgroup_kind=None, systemd_ok=True)
    assert choose().mechanism == "systemd scope"
    machine(cgroup_kind=None, systemd_ok=False)
    enf = choose()
    assert enf.mechanism == "rlimits + watchdog" and enf.memory_bound
    line = enf.line(LIMITS)
    assert line.startswith(enforcement.LINE_PREFIX) and "memory 512 MiB by rlimits + watchdog" in line
    assert "processes 64 by RLIMIT_NPROC in the sandbox's user namespace" in line and "8 MiB by RLIMIT_FSIZE" in line


def test_without_proc_nothing_bounds_memory_and_the_line_says_so(machine, monkeypatch):
    machine()
    monkeypatch.setattr(enforcement, "_watchdog_works", lambda: False)
    enf = choose()
    assert not enf.memory_bound and "memory NOT LIMITED" in enf.line(LIMITS)


def test_nproc_counts_per_namespace_from_linux_5_14():
    assert enforcement.nproc_counts_per_namespace("5.14.0-1")
    assert enforcement.nproc_counts_per_namespace("6.18.44-fc")
    assert not enforcement.nproc_counts_per_namespace("5.13.19")
    assert not enforcement.nproc_counts_per_namespace("4.19.0-27-amd64")


def test_fallback_job_gets_rlimit_data_a_watchdog_and_nproc_inside_the_namespace(machine, tmp_path):
    machine(release="6.1.0")
    job = plan_job(LIMITS, tmp_path, sandbox=True)
    assert job.cgroup is None and job.rlimits["DATA"] == FALLBACK.data_bytes(LIMITS) > LIMITS.memory_bytes
    assert "AS" not in job.rlimits and "NPROC" not in job.rlimits  # outside it would count the whole user
    assert job.inner_nproc == "64"
    dog = job.launch["watchdog"]
    assert dog["memory_bytes"] == 512 * MiB and dog["max_tasks"] == 64 + FALLBACK.extra_tasks
    assert Path(dog["script"]).name == "watchdog.py" and dog["verdict_dir"] == str(tmp_path)
    assert job.launch["oom_score_adj"] == 1000 and job.memguard
    assert job.enforced[0] == choose().line(LIMITS)


def test_old_kernels_and_no_sandbox_count_the_users_tasks_plus_the_allowance(machine, tmp_path):
    machine(release="5.10.0")
    job = plan_job(LIMITS, tmp_path, sandbox=True)
    assert job.inner_nproc == "{nproc}" and job.launch["count_tasks"] == 64
    machine(release="6.1.0")
    job = plan_job(LIMITS, tmp_path, sandbox=False)
    assert job.inner_nproc is None and job.rlimits["NPROC"] == "{nproc}" and job.launch["count_tasks"] == 64


def test_root_without_cgroup_relies_on_the_watchdog_for_processes(machine, tmp_path):
    machine(euid=0)
    job = plan_job(LIMITS, tmp_path, sandbox=True)
    assert job.inner_nproc is None and "NPROC" not in job.rlimits and job.launch["watchdog"]
    assert "watchdog only" in choose().processes


def test_systemd_job_gets_a_prefix_with_its_limits(machine, tmp_path):
    machine(systemd_ok=True)
    job = plan_job(LIMITS, tmp_path, sandbox=True)
    prefix = job.launch["prefix"]
    assert isinstance(job.cgroup, systemd.SystemdScope) and "watchdog" not in job.launch
    assert prefix[1:4] == ["--user", "--scope", "--quiet"] and prefix[-1] == "--"
    assert f"--unit={job.cgroup.base}-{{pid}}" in prefix
    props = {prefix[i + 1] for i, a in enumerate(prefix) if a == "-p"}
    assert {f"MemoryMax={512 * MiB}", "MemorySwapMax=0", "TasksMax=64", "CPUQuota=100%"} <= props


def test_the_sandbox_sets_nproc_inside_bwrap_before_the_kernel(machine, tmp_path):
    machine()
    job = sandbox.prepare("a1.ipynb", b"{}", {"checks": {}}, LIMITS, sandbox=SandboxPolicy(warm=False),
                          base_dir=str(tmp_path))
    try:
        spec = json.loads((job.root / "launch.json").read_text())
        argv = spec["argv"]
        inner = argv[argv.index("--") + 1:]
        assert inner[1:4] == ["-I", "-S", "-c"] and "RLIMIT_NPROC" in inner[4] and inner[5] == "64"
        assert inner[6:8] == [sandbox._venv_python(), "-m"]
        assert spec["rlimits"]["DATA"] == FALLBACK.data_bytes(LIMITS) and spec["watchdog"]["memory_bytes"] == 512 * MiB
        assert any("RLIMIT_DATA" in e for e in job.enforced)
        assert argv[-1] == "--IPKernelApp.exec_lines=import autograder.isolation.memguard as g; g.install()"
    finally:
        job.cleanup()


def test_a_warm_kernel_gets_the_same_nproc_rlimits_and_memguard(machine, tmp_path, monkeypatch):
    """The warm parent's fork sets what bwrap's inner command and the launcher set for a
    cold kernel: RLIMIT_NPROC inside, RLIMIT_DATA, the memory guard (autograder.isolation.zygote)."""
    from types import SimpleNamespace

    from autograder.isolation import zygote_host

    machine()
    fake = SimpleNamespace(socket=str(tmp_path / "socket"), jobs_dir=tmp_path)
    monkeypatch.setattr(zygote_host, "get", lambda limits: (fake, 0.0))
    job = sandbox.prepare("a1.ipynb", b"{}", {"checks": {}}, LIMITS, sandbox=SandboxPolicy(warm=True))
    try:
        spec = json.loads((job.root / "launch.json").read_text())
        warm = spec["zygote"]["job"]
        assert spec["argv"] == [] and job.warm and job.root.parent == tmp_path
        assert warm["nproc"] == "64" and spec["rlimits"]["DATA"] == FALLBACK.data_bytes(LIMITS)
        assert spec["watchdog"]["memory_bytes"] == 512 * MiB
        assert warm["kernel_args"][-1] == "--IPKernelApp.exec_lines=import autograder.isolation.memguard as g; g.install()"
        assert warm["scratch_bytes"] == LIMITS.scratch_bytes and warm["run_dir"] == str(job.run_dir)
    finally:
        job.cleanup()


class _Job:
    def __init__(self, root, group=None):
        self.root, self.cgroup = root, group


class _Group:
    def __init__(self, kind, kills):
        self.kind, self.kills = kind, kills

    def oom_kills(self):
        return self.kills


@pytest.mark.parametrize("group, verdict, words", [
    (_Group("v1", 1), None, "out-of-memory kill in its cgroup v1"),
    (_Group("v2", 1), None, "out-of-memory kill in its cgroup v2"),
    (_Group("systemd scope", 1), None, "out-of-memory kill in its systemd scope"),
    (None, {"killed": "memory", "used": 530 * MiB, "limit": 512 * MiB}, "stopped by the watchdog at 530 MiB"),
])
def test_every_memory_stop_reads_the_same(tmp_path, group, verdict, words):
    if verdict:
        (tmp_path / "watchdog-77.json").write_text(json.dumps(verdict))
    why = memory_death(_Job(tmp_path, group), 77, 0, LIMITS)
    assert why.startswith("the kernel was killed for using more than 512 MiB (the memory limit") and words in why


def test_a_refused_allocation_reads_the_same_under_the_fallback_only(tmp_path):
    from autograder.isolation.memguard import MEMORY_EXIT

    job = _Job(tmp_path)
    job.enforced = ["memory: RLIMIT_DATA 1 B per process, watchdog at 1 B resident for the job"]
    why = memory_death(job, 77, 0, LIMITS, exit_code=MEMORY_EXIT)
    assert why.startswith("the kernel was killed for using more than 512 MiB") and "refused by RLIMIT_DATA" in why
    job.enforced = ["memory 1 B, processes 1: cgroup v1"]  # no memguard there: os._exit(86) is a plain exit
    assert memory_death(job, 77, 0, LIMITS, exit_code=MEMORY_EXIT) is None


def test_other_deaths_are_not_memory(tmp_path):
    assert memory_death(_Job(tmp_path, _Group("v1", 2)), 77, 2, LIMITS) is None  # no new OOM kill
    (tmp_path / "watchdog-78.json").write_text(json.dumps({"killed": "memory", "used": 1, "limit": 1}))
    assert memory_death(_Job(tmp_path), 77, 0, LIMITS) is None  # another kernel's verdict
    (tmp_path / "watchdog-77.json").write_text(json.dumps({"killed": "processes", "used": 80, "limit": 72}))
    assert "more than 64 processes" in memory_death(_Job(tmp_path), 77, 0, LIMITS)


def test_cgroup_v2_on_a_fake_delegated_tree(tmp_path, monkeypatch):
    """A delegated v2 subtree (what root, or a user given one, sees): the job's files get the limits."""
    parent = tmp_path / "user.slice" / "grader"
    parent.mkdir(parents=True)
    (parent / "cgroup.controllers").write_text("cpu memory pids\n")
    (parent / "cgroup.subtree_control").write_text("")
    monkeypatch.setattr(cgroup, "_mounts", lambda: [(str(tmp_path), "cgroup2", set())])
    monkeypatch.setattr(cgroup, "_own_paths", lambda: {"": "/user.slice/grader"})
    group = cgroup._create_v2("rnngrade-1-0-abc", LIMITS.replace(cpus=0.5))
    d = Path(group.dirs["v2"])
    assert d.parent == parent and group.kind == "v2"
    assert (d / "memory.max").read_text() == str(512 * MiB) and (d / "pids.max").read_text() == "64"
    assert (d / "cpu.max").read_text() == "50000 100000"
    assert set((parent / "cgroup.subtree_control").read_text().split()) == {"+memory", "+pids", "+cpu"}
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert group.oom_kills() == 1
    assert memory_death(_Job(tmp_path, group), 1, 0, LIMITS).endswith("out-of-memory kill in its cgroup v2)")

