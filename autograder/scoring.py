"""Score test cells from an executed notebook, outside the student's kernel (trusted side).

A test cell with hidden checks scores ``points * passed weight / total weight`` over the
cases of every check its (restored) source calls. Results count only when they come from
that cell, name one of its checks, appear once, and the cell then ended without error (the
hidden block is the cell's end, so a result before a failure was forged); a case of a function that uses the
course's reference implementation fails. A test cell without hidden checks passes when it
raised no exception (stderr alone never fails it).
"""

from __future__ import annotations

from autograder.checks.base import evaluate, load_checks
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


def score_cell(test, run, checks: dict, charged: dict, tampered: list) -> CellGrade:
    """Grade one source test cell.

    test : restore.SourceCell of kind "test".
    run : executor.CellRun of its restored copy, or None if it never ran.
    checks : cases_by_check(...) of the notebook.
    charged : student function -> shortcut message (no points for that function).
    tampered : list to append tampering reasons to (duplicated results).
    """
    grade = CellGrade("", test.grade_id, 0.0, test.points)
    if run is None or run.status == "skipped":
        grade.status = "not-run"
        grade.messages.append(CaseMessage("test cell", False, run.note if run and run.note else "this test cell was not run"))
        return grade
    visible_failed = run.status != "ok" or bool(run.error)
    if not test.checks:
        passed = run.status == "ok" and not run.error
        grade.points = test.points if passed else 0.0
        grade.status = "passed" if passed else "failed"
        grade.messages.append(CaseMessage("tests", passed, "passed" if passed else _failure(run)))
        return grade
    passed_weight = total = 0.0
    for key in test.checks:
        check, cases = checks[key]
        payloads = [p for p in run.results if isinstance(p, dict)
                    and p.get("assignment") == key[0] and p.get("check") == key[1]]
        results = {}
        if payloads and visible_failed:
            # hidden_check is the cell's last statement and never raises for wrong answers: a
            # result in a cell that then failed was shown by the student's code (forged).
            tampered.append(f"test cell {test.grade_id!r} failed after showing a result for check {key[1]!r}: "
                            "the result was shown by the submission's own code and was ignored")
            grade.messages.append(CaseMessage("visible tests", False,
                                              f"the test cell stopped before the hidden checks ran: {_failure(run)}"))
        elif len(payloads) > 1:
            tampered.append(f"test cell {test.grade_id!r} reported check {key[1]!r} {len(payloads)} times: its results were ignored")
        elif payloads:
            results = _decode_results(payloads[0].get("results"))
        elif visible_failed:
            grade.messages.append(CaseMessage("visible tests", False,
                                              f"the test cell stopped before the hidden checks ran: {_failure(run)}"))
        else:
            # hidden_check either reports or raises: a clean cell without a report means the
            # student's code patched the runtime or the display machinery.
            tampered.append(f"test cell {test.grade_id!r} ran without error but check {key[1]!r} reported nothing "
                            "(was autograder.runtime or IPython's display patched?)")
            grade.messages.append(CaseMessage(key[1], False, "the hidden check reported nothing: the checker was tampered with",
                                              hidden=True))
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
    if run.status in ("timeout", "hung", "dead"):
        return run.note or f"the kernel stopped ({run.status})"
    if run.error:
        ename, evalue = run.error
        return f"{ename}: {evalue}" if evalue else ename
    return "the cell did not finish"
