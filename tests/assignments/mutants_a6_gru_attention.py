"""Mutants and alternatives of assignment 6 (GRU, attention, decoding).

Every mutant is a plausible student mistake, written as an exact replacement in the
solution code or as a replacement function; every alternative is a correct rewrite that
must keep full marks. The training run and the heatmap are left out: no hidden check
reads them.
"""

import numpy as np

from harness import Alternative, Mutant

SKIP_CELLS = ("train_reverser", "heatmap")

# exact lines of the solution code that several variants change
_Q = "q = hw[:, 2 * H:]                                   # W_hn h_prev + b_hn"
_N = "n = np.tanh(xw[:, 2 * H:] + r * q)"
_H = "h_next = (1.0 - z) * n + z * h_prev"
_R = "r = sigmoid(xw[:, :H] + hw[:, :H])"
_Z = "z = sigmoid(xw[:, H:2 * H] + hw[:, H:2 * H])"
_XW = 'xw = x @ params["W_ih"].T + params["b_ih"]          # (N, 3H)'
_HW = 'hw = h_prev @ params["W_hh"].T + params["b_hh"]     # (N, 3H)'
_STEP_CACHE = "gates=dict(r=r, z=z, n=n), q=q, params=params)"
_SEQ_CACHE = "cache = dict(x=x, h0=h0, h=h, gates=gates, q=q, params=params)"
_CARRY = "        h_prev = h[t]\n"
_T0 = ('        raise ValueError(f"x must have a time step (T >= 1), got shape '
       '{x.shape}")\n')
_DHW = ("dhw = np.concatenate([da_r, da_z, da_n * r], axis=1)   "
        "# on h_prev W_hh^T + b_hh")
_DH_PREV = 'dh_prev = dh_next * z + dhw @ p["W_hh"]'
_DB = '"b_ih": dxw.sum(axis=0), "b_hh": dhw.sum(axis=0)}'
_STEP_BACK = "dx[t], dh_carry, g = gru_step_backward(dh[t] + dh_carry, step)"
_H_PREV = '"h_prev": h[t - 1] if t > 0 else cache["h0"]'
_MASK = "scores = np.where(mask, scores, -np.inf)"
_SOFT = "e = np.exp(scores - scores.max(axis=0, keepdims=True))     # exp(-inf) = 0"
_W = "weights = e / e.sum(axis=0, keepdims=True)"
_NO_REAL = ('        raise ValueError(f"mask {mask.shape} has a column without a real '
            'position")\n')
_ATT_CACHE = "cache = dict(query=query, keys=keys, weights=weights)"
_DS = "dscores = w * (dw - (w * dw).sum(axis=0, keepdims=True))   # through the softmax"
_DK = "dkeys = w[:, :, None] * dcontext[None] + dscores[:, :, None] * query[None]"
_DQ = 'dquery = np.einsum("sn,snh->nh", dscores, keys)'
_U = 'u = np.tanh(keys @ params["W_k"].T + (query @ params["W_q"].T)[None])'
_ADD_SCORES = 'scores = np.where(mask, u @ params["v"], -np.inf)'
_ADD_W = "weights = e / np.sum(e, axis=0, keepdims=True)"
_DU = 'du = dscores[:, :, None] * p["v"] * (1.0 - u ** 2)                 # (S, N, A)'
_DQP = "dq_proj = du.sum(axis=0)                                           # (N, A)"
_ADD_DK = 'dkeys = w[:, :, None] * dcontext[None] + du @ p["W_k"]'
_ADD_GV = '"v": np.einsum("sn,sna->a", dscores, u)}'
_G_STEP = ("log_probs, h = decoder.step(torch.tensor([prev]), h)\n"
           "            prev = int")
_G_STOP = "            if prev == EOS:\n                break\n"
_G_LOOP = "        for _ in range(max_len):\n            log_probs, h = decoder"
_SORT = "candidates.sort(key=lambda c: c[1], reverse=True)"
_FINISH = ("                if tokens[-1] == EOS:\n"
           "                    finished.append((tokens, logp))\n"
           "                else:\n"
           "                    alive.append((tokens, logp, h_next))\n")
_EMPTY = "            if not alive:\n                break\n"
_BEST = "tokens, logp = max(finished, key=lambda c: c[1] / len(c[0]) ** alpha)"
_CUT = ("finished += [(tokens, logp) for tokens, logp, _ in alive]   "
        "# cut off at max_len")
_RETURN = "    return tokens, logp / len(tokens) ** alpha"

FWD = ("gru_step_forward", "gru_forward")

MUTANTS = [
    # gru_step_forward
    Mutant("reset gate before the matrix product (the 2014 paper)",
           replace=((_Q, 'q = (r * h_prev) @ params["W_hh"][2 * H:].T'
                         ' + params["b_hh"][2 * H:]'),
                    (_N, "n = np.tanh(xw[:, 2 * H:] + q)")), kills=FWD),
    Mutant("z and 1 - z swapped",
           replace=((_H, "h_next = z * n + (1.0 - z) * h_prev"),),
           kills=FWD),
    Mutant("gate order z, r, n",
           replace=((_R, "r = sigmoid(xw[:, H:2 * H] + hw[:, H:2 * H])"),
                    (_Z, "z = sigmoid(xw[:, :H] + hw[:, :H])")),
           kills=("gru_step_forward",)),
    Mutant("b_hn outside the reset product",
           replace=((_N, 'n = np.tanh(xw[:, 2 * H:] + r * (q - params["b_hh"][2 * H:])'
                         ' + params["b_hh"][2 * H:])'),),
           kills=("gru_step_forward",)),
    Mutant("candidate with sigmoid instead of tanh",
           replace=((_N, "n = sigmoid(xw[:, 2 * H:] + r * q)"),)),
    Mutant("old state not kept: h = (1 - z) * n",
           replace=((_H, "h_next = (1.0 - z) * n"),)),
    Mutant("missing bias b_hh", replace=((_HW, 'hw = h_prev @ params["W_hh"].T'),)),
    Mutant("float32 precision loss in the step",
           replace=((_XW, 'xw = x.astype(np.float32) @ '
                          'params["W_ih"].T.astype(np.float32) + params["b_ih"]'),),
           kills=("gru_step_forward",)),
    Mutant("step cache holds q without its bias",
           replace=((_STEP_CACHE, 'gates=dict(r=r, z=z, n=n), '
                                  'q=q - params["b_hh"][2 * H:], params=params)'),),
           kills=("gru_step_forward",)),
    # gru_forward
    Mutant("state not carried between steps",
           replace=((_CARRY, "        h_prev = h0\n"),),
           kills=("gru_forward",)),
    Mutant("h0 ignored", replace=(("h0 = np.zeros((N, H)) if h0 is None else h0",
                                   "h0 = np.zeros((N, H))"),)),
    Mutant("off by one in time: step t reads x[t-1]",
           replace=(("gru_step_forward(x[t], h_prev, params)",
                     "gru_step_forward(x[t - 1], h_prev, params)"),)),
    Mutant("no error for T=0",
           replace=((_T0, "        pass\n"),), kills=("gru_forward",)),
    Mutant("sequence cache holds the last state as h0",
           replace=((_SEQ_CACHE, _SEQ_CACHE.replace("h0=h0", "h0=h_prev")),),
           kills=("gru_forward",)),
    Mutant("in-place: the state written into the caller's h0",
           replace=((_CARRY, "        h_prev[...] = h[t]\n"),), kills=("gru_forward",)),
    # gru_step_backward
    Mutant("direct path z * h_prev missing from dh_prev",
           replace=((_DH_PREV, 'dh_prev = dhw @ p["W_hh"]'),),
           kills=("gru_step_backward",)),
    Mutant("reset gate missing from the recurrent n gradient",
           replace=((_DHW, "dhw = dxw"),), kills=("gru_step_backward",)),
    Mutant("update-gate gradient with the wrong sign",
           replace=(("dz = dh_next * (h_prev - n)", "dz = dh_next * (n - h_prev)"),)),
    Mutant("reset-gate gradient without q",
           replace=(("da_r = da_n * q * r * (1.0 - r)",
                     "da_r = da_n * r * (1.0 - r)"),)),
    Mutant("candidate derivative as a sigmoid's",
           replace=(("da_n = dn * (1.0 - n ** 2)", "da_n = dn * n * (1.0 - n)"),)),
    Mutant("bias gradient averaged over the batch",
           replace=((_DB, _DB.replace("sum", "mean")),),
           kills=("gru_step_backward", "gru_backward")),
    Mutant("in-place: dh_next scaled into dn",
           replace=(("dn = dh_next * (1.0 - z)", "dn = dh_next\n    dn *= 1.0 - z"),),
           kills=("gru_step_backward",)),
    # gru_backward
    Mutant("weight gradients overwritten, not summed over time",
           replace=(("grads[k] += g[k]", "grads[k] = g[k]"),), kills=("gru_backward",)),
    Mutant("hidden-state gradient not carried",
           replace=((_STEP_BACK, _STEP_BACK.replace("dh[t] + dh_carry", "dh[t]")),),
           kills=("gru_backward",)),
    Mutant("off by one in time: h_prev is h[t]", replace=((_H_PREV, '"h_prev": h[t]'),),
           kills=("gru_backward",)),
    Mutant("in-place: the carried gradient added into dh",
           replace=((_STEP_BACK, "g_t = dh[t]\n        g_t += dh_carry\n        "
                     + _STEP_BACK.replace("dh[t] + dh_carry", "g_t")),),
           kills=("gru_backward",)),
    # attention_forward
    Mutant("softmax over the batch axis",
           replace=((_SOFT, "e = np.exp(scores - scores.max(axis=1, keepdims=True))"),
                    (_W, "weights = np.nan_to_num(e / e.sum(axis=1, keepdims=True))")),
           kills=("attention_forward",)),
    Mutant("mask applied after the softmax",
           replace=((_MASK, "pass"), (_W, _W + " * mask")),
           kills=("attention_forward",)),
    Mutant("mask not applied",
           replace=((_MASK, "pass"),), kills=("attention_forward",)),
    Mutant("scores multiplied by the mask",
           replace=((_MASK, "scores = scores * mask"),),
           kills=("attention_forward",)),
    Mutant("softmax without the max shift", replace=((_SOFT, "e = np.exp(scores)"),),
           kills=("attention_forward",)),
    Mutant("mask inverted",
           replace=((_MASK, "scores = np.where(mask, -np.inf, scores)"),),
           kills=("attention_forward",)),
    Mutant("no error for an all-padding column",
           replace=((_NO_REAL, "        pass\n"),),
           kills=("attention_forward",)),
    Mutant("attention cache holds the exponentials as weights",
           replace=((_ATT_CACHE, "cache = dict(query=query, keys=keys, weights=e)"),),
           kills=("attention_forward",)),
    # attention_backward
    Mutant("dkeys only through the values",
           replace=((_DK, "dkeys = w[:, :, None] * dcontext[None]"),),
           kills=("attention_backward",)),
    Mutant("dkeys only through the scores",
           replace=((_DK, "dkeys = dscores[:, :, None] * query[None]"),),
           kills=("attention_backward",)),
    Mutant("softmax Jacobian without the centring term",
           replace=((_DS, "dscores = w * dw"),), kills=("attention_backward",)),
    Mutant("softmax Jacobian centred over the batch axis",
           replace=((_DS, "dscores = w * (dw - (w * dw).sum(axis=1, keepdims=True))"),),
           kills=("attention_backward",)),
    Mutant("float32 attention gradient",
           replace=((_DQ, 'dquery = np.einsum("sn,snh->nh", '
                          'dscores.astype(np.float32), keys.astype(np.float32))'),),
           kills=("attention_backward",)),
    # additive_attention_forward
    Mutant("additive: query left out of the score",
           replace=((_U, 'u = np.tanh(keys @ params["W_k"].T)'),),
           kills=("additive_attention_forward",)),
    Mutant("additive: tanh missing",
           replace=((_U, 'u = keys @ params["W_k"].T'
                         ' + (query @ params["W_q"].T)[None]'),),
           kills=("additive_attention_forward",)),
    Mutant("additive: mask applied after the softmax",
           replace=((_ADD_SCORES, 'scores = u @ params["v"]'),
                    (_ADD_W, _ADD_W + " * mask")),
           kills=("additive_attention_forward",)),
    Mutant("additive: no error for an all-padding column",
           replace=(('        raise ValueError(f"mask {mask.shape}: a column has '
                     'no real position")\n', "        pass\n"),),
           kills=("additive_attention_forward",)),
    Mutant("additive: W_q and W_k swapped",
           replace=((_U, 'u = np.tanh(keys @ params["W_q"].T'
                         ' + (query @ params["W_k"].T)[None])'),),
           kills=("additive_attention_forward",)),
    # additive_attention_backward
    Mutant("additive: tanh derivative missing",
           replace=((_DU, 'du = dscores[:, :, None] * p["v"]'),),
           kills=("additive_attention_backward",)),
    Mutant("additive: W_q gradient from the last position only",
           replace=((_DQP, "dq_proj = du[-1]"),),
           kills=("additive_attention_backward",)),
    Mutant("additive: dkeys only through the values",
           replace=((_ADD_DK, "dkeys = w[:, :, None] * dcontext[None]"),),
           kills=("additive_attention_backward",)),
    Mutant("additive: v gradient from the weights instead of the scores",
           replace=((_ADD_GV, '"v": np.einsum("sn,sna->a", w, u)}'),),
           kills=("additive_attention_backward",)),
    # greedy_decode
    Mutant("greedy does not stop at EOS",
           replace=((_G_STOP, ""),), kills=("greedy_decode",)),
    Mutant("greedy leaves EOS out",
           replace=(("            tokens.append(prev)\n" + _G_STOP,
                     _G_STOP + "            tokens.append(prev)\n"),),
           kills=("greedy_decode",)),
    Mutant("greedy feeds BOS at every step",
           replace=((_G_STEP, _G_STEP.replace("([prev])", "([BOS])")),),
           kills=("greedy_decode",)),
    Mutant("greedy does not carry the state",
           replace=((_G_STEP, _G_STEP.replace("log_probs, h =", "log_probs, _ =")),),
           kills=("greedy_decode",)),
    Mutant("greedy one token short of max_len",
           replace=((_G_LOOP,
                     _G_LOOP.replace("range(max_len)", "range(max_len - 1)")),),
           kills=("greedy_decode",)),
    Mutant("greedy returns tensors",
           replace=(("tokens.append(prev)", "tokens.append(torch.tensor(prev))"),),
           kills=("greedy_decode",)),
    # beam_search
    Mutant("beam search without length normalisation",
           replace=((_BEST, "tokens, logp = max(finished, key=lambda c: c[1])"),),
           kills=("beam_search",)),
    Mutant("beam search keeps extending finished hypotheses",
           replace=((_FINISH, "                alive.append((tokens, logp, h_next))\n"),
                    (_EMPTY, "")),
           kills=("beam_search",)),
    Mutant("beam search drops finished hypotheses",
           replace=((_FINISH, "                if tokens[-1] != EOS:\n"
                              "                    alive.append((tokens, logp, "
                              "h_next))\n"),
                    (_EMPTY, "            if not alive:\n"
                             "                alive = [c for c in candidates "
                             "if c[0][-1] != EOS][:1]\n")),
           kills=("beam_search",)),
    Mutant("beam search keeps the worst hypotheses",
           replace=((_SORT, "candidates.sort(key=lambda c: c[1])"),),
           kills=("beam_search",)),
    Mutant("beam search forgets hypotheses cut off at max_len",
           replace=((_CUT, "finished = finished or [(t, lp) for t, lp, _ in alive]"),),
           kills=("beam_search",)),
    Mutant("beam length excludes EOS",
           replace=((_BEST, "tokens, logp = max(finished, key=lambda c: c[1] / max(1, "
                            "len(c[0]) - (c[0][-1] == EOS)) ** alpha)"),),
           kills=("beam_search",)),
    Mutant("beam score not normalised", replace=((_RETURN, "    return tokens, logp"),),
           kills=("beam_search",)),
]


def _vectorised_gru_forward(ns):
    """Input projections at once with einsum, gates by np.split, no step function."""
    sigmoid = ns["sigmoid"]

    def gru_forward(x, h0, params):
        T, N, _ = x.shape
        if T == 0:
            raise ValueError("T must be >= 1")
        H = params["W_hh"].shape[1]
        h_prev = np.zeros((N, H)) if h0 is None else h0
        h0 = h_prev
        xw = np.einsum("tnd,ad->tna", x, params["W_ih"]) + params["b_ih"]
        hs, gs, qs = [], [], []
        for t in range(T):
            xr, xz, xn = np.split(xw[t], 3, axis=1)
            hr, hz, hn = np.split(h_prev @ params["W_hh"].T + params["b_hh"], 3, axis=1)
            r, z = sigmoid(xr + hr), sigmoid(xz + hz)
            n = np.tanh(xn + r * hn)
            h_prev = n + z * (h_prev - n)                     # = (1 - z) n + z h_prev
            hs.append(h_prev)
            gs.append((r, z, n))
            qs.append(hn)
        gates = {k: np.stack([g[i] for g in gs]) for i, k in enumerate("rzn")}
        h = np.stack(hs)
        return h, {"x": x, "h0": h0, "h": h, "gates": gates, "q": np.stack(qs),
                   "params": params, "T": T}  # an extra key is allowed

    return gru_forward


def _vectorised_gru_backward(ns):
    """BPTT keeping every step's pre-activation gradients; weight gradients einsum."""
    def gru_backward(dh, cache):
        x, p, h0, q = cache["x"], cache["params"], cache["h0"], cache["q"]
        r, z, n = (cache["gates"][k] for k in "rzn")
        h_prev = np.concatenate([h0[None], cache["h"][:-1]])
        dxw = np.empty(x.shape[:2] + (p["W_hh"].shape[0],))
        dhw = np.empty_like(dxw)
        carry = np.zeros_like(h0)
        for t in range(x.shape[0] - 1, -1, -1):
            g = dh[t] + carry
            da_n = g * (1 - z[t]) * (1 - n[t]) * (1 + n[t])
            da_z = g * (h_prev[t] - n[t]) * z[t] * (1 - z[t])
            da_r = da_n * q[t] * r[t] * (1 - r[t])
            dxw[t] = np.hstack([da_r, da_z, da_n])
            dhw[t] = np.hstack([da_r, da_z, da_n * r[t]])
            carry = g * z[t] + dhw[t] @ p["W_hh"]
        grads = {"W_ih": np.einsum("tna,tnd->ad", dxw, x),
                 "W_hh": np.einsum("tna,tnh->ah", dhw, h_prev),
                 "b_ih": dxw.sum(axis=(0, 1)), "b_hh": dhw.sum(axis=(0, 1))}
        return np.einsum("tna,ad->tnd", dxw, p["W_ih"]), carry, grads

    return gru_backward


def _looped_attention_forward(ns):
    """One sequence at a time, the padded positions dropped before the softmax."""
    def attention_forward(query, keys, mask):
        mask = np.asarray(mask) != 0
        S, N, H = keys.shape
        weights, context = np.zeros((S, N)), np.zeros((N, H))
        for j in range(N):
            real = np.flatnonzero(mask[:, j])
            if real.size == 0:
                raise ValueError("a column of mask has no real position")
            s = keys[real, j] @ query[j]
            e = np.exp(s - s.max())
            weights[real, j] = e / e.sum()
            context[j] = weights[:, j] @ keys[:, j]
        cache = {"query": query.copy(), "keys": keys, "weights": weights, "mask": mask}
        return context, weights, cache

    return attention_forward


def _jacobian_attention_backward(ns):
    """The full softmax Jacobian diag(w) - w w^T, one sequence at a time."""
    def attention_backward(dcontext, cache):
        query, keys, w = cache["query"], cache["keys"], cache["weights"]
        S, N, H = keys.shape
        dquery, dkeys = np.zeros((N, H)), np.zeros((S, N, H))
        for j in range(N):
            J = np.diag(w[:, j]) - np.outer(w[:, j], w[:, j])
            ds = J @ (keys[:, j] @ dcontext[j])
            dquery[j] = ds @ keys[:, j]
            dkeys[:, j] = np.outer(w[:, j], dcontext[j]) + np.outer(ds, query[j])
        return dquery, dkeys

    return attention_backward


def _batched_beam_search(ns):
    """All beams in one decoder call, top-k over the flattened log-probabilities."""
    torch, as_decoder, BOS, EOS = ns["torch"], ns["as_decoder"], ns["BOS"], ns["EOS"]

    def beam_search(decoder, h0, beam_width, max_len, alpha=0.7):
        decoder = as_decoder(decoder)
        h = torch.as_tensor(np.asarray(h0, dtype=np.float64))[None]
        seqs, prev = [[]], torch.tensor([BOS])
        logp = torch.zeros(1, dtype=torch.float64)
        done = []
        with torch.no_grad():
            for _ in range(max_len):
                log_probs, h_all = decoder.step(prev, h)
                total = (logp[:, None] + log_probs).reshape(-1)
                V = log_probs.shape[1]
                top = torch.topk(total, min(beam_width, total.numel())).indices.tolist()
                keep = []
                for i in top:
                    b, v = divmod(i, V)
                    if v == EOS:
                        done.append((seqs[b] + [v], float(total[i])))
                    else:
                        keep.append((b, v, float(total[i])))
                if not keep:
                    break
                seqs = [seqs[b] + [v] for b, v, _ in keep]
                h = h_all[[b for b, _, _ in keep]]
                logp = torch.tensor([lp for _, _, lp in keep], dtype=torch.float64)
                prev = torch.tensor([v for _, v, _ in keep])
            else:
                done += [(s, float(lp)) for s, lp in zip(seqs, logp)]
        scores = [lp / len(s) ** alpha for s, lp in done]
        k = int(np.argmax(scores))
        return done[k][0], scores[k]

    return beam_search


ALTERNATIVES = [
    Alternative("gates by np.split", replace=((
        f"    {_R}\n    {_Z}\n",
        "    xr, xz, _ = np.split(xw, 3, axis=1)\n"
        "    hr, hz, _ = np.split(hw, 3, axis=1)\n"
        "    r, z = sigmoid(xr + hr), sigmoid(xz + hz)\n"),)),
    Alternative("update written as n + z * (h_prev - n)",
                replace=((_H, "h_next = n + z * (h_prev - n)"),)),
    Alternative("sigmoid written as 1 / (1 + exp(-a))",
                replace=((_R, "r = 1.0 / (1.0 + np.exp(-(xw[:, :H] + hw[:, :H])))"),)),
    Alternative("forward without the step function",
                patch={"gru_forward": _vectorised_gru_forward}),
    Alternative("vectorised BPTT with einsum",
                patch={"gru_backward": _vectorised_gru_backward}),
    Alternative("attention one sequence at a time",
                patch={"attention_forward": _looped_attention_forward}),
    Alternative("mask with a large negative score",
                replace=((_MASK,
                          "scores = np.where(mask, scores, -1e9 + scores.min())"),)),
    Alternative("full softmax Jacobian",
                patch={"attention_backward": _jacobian_attention_backward}),
    Alternative("greedy with topk",
                replace=(("prev = int(log_probs[0].argmax())",
                          "prev = int(torch.topk(log_probs[0], 1).indices[0])"),)),
    Alternative("additive scores with einsum",
                replace=((_U, 'u = np.tanh(np.einsum("snh,ah->sna", keys, '
                              'params["W_k"]) + np.einsum("nh,ah->na", query, '
                              'params["W_q"]))'),)),
    Alternative("batched beam search with topk",
                patch={"beam_search": _batched_beam_search}),
]

# A solution calling the course's reference implementation (test_release: no points).
SHORTCUT = Mutant("gru_forward from rnnlab", replace=((
    "    T, N, _ = x.shape\n    if T == 0:\n",
    "    import rnnlab.gru as G\n"
    "    h, ref = G.gru_forward(x, h0, params)\n"
    "    T, N, _ = x.shape\n    if T == 0:\n"),), kills=("gru_forward",))
