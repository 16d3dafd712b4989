"""Unit tests of autograder.isolation.cgroup on a fake cgroup tree (no real cgroup)."""

import os

from autograder.isolation.cgroup import JobCgroup, _create_v2
from autograder.limits import Limits


def _fake_v2_parent(tmp_path, controllers="memory pids cpu"):
    parent = tmp_path / "cg"
    parent.mkdir()
    (parent / "cgroup.controllers").write_text(controllers + "\n")
    (parent / "cgroup.subtree_control").write_text("")
    return parent


def test_v2_group_gets_the_limits_written_in_its_files(tmp_path, monkeypatch):
    from autograder.isolation import cgroup

    parent = _fake_v2_parent(tmp_path)
    monkeypatch.setattr(cgroup, "_mounts", lambda: [(str(parent), "cgroup2", set())])
    monkeypatch.setattr(cgroup, "_own_paths", lambda: {"": "/"})
    limits = Limits(memory_bytes=123 * 2**20, max_processes=17, cpus=0.5)
    group = _create_v2("job", limits)
    d = parent / "job"
    assert group.kind == "v2" and group.dirs == {"v2": str(d)}
    assert (d / "memory.max").read_text() == str(limits.memory_bytes)
    assert (d / "pids.max").read_text() == str(limits.max_processes)
    assert (d / "cpu.max").read_text() == f"{int(limits.cpus * 100000)} 100000"
    enabled = set((parent / "cgroup.subtree_control").read_text().split())
    assert enabled == {"+memory", "+pids", "+cpu"}


def test_v2_without_the_pids_controller_gives_no_group(tmp_path, monkeypatch):
    from autograder.isolation import cgroup

    parent = _fake_v2_parent(tmp_path, controllers="memory cpu")
    monkeypatch.setattr(cgroup, "_mounts", lambda: [(str(parent), "cgroup2", set())])
    monkeypatch.setattr(cgroup, "_own_paths", lambda: {"": "/"})
    assert _create_v2("job", Limits()) is None
    assert not (parent / "job").exists()


def test_pids_and_oom_kills_are_read_from_the_groups_files(tmp_path):
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cgroup.procs").write_text("12\n34\n")
    (v2 / "memory.events").write_text("low 0\nhigh 0\nmax 5\noom 2\noom_kill 3\n")
    group = JobCgroup("v2", {"v2": str(v2)})
    assert group.pids() == {12, 34}
    assert group.oom_kills() == 3
    mem = tmp_path / "memory"
    mem.mkdir()
    (mem / "memory.oom_control").write_text("oom_kill_disable 0\noom_kill 1\n")
    (mem / "memory.max_usage_in_bytes").write_text("4096\n")
    v1 = JobCgroup("v1", {"memory": str(mem)})
    assert (v1.oom_kills(), v1.peak_memory(), v1.pids()) == (1, 4096, set())


def test_remove_of_an_empty_group_deletes_its_directories(tmp_path):
    dirs = {role: tmp_path / role for role in ("memory", "pids")}
    for d in dirs.values():
        d.mkdir()
    group = JobCgroup("v1", {role: str(d) for role, d in dirs.items()})
    group.remove()
    assert not any(os.path.exists(d) for d in dirs.values())
