"""Every chapter-2 claim, re-checked with seeds 1 and 2 (the notebooks run seed 0).

Each test calls the same biaslab functions with the same settings as its notebook and
asserts the same thresholds.
"""

import os
import pytest

from biaslab import spurious as sp

# Seeds 1 and 2 by default; BIASLAB_CLAIM_SEEDS="3,4" re-checks every claim with other seeds.
SEEDS = [int(s) for s in os.environ.get("BIASLAB_CLAIM_SEEDS", "1,2").split(",")]


@pytest.mark.parametrize("seed", SEEDS)
def test_repairs_with_group_labels_claims(seed):
    ds = sp.colored_digits(rho=0.95, seed=seed, val_rho=0.5)
    base, m_erm = sp.erm(ds, seed=seed)
    methods = {
        "reweight": sp.reweight(ds, weight_decay=1e-2, seed=seed)[1],
        "group_dro": sp.group_dro(ds, eta=0.1, weight_decay=1e-2, seed=seed)[1],
        "llr": sp.last_layer_retrain(ds, base_model=base, seed=seed)[1],
    }
    for name, m in methods.items():
        assert 100 * (m["worst_group_acc"] - m_erm["worst_group_acc"]) >= 15, (name, m, m_erm)
        if name != "llr":  # last-layer retraining's cost is reported, not claimed (fails on 3 of seeds 3-6)
            assert 100 * (m_erm["avg_acc"] - m["avg_acc"]) <= 5, (name, m, m_erm)


@pytest.mark.parametrize("seed", SEEDS)
def test_repairs_without_group_labels_claims(seed):
    ds = sp.colored_digits(rho=0.95, seed=seed)
    _, m_erm = sp.erm(ds, seed=seed)
    _, m_jtt = sp.jtt(ds, first_steps=50, upweight=30.0, weight_decay=1e-2, seed=seed)
    assert 100 * (m_jtt["worst_group_acc"] - m_erm["worst_group_acc"]) >= 10, (m_jtt, m_erm)
    assert m_jtt["error_set_minority_share"] >= 0.9, m_jtt
    _, m_ind = sp.debias_by_independence(ds, lam=1.0, steps=1000, weight_decay=1e-2, seed=seed)
    assert 100 * (m_ind["worst_group_acc"] - m_erm["worst_group_acc"]) >= 10, (m_ind, m_erm)


@pytest.mark.parametrize("seed", SEEDS)
def test_counterfactual_data_claims(seed):
    ds = sp.colored_digits(rho=0.95, seed=seed)
    _, m_erm = sp.erm(ds, seed=seed)
    _, m_cf = sp.counterfactual_augment(ds, seed=seed)
    assert 100 * (m_cf["worst_group_acc"] - m_erm["worst_group_acc"]) >= 20, (m_cf, m_erm)
    _, m_mix = sp.synthetic_fill(ds, artifact=1.0, seed=seed)
    _, m_ffr = sp.fake_to_real(ds, artifact=1.0, seed=seed)
    assert 100 * (m_ffr["worst_group_acc"] - m_mix["worst_group_acc"]) >= 10, (m_ffr, m_mix)


@pytest.mark.parametrize("seed", SEEDS)
def test_invariance_claims(seed):
    import torch

    train_envs = sp.linear_environments((0.5, 1.0), n=50_000, seed=seed)
    test_envs = sp.linear_environments((0.5,), n=50_000, flip=True, seed=seed + 100)
    oracle_beta = torch.tensor([1.0, 0.0])
    oracle = sp.linear_test_error(oracle_beta, test_envs)
    beta_erm = sp.fit_invariant_linear(train_envs, penalty="none", steps=3000, seed=seed)
    beta_irm = sp.fit_invariant_linear(train_envs, penalty="irmv1", lam=1e5, steps=5000, seed=seed)
    beta_inv, _ = sp.invariant_subset_fit(train_envs)
    ratios = {name: sp.linear_test_error(b, test_envs) / oracle
              for name, b in {"erm": beta_erm, "irm": beta_irm, "subset": beta_inv}.items()}
    assert ratios["irm"] <= 1.2 and ratios["subset"] <= 1.2 and ratios["erm"] >= 2, ratios

    small_envs = sp.linear_environments((0.5, 1.0), n=5_000, seed=seed)
    beta_small = sp.fit_invariant_linear(small_envs, penalty="irmv1", lam=1e5, steps=5000, seed=seed)

    def pen(b):
        return float(torch.stack([sp.irmv1_penalty(b, X, y) for X, y in small_envs]).mean())

    assert abs(float(beta_small[1])) >= 0.03 and pen(beta_small) < pen(oracle_beta), (beta_small, pen(beta_small))


@pytest.mark.parametrize("seed", SEEDS)
def test_value_of_ood_data_claim(seed):
    curve = sp.ood_value_curve(seed=seed)
    fall, rise = curve.iloc[0] - curve.min(), curve.iloc[-1] - curve.min()
    assert fall >= 1.5 and rise >= 1.5 and 0 < curve.idxmin() < curve.index[-1], curve


@pytest.mark.parametrize("seed", SEEDS)
def test_diversification_claim(seed):
    m20 = sp.diversify_two_heads(conflict=0.2, seed=seed)[1]
    m0 = sp.diversify_two_heads(conflict=0.0, seed=seed)[1]
    assert m20["head2_slab_only"] >= 0.9 and m0["head2_slab_only"] <= 0.6, (m20, m0)
    assert min(m20["head2_train"], m0["head2_train"]) >= 0.99, (m20, m0)
