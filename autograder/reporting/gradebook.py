"""Merge journaled results into nbgrader's real SQLite gradebook (main process only).

Workers never open ``gradebook.db``: they grade on throwaway copies and return JSON. The
main process alone merges results, in batches (:func:`merge_many`), so there is exactly one writer
and nbgrader's "database is locked" failure mode cannot arise. A merge is idempotent
(``update_or_create`` everywhere, scores overwritten, not added), so merging the same
journal record twice, as a rerun after a crash may do, leaves the same gradebook.

What goes where, so that formgrader, ``nbgrader export`` and ``nbgrader generate_feedback``
read our results like their own:

- student: created if missing; an id renamed by ``collect`` keeps its original spelling in
  ``lms_user_id``;
- submission: created with the time in ``timestamp.txt`` when present;
- each grade cell: ``auto_score`` = the points the engine gave (nbgrader's auto scores are
  points, not fractions), ``needs_manual_grade`` False; a manual score given in formgrader
  is never overwritten; a cell the engine does not score (a written answer, or every cell
  when the grader failed) gets no ``auto_score`` and ``needs_manual_grade`` True, which is
  how formgrader lists it as waiting for a human (:func:`needs_manual_grade`);
- each submitted notebook: ``flagged`` when the status is not ``graded`` (timeout, crashed,
  malformed, tampered, wrong-assignment, missing, error), so the flag shows in formgrader.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from autograder.course import Course, notebook_stem, venv_bin_on_path
from autograder.journal import JournalRecord


@contextlib.contextmanager
def open_gradebook(course: Course):
    from nbgrader.api import Gradebook

    venv_bin_on_path()
    gb = Gradebook(course.db_url)
    try:
        yield gb
    finally:
        gb.close()


def assignment_cells(course: Course, assignment: str) -> dict[str, dict[str, float]] | None:
    """{notebook: {grade_id: max_score}} as recorded in the gradebook, or None if absent."""
    from nbgrader.api import MissingEntry

    if not course.gradebook.exists():
        return None
    with open_gradebook(course) as gb:
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry:
            return None
        return {nb.name: {gc.name: gc.max_score for gc in nb.grade_cells} for nb in a.notebooks}


def ensure_assignment(course: Course, assignment: str) -> dict[str, dict[str, float]]:
    """Make sure the gradebook knows the assignment, its notebooks and grade cells.

    When it does not (the instructor never ran ``generate_assignment`` on this gradebook),
    runs nbgrader's GenerateAssignment with a throwaway release folder, which records
    exactly what ``nbgrader generate_assignment`` would.
    """
    cells = assignment_cells(course, assignment)
    expected = set(course.notebooks(assignment))
    if cells is not None and set(cells) == expected:
        return cells
    from autograder.release import generate

    course.state.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="release-", dir=course.state) as tmp:
        generate(course, assignment, release_directory=tmp)
    cells = assignment_cells(course, assignment)
    if cells is None or set(cells) != expected:
        raise RuntimeError(f"the gradebook still lacks assignment {assignment!r} after generate_assignment")
    return cells


def graded_sources(course: Course, assignment: str) -> dict[str, bytes]:
    """{notebook file name: bytes} of the source notebooks with each test cell's code as the
    gradebook recorded it at ``generate_assignment``, which nbgrader's OverwriteCells puts
    back at autograde time: ``### AUTOTEST`` lines come back expanded into the generated
    tests (hashed ones with their salt), not as comments that always pass."""
    import nbformat
    from nbgrader.api import MissingEntry

    out = {}
    with open_gradebook(course) as gb:
        for path in sorted((course.source / assignment).glob("*.ipynb")):
            if path.name.startswith("."):
                continue
            nb = nbformat.read(str(path), as_version=4)
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader", {})
                if not (isinstance(meta, dict) and meta.get("grade") and not meta.get("solution") and meta.get("grade_id")):
                    continue
                try:
                    cell.source = gb.find_source_cell(meta["grade_id"], path.stem, assignment).source
                except MissingEntry:
                    pass  # not recorded: the source's own text, as before generate_assignment
            out[path.name] = nbformat.writes(nb).encode("utf-8")
    return out


def timestamp_problem(folder: Path) -> str:
    """Why ``timestamp.txt`` cannot be read, as nbgrader refuses such a submission ('' if fine)."""
    from nbgrader.utils import parse_utc

    path = folder / "timestamp.txt"
    if path.is_symlink() or not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8", errors="replace").strip()[:100]
    if not text:
        return ""  # nbgrader warns and grades an empty timestamp as none
    try:
        parse_utc(text)
    except (ValueError, OverflowError, TypeError):
        return f"invalid timestamp.txt ({text!r}): nbgrader refuses to grade it; fix or delete the file"
    return ""


def _read_timestamp(folder: Path):
    from nbgrader.utils import parse_utc

    path = folder / "timestamp.txt"
    if path.is_symlink() or not path.is_file():
        return None
    try:
        return parse_utc(path.read_text(encoding="utf-8", errors="replace").strip()[:100])
    except (ValueError, OverflowError, TypeError):
        return None


def needs_manual_grade(status: str, cell_type: str) -> bool:
    """Whether a grade cell the engine gave no score waits for a human in formgrader.

    A markdown grade cell (a written answer) always does: no test can score prose. When the
    grader itself failed (status ``error``) every unscored cell does, so the instructor sees
    it rather than a silent zero. Any other unscored cell (a missing or unreadable notebook)
    scores 0.
    """
    return status == "error" or cell_type == "markdown"


def merge(course: Course, record: dict, original_id: str | None = None) -> None:
    """Write one journal record into the gradebook (see :func:`merge_many`)."""
    merge_many(course, [(record, original_id)])


def merge_many(course: Course, items, gb=None) -> None:
    """Write journal records into the gradebook in one session and one transaction.

    items : ``[(record, original_id or None), ...]``. Opening nbgrader's Gradebook and
    committing cost more than a record's own rows: a class streaming back from a cluster is
    merged in batches so that the client keeps up with the workers.
    gb : an open nbgrader ``Gradebook`` of ``course`` to use (default: open one for this
        call). A run that merges many small batches keeps one open (:func:`open_gradebook`):
        SQLAlchemy caches its compiled statements per engine, and a fresh Gradebook, a
        fresh engine, compiles them all again, which costs about as much as the merge.

    ``record`` is a journal record as JSON, parsed here into a
    :class:`autograder.journal.JournalRecord` (its ``result`` a ``GradeResult``).
    A grade cell with no result scores 0 (the notebook was missing or unreadable), except
    when the grader itself failed (status ``error``): then the cell is left unscored and
    marked for manual grading, so the instructor sees it rather than a silent zero.
    """
    import warnings

    from sqlalchemy.exc import SAWarning

    items = list(items)
    if not items:
        return
    with contextlib.ExitStack() as stack:
        if gb is None:
            gb = stack.enter_context(open_gradebook(course))
        stack.enter_context(warnings.catch_warnings())
        # nbgrader's add_submission builds objects before adding them to the session and
        # SQLAlchemy warns about it on every new submission; the rows are written correctly.
        warnings.simplefilter("ignore", SAWarning)
        # nbgrader's update_or_create_* commit after every row; one commit per batch instead
        # (each SQLite commit is an fsync), so those calls only flush.
        commit = gb.db.commit
        gb.db.commit = gb.db.flush
        try:
            for record, original_id in items:
                _merge_record(gb, course, record, original_id)
            commit()
        except BaseException:
            gb.db.rollback()
            raise
        finally:
            del gb.db.commit


def _merge_record(gb, course: Course, data: dict, original_id: str | None) -> None:
    record = JournalRecord.from_dict(data)
    student, assignment, status = record.student, record.assignment, record.result.status
    scored = {(notebook_stem(g.notebook), g.grade_id): g for g in record.result.grades.values()}
    extra = {"lms_user_id": original_id} if original_id else {}
    gb.update_or_create_student(student, **extra)
    timestamp = _read_timestamp(course.submission_dir(student, assignment))
    kwargs = {"timestamp": timestamp} if timestamp else {}
    submission = gb.update_or_create_submission(assignment, student, **kwargs)
    for nb in submission.notebooks:
        answers = _answers(gb, course, student, assignment, nb.name) if status != "error" else None
        for grade in nb.grades:
            if grade.manual_score is not None:
                continue  # a human's decision in formgrader outranks any rerun
            # A grader failure (status error) is never a score, whatever it recorded.
            got = scored.get((nb.name, grade.name)) if status != "error" else None
            if got is not None:
                grade.auto_score = float(got.points)
                grade.needs_manual_grade = False
            elif answers is not None and grade.name in answers:
                # A graded answer, as nbgrader's SaveAutoGrades: left as released, 0 points;
                # answered, waiting for a human.
                blank = answers[grade.name]
                grade.auto_score = 0.0 if blank else None
                grade.needs_manual_grade = not blank
            elif status == "error" or answers is not None:
                # The grader failed, or a graded answer is not in the autograded notebook (its
                # metadata was stripped): a human looks rather than a silent zero.
                grade.auto_score = None
                grade.needs_manual_grade = True
            else:  # a notebook never submitted, or unreadable: 0, as nbgrader does
                grade.auto_score = 0.0
                grade.needs_manual_grade = False
        for comment in nb.comments:
            if answers is not None and comment.name in answers:
                comment.auto_comment = NO_RESPONSE if answers[comment.name] else None
        nb.flagged = status != "graded"
    _late_penalties(gb, course, submission, student)


NO_RESPONSE = "No response."  # nbgrader's automatic comment on an answer left as released


def _answers(gb, course: Course, student: str, assignment: str, notebook: str) -> dict | None:
    """{grade_id: unchanged?} for the solution cells of the autograded notebook, compared by
    nbgrader's own checksum with the released cell recorded in the gradebook; None when no
    autograded notebook exists (never submitted, unreadable, wrong assignment)."""
    import nbformat
    from nbgrader.api import MissingEntry
    from nbgrader.utils import compute_checksum, is_solution

    path = course.autograded_dir(student, assignment) / f"{notebook}.ipynb"
    if path.is_symlink() or not path.is_file():
        return None
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:  # not ours to judge here: unknown answers wait for a human
        return {}
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not is_solution(cell) or not meta.get("grade_id"):
            continue
        try:
            released = gb.find_source_cell(meta["grade_id"], notebook, assignment).checksum
        except MissingEntry:
            continue
        try:
            out[meta["grade_id"]] = released is not None and compute_checksum(cell) == released
        except (KeyError, ValueError, TypeError):
            out[meta["grade_id"]] = False  # odd metadata: let a human look
    return out


def _late_penalties(gb, course: Course, submission, student: str) -> None:
    """Apply the course's late-submission plugin as nbgrader's AssignLatePenalties does."""
    plugin = late_plugin(course)
    gb.db.flush()
    for nb in submission.notebooks:
        gb.db.expire(nb)  # its score is a SQL expression over the grades just written
        nb.late_submission_penalty = None
        late = submission.total_seconds_late
        if late > 0:
            penalty = plugin.late_submission_penalty(student, nb.score, late)
            if penalty is not None:
                nb.late_submission_penalty = min(max(penalty, 0), nb.score)


_plugins = {}


def late_plugin(course: Course):
    """The LateSubmissionPlugin configured by ``c.AssignLatePenalties.plugin_class`` in the
    course's ``nbgrader_config.py`` (nbgrader's default when unset), importable from the
    course folder as under ``nbgrader autograde``."""
    import sys

    if course.root not in _plugins:
        from nbgrader.preprocessors import AssignLatePenalties
        from traitlets.config.loader import Config, PyFileConfigLoader

        config = Config()
        if (course.root / "nbgrader_config.py").is_file():
            config = PyFileConfigLoader("nbgrader_config.py", path=str(course.root)).load_config()
        sys.path.insert(0, str(course.root))
        try:
            pp = AssignLatePenalties(config=config)
            pp.init_plugin()
        finally:
            sys.path.remove(str(course.root))
        _plugins[course.root] = pp.plugin_inst
    return _plugins[course.root]


def place_autograded(course: Course, student: str, assignment: str, notebooks: dict[str, str]) -> None:
    """Write ``autograded/<student>/<assignment>/<name>.ipynb`` for each notebook text given.

    The folder is built beside the final one and swapped in with renames, so a reader (or a
    crash) sees the old folder or the new one, never a mix. ``timestamp.txt`` is copied
    from the submission as nbgrader does.
    """
    final = course.autograded_dir(student, assignment)
    final.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{assignment}.", dir=final.parent))
    for name, text in notebooks.items():
        if "/" in name or name.startswith("."):
            raise ValueError(f"notebook name must be a plain file stem, got {name!r}")
        (building / f"{name}.ipynb").write_text(text, encoding="utf-8")
    ts = course.submission_dir(student, assignment) / "timestamp.txt"
    if ts.is_file() and not ts.is_symlink():
        shutil.copyfile(ts, building / "timestamp.txt")
    os.chmod(building, 0o755)
    if final.exists() or final.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=f".{assignment}.old.", dir=final.parent))
        os.rename(final, old / "x")
        os.rename(building, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(building, final)


def clear_autograded(course: Course, student: str, assignment: str) -> None:
    """Remove an earlier autograded folder when the new submission produced no notebook
    (malformed, wrong assignment): a stale notebook would contradict the gradebook."""
    final = course.autograded_dir(student, assignment)
    if final.is_symlink():
        final.unlink()
    elif final.is_dir():
        old = Path(tempfile.mkdtemp(prefix=f".{assignment}.old.", dir=final.parent))
        os.rename(final, old / "x")
        shutil.rmtree(old, ignore_errors=True)


def remove_stale_builds(course: Course) -> None:
    """Delete half-built autograded folders left by a killed run (names start with '.')."""
    if not course.autograded.is_dir():
        return
    for student_dir in course.autograded.iterdir():
        if student_dir.is_dir() and not student_dir.is_symlink():
            for p in student_dir.glob(".*"):
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p, ignore_errors=True)
