"""Section 2.7, Diversity and the value of out-of-distribution data (``chapters/02_spurious_correlations/07_value_of_ood_data.md``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from ..claims import Claim, Control, at_least
from ..core import resolve_device, train
from ..validation import (
    check_nonnegative,
    check_positive,
    check_positive_int,
)
from ._shared import fit_classifier, lms_slab, make_classifier, predict, shuffle_coordinate

__all__ = [
    "ood_value_curve",
    "conflict_pool",
    "agreement_loss",
    "diversify_two_heads",
    "plot_heads",
    "CONTROL_ANGLES",
]


def ood_value_curve(
    ms: Sequence[int] = (0, 5, 10, 20, 50, 100, 200, 500, 2000),
    n_target: int = 10,
    d: int = 100,
    angle: float = 1.3,
    snr: float = 2.0,
    reps: int = 1000,
    seed: int = 0,
) -> pd.Series:
    """Target error of a mean-difference (Fisher, identity covariance) classifier trained on
    ``n_target`` target samples plus ``m`` samples of a rotated out-of-distribution task.

    The target task has classes ``N(+mu, I)`` and ``N(-mu, I)`` in ``d`` dimensions with
    ``|mu| = snr``; the OOD task is the same with ``mu`` rotated by ``angle`` radians. The
    classifier is ``sign(w . x + b)`` with ``w`` the difference of the pooled class means and
    ``b`` placing the boundary half-way between them; its target error is computed exactly
    from the Gaussian distribution function and averaged over ``reps`` draws.

    Args:
        ms: numbers of OOD samples to add.
        n_target: target samples.
        d: dimension.
        angle: rotation between the target and OOD class means (radians).
        snr: norm of the class mean.
        reps: repetitions averaged.
        seed: seeds the draws.

    Returns:
        A Series of target error (in %) indexed by the number of OOD samples.
    """
    from scipy.stats import norm

    n_target = check_positive_int(n_target, "n_target", minimum=2)
    d = check_positive_int(d, "d", minimum=2)
    reps = check_positive_int(reps, "reps")
    snr = check_positive(snr, "snr")
    if not ms or any(isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 0 for m in ms):
        raise ValueError("ms must be a non-empty sequence of non-negative integers")
    rng = np.random.default_rng(seed)
    mu = np.zeros(d)
    mu[0] = snr
    mu_ood = np.zeros(d)
    mu_ood[0], mu_ood[1] = snr * np.cos(angle), snr * np.sin(angle)
    errs: dict[int, list[float]] = {int(m): [] for m in ms}
    # The classifier needs only the per-class sums of the samples. The sum of k samples of
    # N(c mu, I) is one draw of N(k c mu, k I), so the OOD samples are drawn block by block,
    # between consecutive values of ms, as a class count and two sums: exact, and cheap.
    order = sorted(set(int(m) for m in ms))
    for _ in range(reps):
        yt = rng.integers(0, 2, n_target) * 2 - 1
        Xt = yt[:, None] * mu + rng.standard_normal((n_target, d))
        n_pos, n_neg = int((yt == 1).sum()), int((yt == -1).sum())
        s_pos, s_neg = Xt[yt == 1].sum(0), Xt[yt == -1].sum(0)
        prev = 0
        for m in order:
            k = m - prev
            if k:
                kp = int(rng.binomial(k, 0.5))
                kn = k - kp
                s_pos = s_pos + kp * mu_ood + np.sqrt(kp) * rng.standard_normal(d)
                s_neg = s_neg - kn * mu_ood + np.sqrt(kn) * rng.standard_normal(d)
                n_pos, n_neg = n_pos + kp, n_neg + kn
            prev = m
            if n_pos == 0 or n_neg == 0:
                errs[m].append(0.5)
                continue
            m1, m0 = s_pos / n_pos, s_neg / n_neg
            w = m1 - m0
            b = -w @ (m1 + m0) / 2
            nw = np.linalg.norm(w)
            errs[m].append(0.5 * (norm.cdf((-w @ mu - b) / nw) + norm.cdf((-w @ mu + b) / nw)))
    out = pd.Series({m: 100 * float(np.mean(v)) for m, v in errs.items()}, name="target error (%)")
    out.index.name = "OOD samples added"
    return out


def conflict_pool(
    n: int = 1000,
    conflict: float = 0.2,
    n_slabs: int = 3,
    d_noise: int = 0,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Unlabeled LMS slab points, a share of which are *bias-conflicting*.

    The points are drawn as in :func:`lms_slab`; for a random ``conflict`` share of them the
    linear coordinate is negated, so that its sign contradicts the slab. No labels are
    returned: the pool is what a diversification method sees.

    Args:
        n: number of points.
        conflict: share of points whose linear coordinate contradicts the slab.
        n_slabs, d_noise: as in :func:`lms_slab`.
        seed: seeds the points and the choice of conflicting ones.

    Returns:
        ``(X, is_conflict)``: float tensor ``(n, 2 + d_noise)`` and a bool mask ``(n,)``.
    """
    conflict = check_nonnegative(conflict, "conflict")
    if conflict > 1:
        raise ValueError(f"conflict must be in [0, 1], got {conflict}")
    X, _ = lms_slab(n, n_slabs=n_slabs, d_noise=d_noise, seed=seed)
    rng = np.random.default_rng(int(seed) + 7)
    mask = np.zeros(len(X), dtype=bool)
    mask[rng.permutation(len(X))[: int(round(conflict * len(X)))]] = True
    X = X.clone()
    X[torch.from_numpy(mask), 0] = -X[torch.from_numpy(mask), 0]
    return X, torch.from_numpy(mask)


def agreement_loss(p1: torch.Tensor, p2: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """The D-BAT disagreement objective for two binary classifiers, averaged over points.

    ``-log(p1(0) p2(1) + p1(1) p2(0))``: small when the two heads confidently predict
    different classes, large when they agree. Minimizing it over the second head pushes it to
    disagree with the first.

    Args:
        p1, p2: class probabilities ``(n, 2)`` of the two heads (rows sum to 1).
        eps: added inside the logarithm.

    Returns:
        A scalar tensor.
    """
    if not isinstance(p1, torch.Tensor) or not isinstance(p2, torch.Tensor):
        raise TypeError("p1 and p2 must be torch tensors")
    if p1.shape != p2.shape or p1.dim() != 2 or p1.shape[1] != 2:
        raise ValueError(f"p1 and p2 must both have shape (n, 2), got {tuple(p1.shape)} and {tuple(p2.shape)}")
    disagree = p1[:, 0] * p2[:, 1] + p1[:, 1] * p2[:, 0]
    return -torch.log(disagree + eps).mean()


def diversify_two_heads(
    conflict: float = 0.2,
    n_train: int = 1000,
    n_pool: int = 1000,
    n_test: int = 2000,
    n_slabs: int = 3,
    d_noise: int = 0,
    alpha: float = 0.03,
    steps: int = 600,
    width: int = 64,
    lr: float = 3e-3,
    n_select: int = 16,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> tuple[tuple[nn.Module, nn.Module], dict[str, float]]:
    """Train two heads on LMS slab data: the second must fit the training data *and*
    disagree with the first on an unlabeled pool (the idea of D-BAT).

    Head 1 is plain ERM (an MLP with two hidden layers of ``width``); simplicity bias makes it
    use the linear coordinate. It is then frozen, and head 2 (same architecture, fresh
    initialization) minimizes the cross-entropy on the training data plus ``alpha`` times
    :func:`agreement_loss` with head 1 on the pool of :func:`conflict_pool`. Both are trained
    full batch with Adam.

    Args:
        conflict: share of bias-conflicting points in the pool.
        n_train, n_pool, n_test: numbers of points.
        n_slabs, d_noise: as in :func:`lms_slab`.
        alpha: weight of the disagreement term.
        steps: Adam steps for each head.
        width: hidden units per layer.
        lr: learning rate.
        n_select: labelled target points (linear coordinate shuffled) that choose the head
            to deploy, the head-selection step of DivDis.
        seed: seeds data and training.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        ``((head1, head2), metrics)`` with, for each head ``k``, ``head{k}_train`` (training
        accuracy), ``head{k}_clean`` (test accuracy), ``head{k}_slab_only`` (test accuracy with
        the linear coordinate shuffled), and ``pool_disagreement`` (share of pool points on
        which the heads differ), ``conflict_disagreement`` (the same on conflicting points),
        ``selected_head`` (1 or 2, the head with the higher accuracy on the ``n_select``
        labelled target points) and ``selected_slab_only`` (its slab-only test accuracy).
    """

    alpha = check_nonnegative(alpha, "alpha")
    steps = check_positive_int(steps, "steps")
    seed = check_positive_int(seed, "seed", minimum=0)
    X, y = lms_slab(n_train, n_slabs=n_slabs, d_noise=d_noise, seed=seed)
    P, is_conflict = conflict_pool(n_pool, conflict, n_slabs=n_slabs, d_noise=d_noise, seed=seed + 50)
    Xt, yt = lms_slab(n_test, n_slabs=n_slabs, d_noise=d_noise, seed=seed + 100)
    Xs = shuffle_coordinate(Xt, 0, seed)
    dev = resolve_device(device)
    head1 = fit_classifier(X, y, width=width, depth=2, steps=steps, lr=lr, seed=seed, device=dev)
    with torch.no_grad():
        p1 = F.softmax(head1(P.to(dev)), 1).cpu()
    head2 = make_classifier(X.shape[1], 2, width=width, depth=2, seed=seed + 1, device=dev)
    n = len(X)
    X_all = torch.cat([X, P])
    # target rows: (label, head-1 probabilities, is-pool); pool rows carry no label
    t_all = torch.cat([
        torch.stack([y.float(), torch.zeros(n), torch.zeros(n), torch.zeros(n)], 1),
        torch.cat([torch.zeros(len(P), 1), p1, torch.ones(len(P), 1)], 1),
    ])

    def loss_fn(logits: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        pool = t[:, 3] > 0.5
        ce = F.cross_entropy(logits[~pool], t[~pool, 0].long())
        return ce + alpha * agreement_loss(t[pool, 1:3], F.softmax(logits[pool], 1))

    train(head2, X_all, t_all, loss_fn, steps=steps, lr=lr, eval_every=steps, seed=seed, device=dev)
    head2.eval()

    def acc(h: nn.Module, A: torch.Tensor, b: torch.Tensor) -> float:
        return float((predict(h, A) == b).float().mean())

    out: dict[str, float] = {}
    for k, h in ((1, head1), (2, head2)):
        out[f"head{k}_train"] = acc(h, X, y)
        out[f"head{k}_clean"] = acc(h, Xt, yt)
        out[f"head{k}_slab_only"] = acc(h, Xs, yt)
    differ = predict(head1, P) != predict(head2, P)
    out["pool_disagreement"] = float(differ.float().mean())
    out["conflict_disagreement"] = float(differ[is_conflict].float().mean()) if is_conflict.any() else float("nan")
    # head selection (as in DivDis): a few labelled points of the target distribution, on which
    # the linear coordinate carries no information, pick the head to deploy
    Xsel, ysel = lms_slab(n_select, n_slabs=n_slabs, d_noise=d_noise, seed=seed + 200)
    Xsel = shuffle_coordinate(Xsel, 0, seed + 1)
    scores = [acc(h, Xsel, ysel) for h in (head1, head2)]
    chosen = int(np.argmax(scores)) + 1
    out["selected_head"] = float(chosen)
    out["selected_slab_only"] = out[f"head{chosen}_slab_only"]
    return (head1, head2), out


def plot_heads(heads: Sequence[nn.Module], titles: Sequence[str], d_noise: int = 0, axes=None):
    """Decision regions of classifiers in the (linear, slab) plane, noise coordinates at 0.

    Args:
        heads: models taking inputs of dimension ``2 + d_noise``.
        titles: one title per head.
        d_noise: number of noise coordinates (set to 0 in the plot).
        axes: optional matplotlib axes, one per head.

    Returns:
        The axes.
    """
    import matplotlib.pyplot as plt

    if len(heads) != len(titles):
        raise ValueError("heads and titles must have the same length")
    if axes is None:
        _, axes = plt.subplots(1, len(heads), figsize=(3.2 * len(heads), 3.2), sharey=True)
    axes = np.atleast_1d(axes)
    g = torch.linspace(-1, 1, 201)
    u, v = torch.meshgrid(g, g, indexing="xy")
    grid = torch.zeros(u.numel(), 2 + d_noise)
    grid[:, 0], grid[:, 1] = u.reshape(-1), v.reshape(-1)
    for ax, h, title in zip(axes, heads, titles):
        z = predict(h, grid).reshape(u.shape).numpy()
        ax.contourf(u.numpy(), v.numpy(), z, levels=[-0.5, 0.5, 1.5], colors=["#d9d9d9", "#4c72b0"], alpha=0.8)
        ax.set(title=title, xlabel="linear coordinate")
    axes[0].set_ylabel("slab coordinate")
    return axes


# --------------------------------------------------------------------------------------
# the section's runner and its claims
# --------------------------------------------------------------------------------------
CONTROL_ANGLES = {"same task": 0.0, "orthogonal task": float(np.pi / 2)}


def run(seed: int = 0, device: torch.device | str | None = None) -> dict:
    """Everything section 2.7 shows and checks, for one seed, the control worlds included.

    Args:
        seed: seeds the draws and the training.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        ``{"curve", "curve_same", "curve_orthogonal", "div", "div_control"}``: the target-error
        curve of :func:`ood_value_curve` for the rotated task (angle 1.3) and for the control
        tasks (the same task, angle 0; an orthogonal one, angle pi/2), and the metrics of
        :func:`diversify_two_heads` with a pool holding 20% conflicting points and with none
        (the control), plus the models as ``div_heads`` and ``div_control_heads``.
    """
    heads, div = diversify_two_heads(conflict=0.2, seed=seed, device=device)
    heads0, div0 = diversify_two_heads(conflict=0.0, seed=seed, device=device)
    return {
        "curve": ood_value_curve(seed=seed),  # angle 1.3: the limit error 29.6% exceeds target-only
        "curve_same": ood_value_curve(angle=CONTROL_ANGLES["same task"], seed=seed),
        "curve_orthogonal": ood_value_curve(angle=CONTROL_ANGLES["orthogonal task"], seed=seed),
        "div": div, "div_control": div0, "div_heads": heads, "div_control_heads": heads0,
    }


def _fall(curve: pd.Series) -> float:
    return float(curve.iloc[0] - curve.min())


def _rise(curve: pd.Series) -> float:
    return float(curve.iloc[-1] - curve.iloc[0])


CLAIMS = (
    Claim(
        key="spurious.value_of_ood_data.a_little_helps",
        statement="A few samples of the rotated task lower the target error by at least 1 point below "
                  "training on the 10 target samples alone.",
        cite=("value_out_distribution",),
        paper_result="For Fisher's discriminant on Gaussian data the target error first decreases as OOD "
                     "samples are added, then increases past a threshold (non-monotonic in the OOD count).",
        paper_where="Fig. 1 and Theorem 1",
        run=run,
        measure=_fall,
        predicate=at_least(1.0),
        world=lambda r: r["curve"],
        controls=(Control("orthogonal task", "OOD samples whose class means are orthogonal to the target's: "
                          "they share no signal", lambda r: r["curve_orthogonal"]),),
        note="target error (points): target samples only minus the lowest error over the OOD counts",
    ),
    Claim(
        key="spurious.value_of_ood_data.a_lot_hurts",
        statement="With 2,000 samples of the rotated task, the target error ends at least 2 points above the "
                  "error of the 10 target samples alone.",
        cite=("value_out_distribution",),
        paper_result="Past a threshold, more OOD samples raise the target error, here above what no OOD data "
                     "give.",
        paper_where="Fig. 1 and Theorem 1",
        run=run,
        measure=_rise,
        predicate=at_least(2.0),
        world=lambda r: r["curve"],
        controls=(Control("same task", "OOD samples drawn from the target task itself (angle 0): more data "
                          "can only help", lambda r: r["curve_same"]),),
        note="target error (points) with 2,000 OOD samples minus the error with none",
    ),
    Claim(
        key="spurious.value_of_ood_data.selected_head_finds_slabs",
        statement="After disagreeing with the first head on an unlabeled pool with 20% conflicting points, "
                  "the head picked by 16 labelled target points reaches at least 0.9 slab-only accuracy.",
        cite=("pagliardini_dbat_2023", "lee_divdis_2023"),
        paper_result="Diversified heads trained to disagree on unlabeled data include one that uses the "
                     "feature ERM ignored; a few target labels pick it (DivDis), and it beats ERM by a wide "
                     "margin on data where the shortcut fails.",
        paper_where="DivDis Table 2; D-BAT Table 1",
        run=run,
        measure=lambda m: float(m["selected_slab_only"]),
        predicate=at_least(0.9),
        world=lambda r: r["div"],
        controls=(Control("no conflicting points", "the same method with a pool whose points all agree with "
                          "the training data", lambda r: r["div_control"]),),
        note="slab-only test accuracy of the selected head (the linear coordinate shuffled)",
    ),
)
