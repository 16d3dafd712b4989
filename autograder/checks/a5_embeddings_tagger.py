"""Hidden checks of assignment 5, "Embeddings and a PyTorch tagger" (solutions/a5_embeddings_tagger).

Graded functions (the notebook states their contracts):

    embedding_forward(indices, W_emb) -> out (*S, E)          ValueError for an index outside [0, V)
    embedding_backward(dout, indices, V) -> dW_emb (V, E)     repeated indices accumulate
    skipgram_pairs(token_ids, window) -> (centers (P,), contexts (P,))   int, centre positions in
                                        order, each with its context positions in order; 1 <= |j - i| <= window
    neg_sampling_loss(center_vecs (B, E), context_vecs (B, E), negative_vecs (B, K, E)) -> scalar tensor
                                        mean over the batch of -log s(u_o.v_c) - sum_k log s(-u_nk.v_c)
    masked_cross_entropy(scores (T, N, K), targets (T, N), mask (T, N)) -> scalar tensor
    encode_words(token_lists) -> (x (T, N) long, lengths (N,) long)   PAD after the end
    encode_tags(tag_lists) -> (y (T, N) long, mask (T, N) float32)
    predict_tags(sentences) -> tags     the student's trained BiLSTM tagger

References are independent of rnnlab and of the solution: PyTorch float64 (``F.embedding`` and
its autograd, a softplus form of the negative-sampling loss, a log-sum-exp cross-entropy), and
a set-and-sort construction of the skip-gram pairs. The two losses are probed with
``"torch_grad"``: the value and the gradient of every float input are compared. The tagger is
judged on held-out sentences generated here from ``rnnlab.data.slot_filling`` with seeds the
student never sees, leaving out every sentence of the notebook's training and validation data
(``NOTEBOOK_SENTENCES``: a memorised sentence earns nothing); its entity F1 (``rnnlab.metrics.entity_f1``, computed on the trusted side)
earns credit in steps between ``F1_ZERO`` and ``F1_FULL``.
"""

from __future__ import annotations

import numpy as np

from autograder.checks._common import (array_issue, memo, modified_issue, scalar_issue, unpack, verdict)
from autograder.checks.base import DEFAULT_FORBIDDEN, Case, Check, Verdict

# rnnlab's embedding pair and losses are the graded things; rnnlab.tagger trains a (numpy)
# tagger of its own; the bridge and layers would build the network for the student.
FORBIDDEN = DEFAULT_FORBIDDEN + ("rnnlab.tagger", "rnnlab.layers", "rnnlab.torch_bridge")

# Entity F1 of the tagger on a held-out set: full credit from F1_FULL, none up to F1_ZERO, and
# F1_STEPS cases with thresholds evenly spaced in between (each on its own held-out set).
F1_FULL = 0.85
F1_ZERO = 0.50
F1_STEPS = 5
HELD_OUT_SIZE = 200

# The sentences the notebook gives the student (cell "tagger_data": training and validation,
# as (n, seed, unknown_rate) of rnnlab.data.slot_filling). The generator repeats sentences, so
# a set drawn with another seed shares about 15% of its sentences with these; the held-out
# sets leave them out, or a tagger that memorised its training data would be graded on it.
NOTEBOOK_SENTENCES = ((1500, 0, 0.0), (300, 1, 0.1))


def _torch():
    import torch

    torch.set_num_threads(1)
    return torch


# -- embedding_forward -------------------------------------------------------------------------

def _forward_cases(seed):
    rng = np.random.default_rng(seed)

    def case(name, shape, V, E, weight=1.0, low=0):
        return Case(name, "embedding_forward", (rng.integers(low, V, size=shape), rng.normal(size=(V, E))),
                    weight=weight)

    return [
        case("(T, N) = (5, 3), V=6: words repeat", (5, 3), 6, 4, weight=2.0),
        case("T=1, N=1", (1, 1), 5, 3),
        case("N=1, T=7", (7, 1), 9, 2),
        case("a sentence (L,) of 9 indices", (9,), 4, 5),
        case("V=1: every index is the unknown slot", (3, 2), 1, 3),
        case("E=1", (4, 2), 7, 1),
        case("a (2, 3, 4) array of indices", (2, 3, 4), 5, 3),
        case("an empty sentence: indices of shape (0,), V=5, E=3", (0,), 5, 3, weight=0.5),
        case("an empty batch: (T, N) = (4, 0), V=6, E=2", (4, 0), 6, 2, weight=0.5),
        case("a second seed: (8, 4), V=20, E=6", (8, 4), 20, 6),
        Case("index equal to V raises ValueError", "embedding_forward",
             (np.array([[0], [5]]), rng.normal(size=(5, 2))), weight=0.5, meta={"expects_error": True}),
        Case("negative index raises ValueError", "embedding_forward",
             (np.array([2, -1, 0]), rng.normal(size=(4, 3))), weight=0.5, meta={"expects_error": True}),
    ]


def _expects_value_error(result, what, returned):
    """Verdict of a case that must raise ValueError; ``returned`` explains a returned value."""
    if result.error_type == "ValueError":
        return Verdict(True, "correct")
    if result.error is not None:
        return Verdict(False, f"{what} should raise ValueError, got {result.error}")
    return Verdict(False, f"{what} should raise ValueError, but a value was returned {returned}")


def _forward_verdict(case, result):
    if case.meta.get("expects_error"):
        return _expects_value_error(result, "an index outside [0, V)",
                                    "(numpy's negative indices silently count from the end: check the range yourself)")
    torch = _torch()
    indices, W_emb = case.args
    want = memo(case, "want", lambda: torch.nn.functional.embedding(
        torch.from_numpy(indices), torch.from_numpy(W_emb)).numpy())
    return verdict(array_issue("out", result.value, want),
                   modified_issue(case, result, ("indices", "W_emb")))


# -- embedding_backward ------------------------------------------------------------------------

def _backward_cases(seed):
    rng = np.random.default_rng(seed)

    def case(name, indices, V, E, weight=1.0):
        indices = np.asarray(indices, dtype=np.int64)
        return Case(name, "embedding_backward", (rng.normal(size=indices.shape + (E,)), indices, V), weight=weight)

    return [
        case("(T, N) = (5, 3), every word several times", rng.integers(0, 4, size=(5, 3)), 4, 3, weight=2.0),
        case("every position holds the same word", np.full((4, 2), 2), 5, 3),
        case("T=1, N=1", [[3]], 6, 4),
        case("N=1, T=8", rng.integers(0, 3, size=(8, 1)), 3, 2),
        case("the last rows of the table never occur", rng.integers(0, 3, size=(4, 3)), 8, 2),
        case("a sentence (L,)", [1, 0, 1, 1, 4], 5, 3),
        case("an empty batch: (T, N) = (3, 0), V=4: every row zero", np.zeros((3, 0)), 4, 3, weight=0.5),
        case("V=1, E=1", np.zeros((3, 2)), 1, 1),
        case("a (3, 2, 2) array of indices", rng.integers(0, 5, size=(3, 2, 2)), 5, 4),
        case("a second seed: (10, 4), V=30", rng.integers(0, 30, size=(10, 4)), 30, 5),
    ]


def _backward_reference(dout, indices, V):
    torch = _torch()
    table = torch.zeros(V, dout.shape[-1], dtype=torch.float64, requires_grad=True)
    (torch.nn.functional.embedding(torch.from_numpy(indices), table) * torch.from_numpy(dout)).sum().backward()
    return table.grad.numpy()


def _backward_variants(dout, indices, V):
    E = dout.shape[-1]
    # On a zero table, dW[indices] += dout and dW[indices] = dout both keep one occurrence per word.
    overwritten = np.zeros((V, E))
    overwritten[indices] += dout
    return {"repeated indices overwrite instead of accumulating (dW[indices] += dout keeps one occurrence "
            "of each word): use np.add.at": overwritten}


def _backward_verdict(case, result):
    dout, indices, V = case.args
    want = memo(case, "want", lambda: _backward_reference(dout, indices, V))
    got = result.value
    if isinstance(got, np.ndarray) and got.ndim == 2 and got.shape[1] == want.shape[1] and got.shape[0] < V:
        return Verdict(False, f"dW_emb has shape {got.shape}: too few rows, the table has V={V} rows, "
                       "including words that do not occur in the batch (their rows are zero)")
    return verdict(array_issue("dW_emb", got, want, hints=_backward_variants(dout, indices, V)),
                   modified_issue(case, result, ("dout", "indices", "V")))


# -- skipgram_pairs ----------------------------------------------------------------------------

def _pair_positions(L, window, lo=1, right_only=False):
    """(i, j) position pairs with lo <= |i - j| <= window, sorted by i then j."""
    pairs = {(i, i + d) for i in range(L) for d in range(-window, window + 1)
             if lo <= abs(d) and 0 <= i + d < L and (d > 0 or not right_only)}
    return sorted(pairs)


def _pairs(ids, positions):
    return (np.array([ids[i] for i, _ in positions], dtype=np.int64),
            np.array([ids[j] for _, j in positions], dtype=np.int64))


def _skipgram_cases(seed):
    rng = np.random.default_rng(seed)

    def case(name, ids, window, weight=1.0, error=False):
        return Case(name, "skipgram_pairs", (np.asarray(ids, dtype=np.int64), window), weight=weight,
                    meta={"expects_error": error})

    return [
        case("L=8, window=2, distinct words", rng.permutation(50)[:8], 2, weight=2.0),
        case("window 1", rng.integers(0, 30, size=6), 1),
        case("L=10, window 3, words repeat", rng.integers(0, 4, size=10), 3),
        case("window larger than the sentence: L=4, window=6", rng.integers(0, 20, size=4), 6),
        case("window = L - 1", rng.permutation(20)[:5], 4),
        case("a one-word sentence: no pairs", [7], 2),
        case("an empty sentence (L=0): no pairs", [], 3, weight=0.5),
        case("two words, window 1", [3, 9], 1),
        case("a second seed: L=15, window 4", rng.integers(0, 100, size=15), 4),
        case("window 0 raises ValueError", [1, 2, 3], 0, weight=0.5, error=True),
        case("a negative window raises ValueError", [1, 2, 3], -2, weight=0.5, error=True),
    ]


def _skipgram_variants(ids, window):
    L = len(ids)
    # The book's vectorised order: for each offset d, the pairs (i, i + d), then (i + d, i).
    by_offset = [pair for d in range(1, window + 1)
                 for pair in [(i, i + d) for i in range(L - d)] + [(i + d, i) for i in range(L - d)]]
    want = _pairs(ids, _pair_positions(L, window))
    return {
        "the window includes the centre word itself": _pairs(ids, _pair_positions(L, window, lo=0)),
        "the window is one word too narrow (window - 1 on each side)": _pairs(ids, _pair_positions(L, window - 1)),
        "the window is one word too wide (window + 1 on each side)": _pairs(ids, _pair_positions(L, window + 1)),
        "only the words to the right of the centre were used": _pairs(ids, _pair_positions(L, window, right_only=True)),
        "the right pairs grouped by offset: order them by centre position, then context position":
            _pairs(ids, by_offset),
        "centers and contexts are swapped": (want[1], want[0]),
    }


def _skipgram_verdict(case, result):
    ids, window = case.args
    if case.meta.get("expects_error"):
        return _expects_value_error(result, f"window={window}", "(a window must be an integer of at least 1)")
    got, problem = unpack(result.value, 2, "skipgram_pairs")
    if problem:
        return Verdict(False, problem)
    want = _pairs(ids, _pair_positions(len(ids), window))
    for name, g in zip(("centers", "contexts"), got):
        if isinstance(g, np.ndarray) and g.dtype.kind not in "iu":
            return Verdict(False, f"{name} has dtype {g.dtype}: return word indices as int64 "
                           + ("(an empty list becomes float64: use np.array([], dtype=np.int64))" if g.size == 0 else ""))
    variants = _skipgram_variants(ids, window)
    for index, name in enumerate(("centers", "contexts")):
        hints = {cause: alt[index] for cause, alt in variants.items()}
        problem = array_issue(name, got[index], want[index], hints=hints)
        if problem:
            both = [cause for cause, alt in variants.items()
                    if all(isinstance(g, np.ndarray) and g.shape == a.shape and np.array_equal(g, a) for g, a in zip(got, alt))]
            if both:  # name the cause that explains both arrays
                problem = problem.split("\n  likely cause")[0] + f"\n  likely cause: {both[0]}"
            return Verdict(False, problem)
    return verdict(modified_issue(case, result, ("token_ids", "window")))


# -- neg_sampling_loss -------------------------------------------------------------------------

def _loss_cases(seed):
    rng = np.random.default_rng(seed)

    def case(name, B, K, E, scale=1.0, zero_center=False, weight=1.0):
        c = np.zeros((B, E)) if zero_center else rng.normal(0, scale, (B, E))
        args = (c, rng.normal(0, scale, (B, E)), rng.normal(0, scale, (B, K, E)))
        return Case(name, "neg_sampling_loss", args, probe="torch_grad", weight=weight)

    return [
        case("B=4, K=5, E=3", 4, 5, 3, weight=2.0),
        case("B=1, K=1, E=1", 1, 1, 1),
        case("one pair (B=1), K=6 negatives", 1, 6, 4),
        case("K=1 negative per pair, B=5", 5, 1, 3),
        case("E=1", 3, 2, 1),
        case("zero centre vectors: every sigmoid is 1/2", 3, 4, 2, zero_center=True),
        case("large scores: dot products up to about +-50", 4, 3, 4, scale=3.0),
        case("a second seed: B=8, K=4, E=6", 8, 4, 6),
    ]


def _loss_reference(c, o, n, sign=-1.0, reduce="mean", neg_reduce="sum", neg_with=None, pos_sign=1.0):
    """The loss in float64 from softplus (-log s(z) = softplus(-z)) and its gradients; variants by argument."""
    torch = _torch()
    F = torch.nn.functional
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (c, o, n)]
    center, context, negatives = ts
    partner = context if neg_with == "context" else center
    pos = torch.einsum("be,be->b", center, context)
    neg = torch.einsum("bke,be->bk", negatives, partner)
    neg_term = F.softplus(-sign * neg)                        # -log s(sign * neg) with sign = -1 the true one
    neg_term = neg_term.sum(1) if neg_reduce == "sum" else neg_term.mean(1)
    per_pair = F.softplus(-pos_sign * pos) + neg_term
    loss = per_pair.mean() if reduce == "mean" else per_pair.sum()
    loss.backward()
    return loss.item(), tuple(t.grad.numpy() for t in ts)


def _loss_verdict(case, result):
    c, o, n = case.args
    want, want_grads = memo(case, "want", lambda: _loss_reference(c, o, n))
    value = result.value
    if isinstance(value, np.ndarray) and value.size == 1:
        if value.dtype.name in ("float16", "float32"):
            return Verdict(False, f"the loss has dtype {value.dtype}: keep the float64 inputs' precision "
                           "(do not call .float())")
        value = float(value.reshape(()))
    hints = {
        "sign of the negative term: it is -log sigmoid(-u_n . v_c), with the minus inside": _loss_reference(c, o, n, sign=1.0)[0],
        "summed over the batch instead of the mean": _loss_reference(c, o, n, reduce="sum")[0],
        "the negative terms were averaged over K instead of summed": _loss_reference(c, o, n, neg_reduce="mean")[0],
        "the negatives were scored against the context vectors instead of the centre vectors":
            _loss_reference(c, o, n, neg_with="context")[0],
        "sign of the positive term: it is -log sigmoid(+u_o . v_c)": _loss_reference(c, o, n, pos_sign=-1.0)[0],
    }
    problem = scalar_issue("the loss", value, want, hints=hints)
    if problem:
        return Verdict(False, problem)
    names = ("center_vecs", "context_vecs", "negative_vecs")
    grads = tuple(result.grads) + (None,) * (3 - len(result.grads))
    for name, got, wanted in zip(names, grads, want_grads):
        if got is None:
            return Verdict(False, f"no gradient reached {name}: compute the loss with torch operations on the "
                           "tensors you are given (no numpy, .item(), .detach() or torch.tensor(...) of them)")
        problem = array_issue(f"d loss / d {name}", got, wanted)
        if problem:
            return Verdict(False, problem)
    return Verdict(True, "correct")


# -- masked_cross_entropy ----------------------------------------------------------------------

def _ce_cases(seed):
    rng = np.random.default_rng(seed)

    def case(name, lengths, K, scale=1.0, pad_scale=None, shift=0.0, weight=1.0):
        lengths = np.asarray(lengths)
        T, N = int(lengths.max()), len(lengths)
        mask = (np.arange(T)[:, None] < lengths[None, :]).astype(np.float64)
        scores = shift + rng.normal(0, scale, (T, N, K))
        if pad_scale is not None:
            scores[mask == 0] = pad_scale * np.sign(rng.normal(size=(int((mask == 0).sum()), K)))
        targets = rng.integers(0, K, size=(T, N))
        return Case(name, "masked_cross_entropy", (scores, targets, mask), probe="torch_grad", weight=weight)

    return [
        case("T=5, N=3, K=7, lengths 5, 3, 1", [5, 3, 1], 7, weight=2.0),
        case("no padding: every sentence has length 4", [4, 4, 4], 5),
        case("T=1, N=1", [1], 3),
        case("N=1, T=6", [6], 4),
        case("K=2 tags, lengths 2, 6, 3, 1", [2, 6, 3, 1], 2),
        case("scores around +-1000 (exp overflows unless shifted)", [3, 2], 4, scale=1000.0),
        case("scores all near -900 (exp underflows to 0 unless shifted)", [2, 4, 1], 3, shift=-900.0),
        case("scores all near +800 (exp overflows unless shifted)", [3, 3], 5, shift=800.0),
        case("padding positions hold scores of +-10000", [6, 2, 1], 5, pad_scale=1e4),
        case("a second seed: lengths 9, 4, 7, 2, 9", [9, 4, 7, 2, 9], 7),
    ]


def _ce_reference(scores, targets, mask, how="masked"):
    """Cross-entropy from log-sum-exp and gather in float64; variants by ``how``; (loss, dscores)."""
    torch = _torch()
    s = torch.tensor(scores, dtype=torch.float64, requires_grad=True)
    m = torch.from_numpy(mask)
    nll = torch.logsumexp(s, dim=-1) - s.gather(-1, torch.from_numpy(targets)[..., None])[..., 0]   # (T, N)
    if how == "masked":
        loss = (nll * m).sum() / m.sum()
    elif how == "all":
        loss = nll.mean()
    elif how == "sum":
        loss = (nll * m).sum()
    elif how == "per_position":
        loss = (nll * m).sum() / m.numel()
    else:  # mean per sentence, then over sentences
        loss = ((nll * m).sum(0) / m.sum(0)).mean()
    loss.backward()
    return loss.item(), s.grad.numpy()


def _ce_verdict(case, result):
    scores, targets, mask = case.args
    want, want_grad = memo(case, "want", lambda: _ce_reference(scores, targets, mask))
    value = result.value
    if isinstance(value, np.ndarray) and value.size == 1:
        if value.dtype.name in ("float16", "float32"):
            return Verdict(False, f"the loss has dtype {value.dtype}: keep the scores' dtype (float64 here)")
        value = float(value.reshape(()))
    if isinstance(value, float) and not np.isfinite(value):
        return Verdict(False, f"the loss is {value}: compute log-softmax stably (F.cross_entropy or "
                       "F.log_softmax shift by the maximum), and keep padding out of the arithmetic")
    hints = {cause: _ce_reference(scores, targets, mask, how)[0] for cause, how in (
        ("padding positions were included in the mean", "all"),
        ("summed over the words instead of the mean", "sum"),
        ("divided by all T*N positions instead of the number of real words", "per_position"),
        ("averaged within each sentence, then over sentences: average over all real words at once", "per_sentence"),
    )}
    problem = scalar_issue("the loss", value, want, hints=hints)
    if problem:
        return Verdict(False, problem)
    grad = result.grads[0] if result.grads else None
    if grad is None:
        return Verdict(False, "no gradient reached scores: compute the loss with torch operations on scores")
    return verdict(array_issue("d loss / d scores", grad, want_grad))


# -- encode_words, encode_tags ------------------------------------------------------

def _vocabs():
    """The notebook's word and tag vocabularies, rebuilt here from its training data
    (cell "tagger_data")."""
    from rnnlab.data import SLOT_TAGS, slot_filling
    from rnnlab.encoding import Vocab

    n, seed, rate = NOTEBOOK_SENTENCES[0]
    sentences = slot_filling(n, seed=seed, unknown_rate=rate)
    tokens = [w for s in sentences for w in s.tokens]
    return Vocab(tokens, specials=["<pad>"]), Vocab(SLOT_TAGS, unk=None)


def _encode_cases(seed):
    from rnnlab.data import slot_filling

    rng = np.random.default_rng(seed)
    pool = slot_filling(40, seed=int(rng.integers(10**6, 10**9)), unknown_rate=0.5)
    unknown = slot_filling(200, seed=int(rng.integers(10**6, 10**9)), unknown_rate=1.0)
    two_word = next(s for s in unknown if {"Buenos", "Kuala", "Tel"} & set(s.tokens))

    def words(name, sentences, weight=1.0):
        lists = [list(s.tokens) for s in sentences]
        return Case(name, "encode_words", (lists,), weight=weight)

    def tags(name, sentences, weight=1.0):
        lists = [list(s.tags) for s in sentences]
        return Case(name, "encode_tags", (lists,), weight=weight)

    by_length = sorted(pool, key=lambda s: len(s.tokens))
    mixed = [by_length[3], by_length[-1], by_length[0], two_word]  # longest not first
    return [
        words("encode_words: 4 sentences of different lengths, unknown cities among "
              "them", mixed, weight=2.0),
        words("encode_words: a single sentence (N=1, no padding)", [pool[5]]),
        words("encode_words: a one-word sentence beside a long one",
              [_one_word(), by_length[-1]]),
        words("encode_words: a two-word unknown city", [two_word]),
        tags("encode_tags: 4 sentences of different lengths", mixed, weight=2.0),
        tags("encode_tags: a single sentence (N=1)", [pool[5]]),
    ]


def _one_word():
    from rnnlab.data import Sentence

    return Sentence(["tomorrow"], ["B-time"])


def _tensor_issue(name, got, kinds, ndim):
    """Why ``got`` is not a tensor of ``ndim`` dimensions, dtype kind in ``kinds``."""
    if not isinstance(got, np.ndarray):
        kind = "None (did you forget to return?)" if got is None else type(got).__name__
        return f"{name} should be a torch tensor, got {kind}"
    if got.dtype.kind not in kinds:
        want = "integers (torch.long)" if kinds == "iu" else "floats (float32)"
        return f"{name} has dtype {got.dtype}: it should hold {want}"
    if got.ndim != ndim:
        return f"{name} has shape {got.shape}: it should have {ndim} dimension(s)"
    return None


def _words_verdict(lists, x, lengths, word_vocab):
    T, N = max(len(tokens) for tokens in lists), len(lists)
    problem = (_tensor_issue("x", x, "iu", 2)
               or _tensor_issue("lengths", lengths, "iu", 1))
    if problem:
        return Verdict(False, problem)
    if x.shape != (T, N):
        return Verdict(False, f"x has shape {x.shape}: it should be (T, N) = (longest "
                              f"sentence, {N} sentences), time-major")
    want = np.full((T, N), word_vocab.stoi["<pad>"], dtype=np.int64)
    for n, tokens in enumerate(lists):
        want[:len(tokens), n] = word_vocab.encode(tokens)
    wrong = np.argwhere(x != want)
    if len(wrong):
        t, n = (int(i) for i in wrong[0])
        if t >= len(lists[n]):
            where = "a padding position"
        elif want[t, n] == word_vocab.unk_index:
            where = "an unknown word (it belongs in the unknown slot)"
        else:
            where = "a word"
        return Verdict(False, f"x is wrong at [{t}, {n}], {where}")
    if lengths.shape != (N,) or not np.array_equal(lengths, [len(s) for s in lists]):
        return Verdict(False, "lengths should hold the number of words of each "
                              "sentence, without padding")
    return Verdict(True, "correct")


def _tags_verdict(lists, y, mask, tag_vocab):
    lengths = np.array([len(tags) for tags in lists])
    T, N = int(lengths.max()), len(lists)
    real = np.arange(T)[:, None] < lengths[None, :]                      # (T, N)
    problem = _tensor_issue("y", y, "iu", 2) or _tensor_issue("mask", mask, "f", 2)
    if problem:
        return Verdict(False, problem)
    for name, got in (("y", y), ("mask", mask)):
        if got.shape != (T, N):
            return Verdict(False, f"{name} has shape {got.shape}: it should be (T, N), "
                                  "time-major")
    want = np.zeros((T, N), dtype=np.int64)
    for n, tags in enumerate(lists):
        want[:len(tags), n] = tag_vocab.encode(tags)
    wrong = np.argwhere(real & (y != want))
    if len(wrong):
        t, n = (int(i) for i in wrong[0])
        return Verdict(False, f"y is wrong at [{t}, {n}]: encode the tags with "
                              "tag_vocab")
    if np.any((y < 0) | (y >= len(tag_vocab))):
        return Verdict(False, "y holds an index outside the tag vocabulary (padding "
                              "needs a valid index too)")
    if not np.array_equal(mask, real.astype(mask.dtype)):
        return Verdict(False, "mask should be 1.0 on every word and 0.0 on every "
                              "padding position")
    return Verdict(True, "correct")


def _encode_verdict(case, result):
    word_vocab, tag_vocab = memo(case, "vocabs", _vocabs)
    (lists,) = case.args
    value, problem = unpack(result.value, 2, case.func)
    if problem:
        return Verdict(False, problem)
    moved = modified_issue(case, result, ("the list of sentences",))
    if moved:
        return Verdict(False, moved)
    if case.func == "encode_words":
        return _words_verdict(lists, *value, word_vocab)
    return _tags_verdict(lists, *value, tag_vocab)


# -- predict_tags ------------------------------------------------------------------------------

def notebook_sentences() -> set:
    """The token tuples of every sentence the notebook shows the student (NOTEBOOK_SENTENCES)."""
    from rnnlab.data import slot_filling

    return {tuple(s.tokens) for n, seed, rate in NOTEBOOK_SENTENCES for s in slot_filling(n, seed=seed, unknown_rate=rate)}


def _held_out(n, seed, unknown_rate=0.1, seen=frozenset()):
    """n sentences of slot_filling(seed=seed) that are not in ``seen`` (the notebook's data)."""
    from rnnlab.data import slot_filling

    drawn = slot_filling(3 * n, seed=seed, unknown_rate=unknown_rate)  # about 15% are dropped
    kept = [s for s in drawn if tuple(s.tokens) not in seen][:n]
    if len(kept) < n:
        raise RuntimeError(f"only {len(kept)} of {3 * n} sentences of seed {seed} are new; draw more")
    return kept


def _two_word_unknown(n, seed, seen=frozenset()):
    """n new sentences whose every city is unknown, at least one of two words
    ("Kuala Lumpur")."""
    from rnnlab.data import UNKNOWN_CITIES

    firsts = {c.split()[0] for c in UNKNOWN_CITIES if " " in c}
    drawn = _held_out(8 * n, seed, unknown_rate=1.0, seen=seen)
    kept = [s for s in drawn if firsts & set(s.tokens)][:n]
    if len(kept) < n:
        raise RuntimeError(f"only {len(kept)} sentences of seed {seed} hold a two-word "
                           "unknown city; draw more")
    return kept


def _joined(sentences, k):
    """Every k consecutive sentences joined into one long request (tokens and tags concatenated)."""
    return [([w for s in sentences[i:i + k] for w in s.tokens], [t for s in sentences[i:i + k] for t in s.tags])
            for i in range(0, len(sentences) - k + 1, k)]


def f1_thresholds():
    """The F1 each stepped case needs: F1_STEPS values evenly spaced above F1_ZERO up to F1_FULL."""
    return [F1_ZERO + (F1_FULL - F1_ZERO) * (k + 1) / F1_STEPS for k in range(F1_STEPS)]


def _tagger_cases(seed):
    rng = np.random.default_rng(seed)
    seeds = [int(s) for s in rng.integers(10**6, 10**9, size=F1_STEPS + 4)]

    def case(name, pairs, threshold, weight=1.0):
        tokens = [list(p[0]) for p in pairs]
        return Case(name, "predict_tags", (tokens,), weight=weight,
                    meta={"gold": [list(p[1]) for p in pairs], "threshold": threshold})

    seen = notebook_sentences()
    cases = []
    for k, threshold in enumerate(f1_thresholds()):
        sents = _held_out(HELD_OUT_SIZE, seeds[k], seen=seen)
        cases.append(case(f"held-out set {k + 1} of {HELD_OUT_SIZE} sentences: F1 >= {threshold:.2f}",
                          [(s.tokens, s.tags) for s in sents], threshold))
    unknown = _held_out(100, seeds[F1_STEPS], unknown_rate=1.0, seen=seen)
    cases.append(case(f"100 sentences whose every city is unknown: F1 >= {F1_FULL:.2f}",
                      [(s.tokens, s.tags) for s in unknown], F1_FULL))
    two_word = _two_word_unknown(60, seeds[F1_STEPS + 3], seen=seen)
    cases.append(case("60 sentences with a two-word unknown city (every city unknown): "
                      f"F1 >= {F1_FULL:.2f}", [(s.tokens, s.tags) for s in two_word],
                      F1_FULL))
    mixed = _held_out(60, seeds[F1_STEPS + 1], seen=seen)
    batch = _joined(mixed[:20], 5) + [(s.tokens, s.tags) for s in mixed[20:]]
    cases.append(case(f"four long requests (five joined) batched with 40 short ones: F1 >= {F1_FULL:.2f}",
                      batch, F1_FULL))
    one = _held_out(1, seeds[F1_STEPS + 2], seen=seen)[0]
    cases.append(case("a single sentence (N=1): one valid tag per word", [(one.tokens, one.tags)], None, weight=0.5))
    cases.append(case("a one-word sentence", [(["tomorrow"], ["B-time"])], None, weight=0.5))
    return cases


def _format_issue(tokens, got):
    from rnnlab.data import SLOT_TAGS

    if not isinstance(got, (list, tuple)):
        kind = "None (did you forget to return?)" if got is None else type(got).__name__
        return f"predict_tags should return a list of tag lists, got {kind}"
    if len(got) != len(tokens):
        return f"predict_tags returned {len(got)} tag lists for {len(tokens)} sentences"
    for s, (words, tags) in enumerate(zip(tokens, got)):
        if not isinstance(tags, (list, tuple)):
            return f"sentence {s}: expected a list of tag strings, got {type(tags).__name__}"
        if len(tags) != len(words):
            return (f"sentence {s} has {len(words)} words but {len(tags)} tags: one tag per word, "
                    "without the padding positions")
        bad = [t for t in tags if not isinstance(t, str) or t not in SLOT_TAGS]
        if bad:
            return (f"sentence {s}: {bad[0]!r} is not a tag of SLOT_TAGS: decode the indices into tag strings "
                    "with tag_vocab")
    return None


def _tagger_verdict(case, result):
    from rnnlab.metrics import entity_f1

    (tokens,) = case.args
    got = result.value
    problem = _format_issue(tokens, got)
    if problem:
        return Verdict(False, problem)
    moved = modified_issue(case, result, ("sentences",))
    if moved:
        return Verdict(False, moved)
    threshold = case.meta["threshold"]
    if threshold is None:
        return Verdict(True, "correct")
    score = entity_f1(case.meta["gold"], [list(t) for t in got])
    summary = (f"entity F1 {score['f1']:.3f} (precision {score['precision']:.3f}, recall {score['recall']:.3f}) "
               f"on {len(tokens)} held-out sentences")
    if score["f1"] >= threshold:
        return Verdict(True, summary)
    message = f"{summary}; this case needs F1 >= {threshold:.2f}"
    if entity_f1(case.meta["gold"], _decoded_with_tag_vocab(got))["f1"] >= threshold:
        message += ("\n  likely cause: tag indices decoded with SLOT_TAGS; decode them with tag_vocab "
                    "(tag_vocab.itos is in another order)")
    return Verdict(False, message)


def _decoded_with_tag_vocab(tags):
    """The tags a prediction would have had if its indices, decoded with SLOT_TAGS, had gone through tag_vocab."""
    from rnnlab.data import SLOT_TAGS
    from rnnlab.encoding import Vocab

    remap = dict(zip(SLOT_TAGS, Vocab(SLOT_TAGS, unk=None).itos))
    return [[remap[t] for t in sentence] for sentence in tags]


CHECKS = {
    "embedding_forward": Check(_forward_cases, _forward_verdict,
                               "embedding_forward against F.embedding, ValueError outside [0, V)", seed=51),
    "embedding_backward": Check(_backward_cases, _backward_verdict,
                                "embedding_backward against autograd through F.embedding (repeats accumulate)", seed=52),
    "skipgram_pairs": Check(_skipgram_cases, _skipgram_verdict,
                            "skipgram_pairs: context 1 <= |j - i| <= window, ordered by centre then context", seed=53),
    "neg_sampling_loss": Check(_loss_cases, _loss_verdict,
                               "neg_sampling_loss value and gradients against a float64 softplus reference", seed=54),
    "masked_cross_entropy": Check(_ce_cases, _ce_verdict,
                                  "masked_cross_entropy value and gradient against a log-sum-exp reference", seed=55),
    "encode_batch": Check(
        _encode_cases, _encode_verdict,
        "encode_words and encode_tags against the notebook's vocabularies (rebuilt)",
        seed=57),
    "predict_tags": Check(_tagger_cases, _tagger_verdict,
                          f"predict_tags: entity F1 on held-out sentences, full credit from {F1_FULL}", seed=56),
}
