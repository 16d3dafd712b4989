"""The hidden checks of assignment 6.

The torch references of the GRU agree with rnnlab (a second, independent implementation
of PyTorch's convention), the centred-difference oracles agree with autograd, the numpy
decoder of the decoding checks agrees with a torch decoder, the reference beam search
agrees with brute force, and the forbidden names cover the modules written in parallel
(rnnlab.attention, rnnlab.seq2seq) before they exist.
"""

import itertools

import numpy as np
import pytest

from autograder.checks import a6_gru_attention as A6
from autograder.checks._common import rel_error
from autograder.checks.base import load_forbidden
from autograder.grading.shortcuts import scan_cells


def agree(a, b):
    """Ten times tighter than the checks' tolerance (RTOL 1e-9, ATOL 1e-11)."""
    return np.allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    torch.set_num_threads(1)


def test_gru_references_match_rnnlab_step_and_sequence():
    from rnnlab.gru import (
        gru_backward,
        gru_forward,
        gru_step_backward,
        gru_step_forward,
    )

    for case in A6.CHECKS["gru_step_backward"].make_cases():
        dh, cache = case.args
        h, rl = gru_step_forward(cache["x"], cache["h_prev"], cache["params"])
        ref = A6._step_reference(cache["x"], cache["h_prev"], cache["params"], dh)
        assert agree(ref["h"], h), case.name
        assert all(agree(ref["gates"][k], rl["gates"][k]) for k in A6.GATES), case.name
        dx, dh_prev, grads = gru_step_backward(dh, rl)
        assert agree(ref["grads"]["x"], dx) and agree(
            ref["grads"]["h_prev"], dh_prev
        ), case.name
        assert all(agree(ref["grads"][k], grads[k]) for k in A6.PARAMS), case.name
    for case in A6.CHECKS["gru_backward"].make_cases():
        dh, cache = case.args
        h, rl = gru_forward(cache["x"], cache["h0"], cache["params"])
        ref = A6._seq_reference(cache["x"], cache["h0"], cache["params"], dh)
        assert agree(ref["h"], h) and agree(cache["h"], h), case.name
        assert all(agree(ref["gates"][k], rl["gates"][k]) for k in A6.GATES), case.name
        dx, dh0, grads = gru_backward(dh, rl)
        assert agree(ref["grads"]["x"], dx) and agree(
            ref["grads"]["h0"], dh0
        ), case.name
        assert all(agree(ref["grads"][k], grads[k]) for k in A6.PARAMS), case.name


def test_q_in_the_cache_is_the_recurrent_candidate_term():
    case = A6.CHECKS["gru_backward"].make_cases()[0]
    _, cache = case.args
    p, H = cache["params"], cache["h0"].shape[1]
    h_prev = np.concatenate([cache["h0"][None], cache["h"][:-1]])
    assert agree(cache["q"], h_prev @ p["W_hh"][2 * H :].T + p["b_hh"][2 * H :])


def test_centred_difference_oracles_agree_with_autograd():
    case = next(
        c
        for c in A6.CHECKS["gru_backward"].make_cases()
        if c.meta["oracle"] == "centred"
    )
    dh, cache = case.args
    num = A6._numerical(cache["x"], cache["h0"], cache["params"], dh, step=False)
    ref = A6._seq_reference(cache["x"], cache["h0"], cache["params"], dh)["grads"]
    assert all(rel_error(num[k], ref[k]) < 1e-8 for k in ("x", "h0", *A6.PARAMS))
    case = next(
        c
        for c in A6.CHECKS["attention_backward"].make_cases()
        if c.meta["oracle"] == "centred"
    )
    dcontext, cache = case.args
    mask = case.meta["mask"]
    num = A6._attention_numerical(cache["query"], cache["keys"], mask, dcontext)
    ref = A6._attention_torch(cache["query"], cache["keys"], mask, dcontext)["grads"]
    assert all(rel_error(num[k], ref[k]) < 1e-8 for k in ("query", "keys"))


def test_attention_reference_gives_padding_no_weight_and_sums_to_one():
    for case in A6.CHECKS["attention_forward"].make_cases():
        if case.meta.get("expects_error"):
            continue
        query, keys, mask = case.args
        w = A6._attention_torch(query, keys, mask)["weights"]
        m = np.asarray(mask).astype(bool)
        assert np.all(w[~m] == 0) and np.allclose(w.sum(axis=0), 1.0), case.name
        # a direct numpy computation, one column at a time
        for n in range(query.shape[0]):
            s = keys[m[:, n], n] @ query[n]
            e = np.exp(s - s.max())
            assert np.allclose(w[m[:, n], n], e / e.sum(), rtol=1e-12), case.name


def test_numpy_decoder_step_matches_a_torch_gru_decoder():
    import torch

    rng = np.random.default_rng(0)
    V, E, H = 6, 3, 4
    w = A6._decoder_weights(rng, V, E, H, eos_bias=1.0)
    embed = torch.nn.Embedding(V, E, dtype=torch.float64)
    cell = torch.nn.GRUCell(E, H, dtype=torch.float64)
    out = torch.nn.Linear(H, V, dtype=torch.float64)
    with torch.no_grad():
        for param, key in [
            (embed.weight, "embed"),
            (cell.weight_ih, "W_ih"),
            (cell.weight_hh, "W_hh"),
            (cell.bias_ih, "b_ih"),
            (cell.bias_hh, "b_hh"),
            (out.weight, "W_out"),
            (out.bias, "b_out"),
        ]:
            param.copy_(torch.from_numpy(w[key]))
        h = np.tanh(rng.normal(size=H))
        for token in (A6.BOS, 3, A6.EOS, 5):
            lp, h_next = A6._np_step(w, token, h)
            ht = cell(embed(torch.tensor([token])), torch.from_numpy(h)[None])
            want = torch.log_softmax(out(ht), dim=-1)[0].numpy()
            assert agree(lp, want) and agree(h_next, ht[0].numpy())
            h = h_next


def test_reference_beam_search_agrees_with_brute_force_and_greedy():
    rng = np.random.default_rng(1)
    for k in range(6):
        V, max_len, alpha = 4, 3, (0.0, 0.6, 1.0)[k % 3]
        w = A6._decoder_weights(rng, V, 2, 3, eos_bias=1.0)
        h0 = np.tanh(rng.normal(size=3))
        wide = A6._beam(w, h0, V**max_len, max_len, alpha)
        brute = A6._brute_force(w, h0, max_len, alpha)
        assert wide[0] == brute[0] and np.isclose(wide[1], brute[1], rtol=1e-12)
        assert A6._beam(w, h0, 1, 6, alpha)[0] == A6._greedy(w, h0, 6)


def test_brute_force_picks_the_best_of_every_output():
    # V = 3 tokens (BOS, EOS, one symbol), max_len = 3: EOS after 0, 1 or 2 tokens
    # other than EOS, or 3 tokens without EOS (BOS is a token the decoder may emit):
    # 1 + 2 + 4 + 8 outputs.
    outputs = [
        body + (last,)
        for L in range(1, 4)
        for body in itertools.product((0, 2), repeat=L - 1)
        for last in ((0, 1, 2) if L == 3 else (1,))
    ]
    assert len(set(outputs)) == len(outputs) == 1 + 2 + 4 + 8
    rng = np.random.default_rng(2)
    w = A6._decoder_weights(rng, 3, 2, 2)
    h0 = np.tanh(rng.normal(size=2))

    def logp(toks):
        h, total, prev = h0, 0.0, A6.BOS
        for v in toks:
            lp, h = A6._np_step(w, prev, h)
            total, prev = total + lp[v], v
        return total

    for alpha in (0.0, 0.7):
        best = max(outputs, key=lambda y: logp(y) / len(y) ** alpha)
        assert A6._brute_force(w, h0, 3, alpha)[0] == list(best)


def test_decoding_cases_have_no_near_ties():
    """A near tie would make the expected output depend on the summation order:
    nudging every weight by about 1e-9 (relative) must not change an expected output."""
    rng = np.random.default_rng(3)
    for check_id in ("greedy_decode", "beam_search"):
        for case in A6.CHECKS[check_id].make_cases():
            w, h0, *rest = case.args
            for _ in range(2):
                nudged = {
                    k: v * (1 + 1e-9 * rng.standard_normal(v.shape))
                    for k, v in w.items()
                }
                if check_id == "greedy_decode":
                    assert A6._greedy(nudged, h0, *rest) == A6._greedy(
                        w, h0, *rest
                    ), case.name
                else:
                    assert (
                        A6._beam(nudged, h0, *rest)[0] == A6._beam(w, h0, *rest)[0]
                    ), case.name


def test_a_case_where_length_normalisation_decides_exists():
    names = [c.name for c in A6.CHECKS["beam_search"].make_cases()]
    assert any(n.startswith("length normalisation decides") for n in names)
    case = next(
        c for c in A6.CHECKS["beam_search"].make_cases() if c.name.startswith("length")
    )
    w, h0, K, max_len, alpha = case.args
    assert (
        A6._beam(w, h0, K, max_len, alpha)[0]
        != A6._beam(w, h0, K, max_len, alpha, normalise=False)[0]
    )


def test_forbidden_names_cover_modules_not_written_yet():
    forbidden = load_forbidden("a6_gru_attention")
    graded = ("attention_forward", "beam_search", "gru_forward")
    cells = [
        (
            0,
            "from rnnlab.attention import attention_forward as ref\n"
            "def attention_forward(q, k, m):\n    return ref(q, k, m)\n",
        ),
        (
            1,
            "import rnnlab.seq2seq as S\ndef beam_search(d, h0, k, n, a=0.7):\n"
            "    return S.beam_search(d, h0, k, n, a)\n",
        ),
        (
            2,
            "from rnnlab import gru\ndef gru_forward(x, h0, p):\n"
            "    return gru.gru_forward(x, h0, p)\n",
        ),
    ]
    charged = {
        f for finding in scan_cells(cells, graded, forbidden) for f in finding.functions
    }
    assert charged == set(graded)
    allowed = [
        (
            0,
            "from rnnlab.gradcheck import numerical_gradient\n"
            "def attention_forward(q, k, m):\n    return numerical_gradient\n",
        )
    ]
    assert not scan_cells(allowed, graded, forbidden)


def test_additive_reference_matches_numpy_and_centred_differences():
    for case in A6.CHECKS["additive_attention_backward"].make_cases():
        dcontext, cache = case.args
        query, keys, p = cache["query"], cache["keys"], cache["params"]
        mask = case.meta["mask"]
        m = np.asarray(mask).astype(bool)
        u = np.tanh(np.einsum("snh,ah->sna", keys, p["W_k"])
                    + np.einsum("nh,ah->na", query, p["W_q"])[None])
        assert agree(cache["u"], u), case.name
        for n in range(query.shape[0]):
            s = u[m[:, n], n] @ p["v"]
            e = np.exp(s - s.max())
            assert np.allclose(cache["weights"][m[:, n], n], e / e.sum(), rtol=1e-12)
            assert np.all(cache["weights"][~m[:, n], n] == 0), case.name
        if case.meta["oracle"] == "centred":
            num = A6._additive_numerical(query, keys, mask, p, dcontext)
            ref = A6._additive_torch(query, keys, mask, p, dcontext)["grads"]
            names = ("query", "keys", *A6.ADD_PARAMS)
            assert all(rel_error(num[k], ref[k]) < 1e-8 for k in names)
