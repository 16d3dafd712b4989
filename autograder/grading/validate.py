"""Read a submitted notebook defensively: every problem becomes a status and a reason.

Nothing here raises on a bad file; :func:`read_submission` returns a :class:`Submission`
whose ``status`` is None when the notebook can be graded, or "malformed" / "missing" with a
sentence a student can act on. Symlinks are refused (the grader must not follow a path the
student controls) and the size is bounded before the JSON is parsed.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass

import nbformat

CELL_TYPES = ("code", "markdown", "raw")


@dataclass
class Submission:
    nb: object = None
    data: bytes = b""
    checksum: str = ""
    status: str | None = None
    reason: str = ""


def read_submission(path, max_bytes: int) -> Submission:
    """Read ``path`` as a Jupyter notebook (nbformat 4, or 3 converted)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return Submission(status="missing", reason=f"no notebook was submitted ({os.path.basename(str(path))} not found)")
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
        return Submission(status="malformed", reason="the submission is not a regular file (a link or a directory)")
    if st.st_size > max_bytes:
        return Submission(status="malformed", reason=f"the notebook is {st.st_size} bytes, more than the {max_bytes} allowed")
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        data = f.read(max_bytes + 1)
    sub = Submission(data=data, checksum=hashlib.sha256(data).hexdigest())
    sub.status, sub.reason, sub.nb = "malformed", "", None
    if not data.strip():
        sub.reason = "the notebook file is empty (was it saved before submitting?)"
        return sub
    try:
        raw = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        sub.reason = f"the file is not text (UTF-8): {exc.reason} at byte {exc.start}"
        return sub
    except (ValueError, RecursionError) as exc:
        sub.reason = f"the file is not valid JSON, so not a notebook ({str(exc)[:200]})"
        return sub
    problem = _notebook_problem(raw)
    if problem:
        sub.reason = f"the file is JSON but not a Jupyter notebook: {problem}"
        return sub
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as exc:  # nbformat raises many types on odd input
        sub.reason = f"the notebook could not be read: {type(exc).__name__}: {str(exc)[:200]}"
        return sub
    for cell in nb.cells:
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = nbformat.NotebookNode()
    sub.nb, sub.status = nb, None
    return sub


def _notebook_problem(raw) -> str:
    if not isinstance(raw, dict):
        return f"the top level is a {type(raw).__name__}, not an object"
    version = raw.get("nbformat")
    if version not in (3, 4):
        return f"nbformat is {version!r} (expected 4)"
    cells = raw.get("cells") if version == 4 else [c for ws in raw.get("worksheets", []) if isinstance(ws, dict)
                                                   for c in ws.get("cells", [])]
    if not isinstance(cells, list):
        return "it has no list of cells"
    for i, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") not in CELL_TYPES + ("heading",):
            return f"cell {i} is not a code, markdown or raw cell"
        src = cell.get("source", cell.get("input", ""))
        if not (isinstance(src, str) or (isinstance(src, list) and all(isinstance(s, str) for s in src))):
            return f"cell {i} has a source that is not text"
        meta = cell.get("metadata", {})
        if not isinstance(meta, dict) or not isinstance(meta.get("nbgrader", {}), dict):
            return f"cell {i} has malformed metadata"
    return ""
