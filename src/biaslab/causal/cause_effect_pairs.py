"""Section 4.2, Which way does the arrow point? (``chapters/04_causal_representation_learning/02_cause_effect_pairs.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..validation import as_1d, check_positive_int

__all__ = [
    "spacing_entropy",
    "conditional_nll",
    "direction_score",
    "location_scale_pair",
    "orientation_accuracy",
    "tuebingen_orientation",
]


def _standardize(a: np.ndarray) -> np.ndarray:
    sd = a.std()
    if sd == 0:
        raise ValueError("a variable is constant: its direction cannot be scored")
    return (a - a.mean()) / sd


def spacing_entropy(x: Any, min_spacing: float = 1e-3) -> float:
    """Differential entropy of a sample by the m-spacing (Vasicek) estimator, in nats.

    Args:
        x: a one-dimensional sample.
        min_spacing: floor on the spacings, so that repeated values (discrete data) do not
            give ``log 0``.

    Returns:
        The estimated entropy.
    """
    a = np.sort(as_1d(x, "x", min_length=20, finite=True))
    n = len(a)
    m = max(1, int(round(np.sqrt(n) / 2)))
    i = np.arange(n)
    gaps = a[np.clip(i + m, 0, n - 1)] - a[np.clip(i - m, 0, n - 1)]
    return float(np.mean(np.log(n / (2 * m) * np.maximum(gaps, min_spacing))))


def conditional_nll(x: Any, y: Any, scale: bool = True, n_knots: int = 8, alpha: float = 1e-2, iters: int = 3) -> float:
    """Average Gaussian negative log-likelihood of ``y`` given ``x`` under a noise model.

    The mean ``f(x)`` (and, with ``scale=True``, the log-variance ``log g(x)^2``) is a cubic
    spline in ``x`` fitted by ridge regression; the scale model is refitted ``iters`` times
    with inverse-variance weights for the mean.

    Args:
        x, y: one-dimensional samples of equal length (standardize them first).
        scale: ``True`` for a location-scale model ``y = f(x) + g(x) eps``, ``False`` for the
            homoscedastic additive-noise model ``y = f(x) + sigma eps``.
        n_knots, alpha: spline knots and ridge penalty.
        iters: reweighting rounds of the location-scale fit.

    Returns:
        The mean negative log-likelihood per sample, in nats.
    """
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import SplineTransformer

    x, y = as_1d(x, "x", min_length=20, finite=True), as_1d(y, "y", min_length=20, finite=True)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    B = SplineTransformer(n_knots=n_knots, degree=3).fit_transform(x[:, None])
    w = np.ones_like(y)
    for _ in range(iters if scale else 1):
        mu = Ridge(alpha=alpha).fit(B, y, sample_weight=w).predict(B)
        r = y - mu
        if not scale:
            return float(0.5 * (np.log(2 * np.pi * max(r.var(), 1e-12)) + 1))
        # E[log chi^2_1] = -1.27: undo the bias of regressing log squared residuals
        v = np.exp(Ridge(alpha=alpha).fit(B, np.log(r**2 + 1e-8)).predict(B) + 1.27)
        w = 1 / v
    v = v * np.mean(r**2 / v)  # calibrate the overall scale
    return float(0.5 * np.mean(np.log(2 * np.pi * v) + r**2 / v))


def direction_score(x: Any, y: Any, scale: bool = True) -> float:
    """Log-likelihood evidence for ``x -> y`` over ``y -> x`` (positive: ``x`` causes ``y``).

    Each direction is scored by the negative log-likelihood of its factorization, the
    marginal of the putative cause (:func:`spacing_entropy`) plus the conditional of the
    effect (:func:`conditional_nll`), after standardizing both variables.

    Args:
        x, y: one-dimensional samples of equal length.
        scale: location-scale (``True``) or homoscedastic additive-noise (``False``) model.

    Returns:
        ``nll(y -> x) - nll(x -> y)`` per sample, in nats.
    """
    x, y = _standardize(as_1d(x, "x", min_length=20, finite=True)), _standardize(as_1d(y, "y", min_length=20, finite=True))
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    forward = spacing_entropy(x) + conditional_nll(x, y, scale)
    backward = spacing_entropy(y) + conditional_nll(y, x, scale)
    return backward - forward


def location_scale_pair(n: int = 1000, heteroscedasticity: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A random cause-effect pair ``y = f(x) + g(x) eps`` with ``g(x) = 0.3 exp(h s x)``.

    The cause is Gaussian or uniform, ``f`` a random mix of a tanh, a line and a parabola,
    and the noise scale grows exponentially along ``x`` (or against it) at rate
    ``h = heteroscedasticity`` times a random factor in [0.75, 1.25]; ``h = 0`` gives an
    additive-noise pair.

    Args:
        n: samples.
        heteroscedasticity: ``h >= 0``.
        seed: seeds everything.

    Returns:
        ``(x, y)``, with ``x`` the cause.
    """
    n = check_positive_int(n, "n", minimum=20)
    if heteroscedasticity < 0:
        raise ValueError(f"heteroscedasticity must be >= 0, got {heteroscedasticity}")
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n) if rng.random() < 0.5 else rng.uniform(-2, 2, size=n)
    a, b, c, q, d = rng.normal(size=5)
    f = a * np.tanh(b * x) + c * x + 0.3 * q * x**2
    g = 0.3 * np.exp(heteroscedasticity * np.sign(d) * x * rng.uniform(0.75, 1.25))
    return x, f + g * rng.normal(size=n)


def orientation_accuracy(
    heteroscedasticity: float, n_pairs: int = 50, n: int = 1000, seed: int = 0
) -> dict[str, float]:
    """Fraction of random pairs whose direction each score gets right.

    Args:
        heteroscedasticity: passed to :func:`location_scale_pair`.
        n_pairs: pairs to score.
        n: samples per pair.
        seed: pair ``i`` uses seed ``1000 * seed + i``.

    Returns:
        ``{"location-scale": accuracy, "additive (homoscedastic)": accuracy}``.
    """
    n_pairs = check_positive_int(n_pairs, "n_pairs")
    hits = {"location-scale": 0, "additive (homoscedastic)": 0}
    for i in range(n_pairs):
        x, y = location_scale_pair(n, heteroscedasticity, seed=1000 * int(seed) + i)
        hits["location-scale"] += direction_score(x, y, scale=True) > 0
        hits["additive (homoscedastic)"] += direction_score(x, y, scale=False) > 0
    return {k: v / n_pairs for k, v in hits.items()}


def tuebingen_orientation(pairs: Sequence[Any], max_n: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Score every Tuebingen pair in both directions with both noise models.

    Args:
        pairs: :func:`biaslab.datasets.causal_data.load_tuebingen_pairs` (objects with ``name``,
            ``cause`` and ``effect``).
        max_n: pairs with more samples are subsampled to this many (seeded).
        seed: seeds the subsampling.

    Returns:
        A DataFrame indexed by pair name with the sample size and, per model, the score of
        ``cause -> effect`` and whether it is positive (correct).
    """
    rng = np.random.default_rng(seed)
    rows = {}
    for p in pairs:
        n = len(p.cause)
        idx = rng.choice(n, size=min(n, max_n), replace=False)
        x, y = np.asarray(p.cause)[idx], np.asarray(p.effect)[idx]
        ls = direction_score(x, y, scale=True)
        an = direction_score(x, y, scale=False)
        rows[p.name] = {"n": n, "location-scale score": ls, "additive score": an,
                        "location-scale correct": ls > 0, "additive correct": an > 0}
    return pd.DataFrame(rows).T.infer_objects()
