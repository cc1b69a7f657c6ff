"""Unit tests of section 4.1's additions: the back-door criterion, the broken front door,
the NSW estimators' helpers and the device rule of the TARNet."""

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from biaslab import causal as ca
from biaslab.causal import interventions as iv
from biaslab.datasets import causal_data as cd


def test_backdoor_criterion_on_known_graphs():
    g = ca.smoking_scm().graph
    assert not ca.satisfies_backdoor(g, "smoking", "cancer", [])
    assert ca.satisfies_backdoor(g, "smoking", "cancer", ["genotype"])
    assert not ca.satisfies_backdoor(g, "smoking", "cancer", ["tar"])  # a descendant of the treatment
    # M-bias: conditioning on the collider m opens x <- a -> m <- b -> y
    m = nx.DiGraph([("a", "x"), ("a", "m"), ("b", "m"), ("b", "y"), ("x", "y")])
    assert ca.satisfies_backdoor(m, "x", "y", [])
    assert not ca.satisfies_backdoor(m, "x", "y", ["m"])
    assert ca.satisfies_backdoor(m, "x", "y", ["m", "a"])


def test_backdoor_bad_input():
    g = ca.smoking_scm().graph
    with pytest.raises(ValueError, match="lacks the variables"):
        ca.satisfies_backdoor(g, "smoking", "cancer", ["diet"])
    with pytest.raises(ValueError, match="treatment or the outcome"):
        ca.satisfies_backdoor(g, "smoking", "cancer", ["smoking"])
    with pytest.raises(TypeError, match="DiGraph"):
        ca.satisfies_backdoor(nx.Graph([("a", "b")]), "a", "b", [])


def test_broken_front_door_adds_the_edge_and_biases_the_formula():
    broken = ca.smoking_scm(genotype_to_tar=2.0)
    assert broken.graph.has_edge("genotype", "tar") and not ca.smoking_scm().graph.has_edge("genotype", "tar")
    ok = ca.front_door_experiment(n=50_000, n_truth=100_000, seed=0)
    bad = ca.front_door_experiment(broken, n=50_000, n_truth=100_000, seed=0)
    assert ca.max_abs_error(ok, "front-door estimate") < 0.02 < 0.05 < ca.max_abs_error(bad, "front-door estimate")
    with pytest.raises(ValueError, match="column"):
        ca.max_abs_error(ok, "nope")


def test_experimental_se_is_the_published_one():
    assert ca.experimental_se(cd.load_nsw()) == pytest.approx(633, abs=1)


def test_regression_adjustment_matches_scikit_learn():
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(1)
    n = 500
    df = pd.DataFrame({"treat": (rng.random(n) < 0.3).astype(int), "age": rng.normal(30, 5, n), "educ": rng.integers(8, 16, n)})
    df["re78"] = 100 * df.age + 50 * df.educ + 700 * df.treat + rng.normal(0, 100, n)
    F = iv._features(df[["age", "educ"]].to_numpy(float), ["age", "educ"])
    t = df.treat.to_numpy()
    ref = LinearRegression().fit(F[t == 0], df.re78[t == 0])
    expected = float((df.re78[t == 1] - ref.predict(F[t == 1])).mean())
    assert ca.att_regression(df, covariates=["age", "educ"]) == pytest.approx(expected, rel=1e-6)


def test_propensity_trimming_and_bootstrap():
    rng = np.random.default_rng(0)
    n = 3000
    x = rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-2 * x))).astype(int)
    df = pd.DataFrame({"treat": t, "re78": 3.0 * x + 2.0 * t + rng.normal(scale=0.5, size=n), "age": x})
    e = ca.propensity_score(df, covariates=["age"])
    assert e.shape == (n,) and ((e > 0) & (e < 1)).all()
    assert ca.att_ipw(df, covariates=["age"], common_support=True) == pytest.approx(2.0, abs=0.3)
    lo, hi = ca.bootstrap_att_regression(df, covariates=["age"], reps=50, seed=0)
    assert lo < ca.att_regression(df, covariates=["age"]) < hi and lo < 2.0 < hi
    with pytest.raises(ValueError, match="level"):
        ca.bootstrap_att_regression(df, covariates=["age"], level=1.5)


def test_att_tarnet_takes_a_device_and_returns_a_number():
    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=n)
    t = (rng.random(n) < 0.4).astype(int)
    df = pd.DataFrame({"treat": t, "re78": 1000 * x + 500 * t, "age": x})
    est = ca.att_tarnet(df, covariates=["age"], steps=20, batch_size=64, device="cpu")
    assert isinstance(est, float) and np.isfinite(est)
    with pytest.raises(TypeError, match="device"):
        ca.att_tarnet(df, covariates=["age"], steps=2, device=3)


def test_runner_results_have_what_the_claims_read(monkeypatch):
    monkeypatch.setattr(iv, "att_tarnet", lambda *a, **k: 1794.0)  # the slow part
    res = iv.run(seed=0)
    assert set(res) >= {"front_door", "front_door_broken", "front_door_unconfounded", "nsw", "nsw_no_earnings",
                        "nsw_interval", "nsw_se", "nsw_randomized_error"}
    assert "TARNet (two-headed network)" not in res["nsw_no_earnings"].index
    from biaslab import claims as bc
    for c in bc.claims_of("causal.interventions"):
        assert np.isfinite(float(c.value(res)))
