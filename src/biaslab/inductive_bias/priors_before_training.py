"""Section 1.1, Priors before training: what an untrained network already prefers (``chapters/01_inductive_bias/01_priors_before_training.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from ..claims import Claim, Control, at_least, at_most
from ..core import make_activation, resolve_device, train
from ..datasets.toy_tasks import piecewise_smooth_image
from ..plotting import get_axes
from ..validation import check_choice, check_positive, check_positive_int

__all__ = [
    "random_mlp_function",
    "spectral_centroid",
    "redshift_table",
    "majority_class_share",
    "initial_guessing_bias",
    "psnr",
    "DIPNet",
    "scramble",
    "fit_image",
    "deep_image_prior_run",
    "denoising_gain",
    "overfitting_loss",
    "fit_speed_run",
    "scramble_slowdown",
    "IGB_DEPTHS",
    "plot_deep_image_prior",
    "plot_random_functions",
    "plot_redshift",
]


_PRIOR_ACTIVATIONS = ("relu", "tanh", "sin", "gauss")


def random_mlp_function(
    activation: str = "relu",
    weight_scale: float = 1.0,
    n: int = 512,
    width: int = 128,
    depth: int = 4,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The function computed by an untrained MLP on a uniform grid of ``[-1, 1]``.

    Weights are drawn i.i.d. ``N(0, weight_scale**2 / fan_in)`` and biases ``N(0, 0.1**2)``
    whatever the scale; the read-out layer has scale 1. Larger scales push pre-activations
    further out, which matters for activations that oscillate (``sin``) or have a bump
    (``gauss``). ReLU is positively homogeneous, so without biases scaling the weights would
    only rescale the function; with fixed biases the kinks move, but only a little.

    Args:
        activation: ``"relu"``, ``"tanh"``, ``"sin"`` or ``"gauss"``.
        weight_scale: standard deviation multiplier of the hidden weights (> 0).
        n: number of grid points (>= 8).
        width, depth: hidden units per layer and number of hidden layers.
        generator: a seeded ``torch.Generator`` (fresh random state if ``None``).

    Returns:
        ``(x, f)``, two tensors of shape ``(n,)``.
    """
    act = make_activation(check_choice(activation, "activation", _PRIOR_ACTIVATIONS))
    weight_scale = check_positive(weight_scale, "weight_scale")
    n = check_positive_int(n, "n", 8)
    width = check_positive_int(width, "width")
    depth = check_positive_int(depth, "depth")
    x = torch.linspace(-1, 1, n, dtype=torch.float64).unsqueeze(1)
    h, d = x, 1
    for _ in range(depth):
        W = torch.randn(d, width, generator=generator, dtype=torch.float64) * weight_scale / math.sqrt(d)
        b = torch.randn(width, generator=generator, dtype=torch.float64) * 0.1
        h, d = act(h @ W + b), width
    w_out = torch.randn(d, 1, generator=generator, dtype=torch.float64) / math.sqrt(d)
    return x.squeeze(1), (h @ w_out).squeeze(1)


def spectral_centroid(f: torch.Tensor) -> float:
    """Power-weighted mean frequency of a signal on a uniform grid, from its cosine transform.

    ``sum_k (k / 2) P_k / sum_k P_k``, where ``P_k`` is the power of the k-th coefficient of the
    orthonormal type-II discrete cosine transform of ``f - mean(f)``; coefficient ``k`` is a
    cosine with ``k / 2`` cycles over the grid, so the centroid is in cycles per grid length.
    The cosine transform extends the signal by its mirror image, not by periodic repetition,
    so a smooth non-periodic function (a ramp) has no artificial jump at the ends and scores
    low; the discrete Fourier transform would charge the ramp for the wrap-around jump.

    Args:
        f: a 1-D tensor with at least 4 samples.

    Returns:
        The centroid in cycles (0 for a constant signal; about ``n / 4`` for white noise).
    """
    from scipy.fft import dct

    f = torch.as_tensor(f).detach().reshape(-1).cpu().double().numpy()
    if f.size < 4:
        raise ValueError(f"f must have at least 4 samples, got {f.size}")
    P = dct(f - f.mean(), type=2, norm="ortho") ** 2
    total = P.sum()
    if total <= 1e-300:
        return 0.0
    return float((np.arange(f.size) / 2 * P).sum() / total)


def redshift_table(activations: Sequence[str] = _PRIOR_ACTIVATIONS,
                   weight_scales: Sequence[float] = (1.0, 3.0, 6.0), n_nets: int = 10, n: int = 512,
                   width: int = 128, depth: int = 4, seed: int = 0) -> pd.DataFrame:
    """Median spectral centroid of untrained MLPs, by activation and weight scale.

    Args:
        activations: activation names (see :func:`random_mlp_function`).
        weight_scales: weight scales to try.
        n_nets: random networks per (activation, scale) cell; the median is reported.
        n, width, depth: grid size and network shape.
        seed: seed of all networks.

    Returns:
        DataFrame indexed by activation, one column per weight scale.
    """
    n_nets = check_positive_int(n_nets, "n_nets")
    if len(activations) == 0 or len(weight_scales) == 0:
        raise ValueError("activations and weight_scales must be non-empty")
    g = torch.Generator().manual_seed(seed)
    rows = {}
    for act in activations:
        rows[act] = {
            s: float(np.median([spectral_centroid(random_mlp_function(act, s, n, width, depth, g)[1]) for _ in range(n_nets)]))
            for s in weight_scales
        }
    return pd.DataFrame(rows).T.rename_axis(index="activation", columns="weight scale")


def majority_class_share(logits: torch.Tensor) -> float:
    """Share of inputs assigned to the most frequently predicted class.

    Args:
        logits: tensor of shape ``(n, n_classes)``.

    Returns:
        A number in ``[1 / n_classes, 1]``; ``1 / n_classes`` when predictions are balanced.
    """
    logits = torch.as_tensor(logits)
    if logits.ndim != 2 or logits.shape[0] == 0 or logits.shape[1] < 2:
        raise ValueError(f"logits must have shape (n, n_classes) with n >= 1 and n_classes >= 2, got {tuple(logits.shape)}")
    pred = logits.argmax(1)
    return torch.bincount(pred, minlength=logits.shape[1]).max().item() / len(pred)


def initial_guessing_bias(activation: str = "relu", depth: int = 20, n_nets: int = 10, n: int = 1000,
                          in_dim: int = 64, width: int = 128, n_classes: int = 10, seed: int = 0) -> float:
    """Mean majority-class share of untrained classifiers on Gaussian inputs.

    Each network has ``depth`` hidden layers with the standard variance-preserving
    initialization of its activation (He for ReLU, gain 5/3 for tanh) and zero biases. An
    unbiased classifier would split the ``n`` inputs evenly over ``n_classes`` classes.

    Args:
        activation: ``"relu"`` or ``"tanh"``.
        depth: number of hidden layers.
        n_nets: networks to average over (the share varies a lot from one net to the next).
        n, in_dim: number and dimension of the standard Gaussian inputs.
        width, n_classes: network width and number of outputs.
        seed: seed of inputs and weights.

    Returns:
        The mean over networks of :func:`majority_class_share`.
    """
    act = make_activation(check_choice(activation, "activation", ("relu", "tanh")))
    depth = check_positive_int(depth, "depth")
    n_nets = check_positive_int(n_nets, "n_nets")
    n = check_positive_int(n, "n")
    in_dim = check_positive_int(in_dim, "in_dim")
    width = check_positive_int(width, "width")
    n_classes = check_positive_int(n_classes, "n_classes", 2)
    gain = math.sqrt(2.0) if activation == "relu" else 5.0 / 3.0
    g = torch.Generator().manual_seed(seed)
    shares = []
    for _ in range(n_nets):
        h, d = torch.randn(n, in_dim, generator=g), in_dim
        for _ in range(depth):
            W = torch.randn(d, width, generator=g) * gain / math.sqrt(d)
            h, d = act(h @ W), width
        logits = h @ (torch.randn(d, n_classes, generator=g) / math.sqrt(d))
        shares.append(majority_class_share(logits))
    return float(np.mean(shares))


def psnr(image: torch.Tensor, reference: torch.Tensor, peak: float = 1.0) -> float:
    """Peak signal-to-noise ratio of ``image`` against ``reference``, in decibels.

    ``10 log10(peak^2 / MSE)``; higher is better, and each 3 dB halves the squared error.

    Args:
        image, reference: tensors of the same shape.
        peak: the largest possible pixel value (> 0).

    Returns:
        The PSNR in dB (``inf`` for identical images).
    """
    image, reference = torch.as_tensor(image), torch.as_tensor(reference)
    if image.shape != reference.shape:
        raise ValueError(f"image and reference must have the same shape, got {tuple(image.shape)} and {tuple(reference.shape)}")
    peak = check_positive(peak, "peak")
    mse = F.mse_loss(image.detach().double(), reference.detach().double()).item()
    return math.inf if mse == 0 else 10 * math.log10(peak**2 / mse)


class DIPNet(nn.Sequential):
    """A small convolutional encoder-decoder, the generator of the deep image prior.

    Two stride-2 conv blocks down, two bilinear-upsampling conv blocks up (conv 3x3,
    batch norm, leaky ReLU), then a 1x1 conv and a sigmoid to one grey channel.

    Args:
        in_channels: channels of the fixed random input code.
        channels: feature channels of every block.
    """

    def __init__(self, in_channels: int = 8, channels: int = 32):
        in_channels = check_positive_int(in_channels, "in_channels")
        c = check_positive_int(channels, "channels")

        def block(i: int, o: int, stride: int = 1) -> list[nn.Module]:
            return [nn.Conv2d(i, o, 3, stride, 1), nn.BatchNorm2d(o), nn.LeakyReLU(0.2)]

        up = lambda: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)  # noqa: E731
        super().__init__(
            *block(in_channels, c, 2), *block(c, c), *block(c, c, 2), *block(c, c),
            up(), *block(c, c), up(), *block(c, c), nn.Conv2d(c, 1, 1), nn.Sigmoid(),
        )


def scramble(image: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """The same pixel values in a random order: every statistic of single pixels is kept,
    every spatial structure destroyed (the deep image prior's own control).

    Args:
        image: an ``(n, n)`` tensor.
        seed: seed of the permutation.

    Returns:
        A tensor of the same shape.
    """
    image = torch.as_tensor(image)
    perm = torch.randperm(image.numel(), generator=torch.Generator().manual_seed(30_000 + int(seed)))
    return image.reshape(-1)[perm].reshape(image.shape)


def fit_image(
    target: torch.Tensor,
    reference: torch.Tensor | None = None,
    steps: int = 1000,
    lr: float = 0.01,
    channels: int = 16,
    eval_every: int = 10,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> dict[str, object]:
    """Fit a :class:`DIPNet` from a fixed random code to one image, and track the fit.

    The input is a fixed random code ``z`` (8 channels, uniform in ``[0, 0.1]``); the weights
    are trained with Adam on the mean squared error to ``target``.

    Args:
        target: the ``(n, n)`` image to fit (``n`` divisible by 4).
        reference: an image to score the output against with :func:`psnr` (e.g. the clean
            image when ``target`` is noisy); ``None`` scores against ``target``.
        steps, lr: Adam steps and learning rate.
        channels: feature channels of the network.
        eval_every: record every this many steps.
        seed: seed of the code and the weights.
        device: where to train (``None``: the GPU when present).

    Returns:
        ``history`` (``step``, ``mse`` to the target, ``psnr`` against the reference), the
        ``best`` and ``final`` outputs with ``best_psnr``, ``best_step`` and ``final_psnr``.
    """
    target = torch.as_tensor(target, dtype=torch.float32)
    if target.ndim != 2 or target.shape[0] != target.shape[1] or target.shape[0] % 4 or target.shape[0] < 8:
        raise ValueError(f"target must be a square (n, n) tensor with n >= 8 divisible by 4, got {tuple(target.shape)}")
    reference = target if reference is None else torch.as_tensor(reference, dtype=torch.float32)
    device = resolve_device(device)
    n = target.shape[0]
    torch.manual_seed(seed)
    z = (0.1 * torch.rand(1, 8, n, n, generator=torch.Generator().manual_seed(seed))).to(device)
    model = DIPNet(8, channels).to(device)
    images: dict[int, torch.Tensor] = {}  # the output at every recorded step

    def eval_fn(m: nn.Module, step: int) -> dict[str, float]:
        # batch norm in training mode, as in every training step: the output the loss sees
        with torch.no_grad():
            images[step] = img = m(z)[0, 0].cpu()
        return {"mse": F.mse_loss(img, target).item(), "psnr": psnr(img, reference)}

    history = train(model, z, target[None, None], F.mse_loss, steps=check_positive_int(steps, "steps"),
                    lr=check_positive(lr, "lr"), eval_every=check_positive_int(eval_every, "eval_every"),
                    eval_fn=eval_fn, eval_with_grad=True, seed=seed, device=device).drop(columns="loss")
    best, final = history.loc[history.psnr.idxmax()], history.iloc[-1]  # idxmax: the first best step
    return {"history": history, "best": images[int(best.step)], "best_psnr": float(best.psnr),
            "best_step": int(best.step), "final": images[int(final.step)], "final_psnr": float(final.psnr)}


def deep_image_prior_run(image: torch.Tensor | None = None, sigma: float = 0.15, steps: int = 1000,
                         scrambled: bool = False, seed: int = 0, device: torch.device | str | None = None,
                         **fit_kwargs) -> dict[str, object]:
    """Denoise one image with the deep image prior: fit the noisy image, score against the clean one.

    The clean image is never used for training, only to measure the PSNR.

    Args:
        image: a clean ``(n, n)`` image in ``[0, 1]`` with ``n`` divisible by 4
            (default: :func:`piecewise_smooth_image` with ``n = 32``).
        sigma: standard deviation of the additive Gaussian noise (> 0).
        scrambled: denoise the image with its pixels :func:`scramble`-d (the control: the same
            pixel values without spatial structure).
        seed: seed of the noise, the code and the weights.
        steps, device, fit_kwargs: as for :func:`fit_image` (``lr``, ``channels``, ``eval_every``).

    Returns:
        The :func:`fit_image` dict (``psnr`` against the clean image), plus ``noisy_psnr``
        (the PSNR of the noisy input) and the images ``clean`` and ``noisy``.
    """
    clean = piecewise_smooth_image(32) if image is None else torch.as_tensor(image, dtype=torch.float32)
    if scrambled:
        clean = scramble(clean, seed)
    sigma = check_positive(sigma, "sigma")
    noisy = clean + sigma * torch.randn(clean.shape, generator=torch.Generator().manual_seed(40_000 + int(seed)))
    out = fit_image(noisy, reference=clean, steps=steps, seed=seed, device=device, **fit_kwargs)
    out.update(noisy_psnr=psnr(noisy, clean), clean=clean, noisy=noisy)
    return out


def denoising_gain(result: dict[str, object]) -> float:
    """How many dB the best output of a :func:`deep_image_prior_run` beats the noisy input by."""
    return float(result["best_psnr"] - result["noisy_psnr"])


def overfitting_loss(result: dict[str, object]) -> float:
    """How many dB the final output has lost against the best one (it fits the noise)."""
    return float(result["best_psnr"] - result["final_psnr"])


def fit_speed_run(image: torch.Tensor | None = None, steps: int = 200, seed: int = 0,
                  device: torch.device | str | None = None) -> dict[str, object]:
    """Fit an image and the same image with scrambled pixels for the same number of steps.

    Args:
        image: the ``(n, n)`` image (default: :func:`piecewise_smooth_image` with ``n = 32``).
        seed: seed of the permutation, the code and the weights.
        steps, device: as for :func:`fit_image` (each of the two fits takes ``steps``).

    Returns:
        ``{"image": fit_image(...), "scrambled": fit_image(...)}`` histories of the two fits.
    """
    img = piecewise_smooth_image(32) if image is None else torch.as_tensor(image, dtype=torch.float32)
    return {"image": fit_image(img, steps=steps, seed=seed, device=device),
            "scrambled": fit_image(scramble(img, seed), steps=steps, seed=seed, device=device)}


def scramble_slowdown(fits: dict[str, object]) -> float:
    """How much worse the scrambled image is fitted: the ratio of the two mean squared errors
    at the last step of a :func:`fit_speed_run` (about 1 when the prior ignores structure)."""
    return float(fits["scrambled"]["history"].mse.iloc[-1] / fits["image"]["history"].mse.iloc[-1])


def plot_deep_image_prior(result: dict[str, object], axes=None):
    """Clean, noisy, best and final images of a deep-image-prior run, and its PSNR curve.

    Args:
        result: from :func:`deep_image_prior_run`.
        axes: five matplotlib axes (a new 1x5 figure if ``None``); the last gets the curve.

    Returns:
        The axes array.
    """
    import matplotlib.pyplot as plt

    keys = ("clean", "noisy", "best", "final", "history", "noisy_psnr", "best_psnr", "final_psnr", "best_step")
    if not isinstance(result, dict) or any(k not in result for k in keys):
        raise ValueError("result must be the dict returned by deep_image_prior_run")
    if axes is None:
        _, axes = plt.subplots(1, 5, figsize=(15, 3.2), gridspec_kw={"width_ratios": [1, 1, 1, 1, 2], "wspace": 0.35})
    axes = np.asarray(axes).reshape(-1)
    if len(axes) != 5:
        raise ValueError(f"axes must hold 5 axes, got {len(axes)}")
    h = result["history"]
    titles = {
        "clean": "clean",
        "noisy": f"noisy input\n{result['noisy_psnr']:.1f} dB",
        "best": f"best (step {result['best_step']})\n{result['best_psnr']:.1f} dB",
        "final": f"final (step {int(h.step.iloc[-1])})\n{result['final_psnr']:.1f} dB",
    }
    for ax, (key, title) in zip(axes[:4], titles.items()):
        ax.imshow(result[key].clamp(0, 1).numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    ax = axes[4]
    ax.plot(h.step, h.psnr, label="output vs clean image")
    ax.plot(h.step, -10 * np.log10(h.mse.clip(lower=1e-12)), ls="--", label="output vs noisy target")
    ax.axhline(result["noisy_psnr"], color="0.5", ls=":", label="noisy input vs clean")
    ax.set_xlabel("step")
    ax.set_ylabel("PSNR (dB)")
    ax.legend(loc="lower right", fontsize=8)
    return axes


def plot_random_functions(activations: Sequence[str] = _PRIOR_ACTIVATIONS, weight_scales: Sequence[float] = (1.0,
                          6.0), seed: int = 0, axes=None):
    """One sample function of an untrained MLP per (weight scale, activation) panel.

    Args:
        activations, weight_scales: as for :func:`redshift_table` (the panels' columns and rows).
        seed: seed of the networks.
        axes: a 2-D array of matplotlib axes of shape ``(len(weight_scales), len(activations))``
            (a new figure if ``None``).

    Returns:
        The axes array.
    """
    import matplotlib.pyplot as plt

    if len(activations) == 0 or len(weight_scales) == 0:
        raise ValueError("activations and weight_scales must be non-empty")
    if axes is None:
        _, axes = plt.subplots(len(weight_scales), len(activations), figsize=(3 * len(activations), 2.2 * len(weight_scales)),
                               squeeze=False, sharex=True)
    axes = np.asarray(axes).reshape(len(weight_scales), len(activations))
    g = torch.Generator().manual_seed(seed)
    for i, s in enumerate(weight_scales):
        for j, act in enumerate(activations):
            x, f = random_mlp_function(act, s, generator=g)
            ax = axes[i, j]
            ax.plot(x.numpy(), f.numpy(), lw=1)
            ax.set_title(f"{act}, scale {s:g}\ncentroid {spectral_centroid(f):.1f}", fontsize=10)
            if i == len(weight_scales) - 1:
                ax.set_xlabel("x")
    return axes


def plot_redshift(table: pd.DataFrame, ax=None):
    """Median spectral centroid against weight scale, one line per activation (log y-axis).

    Args:
        table: from :func:`redshift_table`.
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.
    """
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise ValueError("table must be a non-empty DataFrame from redshift_table")
    ax = get_axes(ax)
    for act, row in table.iterrows():
        ax.plot([float(c) for c in table.columns], row.values, "o-", label=act)
    ax.set_yscale("log")
    ax.set_xlabel("weight scale")
    ax.set_ylabel("spectral centroid (cycles on [-1, 1])")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


# --------------------------------------------------------------------------------------
# the section's runner and claims
# --------------------------------------------------------------------------------------
IGB_DEPTHS = (2, 5, 10, 20)


def run(seed: int = 0, device: torch.device | str | None = None) -> dict[str, object]:
    """Everything section 1.1 shows and checks, for one seed.

    Returns:
        ``redshift``: :func:`redshift_table` for ReLU, tanh, sine and Gaussian units at weight
        scales 1, 3, 6; ``noise_centroid``: the centroid of white noise on the same grid;
        ``igb``: favourite-class shares (depth x activation) from :func:`initial_guessing_bias`;
        ``dip`` and ``dip_scrambled``: :func:`deep_image_prior_run` on the image and on the
        image with scrambled pixels; ``speed`` and ``speed_noise``: :func:`fit_speed_run` on
        the image and on a uniform-noise image.
    """
    noise = torch.randn(512, generator=torch.Generator().manual_seed(50_000 + int(seed)))
    noise_image = torch.rand(32, 32, generator=torch.Generator().manual_seed(60_000 + int(seed)))
    return {
        "redshift": redshift_table(seed=seed),
        "noise_centroid": spectral_centroid(noise),
        "igb": pd.DataFrame({a: {d: initial_guessing_bias(a, d, seed=seed) for d in IGB_DEPTHS}
                             for a in ("relu", "tanh")}).rename_axis("depth"),
        "dip": deep_image_prior_run(seed=seed, device=device),
        "dip_scrambled": deep_image_prior_run(scrambled=True, seed=seed, device=device),
        "speed": fit_speed_run(seed=seed, device=device),
        "speed_noise": fit_speed_run(noise_image, seed=seed, device=device),
    }


def _dip_two_phases(result: dict[str, object]) -> float:
    return min(denoising_gain(result), overfitting_loss(result))


CLAIMS = (
    Claim(
        key="inductive_bias.priors_before_training.relu_low_frequency",
        statement="Untrained ReLU MLPs compute low-frequency functions even at weight scale 6: their "
                  "median spectral centroid is at most 2 cycles on the grid.",
        cite=("neural_redshift_random",),
        paper_result="random ReLU MLPs give low-frequency functions at every weight magnitude and depth, "
                     "while with tanh, Gaussian or sine units larger weights give high-frequency ones",
        paper_where="Fig. 1",
        run=run,
        measure=lambda centroid: centroid,
        world=lambda r: r["redshift"].loc["relu", 6.0],
        predicate=at_most(2.0),
        controls=(
            Control("sine MLP", "the same measurement on sine networks at the same scale, the "
                    "paper's own contrast", lambda r: r["redshift"].loc["sin", 6.0]),
            Control("white noise", "a truly random function: i.i.d. Gaussian values on the grid",
                    lambda r: r["noise_centroid"]),
        ),
        note="centroid of the cosine-transform power spectrum; a ramp scores 0.5, a step 1.6, white noise about 128",
    ),
    Claim(
        key="inductive_bias.priors_before_training.sine_redshift",
        statement="Raising the weight scale from 1 to 6 raises the median spectral centroid of untrained "
                  "sine MLPs at least 20-fold.",
        cite=("neural_redshift_random",),
        paper_result="with sinusoidal or Gaussian activations, larger weights give ever more complex, "
                     "noise-like functions",
        paper_where="Fig. 1",
        run=run,
        measure=lambda t: t[6.0] / t[1.0],
        world=lambda r: r["redshift"].loc["sin"],
        predicate=at_least(20.0),
        controls=(Control("ReLU MLP", "the same ratio for ReLU networks, which are nearly positively "
                          "homogeneous, so a larger scale mostly rescales them",
                          lambda r: r["redshift"].loc["relu"]),),
    ),
    Claim(
        key="inductive_bias.priors_before_training.initial_guessing_bias",
        statement="An untrained 20-layer ReLU classifier sends on average at least 60% of its inputs to "
                  "one of its 10 classes.",
        cite=("initial_guessing_bias",),
        paper_result="the choice of activation (ReLU), max-pooling and depth make an untrained network "
                     "send most inputs to one class; depth does not create the bias but amplifies it",
        paper_where="main theorem and its analysis of depth",
        run=run,
        measure=lambda share: share,
        world=lambda r: r["igb"].loc[20, "relu"],
        predicate=at_least(0.6),
        controls=(
            Control("tanh", "the same depth with tanh, a zero-centred activation",
                    lambda r: r["igb"].loc[20, "tanh"]),
            Control("two layers", "the same ReLU classifier with 2 hidden layers instead of 20",
                    lambda r: r["igb"].loc[2, "relu"]),
        ),
        note="mean over 10 networks of the share of 1,000 Gaussian inputs sent to the favourite class",
    ),
    Claim(
        key="inductive_bias.priors_before_training.dip_fits_structure_first",
        statement="After 200 steps an untrained conv net fits the image at least 3x better (in squared "
                  "error) than the same pixels in scrambled order.",
        cite=("deep_image_prior",),
        paper_result="a natural image is fitted much faster than the same image with noise, its "
                     "pixels shuffled, or pure noise: the network's structure, not data, resists noise",
        paper_where="Fig. 2",
        run=run,
        measure=scramble_slowdown,
        world=lambda r: r["speed"],
        predicate=at_least(3.0),
        controls=(Control("noise image", "the same comparison on a uniform-noise image, which has no "
                          "structure for scrambling to destroy", lambda r: r["speed_noise"]),),
    ),
    Claim(
        key="inductive_bias.priors_before_training.dip_denoises_then_overfits",
        statement="Fitted to a noisy image, the conv net's best output beats the noisy input by at least "
                  "3 dB, and its output after 1,000 steps has lost at least 3 dB of that again.",
        cite=("deep_image_prior",),
        paper_result="stopped early, the fit denoises about as well as classic non-learned methods; "
                     "trained on, it reproduces the noise",
        paper_where="Sec. 4, denoising",
        run=run,
        measure=_dip_two_phases,
        world=lambda r: r["dip"],
        predicate=at_least(3.0),
        controls=(Control("scrambled image", "the same denoising run on the image with its pixels "
                          "scrambled (noise added after scrambling): no structure to prefer",
                          lambda r: r["dip_scrambled"]),),
        note="measured as min(best - noisy PSNR, best - final PSNR), in dB",
    ),
)
