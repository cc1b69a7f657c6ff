"""Section 2.1, Why shortcuts happen (``chapters/02_spurious_correlations/01_why_shortcuts.md``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..claims import Claim, Control, at_least, at_most
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
    n_train: int = 1000, n_test: int = 600, steps: int = 300, color_predictive: bool = True, seed: int = 0,
    device: torch.device | str | None = None,
) -> pd.DataFrame:
    """Train an MLP on sprites whose cues agree with the label, then test on cue-conflict images.

    In training, shape and scale equal the label; color equals it too (``color_predictive``)
    or is drawn at random, independently of the label. The conflict images set one cue to
    one class and the two others to the other class; the table reports the share of
    predictions that follow the lone cue. A last row pits shape against scale with a random
    color: on the model trained with random colors it ranks the two cues that remain, on
    sprites of the kind that model was trained on.

    Args:
        n_train, n_test: numbers of training and conflict images.
        steps: Adam steps.
        color_predictive: color equals the label in training (``False``: random color).
        seed: seeds data and training.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        A DataFrame with one row per test (``"color vs shape+scale"``,
        ``"shape vs color+scale"``, ``"scale vs color+shape"``, ``"shape vs scale (random
        color)"``), columns ``follows`` (the cue named first) and ``share`` (share of
        predictions that follow it), and the training accuracy as ``attrs["train_acc"]``.
    """
    rng = np.random.default_rng(seed + 1)
    if color_predictive:
        X, c = cue_conflict_sprites(n_train, seed=seed)
    else:
        y0 = np.random.default_rng(seed).integers(0, 2, n_train)
        X, c = cue_conflict_sprites(n_train, cues={"color": rng.integers(0, 2, n_train), "shape": y0, "scale": y0},
                                    seed=seed)
        c["label"] = y0
    y = torch.from_numpy(c["label"])
    model = fit_classifier(X, y, width=128, depth=1, steps=steps, lr=1e-3, seed=seed, device=device)
    train_acc = float((predict(model, X) == y).float().mean())
    rows = []
    for cue in CUES:
        lone = rng.integers(0, 2, n_test)
        cues = {k: (lone if k == cue else 1 - lone) for k in CUES}
        Xt, _ = cue_conflict_sprites(n_test, cues=cues, seed=seed + 2)
        share = float((predict(model, Xt).numpy() == lone).mean())
        others = "+".join(k for k in CUES if k != cue)
        rows.append({"test": f"{cue} vs {others}", "follows": cue, "share": share})
    v = rng.integers(0, 2, n_test)
    Xt, _ = cue_conflict_sprites(n_test, cues={"color": rng.integers(0, 2, n_test), "shape": v, "scale": 1 - v},
                                 seed=seed + 3)
    rows.append({"test": "shape vs scale (random color)", "follows": "shape",
                 "share": float((predict(model, Xt).numpy() == v).mean())})
    df = pd.DataFrame(rows).set_index("test")
    df.attrs["train_acc"] = train_acc
    return df


def lms_slab_run(
    n_train: int = 2000, n_test: int = 1000, steps: int = 300, slab_only: bool = False, seed: int = 0,
    device: torch.device | str | None = None,
) -> dict[str, float]:
    """Train an MLP (2 hidden layers of 100) on LMS slab data and shuffle each coordinate.

    Args:
        n_train, n_test: numbers of points.
        steps: Adam steps (learning rate 3e-3, weight decay 1e-3, full batch).
        slab_only: feed the network the slab coordinate alone (every other coordinate set to
            zero, in training and at test): the control world, a network that must read the
            slabs.
        seed: seeds data and training.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        Test accuracies: ``clean``, ``linear_shuffled`` (coordinate 0 permuted) and
        ``slab_shuffled`` (coordinate 1 permuted), and ``train``.
    """
    X, y = lms_slab(n_train, seed=seed)
    Xt, yt = lms_slab(n_test, seed=seed + 100)
    mask = torch.ones(X.shape[1])
    if slab_only:
        mask = torch.zeros(X.shape[1])
        mask[1] = 1.0
    model = fit_classifier(X * mask, y, width=100, depth=2, steps=steps, lr=3e-3, weight_decay=1e-3, seed=seed,
                           device=device)

    def acc(X_, y_):
        return float((predict(model, X_ * mask) == y_).float().mean())

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
    d_background: int = 50, n: int = 2000, steps: int = 500, seed: int = 0,
    device: torch.device | str | None = None,
) -> pd.DataFrame:
    """Train a linear model and a two-layer ReLU network on the same data, test both on
    in-distribution data and under a background shift, and measure background weights.

    Args:
        d_background: number of background features.
        n: training (and test) points.
        steps: Adam steps (learning rate 1e-2, full batch).
        seed: seeds data and training.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        A DataFrame indexed by model (``"linear"``, ``"two-layer ReLU"``) with columns
        ``id_acc``, ``shifted_acc``, ``drop`` (points of accuracy lost) and
        ``background_weight``: the mean learned weight on a background feature (weights
        on the background start at zero); for the ReLU network, averaged over the hidden
        units that fire for their own class (core weight of the same sign as the output
        weight), for the linear model the weight of the logit difference; and
        ``background_positive``, the share of the background features whose (so averaged)
        weight is positive.
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
            per_feature = W[1, 1:] - W[0, 1:]
        else:
            aligned = W[:, 0] * model.a.cpu().sign() > 0  # units that fire for their own class
            per_feature = W[aligned, 1:].mean(0)
        bg = float(per_feature.mean())
        positive = float((per_feature > 0).float().mean())
        id_acc = float((predict(model, Xi) == yi).float().mean())
        sh_acc = float((predict(model, Xo) == yo).float().mean())
        rows[name] = {"id_acc": id_acc, "shifted_acc": sh_acc, "drop": 100 * (id_acc - sh_acc),
                      "background_weight": bg, "background_positive": positive}
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


# --------------------------------------------------------------------------------------
# the section's runner and its claims
# --------------------------------------------------------------------------------------
def run(seed: int = 0, device: torch.device | str | None = None) -> dict:
    """Everything section 2.1 shows and checks, for one seed, the control worlds included.

    Args:
        seed: seeds data and training.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        ``{"slab", "slab_control", "cues", "cues_control", "contamination"}``: the slab
        accuracies of :func:`lms_slab_run` on the LMS data and for the same network fed the
        slab coordinate alone (the control world), the cue tables of :func:`cue_preference`
        with color predictive and with color random in training (the control world), and the
        table of :func:`feature_contamination_run` (its linear model is the control world).
    """
    return {
        "slab": lms_slab_run(seed=seed, device=device),
        "slab_control": lms_slab_run(slab_only=True, seed=seed, device=device),
        "cues": cue_preference(seed=seed, device=device),
        "cues_control": cue_preference(color_predictive=False, seed=seed, device=device),
        "contamination": feature_contamination_run(seed=seed, device=device),
    }


_SLAB_CONTROL = Control(
    "slab coordinate alone",
    "the same network and budget fed only the slab coordinate, so that it must learn the slabs",
    lambda r: r["slab_control"],
)

CLAIMS = (
    Claim(
        key="spurious.why_shortcuts.linear_only",
        statement="Shuffling the linear coordinate of the test points drops the network to chance, "
                  "although the slab coordinate alone classifies every point.",
        cite=("pitfalls_simplicity_bias",),
        paper_result="On LMS-5 data, fully connected networks reach 100% test accuracy; randomizing the linear "
                     "coordinate drops them to about 50%, randomizing the 5-slab coordinates leaves 100%.",
        paper_where="Table 1",
        run=run,
        measure=lambda w: w["linear_shuffled"],
        predicate=at_most(0.6),
        world=lambda r: r["slab"],
        controls=(_SLAB_CONTROL,),
        note="test accuracy with coordinate 0 permuted across test points",
    ),
    Claim(
        key="spurious.why_shortcuts.slabs_ignored",
        statement="Shuffling the slab coordinate leaves the network's accuracy intact: it never used the slabs.",
        cite=("pitfalls_simplicity_bias",),
        paper_result="Randomizing the slab coordinates of LMS-5 leaves test accuracy at 100%.",
        paper_where="Table 1",
        run=run,
        measure=lambda w: w["slab_shuffled"],
        predicate=at_least(0.95),
        world=lambda r: r["slab"],
        controls=(_SLAB_CONTROL,),
        note="test accuracy with coordinate 1 permuted across test points",
    ),
    Claim(
        key="spurious.why_shortcuts.color_preferred",
        statement="When color disagrees with both shape and scale, the prediction follows color.",
        cite=("shortcut_cues_will",),
        paper_result="With color, scale, shape and orientation equally predictive, networks of every architecture "
                     "tried follow color first, then scale, then shape, then orientation.",
        paper_where="Fig. 3 (DSprites-like cue conflicts)",
        run=run,
        measure=lambda w: float(w.loc["color vs shape+scale", "share"]),
        predicate=at_least(0.8),
        world=lambda r: r["cues"],
        controls=(Control(
            "color random in training",
            "the same network trained on sprites whose color is random, so that color predicts nothing",
            lambda r: r["cues_control"],
        ),),
        note="share of cue-conflict predictions that follow color",
    ),
    Claim(
        key="spurious.why_shortcuts.scale_over_shape",
        statement="Without a predictive color, scale wins over shape: few shape-versus-scale conflicts follow shape.",
        cite=("shortcut_cues_will",),
        paper_result="Scale is preferred to shape (color > scale > shape > orientation).",
        paper_where="Fig. 3",
        run=run,
        measure=lambda w: float(w.loc["shape vs scale (random color)", "share"]),
        predicate=at_most(0.4),
        world=lambda r: r["cues_control"],
        observation=True,
        note="share of shape-versus-scale conflicts that follow shape, model trained with random colors",
    ),
    Claim(
        key="spurious.why_shortcuts.contamination_drop",
        statement="A two-layer ReLU network loses at least 15 points of accuracy when label-independent "
                  "background features shift.",
        cite=("feature_contamination_neural",),
        paper_result="Proved for two-layer ReLU networks trained by SGD on a structured feature model: they learn "
                     "background features uncorrelated with the label and keep a large error when those features "
                     "shift, while a linear model's background gradients cancel (a theorem, no toy numbers).",
        paper_where="Section 4, Fig. 2",
        run=run,
        measure=lambda w: float(w["drop"]),
        predicate=at_least(15.0),
        world=lambda r: r["contamination"].loc["two-layer ReLU"],
        controls=(Control(
            "linear model",
            "a linear model trained on the same data: its background gradients cancel between the classes",
            lambda r: r["contamination"].loc["linear"],
        ),),
        note="points of accuracy lost between the in-distribution and the shifted test sets",
    ),
    Claim(
        key="spurious.why_shortcuts.background_weight",
        statement="The ReLU units that fire for their own class grow positive weights on the background "
                  "features: on at least 90% of them.",
        cite=("feature_contamination_neural",),
        paper_result="Activation asymmetry: a neuron activated mostly by one class gets a non-zero gradient along "
                     "every background feature with a non-zero mean, so its weight there grows.",
        paper_where="Section 4, Fig. 2",
        run=run,
        measure=lambda w: float(w["background_positive"]),
        predicate=at_least(0.9),
        world=lambda r: r["contamination"].loc["two-layer ReLU"],
        controls=(Control(
            "linear model",
            "the weights of the linear model's logit difference on the same background features",
            lambda r: r["contamination"].loc["linear"],
        ),),
        note="share of the 50 background features with a positive mean learned weight (all start at zero)",
    ),
)
