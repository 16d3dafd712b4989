"""Tests of autograder.grading.restore: rebuilding a submission around the source notebook's cells."""

from pathlib import Path

import nbformat
import pytest

from autograder.grading.restore import hidden_check_calls, load_source, norm, release_source, restore

FIXTURES = Path(__file__).parent / "fixtures"
SOURCE = load_source(FIXTURES / "course" / "solutions" / "fixture" / "fixture.ipynb")
RELEASE = FIXTURES / "course" / "release" / "fixture" / "fixture.ipynb"


def _read(name):
    return nbformat.read(FIXTURES / "hostile" / f"{name}.ipynb", as_version=4)


def _ids(nb):
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]


def test_released_sources_match_nbgraders_release():
    release = nbformat.read(RELEASE, as_version=4)  # made by nbgrader's ClearHiddenTests
    by_id = {c.metadata.nbgrader["grade_id"]: c for c in release.cells if "nbgrader" in c.metadata}
    for cell in SOURCE.cells:
        if cell.kind in ("test", "locked"):
            assert cell.released == norm(by_id[cell.grade_id].source)
    assert [t.checks for t in SOURCE.tests] == [[("fixture", "add")], [("fixture", "scale")]]
    assert [t.points for t in SOURCE.tests] == [3.0, 2.0]


def test_release_source_rejects_unbalanced_markers():
    with pytest.raises(ValueError, match="without END"):
        release_source("### BEGIN HIDDEN TESTS\nx = 1")
    assert hidden_check_calls("hidden_check('a1', 'f', globals())\nhidden_check(name, 'g', {})") == [("a1", "f")]


def test_release_is_restored_unchanged():
    out = restore(SOURCE, nbformat.read(RELEASE, as_version=4))
    assert (out.tampered, out.matched) == ([], len(SOURCE.cells))
    assert "hidden_check" in out.nb.cells[4].source


@pytest.mark.parametrize("case, words", [
    ("deletes-test-cell", "'test_add' was deleted"),
    ("edits-test-cell", "'test_scale' was edited"),
    ("moves-test-cell", "moved out of order"),
    ("changes-cell-metadata", "points 3 -> 100"),
    ("duplicated-cells", "'test_add' was duplicated"),
])
def test_tampering_is_reported_and_the_source_order_restored(case, words):
    out = restore(SOURCE, _read(case))
    assert any(words in t for t in out.tampered), out.tampered
    graded = [g for g in _ids(out.nb) if g]
    assert graded == [c.grade_id for c in SOURCE.cells]
    for cell in out.nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in ("test_add", "test_scale"):
            assert cell.source == SOURCE.by_id()[gid].cell.source and cell.cell_type == "code"
            assert cell.metadata.nbgrader["points"] == SOURCE.by_id()[gid].points


def test_student_cells_follow_their_graded_cell_and_metadata_loss_is_tolerated():
    nb = nbformat.read(RELEASE, as_version=4)
    helper = nbformat.v4.new_code_cell("def helper():\n    return 1")
    nb.cells.insert(4, helper)  # after the solution cell 'add'
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)   # an editor that strips metadata
    out = restore(SOURCE, nb)
    assert out.tampered == [] and any("lost its nbgrader metadata" in f for f in out.flags)
    sources = [c.source for c in out.nb.cells]
    assert sources.index(helper.source) < next(i for i, c in enumerate(out.nb.cells)
                                               if c.metadata.get("nbgrader", {}).get("grade_id") == "test_add")


def test_unknown_grade_ids_run_as_ordinary_cells():
    nb = nbformat.read(RELEASE, as_version=4)
    fake = nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"grade": True, "grade_id": "bonus", "points": 99}})
    nb.cells.append(fake)
    out = restore(SOURCE, nb)
    assert any("unknown grade_id 'bonus'" in f for f in out.flags)
    assert "nbgrader" not in out.nb.cells[-1].metadata
