"""Mutants and alternatives of assignment 4 (LSTM).

Every mutant is a plausible student mistake, written as an exact replacement in the solution
code or as a replacement function; every alternative is a correct rewrite that must keep full
marks. The plotting and printing cells are left out: no hidden check reads them.
"""

import numpy as np

from harness import Alternative, Mutant

SKIP_CELLS = ("table_plot", "notes_check")

_A = 'a = x @ params["W_ih"].T + params["b_ih"] + h_prev @ params["W_hh"].T + params["b_hh"]  # (N, 4H)'
_GATES = ("    i = sigmoid(a[:, :H])\n    f = sigmoid(a[:, H:2 * H])\n"
          "    g = np.tanh(a[:, 2 * H:3 * H])\n    o = sigmoid(a[:, 3 * H:])\n")
_DC = "dc = dc_next + dh_next * o * (1.0 - tanh_c ** 2)  # both paths into c_t"
_G_O = ("                         dc * i * (1.0 - g ** 2),                 # candidate\n"
        "                         dh_next * tanh_c * o * (1.0 - o)],       # output gate\n")
_STEP_BACK = "dx[t], dh_carry, dc_carry, g = lstm_step_backward(dh[t] + dh_carry, dc_carry, step)"
_CARRY = "h_prev, c_prev = h[t], c[t]"
_COUNT = "per_direction = 4 * (H * D + H * H + biases[convention] * H)"


# The T = 0 check of lstm_forward (rnnlab refuses a sequence of no step).
NO_STEP_CHECK = '    if T == 0:\n        raise ValueError(f"x must have at least one time step (T >= 1), got shape {x.shape}")\n'

MUTANTS = [
    # lstm_step_forward
    Mutant("forget and input gates swapped",
           replace=(("i = sigmoid(a[:, :H])", "i = sigmoid(a[:, H:2 * H])"), ("f = sigmoid(a[:, H:2 * H])", "f = sigmoid(a[:, :H])")),
           kills=("lstm_step_forward", "lstm_forward")),
    Mutant("gate order i, f, o, g instead of i, f, g, o",
           replace=(("g = np.tanh(a[:, 2 * H:3 * H])", "g = np.tanh(a[:, 3 * H:])"), ("o = sigmoid(a[:, 3 * H:])", "o = sigmoid(a[:, 2 * H:3 * H])")),
           kills=("lstm_step_forward",)),
    Mutant("candidate with sigmoid instead of tanh", replace=(("g = np.tanh(a[:, 2 * H:3 * H])", "g = sigmoid(a[:, 2 * H:3 * H])"),)),
    Mutant("forget gate applied to the candidate", replace=(("c_next = f * c_prev + i * g", "c_next = i * c_prev + f * g"),)),
    Mutant("old cell state not used", replace=(("c_next = f * c_prev + i * g", "c_next = i * g"),)),
    Mutant("tanh of the cell state missing", replace=(("h_next = o * np.tanh(c_next)", "h_next = o * c_next"),)),
    Mutant("recurrent blocks not transposed",
           replace=((_A, 'a = x @ params["W_ih"].T + params["b_ih"] + params["b_hh"] + np.concatenate('
                         '[h_prev @ params["W_hh"][k * H:(k + 1) * H] for k in range(4)], axis=1)'),)),
    Mutant("missing bias b_hh", replace=((_A, 'a = x @ params["W_ih"].T + params["b_ih"] + h_prev @ params["W_hh"].T'),)),
    Mutant("float32 precision loss in the step",
           replace=((_A, 'a = (x.astype(np.float32) @ params["W_ih"].T.astype(np.float32)) + params["b_ih"]'
                         ' + h_prev @ params["W_hh"].T + params["b_hh"]'),), kills=("lstm_step_forward",)),
    # lstm_forward
    Mutant("cell state not carried between steps", replace=((_CARRY, "h_prev = h[t]"),), kills=("lstm_forward",)),
    Mutant("hidden state not carried between steps", replace=((_CARRY, "c_prev = c[t]"),)),
    Mutant("c0 ignored", replace=(("c0 = np.zeros((N, H)) if c0 is None else c0", "c0 = np.zeros((N, H))"),)),
    Mutant("off by one in time: step t reads x[t-1]",
           replace=(("lstm_step_forward(x[t], h_prev, c_prev, params)", "lstm_step_forward(x[t - 1], h_prev, c_prev, params)"),)),
    Mutant("in-place: the cell state written into the caller's c0",
           replace=((_CARRY, "h_prev = h[t]\n        c_prev[...] = c[t]"),), kills=("lstm_forward",)),
    # lstm_step_backward
    Mutant("dc misses the path through h", replace=((_DC, "dc = dc_next"),), kills=("lstm_step_backward",)),
    Mutant("forget gate missing from dc_prev", replace=(("dc_prev = dc * f", "dc_prev = dc"),)),
    Mutant("output gate gradient uses c instead of tanh(c)",
           replace=(("dh_next * tanh_c * o * (1.0 - o)]", 'dh_next * cache["c_next"] * o * (1.0 - o)]'),)),
    Mutant("candidate derivative as a sigmoid's", replace=(("dc * i * (1.0 - g ** 2)", "dc * i * g * (1.0 - g)"),)),
    Mutant("gradient blocks stacked i, f, o, g",
           replace=((_G_O, "                         dh_next * tanh_c * o * (1.0 - o),\n"
                           "                         dc * i * (1.0 - g ** 2)],\n"),), kills=("lstm_step_backward",)),
    Mutant("float32 precision loss in the backward step",
           replace=(('dx = da @ p["W_ih"]', 'dx = da.astype(np.float32) @ p["W_ih"].astype(np.float32)'),)),
    Mutant("in-place: dh_next's contribution added into dc_next",
           replace=((_DC, "dc = dc_next\n    dc += dh_next * o * (1.0 - tanh_c ** 2)"),), kills=("lstm_step_backward",)),
    # lstm_backward
    Mutant("cell-state gradient not carried", replace=((_STEP_BACK, _STEP_BACK.replace(", dc_carry, step)", ", np.zeros_like(dc_carry), step)")),),
           kills=("lstm_backward",)),
    Mutant("hidden-state gradient not carried", replace=((_STEP_BACK, _STEP_BACK.replace("dh[t] + dh_carry", "dh[t]")),)),
    Mutant("weight gradients overwritten, not summed over time", replace=(("grads[k] += g[k]", "grads[k] = g[k]"),)),
    Mutant("off by one in time: c_prev is c[t]", replace=(('"c_prev": c[t - 1] if t > 0 else cache["c0"]', '"c_prev": c[t]'),)),
    Mutant("c0 replaced by zeros in the backward pass",
           replace=(('"c_prev": c[t - 1] if t > 0 else cache["c0"]', '"c_prev": c[t - 1] if t > 0 else 0 * c[0]'),)),
    Mutant("in-place: the carried gradient added into dh",
           replace=((_STEP_BACK, "g_t = dh[t]\n        g_t += dh_carry\n        "
                                 + _STEP_BACK.replace("dh[t] + dh_carry", "g_t")),), kills=("lstm_backward",)),
    # gate_biases
    Mutant("input and forget biases swapped",
           replace=(("b[:H] = big if i_open else -big", "b[:H] = big if f_open else -big"),
                    ("b[H:2 * H] = big if f_open else -big", "b[H:2 * H] = big if i_open else -big")), kills=("gate_biases",)),
    Mutant("bias blocks in the order i, f, o, g",
           replace=(("b[2 * H:3 * H] = np.arctanh(candidate)", "b[2 * H:3 * H] = big"),
                    ("b[3 * H:] = big", "b[3 * H:] = np.arctanh(candidate)"))),
    Mutant("biases too small to saturate", replace=(("big = 12.0", "big = 5.0"),)),
    Mutant("candidate bias not inverted through tanh", replace=(("np.arctanh(candidate)", "candidate"),)),
    Mutant("output gate left half open", replace=(("b[3 * H:] = big", "b[3 * H:] = 0.0"),)),
    Mutant("unknown row raises KeyError", replace=(('raise ValueError(f"row must be one of {sorted(ROWS)}, got {row!r}")', "pass"),)),
    Mutant("float32 biases", replace=(("b = np.empty(4 * H)", "b = np.empty(4 * H, dtype=np.float32)"),)),
    # count_lstm_params
    Mutant("three weight blocks", replace=((_COUNT, _COUNT.replace("4 * (", "3 * (")),), kills=("count_lstm_params",)),
    Mutant("Keras and PyTorch bias counts swapped", replace=(('{"pytorch": 2, "keras": 1}', '{"pytorch": 1, "keras": 2}'),)),
    Mutant("bidirectional not doubled", replace=(("per_direction * (2 if bidirectional else 1)", "per_direction"),)),
    Mutant("recurrent weights counted as H x D", replace=((_COUNT, _COUNT.replace("H * H", "H * D")),)),
    Mutant("unknown convention raises KeyError",
           replace=(("raise ValueError(f\"convention must be 'pytorch' or 'keras', got {convention!r}\")", "pass"),)),
    Mutant("returns a float", replace=(("return int(per_direction * (2 if bidirectional else 1))",
                                        "return per_direction * (2.0 if bidirectional else 1.0)"),)),
    # returned caches: every entry is compared, not only the keys
    Mutant("step cache holds c_next as c_prev", replace=(('cache = dict(x=x, h_prev=h_prev, c_prev=c_prev, gates=dict(i=i, f=f, g=g, o=o), c_next=c_next, params=params)', 'cache = dict(x=x, h_prev=h_prev, c_prev=c_next, gates=dict(i=i, f=f, g=g, o=o), c_next=c_next, params=params)'),),
           kills=("lstm_step_forward",)),
    Mutant("step cache holds h_next as h_prev", replace=(('cache = dict(x=x, h_prev=h_prev, c_prev=c_prev, gates=dict(i=i, f=f, g=g, o=o), c_next=c_next, params=params)', 'cache = dict(x=x, h_prev=h_next, c_prev=c_prev, gates=dict(i=i, f=f, g=g, o=o), c_next=c_next, params=params)'),),
           kills=("lstm_step_forward",)),
    Mutant("sequence cache holds the last state as h0", replace=(('cache = dict(x=x, h0=h0, c0=c0, h=h, c=c, gates=gates, params=params)', 'cache = dict(x=x, h0=h_prev, c0=c0, h=h, c=c, gates=gates, params=params)'),),
           kills=("lstm_forward",)),
    Mutant("sequence cache holds the cell states as h", replace=(('cache = dict(x=x, h0=h0, c0=c0, h=h, c=c, gates=gates, params=params)', 'cache = dict(x=x, h0=h0, c0=c0, h=c, c=c, gates=gates, params=params)'),),
           kills=("lstm_forward",)),
    # empty batches (N = 0)
    Mutant("bias gradient averaged over the batch", replace=(("db = da.sum(axis=0)", "db = da.mean(axis=0)"),),
           kills=("lstm_step_backward", "lstm_backward")),
    Mutant("step reshapes h_prev with -1 (fails on N=0)",
           replace=(('h_prev @ params["W_hh"].T + params["b_hh"]  # (N, 4H)',
                     'h_prev.reshape(x.shape[0], -1) @ params["W_hh"].T + params["b_hh"]  # (N, 4H)'),),
           kills=("lstm_step_forward", "lstm_forward")),
    Mutant("lstm_forward returns empty arrays for T=0",
           replace=((NO_STEP_CHECK, ""),), kills=("lstm_forward",)),
]


def _per_gate_step_forward(ns):
    """Four separate (H, D) and (H, H) matrices, one per gate, instead of the stacked product."""
    sigmoid = ns["sigmoid"]

    def lstm_step_forward(x, h_prev, c_prev, params):
        H = h_prev.shape[1]
        pre = {}
        for k, name in enumerate("ifgo"):
            rows = slice(k * H, (k + 1) * H)
            W_x, W_h = params["W_ih"][rows], params["W_hh"][rows]
            pre[name] = x @ W_x.T + h_prev @ W_h.T + params["b_ih"][rows] + params["b_hh"][rows]
        gates = {"i": sigmoid(pre["i"]), "f": sigmoid(pre["f"]), "g": np.tanh(pre["g"]), "o": sigmoid(pre["o"])}
        c_next = gates["f"] * c_prev + gates["i"] * gates["g"]
        h_next = gates["o"] * np.tanh(c_next)
        return h_next, c_next, {"x": x, "h_prev": h_prev, "c_prev": c_prev, "gates": gates, "c_next": c_next,
                                "params": params, "pre": pre}  # an extra key is allowed

    return lstm_step_forward


def _vectorised_lstm_backward(ns):
    """BPTT that keeps da of every step and computes the weight gradients with einsum at the end."""
    def lstm_backward(dh, cache):
        x, c, gates, p, h0, c0 = cache["x"], cache["c"], cache["gates"], cache["params"], cache["h0"], cache["c0"]
        T = x.shape[0]
        i, f, g, o = (gates[k] for k in "ifgo")
        tanh_c = np.tanh(c)
        c_prev = np.concatenate([c0[None], c[:-1]])
        h_prev = np.concatenate([h0[None], cache["h"][:-1]])
        da = np.empty(x.shape[:2] + (p["W_hh"].shape[0],))
        dh_next, dc_next = np.zeros_like(h0), np.zeros_like(h0)
        for t in range(T - 1, -1, -1):
            gh = dh[t] + dh_next
            dc = dc_next + gh * o[t] * (1 - tanh_c[t] ** 2)
            da[t] = np.hstack([dc * g[t] * i[t] * (1 - i[t]), dc * c_prev[t] * f[t] * (1 - f[t]),
                               dc * i[t] * (1 - g[t] ** 2), gh * tanh_c[t] * o[t] * (1 - o[t])])
            dh_next, dc_next = da[t] @ p["W_hh"], dc * f[t]
        db = da.sum(axis=(0, 1))
        grads = {"W_ih": np.einsum("tna,tnd->ad", da, x), "W_hh": np.einsum("tna,tnh->ah", da, h_prev),
                 "b_ih": db, "b_hh": db.copy()}
        return np.einsum("tna,ad->tnd", da, p["W_ih"]), dh_next, grads

    return lstm_backward


def _inline_lstm_forward(ns):
    """A forward without the step function: all input projections at once, gates by np.split."""
    sigmoid = ns["sigmoid"]

    def lstm_forward(x, h0, params, c0=None):
        T, N, D = x.shape
        H = h0.shape[1]
        c_prev = np.zeros((N, H)) if c0 is None else c0
        c0 = c_prev
        xw = np.einsum("tnd,ad->tna", x, params["W_ih"]) + params["b_ih"] + params["b_hh"]
        hs, cs, gs, h_prev = [], [], [], h0
        for t in range(T):
            i, f, g, o = np.split(xw[t] + h_prev @ params["W_hh"].T, 4, axis=1)
            i, f, g, o = sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)
            c_prev = f * c_prev + i * g
            h_prev = o * np.tanh(c_prev)
            hs.append(h_prev)
            cs.append(c_prev)
            gs.append((i, f, g, o))
        gates = {k: np.stack([s[n] for s in gs]) for n, k in enumerate("ifgo")}
        h = np.stack(hs)
        return h, {"x": x, "h0": h0, "c0": c0, "h": h, "c": np.stack(cs), "gates": gates, "params": params}

    return lstm_forward


def _table_gate_biases(ns):
    """Biases built from a table of gate values with np.repeat and logit / arctanh."""
    def gate_biases(row, H, candidate=0.5):
        targets = {"keep": (1e-7, 1 - 1e-7), "add": (1 - 1e-7, 1 - 1e-7), "clear": (1e-7, 1e-7), "replace": (1 - 1e-7, 1e-7)}
        if row not in targets:
            raise ValueError(f"unknown row {row!r}")
        i, f = targets[row]
        logit = lambda p: np.log(p / (1 - p))  # noqa: E731
        return np.repeat([logit(i), logit(f), np.arctanh(candidate), logit(1 - 1e-7)], H).astype(np.float64)

    return gate_biases


ALTERNATIVES = [
    Alternative("separate per-gate matrices", patch={"lstm_step_forward": _per_gate_step_forward}),
    Alternative("gates by np.split", replace=((_GATES, "    i, f, g, o = np.split(a, 4, axis=1)\n"
                                                        "    i, f, g, o = sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)\n"),)),
    Alternative("sigmoid written as 1 / (1 + exp(-a))",
                replace=(("i = sigmoid(a[:, :H])", "i = 1.0 / (1.0 + np.exp(-a[:, :H]))"),
                         ("o = sigmoid(a[:, 3 * H:])", "o = 1.0 / (1.0 + np.exp(-a[:, 3 * H:]))"))),
    Alternative("forward without the step function", patch={"lstm_forward": _inline_lstm_forward}),
    Alternative("vectorised BPTT with einsum", patch={"lstm_backward": _vectorised_lstm_backward}),
    Alternative("tanh derivative factored as (1 - g)(1 + g)", replace=(("dc * i * (1.0 - g ** 2)", "dc * i * (1.0 - g) * (1.0 + g)"),)),
    Alternative("biases from a table of gate values", patch={"gate_biases": _table_gate_biases}),
    Alternative("count from the weight shapes",
                replace=((_COUNT, "shapes = [(4 * H, D), (4 * H, H)] + [(4 * H,)] * biases[convention]\n"
                                  "    per_direction = sum(int(np.prod(s)) for s in shapes)"),)),
    Alternative("caches hold extra entries and copies",
                replace=(('cache = dict(x=x, h_prev=h_prev, c_prev=c_prev, gates=dict(i=i, f=f, g=g, o=o), c_next=c_next, params=params)', "cache = dict(x=x.copy(), h_prev=h_prev, c_prev=c_prev.copy(), gates=dict(i=i, f=f, g=g, o=o), "
                                       "c_next=c_next, params=dict(params), h_next=h_next, a=a)"),
                         ('cache = dict(x=x, h0=h0, c0=c0, h=h, c=c, gates=gates, params=params)', "cache = dict(x=x, h0=h0.copy(), c0=c0, h=h, c=c.copy(), gates=gates, params=params, T=T)"))),
]

# A solution calling the course's reference implementation (test_release: no points for it).
SHORTCUT = Mutant("lstm_forward from rnnlab", replace=((
    "    T, N, _ = x.shape\n" + NO_STEP_CHECK + "    H = h0.shape[1]\n    c0 = np.zeros((N, H)) if c0 is None else c0\n",
    "    import rnnlab.lstm as L\n"
    "    h, ref = L.lstm_forward(x, h0, params, c0=c0)\n"
    "    return h, dict(x=x, h0=h0, c0=ref[\"c0\"], h=h, c=ref[\"c\"], gates={k: ref[\"gates\"][k].copy() for k in \"ifgo\"},"
    " params=params)\n"
    "    T, N, _ = x.shape\n" + NO_STEP_CHECK + "    H = h0.shape[1]\n    c0 = np.zeros((N, H)) if c0 is None else c0\n"),),
                  kills=("lstm_forward",))
