"""Section 3.6, Individual and causal fairness (``chapters/03_fairness/06_individual_causal.md``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from ..core import make_mlp, resolve_device, train
from ..validation import (
    as_1d,
    check_positive_int,
    check_probabilities,
)
from ._shared import _ce

__all__ = [
    "make_latent_twins",
    "singular_value_threshold",
    "twin_gap",
    "make_fairness_scm",
    "counterfactual_flip",
    "explanation_fidelity_gap",
]


def make_latent_twins(
    n_pairs: int = 300, d: int = 100, rank: int = 3, noise: float = 1.0, seed: int = 0,
    label_scale: float | None = None,
) -> dict[str, np.ndarray]:
    """Noisy observations of a low-rank population, with every individual present twice.

    A latent matrix ``M = U V^T`` (rank ``rank``) describes ``n_pairs`` individuals by
    ``d`` features; each individual is observed twice with independent noise (sd ``noise``),
    giving *latent twins*: two rows that describe the same person. The label depends on the
    latent row only, through the score ``z = M w`` (standardized): ``y = 1[z > 0]`` when
    ``label_scale`` is None, else ``y ~ Bernoulli(sigmoid(label_scale * z))`` (an outcome that
    is noisy given the profile), drawn once per individual so twins share it.

    Args:
        n_pairs: individuals (the data have 2 * n_pairs rows).
        d: observed features.
        rank: rank of the latent matrix.
        noise: observation noise.
        seed: seeds everything.
        label_scale: slope of the logistic link; None for a deterministic label.

    Returns:
        ``{"X": (2n, d), "y": (2n,), "twin": (2n,) index of the individual, "M": (2n, d)}``.
    """
    n_pairs = check_positive_int(n_pairs, "n_pairs")
    rng = np.random.default_rng(seed)
    U = rng.normal(size=(n_pairs, rank))
    V = rng.normal(size=(d, rank)) / np.sqrt(rank)
    M = U @ V.T
    w = rng.normal(size=d)
    if label_scale is None:
        y = (M @ w > 0).astype(int)
    else:
        if not label_scale > 0:
            raise ValueError(f"label_scale must be > 0 or None, got {label_scale}")
        z = M @ w
        y = (rng.random(n_pairs) < 1 / (1 + np.exp(-label_scale * z / z.std()))).astype(int)
    M2 = np.concatenate([M, M])
    X = M2 + noise * rng.normal(size=M2.shape)
    return {"X": X, "y": np.concatenate([y, y]), "twin": np.concatenate([np.arange(n_pairs)] * 2), "M": M2}


def singular_value_threshold(X: np.ndarray, rank: int | None = None, threshold: float | None = None) -> np.ndarray:
    """Denoise a data matrix by keeping only its large singular values (SVT).

    Give either ``rank`` (keep the top ``rank`` singular values) or ``threshold`` (keep
    singular values above it). Columns are centred before and the means restored after.

    Args:
        X: data matrix (n, d).
        rank: number of singular values kept.
        threshold: singular-value threshold.

    Returns:
        The denoised matrix, same shape as ``X``.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D matrix, got shape {X.shape}")
    if (rank is None) == (threshold is None):
        raise ValueError("give exactly one of rank and threshold")
    mu = X.mean(0)
    Uu, S, Vt = np.linalg.svd(X - mu, full_matrices=False)
    keep = np.arange(len(S)) < check_positive_int(rank, "rank") if rank is not None else S > threshold
    return (Uu[:, keep] * S[keep]) @ Vt[keep] + mu


def twin_gap(prob: Any, twin: Any) -> float:
    """Mean absolute difference in predicted probability between latent twins.

    Args:
        prob: predicted probabilities, one per row.
        twin: the individual each row belongs to (each individual appears exactly twice).

    Returns:
        The mean over individuals of ``|p(row 1) - p(row 2)|``.
    """
    p = check_probabilities(prob, "prob")
    t = as_1d(twin, "twin")
    if len(t) != len(p):
        raise ValueError(f"prob and twin must have the same length, got {len(p)} and {len(t)}")
    df = pd.DataFrame({"t": t, "p": p})
    counts = df.groupby("t").size()
    if not (counts == 2).all():
        raise ValueError("every individual must appear exactly twice in twin")
    return float(df.groupby("t")["p"].agg(lambda v: abs(v.iloc[0] - v.iloc[1])).mean())


def make_fairness_scm(n: int = 5000, effect: float = 1.0, seed: int = 0) -> dict[str, np.ndarray]:
    """A small structural causal model for counterfactual fairness (Kusner et al., 2017).

    ``A ~ Bernoulli(0.5)`` (protected), ``K ~ N(0, 1)`` (a latent ability, independent of A),
    ``X1 = K + effect * A + e1`` (observed, a descendant of A), ``X2 = K + e2`` (observed,
    not a descendant of A), ``Y = 1[K + e_y > 0]`` (the outcome depends on K only). The noises are returned so
    that counterfactuals can be computed exactly.

    Args:
        n: samples.
        effect: how strongly A shifts the observed features.
        seed: seeds everything.

    Returns:
        ``{"A", "K", "X" (n, 2), "Y", "noise" (n, 2), "effect"}``.
    """
    n = check_positive_int(n, "n")
    rng = np.random.default_rng(seed)
    A = rng.integers(0, 2, n)
    K = rng.normal(size=n)
    e = 0.5 * rng.normal(size=(n, 2))
    X = np.stack([K + effect * A + e[:, 0], K + e[:, 1]], 1)
    Y = (K + 0.5 * rng.normal(size=n) > 0).astype(int)
    return {"A": A, "K": K, "X": X, "Y": Y, "noise": e, "effect": np.array(effect)}


def counterfactual_flip(scm: dict[str, np.ndarray]) -> np.ndarray:
    """The observed features each individual would have had with the protected attribute
    flipped, all else (K and the noises) held fixed: abduction, action, prediction.

    Args:
        scm: the output of :func:`make_fairness_scm`.

    Returns:
        Counterfactual features, shape of ``scm["X"]``.
    """
    A1 = 1 - scm["A"]
    e, K, b = scm["noise"], scm["K"], float(scm["effect"])
    return np.stack([K + b * A1 + e[:, 0], K + e[:, 1]], 1)


def explanation_fidelity_gap(
    shift_degrees: float, n: int = 4000, minority: float = 0.2, steps: int = 300, seed: int = 0,
    device: torch.device | str | None = None,
) -> dict[str, float]:
    """Fidelity of one global linear explanation of a black box, per group, under concept shift.

    Two groups share the input distribution (2-D Gaussian) but not the concept: the label
    is ``1[x . w_g > 0]`` with the minority group's ``w`` rotated by ``shift_degrees``. An
    MLP is trained on the pooled data (group given as a feature); a logistic-regression
    surrogate is then fitted to the MLP's *predictions* from ``x`` alone (a post hoc global
    explanation). Fidelity is the share of points where surrogate and MLP agree, per group.

    Args:
        shift_degrees: rotation of the minority group's decision boundary (0: no shift).
        n: samples.
        minority: share of the minority group.
        steps: MLP training steps.
        seed: seeds everything.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        ``{"fidelity majority", "fidelity minority", "gap"}``.
    """
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    g = (rng.random(n) < minority).astype(int)
    x = rng.normal(size=(n, 2))
    th = np.deg2rad(shift_degrees)
    w = np.where(g[:, None] == 1, [np.cos(th), np.sin(th)], [1.0, 0.0])
    y = ((x * w).sum(1) > 0).astype(int)
    feats = np.c_[x, g].astype(np.float32)
    torch.manual_seed(seed)
    model = make_mlp(3, 2, width=32, depth=2)
    train(model, torch.as_tensor(feats), torch.as_tensor(y), _ce, steps=steps, lr=1e-2, seed=seed,
          eval_every=steps, device=resolve_device(device))
    with torch.no_grad():
        pred = model(torch.as_tensor(feats).to(next(model.parameters()).device)).argmax(1).cpu().numpy()
    sur = LogisticRegression().fit(x, pred).predict(x)
    agree = sur == pred
    fa_maj, fa_min = float(agree[g == 0].mean()), float(agree[g == 1].mean())
    return {"fidelity majority": fa_maj, "fidelity minority": fa_min, "gap": fa_maj - fa_min}
