"""The copy task, a long-range memory benchmark (``book/09_lstm``)."""

import numpy as np

from .._validate import check_positive_int
from ._checks import _check_seed

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
