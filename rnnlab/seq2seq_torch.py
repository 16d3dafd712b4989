"""A small GRU encoder-decoder in PyTorch, with optional attention, and its training
loop.

Taught in ``book/14_seq2seq`` (no attention; teacher forcing against free running) and
``book/15_attention`` (additive and dot-product attention). Both chapters train through
:func:`train_seq2seq` so that their models differ only in the configuration. The data,
the batches and the decoders are :mod:`rnnlab.seq2seq`'s; the attention layers compute
what :mod:`rnnlab.attention` computes (checked in chapter 15).

One decoder step, from the previous token ``y_{t-1}`` and state ``h_{t-1}``:

    without attention:  h_t = GRUCell(emb(y_{t-1}), h_{t-1}),   logits = W_out h_t
    with attention:     c_t = attend(h_{t-1}, encoder states),
                        h_t = GRUCell([emb(y_{t-1}); c_t], h_{t-1}),
                        logits = W_out [h_t; c_t]

The decoder starts from the encoder's last state (at each sequence's true length).

where:
    S  source steps, T  target steps, N  batch size, E  embedding width, H  hidden units
"""

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .seq2seq import PAD, batches, beam_search, greedy_decode, make_batch

__all__ = ["Seq2SeqConfig", "AdditiveAttention", "DotAttention", "Seq2Seq",
           "train_seq2seq", "make_step", "translate", "exact_match"]


@dataclass(frozen=True)
class Seq2SeqConfig:
    """Hyperparameters of one run.

    embed: embedding width E of source words and target digits
    hidden: GRU units H (encoder and decoder)
    attention: None, "additive", "dot" (scaled dot product of the decoder and encoder
        states) or "general" (scaled dot product after a learned map of the query)
    teacher_forcing: feed the true previous token (True) or the model's argmax (False)
    epochs, batch_size, lr (Adam), clip (global gradient norm), seed
    """
    embed: int = 16
    hidden: int = 48
    attention: str = None
    teacher_forcing: bool = True
    epochs: int = 8
    batch_size: int = 64
    lr: float = 0.01
    clip: float = 1.0
    seed: int = 0


class AdditiveAttention(nn.Module):
    """``e_s = v . tanh(W_q q + W_k k_s)``, ``W_q (A, Hq)``, ``W_k (A, H)``, ``v``."""

    def __init__(self, Hq, H, A):
        super().__init__()
        self.W_q = nn.Linear(Hq, A, bias=False)
        self.W_k = nn.Linear(H, A, bias=False)
        self.v = nn.Linear(A, 1, bias=False)

    def forward(self, query, keys, mask):
        """query (N, Hq), keys (S, N, H), mask (S, N) -> context (N, H), weights (S, N)
        """
        scores = self.v(torch.tanh(self.W_q(query)[None] + self.W_k(keys))).squeeze(-1)
        return _attend(scores, keys, mask)


class DotAttention(nn.Module):
    """Dot-product scores ``e_s = q' . k_s``, divided by ``sqrt(H)`` when ``scaled``.

    Without ``Hq`` the query is used as it is (``q' = q``, Luong's "dot", no
    parameters); with ``Hq`` it is first mapped into the keys' space, ``q' = W_q q``
    with ``W_q (H, Hq)`` (Luong's "general" score ``q^T W_q^T k_s``).
    """

    def __init__(self, Hq=None, H=None, scaled=True):
        super().__init__()
        self.scaled = scaled
        self.W_q = nn.Linear(Hq, H, bias=False) if Hq is not None else None

    def forward(self, query, keys, mask):
        """query (N, Hq), keys (S, N, H), mask (S, N) -> context (N, H), weights (S, N)
        """
        if self.W_q is not None:
            query = self.W_q(query)
        scores = (keys * query[None]).sum(-1)
        if self.scaled:
            scores = scores / keys.shape[-1] ** 0.5
        return _attend(scores, keys, mask)


def _attend(scores, keys, mask):
    # the padding is removed before the softmax, so real positions still sum to one
    weights = torch.softmax(scores.masked_fill(mask == 0, float("-inf")), dim=0)
    return (weights[:, :, None] * keys).sum(0), weights


class Seq2Seq(nn.Module):
    """GRU encoder, GRU-cell decoder, optional attention (see the module docstring)."""

    def __init__(self, V_src, V_tgt, config):
        super().__init__()
        E, H = config.embed, config.hidden
        self.config = config
        self.src_emb = nn.Embedding(V_src, E, padding_idx=PAD)
        self.encoder = nn.GRU(E, H)
        self.tgt_emb = nn.Embedding(V_tgt, E)
        makers = {None: lambda: None, "additive": lambda: AdditiveAttention(H, H, H),
                  "dot": lambda: DotAttention(scaled=True),
                  "general": lambda: DotAttention(H, H, scaled=True)}
        if config.attention not in makers:
            raise ValueError("config.attention must be None, 'additive', 'dot' or "
                             f"'general', got {config.attention!r}")
        self.attention = makers[config.attention]()
        extra = H if self.attention is not None else 0
        self.decoder = nn.GRUCell(E + extra, H)
        self.out = nn.Linear(H + extra, V_tgt)

    def encode(self, src, src_mask):
        """src (S, N), src_mask (S, N) -> keys (S, N, H) (0 on padding), h (N, H)."""
        lengths = src_mask.sum(0).long().cpu()
        packed = pack_padded_sequence(self.src_emb(src), lengths, enforce_sorted=False)
        out, h = self.encoder(packed)
        keys, _ = pad_packed_sequence(out, total_length=src.shape[0])
        return keys, h[0]

    def step(self, tokens, h, keys, src_mask):
        """tokens (N,), h (N, H) -> logits (N, V), h_next (N, H), weights (S, N) or None
        """
        x = self.tgt_emb(tokens)
        if self.attention is None:
            h = self.decoder(x, h)
            return self.out(h), h, None
        context, weights = self.attention(h, keys, src_mask)
        h = self.decoder(torch.cat([x, context], -1), h)
        return self.out(torch.cat([h, context], -1)), h, weights

    def forward(self, src, src_mask, tgt_in, teacher_forcing=True):
        """Logits (T, N, V) for every target step; with ``teacher_forcing=False`` each
        step reads the model's own previous argmax instead of ``tgt_in``."""
        keys, h = self.encode(src, src_mask)
        tokens, logits = tgt_in[0], []
        for t in range(tgt_in.shape[0]):
            z, h, _ = self.step(tokens, h, keys, src_mask)
            logits.append(z)
            if t + 1 < tgt_in.shape[0]:
                tokens = tgt_in[t + 1] if teacher_forcing else z.argmax(-1).detach()
        return torch.stack(logits)


def _tensors(batch):
    return (torch.as_tensor(batch.src), torch.as_tensor(batch.src_mask),
            torch.as_tensor(batch.tgt_in), torch.as_tensor(batch.tgt_out),
            torch.as_tensor(batch.tgt_mask))


def train_seq2seq(pairs, src_vocab, tgt_vocab, config, valid=None, progress=None):
    """Train a :class:`Seq2Seq` on ``pairs`` (list of NumberPair) with Adam.

    The loss is the cross-entropy of every target digit and of ``<eos>``, padding
    excluded.
    valid : None or a list of NumberPair, scored (greedy exact match) after every epoch
    progress : None or a tqdm-like callable wrapped around the epoch range
    returns : model (in eval mode), history dict ``loss`` (per epoch), ``valid_acc``
        (per epoch, with ``valid``), ``seconds`` (training only)
    """
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = Seq2Seq(len(src_vocab), len(tgt_vocab), config)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    loss_fn = nn.CrossEntropyLoss(ignore_index=PAD)
    history = {"loss": [], "valid_acc": []}
    seconds = 0.0
    epochs = range(config.epochs)
    for _ in (progress(epochs) if progress else epochs):
        model.train()
        start = time.perf_counter()
        total, count = 0.0, 0
        for batch in batches(pairs, config.batch_size, src_vocab, tgt_vocab, rng):
            src, src_mask, tgt_in, tgt_out, _ = _tensors(batch)
            logits = model(src, src_mask, tgt_in, config.teacher_forcing)
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), config.clip)
            opt.step()
            total, count = total + loss.item() * src.shape[1], count + src.shape[1]
        seconds += time.perf_counter() - start
        history["loss"].append(total / count)
        if valid:
            model.eval()
            predictions = translate(model, valid, src_vocab, tgt_vocab)
            history["valid_acc"].append(float(exact_match(predictions, valid).mean()))
    history["seconds"] = seconds
    model.eval()
    return model, history


def make_step(model, keys, src_mask):
    """The decoder as a step function for :mod:`rnnlab.seq2seq`'s decoders.

    keys (S, N, H), src_mask (S, N): the encoded batch. For beam search (one sequence,
    N = 1) the source is broadcast to however many hypotheses are alive.
    returns : ``step(tokens (B,), h (B, H)) -> (log_probs (B, V), h)``
    """
    def step(tokens, h):
        B = len(tokens)
        k, m = keys, src_mask
        if keys.shape[1] != B:
            k, m = keys.expand(-1, B, -1), src_mask.expand(-1, B)
        with torch.no_grad():
            logits, h, _ = model.step(torch.as_tensor(tokens), h, k, m)
            return torch.log_softmax(logits, -1).numpy(), h
    return step


def translate(model, pairs, src_vocab, tgt_vocab, beam_width=None, alpha=0.0,
              max_len=None, batch_size=256):
    """Decode ``pairs``' sources; greedy when ``beam_width`` is None, else beam search.

    returns : list of digit strings, one per pair
    """
    max_len = max_len or max(len(p.target) for p in pairs) + 2
    out = []
    with torch.no_grad():
        for start in range(0, len(pairs), batch_size):
            batch = make_batch(pairs[start:start + batch_size], src_vocab, tgt_vocab)
            src, src_mask = torch.as_tensor(batch.src), torch.as_tensor(batch.src_mask)
            keys, h = model.encode(src, src_mask)
            if beam_width is None:
                seqs = greedy_decode(make_step(model, keys, src_mask), h, max_len)
            else:
                seqs = []
                for n in range(src.shape[1]):
                    step = make_step(model, keys[:, n:n + 1], src_mask[:, n:n + 1])
                    best = beam_search(step, h[n:n + 1], beam_width, max_len, alpha)[0]
                    seqs.append(list(best.tokens))
            out += ["".join(tgt_vocab.decode(s)) if s else "" for s in seqs]
    return out


def exact_match(predictions, pairs):
    """Per-pair bool array: the predicted digit string equals the target."""
    return np.array([p == "".join(q.target) for p, q in zip(predictions, pairs)])

