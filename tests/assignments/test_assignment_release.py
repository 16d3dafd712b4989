"""The released assignments (slow: nbgrader runs and kernels).

For every assignment of ``solutions/``, in a throwaway copy of the course:

- ``exercises/<name>/`` equals what ``nbgrader generate_assignment`` makes of the source (drift);
- no release holds a solution, a hidden test, ``hidden_check``, ``### BEGIN`` or a model answer;
- the release executes top to bottom with errors only of type NotImplementedError, only in
  solution and test cells;
- under plain ``nbgrader autograde`` the solution scores full marks and the release 0;
- a solution that calls rnnlab's reference implementation earns no points for it: the shortcut
  scan charges the function, and the grader's cell scoring gives its test cells 0 although the
  hidden checks themselves pass (``SHORTCUT`` in ``mutants_<name>.py``).
"""

import copy
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import harness

pytestmark = pytest.mark.slow

REPO = harness.REPO
VENV_BIN = Path(sys.executable).parent
NAMES = sorted(p.name for p in (REPO / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file())
FORBIDDEN_TEXT = ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "hidden_check", "### BEGIN")
TEXT_STUB = "YOUR ANSWER HERE"


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _source(cell):
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


@pytest.fixture(scope="module")
def courses(tmp_path_factory):
    """name -> root of a throwaway course holding that assignment, generated once per module."""
    made = {}

    def get(name):
        if name not in made:
            from autograder.course import Course
            from autograder.release import generate

            root = tmp_path_factory.mktemp(f"course-{name}")
            shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
            shutil.copytree(REPO / "solutions" / name, root / "solutions" / name)
            course = Course(root)
            generate(course, name, db_url=course.db_url)
            made[name] = root
        return made[name]

    return get


@pytest.mark.parametrize("name", NAMES)
def test_exercises_equal_a_fresh_generate_assignment(name, courses):
    fresh = courses(name) / "exercises" / name
    committed = REPO / "exercises" / name
    assert committed.is_dir(), f"exercises/{name}/ is missing: run nbgrader generate_assignment {name} --force"
    want = sorted(p.relative_to(fresh).as_posix() for p in fresh.rglob("*") if p.is_file())
    have = sorted(p.relative_to(committed).as_posix() for p in committed.rglob("*") if p.is_file())
    assert have == want, f"exercises/{name}/ holds {have}, generate_assignment writes {want}"
    for rel in want:
        a, b = (fresh / rel), (committed / rel)
        if rel.endswith(".ipynb"):
            nb_a, nb_b = json.loads(a.read_text()), json.loads(b.read_text())
            for i, (ca, cb) in enumerate(zip(nb_a["cells"], nb_b["cells"])):
                assert _source(cb) == _source(ca), f"exercises/{name}/{rel}: cell {i} ({_meta(ca).get('grade_id')}) differs"
            assert nb_b == nb_a, f"exercises/{name}/{rel} differs from a fresh generate_assignment (metadata or cell count)"
        else:
            assert a.read_bytes() == b.read_bytes(), f"exercises/{name}/{rel} differs"


@pytest.mark.parametrize("name", NAMES)
def test_release_holds_no_solution_hidden_test_or_answer(name):
    source = json.loads((REPO / "solutions" / name / f"{name}.ipynb").read_text())
    released = json.loads((REPO / "exercises" / name / f"{name}.ipynb").read_text())
    for cell in released["cells"]:
        text = _source(cell)
        for marker in FORBIDDEN_TEXT:
            assert marker not in text, f"{name}: released cell {_meta(cell).get('grade_id')!r} contains {marker!r}"
        if cell["cell_type"] == "markdown" and _meta(cell).get("solution"):
            assert text.strip() == TEXT_STUB, f"{name}: answer cell {_meta(cell)['grade_id']!r} was released with text"
    everything = "\n".join(_source(c) for c in released["cells"])
    # Lines the instructor's own given and test cells share with a solution are not leaks.
    public = "\n".join(_source(c) for c in source["cells"] if not _meta(c).get("solution"))
    for cell in source["cells"]:
        meta = _meta(cell)
        if meta.get("solution") and cell["cell_type"] == "code":
            body = _source(cell).split("### BEGIN SOLUTION", 1)[-1].split("### END SOLUTION", 1)[0]
            lines = [ln.strip() for ln in body.splitlines() if len(ln.strip()) > 25 and not ln.strip().startswith("#")]
            leaked = [ln for ln in lines if ln in everything and ln not in public]
            assert not leaked, f"{name}: solution lines of {meta['grade_id']!r} are in the release: {leaked[:2]}"


@pytest.mark.parametrize("name", NAMES)
def test_release_runs_with_only_not_implemented_errors(name, courses):
    import nbformat
    from nbclient import NotebookClient

    path = courses(name) / "exercises" / name / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    start = time.monotonic()
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    elapsed = time.monotonic() - start
    errors = []
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.output_type != "error":
                continue
            meta = _meta(cell)
            where = meta.get("grade_id", "an unnamed cell")
            if out.ename != "NotImplementedError":
                errors.append(f"{where}: {out.ename}: {out.evalue}")
            elif not (meta.get("solution") or meta.get("grade")):
                errors.append(f"{where}: NotImplementedError outside a solution or test cell")
    assert not errors, f"{name} release ({elapsed:.1f} s):\n" + "\n".join(errors)


def _autograde(root, name):
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg")
    env.pop("RNNGRADE_CASES", None)  # plain nbgrader: the hidden checks judge in-process
    proc = subprocess.run([str(VENV_BIN / "nbgrader"), "autograde", name], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"nbgrader autograde {name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


def _code_grades(root, name, student):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        submission = gb.find_submission(name, student)
        return {g.name: (g.score, g.max_score) for nb in submission.notebooks for g in nb.grades
                if g.cell_type == "code"}


@pytest.mark.parametrize("name", NAMES)
def test_solution_full_marks_and_release_zero_under_nbgrader_autograde(name, courses):
    root = courses(name)
    for student, notebook in (("solution", REPO / "solutions" / name / f"{name}.ipynb"),
                              ("release", root / "exercises" / name / f"{name}.ipynb")):
        dest = root / "submitted" / student / name
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(notebook, dest / f"{name}.ipynb")
    start = time.monotonic()
    _autograde(root, name)
    elapsed = time.monotonic() - start
    solution, release = _code_grades(root, name, "solution"), _code_grades(root, name, "release")
    assert solution, f"{name}: no autograded cells in the gradebook"
    lost = {k: v for k, v in solution.items() if v[0] != v[1]}
    assert not lost, f"{name}: the solution loses points under nbgrader autograde ({elapsed:.0f} s): {lost}"
    earned = {k: v for k, v in release.items() if v[0] != 0}
    assert not earned, f"{name}: the unsolved release earns points: {earned}"
    assert elapsed < 120, f"{name}: nbgrader autograde of two notebooks took {elapsed:.0f} s"


def _shortcut_variants():
    out = []
    for name in NAMES:
        if name in harness.assignments():
            shortcut = getattr(harness.load_variants(name), "SHORTCUT", None)
            if shortcut is not None:
                out.append(pytest.param(name, shortcut, id=name))
    return out


@pytest.mark.parametrize("name, shortcut", _shortcut_variants())
def test_reference_implementation_earns_no_points(name, shortcut):
    import nbformat

    from autograder import runtime
    from autograder.checks.base import load_forbidden
    from autograder.grading.executor import CellRun
    from autograder.grading.restore import load_source
    from autograder.grading.scoring import cases_by_check, score_cell
    from autograder.grading.shortcuts import scan_notebook

    path = REPO / "solutions" / name / f"{name}.ipynb"
    source = load_source(path)
    nb = copy.deepcopy(nbformat.read(path, as_version=4))
    editable = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and _meta(c).get("solution")]
    changed = harness.apply_replacements([(i, nb.cells[i].source) for i in editable], shortcut.replace)
    for i, src in changed:
        nb.cells[i].source = src

    checks = cases_by_check(source)
    graded = {case.func for _, cases in checks.values() for case in cases}
    trusted = [c.cell.source for c in source.cells if c.kind in ("test", "locked")]
    findings = scan_notebook(nb, graded, load_forbidden(name), trusted_sources=trusted)
    charged = {f: finding.message for finding in findings for f in finding.functions}
    assert charged, f"{name}: the shortcut scan found nothing in a solution that calls rnnlab"

    # Run the changed solution in-process and score every test cell as the grader does.
    skip = set(getattr(harness.load_variants(name), "SKIP_CELLS", ()))
    namespace = {"__name__": "__main__"}
    for cell in nb.cells:
        meta = _meta(cell)
        if cell.cell_type == "code" and not (meta.get("grade") and not meta.get("solution")) \
                and meta.get("grade_id") not in skip:
            exec(compile(cell.source, f"<{name}:{meta.get('grade_id')}>", "exec"), namespace)
    for test in source.tests:
        payloads = []
        for key in test.checks:
            _, cases = checks[key]
            raw = runtime._probe_all([runtime.case_to_wire(c) for c in cases], namespace)
            payloads.append({"assignment": key[0], "check": key[1], "results": json.loads(json.dumps(raw))})
        honest = score_cell(test, CellRun(0, "ok", results=payloads), checks, {}, [])
        assert honest.points == test.points, f"{name}: {test.grade_id} should pass its hidden checks on their own"
        grade = score_cell(test, CellRun(0, "ok", results=payloads), checks, charged, [])
        hit = any(check_id in shortcut.kills for _, check_id in test.checks)
        if hit:
            assert grade.points == 0, f"{name}: {test.grade_id} keeps {grade.points} points despite the shortcut"
            assert any("reference implementation" in m.message for m in grade.messages)
        else:
            assert grade.points == test.points, f"{name}: {test.grade_id} lost points for another function's shortcut"
