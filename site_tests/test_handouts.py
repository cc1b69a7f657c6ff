"""The chapter handouts (tools/handouts.py, `make handouts`), read back with poppler's
pdftotext and pdfinfo: for every chapter a student and an instructor PDF, each containing the
title of every page of the chapter in order, no raw TeX, a plausible number of pages, and the
solutions in the instructor handout only; the instructor guide links them all.

Run with `make site-test`, which prints the handouts first (`make test` does both).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import handouts  # noqa: E402

HTML = ROOT / "_build" / "html"
OUT = ROOT / "_build" / "handouts"
CHAPTERS = handouts.chapters()
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\(frac|mathbb|mathcal|sum|begin|left|right|top)\b")

pytestmark = [
    pytest.mark.skipif(not (HTML / "index.html").exists(), reason="build the site first (make build)"),
    pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils (make poppler)"),
]


def pdf_text(path: Path) -> str:
    """The text of a PDF, with its line breaks and hyphenation joined back into single spaces."""
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    return " ".join(text.replace("\u00ad", "").split())


def pdf_pages(path: Path) -> int:
    """The number of pages of a PDF (pdfinfo)."""
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


class _Title(HTMLParser):
    """The text of a built page's first <h1>, without its permalink sign."""

    def __init__(self):
        super().__init__()
        self.depth, self.parts, self.done = 0, [], False

    def handle_starttag(self, tag, attrs):
        if self.done:
            return
        if tag == "h1":
            self.depth = 1
        elif self.depth and tag == "a" and ("class", "headerlink") in attrs:
            self.depth = 2

    def handle_endtag(self, tag):
        if tag == "h1" and self.depth:
            self.depth, self.done = 0, True
        elif tag == "a" and self.depth == 2:
            self.depth = 1

    def handle_data(self, data):
        if self.depth == 1:
            self.parts.append(data)


def page_title(doc: str) -> str:
    """The title of a built page as it is printed (with its section number)."""
    t = _Title()
    t.feed((HTML / f"{doc}.html").read_text())
    return " ".join("".join(t.parts).split())


def test_raw_tex_pattern():
    assert RAW_TEX.search(r"the target \(y = \sin x\)") and RAW_TEX.search("$$x$$")
    assert RAW_TEX.search(r"\frac{1}{2}") and not RAW_TEX.search("a (plain) sentence, with [brackets]")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.folder for c in CHAPTERS])
def test_handouts_of_a_chapter(chapter):
    student, instructor = OUT / handouts.handout_name(chapter, False), OUT / handouts.handout_name(chapter, True)
    assert student.exists() and instructor.exists(), "run `make handouts`"
    texts = {}
    for path in (student, instructor):
        text = texts[path] = pdf_text(path)
        # every page of the chapter, in order
        where = -1
        for doc in chapter.docs:
            title = page_title(doc)
            found = text.find(title, where + 1)
            assert found > where, f"{path.name}: the title {title!r} of {doc} is missing or out of order"
            where = found
        raw = RAW_TEX.findall(text)
        assert not raw, f"{path.name}: raw TeX in the text: {raw[:5]}"
        pages = pdf_pages(path)
        assert 3 * len(chapter.docs) <= pages <= 40 * len(chapter.docs), f"{path.name}: {pages} pages"
        assert "Student handout" in text if path == student else "Instructor handout" in text
        assert (HTML / "handouts" / path.name).read_bytes() == path.read_bytes(), "the site's copy is stale"
    # the solutions: open in the instructor handout, absent from the student one
    assert "Solution to" not in texts[student]
    assert texts[instructor].count("Solution to") >= 2 * (len(chapter.docs) - 3)
    assert pdf_pages(instructor) > pdf_pages(student)


def test_instructor_guide_links_every_handout():
    guide = (HTML / "chapters" / "appendix" / "instructor_guide.html").read_text()
    for chapter in CHAPTERS:
        for instructor in (False, True):
            name = handouts.handout_name(chapter, instructor)
            assert f'href="../../handouts/{name}"' in guide, f"the instructor guide does not link {name}"
            assert (HTML / "handouts" / name).exists()
