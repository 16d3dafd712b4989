import itertools

import numpy as np
import pytest

from rnnlab.metrics import entity_f1, entity_spans

LABELS = ("dest", "depart", "time")
TAGS = ["O"] + [f"{p}-{lab}" for lab in LABELS for p in "BI"]


def brute_spans(tags):
    """Every (label, start, end) that satisfies the conlleval chunk definition, by enumeration.

    [s, e) is a chunk of X iff it begins a chunk (B-X, or I-X not preceded by B-X/I-X), every
    later word is I-X, and the word after it (if any) is not I-X.
    """
    n = len(tags)
    found = set()
    for s, e in itertools.combinations(range(n + 1), 2):
        for lab in LABELS:
            starts = tags[s] == f"B-{lab}" or (
                tags[s] == f"I-{lab}" and (s == 0 or tags[s - 1] not in (f"B-{lab}", f"I-{lab}")))
            inside = all(t == f"I-{lab}" for t in tags[s + 1:e])
            closed = e == n or tags[e] != f"I-{lab}"
            if starts and inside and closed:
                found.add((lab, s, e))
    return found


def brute_f1(true_tags, pred_tags):
    pairs = [(brute_spans(t), brute_spans(p)) for t, p in zip(true_tags, pred_tags)]
    n_true = sum(len(t) for t, _ in pairs)
    n_pred = sum(len(p) for _, p in pairs)
    hit = sum(len(t & p) for t, p in pairs)
    prec = hit / n_pred if n_pred else 0.0
    rec = hit / n_true if n_true else 0.0
    return prec, rec, (2 * prec * rec / (prec + rec) if prec + rec else 0.0)


@pytest.mark.parametrize("tags, want", [
    (["O", "B-dest", "I-dest", "O", "B-time"], {("dest", 1, 3), ("time", 4, 5)}),
    (["I-dest", "I-dest", "O"], {("dest", 0, 2)}),                   # I- without B- starts a span
    (["B-dest", "I-depart"], {("dest", 0, 1), ("depart", 1, 2)}),    # label change splits
    (["B-dest", "B-dest"], {("dest", 0, 1), ("dest", 1, 2)}),        # B- always starts anew
    (["O", "O"], set()),
    ([], set()),
])
def test_spans_hand_worked(tags, want):
    assert entity_spans(tags) == want


def test_f1_hand_worked():
    true = [["B-dest", "I-dest", "O", "B-time"], ["B-depart"]]
    # Sentence 0: dest boundary wrong (no credit), time right; sentence 1: right, plus an extra span.
    pred = [["B-dest", "O", "O", "B-time"], ["B-depart"]]
    scores = entity_f1(true, pred)
    assert (scores["n_true"], scores["n_pred"], scores["n_correct"]) == (3, 3, 2)
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 / 3)

    scores = entity_f1([["B-dest", "O"]], [["B-dest", "B-time"]])
    assert scores["precision"] == 0.5 and scores["recall"] == 1.0
    assert scores["f1"] == pytest.approx(2 * 0.5 / 1.5)


def test_wrong_label_same_boundaries_is_not_a_match():
    assert entity_f1([["B-dest"]], [["B-depart"]])["f1"] == 0.0


def test_no_entities_anywhere_gives_zero_not_nan():
    assert entity_f1([["O"]], [["O"]]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                                           "n_true": 0, "n_pred": 0, "n_correct": 0}


def test_against_brute_force_on_random_sequences():
    rng = np.random.default_rng(0)
    true_tags, pred_tags = [], []
    for _ in range(300):
        L = int(rng.integers(1, 9))
        true = [TAGS[i] for i in rng.integers(0, len(TAGS), L)]
        # Predictions that agree often, so matches and near-misses both occur.
        pred = [t if rng.random() < 0.7 else TAGS[rng.integers(len(TAGS))] for t in true]
        assert entity_spans(true) == brute_spans(true), true
        true_tags.append(true)
        pred_tags.append(pred)
    scores = entity_f1(true_tags, pred_tags)
    want = brute_f1(true_tags, pred_tags)
    assert 0.2 < scores["f1"] < 0.95  # the sample is neither trivial nor hopeless
    assert (scores["precision"], scores["recall"], scores["f1"]) == pytest.approx(want, rel=1e-12)


def test_bad_input_raises():
    with pytest.raises(ValueError, match=r"tags\[1\] must be 'O', 'B-<label>' or 'I-<label>', got 'dest'"):
        entity_spans(["O", "dest"])
    with pytest.raises(ValueError, match=r"true_tags\[0\] has 2 tags but pred_tags\[0\] has 1"):
        entity_f1([["O", "O"]], [["O"]])
    with pytest.raises(ValueError, match="same number of sentences"):
        entity_f1([["O"]], [])
    with pytest.raises(ValueError, match="not strings"):
        entity_f1(["O"], ["O"])
