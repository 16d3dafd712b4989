"""Shared oracles for the sequence-model tests (rnn, jordan, lstm, birnn, bridge).

Closeness at a stated tolerance, PyTorch autograd in float64, and centred differences through
rnnlab.gradcheck (which hands the function a copy and never relies on aliasing). Imported as a
plain module: pytest puts this folder on sys.path (no __init__.py, default import mode).
"""

import numpy as np
import torch

from rnnlab.gradcheck import numerical_gradient

torch.set_num_threads(1)

# (T, N, D, H) for the sequence tests: T = 1 and N = 1 edge cases, H != D both ways.
SHAPES = [(1, 3, 4, 5), (5, 1, 3, 7), (6, 4, 5, 3), (3, 2, 2, 2)]


def assert_close(got, want, rtol=1e-10, name="array"):
    """Elementwise |got - want| <= rtol * (|want| + max|want|), and equal shapes.

    The absolute floor ``rtol * max|want|`` keeps entries that are near zero by cancellation
    from failing on rounding noise while staying a relative test for the array as a whole.
    """
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{name}: shape {got.shape} != {want.shape}"
    scale = float(np.max(np.abs(want), initial=0.0))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale, err_msg=name)


def numeric_grads(loss, arrays, eps=1e-6):
    """Centred-difference gradients of ``loss(**arrays) -> float`` for each array of ``arrays``.

    arrays : dict name -> ndarray; the loss is called with the others held fixed.
    returns : dict name -> ndarray of the same shape.
    """
    out = {}
    for name, value in arrays.items():
        def f(v, name=name):
            trial = {k: (v if k == name else a) for k, a in arrays.items()}
            return loss(**trial)
        out[name] = numerical_gradient(f, value, eps=eps)
    return out


def assert_grads_match(analytic, numeric, tol=1e-7):
    """Centred differences agree with the analytic gradients: max|a - n| <= tol * max|n| per array.

    With eps = 1e-6 the truncation error is O(eps**2) and the rounding error about
    1e-16 / eps = 1e-10 of the loss scale, so 1e-7 leaves a margin of a few hundred.
    """
    for name, num in numeric.items():
        a = np.asarray(analytic[name])
        assert a.shape == num.shape, f"d{name}: shape {a.shape} != {num.shape}"
        err = np.max(np.abs(a - num), initial=0.0) / max(np.max(np.abs(num), initial=0.0), 1e-12)
        assert err <= tol, f"d{name}: centred differences disagree, relative error {err:.2e} > {tol:g}"


def torch_grads(fn, arrays):
    """Run ``fn(**tensors) -> scalar tensor`` under autograd in float64.

    arrays : dict name -> ndarray. Returns (value as float, dict name -> gradient ndarray).
    """
    tensors = {k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for k, v in arrays.items()}
    value = fn(**tensors)
    value.backward()
    grads = {k: (t.grad.numpy() if t.grad is not None else np.zeros(t.shape)) for k, t in tensors.items()}
    return float(value.detach()), grads


def assert_sequence_is_steps(forward, backward, step_forward, step_backward, params, x, h0, dh, keys,
                             rtol_forward=1e-13):
    """``forward``/``backward`` over x (T, N, D) equal ``step_forward``/``step_backward`` applied
    T times, the hidden-state gradient carried back between steps (cells whose only state is h)."""
    h, cache = forward(x, h0, params)
    dx, dh0, grads = backward(dh, cache)
    h_prev, caches = h0, []
    for t in range(len(x)):
        h_prev, c = step_forward(x[t], h_prev, params)
        assert_close(h[t], h_prev, rtol_forward, f"h[{t}]")
        caches.append(c)
    carry, sums, dxs = np.zeros_like(h0), {k: 0.0 for k in keys}, []
    for t in reversed(range(len(x))):
        dx_t, carry, g = step_backward(dh[t] + carry, caches[t])
        dxs.append(dx_t)
        sums = {k: sums[k] + g[k] for k in keys}
    assert_close(dx, np.stack(dxs[::-1]), 1e-12, "dx")
    assert_close(dh0, carry, 1e-12, "dh0")
    for k in keys:
        assert_close(grads[k], sums[k], 1e-12, "d" + k)
