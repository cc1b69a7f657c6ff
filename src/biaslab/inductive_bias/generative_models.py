"""Section 1.8, Generative models: a smooth denoiser fills the gaps (``chapters/01_inductive_bias/08_generative_models.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..plotting import get_axes
from ..validation import (
    check_nonnegative,
    check_positive,
    check_positive_int,
)

__all__ = [
    "grid_centers",
    "gaussian_grid_data",
    "ddpm_schedule",
    "TinyDenoiser",
    "train_ddpm",
    "ddpm_sample",
    "distance_to_modes",
    "gap_fraction",
    "gaussian_mass_beyond",
    "true_posterior_mean",
    "denoiser_along_segment",
    "plot_mode_interpolation",
    "plot_denoiser_profile",
]


def grid_centers(k: int = 3, spacing: float = 1.0) -> torch.Tensor:
    """Centres of a ``k x k`` square grid in the plane, centred on the origin.

    Args:
        k: points per side (>= 1).
        spacing: distance between neighbouring centres (> 0).

    Returns:
        Tensor of shape ``(k * k, 2)``.
    """
    k = check_positive_int(k, "k")
    spacing = check_positive(spacing, "spacing")
    c = torch.arange(k, dtype=torch.float32) * spacing
    c = c - c.mean()
    return torch.cartesian_prod(c, c)


def gaussian_grid_data(
    n: int = 1000, k: int = 3, spacing: float = 1.0, sigma: float = 0.05, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Samples of an equal-weight mixture of isotropic Gaussians centred on a square grid.

    Args:
        n: number of samples.
        k: grid points per side (``k * k`` modes).
        spacing: distance between neighbouring modes.
        sigma: standard deviation of every mode (> 0).
        seed: seed of the draw.

    Returns:
        ``(X, centers)``: samples ``(n, 2)`` and mode centres ``(k * k, 2)``.
    """
    n = check_positive_int(n, "n")
    sigma = check_positive(sigma, "sigma")
    centers = grid_centers(k, spacing)
    g = torch.Generator().manual_seed(int(seed))
    idx = torch.randint(0, len(centers), (n,), generator=g)
    return centers[idx] + sigma * torch.randn(n, 2, generator=g), centers


def ddpm_schedule(T: int = 100) -> dict[str, torch.Tensor]:
    """The linear noise schedule of DDPM, rescaled to ``T`` steps.

    ``beta_t`` runs linearly from ``1e-4`` to ``0.02 * 1000 / T`` (capped at 0.5), so that
    ``alpha_bar_T`` is close to 0 for any ``T``; ``x_t = sqrt(alpha_bar_t) x_0 +
    sqrt(1 - alpha_bar_t) eps``.

    Args:
        T: number of diffusion steps (>= 2).

    Returns:
        ``{"betas", "alphas", "alpha_bars"}``, each of shape ``(T,)``.
    """
    T = check_positive_int(T, "T", 2)
    betas = torch.linspace(1e-4, min(0.02 * 1000 / T, 0.5), T)
    alphas = 1 - betas
    return {"betas": betas, "alphas": alphas, "alpha_bars": torch.cumprod(alphas, 0)}


class TinyDenoiser(nn.Module):
    """A small MLP that predicts the noise ``eps`` from ``(x_t, t)`` for 2-D data.

    The step ``t`` enters through sines and cosines of ``pi * f * t / T`` for ``f = 1..n_freqs``;
    three hidden layers of ``width`` SiLU units.
    """

    def __init__(self, width: int = 128, T: int = 100, n_freqs: int = 8, dim: int = 2) -> None:
        super().__init__()
        width = check_positive_int(width, "width")
        self.T = check_positive_int(T, "T", 2)
        n_freqs = check_positive_int(n_freqs, "n_freqs")
        self.dim = check_positive_int(dim, "dim")
        self.register_buffer("freqs", torch.arange(1, n_freqs + 1, dtype=torch.float32))
        self.net = nn.Sequential(
            nn.Linear(dim + 2 * n_freqs, width), nn.SiLU(),
            nn.Linear(width, width), nn.SiLU(),
            nn.Linear(width, width), nn.SiLU(),
            nn.Linear(width, dim),
        )

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        phase = (t.float() / self.T)[:, None] * self.freqs * math.pi
        return self.net(torch.cat([x, torch.sin(phase), torch.cos(phase)], 1))


def train_ddpm(
    X: torch.Tensor,
    T: int = 100,
    steps: int = 4000,
    lr: float = 3e-3,
    batch_size: int = 256,
    width: int = 128,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> tuple[TinyDenoiser, pd.DataFrame]:
    """Train a :class:`TinyDenoiser` with the DDPM noise-prediction loss.

    Each step draws a minibatch of training points, a random step ``t`` and noise ``eps``
    per point, and regresses ``eps`` from ``x_t``. Adam with a one-cycle learning-rate
    schedule (peak ``lr``, annealed to ~0).

    Args:
        X: training data ``(n, dim)``.
        T: diffusion steps (see :func:`ddpm_schedule`).
        steps: optimizer steps.
        lr: peak learning rate.
        batch_size: minibatch size (drawn with replacement).
        width: hidden units of the denoiser.
        seed: seed of initialization and of the training noise.
        device: where to train.

    Returns:
        ``(model, history)``; history has ``step`` and ``loss`` (mean of the last 100 steps).
    """
    if not isinstance(X, torch.Tensor) or X.ndim != 2 or len(X) < 1:
        raise ValueError("X must be a non-empty 2-D tensor (n, dim)")
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    lr = check_positive(lr, "lr")
    torch.manual_seed(int(seed))
    model = TinyDenoiser(width=width, T=T, dim=X.shape[1]).to(device)
    ab = ddpm_schedule(T)["alpha_bars"].to(device)
    X = X.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    g = torch.Generator().manual_seed(int(seed) + 1)
    rows, recent = [], []
    for step in range(1, steps + 1):
        idx = torch.randint(0, len(X), (batch_size,), generator=g)
        t = torch.randint(0, T, (batch_size,), generator=g)
        eps = torch.randn(batch_size, X.shape[1], generator=g).to(device)
        idx, t = idx.to(device), t.to(device)
        a = ab[t][:, None]
        xt = a.sqrt() * X[idx] + (1 - a).sqrt() * eps
        loss = ((model(xt, t) - eps) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        recent.append(float(loss.detach()))
        if step % 100 == 0 or step == steps:
            rows.append({"step": step, "loss": float(np.mean(recent))})
            recent = []
    model.eval()
    return model, pd.DataFrame(rows)


@torch.no_grad()
def ddpm_sample(model: TinyDenoiser, n: int = 10000, seed: int = 0, track_last: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    """Ancestral DDPM sampling, recording how much the predicted clean point moves at the end.

    At every step the model's noise estimate gives a prediction of the clean sample,
    ``x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps_hat) / sqrt(alpha_bar_t)``. The variance of
    ``x0_hat`` over the last ``track_last`` steps (summed over coordinates) is the
    hallucination score of Aithal et al. (2024): a trajectory that settles on a mode keeps
    predicting the same point, one that ends between modes keeps changing its mind.

    Args:
        model: a trained :class:`TinyDenoiser`.
        n: number of samples.
        seed: seed of the sampling noise.
        track_last: number of final steps over which the variance is taken (2..T).

    Returns:
        ``(samples, x0_variance)`` with shapes ``(n, dim)`` and ``(n,)``.
    """
    if not isinstance(model, TinyDenoiser):
        raise TypeError(f"model must be a TinyDenoiser, got {type(model).__name__}")
    n = check_positive_int(n, "n")
    T = model.T
    track_last = check_positive_int(track_last, "track_last", 2)
    if track_last > T:
        raise ValueError(f"track_last must be <= T = {T}, got {track_last}")
    device = next(model.parameters()).device
    s = {k: v.to(device) for k, v in ddpm_schedule(T).items()}
    g = torch.Generator().manual_seed(int(seed))
    x = torch.randn(n, model.dim, generator=g).to(device)
    x0s = []
    for t in reversed(range(T)):
        eps = model(x, torch.full((n,), t, device=device))
        ab, a, b = s["alpha_bars"][t], s["alphas"][t], s["betas"][t]
        if t < track_last:
            x0s.append((x - (1 - ab).sqrt() * eps) / ab.sqrt())
        x = (x - b / (1 - ab).sqrt() * eps) / a.sqrt()
        if t > 0:
            x = x + b.sqrt() * torch.randn(n, model.dim, generator=g).to(device)
    var = torch.stack(x0s).var(0).sum(1)
    return x.cpu(), var.cpu()


def distance_to_modes(x: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """Euclidean distance from each point to its nearest mode centre.

    Args:
        x: points ``(n, dim)``.
        centers: mode centres ``(k, dim)``.

    Returns:
        Tensor ``(n,)``.
    """
    if not isinstance(x, torch.Tensor) or not isinstance(centers, torch.Tensor):
        raise TypeError("x and centers must be torch tensors")
    if x.ndim != 2 or centers.ndim != 2 or x.shape[1] != centers.shape[1]:
        raise ValueError(f"x and centers must be 2-D with the same width, got {tuple(x.shape)} and {tuple(centers.shape)}")
    return torch.cdist(x.float(), centers.float()).min(1).values


def gap_fraction(x: torch.Tensor, centers: torch.Tensor, radius: float) -> float:
    """Share of points farther than ``radius`` from every mode centre (the "gap" region).

    Args:
        x: points ``(n, dim)``.
        centers: mode centres ``(k, dim)``.
        radius: the gap starts at this distance from the nearest centre (> 0).

    Returns:
        A fraction in [0, 1].
    """
    radius = check_positive(radius, "radius")
    return float((distance_to_modes(x, centers) > radius).float().mean())


def gaussian_mass_beyond(radius: float, sigma: float, dim: int = 2) -> float:
    """Probability that an isotropic Gaussian ``N(mu, sigma^2 I_dim)`` lands farther than ``radius`` from ``mu``.

    ``||x - mu||^2 / sigma^2`` is chi-squared with ``dim`` degrees of freedom; in 2-D the mass is
    ``exp(-radius^2 / (2 sigma^2))``. For a mixture of such Gaussians this bounds, from above,
    the mixture's mass in the gap region of :func:`gap_fraction` (a point far from its own
    centre may still be near another one).

    Args:
        radius: distance (>= 0).
        sigma: standard deviation (> 0).
        dim: dimension (>= 1).

    Returns:
        The probability.
    """
    from scipy.stats import chi2

    radius = check_nonnegative(radius, "radius")
    sigma = check_positive(sigma, "sigma")
    dim = check_positive_int(dim, "dim")
    return float(chi2.sf((radius / sigma) ** 2, dim))


def true_posterior_mean(xt: torch.Tensor, t: int, centers: torch.Tensor, sigma: float, T: int = 100) -> torch.Tensor:
    """The exact denoiser ``E[x_0 | x_t]`` for an equal-weight mixture of ``N(c_k, sigma^2 I)``.

    With ``x_t = sqrt(a) x_0 + sqrt(1 - a) eps`` (``a = alpha_bar_t``), each component stays
    Gaussian: ``x_t | k ~ N(sqrt(a) c_k, v I)`` with ``v = a sigma^2 + 1 - a``, and
    ``E[x_0 | x_t, k] = c_k + sqrt(a) sigma^2 / v (x_t - sqrt(a) c_k)``; the answer averages
    these with the posterior weights of the components (a softmax).

    Args:
        xt: noisy points ``(n, dim)``.
        t: diffusion step in ``0 .. T - 1``.
        centers: mode centres ``(k, dim)``.
        sigma: standard deviation of each mode.
        T: number of diffusion steps of the schedule.

    Returns:
        Tensor ``(n, dim)``.
    """
    T = check_positive_int(T, "T", 2)
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not 0 <= t < T:
        raise ValueError(f"t must be an integer in [0, {T - 1}], got {t}")
    sigma = check_positive(sigma, "sigma")
    a = float(ddpm_schedule(T)["alpha_bars"][t])
    v = a * sigma**2 + 1 - a
    xt, c = xt.double(), centers.double()
    logits = -((xt[:, None, :] - math.sqrt(a) * c[None]) ** 2).sum(-1) / (2 * v)
    w = torch.softmax(logits, 1)
    cond = c[None] + math.sqrt(a) * sigma**2 / v * (xt[:, None, :] - math.sqrt(a) * c[None])
    return (w[:, :, None] * cond).sum(1).float()


@torch.no_grad()
def denoiser_along_segment(
    model: TinyDenoiser,
    a: Sequence[float],
    b: Sequence[float],
    t: int,
    centers: torch.Tensor,
    sigma: float,
    n_points: int = 201,
) -> pd.DataFrame:
    """Learned and exact denoisers ``x0_hat(x_t)`` at step ``t`` along the segment from ``a`` to ``b``.

    The noisy input ``x_t`` runs over the scaled segment ``sqrt(alpha_bar_t) * ((1 - u) a + u b)``,
    ``u in [0, 1]``, so that ``u`` is the position between the two (scaled) modes.

    Args:
        model: a trained :class:`TinyDenoiser`.
        a, b: the two end points (e.g. neighbouring mode centres).
        t: diffusion step in ``0 .. T - 1``.
        centers: mode centres of the data.
        sigma: standard deviation of each mode.
        n_points: number of positions.

    Returns:
        DataFrame with ``u``, ``learned`` and ``exact``: the projection of ``x0_hat`` on the
        segment (0 at ``a``, 1 at ``b``).
    """
    if not isinstance(model, TinyDenoiser):
        raise TypeError(f"model must be a TinyDenoiser, got {type(model).__name__}")
    n_points = check_positive_int(n_points, "n_points", 2)
    a_, b_ = torch.tensor(a, dtype=torch.float32), torch.tensor(b, dtype=torch.float32)
    if a_.shape != (model.dim,) or b_.shape != (model.dim,) or torch.equal(a_, b_):
        raise ValueError(f"a and b must be two different points of dimension {model.dim}")
    T = model.T
    exact_ = true_posterior_mean(a_[None], t, centers, sigma, T)  # validates t
    del exact_
    ab = float(ddpm_schedule(T)["alpha_bars"][t])
    u = torch.linspace(0, 1, n_points)
    xt = math.sqrt(ab) * ((1 - u)[:, None] * a_ + u[:, None] * b_)
    device = next(model.parameters()).device
    eps = model(xt.to(device), torch.full((n_points,), t, device=device)).cpu()
    learned = (xt - math.sqrt(1 - ab) * eps) / math.sqrt(ab)
    exact = true_posterior_mean(xt, t, centers, sigma, T)
    d = b_ - a_

    def proj(z: torch.Tensor) -> np.ndarray:
        return (((z - a_) @ d) / (d @ d)).numpy()

    return pd.DataFrame({"u": u.numpy(), "learned": proj(learned), "exact": proj(exact)})


def plot_mode_interpolation(
    X_train: torch.Tensor, samples: torch.Tensor, centers: torch.Tensor, radius: float, ax=None
):
    """Training data and generated samples; samples in the gap region are highlighted.

    Args:
        X_train: training points ``(n, 2)``.
        samples: generated points ``(m, 2)``.
        centers: mode centres.
        radius: gap radius (see :func:`gap_fraction`).
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.
    """
    ax = get_axes(ax)
    gap = distance_to_modes(samples, centers) > radius
    ax.scatter(samples[~gap, 0], samples[~gap, 1], s=2, alpha=0.2, color="C0", label="generated, near a mode")
    ax.scatter(samples[gap, 0], samples[gap, 1], s=3, alpha=0.5, color="C3", label="generated, in a gap")
    ax.scatter(X_train[:, 0], X_train[:, 1], s=2, color="black", label="training data")
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), markerscale=4)
    return ax


def plot_denoiser_profile(profiles: dict[str, pd.DataFrame], ax=None):
    """Learned (solid) and exact (dashed) denoiser outputs along a segment between two modes.

    Args:
        profiles: ``{label: frame}`` from :func:`denoiser_along_segment`, e.g. one per step ``t``.
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.
    """
    if not profiles:
        raise ValueError("profiles must contain at least one frame")
    ax = get_axes(ax)
    for i, (label, df) in enumerate(profiles.items()):
        ax.plot(df["u"], df["learned"], color=f"C{i}", label=f"learned, {label}")
        ax.plot(df["u"], df["exact"], color=f"C{i}", ls="--", label=f"exact, {label}")
    ax.set_xlabel("position of the noisy input between mode A (0) and mode B (1)")
    ax.set_ylabel("denoised position (0 = A, 1 = B)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax
