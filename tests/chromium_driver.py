"""Headless Chromium for the browser tests (the book's pages, the grader's HTML pages).

The machine has no network beyond package registries, so Chromium is kept from calling home.
The window is 1280 pixels wide: the width the pages must fit without horizontal scrollbars.
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
WIDTH, HEIGHT = 1280, 1600

# Elements whose content must fit their box: displayed equations, code cells, outputs, tables.
# Counts every such element whose content is wider than the box it sits in (a horizontal
# scrollbar, or content cut off), and the page itself.
OVERFLOW = """
const selectors = ['div.math', 'mjx-container[display="true"]', 'div.highlight pre',
                   'div.cell_output pre', 'div.output pre', 'table', 'pre', 'img'];
const seen = new Set(), wide = new Set(), out = [];
const root = document.querySelector('article') || document.body;
for (const sel of selectors) {
  for (const el of root.querySelectorAll(sel)) {
    if (seen.has(el)) continue;
    seen.add(el);
    // Not rendered (a collapsed cell, a closed dropdown): nothing to read until it is opened.
    if (el.offsetParent === null || el.closest('details:not([open])')) continue;
    if (sel.startsWith('mjx') && wide.has(el.closest('div.math'))) continue;  // counted once
    const box = el.tagName === 'IMG' || el.tagName === 'TABLE' ? el.parentElement : el;
    const tooWide = el.tagName === 'IMG' || el.tagName === 'TABLE'
      ? el.getBoundingClientRect().width > box.clientWidth + 1
      : el.scrollWidth > el.clientWidth + 1;
    if (tooWide) {
      wide.add(el);
      // Array.from splits by code point: slicing a string could cut a surrogate pair (the
      // math italic letters MathJax writes) and break the result's transfer to Python.
      const text = (el.innerText || el.getAttribute('alt') || '').replace(/\\s+/g, ' ');
      out.push(sel + ': ' + Array.from(text).slice(0, 80).join(''));
    }
  }
}
const page = document.documentElement;
if (page.scrollWidth > page.clientWidth + 1) out.push('the page: ' + page.scrollWidth + 'px wide');
return out;
"""


def start(profile_dir):
    """A headless Chromium WebDriver at WIDTH x HEIGHT; the caller quits it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 f"--window-size={WIDTH},{HEIGHT}", f"--user-data-dir={profile_dir}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    return driver


def overflowing(driver) -> list[str]:
    """What on the loaded page is wider than its box (empty when everything fits)."""
    return driver.execute_script(OVERFLOW)


# A figure drawn wider than the column is scaled down with its text: below this fraction of
# its drawn size, 10-point tick labels fall under about 9 pixels.
MIN_IMAGE_SCALE = 0.7

SHRUNK = """
return Array.from((document.querySelector('article') || document.body).querySelectorAll('img'))
  .filter(i => i.naturalWidth > 0 && i.offsetParent !== null)
  .map(i => [i.getAttribute('src').split('/').pop(), i.naturalWidth,
             Math.round(i.getBoundingClientRect().width)]);
"""


def shrunk_images(driver) -> list[str]:
    """Images shown at less than MIN_IMAGE_SCALE of their drawn width (empty when none)."""
    return [f"{src}: drawn {natural} px wide, shown at {shown} px"
            for src, natural, shown in driver.execute_script(SHRUNK)
            if shown < MIN_IMAGE_SCALE * natural]


def screenshot(driver, name: str) -> Path:
    """Save the whole loaded page (its full height) as ``artifacts/<name>.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(WIDTH, min(max(height, HEIGHT), 12000))
    path = ARTIFACTS / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"could not save {path}"
    driver.set_window_size(WIDTH, HEIGHT)
    return path
