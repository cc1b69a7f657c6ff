"""The claim registry: what each section asserts it measured, defined once.

A :class:`Claim` is defined in its section's module (in a module-level tuple ``CLAIMS``) and
holds everything a reader, a test and the reproduction scorecard need:

- what is claimed, in one sentence, with the ``{cite}`` keys of the papers;
- the paper's own result it reproduces, in words and numbers, and where in the paper;
- the section's runner, ``run(seed, device) -> results``, which computes everything the
  notebook shows, the worlds of the negative controls included;
- the measurement (a function of the results) and the predicate with its threshold;
- at least one negative :class:`Control`: the *same* measurement in a world where the
  phenomenon is absent (shuffled pixels, a linear ramp, a trivial predictor, the paper's own
  ablation). A claim counts only if it holds in its demo and fails on every control.

The notebook's check cell calls :func:`check_claims` on the results it already computed;
the claim tests (``tests/test_claims.py``) call the same runner for other seeds and evaluate
the same definitions, so no threshold is typed anywhere else. A claim that holds on some
seeds only is registered as an *observation* (``observation=True``): it is measured and
reported, never asserted.

When the environment variable ``BIASLAB_CLAIMS_DIR`` names a folder (the Makefile sets it to
``_build/claims``), every evaluation also writes its values there as JSON, and the book's
scorecard page is built from those files. Without it nothing is written.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import pkgutil
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


__all__ = [
    "ClaimFailed",
    "Claim",
    "Control",
    "Evaluation",
    "Predicate",
    "all_claims",
    "at_least",
    "at_most",
    "between",
    "check_claims",
    "claims_of",
    "evaluate",
    "get_claim",
    "increasing",
    "run_section",
]


class ClaimFailed(AssertionError):
    """Raised by :func:`check_claims` when a demo no longer shows its phenomenon."""


Value = Any  # a float, or a tuple of floats for an ordering claim


# --------------------------------------------------------------------------------------
# predicates: a threshold with its text, so the page and the test print the same rule
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Predicate:
    """A yes/no rule on a measured value, with the words that state it.

    Args:
        fn: ``fn(value) -> bool``.
        text: the rule as a reader reads it, e.g. ``">= 3"``.
    """

    fn: Callable[[Value], bool]
    text: str

    def __call__(self, value: Value) -> bool:
        try:
            return bool(self.fn(value))
        except (TypeError, ValueError):
            return False


def _finite(v: Value) -> bool:
    return isinstance(v, (int, float, np.floating, np.integer)) and not math.isnan(float(v))


def at_least(threshold: float) -> Predicate:
    """The value is a number of at least ``threshold``."""
    return Predicate(lambda v: _finite(v) and float(v) >= threshold, f">= {threshold:g}")


def at_most(threshold: float) -> Predicate:
    """The value is a number of at most ``threshold`` (NaN fails)."""
    return Predicate(lambda v: _finite(v) and float(v) <= threshold, f"<= {threshold:g}")


def between(low: float, high: float) -> Predicate:
    """The value lies in ``[low, high]``."""
    return Predicate(lambda v: _finite(v) and low <= float(v) <= high, f"in [{low:g}, {high:g}]")


def increasing(min_ratio: float = 1.0) -> Predicate:
    """The values of a sequence increase, each at least ``min_ratio`` times the one before
    (``min_ratio=1`` asks for strict increase)."""
    def fn(v: Value) -> bool:
        vals = [float(x) for x in v]
        if len(vals) < 2 or not all(math.isfinite(x) for x in vals):
            return False
        if min_ratio == 1.0:
            return all(a < b for a, b in zip(vals, vals[1:]))
        return all(b >= min_ratio * a and b > a for a, b in zip(vals, vals[1:]))

    text = "strictly increasing" if min_ratio == 1.0 else f"increasing, each >= {min_ratio:g}x the previous"
    return Predicate(fn, text)


# --------------------------------------------------------------------------------------
# claims and controls
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Control:
    """A negative control: the world, inside the section's results, where the phenomenon is
    absent. The claim's own measurement and predicate are applied to it, and must fail.

    Args:
        name: a short name ("linear ramp", "shuffled pixels").
        description: one sentence on what this world is and why the phenomenon is absent.
        world: ``world(results)`` returns what the claim's ``measure`` reads, taken from the
            control's part of the results.
    """

    name: str
    description: str
    world: Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True)
class Claim:
    """One measured statement of a section, its paper's result, and its negative controls.

    Args:
        key: unique, ``"<chapter>.<section>.<name>"``, e.g.
            ``"inductive_bias.spectral_bias.frequency_order"``.
        statement: what is claimed, in one sentence.
        cite: the ``references.bib`` keys of the papers whose result this reproduces.
        paper_result: the paper's own result, in words and numbers.
        paper_where: where it stands in the paper ("Fig. 1", "Table 2").
        run: the section's runner, ``run(seed, device) -> results``.
        measure: ``measure(world) -> value``: the measurement.
        predicate: the rule the value must satisfy.
        world: ``world(results)`` selects what ``measure`` reads in the demo (default: the
            results themselves).
        controls: the negative controls (at least one for an asserted claim).
        observation: report the value, never assert it (holds on some seeds only).
        note: anything a reader must know to read the number (units, what "fitted" means).
    """

    key: str
    statement: str
    cite: tuple[str, ...]
    paper_result: str
    paper_where: str
    run: Callable[..., Mapping[str, Any]]
    measure: Callable[[Any], Value]
    predicate: Predicate
    world: Callable[[Mapping[str, Any]], Any] = field(default=lambda r: r)
    controls: tuple[Control, ...] = ()
    observation: bool = False
    note: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or self.key.count(".") < 2:
            raise ValueError(f"claim key must read '<chapter>.<section>.<name>', got {self.key!r}")
        if not self.statement or not self.paper_result or not self.paper_where:
            raise ValueError(f"claim {self.key}: statement, paper_result and paper_where must not be empty")
        if isinstance(self.cite, str) or not self.cite:
            raise ValueError(f"claim {self.key}: cite must be a non-empty tuple of bibliography keys")
        if not self.observation and not self.controls:
            raise ValueError(f"claim {self.key}: an asserted claim needs at least one negative control")

    @property
    def section(self) -> str:
        """``"<chapter>.<section>"``: the module that defines the claim, inside ``biaslab``."""
        return self.key.rsplit(".", 1)[0]

    def value(self, results: Mapping[str, Any]) -> Value:
        """The measured value in the demo."""
        return self.measure(self.world(results))

    def control_value(self, control: Control, results: Mapping[str, Any]) -> Value:
        """The same measurement in a control's world."""
        return self.measure(control.world(results))


@dataclass
class Evaluation:
    """The outcome of one claim on one set of results (one seed)."""

    claim: Claim
    seed: int | None
    value: Value
    holds: bool
    controls: dict[str, tuple[Value, bool]]  # name -> (value, holds there)

    @property
    def ok(self) -> bool:
        """The claim holds and fails on every control (an observation is always ok)."""
        if self.claim.observation:
            return True
        return self.holds and not any(h for _, h in self.controls.values())

    def line(self) -> str:
        """One line for the notebook: the claim, its value, and each control's value."""
        c = self.claim
        head = "observation" if c.observation else ("claim holds" if self.ok else "CLAIM FAILED")
        out = f"{head}: {c.statement}\n    measured {_fmt(self.value)} (rule: {c.predicate.text})"
        for name, (v, h) in self.controls.items():
            verdict = "passes too: the check cannot tell" if h else "fails, as it must"
            out += f"\n    control, {name}: {_fmt(v)} ({verdict})"
        return out

    def record(self) -> dict[str, Any]:
        """A JSON-ready record for the scorecard."""
        return {
            "key": self.claim.key,
            "seed": self.seed,
            "value": _jsonable(self.value),
            "holds": self.holds,
            "controls": {k: {"value": _jsonable(v), "holds": h} for k, (v, h) in self.controls.items()},
        }


def _jsonable(v: Value) -> Any:
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if math.isfinite(f) else str(f)
    if isinstance(v, (np.integer, int)) and not isinstance(v, bool):
        return int(v)
    return v


def _fmt(v: Value) -> str:
    if isinstance(v, (list, tuple, np.ndarray)):
        return "(" + ", ".join(_fmt(x) for x in v) + ")"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}"
    return str(v)


# --------------------------------------------------------------------------------------
# the registry
# --------------------------------------------------------------------------------------
_CHAPTERS = ("inductive_bias", "spurious", "fairness", "causal", "disentangle")


def all_claims() -> list[Claim]:
    """Every registered claim of the book, in book order (chapter, section, definition)."""
    out: list[Claim] = []
    for chapter in _CHAPTERS:
        pkg = importlib.import_module(f"biaslab.{chapter}")
        names = [m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")]
        order = _section_order(chapter)
        for name in sorted(names, key=lambda n: order.get(n, 99)):
            mod = importlib.import_module(f"biaslab.{chapter}.{name}")
            for c in getattr(mod, "CLAIMS", ()):
                if c.section != f"{chapter}.{name}":
                    raise ValueError(f"claim {c.key} is defined in biaslab.{chapter}.{name}; its key must start with that")
                out.append(c)
    keys = [c.key for c in out]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise ValueError(f"claim keys must be unique, repeated: {sorted(dup)}")
    return out


def _section_order(chapter: str) -> dict[str, int]:
    """Section modules by their number, read from their docstrings ("Section 1.3, ...")."""
    pkg = importlib.import_module(f"biaslab.{chapter}")
    order = {}
    for m in pkgutil.iter_modules(pkg.__path__):
        doc = importlib.import_module(f"biaslab.{chapter}.{m.name}").__doc__ or ""
        found = re.match(r"\s*Section \d+\.(\d+)", doc)
        if found:
            order[m.name] = int(found.group(1))
    return order


def claims_of(section: str) -> list[Claim]:
    """The claims of one section, e.g. ``claims_of("inductive_bias.spectral_bias")``."""
    out = [c for c in all_claims() if c.section == section]
    if not out:
        raise ValueError(f"no claims registered for section {section!r}")
    return out


def get_claim(key: str) -> Claim:
    """One claim by its key."""
    for c in all_claims():
        if c.key == key:
            return c
    raise KeyError(f"no claim {key!r}")


def evaluate(claim: Claim, results: Mapping[str, Any], seed: int | None = None) -> Evaluation:
    """Evaluate a claim and its controls on a section's results, and record the values (when
    ``BIASLAB_CLAIMS_DIR`` is set).

    Args:
        claim: the claim.
        results: what the section's runner returned (or the notebook computed the same way).
        seed: the seed the results were computed with (for the record).

    Returns:
        An :class:`Evaluation`.
    """
    value = claim.value(results)
    controls = {}
    for ctl in claim.controls:
        v = claim.control_value(ctl, results)
        controls[ctl.name] = (v, claim.predicate(v))
    ev = Evaluation(claim, seed, value, claim.predicate(value), controls)
    _write(ev)
    return ev


def _write(ev: Evaluation) -> None:
    folder = os.environ.get("BIASLAB_CLAIMS_DIR")
    if not folder or ev.seed is None:
        return
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    (path / f"{ev.claim.key}__seed{ev.seed}.json").write_text(json.dumps(ev.record(), indent=1))


def check_claims(section: str, results: Mapping[str, Any], seed: int = 0) -> None:
    """The check cell of a section: evaluate every claim of the section on ``results``.

    Prints each claim with its measured value and each control's value, and raises when an
    asserted claim fails or one of its controls passes as well (a check that cannot tell
    the phenomenon from its absence proves nothing). Observations are printed only.

    Args:
        section: ``"<chapter>.<section>"``, e.g. ``"inductive_bias.spectral_bias"``.
        results: the results the notebook computed with the section's runner(s).
        seed: the seed of those results.

    Raises:
        ClaimFailed: naming every claim that failed.
    """
    failed = []
    for claim in claims_of(section):
        ev = evaluate(claim, results, seed=seed)
        print(ev.line())
        if not ev.ok:
            failed.append(claim.key)
    if failed:
        raise ClaimFailed(f"CLAIM FAILED: {', '.join(failed)} (see the lines above)")


def run_section(section: str, seed: int, device: Any = None) -> Mapping[str, Any]:
    """Call the runner of a section's claims (they share one) for a seed."""
    runners = {c.run for c in claims_of(section)}
    if len(runners) != 1:
        raise ValueError(f"the claims of {section} must share one runner, got {len(runners)}")
    return runners.pop()(seed=seed, device=device)

