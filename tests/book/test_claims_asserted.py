"""Every chapter whose "What the run shows" section reads results states them as assertions.

The prose of that section describes the run ("the LSTM solves it", "never is"); glue keeps
its numbers current, but only an ``assert`` in the cell that computes a result fails the build
when a rebuild makes the sentence false. This test reads the MyST sources (nothing is
executed) and fails for a chapter with such a section and no ``assert`` statement in any code
cell up to the end of the section. Cells after it (the exercises) do not count: their asserts
guard the solutions, not the section.
"""

import ast
import re
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
HEADING = "What the run shows"
CHAPTERS = sorted(p for p in BOOK.glob("*.md")
                  if p.read_text(encoding="utf-8").startswith("---\njupytext:"))


def _headings(markdown):
    """(level, title) of every ATX heading of one markdown cell, outside code fences."""
    out, fenced = [], False
    for line in markdown.splitlines():
        if re.match(r"\s*(```|~~~)", line):
            fenced = not fenced
        elif not fenced and (m := re.match(r"(#{1,6})\s+(.*?)\s*#*\s*$", line)):
            out.append((len(m.group(1)), m.group(2)))
    return out


def _has_assert(source):
    """True if the code has an ``assert`` statement (a comment or a string does not count).

    IPython magics and shell escapes are blanked out first so that the rest still parses.
    """
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return bool(re.search(r"^\s*assert\b", code, flags=re.M))
    return any(isinstance(node, ast.Assert) for node in ast.walk(tree))


def run_claims_cells(nb):
    """The code cells that the "What the run shows" section speaks for, or None without one.

    Those are the code cells from the top of the chapter to the end of the section (the next
    heading of the same or a higher level).
    """
    cells, level = [], None
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for lvl, title in _headings(cell["source"]):
                if level is None and title.strip().lower() == HEADING.lower():
                    level = lvl
                elif level is not None and lvl <= level:
                    return cells
        elif cell["cell_type"] == "code":
            cells.append(cell["source"])
    return cells if level is not None else None


def unguarded(nb):
    """True if the notebook has the section and no assert in the cells it speaks for."""
    cells = run_claims_cells(nb)
    return cells is not None and not any(_has_assert(src) for src in cells)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_run_claims_are_asserted(path):
    nb = jupytext.read(path)
    if run_claims_cells(nb) is None:
        pytest.skip(f'no "{HEADING}" section')
    assert not unguarded(nb), (
        f'{path.relative_to(ROOT)} has a "{HEADING}" section but no assert in the code cells '
        "above it: assert each qualitative sentence in the cell that computes it")


def test_chapters_found():
    assert len(CHAPTERS) >= 12


def _nb(text):
    return jupytext.reads("---\njupytext:\n  text_representation:\n    extension: .md\n"
                          "    format_name: myst\n---\n" + text, fmt="md:myst")


RUN = "\n## What the run shows\n\nThe LSTM solves it.\n"
EXERCISES = "\n## Exercises\n\n```{code-cell} ipython3\nassert True\n```\n"


@pytest.mark.parametrize("text, expected", [
    ("```{code-cell} ipython3\nx = 1\n```\n" + RUN, True),
    ("```{code-cell} ipython3\nx = 1  # assert x == 1\n```\n" + RUN, True),
    ("```{code-cell} ipython3\nprint('assert')\n```\n" + RUN + EXERCISES, True),
    ("```{code-cell} ipython3\n:tags: [remove-input]\nassert 1 == 1\n```\n" + RUN, False),
    ("```{code-cell} ipython3\n%matplotlib inline\nif True:\n    assert 1\n```\n" + RUN, False),
    ("```{code-cell} ipython3\nx = 1\n```\n\n## Results\n", False),
], ids=["no-assert", "assert-in-comment", "assert-only-in-exercises", "asserted",
        "assert-after-magic", "no-section"])
def test_the_check_sees_a_missing_assert(text, expected):
    assert unguarded(_nb(text)) is expected
