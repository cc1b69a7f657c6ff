"""Unit tests of biaslab.inductive_bias, on cases with known answers and on bad input."""

import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

matplotlib.use("Agg")

from biaslab import inductive_bias as ib


# ---------------------------------------------------------------- spectral bias
def test_sum_of_sines_grid_and_values():
    x, y = ib.sum_of_sines(64, (1, 3), amplitudes=(1.0, 0.5))
    assert x.shape == y.shape == (64, 1)
    assert x[0].item() == 0 and x[-1].item() < 1
    expected = torch.sin(2 * math.pi * x) + 0.5 * torch.sin(6 * math.pi * x)
    assert torch.allclose(y, expected, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, err, msg",
    [
        (dict(n=16, freqs=(8,)), ValueError, "Nyquist|twice"),
        (dict(n=64, freqs=()), TypeError, "freqs"),
        (dict(n=64, freqs=(0,)), ValueError, "frequency"),
        (dict(n=64, freqs=(1, 2), amplitudes=(1.0,)), ValueError, "amplitudes"),
        (dict(n=-3), ValueError, "n must be"),
    ],
)
def test_sum_of_sines_bad_input(kwargs, err, msg):
    with pytest.raises(err, match=msg):
        ib.sum_of_sines(**kwargs)


def test_frequency_errors_known_answers():
    x, y = ib.sum_of_sines(128, (1, 4))
    assert ib.frequency_errors(y, y, (1, 4)) == pytest.approx({1: 0.0, 4: 0.0}, abs=1e-9)
    # a prediction that has only the k=1 component: k=4 is entirely missing
    _, y1 = ib.sum_of_sines(128, (1,))
    errs = ib.frequency_errors(y1, y, (1, 4))
    assert errs[1] == pytest.approx(0.0, abs=1e-6) and errs[4] == pytest.approx(1.0, abs=1e-6)
    # half the amplitude -> relative error one half
    assert ib.frequency_errors(0.5 * y, y, (4,))[4] == pytest.approx(0.5, abs=1e-6)


def test_frequency_errors_bad_input():
    _, y = ib.sum_of_sines(64, (1,))
    with pytest.raises(ValueError, match="same length"):
        ib.frequency_errors(y[:10], y, (1,))
    with pytest.raises(ValueError, match="no component"):
        ib.frequency_errors(y, y, (5,))
    with pytest.raises(ValueError, match="Nyquist"):
        ib.frequency_errors(y, y, (40,))


def test_first_fit_step():
    h = pd.DataFrame({"step": [0, 10, 20, 30], "err_1": [1.0, 0.5, 0.05, 0.01], "err_4": [1.0] * 4})
    assert ib.first_fit_step(h, 1) == 20
    assert ib.first_fit_step(h, 1, tol=0.6) == 10
    assert math.isinf(ib.first_fit_step(h, 4))
    with pytest.raises(ValueError, match="err_8"):
        ib.first_fit_step(h, 8)


def test_gaussian_fourier_features_shape_seed_and_scale():
    enc = ib.GaussianFourierFeatures(scale=10.0, n_features=5, seed=3)
    z = enc(torch.tensor([[0.0], [0.25]]))
    assert z.shape == (2, 10) and enc.out_dim == 10
    assert torch.allclose(z[0, :5], torch.zeros(5)) and torch.allclose(z[0, 5:], torch.ones(5))
    assert torch.equal(enc.b, ib.GaussianFourierFeatures(10.0, 5, seed=3).b)
    assert not torch.equal(enc.b, ib.GaussianFourierFeatures(10.0, 5, seed=4).b)
    assert ib.GaussianFourierFeatures(100.0, 2000).b.std() > 10 * ib.GaussianFourierFeatures(1.0, 2000).b.std()
    with pytest.raises(ValueError, match="scale"):
        ib.GaussianFourierFeatures(0.0)


def test_coordinate_mlp_raw_input_is_centred_and_scaled():
    net = ib.coordinate_mlp(None, width=4, depth=1, input_scale=3.0)
    assert net[0](torch.tensor([[0.0], [0.5], [1.0]])).flatten().tolist() == [-3.0, 0.0, 3.0]
    assert ib.coordinate_mlp(10.0, n_features=8, width=4, depth=1)(torch.zeros(2, 1)).shape == (2, 1)


def test_log_steps_cover_the_run():
    s = ib.log_steps(1000, 50)
    assert s[0] == 1 and s[-1] == 1000 and s == sorted(set(s)) and len(s) <= 50


def test_spectral_bias_run_short_and_stops_when_fitted():
    h = ib.spectral_bias_run((1, 4), steps=20, n=32)
    assert list(h.columns) == ["step", "loss", "err_1", "err_4"] and h.step.iloc[-1] <= 20
    assert len(ib.fit_times(h, (1, 4))) == 2
    h = ib.spectral_bias_run((1,), steps=3000, n=32, tol=0.5)  # k = 1 is fitted early: the run stops
    assert h.step.iloc[-1] < 3000 and h.err_1.iloc[-1] < 0.5


def test_fourier_scale_sweep_and_tradeoff():
    t = ib.fourier_scale_sweep(scales=(1.0, 10.0, 100.0), freqs=(1, 4), n=32, steps=5)
    assert list(t.index) == [1.0, 10.0, 100.0] and set(t.columns) == {"train_mse", "test_mse"}
    toy = pd.DataFrame({"test_mse": [4.0, 1.0, 2.0, 8.0]}, index=[1, 3, 10, 30])
    assert ib.scale_tradeoff(toy) == 4.0
    with pytest.raises(ValueError, match="three"):
        ib.scale_tradeoff(toy.iloc[:2])
    with pytest.raises(ValueError, match="target"):
        ib.fourier_scale_sweep(target="image")


def test_periodic_extrapolation_short_zero_and_bad_input():
    r = ib.periodic_extrapolation("snake", steps=10, width=8)
    assert set(r) >= {"train_mse", "extrap_mse", "x", "y_pred", "truth"}
    assert r["x"].shape == r["y_pred"].shape
    z = ib.periodic_extrapolation("zero")
    assert z["extrap_mse"] == pytest.approx(0.5, abs=0.01)  # mean of sin^2 over whole periods
    assert ib.periodic_extrapolation("zero", "chirp")["train_mse"] > 0.3
    with pytest.raises(ValueError, match="train_range"):
        ib.periodic_extrapolation("relu", steps=1, train_range=(1.0, 0.0))
    with pytest.raises(ValueError, match="unknown activation"):
        ib.periodic_extrapolation("sigmoidish", steps=1)
    with pytest.raises(ValueError, match="target"):
        ib.periodic_extrapolation("relu", "square", steps=1)


def test_far_linearity_and_extrapolation_advantage():
    x = torch.linspace(0, 30, 300)
    assert ib.far_linearity({"x": x, "y_pred": 2 * x + 1}) == pytest.approx(1.0)
    assert ib.far_linearity({"x": x, "y_pred": torch.sin(x)}) < 0.2
    fits = {k: {"extrap_mse": v} for k, v in {"snake": 0.1, "relu": 20.0, "tanh": 1.0, "zero": 0.5}.items()}
    assert ib.extrapolation_advantage(fits) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="zero"):
        ib.extrapolation_advantage({"snake": {"extrap_mse": 1.0}})


# ---------------------------------------------------------------- grokking
def test_modular_addition_data_is_a_partition():
    d = ib.modular_addition_data(p=7, train_frac=0.5, seed=1)
    X = torch.cat([d.X_train, d.X_test])
    y = torch.cat([d.y_train, d.y_test])
    assert len(X) == 49 and len(d.X_train) == 24 or len(d.X_train) == 25
    assert len({tuple(r) for r in X.tolist()}) == 49
    assert torch.equal(y, (X[:, 0] + X[:, 1]) % 7)
    d2 = ib.modular_addition_data(p=7, train_frac=0.5, seed=1)
    assert torch.equal(d.X_train, d2.X_train)


@pytest.mark.parametrize("kwargs, err", [(dict(p=1), ValueError), (dict(train_frac=1.0), ValueError),
                                         (dict(train_frac=0.0), ValueError), (dict(p=7.5), TypeError)])
def test_modular_addition_data_bad_input(kwargs, err):
    with pytest.raises(err):
        ib.modular_addition_data(**kwargs)


def test_modular_mlp_shapes():
    m = ib.ModularAdditionMLP(11, emb_dim=4, hidden=8)
    assert m(torch.tensor([[1, 2], [3, 4]])).shape == (2, 11)
    with pytest.raises(ValueError, match=r"shape \(m, 2\)"):
        m(torch.tensor([1, 2, 3]))


def test_grokking_run_short():
    h, m = ib.grokking_run(p=11, steps=20, eval_every=10, emb_dim=8, hidden=16)
    assert list(h.columns) == ["step", "loss", "train_acc", "test_acc"]
    assert h.train_acc.between(0, 1).all()


def test_grokking_steps():
    h = pd.DataFrame({"step": [0, 100, 200, 300, 400], "train_acc": [0, 0.5, 1, 1, 1], "test_acc": [0, 0, 0.1, 0.5, 0.95]})
    assert ib.grokking_steps(h) == {"t_train": 200, "t_test": 400, "ratio": 2.0}
    never = ib.grokking_steps(h, test_level=0.99)
    assert math.isinf(never["t_test"]) and math.isinf(never["ratio"])
    with pytest.raises(ValueError, match="test_acc"):
        ib.grokking_steps(h.drop(columns="test_acc"))


def test_grokking_delay_and_max_test_accuracy():
    h = pd.DataFrame({"step": [0, 100, 200, 300, 400], "train_acc": [0, 0.5, 1, 1, 1], "test_acc": [0, 0, 0.1, 0.5, 0.95]})
    assert ib.grokking_delay(h) == pytest.approx(2.0)
    assert math.isnan(ib.grokking_delay(h, test_level=0.99))  # never generalizes: no delay
    assert math.isnan(ib.grokking_delay(h.assign(train_acc=0.5)))  # never memorizes
    assert ib.max_test_accuracy(h) == pytest.approx(0.95)
    with pytest.raises(ValueError, match="test_acc"):
        ib.max_test_accuracy(h.drop(columns="test_acc"))


def test_embedding_spectrum_and_power_share():
    p = 31
    a = torch.arange(p, dtype=torch.float64)
    pure = torch.stack([torch.cos(2 * math.pi * 5 * a / p), torch.sin(2 * math.pi * 5 * a / p)], 1)
    spec = ib.embedding_spectrum(pure)
    assert spec.shape == (15,) and spec.sum() == pytest.approx(1.0)
    assert spec.argmax() == 4  # frequency 5
    assert ib.fourier_power_share(pure, top_k=1) == pytest.approx(1.0)
    rand = ib.fourier_power_share(torch.randn(p, 256, generator=torch.Generator().manual_seed(0)), top_k=3)
    assert 0.15 < rand < 0.35  # about 3/15 for a random table
    with pytest.raises(ValueError, match="top_k"):
        ib.fourier_power_share(pure, top_k=16)
    with pytest.raises(ValueError, match="2-D"):
        ib.embedding_spectrum(torch.zeros(5))


def test_linear_grokking_run_columns_and_convergence():
    h = ib.linear_grokking_run(d=20, n_train=80, n_test=200, steps=300, seed=0)
    assert {"step", "train_loss", "test_loss", "train_acc", "test_acc"} <= set(h.columns)
    assert h.train_loss.iloc[-1] < 1e-3 * h.train_loss.iloc[0]
    assert h.test_acc.iloc[-1] > 0.9
    with pytest.raises(ValueError, match="eps"):
        ib.linear_grokking_run(eps=0)
    with pytest.raises(ValueError, match="n_train"):
        ib.linear_grokking_run(n_train=0)


# ---------------------------------------------------------------- plots
def test_plots_return_axes():
    h = ib.spectral_bias_run((1, 4), steps=20, n=32)
    assert ib.plot_frequency_errors(h, title="t") is not None
    assert ib.plot_frequency_errors(h, log_steps=True) is not None
    r = {"relu": ib.periodic_extrapolation("relu", steps=5, width=4), "zero": ib.periodic_extrapolation("zero")}
    assert ib.plot_extrapolation(r) is not None
    g = pd.DataFrame({"step": [0, 1, 2], "train_acc": [0, 1, 1], "test_acc": [0, 0, 1]})
    assert ib.plot_grokking({"run": g}) is not None
    assert ib.plot_embedding_spectrum({"e": torch.randn(11, 3)}) is not None
    plt.close("all")


def test_plots_bad_input():
    with pytest.raises(ValueError, match="err_"):
        ib.plot_frequency_errors(pd.DataFrame({"step": [0]}))
    for fn in (ib.plot_extrapolation, ib.plot_grokking, ib.plot_embedding_spectrum):
        with pytest.raises(ValueError):
            fn({})


# ---------------------------------------------------------------- priors before training
def test_random_mlp_function_shapes_and_errors():
    g = torch.Generator().manual_seed(0)
    x, f = ib.random_mlp_function("relu", 1.0, n=64, width=8, depth=2, generator=g)
    assert x.shape == f.shape == (64,)
    with pytest.raises(ValueError, match="activation"):
        ib.random_mlp_function("softplus")
    with pytest.raises(TypeError, match="activation"):
        ib.random_mlp_function(3)
    with pytest.raises(ValueError, match="weight_scale"):
        ib.random_mlp_function("relu", 0.0)


def test_spectral_centroid_of_cosines_and_calibration_signals():
    n = 256
    grid = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    for k in (2, 10, 81):  # the k-th cosine of the transform has k / 2 cycles
        assert ib.spectral_centroid(torch.cos(math.pi * k * grid)) == pytest.approx(k / 2, abs=1e-9)
    assert ib.spectral_centroid(torch.ones(16)) == 0.0
    x = torch.linspace(-1, 1, 512)
    ramp, step = ib.spectral_centroid(x), ib.spectral_centroid((x > 0.1).double())
    noise = ib.spectral_centroid(torch.randn(512, generator=torch.Generator().manual_seed(0)))
    assert ramp < 1 < step < 3 and 100 < noise < 160  # no wrap-around jump charged to the ramp
    with pytest.raises(ValueError, match="at least 4"):
        ib.spectral_centroid(torch.ones(2))


def test_redshift_table_shape():
    t = ib.redshift_table(("relu", "sin"), (1.0, 6.0), n_nets=2, n=64, width=8, depth=2)
    assert t.shape == (2, 2) and list(t.index) == ["relu", "sin"]
    with pytest.raises(ValueError, match="n_nets"):
        ib.redshift_table(n_nets=0)


def test_majority_class_share():
    logits = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [2.0, 0.0]])
    assert ib.majority_class_share(logits) == 0.75
    with pytest.raises(ValueError, match="logits"):
        ib.majority_class_share(torch.zeros(3))


def test_initial_guessing_bias_range_and_errors():
    s = ib.initial_guessing_bias("relu", depth=3, n_nets=2, n=50, in_dim=4, width=8)
    assert 0.1 <= s <= 1.0
    with pytest.raises(ValueError, match="activation"):
        ib.initial_guessing_bias("sin")
    with pytest.raises(ValueError, match="n_classes"):
        ib.initial_guessing_bias(n_classes=1)


# ---------------------------------------------------------------- architecture as prior
# ---------------------------------------------------------------- locality and weight sharing
def test_patch_signal_data_places_signal_in_one_patch():
    g = torch.Generator().manual_seed(0)
    w = torch.zeros(4)
    w[0] = 2.0
    X, y = ib.patch_signal_data(2000, k=5, p=4, amplitude=50.0, template=w, generator=g)
    assert X.shape == (2000, 5, 4) and set(y.unique().tolist()) == {-1.0, 1.0}
    strong = X[..., 0].abs() > 25
    assert (strong.sum(1) == 1).all()  # exactly one patch carries the (unit-norm) template
    assert (torch.sign(X[..., 0][strong]) == y).all()
    with pytest.raises(ValueError, match="template"):
        ib.patch_signal_data(10, p=4, template=torch.zeros(4))
    with pytest.raises(ValueError, match="amplitude"):
        ib.patch_signal_data(10, amplitude=0.0)
    Xg, yg = ib.patch_signal_data(500, k=5, p=4, amplitude=8.0, generator=g, signal="global")
    mean_signal = (Xg * yg[:, None, None]).mean(0)  # the fixed template, of norm 8, spread over all patches
    assert mean_signal.norm() == pytest.approx(8.0, rel=0.15) and (mean_signal.norm(dim=1) > 0.5).sum() >= 3
    with pytest.raises(ValueError, match="signal"):
        ib.patch_signal_data(10, signal="somewhere")


def test_make_patch_net_shapes_and_sharing():
    X = torch.randn(7, 16, 8)
    for arch, n_params in (("cnn", 81), ("lcn", 1161), ("fcn", 16521)):
        net = ib.make_patch_net(arch, 16, 8, 8)
        assert net(X).shape == (7,)
        assert sum(q.numel() for q in net.parameters()) == n_params
    cnn = ib.make_patch_net("cnn", 16, 8, 8)
    perm = torch.randperm(16)
    assert torch.allclose(cnn(X), cnn(X[:, perm]), atol=1e-6)  # shared filters + max-pool: patch order is irrelevant
    with pytest.raises(ValueError, match="arch"):
        ib.make_patch_net("rnn")


def test_locality_sample_complexity_small_and_plot():
    t = ib.locality_sample_complexity(n_values=(8, 16), steps=5, reps=1, n_test=50)
    assert list(t.index) == [8, 16] and list(t.columns) == ["cnn", "lcn", "fcn"]
    assert ((t >= 0) & (t <= 1)).all().all()
    assert ib.plot_sample_complexity(t) is not None
    plt.close("all")
    with pytest.raises(ValueError, match="arch"):
        ib.locality_sample_complexity(archs=("mlp",))
    with pytest.raises(ValueError, match="table"):
        ib.plot_sample_complexity(pd.DataFrame())


def test_samples_to_accuracy_and_advantage():
    t = pd.DataFrame({"cnn": [0.7, 0.9, 0.95], "fcn": [0.5, 0.6, 0.8]}, index=[16, 64, 256])
    assert ib.samples_to_accuracy(t, "cnn", 0.7) == 16.0
    assert ib.samples_to_accuracy(t, "cnn", 0.8) == pytest.approx(32.0)  # halfway on a log scale
    assert ib.samples_to_accuracy(t, "fcn", 0.9) == math.inf
    assert ib.sample_advantage(t, 0.8) == pytest.approx(256 / 32)
    assert ib.sample_advantage(t.assign(cnn=0.1), 0.8) == 0.0
    with pytest.raises(ValueError, match="column"):
        ib.samples_to_accuracy(t, "lcn")


def test_collapse_exponent_and_depth():
    doubly = np.array([0.9] + [0.5 ** (3**i) for i in range(1, 5)])  # r_l = c^(3^l): ratio 3
    assert ib.collapse_exponent(doubly) == pytest.approx(3.0)
    single = 0.5 ** np.arange(1, 30, dtype=float)  # exponential decay: ratios (l + 1) / l
    assert ib.collapse_exponent(single) < 1.1
    assert math.isnan(ib.collapse_exponent(np.ones(5)))
    assert ib.depth_to_collapse(np.array([1.0, 0.5, 0.005, 0.0])) == 2.0
    assert ib.depth_to_collapse(np.ones(4)) == math.inf


# ---------------------------------------------------------------- deep image prior
def test_piecewise_smooth_image_and_psnr():
    img = ib.piecewise_smooth_image(16)
    assert img.shape == (16, 16) and img.min() >= 0 and img.max() <= 1
    assert ib.psnr(img, img) == math.inf
    assert ib.psnr(img + 0.1, img) == pytest.approx(20.0, abs=1e-4)  # MSE 0.01 -> 20 dB
    assert ib.psnr(2 * torch.ones(4), torch.zeros(4), peak=2.0) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="n must be"):
        ib.piecewise_smooth_image(4)
    with pytest.raises(ValueError, match="same shape"):
        ib.psnr(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match="peak"):
        ib.psnr(img, img, peak=0.0)


def test_dip_net_shape():
    out = ib.DIPNet(in_channels=3, channels=4)(torch.rand(1, 3, 16, 16))
    assert out.shape == (1, 1, 16, 16) and out.min() >= 0 and out.max() <= 1
    with pytest.raises(ValueError, match="channels"):
        ib.DIPNet(channels=0)


def test_deep_image_prior_run_small_and_errors():
    r = ib.deep_image_prior_run(ib.piecewise_smooth_image(16), steps=20, channels=4, eval_every=5)
    assert list(r["history"].step) == [0, 5, 10, 15, 20] and {"mse", "psnr"} <= set(r["history"])
    assert r["best_psnr"] == pytest.approx(r["history"].psnr.max())
    assert r["final_psnr"] == pytest.approx(r["history"].psnr.iloc[-1])
    assert r["best"].shape == r["final"].shape == (16, 16)
    assert ib.denoising_gain(r) == pytest.approx(r["best_psnr"] - r["noisy_psnr"])
    assert ib.overfitting_loss(r) == pytest.approx(r["best_psnr"] - r["final_psnr"]) and ib.overfitting_loss(r) >= 0
    axes = ib.plot_deep_image_prior(r)
    assert len(axes) == 5
    plt.close("all")
    s = ib.deep_image_prior_run(ib.piecewise_smooth_image(16), steps=2, channels=4, scrambled=True)
    assert torch.equal(s["clean"].flatten().sort().values, ib.piecewise_smooth_image(16).flatten().sort().values)
    with pytest.raises(ValueError, match="target must be"):
        ib.deep_image_prior_run(torch.zeros(10, 10))
    with pytest.raises(ValueError, match="sigma"):
        ib.deep_image_prior_run(sigma=0.0)
    with pytest.raises(ValueError, match="result"):
        ib.plot_deep_image_prior({})


def test_scramble_keeps_values_and_destroys_structure():
    img = ib.piecewise_smooth_image(16)
    s = ib.scramble(img, seed=1)
    assert torch.equal(s.flatten().sort().values, img.flatten().sort().values) and not torch.equal(s, img)
    assert torch.equal(s, ib.scramble(img, seed=1))


def test_fit_speed_run_and_slowdown():
    fits = ib.fit_speed_run(ib.piecewise_smooth_image(16), steps=5)
    assert set(fits) == {"image", "scrambled"} and fits["image"]["history"].step.iloc[-1] == 5
    toy = {k: {"history": pd.DataFrame({"mse": [1.0, v]})} for k, v in (("image", 0.01), ("scrambled", 0.05))}
    assert ib.scramble_slowdown(toy) == pytest.approx(5.0)


def test_rank_collapse_residual():
    X = torch.ones(5, 3)
    assert ib.rank_collapse_residual(X) == pytest.approx(0.0)
    Y = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    assert ib.rank_collapse_residual(Y) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="n_tokens"):
        ib.rank_collapse_residual(torch.ones(1, 3))
    with pytest.raises(ValueError, match="zeros"):
        ib.rank_collapse_residual(torch.zeros(3, 3))


def test_attention_stack_residuals_shape_and_errors():
    r = ib.attention_stack_residuals(n_layers=3, n_tokens=4, d=8, n_stacks=2)
    assert r.shape == (4,) and 0 <= r.min() and r.max() <= 1
    with pytest.raises(ValueError, match="n_tokens"):
        ib.attention_stack_residuals(n_tokens=1)


def test_new_plots_return_axes():
    assert ib.plot_random_functions(("relu",), (1.0,)) is not None
    t = ib.redshift_table(("relu",), (1.0, 2.0), n_nets=1, n=32, width=4, depth=1)
    assert ib.plot_redshift(t) is not None
    assert ib.plot_rank_collapse({"a": np.array([1.0, 0.1, 0.0])}) is not None
    with pytest.raises(ValueError):
        ib.plot_rank_collapse({})
    with pytest.raises(ValueError):
        ib.plot_redshift(pd.DataFrame())
    plt.close("all")


# ---------------------------------------------------------------- generalization on the unseen
def test_boolean_cube():
    X = ib.boolean_cube(3)
    assert X.shape == (8, 3) and set(X.unique().tolist()) == {-1.0, 1.0}
    assert len({tuple(r) for r in X.tolist()}) == 8
    with pytest.raises(ValueError, match="n_bits"):
        ib.boolean_cube(17)


def test_gotu_run_small_and_errors():
    r = ib.gotu_run(n_bits=4, target_bits=(0, 1), frozen_bit=1, steps=200, width=32)
    assert r["train_mse"] < 0.05
    assert len(r["pred_unseen"]) == 8
    with pytest.raises(ValueError, match="frozen_bit"):
        ib.gotu_run(n_bits=4, target_bits=(0, 1), frozen_bit=3)
    with pytest.raises(ValueError, match="frozen_value"):
        ib.gotu_run(frozen_value=0)
    with pytest.raises(ValueError, match="target_bits"):
        ib.gotu_run(n_bits=4, target_bits=(0, 5))
    assert ib.min_degree_error(r) == pytest.approx(float(((r["pred_unseen"] - r["min_degree_unseen"]) ** 2).mean()))
    scaled = {"pred_unseen": 0.1 * r["min_degree_unseen"], "min_degree_unseen": r["min_degree_unseen"]}
    assert ib.min_degree_error(scaled) == pytest.approx(0.81)  # a correlation would call this perfect
    assert ib.plot_gotu(r) is not None
    with pytest.raises(ValueError, match="gotu_run"):
        ib.plot_gotu({})
    plt.close("all")


# ---------------------------------------------------------------- distributional simplicity
def test_shifted_digits_shapes_and_errors():
    d = ib.shifted_digits(pad=1, n_train_digits=1000, seed=0)
    assert d.side == 9 and d.X_train.shape == (4000, 81) and d.X_test.shape == (4 * 797, 81)
    assert d.y_train.dtype == torch.int64 and abs(d.X_train.mean().item()) < 1e-3
    assert ib.shifted_digits(pad=0).X_train.shape == (1200, 64)
    with pytest.raises(ValueError, match="pad"):
        ib.shifted_digits(pad=-1)
    with pytest.raises(ValueError, match="n_train_digits"):
        ib.shifted_digits(n_train_digits=1797)


def test_moment_clones_match_moments():
    g = torch.Generator().manual_seed(0)
    X = torch.cat([torch.randn(500, 3, generator=g) * torch.tensor([1.0, 2.0, 0.5]), torch.randn(500, 3, generator=g) + 5])
    y = torch.repeat_interleave(torch.arange(2), 500)
    c2, yc = ib.moment_clones(X, y, order=2, n=20000)
    assert c2.shape == (20000, 3) and (yc == 0).sum() == 10000
    assert torch.allclose(c2[yc == 0].std(0), X[y == 0].std(0), rtol=0.1)
    assert torch.allclose(c2[yc == 1].mean(0), X[y == 1].mean(0), atol=0.05)
    c1, _ = ib.moment_clones(X, y, order=1, n=20000)
    s = c1[yc == 0].std(0)
    assert (s.max() - s.min()) < 0.1  # isotropic noise
    assert s.pow(2).sum().item() == pytest.approx(X[y == 0].var(0).sum().item(), rel=0.1)  # same total variance
    with pytest.raises(ValueError, match="order"):
        ib.moment_clones(X, y, order=3)
    with pytest.raises(ValueError, match="at least 2"):
        ib.moment_clones(X[:501], y[:501])
    with pytest.raises(ValueError, match="X must be"):
        ib.moment_clones(X[:, 0], y)


def test_distributional_simplicity_run_small_and_plot():
    h = ib.distributional_simplicity_run(width=16, steps=30, n_clones=100)
    assert list(h.step) == [0, 10, 20, 30]
    assert set(h.columns) == {"step", "test_acc", "clone1_acc", "clone2_acc", "clone1_shuffled_acc"}
    assert ib.plot_distributional_simplicity(h) is not None
    plt.close("all")
    with pytest.raises(ValueError, match="history"):
        ib.plot_distributional_simplicity(pd.DataFrame({"step": [0]}))


def test_early_clone_gap_and_late_divergence():
    h = pd.DataFrame({"step": [0, 10, 100, 500, 1000], "test_acc": [0.1, 0.3, 0.6, 0.9, 0.95],
                      "clone1_acc": [0.1, 0.2, 0.6, 0.85, 0.8]})
    assert ib.early_clone_gap(h) == pytest.approx(0.05)  # steps 10 and 100 only: step 0 is left out
    assert ib.late_divergence(h) == pytest.approx(min(0.85 - 0.8, 0.95 - 0.9))
    assert ib.late_divergence(h.assign(clone1_acc=h.test_acc)) == 0.0
    with pytest.raises(ValueError, match="column"):
        ib.early_clone_gap(h, "clone9_acc")
    with pytest.raises(ValueError, match="window"):
        ib.early_clone_gap(h, window=(2000, 3000))


# ---------------------------------------------------------------- random labels
def test_random_labels_balanced_and_errors():
    y = np.repeat(np.arange(10), 30)
    r = ib.random_labels(y, seed=0)
    assert r.shape == y.shape and r.min() >= 0 and r.max() <= 9
    table = np.zeros((10, 10), int)
    np.add.at(table, (y, r), 1)
    assert (table == 3).all()  # every true class gets every random label equally often
    assert not np.array_equal(r, ib.random_labels(y, seed=1))
    with pytest.raises(ValueError, match="y must be"):
        ib.random_labels(np.array([0, 10]))
    with pytest.raises(ValueError, match="y must be"):
        ib.random_labels(np.array([0.5, 1.0]))


def test_random_label_run_small_and_errors():
    h = ib.random_label_run("labels", n_train=50, width=16, max_steps=5)
    assert list(h.columns) == ["step", "train_acc", "test_acc"] and h.step.iloc[-1] <= 5
    hp = ib.random_label_run("pixels", n_train=50, width=16, max_steps=3)
    assert hp.test_acc.isna().all()
    # renamed classes: the same information, so the same run up to the output layer's start
    hn = ib.random_label_run("none", n_train=200, width=64, max_steps=200, stop_at=0.9)
    hr = ib.random_label_run("renamed", n_train=200, width=64, max_steps=200, stop_at=0.9)
    assert hr.train_acc.iloc[-1] >= 0.9 and hr.test_acc.iloc[-1] > 0.5
    assert 0.5 <= ib.memorization_slowdown((hr, hn), 0.9) <= 2
    assert ib.plot_random_labels({"labels": h, "pixels": hp}) is not None
    plt.close("all")
    with pytest.raises(ValueError, match="corruption"):
        ib.random_label_run("noise")
    with pytest.raises(ValueError, match="n_train"):
        ib.random_label_run(n_train=1700)
    with pytest.raises(ValueError, match="histories"):
        ib.plot_random_labels({})


def test_steps_to_accuracy():
    h = pd.DataFrame({"step": [0, 10, 20], "train_acc": [0.1, 0.96, 1.0]})
    assert ib.steps_to_accuracy(h, 0.95) == 10
    assert math.isinf(ib.steps_to_accuracy(h.iloc[:1], 0.95))
    with pytest.raises(ValueError, match="history"):
        ib.steps_to_accuracy(pd.DataFrame({"x": [1]}))
    with pytest.raises(ValueError, match="level"):
        ib.steps_to_accuracy(h, 1.5)


def test_generalization_gap_and_slowdown():
    memorized = pd.DataFrame({"step": [0, 40], "train_acc": [0.1, 0.99], "test_acc": [0.1, 0.11]})
    learned = pd.DataFrame({"step": [0, 10], "train_acc": [0.1, 0.99], "test_acc": [0.1, 0.96]})
    assert ib.generalization_gap(memorized) == pytest.approx(0.88)
    assert ib.generalization_gap(learned) == pytest.approx(0.03)
    assert ib.memorization_slowdown((memorized, learned)) == pytest.approx(4.0)
    assert math.isinf(ib.memorization_slowdown((memorized.iloc[:1], learned)))
    with pytest.raises(ValueError, match="train_acc"):
        ib.generalization_gap(pd.DataFrame({"step": [0]}))
    with pytest.raises(ValueError, match="pair"):
        ib.memorization_slowdown(memorized)
    with pytest.raises(ValueError, match="step 0"):
        ib.memorization_slowdown((memorized, pd.DataFrame({"step": [0], "train_acc": [1.0]})))


# ---------------------------------------------------------------- double descent
def test_random_features_double_descent_small_and_errors():
    c = ib.random_features_double_descent((10, 50, 200), n_train=50, label_noise=0.0, ridge=1e-3)
    assert list(c.n_features) == [10, 50, 200]
    assert c.train_mse.iloc[-1] < 1e-2  # over-parameterized: interpolates
    assert ib.peak_ratio(c) >= 1.0
    with pytest.raises(ValueError, match="increasing"):
        ib.random_features_double_descent((50, 10))
    with pytest.raises(ValueError, match="label_noise"):
        ib.random_features_double_descent(label_noise=1.0)
    with pytest.raises(ValueError, match="ridge"):
        ib.random_features_double_descent(ridge=0.0)
    with pytest.raises(ValueError, match="n_train"):
        ib.random_features_double_descent(n_train=5)
    assert ib.plot_double_descent({"a": c}, n_train=50) is not None
    with pytest.raises(ValueError):
        ib.plot_double_descent({})
    with pytest.raises(ValueError, match="column"):
        ib.peak_ratio(pd.DataFrame({"x": [1, 2, 3]}))
    plt.close("all")


def test_peak_ratio_values():
    assert ib.peak_ratio(pd.DataFrame({"test_mse": [1.0, 3.0, 1.5]})) == 2.0
    assert ib.peak_ratio(pd.DataFrame({"test_mse": [2.0, 1.0, 0.5]})) == 1.0

