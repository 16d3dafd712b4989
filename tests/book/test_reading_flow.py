"""Bookkeeping stays executed but out of the reading flow.

Every number in a chapter's prose is glued by a cell and every reading of "What the run
shows" is asserted by one (``test_claims_asserted``); those ``glue(...)`` calls and asserts
are for the build, not for the reader. They must sit in cells tagged ``remove-cell`` (or
another tag that hides the cell or its source), so that a page reads as idea, code that
teaches it, figure. This test reads the MyST sources (nothing is executed) and fails for a
visible code cell with a top-level ``glue(...)`` call or ``assert`` statement.
"""
import ast
from pathlib import Path

import jupytext
import pytest

BOOK = Path(__file__).resolve().parents[2] / "book"
CHAPTERS = sorted(p for p in BOOK.glob("*.md")
                  if p.read_text(encoding="utf-8").startswith("---\njupytext:"))
HIDING_TAGS = {"remove-cell", "remove-input", "hide-cell", "hide-input"}


def bookkeeping_lines(source: str) -> list[int]:
    """Line numbers of the top-level ``glue(...)`` calls and asserts of one cell's code
    (IPython magics and shell escapes are blanked out first so that the rest parses)."""
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())
    found = []
    for stmt in ast.parse(code).body:
        body = stmt.body if isinstance(stmt, (ast.For, ast.If)) else [stmt]
        for s in body:
            call = s.value if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) else None
            name = getattr(call.func, "id", getattr(call.func, "attr", "")) if call else ""
            if isinstance(s, ast.Assert) or name == "glue":
                found.append(s.lineno)
    return found


def test_bookkeeping_lines_are_found():
    code = "x = 1\nglue('x', x, display=False)\nfor k in d:\n    assert k\nprint(x)\n"
    assert bookkeeping_lines(code) == [2, 4]
    assert bookkeeping_lines("%matplotlib inline\ndef f():\n    assert True\n") == []


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_visible_cells_carry_no_bookkeeping(chapter):
    notebook = jupytext.read(chapter)
    visible = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or HIDING_TAGS & set(cell.metadata.get("tags", [])):
            continue
        if lines := bookkeeping_lines(cell.source):
            first = cell.source.splitlines()[lines[0] - 1].strip()
            visible.append(f"cell {index}, line {lines[0]}: {first[:70]}")
    assert not visible, (f"{chapter.name}: glue/assert in visible cells (move them to a cell "
                         f"tagged remove-cell): {visible}")


CODE_WIDTH = 88  # characters: what a code cell shows without a scrollbar at 1280 px


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_visible_code_lines_fit_the_column(chapter):
    notebook = jupytext.read(chapter)
    long = [f"cell {index}: {line.strip()[:60]}..."
            for index, cell in enumerate(notebook.cells)
            if cell.cell_type == "code"
            and not {"remove-cell", "remove-input"} & set(cell.metadata.get("tags", []))
            for line in cell.source.splitlines() if len(line) > CODE_WIDTH]
    assert not long, f"{chapter.name}: lines over {CODE_WIDTH} characters: {long}"
