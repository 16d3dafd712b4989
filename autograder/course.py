"""Where things live in an nbgrader course, and which submissions exist.

The layout is nbgrader's own (``nbgrader_config.py`` at the root of this repository sets
``source_directory = "solutions"`` and ``release_directory = "exercises"``), so that
``nbgrader export``, formgrader and ``nbgrader generate_feedback`` work on our results:

    <root>/solutions/<assignment>/<notebook>.ipynb      instructor source
    <root>/submitted/<student>/<assignment>/...         what students handed in
    <root>/autograded/<student>/<assignment>/...        executed, scored notebooks
    <root>/feedback/<student>/<assignment>/...          HTML feedback
    <root>/gradebook.db                                 nbgrader's SQLite gradebook
    <root>/.rnngrade/                                   rnngrade's journal and reports

Nothing here follows a symbolic link: a student's directory that is a link, or a link
inside a submission, is reported and never read (the grader runs as a privileged user and
must not be steered elsewhere on disk).
"""
from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from autograder.ids import is_safe

STATE_DIR = ".rnngrade"


def venv_bin_on_path() -> None:
    """Put this Python's ``bin`` first on PATH: nbgrader runs ``alembic`` from there when it
    creates a gradebook, and fails with FileNotFoundError when the venv is not activated."""
    import sys

    bin_dir = os.path.join(sys.prefix, "bin")
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if bin_dir not in parts:
        os.environ["PATH"] = os.pathsep.join([bin_dir] + [p for p in parts if p])
# Files nbgrader writes beside a submission that say nothing about its content.
IGNORED_NAMES = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}


@dataclass
class Course:
    """Paths of one nbgrader course rooted at ``root`` (absolute)."""

    root: Path
    source_dirname: str = "solutions"
    release_dirname: str = "exercises"

    def __post_init__(self):
        self.root = Path(self.root).resolve()

    @classmethod
    def from_root(cls, root) -> "Course":
        """Read the source/release folder names from the nbgrader config at ``root``."""
        root = Path(root).resolve()
        if not root.is_dir():
            raise ValueError(f"course directory {str(root)!r} does not exist")
        source, release = "source", "release"
        config = root / "nbgrader_config.py"
        if config.is_file():
            from traitlets.config.loader import PyFileConfigLoader
            loaded = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
            cd = loaded.get("CourseDirectory", {})
            source = cd.get("source_directory", source)
            release = cd.get("release_directory", release)
        return cls(root, source, release)

    # Folders --------------------------------------------------------------------------
    @property
    def source(self) -> Path:
        return self.root / self.source_dirname

    @property
    def release(self) -> Path:
        return self.root / self.release_dirname

    @property
    def submitted(self) -> Path:
        return self.root / "submitted"

    @property
    def autograded(self) -> Path:
        return self.root / "autograded"

    @property
    def feedback(self) -> Path:
        return self.root / "feedback"

    @property
    def gradebook(self) -> Path:
        return self.root / "gradebook.db"

    @property
    def db_url(self) -> str:
        return "sqlite:///" + str(self.gradebook)

    @property
    def state(self) -> Path:
        return self.root / STATE_DIR

    # Assignments ----------------------------------------------------------------------
    def assignments(self) -> list[str]:
        """Assignment names: the folders of the source directory holding a notebook."""
        if not self.source.is_dir():
            return []
        return sorted(p.name for p in self.source.iterdir()
                      if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.ipynb")))

    def notebooks(self, assignment: str) -> list[str]:
        """Notebook names (without ``.ipynb``) of an assignment's source, sorted."""
        folder = self.source / assignment
        if not folder.is_dir():
            raise ValueError(f"assignment {assignment!r} has no source folder {str(folder)!r}; "
                             f"known assignments: {self.assignments()}")
        return sorted(p.stem for p in folder.glob("*.ipynb") if not p.name.startswith("."))

    def submission_dir(self, student: str, assignment: str) -> Path:
        return self.submitted / student / assignment

    def autograded_dir(self, student: str, assignment: str) -> Path:
        return self.autograded / student / assignment

    def feedback_dir(self, student: str, assignment: str) -> Path:
        return self.feedback / student / assignment


def notebook_stem(name: str | None) -> str:
    """'fixture.ipynb' -> 'fixture' (the gradebook names notebooks without the extension)."""
    name = name or ""
    return name[:-6] if name.endswith(".ipynb") else name


@dataclass
class Submission:
    """One student's folder ``submitted/<student>/<assignment>/`` and its checksum."""

    student: str
    assignment: str
    path: Path
    checksum: str
    files: list[str] = field(default_factory=list)


@dataclass
class Rejected:
    """A folder under ``submitted/`` that the grader will not touch, and why."""

    path: Path
    reason: str


def _is_link_or_odd(path: Path) -> str:
    """Return why ``path`` must not be read ('' when it is a plain directory or file)."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link"
    if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
        return "is neither a regular file nor a directory"
    return ""


def submission_checksum(folder: Path) -> tuple[str, list[str], list[str]]:
    """SHA-256 over the relative paths and bytes of every regular file in ``folder``.

    Returns ``(hexdigest, files, skipped)``; ``skipped`` lists links and special files,
    which are neither hashed nor ever read (see module docstring).
    """
    digest = hashlib.sha256()
    files, skipped = [], []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_NAMES)
        for d in list(dirnames):
            if os.path.islink(os.path.join(dirpath, d)):
                skipped.append(os.path.relpath(os.path.join(dirpath, d), folder))
                dirnames.remove(d)
        for name in sorted(filenames):
            if name in IGNORED_NAMES:
                continue
            full = Path(dirpath) / name
            rel = os.path.relpath(full, folder)
            if _is_link_or_odd(full):
                skipped.append(rel)
                continue
            digest.update(rel.encode("utf-8", "surrogateescape") + b"\0")
            with open(full, "rb", opener=_no_follow_opener) as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            digest.update(b"\0")
            files.append(rel)
    return digest.hexdigest(), files, skipped


def _no_follow_opener(path, flags):
    # O_NOFOLLOW closes the race between the lstat above and this open.
    return os.open(path, flags | os.O_NOFOLLOW)


def find_submissions(course: Course, assignment: str) -> tuple[list[Submission], list[Rejected]]:
    """Every ``submitted/<student>/<assignment>/`` folder, with the ones refused and why."""
    found, rejected = [], []
    if not course.submitted.is_dir():
        return found, rejected
    for entry in sorted(os.scandir(course.submitted), key=lambda e: e.name):
        student_path = Path(entry.path)
        if entry.name.startswith("."):
            continue
        why = _is_link_or_odd(student_path)
        if why:
            rejected.append(Rejected(student_path, f"student folder {why}; not read"))
            continue
        if not stat.S_ISDIR(os.lstat(student_path).st_mode):
            continue
        if not is_safe(entry.name):
            rejected.append(Rejected(student_path, "student folder name is not a safe id "
                                     "([A-Za-z0-9._-], not starting with '.'); "
                                     "bring it in with `rnngrade collect` to rename it"))
            continue
        folder = student_path / assignment
        if not os.path.lexists(folder):
            continue
        why = _is_link_or_odd(folder)
        if why or not folder.is_dir():
            rejected.append(Rejected(folder, f"assignment folder {why or 'is not a directory'}; not read"))
            continue
        checksum, files, skipped = submission_checksum(folder)
        if skipped:
            rejected.append(Rejected(folder, "links or special files ignored: " + ", ".join(skipped)))
        found.append(Submission(entry.name, assignment, folder, checksum, files))
    return found, rejected
