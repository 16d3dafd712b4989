"""``rnngrade export``: the grades CSV and the per-test pass-rate CSV.

``grades.csv`` has one row per student and assignment (see :mod:`autograder.reporting.results`:
students with no submission, refused folders, ungraded and failed submissions included,
each with its status and reason). Scores come from the gradebook, so a score a grader
gave or changed in formgrader is the one exported:

- ``points`` : the points earned so far, manual scores included;
- ``max_points`` : every point of the assignment, written answers included;
- ``manual`` : ``yes`` when a grader gave at least one score by hand in formgrader (a
  written answer graded, or an automatic score overridden), as before;
- ``pending_manual_points`` : the points of cells still waiting for a grader in formgrader
  (written answers not graded yet); they are in ``max_points`` but not in ``points``, so a
  row is final only when this is 0. Empty when the submission has no grades at all.

``tests.csv`` has one row per test cell: how many graded submissions earned full, partial
and no points, the pass rate (full points over submissions that have a result for the
cell) and the mean points; and one row per hidden case (``case`` column filled) with its
pass rate, so a case almost nobody passes stands out.

Text cells that a spreadsheet would run as a formula (starting with ``= + - @``) are
prefixed with a quote.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from autograder.course import Course, notebook_stem
from autograder.reporting.results import Row, class_rows

GRADE_COLUMNS = ["assignment", "student", "status", "points", "max_points", "manual",
                 "pending_manual_points", "reasons", "flags", "graded_at", "checksum"]
TEST_COLUMNS = ["assignment", "notebook", "grade_id", "case", "max_points", "submissions",
                "full", "partial", "zero", "pass_rate", "mean_points"]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def grade_rows(rows: list[Row]) -> list[list[str]]:
    out = []
    for r in rows:
        rec = r.record
        out.append([_cell(x) for x in (
            r.assignment, r.student, r.status, r.points, r.max_points, r.manual,
            r.pending_points, " | ".join(r.reasons), " | ".join(r.flags),
            _iso(rec.graded_at if rec else None), (rec.checksum or "") if rec else "")])
    return out


def _iso(ts) -> str:
    if ts is None:
        return ""
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="seconds")


def per_test_stats(rows: list[Row]) -> list[dict]:
    """Per test cell and per hidden case counts over the rows that have a result."""
    cells, cases = {}, {}
    for r in rows:
        if not r.record:
            continue
        for g in r.record.result.grades.values():
            key = (r.assignment, notebook_stem(g.notebook), g.grade_id)
            s = cells.setdefault(key, {"max_points": g.max_points, "n": 0, "full": 0, "partial": 0,
                                       "zero": 0, "points": 0.0})
            s["n"] += 1
            s["points"] += g.points
            kind = "full" if g.points >= g.max_points > 0 else "zero" if g.points <= 0 else "partial"
            s[kind] += 1
            for m in g.messages:
                if not m.hidden:
                    continue  # visible-test messages appear only on failure: no rate to compute
                c = cases.setdefault(key + (m.name,), {"n": 0, "passed": 0})
                c["n"] += 1
                c["passed"] += bool(m.passed)
    out = []
    for key, s in sorted(cells.items()):
        out.append({"assignment": key[0], "notebook": key[1], "grade_id": key[2], "case": "",
                    "max_points": s["max_points"], "submissions": s["n"], "full": s["full"],
                    "partial": s["partial"], "zero": s["zero"], "pass_rate": s["full"] / s["n"],
                    "mean_points": s["points"] / s["n"]})
        for ckey, c in sorted(cases.items()):
            if ckey[:3] == key:
                out.append({"assignment": key[0], "notebook": key[1], "grade_id": key[2], "case": ckey[3],
                            "max_points": "", "submissions": c["n"], "full": c["passed"], "partial": "",
                            "zero": c["n"] - c["passed"], "pass_rate": c["passed"] / c["n"], "mean_points": ""})
    return out


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    from autograder.journal import atomic_write_text

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def export(course: Course, assignments: list[str] | None, out_dir: Path) -> tuple[Path, Path, int]:
    """Write ``grades.csv`` and ``tests.csv`` into ``out_dir``; returns their paths and the row count."""
    names = assignments or course.assignments()
    all_rows = [row for a in names for row in class_rows(course, a)]
    grades_path, tests_path = Path(out_dir) / "grades.csv", Path(out_dir) / "tests.csv"
    _write_csv(grades_path, GRADE_COLUMNS, grade_rows(all_rows))
    stats = per_test_stats(all_rows)
    _write_csv(tests_path, TEST_COLUMNS, [[_cell(s[c]) for c in TEST_COLUMNS] for s in stats])
    return grades_path, tests_path, len(all_rows)
