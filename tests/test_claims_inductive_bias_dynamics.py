"""Claims of sections 05 (implicit regularization) and 08 (generative models) of chapter 1,
re-checked with seeds 1 and 2 (the notebooks run seed 0), same settings and thresholds."""

import os
import pytest

from biaslab import inductive_bias as ib

# Seeds 1 and 2 by default; BIASLAB_CLAIM_SEEDS="3,4" re-checks every claim with other seeds.
SEEDS = [int(s) for s in os.environ.get("BIASLAB_CLAIM_SEEDS", "1,2").split(",")]


@pytest.mark.parametrize("seed", SEEDS)
def test_edge_of_stability_claims(seed):
    for lr in (0.1, 0.2, 0.4):
        h = ib.sharpness_run(lr, steps=2000, seed=seed)
        late = h[h.step >= 1000].sharpness / (2 / lr)
        assert h.sharpness.iloc[0] < 0.6 * 2 / lr, (lr, h.sharpness.iloc[0])
        assert 0.85 <= late.min() and late.max() <= 1.15, (lr, late.min(), late.max())
    sgd = ib.sharpness_run(0.2, steps=2000, batch_size=10, seed=seed)
    late_sgd = sgd[sgd.step >= 1000].sharpness.max() / 10
    assert late_sgd <= 0.8, late_sgd


@pytest.mark.parametrize("seed", SEEDS)
def test_incremental_learning_claims(seed):
    data = ib.matrix_sensing_data(
        d=16, singular_values=(4.0, 2.0, 1.0), n_measurements=200, seed=seed, measurements="orthogonal"
    )
    small = ib.matrix_sensing_run(1e-3, data=data, steps=3000, lr=0.02, eval_every=1, seed=seed)
    large = ib.matrix_sensing_run(1.0, data=data, steps=3000, lr=0.02, eval_every=1, seed=seed)
    t = ib.learning_times(small, data.singular_values, level=0.5)
    assert t[1] >= 1.3 * t[0] and t[2] >= 1.3 * t[1], t
    cols = [f"sv{i}" for i in range(1, 17)]
    er_small = ib.effective_rank(small[cols].iloc[-1].to_numpy(float))
    er_large = ib.effective_rank(large[cols].iloc[-1].to_numpy(float))
    assert er_small <= 3.5 and small.rel_error.iloc[-1] <= 0.05, (er_small, small.rel_error.iloc[-1])
    assert er_large >= 6 and large.rel_error.iloc[-1] >= 0.2, (er_large, large.rel_error.iloc[-1])


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
