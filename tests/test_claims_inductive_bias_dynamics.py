"""Claims of section 08 (generative models) of chapter 1,
re-checked with seeds 1 and 2 (the notebooks run seed 0), same settings and thresholds."""

import os
import pytest

from biaslab import inductive_bias as ib

# Seeds 1 and 2 by default; BIASLAB_CLAIM_SEEDS="3,4" re-checks every claim with other seeds.
SEEDS = [int(s) for s in os.environ.get("BIASLAB_CLAIM_SEEDS", "1,2").split(",")]


@pytest.mark.parametrize("seed", SEEDS)
def test_mode_interpolation_claims(seed):
    from sklearn.metrics import roc_auc_score

    X, centers = ib.gaussian_grid_data(n=1000, k=3, spacing=1.0, sigma=0.05, seed=seed)
    model, _ = ib.train_ddpm(X, T=100, steps=8000, lr=3e-3, batch_size=128, seed=seed)
    samples, x0_var = ib.ddpm_sample(model, n=10000, seed=100 + seed, track_last=5)
    gap = (ib.distance_to_modes(samples, centers) > 0.25).numpy()
    assert gap.mean() >= 5 * 1e-3 and 1 - gap.mean() >= 0.85, gap.mean()
    A, B = centers[0].tolist(), centers[1].tolist()
    df = ib.denoiser_along_segment(model, A, B, t=3, centers=centers, sigma=0.05)

    def jump(col):
        return float(df[col][(df.u - 0.55).abs().idxmin()] - df[col][(df.u - 0.45).abs().idxmin()])

    assert jump("exact") >= 0.6 and jump("learned") <= 0.4, (jump("exact"), jump("learned"))
    auc = roc_auc_score(gap, x0_var.numpy())
    assert auc >= 0.75, auc
