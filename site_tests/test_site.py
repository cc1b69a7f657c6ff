r"""The built site, tested as a reader meets it: every page served on localhost and walked in
headless Chromium (Debian's package, driven by Playwright; no browser download).

Run with `make site-test` after a build (`make test` does both). Checks:
- every page answers 200, raises no JavaScript error, logs no console error for a local
  resource and requests nothing from another host (such requests are blocked: the test
  machine is offline, and so may a reader's be);
- on every page with math, MathJax (served from the site itself) has typeset every formula:
  rendered ``mjx-container`` elements, no TeX error, no raw ``\(`` or ``$$`` left in the text;
- no table, figure or image in the main column is wider than the column, at 1,280 and at
  390 px (code blocks may scroll);
- the header shows one search box, on a wide screen and on a phone;
- the paper atlas's filter narrows the list as one types, with the count of matches;
- every image on every page has loaded (naturalWidth > 0) and has alt text;
- every internal link and anchor resolves;
- every section page links Colab to a notebook that exists in the repository;
- the search page finds a known word;
- screenshots of three representative pages and of three pages with math go to
  _build/screenshots/;
- (test_notebooks.py) the generated notebooks agree with the site: their links resolve, their
  exercise numbers and citation texts are the site's, and one rendered by nbconvert shows no MyST.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
COLAB = "https://colab.research.google.com/github/"
SKIP_DIRS = {"_static", "_sources", "_images", "reports", "_sphinx_design_static", "handouts"}

pytestmark = pytest.mark.skipif(not (HTML / "index.html").exists(), reason="build the site first (make build)")


def pages() -> list[Path]:
    return sorted(p for p in HTML.rglob("*.html") if not SKIP_DIRS & set(p.relative_to(HTML).parts))


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links, self.imgs = set(), [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "img":
            self.imgs.append(a)


@functools.lru_cache(maxsize=None)
def parse(path: Path) -> _Collector:
    c = _Collector()
    c.feed(path.read_text(errors="ignore"))
    return c


# ------------------------------------------------------------------ static checks
def test_site_has_the_book():
    names = {p.relative_to(HTML).as_posix() for p in pages()}
    for must in ("intro.html", "search.html", "chapters/appendix/bibliography.html",
                 "chapters/appendix/paper_atlas.html", "chapters/01_inductive_bias/index.html"):
        assert must in names


def test_every_image_has_alt_text():
    missing = [f"{p.relative_to(HTML)}: {img.get('src')}" for p in pages() for img in parse(p).imgs if not img.get("alt")]
    assert not missing, f"images without alt text: {missing[:10]}"


def test_internal_links_and_anchors_resolve():
    broken = []
    for p in pages():
        for href in parse(p).links:
            u = urlparse(href)
            if u.scheme or href.startswith(("mailto:", "javascript:", "//")):
                continue
            target = (p.parent / unquote(u.path)).resolve() if u.path else p
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{p.relative_to(HTML)} -> {href}")
                continue
            if u.fragment and target.suffix == ".html" and u.fragment not in parse(target).ids:
                broken.append(f"{p.relative_to(HTML)} -> {href} (no such anchor)")
    assert not broken, f"{len(broken)} broken internal links, e.g. {broken[:10]}"


def test_section_pages_link_colab_to_existing_notebooks():
    sections = [p for p in pages() if (ROOT / p.relative_to(HTML).with_suffix(".ipynb")).exists()]
    assert sections, "no section pages found"
    for p in sections:
        links = [h for h in parse(p).links if h.startswith(COLAB)]
        assert links, f"{p.relative_to(HTML)} has no Colab link"
        for h in links:
            rel = re.sub(r"^.*?/blob/[^/]+/", "", h)
            assert (ROOT / rel).exists() and rel.endswith(".ipynb"), f"{p.relative_to(HTML)}: Colab link to missing {rel}"


# ------------------------------------------------------------------ in the browser
@pytest.fixture(scope="module")
def server():
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield b
        b.close()


def _new_page(browser, base: str, width: int = 1280):
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems: list[str] = []

    def local(url: str) -> bool:
        return url.startswith(base) or url.startswith("data:") or url.startswith("blob:")

    def route(r):
        if local(r.request.url):
            r.continue_()
        else:
            problems.append(f"request to another host: {r.request.url}")
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: problems.append(f"JavaScript error: {e}"))

    def on_console(msg):
        if msg.type == "error":
            src = (msg.location or {}).get("url", "")
            text = msg.text
            if "net::ERR_FAILED" in text and not local(src):
                return  # a blocked request to another host: the test machine is offline
            if "net::ERR_FAILED" in text and src and not src.startswith(base):
                return
            problems.append(f"console error: {text} ({src})")

    page.on("console", on_console)

    def on_failed(r):
        # ERR_ABORTED: the browser cancelled the request, e.g. a lazily loaded MathJax font still
        # in flight when the walk moves to the next page; a missing file is a 404 response below
        if local(r.url) and "ERR_ABORTED" not in (r.failure or ""):
            problems.append(f"failed request: {r.url} ({r.failure})")

    page.on("requestfailed", on_failed)
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}")
            if r.status >= 400 and r.url.startswith(base) else None)
    return page, problems


def test_walk_every_page(server, browser):
    """Every page at 1,280 px: loads, images, console, other hosts, math, nothing too wide."""
    page, problems = _new_page(browser, server)
    walked, with_math, failures = 0, 0, []
    for p in pages():
        rel = p.relative_to(HTML).as_posix()
        problems.clear()
        resp = page.goto(urljoin(server, rel), wait_until="load")
        if resp is None or resp.status != 200:
            failures.append(f"{rel}: status {resp.status if resp else None}")
        if 'http-equiv="refresh"' in p.read_text(errors="ignore").lower():
            target = re.search(r'url=([^"\s]+)"', p.read_text()).group(1)
            page.wait_for_url(urljoin(urljoin(server, rel), target), wait_until="load")  # a redirect page
            walked += 1
            continue
        bad_imgs = page.evaluate(
            "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
        )
        if bad_imgs:
            failures.append(f"{rel}: images not loaded: {bad_imgs[:3]}")
        if 'class="math' in p.read_text(errors="ignore"):
            math = page.evaluate(MATH_JS)
            with_math += 1
            if math.get("error"):
                failures.append(f"{rel}: {math['error']}")
            elif math["rendered"] < math["formulas"] or math["errors"] or math["raw"]:
                failures.append(f"{rel}: MathJax typeset {math['rendered']} of {math['formulas']} formulas, "
                                f"{math['errors']} TeX errors, raw TeX left: {math['raw'][:3]}")
        failures += [f"{rel}: too wide at 1280 px: {m}" for m in page.evaluate(OVERFLOW_JS)]
        failures += [f"{rel}: {m}" for m in problems]
        walked += 1
    print(f"walked {walked} pages, {with_math} with math")
    assert walked >= 10 and with_math >= 30
    assert not failures, "\n".join(failures[:20])


# On a page with math: wait for MathJax, then count the formulas (Sphinx marks each with the
# class "math"), the rendered ones and TeX errors, and look for raw TeX left in the visible
# text outside code.
MATH_JS = r"""
async () => {
  const formulas = document.querySelectorAll('.math').length;
  if (!window.MathJax || !MathJax.startup) return {error: 'MathJax is not loaded'};
  await MathJax.startup.promise;
  const raw = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const t = walker.currentNode, el = t.parentElement;
    if (!el || el.closest('pre, code, script, style, textarea, mjx-container, .highlight')) continue;
    if (/\\\(|\\\[|\$\$/.test(t.data)) raw.push(t.data.trim().slice(0, 60));
  }
  return {formulas, rendered: document.querySelectorAll('mjx-container').length,
          errors: document.querySelectorAll('mjx-merror').length, raw};
}
"""

# Tables, figures, images and display math wider than the main column's content box, or
# clipped by a scrolling box inside it (code blocks, in <pre>, may scroll).
OVERFLOW_JS = r"""
() => {
  const art = document.querySelector('article.bd-article');
  if (!art) return [];
  const cs = getComputedStyle(art), box = art.getBoundingClientRect();
  const left = box.left + parseFloat(cs.paddingLeft), right = box.right - parseFloat(cs.paddingRight);
  const out = [];
  for (const el of art.querySelectorAll('table, figure, img, mjx-container[display="true"]')) {
    if (el.closest('pre')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;  // folded away
    let clipped = false;
    for (let a = el.parentElement; a && a !== art; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible' && el.scrollWidth > a.clientWidth + 1) { clipped = true; break; }
    }
    if (r.left < left - 1 || r.right > right + 1 || clipped) {
      const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '');
      out.push(name + ' ' + Math.round(r.width) + ' px wide in a ' + Math.round(right - left) + ' px column');
    }
  }
  return out;
}
"""


def test_nothing_overflows_the_main_column_on_a_phone(server, browser):
    """At 390 px (test_walk_every_page checks 1,280 px on its way)."""
    width = 390
    page, _ = _new_page(browser, server, width)
    failures = []
    for p in pages():
        rel = p.relative_to(HTML).as_posix()
        if 'http-equiv="refresh"' in p.read_text(errors="ignore").lower():
            continue
        page.goto(urljoin(server, rel), wait_until="load")
        if 'class="math' in p.read_text(errors="ignore"):
            page.evaluate("async () => { if (window.MathJax && MathJax.startup) await MathJax.startup.promise; }")
        failures += [f"{rel}: {m}" for m in page.evaluate(OVERFLOW_JS)]
    assert not failures, f"{len(failures)} elements wider than the main column at {width} px:\n" + "\n".join(failures[:20])


@pytest.mark.parametrize("width", [1280, 390])
def test_header_shows_one_search_box(server, browser, width):
    page, _ = _new_page(browser, server, width)
    page.goto(urljoin(server, "intro.html"), wait_until="load")
    visible = page.evaluate(
        "Array.from(document.querySelectorAll('.search-button, .search-button-field, form.bd-search'))"
        ".filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 &&"
        " getComputedStyle(e).visibility !== 'hidden' && !e.closest('dialog'); }).length"
    )
    assert visible == 1, f"{visible} search boxes visible at {width} px"


def test_atlas_filter_narrows_the_list(server, browser):
    sys.path.insert(0, str(ROOT / "tools"))
    import catalogue

    papers = catalogue.load_catalogue()
    page, problems = _new_page(browser, server)
    page.goto(urljoin(server, "chapters/appendix/paper_atlas.html"), wait_until="load")
    page.wait_for_selector("#atlas-filter:not([hidden])")

    def shown() -> tuple[int, int]:
        count = int(page.get_attribute("#atlas-count", "data-count"))
        items = page.evaluate("document.querySelectorAll('article li:not([hidden]) a[href*=\"#paper-\"]').length")
        return count, items

    assert shown() == (len(papers), len(papers))
    page.type("#atlas-q", "grokking", delay=20)
    expected = len(catalogue.atlas_matches(papers, "grokking"))
    assert 0 < expected < len(papers)
    assert shown() == (expected, expected)
    assert f"{expected} papers match" in page.text_content("#atlas-count")
    page.select_option("#atlas-theme", "inductive_bias")
    page.check("#atlas-demo")
    assert shown()[0] == len(catalogue.atlas_matches(papers, "grokking", theme="inductive_bias", demo=True))
    page.fill("#atlas-q", "")
    page.uncheck("#atlas-demo")
    page.select_option("#atlas-kind", "adjacent")
    assert shown()[0] == len(catalogue.atlas_matches(papers, theme="inductive_bias", kind="adjacent"))
    subtopics = page.evaluate("Array.from(document.querySelectorAll('#atlas-subtopic option')).slice(1).map(o => o.value)")
    assert set(subtopics) == {p.subtopic for p in papers if p.group == "inductive_bias"}
    page.click("#atlas-reset")
    page.wait_for_function(f"document.getElementById('atlas-count').dataset.count === '{len(papers)}'")
    assert not problems, problems


def test_search_finds_grokking(server, browser):
    page, _ = _new_page(browser, server)
    page.goto(urljoin(server, "search.html?q=grokking"), wait_until="load")
    page.wait_for_function("document.querySelectorAll('#search-results li').length > 0", timeout=20000)
    hits = page.evaluate("Array.from(document.querySelectorAll('#search-results li a')).map(a => a.href)")
    assert any("grokking" in h for h in hits), hits


def test_screenshots(server, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page, _ = _new_page(browser, server)
    for name, rel in [("home", "intro.html"), ("section_spectral_bias", "chapters/01_inductive_bias/03_spectral_bias.html"),
                      ("paper_atlas", "chapters/appendix/paper_atlas.html")]:
        page.goto(urljoin(server, rel), wait_until="load")
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)
        assert (SHOTS / f"{name}.png").stat().st_size > 10_000


MATH_PAGES = [
    ("math_spectral_bias", "chapters/01_inductive_bias/03_spectral_bias.html"),
    ("math_interventions", "chapters/04_causal_representation_learning/01_interventions.html"),
    ("math_identifiability", "chapters/05_disentanglement/01_identifiability.html"),
]


@pytest.mark.parametrize("name, rel", MATH_PAGES)
def test_screenshots_of_math(server, browser, name, rel):
    """A screenshot of the first display formula of a page, typeset offline."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page, problems = _new_page(browser, server)
    page.goto(urljoin(server, rel), wait_until="load")
    page.evaluate("async () => { await MathJax.startup.promise; }")
    first = page.locator("mjx-container[display='true'], mjx-container").first
    first.scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -250)")
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)
    assert page.locator("mjx-container").count() > 0
    assert (SHOTS / f"{name}.png").stat().st_size > 10_000
    assert not problems, problems
