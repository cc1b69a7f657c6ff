"""Fairness: group metrics, the impossibility result, where bias lives, amplification,
removing information from representations, fair training objectives.

Group metrics and mitigation baselines come from ``fairlearn``; this module hand-writes
only what the chapter teaches (and tests it against fairlearn where they overlap).

See: chapters/03_fairness/index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .core import _check_positive_int

__all__ = [
    "adult_features",
    "demographic_parity_gap",
    "equalized_odds_gap",
    "group_metric_frame",
    "calibration_by_group",
    "error_rates_by_group",
    "calibration_gap",
    "plot_calibration_by_group",
    "plot_error_rates",
    "fit_group_thresholds",
]


# --------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------
def _as_1d(x: Any, name: str) -> np.ndarray:
    if isinstance(x, (pd.Series, pd.Index)):
        x = x.to_numpy()
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if len(arr) == 0:
        raise ValueError(f"{name} must not be empty")
    return arr


def _check_binary(x: Any, name: str) -> np.ndarray:
    arr = _as_1d(x, name)
    vals = set(np.unique(arr).tolist())
    if not vals <= {0, 1, True, False}:
        raise ValueError(f"{name} must hold only 0 and 1, got values {sorted(vals)[:5]}")
    return arr.astype(int)


def _check_probabilities(x: Any, name: str) -> np.ndarray:
    arr = _as_1d(x, name).astype(float)
    if np.isnan(arr).any() or arr.min() < 0 or arr.max() > 1:
        raise ValueError(f"{name} must hold probabilities in [0, 1], got range [{arr.min()}, {arr.max()}]")
    return arr


def _check_groups(x: Any, name: str, n: int) -> np.ndarray:
    arr = _as_1d(x, name)
    if len(arr) != n:
        raise ValueError(f"{name} must have the same length as the labels ({n}), got {len(arr)}")
    if len(np.unique(arr)) < 2:
        raise ValueError(f"{name} must contain at least two groups, got only {np.unique(arr).tolist()}")
    return arr


def _check_same_length(**arrays: np.ndarray) -> None:
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"arguments must have the same length, got {lengths}")


# --------------------------------------------------------------------------------------
# section 1: measuring (un)fairness on real data
# --------------------------------------------------------------------------------------
ADULT_NUMERIC = ("age", "education_num", "capital_gain", "capital_loss", "hours_per_week")
ADULT_CATEGORICAL = ("workclass", "marital_status", "occupation", "relationship", "native_country")


def adult_features(
    df: pd.DataFrame, include_protected: bool = False
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Turn the Adult DataFrame into a numeric design matrix and labels.

    Numeric columns are standardized (capital gains and losses after ``log1p``); categorical
    columns are one-hot encoded. ``sex`` and ``race`` are left out unless
    ``include_protected`` is true; note that ``relationship`` (Husband/Wife) and
    ``marital_status`` remain, and they are strong proxies for ``sex``.

    Args:
        df: the output of :func:`biaslab.datasets.adult`.
        include_protected: also one-hot encode ``sex`` and ``race``.

    Returns:
        ``(X, y, feature_names)`` with ``X`` float64 of shape (n, d) and ``y`` int of shape (n,).

    See: chapters/03_fairness/01_measuring_fairness.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in (*ADULT_NUMERIC, *ADULT_CATEGORICAL, "label") if c not in df.columns]
    if missing:
        raise ValueError(f"df lacks the Adult columns {missing}; load it with biaslab.datasets.adult()")
    num = df[list(ADULT_NUMERIC)].astype(float).copy()
    num["capital_gain"] = np.log1p(num["capital_gain"])
    num["capital_loss"] = np.log1p(num["capital_loss"])
    num = (num - num.mean()) / num.std()
    cats = list(ADULT_CATEGORICAL) + (["sex", "race"] if include_protected else [])
    onehot = pd.get_dummies(df[cats].astype(str), dtype=float)
    X = pd.concat([num, onehot], axis=1)
    return X.to_numpy(dtype=np.float64), df["label"].to_numpy(dtype=int), list(X.columns)


def demographic_parity_gap(y_pred: Any, sensitive: Any) -> float:
    """Largest difference in selection rate P(y_hat = 1 | group) between any two groups.

    Equals ``fairlearn.metrics.demographic_parity_difference``.

    Args:
        y_pred: binary predictions (0/1).
        sensitive: group label of each example (at least two groups).

    Returns:
        The gap, in [0, 1].

    See: chapters/03_fairness/01_measuring_fairness.
    """
    y_pred = _check_binary(y_pred, "y_pred")
    groups = _check_groups(sensitive, "sensitive", len(y_pred))
    rates = [y_pred[groups == g].mean() for g in np.unique(groups)]
    return float(max(rates) - min(rates))


def equalized_odds_gap(y_true: Any, y_pred: Any, sensitive: Any) -> float:
    """Equalized-odds difference: the larger of the between-group TPR gap and FPR gap.

    Equals ``fairlearn.metrics.equalized_odds_difference``.

    Args:
        y_true: binary labels (0/1).
        y_pred: binary predictions (0/1), same length.
        sensitive: group label of each example (at least two groups), same length.

    Returns:
        The gap, in [0, 1].

    See: chapters/03_fairness/01_measuring_fairness.
    """
    y_true = _check_binary(y_true, "y_true")
    y_pred = _check_binary(y_pred, "y_pred")
    _check_same_length(y_true=y_true, y_pred=y_pred)
    groups = _check_groups(sensitive, "sensitive", len(y_true))
    tpr, fpr = [], []
    for g in np.unique(groups):
        m = groups == g
        pos, neg = m & (y_true == 1), m & (y_true == 0)
        if pos.sum() == 0 or neg.sum() == 0:
            raise ValueError(f"group {g!r} has no positive or no negative label: its error rates are undefined")
        tpr.append(y_pred[pos].mean())
        fpr.append(y_pred[neg].mean())
    return float(max(max(tpr) - min(tpr), max(fpr) - min(fpr)))


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

    See: chapters/03_fairness/01_measuring_fairness.
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

    yt = _check_binary(y_true, "y_true")
    yp = _check_binary(y_pred, "y_pred")
    _check_same_length(y_true=yt, y_pred=yp)
    _check_groups(sensitive, "sensitive", len(yt))
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
        prob = _check_probabilities(y_prob, "y_prob")
        _check_same_length(y_true=yt, y_prob=prob)
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

    See: chapters/03_fairness/01_measuring_fairness.
    """
    yt = _check_binary(y_true, "y_true")
    prob = _check_probabilities(y_prob, "y_prob")
    _check_same_length(y_true=yt, y_prob=prob)
    groups = _check_groups(sensitive, "sensitive", len(yt))
    n_bins = _check_positive_int(n_bins, "n_bins", 2)
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

    See: chapters/03_fairness/01_measuring_fairness.
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

    See: chapters/03_fairness/01_measuring_fairness.
    """
    yt = _check_binary(y_true, "y_true")
    prob = _check_probabilities(y_prob, "y_prob")
    _check_same_length(y_true=yt, y_prob=prob)
    groups = _check_groups(sensitive, "sensitive", len(yt))
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

    See: chapters/03_fairness/01_measuring_fairness.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
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

    See: chapters/03_fairness/01_measuring_fairness.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
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

    See: chapters/03_fairness/01_measuring_fairness.
    """
    from fairlearn.postprocessing import ThresholdOptimizer

    yb = _check_binary(y, "y")
    _check_groups(sensitive, "sensitive", len(yb))
    if len(X) != len(yb):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(yb)}")
    opt = ThresholdOptimizer(
        estimator=estimator, constraints=constraints, prefit=True, predict_method="predict_proba"
    )
    opt.fit(X, yb, sensitive_features=sensitive)
    return opt
