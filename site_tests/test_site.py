"""The built site, tested as a reader meets it: every page served on localhost and walked in
headless Chromium (Debian's package, driven by Playwright; no browser download).

Run with `make site-test` after a build (`make test` does both). Checks:
- every page answers 200, raises no JavaScript error and logs no console error for a local
  resource (requests to other hosts are blocked: the test machine is offline);
- every image on every page has loaded (naturalWidth > 0) and has alt text;
- every internal link and anchor resolves;
- every section page links Colab to a notebook that exists in the repository;
- the search page finds a known word;
- screenshots of three representative pages go to _build/screenshots/;
- (test_notebooks.py) the generated notebooks agree with the site: their links resolve, their
  exercise numbers and citation texts are the site's, and one rendered by nbconvert shows no MyST.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
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
SKIP_DIRS = {"_static", "_sources", "_images", "reports", "_sphinx_design_static"}

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


def _new_page(browser, base: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []

    def local(url: str) -> bool:
        return url.startswith(base) or url.startswith("data:") or url.startswith("blob:")

    page.route("**/*", lambda route: route.continue_() if local(route.request.url) else route.abort())
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
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}") if local(r.url) else None)
    return page, problems


def test_walk_every_page(server, browser):
    page, problems = _new_page(browser, server)
    walked, failures = 0, []
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
        failures += [f"{rel}: {m}" for m in problems]
        walked += 1
    print(f"walked {walked} pages")
    assert walked >= 10
    assert not failures, "\n".join(failures[:20])


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
