"""Unit tests of biaslab.spurious: hand-made cases with known answers, and bad input."""

import numpy as np
import pytest
import torch

from biaslab import spurious as sp
from biaslab.spurious import repairs_with_group_labels


# ---------------------------------------------------------------- group metrics
def test_worst_group_accuracy_hand_made_table():
    # group 0: 3/4 right, group 1: 1/2 right, group 2: 2/2 right
    y_true = [0, 0, 0, 0, 1, 1, 1, 1]
    y_pred = [0, 0, 0, 1, 1, 0, 1, 1]
    groups = [0, 0, 0, 0, 1, 1, 2, 2]
    accs = sp.group_accuracies(y_true, y_pred, groups)
    assert accs == {0: 0.75, 1: 0.5, 2: 1.0}
    assert sp.worst_group_accuracy(y_true, y_pred, groups) == 0.5
    assert sp.worst_group_accuracy(np.array(y_true), torch.tensor(y_pred), groups) == 0.5


def test_group_table_rows_and_names():
    df = sp.group_table([0, 0, 1, 1], [0, 1, 1, 1], [0, 0, 1, 1], group_names=["a", "b"])
    assert list(df.index) == ["a", "b", "all"]
    assert df.loc["a", "accuracy"] == 0.5 and df.loc["b", "accuracy"] == 1.0
    assert df.loc["all", "accuracy"] == 0.75 and df.loc["all", "n"] == 4


@pytest.mark.parametrize(
    "args, err, msg",
    [
        (([0, 1], [0], [0, 1]), ValueError, "same length"),
        (([], [], []), ValueError, "empty"),
        (([[0, 1]], [[0, 1]], [[0, 1]]), ValueError, "one-dimensional"),
        (("ab", [0, 1], [0, 1]), TypeError, "y_true"),
    ],
)
def test_group_metrics_bad_input(args, err, msg):
    with pytest.raises(err, match=msg):
        sp.worst_group_accuracy(*args)


def test_group_table_too_few_names():
    with pytest.raises(ValueError, match="group_names"):
        sp.group_table([0, 1, 1], [0, 1, 1], [0, 1, 2], group_names=["a", "b"])


# ---------------------------------------------------------------- GroupDRO
def test_group_dro_weights_move_toward_worst_group():
    q = torch.full((3,), 1 / 3)
    losses = torch.tensor([0.1, 2.0, 0.5])
    q1 = sp.group_dro_update(q, losses, eta=0.5)
    assert torch.isclose(q1.sum(), torch.tensor(1.0))
    assert q1.argmax() == 1 and q1[1] > q[1] and q1[0] < q[0]
    expected = torch.exp(0.5 * losses) / torch.exp(0.5 * losses).sum()
    assert torch.allclose(q1, expected)
    # eta = 0 leaves the weights unchanged
    assert torch.allclose(sp.group_dro_update(q, losses, eta=0.0), q)


def test_group_dro_on_tiny_batch_upweights_the_minority():
    # tiny hand-made batch: a linear model that predicts class 0 for everything is wrong only
    # on group 1 (a minority), so after a few steps q puts most weight there.
    X = torch.tensor([[1.0, 0.0]] * 6 + [[0.0, 1.0]] * 2)
    y = torch.tensor([0] * 6 + [1] * 2)
    g = torch.tensor([0] * 6 + [1] * 2)
    data = sp.GroupData(X, y, g, g)
    ds = sp.SpuriousDataset(data, data, data, data, n_groups=2)
    _, metrics = sp.group_dro(ds, eta=1.0, depth=0, steps=3, lr=1e-6, return_history=True)
    q_hist = metrics["q_history"]
    assert q_hist.shape == (3, 2)
    assert q_hist[-1, 1] > 0.5 and np.all(np.diff(q_hist[:, 1]) > 0)


def test_group_dro_update_bad_input():
    with pytest.raises(ValueError, match="probability"):
        sp.group_dro_update(torch.tensor([0.5, 0.6]), torch.tensor([1.0, 1.0]), 0.1)
    with pytest.raises(ValueError, match="same shape"):
        sp.group_dro_update(torch.tensor([0.5, 0.5]), torch.tensor([1.0]), 0.1)
    with pytest.raises(ValueError, match="eta"):
        sp.group_dro_update(torch.tensor([0.5, 0.5]), torch.tensor([1.0, 1.0]), -1.0)


# ---------------------------------------------------------------- datasets
def test_colored_digits_structure():
    ds = sp.colored_digits(rho=0.9, seed=0)
    assert ds.in_dim == 128 and ds.n_groups == 4
    n_total = len(ds.train) + len(ds.val) + len(ds.test)
    assert n_total == 1797 and len(ds.test_id) == len(ds.test)
    for split in (ds.train, ds.test):
        assert torch.equal(split.g, 2 * split.y + split.a)
        # each image lies entirely in the channel named by its color
        ink = split.X.view(-1, 2, 64).sum(2)
        assert torch.equal(ink.argmax(1), split.a)
    agree = (ds.train.a == ds.train.y).float().mean()
    assert 0.86 < agree < 0.94
    counts = torch.bincount(ds.test.g, minlength=4)
    # at test, color is balanced within each class
    assert abs(counts[0] - counts[1]) <= 1 and abs(counts[2] - counts[3]) <= 1
    # the two test splits hold the same images, colored differently
    assert torch.allclose(ds.test.X.view(-1, 2, 64).sum(1), ds.test_id.X.view(-1, 2, 64).sum(1))


def test_colored_digits_bad_input():
    with pytest.raises(ValueError, match="rho"):
        sp.colored_digits(rho=1.5)
    with pytest.raises(TypeError, match="rho"):
        sp.colored_digits(rho="high")


def test_color_swap_is_an_involution_and_swaps_channels():
    ds = sp.colored_digits(seed=0)
    X = ds.train.X[:10]
    Xs = sp.color_swap(X)
    assert torch.equal(sp.color_swap(Xs), X)
    assert torch.equal(Xs.view(-1, 2, 64).sum(2).argmax(1), 1 - ds.train.a[:10])
    with pytest.raises(ValueError, match="128"):
        sp.color_swap(torch.zeros(3, 64))


def test_waterbirds_like_minority_share():
    ds = sp.waterbirds_like(n_train=4000, minority_frac=0.05, seed=0)
    share = (ds.train.a != ds.train.y).float().mean()
    assert 0.03 < share < 0.07
    assert ds.in_dim == 20
    assert torch.bincount(ds.test.g, minlength=4).min() > 0
    with pytest.raises(ValueError, match="minority_frac"):
        sp.waterbirds_like(minority_frac=2.0)


def test_lms_slab_both_coordinates_predict_the_label():
    X, y = sp.lms_slab(1000, n_slabs=5, seed=0)
    assert X.shape == (1000, 50)
    assert torch.equal((X[:, 0] > 0).long(), y)
    # slab label: middle slab (|x| < 0.2) and outer slabs are class 1, the others class 0
    x1 = X[:, 1]
    slab = ((x1 + 1) / 0.4).floor().long().clamp(0, 4)
    assert torch.equal((slab % 2 == 0).long(), y)
    with pytest.raises(ValueError, match="odd"):
        sp.lms_slab(n_slabs=4)


def test_shuffle_coordinate_keeps_marginal():
    X, _ = sp.lms_slab(200, seed=0)
    Xs = sp.shuffle_coordinate(X, 0, seed=1)
    assert torch.equal(Xs[:, 1:], X[:, 1:])
    assert torch.equal(Xs[:, 0].sort().values, X[:, 0].sort().values)
    with pytest.raises(ValueError, match="coord"):
        sp.shuffle_coordinate(X, 99)


def test_cue_conflict_sprites_cues():
    X, cues = sp.cue_conflict_sprites(50, seed=0)
    assert X.shape == (50, 200)
    assert all(np.array_equal(cues[k], cues["label"]) for k in sp.CUES)
    Xc, _ = sp.cue_conflict_sprites(4, cues={"color": [0, 1, 0, 1], "shape": [0] * 4, "scale": [1] * 4}, noise=0.0)
    ink = Xc.view(4, 2, -1).sum(2)
    assert torch.equal(ink.argmax(1), torch.tensor([0, 1, 0, 1]))
    assert torch.allclose(ink.sum(1), torch.full((4,), 49.0))  # large filled square
    with pytest.raises(ValueError, match="cues"):
        sp.cue_conflict_sprites(4, cues={"color": [0, 1, 0, 1]})


def test_feature_contamination_data_shift_flips_background_only():
    X, y = sp.feature_contamination_data(100, 5, seed=0)
    Xs, ys = sp.feature_contamination_data(100, 5, shift=True, seed=0)
    assert torch.equal(y, ys) and torch.equal(X[:, 0], Xs[:, 0])
    assert (X[:, 1:] >= 0).all() and torch.equal(Xs[:, 1:], -X[:, 1:])


def test_two_layer_relu_is_antisymmetric_logits():
    m = sp.TwoLayerReLU(3, 4)
    out = m(torch.randn(5, 3))
    assert torch.allclose(out[:, 0], -out[:, 1])
    assert m.a.sum() == 0


# ---------------------------------------------------------------- methods
@pytest.fixture(scope="module")
def small_ds():
    return sp.colored_digits(rho=0.95, seed=0)


def test_erm_returns_model_and_metrics(small_ds):
    model, metrics = sp.erm(small_ds, steps=20)
    assert isinstance(model, torch.nn.Module)
    assert {"avg_acc", "worst_group_acc", "balanced_acc", "group_0"} <= set(metrics)
    assert metrics["worst_group_acc"] <= metrics["balanced_acc"]


def test_methods_reject_bad_input(small_ds):
    with pytest.raises(TypeError, match="SpuriousDataset"):
        sp.erm("not a dataset")
    with pytest.raises(TypeError, match="unknown training"):
        sp.erm(small_ds, stepz=3)
    with pytest.raises(ValueError, match="n_subsets"):
        sp.last_layer_retrain(small_ds, n_subsets=0)
    with pytest.raises(ValueError, match="Cs"):
        sp.last_layer_retrain(small_ds, Cs=[])
    with pytest.raises(ValueError, match="C must be a finite number > 0"):
        sp.last_layer_retrain(small_ds, C=0.0)
    with pytest.raises(ValueError, match="val_rho"):
        sp.colored_digits(0.95, val_rho=1.5)


def test_colored_digits_val_rho_changes_only_the_validation_colors():
    skewed, balanced = sp.colored_digits(0.95, seed=0), sp.colored_digits(0.95, seed=0, val_rho=0.5)
    for split in ("train", "test_id", "test"):
        assert torch.equal(getattr(skewed, split).X, getattr(balanced, split).X)
    assert torch.equal(skewed.val.y, balanced.val.y)
    agree = (balanced.val.a == balanced.val.y).float().mean()
    assert 0.4 < agree < 0.6 and (skewed.val.a == skewed.val.y).float().mean() > 0.9


def test_dfr_fit_matches_sklearn_on_one_balanced_subset():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(4), 25)
    y = g // 2
    Z = rng.normal(size=(100, 3)) + y[:, None] * np.array([2.0, 0.0, 0.0])
    coef, b = repairs_with_group_labels._dfr_fit(Z, y, g, 4, C=1.0, n_subsets=1, seed=0)
    ref = LogisticRegression(C=1.0, l1_ratio=1.0, solver="liblinear").fit(Z, y)
    np.testing.assert_allclose(coef, ref.coef_[0], atol=1e-2)  # same fit, up to solver tolerance
    assert coef[0] > 0 and abs(b - ref.intercept_[0]) < 1e-2


def test_last_layer_retrain_chooses_C_on_held_out_data_only(small_ds):
    import dataclasses

    ds = sp.colored_digits(0.95, seed=0, val_rho=0.5)
    base = sp.fit_classifier(ds.train.X, ds.train.y, steps=30)
    _, m = sp.last_layer_retrain(ds, base_model=base, n_subsets=2, Cs=(0.3, 3.0), n_splits=1)
    assert m["C"] in (0.3, 3.0) and set(m["val_scores"]) == {0.3, 3.0}
    # the choice cannot depend on the test split: scramble the test labels, same C
    scrambled = dataclasses.replace(ds, test=dataclasses.replace(ds.test, y=1 - ds.test.y))
    _, m2 = sp.last_layer_retrain(scrambled, base_model=base, n_subsets=2, Cs=(0.3, 3.0), n_splits=1)
    assert m2["C"] == m["C"] and m2["val_scores"] == m["val_scores"]
    _, m3 = sp.last_layer_retrain(ds, base_model=base, n_subsets=2, C=1.0)
    assert m3["C"] == 1.0 and m3["val_scores"] == {}


def test_evaluate_hand_made_model():
    # a model that reads only the color channel: perfect on majority groups, wrong on minority
    X = sp.colored_digits(seed=0)
    ds = X

    class ColorModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.dummy = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            ink = x.view(len(x), 2, 64).sum(2)
            return ink

    m = sp.evaluate(ColorModel(), ds)
    assert m["worst_group_acc"] == 0.0
    assert m["group_0"] == 1.0 and m["group_3"] == 1.0
    assert abs(m["balanced_acc"] - 0.5) < 0.01


def test_minority_clusters_on_a_color_model_find_the_minority():
    # features = the ink in each color channel: within a class the smaller cluster is the
    # bias-conflicting color, exactly
    ds = sp.colored_digits(rho=0.9, seed=0)
    ink = torch.nn.Sequential(torch.nn.Linear(128, 2), torch.nn.ReLU(), torch.nn.Linear(2, 2))
    with torch.no_grad():
        ink[0].weight.zero_()
        ink[0].weight[0, :64] = 1.0
        ink[0].weight[1, 64:] = 1.0
        ink[0].bias.zero_()
    flagged = sp.minority_clusters(ink, ds.train, seed=0)
    assert np.array_equal(flagged, (ds.train.a != ds.train.y).numpy())
    assert sp.minority_recovery(flagged, ds.train) == {"recall": 1.0, "precision": 1.0}
    rnd = sp.shuffle_within_class(flagged, ds.train.y, seed=0)
    # same number flagged per class, and about the minority share of them bias-conflicting
    for c in (0, 1):
        assert rnd[ds.train.y.numpy() == c].sum() == flagged[ds.train.y.numpy() == c].sum()
    assert sp.minority_recovery(rnd, ds.train)["precision"] < 0.3
    with pytest.raises(ValueError, match="flagged"):
        sp.minority_recovery(flagged[:5], ds.train)
    with pytest.raises(ValueError, match="n_clusters"):
        sp.minority_clusters(ink, ds.train, n_clusters=1)


def test_minority_recovery_hand_made():
    data = sp.GroupData(torch.zeros(4, 1), torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 3, 2]),
                        torch.tensor([0, 1, 1, 0]))
    # bias-conflicting: points 1 and 3; flag points 1 and 2
    assert sp.minority_recovery(np.array([False, True, True, False]), data) == {"recall": 0.5, "precision": 0.5}
    assert sp.minority_recovery(np.zeros(4, dtype=bool), data) == {"recall": 0.0, "precision": 0.0}


def test_rho_sweep_and_bad_method():
    df = sp.rho_sweep((0.5,), steps=5)
    assert list(df.index) == [0.5] and {"worst_group_acc", "fixed_id_acc"} <= set(df)
    # the fixed test set is the same for every rho: a model scores the same on it
    df2, models = sp.rho_sweep((0.5, 0.9), steps=5, fixed_rho=0.9, return_models=True)
    fixed = sp.colored_digits(0.9, seed=0).test_id
    assert df2.loc[0.9, "fixed_id_acc"] == pytest.approx(df2.loc[0.9, "avg_acc"])
    assert df2.loc[0.5, "fixed_id_acc"] == pytest.approx(float((sp.predict(models[0.5], fixed.X) == fixed.y).float().mean()))
    with pytest.raises(TypeError, match="method"):
        sp.rho_sweep((0.5,), method="erm")


def test_jtt_upweights_the_identifiers_errors():
    # an identifier that reads only color misclassifies exactly the bias-conflicting points
    ds = sp.colored_digits(rho=0.9, seed=0)

    class ColorModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.dummy = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return x.view(len(x), 2, 64).sum(2)

    _, m = sp.jtt(ds, identifier=ColorModel(), upweight=5.0, steps=5)
    assert m["error_set_minority_share"] == 1.0
    assert m["error_set_size"] == int((ds.train.a != ds.train.y).sum())
    with pytest.raises(ValueError, match="upweight"):
        sp.jtt(ds, upweight=0.0)


def test_counterfactual_augment_balances_color():
    ds = sp.colored_digits(rho=0.95, seed=0)
    _, m = sp.counterfactual_augment(ds, fraction=0.5, steps=5)
    assert m["n_augmented"] == round(0.5 * len(ds.train))
    with pytest.raises(ValueError, match="fraction"):
        sp.counterfactual_augment(ds, fraction=0.0)
    with pytest.raises(TypeError, match="transform"):
        sp.counterfactual_augment(ds, transform="swap")


def test_synthetic_copy_marks_and_swaps():
    X = sp.colored_digits(seed=0).train.X[:5]
    S = sp.synthetic_copy(X, artifact=0.5)
    assert torch.allclose(S[:, 0], X[:, 64] + 0.5) and torch.allclose(S[:, 64], X[:, 0] + 0.5)
    assert torch.equal(S[:, 1:64], X[:, 65:])
    with pytest.raises(ValueError, match="artifact"):
        sp.synthetic_copy(X, artifact=-1.0)


def _mse(pred, y):
    return ((pred - y) ** 2).mean()


def test_irmv1_gradient_penalty_hand_computed():
    X = torch.tensor([[1.0, 0.0], [2.0, 0.0]])
    y = torch.tensor([1.0, 2.0])
    beta = torch.tensor([1.0, 0.0])
    assert sp.irmv1_gradient_penalty(X @ beta, y, _mse) == 0  # phi = y exactly: scale 1 is optimal
    beta2 = torch.tensor([2.0, 0.0])  # E[phi^2] = 10, E[phi y] = 5 -> (2 * 5)^2
    assert torch.isclose(sp.irmv1_gradient_penalty(X @ beta2, y, _mse), torch.tensor(100.0))
    assert torch.isclose(sp.scale_penalty(beta2, X, y), torch.tensor(0.25))
    # the IRMv1 penalty vanishes as the representation shrinks, the scale penalty does not
    tiny = torch.tensor([1e-3, 0.0])
    assert sp.irmv1_gradient_penalty(X @ tiny, y, _mse) < 1e-4 and sp.scale_penalty(tiny, X, y) > 1e5


def test_irmv1_gradient_penalty_cross_entropy_and_rows():
    # two-class logits (0, z): d/dw CE(w z) at w = 1 is mean((sigmoid(z) - t) z) by hand
    z = torch.tensor([1.0, -2.0, 0.5])
    t = torch.tensor([1, 0, 0])
    logits = torch.stack([torch.zeros(3), z], 1)
    by_hand = ((torch.sigmoid(z) - t.float()) * z).mean() ** 2
    assert torch.isclose(sp.irmv1_gradient_penalty(logits, t, torch.nn.functional.cross_entropy), by_hand)
    # it is a gradient, yet it also evaluates under no_grad, and keeps a graph to minimize
    with torch.no_grad():
        assert torch.isclose(sp.irmv1_gradient_penalty(logits, t, torch.nn.functional.cross_entropy), by_hand)
    lg = logits.clone().requires_grad_()
    sp.irmv1_gradient_penalty(lg, t, torch.nn.functional.cross_entropy).backward()
    assert lg.grad is not None and lg.grad.abs().sum() > 0
    # per_row: each row its own scale, the same as one call per row
    X = torch.tensor([[1.0, 0.0], [2.0, 0.0]])
    y = torch.tensor([1.0, 2.0])
    rows = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.5, 0.3]])
    out = sp.irmv1_gradient_penalty(rows, y, lambda B, yy: ((B @ X.T - yy) ** 2).mean(1), per_row=True)
    assert out.shape == (3,)
    assert torch.allclose(out, torch.stack([sp.irmv1_gradient_penalty(X @ b, y, _mse) for b in rows]))
    with pytest.raises(TypeError, match="logits"):
        sp.irmv1_gradient_penalty([1.0, 2.0], y, _mse)
    with pytest.raises(TypeError, match="loss"):
        sp.irmv1_gradient_penalty(X @ rows[0], y, "mse")
    with pytest.raises(ValueError, match="loss must return a scalar"):
        sp.irmv1_gradient_penalty(X @ rows[0], y, lambda p, yy: (p - yy) ** 2)


def test_irmv1_formula_is_defined_once():
    """The IRMv1 penalty is written once: the linear demo and the digits demo both call
    irmv1_gradient_penalty, and no other definition in the package computes it."""
    import ast
    from pathlib import Path

    import biaslab

    defs = []
    for path in Path(biaslab.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and "irm" in node.name.lower() and "penalty" in node.name.lower():
                defs.append(node.name)
    assert defs == ["irmv1_gradient_penalty"], defs
    source = Path(sp.invariance.__file__).read_text()
    assert source.count("autograd.grad(") == 1


def test_invariant_subset_fit_finds_the_cause():
    envs = sp.linear_environments((0.2, 2.0), n=4000, seed=0)
    beta, table = sp.invariant_subset_fit(envs)
    assert table["chosen"].idxmax() == "{x1}"
    assert abs(float(beta[0]) - 1) < 0.05 and float(beta[1]) == 0
    with pytest.raises(ValueError, match="two environments"):
        sp.invariant_subset_fit(envs[:1])
    with pytest.raises(ValueError, match="penalty"):
        sp.fit_invariant_linear(envs, penalty="vrex")


def test_ood_value_curve_limits():
    # with identical tasks (angle 0) more data can only help; with opposite tasks (angle pi)
    # many OOD samples push the error far above one half
    same = sp.ood_value_curve(ms=(0, 50, 500), angle=0.0, reps=50, seed=0)
    assert same.is_monotonic_decreasing
    opposite = sp.ood_value_curve(ms=(0, 2000), angle=3.14159, reps=50, seed=0)
    assert opposite[2000] > 80
    with pytest.raises(ValueError, match="ms"):
        sp.ood_value_curve(ms=(-1,))


# ---------------------------------------------------------------- diversification
def test_agreement_loss_hand_computed():
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    assert sp.agreement_loss(a, b) < 1e-5  # confident, opposite predictions: no loss
    assert sp.agreement_loss(a, a) > 15  # confident, identical predictions: -log(eps)
    half = torch.full((2, 2), 0.5)
    assert torch.isclose(sp.agreement_loss(half, a), torch.tensor(np.log(2.0), dtype=torch.float32), atol=1e-5)
    with pytest.raises(ValueError, match="shape"):
        sp.agreement_loss(a, torch.ones(2, 3) / 3)
    with pytest.raises(TypeError, match="p1"):
        sp.agreement_loss(a.numpy(), b)


def test_conflict_pool_negates_the_linear_coordinate():
    X, mask = sp.conflict_pool(200, conflict=0.25, seed=3)
    X0, _ = sp.lms_slab(200, n_slabs=3, d_noise=0, seed=3)
    assert int(mask.sum()) == 50
    assert torch.equal(X[mask, 0], -X0[mask, 0]) and torch.equal(X[~mask], X0[~mask])
    assert not sp.conflict_pool(100, conflict=0.0)[1].any()
    with pytest.raises(ValueError, match="conflict"):
        sp.conflict_pool(100, conflict=1.5)


def test_diversify_two_heads_small_run():
    # a tiny run: both heads fit the training data, and the metrics are well-formed
    (h1, h2), m = sp.diversify_two_heads(conflict=0.2, n_train=200, n_pool=200, n_test=200, steps=100, seed=0)
    assert m["head1_train"] >= 0.95 and m["head2_train"] >= 0.9
    assert 0 <= m["pool_disagreement"] <= 1 and 0 <= m["conflict_disagreement"] <= 1
    with pytest.raises(ValueError, match="alpha"):
        sp.diversify_two_heads(alpha=-1.0)


def test_penalty_landscape_matches_the_penalty():
    envs = sp.linear_environments((0.5, 1.0), n=500, seed=0)
    land = sp.penalty_landscape(envs, b1=(0.0, 1.0, 1.3), b2=(-0.2, 0.4))
    for v in land.index:
        for u in land.columns:
            beta = torch.tensor([u, v], dtype=torch.float32)
            direct = float(torch.stack([sp.irmv1_gradient_penalty(X @ beta, y, _mse) for X, y in envs]).mean())
            assert np.isclose(land.loc[v, u], direct, rtol=1e-4, atol=1e-7)
    with pytest.raises(ValueError, match="envs"):
        sp.penalty_landscape([])


# ---------------------------------------------------------------- IRMv1 on coloured digits
def test_colored_digit_environments_follow_the_recipe():
    w = sp.colored_digit_environments(seed=0)
    assert len(w["train"]) == 2 and len(w["val"]) == 2
    n = sum(len(e) for e in w["train"] + w["val"]) + len(w["test"])
    assert n == 1797 and w["test"].X.shape[1] == 128
    for e, rate in zip(w["train"], (0.1, 0.2)):
        # exact shares: the colour disagrees with the (noisy) label for round(rate * n) images
        assert int((e.a != e.y).sum()) == round(rate * len(e))
        assert torch.equal(e.g, 2 * e.y + e.a)
        # the colour is the channel that holds the ink
        ink = e.X.view(-1, 2, 64).sum(2)
        assert torch.equal(ink.argmax(1), e.a)
    assert int((w["test"].a != w["test"].y).sum()) == round(0.9 * len(w["test"]))
    # label noise: an exact quarter of each environment's labels differ from digit >= 5
    from biaslab.spurious._shared import _digits_split

    _, clean, parts = _digits_split(0)
    test_clean = torch.from_numpy(clean[parts["test"]])
    assert int((w["test"].y != test_clean).sum()) == round(0.25 * len(w["test"]))
    # another test rate changes the test colours only; equal rates change the training colours only
    kept = sp.colored_digit_environments(test_e=0.1, seed=0)
    assert torch.equal(kept["train"][1].X, w["train"][1].X) and torch.equal(kept["test"].y, w["test"].y)
    assert int((kept["test"].a != kept["test"].y).sum()) == round(0.1 * len(w["test"]))
    equal = sp.colored_digit_environments(train_e=(0.1, 0.1), seed=0)
    assert torch.equal(equal["train"][0].X, w["train"][0].X) and not torch.equal(equal["train"][1].X, w["train"][1].X)
    assert torch.equal(equal["test"].X, w["test"].X)
    with pytest.raises(ValueError, match="train_e"):
        sp.colored_digit_environments(train_e=())
    with pytest.raises(ValueError, match="train_e"):
        sp.colored_digit_environments(train_e=(0.1, 1.5))
    with pytest.raises(ValueError, match="test_e"):
        sp.colored_digit_environments(test_e=-0.1)
    with pytest.raises(ValueError, match="label_noise"):
        sp.colored_digit_environments(label_noise=2.0)


def test_grayscale_sums_the_channels():
    e = sp.colored_digit_environments(seed=1)["train"][0]
    g = sp.grayscale(e)
    assert g.X.shape == (len(e), 64)
    assert torch.equal(g.X, e.X[:, :64] + e.X[:, 64:]) and torch.equal(g.y, e.y) and torch.equal(g.a, e.a)
    with pytest.raises(TypeError, match="data"):
        sp.grayscale(e.X)
    with pytest.raises(ValueError, match="128"):
        sp.grayscale(sp.GroupData(e.X[:, :64], e.y, e.g, e.a))


def test_fit_irm_small_run_and_its_schedule():
    w = sp.colored_digit_environments(seed=0)
    kw = dict(steps=30, anneal_steps=10, eval_every=10, eval_on={"test": w["test"]}, device="cpu")
    model, h = sp.fit_irm(w["train"], **kw)
    assert list(h["step"]) == [0, 10, 20, 30] and h["test_acc"].between(0, 1).all()
    assert next(model.parameters()).device.type == "cpu" and not model.training
    # before the switch the weight is 1; after it the loss is divided by the large weight
    assert h["loss"].iloc[-1] < 1e-2 < h["loss"].iloc[1]
    # ERM: the same fit without the penalty; its loss stays the cross-entropy plus the L2 term
    _, h_erm = sp.fit_irm(w["train"], **{**kw, "penalty_weight": 0.0})
    assert h_erm["loss"].iloc[-1] > 0.1
    with pytest.raises(ValueError, match="envs"):
        sp.fit_irm([])
    with pytest.raises(ValueError, match="envs"):
        sp.fit_irm(w["train"][0])
    with pytest.raises(ValueError, match="penalty_weight"):
        sp.fit_irm(w["train"], penalty_weight=-1.0)
    with pytest.raises(ValueError, match="l2"):
        sp.fit_irm(w["train"], l2=-1.0)
    with pytest.raises(ValueError, match="eval_on"):
        sp.fit_irm(w["train"], eval_on={"test": w["test"].X})


def test_irm_digits_run_reads_its_histories(monkeypatch):
    from biaslab.spurious import invariance

    monkeypatch.setitem(invariance.IRM_DIGITS, "steps", 20)
    monkeypatch.setitem(invariance.IRM_DIGITS, "anneal_steps", 10)
    r = sp.irm_digits_run(seed=0, device="cpu")
    assert set(r["histories"]) == {"ERM", "IRMv1", "ERM, grayscale", "ERM, equal environments",
                                   "IRMv1, equal environments"}
    last, sel = r["last"], r["selected"]
    assert r["gain"] == pytest.approx(last["IRMv1"]["test_acc"] - last["ERM"]["test_acc"])
    assert r["gain_selected"] == pytest.approx(sel["IRMv1"]["test_acc"] - sel["ERM"]["test_acc"])
    for k, h in r["histories"].items():
        rows = h[h["step"] > 0]
        assert sel[k]["step"] > 0 and sel[k]["val_acc"] == rows["val_acc"].max()
    assert r["anneal_steps"] == 10 and 0 <= r["grayscale"] <= 1
    ax = sp.plot_irm_digits(r)
    assert len(ax.get_lines()) == 4 and ax.get_ylabel().startswith("test accuracy")
    with pytest.raises(ValueError, match="digits"):
        sp.plot_irm_digits({"gain": 0.3})


# ---------------------------------------------------------------- biased model by design
def test_color_ink_sums_each_channel():
    X = torch.zeros(2, 128)
    X[0, :64] = 0.5  # red image
    X[1, 64:70] = 1.0  # green image
    assert torch.equal(sp.color_ink(X), torch.tensor([[32.0, 0.0], [0.0, 6.0]]))
    with pytest.raises(ValueError, match="X"):
        sp.color_ink(torch.zeros(3, 64))


def test_conditional_independence_penalty_hand_made():
    y = torch.tensor([0, 0, 0, 1, 1, 1])
    bias = torch.tensor([0.0, 1.0, 2.0, 0.0, 1.0, 2.0])
    # a linear function of the bias in each class: correlation +-1 in both classes
    assert torch.isclose(sp.conditional_independence_penalty(3 * bias + y, bias, y), torch.tensor(2.0), atol=1e-5)
    # uncorrelated with the bias within each class, although correlated with it overall
    score = torch.tensor([1.0, -2.0, 1.0, 5.0, 5.0, 5.0]) + 10 * y
    assert sp.conditional_independence_penalty(score, bias, y) < 1e-6
    with pytest.raises(ValueError, match="shape"):
        sp.conditional_independence_penalty(score[:5], bias, y)


def test_debias_by_independence_small_run():
    ds = sp.colored_digits(rho=0.95, seed=0)
    _, m = sp.debias_by_independence(ds, steps=20, seed=0)
    assert m["bias_model_color_agreement"] >= 0.99  # the biased model sees color only
    assert 0 <= m["worst_group_acc"] <= m["avg_acc"] <= 1
    with pytest.raises(ValueError, match="lam"):
        sp.debias_by_independence(ds, lam=-1.0)
    with pytest.raises(ValueError, match="score"):
        sp.debias_by_independence(ds, score="margin")


# ---------------------------------------------------------------- against fairlearn, one builder, one device rule
def test_group_metrics_match_fairlearn_metricframe():
    from fairlearn.metrics import MetricFrame
    from sklearn.metrics import accuracy_score

    rng = np.random.default_rng(3)
    y_true, y_pred, groups = rng.integers(0, 2, 300), rng.integers(0, 2, 300), rng.integers(0, 4, 300)
    mf = MetricFrame(metrics=accuracy_score, y_true=y_true, y_pred=y_pred, sensitive_features=groups)
    accs = sp.group_accuracies(y_true, y_pred, groups)
    assert accs == pytest.approx(mf.by_group.to_dict())
    assert sp.worst_group_accuracy(y_true, y_pred, groups) == pytest.approx(mf.group_min())
    table = sp.group_table(y_true, y_pred, groups)
    assert table.loc["all", "accuracy"] == pytest.approx(mf.overall)
    assert table.drop("all")["accuracy"].to_dict() == pytest.approx(mf.by_group.to_dict())


def test_make_classifier_is_the_one_builder():
    a = sp.make_classifier(5, 2, width=7, depth=2, seed=3, device="cpu")
    b = sp.make_classifier(5, 2, width=7, depth=2, seed=3, device="cpu")
    assert isinstance(a, torch.nn.Sequential) and isinstance(a[-1], torch.nn.Linear) and a[0].out_features == 7
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert isinstance(sp.make_classifier(5, depth=0), torch.nn.Linear)
    # fit_classifier and group_dro start from the same initialization as the builder
    X, y = torch.randn(20, 5), torch.randint(0, 2, (20,))
    fitted = sp.fit_classifier(X, y, width=7, depth=2, steps=1, lr=1e-12, seed=3, device="cpu")
    assert all(torch.allclose(p, q, atol=1e-9) for p, q in zip(a.parameters(), fitted.parameters()))
    with pytest.raises(ValueError, match="depth"):
        sp.make_classifier(5, depth=-1)
    with pytest.raises(ValueError, match="n_classes"):
        sp.make_classifier(5, n_classes=1)


def test_every_trainer_takes_device():
    import inspect

    trainers = [n for n in sp.__all__ if callable(getattr(sp, n)) and not inspect.isclass(getattr(sp, n))]
    builds = {"erm", "reweight", "group_dro", "last_layer_retrain", "jtt", "debias_by_independence",
              "counterfactual_augment", "synthetic_fill", "fake_to_real", "rho_sweep", "cue_preference",
              "lms_slab_run", "feature_contamination_run", "fit_invariant_linear", "diversify_two_heads",
              "fit_classifier", "make_classifier", "subsample", "group_repairs_table"}
    for name in builds:
        assert name in trainers, name
        params = inspect.signature(getattr(sp, name)).parameters
        assert "device" in params and params["device"].default is None, name


def test_methods_honour_the_device(small_ds):
    model, _ = sp.erm(small_ds, steps=2, device="cpu")
    assert next(model.parameters()).device.type == "cpu"
    _, m = sp.group_dro(small_ds, steps=2, device=torch.device("cpu"))
    assert m["q"].shape == (4,)
    with pytest.raises(ValueError, match="device"):
        sp.erm(small_ds, steps=2, device="not-a-device")


# ---------------------------------------------------------------- the fair-comparison protocol
def test_split_by_group_is_stratified_and_concat_restores():
    ds = sp.colored_digits(0.95, seed=0, val_rho=0.5)
    a, b = sp.split_by_group(ds.val, 0.5, seed=1)
    assert len(a) + len(b) == len(ds.val)
    ca, cb = torch.bincount(a.g, minlength=4), torch.bincount(b.g, minlength=4)
    assert (ca - cb).abs().max() <= 1
    both = a.concat(b)
    assert sorted(both.X.sum(1).tolist()) == pytest.approx(sorted(ds.val.X.sum(1).tolist()))
    with pytest.raises(ValueError, match="frac"):
        sp.split_by_group(ds.val, 1.0)
    with pytest.raises(TypeError, match="other"):
        a.concat("b")


def test_model_selection_keeps_the_best_checkpoint(small_ds):
    sel = small_ds.test  # any split with groups
    model, m = sp.erm(small_ds, steps=60, select_on=sel, select_every=20, seed=0)
    assert m["selected_step"] in (20.0, 40.0, 60.0)
    # the kept model scores on the selection split what selection recorded
    pred = sp.predict(model, sel.X)
    assert sp.worst_group_accuracy(sel.y, pred, sel.g) == pytest.approx(m["val_worst_group_acc"])
    _, m_plain = sp.erm(small_ds, steps=5)
    assert "selected_step" not in m_plain
    with pytest.raises(TypeError, match="select_on"):
        sp.erm(small_ds, steps=5, select_on="val")


def test_subsample_balances_groups_and_shuffle_groups_keeps_sizes(small_ds):
    _, m = sp.subsample(small_ds, steps=5, seed=0)
    counts = torch.bincount(small_ds.train.g, minlength=4)
    assert m["n_kept"] == 4 * int(counts.min())
    shuf = sp.shuffle_groups(small_ds, seed=0)
    assert torch.equal(torch.bincount(shuf.train.g, minlength=4), counts)
    assert torch.equal(shuf.train.y, small_ds.train.y) and torch.equal(shuf.train.g, 2 * shuf.train.y + shuf.train.a)
    # the shuffled attribute no longer marks the color channel
    agree = (shuf.train.a == small_ds.train.a).float().mean()
    assert agree < 0.95


def test_last_layer_retrain_chooses_C_on_a_second_split():
    import dataclasses

    ds = sp.colored_digits(0.95, seed=0, val_rho=0.5)
    extra, select = sp.split_by_group(ds.val, 0.5, seed=0)
    base = sp.fit_classifier(ds.train.X, ds.train.y, steps=30)
    _, m = sp.last_layer_retrain(dataclasses.replace(ds, val=extra), base_model=base, n_subsets=2,
                                 Cs=(0.3, 3.0), select_C_on=select)
    assert m["C"] == max(m["val_scores"], key=m["val_scores"].get)
    with pytest.raises(TypeError, match="select_C_on"):
        sp.last_layer_retrain(ds, base_model=base, select_C_on="half")


def test_jtt_random_error_set_has_the_same_size():
    ds = sp.colored_digits(rho=0.9, seed=0)

    class ColorModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.dummy = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return x.view(len(x), 2, 64).sum(2)

    _, m = sp.jtt(ds, identifier=ColorModel(), upweight=5.0, steps=5, random_error_set=True)
    assert m["error_set_size"] == int((ds.train.a != ds.train.y).sum())
    assert m["error_set_minority_share"] < 0.5


def test_flip_and_synthetic_set():
    X = sp.colored_digits(seed=0).train.X[:4]
    F = sp.flip_horizontal(X)
    assert torch.equal(sp.flip_horizontal(F), X)
    assert torch.equal(F.view(-1, 2, 64).sum(2), X.view(-1, 2, 64).sum(2))  # same channel, same ink
    Xs, ys = sp.synthetic_set(X, torch.tensor([0, 1, 0, 1]), artifact=0.5)
    assert Xs.shape == (8, 128) and torch.equal(ys, torch.tensor([0, 1, 0, 1, 0, 1, 0, 1]))
    with pytest.raises(ValueError, match="128"):
        sp.flip_horizontal(torch.zeros(2, 64))


def test_diversify_two_heads_selects_a_head():
    _, m = sp.diversify_two_heads(conflict=0.2, n_train=200, n_pool=200, n_test=200, steps=50, seed=0)
    assert m["selected_head"] in (1.0, 2.0)
    assert m["selected_slab_only"] == m[f"head{int(m['selected_head'])}_slab_only"]
