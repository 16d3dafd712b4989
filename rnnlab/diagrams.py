"""Code-drawn diagrams of unrolled recurrent networks (matplotlib boxes and arrows).

Used by the book's chapters "Shapes of sequence tasks" (``book/05_sequence_shapes``) and
"Bidirectional RNNs" (``book/06_bidirectional``); the plain Elman and Jordan pictures are
:func:`rnnlab.plots.plot_unrolled`. A diagram is a :class:`Graph`: named boxes placed on a grid
(column = time step, row = layer) and arrows between them. Builders return the graph of one
architecture, so a test can check its wiring (which arrows exist) and :func:`draw` renders it.
"""

from dataclasses import dataclass, field

import numpy as np

from ._validate import check_choice, check_positive_int

__all__ = ["Node", "Graph", "draw", "birnn_graph", "shape_graph", "ROLES", "SHAPES"]

# The colours of rnnlab.plots.plot_unrolled, so the book's diagrams look alike.
ROLES = {"input": "#dbe9f6", "hidden": "#fde9c9", "output": "#dff0d8", "state": "#eeeeee"}
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
    """Boxes and arrows; ``edges`` are ``(src, dst, style, curve)``: style "solid" or "dashed"
    (dashed marks the recurrent feedback), curve the arc's bend (0 straight; the sign picks
    the side)."""

    nodes: dict = field(default_factory=dict)
    edges: list = field(default_factory=list)
    title: str = ""
    row_names: dict = field(default_factory=dict)

    def add(self, name, col, row, label, role, step=None):
        self.nodes[name] = Node(col, row, label, role, step)

    def link(self, src, dst, style="solid", curve=0.0):
        for end in (src, dst):
            if end not in self.nodes:
                raise ValueError(f"edge ({src!r} -> {dst!r}) names the unknown node {end!r}")
        check_choice("style", style, ("solid", "dashed"))
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
        ax.add_patch(FancyArrowPatch(tuple(start + scale * d), tuple(end - scale * d),
                                     arrowstyle="-|>", mutation_scale=12, lw=1.3,
                                     ls="--" if style == "dashed" else "-",
                                     connectionstyle=f"arc3,rad={rad}",
                                     color="#444444" if style == "dashed" else "black"))
    cols = sorted({n.col for n in graph.nodes.values()})
    rows = sorted({n.row for n in graph.nodes.values()})
    margin = 0.6 + 0.5 * max([abs(e[3]) for e in graph.edges] + [0.0])  # room for bent arcs
    ax.set_xlim(min(cols) - margin, max(cols) + margin)
    ax.set_ylim(min(rows) - 0.6, max(rows) + 0.6)
    ticks = {n.col: ("init" if n.step is None else str(n.step)) for n in graph.nodes.values()}
    ax.set_xticks(sorted(ticks))
    ax.set_xticklabels([ticks[c] for c in sorted(ticks)])
    ax.set_yticks(rows)
    names = dict(graph.row_names)
    for n in graph.nodes.values():
        if n.role != "state":
            names.setdefault(n.row, n.role)
    ax.set_yticklabels([names.get(r, "") for r in rows])
    ax.set_xlabel("time step t")
    ax.set_ylabel("layer")
    ax.set_title(graph.title)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_aspect("equal")
    return ax
