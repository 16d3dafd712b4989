import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from rnnlab.diagrams import SHAPES, Graph, birnn_graph, draw, shape_graph  # noqa: E402


def test_birnn_runs_one_row_forward_and_one_backward_into_every_output():
    T = 3
    g = birnn_graph(T)
    for t in range(1, T + 1):
        assert g.has_edge(f"f{t}", f"y{t}") and g.has_edge(f"b{t}", f"y{t}")
    for t in range(1, T):
        assert g.has_edge(f"f{t}", f"f{t + 1}") and not g.has_edge(f"f{t + 1}", f"f{t}")
        assert g.has_edge(f"b{t + 1}", f"b{t}") and not g.has_edge(f"b{t}", f"b{t + 1}")


@pytest.mark.parametrize("shape, T_in, T_out, n_in, n_out", [
    ("one-to-many", 3, 4, 1, 4),
    ("many-to-one", 5, 2, 5, 1),
    ("many-to-many", 3, 3, 3, 3),
    ("encoder-decoder", 3, 2, 3, 2),
])
def test_shape_graphs_have_the_right_numbers_of_inputs_and_outputs(shape, T_in, T_out, n_in, n_out):
    g = shape_graph(shape, T_in, T_out)
    roles = [n.role for n in g.nodes.values()]
    assert roles.count("input") == n_in and roles.count("output") == n_out
    if shape == "encoder-decoder":
        # No output is written before the whole input has been read.
        first_out = min(n.col for n in g.nodes.values() if n.role == "output")
        last_in = max(n.col for n in g.nodes.values() if n.role == "input")
        assert first_out > last_in
    if shape == "one-to-many":
        assert [n.col for n in g.nodes.values() if n.role == "input"] == [1]


def test_draw_makes_one_box_per_node_and_one_arrow_per_edge_with_labelled_axes():
    for g in [birnn_graph(3)] + [shape_graph(s, 2, 2) for s in SHAPES]:
        ax = draw(g)
        boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
        arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
        assert len(boxes) == len(g.nodes) and len(arrows) == len(g.edges)
        assert ax.get_xlabel() == "time step t" and ax.get_ylabel() and ax.get_title() == g.title
        plt.close(ax.figure)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="shape must be one of"):
        shape_graph("two-to-two")
    with pytest.raises(ValueError, match="needs T_in == T_out"):
        shape_graph("many-to-many", 3, 2)
    with pytest.raises(ValueError, match="T must be an int >= 1"):
        birnn_graph(0)
    g = Graph()
    g.add("a", 0, 0, "a", "input")
    with pytest.raises(ValueError, match="unknown node 'b'"):
        g.link("a", "b")
    with pytest.raises(ValueError, match="role must be one of"):
        g.add("c", 0, 1, "c", "memory")
    with pytest.raises(ValueError, match="at least one node"):
        draw(Graph())
