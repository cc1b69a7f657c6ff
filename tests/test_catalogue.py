"""The paper catalogue: complete, consistent with the book, rendered without loss, and bad
data rejected with a message that names the record and the field."""

import re
import shutil
from pathlib import Path

import catalogue as cat
import pytest
import yaml
from test_book import toc_files

ROOT = Path(__file__).resolve().parent.parent

PAPERS = cat.load_catalogue()
SECTIONS = cat.load_sections()


def test_exactly_306_unique_records():
    assert len(PAPERS) == 306
    assert len({p.key for p in PAPERS}) == 306
    assert len({p.title for p in PAPERS}) == 306


def test_required_fields_and_summary_bounds():
    for p in PAPERS:
        assert p.title.strip() and p.subtopic.strip() and p.summary.strip(), p.key
        assert cat.MIN_WORDS <= len(p.summary.split()) <= cat.MAX_WORDS, p.key
        assert cat.MIN_SENTENCES <= len(cat.sentences(p.summary)) <= cat.MAX_SENTENCES, p.key
        assert p.search_url.startswith("https://arxiv.org/search/?query=")
        if p.theme == "adjacent":
            assert p.adjacent_why and p.section is None, p.key
        else:
            assert p.section in SECTIONS[p.theme], p.key


def test_theme_counts():
    themed = sum(p.theme != "adjacent" for p in PAPERS)
    assert themed + sum(p.theme == "adjacent" for p in PAPERS) == 306
    for theme in cat.THEMES:
        assert any(p.theme == theme for p in PAPERS), f"no paper in theme {theme}"


def test_home_and_demo_references_resolve():
    toc = set(toc_files())
    for p in PAPERS:
        if p.home:
            assert p.home in toc, f"{p.key}: home {p.home} is not a page in _toc.yml"
        if p.demo:
            doc, label = p.demo.split("#", 1)
            assert doc in toc, f"{p.key}: demo page {doc} is not in _toc.yml"
            assert f"({label})=" in (ROOT / f"{doc}.md").read_text(), f"{p.key}: no target ({label})= in {doc}.md"


def test_every_paper_page_is_in_the_toc():
    toc = set(toc_files())
    for theme, (_, folder) in cat.THEMES.items():
        assert f"{folder}/papers" in toc
        assert f"{{paper-catalogue}}\n:theme: {theme}" in (ROOT / folder / "papers.md").read_text()
    assert "chapters/appendix/paper_atlas" in toc


def test_rendered_pages_show_every_paper_once():
    shown = {}
    for theme in cat.THEMES:
        page = cat.render_chapter_papers(theme, PAPERS, SECTIONS)
        labels = re.findall(r"^\(paper-([a-z0-9_]+)\)=$", page, re.M)
        assert len(labels) == sum(p.group == theme for p in PAPERS)
        for k in labels:
            assert k not in shown, f"{k} shown twice"
            shown[k] = theme
    assert len(shown) == 306
    atlas = cat.render_atlas(PAPERS, "fig.png")
    assert len(re.findall(r"\{ref\}`paper-", atlas)) == 306
    rows = {r["theme"]: r for r in cat.counts_table(PAPERS)}
    for theme, (name, _) in cat.THEMES.items():
        assert f"| {name} | {rows[name]['in theme']} | {rows[name]['adjacent']} |" in atlas


def test_cited_catalogue_papers_have_matching_bib_titles():
    bib = (ROOT / "references.bib").read_text()
    entries = {m.group(1): m.group(2) for m in re.finditer(r"@\w+\{([^,\s]+),(.*?)\n\}", bib, re.S)}
    by_key = {p.key: p for p in PAPERS}
    for key, body in entries.items():
        if key in by_key:
            m = re.search(r"title\s*=\s*\{(.*?)\},?\s*\n", body, re.S)
            assert m, f"bib entry {key} has no title"
            title = re.sub(r"[{}]", "", " ".join(m.group(1).split()))
            assert title == by_key[key].title, f"bib title of {key} differs from the catalogue"


def test_sections_link_their_catalogue_entries():
    """A paper's home section links its catalogue entry."""
    for p in PAPERS:
        if p.home:
            assert f"paper-{p.key}" in (ROOT / f"{p.home}.md").read_text(), (
                f"{p.home}.md is the home of {p.key} but does not link {{ref}}`paper-{p.key}`")


# ------------------------------------------------------------------ bad data
@pytest.fixture
def papers_copy(tmp_path):
    d = tmp_path / "papers"
    shutil.copytree(cat.PAPERS_DIR, d)
    return d


def _edit(d: Path, file_theme: str, index: int, **changes):
    path = d / f"{file_theme}.yml"
    recs = yaml.safe_load(path.read_text())
    recs[index].update(changes)
    for k, v in list(recs[index].items()):
        if v is Ellipsis:
            del recs[index][k]
    path.write_text(yaml.safe_dump(recs, sort_keys=False))
    return recs[index].get("key")


@pytest.mark.parametrize(
    "changes, field, message",
    [
        (dict(title=Ellipsis), "title", "missing or empty"),
        (dict(theme="robotics"), "theme", "unknown theme 'robotics'"),
        (dict(section="IB99"), "section", "'IB99' is not a section"),
        (dict(summary="Too short. Really."), "summary", "words"),
        (dict(home="chapters/01_inductive_bias/no_such_page"), "home", "does not exist"),
        (dict(demo="chapters/01_inductive_bias/03_spectral_bias"), "demo", "<docname>#<label>"),
        (dict(key="Bad Key"), "key", "lowercase"),
    ],
)
def test_bad_data_names_record_and_field(papers_copy, changes, field, message):
    key = _edit(papers_copy, "inductive_bias", 0, **changes)
    docs = {f for f in toc_files()}
    with pytest.raises(cat.CatalogueError) as e:
        cat.load_catalogue(papers_copy, docs=docs)
    text = str(e.value)
    assert "inductive_bias.yml" in text and f"field '{field}'" in text and message in text
    if key and field != "key":
        assert repr(key) in text


def test_duplicate_title_is_rejected(papers_copy):
    first = yaml.safe_load((papers_copy / "spurious.yml").read_text())[0]["title"]
    _edit(papers_copy, "fairness", 0, title=first)
    with pytest.raises(cat.CatalogueError, match="duplicate title"):
        cat.load_catalogue(papers_copy)


def test_adjacent_record_needs_nearest_theme_and_reason(papers_copy):
    recs = yaml.safe_load((papers_copy / "causal.yml").read_text())
    i = next(i for i, r in enumerate(recs) if r["theme"] == "adjacent")
    _edit(papers_copy, "causal", i, adjacent_why="")
    with pytest.raises(cat.CatalogueError, match="adjacent_why"):
        cat.load_catalogue(papers_copy)
