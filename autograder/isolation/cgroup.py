"""A control group per grading job: memory (no swap), processes and CPU limits, kill-all.

Linux offers two layouts. cgroup v2 (one tree, ``memory.max``, ``pids.max``, ``cgroup.kill``)
is used when its memory and pids controllers can be delegated to a child group; otherwise
the v1 hierarchies (``memory.limit_in_bytes``, ``pids.max``, ``cpu.cfs_quota_us``) when they
are writable; otherwise nothing (:func:`probe` says why) and the sandbox falls back to
rlimits. The job's launcher joins the group by writing its pid to every ``procs_files``
entry before it execs bubblewrap, so the kernel and all its children are inside.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
import uuid
from dataclasses import dataclass, field

PREFIX = "rnngrade-"
_counter = itertools.count()
_probe_cache = None


def _read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def _write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def _mounts():
    """(mount point, fstype, super options) of every cgroup mount."""
    out = []
    for line in _read("/proc/self/mountinfo").splitlines():
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(rfields) >= 3 and rfields[0] in ("cgroup", "cgroup2"):
            out.append((fields[4], rfields[0], set(rfields[2].split(","))))
    return out


def _own_paths():
    """controller (or "" for v2) -> this process's cgroup path."""
    own = {}
    for line in _read("/proc/self/cgroup").splitlines():
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(",") if controllers else [""]:
            own[c] = path
    return own


@dataclass
class JobCgroup:
    """The cgroup directories of one job (one for v2, one per controller for v1)."""

    kind: str
    dirs: dict = field(default_factory=dict)  # role ("memory", "pids", "cpu", or "v2") -> dir

    @property
    def procs_files(self):
        return [os.path.join(d, "cgroup.procs") for d in self.dirs.values()]

    def pids(self) -> set:
        found = set()
        for path in self.procs_files:
            found |= {int(p) for p in _read(path).split()}
        return found

    def oom_kills(self) -> int:
        """How many times the kernel's out-of-memory killer fired inside this group."""
        if self.kind == "v2":
            text = _read(os.path.join(self.dirs["v2"], "memory.events"))
        else:
            text = _read(os.path.join(self.dirs.get("memory", "/nonexistent"), "memory.oom_control"))
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
        return 0

    def peak_memory(self):
        name = "memory.peak" if self.kind == "v2" else "memory.max_usage_in_bytes"
        text = _read(os.path.join(self.dirs.get("v2" if self.kind == "v2" else "memory", "/nonexistent"), name)).strip()
        return int(text) if text.isdigit() else None

    def kill_all(self, timeout=2.0):
        """SIGKILL every process of the job and wait until the group is empty."""
        if self.kind == "v2":
            try:
                _write(os.path.join(self.dirs["v2"], "cgroup.kill"), 1)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        while True:
            pids = self.pids()
            if not pids or time.monotonic() > deadline:
                return not pids
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.01)

    def remove(self):
        self.kill_all()
        for d in self.dirs.values():
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def create(limits) -> JobCgroup | None:
    """Create and configure a cgroup for one job, or return None when none is writable."""
    kind, _ = probe()
    if kind is None:
        return None
    reap_orphans()
    name = f"{PREFIX}{os.getpid()}-{next(_counter)}-{uuid.uuid4().hex[:6]}"
    group = _create_v2(name, limits) if kind == "v2" else _create_v1(name, limits)
    return group


def probe():
    """(kind, reason): "v2", "v1" or None, and a sentence saying what was found. Cached."""
    global _probe_cache
    if _probe_cache is None:
        _probe_cache = _probe()
    return _probe_cache


def _probe():
    from autograder.limits import Limits

    errors = []
    for kind, make in (("v2", _create_v2), ("v1", _create_v1)):
        try:
            group = make(f"{PREFIX}probe-{os.getpid()}-{uuid.uuid4().hex[:6]}", Limits())
        except OSError as exc:
            errors.append(f"{kind}: {exc}")
            continue
        if group is None:
            errors.append(f"{kind}: no writable hierarchy with memory and pids controllers")
            continue
        group.remove()
        roles = ", ".join(sorted(group.dirs)) if kind == "v1" else "memory, pids, cpu"
        return kind, f"cgroup {kind} is writable ({roles})"
    return None, "no writable cgroup (" + "; ".join(errors) + "): limits fall back to rlimits"


def _parent_candidates(mount, own_path):
    own = os.path.join(mount, own_path.lstrip("/"))
    return [own] if os.path.normpath(own) == os.path.normpath(mount) else [own, mount]


def _create_v2(name, limits):
    mounts = [m for m, t, _ in _mounts() if t == "cgroup2"]
    own = _own_paths().get("", "/")
    for mount in mounts:
        for parent in _parent_candidates(mount, own):
            available = set(_read(os.path.join(parent, "cgroup.controllers")).split())
            if not {"memory", "pids"} <= available:
                continue
            wanted = [c for c in ("memory", "pids", "cpu") if c in available]
            try:
                enabled = set(_read(os.path.join(parent, "cgroup.subtree_control")).split())
                missing = [c for c in wanted if c not in enabled]
                if missing:
                    _write(os.path.join(parent, "cgroup.subtree_control"), " ".join("+" + c for c in missing))
                d = os.path.join(parent, name)
                os.mkdir(d)
            except OSError:
                continue
            group = JobCgroup("v2", {"v2": d})
            try:
                _write(os.path.join(d, "memory.max"), limits.memory_bytes)
                if os.path.exists(os.path.join(d, "memory.swap.max")):
                    _write(os.path.join(d, "memory.swap.max"), 0)
                _write(os.path.join(d, "pids.max"), limits.max_processes)
                if "cpu" in wanted:
                    _write(os.path.join(d, "cpu.max"), f"{int(limits.cpus * 100000)} 100000")
            except OSError:
                group.remove()
                raise
            return group
    return None


def _create_v1(name, limits):
    mounts = {}
    for mount, fstype, opts in _mounts():
        if fstype == "cgroup":
            for role in ("memory", "pids", "cpu"):
                if role in opts and os.access(mount, os.W_OK):
                    mounts.setdefault(role, mount)
    if "memory" not in mounts or "pids" not in mounts:
        return None
    own = _own_paths()
    group = JobCgroup("v1")
    try:
        for role, mount in mounts.items():
            parent = os.path.join(mount, own.get(role, "/").lstrip("/"))
            d = os.path.join(parent if os.access(parent, os.W_OK) else mount, name)
            os.mkdir(d)
            group.dirs[role] = d
        mem = group.dirs["memory"]
        _write(os.path.join(mem, "memory.limit_in_bytes"), limits.memory_bytes)
        for optional, value in (("memory.memsw.limit_in_bytes", limits.memory_bytes), ("memory.swappiness", 0)):
            try:
                _write(os.path.join(mem, optional), value)
            except OSError:
                pass  # no swap accounting here: swap is off or unaccounted
        _write(os.path.join(group.dirs["pids"], "pids.max"), limits.max_processes)
        if "cpu" in group.dirs:
            try:
                _write(os.path.join(group.dirs["cpu"], "cpu.cfs_period_us"), 100000)
                _write(os.path.join(group.dirs["cpu"], "cpu.cfs_quota_us"), int(limits.cpus * 100000))
            except OSError:
                os.rmdir(group.dirs.pop("cpu"))
    except OSError:
        group.remove()
        raise
    return group


def reap_orphans() -> int:
    """Kill and remove job groups whose grader process is gone (e.g. a worker killed with SIGKILL).

    A group's name starts with its grader's pid: ``rnngrade-<pid>-<n>-<random>``.
    """
    removed = 0
    own = _own_paths()
    parents = set()
    for mount, fstype, opts in _mounts():
        parents.add(mount)
        for role in (opts if fstype == "cgroup" else {""}):
            if role in own:
                parents.add(os.path.join(mount, own[role].lstrip("/")))
    for root in parents:
        try:
            dirs = os.listdir(root)
        except OSError:
            continue
        for d in dirs:
            parts = d.split("-")
            if not d.startswith(PREFIX) or len(parts) < 4 or not parts[1].isdigit():
                continue
            owner = int(parts[1])
            if owner == os.getpid() or os.path.exists(f"/proc/{owner}"):
                continue
            path = os.path.join(root, d)
            for pid in _read(os.path.join(path, "cgroup.procs")).split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
            for _ in range(50):
                try:
                    os.rmdir(path)
                    removed += 1
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
    return removed

