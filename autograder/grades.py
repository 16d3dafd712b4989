"""What goes into and comes out of grading one submission (JSON-serialisable dataclasses)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

# Worst first: the status of a submission is the worst of its notebooks'.
STATUSES = ("error", "malformed", "wrong-assignment", "missing", "crashed", "timeout", "tampered", "graded")


def worst(statuses) -> str:
    statuses = list(statuses)
    return min(statuses, key=STATUSES.index) if statuses else "missing"


@dataclass
class GradeJob:
    """One student's submission of one assignment.

    assignment : the assignment id, also the name of its checks module ("a1", "fixture").
    student : the student id (only recorded; never used to build a path here).
    submission : the submitted notebook file(s).
    source : the source notebook(s), or the assignment's source directory (solutions/<a>/).
    output_dir : where to write the autograded notebook(s) (None: not written).
    files : relative path -> bytes of the files placed beside the notebook while it runs (what
        nbgrader copies into ``autograded/``: the submission's files, then the source's).
    """

    assignment: str
    student: str
    submission: list
    source: list
    output_dir: Path | None = None
    files: dict = field(default_factory=dict)

    def __post_init__(self):
        self.submission = [Path(p) for p in ([self.submission] if isinstance(self.submission, (str, Path)) else self.submission)]
        src = [Path(p) for p in ([self.source] if isinstance(self.source, (str, Path)) else self.source)]
        self.source = sorted(q for p in src for q in (sorted(p.glob("*.ipynb")) if p.is_dir() else [p]))
        self.output_dir = Path(self.output_dir) if self.output_dir is not None else None


# Message names the engine gives visible tests and whole-notebook problems
# (autograder.grading.scoring, autograder.grading.engine). Only a record written before messages carried
# ``hidden`` is judged by them, once, when it is parsed (:meth:`CaseMessage.from_dict`).
VISIBLE_NAMES = frozenset({"tests", "visible tests", "test cell", "notebook"})


@dataclass
class CaseMessage:
    """One hidden case or visible test as shown to the student (never the test's source)."""

    name: str
    passed: bool
    message: str
    # True for a hidden check's case: feedback shows its name and message only, with any
    # expected value redacted.
    hidden: bool = False

    @classmethod
    def from_dict(cls, data: dict) -> "CaseMessage":
        """A message from JSON; one without ``hidden`` (an old record) is judged by its name."""
        hidden = data["hidden"] if "hidden" in data else data["name"] not in VISIBLE_NAMES
        return cls(data["name"], data["passed"], data["message"], bool(hidden))


@dataclass
class CellGrade:
    """The grade of one test cell (nbgrader's grade_id)."""

    notebook: str
    grade_id: str
    points: float
    max_points: float
    status: str = "failed"     # "passed", "partial", "failed", "not-run"
    messages: list = field(default_factory=list)

    @property
    def score(self) -> float:
        return self.points / self.max_points if self.max_points else 0.0


@dataclass
class GradeResult:
    """Outcome of grading one submission.

    status : worst of "graded", "tampered", "timeout", "crashed", "missing", "wrong-assignment",
        "malformed", "error" (see ``reasons``); points are given in every status except the
        last four.
    grades : "grade_id" (or "notebook/grade_id" when the assignment has several notebooks)
        -> CellGrade.
    flags : findings that change no status (shortcut uses, stray metadata, truncated output).
    timings : seconds: total, kernel_start, execution, parent_start (the warm parent, with a
        worker's first job), overhead (= total - execution - kernel_start - parent_start).
    autograded : notebook name -> path of the autograded notebook written (if output_dir).
    checksums : notebook name -> sha256 of the submitted file.
    enforced : what the sandbox enforced for this job (memory, processes, namespaces).
    """

    assignment: str
    student: str
    status: str = "graded"
    reasons: list = field(default_factory=list)
    grades: dict = field(default_factory=dict)
    flags: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    autograded: dict = field(default_factory=dict)
    checksums: dict = field(default_factory=dict)
    enforced: list = field(default_factory=list)

    @property
    def points(self) -> float:
        return sum(g.points for g in self.grades.values())

    @property
    def max_points(self) -> float:
        return sum(g.max_points for g in self.grades.values())

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["points"], data["max_points"] = self.points, self.max_points
        for key, grade in self.grades.items():
            data["grades"][key]["score"] = grade.score
        return data

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)

    @classmethod
    def from_dict(cls, data: dict) -> "GradeResult":
        data = {k: v for k, v in data.items() if k not in ("points", "max_points")}
        grades = {}
        for key, g in data.pop("grades", {}).items():
            g = {k: v for k, v in g.items() if k != "score"}
            g["messages"] = [CaseMessage.from_dict(m) for m in g.get("messages", [])]
            grades[key] = CellGrade(**g)
        return cls(grades=grades, **data)
