"""Unit tests of biaslab.fairness and the chapter 3 data loaders."""

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

from biaslab import datasets
from biaslab import fairness as fa


# --- loaders ---------------------------------------------------------------------------
def test_adult_loader():
    df = datasets.adult()
    assert len(df) == 45222
    assert set(df["sex"]) == {"Female", "Male"}
    assert set(df["label"]) == {0, 1}
    assert abs(df["label"].mean() - 0.248) < 0.01
    assert len(datasets.adult("train", dropna=False)) == 32561
    assert len(datasets.adult("test", dropna=False)) == 16281
    with pytest.raises(ValueError, match="split"):
        datasets.adult("validation")


def test_compas_loader():
    df = datasets.compas()
    assert len(df) == 6172
    assert len(datasets.compas(filtered=False)) == 7214
    assert {"race", "sex", "decile_score", "two_year_recid", "high_risk"} <= set(df.columns)
    assert df["decile_score"].between(1, 10).all()


def test_adult_features():
    df = datasets.adult().head(500)
    X, y, names = fa.adult_features(df)
    assert X.shape[0] == 500 and X.shape[1] == len(names)
    assert not any(n.startswith("sex_") for n in names)
    X2, _, names2 = fa.adult_features(df, include_protected=True)
    assert any(n.startswith("sex_") for n in names2)
    with pytest.raises(TypeError):
        fa.adult_features(X)
    with pytest.raises(ValueError, match="lacks"):
        fa.adult_features(df.drop(columns=["age"]))


# --- group metrics vs fairlearn ----------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gaps_match_fairlearn(seed):
    rng = np.random.default_rng(seed)
    n = 400
    g = rng.choice(["a", "b", "c"], n)
    y = rng.integers(0, 2, n)
    p = (rng.random(n) < 0.3 + 0.3 * y + 0.1 * (g == "b")).astype(int)
    assert fa.equalized_odds_gap(y, p, g) == pytest.approx(equalized_odds_difference(y, p, sensitive_features=g))
    assert fa.demographic_parity_gap(p, g) == pytest.approx(demographic_parity_difference(y, p, sensitive_features=g))


def test_metric_frame_and_calibration():
    rng = np.random.default_rng(0)
    n = 2000
    g = np.where(rng.random(n) < 0.5, "x", "y")
    prob = rng.random(n)
    y = (rng.random(n) < prob).astype(int)  # calibrated by construction
    pred = (prob >= 0.5).astype(int)
    mf = fa.group_metric_frame(y, pred, g, prob)
    assert set(mf.by_group.columns) >= {"TPR", "FPR", "selection rate", "mean score", "base rate"}
    cal = fa.calibration_by_group(y, prob, g)
    assert fa.calibration_gap(cal) < 0.08
    rates = fa.error_rates_by_group(y, prob, g)
    assert rates.loc["x", "FPR"] == pytest.approx(pred[(g == "x") & (y == 0)].mean())


def test_bad_inputs():
    y = np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="two groups"):
        fa.equalized_odds_gap(y, y, ["a"] * 4)
    with pytest.raises(ValueError, match="same length"):
        fa.equalized_odds_gap(y, y, ["a", "b", "a"])
    with pytest.raises(ValueError, match="same length"):
        fa.equalized_odds_gap(y, y[:3], ["a", "b", "a", "b"])
    with pytest.raises(ValueError, match="0 and 1"):
        fa.demographic_parity_gap([0, 2, 1, 0], ["a", "b", "a", "b"])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fa.calibration_by_group(y, [0.1, 1.2, 0.3, 0.5], ["a", "b", "a", "b"])
    with pytest.raises(ValueError, match="no positive"):
        fa.equalized_odds_gap([0, 0, 0, 1], [0, 1, 0, 1], ["a", "a", "b", "b"])
