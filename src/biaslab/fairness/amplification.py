"""Section 3.3, Amplification: how models and feedback loops grow a bias (``chapters/03_fairness/03_amplification.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..claims import Claim, Control, at_least, at_most
from ..core import make_mlp, train
from ..validation import (
    check_binary,
    check_fraction,
    check_groups,
    check_positive_int,
)
from ._shared import _ce

__all__ = [
    "make_multi_attribute_data",
    "train_multilabel",
    "predict_multilabel",
    "bias_amplification",
    "amplification_summary",
    "feedback_loop",
    "group_feedback_loops",
    "GROUP_SETTINGS",
    "amplification_experiment",
    "lowest_output_rate",
    "largest_drift",
    "FEEDBACK_SETTINGS",
]


def make_multi_attribute_data(
    n: int, p_same: tuple[float, float] = (0.2, 0.8), noise: float = 0.6, d_noise: int = 4, seed: int = 0,
    p_first: tuple[float, float] = (0.5, 0.5),
) -> dict[str, np.ndarray]:
    """Multi-label data whose attributes are biased only *jointly* with a group.

    Each example has a group ``g`` (0/1, one half each) and two binary attributes ``a1``,
    ``a2``, each present half of the time in *both* groups: no single attribute is skewed
    towards a group. Their co-occurrence is: in group ``g`` the two attributes agree
    (both present or both absent) with probability ``p_same[g]``. Features: a noisy copy of
    each attribute (noise sd ``noise``), the group itself, and ``d_noise`` noise columns.

    Args:
        n: examples.
        p_same: P(a1 = a2) in group 0 and in group 1.
        noise: standard deviation of the noise on the attribute features.
        d_noise: extra noise features.
        seed: seeds the generator.
        p_first: P(a1 = 1) in group 0 and in group 1; the default (0.5, 0.5) skews no single
            attribute, unequal values skew ``a1`` (and, through the agreement, ``a2``) towards
            a group, the world that single-attribute metrics were designed for.

    Returns:
        ``{"X": (n, 3 + d_noise) float32, "attrs": (n, 2) int, "g": (n,) int}``.
    """
    n = check_positive_int(n, "n")
    for name, pair in (("p_same", p_same), ("p_first", p_first)):
        if len(pair) != 2 or not all(0 <= p <= 1 for p in pair):
            raise ValueError(f"{name} must be two probabilities, got {pair!r}")
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 2, n)
    a1 = rng.integers(0, 2, n)
    # a skew towards a group: with probability |2p - 1| set a1 to the value its group favours
    # (a second generator, so that the default data do not change)
    p1 = np.asarray(p_first, dtype=float)[g]
    forced = np.random.default_rng([seed, 1]).random(n) < np.abs(2 * p1 - 1)
    a1 = np.where(forced, (p1 > 0.5).astype(int), a1)
    same = rng.random(n) < np.asarray(p_same)[g]
    a2 = np.where(same, a1, 1 - a1)
    attrs = np.stack([a1, a2], 1)
    X = np.concatenate(
        [attrs - 0.5 + noise * rng.normal(size=(n, 2)), g[:, None] - 0.5, rng.normal(size=(n, d_noise))], 1
    ).astype(np.float32)
    return {"X": X, "attrs": attrs, "g": g}


def train_multilabel(
    X: np.ndarray, attrs: np.ndarray, steps: int = 800, width: int = 32, seed: int = 0, device: torch.device | str = "cpu"
) -> torch.nn.Module:
    """Train an MLP that predicts a set of binary attributes jointly.

    The network has one output per *combination* of the ``k`` attributes (``2**k`` classes,
    cross-entropy), and :func:`predict_multilabel` decodes the most likely combination, the
    usual way to predict co-occurring labels when their combinations matter.

    Args:
        X: features (n, d).
        attrs: binary attribute labels (n, k), k <= 6.
        steps: Adam steps (lr 1e-2, batch 512).
        width: hidden units (one hidden layer).
        seed: seeds initialization and batches.
        device: where to train.

    Returns:
        The trained model (outputs are logits over the ``2**k`` combinations).
    """
    X = np.asarray(X)
    attrs = np.asarray(attrs)
    if X.ndim != 2 or attrs.ndim != 2 or len(X) != len(attrs):
        raise ValueError(f"X and attrs must be 2-D with the same number of rows, got {X.shape} and {attrs.shape}")
    k = attrs.shape[1]
    if not 1 <= k <= 6:
        raise ValueError(f"attrs must have 1 to 6 columns, got {k}")
    code = torch.as_tensor(attrs @ (2 ** np.arange(k)), dtype=torch.long)
    torch.manual_seed(seed)
    model = make_mlp(X.shape[1], 2**k, width=width, depth=1).to(device)
    train(model, torch.as_tensor(X, dtype=torch.float32), code, _ce, steps=steps, lr=1e-2, batch_size=512,
          seed=seed, eval_every=steps)
    return model


def predict_multilabel(model: torch.nn.Module, X: np.ndarray, k: int) -> np.ndarray:
    """Decode the most likely attribute combination of each row (see :func:`train_multilabel`).

    Args:
        model: the trained model.
        X: features (n, d).
        k: number of attributes.

    Returns:
        Binary predictions (n, k).
    """
    device = next(model.parameters()).device
    with torch.no_grad():
        code = model(torch.as_tensor(np.asarray(X), dtype=torch.float32, device=device)).argmax(1).cpu().numpy()
    return (code[:, None] >> np.arange(k)) & 1


def _p_group_given(g: np.ndarray, mask: np.ndarray) -> float:
    return float(g[mask].mean()) if mask.any() else float("nan")


def bias_amplification(
    attrs_true: Any, attrs_pred: Any, g: Any, max_order: int = 2, names: Sequence[str] | None = None
) -> pd.DataFrame:
    """Bias amplification of every attribute combination: how far predictions move P(g | m).

    For every set ``m`` of attributes of size 1 to ``max_order`` ("all of these present")
    and each group ``g``, compare ``P(g | m)`` computed with the predicted attributes with
    the same quantity computed with the true ones: ``delta = P_pred(g | m) - P_true(g | m)``.
    Single-attribute metrics average ``delta`` over sets of size 1; the multi-attribute
    metric of Zhao et al. (2023) averages ``|delta|`` over all sets, so that positive and
    negative amplification cannot cancel and 0 is the ideal value.

    Args:
        attrs_true: true binary attributes (n, k).
        attrs_pred: predicted binary attributes (n, k).
        g: binary group of each example (n,).
        max_order: largest attribute set considered.
        names: attribute names (default ``a1, a2, ...``).

    Returns:
        A DataFrame with one row per (set, group): ``set``, ``order``, ``group``,
        ``P_true``, ``P_pred``, ``delta``.
    """
    from itertools import combinations

    t = np.asarray(attrs_true)
    p = np.asarray(attrs_pred)
    if t.ndim != 2 or t.shape != p.shape:
        raise ValueError(f"attrs_true and attrs_pred must be 2-D arrays of the same shape, got {t.shape} and {p.shape}")
    for arr, nm in ((t, "attrs_true"), (p, "attrs_pred")):
        if not set(np.unique(arr).tolist()) <= {0, 1}:
            raise ValueError(f"{nm} must hold only 0 and 1")
    gg = check_binary(g, "g")
    check_groups(gg, "g", len(t))
    k = t.shape[1]
    names = list(names) if names is not None else [f"a{i + 1}" for i in range(k)]
    rows = []
    for order in range(1, max_order + 1):
        for combo in combinations(range(k), order):
            mt = t[:, combo].all(1)
            mp = p[:, combo].all(1)
            for grp in (0, 1):
                pt = _p_group_given(gg == grp, mt)
                pp = _p_group_given(gg == grp, mp)
                rows.append({"set": "{" + ", ".join(names[c] for c in combo) + "}", "order": order, "group": grp,
                             "P_true": pt, "P_pred": pp, "delta": pp - pt})
    return pd.DataFrame(rows)


def amplification_summary(
    attrs_train: Any, g_train: Any, attrs_true: Any, attrs_pred: Any, g: Any, max_order: int = 2
) -> dict[str, float]:
    """Single-attribute and multi-attribute bias amplification in one dictionary.

    ``single-attribute``: for each attribute, the group it co-occurs with most in the
    training labels, and the mean over attributes of that group's ``delta`` (signed, as in
    the co-occurrence metric of Zhao et al., 2017). ``multi-attribute``: the mean ``|delta|``
    over all groups and all attribute sets of size 2 to ``max_order``.

    Args:
        attrs_train, g_train: training labels and groups (to orient the single-attribute metric).
        attrs_true, attrs_pred, g: test labels, predictions and groups.
        max_order: largest attribute set of the multi-attribute metric.

    Returns:
        ``{"single-attribute": ..., "multi-attribute": ...}``.
    """
    if max_order < 2:
        raise ValueError(f"max_order must be >= 2 for a multi-attribute metric, got {max_order}")
    train_ba = bias_amplification(attrs_train, attrs_train, g_train, max_order=1)
    test_ba = bias_amplification(attrs_true, attrs_pred, g, max_order=max_order)
    single = []
    for st, t in train_ba.groupby("set"):
        gstar = t.loc[t["P_true"].idxmax(), "group"]
        single.append(test_ba[(test_ba["set"] == st) & (test_ba["group"] == gstar)]["delta"].iloc[0])
    multi = test_ba[test_ba["order"] >= 2]["delta"].abs().mean()
    return {"single-attribute": float(np.mean(single)), "multi-attribute": float(multi)}


def _share_gap(v: np.ndarray, g: np.ndarray) -> float:
    """fairlearn's ``demographic_parity_difference`` for two groups 0/1, in numpy for speed (a unit
    test checks the two agree)."""
    return float(abs(v[g == 0].mean() - v[g == 1].mean()))


def feedback_loop(
    labeling: str = "argmax",
    rounds: int = 15,
    base_rate: float = 0.6,
    n_initial: int = 10000,
    n_per_round: int = 10000,
    model_share: float = 0.8,
    separation: float = 0.8,
    n_test: int = 100000,
    minority_share: float = 0.0,
    minority_base_rate: float | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """A data feedback loop: a classifier is retrained on data that it partly labelled itself.

    One-dimensional inputs, class 1 with probability ``base_rate``, ``x ~ N(+-separation/2, 1)``.
    Round 0 trains a logistic regression on ``n_initial`` human-labelled examples. Every
    round adds ``n_per_round`` new inputs, a share ``model_share`` of them labelled by the
    current model (``"argmax"``: the most likely class; ``"sample"``: a label drawn from
    the predicted probability) and the rest by their true label, then retrains on all data.

    Args:
        labeling: ``"argmax"`` or ``"sample"``.
        rounds: retraining rounds after round 0.
        base_rate: P(y = 1) of the true distribution.
        n_initial: human-labelled examples of round 0.
        n_per_round: new examples per round.
        model_share: fraction of new examples labelled by the model.
        separation: distance between the class means (smaller: more overlap, so the argmax
            model over-predicts the majority class more; 0.8 gives a Bayes argmax rate of
            0.708 for ``base_rate=0.6``).
        n_test: fresh inputs on which the model's output rate is measured.
        minority_share: share of people in group 1 (0: one group, the default). Group 1 has
            base rate ``minority_base_rate``, group 0 ``base_rate``; the inputs are then
            ``(x, group)`` and the model sees both.
        minority_base_rate: P(y = 1) in group 1 (required when ``minority_share > 0``).
        seed: seeds everything.

    Returns:
        A DataFrame with one row per round: ``round``, ``predicted rate`` (share of test
        inputs the model labels 1 under ``labeling``) and ``label rate`` (share of 1s in all
        training labels so far). With two groups also ``label gap`` and ``predicted gap``:
        the difference in the share of 1s between the groups (fairlearn's
        ``demographic_parity_difference``) of the training labels and of the test predictions (the true gap is ``|base_rate - minority_base_rate|``).

    The argmax loop keeps whatever threshold round 0 fitted (its own labels are separable
    at that threshold), so the noise of the round-0 fit stays in every round: with 1,000
    examples per round it moved the output rate by about +-0.02 between seeds, hence the
    10,000 default.
    """
    from sklearn.linear_model import LogisticRegression

    if labeling not in ("argmax", "sample"):
        raise ValueError(f"labeling must be 'argmax' or 'sample', got {labeling!r}")
    rounds = check_positive_int(rounds, "rounds")
    check_fraction(base_rate, "base_rate")
    check_fraction(model_share, "model_share", -1e-12, 1.0)
    two_groups = check_fraction(minority_share, "minority_share", -1e-12, 1.0) > 0
    if two_groups:
        check_fraction(minority_base_rate, "minority_base_rate")
    rng = np.random.default_rng(seed)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        if not two_groups:
            y = (rng.random(n) < base_rate).astype(int)
            x = rng.normal(size=n) + separation * (y - 0.5)
            return x[:, None], y
        g = (rng.random(n) < minority_share).astype(int)
        y = (rng.random(n) < np.where(g == 1, minority_base_rate, base_rate)).astype(int)
        return np.stack([rng.normal(size=n) + separation * (y - 0.5), g], 1), y

    def gaps(X: np.ndarray, Y: np.ndarray, x_test: np.ndarray, pred: np.ndarray) -> dict[str, float]:
        if not two_groups:
            return {}
        return {"label gap": _share_gap(Y, X[:, 1]), "predicted gap": _share_gap(pred, x_test[:, 1])}

    def label(model, x: np.ndarray) -> np.ndarray:
        prob = model.predict_proba(x)[:, 1]
        return (prob >= 0.5).astype(int) if labeling == "argmax" else (rng.random(len(x)) < prob).astype(int)

    X, Y = draw(n_initial)
    x_test, _ = draw(n_test)
    rows = []
    model = LogisticRegression().fit(X, Y)
    for r in range(rounds + 1):
        if r > 0:
            x_new, y_new = draw(n_per_round)
            by_model = rng.random(n_per_round) < model_share
            y_new = np.where(by_model, label(model, x_new), y_new)
            X, Y = np.concatenate([X, x_new]), np.concatenate([Y, y_new])
            model = LogisticRegression().fit(X, Y)
        pred = label(model, x_test)
        rows.append({"round": r, "predicted rate": float(pred.mean()), "label rate": float(Y.mean()),
                     **gaps(X, Y, x_test, pred)})
    return pd.DataFrame(rows)


def amplification_experiment(
    seed: int = 0, device: torch.device | str = "cpu", **data_kwargs: Any
) -> dict[str, float]:
    """Step 1 in one call: train the multi-label tagger and summarize its amplification.

    Training data (20,000 rows) use data seed ``10 * seed + 1``, test data (50,000 rows)
    ``10 * seed + 2``, the model ``seed``: seed 0 is the notebook's demo.

    Args:
        seed: the seed.
        device: where to train.
        **data_kwargs: passed to :func:`make_multi_attribute_data` for both splits (default:
            ``p_same=(0.2, 0.8)``, no single-attribute skew).

    Returns:
        :func:`amplification_summary` of the test predictions.
    """
    kw = {"p_same": (0.2, 0.8), **data_kwargs}
    tr = make_multi_attribute_data(20000, seed=10 * seed + 1, **kw)
    te = make_multi_attribute_data(50000, seed=10 * seed + 2, **kw)
    model = train_multilabel(tr["X"], tr["attrs"], seed=seed, device=device)
    pred = predict_multilabel(model, te["X"], k=tr["attrs"].shape[1])
    return amplification_summary(tr["attrs"], tr["g"], te["attrs"], pred, te["g"])


def lowest_output_rate(history: pd.DataFrame) -> float:
    """The lowest share of inputs a feedback loop's model labels 1, over the retraining rounds
    (round 0, before any feedback, left out).

    Args:
        history: the output of :func:`feedback_loop`.

    Returns:
        The minimum of ``predicted rate`` over rounds >= 1.
    """
    if not isinstance(history, pd.DataFrame) or not {"round", "predicted rate"} <= set(history.columns):
        raise TypeError("history must be the DataFrame returned by feedback_loop")
    after = history[history["round"] >= 1]
    if after.empty:
        raise ValueError("history has no retraining round (round >= 1)")
    return float(after["predicted rate"].min())


def largest_drift(history: pd.DataFrame, base_rate: float) -> float:
    """How far a feedback loop's output rate gets from the true base rate, over the
    retraining rounds (round 0 left out).

    Args:
        history: the output of :func:`feedback_loop`.
        base_rate: the true P(y = 1).

    Returns:
        The maximum of ``|predicted rate - base_rate|`` over rounds >= 1.
    """
    if not isinstance(history, pd.DataFrame) or not {"round", "predicted rate"} <= set(history.columns):
        raise TypeError("history must be the DataFrame returned by feedback_loop")
    check_fraction(base_rate, "base_rate")
    after = history[history["round"] >= 1]
    if after.empty:
        raise ValueError("history has no retraining round (round >= 1)")
    return float((after["predicted rate"] - base_rate).abs().max())


FEEDBACK_SETTINGS = dict(rounds=15, base_rate=0.6, model_share=0.8, separation=0.8, n_initial=10000,
                         n_per_round=10000, n_test=100000)
"""The feedback loop of Step 2 (a Bayes argmax rate of 0.708 against a base rate of 0.6)."""


GROUP_SETTINGS = dict(minority_share=0.3, minority_base_rate=0.4)
"""Step 3's second group: 30% of the people, base rate 0.4 against the majority's 0.6."""


def group_feedback_loops(seed: int = 0) -> dict[str, pd.DataFrame]:
    """Step 3: the three loops of Step 2 with a second group (:data:`GROUP_SETTINGS`) in them.

    Args:
        seed: seeds the loops.

    Returns:
        ``{"argmax": ..., "sample": ..., "argmax, no feedback": ...}``: :func:`feedback_loop`
        histories with :data:`FEEDBACK_SETTINGS` and :data:`GROUP_SETTINGS` (the last with
        ``model_share=0``).
    """
    kw = {**FEEDBACK_SETTINGS, **GROUP_SETTINGS}
    return {"argmax": feedback_loop("argmax", seed=seed, **kw), "sample": feedback_loop("sample", seed=seed, **kw),
            "argmax, no feedback": feedback_loop("argmax", seed=seed, **{**kw, "model_share": 0.0})}


def run(seed: int = 0, device: torch.device | str | None = None) -> dict[str, Any]:
    """Everything section 3.3 checks, for one seed.

    Returns:
        ``multi``: :func:`amplification_experiment` of the demo (a skew only in the pair);
        ``no_joint_skew``: the same with ``p_same=(0.5, 0.5)`` (no skew at all);
        ``single_skew``: the same with ``a1`` skewed towards group 1 (``p_first=(0.2, 0.8)``)
        and no joint skew; ``feedback``: ``{"argmax": ..., "sample": ..., "argmax, no feedback": ...}``
        :func:`feedback_loop` histories with :data:`FEEDBACK_SETTINGS` (the last with
        ``model_share=0``: every new label from people); ``groups``: :func:`group_feedback_loops`.
    """
    from ..core import resolve_device

    dev = resolve_device(device)
    return {
        "multi": amplification_experiment(seed=seed, device=dev),
        "no_joint_skew": amplification_experiment(seed=seed, device=dev, p_same=(0.5, 0.5)),
        "single_skew": amplification_experiment(seed=seed, device=dev, p_same=(0.5, 0.5), p_first=(0.2, 0.8)),
        "feedback": {**{mode: feedback_loop(mode, seed=seed, **FEEDBACK_SETTINGS) for mode in ("argmax", "sample")},
                     "argmax, no feedback": feedback_loop("argmax", seed=seed, **{**FEEDBACK_SETTINGS, "model_share": 0.0})},
        "groups": group_feedback_loops(seed=seed),
    }


_BASE_RATE = FEEDBACK_SETTINGS["base_rate"]

CLAIMS = (
    Claim(
        key="fairness.amplification.single_attribute_blind",
        statement="When the bias lives only in a pair of attributes, the single-attribute amplification metric "
                  "reads at most 0.01 in absolute value.",
        cite=("men_also_laundry", "zhao_men_shopping_2017"),
        paper_result="single-attribute metrics miss amplification that models build from combinations of "
                     "attributes, and their signed average can cancel; the multi-attribute metric fixes both",
        paper_where="Men Also Do Laundry, the analysis of existing metrics and the COCO and imSitu experiments",
        run=run,
        world=lambda r: r["multi"],
        measure=lambda s: abs(s["single-attribute"]),
        predicate=at_most(0.01),
        controls=(Control("single-attribute skew", "a1 present in 20% of group 0 and 80% of group 1 and no joint "
                          "skew: the bias the single-attribute metric was designed for, which it must see",
                          lambda r: r["single_skew"]),),
        note="absolute value of the signed single-attribute metric (Zhao et al., 2017) on 50,000 test rows",
    ),
    Claim(
        key="fairness.amplification.multi_attribute",
        statement="The multi-attribute metric shows the tagger amplifying the pair's skew: at least 0.05.",
        cite=("men_also_laundry",),
        paper_result="models trained on COCO and imSitu amplify gender bias in attribute combinations, which "
                     "the multi-attribute metric measures",
        paper_where="Men Also Do Laundry, experiments on COCO and imSitu",
        run=run,
        world=lambda r: r["multi"],
        measure=lambda s: s["multi-attribute"],
        predicate=at_least(0.05),
        controls=(Control("no joint skew", "the same tagger and metric on data whose attributes agree half of the "
                          "time in both groups: no skew to amplify", lambda r: r["no_joint_skew"]),),
        note="mean |P_pred(g | m) - P_true(g | m)| over both groups and the attribute pair",
    ),
    Claim(
        key="fairness.amplification.argmax_feedback",
        statement="Argmax labelling over-predicts the majority class: in the loop where 80% of new labels come "
                  "from the model, its output rate stays at least 0.05 above the base rate of 0.6 in every round.",
        cite=("data_feedback_loops",),
        paper_result="how much a feedback loop amplifies a bias depends on whether the model's outputs behave "
                     "like samples from its training distribution (consistent calibration); argmax-like "
                     "outputs drift, sampling-like outputs stay stable",
        paper_where="the stability analysis and its experiments (image classification, visual role labelling, "
                    "language generation)",
        run=run,
        world=lambda r: r["feedback"]["argmax"],
        measure=lowest_output_rate,
        predicate=at_least(_BASE_RATE + 0.05),
        controls=(Control("sampled labels", "the same loop with labels drawn from the model's predicted "
                          "probability", lambda r: r["feedback"]["sample"]),),
        note="lowest output rate over rounds 1-15, measured on 100,000 fresh inputs; the argmax decision does this "
             "by itself, from round 0 and without feedback too (the next claim measures what the loop adds)",
    ),
    Claim(
        key="fairness.amplification.feedback_inflates_labels",
        statement="Fed back, the argmax labels inflate the data: after 15 rounds the share of 1s among all "
                  "training labels is at least 0.65, against the base rate of 0.6.",
        cite=("data_feedback_loops",),
        paper_result="with model-labelled data fed back into training, a bias statistic of the dataset grows round "
                     "after round for argmax-like models and stays stable for sampling-like ones",
        paper_where="the stability analysis and its experiments",
        run=run,
        world=lambda r: r["feedback"]["argmax"],
        measure=lambda h: float(h["label rate"].iloc[-1]),
        predicate=at_least(0.65),
        controls=(Control("no feedback", "the same loop with every new label from people (model_share = 0)",
                          lambda r: r["feedback"]["argmax, no feedback"]),
                  Control("sampled labels", "the same loop with labels drawn from the model's predicted probability",
                          lambda r: r["feedback"]["sample"])),
        note="share of 1s in all training labels after round 15 (10,000 initial and 150,000 new labels)",
    ),
    Claim(
        key="fairness.amplification.sampling_feedback",
        statement="With labels sampled from the model's predicted probability, the output rate stays within "
                  "0.03 of the base rate in every round.",
        cite=("data_feedback_loops",),
        paper_result="sampling-like (consistently calibrated) models keep the bias statistic stable over "
                     "rounds of retraining",
        paper_where="the stability analysis and its experiments",
        run=run,
        world=lambda r: r["feedback"]["sample"],
        measure=lambda h: largest_drift(h, _BASE_RATE),
        predicate=at_most(0.03),
        controls=(Control("argmax labels", "the same loop with the model's most likely label",
                          lambda r: r["feedback"]["argmax"]),),
        note="largest |output rate - 0.6| over rounds 1-15",
    ),
    Claim(
        key="fairness.amplification.feedback_widens_group_gap",
        statement="With a second group in the loop (30% of the people, base rate 0.4 against 0.6), the fed-back "
                  "argmax labels widen the gap between the groups' shares of positive labels in the training data "
                  "from the true 0.20 to at least 0.28 after 15 rounds.",
        cite=("data_feedback_loops",),
        paper_result="with model-labelled data fed back into training, a bias statistic of the dataset grows round "
                     "after round for argmax-like models and stays stable for sampling-like ones",
        paper_where="the stability analysis and its experiments",
        run=run, world=lambda r: r["groups"]["argmax"], measure=lambda h: float(h["label gap"].iloc[-1]),
        predicate=at_least(0.28),
        controls=(Control("no feedback", "the same two-group loop with every new label from people",
                          lambda r: r["groups"]["argmax, no feedback"]),
                  Control("sampled labels", "the same two-group loop with labels drawn from the model's predicted "
                          "probability", lambda r: r["groups"]["sample"])),
        note="demographic-parity difference of all training labels after round 15; the model sees x and the group",
    ),
    Claim(
        key="fairness.amplification.argmax_group_selection_gap",
        statement="The group-aware argmax model selects the majority group at least 0.35 more often than the "
                  "minority on fresh people, against a true gap of 0.20, in every round.",
        cite=("data_feedback_loops",),
        paper_result="argmax-like outputs amplify a bias statistic that sampling-like outputs keep stable",
        paper_where="the stability analysis and its experiments",
        run=run, world=lambda r: r["groups"]["argmax"],
        measure=lambda h: float(h.loc[h["round"] >= 1, "predicted gap"].min()), predicate=at_least(0.35),
        controls=(Control("sampled labels", "the same loop, whose model labels by sampling its probability",
                          lambda r: r["groups"]["sample"]),),
        note="demographic-parity difference of the model's labels on 100,000 fresh people; the decision rule does "
             "this with or without feedback (the no-feedback loop reads the same), so it is who the rule harms, "
             "not what the loop adds",
    ),
)
