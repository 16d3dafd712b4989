"""Code-drawn diagrams of unrolled recurrent networks (matplotlib boxes and arrows).

Used by the book's chapters "Shapes of sequence tasks" (``book/05_sequence_shapes``),
"Bidirectional RNNs" (``book/06_bidirectional``) and "LSTM" (``book/09_lstm``, the
inside of one cell: :func:`lstm_cell_graph`); the plain Elman and Jordan pictures,
folded or unrolled, are :func:`rnnlab.plots.plot_unrolled`. A diagram is a
:class:`Graph`: named boxes placed on a grid (column = time step, row = layer) and arrows
between them. Builders return the graph of one architecture, so a test can check its
wiring (which arrows exist) and :func:`draw` renders it.
"""

from dataclasses import dataclass, field

import numpy as np

from ._validate import check_choice, check_positive_int

__all__ = ["Node", "Graph", "draw", "birnn_graph", "shape_graph", "lstm_cell_graph",
           "ROLES", "SHAPES", "STYLES"]

# The colours of rnnlab.plots.plot_unrolled, so the book's diagrams look alike.
ROLES = {"input": "#dbe9f6", "hidden": "#fde9c9", "output": "#dff0d8",
         "state": "#eeeeee", "gate": "#f6d5d5", "op": "#ffffff"}
# Arrow styles: "solid" a value passed on, "dashed" the recurrent feedback, "bold" the
# path a figure is about (the LSTM's additive cell-state path).
STYLES = ("solid", "dashed", "bold")
SHAPES = ("one-to-many", "many-to-one", "many-to-many", "encoder-decoder")


@dataclass
class Node:
    """A box: centre ``(col, row)``, text ``label`` (mathtext allowed), ``role`` in ROLES,
    ``step`` the time step written under its column (None for the initial state)."""

    col: float
    row: float
    label: str
    role: str
    step: int | None = None

    def __post_init__(self):
        check_choice("role", self.role, ROLES)


@dataclass
class Graph:
    """Boxes and arrows; ``edges`` are ``(src, dst, style, curve)``: style in STYLES
    (dashed marks the recurrent feedback, bold the highlighted path), curve the arc's
    bend (0 straight; the sign picks the side). ``xlabel``, ``ylabel`` label the axes;
    ``step_ticks=False`` drops the time-step ticks of a picture not laid out in time."""

    nodes: dict = field(default_factory=dict)
    edges: list = field(default_factory=list)
    title: str = ""
    row_names: dict = field(default_factory=dict)
    xlabel: str = "time step t"
    ylabel: str = "layer"
    step_ticks: bool = True

    def add(self, name, col, row, label, role, step=None):
        self.nodes[name] = Node(col, row, label, role, step)

    def link(self, src, dst, style="solid", curve=0.0):
        for end in (src, dst):
            if end not in self.nodes:
                raise ValueError(f"edge ({src!r} -> {dst!r}) names the unknown node {end!r}")
        check_choice("style", style, STYLES)
        self.edges.append((src, dst, style, float(curve)))

    def has_edge(self, src, dst):
        return any(e[0] == src and e[1] == dst for e in self.edges)


def birnn_graph(T=3):
    """Bidirectional RNN: a forward row, a backward row, both feeding every output."""
    T = check_positive_int("T", T)
    g = Graph(title=f"Bidirectional RNN, unrolled for T={T}",
              row_names={1: "forward h", 2: "backward h"})
    for t in range(1, T + 1):
        c = 1.6 * t  # wider steps leave room for the arcs that skip a row
        g.add(f"x{t}", c, 0, f"$x_{t}$", "input", t)
        g.add(f"f{t}", c, 1, rf"$\overrightarrow{{h}}_{t}$", "hidden", t)
        g.add(f"b{t}", c, 2, rf"$\overleftarrow{{h}}_{t}$", "hidden", t)
        g.add(f"y{t}", c, 3, f"$y_{t}$", "output", t)
        g.link(f"x{t}", f"f{t}")
        g.link(f"x{t}", f"b{t}", curve=-0.9)  # bends left, around the forward box
        g.link(f"f{t}", f"y{t}", curve=0.9)  # bends right, around the backward box
        g.link(f"b{t}", f"y{t}")
    for t in range(1, T):
        g.link(f"f{t}", f"f{t + 1}", "dashed")
        g.link(f"b{t + 1}", f"b{t}", "dashed")
    return g


def shape_graph(shape, T_in=3, T_out=3):
    """The four task shapes of the notes, as unrolled graphs.

    shape : "one-to-many" (one input, T_out outputs), "many-to-one" (T_in inputs, one output),
        "many-to-many" (aligned, one output per input: T_out must equal T_in), or
        "encoder-decoder" (T_in inputs read, then T_out outputs written)
    """
    check_choice("shape", shape, SHAPES)
    T_in, T_out = check_positive_int("T_in", T_in), check_positive_int("T_out", T_out)
    g = Graph(title=shape)
    if shape == "one-to-many":
        steps, inputs, outputs = T_out, {1}, set(range(1, T_out + 1))
    elif shape == "many-to-one":
        steps, inputs, outputs = T_in, set(range(1, T_in + 1)), {T_in}
    elif shape == "many-to-many":
        if T_in != T_out:
            raise ValueError(f"many-to-many (aligned) needs T_in == T_out, got {T_in} and {T_out}")
        steps, inputs, outputs = T_in, set(range(1, T_in + 1)), set(range(1, T_in + 1))
    else:
        steps = T_in + T_out
        inputs, outputs = set(range(1, T_in + 1)), set(range(T_in + 1, steps + 1))
    for t in range(1, steps + 1):
        g.add(f"h{t}", t, 1, f"$h_{t}$", "hidden", t)
        if t in inputs:
            g.add(f"x{t}", t, 0, f"$x_{t}$", "input", t)
            g.link(f"x{t}", f"h{t}")
        if t in outputs:
            k = t - T_in if shape == "encoder-decoder" else t
            g.add(f"y{t}", t, 2, f"$y_{k}$", "output", t)
            g.link(f"h{t}", f"y{t}")
        if t > 1:
            g.link(f"h{t - 1}", f"h{t}", "dashed")
    return g


def lstm_cell_graph():
    """The inside of one LSTM step, PyTorch's equations (``rnnlab.lstm``), as a graph.

    Nodes: the inputs ``x``, ``h_prev``, ``c_prev``; the pre-activation ``a`` (all four
    blocks, ``a = W_ih x + b_ih + W_hh h_prev + b_hh``); the gates ``i``, ``f``, ``o``
    (sigmoid) and the candidate ``g`` (tanh), each one block of ``a``; the products
    ``mul_f = f * c_prev``, ``mul_i = i * g``, ``mul_o = o * tanh_c``; the sum
    ``add = mul_f + mul_i``; ``tanh_c``; the outputs ``c_next`` and ``h_next``. An edge
    carries a value into the node that uses it, so evaluating the nodes along the edges
    is one ``lstm_step_forward`` (tests/rnnlab/test_diagrams.py does that against
    PyTorch). The cell state's path ``c_prev -> mul_f -> add -> c_next`` has style
    "bold": one elementwise product and one sum, no weight matrix and no squashing.
    """
    rows = {3: "cell state c", 2: "", 1: "gates", 0: "hidden h", -1: "input x"}
    g = Graph(title="Inside one LSTM step", ylabel="", step_ticks=False, row_names=rows,
              xlabel="from the previous step (left) to the next")
    g.add("c_prev", 0, 3, "$c_{t-1}$", "state")
    g.add("h_prev", 0, 0, "$h_{t-1}$", "state")
    g.add("x", 2.4, -1, "$x_t$", "input")
    g.add("a", 2.4, 0, "$a_t$", "hidden")
    for name, col, label in (("f", 1.2, r"$\sigma$: f"), ("i", 2.2, r"$\sigma$: i"),
                             ("g", 3.2, "tanh: g"), ("o", 4.4, r"$\sigma$: o")):
        g.add(name, col, 1, label, "gate")
    g.add("mul_f", 1.2, 3, r"$\odot$", "op")
    g.add("mul_i", 2.7, 2, r"$\odot$", "op")
    g.add("add", 2.7, 3, "$+$", "op")
    g.add("c_next", 5.6, 3, "$c_t$", "state")
    g.add("tanh_c", 5.6, 2, "tanh", "op")
    g.add("mul_o", 5.6, 1, r"$\odot$", "op")
    g.add("h_next", 5.6, 0, "$h_t$", "output")
    g.link("x", "a")
    g.link("h_prev", "a")
    for gate in ("f", "i", "g", "o"):
        g.link("a", gate)
    g.link("c_prev", "mul_f", "bold")
    g.link("f", "mul_f")
    g.link("i", "mul_i")
    g.link("g", "mul_i")
    g.link("mul_f", "add", "bold")
    g.link("mul_i", "add")
    g.link("add", "c_next", "bold")
    g.link("c_next", "tanh_c")
    g.link("tanh_c", "mul_o")
    g.link("o", "mul_o")
    g.link("mul_o", "h_next")
    return g


def draw(graph, ax=None, box=(0.62, 0.42)):
    """Render ``graph`` with matplotlib; returns the ``Axes``.

    Boxes are ``FancyBboxPatch`` rectangles, arrows ``FancyArrowPatch`` (dashed for feedback).
    The x axis is labelled with the time step, the y axis with the layer of each row.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    if not isinstance(graph, Graph) or not graph.nodes:
        raise ValueError("graph must be a Graph with at least one node")
    if ax is None:
        cols = [n.col for n in graph.nodes.values()]
        rows = [n.row for n in graph.nodes.values()]
        _, ax = plt.subplots(figsize=(1.1 * (max(cols) - min(cols) + 1) + 1.5,
                                      0.9 * (max(rows) - min(rows) + 1) + 1.2))
    w, h = box
    for node in graph.nodes.values():
        ax.add_patch(FancyBboxPatch((node.col - w / 2, node.row - h / 2), w, h,
                                    boxstyle="round,pad=0.03", fc=ROLES[node.role], ec="black"))
        ax.text(node.col, node.row, node.label, ha="center", va="center", fontsize=11)
    for src, dst, style, curve in graph.edges:
        a, b = graph.nodes[src], graph.nodes[dst]
        start, end = np.array([a.col, a.row], float), np.array([b.col, b.row], float)
        d = end - start
        # Leave the arrow at the box border: shrink along the dominant direction.
        scale = min(w / 2 / abs(d[0]) if d[0] else np.inf, h / 2 / abs(d[1]) if d[1] else np.inf) + 0.04
        rad = curve if curve else (0.25 if (d[0] and d[1] and style == "dashed") else 0.0)
        color = {"dashed": "#444444", "bold": "#b2182b"}.get(style, "black")
        ax.add_patch(FancyArrowPatch(tuple(start + scale * d), tuple(end - scale * d),
                                     arrowstyle="-|>", mutation_scale=12,
                                     lw=3.0 if style == "bold" else 1.3,
                                     ls="--" if style == "dashed" else "-",
                                     connectionstyle=f"arc3,rad={rad}", color=color))
    cols = sorted({n.col for n in graph.nodes.values()})
    rows = sorted({n.row for n in graph.nodes.values()})
    margin = 0.6 + 0.5 * max([abs(e[3]) for e in graph.edges] + [0.0])  # room for bent arcs
    ax.set_xlim(min(cols) - margin, max(cols) + margin)
    ax.set_ylim(min(rows) - 0.6, max(rows) + 0.6)
    if graph.step_ticks:
        ticks = {n.col: ("init" if n.step is None else str(n.step))
                 for n in graph.nodes.values()}
        ax.set_xticks(sorted(ticks))
        ax.set_xticklabels([ticks[c] for c in sorted(ticks)])
    else:
        ax.set_xticks([])
    ax.set_yticks(rows)
    names = dict(graph.row_names)
    for n in graph.nodes.values():
        if n.role != "state":
            names.setdefault(n.row, n.role)
    ax.set_yticklabels([names.get(r, "") for r in rows])
    ax.set_xlabel(graph.xlabel)
    ax.set_ylabel(graph.ylabel)
    ax.set_title(graph.title)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_aspect("equal")
    return ax
