"""Rebuild a submission around the instructor's cells and say what the student changed.

The graded notebook is rebuilt from the source notebook's nbgrader cells (``grade_id``),
in the source's order: every test and locked cell comes from the source (hidden tests
included, nbgrader's metadata and points from the source), every solution cell keeps the
student's code, and the student's own extra cells follow the graded cell they followed in
the submission. What did not match the released notebook is reported:

- ``tampered`` reasons: a test or locked cell deleted, edited, moved, duplicated, or its
  nbgrader metadata or cell type changed (points, grade flags, ids); all are restored, so
  the honest code still earns its points;
- flags: harmless oddities (a duplicated solution cell, a missing solution cell, cells
  with unknown grade ids, stripped metadata recognised by content).

Matching uses the nbgrader metadata first and then, for cells whose metadata the student's
editor stripped, the exact released source of locked and test cells.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field

import nbformat

_META_KEYS = ("grade", "solution", "locked", "points", "task", "grade_id")


@dataclass
class SourceCell:
    grade_id: str
    kind: str            # "test", "locked", "solution", "task"
    cell: dict           # the source cell (hidden tests included)
    released: str        # its source as released to students
    points: float = 0.0
    checks: list = field(default_factory=list)   # [(assignment, check_id)] of hidden_check calls


@dataclass
class SourceNotebook:
    """The instructor's notebook, analysed once per grading run."""

    name: str
    nb: object
    cells: list          # SourceCell in source order

    @property
    def tests(self):
        return [c for c in self.cells if c.kind == "test"]

    def by_id(self):
        return {c.grade_id: c for c in self.cells}


def _nbmeta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def _kind(meta) -> str | None:
    if not meta.get("grade_id"):
        return None
    if meta.get("solution"):
        return "solution"
    if meta.get("grade"):
        return "test"
    if meta.get("task"):
        return "task"
    if meta.get("locked"):
        return "locked"
    return None


def norm(source) -> str:
    """Source compared up to trailing spaces and blank lines around it."""
    source = "".join(source) if isinstance(source, list) else str(source)
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def hidden_check_calls(source: str) -> list:
    """[(assignment, check_id)] for each ``hidden_check("a1", "id", ...)`` call with literal args."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    calls = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "hidden_check"
                and len(node.args) >= 2 and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args[:2])):
            calls.append((node.args[0].value, node.args[1].value))
    return calls


def release_source(source: str, begin="BEGIN HIDDEN TESTS", end="END HIDDEN TESTS") -> str:
    """The cell source without its hidden-test regions, as nbgrader's ClearHiddenTests makes it.

    Done here rather than by importing nbgrader, whose import alone takes about 2 s.
    """
    lines, hidden = [], False
    for line in source.split("\n"):
        if begin in line:
            if hidden:
                raise ValueError("nested BEGIN HIDDEN TESTS")
            hidden = True
        elif end in line:
            hidden = False
        elif not hidden:
            lines.append(line)
    if hidden:
        raise ValueError("BEGIN HIDDEN TESTS without END HIDDEN TESTS")
    return "\n".join(lines)


def load_source(path, name: str | None = None) -> SourceNotebook:
    """Read and analyse an nbgrader source notebook (trusted)."""
    nb = nbformat.read(str(path), as_version=4)
    cells, seen = [], set()
    for cell in nb.cells:
        meta = _nbmeta(cell)
        kind = _kind(meta)
        if kind is None:
            continue
        if meta["grade_id"] in seen:
            raise ValueError(f"source notebook {path} has the grade_id {meta['grade_id']!r} twice")
        seen.add(meta["grade_id"])
        cells.append(SourceCell(
            grade_id=meta["grade_id"], kind=kind, cell=cell, released=norm(release_source(cell.source)),
            points=float(meta.get("points", 0) or 0) if kind == "test" else 0.0,
            checks=hidden_check_calls(cell.source) if kind == "test" else []))
    return SourceNotebook(name or str(path).rsplit("/", 1)[-1], nb, cells)


@dataclass
class Restored:
    nb: object
    tampered: list        # reasons (str)
    flags: list           # reasons (str)
    matched: int          # source graded cells found in the submission


def restore(source: SourceNotebook, submission) -> Restored:
    """Rebuild ``submission`` (a validated NotebookNode) around ``source``'s cells."""
    by_id = source.by_id()
    tampered, flags = [], []
    content_ids = {c.released: c.grade_id for c in source.cells if c.kind in ("test", "locked") and c.released}
    groups, leading, current, seen = {}, [], None, {}
    for position, cell in enumerate(submission.cells):
        gid, how = _identify(cell, by_id, content_ids)
        if gid is not None and gid in seen:
            src = by_id[gid]
            if src.kind == "solution":
                flags.append(f"solution cell {gid!r} appears twice; the copy runs as an ordinary cell")
                cell = _strip(cell)
            else:
                tampered.append(f"{src.kind} cell {gid!r} was duplicated (the copy was removed)")
                continue
            gid = None
        if gid is None:
            if _nbmeta(cell).get("grade_id") and _nbmeta(cell).get("grade_id") not in by_id:
                flags.append(f"cell {position} has an unknown grade_id {_nbmeta(cell)['grade_id']!r}; it runs as an ordinary cell")
                cell = _strip(cell)
            (groups[current] if current is not None else leading).append(cell)
            continue
        seen[gid] = position
        if how == "content":
            flags.append(f"{by_id[gid].kind} cell {gid!r} had lost its nbgrader metadata (recognised by its content)")
        # Instructions are restored too, but editing them changes no grade.
        (tampered if by_id[gid].cell.cell_type == "code" else flags).extend(_changes(by_id[gid], cell, how))
        current = gid
        groups[gid] = [_restored(by_id[gid], cell)]
    order = [gid for gid in (c.grade_id for c in source.cells) if gid in seen]
    if order != sorted(order, key=lambda g: seen[g]):
        moved = [g for g, h in zip(order, sorted(order, key=lambda g: seen[g])) if g != h]
        tampered.append(f"cells were moved out of order ({', '.join(repr(g) for g in moved)}); the original order was restored")
    cells = list(leading)
    for src in source.cells:
        if src.grade_id in groups:
            cells += groups[src.grade_id]
        elif src.kind in ("test", "locked", "task"):
            (tampered if src.cell.cell_type == "code" else flags).append(
                f"{src.kind} cell {src.grade_id!r} was deleted (restored from the source)")
            cells.append(_restored(src, None))
        else:
            flags.append(f"solution cell {src.grade_id!r} is missing")
    nb = nbformat.v4.new_notebook(cells=[_clean(c, i) for i, c in enumerate(cells)], metadata=copy.deepcopy(source.nb.metadata))
    return Restored(nb, tampered, flags, len(seen))


def _identify(cell, by_id, content_ids):
    gid = _nbmeta(cell).get("grade_id")
    if isinstance(gid, str) and gid in by_id:
        return gid, "metadata"
    if not _nbmeta(cell):
        found = content_ids.get(norm(cell.get("source", "")))
        if found:
            return found, "content"
    return None, None


def _changes(src: SourceCell, cell, how) -> list:
    out = []
    if cell.get("cell_type") != src.cell.cell_type:
        out.append(f"cell {src.grade_id!r} was changed from {src.cell.cell_type} to {cell.get('cell_type')} (restored)")
    if how == "metadata":
        meta, want = _nbmeta(cell), _nbmeta(src.cell)
        diffs = [f"{k} {want.get(k)!r} -> {meta.get(k)!r}" for k in _META_KEYS
                 if bool(want.get(k)) != bool(meta.get(k)) or (k == "points" and _num(want.get(k)) != _num(meta.get(k)))]
        if diffs:
            out.append(f"nbgrader metadata of cell {src.grade_id!r} was changed ({'; '.join(diffs)}) (restored)")
    if src.kind in ("test", "locked", "task") and norm(cell.get("source", "")) != src.released:
        out.append(f"{src.kind} cell {src.grade_id!r} was edited (the original was restored)")
    return out


def _num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def _restored(src: SourceCell, cell):
    if src.kind == "solution" and cell is not None:
        out = copy.deepcopy(src.cell)
        out.source = "".join(cell.get("source", "")) if isinstance(cell.get("source"), list) else str(cell.get("source", ""))
        if cell.get("cell_type") == "markdown" or src.cell.cell_type == "markdown":
            out.cell_type = src.cell.cell_type
        return out
    return copy.deepcopy(src.cell)


def _strip(cell):
    cell = copy.deepcopy(cell)
    cell.get("metadata", {}).pop("nbgrader", None)
    return cell


def _clean(cell, index):
    """A fresh, valid nbformat cell with the given content (outputs dropped, unique id)."""
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else str(source)
    meta = copy.deepcopy(dict(cell.get("metadata", {})))
    kind = cell.get("cell_type")
    kind = kind if kind in ("code", "raw") else "markdown"
    # Built as nbformat's new_*_cell would, without their schema validation per cell
    # (a tenth of a second per notebook): the whole notebook is validated once when written.
    new = nbformat.NotebookNode(cell_type=kind, id=f"rng-{index:04d}", metadata=nbformat.from_dict(meta),
                                source=source)
    if kind == "code":
        new.update(execution_count=None, outputs=[])
    return new
