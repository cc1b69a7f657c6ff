"""Section 2.5, Counterfactual and synthetic data (``chapters/02_spurious_correlations/05_counterfactual_data.md``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..validation import (
    check_fraction,
    check_nonnegative,
    check_positive_int,
)
from ._shared import (
    SpuriousDataset,
    _check_dataset,
    _fit_kwargs,
    evaluate,
    fit_classifier,
)

__all__ = [
    "color_swap",
    "counterfactual_augment",
    "synthetic_copy",
    "synthetic_fill",
    "fake_to_real",
]


def color_swap(X: torch.Tensor) -> torch.Tensor:
    """The counterfactual image: the same digit drawn in the other color channel.

    Args:
        X: colored-digit inputs ``(n, 128)`` as made by :func:`colored_digits`.

    Returns:
        A new tensor ``(n, 128)`` with the two 64-pixel channels exchanged.
    """
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"X must be a torch tensor, got {type(X).__name__}")
    if X.dim() != 2 or X.shape[1] != 128:
        raise ValueError(f"X must have shape (n, 128) (two 8x8 channels), got {tuple(X.shape)}")
    return torch.cat([X[:, 64:], X[:, :64]], dim=1)


def counterfactual_augment(
    ds: SpuriousDataset,
    fraction: float = 1.0,
    transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    device: torch.device | str | None = None,
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
        device: where to train (``None``: the GPU when present, else the CPU).
        **kwargs: training settings of :func:`fit_classifier`.

    Returns:
        ``(model, metrics)``; ``metrics["n_augmented"]`` is the number of copies added.
    """
    ds = _check_dataset(ds)
    fraction = check_fraction(fraction, "fraction")
    transform = color_swap if transform is None else transform
    if not callable(transform):
        raise TypeError("transform must be callable")
    kw = _fit_kwargs({**kwargs, "device": device})
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
    """
    artifact = check_nonnegative(artifact, "artifact")
    out = color_swap(X)
    out[:, 0] += artifact
    out[:, 64] += artifact
    return out


def synthetic_fill(
    ds: SpuriousDataset, artifact: float = 1.0,
    device: torch.device | str | None = None, **kwargs
) -> tuple[nn.Module, dict[str, float]]:
    """Fill the minority groups with synthetic images and train ERM on real + synthetic.

    Every majority-group training image gets a synthetic copy in the other color
    (:func:`synthetic_copy`), which lands in a minority group; real and synthetic images are
    mixed in one training set, so the groups are balanced but the synthetic ones carry the
    artifact.

    Args:
        ds: colored digits.
        artifact: intensity of the generator trace.
        device: where to train (``None``: the GPU when present, else the CPU).
        **kwargs: training settings of :func:`fit_classifier`.

    Returns:
        ``(model, metrics)``.
    """
    ds = _check_dataset(ds)
    kw = _fit_kwargs({**kwargs, "device": device})
    majority = ds.train.a == ds.train.y
    X = torch.cat([ds.train.X, synthetic_copy(ds.train.X[majority], artifact)])
    y = torch.cat([ds.train.y, ds.train.y[majority]])
    model = fit_classifier(X, y, **kw)
    return model, evaluate(model, ds)


def fake_to_real(
    ds: SpuriousDataset, artifact: float = 1.0, finetune_steps: int = 100,
    device: torch.device | str | None = None, **kwargs
) -> tuple[nn.Module, dict[str, float]]:
    """Pretrain on balanced synthetic data only, then fine-tune on the real training data.

    The synthetic set holds a synthetic copy of every training image in both colors, so
    color carries no label information there and every image has the artifact; real and
    synthetic images never meet in one training stage.

    Args:
        ds: colored digits.
        artifact: intensity of the generator trace.
        finetune_steps: Adam steps on the real data after pretraining.
        device: where to train (``None``: the GPU when present, else the CPU).
        **kwargs: training settings of :func:`fit_classifier` (``steps`` for pretraining).

    Returns:
        ``(model, metrics)``.
    """
    ds = _check_dataset(ds)
    finetune_steps = check_positive_int(finetune_steps, "finetune_steps")
    kw = _fit_kwargs({**kwargs, "device": device})
    X = ds.train.X
    Xs = torch.cat([synthetic_copy(color_swap(X), artifact), synthetic_copy(X, artifact)])
    ys = torch.cat([ds.train.y, ds.train.y])
    model = fit_classifier(Xs, ys, **kw)
    model = fit_classifier(X, ds.train.y, model=model, **{**kw, "steps": finetune_steps})
    return model, evaluate(model, ds)
