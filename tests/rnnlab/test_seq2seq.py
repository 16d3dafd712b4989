"""rnnlab.seq2seq: the number-words task, and the decoders against brute force."""

import itertools

import numpy as np
import pytest

from rnnlab.seq2seq import (BOS, EOS, PAD, beam_search, greedy_decode, is_held_out,
                            length_normalised, make_batch, make_number_pairs,
                            number_to_words, source_vocab, target_vocab)

# An independent reading of number words, the inverse of number_to_words.
_VALUES = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
_VALUES.update({w: 10 * i for i, w in enumerate(
    "twenty thirty forty fifty sixty seventy eighty ninety".split(), start=2)})


def words_to_number(words):
    total, current = 0, 0
    for w in words:
        if w == "and":
            continue
        if w == "hundred":
            current *= 100
        elif w == "thousand":
            total, current = (total + current) * 1000, 0
        else:
            current += _VALUES[w]
    return total + current


@pytest.mark.parametrize("value, text", [
    (0, "zero"), (13, "thirteen"), (40, "forty"), (342, "three hundred and forty two"),
    (7005, "seven thousand and five"), (12_300, "twelve thousand three hundred"),
    (999_999, "nine hundred and ninety nine thousand nine hundred and ninety nine"),
])
def test_number_words_spelled_like_english(value, text):
    assert " ".join(number_to_words(value)) == text


def test_words_round_trip_on_many_values():
    values = np.random.default_rng(0).integers(0, 1_000_000, size=3000)
    for v in list(values) + list(range(0, 1200)):
        assert words_to_number(number_to_words(int(v))) == v


def test_pairs_are_deterministic_per_seed():
    a = make_number_pairs(50, max_value=99_999, seed=3)
    b = make_number_pairs(50, max_value=99_999, seed=3)
    c = make_number_pairs(50, max_value=99_999, seed=4)
    assert a == b and a != c


def test_pairs_are_consistent_and_cover_every_length():
    pairs = make_number_pairs(400, max_value=9_999, seed=0)
    for p in pairs:
        assert words_to_number(p.source) == p.value == int("".join(p.target))
        assert p.value <= 9_999
    assert {len(p.target) for p in pairs} == {1, 2, 3, 4}


def test_held_out_split_is_disjoint_by_value():
    train = {p.value for p in make_number_pairs(3000, max_value=9_999, seed=0)}
    test = {p.value
            for p in make_number_pairs(1000, max_value=9_999, seed=1, split="test")}
    assert train and test and not train & test
    frac = is_held_out(np.arange(100_000)).mean()
    assert 0.19 < frac < 0.21


def test_batch_round_trip_and_masks():
    src_v, tgt_v = source_vocab(), target_vocab()
    assert [src_v.stoi[s] for s in ("<pad>", "<bos>", "<eos>")] == [PAD, BOS, EOS]
    assert [tgt_v.stoi[s] for s in ("<pad>", "<bos>", "<eos>")] == [PAD, BOS, EOS]
    pairs = make_number_pairs(17, max_value=999_999, seed=2)
    b = make_batch(pairs, src_v, tgt_v)
    S, N = b.src.shape
    assert b.src.dtype == np.int64 and N == 17 and b.tgt_in.shape == b.tgt_out.shape
    for n, p in enumerate(pairs):
        L = int(b.src_mask[:, n].sum())
        assert tuple(src_v.decode(b.src[:L, n])) == p.source
        assert (b.src[L:, n] == PAD).all()
        T = int(b.tgt_mask[:, n].sum())
        assert T == len(p.target) + 1
        assert b.tgt_in[0, n] == BOS and b.tgt_out[T - 1, n] == EOS
        assert tuple(tgt_v.decode(b.tgt_out[:T - 1, n])) == p.target
        assert (b.tgt_in[1:T, n] == b.tgt_out[:T - 1, n]).all()    # shifted by one


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=0), "n must be"), (dict(n=5, max_value=5), "max_value"),
    (dict(n=5, max_value=10**6), "max_value"), (dict(n=5, split="valid"), "split"),
    (dict(n=5, test_fraction=1.0), "test_fraction"),
])
def test_bad_generator_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_number_pairs(**kwargs)


def test_bad_values_and_batches():
    with pytest.raises(ValueError, match="value"):
        number_to_words(-1)
    with pytest.raises(ValueError, match="pairs"):
        make_batch([], source_vocab(), target_vocab())


# ---------------------------------------------------------------- decoders

V = 5          # pad, bos, eos, and two tokens a = 3, b = 4


def table_step(table, max_depth=6):
    """A step function whose log-probs depend on the whole prefix (its state).

    table(prefix tuple) -> probabilities (V,). The state is an int array (B, max_depth +
    1) holding the generated tokens, its last column their count.
    """
    def step(tokens, state):
        state = state.copy()
        out = np.empty((len(tokens), V))
        for i, tok in enumerate(tokens):
            n = state[i, -1]
            if tok != BOS:
                state[i, n] = tok
                n = state[i, -1] = n + 1
            with np.errstate(divide="ignore"):
                out[i] = np.log(table(tuple(int(t) for t in state[i, :n])))
        return out, state
    return step, np.zeros((1, max_depth + 1), dtype=np.int64)


def random_table(seed):
    """Seeded random distributions over eos, a, b per prefix (pad, bos impossible)."""
    def table(prefix):
        rng = np.random.default_rng([seed, len(prefix), *prefix])
        p = np.zeros(V)
        p[[EOS, 3, 4]] = rng.dirichlet([0.5, 0.5, 0.5])
        return p
    return table


def brute_force(table, max_len, alpha):
    """Best finished sequence by enumeration: a/b strings shorter than max_len + eos."""
    best = None
    for L in range(max_len):
        for seq in itertools.product((3, 4), repeat=L):
            full = seq + (EOS,)
            with np.errstate(divide="ignore"):      # an impossible token: log-prob -inf
                lp = sum(np.log(table(full[:i])[tok]) for i, tok in enumerate(full))
            score = length_normalised(lp, L + 1, alpha)
            if best is None or score > best[1]:
                best = (seq, score, lp)
    return best


def test_beam_width_one_equals_greedy():
    for seed in range(20):
        step, state = table_step(random_table(seed))
        greedy = greedy_decode(step, state, max_len=6)[0]
        for alpha in (0.0, 0.7):
            beam = beam_search(step, state, beam_width=1, max_len=6, alpha=alpha)
            assert list(beam[0].tokens) == greedy


def test_greedy_decodes_a_batch_row_by_row():
    steps = [table_step(random_table(s)) for s in range(4)]

    def step(tokens, state):     # row n follows table n
        outs = [steps[n][0](tokens[n:n + 1], state[n:n + 1])
                for n in range(len(tokens))]
        return (np.concatenate([o[0] for o in outs]),
                np.concatenate([o[1] for o in outs]))

    batch = greedy_decode(step, np.concatenate([s[1] for s in steps]), max_len=6)
    assert batch == [greedy_decode(s, st, max_len=6)[0] for s, st in steps]


def test_beam_finds_what_greedy_misses():
    # "a" is the likelier first token, but every sequence after "a" is unlikely; "b"
    # then eos wins.
    def table(prefix):
        p = np.zeros(V)
        if prefix == ():
            p[[EOS, 3, 4]] = [0.05, 0.55, 0.40]
        elif prefix[0] == 3:
            p[[EOS, 3, 4]] = [0.34, 0.33, 0.33]
        else:
            p[[EOS, 3, 4]] = [0.90, 0.05, 0.05]
        return p
    step, state = table_step(table)
    best_seq, best_score, _ = brute_force(table, max_len=4, alpha=0.0)
    greedy = greedy_decode(step, state, max_len=4)[0]
    beam = beam_search(step, state, beam_width=2, max_len=4)
    assert tuple(greedy) != best_seq
    assert beam[0].tokens == best_seq and beam[0].finished
    assert beam[0].score == pytest.approx(best_score)


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
def test_wide_beam_is_exact(alpha):
    # A beam wider than the number of prefixes enumerates everything: it must agree with
    # brute force, length normalisation included, and every result must be finished.
    max_len = 4
    for seed in range(10):
        table = random_table(seed)
        step, state = table_step(table)
        hyps = beam_search(step, state, beam_width=64, max_len=max_len, alpha=alpha)
        best_seq, best_score, best_lp = brute_force(table, max_len, alpha)
        assert hyps[0].tokens == best_seq
        assert hyps[0].score == pytest.approx(best_score)
        assert hyps[0].log_prob == pytest.approx(best_lp)
        assert all(h.finished for h in hyps)
        assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)


def test_finished_hypotheses_are_kept_and_not_extended():
    # eos is likely at once; afterwards long a-strings are each likelier than any single
    # finish. The early finished hypothesis must survive to the end and win at alpha =
    # 0.
    def table(prefix):
        p = np.zeros(V)
        p[[EOS, 3, 4]] = [0.45, 0.55, 0.0] if prefix == () else [0.02, 0.98, 0.0]
        return p
    step, state = table_step(table, max_depth=8)
    hyps = beam_search(step, state, beam_width=2, max_len=6, alpha=0.0)
    assert hyps[0].tokens == () and hyps[0].log_prob == pytest.approx(np.log(0.45))
    assert all(EOS not in h.tokens for h in hyps)
    # with alpha = 1 a longer finished hypothesis can win on the mean log-probability
    best_seq, _, _ = brute_force(table, 6, 1.0)
    wide = beam_search(step, state, beam_width=64, max_len=6, alpha=1.0)
    assert wide[0].tokens == best_seq


def test_bad_decoder_input():
    step, state = table_step(random_table(0))
    with pytest.raises(ValueError, match="beam_width"):
        beam_search(step, state, beam_width=0, max_len=3)
    with pytest.raises(ValueError, match="alpha"):
        beam_search(step, state, beam_width=2, max_len=3, alpha=-1.0)
    with pytest.raises(ValueError, match="one sequence"):
        beam_search(step, np.zeros((2, 7), dtype=np.int64), beam_width=2, max_len=3)
    with pytest.raises(ValueError, match="max_len"):
        greedy_decode(step, state, max_len=0)
    with pytest.raises(ValueError, match=r"log_probs"):
        greedy_decode(lambda tok, s: (np.zeros((3, V)), s), state, max_len=2)
