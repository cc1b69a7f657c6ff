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

from ..core import make_activation
from ..plotting import get_axes
from ..validation import (
    check_positive,
    check_positive_int,
)

__all__ = [
    "random_mlp_function",
    "spectral_centroid",
    "redshift_table",
    "majority_class_share",
    "initial_guessing_bias",
    "piecewise_smooth_image",
    "psnr",
    "DIPNet",
    "deep_image_prior_run",
    "plot_deep_image_prior",
    "plot_random_functions",
    "plot_redshift",
]


_PRIOR_ACTIVATIONS = ("relu", "tanh", "sin", "gauss")


def _check_activation_name(activation: str, allowed: Sequence[str] = _PRIOR_ACTIVATIONS) -> str:
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a string, got {type(activation).__name__}")
    if activation not in allowed:
        raise ValueError(f"activation must be one of {list(allowed)}, got {activation!r}")
    return activation


def random_mlp_function(
    activation: str = "relu",
    weight_scale: float = 1.0,
    n: int = 512,
    width: int = 128,
    depth: int = 4,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The function computed by an untrained MLP on a uniform grid of ``[-1, 1]``.

    Weights are drawn i.i.d. ``N(0, weight_scale**2 / fan_in)``, biases
    ``N(0, (0.1 * weight_scale)**2)``; the read-out layer has scale 1. Larger scales push
    pre-activations further out, which matters for activations that oscillate (``sin``) or
    have a bump (``gauss``), and hardly at all for ReLU, which is positively homogeneous.

    Args:
        activation: ``"relu"``, ``"tanh"``, ``"sin"`` or ``"gauss"``.
        weight_scale: standard deviation multiplier of the hidden weights (> 0).
        n: number of grid points (>= 8).
        width, depth: hidden units per layer and number of hidden layers.
        generator: a seeded ``torch.Generator`` (fresh random state if ``None``).

    Returns:
        ``(x, f)``, two tensors of shape ``(n,)``.
    """
    act = make_activation(_check_activation_name(activation))
    weight_scale = check_positive(weight_scale, "weight_scale")
    n = check_positive_int(n, "n", 8)
    width = check_positive_int(width, "width")
    depth = check_positive_int(depth, "depth")
    x = torch.linspace(-1, 1, n, dtype=torch.float64).unsqueeze(1)
    h, d = x, 1
    for _ in range(depth):
        W = torch.randn(d, width, generator=generator, dtype=torch.float64) * weight_scale / math.sqrt(d)
        b = torch.randn(width, generator=generator, dtype=torch.float64) * 0.1 * weight_scale
        h, d = act(h @ W + b), width
    w_out = torch.randn(d, 1, generator=generator, dtype=torch.float64) / math.sqrt(d)
    return x.squeeze(1), (h @ w_out).squeeze(1)


def spectral_centroid(f: torch.Tensor) -> float:
    """Power-weighted mean frequency of a signal sampled on a uniform grid.

    ``sum_k k |F(k)|^2 / sum_k |F(k)|^2`` over the non-negative frequencies of the real
    discrete Fourier transform of ``f - mean(f)``; a simple measure of how wiggly a
    function is (in cycles per grid length).

    Args:
        f: a 1-D tensor with at least 4 samples.

    Returns:
        The centroid (0 for a constant signal).
    """
    f = torch.as_tensor(f).detach().reshape(-1).cpu().double()
    if f.numel() < 4:
        raise ValueError(f"f must have at least 4 samples, got {f.numel()}")
    P = torch.fft.rfft(f - f.mean()).abs() ** 2
    total = P.sum().item()
    if total <= 1e-300:
        return 0.0
    k = torch.arange(len(P), dtype=torch.float64)
    return float((k * P).sum().item() / total)


def redshift_table(
    activations: Sequence[str] = _PRIOR_ACTIVATIONS,
    weight_scales: Sequence[float] = (1.0, 3.0, 6.0),
    n_nets: int = 10,
    n: int = 512,
    width: int = 128,
    depth: int = 4,
    seed: int = 0,
) -> pd.DataFrame:
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
    out = pd.DataFrame(rows).T
    out.index.name = "activation"
    out.columns.name = "weight scale"
    return out


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


def initial_guessing_bias(
    activation: str = "relu",
    depth: int = 20,
    n_nets: int = 10,
    n: int = 1000,
    in_dim: int = 64,
    width: int = 128,
    n_classes: int = 10,
    seed: int = 0,
) -> float:
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
    activation = _check_activation_name(activation, ("relu", "tanh"))
    depth = check_positive_int(depth, "depth")
    n_nets = check_positive_int(n_nets, "n_nets")
    n = check_positive_int(n, "n")
    n_classes = check_positive_int(n_classes, "n_classes", 2)
    gain = math.sqrt(2.0) if activation == "relu" else 5.0 / 3.0
    act = make_activation(activation)
    g = torch.Generator().manual_seed(seed)
    shares = []
    for _ in range(n_nets):
        h = torch.randn(n, check_positive_int(in_dim, "in_dim"), generator=g)
        d = in_dim
        for _ in range(depth):
            W = torch.randn(d, check_positive_int(width, "width"), generator=g) * gain / math.sqrt(d)
            h, d = act(h @ W), width
        logits = h @ (torch.randn(d, n_classes, generator=g) / math.sqrt(d))
        shares.append(majority_class_share(logits))
    return float(np.mean(shares))


def piecewise_smooth_image(n: int = 32) -> torch.Tensor:
    """A small grey-level test image: smooth shading, a disc, a shaded square and a bar.

    Piecewise-smooth images are what a convolutional generator reproduces easily, so they
    show the deep image prior well.

    Args:
        n: side length in pixels (>= 8).

    Returns:
        Tensor of shape ``(n, n)`` with values in ``[0, 1]``.
    """
    n = check_positive_int(n, "n", 8)
    y, x = torch.meshgrid(torch.linspace(0, 1, n), torch.linspace(0, 1, n), indexing="ij")
    img = 0.25 + 0.3 * x
    img = torch.where((x - 0.35) ** 2 + (y - 0.4) ** 2 < 0.18**2, torch.tensor(0.9), img)
    img = torch.where((x > 0.55) & (x < 0.85) & (y > 0.55) & (y < 0.85), 0.1 + 0.2 * y, img)
    img = torch.where((y > 0.12) & (y < 0.2) & (x > 0.5) & (x < 0.9), torch.tensor(0.7), img)
    return img.clamp(0, 1)


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


class DIPNet(nn.Module):
    """A small convolutional encoder-decoder, the generator of the deep image prior.

    Two stride-2 conv blocks down, two bilinear-upsampling conv blocks up (conv 3x3,
    batch norm, leaky ReLU), then a 1x1 conv and a sigmoid to one grey channel.

    Args:
        in_channels: channels of the fixed random input code.
        channels: feature channels of every block.
    """

    def __init__(self, in_channels: int = 8, channels: int = 32):
        super().__init__()
        in_channels = check_positive_int(in_channels, "in_channels")
        c = check_positive_int(channels, "channels")

        def block(i: int, o: int, stride: int = 1) -> list[nn.Module]:
            return [nn.Conv2d(i, o, 3, stride, 1), nn.BatchNorm2d(o), nn.LeakyReLU(0.2)]

        up = lambda: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)  # noqa: E731
        self.net = nn.Sequential(
            *block(in_channels, c, 2), *block(c, c), *block(c, c, 2), *block(c, c),
            up(), *block(c, c), up(), *block(c, c), nn.Conv2d(c, 1, 1), nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def deep_image_prior_run(
    image: torch.Tensor | None = None,
    sigma: float = 0.15,
    steps: int = 1000,
    lr: float = 0.01,
    channels: int = 32,
    eval_every: int = 10,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> dict[str, object]:
    """Fit an untrained conv net to one noisy image and track its PSNR against the clean one.

    The input is a fixed random code ``z`` (8 channels, uniform in ``[0, 0.1]``); the
    :class:`DIPNet` is trained with Adam to map ``z`` to the noisy image (mean squared
    error). The clean image is never used for training, only to measure the PSNR.

    Args:
        image: a clean ``(n, n)`` image in ``[0, 1]`` with ``n`` divisible by 4
            (default: :func:`piecewise_smooth_image` with ``n = 32``).
        sigma: standard deviation of the additive Gaussian noise (> 0).
        steps: Adam steps.
        lr: learning rate.
        channels: feature channels of the network.
        eval_every: record the PSNR every this many steps.
        seed: seed of the noise, the input code and the weights.
        device: where to train (CPU if ``None``).

    Returns:
        A dict with ``history`` (DataFrame: ``step``, ``psnr`` against the clean image,
        ``psnr_noisy`` against the noisy target), ``noisy_psnr`` (PSNR of the noisy input),
        ``best_psnr``, ``best_step``, ``final_psnr``, and the images ``clean``, ``noisy``,
        ``best`` and ``final`` as ``(n, n)`` CPU tensors.
    """
    clean = piecewise_smooth_image(32) if image is None else torch.as_tensor(image, dtype=torch.float32)
    if clean.ndim != 2 or clean.shape[0] != clean.shape[1] or clean.shape[0] % 4 or clean.shape[0] < 8:
        raise ValueError(f"image must be a square (n, n) tensor with n >= 8 divisible by 4, got {tuple(clean.shape)}")
    sigma = check_positive(sigma, "sigma")
    steps = check_positive_int(steps, "steps")
    lr = check_positive(lr, "lr")
    eval_every = check_positive_int(eval_every, "eval_every")
    device = torch.device(device or "cpu")
    n = clean.shape[0]
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    noisy = clean + sigma * torch.randn(clean.shape, generator=g)
    z = (0.1 * torch.rand(1, 8, n, n, generator=g)).to(device)
    target = noisy[None, None].to(device)
    model = DIPNet(8, channels).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    rows, best, best_psnr, best_step = [], None, -math.inf, 0
    for step in range(steps + 1):
        out = model(z)
        if step % eval_every == 0 or step == steps:
            img = out.detach()[0, 0].cpu()
            p = psnr(img, clean)
            rows.append({"step": step, "psnr": p, "psnr_noisy": psnr(img, noisy)})
            if p > best_psnr:
                best, best_psnr, best_step = img, p, step
        if step == steps:
            break
        loss = F.mse_loss(out, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return {
        "history": pd.DataFrame(rows),
        "noisy_psnr": psnr(noisy, clean),
        "best_psnr": best_psnr,
        "best_step": best_step,
        "final_psnr": rows[-1]["psnr"],
        "clean": clean,
        "noisy": noisy,
        "best": best,
        "final": img,
    }


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
    ax.plot(h.step, h.psnr_noisy, ls="--", label="output vs noisy target")
    ax.axhline(result["noisy_psnr"], color="0.5", ls=":", label="noisy input vs clean")
    ax.set_xlabel("step")
    ax.set_ylabel("PSNR (dB)")
    ax.legend(loc="lower right", fontsize=8)
    return axes


def plot_random_functions(
    activations: Sequence[str] = _PRIOR_ACTIVATIONS,
    weight_scales: Sequence[float] = (1.0, 6.0),
    seed: int = 0,
    axes=None,
):
    """One sample function of an untrained MLP per (weight scale, activation) panel.

    Args:
        activations: activation names (columns).
        weight_scales: weight scales (rows).
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
