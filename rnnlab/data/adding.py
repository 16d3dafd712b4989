"""The adding problem, a long-range memory benchmark (``book/08_vanishing_gradients``)."""

import numpy as np

from .._validate import check_positive_int
from ._checks import _check_seed

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
