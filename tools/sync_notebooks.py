#!/usr/bin/env python3
"""Stamp Colab links and install cells from ``_config.yml`` into every notebook source, then
generate the ``.ipynb`` beside each source: the same cells, with the Markdown converted from
MyST to what Colab and JupyterLab render (``myst_to_jupyter.py``), and no outputs.

Usage: python tools/sync_notebooks.py [--check] [--record-times _build/notebook_times.json]

With ``--check`` nothing is written; the exit code is 1 when a source or a generated notebook
is out of date (the test suite runs the same comparison). With ``--record-times``, the wall
times an nbval run measured (conftest.py writes them) are first kept in
``tools/notebook_times.json``, from which each notebook's header states its run time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jupytext

from booktools import ROOT, docname, normalize, notebook_files, stamp_markdown
from myst_to_jupyter import TIMES, convert_notebook


def record_times(measured: Path, out: Path = TIMES) -> dict[str, float]:
    """Keep the run time of every section notebook measured by nbval.

    Args:
        measured: the JSON that conftest.py writes after an nbval run, keyed by the notebook's
            path from the repository root (``chapters/.../x.ipynb``, ``student/...``).
        out: where to keep them, keyed by docname (``chapters/.../x``), in seconds.

    Returns:
        What was written.

    Raises:
        ValueError: when a section notebook has no measurement.
    """
    times = json.loads(Path(measured).read_text())
    kept = {}
    for md in notebook_files():
        key = md.with_suffix(".ipynb").relative_to(ROOT).as_posix()
        if key not in times:
            raise ValueError(f"{measured}: no time for {key}; run `make nbval` first")
        kept[docname(md)] = round(float(times[key]), 1)
    out.write_text(json.dumps(kept, indent=1, sort_keys=True) + "\n")
    return kept


def full_notebook_text(md: Path, text: str | None = None) -> str:
    """The ``.ipynb`` generated from the (stamped) source ``md``, as written to disk.

    Args:
        md: the MyST Markdown source.
        text: its stamped text, when the caller has it; read from ``md`` otherwise.
    """
    text = md.read_text() if text is None else text
    nb = convert_notebook(jupytext.reads(text, fmt="md:myst"), md)
    normalize(nb)
    return jupytext.writes(nb, fmt="ipynb")


def main(argv: list[str]) -> int:
    check = "--check" in argv
    if "--record-times" in argv:
        record_times(Path(argv[argv.index("--record-times") + 1]))
    stale = []
    for md in notebook_files():
        text = md.read_text()
        stamped = stamp_markdown(text, md)
        if stamped != text:
            stale.append(f"{md}: Colab link or install cell not derived from _config.yml")
            if not check:
                md.write_text(stamped)
        ipynb = md.with_suffix(".ipynb")
        fresh = full_notebook_text(md, stamped)
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
