"""Slot filling, the lecture notes' running example: travel requests with BIO tags.

"leave for Dalian" tags Dalian ``B-dest``, "leave Dalian" tags it ``B-depart``
(``book/01_feedforward_limits``, ``book/06_bidirectional``, capstone).
"""

from dataclasses import dataclass

from .._validate import check_positive_int
from ._checks import _check_rate, _check_seed

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
