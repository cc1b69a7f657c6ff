"""Repository-wide pytest hooks for the nbval run.

1. Per-notebook wall times: nbval reports one test per notebook cell; these hooks add up the
   cells (with kernel start-up) of each notebook, print a table at the end of the run and
   write it to ``_build/notebook_times.json``.
2. Execute once, use twice: when ``BIASLAB_NB_CACHE`` names a jupyter-cache folder (the
   Makefile sets it to the book's execution cache), the source of every notebook that passes
   nbval (its ``.md``) is stored there with the outputs nbval collected, so that the book
   build that follows renders those outputs instead of executing every notebook a second time. A notebook that fails, or whose
   cells do not match, is simply executed again by the build: this only saves time, it never
   changes what is tested.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections import defaultdict
from pathlib import Path

_times: dict[str, float] = defaultdict(float)
_failed: set[str] = set()
_started: dict[str, float] = {}


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _times[path] += report.duration
        if report.failed:
            _failed.add(path)


def pytest_runtest_setup(item):
    path = item.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _started.setdefault(path, time.time())


def pytest_runtest_teardown(item, nextitem):
    cache_dir = os.environ.get("BIASLAB_NB_CACHE")
    if not cache_dir or not item.nodeid.split("::")[0].endswith(".ipynb"):
        return
    parent = getattr(item, "parent", None)
    nb = getattr(parent, "nb", None)
    if nb is None or not hasattr(item, "test_outputs") or not hasattr(item, "cell"):
        # nbval's internals changed: fail loudly rather than silently executing twice
        raise RuntimeError("conftest.py: nbval items no longer carry .parent.nb, .cell and .test_outputs; "
                           "update the execution-cache hook for this nbval version")
    item.cell.outputs = list(item.test_outputs or [])
    if nextitem is not None and getattr(nextitem, "parent", None) is parent:
        return  # more cells of this notebook to come
    path = item.nodeid.split("::")[0]
    if path in _failed:
        return
    try:
        from jupyter_cache import get_cache
        from jupyter_cache.base import CacheBundleIn

        executed = _as_source(copy.deepcopy(nb), Path(str(parent.fspath)))
        count = 0
        for cell in executed.cells:
            if cell.cell_type == "code":
                count += 1
                cell.execution_count = count
                for out in cell.get("outputs", []):
                    if out.get("output_type") == "execute_result":
                        out["execution_count"] = count
        seconds = time.time() - _started.get(path, time.time())
        get_cache(cache_dir).cache_notebook_bundle(
            CacheBundleIn(executed, str(parent.fspath), data={"execution_seconds": seconds}),
            check_validity=False,
            overwrite=True,
        )
    except ImportError as e:
        raise RuntimeError(f"conftest.py: jupyter-cache is needed to store {path}: {e}") from e


def _as_source(nb: "nbformat.NotebookNode", ipynb: Path) -> "nbformat.NotebookNode":
    """The notebook the book build reads (the ``.md`` beside ``ipynb``), carrying the outputs
    nbval collected from ``ipynb``: the cache matches notebooks by their code, and the
    generated ``.ipynb`` differs from its source by a comment line in the hidden setup cell."""
    md = ipynb.with_suffix(".md")
    if not md.exists():
        return nb
    import jupytext

    source = jupytext.read(md)
    ran = [c for c in nb.cells if c.cell_type == "code"]
    code = [c for c in source.cells if c.cell_type == "code"]
    if len(ran) != len(code):
        return nb  # not the same code: let the build execute the source itself
    for src, out in zip(code, ran):
        src.outputs = out.get("outputs", [])
    return source


def pytest_terminal_summary(terminalreporter):
    if not _times:
        return
    tr = terminalreporter
    tr.write_sep("=", "notebook wall times (s)")
    for path, t in sorted(_times.items()):
        # the 30 s budget is for a notebook run alone (the student copies run two at a time)
        flag = "  OVER 30 s BUDGET" if t > 30 and path.startswith("chapters/") else ""
        tr.write_line(f"{t:7.1f}  {path}{flag}")
    tr.write_line(f"{sum(_times.values()):7.1f}  total")
    out = Path(__file__).parent / "_build" / "notebook_times.json"
    out.parent.mkdir(exist_ok=True)
    old = json.loads(out.read_text()) if out.exists() else {}
    old.update({k: round(v, 2) for k, v in _times.items()})
    # forget notebooks that no longer exist (renamed or deleted sections)
    old = {k: v for k, v in old.items() if (Path(__file__).parent / k).exists()}
    out.write_text(json.dumps(old, indent=1, sort_keys=True))
