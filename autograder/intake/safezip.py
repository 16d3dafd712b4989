"""Read the members of an untrusted zip archive without writing any path it names.

Members are yielded as bytes in memory; the caller decides where they go from the member's
*base name* only. A member is refused (with a reason, never silently) when its name is
absolute, has a ``..`` component, a drive letter or a backslash path (its bytes are still
returned, for the caller to keep aside), when it is a symbolic link or a special file (Unix
mode bits in ``external_attr``; not read), when it is encrypted, or when it inflates beyond
``max_member_bytes``. The whole archive is refused when it has more than
``max_members`` entries or inflates beyond ``max_total_bytes``. Sizes are measured while
inflating, not taken from the headers (which a zip bomb sets to anything).
"""
from __future__ import annotations

import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ZipLimits:
    """Caps for one archive; the defaults fit a class of a few thousand notebooks."""

    max_members: int = 20_000
    max_member_bytes: int = 20 * 2**20
    max_total_bytes: int = 2 * 2**30


class ZipRefused(ValueError):
    """The archive as a whole is unreadable or over a limit."""


@dataclass
class Member:
    name: str
    data: bytes | None = None
    refused: str = ""


def _name_problem(name: str) -> str:
    if "\x00" in name:
        return "name contains a NUL byte"
    if name.startswith("/") or name.startswith("\\"):
        return "absolute path in archive"
    if "\\" in name:
        return "backslash in name (a Windows path); refused"
    if len(name) >= 2 and name[1] == ":":
        return "drive letter in name"
    parts = name.split("/")
    if any(p == ".." for p in parts):
        return "path traversal ('..') in name"
    return ""


def _mode_problem(info: zipfile.ZipInfo) -> str:
    mode = info.external_attr >> 16
    # Unix archivers put st_mode in the high 16 bits; many write permission bits only (no
    # file type), which is a plain file.
    if info.create_system == 3 and stat.S_IFMT(mode):
        if stat.S_ISLNK(mode):
            return "symbolic link in archive; not followed"
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            return "special file in archive"
    if info.flag_bits & 0x1:
        return "encrypted member"
    return ""


def iter_zip(path: Path, limits: ZipLimits = ZipLimits()):
    """Yield a :class:`Member` per file entry of the archive at ``path`` (directories skipped)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ZipRefused(f"not a readable zip file: {exc}") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_members:
            raise ZipRefused(f"{len(infos)} entries, more than the limit of {limits.max_members}")
        total = 0
        for info in infos:
            if info.is_dir():
                continue
            why = _mode_problem(info)
            if why:
                yield Member(info.filename, refused=why)  # a link's "content" is a path: not read
                continue
            try:
                data = _read_capped(archive, info, limits.max_member_bytes)
            except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, EOFError) as exc:
                yield Member(info.filename, refused=f"cannot inflate: {exc}")
                continue
            if data is None:
                yield Member(info.filename, refused=f"inflates beyond {limits.max_member_bytes} bytes")
                continue
            total += len(data)
            if total > limits.max_total_bytes:
                raise ZipRefused(f"inflates beyond {limits.max_total_bytes} bytes in total")
            # A hostile name is refused, but its bytes are returned so that the caller can
            # keep them aside: the name is never used as a path, only reported.
            yield Member(info.filename, data, refused=_name_problem(info.filename))


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes | None:
    chunks, size = [], 0
    with archive.open(info) as fh:
        while True:
            block = fh.read(min(1 << 20, cap + 1 - size))
            if not block:
                break
            size += len(block)
            if size > cap:
                return None
            chunks.append(block)
    return b"".join(chunks)
