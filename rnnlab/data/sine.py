"""Noisy sine waves for next-step regression (``book/05_sequence_shapes``)."""

import numpy as np

from .._validate import check_positive_int
from ._checks import _check_seed

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
