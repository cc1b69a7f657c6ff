#!/usr/bin/env python3
"""The install cell against a Colab-like environment: it must change no preinstalled package.

Usage: python tools/colab_check.py [--notebook chapters/.../x.ipynb] [--venv _build/colab-venv]

1. A fresh virtual environment holds the scientific stack at the versions Colab ships, from
   ``tests/colab_constraints.txt`` (exact pins). Like Colab's image, it is a copy of a base
   environment built once per constraints file and Python version and kept in
   ``~/.cache/biaslab/`` (hard links, so a copy takes seconds; the base is rebuilt when its
   ``pip freeze`` no longer matches the one recorded when it was built).
2. The install cell of the notebooks (the same code in every one: a test checks it) runs
   there as it would in Colab, with ``google.colab`` imported and its requirement pointed at
   a copy of this working tree (``biaslab @ file:///...``) instead of the repository.
3. ``pip freeze`` before and after must agree on every package that was there before: the
   cell may add packages, never upgrade or downgrade one (the way an install cell breaks a
   Colab runtime).
4. One notebook then runs top to bottom in that environment.

Exit code 0 when all holds; the time of each step is printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat

from booktools import INSTALL_TAG, ROOT, install_cell_source, install_spec

CONSTRAINTS = ROOT / "tests" / "colab_constraints.txt"
DEFAULT_NOTEBOOK = "chapters/03_fairness/01_measuring_fairness.ipynb"
FREEZE = "colab-check-freeze.txt"


def parse_freeze(text: str) -> dict[str, str]:
    """``pip freeze`` output as {normalized name: version or the requirement's URL}."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if " @ " in line:
            name, ref = line.split(" @ ", 1)
        elif "==" in line:
            name, ref = line.split("==", 1)
        else:
            continue
        out[re.sub(r"[-_.]+", "-", name).lower()] = ref.strip()
    return out


def changed(before: dict[str, str], after: dict[str, str]) -> dict[str, tuple[str, str | None]]:
    """The packages of ``before`` whose version differs in ``after`` (or that are gone)."""
    return {k: (v, after.get(k)) for k, v in before.items() if after.get(k) != v}


def colab_install_code(notebook: Path, spec: str) -> str:
    """The notebook's install cell as Colab runs it, installing ``spec`` instead of the
    repository.

    Raises:
        ValueError: when the first code cell is not the install cell.
    """
    nb = nbformat.read(notebook, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code")
    if INSTALL_TAG not in cell.metadata.get("tags", []) or cell.source != install_cell_source():
        raise ValueError(f"{notebook}: the first code cell is not the install cell")
    if install_spec() not in cell.source:
        raise ValueError(f"{notebook}: the install cell does not install {install_spec()!r}")
    code = cell.source.replace(install_spec(), spec)
    # what Colab has imported before any cell runs
    return "import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')\n" + code


def copy_of_working_tree(dest: Path) -> Path:
    """What pip needs to build biaslab, copied from the working tree (so that the build
    leaves nothing in the checkout)."""
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return dest


def base_venv(constraints: Path = CONSTRAINTS, cache: Path | None = None) -> Path:
    """The base environment for ``constraints``: built on first use, then reused.

    Returns:
        Its folder; ``FREEZE`` inside it holds its ``pip freeze`` at build time.
    """
    cache = cache or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "biaslab"
    key = hashlib.sha256((constraints.read_text() + sys.version).encode()).hexdigest()[:12]
    base = cache / f"colab-base-{key}"
    if (base / FREEZE).exists():
        return base
    shutil.rmtree(base, ignore_errors=True)
    base.parent.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "venv", str(base)])
    python = base / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-qq", "--no-compile", "-r", str(constraints)])
    freeze = _run([str(python), "-m", "pip", "freeze"], capture_output=True).stdout
    (base / FREEZE).write_text(freeze)  # written last: a base without it is incomplete
    return base


def fresh_copy(base: Path, dest: Path) -> Path:
    """A copy of the environment ``base`` at ``dest``, its files hard-linked (pip replaces
    files, never edits them in place, so the base stays as it was)."""
    shutil.rmtree(dest, ignore_errors=True)
    try:
        shutil.copytree(base, dest, symlinks=True, copy_function=os.link)
    except OSError:  # another file system: copy
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(base, dest, symlinks=True)
    return dest


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    """Run a command, failing on a non-zero exit."""
    return subprocess.run(cmd, check=True, text=True, **kw)


def run_notebook(notebook: Path, python: Path, timeout: int = 300) -> float:
    """Execute ``notebook`` with a kernel started by ``python``; returns the seconds taken."""
    from nbclient import NotebookClient

    kernels = python.parent.parent / "share" / "jupyter"
    _run([str(python), "-m", "ipykernel", "install", "--prefix", str(python.parent.parent),
          "--name", "colab-check", "--display-name", "colab-check"], stdout=subprocess.DEVNULL)
    os.environ["JUPYTER_PATH"] = str(kernels)
    nb = jupytext.read(notebook)
    t0 = time.time()
    NotebookClient(nb, kernel_name="colab-check", timeout=timeout, resources={"metadata": {"path": str(ROOT)}}).execute()
    return time.time() - t0


def main(argv: list[str]) -> int:
    """Run the check (see the module's docstring); 0 when it holds, 1 when a package moved."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--notebook", default=DEFAULT_NOTEBOOK)
    ap.add_argument("--venv", default=str(ROOT / "_build" / "colab-venv"))
    args = ap.parse_args(argv)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiets ipykernel 6.17's debugger notice
    venv, notebook = Path(args.venv), ROOT / args.notebook
    python = venv / "bin" / "python"
    times = {}

    t0 = time.time()
    base = base_venv()
    fresh_copy(base, venv)
    before = parse_freeze(_run([str(python), "-m", "pip", "freeze"], capture_output=True).stdout)
    if before != parse_freeze((base / FREEZE).read_text()):  # the base was altered: build it again
        (base / FREEZE).unlink()
        fresh_copy(base_venv(), venv)
        before = parse_freeze(_run([str(python), "-m", "pip", "freeze"], capture_output=True).stdout)
    times["fresh Colab-like environment"] = time.time() - t0

    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        tree = copy_of_working_tree(Path(tmp))
        code = colab_install_code(notebook, f"biaslab @ {tree.as_uri()}")
        _run([str(python), "-c", code])
    times["install cell"] = time.time() - t0
    after = parse_freeze(_run([str(python), "-m", "pip", "freeze"], capture_output=True).stdout)

    moved = changed(before, after)
    added = sorted(set(after) - set(before))
    print(f"preinstalled: {len(before)} packages; the install cell added {len(added)}: {', '.join(added)}")
    if moved:
        for name, (old, new) in sorted(moved.items()):
            print(f"CHANGED  {name}: {old} -> {new or 'removed'}")
        print("colab-check: the install cell changes preinstalled packages (see above)")
        return 1
    print("colab-check: no preinstalled package was upgraded, downgraded or removed")

    times[f"{args.notebook} run"] = run_notebook(notebook, python)
    for step, t in times.items():
        print(f"{t:7.1f} s  {step}")
    print(f"{sum(times.values()):7.1f} s  total")
    out = ROOT / "_build" / "colab_check.json"
    out.write_text(json.dumps({"seconds": {k: round(v, 1) for k, v in times.items()}, "added": added}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
