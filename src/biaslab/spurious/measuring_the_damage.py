"""Section 2.2, Measuring the damage (``chapters/02_spurious_correlations/02_measuring_the_damage.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..plotting import get_axes
from ..validation import (
    check_positive_int,
)
from ._shared import (
    GroupData,
    _as_long,
    colored_digits,
    erm,
    features,
    group_accuracies,
)

__all__ = [
    "worst_group_accuracy",
    "group_table",
    "cluster_purity",
    "rho_sweep",
    "plot_group_accuracies",
]


def worst_group_accuracy(y_true, y_pred, groups) -> float:
    """The lowest accuracy over the groups present: the number ERM's average hides.

    Args:
        y_true, y_pred, groups: 1-D tensors, arrays or lists of equal length.

    Returns:
        ``min_g accuracy(g)``.
    """
    return min(group_accuracies(y_true, y_pred, groups).values())


def group_table(y_true, y_pred, groups, group_names: Sequence[str] | None = None) -> pd.DataFrame:
    """A per-group table: number of points, accuracy, and the row for all points.

    Args:
        y_true, y_pred, groups: 1-D tensors, arrays or lists of equal length.
        group_names: optional names indexed by group id.

    Returns:
        A DataFrame indexed by group (name if given) with columns ``n`` and ``accuracy``,
        plus a last row ``all``.
    """
    accs = group_accuracies(y_true, y_pred, groups)
    g = _as_long(groups, "groups")
    y_t, y_p = _as_long(y_true, "y_true"), _as_long(y_pred, "y_pred")
    if group_names is not None and len(group_names) <= int(g.max()):
        raise ValueError(f"group_names has {len(group_names)} names but group ids go up to {int(g.max())}")
    rows = {}
    for k, acc in accs.items():
        name = group_names[k] if group_names is not None else k
        rows[name] = {"n": int((g == k).sum()), "accuracy": acc}
    rows["all"] = {"n": len(g), "accuracy": float((y_t == y_p).float().mean())}
    df = pd.DataFrame(rows).T
    df["n"] = df["n"].astype(int)
    df.index.name = "group"
    return df


def cluster_purity(
    model: nn.Module, data: GroupData, n_clusters: int = 2, seed: int = 0
) -> dict[str, float]:
    """Cluster an ERM model's features within each class and compare with the hidden groups.

    Within each class, k-means (scikit-learn) splits the penultimate features into
    ``n_clusters`` clusters; the smaller cluster is the candidate minority group. Purity is
    the share of a cluster's points that belong to its most common true group, averaged over
    clusters weighted by size; recall is the share of each class's true minority points that
    fall in its smaller cluster.

    Args:
        model: a trained MLP (see :func:`features`).
        data: a split with group labels (used only to score the clusters).
        n_clusters: clusters per class.
        seed: seeds k-means.

    Returns:
        ``{"purity", "minority_recall", "minority_precision"}``.
    """
    from sklearn.cluster import KMeans

    n_clusters = check_positive_int(n_clusters, "n_clusters", minimum=2)
    Z = features(model, data.X).numpy()
    total, pure, hits, minority_total, small_total = 0, 0, 0, 0, 0
    for c in torch.unique(data.y).tolist():
        idx = np.flatnonzero(data.y.numpy() == c)
        labels = KMeans(n_clusters, n_init=10, random_state=seed).fit_predict(Z[idx])
        g = data.g.numpy()[idx]
        for k in range(n_clusters):
            members = g[labels == k]
            if len(members):
                pure += np.bincount(members).max()
                total += len(members)
        sizes = np.bincount(labels, minlength=n_clusters)
        small = labels == sizes.argmin()
        present, counts = np.unique(g, return_counts=True)
        minority_group = present[counts.argmin()] if len(present) > 1 else -1
        is_min = g == minority_group
        hits += int((small & is_min).sum())
        minority_total += int(is_min.sum())
        small_total += int(small.sum())
    return {
        "purity": float(pure / total),
        "minority_recall": hits / max(minority_total, 1),
        "minority_precision": hits / max(small_total, 1),
    }


def rho_sweep(
    rhos: Sequence[float] = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99),
    method: Callable[..., tuple[nn.Module, dict[str, float]]] | None = None,
    seed: int = 0,
    **kwargs,
) -> pd.DataFrame:
    """Train a method on colored digits at several strengths ``rho`` of the color shortcut.

    Args:
        rhos: training agreement rates between color and label.
        method: a method such as :func:`erm` (the default).
        seed: seeds data and training.
        **kwargs: passed to the method.

    Returns:
        A DataFrame indexed by ``rho`` with the method's metrics (``avg_acc``,
        ``worst_group_acc``, ``balanced_acc``, ``group_0`` ... ``group_3``).
    """
    if not rhos:
        raise ValueError("rhos must not be empty")
    method = erm if method is None else method
    if not callable(method):
        raise TypeError("method must be callable, e.g. biaslab.spurious.erm")
    rows = {}
    for rho in rhos:
        _, metrics = method(colored_digits(rho, seed=seed), seed=seed, **kwargs)
        rows[float(rho)] = {k: v for k, v in metrics.items() if isinstance(v, float)}
    df = pd.DataFrame(rows).T
    df.index.name = "rho"
    return df


def plot_group_accuracies(sweep: pd.DataFrame, group_names: Sequence[str] | None = None, ax=None):
    """Plot each group's test accuracy and the average accuracy against ``rho``.

    Args:
        sweep: the output of :func:`rho_sweep`.
        group_names: names of groups 0-3 for the legend.
        ax: optional axes.

    Returns:
        The axes.
    """
    ax = get_axes(ax)
    names = list(group_names) if group_names is not None else [f"group {k}" for k in range(4)]
    for k, name in enumerate(names):
        col = f"group_{k}"
        if col in sweep:
            ax.plot(sweep.index, sweep[col], marker="o", label=name)
    ax.plot(sweep.index, sweep["avg_acc"], color="black", ls="--", marker="s", label="average (in-distribution)")
    ax.set(xlabel="rho: P(color = label) in training", ylabel="test accuracy")
    ax.legend(loc="upper left", bbox_to_anchor=(1, 1))
    return ax
