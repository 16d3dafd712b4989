"""Hidden checks as seen from the student's kernel (public).

A hidden test cell calls ``hidden_check("a1", "rnn_step_forward", globals())``.

- Outside grading (``RNNGRADE_CASES`` unset: plain ``nbgrader autograde``, validation,
  tests) it imports the instructor's checks, runs every case on the student's function,
  judges the results in-process and raises AssertionError listing every failed case.
- Inside the grader's sandbox (``RNNGRADE_CASES`` names a JSON file of case inputs written
  by the grader) it only runs the probes and displays the raw results under
  :data:`RESULT_MIME`; the grader judges them outside this process. Wrong answers never
  raise here; a missing function or an exception in student code becomes that case's result.

Probes: ``"call"`` returns ``f(*args, **kwargs)`` and the args after the call (in-place
modification shows); ``"torch_grad"`` turns float arrays into float64 tensors with
``requires_grad``, calls ``f``, backpropagates its scalar output and returns the value and
one gradient per positional argument.
"""

from __future__ import annotations

import copy
import json
import os

from autograder import serial

RESULT_MIME = "application/vnd.rnngrade.result+json"
CASES_ENV = "RNNGRADE_CASES"

# Bound at import so that a student who later rebinds IPython.display.display cannot
# swallow the results (the grader imports this module before the student's first cell).
try:
    from IPython.display import display as _display
except ImportError:  # plain Python without IPython: results cannot be displayed anyway
    _display = None


def hidden_check(assignment: str, check_id: str, namespace: dict) -> None:
    """Run check ``check_id`` of ``assignment`` on the functions in ``namespace`` (globals())."""
    path = os.environ.get(CASES_ENV)
    if path:
        _emit(assignment, check_id, _probe_all(_cases_from_file(path, check_id), namespace))
    else:
        _judge_here(assignment, check_id, namespace)


def _cases_from_file(path: str, check_id: str) -> list:
    with open(path, encoding="utf-8") as f:
        spec = json.load(f)
    return spec.get("checks", {}).get(check_id, [])


def _probe_all(cases: list, namespace: dict) -> dict:
    results = {}
    for case in cases:
        args = serial.decode(case.get("args", {"__tuple__": []}))
        kwargs = serial.decode(case.get("kwargs", {"__dict__": {}}))
        results[case["name"]] = run_probe(case.get("probe", "call"), case["func"], tuple(args), dict(kwargs), namespace)
    return results


def run_probe(probe: str, func_name: str, args: tuple, kwargs: dict, namespace: dict) -> dict:
    """Run one case; return the encoded result dict (value/args_after/grads or error)."""
    func = namespace.get(func_name)
    if not callable(func):
        what = "is not defined" if func is None else f"is a {type(func).__name__}, not a function"
        return {"error": f"NameError: {func_name} {what}", "error_type": "NameError"}
    args, kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)  # each case gets fresh inputs
    try:
        if probe == "call":
            value = func(*args, **kwargs)
            return {"value": serial.encode(value), "args_after": serial.encode(tuple(args))}
        if probe == "torch_grad":
            return _torch_grad(func, args, kwargs)
        return {"error": f"ValueError: unknown probe {probe!r}", "error_type": "ValueError"}
    except (Exception, SystemExit) as exc:  # student code: record, never propagate
        return {"error": f"{type(exc).__name__}: {_short(exc)}", "error_type": type(exc).__name__}


def _torch_grad(func, args, kwargs) -> dict:
    import numpy as np
    import torch

    targs = tuple(
        torch.tensor(a, dtype=torch.float64, requires_grad=True)
        if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
        for a in args
    )
    out = func(*targs, **kwargs)
    if not isinstance(out, torch.Tensor) or out.numel() != 1:
        kind = f"a tensor of shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
        raise TypeError(f"expected a scalar torch tensor (to backpropagate), got {kind}")
    out.sum().backward()
    grads = tuple(a.grad if isinstance(a, torch.Tensor) and a.requires_grad else None for a in targs)
    return {"value": serial.encode(out.detach()), "grads": serial.encode(grads)}


def _short(exc: BaseException, limit: int = 500) -> str:
    try:
        text = str(exc)
    except Exception:
        text = "<unprintable>"
    return text if len(text) <= limit else text[:limit] + "..."


def _emit(assignment: str, check_id: str, results: dict) -> None:
    payload = {"assignment": assignment, "check": check_id, "results": results}
    if _display is None:
        raise RuntimeError("hidden_check needs IPython to report results to the grader")
    _display({RESULT_MIME: payload, "text/plain": f"[rnngrade] results of check {check_id!r} recorded"}, raw=True)


def _judge_here(assignment: str, check_id: str, namespace: dict) -> None:
    """Outside grading: judge in-process (with the same JSON round trip as the grader)."""
    from autograder.checks.base import evaluate, load_checks

    check = load_checks(assignment)[check_id]
    cases = check.make_cases()
    wire = [case_to_wire(c) for c in cases]
    raw = _probe_all(json.loads(json.dumps(wire)), namespace)
    results = {name: result_from_wire(json.loads(json.dumps(r))) for name, r in raw.items()}
    fraction, rows = evaluate(check, results, cases)
    failed = [f"  - {name}: {message}" for name, _, passed, message in rows if not passed]
    if failed:
        raise AssertionError(f"{check_id}: {len(failed)} of {len(rows)} hidden cases failed\n" + "\n".join(failed))


def case_to_wire(case) -> dict:
    """The part of a Case the kernel may see (never ``meta``)."""
    return {
        "name": case.name, "func": case.func, "probe": case.probe,
        "args": serial.encode(tuple(case.args)), "kwargs": serial.encode(dict(case.kwargs)),
    }


def result_from_wire(data, bounds: serial.Bounds = serial.Bounds()):
    """Decode one result dict emitted by :func:`run_probe` into a Result (ValueError if malformed)."""
    from autograder.checks.base import Result

    if not isinstance(data, dict):
        raise ValueError(f"result must be a dict, got {type(data).__name__}")
    error = data.get("error")
    if error is not None:
        if not isinstance(error, str):
            raise ValueError("result error must be a string")
        etype = data.get("error_type")
        return Result(error=error[:2000], error_type=etype[:100] if isinstance(etype, str) else None)
    after = serial.decode(data.get("args_after", {"__tuple__": []}), bounds)
    grads = serial.decode(data.get("grads", {"__tuple__": []}), bounds)
    return Result(
        value=serial.decode(data.get("value"), bounds),
        args_after=tuple(after) if isinstance(after, (tuple, list)) else (),
        grads=tuple(grads) if isinstance(grads, (tuple, list)) else (),
    )
