"""The hidden checks' own references of assignments 1 and 2 agree with rnnlab, a second
independent implementation (the checks use PyTorch; rnnlab defines the course's conventions)."""

import numpy as np
import pytest

from autograder.checks import a1_rnn_cell as A1
from autograder.checks import a2_bptt as A2
from autograder.checks._common import rel_error


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    torch.set_num_threads(1)


def test_vocabulary_reference_orders_tokens_like_rnnlab_vocab():
    from rnnlab.encoding import Vocab

    for case in A1._vocab_cases(11):
        unk = case.kwargs.get("unk", "<unk>")
        assert A1._vocab_reference(*case.args, unk=unk) == Vocab(case.args[0], unk=unk).itos, case.name


def test_forward_references_match_rnnlab():
    from rnnlab.rnn import rnn_forward, rnn_step_forward

    for case in A1._step_cases(14):
        assert rel_error(A1._torch_cell(*case.args), rnn_step_forward(*case.args)[0]) < 1e-13, case.name
    for case in A1._forward_cases(15):
        if case.meta.get("expects_error"):  # T = 0: the check expects the error class rnnlab raises
            with pytest.raises(ValueError):
                rnn_forward(*case.args)
            continue
        assert rel_error(A1._torch_rnn(*case.args), rnn_forward(*case.args)[0]) < 1e-13, case.name


def test_tempered_softmax_reference_matches_rnnlab_softmax():
    from rnnlab.activations import softmax

    for case in A1._temperature_cases(18):
        if not case.meta.get("expects_error"):
            scores, tau = case.args
            want = softmax(scores / tau, axis=1)
            assert rel_error(A1._tempered(scores, tau), want) < 1e-13, case.name


def _draws_with_numpy_choice(params, W_hy, b_y, h0, first, u, tau):
    """rnnlab's cell and softmax, the draw as rng.choice makes it (a second oracle)."""
    from rnnlab.activations import softmax
    from rnnlab.rnn import rnn_step_forward

    V = W_hy.shape[0]
    h, prev, out = h0, np.asarray(first), []
    for t in range(u.shape[0]):
        h, _ = rnn_step_forward(np.eye(V)[prev], h, params)
        p = softmax((h @ W_hy.T + b_y) / tau, axis=1)
        # Generator.choice draws k = searchsorted(cdf / cdf[-1], uniform, side="right")
        # with cdf = cumsum(p).
        k = []
        for row, x in zip(p, u[t]):
            cdf = np.cumsum(row)
            k.append(int(np.searchsorted(cdf / cdf[-1], x, side="right")))
        out.append(np.minimum(k, V - 1))
        prev = out[-1]
    return np.array(out)


def test_sample_reference_draws_like_rng_choice_and_its_mistakes_differ():
    seen = set()
    for case in A1._sample_cases(19):
        want = A1._sample_reference(*case.args)
        assert np.array_equal(want, _draws_with_numpy_choice(*case.args)), case.name
        distinct = {how for how in ("argmax", "no_feedback", "reset", "no_tau")
                    if not np.array_equal(A1._sample_reference(*case.args, how=how),
                                          want)}
        assert distinct, case.name  # every case tells some mistake from the right draws
        seen |= distinct
    assert seen == {"argmax", "no_feedback", "reset", "no_tau"}


def test_parameter_counts_match_the_lecture_notes_keras_summary():
    # Keras printed 784 for SimpleRNN(16) on 32 features and 4352 for the Dense(256) after it.
    assert A1._torch_count(32, 16, "keras") == 784
    assert A1._torch_count(32, 16, "keras", 256) - 784 == 4352
    assert A1._torch_count(32, 16, "pytorch") == 800


@pytest.mark.parametrize("check", ["rnn_backward", "rnn_backward_truncated"])
def test_bptt_references_match_rnnlab_full_and_truncated(check):
    from rnnlab.rnn import rnn_backward, rnn_forward

    for case in A2.CHECKS[check].make_cases():
        dh, cache = case.args
        k = case.kwargs.get("truncate")
        if case.meta.get("expects_error"):
            continue
        _, rl_cache = rnn_forward(cache["x"], cache["h0"], cache["params"])
        want = rnn_backward(dh, rl_cache, truncate=k)
        got = A2._sequence_reference(dh, cache, k)
        assert rel_error(got[0], want[0]) < 1e-12 and rel_error(got[1], want[1]) < 1e-12, case.name
        assert all(rel_error(got[2][n], want[2][n]) < 1e-12 for n in A2.PARAM_NAMES), case.name


def test_loss_and_clipping_references_match_rnnlab():
    from rnnlab.losses import softmax_cross_entropy
    from rnnlab.optim import clip_grad_norm

    for case in A2._ce_cases(24):
        loss, dlogits = softmax_cross_entropy(*case.args)
        ref_loss, ref_d, _ = A2._ce_reference(*case.args)
        assert abs(loss - ref_loss) <= 1e-12 * abs(loss) and rel_error(dlogits, ref_d) < 1e-12, case.name
    for case in A2._clip_cases(25):
        clipped, total = clip_grad_norm(*case.args)
        ref, ref_total = A2._clip_reference(*case.args)
        assert abs(total - ref_total) <= 1e-12 * max(total, 1.0), case.name
        assert all(rel_error(clipped[k], ref[k]) < 1e-12 for k in clipped), case.name


def test_truncated_reference_differs_from_full_bptt_when_it_should():
    # Guards the check itself: a reference that ignored `truncate` would pass the truncation mutants.
    case = A2._truncated_cases(23)[0]
    dh, cache = case.args
    full, cut = A2._sequence_reference(dh, cache, None), A2._sequence_reference(dh, cache, 2)
    assert rel_error(full[2]["W_hh"], cut[2]["W_hh"]) > 1e-3
