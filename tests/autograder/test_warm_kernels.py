"""Kernels forked from the warm parent (autograder.isolation.zygote): the same sandbox as a
cold kernel, and nothing of one submission reaches the parent or the next submission.

Warm kernels are opt-in (``rnngrade grade --warm-kernels``): graded warm, the hostile
fixtures get their expected points, but a fork bomb ends at the memory limit ("crashed")
instead of the process limit ("timeout"). These tests pin what is specific to forking:
module state, files, environment, processes, capabilities and the parent's own socket and
folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import nbformat
import pytest

from autograder.grading.kernel import run_notebook
from autograder.isolation import zygote_host
from autograder.limits import Limits, SandboxPolicy

pytestmark = [pytest.mark.needs_sandbox, pytest.mark.slow]
LIMITS = Limits(cell_timeout=30, startup_timeout=90)
WARM, COLD = SandboxPolicy(warm=True), SandboxPolicy(warm=False)


@pytest.fixture(scope="module", autouse=True)
def job_base():
    base = tempfile.mkdtemp(prefix="rngw-")
    os.chmod(base, 0o711)  # graded as root, the sandbox's unprivileged user must reach it
    old = os.environ.get("RNNGRADE_TMP")
    os.environ["RNNGRADE_TMP"] = base
    zygote_host.stop()
    yield Path(base)
    zygote_host.stop()
    if old is None:
        os.environ.pop("RNNGRADE_TMP", None)
    else:
        os.environ["RNNGRADE_TMP"] = old
    shutil.rmtree(base, ignore_errors=True)


def _run(cells: list, policy: SandboxPolicy) -> list:
    """Run ``cells`` in one kernel; the JSON each cell printed last (None where it printed none)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    run = run_notebook(nb, "t.ipynb", nbformat.writes(nb).encode(), {}, LIMITS, policy)
    out = []
    for i, cell in enumerate(nb.cells):
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors or i == len(cells) - 1, (i, errors, run.reasons)
        out.append(json.loads(text.strip().splitlines()[-1]) if text.strip() else None)
    return out


FACTS = r'''
import json, os, socket, sys
def writable(d):
    try:
        with open(os.path.join(d, ".probe"), "w") as f:
            f.write("x")
        os.remove(os.path.join(d, ".probe"))
        return True
    except OSError:
        return False
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
print(json.dumps({
    "cwd": os.getcwd(), "listing": sorted(os.listdir(".")), "path": sys.path,
    "env": {k: v for k, v in os.environ.items() if k != "JPY_PARENT_PID"},
    "ids": [os.getuid(), os.getgid(), os.geteuid()], "host": socket.gethostname(),
    "root": sorted(os.listdir("/")), "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "pid": os.getpid(), "ifaces": sorted(n for _, n in socket.if_nameindex()),
    "writable": {d: writable(d) for d in [os.path.expanduser("~"), ".", "/tmp", "/dev/shm", "/usr", "/etc", "/"]},
    "caps": [status["CapEff"].strip(), status["CapPrm"].strip(), status["CapBnd"].strip()],
    "no_new_privs": status["NoNewPrivs"].strip(),
}))
'''


def test_a_warm_kernel_sees_what_a_cold_kernel_sees():
    warm, = _run([FACTS], WARM)
    cold, = _run([FACTS], COLD)
    assert warm.pop("root") == cold.pop("root")
    # bubblewrap drops every capability too, and sets no_new_privs
    assert warm.pop("caps") == ["0000000000000000"] * 3
    assert cold.pop("caps")[0] == "0000000000000000"
    assert warm.pop("no_new_privs") == cold.pop("no_new_privs") == "1"
    assert warm == cold
    assert warm["pid"] == 2 and warm["pids"] == [1, 2]  # alone in its pid namespace
    assert warm["ifaces"] == ["lo"] and warm["host"] == "sandbox"
    home = warm["env"]["HOME"]
    assert warm["writable"] == {home: True, ".": True, "/tmp": True, "/dev/shm": True,
                                "/usr": False, "/etc": False, "/": False}


def _attack(zroot: Path) -> list:
    """Cells of a submission that changes everything it can reach, then kills what it sees."""
    return [
        "import json, os, subprocess, numpy, torch, rnnlab, autograder.runtime as rt\n"
        "numpy.leaked = torch.leaked = rnnlab.leaked = 'A'\n"
        "numpy.zeros = lambda *a, **k: 'patched'\n"
        "rt.hidden_check = lambda *a, **k: None\n"
        "os.environ['LEAKED'] = 'A'\n"
        "for d in (os.path.expanduser('~'), '/tmp', '/dev/shm', '.'):\n"
        "    open(os.path.join(d, 'leaked-A'), 'w').write('A')\n"
        "torch.manual_seed(123); numpy.random.seed(123)\n"
        "subprocess.Popen(['sleep', '600'], start_new_session=True)\n"
        "print(json.dumps(True))",
        "import ctypes, glob\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        f"zroot = {str(zroot)!r}\n"
        "tried = {'umount': libc.umount2(zroot.encode(), 2), 'umount_errno': ctypes.get_errno(),\n"
        "         'mount': libc.mount(b'none', b'/tmp', b'tmpfs', 0, None), 'mount_errno': ctypes.get_errno()}\n"
        "print(json.dumps({'tried': tried, 'ppid': os.getppid(),\n"
        "    'pids': sorted(int(p) for p in os.listdir('/proc') if p.isdigit()),\n"
        "    'zroot': sorted(os.listdir(zroot)), 'socket': os.path.exists(zroot + '/zyg/socket')}))",
        "import signal\nos.kill(-1, signal.SIGKILL)",  # every process it can signal: its own namespace only
    ]


CHECK = r'''
import json, os, numpy, torch, rnnlab, autograder.runtime as rt
cmdlines = []
for p in os.listdir("/proc"):
    if p.isdigit():
        cmdlines.append(open(f"/proc/{p}/cmdline", "rb").read().replace(b"\0", b" ").decode())
print(json.dumps({
    "modules": [hasattr(m, "leaked") for m in (numpy, torch, rnnlab)],
    "zeros": str(numpy.zeros(2)), "hidden_check": rt.hidden_check.__module__,
    "env": os.environ.get("LEAKED"),
    "files": [os.path.exists(os.path.join(d, "leaked-A")) for d in (os.path.expanduser("~"), "/tmp", "/dev/shm", ".")],
    "sleepers": [c for c in cmdlines if "sleep" in c],
    "seed": torch.initial_seed(),
}))
'''


def test_a_warm_submission_cannot_reach_the_parent_or_the_next_submission():
    fresh, = _run([CHECK], WARM)
    zygote, _ = zygote_host.get(LIMITS)
    parent_pid = zygote.proc.pid
    changed, seen, _ = _run(_attack(zygote.root), WARM)
    assert changed is True
    # no capability: the tmpfs hiding the parent's folder cannot be unmounted, nothing mounted
    assert seen["tried"]["umount"] == -1 and seen["tried"]["umount_errno"] == 1  # EPERM
    assert seen["tried"]["mount"] == -1 and seen["tried"]["mount_errno"] == 1
    # the parent is outside its pid namespace (the ppid of the kernel is its own init)
    assert seen["ppid"] == 1 and max(seen["pids"]) < 100
    # the parent's folder shows only this job's own run directory, and no socket
    assert len(seen["zroot"]) == 1 and not seen["socket"]
    after, = _run([CHECK], WARM)
    assert zygote_host.get(LIMITS)[0].proc.pid == parent_pid  # the same parent served all three
    assert after.pop("seed") != 123 and fresh.pop("seed") != 123  # A's torch.manual_seed(123)
    assert after == fresh
    assert after["modules"] == [False, False, False] and after["zeros"] == "[0. 0.]"
    assert after["hidden_check"] == "autograder.runtime" and after["env"] is None
    assert after["files"] == [False] * 4 and after["sleepers"] == []


def test_each_warm_kernel_draws_fresh_random_numbers():
    """The parent's random state is shared by every fork: each kernel reseeds what a fresh
    interpreter seeds from the OS (Python's, numpy's and torch's global generators)."""
    cell = ("import json, random, numpy, torch\n"
            "print(json.dumps([random.random(), float(numpy.random.rand()), torch.initial_seed()]))")
    first, = _run([cell], WARM)
    second, = _run([cell], WARM)
    cold, = _run([cell], COLD)
    cold_again, = _run([cell], COLD)
    assert cold[2] != cold_again[2]  # what a fresh interpreter does, and so must a fork
    assert all(a != b for a, b in zip(first, second))


def test_a_dead_parent_is_replaced_and_the_next_job_still_graded():
    zygote, _ = zygote_host.get(LIMITS)
    zygote.proc.kill()
    zygote.proc.wait()
    out, = _run(["import json; print(json.dumps(1 + 1))"], WARM)
    assert out == 2
    assert zygote_host.get(LIMITS)[0] is not zygote


def test_where_a_warm_kernel_cannot_isolate_itself_kernels_start_cold(monkeypatch):
    """A machine that refuses a step of the fork's isolation (say, nested user namespaces)
    grades with cold kernels, saying so in each result; it is never a grading failure."""
    zygote_host.stop()
    monkeypatch.setattr(zygote_host, "unusable", "")  # restored after the test

    def refuse(self):
        raise RuntimeError("a warm kernel cannot isolate itself here: unshare: Operation not permitted")

    monkeypatch.setattr(zygote_host.Zygote, "probe", refuse)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    for _ in range(2):  # the second job does not try the parent again
        run = run_notebook(nb, "t.ipynb", nbformat.writes(nb).encode(), {}, LIMITS, WARM)
        assert run.status == "graded" and nb.cells[0].outputs[-1]["text"].strip() == "42"
        assert any(e.startswith("cold kernel: a warm kernel cannot isolate itself here") for e in run.enforced)
        assert not any(e.startswith("warm kernel") for e in run.enforced)
        assert zygote_host.current_root() is None
        nb.cells[0].outputs = []
