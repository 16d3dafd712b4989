"""Plausible wrong solutions (MUTANTS) and equivalent ones (ALTERNATIVES) of assignment 5.

Replacements are exact text of solutions/a5_embeddings_tagger/a5_embeddings_tagger.ipynb (see
harness.Variant). Training the tagger is the one slow cell, so it is cached (CACHED_CELLS): it
runs once for the solution and again only for a variant that changes the tagger's code. The
loss used in training and the trained model are therefore mutated in the replacement-function
form (``patch``), applied after training: a wrong ``masked_cross_entropy`` is graded on its
own, and a wrong tagger is the trained model mapped to a broken one (backward direction
switched off, unknown words not mapped) without training again.
"""

import copy

import torch
import torch.nn.functional as F

from harness import Alternative, Mutant

# train_tagger (the cell that trains) depends on the tagger's cells only.
CACHED_CELLS = {"train_tagger": ("embedding_forward", "embedding_backward", "skipgram_pairs", "neg_sampling_loss")}

LOOKUP = "return W_emb[indices]"
ADD_AT = "np.add.at(dW_emb, indices.ravel(), dout.reshape(-1, E))  # (T*N, E)"
WINDOW = "range(max(0, i - window), min(L, i + window + 1))"
PAIR_LOOP = """    for i in range(L):
        for j in range(max(0, i - window), min(L, i + window + 1)):
            if j != i:
                centers.append(token_ids[i])
                contexts.append(token_ids[j])
"""
NEG_DOT = 'torch.einsum("bke,be->bk", negative_vecs, center_vecs)'
PER_PAIR = "per_pair = -F.logsigmoid(positive) - F.logsigmoid(-negative).sum(-1)   # (B,)"
DECODE = "tag_vocab.decode(best[:len(tokens), n])"
PREDICT_BODY = """    tagger.eval()
    x, lengths = encode_words(sentences)
    with torch.no_grad():
        best = tagger(x, lengths).argmax(-1).numpy()      # (T, N)
    return [tag_vocab.decode(best[:len(tokens), n]) for n, tokens in enumerate(sentences)]
"""


# -- replacement functions (the cells they replace feed the cached training) -------------------

def _ce(how):
    """A masked_cross_entropy built a known way (see the mutant names)."""
    def masked_cross_entropy(scores, targets, mask):
        targets = torch.as_tensor(targets)
        K = scores.shape[-1]
        flat, t = scores.reshape(-1, K), targets.reshape(-1)
        m = torch.as_tensor(mask).reshape(-1).to(scores.dtype)
        if how == "all":
            return F.cross_entropy(flat, t)
        if how == "boolean":
            keep = m > 0
            return F.cross_entropy(flat[keep], t[keep])
        if how == "gather":
            nll = -F.log_softmax(flat, dim=-1).gather(1, t[:, None])[:, 0]
            return (nll * m).sum() / m.sum()
        if how == "global_max":  # one shift for every row: a row far below the top underflows
            z = flat - flat.max()
            nll = torch.log(torch.exp(z).sum(-1)) - z.gather(1, t[:, None])[:, 0]
            return (nll * m).sum() / m.sum()
        if how == "unshifted":
            nll = torch.log(torch.exp(flat).sum(-1)) - flat.gather(1, t[:, None])[:, 0]
            return (nll * m).sum() / m.sum()
        nll = F.cross_entropy(flat, t, reduction="none")
        if how == "sum":
            return (nll * m).sum()
        if how == "per_position":
            return (nll * m).sum() / m.numel()
        if how == "per_sentence":
            nll, m2 = nll.reshape(targets.shape), m.reshape(targets.shape)
            return ((nll * m2).sum(0) / m2.sum(0)).mean()
        raise ValueError(how)
    return lambda ns: masked_cross_entropy


def _zero_reverse(ns):
    """A copy of the trained tagger whose backward direction outputs zeros (it reads nothing)."""
    model = copy.deepcopy(ns["tagger"])
    with torch.no_grad():
        for name, param in model.lstm.named_parameters():
            if name.endswith("_reverse"):
                param.zero_()
    return model


def _stoi_without_unknown(ns):
    """encode_words that looks words up in stoi directly: unknown words raise KeyError."""
    word_vocab, PAD = ns["word_vocab"], ns["PAD"]

    def encode_words(token_lists):
        T = max(len(t) for t in token_lists)
        x = torch.full((T, len(token_lists)), PAD, dtype=torch.long)
        for n, tokens in enumerate(token_lists):
            x[:len(tokens), n] = torch.tensor([word_vocab.stoi[w] for w in tokens])
        return x, torch.tensor([len(t) for t in token_lists])
    return encode_words


def _encode_words(how):
    """encode_words built a known wrong way (see the mutant names); same tagger."""
    def factory(ns):
        word_vocab, PAD = ns["word_vocab"], ns["PAD"]

        def encode_words(token_lists):
            lengths = [len(t) for t in token_lists]
            T = max(lengths)
            pad = 0 if how == "pad_unk" else PAD
            x = torch.full((T, len(token_lists)), pad, dtype=torch.long)
            for n, tokens in enumerate(token_lists):
                x[:len(tokens), n] = torch.from_numpy(word_vocab.encode(tokens))
            if how == "batch_major":
                x = x.T.contiguous()
            if how == "padded_lengths":
                lengths = [T] * len(token_lists)
            return x, torch.tensor(lengths, dtype=torch.long)
        return encode_words
    return factory


def _encode_tags(how):
    """encode_tags built a known wrong way (see the mutant names)."""
    from rnnlab.data import SLOT_TAGS

    def factory(ns):
        tag_vocab = ns["tag_vocab"]

        def encode_tags(tag_lists):
            T = max(len(t) for t in tag_lists)
            y = torch.zeros((T, len(tag_lists)), dtype=torch.long)
            mask = torch.zeros((T, len(tag_lists)))
            for n, tags in enumerate(tag_lists):
                if how == "slot_tags":
                    index = [SLOT_TAGS.index(t) for t in tags]
                else:
                    index = tag_vocab.encode(tags)
                y[:len(tags), n] = torch.as_tensor(index)
                mask[:len(tags), n] = 1.0
            if how == "mask_everywhere":
                mask = torch.ones_like(mask)
            if how == "mask_long":
                mask = mask.long()
            return y, mask
        return encode_tags
    return factory


def _memoriser(per_word=False):
    """predict_tags that looks the training data up instead of reading the sentence with the tagger.

    per_word=False: the tags of the same sentence in train_sents or valid_sents, else all "O";
    per_word=True: each word's most frequent training tag, "O" for a word never seen.
    """
    from collections import Counter, defaultdict

    def factory(ns):
        seen = ns["train_sents"] + ns["valid_sents"]
        by_sentence = {tuple(s.tokens): list(s.tags) for s in seen}
        by_word = defaultdict(Counter)
        for sentence in seen:
            for word, tag in zip(sentence.tokens, sentence.tags):
                by_word[word][tag] += 1

        def predict_tags(sentences):
            if per_word:
                return [[by_word[w].most_common(1)[0][0] if w in by_word else "O" for w in tokens]
                        for tokens in sentences]
            return [by_sentence.get(tuple(tokens), ["O"] * len(tokens)) for tokens in sentences]
        return predict_tags
    return factory


MUTANTS = [
    # embedding_forward
    Mutant("no range check on the indices", replace=(("if outside.any():", "if False:"),), kills=("embedding_forward",)),
    Mutant("negative indices accepted", replace=(("outside = (indices < 0) | (indices >= V)", "outside = indices >= V"),),
           kills=("embedding_forward",)),
    Mutant("lookup in float32", replace=((LOOKUP, "return W_emb[indices].astype(np.float32)"),), kills=("embedding_forward",)),
    Mutant("batch of indices flattened", replace=((LOOKUP, "return W_emb[indices.ravel()]"),), kills=("embedding_forward",)),
    # embedding_backward
    Mutant("buffered += overwrites repeated indices", replace=((ADD_AT, "dW_emb[indices] += dout"),),
           kills=("embedding_backward",)),
    Mutant("rows assigned instead of accumulated", replace=((ADD_AT, "dW_emb[indices] = dout"),),
           kills=("embedding_backward",)),
    Mutant("table sized by the largest index", replace=(("dW_emb = np.zeros((V, E))", "dW_emb = np.zeros((indices.max() + 1, E))"),),
           kills=("embedding_backward",)),
    Mutant("gradient in float32", replace=(("dW_emb = np.zeros((V, E))", "dW_emb = np.zeros((V, E), dtype=np.float32)"),),
           kills=("embedding_backward",)),
    # skipgram_pairs
    Mutant("window includes the centre", replace=(("if j != i:", "if True:"),), kills=("skipgram_pairs",)),
    Mutant("window one too narrow", replace=((WINDOW, "range(max(0, i - window + 1), min(L, i + window))"),),
           kills=("skipgram_pairs",)),
    Mutant("window one too wide", replace=((WINDOW, "range(max(0, i - window - 1), min(L, i + window + 2))"),),
           kills=("skipgram_pairs",)),
    Mutant("right context only", replace=((WINDOW, "range(i + 1, min(L, i + window + 1))"),), kills=("skipgram_pairs",)),
    Mutant("window 0 accepted", replace=(("or window < 1:", "or window < 0:"),), kills=("skipgram_pairs",)),
    Mutant("empty pairs as float arrays", replace=(("return np.array(centers, dtype=np.int64), np.array(contexts, dtype=np.int64)",
                                                    "return np.array(centers), np.array(contexts)"),),
           kills=("skipgram_pairs",)),
    Mutant("pairs grouped by offset", replace=((PAIR_LOOP, """    for d in range(1, window + 1):
        centers += list(token_ids[:L - d]) + list(token_ids[d:])
        contexts += list(token_ids[d:]) + list(token_ids[:L - d])
"""),), kills=("skipgram_pairs",)),
    # neg_sampling_loss
    Mutant("sign error in the negative term", replace=(("F.logsigmoid(-negative)", "F.logsigmoid(negative)"),),
           kills=("neg_sampling_loss",)),
    Mutant("sign error in the positive term", replace=(("-F.logsigmoid(positive)", "-F.logsigmoid(-positive)"),),
           kills=("neg_sampling_loss",)),
    Mutant("sum over the batch instead of the mean", replace=(("return per_pair.mean()", "return per_pair.sum()"),),
           kills=("neg_sampling_loss",)),
    Mutant("negatives averaged instead of summed", replace=((".sum(-1)   # (B,)", ".mean(-1)   # (B,)"),),
           kills=("neg_sampling_loss",)),
    Mutant("negatives scored against the context", replace=((NEG_DOT, 'torch.einsum("bke,be->bk", negative_vecs, context_vecs)'),),
           kills=("neg_sampling_loss",)),
    Mutant("loss detached from the graph", replace=(("return per_pair.mean()",
                                                     "return torch.tensor(per_pair.mean().item(), dtype=torch.float64)"),),
           kills=("neg_sampling_loss",)),
    Mutant("loss in float32", replace=(("return per_pair.mean()", "return per_pair.float().mean()"),),
           kills=("neg_sampling_loss",)),
    # masked_cross_entropy (replacement functions: the notebook's own one trains the tagger)
    Mutant("padding included in the mean", patch={"masked_cross_entropy": _ce("all")}, kills=("masked_cross_entropy",)),
    Mutant("masked sum instead of the mean", patch={"masked_cross_entropy": _ce("sum")}, kills=("masked_cross_entropy",)),
    Mutant("divided by T*N", patch={"masked_cross_entropy": _ce("per_position")}, kills=("masked_cross_entropy",)),
    Mutant("mean per sentence, then over sentences", patch={"masked_cross_entropy": _ce("per_sentence")},
           kills=("masked_cross_entropy",)),
    Mutant("log-sum-exp without the max shift", patch={"masked_cross_entropy": _ce("unshifted")},
           kills=("masked_cross_entropy",)),
    # the tagger
    Mutant("backward direction switched off", patch={"tagger": _zero_reverse}, kills=("predict_tags",)),
    Mutant("trained for 0 epochs", replace=(("tagger, epoch_losses = train_tagger(train_sents)",
                                             "tagger, epoch_losses = train_tagger(train_sents, epochs=0)"),),
           kills=("predict_tags",)),
    Mutant("tags decoded with SLOT_TAGS", replace=((DECODE, "[SLOT_TAGS[k] for k in best[:len(tokens), n]]"),),
           kills=("predict_tags",)),
    Mutant("tag indices returned", replace=((DECODE, "best[:len(tokens), n].tolist()"),), kills=("predict_tags",)),
    Mutant("padding positions tagged too", replace=((DECODE, "tag_vocab.decode(best[:, n])"),), kills=("predict_tags",)),
    Mutant("unknown words not mapped to the unknown slot", patch={"encode_words": _stoi_without_unknown},
           kills=("predict_tags",)),
    # encode_words, encode_tags (replacement functions: their cell feeds the training)
    Mutant("padding with the unknown slot 0 instead of PAD",
           patch={"encode_words": _encode_words("pad_unk")}, kills=("encode_batch",)),
    Mutant("word indices batch-major (N, T)",
           patch={"encode_words": _encode_words("batch_major")},
           kills=("encode_batch",)),
    Mutant("lengths counted with the padding",
           patch={"encode_words": _encode_words("padded_lengths")},
           kills=("encode_batch",)),
    Mutant("tags indexed in SLOT_TAGS order",
           patch={"encode_tags": _encode_tags("slot_tags")}, kills=("encode_batch",)),
    Mutant("mask 1 on padding too",
           patch={"encode_tags": _encode_tags("mask_everywhere")},
           kills=("encode_batch",)),
    Mutant("mask as integers",
           patch={"encode_tags": _encode_tags("mask_long")}, kills=("encode_batch",)),
    # a tagger graded on the data it memorised would pass: the held-out sets leave that data out
    Mutant("sentences looked up in the training data", patch={"predict_tags": _memoriser()}, kills=("predict_tags",)),
    Mutant("each word's most frequent training tag", patch={"predict_tags": _memoriser(per_word=True)},
           kills=("predict_tags",)),
    Mutant("range check by min and max (fails on no index)",
           replace=(("if outside.any():", "if indices.min() < 0 or indices.max() >= V:"),), kills=("embedding_forward",)),
    Mutant("log-sum-exp shifted by the global max", patch={"masked_cross_entropy": _ce("global_max")},
           kills=("masked_cross_entropy",)),
    Mutant("only window 0 rejected", replace=(("or window < 1:", "or window == 0:"),), kills=("skipgram_pairs",)),
]

ALTERNATIVES = [
    Alternative("lookup as one-hot times the table", replace=((LOOKUP, "return np.eye(V)[indices] @ W_emb"),)),
    Alternative("lookup with np.take", replace=((LOOKUP, "return np.take(W_emb, indices, axis=0)"),)),
    Alternative("backward with a loop over positions", replace=((ADD_AT, """flat = dout.reshape(-1, E)
    for p, k in enumerate(indices.ravel()):
        dW_emb[k] += flat[p]"""),)),
    Alternative("backward as one-hot transposed times dout", replace=((ADD_AT,
        "dW_emb = np.eye(V)[indices.ravel()].T @ dout.reshape(-1, E)  # (V, T*N) @ (T*N, E)"),)),
    Alternative("backward with bincount per column", replace=((ADD_AT, """flat = dout.reshape(-1, E)
    dW_emb = np.stack([np.bincount(indices.ravel(), weights=flat[:, e], minlength=V) for e in range(E)], axis=1)"""),)),
    Alternative("pairs from a band of the distance matrix", replace=((PAIR_LOOP, """    pos = np.arange(L)
    dist = np.abs(pos[:, None] - pos[None, :])
    i, j = np.nonzero((dist >= 1) & (dist <= window))   # row-major: by centre, then context
    centers, contexts = token_ids[i], token_ids[j]
"""),)),
    Alternative("pairs by a comprehension with bounds checks", replace=((PAIR_LOOP, """    kept = [(i, j) for i in range(L) for j in range(i - window, i + window + 1) if 0 <= j < L and j != i]
    centers = [token_ids[i] for i, _ in kept]
    contexts = [token_ids[j] for _, j in kept]
"""),)),
    Alternative("loss with log(sigmoid)", replace=((PER_PAIR,
        "per_pair = -torch.log(torch.sigmoid(positive)) - torch.log(torch.sigmoid(-negative)).sum(-1)"),)),
    Alternative("loss with softplus and bmm", replace=((NEG_DOT, "torch.bmm(negative_vecs, center_vecs[:, :, None])[:, :, 0]"),
                                                       (PER_PAIR, "per_pair = F.softplus(-positive) + F.softplus(negative).sum(-1)"))),
    Alternative("loss with a loop over the batch", replace=(("    return per_pair.mean()\n",
        "    per_pair = torch.stack([-F.logsigmoid(context_vecs[b] @ center_vecs[b])\n"
        "                            - F.logsigmoid(-(negative_vecs[b] @ center_vecs[b])).sum()\n"
        "                            for b in range(center_vecs.shape[0])])\n"
        "    return per_pair.mean()\n"),)),
    Alternative("encode_words by hand, without pad_sequences",
                patch={"encode_words": _encode_words("by_hand")}),
    Alternative("encode_tags by hand, without pad_sequences",
                patch={"encode_tags": _encode_tags("by_hand")}),
    Alternative("masked loss by boolean indexing", patch={"masked_cross_entropy": _ce("boolean")}),
    Alternative("masked loss from log_softmax and gather", patch={"masked_cross_entropy": _ce("gather")}),
    Alternative("tagging one sentence at a time", replace=((PREDICT_BODY, """    tagger.eval()
    out = []
    for tokens in sentences:
        x, lengths = encode_words([tokens])
        with torch.no_grad():
            out.append(tag_vocab.decode(tagger(x, lengths)[:, 0].argmax(-1).numpy()))
    return out
"""),)),
    Alternative("a wider tagger trained for 2 epochs", replace=(("tagger, epoch_losses = train_tagger(train_sents)",
                                                                 "tagger, epoch_losses = train_tagger(train_sents, epochs=2)"),
                                                                ("def __init__(self, V, K, E=32, H=32):",
                                                                 "def __init__(self, V, K, E=32, H=48):"))),
]

SHORTCUT = Mutant("embedding_backward from rnnlab", replace=((ADD_AT,
    "from rnnlab.encoding import embedding_backward as reference, embedding_forward\n"
    "    dW_emb = reference(dout, embedding_forward(indices, dW_emb)[1])"),), kills=("embedding_backward",))
