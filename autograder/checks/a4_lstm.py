"""Hidden checks of assignment 4, "LSTM" (solutions/a4_lstm).

Graded functions (the notebook states their contracts; gates stacked i, f, g, o as PyTorch)::

    lstm_step_forward(x (N, D), h_prev (N, H), c_prev (N, H), params) -> h_next, c_next, cache
    lstm_step_backward(dh_next, dc_next, cache) -> dx (N, D), dh_prev, dc_prev (N, H), grads
    lstm_forward(x (T, N, D), h0 (N, H), params, c0=None) -> h (T, N, H), cache
    lstm_backward(dh (T, N, H), cache) -> dx (T, N, D), dh0 (N, H), grads       (c0 a constant)
    gate_biases(row, H, candidate=0.5) -> b (4H,)      row in keep, add, clear, replace
    count_lstm_params(D, H, convention="pytorch", bidirectional=False) -> int

with ``params`` keys W_ih (4H, D), W_hh (4H, H), b_ih, b_hh (4H,). The caches have the keys
the notebook prescribes (STEP_CACHE, SEQ_CACHE, "gates" a dict i, f, g, o), so a backward
case hands the student's backward a cache made by the reference forward.

References are independent of rnnlab and of the solution: ``torch.nn.LSTMCell`` and
``torch.nn.LSTM`` in float64 with autograd, centred differences of ``nn.LSTM`` (cases with
``meta["oracle"] == "centred"``), a reference LSTM cell run with the student's biases, and
the parameter counts of real PyTorch modules.
"""

from __future__ import annotations

import numpy as np

from autograder.checks import _recurrent as R
from autograder.checks._common import memo, modified_issue, unpack, verdict
from autograder.checks.base import DEFAULT_FORBIDDEN, Case, Check, Verdict

# rnnlab.birnn re-exports the LSTM functions (already forbidden by default); the torch bridge
# would run the student's parameters through nn.LSTM.
FORBIDDEN = DEFAULT_FORBIDDEN + ("rnnlab.torch_bridge",)

PARAMS = ("W_ih", "W_hh", "b_ih", "b_hh")
GATES = ("i", "f", "g", "o")
STEP_CACHE = ("x", "h_prev", "c_prev", "gates", "c_next", "params")
SEQ_CACHE = ("x", "h0", "c0", "h", "c", "gates", "params")
ROWS = {"keep": (0.0, 1.0), "add": (1.0, 1.0), "clear": (0.0, 0.0), "replace": (1.0, 0.0)}  # (i, f)
GATE_TOL = 1e-4  # a gate counts as open or shut within this distance of 1 or 0


# -- references (torch float64) -----------------------------------------------------------------

def _torch_names(suffix=""):
    return {"W_ih": "weight_ih" + suffix, "W_hh": "weight_hh" + suffix, "b_ih": "bias_ih" + suffix, "b_hh": "bias_hh" + suffix}


def _module(params, step):
    torch = R.torch()
    fourH, D = params["W_ih"].shape
    H = fourH // 4
    mod = torch.nn.LSTMCell(D, H, dtype=torch.float64) if step else torch.nn.LSTM(D, H, dtype=torch.float64)
    names = _torch_names("" if step else "_l0")
    with torch.no_grad():
        for k, attr in names.items():
            getattr(mod, attr).copy_(torch.from_numpy(np.asarray(params[k], dtype=np.float64)))
    return mod, names


def _gates_torch(x, h_prev, params):
    """Gate values (dict i, f, g, o of (..., H)) from the inputs of each step, in torch."""
    torch = R.torch()
    F = torch.nn.functional
    p = R.tensors(params)
    a = F.linear(torch.from_numpy(x), p["W_ih"], p["b_ih"]) + F.linear(torch.from_numpy(h_prev), p["W_hh"], p["b_hh"])
    i, f, g, o = a.chunk(4, dim=-1)
    return {"i": torch.sigmoid(i).numpy(), "f": torch.sigmoid(f).numpy(), "g": torch.tanh(g).numpy(),
            "o": torch.sigmoid(o).numpy()}


def _step_reference(x, h_prev, c_prev, params, dh=None, dc=None):
    """{"h", "c", "gates"} of nn.LSTMCell; with dh, dc the autograd gradients of sum(h*dh) + sum(c*dc)."""
    torch = R.torch()
    cell, names = _module(params, step=True)
    t = R.tensors({"x": x, "h_prev": h_prev, "c_prev": c_prev}, requires_grad=dh is not None)
    h, c = cell(t["x"], (t["h_prev"], t["c_prev"]))
    out = {"h": h.detach().numpy(), "c": c.detach().numpy(), "gates": _gates_torch(x, h_prev, params)}
    if dh is not None:
        ((h * torch.from_numpy(dh)).sum() + (c * torch.from_numpy(dc)).sum()).backward()
        out["grads"] = {k: v.grad.numpy() for k, v in t.items()}
        out["grads"].update({k: getattr(cell, attr).grad.numpy().copy() for k, attr in names.items()})
    return out


def _seq_reference(x, h0, c0, params, dh=None):
    """{"h", "c", "gates"} of nn.LSTM (c from a step-by-step LSTMCell); with dh the gradients of sum(h*dh)."""
    torch = R.torch()
    lstm, names = _module(params, step=False)
    t = R.tensors({"x": x, "h0": h0}, requires_grad=dh is not None)
    c0t = torch.from_numpy(c0)
    h, _ = lstm(t["x"], (t["h0"][None], c0t[None]))
    out = {"h": h.detach().numpy()}
    if dh is not None:
        (h * torch.from_numpy(dh)).sum().backward()
        out["grads"] = {k: v.grad.numpy() for k, v in t.items()}
        out["grads"].update({k: getattr(lstm, attr).grad.numpy().copy() for k, attr in names.items()})
    # cell states: nn.LSTM returns only the last; run its cell on each prefix's state
    c, c_prev = [], c0
    h_prev_all = np.concatenate([h0[None], out["h"][:-1]])
    for s in range(x.shape[0]):
        c_prev = _step_reference(x[s], h_prev_all[s], c_prev, params)["c"]
        c.append(c_prev)
    out["c"] = np.stack(c)
    out["gates"] = _gates_torch(x, h_prev_all, params)
    return out


def _step_numerical(x, h_prev, c_prev, params, dh, dc):
    torch = R.torch()
    cell, names = _module(params, step=True)

    def loss(arrays):
        with torch.no_grad():
            for k, attr in names.items():
                getattr(cell, attr).copy_(torch.from_numpy(arrays[k]))
            h, c = cell(torch.from_numpy(arrays["x"]), (torch.from_numpy(arrays["h_prev"]), torch.from_numpy(arrays["c_prev"])))
            return float((h * torch.from_numpy(dh)).sum() + (c * torch.from_numpy(dc)).sum())

    return R.numerical_grads(loss, {"x": x, "h_prev": h_prev, "c_prev": c_prev, **params})


def _seq_numerical(x, h0, c0, params, dh):
    torch = R.torch()
    lstm, names = _module(params, step=False)

    def loss(arrays):
        with torch.no_grad():
            for k, attr in names.items():
                getattr(lstm, attr).copy_(torch.from_numpy(arrays[k]))
            h, _ = lstm(torch.from_numpy(arrays["x"]), (torch.from_numpy(arrays["h0"])[None], torch.from_numpy(c0)[None]))
            return float((h * torch.from_numpy(dh)).sum())

    return R.numerical_grads(loss, {"x": x, "h0": h0, **params})


# -- known mistakes (numpy, for the likely-cause hints only) --------------------------------------

def _lstm_np(x, h0, c0, p, order="ifgo", cand="tanh", tanh_c=True, carry_c=True, carry_h=True, f_on_g=False,
             use_c=True, no=(), transpose_hh=False):
    """An LSTM forward with one mistake switched on: (h, c), each (T, N, H)."""
    H = h0.shape[1]
    blocks = {name: slice(k * H, (k + 1) * H) for k, name in enumerate(order)}
    b = (0 if "b_ih" in no else p["b_ih"]) + (0 if "b_hh" in no else p["b_hh"])
    hs, cs, h_prev, c_prev = [], [], h0, c0
    for t in range(x.shape[0]):
        if transpose_hh:  # each square block of W_hh used without its transpose
            rec = np.concatenate([h_prev @ p["W_hh"][k * H:(k + 1) * H] for k in range(4)], axis=1)
        else:
            rec = h_prev @ p["W_hh"].T
        a = x[t] @ p["W_ih"].T + rec + b
        i, f, o = (R.sigmoid(a[:, blocks[k]]) for k in "ifo")
        g = np.tanh(a[:, blocks["g"]]) if cand == "tanh" else R.sigmoid(a[:, blocks["g"]])
        old = c_prev if use_c else 0.0
        c = (i * old + f * g) if f_on_g else (f * old + i * g)
        h = o * (np.tanh(c) if tanh_c else c)
        hs.append(h)
        cs.append(c)
        h_prev = h if carry_h else h0
        c_prev = c if carry_c else c0
    return np.stack(hs), np.stack(cs)


def _forward_hints(x, h0, c0, p, sequence):
    """{cause: (h, c)} of known mistakes."""
    variants = {
        "forget and input gates swapped (or the forget gate multiplies the candidate): c = f * c_prev + i * g":
            dict(order="figo"),
        "gate order i, f, o, g instead of PyTorch's i, f, g, o": dict(order="ifog"),
        "the candidate g uses sigmoid instead of tanh": dict(cand="sigmoid"),
        "h = o * c: the tanh of the cell state is missing": dict(tanh_c=False),
        "the old cell state is not used: c = i * g": dict(use_c=False),
        "the bias b_hh is missing": dict(no=("b_hh",)),
        "each block of W_hh was used without its transpose (h_prev @ W_hh[k*H:(k+1)*H])": dict(transpose_hh=True),
    }
    out = {cause: _lstm_np(x, h0, c0, p, **kw) for cause, kw in variants.items()}
    if sequence:
        out["the cell state c is not carried between steps (every step starts from c0)"] = _lstm_np(x, h0, c0, p, carry_c=False)
        out["the hidden state h is not carried between steps (every step starts from h0)"] = _lstm_np(x, h0, c0, p, carry_h=False)
        out["c0 was ignored: the cell started from zeros"] = _lstm_np(x, h0, 0 * c0, p)
        out["h0 was ignored: the hidden state started from zeros"] = _lstm_np(x, 0 * h0, c0, p)
    return out


def _lstm_np_backward(dh, dc_last, x, h0, c0, p, dc_from_h=True, forget_in_dc=True, carry_c=True, carry_h=True,
                      overwrite=False, do_uses_c=False):
    """An LSTM backward (on the correct forward) with one mistake switched on: (dx, dh0, dc0, grads)."""
    H = h0.shape[1]
    T = x.shape[0]
    hs, cs, gates, h_prev, c_prev = [], [], [], h0, c0
    for t in range(T):
        a = x[t] @ p["W_ih"].T + h_prev @ p["W_hh"].T + p["b_ih"] + p["b_hh"]
        i, f, g, o = R.sigmoid(a[:, :H]), R.sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), R.sigmoid(a[:, 3 * H:])
        c = f * c_prev + i * g
        h_prev, c_prev = o * np.tanh(c), c
        hs.append(h_prev)
        cs.append(c)
        gates.append((i, f, g, o))
    dx, grads = np.empty_like(x), {k: np.zeros_like(v) for k, v in p.items()}
    dh_carry, dc_carry = np.zeros_like(h0), dc_last.copy()
    for t in range(T - 1, -1, -1):
        i, f, g, o = gates[t]
        tc = np.tanh(cs[t])
        gh = dh[t] + dh_carry
        dc = dc_carry + (gh * o * (1 - tc ** 2) if dc_from_h else 0.0)
        c_prev = cs[t - 1] if t > 0 else c0
        h_prev = hs[t - 1] if t > 0 else h0
        da = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g ** 2),
                             gh * (cs[t] if do_uses_c else tc) * o * (1 - o)], axis=1)
        step = {"W_ih": da.T @ x[t], "W_hh": da.T @ h_prev, "b_ih": da.sum(0), "b_hh": da.sum(0)}
        grads = dict(step) if overwrite else {k: grads[k] + step[k] for k in grads}
        dx[t] = da @ p["W_ih"]
        dh_carry = da @ p["W_hh"] if carry_h else np.zeros_like(h0)
        dc_carry = (dc * f if forget_in_dc else dc) if carry_c else np.zeros_like(h0)
    return dx, dh_carry, dc_carry, grads


def _backward_hints(dh, dc_last, x, h0, c0, p, sequence):
    variants = {
        "the gradient from dh through tanh(c) was not added to the cell's gradient (dc = dc_next only)":
            dict(dc_from_h=False),
        "the forget gate is missing from the gradient sent to c_prev (dc_prev = dc instead of dc * f)":
            dict(forget_in_dc=False),
        "the output gate's gradient uses c instead of tanh(c)": dict(do_uses_c=True),
    }
    if sequence:
        variants.update({
            "the cell-state gradient is not carried between steps": dict(carry_c=False),
            "the hidden-state gradient is not carried between steps": dict(carry_h=False),
            "the weight gradients were overwritten at every step instead of summed over time": dict(overwrite=True),
        })
    out = {c: _lstm_np_backward(dh, dc_last, x, h0, c0, p, **kw) for c, kw in variants.items()}
    keys = ("dx", "dh0", "dc0")
    hints = {k: {c: v[n] for c, v in out.items()} for n, k in enumerate(keys)}
    hints["grads"] = {k: {c: v[3][k] for c, v in out.items()} for k in PARAMS}
    return hints


# -- case inputs -------------------------------------------------------------------------------------

def _params(rng, D, H, scale=0.5):
    return {"W_ih": rng.normal(0, scale, (4 * H, D)), "W_hh": rng.normal(0, scale, (4 * H, H)),
            "b_ih": rng.normal(0, scale, 4 * H), "b_hh": rng.normal(0, scale, 4 * H)}


# (what the case tests, T, N, D, H, knobs, weight), shared by the four cell checks
def _specs():
    return [
        ("a typical batch", 5, 3, 4, 5, {}, 2.0),
        ("the smallest sizes", 1, 1, 1, 1, {}, 1.0),
        ("H != D", 4, 2, 6, 3, {}, 1.0),
        ("D = H", 4, 3, 4, 4, {}, 1.0),
        ("saturating gates (|x| about 30)", 3, 2, 3, 4, {"x_scale": 30.0}, 1.0),
        ("a large cell state (|c_prev| about 5)", 3, 2, 3, 3, {"c_scale": 5.0}, 1.0),
        ("another random draw", 6, 2, 2, 7, {}, 1.0),
        ("an empty batch", 3, 0, 2, 4, {}, 0.5),
    ]


def _name(what, step, T, N, D, H):
    return f"{what}: " + ("" if step else f"T={T}, ") + f"N={N}, D={D}, H={H}"


def _inputs(rng, T, N, D, H, knobs, step):
    x = rng.normal(0, knobs.get("x_scale", 1.0), (N, D) if step else (T, N, D))
    h0 = np.tanh(rng.normal(0, 1.0, (N, H)))
    c0 = rng.normal(0, knobs.get("c_scale", 1.0), (N, H))
    return x, h0, c0, _params(rng, D, H)


def _gates_issue(what, got, want):
    if not isinstance(got, dict) or set(got) != set(GATES):
        return f'{what} should be a dict with the keys "i", "f", "g", "o", got ' + (
            f"the keys {sorted(got)}" if isinstance(got, dict) else type(got).__name__)
    for k in GATES:
        problem = R.array_issue(f'{what}["{k}"]', got[k], want[k], hints={
            'the gates are stored in the order i, f, o, g (this is another gate)': want[{"g": "o", "o": "g"}.get(k, k)]
            if k in "go" else None,
            "the input and forget gates are swapped": want[{"i": "f", "f": "i"}.get(k, k)] if k in "if" else None})
        if problem:
            return problem
    return None


# -- lstm_step_forward / lstm_forward -------------------------------------------------------------

def _forward_cases(step):
    func = "lstm_step_forward" if step else "lstm_forward"

    def cases(seed):
        rng = np.random.default_rng(seed)
        out = []
        for what, T, N, D, H, knobs, w in _specs():
            x, h0, c0, p = _inputs(rng, T, N, D, H, knobs, step)
            name = _name(what, step, T, N, D, H)
            if step:
                out.append(Case(name, func, (x, h0, c0, p), weight=w))
            else:
                out.append(Case(name, func, (x, h0, p, c0), weight=w))  # c0 positional: in-place writes show
        if not step:
            x, h0, _, p = _inputs(rng, 20, 2, 3, 4, {}, False)
            out.append(Case("c0 omitted (zeros): T=20, N=2, D=3, H=4", func, (x, h0, p)))
            # T = 0: rnnlab's lstm_forward raises ValueError (nn.LSTM refuses it), so the check expects ValueError
            _, h0, c0, p = _inputs(rng, 1, 2, 3, 4, {}, False)
            out.append(Case("an empty sequence (T=0) raises ValueError", func, (np.zeros((0, 2, 3)), h0, p, c0),
                            weight=0.5, meta={"expects_error": True}))
        return out

    return cases


def _forward_verdict(step):
    def judge(case, result):
        if case.meta.get("expects_error"):
            return R.expects_value_error(case, result, "a sequence of no step (T=0)")
        if step:
            x, h_prev, c_prev, p = case.args
            xs = x[None]
        else:
            x, h_prev, p = case.args[:3]
            c_prev = case.args[3] if len(case.args) > 3 else np.zeros_like(h_prev)
            xs = x
        ref = memo(case, "ref", lambda: (_step_reference(x, h_prev, c_prev, p) if step
                                         else _seq_reference(x, h_prev, c_prev, p)))
        hints = memo(case, "hints", lambda: _forward_hints(xs, h_prev, c_prev, p, sequence=not step))
        pick = (lambda a: a[0]) if step else (lambda a: a)
        h_hints = {c: pick(v[0]) for c, v in hints.items()}
        c_hints = {c: pick(v[1]) for c, v in hints.items()}
        names = ("x", "h_prev", "c_prev", "params") if step else ("x", "h0", "params", "c0")
        if step:
            value, problem = unpack(result.value, 3, case.func)
            if problem:
                return verdict(problem)
            h, c, cache = value
            problems = [R.array_issue("h_next", h, ref["h"], hints=h_hints), R.array_issue("c_next", c, ref["c"], hints=c_hints),
                        R.keys_issue("cache", cache, STEP_CACHE),
                        R.cache_issue("cache", cache, {"x": x, "h_prev": h_prev, "c_prev": c_prev, "c_next": ref["c"],
                                                       "params": p})]
            if R.keys_issue("cache", cache, STEP_CACHE) is None:
                problems.append(_gates_issue('cache["gates"]', cache["gates"], ref["gates"]))
        else:
            value, problem = unpack(result.value, 2, case.func)
            if problem:
                return verdict(problem)
            h, cache = value
            problems = [R.array_issue("h", h, ref["h"], hints=h_hints), R.keys_issue("cache", cache, SEQ_CACHE),
                        R.cache_issue("cache", cache, {"x": x, "h0": h_prev, "c0": c_prev, "h": ref["h"], "c": ref["c"],
                                                       "params": p}, hints={"c": c_hints})]
            if R.keys_issue("cache", cache, SEQ_CACHE) is None:
                problems.append(_gates_issue('cache["gates"]', cache["gates"], ref["gates"]))
        return verdict(modified_issue(case, result, names), *problems)

    return judge


# -- lstm_step_backward / lstm_backward -----------------------------------------------------------

def _backward_cases(step):
    func = "lstm_step_backward" if step else "lstm_backward"

    def cases(seed):
        rng = np.random.default_rng(seed)
        specs = _specs() + [("gradient check against centred differences", 3, 2, 3, 4, {"oracle": "centred"}, 1.0)]
        out = []
        for what, T, N, D, H, knobs, w in specs:
            x, h0, c0, p = _inputs(rng, T, N, D, H, knobs, step)
            meta = {"oracle": knobs.get("oracle", "autograd")}
            if step:
                ref = _step_reference(x, h0, c0, p)
                cache = {"x": x, "h_prev": h0, "c_prev": c0, "gates": ref["gates"], "c_next": ref["c"], "params": p}
                args = (rng.normal(0, 1, (N, H)), rng.normal(0, 1, (N, H)), cache)
            else:
                ref = _seq_reference(x, h0, c0, p)
                cache = {"x": x, "h0": h0, "c0": c0, "h": ref["h"], "c": ref["c"], "gates": ref["gates"], "params": p}
                args = (rng.normal(0, 1, (T, N, H)), cache)
            out.append(Case(_name(what, step, T, N, D, H), func, args, weight=w, meta=meta))
        return out

    return cases


def _backward_verdict(step):
    def judge(case, result):
        if step:
            dh, dc, cache = case.args
            x, h0, c0 = cache["x"], cache["h_prev"], cache["c_prev"]
            n_out, names = 4, ("dx", "dh_prev", "dc_prev")
        else:
            dh, cache = case.args
            x, h0, c0 = cache["x"], cache["h0"], cache["c0"]
            dc = np.zeros_like(h0)
            n_out, names = 3, ("dx", "dh0")
        p = cache["params"]
        value, problem = unpack(result.value, n_out, case.func)
        if problem:
            return verdict(problem)
        arrays, grads = value[:-1], value[-1]
        keys = ("x", "h_prev", "c_prev") if step else ("x", "h0")
        if case.meta["oracle"] == "centred":
            num = memo(case, "num", lambda: (_step_numerical(x, h0, c0, p, dh, dc) if step
                                             else _seq_numerical(x, h0, c0, p, dh)))
            problems = [R.gradcheck_issue(n, a, num[k]) for n, a, k in zip(names, arrays, keys)]
            problems += R.grads_gradcheck_issues(grads, num, PARAMS)
        else:
            ref = memo(case, "ref", lambda: (_step_reference(x, h0, c0, p, dh, dc) if step
                                             else _seq_reference(x, h0, c0, p, dh)))["grads"]
            xs, dhs = (x[None], dh[None]) if step else (x, dh)
            hints = memo(case, "hints", lambda: _backward_hints(dhs, dc, xs, h0, c0, p, sequence=not step))
            hx = {c: (v[0] if step else v) for c, v in hints["dx"].items()}
            hint_of = {"x": hx, "h_prev": hints["dh0"], "h0": hints["dh0"], "c_prev": hints["dc0"]}
            problems = [R.array_issue(n, a, ref[k], hints=hint_of[k]) for n, a, k in zip(names, arrays, keys)]
            problems.append(R.grads_issue("grads", grads, {k: ref[k] for k in PARAMS}, hints=hints["grads"]))
        inputs = ("dh_next", "dc_next", "cache") if step else ("dh", "cache")
        return verdict(modified_issue(case, result, inputs), *problems)

    return judge


# -- gate_biases: the keep / add / clear / replace table ---------------------------------------------

def _bias_cases(seed):
    rng = np.random.default_rng(seed)
    rows = [("keep", 3, None), ("add", 3, None), ("clear", 3, None), ("replace", 3, None),
            ("keep", 1, -0.8), ("add", 5, 0.9), ("replace", 2, -0.3), ("clear", 4, 0.0), ("replace", 6, 0.75)]
    cases = []
    for row, H, cand in rows:
        kwargs = {} if cand is None else {"candidate": cand}
        name = f"row {row!r}, H={H}" + ("" if cand is None else f", candidate={cand}")
        meta = {"x": rng.normal(0, 1, (3, 2)), "h_prev": np.tanh(rng.normal(0, 1, (3, H))),
                "c_prev": rng.normal(0, 2, (3, H))}
        cases.append(Case(name, "gate_biases", (row, H), kwargs=kwargs, meta=meta))
    cases.append(Case("an unknown row 'forget' raises ValueError", "gate_biases", ("forget", 3), weight=0.5,
                      meta={"expects_error": True}))
    return cases


def _run_cell(b, meta):
    """The reference cell: nn.LSTMCell with every weight 0, b_ih = b, b_hh = 0; returns (h, c)."""
    torch = R.torch()
    H = b.shape[0] // 4
    D = meta["x"].shape[1]
    params = {"W_ih": np.zeros((4 * H, D)), "W_hh": np.zeros((4 * H, H)), "b_ih": b, "b_hh": np.zeros(4 * H)}
    cell, _ = _module(params, step=True)
    with torch.no_grad():
        h, c = cell(torch.from_numpy(meta["x"]), (torch.from_numpy(meta["h_prev"]), torch.from_numpy(meta["c_prev"])))
    return h.numpy(), c.numpy()


def _bias_verdict(case, result):
    if case.meta.get("expects_error"):
        if result.error_type == "ValueError":
            return Verdict(True, "correct")
        return Verdict(False, "an unknown row should raise ValueError naming the four rows, "
                       + (f"got {result.error}" if result.error else "but a value was returned"))
    row, H = case.args
    cand = case.kwargs.get("candidate", 0.5)
    b = result.value
    if not isinstance(b, np.ndarray) or b.shape != (4 * H,) or b.dtype.kind != "f":
        return Verdict(False, f"gate_biases({row!r}, {H}) should return a float array of shape (4*H,), got "
                       + (f"shape {b.shape}, dtype {b.dtype}" if isinstance(b, np.ndarray) else type(b).__name__))
    if not np.all(np.isfinite(b)):
        return Verdict(False, "the biases contain inf or NaN: a large finite value such as 20 saturates a sigmoid")
    if b.dtype != np.float64:
        return Verdict(False, f"the biases have dtype {b.dtype}: return float64")
    want_i, want_f = ROWS[row]
    gate = {"i": R.sigmoid(b[:H]), "f": R.sigmoid(b[H:2 * H]), "g": np.tanh(b[2 * H:3 * H]), "o": R.sigmoid(b[3 * H:])}
    h, c = _run_cell(b, case.meta)
    want_c = want_f * case.meta["c_prev"] + want_i * cand
    problems = []
    for k, target in (("i", want_i), ("f", want_f), ("o", 1.0)):
        worst = int(np.argmax(np.abs(gate[k] - target)))
        if abs(gate[k][worst] - target) > GATE_TOL:
            problems.append(f"{k} = {gate[k][worst]:.6f} in unit {worst} (needs to be within {GATE_TOL:g} of {target:g})")
    worst = int(np.argmax(np.abs(gate["g"] - cand)))
    if not np.isclose(gate["g"][worst], cand, rtol=1e-9, atol=1e-12):
        problems.append(f"g = tanh(bias) = {gate['g'][worst]:.9f} in unit {worst}, not the candidate {cand} "
                        "(invert tanh with np.arctanh)")
    if not problems:
        return verdict(None if np.allclose(c, want_c, atol=1e-3) else "the reference cell's c_next is off the table")
    # name the row the biases do implement, or the block order they follow
    causes = []
    got_if = (float(np.round(gate["i"].mean())), float(np.round(gate["f"].mean())))
    for other, pair in ROWS.items():
        if other != row and pair == got_if and np.all(np.abs(gate["i"] - pair[0]) <= GATE_TOL) \
                and np.all(np.abs(gate["f"] - pair[1]) <= GATE_TOL):
            causes.append(f"these biases implement the row {other!r} (i = {pair[0]:g}, f = {pair[1]:g})"
                          + (": the input and forget gates are swapped" if pair == (want_f, want_i) else ""))
    if np.allclose(np.tanh(b[3 * H:]), cand, atol=1e-9) and np.all(R.sigmoid(b[2 * H:3 * H]) > 1 - GATE_TOL):
        causes.append("the blocks are in the order i, f, o, g instead of PyTorch's i, f, g, o")
    err = float(np.max(np.abs(c - want_c)))
    return Verdict(False, f"row {row!r} (i = {want_i:g}, f = {want_f:g}, o = 1, g = {cand}): a reference LSTM cell with "
                   f"your biases gives c_next off by up to {err:.3g} from the table's; " + "; ".join(problems)
                   + "".join(f"\n  likely cause: {c_}" for c_ in causes))


# -- count_lstm_params --------------------------------------------------------------------------------

def _count_cases(seed):
    del seed  # no randomness: the notes' sizes and a few others
    sizes = [((60, 100), {}, 1.0), ((60, 100), {"convention": "keras"}, 1.0),
             ((60, 100), {"convention": "keras", "bidirectional": True}, 1.0),
             ((60, 100), {"bidirectional": True}, 1.0), ((32, 16), {}, 1.0), ((32, 16), {"convention": "keras"}, 1.0),
             ((1, 1), {"convention": "keras"}, 0.5), ((300, 7), {"convention": "pytorch"}, 0.5),
             ((5, 20), {"convention": "pytorch", "bidirectional": True}, 0.5)]
    cases = [Case(f"D={a[0]}, H={a[1]}, {kw.get('convention', 'pytorch')}" + (", bidirectional" if kw.get("bidirectional") else ""),
                  "count_lstm_params", a, kwargs=kw, weight=w) for a, kw, w in sizes]
    cases.append(Case("an unknown convention raises ValueError", "count_lstm_params", (4, 4), kwargs={"convention": "tensorflow"},
                      weight=0.5, meta={"expects_error": True}))
    return cases


def _torch_count(D, H, convention="pytorch", bidirectional=False):
    """Parameters of a real nn.LSTM; Keras's LSTM has one bias per block: no-bias LSTM plus 4H per direction."""
    torch = R.torch()
    meta = torch.device("meta")  # shapes only
    directions = 2 if bidirectional else 1
    if convention == "pytorch":
        return sum(p.numel() for p in torch.nn.LSTM(D, H, bidirectional=bidirectional, device=meta).parameters())
    return sum(p.numel() for p in torch.nn.LSTM(D, H, bias=False, bidirectional=bidirectional, device=meta).parameters()) \
        + directions * 4 * H


def _count_verdict(case, result):
    if case.meta.get("expects_error"):
        if result.error_type == "ValueError":
            return Verdict(True, "correct")
        return Verdict(False, "an unknown convention should raise ValueError naming 'pytorch' and 'keras', "
                       + (f"got {result.error}" if result.error else "but a number was returned"))
    D, H = case.args
    conv, bidi = case.kwargs.get("convention", "pytorch"), case.kwargs.get("bidirectional", False)
    want = _torch_count(D, H, conv, bidi)
    got = result.value
    if isinstance(got, bool) or not isinstance(got, int):
        return Verdict(False, f"count_lstm_params should return an int, got {type(got).__name__}"
                       + (f" ({got!r})" if isinstance(got, float) else ""))
    if got == want:
        return Verdict(True, "correct")
    other = "keras" if conv == "pytorch" else "pytorch"
    causes = {
        want * 3 // 4: "three weight blocks counted: an LSTM has four (gates i, f, o and the candidate g)",
        _torch_count(D, H, other, bidi): "that is the other convention's count: Keras keeps one bias per block, PyTorch two",
        want // 2 if bidi else -1: "bidirectional means two LSTMs, one per direction: count both",
        want * 2 if not bidi else -1: "counted two directions for a unidirectional layer",
        want - (2 if bidi else 1) * 4 * H * H + (2 if bidi else 1) * 4 * H * D: "the recurrent weights were counted as H x D instead of H x H",
        want // 4: "only one block counted: the four blocks i, f, g, o each have their own weights",
    }
    cause = causes.get(got)
    return Verdict(False, f"count_lstm_params({D}, {H}, convention={conv!r}, bidirectional={bidi}) returned {got}, which is wrong"
                   + (f"\n  likely cause: {cause}" if cause else ""))


CHECKS = {
    "lstm_step_forward": Check(_forward_cases(True), _forward_verdict(True),
                               "lstm_step_forward against torch.nn.LSTMCell", seed=41),
    "lstm_step_backward": Check(_backward_cases(True), _backward_verdict(True),
                                "lstm_step_backward against torch autograd and centred differences", seed=42),
    "lstm_forward": Check(_forward_cases(False), _forward_verdict(False), "lstm_forward against torch.nn.LSTM", seed=43),
    "lstm_backward": Check(_backward_cases(False), _backward_verdict(False),
                           "lstm_backward against torch autograd and centred differences", seed=44),
    "gate_biases": Check(_bias_cases, _bias_verdict,
                         "gate_biases: a reference LSTM cell with these biases follows the keep/add/clear/replace table", seed=45),
    "count_lstm_params": Check(_count_cases, _count_verdict, "count_lstm_params against real torch.nn.LSTM modules", seed=46),
}
