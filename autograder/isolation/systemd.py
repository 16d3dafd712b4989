"""A transient systemd user scope per kernel: memory and process limits for a regular user.

On cgroup v2 machines run by systemd (current Ubuntu, Debian, Fedora), a regular user cannot
create cgroups under its own session scope, but its systemd user manager (``user@UID.service``)
is delegated the memory and pids controllers and starts transient scopes on request. The
launcher puts ``systemd-run --user --scope -p MemoryMax=... -p TasksMax=... --`` before
bubblewrap; systemd-run registers its own pid as a new scope and execs the rest, so the kernel
and everything it starts are inside. Each kernel start gets its own unit,
``<base>-<launcher pid>.scope``. When the kernel's out-of-memory killer fires in the scope,
systemd marks the unit ``Result=oom-kill``, which is how the engine tells a memory kill from
a crash. Units are not garbage-collected on failure (no ``--collect``) so that result can be
read; :meth:`SystemdScope.remove` stops and resets them.

Needs the user's systemd instance and bus (``XDG_RUNTIME_DIR``; on a server without a login
session, ``loginctl enable-linger USER``). :func:`probe` checks that a scope really gets the
limits (its ``memory.max`` and ``pids.max``), not only that systemd-run exits 0: without a
delegated memory controller systemd accepts MemoryMax and silently enforces nothing.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

UNIT_PREFIX = "rnngrade-"
PROBE_MEMORY, PROBE_TASKS = 64 * 2**20, 16
# Run inside the probe scope: print its memory.max and pids.max, read from the cgroup v2 tree.
_PROBE_CODE = (
    "path = open('/proc/self/cgroup').read().split('0::', 1)[1].split()[0]\n"
    "mount = next(l.split(' - ')[0].split()[4] for l in open('/proc/self/mountinfo') if ' - cgroup2 ' in l)\n"
    "d = mount + path\n"
    "print(open(d + '/memory.max').read().strip(), open(d + '/pids.max').read().strip())\n")


def _tool(name: str) -> str | None:
    return shutil.which(name)


def probe(timeout: float = 15.0) -> tuple:
    """(ok, reason): whether a transient user scope with MemoryMax and TasksMax holds here."""
    run = _tool("systemd-run")
    if run is None:
        return False, "systemd-run not found"
    if os.geteuid() == 0:
        return False, "running as root (a cgroup is created directly instead)"
    argv = [run, "--user", "--scope", "--quiet", "-p", f"MemoryMax={PROBE_MEMORY}", "-p", f"TasksMax={PROBE_TASKS}",
            "--", sys.executable, "-I", "-S", "-c", _PROBE_CODE]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"systemd-run --user failed: {exc}"
    return parse_probe(proc.returncode, proc.stdout, proc.stderr)


def parse_probe(returncode: int, stdout: str, stderr: str) -> tuple:
    if returncode != 0:
        last = (stderr.strip().splitlines() or ["no message"])[-1]
        return False, f"systemd-run --user --scope failed (exit {returncode}: {last[:200]})"
    got = stdout.split()
    if got != [str(PROBE_MEMORY), str(PROBE_TASKS)]:
        return False, (f"a systemd user scope does not get its limits (memory.max, pids.max = {' '.join(got) or '?'}): "
                       "the memory and pids controllers are not delegated to the user manager")
    return True, "transient systemd user scopes get MemoryMax and TasksMax"


def prefix(limits, base: str) -> list:
    """The command the launcher puts before bwrap; ``{pid}`` becomes the launcher's pid."""
    run = _tool("systemd-run") or "systemd-run"
    props = [f"MemoryMax={int(limits.memory_bytes)}", "MemorySwapMax=0", f"TasksMax={int(limits.max_processes)}",
             f"CPUQuota={int(round(limits.cpus * 100))}%"]
    argv = [run, "--user", "--scope", "--quiet", f"--unit={base}-{{pid}}"]
    for p in props:
        argv += ["-p", p]
    return argv + ["--"]


class SystemdScope:
    """The scopes of one job's kernels, with the interface of :class:`autograder.isolation.cgroup.JobCgroup`."""

    kind = "systemd scope"
    procs_files: list = []

    def __init__(self, base: str):
        self.base = base

    def _systemctl(self, *args) -> str:
        tool = _tool("systemctl")
        if tool is None:
            return ""
        try:
            return subprocess.run([tool, "--user", *args], capture_output=True, text=True, timeout=15).stdout
        except (OSError, subprocess.TimeoutExpired):
            return ""

    def units(self) -> list:
        out = self._systemctl("list-units", "--all", "--plain", "--no-legend", "--type=scope", f"{self.base}-*")
        return [line.split()[0] for line in out.splitlines() if line.strip().startswith(self.base + "-")]

    def _show(self, prop: str) -> list:
        units = self.units()
        if not units:
            return []
        return [v.strip() for v in self._systemctl("show", "-p", prop, "--value", *units).splitlines() if v.strip()]

    def oom_kills(self) -> int:
        return sum(1 for r in self._show("Result") if r == "oom-kill")

    def pids(self) -> set:
        mount = _cgroup2_mount()
        found = set()
        for group in self._show("ControlGroup"):
            try:
                with open(os.path.join(mount, group.lstrip("/"), "cgroup.procs")) as f:
                    found |= {int(p) for p in f.read().split()}
            except OSError:
                pass
        return found

    def peak_memory(self):
        return None

    def kill_all(self, timeout=2.0):
        units = self.units()
        if units:
            self._systemctl("kill", "--signal=SIGKILL", *units)
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return not self.pids()

    def remove(self):
        self.kill_all()
        units = self.units()
        if units:
            self._systemctl("stop", *units)
            self._systemctl("reset-failed", *units)


def _cgroup2_mount() -> str:
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                if " - cgroup2 " in line:
                    return line.split(" - ")[0].split()[4]
    except OSError:
        pass
    return "/sys/fs/cgroup"
