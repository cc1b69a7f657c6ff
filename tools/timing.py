"""The instructor's timing table: every section with its number, its measured run time and
the reading time its page announces.

A page that contains

    ```{section-timing}
    ```

gets, when the site is written, a table with one row per section of the book (in the order of
the table of contents): the section number and title (a link), how long its notebook took to
execute on the machine that built the site (from the execution data myst-nb records for each
notebook, whether it ran in this build or came from the execution cache that ``make test``
fills; ``_build/notebook_times.json`` from the nbval run otherwise), and the page's own
estimate of reading and running time (its "**Time.** About N minutes" line). Jupyter Book's
``{nb-exec-table}`` shows docnames and file dates instead, and is too wide for the page.

Used as a Sphinx extension (``sphinx.local_extensions`` in ``_config.yml``) and by the tests.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parent.parent
TIMES_JSON = ROOT / "_build" / "notebook_times.json"
_TIME_RE = re.compile(r"\*\*Time\.\*\*\s+About\s+(\d+)\s+minutes")


@dataclass(frozen=True)
class TimingRow:
    number: str  # "1.3"
    title: str
    docname: str
    run_seconds: float | None  # None: no notebook, or no measurement
    reading_minutes: int | None


def reading_minutes(text: str) -> int | None:
    """The reading time a section page announces ("**Time.** About 35 minutes ..."), or None."""
    m = _TIME_RE.search(text)
    return int(m.group(1)) if m else None


def format_seconds(seconds: float | None) -> str:
    """A run time for the table: ``"12 s"``, ``"1 min 5 s"``; an en dash when unknown."""
    if seconds is None:
        return "\u2013"
    s = round(seconds)
    return f"{s} s" if s < 60 else f"{s // 60} min {s % 60} s"


def load_nbval_times(path: Path = TIMES_JSON) -> dict[str, float]:
    """``{docname: seconds}`` from the per-notebook wall times ``conftest.py`` writes during
    nbval (keys there are ``.ipynb`` paths); empty when the file does not exist."""
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {k[: -len(".ipynb")]: float(v) for k, v in data.items() if k.startswith("chapters/") and k.endswith(".ipynb")}


def timing_rows(sections: list[tuple[str, str, str]], runtimes: dict[str, float],
                pages: dict[str, str]) -> list[TimingRow]:
    """The rows of the table.

    Args:
        sections: ``(number, title, docname)`` of each section, in book order.
        runtimes: measured execution seconds by docname (sections without a notebook have none).
        pages: the source text of each section page by docname (for its reading time).

    Returns:
        One :class:`TimingRow` per section, in the order given.
    """
    return [TimingRow(num, title, doc, runtimes.get(doc), reading_minutes(pages.get(doc, "")))
            for num, title, doc in sections]


class section_timing(nodes.General, nodes.Element):
    """Placeholder for the timing table, filled in once every notebook has been read."""


class SectionTimingDirective(SphinxDirective):
    """``{section-timing}``: put the instructor's timing table here."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        """Note the page as one with a table, and return the placeholder."""
        self.env.biaslab_timing_docs = getattr(self.env, "biaslab_timing_docs", set()) | {self.env.docname}
        return [section_timing()]


def _book_sections(env: BuildEnvironment) -> list[tuple[str, str, str]]:
    """``(number, title, docname)`` of every numbered section page (``1.3``), in number order."""
    out = []
    for doc, numbers in env.toc_secnumbers.items():
        num = numbers.get("")
        if num and len(num) == 2 and doc.startswith("chapters/0") and not doc.endswith("/papers"):
            out.append((num, env.titles[doc].astext(), doc))
    return [(".".join(map(str, n)), title, doc) for n, title, doc in sorted(out)]


def _runtimes(env: BuildEnvironment, docs: list[str], times_path: Path | None = None) -> dict[str, float]:
    """Measured run times by docname: myst-nb's execution data (``env.nb_metadata``), else the
    nbval times file (``times_path``, by default ``_build/notebook_times.json``)."""
    fallback = load_nbval_times(times_path or TIMES_JSON)
    metadata = getattr(env, "nb_metadata", {})
    out = {}
    for doc in docs:
        data = metadata.get(doc, {}).get("exec_data") or {}
        seconds = data.get("runtime")
        if seconds is None:
            seconds = fallback.get(doc)
        if seconds is not None:
            out[doc] = float(seconds)
    return out


def _table(rows: list[TimingRow], uri: Callable[[str], str]) -> nodes.table:
    """The docutils table: section (number and linked title), run time, reading time."""
    table = nodes.table(classes=["timing-table"])
    group = nodes.tgroup(cols=3)
    table += group
    for width in (70, 12, 18):
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    header = nodes.row()
    for text in ("Section", "Run time", "Read and run"):
        header += nodes.entry("", nodes.paragraph(text=text))
    head += header
    body = nodes.tbody()
    group += body
    for r in rows:
        row = nodes.row()
        title = nodes.paragraph()
        title += nodes.Text(f"{r.number} ")
        title += nodes.reference("", r.title, internal=True, refuri=uri(r.docname))
        row += nodes.entry("", title)
        row += nodes.entry("", nodes.paragraph(text=format_seconds(r.run_seconds)))
        row += nodes.entry("", nodes.paragraph(text="\u2013" if r.reading_minutes is None else f"{r.reading_minutes} min"))
        body += row
    total_run = sum(r.run_seconds or 0 for r in rows)
    total_read = sum(r.reading_minutes or 0 for r in rows)
    row = nodes.row(classes=["timing-total"])
    row += nodes.entry("", nodes.paragraph(text=f"All {len(rows)} sections"))
    row += nodes.entry("", nodes.paragraph(text=format_seconds(total_run)))
    row += nodes.entry("", nodes.paragraph(text=f"{total_read // 60} h {total_read % 60} min"))
    body += row
    return table


class SectionTimingTransform(SphinxPostTransform):
    """Replace each placeholder with the table (after all notebooks ran; before writing)."""

    default_priority = 8

    def run(self, **kwargs: object) -> None:
        """Build the rows from the environment and put the table in place of each placeholder."""
        placeholders = list(self.document.findall(section_timing))
        if not placeholders:
            return
        env = self.env
        sections = _book_sections(env)
        docs = [doc for _, _, doc in sections]
        pages = {doc: Path(env.doc2path(doc)).read_text(errors="ignore") for doc in docs}
        rows = timing_rows(sections, _runtimes(env, docs), pages)
        builder = self.app.builder

        def uri(doc: str) -> str:
            return builder.get_relative_uri(env.docname, doc) if hasattr(builder, "get_relative_uri") else doc

        for node in placeholders:
            node.replace_self(_table(rows, uri))


def _always_rewrite(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Rewrite the pages with the table on every build: run times change with every execution."""
    return sorted(getattr(env, "biaslab_timing_docs", set()))


def _merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment) -> None:
    """Parallel reads: keep the pages with a table that other processes read."""
    env.biaslab_timing_docs = getattr(env, "biaslab_timing_docs", set()) | getattr(other, "biaslab_timing_docs", set())


def setup(app: Sphinx) -> dict[str, object]:
    """Register the directive, its node and the transform that fills it in."""
    app.add_node(section_timing)
    app.add_directive("section-timing", SectionTimingDirective)
    app.add_post_transform(SectionTimingTransform)
    app.connect("env-updated", _always_rewrite)
    app.connect("env-merge-info", _merge)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
