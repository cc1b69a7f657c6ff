"""The generated notebooks against the built site: what Colab shows agrees with what the site
shows, and a notebook rendered by nbconvert reads like a page, not like MyST source.

- every link from a notebook (or a student copy) into the site names a page and an anchor
  that the built site has;
- each section notebook numbers its exercises as the site does, and prints every citation
  with the text the site prints;
- one notebook, rendered by `jupyter nbconvert --to html` and opened in headless Chromium,
  shows no raw MyST; its screenshot goes to _build/screenshots/notebook_spectral_bias.png.
"""

from __future__ import annotations

import functools
import http.server
import re
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import booktools
import nbformat
import pytest
from markdown_it import MarkdownIt
from test_site import HTML, SHOTS, _new_page, browser, parse  # noqa: F401  (browser: a fixture)

ROOT = Path(__file__).resolve().parent.parent
SITE = booktools.site_url()
SOURCES = booktools.notebook_files()
NOTEBOOKS = [md.with_suffix(".ipynb") for md in SOURCES]
GENERATED = NOTEBOOKS + [booktools.student_path(md) for md in SOURCES]
RAW_MYST = re.compile(r"\{[a-z][\w:.+-]*\}`|```\{|:::\{|^\([\w-]+\)=$|^:(label|class):", re.M)

pytestmark = pytest.mark.skipif(not (HTML / "index.html").exists(), reason="build the site first (make build)")


class _Text(HTMLParser):
    """The visible text of an HTML fragment, and the text of each element of a class."""

    def __init__(self, cls: str = "") -> None:
        super().__init__()
        self.cls, self.parts, self.hits, self._depth = cls, [], [], 0

    def handle_starttag(self, tag, attrs):
        if self._depth:
            self._depth += 1
        elif self.cls and self.cls in (dict(attrs).get("class") or "").split():
            self._depth = 1
            self.hits.append("")

    def handle_endtag(self, tag):
        if self._depth:
            self._depth -= 1

    def handle_data(self, data):
        self.parts.append(data)
        if self._depth:
            self.hits[-1] += data

    @property
    def text(self) -> str:
        return _norm("".join(self.parts))


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def notebook_html(path: Path) -> str:
    md = MarkdownIt("commonmark")
    return "\n".join(md.render(c.source) for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")


def site_page(nb: Path) -> Path:
    return HTML / nb.relative_to(ROOT).with_suffix(".html")


def test_every_link_into_the_site_resolves():
    broken, count = [], 0
    for nb in GENERATED:
        for href in re.findall(r'href="([^"]+)"', notebook_html(nb)):
            if not href.startswith(SITE + "/"):
                continue
            count += 1
            u = urlparse(href[len(SITE) + 1:])
            target = HTML / unquote(u.path)
            if not target.exists():
                broken.append(f"{nb.relative_to(ROOT)}: {href} (no such page)")
            elif u.fragment and u.fragment not in parse(target).ids:
                broken.append(f"{nb.relative_to(ROOT)}: {href} (no such anchor)")
    assert count > 1000, f"only {count} links into the site"
    assert not broken, f"{len(broken)} broken links from notebooks, e.g.\n" + "\n".join(broken[:15])


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_exercise_numbers_and_citations_match_the_site(nb):
    html = site_page(nb).read_text()
    site = _Text("bibtex-citation")
    site.feed(html)
    ours = _Text()
    ours.feed(notebook_html(nb))
    # sphinx-exercise's titles: <span class="caption-number">Exercise 1.9 </span> (Predict, ...)
    site_ex = re.findall(r'class="caption-number">Exercise (\d+(?:\.\d+)*)', html)
    ours_ex = re.findall(r"Exercise (\d+(?:\.\d+)*): ", ours.text)
    assert site_ex and ours_ex == site_ex
    missing = [c for c in map(_norm, site.hits) if c not in ours.text]
    assert site.hits and not missing, f"citations the site prints and the notebook does not: {missing}"


@pytest.fixture(scope="module")
def notebook_server():
    """nbconvert's HTML of one generated notebook, served on localhost."""
    nb = ROOT / "chapters/01_inductive_bias/03_spectral_bias.ipynb"
    out = HTML.parent / "notebook_html"
    subprocess.run(
        [sys.executable, "-m", "nbconvert", "--to", "html", "--output-dir", str(out), str(nb)],
        check=True, capture_output=True,
    )
    assert (out / "03_spectral_bias.html").exists()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(out)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def test_rendered_notebook_shows_no_myst(notebook_server, browser):  # noqa: F811
    page, _ = _new_page(browser, notebook_server)  # other hosts (nbconvert's CDN scripts) are blocked
    page.goto(urljoin(notebook_server, "03_spectral_bias.html"), wait_until="load")
    text = page.evaluate("document.body.innerText")
    assert "Spectral bias: low frequencies first" in text
    raw = RAW_MYST.findall(text) + [m for m in ("{term}", "{cite", "{doc}", "{ref}", "{func}", "(spectral-bias)=") if m in text]
    assert not raw, f"raw MyST visible in the rendered notebook: {raw}"
    assert "Rahaman et al. [2019]" in text and "Exercise 1.9: Predict, then look" in text
    assert page.evaluate("document.querySelectorAll('details').length") == 4
    assert page.evaluate("Array.from(document.querySelectorAll('details')).every(d => !d.open)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "notebook_spectral_bias.png"), full_page=False)
    page.locator("text=Exercise 1.10: Why one full period?").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "notebook_spectral_bias_exercises.png"), full_page=False)
    assert (SHOTS / "notebook_spectral_bias.png").stat().st_size > 10_000
