"""Assignment 3's experiment says what its mark scheme says, for every seed it runs.

The mark scheme of question 2 (cell "answer_conclusion") states: every teacher-forced
network labels every free-running test sequence right; every free-running network
stays between 0.33 and 0.36 (chance is 1/3) and gets no sequence right; the
teacher-forced loss falls near zero while the free-running loss stays near log 3. The
experiment cell is run here on the reference solution (its own SEEDS), so a change of
the notebook, rnnlab or numpy that breaks one of these sentences fails this test
instead of a student's grade.
"""

import json

import numpy as np
import pytest

import harness

NAME = "a3_elman_jordan_birnn"


def _cell(grade_id):
    nb = json.loads(harness.source_notebook(NAME).read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return "".join(cell["source"])
    raise AssertionError(f"the notebook has no cell with grade id {grade_id!r}")


@pytest.mark.slow
def test_the_experiment_shows_what_the_mark_scheme_says():
    import matplotlib

    matplotlib.use("Agg")
    import torch

    torch.set_num_threads(1)
    # the solution without the experiment (SKIP_CELLS), then the experiment
    namespace = harness.build_namespace(NAME)
    exec(compile(_cell("experiment"), f"<{NAME}:experiment>", "exec"), namespace)
    results, curves = namespace["results"], namespace["curves"]
    seeds = namespace["SEEDS"]
    assert len(seeds) >= 5 and all(len(results[m]) == len(seeds) for m in results)
    # (seeds, 2): label accuracy, sequence accuracy
    teacher = np.array(results["teacher forcing"])
    free = np.array(results["free running"])
    assert np.all(teacher == 1.0), teacher
    # the gap is many times the seed-to-seed spread of either group
    spread = max(teacher[:, 0].std(), free[:, 0].std())
    assert teacher[:, 0].mean() - free[:, 0].mean() > 10 * spread
    final = {mode: np.array([losses[-1] for losses in curves[mode]]) for mode in curves}
    assert np.all(final["teacher forcing"] < 0.05), final
    assert np.all(np.abs(final["free running"] - np.log(3)) < 0.05), final
    assert "between 0.33 and 0.36" in _cell("answer_conclusion")
    assert np.all((free[:, 0] >= 0.33) & (free[:, 0] <= 0.36)), free
    assert np.all(free[:, 1] == 0.0), free
