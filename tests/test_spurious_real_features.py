"""Unit tests of biaslab.spurious.real_features: the review sentences, the splits, the metrics,
the benchmark table and its plot, on synthetic embeddings (the encoder is loaded by one test)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
import torch

from biaslab import spurious as sp
from biaslab.spurious import real_features as rf


def _fake_embeddings(topic_scale: float = 3.0, seed: int = 0) -> torch.Tensor:
    """Embeddings in which coordinate 0 carries the sentiment and coordinate 1 the topic."""
    _, y, topic, _ = sp.review_sentences()
    gen = torch.Generator().manual_seed(seed)
    Z = 0.3 * torch.randn(len(y), 6, generator=gen)
    Z[:, 0] += torch.as_tensor(2 * y - 1, dtype=torch.float32)
    Z[:, 1] += topic_scale * torch.as_tensor(2 * topic - 1, dtype=torch.float32)
    return Z


def test_review_sentences_groups_and_words():
    sentences, y, topic, word = sp.review_sentences()
    assert len(sentences) == len(set(sentences)) == 1600
    assert np.bincount(2 * y + topic).tolist() == [400] * 4
    assert set(word.tolist()) == set(range(10))
    i = sentences.index("At the restaurant, the food was dull.")
    assert (y[i], topic[i], word[i]) == (0, 0, 0)
    assert any("camera work" in s and "moving" in s for s in sentences)
    assert sp.review_sentences() is sp.review_sentences()  # cached


def test_review_benchmark_splits_sizes_and_correlation():
    ds, heldout = sp.review_benchmark(rho=0.95, seed=3, Z=_fake_embeddings())
    assert len(ds.train) == 300 and len(heldout) == 80 and len(ds.val) == 80 and len(ds.test) == 400
    agree = float((ds.train.a == ds.train.y).float().mean())
    assert abs(agree - 0.95) < 0.01
    for split in (heldout, ds.val, ds.test):
        assert torch.bincount(split.g, minlength=4).tolist() == [len(split) // 4] * 4
    assert torch.equal(ds.train.g, 2 * ds.train.y + ds.train.a)


def test_review_benchmark_test_words_disjoint_and_no_shared_sentences():
    _, _, _, word = sp.review_sentences()
    Z = torch.arange(1600, dtype=torch.float32)[:, None]  # row index as the "embedding"
    ds, heldout = sp.review_benchmark(seed=1, Z=Z)
    rows = {name: set(d.X[:, 0].long().tolist()) for name, d in
            (("train", ds.train), ("heldout", heldout), ("val", ds.val), ("test", ds.test))}
    names = list(rows)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not rows[a] & rows[b], (a, b)
    fit_words = {int(word[r]) for n in ("train", "heldout", "val") for r in rows[n]}
    test_words = {int(word[r]) for r in rows["test"]}
    assert not fit_words & test_words and len(test_words) == 5
    ds0, _ = sp.review_benchmark(seed=1, Z=Z, test_words=0)
    assert len({int(word[r]) for r in ds0.test.X[:, 0].long().tolist()}) == 10


def test_review_benchmark_seed_changes_split_only():
    Z = _fake_embeddings()
    a, _ = sp.review_benchmark(seed=0, Z=Z)
    b, _ = sp.review_benchmark(seed=0, Z=Z)
    c, _ = sp.review_benchmark(seed=1, Z=Z)
    assert torch.equal(a.train.X, b.train.X) and not torch.equal(a.train.X, c.train.X)


@pytest.mark.parametrize(
    "kwargs, err, msg",
    [
        ({"rho": 1.5}, ValueError, "rho"),
        ({"rho": "high"}, TypeError, "rho"),
        ({"n_train": 2}, ValueError, "n_train"),
        ({"n_heldout": 0}, ValueError, "n_heldout"),
        ({"n_val": 1.5}, TypeError, "n_val"),
        ({"n_test": 300}, ValueError, "n_test"),
        ({"test_words": 10}, ValueError, "test_words"),
        ({"n_train": 1000}, ValueError, "n_train"),
        ({"seed": -1}, ValueError, "seed"),
        ({"Z": torch.zeros(10, 3)}, ValueError, "Z"),
    ],
)
def test_review_benchmark_bad_input(kwargs, err, msg):
    kwargs.setdefault("Z", _fake_embeddings())
    with pytest.raises(err, match=msg):
        sp.review_benchmark(**kwargs)


def test_linear_head_metrics_weights_groups_by_training_share():
    ds, _ = sp.review_benchmark(rho=0.95, seed=0, Z=_fake_embeddings())
    topic_head = torch.nn.Linear(6, 2)  # predicts the label from the topic coordinate
    with torch.no_grad():
        topic_head.weight.zero_()
        topic_head.bias.zero_()
        topic_head.weight[1, 1], topic_head.weight[0, 1] = 1.0, -1.0
    m = sp.linear_head_metrics(topic_head, ds)
    assert m["worst_group_acc"] == 0.0 and m["group_0"] == m["group_3"] == 1.0
    assert m["balanced_acc"] == pytest.approx(0.5)
    share_major = float(((ds.train.g == 0) | (ds.train.g == 3)).float().mean())
    assert m["avg_acc"] == pytest.approx(share_major)
    with pytest.raises(TypeError, match="model"):
        sp.linear_head_metrics("head", ds)
    with pytest.raises(TypeError, match="ds"):
        sp.linear_head_metrics(topic_head, {"test": None})


def test_real_feature_benchmark_table_and_shortcut():
    ds, heldout = sp.review_benchmark(rho=0.95, seed=0, Z=_fake_embeddings(topic_scale=3.0))
    table = sp.real_feature_benchmark(ds, heldout, seed=0, device="cpu")
    assert list(table.index) == ["ERM", "ERM on train + held-out", "group-balanced subsampling",
                                 "group reweighting", "GroupDRO", "JTT", "DFR (last-layer retraining)"]
    assert {"worst_group_acc", "avg_acc", "balanced_acc", "group_0"} <= set(table.columns)
    assert ((table >= 0) & (table <= 1)).all().all()
    # the sentiment coordinate gives every label: the balanced-data head finds it
    assert table.loc["DFR (last-layer retraining)", "worst_group_acc"] >= 0.9


def test_real_feature_benchmark_bad_input():
    ds, heldout = sp.review_benchmark(seed=0, Z=_fake_embeddings())
    with pytest.raises(TypeError, match="ds"):
        sp.real_feature_benchmark("ds", heldout)
    with pytest.raises(TypeError, match="heldout"):
        sp.real_feature_benchmark(ds, ds)
    with pytest.raises(ValueError, match="eta"):
        sp.real_feature_benchmark(ds, heldout, eta=-1.0)


def test_plot_real_feature_benchmark():
    table = pd.DataFrame({"worst_group_acc": [0.5, 0.9], "avg_acc": [0.98, 0.95]}, index=["ERM", "JTT"])
    ax = sp.plot_real_feature_benchmark({0: table, 1: table * 0.9})
    assert ax.get_ylabel() == "test accuracy (%)"
    assert len(ax.patches) == 4
    with pytest.raises(TypeError, match="tables"):
        sp.plot_real_feature_benchmark({})
    with pytest.raises(TypeError, match="tables"):
        sp.plot_real_feature_benchmark([table])


def test_protocol_and_paper_table():
    assert sp.LINEAR_PROTOCOL["depth"] == 0
    assert list(sp.PAPER_WATERBIRDS.index)[0] == "ERM"
    assert sp.PAPER_WATERBIRDS["worst-group acc. (%)"].between(50, 100).all()


def test_review_embeddings_shape_and_cache():
    with pytest.raises(TypeError, match="device"):
        sp.review_embeddings(device=3)
    Z = sp.review_embeddings()
    assert Z.shape == (1600, 384) and Z.dtype == torch.float32
    assert torch.allclose(Z.norm(dim=1), torch.ones(1600), atol=1e-4)
    assert sp.review_embeddings() is Z


def test_linear_probe_reads_the_stronger_coordinate():
    ds, heldout = sp.review_benchmark(seed=0, Z=_fake_embeddings(topic_scale=3.0))
    assert sp.linear_probe(ds, heldout, "topic", device="cpu") == 1.0
    assert 0.9 <= sp.linear_probe(ds, heldout, "sentiment", device="cpu") <= 1.0
    with pytest.raises(ValueError, match="target"):
        sp.linear_probe(ds, heldout, "color")
    with pytest.raises(TypeError, match="heldout"):
        sp.linear_probe(ds, None)


@pytest.mark.parametrize("kwargs, err, msg", [({"jtt_first_steps": 0}, ValueError, "jtt_first_steps"),
                                               ({"jtt_upweight": -2.0}, ValueError, "jtt_upweight"),
                                               ({"seed": -1}, ValueError, "seed")])
def test_real_feature_benchmark_bad_settings(kwargs, err, msg):
    ds, heldout = sp.review_benchmark(seed=0, Z=_fake_embeddings())
    with pytest.raises(err, match=msg):
        sp.real_feature_benchmark(ds, heldout, **kwargs)
