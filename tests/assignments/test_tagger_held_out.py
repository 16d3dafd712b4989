"""The tagger of assignment 5 is graded on sentences it was never trained on.

``rnnlab.data.slot_filling`` repeats sentences across seeds, so the hidden held-out sets leave
out every sentence of the notebook's training and validation data
(``NOTEBOOK_SENTENCES`` in the checks module). These tests keep that list in step with the
notebook and show that a model that memorised its training data earns no F1 credit. They need
no training (the memoriser is built from the data), so they are in the fast suite.
"""

import inspect
import json
import re

from autograder.checks.a5_embeddings_tagger import CHECKS, NOTEBOOK_SENTENCES, notebook_sentences
from autograder.checks.base import Result, evaluate

import harness

NAME = "a5_embeddings_tagger"


def _data_cell() -> str:
    nb = json.loads(harness.source_notebook(NAME).read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "tagger_data":
            return "".join(cell["source"])
    raise AssertionError("the notebook has no cell with grade id 'tagger_data'")


def test_the_notebook_sentences_are_the_ones_the_checks_leave_out():
    from rnnlab.data import slot_filling

    default_rate = inspect.signature(slot_filling).parameters["unknown_rate"].default
    calls = re.findall(r"slot_filling\((\d+), seed=(\d+)(?:, unknown_rate=([\d.]+))?\)", _data_cell())
    in_notebook = {(int(n), int(seed), float(rate) if rate else default_rate) for n, seed, rate in calls}
    assert in_notebook == set(NOTEBOOK_SENTENCES)


def test_no_held_out_sentence_is_one_the_student_was_given():
    seen = notebook_sentences()
    cases = CHECKS["predict_tags"].make_cases()
    shared = [(c.name, s) for c in cases for s in c.args[0] if tuple(s) in seen]
    # the one-word "tomorrow" case is a format check (no F1 threshold), not a held-out set
    assert [(name, s) for name, s in shared if "one-word" not in name] == []


def test_a_tagger_that_memorised_its_sentences_earns_no_f1_credit():
    from rnnlab.data import slot_filling

    memory = {tuple(s.tokens): list(s.tags) for n, seed, rate in NOTEBOOK_SENTENCES
              for s in slot_filling(n, seed=seed, unknown_rate=rate)}
    check = CHECKS["predict_tags"]
    cases = check.make_cases()
    results = {c.name: Result(value=[memory.get(tuple(t), ["O"] * len(t)) for t in c.args[0]],
                              args_after=c.args) for c in cases}
    _, rows = evaluate(check, results, cases)
    graded = {c.name for c in cases if c.meta["threshold"] is not None}
    assert graded and not any(passed for name, _, passed, _ in rows if name in graded)
