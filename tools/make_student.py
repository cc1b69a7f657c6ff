#!/usr/bin/env python3
"""Write the student copy of every notebook: solutions removed, solution code replaced by stubs.

Usage: python tools/make_student.py [--check | --differing]

Marking in the sources (``chapters/**/*.md``):

* a ```` ```{solution} label ```` block inside a Markdown cell is removed (its fence may be
  longer than three backticks, as it must be when the solution shows code);
* a gated solution, ```` ```{solution-start} label ```` ... ```` ```{solution-end} ````, may
  span several cells: its Markdown is removed, and each code cell in it (tag it
  ``solution``) becomes a stub that raises ``NotImplementedError`` and carries the tags
  ``exercise-stub`` and ``raises-exception`` (so nbval lets exactly these cells raise).

The Markdown is then converted from MyST as for the full notebook (``myst_to_jupyter.py``).
The copies go to ``student/<same path>.ipynb`` with the Colab link pointing at the copy. With
``--check`` nothing is written and the exit code is 1 when a copy is out of date. With
``--differing`` nothing is written either: it prints the student copies whose code cells are
not those of their full notebook, the only ones that need running on their own (a copy with
the same code cells, in the same order, runs exactly as the full notebook does).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import jupytext
import nbformat

from booktools import COLAB_RE, ROOT, docname, normalize, notebook_files, student_colab_url, student_path
from myst_to_jupyter import GATE_END, GATE_START, book_index, convert_notebook

SOLUTION_BLOCK = re.compile(r"\n?(`{3,})\{solution\}[^\n]*\n.*?\n\1[ \t]*(?=\n|$)", re.S)
STUDENT_NOTE = (
    "*This is the student version of this section: exercise solutions are removed, and each "
    "solution cell is a stub for you to fill in (it raises `NotImplementedError` until you do).*"
)


def stub_source(number: str) -> str:
    """The code of the stub that replaces a solution cell of exercise ``number`` (e.g. "1.9")."""
    return (
        f"# Exercise {number}: write your solution here, then run the cell.\n"
        f'raise NotImplementedError("exercise {number}: replace this line with your code")'
    )


def studentize_myst(md: Path) -> nbformat.NotebookNode:
    """The student copy of one notebook source, still in MyST: solutions removed, solution
    code cells replaced by stubs, the Colab link pointing at the copy."""
    nb = jupytext.read(md)
    numbers = book_index().exercise_labels.get(docname(md), {})
    cells, gate = [], None
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            src = cell.source
            m = GATE_START.search(src)
            if gate is None and m:
                gate = m.group("label")
                before = src[: m.start()].rstrip()
                if before:
                    cells.append(nbformat.v4.new_markdown_cell(SOLUTION_BLOCK.sub("", before)))
                e = GATE_END.search(src, m.end())
                if e is None:
                    continue
                src = src[e.end():]
                gate = None
            elif gate is not None:
                e = GATE_END.search(src)
                if e is None:
                    continue
                src = src[e.end():]
                gate = None
            src = SOLUTION_BLOCK.sub("", src).strip("\n")
            if COLAB_RE.search(src):
                src = COLAB_RE.sub(student_colab_url(md), src)
                src += "\n\n" + STUDENT_NOTE
            if src.strip():
                cell.source = src
                cells.append(cell)
        else:
            tags = cell.metadata.get("tags", [])
            if gate is not None or "solution" in tags:
                if gate is None:
                    raise ValueError(f"{md}: a code cell tagged 'solution' outside a solution-start/end block")
                if gate not in numbers:
                    raise ValueError(f"{md}: solution-start {gate!r} names no exercise of this page")
                stub = nbformat.v4.new_code_cell(stub_source(numbers[gate]))
                stub.metadata["tags"] = ["exercise-stub", "raises-exception"]
                cells.append(stub)
            else:
                cells.append(cell)
    if gate is not None:
        raise ValueError(f"{md}: solution-start {gate!r} has no solution-end")
    nb.cells = cells
    return nb


def studentize(md: Path) -> nbformat.NotebookNode:
    """The student copy of one notebook source, as written to ``student/``: Jupyter-native
    Markdown, no outputs."""
    nb = convert_notebook(studentize_myst(md), md, student=True)
    normalize(nb)
    return nb


def code_cells(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """(source, tags) of every code cell of a notebook file, in order: what nbval runs."""
    nb = nbformat.read(path, as_version=4)
    return [(c.source, tuple(c.metadata.get("tags", []))) for c in nb.cells if c.cell_type == "code"]


def differing_copies() -> list[Path]:
    """The student copies whose code cells differ from their full notebook's."""
    return [
        student_path(md)
        for md in notebook_files()
        if code_cells(student_path(md)) != code_cells(md.with_suffix(".ipynb"))
    ]


def main(argv: list[str]) -> int:
    if "--differing" in argv:
        print(" ".join(p.relative_to(ROOT).as_posix() for p in differing_copies()))
        return 0
    check = "--check" in argv
    stale = []
    for md in notebook_files():
        out = student_path(md)
        text = jupytext.writes(studentize(md), fmt="ipynb")
        if not out.exists() or out.read_text() != text:
            stale.append(str(out))
            if not check:
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(text)
    if check and stale:
        print("student copies out of date (run: make student):\n" + "\n".join(stale))
        return 1
    for s in stale:
        print("wrote", s)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
