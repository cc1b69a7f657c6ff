"""The paper catalogue: load and validate ``chapters/papers/*.yml``, render its pages.

The catalogue is the single source of truth for the papers this book covers: one YAML file
per theme (``chapters/papers/<theme>.yml``) holding that theme's papers and the *adjacent*
papers nearest to it, plus ``chapters/papers/sections.yml`` (the headings papers are grouped
under). Pages are never written by hand: a page that contains

    ```{paper-catalogue}
    :theme: spurious
    ```

or ``` ```{paper-atlas}``` ``` is rewritten at build time (Sphinx ``source-read`` event) into
MyST Markdown generated from the data, so an edit to a record changes every page that shows
it. Bad data stops the build with a message naming the file, the record and the field.

Used as a Sphinx extension (``sphinx.local_extensions`` in ``_config.yml``) and by the tests.
"""

from __future__ import annotations

import re
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PAPERS_DIR = ROOT / "chapters" / "papers"

THEMES: dict[str, tuple[str, str]] = {
    "inductive_bias": ("Inductive bias", "chapters/01_inductive_bias"),
    "spurious": ("Spurious correlations", "chapters/02_spurious_correlations"),
    "fairness": ("Fairness", "chapters/03_fairness"),
    "causal": ("Causal representation learning", "chapters/04_causal_representation_learning"),
    "disentanglement": ("Disentanglement", "chapters/05_disentanglement"),
}
ALL_THEMES = set(THEMES) | {"adjacent"}
REQUIRED = ("key", "title", "theme", "subtopic", "summary")
KEY_RE = re.compile(r"^[a-z0-9_]+$")
MIN_WORDS, MAX_WORDS = 40, 110
MIN_SENTENCES, MAX_SENTENCES = 2, 4


class CatalogueError(ValueError):
    """Bad catalogue data; the message names the file, the record and the field."""


@dataclass(frozen=True)
class Paper:
    key: str
    title: str
    theme: str  # one of THEMES or "adjacent"
    group: str  # the theme whose file holds it: its own theme, or the nearest one if adjacent
    subtopic: str
    summary: str
    section: str | None = None
    adjacent_why: str | None = None
    home: str | None = None
    demo: str | None = None
    source: str = ""
    nearest_section: str | None = None  # adjacent papers that no section discusses

    @property
    def section_doc(self) -> str | None:
        """The section page the entry links: its ``home``, else its ``nearest_section``."""
        return self.home or self.nearest_section

    @property
    def label(self) -> str:
        """The MyST target of the paper's entry: ``{ref}`paper-<key>``` links to it."""
        return f"paper-{self.key}"

    @property
    def search_url(self) -> str:
        """An arXiv title search for the paper (the catalogue stores no arXiv ids).

        The query holds the words of the title without its markup: arXiv matches every word,
        so ``SF(DA)$^2$: Source-free ...`` is searched as ``SF DA Source-free ...``.
        """
        words = re.sub(r"[^\w\s-]", " ", plain_title(self.title)).split()
        q = urllib.parse.quote_plus(" ".join(words))
        return f"https://arxiv.org/search/?query={q}&searchtype=title"

    @property
    def scholar_url(self) -> str:
        """A Google Scholar search for the exact title: each part of it outside math markup
        as a quoted phrase."""
        q = " ".join(f'"{phrase}"' for phrase in title_phrases(self.title))
        return "https://scholar.google.com/scholar?q=" + urllib.parse.quote_plus(q)


# A hyphen followed by a space inside a word is a line break that YAML folded into the text
# ("species- specific"); a suspended hyphen ("one- or two-sided") is kept.
_BROKEN_HYPHEN_RE = re.compile(r"\b\w+- (?!(?:and|or|nor|to|versus)\b)\w+")


def broken_hyphens(text: str) -> list[str]:
    """The words of ``text`` broken by a folded line after a hyphen, such as ``"modality- specific"``.

    Args:
        text: any catalogue text (a title, a summary, a sub-topic).

    Returns:
        Each broken word as it appears, in order; empty when there is none. Suspended hyphens
        followed by *and*, *or*, *nor*, *to* or *versus* ("in- and out-of-distribution") are
        not reported.
    """
    return _BROKEN_HYPHEN_RE.findall(text)


_MATH_RE = re.compile(r"\$[^$]*\$")


def plain_title(title: str) -> str:
    """The title without TeX markup: math spans (``$^2$``), commands and braces removed.

    Args:
        title: a title as the catalogue stores it, e.g. ``"SF(DA)$^2$: Source-free ..."``.

    Returns:
        The title as plain words, e.g. ``"SF(DA): Source-free ..."``; unchanged if it has no markup.
    """
    text = _MATH_RE.sub("", title)
    text = re.sub(r"\\[A-Za-z]+\*?|[{}\\^]", "", text)
    return re.sub(r"\s+([:;,.!?])", r"\1", " ".join(text.split()))


def title_phrases(title: str) -> list[str]:
    """The parts of a title between its math spans, as phrases to search for exactly.

    Args:
        title: a title as the catalogue stores it.

    Returns:
        One phrase for a title without math, else the non-empty pieces around each math span,
        stripped of the punctuation that joined them (``["SF(DA)", "Source-free ..."]``).
    """
    pieces = (plain_title(piece).strip(" :;,.-") for piece in _MATH_RE.split(title))
    return [piece for piece in pieces if piece]


def sentences(text: str) -> list[str]:
    """Split a summary into sentences (on ., ! or ? followed by white space)."""
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])", text.strip()) if s]


def load_sections(papers_dir: Path = PAPERS_DIR) -> dict[str, dict[str, str]]:
    """``{theme: {section_id: section_title}}`` from ``sections.yml``."""
    path = papers_dir / "sections.yml"
    data = yaml.safe_load(path.read_text()) or {}
    out: dict[str, dict[str, str]] = {}
    for theme, secs in data.items():
        if theme not in THEMES:
            raise CatalogueError(f"{path.name}: unknown theme {theme!r}; expected one of {sorted(THEMES)}")
        out[theme] = {s["id"]: s["title"] for s in secs}
    return out


def _fail(path: Path, i: int, key: object, field: str, msg: str) -> None:
    who = f"record {key!r}" if key else f"record #{i + 1}"
    raise CatalogueError(f"{path.name}: {who}: field '{field}': {msg}")


def load_catalogue(papers_dir: Path = PAPERS_DIR, docs: set[str] | None = None) -> list[Paper]:
    """Load and validate every record.

    Args:
        papers_dir: the folder with ``<theme>.yml`` files and ``sections.yml``.
        docs: if given, the docnames that exist; ``home`` and the page part of ``demo`` must
            be among them.

    Returns:
        The papers, in file order.

    Raises:
        CatalogueError: naming the file, the record and the field of the first problem.
    """
    sections = load_sections(papers_dir)
    papers: list[Paper] = []
    for theme in THEMES:
        path = papers_dir / f"{theme}.yml"
        if not path.exists():
            raise CatalogueError(f"{path.name}: missing catalogue file for theme {theme!r}")
        records = yaml.safe_load(path.read_text()) or []
        if not isinstance(records, list):
            raise CatalogueError(f"{path.name}: expected a list of records")
        for i, r in enumerate(records):
            if not isinstance(r, dict):
                raise CatalogueError(f"{path.name}: record #{i + 1}: expected a mapping of fields")
            key = r.get("key")
            for field in REQUIRED:
                if not isinstance(r.get(field), str) or not r.get(field).strip():
                    _fail(path, i, key, field, "missing or empty")
            if not KEY_RE.match(key):
                _fail(path, i, key, "key", "use lowercase letters, digits and underscores only")
            t = r["theme"]
            if t not in ALL_THEMES:
                _fail(path, i, key, "theme", f"unknown theme {t!r}; expected one of {sorted(ALL_THEMES)}")
            if t == "adjacent":
                if r.get("nearest_theme") != theme:
                    _fail(path, i, key, "nearest_theme", f"an adjacent paper in {path.name} must have nearest_theme: {theme}")
                if not (r.get("adjacent_why") or "").strip():
                    _fail(path, i, key, "adjacent_why", "an adjacent paper needs one line on why it is adjacent")
                if r.get("section"):
                    _fail(path, i, key, "section", "adjacent papers have no section")
            else:
                if t != theme:
                    _fail(path, i, key, "theme", f"a {t!r} paper belongs in {t}.yml, not {path.name}")
                if r.get("section") not in sections.get(theme, {}):
                    _fail(path, i, key, "section",
                          f"{r.get('section')!r} is not a section of {theme} (sections.yml has {sorted(sections.get(theme, {}))})")
            for field in ("title", "subtopic", "summary", "adjacent_why"):
                broken = broken_hyphens(" ".join(str(r.get(field) or "").split()))
                if broken:
                    _fail(path, i, key, field, f"hyphen broken by a folded line: {broken[0]!r}; join the word")
            n = len(r["summary"].split())
            if not MIN_WORDS <= n <= MAX_WORDS:
                _fail(path, i, key, "summary", f"{n} words; a summary has {MIN_WORDS}-{MAX_WORDS}")
            ns = len(sentences(r["summary"]))
            if not MIN_SENTENCES <= ns <= MAX_SENTENCES:
                _fail(path, i, key, "summary", f"{ns} sentences; a summary has {MIN_SENTENCES}-{MAX_SENTENCES}")
            home, demo, nearest = r.get("home"), r.get("demo"), r.get("nearest_section")
            for field, value in (("home", home), ("nearest_section", nearest)):
                if value is not None and (not isinstance(value, str) or value.endswith(".md") or value.startswith("/")):
                    _fail(path, i, key, field, f"{value!r} must be a docname such as chapters/01_inductive_bias/03_spectral_bias")
            if t == "adjacent" and not (home or nearest):
                _fail(path, i, key, "nearest_section", "an adjacent paper that no section discusses (no home) names the section nearest to it")
            if nearest is not None and (t != "adjacent" or home):
                _fail(path, i, key, "nearest_section", "only for an adjacent paper without a home; a theme paper's section is its home")
            if demo is not None and (not isinstance(demo, str) or "#" not in demo):
                _fail(path, i, key, "demo", f"{demo!r} must be <docname>#<label>")
            if docs is not None:
                if home and home not in docs:
                    _fail(path, i, key, "home", f"section {home!r} does not exist")
                if nearest and nearest not in docs:
                    _fail(path, i, key, "nearest_section", f"section {nearest!r} does not exist")
                if demo and demo.split("#")[0] not in docs:
                    _fail(path, i, key, "demo", f"section {demo.split('#')[0]!r} does not exist")
            papers.append(Paper(
                key=key, title=r["title"], theme=t, group=theme, subtopic=r["subtopic"].strip(),
                summary=" ".join(r["summary"].split()), section=r.get("section"),
                adjacent_why=(r.get("adjacent_why") or None), home=home, demo=demo, source=path.name,
                nearest_section=nearest,
            ))
    for field in ("key", "title"):
        dup = [v for v, c in Counter(getattr(p, field) for p in papers).items() if c > 1]
        if dup:
            raise CatalogueError(f"duplicate {field}: {dup[0]!r} appears in more than one record")
    return papers


# ----------------------------------------------------------------------------------------
# rendering (MyST Markdown)
# ----------------------------------------------------------------------------------------
def _md_escape(text: str) -> str:
    """Escape Markdown emphasis and link characters; keep $...$ math in titles."""
    return re.sub(r"([*_`\[\]<>|])", r"\\\1", text)


def _entry(p: Paper, heading: str = "###") -> list[str]:
    links = []
    if p.home:
        links.append(f"discussed in {{doc}}`/{p.home}`")
    elif p.nearest_section:
        links.append(f"nearest section: {{doc}}`/{p.nearest_section}`")
    if p.demo:
        links.append(f"demo: {{ref}}`{p.demo.split('#', 1)[1]}`")
    # raw HTML: Markdown link rendering would escape the query's "&" twice
    links.append(f'<a class="reference external" href="{p.search_url.replace("&", "&amp;")}">find the paper</a> '
                 f'(<a class="reference external" href="{p.scholar_url.replace("&", "&amp;")}">or on Google Scholar</a>)')
    lines = [f"({p.label})=", f"{heading} {_md_escape(p.title)}", "", p.summary, ""]
    meta = f"*Sub-topic:* {_md_escape(p.subtopic)}"
    if p.theme == "adjacent":
        meta += f". *Why adjacent:* {_md_escape(p.adjacent_why or '')}"
    lines += [meta + "  ", " · ".join(links), ""]
    return lines


def render_chapter_papers(theme: str, papers: list[Paper], sections: dict[str, dict[str, str]]) -> str:
    """The body of a chapter's "Papers in this chapter" page (without its title)."""
    if theme not in THEMES:
        raise CatalogueError(f"paper-catalogue: unknown theme {theme!r}; expected one of {sorted(THEMES)}")
    own = [p for p in papers if p.group == theme and p.theme != "adjacent"]
    adj = [p for p in papers if p.group == theme and p.theme == "adjacent"]
    name = THEMES[theme][0]
    out = [
        f"{len(own)} papers on {name.lower()}, grouped by the part of the chapter they belong to, then "
        f"{len(adj)} adjacent papers: work that shares a method or a question with this chapter but is "
        "mainly about something else. Each summary says what problem the paper takes on, its key idea and "
        "what it found; the links lead to the section that discusses it (for an adjacent paper no section "
        "discusses, the section nearest to it) and, where one exists, the demo that reproduces it. The catalogue stores titles, not identifiers: *find the paper* runs an "
        "arXiv title search, and the Google Scholar link searches for the exact title.",
        "",
    ]
    by_sec = defaultdict(list)
    for p in own:
        by_sec[p.section].append(p)
    for sid, stitle in sections.get(theme, {}).items():
        if not by_sec.get(sid):
            continue
        out += [f"## {_md_escape(stitle)}", ""]
        for p in sorted(by_sec[sid], key=lambda p: (p.home is None, p.title.lower())):
            out += _entry(p)
    if adj:
        out += ["## Adjacent papers", ""]
        by_sub = defaultdict(list)
        for p in adj:
            by_sub[p.subtopic].append(p)
        for sub in sorted(by_sub):
            for p in sorted(by_sub[sub], key=lambda p: p.title.lower()):
                out += _entry(p)
    return "\n".join(out)


def counts_table(papers: list[Paper]) -> list[dict[str, object]]:
    """Rows of (theme, papers in the theme, adjacent papers nearest to it)."""
    rows = []
    for theme, (name, _) in THEMES.items():
        rows.append({
            "theme": name,
            "in theme": sum(p.theme == theme for p in papers),
            "adjacent": sum(p.theme == "adjacent" and p.group == theme for p in papers),
        })
    return rows


def atlas_figure(papers: list[Paper], path: Path) -> None:
    """A bar chart of papers per theme and sub-topic, written to ``path`` (PNG).

    One bar per (theme, sub-topic), grouped by theme; adjacent papers in a lighter shade of
    the colour of the theme they are nearest to.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.patches import Patch

    palette = dict(zip(THEMES, sns.color_palette("colorblind", len(THEMES))))
    rows = []  # (label, count, colour)
    for theme in THEMES:
        for adjacent in (False, True):
            group = [p for p in papers if p.group == theme and (p.theme == "adjacent") == adjacent]
            counts = Counter(p.subtopic for p in group)
            colour = palette[theme] if not adjacent else tuple(0.55 + 0.45 * c for c in palette[theme])
            for sub, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
                rows.append((sub + (" (adjacent)" if adjacent else ""), n, colour))
    fig, ax = plt.subplots(figsize=(9, 0.19 * len(rows) + 1.4))
    y = list(range(len(rows)))
    ax.barh(y, [r[1] for r in rows], color=[r[2] for r in rows])
    ax.set_yticks(y)
    ax.set_yticklabels([r[0] for r in rows], fontsize=7.5)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel("papers")
    ax.set_title("The catalogue at a glance: papers per theme and sub-topic", fontsize=11)
    ax.grid(axis="y", visible=False)
    handles = [Patch(color=palette[t], label=THEMES[t][0]) for t in THEMES]
    handles.append(Patch(color="0.8", label="lighter: adjacent papers"))
    ax.legend(handles=handles, loc="lower right", fontsize=8, frameon=True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def search_text(p: Paper) -> str:
    """What the atlas filter box searches for a paper: its title without markup, theme,
    sub-topic, summary and (for an adjacent paper) why it is adjacent, in lower case."""
    parts = [plain_title(p.title), THEMES[p.group][0], p.subtopic, p.summary, p.adjacent_why or ""]
    return " ".join(" ".join(parts).lower().split())


def atlas_matches(papers: list[Paper], query: str = "", theme: str = "", subtopic: str = "",
                  demo: bool = False, kind: str = "") -> list[Paper]:
    """The papers the atlas filter shows; ``_static/atlas.js`` applies the same rule in the browser.

    Args:
        papers: the catalogue.
        query: words that must all occur (case-insensitive) in a paper's :func:`search_text`.
        theme: a key of :data:`THEMES`: papers listed under that theme (its own and its adjacent
            papers); empty for all.
        subtopic: an exact sub-topic; empty for all.
        demo: only papers with a demo in the book.
        kind: ``"theme"`` for theme papers, ``"adjacent"`` for adjacent papers, empty for both.

    Returns:
        The matching papers, in catalogue order.
    """
    if theme and theme not in THEMES:
        raise ValueError(f"theme must be one of {sorted(THEMES)} or empty, not {theme!r}")
    if kind not in ("", "theme", "adjacent"):
        raise ValueError(f"kind must be 'theme', 'adjacent' or empty, not {kind!r}")
    terms = query.lower().split()
    return [
        p for p in papers
        if all(t in search_text(p) for t in terms)
        and (not theme or p.group == theme)
        and (not subtopic or p.subtopic == subtopic)
        and (not demo or p.demo is not None)
        and (not kind or (p.theme == "adjacent") == (kind == "adjacent"))
    ]


def atlas_filter_html(papers: list[Paper], root: str = "") -> str:
    """The atlas's filter form, its data and its script, as a MyST ``{raw} html`` block.

    Args:
        papers: the catalogue.
        root: the relative path from the atlas page to the site's root (``"../../"``), for the
            script ``_static/atlas.js``, which is loaded on this page only.

    Returns:
        The block. The form is hidden until the script runs (a reader without JavaScript sees
        the plain lists). The data give, for each paper, the HTML id of its entry's target
        (which the atlas's links end with), its facets and its :func:`search_text`.
    """
    import html
    import json

    from docutils.nodes import make_id

    data = [
        {"id": make_id(p.label), "theme": p.group, "subtopic": p.subtopic,
         "adjacent": p.theme == "adjacent", "demo": p.demo is not None, "text": search_text(p)}
        for p in papers
    ]
    theme_opts = "".join(f'<option value="{t}">{html.escape(name)}</option>' for t, (name, _) in THEMES.items())
    sub_opts = "".join(f'<option value="{html.escape(s, quote=True)}">{html.escape(s)}</option>'
                       for s in sorted({p.subtopic for p in papers}))
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    return "\n".join([
        "```{raw} html",
        '<form id="atlas-filter" class="atlas-filter" role="search" hidden onsubmit="return false">',
        '<label class="atlas-filter-text">Filter the papers '
        '<input type="search" id="atlas-q" placeholder="words in a title or summary, e.g. grokking" autocomplete="off"></label>',
        f'<label>Theme <select id="atlas-theme"><option value="">all themes</option>{theme_opts}</select></label>',
        f'<label>Sub-topic <select id="atlas-subtopic"><option value="">all sub-topics</option>{sub_opts}</select></label>',
        '<label>Papers <select id="atlas-kind"><option value="">theme and adjacent papers</option>'
        '<option value="theme">theme papers only</option><option value="adjacent">adjacent papers only</option></select></label>',
        '<label><input type="checkbox" id="atlas-demo"> has a demo in the book</label>',
        '<button type="reset" id="atlas-reset">clear</button>',
        f'<p id="atlas-count" class="atlas-count" aria-live="polite" data-count="{len(papers)}">'
        f'All {len(papers)} papers are shown.</p>',
        "</form>",
        f'<script type="application/json" id="atlas-data">{payload}</script>',
        f'<script defer src="{root}_static/atlas.js"></script>',
        "```",
    ])


def render_atlas(papers: list[Paper], figure: str, root: str = "") -> str:
    """The body of the paper atlas page: counts, the figure, the filter, every paper by theme
    and sub-topic. ``figure`` is the figure's path and ``root`` the way back to the site's root,
    both relative to the page."""
    rows = counts_table(papers)
    out = [
        f"All {len(papers)} papers of the catalogue on one page: "
        f"{sum(r['in theme'] for r in rows)} in the book's five themes and "
        f"{sum(r['adjacent'] for r in rows)} adjacent papers, listed under the theme they are nearest to. "
        "Each title links to its full entry (summary, section, demo) on its chapter's papers page.",
        "",
        "| theme | papers in the theme | adjacent papers nearest to it | total |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        out.append(f"| {r['theme']} | {r['in theme']} | {r['adjacent']} | {r['in theme'] + r['adjacent']} |")
    out.append(f"| **all** | **{sum(r['in theme'] for r in rows)}** | **{sum(r['adjacent'] for r in rows)}** | **{len(papers)}** |")
    out += [
        "",
        f"```{{figure}} {figure}",
        ":alt: Horizontal bar chart of the number of catalogue papers in each sub-topic, coloured by theme.",
        ":width: 100%",
        "",
        "Papers per theme and sub-topic, drawn from the catalogue data when the book is built.",
        "```",
        "",
    ]
    out += atlas_filter_html(papers, root).splitlines() + [""]
    for theme, (name, folder) in THEMES.items():
        own = [p for p in papers if p.theme == theme]
        adj = [p for p in papers if p.theme == "adjacent" and p.group == theme]
        out += [f"## {name}", "", f"{len(own)} papers; full entries on {{doc}}`/{folder}/papers`.", ""]
        by_sub = defaultdict(list)
        for p in own:
            by_sub[p.subtopic].append(p)
        for sub in sorted(by_sub):
            out += [f"**{_md_escape(sub)}** ({len(by_sub[sub])})", ""]
            out += [f"- {{ref}}`{p.label}`" for p in sorted(by_sub[sub], key=lambda p: p.title.lower())]
            out.append("")
        if adj:
            out += [f"### Adjacent to {name.lower()}", "", f"{len(adj)} papers.", ""]
            for p in sorted(adj, key=lambda p: (p.subtopic, p.title.lower())):
                out.append(f"- {{ref}}`{p.label}` ({_md_escape(p.subtopic)}): {_md_escape(p.adjacent_why or '')}")
            out.append("")
    return "\n".join(out)


# ----------------------------------------------------------------------------------------
# Sphinx extension
# ----------------------------------------------------------------------------------------
_CATALOGUE_RE = re.compile(r"```\{paper-catalogue\}\s*\n:theme:\s*(\w+)\s*\n```")
_ATLAS_RE = re.compile(r"```\{paper-atlas\}\s*\n```")
ATLAS_IMAGE = "_generated/paper_atlas.png"


def _on_builder_inited(app) -> None:
    from sphinx.errors import ExtensionError

    try:
        app.env.biaslab_papers = load_catalogue()
        app.env.biaslab_sections = load_sections()
    except CatalogueError as e:
        raise ExtensionError(f"paper catalogue: {e}") from None
    atlas_figure(app.env.biaslab_papers, Path(app.srcdir) / ATLAS_IMAGE)


def _on_source_read(app, docname: str, source: list[str]) -> None:
    from sphinx.errors import ExtensionError

    text = source[0]
    papers = app.env.biaslab_papers
    try:
        text = _CATALOGUE_RE.sub(lambda m: render_chapter_papers(m.group(1), papers, app.env.biaslab_sections), text)
    except CatalogueError as e:
        raise ExtensionError(f"{docname}: {e}") from None
    if _ATLAS_RE.search(text):
        depth = docname.count("/")
        text = _ATLAS_RE.sub(lambda m: render_atlas(papers, "../" * depth + ATLAS_IMAGE, "../" * depth), text)
    source[0] = text


def _on_check_consistency(app, env) -> None:
    from sphinx.util import logging

    log = logging.getLogger(__name__)
    labels = env.get_domain("std").labels
    for p in env.biaslab_papers:
        for field in ("home", "nearest_section"):
            doc = getattr(p, field)
            if doc and doc not in env.found_docs:
                log.warning(f"paper catalogue: {p.source}: record {p.key!r}: field '{field}': section {doc!r} does not exist")
        if p.demo:
            doc, label = p.demo.split("#", 1)
            if doc not in env.found_docs:
                log.warning(f"paper catalogue: {p.source}: record {p.key!r}: field 'demo': section {doc!r} does not exist")
            elif label not in labels or labels[label][0] != doc:
                log.warning(f"paper catalogue: {p.source}: record {p.key!r}: field 'demo': no target ({label})= in {doc}")


def setup(app):
    app.connect("builder-inited", _on_builder_inited)
    app.connect("source-read", _on_source_read)
    app.connect("env-check-consistency", _on_check_consistency)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
