"""Every launch and download link of every built page points at a file that really exists.

Reads ``_build/html/**/*.html`` after ``make book`` (``make test`` builds first; under CI the
build must be there). A download link must name a file of the build; a launch link must name
a notebook that the service can open where the service looks for it:

- Colab reads ``github/<org>/<repo>/blob/<branch>/<path>`` from GitHub. On the branch that
  ``make publish`` pushes ``_build/html`` to, the path must be a notebook of the build, and
  it must be that page's chapter (its cells, after the setup cell that installs the course);
  on the source branch, a notebook tracked by git.
- Any other launch service (Binder, JupyterHub, ...) is not configured today; a button for
  one fails here until this test is taught where that service reads its files.
"""

import os
import re
import subprocess
import sys
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
GROUPS = ("dropdown-launch-buttons", "dropdown-download-buttons")

sys.path.insert(0, str(ROOT / "book" / "_ext"))
from student_notebooks import SETUP_TAG  # noqa: E402  (the extension that writes the notebooks)


class _ButtonLinks(HTMLParser):
    """(group, href) of every <a> inside a launch or download dropdown of a page."""

    def __init__(self):
        super().__init__()
        self.links, self._stack = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div":
            classes = (attrs.get("class") or "").split()
            self._stack.append(next((g for g in GROUPS if g in classes), None))
        elif tag == "a" and any(self._stack):
            self.links.append((next(g for g in reversed(self._stack) if g), attrs.get("href", "")))

    def handle_endtag(self, tag):
        if tag == "div" and self._stack:
            self._stack.pop()


def _config():
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def _publish_branch():
    return re.search(r"^PUBLISH_BRANCH \?= (\S+)$", (ROOT / "Makefile").read_text(), re.M).group(1)


def _tracked(path):
    done = subprocess.run(["git", "ls-files", "--error-unmatch", path], cwd=ROOT, capture_output=True)
    return done.returncode == 0


def _pages():
    if not (HTML / "index.html").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"no built book at {HTML}: make test builds it before the tests")
        pytest.skip(f"no built book at {HTML} (run make book; under CI this test must run)")
    pages = {}
    for page in sorted(HTML.rglob("*.html")):
        parser = _ButtonLinks()
        parser.feed(page.read_text(encoding="utf-8"))
        if parser.links:
            pages[page] = parser.links
    return pages


def _notebook_sources():
    """The pages of _toc.yml written as MyST notebooks: the ones that get launch buttons."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    docs = [toc["root"]] + [c["file"] for part in toc.get("parts", []) for c in part.get("chapters", [])]
    return [d for d in docs if (ROOT / f"{d}.md").read_text(encoding="utf-8").startswith("---\njupytext:")]


def _code(nb):
    return [c.source for c in nb.cells if c.cell_type == "code"]


def _check_colab(page, url, problems):
    parts = url.path.strip("/").split("/")
    if len(parts) < 6 or parts[0] != "github" or parts[3] != "blob":
        problems.append(f"{page}: Colab link {url.geturl()} is not github/<org>/<repo>/blob/<branch>/<path>")
        return
    org, repo, branch, path = parts[1], parts[2], parts[4], "/".join(parts[5:])
    repository = _config()["repository"]
    if f"https://github.com/{org}/{repo}" != repository["url"].rstrip("/"):
        problems.append(f"{page}: Colab link names {org}/{repo}, not {repository['url']}")
    if not path.endswith(".ipynb"):
        problems.append(f"{page}: Colab link {path} is not a notebook: Colab opens only .ipynb")
        return
    if branch == _publish_branch():
        target = HTML / path
        if not target.is_file():
            problems.append(f"{page}: Colab link {path} on {branch}: the build has no {target.relative_to(ROOT)}")
            return
        nb = nbformat.read(target, as_version=4)
        nbformat.validate(nb)
        docname = path.removeprefix("_notebooks/").removesuffix(".ipynb")
        page_doc = page.with_suffix("").as_posix()  # page is relative to _build/html
        if docname != page_doc:
            problems.append(f"{page}: Colab opens the notebook of {docname}, not of this page")
        source = jupytext.read(ROOT / f"{docname}.md")
        if SETUP_TAG not in nb.cells[0].metadata.get("tags", []) or _code(nb)[1:] != _code(source):
            problems.append(f"{page}: {path} is not the setup cell followed by the code of {docname}.md")
        if repository["url"].rstrip("/") not in nb.cells[0].source:
            problems.append(f"{page}: the setup cell of {path} does not install from {repository['url']}")
    elif branch == repository.get("branch", "main"):
        if not _tracked(path):
            problems.append(f"{page}: Colab link {path} on {branch} is not a file of the repository")
    else:
        problems.append(f"{page}: Colab link on branch {branch}, which neither the repository nor make publish provides")


def test_every_launch_and_download_link_points_at_a_real_file():
    pages = _pages()
    problems, counts = [], {"launch": 0, "download": 0}
    for page, links in pages.items():
        rel_page = page.relative_to(HTML)
        for group, href in links:
            url = urllib.parse.urlparse(href)
            if group == "dropdown-download-buttons":
                counts["download"] += 1
                if url.scheme or url.netloc:
                    problems.append(f"{rel_page}: download link {href} leaves the site")
                    continue
                target = (page.parent / urllib.parse.unquote(url.path)).resolve()
                if not target.is_relative_to(HTML.resolve()) or not target.is_file():
                    problems.append(f"{rel_page}: download link {href} names no file of the build")
                elif target.suffix == ".ipynb":
                    nbformat.validate(nbformat.read(target, as_version=4))
            else:
                counts["launch"] += 1
                if url.netloc == "colab.research.google.com":
                    _check_colab(rel_page, url, problems)
                else:
                    problems.append(f"{rel_page}: launch link {href}: this test does not know where "
                                    f"{url.netloc} reads files; teach it before adding the button")
    assert not problems, "\n".join(problems)
    # Not vacuous: one Colab link and two downloads (.md, .ipynb) per page with code.
    n = len(_notebook_sources())
    assert n and counts["launch"] == n and counts["download"] >= 2 * n, (n, counts)


def test_every_notebook_page_has_a_colab_button():
    # The check above passes on pages without buttons; a page that lost its Colab button
    # (a theme update, a wrong rewrite) fails here instead.
    pages = _pages()
    notebook_pages = {p for p, links in pages.items()
                      if any(href.endswith(".ipynb") for g, href in links if g == "dropdown-download-buttons")}
    without = sorted(str(p.relative_to(HTML)) for p in notebook_pages
                     if not any("colab.research.google.com" in href for _, href in pages[p]))
    assert notebook_pages and not without, f"pages without a Colab button: {without}"
