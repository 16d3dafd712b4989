"""Hidden checks of the test fixture assignment (tests/autograder/fixtures/course/solutions/fixture).

Two tiny graded functions: ``add(a, b)`` (elementwise sum) and ``scale(x, c)`` (``c * x``,
without modifying ``x``). Used by the engine's tests and by the orchestration's tests.
"""

import numpy as np

from autograder.checks.base import Case, Check, Verdict
from autograder.hints import array_problem

FORBIDDEN = ("rnnlab.rnn", "rnnlab.losses")


def _add_cases(seed):
    rng = np.random.default_rng(seed)
    return [
        Case("two vectors of length 3", "add", (rng.normal(size=3), rng.normal(size=3))),
        Case("two (2, 4) matrices", "add", (rng.normal(size=(2, 4)), rng.normal(size=(2, 4))), weight=2.0),
    ]


def _add_verdict(case, result):
    a, b = case.args
    problem = array_problem("add(a, b)", result.value, a + b, hints={"returned a - b instead of a + b": a - b})
    return Verdict(problem is None, problem or "correct")


def _scale_cases(seed):
    rng = np.random.default_rng(seed)
    return [
        Case("vector times 2.5", "scale", (rng.normal(size=5), 2.5)),
        Case("matrix times -1", "scale", (rng.normal(size=(3, 2)), -1.0)),
    ]


def _scale_verdict(case, result):
    x, c = case.args
    problem = array_problem("scale(x, c)", result.value, c * x)
    if problem is None and not np.array_equal(result.args_after[0], x):
        problem = "scale(x, c) modified x in place: return a new array instead"
    return Verdict(problem is None, problem or "correct")


CHECKS = {
    "add": Check(_add_cases, _add_verdict, "add(a, b) is the elementwise sum", seed=1),
    "scale": Check(_scale_cases, _scale_verdict, "scale(x, c) is c * x and leaves x alone", seed=2),
}
