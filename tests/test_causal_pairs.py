"""Unit tests of section 4.2's additions: the linear-Gaussian control pair, residuals of the
noise models, the causal-learn cross-check and the binomial test."""

import numpy as np
import pytest

from biaslab import causal as ca
from biaslab.datasets import causal_data as cd


def test_linear_gaussian_pair_is_linear_and_gaussian():
    x, y = ca.linear_gaussian_pair(5000, seed=0)
    b = np.polyfit(x, y, 1)[0]
    resid = y - b * x
    assert 0.5 <= abs(b) <= 2.05 and abs(np.corrcoef(x, resid)[0, 1]) < 0.02
    with pytest.raises(ValueError):
        ca.linear_gaussian_pair(5)


def test_noise_model_residuals_show_the_spread_only_for_the_additive_model():
    x, y = ca.location_scale_pair(2000, heteroscedasticity=1.0, seed=0)
    spread = {s: abs(np.corrcoef(x, np.abs(ca.noise_model_residuals(x, y, scale=s)))[0, 1]) for s in (False, True)}
    assert spread[False] > 0.3 > 0.1 > spread[True]
    r = ca.noise_model_residuals(x, y, scale=True)
    assert r.shape == x.shape and np.std(r) == pytest.approx(1.0, abs=0.05)
    with pytest.raises(ValueError, match="same length"):
        ca.noise_model_residuals(x, y[:-1])


def test_orientation_accuracy_on_the_unidentifiable_control_is_near_chance():
    acc = ca.orientation_accuracy(None, n_pairs=20, n=500, seed=3)
    assert set(acc) == {"location-scale", "additive (homoscedastic)"}
    assert all(0.15 <= a <= 0.85 for a in acc.values())


def test_anm_hsic_orients_additive_pairs():
    assert ca.anm_hsic_accuracy(0.0, n_pairs=4, n=200, seed=0) >= 0.75 > 0.25 >= ca.anm_hsic_accuracy(1.0, n_pairs=4, n=200, seed=0)


def test_binomial_pvalue_matches_scipy_and_checks_input():
    from scipy.stats import binomtest

    assert ca.binomial_pvalue(13 / 50, 50, "less") == pytest.approx(binomtest(13, 50, 0.5, alternative="less").pvalue)
    assert ca.binomial_pvalue(0.5, 10) > 0.5
    with pytest.raises(ValueError, match="accuracy"):
        ca.binomial_pvalue(1.5, 10)


def test_tuebingen_shuffle_keeps_the_marginals():
    pairs = cd.load_tuebingen_pairs()[:3]
    real = ca.tuebingen_orientation(pairs, max_n=300, seed=0)
    shuffled = ca.tuebingen_orientation(pairs, max_n=300, seed=0, shuffle=True)
    assert list(real.index) == list(shuffled.index) and (real["n"] == shuffled["n"]).all()
    assert not np.allclose(real["additive score"], shuffled["additive score"])
