"""Plausible wrong solutions (MUTANTS) and equivalent ones (ALTERNATIVES) of assignment 1.

Each replacement is exact text of solutions/a1_rnn_cell/a1_rnn_cell.ipynb (see harness.Variant).
"""

from harness import Alternative, Mutant

# The data preview prints sentences and the temperature demo prints texts (its asserts
# hold for the solution only); no check needs either.
SKIP_CELLS = ("data", "temperature_demo")

VOCAB_SORT = "sorted(counts, key=lambda tok: (-counts[tok], tok))"
ENCODE = "np.array([stoi.get(tok, 0) for tok in tokens], dtype=np.int64)"
STEP_Z = 'z = x @ params["W_ih"].T + params["b_ih"] + h_prev @ params["W_hh"].T + params["b_hh"]  # (N, H)'
LOOP = "h[t] = rnn_step_forward(x[t], h_prev, params)\n        h_prev = h[t]"
SHIFT = "    scores = scores - scores.max(axis=1, keepdims=True)   # exp never overflows\n"
NORMALISE = "return e / e.sum(axis=1, keepdims=True)"
TEMPER = ("    z = scores / tau\n"
          "    z = z - z.max(axis=1, keepdims=True)"
          "   # exp never overflows, even for a tiny tau\n")
EXP = "    e = np.exp(z)\n    return e / np.sum(e, axis=1, keepdims=True)\n"
DRAW = "out[t] = np.minimum((cdf <= u[t][:, None]).sum(axis=1), V - 1)"
STEP = "h = rnn_step_forward(one_hot(prev, V), h, params)"
PROBS = "probs = softmax_temperature(h @ W_hy.T + b_y, tau)"
FEED = "        prev = out[t]\n"

MUTANTS = [
    # softmax_temperature
    Mutant("scores multiplied by tau",
           replace=(("z = scores / tau", "z = scores * tau"),),
           kills=("softmax_temperature",)),
    Mutant("tempered softmax without the max shift",
           replace=((TEMPER, "    z = scores / tau\n"),),
           kills=("softmax_temperature",)),
    Mutant("tempered softmax over the batch axis",
           replace=(("np.sum(e, axis=1, keepdims=True)",
                     "np.sum(e, axis=0, keepdims=True)"),),
           kills=("softmax_temperature",)),
    Mutant("tau = 0 accepted", replace=(("if not tau > 0:", "if tau < 0:"),),
           kills=("softmax_temperature",)),
    Mutant("only tau = 0 rejected", replace=(("if not tau > 0:", "if tau == 0:"),),
           kills=("softmax_temperature",)),
    # sample_text
    Mutant("argmax instead of a draw",
           replace=((DRAW, "out[t] = probs.argmax(axis=1)"),), kills=("sample_text",)),
    Mutant("drawn character not fed back",
           replace=((FEED, "        prev = np.asarray(first)\n"),),
           kills=("sample_text",)),
    Mutant("state not carried between draws",
           replace=((STEP, "h = rnn_step_forward(one_hot(prev, V), h0, params)"),),
           kills=("sample_text",)),
    Mutant("u compared with the probabilities, not their cumulative sum",
           replace=(("cdf = np.cumsum(probs, axis=1)", "cdf = probs"),),
           kills=("sample_text",)),
    Mutant("temperature ignored in the draw",
           replace=((PROBS, "probs = softmax_temperature(h @ W_hy.T + b_y, 1.0)"),),
           kills=("sample_text",)),
    Mutant("first character returned as out[0]",
           replace=((FEED, FEED + "    out = np.concatenate("
                                  "[np.asarray(first)[None], out[:-1]])\n"),),
           kills=("sample_text",)),
    Mutant("draws returned as floats",
           replace=(("out = np.empty((L, N), dtype=np.int64)",
                     "out = np.empty((L, N))"),),
           kills=("sample_text",)),
    # build_vocab
    Mutant("vocab in alphabetical order only", replace=((VOCAB_SORT, "sorted(counts)"),), kills=("build_vocab",)),
    Mutant("vocab ties in first-seen order", replace=((VOCAB_SORT, "sorted(counts, key=lambda tok: -counts[tok])"),),
           kills=("build_vocab",)),
    Mutant("unknown token counted like any other",
           replace=(("Counter(tok for tok in tokens if tok != unk)", "Counter(tokens)"),), kills=("build_vocab",)),
    Mutant("tokens sorted in place", replace=(("counts = Counter(tok for tok in tokens if tok != unk)",
                                               "tokens.sort()\n    counts = Counter(tok for tok in tokens if tok != unk)"),),
           kills=("build_vocab",)),
    # encode
    Mutant("unknown tokens dropped instead of mapped",
           replace=((ENCODE, "np.array([stoi[tok] for tok in tokens if tok in stoi], dtype=np.int64)"),),
           kills=("encode",)),
    Mutant("unknown tokens mapped to -1", replace=(("stoi.get(tok, 0)", "stoi.get(tok, -1)"),), kills=("encode",)),
    Mutant("encode returns float indices", replace=(("for tok in tokens], dtype=np.int64)", "for tok in tokens], dtype=float)"),),
           kills=("encode",)),
    Mutant("encode returns a list", replace=((ENCODE, "[stoi.get(tok, 0) for tok in tokens]"),), kills=("encode",)),
    # one_hot
    Mutant("one_hot without the range check", replace=(("if outside.any():", "if False:"),), kills=("one_hot",)),
    Mutant("one_hot of integers", replace=(("np.eye(V)[indices]", "np.eye(V, dtype=np.int64)[indices]"),), kills=("one_hot",)),
    Mutant("one_hot flattens the batch", replace=(("np.eye(V)[indices]", "np.eye(V)[indices.ravel()]"),), kills=("one_hot",)),
    # rnn_step_forward
    Mutant("sigmoid for tanh", replace=(("return np.tanh(z)", "return 1 / (1 + np.exp(-z))"),),
           kills=("rnn_step_forward", "rnn_forward", "classify_sequence")),
    Mutant("transposed W_hh", replace=(('h_prev @ params["W_hh"].T', 'h_prev @ params["W_hh"]'),),
           kills=("rnn_step_forward", "rnn_forward")),
    Mutant("missing bias b_hh", replace=((' + params["b_hh"]  # (N, H)', "  # (N, H)"),),
           kills=("rnn_step_forward", "rnn_forward")),
    Mutant("float32 cast", replace=(("return np.tanh(z)", "return np.tanh(z.astype(np.float32))"),),
           kills=("rnn_step_forward", "rnn_forward")),
    Mutant("float32 state inside the sequence", replace=(("h = np.empty((T, N, h0.shape[1]))",
                                                          "h = np.empty((T, N, h0.shape[1]), dtype=np.float32)"),),
           kills=("rnn_forward",)),
    Mutant("tanh written with exp overflows", replace=(("return np.tanh(z)", "return (np.exp(2 * z) - 1) / (np.exp(2 * z) + 1)"),),
           kills=("rnn_step_forward",)),
    Mutant("h_prev overwritten in place", replace=(("return np.tanh(z)", "return np.tanh(z, out=h_prev)"),),
           kills=("rnn_step_forward",)),
    # rnn_forward
    Mutant("state not carried between steps", replace=((LOOP, "h[t] = rnn_step_forward(x[t], h_prev, params)"),),
           kills=("rnn_forward",)),
    Mutant("off by one in time", replace=((LOOP, "h[t] = h_prev\n        h_prev = rnn_step_forward(x[t], h_prev, params)"),),
           kills=("rnn_forward",)),
    Mutant("h0 ignored", replace=(("    h_prev = h0\n", "    h_prev = np.zeros_like(h0)\n"),), kills=("rnn_forward",)),
    # count_rnn_params
    Mutant("Keras and PyTorch bias counts swapped", replace=(('{"pytorch": 2, "keras": 1}', '{"pytorch": 1, "keras": 2}'),),
           kills=("count_rnn_params",)),
    Mutant("dense layer bias not counted", replace=(("n += K * H + K", "n += K * H"),), kills=("count_rnn_params",)),
    Mutant("recurrent weights not counted", replace=(("n = H * D + H * H + biases", "n = H * D + biases"),),
           kills=("count_rnn_params",)),
    Mutant("unknown convention not rejected", replace=(("if convention not in biases:", "if False:"),),
           kills=("count_rnn_params",)),
    Mutant("count returned as float", replace=(("    return n\n", "    return float(n)\n"),), kills=("count_rnn_params",)),
    # classify_sequence
    Mutant("first state instead of the last", replace=(("h[-1] @ W_hy.T", "h[0] @ W_hy.T"),), kills=("classify_sequence",)),
    Mutant("mean of the states instead of the last", replace=(("h[-1] @ W_hy.T", "h.mean(axis=0) @ W_hy.T"),),
           kills=("classify_sequence",)),
    Mutant("softmax without the max shift", replace=((SHIFT, ""),), kills=("classify_sequence",)),
    Mutant("softmax over the batch axis", replace=((NORMALISE, "return e / e.sum(axis=0, keepdims=True)"),),
           kills=("classify_sequence",)),
    # tokens that differ only in case, a custom unknown token that occurs, empty inputs, large scores
    Mutant("vocab lower-cases the tokens",
           replace=(("Counter(tok for tok in tokens if tok != unk)", "Counter(tok.lower() for tok in tokens if tok != unk)"),),
           kills=("build_vocab",)),
    Mutant("vocab leaves out the default '<unk>' only",
           replace=(("Counter(tok for tok in tokens if tok != unk)", 'Counter(tok for tok in tokens if tok != "<unk>")'),),
           kills=("build_vocab",)),
    Mutant("encode lower-cases the tokens", replace=(("stoi.get(tok, 0)", "stoi.get(tok.lower(), 0)"),), kills=("encode",)),
    Mutant("one_hot range check by min and max (fails on no index)",
           replace=(("if outside.any():", "if indices.min() < 0 or indices.max() >= V:"),), kills=("one_hot",)),
    Mutant("step reshapes h_prev with -1 (fails on N=0)",
           replace=(('h_prev @ params["W_hh"].T', 'h_prev.reshape(x.shape[0], -1) @ params["W_hh"].T'),),
           kills=("rnn_step_forward", "rnn_forward", "classify_sequence")),
    Mutant("softmax shifted by the global max", replace=((SHIFT, "    scores = scores - scores.max()\n"),),
           kills=("classify_sequence",)),
    Mutant("softmax shifted by the row mean",
           replace=((SHIFT, "    scores = scores - scores.mean(axis=1, keepdims=True)\n"),), kills=("classify_sequence",)),
    Mutant("rnn_forward returns an empty array for T=0",
           replace=(('    if T == 0:\n        raise ValueError(f"x must have at least one time step (T >= 1), got shape {x.shape}")\n', ""),),
           kills=("rnn_forward", "classify_sequence")),
    Mutant("vocab by count buckets from the largest count (fails on no token)",
           replace=((VOCAB_SORT, "[tok for c in range(max(counts.values()), 0, -1) "
                                 "for tok in sorted(t for t in counts if counts[t] == c)]"),), kills=("build_vocab",)),
]

ALTERNATIVES = [
    Alternative("tempered softmax by log-sum-exp", replace=((TEMPER + EXP, (
        "    z = scores / tau\n"
        "    m = z.max(axis=1, keepdims=True)\n"
        "    log_sum = np.log(np.exp(z - m).sum(axis=1, keepdims=True))\n"
        "    return np.exp(z - m - log_sum)\n")),)),
    Alternative("draw with searchsorted per sequence", replace=((DRAW, (
        "out[t] = [min(np.searchsorted(cdf[n], u[t, n], side='right'), V - 1)\n"
        "                  for n in range(N)]")),)),
    Alternative("vocab by two stable sorts", replace=((VOCAB_SORT, "sorted(sorted(counts), key=counts.get, reverse=True)"),)),
    Alternative("encode with list.index", replace=((ENCODE, "np.array([itos.index(tok) if tok in itos else 0 for tok in tokens], dtype=np.int64)"),)),
    Alternative("one_hot by comparison", replace=(("np.eye(V)[indices]", "(indices[..., None] == np.arange(V)).astype(np.float64)"),)),
    Alternative("one_hot by put_along_axis", replace=(("return np.eye(V)[indices]",
                                                       "out = np.zeros(indices.shape + (V,))\n"
                                                       "    np.put_along_axis(out, indices[..., None], 1.0, axis=-1)\n"
                                                       "    return out"),)),
    Alternative("step with einsum", replace=((STEP_Z, 'z = np.einsum("nd,hd->nh", x, params["W_ih"]) + np.einsum("nk,hk->nh", h_prev, params["W_hh"]) + params["b_ih"] + params["b_hh"]'),)),
    Alternative("step in column form", replace=((STEP_Z, 'z = (params["W_ih"] @ x.T + params["W_hh"] @ h_prev.T + (params["b_ih"] + params["b_hh"])[:, None]).T'),)),
    Alternative("tanh through the sigmoid identity", replace=(("return np.tanh(z)", "return 2 / (1 + np.exp(-2 * z)) - 1"),)),
    Alternative("forward with a list and np.stack", replace=(
        ("    h = np.empty((T, N, h0.shape[1]))\n", "    states = []\n"),
        (LOOP, "h_prev = rnn_step_forward(x[t], h_prev, params)\n        states.append(h_prev)"),
        ("    return h\n", "    return np.stack(states)\n"))),
    Alternative("forward with the input projection vectorised", replace=((LOOP,
        'h[t] = np.tanh(xw[t] + h_prev @ params["W_hh"].T)\n        h_prev = h[t]'),
        ("    h_prev = h0\n", '    h_prev = h0\n    xw = x @ params["W_ih"].T + params["b_ih"] + params["b_hh"]  # (T, N, H)\n'))),
    Alternative("count factored", replace=(("n = H * D + H * H + biases[convention] * H", "n = H * (D + H + biases[convention])"),)),
    Alternative("softmax through log-sum-exp", replace=((
        "e = np.exp(scores)\n    return e / e.sum(axis=1, keepdims=True)",
        "return np.exp(scores - np.log(np.exp(scores).sum(axis=1, keepdims=True)))"),)),
    Alternative("softmax shifted by the row max minus one",
                replace=((SHIFT, "    scores = scores - (scores.max(axis=1, keepdims=True) + 1.0)\n"),)),
    Alternative("vocab from a dict of counts", replace=(("counts = Counter(tok for tok in tokens if tok != unk)",
                                                       "counts = {}\n    for tok in tokens:\n        if tok != unk:\n"
                                                       "            counts[tok] = counts.get(tok, 0) + 1"),)),
]

# A solution calling the course's reference implementation (test_assignment_release: it earns no points
# for rnn_step_forward, nor for the graded functions that call it).
SHORTCUT = Mutant("rnn_step_forward from rnnlab", replace=((STEP_Z + "\n    return np.tanh(z)",
                                                            "from rnnlab.rnn import rnn_step_forward as reference\n"
                                                            "    return reference(x, h_prev, params)[0]"),),
                  kills=("rnn_step_forward", "rnn_forward", "classify_sequence",
                         "sample_text"))
