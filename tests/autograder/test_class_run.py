"""End to end: the fixture class with every hostile fixture in ONE sandboxed class run.

Each honest submission must get exactly the grade it gets when graded alone; each hostile
one must get the points of its honest functions (hostile/expected.json: ``honest`` lists
them; the fixture's test_add is worth 3 points, test_scale 2), the status the engine
promises, and a reason in the run summary and in the instructor's report.
"""
import json
import shutil
import zipfile

import pytest

from autograder.intake.collect import Collector
from autograder.course import Course, find_submissions
from autograder.classrun.grade import grade_assignment
from autograder.limits import Limits
from autograder.reporting.report import render
from autograder.synthetic import write_class
from autograder.classrun.worker import build_payload, grade_payload

from conftest import FIXTURES, gradebook_rows, journal_points

HOSTILE = FIXTURES / "hostile"
POINTS = {"add": 3.0, "scale": 2.0}
# Small enough to keep the run short, large enough for honest code.
LIMITS = Limits(cell_timeout=10, notebook_timeout=40, interrupt_grace=2, memory_bytes=512 * 2**20)


def _expected():
    return json.loads((HOSTILE / "expected.json").read_text())


@pytest.mark.slow
def test_one_class_run_with_every_hostile_fixture(released_course, tmp_path):
    course = Course.from_root(released_course)
    honest = write_class(course, "fixture", ["correct", "partial", "wrong", "empty"], prefix="h")
    shutil.copytree(FIXTURES / "submissions", course.submission_dir("honest", "fixture"))
    honest["honest"] = "correct"
    expected = _expected()
    for case in expected:
        folder = course.submission_dir(f"x-{case}", "fixture")
        folder.mkdir(parents=True)
        shutil.copy(HOSTILE / f"{case}.ipynb", folder / "fixture.ipynb")

    # Two honest students whose names are unicode and path-like arrive in an LMS zip.
    archive = tmp_path / "lms.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for raw in ("Zoë 李", "..%2F..%2Fx"):
            zf.writestr(f"{raw}_fixture.ipynb", (FIXTURES / "submissions" / "honest.ipynb").read_bytes())
    collector = Collector(course)
    collector.from_zip(archive)
    odd_names = {p.student for p in collector.report.placed}
    assert len(odd_names) == 2 and not collector.report.unmatched

    summary = grade_assignment(course, "fixture", LIMITS, workers=2, progress=False)

    results = {r["student"]: r["result"] for r in summary.graded}
    assert len(results) == len(honest) + len(expected) + len(odd_names)
    for student in odd_names:
        assert (results[student]["status"], results[student]["points"]) == ("graded", 5.0), student
    lines = "\n".join(summary.lines())
    page = render(course, "fixture")

    # Honest submissions: the same grade in the class as alone.
    subs = {s.student: s for s in find_submissions(course, "fixture")[0]}
    for student in honest:
        alone = grade_payload(build_payload(course, subs[student], LIMITS, True))["result"]
        in_class = results[student]
        assert in_class["status"] == alone["status"] == "graded", (student, in_class["reasons"])
        assert ({k: g["points"] for k, g in in_class["grades"].items()}
                == {k: g["points"] for k, g in alone["grades"].items()}), student
    assert results["honest"]["points"] == 5.0

    # Hostile submissions: honest code's points, the promised status, a reason shown.
    wrong = []
    for case, want in expected.items():
        got = results[f"x-{case}"]
        points = sum(POINTS[f] for f in want["honest"])
        if (got["status"], got["points"]) != (want["status"], points):
            wrong.append((case, got["status"], got["points"], want["status"], points, got["reasons"]))
            continue
        if want["reason"]:
            assert any(want["reason"] in r for r in got["reasons"]), (case, got["reasons"])
            assert f"x-{case}: {want['status']}" in lines and want["reason"] in lines.split(f"x-{case}:")[1].split("\n")[0]
            assert want["reason"].replace("'", "&#x27;") in page.split(f"<td>x-{case}</td>")[1].split("</tr>")[0]
    assert not wrong, "\n".join(map(repr, wrong))

    # One gradebook row per submission, equal to the journal.
    assert gradebook_rows(released_course) == journal_points(released_course)
