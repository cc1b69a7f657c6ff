"""Every registered claim, for seeds other than the notebook's, and its negative controls.

Nothing here states a threshold: each test evaluates the claim exactly as its notebook's
check cell does (``biaslab.claims``), on the results of the section's runner for another seed.
A claim must hold in its demo and fail on each of its controls; an observation is measured
and recorded but not asserted.

Seed 1 by default (seed 0 is the notebook; `make test` runs both, every ten-seed margin comes
from `make sweep`). ``BIASLAB_CLAIM_SEEDS=0,1,2,3,4,5,6,7,8,9``
re-checks every claim and control with ten seeds, the margin every asserted claim must have.
"""

from __future__ import annotations

import functools
import os

import pytest

from biaslab import claims as bc

SEEDS = [int(s) for s in os.environ.get("BIASLAB_CLAIM_SEEDS", "1").split(",")]
CLAIMS = bc.all_claims()
ASSERTED = [c for c in CLAIMS if not c.observation]
OBSERVED = [c for c in CLAIMS if c.observation]


@functools.lru_cache(maxsize=32)
def results(section: str, seed: int):
    return bc.run_section(section, seed=seed, device=None)


def _cases(claims):
    # seed-major order: the claims of a section that share one run come one after another
    return [pytest.param(c, s, id=f"{c.key}-seed{s}", marks=pytest.mark.xdist_group(c.section))
            for s in SEEDS for c in claims]


@pytest.mark.parametrize("claim, seed", _cases(ASSERTED))
def test_claim_holds_and_its_controls_fail(claim, seed):
    ev = bc.evaluate(claim, results(claim.section, seed), seed=seed)
    assert ev.holds, f"{claim.key}, seed {seed}: measured {ev.value}, rule {claim.predicate.text}"
    for name, (value, holds) in ev.controls.items():
        assert not holds, f"{claim.key}, seed {seed}: control '{name}' passes too ({value})"


@pytest.mark.parametrize("claim, seed", _cases(OBSERVED))
def test_observation_is_measured(claim, seed):
    ev = bc.evaluate(claim, results(claim.section, seed), seed=seed)
    assert ev.value is not None


def test_every_asserted_claim_has_a_control():
    for c in ASSERTED:
        assert c.controls, c.key


def test_claims_cite_known_papers():
    from pathlib import Path
    import re

    bib = (Path(__file__).resolve().parent.parent / "references.bib").read_text()
    keys = set(re.findall(r"@\w+\{([^,\s]+),", bib))
    for c in CLAIMS:
        assert set(c.cite) <= keys, (c.key, set(c.cite) - keys)
