"""The Linux calls a forked kernel needs to isolate itself (libc through ctypes).

:mod:`autograder.isolation.zygote` forks a warm interpreter per submission; the child cannot
``exec`` bubblewrap without losing what the parent imported, so it makes the same system
calls bubblewrap makes: new user, mount, pid, ipc, uts and network namespaces, fresh tmpfs
mounts over every writable place, a fresh /proc, and then no capabilities at all.
"""

from __future__ import annotations

import ctypes
import os

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
_CAP_VERSION_3 = 0x20080522
_CAP_LAST = 63  # dropping an unknown capability number fails with EINVAL, which is ignored

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> int:
    if result == -1:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")
    return result


def unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    enc = (lambda s: None if s is None else s.encode())
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {fstype or source} on {target}")


def tmpfs(target: str, size: int, mode: str, readonly: bool = False) -> None:
    """A fresh, empty tmpfs of ``size`` bytes on ``target`` (nosuid, nodev)."""
    flags = MS_NOSUID | MS_NODEV | (MS_RDONLY if readonly else 0)
    mount("tmpfs", target, "tmpfs", flags, f"size={int(size)},mode={mode}")


def bind(source: str, target: str, readonly: bool = False) -> None:
    mount(source, target, None, MS_BIND | MS_REC)
    if readonly:
        remount_readonly(target, MS_BIND)


def remount_readonly(target: str, extra: int = 0) -> None:
    mount(None, target, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | extra)


def make_private(target: str = "/") -> None:
    """Stop mount events from leaving this namespace (or entering it)."""
    mount(None, target, None, MS_REC | MS_PRIVATE)


def map_self(uid: int, gid: int, outer_uid: int, outer_gid: int) -> None:
    """After unshare(CLONE_NEWUSER): be ``uid``/``gid`` inside, ``outer_uid``/``outer_gid``
    (this process's ids before the unshare; after it they read as the overflow id) outside."""
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{uid} {outer_uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{gid} {outer_gid} 1")


def set_parent_death_signal(sig: int) -> None:
    _check(_libc.prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(sig), 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_all_capabilities() -> None:
    """No capability now or after any exec, and no way to gain one (no_new_privs).

    A process that created a user namespace holds every capability in it; without this, the
    student's code could unmount the tmpfs that hides the other jobs and the parent's files.
    """
    for cap in range(_CAP_LAST + 1):
        if _libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) == -1 and ctypes.get_errno() != 22:
            _check(-1, f"prctl(PR_CAPBSET_DROP, {cap})")
    _check(_libc.prctl(PR_CAP_AMBIENT, ctypes.c_ulong(PR_CAP_AMBIENT_CLEAR_ALL), 0, 0, 0), "clear ambient capabilities")
    header = _CapHeader(_CAP_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


def capabilities() -> int:
    """The effective capability set of this process (bits), read from /proc."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    return 0


def sethostname(name: str) -> None:
    raw = name.encode()
    _check(_libc.sethostname(raw, ctypes.c_size_t(len(raw))), "sethostname")
