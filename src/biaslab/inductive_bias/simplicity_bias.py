"""Section 1.4, Simplicity bias: the simplest function that fits (``chapters/01_inductive_bias/04_simplicity_bias.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from ..claims import Claim, Control, at_least, at_most
from ..core import make_mlp, resolve_device, train
from ..plotting import get_axes
from ..validation import (
    check_nonnegative,
    check_positive,
    check_positive_int,
)

__all__ = [
    "boolean_cube",
    "gotu_run",
    "min_degree_error",
    "plot_gotu",
    "ShiftedDigits",
    "shifted_digits",
    "moment_clones",
    "distributional_simplicity_run",
    "early_clone_gap",
    "late_divergence",
    "plot_distributional_simplicity",
]


def boolean_cube(n_bits: int) -> torch.Tensor:
    """All ``2**n_bits`` points of the Boolean cube ``{-1, +1}^n_bits``.

    Args:
        n_bits: number of bits, 1 to 16.

    Returns:
        Tensor of shape ``(2**n_bits, n_bits)`` with entries -1 or +1.
    """
    n_bits = check_positive_int(n_bits, "n_bits")
    if n_bits > 16:
        raise ValueError(f"n_bits must be <= 16 (the cube is enumerated), got {n_bits}")
    idx = torch.arange(2**n_bits).unsqueeze(1)
    bits = (idx >> torch.arange(n_bits - 1, -1, -1)) & 1
    return bits.float() * 2 - 1


def gotu_run(
    n_bits: int = 10,
    target_bits: Sequence[int] = (0, 1, 2),
    frozen_bit: int = 2,
    frozen_value: float = 1.0,
    steps: int = 300,
    width: int = 1024,
    depth: int = 2,
    lr: float = 1e-3,
    activation: str = "relu",
    seed: int = 0,
    device: torch.device | str | None = None,
) -> dict[str, object]:
    """Train on half the Boolean cube (one bit frozen) and test on the unseen half.

    The target is the monomial ``prod_{i in target_bits} x_i``. Training uses every input
    with ``x[frozen_bit] == frozen_value``; on those inputs the target equals
    ``frozen_value * prod_{i in target_bits, i != frozen_bit} x_i``, a monomial of lower degree.
    On the unseen half the true target has the opposite sign, while the *minimum-degree
    interpolant* of the training data is that lower-degree monomial.

    Args:
        n_bits: input dimension.
        target_bits: indices of the bits multiplied in the target.
        frozen_bit: the bit held fixed during training (one of ``target_bits``).
        frozen_value: its training value, -1 or +1.
        steps, width, depth, lr, activation: full-batch Adam on the mean squared error.
            Flipping a bit outside ``target_bits`` leaves the training data unchanged, and
            flipping another target bit negates the target; the initialization and Adam
            respect these flips, so only the random features of a finite width let the
            unseen-half prediction pick up anything but a multiple of the minimum-degree
            interpolant. That deviation shrinks with ``width``: with two hidden layers of
            256 units the correlation fell to 0.93 for one of seeds 0-7, with 1,024 units it
            stays >= 0.98.
        seed: initialization seed.
        device: where to train (``None``: the GPU when present).

    Returns:
        ``{"train_mse", "unseen_mse", "corr_min_degree", "pred_unseen", "min_degree_unseen",
        "target_unseen"}``; ``corr_min_degree`` is the correlation, on the unseen half, between
        the network's prediction and the minimum-degree interpolant.
    """
    X = boolean_cube(n_bits)
    target_bits = [int(check_nonnegative(i, "each entry of target_bits")) for i in target_bits]
    if not target_bits or max(target_bits) >= n_bits or len(set(target_bits)) != len(target_bits):
        raise ValueError(f"target_bits must be distinct indices in [0, {n_bits}), got {target_bits}")
    if frozen_bit not in target_bits:
        raise ValueError(f"frozen_bit must be one of target_bits {target_bits}, got {frozen_bit}")
    if frozen_value not in (-1, 1):
        raise ValueError(f"frozen_value must be -1 or +1, got {frozen_value}")
    if len(target_bits) < 2:
        raise ValueError("target_bits needs at least two bits, so that a lower-degree interpolant exists")
    y = X[:, target_bits].prod(1)
    seen = X[:, frozen_bit] == frozen_value
    rest = [i for i in target_bits if i != frozen_bit]
    mdi = frozen_value * X[:, rest].prod(1)
    device = resolve_device(device)
    torch.manual_seed(seed)
    model = make_mlp(n_bits, 1, width, depth, activation).to(device)
    train(model, X[seen], y[seen].unsqueeze(1), F.mse_loss, steps=steps, lr=lr, eval_every=steps, seed=seed)
    model.eval()
    with torch.no_grad():
        pred = model(X.to(device)).squeeze(1).cpu()
    p_un, m_un, y_un = pred[~seen], mdi[~seen], y[~seen]
    corr = float(np.corrcoef(p_un.numpy(), m_un.numpy())[0, 1])
    return {
        "train_mse": F.mse_loss(pred[seen], y[seen]).item(),
        "unseen_mse": F.mse_loss(p_un, y_un).item(),
        "corr_min_degree": corr,
        "pred_unseen": p_un,
        "min_degree_unseen": m_un,
        "target_unseen": y_un,
    }


def min_degree_error(result: dict[str, object]) -> float:
    """Mean squared distance, on the unseen half, between a prediction and the minimum-degree
    interpolant (0 when they coincide; 4 for the true target, which has the opposite sign).

    Unlike a correlation it is not blind to scale: ``0.1 x1 x2`` scores 0.81.

    Args:
        result: from :func:`gotu_run` (``pred_unseen`` and ``min_degree_unseen``).

    Returns:
        The mean squared distance.
    """
    p, m = result["pred_unseen"], result["min_degree_unseen"]
    return float(((torch.as_tensor(p) - torch.as_tensor(m)) ** 2).mean())


def plot_gotu(result: dict[str, object], ax=None):
    """Unseen-half predictions of :func:`gotu_run`, grouped by the minimum-degree interpolant.

    Args:
        result: the output of :func:`gotu_run`.
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.
    """
    for k in ("pred_unseen", "min_degree_unseen", "target_unseen"):
        if not isinstance(result, dict) or k not in result:
            raise ValueError(f"result must be the output of gotu_run (missing {k!r})")
    ax = get_axes(ax)
    p = result["pred_unseen"].numpy()
    m = result["min_degree_unseen"].numpy()
    t = result["target_unseen"].numpy()
    rng = np.random.default_rng(0)
    for j, v in enumerate((-1.0, 1.0)):
        sel = m == v
        ax.scatter(j + rng.uniform(-0.15, 0.15, sel.sum()), p[sel], s=8, alpha=0.6,
                   label="network's prediction" if j == 0 else None, color="C0")
        ax.scatter([j], [t[sel][0]], marker="x", s=120, color="C3", label="true target" if j == 0 else None)
        ax.scatter([j], [v], marker="_", s=600, color="black", label="minimum-degree interpolant" if j == 0 else None)
    ax.set_xticks([0, 1])
    ax.set_xticklabels(["interpolant = -1", "interpolant = +1"])
    ax.set_ylabel("output on an unseen input")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


@dataclass
class ShiftedDigits:
    """Digits pasted at every offset of a slightly larger canvas, standardized per pixel."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    side: int


def shifted_digits(pad: int = 1, n_train_digits: int = 1200, seed: int = 0) -> ShiftedDigits:
    """scikit-learn's 8x8 digits at every offset of an ``(8 + pad)``-pixel canvas.

    The digits are split into ``n_train_digits`` training digits and the rest for testing;
    each digit appears at all ``(pad + 1)**2`` offsets, so the test set holds unseen digits
    at seen positions. The shifts blur the class means, which makes higher-order structure
    (the shape, wherever it sits) matter for classification. Pixels are standardized with
    the training set's mean and standard deviation (plus 0.1).

    Args:
        pad: extra pixels on each axis (0 gives the plain digits), 0 to 8.
        n_train_digits: digits in the training split (10 .. 1700).
        seed: seed of the split.

    Returns:
        A :class:`ShiftedDigits` with flattened float inputs and int64 labels.
    """
    from sklearn.datasets import load_digits

    if isinstance(pad, bool) or not isinstance(pad, (int, np.integer)) or not 0 <= pad <= 8:
        raise ValueError(f"pad must be an integer in [0, 8], got {pad!r}")
    n_train_digits = check_positive_int(n_train_digits, "n_train_digits", 10)
    if n_train_digits > 1700:
        raise ValueError(f"n_train_digits must be <= 1700 to leave a test set, got {n_train_digits}")
    X0, y0 = load_digits(return_X_y=True)
    X0 = X0.reshape(-1, 8, 8) / 16.0
    perm = np.random.default_rng(seed).permutation(len(X0))
    side = 8 + pad

    def paste(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = np.zeros(((pad + 1) ** 2, len(idx), side, side))
        for k, (a, b) in enumerate((a, b) for a in range(pad + 1) for b in range(pad + 1)):
            out[k, :, a : a + 8, b : b + 8] = X0[idx]
        return out.reshape(-1, side * side), np.tile(y0[idx], (pad + 1) ** 2)

    Xtr, ytr = paste(perm[:n_train_digits])
    Xte, yte = paste(perm[n_train_digits:])
    mu, sd = Xtr.mean(0), Xtr.std(0) + 0.1
    f = lambda a: torch.as_tensor((a - mu) / sd, dtype=torch.float32)  # noqa: E731
    return ShiftedDigits(f(Xtr), torch.as_tensor(ytr), f(Xte), torch.as_tensor(yte), side)


def moment_clones(X: torch.Tensor, y: torch.Tensor, order: int = 2, n: int = 2000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian "clones" of a labelled dataset that keep only its low-order statistics.

    ``order=1``: each class ``c`` is replaced by ``N(mu_c, s_c^2 I)``, its mean plus
    isotropic noise of the same total variance (first moment only). ``order=2``: by
    ``N(mu_c, Sigma_c)``, its mean and full covariance (first two moments). Everything a
    classifier could exploit beyond those moments is gone.

    Args:
        X: inputs of shape ``(n_samples, d)``.
        y: integer labels ``0 .. k-1`` of shape ``(n_samples,)``, each class with >= 2 samples.
        order: 1 or 2.
        n: clones in total, split evenly over the classes.
        seed: seed of the sampling.

    Returns:
        ``(X_clones, y_clones)``.
    """
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"X must be (n_samples, d) and y (n_samples,), got {tuple(X.shape)} and {tuple(y.shape)}")
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    n = check_positive_int(n, "n")
    Xn, yn = X.double().cpu().numpy(), y.cpu().numpy()
    classes = np.unique(yn)
    if any((yn == c).sum() < 2 for c in classes):
        raise ValueError("every class in y needs at least 2 samples")
    rng = np.random.default_rng(seed)
    d, per = Xn.shape[1], max(1, n // len(classes))
    xs, ys = [], []
    for c in classes:
        A = Xn[yn == c]
        mu, S = A.mean(0), np.cov(A.T).reshape(d, d) + 1e-3 * np.eye(d)
        if order == 1:
            xs.append(mu + math.sqrt(np.trace(S) / d) * rng.standard_normal((per, d)))
        else:
            xs.append(rng.multivariate_normal(mu, S, per, method="cholesky"))
        ys.append(np.full(per, c))
    return torch.as_tensor(np.concatenate(xs), dtype=X.dtype if X.is_floating_point() else torch.float32), torch.as_tensor(np.concatenate(ys))


def distributional_simplicity_run(
    pad: int = 1,
    width: int = 256,
    depth: int = 2,
    lr: float = 0.05,
    steps: int = 5000,
    batch_size: int = 64,
    eval_every: int = 100,
    n_clones: int = 2000,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> pd.DataFrame:
    """Train an MLP on shifted digits and track its accuracy on real test digits and on clones.

    The MLP is trained with plain SGD on minibatches of :func:`shifted_digits`; clones of
    order 1 and 2 (:func:`moment_clones`) are drawn from the training set's statistics and
    never trained on. Accuracy is recorded every 10 steps up to step 100 and every
    ``eval_every`` steps after.

    Args:
        pad: canvas padding of :func:`shifted_digits`.
        width, depth: MLP shape (ReLU).
        lr: SGD learning rate.
        steps: SGD steps.
        batch_size: minibatch size (drawn with replacement).
        eval_every: evaluation interval after step 100.
        n_clones: clones per order.
        seed: seed of the split, the clones, the weights and the batches.
        device: where to train (``None``: the GPU when present).

    Returns:
        DataFrame with ``step``, ``test_acc``, ``clone1_acc`` (mean-only clones),
        ``clone2_acc`` (mean-and-covariance clones) and ``clone1_shuffled_acc`` (the mean-only
        clones with their pixels in one fixed random order: the class means' spatial pattern
        destroyed).
    """
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    eval_every = check_positive_int(eval_every, "eval_every")
    lr = check_positive(lr, "lr")
    device = resolve_device(device)
    data = shifted_digits(pad, seed=seed)
    c1, y1 = moment_clones(data.X_train, data.y_train, 1, n_clones, seed)
    c2, y2 = moment_clones(data.X_train, data.y_train, 2, n_clones, seed + 1)
    perm = torch.randperm(c1.shape[1], generator=torch.Generator().manual_seed(70_000 + int(seed)))
    sets = {"test_acc": (data.X_test, data.y_test), "clone1_acc": (c1, y1), "clone2_acc": (c2, y2),
            "clone1_shuffled_acc": (c1[:, perm], y1)}
    sets = {k: (a.to(device), b.to(device)) for k, (a, b) in sets.items()}
    torch.manual_seed(seed)
    model = make_mlp(data.X_train.shape[1], 10, width=width, depth=depth)

    def eval_fn(m: torch.nn.Module, step: int) -> dict[str, float]:
        return {k: (m(a).argmax(1) == b).float().mean().item() for k, (a, b) in sets.items()}

    record_at = sorted(set(range(0, min(steps, 100) + 1, 10)) | set(range(0, steps + 1, eval_every)) | {steps})
    h = train(model, data.X_train, data.y_train, F.cross_entropy, steps=steps, lr=lr, optimizer="sgd",
              batch_size=batch_size, replacement=True, eval_every=record_at, eval_fn=eval_fn, seed=seed, device=device)
    return h.drop(columns="loss")


def early_clone_gap(history: pd.DataFrame, column: str = "clone1_acc", window: tuple[int, int] = (10, 100)) -> float:
    """Mean absolute gap between test accuracy and a clone set's accuracy over a step window.

    The window starts after step 0, where every set scores chance and the gap is trivially
    small.

    Args:
        history: from :func:`distributional_simplicity_run`.
        column: the clone set's column.
        window: the first and last step (inclusive).

    Returns:
        The mean of ``|test_acc - column|`` over the recorded steps in the window.
    """
    if column not in history:
        raise ValueError(f"history has no column {column!r}")
    w = history[(history.step >= window[0]) & (history.step <= window[1])]
    if w.empty:
        raise ValueError(f"no recorded step in the window {window}")
    return float((w.test_acc - w[column]).abs().mean())


def late_divergence(history: pd.DataFrame, column: str = "clone1_acc") -> float:
    """How clearly a network leaves a clone set behind: the smaller of (a) how far the clone
    accuracy falls from its peak by the end and (b) how much the test accuracy rises after
    that peak.

    Args:
        history: from :func:`distributional_simplicity_run`.
        column: the clone set's column.

    Returns:
        ``min(peak - final clone accuracy, final - at-peak test accuracy)``; about 0 when the
        clones keep being classified as well as they ever were.
    """
    if column not in history:
        raise ValueError(f"history has no column {column!r}")
    i = int(history[column].to_numpy().argmax())
    peak, final = history[column].iloc[i], history[column].iloc[-1]
    return float(min(peak - final, history.test_acc.iloc[-1] - history.test_acc.iloc[i]))


def plot_distributional_simplicity(history: pd.DataFrame, ax=None):
    """Accuracy on test digits and on the two clone sets against step (log x-axis).

    Args:
        history: from :func:`distributional_simplicity_run`.
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.
    """
    cols = ("test_acc", "clone1_acc", "clone2_acc")
    if not isinstance(history, pd.DataFrame) or any(c not in history for c in ("step", *cols)):
        raise ValueError(f"history must be a DataFrame with 'step' and {list(cols)} columns")
    ax = get_axes(ax)
    h = history[history.step > 0]
    labels = {"test_acc": "real test digits", "clone1_acc": "clones: class means only",
              "clone2_acc": "clones: means and covariances"}
    for c, style in zip(cols, ("-", "--", ":")):
        ax.plot(h.step, h[c], style, marker="o", ms=3, label=labels[c])
    ax.set_xscale("log")
    ax.axhline(0.1, color="0.5", lw=0.8, ls=":")
    ax.set_xlabel("SGD step")
    ax.set_ylabel("accuracy")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


# --------------------------------------------------------------------------------------
# the section's runner and claims
# --------------------------------------------------------------------------------------
def run(seed: int = 0, device: torch.device | str | None = None) -> dict[str, object]:
    """Everything section 1.4 shows and checks, for one seed.

    Returns:
        ``gotu``: :func:`gotu_run` (ten bits, target x1 x2 x3, x3 frozen at +1);
        ``clones``: :func:`distributional_simplicity_run` on shifted digits (5,000 SGD steps).
    """
    return {"gotu": gotu_run(seed=seed, device=device),
            "clones": distributional_simplicity_run(seed=seed, device=device)}


def _truth_as_prediction(r: dict[str, object]) -> dict[str, object]:
    g = r["gotu"]
    return {**g, "pred_unseen": g["target_unseen"]}


CLAIMS = (
    Claim(
        key="inductive_bias.simplicity_bias.generalization_on_the_unseen",
        statement="Trained on the half of the Boolean cube where x3 = 1, the network predicts the "
                  "minimum-degree interpolant x1 x2 on the unseen half (mean squared distance <= 0.1).",
        cite=("generalization_unseen_logic",),
        paper_result="on the unseen part of the domain, trained networks converge to the "
                     "minimum-degree interpolator of the seen data, not to the true target",
        paper_where="Sec. 3 (the min-degree bias) and its experiments",
        run=run,
        measure=min_degree_error,
        world=lambda r: r["gotu"],
        predicate=at_most(0.1),
        controls=(Control("the true target", "the same distance for a learner that found the true "
                          "target x1 x2 x3, which flips sign on the unseen half", _truth_as_prediction),),
        note="a correlation would pass 0.1 x1 x2 too; the distance does not (0.81)",
    ),
    Claim(
        key="inductive_bias.simplicity_bias.clones_early",
        statement="In the first 100 SGD steps (steps 10-100), the network classifies Gaussian clones that "
                  "keep only each class's mean about as well as real test digits (mean gap <= 8 points).",
        cite=("neural_networks_trained",),
        paper_result="early in training, networks classify Gaussian clones that share only the "
                     "data's low-order moments as accurately as the real test images",
        paper_where="Sec. 3 and its accuracy-on-clones figures",
        run=run,
        measure=early_clone_gap,
        world=lambda r: r["clones"],
        predicate=at_most(0.08),
        controls=(Control("shuffled-pixel clones", "the same mean-only clones with their pixels in one "
                          "fixed random order, so the class means' spatial pattern is gone",
                          lambda r: r["clones"].assign(clone1_acc=r["clones"].clone1_shuffled_acc)),),
    ),
    Claim(
        key="inductive_bias.simplicity_bias.clones_left_behind",
        statement="Later, the mean-only clones are left behind: their accuracy falls at least 3 points "
                  "from its peak while the test accuracy rises at least 3 points after that peak.",
        cite=("neural_networks_trained",),
        paper_result="as training goes on the network exploits higher-order statistics, and its "
                     "accuracy on low-order clones falls while its test accuracy keeps rising",
        paper_where="Sec. 3 and its accuracy-on-clones figures",
        run=run,
        measure=late_divergence,
        world=lambda r: r["clones"],
        predicate=at_least(0.03),
        controls=(Control("mean-and-covariance clones", "the same measurement on clones that keep the "
                          "class covariances too, statistics the network keeps using",
                          lambda r: r["clones"].assign(clone1_acc=r["clones"].clone2_acc)),),
    ),
)
