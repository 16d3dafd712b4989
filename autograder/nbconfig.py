"""The course's nbgrader settings that change how a submission is graded, read once.

rnngrade is a drop-in for ``nbgrader autograde``, so it reads the same ``nbgrader_config.py``
and honours what affects grades: which files beside the notebook reach the kernel
(``CourseDirectory.ignore``, ``include``, ``max_file_size``, ``Autograde.exclude_overwriting``)
and the per-cell time limit (``Execute.timeout``, mapped onto ``Limits.cell_timeout``). The
late-penalty plugin is applied at merge time (:func:`autograder.reporting.gradebook.late_plugin`).
"""
from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

# nbgrader 0.9.6's defaults (nbgrader/coursedir.py).
DEFAULT_IGNORE = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback")


@dataclass(frozen=True)
class NbgraderSettings:
    """ignore : globs never copied (nbgrader's ``CourseDirectory.ignore``).
    include : globs a copied file must match (``CourseDirectory.include``).
    max_file_size : largest file copied, in kB (``CourseDirectory.max_file_size``).
    exclude_overwriting : assignment -> source files the student's copy keeps (``Autograde``).
    cell_timeout : ``Execute.timeout`` in seconds, None when unset.
    output_lines : ``LimitOutput.max_lines`` (stream lines kept per cell), None when unset.
    ignored : ``Section.option`` names set in the config that affect nbgrader's grading but
        that rnngrade does not apply (its own limits and pipeline apply instead).
    """

    ignore: tuple = DEFAULT_IGNORE
    include: tuple = ("*",)
    max_file_size: int = 100000
    exclude_overwriting: dict = field(default_factory=dict)
    cell_timeout: float | None = None
    output_lines: int | None = None
    ignored: tuple = ()


# Sections of nbgrader's config that change how autograde grades, and what rnngrade honours.
GRADING_SECTIONS = ("Execute", "ExecutePreprocessor", "LimitOutput", "Autograde", "ClearOutput",
                    "OverwriteCells", "SaveAutoGrades", "CheckCellMetadata", "OverwriteKernelspec")
HONOURED = {"Execute.timeout", "LimitOutput.max_lines", "Autograde.exclude_overwriting"}


def load(root) -> NbgraderSettings:
    """Read ``<root>/nbgrader_config.py`` (defaults when absent)."""
    path = Path(root) / "nbgrader_config.py"
    if not path.is_file():
        return NbgraderSettings()
    from traitlets.config.loader import PyFileConfigLoader

    c = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    cd, ex = c.get("CourseDirectory", {}), c.get("Execute", {})
    timeout = ex.get("timeout") if "timeout" in ex else None
    lines = c.get("LimitOutput", {}).get("max_lines") if "max_lines" in c.get("LimitOutput", {}) else None
    ignored = sorted(f"{section}.{key}" for section in GRADING_SECTIONS if section in c
                     for key in c[section] if f"{section}.{key}" not in HONOURED)
    return NbgraderSettings(
        ignore=tuple(cd.get("ignore", DEFAULT_IGNORE)), include=tuple(cd.get("include", ("*",))),
        max_file_size=int(cd.get("max_file_size", 100000)),
        exclude_overwriting=dict(c.get("Autograde", {}).get("exclude_overwriting", {})),
        cell_timeout=float(timeout) if timeout is not None and timeout > 0 else None,
        output_lines=int(lines) if lines is not None and lines > 0 else None, ignored=tuple(ignored))


def apply_limits(settings: NbgraderSettings, limits, flags: frozenset = frozenset()) -> tuple:
    """(limits, notes): the course's nbgrader settings mapped onto rnngrade's :class:`Limits`.

    flags : names of the Limits fields given on the command line; those win over the config.
    notes : one sentence per setting applied, overridden or not applied, for the run's output.
    """
    notes, changes = [], {}
    for field_name, value, option in (("cell_timeout", settings.cell_timeout, "Execute.timeout"),
                                      ("output_lines_per_cell", settings.output_lines, "LimitOutput.max_lines")):
        if value is None:
            continue
        if field_name in flags:
            notes.append(f"{option} = {value:g} in nbgrader_config.py is overridden by --{field_name.replace('_', '-')}")
        else:
            changes[field_name] = value
            notes.append(f"{option} = {value:g} from nbgrader_config.py applies ({field_name})")
    if settings.ignored:
        notes.append("nbgrader settings rnngrade does not apply (its own limits and grading steps do, see "
                     f"`rnngrade grade --help`): {', '.join(settings.ignored)}")
    return (limits.replace(**changes) if changes else limits), notes


def _ignored(rel: str, patterns) -> bool:
    # nbgrader's utils.is_ignored matches each glob against the file's base name.
    return any(fnmatch.fnmatch(os.path.basename(rel), p) for p in patterns)


def _copyable(folder: Path, settings: NbgraderSettings) -> dict:
    """{relative path: Path} of the files nbgrader copies from ``folder`` (no notebooks, no links)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        rel_dir = os.path.relpath(dirpath, folder)
        dirnames[:] = sorted(d for d in dirnames if not _ignored(d, settings.ignore)
                             and not os.path.islink(os.path.join(dirpath, d)))
        for name in sorted(filenames):
            rel = os.path.normpath(os.path.join(rel_dir, name))
            full = Path(dirpath) / name
            if (_ignored(rel, settings.ignore + ("*.ipynb",)) or full.is_symlink() or not full.is_file()
                    or not any(fnmatch.fnmatch(name, p) for p in settings.include)
                    or full.stat().st_size > settings.max_file_size * 1024):
                continue
            out[rel] = full
    return out


def autograded_files(source_dir: Path, submission_dir: Path, assignment: str, settings: NbgraderSettings) -> dict:
    """{relative path: bytes} as nbgrader leaves them in ``autograded/``: the submission's
    files, then the source assignment's over them, except ``exclude_overwriting``."""
    files = {rel: p for rel, p in _copyable(submission_dir, settings).items()}
    keep = {os.path.normpath(x) for x in settings.exclude_overwriting.get(assignment, [])}
    for rel, p in _copyable(source_dir, settings).items():
        if rel not in keep:
            files[rel] = p
    out = {}
    for rel, p in files.items():
        fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as fh:
            out[rel] = fh.read()
    return out


def kernel_note(source_dir: Path) -> str:
    """What rnngrade says about the source notebooks' kernelspec ('' when it is plain Python 3).

    nbgrader runs each notebook with the kernel its source names (OverwriteKernelspec);
    rnngrade runs every notebook in its sandboxed Python kernel, the grader's own virtual
    environment. A Python kernelspec maps onto it, with a note when it names another kernel;
    another language cannot be graded and raises ValueError naming the notebook and kernel.
    """
    import json

    others = set()
    for path in sorted(Path(source_dir).glob("*.ipynb")):
        try:
            spec = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("kernelspec") or {}
        except (OSError, ValueError, AttributeError):
            continue  # an unreadable source fails later with its own message
        language, name = str(spec.get("language", "python")).lower(), str(spec.get("name", "python3"))
        if language != "python":
            raise ValueError(f"{path.name} uses the {spec.get('display_name') or name!r} kernel ({language}); "
                             "rnngrade grades Python notebooks only: grade this assignment with nbgrader autograde")
        if name not in ("python3", "python"):
            others.add(name)
    if others:
        return (f"the source names the kernel(s) {', '.join(sorted(others))}; rnngrade runs every notebook in its "
                "sandboxed Python 3 kernel (the grader's virtual environment): install the packages those "
                "kernels had there")
    return ""
