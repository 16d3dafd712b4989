"""A synthetic class of submissions for any assignment, for tests, benchmarks and dry runs.

Built from the released notebook (``exercises/<a>/<nb>.ipynb``) and the source's solution
cells, with no knowledge of the assignment itself:

- ``correct``: every solution cell holds the source's solution code;
- ``partial``: the first half of the solution cells solved, the rest left as released stubs;
- ``wrong``: solution code whose functions return a perturbed value (``out * 1.5 + 0.25``
  for anything that supports arithmetic), so every value check fails;
- ``empty``: the released notebook untouched (``raise NotImplementedError``);
- hostile: ``crash`` (``os._exit`` after the solutions), ``loop`` (an endless loop in
  the last solution cell, a timeout), ``tamper`` (a test cell replaced by ``pass``, honest
  code otherwise), ``malformed`` (not JSON).

Instructors can run a new assignment through ``rnngrade grade`` on such a class before
releasing it: the correct ones must earn full marks, the others must not.
"""
from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path

from autograder.course import Course

HONEST = ("correct", "partial", "wrong", "empty")
HOSTILE = ("crash", "loop", "tamper", "malformed")
_SOLUTION_BLOCK = re.compile(r"^[ \t]*### BEGIN SOLUTION[ \t]*\n(.*?)^[ \t]*### END SOLUTION[ \t]*\n?", re.M | re.S)

_WRONG = '''
def _rnngrade_wrong(f):
    def wrapped(*args, **kwargs):
        return f(*args, **kwargs) * 1.5 + 0.25
    wrapped.__name__ = f.__name__
    return wrapped
'''


def _src(cell) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def _solution_code(source_cell: dict) -> str:
    """The source cell with its solution markers removed (the instructor's answer)."""
    return _SOLUTION_BLOCK.sub(lambda m: m.group(1), _src(source_cell))


def _functions(code: str) -> list[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def make_notebook(released: dict, source: dict, kind: str) -> bytes:
    """The bytes of one synthetic submission of kind ``kind`` (see the module docstring)."""
    if kind == "malformed":
        return b'{"cells": [ this is not json'
    nb = copy.deepcopy(released)
    answers = {_meta(c).get("grade_id"): _solution_code(c) for c in source["cells"] if _meta(c).get("solution")}
    solution_cells = [c for c in nb["cells"] if _meta(c).get("solution") and c["cell_type"] == "code"]
    test_cells = [c for c in nb["cells"] if _meta(c).get("grade") and not _meta(c).get("solution")]
    if kind == "empty":
        pass
    elif kind in ("correct", "crash", "loop", "tamper", "partial", "wrong"):
        chosen = solution_cells[: max(1, len(solution_cells) // 2)] if kind == "partial" else solution_cells
        for cell in chosen:
            code = answers.get(_meta(cell).get("grade_id"), _src(cell))
            if kind == "wrong":
                code += "\n" + _WRONG + "".join(f"{f} = _rnngrade_wrong({f})\n" for f in _functions(code))
            cell["source"] = code
        if kind == "crash" and solution_cells:
            # A cell of its own after the first answer: the engine restarts the kernel and
            # replays the earlier cells, so the honest answers keep their points.
            at = nb["cells"].index(solution_cells[0]) + 1
            crash = {"cell_type": "code", "metadata": {}, "source": "import os\nos._exit(3)\n",
                     "outputs": [], "execution_count": None}
            if nb.get("nbformat_minor", 0) >= 5:
                crash["id"] = "rnngrade-crash"  # cell ids exist from nbformat 4.5 on
            nb["cells"].insert(at, crash)
        if kind == "loop" and solution_cells:
            solution_cells[-1]["source"] += "\nwhile True:\n    pass\n"
        if kind == "tamper" and test_cells:
            test_cells[0]["source"] = "pass  # the tests were in the way"
    else:
        raise ValueError(f"kind must be one of {HONEST + HOSTILE}, got {kind!r}")
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return json.dumps(nb, indent=1).encode("utf-8")


_HONEST_PATTERN = ("correct", "partial", "correct", "wrong", "correct", "empty")


def class_mix(n: int, seed: int = 0) -> list[str]:
    """Kinds for a class of ``n``: each hostile kind once, the rest half correct, in a seeded
    random order (a real class does not keep its slowest notebooks for the end)."""
    import random

    if n < len(HOSTILE):
        raise ValueError(f"n must be at least {len(HOSTILE)} (one of each hostile kind), got {n}")
    kinds = [_HONEST_PATTERN[i % len(_HONEST_PATTERN)] for i in range(n - len(HOSTILE))] + list(HOSTILE)
    random.Random(seed).shuffle(kinds)
    return kinds


def write_class(course: Course, assignment: str, kinds: list[str], prefix: str = "s") -> dict[str, str]:
    """Write ``submitted/<prefix><i>/<assignment>/<nb>.ipynb`` for each kind; returns student -> kind.

    Needs the released notebooks in the release folder (``rnngrade release``).
    """
    notebooks = course.notebooks(assignment)
    students = {}
    for i, kind in enumerate(kinds):
        student = f"{prefix}{i:03d}-{kind}"
        folder = course.submission_dir(student, assignment)
        folder.mkdir(parents=True, exist_ok=True)
        for name in notebooks:
            released_path = course.release / assignment / f"{name}.ipynb"
            if not released_path.is_file():
                raise ValueError(f"{released_path} is missing: run `rnngrade release {assignment}` first")
            released = json.loads(released_path.read_text(encoding="utf-8"))
            source = json.loads((course.source / assignment / f"{name}.ipynb").read_text(encoding="utf-8"))
            (folder / f"{name}.ipynb").write_bytes(make_notebook(released, source, kind))
        students[student] = kind
    return students


def _main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="write a synthetic class of submissions")
    parser.add_argument("assignment")
    parser.add_argument("--course", default=".")
    parser.add_argument("-n", type=int, default=40)
    args = parser.parse_args(argv)
    made = write_class(Course.from_root(Path(args.course)), args.assignment, class_mix(args.n))
    print(f"wrote {len(made)} submissions")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
