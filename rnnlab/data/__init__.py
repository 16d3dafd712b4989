"""Small seeded data sets for the course; nothing is downloaded (one generator per module).

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

from .adding import adding_problem
from .batching import pad_sequences
from .copying import copy_task
from .corpus import STDLIB_MODULES, Corpus, stdlib_corpus
from .hello import hello_ohlol
from .reviews import sentiment
from .sine import noisy_sine
from .slots import KNOWN_CITIES, SLOT_TAGS, UNKNOWN_CITIES, Sentence, slot_filling

__all__ = [
    "Sentence", "SLOT_TAGS", "KNOWN_CITIES", "UNKNOWN_CITIES", "slot_filling",
    "hello_ohlol", "adding_problem", "copy_task", "noisy_sine", "sentiment",
    "Corpus", "STDLIB_MODULES", "stdlib_corpus", "pad_sequences",
]
