"""Repository-wide pytest hooks: per-notebook wall times for the nbval run.

nbval reports one test per notebook cell; this plugin adds the cells of each notebook up and
prints a table at the end of the run, and writes it to ``_build/notebook_times.json`` (the
instructor guide's time estimates are read from there).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

_times: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _times[path] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _times:
        return
    tr = terminalreporter
    tr.write_sep("=", "notebook wall times (s)")
    for path, t in sorted(_times.items()):
        flag = "  OVER 30 s BUDGET" if t > 30 else ""
        tr.write_line(f"{t:7.1f}  {path}{flag}")
    tr.write_line(f"{sum(_times.values()):7.1f}  total")
    out = Path(__file__).parent / "_build" / "notebook_times.json"
    out.parent.mkdir(exist_ok=True)
    old = json.loads(out.read_text()) if out.exists() else {}
    old.update({k: round(v, 2) for k, v in _times.items()})
    out.write_text(json.dumps(old, indent=1, sort_keys=True))
