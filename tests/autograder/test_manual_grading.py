"""Every point accounted for: a correct a1 submission's written answers, before and after a
grader scores them in formgrader, agree in the feedback page, grades.csv, the report and
formgrader's own API.

Grades a filled-in release of a1_rnn_cell (and the blank release) with rnngrade, then gives
manual scores and a comment the way formgrader's grade and comment handlers do, and reruns
``rnngrade feedback``, ``export`` and ``report`` as the instructor's guide says. The expected
points are read from the source notebook's metadata, not from rnngrade.
"""
import csv
import html
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder import cli
from autograder.isolation import sandbox
from autograder.course import Course
from autograder.classrun.grade import grade_assignment
from autograder.limits import Limits

REPO = Path(__file__).resolve().parents[2]
A1 = "a1_rnn_cell"
SOURCE = REPO / "solutions" / A1 / f"{A1}.ipynb"
COMMENT = "Right: two bias vectors of H entries each. <b>Say</b> why they add no expressive power."

pytestmark = pytest.mark.slow


def _points_from_source():
    """(autograded points, {written answer grade_id: points}) from the source's nbgrader metadata."""
    auto, written = 0.0, {}
    for cell in nbformat.read(SOURCE, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            if cell.cell_type == "markdown":
                written[meta["grade_id"]] = float(meta["points"])
            else:
                auto += float(meta["points"])
    return auto, written


AUTO, WRITTEN = _points_from_source()


def _filled(release: Path) -> nbformat.NotebookNode:
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nbformat.read(SOURCE, as_version=4).cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(release, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = answers[cell.metadata["nbgrader"]["grade_id"]]
    return nb


@pytest.fixture(scope="module")
def a1_course(tmp_path_factory):
    root = tmp_path_factory.mktemp("manual") / "course"
    (root / "solutions").mkdir(parents=True)
    shutil.copytree(REPO / "solutions" / A1, root / "solutions" / A1)
    shutil.copy(REPO / "nbgrader_config.py", root)
    assert cli.main(["release", A1, "--course", str(root)]) == 0
    release = root / "exercises" / A1 / f"{A1}.ipynb"
    for student in ("full", "blank"):
        (root / "submitted" / student / A1).mkdir(parents=True)
    nbformat.write(_filled(release), root / "submitted" / "full" / A1 / f"{A1}.ipynb")
    shutil.copy(release, root / "submitted" / "blank" / A1)
    course = Course.from_root(root)
    # Our own solution is trusted: grade without the sandbox where it cannot start, since
    # this test is about accounting, not isolation (the sandbox has its own tests).
    summary = grade_assignment(course, A1, Limits(cell_timeout=120), sandbox=sandbox.available()[0],
                               workers=1, progress=False)
    assert {r["student"]: r["result"]["status"] for r in summary.graded} == {"full": "graded", "blank": "graded"}
    return course


def _rerun(course, capsys):
    """The three commands of the guide's last step; returns (feedback page text, csv rows, report)."""
    root = str(course.root)
    for argv in (["feedback", A1], ["export", "--out", root], ["report", A1]):
        assert cli.main([*argv, "--course", root]) == 0
    capsys.readouterr()
    page = html.unescape((course.feedback_dir("full", A1) / f"{A1}.html").read_text())
    with open(course.root / "grades.csv", newline="") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    report = html.unescape((course.state / A1 / "report.html").read_text())
    return page, rows, report


def _text(page: str) -> str:
    """A page's words without its tags (the score is in bold)."""
    return re.sub(r"<[^>]+>", "", page)


def _page_cell(page: str, grade_id: str) -> str:
    """The table row of one graded cell on a feedback page, tags removed."""
    row = re.search(rf"<tr><td>{grade_id}</td>.*?</tr>", page, re.S)
    assert row, f"{grade_id} is not on the feedback page"
    return re.sub(r"<[^>]+>", " ", row.group(0))


def _formgrader(course):
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from autograder.release import nbgrader_config

    config = nbgrader_config(course)
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def _grade_by_hand(course, grade_id, score, comment=None):
    """What formgrader's GradeHandler.put and CommentHandler.put do when a grader types a score
    and a comment (nbgrader/server_extensions/formgrader/apihandlers.py)."""
    with _formgrader(course).gradebook as gb:
        grade = gb.find_grade(grade_id, A1, A1, "full")
        grade.manual_score = score
        grade.extra_credit = None
        grade.needs_manual_grade = grade.manual_score is None and grade.auto_score is None
        if comment is not None:
            gb.find_comment(grade_id, A1, A1, "full").manual_comment = comment
        gb.db.commit()


def _formgrader_scores(course):
    return {s["student"]: (s["score"], s["max_score"], s["needs_manual_grade"])
            for s in _formgrader(course).get_submissions(A1)}


def test_written_answers_are_accounted_for_before_and_after_manual_grading(a1_course, capsys):
    assert AUTO > 0 and len(WRITTEN) >= 2, (AUTO, WRITTEN)  # a1 has written answers to grade
    total, pending = AUTO + sum(WRITTEN.values()), sum(WRITTEN.values())
    first, *rest = WRITTEN  # in the notebook's order

    # Before any manual grade: every autograded point earned, every written point waiting.
    page, rows, report = _rerun(a1_course, capsys)
    full = rows["full"]
    assert (float(full["points"]), float(full["max_points"]), full["manual"],
            float(full["pending_manual_points"])) == (AUTO, total, "no", pending)
    assert f"Score: {AUTO:g} of {total:g} points, {pending:g} awaiting manual grading." in _text(page)
    for grade_id, points in WRITTEN.items():
        assert f"awaiting manual grading (0 of {points:g})" in _page_cell(page, grade_id)
    # The blank release earns nothing and, as in nbgrader, its written answers left as released
    # score 0 with the comment "No response." instead of waiting for a human.
    assert (float(rows["blank"]["points"]), float(rows["blank"]["pending_manual_points"])) == (0.0, 0.0)
    assert f"1 submission has {pending:g} points awaiting manual grading in formgrader." in report
    for grade_id, points in WRITTEN.items():
        assert f"<tr><td>{A1} / {grade_id}</td><td>1</td><td>{points:g}</td></tr>" in report
    assert f"<tr><td>full</td><td>{AUTO:g} / {total:g}</td><td>{pending:g}</td><td>{', '.join(sorted(WRITTEN))}</td></tr>" in report
    assert _formgrader_scores(a1_course)["full"] == (AUTO, total, True)

    # A grader scores one answer 1.5 of 2 with a comment; the others still wait.
    _grade_by_hand(a1_course, first, 1.5, COMMENT)
    page, rows, report = _rerun(a1_course, capsys)
    full = rows["full"]
    left = sum(WRITTEN[g] for g in rest)
    assert (float(full["points"]), full["manual"], float(full["pending_manual_points"])) == (AUTO + 1.5, "yes", left)
    assert f"Score: {AUTO + 1.5:g} of {total:g} points, {left:g} awaiting manual grading." in _text(page)
    graded = _page_cell(page, first)
    assert f"1.5 / {WRITTEN[first]:g}" in graded and "graded by hand" in graded
    assert COMMENT in page  # unescaped above: on the page it is text, not markup
    assert "<b>Say</b>" not in (a1_course.feedback_dir("full", A1) / f"{A1}.html").read_text()
    for grade_id in rest:
        assert f"awaiting manual grading (0 of {WRITTEN[grade_id]:g})" in _page_cell(page, grade_id)
    assert (f"<tr><td>full</td><td>{AUTO + 1.5:g} / {total:g}</td><td>{left:g}</td>"
            f"<td>{', '.join(sorted(rest))}</td></tr>") in report
    assert f"1 submission has {left:g} points awaiting manual grading in formgrader." in report
    assert _formgrader_scores(a1_course)["full"] == (AUTO + 1.5, total, True)

    # The other answers graded: nothing waits, and all four places say the same total.
    for grade_id in rest:
        _grade_by_hand(a1_course, grade_id, WRITTEN[grade_id])
    page, rows, report = _rerun(a1_course, capsys)
    final = AUTO + 1.5 + left
    full = rows["full"]
    assert (float(full["points"]), float(full["max_points"]), full["manual"],
            float(full["pending_manual_points"])) == (final, total, "yes", 0.0)
    assert f"Score: {final:g} of {total:g} points." in _text(page) and "awaiting manual grading (" not in page
    assert "<tr><td>full</td>" not in report.split("Awaiting manual grading")[1].split("<h2>")[0]
    assert "points awaiting manual grading in formgrader." not in report  # the blank one got "No response."
    assert _formgrader_scores(a1_course)["full"] == (final, total, False)


def test_a_result_not_yet_in_the_gradebook_shows_the_same_waiting_points(a1_course, capsys):
    # A run killed between journaling a result and merging it: until the next run merges it,
    # feedback and export must still count the written answers (as the merge will).
    from autograder.journal import Journal
    from autograder.reporting.results import class_rows

    journal = Journal(a1_course, A1)
    record = dict(journal.records()["blank"], student="late", merged=False)
    journal.write(record)

    row = next(r for r in class_rows(a1_course, A1) if r.student == "late")
    total, pending = AUTO + sum(WRITTEN.values()), sum(WRITTEN.values())
    assert (row.points, row.max_points, row.pending_points) == (0.0, total, pending)
    assert any("not yet written to the gradebook" in reason for reason in row.reasons)
    assert cli.main(["feedback", A1, "--student", "late", "--course", str(a1_course.root)]) == 0
    page = (a1_course.feedback_dir("late", A1) / f"{A1}.html").read_text()
    assert f"Score: {0:g} of {total:g} points, {pending:g} awaiting manual grading." in _text(page)


@pytest.mark.browser
def test_feedback_pages_and_report_fit_a_1280_pixel_window(a1_course, capsys, tmp_path):
    """The pages a student and an instructor read, opened in Chromium: nothing wider than its
    box, figures at a readable scale; their screenshots are saved in artifacts/ to be looked at."""
    import chromium_driver

    _rerun(a1_course, capsys)
    pages = {"feedback-a1-full": a1_course.feedback_dir("full", A1) / f"{A1}.html",
             "feedback-a1-blank": a1_course.feedback_dir("blank", A1) / f"{A1}.html",
             "report-a1": a1_course.state / A1 / "report.html"}
    driver = chromium_driver.start(tmp_path / "chromium-profile")
    try:
        problems = {}
        for name, path in pages.items():
            driver.get(path.as_uri())
            chromium_driver.screenshot(driver, name)
            found = chromium_driver.overflowing(driver) + chromium_driver.shrunk_images(driver)
            if found:
                problems[name] = found
    finally:
        driver.quit()
    assert not problems, problems
