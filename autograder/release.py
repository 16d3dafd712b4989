"""Generate the student versions (``exercises/``) from the sources (``solutions/``).

``python -m autograder.release --all`` runs nbgrader's ``generate_assignment`` for every
assignment folder of the source directory, in this process (nbgrader's Python API, with
the course's own ``nbgrader_config.py``), and records each assignment in the gradebook as
nbgrader does. ``--check`` instead generates into a throwaway copy of the course and
compares with ``exercises/``: it exits 1 and lists every file that differs, is missing or
is extra, and writes nothing in the course (the drift test runs it).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from autograder.course import Course, venv_bin_on_path


def nbgrader_config(course: Course, **overrides):
    """The course's traitlets config, with ``CourseDirectory`` overrides applied."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    if (course.root / "nbgrader_config.py").is_file():
        config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(course.root)).load_config())
    config.CourseDirectory.root = str(course.root)
    config.CourseDirectory.source_directory = course.source_dirname
    config.CourseDirectory.release_directory = course.release_dirname
    for key, value in overrides.items():
        setattr(config.CourseDirectory, key, value)
    return config


def generate(course: Course, assignment: str, **overrides) -> None:
    """Run nbgrader's GenerateAssignment for one assignment; RuntimeError with its log on failure.

    overrides : CourseDirectory settings (``db_url``, ``release_directory``) for this run.
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import capture_log

    venv_bin_on_path()
    config = nbgrader_config(course, assignment_id=assignment, **overrides)
    coursedir = CourseDirectory(config=config)
    app = GenerateAssignment(coursedir=coursedir, config=config)
    app.force = True
    app.create_assignment = True
    result = capture_log(app)
    if not result["success"]:
        raise RuntimeError(f"generate_assignment {assignment} failed:\n"
                           f"{result.get('log', '')}\n{result.get('error', '')}")


def release_all(course: Course, assignments: list[str] | None = None) -> list[str]:
    """Generate every (or the named) assignment into the release folder; returns the names."""
    names = assignments or course.assignments()
    if not names:
        raise ValueError(f"no assignment folders with notebooks in {course.source}")
    for name in names:
        generate(course, name)
    return names


def _normalised(path: Path):
    """What must match between two releases: notebooks by parsed JSON, other files by bytes."""
    if path.suffix == ".ipynb":
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError):
            pass  # a broken notebook differs from any generated one; compare bytes
    return path.read_bytes()


def _tree(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*"))
            if p.is_file() and ".ipynb_checkpoints" not in p.parts}


def check(course: Course, assignments: list[str] | None = None) -> list[str]:
    """Differences between ``exercises/`` and a fresh generate_assignment; [] when in sync."""
    names = assignments or course.assignments()
    problems = []
    with tempfile.TemporaryDirectory(prefix="rnngrade-release-") as tmp:
        copy = Course(Path(tmp), course.source_dirname, course.release_dirname)
        if (course.root / "nbgrader_config.py").is_file():
            shutil.copy(course.root / "nbgrader_config.py", copy.root / "nbgrader_config.py")
        shutil.copytree(course.source, copy.source, symlinks=True)
        for name in names:
            generate(copy, name, db_url=copy.db_url)
        for name in names:
            want, have = _tree(copy.release / name), _tree(course.release / name)
            for rel in sorted(set(want) | set(have)):
                where = f"{course.release_dirname}/{name}/{rel}"
                if rel not in have:
                    problems.append(f"{where}: missing (generate_assignment would write it)")
                elif rel not in want:
                    problems.append(f"{where}: extra (generate_assignment would not write it)")
                elif _normalised(want[rel]) != _normalised(have[rel]):
                    problems.append(f"{where}: differs from what generate_assignment produces")
        extra_dirs = {p.name for p in course.release.iterdir() if p.is_dir()} - set(course.assignments()) \
            if course.release.is_dir() and not assignments else set()
        for name in sorted(extra_dirs):
            problems.append(f"{course.release_dirname}/{name}/: no source folder in {course.source_dirname}/")
    return problems


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignments", nargs="*", help="assignment names (default with --all: every one)")
    parser.add_argument("--all", action="store_true", help="every folder of the source directory")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the release folder differs from a fresh generation")


def run(args, course: Course) -> int:
    if not args.all and not args.assignments:
        print("release: name assignments or pass --all", file=sys.stderr)
        return 2
    names = None if args.all else args.assignments
    if args.check:
        problems = check(course, names)
        for line in problems:
            print(line)
        print(f"release check: {'in sync' if not problems else f'{len(problems)} difference(s)'}")
        return 1 if problems else 0
    done = release_all(course, names)
    print(f"generated {len(done)} assignment(s) into {course.release}: {', '.join(done)}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.release", description=__doc__.split("\n\n")[0])
    parser.add_argument("--course", default=".", help="nbgrader course root (default: .)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run(args, Course.from_root(args.course))


if __name__ == "__main__":
    sys.exit(main())
