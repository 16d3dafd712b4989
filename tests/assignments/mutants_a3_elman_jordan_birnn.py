"""Mutants and alternatives of assignment 3 (Jordan cell, bidirectional wrapper).

Every mutant is a plausible student mistake, written as an exact replacement in the solution
code or as a replacement function; every alternative is a correct rewrite that must keep full
marks. The experiment cell (training ten Jordan networks) is left out: no hidden check
reads it.
"""

import numpy as np

from harness import Alternative, Mutant

SKIP_CELLS = ("experiment",)

_A = 'a = x @ params["W_ih"].T + params["b_ih"] + y_prev @ params["W_yh"].T + params["b_hh"]  # (N, H)'
_Y = 'y_next = softmax(h @ params["W_hy"].T + params["b_y"])  # (N, K)'
_DZ = "dz = y * (dy_next - np.sum(dy_next * y, axis=1, keepdims=True))  # softmax Jacobian, (N, K)"
_DA = 'da = (dz @ p["W_hy"]) * (1.0 - h ** 2)                           # through tanh, (N, H)'
_STEP_BACK = "dx[t], carry, g = jordan_step_backward(dy[t] + carry, step)"
_CAT = "out = np.concatenate([h_fwd, h_bwd[::-1]], axis=2)"
_BWD_FWD = "h_bwd, cache_bwd = rnn_forward(x[::-1], h0[1], params_bwd)"
_BWD_BACK = 'dx_bwd, dh0_bwd, grads_bwd = rnn_backward(dout[::-1, :, H:], cache["bwd"])'
_FWD_BACK = 'dx_fwd, dh0_fwd, grads_fwd = rnn_backward(dout[:, :, :H], cache["fwd"])'
_FED = "fed[1:] = np.eye(K)[targets[:-1]]   # step t reads the label of step t-1"
_TF_STEP = "y[t], step = jordan_step_forward(x[t], fed[t], params)"
_TF_STEP_BACK = "dx[t], _, g = jordan_step_backward(dy[t], step)"
_TF_SUM = "grads = {k: grads[k] + g[k] for k in grads}"
_TF_LOOP = """    for t in range(x.shape[0]):
        step = {"x": x[t], "y_prev": fed[t], "h": h[t], "y": y[t], "params": p}
        # dy_prev goes nowhere: fed[t] is data, not the output of step t-1
        dx[t], _, g = jordan_step_backward(dy[t], step)
        grads = {k: grads[k] + g[k] for k in grads}
"""
_RANGE = "if np.any((targets < 0) | (targets >= K)):"


def _in_place_forward(ns):
    """jordan_forward that writes each output into the caller's y0 (y_prev aliases y0)."""
    step_forward = ns["jordan_step_forward"]

    def jordan_forward(x, y0, params):
        T, N, _ = x.shape
        K, H = params["W_hy"].shape
        h, y = np.empty((T, N, H)), np.empty((T, N, K))
        y_prev = y0
        for t in range(T):
            y[t], step = step_forward(x[t], y_prev.copy(), params)
            h[t] = step["h"]
            y_prev[...] = y[t]
        return y, {"x": x, "y0": y0, "h": h, "y": y, "params": params}

    return jordan_forward


def _inline_jordan_forward(minus_one=False):
    """A forward that does not call the step function and projects all inputs at once.

    minus_one : reshape the projection with -1, which numpy cannot infer when N = 0.
    """
    def factory(ns):
        return jordan_forward

    def jordan_forward(x, y0, params):
        T, N, D = x.shape
        if T == 0:
            raise ValueError("x must have at least one time step")
        H = -1 if minus_one else params["W_ih"].shape[0]
        xw = (x.reshape(T * N, D) @ params["W_ih"].T).reshape(T, N, H) + params["b_ih"] + params["b_hh"]
        hs, ys, y_prev = [], [], y0
        for t in range(T):
            h = np.tanh(xw[t] + y_prev @ params["W_yh"].T)
            z = h @ params["W_hy"].T + params["b_y"]
            e = np.exp(z - z.max(axis=1, keepdims=True))
            y_prev = e / e.sum(axis=1, keepdims=True)
            hs.append(h)
            ys.append(y_prev)
        y = np.stack(ys)
        return y, {"x": x, "y0": y0, "h": np.stack(hs), "y": y, "params": params}

    return factory


# The T = 0 check of jordan_forward (rnnlab refuses a sequence of no step).
NO_STEP_CHECK = '    if T == 0:\n        raise ValueError(f"x must have at least one time step (T >= 1), got shape {x.shape}")\n'

MUTANTS = [
    # jordan_step_forward
    Mutant("sigmoid output instead of softmax", replace=((_Y, 'z = h @ params["W_hy"].T + params["b_y"]\n    y_next = 1 / (1 + np.exp(-z))'),),
           kills=("jordan_step_forward", "jordan_forward")),
    Mutant("softmax over the batch axis", replace=((_Y, 'y_next = softmax(h @ params["W_hy"].T + params["b_y"], axis=0)'),)),
    Mutant("missing bias b_hh", replace=((_A, 'a = x @ params["W_ih"].T + params["b_ih"] + y_prev @ params["W_yh"].T'),)),
    Mutant("missing bias b_y", replace=((_Y, 'y_next = softmax(h @ params["W_hy"].T)'),)),
    Mutant("transposed W_yh", replace=(('y_prev @ params["W_yh"].T', 'y_prev @ params["W_yh"]'),),
           kills=("jordan_step_forward",)),
    Mutant("no tanh in the hidden layer", replace=(("h = np.tanh(a)", "h = a"),)),
    Mutant("previous output not fed back", replace=(('+ y_prev @ params["W_yh"].T', ""),)),
    Mutant("float32 precision loss in the step",
           replace=((_A, 'a = (x.astype(np.float32) @ params["W_ih"].T.astype(np.float32)) + params["b_ih"]'
                         ' + y_prev @ params["W_yh"].T + params["b_hh"]'),),
           kills=("jordan_step_forward",)),
    # jordan_forward
    Mutant("Jordan feeding back h (an Elman cell)", replace=(("y_prev = y[t]\n", "y_prev = h[t]\n"),),
           kills=("jordan_forward",)),
    Mutant("output not carried: every step feeds back y0", replace=(("y_prev = y[t]\n", "y_prev = y0\n"),)),
    Mutant("off by one in time: step t reads x[t-1]",
           replace=(("jordan_step_forward(x[t], y_prev, params)", "jordan_step_forward(x[t - 1], y_prev, params)"),)),
    Mutant("in-place: outputs written into the caller's y0", patch={"jordan_forward": _in_place_forward},
           kills=("jordan_forward",)),
    # jordan_step_backward
    Mutant("softmax Jacobian skipped", replace=((_DZ, "dz = dy_next"),), kills=("jordan_step_backward",)),
    Mutant("tanh derivative missing", replace=((_DA, 'da = dz @ p["W_hy"]'),)),
    Mutant("transposed W_ih in dx", replace=(('dx = da @ p["W_ih"]', 'dx = da @ p["W_ih"].T'),)),
    Mutant("bias gradient averaged over the batch", replace=(("db = da.sum(axis=0)", "db = da.mean(axis=0)"),)),
    Mutant("dy_prev through W_yh transposed", replace=(('dy_prev = da @ p["W_yh"]', 'dy_prev = da @ p["W_yh"].T'),)),
    Mutant("float32 precision loss in the backward step",
           replace=((_DA, 'da = (dz.astype(np.float32) @ p["W_hy"].astype(np.float32)) * (1.0 - h ** 2)'),),
           kills=("jordan_step_backward",)),
    # jordan_backward
    Mutant("gradient not carried through the feedback", replace=((_STEP_BACK, "dx[t], carry, g = jordan_step_backward(dy[t], step)"),),
           kills=("jordan_backward",)),
    Mutant("weight gradients overwritten, not summed over time", replace=(("grads[k] += g[k]", "grads[k] = g[k]"),)),
    Mutant("off by one in time: dW_yh pairs step t with y[t]",
           replace=(("y_prev = y[t - 1] if t > 0 else y0", "y_prev = y[t]"),)),
    Mutant("dy0 is dy[0]", replace=(("dy0 = carry", "dy0 = dy[0]"),)),
    Mutant("in-place: the carried gradient added into dy",
           replace=((_STEP_BACK, "g_t = dy[t]\n        g_t += carry\n        dx[t], carry, g = jordan_step_backward(g_t, step)"),),
           kills=("jordan_backward",)),
    # birnn_forward
    Mutant("backward direction not reversed back", replace=((_CAT, "out = np.concatenate([h_fwd, h_bwd], axis=2)"),),
           kills=("birnn_forward",)),
    Mutant("backward cell reads x forwards", replace=((_BWD_FWD, "h_bwd, cache_bwd = rnn_forward(x, h0[1], params_bwd)"),)),
    Mutant("halves in the wrong order", replace=((_CAT, "out = np.concatenate([h_bwd[::-1], h_fwd], axis=2)"),)),
    Mutant("directions stacked on a new axis", replace=((_CAT, "out = np.stack([h_fwd, h_bwd[::-1]], axis=2)"),)),
    Mutant("h0[0] and h0[1] swapped", replace=(("h0[0], params_fwd", "h0[1], params_fwd"), ("x[::-1], h0[1]", "x[::-1], h0[0]"))),
    Mutant("float32 output", replace=((_CAT, _CAT + ".astype(np.float32)"),), kills=("birnn_forward",)),
    # birnn_backward
    Mutant("backward dx not reversed back", replace=(("dx = dx_fwd + dx_bwd[::-1]", "dx = dx_fwd + dx_bwd"),),
           kills=("birnn_backward",)),
    Mutant("upstream gradient of the backward half not reversed",
           replace=((_BWD_BACK, 'dx_bwd, dh0_bwd, grads_bwd = rnn_backward(dout[:, :, H:], cache["bwd"])'),)),
    Mutant("halves of dout swapped",
           replace=((_FWD_BACK, 'dx_fwd, dh0_fwd, grads_fwd = rnn_backward(dout[:, :, H:], cache["fwd"])'),
                    (_BWD_BACK, 'dx_bwd, dh0_bwd, grads_bwd = rnn_backward(dout[::-1, :, :H], cache["bwd"])'))),
    Mutant("dx from the forward direction only", replace=(("dx = dx_fwd + dx_bwd[::-1]", "dx = dx_fwd"),)),
    Mutant("in-place: dout reversed in place",
           replace=((_BWD_BACK, 'dout[:, :, H:] = dout[::-1, :, H:]\n'
                                '    dx_bwd, dh0_bwd, grads_bwd = rnn_backward(dout[:, :, H:], cache["bwd"])'),),
           kills=("birnn_backward",)),
    # returned caches: every entry is compared, not only the keys
    Mutant("step cache holds y_next as y_prev", replace=(('cache = dict(x=x, y_prev=y_prev, h=h, y=y_next, params=params)', 'cache = dict(x=x, y_prev=y_next, h=h, y=y_next, params=params)'),),
           kills=("jordan_step_forward",)),
    Mutant("sequence cache holds the last output as y0", replace=(('cache = dict(x=x, y0=y0, h=h, y=y, params=params)', 'cache = dict(x=x, y0=y_prev, h=h, y=y, params=params)'),),
           kills=("jordan_forward",)),
    Mutant("sequence cache holds the last hidden state at every step",
           replace=(('cache = dict(x=x, y0=y0, h=h, y=y, params=params)', 'cache = dict(x=x, y0=y0, h=np.broadcast_to(h[-1], h.shape), y=y, params=params)'),),
           kills=("jordan_forward",)),
    Mutant("backward direction's cache keeps x in the original order",
           replace=(('cache = dict(fwd=cache_fwd, bwd=cache_bwd)', "cache = dict(fwd=cache_fwd, bwd=dict(cache_bwd, x=x))"),), kills=("birnn_forward",)),
    Mutant("backward direction's cache holds the forward h0",
           replace=(('cache = dict(fwd=cache_fwd, bwd=cache_bwd)', 'cache = dict(fwd=cache_fwd, bwd=dict(cache_bwd, h0=h0[0]))'),), kills=("birnn_forward",)),
    # empty batches (N = 0)
    Mutant("forward projects the inputs with reshape(T, N, -1) (fails on N=0)",
           patch={"jordan_forward": _inline_jordan_forward(minus_one=True)}, kills=("jordan_forward",)),
    Mutant("step reshapes y_prev with -1 (fails on N=0)",
           replace=(('y_prev @ params["W_yh"].T', 'y_prev.reshape(x.shape[0], -1) @ params["W_yh"].T'),),
           kills=("jordan_step_forward", "jordan_forward")),
    Mutant("jordan_forward returns empty arrays for T=0",
           replace=((NO_STEP_CHECK, ""),), kills=("jordan_forward",)),
    # teacher_inputs
    Mutant("teacher feeds the label of the same step",
           replace=((_FED, "fed[1:] = np.eye(K)[targets[1:]]"),),
           kills=("teacher_inputs",)),
    Mutant("teacher's first input is the first label",
           replace=((_FED, "fed[:] = np.eye(K)[targets]"),), kills=("teacher_inputs",)),
    Mutant("K taken from the largest label",
           replace=(("fed = np.zeros((T, N, K))",
                     "K = int(targets.max()) + 1\n    fed = np.zeros((T, N, K))"),),
           kills=("teacher_inputs",)),
    Mutant("no range check on the labels", replace=((_RANGE, "if False:"),),
           kills=("teacher_inputs",)),
    Mutant("negative labels accepted", replace=((_RANGE, "if np.any(targets >= K):"),),
           kills=("teacher_inputs",)),
    # jordan_forward_teacher
    Mutant("teacher-forced forward feeds back its own output", replace=((_TF_STEP, (
        "y[t], step = jordan_step_forward(\n"
        "            x[t], fed[0] if t == 0 else y[t - 1], params)")),),
           kills=("jordan_forward_teacher",)),
    Mutant("teacher-forced forward reads fed[t+1]", replace=((_TF_STEP, (
        "y[t], step = jordan_step_forward(x[t], fed[min(t + 1, T - 1)], params)")),),
           kills=("jordan_forward_teacher",)),
    Mutant("teacher-forced cache without h",
           replace=(("cache = dict(x=x, fed=fed, h=h, y=y, params=params)",
                     "cache = dict(x=x, fed=fed, y=y, params=params)"),),
           kills=("jordan_forward_teacher",)),
    # jordan_backward_teacher
    Mutant("teacher-forced backward carries dy_prev to the step before",
           replace=((_TF_LOOP, _TF_LOOP
                     .replace("for t in range(x.shape[0]):",
                              "for t in reversed(range(x.shape[0])):")
                     .replace(_TF_STEP_BACK, "dx[t], carry, g = "
                              "jordan_step_backward(dy[t] + carry, step)")
                     .replace("    for t", "    carry = 0.0\n    for t")),),
           kills=("jordan_backward_teacher",)),
    Mutant("teacher-forced backward keeps only the last step's gradients",
           replace=((_TF_SUM, "grads = {k: g[k] for k in grads}"),),
           kills=("jordan_backward_teacher",)),
    Mutant("teacher-forced backward reads the previous step's fed vector",
           replace=(('"y_prev": fed[t], "h": h[t]',
                     '"y_prev": fed[t - 1], "h": h[t]'),),
           kills=("jordan_backward_teacher",)),
]


def _vectorised_jordan_backward(ns):
    """BPTT that keeps da and dz of every step and computes the weight gradients at the end."""
    def jordan_backward(dy, cache):
        x, y0, h, y, p = cache["x"], cache["y0"], cache["h"], cache["y"], cache["params"]
        T = x.shape[0]
        dz, da = np.empty_like(y), np.empty_like(h)
        carry = np.zeros_like(y0)
        for t in range(T - 1, -1, -1):
            g = dy[t] + carry
            dz[t] = y[t] * g - y[t] * np.einsum("nk,nk->n", g, y[t])[:, None]
            da[t] = (dz[t] @ p["W_hy"]) * (1.0 - h[t] * h[t])
            carry = da[t] @ p["W_yh"]
        y_prev = np.concatenate([y0[None], y[:-1]])
        db = np.einsum("tnh->h", da)
        grads = {"W_ih": np.einsum("tnh,tnd->hd", da, x), "W_yh": np.einsum("tnh,tnk->hk", da, y_prev),
                 "b_ih": db, "b_hh": db, "W_hy": np.einsum("tnk,tnh->kh", dz, h), "b_y": dz.sum(axis=(0, 1))}
        return np.einsum("tnh,hd->tnd", da, p["W_ih"]), carry, grads

    return jordan_backward


ALTERNATIVES = [
    Alternative("one stacked weight [W_ih W_yh] on [x ; y_prev]",
                replace=((_A, 'a = np.concatenate([x, y_prev], axis=1) @ np.concatenate([params["W_ih"], params["W_yh"]], axis=1).T'
                              ' + (params["b_ih"] + params["b_hh"])'),)),
    Alternative("softmax Jacobian as an explicit (N, K, K) matrix",
                replace=((_DZ, 'J = np.einsum("nk,kj->nkj", y, np.eye(y.shape[1])) - np.einsum("nk,nj->nkj", y, y)\n'
                               '    dz = np.einsum("nkj,nj->nk", J, dy_next)'),)),
    Alternative("tanh derivative factored as (1 - h)(1 + h)",
                replace=((_DA, 'da = (dz @ p["W_hy"]) * (1.0 - h) * (1.0 + h)'),)),
    Alternative("vectorised BPTT with einsum", patch={"jordan_backward": _vectorised_jordan_backward}),
    Alternative("forward without the step function", patch={"jordan_forward": _inline_jordan_forward()}),
    Alternative("np.flip instead of [::-1]",
                replace=(("rnn_forward(x[::-1], h0[1], params_bwd)", "rnn_forward(np.flip(x, axis=0), h0[1], params_bwd)"),
                         (_CAT, "out = np.concatenate([h_fwd, np.flip(h_bwd, axis=0)], axis=-1)"),
                         ("dout[::-1, :, H:]", "np.flip(dout[:, :, H:], axis=0).copy()"),
                         ("dx = dx_fwd + dx_bwd[::-1]", "dx = np.add(dx_fwd, np.flip(dx_bwd, axis=0))"))),
    Alternative("shared bias gradient array", replace=(('"b_hh": db.copy()', '"b_hh": db'),)),
    Alternative("caches hold extra entries and copies",
                replace=(('cache = dict(x=x, y_prev=y_prev, h=h, y=y_next, params=params)', "cache = dict(x=x.copy(), y_prev=y_prev.copy(), h=h, y=y_next, params=params, a=a)"),
                         ('cache = dict(x=x, y0=y0, h=h, y=y, params=params)', "cache = dict(x=x, y0=y0, h=h.copy(), y=y, params=dict(params), T=T)"),
                         ('cache = dict(fwd=cache_fwd, bwd=cache_bwd)', "cache = dict(fwd=cache_fwd, bwd=cache_bwd, out=out)"))),
    Alternative("teacher inputs by a loop over time", replace=((_FED, (
        "for t in range(1, T):\n"
        "        fed[t, np.arange(N), targets[t - 1]] = 1.0")),)),
    Alternative("teacher-forced forward without the step function",
                replace=((_TF_STEP + '\n        h[t] = step["h"]', (
                    'h[t] = np.tanh(x[t] @ params["W_ih"].T + params["b_ih"]\n'
                    '                      + fed[t] @ params["W_yh"].T\n'
                    '                      + params["b_hh"])\n'
                    '        y[t] = softmax(h[t] @ params["W_hy"].T\n'
                    '                       + params["b_y"])')),)),
    Alternative("teacher-forced backward vectorised over time", replace=((_TF_LOOP, """\
    dz = y * (dy - np.sum(dy * y, axis=2, keepdims=True))          # (T, N, K)
    da = (dz @ p["W_hy"]) * (1.0 - h ** 2)                          # (T, N, H)
    dx = da @ p["W_ih"]
    grads = {"W_ih": np.einsum("tnh,tnd->hd", da, x),
             "W_yh": np.einsum("tnh,tnk->hk", da, fed),
             "b_ih": da.sum(axis=(0, 1)), "b_hh": da.sum(axis=(0, 1)),
             "W_hy": np.einsum("tnk,tnh->kh", dz, h), "b_y": dz.sum(axis=(0, 1))}
"""),)),
]

# A solution calling the course's reference implementation (test_release: no points for it).
SHORTCUT = Mutant("jordan_backward from rnnlab", replace=((
    '    x, y0, h, y, p = cache["x"], cache["y0"], cache["h"], cache["y"], cache["params"]',
    '    import rnnlab.jordan as J\n'
    '    _, ref = J.jordan_forward(cache["x"], cache["y0"], cache["params"])\n'
    '    return J.jordan_backward(dy, ref)\n'
    '    x, y0, h, y, p = cache["x"], cache["y0"], cache["h"], cache["y"], cache["params"]'),),
                  kills=("jordan_backward",))
