"""The grader's side of the warm parent: start it once per worker process, hand out its socket.

:func:`get` returns this process's :class:`Zygote`, starting it (or starting it again, if it
died) inside a bubblewrap sandbox of its own: the same read-only system, Python and course
packages (checks hidden) as a kernel's sandbox, no network, uid 1000 in a user namespace (as
the unprivileged host user when the grader is root), and two differences a forked kernel
needs: the jobs' folder (:attr:`Zygote.jobs_dir`, where :func:`autograder.isolation.sandbox.prepare`
puts each job's run directory) is bound in, and the host's /proc is bound instead of a new
one, because Linux lets a nested user namespace mount a fresh /proc only where a complete one
is visible. Every job covers both with its own mounts before any student code runs
(:mod:`autograder.isolation.zygote`).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.isolation import nsutil
from autograder.isolation import sandbox as sandboxes

START_TIMEOUT = 120.0   # s, for the parent's imports (torch) on a loaded machine
_zygote = None
unusable = ""           # why warm kernels cannot start in this process, once found


class Zygote:
    """A running warm parent: its process, its socket and the folder its jobs go in."""

    def __init__(self, limits):
        base = os.environ.get("RNNGRADE_TMP") or tempfile.gettempdir()
        self.root = Path(tempfile.mkdtemp(prefix="rng-z", dir=base))
        self.jobs_dir = self.root   # each job hides the whole folder, socket included
        self.socket = str(self.root / "zyg" / "socket")
        self.proc = None
        owner = sandboxes.drop_ids()
        try:
            os.chmod(self.root, 0o711)
            (self.root / "zyg").mkdir(mode=0o700)
            if owner is not None:
                os.chown(self.root / "zyg", *owner)
            self._start(limits, owner)
        except BaseException:
            self.stop()
            raise

    def _start(self, limits, owner):
        argv = _bwrap_command(self, limits) + [sandboxes._venv_python(), "-m", "autograder.isolation.zygote",
                                               self.socket]
        ids = {"user": owner[0], "group": owner[1], "extra_groups": []} if owner else {}
        self.log = open(self.root / "zygote.log", "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log,
                                     preexec_fn=_die_with_grader, **ids)
        self.ready = False
        self.started = time.monotonic()

    def wait_ready(self):
        """Wait until the parent has imported everything and listens (RuntimeError if it died)."""
        deadline = self.started + START_TIMEOUT
        while not self.ready and time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                line = self.proc.stdout.readline()
                self.ready = line.strip() == b"ready"
                if not line:
                    break
        if not self.ready:
            raise RuntimeError(f"the warm parent did not start; its log ends: {self.log_tail()}")
        self.probe()

    def probe(self):
        """Fork one job that isolates itself as a kernel's would, then exits: RuntimeError
        when this machine refuses a step (nested user namespaces, a fresh /proc...)."""
        job = Path(tempfile.mkdtemp(prefix="probe-", dir=self.jobs_dir))
        try:
            os.chmod(job, 0o711)
            (job / "run").mkdir(mode=0o700)
            owner = sandboxes.drop_ids()
            if owner is not None:
                os.chown(job / "run", *owner)
            spec = {"probe": True, "notebook_name": "probe.ipynb", "cases_name": sandboxes.CASES_NAME,
                    "files": [], "run_dir": str(job / "run"), "jobs_dir": str(self.jobs_dir),
                    "home": sandboxes.HOME, "work": sandboxes.WORK, "scratch_bytes": 1 << 20, "env": {},
                    "nproc": None, "rlimits": {}, "kernel_args": []}
            fds = [os.open(os.devnull, os.O_WRONLY)] + [os.open(os.devnull, os.O_RDONLY) for _ in range(2)]
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(START_TIMEOUT)
                conn.connect(self.socket)
                socket.send_fds(conn, [json.dumps(spec).encode() + b"\n"], fds)
                for fd in fds:
                    os.close(fd)
                got = b""
                while True:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    got += chunk
                    if got == b"H":
                        conn.sendall(b"G")
            if got != b"HSX0\n":
                why = got[got.find(b"E") + 1:].decode("utf-8", "replace").strip() if b"E" in got else repr(got)
                raise RuntimeError(f"a warm kernel cannot isolate itself here: {why}")
        finally:
            shutil.rmtree(job, ignore_errors=True)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n: int = 800) -> str:
        try:
            return (self.root / "zygote.log").read_bytes()[-n:].decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if getattr(self, "log", None) is not None:
            self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


def get(limits) -> tuple[Zygote, float]:
    """This process's warm parent, started on first use and again after it died, and the
    seconds spent starting it now (0.0 when it was running)."""
    global _zygote, unusable
    if _zygote is not None and _zygote.ready and _zygote.alive() and os.path.exists(_zygote.socket):
        return _zygote, 0.0
    if unusable:
        raise RuntimeError(unusable)
    start = time.monotonic()
    if _zygote is None or _zygote.ready or not _zygote.alive():
        prestart(limits)
    try:
        _zygote.wait_ready()
    except RuntimeError as exc:
        stop()
        unusable = str(exc)  # not tried again by this process: every job would fail the same way
        raise
    except BaseException:
        stop()
        raise
    return _zygote, time.monotonic() - start


def prestart(limits) -> None:
    """Start this process's warm parent without waiting for it (a worker does so before its
    first job, so the parent's imports overlap the rest of the run's start)."""
    global _zygote
    from autograder.isolation import enforcement

    if enforcement.choose(True).mechanism == "systemd scope":
        return  # kernels are then started cold (sandbox.prepare)
    if isinstance(limits, dict):
        from autograder.limits import Limits

        limits = Limits.from_dict(limits)
    stop()
    _zygote = Zygote(limits)


def current_root() -> Path | None:
    """The folder of this process's warm parent while one runs (it outlives each job)."""
    return _zygote.root if _zygote is not None and _zygote.alive() else None


def stop() -> None:
    """Stop this process's warm parent (its folder is removed)."""
    global _zygote
    if _zygote is not None:
        _zygote.stop()
        _zygote = None


def _die_with_grader():
    nsutil.set_parent_death_signal(signal.SIGKILL)


def _bwrap_command(zygote: Zygote, limits) -> list:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise RuntimeError("bubblewrap (bwrap) is not installed: apt-get install bubblewrap, or grade with sandbox=False")
    m = sandboxes._system_mounts(str(int(limits.scratch_bytes)), proc=("--bind", "/proc", "/proc"))
    m.add("--bind", str(zygote.jobs_dir), str(zygote.jobs_dir), dest=str(zygote.jobs_dir))
    m.add("--perms", "0755", "--size", str(int(limits.scratch_bytes)), "--tmpfs", sandboxes.HOME, dest=sandboxes.HOME)
    env = []
    for key, value in sandboxes._sandbox_env(limits).items():
        env += ["--setenv", key, value]
    return [bwrap, "--unshare-all", "--unshare-user", "--uid", str(sandboxes.SANDBOX_UID),
            "--gid", str(sandboxes.SANDBOX_UID), "--hostname", "sandbox", "--die-with-parent",
            "--new-session", "--clearenv", *env, *m.args, "--remount-ro", "/", "--chdir", sandboxes.HOME, "--"]


if __name__ == "__main__":  # a manual probe: start one, print its root, stop it
    from autograder.limits import Limits

    t = time.monotonic()
    z, _ = get(Limits())
    print(z.root, f"{time.monotonic() - t:.2f} s", file=sys.stderr)
    stop()
