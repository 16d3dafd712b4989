"""Plausible wrong solutions (MUTANTS) and equivalent ones (ALTERNATIVES) of assignment 2.

Each replacement is exact text of solutions/a2_bptt/a2_bptt.ipynb (see harness.Variant).
"""

from harness import Alternative, Mutant

# The figure of Part 5 needs no check and takes a second.
SKIP_CELLS = ("plot_grad_norms_over_time",)

DA = "da = dh_next * (1 - h_next ** 2)        # (N, H): tanh' from the cached output"
DH_PREV = 'dh_prev = da @ params["W_hh"]            # (N, H)'
FULL_STEP = "dx[t], carry, step = rnn_step_backward(dh[t] + carry, step_cache(t))"
FULL_SUM = FULL_STEP + "\n            for name in grads:\n                grads[name] += step[name]"
STEP_CACHE = 'return {"x": x[t], "h_prev": h[t - 1] if t > 0 else h0, "h_next": h[t], "params": params}'
WINDOW = "for s in range(t, max(t - k, -1), -1):"
CE_GRAD = "dlogits = (np.exp(log_probs) - np.eye(K)[safe]) * (mask[..., None] / M)"
CLIP_RETURN = "return {name: g * scale for name, g in grads.items()}, total_norm"
NORM_AT_T = "        norms[t] = np.linalg.norm(g)\n"
FULL_BLOCK = '''        carry = np.zeros_like(h0)
        for t in range(T - 1, -1, -1):
            dx[t], carry, step = rnn_step_backward(dh[t] + carry, step_cache(t))
            for name in grads:
                grads[name] += step[name]
        return dx, carry, grads'''

MUTANTS = [
    # rnn_step_backward
    Mutant("tanh derivative missing", replace=((DA, "da = dh_next"),),
           kills=("rnn_step_backward", "rnn_backward", "rnn_backward_truncated", "grad_norms_over_time")),
    Mutant("derivative as 1 - tanh(h)^2", replace=((DA, "da = dh_next * (1 - np.tanh(h_next) ** 2)"),),
           kills=("rnn_step_backward", "rnn_backward")),
    Mutant("sigmoid derivative for tanh", replace=((DA, "da = dh_next * h_next * (1 - h_next)"),),
           kills=("rnn_step_backward", "rnn_backward")),
    Mutant("dh_prev through W_hh transposed", replace=((DH_PREV, 'dh_prev = da @ params["W_hh"].T'),),
           kills=("rnn_step_backward", "rnn_backward", "grad_norms_over_time")),
    Mutant("dW_hh transposed", replace=(('"W_hh": da.T @ h_prev', '"W_hh": h_prev.T @ da'),),
           kills=("rnn_step_backward", "rnn_backward")),
    Mutant("bias gradient averaged over the batch", replace=(("db = da.sum(axis=0)", "db = da.mean(axis=0)"),),
           kills=("rnn_step_backward",)),
    Mutant("float32 cast", replace=((DA, "da = (dh_next * (1 - h_next ** 2)).astype(np.float32)"),),
           kills=("rnn_step_backward", "rnn_backward")),
    Mutant("dh_next modified in place", replace=((DA, "dh_next *= 1 - h_next ** 2\n    da = dh_next"),),
           kills=("rnn_step_backward",)),
    # rnn_backward, full
    Mutant("gradient not summed over time (last step only)",
           replace=((FULL_SUM, FULL_STEP + "\n            for name in grads:\n                if t == T - 1:\n"
                                           "                    grads[name] += step[name]"),),
           kills=("rnn_backward",)),
    Mutant("state gradient not carried", replace=((FULL_STEP, "dx[t], carry, step = rnn_step_backward(dh[t], step_cache(t))"),),
           kills=("rnn_backward",)),
    Mutant("off by one in time: h[t] as the previous state", replace=((STEP_CACHE, STEP_CACHE.replace("h[t - 1] if t > 0 else h0", "h[t]")),),
           kills=("rnn_backward", "rnn_backward_truncated")),
    Mutant("backward loop stops before step 0", replace=(("for t in range(T - 1, -1, -1):\n            dx[t]",
                                                          "for t in range(T - 1, 0, -1):\n            dx[t]"),),
           kills=("rnn_backward",)),
    Mutant("dh modified in place", replace=((FULL_STEP, "dh[t] += carry\n            dx[t], carry, step = rnn_step_backward(dh[t], step_cache(t))"),),
           kills=("rnn_backward",)),
    Mutant("float32 gradient accumulators", replace=(("grads = {name: np.zeros_like(value) for name, value in params.items()}",
                                                      "grads = {name: np.zeros_like(value, dtype=np.float32) for name, value in params.items()}"),),
           kills=("rnn_backward", "rnn_backward_truncated")),
    # rnn_backward, truncated
    Mutant("truncation window one step too long", replace=((WINDOW, "for s in range(t, max(t - k - 1, -1), -1):"),
                                                          ("if t < k:", "if t < k + 1:")),
           kills=("rnn_backward_truncated",)),
    Mutant("truncation window one step too short", replace=((WINDOW, "for s in range(t, max(t - k + 1, -1), -1):"),
                                                           ("if t < k:", "if t < k - 1:")),
           kills=("rnn_backward_truncated",)),
    Mutant("truncation ignored", replace=(("k = T if truncate is None else min(truncate, T)", "k = T"),),
           kills=("rnn_backward_truncated",)),
    Mutant("dh0 collects every window's leftover", replace=(("if t < k:", "if True:"),), kills=("rnn_backward_truncated",)),
    Mutant("truncate=0 accepted", replace=(("if truncate is not None and truncate < 1:", "if False:"),),
           kills=("rnn_backward_truncated",)),
    # softmax_cross_entropy
    Mutant("mean over all positions, padding included", replace=(("M = mask.sum()", "M = mask.size"),),
           kills=("softmax_cross_entropy",)),
    Mutant("mask ignored", replace=(("loss = -np.sum(mask * picked) / M", "loss = -np.mean(picked)"),
                                    (CE_GRAD, "dlogits = (np.exp(log_probs) - np.eye(K)[safe]) / mask.size")),
           kills=("softmax_cross_entropy",)),
    Mutant("padded targets used as indices", replace=(("safe = np.where(mask > 0, targets, 0)", "safe = targets"),),
           kills=("softmax_cross_entropy",)),
    Mutant("softmax without the max shift", replace=(("shifted = logits - logits.max(axis=-1, keepdims=True)", "shifted = logits"),),
           kills=("softmax_cross_entropy",)),
    Mutant("gradient not divided by M", replace=(("* (mask[..., None] / M)", "* mask[..., None]"),), kills=("softmax_cross_entropy",)),
    Mutant("gradient sign flipped", replace=(("(np.exp(log_probs) - np.eye(K)[safe])", "(np.eye(K)[safe] - np.exp(log_probs))"),),
           kills=("softmax_cross_entropy",)),
    Mutant("float32 logits", replace=(("shifted = logits - logits.max", "shifted = logits.astype(np.float32) - logits.max"),),
           kills=("softmax_cross_entropy",)),
    # clip_grad_norm
    Mutant("clipping per tensor instead of global", replace=((CLIP_RETURN,
        "return {name: g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6)) for name, g in grads.items()}, total_norm"),),
           kills=("clip_grad_norm",)),
    Mutant("norm after clipping returned", replace=((CLIP_RETURN, CLIP_RETURN + " * scale"),), kills=("clip_grad_norm",)),
    Mutant("always rescaled to max_norm", replace=(("scale = min(1.0, max_norm / (total_norm + 1e-6))",
                                                    "scale = max_norm / (total_norm + 1e-6)"),), kills=("clip_grad_norm",)),
    Mutant("gradients clipped in place", replace=((CLIP_RETURN, "for g in grads.values():\n        g *= scale\n    return grads, total_norm"),),
           kills=("clip_grad_norm",)),
    Mutant("sum of the tensors' norms", replace=(("total_norm = float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))",
                                                 "total_norm = float(sum(np.linalg.norm(g) for g in grads.values()))"),),
           kills=("clip_grad_norm",)),
    Mutant("zero norm divides by zero", replace=(("max_norm / (total_norm + 1e-6)", "max_norm / total_norm"),), kills=("clip_grad_norm",)),
    # grad_norms_over_time
    Mutant("norms in reverse order", replace=((NORM_AT_T, "        norms[T - 1 - t] = np.linalg.norm(g)\n"),), kills=("grad_norms_over_time",)),
    Mutant("norm taken after stepping back", replace=((NORM_AT_T, ""), ("_, g, _ = rnn_step_backward(g, step_cache)",
                                                                       "_, g, _ = rnn_step_backward(g, step_cache)\n        norms[t] = np.linalg.norm(g)")),
           kills=("grad_norms_over_time",)),
    Mutant("mean of per-sequence norms", replace=((NORM_AT_T, "        norms[t] = np.linalg.norm(g, axis=1).mean()\n"),),
           kills=("grad_norms_over_time",)),
    # empty batches and scores far beyond exp's range
    Mutant("softmax shifted by the global max", replace=(("shifted = logits - logits.max(axis=-1, keepdims=True)",
                                                          "shifted = logits - logits.max()"),),
           kills=("softmax_cross_entropy",)),
]

ALTERNATIVES = [
    Alternative("weight gradients with einsum", replace=(('"W_ih": da.T @ x, "W_hh": da.T @ h_prev',
                                                          '"W_ih": np.einsum("nh,nd->hd", da, x), "W_hh": np.einsum("nh,nk->hk", da, h_prev)'),)),
    Alternative("derivative from cosh of the recomputed pre-activation", replace=((DA,
        'a = x @ params["W_ih"].T + params["b_ih"] + h_prev @ params["W_hh"].T + params["b_hh"]\n'
        "    da = dh_next / np.cosh(a) ** 2"),)),
    Alternative("full BPTT through the per-window walk", replace=(("if k == T:  # full BPTT", "if False:  # full BPTT"),)),
    Alternative("full BPTT inline and vectorised over time", replace=((FULL_BLOCK, '''        carry = np.zeros_like(h0)
        h_prev = np.concatenate([h0[None], h[:-1]])  # (T, N, H)
        da = np.empty_like(h)
        for t in range(T - 1, -1, -1):
            da[t] = (dh[t] + carry) * (1 - h[t] ** 2)
            carry = da[t] @ params["W_hh"]
        db = da.sum(axis=(0, 1))
        grads = {"W_ih": np.einsum("tnh,tnd->hd", da, x), "W_hh": np.einsum("tnh,tnk->hk", da, h_prev),
                 "b_ih": db, "b_hh": db.copy()}
        return da @ params["W_ih"], carry, grads'''),)),
    Alternative("cross-entropy gradient by a loop over kept positions", replace=((CE_GRAD, '''dlogits = np.exp(log_probs)
    for t, n in zip(*np.nonzero(mask)):
        dlogits[t, n, targets[t, n]] -= 1.0
    dlogits *= mask[..., None] / M'''),)),
    Alternative("cross-entropy loss through log-sum-exp", replace=(("loss = -np.sum(mask * picked) / M", '''top = logits.max(axis=-1)
    lse = top + np.log(np.exp(logits - top[..., None]).sum(axis=-1))
    z_y = np.take_along_axis(logits, safe[..., None], axis=-1)[..., 0]
    loss = np.sum(mask * (lse - z_y)) / M'''),)),
    Alternative("exact clipping rule without PyTorch's 1e-6", replace=(("scale = min(1.0, max_norm / (total_norm + 1e-6))",
                                                                        "scale = min(1.0, max_norm / total_norm) if total_norm > 0 else 1.0"),)),
    Alternative("global norm by concatenation", replace=(("total_norm = float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))",
                                                          "total_norm = float(np.linalg.norm(np.concatenate([g.ravel() for g in grads.values()])))"),)),
    Alternative("norms with the step written inline", replace=(("_, g, _ = rnn_step_backward(g, step_cache)",
                                                                'g = (g * (1 - h[t] ** 2)) @ params["W_hh"]'),)),
]

# A solution calling the course's reference implementation (test_assignment_release: no points for it).
SHORTCUT = Mutant("softmax_cross_entropy from rnnlab", replace=((
    "    K = logits.shape[-1]\n    safe = np.where(mask > 0, targets, 0)",
    "    import rnnlab.losses as L\n    return L.softmax_cross_entropy(logits, targets, mask)\n"
    "    K = logits.shape[-1]\n    safe = np.where(mask > 0, targets, 0)"),),
                  kills=("softmax_cross_entropy",))
