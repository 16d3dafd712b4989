"""One row per student and assignment, from every place a submission can be recorded.

Export, report and feedback read the class through :func:`class_rows`, which joins

- the submission folders (``submitted/``: what exists, and its current checksum),
- the journal (``.rnngrade/<assignment>/results/``: status, reasons, per-test messages),
- the gradebook (scores, including manual scores a grader gave in formgrader; students
  enrolled with no submission),

so that nothing is lost: a student with no submission, a folder the grader refused, a
submission never graded or changed since grading, each gets a row with a status saying so.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from autograder.course import Course, find_submissions
from autograder.journal import Journal

# Statuses that only this module produces (the engine's are in autograder.grades).
NOT_SUBMITTED = "not-submitted"
NOT_GRADED = "not-graded"
CHANGED = "changed-since-grading"
REFUSED = "refused"


@dataclass
class Row:
    assignment: str
    student: str
    status: str
    points: float | None = None
    max_points: float | None = None
    reasons: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    record: dict | None = None
    manual: bool = False  # a grader changed a score by hand in formgrader

    @property
    def seconds(self) -> float | None:
        if not self.record:
            return None
        t = self.record["result"].get("timings", {})
        return t.get("total", t.get("worker_total"))


def _gradebook_scores(course: Course, assignment: str):
    """student -> (score, max_score, manual) from the gradebook, plus the enrolled students."""
    scores, students = {}, []
    if not course.gradebook.exists():
        return scores, students
    from nbgrader.api import MissingEntry

    from autograder.gradebook import open_gradebook

    with open_gradebook(course) as gb:
        students = [s.id for s in gb.students]
        try:
            subs = gb.assignment_submissions(assignment)
        except MissingEntry:
            return scores, students
        for sub in subs:
            manual = any(g.manual_score is not None for nb in sub.notebooks for g in nb.grades)
            scores[sub.student.id] = (float(sub.score), float(sub.max_score), manual)
    return scores, students


def class_rows(course: Course, assignment: str) -> list[Row]:
    """Every student known anywhere for ``assignment``, sorted by id (see module docstring)."""
    submissions, refused = find_submissions(course, assignment)
    current = {s.student: s.checksum for s in submissions}
    records = Journal(course, assignment).records()
    scores, enrolled = _gradebook_scores(course, assignment)
    rows = {}
    for student in sorted(set(current) | set(records) | set(enrolled) | set(scores)):
        rec = records.get(student)
        if student not in current and rec is None:
            row = Row(assignment, student, NOT_SUBMITTED, reasons=["no submission folder"])
        elif rec is None:
            row = Row(assignment, student, NOT_GRADED, reasons=["submitted but not graded yet: run rnngrade grade"])
        else:
            res = rec["result"]
            row = Row(assignment, student, res["status"], res.get("points"), res.get("max_points"),
                      list(res.get("reasons", [])), list(res.get("flags", [])), rec)
            if student in current and current[student] != rec.get("checksum"):
                row.status = CHANGED
                row.reasons.insert(0, "the submission changed after it was graded: run rnngrade grade")
            elif student not in current:
                row.reasons.insert(0, "graded, but its submission folder has since been removed")
            if not rec.get("merged"):
                row.reasons.insert(0, "graded but not yet written to the gradebook: run rnngrade grade")
        if student in scores and row.status != NOT_SUBMITTED:
            row.points, row.max_points, row.manual = scores[student]
        rows[student] = row
    for rej in refused:
        # A refused folder may still yield a graded submission (links inside are skipped):
        # keep the row of the graded one and add the reason.
        student = rej.path.relative_to(course.submitted).parts[0]
        if student in rows and rows[student].status not in (NOT_SUBMITTED,):
            rows[student].reasons.append(rej.reason)
        else:
            rows[student] = Row(assignment, student, REFUSED, reasons=[rej.reason])
    return [rows[s] for s in sorted(rows)]
