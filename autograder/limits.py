"""Resource limits of one grading job, each with a documented default.

The defaults follow what trusted graders promise (PrairieLearn: 2 GiB, no swap; nbgrader:
a per-cell timeout) plus a whole-notebook budget nbgrader lacks. Override any of them with
``Limits(cell_timeout=5)`` or ``limits.replace(memory_bytes=512 * MiB)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

KiB, MiB, GiB = 2**10, 2**20, 2**30


@dataclass(frozen=True)
class Limits:
    """What one submission may use.

    notebook_timeout : s, wall time for executing the whole notebook (kernel start excluded);
        cells left when it runs out are not run and their tests score 0.
    cell_timeout : s, wall time of one cell; the cell is interrupted, and when the kernel
        does not answer the interrupt within ``interrupt_grace`` it is killed.
    startup_timeout : s, for the sandboxed kernel to start and answer.
    interrupt_grace : s, for a timed-out cell to stop after the interrupt.
    memory_bytes : memory of the kernel and all its children, tmpfs files included (cgroup
        memory limit, no swap).
    max_processes : processes and threads of the job (cgroup pids.max, else RLIMIT_NPROC).
    cpus : CPU share of the job (cgroup CPU quota) where the cpu controller is writable.
    file_size_bytes : largest file the student's code may write (RLIMIT_FSIZE).
    scratch_bytes : size of the sandbox's writable tmpfs (home and /tmp each).
    output_bytes_per_cell, output_bytes_per_notebook : outputs kept in the graded notebook;
        the rest is dropped with a note (nbgrader limits lines only).
    output_lines_per_cell : stream lines kept per cell.
    result_bytes_per_cell : raw hidden-check results accepted from one test cell.
    max_notebook_bytes : larger submissions are rejected as malformed before parsing.
    """

    notebook_timeout: float = 300.0
    cell_timeout: float = 60.0
    startup_timeout: float = 60.0
    interrupt_grace: float = 5.0
    memory_bytes: int = 2 * GiB
    max_processes: int = 256
    cpus: float = 1.0
    file_size_bytes: int = 64 * MiB
    scratch_bytes: int = 256 * MiB
    output_bytes_per_cell: int = 1 * MiB
    output_bytes_per_notebook: int = 10 * MiB
    output_lines_per_cell: int = 1000
    result_bytes_per_cell: int = 16 * MiB
    max_notebook_bytes: int = 50 * MiB

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"Limits.{f.name} must be a positive number, got {value!r}")

    def replace(self, **changes) -> "Limits":
        """A copy with some limits changed (unknown names raise TypeError)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Limits":
        return _from_dict(cls, data, "limits")


@dataclass(frozen=True)
class SandboxPolicy:
    """How a submission's kernel is isolated from the host, carried beside :class:`Limits`
    from the command line to the kernel (a per-course isolation setting is a field here).

    enabled : run the kernel in bubblewrap (no network, private pid/ipc/uts/user
        namespaces, read-only system, only the work directory writable); False runs it
        as a plain process under the same resource limits (tests, ``--no-sandbox``).
    warm : fork each kernel from a warm parent that has already imported numpy, torch,
        rnnlab and the hidden-check runtime (:mod:`autograder.isolation.zygote`), each still in
        its own namespaces, tmpfs and limits (``rnngrade grade --warm-kernels``); False starts a
        new interpreter per kernel. Only with ``enabled``. Off by default: a fork bomb in a
        warm kernel copies enough of the parent's memory to be stopped by the memory limit,
        not by the process limit as in a cold one.
    """

    enabled: bool = True
    warm: bool = False

    def __post_init__(self):
        for name in ("enabled", "warm"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"SandboxPolicy.{name} must be True or False, got {getattr(self, name)!r}")

    @classmethod
    def of(cls, value) -> "SandboxPolicy":
        """The policy for ``value``: a policy, its :meth:`to_dict`, or a bool (``enabled``)."""
        if isinstance(value, cls):
            return value
        if isinstance(value, bool):
            return cls(enabled=value)
        if isinstance(value, dict):
            return cls.from_dict(value)
        raise ValueError(f"sandbox must be a SandboxPolicy, its dict or a bool, got {value!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SandboxPolicy":
        return _from_dict(cls, data, "sandbox settings")


def _from_dict(cls, data: dict, what: str):
    """``cls(**data)``; a ValueError naming the unknown keys and the known ones."""
    known = [f.name for f in dataclasses.fields(cls)]
    unknown = set(data) - set(known)
    if unknown:
        raise ValueError(f"unknown {what} {sorted(unknown)}; known: {known}")
    return cls(**data)
