"""Tests of autograder.grading.engine: grading the fixture assignment, honestly and with hostile notebooks.

Every hostile notebook (tests/autograder/fixtures/hostile, made by make_hostile.py) mixes
honest and dishonest code; it must earn exactly the points of its honest functions, get the
status of its case and say why. The slow tests run real sandboxed kernels.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from autograder.isolation import cgroup
from autograder.isolation import zygote_host
from autograder.grading.engine import GradeJob, GradeResult, Limits, grade_submission

FIXTURES = Path(__file__).parent / "fixtures"
SOURCE = FIXTURES / "course" / "solutions" / "fixture"
RELEASE = FIXTURES / "course" / "release" / "fixture" / "fixture.ipynb"
HOSTILE = FIXTURES / "hostile"
EXPECTED = json.loads((HOSTILE / "expected.json").read_text())
MiB = 2**20
LIMITS = Limits(cell_timeout=5, notebook_timeout=40, memory_bytes=512 * MiB, max_processes=64,
                file_size_bytes=8 * MiB, interrupt_grace=2, output_bytes_per_cell=64 * 1024)


def _points():
    """Points of each test cell, read from the source notebook (not typed in)."""
    nb = nbformat.read(SOURCE / "fixture.ipynb", as_version=4)
    return {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader["points"]
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}


POINTS = _points()


def _submit(tmp_path, src, student="s1"):
    """Copy a notebook to where a student's submission would be, under its released name."""
    folder = tmp_path / "submitted" / "x" / "fixture"
    folder.mkdir(parents=True)
    shutil.copyfile(src, folder / "fixture.ipynb")
    return GradeJob("fixture", student, folder / "fixture.ipynb", SOURCE, output_dir=tmp_path / "autograded")


def _grade(tmp_path, src, sandboxed=True, limits=LIMITS, student="s1"):
    result = grade_submission(_submit(tmp_path, src, student), limits, sandbox=sandboxed)
    assert result.status != "error", result.reasons
    return result


@pytest.fixture(scope="module")
def module_job_base():
    """A private, short directory for the job folders (ipc socket paths must stay < 108 bytes),
    shared by the module's tests so that its warm parent (which lives in it) serves them all."""
    base = tempfile.mkdtemp(prefix="rngt-")
    os.chmod(base, 0o711)  # graded as root, the sandbox's unprivileged user must reach the job folders
    yield Path(base)
    zygote_host.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(autouse=True)
def job_base(monkeypatch, module_job_base):
    monkeypatch.setenv("RNNGRADE_TMP", str(module_job_base))
    yield module_job_base
    for leftover in _no_leftovers():
        shutil.rmtree(leftover, ignore_errors=True)


def _no_leftovers():
    """What the jobs left in the job base: everything but the running warm parent's folder."""
    return [p for p in Path(os.environ["RNNGRADE_TMP"]).iterdir() if p != zygote_host.current_root()]


# Skipped where bubblewrap cannot start, failed instead under CI (see conftest.require_sandbox).
needs_bwrap = pytest.mark.needs_sandbox


# -- fast: no kernel -------------------------------------------------------------------

@pytest.mark.parametrize("case", ["not-json", "not-a-notebook", "empty", "wrong-assignment"])
def test_unusable_files_get_a_status_and_a_reason_without_a_kernel(tmp_path, case):
    result = grade_submission(_submit(tmp_path, HOSTILE / f"{case}.ipynb"), LIMITS)
    assert result.status == EXPECTED[case]["status"]
    assert any(EXPECTED[case]["reason"] in r for r in result.reasons), result.reasons
    assert result.points == 0 and result.max_points == sum(POINTS.values())
    assert all(g.status == "not-run" for g in result.grades.values())


def test_missing_submission_and_symlink(tmp_path):
    job = GradeJob("fixture", "s1", tmp_path / "fixture.ipynb", SOURCE)
    assert grade_submission(job, LIMITS).status == "missing"
    (tmp_path / "fixture.ipynb").symlink_to(RELEASE)
    result = grade_submission(job, LIMITS)
    assert result.status == "malformed" and "not a regular file" in result.reasons[0]


def test_grade_result_round_trips_through_json(tmp_path):
    result = grade_submission(_submit(tmp_path, HOSTILE / "empty.ipynb"), LIMITS)
    back = GradeResult.from_dict(json.loads(result.to_json()))
    assert back == result
    data = json.loads(result.to_json())
    assert data["grades"]["test_add"]["score"] == 0.0 and data["max_points"] == result.max_points


def test_unknown_assignment_is_an_error_result_not_an_exception(tmp_path):
    job = _submit(tmp_path, RELEASE)
    job.assignment = "../etc"
    source = tmp_path / "src.ipynb"
    nb = nbformat.read(SOURCE / "fixture.ipynb", as_version=4)
    for cell in nb.cells:
        cell.source = cell.source.replace('hidden_check("fixture"', 'hidden_check("no_such_assignment"')
    nbformat.write(nb, source)
    job.source = [source]
    result = grade_submission(job, LIMITS)
    assert result.status == "error" and "no_such_assignment" in result.reasons[0]


# -- slow: real sandboxed kernels ------------------------------------------------------

@pytest.mark.slow
@needs_bwrap
def test_honest_submission_gets_full_marks_and_release_gets_zero(tmp_path):
    result = _grade(tmp_path / "a", FIXTURES / "submissions" / "honest.ipynb")
    assert (result.status, result.points, result.max_points) == ("graded", sum(POINTS.values()), sum(POINTS.values()))
    assert all(m.passed for g in result.grades.values() for m in g.messages)
    graded = nbformat.read(result.autograded["fixture.ipynb"], as_version=4)
    assert "hidden_check" in graded.cells[4].source  # the hidden tests were restored and run
    assert result.timings["overhead"] < 1.0
    stub = _grade(tmp_path / "b", RELEASE)
    assert (stub.status, stub.points) == ("graded", 0)
    assert "NotImplementedError" in stub.grades["test_add"].messages[0].message
    assert not _no_leftovers()


@pytest.mark.slow
@needs_bwrap
@pytest.mark.parametrize("case", [c for c, e in EXPECTED.items() if e["status"] not in ("malformed", "wrong-assignment")])
def test_hostile_notebook_earns_exactly_its_honest_points(tmp_path, case):
    expected = EXPECTED[case]
    result = _grade(tmp_path, HOSTILE / f"{case}.ipynb")
    assert result.status == expected["status"], (result.reasons, result.flags)
    assert expected["reason"] in " ".join(result.reasons), result.reasons
    if expected["status"] == "graded":
        assert result.reasons == []
    want = {f"test_{f}": POINTS[f"test_{f}"] for f in expected["honest"]}
    got = {k: g.points for k, g in result.grades.items() if g.points}
    assert got == want, [(k, [m.message for m in g.messages]) for k, g in result.grades.items()]
    assert result.points == sum(want.values())
    assert not (cgroup.probe()[0] and any(Path(d).exists() for d in _job_cgroups()))
    assert not _no_leftovers()


def _job_cgroups():
    return [str(p) for root in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified")
            for p in Path(root).rglob(f"{cgroup.PREFIX}{os.getpid()}-*")]


@pytest.mark.slow
@needs_bwrap
def test_sandbox_hides_the_course_and_keeps_host_files_intact(tmp_path):
    checks = Path(cgroup.__file__).parents[1] / "checks" / "fixture.py"
    before = checks.read_bytes()
    result = _grade(tmp_path, HOSTILE / "writes-outside-workdir.ipynb")
    assert checks.read_bytes() == before
    assert not (Path(cgroup.__file__).parents[2] / "rnnlab" / "pwned.py").exists()
    assert not Path("/tmp/pwned.txt").exists()
    assert not (Path(cgroup.__file__).parents[2] / "pwned.txt").exists()
    out = nbformat.read(result.autograded["fixture.ipynb"], as_version=4)
    text = "".join(o.get("text", "") for c in out.cells if c.cell_type == "code" for o in c.outputs)
    # The repository root itself may sit under /tmp (a CI clone), which the sandbox replaces by
    # its own tmpfs: a write there lands in the throwaway tmpfs, so only the host check above
    # (no pwned.txt in the real repository) applies to it.
    for target in ("repo:autograder/checks/fixture.py", "repo:rnnlab/pwned.py"):
        assert f"{target} refused" in text
    assert "/tmp/pwned.txt written" in text  # the sandbox's own /tmp, thrown away
    assert "/home/student/pwned.txt written" in text
    read = _grade(tmp_path / "r", HOSTILE / "reads-hidden-tests.ipynb")
    out = nbformat.read(read.autograded["fixture.ipynb"], as_version=4)
    text = "".join(o.get("text", "") for c in out.cells if c.cell_type == "code" for o in c.outputs)
    assert "exists" not in text.replace("absent", "") and "checks dir: []" in text and "gradebooks: []" in text
    net = _grade(tmp_path / "n", HOSTILE / "opens-network.ipynb")
    out = nbformat.read(net.autograded["fixture.ipynb"], as_version=4)
    text = "".join(o.get("text", "") for c in out.cells if c.cell_type == "code" for o in c.outputs)
    assert "('1.1.1.1', 53) unreachable" in text and "('pypi.org', 443) unreachable" in text
    assert " reachable" not in text


@pytest.mark.slow
@needs_bwrap
def test_output_is_capped_in_bytes(tmp_path):
    result = _grade(tmp_path, HOSTILE / "prints-megabytes.ipynb")
    size = Path(result.autograded["fixture.ipynb"]).stat().st_size
    assert size < 4 * LIMITS.output_bytes_per_cell
    assert "further output of this cell was dropped" in Path(result.autograded["fixture.ipynb"]).read_text()


@pytest.mark.slow
@needs_bwrap
@pytest.mark.parametrize("student", ["Zoë 李", "../../x"])
def test_student_ids_are_only_recorded(tmp_path, student):
    result = _grade(tmp_path, FIXTURES / "submissions" / "honest.ipynb", student=student)
    assert result.student == student and result.points == sum(POINTS.values())
    assert [p.name for p in (tmp_path / "autograded").iterdir()] == ["fixture.ipynb"]


@pytest.mark.slow
def test_no_sandbox_mode_still_enforces_time_and_memory(tmp_path):
    honest = _grade(tmp_path / "h", FIXTURES / "submissions" / "honest.ipynb", sandboxed=False)
    assert honest.points == sum(POINTS.values())
    loop = _grade(tmp_path / "l", HOSTILE / "infinite-loop-in-solution.ipynb", sandboxed=False)
    assert (loop.status, loop.points) == ("timeout", POINTS["test_scale"])
    if cgroup.probe()[0]:
        mem = _grade(tmp_path / "m", HOSTILE / "unbounded-memory.ipynb", sandboxed=False)
        assert (mem.status, mem.points) == ("crashed", POINTS["test_scale"])
        assert "memory limit" in " ".join(mem.reasons)


@pytest.mark.slow
@needs_bwrap
def test_notebook_budget_stops_the_run_and_scores_the_rest_zero(tmp_path):
    limits = LIMITS.replace(cell_timeout=3, notebook_timeout=2)
    result = _grade(tmp_path, HOSTILE / "infinite-loop-in-solution.ipynb", limits=limits)
    assert result.status == "timeout" and result.points == 0
    assert result.grades["test_scale"].status == "not-run"
    assert "time budget ran out" in result.grades["test_scale"].messages[0].message


@pytest.mark.slow
@needs_bwrap
def test_stderr_and_warnings_in_test_cells_do_not_fail_them(tmp_path):
    nb = nbformat.read(FIXTURES / "submissions" / "honest.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "add":
            cell.source = ("import sys, warnings\n\ndef add(a, b):\n    warnings.warn('float64 all the way')\n"
                           "    print('debug', file=sys.stderr)\n    return a + b\n")
    path = tmp_path / "warn.ipynb"
    nbformat.write(nb, path)
    result = _grade(tmp_path, path)
    assert (result.status, result.points) == ("graded", sum(POINTS.values()))
    out = nbformat.read(result.autograded["fixture.ipynb"], as_version=4)
    assert any(o.get("name") == "stderr" for c in out.cells if c.cell_type == "code" for o in c.outputs)


@pytest.mark.slow
@needs_bwrap
def test_a_restarted_kernel_never_reuses_a_run_dir_the_old_kernel_could_write(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("intact")
    nb = nbformat.read(FIXTURES / "submissions" / "honest.ipynb", as_version=4)
    # A link where the next socket may go, and a directory where the connection file goes
    # (jupyter_client cannot remove a directory, so a reused run dir would fail the restart).
    plant = ("import os, sys\nrun = os.path.dirname(sys.argv[sys.argv.index('-f') + 1])\n"
             "os.remove(os.path.join(run, 'connection.json'))\n"
             "os.mkdir(os.path.join(run, 'connection.json'))\n"
             f"[os.symlink({str(victim)!r}, os.path.join(run, f'k-{{i}}')) for i in range(6, 40)]\nos._exit(1)\n")
    nb.cells.insert(2, nbformat.v4.new_code_cell(plant))
    path = tmp_path / "plant.ipynb"
    nbformat.write(nb, path)
    result = _grade(tmp_path, path)
    assert victim.read_text() == "intact"
    assert (result.status, result.points) == ("crashed", sum(POINTS.values()))


@pytest.mark.slow
@needs_bwrap
@pytest.mark.skipif(not cgroup.probe()[0], reason=cgroup.probe()[1])
def test_killing_the_grader_kills_its_sandbox(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    job = _submit(tmp_path, HOSTILE / "infinite-loop-in-solution.ipynb")
    code = ("from autograder.grading.engine import grade_submission, GradeJob, Limits\n"
            f"grade_submission(GradeJob('fixture', 's', {str(job.submission[0])!r}, {str(SOURCE)!r}), "
            "Limits(cell_timeout=60))\n")
    grader = subprocess.Popen([sys.executable, "-c", code])
    groups = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(Path(g, "cgroup.procs").read_text().split() for g in groups):
        time.sleep(0.2)
        groups = [str(p) for p in Path("/sys/fs/cgroup").glob(f"*/**/{cgroup.PREFIX}{grader.pid}-*")]
    assert groups, "the grader never started a sandboxed kernel"
    time.sleep(1.0)  # the kernel is now in the endless cell
    grader.send_signal(signal.SIGKILL)
    grader.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(Path(g, "cgroup.procs").read_text().split() for g in groups):
        time.sleep(0.1)
    assert not any(Path(g, "cgroup.procs").read_text().split() for g in groups)
    assert cgroup.reap_orphans() >= 1
    assert not any(Path(g).exists() for g in groups)


@pytest.mark.slow
@needs_bwrap
def test_forged_results_outside_or_inside_the_test_cell_earn_nothing(tmp_path):
    from autograder.checks.base import load_checks
    from autograder.runtime import RESULT_MIME, case_to_wire, run_probe

    # A forged payload claiming the right answers for every hidden case of add.
    cases = load_checks("fixture")["add"].make_cases()
    honest = {c.name: run_probe("call", "add", c.args, {}, {"add": lambda a, b: a + b}) for c in cases}
    assert case_to_wire(cases[0])["name"] == cases[0].name
    payload = {"assignment": "fixture", "check": "add", "results": honest}
    show = f"from IPython.display import display\ndisplay({{{RESULT_MIME!r}: {payload!r}}}, raw=True)\n"
    for variant, add_source, status in [
        ("own-cell", "def add(a, b):\n    return a - b\n" + show, "graded"),
        ("inside-add", "from IPython.display import display\n_shown = []\ndef add(a, b):\n"
                       "    if not _shown:\n        _shown.append(1)\n"
                       + "".join("        " + line + "\n" for line in show.splitlines()) + "    return a - b\n", "tampered"),
        # right on the visible test's inputs only, forging at each of the 2 hidden cases: 3 reports
        ("during-probe", "from IPython.display import display\ndef add(a, b):\n    if a.shape == (2,):\n"
                         "        return a + b\n" + "".join("    " + line + "\n" for line in show.splitlines())
                         + "    return a - b\n", "tampered"),
    ]:
        nb = nbformat.read(FIXTURES / "submissions" / "honest.ipynb", as_version=4)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "add":
                cell.source = add_source
        path = tmp_path / f"{variant}.ipynb"
        nbformat.write(nb, path)
        result = _grade(tmp_path / variant, path)
        assert result.grades["test_add"].points == 0, variant
        assert (result.status, result.points) == (status, POINTS["test_scale"]), (variant, result.reasons)
        words = {"own-cell": "", "inside-add": "result was shown by the submission's own code",
                 "during-probe": "reported check 'add' 3 times"}[variant]
        assert words in " ".join(result.reasons), (variant, result.reasons)


# -- the restart loop, with a scripted kernel (fast) ------------------------------------------

class _ScriptedJob:
    enforced, cgroup, root, parent_start = [], None, Path("/nonexistent"), 0.0

    def cleanup(self):
        pass


def test_kernel_dying_again_during_the_replay_ends_the_notebook_with_its_reason(monkeypatch):
    """Cell 1 kills the kernel; on the restarted kernel, replaying cell 0 kills it again: the
    engine must stop there with that reason, not restart again and spend the time budget."""
    from autograder.grading import kernel
    from autograder.grading.executor import CellRun

    started = []

    class Kernel:
        km = SimpleNamespace(provisioner=SimpleNamespace(pid=None))
        oom_kills_at_start = 0

        def __init__(self, job, limits):
            started.append(self)
            self.first = len(started) == 1
            self.executor = self

        def run_cell(self, cell, index, timeout, notebook_deadline=None):
            dies = (self.first and index == 1) or (not self.first and index == 0)
            return CellRun(index, "dead" if dies else "ok")

        def stop(self):
            pass

        def exit_code(self):
            return 137

    monkeypatch.setattr(kernel, "Kernel", Kernel)
    monkeypatch.setattr(kernel.sandboxes, "prepare", lambda *a, **k: _ScriptedJob())
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"x{i} = {i}") for i in range(4)])
    result = kernel.run_notebook(nb, "fixture.ipynb", b"", {}, LIMITS, True)
    runs, status = result.runs, result.status
    assert len(started) == 2, "the kernel was restarted again after the replay failed"
    assert status == "crashed"
    assert [runs[i].status for i in range(4)] == ["ok", "dead", "skipped", "skipped"]
    assert "stopped again while cell 0 was replayed" in runs[2].note
    assert any("stopped again while cell 0 was replayed" in r for r in result.reasons)


@pytest.mark.slow
@needs_bwrap
def test_graded_as_root_a_submission_cannot_read_root_only_files(tmp_path):
    """Run as root, the grader starts the sandbox as an unprivileged host user: a root-only file
    in a mounted path (the venv) and /etc/shadow stay unreadable to the student's code."""
    if os.geteuid() != 0:
        pytest.skip("the grader is not root here: the sandbox already runs as the grader's own user")
    import sys

    secret = Path(sys.prefix) / f"rnngrade-root-only-{os.getpid()}"
    secret.write_text("the host's secret\n")
    os.chmod(secret, 0o600)
    probe = ("import os\n"
             f"for path in ({str(secret)!r}, '/etc/shadow', '/etc/ssh'):\n"
             "    try:\n"
             "        print(path, 'READ', open(path).read()[:20])\n"
             "    except OSError as exc:\n"
             "        print(path, type(exc).__name__)\n"
             "print('uid', os.getuid())\n")
    nb = nbformat.read(FIXTURES / "submissions" / "honest.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(probe))
    src = tmp_path / "probe.ipynb"
    nbformat.write(nb, src)
    try:
        result = _grade(tmp_path / "g", src)
    finally:
        secret.unlink()
    graded = nbformat.read(result.autograded["fixture.ipynb"], as_version=4)
    text = "".join(o.get("text", "") for o in graded.cells[-1].outputs)
    assert f"{secret} PermissionError" in text, text
    assert "/etc/shadow FileNotFoundError" in text and "/etc/ssh FileNotFoundError" in text, text
    assert "READ" not in text
    assert result.points == sum(POINTS.values())  # honest code still earns everything
    assert any("host uid 65534" in e for e in result.enforced), result.enforced


@pytest.mark.slow
@needs_bwrap
@pytest.mark.parametrize("sandboxed", [True, False])
def test_a_notebook_without_graded_cells_runs_with_its_files_and_nbgraders_environment(tmp_path, sandboxed):
    # nbgrader's side-effect and infinite-loop notebooks have no graded cells: they are run, not
    # refused as another assignment; files beside the notebook and NBGRADER_EXECUTION are there.
    code = ("import os\nprint(open('data/in.txt').read(), os.environ.get('NBGRADER_EXECUTION'))\n"
            "open('side-effect.txt', 'w').write('ok')")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    source, sub = tmp_path / "src" / "p1.ipynb", tmp_path / "sub" / "p1.ipynb"
    for path in (source, sub):
        path.parent.mkdir(parents=True)
        nbformat.write(nb, str(path))
    job = GradeJob("ps-1", "s1", sub, source, output_dir=tmp_path / "out", files={"data/in.txt": b"from the source"})
    result = grade_submission(job, LIMITS, sandbox=sandboxed)
    assert (result.status, result.grades) == ("graded", {}), result.reasons
    graded = nbformat.read(result.autograded["p1.ipynb"], as_version=4)
    assert graded.cells[0].outputs[0].text.strip() == "from the source autograde"
    assert not _no_leftovers()


# needs_bwrap: the engine checks that the sandbox can start before anything else.
@needs_bwrap
def test_files_too_large_for_the_sandbox_are_a_reason_not_a_crash(tmp_path):
    job = _submit(tmp_path, RELEASE)
    job.files = {"big.bin": b"x" * (LIMITS.scratch_bytes // 2 + 1)}
    result = grade_submission(job, LIMITS)
    assert result.status == "malformed" and "scratch space" in result.reasons[0]
    assert all(g.points == 0 for g in result.grades.values())
