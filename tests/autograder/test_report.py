"""The instructor's report: three labelled figures embedded as PNG, flagged submissions listed."""
import re

from autograder.reporting.report import grading_times, pass_rates, render, score_histogram
from autograder.reporting.export import per_test_stats
from autograder.reporting.results import class_rows

from test_export import class_course  # noqa: F401  (fixture)


def test_figures_have_labelled_axes(class_course):
    rows = class_rows(class_course, "fixture")
    for fig in (score_histogram(rows), pass_rates(per_test_stats(rows)), grading_times(rows)):
        ax = fig.axes[0]
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


def test_report_is_self_contained_and_lists_every_problem_escaped(class_course):
    page = render(class_course, "fixture")
    assert len(re.findall(r"src='data:image/png;base64,[A-Za-z0-9+/=]{200,}'", page)) == 3
    assert "http://" not in page.replace('&quot;http://x&quot;', "")  # no external resources
    for student in ("bob", "dave", "erin", "mallory"):
        assert f"<td>{student}</td>" in page
    assert "=HYPERLINK(&quot;http://x&quot;)" in page
    assert "<td>alice</td>" not in page.split("Submissions needing attention")[1].split("Flags on")[0]


def test_report_lists_points_awaiting_manual_grading_per_cell_and_student(class_course, monkeypatch):
    import autograder.reporting.report as report
    from autograder.reporting.results import CellScore, Row

    def written(nb, gid, pts, pending):
        return CellScore(nb, gid, pts, 0.0 if pending else pts, pending, manual=not pending, cell_type="markdown")

    rows = [Row("fixture", "ann", "graded", 5.0, 9.0, cells=[written("fixture", "q1", 2.0, True),
                                                             written("fixture", "q2", 2.0, True)]),
            Row("fixture", "bob", "graded", 7.0, 9.0, cells=[written("fixture", "q1", 2.0, True),
                                                             written("fixture", "q2", 2.0, False)]),
            Row("fixture", "cat", "graded", 9.0, 9.0, cells=[written("fixture", "q1", 2.0, False)])]
    monkeypatch.setattr(report, "class_rows", lambda course, assignment: rows)

    page = render(class_course, "fixture")

    section = page.split("<h2>Awaiting manual grading (2)</h2>")[1].split("<h2>")[0]
    assert "2 submissions have 6 points awaiting manual grading in formgrader." in section  # 4 + 2
    assert "<tr><td>fixture / q1</td><td>2</td><td>4</td></tr>" in section
    assert "<tr><td>fixture / q2</td><td>1</td><td>2</td></tr>" in section
    assert "<tr><td>ann</td><td>5 / 9</td><td>4</td><td>q1, q2</td></tr>" in section
    assert "<tr><td>bob</td><td>7 / 9</td><td>2</td><td>q1</td></tr>" in section
    assert "<td>cat</td>" not in section
    # The summary at the top says it too.
    assert "2 submissions have 6 points awaiting" in page.split("<h2>")[0]


def test_report_says_when_nothing_awaits_manual_grading(class_course):
    page = render(class_course, "fixture")
    assert "<h2>Awaiting manual grading (0)</h2><p>No points await manual grading.</p>" in page


def test_report_shows_the_limits_line_the_jobs_recorded(class_course):
    from autograder.journal import Journal

    journal = Journal(class_course, "fixture")
    record = journal.read("alice")
    line = "limits per job: memory 512 MiB by rlimits + watchdog (RLIMIT_DATA <x>); processes 64 by RLIMIT_NPROC"
    record["result"]["enforced"] = [line, "memory: RLIMIT_DATA 1 B per process"]
    journal.write(record)
    page = render(class_course, "fixture")
    assert page.count("limits per job: memory 512 MiB by rlimits + watchdog (RLIMIT_DATA &lt;x&gt;)") == 1
    assert "RLIMIT_DATA 1 B" not in page


def test_counts_and_submission_numbers_have_whole_number_ticks(class_course):
    rows = class_rows(class_course, "fixture")
    for fig, axis in ((score_histogram(rows), "y"), (grading_times(rows), "x")):
        ax = fig.axes[0]
        fig.canvas.draw()
        ticks = (ax.get_yticks() if axis == "y" else ax.get_xticks())
        lo, hi = (ax.get_ylim() if axis == "y" else ax.get_xlim())
        shown = [t for t in ticks if lo <= t <= hi]
        assert len(shown) >= 2
        assert all(float(t).is_integer() for t in shown), (axis, shown)
