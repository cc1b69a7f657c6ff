"""Unit tests of the implicit-regularization and generative-model helpers of
biaslab.inductive_bias (sections 05 and 08 of chapter 1)."""

import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

matplotlib.use("Agg")

from biaslab import inductive_bias as ib


# ---------------------------------------------------------------- sharpness
def test_top_hessian_eigenvalue_matches_full_hessian():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    X, y = torch.randn(20, 3), torch.randn(20, 1)
    params = list(model.parameters())
    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]

    def loss_of(flat):
        chunks = torch.split(flat, sizes)
        ws = [c.reshape(s) for c, s in zip(chunks, shapes)]
        h = torch.tanh(X @ ws[0].T + ws[1])
        return 0.5 * ((h @ ws[2].T + ws[3] - y) ** 2).mean()

    flat = torch.cat([p.detach().reshape(-1) for p in params])
    H = torch.autograd.functional.hessian(loss_of, flat)
    eig = torch.linalg.eigvalsh(H)
    top = eig[eig.abs().argmax()].item()
    est = ib.top_hessian_eigenvalue(model, X, y, iters=300)
    assert est == pytest.approx(top, rel=1e-3)


def test_top_hessian_eigenvalue_of_linear_least_squares():
    # loss 0.5 * mean((Xw - y)^2) has Hessian X^T X / n
    X = torch.diag(torch.tensor([3.0, 1.0, 0.5])) * math.sqrt(3)
    model = nn.Linear(3, 1, bias=False)
    est, v = ib.top_hessian_eigenvalue(model, X, torch.zeros(3, 1), iters=50, return_vector=True)
    assert est == pytest.approx(9.0, rel=1e-4)
    assert len(v) == 1 and v[0].shape == model.weight.shape


def test_top_hessian_eigenvalue_bad_input():
    model = nn.Linear(2, 1)
    with pytest.raises(ValueError, match="same length"):
        ib.top_hessian_eigenvalue(model, torch.randn(5, 2), torch.randn(4, 1))
    with pytest.raises(ValueError, match="iters"):
        ib.top_hessian_eigenvalue(model, torch.randn(5, 2), torch.randn(5, 1), iters=0)
    with pytest.raises(ValueError, match="v0"):
        ib.top_hessian_eigenvalue(model, torch.randn(5, 2), torch.randn(5, 1), v0=[torch.randn(3)])


def test_sharpness_run_columns_and_sgd():
    h = ib.sharpness_run(0.1, steps=40, eval_every=20, seed=0)
    assert list(h.columns) == ["step", "loss", "sharpness", "lr", "two_over_lr"]
    assert h.step.tolist() == [0, 20, 40]
    assert (h.two_over_lr == 20).all() and (h.sharpness > 0).all()
    s = ib.sharpness_run(0.1, steps=20, batch_size=10, eval_every=10, seed=0)
    assert len(s) == 3
    with pytest.raises(ValueError, match="lr"):
        ib.sharpness_run(0.0)
    with pytest.raises(TypeError, match="batch_size"):
        ib.sharpness_run(0.1, batch_size=2.5)


def test_eos_data_and_model_shapes():
    X, y = ib.eos_regression_data(n=30, d=4, seed=1)
    assert X.shape == (30, 4) and y.shape == (30, 1)
    assert ib.eos_mlp(4, width=8)(X).shape == (30, 1)
    with pytest.raises(ValueError, match="n"):
        ib.eos_regression_data(n=1)


# ---------------------------------------------------------------- matrix sensing
def test_matrix_sensing_data_has_requested_spectrum():
    data = ib.matrix_sensing_data(d=8, singular_values=(2.0, 1.0), n_measurements=50, seed=0)
    s = torch.linalg.svdvals(data.W_star)
    assert torch.allclose(s[:2], torch.tensor([2.0, 1.0]), atol=1e-5) and s[2] < 1e-5
    assert data.A.shape == (50, 8, 8) and data.y.shape == (50,)
    assert torch.allclose(data.y, (data.A * data.W_star).sum((1, 2)))
    with pytest.raises(ValueError, match="singular_values"):
        ib.matrix_sensing_data(d=2, singular_values=(1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="singular_values"):
        ib.matrix_sensing_data(singular_values=(1.0, -1.0))


def test_matrix_sensing_data_orthogonal_measurements():
    # m <= d^2: orthogonal rows of squared norm d^2, so (1/m) A^T A is d^2/m times a projection
    kw = dict(d=6, singular_values=(2.0, 1.0), n_measurements=20, seed=0)
    data = ib.matrix_sensing_data(**kw, measurements="orthogonal")
    gauss = ib.matrix_sensing_data(**kw, measurements="gaussian")
    assert torch.allclose(data.W_star, gauss.W_star)
    A = data.A.reshape(20, 36)
    assert torch.allclose(A @ A.T, 36 * torch.eye(20), atol=1e-3)
    assert torch.allclose(data.y, (data.A * data.W_star).sum((1, 2)))
    # m > d^2: (1/m) A^T A is the identity
    full = ib.matrix_sensing_data(d=4, singular_values=(1.0,), n_measurements=30, seed=0, measurements="orthogonal")
    B = full.A.reshape(30, 16)
    assert torch.allclose(B.T @ B / 30, torch.eye(16), atol=1e-4)
    with pytest.raises(ValueError, match="measurements"):
        ib.matrix_sensing_data(measurements="uniform")


def test_matrix_sensing_run_fits_with_full_measurements():
    data = ib.matrix_sensing_data(d=4, singular_values=(1.0,), n_measurements=64, seed=0)
    h = ib.matrix_sensing_run(0.1, data=data, depth=1, steps=300, lr=0.05, eval_every=100)
    assert h.rel_error.iloc[-1] < 0.05
    assert {"sv1", "sv4"} <= set(h.columns)
    with pytest.raises(TypeError, match="data"):
        ib.matrix_sensing_run(0.1, data="nope")
    with pytest.raises(ValueError, match="init_scale"):
        ib.matrix_sensing_run(-1.0)


def test_learning_times_and_effective_rank():
    h = pd.DataFrame({"step": [0, 10, 20, 30], "sv1": [0, 1, 2, 3], "sv2": [0, 0, 0.1, 0.2]})
    assert ib.learning_times(h, (3.0, 1.0), level=0.5) == [20.0, math.inf]
    with pytest.raises(ValueError, match="sv3"):
        ib.learning_times(h, (1, 1, 1))
    assert ib.effective_rank(torch.eye(4)) == pytest.approx(4.0)
    assert ib.effective_rank(np.array([1.0, 0.0, 0.0])) == pytest.approx(1.0)
    assert 1 < ib.effective_rank(torch.diag(torch.tensor([3.0, 2.0, 1.0]))) < 3
    with pytest.raises(ValueError, match="zero"):
        ib.effective_rank(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="matrix"):
        ib.effective_rank(torch.zeros(2, 2, 2))


def _sharpness_history(lr, sharpness):
    steps = np.arange(len(sharpness)) * 25
    return pd.DataFrame({"step": steps, "loss": 1.0, "sharpness": sharpness, "lr": lr, "two_over_lr": 2 / lr})


def test_sharpness_measures():
    at_edge = _sharpness_history(0.2, [3.0, 6.0, 9.5, 10.5, 9.8])  # 2/lr = 10
    below = _sharpness_history(0.2, [3.0, 4.0, 5.0, 4.0, 6.0])
    # second half: steps >= 50 (the last step is 100)
    assert ib.sharpness_ratio({"a": at_edge}, gap=True) == pytest.approx(0.05)
    assert ib.sharpness_ratio({"a": at_edge, "b": below}, gap=True) == pytest.approx(0.6)
    assert ib.sharpness_ratio(at_edge) == pytest.approx(1.05)
    assert ib.sharpness_ratio(below) == pytest.approx(0.6)
    assert ib.sharpness_ratio({"a": at_edge, "c": _sharpness_history(0.4, [2.5, 5.0])}, when="start") == pytest.approx(0.5)
    with pytest.raises(ValueError, match="histories"):
        ib.sharpness_ratio({}, gap=True)
    with pytest.raises(ValueError, match="sharpness_run"):
        ib.sharpness_ratio(pd.DataFrame({"step": [0]}))
    with pytest.raises(ValueError, match="when"):
        ib.sharpness_ratio(at_edge, when="end")


def test_final_rank_and_error_of_a_sensing_run():
    h = pd.DataFrame({"step": [0, 1], "loss": [1.0, 0.0], "rel_error": [1.0, 0.02],
                      "sv1": [0.0, 2.0], "sv2": [0.0, 2.0], "sv3": [0.0, 0.0]})
    assert ib.final_effective_rank(h) == pytest.approx(2.0)
    assert ib.final_relative_error(h) == pytest.approx(0.02)
    with pytest.raises(ValueError, match="matrix_sensing_run"):
        ib.final_effective_rank(pd.DataFrame({"step": [0]}))
    with pytest.raises(ValueError, match="rel_error"):
        ib.final_relative_error(pd.DataFrame({"step": [0]}))


# ---------------------------------------------------------------- diffusion
def test_grid_and_mixture_data():
    C = ib.grid_centers(3, 1.0)
    assert C.shape == (9, 2) and torch.allclose(C.mean(0), torch.zeros(2))
    X, C2 = ib.gaussian_grid_data(n=500, sigma=0.01, seed=0)
    assert X.shape == (500, 2) and torch.equal(C, C2)
    assert ib.distance_to_modes(X, C).max() < 0.06
    with pytest.raises(ValueError, match="sigma"):
        ib.gaussian_grid_data(sigma=0)
    with pytest.raises(ValueError, match="same width"):
        ib.distance_to_modes(torch.zeros(3, 3), C)


def test_gap_fraction_and_gaussian_mass():
    C = torch.zeros(1, 2)
    x = torch.tensor([[0.1, 0.0], [0.3, 0.0], [0.0, 0.5], [0.0, 0.0]])
    assert ib.gap_fraction(x, C, 0.25) == 0.5
    assert ib.gaussian_mass_beyond(0.25, 0.05) == pytest.approx(math.exp(-12.5), rel=1e-9)
    assert ib.gaussian_mass_beyond(0.0, 1.0, dim=3) == pytest.approx(1.0)
    X, C = ib.gaussian_grid_data(n=20000, sigma=0.05, seed=0)
    assert ib.gap_fraction(X, C, 0.1) == pytest.approx(ib.gaussian_mass_beyond(0.1, 0.05), abs=0.01)
    with pytest.raises(ValueError, match="radius"):
        ib.gap_fraction(x, C, 0)


def test_ddpm_schedule_ends_near_pure_noise():
    s = ib.ddpm_schedule(100)
    assert s["alpha_bars"].shape == (100,)
    assert s["alpha_bars"][0] > 0.999 and s["alpha_bars"][-1] < 1e-3
    with pytest.raises(ValueError, match="T"):
        ib.ddpm_schedule(1)


def test_true_posterior_mean_limits():
    C = ib.grid_centers(2, 2.0)
    # at t = 0 the noise is tiny: the exact denoiser returns (almost) the input near a mode
    xt = C + 0.001
    assert torch.allclose(ib.true_posterior_mean(xt, 0, C, 0.05), xt, atol=0.01)
    # at the last step the input is pure noise: the denoiser returns the mixture mean
    out = ib.true_posterior_mean(torch.randn(5, 2), 99, C, 0.05)
    assert torch.allclose(out, torch.zeros(5, 2), atol=0.05)
    with pytest.raises(ValueError, match="t must"):
        ib.true_posterior_mean(xt, 100, C, 0.05)


def test_train_sample_and_profile_smoke():
    X, C = ib.gaussian_grid_data(n=64, k=2, sigma=0.1, seed=0)
    model, hist = ib.train_ddpm(X, T=20, steps=100, width=16, seed=0)
    assert list(hist.columns) == ["step", "loss"] and hist.step.iloc[-1] == 100
    x, var = ib.ddpm_sample(model, n=50, seed=0, track_last=5)
    assert x.shape == (50, 2) and var.shape == (50,) and (var >= 0).all()
    prof = ib.denoiser_along_segment(model, C[0].tolist(), C[1].tolist(), t=2, centers=C, sigma=0.1, n_points=11)
    assert list(prof.columns) == ["u", "learned", "exact"] and len(prof) == 11
    assert prof.exact.iloc[0] < 0.1 and prof.exact.iloc[-1] > 0.9
    with pytest.raises(ValueError, match="track_last"):
        ib.ddpm_sample(model, n=5, track_last=50)
    with pytest.raises(ValueError, match="different points"):
        ib.denoiser_along_segment(model, [0.0, 0.0], [0.0, 0.0], t=2, centers=C, sigma=0.1)
    with pytest.raises(ValueError, match="X must"):
        ib.train_ddpm(torch.zeros(5))


def test_exact_denoiser_samples_land_on_the_modes():
    C = ib.grid_centers(2, 2.0)
    exact = ib.ExactDenoiser(C, 0.05, T=100)
    # its eps gives back the exact posterior mean
    xt, t = torch.randn(7, 2), 10
    ab = ib.ddpm_schedule(100)["alpha_bars"][t]
    x0 = (xt - (1 - ab).sqrt() * exact(xt, torch.full((7,), t))) / ab.sqrt()
    assert torch.allclose(x0, ib.true_posterior_mean(xt, t, C, 0.05, T=100), atol=1e-4)
    x, var = ib.ddpm_sample(exact, n=400, seed=0, track_last=5)
    assert ib.gap_fraction(x, C, 0.25) < 0.01 and var.shape == (400,)
    with pytest.raises(ValueError, match="one diffusion step"):
        exact(xt, torch.tensor([1, 2, 3, 4, 5, 6, 7]))
    with pytest.raises(ValueError, match="centers"):
        ib.ExactDenoiser(torch.zeros(3), 0.05)


def test_midpoint_jump_and_hallucination_auroc():
    u = np.linspace(0, 1, 101)
    df = pd.DataFrame({"u": u, "learned": u, "exact": (u > 0.5).astype(float)})
    assert ib.midpoint_jump(df, "learned") == pytest.approx(0.1)
    assert ib.midpoint_jump(df, "exact") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="column"):
        ib.midpoint_jump(df, "other")
    with pytest.raises(ValueError, match="lo < hi"):
        ib.midpoint_jump(df, lo=0.6, hi=0.4)
    gap = np.array([False, False, True, True])
    assert ib.hallucination_auroc(gap, np.array([0.1, 0.2, 0.3, 0.4])) == pytest.approx(1.0)
    assert ib.hallucination_auroc(torch.tensor(gap), torch.tensor([0.4, 0.3, 0.2, 0.1])) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="both"):
        ib.hallucination_auroc(np.zeros(4, bool), np.arange(4.0))
    with pytest.raises(ValueError, match="same length"):
        ib.hallucination_auroc(gap, np.arange(3.0))


def test_plots_return_axes():
    h = ib.sharpness_run(0.1, steps=20, eval_every=10)
    assert ib.plot_sharpness({"GD": h}) is not None
    data = ib.matrix_sensing_data(d=4, singular_values=(1.0,), n_measurements=20)
    hm = ib.matrix_sensing_run(0.1, data=data, steps=20, eval_every=10)
    assert ib.plot_incremental_learning(hm, (1.0,)) is not None
    X, C = ib.gaussian_grid_data(n=50)
    assert ib.plot_mode_interpolation(X, X + 0.3, C, 0.25) is not None
    df = pd.DataFrame({"u": [0, 1], "learned": [0, 1], "exact": [0, 1]})
    assert ib.plot_denoiser_profile({"t=1": df}) is not None
    with pytest.raises(ValueError):
        ib.plot_sharpness({})
    plt.close("all")
