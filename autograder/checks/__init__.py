"""Hidden checks, one module per assignment (``a1_rnn_cell.py`` ... ``a6_gru_attention.py``, ``fixture.py``).

Instructor-only: the sandbox mounts an empty directory over this package, so student code
can neither read the cases nor the verdicts. Each module defines ``CHECKS`` (check id ->
:class:`~autograder.checks.base.Check`) and may define ``FORBIDDEN`` (dotted names of
``rnnlab`` reference implementations whose use earns no points, see
:mod:`autograder.grading.shortcuts`).
"""

from autograder.checks.base import (
    Case, Check, Result, Verdict, evaluate, load_checks, load_forbidden,
)

__all__ = ["Case", "Check", "Result", "Verdict", "evaluate", "load_checks", "load_forbidden"]
