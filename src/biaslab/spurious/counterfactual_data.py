"""Section 2.5, Counterfactual and synthetic data (``chapters/02_spurious_correlations/05_counterfactual_data.md``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..claims import Claim, Control, at_least
from ..validation import (
    check_fraction,
    check_nonnegative,
    check_positive_int,
)
from ._shared import (
    SpuriousDataset,
    _check_dataset,
    _fit_kwargs,
    colored_digits,
    erm,
    evaluate,
    fit_classifier,
)

__all__ = [
    "color_swap",
    "counterfactual_augment",
    "synthetic_copy",
    "synthetic_set",
    "synthetic_fill",
    "fake_to_real",
    "flip_horizontal",
    "AUGMENT_STEPS",
    "FINETUNE_STEPS",
    "FRACTIONS",
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


def synthetic_set(X: torch.Tensor, y: torch.Tensor, artifact: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """The "generated" training set of Step 2: every training image in both colors, each with
    the generator's trace (:func:`synthetic_copy`). Color carries no label information there.

    Args:
        X: colored-digit inputs ``(n, 128)``.
        y: their labels.
        artifact: intensity of the trace.

    Returns:
        ``(Xs, ys)`` with ``2 n`` rows.
    """
    return torch.cat([synthetic_copy(color_swap(X), artifact), synthetic_copy(X, artifact)]), torch.cat([y, y])


def synthetic_fill(
    ds: SpuriousDataset, artifact: float = 1.0,
    device: torch.device | str | None = None, **kwargs
) -> tuple[nn.Module, dict[str, float]]:
    """Mix real and synthetic images: train ERM on the real training images together with the
    synthetic set of :func:`synthetic_set` (both colors of every image, with the trace).

    The synthetic half is color-balanced, but only synthetic images carry the trace, so "trace
    or color" is a rule that fits the mixed training set.

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
    Xs, ys = synthetic_set(ds.train.X, ds.train.y, artifact)
    model = fit_classifier(torch.cat([ds.train.X, Xs]), torch.cat([ds.train.y, ys]), **kw)
    return model, evaluate(model, ds)


def fake_to_real(
    ds: SpuriousDataset, artifact: float = 1.0, finetune_steps: int = 100,
    device: torch.device | str | None = None, **kwargs
) -> tuple[nn.Module, dict[str, float]]:
    """Pretrain on the synthetic set only, then fine-tune on the real training data.

    The synthetic set (:func:`synthetic_set`) holds every training image in both colors, so
    color carries no label information there and every image has the trace; real and
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
    Xs, ys = synthetic_set(ds.train.X, ds.train.y, artifact)
    model = fit_classifier(Xs, ys, **kw)
    model = fit_classifier(ds.train.X, ds.train.y, model=model, **{**kw, "steps": finetune_steps})
    return model, evaluate(model, ds)


def flip_horizontal(X: torch.Tensor) -> torch.Tensor:
    """A counterfactual of the wrong attribute: each digit mirrored left to right, in its own
    color channel (the control of counterfactual augmentation: it intervenes on no spurious
    attribute).

    Args:
        X: colored-digit inputs ``(n, 128)``.

    Returns:
        The mirrored images ``(n, 128)``.
    """
    if not isinstance(X, torch.Tensor) or X.dim() != 2 or X.shape[1] != 128:
        raise ValueError(f"X must be a colored-digits tensor of shape (n, 128), got {getattr(X, 'shape', type(X))}")
    return X.reshape(-1, 2, 8, 8).flip(-1).reshape(-1, 128)


# --------------------------------------------------------------------------------------
# the section's runner and its claims
# --------------------------------------------------------------------------------------
AUGMENT_STEPS = 400
FINETUNE_STEPS = 100
FRACTIONS = (0.05, 0.25, 1.0)


def run(seed: int = 0, device: torch.device | str | None = None) -> dict:
    """Everything section 2.5 shows and checks, for one seed, the control worlds included.

    Every model trains the same MLP for the same ``AUGMENT_STEPS`` full-batch Adam steps (fake to real:
    ``AUGMENT_STEPS - FINETUNE_STEPS`` on synthetic images, then ``FINETUNE_STEPS`` on real ones) and is
    evaluated at its last step; mixing and fake to real use the same synthetic set.

    Args:
        seed: seeds data and training.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        ``{"fractions", "augment", "augment_control", "generated", "generated_control"}``:
        ERM and counterfactual augmentation at each share of ``FRACTIONS`` (``{share: metrics}``,
        0 for ERM); ERM and full color-swap augmentation, and the same with mirrored copies (the
        control); mixing and fake to real with a traced generator, and with a perfect one (the
        control).
    """
    ds = colored_digits(0.95, seed=seed)
    kw = dict(steps=AUGMENT_STEPS, seed=seed, device=device)
    fractions = {0.0: erm(ds, **kw)[1]}
    for f in FRACTIONS:
        fractions[f] = counterfactual_augment(ds, fraction=f, **kw)[1]
    generated = {}
    for artifact in (1.0, 0.0):
        generated[artifact] = {
            "mix": synthetic_fill(ds, artifact=artifact, **kw)[1],
            "fake to real": fake_to_real(ds, artifact=artifact, finetune_steps=FINETUNE_STEPS,
                                         **dict(kw, steps=AUGMENT_STEPS - FINETUNE_STEPS))[1],
        }
    return {
        "fractions": fractions,
        "augment": {"ERM": fractions[0.0], "augmented": fractions[1.0]},
        "augment_control": {"ERM": fractions[0.0],
                            "augmented": counterfactual_augment(ds, transform=flip_horizontal, **kw)[1]},
        "generated": generated[1.0],
        "generated_control": generated[0.0],
    }


CLAIMS = (
    Claim(
        key="spurious.counterfactual_data.color_swap_gain",
        statement="Adding a color-swapped copy of every training digit raises worst-group accuracy over ERM "
                  "by at least 20 points.",
        cite=("rethinking_counterfactual_data",),
        paper_result="Training with counterfactual images, in which only the confounded attribute changes, "
                     "improves accuracy on de-confounded test data on MNIST variants and CelebA.",
        paper_where="Section 5 (experiments)",
        run=run,
        measure=lambda t: 100 * (t["augmented"]["worst_group_acc"] - t["ERM"]["worst_group_acc"]),
        predicate=at_least(20.0),
        world=lambda r: r["augment"],
        controls=(Control("mirrored copies", "a copy of every digit mirrored left to right in its own color: "
                          "augmentation that intervenes on no spurious attribute", lambda r: r["augment_control"]),),
        note="worst-group test accuracy, points, both models trained for the same number of steps",
    ),
    Claim(
        key="spurious.counterfactual_data.trace_costs_mixing",
        statement="A generator's trace costs mixing real and synthetic images at least 4.5 points of worst-group "
                  "accuracy (mixing with a perfect generator minus mixing with the traced one).",
        cite=("fake_real_pretraining",),
        paper_result="Mixed into real training data, synthetic images carry a synthetic/real cue that the model "
                     "learns alongside the group; separating the stages (From Fake to Real) removes that cue's "
                     "effect and improves worst-group accuracy on Waterbirds and CelebA.",
        paper_where="Sections 3-4",
        run=run,
        measure=lambda g: 100 * (g["perfect"]["mix"]["worst_group_acc"] - g["traced"]["mix"]["worst_group_acc"]),
        predicate=at_least(4.5),
        world=lambda r: {"perfect": r["generated_control"], "traced": r["generated"]},
        controls=(Control("fake to real", "the same difference for pretraining on synthetic images and "
                          "fine-tuning on real ones, where the two sources never meet in one stage",
                          lambda r: {"perfect": {"mix": r["generated_control"]["fake to real"]},
                                     "traced": {"mix": r["generated"]["fake to real"]}}),),
        note="worst-group test accuracy, points; same synthetic set and the same 400 steps for every model",
    ),
    Claim(
        key="spurious.counterfactual_data.fake_to_real_beats_mixing",
        statement="With a traced generator, fake to real beats mixing in worst-group accuracy (an observation: "
                  "with the same synthetic set and steps for both, the difference is small).",
        cite=("fake_real_pretraining",),
        paper_result="From Fake to Real pretraining beats mixing synthetic and real images in worst-group accuracy "
                     "on Waterbirds and CelebA.",
        paper_where="Table 1",
        run=run,
        measure=lambda t: 100 * (t["fake to real"]["worst_group_acc"] - t["mix"]["worst_group_acc"]),
        predicate=at_least(10.0),
        world=lambda r: r["generated"],
        observation=True,
        note="worst-group test accuracy, points; same synthetic set and the same 400 steps for both",
    ),
)
