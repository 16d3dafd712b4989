"""Hidden checks of assignment 2, "Backpropagation through time" (solutions/a2_bptt).

Graded functions (the notebook states their contracts; the forward pass is given):

    rnn_step_backward(dh_next, cache) -> (dx, dh_prev, grads)
        cache = {"x" (N, D), "h_prev" (N, H), "h_next" (N, H), "params"}
    rnn_backward(dh, cache, truncate=None) -> (dx, dh0, grads)
        cache = {"x" (T, N, D), "h0" (N, H), "h" (T, N, H), "params"}; truncate=k: the gradient
        entering at step t flows back through steps t, ..., t-k+1 only (rnnlab.rnn.rnn_backward's rule)
    softmax_cross_entropy(logits, targets, mask) -> (loss, dlogits)     mean over kept positions
    clip_grad_norm(grads, max_norm) -> (clipped, total_norm)            global norm, PyTorch's formula
    grad_norms_over_time(dh_last, cache) -> norms (T,)                  ||dL/dh_t|| for L = sum(dh_last * h[T-1])

``params`` and ``grads`` are dicts with keys W_ih (H, D), W_hh (H, H), b_ih (H,), b_hh (H,).
References are independent of rnnlab and of the solution: PyTorch float64 autograd through
``nn.RNNCell`` / ``nn.RNN`` / ``F.cross_entropy`` / ``clip_grad_norm_``, plus centred
differences of a forward pass written here for the gradient-check cases.
"""

from __future__ import annotations

import numpy as np

from autograder.checks._common import (array_issue, centred_difference, grads_issue, memo, modified_issue,
                                       rel_error, scalar_issue, unpack, verdict)
from autograder.checks.base import DEFAULT_FORBIDDEN, Case, Check, Verdict

FORBIDDEN = DEFAULT_FORBIDDEN + (
    "rnnlab.optim.global_norm", "rnnlab.torch_bridge", "rnnlab.tagger", "rnnlab.layers",
    "rnnlab.activations.softmax",
)

PARAM_NAMES = ("W_ih", "W_hh", "b_ih", "b_hh")
GRADCHECK_TOL = 1e-6  # centred differences with eps=1e-6 agree to about 1e-9 on these sizes


def _torch():
    import torch

    torch.set_num_threads(1)
    return torch


def _params(rng, D, H, scale=0.5):
    return {"W_ih": rng.normal(0, scale, (H, D)), "W_hh": rng.normal(0, scale, (H, H)),
            "b_ih": rng.normal(0, scale, H), "b_hh": rng.normal(0, scale, H)}


def _np_forward(x, h0, p):
    """tanh Elman forward in numpy: the function the centred differences differentiate."""
    h, h_prev = np.empty((x.shape[0],) + h0.shape), h0
    for t in range(x.shape[0]):
        h[t] = h_prev = np.tanh(x[t] @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"])
    return h


# -- PyTorch references ----------------------------------------------------------------------------

def _cell(params):
    torch = _torch()
    H, D = params["W_ih"].shape
    cell = torch.nn.RNNCell(D, H, dtype=torch.float64)
    with torch.no_grad():
        for name in PARAM_NAMES:
            key = ("weight_" if name[0] == "W" else "bias_") + name.split("_")[1]
            getattr(cell, key).copy_(torch.from_numpy(params[name]))
    return cell


def _cell_grads(cell):
    return {name: getattr(cell, ("weight_" if name[0] == "W" else "bias_") + name.split("_")[1]).grad.numpy()
            for name in PARAM_NAMES}


def _step_reference(dh_next, cache):
    torch = _torch()
    cell = _cell(cache["params"])
    x = torch.tensor(cache["x"], requires_grad=True)
    h_prev = torch.tensor(cache["h_prev"], requires_grad=True)
    (cell(x, h_prev) * torch.from_numpy(dh_next)).sum().backward()
    return x.grad.numpy(), h_prev.grad.numpy(), _cell_grads(cell)


def _sequence_reference(dh, cache, truncate=None):
    """Full BPTT through nn.RNN, or the truncated rule rebuilt window by window with nn.RNNCell."""
    torch = _torch()
    x_np, h0_np, params = cache["x"], cache["h0"], cache["params"]
    T = x_np.shape[0]
    x = torch.tensor(x_np, requires_grad=True)
    h0 = torch.tensor(h0_np, requires_grad=True)
    dh_t = torch.from_numpy(dh)
    if truncate is None or truncate >= T:
        H, D = params["W_ih"].shape
        rnn = torch.nn.RNN(D, H, dtype=torch.float64)
        with torch.no_grad():
            for name in PARAM_NAMES:
                key = ("weight_" if name[0] == "W" else "bias_") + name.split("_")[1] + "_l0"
                getattr(rnn, key).copy_(torch.from_numpy(params[name]))
        out, _ = rnn(x, h0[None])
        (out * dh_t).sum().backward()
        grads = {name: getattr(rnn, ("weight_" if name[0] == "W" else "bias_") + name.split("_")[1] + "_l0").grad.numpy()
                 for name in PARAM_NAMES}
        return x.grad.numpy(), h0.grad.numpy(), grads
    cell = _cell(params)
    states = torch.from_numpy(cache["h"])  # constants: the window's oldest input state is not differentiated
    total = 0.0
    for t in range(T):
        start = max(0, t - truncate + 1)
        h = h0 if start == 0 else states[start - 1]
        for u in range(start, t + 1):
            h = cell(x[u], h)
        total = total + (h * dh_t[t]).sum()
    total.backward()
    return x.grad.numpy(), h0.grad.numpy(), _cell_grads(cell)


# -- numpy variants: known wrong answers, for the likely causes --------------------------------------

def _np_bptt(dh, cache, how):
    """Backward passes with one known mistake each (how: 'no_carry', 'last_only', 'transposed', 'no_tanh')."""
    x, h, h0, p = cache["x"], cache["h"], cache["h0"], cache["params"]
    T = x.shape[0]
    h_prev = np.concatenate([h0[None], h[:-1]])
    da, carry = np.zeros_like(h), np.zeros_like(h0)
    W = p["W_hh"].T if how == "transposed" else p["W_hh"]
    for t in range(T - 1, -1, -1):
        g = dh[t] + (0 if how == "no_carry" else carry)
        da[t] = g if how == "no_tanh" else g * (1 - h[t] ** 2)
        carry = da[t] @ W
    use = slice(T - 1, T) if how == "last_only" else slice(0, T)
    grads = {"W_ih": np.einsum("tnh,tnd->hd", da[use], x[use]), "W_hh": np.einsum("tnh,tnk->hk", da[use], h_prev[use]),
             "b_ih": da[use].sum(axis=(0, 1)), "b_hh": da[use].sum(axis=(0, 1))}
    return da @ p["W_ih"], carry, grads


def _sequence_hints(dh, cache, truncate):
    variants = {
        "gradient is only the last step's: did you sum over time?": "last_only",
        "the gradient carried back from later steps was not added to dh[t]": "no_carry",
        "W_hh was used transposed when carrying the gradient back (da @ W_hh.T instead of da @ W_hh)": "transposed",
        "the tanh derivative (1 - h**2) is missing": "no_tanh",
    }
    hints = {"dx": {}, "dh0": {}, "grads": {n: {} for n in PARAM_NAMES}}
    if truncate is None:
        for cause, how in variants.items():
            dx, dh0, grads = _np_bptt(dh, cache, how)
            hints["dx"][cause], hints["dh0"][cause] = dx, dh0
            for n in PARAM_NAMES:
                hints["grads"][n][cause] = grads[n]
    else:
        T = cache["x"].shape[0]
        for k, cause in ((truncate + 1, f"truncation off by one: the window is {truncate + 1} steps, not {truncate}"),
                         (truncate - 1, f"truncation off by one: the window is {truncate - 1} step{'s' if truncate != 2 else ''}, not {truncate}")):
            if 1 <= k:
                dx, dh0, grads = _sequence_reference(dh, cache, k if k < T else None)
                hints["dx"][cause], hints["dh0"][cause] = dx, dh0
                for n in PARAM_NAMES:
                    hints["grads"][n][cause] = grads[n]
        dx, dh0, grads = _sequence_reference(dh, cache, None)
        cause = "the truncation was ignored: this is full BPTT"
        hints["dx"][cause], hints["dh0"][cause] = dx, dh0
        for n in PARAM_NAMES:
            hints["grads"][n][cause] = grads[n]
    return hints


# -- rnn_step_backward -------------------------------------------------------------------------------

def _step_case(rng, name, N, D, H, x_scale=1.0, weight=1.0, gradcheck=False):
    params = _params(rng, D, H)
    x, h_prev = rng.normal(0, x_scale, (N, D)), np.tanh(rng.normal(0, 1.0, (N, H)))
    h_next = np.tanh(x @ params["W_ih"].T + params["b_ih"] + h_prev @ params["W_hh"].T + params["b_hh"])
    cache = {"x": x, "h_prev": h_prev, "h_next": h_next, "params": params}
    return Case(name, "rnn_step_backward", (rng.normal(0, 1.0, (N, H)), cache), weight=weight,
                meta={"gradcheck": gradcheck})


def _step_backward_cases(seed):
    rng = np.random.default_rng(seed)
    return [
        _step_case(rng, "N=3, D=4, H=5", 3, 4, 5, weight=2.0),
        _step_case(rng, "N=1, D=1, H=1", 1, 1, 1),
        _step_case(rng, "H smaller than D: N=2, D=6, H=3", 2, 6, 3),
        _step_case(rng, "H larger than D: N=4, D=2, H=7", 4, 2, 7),
        _step_case(rng, "inputs that nearly saturate tanh", 3, 3, 4, x_scale=4.0),
        _step_case(rng, "centred-difference gradient check, N=2, D=3, H=2", 2, 3, 2, gradcheck=True),
        _step_case(rng, "an empty batch: N=0, D=3, H=4", 0, 3, 4, weight=0.5),
    ]


def _step_backward_verdict(case, result):
    dh_next, cache = case.args
    got, problem = unpack(result.value, 3, "rnn_step_backward")
    if problem:
        return Verdict(False, problem)
    dx, dh_prev, grads = got
    moved = modified_issue(case, result, ("dh_next", "cache"))
    if case.meta["gradcheck"]:
        return verdict(_step_gradcheck(dh_next, cache, dx, dh_prev, grads), moved)
    want = memo(case, "want", lambda: _step_reference(dh_next, cache))
    hints = memo(case, "hints", lambda: _step_hints(dh_next, cache))
    return verdict(array_issue("dx", dx, want[0], hints=hints["dx"]),
                   array_issue("dh_prev", dh_prev, want[1], hints=hints["dh_prev"]),
                   grads_issue("grads", grads, want[2], hints=hints["grads"]), moved)


def _step_hints(dh_next, cache):
    """Known wrong answers of one backward step: {"dx": {cause: alt}, "dh_prev": ..., "grads": {key: ...}}."""
    p, x, h_prev, h_next = cache["params"], cache["x"], cache["h_prev"], cache["h_next"]
    hints = {"dx": {}, "dh_prev": {}, "grads": {n: {} for n in PARAM_NAMES}}

    def add(cause, da, W_back=None):
        hints["dx"][cause] = da @ p["W_ih"]
        hints["dh_prev"][cause] = da @ (p["W_hh"] if W_back is None else W_back)
        for n, g in (("W_ih", da.T @ x), ("W_hh", da.T @ h_prev), ("b_ih", da.sum(axis=0)), ("b_hh", da.sum(axis=0))):
            hints["grads"][n][cause] = g

    add("the tanh derivative (1 - h_next**2) is missing", dh_next)
    add("the derivative was taken as 1 - tanh(h_next)**2 (tanh applied twice)", dh_next * (1 - np.tanh(h_next) ** 2))
    add("the sigmoid derivative h * (1 - h) was used for tanh", dh_next * h_next * (1 - h_next))
    da = dh_next * (1 - h_next ** 2)
    hints["dh_prev"]["W_hh was used transposed (da @ W_hh.T instead of da @ W_hh)"] = da @ p["W_hh"].T
    hints["grads"]["W_hh"]["dW_hh was computed as h_prev.T @ da (the transposed product)"] = h_prev.T @ da
    if len(da):  # N = 0: no mean to take (numpy would warn), and nothing to recognise
        for n in ("b_ih", "b_hh"):
            hints["grads"][n]["the bias gradient was averaged over the batch instead of summed"] = da.mean(axis=0)
    return hints


def _gradcheck_issue(name, got, numerical):
    if not isinstance(got, np.ndarray) or got.shape != numerical.shape:
        got_text = f"shape {got.shape}" if isinstance(got, np.ndarray) else type(got).__name__
        return f"{name} should be a numpy array of the shape of the argument it differentiates, got {got_text}"
    err = rel_error(got, numerical)
    if err > GRADCHECK_TOL:
        return (f"{name} disagrees with centred differences of the forward pass: relative error {err:.1e} "
                f"(tolerance {GRADCHECK_TOL:g})")
    return None


def _step_gradcheck(dh_next, cache, dx, dh_prev, grads):
    x, h_prev, p = cache["x"], cache["h_prev"], cache["params"]

    def loss(x_, h_, p_):
        return float(np.sum(dh_next * _np_forward(x_[None], h_, p_)[0]))

    issues = [_gradcheck_issue("dx", dx, centred_difference(lambda v: loss(v, h_prev, p), x)),
              _gradcheck_issue("dh_prev", dh_prev, centred_difference(lambda v: loss(x, v, p), h_prev))]
    if not isinstance(grads, dict) or set(grads) != set(PARAM_NAMES):
        issues.append(f"grads should be a dict with keys {list(PARAM_NAMES)}")
    else:
        for n in PARAM_NAMES:
            issues.append(_gradcheck_issue(f"grads[{n!r}]", grads[n],
                                           centred_difference(lambda v, n=n: loss(x, h_prev, {**p, n: v}), p[n])))
    return next((i for i in issues if i), None)


# -- rnn_backward ------------------------------------------------------------------------------------

def _sequence_case(rng, name, T, N, D, H, truncate="absent", x_scale=1.0, weight=1.0, gradcheck=False, only_last=False):
    params = _params(rng, D, H)
    x, h0 = rng.normal(0, x_scale, (T, N, D)), np.tanh(rng.normal(0, 1.0, (N, H)))
    cache = {"x": x, "h0": h0, "h": _np_forward(x, h0, params), "params": params}
    dh = rng.normal(0, 1.0, (T, N, H))
    if only_last:
        dh[:-1] = 0.0
    kwargs = {} if truncate == "absent" else {"truncate": truncate}
    return Case(name, "rnn_backward", (dh, cache), kwargs=kwargs, weight=weight,
                meta={"gradcheck": gradcheck, "expects_error": truncate == 0})


def _backward_cases(seed):
    rng = np.random.default_rng(seed)
    return [
        _sequence_case(rng, "T=5, N=3, D=4, H=6", 5, 3, 4, 6, weight=2.0),
        _sequence_case(rng, "T=1, N=1", 1, 1, 3, 2),
        _sequence_case(rng, "N=1, T=7, D=2, H=3", 7, 1, 2, 3),
        _sequence_case(rng, "H smaller than D: T=4, N=2, D=5, H=2", 4, 2, 5, 2),
        _sequence_case(rng, "a loss on the last state only, T=6", 6, 2, 3, 4, only_last=True),
        _sequence_case(rng, "inputs that nearly saturate tanh", 5, 2, 3, 3, x_scale=4.0),
        _sequence_case(rng, "truncate=None given explicitly, T=4", 4, 2, 2, 3, truncate=None),
        _sequence_case(rng, "centred-difference gradient check, T=3, N=2, D=2, H=3", 3, 2, 2, 3, gradcheck=True,
                       weight=2.0),
        _sequence_case(rng, "an empty batch: T=4, N=0, D=2, H=3", 4, 0, 2, 3, weight=0.5),
    ]


def _truncated_cases(seed):
    rng = np.random.default_rng(seed)
    return [
        _sequence_case(rng, "T=6, truncate=2", 6, 2, 3, 4, truncate=2, weight=2.0),
        _sequence_case(rng, "T=6, truncate=1 (no gradient between steps)", 6, 2, 3, 4, truncate=1),
        _sequence_case(rng, "T=7, N=1, truncate=3", 7, 1, 2, 3, truncate=3),
        _sequence_case(rng, "T=5, truncate=5 equals full BPTT", 5, 2, 3, 3, truncate=5),
        _sequence_case(rng, "T=4, truncate=9 equals full BPTT", 4, 3, 2, 2, truncate=9),
        _sequence_case(rng, "T=1, truncate=1", 1, 2, 3, 2, truncate=1),
        _sequence_case(rng, "a loss on the last state only, T=8, truncate=3", 8, 2, 2, 3, truncate=3, only_last=True),
        _sequence_case(rng, "truncate=0 raises ValueError", 3, 1, 2, 2, truncate=0, weight=0.5),
        _sequence_case(rng, "an empty batch: T=5, N=0, truncate=2", 5, 0, 2, 3, truncate=2, weight=0.5),
    ]


def _backward_verdict(case, result):
    dh, cache = case.args
    truncate = case.kwargs.get("truncate")
    if case.meta.get("expects_error"):
        if result.error_type == "ValueError":
            return Verdict(True, "correct")
        return Verdict(False, f"truncate={truncate} should raise ValueError (the window must be at least one step), "
                       + (f"got {result.error}" if result.error else "but gradients were returned"))
    got, problem = unpack(result.value, 3, "rnn_backward")
    if problem:
        return Verdict(False, problem)
    dx, dh0, grads = got
    moved = modified_issue(case, result, ("dh", "cache"))
    if case.meta["gradcheck"]:
        return verdict(_sequence_gradcheck(dh, cache, dx, dh0, grads), moved)
    want = memo(case, "want", lambda: _sequence_reference(dh, cache, truncate))
    hints = memo(case, "hints", lambda: _sequence_hints(dh, cache, truncate))
    return verdict(grads_issue("grads", grads, want[2], hints=hints["grads"]),
                   array_issue("dx", dx, want[0], hints=hints["dx"]),
                   array_issue("dh0", dh0, want[1], hints=hints["dh0"]), moved)


def _sequence_gradcheck(dh, cache, dx, dh0, grads):
    x, h0, p = cache["x"], cache["h0"], cache["params"]

    def loss(x_, h_, p_):
        return float(np.sum(dh * _np_forward(x_, h_, p_)))

    issues = [_gradcheck_issue("dx", dx, centred_difference(lambda v: loss(v, h0, p), x)),
              _gradcheck_issue("dh0", dh0, centred_difference(lambda v: loss(x, v, p), h0))]
    if not isinstance(grads, dict) or set(grads) != set(PARAM_NAMES):
        issues.append(f"grads should be a dict with keys {list(PARAM_NAMES)}")
    else:
        for n in PARAM_NAMES:
            issues.append(_gradcheck_issue(f"grads[{n!r}]", grads[n],
                                           centred_difference(lambda v, n=n: loss(x, h0, {**p, n: v}), p[n])))
    return next((i for i in issues if i), None)


# -- softmax cross-entropy with a padding mask --------------------------------------------------------

def _ce_reference(logits, targets, mask):
    torch = _torch()
    K = logits.shape[-1]
    z = torch.tensor(logits, requires_grad=True)
    m = torch.from_numpy(mask)
    safe = torch.from_numpy(np.where(mask > 0, targets, 0))
    each = torch.nn.functional.cross_entropy(z.reshape(-1, K), safe.reshape(-1), reduction="none").reshape(m.shape)
    loss = (each * m).sum() / m.sum()
    loss.backward()
    return loss.item(), z.grad.numpy(), each.detach().numpy()


def _ce_case(rng, name, T, N, K, lengths=None, pad_value=None, scale=2.0, shift=0.0, weight=1.0):
    logits = shift + rng.normal(0, scale, (T, N, K))
    targets = rng.integers(0, K, size=(T, N))
    lengths = [T] * N if lengths is None else lengths
    mask = (np.arange(T)[:, None] < np.array(lengths)[None, :]).astype(np.float64)
    if pad_value is not None:
        targets = np.where(mask > 0, targets, pad_value)
    return Case(name, "softmax_cross_entropy", (logits, targets, mask), weight=weight)


def _ce_cases(seed):
    rng = np.random.default_rng(seed)
    return [
        _ce_case(rng, "no padding, T=4, N=3, K=5", 4, 3, 5, weight=2.0),
        _ce_case(rng, "padded at the end: lengths 5, 2, 4", 5, 3, 4, lengths=[5, 2, 4], weight=2.0),
        _ce_case(rng, "padded targets hold -100", 4, 3, 3, lengths=[1, 4, 2], pad_value=-100),
        _ce_case(rng, "T=1, N=1, K=2", 1, 1, 2),
        _ce_case(rng, "one kept position in the batch", 3, 2, 4, lengths=[1, 0]),
        _ce_case(rng, "scores around +-1000 (exp overflows unless shifted)", 3, 2, 3, lengths=[3, 2], scale=1000.0),
        _ce_case(rng, "scores all near -900 (exp underflows to 0 unless shifted)", 3, 2, 4, lengths=[3, 1], shift=-900.0),
        _ce_case(rng, "scores all near +850 (exp overflows unless shifted)", 2, 3, 3, lengths=[2, 2, 1], shift=850.0),
    ]


def _ce_verdict(case, result):
    logits, targets, mask = case.args
    got, problem = unpack(result.value, 2, "softmax_cross_entropy")
    if problem:
        return Verdict(False, problem)
    loss, dlogits = got
    want_loss, want_d, each = memo(case, "want", lambda: _ce_reference(logits, targets, mask))
    M, TN = mask.sum(), mask.size
    loss_hints = {"the mean is over all T*N positions (padding included): divide by the number of kept positions":
                  want_loss * M / TN,
                  "the loss is summed, not averaged over the kept positions": want_loss * M}
    if np.all(np.isfinite(each)):
        loss_hints["the mask was ignored: padded positions count in the loss"] = float(each.mean())
    d_hints = {"the gradient was not divided by the number of kept positions": want_d * M,
               "the gradient was divided by T*N instead of the number of kept positions": want_d * M / TN,
               "the gradient has the wrong sign (onehot - softmax instead of softmax - onehot)": -want_d}
    return verdict(scalar_issue("loss", loss, want_loss, hints=loss_hints),
                   array_issue("dlogits", dlogits, want_d, hints=d_hints),
                   modified_issue(case, result, ("logits", "targets", "mask")))


# -- clipping by global norm ----------------------------------------------------------------------------

def _clip_reference(grads, max_norm):
    torch = _torch()
    tensors = {k: torch.tensor(v) for k, v in grads.items()}
    for t in tensors.values():
        t.grad = t.clone()
    total = torch.nn.utils.clip_grad_norm_(list(tensors.values()), max_norm)
    return {k: t.grad.numpy() for k, t in tensors.items()}, float(total)


def _clip_cases(seed):
    rng = np.random.default_rng(seed)

    def grads(scales):
        shapes = {"W_ih": (4, 3), "W_hh": (4, 4), "b_ih": (4,), "b_hh": (4,)}
        return {k: rng.normal(0, s, shapes[k]) for k, s in zip(shapes, scales)}

    return [
        Case("norm 10 times the threshold, four tensors", "clip_grad_norm", (grads((3.0, 2.0, 1.0, 0.5)), 1.0), weight=2.0),
        Case("norm below the threshold: unchanged", "clip_grad_norm", (grads((0.1, 0.1, 0.1, 0.1)), 5.0)),
        Case("one large tensor among small ones", "clip_grad_norm", (grads((0.01, 5.0, 0.01, 0.01)), 2.0), weight=2.0),
        Case("every gradient zero", "clip_grad_norm", ({"W": np.zeros((2, 3)), "b": np.zeros(2)}, 1.0)),
        Case("a single tensor", "clip_grad_norm", ({"W_hh": rng.normal(0, 10.0, (5, 5))}, 0.5)),
        Case("threshold 100, norm about 300", "clip_grad_norm", (grads((40.0, 30.0, 20.0, 10.0)), 100.0)),
    ]


def _clip_verdict(case, result):
    grads, max_norm = case.args
    got, problem = unpack(result.value, 2, "clip_grad_norm")
    if problem:
        return Verdict(False, problem)
    clipped, total = got
    want, want_total = memo(case, "want", lambda: _clip_reference(grads, max_norm))
    moved = modified_issue(case, result, ("grads", "max_norm"))
    # The exact rule min(1, max_norm / norm), without PyTorch's 1e-6, is also accepted.
    exact = {k: v * min(1.0, max_norm / want_total) if want_total > 0 else v for k, v in grads.items()}
    if grads_issue("clipped", clipped, exact) is None:
        want = exact
    norms = {k: np.linalg.norm(v) for k, v in grads.items()}
    per_tensor = {k: v * min(1.0, max_norm / (norms[k] + 1e-6)) for k, v in grads.items()}
    hints = {k: {"each tensor was clipped by its own norm: clip by the global norm of all tensors together":
                 per_tensor[k]} for k in grads}
    after = float(np.sqrt(sum(np.sum(v ** 2) for v in want.values())))
    return verdict(grads_issue("clipped", clipped, want, hints=hints),
                   scalar_issue("total_norm", total, want_total,
                                hints={"total_norm is the norm after clipping: return the norm before": after}),
                   moved)


# -- gradient norms over time ---------------------------------------------------------------------------

def _norms_reference(dh_last, cache):
    """(norms (T,), ||dL/dh0||) by torch autograd, keeping the gradient of every state."""
    torch = _torch()
    cell = _cell(cache["params"])
    x = torch.from_numpy(cache["x"])
    h0 = torch.tensor(cache["h0"], requires_grad=True)
    h, states = h0, []
    for t in range(x.shape[0]):
        h = cell(x[t], h)
        h.retain_grad()
        states.append(h)
    (states[-1] * torch.from_numpy(dh_last)).sum().backward()
    return np.array([float(s.grad.norm()) for s in states]), float(h0.grad.norm())


def _norms_cases(seed):
    rng = np.random.default_rng(seed)

    def case(name, T, N, D, H, gain, weight=1.0):
        params = _params(rng, D, H)
        q, _ = np.linalg.qr(rng.normal(size=(H, H)))
        params["W_hh"] = gain * q  # spectral radius = gain: decides vanishing or growing norms
        x, h0 = rng.normal(0, 0.5, (T, N, D)), np.zeros((N, H))
        cache = {"x": x, "h0": h0, "h": _np_forward(x, h0, params), "params": params}
        return Case(name, "grad_norms_over_time", (rng.normal(0, 1.0, (N, H)), cache), weight=weight)

    return [
        case("T=8, small recurrent weights (gain 0.5)", 8, 3, 2, 5, 0.5, weight=2.0),
        case("T=12, large recurrent weights (gain 2.5)", 12, 2, 3, 6, 2.5, weight=2.0),
        case("T=1", 1, 2, 2, 3, 1.0),
        case("N=1, T=20, gain 1", 20, 1, 2, 4, 1.0),
        case("an empty batch: T=5, N=0", 5, 0, 2, 3, 1.0, weight=0.5),
    ]


def _norms_verdict(case, result):
    dh_last, cache = case.args
    want, dh0_norm = memo(case, "want", lambda: _norms_reference(dh_last, cache))
    hints = {"the norms are in reverse time order: norms[t] must belong to h[t]": want[::-1],
             "off by one in time: norms[t] is the norm of dL/dh[t-1] (norms[0] that of dL/dh0)":
                 np.concatenate([[dh0_norm], want[:-1]])}
    return verdict(array_issue("norms", result.value, want, hints=hints),
                   modified_issue(case, result, ("dh_last", "cache")))


CHECKS = {
    "rnn_step_backward": Check(_step_backward_cases, _step_backward_verdict,
                               "rnn_step_backward against torch autograd and centred differences", seed=21),
    "rnn_backward": Check(_backward_cases, _backward_verdict,
                          "full BPTT against torch autograd through nn.RNN and centred differences", seed=22),
    "rnn_backward_truncated": Check(_truncated_cases, _backward_verdict,
                                    "truncated BPTT: each dh[t] flows back through at most k steps", seed=23),
    "softmax_cross_entropy": Check(_ce_cases, _ce_verdict,
                                   "masked mean softmax cross-entropy and its gradient against torch", seed=24),
    "clip_grad_norm": Check(_clip_cases, _clip_verdict, "clipping by the global norm, as clip_grad_norm_", seed=25),
    "grad_norms_over_time": Check(_norms_cases, _norms_verdict,
                                  "norms of dL/dh_t against torch autograd (retain_grad)", seed=26),
}
