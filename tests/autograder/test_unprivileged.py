"""The hostile fixtures graded by a regular user: every limit holds without root.

The tests run as root (CI); these drop to a throwaway system user (``useradd``, then
``runuser``) and run tests/autograder/grade_as.py as that user, which grades in its own
process with the repository's virtualenv. That user cannot write any cgroup, so the memory
and process limits come from the fallback (rlimits + watchdog) here, or from a systemd scope
on a machine that has one. Each fixture must get the status, reason and points it gets under
root (test_engine.py, same limits), a memory bomb must read "killed for using more than
512 MiB", and nothing the submissions started may outlive the grading.
"""
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from test_engine import EXPECTED, FIXTURES, HOSTILE, LIMITS, POINTS

REPO = Path(__file__).resolve().parents[2]
USER = "rnngrade-t"
CASES = ["unbounded-memory", "fork-bomb", "writes-huge-file", "prints-megabytes", "kills-own-kernel"]

pytestmark = pytest.mark.slow


def _cannot(reason: str):
    """Skip on a developer's machine; under CI (which runs as root) a skip would hide that the
    limits were never tried as a regular user, so it fails instead."""
    (pytest.fail if os.environ.get("CI") else pytest.skip)(reason)


def _user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER], check=True)
        return pwd.getpwnam(USER)


def _as_user(argv, home, **kw):
    env = ["env", "-i", f"HOME={home}", f"PATH={Path(sys.executable).parent}:/usr/bin:/bin", "OMP_NUM_THREADS=1",
           "LANG=C.UTF-8"]
    return subprocess.run(["runuser", "-u", USER, "--", *env, *argv], capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def workdir():
    if os.geteuid() != 0 or not shutil.which("runuser"):
        _cannot("needs root to create and become a throwaway user")
    user = _user()
    base = Path(tempfile.mkdtemp(prefix="rng-user-"))
    os.chmod(base, 0o755)
    os.chown(base, user.pw_uid, user.pw_gid)
    probe = _as_user([sys.executable, "-c", "import autograder.grading.engine, torch"], base, cwd=REPO)
    if probe.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        _cannot(f"{USER} cannot run this virtualenv and repository (make it readable, e.g. a venv on "
                    f"/usr/bin/python3.11 outside /root): {probe.stderr.strip()[-300:]}")
    yield base
    shutil.rmtree(base, ignore_errors=True)


def _background_notebook(folder: Path) -> Path:
    """Honest code that leaves a detached process and a double-forked daemon behind."""
    nb = nbformat.read(FIXTURES / "submissions" / "honest.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "add":
            cell.source = ("import os, subprocess, time\n\ndef add(a, b):\n    return a + b\n\n"
                           "subprocess.Popen(['sleep', '600'], start_new_session=True)\n"
                           "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(600)\n"
                           "    os._exit(0)\n")
    path = folder / "leaves-background-processes.ipynb"
    nbformat.write(nb, path)
    os.chmod(path, 0o644)
    return path


def _big_allocation_notebook(folder: Path) -> Path:
    """Honest add, then one 2 GiB allocation: past RLIMIT_DATA at once, under a cgroup an OOM kill."""
    nb = nbformat.read(FIXTURES / "submissions" / "honest.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "add":
            cell.source += "\n\nimport numpy as np\nbig = np.ones(2**28)\n"
    path = folder / "allocates-2gib-at-once.ipynb"
    nbformat.write(nb, path)
    os.chmod(path, 0o644)
    return path


def _grade_as_user(workdir: Path, name: str, notebooks: list) -> tuple:
    out = workdir / name
    out.mkdir()
    user = pwd.getpwnam(USER)
    os.chown(out, user.pw_uid, user.pw_gid)
    proc = _as_user([sys.executable, str(REPO / "tests" / "autograder" / "grade_as.py"), str(out),
                     json.dumps(LIMITS.to_dict()), *map(str, notebooks)], workdir, cwd=REPO, timeout=600)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 0 and lines, proc.stderr[-2000:]
    return lines[0], {r["case"]: r for r in lines[1:]}


def _user_processes() -> list:
    uid = pwd.getpwnam(USER).pw_uid
    return [p for p in os.listdir("/proc") if p.isdigit() and _uid(p) == uid]


def _uid(pid):
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def test_hostile_fixtures_are_stopped_as_under_root(workdir):
    notebooks = [HOSTILE / f"{c}.ipynb" for c in CASES] + [_background_notebook(workdir),
                                                         _big_allocation_notebook(workdir)]
    head, results = _grade_as_user(workdir, "hostile", notebooks)
    assert head["uid"] == pwd.getpwnam(USER).pw_uid
    assert "memory NOT LIMITED" not in head["line"] and "cgroup" not in head["line"].split(";")[0]
    for case in CASES:
        res, want = results[case]["result"], EXPECTED[case]
        assert res["status"] == want["status"], (case, res["reasons"])
        assert want["reason"] in " ".join(res["reasons"]), (case, res["reasons"])
        honest = {f"test_{f}": POINTS[f"test_{f}"] for f in want["honest"]}
        assert {k: g["points"] for k, g in res["grades"].items() if g["points"]} == honest, case
        assert res["enforced"][0] == head["line"]
        assert results[case]["leftover_jobs"] == [], case
    assert "killed for using more than 512 MiB" in " ".join(results["unbounded-memory"]["result"]["reasons"])
    big = results["allocates-2gib-at-once"]["result"]  # under root: crashed, OOM kill in the cgroup
    assert (big["status"], big["points"]) == ("crashed", POINTS["test_scale"]), big["reasons"]
    assert "killed for using more than 512 MiB" in " ".join(big["reasons"])
    background = results["leaves-background-processes"]["result"]
    assert (background["status"], background["points"]) == ("graded", background["max_points"])
    deadline = time.monotonic() + 10  # a watchdog notices its kernel is gone within a poll
    while _user_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _user_processes() == []  # the sleeps, the daemon, kernels and watchdogs are all gone


def test_a_busy_instructor_account_does_not_fail_honest_submissions(workdir):
    """The user already runs more processes than one job may start: honest code still runs."""
    busy = subprocess.Popen(["runuser", "-u", USER, "--", "sh", "-c",
                             f"for i in $(seq {LIMITS.max_processes + 100}); do sleep 300 & done; wait"],
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while len(_user_processes()) < LIMITS.max_processes + 100 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(_user_processes()) >= LIMITS.max_processes + 100
        _, results = _grade_as_user(workdir, "busy", [FIXTURES / "submissions" / "honest.ipynb",
                                                      HOSTILE / "fork-bomb.ipynb"])
        honest = results["honest"]["result"]
        assert (honest["status"], honest["points"]) == ("graded", sum(POINTS.values())), honest["reasons"]
        bomb = results["fork-bomb"]["result"]
        assert (bomb["status"], bomb["points"]) == (EXPECTED["fork-bomb"]["status"], POINTS["test_scale"])
    finally:
        os.killpg(busy.pid, signal.SIGKILL)
        busy.wait()
