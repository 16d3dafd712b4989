import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from rnnlab.diagrams import (  # noqa: E402
    SHAPES, Graph, birnn_graph, draw, lstm_cell_graph, shape_graph)


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


# -- the LSTM cell: the picture, evaluated along its arrows, is PyTorch's LSTMCell --

def _evaluate_lstm_graph(g, x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    """Run the graph: each node combines the values on its incoming arrows -> (h, c)."""
    import numpy as np

    H = h_prev.shape[1]
    blocks = {"i": 0, "f": 1, "g": 2, "o": 3}  # PyTorch's gate order
    values = {"x": x, "h_prev": h_prev, "c_prev": c_prev}
    preds = {n: [s for s, d, *_ in g.edges if d == n] for n in g.nodes}
    sigmoid = lambda a: 1.0 / (1.0 + np.exp(-a))  # noqa: E731

    def value(n):
        if n not in values:
            ins = [value(p) for p in preds[n]]
            if n == "a":  # the one node with weights: it must read exactly x and h_prev
                assert sorted(preds[n]) == ["h_prev", "x"]
                v = values["x"] @ W_ih.T + b_ih + values["h_prev"] @ W_hh.T + b_hh
            elif n in blocks:
                (a,) = ins
                blk = a[:, blocks[n] * H:(blocks[n] + 1) * H]
                v = np.tanh(blk) if n == "g" else sigmoid(blk)
            elif n.startswith("mul"):
                v = np.prod(ins, axis=0)
            elif n == "add":
                v = np.sum(ins, axis=0)
            elif n.startswith("tanh"):
                (v,) = ins
                v = np.tanh(v)
            else:  # c_next, h_next: copies of their single input
                (v,) = ins
            values[n] = v
        return values[n]

    return value("h_next"), value("c_next")


def _lstm_case():
    import torch

    torch.manual_seed(0)
    N, D, H = 3, 4, 5
    cell = torch.nn.LSTMCell(D, H).double()
    x, h, c = (torch.randn(N, k, dtype=torch.float64) for k in (D, H, H))
    with torch.no_grad():
        h_want, c_want = cell(x, (h, c))
    tensors = (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    weights = [t.detach().numpy() for t in tensors]
    return (x.numpy(), h.numpy(), c.numpy(), *weights), h_want.numpy(), c_want.numpy()


def test_lstm_cell_graph_computes_pytorchs_lstm_step():
    import numpy as np

    args, h_want, c_want = _lstm_case()
    h, c = _evaluate_lstm_graph(lstm_cell_graph(), *args)
    np.testing.assert_allclose(h, h_want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c, c_want, rtol=1e-12, atol=1e-12)


def test_lstm_cell_evaluation_catches_a_miswired_gate():
    """Test of the test: the forget and input gates swapped between their products."""
    import numpy as np

    g = lstm_cell_graph()
    swap = {("f", "mul_f"): ("i", "mul_f"), ("i", "mul_i"): ("f", "mul_i")}
    g.edges = [swap.get((s, d), (s, d)) + tuple(rest) for s, d, *rest in g.edges]
    args, h_want, _ = _lstm_case()
    h, _ = _evaluate_lstm_graph(g, *args)
    assert not np.allclose(h, h_want)


def test_lstm_cell_state_path_is_one_product_and_one_sum_and_is_drawn_bold():
    g = lstm_cell_graph()
    bold = [(s, d) for s, d, style, _ in g.edges if style == "bold"]
    assert bold == [("c_prev", "mul_f"), ("mul_f", "add"), ("add", "c_next")]
    # No weight matrix on the path: "a" (the only node with weights) is not on it.
    assert all("a" not in edge for edge in bold)
    ax = draw(g)
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    widths = sorted(p.get_linewidth() for p in arrows)
    assert len(arrows) == len(g.edges) and widths[-3] > widths[-4]  # three thick ones
    assert ax.get_xlabel() == g.xlabel and ax.get_title() == "Inside one LSTM step"
    assert ax.get_xticks().size == 0
    assert "cell state c" in [t.get_text() for t in ax.get_yticklabels()]
    plt.close(ax.figure)


def test_bold_is_a_style_and_unknown_styles_are_refused():
    g = Graph()
    g.add("a", 0, 0, "a", "input")
    g.add("b", 1, 0, "b", "gate")
    g.link("a", "b", "bold")
    with pytest.raises(ValueError, match="style must be one of"):
        g.link("a", "b", "dotted")
