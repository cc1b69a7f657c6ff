"""Section 1.6, Memorization and double descent (``chapters/01_inductive_bias/06_memorization.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from ..claims import Claim, Control, at_least
from ..core import make_mlp, resolve_device, train
from ..plotting import get_axes
from ..validation import (
    check_fraction,
    check_nonnegative,
    check_positive,
    check_positive_int,
)

__all__ = [
    "random_labels",
    "random_label_run",
    "steps_to_accuracy",
    "generalization_gap",
    "memorization_slowdown",
    "plot_random_labels",
    "random_features_double_descent",
    "peak_ratio",
    "plot_double_descent",
]


def random_labels(y: np.ndarray | torch.Tensor, n_classes: int = 10, seed: int = 0) -> np.ndarray:
    """Random labels that carry no information about the true ones, balanced within each class.

    Within every true class the new labels cycle through ``0 .. n_classes - 1`` in a random
    order, so each true class receives each random label equally often (up to rounding).
    Plain i.i.d. labels on a few hundred examples correlate with the true classes by chance,
    and a network that fits them can then score above chance on the test set.

    Args:
        y: integer labels in ``[0, n_classes)``, 1-D.
        n_classes: number of classes (>= 2).
        seed: seed of the shuffles.

    Returns:
        An int64 array of the same length as ``y``.
    """
    y = np.asarray(torch.as_tensor(y).cpu().numpy() if isinstance(y, torch.Tensor) else y)
    n_classes = check_positive_int(n_classes, "n_classes", 2)
    if y.ndim != 1 or len(y) == 0 or not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"y must be a non-empty 1-D array of integers in [0, {n_classes})")
    rng = np.random.default_rng(seed)
    out = np.empty(len(y), dtype=np.int64)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        lab = (np.arange(len(idx)) + rng.integers(n_classes)) % n_classes
        rng.shuffle(lab)
        out[idx] = lab
    return out


def random_label_run(
    corruption: str = "none",
    n_train: int = 1000,
    width: int = 512,
    depth: int = 2,
    lr: float = 1e-3,
    max_steps: int = 2000,
    stop_at: float = 0.99,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> pd.DataFrame:
    """Train an MLP on digits with true labels, random labels or random pixels, until it fits.

    ``n_train`` of scikit-learn's 8x8 digits (scaled to [0, 1]) form the training set and the
    rest the test set. ``"labels"`` replaces the training labels with :func:`random_labels`;
    ``"pixels"`` keeps the labels but shuffles the 64 pixels of every training image with its
    own random permutation; ``"renamed"`` renames the classes by one random permutation
    without fixed points, in the training and the test set alike (the labels keep all their
    information). A ReLU MLP (``depth`` hidden layers of ``width`` units) is trained full
    batch with Adam on cross-entropy, and training accuracy is recorded after every step until
    it reaches ``stop_at`` or ``max_steps`` steps have been taken.

    Args:
        corruption: ``"none"``, ``"labels"``, ``"pixels"`` or ``"renamed"``.
        n_train: training-set size (10 .. 1500).
        width, depth: MLP shape.
        lr: Adam learning rate.
        max_steps: the most steps to take.
        stop_at: stop once training accuracy reaches this level, in (0, 1].
        seed: seed of the split, the corruption and the weights.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        DataFrame with ``step``, ``train_acc`` (against the labels trained on) and
        ``test_acc`` (true labels of untouched test digits, renamed for ``"renamed"``; NaN
        for ``"pixels"``, whose images have no test counterpart).
    """
    from sklearn.datasets import load_digits

    if corruption not in ("none", "labels", "pixels", "renamed"):
        raise ValueError(f"corruption must be 'none', 'labels', 'pixels' or 'renamed', got {corruption!r}")
    n_train = check_positive_int(n_train, "n_train", 10)
    if n_train > 1500:
        raise ValueError(f"n_train must be <= 1500 to leave a test set, got {n_train}")
    max_steps = check_positive_int(max_steps, "max_steps")
    stop_at = check_fraction(stop_at, "stop_at")
    lr = check_positive(lr, "lr")
    device = resolve_device(device)
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(X))
    tr, te = perm[:n_train], perm[n_train:]
    Xtr, ytr, yte = X[tr].copy(), y[tr].copy(), y[te].copy()
    if corruption == "labels":
        ytr = random_labels(ytr, 10, seed=seed)
    elif corruption == "pixels":
        Xtr = np.stack([row[rng.permutation(X.shape[1])] for row in Xtr])
    elif corruption == "renamed":
        names = rng.permutation(10)
        while (names == np.arange(10)).any():
            names = rng.permutation(10)
        ytr, yte = names[ytr], names[yte]
    as_t = lambda a, dt=torch.float32: torch.as_tensor(a, dtype=dt, device=device)  # noqa: E731
    Xtr, ytr, Xte, yte = as_t(Xtr), as_t(ytr, torch.long), as_t(X[te]), as_t(yte, torch.long)
    torch.manual_seed(seed)
    model = make_mlp(64, 10, width=width, depth=depth).to(device)

    def accuracies(net: torch.nn.Module, step: int) -> dict[str, float]:
        train_acc = (net(Xtr).argmax(1) == ytr).float().mean().item()
        test_acc = float("nan") if corruption == "pixels" else (net(Xte).argmax(1) == yte).float().mean().item()
        return {"train_acc": train_acc, "test_acc": test_acc}

    history = train(model, Xtr, ytr, F.cross_entropy, steps=max_steps, lr=lr, eval_every=1,
                    eval_fn=accuracies, stop_when=lambda row: row["train_acc"] >= stop_at, device=device)
    return history[["step", "train_acc", "test_acc"]]


def steps_to_accuracy(history: pd.DataFrame, level: float = 0.95, column: str = "train_acc") -> float:
    """First step at which ``history[column]`` reaches ``level`` (``inf`` if never).

    Args:
        history: a DataFrame with a ``step`` column, e.g. from :func:`random_label_run`.
        level: the accuracy to reach, in (0, 1].
        column: the accuracy column.

    Returns:
        The step, as a float.
    """
    if not isinstance(history, pd.DataFrame) or column not in history or "step" not in history:
        raise ValueError(f"history must be a DataFrame with 'step' and {column!r} columns")
    level = check_fraction(level, "level")
    hit = history.loc[history[column] >= level, "step"]
    return float(hit.iloc[0]) if len(hit) else math.inf


def generalization_gap(history: pd.DataFrame) -> float:
    """Training accuracy minus test accuracy at the end of a run.

    Args:
        history: from :func:`random_label_run` (columns ``train_acc`` and ``test_acc``).

    Returns:
        ``train_acc - test_acc`` at the last step (about 0.9 for a network that memorizes
        random labels, near 0 for one that learns the digits).
    """
    if not isinstance(history, pd.DataFrame) or not {"train_acc", "test_acc"} <= set(history) or history.empty:
        raise ValueError("history must be a non-empty DataFrame with 'train_acc' and 'test_acc' columns")
    return float(history.train_acc.iloc[-1] - history.test_acc.iloc[-1])


def memorization_slowdown(runs: tuple[pd.DataFrame, pd.DataFrame], level: float = 0.95) -> float:
    """How many times longer one run takes than another to reach a training accuracy.

    Args:
        runs: ``(run, reference)``, both from :func:`random_label_run`.
        level: the training accuracy, in (0, 1].

    Returns:
        ``steps_to_accuracy(run) / steps_to_accuracy(reference)`` (``inf`` if ``run`` never
        gets there).
    """
    if not isinstance(runs, (tuple, list)) or len(runs) != 2:
        raise ValueError("runs must be a pair (run, reference) of histories")
    a, b = (steps_to_accuracy(h, level) for h in runs)
    if not b > 0:
        raise ValueError("the reference run reaches the level at step 0; the ratio is undefined")
    return float(a / b)


def plot_random_labels(histories: dict[str, pd.DataFrame], ax=None):
    """Training accuracy (solid) and test accuracy (dashed) against step, one colour per run.

    Args:
        histories: ``{label: history}`` from :func:`random_label_run`.
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.
    """
    if not histories:
        raise ValueError("histories must contain at least one run")
    ax = get_axes(ax)
    for i, (label, h) in enumerate(histories.items()):
        color = f"C{i}"
        ax.plot(h.step, h.train_acc, color=color, label=f"{label}: train")
        if h.test_acc.notna().any():
            ax.plot(h.step, h.test_acc, color=color, ls="--", label=f"{label}: test")
    ax.axhline(0.1, color="0.5", ls=":", label="chance (1/10)")
    ax.set_xlabel("step (full batch)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


def random_features_double_descent(
    n_features: Sequence[int] = (50, 100, 200, 300, 400, 600, 1000, 3000),
    n_train: int = 300,
    label_noise: float = 0.2,
    ridge: float = 1e-2,
    seed: int = 0,
) -> pd.DataFrame:
    """Test error of ReLU random-features ridge regression on digits, over the number of features.

    Inputs are scikit-learn's 8x8 digits scaled to [0, 1]; ``n_train`` of them form the
    training set, the rest the test set. A fraction ``label_noise`` of training labels is
    replaced by uniformly random digits. Features are ``relu(x W)`` with a Gaussian
    ``W`` of shape ``(64, N)`` (nested over ``N``: the first ``N`` columns of one draw), and
    one-hot targets are fitted by ridge regression (the minimum-norm solution as
    ``ridge -> 0``). The interpolation threshold is ``N = n_train``.

    Args:
        n_features: the values of ``N`` to sweep (positive, increasing).
        n_train: training-set size (10 .. 1500).
        label_noise: fraction of training labels replaced at random, in [0, 1).
        ridge: ridge penalty (> 0).
        seed: seed of the split, the noise and the features.

    Returns:
        DataFrame with ``n_features``, ``train_mse``, ``test_mse`` (squared error against
        one-hot labels, summed over classes) and ``test_error`` (misclassification rate).
    """
    from sklearn.datasets import load_digits

    ns = [check_positive_int(N, "each entry of n_features") for N in n_features]
    if not ns or sorted(ns) != ns:
        raise ValueError(f"n_features must be a non-empty increasing sequence, got {list(n_features)}")
    n_train = check_positive_int(n_train, "n_train", 10)
    if n_train > 1500:
        raise ValueError(f"n_train must be <= 1500 to leave a test set, got {n_train}")
    label_noise = check_nonnegative(label_noise, "label_noise")
    if label_noise >= 1:
        raise ValueError(f"label_noise must be in [0, 1), got {label_noise}")
    ridge = check_positive(ridge, "ridge")
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(X))
    tr, te = perm[:n_train], perm[n_train:]
    ytr = y[tr].copy()
    flip = rng.random(n_train) < label_noise
    ytr[flip] = rng.integers(0, 10, flip.sum())
    Y, Yte = np.eye(10)[ytr], np.eye(10)[y[te]]
    W = rng.standard_normal((X.shape[1], ns[-1])) / math.sqrt(X.shape[1])
    rows = []
    for N in ns:
        Ftr, Fte = np.maximum(X[tr] @ W[:, :N], 0), np.maximum(X[te] @ W[:, :N], 0)
        if N <= n_train:
            beta = np.linalg.solve(Ftr.T @ Ftr + ridge * np.eye(N), Ftr.T @ Y)
        else:
            beta = Ftr.T @ np.linalg.solve(Ftr @ Ftr.T + ridge * np.eye(n_train), Y)
        P, Ptr = Fte @ beta, Ftr @ beta
        rows.append({
            "n_features": N,
            "train_mse": float(((Ptr - Y) ** 2).sum(1).mean()),
            "test_mse": float(((P - Yte) ** 2).sum(1).mean()),
            "test_error": float((P.argmax(1) != y[te]).mean()),
        })
    return pd.DataFrame(rows)


def peak_ratio(curve: pd.DataFrame, column: str = "test_mse") -> float:
    """Height of the highest point of a sweep relative to the higher of its two end points.

    Args:
        curve: a sweep, e.g. from :func:`random_features_double_descent`, in sweep order.
        column: the error column.

    Returns:
        ``max(curve[column]) / max(first, last)``: 1 when the maximum is at an end (no
        interior peak), 2 when the peak is twice as high as both ends.
    """
    if not isinstance(curve, pd.DataFrame) or column not in curve or len(curve) < 3:
        raise ValueError(f"curve must be a DataFrame with a {column!r} column and at least 3 rows")
    v = curve[column].to_numpy(dtype=float)
    return float(v.max() / max(v[0], v[-1]))


def plot_double_descent(curves: dict[str, pd.DataFrame], n_train: int | None = None, column: str = "test_mse", ax=None):
    """Test error against the number of random features (log x-axis), one line per setting.

    Args:
        curves: ``{label: sweep}`` from :func:`random_features_double_descent`.
        n_train: draw the interpolation threshold ``N = n_train`` if given.
        column: the error column to plot.
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.
    """
    if not curves:
        raise ValueError("curves must contain at least one sweep")
    ax = get_axes(ax)
    for label, c in curves.items():
        ax.plot(c["n_features"], c[column], "o-", label=label)
    if n_train is not None:
        ax.axvline(n_train, color="0.5", ls=":", label="interpolation threshold (N = n)")
    ax.set_xscale("log")
    ax.set_xlabel("number of random features N (log scale)")
    ax.set_ylabel("test squared error" if column == "test_mse" else column)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


# --------------------------------------------------------------------------------------
# the section's runner and claims
# --------------------------------------------------------------------------------------
def run(seed: int = 0, device: torch.device | str | None = None) -> dict[str, object]:
    """Everything section 1.6 shows and checks, for one seed.

    Args:
        seed: seed of the splits, corruptions, features and weights.
        device: where to train the MLPs (``None``: the GPU when present, else the CPU).

    Returns:
        ``runs``: ``{name: random_label_run(...)}`` for ``"true labels"``, ``"random pixels"``
        and ``"random labels"`` (the MLP of two 512-unit layers on 1,000 digits);
        ``renamed``: the same MLP on true labels under renamed classes; ``noisy`` and ``clean``:
        :func:`random_features_double_descent` sweeps on 300 digits with ridge 1e-2, with 20%
        label noise and with clean labels.
    """
    return {
        "runs": {
            "true labels": random_label_run("none", seed=seed, device=device),
            "random pixels": random_label_run("pixels", seed=seed, device=device),
            "random labels": random_label_run("labels", seed=seed, device=device),
        },
        "renamed": random_label_run("renamed", seed=seed, device=device),
        "noisy": random_features_double_descent(n_train=300, label_noise=0.2, ridge=1e-2, seed=seed),
        "clean": random_features_double_descent(n_train=300, label_noise=0.0, ridge=1e-2, seed=seed),
    }


CLAIMS = (
    Claim(
        key="inductive_bias.memorization.random_labels",
        statement="The MLP memorizes random labels: at the end its training accuracy exceeds its test "
                  "accuracy by at least 0.8 (it fits 99% of the training set and tests near chance).",
        cite=("understanding_deep_learning",),
        paper_result="standard CIFAR-10 classifiers reach 100% training accuracy on completely random "
                     "labels, with unchanged architecture and hyperparameters, while test accuracy falls "
                     "to chance (and ImageNet classifiers fit random labels too)",
        paper_where="Sec. 2, Fig. 1a and Table 1",
        run=run,
        measure=generalization_gap,
        world=lambda r: r["runs"]["random labels"],
        predicate=at_least(0.8),
        controls=(Control("true labels",
                          "the same MLP on the true labels: it fits them as well and generalizes, so "
                          "there is no gap between training and test accuracy",
                          lambda r: r["runs"]["true labels"]),),
        note="accuracies after the last step; training stops at 99% training accuracy or 2,000 steps",
    ),
    Claim(
        key="inductive_bias.memorization.slowdown",
        statement="Fitting random labels takes at least 3 times as many steps as fitting the true labels "
                  "(to 95% training accuracy).",
        cite=("understanding_deep_learning",),
        paper_result="with random labels, training takes longer than with true labels, by a small "
                     "constant factor",
        paper_where="Sec. 2, Fig. 1a and 1b",
        run=run,
        measure=memorization_slowdown,
        world=lambda r: (r["runs"]["random labels"], r["runs"]["true labels"]),
        predicate=at_least(3.0),
        controls=(Control("renamed classes",
                          "true labels under a permutation of the class names: the labels change but "
                          "keep all their information, so there is nothing extra to memorize",
                          lambda r: (r["renamed"], r["runs"]["true labels"])),),
        note="steps to 95% training accuracy, full-batch Adam, ratio of the run to the true-label run",
    ),
    Claim(
        key="inductive_bias.memorization.double_descent",
        statement="With 20% label noise and ridge 1e-2, the test error of random-features regression "
                  "peaks near the interpolation threshold at least twice as high as at both ends of the "
                  "sweep over the number of features.",
        cite=("belkin_double_descent_2019",),
        paper_result="the test risk of random-Fourier-features regression (minimum-norm solution) on an "
                     "MNIST subset peaks at the interpolation threshold N = n and falls again beyond it",
        paper_where="Fig. 2",
        run=run,
        measure=peak_ratio,
        world=lambda r: r["noisy"],
        predicate=at_least(2.0),
        controls=(Control("clean labels",
                          "the same sweep and ridge on clean labels: with nothing wrong to fit, the "
                          "small ridge flattens the curve",
                          lambda r: r["clean"]),),
        note="peak ratio: highest test squared error over the higher of the two end points (N = 50 and "
             "N = 3,000); 300 training digits",
    ),
)
