"""Unit tests of section 4.4: orientation verdicts, CD-NOD, the causal de Finetti test and
the Sachs condition labels."""

import numpy as np
import pandas as pd
import pytest

from biaslab import causal as ca
from biaslab.datasets import causal_data as cd


def test_orientation_verdict():
    A = np.array([[0, 1], [0, 0]])
    assert ca.orientation_verdict(A, (0, 1)) == "correct" and ca.orientation_verdict(A, (1, 0)) == "reversed"
    assert ca.orientation_verdict(np.ones((2, 2)), (0, 1)) == "undirected"
    assert ca.orientation_verdict(np.zeros((2, 2)), (0, 1)) == "missing"


def test_cdnod_orients_a_drifting_cause_that_pc_cannot():
    X, c, truth, k = ca.drifting_pair(seed=0)
    A = ca.cdnod_cpdag(X, c)
    assert A.shape == (3, 3) and ca.orientation_verdict(A, truth) == "correct"
    assert ca.orientation_verdict(ca.pc_cpdag(X), truth) == "undirected"
    with pytest.raises(ValueError, match="shapes"):
        ca.cdnod_cpdag(X, c[:-1])


def test_exchangeable_environments_and_de_finetti():
    D, truth = ca.exchangeable_pair_environments(3000, seed=1)
    assert D.shape == (3000, 2, 2) and set(truth) == {0, 1}
    assert ca.de_finetti_direction(D) == truth
    D_iid, _ = ca.exchangeable_pair_environments(500, seed=1, heterogeneous=False)
    # i.i.d.: the two samples of an environment are independent
    assert abs(np.corrcoef(D_iid[:, 0, 0], D_iid[:, 1, 0])[0, 1]) < 0.15
    with pytest.raises(ValueError, match="shape"):
        ca.de_finetti_direction(np.zeros((10, 3, 2)))
    assert 0 <= ca.de_finetti_accuracy(n_problems=4, n_envs=200, seed=0) <= 1


def test_sachs_conditions_match_the_change_points():
    s = cd.load_sachs()
    cond = s.condition
    assert len(cond) == 7466 and cond.max() == 8 and np.bincount(cond).tolist() == [n for _, n in cd.SACHS_CONDITIONS]
    X = np.log(s.data.to_numpy())
    z = (X - X.mean(0)) / X.std(0)
    for k in np.flatnonzero(np.diff(cond))[1:] + 1:  # the first boundary separates two similar conditions
        jump = np.linalg.norm(z[k - 100:k].mean(0) - z[k:k + 100].mean(0))
        inside = np.linalg.norm(z[k - 300:k - 200].mean(0) - z[k - 200:k - 100].mean(0))
        assert jump > 2 * inside


def test_icp_environments_shapes_and_invariant_mechanism():
    X, y, env, causes = ca.icp_environments(n_per_env=400, seed=3)
    assert X.shape == (1200, 4) and y.shape == env.shape == (1200,) and causes == {0, 1}
    assert set(np.unique(env)) == {0, 1, 2}
    # Y's regression on its causes has the same coefficients in every environment
    coefs = [np.linalg.lstsq(np.column_stack([np.ones((env == e).sum()), X[env == e][:, :2]]), y[env == e], rcond=None)[0]
             for e in range(3)]
    assert np.allclose(coefs[0], coefs[1], atol=0.2) and np.allclose(coefs[0], coefs[2], atol=0.2)
    X_iid, *_ = ca.icp_environments(n_per_env=400, seed=3, heterogeneous=False)
    assert abs(X_iid[env == 1, 0].mean() - X_iid[env == 0, 0].mean()) < 0.2
    with pytest.raises(ValueError, match="n_per_env"):
        ca.icp_environments(n_per_env=2)


def test_invariant_causal_prediction_finds_the_causes_and_is_conservative():
    X, y, env, causes = ca.icp_environments(seed=0)
    est, table = ca.invariant_causal_prediction(X, y, env)
    assert est == causes and len(table) == 16
    assert table.loc["{X0, X1}", "accepted"] and not table.loc["{X2}", "accepted"]
    # nothing changes: the empty set is invariant, the estimate is empty
    X0, y0, env0, _ = ca.icp_environments(seed=0, heterogeneous=False)
    est0, table0 = ca.invariant_causal_prediction(X0, y0, env0)
    assert est0 == frozenset() and table0.loc["{}", "accepted"]
    # the pooled regression baseline keeps the effect X2
    assert 2 in ca.heterogeneity._significant_predictors(X, y)
    for bad, match in [((X[:, 0], y, env), "X must"), ((X, y, np.zeros(len(y))), "two environments"),
                       ((np.zeros((len(y), 11)), y, env), "10 or fewer")]:
        with pytest.raises(ValueError, match=match):
            ca.invariant_causal_prediction(*bad)
    with pytest.raises(ValueError, match="alpha"):
        ca.invariant_causal_prediction(X, y, env, alpha=1.5)
    acc = ca.icp_accuracy(n_problems=3, seed=0)
    assert set(acc) == {"icp_found", "icp_false", "icp_exact", "regression_false"}
    assert acc["icp_found"] == 1.0 and acc["regression_false"] == 1.0


def test_plot_icp_subsets():
    import matplotlib.pyplot as plt

    _, table = ca.invariant_causal_prediction(*ca.icp_environments(seed=0)[:3])
    ax = ca.plot_icp_subsets(table)
    assert len(ax.patches) == 16
    plt.close("all")
    with pytest.raises(TypeError, match="invariant_causal_prediction"):
        ca.plot_icp_subsets(pd.DataFrame({"x": [1]}))
