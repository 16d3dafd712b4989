"""Find expected values of hidden cases in the messages a student would read.

A hidden case's message may say what is wrong in general terms, but never show the expected
result: not its numbers, not its shape, not its tokens. :func:`find_leaks` scans one message for
the expected values of its case (the solution's outputs, which match the checks' references to
1e-9, and whatever the verdicts memoised in ``case.meta``):

* numbers written with 3 or more significant digits (not a relative error, a tolerance or an F1) (``repr``, ``%.3g`` ... ``%.6g``, ``.2e``)
  that round to an expected number at the precision they are written with;
* integers: those of 10 or more anywhere, any integer right after "expected", "should be",
  "want" or "instead of" (small integers are everywhere in messages: indices, counts);
* shapes written as tuples, ``(48,)`` or ``(3, 4)``, and whole lists ``[1, 2, 3]``;
* strings (tokens, tags) in quotes, ``'dalian'`` or ``"dalian"``.

What the student already knows is not a leak: a value that also occurs in the student's own
result (its return value, its arguments after the call, its error) or in the case's name (the
name is shown). A wrong answer printed back is therefore fine, even when one of its numbers is
an expected value elsewhere in the array (an off-by-one-in-time state).
"""

from __future__ import annotations

import math
import re

import numpy as np

NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")
# Numbers that measure the student's answer, not give the expected one.
METRIC = re.compile(r"(relative error|tolerance|rtol=|atol=|F1|precision|recall)\s*$", re.I)
CONTEXT = re.compile(r"(expected|should be|should have|want|wanted|instead of|correct)\W{0,4}$", re.I)
TUPLE = re.compile(r"\((?:\s*\d+\s*,)+(?:\s*\d+\s*)?\)")
BIG_INT = 10


class Values:
    """The numbers, shapes, lists and strings found in a (decoded) value."""

    def __init__(self, *values):
        self.floats, self.shapes, self.lists, self.strings = [], set(), set(), set()
        for value in values:
            self._walk(value)
        self.sorted = np.sort(np.array([f for f in self.floats if math.isfinite(f)], dtype=float))
        self.integers = {int(f) for f in self.floats if math.isfinite(f) and f == int(f)}

    def _walk(self, value):
        if value is None or isinstance(value, bool):
            return
        if type(value).__module__ == "torch" and hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        if isinstance(value, np.ndarray):
            if value.ndim:
                self.shapes.add(tuple(int(d) for d in value.shape))
            if value.dtype.kind in "biuf":
                self.floats += [float(v) for v in value.ravel()]
                if 0 < value.size <= 64:
                    self.lists.add(_compact(str(value.tolist())))
            elif value.dtype.kind in "UO":
                for item in value.ravel():
                    self._walk(item)
            return
        if isinstance(value, (int, float, np.integer, np.floating)):
            self.floats.append(float(value))
            return
        if isinstance(value, str):
            self.strings.add(value)
            return
        if isinstance(value, dict):
            for item in value.values():
                self._walk(item)
            return
        if isinstance(value, (list, tuple)):
            if value and len(value) <= 64 and all(isinstance(v, (int, float, str)) for v in value):
                self.lists.add(_compact(str(list(value))))
            self.shapes.add((len(value),))
            for item in value:
                self._walk(item)

    def has_number(self, value: float, halfwidth: float) -> bool:
        if not self.sorted.size:
            return False
        lo = np.searchsorted(self.sorted, value - halfwidth, side="left")
        return lo < self.sorted.size and self.sorted[lo] <= value + halfwidth


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _significant(token: str) -> int:
    mantissa = re.split(r"[eE]", token.lstrip("+-"))[0].replace(".", "").lstrip("0")
    return len(mantissa)


def _halfwidth(token: str, value: float) -> float:
    """Half a unit in the last place the token is written with (what rounding may hide)."""
    digits = _significant(token)
    if value == 0 or digits == 0:
        return 0.0
    exponent = math.floor(math.log10(abs(value)))
    return 0.5 * 10.0 ** (exponent - digits + 1) * (1 + 1e-9)


def find_leaks(message: str, expected: Values, known: Values, case_name: str = "") -> list:
    """The expected values (as written in ``message``) that the student could not know."""
    leaks = []
    for match in NUMBER.finditer(message):
        token = match.group()
        value = float(token)
        integral = re.fullmatch(r"[-+]?\d+", token) is not None
        before = message[max(0, match.start() - 24):match.start()]
        if METRIC.search(before):
            continue
        if integral:
            hit = int(value) in expected.integers and (abs(value) >= BIG_INT or CONTEXT.search(before))
            seen = int(value) in known.integers or re.search(rf"(?<![\w.]){re.escape(token)}(?![\w.])", case_name)
        else:
            if _significant(token) < 3 and not CONTEXT.search(before):
                continue
            width = max(_halfwidth(token, value), 1e-9 * abs(value))
            hit = expected.has_number(value, width)
            seen = known.has_number(value, width) or token in case_name
        if hit and not seen:
            leaks.append(f"number {token}")
    flat = _compact(message)
    for shape in sorted(expected.shapes):
        written = _compact(str(shape))
        if len(shape) and written in flat and shape not in known.shapes and written not in _compact(case_name):
            leaks.append(f"shape {shape}")
    for text in sorted(expected.lists - known.lists):
        if len(text) > 4 and text in flat and text not in _compact(case_name):
            leaks.append(f"list {text}")
    for text in sorted(expected.strings - known.strings):
        if any(q + text + q in message for q in "'\"") and repr(text) not in case_name:
            leaks.append(f"string {text!r}")
    return leaks


def expected_values(solution_result, case) -> Values:
    """The expected result of a case: the solution's output and the verdict's memoised references."""
    parts = []
    if solution_result is not None and solution_result.error is None:
        parts += [solution_result.value, *(g for g in solution_result.grads if g is not None)]
    for key in ("want", "gold"):
        if key in case.meta:
            parts.append(case.meta[key])
    return Values(*parts)


def known_values(result) -> Values:
    """What the student's own code produced: shown back to the student, so not a leak."""
    if result is None:
        return Values()
    error = result.error or ""
    known = Values(result.value, *result.args_after, *(g for g in result.grads if g is not None),
                   [float(t) for t in NUMBER.findall(error)])
    known.sorted = np.sort(known.sorted)
    for text in TUPLE.findall(error):  # shapes in the student's own error ("shapes (14,5) (48,5)")
        known.shapes.add(tuple(int(d) for d in re.findall(r"\d+", text)))
    known.strings |= set(re.findall(r"'([^']*)'", error))
    return known
