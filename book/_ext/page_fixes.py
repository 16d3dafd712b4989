"""Serve MathJax 3 from the built book instead of a CDN, so pages render math offline.

The MathJax files come from the pinned ``django-static-mathjax`` wheel (MathJax 3.2.2 as
static files; it has no Django dependency). ``tex-svg.js`` is used because it is a single
self-contained file: the SVG output needs no web fonts.
"""

import shutil
from importlib import resources
from pathlib import Path

MATHJAX_FILE = "tex-svg.js"


def _mathjax_source() -> Path:
    root = resources.files("mathjax") / "static" / "mathjax" / "es5" / MATHJAX_FILE
    path = Path(str(root))
    if not path.is_file():
        raise FileNotFoundError(
            f"MathJax not found at {path}: install requirements.txt (django-static-mathjax)"
        )
    return path


def _copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(_mathjax_source(), target / MATHJAX_FILE)


def setup(app):
    _mathjax_source()  # fail at start-up, not after a long build
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
