"""Small seeded data sets for the course; nothing is downloaded.

Each generator takes a ``seed`` and draws from ``np.random.default_rng(seed)``, so the same
call always returns the same data. Index arrays are int64, masks and values float64, and
sequences are time-major ``(T, N, ...)``.

- :func:`slot_filling`: the lecture notes' running example ("leave for Dalian" vs "leave
  Dalian"), BIO tags for destination, departure and time (``book/01_feedforward_limits``,
  ``book/06_bidirectional``, capstone).
- :func:`hello_ohlol`: the notes' first character task (``book/03_rnn_cell``).
- :func:`adding_problem`, :func:`copy_task`: long-range memory benchmarks
  (``book/08_vanishing_gradients``, ``book/09_lstm``).
- :func:`noisy_sine`: next-step regression (``book/05_sequence_shapes``).
- :func:`sentiment`: many-to-one classification where negation and word order matter.
- :func:`stdlib_corpus`: text for character models, from this Python's own docstrings.
- :func:`pad_sequences`: ragged index lists to a padded batch and its mask.
"""

import importlib
import inspect
import platform
import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._validate import as_array, check_positive_int
from .encoding import Vocab

__all__ = [
    "Sentence", "SLOT_TAGS", "KNOWN_CITIES", "UNKNOWN_CITIES", "slot_filling",
    "hello_ohlol", "adding_problem", "copy_task", "noisy_sine", "sentiment",
    "Corpus", "STDLIB_MODULES", "stdlib_corpus", "pad_sequences",
]


def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return np.random.default_rng(int(seed))


def _check_rate(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


# --------------------------------------------------------------------------- slot filling

SLOT_TAGS = ["O", "B-dest", "I-dest", "B-depart", "I-depart", "B-time", "I-time"]

KNOWN_CITIES = (
    "Beijing", "Berlin", "Boston", "Cape Town", "Chicago", "Dalian", "Guangzhou", "Hong Kong",
    "London", "Los Angeles", "Madrid", "New York", "Paris", "Rome", "San Francisco", "Seattle",
    "Seoul", "Shanghai", "Shenzhen", "Singapore", "Sydney", "Taipei", "Tokyo", "Toronto",
)
# Never used as training cities: the test for the unknown ("other") slot. No word is shared
# with KNOWN_CITIES, so a vocabulary built on known cities really lacks every one of them.
UNKNOWN_CITIES = (
    "Buenos Aires", "Dublin", "Hanoi", "Harbin", "Kuala Lumpur", "Kunming", "Kyoto", "Lhasa",
    "Lima", "Nairobi", "Oslo", "Quito", "Tel Aviv",
)

# The same city is a destination after "for", "to", "in", "reach" and a departure after
# "leave", "from", "out of": only the context words tell the two apart.
_TEMPLATES = (
    # destination only
    "leave for {dest} {time}",
    "i would like to fly to {dest} {time}",
    "arrive in {dest} {time}",
    "book a ticket to {dest}",
    "i want to go to {dest} {time}",
    "{time} i need to be in {dest}",
    "show me flights to {dest} {time}",
    "travel to {dest} {time}",
    "my destination is {dest}",
    "get me to {dest} {time}",
    "how much is a flight to {dest}",
    "i am heading for {dest} {time}",
    "i must reach {dest} {time}",
    # departure only
    "leave {depart} {time}",
    "depart from {depart} {time}",
    "i am leaving {depart} {time}",
    "flights out of {depart} {time}",
    "i will be flying from {depart}",
    "{time} i leave {depart}",
    "what trains leave {depart} {time}",
    "my trip starts in {depart} {time}",
    # both
    "leave {depart} for {dest} {time}",
    "fly from {depart} to {dest} {time}",
    "from {depart} to {dest} {time}",
    "i want to go from {depart} to {dest}",
    "depart from {depart} and arrive in {dest} {time}",
    "{time} leave {depart} and arrive in {dest}",
    "to {dest} from {depart} {time}",
    "a ticket from {depart} to {dest} please",
    "i am flying to {dest} from {depart} {time}",
    "leaving {depart} {time} heading to {dest}",
    "travel from {depart} to {dest}",
    "show me flights from {depart} to {dest} {time}",
    "is there a train from {depart} to {dest} {time}",
    "i need to get to {dest} {time} leaving {depart}",
    "{time} i leave {depart} for {dest}",
    "leave {depart} {time} and go to {dest}",
)

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_PARTS = ("morning", "afternoon", "evening", "night")
_P_TIME = 0.7  # chance that a template's {time} slot is filled


def _time_phrase(rng):
    """A time expression as (tokens, tags); prepositions are O, the time itself B/I-time."""
    kind = int(rng.integers(9))
    day = _DAYS[rng.integers(len(_DAYS))]
    part = _PARTS[rng.integers(len(_PARTS))]
    if kind == 0:
        return ["on", day], ["O", "B-time"]
    if kind == 1:
        hour = str(int(rng.integers(1, 13)))
        return ["at", hour, ("am", "pm")[rng.integers(2)]], ["O", "B-time", "I-time"]
    if kind == 2:
        return ["tomorrow"], ["B-time"]
    if kind == 3:
        return ["tomorrow", part], ["B-time", "I-time"]
    if kind == 4:
        return ["next", day], ["B-time", "I-time"]
    if kind == 5:
        return ["this", part], ["B-time", "I-time"]
    if kind == 6:
        return ["on", day, part], ["O", "B-time", "I-time"]
    if kind == 7:
        return ["tonight"], ["B-time"]
    return ["at", "noon"], ["O", "B-time"]


def _span(words, label):
    return list(words), [f"B-{label}"] + [f"I-{label}"] * (len(words) - 1)


@dataclass
class Sentence:
    """A tagged sentence: ``tokens`` and ``tags`` are lists of equal length L."""

    tokens: list
    tags: list

    def __post_init__(self):
        if len(self.tokens) != len(self.tags):
            raise ValueError(f"tokens and tags must have the same length, got "
                             f"{len(self.tokens)} and {len(self.tags)}")

    def __str__(self):
        return " ".join(f"{w}/{t}" for w, t in zip(self.tokens, self.tags))


def slot_filling(n, seed=0, unknown_rate=0.1):
    """Travel requests with BIO tags over ``dest``, ``depart`` and ``time``.

    "leave for Dalian on Tuesday" tags Dalian ``B-dest`` and Tuesday ``B-time``; "leave Dalian"
    tags Dalian ``B-depart``. Every city appears in both roles across templates, so a model
    that sees one word at a time cannot tag cities; one that reads the context can.

    Each city slot is drawn from ``UNKNOWN_CITIES`` with probability ``unknown_rate`` and
    from ``KNOWN_CITIES`` otherwise. Generate training data with ``unknown_rate=0`` (or build
    the vocabulary from known words only) to test the unknown ("other") slot on new cities.

    n : int, number of sentences
    returns : list of n :class:`Sentence`
    """
    n = check_positive_int("n", n)
    unknown_rate = _check_rate("unknown_rate", unknown_rate)
    rng = _check_seed(seed)
    templates = [t.split() for t in _TEMPLATES]

    def city(exclude):
        pool = UNKNOWN_CITIES if rng.random() < unknown_rate else KNOWN_CITIES
        while True:
            name = pool[rng.integers(len(pool))]
            if name != exclude:
                return name.split()

    out = []
    for _ in range(n):
        words = templates[rng.integers(len(templates))]
        dest = city(None)
        depart = city(" ".join(dest))  # nobody travels from a city to itself
        tokens, tags = [], []
        for w in words:
            if w == "{dest}":
                span = _span(dest, "dest")
            elif w == "{depart}":
                span = _span(depart, "depart")
            elif w == "{time}":
                span = _time_phrase(rng) if rng.random() < _P_TIME else ([], [])
            else:
                span = [w], ["O"]
            tokens += span[0]
            tags += span[1]
        out.append(Sentence(tokens, tags))
    return out


# --------------------------------------------------------------------------- toy sequences

def hello_ohlol():
    """The notes' task: read "hello", output "ohlol", one character per step.

    returns : vocab (the notes' dictionary e, h, l, o at indices 0..3, no unknown slot),
        x_idx ndarray (5,) int64 for "hello", y_idx ndarray (5,) int64 for "ohlol"
    """
    # Distinct characters each seen once sort alphabetically, as in the notes.
    vocab = Vocab(sorted(set("hello")), unk=None)
    return vocab, vocab.encode("hello"), vocab.encode("ohlol")


def adding_problem(T, N, seed=0):
    """The adding problem (Hochreiter and Schmidhuber, 1997).

    Channel 0 holds random numbers in [0, 1); channel 1 marks two steps, one in the first
    half and one in the second; the target is the sum of the two marked numbers, so the
    model must remember a value across up to T steps.

    T : int >= 2, N : int
    returns : x ndarray (T, N, 2), y ndarray (N,)
    """
    T = check_positive_int("T", T)
    N = check_positive_int("N", N)
    if T < 2:
        raise ValueError(f"T must be >= 2 (one marker in each half), got {T}")
    rng = _check_seed(seed)
    values = rng.uniform(0.0, 1.0, size=(T, N))
    first = rng.integers(0, T // 2, size=N)
    second = rng.integers(T // 2, T, size=N)
    cols = np.arange(N)
    markers = np.zeros((T, N))
    markers[first, cols] = 1.0
    markers[second, cols] = 1.0
    x = np.stack([values, markers], axis=-1)  # (T, N, 2)
    y = values[first, cols] + values[second, cols]
    return x, y


def copy_task(delay, N, n_symbols=8, length=5, seed=0):
    """Copy task: recall ``length`` symbols after ``delay`` blank steps.

    Input symbols are 1..n_symbols, 0 is blank and ``n_symbols + 1`` is the "go" marker (so
    the input vocabulary has ``n_symbols + 2`` entries). With ``T = 2 * length + delay``::

        x: s_1 .. s_L | 0 .. 0 go      | 0 .. 0
        y: 0 .. 0     | 0 .. 0 0       | s_1 .. s_L
           L steps      delay steps      L steps

    Symbol ``s_k`` is read at step ``k`` and must be emitted at step ``length + delay + k``.
    ``mask`` is 1 only on the last ``length`` steps, where the loss counts.

    delay : int >= 1, N : int, n_symbols : int, length : int
    returns : x ndarray (T, N) int64, y ndarray (T, N) int64, mask ndarray (T, N) float64
    """
    delay = check_positive_int("delay", delay)
    N = check_positive_int("N", N)
    n_symbols = check_positive_int("n_symbols", n_symbols)
    length = check_positive_int("length", length)
    rng = _check_seed(seed)
    T = 2 * length + delay
    symbols = rng.integers(1, n_symbols + 1, size=(length, N))
    x = np.zeros((T, N), dtype=np.int64)
    y = np.zeros((T, N), dtype=np.int64)
    mask = np.zeros((T, N))
    x[:length] = symbols
    x[length + delay - 1] = n_symbols + 1
    y[length + delay:] = symbols
    mask[length + delay:] = 1.0
    return x, y, mask


def noisy_sine(T, N, seed=0, noise=0.05):
    """Next-step prediction on noisy sine waves of random frequency and phase.

    ``s_t = sin(omega t + phi) + noise * e_t`` with ``omega`` uniform in [0.1, 0.4] rad per
    step, ``phi`` uniform in [0, 2 pi), ``e_t`` standard normal; ``x_t = s_t``, ``y_t = s_{t+1}``.

    T : int, N : int, noise : float >= 0
    returns : x ndarray (T, N, 1), y ndarray (T, N, 1)
    """
    T = check_positive_int("T", T)
    N = check_positive_int("N", N)
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not noise >= 0:
        raise ValueError(f"noise must be a number >= 0, got {noise!r}")
    rng = _check_seed(seed)
    omega = rng.uniform(0.1, 0.4, size=N)
    phi = rng.uniform(0.0, 2 * np.pi, size=N)
    t = np.arange(T + 1)[:, None]
    s = np.sin(omega * t + phi) + noise * rng.standard_normal((T + 1, N))  # (T+1, N)
    return s[:-1, :, None], s[1:, :, None]


# --------------------------------------------------------------------------- sentiment

_POSITIVE = ("good", "great", "excellent", "wonderful", "enjoyable", "brilliant", "fun")
_NEGATIVE = ("bad", "awful", "boring", "terrible", "dull", "poor", "weak")
_SUBJECTS = (("the", "movie"), ("the", "film"), ("the", "plot"), ("the", "acting"),
             ("the", "music"), ("the", "ending"), ("the", "story"), ("the", "cast"),
             ("this", "film"), ("it",))
_INTENSIFIERS = ("really", "very", "quite", "truly")


def _clause(rng, label, room):
    """A clause of at most ``room`` words whose polarity is ``label`` (1 positive)."""
    negated = rng.random() < 0.4
    # "not" flips the adjective, so a positive clause may be built from a negative word.
    pool = _POSITIVE if (label == 1) != negated else _NEGATIVE
    subject = list(_SUBJECTS[rng.integers(len(_SUBJECTS))])
    verb = ("is", "was")[rng.integers(2)]
    intens = [_INTENSIFIERS[rng.integers(len(_INTENSIFIERS))]] if rng.random() < 0.3 else []
    adj = pool[rng.integers(len(pool))]
    words = subject + [verb] + (["not"] if negated else []) + intens + [adj]
    if len(words) > room:  # shorten without changing the meaning
        words = ["it", verb] + (["not"] if negated else []) + [adj]
    return words


def sentiment(n, seed=0, max_len=12):
    """Short reviews labelled positive (1) or negative (0), read many-to-one.

    Two things make the label depend on more than the set of words: negation ("the plot was
    not good" is negative, "it is not bad" positive: no linear bag-of-words model can fit
    both), and contrast ("the acting was good but the plot was dull" takes the polarity of
    the clause after "but"; swapping the clauses keeps the words and flips the label).

    n : int, max_len : int >= 4 (longest sentence in words)
    returns : sentences list of n lists of str, labels ndarray (n,) int64
    """
    n = check_positive_int("n", n)
    max_len = check_positive_int("max_len", max_len)
    if max_len < 4:
        raise ValueError(f"max_len must be >= 4 (room for 'it is not good'), got {max_len}")
    rng = _check_seed(seed)
    labels = rng.integers(0, 2, size=n)
    sentences = []
    for label in labels:
        last = _clause(rng, label, max_len)
        room = max_len - len(last) - 1
        if rng.random() < 0.35 and room >= 4:
            first = _clause(rng, 1 - label, room)  # the opposite view, overruled by "but"
            sentences.append(first + ["but"] + last)
        else:
            sentences.append(last)
    return sentences, labels.astype(np.int64)


# --------------------------------------------------------------------------- text corpus

# Pure-Python or always-built modules of every CPython 3.11 install, sorted.
STDLIB_MODULES = (
    "argparse", "base64", "bisect", "calendar", "collections", "contextlib", "copy", "csv",
    "dataclasses", "datetime", "decimal", "difflib", "enum", "fractions", "functools", "heapq",
    "inspect", "itertools", "json", "logging", "pathlib", "pprint", "random", "re", "shlex",
    "statistics", "string", "textwrap", "typing", "unittest", "uuid", "zipfile",
)


@dataclass
class Corpus:
    """A text corpus and where it came from.

    text : str, lower-case ASCII, one docstring per line
    sources : list of str, the modules whose docstrings are in ``text``
    n_chars : int, ``len(text)``
    n_words : int, whitespace-separated words
    """

    text: str
    sources: list
    n_chars: int
    n_words: int
    python_version: str = field(default_factory=platform.python_version)

    def describe(self):
        """One sentence giving the size and the source of the corpus."""
        return (f"{self.n_chars:,} characters ({self.n_words:,} words) from the docstrings of "
                f"{len(self.sources)} standard-library modules of Python {self.python_version} "
                f"({', '.join(self.sources)}), lower-cased ASCII.")


def _docstrings(module):
    """The module's docstring, then those of its public classes (with their methods) and
    functions defined in it, in alphabetical order."""
    docs = [module.__doc__]
    with warnings.catch_warnings():  # typing.io and typing.re warn when touched
        warnings.simplefilter("ignore")
        for name, obj in sorted(vars(module).items()):
            if name.startswith("_"):
                continue
            if not (inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj)):
                continue
            if getattr(obj, "__module__", None) != module.__name__:
                continue
            docs.append(obj.__doc__)
            if inspect.isclass(obj):
                for m_name, member in sorted(vars(obj).items()):
                    if not m_name.startswith("_") and (
                            callable(member) or isinstance(member, (staticmethod, classmethod, property))):
                        docs.append(getattr(member, "__doc__", None))
    return [d for d in docs if isinstance(d, str)]


def _normalise(doc):
    """Lower-case, drop non-ASCII characters, collapse every run of whitespace to one space."""
    doc = doc.lower().encode("ascii", "ignore").decode("ascii")
    return re.sub(r"\s+", " ", doc).strip()


def stdlib_corpus(max_chars=200_000):
    """Text for character-level models: docstrings of ``STDLIB_MODULES`` of this Python.

    Nothing is downloaded; the same Python version always gives the same text. Docstrings
    are normalised (:func:`_normalise`), repeated ones kept once, joined by newlines, and the
    text is cut at ``max_chars``.

    max_chars : int
    returns : :class:`Corpus`
    """
    max_chars = check_positive_int("max_chars", max_chars)
    lines, sources, seen, size = [], [], set(), 0
    for name in STDLIB_MODULES:
        if size >= max_chars:
            break
        module = importlib.import_module(name)
        for doc in _docstrings(module):
            doc = _normalise(doc)
            if not doc or doc in seen:
                continue
            seen.add(doc)
            lines.append(doc)
            size += len(doc) + 1
            if not sources or sources[-1] != name:
                sources.append(name)
            if size >= max_chars:
                break
    text = "\n".join(lines)[:max_chars]
    return Corpus(text=text, sources=sources, n_chars=len(text), n_words=len(text.split()))


# --------------------------------------------------------------------------- batching

def pad_sequences(seqs, pad=0):
    """Stack index sequences of different lengths into a time-major batch.

    seqs : list of N non-empty 1-D int sequences, lengths L_n
    pad : int, value written after the end of each sequence
    returns : batch ndarray (T, N) int64 with ``T = max L_n``, mask ndarray (T, N) float64
        (1 on real steps, 0 on padding)
    """
    if isinstance(seqs, (str, np.ndarray)) or not hasattr(seqs, "__len__") or len(seqs) == 0:
        raise ValueError(f"seqs must be a non-empty list of index sequences, got {type(seqs).__name__}")
    if isinstance(pad, bool) or not isinstance(pad, (int, np.integer)):
        raise ValueError(f"pad must be an int, got {pad!r}")
    arrays = []
    for n, seq in enumerate(seqs):
        # An empty list would otherwise be reported as a float array.
        arr = as_array(f"seqs[{n}]", seq, dtype=np.int64 if np.size(seq) else None)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"seqs[{n}] must be a non-empty 1-D sequence (L,), got shape {arr.shape}")
        arrays.append(arr)
    lengths = np.array([len(a) for a in arrays])
    T, N = int(lengths.max()), len(arrays)
    mask = (np.arange(T)[:, None] < lengths[None, :]).astype(np.float64)  # (T, N)
    batch = np.full((T, N), pad, dtype=np.int64)
    # batch.T walks sequence by sequence, step by step: the order of the concatenation.
    batch.T[mask.T > 0] = np.concatenate(arrays)
    return batch, mask
