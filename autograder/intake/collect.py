"""Bring submissions into nbgrader's ``submitted/<student>/<assignment>/`` layout.

Two sources, each walked without following links:

- an nbgrader-style tree ``<dir>/<student>/<assignment>/*`` (another course's
  ``submitted/``, an exchange inbox);
- a folder of LMS downloads, files named ``<student>_<assignment>.ipynb`` (or
  ``<student>_<assignment>_<notebook>.ipynb`` for a multi-notebook assignment), loose or
  inside ``.zip`` archives (read with :mod:`autograder.intake.safezip`).

Student ids pass through :func:`autograder.ids.sanitise`; a renamed id is reported with
its reason. Nothing is dropped silently: every file ends up either in ``submitted/`` or
in ``.rnngrade/unmatched/`` (a copy, named by its content hash) with a line in the report
saying why. A submission that replaces a different earlier one keeps the earlier copy under
``.rnngrade/replaced/``.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.course import Course
from autograder.ids import InvalidStudentId, sanitise
from autograder.journal import atomic_write_bytes, atomic_write_text
from autograder.intake.safezip import ZipLimits, ZipRefused, iter_zip

MAX_NOTEBOOK_BYTES = 20 * 2**20


@dataclass
class Placed:
    """A file copied into ``submitted/``."""

    source: str
    student: str
    assignment: str
    dest: str
    action: str  # "new", "replaced", "unchanged"
    note: str = ""


@dataclass
class Unmatched:
    """A file not placed, why, and where its copy is kept."""

    source: str
    reason: str
    kept_at: str = ""


@dataclass
class CollectReport:
    placed: list[Placed] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)  # original id -> safe id
    dry_run: bool = False

    def lines(self) -> list[str]:
        """The report printed by ``rnngrade collect``: every file, where it went and why.

        Every placed file is listed, not only counted, so that an instructor can check a
        collection against the LMS's list of submissions; a dry run says so first and last,
        since its lines describe what would happen.
        """
        out = []
        if self.dry_run:
            out.append("DRY RUN: nothing was changed. This is what rnngrade collect would do:")
        counts = {}
        for p in self.placed:
            counts[p.action] = counts.get(p.action, 0) + 1
        summary = ", ".join(f"{n} {a}" for a, n in sorted(counts.items())) or "nothing"
        out.append(("would collect: " if self.dry_run else "collected: ") + summary
                   + f"; {len(self.renamed)} student id(s) renamed; {len(self.unmatched)} file(s) not placed")
        if self.placed:
            out.append(f"{'would place' if self.dry_run else 'placed'} {len(self.placed)} file(s):")
            width = max(len(p.action) for p in self.placed)
            for p in self.placed:
                note = f"  ({p.note})" if p.note else ""
                out.append(f"  {p.action:{width}s}  {p.source} -> {p.dest}{note}")
        if self.renamed:
            out.append(f"{'would rename' if self.dry_run else 'renamed'} {len(self.renamed)} student id(s) "
                       f"(not plain [A-Za-z0-9._-]; originals {'would be ' if self.dry_run else ''}kept in "
                       ".rnngrade/student_ids.json):")
            for original, safe in sorted(self.renamed.items()):
                out.append(f"  {original!r} -> {safe!r}")
        if self.unmatched:
            out.append(f"could not place {len(self.unmatched)} file(s):")
            for u in self.unmatched:
                kept = f" (copy kept at {u.kept_at})" if u.kept_at else ""
                out.append(f"  {u.source}: {u.reason}{kept}")
        if self.dry_run:
            out.append("DRY RUN: nothing was written to submitted/ or .rnngrade/; rerun without --dry-run to collect.")
        return out

    def to_json(self) -> str:
        return json.dumps({"placed": [asdict(p) for p in self.placed],
                           "unmatched": [asdict(u) for u in self.unmatched],
                           "renamed": self.renamed, "dry_run": self.dry_run}, indent=1, ensure_ascii=False)


class Collector:
    """Places files into one course's ``submitted/`` folder and records what happened."""

    def __init__(self, course: Course, assignments: list[str] | None = None,
                 zip_limits: ZipLimits = ZipLimits(), dry_run: bool = False):
        self.course = course
        self.assignments = assignments if assignments else course.assignments()
        if not self.assignments:
            raise ValueError(f"no assignments found in {course.source}: pass --assignment")
        self.notebooks = {a: self._notebooks_or_empty(a) for a in self.assignments}
        self.zip_limits = zip_limits
        self.dry_run = dry_run
        self.report = CollectReport(dry_run=dry_run)
        self._seen: dict[tuple[str, str, str], str] = {}  # (student, assignment, nb) -> source

    def _notebooks_or_empty(self, assignment):
        try:
            return self.course.notebooks(assignment)
        except ValueError:
            return []

    # Name parsing ---------------------------------------------------------------------
    def parse_lms_name(self, filename: str):
        """Split ``<student>_<assignment>[_<notebook>].ipynb``; returns (student, a, nb) or a reason str."""
        if not filename.endswith(".ipynb"):
            return "not a notebook (.ipynb)"
        stem = filename[: -len(".ipynb")]
        matches = []
        for a in self.assignments:
            nbs = self.notebooks[a]
            for nb in nbs:
                suffix = f"_{a}_{nb}"
                if stem.endswith(suffix) and len(stem) > len(suffix):
                    matches.append((len(suffix), stem[: -len(suffix)], a, nb))
            suffix = f"_{a}"
            if stem.endswith(suffix) and len(stem) > len(suffix):
                if len(nbs) == 1:
                    matches.append((len(suffix), stem[: -len(suffix)], a, nbs[0]))
                elif len(nbs) > 1:
                    return (f"assignment {a!r} has {len(nbs)} notebooks {nbs}: name the file "
                            f"<student>_{a}_<notebook>.ipynb")
        if not matches:
            return (f"name does not end in _<assignment>.ipynb for a known assignment "
                    f"({', '.join(self.assignments)})")
        _, student, a, nb = max(matches)  # the longest suffix is the most specific
        return student, a, nb

    # Placing --------------------------------------------------------------------------
    def _keep_unmatched(self, source: str, data: bytes | None, reason: str) -> None:
        kept = ""
        if data is not None and not self.dry_run:
            digest = hashlib.sha256(data).hexdigest()[:16]
            # The original base name, folded to harmless characters, only as a reminder.
            hint = re.sub(r"[^A-Za-z0-9._-]", "_", re.split(r"[/\\]", source)[-1])[-60:].lstrip(".")
            dest = self.course.state / "unmatched" / f"{digest}-{hint or 'file'}.bin"
            if not dest.exists():
                atomic_write_bytes(dest, data, mode=0o600)
            kept = str(dest.relative_to(self.course.root))
            atomic_write_text(dest.with_name(dest.name + ".why.txt"), source + "\n" + reason + "\n")
        self.report.unmatched.append(Unmatched(source, reason, kept))

    def place(self, source: str, raw_student: str, assignment: str, notebook: str, data: bytes) -> None:
        """Put ``data`` at ``submitted/<safe student>/<assignment>/<notebook>.ipynb``."""
        try:
            sid = sanitise(raw_student)
        except InvalidStudentId as exc:
            self._keep_unmatched(source, data, f"bad student id: {exc}")
            return
        if len(data) > MAX_NOTEBOOK_BYTES:
            self._keep_unmatched(source, data, f"notebook is {len(data)} bytes, more than {MAX_NOTEBOOK_BYTES}")
            return
        problem = _notebook_problem(data)
        note = ""
        if sid.changed:
            self.report.renamed[sid.original] = sid.safe
            note = sid.reason
        if problem:
            note = (note + "; " if note else "") + f"placed although {problem} (the grader will mark it malformed)"
        key = (sid.safe, assignment, notebook)
        if key in self._seen:
            self._keep_unmatched(source, data, f"a second file for {sid.safe}/{assignment}/{notebook}.ipynb "
                                 f"in the same collection (first was {self._seen[key]}); not placed")
            return
        self._seen[key] = source

        folder = self.course.submission_dir(sid.safe, assignment)
        dest = folder / f"{notebook}.ipynb"
        action = "new"
        if os.path.lexists(dest):
            if stat.S_ISLNK(os.lstat(dest).st_mode) or not dest.is_file():
                action = "replaced"
                if not self.dry_run:
                    os.unlink(dest)
            elif dest.read_bytes() == data:
                action = "unchanged"
            else:
                action = "replaced"
                backup = (self.course.state / "replaced" / sid.safe / assignment
                          / f"{notebook}.{time.strftime('%Y%m%dT%H%M%S')}.ipynb")
                if not self.dry_run:
                    backup.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(dest, backup)
                note = (note + "; " if note else "") + \
                    f"earlier copy {'would be ' if self.dry_run else ''}kept at {backup.relative_to(self.course.root)}"
        if action != "unchanged" and not self.dry_run:
            _ensure_real_dirs(self.course.root, folder)
            atomic_write_bytes(dest, data)
        self.report.placed.append(Placed(source, sid.safe, assignment,
                                         str(dest.relative_to(self.course.root)), action, note))

    def save_renames(self) -> None:
        """Add this run's renamed ids to ``.rnngrade/student_ids.json`` (original -> safe)."""
        if self.dry_run or not self.report.renamed:
            return
        path = self.course.state / "student_ids.json"
        try:
            known = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            known = {}
        known.update(self.report.renamed)
        atomic_write_text(path, json.dumps(known, indent=1, sort_keys=True, ensure_ascii=False))

    # Sources --------------------------------------------------------------------------
    def from_lms_folder(self, folder: Path) -> None:
        """Every ``*.ipynb`` and ``*.zip`` directly in ``folder`` (LMS bulk download)."""
        folder = Path(folder)
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            path = Path(entry.path)
            if entry.is_symlink():
                self._keep_unmatched(str(path), None, "is a symbolic link; not followed")
            elif entry.is_dir(follow_symlinks=False):
                self._keep_unmatched(str(path), None, "is a folder; LMS downloads are flat "
                                     "(use --from-nbgrader for <student>/<assignment>/ trees)")
            elif entry.name.lower().endswith(".zip"):
                self.from_zip(path)
            elif entry.is_file(follow_symlinks=False):
                self._from_named_file(str(path), entry.name, lambda p=path: _read_capped(p))
            else:
                self._keep_unmatched(str(path), None, "is not a regular file")

    def from_zip(self, path: Path) -> None:
        try:
            for member in iter_zip(path, self.zip_limits):
                label = f"{path}!{member.name}"
                if member.refused:
                    self._keep_unmatched(label, member.data, member.refused)
                    continue
                basename = member.name.rsplit("/", 1)[-1]
                self._from_named_file(label, basename, lambda m=member: m.data)
        except ZipRefused as exc:
            self._keep_unmatched(str(path), None, f"zip refused: {exc}")

    def _from_named_file(self, label: str, filename: str, read) -> None:
        parsed = self.parse_lms_name(filename)
        try:
            data = read()
        except OSError as exc:
            self._keep_unmatched(label, None, f"cannot read: {exc}")
            return
        if isinstance(parsed, str):
            self._keep_unmatched(label, data, parsed)
            return
        self.place(label, *parsed, data)

    def from_nbgrader_tree(self, folder: Path) -> None:
        """``<folder>/<student>/<assignment>/<notebook>.ipynb`` for known assignments."""
        folder = Path(folder)
        for student_entry in sorted(os.scandir(folder), key=lambda e: e.name):
            spath = Path(student_entry.path)
            if student_entry.is_symlink():
                self._keep_unmatched(str(spath), None, "student folder is a symbolic link; not followed")
                continue
            if not student_entry.is_dir(follow_symlinks=False):
                self._keep_unmatched(str(spath), None, "expected a <student>/ folder here")
                continue
            for a_entry in sorted(os.scandir(spath), key=lambda e: e.name):
                apath = Path(a_entry.path)
                if a_entry.is_symlink() or not a_entry.is_dir(follow_symlinks=False):
                    self._keep_unmatched(str(apath), None, "expected an <assignment>/ folder (links are not followed)")
                    continue
                if a_entry.name not in self.assignments:
                    self._keep_unmatched(str(apath), None, f"unknown assignment {a_entry.name!r}")
                    continue
                for f in sorted(os.scandir(apath), key=lambda e: e.name):
                    fpath = Path(f.path)
                    stem = f.name[:-6] if f.name.endswith(".ipynb") else None
                    if f.is_symlink() or not f.is_file(follow_symlinks=False):
                        self._keep_unmatched(str(fpath), None, "not a regular file (links are not followed)")
                    elif f.name == "timestamp.txt":
                        continue  # nbgrader's own; see _copy_timestamp
                    elif stem is None or stem not in self.notebooks[a_entry.name]:
                        data = _read_capped(fpath)
                        self._keep_unmatched(str(fpath), data, f"not a notebook of {a_entry.name!r} "
                                             f"({', '.join(self.notebooks[a_entry.name])})")
                    else:
                        self.place(str(fpath), student_entry.name, a_entry.name, stem, _read_capped(fpath))
                self._copy_timestamp(apath, student_entry.name, a_entry.name)

    def _copy_timestamp(self, apath: Path, raw_student: str, assignment: str) -> None:
        ts = apath / "timestamp.txt"
        if self.dry_run or ts.is_symlink() or not ts.is_file():
            return
        try:
            safe = sanitise(raw_student).safe
        except InvalidStudentId:
            return
        folder = self.course.submission_dir(safe, assignment)
        if folder.is_dir():
            atomic_write_bytes(folder / "timestamp.txt", _read_capped(ts, 1024))


def _read_capped(path: Path, cap: int = MAX_NOTEBOOK_BYTES + 1) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as fh:
        return fh.read(cap)


def _notebook_problem(data: bytes) -> str:
    """'' when ``data`` parses as a notebook, else a short description of what is wrong."""
    try:
        nb = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return f"it is not valid JSON ({str(exc)[:80]})"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return "it has no list of cells"
    return ""


def _ensure_real_dirs(root: Path, folder: Path) -> None:
    """Create ``folder`` under ``root``, refusing any existing link on the way."""
    rel = folder.relative_to(root)
    current = root
    for part in rel.parts:
        current = current / part
        if os.path.lexists(current):
            if stat.S_ISLNK(os.lstat(current).st_mode) or not current.is_dir():
                raise ValueError(f"{current} exists and is not a plain directory; refusing to write through it")
        else:
            current.mkdir()
