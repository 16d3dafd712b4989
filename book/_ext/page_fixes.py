"""Small fixes to the built pages so that they work offline and load without console errors.

1. MathJax 3 is served from the built book instead of a CDN, so pages render math offline.

The MathJax files come from the pinned ``django-static-mathjax`` wheel (MathJax 3.2.2 as
static files; it has no Django dependency). ``tex-svg.js`` is used because it is a single
self-contained file: the SVG output needs no web fonts.

2. sphinx-thebe (loaded by Jupyter Book even with thebe off) registers its inline
configuration script each time the environment is read, so a page can carry two
``const THEBE_JS_URL`` declarations and the second throws a SyntaxError in the browser.
Duplicate scripts are dropped from each page.
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


def _script_key(script):
    # Priority is left out, and an inline script's filename may be None or "": the two
    # registrations of the same script differ only there.
    if isinstance(script, str):
        return script, ()
    attributes = script.attributes or {}
    return str(script.filename or ""), tuple(sorted((k, str(v)) for k, v in attributes.items()))


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    _mathjax_source()  # fail at start-up, not after a long build
    app.connect("build-finished", _copy_mathjax)
    # Run last: other extensions add page scripts in their own html-page-context handlers.
    app.connect("html-page-context", _drop_duplicate_scripts, priority=999)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

