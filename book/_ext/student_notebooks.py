"""Chapters as notebooks that Colab can open, generated from their MyST sources at every build.

Colab opens ``.ipynb`` files from GitHub; it cannot open the ``.md`` sources this book is
written in, and the sources are the only notebooks the repository commits. So, at the end of
each HTML build:

1. every page with code (a MyST notebook, the pages that get launch buttons) is converted by
   jupytext, without outputs, to ``_build/html/_notebooks/<page>.ipynb``;
2. a first cell is put in front of it that installs the course's package (``rnnlab``) and
   ``myst-nb`` (the chapters' ``glue``) where they are missing, since Colab has numpy, torch
   and matplotlib but not these;
3. each page's Colab button is pointed at that notebook on the branch the site is published
   to (``student_notebooks_branch``, ``gh-pages``: ``make publish`` pushes ``_build/html``
   there), which is on GitHub beside the sources, where Colab can read it.

The theme builds its launch links in ``html-page-context`` at priority 501; the rewrite runs
after it. ``tests/book/test_links.py`` checks every launch and download link of the built
pages against the files the build and the repository provide.
"""

from pathlib import Path

import jupytext
import nbformat

NOTEBOOK_DIR = "_notebooks"
SETUP_TAG = "colab-setup"

# Colab's Python is newer than the 3.11 that pyproject.toml declares; rnnlab is pure Python
# on numpy and torch, so the declared range is not enforced there.
SETUP_CELL = '''\
# Colab, or any Jupyter without the course installed: install the course's package
# (rnnlab) and myst-nb (for glue) once. With `make lab` they are already installed.
import importlib.util

if not all(importlib.util.find_spec(m) for m in ("rnnlab", "myst_nb")):
    %pip install --quiet --ignore-requires-python "rnn-course @ git+{repo_url}" myst-nb
'''


def notebook_path(pagename: str) -> str:
    """Where the notebook of ``pagename`` lies in the built site (``_notebooks/book/x.ipynb``)."""
    return f"{NOTEBOOK_DIR}/{pagename}.ipynb"


def _repo_url(app) -> str:
    url = app.config.html_theme_options.get("repository_url", "")
    if not url:
        raise ValueError("student_notebooks: set repository.url in _config.yml (the setup cell installs from it)")
    return url.rstrip("/")


def _is_notebook(app, docname: str) -> bool:
    # The theme's own test for giving a page launch buttons.
    return "kernelspec" in app.env.metadata.get(docname, {})


def student_notebook(source: Path, repo_url: str) -> nbformat.NotebookNode:
    """The chapter at ``source`` (MyST .md) as a notebook with the setup cell first."""
    nb = jupytext.read(source)
    nb.metadata.pop("jupytext", None)
    setup = nbformat.v4.new_code_cell(SETUP_CELL.format(repo_url=repo_url),
                                      metadata={"tags": [SETUP_TAG]})
    nb.cells.insert(0, setup)
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"  # stable ids: the same source gives the same file
    nbformat.validate(nb)
    return nb


def _write_notebooks(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    repo_url = _repo_url(app)
    out = Path(app.outdir)
    for docname in sorted(app.env.found_docs):
        if not _is_notebook(app, docname):
            continue
        target = out / notebook_path(docname)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(student_notebook(Path(app.env.doc2path(docname)), repo_url), target)


def _colab_url(app, pagename: str) -> str:
    org, repo = _repo_url(app).split("github.com/", 1)[1].split("/")[:2]
    colab = app.config.html_theme_options["launch_buttons"]["colab_url"].rstrip("/")
    branch = app.config.student_notebooks_branch
    return f"{colab}/github/{org}/{repo}/blob/{branch}/{notebook_path(pagename)}"


def _point_colab_buttons(app, pagename, templatename, context, doctree):
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            if button.get("text") == "Colab":
                button["url"] = _colab_url(app, pagename)


def setup(app):
    app.add_config_value("student_notebooks_branch", "gh-pages", "html")
    app.connect("html-page-context", _point_colab_buttons, priority=600)
    app.connect("build-finished", _write_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
