"""Unit tests of biaslab.fairness and the chapter 3 data loaders."""

import numpy as np
import pandas as pd
import pytest
import torch
import biaslab.plotting
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


def test_german_loader():
    df = datasets.german()
    assert df.shape == (1000, 24)
    assert {"credit", "label", "sex", "age", "age_group", "personal_status", "purpose"} <= set(df.columns)
    assert df["label"].sum() == 700 and set(df["credit"]) == {"good", "bad"}
    assert df["sex"].value_counts().to_dict() == {"Male": 690, "Female": 310}
    assert (df["age_group"] == "under 25").sum() == 149
    assert not df.isna().any().any()
    assert set(datasets.GERMAN_PROTECTED) <= set(df.columns)


def test_german_features():
    X, y, names = datasets.german_features(datasets.german())
    assert X.shape == (1000, len(names)) and y.mean() == pytest.approx(0.7)
    assert not any(n.startswith(("age", "sex", "personal_status")) for n in names)
    assert np.isfinite(X).all()
    with pytest.raises(TypeError):
        datasets.german_features(X)
    with pytest.raises(ValueError, match="lacks"):
        datasets.german_features(datasets.german().drop(columns=["purpose"]))


def test_selection_gap_interval():
    rng = np.random.default_rng(0)
    g = np.array(["young"] * 200 + ["old"] * 800)
    pred = (rng.random(1000) < np.where(g == "young", 0.5, 0.8)).astype(int)
    r = fa.selection_gap_interval(pred, g, reference="young", n_boot=500, seed=0)
    assert r["gap"] == pytest.approx(pred[g == "old"].mean() - pred[g == "young"].mean())
    assert r["low"] < r["gap"] < r["high"] and r["low"] > 0.15
    assert r == fa.selection_gap_interval(pred, g, reference="young", n_boot=500, seed=0)
    flat = (rng.random(1000) < 0.7).astype(int)  # no gap in expectation: the interval covers zero
    r0 = fa.selection_gap_interval(flat, g, reference="young", n_boot=200, seed=1)
    assert r0["low"] < 0 < r0["high"]
    with pytest.raises(ValueError, match="n_boot"):
        fa.selection_gap_interval(pred, g, reference="young", n_boot=0)
    with pytest.raises(ValueError, match="reference"):
        fa.selection_gap_interval(pred, g, reference="middle")
    with pytest.raises(ValueError, match="level"):
        fa.selection_gap_interval(pred, g, reference="young", level=1.5)
    with pytest.raises(ValueError, match="sensitive"):
        fa.selection_gap_interval(pred, g[:10], reference="young")


def test_adult_features():
    df = datasets.adult().head(500)
    X, y, names = datasets.adult_features(df)
    assert X.shape[0] == 500 and X.shape[1] == len(names)
    assert not any(n.startswith("sex_") for n in names)
    X2, _, names2 = datasets.adult_features(df, include_protected=True)
    assert any(n.startswith("sex_") for n in names2)
    with pytest.raises(TypeError):
        datasets.adult_features(X)
    with pytest.raises(ValueError, match="lacks"):
        datasets.adult_features(df.drop(columns=["age"]))


# --- group metrics vs fairlearn ----------------------------------------------------------
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


# --- every hand-written group metric against fairlearn or scikit-learn, to 1e-12 ------------
def _metric_frame(metrics, y, pred, g, **kw):
    from fairlearn.metrics import MetricFrame

    return MetricFrame(metrics=metrics, y_true=y, y_pred=pred, sensitive_features=g, **kw)


def _edge_case_data():
    """Four groups: "a" has no positive label, "b" no positive prediction, "c" one positive and
    one negative person, "d" is ordinary."""
    rng = np.random.default_rng(5)
    g = np.array(["a"] * 40 + ["b"] * 40 + ["c"] * 2 + ["d"] * 200)
    y = np.concatenate([np.zeros(40, int), rng.integers(0, 2, 40), [0, 1], rng.integers(0, 2, 200)])
    prob = rng.random(len(g))
    prob[g == "b"] *= 0.49  # below the 0.5 threshold: no positive prediction in "b"
    return y, prob, g


def _assert_close(a, b):
    assert np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=0, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_parity_and_odds_gaps_equal_fairlearn_to_1e12(seed):
    rng = np.random.default_rng(seed)
    n = 500
    g = rng.choice(["a", "b", "c"], n)
    y = rng.integers(0, 2, n)
    p = (rng.random(n) < 0.3 + 0.3 * y + 0.1 * (g == "b")).astype(int)
    assert abs(fa.equalized_odds_gap(y, p, g) - equalized_odds_difference(y, p, sensitive_features=g)) < 1e-12
    assert abs(fa.demographic_parity_gap(p, g) - demographic_parity_difference(y, p, sensitive_features=g)) < 1e-12


def test_parity_and_odds_gaps_equal_fairlearn_on_edge_cases():
    y, prob, g = _edge_case_data()
    pred = (prob >= 0.5).astype(int)
    # every group defined for demographic parity, even one with no positive prediction or one of two people
    assert abs(fa.demographic_parity_gap(pred, g) - demographic_parity_difference(y, pred, sensitive_features=g)) < 1e-12
    keep = g != "a"  # equalized odds is undefined for "a", which has no positive label ...
    assert abs(fa.equalized_odds_gap(y[keep], pred[keep], g[keep])
               - equalized_odds_difference(y[keep], pred[keep], sensitive_features=g[keep])) < 1e-12
    with pytest.raises(ValueError, match="no positive"):  # ... which fairlearn would score with a TPR of 0
        fa.equalized_odds_gap(y, pred, g)


@pytest.mark.parametrize("edge", [False, True])
def test_error_rates_by_group_equal_metric_frame(edge):
    from fairlearn.metrics import count, false_negative_rate, false_positive_rate, selection_rate

    if edge:
        y, prob, g = _edge_case_data()
    else:
        rng = np.random.default_rng(3)
        g = rng.choice(["x", "y", "z"], 800)
        prob = rng.random(800)
        y = (rng.random(800) < prob * np.where(g == "x", 1.0, 0.7)).astype(int)
    rates = fa.error_rates_by_group(y, prob, g, threshold=0.5)
    pred = (prob >= 0.5).astype(int)
    mf = _metric_frame({"FPR": false_positive_rate, "FNR": false_negative_rate, "count": count}, y, pred, g)
    base = _metric_frame(selection_rate, y, y, g)  # the selection rate of the labels is the base rate
    _assert_close(rates["FPR"], mf.by_group["FPR"])
    _assert_close(rates["base rate"], base.by_group)
    assert rates["count"].tolist() == mf.by_group["count"].tolist()
    has_pos = rates.index != "a"  # fairlearn's FNR of a group with no positive label is 0, ours NaN
    _assert_close(rates["FNR"][has_pos], mf.by_group["FNR"][has_pos])
    if edge:
        assert np.isnan(rates.loc["a", "FNR"]) and mf.by_group.loc["a", "FNR"] == 0
        assert rates.loc["b", "FPR"] == 0 and rates.loc["b", "FNR"] == 1


def _assert_calibration_equals_sklearn(y, prob, g, n_bins=10):
    from sklearn.calibration import calibration_curve

    cal = fa.calibration_by_group(y, prob, g, n_bins=n_bins)
    for grp in np.unique(g):
        m = g == grp
        observed, predicted = calibration_curve(y[m], prob[m], n_bins=n_bins, strategy="uniform")
        ours = cal[cal["group"] == grp].sort_values("bin")
        _assert_close(ours["observed rate"], observed)
        _assert_close(ours["mean score"], predicted)
        assert ours["count"].sum() == m.sum()


@pytest.mark.parametrize("seed", [0, 1])
def test_calibration_by_group_equals_sklearn_calibration_curve(seed):
    rng = np.random.default_rng(seed)
    g = rng.choice(["p", "q"], 3000)
    prob = rng.random(3000) ** np.where(g == "p", 1.0, 2.0)
    y = (rng.random(3000) < prob).astype(int)
    _assert_calibration_equals_sklearn(y, prob, g)
    _assert_calibration_equals_sklearn(y, prob, g, n_bins=7)


def test_calibration_by_group_equals_sklearn_on_edge_cases_and_compas():
    y, prob, g = _edge_case_data()
    prob[g == "c"] = [0.61, 0.62]  # a group in a single bin; "a" has no positive label
    _assert_calibration_equals_sklearn(y, prob, g)
    c = datasets.compas()
    c = c[c["race"].isin(["African-American", "Caucasian"])]
    _assert_calibration_equals_sklearn(c["two_year_recid"].to_numpy(), ((c["decile_score"] - 0.5) / 10).to_numpy(),
                                       c["race"].to_numpy())


@pytest.mark.parametrize("edge", [False, True])
def test_worst_region_gap_equals_metric_frame_with_control_features(edge):
    from fairlearn.metrics import selection_rate

    rng = np.random.default_rng(4)
    n = 1500
    region = rng.integers(0, 4, n)
    s = rng.integers(0, 2, n)
    pred = (rng.random(n) < 0.4 + 0.1 * region * s).astype(int)
    if edge:  # in region 3 nobody with s = 1 is selected, and region 2 holds two people of s = 0
        pred[(region == 3) & (s == 1)] = 0
        keep = (region != 2) | (s == 1) | (np.cumsum((region == 2) & (s == 0)) <= 2)
        region, s, pred = region[keep], s[keep], pred[keep]
    worst, gaps = fa.worst_region_gap(pred, s, region)
    mf = _metric_frame(selection_rate, pred, pred, pd.Series(s, name="s"),
                       control_features=pd.Series(region, name="region"))
    signed = mf.by_group.unstack("s")
    _assert_close(gaps.sort_index(), (signed[1] - signed[0]).sort_index())
    _assert_close(gaps.abs().sort_index(), mf.difference().sort_index())  # the gap inside each region
    assert abs(worst - mf.difference().max()) < 1e-12
    if edge:
        assert abs(gaps.loc[3] + pred[(region == 3) & (s == 0)].mean()) < 1e-12


def test_rate_intervals_by_group_intersections():
    rng = np.random.default_rng(0)
    n = 1200
    frame = pd.DataFrame({"race": rng.choice(["r1", "r2"], n), "sex": rng.choice(["F", "M"], n)})
    y = rng.integers(0, 2, n)
    pred = (rng.random(n) < 0.2 + 0.5 * y + 0.2 * (frame["race"] == "r1")).astype(int)
    t = fa.rate_intervals_by_group(y, pred, frame, metric="FPR", n_boot=30, seed=0)
    assert list(t.columns) == ["count", "n", "FPR", "low", "high"] and t.index.names == ["race", "sex"]
    assert len(t) == 4 and t["count"].sum() == n and t["n"].sum() == (y == 0).sum()
    assert (t["low"] <= t["FPR"]).all() and (t["FPR"] <= t["high"]).all() and (t["low"] < t["high"]).all()
    crossed = frame["race"] + "/" + frame["sex"]  # the same rates as one column of crossed labels
    rates = fa.error_rates_by_group(y, pred.astype(float), crossed.to_numpy())
    _assert_close(t["FPR"].to_numpy(), rates.loc[[f"{r}/{s}" for r, s in t.index], "FPR"])
    pd.testing.assert_frame_equal(t, fa.rate_intervals_by_group(y, pred, frame, metric="FPR", n_boot=30, seed=0))
    one = fa.rate_intervals_by_group(y, pred, frame["race"], metric="selection rate", n_boot=30, seed=1)
    _assert_close(one["selection rate"], [pred[frame["race"] == r].mean() for r in one.index])
    assert one["n"].tolist() == one["count"].tolist()
    tpr = fa.rate_intervals_by_group(y, pred, frame["sex"].to_numpy(), metric="TPR", n_boot=30)
    fnr = fa.rate_intervals_by_group(y, pred, frame["sex"].to_numpy(), metric="FNR", n_boot=30)
    _assert_close(tpr["TPR"] + fnr["FNR"], np.ones(2))
    with pytest.raises(ValueError, match="metric"):
        fa.rate_intervals_by_group(y, pred, frame, metric="PPV")
    with pytest.raises(ValueError, match="level"):
        fa.rate_intervals_by_group(y, pred, frame, level=1.5)
    with pytest.raises(ValueError, match="n_boot"):
        fa.rate_intervals_by_group(y, pred, frame, n_boot=0)
    with pytest.raises(ValueError, match="sensitive"):
        fa.rate_intervals_by_group(y, pred, frame.iloc[:10])
    with pytest.raises(ValueError, match="sensitive"):
        fa.rate_intervals_by_group(y, pred, np.zeros(n))
    with pytest.raises(ValueError, match="y_pred"):
        fa.rate_intervals_by_group(y, pred + 1, frame)


def test_plot_intervals():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.choice(["u", "v"], 400), "b": rng.choice(["s", "t", "w"], 400)})
    y, pred = rng.integers(0, 2, 400), rng.integers(0, 2, 400)
    t = fa.rate_intervals_by_group(y, pred, frame, metric="TPR", n_boot=20)
    ax = biaslab.plotting.plot_intervals(t, title="TPR")
    assert len(ax.get_yticks()) == 6 and ax.get_xlabel() == "TPR" and ax.get_title() == "TPR"
    top = max(ax.get_yticklabels(), key=lambda lab: lab.get_position()[1])
    assert top.get_text() == f"u, s (n={t['n'].iloc[0]})"  # the table's first row on top
    plt.close(ax.figure)
    with pytest.raises(TypeError, match="columns count, n, low, high"):
        biaslab.plotting.plot_intervals(t.drop(columns="low"))
    with pytest.raises(ValueError, match="one rate column"):
        biaslab.plotting.plot_intervals(t.assign(extra=1.0))


def test_opposite_error_gap_and_its_controls():
    rates = pd.DataFrame({"base rate": [0.6, 0.4], "FPR": [0.4, 0.2], "FNR": [0.2, 0.5]}, index=["hi", "lo"])
    assert fa.opposite_error_gap(rates) == pytest.approx(0.2)  # min(0.4 - 0.2, 0.5 - 0.2)
    flipped = rates.assign(FPR=[0.1, 0.2])  # the high-base-rate group has the lower FPR
    assert fa.opposite_error_gap(flipped) == pytest.approx(-0.1)
    with pytest.raises(ValueError, match="two groups"):
        fa.opposite_error_gap(rates.iloc[:1])
    with pytest.raises(TypeError, match="error_rates_by_group"):
        fa.opposite_error_gap(rates.drop(columns="FNR"))


def test_within_group_percentile_breaks_calibration():
    rng = np.random.default_rng(0)
    n = 20000
    g = np.where(rng.random(n) < 0.5, "a", "b")
    prob = np.clip(rng.random(n) + np.where(g == "a", 0.2, -0.2), 0, 1)
    y = (rng.random(n) < prob).astype(int)  # calibrated, base rates differ
    normed = fa.within_group_percentile(prob, g, seed=0)
    for grp in ("a", "b"):  # uniform within each group, order kept
        v = normed[g == grp]
        assert v.min() > 0 and v.max() < 1 and abs(v.mean() - 0.5) < 1e-9
    pa, na = prob[g == "a"], normed[g == "a"]
    i = np.argsort(pa)
    assert np.all(np.diff(na[i])[np.diff(pa[i]) > 0] > 0)  # a higher score keeps a higher percentile
    assert fa.calibration_gap(fa.calibration_by_group(y, prob, g)) < 0.03
    assert fa.calibration_gap(fa.calibration_by_group(y, normed, g)) > 0.15


def test_shuffled_groups_keeps_sizes():
    g = np.array(["a"] * 30 + ["b"] * 70)
    s = fa.shuffled_groups(g, seed=1)
    assert (s == "a").sum() == 30 and not np.array_equal(s, g)
    assert np.array_equal(s, fa.shuffled_groups(g, seed=1))
    with pytest.raises(ValueError, match="1-D"):
        fa.shuffled_groups(np.zeros((2, 2)))

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


# --- section 2 ---------------------------------------------------------------------------
def test_attribute_task():
    t = fa.make_attribute_task(4000, 0.9, seed=0)
    assert t.X.shape == (4000, 16)
    assert abs((t.a == t.y).float().mean().item() - 0.9) < 0.02
    t2 = fa.make_attribute_task(4000, 0.5, seed=0)
    assert abs((t2.a == t2.y).float().mean().item() - 0.5) < 0.03
    with pytest.raises(ValueError, match="p_agree"):
        fa.make_attribute_task(10, 1.5)


def test_weat_on_constructed_embeddings():
    rng = np.random.default_rng(0)
    d = 20
    a_dir, b_dir = np.eye(d)[0], np.eye(d)[1]
    A = a_dir + 0.1 * rng.normal(size=(6, d))
    B = b_dir + 0.1 * rng.normal(size=(6, d))
    X = 0.5 * a_dir + rng.normal(size=(6, d)) * 0.3 + np.eye(d)[2]
    Y = 0.5 * b_dir + rng.normal(size=(6, d)) * 0.3 + np.eye(d)[2]
    r = fa.weat_test(X, Y, A, B, n_boot=200, seed=0)
    assert r["effect size"] > 1.5 and r["p-value"] < 0.01 and r["CI low"] > 0
    # swapping the targets flips the sign
    assert fa.weat_effect_size(Y, X, A, B) == pytest.approx(-r["effect size"])
    # targets that do not differ: no effect
    Z = rng.normal(size=(12, d))
    r0 = fa.weat_test(Z[:6], Z[6:], A, B, n_boot=50, seed=0)
    assert r0["p-value"] > 0.05
    s = fa.weat_association(X, A, B)
    assert s.shape == (6,) and (s > 0).all()


def test_weat_permutation_matches_brute_force():
    from itertools import combinations

    rng = np.random.default_rng(1)
    X, Y, A, B = (rng.normal(size=(4, 5)) for _ in range(4))
    s = fa.weat_association(np.vstack([X, Y]), A, B)
    obs = s[:4].sum() - s[4:].sum()
    count = sum(s[list(c)].sum() - np.delete(s, list(c)).sum() >= obs - 1e-12 for c in combinations(range(8), 4))
    assert fa.weat_test(X, Y, A, B, n_boot=10)["p-value"] == pytest.approx(count / 70)


def test_weat_bad_inputs():
    with pytest.raises(ValueError, match="same dimension"):
        fa.weat_effect_size(np.ones((3, 4)), np.ones((3, 5)), np.ones((3, 4)), np.ones((3, 4)))
    with pytest.raises(ValueError, match="2-D"):
        fa.weat_effect_size(np.ones(4), np.ones((3, 4)), np.ones((3, 4)), np.ones((3, 4)))


class _FakeEncoder:
    def encode(self, sentences, convert_to_numpy=True, normalize_embeddings=True):
        rng = np.random.default_rng(len(sentences))
        v = rng.normal(size=(len(sentences), 8))
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_embed_words():
    e = fa.embed_words(_FakeEncoder(), ["a", "b", "c"], ("This is {}.", "{} is here."))
    assert e.shape == (3, 8)
    assert np.allclose(np.linalg.norm(e, axis=1), 1)
    with pytest.raises(TypeError):
        fa.embed_words(_FakeEncoder(), "word")
    with pytest.raises(ValueError, match="templates"):
        fa.embed_words(_FakeEncoder(), ["a"], ("no slot",))


def test_weat_embeddings_resplit_and_table():
    emb = fa.weat_embeddings(_FakeEncoder())
    assert set(emb) == set(fa.WEAT_WORDS) and emb["male names"].shape == (8, 8)
    rng = np.random.default_rng(0)  # distinct random vectors (the fake encoder repeats itself)
    emb = {name: rng.normal(size=(len(words), 8)) for name, words in fa.WEAT_WORDS.items()}
    X, Y = emb["male names"], emb["female names"]
    Xr, Yr = fa.resplit_targets(X, Y, seed=0)
    assert Xr.shape == X.shape and Yr.shape == Y.shape
    pooled = np.concatenate([X, Y])
    assert sorted(map(tuple, np.concatenate([Xr, Yr]).round(12))) == sorted(map(tuple, pooled.round(12)))
    tab = fa.weat_table(emb, seed=0, n_boot=20)
    assert list(tab.index) == ["names", "gendered terms", "names re-split"]
    assert {"effect size", "p-value", "CI low", "CI high"} <= set(tab.columns) and tab.notna().all().all()
    with pytest.raises(ValueError, match="same dimension"):
        fa.resplit_targets(np.ones((3, 4)), np.ones((3, 5)))

# --- section 3 ---------------------------------------------------------------------------
def test_multi_attribute_data_has_no_single_skew():
    d = fa.make_multi_attribute_data(40000, p_same=(0.2, 0.8), seed=0)
    ba = fa.bias_amplification(d["attrs"], d["attrs"], d["g"])
    assert (ba["delta"] == 0).all()
    single = ba[ba["order"] == 1]
    assert (single["P_true"] - 0.5).abs().max() < 0.02
    pair = ba[(ba["order"] == 2) & (ba["group"] == 1)]["P_true"].iloc[0]
    assert abs(pair - 0.8) < 0.02


def test_multi_attribute_data_single_skew():
    d = fa.make_multi_attribute_data(40000, p_same=(0.5, 0.5), p_first=(0.2, 0.8), seed=0)
    a1, g = d["attrs"][:, 0], d["g"]
    assert abs(a1[g == 0].mean() - 0.2) < 0.02 and abs(a1[g == 1].mean() - 0.8) < 0.02
    assert abs(d["attrs"][:, 1].mean() - 0.5) < 0.02  # a2 agrees with a1 half of the time
    same = fa.make_multi_attribute_data(100, seed=3)  # the default keeps the unskewed data
    assert np.array_equal(same["attrs"], fa.make_multi_attribute_data(100, p_first=(0.5, 0.5), seed=3)["attrs"])
    with pytest.raises(ValueError, match="p_first"):
        fa.make_multi_attribute_data(10, p_first=(0.2, 1.5))

def test_bias_amplification_hand_example():
    # 4 examples; predictions add attribute a1 to the group-1 example that lacked it
    t = np.array([[1, 0], [1, 0], [0, 0], [0, 0]])
    p = np.array([[1, 0], [1, 0], [1, 0], [0, 0]])
    g = np.array([0, 1, 1, 0])
    ba = fa.bias_amplification(t, p, g, max_order=1).set_index(["set", "group"])
    assert ba.loc[("{a1}", 1), "P_true"] == pytest.approx(0.5)
    assert ba.loc[("{a1}", 1), "P_pred"] == pytest.approx(2 / 3)
    assert ba.loc[("{a1}", 0), "delta"] == pytest.approx(-ba.loc[("{a1}", 1), "delta"])
    with pytest.raises(ValueError, match="same shape"):
        fa.bias_amplification(t, p[:, :1], g)
    with pytest.raises(ValueError, match="two groups"):
        fa.bias_amplification(t, p, np.zeros(4, int))


def test_multilabel_roundtrip():
    d = fa.make_multi_attribute_data(3000, noise=0.1, seed=0)
    m = fa.train_multilabel(d["X"], d["attrs"], steps=200, seed=0)
    pred = fa.predict_multilabel(m, d["X"], 2)
    assert pred.shape == (3000, 2)
    assert (pred == d["attrs"]).all(1).mean() > 0.95


def test_feedback_loop_shapes_and_errors():
    h = fa.feedback_loop("sample", rounds=3, n_initial=200, n_per_round=200, n_test=1000, seed=0)
    assert list(h["round"]) == [0, 1, 2, 3]
    assert h["predicted rate"].between(0, 1).all()
    with pytest.raises(ValueError, match="labeling"):
        fa.feedback_loop("mode")


def test_feedback_loop_two_groups():
    from fairlearn.metrics import demographic_parity_difference

    from biaslab.fairness.amplification import _share_gap

    kw = dict(rounds=2, n_initial=2000, n_per_round=2000, n_test=5000, seed=0)
    one = fa.feedback_loop("argmax", **kw)
    assert "label gap" not in one  # one group: the original loop, unchanged
    h = fa.feedback_loop("argmax", minority_share=0.3, minority_base_rate=0.4, **kw)
    assert {"label gap", "predicted gap"} <= set(h.columns)
    assert h["label gap"].iloc[0] == pytest.approx(0.2, abs=0.05)  # round 0: people's labels only
    rng = np.random.default_rng(0)
    v, g = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    assert _share_gap(v, g) == pytest.approx(demographic_parity_difference(v, v, sensitive_features=g))
    with pytest.raises(ValueError, match="minority_base_rate"):
        fa.feedback_loop("argmax", minority_share=0.3, minority_base_rate=1.5, **kw)


def test_feedback_loop_measures():
    h = pd.DataFrame({"round": [0, 1, 2], "predicted rate": [0.5, 0.7, 0.65]})
    assert fa.lowest_output_rate(h) == pytest.approx(0.65)  # round 0 is left out
    assert fa.largest_drift(h, 0.6) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="retraining round"):
        fa.lowest_output_rate(h.iloc[:1])
    with pytest.raises(TypeError, match="feedback_loop"):
        fa.largest_drift(h.drop(columns="round"), 0.6)
    with pytest.raises(ValueError, match="base_rate"):
        fa.largest_drift(h, 1.5)


def test_amplification_experiment_keys():
    s = fa.amplification_experiment(seed=0, p_same=(0.5, 0.5))
    assert set(s) == {"single-attribute", "multi-attribute"} and s["multi-attribute"] < 0.05

# --- section 4 ---------------------------------------------------------------------------
def test_inlp_removes_a_planted_direction():
    rng = np.random.default_rng(0)
    n, d = 800, 10
    z = rng.integers(0, 2, n)
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, d))
    X[:, 0] += 3 * (2 * z - 1)  # attribute along e0
    X[:, 1] += 3 * (2 * y - 1)  # task along e1
    P, h = fa.inlp(X[:400], z[:400], X[400:], z[400:], n_iters=3, task=(y[:400], y[400:]))
    assert h["attribute probe"].iloc[0] > 0.95
    assert h["attribute probe"].iloc[-1] < 0.65
    assert h["task probe"].iloc[-1] > 0.95
    assert np.allclose(P, P.T) and np.allclose(P @ P, P)  # an orthogonal projection
    assert abs((P @ np.eye(d)[0])[0]) < 0.2  # e0 is (almost) removed


def test_task_loss_and_erasure_controls():
    h = pd.DataFrame({"iteration": [0, 1, 2], "task probe": [0.9, 0.85, 0.88]})
    assert fa.task_loss(h) == pytest.approx(0.05)
    with pytest.raises(TypeError, match="inlp"):
        fa.task_loss(h.drop(columns="task probe"))
    rng = np.random.default_rng(0)
    n, d = 800, 10
    z, y = rng.integers(0, 2, n), rng.integers(0, 2, n)
    X = rng.normal(size=(n, d))
    X[:, 0] += 3 * (2 * z - 1)
    X[:, 1] += 3 * (2 * y - 1)
    out = fa.erasure_experiment(X[:400], z[:400], X[400:], z[400:], y[:400], y[400:], n_iters=3, seed=0)
    assert out["random"] > 0.9  # three random directions of ten leave e0 readable
    assert out["shuffled"]["attribute probe"].iloc[0] < 0.65  # nothing to read in a shuffled attribute
    assert fa.task_loss(out["against_task"]) > 0.3  # INLP against the task removes it
    assert 0.4 < out["majority"] < 0.6 and out["mlp_shuffled"] < 0.65

def test_group_shift_data_and_mlp_representation():
    d = fa.make_group_shift_data(n=400, shift=2.5, seed=0)
    assert d["X"].shape == (400, 16) and d["X"].dtype == np.float32
    assert set(np.unique(d["y"])) == {0, 1} and set(np.unique(d["z"])) == {0, 1}
    # the group moves only the last eight features
    gap = d["X"][d["z"] == 1].mean(0) - d["X"][d["z"] == 0].mean(0)
    assert np.linalg.norm(gap[8:]) > 3 and np.linalg.norm(gap[:8]) < 1
    H, acc = fa.mlp_representation(d["X"], d["y"], np.arange(200), width=8, depth=1, steps=20, seed=0)
    assert H.shape == (400, 8) and (H >= 0).all() and 0 <= acc <= 1
    with pytest.raises(ValueError, match="shift"):
        fa.make_group_shift_data(shift=0)
    with pytest.raises(ValueError, match="X must"):
        fa.mlp_representation(d["X"], d["y"][:10], np.arange(5))


def test_random_nullspace_and_errors():
    P = fa.random_nullspace(6, 2, seed=0)
    assert np.allclose(P @ P, P) and np.isclose(np.trace(P), 4)
    assert np.allclose(fa.random_nullspace(4, 0), np.eye(4))
    with pytest.raises(ValueError, match="k must"):
        fa.random_nullspace(4, 4)
    X = np.zeros((10, 3))
    with pytest.raises(ValueError, match="two groups"):
        fa.inlp(X, np.zeros(10), X, np.zeros(10))
    with pytest.raises(ValueError, match="same width"):
        fa.inlp(X, np.arange(10) % 2, np.zeros((10, 4)), np.arange(10) % 2)


def test_gendered_sentences():
    df = fa.gendered_sentences()
    assert len(df) == 1024
    assert df["gender"].value_counts().to_dict() == {"female": 512, "male": 512}
    assert df["field"].nunique() == 4


def test_make_bios_skews_fields_by_gender():
    df = fa.make_bios(n=4000, seed=0)
    assert len(df) == 4000 and set(df["field"]) == set(fa.FEMALE_SHARE)
    share = df.groupby("field")["gender"].apply(lambda g: (g == "female").mean())
    assert share["health"] > 0.7 and share["technology"] < 0.3
    assert 0.45 < df["specific"].mean() < 0.55
    amb = df.loc[~df["specific"], "sentence"]
    assert amb.map(lambda t: any(a in t for a in fa.BIO_ACTIVITIES["any"])).all()
    with pytest.raises(ValueError):
        fa.make_bios(p_specific=1.5)


def test_tpr_gaps_against_hand_computed():
    y = np.array(["a", "a", "b", "b", "a", "b"])
    p = np.array(["a", "b", "b", "b", "a", "a"])
    g = np.array(["female", "female", "female", "male", "male", "male"])
    gaps = fa.tpr_gaps(y, p, g)
    # a: women 1/2, men 1/1; b: women 1/1, men 1/2
    assert gaps["a"] == pytest.approx(-0.5) and gaps["b"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="two values"):
        fa.tpr_gaps(y, p, np.array(["x"] * 6))


def test_occupation_experiment_table():
    bios = fa.make_bios(n=400, seed=0)
    rng = np.random.default_rng(0)
    codes = {s: rng.normal(size=32) for s in bios["sentence"].unique()}
    emb = np.stack([codes[s] for s in bios["sentence"]])
    out = fa.occupation_experiment(emb, bios, seed=0)
    assert list(out["table"].columns[:3]) == ["accuracy", "TPR gap RMS", "gender probe"]
    assert out["table"].shape[0] == 4 and out["gaps"].shape == (4, 4)
    assert np.allclose(out["table"]["TPR gap RMS"], np.sqrt((out["gaps"] ** 2).mean()))
    with pytest.raises(ValueError, match="one row per bio"):
        fa.occupation_experiment(emb[:10], bios)


def test_adult_proxies_experiment_keys():
    out = fa.adult_proxies_experiment(seed=0)
    assert {"history", "majority", "mlp", "mlp_shuffled", "accuracy"} <= set(out)
    assert len(out["history"]) == 21 and 0.5 < out["majority"] < 0.8


# --- section 5 ---------------------------------------------------------------------------
def test_grad_reverse():
    import torch

    x = torch.ones(3, requires_grad=True)
    fa.GradReverse.apply(x, 2.0).sum().backward()
    assert torch.allclose(x.grad, torch.full((3,), -2.0))


def test_adversarial_debiasing_reduces_parity_gap():
    rng = np.random.default_rng(0)
    n = 3000
    s = rng.integers(0, 2, n)
    X = np.c_[rng.normal(size=(n, 3)), s + 0.3 * rng.normal(size=n)]
    y = ((X[:, 0] + 1.5 * s + 0.5 * rng.normal(size=n)) > 0.75).astype(int)
    gap = {}
    for lam in (0.0, 5.0):
        p = fa.adversarial_debiasing(X, y, s, X, adversary_weight=lam, steps=400, seed=0)
        gap[lam] = fa.demographic_parity_gap((p >= 0.5).astype(int), s)
    assert gap[5.0] < 0.5 * gap[0.0], gap
    with pytest.raises(ValueError, match="adversary_weight"):
        fa.adversarial_debiasing(X, y, s, X, adversary_weight=-1)
    with pytest.raises(ValueError, match="same length"):
        fa.adversarial_debiasing(X, y, s[:10], X)


# --- section 6 ---------------------------------------------------------------------------
def test_svt_recovers_low_rank():
    d = fa.make_latent_twins(n_pairs=200, d=50, rank=3, noise=1.0, seed=0)
    den = fa.singular_value_threshold(d["X"], rank=3)
    assert np.mean((den - d["M"]) ** 2) < 0.5 * np.mean((d["X"] - d["M"]) ** 2)
    assert np.linalg.matrix_rank(den - d["X"].mean(0)) == 3
    with pytest.raises(ValueError, match="exactly one"):
        fa.singular_value_threshold(d["X"])
    with pytest.raises(ValueError, match="2-D"):
        fa.singular_value_threshold(np.ones(5), rank=1)


def test_latent_twins_noisy_labels():
    d = fa.make_latent_twins(n_pairs=400, d=50, rank=3, noise=1.0, seed=0, label_scale=3.0)
    n = 400
    assert np.array_equal(d["y"][:n], d["y"][n:])  # twins share the outcome
    hard = fa.make_latent_twins(n_pairs=400, d=50, rank=3, noise=1.0, seed=0)
    agree = (d["y"][:n] == hard["y"][:n]).mean()  # same latent score: mostly the same side
    assert 0.7 < agree < 0.98
    with pytest.raises(ValueError, match="label_scale"):
        fa.make_latent_twins(label_scale=0.0)


def test_twin_gap():
    assert fa.twin_gap([0.2, 0.5, 0.3, 0.5], [0, 1, 0, 1]) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="twice"):
        fa.twin_gap([0.2, 0.5, 0.3], [0, 1, 0])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fa.twin_gap([0.2, 1.5], [0, 0])


def test_stranger_pairs():
    twin = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    s = fa.stranger_pairs(twin, seed=0)
    assert np.array_equal(s[:4], twin[:4])  # first rows keep their pair
    assert sorted(s[4:]) == [0, 1, 2, 3] and not (s[4:] == twin[4:]).any()  # nobody with themselves
    # twins with identical predictions: gap 0 for twins, not for strangers
    prob = np.array([0.1, 0.4, 0.6, 0.9] * 2)
    assert fa.twin_gap(prob, twin) == 0 and fa.twin_gap(prob, s) > 0.2
    with pytest.raises(ValueError, match="twice"):
        fa.stranger_pairs([0, 0, 1])
    with pytest.raises(ValueError, match="two individuals"):
        fa.stranger_pairs([0, 0])


def test_svt_inductive_is_a_pca_reconstruction():
    from sklearn.decomposition import PCA

    d = fa.make_latent_twins(n_pairs=100, d=30, rank=3, noise=1.0, seed=1)
    fit = np.arange(200) % 3 != 0
    pca = PCA(3).fit(d["X"][fit])
    ours = fa.singular_value_threshold(d["X"], rank=3, fit_rows=fit)
    assert ours.shape == d["X"].shape
    assert np.allclose(ours, pca.inverse_transform(pca.transform(d["X"])))
    # with every row fitted it is the transductive SVT
    assert np.allclose(fa.singular_value_threshold(d["X"], rank=3, fit_rows=np.ones(200, bool)),
                       fa.singular_value_threshold(d["X"], rank=3))
    with pytest.raises(ValueError, match="fit_rows"):
        fa.singular_value_threshold(d["X"], rank=3, fit_rows=fit[:10])
    with pytest.raises(ValueError, match="fit_rows"):
        fa.singular_value_threshold(d["X"], rank=3, fit_rows=np.full(200, 2))


def test_twin_experiment():
    tw = fa.twin_experiment(seed=0)
    assert set(tw) == set(fa.TWIN_MODELS)
    assert set(tw["raw"]) == {"twin gap", "stranger gap", "twin / stranger", "error", "C"}
    assert tw["svt"]["twin gap"] < tw["raw"]["twin gap"]
    assert tw["raw, C by CV"]["C"] < 1  # 100 features for 150 people: the CV picks a strong penalty
    # the logistic regression on the inductive SVT reconstruction is the one on the PCA scores
    for col in ("twin gap", "error"):
        assert tw["SVT, inductive"][col] == pytest.approx(tw["PCA (3), inductive"][col], abs=1e-3)


def test_fit_linear_scm_recovers_the_structural_equations():
    scm = fa.make_fairness_scm(n=200_000, effect=1.5, seed=0)
    p = fa.fit_linear_scm(scm["X"], scm["A"])
    assert p["effect"] == pytest.approx(1.5, abs=0.02)
    assert p["var_k"] == pytest.approx(1.0, abs=0.02)
    assert p["var_e1"] == pytest.approx(0.25, abs=0.01) and p["var_e2"] == pytest.approx(0.25, abs=0.01)
    assert p["m1"] == pytest.approx(0.0, abs=0.02) and p["m2"] == pytest.approx(0.0, abs=0.02)
    wrong = fa.fit_linear_scm(scm["X"], scm["A"], a_affects_x1=False)
    assert wrong["effect"] == 0 and wrong["var_e1"] > p["var_e1"] + 0.5  # A's effect is taken for noise
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        fa.fit_linear_scm(scm["X"][:, :1], scm["A"])
    with pytest.raises(ValueError, match="A must hold only 0 and 1"):
        fa.fit_linear_scm(scm["X"][:5], [0, 1, 2, 0, 1])
    with pytest.raises(ValueError, match="same length"):
        fa.fit_linear_scm(scm["X"][:5], scm["A"][:4])
    with pytest.raises(ValueError, match="both values"):
        fa.fit_linear_scm(scm["X"][:5], np.zeros(5, int))


def test_abduct_latent_is_the_posterior_mean():
    scm = fa.make_fairness_scm(n=200_000, effect=1.0, seed=1)
    X, A, K = scm["X"], scm["A"], scm["K"]
    k_hat = fa.abduct_latent(fa.fit_linear_scm(X, A), X, A)
    assert k_hat.shape == (200_000,)
    # true model: var_k = 1, noise variances 0.25: E[K | x, a] = 4 (r1 + r2) / 9
    truth = 4 * ((X[:, 0] - A) + X[:, 1]) / 9
    assert np.abs(k_hat - truth).max() < 0.03
    # a posterior mean is calibrated: regressing K on it gives slope 1
    assert np.polyfit(k_hat, K, 1)[0] == pytest.approx(1.0, abs=0.01)
    # with the exact parameters it is the closed form, and invariant to flipping A with the true noises
    exact = {"m1": 0.0, "m2": 0.0, "effect": 1.0, "var_k": 1.0, "var_e1": 0.25, "var_e2": 0.25}
    assert np.allclose(fa.abduct_latent(exact, X, A), truth)
    assert np.allclose(fa.abduct_latent(exact, fa.counterfactual_flip(scm), 1 - A), truth)
    with pytest.raises(ValueError, match="params lacks the keys"):
        fa.abduct_latent({"m1": 0.0}, X, A)


def test_counterfactual_experiment():
    cf = fa.counterfactual_experiment(seed=0)
    assert set(cf) == {"naive", "X2 only", "level 2", "level 2, wrong graph", "data"}
    assert set(cf["naive"]) == {"accuracy", "cf change", "selection gap"}
    assert cf["X2 only"]["cf change"] < 1e-12  # level 1: invariant by construction
    assert cf["level 2"]["cf change"] < 0.02 < cf["level 2, wrong graph"]["cf change"]
    assert cf["level 2"]["accuracy"] > cf["X2 only"]["accuracy"]
    assert cf["naive"]["selection gap"] > cf["level 2"]["selection gap"]
    assert cf["data"]["fitted effect"] == pytest.approx(1.0, abs=0.15)
    no = fa.counterfactual_experiment(seed=0, effect=0.0)
    assert no["naive"]["cf change"] < 1e-12


def test_selection_gap_matches_a_hand_count():
    """The experiment's selection gap is fairlearn's demographic_parity_difference: check it
    against a count by hand on the naive model's predictions."""
    from fairlearn.metrics import demographic_parity_difference
    from sklearn.linear_model import LogisticRegression

    scm = fa.make_fairness_scm(n=5000, effect=1.0, seed=0)
    X, A, Y = scm["X"], scm["A"], scm["Y"]
    pred = LogisticRegression().fit(X[:2500], Y[:2500]).predict(X[2500:])
    a = A[2500:]
    by_hand = abs(pred[a == 1].mean() - pred[a == 0].mean())
    assert demographic_parity_difference(Y[2500:], pred, sensitive_features=a) == pytest.approx(by_hand)
    assert fa.counterfactual_experiment(seed=0)["naive"]["selection gap"] == pytest.approx(by_hand)


def test_counterfactual_flip():
    scm = fa.make_fairness_scm(n=100, seed=0)
    cf = fa.counterfactual_flip(scm)
    # X1 moves by +-effect, X2 is not a descendant of A and stays
    assert np.allclose(cf[:, 0] - scm["X"][:, 0], (1 - 2 * scm["A"]) * 1.0)
    assert np.allclose(cf[:, 1], scm["X"][:, 1])
    # flipping twice returns the factual world
    twice = fa.counterfactual_flip({**scm, "A": 1 - scm["A"]})
    assert np.allclose(twice, scm["X"])


def test_explanation_fidelity_surrogates():
    r = fa.explanation_fidelity_gap(0, n=1000, steps=150, seed=0)
    assert set(r) == set(fa.SURROGATES)
    assert r["x only"]["fidelity majority"] > 0.9 and abs(r["x only"]["gap"]) < 0.05
    shifted = fa.explanation_fidelity_gap(90, n=1000, steps=150, seed=0)
    # the group as an input shifts the surrogate's boundary but cannot rotate it; per-group surrogates can
    assert shifted["x and group"]["gap"] > 0.15 and abs(shifted["per group"]["gap"]) < 0.05
    with pytest.raises(ValueError, match="n must be >= 50"):
        fa.explanation_fidelity_gap(0, n=10)


# --- local fairness (ROAD) ---------------------------------------------------------------
def test_gap_ratio_and_worst_region_reduction():
    assert fa.gap_ratio({"DP gap": 0.2}, {"DP gap": 0.05}) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="positive"):
        fa.gap_ratio({"DP gap": 0.0}, {"DP gap": 0.05})
    curves = pd.DataFrame({
        "method": ["global", "global", "ROAD"], "adversary weight": [0.0, 1.0, 1.0],
        "DP gap": [0.2, 0.0, 0.1], "worst-region gap": [0.4, 0.2, 0.15],
    })
    # the global curve at DP gap 0.1 has a worst-region gap of 0.3; ROAD's is 0.15
    assert fa.worst_region_reduction(curves) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no ROAD run"):
        fa.worst_region_reduction(curves, road_weight=3.0)


def test_regional_bias_data_and_worst_region_gap():
    d = fa.make_regional_bias_data(4000, seed=0)
    assert d["X"].shape == (4000, 8) and set(np.unique(d["region"])) == {0, 1, 2, 3}
    assert abs((d["region"] == 0).mean() - 0.1) < 0.02
    assert d["y"][(d["region"] == 0) & (d["s"] == 1)].mean() - d["y"][(d["region"] == 0) & (d["s"] == 0)].mean() > 0.25
    worst, gaps = fa.worst_region_gap(d["y"], d["s"], d["region"])
    assert worst == pytest.approx(gaps.abs().max()) and gaps.idxmax() == 0
    with pytest.raises(ValueError, match="region_probs"):
        fa.make_regional_bias_data(100, region_probs=(0.5, 0.6))
    with pytest.raises(ValueError, match="region_bias"):
        fa.make_regional_bias_data(100, region_probs=(0.5, 0.5), region_bias=(1.0,))
    with pytest.raises(ValueError, match="only one group"):
        fa.worst_region_gap([0, 1, 1, 0], [1, 1, 0, 1], [0, 0, 1, 1])


def test_road_debiasing_weights_and_errors():
    torch.set_num_threads(1)
    d = fa.make_regional_bias_data(2000, seed=0)
    prob, w = fa.road_debiasing(d["X"], d["y"], d["s"], d["X"][:10], adversary_weight=1.0, temperature=0.01,
                                weight_columns=[0, 4, 5, 6, 7], steps=60, warmup=20, seed=0)
    assert prob.shape == (10,) and np.all((prob >= 0) & (prob <= 1))
    for g in (0, 1):  # ROAD's validity constraint: mean weight 1 inside each group
        assert w[d["s"] == g].mean() == pytest.approx(1.0, abs=1e-4)
    _, w_global = fa.road_debiasing(d["X"], d["y"], d["s"], d["X"][:10], temperature=None, steps=30, warmup=10)
    assert np.all(w_global == 1)
    with pytest.raises(ValueError, match="temperature"):
        fa.road_debiasing(d["X"], d["y"], d["s"], d["X"], temperature=0.0)
    with pytest.raises(ValueError, match="weight_columns"):
        fa.road_debiasing(d["X"], d["y"], d["s"], d["X"], weight_columns=[99])
    with pytest.raises(ValueError, match="s_train"):
        fa.road_debiasing(d["X"], d["y"], np.zeros(2000, int), d["X"])
    with pytest.raises(ValueError, match="warmup"):
        fa.road_debiasing(d["X"], d["y"], d["s"], d["X"], steps=10, warmup=20)


def test_region_balanced_weights():
    region = np.array([0, 1, 1, 1, 0, 1, 1, 1, 1, 1])
    s = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    w = fa.region_balanced_weights(region, s)
    for g in (0, 1):  # mean 1 in each group, and each region carries half of its group's weight
        assert w[s == g].mean() == pytest.approx(1.0)
        for k in (0, 1):
            assert w[(s == g) & (region == k)].sum() == pytest.approx(w[s == g].sum() / 2)
    assert w[0] == pytest.approx(2.0) and w[4] == pytest.approx(3.0)  # 1 of 4 and 1 of 6 people
    with pytest.raises(ValueError, match="both groups"):
        fa.region_balanced_weights([0, 1, 1], [0, 0, 1])


def test_road_debiasing_fixed_weights():
    torch.set_num_threads(1)
    d = fa.make_regional_bias_data(2000, seed=0)
    w_in = fa.region_balanced_weights(d["region"], d["s"])
    kw = dict(adversary_weight=1.0, temperature=None, steps=30, warmup=10, seed=0)
    _, w = fa.road_debiasing(d["X"], d["y"], d["s"], d["X"][:10], example_weights=3 * w_in, **kw)
    assert np.allclose(w, w_in, atol=1e-5)  # rescaled to mean 1 within each group
    p_plain, _ = fa.road_debiasing(d["X"], d["y"], d["s"], d["X"][:50], **kw)
    p_ones, _ = fa.road_debiasing(d["X"], d["y"], d["s"], d["X"][:50], example_weights=np.ones(2000), **kw)
    assert np.allclose(p_plain, p_ones)  # all-ones weights are the global adversary
    with pytest.raises(ValueError, match="temperature=None"):
        fa.road_debiasing(d["X"], d["y"], d["s"], d["X"], temperature=0.01, example_weights=w_in)
    with pytest.raises(ValueError, match="example_weights"):
        fa.road_debiasing(d["X"], d["y"], d["s"], d["X"], temperature=None, example_weights=-w_in)


def test_matched_gap_along_the_balanced_curve():
    curves = pd.DataFrame({
        "method": ["global", "global", "ROAD", "region-balanced"], "adversary weight": [0.0, 1.0, 1.0, 3.0],
        "DP gap": [0.2, 0.0, 0.1, 0.0], "worst-region gap": [0.4, 0.2, 0.15, 0.1],
    })
    # the balanced curve runs from plain training (0.2, 0.4) to (0.0, 0.1): 0.25 at a gap of 0.1
    assert fa.matched_worst_gap(curves, 0.1, method="region-balanced") == pytest.approx(0.25)
    assert fa.worst_region_reduction(curves, against="region-balanced") == pytest.approx(0.4)
    # the balanced run against the global curve at its gap 0: 1 - 0.1 / 0.2
    assert fa.worst_region_reduction(curves, 3.0, method="region-balanced") == pytest.approx(0.5)


def test_fairlearn_adversary_agrees_with_ours_on_adult():
    """The library's adversary (same sizes, budget and rows) also shrinks the parity gap."""
    from sklearn.model_selection import train_test_split

    torch.set_num_threads(1)
    adult = datasets.adult()
    X, y, _ = datasets.adult_features(adult)
    s = (adult["sex"] == "Female").astype(int).to_numpy()
    tr, te = train_test_split(np.arange(len(y)), test_size=0.5, random_state=0, stratify=y)
    lib = fa.fairlearn_adversary_points(X[tr], y[tr], s[tr], X[te], y[te], s[te], alphas=(0.0, 1.0), seed=0)
    assert list(lib.columns) == ["alpha", "accuracy", "DP gap"] and len(lib) == 2
    ours = [fa.demographic_parity_gap((fa.adversarial_debiasing(X[tr], y[tr], s[tr], X[te], adversary_weight=lam,
                                                                seed=0) >= 0.5).astype(int), s[te]) for lam in (0.0, 3.0)]
    assert lib["DP gap"][1] < 0.6 * lib["DP gap"][0] and ours[1] < 0.6 * ours[0]
    assert abs(lib["DP gap"][0] - ours[0]) < 0.05 and abs(lib["accuracy"][0] - lib["accuracy"][1]) < 0.03
    with pytest.raises(ValueError, match="alpha"):
        fa.fairlearn_adversary_points(X[:100], y[:100], s[:100], X[:10], y[:10], s[:10], alphas=(-1.0,))


def test_pretrain_finetune_rows_and_controls():
    kw = dict(n_pretrain=600, n_finetune=200, n_test=1000, pretrain_steps=40, finetune_steps=30, seed=1)
    plain = fa.pretrain_finetune(**kw)
    assert list(plain.index) == ["pretrained", "balanced", "biased"]
    assert list(plain.columns) == ["EO gap", "accuracy"]
    full = fa.pretrain_finetune(controls=True, **kw)
    assert list(full.index) == ["pretrained", "balanced", "biased", "from scratch: balanced", "head only: balanced",
                                "from scratch: biased", "head only: biased"]
    # the controls are trained after the fine-tunes and change none of their rows
    pd.testing.assert_frame_equal(full.loc[plain.index], plain)
    assert ((full >= 0) & (full <= 1)).all().all()
    with pytest.raises(TypeError, match="finetune_sets"):
        fa.pretrain_finetune(finetune_sets={}, **kw)
    with pytest.raises(ValueError, match="finetune_lr"):
        fa.pretrain_finetune(finetune_lr=0, **kw)
