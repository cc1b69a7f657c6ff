"""Section 3.1, Measuring (un)fairness on real data (``chapters/03_fairness/01_measuring_fairness.md``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..plotting import get_axes
from ..validation import (
    check_binary,
    check_groups,
    check_positive_int,
    check_probabilities,
    check_same_length,
)
from ._shared import _design_matrix

__all__ = [
    "GERMAN_NUMERIC",
    "GERMAN_CATEGORICAL",
    "german_features",
    "selection_gap_interval",
    "group_metric_frame",
    "calibration_by_group",
    "calibration_gap",
    "error_rates_by_group",
    "plot_calibration_by_group",
    "plot_error_rates",
    "fit_group_thresholds",
]


GERMAN_NUMERIC = ("duration", "credit_amount", "installment_rate", "residence_since", "existing_credits", "people_liable")


GERMAN_CATEGORICAL = (
    "checking_account", "credit_history", "purpose", "savings", "employment_since", "other_debtors",
    "property", "installment_plans", "housing", "job", "telephone", "foreign_worker",
)


def german_features(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Turn the German credit DataFrame into a numeric design matrix and labels.

    Numeric columns are standardized (``credit_amount`` after a log); categorical columns
    are one-hot encoded. The protected attributes and their sources (``age``,
    ``age_group``, ``sex``, ``personal_status``) are left out; ``employment_since``,
    ``housing`` and ``job`` remain and carry part of the age information.

    Args:
        df: the output of :func:`biaslab.datasets.fairness_data.german`.

    Returns:
        ``(X, y, feature_names)`` with ``X`` float64 of shape (n, d) and ``y`` int of shape
        (n,) (1 for good credit).
    """
    return _design_matrix(df, GERMAN_NUMERIC, GERMAN_CATEGORICAL, {"credit_amount": np.log},
                          "German credit", "german")


def selection_gap_interval(
    y_pred: Any, sensitive: Any, reference: Any, n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> dict[str, float]:
    """Selection-rate gap between a reference group and everyone else, with a bootstrap
    interval (people resampled with replacement), to show how noisy a gap on a small group is.

    Args:
        y_pred: binary predictions (0/1).
        sensitive: group label of each example, same length.
        reference: the group whose selection rate is subtracted from the others'.
        n_boot: bootstrap resamples.
        level: coverage of the percentile interval, in (0, 1).
        seed: seeds the resampling.

    Returns:
        ``{"gap": ..., "low": ..., "high": ...}``: the rate of the other groups minus the
        rate of ``reference``, and the interval's ends.
    """
    y_pred = check_binary(y_pred, "y_pred")
    groups = check_groups(sensitive, "sensitive", len(y_pred))
    n_boot = check_positive_int(n_boot, "n_boot")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    ref = groups == reference
    if not ref.any():
        raise ValueError(f"reference {reference!r} is not one of the groups in sensitive")
    rng = np.random.default_rng(seed)
    gaps = np.empty(n_boot)
    for b in range(n_boot):
        i = rng.integers(0, len(y_pred), len(y_pred))
        r, p = ref[i], y_pred[i]
        gaps[b] = p[~r].mean() - p[r].mean() if r.any() and (~r).any() else np.nan
    low, high = np.nanpercentile(gaps, [50 * (1 - level), 50 * (1 + level)])
    return {"gap": float(y_pred[~ref].mean() - y_pred[ref].mean()), "low": float(low), "high": float(high)}


def group_metric_frame(y_true: Any, y_pred: Any, sensitive: Any, y_prob: Any | None = None):
    """A fairlearn ``MetricFrame`` with the chapter's per-group metrics.

    Metrics: ``count``, ``base rate`` (mean label), ``selection rate``, ``accuracy``,
    ``TPR``, ``FPR``, ``FNR`` and, when scores are given, ``mean score`` (calibration in
    the large: compare it with the base rate).

    Args:
        y_true: binary labels.
        y_pred: binary predictions.
        sensitive: group labels (a Series keeps its name in the table).
        y_prob: optional predicted probabilities in [0, 1].

    Returns:
        A ``fairlearn.metrics.MetricFrame``; ``.by_group`` is the table, ``.difference()``
        the largest gap per metric.
    """
    from fairlearn.metrics import (
        MetricFrame,
        count,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score

    yt = check_binary(y_true, "y_true")
    yp = check_binary(y_pred, "y_pred")
    check_same_length(y_true=yt, y_pred=yp)
    check_groups(sensitive, "sensitive", len(yt))
    metrics: dict[str, Any] = {
        "count": count,
        "base rate": lambda t, p: float(np.mean(t)),
        "selection rate": selection_rate,
        "accuracy": accuracy_score,
        "TPR": true_positive_rate,
        "FPR": false_positive_rate,
        "FNR": false_negative_rate,
    }
    params = None
    if y_prob is not None:
        prob = check_probabilities(y_prob, "y_prob")
        check_same_length(y_true=yt, y_prob=prob)
        metrics["mean score"] = lambda t, p, s: float(np.mean(s))
        params = {"mean score": {"s": prob}}
    return MetricFrame(metrics=metrics, y_true=yt, y_pred=yp, sensitive_features=sensitive, sample_params=params)


def calibration_by_group(y_true: Any, y_prob: Any, sensitive: Any, n_bins: int = 10) -> pd.DataFrame:
    """Calibration curve of each group: observed positive rate per bin of predicted score.

    Args:
        y_true: binary labels.
        y_prob: scores in [0, 1] (for COMPAS deciles, pass ``decile / 10``).
        sensitive: group labels.
        n_bins: equal-width bins on [0, 1].

    Returns:
        A DataFrame with columns ``group``, ``bin``, ``mean score``, ``observed rate``,
        ``count`` (empty bins are dropped).
    """
    yt = check_binary(y_true, "y_true")
    prob = check_probabilities(y_prob, "y_prob")
    check_same_length(y_true=yt, y_prob=prob)
    groups = check_groups(sensitive, "sensitive", len(yt))
    n_bins = check_positive_int(n_bins, "n_bins", 2)
    bins = np.minimum((prob * n_bins).astype(int), n_bins - 1)
    df = pd.DataFrame({"group": groups, "bin": bins, "score": prob, "y": yt})
    out = df.groupby(["group", "bin"]).agg(mean_score=("score", "mean"), observed=("y", "mean"), count=("y", "size"))
    out = out.reset_index().rename(columns={"mean_score": "mean score", "observed": "observed rate"})
    return out


def calibration_gap(cal: pd.DataFrame, min_count: int = 20) -> float:
    """Count-weighted mean absolute difference in observed rate between two groups' calibration
    curves, over the bins both groups fill with at least ``min_count`` examples.

    Args:
        cal: the output of :func:`calibration_by_group` with exactly two groups.
        min_count: ignore bins with fewer examples in either group.

    Returns:
        The gap (0 when the two curves coincide).
    """
    if not isinstance(cal, pd.DataFrame) or not {"group", "bin", "observed rate", "count"} <= set(cal.columns):
        raise TypeError("cal must be the DataFrame returned by calibration_by_group")
    groups = cal["group"].unique()
    if len(groups) != 2:
        raise ValueError(f"cal must hold exactly two groups, got {list(groups)}")
    wide = cal.pivot(index="bin", columns="group", values=["observed rate", "count"]).dropna()
    ok = (wide["count"] >= min_count).all(axis=1)
    if not ok.any():
        raise ValueError("no bin holds min_count examples of both groups")
    wide = wide[ok]
    diff = (wide["observed rate"][groups[0]] - wide["observed rate"][groups[1]]).abs()
    weight = wide["count"].sum(axis=1)
    return float((diff * weight).sum() / weight.sum())


def error_rates_by_group(y_true: Any, y_prob: Any, sensitive: Any, threshold: float = 0.5) -> pd.DataFrame:
    """Base rate, FPR and FNR of each group when one threshold is applied to a score.

    Args:
        y_true: binary labels.
        y_prob: scores in [0, 1].
        sensitive: group labels.
        threshold: predict 1 when the score is >= threshold.

    Returns:
        A DataFrame indexed by group with ``base rate``, ``FPR``, ``FNR``, ``count``.
    """
    yt = check_binary(y_true, "y_true")
    prob = check_probabilities(y_prob, "y_prob")
    check_same_length(y_true=yt, y_prob=prob)
    groups = check_groups(sensitive, "sensitive", len(yt))
    pred = (prob >= threshold).astype(int)
    rows = {}
    for g in np.unique(groups):
        m = groups == g
        rows[g] = {
            "base rate": yt[m].mean(),
            "FPR": pred[m & (yt == 0)].mean(),
            "FNR": 1 - pred[m & (yt == 1)].mean(),
            "count": int(m.sum()),
        }
    out = pd.DataFrame(rows).T
    out["count"] = out["count"].astype(int)
    out.index.name = "group"
    return out


def plot_calibration_by_group(cal: pd.DataFrame, ax=None, title: str | None = None, min_count: int = 20):
    """Plot the output of :func:`calibration_by_group`: one curve per group and the diagonal.

    Args:
        cal: the calibration table.
        ax: matplotlib axes (a new figure when ``None``).
        title: the axes title.
        min_count: hide bins with fewer examples than this.

    Returns:
        The axes.
    """

    ax = get_axes(ax, figsize=(5, 4))
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="perfect calibration")
    for g, d in cal[cal["count"] >= min_count].groupby("group"):
        ax.plot(d["mean score"], d["observed rate"], marker="o", label=str(g))
    ax.set(xlabel="mean predicted score in bin", ylabel="observed positive rate", xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left", fontsize=9)
    if title:
        ax.set_title(title)
    return ax


def plot_error_rates(rates: pd.DataFrame, ax=None, title: str | None = None):
    """Bar chart of base rate, FPR and FNR per group (the output of :func:`error_rates_by_group`).

    Args:
        rates: the table.
        ax: matplotlib axes (a new figure when ``None``).
        title: the axes title.

    Returns:
        The axes.
    """

    ax = get_axes(ax, figsize=(5, 4))
    rates[["base rate", "FPR", "FNR"]].T.plot.bar(ax=ax, rot=0)
    ax.set(ylabel="rate", ylim=(0, 1))
    ax.legend(title=rates.index.name, fontsize=9)
    if title:
        ax.set_title(title)
    return ax


def fit_group_thresholds(
    estimator: Any,
    X: np.ndarray,
    y: Any,
    sensitive: Any,
    constraints: str = "equalized_odds",
    seed: int = 0,
):
    """Post-process a fitted classifier with group-specific (randomized) thresholds.

    A thin wrapper around ``fairlearn.postprocessing.ThresholdOptimizer`` with
    ``prefit=True`` and ``predict_method="predict_proba"``.

    Args:
        estimator: a fitted scikit-learn classifier with ``predict_proba``.
        X, y, sensitive: the data on which the thresholds are chosen (use data the
            estimator was not trained on, or the training data).
        constraints: ``"equalized_odds"``, ``"demographic_parity"``, ...
        seed: random state of the randomized thresholds at prediction time.

    Returns:
        The fitted ``ThresholdOptimizer``; predict with
        ``.predict(X, sensitive_features=..., random_state=seed)``.
    """
    from fairlearn.postprocessing import ThresholdOptimizer

    yb = check_binary(y, "y")
    check_groups(sensitive, "sensitive", len(yb))
    if len(X) != len(yb):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(yb)}")
    opt = ThresholdOptimizer(
        estimator=estimator, constraints=constraints, prefit=True, predict_method="predict_proba"
    )
    opt.fit(X, yb, sensitive_features=sensitive)
    return opt
