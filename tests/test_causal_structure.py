"""Unit tests of section 4.3's baselines and scoring: varsortability, sortnregress, GES, the
true graph's CPDAG, the benchmark table, the reference NOTEARS and the dropout power."""

import logging

import numpy as np
import pytest

from biaslab import causal as ca

CHAIN = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
COLLIDER = np.array([[0, 0, 1], [0, 0, 1], [0, 0, 0]])


def _chain_data(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = 1.5 * x + rng.normal(size=n)
    z = 1.5 * y + rng.normal(size=n)
    return np.column_stack([x, y, z])


def test_varsortability_by_hand():
    X = _chain_data()
    assert ca.varsortability(X, CHAIN) == 1.0  # variances grow along the chain
    assert ca.varsortability(X[:, ::-1], CHAIN[::-1, ::-1].T) == 0.0  # ... and shrink against it
    Xs = (X - X.mean(0)) / X.std(0)
    assert ca.varsortability(Xs, CHAIN) == 0.5  # all ties
    with pytest.raises(ValueError, match="no edges"):
        ca.varsortability(X, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="one node per column"):
        ca.varsortability(X, np.zeros((4, 4)))


def test_sortnregress_follows_the_variances():
    X = _chain_data()
    assert ca.shd(CHAIN, ca.sortnregress(X)) == 0
    # reverse the variance order by shrinking the effects: now it gets the arrows backwards
    Xr = X / np.array([1.0, 10.0, 100.0])
    W = ca.sortnregress(Xr)
    assert W[1, 0] != 0 and W[2, 1] != 0 and W[0, 1] == 0
    with pytest.raises(ValueError, match="2-D"):
        ca.sortnregress(np.zeros(5))


def test_cpdag_of_chain_and_collider():
    und = ca.cpdag_of(CHAIN)
    assert (und == und.T).all() and und.sum() == 4  # the chain's class leaves both edges undirected
    assert (ca.cpdag_of(COLLIDER) == COLLIDER).all()  # a v-structure is oriented
    with pytest.raises(ValueError, match="acyclic"):
        ca.cpdag_of(np.array([[0, 1], [1, 0]]))


def test_causallearn_encoding_and_ges_on_a_collider():
    G = np.array([[0, -1, 0], [1, 0, -1], [0, -1, 0]])  # 0 -> 1, 1 - 2
    A = ca.cpdag_adjacency(G)
    assert A[0, 1] == 1 and A[1, 0] == 0 and A[1, 2] == A[2, 1] == 1
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 3000))
    X = np.column_stack([a, b, a + b + 0.5 * rng.normal(size=3000)])
    assert (ca.ges_cpdag(X) == COLLIDER).all()
    with pytest.raises(ValueError, match="square"):
        ca.cpdag_adjacency(np.zeros(3))


def test_benchmark_table_and_summary():
    bench = ca.structure_benchmark(seed=0, n_graphs=1, d=5, n=300)
    assert set(bench["method"]) == set(ca.learn_graphs(np.random.default_rng(0).normal(size=(50, 3)))) 
    assert set(bench["data"]) == {"raw", "standardized"} and (bench["SHD (CPDAG)"] >= 0).all()
    empty = bench.query("method == 'empty graph'")
    assert (empty["SHD (DAG)"] == empty["true edges"]).all()
    summary = ca.benchmark_summary(bench)
    assert summary.shape == (6, 4)
    pc = bench.query("method == 'PC'")
    assert pc["SHD (DAG)"].iloc[0] == pc["SHD (DAG)"].iloc[1]  # PC is scale-free
    with pytest.raises(ValueError, match="structure_benchmark"):
        ca.benchmark_summary(bench.drop(columns="method"))


def test_learn_dag_matches_the_reference_notears():
    """Our least-squares learner against gCastle's port of the NOTEARS reference code."""
    import torch

    dtype, level = torch.get_default_dtype(), logging.getLogger().level
    try:
        from castle.algorithms import Notears  # importing gCastle sets torch's default dtype and the log level
    finally:
        torch.set_default_dtype(dtype)
        logging.getLogger().setLevel(level)
    for seed in (0, 1):
        sem = ca.random_linear_sem(5, 1.0, 500, seed=seed)
        ref = Notears(lambda1=0.05, loss_type="l2", w_threshold=0.3)
        ref.learn(sem.X)
        ours = ca.learn_dag(sem.X, "ls", lam=0.05, threshold=0.3)
        assert ((ours != 0).astype(int) == np.asarray(ref.causal_matrix)).all()
        kept = ours != 0
        assert np.allclose(ours[kept], np.asarray(ref.weight_causal_matrix)[kept], atol=0.05)


def test_dropout_power_and_direct_edge():
    df = ca.dropout_chain(2000, seed=0, direct=1.0)
    assert np.corrcoef(df["X_true"], df["Z_true"])[0, 1] > np.corrcoef(ca.dropout_chain(2000, seed=0)["X_true"],
                                                                         ca.dropout_chain(2000, seed=0)["Z_true"])[0, 1]
    r = ca.dropout_rejection_rates(reps=5, n=1000, seed=0)
    assert r["test-wise deletion, X -> Z"] >= 0.8 and set(r) >= {"naive, X -> Z", "no dropouts"}
