"""The warm parent of the grading kernels: import once, fork a fresh, isolated kernel per job.

Run by :mod:`autograder.isolation.zygote_host` inside a bubblewrap sandbox of its own (read-only
system, no network, the course's packages with the checks hidden), as
``python -m autograder.isolation.zygote SOCKET``. It imports what every notebook imports
(:data:`WARM_MODULES`: numpy, torch, matplotlib, IPython, ipykernel, rnnlab, the hidden-check
runtime), prints ``ready``, then serves one connection per kernel start, made by
:mod:`autograder.isolation.launch` on the grader's side:

1. the launcher sends the job (a JSON line) and, as descriptors, its own stderr (the job's
   kernel log) and the job's files: the notebook, the case inputs, the files beside it;
2. the parent forks a *job process*, which says hello (the launcher reads its host pid from
   the socket's credentials and puts it in the job's cgroup, or starts its watchdog) and
   waits for ``go``;
3. the job process unshares user, mount, pid, ipc, uts and network namespaces and mounts
   fresh tmpfs over the home (holding a copy of the submission), /tmp, /dev/shm and the
   jobs' folder (only its own run directory, for the kernel's sockets, is bound back); it
   forks the namespace's init, which mounts a fresh /proc, sets the rlimits and forks the
   kernel; both drop every capability before any student code runs;
4. the job process waits for the kernel's init to exit and sends its exit status, or kills
   it when the launcher's connection closes (jupyter_client killed the launcher).

What a submission changes lives in its own copy-on-write memory, its own tmpfs and its own
namespaces; the parent never runs student code, and nothing it holds is writable or visible
from a job (its pid is outside the job's pid namespace, its files under tmpfs).
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys

from autograder.isolation import nsutil

# What every kernel imports: the notebooks' libraries, and what ipykernel imports while it
# starts (its debugger's debugpy alone takes 0.3 s).
WARM_MODULES = ("numpy", "torch", "matplotlib", "matplotlib.pyplot", "IPython", "ipykernel.kernelapp",
                "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger", "IPython.extensions",
                "pdb", "faulthandler", "tornado.platform.asyncio", "matplotlib_inline.backend_inline",
                "rnnlab", "autograder.runtime", "autograder.isolation.memguard")
SANDBOX_ID = 1000          # the uid and gid the outer sandbox gives the parent, kept inside
MAX_SPEC_BYTES = 1 << 20
MAX_FDS = 256


_IMPORT_ENV = {}   # what the warm imports set in the environment (debugpy sets one variable)


def warm() -> None:
    import importlib

    before = dict(os.environ)
    for name in WARM_MODULES:
        importlib.import_module(name)
    _IMPORT_ENV.update({k: v for k, v in os.environ.items() if before.get(k) != v})


def serve(path: str) -> None:
    """Accept kernel starts on the Unix socket ``path`` until killed."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(64)
    # Job processes are reaped by the kernel; a job process resets this for its own child.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    print("ready", flush=True)
    while True:
        conn, _ = server.accept()
        if os.fork() == 0:
            server.close()
            code = 0
            try:
                _job(conn)
            except BaseException as exc:  # say why, on the launcher's side
                code = 1
                import traceback

                traceback.print_exc()
                try:
                    conn.sendall(b"E" + f"{type(exc).__name__}: {exc}".encode()[:4000] + b"\n")
                except OSError:
                    pass
            finally:
                os._exit(code)
        conn.close()


def _receive(conn) -> tuple[dict, list]:
    data, fds, _, _ = socket.recv_fds(conn, MAX_SPEC_BYTES, MAX_FDS)
    while not data.endswith(b"\n"):
        more = conn.recv(MAX_SPEC_BYTES)
        if not more or len(data) > MAX_SPEC_BYTES:
            raise ValueError("the job's description was cut short")
        data += more
    return json.loads(data), fds


def _expect(conn, what: bytes) -> None:
    got = conn.recv(1)
    if got != what:
        raise ConnectionError(f"the launcher sent {got!r} instead of {what!r}")


def _job(conn) -> None:
    """The job process: isolate, start the kernel's init, relay its end."""
    nsutil.set_parent_death_signal(signal.SIGKILL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    spec, (log, *fds) = _receive(conn)
    # Nothing of the parent's: stdin and stdout from /dev/null, stderr to the job's own log.
    null = os.open(os.devnull, os.O_RDWR)
    for fd, src in ((0, null), (1, null), (2, log)):
        os.dup2(src, fd)
    os.close(null)
    os.close(log)
    conn.sendall(b"H")   # the launcher reads our host pid from this message's credentials
    _expect(conn, b"G")  # ... and has put us in the job's cgroup, or started the watchdog
    outer = (os.getuid(), os.getgid())
    nsutil.unshare(nsutil.CLONE_NEWUSER | nsutil.CLONE_NEWNS | nsutil.CLONE_NEWPID | nsutil.CLONE_NEWIPC
                   | nsutil.CLONE_NEWUTS | nsutil.CLONE_NEWNET)
    nsutil.map_self(SANDBOX_ID, SANDBOX_ID, *outer)
    _mount_job(spec, fds)
    init = os.fork()
    if init == 0:
        conn.close()
        _init(spec)
    conn.sendall(b"S")   # started: the launcher may now return to jupyter_client
    status = _wait(init, conn)
    conn.sendall(b"X" + str(status).encode() + b"\n")


def _mount_job(spec: dict, fds: list) -> None:
    """Fresh tmpfs over every writable place; the job's files copied into its home."""
    nsutil.make_private("/")
    run_dir, jobs = spec["run_dir"], spec["jobs_dir"]
    run_fd = os.open(run_dir, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW)
    scratch = int(spec["scratch_bytes"])
    for place, mode in (("/tmp", "1777"), ("/dev/shm", "1777"), (spec["home"], "0755")):
        nsutil.tmpfs(place, scratch, mode)
    # The jobs' folder (perhaps under /tmp, now covered) holds the parent's socket and, while
    # this job runs, the next job's files: an empty read-only tmpfs, with only this job's run
    # directory (the kernel's connection file and sockets) bound back at its path.
    os.makedirs(jobs, mode=0o711, exist_ok=True)
    nsutil.tmpfs(jobs, 1 << 20, "0711")
    os.makedirs(run_dir, mode=0o711)
    nsutil.bind(f"/proc/self/fd/{run_fd}", run_dir)
    os.close(run_fd)
    nsutil.remount_readonly(jobs)
    work = spec["work"]
    os.makedirs(work, mode=0o755)
    os.makedirs(os.path.join(spec["home"], ".config", "matplotlib"), mode=0o755)
    _copy(fds[0], os.path.join(work, spec["notebook_name"]), 0o644)
    cases = os.path.join(work, spec["cases_name"])
    _copy(fds[1], cases, 0o444)
    nsutil.bind(cases, cases, readonly=True)
    for fd, rel in zip(fds[2:], spec["files"]):
        dest = os.path.join(work, rel)
        os.makedirs(os.path.dirname(dest), mode=0o755, exist_ok=True)
        _copy(fd, dest, 0o644)


def _copy(fd: int, dest: str, mode: int) -> None:
    with os.fdopen(fd, "rb") as src, open(dest, "xb") as out:
        while chunk := src.read(1 << 20):
            out.write(chunk)
    os.chmod(dest, mode)


def _wait(init: int, conn) -> int:
    """The init's exit status (as a shell reports it), or kill it when the launcher is gone."""
    pidfd = os.pidfd_open(init)
    while True:
        ready, _, _ = select.select([pidfd, conn], [], [])
        if pidfd in ready:
            _, status = os.waitpid(init, 0)
            code = os.waitstatus_to_exitcode(status)
            return 128 - code if code < 0 else code
        if not conn.recv(1):  # EOF: the launcher was killed (kernel shutdown)
            os.kill(init, signal.SIGKILL)


def _init(spec: dict) -> None:
    """PID 1 of the job: fresh /proc, rlimits, then the kernel; exits with the kernel's status."""
    try:
        nsutil.set_parent_death_signal(signal.SIGKILL)
        nsutil.mount("proc", "/proc", "proc", nsutil.MS_NOSUID | nsutil.MS_NODEV | nsutil.MS_NOEXEC)
        nsutil.sethostname("sandbox")
        import resource

        for name, value in spec["rlimits"].items():
            resource.setrlimit(getattr(resource, "RLIMIT_" + name), (int(value), int(value)))
        nsutil.drop_all_capabilities()  # before the kernel exists: it never shares a capability
        if spec.get("probe"):  # zygote_host's check that this machine allows all of the above
            os._exit(0 if nsutil.capabilities() == 0 else 126)
        kernel = os.fork()
        if kernel == 0:
            _kernel(spec)
        while True:  # reap orphans until the kernel itself exits
            pid, status = os.wait()
            if pid == kernel:
                code = os.waitstatus_to_exitcode(status)
                os._exit(128 - code if code < 0 else code)
    except BaseException as exc:
        print(f"rnngrade: the job's init failed: {exc}", file=sys.stderr, flush=True)
        os._exit(125)


def _kernel(spec: dict) -> None:
    """The kernel: no capability (inherited from the init), the job's environment, then
    ipykernel in this process."""
    try:
        nsutil.set_parent_death_signal(signal.SIGKILL)
        if nsutil.capabilities() != 0:  # the init dropped them all (and the bounding set) before the fork
            raise PermissionError("the kernel would hold capabilities")
        if spec.get("nproc"):
            import resource

            n = int(spec["nproc"])
            resource.setrlimit(resource.RLIMIT_NPROC, (n, n))
        os.environ.clear()
        # As a fresh kernel's: the job's environment, what its imports set, and the directory
        # bubblewrap's --chdir records in PWD.
        os.environ.update({**spec["env"], **_IMPORT_ENV, "PWD": spec["work"]})
        os.chdir(spec["work"])
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _fresh_random_state()
        sys.argv = ["ipykernel_launcher", *spec["kernel_args"]]
    except BaseException as exc:
        print(f"rnngrade: the kernel's set-up failed: {exc}", file=sys.stderr, flush=True)
        os._exit(125)
    from ipykernel.kernelapp import IPKernelApp

    try:
        IPKernelApp.launch_instance(argv=spec["kernel_args"])
    except SystemExit as exc:
        os._exit(exc.code if isinstance(exc.code, int) else 1)
    except BaseException:
        os._exit(1)
    os._exit(0)


def _fresh_random_state() -> None:
    """Seed what a fresh interpreter seeds at start-up from the OS (the parent's state is shared)."""
    import random

    import numpy
    import torch

    random.seed()
    numpy.random.seed()
    torch.seed()


def main(argv) -> None:
    # `python -m` put the parent's working directory first; a kernel's path has no such entry
    # (ipykernel_launcher removes it, and IPython adds '' for the work directory).
    if sys.path and sys.path[0] == os.getcwd():
        del sys.path[0]
    warm()
    serve(argv[1])


if __name__ == "__main__":
    main(sys.argv)
