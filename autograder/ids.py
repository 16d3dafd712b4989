"""Student ids that are safe to use as directory names inside the course.

nbgrader turns a student id into a path (``submitted/<student>/<assignment>/``), so an id
taken from an LMS file name is untrusted input: ``../../x`` would escape the course, an
id with a slash would nest, ``.``/``..`` would alias a parent, and unicode ids (``José``,
``张伟``) break tools that assume ASCII. Every id goes through :func:`sanitise`; an id
that had to change keeps its original spelling in the returned :class:`StudentId` (the
grader stores it in the gradebook's ``lms_user_id``) and gains a short hash of the
original so two different students never collapse into one directory.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

# Letters, digits, dot, dash, underscore; starting with a letter or digit (never a dot,
# so no hidden directories and no '.'/'..'), at most 64 characters.
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # used with fullmatch: "$" would accept a trailing newline
MAX_RAW_LENGTH = 256


@dataclass(frozen=True)
class StudentId:
    """The id the course uses (``safe``), the id as received (``original``), and why it changed."""

    safe: str
    original: str
    reason: str = ""

    @property
    def changed(self) -> bool:
        return self.safe != self.original


class InvalidStudentId(ValueError):
    """The id cannot name any student (empty, too long, only control characters)."""


def _fold_ascii(text: str) -> str:
    """Drop accents (é -> e), map every other non-safe character to '_'."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^A-Za-z0-9._-]", "_", stripped)


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def sanitise(raw: str) -> StudentId:
    """Return a :class:`StudentId` whose ``safe`` form is a single harmless path component.

    raw : str, the id as found in a file or directory name.

    Raises :class:`InvalidStudentId` (a ``ValueError``) when ``raw`` is empty or only
    whitespace/control characters, or longer than 256 characters: such a name identifies
    nobody, and the caller reports the file as unmatched instead of guessing.
    """
    if not isinstance(raw, str):
        raise InvalidStudentId(f"student id must be a str, got {type(raw).__name__}")
    if len(raw) > MAX_RAW_LENGTH:
        raise InvalidStudentId(f"student id is {len(raw)} characters long (at most {MAX_RAW_LENGTH})")
    printable = "".join(ch for ch in raw if unicodedata.category(ch)[0] != "C").strip()
    if not printable:
        raise InvalidStudentId(f"student id {raw!r} is empty once control characters are removed")
    if SAFE_ID.fullmatch(raw):
        return StudentId(raw, raw)

    reasons = []
    if "/" in raw or "\\" in raw or raw.startswith(".") or ".." in raw:
        reasons.append("looks like a path")
    if any(ord(ch) > 127 for ch in raw):
        reasons.append("has non-ASCII characters")
    if printable != raw:
        reasons.append("has whitespace or control characters at its ends or inside")
    if not reasons:
        reasons.append("has characters outside [A-Za-z0-9._-] or is too long")

    # Keep only the last path component's readable part: '../../x' -> 'x'.
    base = _fold_ascii(printable).replace("..", "_")
    base = re.sub(r"_+", "_", base).strip("._-")[:40]
    suffix = _short_hash(raw)
    safe = f"{base}-{suffix}" if base else f"student-{suffix}"
    assert SAFE_ID.fullmatch(safe), safe  # by construction; a failure here is a bug in this module
    return StudentId(safe, raw, "student id " + " and ".join(reasons) + f"; renamed to {safe!r}")


def is_safe(name: str) -> bool:
    """True when ``name`` can be used unchanged as a student directory."""
    return bool(SAFE_ID.fullmatch(name))
