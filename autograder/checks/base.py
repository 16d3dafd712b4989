"""The types of a hidden check and the scoring rule (trusted side only).

A :class:`Check` produces :class:`Case` inputs from a seed; the student's kernel runs each
case through a probe (:mod:`autograder.runtime`) and the grader turns each raw
:class:`Result` into a :class:`Verdict` here, outside the student's process. The cell's
score is its points times the passed weight over the total weight (:func:`evaluate`).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from dataclasses import dataclass, field
from typing import Any, Callable

PROBES = ("call", "torch_grad")

# Reference implementations of graded functions; a checks module may narrow or extend this
# with its own FORBIDDEN list (see autograder.grading.shortcuts).
DEFAULT_FORBIDDEN = (
    "rnnlab.rnn", "rnnlab.lstm", "rnnlab.jordan", "rnnlab.birnn",
    "rnnlab.encoding.embedding_forward", "rnnlab.encoding.embedding_backward",
    "rnnlab.losses", "rnnlab.optim.clip_grad_norm",
)

_ASSIGNMENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True)
class Case:
    """One input to one student function.

    name : unique within its check, shown to the student ("batch of 3").
    func : name of the student's function in the notebook's globals.
    args : positional arguments (arrays, numbers, strings, tuples, lists, dicts).
    probe : "call" or "torch_grad" (see autograder.runtime).
    weight : share of the check's points.
    meta : trusted-side data for the verdict (never sent to the kernel).
    kwargs : keyword arguments, sent to the kernel like ``args``.
    """

    name: str
    func: str
    args: tuple = ()
    probe: str = "call"
    weight: float = 1.0
    meta: dict = field(default_factory=dict)
    kwargs: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.probe not in PROBES:
            raise ValueError(f"Case {self.name!r}: probe must be one of {PROBES}, got {self.probe!r}")
        if not (self.weight > 0):
            raise ValueError(f"Case {self.name!r}: weight must be > 0, got {self.weight!r}")
        if not isinstance(self.args, tuple):
            object.__setattr__(self, "args", tuple(self.args))


@dataclass(frozen=True)
class Verdict:
    """The grader's judgement of one case; ``message`` is shown to the student."""

    passed: bool
    message: str = ""


@dataclass
class Result:
    """What a probe observed in the student's kernel (decoded, never trusted).

    value : the function's return value ("call") or the scalar output ("torch_grad").
    args_after : the positional arguments as they are after the call ("call").
    grads : one gradient per positional argument, None where it has none ("torch_grad").
    error : "TypeError: message" when the student's code raised, or the function is missing.
    error_type : the exception's class name ("TypeError"), or None.
    """

    value: Any = None
    args_after: tuple = ()
    grads: tuple = ()
    error: str | None = None
    error_type: str | None = None


@dataclass(frozen=True)
class Check:
    """A hidden check: ``cases(seed) -> list[Case]`` and ``verdict(case, result) -> Verdict``.

    A case whose result has an ``error`` fails without calling ``verdict`` unless its
    ``meta["expects_error"]`` is true (a check that the student raises ValueError).
    """

    cases: Callable[[int], list]
    verdict: Callable[[Case, Result], Verdict]
    description: str = ""
    seed: int = 0

    def make_cases(self) -> list:
        cases = list(self.cases(self.seed))
        names = [c.name for c in cases]
        if not cases or len(set(names)) != len(names):
            raise ValueError(f"check {self.description!r}: cases must be a non-empty list with unique names, got {names}")
        return cases


def _checks_module(assignment: str):
    if not isinstance(assignment, str) or not _ASSIGNMENT_RE.match(assignment):
        raise ValueError(f"assignment must be an identifier like 'a1', got {assignment!r}")
    return importlib.import_module(f"autograder.checks.{assignment}")


def load_checks(assignment: str) -> dict:
    """Import ``autograder.checks.<assignment>`` and return its ``CHECKS`` dict."""
    module = _checks_module(assignment)
    checks = getattr(module, "CHECKS", None)
    if not isinstance(checks, dict) or not all(isinstance(c, Check) for c in checks.values()):
        raise ValueError(f"autograder.checks.{assignment}.CHECKS must be a dict of Check, got {type(checks).__name__}")
    return checks


def has_checks(assignment: str) -> bool:
    """Whether the assignment has a hidden-checks module ``autograder/checks/<assignment>.py``.

    Hidden checks are optional: an ordinary nbgrader assignment (any name nbgrader accepts,
    ``ps-1`` included) has none and is graded by its test cells alone.
    """
    if not isinstance(assignment, str) or not _ASSIGNMENT_RE.match(assignment):
        return False  # not an importable name, so no module can exist for it
    return importlib.util.find_spec(f"autograder.checks.{assignment}") is not None


def load_forbidden(assignment: str) -> tuple:
    """The dotted names whose use earns no points in this assignment (DEFAULT_FORBIDDEN if unset,
    or when the assignment has no checks module)."""
    if not has_checks(assignment):
        return DEFAULT_FORBIDDEN
    return tuple(getattr(_checks_module(assignment), "FORBIDDEN", DEFAULT_FORBIDDEN))


def evaluate(check: Check, results_by_case: dict, cases: list | None = None):
    """Score a check from the raw results of its cases.

    results_by_case : case name -> Result (a missing name means the case never ran).
    cases : the check's cases (regenerated from its seed when None).
    Returns (score_fraction in [0, 1], [(name, weight, passed, message), ...]).
    """
    cases = check.make_cases() if cases is None else cases
    rows, passed_weight, total = [], 0.0, 0.0
    for case in cases:
        total += case.weight
        verdict = _judge(check, case, results_by_case.get(case.name))
        if verdict.passed:
            passed_weight += case.weight
        rows.append((case.name, case.weight, bool(verdict.passed), str(verdict.message)))
    return (passed_weight / total if total else 0.0), rows


def _judge(check: Check, case: Case, result) -> Verdict:
    if not isinstance(result, Result):
        return Verdict(False, f"{case.func}: no result (the check did not run to this case)")
    if result.error is not None and not case.meta.get("expects_error"):
        return Verdict(False, f"{case.func} raised {result.error}")
    try:
        verdict = check.verdict(case, result)
    except Exception as exc:  # a verdict must never crash the grader on an odd student result
        # Only the exception's class: its text may quote the expected value ("shapes (12,7) (4,3,7)").
        return Verdict(False, f"{case.func} returned a result the check could not use ({type(exc).__name__} "
                       "while comparing it): check the type and shape of each value it returns")
    if not isinstance(verdict, Verdict):
        raise TypeError(f"verdict of case {case.name!r} returned {type(verdict).__name__}, not Verdict")
    return verdict
