"""Section 1.3, Spectral bias: low frequencies first (``chapters/01_inductive_bias/03_spectral_bias.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from ..claims import Claim, Control, at_least, increasing
from ..core import Snake, make_mlp, resolve_device, train
from ..plotting import get_axes
from ..validation import check_choice, check_positive, check_positive_int

__all__ = [
    "sum_of_sines",
    "frequency_errors",
    "first_fit_step",
    "GaussianFourierFeatures",
    "coordinate_mlp",
    "log_steps",
    "spectral_bias_run",
    "fit_times",
    "fourier_scale_sweep",
    "scale_tradeoff",
    "periodic_extrapolation",
    "far_linearity",
    "extrapolation_advantage",
    "FREQS",
    "EXTRAPOLATORS",
    "plot_frequency_errors",
    "plot_scale_sweep",
    "plot_extrapolation",
]


def sum_of_sines(
    n: int = 256, freqs: Sequence[int] = (1, 4, 8, 16), amplitudes: Sequence[float] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """A 1-D target ``sum_k A_k sin(2 pi k x)`` on a uniform grid of ``n`` points in [0, 1).

    Args:
        n: grid size; must exceed twice the largest frequency (Nyquist).
        freqs: positive integer frequencies.
        amplitudes: one per frequency (default all 1).

    Returns:
        ``(x, y)`` with shapes ``(n, 1)`` and ``(n, 1)``.
    """
    n = check_positive_int(n, "n", 2)
    freqs = _check_freqs(freqs)
    if amplitudes is None:
        amplitudes = [1.0] * len(freqs)
    if len(amplitudes) != len(freqs):
        raise ValueError(f"amplitudes must have one entry per frequency ({len(freqs)}), got {len(amplitudes)}")
    if 2 * max(freqs) >= n:
        raise ValueError(f"n must exceed twice the largest frequency ({2 * max(freqs)}), got {n}")
    x = torch.arange(n, dtype=torch.float32).unsqueeze(1) / n
    y = sum(a * torch.sin(2 * math.pi * k * x) for a, k in zip(amplitudes, freqs))
    return x, y


def _check_freqs(freqs: Sequence[int]) -> list[int]:
    if isinstance(freqs, (str, bytes)) or not isinstance(freqs, Sequence) or len(freqs) == 0:
        raise TypeError("freqs must be a non-empty sequence of positive integers")
    return [check_positive_int(k, "each frequency in freqs") for k in freqs]


def frequency_errors(y_pred: torch.Tensor, y_true: torch.Tensor, freqs: Sequence[int]) -> dict[int, float]:
    """Relative error of the fit at each frequency: ``|F_pred(k) - F_true(k)| / |F_true(k)|``.

    Both signals must be sampled on the same uniform grid over one period, as made by
    :func:`sum_of_sines`; the discrete Fourier transform then isolates each frequency exactly.

    Args:
        y_pred, y_true: tensors of shape ``(n,)`` or ``(n, 1)``.
        freqs: the frequencies to report.

    Returns:
        ``{k: relative_error}``.
    """
    freqs = _check_freqs(freqs)
    yp = torch.as_tensor(y_pred).detach().reshape(-1).cpu().double()
    yt = torch.as_tensor(y_true).detach().reshape(-1).cpu().double()
    if yp.shape != yt.shape:
        raise ValueError(f"y_pred and y_true must have the same length, got {yp.numel()} and {yt.numel()}")
    fp, ft = torch.fft.rfft(yp), torch.fft.rfft(yt)
    floor = 1e-5 * max(ft.abs().max().item(), 1e-300)
    out = {}
    for k in freqs:
        if k >= len(ft):
            raise ValueError(f"frequency {k} is above the grid's Nyquist limit {len(ft) - 1}")
        denom = ft[k].abs().item()
        if denom <= floor:
            raise ValueError(f"y_true has no component at frequency {k}")
        out[k] = (fp[k] - ft[k]).abs().item() / denom
    return out


def first_fit_step(history: pd.DataFrame, freq: int, tol: float = 0.1) -> float:
    """The first recorded step at which frequency ``freq``'s relative error is below ``tol``.

    Args:
        history: from :func:`spectral_bias_run` (columns ``step`` and ``err_k``).
        freq: the frequency.
        tol: the error threshold.

    Returns:
        The step, or ``inf`` if the frequency was never fitted.
    """
    col = f"err_{freq}"
    if col not in history:
        raise ValueError(f"history has no column {col!r}; recorded frequencies: "
                         f"{[c for c in history.columns if c.startswith('err_')]}")
    hit = history.loc[history[col] < tol, "step"]
    return float(hit.iloc[0]) if len(hit) else math.inf


class GaussianFourierFeatures(nn.Module):
    """Random Fourier features ``[sin(2 pi b_j x), cos(2 pi b_j x)]`` with ``b_j ~ N(0, scale^2)``.

    The input mapping of Tancik et al. (2020): it turns the network's neural tangent kernel
    into a stationary kernel whose bandwidth grows with ``scale``. The frequencies are drawn
    once, from their own seed, and never trained.

    Args:
        scale: standard deviation of the frequencies, in cycles per unit of ``x`` (> 0).
        n_features: number of frequencies (the output has twice as many columns).
        seed: seed of the frequencies.
    """

    def __init__(self, scale: float = 10.0, n_features: int = 64, seed: int = 0) -> None:
        super().__init__()
        scale = check_positive(scale, "scale")
        n_features = check_positive_int(n_features, "n_features")
        g = torch.Generator().manual_seed(10_000 + int(seed))
        self.register_buffer("b", scale * torch.randn(n_features, generator=g))
        self.out_dim = 2 * n_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = 2 * math.pi * x * self.b
        return torch.cat([torch.sin(z), torch.cos(z)], dim=-1)


class _Centre(nn.Module):
    """Map ``x`` in [0, 1) to ``scale * (2 x - 1)``: inputs centred on zero, as usual."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = float(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * (2 * x - 1)


def coordinate_mlp(
    fourier_scale: float | None = None,
    n_features: int = 64,
    width: int = 128,
    depth: int = 3,
    input_scale: float = 3.0,
    seed: int = 0,
) -> nn.Sequential:
    """A ReLU MLP on a scalar coordinate ``x`` in [0, 1), with or without Fourier features.

    Args:
        fourier_scale: ``None`` for the raw coordinate (centred and scaled to
            ``[-input_scale, input_scale]``), else the scale of :class:`GaussianFourierFeatures`.
        n_features: number of Gaussian frequencies.
        width, depth: hidden units per layer and number of hidden layers.
        input_scale: half-width of the raw input range.
        seed: seed of the weights and of the frequencies.

    Returns:
        An ``nn.Sequential`` mapping ``(n, 1)`` to ``(n, 1)``.
    """
    torch.manual_seed(int(seed))
    if fourier_scale is None:
        return nn.Sequential(_Centre(check_positive(input_scale, "input_scale")), make_mlp(1, 1, width, depth, "relu"))
    enc = GaussianFourierFeatures(fourier_scale, n_features, seed)
    return nn.Sequential(enc, make_mlp(enc.out_dim, 1, width, depth, "relu"))


def log_steps(steps: int, n: int = 200) -> list[int]:
    """About ``n`` log-spaced integer steps from 1 to ``steps``, for a history of a long run."""
    steps = check_positive_int(steps, "steps")
    return np.union1d(np.geomspace(1, steps, check_positive_int(n, "n")).astype(int), [steps]).tolist()


def spectral_bias_run(
    freqs: Sequence[int] = (1, 4, 8, 16),
    fourier_scale: float | None = None,
    steps: int = 8000,
    n: int = 128,
    lr: float = 1e-2,
    tol: float = 0.1,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> pd.DataFrame:
    """Fit a ReLU MLP to :func:`sum_of_sines` and record the relative error per frequency.

    Full-batch Adam on every grid point; the errors are read at log-spaced steps, and the run
    stops once every frequency's error is below ``tol``.

    Args:
        freqs: the target's frequencies.
        fourier_scale: ``None`` for the raw coordinate, else the scale of Gaussian Fourier
            features (see :func:`coordinate_mlp`).
        steps: the largest number of Adam steps.
        n: grid points (one period).
        lr: learning rate.
        tol: the relative error below which a frequency counts as fitted.
        seed: seed of the weights (and frequencies).
        device: where to train (``None``: the GPU when present).

    Returns:
        History with ``step``, ``loss`` and ``err_k`` for every frequency ``k``.
    """
    device = resolve_device(device)
    x, y = sum_of_sines(n, freqs)
    model = coordinate_mlp(fourier_scale, seed=seed).to(device)
    xd = x.to(device)

    def eval_fn(m: nn.Module, step: int) -> dict[str, float]:
        return {f"err_{k}": v for k, v in frequency_errors(m(xd), y, freqs).items()}

    return train(model, x, y, F.mse_loss, steps=steps, lr=lr, eval_every=log_steps(steps), eval_fn=eval_fn,
                 seed=seed, stop_when=lambda r: all(r[f"err_{k}"] < tol for k in freqs))


def fit_times(history: pd.DataFrame, freqs: Sequence[int] = (1, 4, 8, 16), tol: float = 0.1) -> tuple[float, ...]:
    """The first step at which each frequency is fitted (:func:`first_fit_step`), in order."""
    return tuple(first_fit_step(history, k, tol) for k in _check_freqs(freqs))


def fourier_scale_sweep(
    scales: Sequence[float] = (0.5, 10.0, 100.0),
    target: str = "sines",
    freqs: Sequence[int] = (1, 4, 8, 16),
    n: int = 128,
    steps: int = 500,
    lr: float = 1e-3,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> pd.DataFrame:
    """Held-out error of Fourier-feature networks of several scales, trained on half a grid.

    The network sees the even-numbered points of an ``n``-point grid and is scored on the odd
    ones, as in Tancik et al.'s 1D experiments: a scale too small cannot represent the fast
    components (underfitting), one too large fits the training points with frequencies that
    alias between them (overfitting).

    Args:
        scales: Fourier-feature scales to try.
        target: ``"sines"`` (:func:`sum_of_sines`) or ``"noise"`` (i.i.d. Gaussian values
            with the same variance: no structure for any scale to generalize from).
        freqs: the frequencies of the sines.
        n: grid points.
        steps, lr: full-batch Adam settings.
        seed: seed of the weights, the frequencies and the noise.
        device: where to train (``None``: the GPU when present).

    Returns:
        DataFrame indexed by ``scale`` with ``train_mse`` and ``test_mse``.
    """
    check_choice(target, "target", ("sines", "noise"))
    if len(scales) == 0:
        raise ValueError("scales must not be empty")
    device = resolve_device(device)
    x, y = sum_of_sines(n, freqs)
    if target == "noise":
        y = y.std() * torch.randn(y.shape, generator=torch.Generator().manual_seed(20_000 + int(seed)))
    tr, te = slice(0, None, 2), slice(1, None, 2)
    rows = {}
    for s in scales:
        model = coordinate_mlp(float(s), seed=seed).to(device)
        train(model, x[tr], y[tr], F.mse_loss, steps=steps, lr=lr, eval_every=steps, seed=seed)
        with torch.no_grad():
            pred = model(x.to(device)).cpu()
        rows[float(s)] = {"train_mse": F.mse_loss(pred[tr], y[tr]).item(), "test_mse": F.mse_loss(pred[te], y[te]).item()}
    return pd.DataFrame(rows).T.rename_axis("scale")


def scale_tradeoff(table: pd.DataFrame) -> float:
    """How much better an intermediate scale generalizes than both ends of a sweep:
    ``min(test error at the smallest scale, at the largest) / smallest test error in between``.

    Args:
        table: from :func:`fourier_scale_sweep` (at least three scales).

    Returns:
        The ratio (about 1 when no scale generalizes better than the extremes).
    """
    if len(table) < 3:
        raise ValueError("the sweep needs at least three scales")
    t = table.sort_index()["test_mse"]
    return float(min(t.iloc[0], t.iloc[-1]) / t.iloc[1:-1].min())


def periodic_extrapolation(
    activation: str,
    target: str = "sine",
    steps: int = 2000,
    n: int = 200,
    width: int = 32,
    depth: int = 1,
    lr: float = 1e-2,
    train_range: tuple[float, float] = (-4 * math.pi, 4 * math.pi),
    test_range: tuple[float, float] = (4 * math.pi, 8 * math.pi),
    seed: int = 0,
    device: torch.device | str | None = None,
) -> dict[str, object]:
    """Fit a target on ``train_range`` and measure the error outside it.

    Args:
        activation: a name from ``ACTIVATIONS`` (``"relu"``, ``"tanh"``, ``"snake"``), or
            ``"zero"`` for the trivial predictor that always answers 0.
        target: ``"sine"`` (``sin x``) or ``"chirp"`` (``sin(x^2 / 2 pi)``: locally a wave,
            but with no period to continue).
        steps, n, width, depth, lr: training settings (full-batch Adam).
        train_range, test_range: intervals (low, high).
        seed: initialization seed.
        device: where to train (``None``: the GPU when present).

    Returns:
        ``{"train_mse", "extrap_mse", "x", "y_pred", "truth", "model"}``; ``x`` spans both intervals.
    """
    for name, (lo, hi) in (("train_range", train_range), ("test_range", test_range)):
        if not lo < hi:
            raise ValueError(f"{name} must be (low, high) with low < high, got {(lo, hi)}")
    fn = _TARGETS[check_choice(target, "target", sorted(_TARGETS))]
    device = resolve_device(device)
    x = torch.linspace(*train_range, n).unsqueeze(1)
    y = fn(x)
    if activation == "zero":
        model: nn.Module = _Zero()
    else:
        torch.manual_seed(seed)
        model = (_snake_mlp(width, depth, SNAKE_A) if activation == "snake"
                 else make_mlp(1, 1, width, depth, activation)).to(device)
        train(model, x, y, F.mse_loss, steps=steps, lr=lr, eval_every=steps, seed=seed)
    lo, hi = min(train_range[0], test_range[0]), max(train_range[1], test_range[1])
    xs = torch.linspace(lo, hi, 800).unsqueeze(1)
    xt = torch.linspace(*test_range, 400).unsqueeze(1)
    model.eval()
    with torch.no_grad():
        train_mse = F.mse_loss(model(x.to(device)).cpu(), y).item()
        extrap_mse = F.mse_loss(model(xt.to(device)).cpu(), fn(xt)).item()
        y_pred = model(xs.to(device)).cpu()
    return {"train_mse": train_mse, "extrap_mse": extrap_mse, "x": xs.squeeze(1), "y_pred": y_pred.squeeze(1),
            "truth": fn(xs).squeeze(1), "model": model}


SNAKE_A = 0.5  # Snake's frequency: sin^2(a x) with a = 0.5 has the target's period 2 pi


def _snake_mlp(width: int, depth: int, a: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    d = 1
    for _ in range(check_positive_int(depth, "depth")):
        layers += [nn.Linear(d, width), Snake(a)]
        d = width
    return nn.Sequential(*layers, nn.Linear(d, 1))


class _Zero(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


_TARGETS = {"sine": torch.sin, "chirp": lambda x: torch.sin(x**2 / (2 * math.pi))}


def far_linearity(fit: dict[str, object], test_range: tuple[float, float] = (4 * math.pi, 8 * math.pi)) -> float:
    """How straight a fit's continuation is: the R^2 of a least-squares line through its
    predictions on ``test_range`` (1 for a straight line).

    Args:
        fit: from :func:`periodic_extrapolation`.
        test_range: the interval beyond the data.

    Returns:
        R^2 in [0, 1] (1 also for a constant continuation).
    """
    x, y = fit["x"].double().numpy(), fit["y_pred"].double().numpy()
    keep = (x >= test_range[0]) & (x <= test_range[1])
    x, y = x[keep], y[keep]
    if len(x) < 3:
        raise ValueError("the fit has fewer than three points in test_range")
    resid = y - np.polyval(np.polyfit(x, y, 1), x)
    ss = ((y - y.mean()) ** 2).sum()
    return 1.0 if ss <= 1e-24 else float(1 - (resid**2).sum() / ss)


def extrapolation_advantage(fits: dict[str, dict]) -> float:
    """How much smaller Snake's extrapolation error is than the best of ReLU, tanh and the
    zero predictor: ``min(baselines) / snake``.

    Args:
        fits: ``{name: periodic_extrapolation(...)}`` with keys ``snake``, ``relu``, ``tanh``
            and ``zero``.

    Returns:
        The ratio (> 1 when Snake extrapolates better than every baseline).
    """
    missing = {"snake", "relu", "tanh", "zero"} - set(fits)
    if missing:
        raise ValueError(f"fits lacks {sorted(missing)}")
    return float(min(fits[k]["extrap_mse"] for k in ("relu", "tanh", "zero")) / fits["snake"]["extrap_mse"])


def plot_frequency_errors(history: pd.DataFrame, ax=None, title: str | None = None, log_steps: bool = False):
    """Heat map of the relative error of each frequency (rows) over training steps (columns):
    dark is an error near 1 (not fitted), pale an error near 0 (fitted).

    Args:
        history: from :func:`spectral_bias_run`.
        ax: matplotlib axes to draw on (a new figure if ``None``).
        title: axes title.
        log_steps: thin the columns to roughly log-spaced steps (for a history recorded at
            every step; :func:`spectral_bias_run` already records at log-spaced steps).

    Returns:
        The axes.
    """
    import seaborn as sns

    cols = [c for c in history.columns if c.startswith("err_")]
    if not cols:
        raise ValueError("history has no err_<k> columns; make it with spectral_bias_run")
    ax = get_axes(ax)
    h = history
    if log_steps:
        keep = np.unique(np.geomspace(1, len(h) - 1, 60).astype(int))
        h = h.iloc[np.r_[0, keep]]
    mat = h.set_index("step")[cols].T.clip(upper=1.0)
    mat.index = [c.split("_")[1] for c in cols]
    sns.heatmap(mat, ax=ax, cmap="magma_r", vmin=0, vmax=1, cbar_kws={"label": "relative error (clipped at 1)"})
    ticks = np.linspace(0, mat.shape[1] - 1, 6).astype(int)
    ax.set_xticks(ticks + 0.5)
    ax.set_xticklabels([f"{int(mat.columns[i])}" for i in ticks], rotation=0)
    ax.set_xlabel("training step")
    ax.set_ylabel("frequency k")
    if title:
        ax.set_title(title)
    return ax


def plot_scale_sweep(sweeps: dict[str, pd.DataFrame], ax=None):
    """Held-out error against Fourier-feature scale, one line per target (log-log axes).

    Args:
        sweeps: ``{label: fourier_scale_sweep(...)}``.
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.
    """
    if not sweeps:
        raise ValueError("sweeps must contain at least one table")
    ax = get_axes(ax)
    for label, t in sweeps.items():
        ax.plot(t.index, t.test_mse, "o-", label=label)
    ax.set(xscale="log", yscale="log", xlabel="Fourier-feature scale (cycles per unit)", ylabel="held-out MSE")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


def plot_extrapolation(results: dict[str, dict], train_range: tuple[float, float] = (-4 * math.pi, 4 * math.pi), ax=None):
    """Several :func:`periodic_extrapolation` fits beside their target, the training interval shaded.

    Args:
        results: ``{activation_name: periodic_extrapolation(...) output}``.
        train_range: the training interval to shade.
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.
    """
    if not results:
        raise ValueError("results must contain at least one fit")
    ax = get_axes(ax)
    first = next(iter(results.values()))
    ax.axvspan(*train_range, color="0.92", label="training interval")
    ax.plot(first["x"].numpy(), first["truth"].numpy(), color="black", lw=2, label="target")
    for name, r in results.items():
        ax.plot(r["x"].numpy(), r["y_pred"].numpy(), lw=1.5, label=f"{name} (extrapolation MSE {r['extrap_mse']:.2f})")
    ax.set_ylim(-3, 3)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


# --------------------------------------------------------------------------------------
# the section's runner and claims
# --------------------------------------------------------------------------------------
FREQS = (1, 4, 8, 16)
EXTRAPOLATORS = ("relu", "tanh", "snake", "zero")


def run(seed: int = 0, device: torch.device | str | None = None) -> dict[str, object]:
    """Everything section 1.3 shows and checks, for one seed.

    Returns:
        ``raw`` and ``fourier``: :func:`spectral_bias_run` histories of the raw-coordinate
        network and of the same network on Gaussian Fourier features of scale 10;
        ``sweep`` and ``sweep_noise``: :func:`fourier_scale_sweep` tables for the sines and
        for a structureless noise target; ``extrapolation`` and ``extrapolation_chirp``:
        ``{name: periodic_extrapolation(...)}`` for ReLU, tanh, Snake and the zero predictor
        on ``sin x`` and on a chirp.
    """
    return {
        "raw": spectral_bias_run(FREQS, seed=seed, device=device),
        "fourier": spectral_bias_run(FREQS, fourier_scale=10.0, seed=seed, device=device),
        "sweep": fourier_scale_sweep(seed=seed, device=device),
        "sweep_noise": fourier_scale_sweep(target="noise", seed=seed, device=device),
        "extrapolation": {a: periodic_extrapolation(a, seed=seed, device=device) for a in EXTRAPOLATORS},
    }


CLAIMS = (
    Claim(
        key="inductive_bias.spectral_bias.frequency_order",
        statement="A ReLU network fits the four components of the target in order of frequency, "
                  "each one at least twice as late as the one below it.",
        cite=("rahaman_spectral_bias_2019",),
        paper_result="on a sum of equal-amplitude sines (frequencies 5 to 50), the network's spectrum "
                     "converges one frequency at a time, lowest first",
        paper_where="Fig. 1",
        run=run,
        measure=fit_times,
        world=lambda r: r["raw"],
        predicate=increasing(2.0),
        controls=(Control("Fourier-feature network",
                          "the same network and recipe on Gaussian Fourier features of scale 10, whose "
                          "tangent kernel is stationary: no frequency is favoured, so no order",
                          lambda r: r["fourier"]),),
        note="fit time: first step with relative error below 10% at that frequency",
    ),
    Claim(
        key="inductive_bias.spectral_bias.fourier_scale",
        statement="Trained on every other grid point, a Fourier-feature network of intermediate scale "
                  "has at least 3x lower held-out error than both the smallest scale (which underfits) "
                  "and the largest (which overfits).",
        cite=("tancik_fourier_features_2020",),
        paper_result="test error is lowest at an intermediate Gaussian scale; too small a scale "
                     "underfits (blur) and too large a scale overfits with high-frequency artifacts",
        paper_where="section 'Tuning Fourier features in practice' and its 1D scale sweeps",
        run=run,
        measure=scale_tradeoff,
        world=lambda r: r["sweep"],
        predicate=at_least(3.0),
        controls=(Control("noise target",
                          "the same sweep on i.i.d. Gaussian values at the same points: there is nothing "
                          "between the points to interpolate, so no scale generalizes better",
                          lambda r: r["sweep_noise"]),),
        note="scales 0.5, 10, 100; 64 Gaussian frequencies; held-out: the odd grid points",
    ),
    Claim(
        key="inductive_bias.spectral_bias.relu_continues_linearly",
        statement="Beyond the training interval, a ReLU network's continuation of sin x is a straight "
                  "line (R^2 of a linear fit >= 0.99).",
        cite=("neural_networks_fail",),
        paper_result="far from the data a ReLU network's output becomes linear and a tanh network's "
                     "constant, so neither can continue a periodic function",
        paper_where="Sec. 3, Theorems 1 and 2",
        run=run,
        measure=far_linearity,
        world=lambda r: r["extrapolation"]["relu"],
        predicate=at_least(0.99),
        controls=(Control("Snake network",
                          "the same measurement on the Snake network's continuation, which keeps "
                          "oscillating",
                          lambda r: r["extrapolation"]["snake"]),),
        note="continuation read on [4 pi, 8 pi] after training on [-4 pi, 4 pi]",
    ),
    Claim(
        key="inductive_bias.spectral_bias.periodic_extrapolation",
        statement="Beyond the training interval, Snake's error on sin x is at least 3x smaller than the "
                  "best of ReLU, tanh and the constant-zero predictor.",
        cite=("neural_networks_fail",),
        paper_result="Snake x + sin^2(ax)/a continues sin x and other periodic signals well beyond "
                     "the training range, where ReLU and tanh fail",
        paper_where="Sec. 4 and its extrapolation figures",
        run=run,
        measure=extrapolation_advantage,
        world=lambda r: r["extrapolation"],
        predicate=at_least(3.0),
        observation=True,
        note="an observation: at toy scale Snake beats the zero predictor by 1-5x depending on the seed",
    ),
)
