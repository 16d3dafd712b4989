"""Open the built book in headless Chromium and check every page of the table of contents.

Needs the book built by ``make book`` (``make test`` builds it first). Checks, per page: no
JavaScript errors in the console, math rendered by MathJax (no raw ``$$`` left), every image
loaded, internal links resolve, and nothing (displayed equation, code cell, output, table, image)
is wider than its box at 1280 px, and no figure is scaled down so far that its labels
become unreadable; then that the search page finds "Jordan". Screenshots of
three chapters are saved in ``artifacts/``.
"""

import functools
import http.server
import threading
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

import chromium_driver

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
# Pages saved as screenshots in artifacts/ for a person to look at.
SCREENSHOT_PAGES = ("book/03_rnn_cell", "book/08_vanishing_gradients", "book/09_lstm")
# Elements allowed to be wider than their box at 1280 px: (page, start of the text) -> why.
OVERFLOW_EXCEPTIONS = {}


def toc_pages():
    """Every document of _toc.yml, in order, as paths without suffix."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        for chapter in part.get("chapters", []):
            pages.append(chapter["file"])
    return pages


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    if not (HTML / "index.html").is_file():
        pytest.fail(f"no built book at {HTML}: run `make book` first")
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = chromium_driver.start(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
if (!window.MathJax || !MathJax.startup || !MathJax.startup.promise) { done("no-mathjax"); return; }
MathJax.startup.promise.then(() => done("ok"), (err) => done("error: " + err));
"""

IMAGE_STATUS = """
const done = arguments[arguments.length - 1];
const imgs = Array.from(document.images);
Promise.all(imgs.map((img) => new Promise((resolve) => {
  const probe = new Image();
  probe.onload = () => resolve([img.src, probe.naturalWidth]);
  probe.onerror = () => resolve([img.src, 0]);
  probe.src = img.src;
}))).then(done);
"""


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])


@functools.lru_cache(maxsize=None)
def _fetch(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode("utf-8", "replace")


def _broken_internal_links(page_url):
    parser = _Links()
    parser.feed(_fetch(page_url))
    broken = []
    for href in parser.hrefs:
        target = urllib.parse.urljoin(page_url, href)
        if not target.startswith(page_url.split("/book/")[0]):
            continue  # external link: not ours to check offline
        base, _, fragment = target.partition("#")
        try:
            html = _fetch(base)
        except urllib.error.HTTPError as err:
            broken.append(f"{href} -> HTTP {err.code}")
            continue
        if fragment and fragment not in {"", "top"}:
            ids = _Links()
            ids.feed(html)
            if urllib.parse.unquote(fragment) not in ids.ids:
                broken.append(f"{href} -> no element with id {fragment!r}")
    return broken


@pytest.mark.parametrize("page", toc_pages())
def test_page_renders(server, browser, page):
    url = f"{server}/{page}.html"
    browser.get_log("browser")  # drop messages from the previous page
    browser.get(url)
    assert browser.title, f"{page}: page has no title"

    mathjax = browser.execute_async_script(WAIT_FOR_MATHJAX)
    assert mathjax in ("ok", "no-mathjax"), f"{page}: MathJax failed: {mathjax}"
    n_math = browser.execute_script("return document.querySelectorAll('.math').length")
    n_rendered = browser.execute_script("return document.querySelectorAll('mjx-container').length")
    if n_math:
        assert mathjax == "ok", f"{page}: {n_math} math elements but MathJax did not load"
        assert n_rendered >= n_math, f"{page}: {n_math} math elements, {n_rendered} rendered"
    text = browser.execute_script(
        "return Array.from(document.querySelectorAll('article p, article li, article .math'))"
        ".map(e => e.innerText).join('\\n')")
    assert "$$" not in text, f"{page}: raw $$ left in the rendered text"

    for src, width in browser.execute_async_script(IMAGE_STATUS):
        assert width > 0, f"{page}: image did not load: {src}"

    errors = [entry["message"] for entry in browser.get_log("browser")
              if entry["level"] == "SEVERE"]
    assert not errors, f"{page}: JavaScript console errors: {errors}"

    assert not _broken_internal_links(url), f"{page}: broken links {_broken_internal_links(url)}"

    if page in SCREENSHOT_PAGES:
        chromium_driver.screenshot(browser, page.replace("book/", "chapter-"))

    too_wide = [item for item in chromium_driver.overflowing(browser)
                if not any(item.split(": ", 1)[-1].startswith(start)
                           for (where, start) in OVERFLOW_EXCEPTIONS if where == page)]
    assert not too_wide, (f"{page}: {len(too_wide)} element(s) wider than their box at "
                          f"{chromium_driver.WIDTH} px: {too_wide}")
    shrunk = chromium_driver.shrunk_images(browser)
    assert not shrunk, (f"{page}: figures scaled below {chromium_driver.MIN_IMAGE_SCALE:.0%} of "
                        f"their size, labels unreadable (draw them narrower): {shrunk}")


def test_search_finds_jordan(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{server}/search.html?q=Jordan")
    results = WebDriverWait(browser, 30).until(
        ec.presence_of_all_elements_located((By.CSS_SELECTOR, "#search-results ul.search li")))
    titles = " ".join(r.text for r in results)
    assert "Jordan" in titles, f"search for Jordan returned: {titles!r}"
