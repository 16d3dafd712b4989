"""The hidden checks of assignments 3 and 4: their torch references agree with rnnlab (a second,
independent implementation of the course's conventions), their centred-difference oracles agree
with autograd, and their messages never print an expected value."""

import numpy as np
import pytest

from autograder.checks import _recurrent as R
from autograder.checks import a3_elman_jordan_birnn as A3
from autograder.checks import a4_lstm as A4
from autograder.checks._common import rel_error


def agree(a, b):
    """Elementwise agreement ten times tighter than the checks' (RTOL 1e-9, ATOL 1e-11): near-zero
    gradients of saturated units differ between implementations in relative terms only."""
    return np.allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    torch.set_num_threads(1)


def test_jordan_reference_matches_rnnlab_forward_and_bptt():
    from rnnlab.jordan import jordan_backward, jordan_forward

    for case in A3.CHECKS["jordan_backward"].make_cases():
        dy, cache = case.args
        y, rl_cache = jordan_forward(cache["x"], cache["y0"], cache["params"])
        ref = A3._jordan_reference(cache["x"], cache["y0"], cache["params"], dy)
        assert agree(ref["y"], y) and agree(ref["h"], rl_cache["h"]), case.name
        assert agree(cache["y"], y), case.name  # the cache handed to the student
        dx, dy0, grads = jordan_backward(dy, rl_cache)
        assert agree(ref["grads"]["x"], dx) and agree(ref["grads"]["y0"], dy0), case.name
        assert all(agree(ref["grads"][k], grads[k]) for k in A3.JORDAN_PARAMS), case.name


def test_birnn_reference_matches_rnnlab():
    from rnnlab.birnn import birnn_backward, birnn_forward

    for case in A3.CHECKS["birnn_backward"].make_cases():
        dout, cache = case.args
        x, h0 = cache["fwd"]["x"], case.meta["h0"]
        pf, pb = cache["fwd"]["params"], cache["bwd"]["params"]
        out, rl_cache = birnn_forward(x, h0, pf, pb)
        ref = A3._birnn_reference(x, h0, pf, pb, dout)
        assert agree(ref["out"], out), case.name
        dx, dh0, gf, gb = birnn_backward(dout, rl_cache)
        assert agree(ref["dx"], dx) and agree(ref["dh0"], dh0), case.name
        assert all(agree(ref["grads"]["fwd"][k], gf[k]) and agree(ref["grads"]["bwd"][k], gb[k])
                   for k in A3.ELMAN_PARAMS), case.name


def test_lstm_references_match_rnnlab_step_and_sequence():
    from rnnlab.lstm import lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward

    for case in A4.CHECKS["lstm_step_backward"].make_cases():
        dh, dc, cache = case.args
        args = (cache["x"], cache["h_prev"], cache["c_prev"], cache["params"])
        h, c, rl = lstm_step_forward(*args)
        ref = A4._step_reference(*args, dh, dc)
        assert agree(ref["h"], h) and agree(ref["c"], c), case.name
        assert all(agree(ref["gates"][k], rl["gates"][k]) for k in A4.GATES), case.name
        want = lstm_step_backward(dh, dc, rl)
        for got, key in zip(want[:3], ("x", "h_prev", "c_prev")):
            assert agree(ref["grads"][key], got), (case.name, key)
        assert all(agree(ref["grads"][k], want[3][k]) for k in A4.PARAMS), case.name
    for case in A4.CHECKS["lstm_backward"].make_cases():
        dh, cache = case.args
        h, rl = lstm_forward(cache["x"], cache["h0"], cache["params"], c0=cache["c0"])
        ref = A4._seq_reference(cache["x"], cache["h0"], cache["c0"], cache["params"], dh)
        assert agree(ref["h"], h) and agree(ref["c"], rl["c"]), case.name
        assert all(agree(ref["gates"][k], rl["gates"][k]) for k in A4.GATES), case.name
        dx, dh0, grads = lstm_backward(dh, rl)
        assert agree(ref["grads"]["x"], dx) and agree(ref["grads"]["h0"], dh0), case.name
        assert all(agree(ref["grads"][k], grads[k]) for k in A4.PARAMS), case.name


def test_centred_difference_oracles_agree_with_autograd():
    case = next(c for c in A4.CHECKS["lstm_backward"].make_cases() if c.meta["oracle"] == "centred")
    dh, cache = case.args
    args = (cache["x"], cache["h0"], cache["c0"], cache["params"])
    num, ref = A4._seq_numerical(*args, dh), A4._seq_reference(*args, dh)["grads"]
    assert all(rel_error(num[k], ref[k]) < 1e-8 for k in ("x", "h0", *A4.PARAMS))
    case = next(c for c in A3.CHECKS["jordan_backward"].make_cases() if c.meta["oracle"] == "centred")
    dy, cache = case.args
    num = A3._jordan_numerical(cache["x"], cache["y0"], cache["params"], dy)
    ref = A3._jordan_reference(cache["x"], cache["y0"], cache["params"], dy)["grads"]
    assert all(rel_error(num[k], ref[k]) < 1e-8 for k in ("x", "y0", *A3.JORDAN_PARAMS))


def test_lstm_parameter_counts_match_the_lecture_notes():
    # The notes' Keras summary: LSTM(100) on width 60 has 64400, Bidirectional(LSTM(100)) 128800.
    assert A4._torch_count(60, 100, "keras") == 64400
    assert A4._torch_count(60, 100, "keras", bidirectional=True) == 128800
    assert A4._torch_count(60, 100, "pytorch", bidirectional=True) == 128800 + 2 * 4 * 100


def test_gate_table_verdict_runs_the_cell_it_describes():
    # Biases of +-30 (the book's choice) pass every row; the same biases for another row fail it.
    def biases(i, f, H, cand=0.5):
        return np.repeat([30.0 if i else -30.0, 30.0 if f else -30.0, np.arctanh(cand), 30.0], H)

    from autograder.checks.base import Result

    for case in A4.CHECKS["gate_biases"].make_cases():
        if case.meta.get("expects_error"):
            continue
        row, H = case.args
        cand = case.kwargs.get("candidate", 0.5)
        assert A4._bias_verdict(case, Result(value=biases(*A4.ROWS[row], H, cand))).passed, case.name
        wrong = next(r for r in A4.ROWS if r != row)
        verdict = A4._bias_verdict(case, Result(value=biases(*A4.ROWS[wrong], H, cand)))
        assert not verdict.passed and f"implement the row {wrong!r}" in verdict.message, case.name


def test_hidden_messages_never_print_expected_values():
    want = np.array([[0.123456789, 2.5], [3.75, -1.0]])
    got = want.copy()
    got[0, 0] = 9.0
    message = R.array_issue("h", got, want)
    assert "9.0" in message and "0.123456789" not in message and "(0, 0)" in message
    assert "float32" in R.array_issue("h", want.astype(np.float32), want)
    assert "7 digits" in R.array_issue("h", want.astype(np.float32).astype(np.float64), want)


def test_a_mistake_that_gives_the_right_answer_is_not_named_as_a_cause():
    want = np.ones(3)
    got = want + 1.0
    assert "likely cause: same" not in R.array_issue("h", got, want, hints={"same": want.copy()})
    assert "likely cause: doubled" in R.array_issue("h", got, want, hints={"doubled": 2 * want})


@pytest.mark.parametrize("module, check, reference", [(A3, "jordan_forward", "rnnlab.jordan"),
                                                      (A4, "lstm_forward", "rnnlab.lstm")])
def test_an_empty_sequence_expects_the_error_class_rnnlab_raises(module, check, reference):
    import importlib

    forward = getattr(importlib.import_module(reference), check)
    cases = [c for c in module.CHECKS[check].make_cases() if c.meta.get("expects_error")]
    assert [c.args[0].shape[0] for c in cases] == [0]
    with pytest.raises(ValueError):
        forward(*cases[0].args[:3])


def test_teacher_forced_references_match_rnnlab_steps_and_centred_differences():
    from rnnlab.gradcheck import numerical_gradient
    from rnnlab.jordan import jordan_step_backward, jordan_step_forward

    for case in A3.CHECKS["jordan_backward_teacher"].make_cases():
        dy, cache = case.args
        x, fed, params = cache["x"], cache["fed"], cache["params"]
        if x.shape[1] == 0:
            continue
        ref = A3._teacher_reference(x, fed, params, dy)
        steps = [jordan_step_forward(x[t], fed[t], params) for t in range(x.shape[0])]
        want = np.stack([y for y, _ in steps])
        assert np.allclose(ref["y"], want, rtol=1e-12, atol=1e-14), case.name
        # rnnlab's step backward with each step's dy alone: nothing flows between steps
        grads = [jordan_step_backward(dy[t], c)[2] for t, (_, c) in enumerate(steps)]
        for k in params:
            want = sum(g[k] for g in grads)
            assert np.allclose(ref["grads"][k], want, rtol=1e-10, atol=1e-12), case.name
        if case.meta["oracle"] == "centred":
            def loss(W_yh):
                y = A3._teacher_reference(x, fed, {**params, "W_yh": W_yh})["y"]
                return float(np.sum(y * dy))
            num = numerical_gradient(loss, params["W_yh"])
            assert np.allclose(num, ref["grads"]["W_yh"], rtol=1e-6, atol=1e-8)
        # the carried-gradient hint (what jordan_backward would do) is another answer,
        # except where saturated tanh units pass (almost) nothing back
        dx_hints, _ = A3._teacher_carry_hints(dy, cache)
        (hx,) = dx_hints.values()
        if x.shape[0] > 1 and "saturating" not in case.name:
            assert not np.allclose(hx, ref["grads"]["x"], rtol=1e-9, atol=0), case.name


def test_teacher_inputs_reference_is_zeros_then_the_previous_one_hot_label():
    for case in A3.CHECKS["teacher_inputs"].make_cases():
        if case.meta.get("expects_error"):
            targets, K = case.args
            assert np.any((targets < 0) | (targets >= K)), case.name
            continue
        targets, K = case.args
        fed = A3._teacher_inputs_reference(targets, K)
        assert fed.shape == targets.shape + (K,) and np.all(fed[0] == 0), case.name
        for t in range(1, targets.shape[0]):
            assert np.array_equal(fed[t].argmax(-1), targets[t - 1]), case.name
            assert np.all(fed[t].sum(-1) == 1), case.name
