"""Before a class is graded: make sure the hidden checks will run as the instructor expects.

A grader failure must never become a student's score, so ``rnngrade grade`` refuses to
start, with the cause and the fix, when:

1. the course folder holds its own copy of the course code (it is a clone of this
   repository) and that copy differs from the code the grader imports: its hidden checks
   (``autograder/checks/<assignment>.py``), the runtime the test cells call
   (``autograder/``) or the reference implementations (``rnnlab/``) would silently not be
   the ones used;
2. a source notebook's test cell calls a hidden check that the grader cannot load;
3. a kernel started as grading kernels are (in the sandbox, with the same Python and import
   path) cannot import the hidden-check runtime and ``rnnlab``, or imports other copies of
   them than the grader does.

A course folder that is not a clone (no ``autograder/`` of its own) is graded with the
installed package's checks.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from autograder.course import Course

# Code the kernel imports from each package; the checks are instructor-only (never mounted).
_KERNEL_PROBE = r"""
import json, sys
from autograder.classrun.preflight import fingerprint
from autograder.runtime import hidden_check
import autograder, rnnlab
{extra}
from pathlib import Path
print(json.dumps({{"autograder": fingerprint(Path(autograder.__file__).parent, skip=("checks",)),
                  "rnnlab": fingerprint(Path(rnnlab.__file__).parent),
                  "paths": [str(Path(autograder.__file__).parent), str(Path(rnnlab.__file__).parent)]}}))
"""


class PreflightError(ValueError):
    """Grading would not be trustworthy; the message names the cause and the fix."""


def fingerprint(directory: Path, skip: tuple = ()) -> str:
    """sha256 over the ``.py`` files under ``directory`` (relative names and bytes), in
    sorted order; sub-folders named in ``skip`` and ``__pycache__`` are left out."""
    directory = Path(directory)
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*.py")):
        rel = path.relative_to(directory)
        if rel.parts[0] in skip or "__pycache__" in rel.parts:
            continue
        digest.update(str(rel).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def grader_code() -> dict:
    """Where the grader's packages are and their fingerprints (checks apart)."""
    import autograder
    import rnnlab

    ag, rl = Path(autograder.__file__).parent, Path(rnnlab.__file__).parent
    return {"autograder_dir": ag, "rnnlab_dir": rl,
            "autograder": fingerprint(ag, skip=("checks",)), "rnnlab": fingerprint(rl)}


def code_fingerprints() -> dict:
    """What a grading job expects of the worker that runs it: the fingerprints of the
    runtime (``autograder`` without its checks), the hidden checks and ``rnnlab`` on disk."""
    code = grader_code()
    return {"runtime": code["autograder"], "checks": fingerprint(code["autograder_dir"] / "checks"),
            "rnnlab": code["rnnlab"]}


def check_course_copies(course: Course, assignment: str, code: dict | None = None) -> None:
    """Refuse when the course folder's own copies of the course code differ from the grader's."""
    code = code or grader_code()
    ours = {"checks": code["autograder_dir"] / "checks" / f"{assignment}.py",
            "runtime": code["autograder_dir"], "rnnlab": code["rnnlab_dir"]}
    theirs = {"checks": course.root / "autograder" / "checks" / f"{assignment}.py",
              "runtime": course.root / "autograder", "rnnlab": course.root / "rnnlab"}
    differ = []
    for what, path in theirs.items():
        if not path.exists() or path.resolve() == ours[what].resolve():
            continue
        if what == "checks":
            same = ours[what].is_file() and path.read_bytes() == ours[what].read_bytes()
        elif what == "runtime":
            same = fingerprint(path, skip=("checks",)) == code["autograder"]
        else:
            same = fingerprint(path) == code["rnnlab"]
        if not same:
            differ.append(f"{path.relative_to(course.root)}")
    if differ:
        raise PreflightError(
            f"the course folder {course.root} has its own {', '.join(differ)}, which differ from the code "
            f"this rnngrade imports ({code['autograder_dir'].parent}): grading would use the other copy's hidden "
            f"checks and runtime. Run the rnngrade installed from this course folder "
            f"({course.root}/.venv/bin/rnngrade after `make install` there, or `pip install -e {course.root}` "
            f"in your environment), or bring the two copies to the same version.")


def check_sources(course: Course, assignment: str) -> bool:
    """Load every hidden check the assignment's source notebooks call; True if any uses torch."""
    from autograder.grading.restore import load_source
    from autograder.grading.scoring import cases_by_check

    torch = False
    for path in sorted((course.source / assignment).glob("*.ipynb")):
        try:
            checks = cases_by_check(load_source(path))
        except (ImportError, ValueError) as exc:
            raise PreflightError(f"{path.relative_to(course.root)}: its hidden checks cannot be loaded "
                                 f"({type(exc).__name__}: {exc}); add autograder/checks/{assignment}.py "
                                 f"to the package rnngrade imports, or fix the test cell") from exc
        torch = torch or any(c.probe == "torch_grad" for _, cases in checks.values() for c in cases)
    return torch


_kernel_checked: dict = {}


def check_kernel(sandbox: bool, torch: bool = False, code: dict | None = None) -> None:
    """Start Python as a grading kernel starts and check that it imports the grader's
    runtime and ``rnnlab`` (the same files); once per process for each setting."""
    from autograder.isolation.sandbox import run_python

    code = code or grader_code()
    key = (sandbox, torch, code["autograder"], code["rnnlab"])
    if key in _kernel_checked:
        return
    where = "in the sandbox" if sandbox else "in a grading kernel"
    try:
        proc = run_python(_KERNEL_PROBE.format(extra="import torch" if torch else ""), sandbox=sandbox, timeout=120)
    except Exception as exc:  # bwrap missing, timeout: the same failure would hit every student
        raise PreflightError(f"could not start Python {where} to check the hidden-check runtime: {exc}") from exc
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no error output"])[-1]
        raise PreflightError(
            f"a kernel {where} cannot import what the hidden checks need ({last}). The grader imports "
            f"autograder from {code['autograder_dir']} and rnnlab from {code['rnnlab_dir']}; make both "
            f"readable to the sandbox (not under a folder it cannot see) and reinstall with `make install`.")
    try:
        seen = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise PreflightError(f"the kernel check {where} printed no answer: {proc.stdout[-300:]!r}") from exc
    if seen["autograder"] != code["autograder"] or seen["rnnlab"] != code["rnnlab"]:
        raise PreflightError(
            f"a kernel {where} imports other copies of the course code ({', '.join(seen['paths'])}) than the "
            f"grader ({code['autograder_dir']}, {code['rnnlab_dir']}): reinstall with `make install`.")
    _kernel_checked[key] = True


def run(course: Course, assignment: str, sandbox: bool, kernel: bool = True) -> None:
    """Every check above, in order; raises :class:`PreflightError`."""
    code = grader_code()
    check_course_copies(course, assignment, code)
    torch = check_sources(course, assignment)
    if kernel:
        check_kernel(sandbox, torch, code)
