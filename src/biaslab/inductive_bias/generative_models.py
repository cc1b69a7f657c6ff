"""Section 1.8, Generative models: a smooth denoiser fills the gaps (``chapters/01_inductive_bias/08_generative_models.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..claims import Claim, Control, at_least, at_most, between
from ..core import resolve_device, train
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
    "ExactDenoiser",
    "train_ddpm",
    "ddpm_sample",
    "distance_to_modes",
    "gap_fraction",
    "gaussian_mass_beyond",
    "true_posterior_mean",
    "denoiser_along_segment",
    "midpoint_jump",
    "hallucination_auroc",
    "GAP_RADIUS",
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


class ExactDenoiser(nn.Module):
    """The exact noise predictor of an equal-weight Gaussian mixture, for :func:`ddpm_sample`.

    It returns the ``eps`` that corresponds to the exact denoiser
    (:func:`true_posterior_mean`): ``eps = (x_t - sqrt(a) E[x_0 | x_t]) / sqrt(1 - a)`` with
    ``a = alpha_bar_t``. Sampling with it is sampling with the best possible denoiser, which
    switches abruptly between modes instead of ramping.

    Args:
        centers: mode centres ``(k, dim)``.
        sigma: standard deviation of each mode (> 0).
        T: number of diffusion steps of the schedule.
    """

    def __init__(self, centers: torch.Tensor, sigma: float, T: int = 100) -> None:
        super().__init__()
        if not isinstance(centers, torch.Tensor) or centers.ndim != 2 or len(centers) == 0:
            raise ValueError("centers must be a non-empty 2-D tensor (k, dim)")
        self.T = check_positive_int(T, "T", 2)
        self.sigma = check_positive(sigma, "sigma")
        self.dim = int(centers.shape[1])
        self.register_buffer("centers", centers.detach().float().clone())
        self.register_buffer("alpha_bars", ddpm_schedule(self.T)["alpha_bars"].float())

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The exact ``eps`` for noisy points ``x`` at one step ``t`` (a tensor of equal steps)."""
        step = int(t.reshape(-1)[0])
        if not bool((t == step).all()):
            raise ValueError("ExactDenoiser takes one diffusion step per call")
        ab = self.alpha_bars[step]
        x0 = true_posterior_mean(x.cpu(), step, self.centers.cpu(), self.sigma, self.T).to(x.device)
        return (x - ab.sqrt() * x0) / (1 - ab).sqrt()


def train_ddpm(
    X: torch.Tensor,
    T: int = 100,
    steps: int = 4000,
    lr: float = 3e-3,
    batch_size: int = 256,
    width: int = 128,
    seed: int = 0,
    device: torch.device | str | None = None,
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
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        ``(model, history)``; history has ``step`` and ``loss`` (mean of the last 100 steps).
    """
    if not isinstance(X, torch.Tensor) or X.ndim != 2 or len(X) < 1:
        raise ValueError("X must be a non-empty 2-D tensor (n, dim)")
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    lr = check_positive(lr, "lr")
    device = resolve_device(device)
    torch.manual_seed(int(seed))
    model = TinyDenoiser(width=width, T=T, dim=X.shape[1]).to(device)
    ab = ddpm_schedule(T)["alpha_bars"].to(device)
    X = X.to(device)
    g = torch.Generator().manual_seed(int(seed) + 2)

    def denoising_loss(net: nn.Module, x0: torch.Tensor, _: None) -> torch.Tensor:
        t = torch.randint(0, T, (len(x0),), generator=g)
        eps = torch.randn(len(x0), x0.shape[1], generator=g).to(device)
        a = ab[t.to(device)][:, None]
        return ((net(a.sqrt() * x0 + (1 - a).sqrt() * eps, t.to(device)) - eps) ** 2).mean()

    losses: list[float] = []
    train(model, X, None, None, steps=steps, lr=lr, batch_size=batch_size, replacement=True,
          eval_every=steps, objective=denoising_loss, scheduler="onecycle", seed=int(seed) + 1,
          on_step=lambda net, step, loss: losses.append(float(loss)), device=device)
    ends = [*range(100, steps, 100), steps]
    rows = [{"step": end, "loss": float(np.mean(losses[(end - 1) // 100 * 100:end]))} for end in ends]
    model.eval()
    return model, pd.DataFrame(rows)


@torch.no_grad()
def ddpm_sample(model: TinyDenoiser | ExactDenoiser, n: int = 10000, seed: int = 0, track_last: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    """Ancestral DDPM sampling, recording how much the predicted clean point moves at the end.

    At every step the model's noise estimate gives a prediction of the clean sample,
    ``x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps_hat) / sqrt(alpha_bar_t)``. The variance of
    ``x0_hat`` over the last ``track_last`` steps (summed over coordinates) is the
    hallucination score of Aithal et al. (2024): a trajectory that settles on a mode keeps
    predicting the same point, one that ends between modes keeps changing its mind.

    Args:
        model: a trained :class:`TinyDenoiser`, or the :class:`ExactDenoiser` of the data.
        n: number of samples.
        seed: seed of the sampling noise.
        track_last: number of final steps over which the variance is taken (2..T).

    Returns:
        ``(samples, x0_variance)`` with shapes ``(n, dim)`` and ``(n,)``.
    """
    if not isinstance(model, (TinyDenoiser, ExactDenoiser)):
        raise TypeError(f"model must be a TinyDenoiser or an ExactDenoiser, got {type(model).__name__}")
    n = check_positive_int(n, "n")
    T = model.T
    track_last = check_positive_int(track_last, "track_last", 2)
    if track_last > T:
        raise ValueError(f"track_last must be <= T = {T}, got {track_last}")
    device = next(model.buffers()).device
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


def midpoint_jump(profile: pd.DataFrame, column: str = "learned", lo: float = 0.45, hi: float = 0.55) -> float:
    """How far a denoiser moves its output across the middle of a segment between two modes.

    Args:
        profile: from :func:`denoiser_along_segment` (columns ``u``, ``learned``, ``exact``).
        column: ``"learned"`` or ``"exact"``.
        lo, hi: the positions along the segment (0 at one mode, 1 at the other), ``lo < hi``.

    Returns:
        ``profile[column]`` at ``u = hi`` minus at ``u = lo`` (the nearest positions): about 1
        for a denoiser that jumps from one mode to the other there, small for one that ramps.
    """
    if not isinstance(profile, pd.DataFrame) or "u" not in profile or column not in profile:
        raise ValueError(f"profile must come from denoiser_along_segment and have a {column!r} column")
    if not 0 <= lo < hi <= 1:
        raise ValueError(f"need 0 <= lo < hi <= 1, got lo={lo}, hi={hi}")
    at = lambda u: float(profile[column][(profile.u - u).abs().idxmin()])  # noqa: E731
    return at(hi) - at(lo)


def hallucination_auroc(in_gap: np.ndarray | torch.Tensor, score: np.ndarray | torch.Tensor) -> float:
    """How well a score ranks gap samples above near-mode samples: the area under the ROC curve.

    Args:
        in_gap: one boolean per sample (``True``: the sample lies in a gap).
        score: one number per sample, larger for "more likely hallucinated" (e.g. the
            ``x0_variance`` of :func:`ddpm_sample`).

    Returns:
        The AUROC in [0, 1] (0.5 for a score that carries no information).
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(in_gap.cpu() if isinstance(in_gap, torch.Tensor) else in_gap).astype(bool)
    sc = np.asarray(score.cpu() if isinstance(score, torch.Tensor) else score, dtype=float)
    if y.ndim != 1 or y.shape != sc.shape:
        raise ValueError(f"in_gap and score must be 1-D of the same length, got {y.shape} and {sc.shape}")
    if y.all() or not y.any():
        raise ValueError("in_gap must contain both gap and near-mode samples")
    return float(roc_auc_score(y, sc))


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


# --------------------------------------------------------------------------------------
# the section's runner and claims
# --------------------------------------------------------------------------------------
GAP_RADIUS = 0.25  # 5 sigma: farther than this from every centre is "in a gap"


def run(seed: int = 0, device: torch.device | str | None = None) -> dict[str, object]:
    """Everything section 1.8 checks, for one seed.

    Args:
        seed: seed of the data, the training run and (as ``100 + seed``) the sampling noise.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        ``X_train`` and ``centers`` (:func:`gaussian_grid_data`, 1,000 points on a 3 x 3 grid,
        sigma 0.05); ``samples`` and ``x0_var``: 10,000 samples of the trained
        :class:`TinyDenoiser` (8,000 steps) and the variance of their predicted clean point
        over the last 5 steps; ``exact_samples``: 10,000 samples of the same sampler with the
        :class:`ExactDenoiser` and the same noise; ``profile``: :func:`denoiser_along_segment`
        at ``t = 3`` between the first two modes.
    """
    X_train, centers = gaussian_grid_data(n=1000, k=3, spacing=1.0, sigma=0.05, seed=seed)
    model, _ = train_ddpm(X_train, T=100, steps=8000, lr=3e-3, batch_size=128, seed=seed, device=device)
    samples, x0_var = ddpm_sample(model, n=10000, seed=100 + seed, track_last=5)
    exact_samples, _ = ddpm_sample(ExactDenoiser(centers, 0.05, T=100), n=10000, seed=100 + seed, track_last=5)
    profile = denoiser_along_segment(model, centers[0].tolist(), centers[1].tolist(), t=3, centers=centers, sigma=0.05)
    return {"X_train": X_train, "centers": centers, "samples": samples, "x0_var": x0_var,
            "exact_samples": exact_samples, "profile": profile}


def _shuffled(in_gap: np.ndarray, seed: int = 0) -> np.ndarray:
    """The gap labels in a random order: a labelling the score cannot know."""
    return np.random.default_rng(seed).permutation(np.asarray(in_gap))


CLAIMS = (
    Claim(
        key="inductive_bias.generative_models.mode_interpolation",
        statement="Between 0.5% (5 times a floor of 1e-3 that is itself almost 300 times the data's "
                  "mass there) and 15% of the diffusion model's samples lie in the gaps between modes: "
                  "it fills the gaps and still learns the modes.",
        cite=("understanding_hallucinations_diffusion",),
        paper_result="on 1-D and 2-D Gaussian mixtures a trained diffusion model places samples between "
                     "neighbouring modes, where the data have no support",
        paper_where="the mixture-of-Gaussians experiments",
        run=run,
        measure=lambda w: gap_fraction(w[0], w[1], GAP_RADIUS),
        world=lambda r: (r["samples"], r["centers"]),
        predicate=between(5e-3, 0.15),
        controls=(
            Control("exact denoiser",
                    "the same sampler and noise with the exact denoiser of the mixture, which jumps "
                    "between modes instead of ramping: it sends no trajectory into a gap",
                    lambda r: (r["exact_samples"], r["centers"])),
            Control("training data",
                    "the 1,000 training points themselves", lambda r: (r["X_train"], r["centers"])),
        ),
        note="in a gap: farther than 0.25 (5 sigma) from every mode centre; 10,000 samples",
    ),
    Claim(
        key="inductive_bias.generative_models.smooth_denoiser",
        statement="At t = 3 the learned denoiser moves its output by at most 0.4 of the distance between "
                  "two neighbouring modes across the middle 10% of the segment between them: it ramps.",
        cite=("understanding_hallucinations_diffusion",),
        paper_result="near the midpoint between two modes the exact denoiser switches abruptly from one "
                     "mode to the other; the trained network learns a smooth version of the switch, "
                     "which sends some trajectories between the modes",
        paper_where="the analysis of the learned score between modes",
        run=run,
        measure=lambda df: midpoint_jump(df, "learned"),
        world=lambda r: r["profile"],
        predicate=at_most(0.4),
        controls=(Control("exact denoiser",
                          "the same measurement on the exact denoiser at the same noise level",
                          lambda r: r["profile"].assign(learned=r["profile"]["exact"])),),
        note="change of the projected denoised position between u = 0.45 and u = 0.55 (1 = the whole "
             "distance between the modes)",
    ),
    Claim(
        key="inductive_bias.generative_models.hallucination_detection",
        statement="The variance of the model's predicted clean point over the last 5 sampling steps "
                  "separates gap samples from near-mode samples with an AUROC of at least 0.75.",
        cite=("understanding_hallucinations_diffusion",),
        paper_result="on hallucinated samples the predicted clean point keeps changing over the final "
                     "sampling steps; its variance over the trajectory filters hallucinations",
        paper_where="the trajectory-variance metric and its filtering experiments",
        run=run,
        measure=lambda w: hallucination_auroc(*w),
        world=lambda r: (distance_to_modes(r["samples"], r["centers"]).numpy() > GAP_RADIUS, r["x0_var"]),
        predicate=at_least(0.75),
        controls=(Control("shuffled labels",
                          "the same score against the gap labels in a random order, which it cannot "
                          "know: an uninformative score",
                          lambda r: (_shuffled(distance_to_modes(r["samples"], r["centers"]).numpy() > GAP_RADIUS),
                                     r["x0_var"])),),
        note="score: variance of x0_hat over the last 5 of 100 steps, summed over the two coordinates",
    ),
)
