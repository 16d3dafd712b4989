"""Notebooks and MyST sources are committed without outputs or execution counts."""

import json
import subprocess
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]


def tracked(pattern):
    """Files git tracks that match ``pattern`` (every file on disk outside a checkout)."""
    try:
        out = subprocess.run(["git", "ls-files", pattern], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
        return [ROOT / line for line in out.splitlines() if line]
    except (OSError, subprocess.CalledProcessError):
        return [p for p in ROOT.rglob(pattern) if ".venv" not in p.parts]


def cells_with_outputs(nb):
    return [i for i, cell in enumerate(nb["cells"]) if cell.get("cell_type") == "code"
            and (cell.get("outputs") or cell.get("execution_count") is not None)]


NOTEBOOKS = tracked("*.ipynb")
MYST = [p for p in tracked("*.md") if p.read_text(encoding="utf-8").startswith("---\njupytext:")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_has_no_outputs(path):
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        pytest.skip("not a notebook (a malformed-submission fixture)")
    if not isinstance(nb, dict) or "cells" not in nb:
        pytest.skip("not a notebook (a malformed-submission fixture)")
    assert cells_with_outputs(nb) == [], f"{path}: cells carry outputs; strip them"


@pytest.mark.parametrize("path", MYST, ids=lambda p: str(p.relative_to(ROOT)))
def test_myst_source_has_no_outputs(path):
    nb = jupytext.read(path)
    assert cells_with_outputs(nb) == []


def test_the_check_sees_outputs():
    nb = {"cells": [{"cell_type": "code", "outputs": [{"output_type": "stream"}],
                     "execution_count": 1, "source": "1"}]}
    assert cells_with_outputs(nb) == [0]
