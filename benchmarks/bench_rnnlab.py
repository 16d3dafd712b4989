"""Time rnnlab's Elman, LSTM and GRU forward+backward against torch.nn.RNN / LSTM / GRU on one CPU thread.

Both sides compute the same things in float64: the states for every step and the gradients
of ``sum(h * dh)`` with respect to the input, the initial state and every weight (torch by
autograd). Each entry is the median of ``--repeats`` timed runs after ``--warmup`` untimed
ones, the two sides alternating run by run so that load from other processes falls on both.
Targets: rnnlab/torch <= 1.5 at (T, N, D, H) = (50, 32, 64, 128) and < 1.0 at (200, 8, 16, 32).
The attention rows (additive and scaled dot product over S = T source steps of width H,
a query (N, H), gradients of ``sum(context * dc)``) are timed for information only.

    python benchmarks/bench_rnnlab.py [--repeats 15] [--warmup 3] [--strict]

``--strict`` exits with status 1 when a target is missed.
"""

import os

# One BLAS thread for numpy, set before numpy is imported (threadpoolctl is not a dependency).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from rnnlab.attention import (additive_attention_backward,  # noqa: E402
                              additive_attention_forward, dot_attention_backward,
                              dot_attention_forward, init_additive_params)
from rnnlab.gru import gru_backward, gru_forward, init_gru_params  # noqa: E402
from rnnlab.lstm import init_lstm_params, lstm_backward, lstm_forward  # noqa: E402
from rnnlab.rnn import init_rnn_params, rnn_backward, rnn_forward  # noqa: E402
from rnnlab.torch_bridge import gru_to_torch, lstm_to_torch, rnn_to_torch  # noqa: E402

SIZES = [(50, 32, 64, 128), (200, 8, 16, 32)]
TARGETS = {(50, 32, 64, 128): (1.5, "<="), (200, 8, 16, 32): (1.0, "<")}


def _median_times(fns, repeats, warmup):
    """Median wall time of each zero-argument callable in ``fns``.

    The callables are run in turn within each repeat, so that a burst of load from other
    processes on the machine falls on all of them rather than on one.
    """
    for _ in range(warmup):
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, bucket in zip(fns, times):
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    return [statistics.median(bucket) for bucket in times]


def _cases(T, N, D, H, seed=0):
    """For each model, a pair of zero-argument callables (rnnlab run, torch run) on the same data."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, N, D))
    h0 = rng.normal(size=(N, H))
    dh = rng.normal(size=(T, N, H))
    xt, h0t, dht = torch.tensor(x), torch.tensor(h0[None]), torch.tensor(dh)

    elman = init_rnn_params(D, H, seed=seed)
    lstm = init_lstm_params(D, H, seed=seed)
    gru = init_gru_params(D, H, seed=seed)
    rnn_module, lstm_module, gru_module = rnn_to_torch(elman), lstm_to_torch(lstm), gru_to_torch(gru)
    c0t = torch.zeros(1, N, H, dtype=torch.float64)

    def numpy_elman():
        h, cache = rnn_forward(x, h0, elman)
        return rnn_backward(dh, cache)

    def numpy_lstm():
        h, cache = lstm_forward(x, h0, lstm)
        return lstm_backward(dh, cache)

    def numpy_gru():
        h, cache = gru_forward(x, h0, gru)
        return gru_backward(dh, cache)

    def torch_run(module, state):
        def run():
            module.zero_grad(set_to_none=True)
            xr = xt.clone().requires_grad_(True)
            hr = h0t.clone().requires_grad_(True)
            out, _ = module(xr, (hr, state) if state is not None else hr)
            out.backward(dht)
            return xr.grad, hr.grad
        return run

    return {"Elman": (numpy_elman, torch_run(rnn_module, None)),
            "LSTM": (numpy_lstm, torch_run(lstm_module, c0t)),
            "GRU": (numpy_gru, torch_run(gru_module, None))}


def _attention_cases(T, N, D, H, seed=0):
    """(rnnlab run, torch run) for additive and scaled dot-product attention, S = T."""
    rng = np.random.default_rng(seed)
    keys = rng.normal(size=(T, N, H))
    query, dc = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    mask = np.ones((T, N))
    mask[T // 2:, ::2] = 0.0                                  # half the columns padded
    params = init_additive_params(H, H, H, seed=seed)
    kt, qt, dct, mt = (torch.tensor(a) for a in (keys, query, dc, mask))
    pt = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}

    def numpy_additive():
        _, _, cache = additive_attention_forward(query, keys, params, mask)
        return additive_attention_backward(dc, cache)

    def numpy_dot():
        _, _, cache = dot_attention_forward(query, keys, mask, scaled=True)
        return dot_attention_backward(dc, cache)

    def torch_run(kind):
        def run():
            k, q = kt.clone().requires_grad_(True), qt.clone().requires_grad_(True)
            if kind == "additive":
                for p in pt.values():
                    p.grad = None
                scores = torch.tanh(q @ pt["W_q"].T + k @ pt["W_k"].T) @ pt["v"]
            else:
                scores = (k * q).sum(-1) / H ** 0.5
            w = torch.softmax(scores.masked_fill(mt == 0, float("-inf")), dim=0)
            ((w[:, :, None] * k).sum(0) * dct).sum().backward()
            return q.grad, k.grad
        return run

    return {"Add.": (numpy_additive, torch_run("additive")),
            "Dot": (numpy_dot, torch_run("dot"))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--strict", action="store_true", help="exit with status 1 if a target is missed")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    print(f"numpy {np.__version__}, torch {torch.__version__}, float64, 1 thread, "
          f"median of {args.repeats} runs (forward + backward)")
    header = f"{'model':<6} {'(T, N, D, H)':<18} {'rnnlab ms':>10} {'torch ms':>10} {'ratio':>7}  target"
    print(header)
    print("-" * len(header))
    all_met = True
    for size in SIZES:
        for model, (ours, theirs) in _cases(*size).items():
            t_ours, t_theirs = _median_times((ours, theirs), args.repeats, args.warmup)
            ratio = t_ours / t_theirs
            bound, op = TARGETS[size]
            met = ratio <= bound if op == "<=" else ratio < bound
            all_met &= met
            print(f"{model:<6} {str(size):<18} {1e3 * t_ours:>10.2f} {1e3 * t_theirs:>10.2f} {ratio:>7.2f}  "
                  f"{op} {bound} {'met' if met else 'MISSED'}")
    print("attention (S = T source steps, width H; no target):")
    for size in SIZES:
        for model, (ours, theirs) in _attention_cases(*size).items():
            t_ours, t_theirs = _median_times((ours, theirs), args.repeats, args.warmup)
            print(f"{model:<6} {str(size):<18} {1e3 * t_ours:>10.2f} "
                  f"{1e3 * t_theirs:>10.2f} {t_ours / t_theirs:>7.2f}  -")
    print("all targets met" if all_met else "some targets missed")
    return 1 if args.strict and not all_met else 0


if __name__ == "__main__":
    raise SystemExit(main())
