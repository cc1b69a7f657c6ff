"""The generated notebooks speak Jupyter's Markdown, not MyST: no MyST syntax survives in any
.ipynb or student copy, and three of them, rendered by a CommonMark renderer, show the links,
the folded solutions and the citation text the site shows. Unit tests of the converter
(tools/myst_to_jupyter.py) follow."""

import re
from html.parser import HTMLParser
from pathlib import Path

import booktools
import jupytext
import myst_to_jupyter as mj
import nbformat
import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parent.parent
SOURCES = booktools.notebook_files()
GENERATED = [md.with_suffix(".ipynb") for md in SOURCES] + [booktools.student_path(md) for md in SOURCES]
GEN_IDS = [p.relative_to(ROOT).as_posix() for p in GENERATED]
SITE = booktools.site_url()

# What MyST looks like and Jupyter does not render: a role, a directive fence (``` or :::),
# a target label, a directive option line, a MyST comment.
MYST = {
    "role": re.compile(r"\{[a-z][\w:.+-]*\}`"),
    "directive fence": re.compile(r"^\s*(`{3,}|:{3,})\s*\{", re.M),
    "target label": re.compile(r"^\s*\([^()\s]+\)=\s*$", re.M),
    "option line": re.compile(r"^\s*:(label|class|tags|name|nonumber|dropdown|sorted|style|theme):", re.M),
    "MyST comment": re.compile(r"^%", re.M),
}


def markdown_cells(path: Path) -> list[str]:
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]


def test_every_source_has_both_copies():
    assert len(GENERATED) == 2 * len(SOURCES) >= 4
    missing = [p for p in GENERATED if not p.exists()]
    assert not missing, f"run `make sync`: {missing}"


@pytest.mark.parametrize("path", GENERATED, ids=GEN_IDS)
def test_no_myst_syntax_survives(path):
    found = []
    for i, src in enumerate(markdown_cells(path)):
        for what, pattern in MYST.items():
            for m in pattern.finditer(src):
                found.append(f"cell {i}: {what}: {src[max(0, m.start() - 30):m.end() + 30]!r}")
    assert not found, "MyST in a generated notebook:\n" + "\n".join(found)


def test_the_scan_finds_myst():
    """The patterns above catch each kind of MyST they name."""
    samples = {
        "role": "as {cite:t}`key` showed",
        "directive fence": "```{exercise} Title\n",
        "target label": "(spectral-bias)=\n# Title",
        "option line": ":label: ex-a\n",
        "MyST comment": "% a comment\n",
    }
    for what, text in samples.items():
        assert MYST[what].search(text), what


class _Page(HTMLParser):
    """Links (href, text), <details> blocks and the visible text of rendered Markdown."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.details = 0
        self.summaries: list[str] = []
        self.text: list[str] = []
        self._href: str | None = None
        self._link_text: list[str] = []
        self._in_summary = False

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href, self._link_text = dict(attrs).get("href"), []
        elif tag == "details":
            self.details += 1
        elif tag == "summary":
            self._in_summary = True
            self.summaries.append("")

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._link_text)))
            self._href = None
        elif tag == "summary":
            self._in_summary = False

    def handle_data(self, data):
        self.text.append(data)
        if self._href is not None:
            self._link_text.append(data)
        if self._in_summary:
            self.summaries[-1] += data


def rendered(path: Path) -> _Page:
    md = MarkdownIt("commonmark")  # what Jupyter renders: CommonMark with raw HTML
    page = _Page()
    page.feed("\n".join(md.render(src) for src in markdown_cells(path)))
    page.visible = re.sub(r"\s+", " ", "".join(page.text))
    return page


SPECTRAL = ROOT / "chapters/01_inductive_bias/03_spectral_bias.ipynb"
INTERVENTIONS = ROOT / "chapters/04_causal_representation_learning/01_interventions.ipynb"
SPECTRAL_STUDENT = booktools.student_path(ROOT / "chapters/01_inductive_bias/03_spectral_bias.md")


def test_rendered_full_notebook_links_citations_and_solutions():
    page = rendered(SPECTRAL)
    hrefs = dict(page.links)
    glossary = f"{SITE}/chapters/appendix/glossary.html#term-Spectral-bias"
    assert hrefs.get(glossary) == "Spectral bias"
    bib = f"{SITE}/chapters/appendix/bibliography.html#cite-"
    assert hrefs.get(bib + "rahaman-spectral-bias-2019") == "2019"
    assert hrefs.get(bib + "tancik-fourier-features-2020") == "2020"
    # the citation text as sphinxcontrib-bibtex's author-year style prints it on the site
    assert "Rahaman et al. [2019]" in page.visible
    assert "Tancik et al. [2020]" in page.visible
    api = f"{SITE}/chapters/appendix/api.html#biaslab.inductive_bias.frequency_errors"
    assert hrefs.get(api) == "biaslab.inductive_bias.frequency_errors()"
    papers = f"{SITE}/chapters/01_inductive_bias/papers.html#paper-neural-networks-fail"
    assert papers in hrefs
    # four exercises, numbered as on the site, each with its solution folded
    for n in range(9, 13):
        assert f"Exercise 1.{n}: " in page.visible
    assert page.details == 4
    assert page.summaries == ["Solution", "Solution", "Solution (explanation)", "Solution"]
    assert "Solution to Exercise 1.11." in page.visible
    assert "Runtime." in page.visible and "Runtime > Change runtime type" in page.visible
    for href, _ in page.links:
        assert href.startswith((SITE + "/", "https://colab.research.google.com/")), href


def test_rendered_notebook_with_two_works_in_one_citation():
    page = rendered(INTERVENTIONS)
    # the works in the bibliography's order, as the site prints them (not the source's order)
    assert "[Dehejia and Wahba, 1999, LaLonde, 1986]" in page.visible
    hrefs = dict(page.links)
    assert hrefs.get(f"{SITE}/chapters/appendix/bibliography.html#cite-lalonde-1986") == "LaLonde, 1986"
    assert any(h.startswith(f"{SITE}/chapters/appendix/glossary.html#term-") for h in hrefs)


def test_rendered_student_copy_has_no_solutions():
    page = rendered(SPECTRAL_STUDENT)
    assert page.details == 0 and "Solution" not in page.visible
    assert "Exercise 1.9: Predict, then look" in page.visible
    assert "Rahaman et al. [2019]" in page.visible
    code = [c.source for c in nbformat.read(SPECTRAL_STUDENT, as_version=4).cells if c.cell_type == "code"]
    assert any(s.startswith("# Exercise 1.11: write your solution here") for s in code)


# ----------------------------------------------------------------------------------------
# The converter, piece by piece
# ----------------------------------------------------------------------------------------
DOC = "chapters/01_inductive_bias/03_spectral_bias"


def page(student: bool = False) -> mj.Page:
    return mj.Page(doc=DOC, book=mj.book_index(), student=student)


def test_toc_tree_numbers_chapters_and_sections():
    tree = dict(mj.toc_tree())
    assert tree["intro"] == () and tree["chapters/appendix/how_to_use"] == ()
    assert tree["chapters/01_inductive_bias/index"] == (1,)
    assert tree[DOC] == (1, 3)
    assert tree["chapters/05_disentanglement/01_identifiability"] == (5, 1)
    assert tree["chapters/appendix/glossary"] == ()


def test_book_index():
    book = mj.book_index()
    assert book.titles[DOC] == "Spectral bias: low frequencies first"
    assert book.labels["spectral-bias"] == (DOC, "spectral-bias", "Spectral bias: low frequencies first")
    assert book.terms["spectral bias"] == ("Spectral bias", "term-Spectral-bias")
    assert book.glossary_doc == "chapters/appendix/glossary"
    assert book.bibliography_doc == "chapters/appendix/bibliography"
    assert book.api_doc == "chapters/appendix/api"
    # sphinx-exercise's numbers: numfig_secnum_depth 1, so counted through the chapter
    assert book.numbers[(DOC, "exercise")] == ["1.9", "1.10", "1.11", "1.12"]
    assert book.exercise_labels[DOC]["ex-spectral-train-error"] == "1.9"


def test_enumerables_and_option_lines():
    text = (
        "```{exercise} A\n:label: ex-a\n```\n\n```{exercise} B\n:nonumber:\n```\n\n"
        "```{math}\n:label: eq-m\nx\n```\n\n$$ y $$ (eq-d)\n"
    )
    assert mj._enumerables(text) == {"exercise": ["ex-a"], "displaymath": ["eq-m", "eq-d"]}
    assert mj._option_lines(":label: x\n:class: dropdown\n") == {"label": "x", "class": "dropdown"}


def test_cite_matches_the_sites_style():
    t = mj.cite("t", "rahaman_spectral_bias_2019")
    assert t == f"Rahaman *et al.* \\[[2019]({SITE}/chapters/appendix/bibliography.html#cite-rahaman-spectral-bias-2019)\\]"
    assert mj.cite("p", "understanding_spectral_bias").startswith("\\[[Lazzari and Liu, 2023](")
    with pytest.raises(mj.MystError, match="not in references.bib"):
        mj.cite("p", "no_such_key")
    with pytest.raises(mj.MystError, match="cite:zz"):
        mj.cite("zz", "rahaman_spectral_bias_2019")


def test_convert_role_each_kind():
    p = page()
    assert mj.convert_role("math", "x^2", p) == "$x^2$"
    assert mj.convert_role("glue:text", "gap:.1f", p) == "`gap`" and mj.convert_role("glue", "gap", p) == "`gap`"
    assert mj.convert_role("term", "spectral bias", p) == f"[spectral bias]({SITE}/chapters/appendix/glossary.html#term-Spectral-bias)"
    assert mj.convert_role("term", "the bias <Spectral bias>", p).startswith("[the bias](")
    assert mj.convert_role("doc", "07_grokking", p).startswith("[Grokking")
    assert mj.convert_role("doc", "../appendix/glossary", p) == f"[Glossary]({SITE}/chapters/appendix/glossary.html)"
    assert mj.convert_role("ref", "spectral-bias", p) == f"[Spectral bias: low frequencies first]({SITE}/{DOC}.html#spectral-bias)"
    assert mj.convert_role("numref", "ex-spectral-train-error", p) == f"[Exercise 1.9]({SITE}/{DOC}.html#ex-spectral-train-error)"
    assert mj.convert_role("numref", "Exercise {number} <ex-spectral-grid>", p).startswith("[Exercise 1.10](")
    assert mj.convert_role("func", "~biaslab.core.train", p) == f"[`train()`]({SITE}/chapters/appendix/api.html#biaslab.core.train)"
    assert mj.convert_role("class", "biaslab.core.Snake", p).startswith("[`biaslab.core.Snake`](")
    assert mj.convert_role("sub", "2", p) == "<sub>2</sub>"
    for bad in [("term", "no such term"), ("doc", "nowhere"), ("ref", "no-label"), ("eq", "x")]:
        with pytest.raises(mj.MystError):
            mj.convert_role(*bad, p)


def test_convert_inline_keeps_code_spans_and_spans_lines():
    p = page()
    out = mj.convert_inline("``{term}`x` `` and {term}`neural tangent\nkernel <Neural tangent kernel>`", p)
    assert out.startswith("``{term}`x` `` and [neural tangent\nkernel](")
    with pytest.raises(mj.MystError, match="substitution"):
        mj.convert_inline("{{ name }}", p)
    with pytest.raises(mj.MystError, match="not closed"):
        mj.convert_inline("{term}`open", p)


def test_resolve_doc_and_split_explicit():
    assert mj._resolve_doc("../appendix/glossary", DOC) == "chapters/appendix/glossary"
    assert mj._resolve_doc("/intro", DOC) == "intro"
    assert mj._resolve_doc("01_priors_before_training.md", DOC) == "chapters/01_inductive_bias/01_priors_before_training"
    assert mj._split_explicit("text <target>") == ("text", "target")
    assert mj._split_explicit("target") == (None, "target")


def test_convert_directives_and_blocks():
    p = page()
    md = mj.convert_markdown(
        "(a-label)=\n## Head\n\n% a comment\n```{note}\nSee {term}`spectral bias`.\n```\n\n"
        "```{admonition} Why\n:class: dropdown\nBecause.\n```\n\n"
        "```{exercise} Try it\n:label: ex-spectral-train-error\n\nDo it.\n```\n\n"
        "````{solution} ex-spectral-train-error\n:class: dropdown\n\n```python\nx = 1  # {term}`kept`\n```\n\nSo.\n````\n\n"
        "$$\na = b\n$$\n\n```{code-block} python\ny = 2\n```",
        p,
    )
    assert md.startswith("## Head\n\n> **Note**\n>\n> See [spectral bias](")
    assert "<details>\n<summary>Why</summary>\n\nBecause.\n\n</details>" in md
    assert "**Exercise 1.9: Try it**\n\nDo it." in md
    assert "<details>\n<summary>Solution</summary>\n\n```python\nx = 1  # {term}`kept`\n```\n\nSo.\n\n</details>" in md
    assert "$$\na = b\n$$" in md and "```python\ny = 2\n```" in md
    assert "(a-label)=" not in md and "a comment" not in md
    student = mj.convert_markdown("```{solution} ex-a\n:class: dropdown\n\nSecret.\n```\nAfter.", page(student=True))
    assert student == "After."
    with pytest.raises(mj.MystError, match="directive \\{glue\\}"):
        mj.convert_markdown("```{glue} x\n```", p)


def test_setup_comment_and_runtime_note():
    src = "import biaslab\n\nbiaslab.seed_everything(0)\nbiaslab.plot_style()\ndevice = biaslab.get_device()"
    c = mj.setup_comment(src)
    assert c == "# Setup (hidden on the site): imports, seeds the random generators, sets the plot style, picks the device."
    assert mj.setup_comment("x = 1") == "# Setup (hidden on the site): code the page runs without showing."
    assert "about 25 s" in mj.runtime_note(21.3) and "is not needed" in mj.runtime_note(21.3)
    assert "about 5 minutes" in mj.runtime_note(290) and "shortens" in mj.runtime_note(290)
    assert "Runtime > Change runtime type" in mj.runtime_note(None)


def test_measured_seconds_reads_the_committed_times():
    times = mj.measured_seconds(ROOT / f"{DOC}.md")
    assert times is not None and 0 < times < 300


def test_convert_notebook_gated_solution_and_setup_cell():
    md = ROOT / f"{DOC}.md"
    nb = mj.convert_notebook(jupytext.read(md), md)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "colab-install" in code[0].metadata["tags"] and code[0].source == booktools.install_cell_source()
    assert code[1].source.startswith("# Setup (hidden on the site):")
    solution = next(c for c in code if "solution" in c.metadata.get("tags", []))
    assert solution.metadata["jupyter"]["source_hidden"] is True
    i = nb.cells.index(solution)
    assert nb.cells[i - 1].source.endswith(mj._gate_intro("1.11"))
    assert nb.cells[i + 1].source.startswith("<details>\n<summary>Solution (explanation)</summary>")
    assert "jupytext" not in nb.metadata
    header = nb.cells[0].source
    assert header.index("**Runtime.**") > header.index("Open in Colab")


def test_convert_notebook_rejects_an_open_gate():
    md = ROOT / f"{DOC}.md"
    nb = jupytext.read(md)
    nb.cells = [c for c in nb.cells if "{solution-end}" not in c.source]
    with pytest.raises(mj.MystError, match="no solution-end"):
        mj.convert_notebook(nb, md)


# ----------------------------------------------------------------------------------------
# The tools around it: recorded run times, the Colab-like install check
# ----------------------------------------------------------------------------------------
def test_every_notebook_has_a_recorded_time():
    import json

    times = json.loads(mj.TIMES.read_text())
    assert set(times) == {booktools.docname(md) for md in SOURCES}
    assert all(0 < t < 300 for t in times.values())


def test_record_times(tmp_path):
    import json

    import sync_notebooks

    measured = {md.with_suffix(".ipynb").relative_to(ROOT).as_posix(): 12.34 for md in SOURCES}
    measured["student/x.ipynb"] = 1.0
    (tmp_path / "m.json").write_text(json.dumps(measured))
    kept = sync_notebooks.record_times(tmp_path / "m.json", tmp_path / "t.json")
    assert kept == json.loads((tmp_path / "t.json").read_text())
    assert set(kept) == {booktools.docname(md) for md in SOURCES} and set(kept.values()) == {12.3}
    del measured[next(iter(measured))]
    (tmp_path / "m.json").write_text(json.dumps(measured))
    with pytest.raises(ValueError, match="no time for"):
        sync_notebooks.record_times(tmp_path / "m.json", tmp_path / "t.json")


def test_colab_check_freeze_comparison():
    import colab_check

    before = colab_check.parse_freeze("numpy==2.1.3\nTorch @ file:///t.whl\nscikit_learn==1.6.1\n# comment\n-e x\n")
    assert before == {"numpy": "2.1.3", "torch": "file:///t.whl", "scikit-learn": "1.6.1"}
    after = dict(before, fairlearn="0.15.0")
    assert colab_check.changed(before, after) == {}
    after["numpy"] = "2.4.6"
    del after["torch"]
    assert colab_check.changed(before, after) == {"numpy": ("2.1.3", "2.4.6"), "torch": ("file:///t.whl", None)}


def test_colab_check_runs_the_install_cell_as_colab_does(tmp_path):
    import colab_check

    code = colab_check.colab_install_code(SPECTRAL, "biaslab @ file:///here")
    assert "sys.modules['google.colab']" in code.splitlines()[1]
    assert '"biaslab @ file:///here"' in code and booktools.install_spec() not in code
    compile(code, "install-cell", "exec")
    nb = nbformat.read(SPECTRAL, as_version=4)
    nb.cells = [c for c in nb.cells if "colab-install" not in c.metadata.get("tags", [])]
    nbformat.write(nb, tmp_path / "x.ipynb")
    with pytest.raises(ValueError, match="not the install cell"):
        colab_check.colab_install_code(tmp_path / "x.ipynb", "biaslab @ file:///here")
    tree = colab_check.copy_of_working_tree(tmp_path)
    assert (tree / "pyproject.toml").exists() and (tree / "src" / "biaslab" / "__init__.py").exists()


def test_colab_constraints_pin_the_stack():
    names = {}
    for line in (ROOT / "tests" / "colab_constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            names[name.lower()] = version
    for must in ("torch", "numpy", "pandas", "scikit-learn", "matplotlib", "seaborn", "scipy", "sentence-transformers"):
        assert must in names, must
    assert names["torch"] == "2.13.0"  # the CPU wheel on local disk; never an unpinned (CUDA) torch


def test_colab_check_fresh_copy_leaves_the_base_alone(tmp_path):
    import colab_check

    base = tmp_path / "base"
    (base / "lib").mkdir(parents=True)
    (base / "lib" / "a.py").write_text("old")
    (base / "bin").mkdir()
    (base / "bin" / "python").symlink_to("/usr/bin/python3")
    run = colab_check.fresh_copy(base, tmp_path / "run")
    assert (run / "bin" / "python").is_symlink() and (run / "lib" / "a.py").read_text() == "old"
    (run / "lib" / "a.py").unlink()  # what pip does to a file it replaces
    (run / "lib" / "a.py").write_text("new")
    assert (base / "lib" / "a.py").read_text() == "old"


def test_execution_cache_stores_the_source_with_nbvals_outputs():
    """conftest.py caches the .md's notebook (what the book build reads) with the outputs of
    the generated .ipynb that nbval ran: the two differ by the setup comment."""
    import conftest

    ran = nbformat.read(SPECTRAL, as_version=4)
    for i, c in enumerate(c for c in ran.cells if c.cell_type == "code"):
        c.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"cell {i}\n")]
    stored = conftest._as_source(ran, SPECTRAL)
    source = jupytext.read(SPECTRAL.with_suffix(".md"))
    code = [c for c in stored.cells if c.cell_type == "code"]
    assert [c.source for c in code] == [c.source for c in source.cells if c.cell_type == "code"]
    assert [c.outputs[0]["text"] for c in code] == [f"cell {i}\n" for i in range(len(code))]
