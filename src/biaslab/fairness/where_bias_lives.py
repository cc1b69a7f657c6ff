"""Section 3.2, Where bias lives: pretraining, fine-tuning and embeddings (``chapters/03_fairness/02_where_bias_lives.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..claims import Claim, Control, at_least, at_most
from ..core import make_mlp, train
from ..plotting import get_axes
from ..validation import (
    check_positive,
    check_positive_int,
)
from ._shared import _ce, equalized_odds_gap

__all__ = [
    "AttributeTask",
    "make_attribute_task",
    "pretrain_finetune",
    "SEAT_TEMPLATES",
    "WEAT_WORDS",
    "embed_words",
    "weat_effect_size",
    "weat_test",
    "weat_association",
    "plot_weat",
    "WEAT_TESTS",
    "weat_embeddings",
    "weat_table",
    "resplit_targets",
]


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
    controls: bool = False,
) -> pd.DataFrame:
    """Pretrain an MLP on attribute-correlated data, then fine-tune copies of it on small sets.

    The pretraining set has P(a = y) = ``p_pretrain``; each fine-tuning set (name -> its
    P(a = y)) has ``n_finetune`` examples and updates every weight of a copy of the
    pretrained model with full-batch Adam. All models are evaluated on a large test set in
    which ``a`` and ``y`` are independent. With ``controls``, each fine-tuning set also trains
    a model of the same architecture from scratch (no pretraining; same steps and learning
    rate), which shows what the fine-tuning data teach alone, and fine-tunes only the last
    layer of a copy of the pretrained model (the features kept as pretrained).

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
        controls: also the rows ``"from scratch: <name>"`` and ``"head only: <name>"``.

    Returns:
        A DataFrame indexed by stage (``"pretrained"`` and each fine-tuning set) with the
        test ``EO gap`` (between the two attribute groups) and ``accuracy``.
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
    sets = {name: make_attribute_task(n_finetune, p, seed=1000 * seed + 3 + i)
            for i, (name, p) in enumerate(finetune_sets.items())}
    for name, ft in sets.items():
        m = deepcopy(model)
        train(m, ft.X, ft.y, _ce, steps=finetune_steps, lr=finetune_lr, seed=seed, eval_every=finetune_steps)
        rows[name] = _eo_and_acc(m, test)
    for name, ft in sets.items() if controls else ():
        torch.manual_seed(seed + 500)
        scratch = make_mlp(pre.X.shape[1], 2, width=32, depth=2).to(device)
        train(scratch, ft.X, ft.y, _ce, steps=finetune_steps, lr=finetune_lr, seed=seed, eval_every=finetune_steps)
        rows[f"from scratch: {name}"] = _eo_and_acc(scratch, test)
        head = deepcopy(model)
        for prm in list(head.parameters())[:-2]:  # every weight but the last layer's
            prm.requires_grad_(False)
        train(head, ft.X, ft.y, _ce, steps=finetune_steps, lr=finetune_lr, seed=seed, eval_every=finetune_steps)
        rows[f"head only: {name}"] = _eo_and_acc(head, test)
    out = pd.DataFrame(rows).T
    out.index.name = "model"
    return out


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


WEAT_TESTS: dict[str, tuple[str, str]] = {
    "names": ("male names", "female names"),
    "gendered terms": ("male terms", "female terms"),
}
"""The two WEAT tests of Step 2: target lists X, Y (attribute lists: career, family)."""


def weat_embeddings(encoder: Any) -> dict[str, np.ndarray]:
    """Embed every list of :data:`WEAT_WORDS` with the SEAT templates (names with the name
    templates, all other words with the word templates).

    Args:
        encoder: a sentence encoder with ``encode`` (e.g. from
            :func:`biaslab.pretrained.load_sentence_encoder`).

    Returns:
        ``{list name: (words x dims) embeddings}``.
    """
    T = SEAT_TEMPLATES
    return {name: embed_words(encoder, words, T["name"] if "names" in name else T["word"])
            for name, words in WEAT_WORDS.items()}


def resplit_targets(X: Any, Y: Any, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Pool two target lists and split them again at random into two lists of the same sizes:
    the permutation test's null world, where list membership means nothing.

    Args:
        X, Y: target embeddings (words x dims).
        seed: seeds the split.

    Returns:
        ``(X', Y')`` with ``len(X)`` and ``len(Y)`` rows.
    """
    e = _check_embeddings(X=X, Y=Y)
    pooled = np.concatenate([e["X"], e["Y"]])
    order = np.random.default_rng(seed).permutation(len(pooled))
    return pooled[order[: len(e["X"])]], pooled[order[len(e["X"]):]]


def weat_table(emb: dict[str, np.ndarray], seed: int = 0, n_boot: int = 2000) -> pd.DataFrame:
    """:func:`weat_test` of each test of :data:`WEAT_TESTS` against career and family words, and
    of the names re-split at random (:func:`resplit_targets`, the permutation null).

    Args:
        emb: the output of :func:`weat_embeddings`.
        seed: seeds the bootstrap and the re-split.
        n_boot: bootstrap resamples.

    Returns:
        One row per test (``names``, ``gendered terms``, ``names re-split``) with the columns of
        :func:`weat_test`.
    """
    A, B = emb["career"], emb["family"]
    rows = {label: weat_test(emb[x], emb[y], A, B, n_boot=n_boot, seed=seed) for label, (x, y) in WEAT_TESTS.items()}
    Xr, Yr = resplit_targets(emb["male names"], emb["female names"], seed=seed)
    rows["names re-split"] = weat_test(Xr, Yr, A, B, n_boot=n_boot, seed=seed)
    return pd.DataFrame(rows).T


def run(seed: int = 0, device: torch.device | str | None = None) -> dict[str, Any]:
    """Everything section 3.2 checks, for one seed.

    Returns:
        ``stages``: :func:`pretrain_finetune` (pretraining agreement 0.9, 1,000 fine-tuning
        examples, with the from-scratch and head-only controls); ``weat``: :func:`weat_table` on all-MiniLM-L6-v2 (the embeddings do not
        depend on the seed; the bootstrap and the re-split do).
    """
    from ..core import resolve_device
    from ..pretrained import load_sentence_encoder

    dev = resolve_device(device)
    encoder = load_sentence_encoder(device=dev)
    return {
        "stages": pretrain_finetune(p_pretrain=0.9, n_finetune=1000, seed=seed, device=dev, controls=True),
        "weat": weat_table(weat_embeddings(encoder), seed=seed),
    }


def _gap(stage: str) -> Any:
    return lambda r: float(r["stages"].loc[stage, "EO gap"])


_CALISKAN = ("WEAT 6 on GloVe word vectors: male names closer to career and female names to family words, "
             "effect size d = 1.81, p < 1e-3 (mirroring the Implicit Association Test)")

CLAIMS = (
    Claim(
        key="fairness.where_bias_lives.balanced_finetuning",
        statement="Fine-tuning a shortcut-pretrained MLP on 1,000 balanced examples brings its test "
                  "equalized-odds gap to at most 0.05.",
        cite=("overwriting_pretrained_bias",),
        paper_result="the bias of the fine-tuning data matters more than the bias of the pretrained model: "
                     "fine-tuning on data whose correlations are removed or balanced undoes much of a "
                     "pretrained model's bias",
        paper_where="the fine-tuning experiments and their conclusions",
        run=run,
        world=_gap("balanced"),
        measure=float,
        predicate=at_most(0.05),
        controls=(Control("no fine-tuning", "the pretrained model itself, before fine-tuning",
                          _gap("pretrained")),
                  Control("biased fine-tuning", "a copy fine-tuned on 1,000 examples with the pretraining's "
                          "90% agreement between attribute and label", _gap("biased"))),
        observation=True,
        note="an observation: equalized-odds gap between the two attribute groups on 20,000 test examples with "
             "attribute and label independent; 0.006-0.051 over ten seeds, above 0.05 on one of them",
    ),
    Claim(
        key="fairness.where_bias_lives.biased_finetuning",
        statement="Fine-tuning it on 1,000 examples with the same 90% agreement leaves the gap at 0.15 or more.",
        cite=("overwriting_pretrained_bias",),
        paper_result="fine-tuning on data with the same correlation keeps the bias",
        paper_where="the fine-tuning experiments",
        run=run,
        world=_gap("biased"),
        measure=float,
        predicate=at_least(0.15),
        controls=(Control("balanced fine-tuning", "the copy fine-tuned on balanced examples", _gap("balanced")),),
    ),
    Claim(
        key="fairness.where_bias_lives.scratch_learns_the_gap",
        statement="A model trained from scratch on the same 1,000 biased examples ends with nearly the same gap: "
                  "the fine-tuned model's gap differs from it by at most 0.1.",
        cite=("overwriting_pretrained_bias",),
        paper_result="fine-tuned models inherit the pretrained model's bias, and modest changes to the fine-tuning "
                     "data undo it",
        paper_where="the fine-tuning experiments and their conclusions",
        run=run,
        world=lambda r: r["stages"]["EO gap"],
        measure=lambda gap: abs(float(gap["biased"] - gap["from scratch: biased"])),
        predicate=at_most(0.1),
        observation=True,
        note="an observation: the gap after biased fine-tuning is what those examples teach a model alone, so it "
             "shows no inherited bias; the difference is -0.06 to 0.08 over ten seeds, too close to 0.1 to assert",
    ),
    Claim(
        key="fairness.where_bias_lives.head_only_keeps_bias",
        statement="Fine-tuning only the last layer on the balanced examples leaves a larger gap than fine-tuning "
                  "every weight: head-only gap minus full fine-tuning gap.",
        cite=("overwriting_pretrained_bias",),
        paper_result="fine-tuned models inherit the pretrained model's bias (under both spurious correlation and "
                     "group under-representation), and modest changes to the fine-tuning data undo it",
        paper_where="the fine-tuning experiments and their conclusions",
        run=run,
        world=lambda r: r["stages"]["EO gap"],
        measure=lambda gap: float(gap["head only: balanced"] - gap["balanced"]),
        predicate=at_least(0.0),
        observation=True,
        note="an observation: positive on all ten seeds but by as little as 0.003 (seed 2), 0.003 to 0.10",
    ),
    Claim(
        key="fairness.where_bias_lives.weat_names_effect",
        statement="In all-MiniLM-L6-v2, male names lean towards career words more than female names do: "
                  "WEAT effect size at least 0.8.",
        cite=("caliskan_semantics_2017", "may_seat_2019"),
        paper_result=_CALISKAN,
        paper_where="Caliskan et al. (2017), the table of WEAT results (test 6)",
        run=run,
        world=lambda r: r["weat"].loc["names"],
        measure=lambda row: float(row["effect size"]),
        predicate=at_least(0.8),
        controls=(Control("names re-split", "the 16 names pooled and split at random into two lists of eight: "
                          "list membership carries no gender", lambda r: r["weat"].loc["names re-split"]),),
        observation=True,
        note="an observation: the value does not depend on the seed (the embeddings are fixed), but its "
             "control does not fail reliably: a random re-split of the names reaches d >= 0.8 on one seed of ten, "
             "so with eight words per list an effect size alone is no evidence; the p-value claim is the test",
    ),
    Claim(
        key="fairness.where_bias_lives.weat_names_significant",
        statement="That association is significant: exact permutation p-value below 0.01.",
        cite=("caliskan_semantics_2017",),
        paper_result=_CALISKAN,
        paper_where="Caliskan et al. (2017), the table of WEAT results (test 6)",
        run=run,
        world=lambda r: r["weat"].loc["names"],
        measure=lambda row: float(row["p-value"]),
        predicate=at_most(0.01),
        controls=(Control("names re-split", "the names split at random into two lists of eight",
                          lambda r: r["weat"].loc["names re-split"]),),
        note="one-sided, all 12,870 splits of the 16 names enumerated; the value is seed-free (fixed embeddings, "
             "exact enumeration), only the control's random re-split depends on the seed",
    ),
    Claim(
        key="fairness.where_bias_lives.weat_terms_not_significant",
        statement="With gendered common nouns and pronouns the association is not significant (p above 0.05).",
        cite=("may_seat_2019",),
        paper_result="WEAT's tests put into sentence templates (SEAT) give mixed results on sentence encoders, "
                     "with patterns of sensitivity that question the test's assumptions",
        paper_where="May et al. (2019), the SEAT results",
        run=run,
        world=lambda r: r["weat"].loc["gendered terms"],
        measure=lambda row: float(row["p-value"]),
        predicate=at_least(0.05),
        controls=(Control("names", "the same test with the male and female names, where the association is "
                          "strong", lambda r: r["weat"].loc["names"]),),
        observation=True,
        note="an observation: with eight words per list the test has little power, so a p-value above 0.05 is "
             "no evidence that the association is absent; seed-free (exact enumeration on fixed embeddings)",
    ),
    Claim(
        key="fairness.where_bias_lives.weat_interval_width",
        statement="Bootstrap intervals over word-list resamples are more than one unit of effect size wide "
                  "for both target lists.",
        cite=("caliskan_semantics_2017",),
        paper_result="WEAT's p-value permutes the target words but treats the chosen words as fixed; it says "
                     "nothing about other word lists",
        paper_where="Caliskan et al. (2017), the WEAT method",
        run=run,
        world=lambda r: r["weat"].loc[["names", "gendered terms"]],
        measure=lambda t: float((t["CI high"] - t["CI low"]).min()),
        predicate=at_least(1.0),
        observation=True,
        note="an observation: the narrower of the two 95% intervals' widths; with eight words per list we have "
             "no world in which the interval should be narrow, so no control",
    ),
)
