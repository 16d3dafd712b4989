"""Kernel launcher of the grading sandbox: join the job's cgroup, start a watchdog, set rlimits, exec bwrap.

Run by jupyter_client as the sandboxed kernelspec's argv
(``python -I -S launch.py SPEC.json CONNECTION_FILE``), outside the sandbox, with only the
standard library so it starts in milliseconds. SPEC (written by autograder.isolation.sandbox) holds:

- ``procs_files``: cgroup.procs files to write our pid to (children inherit the group);
- ``rlimits``: resource name -> soft and hard limit (never RLIMIT_AS: it breaks ``import torch``);
- ``watchdog`` (optional): the fields of :class:`autograder.isolation.watchdog.WatchdogPolicy` except
  ``root_pid`` and ``verdict``, plus ``script`` and ``verdict_dir``: a watchdog is started on
  this pid, writing ``verdict_dir/watchdog-<pid>.json`` if it kills;
- ``count_tasks`` (optional): replace ``{nproc}`` in argv by the number of tasks this user
  runs now plus this allowance (RLIMIT_NPROC where the kernel counts every process of the
  user, see :mod:`autograder.isolation.enforcement`);
- ``oom_score_adj`` (optional): written to /proc/self/oom_score_adj, so that if the machine
  runs out of memory anyway (a watchdog that polled too late) its OOM killer takes the
  student's kernel first, not the instructor's Jupyter server or the grader; raising it
  needs no privilege;
- ``prefix`` (optional): a command put before argv, e.g. ``systemd-run --user --scope ...``
  with ``{pid}`` replaced by this pid, so each kernel start gets its own scope;
- ``files``: host files to open and hand to bwrap as ``--file FD DEST`` copies;
- ``argv``: the bwrap command, where ``@fdN`` is the descriptor of ``files[N]`` and
  ``{connection_file}`` the connection file's path;
- ``drop_to``: ``[uid, gid]`` to become before the exec when the grader is root.
- ``zygote`` (optional): instead of exec'ing ``argv``, ask the warm parent listening on
  ``zygote["socket"]`` (:mod:`autograder.isolation.zygote`) to fork the kernel; this process
  then stands for the kernel towards jupyter_client: the job's cgroup, watchdog and
  oom_score_adj are applied to the forked job (whose host pid is written to
  ``pidfile``), and this process exits with the kernel's exit status, or is killed to stop it.
"""

import json
import os
import resource
import signal
import sys


def die_with_grader():
    """SIGKILL this process (bwrap after the exec, which keeps it) when the grader dies.

    bwrap's --die-with-parent covers the sandbox's inside; without this, a grader killed with
    SIGKILL left the outer bwrap and the kernel running, re-parented to init.
    """
    parent = os.getppid()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the grader died before prctl took effect
        os._exit(1)


def start_watchdog(spec, root=None):
    """Start the watchdog on ``root`` (default: this pid), detached (double fork) so it is not
    in the job's tree; its verdict is named after this pid, which jupyter_client knows."""
    me = os.getpid()
    root = root or me
    policy = {k: v for k, v in spec.items() if k not in ("script", "verdict_dir")}
    policy.update(root_pid=root, verdict=os.path.join(spec["verdict_dir"], f"watchdog-{me}.json"))
    path = os.path.join(spec["verdict_dir"], f"watchdog-{me}.spec.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(policy, f)
    child = os.fork()
    if child == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                os.execv(sys.executable, [sys.executable, "-I", "-S", spec["script"], path])
        finally:
            os._exit(0)
    os.waitpid(child, 0)


def user_tasks():
    """Tasks (threads included) of this real uid, as RLIMIT_NPROC counts them without user namespaces."""
    uid, n = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if int(fields.get("Uid", "-1 0").split()[0]) == uid:
            n += int(fields.get("Threads", "1").strip() or 1)
    return n


def main(spec_path, connection_file):
    die_with_grader()
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    if spec.get("zygote"):
        sys.exit(via_zygote(spec, connection_file))
    for path in spec.get("procs_files", []):
        with open(path, "w") as f:
            f.write(str(os.getpid()))
    if spec.get("oom_score_adj") is not None:
        try:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write(str(spec["oom_score_adj"]))
        except OSError:
            pass  # no /proc or a kernel without it: the other limits still hold
    if spec.get("watchdog"):
        start_watchdog(spec["watchdog"])
    nproc = str(user_tasks() + spec["count_tasks"]) if spec.get("count_tasks") else ""
    for name, value in spec.get("rlimits", {}).items():
        value = int(nproc) if value == "{nproc}" else value
        resource.setrlimit(getattr(resource, "RLIMIT_" + name), (value, value))
    fds = []
    for path in spec.get("files", []):
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        os.set_inheritable(fd, True)
        fds.append(fd)
    argv = [a.replace("{pid}", str(os.getpid())) for a in spec.get("prefix", [])]
    for arg in spec["argv"]:
        if arg.startswith("@fd") and arg[3:].isdigit():
            arg = str(fds[int(arg[3:])])
        argv.append(arg.replace("{connection_file}", connection_file).replace("{nproc}", nproc))
    if spec.get("drop_to"):
        drop_privileges(*spec["drop_to"], connection_file)
    os.execv(argv[0], argv)


def drop_privileges(uid, gid, connection_file):
    """Become the sandbox's unprivileged host user (the grader is root), keeping what was
    opened or joined as root (descriptors, cgroup, rlimits). The kernel reads the connection
    file jupyter_client wrote as root, so it is handed over first; a change of uid clears the
    parent-death signal, so it is set again."""
    os.chown(connection_file, uid, gid)
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    die_with_grader()


def via_zygote(spec, connection_file):
    """Have the warm parent fork the kernel; return its exit status (see the module's doc)."""
    import socket
    import struct

    zyg = spec["zygote"]
    nproc = str(user_tasks() + spec["count_tasks"]) if spec.get("count_tasks") else ""
    job = dict(zyg["job"], rlimits={k: int(nproc) if v == "{nproc}" else v for k, v in spec.get("rlimits", {}).items()},
               nproc=int(nproc) if zyg["job"].get("nproc") == "{nproc}" else zyg["job"].get("nproc"))
    job["kernel_args"] = [a.replace("{connection_file}", connection_file) for a in job["kernel_args"]]
    if spec.get("drop_to"):  # the kernel runs as the sandbox's host user and reads this file
        os.chown(connection_file, *spec["drop_to"])
    # The kernel's stderr is this process's (the job's kernel.log), as a cold kernel's would be.
    fds = [os.dup(2)] + [os.open(path, os.O_RDONLY | os.O_NOFOLLOW) for path in spec.get("files", [])]
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    conn.connect(zyg["socket"])
    socket.send_fds(conn, [json.dumps(job).encode() + b"\n"], fds)
    for fd in fds:
        os.close(fd)
    msg, anc, _, _ = conn.recvmsg(1, socket.CMSG_SPACE(struct.calcsize("3i")))
    if msg != b"H":
        return _zygote_failed(conn, msg)
    pid = next(struct.unpack("3i", data)[0] for level, kind, data in anc
               if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS)
    with open(zyg["pidfile"], "w") as f:
        f.write(str(pid))
    for path in spec.get("procs_files", []):
        with open(path, "w") as f:
            f.write(str(pid))
    if spec.get("oom_score_adj") is not None:
        try:
            with open(f"/proc/{pid}/oom_score_adj", "w") as f:
                f.write(str(spec["oom_score_adj"]))
        except OSError:
            pass
    if spec.get("watchdog"):
        start_watchdog(spec["watchdog"], root=pid)
    conn.sendall(b"G")
    msg = conn.recv(1)
    if msg != b"S":
        return _zygote_failed(conn, msg)
    rest = b""
    while not rest.endswith(b"\n"):
        more = conn.recv(4096)
        if not more:
            return 128 + signal.SIGKILL  # the job process was killed (memory limit, clean-up)
        rest += more
    if not rest.startswith(b"X"):
        return _zygote_failed(conn, rest[:1], rest[1:])
    return int(rest[1:])


def _zygote_failed(conn, msg, rest=b""):
    while msg == b"E" and not rest.endswith(b"\n"):
        more = conn.recv(4096)
        if not more:
            break
        rest += more
    why = rest.decode("utf-8", "replace").strip() if msg == b"E" else f"unexpected reply {msg!r}"
    print(f"rnngrade: the warm parent could not start the kernel: {why}", file=sys.stderr, flush=True)
    return 125


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
