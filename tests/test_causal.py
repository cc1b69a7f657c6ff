"""Unit tests of biaslab.causal and the causal data loaders: known answers and bad input."""

import matplotlib
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import torch

matplotlib.use("Agg")

from biaslab import causal as ca
from biaslab.causal import structure_learning
from biaslab.datasets import causal_data as cd


# ---------------------------------------------------------------- data loaders
def test_sachs_loader_shape_and_graph():
    s = cd.load_sachs()
    assert s.data.shape == (7466, 11)
    assert len(s.edges) == 18 and s.adjacency.sum() == 18
    assert ("PKA", "praf") in s.edges and "PKA" in s.data.columns
    # the consensus graph of this release is not a DAG: plcg -> PIP2 -> PIP3 -> plcg
    cycles = list(nx.simple_cycles(nx.DiGraph(s.edges)))
    assert len(cycles) == 1 and set(cycles[0]) == {"plcg", "PIP2", "PIP3"}
    assert (s.data.to_numpy() > 0).all()


def test_tuebingen_loader():
    pairs = cd.load_tuebingen_pairs()
    assert len(pairs) == 99
    assert all(len(p.cause) == len(p.effect) > 50 for p in pairs)
    assert pairs[0].name == "pair1" and len(pairs[0].cause) == 349


def test_nsw_and_cps_loaders():
    nsw, cps = cd.load_nsw(), cd.load_cps()
    assert nsw.shape == (445, 10) and cps.shape == (15992, 10)
    assert nsw["treat"].sum() == 185 and cps["treat"].sum() == 0
    assert list(nsw.columns) == list(cps.columns)
    # the experimental benchmark of the literature: about 1,794 USD
    assert abs(ca.ate_naive(nsw) - 1794.34) < 0.5


# ---------------------------------------------------------------- graphs and metrics
def test_shd_known_pairs():
    truth = [("a", "b"), ("b", "c")]
    nodes = ["a", "b", "c"]
    A = ca.to_adjacency(truth, nodes)
    assert ca.shd(A, A) == 0
    assert ca.shd(A, ca.to_adjacency([("b", "a"), ("b", "c")], nodes)) == 1  # reversal counts once
    assert ca.shd(A, ca.to_adjacency([("a", "b")], nodes)) == 1  # missing edge
    assert ca.shd(A, ca.to_adjacency([("a", "b"), ("b", "c"), ("a", "c")], nodes)) == 1  # extra edge
    assert ca.shd(A, np.zeros((3, 3))) == 2
    undirected = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    assert ca.shd(A, undirected) == 2  # both directions missing
    g = nx.DiGraph(truth)
    assert ca.shd(g, g) == 0


def test_shd_bad_input():
    with pytest.raises(ValueError, match="acyclic"):
        ca.shd(np.array([[0, 1], [1, 0]]), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="same shape"):
        ca.shd(np.zeros((2, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="square"):
        ca.shd(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(TypeError, match="directed"):
        ca.shd(nx.Graph([(0, 1)]), np.zeros((2, 2)))


def test_mcc_permutation_and_scaling():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(500, 3))
    assert ca.mcc(z, -2 * z[:, [2, 0, 1]] + 1) == pytest.approx(1.0)
    assert ca.mcc(z, rng.normal(size=(500, 3))) < 0.2
    with pytest.raises(ValueError, match="same shape"):
        ca.mcc(z, z[:, :2])
    with pytest.raises(ValueError, match="2-D"):
        ca.mcc(z[:, 0], z[:, 0])


def test_plot_graphs_draws_one_axis_per_graph():
    truth = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    learned = np.array([[0, 0, 0], [1, 0, 1], [1, 0, 0]])
    axes = ca.plot_graphs({"truth": truth, "learned": learned}, nodes=["a", "b", "c"], truth=truth)
    assert len(axes) == 2 and axes[1].get_title() == "learned"


# ---------------------------------------------------------------- SCM
def test_scm_sample_do_and_counterfactual():
    scm = ca.additive_scm({("z", "x"): 1.0, ("x", "y"): 2.0, ("z", "y"): 1.0})
    df = scm.sample(20000, seed=0)
    assert list(df.columns) == ["z", "x", "y"]
    # observational slope of y on x is biased by z; the interventional one is 2
    obs_slope = np.polyfit(df.x, df.y, 1)[0]
    assert obs_slope > 2.3
    lo = scm.do({"x": 0.0}).sample(20000, seed=1).y.mean()
    hi = scm.do({"x": 1.0}).sample(20000, seed=1).y.mean()
    assert hi - lo == pytest.approx(2.0, abs=1e-5)
    # counterfactual of an additive model: y shifts by exactly 2 * delta x
    unit = {"z": [0.3], "x": [1.0], "y": [2.5]}
    cf = scm.counterfactual(unit, {"x": 3.0})
    assert cf.y.iloc[0] == pytest.approx(2.5 + 2 * 2.0, abs=1e-5)
    assert cf.z.iloc[0] == pytest.approx(0.3)


def test_scm_bad_input():
    with pytest.raises(ValueError, match="acyclic"):
        ca.additive_scm({("a", "b"): 1.0, ("b", "a"): 1.0})
    g = nx.DiGraph([("a", "b"), ("b", "a")])
    with pytest.raises(ValueError, match="acyclic"):
        ca.SCM(g, {}, {})
    scm = ca.additive_scm({("a", "b"): 1.0})
    with pytest.raises(ValueError, match="lacks the variables"):
        scm.do({"c": 1.0})
    with pytest.raises(ValueError, match="lacks the variables"):
        scm.counterfactual({"a": [1.0]}, {"a": 0.0})
    with pytest.raises(TypeError, match="n must be an integer"):
        scm.sample(10.5)


def test_smoking_scm_hides_the_confounder():
    scm = ca.smoking_scm()
    df = scm.sample(100, seed=0)
    assert list(df.columns) == ["smoking", "tar", "cancer"]
    assert "genotype" in scm.sample(10, include_hidden=True)
    assert scm.do({"smoking": 1}).sample(50).smoking.eq(1).all()


# ---------------------------------------------------------------- identification
def _table_to_frame(counts):
    rows = []
    for (x, m, y), k in counts.items():
        rows += [(x, m, y)] * k
    return pd.DataFrame(rows, columns=["x", "m", "y"])


def test_front_door_by_hand():
    # counts of (x, m, y); P(x=1) = 1/2
    counts = {(0, 0, 0): 30, (0, 0, 1): 10, (0, 1, 0): 5, (0, 1, 1): 5,
              (1, 0, 0): 8, (1, 0, 1): 2, (1, 1, 0): 10, (1, 1, 1): 30}
    df = _table_to_frame(counts)
    # by hand: P(m=1|x=1) = 40/50 = 0.8; P(y|m=0,x=0) = 10/40, P(y|m=0,x=1) = 2/10,
    # P(y|m=1,x=0) = 5/10, P(y|m=1,x=1) = 30/40; P(x=0) = P(x=1) = 0.5
    inner_m0 = 0.5 * 10 / 40 + 0.5 * 2 / 10  # 0.225
    inner_m1 = 0.5 * 5 / 10 + 0.5 * 30 / 40  # 0.625
    assert ca.front_door_estimate(df, "x", "m", "y", 1) == pytest.approx(0.2 * inner_m0 + 0.8 * inner_m1)
    assert ca.front_door_estimate(df, "x", "m", "y", 0) == pytest.approx(0.8 * inner_m0 + 0.2 * inner_m1)
    assert ca.naive_conditional(df, "x", "y", 1) == pytest.approx(32 / 50)


def test_front_door_recovers_the_intervention():
    scm = ca.smoking_scm()
    obs = scm.sample(100_000, seed=0)
    truth = scm.do({"smoking": 1}).sample(100_000, seed=1).cancer.mean()
    assert abs(ca.front_door_estimate(obs, "smoking", "tar", "cancer", 1) - truth) < 0.015


def test_identification_bad_input():
    df = pd.DataFrame({"x": [0, 1, 2], "m": [0, 1, 1], "y": [1, 0, 1]})
    with pytest.raises(ValueError, match="0 and 1"):
        ca.front_door_estimate(df, "x", "m", "y", 1)
    with pytest.raises(ValueError, match="lacks the columns"):
        ca.front_door_estimate(df, "w", "m", "y", 1)
    with pytest.raises(TypeError, match="DataFrame"):
        ca.naive_conditional(df.to_numpy(), "x", "y", 1)


def test_effect_estimators_on_a_known_effect():
    rng = np.random.default_rng(0)
    n = 4000
    x = rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int)
    y = 3.0 * x + 2.0 * t + rng.normal(scale=0.5, size=n)
    df = pd.DataFrame({"treat": t, "re78": y, "age": x})
    assert ca.ate_naive(df) > 3
    assert ca.att_regression(df, covariates=["age"]) == pytest.approx(2.0, abs=0.1)
    assert ca.att_ipw(df, covariates=["age"]) == pytest.approx(2.0, abs=0.3)
    with pytest.raises(ValueError, match="both treated and control"):
        ca.ate_naive(df.assign(treat=1))
    with pytest.raises(ValueError, match="lacks the columns"):
        ca.att_regression(df, covariates=["educ"])


def test_tarnet_shapes():
    net = ca.TARNet(5)
    assert net(torch.randn(7, 5)).shape == (7, 2)


# ---------------------------------------------------------------- bivariate orientation
def test_spacing_entropy_of_a_gaussian():
    rng = np.random.default_rng(0)
    x = rng.normal(size=5000)
    assert ca.spacing_entropy(x) == pytest.approx(0.5 * np.log(2 * np.pi * np.e), abs=0.05)


def test_conditional_nll_prefers_the_right_noise_model():
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, 2000)
    y = np.sin(x) + 0.3 * np.exp(x) * rng.normal(size=2000)
    assert ca.conditional_nll(x, y, scale=True) < ca.conditional_nll(x, y, scale=False) - 0.1


def test_direction_score_is_antisymmetric_and_finds_an_anm():
    x, y = ca.location_scale_pair(800, heteroscedasticity=1.0, seed=0)
    assert ca.direction_score(x, y) == pytest.approx(-ca.direction_score(y, x))
    assert ca.direction_score(x, y, scale=True) > 0


def test_orientation_bad_input():
    with pytest.raises(ValueError, match="same length"):
        ca.direction_score(np.arange(30.0), np.arange(40.0))
    with pytest.raises(ValueError, match="one-dimensional"):
        ca.direction_score(np.zeros((30, 2)), np.zeros((30, 2)))
    with pytest.raises(ValueError, match="constant"):
        ca.direction_score(np.ones(30), np.arange(30.0))
    with pytest.raises(ValueError, match="heteroscedasticity"):
        ca.location_scale_pair(100, heteroscedasticity=-1)


# ---------------------------------------------------------------- structure learning
def test_learn_dag_recovers_a_small_graph_and_is_acyclic():
    sem = ca.random_linear_sem(3, 1.0, 500, noise_range=(1.0, 1.0), seed=0)
    for score in ("ls", "colide"):
        W = ca.learn_dag(sem.X, score=score)
        assert nx.is_directed_acyclic_graph(nx.from_numpy_array((W != 0).astype(int), create_using=nx.DiGraph))
        assert ca.shd(sem.adjacency, W) == 0


def test_break_cycles_returns_a_dag():
    W = np.array([[0, 1.0, 0], [0, 0, 2.0], [0.5, 0, 0]])
    out = structure_learning._break_cycles(W)
    assert out[2, 0] == 0 and out[0, 1] == 1.0 and out[1, 2] == 2.0


def test_random_linear_sem_is_a_dag():
    sem = ca.random_linear_sem(8, 2.0, 50, seed=1)
    assert nx.is_directed_acyclic_graph(nx.from_numpy_array(sem.adjacency, create_using=nx.DiGraph))
    assert sem.X.shape == (50, 8)
    with pytest.raises(ValueError, match="noise_range"):
        ca.random_linear_sem(5, noise_range=(2.0, 1.0))


def test_pc_on_a_collider():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 3000))
    c = a + b + 0.5 * rng.normal(size=3000)
    A = ca.pc_cpdag(np.column_stack([a, b, c]))
    assert A[0, 2] == 1 and A[1, 2] == 1 and A[2, 0] == 0 and A[2, 1] == 0


def test_structure_learning_bad_input():
    with pytest.raises(ValueError, match="score"):
        ca.learn_dag(np.zeros((10, 3)), score="bic")
    with pytest.raises(ValueError, match="2-D"):
        ca.learn_dag(np.zeros(10))
    with pytest.raises(ValueError, match="dropout"):
        ca.dropout_chain(100, dropout=1.5)
    with pytest.raises(ValueError, match="lacks"):
        ca.ci_test_pvalue(ca.dropout_chain(100), "X", "W", ["Y"])


def test_dropouts_break_the_naive_test():
    r = ca.dropout_rejection_rates(reps=5, n=3000, seed=0)
    assert r["naive (zeros kept)"] == 1.0 and r["test-wise deletion"] <= 0.2


# ---------------------------------------------------------------- heterogeneity
def test_drifting_pair():
    X, c, truth, k = ca.drifting_pair(seed=0)
    assert X.shape == (1000, 2) and c.shape == (1000,) and set(truth) == {0, 1} and k in (0, 1)
    # the drifting column correlates with the domain index
    assert abs(np.corrcoef(X[:, k], c)[0, 1]) > 0.3


# ---------------------------------------------------------------- causal representations
def test_segment_sources_shapes_and_isotropy():
    d = ca.segment_sources(n_segments=10, n_per_segment=500, seed=0)
    assert d["x"].shape == (5000, 10) and d["s"].shape == (5000, 5) and d["u"].max() == 9
    # pooled source variances are all close to 1
    assert torch.allclose(d["s"].var(0), torch.ones(5), atol=0.15)
    with pytest.raises(ValueError, match="obs_dim"):
        ca.segment_sources(n_sources=4, obs_dim=3)


def test_whiten_gives_identity_covariance_and_an_orthogonal_mixing():
    d = ca.segment_sources(n_segments=10, n_per_segment=500, n_sources=3, obs_dim=6, noise=0.0, seed=0)
    w = ca.whiten(d["x"], 3)
    assert w.shape == (5000, 3)
    assert torch.allclose(w.T @ w / len(w), torch.eye(3), atol=1e-4)
    # w = s M exactly (no noise); M is orthogonal up to the sampling error of cov(s) = I
    M = torch.linalg.lstsq(d["s"], w).solution
    assert torch.allclose(M.T @ M, torch.eye(3), atol=0.15)
    with pytest.raises(ValueError, match="dim"):
        ca.whiten(d["x"], 7)
    with pytest.raises(ValueError, match="nonzero variance"):
        ca.whiten(d["x"], 6)
    with pytest.raises(TypeError, match="2-D"):
        ca.whiten(d["x"][:, 0], 1)


def test_linear_vae_loss_is_finite_and_ivae_has_a_prior_per_segment():
    d = ca.segment_sources(n_segments=4, n_per_segment=50, n_sources=3, obs_dim=5, seed=0)
    m = ca.LinearVAE(5, 3, n_segments=4)
    assert torch.isfinite(m.loss(d["x"], d["u"]))
    assert m.prior_logvar.weight.shape == (4, 3)
    assert ca.LinearVAE(5, 3).prior_logvar is None


# ---------------------------------------------------------------- intervention extrapolation
def test_action_latent_data_shapes_and_errors():
    d = ca.action_latent_data(200, action_range=1.0, seed=0)
    assert d["A"].shape == (200, 1) and d["X"].shape == (200, 3) and d["Y"].shape == (200, 1)
    assert d["A"].abs().max() <= 1.0
    with pytest.raises(ValueError, match="noise"):
        ca.action_latent_data(200, noise=0.0)


def test_bent_outcome_and_interventional_mean():
    z = torch.tensor([-4.0, -2.0, 0.0, 1.0, 2.0, 4.0])
    assert torch.allclose(ca.bent_outcome(z), torch.tensor([0.0, -2.0, 0.0, 1.0, 2.0, 0.0]))
    # with almost no noise, E[l(a + V)] is l(a)
    assert np.allclose(ca.interventional_mean([0.5, 3.0], noise=1e-4), [0.5, 1.0], atol=1e-3)


def test_linear_invariance_penalty_prefers_an_affine_code():
    d = ca.action_latent_data(4000, seed=1)
    A, Z = d["A"], d["Z"]
    affine = ca.linear_invariance_penalty(2 * Z + 1, A)
    curved = ca.linear_invariance_penalty(torch.exp(Z), A)
    assert affine < 0.05 < curved
    with pytest.raises(ValueError, match="shape"):
        ca.linear_invariance_penalty(Z.ravel(), A)


def test_extrapolate_with_true_latent_is_accurate():
    d = ca.action_latent_data(2000, seed=0)
    pred = ca.extrapolate_with_representation(d["Z"], d["A"], d["Y"], [0.0, 1.0], steps=400)
    assert np.allclose(pred, ca.interventional_mean([0.0, 1.0]), atol=0.15)
    with pytest.raises(ValueError, match="shape"):
        ca.extrapolate_with_representation(d["Z"].ravel(), d["A"], d["Y"], [0.0])


def test_confounded_outcome_and_control_function():
    d = ca.action_latent_data(5000, seed=0, confounding=1.0)
    V = d["Z"] - d["A"]
    assert torch.allclose(d["Y_confounded"], d["Y"] + V)  # the same draws, the confounder added
    assert torch.equal(ca.action_latent_data(5000, seed=0, confounding=0.0)["Y_confounded"], d["Y"])
    acts = [2.5, 3.0, 3.5]
    truth = ca.interventional_mean(acts)
    naive = ca.extrapolate_with_representation(d["Z"], d["A"], d["Y_confounded"], acts, steps=1000)
    cf = ca.extrapolate_with_representation(d["Z"], d["A"], d["Y_confounded"], acts, steps=1000, control_function=True)
    # the confounder tilts the naive second stage (about 2 too high here); the control function removes most of it
    assert np.abs(naive - truth).mean() > 1.0 and np.abs(cf - truth).mean() < 0.5 * np.abs(naive - truth).mean()


def test_intervention_extrapolation_without_baselines():
    """``baselines=False`` leaves out only the MLP and the oracle; the encoder and its columns
    are the same as with them (what section 4.6's control relies on to train those once)."""
    full = ca.intervention_extrapolation(n=400, steps=20, grid=[0.0, 3.0], seed=0, lam=0.0)
    lean = ca.intervention_extrapolation(n=400, steps=20, grid=[0.0, 3.0], seed=0, lam=0.0, baselines=False)
    assert set(full.columns) - set(lean.columns) == {"MLP from A", "true latent (oracle)"}
    assert np.array_equal(full["truth"], lean["truth"]) and np.array_equal(full["unseen"], lean["unseen"])
    assert np.allclose(full["Rep4Ex"], lean["Rep4Ex"], atol=1e-6)


def test_extrapolation_mse_and_bad_table():
    tab = pd.DataFrame({"truth": [0.0, 1.0, 1.0], "m": [0.0, 2.0, 1.0], "unseen": [False, True, True]}, index=[0.0, 2.0, -3.0])
    assert ca.extrapolation_mse(tab, lo=2.0)["m"] == 0.5
    with pytest.raises(ValueError, match="truth"):
        ca.extrapolation_mse(pd.DataFrame({"m": [1.0]}))


# ---------------------------------------------------------------- the device rule (core.train ports)
def test_trainers_take_a_device_and_return_cpu_results():
    rng = np.random.default_rng(0)
    n = 300
    x = rng.normal(size=n)
    t = (rng.random(n) < 0.4).astype(int)
    df = pd.DataFrame({"treat": t, "re78": 1000 * x + 500 * t, "age": x})
    assert np.isfinite(ca.att_tarnet(df, covariates=["age"], steps=10, batch_size=64, device="cpu"))
    data = ca.segment_sources(n_segments=4, n_per_segment=50, n_sources=2, obs_dim=3, seed=0)
    assert 0 <= ca.fit_latent_model(data, identifiable=True, steps=5, device="cpu") <= 1
    d = ca.action_latent_data(200, seed=0)
    enc = ca.fit_rep4ex_encoder(d["A"], d["X"], steps=5, device="cpu")
    phi = enc(d["X"])
    assert phi.shape == (200, 1) and phi.device.type == "cpu"
    pred = ca.extrapolate_with_representation(phi, d["A"], d["Y"], [0.0, 3.0], steps=5, device="cpu")
    assert pred.shape == (2,)
    with pytest.raises(TypeError, match="device"):
        ca.fit_latent_model(data, identifiable=False, steps=5, device=1.5)


def test_fastica_and_rotation_baselines():
    data = ca.segment_sources(n_segments=20, n_per_segment=100, n_sources=3, obs_dim=4, seed=0)
    assert ca.fastica_mcc(data) > 0.9
    assert 0 < ca.random_rotation_mcc(data, seed=1) < 1
    gauss = ca.segment_sources(n_segments=20, n_per_segment=100, n_sources=3, obs_dim=4, seed=0, variance_range=(1.0, 1.0))
    assert np.allclose(gauss["s"].var(0).numpy(), 1.0, atol=0.15)
    with pytest.raises(ValueError, match="variance_range"):
        ca.segment_sources(variance_range=(2.0, 1.0))


def test_leaky_mixing_is_an_invertible_nonlinear_map():
    s = torch.randn(500, 3, generator=torch.Generator().manual_seed(0))
    x = ca.leaky_mixing(s, layers=2, seed=1)
    assert x.shape == s.shape
    assert torch.equal(x, ca.leaky_mixing(s, layers=2, seed=1))
    # one layer with slope 1 is a rotation: norms are kept
    r = ca.leaky_mixing(s, layers=1, slope=1.0, seed=1)
    assert torch.allclose(r.norm(dim=1), s.norm(dim=1), atol=1e-5)
    # with slope < 1 no linear map reproduces it
    coef = torch.linalg.lstsq(s, x).solution
    assert float((s @ coef - x).pow(2).mean()) > 1e-3
    with pytest.raises(ValueError, match="slope"):
        ca.leaky_mixing(s, slope=0.0)
    with pytest.raises(ValueError, match="layers"):
        ca.leaky_mixing(s, layers=0)
    with pytest.raises(TypeError, match="s must"):
        ca.leaky_mixing(s.numpy())


def test_tcl_components_shape_and_inputs():
    d = ca.segment_sources(n_segments=6, n_per_segment=50, n_sources=2, obs_dim=2, noise=0.0, seed=0)
    x = ca.leaky_mixing(d["s"], seed=0)
    est = ca.tcl_components(x, d["u"], steps=20, width=8, seed=0, device="cpu")
    assert est.shape == (300, 2) and np.isfinite(est).all()
    assert 0 <= ca.mcc(d["s"].abs(), est) <= 1
    with pytest.raises(ValueError, match="u must"):
        ca.tcl_components(x, d["u"][:10], steps=5)
    with pytest.raises(TypeError, match="x must"):
        ca.tcl_components(x.numpy(), d["u"], steps=5)


def test_nonlinear_comparison_keys():
    out = ca.nonlinear_comparison(seed=0, layers=1, steps=30, device="cpu")
    assert set(out) == {"fastica", "fastica_signed", "tcl", "tcl_shuffled"}
    assert all(0 <= v <= 1 for v in out.values())
