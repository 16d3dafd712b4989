"""The hidden checks of assignment 5: their references agree with rnnlab and with centred
differences, the known-mistake hints really differ from the answer, the tagger's held-out sets
and F1 steps behave as the notebook states, and no message prints an expected value."""

import numpy as np
import pytest

from autograder.checks import a5_embeddings_tagger as A5
from autograder.checks._common import centred_difference, rel_error
from autograder.checks.base import Result, evaluate


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    torch.set_num_threads(1)


def cases(check_id):
    return A5.CHECKS[check_id].make_cases()


def test_embedding_references_match_rnnlab():
    from rnnlab.encoding import embedding_backward, embedding_forward

    for case in cases("embedding_forward"):
        if not case.meta.get("expects_error"):
            out, _ = embedding_forward(*case.args)
            assert A5._forward_verdict(case, Result(value=out, args_after=case.args)).passed, case.name
    for case in cases("embedding_backward"):
        dout, indices, V = case.args
        _, cache = embedding_forward(indices, np.zeros((V, dout.shape[-1])))
        assert np.array_equal(A5._backward_reference(dout, indices, V), embedding_backward(dout, cache)), case.name


def test_embedding_error_cases_hold_an_index_outside_the_table():
    for case in cases("embedding_forward"):
        indices, W_emb = case.args
        outside = bool(np.any((indices < 0) | (indices >= W_emb.shape[0])))
        assert outside == bool(case.meta.get("expects_error")), case.name


def test_backward_cases_repeat_words_and_the_overwrite_hint_differs():
    repeated = 0
    for case in cases("embedding_backward"):
        dout, indices, V = case.args
        want = A5._backward_reference(dout, indices, V)
        if len(np.unique(indices)) < indices.size:
            repeated += 1
            (alt,) = A5._backward_variants(dout, indices, V).values()
            assert not np.allclose(alt, want), case.name
    assert repeated >= 6


def test_skipgram_reference_matches_a_band_of_the_distance_matrix():
    for case in cases("skipgram_pairs"):
        ids, window = case.args
        if case.meta.get("expects_error"):
            continue
        pos = np.arange(len(ids))
        dist = np.abs(pos[:, None] - pos[None, :])
        i, j = np.nonzero((dist >= 1) & (dist <= window))
        centers, contexts = A5._pairs(ids, A5._pair_positions(len(ids), window))
        assert np.array_equal(centers, ids[i]) and np.array_equal(contexts, ids[j]), case.name
        assert centers.dtype == np.int64, case.name


def test_skipgram_hints_name_the_mistake_not_the_answer():
    ids = np.array([5, 6, 7, 8, 9])
    case = A5.Case("t", "skipgram_pairs", (ids, 2))
    want = A5._pairs(ids, A5._pair_positions(5, 2))
    for cause, alt in A5._skipgram_variants(ids, 2).items():
        assert any(a.shape != w.shape or not np.array_equal(a, w) for a, w in zip(alt, want)), cause
        verdict = A5._skipgram_verdict(case, Result(value=alt, args_after=case.args))
        assert not verdict.passed and f"likely cause: {cause}" in verdict.message
    assert A5._skipgram_verdict(case, Result(value=want, args_after=case.args)).passed


def _np_loss(c, o, n):
    """The negative-sampling loss in numpy, for centred differences."""
    log_sig = lambda z: -np.logaddexp(0.0, -z)
    return float(np.mean(-log_sig(np.sum(o * c, -1)) - log_sig(-np.einsum("bke,be->bk", n, c)).sum(-1)))


def test_neg_sampling_reference_matches_numpy_and_centred_differences():
    for case in cases("neg_sampling_loss"):
        c, o, n = case.args
        value, grads = A5._loss_reference(c, o, n)
        assert abs(value - _np_loss(c, o, n)) <= 1e-12 * max(1.0, abs(value)), case.name
        numeric = (centred_difference(lambda x: _np_loss(x, o, n), c),
                   centred_difference(lambda x: _np_loss(c, x, n), o),
                   centred_difference(lambda x: _np_loss(c, o, x), n))
        for g, num in zip(grads, numeric):
            assert rel_error(g, num) < 1e-6, case.name


def test_neg_sampling_zero_centre_case_has_the_closed_form():
    case = next(c for c in cases("neg_sampling_loss") if c.name.startswith("zero centre"))
    c, o, n = case.args
    value, (dc, do, dn) = A5._loss_reference(c, o, n)
    B, K, _ = n.shape
    assert np.isclose(value, (1 + K) * np.log(2), rtol=1e-14)
    assert np.allclose(dc, (-0.5 * o + 0.5 * n.sum(1)) / B, rtol=1e-13)
    assert np.all(do == 0) and np.all(dn == 0)   # the gradients on u are proportional to v_c = 0


def test_masked_cross_entropy_reference_matches_rnnlab():
    from rnnlab.losses import softmax_cross_entropy

    for case in cases("masked_cross_entropy"):
        scores, targets, mask = case.args
        loss, dscores = A5._ce_reference(scores, targets, mask)
        want, dlogits = softmax_cross_entropy(scores, targets, mask)
        assert np.isclose(loss, want, rtol=1e-12), case.name
        assert np.allclose(dscores, dlogits, rtol=1e-10, atol=1e-14), case.name
        assert np.all(dscores[mask == 0] == 0), case.name


def test_numeric_messages_never_print_the_expected_value():
    for check_id, wrong in (("neg_sampling_loss", lambda v: v * 1.5), ("masked_cross_entropy", lambda v: v + 0.25)):
        for case in cases(check_id):
            reference = A5._loss_reference if check_id == "neg_sampling_loss" else A5._ce_reference
            value = reference(*case.args)[0]
            verdict = A5.CHECKS[check_id].verdict(case, Result(value=np.array(wrong(value)), grads=()))
            assert not verdict.passed and repr(value) not in verdict.message and f"{value:.6g}" not in verdict.message


def test_tagger_cases_use_unseen_seeds_and_step_between_the_thresholds():
    from rnnlab.data import slot_filling

    tagger = cases("predict_tags")
    assert [c.meta["threshold"] for c in tagger[:A5.F1_STEPS]] == pytest.approx(A5.f1_thresholds())
    assert A5.f1_thresholds()[-1] == A5.F1_FULL and A5.f1_thresholds()[0] > A5.F1_ZERO
    notebook = {tuple(s.tokens) for seed in (0, 1) for s in slot_filling(300, seed=seed)}
    for case in tagger:
        (tokens,) = case.args
        assert [len(t) for t in tokens] == [len(g) for g in case.meta["gold"]], case.name
        if case.meta["threshold"] is not None and len(tokens) > 50:
            assert sum(tuple(t) in notebook for t in tokens) < len(tokens), case.name
    assert tagger == cases("predict_tags")   # the same held-out sentences every time


def test_tagger_credit_steps_with_the_f1():
    from rnnlab.metrics import entity_f1

    tagger = cases("predict_tags")
    rng = np.random.default_rng(0)

    def score(drop):
        """Fraction of the check earned by the true tags with a share `drop` of sentences tagged all O."""
        results, f1 = {}, []
        for case in tagger:
            gold = case.meta["gold"]
            pred = [["O"] * len(g) if rng.random() < drop else list(g) for g in gold]
            results[case.name] = Result(value=pred, args_after=case.args)
            if case.meta["threshold"] is not None:
                f1.append(entity_f1(gold, pred)["f1"])
        return evaluate(A5.CHECKS["predict_tags"], results, tagger)[0], f1

    full, f1 = score(0.0)
    assert full == 1 and min(f1) == 1
    half, f1 = score(0.45)
    assert 0 < half < 1
    none, _ = score(1.0)
    format_only = sum(c.weight for c in tagger if c.meta["threshold"] is None)
    assert none == pytest.approx(format_only / sum(c.weight for c in tagger))   # only the format cases pass
    wrong_order = {case.name: Result(value=[[{"O": "B-depart"}.get(t, t) for t in g] for g in case.meta["gold"]],
                                     args_after=case.args) for case in tagger}
    messages = [m for _, _, passed, m in evaluate(A5.CHECKS["predict_tags"], wrong_order, tagger)[1] if not passed]
    assert messages and all("entity F1" in m for m in messages)


def _encoded_by_hand(lists, vocab, pad):
    """A padded (T, N) index array built position by position (a second oracle)."""
    T = max(len(x) for x in lists)
    out = np.full((T, len(lists)), pad, dtype=np.int64)
    for n, items in enumerate(lists):
        for t, item in enumerate(items):
            out[t, n] = vocab.stoi.get(item, 0)
    return out


def test_encode_cases_hold_unknown_cities_and_accept_a_hand_encoding():
    from rnnlab.data import UNKNOWN_CITIES

    words, tags = A5._vocabs()
    assert words.itos[:2] == ["<unk>", "<pad>"]
    unknown_words = {w for city in UNKNOWN_CITIES for w in city.split()}
    word_cases = [c for c in cases("encode_batch") if c.func == "encode_words"]
    assert any(w in unknown_words for c in word_cases for s in c.args[0] for w in s)
    pairs = ({"Kuala", "Lumpur"}, {"Tel", "Aviv"}, {"Buenos", "Aires"})
    assert any(pair <= set(s) for c in word_cases for s in c.args[0] for pair in pairs)
    for case in cases("encode_batch"):
        (lists,) = case.args
        lengths = np.array([len(x) for x in lists])
        if case.func == "encode_words":
            value = (_encoded_by_hand(lists, words, words.stoi["<pad>"]), lengths)
        else:
            T = lengths.max()
            mask = (np.arange(T)[:, None] < lengths[None, :]).astype(np.float32)
            value = (_encoded_by_hand(lists, tags, 0), mask)
        result = Result(value=value, args_after=case.args)
        assert A5._encode_verdict(case, result).passed, case.name


def test_encode_verdict_rejects_padding_with_unk_and_integer_masks():
    words, tags = A5._vocabs()
    for case in cases("encode_batch"):
        (lists,) = case.args
        lengths = np.array([len(x) for x in lists])
        if case.func == "encode_words":
            if lengths.min() == lengths.max():
                continue
            value = (_encoded_by_hand(lists, words, 0), lengths)
            message = "padding position"
        else:
            T = lengths.max()
            mask = (np.arange(T)[:, None] < lengths[None, :]).astype(np.int64)
            value = (_encoded_by_hand(lists, tags, 0), mask)
            message = "dtype int64"
        got = A5._encode_verdict(case, Result(value=value, args_after=case.args))
        assert not got.passed and message in got.message, (case.name, got.message)
