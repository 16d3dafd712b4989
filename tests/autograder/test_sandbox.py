"""Tests of autograder.isolation.sandbox, autograder.isolation.cgroup and autograder.limits."""

import subprocess
import time
from pathlib import Path

import pytest

from autograder.isolation import cgroup, sandbox
from autograder.limits import GiB, Limits, MiB

REPO = Path(sandbox.__file__).resolve().parents[2]


def test_limits_defaults_and_validation():
    limits = Limits()
    assert (limits.notebook_timeout, limits.cell_timeout, limits.memory_bytes) == (300.0, 60.0, 2 * GiB)
    assert (limits.max_processes, limits.output_bytes_per_cell, limits.file_size_bytes) == (256, MiB, 64 * MiB)
    assert Limits.from_dict(limits.replace(cell_timeout=5).to_dict()).cell_timeout == 5
    with pytest.raises(ValueError, match="cell_timeout must be a positive number"):
        Limits(cell_timeout=0)
    with pytest.raises(ValueError, match="unknown limits"):
        Limits.from_dict({"wall": 3})


def _command(tmp_path):
    job = sandbox.KernelJob(tmp_path, tmp_path / "run", [], "k", True)
    return sandbox._bwrap_command(job, "a1.ipynb", Limits())


def test_bwrap_command_hides_the_course_and_the_host(tmp_path):
    argv = _command(tmp_path)
    pairs = {(argv[i], argv[i + 1]) for i in range(len(argv) - 1)}
    sources = {argv[i + 1] for i, a in enumerate(argv) if a in ("--ro-bind", "--bind")}
    for needed in ("--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--clearenv"):
        assert needed in argv
    assert ("--tmpfs", str(REPO / "autograder" / "checks")) in pairs
    assert ("--remount-ro", str(REPO / "autograder" / "checks")) in pairs
    assert "/" not in sources and "/tmp" not in sources and str(REPO) not in sources
    assert not any(s.startswith(str(REPO / "solutions")) or s.endswith("gradebook.db") for s in sources)
    assert {s for s in sources if s.startswith(str(REPO))} <= {str(REPO / "rnnlab"), str(REPO / "autograder"), str(REPO / ".venv")}
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "--bind"] == [str(tmp_path / "run")]
    assert ("--setenv", "OMP_NUM_THREADS") in pairs


def test_kernelspec_uses_message_interrupts_and_the_launcher(tmp_path):
    import json

    job = sandbox.prepare("a1.ipynb", b"{}", {"checks": {}}, Limits(), sandbox=False, base_dir=str(tmp_path))
    try:
        spec = json.loads((Path(job.kernel_dirs[0]) / "rnngrade" / "kernel.json").read_text())
        assert spec["interrupt_mode"] == "message" and spec["argv"][-1] == "{connection_file}"
        launch = json.loads((job.root / "launch.json").read_text())
        assert launch["rlimits"]["FSIZE"] == 64 * MiB and "AS" not in launch["rlimits"]
        assert (job.root / "work" / "a1.ipynb").exists() and len(job.ipc_prefix) < 90
    finally:
        job.cleanup()
    assert not job.root.exists()


def test_prepare_refuses_path_like_notebook_names(tmp_path):
    with pytest.raises(ValueError, match="plain file name"):
        sandbox.prepare("../x.ipynb", b"{}", {}, Limits(), base_dir=str(tmp_path))


@pytest.mark.slow
@pytest.mark.skipif(not cgroup.probe()[0], reason=cgroup.probe()[1])
def test_cgroup_limits_processes_and_kills_everything():
    group = cgroup.create(Limits(max_processes=8, memory_bytes=256 * MiB))
    try:
        script = ("import os, time\nn = 0\nfor _ in range(30):\n    try:\n        if os.fork() == 0:\n"
                  "            time.sleep(60)\n        n += 1\n    except OSError:\n        break\nprint(n)\n")
        join = f"open({group.procs_files[0]!r}, 'w').write(str(os.getpid())); " if group.kind == "v2" else \
            "".join(f"open({p!r}, 'w').write(str(os.getpid())); " for p in group.procs_files)
        proc = subprocess.Popen(["python3", "-c", "import os; " + join + "exec(" + repr(script) + ")"],
                                stdout=subprocess.PIPE, text=True)
        forked = int(proc.stdout.readline())
        assert 0 < forked < 8
        assert group.pids()
        assert group.kill_all()
        proc.wait(timeout=5)
    finally:
        group.remove()
    assert not any(Path(d).exists() for d in group.dirs.values())


@pytest.mark.slow
@pytest.mark.needs_sandbox  # a failure, not a skip, under CI (conftest.require_sandbox)
def test_available_probe_starts_bwrap_quickly():
    sandbox._available_cache = None
    start = time.monotonic()
    ok, reason = sandbox.available()
    assert ok and "no network" in reason and time.monotonic() - start < 5


@pytest.mark.parametrize("rel", ["../x", "/etc/passwd", "a/../../x", "nb.ipynb", "rnngrade-cases.json", ""])
def test_extra_files_cannot_leave_the_work_directory_or_hide_the_notebook(rel):
    from autograder.limits import Limits
    from autograder.isolation.sandbox import check_files

    with pytest.raises(ValueError, match="extra file path"):
        check_files({rel: b"x"}, "nb.ipynb", Limits())


def test_extra_files_must_fit_in_the_sandbox():
    from autograder.limits import Limits
    from autograder.isolation.sandbox import check_files

    limits = Limits(scratch_bytes=1000)
    assert check_files({"a/b.txt": b"x" * 500}, "nb.ipynb", limits) == {"a/b.txt": b"x" * 500}
    with pytest.raises(ValueError, match="scratch space"):
        check_files({"a.txt": b"x" * 501}, "nb.ipynb", limits)
