"""Hidden checks of assignment 6, "GRU, attention and decoding".

Source notebook: solutions/a6_gru_attention. Graded functions (the notebook states their
contracts; GRU gates stacked r, z, n as PyTorch)::

    gru_step_forward(x (N, D), h_prev (N, H), params) -> h_next (N, H), cache
    gru_step_backward(dh_next (N, H), cache) -> dx (N, D), dh_prev (N, H), grads
    gru_forward(x (T, N, D), h0 (N, H) or None, params) -> h (T, N, H), cache
    gru_backward(dh (T, N, H), cache) -> dx (T, N, D), dh0 (N, H), grads
    attention_forward(query (N, H), keys (S, N, H), mask (S, N))
        -> context (N, H), weights (S, N), cache
    attention_backward(dcontext (N, H), cache) -> dquery (N, H), dkeys (S, N, H)
    additive_attention_forward(query, keys, mask, params W_q (A, H), W_k (A, H), v (A,))
        -> context (N, H), weights (S, N), cache
    additive_attention_backward(dcontext (N, H), cache) -> dquery, dkeys, grads
    greedy_decode(decoder, h0 (H,), max_len) -> tokens (list of int)
    beam_search(decoder, h0 (H,), beam_width, max_len, alpha) -> (tokens, score)

``params`` has the keys W_ih (3H, D), W_hh (3H, H), b_ih, b_hh (3H,). The caches have
the keys the notebook prescribes (STEP_CACHE, SEQ_CACHE, ATTN_CACHE, ADD_CACHE), so a
backward case hands the student's backward a cache made by a reference forward. The
decoders are sent as dicts of weights (DECODER_KEYS), which the notebook's locked
``as_decoder`` turns into its ``Decoder``.

References are independent of rnnlab and of the solution: ``torch.nn.GRUCell`` and
``torch.nn.GRU`` in float64 with autograd, centred differences of ``nn.GRU`` and of a
torch attention (cases with ``meta["oracle"] == "centred"``), torch autograd of a masked
softmax, a numpy decoder step written here, a beam search written here, and brute force
over every output sequence (cases whose beam is wide enough never to prune).
"""

from __future__ import annotations

import itertools

import numpy as np

from autograder.checks import _recurrent as R
from autograder.checks._common import memo, modified_issue, unpack, verdict
from autograder.checks.base import DEFAULT_FORBIDDEN, Case, Check

# rnnlab's GRU (and the bridge that would run the student's weights through nn.GRU) are
# the graded things of part 1; rnnlab.attention and rnnlab.seq2seq hold the course's
# attention layer and decoders (a prefix forbids every name under it, whatever those
# modules come to define).
FORBIDDEN = DEFAULT_FORBIDDEN + (
    "rnnlab.gru", "rnnlab.torch_bridge", "rnnlab.attention", "rnnlab.seq2seq")

PARAMS = ("W_ih", "W_hh", "b_ih", "b_hh")
GATES = ("r", "z", "n")
STEP_CACHE = ("x", "h_prev", "gates", "q", "params")
SEQ_CACHE = ("x", "h0", "h", "gates", "q", "params")
ATTN_CACHE = ("query", "keys", "weights")
DECODER_KEYS = ("embed", "W_ih", "W_hh", "b_ih", "b_hh", "W_out", "b_out")
BOS, EOS = 0, 1


# -- GRU references (torch float64) ----------------------------------------------

def _module(params, step):
    torch = R.torch()
    threeH, D = params["W_ih"].shape
    H = threeH // 3
    f64 = torch.float64
    mod = torch.nn.GRUCell(D, H, dtype=f64) if step else torch.nn.GRU(D, H, dtype=f64)
    sfx = "" if step else "_l0"
    names = {"W_ih": "weight_ih" + sfx, "W_hh": "weight_hh" + sfx,
             "b_ih": "bias_ih" + sfx, "b_hh": "bias_hh" + sfx}
    with torch.no_grad():
        for k, attr in names.items():
            value = torch.from_numpy(np.asarray(params[k], dtype=np.float64))
            getattr(mod, attr).copy_(value)
    return mod, names


def _gates_torch(x, h_prev, params):
    """Gates (dict r, z, n of (..., H)) and q = W_hn h_prev + b_hn, per step."""
    torch = R.torch()
    F = torch.nn.functional
    p = R.tensors(params)
    xr, xz, xn = F.linear(torch.from_numpy(x), p["W_ih"], p["b_ih"]).chunk(3, dim=-1)
    hw = F.linear(torch.from_numpy(h_prev), p["W_hh"], p["b_hh"])
    hr, hz, hn = hw.chunk(3, dim=-1)
    r = torch.sigmoid(xr + hr)
    gates = {"r": r.numpy(), "z": torch.sigmoid(xz + hz).numpy(),
             "n": torch.tanh(xn + r * hn).numpy()}
    return gates, hn.numpy()


def _param_grads(mod, names):
    return {k: getattr(mod, attr).grad.numpy().copy() for k, attr in names.items()}


def _step_reference(x, h_prev, params, dh=None):
    """{"h", "gates", "q"} of nn.GRUCell; with dh the gradients of sum(h * dh)."""
    torch = R.torch()
    cell, names = _module(params, step=True)
    t = R.tensors({"x": x, "h_prev": h_prev}, requires_grad=dh is not None)
    h = cell(t["x"], t["h_prev"])
    gates, q = _gates_torch(x, h_prev, params)
    out = {"h": h.detach().numpy(), "gates": gates, "q": q}
    if dh is not None:
        (h * torch.from_numpy(dh)).sum().backward()
        out["grads"] = {k: v.grad.numpy() for k, v in t.items()}
        out["grads"].update(_param_grads(cell, names))
    return out


def _seq_reference(x, h0, params, dh=None):
    """{"h", "gates", "q"} of nn.GRU; with dh the autograd gradients of sum(h * dh)."""
    torch = R.torch()
    gru, names = _module(params, step=False)
    t = R.tensors({"x": x, "h0": h0}, requires_grad=dh is not None)
    h, _ = gru(t["x"], t["h0"][None])
    out = {"h": h.detach().numpy()}
    if dh is not None:
        (h * torch.from_numpy(dh)).sum().backward()
        out["grads"] = {k: v.grad.numpy() for k, v in t.items()}
        out["grads"].update(_param_grads(gru, names))
    h_prev_all = np.concatenate([h0[None], out["h"][:-1]])
    out["gates"], out["q"] = _gates_torch(x, h_prev_all, params)
    return out


def _numerical(x, h0, params, dh, step):
    """Centred differences of sum(h * dh) through nn.GRUCell / nn.GRU (no autograd)."""
    torch = R.torch()
    mod, names = _module(params, step=step)
    h_name = "h_prev" if step else "h0"

    def loss(arrays):
        with torch.no_grad():
            for k, attr in names.items():
                getattr(mod, attr).copy_(torch.from_numpy(arrays[k]))
            xt, ht = torch.from_numpy(arrays["x"]), torch.from_numpy(arrays[h_name])
            h = mod(xt, ht) if step else mod(xt, ht[None])[0]
            return float((h * torch.from_numpy(dh)).sum())

    return R.numerical_grads(loss, {"x": x, h_name: h0, **params})


# -- GRU known mistakes (numpy, for the likely-cause hints only) ------------------

def _gru_np(x, h0, p, order="rzn", reset_before=False, swap_z=False, b_hn_outside=False,
            carry=True):
    """A GRU forward (T, N, D) -> h (T, N, H) with one mistake switched on."""
    H = h0.shape[1]
    blk = {g: slice(k * H, (k + 1) * H) for k, g in enumerate(order)}
    W_hn, b_hn = p["W_hh"][blk["n"]], p["b_hh"][blk["n"]]
    hs, h_prev = [], h0
    for t in range(x.shape[0]):
        xw = x[t] @ p["W_ih"].T + p["b_ih"]
        hw = h_prev @ p["W_hh"].T + p["b_hh"]
        r = R.sigmoid(xw[:, blk["r"]] + hw[:, blk["r"]])
        z = R.sigmoid(xw[:, blk["z"]] + hw[:, blk["z"]])
        if reset_before:
            n = np.tanh(xw[:, blk["n"]] + (r * h_prev) @ W_hn.T + b_hn)
        elif b_hn_outside:
            n = np.tanh(xw[:, blk["n"]] + r * (h_prev @ W_hn.T) + b_hn)
        else:
            n = np.tanh(xw[:, blk["n"]] + r * hw[:, blk["n"]])
        h = (z * n + (1 - z) * h_prev) if swap_z else ((1 - z) * n + z * h_prev)
        hs.append(h)
        h_prev = h if carry else h0
    return np.stack(hs)


def _forward_hints(x, h0, p, sequence):
    variants = {
        "the reset gate was applied before the matrix product (the 2014 paper's form); "
        "PyTorch multiplies W_hn h_prev + b_hn by r": dict(reset_before=True),
        "z and 1 - z are swapped: PyTorch keeps z * h_prev and writes (1 - z) * n":
            dict(swap_z=True),
        "gate order z, r, n instead of PyTorch's r, z, n": dict(order="zrn"),
        "b_hn was added outside the reset gate's product: r * (W_hn h_prev + b_hn)":
            dict(b_hn_outside=True),
    }
    if sequence:
        variants["the hidden state is not carried between steps (every step starts "
                 "from h0)"] = dict(carry=False)
    return {cause: _gru_np(x, h0, p, **kw) for cause, kw in variants.items()}


def _gru_np_backward(dh, x, h0, p, overwrite=False, carry=True, same_bias=False,
                     no_z_path=False):
    """A GRU backward (on the correct forward) with one mistake: (dx, dh0, grads)."""
    H = h0.shape[1]
    hs, cache, h_prev = [h0], [], h0
    for t in range(x.shape[0]):
        xw = x[t] @ p["W_ih"].T + p["b_ih"]
        hw = h_prev @ p["W_hh"].T + p["b_hh"]
        r = R.sigmoid(xw[:, :H] + hw[:, :H])
        z = R.sigmoid(xw[:, H:2 * H] + hw[:, H:2 * H])
        n = np.tanh(xw[:, 2 * H:] + r * hw[:, 2 * H:])
        cache.append((r, z, n, hw[:, 2 * H:]))
        h_prev = (1 - z) * n + z * h_prev
        hs.append(h_prev)
    dx, grads = np.empty_like(x), {k: np.zeros_like(v) for k, v in p.items()}
    carry_h = np.zeros_like(h0)
    for t in range(x.shape[0] - 1, -1, -1):
        r, z, n, q = cache[t]
        gh = dh[t] + carry_h
        da_n = gh * (1 - z) * (1 - n ** 2)
        da_z = gh * (hs[t] - n) * z * (1 - z)
        da_r = da_n * q * r * (1 - r)
        dxw = np.concatenate([da_r, da_z, da_n], axis=1)
        dhw = dxw if same_bias else np.concatenate([da_r, da_z, da_n * r], axis=1)
        step = {"W_ih": dxw.T @ x[t], "W_hh": dhw.T @ hs[t],
                "b_ih": dxw.sum(0), "b_hh": dhw.sum(0)}
        grads = dict(step) if overwrite else {k: grads[k] + step[k] for k in grads}
        dx[t] = dxw @ p["W_ih"]
        dh_prev = dhw @ p["W_hh"] + (0 if no_z_path else gh * z)
        carry_h = dh_prev if carry else np.zeros_like(h0)
    return dx, dh_prev, grads


def _backward_hints(dh, x, h0, p, sequence):
    variants = {
        "the direct path h_prev -> h_next (through z * h_prev) is missing from dh_prev":
            dict(no_z_path=True),
        "the reset gate is missing from the candidate's recurrent gradient (the n "
        "block of db_hh and dW_hh must be multiplied by r)": dict(same_bias=True),
    }
    if sequence:
        variants["the hidden-state gradient is not carried between steps"] = dict(
            carry=False)
        variants["the weight gradients were overwritten at every step instead of "
                 "summed over time"] = dict(overwrite=True)
    out = {c: _gru_np_backward(dh, x, h0, p, **kw) for c, kw in variants.items()}
    hints = {"dx": {c: v[0] for c, v in out.items()},
             "dh0": {c: v[1] for c, v in out.items()}}
    hints["grads"] = {k: {c: v[2][k] for c, v in out.items()} for k in PARAMS}
    return hints


# -- GRU cases --------------------------------------------------------------------

def _params(rng, D, H, scale=0.5):
    return {"W_ih": rng.normal(0, scale, (3 * H, D)),
            "W_hh": rng.normal(0, scale, (3 * H, H)),
            "b_ih": rng.normal(0, scale, 3 * H), "b_hh": rng.normal(0, scale, 3 * H)}


def _specs():
    """(what the case tests, T, N, D, H, knobs, weight), for the four GRU checks."""
    return [
        ("a typical batch", 5, 3, 4, 5, {}, 2.0),
        ("the smallest sizes", 1, 1, 1, 1, {}, 1.0),
        ("H != D", 4, 2, 6, 3, {}, 1.0),
        ("T=1, N=1", 1, 1, 3, 4, {}, 1.0),
        ("saturating gates (|x| about 30)", 3, 2, 3, 4, {"x_scale": 30.0}, 1.0),
        ("large biases (about 3)", 3, 2, 2, 3, {"p_scale": 3.0}, 1.0),
        ("another random draw", 6, 2, 2, 7, {}, 1.0),
    ]


def _name(what, step, T, N, D, H):
    return f"{what}: " + ("" if step else f"T={T}, ") + f"N={N}, D={D}, H={H}"


def _inputs(rng, T, N, D, H, knobs, step):
    x = rng.normal(0, knobs.get("x_scale", 1.0), (N, D) if step else (T, N, D))
    h0 = np.tanh(rng.normal(0, 1.0, (N, H)))
    return x, h0, _params(rng, D, H, knobs.get("p_scale", 0.5))


def _gates_issue(what, got, want):
    if not isinstance(got, dict) or set(got) != set(GATES):
        kind = (f"the keys {sorted(got)}" if isinstance(got, dict)
                else type(got).__name__)
        return f'{what} should be a dict with the keys "r", "z", "n", got {kind}'
    swapped = "the reset and update gates are swapped (PyTorch's order is r, z, n)"
    for k in GATES:
        other = {"r": "z", "z": "r"}.get(k)
        hints = {swapped: want[other] if other else None}
        problem = R.array_issue(f'{what}["{k}"]', got[k], want[k], hints=hints)
        if problem:
            return problem
    return None


def _gru_forward_cases(step):
    func = "gru_step_forward" if step else "gru_forward"

    def cases(seed):
        rng = np.random.default_rng(seed)
        out = []
        for what, T, N, D, H, knobs, w in _specs():
            x, h0, p = _inputs(rng, T, N, D, H, knobs, step)
            out.append(Case(_name(what, step, T, N, D, H), func, (x, h0, p), weight=w))
        if not step:
            x, _, p = _inputs(rng, 12, 2, 3, 4, {}, False)
            out.append(Case("h0 is None (zeros): T=12, N=2, D=3, H=4", func,
                            (x, None, p)))
            _, h0, p = _inputs(rng, 1, 2, 3, 4, {}, False)
            out.append(Case("an empty sequence (T=0) raises ValueError", func,
                            (np.zeros((0, 2, 3)), h0, p), weight=0.5,
                            meta={"expects_error": True}))
        return out

    return cases


def _gru_forward_verdict(step):
    def judge(case, result):
        if case.meta.get("expects_error"):
            return R.expects_value_error(case, result, "a sequence of no step (T=0)")
        x, h0, p = case.args
        if h0 is None:
            h0 = np.zeros((x.shape[1], p["W_hh"].shape[1]))
        xs = x[None] if step else x
        ref = memo(case, "ref", lambda: (_step_reference(x, h0, p) if step
                                         else _seq_reference(x, h0, p)))
        hints = memo(case, "hints",
                     lambda: _forward_hints(xs, h0, p, sequence=not step))
        if step:
            hints = {c: v[0] for c, v in hints.items()}
        value, problem = unpack(result.value, 2, case.func)
        if problem:
            return verdict(problem)
        h, cache = value
        state = "h_prev" if step else "h0"
        want = {"x": x, state: h0, "q": ref["q"], "params": p}
        if not step:
            want["h"] = ref["h"]
        problems = [R.array_issue("h_next" if step else "h", h, ref["h"], hints=hints),
                    R.keys_issue("cache", cache, STEP_CACHE if step else SEQ_CACHE)]
        if problems[1] is None:
            problems += [R.cache_issue("cache", cache, want),
                         _gates_issue('cache["gates"]', cache["gates"], ref["gates"])]
        return verdict(modified_issue(case, result, ("x", state, "params")), *problems)

    return judge


def _gru_backward_cases(step):
    func = "gru_step_backward" if step else "gru_backward"

    def cases(seed):
        rng = np.random.default_rng(seed)
        centred = ("gradient check against centred differences", 3, 2, 3, 4,
                   {"oracle": "centred"}, 1.0)
        out = []
        for what, T, N, D, H, knobs, w in _specs() + [centred]:
            x, h0, p = _inputs(rng, T, N, D, H, knobs, step)
            meta = {"oracle": knobs.get("oracle", "autograd")}
            if step:
                ref = _step_reference(x, h0, p)
                cache = {"x": x, "h_prev": h0, "gates": ref["gates"], "q": ref["q"],
                         "params": p}
                args = (rng.normal(0, 1, (N, H)), cache)
            else:
                ref = _seq_reference(x, h0, p)
                cache = {"x": x, "h0": h0, "h": ref["h"], "gates": ref["gates"],
                         "q": ref["q"], "params": p}
                args = (rng.normal(0, 1, (T, N, H)), cache)
            name = _name(what, step, T, N, D, H)
            out.append(Case(name, func, args, weight=w, meta=meta))
        return out

    return cases


def _gru_backward_verdict(step):
    def judge(case, result):
        dh, cache = case.args
        x, p = cache["x"], cache["params"]
        h0 = cache["h_prev"] if step else cache["h0"]
        names = ("dx", "dh_prev" if step else "dh0")
        keys = ("x", "h_prev" if step else "h0")
        value, problem = unpack(result.value, 3, case.func)
        if problem:
            return verdict(problem)
        arrays, grads = value[:2], value[2]
        if case.meta["oracle"] == "centred":
            num = memo(case, "num", lambda: _numerical(x, h0, p, dh, step))
            problems = [R.gradcheck_issue(n, a, num[k])
                        for n, a, k in zip(names, arrays, keys)]
            problems += R.grads_gradcheck_issues(grads, num, PARAMS)
        else:
            ref = memo(case, "ref", lambda: (_step_reference(x, h0, p, dh) if step
                                             else _seq_reference(x, h0, p, dh)))
            ref = ref["grads"]
            xs, dhs = (x[None], dh[None]) if step else (x, dh)
            hints = memo(case, "hints",
                         lambda: _backward_hints(dhs, xs, h0, p, sequence=not step))
            hx = {c: (v[0] if step else v) for c, v in hints["dx"].items()}
            want = {k: ref[k] for k in PARAMS}
            problems = [R.array_issue(names[0], arrays[0], ref[keys[0]], hints=hx),
                        R.array_issue(names[1], arrays[1], ref[keys[1]],
                                      hints=hints["dh0"]),
                        R.grads_issue("grads", grads, want, hints=hints["grads"])]
        inputs = ("dh_next" if step else "dh", "cache")
        return verdict(modified_issue(case, result, inputs), *problems)

    return judge


# -- attention ----------------------------------------------------------------------

def _attention_torch(query, keys, mask, dcontext=None):
    """{"context", "weights"} of masked dot-product attention in torch; with dcontext
    the autograd gradients of sum(context * dcontext) on query and keys."""
    torch = R.torch()
    t = R.tensors({"query": query, "keys": keys}, requires_grad=dcontext is not None)
    padding = ~torch.from_numpy(np.asarray(mask).astype(bool))
    scores = torch.einsum("snh,nh->sn", t["keys"], t["query"])
    weights = torch.softmax(scores.masked_fill(padding, float("-inf")), dim=0)
    context = torch.einsum("sn,snh->nh", weights, t["keys"])
    out = {"context": context.detach().numpy(), "weights": weights.detach().numpy()}
    if dcontext is not None:
        (context * torch.from_numpy(dcontext)).sum().backward()
        out["grads"] = {k: v.grad.numpy() for k, v in t.items()}
    return out


def _attention_numerical(query, keys, mask, dcontext):
    def loss(arrays):
        context = _attention_torch(arrays["query"], arrays["keys"], mask)["context"]
        return float(np.sum(context * dcontext))

    return R.numerical_grads(loss, {"query": query, "keys": keys})


def _attention_hints(query, keys, mask):
    """{cause: (context, weights)} of known mistakes."""
    m = np.asarray(mask).astype(bool)
    scores = np.einsum("snh,nh->sn", keys, query)
    out = {}

    def add(cause, w):
        if w is not None:
            out[cause] = (np.einsum("sn,snh->nh", w, keys), w)

    with np.errstate(all="ignore"):
        add("the softmax normalises over the batch axis: weights must sum to 1 over "
            "the source positions (axis 0 of (S, N))",
            R.softmax(np.where(m, scores, -1e300), axis=1))
        add("the mask is applied after the softmax: padded positions must get -inf (or "
            "a very negative score) before it, so that the real positions' weights "
            "still sum to 1", R.softmax(scores, axis=0) * m)
        add("the mask is not applied: padded positions receive weight",
            R.softmax(scores, axis=0))
        add("the scores were multiplied by the mask: a score of 0 is not excluded, it "
            "still gets weight", R.softmax(scores * m, axis=0))
        add("the mask is inverted: True/1 marks a real position, False/0 padding",
            R.softmax(np.where(m, -np.inf, scores), axis=0)
            if (~m).any(axis=0).all() else None)
    return out


def _attention_specs(rng):
    """(name, query, keys, mask, weight) of the attention cases."""
    def draw(S, N, H, lengths=None, mask=None, scale=1.0, pad_scale=None):
        keys = rng.normal(0, scale, (S, N, H))
        query = rng.normal(0, scale, (N, H))
        if mask is None:
            mask = np.arange(S)[:, None] < np.asarray(lengths)[None, :]
        if pad_scale is not None:
            real = np.asarray(mask, dtype=bool)[:, :, None]
            keys = np.where(real, keys, pad_scale * rng.normal(size=keys.shape))
        return query, keys, mask

    left = np.array([[0, 0], [0, 1], [1, 1], [1, 1], [1, 1]], dtype=bool)
    holes = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 1]],
                     dtype=bool)
    floats = np.array([[1, 1, 1], [1, 0, 1], [0, 0, 1], [0, 0, 1]], dtype=np.float64)
    return [
        ("padding at the end, lengths 6, 4, 2: S=6, N=3, H=4",
         *draw(6, 3, 4, lengths=[6, 4, 2]), 2.0),
        ("no padding: S=5, N=2, H=3", *draw(5, 2, 3, lengths=[5, 5]), 1.0),
        ("one position: S=1, N=1, H=1", *draw(1, 1, 1, lengths=[1]), 1.0),
        ("padding at the start (left-padded): S=5, N=2, H=3",
         *draw(5, 2, 3, mask=left), 1.0),
        ("padding in the middle and at both ends: S=6, N=3, H=2",
         *draw(6, 3, 2, mask=holes), 1.0),
        ("a 0/1 float mask: S=4, N=3, H=5", *draw(4, 3, 5, mask=floats), 1.0),
        ("large scores (|score| in the thousands): S=5, N=2, H=4",
         *draw(5, 2, 4, lengths=[5, 3], scale=25.0), 1.0),
        ("large keys at padded positions: S=5, N=2, H=3",
         *draw(5, 2, 3, lengths=[2, 4], pad_scale=50.0), 1.0),
        ("N=1, H != S: S=3, N=1, H=7", *draw(3, 1, 7, lengths=[2]), 1.0),
    ]


def _attention_forward_cases(seed):
    rng = np.random.default_rng(seed)
    out = [Case(name, "attention_forward", (q, k, m), weight=w)
           for name, q, k, m, w in _attention_specs(rng)]
    q, k = rng.normal(size=(2, 3)), rng.normal(size=(4, 2, 3))
    m = np.array([[1, 0], [1, 0], [0, 0], [1, 0]], dtype=bool)
    out.append(Case("a sequence with no real position raises ValueError: S=4, N=2, H=3",
                    "attention_forward", (q, k, m), weight=0.5,
                    meta={"expects_error": True}))
    return out


def _attention_forward_verdict(case, result):
    if case.meta.get("expects_error"):
        return R.expects_value_error(case, result,
                                     "a column of the mask without any real position")
    query, keys, mask = case.args
    ref = memo(case, "ref", lambda: _attention_torch(query, keys, mask))
    hints = memo(case, "hints", lambda: _attention_hints(query, keys, mask))
    value, problem = unpack(result.value, 3, case.func)
    if problem:
        return verdict(problem)
    context, weights, cache = value
    problems = [
        R.array_issue("weights", weights, ref["weights"],
                      hints={c: v[1] for c, v in hints.items()}),
        R.array_issue("context", context, ref["context"],
                      hints={c: v[0] for c, v in hints.items()}),
        R.keys_issue("cache", cache, ATTN_CACHE)]
    if problems[-1] is None:
        want = {"query": query, "keys": keys, "weights": ref["weights"]}
        problems.append(R.cache_issue("cache", cache, want))
    return verdict(modified_issue(case, result, ("query", "keys", "mask")), *problems)


def _attention_backward_cases(seed):
    rng = np.random.default_rng(seed)
    out = []
    for name, q, k, m, w in _attention_specs(rng):
        cache = {"query": q, "keys": k, "weights": _attention_torch(q, k, m)["weights"]}
        out.append(Case(name, "attention_backward", (rng.normal(size=q.shape), cache),
                        weight=w, meta={"oracle": "autograd", "mask": m}))
    q, k = rng.normal(size=(2, 3)), rng.normal(size=(4, 2, 3))
    m = np.array([[1, 1], [1, 0], [1, 1], [0, 1]], dtype=bool)
    cache = {"query": q, "keys": k, "weights": _attention_torch(q, k, m)["weights"]}
    out.append(Case("gradient check against centred differences: S=4, N=2, H=3",
                    "attention_backward", (rng.normal(size=q.shape), cache),
                    meta={"oracle": "centred", "mask": m}))
    return out


def _attention_backward_hints(dcontext, query, keys, weights):
    dw = np.einsum("nh,snh->sn", dcontext, keys)
    values_path = weights[:, :, None] * dcontext[None]
    ds = weights * (dw - (weights * dw).sum(axis=0, keepdims=True))
    ds_no_centre = weights * dw
    jacobian = "the softmax's Jacobian is incomplete: dscores = w * (dw - sum_s w * dw)"
    return {
        "dkeys": {
            "dkeys misses the path through the scores: the keys are used twice (scores "
            "and values), add both gradients": values_path,
            "dkeys misses the path through the values (weights * dcontext)":
                ds[:, :, None] * query[None],
            jacobian: values_path + ds_no_centre[:, :, None] * query[None],
        },
        "dquery": {jacobian: np.einsum("sn,snh->nh", ds_no_centre, keys)},
    }


def _attention_backward_verdict(case, result):
    dcontext, cache = case.args
    query, keys, weights = cache["query"], cache["keys"], cache["weights"]
    mask = case.meta["mask"]
    value, problem = unpack(result.value, 2, case.func)
    if problem:
        return verdict(problem)
    dquery, dkeys = value
    if case.meta["oracle"] == "centred":
        num = memo(case, "num",
                   lambda: _attention_numerical(query, keys, mask, dcontext))
        problems = [R.gradcheck_issue("dquery", dquery, num["query"]),
                    R.gradcheck_issue("dkeys", dkeys, num["keys"])]
    else:
        ref = memo(case, "ref",
                   lambda: _attention_torch(query, keys, mask, dcontext))["grads"]
        hints = memo(case, "hints",
                     lambda: _attention_backward_hints(dcontext, query, keys, weights))
        problems = [R.array_issue("dquery", dquery, ref["query"],
                                  hints=hints["dquery"]),
                    R.array_issue("dkeys", dkeys, ref["keys"], hints=hints["dkeys"])]
    return verdict(modified_issue(case, result, ("dcontext", "cache")), *problems)


# -- additive attention ---------------------------------------------------------------

ADD_PARAMS = ("W_q", "W_k", "v")
ADD_CACHE = ("query", "keys", "weights", "u", "params")


def _additive_torch(query, keys, mask, params, dcontext=None):
    """{"context", "weights", "u"} of masked additive attention in torch; with dcontext
    the autograd gradients of sum(context * dcontext) on query, keys and the params."""
    torch = R.torch()
    t = R.tensors({"query": query, "keys": keys, **params},
                  requires_grad=dcontext is not None)
    padding = ~torch.from_numpy(np.asarray(mask).astype(bool))
    u = torch.tanh(torch.nn.functional.linear(t["keys"], t["W_k"])
                   + torch.nn.functional.linear(t["query"], t["W_q"]))
    scores = torch.einsum("sna,a->sn", u, t["v"])
    weights = torch.softmax(scores.masked_fill(padding, float("-inf")), dim=0)
    context = torch.einsum("sn,snh->nh", weights, t["keys"])
    out = {"context": context.detach().numpy(), "weights": weights.detach().numpy(),
           "u": u.detach().numpy()}
    if dcontext is not None:
        (context * torch.from_numpy(dcontext)).sum().backward()
        out["grads"] = {k: v.grad.numpy() for k, v in t.items()}
    return out


def _additive_numerical(query, keys, mask, params, dcontext):
    def loss(arrays):
        p = {k: arrays[k] for k in ADD_PARAMS}
        context = _additive_torch(arrays["query"], arrays["keys"], mask, p)["context"]
        return float(np.sum(context * dcontext))

    return R.numerical_grads(loss, {"query": query, "keys": keys, **params})


def _additive_params(rng, H, A, scale=1.0):
    return {"W_q": rng.normal(0, scale, (A, H)), "W_k": rng.normal(0, scale, (A, H)),
            "v": rng.normal(0, scale, A)}


def _additive_specs(rng):
    """(name, query, keys, mask, params, weight): the dot-product cases, each with A."""
    widths = (5, 2, 1, 3, 4, 6, 3, 2, 4)
    return [(f"{name}, A={A}", q, k, m, _additive_params(rng, q.shape[1], A), w)
            for (name, q, k, m, w), A in zip(_attention_specs(rng), widths)]


def _additive_forward_cases(seed):
    rng = np.random.default_rng(seed)
    out = [Case(name, "additive_attention_forward", (q, k, m, p), weight=w)
           for name, q, k, m, p, w in _additive_specs(rng)]
    q, k = rng.normal(size=(2, 3)), rng.normal(size=(4, 2, 3))
    m = np.array([[0, 1], [0, 1], [0, 0], [0, 1]], dtype=bool)
    out.append(Case("a sequence with no real position raises ValueError: S=4, N=2",
                    "additive_attention_forward",
                    (q, k, m, _additive_params(rng, 3, 2)),
                    weight=0.5, meta={"expects_error": True}))
    return out


def _additive_forward_hints(query, keys, mask, p):
    """{cause: weights} of known mistakes."""
    m = np.asarray(mask).astype(bool)
    kw = keys @ p["W_k"].T
    qw = (query @ p["W_q"].T)[None]

    def softmax_masked(scores):
        return R.softmax(np.where(m, scores, -np.inf), axis=0)

    with np.errstate(all="ignore"):
        return {
            "the query is not in the score: e_s = v . tanh(W_q q + W_k k_s)":
                softmax_masked(np.tanh(kw) @ p["v"]),
            "the tanh is missing: e_s = v . tanh(W_q q + W_k k_s)":
                softmax_masked((kw + qw) @ p["v"]),
            "the mask is applied after the softmax":
                R.softmax(np.tanh(kw + qw) @ p["v"], axis=0) * m,
        }


def _additive_forward_verdict(case, result):
    if case.meta.get("expects_error"):
        return R.expects_value_error(case, result,
                                     "a column of the mask without any real position")
    query, keys, mask, p = case.args
    ref = memo(case, "ref", lambda: _additive_torch(query, keys, mask, p))
    hints = memo(case, "hints", lambda: _additive_forward_hints(query, keys, mask, p))
    value, problem = unpack(result.value, 3, case.func)
    if problem:
        return verdict(problem)
    context, weights, cache = value
    problems = [R.array_issue("weights", weights, ref["weights"], hints=hints),
                R.array_issue("context", context, ref["context"]),
                R.keys_issue("cache", cache, ADD_CACHE)]
    if problems[-1] is None:
        want = {"query": query, "keys": keys, "weights": ref["weights"], "u": ref["u"],
                "params": p}
        problems.append(R.cache_issue("cache", cache, want))
    names = ("query", "keys", "mask", "params")
    return verdict(modified_issue(case, result, names), *problems)


def _additive_backward_cases(seed):
    rng = np.random.default_rng(seed)
    out = []
    specs = _additive_specs(rng)
    m = np.array([[1, 1], [1, 0], [1, 1], [0, 1]], dtype=bool)
    centred = ("gradient check against centred differences: S=4, N=2, H=3, A=3",
               rng.normal(size=(2, 3)), rng.normal(size=(4, 2, 3)), m,
               _additive_params(rng, 3, 3), 1.0)
    for k, (name, q, keys, mask, p, w) in enumerate(specs + [centred]):
        ref = _additive_torch(q, keys, mask, p)
        cache = {"query": q, "keys": keys, "weights": ref["weights"], "u": ref["u"],
                 "params": p}
        oracle = "centred" if k == len(specs) else "autograd"
        out.append(Case(name, "additive_attention_backward",
                        (rng.normal(size=q.shape), cache), weight=w,
                        meta={"oracle": oracle, "mask": mask}))
    return out


def _additive_backward_hints(dcontext, cache):
    query, keys, w, u, p = (cache[k] for k in ADD_CACHE)
    dw = np.einsum("nh,snh->sn", dcontext, keys)
    ds = w * (dw - (w * dw).sum(axis=0, keepdims=True))
    du = ds[:, :, None] * p["v"] * (1 - u ** 2)
    return {
        "dkeys": {"dkeys misses the path through the scores (du @ W_k)":
                  w[:, :, None] * dcontext[None],
                  "dkeys misses the path through the values (weights * dcontext)":
                  du @ p["W_k"]},
        "grads": {"v": {"grads['v'] uses the pre-activation instead of u = tanh(...)":
                        np.einsum("sn,sna->a", ds, np.arctanh(np.clip(u, -1 + 1e-15,
                                                                      1 - 1e-15)))},
                  "W_q": {"grads['W_q'] is taken at the last position only instead of "
                          "summed over the positions": du[-1].T @ query}},
    }


def _additive_backward_verdict(case, result):
    dcontext, cache = case.args
    query, keys, p = cache["query"], cache["keys"], cache["params"]
    mask = case.meta["mask"]
    value, problem = unpack(result.value, 3, case.func)
    if problem:
        return verdict(problem)
    dquery, dkeys, grads = value
    if case.meta["oracle"] == "centred":
        num = memo(case, "num",
                   lambda: _additive_numerical(query, keys, mask, p, dcontext))
        problems = [R.gradcheck_issue("dquery", dquery, num["query"]),
                    R.gradcheck_issue("dkeys", dkeys, num["keys"])]
        problems += R.grads_gradcheck_issues(grads, num, ADD_PARAMS)
    else:
        ref = memo(case, "ref",
                   lambda: _additive_torch(query, keys, mask, p, dcontext))["grads"]
        hints = memo(case, "hints", lambda: _additive_backward_hints(dcontext, cache))
        problems = [R.array_issue("dquery", dquery, ref["query"]),
                    R.array_issue("dkeys", dkeys, ref["keys"], hints=hints["dkeys"]),
                    R.grads_issue("grads", grads, {k: ref[k] for k in ADD_PARAMS},
                                  hints=hints["grads"])]
    return verdict(modified_issue(case, result, ("dcontext", "cache")), *problems)


# -- decoding: a numpy decoder step, a reference beam search, brute force ---------

def _decoder_weights(rng, V, E, H, scale=1.0, eos_bias=0.0):
    w = {"embed": rng.normal(0, 1.0, (V, E)), "W_ih": rng.normal(0, scale, (3 * H, E)),
         "W_hh": rng.normal(0, scale, (3 * H, H)), "b_ih": rng.normal(0, scale, 3 * H),
         "b_hh": rng.normal(0, scale, 3 * H), "W_out": rng.normal(0, 2 * scale, (V, H)),
         "b_out": rng.normal(0, 0.5, V)}
    w["b_out"][EOS] += eos_bias
    return w


def _np_step(w, token, h):
    """One decoder step in numpy (PyTorch's GRU): (log_probs (V,), h_next (H,))."""
    H = h.shape[0]
    gi = w["W_ih"] @ w["embed"][token] + w["b_ih"]
    gh = w["W_hh"] @ h + w["b_hh"]
    r = R.sigmoid(gi[:H] + gh[:H])
    z = R.sigmoid(gi[H:2 * H] + gh[H:2 * H])
    n = np.tanh(gi[2 * H:] + r * gh[2 * H:])
    h_next = (1 - z) * n + z * h
    logits = w["W_out"] @ h_next + w["b_out"]
    shifted = logits - logits.max()
    return shifted - np.log(np.exp(shifted).sum()), h_next


def _greedy(w, h0, max_len, stop_at_eos=True):
    tokens, h, prev = [], np.asarray(h0, dtype=np.float64), BOS
    for _ in range(max_len):
        lp, h = _np_step(w, prev, h)
        prev = int(np.argmax(lp))
        tokens.append(prev)
        if prev == EOS and stop_at_eos:
            break
    return tokens


def _norm(logp, length, alpha):
    return logp / length ** alpha


def _beam(w, h0, K, max_len, alpha, normalise=True, keep_finished=True,
          extend_finished=False, keep_cut=True, count_eos=True):
    """Beam search as the notebook defines it: the top K of all expansions by log
    probability; those ending in EOS are set aside; the best by logp / len**alpha wins.
    The flags switch on known mistakes."""
    alive, finished = [((), 0.0, np.asarray(h0, dtype=np.float64))], []
    for _ in range(max_len):
        cand = []
        for toks, logp, h in alive:
            lp, h2 = _np_step(w, toks[-1] if toks else BOS, h)
            cand += [(toks + (v,), logp + lp[v], h2) for v in range(lp.shape[0])]
        cand.sort(key=lambda c: -c[1])
        alive = []
        for toks, logp, h2 in cand[:K]:
            if toks[-1] == EOS and not extend_finished:
                finished.append((toks, logp))
            else:
                alive.append((toks, logp, h2))
        if not alive:
            break
    cut = [(t, lp) for t, lp, _ in alive] if keep_cut or not finished else []
    pool = (finished if keep_finished else []) + cut
    if not pool:
        return None
    a = alpha if normalise else 0.0

    def length(toks):
        return len(toks) if count_eos or toks[-1] != EOS else max(1, len(toks) - 1)

    toks, logp = max(pool, key=lambda c: _norm(c[1], length(c[0]), a))
    return list(toks), _norm(logp, len(toks), alpha)


def _brute_force(w, h0, max_len, alpha):
    """The best output of all: EOS at a length <= max_len, or max_len tokens."""
    others = [v for v in range(w["b_out"].shape[0]) if v != EOS]
    best = None
    for L in range(1, max_len + 1):
        for body in itertools.product(others, repeat=L - 1):
            for last in (others + [EOS]) if L == max_len else (EOS,):
                h, logp, prev = np.asarray(h0, dtype=np.float64), 0.0, BOS
                for v in (*body, last):
                    lp, h = _np_step(w, prev, h)
                    logp, prev = logp + lp[v], v
                score = _norm(logp, L, alpha)
                if best is None or score > best[1]:
                    best = ([*body, last], score)
    return best


def _as_tokens(got):
    """``got`` as a list when it is a list, tuple or 1-D int array; else None."""
    if isinstance(got, np.ndarray) and got.ndim == 1 and got.dtype.kind in "iu":
        return got.tolist()
    return list(got) if isinstance(got, (list, tuple)) else None


def _tokens_issue(what, got, want):
    """A message when ``got`` is not the token list ``want`` (``want`` never shown)."""
    tokens = _as_tokens(got)
    if tokens is None:
        return f"{what} should be a list of int token ids, got {type(got).__name__}"
    wrong = sorted({type(t).__name__ for t in tokens
                    if not isinstance(t, int) or isinstance(t, bool)})
    if wrong:
        return (f"{what} should hold Python ints (use int(...) on a tensor's item), "
                "got " + ", ".join(wrong))
    if tokens == want:
        return None
    for pos, (a, b) in enumerate(zip(tokens, want)):
        if a != b:
            return (f"{what} differs from the expected output at position {pos} "
                    f"(your token {a})")
    if len(tokens) > len(want):
        return f"{what} is too long: it matches the expected output and then continues"
    return f"{what} is too short: it matches the expected output's start, then stops"


def _greedy_cases(seed):
    rng = np.random.default_rng(seed)
    specs = [  # (name, V, E, H, max_len, knobs, weight)
        ("V=6, E=3, H=4, max_len=8", 6, 3, 4, 8, {}, 2.0),
        ("another draw: V=5, E=2, H=3, max_len=6", 5, 2, 3, 6, {}, 1.0),
        ("max_len=1", 5, 3, 3, 1, {}, 1.0),
        ("<eos> likely early: V=6, E=3, H=4, max_len=10", 6, 3, 4, 10,
         {"eos_bias": 2.0}, 1.0),
        ("<eos> unlikely (runs to max_len): V=6, E=2, H=5, max_len=7", 6, 2, 5, 7,
         {"eos_bias": -6.0}, 1.0),
        ("peaked distributions: V=7, E=3, H=4, max_len=9", 7, 3, 4, 9,
         {"scale": 2.5}, 1.0),
        ("flat distributions: V=4, E=2, H=2, max_len=6", 4, 2, 2, 6,
         {"scale": 0.3}, 1.0),
        ("H=1, E=1: V=4, max_len=5", 4, 1, 1, 5, {}, 1.0),
    ]
    out = []
    for name, V, E, H, max_len, kw, weight in specs:
        w = _decoder_weights(rng, V, E, H, **kw)
        args = (w, np.tanh(rng.normal(size=H)), max_len)
        out.append(Case(name, "greedy_decode", args, weight=weight))
    return out


def _greedy_verdict(case, result):
    w, h0, max_len = case.args
    want = memo(case, "ref", lambda: _greedy(w, h0, max_len))
    problem = _tokens_issue("greedy_decode's tokens", result.value, want)
    got = _as_tokens(result.value)
    if problem and got is not None:
        if want[-1] == EOS and got == want[:-1]:
            problem += "\n  likely cause: a chosen <eos> is part of the output"
        if got == _greedy(w, h0, max_len, stop_at_eos=False) != want:
            problem += "\n  likely cause: decoding did not stop after <eos>"
    return verdict(modified_issue(case, result, ("decoder", "h0", "max_len")), problem)


def _beam_cases(seed):
    rng = np.random.default_rng(seed)
    # (name, V, E, H, K, max_len, alpha, knobs, weight, oracle); K >= V**max_len never
    # prunes, so brute force over every output is the reference there.
    specs = [
        ("exhaustive (no pruning), alpha=0.7: V=4, max_len=3",
         4, 2, 3, 64, 3, 0.7, {"eos_bias": 1.0}, 1.0, "brute"),
        ("exhaustive, alpha=1.0: V=4, max_len=4",
         4, 3, 3, 256, 4, 1.0, {"eos_bias": 0.5}, 1.0, "brute"),
        ("exhaustive, alpha=0 (no normalisation): V=3, max_len=4",
         3, 2, 2, 81, 4, 0.0, {"eos_bias": 1.5}, 1.0, "brute"),
        ("exhaustive, another draw: V=5, max_len=3",
         5, 2, 4, 125, 3, 0.6, {"eos_bias": 0.8}, 1.0, "brute"),
        ("beam_width=3, alpha=0.7: V=6, max_len=6",
         6, 3, 4, 3, 6, 0.7, {"eos_bias": 1.0}, 2.0, "beam"),
        ("beam_width=2, alpha=1.0: V=5, max_len=7",
         5, 2, 4, 2, 7, 1.0, {"eos_bias": 0.5}, 1.0, "beam"),
        ("beam_width=4, peaked: V=7, max_len=6",
         7, 3, 5, 4, 6, 0.7, {"scale": 2.0, "eos_bias": 1.0}, 1.0, "beam"),
        ("beam_width=3, <eos> unlikely: V=5, max_len=5",
         5, 2, 3, 3, 5, 0.7, {"eos_bias": -6.0}, 1.0, "beam"),
        ("beam_width=1 (greedy): V=6, max_len=6",
         6, 3, 4, 1, 6, 0.7, {"eos_bias": 1.0}, 1.0, "beam"),
        ("max_len=1, beam_width=3: V=5", 5, 2, 3, 3, 1, 0.7, {}, 0.5, "beam"),
    ]
    out = []
    for name, V, E, H, K, max_len, alpha, kw, weight, oracle in specs:
        w = _decoder_weights(rng, V, E, H, **kw)
        args = (w, np.tanh(rng.normal(size=H)), K, max_len, alpha)
        out.append(Case(name, "beam_search", args, weight=weight,
                        meta={"oracle": oracle}))
    # a decoder drawn until length normalisation changes the answer (skipping it shows)
    for _ in range(50):
        w = _decoder_weights(rng, 5, 2, 3, eos_bias=1.5)
        h0 = np.tanh(rng.normal(size=3))
        if _beam(w, h0, 3, 6, 1.0)[0] != _beam(w, h0, 3, 6, 1.0, normalise=False)[0]:
            out.append(Case("length normalisation decides: beam_width=3, alpha=1.0, "
                            "V=5, max_len=6", "beam_search", (w, h0, 3, 6, 1.0),
                            meta={"oracle": "beam"}))
            break
    return out


_BEAM_MISTAKES = {
    "the final choice ignores the length normalisation: pick the best "
    "logp / len**alpha": dict(normalise=False),
    "finished hypotheses (ending in <eos>) were dropped: keep them and compare them "
    "at the end": dict(keep_finished=False),
    "hypotheses ending in <eos> were extended further: a finished hypothesis leaves "
    "the beam": dict(extend_finished=True),
    "the hypotheses still unfinished after max_len steps were left out: they are "
    "outputs too": dict(keep_cut=False),
    "the length in the normalisation left out <eos>: count every generated token":
        dict(count_eos=False),
}


def _score_issue(score, want, alpha):
    if isinstance(score, (np.ndarray, np.generic)) and np.asarray(score).size == 1:
        score = np.asarray(score).item()
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        return f"the score should be a float, got {type(score).__name__}"
    if np.isclose(score, want[1], rtol=1e-9, atol=1e-12):
        return None
    L, hint = len(want[0]), ""
    if np.isclose(score, want[1] * L ** alpha, rtol=1e-9):
        hint = ("\n  likely cause: the score is the total log probability: divide "
                "it by len**alpha")
    elif L > 1 and np.isclose(score, want[1] * (L / (L - 1)) ** alpha, rtol=1e-9):
        hint = ("\n  likely cause: the length counts every generated token, <eos> "
                "included")
    return f"the right hypothesis, but its score (your value {score!r}) is wrong" + hint


def _beam_verdict(case, result):
    w, h0, K, max_len, alpha = case.args
    if case.meta["oracle"] == "brute":
        want = memo(case, "ref", lambda: _brute_force(w, h0, max_len, alpha))
    else:
        want = memo(case, "ref", lambda: _beam(w, h0, K, max_len, alpha))
    value, problem = unpack(result.value, 2, case.func)
    if problem:
        return verdict(problem)
    tokens, score = value
    problem = _tokens_issue("the best hypothesis", tokens, want[0])
    if problem:
        got = _as_tokens(tokens)
        for cause, kw in _BEAM_MISTAKES.items():
            alt = _beam(w, h0, K, max_len, alpha, **kw)
            if alt is not None and alt[0] != want[0] and got == alt[0]:
                problem += f"\n  likely cause: {cause}"
        return verdict(problem)
    names = ("decoder", "h0", "beam_width", "max_len", "alpha")
    return verdict(_score_issue(score, want, alpha),
                   modified_issue(case, result, names))


CHECKS = {
    "gru_step_forward": Check(
        _gru_forward_cases(True), _gru_forward_verdict(True),
        "gru_step_forward against torch.nn.GRUCell", seed=61),
    "gru_step_backward": Check(
        _gru_backward_cases(True), _gru_backward_verdict(True),
        "gru_step_backward against torch autograd and centred differences", seed=62),
    "gru_forward": Check(
        _gru_forward_cases(False), _gru_forward_verdict(False),
        "gru_forward against torch.nn.GRU", seed=63),
    "gru_backward": Check(
        _gru_backward_cases(False), _gru_backward_verdict(False),
        "gru_backward against torch autograd and centred differences", seed=64),
    "attention_forward": Check(
        _attention_forward_cases, _attention_forward_verdict,
        "attention_forward against a masked softmax in torch", seed=65),
    "attention_backward": Check(
        _attention_backward_cases, _attention_backward_verdict,
        "attention_backward against torch autograd and centred differences", seed=66),
    "additive_attention_forward": Check(
        _additive_forward_cases, _additive_forward_verdict,
        "additive_attention_forward against masked additive attention in torch",
        seed=69),
    "additive_attention_backward": Check(
        _additive_backward_cases, _additive_backward_verdict,
        "additive_attention_backward against torch autograd and centred differences",
        seed=70),
    "greedy_decode": Check(
        _greedy_cases, _greedy_verdict, "greedy_decode against a numpy decoder",
        seed=67),
    "beam_search": Check(
        _beam_cases, _beam_verdict,
        "beam_search against brute force and a reference beam search", seed=68),
}
