"""Book tooling: derive every repository link from ``_config.yml`` and keep notebooks in sync.

The repository URL is written once, in ``_config.yml`` (``repository.url`` and
``repository.branch``). This module derives from it:

* the Colab link of every section (``colab_url``),
* the Colab-only install cell that is the first code cell of every section
  (``install_cell_source``),

and stamps both into the MyST Markdown sources (``stamp_markdown``). ``sync_notebooks.py``
then regenerates the paired ``.ipynb`` files with jupytext.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "_config.yml"
INSTALL_TAG = "colab-install"
COLAB_RE = re.compile(r"https://colab\.research\.google\.com/github/[^\s)\"'>]+")


def load_config() -> dict:
    """The parsed ``_config.yml``."""
    return yaml.safe_load(CONFIG.read_text())


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


def install_cell_source() -> str:
    """Source of the first code cell of every notebook: installs biaslab in Colab only."""
    spec = f"biaslab @ git+{repo_url()}@{repo_branch()}"
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
