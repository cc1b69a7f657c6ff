"""Section 1.7, Grokking: generalization long after memorization (``chapters/01_inductive_bias/07_grokking.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from ..claims import Claim, Control, at_least, at_most, increasing
from ..core import resolve_device, train
from ..plotting import get_axes
from ..validation import (
    check_fraction,
    check_positive,
    check_positive_int,
)

__all__ = [
    "ModularData",
    "modular_addition_data",
    "ModularAdditionMLP",
    "grokking_run",
    "grokking_steps",
    "grokking_delay",
    "max_test_accuracy",
    "embedding_spectrum",
    "fourier_power_share",
    "linear_grokking_run",
    "LINEAR_SAMPLE_SIZES",
    "plot_grokking",
    "plot_embedding_spectrum",
]


@dataclass
class ModularData:
    """All pairs ``(a, b)`` of ``Z_p`` with label ``(a + b) mod p``, split into train/test.
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
    device: torch.device | str | None = None,
) -> tuple[pd.DataFrame, ModularAdditionMLP]:
    """Train :class:`ModularAdditionMLP` full-batch with AdamW and record train/test accuracy.

    Args:
        p, train_frac: the task (see :func:`modular_addition_data`).
        weight_decay: AdamW's decoupled weight decay (grokking needs it).
        steps, lr, emb_dim, hidden, eval_every: training settings.
        seed: seed of the split and the initialization.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        ``(history, model)``; history columns ``step``, ``loss``, ``train_acc``, ``test_acc``.
    """
    device = resolve_device(device)
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


def grokking_delay(history: pd.DataFrame, train_level: float = 0.99, test_level: float = 0.9) -> float:
    """How many times later test accuracy reaches ``test_level`` than training accuracy
    reaches ``train_level``: the ``ratio`` of :func:`grokking_steps`, for a run that does
    generalize.

    Args:
        history: with columns ``step``, ``train_acc``, ``test_acc``.
        train_level, test_level: accuracy thresholds.

    Returns:
        ``t_test / t_train``; NaN when either level is never reached within the run (a run
        that never generalizes has no delay to measure).
    """
    g = grokking_steps(history, train_level, test_level)
    if not (math.isfinite(g["t_train"]) and math.isfinite(g["t_test"])) or g["t_train"] <= 0:
        return math.nan
    return float(g["ratio"])


def max_test_accuracy(history: pd.DataFrame) -> float:
    """The highest test accuracy a run ever reached.

    Args:
        history: with a ``test_acc`` column.

    Returns:
        ``max(test_acc)``.
    """
    if not isinstance(history, pd.DataFrame) or "test_acc" not in history or history.empty:
        raise ValueError("history must be a non-empty DataFrame with a 'test_acc' column")
    return float(history.test_acc.max())


def embedding_spectrum(embedding: torch.Tensor) -> np.ndarray:
    """Share of an embedding table's power at each frequency ``k = 1..p // 2``.

    The rows of ``embedding`` are indexed by residues ``0..p-1``; the discrete Fourier
    transform along that axis measures how much of the table is made of waves
    ``cos(2 pi k a / p + phase)``.

    Args:
        embedding: tensor of shape ``(p, d)``.

    Returns:
        Array of length ``p // 2`` that sums to 1.
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
    device: torch.device | str | None = None,
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
        device: where to run (``None``: the GPU when present, else the CPU); the data are
            drawn on the CPU, so a seed gives the same run everywhere.

    Returns:
        History with ``step``, ``train_loss``, ``test_loss``, ``train_acc``, ``test_acc``.
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
    dev = resolve_device(device)
    Xtr, Xte, ytr, yte, w = (t.to(dev) for t in (Xtr, Xte, ytr, yte, w))
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


def plot_grokking(histories: dict[str, pd.DataFrame], ax=None):
    """Train (dashed) and test (solid) accuracy over steps on a log axis, one colour per run.

    Args:
        histories: ``{label: history}`` from :func:`grokking_run`.
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.
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


# --------------------------------------------------------------------------------------
# the section's runner and claims
# --------------------------------------------------------------------------------------
LINEAR_SAMPLE_SIZES = (800, 400, 300, 220)  # d = 200: d/N = 0.25, 0.5, 0.67, 0.91


def run(seed: int = 0, device: torch.device | str | None = None) -> dict[str, object]:
    """What section 1.7 checks, for one seed.

    Args:
        seed: seed of the splits, initializations and data.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        ``histories``: ``{label: grokking_run(...) history}`` for ``"wd=1.0, 60% train"`` and
        ``"wd=0, 60% train"`` (4,000 full-batch AdamW steps on addition mod 47);
        ``embeddings``: the two trained embedding tables under the same labels; ``linear``:
        ``{N: linear_grokking_run(d=200, n_train=N)}`` for :data:`LINEAR_SAMPLE_SIZES`. (The run
        with 40% of the pairs is an exercise on the page, not checked.)
    """
    histories, embeddings = {}, {}
    for label, wd in (("wd=1.0, 60% train", 1.0), ("wd=0, 60% train", 0.0)):
        h, model = grokking_run(p=47, train_frac=0.6, weight_decay=wd, steps=4000, eval_every=50, seed=seed,
                                device=device)
        histories[label], embeddings[label] = h, model.embed.weight.detach().cpu()
    linear = {n: linear_grokking_run(d=200, n_train=n, steps=3000, seed=seed, device=device) for n in LINEAR_SAMPLE_SIZES}
    return {"histories": histories, "embeddings": embeddings, "linear": linear}


def _linear_delays(linear: dict[int, pd.DataFrame]) -> tuple[float, ...]:
    """The delay ratios of the linear model (95% levels), from the most to the fewest samples."""
    return tuple(grokking_steps(linear[n], 0.95, 0.95)["ratio"] for n in sorted(linear, reverse=True))


CLAIMS = (
    Claim(
        key="inductive_bias.grokking.delayed_generalization",
        statement="With weight decay 1.0 the network reaches 99% training accuracy at least 3 times "
                  "earlier than 90% test accuracy: it memorizes first and generalizes much later.",
        cite=("grokking_generalization_overfitting",),
        paper_result="on small algorithmic tables (modular arithmetic among them) validation accuracy "
                     "jumps from chance to near 100% long after training accuracy reached 100%, up to "
                     "orders of magnitude more steps later; weight decay shortens the wait most",
        paper_where="Fig. 1, and its comparison of regularizers",
        run=run,
        measure=grokking_delay,
        world=lambda r: r["histories"]["wd=1.0, 60% train"],
        predicate=at_least(3.0),
        controls=(Control("no weight decay",
                          "the same network and data without weight decay: it memorizes the training "
                          "pairs and never generalizes within the budget, so there is no delay to "
                          "measure (NaN)",
                          lambda r: r["histories"]["wd=0, 60% train"]),),
        note="delay: step of 90% test accuracy over step of 99% training accuracy; 4,000 steps",
    ),
    Claim(
        key="inductive_bias.grokking.weight_decay_needed",
        statement="Without weight decay, test accuracy stays below 10% for the whole budget of 4,000 "
                  "steps, although the training pairs are memorized.",
        cite=("grokking_generalization_overfitting", "feature_emergence_margin"),
        paper_result="weight decay is the intervention that most speeds up generalization on the "
                     "algorithmic tasks; the generalizing solution is the max-margin, low-norm one "
                     "that weight decay pushes training toward",
        paper_where="the comparison of regularizers of the first paper; the margin analysis of the second",
        run=run,
        measure=max_test_accuracy,
        world=lambda r: r["histories"]["wd=0, 60% train"],
        predicate=at_most(0.1),
        controls=(Control("weight decay 1.0",
                          "the same run with weight decay, which generalizes",
                          lambda r: r["histories"]["wd=1.0, 60% train"]),),
        note="the highest test accuracy over the run (chance is 1/47 = 0.021)",
    ),
    Claim(
        key="inductive_bias.grokking.fourier_embedding",
        statement="The grokked network's embedding puts at least half of its power in its 6 strongest "
                  "of 23 frequencies (a random table: about 0.26).",
        cite=("nanda_progress_measures_2023", "feature_emergence_margin"),
        paper_result="a network that generalizes on modular addition represents residues by a few "
                     "Fourier features cos(2 pi k a / p) and adds them with trigonometric identities",
        paper_where="the reverse-engineered algorithm of the first paper; the max-margin analysis of the second",
        run=run,
        measure=fourier_power_share,
        world=lambda r: r["embeddings"]["wd=1.0, 60% train"],
        predicate=at_least(0.5),
        controls=(Control("no weight decay",
                          "the embedding of the memorizing network trained without weight decay",
                          lambda r: r["embeddings"]["wd=0, 60% train"]),),
        observation=True,
        note="an observation: the share (DFT along the residue axis, 6 strongest frequencies) is "
             "0.51-0.66 on nine of seeds 0-9 and 0.45 on seed 7; without weight decay it is 0.31-0.38",
    ),
    Claim(
        key="inductive_bias.grokking.linear_delay",
        statement="In the linear teacher-student model with d/N = 0.91, test accuracy reaches 95% at "
                  "least 3 times later than training accuracy.",
        cite=("grokking_linear_estimators",),
        paper_result="with accuracy defined by a threshold on the squared error, linear regression "
                     "trained by gradient descent shows grokking, a delay of test accuracy behind "
                     "training accuracy that grows as d/N approaches 1, while the test error falls "
                     "smoothly",
        paper_where="the analysis of the grokking time in terms of d/N",
        run=run,
        measure=lambda h: grokking_steps(h, 0.95, 0.95)["ratio"],
        world=lambda r: r["linear"][220],
        predicate=at_least(3.0),
        controls=(Control("d/N = 0.25",
                          "the same model with four samples per dimension: the test error falls almost "
                          "as fast as the training error, so there is little delay",
                          lambda r: r["linear"][800]),),
        note="accuracy: share of samples with squared error below 0.01; d = 200, N = 220 (control N = 800)",
    ),
    Claim(
        key="inductive_bias.grokking.linear_delay_order",
        statement="The linear model's delay grows with every step of d/N from 0.25 through 0.5 and "
                  "0.67 to 0.91.",
        cite=("grokking_linear_estimators",),
        paper_result="the grokking time grows with d/N and diverges as d/N approaches 1",
        paper_where="the analysis of the grokking time in terms of d/N",
        run=run,
        measure=_linear_delays,
        world=lambda r: r["linear"],
        predicate=increasing(),
        observation=True,
        note="an observation: it holds on seeds 0-9, but it is an ordering over the whole sweep with no "
             "world where it should be absent (the d/N = 0.25 control is one of its points)",
    ),
)
