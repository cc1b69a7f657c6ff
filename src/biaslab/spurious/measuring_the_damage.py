"""Section 2.2, Measuring the damage (``chapters/02_spurious_correlations/02_measuring_the_damage.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..claims import Claim, Control, at_least, at_most
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
    predict,
)

__all__ = [
    "worst_group_accuracy",
    "group_table",
    "minority_clusters",
    "minority_recovery",
    "shuffle_within_class",
    "rho_sweep",
    "plot_group_accuracies",
    "SWEEP_RHOS",
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


def minority_clusters(model: nn.Module, data: GroupData, n_clusters: int = 2, seed: int = 0) -> np.ndarray:
    """Cluster an ERM model's features within each class; the smaller cluster of each class is
    the candidate minority group. No group or attribute label is read.

    Within each class, the penultimate features (:func:`features`) are standardized (each
    unit to mean 0 and variance 1 over the class), k-means (scikit-learn) splits them into
    ``n_clusters`` clusters, and the points of the smallest cluster are flagged: the
    clustering approach of the hidden-stratification paper reduced to its core. Without the
    standardization a few high-variance units decide the clusters, and on some splits they
    follow the digits' shapes rather than the color the model relies on.

    Args:
        model: a trained MLP (see :func:`features`).
        data: a split; only ``X`` and the class labels ``y`` are used.
        n_clusters: clusters per class (>= 2).
        seed: seeds k-means.

    Returns:
        A boolean array, one entry per point: in the smallest cluster of its class.
    """
    from sklearn.cluster import KMeans

    n_clusters = check_positive_int(n_clusters, "n_clusters", minimum=2)
    Z = features(model, data.X).numpy()
    y = data.y.numpy()
    flagged = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        Zc = (Z[idx] - Z[idx].mean(0)) / (Z[idx].std(0) + 1e-6)
        labels = KMeans(n_clusters, n_init=10, random_state=seed).fit_predict(Zc)
        sizes = np.bincount(labels, minlength=n_clusters)
        flagged[idx] = labels == sizes.argmin()
    return flagged


def minority_recovery(flagged, data: GroupData) -> dict[str, float]:
    """Score flagged points against the true bias-conflicting points (attribute != label).

    Args:
        flagged: boolean array or tensor, one entry per point of ``data``.
        data: the split with its attribute ``a``.

    Returns:
        ``{"recall", "precision"}``: the share of bias-conflicting points that are flagged, and
        the share of flagged points that are bias-conflicting (0 when nothing is flagged).
    """
    flagged = np.asarray(flagged, dtype=bool)
    if flagged.shape != (len(data),):
        raise ValueError(f"flagged must have one entry per point ({len(data)}), got shape {flagged.shape}")
    conflict = (data.a != data.y).numpy()
    hits = int((flagged & conflict).sum())
    return {"recall": hits / max(int(conflict.sum()), 1), "precision": hits / max(int(flagged.sum()), 1)}


def shuffle_within_class(flagged, y, seed: int = 0) -> np.ndarray:
    """Random clusters of the same sizes: permute the flags among the points of each class.

    Args:
        flagged: boolean array, one entry per point.
        y: class labels, one per point.
        seed: seeds the permutation.

    Returns:
        A boolean array with as many flagged points per class as ``flagged``.
    """
    flagged = np.asarray(flagged, dtype=bool)
    y = _as_long(y, "y").numpy()
    if len(y) != len(flagged):
        raise ValueError(f"flagged and y must have the same length, got {len(flagged)} and {len(y)}")
    rng = np.random.default_rng(seed)
    out = flagged.copy()
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        out[idx] = flagged[rng.permutation(idx)]
    return out


def rho_sweep(
    rhos: Sequence[float] = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99),
    method: Callable[..., tuple[nn.Module, dict[str, float]]] | None = None,
    seed: int = 0,
    fixed_rho: float = 0.95,
    device: torch.device | str | None = None,
    return_models: bool = False,
    **kwargs,
):
    """Train a method on colored digits at several strengths ``rho`` of the color shortcut,
    and evaluate every model on the same two test sets.

    The images of every split depend on ``seed`` only; ``rho`` changes the colors. Each model's
    in-distribution accuracy is also measured on one *fixed* test set, colored at
    ``fixed_rho`` for every model, so that models are compared on equal terms (on its own
    rho-colored test set, a color-only model at rho = 0.99 scores 0.99); the balanced test
    split is the same for every ``rho`` anyway.

    Args:
        rhos: training agreement rates between color and label.
        method: a method such as :func:`erm` (the default).
        seed: seeds data and training.
        fixed_rho: the color agreement of the fixed in-distribution test set.
        device: where to train (``None``: the GPU when present, else the CPU).
        return_models: also return the trained models.
        **kwargs: passed to the method.

    Returns:
        A DataFrame indexed by ``rho`` with the method's metrics (``avg_acc`` on the model's own
        rho-colored test set, ``fixed_id_acc`` on the fixed one, ``worst_group_acc``,
        ``balanced_acc``, ``group_0`` ... ``group_3``); with ``return_models``, the pair
        ``(table, {rho: model})``.
    """
    if not rhos:
        raise ValueError("rhos must not be empty")
    method = erm if method is None else method
    if not callable(method):
        raise TypeError("method must be callable, e.g. biaslab.spurious.erm")
    fixed = colored_digits(fixed_rho, seed=seed).test_id
    rows, models = {}, {}
    for rho in rhos:
        model, metrics = method(colored_digits(rho, seed=seed), seed=seed, device=device, **kwargs)
        row = {k: v for k, v in metrics.items() if isinstance(v, float)}
        row["fixed_id_acc"] = float((predict(model, fixed.X) == fixed.y).float().mean())
        rows[float(rho)], models[float(rho)] = row, model
    df = pd.DataFrame(rows).T
    df.index.name = "rho"
    return (df, models) if return_models else df


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


# --------------------------------------------------------------------------------------
# the section's runner and its claims
# --------------------------------------------------------------------------------------
SWEEP_RHOS = (0.5, 0.8, 0.9, 0.95, 0.99)


def run(seed: int = 0, device: torch.device | str | None = None) -> dict:
    """Everything section 2.2 shows and checks, for one seed, the control worlds included.

    ERM (one hidden layer of 128 units, 300 full-batch Adam steps) is trained on colored
    digits at each rho of ``SWEEP_RHOS``; the rho = 0.95 model is the section's demo, the
    rho = 0.5 model (no shortcut) the control world of the accuracy gap. Clusters of the
    demo model's training features flag candidate minority points; the same number of
    randomly chosen points per class is the control world of the clustering.

    Args:
        seed: seeds data, training and k-means.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        ``{"sweep", "metrics", "control_metrics", "table", "recovery", "recovery_random"}``:
        the sweep table of :func:`rho_sweep`, the metrics of the rho = 0.95 and rho = 0.5
        models, the per-group table of the demo model (:func:`group_table`), and the
        :func:`minority_recovery` scores of the k-means clusters and of random clusters of
        the same sizes.
    """
    sweep, models = rho_sweep(SWEEP_RHOS, seed=seed, device=device, return_models=True)
    ds = colored_digits(0.95, seed=seed)
    model = models[0.95]
    flagged = minority_clusters(model, ds.train, seed=seed)
    return {
        "sweep": sweep,
        "metrics": sweep.loc[0.95].to_dict(),
        "control_metrics": sweep.loc[0.5].to_dict(),
        "table": group_table(ds.test.y, predict(model, ds.test.X), ds.test.g, ds.group_names),
        "recovery": minority_recovery(flagged, ds.train),
        "recovery_random": minority_recovery(shuffle_within_class(flagged, ds.train.y, seed), ds.train),
    }


def _gap(m: dict) -> float:
    return 100 * (m["avg_acc"] - m["worst_group_acc"])


CLAIMS = (
    Claim(
        key="spurious.measuring_the_damage.average_hides_worst_group",
        statement="At rho = 0.95, ERM's average (in-distribution) accuracy exceeds its worst-group accuracy "
                  "by at least 20 points.",
        cite=("hidden_stratification_causes", "liu_jtt_2021"),
        paper_result="ERM on Waterbirds: 97.3% average against 72.6% worst-group test accuracy; on CelebA 95.6% "
                     "against 47.2% (as reported by Liu et al.).",
        paper_where="Liu et al., Table 1",
        run=run,
        measure=_gap,
        predicate=at_least(20.0),
        world=lambda r: r["metrics"],
        controls=(Control("no shortcut (rho = 0.5)",
                          "the same ERM trained with color independent of the label", lambda r: r["control_metrics"]),),
        note="points of accuracy: average minus worst group",
    ),
    Claim(
        key="spurious.measuring_the_damage.clusters_find_minority",
        statement="Clustering the ERM model's features within each class recovers the bias-conflicting points: "
                  "the smaller cluster has recall and precision of at least 0.8 (the lower of the two is shown).",
        cite=("hidden_stratification_causes",),
        paper_result="Clustering a trained model's features is one of three ways the paper proposes to find hidden "
                     "strata without annotating them; it separates a poorly performing stratum on some of their "
                     "medical tasks, not on all (reported per task, no single number).",
        paper_where="Section 4, unsupervised clustering",
        run=run,
        measure=lambda w: min(w["recall"], w["precision"]),
        predicate=at_least(0.8),
        world=lambda r: r["recovery"],
        controls=(Control("random clusters",
                          "the same number of points per class, chosen at random", lambda r: r["recovery_random"]),),
        note="min(recall, precision) of the smaller cluster against the bias-conflicting points",
    ),
    Claim(
        key="spurious.measuring_the_damage.id_accuracy_uninformative",
        statement="On fixed test sets, the in-distribution accuracies of the five models of the sweep lie "
                  "within 5 points of each other, although their balanced accuracies fall from about 0.96 to 0.50.",
        cite=("id_ood_performance",),
        paper_result="Across models, ID and OOD accuracy are not always positively related: on several real data "
                     "sets the relation is flat or inverse, so ID accuracy can be a poor guide for model selection.",
        paper_where="Fig. 1",
        run=run,
        measure=lambda w: float(100 * (w["fixed_id_acc"].max() - w["fixed_id_acc"].min())),
        predicate=at_most(5.0),
        world=lambda r: r["sweep"],
        observation=True,
        note="spread (max - min, points) of the accuracy on the fixed rho = 0.95 test set across the five models",
    ),
)
