"""The package is laid out like the book, and a test keeps it so.

The rule (README, "Layout"): a definition lives in the module of the one section whose
notebook reaches it; in its chapter's ``_shared.py`` when two or more sections of that
chapter reach it; at the top level (``core``, ``validation``, ``plotting``, ``pretrained``)
when no single chapter owns it. A later chapter that reuses a demo imports it from its home,
the earliest chapter that reaches it. ``biaslab.datasets`` is top-level by design: the real
data sets shipped with the package and the testbeds generated in code (sprites, colored
digits, the LMS data, chapter 1's small tasks), whichever chapter uses them. "Reaches" is computed by :mod:`package_graph` from the notebooks' code, their
``{func}`` links and the package's call graph.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re

import pytest
from package_graph import CHAPTER_DIRS, PKG, build_graph, module_files, section_files

GRAPH = build_graph()
CHAPTER_ORDER = list(CHAPTER_DIRS.values())
TOP_LEVEL = {"biaslab.core", "biaslab.pretrained"}
# top level by kind, whoever uses them: input checks, plot helpers, the claim registry
BY_KIND = {"biaslab.validation", "biaslab.plotting", "biaslab.claims"}
MAX_LINES = 600  # "about 600": a section module longer than this is two sections, or holds a data set
# every section module may define these; they are reached as ``ib.spectral_bias.run``
SECTION_OWN = {"run", "CLAIMS"}


def expected_home(qualname: str) -> str | None:
    """Where the rule puts a definition, from the sections that reach it (None: unreached)."""
    secs = GRAPH.reach.get(qualname, set())
    if not secs:
        return None
    chapters = sorted({s.chapter for s in secs}, key=CHAPTER_ORDER.index)
    home = chapters[0]
    package = {v: k for k, v in CHAPTER_DIRS.items()}[home]
    own = [s for s in secs if s.chapter == home]
    if len(own) == 1:
        return f"biaslab.{package}.{own[0].module}"
    if len(chapters) == 1:
        return f"biaslab.{package}._shared"
    return "top level"


def placements() -> list[tuple[str, str]]:
    return sorted((q, m) for q, m in GRAPH.module_of.items()
                  if not m.startswith("biaslab.datasets") and not q.endswith(".__version__")
                  and not (m in {f"biaslab.{c}" for c in CHAPTER_DIRS} and q.endswith(".SECTIONS")))


@pytest.mark.parametrize("qualname, module", placements())
def test_definition_sits_where_the_rule_puts_it(qualname, module):
    if module == "biaslab" or module.endswith("__init__") or module in {f"biaslab.{c}" for c in CHAPTER_DIRS}:
        pytest.fail(f"{qualname}: an __init__ only re-exports; define it in a section module")
    home = expected_home(qualname)
    if module in BY_KIND:
        return
    if module in TOP_LEVEL:
        # infrastructure: either unreached by notebooks (public API, used by tests) or shared by
        # two or more chapters (then it stays at the top level, whichever chapter reaches it first)
        chapters = {s.chapter for s in GRAPH.reach.get(qualname, set())}
        assert home is None or len(chapters) > 1, f"{qualname} is used by one chapter only: move it to {home}"
        return
    assert home is not None, f"{qualname} is reached by no section: dead code, or a missing link"
    assert home == module, f"{qualname} sits in {module}, but the sections reaching it put it in {home}"


def test_every_section_with_code_has_its_module():
    for section, _ in section_files():
        package = {v: k for k, v in CHAPTER_DIRS.items()}[section.chapter]
        reached = [q for q, secs in GRAPH.reach.items() if section in secs
                   and GRAPH.module_of[q].startswith(f"biaslab.{package}.")]
        mod = PKG / package / f"{section.module}.py"
        if any(GRAPH.module_of[q] == f"biaslab.{package}.{section.module}" for q in reached):
            assert mod.exists()
    for package in CHAPTER_DIRS:
        for p in (PKG / package).glob("*.py"):
            if p.stem in ("__init__", "_shared"):
                continue
            assert p.stem in {s.module for s, _ in section_files() if s.chapter == CHAPTER_DIRS[package]}, (
                f"{p} is named after no section of {CHAPTER_DIRS[package]}")


@pytest.mark.parametrize("module", sorted(module_files()))
def test_modules_stay_small(module):
    n = len(module_files()[module].read_text().splitlines())
    assert n <= MAX_LINES, f"{module} has {n} lines; split it (about 600 at most)"


@pytest.mark.parametrize("module", sorted(module_files()))
def test_public_names_are_exported(module):
    """``__all__`` lists every public function and class of a module, so the API page shows
    it and the chapters' ``{func}`` links resolve."""
    mod = importlib.import_module(module)
    exported = set(getattr(mod, "__all__", []))
    public = {n for n, obj in vars(mod).items()
              if not n.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
              and obj.__module__ == mod.__name__ and n not in SECTION_OWN}
    assert public <= exported, sorted(public - exported)


@pytest.mark.parametrize("package", sorted(CHAPTER_DIRS))
def test_chapter_reexports_its_sections(package):
    """``from biaslab import inductive_bias as ib; ib.spectral_bias_run(...)`` works for every
    public name of every section module of the chapter."""
    chapter = importlib.import_module(f"biaslab.{package}")
    for p in sorted((PKG / package).glob("*.py")):
        if p.stem == "__init__":
            continue
        sub = importlib.import_module(f"biaslab.{package}.{p.stem}")
        for name in getattr(sub, "__all__", []):
            if name in SECTION_OWN:
                continue
            assert getattr(chapter, name, None) is getattr(sub, name), f"biaslab.{package}.{name}"
            assert name in chapter.__all__, f"biaslab.{package}.__all__ lacks {name}"


def test_no_see_pointers_in_docstrings():
    """The layout test makes hand-written "See: chapters/..." pointers redundant (and they went
    stale): the module a definition sits in names its section."""
    for module, path in module_files().items():
        assert "    See: " not in path.read_text(), f"{module} has a 'See:' line"


def test_no_rst_substitutions_in_docstrings():
    """Sphinx reads ``|word|`` in a docstring as an undefined substitution, an error in the
    ``-W`` build; write "absolute" or put the expression in double backticks or :math:."""
    pattern = re.compile(r"(?<![|\w])\|[A-Za-z][^|\s]*\|(?![|\w])")
    for module, path in module_files().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)):
                continue
            doc = ast.get_docstring(node) or ""
            doc = re.sub(r"``.*?``|:math:`.*?`", "", doc, flags=re.S)
            hits = pattern.findall(doc)
            assert not hits, f"{module}.{getattr(node, 'name', '')}: {hits}"


# The hand-written backward passes: each is a method whose loop (or extra update) is what the
# section teaches; every other trainer goes through biaslab.core.train.
OWN_LOOPS = {
    "biaslab.core.train": "the book's one training loop",
    "biaslab.spurious.invariance.fit_invariant_linear": "IRM's penalty schedule",
    "biaslab.spurious._shared.group_dro": "GroupDRO's group-weight update",
    "biaslab.fairness.fair_objectives.adversarial_debiasing": "the adversarial game",
    "biaslab.fairness.fair_objectives.road_debiasing": "ROAD's inner adversary and weighting updates",
    "biaslab.disentangle.unsupervised_study.train_vae_ensemble.discriminator_step": "FactorVAE's discriminator",
}


def _backward_sites() -> dict[str, int]:
    """Every ``x.backward()`` call in the package, by the innermost function that makes it."""
    sites: dict[str, int] = {}
    for module, path in module_files().items():
        tree = ast.parse(path.read_text())

        def visit(node: ast.AST, prefix: str) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    visit(child, f"{prefix}.{child.name}")
                elif isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute) \
                        and child.func.attr == "backward":
                    sites[prefix] = child.lineno
                    visit(child, prefix)
                else:
                    visit(child, prefix)

        visit(tree, module)
    return sites


def test_only_the_methods_write_their_own_loop():
    """``grep .backward()`` finds only the loops that are the method, each saying so."""
    sites = _backward_sites()
    assert set(sites) == set(OWN_LOOPS), sorted(set(sites) ^ set(OWN_LOOPS))
    for qualname, line in sites.items():
        if qualname == "biaslab.core.train":
            continue
        path = max(((m, p) for m, p in module_files().items() if qualname.startswith(m + ".")),
                   key=lambda mp: len(mp[0]))[1]
        before = path.read_text().splitlines()[:line]
        # the comment sits between the function's first line and the backward call
        name = qualname.rsplit(".", 1)[1]
        start = max(i for i, text in enumerate(before) if text.lstrip().startswith(f"def {name}("))
        assert any("of its own:" in text and "is the method" in text for text in before[start:]), qualname


def _trains(qualname: str, seen: set[str] | None = None) -> bool:
    """Does a definition train a model: call core.train, or run its own backward pass?"""
    seen = set() if seen is None else seen
    if qualname in seen:
        return False
    seen.add(qualname)
    node = GRAPH.defs.get(qualname)
    if node is not None and any(isinstance(n, ast.Attribute) and n.attr == "backward" for n in ast.walk(node)):
        return True
    for e in GRAPH.edges.get(qualname, ()):
        target = GRAPH.resolve(e)
        if target == "biaslab.core.train":
            return True
        # follow calls into other functions (a class's methods are checked on their own)
        if target and target.startswith("biaslab.") and isinstance(GRAPH.defs.get(target), ast.FunctionDef) \
                and _trains(target, seen):
            return True
    return False


def _public_functions():
    for q, m in sorted(GRAPH.module_of.items()):
        name = q.rsplit(".", 1)[1]
        if m.split(".")[1] in CHAPTER_DIRS and not name.startswith("_") and isinstance(GRAPH.defs[q], ast.FunctionDef):
            yield q


@pytest.mark.parametrize("qualname", [q for q in _public_functions() if _trains(q)])
def test_every_public_trainer_takes_a_device(qualname):
    """One device rule: a public function that trains a model takes ``device`` (``None``: the GPU
    when present), so that a notebook passing the device its setup cell chose runs on the GPU in
    Colab and on the CPU elsewhere."""
    node = GRAPH.defs[qualname]
    names = [a.arg for a in node.args.args + node.args.kwonlyargs]
    # a trainer that forwards **kwargs must name the device among them
    forwards = node.args.kwarg is not None and "device" in ast.unparse(node)
    assert "device" in names or forwards, f"{qualname} trains a model but takes no device"


@pytest.mark.parametrize("package", sorted(CHAPTER_DIRS))
def test_a_chapter_does_not_expose_one_sections_runner(package):
    """Each section has its own ``run`` and ``CLAIMS``; a chapter-level ``run`` would be whichever
    section was imported last, so the chapter re-exports neither."""
    chapter = importlib.import_module(f"biaslab.{package}")
    for name in SECTION_OWN:
        assert not hasattr(chapter, name), f"biaslab.{package}.{name}"
        for module in chapter.SECTIONS:
            assert name not in getattr(module, "__all__", []), f"{module.__name__}.__all__ lists {name}"
