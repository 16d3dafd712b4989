"""Safe directory names for student ids (for the orchestrator's folders).

A student id comes from outside ("Zoë 李", "../../x", "a/b", "."), so it is never joined to
a path as is. :func:`student_dirname` maps it to one path component, reversibly
(percent-encoding, as in URLs) so two ids never share a folder, and :func:`student_path`
joins it under a root and checks the result stays inside.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from urllib.parse import quote, unquote

MAX_ID_LENGTH = 200


def student_dirname(student: str) -> str:
    """One safe path component for ``student``; ``student_id(student_dirname(s)) == s``.

    Letters and digits of any script are kept (NFC-normalised) so folders stay readable;
    "/", "\\", control characters, "%", spaces and a leading "." are percent-encoded.
    """
    if not isinstance(student, str) or not student or len(student) > MAX_ID_LENGTH:
        raise ValueError(f"student id must be a non-empty string of at most {MAX_ID_LENGTH} characters, got {student!r}")
    student = unicodedata.normalize("NFC", student)
    out = []
    for ch in student:
        if ch.isalnum() or ch in "-_.@+":
            out.append(ch)
        else:
            out.append(quote(ch, safe=""))
    name = "".join(out)
    if name.startswith("."):
        name = "%2E" + name[1:]
    return name


def student_id(dirname: str) -> str:
    """The student id a folder name made by :func:`student_dirname` stands for."""
    return unquote(dirname)


def student_path(root, student: str) -> Path:
    """``root / student_dirname(student)``, guaranteed to be a direct child of ``root``."""
    root = Path(root).resolve()
    path = root / student_dirname(student)
    if path.parent != root:
        raise ValueError(f"student id {student!r} does not map to a folder directly under {root}")
    return path
