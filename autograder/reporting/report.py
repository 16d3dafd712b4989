"""``rnngrade report``: one self-contained HTML page on an assignment's grading, for the instructor.

Three figures, drawn with matplotlib and embedded as base64 PNG (the page opens offline
and can be mailed): the histogram of total scores, the pass rate of each test cell, and
the grading time of each submission against its notebook's own execution time. Then the
points still waiting for a grader in formgrader (written answers): how many submissions and
points in all, per cell, and per student. Below them, every submission that is not cleanly graded (timeout, crash, malformed, tampered, wrong
assignment, missing, grader error, not graded yet, changed, refused) with its reasons, and
the flags of graded ones (shortcut uses, restored metadata). Everything is HTML-escaped.
"""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from autograder.course import Course
from autograder.reporting.export import per_test_stats
from autograder.journal import atomic_write_text
from autograder.reporting.results import NOT_SUBMITTED, Row, class_rows


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "<img alt='figure' src='data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii") + "'>"


def _integer_ticks(axis) -> None:
    """Ticks at whole numbers only, for axes that count submissions or number them."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def score_histogram(rows: list[Row]):
    import matplotlib.pyplot as plt

    scored = [r for r in rows if r.points is not None and r.max_points]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    if scored:
        top = max(r.max_points for r in scored)
        ax.hist([r.points for r in scored], bins=min(20, max(5, int(top) + 1)), range=(0, top),
                color="#3b75af", edgecolor="white")
    ax.set_xlabel("total score (points)")
    ax.set_ylabel("number of submissions")
    _integer_ticks(ax.yaxis)  # a count of submissions is never 2.5
    waiting = sum(1 for r in scored if r.pending_points)
    # A histogram of provisional scores must say so, or it reads as the final distribution.
    ax.set_title(f"Scores of {len(scored)} graded submissions"
                 + (f" ({waiting} still awaiting manual grading)" if waiting else ""))
    return fig


def pass_rates(stats: list[dict]):
    import matplotlib.pyplot as plt

    cells = [s for s in stats if not s["case"]]
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * max(1, len(cells))))
    names = [s["grade_id"] for s in cells]
    ax.barh(names, [100 * s["pass_rate"] for s in cells], color="#4c9a5b")
    ax.barh(names, [100 * s["partial"] / s["submissions"] for s in cells],
            left=[100 * s["pass_rate"] for s in cells], color="#e0b040", label="partial points")
    ax.set_xlim(0, 100)
    ax.set_xlabel("submissions with full points (%), partial in yellow")
    ax.set_ylabel("test cell (grade_id)")
    ax.invert_yaxis()
    ax.set_title("Pass rate per test")
    if cells:
        ax.legend(loc="lower right", fontsize=8)
    return fig


def grading_times(rows: list[Row]):
    import matplotlib.pyplot as plt

    timed = [r for r in rows if r.seconds is not None]
    timed.sort(key=lambda r: r.seconds)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    x = range(len(timed))
    ax.bar(x, [r.seconds for r in timed], color="#8a8a8a", label="whole job (kernel start, grading)")
    ax.bar(x, [r.record.result.timings.get("execution", 0.0) for r in timed],
           color="#c0504d", label="executing the notebook's cells")
    ax.set_xlabel("submission (sorted by grading time)")
    _integer_ticks(ax.xaxis)
    ax.set_ylabel("seconds")
    ax.set_title("Grading time per submission")
    ax.legend(fontsize=8)
    return fig


def pending_summary(rows: list[Row]) -> str:
    """One sentence on the points awaiting manual grading, e.g. "2 submissions have 8 points
    awaiting manual grading in formgrader" (the same sentence on the page and in tests)."""
    waiting = [r for r in rows if r.pending_points]
    if not waiting:
        return "No points await manual grading."
    total = sum(r.pending_points for r in waiting)
    noun = "submission has" if len(waiting) == 1 else "submissions have"
    return f"{len(waiting)} {noun} {total:g} points awaiting manual grading in formgrader."


def _pending_section(rows: list[Row]) -> list[str]:
    e = html.escape
    waiting = [r for r in rows if r.pending_points]
    parts = [f"<h2>Awaiting manual grading ({len(waiting)})</h2><p>{e(pending_summary(rows))}</p>"]
    if not waiting:
        return parts
    per_cell = {}
    for r in waiting:
        for c in r.pending_cells:
            n, pts = per_cell.get((c.notebook, c.grade_id), (0, 0.0))
            per_cell[(c.notebook, c.grade_id)] = (n + 1, pts + c.max_points)
    parts.append("<p>Grade them in formgrader, then rerun <code>rnngrade feedback</code>, "
                 "<code>rnngrade export</code> and <code>rnngrade report</code>.</p>"
                 "<table><tr><th>cell</th><th>submissions waiting</th><th>points waiting</th></tr>")
    for (nb, gid), (n, pts) in sorted(per_cell.items()):
        parts.append(f"<tr><td>{e(nb)} / {e(gid)}</td><td>{n}</td><td>{pts:g}</td></tr>")
    parts.append("</table><table><tr><th>student</th><th>points so far</th><th>points waiting</th>"
                 "<th>cells waiting</th></tr>")
    for r in waiting:
        so_far = "" if r.points is None else f"{r.points:g} / {r.max_points:g}"
        cells = ", ".join(c.grade_id for c in r.pending_cells)
        parts.append(f"<tr><td>{e(r.student)}</td><td>{so_far}</td><td>{r.pending_points:g}</td>"
                     f"<td>{e(cells)}</td></tr>")
    parts.append("</table>")
    return parts


def _limit_lines(rows: list[Row]) -> list[str]:
    """The distinct 'limits per job' lines the graded jobs recorded (as rnngrade grade printed them)."""
    from autograder.isolation.enforcement import LINE_PREFIX

    lines = []
    for r in rows:
        for line in (r.record.result.enforced if r.record else []):
            if line.startswith(LINE_PREFIX) and line not in lines:
                lines.append(line)
    return lines


def render(course: Course, assignment: str) -> str:
    """The report page (a complete HTML document)."""
    import matplotlib

    matplotlib.use("Agg")
    e = html.escape
    rows = class_rows(course, assignment)
    stats = per_test_stats(rows)
    by_status = {}
    for r in rows:
        by_status.setdefault(r.status, []).append(r)
    scored = [r.points for r in rows if r.points is not None and r.status != NOT_SUBMITTED]
    mean = sum(scored) / len(scored) if scored else float("nan")
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             f"<title>Grading report: {e(assignment)}</title><style>"
             "body{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem}"
             "table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:.3rem;"
             "text-align:left;vertical-align:top}th{background:#f3f3f3}img{max-width:100%}</style></head><body>",
             f"<h1>Grading report: {e(assignment)}</h1>",
             f"<p>{len(rows)} students; " + ", ".join(f"{e(k)}: {len(v)}" for k, v in sorted(by_status.items()))
             + f". Mean score {mean:.2f} over {len(scored)} scored submissions. {e(pending_summary(rows))}</p>",
             *(f"<p>{e(line)}</p>" for line in _limit_lines(rows)),
             "<h2>Scores</h2>", _png(score_histogram(rows)),
             "<h2>Pass rate per test</h2>", _png(pass_rates(stats)),
             "<h2>Grading time</h2>", _png(grading_times(rows))]
    parts += _pending_section(rows)
    problems = [r for r in rows if r.status not in ("graded", NOT_SUBMITTED)]
    parts.append(f"<h2>Submissions needing attention ({len(problems)})</h2>")
    if problems:
        parts.append("<table><tr><th>student</th><th>status</th><th>points</th><th>reasons</th></tr>")
        for r in sorted(problems, key=lambda r: (r.status, r.student)):
            pts = "" if r.points is None else f"{r.points:g} / {r.max_points:g}"
            parts.append(f"<tr><td>{e(r.student)}</td><td>{e(r.status)}</td><td>{pts}</td><td><ul>"
                         + "".join(f"<li>{e(x)}</li>" for x in r.reasons) + "</ul></td></tr>")
        parts.append("</table>")
    flagged = [r for r in rows if r.flags]
    parts.append(f"<h2>Flags on submissions ({len(flagged)})</h2>")
    if flagged:
        parts.append("<table><tr><th>student</th><th>status</th><th>flags</th></tr>")
        for r in flagged:
            parts.append(f"<tr><td>{e(r.student)}</td><td>{e(r.status)}</td><td><ul>"
                         + "".join(f"<li>{e(x)}</li>" for x in r.flags) + "</ul></td></tr>")
        parts.append("</table>")
    parts.append("<h2>Per test</h2><table><tr><th>test</th><th>case</th><th>submissions</th>"
                 "<th>full</th><th>pass rate</th></tr>")
    for s in stats:
        parts.append(f"<tr><td>{e(s['grade_id'])}</td><td>{e(s['case'])}</td><td>{s['submissions']}</td>"
                     f"<td>{s['full']}</td><td>{100 * s['pass_rate']:.0f}%</td></tr>")
    parts.append("</table></body></html>")
    return "".join(parts)


def write_report(course: Course, assignment: str, out: Path) -> Path:
    course.notebooks(assignment)  # ValueError naming the known assignments if unknown
    atomic_write_text(Path(out), render(course, assignment))
    return Path(out)
