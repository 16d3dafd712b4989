from collections import namedtuple

import numpy as np
import pytest

from rnnlab.encoding import Vocab
from rnnlab.gradcheck import grad_check
from rnnlab.tagger import (KINDS, Tagger, TaggerConfig, encode_batch, evaluate, init_tagger,
                           predict, tagger_forward, tagger_loss, token_accuracy, train_tagger)

Sent = namedtuple("Sent", "tokens tags")

FILLER = ["the", "a", "to", "we", "go", "now"]


def context_task(n, seed, clue_after=False, clue_tagged=False):
    """Sentences where the tag of the word "x" is set by a neighbouring clue word.

    "p x" tags x as "P" and "q x" as "Q" (the clue comes before x); with ``clue_after`` the
    clue follows x ("x p"). Other words are tagged "O", and so is the clue unless
    ``clue_tagged`` (then "p" is "CP" and "q" is "CQ"). A word-by-word model sees the same
    "x" either way, so it cannot beat guessing on x; a model with the right context can.
    """
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        words = list(rng.choice(FILLER, size=rng.integers(1, 5)))
        tags = ["O"] * len(words)
        clue = str(rng.choice(["p", "q"]))
        pair = ["x", clue] if clue_after else [clue, "x"]
        clue_tag = "C" + clue.upper() if clue_tagged else "O"
        x_tag = clue.upper()
        pair_tags = [x_tag, clue_tag] if clue_after else [clue_tag, x_tag]
        at = int(rng.integers(0, len(words) + 1))
        words[at:at] = pair
        tags[at:at] = pair_tags
        tail = list(rng.choice(FILLER, size=rng.integers(0, 4)))
        out.append(Sent(words + tail, tags + ["O"] * len(tail)))
    return out


def x_accuracy(model, data):
    """Accuracy on the word "x" only, the word whose tag needs context."""
    pred = predict(model, data)
    hits = [p == t for s, ps in zip(data, pred) for w, t, p in zip(s.tokens, s.tags, ps) if w == "x"]
    return float(np.mean(hits))


FAST = dict(hidden=12, epochs=8, batch_size=16, lr=0.03)


@pytest.mark.parametrize("kind", ["elman", "birnn"])
def test_recurrent_taggers_use_the_left_context_that_the_mlp_cannot(kind):
    train, test = context_task(300, seed=0), context_task(200, seed=1)
    config = TaggerConfig(seed=0, **FAST)
    mlp, _ = train_tagger("mlp", train, config)
    model, history = train_tagger(kind, train, config)
    # On "x" the two tags are equally likely, so a context-free model is at chance (0.5).
    assert x_accuracy(mlp, test) < 0.65
    assert x_accuracy(model, test) > 0.95
    assert history["loss"][-1] < history["loss"][0]


def test_jordan_remembers_only_what_its_previous_output_shows():
    # The Jordan net carries its previous *output* forward, not its hidden state: it learns
    # "x" when the clue word has a tag of its own, and stays near chance when the clue is "O".
    config = TaggerConfig(seed=0, **FAST)
    shown = train_tagger("jordan", context_task(300, seed=0, clue_tagged=True), config)[0]
    hidden = train_tagger("jordan", context_task(300, seed=0), config)[0]
    assert x_accuracy(shown, context_task(200, seed=1, clue_tagged=True)) > 0.95
    assert x_accuracy(hidden, context_task(200, seed=1)) < 0.65


def test_only_the_birnn_uses_a_clue_that_comes_after_the_word():
    train, test = context_task(300, seed=0, clue_after=True), context_task(200, seed=1, clue_after=True)
    config = TaggerConfig(seed=0, **FAST)
    elman, _ = train_tagger("elman", train, config)
    birnn, _ = train_tagger("birnn", train, config)
    assert x_accuracy(elman, test) < 0.65
    assert x_accuracy(birnn, test) > 0.95


@pytest.mark.parametrize("loss", ["softmax", "bce"])
@pytest.mark.parametrize("embed", [None, 8])
def test_mlp_learns_word_identity_tags_better_than_the_majority_tag(loss, embed):
    # Here every word has a fixed tag, which a per-word model can learn exactly.
    rng = np.random.default_rng(3)
    lexicon = {"cat": "N", "dog": "N", "runs": "V", "eats": "V", "the": "D", "big": "A"}
    words = list(lexicon)
    data = [Sent(ws, [lexicon[w] for w in ws])
            for ws in (list(rng.choice(words, size=rng.integers(2, 7))) for _ in range(200))]
    model, _ = train_tagger("mlp", data, TaggerConfig(loss=loss, embed=embed, seed=0, **FAST))
    true = [s.tags for s in data]
    counts = {t: sum(ts.count(t) for ts in true) for t in set(lexicon.values())}
    majority = max(counts.values()) / sum(counts.values())
    acc = token_accuracy(true, predict(model, data))
    assert majority < 0.5 and acc > 0.99


def test_training_is_deterministic_per_seed():
    data = context_task(80, seed=2)
    cfg = dict(hidden=6, epochs=2, batch_size=16, embed=4, word_dropout=0.1)
    a, ha = train_tagger("jordan", data, TaggerConfig(seed=5, **cfg))
    b, hb = train_tagger("jordan", data, TaggerConfig(seed=5, **cfg))
    c, hc = train_tagger("jordan", data, TaggerConfig(seed=6, **cfg))
    assert ha == hb
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    assert ha != hc
    assert any(not np.array_equal(a.params[k], c.params[k]) for k in a.params)


def _tiny_model(kind, loss, embed):
    vocab = Vocab(["a", "b", "c", "d"])
    tags = Vocab(["O", "X", "Y"], unk=None)
    config = TaggerConfig(hidden=3, embed=embed, loss=loss, seed=11)
    model = init_tagger(kind, vocab, tags, config)
    rng = np.random.default_rng(7)
    # Scale the weights up so that the check exercises the nonlinearities, not a near-linear map.
    for k in model.params:
        model.params[k] = model.params[k] * 2.0 + 0.1 * rng.normal(size=model.params[k].shape)
    return model


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("loss, embed", [("softmax", None), ("bce", 2), ("softmax", 2)])
def test_full_tagger_gradient_check_with_padding(kind, loss, embed):
    model = _tiny_model(kind, loss, embed)
    # Three sentences of lengths 4, 2 and 3: the padded batch has T=4 and padding in two columns.
    idx = np.array([[1, 2, 3], [2, 4, 1], [3, 0, 4], [4, 0, 0]])
    targets = np.array([[0, 1, 2], [1, 2, 0], [2, -1, 1], [0, -1, -1]])
    targets = np.where(targets < 0, 0, targets)
    mask = np.array([[1, 1, 1], [1, 1, 1], [1, 0, 1], [1, 0, 0]], dtype=float)

    def f(params):
        trial = Tagger(kind, model.config, model.vocab, model.tags, params)
        return tagger_loss(trial, idx, targets, mask)[0]

    loss_value, grads = tagger_loss(model, idx, targets, mask)
    assert set(grads) == set(model.params)
    result = grad_check(f, model.params, grads, eps=1e-6, tol=1e-6)
    assert result.passed, str(result)


@pytest.mark.parametrize("kind", KINDS)
def test_scores_of_a_sentence_do_not_depend_on_its_batch(kind):
    # Padding must never leak into real words, in either direction.
    model = _tiny_model(kind, "softmax", 2)
    short = [Sent(["b", "c"], ["O", "O"])]
    mixed = short + [Sent(["a", "b", "c", "d", "a"], ["O"] * 5)]
    idx1, _, m1 = encode_batch(model, short)
    idx2, _, m2 = encode_batch(model, mixed)
    z1, _ = tagger_forward(model, idx1, m1)
    z2, _ = tagger_forward(model, idx2, m2)
    np.testing.assert_allclose(z2[:2, 0], z1[:, 0], rtol=1e-12, atol=1e-12)


def test_birnn_states_without_padding_equal_rnnlab_birnn():
    from rnnlab.birnn import birnn_forward

    model = _tiny_model("birnn", "softmax", None)
    idx = np.array([[1, 2], [3, 4], [2, 2]])
    mask = np.ones((3, 2))
    _, cache = tagger_forward(model, idx, mask)
    h_tagger = np.concatenate([cache["fwd"]["h"], cache["bwd"]["h"][::-1]], axis=-1)
    pf = {k: model.params["fwd." + k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    pb = {k: model.params["bwd." + k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    x = np.eye(model.V)[idx]
    out, _ = birnn_forward(x, None, pf, pb)
    np.testing.assert_allclose(h_tagger, out, rtol=1e-12, atol=1e-12)


def test_evaluate_reports_token_accuracy_and_entity_f1():
    data = [Sent(["leave", "for", "x"], ["O", "O", "B-dest"])]
    model = _tiny_model("elman", "softmax", None)
    model.tags = Vocab(["O", "B-dest", "I-dest"], unk=None)
    scores = evaluate(model, data)
    assert set(scores) >= {"token_acc", "precision", "recall", "f1"}
    pred = predict(model, data)
    assert scores["token_acc"] == token_accuracy([s.tags for s in data], pred)
    assert len(pred[0]) == 3 and all(t in model.tags.itos for t in pred[0])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(loss="mse"), "loss must be one of"),
        (dict(hidden=0), "hidden must be an int >= 1"),
        (dict(lr=-1.0), "lr must be a number > 0"),
        (dict(word_dropout=1.0), r"word_dropout must be in \[0, 1\)"),
    ],
)
def test_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TaggerConfig(**kwargs)


def test_bad_kind_mask_and_tags_raise_clear_errors():
    data = [Sent(["a", "b"], ["O", "X"])]
    with pytest.raises(ValueError, match="kind must be one of"):
        train_tagger("gru", data, TaggerConfig(epochs=1))
    model = _tiny_model("elman", "softmax", None)
    with pytest.raises(ValueError, match="1s then 0s"):
        tagger_forward(model, np.array([[1], [2]]), np.array([[0.0], [1.0]]))
    with pytest.raises(ValueError, match=r"mask must have shape \(T, N\) = \(2, 1\)"):
        tagger_forward(model, np.array([[1], [2]]), np.ones((2, 2)))
    with pytest.raises(ValueError, match="2 tokens but 1 tags"):
        encode_batch(model, [Sent(["a", "b"], ["O"])])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tagger_forward(model, np.array([[1], [99]]), np.ones((2, 1)))
