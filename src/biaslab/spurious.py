"""Spurious correlations: shortcut testbeds, group metrics and the methods that repair them.

Data makers (colored digits, the LMS slab data, a Waterbirds-like generator, cue-conflict
sprites), group metrics (``worst_group_accuracy``, ``group_table``) and methods that take a
dataset and return a fitted model and a metrics dict (``erm``, ``reweight``, ``group_dro``,
``last_layer_retrain``, ``jtt``, ``counterfactual_augment``, ``irm``, ...) for chapter 2.
Each function names the section that teaches it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from .core import make_mlp
from .plotting import get_axes
from .validation import check_fraction, check_nonnegative, check_positive, check_positive_int

__all__ = [
"GroupData",
    "SpuriousDataset",
    "colored_digits",
    "color_swap",
    "waterbirds_like",
    "lms_slab",
    "shuffle_coordinate",
    "cue_conflict_sprites",
    "feature_contamination_data",
    "feature_contamination_run",
    "TwoLayerReLU",
    "lms_slab_run",
    "cue_preference",
    "predict",
    "worst_group_accuracy",
    "group_accuracies",
    "group_table",
    "evaluate",
    "fit_classifier",
    "erm",
    "reweight",
    "group_dro",
    "group_dro_update",
    "last_layer_retrain",
    "features",
    "cluster_purity",
    "jtt",
    "color_ink",
    "conditional_independence_penalty",
    "debias_by_independence",
    "counterfactual_augment",
    "synthetic_copy",
    "synthetic_fill",
    "fake_to_real",
    "rho_sweep",
    "plot_group_accuracies",
    "linear_environments",
    "irmv1_penalty",
    "scale_penalty",
    "fit_invariant_linear",
    "linear_test_error",
    "invariant_subset_fit",
    "penalty_landscape",
    "ood_value_curve",
    "conflict_pool",
    "agreement_loss",
    "diversify_two_heads",
    "plot_heads",
    "plot_lms_slab",
    "plot_bars",
    "plot_colored_digits",
]

CH = "chapters/02_spurious_correlations"


# ======================================================================================
# Data containers and checks
# ======================================================================================
@dataclass
class GroupData:
    """One split of a dataset with group annotations.

    Fields: ``X``, the inputs (float tensor ``(n, d)``); ``y``, the class labels (long tensor
    ``(n,)``); ``g``, the group ids (for a binary label and a binary spurious attribute,
    ``g = 2 * y + a``); ``a``, the spurious attribute, e.g. color.

    See: chapters/02_spurious_correlations/02_measuring_the_damage.
    """

    X: torch.Tensor
    y: torch.Tensor
    g: torch.Tensor
    a: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx: torch.Tensor | np.ndarray) -> GroupData:
        """The rows ``idx`` of this split."""
        idx = torch.as_tensor(idx, dtype=torch.long)
        return GroupData(self.X[idx], self.y[idx], self.g[idx], self.a[idx])


@dataclass
class SpuriousDataset:
    """Train, validation and two test splits of a spurious-correlation benchmark.

    Attributes:
        train: training split, in which the attribute agrees with the label w.p. ``rho``.
        val: validation split from the training distribution (group labels available).
        test_id: test split from the training distribution: its accuracy is the
            *average accuracy* a practitioner would report.
        test: test split in which attribute and label are independent (balanced groups):
            its per-group accuracies give the *worst-group accuracy*.
        n_groups: number of groups (4 for binary label x binary attribute).
        group_names: a readable name for each group id.
        info: the settings that made the dataset.

    See: chapters/02_spurious_correlations/02_measuring_the_damage.
    """

    train: GroupData
    val: GroupData
    test_id: GroupData
    test: GroupData
    n_groups: int = 4
    group_names: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)

    @property
    def in_dim(self) -> int:
        return int(self.train.X.shape[1])


def _check_rho(rho, name: str) -> float:
    if isinstance(rho, bool) or not isinstance(rho, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number in [0, 1], got {type(rho).__name__}")
    if not 0.0 <= float(rho) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {rho}")
    return float(rho)


def _check_dataset(ds) -> SpuriousDataset:
    if not isinstance(ds, SpuriousDataset):
        raise TypeError(f"ds must be a SpuriousDataset, got {type(ds).__name__}")
    return ds


def _as_long(v, name: str) -> torch.Tensor:
    if isinstance(v, np.ndarray):
        v = torch.from_numpy(v)
    elif isinstance(v, (list, tuple)):
        v = torch.tensor(v)
    if not isinstance(v, torch.Tensor):
        raise TypeError(f"{name} must be a tensor, array or list, got {type(v).__name__}")
    if v.dim() != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {tuple(v.shape)}")
    return v.detach().cpu().long()


# ======================================================================================
# Colored digits
# ======================================================================================
def _digits_split(seed: int) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)  # (1797, 8, 8) in [0, 1]
    labels = (digits.target >= 5).astype(np.int64)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(labels))
    n = len(labels)
    n_tr, n_val = int(0.6 * n), int(0.15 * n)
    parts = {"train": perm[:n_tr], "val": perm[n_tr : n_tr + n_val], "test": perm[n_tr + n_val :]}
    return images, labels, parts


def _colorize(images: np.ndarray, color: np.ndarray) -> torch.Tensor:
    """Put each 8x8 image in channel ``color`` (0 = red, 1 = green) of a 2x8x8 image."""
    out = np.zeros((len(images), 2, 8, 8), dtype=np.float32)
    out[np.arange(len(images)), color] = images
    return torch.from_numpy(out.reshape(len(images), -1))


def _attribute(y: np.ndarray, rho: float, rng: np.random.Generator) -> np.ndarray:
    agree = rng.random(len(y)) < rho
    return np.where(agree, y, 1 - y).astype(np.int64)


def _balanced_attribute(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An attribute independent of ``y`` with exactly balanced groups (up to one sample)."""
    a = np.zeros(len(y), dtype=np.int64)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        vals = np.arange(len(idx)) % 2
        a[idx] = rng.permutation(vals)
    return a


def _group_data(X: torch.Tensor, y: np.ndarray, a: np.ndarray) -> GroupData:
    y_t = torch.from_numpy(y).long()
    a_t = torch.from_numpy(a).long()
    return GroupData(X, y_t, 2 * y_t + a_t, a_t)


def colored_digits(rho: float = 0.95, seed: int = 0, val_rho: float | None = None) -> SpuriousDataset:
    """Colored digits: scikit-learn's 8x8 handwritten digits with a color shortcut.

    The label is ``digit >= 5``. Each image is drawn in one of two color channels (red or
    green, flattened to 128 inputs); the color equals the label with probability ``rho`` in
    the training, validation and in-distribution test splits, and is independent of the
    label, with balanced groups, in ``test``. Group id ``g = 2 * label + color``, so groups 1
    (small digit, green) and 2 (large digit, red) are the minority groups when ``rho`` is
    high. Splits (60/15/25 %) of the 1,797 images are drawn with ``seed``.

    ``val_rho`` sets the agreement in the validation split alone: ``val_rho=0.5`` gives a
    held-out split whose color is independent of the label, like the validation split of the
    Waterbirds benchmark. It changes only the validation colors; the training and test splits
    are the same as with ``val_rho=None``.

    Args:
        rho: probability that color agrees with the label in training (0.5 = no shortcut).
        seed: seeds the split and the colors.
        val_rho: agreement probability in the validation split (``None``: the same as ``rho``).

    Returns:
        A :class:`SpuriousDataset`.

    See: chapters/02_spurious_correlations/02_measuring_the_damage.
    """
    rho = _check_rho(rho, "rho")
    val_rho = rho if val_rho is None else _check_rho(val_rho, "val_rho")
    seed = check_positive_int(seed, "seed", minimum=0)
    images, labels, parts = _digits_split(seed)
    rng = np.random.default_rng(seed + 1000)
    splits = {}
    for name in ("train", "val", "test"):
        idx = parts[name]
        a = _attribute(labels[idx], val_rho if name == "val" else rho, rng)
        splits[name] = _group_data(_colorize(images[idx], a), labels[idx], a)
    idx = parts["test"]
    a_bal = _balanced_attribute(labels[idx], rng)
    test = _group_data(_colorize(images[idx], a_bal), labels[idx], a_bal)
    return SpuriousDataset(
        train=splits["train"],
        val=splits["val"],
        test_id=splits["test"],
        test=test,
        n_groups=4,
        group_names=["small digit, red", "small digit, green", "large digit, red", "large digit, green"],
        info={"name": "colored_digits", "rho": rho, "val_rho": val_rho, "seed": seed},
    )


def color_swap(X: torch.Tensor) -> torch.Tensor:
    """The counterfactual image: the same digit drawn in the other color channel.

    Args:
        X: colored-digit inputs ``(n, 128)`` as made by :func:`colored_digits`.

    Returns:
        A new tensor ``(n, 128)`` with the two 64-pixel channels exchanged.

    See: chapters/02_spurious_correlations/05_counterfactual_data.
    """
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"X must be a torch tensor, got {type(X).__name__}")
    if X.dim() != 2 or X.shape[1] != 128:
        raise ValueError(f"X must have shape (n, 128) (two 8x8 channels), got {tuple(X.shape)}")
    return torch.cat([X[:, 64:], X[:, :64]], dim=1)


# ======================================================================================
# Waterbirds-like tabular data
# ======================================================================================
def waterbirds_like(
    n_train: int = 2000,
    minority_frac: float = 0.05,
    core_noise: float = 1.0,
    spurious_noise: float = 0.3,
    d_core: int = 5,
    d_spurious: int = 5,
    d_noise: int = 10,
    seed: int = 0,
) -> SpuriousDataset:
    """A Waterbirds-like tabular benchmark: a noisy core feature and a clean background.

    The label ``y`` (landbird 0 / waterbird 1) shifts the mean of ``d_core`` noisy *core*
    coordinates; the background ``a`` (land 0 / water 1) shifts ``d_spurious`` cleaner
    *spurious* coordinates; ``d_noise`` coordinates are pure noise. In training the
    background agrees with the label except on a ``minority_frac`` share of points, so the
    minority groups (landbird on water, waterbird on land) hold a few percent of the data.
    The ``test`` split is group-balanced.

    Args:
        n_train: training points (validation and test splits have half as many).
        minority_frac: share of training points whose background disagrees with the label.
        core_noise: standard deviation of the core coordinates (class means are +-1).
        spurious_noise: standard deviation of the spurious coordinates (means +-1).
        d_core, d_spurious, d_noise: numbers of coordinates of each kind.
        seed: seeds the generator.

    Returns:
        A :class:`SpuriousDataset`.

    See: chapters/02_spurious_correlations/03_repairs_with_group_labels.
    """
    n_train = check_positive_int(n_train, "n_train", minimum=8)
    minority_frac = _check_rho(minority_frac, "minority_frac")
    core_noise = check_nonnegative(core_noise, "core_noise")
    spurious_noise = check_nonnegative(spurious_noise, "spurious_noise")
    d_core = check_positive_int(d_core, "d_core")
    d_spurious = check_positive_int(d_spurious, "d_spurious")
    d_noise = check_positive_int(d_noise, "d_noise", minimum=0)
    seed = check_positive_int(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)

    def make(n: int, balanced: bool) -> GroupData:
        y = rng.integers(0, 2, n)
        a = _balanced_attribute(y, rng) if balanced else _attribute(y, 1.0 - minority_frac, rng)
        core = (2 * y[:, None] - 1) + core_noise * rng.standard_normal((n, d_core))
        spur = (2 * a[:, None] - 1) + spurious_noise * rng.standard_normal((n, d_spurious))
        noise = rng.standard_normal((n, d_noise))
        X = torch.from_numpy(np.concatenate([core, spur, noise], axis=1).astype(np.float32))
        return _group_data(X, y.astype(np.int64), a)

    n_eval = max(n_train // 2, 8)
    return SpuriousDataset(
        train=make(n_train, False),
        val=make(n_eval, False),
        test_id=make(n_eval, False),
        test=make(n_eval, True),
        n_groups=4,
        group_names=["landbird, land", "landbird, water", "waterbird, land", "waterbird, water"],
        info={"name": "waterbirds_like", "minority_frac": minority_frac, "seed": seed},
    )


# ======================================================================================
# The LMS slab data (simplicity bias)
# ======================================================================================
def lms_slab(
    n: int = 2000,
    n_slabs: int = 5,
    d_noise: int = 48,
    margin: float = 0.1,
    linear_predictive: float = 1.0,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The linear + multi-slab (LMS) data of the simplicity-bias experiments.

    Coordinate 0 is *linear*: its sign gives the label (values in ``[margin, 1]`` for class 1
    and ``[-1, -margin]`` for class 0). Coordinate 1 is a *k-slab*: ``[-1, 1]`` is cut into
    ``n_slabs`` equal slabs whose labels alternate (the middle slab has class 1 for odd
    ``n_slabs``), with a small gap at each boundary. Both coordinates predict the label
    perfectly; the remaining ``d_noise`` coordinates are uniform noise on ``[-1, 1]``.
    With ``linear_predictive < 1`` the linear coordinate agrees with the label only on that
    share of points (the slab stays fully predictive).

    Args:
        n: number of points (balanced classes).
        n_slabs: number of slabs (odd, >= 3).
        d_noise: number of noise coordinates.
        margin: half-width of the gap around each decision boundary.
        linear_predictive: share of points whose linear coordinate agrees with the label.
        seed: seeds the generator.

    Returns:
        ``(X, y)``: float tensor ``(n, 2 + d_noise)`` and long tensor ``(n,)``.

    See: chapters/02_spurious_correlations/01_why_shortcuts.
    """
    n = check_positive_int(n, "n", minimum=2)
    n_slabs = check_positive_int(n_slabs, "n_slabs", minimum=3)
    if n_slabs % 2 == 0:
        raise ValueError(f"n_slabs must be odd, got {n_slabs}")
    d_noise = check_positive_int(d_noise, "d_noise", minimum=0)
    margin = check_fraction(margin, "margin", 0.0, 0.5)
    linear_predictive = check_fraction(linear_predictive, "linear_predictive", 0.0, 1.0)
    seed = check_positive_int(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 2)
    # linear coordinate
    lin_label = np.where(rng.random(n) < linear_predictive, y, 1 - y)
    lin = rng.uniform(margin, 1.0, n) * (2 * lin_label - 1)
    # slab coordinate: slab j covers [-1 + j w, -1 + (j+1) w]; label of slab j alternates
    w = 2.0 / n_slabs
    mid = n_slabs // 2
    slab_label = (np.arange(n_slabs) - mid) % 2 == 0  # middle slab -> class 1
    slab_label = slab_label.astype(np.int64)
    slab = np.empty(n)
    for c in (0, 1):
        idx = np.flatnonzero(y == c)
        choices = np.flatnonzero(slab_label == c)
        j = rng.choice(choices, len(idx))
        gap = margin * w / 2
        slab[idx] = -1 + j * w + rng.uniform(gap, w - gap, len(idx))
    noise = rng.uniform(-1, 1, (n, d_noise))
    X = np.concatenate([lin[:, None], slab[:, None], noise], axis=1).astype(np.float32)
    return torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))


def shuffle_coordinate(X: torch.Tensor, coord: int, seed: int = 0) -> torch.Tensor:
    """Permute one coordinate across the rows: it keeps its marginal but loses the label.

    Args:
        X: inputs ``(n, d)``.
        coord: index of the coordinate to shuffle.
        seed: seeds the permutation.

    Returns:
        A copy of ``X`` with column ``coord`` permuted.

    See: chapters/02_spurious_correlations/01_why_shortcuts.
    """
    if not isinstance(X, torch.Tensor) or X.dim() != 2:
        raise TypeError("X must be a 2-D torch tensor")
    if isinstance(coord, bool) or not isinstance(coord, (int, np.integer)) or not 0 <= coord < X.shape[1]:
        raise ValueError(f"coord must be an integer in [0, {X.shape[1]}), got {coord}")
    gen = torch.Generator().manual_seed(int(seed))
    out = X.clone()
    out[:, coord] = X[torch.randperm(len(X), generator=gen), coord]
    return out


# ======================================================================================
# Group metrics
# ======================================================================================
def group_accuracies(y_true, y_pred, groups, n_groups: int | None = None) -> dict[int, float]:
    """Accuracy within each group that has at least one point.

    Args:
        y_true, y_pred, groups: 1-D tensors, arrays or lists of equal length.
        n_groups: if given, group ids must lie in ``[0, n_groups)``.

    Returns:
        ``{group id: accuracy}`` for every group present.

    See: chapters/02_spurious_correlations/02_measuring_the_damage.
    """
    y_true, y_pred, groups = _as_long(y_true, "y_true"), _as_long(y_pred, "y_pred"), _as_long(groups, "groups")
    if not len(y_true) == len(y_pred) == len(groups):
        raise ValueError(
            f"y_true, y_pred and groups must have the same length, got {len(y_true)}, {len(y_pred)}, {len(groups)}"
        )
    if len(y_true) == 0:
        raise ValueError("y_true is empty")
    if n_groups is not None and (groups.min() < 0 or groups.max() >= n_groups):
        raise ValueError(f"groups must lie in [0, {n_groups}), got range [{groups.min()}, {groups.max()}]")
    correct = (y_true == y_pred).float()
    return {int(k): float(correct[groups == k].mean()) for k in torch.unique(groups)}


def worst_group_accuracy(y_true, y_pred, groups) -> float:
    """The lowest accuracy over the groups present: the number ERM's average hides.

    Args:
        y_true, y_pred, groups: 1-D tensors, arrays or lists of equal length.

    Returns:
        ``min_g accuracy(g)``.

    See: chapters/02_spurious_correlations/02_measuring_the_damage.
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

    See: chapters/02_spurious_correlations/02_measuring_the_damage.
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


@torch.no_grad()
def predict(model: nn.Module, X: torch.Tensor, batch: int = 4096) -> torch.Tensor:
    """Class predictions of ``model`` on ``X``, computed on the model's device.

    Args:
        model: a classifier mapping inputs to logits.
        X: inputs.
        batch: rows per forward pass.

    Returns:
        A long tensor of predicted classes, on the CPU.

    See: chapters/02_spurious_correlations/02_measuring_the_damage.
    """
    model.eval()
    device = next(model.parameters()).device
    out = [model(X[i : i + batch].to(device)).argmax(1).cpu() for i in range(0, len(X), batch)]
    return torch.cat(out)


def evaluate(model: nn.Module, ds: SpuriousDataset) -> dict[str, float]:
    """The metrics every method reports on a :class:`SpuriousDataset`.

    Args:
        model: a classifier mapping inputs to logits.
        ds: the dataset.

    Returns:
        ``avg_acc`` (in-distribution test accuracy), ``worst_group_acc`` (lowest accuracy
        over the groups of the balanced test split), ``balanced_acc`` (accuracy on the
        balanced test split) and ``group_<k>`` for each group's accuracy.

    See: chapters/02_spurious_correlations/02_measuring_the_damage.
    """
    ds = _check_dataset(ds)
    p_id = predict(model, ds.test_id.X)
    p = predict(model, ds.test.X)
    accs = group_accuracies(ds.test.y, p, ds.test.g)
    out = {
        "avg_acc": float((p_id == ds.test_id.y).float().mean()),
        "worst_group_acc": min(accs.values()),
        "balanced_acc": float((p == ds.test.y).float().mean()),
    }
    out.update({f"group_{k}": v for k, v in accs.items()})
    return out


# ======================================================================================
# Training
# ======================================================================================
def fit_classifier(
    X: torch.Tensor,
    y: torch.Tensor,
    weights: torch.Tensor | None = None,
    width: int = 128,
    depth: int = 1,
    steps: int = 300,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    batch_size: int | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    model: nn.Module | None = None,
) -> nn.Module:
    """Fit a ReLU MLP classifier with (optionally per-example weighted) cross-entropy.

    Args:
        X, y: training inputs and long labels.
        weights: optional non-negative per-example weights (normalized to mean 1).
        width, depth: MLP size (``depth`` hidden layers); ``depth=0`` gives a linear model.
        steps: Adam steps.
        lr: learning rate.
        weight_decay: L2 penalty.
        batch_size: ``None`` for full batch.
        seed: seeds initialization and minibatch order.
        device: where to train (default CPU).
        model: continue training this model instead of making a new one.

    Returns:
        The trained model.

    See: chapters/02_spurious_correlations/02_measuring_the_damage.
    """
    from .core import train

    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError("X and y must be torch tensors")
    device = torch.device(device) if device is not None else torch.device("cpu")
    n_classes = int(y.max()) + 1 if len(y) else 2
    n_classes = max(n_classes, 2)
    torch.manual_seed(int(seed))
    if model is None:
        depth = check_positive_int(depth, "depth", minimum=0)
        if depth == 0:
            model = nn.Linear(X.shape[1], n_classes)
        else:
            model = make_mlp(X.shape[1], n_classes, width=width, depth=depth)
    model = model.to(device)
    if weights is None:
        target = y
        loss_fn = F.cross_entropy
    else:
        if not isinstance(weights, torch.Tensor) or weights.shape != y.shape:
            raise ValueError("weights must be a tensor with the same shape as y")
        if (weights < 0).any():
            raise ValueError("weights must be non-negative")
        w = weights.float() / weights.float().mean()
        target = torch.stack([y.float(), w], 1)

        def loss_fn(logits, t):
            return (F.cross_entropy(logits, t[:, 0].long(), reduction="none") * t[:, 1]).mean()

    train(model, X, target, loss_fn, steps=steps, lr=lr, weight_decay=weight_decay,
          batch_size=batch_size, eval_every=steps, seed=seed)
    model.eval()
    return model


_DEFAULTS = dict(width=128, depth=1, steps=300, lr=1e-3, weight_decay=0.0, batch_size=None)


def _fit_kwargs(kwargs: dict) -> dict:
    out = dict(_DEFAULTS)
    unknown = set(kwargs) - set(out) - {"seed", "device"}
    if unknown:
        raise TypeError(f"unknown training argument(s): {sorted(unknown)}")
    out.update(kwargs)
    return out


def erm(ds: SpuriousDataset, **kwargs) -> tuple[nn.Module, dict[str, float]]:
    """Empirical risk minimization: plain average cross-entropy on the training split.

    Args:
        ds: the dataset.
        **kwargs: training settings of :func:`fit_classifier` (``width``, ``depth``,
            ``steps``, ``lr``, ``weight_decay``, ``batch_size``, ``seed``, ``device``).

    Returns:
        ``(model, metrics)`` with the metrics of :func:`evaluate`.

    See: chapters/02_spurious_correlations/02_measuring_the_damage.
    """
    ds = _check_dataset(ds)
    model = fit_classifier(ds.train.X, ds.train.y, **_fit_kwargs(kwargs))
    return model, evaluate(model, ds)


def reweight(ds: SpuriousDataset, **kwargs) -> tuple[nn.Module, dict[str, float]]:
    """Group reweighting: each training point weighs ``1 / (size of its group)``, so every
    group contributes equally to the loss (needs group labels on the training set).

    Args:
        ds: the dataset.
        **kwargs: training settings of :func:`fit_classifier`.

    Returns:
        ``(model, metrics)``.

    See: chapters/02_spurious_correlations/03_repairs_with_group_labels.
    """
    ds = _check_dataset(ds)
    counts = torch.bincount(ds.train.g, minlength=ds.n_groups).float()
    w = 1.0 / counts[ds.train.g]
    model = fit_classifier(ds.train.X, ds.train.y, weights=w, **_fit_kwargs(kwargs))
    return model, evaluate(model, ds)


def group_dro_update(q: torch.Tensor, group_losses: torch.Tensor, eta: float) -> torch.Tensor:
    """One exponentiated-gradient step of GroupDRO's group weights.

    ``q_g <- q_g * exp(eta * loss_g)``, then renormalized: weight flows toward the groups
    with the highest loss.

    Args:
        q: current weights over groups (non-negative, sums to 1).
        group_losses: the current loss of each group (same shape as ``q``).
        eta: step size (>= 0).

    Returns:
        The new weights, a probability vector.

    See: chapters/02_spurious_correlations/03_repairs_with_group_labels.
    """
    if not isinstance(q, torch.Tensor) or not isinstance(group_losses, torch.Tensor):
        raise TypeError("q and group_losses must be torch tensors")
    if q.shape != group_losses.shape or q.dim() != 1:
        raise ValueError(f"q and group_losses must be 1-D of the same shape, got {tuple(q.shape)} and {tuple(group_losses.shape)}")
    if (q < 0).any() or not torch.isclose(q.sum(), torch.tensor(1.0, dtype=q.dtype), atol=1e-4):
        raise ValueError("q must be a probability vector (non-negative, summing to 1)")
    eta = check_nonnegative(eta, "eta")
    q = q * torch.exp(eta * group_losses.detach())
    return q / q.sum()


def group_dro(
    ds: SpuriousDataset, eta: float = 0.1, return_history: bool = False, **kwargs
) -> tuple[nn.Module, dict[str, float]]:
    """Online GroupDRO: minimize the q-weighted sum of group losses while q moves toward
    the worst group by exponentiated gradient (:func:`group_dro_update`).

    Args:
        ds: the dataset (group labels on the training split are used).
        eta: step size of the group weights.
        return_history: also record the group weights (``metrics["q_history"]``).
        **kwargs: training settings of :func:`fit_classifier`.

    Returns:
        ``(model, metrics)``; ``metrics["q"]`` holds the final group weights.

    See: chapters/02_spurious_correlations/03_repairs_with_group_labels.
    """
    ds = _check_dataset(ds)
    eta = check_nonnegative(eta, "eta")
    kw = _fit_kwargs(kwargs)
    seed, device = kw.pop("seed", 0), kw.pop("device", None)
    device = torch.device(device) if device is not None else torch.device("cpu")
    torch.manual_seed(int(seed))
    model = make_mlp(ds.in_dim, 2, width=kw["width"], depth=kw["depth"]) if kw["depth"] > 0 else nn.Linear(ds.in_dim, 2)
    model = model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=kw["lr"], weight_decay=kw["weight_decay"])
    X, y, g = ds.train.X.to(device), ds.train.y.to(device), ds.train.g.to(device)
    q = torch.full((ds.n_groups,), 1.0 / ds.n_groups, device=device)
    onehot = F.one_hot(g, ds.n_groups).float()  # (n, G)
    counts = onehot.sum(0).clamp(min=1)
    gen = torch.Generator().manual_seed(int(seed))
    history = []
    model.train()
    for _ in range(kw["steps"]):
        if kw["batch_size"] is None:
            idx = slice(None)
        else:
            idx = torch.randint(0, len(y), (kw["batch_size"],), generator=gen).to(device)
        losses = F.cross_entropy(model(X[idx]), y[idx], reduction="none")
        oh = onehot[idx]
        cnt = oh.sum(0) if kw["batch_size"] is not None else counts
        group_losses = (oh * losses[:, None]).sum(0) / cnt.clamp(min=1)
        present = cnt > 0
        q = group_dro_update(q, torch.where(present, group_losses, torch.zeros_like(group_losses)), eta)
        loss = (q * group_losses).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if return_history:
            history.append(q.detach().cpu().numpy().copy())
    model.eval()
    metrics = evaluate(model, ds)
    metrics["q"] = q.detach().cpu().numpy()
    if return_history:
        metrics["q_history"] = np.array(history)
    return model, metrics


@torch.no_grad()
def features(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """The penultimate-layer representation of an MLP made by :func:`fit_classifier`.

    Args:
        model: an ``nn.Sequential`` whose last module is the linear classifier.
        X: inputs.

    Returns:
        The activations fed to the last layer, on the CPU.

    See: chapters/02_spurious_correlations/03_repairs_with_group_labels.
    """
    if not isinstance(model, nn.Sequential) or not isinstance(model[-1], nn.Linear):
        raise TypeError("model must be an nn.Sequential ending in an nn.Linear layer")
    model.eval()
    device = next(model.parameters()).device
    return model[:-1](X.to(device)).cpu()


def _balanced_subset(data: GroupData, per_group: int, n_groups: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    idx = []
    for k in range(n_groups):
        members = np.flatnonzero(data.g.numpy() == k)
        if len(members) == 0:
            raise ValueError(f"group {k} has no points in the held-out split")
        idx.append(rng.choice(members, min(per_group, len(members)), replace=False))
    return torch.from_numpy(np.concatenate(idx))


def _l1_logistic(C: float):
    """An L1-penalized logistic regression (liblinear), across scikit-learn versions."""
    import sklearn
    from sklearn.linear_model import LogisticRegression

    major, minor = (int(v) for v in sklearn.__version__.split(".")[:2])
    if (major, minor) >= (1, 8):
        return LogisticRegression(C=C, l1_ratio=1.0, solver="liblinear", max_iter=3000)
    return LogisticRegression(C=C, penalty="l1", solver="liblinear", max_iter=3000)


def _dfr_fit(Z: np.ndarray, y: np.ndarray, g: np.ndarray, n_groups: int, C: float, n_subsets: int,
             seed: int) -> tuple[np.ndarray, float]:
    """Average the weights of L1 logistic regressions fitted on random group-balanced subsets."""
    counts = np.bincount(g, minlength=n_groups)
    if counts.min() == 0:
        raise ValueError(f"every group needs held-out points; got group counts {counts.tolist()}")
    rng = np.random.default_rng(seed)
    coefs, intercepts = [], []
    for _ in range(n_subsets):
        idx = np.concatenate([rng.choice(np.flatnonzero(g == k), counts.min(), replace=False) for k in range(n_groups)])
        if len(np.unique(y[idx])) < 2:
            raise ValueError("a balanced subset holds a single class; the held-out split is too small")
        clf = _l1_logistic(C).fit(Z[idx], y[idx])
        coefs.append(clf.coef_[0])
        intercepts.append(clf.intercept_[0])
    return np.mean(coefs, 0), float(np.mean(intercepts))


def _linear_worst_group(coef: np.ndarray, b: float, Z: np.ndarray, y: np.ndarray, g: np.ndarray) -> float:
    pred = (Z @ coef + b > 0).astype(np.int64)
    return min(float((pred[g == k] == y[g == k]).mean()) for k in np.unique(g))


def last_layer_retrain(
    ds: SpuriousDataset,
    base_model: nn.Module | None = None,
    n_subsets: int = 10,
    C: float | None = None,
    Cs: Sequence[float] = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0),
    n_splits: int = 5,
    **kwargs,
) -> tuple[nn.Module, dict]:
    """Last-layer retraining (deep feature reweighting): keep an ERM model's features and
    refit only its last layer on group-balanced subsets of a held-out split.

    The recipe of Kirichenko et al.: standardize the held-out features, fit an
    L1-penalized logistic regression (scikit-learn, liblinear) on each of ``n_subsets``
    random subsets in which every group is cut down to the size of the smallest group, and
    average the weights. When ``C`` is ``None`` the regularization strength is chosen from
    ``Cs`` on the held-out split alone: for each of ``n_splits`` random halvings of
    ``ds.val`` (stratified by group), fit on one half and score worst-group accuracy on the
    other, both ways round; the ``C`` with the best mean score is then refitted on the whole
    held-out split. The test splits are never looked at.

    Args:
        ds: the dataset; the balanced subsets are drawn from ``ds.val``.
        base_model: a trained ERM model (trained here with ``**kwargs`` when ``None``).
        n_subsets: number of balanced subsets to average over.
        C: inverse L1 strength; ``None`` to choose it from ``Cs`` as above.
        Cs: candidate values of ``C``.
        n_splits: random halvings of the held-out split used to choose ``C``.
        **kwargs: training settings of :func:`fit_classifier` for the base model.

    Returns:
        ``(model, metrics)``: a copy of the base model with a new last layer;
        ``metrics["n_balanced"]`` is the size of one balanced subset, ``metrics["C"]`` the
        regularization used, ``metrics["val_scores"]`` the held-out worst-group accuracy of
        each candidate (empty when ``C`` is given) and ``metrics["n_nonzero"]`` the number
        of features the new last layer uses.

    See: chapters/02_spurious_correlations/03_repairs_with_group_labels.
    """
    import copy

    ds = _check_dataset(ds)
    n_subsets = check_positive_int(n_subsets, "n_subsets")
    n_splits = check_positive_int(n_splits, "n_splits")
    if C is not None:
        C = check_positive(C, "C")
    Cs = [float(c) for c in Cs]
    if not Cs or min(Cs) <= 0:
        raise ValueError(f"Cs must be a non-empty list of positive numbers, got {Cs}")
    kw = _fit_kwargs(kwargs)
    seed = int(kw.get("seed", 0))
    if base_model is None:
        base_model = fit_classifier(ds.train.X, ds.train.y, **kw)
    Z = features(base_model, ds.val.X).numpy().astype(np.float64)
    mu, sd = Z.mean(0), Z.std(0) + 1e-6
    Zs = (Z - mu) / sd
    g, yv = ds.val.g.numpy(), ds.val.y.numpy()
    counts = np.bincount(g, minlength=ds.n_groups)
    if counts.min() == 0:
        raise ValueError(f"every group needs held-out points; ds.val has group counts {counts.tolist()}")
    scores: dict[float, float] = {}
    if C is None:
        if counts.min() < 2:
            raise ValueError(f"choosing C needs >= 2 held-out points per group; ds.val has {counts.tolist()}")
        rng = np.random.default_rng(seed)
        halves = []
        for _ in range(n_splits):
            half = np.zeros(len(yv), dtype=bool)
            for k in range(ds.n_groups):
                members = rng.permutation(np.flatnonzero(g == k))
                half[members[: len(members) // 2]] = True
            halves += [(half, ~half), (~half, half)]
        for c in Cs:
            accs = []
            for fit_on, score_on in halves:
                coef, b = _dfr_fit(Zs[fit_on], yv[fit_on], g[fit_on], ds.n_groups, c, n_subsets, seed)
                accs.append(_linear_worst_group(coef, b, Zs[score_on], yv[score_on], g[score_on]))
            scores[c] = float(np.mean(accs))
        C = max(Cs, key=lambda c: scores[c])
    coef_s, b_s = _dfr_fit(Zs, yv, g, ds.n_groups, C, n_subsets, seed)
    coef = coef_s / sd  # undo the standardization
    b = float(b_s - (coef_s * mu / sd).sum())
    model = copy.deepcopy(base_model)
    head = model[-1]
    with torch.no_grad():
        c_t = torch.tensor(coef, dtype=head.weight.dtype, device=head.weight.device)
        head.weight.copy_(torch.stack([-c_t / 2, c_t / 2]))
        head.bias.copy_(torch.tensor([-b / 2, b / 2], dtype=head.bias.dtype, device=head.bias.device))
    metrics: dict = evaluate(model, ds)
    metrics["n_balanced"] = int(counts.min() * ds.n_groups)
    metrics["C"] = float(C)
    metrics["val_scores"] = scores
    metrics["n_nonzero"] = int((np.abs(coef_s) > 1e-10).sum())
    return model, metrics


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

    See: chapters/02_spurious_correlations/02_measuring_the_damage.
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


# ======================================================================================
# Cue-conflict sprites (which cue does a network choose?)
# ======================================================================================
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

    See: chapters/02_spurious_correlations/01_why_shortcuts.
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

    See: chapters/02_spurious_correlations/01_why_shortcuts.
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

    See: chapters/02_spurious_correlations/01_why_shortcuts.
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


# ======================================================================================
# Feature contamination
# ======================================================================================
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

    See: chapters/02_spurious_correlations/01_why_shortcuts.
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

    See: chapters/02_spurious_correlations/01_why_shortcuts.
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

    See: chapters/02_spurious_correlations/01_why_shortcuts.
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


# ======================================================================================
# Plots
# ======================================================================================


def plot_lms_slab(X: torch.Tensor, y: torch.Tensor, ax=None, n_max: int = 600):
    """Scatter the linear (x-axis) and slab (y-axis) coordinates of LMS data by class.

    See: chapters/02_spurious_correlations/01_why_shortcuts.
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

    See: chapters/02_spurious_correlations/01_why_shortcuts.
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


# ======================================================================================
# Sweeps and plots for measuring the damage
# ======================================================================================
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

    See: chapters/02_spurious_correlations/02_measuring_the_damage.
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

    See: chapters/02_spurious_correlations/02_measuring_the_damage.
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


def plot_colored_digits(data: GroupData, n: int = 10):
    """Show the first ``n`` colored digits of a split, titled with their labels.

    Args:
        data: a split of :func:`colored_digits`.
        n: number of images.

    Returns:
        The matplotlib figure.

    See: chapters/02_spurious_correlations/02_measuring_the_damage.
    """
    import matplotlib.pyplot as plt

    n = check_positive_int(n, "n")
    n = min(n, len(data))
    fig, axes = plt.subplots(1, n, figsize=(1.1 * n, 1.5))
    axes = np.atleast_1d(axes)
    for ax, i in zip(axes, range(n)):
        img = data.X[i].view(2, 8, 8).numpy()
        rgb = np.dstack([img[0], img[1], np.zeros_like(img[0])])
        ax.imshow(rgb)
        ax.set_title(f"y={int(data.y[i])}", fontsize=9)
        ax.axis("off")
    return fig


# ======================================================================================
# Repairs without group labels
# ======================================================================================
def jtt(
    ds: SpuriousDataset,
    first_steps: int = 50,
    upweight: float = 20.0,
    identifier: nn.Module | None = None,
    **kwargs,
) -> tuple[nn.Module, dict[str, float]]:
    """Just Train Twice: train briefly, then retrain with the first model's errors upweighted.

    Stage 1 trains an ERM model for only ``first_steps`` steps (or uses ``identifier``); the
    training examples it misclassifies form the *error set*. Stage 2 trains a fresh model in
    which every error-set example weighs ``upweight`` times as much. No group labels are used.

    Args:
        ds: the dataset (its group labels are used only for evaluation and for reporting how
            many error-set points are bias-conflicting).
        first_steps: training steps of the identification model.
        upweight: weight of error-set examples relative to the others.
        identifier: an already trained stage-1 model (then ``first_steps`` is ignored).
        **kwargs: training settings of :func:`fit_classifier` for both stages (``steps``
            applies to stage 2).

    Returns:
        ``(model, metrics)``; ``metrics`` adds ``error_set_size`` and
        ``error_set_minority_share`` (share of the error set in bias-conflicting groups).

    See: chapters/02_spurious_correlations/04_repairs_without_group_labels.
    """
    ds = _check_dataset(ds)
    first_steps = check_positive_int(first_steps, "first_steps")
    upweight = check_positive(upweight, "upweight")
    kw = _fit_kwargs(kwargs)
    if identifier is None:
        identifier = fit_classifier(ds.train.X, ds.train.y, **{**kw, "steps": first_steps})
    errors = predict(identifier, ds.train.X) != ds.train.y
    w = torch.where(errors, torch.tensor(float(upweight)), torch.tensor(1.0))
    model = fit_classifier(ds.train.X, ds.train.y, weights=w, **kw)
    metrics = evaluate(model, ds)
    conflicting = ds.train.a != ds.train.y
    metrics["error_set_size"] = int(errors.sum())
    metrics["error_set_minority_share"] = float(conflicting[errors].float().mean()) if errors.any() else 0.0
    return model, metrics


def color_ink(X: torch.Tensor) -> torch.Tensor:
    """The total ink in each color channel of colored digits: two numbers per image.

    A model on these inputs can tell the color of a digit but not its shape, so it is biased
    by design: it can only learn the shortcut.

    Args:
        X: colored-digit inputs ``(n, 128)`` (two 8x8 channels, flattened).

    Returns:
        A float tensor ``(n, 2)``.

    See: chapters/02_spurious_correlations/04_repairs_without_group_labels.
    """
    if not isinstance(X, torch.Tensor) or X.dim() != 2 or X.shape[1] != 128:
        raise ValueError(f"X must be a colored-digits tensor of shape (n, 128), got {getattr(X, 'shape', type(X))}")
    return X.reshape(len(X), 2, 64).sum(2)


def conditional_independence_penalty(score: torch.Tensor, bias: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Sum over classes of the squared correlation between a model's score and a bias score,
    computed within each class.

    Zero when, inside every class, the model's output carries no linear trace of the bias;
    1 per class when it is a linear function of the bias there.

    Args:
        score: the model's scores ``(n,)`` (e.g. logit differences).
        bias: the biased model's scores ``(n,)``.
        y: class labels ``(n,)``.

    Returns:
        A scalar tensor.

    See: chapters/02_spurious_correlations/04_repairs_without_group_labels.
    """
    if not all(isinstance(t, torch.Tensor) for t in (score, bias, y)):
        raise TypeError("score, bias and y must be torch tensors")
    if not (score.shape == bias.shape == y.shape) or score.dim() != 1:
        raise ValueError(f"score, bias and y must be 1-D with one shape, got {tuple(score.shape)}, "
                         f"{tuple(bias.shape)}, {tuple(y.shape)}")
    total = score.new_zeros(())
    for c in torch.unique(y):
        m = y == c
        if int(m.sum()) < 2:
            continue
        s_c, b_c = score[m] - score[m].mean(), bias[m] - bias[m].mean()
        corr = (s_c * b_c).mean() / (s_c.pow(2).mean().sqrt() * b_c.pow(2).mean().sqrt() + 1e-8)
        total = total + corr**2
    return total


def debias_by_independence(
    ds: SpuriousDataset,
    bias_input: Callable[[torch.Tensor], torch.Tensor] = color_ink,
    lam: float = 1.0,
    bias_steps: int = 500,
    within_class: bool = True,
    score: str = "prob",
    **kwargs,
) -> tuple[nn.Module, dict[str, float]]:
    """Train against a model that is biased by design (in the spirit of ReBias).

    First a logistic regression on ``bias_input(X)`` (by default the ink of each color
    channel, which shows color but not shape) is fitted to the labels: it can only learn the
    shortcut. Then the main MLP minimizes the cross-entropy plus ``lam`` times
    :func:`conditional_independence_penalty` between its predicted probability of class 1
    (or, with ``score="logit"``, its logit difference) and the biased model's logit
    difference, so that within each class its prediction must not follow the bias. No group
    or color labels are used: only the *kind* of bias enters, through ``bias_input``.

    Why the probability by default: the logit differences of confidently classified majority
    examples keep growing during training, so they set the scale of a logit correlation and
    the few bias-conflicting examples barely move it. A network can then reach zero logit
    correlation while its predictions still follow the bias (colored digits at rho = 0.95,
    seed 4, 1,000 steps: mean predicted probability of "large" 0.21 for green small training
    digits against 0.08 for red ones). A probability is bounded, and a wrongly predicted
    bias-conflicting example sits at the far end of [0, 1], where it weighs most.

    Args:
        ds: the dataset (group labels used for evaluation only).
        bias_input: maps inputs to what the biased model may see.
        lam: weight of the independence penalty.
        bias_steps: Adam steps of the biased model (learning rate 0.01).
        within_class: compute the penalty within each class (default); ``False`` asks for
            independence over all training points at once.
        score: what must be independent of the bias: ``"prob"`` (the predicted probability
            of class 1, default) or ``"logit"`` (the logit difference).
        **kwargs: training settings of :func:`fit_classifier` for the main model.

    Returns:
        ``(model, metrics)``; ``metrics`` adds ``bias_model_color_agreement``, the share of
        training points on which the biased model predicts the color (computed with the
        color labels, to check the design).

    See: chapters/02_spurious_correlations/04_repairs_without_group_labels.
    """
    from .core import train

    ds = _check_dataset(ds)
    lam = check_nonnegative(lam, "lam")
    if not callable(bias_input):
        raise TypeError("bias_input must be a function of the inputs")
    if score not in ("prob", "logit"):
        raise ValueError(f"score must be 'prob' or 'logit', got {score!r}")
    kw = _fit_kwargs(kwargs)
    seed = kw.get("seed", 0)
    Xb = bias_input(ds.train.X)
    biased = fit_classifier(Xb, ds.train.y, depth=0, steps=bias_steps, lr=1e-2, seed=seed)
    with torch.no_grad():
        lb = biased(Xb)
    b = lb[:, 1] - lb[:, 0]
    device = torch.device(kw["device"]) if kw.get("device") is not None else torch.device("cpu")
    torch.manual_seed(int(seed))
    model = make_mlp(ds.in_dim, 2, width=kw["width"], depth=kw["depth"]).to(device)
    target = torch.stack([ds.train.y.float(), b], 1)

    def loss_fn(logits: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        y = t[:, 0].long()
        s = torch.softmax(logits, 1)[:, 1] if score == "prob" else logits[:, 1] - logits[:, 0]
        groups = y if within_class else torch.zeros_like(y)
        return F.cross_entropy(logits, y) + lam * conditional_independence_penalty(s, t[:, 1], groups)

    train(model, ds.train.X, target, loss_fn, steps=kw["steps"], lr=kw["lr"], weight_decay=kw["weight_decay"],
          batch_size=kw["batch_size"], eval_every=kw["steps"], seed=seed)
    model.eval()
    metrics = evaluate(model, ds)
    metrics["bias_model_color_agreement"] = float((lb.argmax(1) == ds.train.a).float().mean())
    return model, metrics


# ======================================================================================
# Counterfactual data
# ======================================================================================
def counterfactual_augment(
    ds: SpuriousDataset,
    fraction: float = 1.0,
    transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    **kwargs,
) -> tuple[nn.Module, dict[str, float]]:
    """Counterfactual data augmentation: add an intervened copy of training examples.

    For a random ``fraction`` of the training examples, a counterfactual copy is made by
    changing only the spurious attribute (for colored digits, :func:`color_swap`: the same
    digit in the other color) and keeping the label. ERM is then trained on the originals
    plus the copies.

    Args:
        ds: the dataset.
        fraction: share of training examples that get a counterfactual copy, in (0, 1].
        transform: the intervention (default :func:`color_swap`).
        **kwargs: training settings of :func:`fit_classifier`.

    Returns:
        ``(model, metrics)``; ``metrics["n_augmented"]`` is the number of copies added.

    See: chapters/02_spurious_correlations/05_counterfactual_data.
    """
    ds = _check_dataset(ds)
    fraction = check_fraction(fraction, "fraction")
    transform = color_swap if transform is None else transform
    if not callable(transform):
        raise TypeError("transform must be callable")
    kw = _fit_kwargs(kwargs)
    gen = torch.Generator().manual_seed(int(kw.get("seed", 0)))
    n = len(ds.train)
    idx = torch.randperm(n, generator=gen)[: max(1, round(fraction * n))]
    X = torch.cat([ds.train.X, transform(ds.train.X[idx])])
    y = torch.cat([ds.train.y, ds.train.y[idx]])
    model = fit_classifier(X, y, **kw)
    metrics = evaluate(model, ds)
    metrics["n_augmented"] = len(idx)
    return model, metrics


def synthetic_copy(X: torch.Tensor, artifact: float = 1.0) -> torch.Tensor:
    """A "generated" counterfactual: the color-swapped image with a generator artifact.

    Real generators leave traces; here the trace is ``artifact`` added to the top-left
    pixel of both channels, so synthetic images are recognizable by a single feature.

    Args:
        X: colored-digit inputs ``(n, 128)``.
        artifact: intensity of the trace (0 = a perfect generator).

    Returns:
        The synthetic images ``(n, 128)``.

    See: chapters/02_spurious_correlations/05_counterfactual_data.
    """
    artifact = check_nonnegative(artifact, "artifact")
    out = color_swap(X)
    out[:, 0] += artifact
    out[:, 64] += artifact
    return out


def synthetic_fill(
    ds: SpuriousDataset, artifact: float = 1.0, **kwargs
) -> tuple[nn.Module, dict[str, float]]:
    """Fill the minority groups with synthetic images and train ERM on real + synthetic.

    Every majority-group training image gets a synthetic copy in the other color
    (:func:`synthetic_copy`), which lands in a minority group; real and synthetic images are
    mixed in one training set, so the groups are balanced but the synthetic ones carry the
    artifact.

    Args:
        ds: colored digits.
        artifact: intensity of the generator trace.
        **kwargs: training settings of :func:`fit_classifier`.

    Returns:
        ``(model, metrics)``.

    See: chapters/02_spurious_correlations/05_counterfactual_data.
    """
    ds = _check_dataset(ds)
    kw = _fit_kwargs(kwargs)
    majority = ds.train.a == ds.train.y
    X = torch.cat([ds.train.X, synthetic_copy(ds.train.X[majority], artifact)])
    y = torch.cat([ds.train.y, ds.train.y[majority]])
    model = fit_classifier(X, y, **kw)
    return model, evaluate(model, ds)


def fake_to_real(
    ds: SpuriousDataset, artifact: float = 1.0, finetune_steps: int = 100, **kwargs
) -> tuple[nn.Module, dict[str, float]]:
    """Pretrain on balanced synthetic data only, then fine-tune on the real training data.

    The synthetic set holds a synthetic copy of every training image in both colors, so
    color carries no label information there and every image has the artifact; real and
    synthetic images never meet in one training stage.

    Args:
        ds: colored digits.
        artifact: intensity of the generator trace.
        finetune_steps: Adam steps on the real data after pretraining.
        **kwargs: training settings of :func:`fit_classifier` (``steps`` for pretraining).

    Returns:
        ``(model, metrics)``.

    See: chapters/02_spurious_correlations/05_counterfactual_data.
    """
    ds = _check_dataset(ds)
    finetune_steps = check_positive_int(finetune_steps, "finetune_steps")
    kw = _fit_kwargs(kwargs)
    X = ds.train.X
    Xs = torch.cat([synthetic_copy(color_swap(X), artifact), synthetic_copy(X, artifact)])
    ys = torch.cat([ds.train.y, ds.train.y])
    model = fit_classifier(Xs, ys, **kw)
    model = fit_classifier(X, ds.train.y, model=model, **{**kw, "steps": finetune_steps})
    return model, evaluate(model, ds)


# ======================================================================================
# Invariance across environments (linear regression)
# ======================================================================================
def linear_environments(
    noises: Sequence[float] = (0.5, 1.0),
    n: int = 5000,
    flip: bool = False,
    seed: int = 0,
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Linear regression environments with an invariant cause and a spurious effect.

    In every environment ``x1 ~ N(0, 1)``, ``y = x1 + N(0, 1)`` (the invariant mechanism)
    and ``x2 = s * y + N(0, sigma_e^2)``, an effect of ``y`` whose noise ``sigma_e``
    differs between environments; ``s = +1`` in training and ``s = -1`` with ``flip=True``
    (the spurious coefficient flips at test).

    Args:
        noises: ``sigma_e`` of each environment.
        n: points per environment.
        flip: make ``x2`` anti-correlated with ``y``.
        seed: seeds the generator.

    Returns:
        A list of ``(X, y)`` pairs, ``X`` of shape ``(n, 2)`` and ``y`` of shape ``(n,)``.

    See: chapters/02_spurious_correlations/06_invariance.
    """
    if not noises:
        raise ValueError("noises must name at least one environment")
    n = check_positive_int(n, "n", minimum=2)
    gen = torch.Generator().manual_seed(int(seed))
    envs = []
    for sigma in noises:
        sigma = check_nonnegative(sigma, "noise")
        x1 = torch.randn(n, generator=gen)
        y = x1 + torch.randn(n, generator=gen)
        x2 = (-1.0 if flip else 1.0) * y + sigma * torch.randn(n, generator=gen)
        envs.append((torch.stack([x1, x2], 1), y))
    return envs


def irmv1_penalty(beta: torch.Tensor, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """IRMv1's penalty for a linear representation ``phi = X @ beta`` and a scalar classifier
    fixed at 1: the squared derivative of the squared-error risk with respect to that scalar.

    Equals ``(2 (E[phi^2] - E[phi y]))^2``; it vanishes when 1 is the best scale for ``phi``
    in this environment, and also whenever ``phi`` is close to zero.

    See: chapters/02_spurious_correlations/06_invariance.
    """
    phi = X @ beta
    return (2 * ((phi * phi).mean() - (phi * y).mean())) ** 2


def scale_penalty(beta: torch.Tensor, X: torch.Tensor, y: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """The distance of the environment's optimal scalar classifier from 1, ``(1 - w_e)^2`` with
    ``w_e = E[phi y] / E[phi^2]``: IRMv1's gradient divided by the (here one-by-one)
    Gramian ``E[phi^2]`` of the representation, so it does not vanish as ``phi`` shrinks.

    See: chapters/02_spurious_correlations/06_invariance.
    """
    phi = X @ beta
    gram = (phi * phi).mean()
    return (1 - (phi * y).mean() / (gram + eps)) ** 2


def _moments(X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Second moments of one environment: the Gramian ``E[x x^T]``, ``E[x y]`` and ``E[y^2]``."""
    n = len(y)
    return X.T @ X / n, X.T @ y / n, (y * y).mean()


def fit_invariant_linear(
    envs: list[tuple[torch.Tensor, torch.Tensor]],
    penalty: str = "none",
    lam: float = 1e4,
    steps: int = 20000,
    lr: float = 1e-2,
    warmup: int = 1000,
    seed: int = 0,
) -> torch.Tensor:
    """Fit ``y ~ X @ beta`` on several environments with an optional invariance penalty.

    Minimizes the mean over environments of the squared error plus ``lam`` times the mean
    penalty. The first ``warmup`` Adam steps use penalty weight 1 and learning rate ``lr``;
    after that the weight is ``lam`` and the learning rate ``lr / 10``. Squared errors and
    penalties of a linear model depend on the data only through second moments, so every
    step costs the same whatever the number of points.

    Args:
        envs: a list of ``(X, y)`` environments (see :func:`linear_environments`).
        penalty: ``"none"`` (ERM), ``"irmv1"`` (:func:`irmv1_penalty`) or ``"scale"``
            (:func:`scale_penalty`).
        lam: penalty weight after warmup.
        steps: Adam steps.
        lr: learning rate.
        warmup: steps with penalty weight 1.
        seed: seeds the initialization.

    Returns:
        The fitted coefficients ``beta`` (a tensor of shape ``(d,)``).

    See: chapters/02_spurious_correlations/06_invariance.
    """
    if penalty not in ("none", "irmv1", "scale"):
        raise ValueError(f"penalty must be 'none', 'irmv1' or 'scale', got {penalty!r}")
    if not envs:
        raise ValueError("envs must not be empty")
    lam = check_nonnegative(lam, "lam")
    steps = check_positive_int(steps, "steps")
    moments = [_moments(X.double(), y.double()) for X, y in envs]
    gen = torch.Generator().manual_seed(int(seed))
    beta = (0.1 * torch.randn(envs[0][0].shape[1], generator=gen)).double().requires_grad_()
    opt = torch.optim.Adam([beta], lr=lr)
    for step in range(steps):
        if step == warmup:
            for group in opt.param_groups:
                group["lr"] = lr / 10
        risks, pens = [], []
        for G, b, yy in moments:
            quad, lin = beta @ G @ beta, beta @ b
            risks.append(quad - 2 * lin + yy)
            if penalty == "irmv1":
                pens.append((2 * (quad - lin)) ** 2)
            elif penalty == "scale":
                pens.append((1 - lin / (quad + 1e-8)) ** 2)
        loss = torch.stack(risks).mean()
        if pens:
            loss = loss + (1.0 if step < warmup else lam) * torch.stack(pens).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return beta.detach().float()


def linear_test_error(beta: torch.Tensor, envs: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
    """Mean squared error of ``X @ beta`` averaged over environments.

    See: chapters/02_spurious_correlations/06_invariance.
    """
    return float(torch.stack([((X @ beta - y) ** 2).mean() for X, y in envs]).mean())


def invariant_subset_fit(envs: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, pd.DataFrame]:
    """Choose the feature subset whose least-squares coefficients agree across environments.

    For every non-empty subset of the features, fit ordinary least squares separately in
    each environment and measure the spread (largest minus smallest, maximized over
    features) of the coefficients; the subset with the smallest spread is declared invariant
    and refit on the pooled data. This is the idea of invariant causal prediction, reduced to
    its simplest form.

    Args:
        envs: a list of ``(X, y)`` environments.

    Returns:
        ``(beta, table)``: the coefficients (zero outside the chosen subset) and a DataFrame
        with one row per subset and columns ``spread`` and ``chosen``.

    See: chapters/02_spurious_correlations/06_invariance.
    """
    from itertools import combinations

    if not envs or len(envs) < 2:
        raise ValueError("envs must hold at least two environments")
    d = envs[0][0].shape[1]
    rows, best = [], None
    for k in range(1, d + 1):
        for S in combinations(range(d), k):
            coefs = torch.stack([torch.linalg.lstsq(X[:, list(S)].double(), y.double()[:, None]).solution[:, 0] for X, y in envs])
            spread = float((coefs.max(0).values - coefs.min(0).values).max())
            rows.append({"subset": "{" + ", ".join(f"x{j + 1}" for j in S) + "}", "spread": spread})
            if best is None or spread < best[0]:
                best = (spread, S)
    S = list(best[1])
    X = torch.cat([X for X, _ in envs]).double()
    y = torch.cat([y for _, y in envs]).double()
    beta = torch.zeros(d, dtype=torch.float64)
    beta[S] = torch.linalg.lstsq(X[:, S], y[:, None]).solution[:, 0]
    table = pd.DataFrame(rows).set_index("subset")
    table["chosen"] = table["spread"] == best[0]
    return beta.float(), table


def penalty_landscape(
    envs: list[tuple[torch.Tensor, torch.Tensor]],
    b1: Sequence[float] = tuple(np.linspace(-0.2, 1.4, 81)),
    b2: Sequence[float] = tuple(np.linspace(-0.4, 0.8, 61)),
) -> pd.DataFrame:
    """The mean IRMv1 penalty over environments on a grid of coefficients ``(beta1, beta2)``.

    Args:
        envs: a list of ``(X, y)`` environments with two features.
        b1, b2: grid values of the two coefficients.

    Returns:
        A DataFrame with index ``b2`` and columns ``b1``.

    See: chapters/02_spurious_correlations/06_invariance.
    """
    if not envs:
        raise ValueError("envs must not be empty")
    # the penalty depends on the data only through second moments: evaluate it on the grid at once
    U, V = np.meshgrid(np.asarray(b1, dtype=float), np.asarray(b2, dtype=float))
    out = np.zeros_like(U)
    for X, y in envs:
        G, b, _ = (t.double().numpy() for t in _moments(X.double(), y.double()))
        quad = G[0, 0] * U**2 + 2 * G[0, 1] * U * V + G[1, 1] * V**2
        out += (2 * (quad - (b[0] * U + b[1] * V))) ** 2 / len(envs)
    return pd.DataFrame(out, index=pd.Index(b2, name="beta2"), columns=pd.Index(b1, name="beta1"))


# ======================================================================================
# The value of out-of-distribution data
# ======================================================================================
def ood_value_curve(
    ms: Sequence[int] = (0, 5, 10, 20, 50, 100, 200, 500, 2000),
    n_target: int = 10,
    d: int = 50,
    angle: float = 1.1,
    snr: float = 1.5,
    reps: int = 1000,
    seed: int = 0,
) -> pd.Series:
    """Target error of a mean-difference (Fisher, identity covariance) classifier trained on
    ``n_target`` target samples plus ``m`` samples of a rotated out-of-distribution task.

    The target task has classes ``N(+mu, I)`` and ``N(-mu, I)`` in ``d`` dimensions with
    ``|mu| = snr``; the OOD task is the same with ``mu`` rotated by ``angle`` radians. The
    classifier is ``sign(w . x + b)`` with ``w`` the difference of the pooled class means and
    ``b`` placing the boundary half-way between them; its target error is computed exactly
    from the Gaussian distribution function and averaged over ``reps`` draws.

    Args:
        ms: numbers of OOD samples to add.
        n_target: target samples.
        d: dimension.
        angle: rotation between the target and OOD class means (radians).
        snr: norm of the class mean.
        reps: repetitions averaged.
        seed: seeds the draws.

    Returns:
        A Series of target error (in %) indexed by the number of OOD samples.

    See: chapters/02_spurious_correlations/07_value_of_ood_data.
    """
    from scipy.stats import norm

    n_target = check_positive_int(n_target, "n_target", minimum=2)
    d = check_positive_int(d, "d", minimum=2)
    reps = check_positive_int(reps, "reps")
    snr = check_positive(snr, "snr")
    if not ms or any(isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 0 for m in ms):
        raise ValueError("ms must be a non-empty sequence of non-negative integers")
    rng = np.random.default_rng(seed)
    mu = np.zeros(d)
    mu[0] = snr
    mu_ood = np.zeros(d)
    mu_ood[0], mu_ood[1] = snr * np.cos(angle), snr * np.sin(angle)
    errs: dict[int, list[float]] = {int(m): [] for m in ms}
    M = max(ms)
    for _ in range(reps):
        yt = rng.integers(0, 2, n_target) * 2 - 1
        Xt = yt[:, None] * mu + rng.standard_normal((n_target, d))
        yo = rng.integers(0, 2, M) * 2 - 1
        Xo = yo[:, None] * mu_ood + rng.standard_normal((M, d))
        for m in ms:
            X = np.vstack([Xt, Xo[:m]])
            y = np.concatenate([yt, yo[:m]])
            if (y == 1).sum() == 0 or (y == -1).sum() == 0:
                errs[int(m)].append(0.5)
                continue
            m1, m0 = X[y == 1].mean(0), X[y == -1].mean(0)
            w = m1 - m0
            b = -w @ (m1 + m0) / 2
            nw = np.linalg.norm(w)
            errs[int(m)].append(0.5 * (norm.cdf((-w @ mu - b) / nw) + norm.cdf((-w @ mu + b) / nw)))
    out = pd.Series({m: 100 * float(np.mean(v)) for m, v in errs.items()}, name="target error (%)")
    out.index.name = "OOD samples added"
    return out


# ======================================================================================
# Diversification: two heads that disagree on an unlabeled pool (D-BAT style)
# ======================================================================================
def conflict_pool(
    n: int = 1000,
    conflict: float = 0.2,
    n_slabs: int = 3,
    d_noise: int = 0,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Unlabeled LMS slab points, a share of which are *bias-conflicting*.

    The points are drawn as in :func:`lms_slab`; for a random ``conflict`` share of them the
    linear coordinate is negated, so that its sign contradicts the slab. No labels are
    returned: the pool is what a diversification method sees.

    Args:
        n: number of points.
        conflict: share of points whose linear coordinate contradicts the slab.
        n_slabs, d_noise: as in :func:`lms_slab`.
        seed: seeds the points and the choice of conflicting ones.

    Returns:
        ``(X, is_conflict)``: float tensor ``(n, 2 + d_noise)`` and a bool mask ``(n,)``.

    See: chapters/02_spurious_correlations/07_value_of_ood_data.
    """
    conflict = check_nonnegative(conflict, "conflict")
    if conflict > 1:
        raise ValueError(f"conflict must be in [0, 1], got {conflict}")
    X, _ = lms_slab(n, n_slabs=n_slabs, d_noise=d_noise, seed=seed)
    rng = np.random.default_rng(int(seed) + 7)
    mask = np.zeros(len(X), dtype=bool)
    mask[rng.permutation(len(X))[: int(round(conflict * len(X)))]] = True
    X = X.clone()
    X[torch.from_numpy(mask), 0] = -X[torch.from_numpy(mask), 0]
    return X, torch.from_numpy(mask)


def agreement_loss(p1: torch.Tensor, p2: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """The D-BAT disagreement objective for two binary classifiers, averaged over points.

    ``-log(p1(0) p2(1) + p1(1) p2(0))``: small when the two heads confidently predict
    different classes, large when they agree. Minimizing it over the second head pushes it to
    disagree with the first.

    Args:
        p1, p2: class probabilities ``(n, 2)`` of the two heads (rows sum to 1).
        eps: added inside the logarithm.

    Returns:
        A scalar tensor.

    See: chapters/02_spurious_correlations/07_value_of_ood_data.
    """
    if not isinstance(p1, torch.Tensor) or not isinstance(p2, torch.Tensor):
        raise TypeError("p1 and p2 must be torch tensors")
    if p1.shape != p2.shape or p1.dim() != 2 or p1.shape[1] != 2:
        raise ValueError(f"p1 and p2 must both have shape (n, 2), got {tuple(p1.shape)} and {tuple(p2.shape)}")
    disagree = p1[:, 0] * p2[:, 1] + p1[:, 1] * p2[:, 0]
    return -torch.log(disagree + eps).mean()


def diversify_two_heads(
    conflict: float = 0.2,
    n_train: int = 1000,
    n_pool: int = 1000,
    n_test: int = 2000,
    n_slabs: int = 3,
    d_noise: int = 0,
    alpha: float = 0.03,
    steps: int = 600,
    width: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    device=None,
) -> tuple[tuple[nn.Module, nn.Module], dict[str, float]]:
    """Train two heads on LMS slab data: the second must fit the training data *and*
    disagree with the first on an unlabeled pool (the idea of D-BAT).

    Head 1 is plain ERM (an MLP with two hidden layers of ``width``); simplicity bias makes it
    use the linear coordinate. It is then frozen, and head 2 (same architecture, fresh
    initialization) minimizes the cross-entropy on the training data plus ``alpha`` times
    :func:`agreement_loss` with head 1 on the pool of :func:`conflict_pool`. Both are trained
    full batch with Adam.

    Args:
        conflict: share of bias-conflicting points in the pool.
        n_train, n_pool, n_test: numbers of points.
        n_slabs, d_noise: as in :func:`lms_slab`.
        alpha: weight of the disagreement term.
        steps: Adam steps for each head.
        width: hidden units per layer.
        lr: learning rate.
        seed: seeds data and training.
        device: where to train.

    Returns:
        ``((head1, head2), metrics)`` with, for each head ``k``, ``head{k}_train`` (training
        accuracy), ``head{k}_clean`` (test accuracy), ``head{k}_slab_only`` (test accuracy with
        the linear coordinate shuffled), and ``pool_disagreement`` (share of pool points on
        which the heads differ) and ``conflict_disagreement`` (the same on conflicting points).

    See: chapters/02_spurious_correlations/07_value_of_ood_data.
    """
    from .core import train

    alpha = check_nonnegative(alpha, "alpha")
    steps = check_positive_int(steps, "steps")
    seed = check_positive_int(seed, "seed", minimum=0)
    X, y = lms_slab(n_train, n_slabs=n_slabs, d_noise=d_noise, seed=seed)
    P, is_conflict = conflict_pool(n_pool, conflict, n_slabs=n_slabs, d_noise=d_noise, seed=seed + 50)
    Xt, yt = lms_slab(n_test, n_slabs=n_slabs, d_noise=d_noise, seed=seed + 100)
    Xs = shuffle_coordinate(Xt, 0, seed)
    dev = torch.device(device) if device is not None else torch.device("cpu")
    head1 = fit_classifier(X, y, width=width, depth=2, steps=steps, lr=lr, seed=seed, device=dev)
    with torch.no_grad():
        p1 = F.softmax(head1(P.to(dev)), 1).cpu()
    torch.manual_seed(int(seed) + 1)
    head2 = make_mlp(X.shape[1], 2, width=width, depth=2).to(dev)
    n = len(X)
    X_all = torch.cat([X, P])
    # target rows: (label, head-1 probabilities, is-pool); pool rows carry no label
    t_all = torch.cat([
        torch.stack([y.float(), torch.zeros(n), torch.zeros(n), torch.zeros(n)], 1),
        torch.cat([torch.zeros(len(P), 1), p1, torch.ones(len(P), 1)], 1),
    ])

    def loss_fn(logits: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        pool = t[:, 3] > 0.5
        ce = F.cross_entropy(logits[~pool], t[~pool, 0].long())
        return ce + alpha * agreement_loss(t[pool, 1:3], F.softmax(logits[pool], 1))

    train(head2, X_all, t_all, loss_fn, steps=steps, lr=lr, eval_every=steps, seed=seed)
    head2.eval()

    def acc(h: nn.Module, A: torch.Tensor, b: torch.Tensor) -> float:
        return float((predict(h, A) == b).float().mean())

    out: dict[str, float] = {}
    for k, h in ((1, head1), (2, head2)):
        out[f"head{k}_train"] = acc(h, X, y)
        out[f"head{k}_clean"] = acc(h, Xt, yt)
        out[f"head{k}_slab_only"] = acc(h, Xs, yt)
    differ = predict(head1, P) != predict(head2, P)
    out["pool_disagreement"] = float(differ.float().mean())
    out["conflict_disagreement"] = float(differ[is_conflict].float().mean()) if is_conflict.any() else float("nan")
    return (head1, head2), out


def plot_heads(heads: Sequence[nn.Module], titles: Sequence[str], d_noise: int = 0, axes=None):
    """Decision regions of classifiers in the (linear, slab) plane, noise coordinates at 0.

    Args:
        heads: models taking inputs of dimension ``2 + d_noise``.
        titles: one title per head.
        d_noise: number of noise coordinates (set to 0 in the plot).
        axes: optional matplotlib axes, one per head.

    Returns:
        The axes.

    See: chapters/02_spurious_correlations/07_value_of_ood_data.
    """
    import matplotlib.pyplot as plt

    if len(heads) != len(titles):
        raise ValueError("heads and titles must have the same length")
    if axes is None:
        _, axes = plt.subplots(1, len(heads), figsize=(3.2 * len(heads), 3.2), sharey=True)
    axes = np.atleast_1d(axes)
    g = torch.linspace(-1, 1, 201)
    u, v = torch.meshgrid(g, g, indexing="xy")
    grid = torch.zeros(u.numel(), 2 + d_noise)
    grid[:, 0], grid[:, 1] = u.reshape(-1), v.reshape(-1)
    for ax, h, title in zip(axes, heads, titles):
        z = predict(h, grid).reshape(u.shape).numpy()
        ax.contourf(u.numpy(), v.numpy(), z, levels=[-0.5, 0.5, 1.5], colors=["#d9d9d9", "#4c72b0"], alpha=0.8)
        ax.set(title=title, xlabel="linear coordinate")
    axes[0].set_ylabel("slab coordinate")
    return axes
