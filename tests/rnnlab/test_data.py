import importlib.util
from collections import Counter, defaultdict

import numpy as np
import pytest

from rnnlab import data
from rnnlab.data import (KNOWN_CITIES, SLOT_TAGS, STDLIB_MODULES, UNKNOWN_CITIES, adding_problem,
                         copy_task, hello_ohlol, noisy_sine, pad_sequences, sentiment, slot_filling,
                         stdlib_corpus)


def city_tokens(sentences):
    """(word, tag, previous two words) for every word tagged as a city (dest or depart)."""
    out = []
    for s in sentences:
        padded = ["<s>", "<s>"] + s.tokens
        for i, (w, t) in enumerate(zip(s.tokens, s.tags)):
            if t.endswith("dest") or t.endswith("depart"):
                out.append((w, t, tuple(padded[i:i + 2])))
    return out


@pytest.fixture(scope="module")
def sentences():
    return slot_filling(2000, seed=0, unknown_rate=0.0)


# --------------------------------------------------------------------- determinism

@pytest.mark.parametrize("make", [
    lambda seed: [(s.tokens, s.tags) for s in slot_filling(50, seed=seed)],
    lambda seed: adding_problem(10, 4, seed=seed),
    lambda seed: copy_task(3, 4, seed=seed),
    lambda seed: noisy_sine(10, 3, seed=seed),
    lambda seed: sentiment(30, seed=seed),
])
def test_same_seed_same_data_other_seed_other_data(make):
    def same(a, b):
        if isinstance(a, np.ndarray):
            return a.shape == b.shape and np.array_equal(a, b)
        if isinstance(a, (list, tuple)):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        return a == b
    assert same(make(0), make(0))
    assert not same(make(0), make(1))


# --------------------------------------------------------------------- slot filling

def test_tags_are_valid_bio(sentences):
    for s in sentences:
        assert len(s.tokens) == len(s.tags) > 0
        assert set(s.tags) <= set(SLOT_TAGS)
        for prev, tag in zip(["O"] + s.tags, s.tags):
            if tag.startswith("I-"):
                assert prev[2:] == tag[2:], s


def test_notes_example_leave_for_dalian_vs_leave_dalian(sentences):
    roles = defaultdict(Counter)
    for w, t, (_, before) in city_tokens(sentences):
        roles[w][t] += 1
        if before == "from":
            assert t == "B-depart"
        if before in ("to", "for"):
            assert t == "B-dest"
    assert roles["Dalian"]["B-dest"] > 10 and roles["Dalian"]["B-depart"] > 10
    # "leave Dalian" -> departure, "leave for Dalian" -> destination
    found = {"depart": False, "dest": False}
    for s in sentences:
        for i in range(len(s.tokens) - 2):
            if s.tokens[i] == "leave" and s.tokens[i + 1] in KNOWN_CITIES:
                assert s.tags[i + 1] == "B-depart"
                found["depart"] = True
            if s.tokens[i:i + 2] == ["leave", "for"]:
                assert s.tags[i + 2] == "B-dest"
                found["dest"] = True
    assert all(found.values())


def test_the_same_word_needs_context(sentences):
    """The best per-word tagger fails on cities; two words of left context nearly suffice."""
    cities = city_tokens(sentences)
    by_word = defaultdict(Counter)
    by_context = defaultdict(Counter)
    for w, t, ctx in cities:
        by_word[w][t] += 1
        by_context[(ctx, w)][t] += 1
    per_word = sum(c.most_common(1)[0][1] for c in by_word.values()) / len(cities)
    with_context = sum(c.most_common(1)[0][1] for c in by_context.values()) / len(cities)
    assert per_word < 0.75
    assert with_context > 0.95
    assert all(len(by_word[c.split()[0]]) >= 2 for c in KNOWN_CITIES)  # every city in >= 2 roles


def test_multi_word_cities_and_times_are_spans(sentences):
    spans = Counter()
    for s in sentences:
        for i, (w, t) in enumerate(zip(s.tokens, s.tags)):
            if t.startswith("I-"):
                spans[t] += 1
    assert spans["I-dest"] > 0 and spans["I-depart"] > 0 and spans["I-time"] > 0
    joined = [" ".join(s.tokens) for s in sentences]
    for phrase in ("on Tuesday", "tomorrow", " am", "New York"):
        assert any(phrase in j for j in joined), phrase


def test_at_least_30_templates(sentences):
    skeletons = set()
    for s in sentences:
        words = []
        for i, (w, t) in enumerate(zip(s.tokens, s.tags)):
            nxt = s.tags[i + 1] if i + 1 < len(s.tags) else "O"
            if t.startswith("I-") or t.endswith("time") or (nxt == "B-time" and w in ("on", "at")):
                continue
            words.append(t[2:] if t.startswith("B-") else w)
        skeletons.add(tuple(words))
    assert len(skeletons) >= 30


def test_unknown_cities_are_absent_from_the_known_list():
    known_words = {w for c in KNOWN_CITIES for w in c.split()}
    unknown_words = {w for c in UNKNOWN_CITIES for w in c.split()}
    assert not set(UNKNOWN_CITIES) & set(KNOWN_CITIES)
    assert not known_words & unknown_words
    assert any(" " in c for c in UNKNOWN_CITIES) and any(" " in c for c in KNOWN_CITIES)

    clean = [w for s in slot_filling(500, seed=3, unknown_rate=0.0) for w in s.tokens]
    assert not set(clean) & unknown_words

    mixed = slot_filling(1000, seed=3, unknown_rate=0.3)
    firsts = [w for w, t, _ in city_tokens(mixed) if t.startswith("B-")]
    unknown_share = np.mean([w in {c.split()[0] for c in UNKNOWN_CITIES} for w in firsts])
    assert 0.25 < unknown_share < 0.35


def test_departure_and_destination_differ():
    for s in slot_filling(500, seed=4):
        dest = [w for w, t in zip(s.tokens, s.tags) if t.endswith("dest")]
        depart = [w for w, t in zip(s.tokens, s.tags) if t.endswith("depart")]
        if dest and depart:
            assert dest != depart


# --------------------------------------------------------------------- small tasks

def test_hello_ohlol():
    vocab, x, y = hello_ohlol()
    assert vocab.itos == sorted(set("hello"))
    assert x.shape == y.shape == (5,) and x.dtype == y.dtype == np.int64
    assert "".join(vocab.decode(x)) == "hello"
    assert "".join(vocab.decode(y)) == "ohlol"


def test_adding_problem_targets():
    T, N = 12, 50
    x, y = adding_problem(T, N, seed=5)
    assert x.shape == (T, N, 2) and y.shape == (N,)
    for n in range(N):
        marked = np.flatnonzero(x[:, n, 1])
        assert len(marked) == 2 and marked[0] < T // 2 <= marked[1]
        assert y[n] == pytest.approx(x[marked[0], n, 0] + x[marked[1], n, 0])
    assert np.all((x[..., 0] >= 0) & (x[..., 0] < 1))


def test_copy_task_targets():
    delay, N, n_symbols, length = 4, 20, 6, 3
    x, y, mask = copy_task(delay, N, n_symbols=n_symbols, length=length, seed=6)
    T = 2 * length + delay
    assert x.shape == y.shape == mask.shape == (T, N)
    assert x.dtype == y.dtype == np.int64
    for n in range(N):
        seen = list(x[:length, n])
        assert all(1 <= s <= n_symbols for s in seen)
        go = [t for t in range(T) if x[t, n] == n_symbols + 1]
        assert go == [length + delay - 1]
        emitted = [y[t, n] for t in range(T) if mask[t, n] == 1]
        assert emitted == seen
        assert all(y[t, n] == 0 for t in range(T) if mask[t, n] == 0)
        assert [t for t in range(T) if mask[t, n] == 1] == list(range(T - length, T))


def test_noisy_sine_is_next_step():
    x, y = noisy_sine(30, 4, seed=7, noise=0.0)
    assert x.shape == y.shape == (30, 4, 1)
    np.testing.assert_array_equal(y[:-1], x[1:])
    assert np.all(np.abs(x) <= 1.0)
    # A noiseless sinusoid obeys s_{t+1} + s_{t-1} = 2 cos(omega) s_t with one omega per series.
    s = x[:, :, 0]
    ratio = (s[2:] + s[:-2]) / (2 * s[1:-1])
    ok = np.abs(s[1:-1]) > 0.2
    for n in range(4):
        assert np.ptp(ratio[ok[:, n], n]) < 1e-9
    xn, _ = noisy_sine(30, 4, seed=7, noise=0.1)
    assert 0.05 < np.std(xn - x) < 0.15


# --------------------------------------------------------------------- sentiment

POSITIVE = {"good", "great", "excellent", "wonderful", "enjoyable", "brilliant", "fun"}
NEGATIVE = {"bad", "awful", "boring", "terrible", "dull", "poor", "weak"}


def test_sentiment_labels_follow_negation_and_the_last_clause():
    sentences, labels = sentiment(400, seed=8, max_len=12)
    assert labels.shape == (400,) and labels.dtype == np.int64
    assert 0.4 < labels.mean() < 0.6
    kinds = Counter()
    for words, label in zip(sentences, labels):
        assert 3 <= len(words) <= 12
        clause = words[len(words) - words[::-1].index("but"):] if "but" in words else words
        adjectives = [w for w in clause if w in POSITIVE | NEGATIVE]
        assert len(adjectives) == 1, words
        positive = (adjectives[0] in POSITIVE) != ("not" in clause)
        assert label == int(positive), words
        kinds[("not" in clause, adjectives[0] in POSITIVE, "but" in words)] += 1
    # Negated words of both polarities, and contrasts where order decides.
    assert kinds[(True, True, False)] and kinds[(True, False, False)]
    assert sum(v for k, v in kinds.items() if k[2]) > 40


def test_sentiment_respects_max_len():
    sentences, _ = sentiment(200, seed=9, max_len=5)
    assert max(len(s) for s in sentences) <= 5


# --------------------------------------------------------------------- corpus

def test_stdlib_modules_exist_and_are_sorted():
    assert list(STDLIB_MODULES) == sorted(STDLIB_MODULES) and len(STDLIB_MODULES) >= 30
    for name in STDLIB_MODULES:
        assert importlib.util.find_spec(name) is not None, name


def test_stdlib_corpus_is_normalised_and_deterministic():
    corpus = stdlib_corpus(max_chars=50_000)
    assert corpus.text == stdlib_corpus(max_chars=50_000).text
    text = corpus.text
    assert corpus.n_chars == len(text) == 50_000
    assert corpus.n_words == len(text.split())
    assert text.isascii() and text == text.lower()
    assert "  " not in text and "\t" not in text
    assert corpus.sources == [m for m in STDLIB_MODULES if m in corpus.sources]
    assert corpus.sources[0] == "argparse"
    desc = corpus.describe()
    assert f"{corpus.n_chars:,}" in desc and "standard-library" in desc and "argparse" in desc


def test_stdlib_corpus_default_size():
    corpus = stdlib_corpus()
    assert 150_000 <= corpus.n_chars <= 200_000
    assert len(corpus.sources) >= 20
    assert len(set(corpus.text)) < 100  # a character vocabulary of printable ASCII


# --------------------------------------------------------------------- padding

def test_pad_sequences():
    seqs = [[3, 1, 4], [1], [5, 9]]
    batch, mask = pad_sequences(seqs, pad=-1)
    assert batch.shape == mask.shape == (3, 3) and batch.dtype == np.int64
    for n, seq in enumerate(seqs):
        assert list(batch[:len(seq), n]) == seq
        assert all(batch[len(seq):, n] == -1)
        assert list(mask[:, n]) == [1.0] * len(seq) + [0.0] * (3 - len(seq))


# --------------------------------------------------------------------- bad input

def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        slot_filling(0)
    with pytest.raises(ValueError, match="unknown_rate must be"):
        slot_filling(5, unknown_rate=1.5)
    with pytest.raises(ValueError, match="seed must be"):
        adding_problem(5, 2, seed=-1)
    with pytest.raises(ValueError, match="T must be >= 2"):
        adding_problem(1, 2)
    with pytest.raises(ValueError, match="delay must be"):
        copy_task(0, 2)
    with pytest.raises(ValueError, match="noise must be"):
        noisy_sine(5, 2, noise=-0.1)
    with pytest.raises(ValueError, match="max_len must be >= 4"):
        sentiment(5, max_len=3)
    with pytest.raises(ValueError, match="max_chars must be"):
        stdlib_corpus(0)


def test_bad_sequences_for_padding():
    with pytest.raises(ValueError, match=r"seqs\[1\] must be an integer array"):
        pad_sequences([[1, 2], [0.5]])
    with pytest.raises(ValueError, match=r"seqs\[0\] must be a non-empty 1-D"):
        pad_sequences([[], [1]])
    with pytest.raises(ValueError, match="seqs must be a non-empty list"):
        pad_sequences([])
    with pytest.raises(ValueError, match="tokens and tags must have the same length"):
        data.Sentence(["a"], [])
