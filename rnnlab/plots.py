"""Matplotlib helpers for the book: an unrolled-RNN diagram, heatmaps and training curves.

Every function draws on ``ax`` (a new figure when ``ax`` is None), labels every axis and
returns the ``Axes`` (``plot_gates`` returns the ``Figure`` of its four panels). Nothing here
calls ``plt.show()`` or chooses a backend: a notebook keeps its inline backend, and on a
machine without a display matplotlib falls back to Agg by itself (tests may also set
``MPLBACKEND=Agg``).
"""

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.patches import FancyBboxPatch

from ._validate import as_array, check_choice, check_keys, check_positive_int

__all__ = ["plot_unrolled", "plot_heatmap", "plot_gates", "plot_grad_norms", "plot_losses"]

GATE_NAMES = {"i": "input gate i", "f": "forget gate f", "g": "candidate g", "o": "output gate o"}

_BOX = dict(boxstyle="round,pad=0.02,rounding_size=0.08", linewidth=1.5)
_ROWS = {"x": 0.0, "h": 1.0, "y": 2.0}  # heights of the input, cell and output rows


def _new_ax(ax, figsize):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _box(ax, x, y, text, w, h, face, gid):
    patch = FancyBboxPatch((x - w / 2, y - h / 2), w, h, facecolor=face, edgecolor="black", **_BOX)
    patch.set_gid(gid)
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=11)


def _arrow(ax, start, end, gid, label=None, label_offset=(0.0, 0.12), style="arc3,rad=0"):
    ann = ax.annotate("", xy=end, xytext=start,
                      arrowprops=dict(arrowstyle="-|>", lw=1.4, color="black",
                                      shrinkA=0, shrinkB=0, connectionstyle=style))
    ann.set_gid(gid)
    if label:
        mid = ((start[0] + end[0]) / 2 + label_offset[0], (start[1] + end[1]) / 2 + label_offset[1])
        ax.text(*mid, label, ha="center", va="bottom", fontsize=10, color="dimgray")


def plot_unrolled(T, ax=None, cell="RNN", folded=False, feedback="hidden"):
    """Draw a recurrent network unrolled over ``T`` steps (or folded into one cell).

    Each step has an input box ``x_t`` feeding the cell, the cell feeding the output ``y_t``,
    and the state arrow ``h_{t-1} -> h_t`` from one copy of the cell to the next: the same
    cell (the same weights) at every step. With ``feedback="output"`` (a Jordan network) the
    arrow into step t leaves ``y_{t-1}`` instead. ``folded=True`` draws the single cell with
    its loop, the compact picture the unrolled one expands.

    T : int >= 1, steps to draw
    cell : str, the text in each cell box ("RNN", "LSTM", ...)
    returns : Axes; cell boxes have gid "cell", arrows gids "arrow-x", "arrow-y", "arrow-h"
    """
    T = check_positive_int("T", T)
    check_choice("feedback", feedback, {"hidden", "output"})
    lstm = str(cell).upper() == "LSTM" and feedback == "hidden"

    def state(k):
        """Label of the state carried into the next step, e.g. $h_{t-1}$ or $h_2, c_2$."""
        if feedback == "output":
            return f"$y_{{{k}}}$"
        return f"$h_{{{k}}}, c_{{{k}}}$" if lstm else f"$h_{{{k}}}$"

    steps = 1 if folded else T
    ax = _new_ax(ax, figsize=(1.7 * steps + 2.2, 3.6))
    w, h = 0.9, 0.5
    xs = np.arange(steps) * 1.8
    for k, xc in enumerate(xs):
        t = "t" if folded else str(k + 1)
        _box(ax, xc, _ROWS["x"], f"$x_{{{t}}}$", w * 0.7, h * 0.8, "#dbe9f6", "input")
        _box(ax, xc, _ROWS["h"], str(cell), w, h, "#fde9c9", "cell")
        _box(ax, xc, _ROWS["y"], f"$y_{{{t}}}$", w * 0.7, h * 0.8, "#dff0d8", "output")
        _arrow(ax, (xc, _ROWS["x"] + h * 0.4), (xc, _ROWS["h"] - h / 2), "arrow-x")
        _arrow(ax, (xc, _ROWS["h"] + h / 2), (xc, _ROWS["y"] - h * 0.4), "arrow-y")
    if folded:
        # A bracket on the right: out of the cell (or the output) and back into the cell.
        if feedback == "hidden":
            start, end = (w / 2, _ROWS["h"] + 0.12), (w / 2, _ROWS["h"] - 0.12)
        else:
            start, end = (w * 0.35, _ROWS["y"]), (w / 2, _ROWS["h"])
        _arrow(ax, start, end, "arrow-h", style="arc,angleA=0,angleB=0,armA=35,armB=30,rad=6")
        ax.text(w / 2 + 0.55, (start[1] + end[1]) / 2, state("t-1"), ha="left", va="center",
                fontsize=10, color="dimgray")
        ax.set_xticks([0.0], labels=["every step t"])
        ax.set_xlabel("folded: one cell whose state is fed back at the next step")
        x_lo, x_hi = -1.3, 1.6
    else:
        for k, xc in enumerate(xs):
            src_y = _ROWS["h"] if feedback == "hidden" else _ROWS["y"]
            start_x = xc - 1.8 + (w / 2 if feedback == "hidden" else w * 0.35)
            if k == 0:  # the initial state, zeros unless given
                start_x = xc - 1.1
            _arrow(ax, (start_x, src_y), (xc - w / 2, _ROWS["h"]), "arrow-h",
                   label=state(k), label_offset=(0.0, 0.05))
        ax.set_xticks(xs, labels=[f"t = {k + 1}" for k in range(steps)])
        ax.set_xlabel("time step (the same cell and weights at every step)")
        x_lo, x_hi = -1.3, xs[-1] + 0.8
    ax.set_yticks(list(_ROWS.values()), labels=["input $x_t$", "cell (state $h_t$)", "output $y_t$"])
    ax.set_ylabel("layer")
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(-0.5, 2.6)
    ax.set_aspect("equal", adjustable="box")  # boxes keep their shape in any figure
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    kind = "folded" if folded else f"unrolled over {T} steps"
    ax.set_title(f"{cell} {kind}" + (" (output fed back)" if feedback == "output" else ""))
    return ax


def plot_heatmap(values, ax=None, title=None, xlabel="time step t", ylabel="hidden unit",
                 cmap="RdBu_r", vmin=None, vmax=None, colorbar=True, label="value"):
    """Heatmap of a sequence of vectors, time running left to right.

    values : ndarray (T, H), e.g. hidden states of one sequence
    vmin, vmax : colour limits; by default symmetric around 0, ``+-max|values|``
    returns : Axes
    """
    values = as_array("values", values, dims="(T, H)", finite=True)
    T, H = values.shape
    if vmin is None and vmax is None:
        m = float(np.max(np.abs(values))) or 1.0
        vmin, vmax = -m, m
    ax = _new_ax(ax, figsize=(min(2 + 0.35 * T, 12), min(1.5 + 0.25 * H, 8)))
    im = ax.imshow(values.T, aspect="auto", origin="lower", cmap=cmap, vmin=vmin, vmax=vmax,
                   interpolation="nearest", extent=(0.5, T + 0.5, -0.5, H - 0.5))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, label=label)
    return ax


def plot_gates(gates, ax=None, n=0):
    """The four LSTM gate activations of one sequence as heatmaps i, f, g, o.

    gates : dict with keys ``i, f, g, o``, each ndarray (T, N, H) (``cache["gates"]`` of
        ``lstm_forward``) or (T, H)
    ax : None or a sequence of four Axes
    n : int, the sequence of the batch to show when the gates are (T, N, H)
    returns : Figure
    """
    check_keys("gates", gates, list(GATE_NAMES))
    arrays = {}
    for k in GATE_NAMES:
        a = as_array(f"gates[{k!r}]", gates[k], finite=True)
        if a.ndim == 3:
            if not 0 <= n < a.shape[1]:
                raise ValueError(f"n must index the batch of gates[{k!r}] with shape {a.shape}, got {n}")
            a = a[:, n, :]
        if a.ndim != 2:
            raise ValueError(f"gates[{k!r}] must be a 3-D array (T, N, H) or 2-D (T, H), got shape {a.shape}")
        arrays[k] = a
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1:
        raise ValueError(f"gates must all have the same shape, got "
                         f"{ {k: a.shape for k, a in arrays.items()} }")
    if ax is None:
        # Two by two: four panels in a row would shrink to unreadable labels in a text column.
        fig, grid = plt.subplots(2, 2, figsize=(9, 6), sharex=True, sharey=True,
                                 constrained_layout=True)
        axes = list(grid.ravel())
    else:
        axes = list(ax)
        if len(axes) != 4:
            raise ValueError(f"ax must be four Axes (one per gate), got {len(axes)}")
        fig = axes[0].figure
    for a_x, (k, name) in zip(axes, GATE_NAMES.items()):
        # Sigmoid gates live in [0, 1]; the tanh candidate in [-1, 1].
        lims = (-1.0, 1.0) if k == "g" else (0.0, 1.0)
        cmap = "RdBu_r" if k == "g" else "viridis"
        plot_heatmap(arrays[k], ax=a_x, title=name, cmap=cmap, vmin=lims[0], vmax=lims[1],
                     label=k)
    return fig


def _check_curves(name, curves):
    if not isinstance(curves, dict) or not curves:
        raise ValueError(f"{name} must be a non-empty dict label -> 1-D sequence, got {type(curves).__name__}")
    out = {}
    for label, values in curves.items():
        arr = as_array(f"{name}[{label!r}]", values, ndim=1, dims="(L,)")
        if arr.size == 0:
            raise ValueError(f"{name}[{label!r}] is empty")
        out[label] = arr
    return out


def plot_grad_norms(norms_by_label, ax=None, xlabel="steps back in time", ylabel="gradient norm",
                    title=None):
    """Gradient norms on a log scale, one line per label (vanishing looks like a straight fall).

    norms_by_label : dict label -> ndarray (L,) of norms >= 0; entry k is plotted at x = k.
        Zeros (underflow) and inf or NaN (overflow) cannot sit on a log axis: they are gaps.
    returns : Axes
    """
    curves = _check_curves("norms_by_label", norms_by_label)
    ax = _new_ax(ax, figsize=(6, 4))
    for label, norms in curves.items():
        if np.any(norms < 0):
            raise ValueError(f"norms_by_label[{label!r}] must hold norms >= 0, got {norms.min()}")
        shown = np.where((norms > 0) & np.isfinite(norms), norms, np.nan)
        ax.plot(np.arange(len(norms)), shown, marker="o", markersize=3, label=str(label))
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{ylabel} (log scale)")
    if title:
        ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return ax


def plot_losses(losses_by_label, ax=None, xlabel="epoch", ylabel="loss", title=None, logy=False):
    """Training curves, one line per label (e.g. ``{"train": [...], "validation": [...]}``).

    losses_by_label : dict label -> ndarray (L,); entry k is plotted at x = k + 1 (a diverged
        run's inf or NaN shows as a gap)
    returns : Axes
    """
    curves = _check_curves("losses_by_label", losses_by_label)
    ax = _new_ax(ax, figsize=(6, 4))
    for label, losses in curves.items():
        ax.plot(np.arange(1, len(losses) + 1), losses, label=str(label))
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return ax
