"""A generated translation task and the decoders of an encoder-decoder.

Taught in ``book/14_seq2seq`` (encoder-decoder, teacher forcing, greedy and beam search)
and ``book/15_attention``. The task translates numbers written in English words into
digits, "three hundred and forty two" -> "342": the source is a sequence of words, the
target a sequence of digits, and the two lengths differ (5 words, 3 digits). Nothing is
downloaded.

Held-out data never shares a value with training data: each value in ``[0, max_value]``
is assigned to the ``"train"`` or ``"test"`` split by a fixed hash of the value alone,
so the split does not depend on the seed or on how many pairs are drawn.

Decoding works with any model through a step function::

    step(tokens (B,) int64, state) -> (log_probs (B, V), state)

``state`` is an array (or a tuple, list or dict of arrays or tensors) whose axis 0 is
the batch of ``B`` hypotheses; beam search reorders it with ``reorder(state, index)``.

where:
    S  source steps, T  target steps, N  batch size, B  live hypotheses,
    V  target vocabulary
"""

from dataclasses import dataclass

import numpy as np

from ._validate import as_array, check_positive_int
from .data import pad_sequences
from .encoding import Vocab

__all__ = [
    "SPECIALS", "PAD", "BOS", "EOS", "NUMBER_WORDS", "DIGITS", "NumberPair",
    "number_to_words", "is_held_out", "make_number_pairs", "source_vocab",
    "target_vocab", "Batch", "make_batch", "batches", "Hypothesis", "greedy_decode",
    "beam_search", "length_normalised",
]

SPECIALS = ("<pad>", "<bos>", "<eos>")
PAD, BOS, EOS = 0, 1, 2      # their indices in both vocabularies (Vocab with unk=None)

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
         "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
         "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
         "ninety"]
NUMBER_WORDS = tuple(_ONES + _TENS[2:] + ["hundred", "thousand", "and"])
DIGITS = tuple("0123456789")
MAX_VALUE = 999_999


def _below_thousand(v):
    """Words of 1 <= v <= 999, British style: "three hundred and forty two"."""
    words = []
    hundreds, rest = divmod(v, 100)
    if hundreds:
        words += [_ONES[hundreds], "hundred"]
        if rest:
            words.append("and")
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_TENS[tens])
        if ones:
            words.append(_ONES[ones])
    elif rest:
        words.append(_ONES[rest])
    return words


def number_to_words(value):
    """English words of an int ``0 <= value <= 999_999``, as a list of str.

    >>> number_to_words(342)
    ['three', 'hundred', 'and', 'forty', 'two']
    >>> number_to_words(7005)
    ['seven', 'thousand', 'and', 'five']
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or not 0 <= value <= MAX_VALUE:
        raise ValueError(f"value must be an int in [0, {MAX_VALUE}], got {value!r}")
    value = int(value)
    if value == 0:
        return ["zero"]
    thousands, rest = divmod(value, 1000)
    words = []
    if thousands:
        words += _below_thousand(thousands) + ["thousand"]
        if 0 < rest < 100:      # "seven thousand and five", as for hundreds
            words.append("and")
    if rest:
        words += _below_thousand(rest)
    return words


def is_held_out(value, test_fraction=0.2):
    """True if ``value`` belongs to the test split: a fixed hash of the value, no seed.

    value : int or ndarray of int; returns a bool or a bool ndarray of the same shape.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    v = np.asarray(value, dtype=np.uint64)
    # splitmix64's finaliser: nearby values land far apart, so every digit count is
    # split between train and test
    with np.errstate(over="ignore"):
        z = v + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    held = (z >> np.uint64(11)).astype(np.float64) / 2.0**53 < test_fraction
    return bool(held) if held.ndim == 0 else held


@dataclass(frozen=True)
class NumberPair:
    """One example: ``source`` words, ``target`` digit characters, and the ``value``."""
    value: int
    source: tuple
    target: tuple


def make_number_pairs(n, max_value=9_999, seed=0, split="train", test_fraction=0.2):
    """Draw ``n`` (words -> digits) pairs from one split.

    The number of digits is drawn uniformly first, then the value uniformly among the
    values with that many digits (up to ``max_value``), so short and long inputs are
    equally common. Values repeat when the split has few of a given length (there are
    ten one-digit numbers).

    n : int >= 1; max_value : int in [9, 999_999]; seed : int; split : "train" or "test"
    returns : list of ``n`` :class:`NumberPair`
    """
    check_positive_int("n", n)
    if isinstance(max_value, bool) or not isinstance(max_value, (int, np.integer)) \
            or not 9 <= max_value <= MAX_VALUE:
        raise ValueError(f"max_value must be an int in [9, {MAX_VALUE}], "
                         f"got {max_value!r}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    rng = np.random.default_rng(seed)
    n_digits = len(str(max_value))
    pools = []
    for k in range(1, n_digits + 1):
        lo, hi = (0 if k == 1 else 10 ** (k - 1)), min(10 ** k - 1, max_value)
        values = np.arange(lo, hi + 1)
        values = values[is_held_out(values, test_fraction) == (split == "test")]
        if values.size:
            pools.append(values)
    ks = rng.integers(len(pools), size=n)
    pairs = []
    for k in ks:
        v = int(pools[k][rng.integers(pools[k].size)])
        pairs.append(NumberPair(v, tuple(number_to_words(v)), tuple(str(v))))
    return pairs


def source_vocab():
    """Vocab of every number word; indices 0, 1, 2: ``<pad>``, ``<bos>``, ``<eos>``."""
    return Vocab(NUMBER_WORDS, unk=None, specials=SPECIALS)


def target_vocab():
    """Vocab of the ten digits; indices 0, 1, 2 are ``<pad>``, ``<bos>``, ``<eos>``."""
    return Vocab(DIGITS, unk=None, specials=SPECIALS)


@dataclass
class Batch:
    """A padded, time-major batch of pairs (padding at the end of each column).

    src : (S, N) int64 source words; src_mask : (S, N) float64, 1 on a word, 0 on pad;
    tgt_in : (T, N) int64, ``<bos>`` then the digits (the decoder's input under teacher
    forcing); tgt_out : (T, N) int64, the digits then ``<eos>`` (what to predict);
    tgt_mask : (T, N) float64; values : (N,) int64.
    """
    src: np.ndarray
    src_mask: np.ndarray
    tgt_in: np.ndarray
    tgt_out: np.ndarray
    tgt_mask: np.ndarray
    values: np.ndarray


def make_batch(pairs, src_vocab, tgt_vocab):
    """Encode and pad a list of :class:`NumberPair` into a :class:`Batch`."""
    if not pairs:
        raise ValueError("pairs must be a non-empty list of NumberPair, "
                         "got an empty list")
    src, src_mask = pad_sequences([src_vocab.encode(p.source) for p in pairs], pad=PAD)
    digits = [tgt_vocab.encode(p.target) for p in pairs]
    tgt_in, tgt_mask = pad_sequences([np.r_[BOS, d] for d in digits], pad=PAD)
    tgt_out, _ = pad_sequences([np.r_[d, EOS] for d in digits], pad=PAD)
    return Batch(src, src_mask, tgt_in, tgt_out, tgt_mask,
                 np.array([p.value for p in pairs], dtype=np.int64))


def batches(pairs, batch_size, src_vocab, tgt_vocab, rng=None):
    """Yield a :class:`Batch` per ``batch_size`` pairs, shuffled by ``rng`` if given."""
    check_positive_int("batch_size", batch_size)
    order = np.arange(len(pairs)) if rng is None else rng.permutation(len(pairs))
    for start in range(0, len(pairs), batch_size):
        chunk = [pairs[i] for i in order[start:start + batch_size]]
        yield make_batch(chunk, src_vocab, tgt_vocab)


# ---------------------------------------------------------------- decoding

def _first_leaf(state):
    if isinstance(state, dict):
        return _first_leaf(next(iter(state.values())))
    if isinstance(state, (tuple, list)):
        return _first_leaf(state[0])
    return state


def _take(state, index):
    """Rows ``index`` of every array or tensor in ``state`` (batch on axis 0)."""
    if isinstance(state, dict):
        return {k: _take(v, index) for k, v in state.items()}
    if isinstance(state, (tuple, list)):
        return type(state)(_take(v, index) for v in state)
    if hasattr(state, "index_select"):          # a torch tensor: index with a tensor
        import torch
        return state[torch.as_tensor(index, dtype=torch.long)]
    return state[index]


def _step(step, tokens, state):
    log_probs, state = step(tokens, state)
    if hasattr(log_probs, "detach"):
        log_probs = log_probs.detach().cpu().numpy()
    log_probs = as_array("log_probs", log_probs, ndim=2, dims="(B, V)")
    if log_probs.shape[0] != tokens.shape[0]:
        raise ValueError(f"step must return log_probs of shape (B, V) with B = "
                         f"{tokens.shape[0]} (one row per token), "
                         f"got {log_probs.shape}")
    return log_probs, state


def greedy_decode(step, state, max_len, bos=BOS, eos=EOS):
    """Decode a batch by taking the most probable token at every step.

    step : ``step(tokens (N,), state) -> (log_probs (N, V), state)``
    state : the decoder's initial state, batch of ``N`` on axis 0
    max_len : int, most tokens generated per sequence (``<eos>`` included)
    returns : list of ``N`` lists of token indices, without ``<bos>`` and ``<eos>``
    """
    check_positive_int("max_len", max_len)
    N = int(_first_leaf(state).shape[0])
    tokens = np.full(N, bos, dtype=np.int64)
    out = [[] for _ in range(N)]
    done = np.zeros(N, dtype=bool)
    for _ in range(max_len):
        log_probs, state = _step(step, tokens, state)
        tokens = log_probs.argmax(axis=1).astype(np.int64)
        for n in np.flatnonzero(~done):
            if tokens[n] == eos:
                done[n] = True
            else:
                out[n].append(int(tokens[n]))
        if done.all():
            break
    return out


@dataclass(frozen=True)
class Hypothesis:
    """A beam-search result: ``tokens`` (without ``<bos>``/``<eos>``), the total
    ``log_prob`` (``<eos>`` included), the length-normalised ``score`` and whether it
    ``finished`` with ``<eos>`` (False only when ``max_len`` cut it)."""
    tokens: tuple
    log_prob: float
    score: float
    finished: bool


def length_normalised(log_prob, length, alpha):
    """``log_prob / length ** alpha``; ``length`` counts the generated tokens and
    ``<eos>``.

    alpha = 0 ranks by total log-probability (which favours short outputs), alpha = 1 by
    the mean log-probability per token.
    """
    return log_prob / float(length) ** alpha


def beam_search(step, state, beam_width, max_len, alpha=0.0, bos=BOS, eos=EOS,
                reorder=_take):
    """Beam search for one source sequence (a "shrinking" beam).

    At each step every live hypothesis is extended by every token; the ``k`` best
    extensions by total log-probability survive, where ``k`` is ``beam_width`` minus the
    number of hypotheses already finished. An extension ending in ``<eos>`` is finished:
    it is kept aside, never extended again, and the beam shrinks by one. The search
    stops when ``beam_width`` hypotheses have finished or after ``max_len`` tokens; the
    finished ones (or, if none finished, the live ones) are ranked by
    ``length_normalised(log_prob, length, alpha)``. With ``beam_width = 1`` this is
    greedy decoding.

    step : ``step(tokens (B,), state) -> (log_probs (B, V), state)``
    state : the decoder's initial state for ONE sequence (batch of 1 on axis 0)
    beam_width : int >= 1; max_len : int >= 1 tokens (``<eos>`` included)
    alpha : float >= 0
    reorder : ``reorder(state, index (B,)) -> state`` selecting rows of the state
    returns : list of :class:`Hypothesis`, best score first
    """
    check_positive_int("beam_width", beam_width)
    check_positive_int("max_len", max_len)
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be a finite float >= 0, got {alpha!r}")
    first = _first_leaf(state)
    if first.shape[0] != 1:
        raise ValueError("state must hold one sequence (batch 1 on axis 0), got a leaf "
                         f"of shape {tuple(first.shape)}")
    live = [((), 0.0)]          # (tokens, log_prob) of each row of `state`
    tokens = np.array([bos], dtype=np.int64)
    finished = []
    for t in range(1, max_len + 1):
        log_probs, state = _step(step, tokens, state)
        V = log_probs.shape[1]
        total = np.array([lp for _, lp in live])[:, None] + log_probs        # (B, V)
        k = beam_width - len(finished)
        flat = np.argsort(-total, axis=None, kind="stable")[:k]
        rows, cols = np.unravel_index(flat, total.shape)
        keep_rows, keep_tokens, new_live = [], [], []
        for r, c in zip(rows, cols):
            seq, lp = live[r][0], float(total[r, c])
            if not np.isfinite(lp):
                continue        # a token the model rules out is never a hypothesis
            if c == eos:
                score = length_normalised(lp, t, alpha)
                finished.append(Hypothesis(seq, lp, score, True))
            else:
                keep_rows.append(r)
                keep_tokens.append(c)
                new_live.append((seq + (int(c),), lp))
        if not new_live or len(finished) >= beam_width:
            live = []
            break
        live = new_live
        tokens = np.array(keep_tokens, dtype=np.int64)
        state = reorder(state, np.array(keep_rows, dtype=np.int64))
    pool = finished or [
        Hypothesis(seq, lp, length_normalised(lp, len(seq), alpha), False)
        for seq, lp in live]
    if not pool:
        raise ValueError(f"step gave every token a log-probability of -inf (V = {V})")
    return sorted(pool, key=lambda h: -h.score)
