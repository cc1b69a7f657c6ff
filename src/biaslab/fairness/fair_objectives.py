"""Section 3.5, Fair training objectives: an adversary in the loss (``chapters/03_fairness/05_fair_objectives.md``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..claims import Claim, Control, at_least, at_most
from ..core import make_mlp, resolve_device
from ..datasets.fairness_data import adult_features
from ..datasets.regional_data import make_regional_bias_data
from ..validation import (
    as_1d, check_binary, check_groups, check_keys, check_nonnegative, check_positive, check_positive_int,
    check_same_length,
)

__all__ = [
    "demographic_parity_gap", "GradReverse", "adversarial_debiasing", "exponentiated_gradient_points",
    "fairlearn_adversary_points", "region_balanced_weights", "worst_region_gap", "road_debiasing",
    "local_fairness_curves", "matched_worst_gap", "adult_adversary_experiment", "gap_ratio", "worst_region_reduction",
    "ADVERSARY_WEIGHTS", "REGIONAL_SETTINGS",
]


def demographic_parity_gap(y_pred: Any, sensitive: Any) -> float:
    """Largest difference in selection rate P(y_hat = 1 | group) between any two groups
    (equals ``fairlearn.metrics.demographic_parity_difference``).

    Args:
        y_pred: binary predictions (0/1).
        sensitive: group label of each example (at least two groups).

    Returns:
        The gap, in [0, 1].
    """
    y_pred = check_binary(y_pred, "y_pred")
    groups = check_groups(sensitive, "sensitive", len(y_pred))
    rates = [y_pred[groups == g].mean() for g in np.unique(groups)]
    return float(max(rates) - min(rates))


class GradReverse(torch.autograd.Function):
    """Identity in the forward pass; multiplies the gradient by ``-weight`` in the backward pass."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: float) -> torch.Tensor:  # type: ignore[override]
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        return -ctx.weight * grad, None


def adversarial_debiasing(
    X_train: np.ndarray, y_train: Any, s_train: Any, X_test: np.ndarray, adversary_weight: float = 1.0,
    steps: int = 600, width: int = 32, lr: float = 3e-3, seed: int = 0, device: torch.device | str | None = None,
) -> np.ndarray:
    """Train a classifier with an adversary that tries to recover the protected attribute
    from its output, through a gradient-reversal layer (in the spirit of Zhang et al., 2018).

    The predictor is an MLP (one hidden layer of ``width``); the adversary, a small MLP, sees
    only the predicted probability (so it targets demographic parity) and predicts ``s``.
    Both train together with Adam; the adversary's gradient reaches the predictor multiplied
    by ``-adversary_weight``, pushing its output to carry no information about ``s``.

    Args:
        X_train, y_train, s_train: training features, binary labels and binary attribute.
        X_test: features to score after training.
        adversary_weight: strength of the reversed gradient (0: plain training).
        steps, width, lr: Adam steps (batch 512), hidden units of the predictor, learning rate.
        seed: seeds initialization and batches.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        Predicted probabilities for ``X_test``.
    """
    y, s = check_binary(y_train, "y_train"), check_binary(s_train, "s_train")
    check_same_length(X_train=X_train, y_train=y, s_train=s)
    adversary_weight = check_nonnegative(adversary_weight, "adversary_weight")
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    dev = resolve_device(device)
    X = torch.as_tensor(np.asarray(X_train), dtype=torch.float32, device=dev)
    yt = torch.as_tensor(y, dtype=torch.float32, device=dev)
    st = torch.as_tensor(s, dtype=torch.float32, device=dev)
    predictor = make_mlp(X.shape[1], 1, width=width, depth=1).to(dev)
    adversary = make_mlp(1, 1, width=16, depth=1).to(dev)
    opt = torch.optim.Adam(list(predictor.parameters()) + list(adversary.parameters()), lr=lr)
    bce = nn.functional.binary_cross_entropy_with_logits
    # a loop of its own: the adversarial game (the predictor against the reversed-gradient adversary) is the method
    for _ in range(steps):
        idx = torch.randint(0, len(X), (512,), generator=g).to(dev)
        logit = predictor(X[idx]).squeeze(1)
        prob = torch.sigmoid(logit)[:, None]
        adv_logit = adversary(GradReverse.apply(prob, adversary_weight)).squeeze(1)
        loss = bce(logit, yt[idx]) + bce(adv_logit, st[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        X_new = torch.as_tensor(np.asarray(X_test), dtype=torch.float32, device=dev)
        return torch.sigmoid(predictor(X_new).squeeze(1)).cpu().numpy()


def exponentiated_gradient_points(
    X_train: np.ndarray, y_train: Any, s_train: Any, X_test: np.ndarray, y_test: Any, s_test: Any,
    epsilons: Sequence[float] = (0.01, 0.03, 0.1), seed: int = 0,
) -> pd.DataFrame:
    """fairlearn's reductions baseline: ``ExponentiatedGradient`` with a demographic-parity
    constraint around a logistic regression, one fit per constraint bound ``eps``.

    Args:
        X_train, y_train, s_train, X_test, y_test, s_test: training and evaluation data.
        epsilons, seed: allowed demographic-parity violations; seeds the randomized predictions.

    Returns:
        A DataFrame with ``eps``, ``accuracy`` and ``DP gap`` on the evaluation data.
    """
    from fairlearn.reductions import DemographicParity, ExponentiatedGradient
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    rows = []
    yt = check_binary(y_test, "y_test")
    for eps in epsilons:
        with threadpool_limits(1):
            eg = ExponentiatedGradient(LogisticRegression(solver="liblinear"), DemographicParity(difference_bound=eps), eps=eps)
            eg.fit(X_train, check_binary(y_train, "y_train"), sensitive_features=np.asarray(s_train))
            pred = eg.predict(X_test, random_state=seed)
        rows.append({"eps": eps, "accuracy": float((pred == yt).mean()), "DP gap": demographic_parity_gap(pred, s_test)})
    return pd.DataFrame(rows)


def fairlearn_adversary_points(
    X_train: np.ndarray, y_train: Any, s_train: Any, X_test: np.ndarray, y_test: Any, s_test: Any,
    alphas: Sequence[float] = (0.0, 1.0), seed: int = 0, device: torch.device | str | None = None,
) -> pd.DataFrame:
    """Step 1 by the library: fairlearn's ``AdversarialFairnessClassifier`` with the sizes and
    budget of :func:`adversarial_debiasing` (hidden layers of 32 and 16 units, Adam at 3e-3,
    batches of 512, 14 epochs: about 600 steps on Adult's training half). It follows Zhang et
    al.'s update (the predictor's gradient loses its projection on the adversary's, minus
    ``alpha`` times the adversary's), so ``alpha`` is not on our reversal weight's scale.

    Args:
        X_train, y_train, s_train, X_test, y_test, s_test: as in :func:`exponentiated_gradient_points`.
        alphas: adversary strengths (0: plain training).
        seed, device: the classifier's random state; where to train.

    Returns:
        A DataFrame with ``alpha``, ``accuracy`` and ``DP gap`` on the evaluation data.
    """
    from fairlearn.adversarial import AdversarialFairnessClassifier

    y, yt = check_binary(y_train, "y_train"), check_binary(y_test, "y_test")
    s = check_binary(s_train, "s_train")
    check_same_length(X_train=X_train, y_train=y, s_train=s)
    dev = resolve_device(device)
    rows = []
    for alpha in alphas:
        afc = AdversarialFairnessClassifier(
            backend="torch", predictor_model=[32, "leaky_relu"], adversary_model=[16, "leaky_relu"], batch_size=512,
            epochs=14, learning_rate=3e-3, alpha=check_nonnegative(alpha, "alpha"), constraints="demographic_parity",
            random_state=seed, shuffle=True, cuda=str(dev) if dev.type == "cuda" else None)
        afc.fit(np.asarray(X_train, dtype=np.float32), y, sensitive_features=s)
        pred = np.asarray(afc.predict(np.asarray(X_test, dtype=np.float32))).astype(int)
        rows.append({"alpha": float(alpha), "accuracy": float((pred == yt).mean()), "DP gap": demographic_parity_gap(pred, s_test)})
    return pd.DataFrame(rows)


def worst_region_gap(y_pred: Any, sensitive: Any, region: Any) -> tuple[float, pd.Series]:
    """Local fairness: the demographic-parity gap inside each region, and the largest one.

    Args:
        y_pred, sensitive, region: binary predictions, binary attribute, region labels.

    Returns:
        ``(worst, gaps)``: the largest absolute gap and a Series of signed gaps
        (selection rate of ``s = 1`` minus ``s = 0``) indexed by region.
    """
    y_pred, s, regions = check_binary(y_pred, "y_pred"), check_binary(sensitive, "sensitive"), as_1d(region, "region")
    check_same_length(y_pred=y_pred, sensitive=s, region=regions)
    rates = pd.Series(y_pred).groupby([regions, s]).mean().unstack().reindex(columns=[0, 1])
    lone = rates.index[rates.isna().any(axis=1)].tolist()
    if lone:
        raise ValueError(f"regions {lone} hold only one group of sensitive: their gaps are undefined")
    gaps = (rates[1] - rates[0]).rename("DP gap").rename_axis("region")
    return float(gaps.abs().max()), gaps


def _group_softmax(logits: torch.Tensor, groups: Sequence[torch.Tensor]) -> torch.Tensor:
    """Weights exp(logit) normalized to mean 1 inside each group (ROAD's validity constraint)."""
    w = torch.zeros_like(logits)
    for m in groups:
        w = w + m * torch.softmax(logits.masked_fill(~m, float("-inf")), 0) * m.sum()
    return w


def region_balanced_weights(region: Any, sensitive: Any) -> np.ndarray:
    """Fixed weights giving every region the same total weight within each group of the
    attribute (mean 1 within each group): the baseline for ROAD's learned weights, with the
    same knowledge of which examples form a region.

    Args:
        region: region label of each example.
        sensitive: binary attribute, same length; every region must hold both groups.

    Returns:
        One weight per example, float64.
    """
    s, k = check_binary(sensitive, "sensitive"), as_1d(region, "region")
    check_same_length(region=k, sensitive=s)
    w = np.zeros(len(s))
    for g in (0, 1):
        in_g = s == g
        regions, counts = np.unique(k[in_g], return_counts=True)
        if len(regions) != len(np.unique(k)):
            raise ValueError(f"every region must hold both groups of sensitive; group {g} misses some")
        share = dict(zip(regions.tolist(), counts / counts.sum()))
        w[in_g] = [1 / (len(regions) * share[r]) for r in k[in_g].tolist()]
    return w


def road_debiasing(
    X_train: np.ndarray, y_train: Any, s_train: Any, X_test: np.ndarray, adversary_weight: float = 1.0,
    temperature: float | None = 0.01, weight_columns: Sequence[int] | None = None, example_weights: Any = None,
    steps: int = 300, warmup: int = 100, inner_steps: int = 3, lr: float = 5e-3, adversary_lr: float = 2e-2,
    width: int = 32, seed: int = 0, device: torch.device | str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Adversarial debiasing with a distributionally robust adversary, after ROAD (Grari et
    al.): a second network reweights the examples towards where the adversary recovers the
    attribute best.

    Full-batch. Predictor: an MLP (one hidden layer of ``width``); adversary ``h``: sees the
    predicted probability, predicts ``s``; weighting network ``r``: maps ``weight_columns``
    (all when None) and ``s`` to a logit, the weights are ``exp(r)`` at mean 1 within each
    group of ``s``. After ``warmup`` plain steps, each step makes ``inner_steps`` Adam steps of
    ``h`` (minimizing ``w * l_s``) and ``r`` (maximizing ``-w * l_s`` minus ``temperature``
    times the weights' KL divergence from uniform: the optimum is ``w ~ exp(-l_s / T)``), then
    one predictor step on ``task loss - adversary_weight * mean(w * min(l_s, log 2))``
    (confusing the adversary to chance level, not beyond). With ``temperature=None`` the
    weights are fixed: all 1 (the global adversary, same loop) or ``example_weights``.

    Args:
        X_train, y_train, s_train, X_test, width, device: as in :func:`adversarial_debiasing`.
        adversary_weight: strength of the fairness term (0: plain training).
        temperature: KL temperature of the weights; None for fixed weights.
        weight_columns: feature columns the weighting network sees; None for all.
        example_weights: fixed weights (e.g. :func:`region_balanced_weights`), only with
            ``temperature=None``; rescaled to mean 1 within each group of ``s``.
        steps: predictor steps in total, including ``warmup`` plain steps.
        inner_steps: adversary and weighting steps per predictor step.
        lr, adversary_lr: learning rates of the predictor, and of the adversary and weights.
        seed: seeds initialization.

    Returns:
        ``(prob, weights)``: probabilities for ``X_test`` and the training examples' final weights.
    """
    y, s = check_binary(y_train, "y_train"), check_binary(s_train, "s_train")
    check_same_length(X_train=X_train, y_train=y, s_train=s)
    if len(np.unique(s)) < 2:
        raise ValueError("s_train must contain both groups (0 and 1)")
    adversary_weight = check_nonnegative(adversary_weight, "adversary_weight")
    temperature = None if temperature is None else check_positive(temperature, "temperature")
    steps = check_positive_int(steps, "steps")
    inner_steps = check_positive_int(inner_steps, "inner_steps")
    if not isinstance(warmup, (int, np.integer)) or not 0 <= warmup <= steps:
        raise ValueError(f"warmup must be an integer in [0, steps], got {warmup!r}")
    dev = resolve_device(device)
    X = torch.as_tensor(np.asarray(X_train), dtype=torch.float32, device=dev)
    cols = list(range(X.shape[1])) if weight_columns is None else [int(c) for c in weight_columns]
    if not cols or min(cols) < 0 or max(cols) >= X.shape[1]:
        raise ValueError(f"weight_columns must index the {X.shape[1]} feature columns, got {weight_columns!r}")
    w_fixed = np.ones(len(s))
    if example_weights is not None:
        if temperature is not None:
            raise ValueError("example_weights are fixed weights: pass them with temperature=None")
        w_fixed = as_1d(example_weights, "example_weights").astype(float)
        check_same_length(s_train=s, example_weights=w_fixed)
        if not np.isfinite(w_fixed).all() or (w_fixed < 0).any() or min(w_fixed[s == g].sum() for g in (0, 1)) <= 0:
            raise ValueError("example_weights must be finite, non-negative and positive somewhere in each group")
        for g in (0, 1):
            w_fixed[s == g] /= w_fixed[s == g].mean()
    torch.manual_seed(seed)
    yt = torch.as_tensor(y, dtype=torch.float32, device=dev)
    st = torch.as_tensor(s, dtype=torch.float32, device=dev)
    Xr = torch.cat([X[:, cols], st[:, None]], 1)
    groups = [st == 0, st == 1]
    predictor = make_mlp(X.shape[1], 1, width=width, depth=1).to(dev)
    adversary = make_mlp(1, 1, width=16, depth=1).to(dev)
    weighter = make_mlp(Xr.shape[1], 1, width=16, depth=1).to(dev)
    opt_f = torch.optim.Adam(predictor.parameters(), lr=lr)
    opt_a = torch.optim.Adam(list(adversary.parameters()) + list(weighter.parameters()), lr=adversary_lr)
    bce = nn.functional.binary_cross_entropy_with_logits
    w = torch.as_tensor(w_fixed, dtype=torch.float32, device=dev)
    # a loop of its own: ROAD's inner update of adversary and weights within each predictor step is the method
    for t in range(steps):
        logit = predictor(X).squeeze(1)
        loss = bce(logit, yt)
        if t >= warmup and adversary_weight > 0:
            p = torch.sigmoid(logit)[:, None]
            p_fixed = p.detach()
            for _ in range(inner_steps):
                ls = bce(adversary(p_fixed).squeeze(1), st, reduction="none")
                if temperature is None:
                    inner = (w * ls).mean()
                else:
                    wr = _group_softmax(weighter(Xr).squeeze(1), groups)
                    inner = (wr.detach() * ls).mean() + (wr * ls.detach()).mean() + temperature * (wr * torch.log(wr + 1e-12)).mean()
                opt_a.zero_grad()
                inner.backward()
                opt_a.step()
            if temperature is not None:
                with torch.no_grad():
                    w = _group_softmax(weighter(Xr).squeeze(1), groups)
            ls = bce(adversary(p).squeeze(1), st, reduction="none")
            loss = loss - adversary_weight * (w * ls.clamp(max=float(np.log(2)))).mean()
        opt_f.zero_grad()
        loss.backward()
        opt_f.step()
    with torch.no_grad():
        X_new = torch.as_tensor(np.asarray(X_test), dtype=torch.float32, device=dev)
        prob = torch.sigmoid(predictor(X_new).squeeze(1)).cpu().numpy()
    return prob, w.cpu().numpy()


def local_fairness_curves(
    train: dict[str, np.ndarray], test: dict[str, np.ndarray], global_weights: Sequence[float] = (0.0, 1.0, 3.0, 10.0),
    road_weights: Sequence[float] = (1.0, 3.0), temperature: float = 0.01, weight_columns: Sequence[int] | None = None,
    balanced_weights: Sequence[float] = (), seed: int = 0, device: torch.device | str | None = None,
) -> pd.DataFrame:
    """Train the global adversary, the DRO-weighted (ROAD) adversary and, optionally, the
    adversary with fixed region-balanced weights over a range of adversary weights, and
    measure accuracy, global and worst-region parity on held-out data.

    Args:
        train, test: dicts with ``X``, ``y``, ``s``, ``region`` (from :func:`make_regional_bias_data`).
        global_weights, road_weights: adversary weights of the global (0: plain) and ROAD adversaries.
        balanced_weights: adversary weights with fixed :func:`region_balanced_weights` (``region-balanced``).
        temperature, weight_columns, seed, device: as in :func:`road_debiasing` (for every run).

    Returns:
        One row per run: ``method``, ``adversary weight``, ``accuracy``, ``DP gap``,
        ``worst-region gap``, the signed gap of each region (``region k``) and, but for the
        global runs, ``weight of region k`` (mean weight of the region's training examples).
    """
    for name, d in (("train", train), ("test", test)):
        check_keys(d, ("X", "y", "s", "region"), name, "the keys")
    runs = [("global", lam, None) for lam in global_weights] + [("ROAD", lam, temperature) for lam in road_weights]
    runs += [("region-balanced", lam, None) for lam in balanced_weights]
    balanced = region_balanced_weights(train["region"], train["s"]) if len(balanced_weights) else None
    rows = []
    for method, lam, tau in runs:
        prob, w = road_debiasing(train["X"], train["y"], train["s"], test["X"], adversary_weight=lam, temperature=tau,
                                 weight_columns=weight_columns, seed=seed, device=device,
                                 example_weights=balanced if method == "region-balanced" else None)
        pred = (prob >= 0.5).astype(int)
        worst, gaps = worst_region_gap(pred, test["s"], test["region"])
        row = {"method": method, "adversary weight": float(lam), "accuracy": float((pred == test["y"]).mean()),
               "DP gap": demographic_parity_gap(pred, test["s"]), "worst-region gap": worst}
        row.update({f"region {k}": g for k, g in gaps.items()})
        if method != "global":
            row.update({f"weight of region {k}": float(w[train["region"] == k].mean()) for k in gaps.index})
        rows.append(row)
    return pd.DataFrame(rows)


def matched_worst_gap(curves: pd.DataFrame, dp_gap: float, method: str = "global") -> float:
    """Worst-region gap of one method's curve at a given global parity gap, interpolated
    linearly (runs sorted by ``DP gap``; clamped at the ends). Every curve starts at plain
    training (the global adversary at weight 0).

    Args:
        curves, dp_gap: the output of :func:`local_fairness_curves`; the global gap to match.
        method: whose curve (``global`` or ``region-balanced``).

    Returns:
        The interpolated worst-region gap.
    """
    g = curves[curves["method"] == method]
    if method != "global":
        g = pd.concat([curves[(curves["method"] == "global") & (curves["adversary weight"] == 0)], g])
    g = g.sort_values("DP gap")
    if len(g) < 2:
        raise ValueError(f"curves must hold at least two runs of the {method} curve")
    return float(np.interp(dp_gap, g["DP gap"], g["worst-region gap"]))


ADVERSARY_WEIGHTS = (0.0, 0.3, 1.0, 3.0)
"""The adversary weights of Step 1 (0 is plain training)."""


def adult_adversary_experiment(
    seed: int = 0, weights: Sequence[float] = ADVERSARY_WEIGHTS, device: torch.device | str | None = None
) -> dict[str, Any]:
    """Steps 1 and 2 on Adult: adversarial debiasing at several weights, its controls, and
    two library baselines on the same rows. Half of Adult trains (stratified, seeded), half measures.

    Args:
        seed: seeds the split, the networks and the controls' shuffle.
        weights: adversary weights (must contain 0 and end with the strongest).
        device: where to train.

    Returns:
        ``curve``: one row per weight with ``adversary weight``, ``accuracy``, ``DP gap``
        (held-out); ``shuffled``: the same row for the strongest weight with the adversary
        trained on ``sex`` shuffled across the training rows (it can target no group);
        ``accuracy_constant``: the held-out accuracy of the constant majority predictor,
        whose parity gap is 0; ``reductions``: :func:`exponentiated_gradient_points` (eps
        0.02, 0.08); ``fairlearn_adversary``: :func:`fairlearn_adversary_points` (alpha 0, 1).
    """
    from sklearn.model_selection import train_test_split

    from ..datasets import adult

    if 0.0 not in weights:
        raise ValueError(f"weights must contain 0 (plain training), got {weights!r}")
    df = adult()
    X, y, _ = adult_features(df)
    s = (df["sex"] == "Female").astype(int).to_numpy()
    tr, te = train_test_split(np.arange(len(y)), test_size=0.5, random_state=seed, stratify=y)

    def point(lam: float, s_train: np.ndarray) -> dict[str, float]:
        prob = adversarial_debiasing(X[tr], y[tr], s_train, X[te], adversary_weight=lam, seed=seed, device=device)
        pred = (prob >= 0.5).astype(int)
        return {"adversary weight": float(lam), "accuracy": float((pred == y[te]).mean()),
                "DP gap": demographic_parity_gap(pred, s[te])}

    curve = pd.DataFrame([point(lam, s[tr]) for lam in weights])
    s_shuffled = np.random.default_rng(seed).permutation(s[tr])
    majority = int(y[tr].mean() >= 0.5)
    return {"curve": curve, "shuffled": point(max(weights), s_shuffled),
            "accuracy_constant": float((y[te] == majority).mean()),
            "reductions": exponentiated_gradient_points(X[tr], y[tr], s[tr], X[te], y[te], s[te], (0.02, 0.08), seed),
            "fairlearn_adversary": fairlearn_adversary_points(X[tr], y[tr], s[tr], X[te], y[te], s[te], seed=seed,
                                                              device=device)}


def gap_ratio(plain: Any, debiased: Any) -> float:
    """The held-out parity gap of a debiased model as a share of the plain model's.

    Args:
        plain, debiased: rows (mappings) with a ``DP gap``.

    Returns:
        ``debiased["DP gap"] / plain["DP gap"]`` (below 1: the gap shrank).
    """
    if not (base := float(plain["DP gap"])) > 0:
        raise ValueError(f"the plain model's DP gap must be positive, got {base}")
    return float(debiased["DP gap"]) / base


def worst_region_reduction(curves: pd.DataFrame, road_weight: float = 1.0, method: str = "ROAD",
                           against: str = "global") -> float:
    """How much smaller one run's worst-region gap is than another method's at the same
    global parity gap (:func:`matched_worst_gap`).

    Args:
        curves: the output of :func:`local_fairness_curves`.
        road_weight, method: the run to read (its adversary weight; ``ROAD`` or ``region-balanced``).
        against: the curve it is compared with.

    Returns:
        ``1 - worst_run / worst_against(matched)``: 0 when no better, 1 when its worst region is at parity.
    """
    r = _road_row(curves, method, road_weight)
    return float(1 - r["worst-region gap"] / matched_worst_gap(curves, r["DP gap"], against))


def _road_row(curves: pd.DataFrame, method: str, weight: float) -> pd.Series:
    rows = curves[(curves["method"] == method) & (curves["adversary weight"] == weight)]
    if rows.empty:
        raise ValueError(f"curves hold no {method} run with adversary weight {weight}")
    return rows.iloc[0]


REGIONAL_SETTINGS: dict[str, Any] = dict(global_weights=(0.0, 1.0, 3.0, 10.0), road_weights=(1.0,),
                                         balanced_weights=(3.0, 10.0), temperature=0.01, weight_columns=[0, 4, 5, 6, 7])
"""Step 3's runs: the global curve, ROAD at weight 1 (seeing the band columns), region-balanced weights at 3 and 10."""


def run(seed: int = 0, device: torch.device | str | None = None) -> dict[str, Any]:
    """Everything section 3.5 checks, for one seed.

    Returns:
        ``adult``: :func:`adult_adversary_experiment`; ``regional``: :func:`local_fairness_curves`
        with :data:`REGIONAL_SETTINGS` (train data seed ``100 * seed + 1``, test ``100 * seed + 2``);
        ``regional_shuffled``: plain training and the region-balanced weights (weight 3) from
        band labels shuffled across the training rows; ``regional_constant``: the held-out
        accuracy of the constant majority predictor there.
    """
    adult = adult_adversary_experiment(seed=seed, device=device)
    train = make_regional_bias_data(8000, seed=100 * seed + 1)
    test = make_regional_bias_data(8000, seed=100 * seed + 2)
    curves = local_fairness_curves(train, test, **REGIONAL_SETTINGS, seed=seed, device=device)
    shuffled = {**train, "region": np.random.default_rng(seed).permutation(train["region"])}
    return {"adult": adult, "regional": curves,
            "regional_shuffled": local_fairness_curves(shuffled, test, global_weights=(0.0,), road_weights=(),
                                                       balanced_weights=(3.0,), seed=seed, device=device),
            "regional_constant": float((test["y"] == int(train["y"].mean() >= 0.5)).mean())}


def _weight(r: Any, lam: float) -> pd.Series:
    c = r["adult"]["curve"]
    return c[c["adversary weight"] == lam].iloc[0]


def _above_reductions(r: Any) -> float:
    """The adversary's (weight 3) accuracy minus ExponentiatedGradient's, interpolated at the same gap."""
    eg = r["adult"]["reductions"].sort_values("DP gap")
    w3 = _weight(r, 3.0)
    return float(w3["accuracy"] - np.interp(w3["DP gap"], eg["DP gap"], eg["accuracy"]))


def _shuffled_bands(r: Any) -> pd.DataFrame:
    c, sh = r["regional"], r["regional_shuffled"]
    return pd.concat([c[c["method"] == "global"], sh[sh["method"] == "region-balanced"]])


_ZHANG, _ROAD, _K = ("zhang_adversarial_2018",), ("fairness_road_robust",), "fairness.fair_objectives."
_ZHANG_WHERE, _ROAD_WHERE = "the UCI Adult experiment", "the experiments on local fairness (the trade-off figures)"
_ROAD_RESULT = ("a distributionally robust adversary, which reweights examples towards the regions where the attribute "
                "is easiest to recover, improves local fairness at a given global fairness and accuracy on COMPAS, "
                "Law School and German credit")
_CONSTANT = "the trivial way to parity: the majority class for everyone; its cost against the same plain network"


def _claim(key: str, **kw: Any) -> Claim:
    return Claim(key=_K + key, run=run, **kw)


CLAIMS = (
    _claim("adversary_halves_gap", cite=_ZHANG, paper_where="the method section and " + _ZHANG_WHERE,
           statement="On Adult, an adversary of weight 3 at least halves the held-out demographic-parity gap of "
                     "the same network trained without it.",
           paper_result="an adversary that sees only the prediction targets demographic parity, one that also "
                        "sees the label targets equality of odds; on Adult the latter brings the false positive "
                        "and false negative rates of women and men close together for a small loss of accuracy",
           world=lambda r: (_weight(r, 0.0), _weight(r, 3.0)), measure=lambda w: gap_ratio(*w), predicate=at_most(0.5),
           controls=(Control("adversary on shuffled sex", "the same weight, budget and split, with the adversary "
                             "trained to recover sex shuffled across the training rows: there is no group to hide",
                             lambda r: (_weight(r, 0.0), r["adult"]["shuffled"])),),
           note="gap at weight 3 divided by the gap at weight 0, both on the held-out half"),
    _claim("adversary_cost", cite=_ZHANG, paper_where=_ZHANG_WHERE,
           statement="That costs at most 2 points of held-out accuracy.",
           paper_result="on Adult the debiased model's accuracy stays close to the unconstrained model's",
           world=lambda r: float(_weight(r, 0.0)["accuracy"] - _weight(r, 3.0)["accuracy"]), measure=float,
           predicate=at_most(0.02), note="accuracy at weight 0 minus accuracy at weight 3, in [0, 1]",
           controls=(Control("constant predictor", _CONSTANT,
                             lambda r: float(_weight(r, 0.0)["accuracy"] - r["adult"]["accuracy_constant"])),)),
    _claim("fairlearn_adversary_halves_gap", cite=_ZHANG, paper_where=_ZHANG_WHERE, paper_result="as for the first claim",
           statement="fairlearn's AdversarialFairnessClassifier, with the same sizes, budget and rows, at alpha 1 at "
                     "least halves the held-out gap of its own plain run.",
           world=lambda r: tuple(r["adult"]["fairlearn_adversary"].iloc[i] for i in (0, 1)),
           measure=lambda w: gap_ratio(*w), predicate=at_most(0.5), observation=True,
           note="an observation (a cross-check of Step 1 with the library): it holds on most seeds, not all"),
    _claim("adversary_above_reductions", cite=("agarwal_reductions_2018",), paper_where="the experiments",
           statement="At the gap it reaches, the network with the adversary (weight 3) is more accurate than "
                     "ExponentiatedGradient's mixture of logistic regressions, interpolated to the same gap.",
           paper_result="the reductions approach matches or beats earlier fair classifiers at each level of "
                        "disparity on Adult, COMPAS, Law School and Dutch census data",
           world=lambda r: r, measure=_above_reductions, predicate=at_least(0.0), observation=True,
           note="an observation: the two differ in model class (a network against linear models), so it says "
                "nothing about the objectives; in accuracy points"),
    _claim("balanced_local_fairness", cite=_ROAD, paper_where=_ROAD_WHERE, paper_result=_ROAD_RESULT,
           statement="With fixed region-balanced weights (adversary weight 3) the worst-region gap is at least 20% "
                     "smaller than the global adversary's at the same global gap.",
           world=lambda r: r["regional"], measure=lambda c: worst_region_reduction(c, 3.0, method="region-balanced"),
           predicate=at_least(0.20),
           controls=(Control("shuffled bands", "the same weights computed from band labels shuffled across the "
                             "training rows: the same amount of reweighting, on the wrong people", _shuffled_bands),),
           note="1 - worst-region gap / the global curve's worst-region gap at the same global gap (held-out)"),
    _claim("road_local_fairness", cite=_ROAD, paper_where=_ROAD_WHERE, paper_result=_ROAD_RESULT,
           statement="At the global parity gap the ROAD adversary (weight 1) reaches, its worst-region gap is at "
                     "least 30% smaller than the global adversary's at the same global gap.",
           world=lambda r: r["regional"], measure=worst_region_reduction, predicate=at_least(0.30), observation=True,
           note="an observation: the weight the weighting network gives the small band swings during training, "
                "and the reduction with it, from seed to seed"),
    _claim("road_beats_balanced", cite=_ROAD, paper_where=_ROAD_WHERE, paper_result=_ROAD_RESULT,
           statement="ROAD's worst-region gap (weight 1) is at least 30% smaller than that of the fixed "
                     "region-balanced weights at the same global gap; both know which features define the bands.",
           world=lambda r: r["regional"], measure=lambda c: worst_region_reduction(c, against="region-balanced"),
           predicate=at_least(0.30), observation=True,
           note="an observation: the learned weights beat the fixed ones widely on some seeds, not at all on others"),
    _claim("road_cost", cite=_ROAD, paper_where="the experiments on local fairness",
           statement="ROAD (weight 1) costs at most 2 points of accuracy against plain training.",
           paper_result="local fairness improves without a loss of accuracy beyond that of global debiasing",
           world=lambda r: float(_road_row(r["regional"], "global", 0.0)["accuracy"]
                                 - _road_row(r["regional"], "ROAD", 1.0)["accuracy"]),
           measure=float, predicate=at_most(0.02), note="plain training's held-out accuracy minus ROAD's",
           controls=(Control("constant predictor", _CONSTANT,
                             lambda r: float(_road_row(r["regional"], "global", 0.0)["accuracy"]
                                             - r["regional_constant"])),)),
)
