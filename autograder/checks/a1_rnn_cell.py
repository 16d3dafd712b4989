"""Hidden checks of assignment 1, "Sequences and the RNN cell" (solutions/a1_rnn_cell).

Graded functions (the notebook states their contracts):

    build_vocab(tokens, unk="<unk>") -> itos list[str]      index 0 the unknown slot, then
                                                            tokens by descending count, ties alphabetical
    encode(itos, tokens) -> ndarray (L,) int                unknown tokens -> 0
    one_hot(indices, V) -> ndarray (*S, V) float64          ValueError for an index outside [0, V)
    rnn_step_forward(x, h_prev, params) -> h_next (N, H)
    rnn_forward(x, h0, params) -> h (T, N, H)             ValueError for T = 0 (as rnnlab; nn.RNN refuses it)
    count_rnn_params(D, H, convention, K=None) -> int       "pytorch" or "keras", K a dense layer after
    classify_sequence(x, h0, params, W_hy, b_y) -> probs (N, K)   softmax(W_hy h_T + b_y), ValueError for T = 0
    softmax_temperature(scores, tau) -> probs (N, V)         softmax(scores / tau),
                                                            ValueError for tau <= 0
    sample_text(params, W_hy, b_y, h0, first, u, tau) -> out (L, N) int
                                                    inverse-CDF draws, each one fed back

References are independent of rnnlab and of the solution: PyTorch float64 modules
(``nn.RNNCell``, ``nn.RNN``, ``nn.Linear``, ``F.one_hot``, parameter counts of real modules)
and, for the vocabulary, ``collections.Counter``. Verdicts reject float32 results and inputs
modified in place, and name a likely cause when the answer matches a known mistake.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from autograder.checks._common import (array_issue, memo, modified_issue, verdict)
from autograder.checks.base import DEFAULT_FORBIDDEN, Case, Check, Verdict

# The reference implementations a solution must not call (rnnlab's Vocab and one_hot are the
# graded things here; torch_bridge would build the network from the student's parameters).
FORBIDDEN = DEFAULT_FORBIDDEN + (
    "rnnlab.encoding.Vocab", "rnnlab.encoding.one_hot", "rnnlab.layers", "rnnlab.tagger",
    "rnnlab.torch_bridge", "rnnlab.activations.softmax",
)

PARAM_NAMES = ("W_ih", "W_hh", "b_ih", "b_hh")


def _torch():
    import torch

    torch.set_num_threads(1)
    return torch


# -- build_vocab -----------------------------------------------------------------------------

WORDS = ("leave", "for", "dalian", "on", "tuesday", "arrive", "in", "taipei", "the", "a", "flight",
         "to", "from", "at", "noon", "monday", "beijing", "late", "early", "please")


def _vocab_cases(seed):
    rng = np.random.default_rng(seed)
    zipf = rng.choice(WORDS, size=60, p=_zipf(len(WORDS)))
    return [
        Case("a short sentence with ties in the counts", "build_vocab",
             ("leave for dalian leave on tuesday for dalian".split(),)),
        Case("characters of a word", "build_vocab", (list("mississippi"),)),
        Case("one token repeated", "build_vocab", (["go", "go", "go"],)),
        Case("a custom unknown token '<oov>'", "build_vocab", ("b a c b a b".split(),), kwargs={"unk": "<oov>"}),
        Case("the unknown token itself occurs in the tokens", "build_vocab", (["<unk>", "b", "<unk>", "a"],)),
        Case("sixty words with skewed frequencies", "build_vocab", ([str(w) for w in zipf],), weight=2.0),
        Case("no tokens at all", "build_vocab", ([],), weight=0.5),
        Case("tokens that differ only in case: 'Dalian', 'dalian', 'DALIAN'", "build_vocab",
             ("Dalian to dalian from Dalian DALIAN to".split(),)),
        Case("a custom unknown token '<pad>' that also occurs in the tokens", "build_vocab",
             (["<pad>", "b", "<pad>", "a", "b", "<unk>"],), kwargs={"unk": "<pad>"}),
    ]


def _zipf(n):
    p = 1.0 / np.arange(1, n + 1)
    return p / p.sum()


def _vocab_reference(tokens, unk="<unk>"):
    counts = Counter(t for t in tokens if t != unk)
    return [unk] + sorted(counts, key=lambda t: (-counts[t], t))


def _vocab_verdict(case, result):
    tokens = case.args[0]
    unk = case.kwargs.get("unk", "<unk>")
    want = _vocab_reference(tokens, unk)
    got = result.value
    moved = modified_issue(case, result, ("tokens",))
    if not isinstance(got, list) or not all(isinstance(t, str) for t in got):
        kind = "None (did you forget to return?)" if got is None else type(got).__name__
        return Verdict(False, f"build_vocab should return a list of strings (itos), got {kind}")
    if got == want:
        return verdict(moved)
    if not got or got[0] != unk:
        return Verdict(False, f"index 0 must be the unknown token {unk!r}, got {got[0] if got else 'an empty list'!r}")
    dup = sorted(t for t, c in Counter(got).items() if c > 1)
    if dup:
        return Verdict(False, f"the vocabulary lists {dup[0]!r} more than once: each token gets one index"
                       + (" (the unknown token must not be added again when it occurs in the tokens)" if unk in dup else ""))
    if set(got) != set(want):
        few = "too few" if len(got) < len(want) else "too many" if len(got) > len(want) else "the wrong"
        return Verdict(False, f"the vocabulary has {len(got)} entries, {few} entries: "
                       "every distinct token plus the unknown slot, nothing else")
    first = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)
    cause = ""
    counts = Counter(t for t in tokens if t != unk)
    if got[1:] == sorted(counts):
        cause = " (it is in alphabetical order only: sort by descending count first)"
    elif [counts[t] for t in got[1:]] == sorted(counts.values(), reverse=True):
        cause = " (the counts are in the right order but ties are not alphabetical)"
    return Verdict(False, f"the order is wrong from index {first} on{cause}")


# -- encode ------------------------------------------------------------------------------------

def _encode_cases(seed):
    rng = np.random.default_rng(seed)
    itos = ["<unk>", "leave", "for", "dalian", "on", "tuesday", "the"]
    words = itos[1:] + ["taipei", "monday", "xian"]
    long = [str(w) for w in rng.choice(words, size=25)]
    return [
        Case("known tokens only", "encode", (itos, "leave for dalian on tuesday".split())),
        Case("two unknown city names", "encode", (itos, "leave taipei for xian on tuesday".split()), weight=2.0),
        Case("every token unknown", "encode", (itos, ["beijing", "monday", "noon"])),
        Case("an empty sequence", "encode", (itos, []), weight=0.5),
        Case("25 tokens drawn at random", "encode", (itos, long)),
        Case("a custom unknown token '<oov>' at index 0", "encode", (["<oov>", "a", "b"], ["b", "z", "a", "z"])),
        Case("the unknown token's own name", "encode", (itos, ["<unk>", "the"]), weight=0.5),
        Case("tokens that differ only in case: 'Dalian' is not 'dalian'", "encode",
             (["<unk>", "dalian", "Taipei"], "Dalian dalian DALIAN taipei Taipei".split())),
        Case("a custom unknown token '<pad>' that also occurs in the tokens", "encode",
             (["<pad>", "a", "b"], ["<pad>", "b", "zz", "<pad>", "a"])),
    ]


def _encode_verdict(case, result):
    itos, tokens = case.args
    stoi = {t: i for i, t in enumerate(itos)}
    want = np.array([stoi.get(t, 0) for t in tokens], dtype=np.int64)
    got = result.value
    moved = modified_issue(case, result, ("itos", "tokens"))
    if isinstance(got, np.ndarray) and got.ndim == 1 and got.dtype.kind in "iu":
        known = np.array([stoi[t] for t in tokens if t in stoi], dtype=np.int64)
        if got.shape != want.shape and got.shape == known.shape and np.array_equal(got, known):
            return Verdict(False, "unknown tokens were dropped: each one must be mapped to the unknown slot, index 0")
    if isinstance(got, np.ndarray) and got.dtype.kind not in "iu" and got.size:
        return Verdict(False, f"encode returned dtype {got.dtype}: indices must be integers (int64)")
    bad = {"unknown tokens were mapped to -1 instead of the unknown slot 0":
           np.array([stoi.get(t, -1) for t in tokens]),
           "unknown tokens were mapped to len(itos) instead of the unknown slot 0":
           np.array([stoi.get(t, len(itos)) for t in tokens])}
    return verdict(array_issue("encode(itos, tokens)", got, want, hints=bad), moved)


# -- one_hot -----------------------------------------------------------------------------------

def _one_hot_cases(seed):
    rng = np.random.default_rng(seed)
    return [
        Case("five indices, V=5", "one_hot", (np.array([0, 3, 1, 4, 3]), 5)),
        Case("a (T, N) = (4, 3) batch, V=7", "one_hot", (rng.integers(0, 7, size=(4, 3)), 7), weight=2.0),
        Case("V=1: only the unknown slot", "one_hot", (np.zeros(3, dtype=np.int64), 1)),
        Case("(T, N) = (1, 1), the last index V-1", "one_hot", (np.array([[9]]), 10)),
        Case("a (2, 3, 2) array of indices", "one_hot", (rng.integers(0, 4, size=(2, 3, 2)), 4)),
        Case("an empty sequence: indices of shape (0,), V=4", "one_hot", (np.zeros(0, dtype=np.int64), 4), weight=0.5),
        Case("an empty batch: (T, N) = (3, 0), V=5", "one_hot", (np.zeros((3, 0), dtype=np.int64), 5), weight=0.5),
        Case("index equal to V raises ValueError", "one_hot", (np.array([1, 5]), 5), weight=0.5,
             meta={"expects_error": True}),
        Case("negative index raises ValueError", "one_hot", (np.array([[0], [-1]]), 3), weight=0.5,
             meta={"expects_error": True}),
    ]


def _one_hot_verdict(case, result):
    if case.meta.get("expects_error"):
        if result.error_type == "ValueError":
            return Verdict(True, "correct")
        if result.error is not None:
            return Verdict(False, f"an index outside [0, V) should raise ValueError, got {result.error}")
        return Verdict(False, "an index outside [0, V) should raise ValueError naming the index, "
                       "but one_hot returned a value (negative indices silently wrap around in numpy)")
    torch = _torch()
    indices, V = case.args
    want = memo(case, "want", lambda: torch.nn.functional.one_hot(torch.as_tensor(indices), V).double().numpy())
    got = result.value
    if isinstance(got, np.ndarray) and got.shape == want.shape and got.dtype.kind not in "fc":
        return Verdict(False, f"one_hot returned dtype {got.dtype}: return float64 vectors (they are multiplied by weights)")
    return verdict(array_issue(f"one_hot(indices, {V})", got, want), modified_issue(case, result, ("indices", "V")))


# -- the RNN cell ------------------------------------------------------------------------------

def _params(rng, D, H, scale=0.5):
    return {"W_ih": rng.normal(0, scale, (H, D)), "W_hh": rng.normal(0, scale, (H, H)),
            "b_ih": rng.normal(0, scale, H), "b_hh": rng.normal(0, scale, H)}


def _load(module, params, suffix=""):
    torch = _torch()
    with torch.no_grad():
        for name in PARAM_NAMES:
            key = ("weight_" if name[0] == "W" else "bias_") + name.split("_")[1] + suffix
            getattr(module, key).copy_(torch.from_numpy(params[name]))
    return module


def _torch_cell(x, h_prev, params):
    torch = _torch()
    D, H = x.shape[1], h_prev.shape[1]
    cell = _load(torch.nn.RNNCell(D, H, dtype=torch.float64), params)
    with torch.no_grad():
        return cell(torch.from_numpy(x), torch.from_numpy(h_prev)).numpy()


def _torch_rnn(x, h0, params):
    torch = _torch()
    T, N, D = x.shape
    rnn = _load(torch.nn.RNN(D, h0.shape[1], dtype=torch.float64), params, "_l0")
    with torch.no_grad():
        out, _ = rnn(torch.from_numpy(x), torch.from_numpy(h0)[None])
    return out.numpy()


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))


def _step_variants(x, h_prev, p):
    """Known wrong versions of one step: {cause: h_next}."""
    xw = x @ p["W_ih"].T + p["b_ih"]
    z = xw + h_prev @ p["W_hh"].T + p["b_hh"]
    return {
        "output equals sigmoid where tanh was expected": _sigmoid(z),
        "W_hh was used transposed (h_prev @ W_hh instead of h_prev @ W_hh.T)": np.tanh(xw + h_prev @ p["W_hh"] + p["b_hh"]),
        "the bias b_hh is missing": np.tanh(z - p["b_hh"]),
        "the bias b_ih is missing": np.tanh(z - p["b_ih"]),
        "h_prev is not used": np.tanh(xw + p["b_hh"]),
        "the pre-activation was returned without tanh": z,
    }


def _step_cases(seed):
    rng = np.random.default_rng(seed)

    def case(name, N, D, H, x_scale=1.0, h_scale=0.5, weight=1.0):
        x = rng.normal(0, x_scale, (N, D))
        h_prev = np.tanh(rng.normal(0, h_scale, (N, H)))
        return Case(name, "rnn_step_forward", (x, h_prev, _params(rng, D, H)), weight=weight)

    return [
        case("N=3, D=4, H=5", 3, 4, 5, weight=2.0),
        case("N=1, D=1, H=1", 1, 1, 1),
        case("H smaller than D: N=2, D=6, H=3", 2, 6, 3),
        case("H larger than D: N=4, D=2, H=7", 4, 2, 7),
        case("D = H = 4", 5, 4, 4),
        case("large inputs that saturate tanh", 3, 3, 4, x_scale=500.0),
        case("a previous state far from zero", 2, 3, 5, h_scale=3.0),
        case("an empty batch: N=0, D=3, H=4", 0, 3, 4, weight=0.5),
    ]


def _step_verdict(case, result):
    x, h_prev, params = case.args
    want = memo(case, "want", lambda: _torch_cell(x, h_prev, params))
    return verdict(
        array_issue("h_next", result.value, want, hints=memo(case, "mistakes", lambda: _step_variants(x, h_prev, params))),
        modified_issue(case, result, ("x", "h_prev", "params")),
    )


def _forward_variants(x, h0, p):
    T = x.shape[0]
    outs = {}
    for cause, how in (("output equals sigmoid where tanh was expected", "sigmoid"),
                       ("W_hh was used transposed (h_prev @ W_hh instead of h_prev @ W_hh.T)", "transpose"),
                       ("h0 not used / state not carried between steps: every step starts from h0", "reset"),
                       ("the state is not carried: every step starts from zeros", "zeros"),
                       ("the bias b_hh is missing", "no_b_hh")):
        q = dict(p)
        if how == "transpose":
            q["W_hh"] = p["W_hh"].T
        if how == "no_b_hh":
            q["b_hh"] = np.zeros_like(p["b_hh"])
        h, h_prev = np.empty((T,) + h0.shape), h0
        for t in range(T):
            z = x[t] @ q["W_ih"].T + q["b_ih"] + (h0 if how == "reset" else 0 * h0 if how == "zeros" else h_prev) @ q["W_hh"].T + q["b_hh"]
            h[t] = _sigmoid(z) if how == "sigmoid" else np.tanh(z)
            h_prev = h[t]
        outs[cause] = h
    outs["h0 not used: the first step must start from h0"] = _torch_rnn(x, np.zeros_like(h0), p)
    shifted = np.concatenate([h0[None], _torch_rnn(x, h0, p)[:-1]])
    outs["off by one in time: h[t] holds the state before step t (h[0] is h0)"] = shifted
    return outs


def _forward_cases(seed):
    rng = np.random.default_rng(seed)

    def case(name, T, N, D, H, x_scale=1.0, h0_zero=False, weight=1.0):
        x = rng.normal(0, x_scale, (T, N, D))
        h0 = np.zeros((N, H)) if h0_zero else np.tanh(rng.normal(0, 1.0, (N, H)))
        return Case(name, "rnn_forward", (x, h0, _params(rng, D, H)), weight=weight)

    return [
        case("T=5, N=3, D=4, H=6", 5, 3, 4, 6, weight=2.0),
        case("T=1, N=1", 1, 1, 3, 2),
        case("N=1, T=7, D=2, H=3", 7, 1, 2, 3),
        case("H smaller than D: T=4, N=2, D=5, H=2", 4, 2, 5, 2),
        case("h0 all zeros, T=6", 6, 2, 3, 4, h0_zero=True),
        case("large inputs that saturate tanh", 4, 2, 3, 3, x_scale=500.0),
        case("a long sequence, T=30", 30, 2, 2, 5),
        case("an empty batch: T=3, N=0, D=2, H=4", 3, 0, 2, 4, weight=0.5),
        _no_step_case("rnn_forward", rng, ()),
    ]


def _no_step_case(func, rng, read_out):
    """T = 0: rnnlab's rnn_forward raises ValueError (and nn.RNN RuntimeError), so the check expects ValueError."""
    x, h0 = np.zeros((0, 2, 3)), np.tanh(rng.normal(0, 1.0, (2, 4)))
    return Case("an empty sequence (T=0) raises ValueError", func, (x, h0, _params(rng, 3, 4)) + read_out,
                weight=0.5, meta={"expects_error": True})


def _expects_no_step_error(case, result):
    if result.error_type == "ValueError":
        return Verdict(True, "correct")
    return Verdict(False, f"{case.func} should raise ValueError for a sequence of no step (T=0), as the docstring says, "
                   + (f"got {result.error}" if result.error else "but it returned a value"))


def _forward_verdict(case, result):
    if case.meta.get("expects_error"):
        return _expects_no_step_error(case, result)
    x, h0, params = case.args
    want = memo(case, "want", lambda: _torch_rnn(x, h0, params))
    return verdict(
        array_issue("h", result.value, want, hints=memo(case, "mistakes", lambda: _forward_variants(x, h0, params))),
        modified_issue(case, result, ("x", "h0", "params")),
    )


# -- parameter counts ----------------------------------------------------------------------------

def _count_cases(seed):
    del seed  # no randomness: the sizes are the ones of the lecture notes and a few others
    sizes = [((32, 16, "pytorch"), {}, 1.0), ((32, 16, "keras"), {}, 1.0),
             ((60, 100, "pytorch"), {}, 1.0), ((60, 100, "keras"), {}, 1.0),
             ((1, 1, "keras"), {}, 0.5), ((300, 7, "pytorch"), {}, 0.5),
             ((32, 16, "keras"), {"K": 256}, 1.0), ((32, 16, "pytorch"), {"K": 256}, 1.0),
             ((5, 3, "pytorch"), {"K": 1}, 0.5)]
    cases = [Case(f"D={a[0]}, H={a[1]}, {a[2]}" + (f", then a dense layer of {kw['K']}" if kw else ""),
                  "count_rnn_params", a, kwargs=kw, weight=w) for a, kw, w in sizes]
    cases.append(Case("an unknown convention raises ValueError", "count_rnn_params", (4, 4, "tensorflow"),
                      weight=0.5, meta={"expects_error": True}))
    return cases


def _torch_count(D, H, convention, K=None):
    """Parameters of real PyTorch modules; Keras's SimpleRNN is an RNN without bias plus one bias."""
    torch = _torch()
    meta = torch.device("meta")  # shapes only, no memory
    if convention == "pytorch":
        n = sum(p.numel() for p in torch.nn.RNN(D, H, device=meta).parameters())
    else:
        n = sum(p.numel() for p in torch.nn.RNN(D, H, bias=False, device=meta).parameters()) + H
    if K is not None:
        n += sum(p.numel() for p in torch.nn.Linear(H, K, device=meta).parameters())
    return n


def _count_verdict(case, result):
    if case.meta.get("expects_error"):
        if result.error_type == "ValueError":
            return Verdict(True, "correct")
        return Verdict(False, "an unknown convention should raise ValueError naming the valid ones, "
                       + (f"got {result.error}" if result.error else "but a number was returned"))
    D, H, conv = case.args
    K = case.kwargs.get("K")
    want = _torch_count(D, H, conv, K)
    got = result.value
    if isinstance(got, bool) or not isinstance(got, int):
        return Verdict(False, f"count_rnn_params should return an int, got {type(got).__name__}"
                       + (f" ({got!r})" if isinstance(got, float) else ""))
    if got == want:
        return Verdict(True, "correct")
    other = "keras" if conv == "pytorch" else "pytorch"
    causes = [
        (_torch_count(D, H, other, K), f"that is the {'Keras' if other == 'keras' else 'PyTorch'} count: "
                                       "the two conventions differ in the number of bias vectors"),
        (_torch_count(D, H, conv, None), "the dense layer after the RNN was not counted"),
        (want - K if K else None, "the dense layer's bias was not counted"),
        (want - H * H, "the recurrent weights W_hh (H x H) were not counted"),
    ]
    likely = "".join(f"\n  likely cause: {cause}" for value, cause in causes if value == got)
    return Verdict(False, f"count_rnn_params(D={D}, H={H}, {conv!r}{f', K={K}' if K else ''}) returned {got}, "
                   f"which is wrong" + likely)


# -- many-to-one classifier ------------------------------------------------------------------------

def _classify_reference(x, h0, params, W_hy, b_y):
    torch = _torch()
    h = _torch_rnn(x, h0, params)
    lin = torch.nn.Linear(W_hy.shape[1], W_hy.shape[0], dtype=torch.float64)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(W_hy))
        lin.bias.copy_(torch.from_numpy(b_y))
        return torch.softmax(lin(torch.from_numpy(h[-1])), dim=1).numpy()


def _softmax_rows(z, axis=1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _classify_variants(x, h0, params, W_hy, b_y):
    h = _torch_rnn(x, h0, params)
    scores = h[-1] @ W_hy.T + b_y
    return {
        "used the first hidden state h[0] instead of the last": _softmax_rows(h[0] @ W_hy.T + b_y),
        "used the mean of the hidden states instead of the last": _softmax_rows(h.mean(axis=0) @ W_hy.T + b_y),
        "returned the scores without the softmax": scores,
        "the softmax was taken over the batch axis instead of the classes": _softmax_rows(scores, axis=0),
        "W_hy was used transposed": _softmax_rows(h[-1] @ W_hy + b_y) if W_hy.shape[0] == W_hy.shape[1] else None,
    }


def _classify_cases(seed):
    rng = np.random.default_rng(seed)

    def case(name, T, N, D, H, K, b_scale=0.5, b_shift=0.0, w_scale=1.0, weight=1.0):
        x = rng.normal(0, 1, (T, N, D))
        h0 = np.tanh(rng.normal(0, 0.5, (N, H)))
        W_hy, b_y = rng.normal(0, w_scale, (K, H)), b_shift + rng.normal(0, b_scale, K)
        return Case(name, "classify_sequence", (x, h0, _params(rng, D, H), W_hy, b_y), weight=weight)

    return [
        case("T=6, N=4, D=3, H=5, K=3", 6, 4, 3, 5, 3, weight=2.0),
        case("T=1, N=1, K=2", 1, 1, 2, 3, 2),
        case("N=2, K=7 classes", 5, 2, 4, 4, 7),
        case("H = K = 3", 4, 3, 2, 3, 3),
        case("scores around 1000 (exp overflows unless the softmax is shifted)", 3, 3, 2, 4, 4, b_scale=1000.0),
        case("T=12, N=5", 12, 5, 3, 6, 4),
        case("scores all near -900 (exp underflows to 0 unless the softmax is shifted)", 3, 3, 2, 4, 3, b_shift=-900.0),
        case("scores in the thousands whose maxima differ by more than 1000 between sequences "
             "(shift each row by its own max)", 4, 4, 3, 5, 3, w_scale=2500.0),
        case("an empty batch: T=4, N=0, K=3", 4, 0, 2, 3, 3, weight=0.5),
        _no_step_case("classify_sequence", rng, (rng.normal(0, 1, (3, 4)), rng.normal(0, 1, 3))),
    ]


def _classify_verdict(case, result):
    if case.meta.get("expects_error"):
        return _expects_no_step_error(case, result)
    want = memo(case, "want", lambda: _classify_reference(*case.args))
    empty = case.args[0].shape[1] == 0  # no sequence: no mistake to recognise, only the shape (0, K)
    hints = {} if empty else {k: v for k, v in memo(case, "mistakes", lambda: _classify_variants(*case.args)).items()
                              if v is not None}
    got = result.value
    if isinstance(got, np.ndarray) and got.shape == want.shape and not np.all(np.isfinite(got)):
        return Verdict(False, "probabilities contain NaN or inf: subtract each row's maximum score before exp "
                       "(softmax(z) = softmax(z - max z))")
    return verdict(array_issue("probs", got, want, hints=hints),
                   modified_issue(case, result, ("x", "h0", "params", "W_hy", "b_y")))


# -- softmax_temperature, sample_text -------------------------------------------------

def _tempered(scores, tau, axis=1):
    torch = _torch()
    z = torch.from_numpy(np.asarray(scores, dtype=np.float64)) / tau
    return torch.softmax(z, dim=axis).numpy()


def _temperature_cases(seed):
    rng = np.random.default_rng(seed)

    def case(name, N, V, tau, scale=3.0, weight=1.0):
        scores = rng.normal(0, scale, (N, V))
        return Case(name, "softmax_temperature", (scores, tau), weight=weight)

    def error(name, tau):
        return Case(name, "softmax_temperature", (rng.normal(0, 1, (2, 3)), tau),
                    weight=0.5, meta={"expects_error": True})

    return [
        case("N=4, V=6, tau=1", 4, 6, 1.0, weight=2.0),
        case("N=3, V=5, tau=0.5", 3, 5, 0.5),
        case("N=2, V=8, tau=3", 2, 8, 3.0),
        case("N=1, V=2, tau=0.7", 1, 2, 0.7),
        case("tau=0.001: scores in the thousands "
             "(exp overflows unless each row is shifted)", 3, 4, 0.001),
        case("tau=1000: nearly uniform", 2, 5, 1000.0),
        error("tau=0 raises ValueError", 0.0),
        error("a negative tau raises ValueError", -0.5),
    ]


def _temperature_verdict(case, result):
    if case.meta.get("expects_error"):
        if result.error_type == "ValueError":
            return Verdict(True, "correct")
        what = f"raised {result.error}" if result.error else "returned a value"
        return Verdict(False, "softmax_temperature with tau <= 0 should raise "
                       f"ValueError; it {what}")
    scores, tau = case.args
    want = memo(case, "want", lambda: _tempered(scores, tau))
    got = result.value
    if (isinstance(got, np.ndarray) and got.shape == want.shape
            and not np.all(np.isfinite(got))):
        return Verdict(False, "probabilities contain NaN or inf: divide by tau, then "
                       "subtract each row's maximum before exp")
    hints = {
        # softmax(scores * tau) is softmax((scores * tau**2) / tau)
        "the scores were multiplied by tau instead of divided":
            _tempered(scores * tau * tau, tau),
        "the softmax was taken over the batch axis instead of the characters":
            _tempered(scores, tau, axis=0),
        "the temperature was ignored": _tempered(scores, 1.0),
    }
    return verdict(array_issue("probs", got, want, hints=hints),
                   modified_issue(case, result, ("scores", "tau")))


def _sample_reference(params, W_hy, b_y, h0, first, u, tau, how="right"):
    """Characters drawn by inverse CDF from nn.RNNCell, nn.Linear and softmax(s / tau).

    All in float64. how : "right" (the contract) or a known mistake: "argmax" (u
    ignored), "no_feedback" (always reads ``first``), "reset" (every step starts from
    h0), "no_tau" (tau ignored). Returns out ndarray (L, N) int64.
    """
    torch = _torch()
    V, H = W_hy.shape
    cell = _load(torch.nn.RNNCell(V, H, dtype=torch.float64), params)
    lin = torch.nn.Linear(H, V, dtype=torch.float64)
    L, N = u.shape
    out = np.empty((L, N), dtype=np.int64)
    start = torch.from_numpy(np.asarray(first, dtype=np.int64))
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(W_hy))
        lin.bias.copy_(torch.from_numpy(b_y))
        h, prev = torch.from_numpy(h0), start
        for t in range(L):
            h_in = torch.from_numpy(h0) if how == "reset" else h
            h = cell(torch.nn.functional.one_hot(prev, V).double(), h_in)
            probs = torch.softmax(lin(h) / (1.0 if how == "no_tau" else tau), dim=1)
            if how == "argmax":
                k = probs.argmax(dim=1)
            else:
                cdf = torch.cumsum(probs, dim=1)
                draw = torch.from_numpy(u[t]).reshape(N, 1).contiguous()
                k = torch.searchsorted(cdf, draw, right=True)[:, 0]
                k = torch.clamp(k, max=V - 1)
            out[t] = k.numpy()
            prev = start if how == "no_feedback" else k
    return out


def _sample_cases(seed):
    rng = np.random.default_rng(seed)

    def case(name, V, H, N, L, tau, w_scale=1.5, h0_zero=True, weight=1.0):
        params = _params(rng, V, H)
        W_hy, b_y = rng.normal(0, w_scale, (V, H)), rng.normal(0, 0.5, V)
        h0 = np.zeros((N, H)) if h0_zero else np.tanh(rng.normal(0, 1, (N, H)))
        first, u = rng.integers(0, V, N), rng.uniform(0, 1, (L, N))
        args = (params, W_hy, b_y, h0, first, u, tau)
        return Case(name, "sample_text", args, weight=weight)

    return [
        case("V=5, H=6, N=3, L=10, tau=1", 5, 6, 3, 10, 1.0, weight=2.0),
        case("V=7, H=4, N=2, L=12, tau=0.5", 7, 4, 2, 12, 0.5),
        case("V=4, H=5, N=1, L=15, tau=2", 4, 5, 1, 15, 2.0),
        case("L=1: one character", 6, 3, 4, 1, 1.0),
        case("a non-zero h0, tau=0.8", 5, 6, 3, 8, 0.8, h0_zero=False),
        case("tau=0.05: nearly greedy", 6, 5, 2, 10, 0.05),
        case("V=3 characters, H=8, L=20, tau=1.5", 3, 8, 2, 20, 1.5),
    ]


SAMPLE_MISTAKES = (
    ("the draw ignores u: it takes the most likely character (argmax)", "argmax"),
    ("the drawn character is not fed back: every step reads `first`", "no_feedback"),
    ("the state is not carried: every step starts from h0", "reset"),
    ("the temperature is ignored", "no_tau"),
)


def _sample_verdict(case, result):
    args = case.args
    want = memo(case, "want", lambda: _sample_reference(*args))
    got = result.value
    if isinstance(got, np.ndarray) and got.dtype.kind not in "iu":
        return Verdict(False, f"out has dtype {got.dtype}: return character indices "
                       "as int64")
    hints = {}
    for cause, how in SAMPLE_MISTAKES:
        # Kept per case like ``want``: the engine keeps a source's cases across submissions.
        alt = memo(case, f"mistake-{how}", lambda how=how: _sample_reference(*args, how=how))
        if not np.array_equal(alt, want):
            hints[cause] = alt
    names = ("params", "W_hy", "b_y", "h0", "first", "u", "tau")
    return verdict(array_issue("out", got, want, hints=hints),
                   modified_issue(case, result, names))


CHECKS = {
    "build_vocab": Check(_vocab_cases, _vocab_verdict,
                         "build_vocab: unknown slot first, then tokens by descending count, ties alphabetical", seed=11),
    "encode": Check(_encode_cases, _encode_verdict, "encode: indices of tokens, unknown tokens to 0", seed=12),
    "one_hot": Check(_one_hot_cases, _one_hot_verdict, "one_hot: rows of the identity, ValueError outside [0, V)", seed=13),
    "rnn_step_forward": Check(_step_cases, _step_verdict, "rnn_step_forward against torch.nn.RNNCell", seed=14),
    "rnn_forward": Check(_forward_cases, _forward_verdict, "rnn_forward against torch.nn.RNN", seed=15),
    "count_rnn_params": Check(_count_cases, _count_verdict, "count_rnn_params against real PyTorch modules", seed=16),
    "classify_sequence": Check(_classify_cases, _classify_verdict,
                               "classify_sequence: softmax of a linear read-out of the last state", seed=17),
    "softmax_temperature": Check(
        _temperature_cases, _temperature_verdict,
        "softmax_temperature against torch.softmax(scores / tau)", seed=18),
    "sample_text": Check(
        _sample_cases, _sample_verdict,
        "sample_text: inverse-CDF draws from nn.RNNCell, nn.Linear, a tempered softmax",
        seed=19),
}
