"""Tests of the harness itself, on the fixture assignment (two tiny functions)."""

import pytest

import harness

FIXTURE = harness.REPO / "tests" / "autograder" / "fixtures" / "course" / "solutions" / "fixture" / "fixture.ipynb"


@pytest.fixture(autouse=True)
def fixture_notebook(monkeypatch):
    monkeypatch.setattr(harness, "source_notebook", lambda name: FIXTURE)
    monkeypatch.setattr(harness, "RESULTS", {})
    monkeypatch.setattr(harness, "CASE_FAILS", {})
    harness.solution_cells.cache_clear()
    yield
    harness.solution_cells.cache_clear()


def test_solution_code_leaves_out_test_cells():
    labels = [label for label, _ in harness.solution_cells("fixture")]
    assert labels == ["imports", "add", "scale"]


def test_solution_scores_full_marks():
    scores = harness.score_variant("fixture")
    assert {c: s.fraction for c, s in scores.items()} == {"add": 1.0, "scale": 1.0}


def test_text_mutant_loses_points_only_where_it_should():
    scores = harness.score_variant("fixture", harness.Mutant("minus", replace=(("return a + b", "return a - b"),)))
    assert scores["add"].fraction == 0 and scores["scale"].fraction == 1
    assert "returned a - b instead of a + b" in scores["add"].failed()[0][1]


def test_patch_mutant_modifying_an_input_in_place_is_killed():
    def in_place(ns):
        def scale(x, c):
            x *= c
            return x
        return scale

    scores = harness.score_variant("fixture", harness.Mutant("in place", patch={"scale": in_place}))
    assert scores["scale"].fraction == 0
    assert all("in place" in msg for _, msg in scores["scale"].failed())


def test_alternative_with_equivalent_formula_gets_full_marks():
    scores = harness.score_variant("fixture", harness.Alternative("swap", replace=(("return a + b", "return b + a"),)))
    assert all(s.fraction == 1 for s in scores.values())


def test_replacement_that_does_not_match_fails_loudly():
    with pytest.raises(AssertionError, match="occurs 0 times"):
        harness.build_namespace("fixture", harness.Mutant("stale", replace=(("return a * b", "x"),)))


def test_variant_must_change_something():
    with pytest.raises(ValueError, match="changes nothing"):
        harness.Mutant("nothing")


def test_table_counts_killed_mutants_and_checks():
    harness.record("fixture", "solution", "solution", harness.score_variant("fixture"))
    harness.record("fixture", "mutant", "minus",
                   harness.score_variant("fixture", harness.Mutant("minus", replace=(("return a + b", "return a - b"),))))
    harness.record("fixture", "mutant", "noop",
                   harness.score_variant("fixture", harness.Mutant("noop", replace=(("return a + b", "return (a + b)"),))))
    text = "\n".join(harness.mutation_table())
    assert "1/2" in text and "surviving mutants: noop" in text and "checks no mutant kills: scale" in text


def test_cached_cell_runs_once_per_text_of_the_cells_it_may_depend_on(tmp_path, monkeypatch):
    # "scale" is declared independent of "add": changing add reuses it, changing scale or imports does not.
    (tmp_path / "mutants_fixture.py").write_text(
        "MUTANTS = []\nALTERNATIVES = []\nCACHED_CELLS = {'scale': ('add',)}\n")
    monkeypatch.setattr(harness, "HERE", tmp_path)
    monkeypatch.setattr(harness, "_CELL_CACHE", {})
    harness.load_variants.cache_clear()
    try:
        first = harness.build_namespace("fixture")["scale"]
        assert harness.build_namespace("fixture")["scale"] is first
        minus = harness.Mutant("minus", replace=(("return a + b", "return a - b"),))
        ns = harness.build_namespace("fixture", minus)
        assert ns["scale"] is first and ns["add"](1, 2) == -1
        rewritten = harness.Alternative("x * c", replace=(("return c * x", "return x * c"),))
        assert harness.build_namespace("fixture", rewritten)["scale"] is not first
        imports = harness.Alternative("alias", replace=(("import numpy as np", "import numpy as np  # alias"),))
        assert harness.build_namespace("fixture", imports)["scale"] is not first
        assert harness.score_variant("fixture", minus)["scale"].fraction == 1
    finally:
        harness.load_variants.cache_clear()


def test_per_check_table_counts_the_mutants_each_check_kills_alone(tmp_path):
    minus = harness.Mutant("minus", replace=(("return a + b", "return a - b"),))
    harness.record("fixture", "mutant", "minus", harness.score_variant("fixture", minus))
    harness.record("fixture", "alternative", "swap",
                   harness.score_variant("fixture", harness.Alternative("swap", replace=(("return a + b", "return b + a"),))))
    rows = {line.split("|")[2].strip(): line.split("|")[4].strip()  # the per-check rows, not the totals row
            for line in harness.per_check_table() if line.startswith("| fixture | ") and not line.split("|")[2].strip().isdigit()}
    assert rows == {"add": "1/1", "scale": "0/1"}
    assert "| fixture | 1 | 1 | 1/1 |" in harness.per_check_table()
    path = harness.write_summary(tmp_path / "summary.md")
    assert "| fixture | add |" in path.read_text() and "scale / vector times 2.5" in path.read_text()
