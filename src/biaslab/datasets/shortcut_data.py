"""Shortcut testbeds of chapter 2: colored digits and the linear + multi-slab (LMS) data.

Both are generated in code (the digits are scikit-learn's 8x8 images, which ship with it), and
both carry the labels that the chapter's metrics need: a class, a spurious attribute and the
group they form. ``biaslab.spurious`` re-exports every name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..validation import check_fraction, check_positive_int

__all__ = ["GroupData", "SpuriousDataset", "colored_digits", "lms_slab"]

@dataclass
class GroupData:
    """One split of a dataset with group annotations.

    Fields: ``X``, the inputs (float tensor ``(n, d)``); ``y``, the class labels (long tensor
    ``(n,)``); ``g``, the group ids (for a binary label and a binary spurious attribute,
    ``g = 2 * y + a``); ``a``, the spurious attribute, e.g. color.
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

    def concat(self, other: GroupData) -> GroupData:
        """This split followed by the rows of ``other``."""
        if not isinstance(other, GroupData):
            raise TypeError(f"other must be a GroupData, got {type(other).__name__}")
        return GroupData(torch.cat([self.X, other.X]), torch.cat([self.y, other.y]),
                         torch.cat([self.g, other.g]), torch.cat([self.a, other.a]))


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
