"""Inductive bias: what a network prefers before and during training.

Data makers, models, training runs and measurements for chapter 1. Each function names the
section that teaches it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from .core import make_activation, make_mlp, train
from .plotting import get_axes
from .validation import check_fraction, check_nonnegative, check_positive, check_positive_int

__all__ = [
    "FourierFeatures",
    "sum_of_sines",
    "frequency_errors",
    "first_fit_step",
    "spectral_bias_run",
    "periodic_extrapolation",
    "ModularData",
    "modular_addition_data",
    "ModularAdditionMLP",
    "grokking_run",
    "grokking_steps",
    "embedding_spectrum",
    "fourier_power_share",
    "linear_grokking_run",
    "plot_frequency_errors",
    "plot_extrapolation",
    "plot_grokking",
    "plot_embedding_spectrum",
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
    "rank_collapse_residual",
    "attention_stack_residuals",
    "patch_signal_data",
    "make_patch_net",
    "locality_sample_complexity",
    "plot_sample_complexity",
    "plot_random_functions",
    "plot_redshift",
    "plot_rank_collapse",
    "boolean_cube",
    "gotu_run",
    "plot_gotu",
    "ShiftedDigits",
    "shifted_digits",
    "moment_clones",
    "distributional_simplicity_run",
    "plot_distributional_simplicity",
    "random_labels",
    "random_label_run",
    "steps_to_accuracy",
    "plot_random_labels",
    "random_features_double_descent",
    "peak_ratio",
    "plot_double_descent",
]


# ======================================================================================
# Spectral bias
# ======================================================================================
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

    See: chapters/01_inductive_bias/spectral_bias.
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

    See: chapters/01_inductive_bias/spectral_bias.
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

    See: chapters/01_inductive_bias/spectral_bias.
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

    See: chapters/01_inductive_bias/spectral_bias.
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

    See: chapters/01_inductive_bias/spectral_bias.
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

    See: chapters/01_inductive_bias/spectral_bias (periodic extrapolation).
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


# ======================================================================================
# Grokking
# ======================================================================================
@dataclass
class ModularData:
    """All pairs ``(a, b)`` of ``Z_p`` with label ``(a + b) mod p``, split into train/test.

    See: chapters/01_inductive_bias/grokking.
    """

    p: int
    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor


def modular_addition_data(p: int = 47, train_frac: float = 0.6, seed: int = 0) -> ModularData:
    """Every pair of residues mod ``p`` with its sum mod ``p``, split at random.

    Args:
        p: the modulus (>= 2).
        train_frac: fraction of the ``p * p`` pairs used for training, in (0, 1).
        seed: seed of the split.

    Returns:
        A :class:`ModularData`; inputs are integer pairs of shape ``(m, 2)``.

    See: chapters/01_inductive_bias/grokking.
    """
    p = check_positive_int(p, "p", 2)
    train_frac = check_fraction(train_frac, "train_frac")
    if train_frac >= 1:
        raise ValueError(f"train_frac must be < 1 to leave a test set, got {train_frac}")
    a, b = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")
    X = torch.stack([a.reshape(-1), b.reshape(-1)], dim=1)
    y = (X[:, 0] + X[:, 1]) % p
    perm = torch.randperm(p * p, generator=torch.Generator().manual_seed(seed))
    m = int(round(train_frac * p * p))
    tr, te = perm[:m], perm[m:]
    return ModularData(p, X[tr], y[tr], X[te], y[te])


class ModularAdditionMLP(nn.Module):
    """Embed both residues with one shared table, concatenate, and classify with an MLP.

    See: chapters/01_inductive_bias/grokking.
    """

    def __init__(self, p: int, emb_dim: int = 64, hidden: int = 128) -> None:
        super().__init__()
        p = check_positive_int(p, "p", 2)
        self.p = p
        self.embed = nn.Embedding(p, check_positive_int(emb_dim, "emb_dim"))
        self.mlp = nn.Sequential(nn.Linear(2 * emb_dim, check_positive_int(hidden, "hidden")), nn.ReLU(), nn.Linear(hidden, p))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if X.ndim != 2 or X.shape[1] != 2:
            raise ValueError(f"X must have shape (m, 2), got {tuple(X.shape)}")
        e = self.embed(X)  # (m, 2, emb)
        return self.mlp(e.reshape(len(X), -1))


def grokking_run(
    p: int = 47,
    train_frac: float = 0.6,
    weight_decay: float = 1.0,
    steps: int = 4000,
    lr: float = 1e-3,
    emb_dim: int = 64,
    hidden: int = 128,
    eval_every: int = 50,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> tuple[pd.DataFrame, ModularAdditionMLP]:
    """Train :class:`ModularAdditionMLP` full-batch with AdamW and record train/test accuracy.

    Args:
        p, train_frac: the task (see :func:`modular_addition_data`).
        weight_decay: AdamW's decoupled weight decay (grokking needs it).
        steps, lr, emb_dim, hidden, eval_every: training settings.
        seed: seed of the split and the initialization.
        device: where to train.

    Returns:
        ``(history, model)``; history columns ``step``, ``loss``, ``train_acc``, ``test_acc``.

    See: chapters/01_inductive_bias/grokking.
    """
    data = modular_addition_data(p, train_frac, seed)
    torch.manual_seed(seed)
    model = ModularAdditionMLP(p, emb_dim, hidden).to(device)
    Xte, yte = data.X_test.to(device), data.y_test.to(device)
    Xtr, ytr = data.X_train.to(device), data.y_train.to(device)

    def eval_fn(m: nn.Module, step: int) -> dict[str, float]:
        return {
            "train_acc": (m(Xtr).argmax(1) == ytr).float().mean().item(),
            "test_acc": (m(Xte).argmax(1) == yte).float().mean().item(),
        }

    hist = train(
        model, data.X_train, data.y_train, F.cross_entropy, steps=steps, lr=lr, optimizer="adamw",
        weight_decay=weight_decay, eval_every=eval_every, eval_fn=eval_fn, seed=seed,
        optimizer_kwargs={"betas": (0.9, 0.98)},
    )
    return hist, model


def grokking_steps(history: pd.DataFrame, train_level: float = 0.99, test_level: float = 0.9) -> dict[str, float]:
    """When training accuracy first reached ``train_level`` and test accuracy ``test_level``.

    Args:
        history: with columns ``step``, ``train_acc``, ``test_acc``.
        train_level, test_level: accuracy thresholds.

    Returns:
        ``{"t_train", "t_test", "ratio"}``; a level never reached gives ``inf``.

    See: chapters/01_inductive_bias/grokking.
    """
    for col in ("step", "train_acc", "test_acc"):
        if col not in history:
            raise ValueError(f"history needs a {col!r} column")

    def first(col: str, level: float) -> float:
        hit = history.loc[history[col] >= level, "step"]
        return float(hit.iloc[0]) if len(hit) else math.inf

    t_tr, t_te = first("train_acc", train_level), first("test_acc", test_level)
    ratio = t_te / t_tr if t_tr > 0 and math.isfinite(t_tr) else math.inf
    return {"t_train": t_tr, "t_test": t_te, "ratio": ratio}


def embedding_spectrum(embedding: torch.Tensor) -> np.ndarray:
    """Share of an embedding table's power at each frequency ``k = 1..p // 2``.

    The rows of ``embedding`` are indexed by residues ``0..p-1``; the discrete Fourier
    transform along that axis measures how much of the table is made of waves
    ``cos(2 pi k a / p + phase)``.

    Args:
        embedding: tensor of shape ``(p, d)``.

    Returns:
        Array of length ``p // 2`` that sums to 1.

    See: chapters/01_inductive_bias/grokking.
    """
    E = torch.as_tensor(embedding).detach().cpu().double()
    if E.ndim != 2 or E.shape[0] < 2:
        raise ValueError(f"embedding must be 2-D (p, d) with p >= 2, got shape {tuple(E.shape)}")
    p = E.shape[0]
    power = (torch.fft.rfft(E - E.mean(0), dim=0).abs() ** 2).sum(1)[1 : p // 2 + 1]
    return (power / power.sum()).numpy()


def fourier_power_share(embedding: torch.Tensor, top_k: int = 6) -> float:
    """Share of an embedding table's power held by its ``top_k`` strongest frequencies.

    A grokked modular-addition network embeds residues on a few waves, the structure it uses
    to add mod ``p``; a random table spreads its power evenly (about ``top_k / (p // 2)``).

    Args:
        embedding: tensor of shape ``(p, d)``.
        top_k: number of frequencies (1 .. p // 2).

    Returns:
        A number in (0, 1].

    See: chapters/01_inductive_bias/grokking.
    """
    spec = embedding_spectrum(embedding)
    top_k = check_positive_int(top_k, "top_k")
    if top_k > len(spec):
        raise ValueError(f"top_k must be <= p // 2 = {len(spec)}, got {top_k}")
    return float(np.sort(spec)[::-1][:top_k].sum())


def linear_grokking_run(
    d: int = 200,
    n_train: int = 220,
    n_test: int = 2000,
    steps: int = 4000,
    lr: float = 0.1,
    eps: float = 0.01,
    init_scale: float = 1.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Teacher-student linear regression trained by gradient descent, scored as a classifier.

    Inputs ``x ~ N(0, I_d)``, teacher ``w* ~ N(0, I_d / d)`` (so targets have unit variance),
    student initialized at ``init_scale * N(0, I_d / d)``. A sample counts as correct when its squared error is below
    ``eps``; the "accuracy" of this regression then jumps, and test accuracy lags training
    accuracy by a delay that grows with ``d / n_train``.

    Args:
        d: input dimension.
        n_train, n_test: sample sizes.
        steps: gradient-descent steps on the mean squared error.
        lr: step size.
        eps: squared-error threshold that defines "correct".
        init_scale: standard deviation of the student's initial weights.
        seed: seed of data, teacher and student.

    Returns:
        History with ``step``, ``train_loss``, ``test_loss``, ``train_acc``, ``test_acc``.

    See: chapters/01_inductive_bias/grokking (linear estimators).
    """
    d = check_positive_int(d, "d")
    n_train = check_positive_int(n_train, "n_train")
    n_test = check_positive_int(n_test, "n_test")
    steps = check_positive_int(steps, "steps")
    eps = check_positive(eps, "eps")
    g = torch.Generator().manual_seed(seed)
    w_star = torch.randn(d, generator=g, dtype=torch.float64) / math.sqrt(d)
    Xtr = torch.randn(n_train, d, generator=g, dtype=torch.float64)
    Xte = torch.randn(n_test, d, generator=g, dtype=torch.float64)
    ytr, yte = Xtr @ w_star, Xte @ w_star
    w = init_scale * torch.randn(d, generator=g, dtype=torch.float64) / math.sqrt(d)
    rows = []
    log_steps = set(np.unique(np.geomspace(1, steps, 200).astype(int)).tolist()) | {0}
    for t in range(steps + 1):
        if t in log_steps:
            etr, ete = (Xtr @ w - ytr) ** 2, (Xte @ w - yte) ** 2
            rows.append({
                "step": t, "train_loss": etr.mean().item(), "test_loss": ete.mean().item(),
                "train_acc": (etr < eps).double().mean().item(), "test_acc": (ete < eps).double().mean().item(),
            })
        grad = 2 * Xtr.T @ (Xtr @ w - ytr) / n_train
        w = w - lr * grad
    return pd.DataFrame(rows)


# ======================================================================================
# Plots
# ======================================================================================


def plot_frequency_errors(history: pd.DataFrame, ax=None, title: str | None = None, log_steps: bool = False):
    """Heat map of the relative error of each frequency (rows) over training steps (columns).

    Args:
        history: from :func:`spectral_bias_run`.
        ax: matplotlib axes to draw on (a new figure if ``None``).
        title: axes title.
        log_steps: thin the columns to roughly log-spaced steps.

    Returns:
        The axes.

    See: chapters/01_inductive_bias/spectral_bias.
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

    See: chapters/01_inductive_bias/spectral_bias (periodic extrapolation).
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


def plot_grokking(histories: dict[str, pd.DataFrame], ax=None):
    """Train (dashed) and test (solid) accuracy over steps on a log axis, one colour per run.

    Args:
        histories: ``{label: history}`` from :func:`grokking_run`.
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.

    See: chapters/01_inductive_bias/grokking.
    """
    import seaborn as sns

    if not histories:
        raise ValueError("histories must contain at least one run")
    ax = get_axes(ax)
    colors = sns.color_palette("colorblind", len(histories))
    for c, (label, h) in zip(colors, histories.items()):
        h = h[h.step > 0]
        ax.plot(h.step, h.train_acc, "--", color=c, label=f"{label}: train")
        ax.plot(h.step, h.test_acc, "-", color=c, lw=2, label=f"{label}: test")
    ax.set_xscale("log")
    ax.set_xlabel("training step (log scale)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


def plot_embedding_spectrum(embeddings: dict[str, torch.Tensor], ax=None):
    """Power of an embedding table at each frequency ``k = 1..p // 2`` (normalized to sum 1).

    Args:
        embeddings: ``{label: table of shape (p, d)}``.
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.

    See: chapters/01_inductive_bias/grokking.
    """
    if not embeddings:
        raise ValueError("embeddings must contain at least one table")
    ax = get_axes(ax)
    n = len(embeddings)
    for i, (label, E) in enumerate(embeddings.items()):
        power = embedding_spectrum(E)
        k = np.arange(1, len(power) + 1)
        ax.bar(k + (i - (n - 1) / 2) * 0.8 / n, power, width=0.8 / n, label=label)
    ax.set_xlabel("frequency k of cos(2 pi k a / p)")
    ax.set_ylabel("share of embedding power")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


# ======================================================================================
# Priors before training: random networks
# ======================================================================================
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

    See: chapters/01_inductive_bias/01_priors_before_training.
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

    See: chapters/01_inductive_bias/01_priors_before_training.
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

    See: chapters/01_inductive_bias/01_priors_before_training.
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

    See: chapters/01_inductive_bias/01_priors_before_training.
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

    See: chapters/01_inductive_bias/01_priors_before_training.
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


# ======================================================================================
# Priors before training: deep image prior
# ======================================================================================
def piecewise_smooth_image(n: int = 32) -> torch.Tensor:
    """A small grey-level test image: smooth shading, a disc, a shaded square and a bar.

    Piecewise-smooth images are what a convolutional generator reproduces easily, so they
    show the deep image prior well.

    Args:
        n: side length in pixels (>= 8).

    Returns:
        Tensor of shape ``(n, n)`` with values in ``[0, 1]``.

    See: chapters/01_inductive_bias/01_priors_before_training.
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

    See: chapters/01_inductive_bias/01_priors_before_training.
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

    See: chapters/01_inductive_bias/01_priors_before_training.
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

    See: chapters/01_inductive_bias/01_priors_before_training.
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

    See: chapters/01_inductive_bias/01_priors_before_training.
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


# ======================================================================================
# Architecture as prior: rank collapse of self-attention
# ======================================================================================
def rank_collapse_residual(X: torch.Tensor) -> float:
    """Relative distance of a token matrix to the nearest matrix whose rows are all equal.

    ``||X - 1 mean(X)|| / ||X||`` (Frobenius norms): 0 when every token carries the same
    vector (rank collapse), about 1 for unrelated tokens.

    Args:
        X: tensor of shape ``(n_tokens, d)``.

    Returns:
        A number in ``[0, 1]``.

    See: chapters/01_inductive_bias/02_architecture_as_prior.
    """
    X = torch.as_tensor(X)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"X must have shape (n_tokens, d) with n_tokens >= 2, got {tuple(X.shape)}")
    norm = X.norm().item()
    if norm == 0:
        raise ValueError("X must not be all zeros")
    return (X - X.mean(0, keepdim=True)).norm().item() / norm


def attention_stack_residuals(
    n_layers: int = 12,
    n_tokens: int = 32,
    d: int = 64,
    skip: bool = False,
    mlp: bool = False,
    n_stacks: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """Rank-collapse residual after each layer of a random single-head self-attention stack.

    Each layer computes ``softmax(X Wq (X Wk)^T / sqrt(d)) X Wv`` with Gaussian weights of
    variance ``1/d``; ``skip`` adds the input back (``X + attention(X)``) and ``mlp`` appends
    a residual ReLU MLP block. Inputs are standard Gaussian tokens. No normalization layers.

    Args:
        n_layers, n_tokens, d: depth, sequence length and width.
        skip: use skip connections around attention.
        mlp: add a residual MLP block after each attention layer.
        n_stacks: random stacks; the median residual per layer is returned.
        seed: seed of inputs and weights.

    Returns:
        Array of length ``n_layers + 1`` (entry 0 is the input).

    See: chapters/01_inductive_bias/02_architecture_as_prior.
    """
    n_layers = check_positive_int(n_layers, "n_layers")
    n_tokens = check_positive_int(n_tokens, "n_tokens", 2)
    d = check_positive_int(d, "d")
    n_stacks = check_positive_int(n_stacks, "n_stacks")
    g = torch.Generator().manual_seed(seed)
    kw = {"generator": g, "dtype": torch.float64}
    runs = []
    for _ in range(n_stacks):
        X = torch.randn(n_tokens, d, **kw)
        res = [rank_collapse_residual(X)]
        for _ in range(n_layers):
            Wq, Wk, Wv = (torch.randn(d, d, **kw) / math.sqrt(d) for _ in range(3))
            A = torch.softmax((X @ Wq) @ (X @ Wk).T / math.sqrt(d), dim=1)
            Y = A @ X @ Wv
            X = X + Y if skip else Y
            if mlp:
                W1 = torch.randn(d, d, **kw) * math.sqrt(2.0 / d)
                W2 = torch.randn(d, d, **kw) / math.sqrt(d)
                X = X + torch.relu(X @ W1) @ W2
            res.append(rank_collapse_residual(X))
        runs.append(res)
    return np.median(np.array(runs), axis=0)


# ======================================================================================
# Architecture as prior: locality and weight sharing
# ======================================================================================
def patch_signal_data(
    n: int,
    k: int = 16,
    p: int = 8,
    amplitude: float = 4.0,
    template: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A signal that can sit in any one of ``k`` patches: the label is its sign.

    Each input has ``k`` patches of ``p`` standard Gaussian entries. In one patch, chosen
    uniformly at random per input, ``amplitude * y * template`` is added, where
    ``y = +-1`` is the label and ``template`` a fixed unit vector. A simple version of the
    "dynamic signal distribution" task: local (the signal fills one patch) and translation
    invariant (any patch).

    Args:
        n: number of inputs.
        k, p: number of patches and patch dimension.
        amplitude: signal strength in units of the noise's standard deviation (> 0).
        template: unit vector of length ``p`` (drawn from ``generator`` if ``None``).
        generator: a seeded ``torch.Generator``.

    Returns:
        ``(X, y)``: ``X`` of shape ``(n, k, p)``, ``y`` of shape ``(n,)`` with values +-1.

    See: chapters/01_inductive_bias/02_architecture_as_prior.
    """
    n = check_positive_int(n, "n")
    k = check_positive_int(k, "k")
    p = check_positive_int(p, "p")
    amplitude = check_positive(amplitude, "amplitude")
    if template is None:
        template = torch.randn(p, generator=generator)
    template = torch.as_tensor(template, dtype=torch.float32)
    if template.shape != (p,) or template.norm() == 0:
        raise ValueError(f"template must be a non-zero vector of length p={p}, got shape {tuple(template.shape)}")
    template = template / template.norm()
    y = torch.randint(0, 2, (n,), generator=generator).float() * 2 - 1
    X = torch.randn(n, k, p, generator=generator)
    where = torch.randint(0, k, (n,), generator=generator)
    X[torch.arange(n), where] += amplitude * y[:, None] * template
    return X, y


class _PatchCNN(nn.Module):
    def __init__(self, k: int, p: int, channels: int):
        super().__init__()
        self.filters, self.readout = nn.Linear(p, channels), nn.Linear(channels, 1)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.readout(F.relu(self.filters(X)).amax(1)).squeeze(-1)


class _PatchLCN(nn.Module):
    def __init__(self, k: int, p: int, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(k, p, channels).uniform_(-1, 1) / math.sqrt(p))
        self.bias = nn.Parameter(torch.empty(k, channels).uniform_(-1, 1) / math.sqrt(p))
        self.readout = nn.Linear(channels, 1)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        h = torch.einsum("nkp,kpc->nkc", X, self.weight) + self.bias
        return self.readout(F.relu(h).amax(1)).squeeze(-1)


def make_patch_net(arch: str, k: int = 16, p: int = 8, channels: int = 8) -> nn.Module:
    """A CNN, a locally connected net (LCN) or a fully connected net (FCN) over ``k`` patches.

    - ``"cnn"``: ``channels`` filters of size ``p`` shared by all patches (locality and weight
      sharing), ReLU, max-pooling over patches, linear read-out.
    - ``"lcn"``: the same, but every patch has its own filters (locality, no sharing).
    - ``"fcn"``: one hidden layer of ``channels * k`` ReLU units connected to all ``k * p``
      inputs, linear read-out (neither).

    Args:
        arch: ``"cnn"``, ``"lcn"`` or ``"fcn"``.
        k, p: number of patches and patch dimension.
        channels: filters per patch (hidden width ``channels * k`` for the FCN).

    Returns:
        A module mapping ``(n, k, p)`` inputs to ``(n,)`` logits.

    See: chapters/01_inductive_bias/02_architecture_as_prior.
    """
    k, p, channels = (check_positive_int(v, name) for v, name in ((k, "k"), (p, "p"), (channels, "channels")))
    if arch == "cnn":
        return _PatchCNN(k, p, channels)
    if arch == "lcn":
        return _PatchLCN(k, p, channels)
    if arch == "fcn":
        return nn.Sequential(nn.Flatten(), nn.Linear(k * p, channels * k), nn.ReLU(), nn.Linear(channels * k, 1), nn.Flatten(0))
    raise ValueError(f"arch must be 'cnn', 'lcn' or 'fcn', got {arch!r}")


def locality_sample_complexity(
    n_values: Sequence[int] = (16, 32, 64, 128, 256, 512),
    archs: Sequence[str] = ("cnn", "lcn", "fcn"),
    k: int = 16,
    p: int = 8,
    amplitude: float = 4.0,
    channels: int = 8,
    steps: int = 300,
    lr: float = 1e-2,
    reps: int = 4,
    n_test: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Test accuracy of CNN, LCN and FCN on :func:`patch_signal_data`, over training-set sizes.

    For each size and repetition, a fresh training set and network are drawn; the network is
    trained full batch with Adam on the logistic loss for ``steps`` steps and scored on
    ``n_test`` fresh inputs. The template is fixed per ``seed``.

    Args:
        n_values: training-set sizes (positive).
        archs: architectures, see :func:`make_patch_net`.
        k, p, amplitude: task, see :func:`patch_signal_data`.
        channels: network size, see :func:`make_patch_net`.
        steps, lr: Adam steps and learning rate.
        reps: repetitions per cell (the mean is reported).
        n_test: test inputs.
        seed: seed of everything.

    Returns:
        DataFrame indexed by ``n``, one column of mean test accuracy per architecture.

    See: chapters/01_inductive_bias/02_architecture_as_prior.
    """
    ns = [check_positive_int(n, "each entry of n_values") for n in n_values]
    if not ns or not archs:
        raise ValueError("n_values and archs must be non-empty")
    for a in archs:
        make_patch_net(a, 2, 2, 1)  # validates the names early
    steps = check_positive_int(steps, "steps")
    reps = check_positive_int(reps, "reps")
    n_test = check_positive_int(n_test, "n_test")
    template = torch.randn(p, generator=torch.Generator().manual_seed(10_000 + seed))
    out = {}
    for a_i, arch in enumerate(archs):
        col = {}
        for n in ns:
            accs = []
            for r in range(reps):
                g = torch.Generator().manual_seed(seed * 1000 + r)
                X, y = patch_signal_data(n, k, p, amplitude, template, g)
                Xt, yt = patch_signal_data(n_test, k, p, amplitude, template, g)
                torch.manual_seed(seed * 1000 + r)
                model = make_patch_net(arch, k, p, channels)
                opt = torch.optim.Adam(model.parameters(), lr=lr)
                for _ in range(steps):
                    loss = F.softplus(-y * model(X)).mean()
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                with torch.no_grad():
                    accs.append(((model(Xt) > 0).float() * 2 - 1 == yt).float().mean().item())
            col[n] = float(np.mean(accs))
        out[arch] = col
    table = pd.DataFrame(out)
    table.index.name = "n"
    return table


def plot_sample_complexity(table: pd.DataFrame, ax=None):
    """Test accuracy against training-set size (log x-axis), one line per architecture.

    Args:
        table: from :func:`locality_sample_complexity`.
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.

    See: chapters/01_inductive_bias/02_architecture_as_prior.
    """
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise ValueError("table must be a non-empty DataFrame from locality_sample_complexity")
    ax = get_axes(ax)
    labels = {"cnn": "CNN (local, shared)", "lcn": "LCN (local, not shared)", "fcn": "FCN (dense)"}
    for col in table.columns:
        ax.plot(table.index, table[col], "o-", label=labels.get(col, col))
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(table.index), [str(n) for n in table.index])
    ax.axhline(0.5, color="0.5", ls=":", lw=0.8)
    ax.set_xlabel("training-set size n")
    ax.set_ylabel("test accuracy")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


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

    See: chapters/01_inductive_bias/01_priors_before_training.
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

    See: chapters/01_inductive_bias/01_priors_before_training.
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


def plot_rank_collapse(residuals: dict[str, np.ndarray], ax=None):
    """Rank-collapse residual against layer on a log scale, one line per architecture.

    Args:
        residuals: ``{label: array}`` from :func:`attention_stack_residuals`.
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.

    See: chapters/01_inductive_bias/02_architecture_as_prior.
    """
    if not residuals:
        raise ValueError("residuals must contain at least one curve")
    ax = get_axes(ax)
    for label, r in residuals.items():
        r = np.asarray(r)
        ax.plot(np.arange(len(r)), np.maximum(r, 1e-17), "o-", label=label)
    ax.set_yscale("log")
    ax.set_xlabel("layer")
    ax.set_ylabel("relative distance to rank 1")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


# ======================================================================================
# Simplicity bias: generalization on the unseen (Boolean functions)
# ======================================================================================
def boolean_cube(n_bits: int) -> torch.Tensor:
    """All ``2**n_bits`` points of the Boolean cube ``{-1, +1}^n_bits``.

    Args:
        n_bits: number of bits, 1 to 16.

    Returns:
        Tensor of shape ``(2**n_bits, n_bits)`` with entries -1 or +1.

    See: chapters/01_inductive_bias/04_simplicity_bias.
    """
    n_bits = check_positive_int(n_bits, "n_bits")
    if n_bits > 16:
        raise ValueError(f"n_bits must be <= 16 (the cube is enumerated), got {n_bits}")
    idx = torch.arange(2**n_bits).unsqueeze(1)
    bits = (idx >> torch.arange(n_bits - 1, -1, -1)) & 1
    return bits.float() * 2 - 1


def gotu_run(
    n_bits: int = 10,
    target_bits: Sequence[int] = (0, 1, 2),
    frozen_bit: int = 2,
    frozen_value: float = 1.0,
    steps: int = 300,
    width: int = 1024,
    depth: int = 2,
    lr: float = 1e-3,
    activation: str = "relu",
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> dict[str, object]:
    """Train on half the Boolean cube (one bit frozen) and test on the unseen half.

    The target is the monomial ``prod_{i in target_bits} x_i``. Training uses every input
    with ``x[frozen_bit] == frozen_value``; on those inputs the target equals
    ``frozen_value * prod_{i in target_bits, i != frozen_bit} x_i``, a monomial of lower degree.
    On the unseen half the true target has the opposite sign, while the *minimum-degree
    interpolant* of the training data is that lower-degree monomial.

    Args:
        n_bits: input dimension.
        target_bits: indices of the bits multiplied in the target.
        frozen_bit: the bit held fixed during training (one of ``target_bits``).
        frozen_value: its training value, -1 or +1.
        steps, width, depth, lr, activation: full-batch Adam on the mean squared error.
            Flipping a bit outside ``target_bits`` leaves the training data unchanged, and
            flipping another target bit negates the target; the initialization and Adam
            respect these flips, so only the random features of a finite width let the
            unseen-half prediction pick up anything but a multiple of the minimum-degree
            interpolant. That deviation shrinks with ``width``: with two hidden layers of
            256 units the correlation fell to 0.93 for one of seeds 0-7, with 1,024 units it
            stays >= 0.98.
        seed: initialization seed.
        device: where to train.

    Returns:
        ``{"train_mse", "unseen_mse", "corr_min_degree", "pred_unseen", "min_degree_unseen",
        "target_unseen"}``; ``corr_min_degree`` is the correlation, on the unseen half, between
        the network's prediction and the minimum-degree interpolant.

    See: chapters/01_inductive_bias/04_simplicity_bias.
    """
    X = boolean_cube(n_bits)
    target_bits = [int(check_nonnegative(i, "each entry of target_bits")) for i in target_bits]
    if not target_bits or max(target_bits) >= n_bits or len(set(target_bits)) != len(target_bits):
        raise ValueError(f"target_bits must be distinct indices in [0, {n_bits}), got {target_bits}")
    if frozen_bit not in target_bits:
        raise ValueError(f"frozen_bit must be one of target_bits {target_bits}, got {frozen_bit}")
    if frozen_value not in (-1, 1):
        raise ValueError(f"frozen_value must be -1 or +1, got {frozen_value}")
    if len(target_bits) < 2:
        raise ValueError("target_bits needs at least two bits, so that a lower-degree interpolant exists")
    y = X[:, target_bits].prod(1)
    seen = X[:, frozen_bit] == frozen_value
    rest = [i for i in target_bits if i != frozen_bit]
    mdi = frozen_value * X[:, rest].prod(1)
    torch.manual_seed(seed)
    model = make_mlp(n_bits, 1, width, depth, activation).to(device)
    train(model, X[seen], y[seen].unsqueeze(1), F.mse_loss, steps=steps, lr=lr, eval_every=steps, seed=seed)
    model.eval()
    with torch.no_grad():
        pred = model(X.to(device)).squeeze(1).cpu()
    p_un, m_un, y_un = pred[~seen], mdi[~seen], y[~seen]
    corr = float(np.corrcoef(p_un.numpy(), m_un.numpy())[0, 1])
    return {
        "train_mse": F.mse_loss(pred[seen], y[seen]).item(),
        "unseen_mse": F.mse_loss(p_un, y_un).item(),
        "corr_min_degree": corr,
        "pred_unseen": p_un,
        "min_degree_unseen": m_un,
        "target_unseen": y_un,
    }


def plot_gotu(result: dict[str, object], ax=None):
    """Unseen-half predictions of :func:`gotu_run`, grouped by the minimum-degree interpolant.

    Args:
        result: the output of :func:`gotu_run`.
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.

    See: chapters/01_inductive_bias/04_simplicity_bias.
    """
    for k in ("pred_unseen", "min_degree_unseen", "target_unseen"):
        if not isinstance(result, dict) or k not in result:
            raise ValueError(f"result must be the output of gotu_run (missing {k!r})")
    ax = get_axes(ax)
    p = result["pred_unseen"].numpy()
    m = result["min_degree_unseen"].numpy()
    t = result["target_unseen"].numpy()
    rng = np.random.default_rng(0)
    for j, v in enumerate((-1.0, 1.0)):
        sel = m == v
        ax.scatter(j + rng.uniform(-0.15, 0.15, sel.sum()), p[sel], s=8, alpha=0.6,
                   label="network's prediction" if j == 0 else None, color="C0")
        ax.scatter([j], [t[sel][0]], marker="x", s=120, color="C3", label="true target" if j == 0 else None)
        ax.scatter([j], [v], marker="_", s=600, color="black", label="minimum-degree interpolant" if j == 0 else None)
    ax.set_xticks([0, 1])
    ax.set_xticklabels(["interpolant = -1", "interpolant = +1"])
    ax.set_ylabel("output on an unseen input")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


# ======================================================================================
# Simplicity bias: distributional simplicity (moment clones of digits)
# ======================================================================================
@dataclass
class ShiftedDigits:
    """Digits pasted at every offset of a slightly larger canvas, standardized per pixel."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    side: int


def shifted_digits(pad: int = 1, n_train_digits: int = 1200, seed: int = 0) -> ShiftedDigits:
    """scikit-learn's 8x8 digits at every offset of an ``(8 + pad)``-pixel canvas.

    The digits are split into ``n_train_digits`` training digits and the rest for testing;
    each digit appears at all ``(pad + 1)**2`` offsets, so the test set holds unseen digits
    at seen positions. The shifts blur the class means, which makes higher-order structure
    (the shape, wherever it sits) matter for classification. Pixels are standardized with
    the training set's mean and standard deviation (plus 0.1).

    Args:
        pad: extra pixels on each axis (0 gives the plain digits), 0 to 8.
        n_train_digits: digits in the training split (10 .. 1700).
        seed: seed of the split.

    Returns:
        A :class:`ShiftedDigits` with flattened float inputs and int64 labels.

    See: chapters/01_inductive_bias/04_simplicity_bias.
    """
    from sklearn.datasets import load_digits

    if isinstance(pad, bool) or not isinstance(pad, (int, np.integer)) or not 0 <= pad <= 8:
        raise ValueError(f"pad must be an integer in [0, 8], got {pad!r}")
    n_train_digits = check_positive_int(n_train_digits, "n_train_digits", 10)
    if n_train_digits > 1700:
        raise ValueError(f"n_train_digits must be <= 1700 to leave a test set, got {n_train_digits}")
    X0, y0 = load_digits(return_X_y=True)
    X0 = X0.reshape(-1, 8, 8) / 16.0
    perm = np.random.default_rng(seed).permutation(len(X0))
    side = 8 + pad

    def paste(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = np.zeros(((pad + 1) ** 2, len(idx), side, side))
        for k, (a, b) in enumerate((a, b) for a in range(pad + 1) for b in range(pad + 1)):
            out[k, :, a : a + 8, b : b + 8] = X0[idx]
        return out.reshape(-1, side * side), np.tile(y0[idx], (pad + 1) ** 2)

    Xtr, ytr = paste(perm[:n_train_digits])
    Xte, yte = paste(perm[n_train_digits:])
    mu, sd = Xtr.mean(0), Xtr.std(0) + 0.1
    f = lambda a: torch.as_tensor((a - mu) / sd, dtype=torch.float32)  # noqa: E731
    return ShiftedDigits(f(Xtr), torch.as_tensor(ytr), f(Xte), torch.as_tensor(yte), side)


def moment_clones(X: torch.Tensor, y: torch.Tensor, order: int = 2, n: int = 2000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian "clones" of a labelled dataset that keep only its low-order statistics.

    ``order=1``: each class ``c`` is replaced by ``N(mu_c, s_c^2 I)``, its mean plus
    isotropic noise of the same total variance (first moment only). ``order=2``: by
    ``N(mu_c, Sigma_c)``, its mean and full covariance (first two moments). Everything a
    classifier could exploit beyond those moments is gone.

    Args:
        X: inputs of shape ``(n_samples, d)``.
        y: integer labels ``0 .. k-1`` of shape ``(n_samples,)``, each class with >= 2 samples.
        order: 1 or 2.
        n: clones in total, split evenly over the classes.
        seed: seed of the sampling.

    Returns:
        ``(X_clones, y_clones)``.

    See: chapters/01_inductive_bias/04_simplicity_bias.
    """
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"X must be (n_samples, d) and y (n_samples,), got {tuple(X.shape)} and {tuple(y.shape)}")
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    n = check_positive_int(n, "n")
    Xn, yn = X.double().cpu().numpy(), y.cpu().numpy()
    classes = np.unique(yn)
    if any((yn == c).sum() < 2 for c in classes):
        raise ValueError("every class in y needs at least 2 samples")
    rng = np.random.default_rng(seed)
    d, per = Xn.shape[1], max(1, n // len(classes))
    xs, ys = [], []
    for c in classes:
        A = Xn[yn == c]
        mu, S = A.mean(0), np.cov(A.T).reshape(d, d) + 1e-3 * np.eye(d)
        if order == 1:
            xs.append(mu + math.sqrt(np.trace(S) / d) * rng.standard_normal((per, d)))
        else:
            xs.append(rng.multivariate_normal(mu, S, per, method="cholesky"))
        ys.append(np.full(per, c))
    return torch.as_tensor(np.concatenate(xs), dtype=X.dtype if X.is_floating_point() else torch.float32), torch.as_tensor(np.concatenate(ys))


def distributional_simplicity_run(
    pad: int = 1,
    width: int = 256,
    depth: int = 2,
    lr: float = 0.05,
    steps: int = 5000,
    batch_size: int = 64,
    eval_every: int = 100,
    n_clones: int = 2000,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> pd.DataFrame:
    """Train an MLP on shifted digits and track its accuracy on real test digits and on clones.

    The MLP is trained with plain SGD on minibatches of :func:`shifted_digits`; clones of
    order 1 and 2 (:func:`moment_clones`) are drawn from the training set's statistics and
    never trained on. Accuracy is recorded every 10 steps up to step 100 and every
    ``eval_every`` steps after.

    Args:
        pad: canvas padding of :func:`shifted_digits`.
        width, depth: MLP shape (ReLU).
        lr: SGD learning rate.
        steps: SGD steps.
        batch_size: minibatch size (drawn with replacement).
        eval_every: evaluation interval after step 100.
        n_clones: clones per order.
        seed: seed of the split, the clones, the weights and the batches.
        device: where to train (CPU if ``None``).

    Returns:
        DataFrame with ``step``, ``test_acc``, ``clone1_acc`` (mean-only clones) and
        ``clone2_acc`` (mean-and-covariance clones).

    See: chapters/01_inductive_bias/04_simplicity_bias.
    """
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    eval_every = check_positive_int(eval_every, "eval_every")
    lr = check_positive(lr, "lr")
    device = torch.device(device or "cpu")
    data = shifted_digits(pad, seed=seed)
    c1, y1 = moment_clones(data.X_train, data.y_train, 1, n_clones, seed)
    c2, y2 = moment_clones(data.X_train, data.y_train, 2, n_clones, seed + 1)
    sets = {"test_acc": (data.X_test, data.y_test), "clone1_acc": (c1, y1), "clone2_acc": (c2, y2)}
    sets = {k: (a.to(device), b.to(device)) for k, (a, b) in sets.items()}
    Xtr, ytr = data.X_train.to(device), data.y_train.to(device)
    torch.manual_seed(seed)
    model = make_mlp(Xtr.shape[1], 10, width=width, depth=depth).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    rows = []
    for step in range(steps + 1):
        if step % eval_every == 0 or (step <= 100 and step % 10 == 0) or step == steps:
            with torch.no_grad():
                rows.append({"step": step, **{k: (model(a).argmax(1) == b).float().mean().item() for k, (a, b) in sets.items()}})
        if step == steps:
            break
        idx = torch.randint(0, len(Xtr), (batch_size,), generator=g).to(device)
        loss = F.cross_entropy(model(Xtr[idx]), ytr[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return pd.DataFrame(rows)


def plot_distributional_simplicity(history: pd.DataFrame, ax=None):
    """Accuracy on test digits and on the two clone sets against step (log x-axis).

    Args:
        history: from :func:`distributional_simplicity_run`.
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.

    See: chapters/01_inductive_bias/04_simplicity_bias.
    """
    cols = ("test_acc", "clone1_acc", "clone2_acc")
    if not isinstance(history, pd.DataFrame) or any(c not in history for c in ("step", *cols)):
        raise ValueError(f"history must be a DataFrame with 'step' and {list(cols)} columns")
    ax = get_axes(ax)
    h = history[history.step > 0]
    labels = {"test_acc": "real test digits", "clone1_acc": "clones: class means only",
              "clone2_acc": "clones: means and covariances"}
    for c, style in zip(cols, ("-", "--", ":")):
        ax.plot(h.step, h[c], style, marker="o", ms=3, label=labels[c])
    ax.set_xscale("log")
    ax.axhline(0.1, color="0.5", lw=0.8, ls=":")
    ax.set_xlabel("SGD step")
    ax.set_ylabel("accuracy")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


# ======================================================================================
# Memorization and double descent
# ======================================================================================
def random_labels(y: np.ndarray | torch.Tensor, n_classes: int = 10, seed: int = 0) -> np.ndarray:
    """Random labels that carry no information about the true ones, balanced within each class.

    Within every true class the new labels cycle through ``0 .. n_classes - 1`` in a random
    order, so each true class receives each random label equally often (up to rounding).
    Plain i.i.d. labels on a few hundred examples correlate with the true classes by chance,
    and a network that fits them can then score above chance on the test set.

    Args:
        y: integer labels in ``[0, n_classes)``, 1-D.
        n_classes: number of classes (>= 2).
        seed: seed of the shuffles.

    Returns:
        An int64 array of the same length as ``y``.

    See: chapters/01_inductive_bias/06_memorization.
    """
    y = np.asarray(torch.as_tensor(y).cpu().numpy() if isinstance(y, torch.Tensor) else y)
    n_classes = check_positive_int(n_classes, "n_classes", 2)
    if y.ndim != 1 or len(y) == 0 or not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"y must be a non-empty 1-D array of integers in [0, {n_classes})")
    rng = np.random.default_rng(seed)
    out = np.empty(len(y), dtype=np.int64)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        lab = (np.arange(len(idx)) + rng.integers(n_classes)) % n_classes
        rng.shuffle(lab)
        out[idx] = lab
    return out


def random_label_run(
    corruption: str = "none",
    n_train: int = 1000,
    width: int = 512,
    depth: int = 2,
    lr: float = 1e-3,
    max_steps: int = 2000,
    stop_at: float = 0.99,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> pd.DataFrame:
    """Train an MLP on digits with true labels, random labels or random pixels, until it fits.

    ``n_train`` of scikit-learn's 8x8 digits (scaled to [0, 1]) form the training set and the
    rest the test set. ``"labels"`` replaces the training labels with :func:`random_labels`;
    ``"pixels"`` keeps the labels but shuffles the 64 pixels of every training image with its
    own random permutation. A ReLU MLP (``depth`` hidden layers of ``width`` units) is trained
    full batch with Adam on cross-entropy, and training accuracy is recorded after every
    step until it reaches ``stop_at`` or ``max_steps`` steps have been taken.

    Args:
        corruption: ``"none"``, ``"labels"`` or ``"pixels"``.
        n_train: training-set size (10 .. 1500).
        width, depth: MLP shape.
        lr: Adam learning rate.
        max_steps: the most steps to take.
        stop_at: stop once training accuracy reaches this level, in (0, 1].
        seed: seed of the split, the corruption and the weights.
        device: where to train (CPU if ``None``).

    Returns:
        DataFrame with ``step``, ``train_acc`` (against the labels trained on) and
        ``test_acc`` (true labels of untouched test digits; NaN for ``"pixels"``, whose
        images have no test counterpart).

    See: chapters/01_inductive_bias/06_memorization.
    """
    from sklearn.datasets import load_digits

    if corruption not in ("none", "labels", "pixels"):
        raise ValueError(f"corruption must be 'none', 'labels' or 'pixels', got {corruption!r}")
    n_train = check_positive_int(n_train, "n_train", 10)
    if n_train > 1500:
        raise ValueError(f"n_train must be <= 1500 to leave a test set, got {n_train}")
    max_steps = check_positive_int(max_steps, "max_steps")
    stop_at = check_fraction(stop_at, "stop_at")
    lr = check_positive(lr, "lr")
    device = torch.device(device or "cpu")
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(X))
    tr, te = perm[:n_train], perm[n_train:]
    Xtr, ytr = X[tr].copy(), y[tr].copy()
    if corruption == "labels":
        ytr = random_labels(ytr, 10, seed=seed)
    elif corruption == "pixels":
        Xtr = np.stack([row[rng.permutation(X.shape[1])] for row in Xtr])
    as_t = lambda a, dt=torch.float32: torch.as_tensor(a, dtype=dt, device=device)  # noqa: E731
    Xtr, ytr, Xte, yte = as_t(Xtr), as_t(ytr, torch.long), as_t(X[te]), as_t(y[te], torch.long)
    torch.manual_seed(seed)
    model = make_mlp(64, 10, width=width, depth=depth).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    rows = []
    for step in range(max_steps + 1):
        out = model(Xtr)
        train_acc = (out.argmax(1) == ytr).float().mean().item()
        if corruption == "pixels":
            test_acc = float("nan")
        else:
            with torch.no_grad():
                test_acc = (model(Xte).argmax(1) == yte).float().mean().item()
        rows.append({"step": step, "train_acc": train_acc, "test_acc": test_acc})
        if train_acc >= stop_at or step == max_steps:
            break
        loss = F.cross_entropy(out, ytr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return pd.DataFrame(rows)


def steps_to_accuracy(history: pd.DataFrame, level: float = 0.95, column: str = "train_acc") -> float:
    """First step at which ``history[column]`` reaches ``level`` (``inf`` if never).

    Args:
        history: a DataFrame with a ``step`` column, e.g. from :func:`random_label_run`.
        level: the accuracy to reach, in (0, 1].
        column: the accuracy column.

    Returns:
        The step, as a float.

    See: chapters/01_inductive_bias/06_memorization.
    """
    if not isinstance(history, pd.DataFrame) or column not in history or "step" not in history:
        raise ValueError(f"history must be a DataFrame with 'step' and {column!r} columns")
    level = check_fraction(level, "level")
    hit = history.loc[history[column] >= level, "step"]
    return float(hit.iloc[0]) if len(hit) else math.inf


def plot_random_labels(histories: dict[str, pd.DataFrame], ax=None):
    """Training accuracy (solid) and test accuracy (dashed) against step, one colour per run.

    Args:
        histories: ``{label: history}`` from :func:`random_label_run`.
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.

    See: chapters/01_inductive_bias/06_memorization.
    """
    if not histories:
        raise ValueError("histories must contain at least one run")
    ax = get_axes(ax)
    for i, (label, h) in enumerate(histories.items()):
        color = f"C{i}"
        ax.plot(h.step, h.train_acc, color=color, label=f"{label}: train")
        if h.test_acc.notna().any():
            ax.plot(h.step, h.test_acc, color=color, ls="--", label=f"{label}: test")
    ax.axhline(0.1, color="0.5", ls=":", label="chance (1/10)")
    ax.set_xlabel("step (full batch)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


def random_features_double_descent(
    n_features: Sequence[int] = (50, 100, 200, 300, 400, 600, 1000, 3000),
    n_train: int = 300,
    label_noise: float = 0.2,
    ridge: float = 1e-2,
    seed: int = 0,
) -> pd.DataFrame:
    """Test error of ReLU random-features ridge regression on digits, over the number of features.

    Inputs are scikit-learn's 8x8 digits scaled to [0, 1]; ``n_train`` of them form the
    training set, the rest the test set. A fraction ``label_noise`` of training labels is
    replaced by uniformly random digits. Features are ``relu(x W)`` with a Gaussian
    ``W`` of shape ``(64, N)`` (nested over ``N``: the first ``N`` columns of one draw), and
    one-hot targets are fitted by ridge regression (the minimum-norm solution as
    ``ridge -> 0``). The interpolation threshold is ``N = n_train``.

    Args:
        n_features: the values of ``N`` to sweep (positive, increasing).
        n_train: training-set size (10 .. 1500).
        label_noise: fraction of training labels replaced at random, in [0, 1).
        ridge: ridge penalty (> 0).
        seed: seed of the split, the noise and the features.

    Returns:
        DataFrame with ``n_features``, ``train_mse``, ``test_mse`` (squared error against
        one-hot labels, summed over classes) and ``test_error`` (misclassification rate).

    See: chapters/01_inductive_bias/06_memorization.
    """
    from sklearn.datasets import load_digits

    ns = [check_positive_int(N, "each entry of n_features") for N in n_features]
    if not ns or sorted(ns) != ns:
        raise ValueError(f"n_features must be a non-empty increasing sequence, got {list(n_features)}")
    n_train = check_positive_int(n_train, "n_train", 10)
    if n_train > 1500:
        raise ValueError(f"n_train must be <= 1500 to leave a test set, got {n_train}")
    label_noise = check_nonnegative(label_noise, "label_noise")
    if label_noise >= 1:
        raise ValueError(f"label_noise must be in [0, 1), got {label_noise}")
    ridge = check_positive(ridge, "ridge")
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(X))
    tr, te = perm[:n_train], perm[n_train:]
    ytr = y[tr].copy()
    flip = rng.random(n_train) < label_noise
    ytr[flip] = rng.integers(0, 10, flip.sum())
    Y, Yte = np.eye(10)[ytr], np.eye(10)[y[te]]
    W = rng.standard_normal((X.shape[1], ns[-1])) / math.sqrt(X.shape[1])
    rows = []
    for N in ns:
        Ftr, Fte = np.maximum(X[tr] @ W[:, :N], 0), np.maximum(X[te] @ W[:, :N], 0)
        if N <= n_train:
            beta = np.linalg.solve(Ftr.T @ Ftr + ridge * np.eye(N), Ftr.T @ Y)
        else:
            beta = Ftr.T @ np.linalg.solve(Ftr @ Ftr.T + ridge * np.eye(n_train), Y)
        P, Ptr = Fte @ beta, Ftr @ beta
        rows.append({
            "n_features": N,
            "train_mse": float(((Ptr - Y) ** 2).sum(1).mean()),
            "test_mse": float(((P - Yte) ** 2).sum(1).mean()),
            "test_error": float((P.argmax(1) != y[te]).mean()),
        })
    return pd.DataFrame(rows)


def peak_ratio(curve: pd.DataFrame, column: str = "test_mse") -> float:
    """Height of the highest point of a sweep relative to the higher of its two end points.

    Args:
        curve: a sweep, e.g. from :func:`random_features_double_descent`, in sweep order.
        column: the error column.

    Returns:
        ``max(curve[column]) / max(first, last)``: 1 when the maximum is at an end (no
        interior peak), 2 when the peak is twice as high as both ends.

    See: chapters/01_inductive_bias/06_memorization.
    """
    if not isinstance(curve, pd.DataFrame) or column not in curve or len(curve) < 3:
        raise ValueError(f"curve must be a DataFrame with a {column!r} column and at least 3 rows")
    v = curve[column].to_numpy(dtype=float)
    return float(v.max() / max(v[0], v[-1]))


def plot_double_descent(curves: dict[str, pd.DataFrame], n_train: int | None = None, column: str = "test_mse", ax=None):
    """Test error against the number of random features (log x-axis), one line per setting.

    Args:
        curves: ``{label: sweep}`` from :func:`random_features_double_descent`.
        n_train: draw the interpolation threshold ``N = n_train`` if given.
        column: the error column to plot.
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.

    See: chapters/01_inductive_bias/06_memorization.
    """
    if not curves:
        raise ValueError("curves must contain at least one sweep")
    ax = get_axes(ax)
    for label, c in curves.items():
        ax.plot(c["n_features"], c[column], "o-", label=label)
    if n_train is not None:
        ax.axvline(n_train, color="0.5", ls=":", label="interpolation threshold (N = n)")
    ax.set_xscale("log")
    ax.set_xlabel("number of random features N (log scale)")
    ax.set_ylabel("test squared error" if column == "test_mse" else column)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


# ---- Implicit regularization and generative models (sections 05, 08) ----
__all__ += [
    "eos_regression_data",
    "eos_mlp",
    "top_hessian_eigenvalue",
    "sharpness_run",
    "plot_sharpness",
    "MatrixSensingData",
    "matrix_sensing_data",
    "matrix_sensing_run",
    "learning_times",
    "effective_rank",
    "plot_incremental_learning",
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


# ======================================================================================
# Implicit regularization: sharpness and the edge of stability
# ======================================================================================
def eos_regression_data(n: int = 200, d: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A small nonlinear regression task: ``y = sum_j sin(1.5 x^T w_j)`` for 3 random ``w_j``.

    Args:
        n: number of samples (>= 2).
        d: input dimension (>= 1).
        seed: seed of inputs and teacher directions.

    Returns:
        ``(X, y)`` with shapes ``(n, d)`` and ``(n, 1)``; ``X`` is standard Gaussian.

    See: chapters/01_inductive_bias/05_implicit_regularization.
    """
    n = check_positive_int(n, "n", 2)
    d = check_positive_int(d, "d")
    g = torch.Generator().manual_seed(int(seed))
    X = torch.randn(n, d, generator=g)
    W = torch.randn(d, 3, generator=g)
    y = torch.sin(1.5 * X @ W).sum(1, keepdim=True)
    return X, y


def eos_mlp(in_dim: int = 5, width: int = 32, seed: int = 0) -> nn.Sequential:
    """The network of the sharpness demo: two tanh hidden layers of ``width`` units, one output.

    Args:
        in_dim: input features.
        width: units per hidden layer.
        seed: seed of PyTorch's default initialization.

    Returns:
        An ``nn.Sequential`` (built with :func:`biaslab.core.make_mlp`).

    See: chapters/01_inductive_bias/05_implicit_regularization.
    """
    torch.manual_seed(int(seed))
    return make_mlp(in_dim, 1, width=width, depth=2, activation="tanh")


def _half_mse(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return 0.5 * ((pred - y) ** 2).mean()


def top_hessian_eigenvalue(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    iters: int = 20,
    v0: list[torch.Tensor] | None = None,
    return_vector: bool = False,
):
    """Sharpness: the top eigenvalue of the Hessian of the loss ``0.5 * mean((f(X) - y)^2)``.

    Power iteration with Hessian-vector products (double backpropagation through
    ``torch.autograd.grad``); the Hessian is never formed. Power iteration returns the
    eigenvalue of largest magnitude, which is the top one whenever the Hessian's largest
    positive eigenvalue dominates its most negative one (the usual case during training).

    Args:
        model: the network (its parameters are the Hessian's variables).
        X, y: the full training batch.
        iters: power-iteration steps (>= 1).
        v0: start vector, one tensor per parameter (e.g. the previous call's vector, which
            speeds convergence along a training run); random if ``None``.
        return_vector: also return the final vector.

    Returns:
        The eigenvalue estimate (float), or ``(eigenvalue, vector)`` if ``return_vector``.

    See: chapters/01_inductive_bias/05_implicit_regularization.
    """
    iters = check_positive_int(iters, "iters")
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError("X and y must be torch tensors")
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters")
    loss = _half_mse(model(X), y)
    grads = torch.autograd.grad(loss, params, create_graph=True)
    if v0 is None:
        v = [torch.randn_like(p) for p in params]
    else:
        if len(v0) != len(params) or any(a.shape != p.shape for a, p in zip(v0, params)):
            raise ValueError("v0 must hold one tensor per parameter, with the parameters' shapes")
        v = [a.detach().clone() for a in v0]
    lam = 0.0
    for _ in range(iters):
        norm = torch.sqrt(sum((a * a).sum() for a in v))
        v = [a / norm for a in v]
        hv = torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True)
        lam = float(sum((a * b).sum() for a, b in zip(hv, v)))
        v = [h.detach() for h in hv]
    return (lam, v) if return_vector else lam


def sharpness_run(
    lr: float,
    steps: int = 2000,
    batch_size: int | None = None,
    eval_every: int = 25,
    n: int = 200,
    width: int = 32,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> pd.DataFrame:
    """Train :func:`eos_mlp` on :func:`eos_regression_data` with plain (S)GD and track sharpness.

    Full-batch gradient descent if ``batch_size`` is ``None``; otherwise SGD on minibatches of
    ``batch_size`` samples drawn with replacement. The loss is ``0.5 * MSE``; the sharpness is
    always measured on the full training set.

    Args:
        lr: learning rate (> 0); gradient descent on a quadratic is stable iff sharpness < 2/lr.
        steps: optimizer steps.
        batch_size: ``None`` (full batch) or the minibatch size.
        eval_every: measure every this many steps (and at step 0).
        n: training-set size.
        width: hidden units per layer.
        seed: seed of data, initialization and minibatches.
        device: where to train.

    Returns:
        DataFrame with ``step``, ``loss`` (full training loss) and ``sharpness`` (top Hessian
        eigenvalue), plus constant columns ``lr`` and ``two_over_lr``.

    See: chapters/01_inductive_bias/05_implicit_regularization.
    """
    lr = check_positive(lr, "lr")
    steps = check_positive_int(steps, "steps")
    eval_every = check_positive_int(eval_every, "eval_every")
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    X, y = eos_regression_data(n=n, seed=seed)
    X, y = X.to(device), y.to(device)
    model = eos_mlp(X.shape[1], width=width, seed=seed).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(int(seed) + 1)
    rows, v = [], None
    for step in range(steps + 1):
        if step % eval_every == 0 or step == steps:
            lam, v = top_hessian_eigenvalue(model, X, y, v0=v, return_vector=True)
            with torch.no_grad():
                loss = float(_half_mse(model(X), y))
            rows.append({"step": step, "loss": loss, "sharpness": lam})
        if step == steps:
            break
        if batch_size is None:
            xb, yb = X, y
        else:
            idx = torch.randint(0, len(X), (batch_size,), generator=gen).to(device)
            xb, yb = X[idx], y[idx]
        opt.zero_grad(set_to_none=True)
        _half_mse(model(xb), yb).backward()
        opt.step()
    h = pd.DataFrame(rows)
    h["lr"], h["two_over_lr"] = lr, 2.0 / lr
    return h


def plot_sharpness(histories: dict[str, pd.DataFrame], ax=None):
    """Sharpness against training step, one line per run, with each run's ``2/lr`` dashed.

    Args:
        histories: ``{label: history}`` from :func:`sharpness_run`.
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.

    See: chapters/01_inductive_bias/05_implicit_regularization.
    """
    if not histories:
        raise ValueError("histories must contain at least one run")
    ax = get_axes(ax)
    for i, (label, h) in enumerate(histories.items()):
        color = f"C{i}"
        ax.plot(h["step"], h["sharpness"], color=color, label=label)
        ax.axhline(float(h["two_over_lr"].iloc[0]), color=color, ls="--", lw=1)
    ax.set_xlabel("training step")
    ax.set_ylabel("sharpness (top Hessian eigenvalue)")
    ax.set_yscale("log")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


# ======================================================================================
# Implicit regularization: incremental learning in matrix sensing
# ======================================================================================
@dataclass
class MatrixSensingData:
    """Linear measurements ``y_i = <A_i, W*>`` of a low-rank matrix ``W*``.

    See: chapters/01_inductive_bias/05_implicit_regularization.
    """

    A: torch.Tensor  # (m, d, d) Gaussian sensing matrices
    y: torch.Tensor  # (m,) measurements
    W_star: torch.Tensor  # (d, d) ground truth
    singular_values: tuple[float, ...]


def matrix_sensing_data(
    d: int = 16,
    singular_values: Sequence[float] = (4.0, 2.0, 1.0),
    n_measurements: int = 200,
    seed: int = 0,
    measurements: str = "orthogonal",
) -> MatrixSensingData:
    """A random ``d x d`` matrix with the given singular values, seen through random linear measurements.

    ``W* = U diag(s) V^T`` with random orthonormal ``U, V``; each measurement is
    ``<A_i, W*>``. With fewer measurements than ``d^2`` entries, infinitely many matrices fit
    them; a low-rank ``W*`` is still identifiable once ``n_measurements`` exceeds its
    ``r (2d - r)`` degrees of freedom.

    With ``measurements="gaussian"`` the ``A_i`` have i.i.d. standard normal entries. With
    ``"orthogonal"`` the same Gaussian draws are orthogonalized (as vectors of length ``d^2``)
    and rescaled to the same average squared norm ``d^2``, so that
    ``(1/m) sum_i vec(A_i) vec(A_i)^T`` is ``d^2/m`` times a projection (the identity once ``m >= d^2``). Both give an unbiased
    back-projection ``(1/m) sum_i y_i A_i`` of ``W*``, which is the direction gradient
    descent first moves in from a small initialization; the orthogonal one has a smaller
    error (squared Frobenius norm ``(d^2/m - 1) ||W*||^2`` instead of about
    ``(d^2/m) ||W*||^2`` for ``m < d^2``), so its singular values stay closer to those of ``W*``.

    Args:
        d: matrix size.
        singular_values: the nonzero singular values (positive, at most ``d`` of them).
        n_measurements: number of measurements ``m``.
        seed: seed of ``W*`` and the measurements.
        measurements: ``"gaussian"`` or ``"orthogonal"`` (see above).

    Returns:
        A :class:`MatrixSensingData`.

    See: chapters/01_inductive_bias/05_implicit_regularization.
    """
    d = check_positive_int(d, "d", 2)
    m = check_positive_int(n_measurements, "n_measurements")
    s = [float(v) for v in singular_values]
    if not s or len(s) > d or any(not v > 0 for v in s):
        raise ValueError(f"singular_values must be 1..{d} positive numbers, got {list(singular_values)}")
    if measurements not in ("gaussian", "orthogonal"):
        raise ValueError(f"measurements must be 'gaussian' or 'orthogonal', got {measurements!r}")
    g = torch.Generator().manual_seed(int(seed))
    U, _ = torch.linalg.qr(torch.randn(d, d, generator=g))
    V, _ = torch.linalg.qr(torch.randn(d, d, generator=g))
    r = len(s)
    W_star = (U[:, :r] * torch.tensor(s)) @ V[:, :r].T
    A = torch.randn(m, d, d, generator=g)
    if measurements == "orthogonal":
        G = A.reshape(m, d * d)
        if m <= d * d:  # orthonormal rows, scaled to squared norm d^2
            Q, _ = torch.linalg.qr(G.T)
            A = (d * Q.T).reshape(m, d, d).contiguous()
        else:  # orthonormal columns: (1/m) A^T A = identity
            Q, _ = torch.linalg.qr(G)
            A = (math.sqrt(m) * Q).reshape(m, d, d).contiguous()
    y = (A * W_star).sum((1, 2))
    return MatrixSensingData(A=A, y=y, W_star=W_star, singular_values=tuple(s))


def matrix_sensing_run(
    init_scale: float,
    data: MatrixSensingData | None = None,
    depth: int = 2,
    steps: int = 3000,
    lr: float = 0.02,
    eval_every: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """Gradient descent on a factorized matrix ``W = W_depth ... W_1`` fitted to sensing data.

    Every factor is ``d x d`` (full width: the factorization itself does not limit the rank),
    initialized as ``init_scale * N(0, 1/d)``. The loss is ``0.5 * mean_i (<A_i, W> - y_i)^2``.

    Args:
        init_scale: scale of the initialization (> 0); small scales give incremental learning.
        data: from :func:`matrix_sensing_data` (default: its defaults with ``seed``).
        depth: number of factors (>= 1; 1 is plain gradient descent on ``W``).
        steps: gradient steps.
        lr: learning rate.
        eval_every: record every this many steps.
        seed: seed of the initialization (and of the default data).

    Returns:
        DataFrame with ``step``, ``loss``, ``rel_error`` (``||W - W*||_F / ||W*||_F``) and
        ``sv1 .. svd`` (singular values of ``W``, largest first).

    See: chapters/01_inductive_bias/05_implicit_regularization.
    """
    init_scale = check_positive(init_scale, "init_scale")
    depth = check_positive_int(depth, "depth")
    steps = check_positive_int(steps, "steps")
    eval_every = check_positive_int(eval_every, "eval_every")
    lr = check_positive(lr, "lr")
    if data is None:
        data = matrix_sensing_data(seed=seed)
    if not isinstance(data, MatrixSensingData):
        raise TypeError(f"data must be a MatrixSensingData, got {type(data).__name__}")
    d = data.W_star.shape[0]
    g = torch.Generator().manual_seed(int(seed) + 1000)
    factors = [(init_scale * torch.randn(d, d, generator=g) / math.sqrt(d)).requires_grad_() for _ in range(depth)]
    opt = torch.optim.SGD(factors, lr=lr)
    w_norm = float(data.W_star.norm())
    rows = []
    for step in range(steps + 1):
        W = factors[0]
        for F_ in factors[1:]:
            W = F_ @ W
        loss = 0.5 * ((data.A * W).sum((1, 2)) - data.y).pow(2).mean()
        if step % eval_every == 0 or step == steps:
            Wd = W.detach()
            sv = torch.linalg.svdvals(Wd).tolist()
            row = {"step": step, "loss": float(loss.detach()), "rel_error": float((Wd - data.W_star).norm()) / w_norm}
            row.update({f"sv{i + 1}": s for i, s in enumerate(sv)})
            rows.append(row)
        if step == steps:
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return pd.DataFrame(rows)


def learning_times(history: pd.DataFrame, targets: Sequence[float], level: float = 0.5) -> list[float]:
    """First step at which each singular value reaches ``level`` times its target.

    Args:
        history: from :func:`matrix_sensing_run` (columns ``step``, ``sv1``, ``sv2``, ...).
        targets: target singular values, largest first (``sv1`` is compared with
            ``targets[0]``, and so on).
        level: fraction of the target, in (0, 1].

    Returns:
        One step per target (``inf`` if never reached).

    See: chapters/01_inductive_bias/05_implicit_regularization.
    """
    level = check_fraction(level, "level")
    if not isinstance(history, pd.DataFrame) or "step" not in history:
        raise ValueError("history must be a DataFrame with a 'step' column")
    out = []
    for i, t in enumerate(targets):
        col = f"sv{i + 1}"
        if col not in history:
            raise ValueError(f"history has no column {col!r} for target {i + 1}")
        hit = history.loc[history[col] >= level * float(t), "step"]
        out.append(float(hit.iloc[0]) if len(hit) else math.inf)
    return out


def effective_rank(W: torch.Tensor | np.ndarray) -> float:
    """Effective rank of a matrix: ``exp`` of the entropy of its normalized singular values.

    The measure of Roy and Vetterli (2007): ``p_i = s_i / sum_j s_j``,
    ``erank = exp(-sum_i p_i log p_i)``. It equals ``k`` for a matrix with ``k`` equal nonzero
    singular values and lies between 1 and the rank otherwise.

    Args:
        W: a 2-D matrix (not all zero), or a 1-D array of its singular values.

    Returns:
        The effective rank.

    See: chapters/01_inductive_bias/05_implicit_regularization.
    """
    t = W.detach().double() if isinstance(W, torch.Tensor) else torch.tensor(np.array(W, dtype=np.float64))
    if t.ndim == 2:
        s = torch.linalg.svdvals(t)
    elif t.ndim == 1:
        s = t.abs()
    else:
        raise ValueError(f"W must be a matrix or a vector of singular values, got {t.ndim} dimensions")
    if not float(s.sum()) > 0:
        raise ValueError("W must not be all zero")
    p = s / s.sum()
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def plot_incremental_learning(history: pd.DataFrame, targets: Sequence[float], k: int | None = None, ax=None):
    """Top singular values of the learned matrix over training, with the targets dotted.

    Args:
        history: from :func:`matrix_sensing_run`.
        targets: the true singular values (largest first).
        k: how many singular values to draw (default ``len(targets) + 2``).
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.

    See: chapters/01_inductive_bias/05_implicit_regularization.
    """
    if not isinstance(history, pd.DataFrame) or "sv1" not in history:
        raise ValueError("history must come from matrix_sensing_run")
    ax = get_axes(ax)
    k = len(targets) + 2 if k is None else check_positive_int(k, "k")
    for i in range(k):
        col = f"sv{i + 1}"
        if col not in history:
            break
        style = "-" if i < len(targets) else ":"
        ax.plot(history["step"], history[col], style, color=f"C{i}", label=f"singular value {i + 1}")
        if i < len(targets):
            ax.axhline(float(targets[i]), color=f"C{i}", ls=":", lw=1)
    ax.set_xlabel("gradient step")
    ax.set_ylabel("singular value of W")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


# ======================================================================================
# Generative models: mode interpolation in a tiny diffusion model
# ======================================================================================
def grid_centers(k: int = 3, spacing: float = 1.0) -> torch.Tensor:
    """Centres of a ``k x k`` square grid in the plane, centred on the origin.

    Args:
        k: points per side (>= 1).
        spacing: distance between neighbouring centres (> 0).

    Returns:
        Tensor of shape ``(k * k, 2)``.

    See: chapters/01_inductive_bias/08_generative_models.
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

    See: chapters/01_inductive_bias/08_generative_models.
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

    See: chapters/01_inductive_bias/08_generative_models.
    """
    T = check_positive_int(T, "T", 2)
    betas = torch.linspace(1e-4, min(0.02 * 1000 / T, 0.5), T)
    alphas = 1 - betas
    return {"betas": betas, "alphas": alphas, "alpha_bars": torch.cumprod(alphas, 0)}


class TinyDenoiser(nn.Module):
    """A small MLP that predicts the noise ``eps`` from ``(x_t, t)`` for 2-D data.

    The step ``t`` enters through sines and cosines of ``pi * f * t / T`` for ``f = 1..n_freqs``;
    three hidden layers of ``width`` SiLU units.

    See: chapters/01_inductive_bias/08_generative_models.
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

    See: chapters/01_inductive_bias/08_generative_models.
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

    See: chapters/01_inductive_bias/08_generative_models.
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

    See: chapters/01_inductive_bias/08_generative_models.
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

    See: chapters/01_inductive_bias/08_generative_models.
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

    See: chapters/01_inductive_bias/08_generative_models.
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

    See: chapters/01_inductive_bias/08_generative_models.
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

    See: chapters/01_inductive_bias/08_generative_models.
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

    See: chapters/01_inductive_bias/08_generative_models.
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

    See: chapters/01_inductive_bias/08_generative_models.
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
