"""The reproduction scorecard: every claim of the book, the paper's result beside ours.

Pages never type a measured number: a page that contains

    ```{claim-scorecard}
    ```

(the whole book) or

    ```{claim-table}
    :chapter: inductive_bias
    ```

(one chapter's claims, for its index page) is rewritten at build time (Sphinx ``source-read``)
into a MyST table generated from

- the claim registry (``biaslab.claims``): statement, papers, the paper's own result, rule,
  controls;
- the values the runs wrote into ``_build/claims`` (``BIASLAB_CLAIMS_DIR``): seed 0 from the
  notebooks (``make book`` and ``make test``), seed 1 from the claim tests
  (``make test`` only);
- the last ten-seed sweep, ``chapters/appendix/claim_sweeps.json``, written by ``make sweep``.

Used as a Sphinx extension (``sphinx.local_extensions`` in ``_config.yml``) and by the tests.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLAIMS_DIR = Path(os.environ.get("BIASLAB_CLAIMS_DIR", ROOT / "_build" / "claims"))
SWEEPS = ROOT / "chapters" / "appendix" / "claim_sweeps.json"
CHAPTER_DIRS = {
    "inductive_bias": "01_inductive_bias",
    "spurious": "02_spurious_correlations",
    "fairness": "03_fairness",
    "causal": "04_causal_representation_learning",
    "disentangle": "05_disentanglement",
}
_BLOCK_RE = re.compile(r"```\{(claim-scorecard|claim-table)\}[^\n]*\n((?::[^\n]*\n)*)```", re.M)


def load_values(folder: Path = CLAIMS_DIR) -> dict[str, dict[int, dict[str, Any]]]:
    """``{claim key: {seed: record}}`` from the JSON files the runs wrote."""
    out: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    if folder.is_dir():
        for p in sorted(folder.glob("*__seed*.json")):
            rec = json.loads(p.read_text())
            out[rec["key"]][int(rec["seed"])] = rec
    return out


def load_sweeps(path: Path = SWEEPS) -> dict[str, Any]:
    """The last ten-seed sweep (``{"commit", "date", "seeds", "claims": {key: {...}}}``)."""
    return json.loads(path.read_text()) if path.exists() else {"claims": {}}


def fmt(v: Any) -> str:
    """A measured value as the tables print it."""
    if v is None:
        return "–"
    if isinstance(v, list):
        return "(" + ", ".join(fmt(x) for x in v) + ")"
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return str(v)
    f = float(v)
    if not math.isfinite(f):
        return str(f)
    if f != 0 and (abs(f) < 1e-3 or abs(f) >= 1e5):
        return f"{f:.1e}"
    return f"{f:.3g}"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _section_doc(section: str) -> str:
    chapter, module = section.split(".")
    folder = ROOT / "chapters" / CHAPTER_DIRS[chapter]
    for md in sorted(folder.glob("[0-9][0-9]_*.md")):
        if re.sub(r"^\d+_", "", md.stem) == module:
            return f"/chapters/{CHAPTER_DIRS[chapter]}/{md.stem}"
    raise ValueError(f"no page for section {section}")


def _seed_cell(values: dict[int, dict[str, Any]], seeds: tuple[int, ...]) -> str:
    got = [fmt(values[s]["value"]) if s in values else "–" for s in seeds]
    return " / ".join(got)


def _verdict(claim, values: dict[int, dict[str, Any]], sweep: dict[str, Any] | None) -> str:
    if claim.observation:
        return "observation"
    if not values:
        return "not run"
    ok = all(r["holds"] and not any(c["holds"] for c in r["controls"].values()) for r in values.values())
    return "holds" if ok else "**fails**"


def _span(lo: Any, hi: Any) -> str:
    if isinstance(lo, list):
        return "(" + ", ".join(_span(a, b) for a, b in zip(lo, hi)) + ")"
    return fmt(lo) if fmt(lo) == fmt(hi) else f"{fmt(lo)} to {fmt(hi)}"


def _sweep_cell(sweep: dict[str, Any] | None) -> str:
    if not sweep:
        return "–"
    out = _span(sweep["min"], sweep["max"])
    if "holds_on" in sweep:
        out += f" ({sweep['holds_on']}/{sweep['n']} hold)"
    return out


def _control_cell(claim, values: dict[int, dict[str, Any]], sweep: dict[str, Any] | None) -> str:
    parts = []
    for ctl in claim.controls:
        v = values.get(0, {}).get("controls", {}).get(ctl.name, {}).get("value")
        txt = f"{ctl.name}: {fmt(v)}"
        if sweep and ctl.name in sweep.get("controls", {}):
            s = sweep["controls"][ctl.name]
            txt += f" (ten seeds {_span(s['min'], s['max'])}, fails on {s['fails_on']}/{s['n']})"
        parts.append(txt)
    return "; ".join(parts) if parts else "no control"


def registered_rows(chapter: str | None = None) -> list[list[str]]:
    """One row per registered claim (of a chapter, or of the book)."""
    from biaslab import claims as bc

    values, sweeps = load_values(), load_sweeps()["claims"]
    rows = []
    for c in bc.all_claims():
        if chapter and not c.key.startswith(chapter + "."):
            continue
        v, sw = values.get(c.key, {}), sweeps.get(c.key)
        cites = "; ".join(f"{{cite:t}}`{k}`" for k in c.cite)
        ours = (f"seed 0: {_seed_cell(v, (0,))}; seed 1: {_seed_cell(v, (1,))}; "
                f"ten seeds: {_sweep_cell(sw)}")
        rows.append([
            f"{{doc}}`{_section_doc(c.section)}`",
            _cell(c.statement) + f" (rule: {_cell(c.predicate.text)})",
            cites + ": " + _cell(f"{c.paper_result} ({c.paper_where})"),
            ours,
            _cell(_control_cell(c, v, sw)),
            _verdict(c, v, sw),
        ])
    return rows


HEADER = ["section", "our claim", "the paper's result", "what we measured",
          "negative control (seed 0)", "verdict"]
WIDTHS = {6: "12 24 24 17 17 6", 2: "30 70"}


def _table(header: list[str], rows: list[list[str]]) -> str:
    """A MyST list-table of class ``claim-table`` (fixed layout, wrapping cells)."""
    lines = ["```{list-table}", ":header-rows: 1", ":class: claim-table", f":widths: {WIDTHS[len(header)]}", ""]
    for row in [header, *rows]:
        lines.append(f"* - {row[0]}")
        lines += [f"  - {cell}" for cell in row[1:]]
    lines.append("```")
    return "\n".join(lines)


def render(kind: str, options: dict[str, str]) -> str:
    """The MyST Markdown a ``claim-scorecard`` or ``claim-table`` block is replaced by."""
    chapter = options.get("chapter")
    rows = registered_rows(chapter)
    sweeps = load_sweeps()
    out = []
    if rows:
        out.append(_table(HEADER, rows))
    else:
        out.append("*No claim of this chapter is on the registry yet.*")
    origin = ("Seed 0 comes from the notebooks (`make book` or `make test`); seed 1 from "
              "the claim tests (`make test` only; \"–\" when they were not run)")
    if sweeps.get("commit"):
        origin += (f"; the ten-seed column from the last `make sweep` (seeds {sweeps['seeds']}, "
                   f"commit {sweeps['commit'][:10]}, {sweeps['date']})")
    out.append("\n" + origin + ". A claim *holds* when its rule is met and every negative control fails.")
    return "\n".join(out) + "\n"


def _options(block: str) -> dict[str, str]:
    out = {}
    for line in block.splitlines():
        m = re.match(r":(\w+):\s*(.*)", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def _source_read(app, docname: str, source: list[str]) -> None:
    text = source[0]
    if "{claim-" not in text:
        return
    source[0] = _BLOCK_RE.sub(lambda m: render(m.group(1), _options(m.group(2))), text)


def _always_reread(app, env, added, changed, removed) -> list[str]:
    # the tables depend on files written by the runs, which Sphinx does not track
    return [d for d in env.found_docs if "{claim-" in Path(env.doc2path(d)).read_text(errors="ignore")]


def setup(app):
    app.connect("source-read", _source_read)
    app.connect("env-get-outdated", _always_reread)
    return {"version": "1.0", "parallel_read_safe": False, "parallel_write_safe": True}
