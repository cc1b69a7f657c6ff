"""The API page, generated from the package layout: every public name under its chapter and
section.

A page that contains ``` ```{biaslab-api}``` ``` is rewritten at build time (Sphinx
``source-read``) into one heading per top-level module and per chapter, and under each
chapter one heading per section module, listing that module's ``__all__`` with autodoc.
Names are documented where notebooks reach them: a chapter's names as
``biaslab.<chapter>.<name>`` (the chapter re-exports them), so that ``{func}`` links such as
``biaslab.inductive_bias.frequency_errors`` resolve; a section's runner and claims as
``biaslab.<chapter>.<section>.run`` and ``.CLAIMS``.

Used as a Sphinx extension (``sphinx.local_extensions`` in ``_config.yml``) and by the tests.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOP = ("core", "claims", "validation", "plotting", "pretrained",
       "datasets.toy_tasks", "datasets.shortcut_data", "datasets.feature_data", "datasets.sprites", "datasets.fairness_data", "datasets.regional_data", "datasets.causal_data")
CHAPTERS = {
    "inductive_bias": ("1", "Inductive bias", "01_inductive_bias"),
    "spurious": ("2", "Spurious correlations", "02_spurious_correlations"),
    "fairness": ("3", "Fairness", "03_fairness"),
    "causal": ("4", "Causal representation learning", "04_causal_representation_learning"),
    "disentangle": ("5", "Disentanglement", "05_disentanglement"),
}
SECTION_OWN = ("run", "CLAIMS")  # every section module's runner and claim registry
_BLOCK_RE = re.compile(r"```\{biaslab-api\}[^\n]*\n```", re.M)


def _directive(obj: object) -> str:
    if inspect.isclass(obj):
        return "autoclass"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return "autofunction"
    return "autodata"


def _entries(module: object, names: list[str], prefix: str = "") -> list[str]:
    out = []
    for name in names:
        obj = getattr(module, name)
        d = _directive(obj)
        if d == "autodata":
            # a constant (a settings dict, a claim tuple) has no docstring of its own: autodoc would
            # print its type's; the description is the one of the section that uses it
            out.append(f".. py:data:: {prefix}{name}")
            continue
        line = f".. {d}:: {prefix}{name}"
        if d == "autoclass":
            line += "\n   :members:"
        out.append(line)
    return out


def _rst(lines: list[str]) -> str:
    return "```{eval-rst}\n" + "\n\n".join(lines) + "\n```\n"


def section_modules(chapter: str) -> list[tuple[str, str, object]]:
    """``(number, title, module)`` for every section module of a chapter, in book order."""
    num, _, folder = CHAPTERS[chapter]
    out = []
    for md in sorted((ROOT / "chapters" / folder).glob("[0-9][0-9]_*.md")):
        name = re.sub(r"^\d+_", "", md.stem)
        try:
            mod = importlib.import_module(f"biaslab.{chapter}.{name}")
        except ModuleNotFoundError:
            continue
        title = re.search(r"^# (.+)$", md.read_text(), re.M)
        out.append((f"{num}.{int(md.stem[:2])}", title.group(1).strip() if title else name, mod))
    return out


def render() -> str:
    """The MyST Markdown the ``biaslab-api`` block is replaced by."""
    parts = []
    parts.append("## The top level\n")
    parts.append("```{eval-rst}\n.. automodule:: biaslab\n```\n")
    for name in TOP:
        mod = importlib.import_module(f"biaslab.{name}")
        first = (mod.__doc__ or "").strip().splitlines()[0] if mod.__doc__ else ""
        parts.append(f"### `biaslab.{name}`\n\n{first}\n")
        names = list(getattr(mod, "__all__", []))
        parts.append(_rst([f".. py:module:: biaslab.{name}", *_entries(mod, names)]))
    for chapter, (num, title, _folder) in CHAPTERS.items():
        pkg = importlib.import_module(f"biaslab.{chapter}")
        parts.append(f"## Chapter {num}, {title}: `biaslab.{chapter}`\n")
        parts.append(_rst([f".. py:module:: biaslab.{chapter}"]))
        shared = getattr(pkg, "_shared", None) or _maybe(f"biaslab.{chapter}._shared")
        if shared is not None and getattr(shared, "__all__", None):
            parts.append(f"### Used by several sections (`biaslab.{chapter}._shared`)\n")
            parts.append(_rst([f".. currentmodule:: biaslab.{chapter}", *_entries(shared, list(shared.__all__))]))
        for number, stitle, mod in section_modules(chapter):
            short = mod.__name__.rsplit(".", 1)[1]
            parts.append(f"### {number} {stitle}: `biaslab.{chapter}.{short}`\n")
            # a section module may share its name with one of its functions (vae_diagnostics):
            # the function keeps the index entry
            no_index = "\n   :no-index:" if hasattr(pkg, short) and not inspect.ismodule(getattr(pkg, short)) else ""
            lines = [f".. py:module:: biaslab.{chapter}.{short}{no_index}", f".. currentmodule:: biaslab.{chapter}"]
            lines += _entries(mod, [n for n in getattr(mod, "__all__", []) if hasattr(pkg, n) and n not in SECTION_OWN])
            # the runner and the claims stay in the section module: documented under their full name
            own = [n for n in SECTION_OWN if hasattr(mod, n)]
            lines += _entries(mod, own, prefix=f"biaslab.{chapter}.{short}.")
            parts.append(_rst(lines))
    return "\n".join(parts)


def _maybe(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        return None


def _source_read(app, docname: str, source: list[str]) -> None:
    if "{biaslab-api}" in source[0]:
        source[0] = _BLOCK_RE.sub(lambda m: render(), source[0])


# annotations of dataclass fields name these; neither library's inventory is loaded offline
_NITPICK_IGNORE = {("py:class", "torch.Tensor"), ("py:class", "collections.abc.Callable")}


def _config_inited(app, config) -> None:
    config.nitpick_ignore = set(config.nitpick_ignore) | _NITPICK_IGNORE


def _missing_reference(app, env, node, contnode):
    """Resolve a short name in a docstring to the one documented object of that name.

    The docstring of a section's ``run`` (``biaslab.<chapter>.<section>.run``) names functions
    that are documented under their chapter (``biaslab.<chapter>.<name>``), where the re-export
    puts them; a chapter's docstrings name ``Sprites``, documented in ``biaslab.datasets.sprites``.
    """
    module = node.get("py:module") or ""
    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or not module.startswith("biaslab") or "." in target:
        return None
    domain = env.get_domain("py")
    chapter = ".".join(module.split(".")[:2])
    found = [name for name in (f"{chapter}.{target}",) if name in domain.objects]
    if not found:
        found = [name for name in domain.objects if name.startswith("biaslab.") and name.endswith(f".{target}")]
    if len(found) != 1:
        return None
    return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], found[0], node, contnode)


def setup(app):
    app.connect("source-read", _source_read)
    app.connect("config-inited", _config_inited)
    app.connect("missing-reference", _missing_reference)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
