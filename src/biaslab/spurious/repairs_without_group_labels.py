"""Section 2.4, Repairs without group labels (``chapters/02_spurious_correlations/04_repairs_without_group_labels.md``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import torch
from torch import nn
from torch.nn import functional as F

from ..claims import Claim, Control, at_least, at_most
from ..core import resolve_device, train
from ..validation import (
    check_nonnegative,
    check_positive,
    check_positive_int,
)
from ._shared import (
    GroupData,
    SpuriousDataset,
    _attribute,
    _balanced_attribute,
    _check_dataset,
    _check_rho,
    _fit,
    _fit_kwargs,
    _group_data,
    _Selector,
    evaluate,
    fit_classifier,
    make_classifier,
    predict,
)

__all__ = [
    "waterbirds_like",
    "jtt",
    "color_ink",
    "conditional_independence_penalty",
    "debias_by_independence",
    "JTT_DIGITS",
    "JTT_WATERBIRDS",
    "WATERBIRDS",
    "INDEPENDENCE",
]


def waterbirds_like(
    n_train: int = 2000,
    minority_frac: float = 0.05,
    core_noise: float = 1.0,
    spurious_noise: float = 0.3,
    d_core: int = 5,
    d_spurious: int = 5,
    d_noise: int = 10,
    seed: int = 0,
) -> SpuriousDataset:
    """A Waterbirds-like tabular benchmark: a noisy core feature and a clean background.

    The label ``y`` (landbird 0 / waterbird 1) shifts the mean of ``d_core`` noisy *core*
    coordinates; the background ``a`` (land 0 / water 1) shifts ``d_spurious`` cleaner
    *spurious* coordinates; ``d_noise`` coordinates are pure noise. In training the
    background agrees with the label except on a ``minority_frac`` share of points, so the
    minority groups (landbird on water, waterbird on land) hold a few percent of the data.
    The ``test`` split is group-balanced.

    Args:
        n_train: training points (validation and test splits have half as many).
        minority_frac: share of training points whose background disagrees with the label.
        core_noise: standard deviation of the core coordinates (class means are +-1).
        spurious_noise: standard deviation of the spurious coordinates (means +-1).
        d_core, d_spurious, d_noise: numbers of coordinates of each kind.
        seed: seeds the generator.

    Returns:
        A :class:`SpuriousDataset`.
    """
    n_train = check_positive_int(n_train, "n_train", minimum=8)
    minority_frac = _check_rho(minority_frac, "minority_frac")
    core_noise = check_nonnegative(core_noise, "core_noise")
    spurious_noise = check_nonnegative(spurious_noise, "spurious_noise")
    d_core = check_positive_int(d_core, "d_core")
    d_spurious = check_positive_int(d_spurious, "d_spurious")
    d_noise = check_positive_int(d_noise, "d_noise", minimum=0)
    seed = check_positive_int(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)

    def make(n: int, balanced: bool) -> GroupData:
        y = rng.integers(0, 2, n)
        a = _balanced_attribute(y, rng) if balanced else _attribute(y, 1.0 - minority_frac, rng)
        core = (2 * y[:, None] - 1) + core_noise * rng.standard_normal((n, d_core))
        spur = (2 * a[:, None] - 1) + spurious_noise * rng.standard_normal((n, d_spurious))
        noise = rng.standard_normal((n, d_noise))
        X = torch.from_numpy(np.concatenate([core, spur, noise], axis=1).astype(np.float32))
        return _group_data(X, y.astype(np.int64), a)

    n_eval = max(n_train // 2, 8)
    return SpuriousDataset(
        train=make(n_train, False),
        val=make(n_eval, False),
        test_id=make(n_eval, False),
        test=make(n_eval, True),
        n_groups=4,
        group_names=["landbird, land", "landbird, water", "waterbird, land", "waterbird, water"],
        info={"name": "waterbirds_like", "minority_frac": minority_frac, "seed": seed},
    )


def jtt(
    ds: SpuriousDataset,
    first_steps: int = 50,
    upweight: float = 20.0,
    identifier: nn.Module | None = None,
    random_error_set: bool = False,
    device: torch.device | str | None = None,
    **kwargs,
) -> tuple[nn.Module, dict[str, float]]:
    """Just Train Twice: train briefly, then retrain with the first model's errors upweighted.

    Stage 1 trains an ERM model for only ``first_steps`` steps (or uses ``identifier``); the
    training examples it misclassifies form the *error set*. Stage 2 trains a fresh model in
    which every error-set example weighs ``upweight`` times as much. No group labels are used.

    Args:
        ds: the dataset (its group labels are used only for evaluation and for reporting how
            many error-set points are bias-conflicting).
        first_steps: training steps of the identification model.
        upweight: weight of error-set examples relative to the others.
        identifier: an already trained stage-1 model (then ``first_steps`` is ignored).
        random_error_set: upweight as many training examples as the error set holds, chosen
            at random instead (the control: upweighting without the biased model's pointer).
        device: where to train (``None``: the GPU when present, else the CPU).
        **kwargs: training settings of :func:`fit_classifier` for both stages (``steps``
            applies to stage 2).

    Returns:
        ``(model, metrics)``; ``metrics`` adds ``error_set_size`` and
        ``error_set_minority_share`` (share of the error set in bias-conflicting groups).
    """
    ds = _check_dataset(ds)
    first_steps = check_positive_int(first_steps, "first_steps")
    upweight = check_positive(upweight, "upweight")
    kw = _fit_kwargs({**kwargs, "device": device})
    if identifier is None:  # stage 1 has a fixed length: no model selection
        identifier = fit_classifier(ds.train.X, ds.train.y, **{**kw, "steps": first_steps, "select_on": None})
    errors = predict(identifier, ds.train.X) != ds.train.y
    if random_error_set:
        gen = torch.Generator().manual_seed(int(kw.get("seed", 0)) + 17)
        chosen = torch.zeros(len(errors), dtype=torch.bool)
        chosen[torch.randperm(len(errors), generator=gen)[: int(errors.sum())]] = True
        errors = chosen
    w = torch.where(errors, torch.tensor(float(upweight)), torch.tensor(1.0))
    model, info = _fit(ds.train.X, ds.train.y, weights=w, **kw)
    metrics = {**evaluate(model, ds), **info}
    conflicting = ds.train.a != ds.train.y
    metrics["error_set_size"] = int(errors.sum())
    metrics["error_set_minority_share"] = float(conflicting[errors].float().mean()) if errors.any() else 0.0
    return model, metrics


def color_ink(X: torch.Tensor) -> torch.Tensor:
    """The total ink in each color channel of colored digits: two numbers per image.

    A model on these inputs sees the color of a digit and how much ink it has (their sum), but
    not its shape, so it is biased by design: it learns the color rule, plus whatever the
    amount of ink says about the digit, a weak cue to its shape.

    Args:
        X: colored-digit inputs ``(n, 128)`` (two 8x8 channels, flattened).

    Returns:
        A float tensor ``(n, 2)``.
    """
    if not isinstance(X, torch.Tensor) or X.dim() != 2 or X.shape[1] != 128:
        raise ValueError(f"X must be a colored-digits tensor of shape (n, 128), got {getattr(X, 'shape', type(X))}")
    return X.reshape(len(X), 2, 64).sum(2)


def conditional_independence_penalty(score: torch.Tensor, bias: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Sum over classes of the squared correlation between a model's score and a bias score,
    computed within each class.

    Zero when, inside every class, the model's output carries no linear trace of the bias;
    1 per class when it is a linear function of the bias there.

    Args:
        score: the model's scores ``(n,)`` (e.g. logit differences).
        bias: the biased model's scores ``(n,)``.
        y: class labels ``(n,)``.

    Returns:
        A scalar tensor.
    """
    if not all(isinstance(t, torch.Tensor) for t in (score, bias, y)):
        raise TypeError("score, bias and y must be torch tensors")
    if not (score.shape == bias.shape == y.shape) or score.dim() != 1:
        raise ValueError(f"score, bias and y must be 1-D with one shape, got {tuple(score.shape)}, "
                         f"{tuple(bias.shape)}, {tuple(y.shape)}")
    total = score.new_zeros(())
    for c in torch.unique(y):
        m = y == c
        if int(m.sum()) < 2:
            continue
        s_c, b_c = score[m] - score[m].mean(), bias[m] - bias[m].mean()
        corr = (s_c * b_c).mean() / (s_c.pow(2).mean().sqrt() * b_c.pow(2).mean().sqrt() + 1e-8)
        total = total + corr**2
    return total


def debias_by_independence(
    ds: SpuriousDataset,
    bias_input: Callable[[torch.Tensor], torch.Tensor] = color_ink,
    lam: float = 1.0,
    bias_steps: int = 500,
    within_class: bool = True,
    score: str = "prob",
    device: torch.device | str | None = None,
    **kwargs,
) -> tuple[nn.Module, dict[str, float]]:
    """Train against a model that is biased by design (in the spirit of ReBias).

    First a logistic regression on ``bias_input(X)`` (by default the ink of each color
    channel, which shows color but not shape) is fitted to the labels: it can only learn the
    shortcut. Then the main MLP minimizes the cross-entropy plus ``lam`` times
    :func:`conditional_independence_penalty` between its predicted probability of class 1
    (or, with ``score="logit"``, its logit difference) and the biased model's logit
    difference, so that within each class its prediction must not follow the bias. No group
    or color labels are used: only the *kind* of bias enters, through ``bias_input``.

    Why the probability by default: the logit differences of confidently classified majority
    examples keep growing during training, so they set the scale of a logit correlation and
    the few bias-conflicting examples barely move it. A network can then reach zero logit
    correlation while its predictions still follow the bias (colored digits at rho = 0.95,
    seed 4, 1,000 steps: mean predicted probability of "large" 0.21 for green small training
    digits against 0.08 for red ones). A probability is bounded, and a wrongly predicted
    bias-conflicting example sits at the far end of [0, 1], where it weighs most.

    Args:
        ds: the dataset (group labels used for evaluation only).
        bias_input: maps inputs to what the biased model may see.
        lam: weight of the independence penalty.
        bias_steps: Adam steps of the biased model (learning rate 0.01).
        within_class: compute the penalty within each class (default); ``False`` asks for
            independence over all training points at once.
        score: what must be independent of the bias: ``"prob"`` (the predicted probability
            of class 1, default) or ``"logit"`` (the logit difference).
        device: where to train (``None``: the GPU when present, else the CPU).
        **kwargs: training settings of :func:`fit_classifier` for the main model.

    Returns:
        ``(model, metrics)``; ``metrics`` adds ``bias_model_color_agreement``, the share of
        training points on which the biased model predicts the color (computed with the
        color labels, to check the design).
    """

    ds = _check_dataset(ds)
    lam = check_nonnegative(lam, "lam")
    if not callable(bias_input):
        raise TypeError("bias_input must be a function of the inputs")
    if score not in ("prob", "logit"):
        raise ValueError(f"score must be 'prob' or 'logit', got {score!r}")
    kw = _fit_kwargs({**kwargs, "device": device})
    seed = kw.get("seed", 0)
    device = resolve_device(kw.get("device"))
    Xb = bias_input(ds.train.X)
    biased = fit_classifier(Xb, ds.train.y, depth=0, steps=bias_steps, lr=1e-2, seed=seed, device=device)
    with torch.no_grad():
        lb = biased(Xb.to(device)).cpu()
    b = lb[:, 1] - lb[:, 0]
    model = make_classifier(ds.in_dim, 2, width=kw["width"], depth=kw["depth"], seed=seed, device=device)
    target = torch.stack([ds.train.y.float(), b], 1)

    def loss_fn(logits: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        y = t[:, 0].long()
        s = torch.softmax(logits, 1)[:, 1] if score == "prob" else logits[:, 1] - logits[:, 0]
        groups = y if within_class else torch.zeros_like(y)
        return F.cross_entropy(logits, y) + lam * conditional_independence_penalty(s, t[:, 1], groups)

    selector = _Selector(kw["select_on"])
    every = kw["select_every"] if kw["select_on"] is not None else kw["steps"]
    train(model, ds.train.X, target, loss_fn, steps=kw["steps"], lr=kw["lr"], weight_decay=kw["weight_decay"],
          batch_size=kw["batch_size"], eval_every=every, eval_fn=selector if kw["select_on"] is not None else None,
          seed=seed, device=device)
    info = selector.restore(model)
    model.eval()
    metrics = {**evaluate(model, ds), **info}
    metrics["bias_model_color_agreement"] = float((lb.argmax(1) == ds.train.a).float().mean())
    return model, metrics


# --------------------------------------------------------------------------------------
# the section's runner and its claims
# --------------------------------------------------------------------------------------
JTT_DIGITS = {"first_steps": 50, "upweight": 30.0}
JTT_WATERBIRDS = {"first_steps": 100, "upweight": 20.0}
WATERBIRDS = {"core_noise": 2.0, "spurious_noise": 1.0}
INDEPENDENCE = {"lam": 1.0}


def _shuffled_ink(X: torch.Tensor) -> torch.Tensor:
    """The control's biased input: the ink of each color channel, permuted across images, so
    that the "biased" model learns nothing about the images it is applied to."""
    gen = torch.Generator().manual_seed(0)
    return color_ink(X)[torch.randperm(len(X), generator=gen)]


def run(seed: int = 0, device: torch.device | str | None = None) -> dict:
    """Everything section 2.4 shows and checks, for one seed, the control worlds included.

    Every model is trained by the chapter's protocol (:data:`biaslab.spurious.PROTOCOL`) and
    selected by worst-group accuracy on a color-balanced validation split; no group or color
    label is used for training. On colored digits: ERM, JTT (``JTT_DIGITS``), the independence
    penalty against a color-ink model (``INDEPENDENCE``), and their control worlds (JTT with a
    random error set of the same size, the penalty against a model fed permuted ink). On the
    Waterbirds-like data, where a briefly trained model also errs on hard majority examples:
    ERM, JTT (``JTT_WATERBIRDS``) and JTT with a random error set, on
    ``waterbirds_like(**WATERBIRDS)`` (core noise 2, background noise 1).

    Args:
        seed: seeds data and training.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        ``{"digits": {...}, "digits_control": {...}, "waterbirds": {...},
        "waterbirds_control": {...}}``, each ``{method: metrics}``.
    """
    from ._shared import PROTOCOL, colored_digits, erm

    out: dict[str, dict] = {}
    for name, ds, jtt_kw in (
        ("digits", colored_digits(0.95, seed=seed, val_rho=0.5), JTT_DIGITS),
        ("waterbirds", waterbirds_like(**WATERBIRDS, seed=seed), JTT_WATERBIRDS),
    ):
        kw = dict(PROTOCOL, select_on=ds.val, seed=seed, device=device)
        m_erm = erm(ds, **kw)[1]
        out[name] = {"ERM": m_erm, "JTT": jtt(ds, **jtt_kw, **kw)[1]}
        out[f"{name}_control"] = {"ERM": m_erm, "JTT": jtt(ds, **jtt_kw, random_error_set=True, **kw)[1]}
        if name == "digits":
            out[name]["independence"] = debias_by_independence(ds, **INDEPENDENCE, **kw)[1]
            out[f"{name}_control"]["independence"] = debias_by_independence(ds, bias_input=_shuffled_ink,
                                                                            **INDEPENDENCE, **kw)[1]
    return out


def _gain(method: str):
    def measure(table: dict) -> float:
        return 100 * (table[method]["worst_group_acc"] - table["ERM"]["worst_group_acc"])

    return measure


_NOTE = ("worst-group test accuracy minus ERM's, in points; same network, steps and selection on a "
         "group-labelled validation split")

CLAIMS = (
    Claim(
        key="spurious.repairs_without_group_labels.jtt_gain_digits",
        statement="On colored digits, JTT raises worst-group accuracy over ERM without group labels in training.",
        cite=("liu_jtt_2021",),
        paper_result="JTT reaches 86.7% worst-group accuracy on Waterbirds (ERM 72.6%) and 81.1% on CelebA "
                     "(ERM 47.2%), with group labels only on the validation set.",
        paper_where="Table 1",
        run=run,
        measure=_gain("JTT"),
        predicate=at_least(10.0),
        world=lambda r: r["digits"],
        controls=(Control("random error set", "the same number of training digits upweighted, chosen at random",
                          lambda r: r["digits_control"]),),
        note=_NOTE,
    ),
    Claim(
        key="spurious.repairs_without_group_labels.jtt_gain_waterbirds",
        statement="On the Waterbirds-like data, where the first model's errors are not only the minority, JTT "
                  "still raises worst-group accuracy over ERM (an observation: 8-30 points on ten seeds, but a "
                  "random error set reached 5 points on one, too close to assert).",
        cite=("liu_jtt_2021",),
        paper_result="JTT's error set is not the minority groups: on Waterbirds it holds bias-conflicting and "
                     "majority examples, and upweighting it still gains 14 points of worst-group accuracy.",
        paper_where="Table 1, Section 5",
        run=run,
        measure=_gain("JTT"),
        predicate=at_least(5.0),
        world=lambda r: r["waterbirds"],
        controls=(Control("random error set", "the same number of training points upweighted, chosen at random",
                          lambda r: r["waterbirds_control"]),),
        observation=True,
        note=_NOTE,
    ),
    Claim(
        key="spurious.repairs_without_group_labels.error_set_not_oracle",
        statement="On the Waterbirds-like data, the share of JTT's error set that is bias-conflicting is well "
                  "below 1 (on colored digits it is exactly 1: there JTT is oracle reweighting).",
        cite=("liu_jtt_2021",),
        paper_result="The error set of the identification model mixes minority and majority examples.",
        paper_where="Section 5",
        run=run,
        measure=lambda t: float(t["JTT"]["error_set_minority_share"]),
        predicate=at_most(0.9),
        world=lambda r: r["waterbirds"],
        observation=True,
        note="share of the error set in the bias-conflicting groups",
    ),
    Claim(
        key="spurious.repairs_without_group_labels.independence_gain",
        statement="Training to be independent, within each class, of a color-ink model raises worst-group "
                  "accuracy over ERM without color labels (an observation: 8-29 points on ten seeds, but the "
                  "permuted-ink control reached 7.5 on one).",
        cite=("learning_de_biased",),
        paper_result="ReBias, trained to be independent (HSIC) of a model biased by design, raises unbiased "
                     "accuracy over vanilla training on Biased MNIST (background colour tied to the digit), most "
                     "under the strongest biases.",
        paper_where="Table 2 (Biased MNIST)",
        run=run,
        measure=_gain("independence"),
        predicate=at_least(5.0),
        world=lambda r: r["digits"],
        controls=(Control("biased model fed permuted ink",
                          "the same penalty against a model trained on the ink of other images, which "
                          "carries no information about the image at hand", lambda r: r["digits_control"]),),
        observation=True,
        note=_NOTE,
    ),
)
