"""Kernel launcher of the grading sandbox: join the job's cgroup, set rlimits, exec bwrap.

Run by jupyter_client as the sandboxed kernelspec's argv
(``python -I -S launch.py SPEC.json CONNECTION_FILE``), outside the sandbox, with only the
standard library so it starts in milliseconds. SPEC (written by autograder.sandbox) holds:

- ``procs_files``: cgroup.procs files to write our pid to (children inherit the group);
- ``rlimits``: resource name -> soft and hard limit (never RLIMIT_AS: it breaks ``import torch``);
- ``files``: host files to open and hand to bwrap as ``--file FD DEST`` copies;
- ``argv``: the bwrap command, where ``@fdN`` is the descriptor of ``files[N]`` and
  ``{connection_file}`` the connection file's path.
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


def main(spec_path, connection_file):
    die_with_grader()
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    for path in spec.get("procs_files", []):
        with open(path, "w") as f:
            f.write(str(os.getpid()))
    for name, value in spec.get("rlimits", {}).items():
        resource.setrlimit(getattr(resource, "RLIMIT_" + name), (value, value))
    fds = []
    for path in spec.get("files", []):
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        os.set_inheritable(fd, True)
        fds.append(fd)
    argv = []
    for arg in spec["argv"]:
        if arg.startswith("@fd") and arg[3:].isdigit():
            arg = str(fds[int(arg[3:])])
        argv.append(arg.replace("{connection_file}", connection_file))
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
