"""What two or more sections of the chapter "Fairness: group metrics, the impossibility result, where bias lives, amplification," use.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..validation import (
    check_binary,
    check_groups,
    check_same_length,
)

__all__ = [
    "equalized_odds_gap",
]


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
