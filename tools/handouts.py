"""Chapter handouts: one student PDF and one instructor PDF per chapter, printed from the
built site with headless Chromium (Debian's ``chromium``, driven by Playwright, as in the
browser test; no browser download).

Run after a build: ``make handouts`` (or ``python tools/handouts.py``). For each chapter of
``_toc.yml`` the chapter's pages (its landing page, then its sections in order, then its
papers page) are put one after another into a single page of the served site, their formulas
typeset by the site's own MathJax, and the result printed with the site's print stylesheet
(``_static/print.css``: no sidebars or buttons, figures kept whole, the page number and the
chapter's title in the footer). The student handout leaves out the exercise solutions, which
the site folds away; the instructor handout prints them open. Hidden setup code is left out
of both; the outputs it made are kept.

The PDFs go to ``_build/handouts/`` and are copied to ``_build/html/handouts/``, where the
instructor guide links them.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
OUT = ROOT / "_build" / "handouts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@dataclass(frozen=True)
class Chapter:
    folder: str  # "01_inductive_bias"
    docs: tuple[str, ...]  # docnames in reading order: the landing page first


def chapters(toc_path: Path = ROOT / "_toc.yml") -> list[Chapter]:
    """The book's chapters as ``_toc.yml`` lists them (the numbered part), each with its pages.

    Args:
        toc_path: the table of contents.

    Returns:
        One :class:`Chapter` per chapter whose landing page is ``chapters/<folder>/index``.
    """
    toc = yaml.safe_load(toc_path.read_text())
    out = []
    for part in toc.get("parts", []):
        for entry in part.get("chapters", []):
            doc = entry.get("file", "")
            if doc.startswith("chapters/") and doc.endswith("/index"):
                docs = [doc] + [s["file"] for s in entry.get("sections", []) if "file" in s]
                out.append(Chapter(folder=doc.split("/")[1], docs=tuple(docs)))
    return out


def handout_name(chapter: Chapter, instructor: bool) -> str:
    """The file name of a chapter's handout: ``01_inductive_bias.pdf`` or
    ``01_inductive_bias_instructor.pdf``."""
    return f"{chapter.folder}{'_instructor' if instructor else ''}.pdf"


# Runs in the browser on the chapter's landing page: replaces its article by the articles of
# all the chapter's pages, adapts them for print, typesets the math and waits for the images.
_ASSEMBLE_JS = """
async ({urls}) => {
  const article = document.querySelector('article.bd-article');
  const title = article.querySelector('h1').textContent.replace(/#\\s*$/, '').trim();
  const parts = [];
  for (const url of urls) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(url + ': HTTP ' + response.status);
    const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
    const section = document.createElement('div');
    section.className = 'handout-section';
    for (const node of Array.from(doc.querySelector('article.bd-article').childNodes)) {
      section.appendChild(document.importNode(node, true));
    }
    parts.push(section);
  }
  article.replaceChildren(...parts);
  document.body.classList.add('handout');
  // exercise solutions: printed open (the instructor handout; _STUDENT_JS removes them)
  article.querySelectorAll('.solution').forEach(el => {
    el.classList.remove('dropdown', 'toggle-hidden');
    el.querySelectorAll('.toggle-hidden').forEach(c => c.classList.remove('toggle-hidden'));
  });
  // hidden setup code (its "show code" fold) is not printed; its outputs are
  article.querySelectorAll('details.above-input, details.hide-input, .tag_remove-input .cell_input')
    .forEach(el => el.remove());
  article.querySelectorAll('.toggle-button, button, .headerlink').forEach(el => el.remove());
  // links to other pages of the site lead nowhere in a PDF: keep their text only
  article.querySelectorAll('a[href]').forEach(a => {
    if (new URL(a.href, location.href).origin === location.origin) a.removeAttribute('href');
  });
  const edition = document.createElement('p');
  edition.className = 'handout-edition';
  edition.textContent = 'Instructor handout: with the solutions to every exercise.';
  article.querySelector('h1').after(edition);
  const footer = document.createElement('style');
  footer.textContent = '@page { @bottom-left { content: ' + JSON.stringify(title) +
    '; font-family: sans-serif; font-size: 8pt; color: #555; } }';
  document.head.appendChild(footer);
  article.querySelectorAll('img').forEach(img => { img.loading = 'eager'; });
  if (window.MathJax && MathJax.typesetPromise) {
    await MathJax.startup.promise;
    await MathJax.typesetPromise([article]);
  }
  await Promise.all(Array.from(article.querySelectorAll('img')).map(img => img.complete ? null :
    new Promise(done => { img.addEventListener('load', done); img.addEventListener('error', done); })));
  await document.fonts.ready;
  return {title, sections: parts.length, images: article.querySelectorAll('img').length,
          solutions: article.querySelectorAll('.solution').length};
}
"""

# Turns the assembled instructor handout into the student one.
_STUDENT_JS = """
() => {
  document.querySelectorAll('article .solution').forEach(el => el.remove());
  document.querySelector('.handout-edition').textContent =
    'Student handout: the exercise solutions are left out.';
}
"""


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on a free localhost port for the duration; yields the base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()


def print_handouts(html_dir: Path = HTML, out_dir: Path = OUT, book: list[Chapter] | None = None,
                   chromium: str = CHROMIUM) -> list[Path]:
    """Print the student and the instructor handout of every chapter.

    Args:
        html_dir: the built site (``_build/html``).
        out_dir: where the PDFs go; each is also copied to ``html_dir/handouts``.
        book: the chapters to print (default: all of ``_toc.yml``).
        chromium: the Chromium executable.

    Returns:
        The paths of the PDFs written to ``out_dir``, two per chapter (instructor, student).

    Raises:
        FileNotFoundError: the site is not built, or a page of a chapter is missing from it.
        RuntimeError: a page could not be loaded or assembled in the browser.
    """
    from playwright.sync_api import sync_playwright

    book = chapters() if book is None else book
    for ch in book:
        for doc in ch.docs:
            if not (html_dir / f"{doc}.html").exists():
                raise FileNotFoundError(f"{html_dir / doc}.html is missing: build the site first (make build)")
    out_dir.mkdir(parents=True, exist_ok=True)
    site_copy = html_dir / "handouts"
    site_copy.mkdir(exist_ok=True)
    written = []
    with serve(html_dir) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                                           "--disable-background-networking", "--disable-component-update"])
        try:
            for ch in book:
                urls = [f"{base}{doc}.html" for doc in ch.docs]
                page = browser.new_page(viewport={"width": 1000, "height": 1400})
                page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base)
                           else route.abort())
                page.goto(urls[0], wait_until="load")
                try:
                    info = page.evaluate(_ASSEMBLE_JS, {"urls": urls})
                except Exception as e:  # the page's own error, with the chapter named
                    raise RuntimeError(f"{ch.folder}: could not assemble the handout: {e}") from None
                for instructor in (True, False):
                    if not instructor:
                        page.evaluate(_STUDENT_JS)
                    path = out_dir / handout_name(ch, instructor)
                    page.pdf(path=str(path), print_background=True, prefer_css_page_size=True,
                             outline=True, tagged=True)
                    shutil.copy2(path, site_copy / path.name)
                    written.append(path)
                    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
                          f"{info['sections']} pages of the site, {info['images']} images, "
                          f"{info['solutions'] if instructor else 0} solutions, {path.stat().st_size / 1e6:.1f} MB")
                page.close()
        finally:
            browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: print every chapter's handouts; ``--chapter 03_fairness`` for one."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", type=Path, default=HTML, help="the built site (default: _build/html)")
    parser.add_argument("--out", type=Path, default=OUT, help="where the PDFs go (default: _build/handouts)")
    parser.add_argument("--chapter", action="append", help="a chapter folder, e.g. 03_fairness (repeatable)")
    args = parser.parse_args(argv)
    book = chapters()
    if args.chapter:
        unknown = set(args.chapter) - {c.folder for c in book}
        if unknown:
            parser.error(f"no such chapter: {sorted(unknown)}; chapters are {[c.folder for c in book]}")
        book = [c for c in book if c.folder in args.chapter]
    try:
        print_handouts(args.html, args.out, book)
    except (FileNotFoundError, RuntimeError) as e:
        print(f"handouts: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
