import matplotlib

matplotlib.use("Agg")  # headless tests; the library itself never picks a backend

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402

from rnnlab.plots import (plot_gates, plot_grad_norms, plot_heatmap, plot_losses,  # noqa: E402
                          plot_unrolled)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def assert_labelled(ax):
    assert ax.get_xlabel().strip(), "x axis has no label"
    assert ax.get_ylabel().strip(), "y axis has no label"


def gids(ax, gid):
    return [a for a in ax.get_children() if a.get_gid() == gid]


@pytest.mark.parametrize("T", [1, 4])
def test_unrolled_has_one_cell_and_three_arrows_per_step(T):
    ax = plot_unrolled(T, cell="LSTM")
    assert_labelled(ax)
    assert len(gids(ax, "cell")) == T
    for kind in ("arrow-x", "arrow-y", "arrow-h"):
        assert len(gids(ax, kind)) == T, kind
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("LSTM") == T
    assert any("h_{0}" in t for t in texts) and any(f"x_{{{T}}}" in t for t in texts)
    assert ax.get_title()


def test_folded_view_has_a_single_cell_with_a_loop():
    for feedback in ("hidden", "output"):
        ax = plot_unrolled(5, folded=True, feedback=feedback)
        assert_labelled(ax)
        assert len(gids(ax, "cell")) == 1 and len(gids(ax, "arrow-h")) == 1
        assert any("t-1" in t.get_text() for t in ax.texts)


def test_jordan_view_feeds_the_output_back():
    ax = plot_unrolled(3, cell="Jordan", feedback="output")
    labels = [t.get_text() for t in ax.texts]
    assert any("y_{0}" in t for t in labels) and not any("h_{0}" in t for t in labels)
    # each feedback arrow starts at the output row and ends at the cell row
    for ann in gids(ax, "arrow-h"):
        assert ann.xyann[1] > ann.xy[1]


def test_heatmap_draws_time_by_unit():
    T, H = 7, 3
    values = np.random.default_rng(0).normal(size=(T, H))
    fig, ax = plt.subplots()
    assert plot_heatmap(values, ax=ax, title="hidden states") is ax
    assert_labelled(ax)
    images = [c for c in ax.get_children() if isinstance(c, AxesImage)]
    assert len(images) == 1
    np.testing.assert_array_equal(images[0].get_array(), values.T)
    lo, hi = images[0].get_clim()
    assert lo == -hi == -np.abs(values).max()
    assert len(fig.axes) == 2  # the heatmap and its colour bar


def test_gates_four_labelled_panels():
    rng = np.random.default_rng(1)
    gates = {k: rng.uniform(size=(6, 2, 4)) for k in "ifo"}
    gates["g"] = rng.uniform(-1, 1, size=(6, 2, 4))
    fig = plot_gates(gates, n=1)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 4
    titles = [ax.get_title() for ax in panels]
    assert [t.split()[-1] for t in titles] == ["i", "f", "g", "o"]
    for ax, k in zip(panels, "ifgo"):
        assert_labelled(ax)
        np.testing.assert_array_equal(ax.images[0].get_array(), gates[k][:, 1, :].T)
    assert panels[2].images[0].get_clim() == (-1.0, 1.0)
    assert panels[0].images[0].get_clim() == (0.0, 1.0)


def test_grad_norms_log_scale_one_line_per_label():
    norms = {"tanh": 0.5 ** np.arange(12), "lstm": np.r_[0.9 ** np.arange(11), 0.0]}
    ax = plot_grad_norms(norms)
    assert_labelled(ax)
    assert ax.get_yscale() == "log"
    assert [line.get_label() for line in ax.get_lines()] == ["tanh", "lstm"]
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), norms["tanh"])
    assert np.isnan(ax.get_lines()[1].get_ydata()[-1])  # a zero norm is a gap, not an error
    assert ax.get_legend() is not None


def test_losses_curves():
    losses = {"train": [3.0, 2.0, 1.5], "validation": [3.2, 2.5, 2.4]}
    ax = plot_losses(losses, xlabel="epoch")
    assert_labelled(ax)
    assert len(ax.get_lines()) == 2
    np.testing.assert_array_equal(ax.get_lines()[1].get_xdata(), [1, 2, 3])
    assert plot_losses(losses, logy=True).get_yscale() == "log"


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match=r"values must be a 2-D array \(T, H\), got shape \(2, 3, 4\)"):
        plot_heatmap(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="values contains NaN"):
        plot_heatmap(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="gates is missing keys"):
        plot_gates({"i": np.zeros((2, 3))})
    with pytest.raises(ValueError, match="gates must all have the same shape"):
        plot_gates({"i": np.zeros((2, 3)), "f": np.zeros((2, 3)), "g": np.zeros((2, 3)), "o": np.zeros((3, 3))})
    with pytest.raises(ValueError, match="T must be an int >= 1"):
        plot_unrolled(0)
    with pytest.raises(ValueError, match="feedback must be one of"):
        plot_unrolled(2, feedback="cell")
    with pytest.raises(ValueError, match=r"norms_by_label\['a'\] must hold norms >= 0"):
        plot_grad_norms({"a": [1.0, -1.0]})
    with pytest.raises(ValueError, match=r"losses_by_label\['x'\] must be a 1-D array"):
        plot_losses({"x": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="losses_by_label must be a non-empty dict"):
        plot_losses({})
