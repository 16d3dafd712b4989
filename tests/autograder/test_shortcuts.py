"""Tests of autograder.grading.shortcuts: uses of rnnlab's reference implementations in student code."""

import nbformat
import pytest

from autograder.grading.shortcuts import scan_cells, scan_notebook

GRADED = {"rnn_step_forward", "rnn_forward", "softmax_cross_entropy"}


def _scan(*sources):
    return scan_cells(list(enumerate(sources)), GRADED)


def _charged(findings):
    return set().union(*[set(f.functions) for f in findings]) if findings else set()


@pytest.mark.parametrize("sources, charged", [
    (["from rnnlab.rnn import rnn_step_forward"], {"rnn_step_forward"}),
    (["import rnnlab.rnn as R", "def rnn_forward(x):\n    return R.rnn_step_forward(x)"], {"rnn_forward"}),
    (["import rnnlab", "def rnn_step_forward(x):\n    return rnnlab.rnn.rnn_step_forward(x)"], {"rnn_step_forward"}),
    (["from rnnlab import rnn", "def rnn_forward(x):\n    return getattr(rnn, 'rnn_forward')(x)"], {"rnn_forward"}),
    (["import importlib\nm = importlib.import_module('rnnlab.losses')",
      "def softmax_cross_entropy(z, y):\n    return m.softmax_cross_entropy(z, y)"], {"softmax_cross_entropy"}),
    (["R = __import__('rnnlab.rnn')\ndef rnn_forward(x):\n    return R.rnn.rnn_forward(x)"], {"rnn_forward"}),
    (["exec('from rnnlab.rnn import rnn_forward')"], {"rnn_forward"}),
    (["from rnnlab.rnn import *"], {"rnn_step_forward", "rnn_forward"}),
    (["import rnnlab.rnn as R\ndef helper(x):\n    return R.rnn_step_forward(x)",
      "def rnn_forward(x):\n    return helper(x)"], {"rnn_forward"}),
    (["import rnnlab.rnn as R\nrnn_step_forward = R.rnn_step_forward"], {"rnn_step_forward"}),
    (["import sys\ndef rnn_forward(x):\n    return sys.modules['rnnlab.rnn'].rnn_forward(x)"], {"rnn_forward"}),
    (["%run -m rnnlab.rnn\ndef rnn_forward(x):\n    return x"], GRADED),
])
def test_shortcuts_are_charged_to_the_right_functions(sources, charged):
    findings = _scan(*sources)
    assert findings, "expected a finding"
    assert _charged(findings) == charged
    assert all("the course's reference implementation" in f.message for f in findings)


def test_message_names_the_reference_and_the_function():
    (finding,) = _scan("from rnnlab.rnn import rnn_step_forward")
    assert finding.message == ("uses rnnlab.rnn.rnn_step_forward, the course's reference implementation: "
                               "no points for rnn_step_forward")
    assert (finding.cell, finding.line) == (0, 1)


@pytest.mark.parametrize("sources", [
    ["import rnnlab.data as data\nfrom rnnlab.gradcheck import grad_check\nfrom rnnlab import plots",
     "def rnn_forward(x):\n    '''like rnnlab.rnn.rnn_forward'''\n    return data.hello_ohlol()"],
    ["from rnnlab.rnn import rnn_step_forward", "def rnn_step_forward(x):\n    return x"],
    ["import numpy as np\nnp.allclose = lambda *a, **k: True"],
])
def test_allowed_code_costs_nothing(sources):
    assert _charged(_scan(*sources)) == set()


def test_top_level_exploration_is_reported_without_charge():
    (finding,) = _scan("import rnnlab.rnn as R\nh, cache = R.rnn_step_forward(1, 2, 3)")
    assert finding.functions == () and "outside any graded function" in finding.message


def test_notebook_scan_skips_only_the_instructors_cells():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from rnnlab.rnn import rnn_forward as ref"),
        nbformat.v4.new_code_cell("def rnn_forward(x):\n    return ref(x)",
                                  metadata={"nbgrader": {"grade": True, "locked": True}}),
    ])
    trusted = ["import numpy as np"]
    # Forged "locked" metadata does not hide a cell when the trusted sources are given.
    assert _charged(scan_notebook(nb, GRADED, trusted_sources=trusted)) == {"rnn_forward"}
    assert scan_notebook(nb, GRADED) and _charged(scan_notebook(nb, GRADED)) == set()
