"""Bad input to the sequence models raises a ValueError that names the argument and the shapes.

One table row per (function, kind of mistake): wrong rank, mismatched batch, mismatched
width, NaN/inf, bad option. Each expected message is written from the shapes in the row, so
a message that drops the argument name or one of the shapes fails.
"""

import re

import numpy as np
import pytest

from rnnlab import _validate as v
from rnnlab.birnn import birnn_backward, birnn_forward
from rnnlab.gru import gru_backward, gru_forward, gru_step_backward, gru_step_forward, init_gru_params
from rnnlab.jordan import (init_jordan_params, jordan_backward, jordan_forward, jordan_step_backward,
                           jordan_step_forward)
from rnnlab.lstm import init_lstm_params, lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward
from rnnlab.rnn import init_rnn_params, rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

T, N, D, H, K = 3, 2, 4, 5, 3
X = np.zeros((T, N, D))
P_RNN, P_LSTM, P_JORDAN = init_rnn_params(D, H), init_lstm_params(D, H), init_jordan_params(D, H, K)
P_GRU = init_gru_params(D, H)


def _nan_at(shape, index, value=np.nan):
    a = np.zeros(shape)
    a[index] = value
    return a


def _esc(text):
    return re.escape(text)


_RNN_CACHE = rnn_forward(X, None, P_RNN)[1]
_LSTM_CACHE = lstm_forward(X, None, P_LSTM)[1]
_JORDAN_CACHE = jordan_forward(X, None, P_JORDAN)[1]
_GRU_CACHE = gru_forward(X, None, P_GRU)[1]
_GRU_STEP = gru_step_forward(X[0], np.zeros((N, H)), P_GRU)[1]
_RNN_STEP = rnn_step_forward(X[0], np.zeros((N, H)), P_RNN)[1]
_LSTM_STEP = lstm_step_forward(X[0], np.zeros((N, H)), np.zeros((N, H)), P_LSTM)[2]
_JORDAN_STEP = jordan_step_forward(X[0], np.zeros((N, K)), P_JORDAN)[1]
_BI_CACHE = birnn_forward(X, None, P_RNN, P_RNN)[1]

BATCH = "must equal x.shape[1] = 2 (batch N)"
WIDTH = "x.shape[-1] must equal params['W_ih'].shape[1] = 4 (input width D)"

CASES = {
    # ---- Elman
    "rnn_forward rank": (lambda: rnn_forward(X[0], None, P_RNN), "x must be a 3-D array (T, N, D), got shape (2, 4)"),
    "rnn_forward batch": (lambda: rnn_forward(X, np.zeros((3, H)), P_RNN),
                          f"h0 has shape (3, 5) but x has shape (3, 2, 4): h0.shape[0] {BATCH}"),
    "rnn_forward width x": (lambda: rnn_forward(np.zeros((T, N, 6)), None, P_RNN),
                            f"x has shape (3, 2, 6) but params['W_ih'] has shape (5, 4): {WIDTH}"),
    "rnn_forward width h0": (lambda: rnn_forward(X, np.zeros((N, 6)), P_RNN),
                             "h0 must have shape (N, H) = (2, 5), got shape (2, 6)"),
    "rnn_forward nan x": (lambda: rnn_forward(_nan_at((T, N, D), (1, 0, 2)), None, P_RNN),
                          "x contains NaN or inf: 1 of 24 entries (shape (3, 2, 4)), first at index (1, 0, 2)"),
    "rnn_forward inf h0": (lambda: rnn_forward(X, _nan_at((N, H), (1, 3), np.inf), P_RNN),
                           "h0 contains NaN or inf: 1 of 10 entries (shape (2, 5)), first at index (1, 3)"),
    "rnn_forward nan param": (lambda: rnn_forward(X, None, dict(P_RNN, b_hh=_nan_at((H,), 4))),
                              "params['b_hh'] contains NaN or inf: 1 of 5 entries (shape (5,)), first at index (4,)"),
    "rnn_forward param shape": (lambda: rnn_forward(X, None, dict(P_RNN, W_hh=np.zeros((H, 4)))),
                                "params['W_hh'] must have shape (H, H) = (4, 4), got shape (5, 4)"),
    "rnn_forward missing key": (lambda: rnn_forward(X, None, {"W_ih": P_RNN["W_ih"], "W_hh": P_RNN["W_hh"]}),
                                "params is missing keys ['b_ih', 'b_hh']"),
    "rnn_forward empty": (lambda: rnn_forward(np.zeros((0, N, D)), None, P_RNN),
                          "x must have at least one time step (T >= 1), got shape (0, 2, 4)"),
    "rnn_forward option": (lambda: rnn_forward(X, None, P_RNN, nonlinearity="gelu"),
                           "nonlinearity must be one of ['relu', 'sigmoid', 'tanh'], got 'gelu'"),
    "rnn_backward shape": (lambda: rnn_backward(np.zeros((T, N, 6)), _RNN_CACHE),
                           "dh must have shape (T, N, H) = (3, 2, 5), got shape (3, 2, 6)"),
    "rnn_backward rank": (lambda: rnn_backward(np.zeros((N, H)), _RNN_CACHE),
                          "dh must be a 3-D array (T, N, H), got shape (2, 5)"),
    "rnn_backward nan": (lambda: rnn_backward(_nan_at((T, N, H), (2, 1, 0)), _RNN_CACHE),
                         "dh contains NaN or inf: 1 of 30 entries (shape (3, 2, 5)), first at index (2, 1, 0)"),
    "rnn_backward truncate": (lambda: rnn_backward(np.zeros((T, N, H)), _RNN_CACHE, truncate=0),
                              "truncate must be an int >= 1 or None, got 0"),
    "rnn_step_forward rank": (lambda: rnn_step_forward(X, np.zeros((N, H)), P_RNN),
                              "x must be a 2-D array (N, D), got shape (3, 2, 4)"),
    "rnn_step_forward batch": (lambda: rnn_step_forward(X[0], np.zeros((4, H)), P_RNN),
                               "h_prev has shape (4, 5) but x has shape (2, 4): h_prev.shape[0] must equal "
                               "x.shape[0] = 2 (batch N)"),
    "rnn_step_backward shape": (lambda: rnn_step_backward(np.zeros((N, 4)), _RNN_STEP),
                                "dh_next must have shape (N, H) = (2, 5), got shape (2, 4)"),
    # ---- LSTM
    "lstm_forward width x": (lambda: lstm_forward(np.zeros((T, N, 2)), None, P_LSTM),
                             f"x has shape (3, 2, 2) but params['W_ih'] has shape (20, 4): {WIDTH}"),
    "lstm_forward batch c0": (lambda: lstm_forward(X, None, P_LSTM, c0=np.zeros((3, H))),
                              f"c0 has shape (3, 5) but x has shape (3, 2, 4): c0.shape[0] {BATCH}"),
    "lstm_forward param shape": (lambda: lstm_forward(X, None, dict(P_LSTM, W_hh=np.zeros((H, H)))),
                                 "params['W_hh'] must have shape (4H, H) = (20, 5), got shape (5, 5)"),
    "lstm_forward nan": (lambda: lstm_forward(_nan_at((T, N, D), (0, 1, 1)), None, P_LSTM),
                         "x contains NaN or inf: 1 of 24 entries (shape (3, 2, 4)), first at index (0, 1, 1)"),
    "lstm_backward shape": (lambda: lstm_backward(np.zeros((T, 1, H)), _LSTM_CACHE),
                            "dh must have shape (T, N, H) = (3, 2, 5), got shape (3, 1, 5)"),
    "lstm_step_forward rank c": (lambda: lstm_step_forward(X[0], np.zeros((N, H)), np.zeros(H), P_LSTM),
                                 "c_prev must be a 2-D array (N, H), got shape (5,)"),
    "lstm_step_backward dc": (lambda: lstm_step_backward(np.zeros((N, H)), np.zeros((N, 6)), _LSTM_STEP),
                              "dc_next must have shape (N, H) = (2, 5), got shape (2, 6)"),
    # ---- GRU
    "gru_forward rank": (lambda: gru_forward(X[0], None, P_GRU), "x must be a 3-D array (T, N, D), got shape (2, 4)"),
    "gru_forward width x": (lambda: gru_forward(np.zeros((T, N, 2)), None, P_GRU),
                            f"x has shape (3, 2, 2) but params['W_ih'] has shape (15, 4): {WIDTH}"),
    "gru_forward batch h0": (lambda: gru_forward(X, np.zeros((3, H)), P_GRU),
                             f"h0 has shape (3, 5) but x has shape (3, 2, 4): h0.shape[0] {BATCH}"),
    "gru_forward width h0": (lambda: gru_forward(X, np.zeros((N, 6)), P_GRU),
                             "h0 must have shape (N, H) = (2, 5), got shape (2, 6)"),
    "gru_forward param shape": (lambda: gru_forward(X, None, dict(P_GRU, W_hh=np.zeros((4 * H, H)))),
                                "params['W_hh'] must have shape (3H, H) = (15, 5), got shape (20, 5)"),
    "gru_forward bias shape": (lambda: gru_forward(X, None, dict(P_GRU, b_hh=np.zeros(H))),
                               "params['b_hh'] must have shape (3H,) = (15,), got shape (5,)"),
    "gru_forward nan x": (lambda: gru_forward(_nan_at((T, N, D), (2, 1, 3)), None, P_GRU),
                          "x contains NaN or inf: 1 of 24 entries (shape (3, 2, 4)), first at index (2, 1, 3)"),
    "gru_forward nan param": (lambda: gru_forward(X, None, dict(P_GRU, W_ih=_nan_at((3 * H, D), (7, 1)))),
                              "params['W_ih'] contains NaN or inf: 1 of 60 entries (shape (15, 4)), "
                              "first at index (7, 1)"),
    "gru_forward empty": (lambda: gru_forward(np.zeros((0, N, D)), None, P_GRU),
                          "x must have at least one time step (T >= 1), got shape (0, 2, 4)"),
    "gru_backward shape": (lambda: gru_backward(np.zeros((T, N, 6)), _GRU_CACHE),
                           "dh must have shape (T, N, H) = (3, 2, 5), got shape (3, 2, 6)"),
    "gru_backward nan": (lambda: gru_backward(_nan_at((T, N, H), (0, 0, 4)), _GRU_CACHE),
                         "dh contains NaN or inf: 1 of 30 entries (shape (3, 2, 5)), first at index (0, 0, 4)"),
    "gru_step_forward rank": (lambda: gru_step_forward(X, np.zeros((N, H)), P_GRU),
                              "x must be a 2-D array (N, D), got shape (3, 2, 4)"),
    "gru_step_forward rank h": (lambda: gru_step_forward(X[0], np.zeros(H), P_GRU),
                                "h_prev must be a 2-D array (N, H), got shape (5,)"),
    "gru_step_forward batch": (lambda: gru_step_forward(X[0], np.zeros((4, H)), P_GRU),
                               "h_prev has shape (4, 5) but x has shape (2, 4): h_prev.shape[0] must equal "
                               "x.shape[0] = 2 (batch N)"),
    "gru_step_backward shape": (lambda: gru_step_backward(np.zeros((N, 4)), _GRU_STEP),
                                "dh_next must have shape (N, H) = (2, 5), got shape (2, 4)"),
    "gru_step_backward inf": (lambda: gru_step_backward(_nan_at((N, H), (1, 2), np.inf), _GRU_STEP),
                              "dh_next contains NaN or inf: 1 of 10 entries (shape (2, 5)), first at index (1, 2)"),
    # ---- Jordan
    "jordan_forward width y0": (lambda: jordan_forward(X, np.zeros((N, 4)), P_JORDAN),
                                "y0 must have shape (N, K) = (2, 3), got shape (2, 4)"),
    "jordan_forward batch y0": (lambda: jordan_forward(X, np.zeros((1, K)), P_JORDAN),
                                f"y0 has shape (1, 3) but x has shape (3, 2, 4): y0.shape[0] {BATCH}"),
    "jordan_forward width x": (lambda: jordan_forward(np.zeros((T, N, 7)), None, P_JORDAN),
                               f"x has shape (3, 2, 7) but params['W_ih'] has shape (5, 4): {WIDTH}"),
    "jordan_forward param": (lambda: jordan_forward(X, None, dict(P_JORDAN, W_yh=np.zeros((H, 2)))),
                             "params['W_yh'] must have shape (H, K) = (5, 3), got shape (5, 2)"),
    "jordan_forward option": (lambda: jordan_forward(X, None, P_JORDAN, output="tanh"),
                              "output must be one of ['identity', 'sigmoid', 'softmax'], got 'tanh'"),
    "jordan_backward shape": (lambda: jordan_backward(np.zeros((T, N, H)), _JORDAN_CACHE),
                              "dy must have shape (T, N, K) = (3, 2, 3), got shape (3, 2, 5)"),
    "jordan_step_forward inf": (lambda: jordan_step_forward(X[0], _nan_at((N, K), (0, 2), -np.inf), P_JORDAN),
                                "y_prev contains NaN or inf: 1 of 6 entries (shape (2, 3)), first at index (0, 2)"),
    "jordan_step_backward rank": (lambda: jordan_step_backward(np.zeros(K), _JORDAN_STEP),
                                  "dy_next must be a 2-D array (N, K), got shape (3,)"),
    # ---- bidirectional
    "birnn_forward rank h0": (lambda: birnn_forward(X, np.zeros((N, H)), P_RNN, P_RNN),
                              "h0 must be a 3-D array (2, N, H), got shape (2, 5)"),
    "birnn_backward shape": (lambda: birnn_backward(np.zeros((T, N, H)), _BI_CACHE),
                             "dout must have shape (T, N, 2H) = (3, 2, 10), got shape (3, 2, 5)"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_names_the_argument_and_shapes(case):
    call, message = CASES[case]
    with pytest.raises(ValueError, match=_esc(message)):
        call()


# ---------------------------------------------------------------- the helpers themselves

def test_as_array_converts_without_copying_float64_and_refuses_bad_dtypes():
    a = np.ones((2, 3))
    assert v.as_array("a", a, ndim=2) is a
    assert v.as_array("a", [[1, 2]], dims="(N, D)").dtype == np.float64
    with pytest.raises(ValueError, match=_esc("idx must be an integer array, got dtype float64 with shape (3,)")):
        v.as_array("idx", np.zeros(3), dtype=np.int64)
    with pytest.raises(ValueError, match="a must be a real array"):
        v.as_array("a", np.array(["x"]))
    with pytest.raises(ValueError, match="a must be a numeric array, got an object array"):
        v.as_array("a", np.array([None, 1]))
    with pytest.raises(ValueError, match="a must be an array, could not convert"):
        v.as_array("a", [[1, 2], [3]])
    with pytest.raises(ValueError, match=_esc("x must be a 3-D array (T, N, D), got shape (4, 5)")):
        v.as_array("x", np.zeros((4, 5)), dims="(T, N, D)")


def test_check_shape_wildcards_and_message():
    v.check_shape("h", np.zeros((2, 7)), (None, 7))
    with pytest.raises(ValueError, match=_esc("h must have shape (N, H) = (?, 7), got shape (2, 8)")):
        v.check_shape("h", np.zeros((2, 8)), (None, 7), "(N, H)")
    with pytest.raises(ValueError, match=_esc("h must have shape (7,), got shape (1, 7)")):
        v.check_shape("h", np.zeros((1, 7)), (7,))


def test_check_same_reports_both_shapes_and_axes():
    v.check_same("a", np.zeros((2, 3)), "b", np.zeros((5, 3)), 1)
    with pytest.raises(ValueError, match=_esc("a has shape (2, 3) but b has shape (2, 4): a.shape[1] must equal "
                                              "b.shape[1] = 4 (width H)")):
        v.check_same("a", np.zeros((2, 3)), "b", np.zeros((2, 4)), 1, "width H")
    with pytest.raises(ValueError, match=_esc("a.shape[2] must equal b.shape[0] = 2")):
        v.check_same("a", np.zeros((2, 3)), "b", np.zeros((2, 4)), (2, 0))  # a has no axis 2


def test_check_finite_counts_and_locates():
    v.check_finite("a", np.arange(3))  # integers cannot be NaN
    with pytest.raises(ValueError, match=_esc("a contains NaN or inf: 2 of 4 entries (shape (2, 2)), "
                                              "first at index (0, 1)")):
        v.check_finite("a", np.array([[0.0, np.nan], [np.inf, 1.0]]))


def test_small_checks():
    assert v.check_positive_int("k", np.int64(3)) == 3
    for bad in (0, -1, 2.0, True, "3"):
        with pytest.raises(ValueError, match="k must be an int >= 1"):
            v.check_positive_int("k", bad)
    assert v.check_positive_int("k", None, allow_none=True) is None
    with pytest.raises(ValueError, match=_esc("cell must be one of ['a', 'b'], got 'c'")):
        v.check_choice("cell", "c", ("b", "a"))
    with pytest.raises(ValueError, match=_esc("params must be a dict with keys ['W'], got list")):
        v.check_keys("params", [], ["W"])
    with pytest.raises(ValueError, match=_esc("idx has 2 entries outside the vocabulary [0, 4) (shape (2, 2)), "
                                              "first 4 at index (0, 1)")):
        v.check_indices("idx", np.array([[0, 4], [-1, 3]]), 4)
    assert v.shape_str((3,)) == "(3,)" and v.shape_str((None, 2)) == "(?, 2)"
