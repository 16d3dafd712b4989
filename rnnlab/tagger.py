"""Small sequence taggers (one tag per word) trained with rnnlab's own forward/backward code.

Used by the book's chapters "Feedforward limits" (``book/01_feedforward_limits``), "Elman
and Jordan networks" (``book/04_elman_jordan``) and "Bidirectional RNNs"
(``book/06_bidirectional``), and by an assignment. Four kinds share one pipeline::

    words --(one-hot or embedding)--> x (T, N, D) --(body)--> scores z (T, N, K) --> loss

    "mlp"     h_t = tanh(W_ih x_t + b_ih), z_t = W_hy h_t + b_y        (no context at all)
    "elman"   h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), z_t = W_hy h_t + b_y
    "jordan"  h_t = tanh(W_ih x_t + b_ih + W_yh y_{t-1} + b_hh), z_t = W_hy h_t + b_y,
              y_t = softmax(z_t) (sigmoid with the "bce" loss) fed back to the next step
    "birnn"   forward and backward Elman states concatenated, z_t = W_hy [h_t ; h'_t] + b_y

Sentences of different lengths are padded to the longest one in the batch; a mask (1 for a
word, 0 for padding) keeps padding out of the loss. Padding sits at the end, so it never
reaches a real word in the left-to-right models. The backward half of the BiRNN would read the
padding *first*; to keep each sentence's result independent of what it is batched with, that
half runs on every sentence reversed within its own length (what PyTorch's
``pack_padded_sequence`` does). Without padding this is exactly :func:`rnnlab.birnn.birnn_forward`
(tested).

Losses: ``"softmax"`` is softmax cross-entropy over the K mutually exclusive tags; ``"bce"``
is binary cross-entropy on K independent sigmoid outputs (one yes/no question per tag), the
loss the lecture notes use. The prediction is the highest-scoring tag in both cases.

where:
    T  time steps (longest sentence in the batch), N  batch size, V  vocabulary size,
    E  embedding width, D  input width (V for one-hot, E for embeddings), H  hidden units,
    K  number of tags
"""

from dataclasses import dataclass, field

import numpy as np

from ._validate import as_array, check_choice, check_positive_int, check_same, check_shape
from .activations import ACTIVATIONS, tanh
from .encoding import Vocab, embedding_backward, embedding_forward, one_hot
from .jordan import init_jordan_params, jordan_backward, jordan_forward
from .layers import linear_backward, linear_forward
from .losses import binary_cross_entropy, softmax_cross_entropy
from .metrics import entity_f1
from .optim import Adam, clip_grad_norm
from .rnn import init_rnn_params, rnn_backward, rnn_forward

__all__ = ["KINDS", "LOSSES", "TaggerConfig", "Tagger", "init_tagger", "tagger_forward",
           "tagger_loss", "train_tagger", "predict", "evaluate", "token_accuracy",
           "encode_batch"]

KINDS = ("mlp", "elman", "jordan", "birnn")
LOSSES = ("softmax", "bce")
_TINY = 1e-300
_ELMAN = ("W_ih", "W_hh", "b_ih", "b_hh")
_JORDAN = ("W_ih", "W_yh", "b_ih", "b_hh", "W_hy", "b_y")


@dataclass
class TaggerConfig:
    """Hyperparameters of a tagger and its training run.

    hidden : int, hidden units H (per direction for the BiRNN)
    embed : int or None, embedding width E; None feeds one-hot vectors (D = V)
    lr : float, Adam learning rate
    epochs : int, passes over the training set
    batch_size : int, sentences per update
    seed : int, seeds the initial weights, the shuffling and the word dropout
    loss : "softmax" (mutually exclusive tags) or "bce" (independent per-tag sigmoids)
    clip : float or None, global gradient-norm clipping threshold
    word_dropout : float in [0, 1), chance that a training word is replaced by the unknown
        token, so the model learns to tag words it has never seen from their context
    """

    hidden: int = 32
    embed: int | None = None
    lr: float = 0.01
    epochs: int = 10
    batch_size: int = 32
    seed: int = 0
    loss: str = "softmax"
    clip: float | None = 5.0
    word_dropout: float = 0.0

    def __post_init__(self):
        check_positive_int("hidden", self.hidden)
        check_positive_int("embed", self.embed, allow_none=True)
        check_positive_int("epochs", self.epochs)
        check_positive_int("batch_size", self.batch_size)
        check_choice("loss", self.loss, LOSSES)
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr must be a number > 0, got {self.lr!r}")
        if self.clip is not None and not (isinstance(self.clip, (int, float)) and self.clip > 0):
            raise ValueError(f"clip must be a number > 0 or None, got {self.clip!r}")
        if not (isinstance(self.word_dropout, (int, float)) and 0 <= self.word_dropout < 1):
            raise ValueError(f"word_dropout must be in [0, 1), got {self.word_dropout!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)):
            raise ValueError(f"seed must be an int, got {self.seed!r}")


@dataclass
class Tagger:
    """A trained (or freshly initialised) tagger.

    kind : one of ``KINDS``
    config : :class:`TaggerConfig`
    vocab : :class:`rnnlab.encoding.Vocab` of words, index 0 the unknown word
    tags : :class:`rnnlab.encoding.Vocab` of tags (no unknown slot)
    params : dict name -> ndarray; ``W_emb (V, E)`` with embeddings, then per kind
        mlp: ``W_ih (H, D)``, ``b_ih (H,)``, ``W_hy (K, H)``, ``b_y (K,)``;
        elman: ``W_ih, W_hh, b_ih, b_hh`` (as :mod:`rnnlab.rnn`), ``W_hy (K, H)``, ``b_y``;
        jordan: the parameters of :mod:`rnnlab.jordan`;
        birnn: ``fwd.W_ih`` ... and ``bwd.W_ih`` ... (two Elman cells), ``W_hy (K, 2H)``, ``b_y``
    """

    kind: str
    config: TaggerConfig
    vocab: Vocab
    tags: Vocab
    params: dict = field(repr=False)

    @property
    def V(self):
        return len(self.vocab)

    @property
    def K(self):
        return len(self.tags)

    def n_params(self):
        """Number of trainable numbers."""
        return int(sum(p.size for p in self.params.values()))


def _linear_init(rng, K, H):
    """``W (K, H)``, ``b (K,)`` uniform(-1/sqrt(H), 1/sqrt(H)), PyTorch's ``nn.Linear`` default."""
    k = 1.0 / np.sqrt(H)
    return rng.uniform(-k, k, size=(K, H)), rng.uniform(-k, k, size=(K,))


def _reverse_within_length(a, lengths):
    """Reverse each column over its own length; padding stays at the end.

    a : ndarray (T, N, ...); lengths : ndarray (N,) int, each in [1, T]
    returns : ndarray like ``a``. The map is its own inverse, and so is its gradient.
    """
    T, N = a.shape[:2]
    t = np.arange(T)[:, None]
    src = np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)  # (T, N)
    return np.take_along_axis(a, src.reshape((T, N) + (1,) * (a.ndim - 2)), axis=0)


def _sub(params, prefix):
    """The Elman parameters stored under ``prefix`` (``"fwd."`` or ``"bwd."``), without it."""
    return {k: params[prefix + k] for k in _ELMAN}


# -- the body of each kind: x (T, N, D) -> h (T, N, width), and back --------------------------
# init(rng, D, H, K, seeds) -> params of the body; forward(model, x, cache) -> h (T, N, width),
# or the scores z (T, N, K) when the body owns its read-out; backward(model, d, cache) ->
# (dx, grads), d being dh, or dz for a body that owns its read-out.

def _mlp_init(rng, D, H, K, seeds):
    W, b = _linear_init(rng, H, D)
    return {"W_ih": W, "b_ih": b}


def _mlp_forward(model, x, cache):
    a, cache["in"] = linear_forward(x, model.params["W_ih"], model.params["b_ih"])
    cache["h"] = tanh(a)
    return cache["h"]


def _mlp_backward(model, dh, cache):
    da = dh * ACTIVATIONS["tanh"][1](cache["h"])
    dx, g = linear_backward(da, cache["in"])
    return dx, {"W_ih": g["W"], "b_ih": g["b"]}


def _elman_init(rng, D, H, K, seeds):
    return init_rnn_params(D, H, seed=seeds[0])


def _elman_forward(model, x, cache):
    h, cache["rnn"] = rnn_forward(x, None, {k: model.params[k] for k in _ELMAN})
    return h


def _elman_backward(model, dh, cache):
    dx, _, g = rnn_backward(dh, cache["rnn"])
    return dx, g


def _jordan_init(rng, D, H, K, seeds):
    return init_jordan_params(D, H, K, seed=seeds[0])


def _jordan_forward(model, x, cache):
    N = x.shape[1]
    out = "softmax" if model.config.loss == "softmax" else "sigmoid"
    params = {k: model.params[k] for k in _JORDAN}
    cache["y"], cache["jordan"] = jordan_forward(x, np.zeros((N, model.K)), params, output=out)
    return cache["jordan"]["z"]


def _jordan_backward(model, dz, cache):
    y = cache["y"]
    # jordan_backward wants the gradient on the fed-back outputs y = out(z) and applies
    # out's Jacobian itself; dividing dz by out'(z) (from the same y) undoes it. For
    # softmax, J^T (dz / y) = dz - y * sum(dz) = dz because each row of dz sums to 0.
    # Only a saturated output (y or y(1-y) below 1e-300) loses its gradient.
    if model.config.loss == "softmax":
        dy = dz / np.maximum(y, _TINY)
    else:
        dy = dz / np.maximum(y * (1.0 - y), _TINY)
    dx, _, g = jordan_backward(dy, cache["jordan"])
    return dx, g


def _birnn_init(rng, D, H, K, seeds):
    params = {f"fwd.{k}": v for k, v in init_rnn_params(D, H, seed=seeds[0]).items()}
    params.update({f"bwd.{k}": v for k, v in init_rnn_params(D, H, seed=seeds[1]).items()})
    return params


def _birnn_forward(model, x, cache):
    p, lengths = model.params, cache["lengths"]
    h_f, cache["fwd"] = rnn_forward(x, None, _sub(p, "fwd."))
    h_b, cache["bwd"] = rnn_forward(_reverse_within_length(x, lengths), None, _sub(p, "bwd."))
    return np.concatenate([h_f, _reverse_within_length(h_b, lengths)], axis=-1)  # (T, N, 2H)


def _birnn_backward(model, dh, cache):
    H = dh.shape[-1] // 2
    lengths = cache["lengths"]
    dx, _, g_f = rnn_backward(dh[..., :H], cache["fwd"])
    dx_b, _, g_b = rnn_backward(_reverse_within_length(dh[..., H:], lengths), cache["bwd"])
    grads = {f"fwd.{k}": v for k, v in g_f.items()}
    grads.update({f"bwd.{k}": v for k, v in g_b.items()})
    return dx + _reverse_within_length(dx_b, lengths), grads


@dataclass(frozen=True)
class _Body:
    """A kind's functions; ``readout``: the width of the states fed to ``W_hy`` as a multiple
    of H, or 0 when the body computes the scores itself (the Jordan cell owns ``W_hy``)."""

    init: object
    forward: object
    backward: object
    readout: int = 1


BODIES = {
    "mlp": _Body(_mlp_init, _mlp_forward, _mlp_backward),
    "elman": _Body(_elman_init, _elman_forward, _elman_backward),
    "jordan": _Body(_jordan_init, _jordan_forward, _jordan_backward, readout=0),
    "birnn": _Body(_birnn_init, _birnn_forward, _birnn_backward, readout=2),
}


def init_tagger(kind, vocab, tags, config):
    """A tagger with fresh weights drawn from ``config.seed``.

    kind : one of ``KINDS``; vocab, tags : :class:`Vocab`; config : :class:`TaggerConfig`
    returns : :class:`Tagger`
    """
    check_choice("kind", kind, KINDS)
    if not isinstance(config, TaggerConfig):
        raise ValueError(f"config must be a TaggerConfig, got {type(config).__name__}")
    V, K, H, E = len(vocab), len(tags), config.hidden, config.embed
    rng = np.random.default_rng(config.seed)
    params = {}
    if E is not None:
        params["W_emb"] = rng.normal(size=(V, E))  # N(0, 1), as torch.nn.Embedding
    D = V if E is None else E
    # Integer seeds for the rnnlab initialisers, drawn from the one generator.
    seeds = tuple(int(s) for s in rng.integers(0, 2**31, size=2))
    body = BODIES[kind]
    params.update(body.init(rng, D, H, K, seeds))
    if body.readout:
        params["W_hy"], params["b_y"] = _linear_init(rng, K, body.readout * H)
    return Tagger(kind=kind, config=config, vocab=vocab, tags=tags, params=params)


def tagger_forward(model, idx, mask):
    """Tag scores for a padded batch.

    idx : ndarray (T, N) int, word indices in ``[0, V)`` (anything valid at padding)
    mask : ndarray (T, N), 1 for a word, 0 for padding; each column is 1s then 0s, length >= 1
    returns : z ndarray (T, N, K) (logits), cache for :func:`tagger_backward`
    """
    idx = as_array("idx", idx, dims="(T, N)", dtype=np.int64)
    mask = as_array("mask", mask, dims="(T, N)")
    check_shape("mask", mask, idx.shape, dims="(T, N)")
    lengths = mask.sum(axis=0).astype(np.int64)
    T = idx.shape[0]
    if not np.array_equal(mask, (np.arange(T)[:, None] < lengths[None, :]).astype(np.float64)):
        raise ValueError(f"mask of shape {mask.shape} must be 1s then 0s in every column (padding at the end)")
    if lengths.size and lengths.min() < 1:
        raise ValueError(f"every sentence needs at least one word; mask column {int(np.argmin(lengths))} is all 0")
    p = model.params
    cache = {"idx": idx, "lengths": lengths}
    if model.config.embed is None:
        x = one_hot(idx, model.V)  # (T, N, V); validates the indices
    else:
        x, cache["emb"] = embedding_forward(idx, p["W_emb"])  # (T, N, E)
    body = BODIES[model.kind]
    h = body.forward(model, x, cache)
    if not body.readout:
        return h, cache
    z, cache["out"] = linear_forward(h, p["W_hy"], p["b_y"])
    return z, cache


def tagger_backward(model, dz, cache):
    """Gradients of every parameter given the gradient on the scores.

    dz : ndarray (T, N, K); cache : from :func:`tagger_forward`
    returns : grads dict with the keys of ``model.params``
    """
    body = BODIES[model.kind]
    grads = {}
    if body.readout:
        dh, g = linear_backward(dz, cache["out"])
        grads["W_hy"], grads["b_y"] = g["W"], g["b"]
    else:
        dh = dz
    dx, g = body.backward(model, dh, cache)
    grads.update(g)
    if "emb" in cache:
        grads["W_emb"] = embedding_backward(dx, cache["emb"])
    return {k: grads[k] for k in model.params}


def tagger_loss(model, idx, targets, mask):
    """Mean loss over the words of a padded batch, and its gradient for every parameter.

    idx : ndarray (T, N) int; targets : ndarray (T, N) int tag indices (anything at padding);
    mask : ndarray (T, N)
    returns : loss float, grads dict with the keys of ``model.params``
    """
    z, cache = tagger_forward(model, idx, mask)
    targets = as_array("targets", targets, dims="(T, N)", dtype=np.int64)
    check_same("targets", targets, "idx", cache["idx"], 0, "time T")
    mask = np.asarray(mask, dtype=np.float64)
    if model.config.loss == "softmax":
        loss, dz = softmax_cross_entropy(z, targets, mask)
    else:
        safe = np.where(mask > 0, targets, 0)
        y_true = one_hot(safe, model.K)  # (T, N, K): one "yes" per word
        loss, dz = binary_cross_entropy(z, y_true, np.broadcast_to(mask[..., None], z.shape))
    return loss, tagger_backward(model, dz, cache)


def _tokens_of(sentence):
    return list(sentence.tokens) if hasattr(sentence, "tokens") else list(sentence)


def encode_batch(model, sentences, with_tags=True):
    """Pad a list of sentences into index arrays.

    sentences : list of N ``Sentence`` (``tokens``, ``tags``) or of token lists
    returns : idx (T, N) int64, targets (T, N) int64 or None, mask (T, N) float64
    """
    if len(sentences) == 0:
        raise ValueError("sentences must hold at least one sentence, got an empty list")
    toks = [_tokens_of(s) for s in sentences]
    for n, words in enumerate(toks):
        if len(words) < 1:
            raise ValueError(f"sentence {n} is empty: every sentence needs a word")
        if with_tags and len(sentences[n].tags) != len(words):
            raise ValueError(f"sentence {n} has {len(words)} tokens but {len(sentences[n].tags)} tags")
    words_idx = [model.vocab.encode(words) for words in toks]
    tags_idx = [model.tags.encode(list(s.tags)) for s in sentences] if with_tags else None
    return _pad(words_idx, tags_idx)


def _pad(words_idx, tags_idx=None):
    """Stack encoded sentences (lists of 1-D int arrays) into (idx, targets, mask), each (T, N)."""
    lengths = np.array([len(w) for w in words_idx])
    T, N = int(lengths.max()), len(words_idx)
    idx = np.zeros((T, N), dtype=np.int64)  # padding reads the unknown word; the mask hides it
    targets = np.zeros((T, N), dtype=np.int64) if tags_idx is not None else None
    mask = (np.arange(T)[:, None] < lengths[None, :]).astype(np.float64)
    for n, L in enumerate(lengths):
        idx[:L, n] = words_idx[n]
        if targets is not None:
            targets[:L, n] = tags_idx[n]
    return idx, targets, mask


def train_tagger(kind, train, config=None, valid=None):
    """Build the vocabularies from ``train``, initialise a tagger and train it with Adam.

    kind : one of ``KINDS``
    train : list of ``Sentence`` (``tokens``, ``tags`` lists of equal length)
    config : :class:`TaggerConfig` (defaults when None)
    valid : optional list of ``Sentence``, scored after every epoch
    returns : model :class:`Tagger`, history dict with ``"loss"`` (mean training loss per
        epoch) and, with ``valid``, ``"valid_acc"`` (token accuracy per epoch)
    """
    config = TaggerConfig() if config is None else config
    check_choice("kind", kind, KINDS)
    if not isinstance(config, TaggerConfig):
        raise ValueError(f"config must be a TaggerConfig, got {type(config).__name__}")
    if len(train) == 0:
        raise ValueError("train must hold at least one sentence, got an empty list")
    vocab = Vocab([w for s in train for w in s.tokens])
    tags = Vocab([t for s in train for t in s.tags], unk=None)
    model = init_tagger(kind, vocab, tags, config)
    # A different stream from the initial weights: same seed, another purpose.
    rng = np.random.default_rng([config.seed, 1])
    opt = Adam(lr=config.lr)
    # Encode once: an epoch only reshuffles and pads.
    encoded = encode_batch(model, train)  # validates every sentence
    words_idx = [encoded[0][:len(s.tokens), n] for n, s in enumerate(train)]
    tags_idx = [encoded[1][:len(s.tokens), n] for n, s in enumerate(train)]
    history = {"loss": []}
    if valid is not None:
        history["valid_acc"] = []
    for _ in range(config.epochs):
        order = rng.permutation(len(train))
        total, words = 0.0, 0.0
        for start in range(0, len(train), config.batch_size):
            picked = order[start:start + config.batch_size]
            idx, targets, mask = _pad([words_idx[i] for i in picked], [tags_idx[i] for i in picked])
            if config.word_dropout > 0:
                drop = (rng.random(idx.shape) < config.word_dropout) & (mask > 0)
                idx = np.where(drop, vocab.unk_index, idx)
            loss, grads = tagger_loss(model, idx, targets, mask)
            if config.clip is not None:
                grads, _ = clip_grad_norm(grads, config.clip)
            opt.step(model.params, grads)
            total += loss * mask.sum()
            words += mask.sum()
        history["loss"].append(total / words)
        if valid is not None:
            history["valid_acc"].append(evaluate(model, valid)["token_acc"])
    return model, history


def predict(model, sentences, batch_size=256):
    """Most likely tag of every word.

    sentences : list of ``Sentence`` or of token lists (unknown words map to the unknown slot)
    returns : list of tag lists, one per sentence, each as long as its sentence
    """
    out = []
    for start in range(0, len(sentences), batch_size):
        batch = sentences[start:start + batch_size]
        idx, _, mask = encode_batch(model, batch, with_tags=False)
        z, _ = tagger_forward(model, idx, mask)
        best = z.argmax(axis=-1)  # (T, N); sigmoid is monotone, so this also serves "bce"
        for n in range(len(batch)):
            L = int(mask[:, n].sum())
            out.append([model.tags.itos[k] for k in best[:L, n]])
    return out


def token_accuracy(true_tags, pred_tags):
    """Fraction of words whose predicted tag equals the true one.

    true_tags, pred_tags : lists of tag lists with matching lengths
    returns : float in [0, 1]
    """
    if len(true_tags) != len(pred_tags):
        raise ValueError(f"true_tags has {len(true_tags)} sentences but pred_tags has {len(pred_tags)}")
    right = total = 0
    for n, (a, b) in enumerate(zip(true_tags, pred_tags)):
        if len(a) != len(b):
            raise ValueError(f"sentence {n}: {len(a)} true tags but {len(b)} predicted")
        right += sum(x == y for x, y in zip(a, b))
        total += len(a)
    if total == 0:
        raise ValueError("no words to score")
    return right / total


def evaluate(model, sentences):
    """Token accuracy and entity-level precision, recall and F1 on tagged sentences.

    sentences : list of ``Sentence``
    returns : dict with ``token_acc``, ``precision``, ``recall``, ``f1`` (floats)
    """
    pred = predict(model, sentences)
    true = [list(s.tags) for s in sentences]
    scores = dict(entity_f1(true, pred))
    scores["token_acc"] = token_accuracy(true, pred)
    return scores
