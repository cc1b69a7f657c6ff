"""The synthetic applicants of section 3.5's local-fairness demo, generated in code.

``biaslab.fairness`` re-exports :func:`make_regional_bias_data`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..validation import check_nonnegative, check_positive_int

__all__ = ["make_regional_bias_data"]


def make_regional_bias_data(
    n: int = 8000,
    region_probs: Sequence[float] = (0.1, 0.3, 0.3, 0.3),
    region_bias: Sequence[float] = (2.0, 0.4, 0.4, 0.4),
    proxy_noise: float = 0.5,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Synthetic applicants whose historical labels favour one group strongly in one small
    region of the input space and weakly elsewhere: the setting of local (regional) fairness.

    Each person has a binary attribute ``s`` (not a feature), a region ``k`` (think of an
    age band; the features hold a continuous ``age``-like score inside the band and a one-hot
    code of the band), a proxy ``q = s + proxy_noise * noise``, a legitimate score ``x1`` and
    an irrelevant ``x2``. The label's log-odds are ``2.5 x1 + region_bias[k] (2 s - 1)``.

    Args:
        n: number of people.
        region_probs: share of each region (sums to 1).
        region_bias: how strongly the label favours ``s = 1`` in each region (log-odds).
        proxy_noise: noise of the proxy (smaller: the proxy reveals ``s`` better).
        seed: seeds the draw.

    Returns:
        A dict with ``X`` (n, 4 + regions) float64, ``y``, ``s`` and ``region`` int arrays.
    """
    n = check_positive_int(n, "n")
    probs = np.asarray(region_probs, dtype=float)
    bias = np.asarray(region_bias, dtype=float)
    if probs.ndim != 1 or len(probs) < 2 or (probs < 0).any() or abs(probs.sum() - 1) > 1e-9:
        raise ValueError(f"region_probs must be at least two non-negative shares summing to 1, got {region_probs!r}")
    if bias.shape != probs.shape:
        raise ValueError(f"region_bias must have one entry per region ({len(probs)}), got {len(bias)}")
    proxy_noise = check_nonnegative(proxy_noise, "proxy_noise")
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 2, n)
    k = rng.choice(len(probs), size=n, p=probs)
    score = k + rng.random(n)
    q = s + proxy_noise * rng.normal(size=n)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    logit = 2.5 * x1 + bias[k] * (2 * s - 1)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = np.column_stack([score - len(probs) / 2, q - 0.5, x1, x2, np.eye(len(probs))[k]])
    return {"X": X, "y": y, "s": s, "region": k}
