"""Unit tests of biaslab.disentangle: the sprites, the metrics on codes with known answers,
the models and the rotation argument."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import mutual_info_score

from biaslab import disentangle as dz


@pytest.fixture(scope="module")
def sprites():
    return dz.make_sprites(n_scale=2, n_rotation=2, n_x=6, n_y=6)


@pytest.fixture(scope="module")
def aligned(sprites):
    rng = np.random.default_rng(0)
    v = sprites.values + 0.01 * rng.normal(size=sprites.values.shape)
    return (v - v.mean(0)) / v.std(0)


# ---------------------------------------------------------------- sprites
def test_sprites_enumerate_every_combination(sprites):
    assert len(sprites) == 3 * 2 * 2 * 6 * 6
    assert sprites.images.shape == (len(sprites), 1, 16, 16)
    assert sprites.factors.shape == (len(sprites), 5)
    assert len({tuple(r) for r in sprites.factors}) == len(sprites)
    assert float(sprites.images.min()) >= 0 and float(sprites.images.max()) <= 1
    # every image shows an object, and distinct factors give distinct images
    assert (sprites.flat.sum(1) > 5).all()
    assert len({tuple(np.round(im.numpy(), 4).ravel()) for im in sprites.flat}) == len(sprites)


def test_sprites_are_deterministic_and_position_moves_mass():
    a, b = dz.make_sprites(n_x=4, n_y=2), dz.make_sprites(n_x=4, n_y=2)
    assert torch.equal(a.images, b.images)
    cols = torch.arange(16.0)
    com_x = (a.images[:, 0].sum(1) * cols).sum(1) / a.images[:, 0].sum((1, 2))
    for ix in range(3):
        m0 = com_x[a.factors[:, 3] == ix].mean()
        m1 = com_x[a.factors[:, 3] == ix + 1].mean()
        assert m1 > m0 + 1


@pytest.mark.parametrize("kwargs", [dict(size=4), dict(n_x=0), dict(shapes=("star",)), dict(shapes="square"),
                                    dict(n_scale=1.5)])
def test_sprites_bad_input(kwargs):
    with pytest.raises((ValueError, TypeError)):
        dz.make_sprites(**kwargs)


# ---------------------------------------------------------------- metrics
def test_mutual_info_matrix_matches_sklearn(sprites):
    codes = sprites.factors[:, [3, 4]].astype(float)
    mi = dz.mutual_info_matrix(codes, sprites.factors)
    assert mi.shape == (2, 5)
    assert mi[0, 3] == pytest.approx(mutual_info_score(sprites.factors[:, 3], sprites.factors[:, 3]))
    assert mi[0, 4] == pytest.approx(0, abs=1e-9)
    assert dz.factor_entropies(sprites.factors)[3] == pytest.approx(np.log(6))


def test_aligned_code_scores_near_one(sprites, aligned):
    r = dz.disentanglement_report(aligned, sprites.factors)
    for k in ("MIG", "modularity", "compactness", "DCI disentanglement", "DCI completeness", "DCI informativeness"):
        assert r[k] > 0.9, (k, r)
    assert r["explicitness"] > 0.9


def test_random_code_scores_near_zero(sprites):
    rnd = np.random.default_rng(1).normal(size=(len(sprites), 5))
    r = dz.disentanglement_report(rnd, sprites.factors)
    for k in ("MIG", "explicitness", "DCI disentanglement", "DCI completeness"):
        assert r[k] < 0.1, (k, r)
    assert r["modularity"] < 0.25


def test_rotated_code_drops(sprites, aligned):
    Q = dz.random_rotation(5, seed=3).numpy()
    base = dz.disentanglement_report(aligned, sprites.factors)
    rot = dz.disentanglement_report(aligned @ Q.T, sprites.factors)
    assert rot["MIG"] < 0.5 * base["MIG"]
    assert rot["modularity"] < base["modularity"] - 0.2
    assert rot["DCI disentanglement"] < 0.6 * base["DCI disentanglement"]
    # a rotation keeps the information, and a linear read-out of it
    assert rot["explicitness"] > 0.9


def test_metric_input_errors(sprites, aligned):
    with pytest.raises(ValueError, match="one row per code"):
        dz.mig_score(aligned, sprites.factors[:-1])
    with pytest.raises(TypeError, match="integer"):
        dz.mig_score(aligned, sprites.values)
    with pytest.raises(ValueError, match="at least 2"):
        dz.mig_score(aligned[:, :1], sprites.factors)
    with pytest.raises(TypeError):
        dz.dci_scores([[1, 2]], sprites.factors)
    with pytest.raises(ValueError, match="NaN"):
        dz.modularity_explicitness(np.full((len(sprites), 2), np.nan), sprites.factors)


def test_random_rotation_is_a_rotation():
    Q = dz.random_rotation(7, seed=0).double()
    assert torch.allclose(Q @ Q.T, torch.eye(7, dtype=torch.float64), atol=1e-5)
    assert torch.det(Q).item() == pytest.approx(1.0, abs=1e-4)
    assert not torch.allclose(Q, dz.random_rotation(7, seed=1).double())


# ---------------------------------------------------------------- models
@pytest.fixture(scope="module")
def small_vae(sprites):
    model, hist = dz.train_autoencoder(sprites, "vae", latent_dim=4, beta=4.0, steps=60, hidden=32)
    return model


def test_train_autoencoder_kinds(sprites):
    for kind in ("ae", "vae", "qlae"):
        model, hist = dz.train_autoencoder(sprites, kind, latent_dim=3, steps=40, hidden=32)
        assert hist.loss.iloc[-1] < hist.loss.iloc[0]
        z = dz.encode(model, sprites)
        assert z.shape == (len(sprites), 3)
    # quantized codes take codebook values only
    q = np.unique(z[:, 0])
    assert len(q) <= 10


def test_qlae_commits_to_its_codebook_and_keeps_it_out_of_weight_decay(sprites):
    model, _ = dz.train_autoencoder(sprites, "qlae", latent_dim=3, steps=150, hidden=32, n_values=5,
                                    weight_decay=0.5, lr=5e-3)
    with torch.no_grad():
        mu, _ = model.encode_params(sprites.flat)
        gap = (model.quantize(mu) - mu).abs()
    # the summed commitment term keeps the encoder near its codebook (not mostly clipping)
    assert float(gap.mean()) < 0.5 * float(model.codebook.detach().std())
    # weight decay pulls the networks towards zero but not the codebook: its span does not shrink
    assert float((model.codebook.max() - model.codebook.min()).detach()) > 1.5
    with pytest.raises(ValueError, match="commitment"):
        dz.SpriteAutoencoder(kind="qlae", commitment=-1.0)


def test_model_input_errors(sprites, small_vae):
    with pytest.raises(ValueError, match="pixels"):
        small_vae(torch.zeros(2, 100))
    with pytest.raises(ValueError, match="shape"):
        small_vae.decode(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="kind"):
        dz.SpriteAutoencoder(kind="gan")
    with pytest.raises(ValueError, match="one value per image"):
        dz.train_autoencoder(sprites, attribute=np.zeros(3), steps=1)


def test_rotation_leaves_the_model_unchanged(sprites, small_vae):
    Q = dz.random_rotation(4, seed=0)
    rot = dz.rotate_latent_space(small_vae, Q)
    z, zr = dz.encode(small_vae, sprites), dz.encode(rot, sprites)
    assert np.allclose(zr, z @ Q.numpy().T, atol=1e-5)
    with torch.no_grad():
        a = torch.sigmoid(small_vae.decode(torch.from_numpy(z)))
        b = torch.sigmoid(rot.decode(torch.from_numpy(zr)))
    assert (a - b).abs().max() < 1e-5
    e0, e1 = dz.elbo(small_vae, sprites, seed=1), dz.elbo(small_vae, sprites, seed=1, rotation=Q)
    assert e0["elbo"] == pytest.approx(e1["elbo"], abs=1e-6)
    with pytest.raises(ValueError, match="latent width"):
        dz.rotate_latent_space(small_vae, dz.random_rotation(3))
    with pytest.raises(ValueError, match="orthogonal"):
        dz.elbo(small_vae, sprites, rotation=torch.ones(4, 4))


def test_diagnostics(sprites, small_vae):
    act = dz.active_units(small_vae, sprites)
    assert act.shape == (4,)
    c = dz.passive_correlations(dz.encode(small_vae, sprites), np.array([True, True, False, False]))
    assert 0 <= c["passive"] <= 1 and 0 <= c["active"] <= 1
    with pytest.raises(ValueError, match="one entry per latent"):
        dz.passive_correlations(dz.encode(small_vae, sprites), act[:2])
    grid = dz.latent_traversal(small_vae, sprites.images[0], dims=[0, 2], values=[-1, 0, 1])
    assert grid.shape == (2, 3, 16, 16)
    with pytest.raises(ValueError, match="dims"):
        dz.latent_traversal(small_vae, sprites.images[0], dims=[9])
    with pytest.raises(ValueError, match="sampled"):
        dz.encode(dz.train_autoencoder(sprites, "ae", latent_dim=2, steps=1, hidden=8)[0], sprites, sampled=True)


def test_reference_codes_and_rotation_experiment(sprites, small_vae):
    codes = dz.reference_codes(sprites)
    assert set(codes) == {"aligned", "rotated", "random"}
    assert np.allclose(np.linalg.norm(codes["aligned"], axis=1), np.linalg.norm(codes["rotated"], axis=1))
    with pytest.raises(TypeError, match="Sprites"):
        dz.reference_codes(np.zeros((3, 5)))
    table = dz.rotation_experiment(small_vae, sprites, n_rotations=2)
    assert list(table.index) == ["original", "rotation 1", "rotation 2"]
    assert (table["ELBO"] - table.loc["original", "ELBO"]).abs().max() < 1e-6
    assert table["max pixel change"].max() < 1e-5


def test_vae_diagnostics_and_names(sprites, small_vae):
    diag = dz.vae_diagnostics(small_vae, sprites)
    assert set(diag) == {"active units", "passive, mean", "passive, sampled", "active, mean", "active, sampled"}
    names = dz.name_dimensions(dz.reference_codes(sprites)["aligned"], sprites)
    assert list(names.factor) == list(sprites.factor_names)
    assert (names.NMI > 0.9).all()


def test_vq_autoencoder_and_usage(sprites):
    model, hist = dz.train_vq_autoencoder(sprites, n_codebooks=2, codebook_size=4, code_dim=4, steps=30, hidden=32)
    u = dz.codebook_usage(model, sprites)
    assert 1 <= u["distinct codes"] <= 16 and 1 <= u["perplexity"] <= 16 and u["perplexity per codebook"] <= 4
    assert model.indices(sprites.flat).shape == (len(sprites), 2)
    with pytest.raises(ValueError, match="divisible"):
        dz.VQAutoencoder(code_dim=5, n_codebooks=2)
    with pytest.raises(TypeError, match="VQAutoencoder"):
        dz.codebook_usage(dz.SpriteAutoencoder(), sprites)


def test_holdout_split():
    tr, te = dz.holdout_split(10, 0.2, seed=3)
    assert len(te) == 2 and len(tr) == 8
    assert sorted(np.concatenate([tr, te]).tolist()) == list(range(10))
    assert np.array_equal(te, dz.holdout_split(10, 0.2, seed=3)[1])
    assert not np.array_equal(dz.holdout_split(100, 0.2, seed=0)[1], dz.holdout_split(100, 0.2, seed=1)[1])
    assert len(dz.holdout_split(3, 0.01)[1]) == 1  # at least one image held out
    with pytest.raises(ValueError, match="test_fraction"):
        dz.holdout_split(10, 1.0)
    with pytest.raises(ValueError, match="test_fraction"):
        dz.holdout_split(10, 0.0)
    with pytest.raises(ValueError, match="n must be"):
        dz.holdout_split(1)


def test_subcode_factor_nmi_and_specificity(sprites):
    model, _ = dz.train_vq_autoencoder(sprites, n_codebooks=2, codebook_size=4, code_dim=4, steps=20, hidden=32)
    nmi = dz.subcode_factor_nmi(model, sprites)
    assert list(nmi.index) == ["codebook 0", "codebook 1"] and list(nmi.columns) == list(sprites.factor_names)
    assert ((nmi.values >= 0) & (nmi.values <= 1 + 1e-9)).all()
    # by hand, for one entry
    idx = model.indices(sprites.flat).numpy()
    f = sprites.factors[:, 3]
    assert nmi.loc["codebook 1", "x"] == pytest.approx(mutual_info_score(idx[:, 1], f) / mutual_info_score(f, f))
    # known answers: each row determines one factor only (1), or two equally (0)
    assert dz.subcode_specificity(np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])) == pytest.approx(1.0)
    assert dz.subcode_specificity(np.array([[0.4, 0.4, 0.1]])) == pytest.approx(0.0)
    assert dz.subcode_specificity(pd.DataFrame([[0.5, 0.2], [0.1, 0.4]])) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="nmi"):
        dz.subcode_specificity(np.array([0.5, 0.2]))
    with pytest.raises(ValueError, match="nmi"):
        dz.subcode_specificity(np.array([[0.5], [0.2]]))
    with pytest.raises(ValueError, match="nmi"):
        dz.subcode_specificity(np.array([[np.nan, 0.2]]))
    with pytest.raises(TypeError, match="VQAutoencoder"):
        dz.subcode_factor_nmi(dz.SpriteAutoencoder(), sprites)
    with pytest.raises(TypeError, match="Sprites"):
        dz.subcode_factor_nmi(model, sprites.flat)


def test_attribute_monotonicity(sprites):
    x = sprites.values[:, 3]
    codes = np.stack([x ** 3, -x, np.random.default_rng(0).normal(size=len(x)), np.zeros(len(x))], axis=1)
    rho = dz.attribute_monotonicity(codes, x)
    assert rho["z0"] == pytest.approx(1.0) and rho["z1"] == pytest.approx(1.0)
    assert rho["z2"] < 0.1 and rho["z3"] == 0.0
    with pytest.raises(ValueError, match="one value per code"):
        dz.attribute_monotonicity(codes, x[:-1])


def test_position_map_stripes(sprites):
    x, y = sprites.values[:, 3], sprites.values[:, 4]
    grid = dz.position_map(x, sprites)
    assert grid.shape == (sprites.factor_sizes[4], sprites.factor_sizes[3])
    assert np.allclose(grid, grid[0])  # a pure x code: identical rows (vertical stripes)
    assert np.all(np.diff(grid[0]) > 0)
    assert np.allclose(dz.position_map(y, sprites).T, dz.position_map(y, sprites).T[0])
    with pytest.raises(ValueError, match="one value per image"):
        dz.position_map(x[:-1], sprites)
    import matplotlib
    matplotlib.use("Agg")
    ax = dz.plot_position_map(x + y, sprites, title="x + y")
    assert ax.get_title() == "x + y"


def test_sae_recovers_planted_features_and_errors():
    data = dz.sparse_feature_data(n=500, n_features=6, dim=8, p_active=0.2, seed=0)
    assert data.X.shape == (500, 8) and torch.allclose(data.features.norm(dim=1), torch.ones(6))
    sae, _ = dz.train_sae(data, n_atoms=6, steps=300, seed=0)
    rec = dz.feature_recovery(sae.atoms(), data.features)
    assert len(rec) == 6 and rec["max cosine"].between(-1, 1.0001).all()
    assert (dz.feature_recovery(data.features, data.features)["max cosine"] > 0.999).all()
    with pytest.raises(ValueError, match="same dim"):
        dz.feature_recovery(torch.ones(3, 4), torch.ones(3, 5))
    with pytest.raises(ValueError, match="shape"):
        sae.encode(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="p_active"):
        dz.sparse_feature_data(p_active=0)


def test_circular_structure_known_answers():
    p, a = 31, torch.arange(31, dtype=torch.float64)
    basis = dz.random_rotation(16, seed=0).double()[:2]  # an orthonormal plane: a true circle
    circle = torch.stack([torch.cos(2 * np.pi * 3 * a / p), torch.sin(2 * np.pi * 3 * a / p)], 1) @ basis
    out = dz.circular_structure(circle, frequencies=[3])
    assert out.loc[3, "circular corr"] > 0.999 and out.loc[3, "power share"] > 0.99
    with pytest.raises(ValueError, match="frequencies"):
        dz.circular_structure(circle, frequencies=[16])
    with pytest.raises(ValueError, match="shape"):
        dz.circular_structure(torch.zeros(3, 2))


def test_sefa_directions_and_factor_correlations(sprites, small_vae):
    vals, D = dz.sefa_directions(small_vae)
    assert vals.shape == (4,) and D.shape == (4, 4)
    assert np.all(np.diff(vals) <= 1e-9)
    assert np.allclose(D.T @ D, np.eye(4), atol=1e-8)
    W = small_vae.decoder[0].weight.detach().double().numpy()
    assert np.linalg.norm(W @ D[:, 0]) ** 2 == pytest.approx(vals[0])
    with pytest.raises(ValueError, match="latent width"):
        dz.sefa_directions(small_vae, k=5)
    aligned = dz.reference_codes(sprites)["aligned"]
    c = dz.direction_factor_correlations(aligned, np.eye(5)[:, [3, 4]], sprites)
    assert c.loc["dir 1", "x"] > 0.99 and c.loc["dir 2", "y"] > 0.99 and c.loc["dir 1", "y"] < 0.05
    with pytest.raises(ValueError, match="latent width"):
        dz.direction_factor_correlations(aligned, np.eye(4), sprites)


def _planted_analogies(noise: float, seed: int = 0):
    """Words whose offsets share one direction per relation, plus word-specific noise."""
    rng = np.random.default_rng(seed)
    pairs = {f"r{j}": tuple((f"a{j}_{i}", f"b{j}_{i}") for i in range(10)) for j in range(3)}
    words = dz.analogy_words(pairs)
    dirs = rng.normal(size=(3, 40))
    E = {w: rng.normal(size=40) for w in words}
    for j, (rel, ps) in enumerate(pairs.items()):
        for a, b in ps:
            E[b] = E[a] + dirs[j] + noise * rng.normal(size=40)
    return np.stack([E[w] for w in words]), words, pairs


def test_parallelogram_quality_known_answers():
    D = np.array([[1.0, 0, 0], [2.0, 0, 0], [0, 1.0, 0], [0, -1.0, 0]])
    q = dz.parallelogram_quality(D, ["x", "x", "y", "y"])
    assert q["x"] == pytest.approx(1.0) and q["y"] == pytest.approx(-1.0)
    rng = np.random.default_rng(0)
    assert abs(dz.parallelogram_quality(rng.normal(size=(50, 500)), ["r"] * 50)["r"]) < 0.02
    with pytest.raises(ValueError, match="at least two"):
        dz.parallelogram_quality(D[:3], ["x", "x", "y"])
    with pytest.raises(ValueError, match="offsets"):
        dz.parallelogram_quality(D, ["x", "x"])


def test_analogy_offsets_and_words():
    E, words, pairs = _planted_analogies(noise=0.0)
    off = dz.analogy_offsets(E, words, pairs)
    assert len(off) == 30 and set(off.relation) == {"r0", "r1", "r2"}
    q = dz.parallelogram_quality(np.stack(off.offset), off.relation)
    assert (q > 0.999).all()
    assert "king" in dz.analogy_words() and len(dz.ANALOGY_PAIRS) == 6
    with pytest.raises(ValueError, match="missing"):
        dz.analogy_offsets(E, words, {"r": (("a0_0", "nope"),)})
    with pytest.raises(ValueError, match="embeddings"):
        dz.analogy_offsets(E[:5], words, pairs)
    with pytest.raises(TypeError, match="words"):
        dz.analogy_offsets(E, "abc", pairs)


def test_lda_parallelograms_recovers_planted_directions():
    # offsets = a shared direction per relation + noise much larger than it: raw cosines are
    # low, the discriminant projection that separates the relations restores parallelism
    E, words, pairs = _planted_analogies(noise=1.5)
    res = dz.lda_parallelograms(E, words, pairs, test_frac=0.5, seed=0)
    assert list(res.table.columns) == ["raw", "PCA", "LDA", "distractors out"] and "mean" in res.table.index
    assert res.lda.shape == (40, 2) and res.pca.shape == (40, 2) and res.distractor.shape == (40, 40)
    assert list(res.accuracy.index) == list(res.table.columns) and res.accuracy.between(0, 1).all()
    assert len(res.test) == 15 and len(res.train) == 15
    assert res.table.loc["mean", "raw"] < 0.3 and res.table.loc["mean", "LDA"] > res.table.loc["mean", "raw"] + 0.3
    with pytest.raises(ValueError, match="test_frac"):
        dz.lda_parallelograms(E, words, pairs, test_frac=1.0)
    with pytest.raises(ValueError, match="too few"):
        dz.lda_parallelograms(E, words, pairs, test_frac=0.05)


def test_distractor_projection_removes_within_relation_spread():
    # offsets of relation r are (r + noise along axis 0): removing one direction removes axis 0
    rng = np.random.default_rng(0)
    D = np.zeros((20, 5))
    D[:10, 1], D[10:, 2] = 1.0, 1.0
    D[:, 0] = 3 * rng.normal(size=20)
    lab = ["a"] * 10 + ["b"] * 10
    P = dz.distractor_projection(D, lab, k=1)
    assert np.allclose(P @ P, P) and np.allclose(P, P.T) and abs(P[0, 0]) < 1e-6
    assert dz.parallelogram_quality(D @ P, lab).min() == pytest.approx(1.0)
    assert np.allclose(dz.distractor_projection(D, lab, k=0), np.eye(5))
    with pytest.raises(ValueError, match="k must"):
        dz.distractor_projection(D, lab, k=5)
    with pytest.raises(ValueError, match="one relation label"):
        dz.distractor_projection(D, lab[:3])


def test_analogy_accuracy_known_answers():
    # exact parallelograms in orthogonal coordinates: every analogy is solved; a projection
    # onto the shared direction alone makes all words of one side identical
    words = ["a0", "b0", "a1", "b1", "a2", "b2"]
    E = np.zeros((6, 7))
    for i in range(3):
        E[2 * i, i] = E[2 * i + 1, i] = 1.0
        E[2 * i + 1, 6] = 1.0
    pairs = pd.DataFrame({"relation": ["r"] * 3, "a": words[0::2], "b": words[1::2]})
    assert dz.analogy_accuracy(E, words, pairs) == 1.0
    assert dz.analogy_accuracy(E, words, pairs, exclude=()) == 1.0
    assert dz.analogy_accuracy(E, words, pairs, np.eye(7)[:, 6:]) < 1.0
    with pytest.raises(ValueError, match="no relation"):
        dz.analogy_accuracy(E, words, pairs.assign(relation="opposite"))
    with pytest.raises(ValueError, match="columns"):
        dz.analogy_accuracy(E, words, pairs.drop(columns="b"))


def test_hierarchical_feature_data_children_and_control():
    d = dz.hierarchical_feature_data(n=300, n_parents=4, n_children=3, dim=16, p_active=0.3, child_cos=0.8, seed=0)
    assert d.X.shape == (300, 16) and d.parents.shape == (4, 16) and d.children.shape == (12, 16)
    cos = d.children @ d.parents.T
    assert torch.allclose(cos[torch.arange(12), torch.arange(12) // 3], torch.full((12,), 0.8), atol=1e-5)
    # each sample is a sum of at most one child per parent: its projection off the parents'
    # span lives in the active children's own components
    flat = dz.hierarchical_feature_data(n=300, n_parents=4, n_children=3, dim=16, p_active=0.3, split=False, seed=0)
    Q = torch.linalg.qr(flat.parents.T)[0]
    assert torch.allclose(flat.X - flat.X @ Q @ Q.T, torch.zeros_like(flat.X), atol=1e-5)
    assert not torch.allclose(d.X - d.X @ Q @ Q.T, torch.zeros_like(d.X), atol=1e-3)
    sae, _ = dz.train_sae(d, n_atoms=4, steps=50, seed=0)
    assert sae.atoms().shape == (4, 16)
    with pytest.raises(ValueError, match="child_cos"):
        dz.hierarchical_feature_data(child_cos=1.0)


def test_plot_parallelograms_checks_input():
    import matplotlib

    matplotlib.use("Agg")
    E, words, pairs = _planted_analogies(noise=0.1)
    ax = dz.plot_parallelograms(E, words, [("r0", "a0_0", "b0_0"), ("r1", "a1_0", "b1_0")])
    assert ax.get_legend() is not None
    with pytest.raises(ValueError, match="projection"):
        dz.plot_parallelograms(E, words, [("r0", "a0_0", "b0_0")], projection=np.ones((3, 2)))
    with pytest.raises(ValueError, match="missing"):
        dz.plot_parallelograms(E, words, [("r0", "a0_0", "zzz")])


def test_householder_projector_orthonormal_and_exact_init():
    torch.manual_seed(0)
    proj = dz.HouseholderProjector(6, 20, rank=3)
    V = proj.directions().detach()
    assert torch.allclose(V.T @ V, torch.eye(3), atol=1e-5)
    W = proj.weight.detach().double()
    vals = torch.linalg.eigvalsh(W.T @ W)
    assert (vals[:-3].abs() < 1e-5).all() and (vals[-3:] > 1e-3).all()
    lin = torch.nn.Linear(6, 20)
    hp = dz.HouseholderProjector.from_linear(lin, rank=6)
    assert torch.allclose(hp.weight, lin.weight, atol=1e-5)
    z = torch.randn(4, 6)
    assert torch.allclose(hp(z), lin(z), atol=1e-5)
    low = dz.HouseholderProjector.from_linear(lin, rank=2)
    U, S, Vh = torch.linalg.svd(lin.weight.detach())
    assert torch.allclose(low.weight, (U[:, :2] * S[:2]) @ Vh[:2], atol=1e-5)
    with pytest.raises(ValueError, match="rank"):
        dz.HouseholderProjector(6, 20, rank=7)
    with pytest.raises(TypeError, match="nn.Linear"):
        dz.HouseholderProjector.from_linear(proj, rank=2)
    with pytest.raises(ValueError, match="features"):
        proj(torch.zeros(2, 5))


def test_householder_finetune_keeps_model_and_rank(sprites, small_vae):
    control, _ = dz.householder_finetune(small_vae, sprites, rank=None, steps=5, seed=0)
    assert isinstance(control.decoder[0], torch.nn.Linear) and control is not small_vae
    ft, hist = dz.householder_finetune(small_vae, sprites, rank=2, steps=5, seed=0)
    assert isinstance(ft.decoder[0], dz.HouseholderProjector) and isinstance(small_vae.decoder[0], torch.nn.Linear)
    vals, D = dz.sefa_directions(ft)
    assert (vals[2:] < 1e-6 * vals[0]).all() and D.shape == (4, 4)
    assert np.isfinite(dz.reconstruction_error(ft, sprites)) and dz.reconstruction_error(small_vae, sprites) > 0
    with pytest.raises(ValueError, match="latent width"):
        dz.householder_finetune(small_vae, sprites, rank=5)
    with pytest.raises(TypeError, match="Sprites"):
        dz.householder_finetune(small_vae, sprites.flat, rank=2)


def test_reconstruction_error_metrics(sprites):
    model = dz.SpriteAutoencoder(kind="qlae", latent_dim=4)
    with torch.no_grad():
        z = torch.from_numpy(dz.encode(model, sprites)).float()
        by_hand = float(((torch.sigmoid(model.decode(z)) - sprites.flat) ** 2).sum(1).mean())
    assert dz.reconstruction_error(model, sprites, metric="mse") == pytest.approx(by_hand, rel=1e-6)
    assert dz.reconstruction_error(model, sprites) > dz.reconstruction_error(model, sprites, metric="mse")
    with pytest.raises(ValueError, match="metric"):
        dz.reconstruction_error(model, sprites, metric="l1")


def test_trainers_follow_the_device_rule(sprites):
    """Every trainer of the chapter takes ``device`` (None: the GPU when present, else the CPU)."""
    import inspect

    for fn in (dz.train_autoencoder, dz.train_vq_autoencoder, dz.householder_finetune, dz.train_sae):
        assert inspect.signature(fn).parameters["device"].default is None, fn.__name__
    model, _ = dz.train_autoencoder(sprites, "vae", latent_dim=2, steps=2, hidden=8, device="cpu")
    assert next(model.parameters()).device.type == "cpu"
    with pytest.raises(ValueError, match="device"):
        dz.train_autoencoder(sprites, "vae", latent_dim=2, steps=2, hidden=8, device="nonsense")


def test_dci_known_answers(sprites):
    f = sprites.factors
    exact = dz.dci_scores(f[:, [3, 4]].astype(float), f[:, [3, 4]])
    assert exact["disentanglement"] > 0.99 and exact["completeness"] > 0.99 and exact["informativeness"] > 0.99
    # x held twice: each copy is important for x only (disentanglement 1), but x's importance
    # is split between two of three coordinates: completeness 1 - H3(1/2, 1/2) = 0.369 for x
    dup = dz.dci_scores(f[:, [3, 3, 4]].astype(float), f[:, [3, 4]])
    assert dup["disentanglement"] > 0.99
    assert dup["completeness"] == pytest.approx((1 + 1 - np.log(2) / np.log(3)) / 2, abs=0.08)
    # one coordinate holding both factors (a bijective code): its row entropy is high
    both = dz.dci_scores(np.stack([f[:, 3] * 10 + f[:, 4], np.zeros(len(f))], 1), f[:, [3, 4]])
    assert both["disentanglement"] < 0.2 and both["informativeness"] > 0.5


def test_mutual_info_null_is_the_plug_in_bias(sprites, aligned):
    null = dz.mutual_info_null(aligned, sprites.factors, n_permutations=5)
    mi = dz.mutual_info_matrix(aligned, sprites.factors)
    assert null.shape == mi.shape and (null >= 0).all() and mi[3, 3] > 10 * null[3, 3]
    # the floor for a continuous code (20 occupied bins): about (bins - 1)(values - 1) / 2N
    noise = np.random.default_rng(0).normal(size=(len(sprites), 2))
    n, values = len(sprites), sprites.factor_sizes[3]
    floor = dz.mutual_info_null(noise, sprites.factors, n_permutations=5)[:, 3]
    assert floor == pytest.approx(np.full(2, 19 * (values - 1) / (2 * n)), rel=0.3)
    assert dz.mutual_info_matrix(noise, sprites.factors)[:, 3] == pytest.approx(floor, rel=0.3)
    with pytest.raises(ValueError, match="n_permutations"):
        dz.mutual_info_null(aligned, sprites.factors, n_permutations=0)


def test_plane_rotation_and_position_plane(sprites, small_vae):
    Q = dz.plane_rotation(5, 1, 3, np.pi / 2)
    assert torch.allclose(Q @ Q.T, torch.eye(5), atol=1e-6)
    assert torch.allclose(Q @ torch.eye(5)[1], torch.eye(5)[3], atol=1e-6)
    assert torch.equal(dz.plane_rotation(4, 0, 1, 0.0), torch.eye(4))
    with pytest.raises(ValueError, match="distinct"):
        dz.plane_rotation(4, 2, 2, 1.0)
    with pytest.raises(ValueError, match="distinct"):
        dz.plane_rotation(4, 0, 4, 1.0)


def test_rotation_cost_of_a_diagonal_posterior(sprites, small_vae):
    d = small_vae.latent_dim
    base = dz.refit_diagonal_objective(small_vae, sprites, None, n_images=16, steps=5, seed=0)
    again = dz.refit_diagonal_objective(small_vae, sprites, torch.eye(d), n_images=16, steps=5, seed=0)
    assert np.isfinite(base) and base == pytest.approx(again, rel=1e-6)
    # a swap of two axes is a symmetry of the diagonal posterior: no cost at all
    swap = torch.eye(d)[[1, 0, 2, 3]]
    assert dz.rotation_cost(small_vae, sprites, swap, n_images=16, steps=5) == pytest.approx(0.0, abs=1e-3)
    with pytest.raises(ValueError, match="VAE"):
        dz.refit_diagonal_objective(dz.SpriteAutoencoder(kind="ae"), sprites)
    with pytest.raises(ValueError, match="orthogonal"):
        dz.rotation_cost(small_vae, sprites, torch.ones(d, d), n_images=16, steps=2)


def test_axis_angle_known_answers(sprites, aligned):
    assert dz.axis_angle(aligned, sprites, (3, 4)) == pytest.approx(0.0, abs=0.1)
    assert dz.axis_angle(aligned, sprites, (4, 3)) == pytest.approx(0.0, abs=0.1)  # matched either way
    turned = aligned @ dz.plane_rotation(5, 3, 4, np.pi / 6).numpy().T
    assert dz.axis_angle(turned, sprites, (3, 4)) == pytest.approx(30.0, abs=0.5)



def test_factor_directions_and_subspace_share(sprites, aligned):
    D = dz.factor_directions(aligned, sprites)
    assert D.shape == (5, 2) and np.allclose(np.linalg.norm(D, axis=0), 1)
    assert abs(D[3, 0]) > 0.99 and abs(D[4, 1]) > 0.99
    share = dz.subspace_share(D, np.eye(5)[:, [3, 4]])
    assert share == pytest.approx([1.0, 1.0], abs=1e-3)
    assert dz.subspace_share(D, np.eye(5)[:, [0, 1]]).max() < 0.01
    with pytest.raises(ValueError, match="unknown factors"):
        dz.factor_directions(aligned, sprites, ("colour",))
    with pytest.raises(ValueError, match="same d"):
        dz.subspace_share(D, np.eye(4))


def test_vae_ensemble_trains_independent_runs():
    from biaslab.disentangle import unsupervised_study as us

    small = dz.make_sprites(n_scale=2, n_rotation=1, n_x=4, n_y=4)
    ens, hist = us.train_vae_ensemble(small, ["beta-VAE", "beta-TCVAE", "FactorVAE"], [2.0, 4.0, 10.0], [0, 1, 2],
                                      steps=20, batch_size=16, hidden=16, latent_dim=3, device="cpu")
    assert ens.runs == 3 and len(hist) > 1 and np.isfinite(hist.loss).all()
    # a run's initialization depends only on its own seed (one Adam step then moves each weight
    # by about the learning rate, 3e-3; a different initialization would differ by about 0.3)
    solo, _ = us.train_vae_ensemble(small, ["beta-VAE"], [2.0], [0], steps=1, batch_size=16, hidden=16, latent_dim=3)
    init, _ = us.train_vae_ensemble(small, ["beta-VAE", "FactorVAE"], [2.0, 10.0], [0, 5], steps=1, batch_size=16,
                                    hidden=16, latent_dim=3)
    assert torch.allclose(solo.decoder[0].weight[0], init.decoder[0].weight[0], atol=7e-3)
    assert not torch.allclose(init.decoder[0].weight[0], init.decoder[0].weight[1], atol=0.05)
    table = us.study_scores(ens, small)
    assert len(table) == 3 and {"MIG", "ELBO", "TC, sampled", "TC, mean"} <= set(table.columns)
    with pytest.raises(ValueError, match="unknown objectives"):
        us.VAEEnsemble(["VAE"], [1.0], 10)
    with pytest.raises(ValueError, match="seeds"):
        us.train_vae_ensemble(small, ["beta-VAE"], [1.0], [0, 1], steps=1)


def test_study_statistics_known_answers():
    from biaslab.disentangle import unsupervised_study as us

    rng = np.random.default_rng(0)
    assert us.gaussian_total_correlation(rng.normal(size=(5000, 3))) == pytest.approx(0.0, abs=0.01)
    z = rng.normal(size=(20000, 1))
    pair = np.c_[z, 0.6 * z + 0.8 * rng.normal(size=(20000, 1))]  # correlation 0.6
    assert us.gaussian_total_correlation(pair) == pytest.approx(-0.5 * np.log(1 - 0.36), abs=0.02)
    t = pd.DataFrame({"objective": ["a", "a", "b", "b"], "strength": [1, 1, 1, 1], "score": [0.0, 2.0, 10.0, 12.0]})
    assert us.variance_ratio(t, "score") == pytest.approx(2.0 / 50.0)
    t["sel"] = [3.0, 1.0, 0.0, 2.0]
    assert us.selection_regret(t, "sel", "score") == pytest.approx(0.0)
    assert us.selection_regret(t, "sel", "score", larger_is_better=False) == pytest.approx(10 / 12)
    with pytest.raises(ValueError, match="no column"):
        us.selection_regret(t, "ELBO")
    tc = pd.DataFrame({"objective": ["beta-TCVAE", "beta-TCVAE", "FactorVAE", "FactorVAE", "beta-VAE"],
                       "strength": [2.0, 6.0, 10.0, 40.0, 6.0], "TC": [2.0, 1.0, 4.0, 2.0, 100.0]})
    assert us.tc_ratio(tc, "TC") == pytest.approx(1.5 / 3.0)  # beta-VAE rows are not counted


def test_interleaved_settings_and_rank_agreement():
    from scipy.stats import spearmanr

    from biaslab.disentangle import unsupervised_study as us

    t = pd.DataFrame({"objective": ["a"] * 3 + ["b"] * 3 + ["c"] * 3, "strength": [1.0] * 9,
                      "apart": [0, 1, 2, 10, 11, 12, 20, 21, 22.0],  # every setting's runs lie apart
                      "mixed": [0, 5, 10, 1, 6, 11, 2, 7, 12.0],  # every pair of settings interleaves
                      "half": [0, 1, 2, 1.5, 3, 4, 10, 11, 12.0]})  # a and b interleave, c lies apart
    assert us.interleaved_settings(t, ["apart"]) == 0.0
    assert us.interleaved_settings(t, ["mixed"]) == 1.0
    assert us.interleaved_settings(t, ["half"]) == pytest.approx(1 / 3)
    assert us.interleaved_settings(t, ["apart", "mixed", "half"]) == pytest.approx(4 / 9)
    with pytest.raises(ValueError, match="non-empty"):
        us.interleaved_settings(t, "apart")
    with pytest.raises(ValueError, match="lacks"):
        us.interleaved_settings(t, ["MIG"])
    with pytest.raises(ValueError, match="two settings"):
        us.interleaved_settings(t[t.objective == "a"], ["apart"])
    rev = t.assign(down=-t.apart)
    assert us.min_rank_agreement(rev, ["apart", "mixed"]) == pytest.approx(spearmanr(t.apart, t.mixed).statistic)
    assert us.min_rank_agreement(rev, ["apart", "half", "down"]) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="at least two"):
        us.min_rank_agreement(t, ["apart"])
    with pytest.raises(ValueError, match="lacks"):
        us.min_rank_agreement(t, ["apart", "ELBO"])
