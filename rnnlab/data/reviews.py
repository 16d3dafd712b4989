"""Short reviews for many-to-one classification, where negation and word order matter."""

import numpy as np

from .._validate import check_positive_int
from ._checks import _check_seed

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
