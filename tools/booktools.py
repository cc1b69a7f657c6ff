"""Book tooling shared by the scripts in ``tools/``: links derived from ``_config.yml``, the
notebook sources and the normal form of a generated notebook.

The repository URL and the site's URL are written once, in ``_config.yml``
(``repository.url``, ``repository.branch`` and ``site_url``). This module derives from them:

* the Colab link of every section (``colab_url``),
* the Colab-only install cell that is the first code cell of every section
  (``install_cell_source``),
* the address of a page of the published site (``page_url``),

and stamps the first two into the MyST Markdown sources (``stamp_markdown``).
``sync_notebooks.py`` then generates the ``.ipynb`` beside each source and ``make_student.py``
the student copies, both through ``myst_to_jupyter.py``.

The scripts are run as ``python tools/<script>.py``, which puts ``tools/`` on the import
path; the tests get it from ``pythonpath`` in ``pyproject.toml``.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "_config.yml"
INSTALL_TAG = "colab-install"
COLAB_RE = re.compile(r"https://colab\.research\.google\.com/github/[^\s)\"'>]+")


def load_config() -> dict:
    """The parsed ``_config.yml``."""
    return _load_config(CONFIG.read_text())


@lru_cache(maxsize=4)
def _load_config(text: str) -> dict:
    return yaml.safe_load(text)


def site_url() -> str:
    """``site_url`` from ``_config.yml`` (where the built site is published), without a
    trailing slash.

    Raises:
        ValueError: when ``site_url`` is missing or not an ``http(s)://`` address.
    """
    url = str(load_config().get("site_url") or "").rstrip("/")
    if not re.match(r"https?://[^\s/]+", url):
        raise ValueError(f"_config.yml: site_url must be an http(s):// address, got {url!r}")
    return url


def docname(path: Path) -> str:
    """The Sphinx document name of a source file: its path from the root, without suffix."""
    return Path(path).resolve().relative_to(ROOT).with_suffix("").as_posix()


def page_url(doc: str, anchor: str = "") -> str:
    """The address of document ``doc`` (a docname) on the published site, with ``#anchor``."""
    return f"{site_url()}/{doc}.html" + (f"#{anchor}" if anchor else "")


def repo_url() -> str:
    """``repository.url`` from ``_config.yml``, without a trailing slash or ``.git``."""
    url = load_config()["repository"]["url"].rstrip("/")
    return url[:-4] if url.endswith(".git") else url


def repo_branch() -> str:
    """``repository.branch`` from ``_config.yml``."""
    return load_config()["repository"].get("branch", "main")


def repo_slug() -> str:
    """``owner/name`` of the repository."""
    m = re.match(r"https://github\.com/([^/]+/[^/]+)$", repo_url())
    if not m:
        raise ValueError(f"repository.url must be https://github.com/OWNER/NAME, got {repo_url()!r}")
    return m.group(1)


def notebook_files() -> list[Path]:
    """Every MyST notebook source (a ``.md`` under ``chapters/`` with a jupytext header)."""
    out = []
    for p in sorted((ROOT / "chapters").rglob("*.md")):
        if p.name.startswith("_") or ".ipynb_checkpoints" in p.parts:
            continue
        head = p.read_text()[:600]
        if head.startswith("---") and "jupytext:" in head:
            out.append(p)
    return out


def colab_url(notebook: Path) -> str:
    """The Colab link of a notebook (``.md`` or ``.ipynb``): Colab opens the ``.ipynb``."""
    rel = Path(notebook).resolve().relative_to(ROOT).with_suffix(".ipynb").as_posix()
    return f"https://colab.research.google.com/github/{repo_slug()}/blob/{repo_branch()}/{rel}"


def student_path(notebook: Path) -> Path:
    """Where the student copy of a notebook lives: ``student/<same path>.ipynb``."""
    rel = Path(notebook).resolve().relative_to(ROOT).with_suffix(".ipynb")
    return ROOT / "student" / rel


def student_colab_url(notebook: Path) -> str:
    """The Colab link of a notebook's student copy (solutions removed)."""
    rel = student_path(notebook).relative_to(ROOT).as_posix()
    return f"https://colab.research.google.com/github/{repo_slug()}/blob/{repo_branch()}/{rel}"


def install_spec() -> str:
    """The requirement the install cell passes to pip: biaslab from the book's repository."""
    return f"biaslab @ git+{repo_url()}@{repo_branch()}"


def install_cell_source() -> str:
    """Source of the first code cell of every notebook: installs biaslab in Colab only."""
    spec = install_spec()
    return (
        "# Colab only: install this book's helper package, biaslab, from the book's repository.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        "    import subprocess\n"
        "\n"
        "    subprocess.run(\n"
        f'        [sys.executable, "-m", "pip", "install", "-q", "{spec}"],\n'
        "        check=True,\n"
        "    )"
    )


_INSTALL_CELL_RE = re.compile(
    r"(```\{code-cell\}[^\n]*\n(?::[^\n]*\n)*?:tags: \[[^\]]*" + INSTALL_TAG + r"[^\]]*\]\n(?::[^\n]*\n)*)"
    r"(.*?)(\n```)",
    re.S,
)


def stamp_markdown(text: str, path: Path) -> str:
    """Return ``text`` with its Colab links and its install cell derived from ``_config.yml``.

    Raises:
        ValueError: when the notebook has no install cell tagged ``colab-install`` or no
            Colab link.
    """
    if not COLAB_RE.search(text):
        raise ValueError(f"{path}: no Colab link (https://colab.research.google.com/github/...)")
    text = COLAB_RE.sub(
        lambda m: student_colab_url(path) if "/student/" in m.group(0) else colab_url(path), text
    )
    if not _INSTALL_CELL_RE.search(text):
        raise ValueError(f"{path}: no code cell tagged {INSTALL_TAG!r}")
    return _INSTALL_CELL_RE.sub(
        lambda m: m.group(1).rstrip("\n") + "\n\n" + install_cell_source() + m.group(3), text, count=1
    )


def normalize(nb: nbformat.NotebookNode) -> None:
    """Put a generated notebook in normal form, in place: no outputs, no execution counts,
    and cell ids derived from position and content, so that the ``.ipynb`` is a pure
    function of its ``.md`` source."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.id = hashlib.sha1(f"{i}:{cell.source}".encode()).hexdigest()[:12]
