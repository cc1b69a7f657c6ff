#!/usr/bin/env python3
"""Aggregate a ten-seed claim sweep (``make sweep``) into ``chapters/appendix/claim_sweeps.json``.

Usage: python tools/record_sweep.py FOLDER

FOLDER holds the ``<key>__seed<N>.json`` records the claim tests wrote. For every claim the
file keeps the per-seed values, their range, on how many seeds the claim held, and for each
control its range and on how many seeds it failed; the scorecard prints these. Claims missing
from the sweep keep their previous entry.
"""

from __future__ import annotations

import datetime
import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "chapters" / "appendix" / "claim_sweeps.json"


def _scalar(v):
    """A number for the range: the value itself, or the smallest entry of a tuple."""
    if isinstance(v, list):
        nums = [_scalar(x) for x in v]
        return min(nums) if nums else math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _range(vals: list) -> tuple:
    """The smallest and largest value; element by element for tuples (an ordering claim)."""
    if vals and all(isinstance(v, list) for v in vals) and len({len(v) for v in vals}) == 1:
        cols = [_range([v[i] for v in vals]) for i in range(len(vals[0]))]
        return [c[0] for c in cols], [c[1] for c in cols]
    nums = [_scalar(v) for v in vals]
    known = [v for v in nums if not math.isnan(v)]
    if not known:
        return "nan", "nan"
    lo, hi = min(known), max(known)
    return (lo if math.isfinite(lo) else str(lo)), (hi if math.isfinite(hi) else str(hi))


def aggregate(folder: Path) -> dict[str, dict]:
    """Per-claim summary of the records in ``folder``."""
    by_key: dict[str, list[dict]] = {}
    for p in sorted(folder.glob("*__seed*.json")):
        rec = json.loads(p.read_text())
        by_key.setdefault(rec["key"], []).append(rec)
    out = {}
    for key, recs in by_key.items():
        recs.sort(key=lambda r: r["seed"])
        lo, hi = _range([r["value"] for r in recs])
        entry = {
            "seeds": [r["seed"] for r in recs],
            "values": [r["value"] for r in recs],
            "min": lo, "max": hi, "n": len(recs),
            "holds_on": sum(bool(r["holds"]) for r in recs),
            "controls": {},
        }
        for name in recs[0]["controls"]:
            cv = [r["controls"][name] for r in recs if name in r["controls"]]
            clo, chi = _range([c["value"] for c in cv])
            entry["controls"][name] = {"values": [c["value"] for c in cv], "min": clo, "max": chi,
                                       "n": len(cv), "fails_on": sum(not c["holds"] for c in cv)}
        out[key] = entry
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    new = aggregate(Path(argv[0]))
    old = json.loads(OUT.read_text()) if OUT.exists() else {"claims": {}}
    claims = {**old.get("claims", {}), **new}
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    seeds = sorted({s for e in new.values() for s in e["seeds"]})
    doc = {"commit": commit, "date": datetime.date.today().isoformat(),
           "seeds": f"{seeds[0]}-{seeds[-1]}" if seeds else "", "claims": dict(sorted(claims.items()))}
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    bad = [k for k, e in new.items() if e["holds_on"] < e["n"]
           or any(c["fails_on"] < c["n"] for c in e["controls"].values())]
    print(f"{len(new)} claims recorded in {OUT.relative_to(ROOT)}")
    for k in bad:
        print(f"  NO MARGIN: {k}: holds on {new[k]['holds_on']}/{new[k]['n']} seeds; controls fail on "
              + ", ".join(f"{n} {c['fails_on']}/{c['n']}" for n, c in new[k]["controls"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
