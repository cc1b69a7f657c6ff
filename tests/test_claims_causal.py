"""Every causal section's claim, re-checked with seeds 1 and 2 (the notebooks run seed 0).

Same biaslab calls, same settings and thresholds as the notebooks.
"""

import os
import pytest

from biaslab import causal as ca
from biaslab import datasets

# Seeds 1 and 2 by default; BIASLAB_CLAIM_SEEDS="3,4" re-checks every claim with other seeds.
SEEDS = [int(s) for s in os.environ.get("BIASLAB_CLAIM_SEEDS", "1,2").split(",")]


@pytest.mark.parametrize("seed", SEEDS)
def test_identifiable_vae_claim(seed):
    data = ca.segment_sources(n_segments=40, n_per_segment=100, n_sources=5, obs_dim=10, seed=seed)
    vae = ca.fit_latent_model(data, identifiable=False, seed=seed)
    ivae = ca.fit_latent_model(data, identifiable=True, seed=seed)
    assert ivae >= 0.9, (ivae, vae)
    assert ivae - vae >= 0.05, (ivae, vae)


@pytest.mark.parametrize("seed", SEEDS)
def test_intervention_extrapolation_claim(seed):
    tab = ca.intervention_extrapolation(n=5000, action_range=1.5, noise=0.7, lam=10.0, steps=1000, seed=seed)
    mse = ca.extrapolation_mse(tab, lo=2.0)
    assert mse["Rep4Ex"] <= 0.2 * mse["MLP from A"], mse
