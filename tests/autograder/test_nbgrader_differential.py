"""Differential test: ``rnngrade grade`` (sandbox on) against plain ``nbgrader autograde``.

The scenarios are rebuilt from nbgrader 0.9.6's own autograde tests
(``nbgrader/tests/apps/test_nbgrader_autograde.py``) and the fixture notebooks shipped in the
installed package (``nbgrader/tests/apps/files``). Each scenario is one assignment of a small
course; nbgrader generates every assignment once, then two copies of the course are graded,
one by ``nbgrader autograde "*"`` and one by rnngrade, and every gradebook entry is compared:
per grade cell the auto score and the needs-manual-grade flag, per answer cell the automatic
comment, per notebook the late penalty, and which students have a submission at all.

A difference passes only when it is listed in :data:`DELIBERATE`, with the reason rnngrade
grades differently on purpose; an entry that no longer matches a difference fails too, so the
table stays true. The table is rendered in the instructor's guide
(``book/instructors_guide.md``, "Grading any nbgrader course").
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.needs_sandbox]

nbgrader = pytest.importorskip("nbgrader")
FILES = Path(nbgrader.__file__).parent / "tests" / "apps" / "files"
DUE = "2015-02-02 14:58:23.948203 America/Los_Angeles"
ON_TIME = "2015-02-01 14:58:23.948203 America/Los_Angeles"
ONE_HOUR_LATE = "2015-02-02 15:58:23.948203 America/Los_Angeles"
FOUR_HOURS_LATE = "2015-02-02 18:58:23.948203 America/Los_Angeles"


def fx(name: str) -> Path:
    """A fixture file of nbgrader's own tests."""
    return FILES / name


@dataclass
class Scenario:
    """One assignment graded by both tools.

    name : the assignment id (nbgrader accepts '-'; rnngrade must too).
    origin : the nbgrader test it is rebuilt from.
    source : relative path -> fixture Path or text, the instructor's source folder.
    students : student -> {relative path -> fixture Path or text}, their submitted folders.
    course : which course it runs in (:data:`COURSES`: each has its own nbgrader_config.py).
    """

    name: str
    origin: str
    source: dict
    students: dict
    course: str = "plain"


LATE_PLUGIN = '''
from nbgrader.plugins import BasePlugin

class Blarg(BasePlugin):
    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return int(total_seconds_late / 3600)  # one point per hour late
'''

# Course name -> lines appended to its nbgrader_config.py (and extra files at its root).
COURSES = {
    "plain": ('c.Autograde.exclude_overwriting = {"overwrite-files": ["helper.py"], '
              '"overwrite-files-subdirs": ["subdir/helper.py"]}\n'),
    "late": "c.AssignLatePenalties.plugin_class = 'late_plugin.Blarg'\n",
    "timeout": "c.Execute.timeout = 2\n",
    # As nbgrader's hidden-test scenarios: students submit the release with this stub.
    "stub": 'c.ClearSolutions.code_stub = dict(python="# YOUR CODE HERE")\n',
}
RELEASE = "<the release of this notebook>"  # a submission that is the released notebook itself

UNCHANGED, CHANGED = fx("submitted-unchanged.ipynb"), fx("submitted-changed.ipynb")


def variant(fixture: Path, drop=(), strip_metadata=False, sources=None) -> str:
    """A fixture notebook as JSON text with cells removed (by grade_id), its nbgrader metadata
    stripped (as some editors do), or cell sources replaced ({grade_id: source})."""
    import nbformat

    nb = nbformat.read(str(fixture), as_version=4)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in drop]
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if sources and gid in sources:
            cell.source = sources[gid]
        if strip_metadata:
            cell.metadata.pop("nbgrader", None)
    return nbformat.writes(nb)


# The test cell "foo" of submitted-*.ipynb, printing to stderr instead of stdout.
STDERR_TEST = {"foo": 'import sys\nprint("Success!", file=sys.stderr)'}
SCENARIOS = [
    Scenario("grade", "test_grade", {"p1.ipynb": UNCHANGED},
             {"foo": {"p1.ipynb": UNCHANGED}, "bar": {"p1.ipynb": CHANGED}}),
    Scenario("autotest-simple", "test_grade_autotest", {"p1.ipynb": fx("autotest-simple.ipynb")},
             {"foo": {"p1.ipynb": fx("autotest-simple-unchanged.ipynb")},
              "bar": {"p1.ipynb": fx("autotest-simple-changed.ipynb")}}),
    Scenario("autotest-hashed", "test_grade_hashed_autotest", {"p1.ipynb": fx("autotest-hashed.ipynb")},
             {"foo": {"p1.ipynb": fx("autotest-hashed-unchanged.ipynb")},
              "bar": {"p1.ipynb": fx("autotest-hashed-changed.ipynb")}}),
    Scenario("autotest-multi", "test_grade_complex_autotest", {"p1.ipynb": fx("autotest-multi.ipynb")},
             {"foo": {"p1.ipynb": fx("autotest-multi-unchanged.ipynb")},
              "bar": {"p1.ipynb": fx("autotest-multi-changed.ipynb")}}),
    Scenario("autotest-hidden", "test_hidden_tests_autotest", {"p1.ipynb": fx("autotest-hidden.ipynb")},
             {"foo": {"p1.ipynb": fx("autotest-hidden-unchanged.ipynb")},
              "bar": {"p1.ipynb": fx("autotest-hidden-changed-wrong.ipynb")},
              "baz": {"p1.ipynb": fx("autotest-hidden-changed-right.ipynb")}}, course="stub"),
    Scenario("hidden-tests", "test_hidden_tests_single_notebook", {"p1.ipynb": fx("test-hidden-tests.ipynb")},
             {"foo": {"p1.ipynb": RELEASE}}, course="stub"),
    Scenario("showtraceback-exploit", "test_showtraceback_exploit", {"p1.ipynb": UNCHANGED},
             {"foo": {"p1.ipynb": fx("submitted-cheat-attempt.ipynb")},
              "bar": {"p1.ipynb": fx("submitted-cheat-attempt-alternative.ipynb")}}),
    Scenario("timestamp", "test_grade_timestamp", {"p1.ipynb": UNCHANGED},
             {"foo": {"p1.ipynb": UNCHANGED, "timestamp.txt": ONE_HOUR_LATE},
              "bar": {"p1.ipynb": CHANGED, "timestamp.txt": ON_TIME}}),
    Scenario("timestamp-empty", "test_grade_empty_timestamp", {"p1.ipynb": UNCHANGED},
             {"foo": {"p1.ipynb": UNCHANGED, "timestamp.txt": ""},
              "bar": {"p1.ipynb": CHANGED, "timestamp.txt": "   "}}),
    Scenario("timestamp-invalid", "CourseDirectory.get_existing_timestamp (nbgrader refuses it)",
             {"p1.ipynb": UNCHANGED},
             {"foo": {"p1.ipynb": CHANGED, "timestamp.txt": "not a time"}, "bar": {"p1.ipynb": CHANGED}}),
    Scenario("late-plugin", "test_late_submission_penalty_plugin", {"p1.ipynb": UNCHANGED},
             {"foo": {"p1.ipynb": UNCHANGED, "timestamp.txt": FOUR_HOURS_LATE},
              "bar": {"p1.ipynb": CHANGED, "timestamp.txt": ONE_HOUR_LATE}}, course="late"),
    Scenario("overwrite-files", "test_grade_overwrite_files",
             {"p1.ipynb": fx("open_relative_file.ipynb"), "data.txt": fx("data.txt"), "helper.py": "print('hello!')\n"},
             {"foo": {"p1.ipynb": fx("open_relative_file.ipynb"), "data.txt": "one line\n",
                      "helper.py": "print('different')\n", "timestamp.txt": ONE_HOUR_LATE}}),
    Scenario("overwrite-files-subdirs", "test_grade_overwrite_files_subdirs",
             {"p1.ipynb": UNCHANGED, "subdir/data.csv": "some,data\n", "subdir/helper.py": "print('hello!')\n"},
             {"foo": {"p1.ipynb": CHANGED, "subdir/data.csv": "some,other,data\n",
                      "subdir/helper.py": "print('this is different!')\n"}}),
    Scenario("submitted-file", "test_grade_overwrite_files (a file only the student has)",
             {"p1.ipynb": fx("open_relative_file.ipynb")},
             {"foo": {"p1.ipynb": fx("open_relative_file.ipynb"), "data.txt": fx("data.txt")},
              "bar": {"p1.ipynb": fx("open_relative_file.ipynb")}}),
    Scenario("side-effects", "test_side_effects", {"p1.ipynb": fx("side-effects.ipynb")},
             {"foo": {"p1.ipynb": fx("side-effects.ipynb")}}),
    Scenario("skip-extra-notebooks", "test_skip_extra_notebooks", {"p1.ipynb": UNCHANGED},
             {"foo": {"p1 copy.ipynb": UNCHANGED, "p1.ipynb": CHANGED}}),
    Scenario("missing-notebook", "test_grade_missing_notebook", {"p1.ipynb": UNCHANGED, "p2.ipynb": UNCHANGED},
             {"foo": {"p1.ipynb": CHANGED}}),
    Scenario("validating-envvar", "test_grade_with_validating_envvar",
             {"p1.ipynb": fx("validating-environment-variable.ipynb")},
             {"foo": {"p1.ipynb": fx("validating-environment-variable.ipynb")}}),
    Scenario("locked-cell-changed", "OverwriteCells (submitted-locked-cell-changed.ipynb)", {"p1.ipynb": UNCHANGED},
             {"foo": {"p1.ipynb": fx("submitted-locked-cell-changed.ipynb")},
              "bar": {"p1.ipynb": fx("submitted-grade-cell-changed.ipynb")}}),
    Scenario("partial-credit", "utils.determine_grade (a test cell's numeric value is its partial credit)",
             {"p1.ipynb": variant(UNCHANGED, sources={"foo": "0.25"})},
             {"foo": {"p1.ipynb": CHANGED}}),
    # Where rnngrade grades differently on purpose (each difference is listed in DELIBERATE).
    Scenario("test-cell-deleted", "OverwriteCells (a grade cell missing from the submission)", {"p1.ipynb": UNCHANGED},
             {"foo": {"p1.ipynb": variant(CHANGED, drop=("bar",))}}),
    Scenario("metadata-stripped", "test-no-metadata.ipynb (cells without nbgrader metadata)", {"p1.ipynb": UNCHANGED},
             {"foo": {"p1.ipynb": variant(CHANGED, strip_metadata=True)}}),
    Scenario("stderr-in-test", "utils.determine_grade (stderr output fails a test cell)",
             {"p1.ipynb": variant(UNCHANGED, sources=STDERR_TEST)},
             {"foo": {"p1.ipynb": variant(CHANGED, sources=STDERR_TEST)}}),
    Scenario("malformed-notebook", "test_handle_failure (a submission nbgrader cannot read)", {"p1.ipynb": UNCHANGED},
             {"foo": {"p1.ipynb": ""}, "bar": {"p1.ipynb": CHANGED}}),
    Scenario("non-ascii-student", "test_grade (a student folder name that is not a safe id)", {"p1.ipynb": UNCHANGED},
             {"jöe": {"p1.ipynb": CHANGED}, "bar": {"p1.ipynb": CHANGED}}),
    Scenario("autograde-timeout", "test_autograde_timeout", {"p1.ipynb": fx("timeout.ipynb")},
             {"foo": {"p1.ipynb": fx("timeout.ipynb")}}, course="timeout"),
    Scenario("infinite-loop", "test_infinite_loop", {"p1.ipynb": fx("infinite-loop.ipynb")},
             {"foo": {"p1.ipynb": fx("infinite-loop.ipynb")}}, course="timeout"),
]

# Every difference between the two gradebooks that is on purpose: (scenario, student, notebook,
# cell, field) -> (nbgrader's value, rnngrade's value, why). Rendered in the instructor's guide.
_DELETED = ("restores a test cell the student deleted from the source and runs it, where nbgrader leaves "
            "the deleted cell unscored for manual grading")
_STRIPPED = ("recognises test and locked cells whose nbgrader metadata the student's editor stripped by their "
             "released source, restores and runs them; nbgrader finds no grade cells and leaves every cell for "
             "manual grading")
_MALFORMED = ("an empty or unreadable notebook scores 0 with a reason the student can act on and is flagged, "
              "where nbgrader's run fails for that student and leaves the cells waiting for a human")
_UNSAFE = ("a student folder whose name is not a safe id (here non-ASCII) is refused with a reason in the "
           "summary, never graded in place: `rnngrade collect` renames it safely")
DELIBERATE: dict[tuple, tuple] = {
    ("test-cell-deleted", "foo", "p1", "bar", "score"): (None, 1.0, _DELETED),
    ("test-cell-deleted", "foo", "p1", "bar", "needs manual grade"): (True, False, _DELETED),
    **{("metadata-stripped", "foo", "p1", cell, what): value
       for cell in ("foo", "bar") for what, value in (("score", (None, 1.0, _STRIPPED)),
                                                      ("needs manual grade", (True, False, _STRIPPED)))},
    ("stderr-in-test", "foo", "p1", "foo", "score"): (
        0.0, 1.0, "output on stderr (a warning, a log line) does not fail a test cell that raised nothing; "
                  "nbgrader gives such a cell 0"),
    **{("malformed-notebook", "foo", "p1", cell, what): value
       for cell in ("foo", "bar", "baz", "quux") for what, value in (("score", (None, 0.0, _MALFORMED)),
                                                                     ("needs manual grade", (True, False, _MALFORMED)))},
    ("non-ascii-student", "jöe", "", "", "submitted"): (True, None, _UNSAFE),
    ("non-ascii-student", "jöe", "p1", "", "late penalty"): (0.0, None, _UNSAFE),
    **{("non-ascii-student", "jöe", "p1", cell, what): (value, None, _UNSAFE)
       for cell, what, value in (("foo", "score", 1.0), ("foo", "needs manual grade", False),
                                 ("bar", "score", 1.0), ("bar", "needs manual grade", False),
                                 ("baz", "needs manual grade", True), ("quux", "needs manual grade", True))},
}


def _write(path: Path, what) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(what, Path):
        shutil.copyfile(what, path)
    else:
        path.write_text(what, encoding="utf-8")


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.join(sys.prefix, "bin"), env.get("PATH", "")])
    return env


def _nbgrader(root: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([os.path.join(sys.prefix, "bin", "nbgrader"), *args], cwd=root, env=_env(),
                          capture_output=True, text=True, timeout=600)


def _build(root: Path, course: str, scenarios) -> None:
    """A course with every scenario's source generated by nbgrader and the submissions in place."""
    from nbgrader.api import Gradebook

    root.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(root)!r}\n" + COURSES[course], encoding="utf-8")
    shutil.copyfile(FILES / "autotests.yml", root / "autotests.yml")
    (root / "late_plugin.py").write_text(LATE_PLUGIN, encoding="utf-8")
    for s in scenarios:
        for rel, what in s.source.items():
            _write(root / "source" / s.name / rel, what)
    done = _nbgrader(root, "generate_assignment", "*", "--create")
    assert done.returncode == 0, done.stdout + done.stderr
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        for s in scenarios:
            gb.update_or_create_assignment(s.name, duedate=DUE)
            for student in s.students:
                gb.update_or_create_student(student)
    for s in scenarios:
        for student, files in s.students.items():
            for rel, what in files.items():
                what = root / "release" / s.name / rel if what is RELEASE else what
                _write(root / "submitted" / student / s.name / rel, what)


def read_gradebook(root: Path, assignment: str) -> dict:
    """(student, notebook, cell, field) -> value for everything the comparison covers."""
    from nbgrader.api import Gradebook, MissingEntry

    out = {}
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry:
            return out
        for sub in a.submissions:
            student = sub.student.id
            out[(student, "", "", "submitted")] = True
            for nb in sub.notebooks:
                out[(student, nb.name, "", "late penalty")] = nb.late_submission_penalty or 0.0
                for g in nb.grades:
                    out[(student, nb.name, g.name, "score")] = g.auto_score
                    out[(student, nb.name, g.name, "needs manual grade")] = bool(g.needs_manual_grade)
                for c in nb.comments:
                    out[(student, nb.name, c.name, "comment")] = c.auto_comment
    return out


def differences(nbg: dict, rng: dict) -> dict:
    """key -> (nbgrader's value, rnngrade's value) wherever they differ (scores to 1e-6)."""
    out = {}
    for key in sorted(set(nbg) | set(rng), key=str):
        a, b = nbg.get(key), rng.get(key)
        same = (a == b) or (isinstance(a, float) and isinstance(b, float) and abs(a - b) <= 1e-6)
        if not same:
            out[key] = (a, b)
    return out


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{scenario name: (nbgrader's gradebook entries, rnngrade's, seconds of each tool)}."""
    from autograder.course import Course
    from autograder.classrun.grade import grade_assignment
    from autograder.limits import Limits

    base = tmp_path_factory.mktemp("differential")
    out = {}
    for course in COURSES:
        scenarios = [s for s in SCENARIOS if s.course == course]
        built = base / f"{course}-built"
        _build(built, course, scenarios)
        nb_root, rg_root = base / f"{course}-nbgrader", base / f"{course}-rnngrade"
        for root in (nb_root, rg_root):
            shutil.copytree(built, root)
            cfg = root / "nbgrader_config.py"
            cfg.write_text(cfg.read_text().replace(repr(str(built)), repr(str(root))), encoding="utf-8")
        t = time.monotonic()
        # nbgrader exits 1 when one submission failed (the invalid timestamp): the others are graded.
        _nbgrader(nb_root, "autograde", "*", "--create")
        nb_seconds = time.monotonic() - t
        t = time.monotonic()
        for s in scenarios:
            grade_assignment(Course.from_root(rg_root), s.name, Limits(), sandbox=True, workers=2, progress=False)
        rg_seconds = time.monotonic() - t
        for s in scenarios:
            out[s.name] = (read_gradebook(nb_root, s.name), read_gradebook(rg_root, s.name), nb_seconds, rg_seconds)
    if os.environ.get("RNNGRADE_DIFF_REPORT"):  # both gradebooks' entries, for a closing note's table
        Path(os.environ["RNNGRADE_DIFF_REPORT"]).write_text(json.dumps(
            {k: [[list(e) + [v] for e, v in nbg.items()], [list(e) + [v] for e, v in rng.items()], a, b]
             for k, (nbg, rng, a, b) in out.items()}, indent=1), encoding="utf-8")
    return out


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_rnngrade_grades_like_nbgrader(graded, scenario):
    nbg, rng, _, _ = graded[scenario.name]
    assert nbg, f"nbgrader recorded nothing for {scenario.name}: the scenario is broken, not the grader"
    found = differences(nbg, rng)
    listed = {key[1:]: value[:2] for key, value in DELIBERATE.items() if key[0] == scenario.name}
    unlisted = {k: v for k, v in found.items() if listed.get(k) != v}
    stale = {k: v for k, v in listed.items() if found.get(k) != v}
    assert not unlisted, f"{scenario.name}: differences from nbgrader not in DELIBERATE: {unlisted}"
    assert not stale, f"{scenario.name}: DELIBERATE entries that no longer match a difference: {stale}"


def test_at_least_fifteen_scenarios_from_nbgrader_tests():
    assert len(SCENARIOS) >= 15 and len({s.name for s in SCENARIOS}) == len(SCENARIOS)
    assert all(isinstance(p, Path) and p.is_file() for s in SCENARIOS for p in s.source.values() if isinstance(p, Path))
    assert all(reason for *_, reason in DELIBERATE.values())


def test_the_instructors_guide_lists_every_deliberate_difference():
    guide = (Path(__file__).resolve().parents[2] / "book" / "instructors_guide.md").read_text(encoding="utf-8")
    missing = {why for *_, why in DELIBERATE.values() if why not in guide}
    assert not missing, f"book/instructors_guide.md lacks these reasons of DELIBERATE: {missing}"
