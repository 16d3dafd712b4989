"""Score test cells from an executed notebook, outside the student's kernel (trusted side).

A test cell with hidden checks scores ``points * passed weight / total weight`` over the
cases of every check its (restored) source calls, plus one failed case when its visible
tests failed (passing them adds nothing: they run where student code can defeat them). The
hidden block runs as its own execution after the visible part, whatever that part did.
Results count only when the hidden block showed them, name one of its checks, appear once,
and the hidden block then ended without error (hidden_check never raises for a wrong
answer, so a result before a failure was forged); a case of a function that uses the
course's reference implementation fails. A hidden block that cannot import the grader's
runtime is a grader failure (:class:`GraderFailure`), never a score. A test cell without hidden checks passes when
neither its visible part nor its hidden block raised (stderr alone never fails it).
"""

from __future__ import annotations

from autograder.checks.base import evaluate, load_checks
from autograder.grading.executor import split_hidden
from autograder.grades import CaseMessage, CellGrade
from autograder.runtime import result_from_wire


def cases_by_check(source) -> dict:
    """(assignment, check_id) -> (Check, [Case]) for every hidden check of a source notebook."""
    out = {}
    for test in source.tests:
        for assignment, check_id in test.checks:
            if (assignment, check_id) not in out:
                checks = load_checks(assignment)
                if check_id not in checks:
                    raise ValueError(f"test cell {test.grade_id!r} calls unknown check {assignment}.{check_id}")
                check = checks[check_id]
                out[(assignment, check_id)] = (check, check.make_cases())
    return out


class GraderFailure(RuntimeError):
    """The grading machinery failed in the kernel (the hidden-check runtime could not be
    imported): the submission gets status "error" with this reason, never a score."""


# Errors of a hidden block that mean the grader's own code is missing from the kernel.
_RUNTIME_MISSING = ("No module named 'autograder'", "No module named 'autograder.runtime'",
                    "No module named 'rnnlab'", "cannot import name 'hidden_check'")

VISIBLE_WEIGHT = 1.0  # failed visible tests count as one failed case beside the hidden ones


def score_cell(test, run, checks: dict, charged: dict, tampered: list, outputs=()) -> CellGrade:
    """Grade one source test cell.

    test : restore.SourceCell of kind "test".
    run : executor.CellRun of its restored copy, or None if it never ran.
    checks : cases_by_check(...) of the notebook.
    charged : student function -> shortcut message (no points for that function).
    tampered : list to append tampering reasons to (forged or duplicated results).
    outputs : the executed cell's outputs (nbgrader's partial credit for plain test cells).

    A cell with hidden checks scores ``points * passed / total`` over the weights of its hidden
    cases, plus, when its visible tests failed, one failed case of weight
    :data:`VISIBLE_WEIGHT`; the hidden part runs whatever the visible part did. Raises :class:`GraderFailure` when the hidden
    part could not import the grader's runtime.
    """
    grade = CellGrade("", test.grade_id, 0.0, test.points)
    if run is None or run.status == "skipped":
        grade.status = "not-run"
        grade.messages.append(CaseMessage("test cell", False, run.note if run and run.note else "this test cell was not run"))
        return grade
    if not test.checks:
        return _score_plain(test, run, grade, outputs)
    return _score_hidden(test, run, checks, charged, tampered, grade)


def _score_plain(test, run, grade: CellGrade, outputs) -> CellGrade:
    """A cell without hidden checks (plain nbgrader tests): it passes when neither part raised.

    The hidden block of nbgrader's "### BEGIN HIDDEN TESTS" runs as its own execution, and
    its assertions count as much as the visible ones (ignoring them gave free points).
    """
    hidden = run.hidden
    visible_ok = run.status == "ok" and not run.error
    hidden_ok = hidden is None or (hidden.status == "ok" and not hidden.error)
    passed = visible_ok and hidden_ok
    why = "passed" if passed else _failure(run) if not visible_ok else f"hidden tests: {_failure(hidden)}"
    grade.points = test.points if passed else 0.0
    if passed:
        grade.points, why = partial_credit(outputs, test.points)
    grade.status = "passed" if passed and grade.points == test.points else "partial" if grade.points > 0 else "failed"
    grade.messages.append(CaseMessage("tests", passed and (grade.points > 0 or test.points == 0), why))
    return grade


def _score_hidden(test, run, checks, charged, tampered, grade: CellGrade) -> CellGrade:
    """A cell with hidden checks: its cases' weights, and one case for failed visible tests."""
    hidden = run.hidden
    passed_weight = total = 0.0
    if hidden is None or _has_visible_part(test):
        # The visible tests run in the student's kernel, where they can be defeated: passing
        # them adds nothing, failing them costs one case's share.
        visible_ok = run.status == "ok" and not run.error
        total += 0.0 if visible_ok else VISIBLE_WEIGHT
        grade.messages.append(CaseMessage("visible tests", visible_ok, "passed" if visible_ok else _failure(run)))
    if run.visible_results:
        tampered.append(f"test cell {test.grade_id!r} showed a hidden-check result during its visible tests: "
                        "the result was shown by the submission's own code and was ignored")
    # The hidden part's results count only if it ended without error: hidden_check never
    # raises for a wrong answer, so a result followed by an error was shown by student code.
    hidden_failed = hidden is not None and (hidden.status != "ok" or bool(hidden.error))
    if hidden is None:  # an old-style cell without a hidden block marker: one execution
        hidden_failed = run.status != "ok" or bool(run.error)
    if hidden is not None and hidden.error and any(m in hidden.error[1] for m in _RUNTIME_MISSING) \
            and hidden.error[0] in ("ModuleNotFoundError", "ImportError"):
        raise GraderFailure(f"test cell {test.grade_id!r}: the hidden checks could not import the grader's "
                            f"runtime in the sandbox ({hidden.error[0]}: {hidden.error[1]})")
    for key in test.checks:
        check, cases = checks[key]
        results = _check_results(test, run, key, hidden_failed, tampered, grade)
        fraction, rows = evaluate(check, results, cases)
        for case, (name, weight, passed, message) in zip(cases, rows):
            if case.func in charged:
                passed, message = False, charged[case.func]
            total += weight
            passed_weight += weight if passed else 0.0
            grade.messages.append(CaseMessage(f"{key[1]}: {name}", passed, message, hidden=True))
    fraction = passed_weight / total if total else 0.0
    grade.points = round(test.points * fraction, 6)
    grade.status = "passed" if fraction == 1.0 else "partial" if fraction > 0 else "failed"
    return grade


def _check_results(test, run, key, hidden_failed: bool, tampered: list, grade: CellGrade) -> dict:
    """The decoded results the hidden block reported for check ``key`` ({} when none count)."""
    payloads = [p for p in run.results if isinstance(p, dict)
                and p.get("assignment") == key[0] and p.get("check") == key[1]]
    if hidden_failed:
        if payloads:
            tampered.append(f"test cell {test.grade_id!r} failed after showing a result for check {key[1]!r}: "
                            "the result was shown by the submission's own code and was ignored")
        why = _failure(run.hidden) if run.hidden is not None else _failure(run)
        grade.messages.append(CaseMessage(key[1], False, f"the hidden checks stopped: {why}"))
    elif len(payloads) > 1:
        tampered.append(f"test cell {test.grade_id!r} reported check {key[1]!r} {len(payloads)} times: its results were ignored")
    elif payloads:
        return _decode_results(payloads[0].get("results"))
    else:
        # hidden_check either reports or raises: a clean hidden part without a report means
        # the student's code patched the runtime or the display machinery.
        tampered.append(f"test cell {test.grade_id!r} ran without error but check {key[1]!r} reported nothing "
                        "(was autograder.runtime or IPython's display patched?)")
        grade.messages.append(CaseMessage(key[1], False, "the hidden check reported nothing: the checker was tampered with",
                                          hidden=True))
    return {}


def partial_credit(outputs, points: float) -> tuple:
    """(points, message) of a plain test cell that raised nothing, as nbgrader's
    ``utils.get_partial_grade``: the first result the cell displays as its value
    (``execute_result``), when it is one number in [0, points], is its score; any other value,
    or none, gives full points. A number above ``points`` makes nbgrader's run fail for the
    notebook; here the cell scores 0 with that reason."""
    for out in outputs or ():
        if out.get("output_type") != "execute_result":
            continue
        text = out.get("data", {}).get("text/plain", "")
        if isinstance(text, list):
            if len(text) != 1:
                return points, "passed"
            text = text[0]
        try:
            value = float(text)
        except (TypeError, ValueError):
            return points, "passed"
        if value > points:
            return 0.0, f"the cell reported partial credit {value:g}, more than its {points:g} points"
        if value >= 0:
            return value, "passed" if value == points else f"partial credit: {value:g} of {points:g} points"
        return points, "passed"
    return points, "passed"


def _has_visible_part(test) -> bool:
    source = test.cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    visible, _ = split_hidden(source)
    return any(line.strip() and not line.lstrip().startswith("#") for line in visible.splitlines())


def _decode_results(raw) -> dict:
    results = {}
    if isinstance(raw, dict):
        for name, data in list(raw.items())[:1000]:
            try:
                results[str(name)] = result_from_wire(data)
            except (ValueError, TypeError, RecursionError):
                continue  # a malformed result fails its case as "no result"
    return results


def _failure(run) -> str:
    """Why a run (a CellRun or a HiddenRun) did not end cleanly."""
    if run.status in ("timeout", "hung", "dead"):
        return run.note or f"the kernel stopped ({run.status})"
    if run.error:
        ename, evalue = run.error
        return f"{ename}: {evalue}" if evalue else ename
    return "the cell did not finish"
