"""Section 2.1, Why shortcuts happen (``chapters/02_spurious_correlations/01_why_shortcuts.md``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..plotting import get_axes
from ..validation import (
    check_nonnegative,
    check_positive_int,
)
from ._shared import fit_classifier, lms_slab, predict, shuffle_coordinate

__all__ = [
    "CUES",
    "cue_conflict_sprites",
    "cue_preference",
    "lms_slab_run",
    "feature_contamination_data",
    "TwoLayerReLU",
    "feature_contamination_run",
    "plot_lms_slab",
    "plot_bars",
]


CUES = ("color", "shape", "scale")


def _sprite(shape: int, scale: int, size: int) -> np.ndarray:
    """A binary sprite: shape 0 = filled square, 1 = plus sign; scale 0 = small, 1 = large."""
    s = 3 if scale == 0 else 7
    img = np.zeros((s, s), dtype=np.float32)
    if shape == 0:
        img[:] = 1.0
    else:
        img[s // 2, :] = 1.0
        img[:, s // 2] = 1.0
    return img


def cue_conflict_sprites(
    n: int,
    cues: dict[str, np.ndarray] | None = None,
    size: int = 10,
    noise: float = 0.05,
    seed: int = 0,
) -> tuple[torch.Tensor, dict[str, np.ndarray]]:
    """Sprites on a ``size x size`` canvas with three binary cues: color, shape and scale.

    Color 0/1 puts the sprite in channel 0/1 (color -1 = gray: both channels at half
    intensity); shape 0/1 is a filled square / a plus sign; scale 0/1 is 3 / 7 pixels wide.
    The position is random. With ``cues=None`` every cue equals a random label, so each cue
    alone predicts the label perfectly; pass explicit cue arrays to build cue-conflict images.

    Args:
        n: number of images.
        cues: optional ``{"color": array, "shape": array, "scale": array}`` of length ``n``.
        size: canvas side (>= 8).
        noise: standard deviation of added pixel noise.
        seed: seeds positions, labels and noise.

    Returns:
        ``(X, cues)``: inputs ``(n, 2 * size * size)`` and the cue arrays (with ``"label"``
        equal to the shared cue value when ``cues`` was ``None``).
    """
    n = check_positive_int(n, "n")
    size = check_positive_int(size, "size", minimum=8)
    noise = check_nonnegative(noise, "noise")
    rng = np.random.default_rng(seed)
    if cues is None:
        y = rng.integers(0, 2, n)
        cues = {"color": y.copy(), "shape": y.copy(), "scale": y.copy(), "label": y}
    else:
        if not isinstance(cues, dict) or set(CUES) - set(cues):
            raise ValueError(f"cues must be a dict with keys {CUES}")
        cues = {k: np.asarray(v, dtype=np.int64) for k, v in cues.items()}
        for k in CUES:
            if cues[k].shape != (n,):
                raise ValueError(f"cues[{k!r}] must have length n={n}, got shape {cues[k].shape}")
    X = np.zeros((n, 2, size, size), dtype=np.float32)
    for i in range(n):
        sp = _sprite(int(cues["shape"][i]), int(cues["scale"][i]), size)
        s = sp.shape[0]
        r, c = rng.integers(0, size - s + 1, 2)
        col = int(cues["color"][i])
        if col < 0:
            X[i, :, r : r + s, c : c + s] = 0.5 * sp
        else:
            X[i, col, r : r + s, c : c + s] = sp
    X += noise * rng.standard_normal(X.shape).astype(np.float32)
    return torch.from_numpy(X.reshape(n, -1)), cues


def cue_preference(
    n_train: int = 1000, n_test: int = 600, steps: int = 300, seed: int = 0, device=None
) -> pd.DataFrame:
    """Train an MLP on sprites whose three cues agree, then test on cue-conflict images.

    For each cue, the conflict images set that cue to one class and the two other cues to
    the other class; the table reports the share of predictions that follow the lone cue.
    A second block sets color to gray and pits shape against scale.

    Args:
        n_train, n_test: numbers of training and conflict images.
        steps: Adam steps.
        seed: seeds data and training.
        device: where to train.

    Returns:
        A DataFrame with one row per test (``"color vs shape+scale"``, ...,
        ``"shape vs scale (gray)"``), columns ``follows`` (the cue named first) and
        ``share`` (share of predictions that follow it), and the training accuracy as
        ``attrs["train_acc"]``.
    """
    X, c = cue_conflict_sprites(n_train, seed=seed)
    y = torch.from_numpy(c["label"])
    model = fit_classifier(X, y, width=128, depth=1, steps=steps, lr=1e-3, seed=seed, device=device)
    train_acc = float((predict(model, X) == y).float().mean())
    rng = np.random.default_rng(seed + 1)
    rows = []
    for cue in CUES:
        lone = rng.integers(0, 2, n_test)
        cues = {k: (lone if k == cue else 1 - lone) for k in CUES}
        Xt, _ = cue_conflict_sprites(n_test, cues=cues, seed=seed + 2)
        share = float((predict(model, Xt).numpy() == lone).mean())
        others = "+".join(k for k in CUES if k != cue)
        rows.append({"test": f"{cue} vs {others}", "follows": cue, "share": share})
    v = rng.integers(0, 2, n_test)
    Xt, _ = cue_conflict_sprites(n_test, cues={"color": -np.ones(n_test), "shape": v, "scale": 1 - v}, seed=seed + 3)
    rows.append({"test": "shape vs scale (gray)", "follows": "shape",
                 "share": float((predict(model, Xt).numpy() == v).mean())})
    df = pd.DataFrame(rows).set_index("test")
    df.attrs["train_acc"] = train_acc
    return df


def lms_slab_run(
    n_train: int = 2000, n_test: int = 1000, steps: int = 300, seed: int = 0, device=None
) -> dict[str, float]:
    """Train an MLP (2 hidden layers of 100) on LMS slab data and shuffle each coordinate.

    Args:
        n_train, n_test: numbers of points.
        steps: Adam steps (learning rate 3e-3, weight decay 1e-3, full batch).
        seed: seeds data and training.
        device: where to train.

    Returns:
        Test accuracies: ``clean``, ``linear_shuffled`` (coordinate 0 permuted) and
        ``slab_shuffled`` (coordinate 1 permuted), and ``train``.
    """
    X, y = lms_slab(n_train, seed=seed)
    Xt, yt = lms_slab(n_test, seed=seed + 100)
    model = fit_classifier(X, y, width=100, depth=2, steps=steps, lr=3e-3, weight_decay=1e-3, seed=seed, device=device)

    def acc(X_, y_):
        return float((predict(model, X_) == y_).float().mean())

    return {
        "train": acc(X, y),
        "clean": acc(Xt, yt),
        "linear_shuffled": acc(shuffle_coordinate(Xt, 0, seed), yt),
        "slab_shuffled": acc(shuffle_coordinate(Xt, 1, seed), yt),
    }


def feature_contamination_data(
    n: int = 2000, d_background: int = 50, shift: bool = False, core_noise: float = 0.5, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """A structured feature model with one core feature and many background features.

    Coordinate 0 is the core feature, ``+-1`` (by class) plus Gaussian noise of standard
    deviation ``core_noise``. Coordinates ``1..d_background`` are *background* features:
    non-negative coefficients drawn from ``U(0, 1)``, independent of the label. With
    ``shift=True`` the background coefficients are drawn from ``U(-1, 0)`` instead: the
    background changes while the core feature and the label stay as they were.

    Args:
        n: number of points.
        d_background: number of background features.
        shift: draw the shifted background.
        core_noise: noise on the core feature.
        seed: seeds the generator.

    Returns:
        ``(X, y)`` with ``X`` of shape ``(n, 1 + d_background)``.
    """
    n = check_positive_int(n, "n")
    d_background = check_positive_int(d_background, "d_background")
    core_noise = check_nonnegative(core_noise, "core_noise")
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    core = (2 * y - 1) + core_noise * rng.standard_normal(n)
    z = rng.uniform(0, 1, (n, d_background))
    if shift:
        z = -z
    X = np.concatenate([core[:, None], z], axis=1).astype(np.float32)
    return torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))


class TwoLayerReLU(nn.Module):
    """A two-layer ReLU network ``f(x) = sum_k a_k relu(w_k . x)`` with fixed output
    weights ``a_k = +-1/sqrt(width)`` (half of each sign) and no biases, as in the
    theoretical analyses of feature learning. Returns two logits ``(-f/2, f/2)``.
    """

    def __init__(self, in_dim: int, width: int = 100) -> None:
        super().__init__()
        in_dim = check_positive_int(in_dim, "in_dim")
        width = check_positive_int(width, "width", minimum=2)
        self.hidden = nn.Linear(in_dim, width, bias=False)
        a = torch.ones(width)
        a[width // 2 :] = -1
        self.register_buffer("a", a / width**0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = (torch.relu(self.hidden(x)) * self.a).sum(1)
        return torch.stack([-f / 2, f / 2], dim=1)


def feature_contamination_run(
    d_background: int = 50, n: int = 2000, steps: int = 500, seed: int = 0, device=None
) -> pd.DataFrame:
    """Train a linear model and a two-layer ReLU network on the same data, test both on
    in-distribution data and under a background shift, and measure background weights.

    Args:
        d_background: number of background features.
        n: training (and test) points.
        steps: Adam steps (learning rate 1e-2, full batch).
        seed: seeds data and training.
        device: where to train.

    Returns:
        A DataFrame indexed by model (``"linear"``, ``"two-layer ReLU"``) with columns
        ``id_acc``, ``shifted_acc``, ``drop`` (points of accuracy lost) and
        ``background_weight``: the mean learned weight on a background feature (weights
        on the background start at zero); for the ReLU network, averaged over the hidden
        units that fire for their own class (core weight of the same sign as the output
        weight), for the linear model the weight of the logit difference.
    """
    X, y = feature_contamination_data(n, d_background, seed=seed)
    Xi, yi = feature_contamination_data(n, d_background, seed=seed + 10)
    Xo, yo = feature_contamination_data(n, d_background, shift=True, seed=seed + 20)
    rows = {}
    for name in ("linear", "two-layer ReLU"):
        torch.manual_seed(seed)
        model = nn.Linear(1 + d_background, 2) if name == "linear" else TwoLayerReLU(1 + d_background, 100)
        layer = model if name == "linear" else model.hidden
        with torch.no_grad():
            layer.weight[:, 1:] = 0.0  # start with no weight on the background
        model = fit_classifier(X, y, model=model, steps=steps, lr=1e-2, seed=seed, device=device)
        W = layer.weight.detach().cpu()
        if name == "linear":
            bg = float((W[1, 1:] - W[0, 1:]).mean())
        else:
            aligned = W[:, 0] * model.a.cpu().sign() > 0  # units that fire for their own class
            bg = float(W[aligned, 1:].mean())
        id_acc = float((predict(model, Xi) == yi).float().mean())
        sh_acc = float((predict(model, Xo) == yo).float().mean())
        rows[name] = {"id_acc": id_acc, "shifted_acc": sh_acc, "drop": 100 * (id_acc - sh_acc), "background_weight": bg}
    return pd.DataFrame(rows).T


def plot_lms_slab(X: torch.Tensor, y: torch.Tensor, ax=None, n_max: int = 600):
    """Scatter the linear (x-axis) and slab (y-axis) coordinates of LMS data by class.
    """
    ax = get_axes(ax)
    X, y = X[:n_max].numpy(), y[:n_max].numpy()
    for c, marker in ((0, "o"), (1, "^")):
        ax.scatter(X[y == c, 0], X[y == c, 1], s=10, marker=marker, label=f"class {c}", alpha=0.7)
    ax.set(xlabel="linear coordinate", ylabel="slab coordinate")
    ax.legend(loc="upper left", bbox_to_anchor=(1, 1))
    return ax


def plot_bars(values: dict[str, float] | pd.Series, ax=None, ylabel: str = "accuracy", title: str | None = None,
              reference: float | None = None):
    """A bar chart of named values with the value printed on each bar.

    Args:
        values: ``{name: value}``.
        ax: optional axes.
        ylabel, title: labels.
        reference: draw a dashed horizontal line at this value (e.g. chance).

    Returns:
        The axes.
    """
    import seaborn as sns

    ax = get_axes(ax)
    values = pd.Series(values, dtype=float)
    colors = sns.color_palette("colorblind", len(values))
    bars = ax.bar(range(len(values)), values.values, color=colors)
    ax.set_xticks(range(len(values)), values.index, rotation=0)
    for b, v in zip(bars, values.values):
        ax.text(b.get_x() + b.get_width() / 2, v, f"{v:.2f}", ha="center", va="bottom")
    if reference is not None:
        ax.axhline(reference, color="gray", ls="--", lw=1)
    ax.set(ylabel=ylabel, title=title)
    return ax
