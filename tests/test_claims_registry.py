"""Unit tests of the claim registry (biaslab.claims) and of the scorecard's rendering."""

from __future__ import annotations

import json
import math
import sys

import pytest

import biaslab
from biaslab import claims as bc


def _run(seed=0, device=None):
    return {"demo": 5.0 + seed, "flat": 1.0, "also": 9.0}


def make(**kw):
    base = dict(
        key="inductive_bias.toy.gain", statement="the gain is at least 3", cite=("rahaman_spectral_bias_2019",),
        paper_result="a gain of 4", paper_where="Fig. 1", run=_run, measure=lambda w: w,
        predicate=bc.at_least(3.0), world=lambda r: r["demo"],
        controls=(bc.Control("flat world", "nothing to gain", lambda r: r["flat"]),),
    )
    base.update(kw)
    return bc.Claim(**base)


def test_predicates_and_their_text():
    assert bc.at_least(3)(3.0) and not bc.at_least(3)(2.9) and not bc.at_least(3)(math.nan)
    assert bc.at_most(0.1)(0.1) and not bc.at_most(0.1)(math.inf) and not bc.at_most(0.1)("x")
    assert bc.between(1, 2)(1.5) and not bc.between(1, 2)(2.5)
    assert bc.increasing()((1, 2, 3)) and not bc.increasing()((1, 1, 3)) and not bc.increasing()((1, math.inf))
    assert bc.increasing(1.5)((1, 1.5, 3)) and not bc.increasing(1.5)((1, 1.4, 3))
    assert bc.at_least(3).text == ">= 3" and "1.5x" in bc.increasing(1.5).text


def test_claim_needs_a_control_unless_observation():
    with pytest.raises(ValueError, match="negative control"):
        make(controls=())
    assert make(controls=(), observation=True).observation
    with pytest.raises(ValueError, match="key"):
        make(key="toy")
    with pytest.raises(ValueError, match="cite"):
        make(cite="rahaman_spectral_bias_2019")


def test_evaluate_holds_and_control_fails():
    ev = bc.evaluate(make(), _run(0), seed=None)
    assert ev.value == 5.0 and ev.holds and ev.controls == {"flat world": (1.0, False)} and ev.ok
    assert "claim holds" in ev.line() and "fails, as it must" in ev.line()


def test_a_control_that_passes_makes_the_claim_fail():
    c = make(controls=(bc.Control("no real control", "passes too", lambda r: r["also"]),))
    ev = bc.evaluate(c, _run(0))
    assert ev.holds and not ev.ok and "cannot tell" in ev.line()


def test_check_claims_prints_and_raises(monkeypatch, capsys):
    monkeypatch.setattr(bc, "claims_of", lambda section: [make()])
    bc.check_claims("inductive_bias.toy", _run(0))
    assert "claim holds: the gain is at least 3" in capsys.readouterr().out
    with pytest.raises(biaslab.ClaimFailed, match="inductive_bias.toy.gain"):
        bc.check_claims("inductive_bias.toy", {"demo": 1.0, "flat": 0.0, "also": 0.0})


def test_evaluation_is_recorded_when_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("BIASLAB_CLAIMS_DIR", str(tmp_path))
    bc.evaluate(make(), _run(2), seed=2)
    rec = json.loads((tmp_path / "inductive_bias.toy.gain__seed2.json").read_text())
    assert rec["value"] == 7.0 and rec["holds"] and rec["controls"]["flat world"] == {"value": 1.0, "holds": False}
    monkeypatch.delenv("BIASLAB_CLAIMS_DIR")
    bc.evaluate(make(), _run(3), seed=3)
    assert not (tmp_path / "inductive_bias.toy.gain__seed3.json").exists()


def test_registry_keys_are_unique_and_sit_in_their_sections():
    claims = bc.all_claims()
    assert len({c.key for c in claims}) == len(claims)
    for c in claims:
        assert bc.get_claim(c.key) is c
        mod = sys.modules[f"biaslab.{c.section}"]
        assert c in mod.CLAIMS


def test_scorecard_renders_registered_claims(tmp_path, monkeypatch):
    import scorecard

    monkeypatch.setattr(scorecard, "CLAIMS_DIR", tmp_path)
    text = scorecard.render("claim-scorecard", {})
    assert "the paper's result" in text and "claim-table" in text
    assert scorecard.fmt(0.000012) == "1.2e-05" and scorecard.fmt([1, 2.5]) == "(1, 2.5)" and scorecard.fmt(None) == "–"
