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

import pytest

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


# -- the reference solution clears every threshold with a margin ---------------------

MARGIN = 0.05  # the reference beats each hidden threshold by this much on every set
TRAINING_SEEDS = (0, 1, 2)  # the notebook trains with seed 0; two more: no accident
CLUE_AFTER = ("Oslo is where i leave from".split(),
              "Paris is where i leave from".split())
CLUE_AFTER_GOLD = (["B-depart", "O", "O", "O", "O", "O"],) * 2


def _solution(seed):
    """The solution's namespace, its tagger trained from ``seed`` (0: as built)."""
    import torch

    torch.set_num_threads(1)
    # a fresh namespace: the functions it defines read their globals from it
    namespace = harness.build_namespace(NAME)
    if seed != 0:
        train, sentences = namespace["train_tagger"], namespace["train_sents"]
        namespace["tagger"], _ = train(sentences, seed=seed)
    return namespace


@pytest.mark.slow
@pytest.mark.parametrize("seed", TRAINING_SEEDS)
def test_the_reference_tagger_clears_every_hidden_threshold_with_a_margin(seed):
    """Every held-out set (all cities unknown, two-word unknown cities, long and short
    requests batched together) is scored by the reference solution's predict_tags,
    trained from ``seed``: F1 above 0.95 (the notebook says so) and at least MARGIN
    above each threshold. The two clue-after requests of question 2 are tagged wrongly,
    as its mark scheme states."""
    from rnnlab.metrics import entity_f1

    predict = _solution(seed)["predict_tags"]
    cases = CHECKS["predict_tags"].make_cases()
    graded = [c for c in cases if c.meta["threshold"] is not None]
    assert any("two-word" in c.name for c in graded), "no two-word unknown cities"
    short = []
    for case in graded:
        f1 = entity_f1(case.meta["gold"], predict(case.args[0]))["f1"]
        if f1 < max(case.meta["threshold"] + MARGIN, 0.95):
            short.append(f"{case.name}: F1 {f1:.3f}")
    assert not short, (f"training seed {seed}: the reference is below 0.95 or within "
                       f"{MARGIN} of a threshold:\n" + "\n".join(short))
    tags = predict([list(t) for t in CLUE_AFTER])
    assert all(got != gold for got, gold in zip(tags, CLUE_AFTER_GOLD)), tags
    if seed == 0:  # the tags the mark scheme quotes
        assert tags[0] == ["I-depart", "O", "B-dest", "O", "O", "O"], tags[0]


@pytest.mark.slow
def test_without_city_dropout_unknown_cities_depend_on_the_seed():
    """What the notebook says of a tagger trained without city dropout: some seeds fail
    the set whose every city is unknown (the <unk> vector keeps its random start)."""
    from rnnlab.metrics import entity_f1

    namespace = _solution(0)
    cases = CHECKS["predict_tags"].make_cases()
    (unknown,) = [c for c in cases if "every city is unknown" in c.name]
    f1 = {}
    for seed in (0, 3):
        namespace["tagger"], _ = namespace["train_tagger"](
            namespace["train_sents"], seed=seed, city_dropout=0.0)
        tags = namespace["predict_tags"](unknown.args[0])
        f1[seed] = entity_f1(unknown.meta["gold"], tags)["f1"]
    assert max(f1.values()) >= unknown.meta["threshold"] > min(f1.values()), f1
