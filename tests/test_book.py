"""The book's structure: notebooks in sync with their sources, links derived from
_config.yml, every section built to the pattern, every TOC entry present."""

import json
import re
from pathlib import Path

import booktools
import jupytext
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

NOTEBOOKS = booktools.notebook_files()
IDS = [p.relative_to(ROOT).as_posix() for p in NOTEBOOKS]


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    out = [toc["root"]]

    def walk(entries):
        for e in entries:
            if "file" in e:
                out.append(e["file"])
            walk(e.get("sections", []))
            walk(e.get("chapters", []))

    walk(toc.get("parts", []))
    return out


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2


def test_every_toc_entry_exists_and_every_notebook_is_in_the_toc():
    files = toc_files()
    for f in files:
        assert (ROOT / f"{f}.md").exists(), f"_toc.yml names {f} but {f}.md does not exist"
    for nb in NOTEBOOKS:
        doc = nb.relative_to(ROOT).with_suffix("").as_posix()
        assert doc in files, f"{doc} is a notebook but not in _toc.yml"


@pytest.mark.parametrize("md", NOTEBOOKS, ids=IDS)
def test_notebook_source_is_myst_with_code(md):
    nb = jupytext.read(md)
    assert nb.metadata["jupytext"]["text_representation"]["format_name"] == "myst"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 3, "a section needs setup, demo and check cells"


def code_cells(nb) -> list[tuple[str, list[str]]]:
    """(source, tags) of every code cell, in order."""
    return [(c.source, list(c.metadata.get("tags", []))) for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("md", NOTEBOOKS, ids=IDS)
def test_ipynb_in_sync_and_without_outputs(md):
    import sync_notebooks

    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb} missing: run `make sync`"
    raw = json.loads(ipynb.read_text())
    for cell in raw["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, f"{ipynb} stores outputs"
    assert ipynb.read_text() == sync_notebooks.full_notebook_text(md), "run `make sync`"
    assert "jupytext" not in raw["metadata"], "the .ipynb must not be paired with its source"
    # the code is the source's, cell for cell; a hidden cell only gains a first comment line
    ours, source = code_cells(jupytext.read(ipynb)), code_cells(jupytext.read(md))
    assert len(ours) == len(source)
    for (code, tags), (src_code, src_tags) in zip(ours, source):
        assert tags == src_tags
        if code != src_code:
            first, rest = code.split("\n", 1)
            assert {"hide-input", "remove-cell"} & set(tags) and rest == src_code
            assert first.startswith(("# Setup (hidden on the site)", "# Hidden on the site"))


@pytest.mark.parametrize("md", NOTEBOOKS, ids=IDS)
def test_links_and_install_cell_derive_from_config(md):
    text = md.read_text()
    assert booktools.stamp_markdown(text, md) == text, "run `make sync`"
    links = booktools.COLAB_RE.findall(text)
    assert links and set(links) <= {booktools.colab_url(md), booktools.student_colab_url(md)}
    assert booktools.colab_url(md) in links and booktools.student_colab_url(md) in links
    link_path = links[0].split(f"/blob/{booktools.repo_branch()}/", 1)[1]
    assert (ROOT / link_path).exists(), f"Colab link targets {link_path}, which does not exist"
    nb = jupytext.read(md.with_suffix(".ipynb"))
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert first_code.source == booktools.install_cell_source()
    assert "colab-install" in first_code.metadata.get("tags", [])
    assert booktools.repo_url() in first_code.source


def test_repository_url_written_only_in_config():
    url = booktools.repo_url()
    slug = booktools.repo_slug()
    site = booktools.site_url().split("://", 1)[1]
    generated = {p.resolve() for p in NOTEBOOKS} | {p.with_suffix(".ipynb").resolve() for p in NOTEBOOKS}
    generated |= {booktools.student_path(p).resolve() for p in NOTEBOOKS}
    offenders = []
    for p in ROOT.rglob("*"):
        if not p.is_file() or any(part in {".git", ".venv", "_build", "node_modules"} for part in p.parts):
            continue
        if p.suffix not in {".md", ".py", ".yml", ".yaml", ".toml", ".txt", ".ipynb", ".cfg", ""} or p.name == "_config.yml":
            continue
        if p.resolve() in generated:
            continue  # stamped from _config.yml by tools/sync_notebooks.py, checked above
        text = p.read_text(errors="ignore")
        if url in text or slug in text or site in text:
            offenders.append(p.relative_to(ROOT).as_posix())
    assert not offenders, f"the repository or site URL is written outside _config.yml in: {offenders}"


@pytest.mark.parametrize("md", NOTEBOOKS, ids=IDS)
def test_section_follows_the_pattern(md):
    text = md.read_text()
    assert "**Learning objectives.**" in text
    assert re.search(r"^## What we measured", text, re.M)
    assert re.search(r"\b(biaslab\.)?(claims\.check_claims|check_claim)\(", text), "a section ends with a check cell"
    assert re.search(r"\{cite(:t|:p)?\}`", text), "a section cites its papers"
    n_ex = len(re.findall(r"^```\{exercise\}", text, re.M))
    n_sol = len(re.findall(r"^`{3,}\{solution(?:-start)?\}[^\n]*\n:class: dropdown", text, re.M))
    assert 2 <= n_ex <= 4 and n_sol == n_ex, "2-4 exercises, each with a dropdown solution"
    assert "seed_everything(0)" in text and "get_device()" in text


def test_every_citation_resolves_to_the_bibliography():
    bib = (ROOT / "references.bib").read_text()
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    cited = set()
    for p in ROOT.glob("chapters/**/*.md"):
        for group in re.findall(r"\{cite(?::[tp])?\}`([^`]+)`", p.read_text()):
            cited |= {k.strip() for k in group.split(",")}
    missing = cited - keys
    assert not missing, f"cited but not in references.bib: {sorted(missing)}"


@pytest.mark.parametrize("md", NOTEBOOKS, ids=IDS)
def test_student_copy_up_to_date_and_only_stubs_may_raise(md):
    import make_student

    path = booktools.student_path(md)
    assert path.exists(), f"{path} missing: run `make student`"
    expected = jupytext.writes(make_student.studentize(md), fmt="ipynb")
    assert path.read_text() == expected, "student copy out of date: run `make student`"
    nb = json.loads(expected)
    stubs = 0
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] == "markdown":
            assert "{solution" not in src, "a solution survived in the student copy"
        elif "raises-exception" in tags:
            assert "exercise-stub" in tags and "raise NotImplementedError(" in src
            stubs += 1
        else:
            assert "NotImplementedError" not in src
    instructor = jupytext.read(md)
    n_solution_cells = sum("solution" in c.metadata.get("tags", []) for c in instructor.cells)
    assert stubs == n_solution_cells


def test_student_copy_removes_solutions_with_longer_fences():
    """A solution that shows code needs a four-backtick outer fence; it must go too."""
    import make_student

    text = (
        "Before.\n\n```{exercise} Try it\n:label: ex-a\n\nDo it.\n```\n\n"
        "````{solution} ex-a\n:class: dropdown\n\n```python\nx = 1\n```\n\nSo x is 1.\n````\n\n"
        "```{solution} ex-b\n:class: dropdown\n\nShort.\n```\nAfter.\n"
    )
    out = make_student.SOLUTION_BLOCK.sub("", text)
    assert "{solution}" not in out and "x = 1" not in out and "Short." not in out
    assert out.startswith("Before.") and "Do it." in out and out.rstrip().endswith("After.")


def test_student_copies_run_as_their_notebooks_unless_listed():
    """`make nbval-student` runs only the copies `make_student.py --differing` lists; every
    other copy has exactly the code cells (source and tags, in order) of its full notebook,
    so the nbval run of the full notebook is its run too."""
    import make_student

    differing = set(make_student.differing_copies())
    for md in NOTEBOOKS:
        student, full = booktools.student_path(md), md.with_suffix(".ipynb")
        if student in differing:
            tags = [t for _, ts in make_student.code_cells(student) for t in ts]
            assert "exercise-stub" in tags, f"{student}: differs from {full.name} without a stub"
        else:
            assert make_student.code_cells(student) == make_student.code_cells(full)
    with_stubs = {booktools.student_path(md) for md in NOTEBOOKS if "{solution-start}" in md.read_text()}
    assert differing == with_stubs
