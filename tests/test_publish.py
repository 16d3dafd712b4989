"""`make publish` pushes the built book to the gh-pages branch of a remote, with .nojekyll.

Run against a local bare repository standing in for GitHub, from a throwaway course clone
whose `_build/html` is a small stand-in for a built book (the real build is `make book`'s
job, tested by tests/book/). `make -o book` skips the build prerequisite, so only the
publishing recipe itself runs.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"


def _git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _published(bare, branch):
    return set(_git("ls-tree", "-r", "--name-only", branch, cwd=bare).split())


def _makefile_value(name):
    match = re.search(rf"^{name} \?= (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert match, f"the Makefile sets no default for {name}"
    return match.group(1)


@pytest.fixture
def course(tmp_path):
    if not (VENV / "bin" / "ghp-import").is_file():
        pytest.fail("ghp-import is not installed in .venv: run make install")
    work, bare = tmp_path / "course", tmp_path / "site.git"
    _git("init", "-q", "--bare", str(bare), cwd=tmp_path)
    work.mkdir()
    shutil.copy(ROOT / "Makefile", work / "Makefile")
    (work / ".venv").symlink_to(VENV)
    _git("init", "-q", "-b", "main", cwd=work)
    for key, value in (("user.name", "Test"), ("user.email", "test@example.org")):
        _git("config", key, value, cwd=work)
    _git("add", "Makefile", cwd=work)
    _git("commit", "-q", "-m", "course", cwd=work)
    _git("remote", "add", "origin", str(bare), cwd=work)
    html = work / "_build" / "html"
    # Folders whose names start with "_" are the ones Jekyll would leave out of the site.
    for rel, text in (("index.html", "<p>v1</p>"), ("_static/book.css", "p {}"),
                      ("_notebooks/book/03_rnn_cell.ipynb", "{}")):
        (html / rel).parent.mkdir(parents=True, exist_ok=True)
        (html / rel).write_text(text)
    return work, bare


def _publish(work):
    done = subprocess.run(["make", "-o", "book", "publish"], cwd=work, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, f"make publish failed:\n{done.stdout}\n{done.stderr}"


def test_publish_pushes_the_site_with_nojekyll_to_gh_pages(course):
    work, bare = course
    branch = _makefile_value("PUBLISH_BRANCH")
    _publish(work)
    assert _published(bare, branch) == {".nojekyll", "index.html", "_static/book.css",
                                        "_notebooks/book/03_rnn_cell.ipynb"}
    head = _git("rev-parse", "--short", "HEAD", cwd=work).strip()
    assert head in _git("log", "-1", "--format=%s", branch, cwd=bare)

    # A second build replaces the site: a page that is gone is gone from the branch too.
    (work / "_build" / "html" / "_static" / "book.css").unlink()
    (work / "_build" / "html" / "index.html").write_text("<p>v2</p>")
    _publish(work)
    assert _published(bare, branch) == {".nojekyll", "index.html",
                                        "_notebooks/book/03_rnn_cell.ipynb"}
    assert _git("show", f"{branch}:index.html", cwd=bare) == "<p>v2</p>"


def test_colab_buttons_read_the_branch_publish_pushes_to():
    # The Colab links are built from _config.yml; the site is pushed by the Makefile.
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["sphinx"]["config"]["student_notebooks_branch"] == _makefile_value("PUBLISH_BRANCH")
