"""Tests of the tests: run an assignment's hidden checks on its solution and on variants of it.

Shared by every assignment (``a1_rnn_cell`` ... ``a6_gru_attention``). For an assignment
``NAME`` there are three files:

    solutions/NAME/NAME.ipynb             the nbgrader source notebook (the solution)
    autograder/checks/NAME.py             CHECKS (hidden checks) and FORBIDDEN
    tests/assignments/mutants_NAME.py     MUTANTS and ALTERNATIVES (lists of Variant)

The harness extracts the notebook's code without its test cells (every code cell that is not
an autograded test cell, in order: setup cells, solution cells, read-only helpers), applies a
variant to that code, executes it into a fresh namespace and evaluates every check of
``CHECKS`` in-process, through the same JSON round trip as ``autograder.runtime`` (so a
result that would not survive the wire does not pass here either). A mutant is *killed* when
at least one check scores below full marks; an alternative must score full marks everywhere.

A mutants module may also set ``SKIP_CELLS`` (grade ids of code cells to leave out, e.g. a
long training run or a plot that no check needs), and ``CACHED_CELLS``, ``{grade id: (grade
ids of earlier cells it does not depend on, ...)}``, for an expensive cell that checks do need
(training a model): it runs once per process for each distinct text of itself and of the
earlier cells it may depend on, and later builds reuse the names it bound (the same objects, so
a patch that changes a cached model must copy it first). A variant that changes the cell or
one of those earlier cells runs it again; functions the cell defines keep the globals of the
build that ran it, so a cached cell should compute values, not define what later code calls.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

# Filled by test_mutation.py, printed by conftest.pytest_terminal_summary:
# RESULTS[assignment][kind][variant name] = {check_id: fraction}; kind in solution/mutant/alternative.
RESULTS: dict = {}

_MAGIC = re.compile(r"^\s*[%!].*$", re.M)

# (assignment, cell label, sources the cell depends on) -> names the cell bound (CACHED_CELLS)
_CELL_CACHE: dict = {}


@dataclass(frozen=True)
class Variant:
    """A changed solution: a plausible bug (a mutant) or an equivalent rewrite (an alternative).

    name : short id, unique within its list ("sigmoid for tanh").
    replace : ((old, new), ...) exact text replacements in the solution code; ``old`` must occur
        exactly once in the code (or exactly ``n`` times, all replaced, with ``(old, new, n)``),
        so a mutant whose target text has changed fails loudly instead of testing nothing.
    patch : {name: factory}, applied after the code has run: ``namespace[name] =
        factory(namespace)`` (wrap or replace a function, e.g. to modify an input in place).
    kills : check ids this mutant is expected to lose points on (checked when given).
    """

    name: str
    replace: tuple = ()
    patch: dict = field(default_factory=dict)
    kills: tuple = ()

    def __post_init__(self):
        if not self.replace and not self.patch:
            raise ValueError(f"variant {self.name!r} changes nothing: give replace or patch")
        for item in self.replace:
            if not (isinstance(item, tuple) and len(item) in (2, 3)):
                raise ValueError(f"variant {self.name!r}: replace items are (old, new) or (old, new, n), got {item!r}")


Mutant = Alternative = Variant


@dataclass
class CheckScore:
    """One check's outcome: the fraction of its weight passed and the per-case rows.

    results : {case name: Result}, what the probes observed (the student's side of a message).
    cases : the check's cases, in order.
    """

    fraction: float
    rows: list  # [(case name, weight, passed, message), ...]
    results: dict = field(default_factory=dict)
    cases: tuple = ()

    def failed(self) -> list:
        return [(name, msg) for name, _, passed, msg in self.rows if not passed]


# -- discovery ----------------------------------------------------------------------------

def source_notebook(name: str) -> Path:
    return REPO / "solutions" / name / f"{name}.ipynb"


def assignments() -> list:
    """Assignments that have a source notebook, a checks module and a mutants module."""
    names = []
    for path in sorted(HERE.glob("mutants_*.py")):
        name = path.stem[len("mutants_"):]
        if source_notebook(name).is_file() and (REPO / "autograder" / "checks" / f"{name}.py").is_file():
            names.append(name)
    return names


@functools.lru_cache(maxsize=None)
def load_variants(name: str):
    """The mutants module of ``name`` (MUTANTS, ALTERNATIVES, optional SKIP_CELLS)."""
    path = HERE / f"mutants_{name}.py"
    spec = importlib.util.spec_from_file_location(f"mutants_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for attr in ("MUTANTS", "ALTERNATIVES"):
        variants = getattr(module, attr, None)
        if not isinstance(variants, (list, tuple)) or not all(isinstance(v, Variant) for v in variants):
            raise ValueError(f"{path.name}: {attr} must be a list of harness.Variant")
        names = [v.name for v in variants]
        if len(set(names)) != len(names):
            raise ValueError(f"{path.name}: {attr} has duplicate names {names}")
    return module


# -- the solution's code -------------------------------------------------------------------

def _is_test_cell(meta: dict) -> bool:
    return bool(meta.get("grade")) and not meta.get("solution")


@functools.lru_cache(maxsize=None)
def solution_cells(name: str, skip: tuple = ()) -> tuple:
    """``((label, source), ...)``: the notebook's code cells minus test cells and ``skip`` ids."""
    # Plain JSON: importing nbformat costs seconds, and nbformat 4 notebooks need nothing more.
    nb = json.loads(source_notebook(name).read_text(encoding="utf-8"))
    cells = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if _is_test_cell(meta) or (grade_id and grade_id in skip):
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        cells.append((grade_id or f"cell{index}", _MAGIC.sub("pass", source)))
    return tuple(cells)


def apply_replacements(cells, replace) -> list:
    """Apply a variant's exact text replacements to ``[(label, source), ...]``."""
    cells = list(cells)
    for item in replace:
        old, new, n = (*item, 1) if len(item) == 2 else item
        found = sum(src.count(old) for _, src in cells)
        if found != n:
            raise AssertionError(f"replacement target occurs {found} times in the solution code, expected {n}: {old!r}")
        cells = [(label, src.replace(old, new)) for label, src in cells]
    return cells


def build_namespace(name: str, variant: Variant | None = None) -> dict:
    """Execute the solution code (changed by ``variant``) into a fresh namespace."""
    settings = load_variants(name) if (HERE / f"mutants_{name}.py").exists() else None
    skip = tuple(getattr(settings, "SKIP_CELLS", ()))
    cached = dict(getattr(settings, "CACHED_CELLS", {}))
    cells = solution_cells(name, skip)
    if variant is not None:
        cells = apply_replacements(cells, variant.replace)
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    for k, (label, source) in enumerate(cells):
        if label not in cached:
            exec(compile(source, f"<{name}:{label}>", "exec"), namespace)
            continue
        # The cell's result depends on its own code and on every earlier cell not declared independent.
        key = (name, label) + tuple(src for lab, src in cells[:k + 1] if lab not in cached[label])
        if key not in _CELL_CACHE:
            before = dict(namespace)
            exec(compile(source, f"<{name}:{label}>", "exec"), namespace)
            _CELL_CACHE[key] = {n: v for n, v in namespace.items() if n not in before or before[n] is not v}
        namespace.update(_CELL_CACHE[key])
    _close_figures()
    if variant is not None:
        for target, factory in variant.patch.items():
            namespace[target] = factory(namespace)
    return namespace


def _close_figures():
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


# -- scoring -------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _cases(name: str, check_id: str) -> tuple:
    from autograder.checks.base import load_checks

    return tuple(load_checks(name)[check_id].make_cases())


def score_check(name: str, check_id: str, namespace: dict) -> CheckScore:
    """Evaluate one check on ``namespace`` as the grader would (probes, JSON, verdicts)."""
    from autograder import runtime
    from autograder.checks.base import evaluate, load_checks

    check = load_checks(name)[check_id]
    cases = list(_cases(name, check_id))
    results = {}
    for case in cases:
        wire = json.loads(json.dumps(runtime.case_to_wire(case)))
        raw = runtime._probe_all([wire], namespace)[case.name]
        results[case.name] = runtime.result_from_wire(json.loads(json.dumps(raw)))
    fraction, rows = evaluate(check, results, cases)
    return CheckScore(fraction, rows, results, tuple(cases))


def score_all(name: str, namespace: dict) -> dict:
    """``{check_id: CheckScore}`` for every check of the assignment."""
    from autograder.checks.base import load_checks

    return {check_id: score_check(name, check_id, namespace) for check_id in load_checks(name)}


# (assignment, id of the variant) -> (variant, scores): test_mutation and test_hidden_messages
# score the same variants; the variant is kept so its id cannot be reused by another object.
_SCORES: dict = {}


def score_variant(name: str, variant: Variant | None = None, cache: bool = False) -> dict:
    """Build the (changed) solution and score every check; ``{check_id: CheckScore}``.

    cache : reuse the scores of this very variant object scored earlier in the process (the
        variants of a mutants module live as long as the process).
    """
    if not cache:
        return score_all(name, build_namespace(name, variant))
    key = (name, id(variant))
    if key not in _SCORES or _SCORES[key][0] is not variant:
        _SCORES[key] = (variant, score_all(name, build_namespace(name, variant)))
    return _SCORES[key][1]


# CASE_FAILS[assignment][(check_id, case name)] = number of mutants that fail that case
# (filled by record for mutants): a hidden case no mutant fails is listed in the summary.
CASE_FAILS: dict = {}


def record(name: str, kind: str, variant_name: str, scores: dict) -> None:
    RESULTS.setdefault(name, {}).setdefault(kind, {})[variant_name] = {
        check_id: s.fraction for check_id, s in scores.items()}
    if kind == "mutant":
        fails = CASE_FAILS.setdefault(name, {})
        for check_id, s in scores.items():
            for case_name, _, passed, _ in s.rows:
                fails[(check_id, case_name)] = fails.get((check_id, case_name), 0) + (not passed)


def describe(scores: dict) -> str:
    """Readable summary of the checks that lost points (for assertion messages)."""
    lines = []
    for check_id, s in scores.items():
        if s.fraction < 1:
            lines.append(f"{check_id}: {s.fraction:.2f}")
            lines += [f"    - {case}: {msg}" for case, msg in s.failed()[:3]]
    return "\n".join(lines) or "every check at full marks"


# -- the table -------------------------------------------------------------------------------

def mutation_table(results: dict | None = None) -> list:
    """Lines of the mutation-score table: per assignment, mutants killed and checks killed."""
    results = RESULTS if results is None else results
    if not results:
        return []
    head = f"{'assignment':<24} {'mutants killed':>15} {'checks killed':>14} {'alternatives ok':>16} {'solution':>9}"
    lines = [head, "-" * len(head)]
    for name in sorted(results):
        kinds = results[name]
        mutants = kinds.get("mutant", {})
        killed = [m for m, s in mutants.items() if any(f < 1 for f in s.values())]
        checks = sorted({c for s in mutants.values() for c in s} | {c for s in kinds.get("solution", {}).values() for c in s})
        checks_killed = {c for s in mutants.values() for c, f in s.items() if f < 1}
        alts = kinds.get("alternative", {})
        alts_ok = [a for a, s in alts.items() if all(f == 1 for f in s.values())]
        sol = kinds.get("solution", {}).get("solution")
        sol_txt = "-" if sol is None else ("full" if all(f == 1 for f in sol.values()) else "LOSES")
        m_txt = f"{len(killed):>7}/{len(mutants):<7}" if mutants else f"{'-':>8}{'':7}"
        c_txt = f"{len(checks_killed):>6}/{len(checks):<7}" if mutants else f"{'-':>7}{'':7}"
        a_txt = f"{len(alts_ok):>8}/{len(alts):<7}" if alts else f"{'-':>9}{'':7}"
        lines.append(f"{name:<24} {m_txt} {c_txt} {a_txt} {sol_txt:>9}")
        survivors = sorted(set(mutants) - set(killed))
        if survivors:
            lines.append(f"  surviving mutants: {', '.join(survivors)}")
        unkilled = sorted(set(checks) - checks_killed)
        if mutants and unkilled:
            lines.append(f"  checks no mutant kills: {', '.join(unkilled)}")
    return lines



def per_check_table(results: dict | None = None) -> list:
    """Markdown lines: per assignment and hidden check, the mutants that check kills on its own.

    Each check is scored alone (no visible assert is involved), so "killed by this check" means
    this check scores below full marks on the mutant, whatever the other checks do. The totals
    row counts the mutants some hidden check kills and the alternatives at full marks everywhere.
    """
    results = RESULTS if results is None else results
    if not results:
        return []
    lines = ["| assignment | check id | hidden cases | mutants killed by this check alone |",
             "|---|---|---:|---:|"]
    totals = []
    for name in sorted(results):
        kinds = results[name]
        mutants = kinds.get("mutant", {})
        alts = kinds.get("alternative", {})
        try:
            checks = list(_check_ids(name))
        except Exception:  # an assignment of a test (the fixture) without a checks module on the path
            checks = sorted({c for s in mutants.values() for c in s})
        for check_id in checks:
            n_cases = _case_count(name, check_id)
            killed = sum(1 for s in mutants.values() if s.get(check_id, 1) < 1)
            shown = f"{killed}/{len(mutants)}" if mutants else "-"
            lines.append(f"| {name} | {check_id} | {n_cases} | {shown} |")
        killed_any = sum(1 for s in mutants.values() if any(f < 1 for f in s.values()))
        alts_ok = sum(1 for s in alts.values() if all(f == 1 for f in s.values()))
        totals.append(f"| {name} | {len(mutants)} | {killed_any} | {alts_ok}/{len(alts)} |")
    return (lines + ["", "| assignment | mutants | killed by hidden checks alone | alternatives at full marks |",
                     "|---|---:|---:|---:|"] + totals)


def _check_ids(name: str):
    from autograder.checks.base import load_checks

    return load_checks(name)


def _case_count(name: str, check_id: str):
    try:
        return len(_cases(name, check_id))
    except Exception:
        return "-"


SUMMARY_FILE = REPO / ".pytest-mutation-summary.md"


def write_summary(path: Path = SUMMARY_FILE, results: dict | None = None) -> Path | None:
    """Write the mutation table and the per-check table as markdown (git-ignored at the repo root)."""
    results = RESULTS if results is None else results
    if not results:
        return None
    text = ["# Mutation scores of the hidden checks", "",
            "Written by tests/assignments/conftest.py at the end of a pytest run over tests/assignments;",
            "only the variants that run scored (a -k selection gives a partial table).", "",
            "```", *mutation_table(results), "```", "", *per_check_table(results), ""]
    if results is RESULTS:
        for name in sorted(n for n in CASE_FAILS if n in results):
            never = [f"{c} / {case}" for (c, case), n in sorted(CASE_FAILS[name].items()) if n == 0]
            text += [f"Hidden cases of {name} that no mutant fails: " + ("none" if not never else ""),
                     *[f"- {item}" for item in never], ""]
    path.write_text("\n".join(text), encoding="utf-8")
    return path
