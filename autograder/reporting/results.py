"""One row per student and assignment, from every place a submission can be recorded.

Export, report and feedback read the class through :func:`class_rows`, which joins

- the submission folders (``submitted/``: what exists, and its current checksum),
- the journal (``.rnngrade/<assignment>/results/``: status, reasons, per-test messages),
- the gradebook (scores, including manual scores a grader gave in formgrader; students
  enrolled with no submission),

so that nothing is lost: a student with no submission, a folder the grader refused, a
submission never graded or changed since grading, each gets a row with a status saying so.

Every point is accounted for in the same way everywhere: a row carries one
:class:`CellScore` per graded cell of the assignment, autograded or not, as formgrader
shows it. A written answer (a markdown cell with ``grade: true``) has no automatic score:
until a grader scores it in formgrader it is *pending*, counted in ``max_points`` but not in
``points``, and ``pending_points`` says how many points wait for a human.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from autograder.course import Course, find_submissions, notebook_stem
from autograder.journal import Journal, JournalRecord

# Statuses that only this module produces (the engine's are in autograder.grades).
NOT_SUBMITTED = "not-submitted"
NOT_GRADED = "not-graded"
CHANGED = "changed-since-grading"
REFUSED = "refused"


@dataclass
class CellScore:
    """One graded cell of one submission, as the gradebook (and so formgrader) holds it.

    points : nbgrader's ``Grade.score``: the manual score when a grader gave one, else the
        automatic score, else 0; plus any extra credit.
    pending : the cell awaits a score in formgrader (nbgrader's ``needs_manual_grade``).
    manual : a grader gave this cell's score by hand (``manual_score`` is set).
    comment : the grader's comment on the cell in formgrader ("" when none).
    """

    notebook: str
    grade_id: str
    max_points: float
    points: float
    pending: bool
    manual: bool = False
    cell_type: str = "code"
    comment: str = ""


@dataclass
class Row:
    assignment: str
    student: str
    status: str
    points: float | None = None
    max_points: float | None = None
    reasons: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    record: JournalRecord | None = None
    manual: bool = False  # a grader gave at least one score by hand in formgrader
    # Every graded cell (empty when nothing was graded); comments a grader left in formgrader
    # on any cell, graded or not: (notebook, cell name) -> text.
    cells: list[CellScore] = field(default_factory=list)
    comments: dict = field(default_factory=dict)

    @property
    def pending_points(self) -> float | None:
        """Points awaiting manual grading in formgrader (None when nothing was graded)."""
        if not self.cells:
            return None
        return sum(c.max_points for c in self.cells if c.pending)

    @property
    def pending_cells(self) -> list[CellScore]:
        return sorted((c for c in self.cells if c.pending), key=lambda c: (c.notebook, c.grade_id))

    @property
    def seconds(self) -> float | None:
        if not self.record:
            return None
        t = self.record.result.timings
        return t.get("total", t.get("worker_total"))


@dataclass
class _Booked:
    """What the gradebook holds for one submission."""

    points: float
    max_points: float
    manual: bool
    cells: list
    comments: dict


def _gradebook_scores(course: Course, assignment: str):
    """student -> _Booked, the enrolled students, and the assignment's grade cells.

    The grade cells are ``{(notebook, grade_id): (max_score, cell_type)}``, empty when the
    gradebook does not know the assignment.
    """
    scores, students, grade_cells = {}, [], {}
    if not course.gradebook.exists():
        return scores, students, grade_cells
    from nbgrader.api import MissingEntry

    from autograder.reporting.gradebook import open_gradebook

    with open_gradebook(course) as gb:
        students = [s.id for s in gb.students]
        try:
            known = gb.find_assignment(assignment)
        except MissingEntry:
            return scores, students, grade_cells
        grade_cells = {(nb.name, gc.name): (float(gc.max_score), gc.cell_type)
                       for nb in known.notebooks for gc in nb.grade_cells}
        for sub in gb.assignment_submissions(assignment):
            cells, comments = [], {}
            for nb in sub.notebooks:
                for g in nb.grades:
                    cells.append(CellScore(nb.name, g.name, float(g.max_score), float(g.score),
                                           bool(g.needs_manual_grade), g.manual_score is not None,
                                           g.cell_type or "code"))
                for c in nb.comments:
                    if c.manual_comment and c.manual_comment.strip():
                        comments[(nb.name, c.name)] = c.manual_comment.strip()
            for cell in cells:
                cell.comment = comments.get((cell.notebook, cell.grade_id), "")
            scores[sub.student.id] = _Booked(float(sub.score), float(sub.max_score),
                                             any(c.manual for c in cells), cells, comments)
    return scores, students, grade_cells


def _cells_from_record(record: JournalRecord | dict, grade_cells: dict) -> list[CellScore]:
    """The cells a journal record will have once merged, for a record not merged yet.

    Uses the rule :func:`autograder.reporting.gradebook.merge` applies, so that a written answer shows
    as pending before the merge exactly as after it.
    """
    from autograder.reporting.gradebook import needs_manual_grade

    if isinstance(record, dict):
        record = JournalRecord.from_dict(record)
    res = record.result
    scored = {(notebook_stem(g.notebook), g.grade_id): g for g in res.grades.values()}
    cells = []
    for (nb, gid), (max_score, cell_type) in sorted(grade_cells.items()):
        got = scored.pop((nb, gid), None)
        pending = got is None and needs_manual_grade(res.status, cell_type)
        cells.append(CellScore(nb, gid, max_score, float(got.points) if got else 0.0, pending,
                               cell_type=cell_type))
    for (nb, gid), g in sorted(scored.items()):  # graded cells the gradebook does not know
        cells.append(CellScore(nb, gid, float(g.max_points), float(g.points), False))
    return cells


def class_rows(course: Course, assignment: str) -> list[Row]:
    """Every student known anywhere for ``assignment``, sorted by id (see module docstring)."""
    submissions, refused = find_submissions(course, assignment)
    current = {s.student: s.checksum for s in submissions}
    records = Journal(course, assignment).parsed()
    scores, enrolled, grade_cells = _gradebook_scores(course, assignment)
    rows = {}
    for student in sorted(set(current) | set(records) | set(enrolled) | set(scores)):
        rec = records.get(student)
        if student not in current and rec is None:
            row = Row(assignment, student, NOT_SUBMITTED, reasons=["no submission folder"])
        elif rec is None:
            row = Row(assignment, student, NOT_GRADED, reasons=["submitted but not graded yet: run rnngrade grade"])
        else:
            res = rec.result
            row = Row(assignment, student, res.status, res.points, res.max_points,
                      list(res.reasons), list(res.flags), rec)
            if student in current and current[student] != rec.checksum:
                row.status = CHANGED
                row.reasons.insert(0, "the submission changed after it was graded: run rnngrade grade")
            elif student not in current:
                row.reasons.insert(0, "graded, but its submission folder has since been removed")
            if not rec.merged:
                row.reasons.insert(0, "graded but not yet written to the gradebook: run rnngrade grade")
            if student not in scores and grade_cells:
                row.cells = _cells_from_record(rec, grade_cells)
                row.points = sum(c.points for c in row.cells)
                row.max_points = sum(c.max_points for c in row.cells)
        if student in scores and row.status != NOT_SUBMITTED:
            booked = scores[student]
            row.points, row.max_points, row.manual = booked.points, booked.max_points, booked.manual
            row.cells, row.comments = booked.cells, booked.comments
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
