"""Unit tests of section 4.4: orientation verdicts, CD-NOD, the causal de Finetti test and
the Sachs condition labels."""

import numpy as np
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
