"""Hidden checks of assignment 3, "Elman, Jordan and bidirectional" (solutions/a3_elman_jordan_birnn).

Graded functions (the notebook states their contracts; tanh hidden layer, softmax output)::

    jordan_step_forward(x (N, D), y_prev (N, K), params) -> y_next (N, K), cache
    jordan_step_backward(dy_next (N, K), cache) -> dx (N, D), dy_prev (N, K), grads
    jordan_forward(x (T, N, D), y0 (N, K), params) -> y (T, N, K), cache
    jordan_backward(dy (T, N, K), cache) -> dx (T, N, D), dy0 (N, K), grads
    birnn_forward(x (T, N, D), h0 (2, N, H), params_fwd, params_bwd) -> out (T, N, 2H), cache
    birnn_backward(dout (T, N, 2H), cache) -> dx (T, N, D), dh0 (2, N, H), grads_fwd, grads_bwd
    teacher_inputs(targets (T, N) int, K) -> fed (T, N, K)
                                                  zeros, then one_hot(targets[t-1])
    jordan_forward_teacher(x (T, N, D), fed (T, N, K), params) -> y (T, N, K), cache
    jordan_backward_teacher(dy (T, N, K), cache) -> dx (T, N, D), grads
                                                          (no gradient between steps)

with ``params`` keys W_ih (H, D), W_yh (H, K), b_ih, b_hh (H,), W_hy (K, H), b_y (K,). The
caches have the keys the notebook prescribes (STEP_CACHE, SEQ_CACHE, {"fwd", "bwd"} of Elman
caches ELMAN_CACHE), so a backward case hands the student's backward a cache made by the
reference forward: a backward is judged on its own, whatever the student's forward does.

References are independent of rnnlab and of the solution: a Jordan loop written with torch
float64 operations and autograd, ``torch.nn.RNN(bidirectional=True)`` in float64, and
centred differences of the torch forward (cases with ``meta["oracle"] == "centred"``).
"""

from __future__ import annotations

import numpy as np

from autograder.checks import _recurrent as R
from autograder.checks._common import memo, modified_issue, unpack, verdict
from autograder.checks.base import DEFAULT_FORBIDDEN, Case, Check

# rnnlab.rnn stays allowed (the Elman cell is given); the tagger may train the experiment but
# its module also exposes the Jordan functions it imports, and the torch bridge would run
# a bidirectional layer.
FORBIDDEN = tuple(f for f in DEFAULT_FORBIDDEN if f != "rnnlab.rnn") + (
    "rnnlab.tagger.jordan_forward", "rnnlab.tagger.jordan_backward", "rnnlab.tagger._reverse_within_length",
    "rnnlab.torch_bridge",
)

JORDAN_PARAMS = ("W_ih", "W_yh", "b_ih", "b_hh", "W_hy", "b_y")
ELMAN_PARAMS = ("W_ih", "W_hh", "b_ih", "b_hh")
STEP_CACHE = ("x", "y_prev", "h", "y", "params")
SEQ_CACHE = ("x", "y0", "h", "y", "params")
ELMAN_CACHE = ("x", "h0", "h", "params")


# -- references (torch float64) -----------------------------------------------------------------

def _jordan_torch(x, y0, p):
    """Jordan forward on tensors: y (T, N, K), h (T, N, H)."""
    torch = R.torch()
    F = torch.nn.functional
    ys, hs, y_prev = [], [], y0
    for t in range(x.shape[0]):
        h = torch.tanh(F.linear(x[t], p["W_ih"], p["b_ih"]) + F.linear(y_prev, p["W_yh"], p["b_hh"]))
        y_prev = torch.softmax(F.linear(h, p["W_hy"], p["b_y"]), dim=-1)
        hs.append(h)
        ys.append(y_prev)
    return torch.stack(ys), torch.stack(hs)


def _jordan_reference(x, y0, params, dy=None):
    """{"y", "h"} (and with ``dy`` the autograd gradients of sum(y * dy) under "grads")."""
    leaves = R.tensors({"x": x, "y0": y0, **params}, requires_grad=dy is not None)
    y, h = _jordan_torch(leaves["x"], leaves["y0"], leaves)
    out = {"y": y.detach().numpy(), "h": h.detach().numpy()}
    if dy is not None:
        (y * R.torch().from_numpy(dy)).sum().backward()
        out["grads"] = {k: v.grad.numpy() for k, v in leaves.items()}
    return out


def _jordan_numerical(x, y0, params, dy):
    """Centred differences of sum(y * dy) through the torch forward (no autograd)."""
    torch = R.torch()

    def loss(arrays):
        with torch.no_grad():
            t = R.tensors(arrays)
            y, _ = _jordan_torch(t["x"], t["y0"], t)
            return float((y * torch.from_numpy(dy)).sum())

    return R.numerical_grads(loss, {"x": x, "y0": y0, **params})


def _birnn_module(params_fwd, params_bwd):
    torch = R.torch()
    D, H = params_fwd["W_ih"].shape[1], params_fwd["W_ih"].shape[0]
    rnn = torch.nn.RNN(D, H, bidirectional=True, dtype=torch.float64)
    with torch.no_grad():
        for suffix, p in (("_l0", params_fwd), ("_l0_reverse", params_bwd)):
            for name in ELMAN_PARAMS:
                kind = "weight_" if name[0] == "W" else "bias_"
                getattr(rnn, kind + name.split("_")[1] + suffix).copy_(torch.from_numpy(p[name]))
    return rnn


def _birnn_reference(x, h0, params_fwd, params_bwd, dout=None):
    """{"out"} from torch's bidirectional RNN (and with ``dout`` the gradients of sum(out * dout))."""
    torch = R.torch()
    rnn = _birnn_module(params_fwd, params_bwd)
    xt, h0t = R.tensors({"x": x, "h0": h0}, requires_grad=dout is not None).values()
    out, _ = rnn(xt, h0t)
    res = {"out": out.detach().numpy()}
    if dout is not None:
        (out * torch.from_numpy(dout)).sum().backward()
        grads = {}
        for suffix, key in (("_l0", "fwd"), ("_l0_reverse", "bwd")):
            grads[key] = {name: getattr(rnn, ("weight_" if name[0] == "W" else "bias_") + name.split("_")[1] + suffix)
                          .grad.numpy().copy() for name in ELMAN_PARAMS}
        res.update(dx=xt.grad.numpy(), dh0=h0t.grad.numpy(), grads=grads)
    return res


def _birnn_numerical(x, h0, params_fwd, params_bwd, dout):
    torch = R.torch()
    rnn = _birnn_module(params_fwd, params_bwd)

    def loss(arrays):
        with torch.no_grad():
            out, _ = rnn(torch.from_numpy(arrays["x"]), torch.from_numpy(arrays["h0"]))
            return float((out * torch.from_numpy(dout)).sum())

    return R.numerical_grads(loss, {"x": x, "h0": h0})


# -- known mistakes (numpy, for the likely-cause hints only) --------------------------------------

def _jordan_np(x, y0, p, feedback="y", out="softmax", tanh=True, no=(), transpose=()):
    """A Jordan forward with one mistake switched on: returns y (T, N, K)."""
    q = {k: (p[k].T if k in transpose else (np.zeros_like(p[k]) if k in no else p[k])) for k in p}
    T, N, _ = x.shape
    y, y_prev, h_prev = [], y0, y0
    for t in range(T):
        fed = {"y": y_prev, "zero": 0 * y0, "y0": y0, "h": h_prev}[feedback] if feedback != "z" else y_prev
        a = x[t] @ q["W_ih"].T + q["b_ih"] + fed @ q["W_yh"].T + q["b_hh"]
        h = np.tanh(a) if tanh else a
        z = h @ q["W_hy"].T + q["b_y"]
        y_t = {"softmax": lambda: R.softmax(z), "identity": lambda: z, "sigmoid": lambda: R.sigmoid(z),
               "softmax0": lambda: R.softmax(z, axis=0)}[out]()
        y.append(y_t)
        y_prev, h_prev = (z if feedback == "z" else y_t), h
    return np.stack(y)


def _jordan_forward_hints(x, y0, p, sequence):
    H, K = p["W_hy"].shape[1], p["W_hy"].shape[0]
    hints = {
        "the softmax is missing: the scores z were returned": _jordan_np(x, y0, p, out="identity"),
        "sigmoid was used for the output instead of softmax": _jordan_np(x, y0, p, out="sigmoid"),
        "the softmax was taken over the batch axis instead of the K outputs": _jordan_np(x, y0, p, out="softmax0"),
        "the bias b_hh is missing": _jordan_np(x, y0, p, no=("b_hh",)),
        "the bias b_y is missing": _jordan_np(x, y0, p, no=("b_y",)),
        "the hidden layer has no tanh": _jordan_np(x, y0, p, tanh=False),
        "the previous output is not fed back (the W_yh term is missing)": _jordan_np(x, y0, p, feedback="zero"),
    }
    if H == K:
        hints["W_yh was used transposed (y_prev @ W_yh instead of y_prev @ W_yh.T)"] = _jordan_np(x, y0, p, transpose=("W_yh",))
        hints["W_hy was used transposed (h @ W_hy instead of h @ W_hy.T)"] = _jordan_np(x, y0, p, transpose=("W_hy",))
    if x.shape[2] == H:
        hints["W_ih was used transposed (x @ W_ih instead of x @ W_ih.T)"] = _jordan_np(x, y0, p, transpose=("W_ih",))
    if sequence:
        hints["the output is not carried: every step feeds back y0"] = _jordan_np(x, y0, p, feedback="y0")
        hints["the scores z (before the softmax) were fed back instead of the output y"] = _jordan_np(x, y0, p, feedback="z")
        if H == K:
            hints["used h_{t-1} instead of y_{t-1}: that is an Elman cell, not a Jordan cell"] = _jordan_np(x, y0, p, feedback="h")
        good = _jordan_np(x, y0, p)
        hints["off by one in time: y[t] holds the output of step t-1 (y[0] is y0)"] = np.concatenate([y0[None], good[:-1]])
    return hints


def _jordan_np_backward(dy, x, y0, h, y, p, jac=True, dtanh=True, carry=True, shift=False, overwrite=False):
    """A Jordan backward with one mistake switched on: (dx, dy0, grads)."""
    T = x.shape[0]
    g_next, dx, grads = np.zeros_like(y0), np.empty_like(x), {k: np.zeros_like(v) for k, v in p.items()}
    for t in range(T - 1, -1, -1):
        g = dy[t] + (g_next if carry else 0.0)
        dz = y[t] * (g - (g * y[t]).sum(axis=1, keepdims=True)) if jac else g
        da = (dz @ p["W_hy"]) * ((1.0 - h[t] ** 2) if dtanh else 1.0)
        y_prev = y[t] if shift else (y[t - 1] if t > 0 else y0)
        db = da.sum(axis=0)
        step = {"W_ih": da.T @ x[t], "W_yh": da.T @ y_prev, "b_ih": db, "b_hh": db,
                "W_hy": dz.T @ h[t], "b_y": dz.sum(axis=0)}
        grads = dict(step) if overwrite else {k: grads[k] + step[k] for k in grads}
        dx[t], g_next = da @ p["W_ih"], da @ p["W_yh"]
    return dx, g_next, grads


def _split_hints(variants):
    """{cause: (a, b, grads)} -> ({cause: a}, {cause: b}, {key: {cause: grads[key]}})."""
    first = {c: v[0] for c, v in variants.items()}
    second = {c: v[1] for c, v in variants.items()}
    keys = next(iter(variants.values()))[2].keys() if variants else ()
    third = {k: {c: v[2][k] for c, v in variants.items()} for k in keys}
    return first, second, third


def _jordan_backward_hints(dy, x, y0, h, y, p, sequence):
    variants = {
        "the softmax Jacobian is missing (dz = dy was used)": dict(jac=False),
        "the tanh derivative (1 - h**2) is missing": dict(dtanh=False),
    }
    if sequence:
        variants.update({
            "the gradient fed back through y[t-1] is not carried to the previous step": dict(carry=False),
            "off by one in time: dW_yh pairs step t with y[t] instead of y[t-1]": dict(shift=True),
            "the weight gradients were overwritten at every step instead of summed over time": dict(overwrite=True),
        })
    return _split_hints({c: _jordan_np_backward(dy, x, y0, h, y, p, **kw) for c, kw in variants.items()})


def _elman_np(x, h0, p):
    h, h_prev = np.empty(x.shape[:2] + h0.shape[1:]), h0
    for t in range(x.shape[0]):
        h[t] = h_prev = np.tanh(x[t] @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"])
    return h


def _elman_np_backward(dh, x, h0, h, p):
    dx, carry, grads = np.empty_like(x), np.zeros_like(h0), {k: np.zeros_like(v) for k, v in p.items()}
    for t in range(x.shape[0] - 1, -1, -1):
        da = (dh[t] + carry) * (1.0 - h[t] ** 2)
        h_prev = h[t - 1] if t > 0 else h0
        for k, v in (("W_ih", da.T @ x[t]), ("W_hh", da.T @ h_prev), ("b_ih", da.sum(0)), ("b_hh", da.sum(0))):
            grads[k] = grads[k] + v
        dx[t], carry = da @ p["W_ih"], da @ p["W_hh"]
    return dx, carry, grads


def _birnn_forward_hints(x, h0, pf, pb):
    h_f = _elman_np(x, h0[0], pf)
    h_b = _elman_np(x[::-1], h0[1], pb)  # in the order the backward cell computed it
    return {
        "the backward states were not reversed back to the original time order": np.concatenate([h_f, h_b], 2),
        "the backward cell read the sequence forwards (x was not reversed)": np.concatenate([h_f, _elman_np(x, h0[1], pb)], 2),
        "the directions are in the wrong order: forward states come first, then backward": np.concatenate([h_b[::-1], h_f], 2),
        "h0[0] and h0[1] were swapped": np.concatenate([_elman_np(x, h0[1], pf), _elman_np(x[::-1], h0[0], pb)[::-1]], 2),
        "both directions used params_fwd": np.concatenate([h_f, _elman_np(x[::-1], h0[1], pf)[::-1]], 2),
    }


def _birnn_backward_hints(dout, x, h0, pf, pb):
    H = h0.shape[2]
    xr = x[::-1]
    h_f, h_b = _elman_np(x, h0[0], pf), _elman_np(xr, h0[1], pb)
    df = _elman_np_backward(dout[:, :, :H], x, h0[0], h_f, pf)
    db = _elman_np_backward(dout[::-1, :, H:], xr, h0[1], h_b, pb)
    db_unrev = _elman_np_backward(dout[:, :, H:], xr, h0[1], h_b, pb)
    dfs = _elman_np_backward(dout[:, :, H:], x, h0[0], h_f, pf)
    dbs = _elman_np_backward(dout[::-1, :, :H], xr, h0[1], h_b, pb)
    stack = np.stack
    dx_hints = {
        "the backward direction's dx was not reversed back to the original time order": df[0] + db[0],
        "the backward half of dout was not reversed before rnn_backward": df[0] + db_unrev[0][::-1],
        "the two halves of dout were swapped (forward states are out[..., :H])": dfs[0] + dbs[0][::-1],
        "dx holds only the forward direction's gradient: the two directions' dx must be added": df[0],
    }
    dh0_hints = {
        "the backward half of dout was not reversed before rnn_backward": stack([df[1], db_unrev[1]]),
        "the two halves of dout were swapped (forward states are out[..., :H])": stack([dfs[1], dbs[1]]),
        "dh0[0] and dh0[1] are swapped": stack([db[1], df[1]]),
    }
    bwd_hints = {k: {"the backward half of dout was not reversed before rnn_backward": db_unrev[2][k]} for k in ELMAN_PARAMS}
    return dx_hints, dh0_hints, bwd_hints


# -- case inputs ---------------------------------------------------------------------------------

def _jordan_params(rng, D, H, K, scale=0.5, out_scale=1.0):
    return {"W_ih": rng.normal(0, scale, (H, D)), "W_yh": rng.normal(0, scale, (H, K)),
            "b_ih": rng.normal(0, scale, H), "b_hh": rng.normal(0, scale, H),
            "W_hy": rng.normal(0, out_scale, (K, H)), "b_y": rng.normal(0, scale, K)}


def _elman_params(rng, D, H, scale=0.5):
    return {"W_ih": rng.normal(0, scale, (H, D)), "W_hh": rng.normal(0, scale, (H, H)),
            "b_ih": rng.normal(0, scale, H), "b_hh": rng.normal(0, scale, H)}


def _distribution(rng, N, K, kind="soft"):
    if kind == "zero":
        return np.zeros((N, K))
    if kind == "one-hot":
        return np.eye(K)[rng.integers(0, K, N)]
    return R.softmax(rng.normal(0, 1.5, (N, K)))


# (what the case tests, T, N, D, H, K, knobs, weight), shared by the four Jordan checks.
def _jordan_specs():
    return [
        ("a typical batch", 5, 3, 4, 5, 3, {}, 2.0),
        ("the smallest sizes", 1, 1, 1, 1, 2, {}, 1.0),
        ("H != D", 4, 2, 6, 3, 4, {}, 1.0),
        ("square weights D = H = K (a transpose would not fail on shape)", 4, 3, 4, 4, 4, {}, 1.0),
        ("a one-hot previous output", 3, 4, 3, 6, 5, {"y0": "one-hot"}, 1.0),
        ("saturating inputs (|x| about 50) and scores in the hundreds", 3, 2, 3, 4, 3,
         {"x_scale": 50.0, "out_scale": 60.0}, 1.0),
        ("another random draw", 6, 2, 2, 7, 3, {}, 1.0),
        ("an empty batch", 3, 0, 2, 4, 3, {}, 0.5),
    ]


def _name(what, step, T, N, D, H, K):
    return f"{what}: " + ("" if step else f"T={T}, ") + f"N={N}, D={D}, H={H}, K={K}"


def _jordan_inputs(rng, T, N, D, H, K, knobs, step):
    x = rng.normal(0, knobs.get("x_scale", 1.0), (N, D) if step else (T, N, D))
    y0 = _distribution(rng, N, K, knobs.get("y0", "soft"))
    params = _jordan_params(rng, D, H, K, out_scale=knobs.get("out_scale", 1.0))
    return x, y0, params


# -- Jordan forward ------------------------------------------------------------------------------

def _jordan_forward_cases(step):
    func = "jordan_step_forward" if step else "jordan_forward"

    def cases(seed):
        rng = np.random.default_rng(seed)
        out = []
        for what, T, N, D, H, K, knobs, w in _jordan_specs():
            out.append(Case(_name(what, step, T, N, D, H, K), func, _jordan_inputs(rng, T, N, D, H, K, knobs, step),
                            weight=w))
        if not step:
            x, _, p = _jordan_inputs(rng, 25, 2, 3, 4, 3, {}, False)
            out.append(Case("a long sequence from y0 = 0: T=25, N=2, D=3, H=4, K=3", func, (x, np.zeros((2, 3)), p)))
            # T = 0: rnnlab's jordan_forward raises ValueError, so the check expects ValueError
            _, y0, p = _jordan_inputs(rng, 1, 2, 3, 4, 3, {}, False)
            out.append(Case("an empty sequence (T=0) raises ValueError", func, (np.zeros((0, 2, 3)), y0, p), weight=0.5,
                            meta={"expects_error": True}))
        return out

    return cases


def _jordan_forward_verdict(step):
    name_y, keys = ("y_next", STEP_CACHE) if step else ("y", SEQ_CACHE)

    def judge(case, result):
        if case.meta.get("expects_error"):
            return R.expects_value_error(case, result, "a sequence of no step (T=0)")
        x, y0, params = case.args
        xs = x[None] if step else x
        ref = memo(case, "ref", lambda: _jordan_reference(xs, y0, params))
        want_y, want_h = (ref["y"][0], ref["h"][0]) if step else (ref["y"], ref["h"])
        value, problem = unpack(result.value, 2, case.func)
        if problem:
            return verdict(problem)
        y, cache = value
        hints = memo(case, "hints", lambda: _jordan_forward_hints(xs, y0, params, sequence=not step))
        if step:
            hints = {c: v[0] for c, v in hints.items()}
        return verdict(
            modified_issue(case, result, ("x", "y_prev" if step else "y0", "params")),
            R.array_issue(name_y, y, want_y, hints=hints),
            R.cache_issue("cache", cache, dict(zip(keys, (x, y0, want_h, want_y, params)))),
        )

    return judge


# -- Jordan backward -----------------------------------------------------------------------------

def _jordan_backward_cases(step):
    func = "jordan_step_backward" if step else "jordan_backward"

    def cases(seed):
        rng = np.random.default_rng(seed)
        specs = _jordan_specs() + [("gradient check against centred differences", 3, 2, 3, 4, 3,
                                    {"oracle": "centred"}, 1.0)]
        out = []
        for what, T, N, D, H, K, knobs, w in specs:
            name = _name(what, step, T, N, D, H, K)
            x, y0, params = _jordan_inputs(rng, T, N, D, H, K, knobs, step)
            xs = x[None] if step else x
            ref = _jordan_reference(xs, y0, params)
            dy = rng.normal(0, 1, ref["y"].shape)
            if step:
                cache = {"x": x, "y_prev": y0, "h": ref["h"][0], "y": ref["y"][0], "params": params}
                args = (dy[0], cache)
            else:
                cache = {"x": x, "y0": y0, "h": ref["h"], "y": ref["y"], "params": params}
                args = (dy, cache)
            out.append(Case(name, func, args, weight=w, meta={"oracle": knobs.get("oracle", "autograd")}))
        return out

    return cases


def _jordan_backward_verdict(step):
    names = ("dx", "dy_prev" if step else "dy0")

    def judge(case, result):
        dy, cache = case.args
        x, y0 = cache["x"], cache["y_prev" if step else "y0"]
        xs, dys = (x[None], dy[None]) if step else (x, dy)
        h, y = (cache["h"][None], cache["y"][None]) if step else (cache["h"], cache["y"])
        value, problem = unpack(result.value, 3, case.func)
        if problem:
            return verdict(problem)
        dx, dy0, grads = value
        if case.meta["oracle"] == "centred":
            num = memo(case, "num", lambda: _jordan_numerical(xs, y0, cache["params"], dys))
            want_dx = num["x"][0] if step else num["x"]
            problems = [R.gradcheck_issue(names[0], dx, want_dx), R.gradcheck_issue(names[1], dy0, num["y0"])]
            problems += R.grads_gradcheck_issues(grads, num, JORDAN_PARAMS)
        else:
            ref = memo(case, "ref", lambda: _jordan_reference(xs, y0, cache["params"], dys))["grads"]
            hx, hy, hg = memo(case, "hints", lambda: _jordan_backward_hints(dys, xs, y0, h, y, cache["params"], not step))
            if step:
                hx = {c: v[0] for c, v in hx.items()}
            problems = [R.array_issue(names[0], dx, ref["x"][0] if step else ref["x"], hints=hx),
                        R.array_issue(names[1], dy0, ref["y0"], hints=hy),
                        R.grads_issue("grads", grads, {k: ref[k] for k in JORDAN_PARAMS}, hints=hg)]
        return verdict(modified_issue(case, result, ("dy_next" if step else "dy", "cache")), *problems)

    return judge


# -- bidirectional wrapper -----------------------------------------------------------------------

def _birnn_specs():
    return [
        ("T=5, N=3, D=4, H=6", 5, 3, 4, 6, {}, 2.0),
        ("T=1, N=1, D=2, H=3", 1, 1, 2, 3, {}, 1.0),
        ("N=1, T=7, D=3, H=2", 7, 1, 3, 2, {}, 1.0),
        ("H != D: T=4, N=2, D=6, H=3", 4, 2, 6, 3, {}, 1.0),
        ("h0 all zeros, T=6, N=2, D=3, H=4", 6, 2, 3, 4, {"h0": "zero"}, 1.0),
        ("saturating inputs (|x| about 50): T=4, N=2, D=3, H=3", 4, 2, 3, 3, {"x_scale": 50.0}, 1.0),
        ("another random draw: T=3, N=4, D=2, H=5", 3, 4, 2, 5, {}, 1.0),
        ("an empty batch: T=4, N=0, D=3, H=2", 4, 0, 3, 2, {}, 0.5),
    ]


def _birnn_inputs(rng, T, N, D, H, knobs):
    x = rng.normal(0, knobs.get("x_scale", 1.0), (T, N, D))
    h0 = np.zeros((2, N, H)) if knobs.get("h0") == "zero" else np.tanh(rng.normal(0, 1.0, (2, N, H)))
    return x, h0, _elman_params(rng, D, H), _elman_params(rng, D, H)


def _birnn_forward_cases(seed):
    rng = np.random.default_rng(seed)
    return [Case(name, "birnn_forward", _birnn_inputs(rng, T, N, D, H, knobs), weight=w)
            for name, T, N, D, H, knobs, w in _birnn_specs()]


def _birnn_forward_verdict(case, result):
    x, h0, pf, pb = case.args
    H = h0.shape[2]
    want = memo(case, "ref", lambda: _birnn_reference(x, h0, pf, pb))["out"]
    value, problem = unpack(result.value, 2, "birnn_forward")
    if problem:
        return verdict(problem)
    out, cache = value
    hints = memo(case, "hints", lambda: _birnn_forward_hints(x, h0, pf, pb))
    problems = [R.array_issue("out", out, want, hints=hints), R.keys_issue("the cache", cache, ("fwd", "bwd"))]
    if problems[1] is None:
        # Each direction keeps rnn_forward's cache as it is: the backward one saw x reversed in time.
        wants = {"fwd": (x, h0[0], want[:, :, :H], pf), "bwd": (x[::-1], h0[1], want[::-1, :, H:], pb)}
        for key, entries in wants.items():
            sub = cache[key]
            problems.append(R.keys_issue(f'cache["{key}"]', sub, ELMAN_CACHE, kind="the cache of rnn_forward")
                            or R.cache_issue(f'cache["{key}"]', sub, dict(zip(ELMAN_CACHE, entries)), hints={
                                "h": {"the backward cell's states were stored in the original time order; "
                                      "keep rnn_forward's cache as it is (reversed time)": want[:, :, H:]},
                                "x": {"the backward cell's input was stored in the original time order; "
                                      "keep rnn_forward's cache as it is (reversed time)": x}}))
    return verdict(modified_issue(case, result, ("x", "h0", "params_fwd", "params_bwd")), *problems)


def _birnn_backward_cases(seed):
    rng = np.random.default_rng(seed)
    # birnn_backward only passes the batch on to the given rnn_backward: an empty batch tests nothing of it
    specs = [s for s in _birnn_specs() if s[2] > 0] + [
        ("gradient check against centred differences: T=3, N=2, D=3, H=4", 3, 2, 3, 4, {"oracle": "centred"}, 1.0)]
    out = []
    for name, T, N, D, H, knobs, w in specs:
        x, h0, pf, pb = _birnn_inputs(rng, T, N, D, H, knobs)
        ref = _birnn_reference(x, h0, pf, pb)["out"]
        cache = {"fwd": {"x": x, "h0": h0[0], "h": ref[:, :, :H].copy(), "params": pf},
                 "bwd": {"x": x[::-1].copy(), "h0": h0[1], "h": ref[::-1, :, H:].copy(), "params": pb}}
        dout = rng.normal(0, 1, ref.shape)
        out.append(Case(name, "birnn_backward", (dout, cache), weight=w,
                        meta={"oracle": knobs.get("oracle", "autograd"), "h0": h0}))
    return out


def _birnn_backward_verdict(case, result):
    dout, cache = case.args
    x, h0 = cache["fwd"]["x"], case.meta["h0"]
    pf, pb = cache["fwd"]["params"], cache["bwd"]["params"]
    value, problem = unpack(result.value, 4, "birnn_backward")
    if problem:
        return verdict(problem)
    dx, dh0, gf, gb = value
    if case.meta["oracle"] == "centred":
        num = memo(case, "num", lambda: _birnn_numerical(x, h0, pf, pb, dout))
        ref = memo(case, "ref", lambda: _birnn_reference(x, h0, pf, pb, dout))
        problems = [R.gradcheck_issue("dx", dx, num["x"]), R.gradcheck_issue("dh0", dh0, num["h0"]),
                    R.grads_issue("grads_fwd", gf, ref["grads"]["fwd"]), R.grads_issue("grads_bwd", gb, ref["grads"]["bwd"])]
    else:
        ref = memo(case, "ref", lambda: _birnn_reference(x, h0, pf, pb, dout))
        hx, hh, hb = memo(case, "hints", lambda: _birnn_backward_hints(dout, x, h0, pf, pb))
        problems = [R.array_issue("dx", dx, ref["dx"], hints=hx), R.array_issue("dh0", dh0, ref["dh0"], hints=hh),
                    R.grads_issue("grads_fwd", gf, ref["grads"]["fwd"]),
                    R.grads_issue("grads_bwd", gb, ref["grads"]["bwd"], hints=hb)]
    return verdict(modified_issue(case, result, ("dout", "cache")), *problems)


# -- teacher forcing -----------------------------------------------------------------

TEACHER_CACHE = ("x", "fed", "h", "y", "params")


def _teacher_torch(x, fed, p):
    """Teacher-forced Jordan forward on tensors, step t reading fed[t].

    Returns y (T, N, K), h (T, N, H); the steps do not depend on each other, so every
    step is computed at once.
    """
    torch = R.torch()
    F = torch.nn.functional
    a = F.linear(x, p["W_ih"], p["b_ih"]) + F.linear(fed, p["W_yh"], p["b_hh"])
    h = torch.tanh(a)
    return torch.softmax(F.linear(h, p["W_hy"], p["b_y"]), dim=-1), h


def _teacher_reference(x, fed, params, dy=None):
    """{"y", "h"}; with ``dy`` also the autograd gradients of sum(y * dy) under "grads"
    (fed is held constant: it is data)."""
    leaves = R.tensors({"x": x, **params}, requires_grad=dy is not None)
    y, h = _teacher_torch(leaves["x"], R.tensors({"fed": fed})["fed"], leaves)
    out = {"y": y.detach().numpy(), "h": h.detach().numpy()}
    if dy is not None:
        (y * R.torch().from_numpy(dy)).sum().backward()
        out["grads"] = {k: v.grad.numpy() for k, v in leaves.items()}
    return out


def _teacher_inputs_reference(targets, K):
    torch = R.torch()
    fed = torch.zeros(targets.shape + (K,), dtype=torch.float64)
    fed[1:] = torch.nn.functional.one_hot(torch.from_numpy(targets[:-1]), K).double()
    return fed.numpy()


def _teacher_inputs_cases(seed):
    rng = np.random.default_rng(seed)

    def case(name, T, N, K, high=None, weight=1.0):
        targets = rng.integers(0, high or K, (T, N))
        return Case(name, "teacher_inputs", (targets, K), weight=weight)

    def error(name, targets, K):
        return Case(name, "teacher_inputs", (np.array(targets), K), weight=0.5,
                    meta={"expects_error": True})

    return [
        case("T=6, N=3, K=3", 6, 3, 3, weight=2.0),
        case("T=1: only the zero vector", 1, 4, 3),
        case("N=1, T=9, K=5", 9, 1, 5),
        case("K=4 but the labels only reach 1 (K comes from the argument)", 5, 3, 4,
             high=2),
        case("K=2, T=12, N=2", 12, 2, 2),
        error("a label equal to K raises ValueError", [[0, 1], [3, 2]], 3),
        error("a negative label raises ValueError", [[0, -1]], 3),
    ]


def _teacher_inputs_verdict(case, result):
    if case.meta.get("expects_error"):
        return R.expects_value_error(case, result, "a label outside [0, K)")
    targets, K = case.args
    want = memo(case, "want", lambda: _teacher_inputs_reference(targets, K))
    hints = {
        "off by one in time: fed[t] holds the one-hot label of step t, not t-1":
            np.eye(K)[targets],
        "fed[0] holds the first label instead of the zero vector":
            np.concatenate([np.eye(K)[targets[:1]], want[1:]]),
    }
    return verdict(R.array_issue("fed", result.value, want, hints=hints),
                   modified_issue(case, result, ("targets", "K")))


def _teacher_specs():
    """The Jordan cases of the other checks, minus the one about the previous output."""
    return [spec for spec in _jordan_specs()
            if "one-hot previous output" not in spec[0]]


def _teacher_args(rng, T, N, D, H, K, knobs):
    x, _, params = _jordan_inputs(rng, T, N, D, H, K, knobs, False)
    fed = _teacher_inputs_reference(rng.integers(0, K, (T, N)), K)
    return x, fed, params


def _teacher_forward_cases(seed):
    rng = np.random.default_rng(seed)
    cases = []
    for what, T, N, D, H, K, knobs, w in _teacher_specs():
        args = _teacher_args(rng, T, N, D, H, K, knobs)
        name = _name(what, False, T, N, D, H, K)
        cases.append(Case(name, "jordan_forward_teacher", args, weight=w))
    return cases


def _teacher_forward_verdict(case, result):
    x, fed, params = case.args
    ref = memo(case, "ref", lambda: _teacher_reference(x, fed, params))
    value, problem = unpack(result.value, 2, case.func)
    if problem:
        return verdict(problem)
    y, cache = value
    hints = {}
    if x.shape[0] > 1 and x.shape[1] > 0:
        own = _jordan_reference(x, fed[0], params)["y"]
        ahead = _teacher_reference(x, np.concatenate([fed[1:], fed[-1:]]), params)["y"]
        hints["the network fed back its own outputs (free running), not fed[t]"] = own
        hints["step t read fed[t+1]: fed[t] is already the previous label"] = ahead
    want_cache = dict(zip(TEACHER_CACHE, (x, fed, ref["h"], ref["y"], params)))
    return verdict(
        modified_issue(case, result, ("x", "fed", "params")),
        R.array_issue("y", y, ref["y"], hints=hints),
        R.cache_issue("cache", cache, want_cache),
    )


def _teacher_backward_cases(seed):
    rng = np.random.default_rng(seed)
    centred = ("gradient check against centred differences", 3, 2, 3, 4, 3,
               {"oracle": "centred"}, 1.0)
    out = []
    for what, T, N, D, H, K, knobs, w in _teacher_specs() + [centred]:
        x, fed, params = _teacher_args(rng, T, N, D, H, K, knobs)
        ref = _teacher_reference(x, fed, params)
        dy = rng.normal(0, 1, ref["y"].shape)
        cache = {"x": x, "fed": fed, "h": ref["h"], "y": ref["y"], "params": params}
        out.append(Case(_name(what, False, T, N, D, H, K), "jordan_backward_teacher",
                        (dy, cache), weight=w,
                        meta={"oracle": knobs.get("oracle", "autograd")}))
    return out


def _teacher_carry_hints(dy, cache):
    """What a backward that carries dy_prev to the step before (as jordan_backward
    does) would return: ({cause: dx}, {key: {cause: grads[key]}})."""
    x, fed, h, y, p = (cache[k] for k in TEACHER_CACHE)
    dx, grads = np.empty(x.shape), {k: np.zeros_like(v) for k, v in p.items()}
    carry = np.zeros(fed.shape[1:])
    for t in reversed(range(x.shape[0])):
        g = dy[t] + carry
        dz = y[t] * (g - np.sum(g * y[t], axis=1, keepdims=True))
        da = (dz @ p["W_hy"]) * (1.0 - h[t] ** 2)
        dx[t], carry = da @ p["W_ih"], da @ p["W_yh"]
        step = {"W_ih": da.T @ x[t], "W_yh": da.T @ fed[t], "b_ih": da.sum(0),
                "b_hh": da.sum(0), "W_hy": dz.T @ h[t], "b_y": dz.sum(0)}
        for k in grads:
            grads[k] += step[k]
    cause = ("a gradient was carried to the step before: the fed vectors are data, "
             "no gradient flows between steps")
    return {cause: dx}, {k: {cause: grads[k]} for k in grads}


def _teacher_numerical(dy, x, fed, params):
    """Centred differences of sum(y * dy) through the torch forward (no autograd)."""
    torch = R.torch()
    fed_t = R.tensors({"fed": fed})["fed"]

    def loss(arrays):
        with torch.no_grad():
            t = R.tensors(arrays)
            y, _ = _teacher_torch(t["x"], fed_t, t)
            return float((y * torch.from_numpy(dy)).sum())

    return R.numerical_grads(loss, {"x": x, **params})


def _teacher_backward_verdict(case, result):
    dy, cache = case.args
    value, problem = unpack(result.value, 2, case.func)
    if problem:
        return verdict(problem)
    dx, grads = value
    x, fed, params = cache["x"], cache["fed"], cache["params"]
    if case.meta["oracle"] == "centred":
        num = memo(case, "num", lambda: _teacher_numerical(dy, x, fed, params))
        problems = [R.gradcheck_issue("dx", dx, num["x"])]
        problems += R.grads_gradcheck_issues(grads, num, JORDAN_PARAMS)
    else:
        ref = memo(case, "ref", lambda: _teacher_reference(x, fed, params, dy))["grads"]
        hx, hg = ({}, {})
        if x.shape[1]:
            hx, hg = memo(case, "hints", lambda: _teacher_carry_hints(dy, cache))
        want = {k: ref[k] for k in JORDAN_PARAMS}
        problems = [R.array_issue("dx", dx, ref["x"], hints=hx),
                    R.grads_issue("grads", grads, want, hints=hg)]
    return verdict(modified_issue(case, result, ("dy", "cache")), *problems)


CHECKS = {
    "jordan_step_forward": Check(_jordan_forward_cases(True), _jordan_forward_verdict(True),
                                 "jordan_step_forward against a torch float64 Jordan step", seed=31),
    "jordan_step_backward": Check(_jordan_backward_cases(True), _jordan_backward_verdict(True),
                                  "jordan_step_backward against torch autograd and centred differences", seed=32),
    "jordan_forward": Check(_jordan_forward_cases(False), _jordan_forward_verdict(False),
                            "jordan_forward against a torch float64 Jordan loop", seed=33),
    "jordan_backward": Check(_jordan_backward_cases(False), _jordan_backward_verdict(False),
                             "jordan_backward against torch autograd and centred differences", seed=34),
    "birnn_forward": Check(_birnn_forward_cases, _birnn_forward_verdict,
                           "birnn_forward against torch.nn.RNN(bidirectional=True)", seed=35),
    "birnn_backward": Check(_birnn_backward_cases, _birnn_backward_verdict,
                            "birnn_backward against torch autograd and centred differences", seed=36),
    "teacher_inputs": Check(
        _teacher_inputs_cases, _teacher_inputs_verdict,
        "teacher_inputs: zeros, then the one-hot previous label; ValueError outside "
        "[0, K)",
        seed=37),
    "jordan_forward_teacher": Check(
        _teacher_forward_cases, _teacher_forward_verdict,
        "jordan_forward_teacher against a torch float64 teacher-forced Jordan layer",
        seed=38),
    "jordan_backward_teacher": Check(
        _teacher_backward_cases, _teacher_backward_verdict,
        "jordan_backward_teacher against torch autograd (fed constant) and centred "
        "differences",
        seed=39),
}
