"""How a job's memory and process limits hold on this machine, chosen once and reported.

The mechanisms, tried in this order (the first that works is used for every job of a run):

1. **cgroup v2 / v1**, created directly (:mod:`autograder.isolation.cgroup`): root, or a user given a
   writable subtree. ``memory.max`` with no swap, ``pids.max``, CPU quota, OOM kills counted.
2. **systemd scope** (:mod:`autograder.isolation.systemd`): a regular user on a cgroup v2 machine run by
   systemd; a transient ``systemd-run --user --scope`` per kernel with MemoryMax and TasksMax.
3. **rlimits + watchdog**: everywhere else (containers, machines without systemd, a user
   without a systemd instance). Memory: RLIMIT_DATA on every process (what torch needs was
   measured, see :class:`FallbackPolicy`) and :mod:`autograder.isolation.watchdog` killing the job past
   ``memory_bytes`` of resident memory. Processes: RLIMIT_NPROC set *inside* the sandbox's
   user namespace, where Linux (5.14 on) counts only the job's own processes, so a busy
   instructor account cannot make an honest submission fail; on older kernels and without a
   sandbox, where it counts every process of the user, it is the user's current count plus
   the job's allowance; in both cases the watchdog also kills a tree past the allowance (the
   only bound for root, which RLIMIT_NPROC does not bind).

RLIMIT_FSIZE (file size) and no core files apply in every case; RLIMIT_AS never does (it
breaks ``import torch``). :func:`choose` picks the mechanism and :meth:`Enforcement.line`
is the sentence ``rnngrade grade`` prints before the first job and records in each result's
``enforced``; :func:`memory_death` turns whatever stopped a kernel for memory into one message.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from autograder.isolation import cgroup as cgroups
from autograder.isolation import systemd
from autograder.limits import MiB
from autograder.isolation.memguard import MEMORY_EXIT

LINE_PREFIX = "limits per job:"
_systemd_cache = None


@dataclass(frozen=True)
class FallbackPolicy:
    """How memory and processes are bounded when no cgroup or systemd scope is available.

    data_overhead_bytes : private writable memory a kernel holds beyond the notebook's own
        data. Measured with benchmarks/bench_rlimit_memory.py: a running kernel after
        ``import torch`` has VmData 342 MiB (245 MiB resident), after the heaviest course
        notebook (a5) 436 MiB (357 MiB resident); the smallest RLIMIT_DATA that lets a5 run
        in a plain process is 288 MiB. RLIMIT_DATA counts writable private mappings only, not
        the PROT_NONE arenas and stacks of the kernel's threads that put its VmPeak at 1.5 GiB
        and make RLIMIT_AS fail torch.
    data_slack : fraction of ``memory_bytes`` added to RLIMIT_DATA above the limit, so that the
        watchdog (which kills at ``memory_bytes`` resident) normally acts first and the rlimit
        is the backstop against memory growing faster than the watchdog polls.
    poll_seconds : time between two looks of the watchdog at the job's processes.
    extra_tasks : tasks the watchdog tolerates above ``max_processes`` (the outer bwrap
        process, and a fork racing the count) before it kills the job.
    """

    data_overhead_bytes: int = 512 * MiB
    data_slack: float = 0.5
    poll_seconds: float = 0.05
    extra_tasks: int = 8

    def data_bytes(self, limits) -> int:
        return int(limits.memory_bytes * (1 + self.data_slack)) + self.data_overhead_bytes


FALLBACK = FallbackPolicy()


@dataclass(frozen=True)
class Enforcement:
    """How the limits of every job of a run hold here (one per run, printed before it starts).

    mechanism : "cgroup v2", "cgroup v1", "systemd scope" or "rlimits + watchdog".
    memory : how the memory limit is enforced ("" when it is not).
    processes : how the process limit is enforced.
    why : what the probes found (why the stronger mechanisms were not used).
    """

    mechanism: str
    memory: str
    processes: str
    why: str = ""

    @property
    def memory_bound(self) -> bool:
        return bool(self.memory)

    def line(self, limits) -> str:
        mem = (f"memory {_mib(limits.memory_bytes)} by {self.mechanism} ({self.memory})" if self.memory_bound
               else "memory NOT LIMITED")
        return (f"{LINE_PREFIX} {mem}; processes {limits.max_processes} by {self.processes}; "
                f"file size {_mib(limits.file_size_bytes)} by RLIMIT_FSIZE")


def _mib(n) -> str:
    return f"{n / MiB:g} MiB"


def nproc_counts_per_namespace(release: str | None = None) -> bool:
    """Whether RLIMIT_NPROC counts per user namespace (Linux >= 5.14, ucounts-based)."""
    release = release or os.uname().release
    try:
        major, minor = (int(x) for x in release.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (5, 14)


def _systemd_probe():
    global _systemd_cache
    if _systemd_cache is None:
        _systemd_cache = systemd.probe()
    return _systemd_cache


def _watchdog_works() -> bool:
    return os.path.exists(f"/proc/{os.getpid()}/task") and os.path.exists(f"/proc/{os.getpid()}/status")


def choose(sandbox: bool = True) -> Enforcement:
    """The mechanism every job of this process will get (probes are cached)."""
    kind, why = cgroups.probe()
    if kind is not None:
        mem = "memory.max, no swap" if kind == "v2" else "memory.limit_in_bytes, no swap"
        return Enforcement(f"cgroup {kind}", mem, f"cgroup {kind} pids.max", why)
    if os.geteuid() == 0 and sandbox:
        # Run as root, the sandbox starts as nobody (autograder.isolation.sandbox.drop_ids), who has no
        # user manager to ask for a scope; root without a cgroup falls back to the watchdog.
        ok, sd_why = False, "not used as root (the sandbox starts as an unprivileged user)"
    else:
        ok, sd_why = _systemd_probe()
    why = f"{why}; systemd: {sd_why}"
    if ok:
        return Enforcement("systemd scope", "systemd-run --user --scope, MemoryMax, MemorySwapMax=0",
                           "systemd scope TasksMax", why)
    if not _watchdog_works():
        return Enforcement("none", "", _nproc_phrase(sandbox), why + "; /proc is not readable: no watchdog")
    mem = (f"RLIMIT_DATA per process at the limit x{1 + FALLBACK.data_slack:g} + "
           f"{_mib(FALLBACK.data_overhead_bytes)}, and a watchdog summing the job's resident memory every "
           f"{FALLBACK.poll_seconds:g} s")
    return Enforcement("rlimits + watchdog", mem, _nproc_phrase(sandbox) + " + watchdog", why)


def _nproc_phrase(sandbox: bool) -> str:
    if os.geteuid() == 0:
        return "the watchdog only (RLIMIT_NPROC does not bind root)"
    if sandbox and nproc_counts_per_namespace():
        return "RLIMIT_NPROC in the sandbox's user namespace (counts only the job's processes)"
    return "RLIMIT_NPROC at this user's current count plus the allowance"


@dataclass
class JobLimits:
    """What :func:`autograder.isolation.sandbox.prepare` applies to one job."""

    cgroup: object = None                        # JobCgroup, SystemdScope or None
    rlimits: dict = field(default_factory=dict)  # set by the launcher, outside the sandbox
    inner_nproc: str | None = None               # RLIMIT_NPROC set inside the sandbox ("{nproc}": by the launcher)
    launch: dict = field(default_factory=dict)   # extra launcher spec: watchdog, count_tasks, prefix
    enforced: list = field(default_factory=list)
    memguard: bool = False                       # a MemoryError stops the kernel (autograder.isolation.memguard)


def plan_job(limits, root: Path, sandbox: bool) -> JobLimits:
    """Create the job's cgroup or scope, or plan its rlimits and watchdog; say what holds."""
    enf = choose(sandbox)
    job = JobLimits(rlimits={"FSIZE": int(limits.file_size_bytes), "CORE": 0})
    job.enforced.append(enf.line(limits))
    if enf.mechanism.startswith("cgroup"):
        job.cgroup = cgroups.create(limits)
        if job.cgroup is not None:
            job.enforced.append(f"memory {limits.memory_bytes} B, processes {limits.max_processes}: cgroup {job.cgroup.kind}")
            return job
        raise RuntimeError("the cgroup probe succeeded but no job cgroup could be created")
    if enf.mechanism == "systemd scope":
        base = f"{systemd.UNIT_PREFIX}{os.getpid()}-{root.name}"
        job.cgroup = systemd.SystemdScope(base)
        job.launch["prefix"] = systemd.prefix(limits, base)
        job.enforced.append(f"memory {limits.memory_bytes} B, processes {limits.max_processes}: systemd scope {base}-*")
        return job
    if enf.memory_bound:
        job.launch["oom_score_adj"] = 1000  # the first victim if the watchdog is ever too late
        job.rlimits["DATA"] = FALLBACK.data_bytes(limits)
        job.launch["watchdog"] = {"memory_bytes": int(limits.memory_bytes),
                                  "max_tasks": int(limits.max_processes) + FALLBACK.extra_tasks,
                                  "poll_seconds": FALLBACK.poll_seconds, "verdict_dir": str(root),
                                  "script": str(Path(__file__).with_name("watchdog.py"))}
        job.memguard = True
        job.enforced.append(f"memory: RLIMIT_DATA {job.rlimits['DATA']} B per process, watchdog at "
                            f"{limits.memory_bytes} B resident for the job, a MemoryError stops the kernel")
    if os.geteuid() != 0:
        if sandbox and nproc_counts_per_namespace():
            job.inner_nproc = str(int(limits.max_processes))
            job.enforced.append(f"processes: RLIMIT_NPROC {limits.max_processes} inside the sandbox's user namespace")
        else:
            job.inner_nproc = "{nproc}"
            job.launch["count_tasks"] = int(limits.max_processes)
            job.enforced.append(f"processes: RLIMIT_NPROC at this user's task count + {limits.max_processes}")
            if not sandbox:  # no namespace: set it in the launcher, before the kernel starts
                job.inner_nproc = None
                job.rlimits["NPROC"] = "{nproc}"
    return job


def memory_death(job, root_pid, oom_kills_at_start: int, limits, exit_code=None) -> str | None:
    """Why a dead kernel died, when the memory bound stopped it (else None).

    job : the sandbox's KernelJob (its cgroup or scope, and the watchdog verdicts in its root).
    root_pid : the launcher's pid of the kernel that died.
    exit_code : the launcher's exit status (bwrap passes the kernel's on).
    """
    limit = f"the kernel was killed for using more than {_mib(limits.memory_bytes)} (the memory limit"
    group = getattr(job, "cgroup", None)
    if group is not None and group.oom_kills() > oom_kills_at_start:
        how = "systemd scope" if group.kind == "systemd scope" else f"cgroup {group.kind}"
        return f"{limit}; out-of-memory kill in its {how})"
    if exit_code == MEMORY_EXIT and any("RLIMIT_DATA" in e for e in getattr(job, "enforced", [])):
        return f"{limit}; an allocation was refused by RLIMIT_DATA)"
    verdict = read_verdict(job.root, root_pid)
    if verdict.get("killed") == "memory":
        return f"{limit}; stopped by the watchdog at {verdict['used'] / MiB:.0f} MiB resident)"
    if verdict.get("killed") == "processes":
        return (f"the kernel was killed for running more than {limits.max_processes} processes and threads "
                f"({verdict['used']} at once; the process limit, enforced by the watchdog)")
    return None


def read_verdict(root: Path, root_pid) -> dict:
    try:
        return json.loads((Path(root) / f"watchdog-{root_pid}.json").read_text())
    except (OSError, ValueError, TypeError):
        return {}


def inner_command(python: str) -> list:
    """argv prefix run inside the sandbox: set RLIMIT_NPROC ({nproc}), then exec the kernel.

    Set there, not by the launcher: RLIMIT_NPROC is then checked against the processes of
    the sandbox's user namespace (only the job's), while the launcher's clone of that
    namespace is still checked against the user's whole count and its normal limit.
    """
    code = ("import os, resource, sys; n = int(sys.argv[1]); "
            "resource.setrlimit(resource.RLIMIT_NPROC, (n, n)); os.execv(sys.argv[2], sys.argv[2:])")
    return [python, "-I", "-S", "-c", code]

