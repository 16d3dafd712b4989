"""``rnngrade feedback``: per-student HTML feedback that never shows hidden tests.

``feedback/<student>/<assignment>/<notebook>.html`` (nbgrader's layout, so ``nbgrader
release_feedback`` hands it out) lists each graded cell of the notebook, tests and written
answers, with its name, the points earned and every message the grader recorded for it: the
visible tests' messages, and for each hidden case its name and whether it passed.

nbgrader's own feedback is the graded notebook itself, hidden tests' source included, and
a failing hidden test's traceback repeats its lines. Here the page is built only from the
journal's messages, and those are filtered twice before they are shown:

- any line containing a line of a hidden-test block of the source notebook is dropped;
- in a hidden case's message, the expected value after "expected" (a number, an array, a
  list, a tuple with a non-integer) is replaced by "(hidden)"; integer tuples, which are
  shapes, stay.

Every point of the notebook is on the page. The grades come from the same rows as
``grades.csv`` (:func:`autograder.reporting.results.class_rows`), so the page's total is the exported
one: a written answer that no grader has scored yet shows as "awaiting manual grading (0 of
2)" and the total says how many points are still waiting; once a grader scores it in
formgrader, the page shows that score and the grader's comment. Rerun ``rnngrade feedback``
after grading by hand.

Everything on the page is HTML-escaped; it has no scripts and no external resources.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

from autograder.course import Course, notebook_stem
from autograder.grades import CaseMessage
from autograder.journal import atomic_write_text
from autograder.reporting.results import CellScore, class_rows

def is_hidden_case(message: dict) -> bool:
    """Whether a result message (as JSON) belongs to a hidden check's case: its ``hidden``
    flag, read as :meth:`autograder.grades.CaseMessage.from_dict` reads every message."""
    return CaseMessage.from_dict(message).hidden
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?nan|[-+]?inf"
_EXPECTED = re.compile(
    r"(expected|want(?:ed)?|should be)(\s*[:=]?\s*)"
    r"(array\((?:[^()]|\([^()]*\))*\)|np\.\w+\([^)]*\)|\[[^\]]*\]?|\((?:[^()]|\([^()]*\))*\)|" + _NUMBER + ")",
    re.IGNORECASE)
_INT_TUPLE = re.compile(r"^\(\s*(?:\d+\s*,\s*)*\d*\s*,?\s*\)$")


def hidden_lines(source_nb: dict) -> set[str]:
    """The stripped, non-trivial lines inside every hidden-test block of a source notebook."""
    lines = set()
    for cell in source_nb.get("cells", []):
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        inside = False
        for line in src.splitlines():
            s = line.strip()
            if s == HIDDEN_BEGIN:
                inside = True
            elif s == HIDDEN_END:
                inside = False
            elif inside and len(s) >= 6:
                lines.add(s)
    return lines


def redact(message: str, secret_lines: set[str], hidden_case: bool) -> str:
    """``message`` without hidden-test source lines and (for hidden cases) expected values."""
    kept = [line for line in message.splitlines() if not any(s in line for s in secret_lines)]
    text = "\n".join(kept) if kept else "(details hidden)"
    if hidden_case:
        def _sub(m):
            value = m.group(3)
            if _INT_TUPLE.match(value):
                return m.group(0)  # a shape, which the docstring states anyway
            return f"{m.group(1)}{m.group(2)}(hidden)"
        text = _EXPECTED.sub(_sub, text)
    return text


_CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{border:1px solid #ccc;padding:.4rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}.pass{color:#146c2e}.fail{color:#a4161a}pre{white-space:pre-wrap;margin:0;font-size:.9em}
.status{padding:.6rem;border-radius:4px;background:#f6f6f6}.pending{color:#8a5a00}"""


def _points(x: float) -> str:
    return f"{x:g}"


def score_line(earned: float, possible: float, pending: float) -> str:
    """The page's total in words: "17 of 21 points, 4 awaiting manual grading"."""
    text = f"{_points(earned)} of {_points(possible)} points"
    if pending:
        text += f", {_points(pending)} awaiting manual grading"
    return text


# What a check says when a case passes; such lines are grouped into one list instead of
# repeating "correct" under every case.
_PLAIN_PASS = {"", "correct", "ok", "passed"}


def _message_details(messages: list[dict], secret_lines: set[str]) -> list[str]:
    """HTML paragraphs for one cell's messages: the failures, then the passed cases as one list.

    Failures that say the same thing (an unimplemented function fails every case with the same
    error) are listed once with all their case names; a passed case whose message says more
    than "correct" keeps its text.
    """
    e = html.escape
    failed: dict[str, list[str]] = {}  # message text -> case labels, in order of appearance
    noted, passed = [], []
    for m in messages:
        hidden = is_hidden_case(m)
        label = ("hidden case " if hidden else "") + m["name"]
        text = redact(m.get("message", ""), secret_lines, hidden)
        if m["passed"] and text.strip().lower() in _PLAIN_PASS:
            passed.append(label)
        elif m["passed"]:
            noted.append(f"<p>{e(label)}: <span class='pass'>passed</span></p><pre>{e(text)}</pre>")
        else:
            failed.setdefault(text, []).append(label)
    details = []
    for text, labels in failed.items():
        head = (f"{e(labels[0])}: <span class='fail'>failed</span>" if len(labels) == 1 else
                f"<span class='fail'>Failed ({len(labels)} cases, same message):</span> "
                f"{e('; '.join(labels))}")
        details.append(f"<p>{head}</p><pre>{e(text)}</pre>")
    details += noted
    if passed:
        what = "case" if len(passed) == 1 else f"{len(passed)} cases"
        details.append(f"<p><span class='pass'>Passed ({what}):</span> "
                       f"{e('; '.join(passed))}</p>")
    return details


def render(record: dict, notebook: str, secret_lines: set[str], assignment_title: str = "",
           cells: list[CellScore] | None = None, comments: dict | None = None,
           order: list[str] | None = None) -> str:
    """The feedback page of one notebook of one submission (a complete HTML document).

    record : the journal record (status, reasons, and each test's messages).
    cells : the submission's graded cells as the gradebook holds them
        (:attr:`autograder.reporting.results.Row.cells`); their scores, manual ones included, win over
        the record's, and cells the engine does not score (written answers) come only from
        here. None: the record's scores alone.
    comments : (notebook, cell name) -> a grader's comment from formgrader.
    order : grade ids in the order of the notebook (default: alphabetical).
    """
    e = html.escape
    res = record["result"]
    auto = {g["grade_id"]: g for g in res.get("grades", {}).values()
            if notebook_stem(g.get("notebook")) in (notebook, "")}
    booked = {c.grade_id: c for c in (cells or []) if notebook_stem(c.notebook) in (notebook, "")}
    rank = {gid: i for i, gid in enumerate(order or [])}
    ids = sorted(set(auto) | set(booked), key=lambda gid: (rank.get(gid, len(rank)), gid))
    rows, earned, possible, pending = [], 0.0, 0.0, 0.0
    for gid in ids:
        g, c = auto.get(gid, {}), booked.get(gid)
        max_points = c.max_points if c else g["max_points"]
        points = c.points if c else g["points"]
        possible += max_points
        earned += points
        if c is not None and c.pending:
            pending += max_points
        rows.append(_row(gid, g, c, points, max_points, secret_lines))

    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             f"<title>Feedback: {e(record['assignment'])} / {e(notebook)}</title><style>{_CSS}</style></head><body>",
             f"<h1>Feedback on {e(assignment_title or record['assignment'])}: {e(notebook)}.ipynb</h1>",
             f"<p>Student: <b>{e(record['student'])}</b>. Score: <b>{e(score_line(earned, possible, pending))}</b>.</p>"]
    if pending:
        parts.append("<p class='pending'>This score is not final: the points awaiting manual grading "
                     "are not counted yet. This page will be updated once they are graded.</p>")
    parts += _status(res, secret_lines)
    parts.append("<table><thead><tr><th>Test or answer</th><th>Points</th><th>Result</th><th>Details</th></tr></thead><tbody>")
    parts += rows
    parts.append("</tbody></table>")
    # Comments on cells that carry no points (a code answer, say) would otherwise be lost.
    others = [(name, text) for (nb, name), text in sorted((comments or {}).items())
              if notebook_stem(nb) in (notebook, "") and name not in booked]
    if others:
        parts.append("<h2>Comments from your grader</h2><table><thead><tr><th>Cell</th><th>Comment</th></tr></thead><tbody>")
        parts += [f"<tr><td>{e(name)}</td><td><pre>{e(text)}</pre></td></tr>" for name, text in others]
        parts.append("</tbody></table>")
    parts.append("<p>Hidden tests run your functions on inputs you have not seen; their inputs, "
                 "expected values and code are not shown here. A failed hidden case names the "
                 "kind of input: test your function on such inputs yourself.</p></body></html>")
    return "".join(parts)


def _row(gid, g: dict, c: CellScore | None, points, max_points, secret_lines) -> str:
    """One table row: a graded cell's points, result and messages (redacted)."""
    e = html.escape
    if c is not None and c.pending:
        shown = f"<span class='pending'>awaiting manual grading ({_points(points)} of {_points(max_points)})</span>"
        result = "awaiting manual grading"
    else:
        shown = f"{_points(points)} / {_points(max_points)}"
        result = "graded by hand" if c is not None and c.manual else g.get("status", "")
    details = _message_details(g.get("messages", []), secret_lines)
    if c is not None and c.comment:
        details.append(f"<p>Comment from your grader:</p><pre>{e(c.comment)}</pre>")
    if c is not None and c.pending:
        details.append("<p>A written answer: a grader will score it by hand.</p>"
                       if c.cell_type == "markdown" else
                       "<p>The automatic grader could not score this cell: a grader will score it by hand.</p>")
    return f"<tr><td>{e(gid)}</td><td>{shown}</td><td>{e(result)}</td><td>{''.join(details)}</td></tr>"


def _status(res: dict, secret_lines) -> list[str]:
    """The grading status with its reasons (unless plainly graded), and the grader's notes."""
    e, parts = html.escape, []
    status = res["status"]
    if status != "graded" or res.get("reasons"):
        parts.append(f"<div class='status'><p>Grading status: <b>{e(status)}</b></p><ul>")
        parts += [f"<li>{e(redact(r, secret_lines, True))}</li>" for r in res.get("reasons", [])]
        parts.append("</ul></div>")
    if res.get("flags"):
        parts.append("<p>Notes from the grader:</p><ul>")
        parts += [f"<li>{e(redact(f, secret_lines, True))}</li>" for f in res["flags"]]
        parts.append("</ul>")
    return parts


def write_feedback(course: Course, assignment: str, students: list[str] | None = None) -> list[Path]:
    """Write the feedback pages of every journaled (or the named) submission; returns the paths.

    Scores are read from the gradebook where it has them (manual grades from formgrader
    included), so rerun this after grading written answers by hand.
    """
    import json

    sources = {p.stem: json.loads(p.read_text(encoding="utf-8"))
               for p in sorted((course.source / assignment).glob("*.ipynb"))}
    if not sources:
        raise ValueError(f"assignment {assignment!r} has no source notebooks in {course.source / assignment}")
    secret = set().union(*(hidden_lines(nb) for nb in sources.values()))
    order = {name: [c["metadata"]["nbgrader"]["grade_id"] for c in nb.get("cells", [])
                    if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")]
             for name, nb in sources.items()}
    written = []
    for row in class_rows(course, assignment):
        if row.record is None or (students and row.student not in students):
            continue
        for notebook in sources:
            path = course.feedback_dir(row.student, assignment) / f"{notebook}.html"
            # A row without gradebook cells (no gradebook yet) falls back to the record alone.
            page = render(row.record.to_dict(), notebook, secret, cells=row.cells or None, comments=row.comments,
                          order=order[notebook])
            atomic_write_text(path, page)
            written.append(path)
    return written
