"""Tests of the hidden checks: the solution and every alternative get full marks, every
mutant loses points, every check is killed by at least one mutant.

Parametrised over the assignments that exist (harness.assignments()); an assignment author
only adds ``tests/assignments/mutants_<name>.py`` with MUTANTS and ALTERNATIVES. Scoring every
variant takes a few seconds per assignment, so only the solution test is in the fast suite.
"""

import pytest
import torch

import harness

torch.set_num_threads(1)

ASSIGNMENTS = harness.assignments()


def _params(kind):
    return [pytest.param(name, v, id=f"{name}-{v.name}")
            for name in ASSIGNMENTS for v in getattr(harness.load_variants(name), kind)]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_gets_full_marks(name):
    scores = harness.score_variant(name, cache=True)
    harness.record(name, "solution", "solution", scores)
    assert all(s.fraction == 1 for s in scores.values()), harness.describe(scores)


@pytest.mark.slow
@pytest.mark.parametrize("name, variant", _params("ALTERNATIVES"))
def test_alternative_gets_full_marks(name, variant):
    scores = harness.score_variant(name, variant, cache=True)
    harness.record(name, "alternative", variant.name, scores)
    assert all(s.fraction == 1 for s in scores.values()), harness.describe(scores)


@pytest.mark.slow
@pytest.mark.parametrize("name, variant", _params("MUTANTS"))
def test_mutant_is_killed(name, variant):
    scores = harness.score_variant(name, variant, cache=True)
    harness.record(name, "mutant", variant.name, scores)
    lost = {c for c, s in scores.items() if s.fraction < 1}
    assert lost, f"mutant {variant.name!r} keeps full marks on every check"
    missing = set(variant.kills) - lost
    assert not missing, f"mutant {variant.name!r} should lose points on {sorted(missing)}; lost on {sorted(lost)}"


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_check_is_killed_by_some_mutant(name):
    from autograder.checks.base import load_checks

    module = harness.load_variants(name)
    killed = set()
    for variant in module.MUTANTS:
        done = harness.RESULTS.get(name, {}).get("mutant", {}).get(variant.name)
        if done is None:  # run on its own (e.g. -k): score the mutant here
            done = {c: s.fraction for c, s in harness.score_variant(name, variant, cache=True).items()}
        killed |= {c for c, f in done.items() if f < 1}
    unkilled = sorted(set(load_checks(name)) - killed)
    assert not unkilled, f"{name}: no mutant loses points on {unkilled}"
