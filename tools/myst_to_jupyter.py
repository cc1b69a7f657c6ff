"""MyST Markdown to Jupyter Markdown: what a generated notebook shows in Colab or JupyterLab.

The ``.md`` sources are written in MyST, which the book's Sphinx build understands and
Jupyter does not: Colab and JupyterLab render CommonMark with HTML and ``$``-math. This
module turns the Markdown cells of a section into that dialect, so that the ``.ipynb`` and
its student copy read like the page of the site:

* citations become the text the site prints (sphinxcontrib-bibtex's own author-year style is
  run on ``references.bib``), each linked to its entry on the site's bibliography page;
* ``{term}`` becomes the term's text linked to its glossary entry; ``{doc}``, ``{ref}``,
  ``{numref}``, ``{eq}`` and the Python roles (``{func}``, ``{class}``, ...) become links to
  the published site (``site_url`` in ``_config.yml``);
* target labels ``(label)=`` and MyST comments disappear; admonitions become blockquotes
  with a bold title; an exercise becomes a bold "Exercise 1.12: title" with the number the
  site gives it; a solution becomes an HTML ``<details>`` block in the full copy and is
  dropped from the student copy; a gated solution (``solution-start`` ... ``solution-end``
  around code cells) keeps its code cells, and its Markdown goes into ``<details>`` blocks;
* math stays as ``$...$`` and ``$$...$$``;
* a hidden setup cell gets a first comment line saying what it does, and the header gets one
  line on the run time (measured, from ``tools/notebook_times.json``) and on whether a GPU
  runtime helps.

Anything MyST that has no rendering here stops ``make sync`` with a message naming the page
and the construct, so that no raw markup reaches a notebook unnoticed.
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import nbformat
import yaml

import booktools

ROOT = booktools.ROOT
TIMES = ROOT / "tools" / "notebook_times.json"

# ----------------------------------------------------------------------------------------
# MyST syntax
# ----------------------------------------------------------------------------------------
FENCE_OPEN = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|:{3,})(?P<info>[^`]*)$")
DIRECTIVE = re.compile(r"^\{(?P<name>[\w:-]+)\}\s*(?P<arg>.*)$")
OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$")
TARGET = re.compile(r"^ {0,3}\((?P<label>[^()\s]+)\)=\s*$")
MYST_COMMENT = re.compile(r"^ {0,3}%")
ROLE = re.compile(r"\{(?P<name>[a-z][\w:+-]*)\}(?P<ticks>`+)")
TICKS = re.compile(r"`+")
MATH_BLOCK_OPEN = re.compile(r"^ {0,3}\$\$")
MATH_LABEL = re.compile(r"\$\$[ \t]*\((?P<label>[^()\s]+)\)[ \t]*$", re.M)
MATH_DIRECTIVE = re.compile(r"^ {0,3}(`{3,}|:{3,})\{math\}[^\n]*\n(?P<opts>(?::[^\n]*\n)*)", re.M)
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
GATE_START = re.compile(r"(`{3,}|:{3,})\{solution-start\}\s*(?P<label>[\w-]+)[^\n]*\n(?:[^\n]*\n)*?\1[ \t]*(?:\n|$)")
GATE_END = re.compile(r"(`{3,}|:{3,})\{solution-end\}[^\n]*\n\1[ \t]*(?:\n|$)")
EXERCISE = re.compile(r"^ {0,3}(`{3,}|:{3,})\{exercise\}[^\n]*\n(?P<opts>(?::[^\n]*\n)*)", re.M)

ADMONITIONS = {
    "attention": "Attention",
    "caution": "Caution",
    "danger": "Danger",
    "error": "Error",
    "hint": "Hint",
    "important": "Important",
    "note": "Note",
    "seealso": "See also",
    "tip": "Tip",
    "warning": "Warning",
}
PY_ROLES = {"func", "meth", "class", "mod", "attr", "obj", "data", "exc", "const"}
HIDDEN_TAGS = {"hide-input", "remove-input", "hide-cell", "remove-cell"}
INSTALL_TAG = booktools.INSTALL_TAG


class MystError(ValueError):
    """MyST that has no Jupyter rendering; the message names the page and the construct."""


# ----------------------------------------------------------------------------------------
# What the converter knows about the book (built from the sources, no Sphinx build needed)
# ----------------------------------------------------------------------------------------
@dataclass
class Book:
    """Everything a link or a number in a notebook is derived from.

    Attributes:
        titles: docname -> page title (Markdown) of every page in ``_toc.yml``.
        labels: target label -> (docname, anchor id, link text).
        terms: lower-cased glossary term -> (term as written, anchor id).
        glossary_doc, bibliography_doc, api_doc: the pages holding the glossary, the
            bibliography and the API reference.
        numbers: (docname, figtype) -> the numbers Sphinx gives that page's numbered
            exercises (figtype ``exercise``) or labelled equations (``displaymath``), in
            order, e.g. ``["1.12", "1.13"]``.
        exercise_labels: docname -> label -> number, for exercises that have a label.
    """

    titles: dict[str, str] = field(default_factory=dict)
    labels: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    terms: dict[str, tuple[str, str]] = field(default_factory=dict)
    glossary_doc: str = ""
    bibliography_doc: str = ""
    api_doc: str = ""
    numbers: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    exercise_labels: dict[str, dict[str, str]] = field(default_factory=dict)


def toc_tree() -> list[tuple[str, tuple[int, ...]]]:
    """Every page of ``_toc.yml`` in the order Sphinx walks it, with its section number.

    Chapters of ``numbered`` parts are numbered 1, 2, ... across parts (as
    sphinx-multitoc-numbering does), their sections 1.1, 1.2, ...; a page outside a numbered
    part gets ``()``.

    Returns:
        A list of (docname, section number).
    """
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    out: list[tuple[str, tuple[int, ...]]] = [(toc["root"], ())]
    chapter = 0

    def walk(entries: list[dict], prefix: tuple[int, ...] | None, depth: int | None) -> None:
        for i, e in enumerate(entries, start=1):
            num: tuple[int, ...] = ()
            if prefix is not None and (depth is None or len(prefix) < depth):
                num = (*prefix, i)
            out.append((e["file"], num))
            kids = e.get("sections", [])
            walk(kids, num if num else None, depth)

    for part in toc.get("parts", []):
        numbered = part.get("numbered", False)
        if numbered:
            depth = None if numbered is True else int(numbered)
            for e in part.get("chapters", []):
                chapter += 1
                out.append((e["file"], (chapter,)))
                walk(e.get("sections", []), (chapter,), depth)
        else:
            for e in part.get("chapters", []):
                out.append((e["file"], ()))
                walk(e.get("sections", []), None, None)
    return out


def _strip_front_matter(text: str) -> str:
    """The text after its YAML front matter (if any)."""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end != -1:
            return text[end + 5:]
    return text


def _title(text: str) -> str:
    """The first level-1 heading of a page source ("" if none)."""
    m = re.search(r"^# (.+)$", _strip_front_matter(text), re.M)
    return m.group(1).strip() if m else ""


def _docutils_id(name: str) -> str:
    """The HTML id docutils gives a target named ``name`` (the id of a MyST label)."""
    from docutils.nodes import make_id

    return make_id(name)


def _sphinx_id(text: str) -> str:
    """The HTML id Sphinx builds from ``text`` (glossary terms, Python objects)."""
    from sphinx.util.nodes import _make_id

    return _make_id(text)


def _numfig_secnum_depth() -> int:
    return int(_sphinx_config().get("numfig_secnum_depth", 1))


def _enumerables(text: str) -> dict[str, list[str | None]]:
    """The labels of a page's numbered exercises and labelled equations, in order."""
    body = _strip_front_matter(text)
    out: dict[str, list[str | None]] = {"exercise": [], "displaymath": []}
    for m in EXERCISE.finditer(body):
        opts = _option_lines(m.group("opts"))
        if "nonumber" not in opts:
            out["exercise"].append(opts.get("label") or None)
    equations = [(m.start(), m.group("label")) for m in MATH_LABEL.finditer(body)]
    for m in MATH_DIRECTIVE.finditer(body):
        label = _option_lines(m.group("opts")).get("label")
        if label:
            equations.append((m.start(), label))
    out["displaymath"] = [label for _, label in sorted(equations)]
    return out


def _option_lines(text: str) -> dict[str, str]:
    """Directive option lines (``:key: value``) as a dict."""
    return {m.group("key"): m.group("value").strip() for m in map(OPTION.match, text.splitlines()) if m}


def _glossary_terms(text: str, doc: str, book: Book) -> None:
    """Add the terms of the page's glossary blocks to ``book.terms`` (with Sphinx's anchor ids)."""
    for block in re.finditer(r"^(`{3,}|:{3,})\{glossary\}[^\n]*\n(.*?)^\1\s*$", text, re.M | re.S):
        used: set[str] = set()
        for line in block.group(2).splitlines():
            if not line.strip() or line[0].isspace() or OPTION.match(line):
                continue
            term = line.split(" : ")[0].strip()
            anchor = _sphinx_id(f"term-{term}")
            if anchor in used:
                raise MystError(f"{doc}: two glossary terms give the same anchor {anchor!r}")
            used.add(anchor)
            book.terms[term.lower()] = (term, anchor)
        book.glossary_doc = doc


@lru_cache(maxsize=1)
def book_index() -> Book:
    """The book's titles, labels, glossary and numbering, read once from the sources."""
    book = Book()
    depth = _numfig_secnum_depth()
    counters: dict[tuple[str, tuple[int, ...]], int] = {}
    for doc, secnum in toc_tree():
        path = ROOT / f"{doc}.md"
        text = path.read_text()
        book.titles[doc] = _title(text)
        body = _strip_front_matter(text)
        lines = body.splitlines()
        for i, line in enumerate(lines):
            m = TARGET.match(line)
            if m:
                nxt = next((ln for ln in lines[i + 1:] if ln.strip()), "")
                title = re.sub(r"^#+\s+", "", nxt).strip() if nxt.startswith("#") else ""
                book.labels[m.group("label")] = (doc, _docutils_id(m.group("label")), title)
        if re.search(r"^(`{3,}|:{3,})\{glossary\}", body, re.M):
            _glossary_terms(body, doc, book)
        if re.search(r"^(`{3,}|:{3,})\{bibliography\}", body, re.M):
            book.bibliography_doc = doc
        if ".. automodule::" in body or re.search(r"^(`{3,}|:{3,})\{biaslab-api\}", body, re.M):
            if book.api_doc and book.api_doc != doc:
                raise MystError(f"API reference on two pages ({book.api_doc}, {doc}): Python roles cannot be linked")
            book.api_doc = doc
        for figtype, labels in _enumerables(text).items():
            nums = []
            for label in labels:
                prefix = secnum[:depth] if depth else ()
                counters[(figtype, prefix)] = counters.get((figtype, prefix), 0) + 1
                num = ".".join(str(n) for n in (*prefix, counters[(figtype, prefix)]))
                nums.append(num)
                if label:
                    if figtype == "exercise":
                        book.exercise_labels.setdefault(doc, {})[label] = num
                        book.labels[label] = (doc, _docutils_id(label), f"Exercise {num}")
                    else:
                        book.labels[label] = (doc, f"equation-{label}", f"({num})")
            book.numbers[(doc, figtype)] = nums
    _catalogue_labels(book)
    return book


def _catalogue_labels(book: Book) -> None:
    """Targets the paper catalogue generates at build time: ``paper-<key>`` on each chapter's
    papers page."""
    import catalogue

    pages = {theme: f"{folder}/papers" for theme, (_, folder) in catalogue.THEMES.items()}
    for p in catalogue.load_catalogue():
        doc = pages[p.group]
        book.labels.setdefault(p.label, (doc, _docutils_id(p.label), catalogue._md_escape(p.title)))



# ----------------------------------------------------------------------------------------
# Citations: sphinxcontrib-bibtex's referencing style, rendered to Markdown links
# ----------------------------------------------------------------------------------------
def _sphinx_config() -> dict:
    """The ``sphinx.config`` block of ``_config.yml``."""
    return (booktools.load_config().get("sphinx") or {}).get("config") or {}


@lru_cache(maxsize=1)
def _bibliography() -> tuple[object, dict, object]:
    """references.bib parsed as sphinxcontrib-bibtex parses it, its entries formatted with
    the book's style, and the book's referencing style."""
    import pybtex.plugin
    from pybtex.database.input.bibtex import Parser

    data = Parser().parse_file(str(_bibfile()))
    cfg = _sphinx_config()
    fmt = pybtex.plugin.find_plugin("pybtex.style.formatting", cfg.get("bibtex_default_style", "alpha"))()
    formatted = {e.key: e for e in fmt.format_entries(data.entries.values())}  # in the bibliography's order
    from sphinxcontrib.bibtex.plugin import find_plugin

    style = find_plugin("sphinxcontrib.bibtex.style.referencing", cfg.get("bibtex_reference_style", "label"))()
    return data, formatted, style


def _bibfile() -> Path:
    """The book's BibTeX file (the first of ``bibtex_bibfiles``)."""
    return ROOT / (booktools.load_config().get("bibtex_bibfiles") or ["references.bib"])[0]


@lru_cache(maxsize=1)
def _markdown_backend() -> object:
    """pybtex's Markdown backend, escaping only what CommonMark or MathJax would act on (so
    that ``et al.`` stays readable in the notebook's source)."""
    import pybtex.backends.markdown as md

    class Backend(md.Backend):
        def format_str(self, text: str) -> str:
            return re.sub(r"([\\`*_\[\]<>$])", r"\\\1", text)

    return Backend()


def cite(role: str, target: str, doc: str = "") -> str:
    """The Markdown for one ``{cite:<role>}`target``` role: the text the site prints, each
    work linked to its entry on the bibliography page.

    Args:
        role: the part after ``cite:`` (``t``, ``p``, ``ts``, ...; ``p`` for a bare ``{cite}``).
        target: the role's content, ``key1,key2`` with optional ``{pre}``/``{post}`` texts.
        doc: the citing page, for error messages.

    Returns:
        Markdown, e.g. ``Rahaman *et al.* \\[[2019](https://.../bibliography.html#cite-...)\\]``.

    Raises:
        MystError: for an unknown key, an unknown role or no bibliography page.
    """
    from pybtex.richtext import BaseMultipartText, HRef
    from sphinxcontrib.bibtex.citation_target import parse_citation_targets
    from sphinxcontrib.bibtex.style.referencing import format_references
    from sphinxcontrib.bibtex.style.template import SphinxReferenceInfo, SphinxReferenceText

    data, formatted, style = _bibliography()
    if role not in style.role_names():
        raise MystError(f"{doc}: citation role cite:{role} is not one of {sorted(style.role_names())}")
    book = book_index()
    if not book.bibliography_doc:
        raise MystError("no page with a {bibliography} directive: citations cannot be linked")
    id_template = _sphinx_config().get("bibtex_cite_id", "")
    if "{key}" not in id_template:
        raise MystError("_config.yml: sphinx.config.bibtex_cite_id must contain {key} for citations to be linked")
    refs = []
    for t in parse_citation_targets(target):
        if t.key not in data.entries:
            raise MystError(f"{doc}: cited key {t.key!r} is not in {_bibfile().name}")
        anchor = _docutils_id(id_template.format(key=t.key, bibliography_count=1))
        info = SphinxReferenceInfo(
            builder=None, fromdocname=doc, todocname=book.bibliography_doc, citation_id=anchor,
            title=None, pre_text=t.pre, post_text=t.post,
        )
        refs.append((data.entries[t.key], formatted[t.key], info))
    # sphinxcontrib-bibtex lists the works of one citation in the bibliography's order
    order = {key: i for i, key in enumerate(formatted)}
    refs.sort(key=lambda ref: order[ref[0].key])
    text = format_references(style, role, refs)

    def links(node):
        if isinstance(node, SphinxReferenceText):
            info = node.info[0]
            return HRef(booktools.page_url(info.todocname, info.citation_id), *[links(p) for p in node.parts])
        if isinstance(node, BaseMultipartText):
            return node._create_similar([links(p) for p in node.parts])
        return node

    return links(text).render(_markdown_backend())


# ----------------------------------------------------------------------------------------
# Inline roles
# ----------------------------------------------------------------------------------------
def _split_explicit(content: str) -> tuple[str | None, str]:
    """Split a role's content ``text <target>`` into (text, target); (None, target) without text."""
    m = EXPLICIT.match(content)
    if m and m.group("text"):
        return m.group("text"), m.group("target").strip()
    return None, content.strip()


def _resolve_doc(target: str, doc: str) -> str:
    """The docname a ``{doc}`` target names, relative to page ``doc`` (or absolute with "/")."""
    target = target[:-3] if target.endswith(".md") else target
    if target.startswith("/"):
        return target.lstrip("/")
    parts: list[str] = doc.split("/")[:-1]
    for piece in target.split("/"):
        if piece == "..":
            parts = parts[:-1]
        elif piece and piece != ".":
            parts.append(piece)
    return "/".join(parts)


def _link(text: str, url: str) -> str:
    """A Markdown link."""
    return f"[{text}]({url})"


def convert_role(name: str, content: str, page: Page) -> str:
    """The Markdown for one MyST role ``{name}`content```.

    Raises:
        MystError: for a role with no Jupyter rendering or a target that does not exist.
    """
    book, doc = page.book, page.doc
    name = name[3:] if name.startswith("py:") else name
    name = name[4:] if name.startswith("std:") else name
    if name == "math":
        return f"${content}$"
    if name == "cite" or name.startswith("cite:"):
        return cite(name.split(":", 1)[1] if ":" in name else "p", content, doc)
    if name in {"sub", "sup", "kbd"}:
        return f"<{name}>{content}</{name}>"
    if name == "glue" or name.startswith("glue:"):
        # a number the notebook computes (biaslab.glue prints it where myst_nb is absent)
        return f"`{content.split(':', 1)[0]}`"
    if name == "abbr":
        m = re.match(r"^(.*?)\s*\((.*)\)$", content, re.S)
        return f'<abbr title="{m.group(2)}">{m.group(1)}</abbr>' if m else content
    text, target = _split_explicit(content)
    if name == "term":
        key = target.lower()
        if key not in book.terms:
            raise MystError(f"{doc}: {{term}}`{content}`: no glossary entry {target!r}")
        term, anchor = book.terms[key]
        return _link(text or target, booktools.page_url(book.glossary_doc, anchor))
    if name == "doc":
        to = _resolve_doc(target, doc)
        if to not in book.titles:
            raise MystError(f"{doc}: {{doc}}`{content}`: no page {to!r} in _toc.yml")
        return _link(text or book.titles[to], booktools.page_url(to))
    if name in {"ref", "numref", "eq"}:
        if target not in book.labels:
            raise MystError(f"{doc}: {{{name}}}`{content}`: no target ({target})=")
        to, anchor, default = book.labels[target]
        if name == "numref" and text:
            number = default.split(" ", 1)[-1].strip("()")
            text = text.replace("{number}", number).replace("%s", number)
        if not (text or default):
            raise MystError(f"{doc}: {{{name}}}`{content}`: the target has no title; give the link a text")
        return _link(text or default, booktools.page_url(to, anchor))
    if name in PY_ROLES:
        if not book.api_doc:
            raise MystError(f"{doc}: {{{name}}}`{content}`: no API page (automodule) to link to")
        full = target.lstrip("~.")
        shown = full.rsplit(".", 1)[-1] if target.startswith("~") else full
        if name in {"func", "meth"} and not shown.endswith(")"):
            shown += "()"
        return _link(text or f"`{shown}`", booktools.page_url(book.api_doc, _sphinx_id(full)))
    raise MystError(f"{doc}: role {{{name}}} has no Jupyter rendering (add one to tools/myst_to_jupyter.py)")


def convert_inline(text: str, page: Page) -> str:
    """Replace every MyST role in ``text`` (a paragraph, possibly over several lines) by its
    Markdown; code spans are copied unchanged."""
    out, i = [], 0
    while i < len(text):
        m = ROLE.match(text, i)
        if m and (i == 0 or text[i - 1] != "\\"):
            ticks = m.group("ticks")
            end = text.find(ticks, m.end())
            while end != -1 and (text[end + len(ticks):end + len(ticks) + 1] == "`"):
                end = text.find(ticks, end + len(ticks) + 1)
            if end == -1:
                raise MystError(f"{page.doc}: role {{{m.group('name')}}} is not closed")
            out.append(convert_role(m.group("name"), text[m.end():end], page))
            i = end + len(ticks)
            continue
        t = TICKS.match(text, i)
        if t:  # a code span: copy it whole, whatever it contains
            end = text.find(t.group(0), t.end())
            while end != -1 and text[end + len(t.group(0)):end + len(t.group(0)) + 1] == "`":
                end = text.find(t.group(0), end + len(t.group(0)) + 1)
            stop = t.end() if end == -1 else end + len(t.group(0))
            out.append(text[i:stop])
            i = stop
            continue
        if text.startswith("{{", i):
            raise MystError(f"{page.doc}: a MyST substitution ({{{{ ... }}}}) has no Jupyter rendering")
        out.append(text[i])
        i += 1
    return "".join(out)


# ----------------------------------------------------------------------------------------
# Blocks
# ----------------------------------------------------------------------------------------
@dataclass
class Page:
    """The state of one page's conversion: which exercise and equation come next."""

    doc: str
    book: Book
    student: bool = False
    exercises: int = 0
    equations: int = 0

    def next_number(self, figtype: str) -> str:
        nums = self.book.numbers.get((self.doc, figtype), [])
        k = self.exercises if figtype == "exercise" else self.equations
        if k >= len(nums):
            raise MystError(f"{self.doc}: more numbered {figtype} blocks than the page's source has")
        if figtype == "exercise":
            self.exercises += 1
        else:
            self.equations += 1
        return nums[k]


def _options(body: list[str]) -> tuple[dict[str, str], list[str]]:
    """Split a directive's body into its options (``:key:`` lines or a YAML block) and content."""
    opts: dict[str, str] = {}
    if body and body[0].strip() == "---":
        end = next((i for i in range(1, len(body)) if body[i].strip() == "---"), None)
        if end is not None:
            opts = {str(k): str(v) for k, v in (yaml.safe_load("\n".join(body[1:end])) or {}).items()}
            body = body[end + 1:]
    else:
        while body and OPTION.match(body[0]):
            m = OPTION.match(body[0])
            opts[m.group("key")] = m.group("value").strip()
            body = body[1:]
    while body and not body[0].strip():
        body = body[1:]
    while body and not body[-1].strip():
        body = body[:-1]
    return opts, body


def _quote(lines: list[str]) -> list[str]:
    """The lines as a Markdown blockquote."""
    return [f"> {ln}" if ln.strip() else ">" for ln in lines]


def _details(summary: str, lines: list[str]) -> list[str]:
    """The lines folded in an HTML ``<details>`` block (blank lines keep the Markdown inside rendered)."""
    return ["<details>", f"<summary>{summary}</summary>", "", *lines, "", "</details>"]


def convert_directive(name: str, arg: str, body: list[str], page: Page) -> list[str]:
    """The Markdown lines for one MyST directive (its fence already removed).

    Raises:
        MystError: for a directive with no Jupyter rendering.
    """
    opts, body = _options(body)
    if name == "exercise":
        number = None if "nonumber" in opts else page.next_number("exercise")
        label = f"Exercise {number}" if number else "Exercise"
        title = convert_inline(arg.strip(), page)
        head = f"**{label}: {title}**" if title else f"**{label}**"
        return [head, "", *convert_lines(body, page)]
    if name == "solution":
        if page.student:
            return []
        return _details("Solution", convert_lines(body, page))
    if name in {"solution-start", "solution-end"}:
        raise MystError(f"{page.doc}: {name} inside another block")
    if name in ADMONITIONS or name == "admonition":
        if name == "admonition":
            title = convert_inline(arg.strip(), page)
        else:
            title = ADMONITIONS[name]
            if arg.strip():
                body = [arg.strip(), "", *body] if body else [arg.strip()]
        inner = convert_lines(body, page)
        if "dropdown" in opts.get("class", "").split():
            return _details(title, inner)
        return _quote([f"**{title}**", "", *inner])
    if name in {"code-block", "code", "sourcecode"}:
        fence = "`" * max(3, 1 + max((len(t) for ln in body for t in re.findall(r"`{3,}", ln)), default=0))
        return [f"{fence}{arg.strip()}", *body, fence]
    if name == "math":
        if opts.get("label"):
            page.next_number("displaymath")
        return ["$$", *body, "$$"]
    raise MystError(f"{page.doc}: directive {{{name}}} has no Jupyter rendering (add one to tools/myst_to_jupyter.py)")


def convert_lines(lines: list[str], page: Page) -> list[str]:
    """Convert MyST Markdown lines to Jupyter Markdown lines."""
    out: list[str] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            out.extend(convert_inline("\n".join(para), page).split("\n"))
            para.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        fence_m = FENCE_OPEN.match(line)
        if fence_m:
            flush()
            fence = fence_m.group("fence")
            close = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
            j = i + 1
            while j < len(lines) and not close.match(lines[j]):
                j += 1
            body = lines[i + 1:j]
            d = DIRECTIVE.match(fence_m.group("info").strip())
            if d:
                out.extend(convert_directive(d.group("name"), d.group("arg"), body, page))
            elif fence[0] == ":":
                raise MystError(f"{page.doc}: a ::: fence without a directive name")
            else:
                out.extend([line, *body, fence_m.group("indent") + fence])
            i = j + 1
            continue
        if TARGET.match(line) or MYST_COMMENT.match(line):
            flush()
            i += 1
            if i < len(lines) and not lines[i].strip() and (not out or not out[-1].strip()):
                i += 1  # no blank line where the label was
            continue
        if MATH_BLOCK_OPEN.match(line):
            flush()
            j = i
            if "$$" not in line.strip()[2:]:  # not a one-line $$ ... $$: find the closing $$
                j = i + 1
                while j < len(lines) and "$$" not in lines[j]:
                    j += 1
            block = lines[i:j + 1]
            m = MATH_LABEL.search(block[-1]) if block else None
            if m:
                page.next_number("displaymath")
                block[-1] = block[-1][: m.start()] + "$$"
            out.extend(block)
            i = j + 1
            continue
        para.append(line)
        i += 1
    flush()
    return out


def convert_markdown(text: str, page: Page) -> str:
    """Convert the source of one MyST Markdown cell to Jupyter Markdown."""
    return "\n".join(convert_lines(text.split("\n"), page)).strip("\n")


# ----------------------------------------------------------------------------------------
# Notebooks
# ----------------------------------------------------------------------------------------
def setup_comment(source: str) -> str:
    """A one-line comment saying what a hidden setup cell does, built from what it calls."""
    does = []
    if re.search(r"^(import|from) ", source, re.M):
        does.append("imports")
    if "seed_everything(" in source:
        does.append("seeds the random generators")
    if "plot_style(" in source:
        does.append("sets the plot style")
    if "get_device(" in source:
        does.append("picks the device")
    if "glue(" in source and not ({"seeds the random generators", "picks the device"} & set(does)):
        return "# Hidden on the site: hands the measured numbers to the text around them (biaslab.glue)."
    what = ", ".join(does) if does else "code the page runs without showing"
    return f"# Setup (hidden on the site): {what}."


# how the recorded times are taken (README, "Tests"): nbval runs two notebooks at once
MEASURED = "measured when the book is tested, on one core while another notebook uses the other"


def runtime_note(seconds: float | None) -> str:
    """The header line on the run time and on a GPU runtime, from a measured time."""
    gpu = "*Runtime > Change runtime type*"
    if seconds is None:
        return (f"**Runtime.** A GPU runtime ({gpu}) is used when present and is not needed; "
                "the code runs on the CPU as well.")
    t = max(5, 5 * math.ceil(seconds / 5))
    took = f"about {t} s" if t < 120 else f"about {round(t / 60)} minutes"
    if t <= 120:
        return (f"**Runtime.** All cells run in at most {took} on two CPU cores, as in Colab's "
                f"default runtime ({MEASURED}). A GPU runtime ({gpu}) is not needed; the code uses one "
                "when present.")
    return (f"**Runtime.** All cells run in at most {took} on two CPU cores, as in Colab's "
            f"default runtime ({MEASURED}); a GPU runtime ({gpu}) shortens the training steps, and "
            "the code uses one when present.")


def measured_seconds(md: Path) -> float | None:
    """The notebook's measured run time from ``tools/notebook_times.json`` (None if absent)."""
    if not TIMES.exists():
        return None
    times = json.loads(TIMES.read_text())
    return times.get(booktools.docname(md))


def _gate_intro(number: str) -> str:
    """The line that announces a gated solution's code cell in the full notebook."""
    return f"**Solution to Exercise {number}.** Run the code cell below; the explanation follows it, folded."


def convert_notebook(nb: nbformat.NotebookNode, md: Path, *, student: bool = False) -> nbformat.NotebookNode:
    """The Jupyter-native version of a notebook read from a MyST source.

    Args:
        nb: the notebook as jupytext reads it from ``md`` (MyST Markdown cells); for the
            student copy, with the solutions already removed and stubbed.
        md: its source, for the page's name, numbers and measured run time.
        student: drop solutions instead of folding them.

    Returns:
        A new notebook: converted Markdown, the header's runtime line, a comment on each
        hidden setup cell, no jupytext pairing metadata.

    Raises:
        MystError: for MyST with no Jupyter rendering, or a gated solution left open.
    """
    doc = booktools.docname(md)
    page = Page(doc=doc, book=book_index(), student=student)
    labels = page.book.exercise_labels.get(doc, {})
    nb = copy.deepcopy(nb)
    cells: list[nbformat.NotebookNode] = []
    gate: str | None = None
    header_done = False
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            tags = set(cell.metadata.get("tags", []))
            if tags & HIDDEN_TAGS and INSTALL_TAG not in tags and not cell.source.lstrip().startswith("#"):
                cell.source = setup_comment(cell.source) + "\n" + cell.source
            if gate is not None:
                cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
            cells.append(cell)
            continue
        src = cell.source
        pieces: list[str] = []
        while src:
            if gate is None:
                m = GATE_START.search(src)
                if not m:
                    pieces.append(convert_markdown(src, page))
                    break
                gate = m.group("label")
                if gate not in labels:
                    raise MystError(f"{doc}: solution-start {gate!r} names no exercise of this page")
                before = convert_markdown(src[: m.start()], page)
                pieces.append(before)
                if not student:
                    pieces.append(_gate_intro(labels[gate]))
                src = src[m.end():]
            else:
                e = GATE_END.search(src)
                inside, src = (src, "") if e is None else (src[: e.start()], src[e.end():])
                if not student and inside.strip():
                    folded = "\n".join(_details("Solution (explanation)", convert_lines(inside.strip("\n").split("\n"), page)))
                    pieces.append(folded)
                if e is not None:
                    gate = None
        text = "\n\n".join(p for p in pieces if p.strip())
        if not header_done and booktools.COLAB_RE.search(text):
            text = _with_runtime_note(text, measured_seconds(md))
            header_done = True
        if text.strip():
            cell.source = text
            cells.append(cell)
    if gate is not None:
        raise MystError(f"{doc}: solution-start {gate!r} has no solution-end")
    if page.exercises != len(page.book.numbers.get((doc, "exercise"), [])):
        raise MystError(f"{doc}: {page.exercises} exercises converted, the page has "
                        f"{len(page.book.numbers.get((doc, 'exercise'), []))}")
    nb.cells = cells
    nb.metadata.pop("jupytext", None)  # a standalone notebook: never paired with the source
    return nb


def _with_runtime_note(text: str, seconds: float | None) -> str:
    """Insert the runtime line after the paragraph that holds the Colab links."""
    paras = text.split("\n\n")
    k = next(i for i, p in enumerate(paras) if booktools.COLAB_RE.search(p))
    paras.insert(k + 1, runtime_note(seconds))
    return "\n\n".join(paras)
