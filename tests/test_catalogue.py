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


# Endings that say a paper "works" without saying what it found; a summary's last sentence
# states the finding instead, with the figure the abstract gives (or says that it gives none).
VAGUE_FINDING = re.compile(
    r"\b(works? well|competitive (results|performance)|(are|is|proves?) (useful|effective)|performs strongly"
    r"|improves (the )?results|demonstrates? (the )?(effectiveness|efficacy|superiority)"
    r"|(outperforms?|beats?|better than) (the )?((other|prior|previous|existing|competing) (methods|approaches)|baselines)\s*[.;]?$)",
    re.I,
)


@pytest.mark.parametrize(
    "sentence, vague",
    [
        ("It works well on standard benchmarks, especially with label noise.", True),
        ("The loss takes a few lines of code and gives competitive results on several datasets.", True),
        ("Experiments show the bounds are useful, which matters for decisions.", True),
        ("It outperforms other methods on five cancer datasets.", False),  # names the data at least
        ("It outperforms other methods.", True),
        ("On three datasets it beats the strongest baselines by 10.02%.", False),
    ],
)
def test_vague_finding_pattern(sentence, vague):
    assert bool(VAGUE_FINDING.search(sentence)) is vague


def test_no_summary_ends_on_a_vague_finding():
    vague = [p.key for p in PAPERS if VAGUE_FINDING.search(cat.sentences(p.summary)[-1])]
    assert not vague, f"summaries ending on a vague finding: {vague}"


def test_home_and_demo_references_resolve():
    toc = set(toc_files())
    for p in PAPERS:
        if p.home:
            assert p.home in toc, f"{p.key}: home {p.home} is not a page in _toc.yml"
        if p.demo:
            doc, label = p.demo.split("#", 1)
            assert doc in toc, f"{p.key}: demo page {doc} is not in _toc.yml"
            assert f"({label})=" in (ROOT / f"{doc}.md").read_text(), f"{p.key}: no target ({label})= in {doc}.md"


# Demos of work the catalogue does not hold (classic methods and data sets the sections build
# on): the demo's label and the bibliography key of that work, which its page must cite.
UNCATALOGUED_DEMOS = {
    "group-repairs-demo": "sagawa_groupdro_2020",  # GroupDRO and reweighting, with group labels
    "groupdro-regularization-demo": "sagawa_groupdro_2020",  # GroupDRO needs strong regularization
    "jtt-demo": "liu_jtt_2021",  # Just Train Twice
    "causal-nsw-demo": "lalonde_1986",  # the NSW job-training benchmark
    "causal-sachs-demo": "sachs_2005",  # the Sachs protein network
    "causal-ivae-demo": "khemakhem_ivae_2020",  # iVAE / nonlinear ICA
    "sefa-demo": "shen_sefa_2021",  # SeFa: closed-form directions in a generator
    "jtt-waterbirds-demo": "liu_jtt_2021",  # JTT on a tabular Waterbirds
    "rotation-cost-demo": "rolinek_vae_pca_2019",  # the cost of rotating a diagonal posterior
    "causal-tcl-demo": "hyvarinen_tcl_2016",  # time-contrastive learning under nonlinear mixing
    "causal-icp-demo": "peters_icp_2016",  # invariant causal prediction
    "irm-digits-demo": "arjovsky_irm_2019",  # IRMv1 on Colored MNIST's two environments
    "real-features-demo": "kirichenko_dfr_2023",  # last-layer retraining on frozen sentence features
    "feature-splitting-demo": "bricken_monosemanticity_2023",  # SAE features split into sub-features
}


def demo_labels() -> dict[str, str]:
    """``{label: docname}`` of every demo target in the chapters: each ``(<name>-demo)=``."""
    out = {}
    for md in sorted((ROOT / "chapters").glob("0*/*.md")):
        doc = md.relative_to(ROOT).with_suffix("").as_posix()
        for label in re.findall(r"^\(([a-z0-9-]+-demo)\)=$", md.read_text(), re.M):
            assert label not in out, f"demo label {label} defined twice"
            out[label] = doc
    return out


def test_demo_labels_finds_the_demos():
    labels = demo_labels()
    assert labels["qlae-demo"] == "chapters/05_disentanglement/03_structured_latents"
    assert len(labels) >= 40


def test_every_demo_is_linked_from_the_paper_it_reproduces():
    """A demo's link is kept true from both ends: every demo in the chapters is the ``demo`` of
    at least one record (or reproduces named work outside the catalogue), and every record's
    ``demo`` names a target that exists on that page."""
    linked = {p.demo for p in PAPERS if p.demo}
    keys = {p.key for p in PAPERS}
    for label, doc in demo_labels().items():
        if label in UNCATALOGUED_DEMOS:
            bib_key = UNCATALOGUED_DEMOS[label]
            assert f"{doc}#{label}" not in linked, f"{label} is linked from a record: drop it from UNCATALOGUED_DEMOS"
            assert bib_key not in keys, f"{bib_key} is in the catalogue: link {label} from its record"
            assert bib_key in (ROOT / f"{doc}.md").read_text(), f"{doc}.md does not cite {bib_key}, which {label} reproduces"
        else:
            assert f"{doc}#{label}" in linked, (
                f"the demo ({label})= in {doc}.md is linked from no catalogue record: set the `demo` "
                f"field of the paper it reproduces to {doc}#{label}")
    for p in PAPERS:
        if p.demo:
            doc, label = p.demo.split("#", 1)
            assert re.search(rf"^\({re.escape(label)}\)=$", (ROOT / f"{doc}.md").read_text(), re.M), p.key
            assert doc == p.home, f"{p.key}: its demo is on {doc}, but its home is {p.home}"


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


def test_atlas_filter_rule():
    """The rule the atlas's filter applies (in _static/atlas.js, mirrored by atlas_matches)."""
    assert len(cat.atlas_matches(PAPERS)) == 306
    grok = cat.atlas_matches(PAPERS, "grokking")
    assert grok and all("grokking" in cat.search_text(p) for p in grok)
    assert cat.atlas_matches(PAPERS, "GROKKING") == grok
    both = cat.atlas_matches(PAPERS, "grokking weight")
    assert set(both) <= set(grok) and all("weight" in cat.search_text(p) for p in both)
    fair_demo = cat.atlas_matches(PAPERS, theme="fairness", demo=True)
    assert fair_demo and all(p.group == "fairness" and p.demo for p in fair_demo)
    adj = cat.atlas_matches(PAPERS, kind="adjacent")
    assert len(adj) == sum(p.theme == "adjacent" for p in PAPERS) == 306 - len(cat.atlas_matches(PAPERS, kind="theme"))
    sub = PAPERS[0].subtopic
    assert all(p.subtopic == sub for p in cat.atlas_matches(PAPERS, subtopic=sub))
    assert cat.atlas_matches(PAPERS, "no-such-word-anywhere") == []
    sf = next(p for p in PAPERS if p.title.startswith("SF(DA)"))
    assert "$" not in cat.search_text(sf) and sf in cat.atlas_matches(PAPERS, "source-free")
    with pytest.raises(ValueError, match="theme"):
        cat.atlas_matches(PAPERS, theme="robotics")
    with pytest.raises(ValueError, match="kind"):
        cat.atlas_matches(PAPERS, kind="both")


def test_atlas_filter_html_carries_every_paper_and_its_script():
    import json

    from docutils.nodes import make_id

    block = cat.atlas_filter_html(PAPERS, "../../")
    assert block.startswith("```{raw} html") and block.rstrip().endswith("```")
    assert '<script defer src="../../_static/atlas.js"></script>' in block
    payload = re.search(r'<script type="application/json" id="atlas-data">(.*?)</script>', block, re.S).group(1)
    data = json.loads(payload.replace("<\\/", "</"))
    assert [d["id"] for d in data] == [make_id(p.label) for p in PAPERS]
    assert {d["theme"] for d in data} == set(cat.THEMES)
    assert sum(d["demo"] for d in data) == sum(p.demo is not None for p in PAPERS)
    for name in ("atlas-q", "atlas-theme", "atlas-subtopic", "atlas-kind", "atlas-demo", "atlas-count"):
        assert f'id="{name}"' in block
    atlas = cat.render_atlas(PAPERS, "fig.png", "../../")
    assert atlas.index('id="atlas-filter"') < atlas.index("## Inductive bias")


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


def test_every_summary_links_to_a_section():
    """As the how-to page says: every entry links the section that discusses it, or, for an
    adjacent paper no section discusses, the section nearest to it; the link is rendered."""
    toc = set(toc_files())
    for p in PAPERS:
        assert p.section_doc in toc, f"{p.key}: links no section (home {p.home}, nearest_section {p.nearest_section})"
        if p.nearest_section:
            assert p.theme == "adjacent" and not p.home, p.key
    assert sum(p.nearest_section is not None for p in PAPERS) == 99
    for theme in cat.THEMES:
        page = cat.render_chapter_papers(theme, PAPERS, SECTIONS)
        for p in PAPERS:
            if p.group == theme:
                entry = page.split(f"({p.label})=", 1)[1].split("\n(paper-", 1)[0]
                assert f"{{doc}}`/{p.section_doc}`" in entry, f"{p.key}: its entry does not link {p.section_doc}"
    assert "section nearest to it" in (ROOT / "chapters/appendix/how_to_use.md").read_text()


def test_sections_link_their_catalogue_entries():
    """A paper's home section links its catalogue entry."""
    for p in PAPERS:
        if p.home:
            assert f"paper-{p.key}" in (ROOT / f"{p.home}.md").read_text(), (
                f"{p.home}.md is the home of {p.key} but does not link {{ref}}`paper-{p.key}`")


def test_no_hyphen_broken_by_line_folding():
    """YAML folds a line break after a hyphen into "- ": no word of the catalogue is split so."""
    for path in sorted(cat.PAPERS_DIR.glob("*.yml")):
        for r in yaml.safe_load(path.read_text()) or []:
            for field in ("title", "subtopic", "summary", "adjacent_why"):
                text = " ".join(str(r.get(field) or "").split()) if isinstance(r, dict) else ""
                assert not cat.broken_hyphens(text), f"{path.name}: {r.get('key')}: {field}: {cat.broken_hyphens(text)}"


@pytest.mark.parametrize(
    "text, broken",
    [
        ("splits modality- specific parts", ["modality- specific"]),
        ("sub-concepts such as species- specific parts and block- specific ones", ["species- specific", "block- specific"]),
        ("in- and out-of-distribution accuracy, one- or multi-dimensional labels", []),
        ("rule- versus similarity-based, zero- to few-shot, well-known results", []),
        ("a list - with a dash - is not a word", []),
    ],
)
def test_broken_hyphens_finds_split_words_only(text, broken):
    assert cat.broken_hyphens(text) == broken


@pytest.mark.parametrize(
    "title, plain, phrases",
    [
        ("SF(DA)$^2$: Source-free Domain Adaptation Through the Lens of Data Augmentation",
         "SF(DA): Source-free Domain Adaptation Through the Lens of Data Augmentation",
         ["SF(DA)", "Source-free Domain Adaptation Through the Lens of Data Augmentation"]),
        ("Grokking as the transition from lazy to rich dynamics", "Grokking as the transition from lazy to rich dynamics",
         ["Grokking as the transition from lazy to rich dynamics"]),
        ("Learning $\\mathcal{O}(n)$ maps with {G}raph nets", "Learning maps with Graph nets",
         ["Learning", "maps with Graph nets"]),
    ],
)
def test_plain_title_and_phrases_drop_markup(title, plain, phrases):
    assert cat.plain_title(title) == plain
    assert cat.title_phrases(title) == phrases


def test_search_links_carry_no_markup():
    sf = next(p for p in PAPERS if p.title.startswith("SF(DA)"))
    assert sf.search_url == ("https://arxiv.org/search/?query=SF+DA+Source-free+Domain+Adaptation+Through+the+Lens"
                             "+of+Data+Augmentation&searchtype=title")
    assert sf.scholar_url == ("https://scholar.google.com/scholar?q=%22SF%28DA%29%22+%22Source-free+Domain+Adaptation"
                              "+Through+the+Lens+of+Data+Augmentation%22")
    for p in PAPERS:
        for url in (p.search_url, p.scholar_url):
            assert not re.search(r"%24|%5C|%5E|%7B|%7D", url), f"{p.key}: markup left in {url}"
        assert p.scholar_url.startswith("https://scholar.google.com/scholar?q=%22")
    page = cat.render_chapter_papers("spurious", PAPERS, SECTIONS)
    assert sf.scholar_url.replace("&", "&amp;") in page and "or on Google Scholar" in page


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
        (dict(subtopic="spectral- bias"), "subtopic", "hyphen broken by a folded line"),
        (dict(nearest_section="chapters/01_inductive_bias/03_spectral_bias"), "nearest_section", "only for an adjacent paper"),
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


def test_adjacent_record_without_home_needs_nearest_section(papers_copy):
    recs = yaml.safe_load((papers_copy / "spurious.yml").read_text())
    i = next(i for i, r in enumerate(recs) if r["theme"] == "adjacent" and not r.get("home"))
    _edit(papers_copy, "spurious", i, nearest_section=Ellipsis)
    with pytest.raises(cat.CatalogueError, match="nearest_section.*names the section nearest"):
        cat.load_catalogue(papers_copy)
    _edit(papers_copy, "spurious", i, nearest_section="chapters/02_spurious_correlations/no_such_page")
    with pytest.raises(cat.CatalogueError, match="does not exist"):
        cat.load_catalogue(papers_copy, docs=set(toc_files()))


def test_adjacent_record_needs_nearest_theme_and_reason(papers_copy):
    recs = yaml.safe_load((papers_copy / "causal.yml").read_text())
    i = next(i for i, r in enumerate(recs) if r["theme"] == "adjacent")
    _edit(papers_copy, "causal", i, adjacent_why="")
    with pytest.raises(cat.CatalogueError, match="adjacent_why"):
        cat.load_catalogue(papers_copy)
