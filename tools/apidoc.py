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
       "datasets.sprites", "datasets.fairness_data", "datasets.causal_data")
CHAPTERS = {
    "inductive_bias": ("1", "Inductive bias", "01_inductive_bias"),
    "spurious": ("2", "Spurious correlations", "02_spurious_correlations"),
    "fairness": ("3", "Fairness", "03_fairness"),
    "causal": ("4", "Causal representation learning", "04_causal_representation_learning"),
    "disentangle": ("5", "Disentanglement", "05_disentanglement"),
}
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
        line = f".. {d}:: {prefix}{name}"
        if d == "autoclass":
            line += "\n   :members:"
        elif d == "autodata":
            line += "\n   :annotation:"
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
            lines = [f".. py:module:: biaslab.{chapter}.{short}", f".. currentmodule:: biaslab.{chapter}"]
            lines += _entries(mod, [n for n in getattr(mod, "__all__", []) if hasattr(pkg, n)])
            own = [n for n in ("run", "CLAIMS") if hasattr(mod, n)]
            lines += _entries(mod, own, prefix=f"{short}.")
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


def setup(app):
    app.connect("source-read", _source_read)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
