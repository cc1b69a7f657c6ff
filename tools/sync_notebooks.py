#!/usr/bin/env python3
"""Stamp Colab links and install cells from ``_config.yml`` into every notebook source, then
regenerate the paired ``.ipynb`` files (no outputs) with jupytext.

Usage: python tools/sync_notebooks.py [--check]

With ``--check`` nothing is written; the exit code is 1 when a source or a paired notebook
is out of date (the test suite runs the same comparison).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import jupytext

sys.path.insert(0, str(Path(__file__).resolve().parent))
from booktools import notebook_files, stamp_markdown  # noqa: E402


def normalize(nb) -> None:
    """No outputs, no execution counts, and cell ids derived from position and content, so
    that the generated ``.ipynb`` is a pure function of the ``.md`` source."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.id = hashlib.sha1(f"{i}:{cell.source}".encode()).hexdigest()[:12]


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for md in notebook_files():
        text = md.read_text()
        stamped = stamp_markdown(text, md)
        if stamped != text:
            stale.append(f"{md}: Colab link or install cell not derived from _config.yml")
            if not check:
                md.write_text(stamped)
        nb = jupytext.reads(stamped, fmt="md:myst")
        normalize(nb)
        ipynb = md.with_suffix(".ipynb")
        fresh = jupytext.writes(nb, fmt="ipynb")
        if not ipynb.exists() or ipynb.read_text() != fresh:
            stale.append(f"{ipynb}: not generated from {md.name}")
            if not check:
                ipynb.write_text(fresh)
    if check and stale:
        print("\n".join(stale))
        print("run: make sync")
        return 1
    if not check:
        for s in stale:
            print("updated:", s.split(":")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
