"""What two or more sections of the chapter "Fairness: group metrics, the impossibility result, where bias lives, amplification," use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..validation import (
    check_binary,
    check_groups,
    check_same_length,
)

__all__ = [
    "ADULT_NUMERIC",
    "ADULT_CATEGORICAL",
    "adult_features",
    "equalized_odds_gap",
]


ADULT_NUMERIC = ("age", "education_num", "capital_gain", "capital_loss", "hours_per_week")


ADULT_CATEGORICAL = ("workclass", "marital_status", "occupation", "relationship", "native_country")


def _design_matrix(
    df: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str],
    transforms: dict[str, Callable[[Any], Any]], data_name: str, loader: str,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Shared body of the tabular feature builders: check columns, transform and standardize
    the numeric ones, one-hot encode the categorical ones."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in (*numeric, *categorical, "label") if c not in df.columns]
    if missing:
        raise ValueError(f"df lacks the {data_name} columns {missing}; load it with biaslab.datasets.{loader}()")
    num = df[list(numeric)].astype(float).copy()
    for col, fn in transforms.items():
        num[col] = fn(num[col])
    num = (num - num.mean()) / num.std()
    onehot = pd.get_dummies(df[list(categorical)].astype(str), dtype=float)
    X = pd.concat([num, onehot], axis=1)
    return X.to_numpy(dtype=np.float64), df["label"].to_numpy(dtype=int), list(X.columns)


def adult_features(
    df: pd.DataFrame, include_protected: bool = False
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Turn the Adult DataFrame into a numeric design matrix and labels.

    Numeric columns are standardized (capital gains and losses after ``log1p``); categorical
    columns are one-hot encoded. ``sex`` and ``race`` are left out unless
    ``include_protected`` is true; note that ``relationship`` (Husband/Wife) and
    ``marital_status`` remain, and they are strong proxies for ``sex``.

    Args:
        df: the output of :func:`biaslab.datasets.fairness_data.adult`.
        include_protected: also one-hot encode ``sex`` and ``race``.

    Returns:
        ``(X, y, feature_names)`` with ``X`` float64 of shape (n, d) and ``y`` int of shape (n,).
    """
    cats = list(ADULT_CATEGORICAL) + (["sex", "race"] if include_protected else [])
    return _design_matrix(df, ADULT_NUMERIC, cats, {"capital_gain": np.log1p, "capital_loss": np.log1p},
                          "Adult", "adult")


def equalized_odds_gap(y_true: Any, y_pred: Any, sensitive: Any) -> float:
    """Equalized-odds difference: the larger of the between-group TPR gap and FPR gap.

    Equals ``fairlearn.metrics.equalized_odds_difference``.

    Args:
        y_true: binary labels (0/1).
        y_pred: binary predictions (0/1), same length.
        sensitive: group label of each example (at least two groups), same length.

    Returns:
        The gap, in [0, 1].
    """
    y_true = check_binary(y_true, "y_true")
    y_pred = check_binary(y_pred, "y_pred")
    check_same_length(y_true=y_true, y_pred=y_pred)
    groups = check_groups(sensitive, "sensitive", len(y_true))
    tpr, fpr = [], []
    for g in np.unique(groups):
        m = groups == g
        pos, neg = m & (y_true == 1), m & (y_true == 0)
        if pos.sum() == 0 or neg.sum() == 0:
            raise ValueError(f"group {g!r} has no positive or no negative label: its error rates are undefined")
        tpr.append(y_pred[pos].mean())
        fpr.append(y_pred[neg].mean())
    return float(max(max(tpr) - min(tpr), max(fpr) - min(fpr)))


def _ce(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(out, y)
