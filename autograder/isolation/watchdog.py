"""Memory and process watchdog of one kernel, for machines where no cgroup can be created.

Run by :mod:`autograder.isolation.launch` as ``python -I -S watchdog.py SPEC.json`` (standard library
only), detached from the kernel's process tree so that the engine's clean-up of stray
processes never mistakes it for one. Every ``poll_seconds`` it walks the tree under the
job's root process (the launcher's pid: bwrap, or the kernel without a sandbox) and

- sums the resident memory of the tree (PSS, so pages shared after a ``fork`` count once;
  the cheaper RSS is read first and PSS only when RSS is over the limit),
- reads each process's peak resident memory (VmHWM), which catches a process that grew past
  the limit between two polls, e.g. until RLIMIT_DATA refused its next allocation,
- counts the tree's tasks (threads included, as cgroup pids.max and RLIMIT_NPROC do).

Past a limit it SIGSTOPs then SIGKILLs the whole tree, root included, and writes a verdict
(``{"killed": "memory" or "processes", "used": ..., "limit": ...}``, bytes or tasks) to ``verdict``, where the
engine reads it to say why the kernel died. It exits when the root process is gone; the root
is identified by pid and start time, so a recycled pid is never watched or killed.

Within the sandbox's PID namespace the tree is every process the submission started (an
orphan is re-parented to the namespace's init, inside the tree). Without a sandbox a process
that double-forks leaves the tree: there only a cgroup bounds it.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass

PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class WatchdogPolicy:
    """What the watchdog of one kernel enforces, and how often it looks.

    root_pid : the job's root process (the launcher, which became bwrap or the kernel).
    memory_bytes : resident memory allowed to the whole tree (Limits.memory_bytes).
    max_tasks : tasks (processes and threads) allowed to the tree before it is killed; above
        Limits.max_processes, since RLIMIT_NPROC already refuses forks at that number and
        the watchdog is the backstop where it does not bind (root without a cgroup).
    verdict : file the watchdog writes when it kills (never inside the sandbox's reach).
    poll_seconds : time between two looks at the tree.
    """

    root_pid: int
    memory_bytes: int
    max_tasks: int
    verdict: str
    poll_seconds: float = 0.05

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def start_time(pid: int):
    """Start time of ``pid`` in clock ticks since boot (field 22 of /proc/pid/stat); None when
    it is gone or a zombie (dead, waiting for its parent to collect its status)."""
    fields = _read(f"/proc/{pid}/stat").rsplit(")", 1)[-1].split()
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def _children(pid: int) -> list:
    """Direct children of ``pid`` (from /proc/PID/task/*/children, which lists them per thread)."""
    kids = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids
    for tid in tids:
        kids += [int(c) for c in _read(f"/proc/{pid}/task/{tid}/children").split()]
    return kids


def tree(root: int) -> list:
    """``root`` and all its descendants that still exist."""
    seen, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in seen or not os.path.exists(f"/proc/{pid}"):
            continue
        seen.append(pid)
        todo += _children(pid)
    return seen


def _status(pid: int) -> dict:
    out = {}
    for line in _read(f"/proc/{pid}/status").splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS", "Threads"):
            parts = value.split()
            if parts and parts[0].isdigit():
                out[key] = int(parts[0]) * (1024 if key != "Threads" else 1)
    return out


def _pss(pid: int):
    """Proportional set size of ``pid``; None when we may not read it (e.g. bwrap, not dumpable).

    A process that is gone, or exiting or a zombie (its memory being freed, smaps_rollup
    empty), counts 0: counting its RSS instead made a fork bomb being killed look like
    hundreds of MiB.
    """
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            text = f.read()
    except PermissionError:
        return None
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


@dataclass(frozen=True)
class Sample:
    """One look at the tree: what it uses now and what its biggest process ever used."""

    pids: tuple
    tasks: int
    rss: int
    peak: int   # largest VmHWM of one process
    rss_of: tuple = ()  # RSS of each of pids

    def memory(self) -> int:
        """Resident memory of the tree, shared pages counted once (PSS; RSS where PSS is unreadable).

        A fork bomb's children share their parent's pages: their summed RSS is many times
        what they use. A process that exits between the two reads counts nothing.
        """
        total = 0
        for pid, rss in zip(self.pids, self.rss_of):
            pss = _pss(pid)
            total += rss if pss is None else pss
        return total


def sample(root: int) -> Sample:
    pids = tree(root)
    tasks = peak = 0
    rss_of = []
    for pid in pids:
        st = _status(pid)
        rss_of.append(st.get("VmRSS", 0))
        tasks += st.get("Threads", 1) if st else 0
        peak = max(peak, st.get("VmHWM", 0))
    return Sample(tuple(pids), tasks, sum(rss_of), peak, tuple(rss_of))


def over(policy: WatchdogPolicy, s: Sample):
    """(what, used) when the tree is past a limit, else None."""
    if s.tasks > policy.max_tasks:
        return "processes", s.tasks
    if s.peak > policy.memory_bytes:
        return "memory", s.peak
    if s.rss > policy.memory_bytes:
        used = s.memory()
        if used > policy.memory_bytes:
            return "memory", used
    return None


def stop_then_kill(find, rounds: int = 20) -> int:
    """SIGSTOP what ``find()`` lists, round after round until it lists nothing new, then SIGKILL
    them all; returns how many. A stopped process cannot fork, so a fork bomb cannot refill the
    process table faster than it is emptied. (Also used by autograder.isolation.sandbox.kill_strays.)"""
    stopped = set()
    for _ in range(rounds):
        new = [p for p in find() if p not in stopped and p != os.getpid()]
        if not new:
            break
        for pid in new:
            try:
                os.kill(pid, signal.SIGSTOP)
            except OSError:
                pass
        stopped.update(new)
    for pid in stopped:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return len(stopped)


def kill_tree(root: int, rounds: int = 20) -> None:
    """Stop every process of the tree, then kill them all."""
    stop_then_kill(lambda: tree(root), rounds)


def write_verdict(path: str, verdict: dict) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(verdict, f)
    os.replace(tmp, path)


def watch(policy: WatchdogPolicy, born) -> dict | None:
    """Watch until the root process is gone or killed; return the verdict when it killed."""
    while born is not None and start_time(policy.root_pid) == born:
        s = sample(policy.root_pid)
        hit = over(policy, s)
        if hit is not None:
            what, used = hit
            kill_tree(policy.root_pid)
            verdict = {"killed": what, "used": used, "limit": policy.memory_bytes if what == "memory"
                       else policy.max_tasks, "root_pid": policy.root_pid, "processes": len(s.pids),
                       "tasks": s.tasks, "rss": s.rss, "peak": s.peak}
            write_verdict(policy.verdict, verdict)
            return verdict
        time.sleep(policy.poll_seconds)
    return None


def main(spec_path: str) -> None:
    with open(spec_path) as f:
        policy = WatchdogPolicy(**json.load(f))
    born = start_time(policy.root_pid)
    if born is not None:
        watch(policy, born)


if __name__ == "__main__":
    main(sys.argv[1])
