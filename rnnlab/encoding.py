"""Turning tokens into numbers: a vocabulary, one-hot vectors and an embedding lookup.

Taught in the book's chapters "Turning words into vectors" (``book/02_one_hot``) and
"Embeddings" (``book/11_embeddings``). A vocabulary maps each token to an index in
``[0, V)``; index 0 is the unknown slot (the lecture notes' "other" entry), so a word never seen
in training still gets a vector. A one-hot vector of index ``k`` is row ``k`` of the identity;
an embedding is a learned dense row ``W_emb[k]``, which equals ``one_hot(k) @ W_emb``.

where:
    T  time steps, N  batch size, V  vocabulary size, E  embedding width
"""

from collections import Counter

import numpy as np

from ._validate import as_array, check_finite, check_indices, check_positive_int, check_shape

__all__ = ["Vocab", "one_hot", "embedding_forward", "embedding_backward"]


def _as_index_array(indices, name, V):
    """Return ``indices`` as an int64 array, checking every entry lies in ``[0, V)``."""
    arr = as_array(name, indices, dtype=np.int64)
    check_indices(name, arr, V)
    return arr


class Vocab:
    """A deterministic token <-> index mapping with an explicit unknown slot.

    Parameters
    ----------
    tokens : iterable of str
        The training tokens; a single string gives its characters (``Vocab("hello")``).
    unk : str or None
        Token of the unknown slot, index 0. With ``None`` there is no slot and encoding an
        unknown token raises ``ValueError``.
    min_freq : int
        Tokens seen fewer times than this are left out (they encode to ``unk``).
    specials : sequence of str
        Tokens placed right after ``unk`` (padding, start, end markers), in the given order.

    Order: ``unk``, then ``specials``, then tokens by descending frequency, ties broken
    alphabetically, so the same tokens always give the same indices whatever their order.
    """

    def __init__(self, tokens, unk="<unk>", min_freq=1, specials=()):
        check_positive_int("min_freq", min_freq)
        if isinstance(specials, str):
            raise ValueError(f"specials must be a sequence of strings, got the string {specials!r}")
        specials = list(specials)
        head = ([unk] if unk is not None else []) + specials
        for tok in head:
            if not isinstance(tok, str):
                raise ValueError(f"unk and specials must be strings, got {tok!r}")
        if len(set(head)) != len(head):
            raise ValueError(f"unk and specials must be distinct, got {head}")
        tokens = list(tokens)
        for tok in tokens:
            if not isinstance(tok, str):
                raise ValueError(f"tokens must be strings, got {type(tok).__name__} {tok!r}")
        counts = Counter(tok for tok in tokens if tok not in head)
        kept = [tok for tok, c in counts.items() if c >= min_freq]
        kept.sort(key=lambda tok: (-counts[tok], tok))
        self.itos = head + kept
        self.stoi = {tok: i for i, tok in enumerate(self.itos)}
        self.unk = unk
        self.unk_index = 0 if unk is not None else None
        self.counts = dict(counts)

    def __len__(self):
        return len(self.itos)

    def __contains__(self, token):
        return token in self.stoi

    def __repr__(self):
        preview = ", ".join(repr(t) for t in self.itos[:8])
        more = ", ..." if len(self) > 8 else ""
        return f"Vocab(V={len(self)}: [{preview}{more}])"

    def encode(self, tokens):
        """Indices of ``tokens``.

        tokens : iterable of str (a string gives its characters)
        returns : ndarray (len(tokens),) int64; unknown tokens map to ``unk_index``.
        """
        out = []
        for tok in tokens:
            idx = self.stoi.get(tok, self.unk_index)
            if idx is None:
                raise ValueError(f"tokens contains {tok!r}, which is not in the vocabulary "
                                 f"(V={len(self)}, no unknown slot because unk=None)")
            out.append(idx)
        return np.array(out, dtype=np.int64)

    def decode(self, indices):
        """Tokens of ``indices``.

        indices : ndarray (L,) int, each in ``[0, V)``
        returns : list of L str
        """
        arr = _as_index_array(indices, "indices", len(self))
        if arr.ndim != 1:
            raise ValueError(f"indices must be 1-D (L,), got shape {arr.shape}")
        return [self.itos[i] for i in arr]


def one_hot(indices, V):
    """One-hot vectors: row ``indices[...]`` of the ``V x V`` identity.

    indices : ndarray (T, N) int (any shape S), each in ``[0, V)``
    V : int, vocabulary size
    returns : ndarray (T, N, V) float64 (in general ``(*S, V)``)
    """
    V = check_positive_int("V", V)
    idx = _as_index_array(indices, "indices", V)
    out = np.zeros(idx.shape + (V,), dtype=np.float64)
    np.put_along_axis(out, idx[..., None], 1.0, axis=-1)
    return out


def embedding_forward(indices, W_emb):
    """Embedding lookup ``out[t, n] = W_emb[indices[t, n]]``.

    Equivalent to ``one_hot(indices, V) @ W_emb`` without building the one-hot tensor.

    indices : ndarray (T, N) int (any shape S), each in ``[0, V)``
    W_emb : ndarray (V, E)
    returns : out ndarray (T, N, E) (in general ``(*S, E)``), cache for the backward pass
    """
    W_emb = as_array("W_emb", W_emb, dims="(V, E)", finite=True)
    V, E = W_emb.shape
    idx = _as_index_array(indices, "indices", V)
    out = W_emb[idx]
    # Keep a private copy: a caller reusing its index buffer must not change the backward pass.
    cache = (idx.copy(), V, E)
    return out, cache


def embedding_backward(dout, cache):
    """Gradient of the embedding table.

    Row ``k`` of ``dW_emb`` is the sum of ``dout[t, n]`` over every position with
    ``indices[t, n] == k``; ``np.add.at`` accumulates repeats (``dW[idx] += dout`` would not).

    dout : ndarray (T, N, E), upstream gradient on ``out``
    cache : from :func:`embedding_forward`
    returns : dW_emb ndarray (V, E)
    """
    idx, V, E = cache
    dout = as_array("dout", dout)
    check_shape("dout", dout, idx.shape + (E,), dims="(T, N, E)" if idx.ndim == 2 else None)
    check_finite("dout", dout)
    dW_emb = np.zeros((V, E), dtype=np.float64)
    np.add.at(dW_emb, idx.ravel(), dout.reshape(-1, E))  # (T*N, E)
    return dW_emb
