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

from ..core import make_mlp, train
from ..plotting import get_axes
from ..validation import (
    check_nonnegative,
    check_positive_int,
)

__all__ = [
    "sum_of_sines",
    "frequency_errors",
    "first_fit_step",
    "FourierFeatures",
    "spectral_bias_run",
    "periodic_extrapolation",
    "plot_frequency_errors",
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
    out = []
    for k in freqs:
        out.append(check_positive_int(k, "each frequency in freqs"))
    return out


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


class FourierFeatures(nn.Module):
    """Map ``x`` in [0, 1] to ``[sin(2 pi k x), cos(2 pi k x)]`` for ``k = 1..n_freqs``.

    A fixed positional encoding: it hands the network high frequencies as inputs, so that it
    no longer has to build them from smooth pieces.
    """

    def __init__(self, n_freqs: int = 32) -> None:
        super().__init__()
        n_freqs = check_positive_int(n_freqs, "n_freqs")
        self.register_buffer("k", torch.arange(1, n_freqs + 1, dtype=torch.float32))
        self.out_dim = 2 * n_freqs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = 2 * math.pi * x * self.k
        return torch.cat([torch.sin(z), torch.cos(z)], dim=-1)


def spectral_bias_run(
    freqs: Sequence[int] = (1, 4, 8, 16),
    fourier_features: int = 0,
    steps: int = 3000,
    n: int = 256,
    width: int = 256,
    depth: int = 3,
    lr: float = 1e-3,
    eval_every: int = 25,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> pd.DataFrame:
    """Fit a ReLU MLP to :func:`sum_of_sines` and record the relative error per frequency.

    Args:
        freqs: the target's frequencies.
        fourier_features: 0 for raw inputs, else the number of :class:`FourierFeatures`.
        steps, n, width, depth, lr, eval_every: training settings (full-batch Adam).
        seed: initialization seed.
        device: where to train.

    Returns:
        History with ``step``, ``loss`` and ``err_k`` for every frequency ``k``.
    """
    fourier_features = int(check_nonnegative(fourier_features, "fourier_features"))
    x, y = sum_of_sines(n, freqs)
    torch.manual_seed(seed)
    if fourier_features:
        enc = FourierFeatures(fourier_features)
        model: nn.Module = nn.Sequential(enc, make_mlp(enc.out_dim, 1, width, depth, "relu"))
    else:
        model = make_mlp(1, 1, width, depth, "relu")
    model = model.to(device)
    xd = x.to(device)

    def eval_fn(m: nn.Module, step: int) -> dict[str, float]:
        errs = frequency_errors(m(xd), y, freqs)
        return {f"err_{k}": v for k, v in errs.items()}

    return train(model, x, y, F.mse_loss, steps=steps, lr=lr, eval_every=eval_every, eval_fn=eval_fn, seed=seed)


def periodic_extrapolation(
    activation: str,
    steps: int = 2000,
    n: int = 200,
    width: int = 64,
    depth: int = 2,
    lr: float = 1e-2,
    train_range: tuple[float, float] = (-2 * math.pi, 2 * math.pi),
    test_range: tuple[float, float] = (2 * math.pi, 6 * math.pi),
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> dict[str, object]:
    """Fit ``sin(x)`` on ``train_range`` and measure the error outside it.

    Args:
        activation: ``"relu"``, ``"tanh"``, ``"snake"`` or another name from ``ACTIVATIONS``.
        steps, n, width, depth, lr: training settings (full-batch Adam).
        train_range, test_range: intervals (low, high).
        seed: initialization seed.
        device: where to train.

    Returns:
        ``{"train_mse", "extrap_mse", "x", "y_pred", "model"}``; ``x`` spans both intervals.
    """
    for name, (lo, hi) in (("train_range", train_range), ("test_range", test_range)):
        if not lo < hi:
            raise ValueError(f"{name} must be (low, high) with low < high, got {(lo, hi)}")
    torch.manual_seed(seed)
    x = torch.linspace(*train_range, n).unsqueeze(1)
    y = torch.sin(x)
    model = make_mlp(1, 1, width, depth, activation).to(device)
    train(model, x, y, F.mse_loss, steps=steps, lr=lr, eval_every=steps, seed=seed)
    lo, hi = min(train_range[0], test_range[0]), max(train_range[1], test_range[1])
    xs = torch.linspace(lo, hi, 800).unsqueeze(1)
    xt = torch.linspace(*test_range, 400).unsqueeze(1)
    model.eval()
    with torch.no_grad():
        train_mse = F.mse_loss(model(x.to(device)).cpu(), y).item()
        extrap_mse = F.mse_loss(model(xt.to(device)).cpu(), torch.sin(xt)).item()
        y_pred = model(xs.to(device)).cpu()
    return {"train_mse": train_mse, "extrap_mse": extrap_mse, "x": xs.squeeze(1), "y_pred": y_pred.squeeze(1), "model": model}


def plot_frequency_errors(history: pd.DataFrame, ax=None, title: str | None = None, log_steps: bool = False):
    """Heat map of the relative error of each frequency (rows) over training steps (columns).

    Args:
        history: from :func:`spectral_bias_run`.
        ax: matplotlib axes to draw on (a new figure if ``None``).
        title: axes title.
        log_steps: thin the columns to roughly log-spaced steps.

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


def plot_extrapolation(results: dict[str, dict], train_range: tuple[float, float] = (-2 * math.pi, 2 * math.pi), ax=None):
    """Predictions of several fits of ``sin(x)`` against the truth, training interval shaded.

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
    x = next(iter(results.values()))["x"].numpy()
    ax.axvspan(*train_range, color="0.92", label="training interval")
    ax.plot(x, np.sin(x), color="black", lw=2, label="sin(x)")
    for name, r in results.items():
        ax.plot(r["x"].numpy(), r["y_pred"].numpy(), lw=1.5, label=f"{name} (extrapolation MSE {r['extrap_mse']:.2f})")
    ax.set_ylim(-3, 3)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax
