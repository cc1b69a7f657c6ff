"""Which sections of the book reach each definition of ``biaslab``.

A section *reaches* a definition when its notebook's code calls it, or its prose links it
with a ``{func}``/``{class}`` role, directly or through other definitions of the package
(the package's call graph, read from the source with :mod:`ast`). The layout test
(``test_layout.py``) uses this to check that every definition sits where the book's rule puts
it: in the module of the one section that reaches it, in its chapter's ``_shared.py`` when
several sections of the chapter do, and at the top level when no chapter owns it.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "src" / "biaslab"
CHAPTERS = ROOT / "chapters"

# chapter subpackage -> chapter folder
CHAPTER_DIRS = {
    "inductive_bias": "01_inductive_bias",
    "spurious": "02_spurious_correlations",
    "fairness": "03_fairness",
    "causal": "04_causal_representation_learning",
    "disentangle": "05_disentanglement",
}
_ROLE_RE = re.compile(r"\{(?:func|class|meth|data|attr|obj)\}`(?:[^`<]*<)?~?(biaslab\.[\w.]+)>?`")
_CELL_RE = re.compile(r"```\{code-cell\}[^\n]*\n(.*?)\n```", re.S)


@dataclass(frozen=True)
class Section:
    """A section of the book: its chapter folder and its file stem (``03_spectral_bias``)."""

    chapter: str
    stem: str

    @property
    def module(self) -> str:
        """The section module's name: the stem without its number (``spectral_bias``)."""
        return re.sub(r"^\d+_", "", self.stem)

    def __str__(self) -> str:
        return f"{self.chapter}/{self.stem}"


@dataclass
class Graph:
    """Definitions of the package, its call graph and what each section reaches."""

    defs: dict[str, ast.AST] = field(default_factory=dict)  # qualified name -> node
    module_of: dict[str, str] = field(default_factory=dict)  # qualified name -> module
    edges: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    aliases: dict[str, str] = field(default_factory=dict)  # re-exported name -> definition
    reach: dict[str, set[Section]] = field(default_factory=lambda: defaultdict(set))

    def resolve(self, name: str) -> str | None:
        """The definition a dotted name refers to (following re-exports), or ``None``."""
        seen = set()
        while name and name not in seen:
            seen.add(name)
            if name in self.defs:
                return name
            if name in self.aliases:
                name = self.aliases[name]
                continue
            name = name.rsplit(".", 1)[0] if "." in name else ""
        return None


def module_files() -> dict[str, Path]:
    """Every module of the package by dotted name (``biaslab.inductive_bias.spectral_bias``)."""
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = list(p.relative_to(PKG).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(["biaslab", *parts])] = p
    return out


def top_level_names(tree: ast.Module) -> dict[str, ast.AST]:
    """The functions, classes and module-level assignments of a module (not ``__all__``)."""
    out: dict[str, ast.AST] = {}
    for node in tree.body:
        names: list[str] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names = [node.target.id]
        for n in names:
            if not (n.startswith("__") and n.endswith("__")):
                out[n] = node
    return out


def _imports(module: str, path: Path, tree: ast.AST) -> dict[str, str]:
    """Local name -> dotted biaslab name, for every biaslab import anywhere in a module."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "biaslab":
                continue
            for a in node.names:
                # star imports are kept apart, one key per source module
                out[f"*{target}" if a.name == "*" else (a.asname or a.name)] = f"{target}.{a.name}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "biaslab":
                    out[a.asname or a.name.split(".")[0]] = a.asname and a.name or "biaslab"
    return out


def _static_all(tree: ast.Module) -> list[str]:
    """The names of a module's literal ``__all__ = [...]``."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return list(ast.literal_eval(node.value))
    return []


def _names_in(node: ast.AST) -> tuple[set[str], set[tuple[str, str]]]:
    names, attrs = set(), set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            names.add(sub.id)
        elif isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
            attrs.add((sub.value.id, sub.attr))
    return names, attrs


def notebook_roots(md: Path) -> set[str]:
    """The dotted biaslab names a section's code cells use and its prose links."""
    text = md.read_text()
    code = "\n".join(
        line for cell in _CELL_RE.findall(text) for line in cell.splitlines() if not line.startswith(":")
    )
    tree = ast.parse(code)
    alias = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "biaslab":
            for a in node.names:
                alias[a.asname or a.name] = f"{node.module}.{a.name}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "biaslab":
                    alias[a.asname or "biaslab"] = a.name if a.asname else "biaslab"
    roots = {m.group(1) for m in _ROLE_RE.finditer(text)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            parts, v = [], node
            while isinstance(v, ast.Attribute):
                parts.append(v.attr)
                v = v.value
            if isinstance(v, ast.Name) and v.id in alias:
                roots.add(".".join([alias[v.id], *reversed(parts)]))
        elif isinstance(node, ast.Name) and node.id in alias:
            roots.add(alias[node.id])
    return roots


def section_files() -> list[tuple[Section, Path]]:
    """Every section page of the book (``chapters/NN_chapter/NN_section.md``)."""
    return [
        (Section(md.parent.name, md.stem), md)
        for md in sorted(CHAPTERS.glob("[0-9][0-9]_*/[0-9][0-9]_*.md"))
    ]


def build_graph() -> Graph:
    """Read the package and every section page; return the definitions and their reach."""
    g = Graph()
    trees = {}
    for module, path in module_files().items():
        tree = ast.parse(path.read_text())
        trees[module] = (path, tree)
        for name, node in top_level_names(tree).items():
            g.defs[f"{module}.{name}"] = node
            g.module_of[f"{module}.{name}"] = module
    for module, (path, tree) in trees.items():
        imports = _imports(module, path, tree)
        if path.name == "__init__.py":
            for local, target in imports.items():
                if local.startswith("*"):  # ``from .section import *``: the names in its __all__
                    source = target.rsplit(".", 1)[0]
                    for name in _static_all(trees[source][1]):
                        g.aliases[f"{module}.{name}"] = f"{source}.{name}"
                else:
                    g.aliases[f"{module}.{local}"] = target
        local_defs = {q.rsplit(".", 1)[1]: q for q, m in g.module_of.items() if m == module}
        for q, m in g.module_of.items():
            if m != module:
                continue
            names, attrs = _names_in(g.defs[q])
            for n in names:
                if n in local_defs and local_defs[n] != q:
                    g.edges[q].add(local_defs[n])
                elif n in imports:
                    g.edges[q].add(imports[n])
            for base, attr in attrs:
                if base in imports:
                    g.edges[q].add(f"{imports[base]}.{attr}")
    for section, md in section_files():
        roots = notebook_roots(md)
        # a section's claims are its own: its check cell evaluates them by the section's name
        package = {v: k for k, v in CHAPTER_DIRS.items()}.get(section.chapter)
        roots.add(f"biaslab.{package}.{section.module}.CLAIMS")
        stack = [g.resolve(r) for r in roots]
        seen: set[str] = set()
        while stack:
            q = stack.pop()
            if q is None or q in seen:
                continue
            seen.add(q)
            stack.extend(g.resolve(e) for e in g.edges.get(q, ()))
        for q in seen:
            g.reach[q].add(section)
    return g
