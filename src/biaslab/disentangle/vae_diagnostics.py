"""Section 5.2, VAE diagnostics: traversals, active units and passive variables (``chapters/05_disentanglement/02_vae_diagnostics.md``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..datasets.sprites import Sprites
from ._shared import (
    SpriteAutoencoder,
    _as_codes,
    active_units,
    encode,
    factor_entropies,
    mutual_info_matrix,
)

__all__ = [
    "passive_correlations",
    "vae_diagnostics",
    "name_dimensions",
]


def passive_correlations(codes: np.ndarray, active: np.ndarray) -> dict[str, float]:
    """Largest absolute Pearson correlation between two passive dimensions, and between two
    active dimensions, of a set of codes.

    Args:
        codes: ``(n, d)`` codes (means or samples).
        active: boolean mask ``(d,)`` from :func:`active_units`.

    Returns:
        ``{"passive": max |corr| among passive pairs, "active": among active pairs}``
        (NaN when a group has fewer than two dimensions).
    """
    codes = _as_codes(codes)
    active = np.asarray(active, dtype=bool)
    if active.shape != (codes.shape[1],):
        raise ValueError(f"active must have one entry per latent dimension ({codes.shape[1]}), got {active.shape}")

    def max_corr(cols: np.ndarray) -> float:
        if cols.shape[1] < 2:
            return float("nan")
        c = np.corrcoef(cols, rowvar=False)
        c = np.nan_to_num(c)
        np.fill_diagonal(c, 0)
        return float(np.abs(c).max())

    return {"passive": max_corr(codes[:, ~active]), "active": max_corr(codes[:, active])}


def vae_diagnostics(model: SpriteAutoencoder, data: Sprites, seed: int = 0,
                    threshold: float = 0.01) -> dict[str, float]:
    """Active-unit count and the mean-vs-sampled correlation test of passive variables.

    Args:
        model: a trained VAE.
        data: the sprites.
        seed: seed of the posterior samples.
        threshold: variance threshold of :func:`active_units`.

    Returns:
        ``{"active units", "passive, mean", "passive, sampled", "active, mean",
        "active, sampled"}``: the count, then the largest absolute correlation between two
        passive (or two active) dimensions of the mean and of the sampled codes.
    """
    if model.kind != "vae":
        raise ValueError("vae_diagnostics needs a VAE (kind='vae')")
    act = active_units(model, data, threshold)
    mean = passive_correlations(encode(model, data), act)
    samp = passive_correlations(encode(model, data, sampled=True, seed=seed), act)
    return {"active units": int(act.sum()), "passive, mean": mean["passive"], "passive, sampled": samp["passive"],
            "active, mean": mean["active"], "active, sampled": samp["active"]}


def name_dimensions(codes: np.ndarray, data: Sprites) -> pd.DataFrame:
    """For each latent dimension, the factor it is most informative about and how much.

    Returns:
        DataFrame with one row per dimension: ``factor`` (name) and ``NMI`` (mutual
        information divided by the factor's entropy).
    """
    nmi = mutual_info_matrix(codes, data.factors) / np.maximum(factor_entropies(data.factors), 1e-12)
    best = nmi.argmax(1)
    return pd.DataFrame({"factor": [data.factor_names[j] for j in best], "NMI": nmi.max(1)},
                        index=[f"z{i}" for i in range(len(best))])
