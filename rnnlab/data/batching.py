"""Ragged index sequences to a padded time-major batch and its mask."""

import numpy as np

from .._validate import as_array

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
