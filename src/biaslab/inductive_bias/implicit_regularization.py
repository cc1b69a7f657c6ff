"""Section 1.5, Implicit regularization: what the optimizer prefers (``chapters/01_inductive_bias/05_implicit_regularization.md``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..claims import Claim, Control, at_most, increasing
from ..core import make_mlp, resolve_device, train
from ..datasets.toy_tasks import MatrixSensingData, eos_regression_data, matrix_sensing_data
from ..plotting import get_axes
from ..validation import check_choice, check_fraction, check_positive, check_positive_int, check_same_length

__all__ = [
    "eos_mlp",
    "top_hessian_eigenvalue",
    "sharpness_run",
    "plot_sharpness",
    "sharpness_ratio",
    "matrix_sensing_run",
    "learning_times",
    "effective_rank",
    "final_effective_rank",
    "final_relative_error",
    "plot_incremental_learning",
    "EOS_LRS",
    "INIT_SCALES",
]


def eos_mlp(in_dim: int = 5, width: int = 32, seed: int = 0) -> nn.Sequential:
    """The network of the sharpness demo: two tanh hidden layers of ``width`` units, one output.

    Args:
        in_dim: input features.
        width: units per hidden layer.
        seed: seed of PyTorch's default initialization.

    Returns:
        An ``nn.Sequential`` (built with :func:`biaslab.core.make_mlp`).
    """
    torch.manual_seed(int(seed))
    return make_mlp(in_dim, 1, width=width, depth=2, activation="tanh")


def _half_mse(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return 0.5 * ((pred - y) ** 2).mean()


def top_hessian_eigenvalue(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    iters: int = 20,
    v0: list[torch.Tensor] | None = None,
    return_vector: bool = False,
):
    """Sharpness: the top eigenvalue of the Hessian of the loss ``0.5 * mean((f(X) - y)^2)``.

    Power iteration with Hessian-vector products (double backpropagation through
    ``torch.autograd.grad``); the Hessian is never formed. Power iteration returns the
    eigenvalue of largest magnitude, which is the top one whenever the Hessian's largest
    positive eigenvalue dominates its most negative one (the usual case during training).

    Args:
        model: the network (its parameters are the Hessian's variables).
        X, y: the full training batch.
        iters: power-iteration steps (>= 1).
        v0: start vector, one tensor per parameter (e.g. the previous call's vector, which
            speeds convergence along a training run); random if ``None``.
        return_vector: also return the final vector.

    Returns:
        The eigenvalue estimate (float), or ``(eigenvalue, vector)`` if ``return_vector``.
    """
    iters = check_positive_int(iters, "iters")
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError("X and y must be torch tensors")
    check_same_length(X=X, y=y)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters")
    loss = _half_mse(model(X), y)
    grads = torch.autograd.grad(loss, params, create_graph=True)
    if v0 is not None and (len(v0) != len(params) or any(a.shape != p.shape for a, p in zip(v0, params))):
        raise ValueError("v0 must hold one tensor per parameter, with the parameters' shapes")
    v = [torch.randn_like(p) for p in params] if v0 is None else [a.detach().clone() for a in v0]
    for _ in range(iters):  # iters >= 1, so lam is always set
        norm = torch.sqrt(sum((a * a).sum() for a in v))
        v = [a / norm for a in v]
        hv = torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True)
        lam = float(sum((a * b).sum() for a, b in zip(hv, v)))
        v = [h.detach() for h in hv]
    return (lam, v) if return_vector else lam


def sharpness_run(
    lr: float,
    steps: int = 2000,
    batch_size: int | None = None,
    eval_every: int = 25,
    n: int = 200,
    width: int = 32,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> pd.DataFrame:
    """Train :func:`eos_mlp` on :func:`eos_regression_data` with plain (S)GD and track sharpness.

    Full-batch gradient descent if ``batch_size`` is ``None``; otherwise SGD on minibatches of
    ``batch_size`` samples drawn with replacement. The loss is ``0.5 * MSE``; the sharpness is
    always measured on the full training set.

    Args:
        lr: learning rate (> 0); gradient descent on a quadratic is stable iff sharpness < 2/lr.
        steps: optimizer steps.
        batch_size: ``None`` (full batch) or the minibatch size.
        eval_every: measure every this many steps (and at step 0).
        n, width: training-set size and hidden units per layer (:func:`eos_regression_data`, :func:`eos_mlp`).
        seed: seed of data, initialization and minibatches.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        DataFrame with ``step``, ``loss`` (full training loss) and ``sharpness`` (top Hessian
        eigenvalue), plus constant columns ``lr`` and ``two_over_lr``.
    """
    lr = check_positive(lr, "lr")
    steps = check_positive_int(steps, "steps")
    eval_every = check_positive_int(eval_every, "eval_every")
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    device = resolve_device(device)
    X, y = eos_regression_data(n=n, seed=seed)
    X, y = X.to(device), y.to(device)
    model = eos_mlp(X.shape[1], width=width, seed=seed).to(device)
    warm: list[list[torch.Tensor] | None] = [None]  # power iteration restarts from the last top eigenvector

    def measure(net: nn.Module, step: int) -> dict[str, float]:
        lam, warm[0] = top_hessian_eigenvalue(net, X, y, v0=warm[0], return_vector=True)
        with torch.no_grad():
            loss = float(_half_mse(net(X), y))
        return {"loss": loss, "sharpness": lam}

    h = train(model, X, y, _half_mse, steps=steps, lr=lr, optimizer="sgd", batch_size=batch_size,
              replacement=True, eval_every=eval_every, eval_fn=measure, eval_with_grad=True,
              seed=int(seed) + 1, device=device)
    h["lr"], h["two_over_lr"] = lr, 2.0 / lr
    return h


def sharpness_ratio(
    histories: pd.DataFrame | Mapping[object, pd.DataFrame], when: str = "late", gap: bool = False
) -> float:
    """Sharpness in units of ``2/lr``: the largest over the steps of one or more :func:`sharpness_run` runs.

    Args:
        histories: one run's history, or ``{label: history}`` for several runs.
        when: ``"late"`` (the second half of each run: steps from half its last step on) or
            ``"start"`` (step 0, where training starts relative to the stability limit).
        gap: measure how far the sharpness strays from ``2/lr``, ``|sharpness / (2/lr) - 1|``.

    Returns:
        The largest ``sharpness / (2/lr)`` (about 1 at the edge of stability), or with ``gap``
        the largest deviation (0 when every run sits exactly at its ``2/lr``).
    """
    if isinstance(histories, pd.DataFrame):
        histories = {0: histories}
    if not isinstance(histories, Mapping) or not histories:
        raise ValueError("histories must be a sharpness_run history or a non-empty {label: history} mapping")
    check_choice(when, "when", ("late", "start"))
    out = []
    for h in histories.values():
        if not isinstance(h, pd.DataFrame) or not {"step", "sharpness", "two_over_lr"} <= set(h):
            raise ValueError("history must come from sharpness_run (columns step, sharpness, two_over_lr)")
        ratio = h.sharpness / h.two_over_lr.iloc[0]
        ratio = ratio[h.step >= h.step.iloc[-1] / 2] if when == "late" else ratio.iloc[:1]
        out.append(((ratio - 1).abs() if gap else ratio).max())
    return float(max(out))


def plot_sharpness(histories: dict[str, pd.DataFrame], ax=None):
    """Sharpness against training step, one line per run, with each run's ``2/lr`` dashed.

    Args:
        histories: ``{label: history}`` from :func:`sharpness_run`.
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.
    """
    if not histories:
        raise ValueError("histories must contain at least one run")
    ax = get_axes(ax)
    for i, (label, h) in enumerate(histories.items()):
        color = f"C{i}"
        ax.plot(h["step"], h["sharpness"], color=color, label=label)
        ax.axhline(float(h["two_over_lr"].iloc[0]), color=color, ls="--", lw=1)
    ax.set_xlabel("training step")
    ax.set_ylabel("sharpness (top Hessian eigenvalue)")
    ax.set_yscale("log")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


class _Factorized(nn.Module):
    """The product ``W = W_depth ... W_1`` of square factors; calling it returns ``W``."""

    def __init__(self, factors: Sequence[torch.Tensor]) -> None:
        super().__init__()
        self.factors = nn.ParameterList([nn.Parameter(f.clone()) for f in factors])

    def forward(self) -> torch.Tensor:
        """The end-to-end matrix."""
        return functools.reduce(lambda W, F_: F_ @ W, self.factors)


def matrix_sensing_run(
    init_scale: float,
    data: MatrixSensingData | None = None,
    depth: int = 2,
    steps: int = 3000,
    lr: float = 0.02,
    eval_every: int = 5,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> pd.DataFrame:
    """Gradient descent on a factorized matrix ``W = W_depth ... W_1`` fitted to sensing data.

    Every factor is ``d x d`` (full width: the factorization itself does not limit the rank),
    initialized as ``init_scale * N(0, 1/d)``. The loss is ``0.5 * mean_i (<A_i, W> - y_i)^2``.

    Args:
        init_scale: scale of the initialization (> 0); small scales give incremental learning.
        data: from :func:`matrix_sensing_data` (default: its defaults with ``seed``).
        depth: number of factors (>= 1; 1 is plain gradient descent on ``W``).
        steps: gradient steps.
        lr: learning rate.
        eval_every: record every this many steps.
        seed: seed of the initialization (and of the default data).
        device: where to run (``None``: the GPU when present, else the CPU).

    Returns:
        DataFrame with ``step``, ``loss``, ``rel_error`` (``||W - W*||_F / ||W*||_F``) and
        ``sv1 .. svd`` (singular values of ``W``, largest first).
    """
    init_scale = check_positive(init_scale, "init_scale")
    depth = check_positive_int(depth, "depth")
    steps = check_positive_int(steps, "steps")
    eval_every = check_positive_int(eval_every, "eval_every")
    lr = check_positive(lr, "lr")
    if data is None:
        data = matrix_sensing_data(seed=seed)
    if not isinstance(data, MatrixSensingData):
        raise TypeError(f"data must be a MatrixSensingData, got {type(data).__name__}")
    d = data.W_star.shape[0]
    dev = resolve_device(device)
    A, y, W_star = data.A.to(dev), data.y.to(dev), data.W_star.to(dev)
    g = torch.Generator().manual_seed(int(seed) + 1000)
    model = _Factorized([init_scale * torch.randn(d, d, generator=g) / math.sqrt(d) for _ in range(depth)]).to(dev)
    w_norm = float(W_star.norm())

    def sensing_loss(net: nn.Module, A_: torch.Tensor, y_: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((A_ * net()).sum((1, 2)) - y_).pow(2).mean()

    def measure(net: nn.Module, step: int) -> dict[str, float]:
        W = net()
        row = {"loss": float(sensing_loss(net, A, y)), "rel_error": float((W - W_star).norm()) / w_norm}
        row.update({f"sv{i + 1}": s for i, s in enumerate(torch.linalg.svdvals(W).tolist())})
        return row

    return train(model, A, y, None, steps=steps, lr=lr, optimizer="sgd", eval_every=eval_every,
                 eval_fn=measure, objective=sensing_loss, device=dev)


def learning_times(history: pd.DataFrame, targets: Sequence[float], level: float = 0.5) -> list[float]:
    """First step at which each singular value reaches ``level`` times its target.

    Args:
        history: from :func:`matrix_sensing_run` (columns ``step``, ``sv1``, ``sv2``, ...).
        targets: target singular values, largest first (``sv1`` is compared with
            ``targets[0]``, and so on).
        level: fraction of the target, in (0, 1].

    Returns:
        One step per target (``inf`` if never reached).
    """
    level = check_fraction(level, "level")
    if not isinstance(history, pd.DataFrame) or "step" not in history:
        raise ValueError("history must be a DataFrame with a 'step' column")
    out = []
    for i, t in enumerate(targets):
        col = f"sv{i + 1}"
        if col not in history:
            raise ValueError(f"history has no column {col!r} for target {i + 1}")
        hit = history.loc[history[col] >= level * float(t), "step"]
        out.append(float(hit.iloc[0]) if len(hit) else math.inf)
    return out


def effective_rank(W: torch.Tensor | np.ndarray) -> float:
    """Effective rank of a matrix: ``exp`` of the entropy of its normalized singular values.

    The measure of Roy and Vetterli (2007): ``p_i = s_i / sum_j s_j``,
    ``erank = exp(-sum_i p_i log p_i)``. It equals ``k`` for a matrix with ``k`` equal nonzero
    singular values and lies between 1 and the rank otherwise.

    Args:
        W: a 2-D matrix (not all zero), or a 1-D array of its singular values.

    Returns:
        The effective rank.
    """
    t = W.detach().double() if isinstance(W, torch.Tensor) else torch.tensor(np.array(W, dtype=np.float64))
    if t.ndim not in (1, 2):
        raise ValueError(f"W must be a matrix or a vector of singular values, got {t.ndim} dimensions")
    s = torch.linalg.svdvals(t) if t.ndim == 2 else t.abs()
    if not float(s.sum()) > 0:
        raise ValueError("W must not be all zero")
    return float(torch.exp(torch.special.entr(s / s.sum()).sum()))  # entr(p) = -p log p, and 0 at p = 0


def final_effective_rank(history: pd.DataFrame) -> float:
    """The effective rank (:func:`effective_rank`) of the last matrix of a sensing run.

    Args:
        history: from :func:`matrix_sensing_run`.

    Returns:
        The effective rank of ``W`` at the last recorded step.
    """
    cols = [c for c in history.columns if c.startswith("sv") and c[2:].isdigit()] if isinstance(history, pd.DataFrame) else []
    if not cols:
        raise ValueError("history must come from matrix_sensing_run (columns sv1, sv2, ...)")
    return effective_rank(history[sorted(cols, key=lambda c: int(c[2:]))].iloc[-1].to_numpy(float))


def final_relative_error(history: pd.DataFrame) -> float:
    """The relative distance ``||W - W*||_F / ||W*||_F`` at the last step of a sensing run.

    Args:
        history: from :func:`matrix_sensing_run`.

    Returns:
        The last ``rel_error``.
    """
    if not isinstance(history, pd.DataFrame) or "rel_error" not in history:
        raise ValueError("history must come from matrix_sensing_run (column rel_error)")
    return float(history.rel_error.iloc[-1])


def plot_incremental_learning(history: pd.DataFrame, targets: Sequence[float], k: int | None = None, ax=None):
    """Top singular values of the learned matrix over training, with the targets dotted.

    Args:
        history: from :func:`matrix_sensing_run`.
        targets: the true singular values (largest first).
        k: how many singular values to draw (default ``len(targets) + 2``).
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.
    """
    if not isinstance(history, pd.DataFrame) or "sv1" not in history:
        raise ValueError("history must come from matrix_sensing_run")
    ax = get_axes(ax)
    k = len(targets) + 2 if k is None else check_positive_int(k, "k")
    for i in range(k):
        col = f"sv{i + 1}"
        if col not in history:
            break
        style = "-" if i < len(targets) else ":"
        ax.plot(history["step"], history[col], style, color=f"C{i}", label=f"singular value {i + 1}")
        if i < len(targets):
            ax.axhline(float(targets[i]), color=f"C{i}", ls=":", lw=1)
    ax.set_xlabel("gradient step")
    ax.set_ylabel("singular value of W")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


# --------------------------------------------------------------------------------------
# the section's runner and claims
# --------------------------------------------------------------------------------------
EOS_LRS = (0.1, 0.2, 0.4)
INIT_SCALES = (1e-3, 1.0)


def run(seed: int = 0, device: torch.device | str | None = None) -> dict[str, object]:
    """Everything section 1.5 shows and checks, for one seed.

    Args:
        seed: seed of data, initializations and minibatches.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        ``gd``: ``{lr: sharpness_run(lr)}`` for full-batch gradient descent at each of
        :data:`EOS_LRS` (2,000 steps); ``sgd``: the same network trained by SGD with batches
        of 10 at learning rate 0.2; ``sensing``: ``{init_scale: matrix_sensing_run(...)}`` for
        :data:`INIT_SCALES` on 200 orthogonal measurements of a 16 x 16 rank-3 matrix with
        singular values 4, 2, 1; ``targets``: those singular values.
    """
    data = matrix_sensing_data(d=16, singular_values=(4.0, 2.0, 1.0), n_measurements=200, seed=seed,
                               measurements="orthogonal")
    return {
        "gd": {lr: sharpness_run(lr, steps=2000, seed=seed, device=device) for lr in EOS_LRS},
        "sgd": sharpness_run(0.2, steps=2000, batch_size=10, seed=seed, device=device),
        "sensing": {s: matrix_sensing_run(s, data=data, steps=3000, lr=0.02, eval_every=1, seed=seed, device=device)
                    for s in INIT_SCALES},
        "targets": data.singular_values,
    }


_LARGE_INIT = Control("large initialization",
                      "initialization scale 1: as good a fit to the 200 measurements, by a matrix that keeps "
                      "the random initial components the measurements do not see, far from the ground truth",
                      lambda r: r["sensing"][1.0])

CLAIMS = (
    Claim(
        key="inductive_bias.implicit_regularization.edge_of_stability",
        statement="For each of the learning rates 0.1, 0.2 and 0.4, the sharpness of full-batch gradient "
                  "descent stays within 15% of 2/lr over steps 1,000 to 2,000.",
        cite=("cohen_edge_of_stability_2021",),
        paper_result="full-batch gradient descent sharpens until the top Hessian eigenvalue reaches 2/lr "
                     "and then hovers just above it while the loss keeps falling, non-monotonically, "
                     "for every learning rate tried",
        paper_where="Fig. 1",
        run=run,
        measure=lambda runs: sharpness_ratio(runs, gap=True),
        world=lambda r: r["gd"],
        predicate=at_most(0.15),
        controls=(Control("SGD, batch 10",
                          "the same network, data and learning rate 0.2 trained on minibatches of 10: "
                          "the gradient noise keeps SGD away from the sharp region, so its sharpness "
                          "does not settle at 2/lr",
                          lambda r: {0.2: r["sgd"]}),),
        observation=True,
        note="an observation: the deviation (the largest |sharpness / (2/lr) - 1| over the second half "
             "of the three runs) is 0.05-0.11 on nine of seeds 0-9 and 0.16 on seed 8, where one of 41 "
             "measurements at lr 0.1 dips to 0.84 x 2/lr after a spike",
    ),
    Claim(
        key="inductive_bias.implicit_regularization.sgd_flatter",
        statement="SGD with batches of 10 at learning rate 0.2 keeps its sharpness below 80% of 2/lr "
                  "over steps 1,000 to 2,000.",
        cite=("implicit_regularization_dynamical",),
        paper_result="a minimum is linearly stable for SGD only if the trace of its Hessian, not only "
                     "its top eigenvalue, is at most about 2/lr: SGD is confined to flatter minima than "
                     "gradient descent with the same learning rate",
        paper_where="its linear-stability analysis of SGD and main theorems",
        run=run,
        measure=sharpness_ratio,
        world=lambda r: r["sgd"],
        predicate=at_most(0.8),
        controls=(Control("full-batch GD, lr 0.2",
                          "gradient descent on the full training set at the same learning rate, which "
                          "has no gradient noise and settles at the edge of stability",
                          lambda r: r["gd"][0.2]),),
        note="the largest sharpness over steps 1,000 to 2,000, in units of 2/lr = 10",
    ),
    Claim(
        key="inductive_bias.implicit_regularization.progressive_sharpening",
        statement="Gradient descent starts well below the stability limit: at step 0 the sharpness is "
                  "below 60% of 2/lr for each of the three learning rates, so it must rise to reach it.",
        cite=("cohen_edge_of_stability_2021",),
        paper_result="progressive sharpening: at initialization the sharpness is below 2/lr and it "
                     "grows during training until it reaches 2/lr",
        paper_where="Fig. 1",
        run=run,
        measure=lambda runs: sharpness_ratio(runs, when="start"),
        world=lambda r: r["gd"],
        predicate=at_most(0.6),
        observation=True,
        note="an observation: it holds on seeds 0-9 (0.44-0.54, set by lr 0.4: a step-0 sharpness of "
             "2.2-2.7), but the step-0 sharpness does not depend on the learning rate and no run here "
             "starts at the limit, so there is no control world to tell it from",
    ),
    Claim(
        key="inductive_bias.implicit_regularization.incremental_learning",
        statement="From a small initialization (scale 1e-3) gradient descent learns the singular values "
                  "4, 2 and 1 one after another, each reaching half of its target at least 1.3 times "
                  "later than the one before.",
        cite=("understanding_incremental_learning",),
        paper_result="from a small initialization gradient descent on matrix sensing passes close to "
                     "the best rank-1 solution, then the best rank-2 solution, and so on up to the rank "
                     "of the ground truth",
        paper_where="main theorem on the full trajectory, and its matrix-sensing experiments",
        run=run,
        measure=lambda w: tuple(learning_times(w[0], w[1], level=0.5)),
        world=lambda r: (r["sensing"][1e-3], r["targets"]),
        predicate=increasing(1.3),
        controls=(Control("large initialization",
                          "the same data and optimizer from initialization scale 1, where all singular "
                          "values move at once (most start above half their target)",
                          lambda r: (r["sensing"][1.0], r["targets"])),),
        note="learning time: first step at which the k-th singular value of W reaches half of its target",
    ),
    Claim(
        key="inductive_bias.implicit_regularization.low_rank",
        statement="From the small initialization the fitted 16 x 16 matrix has effective rank at most 3.5.",
        cite=("understanding_incremental_learning",),
        paper_result="gradient descent from a small initialization stops at the rank of the ground truth "
                     "and recovers it, although the factorized model could have any rank",
        paper_where="main theorem on the full trajectory",
        run=run,
        measure=final_effective_rank,
        world=lambda r: r["sensing"][1e-3],
        predicate=at_most(3.5),
        controls=(_LARGE_INIT,),
        note="effective rank: exp of the entropy of the normalized singular values (2.6 for 4, 2, 1)",
    ),
    Claim(
        key="inductive_bias.implicit_regularization.recovery",
        statement="From the small initialization, gradient descent recovers the rank-3 matrix from 200 "
                  "measurements of its 256 entries within 5% (relative Frobenius error).",
        cite=("understanding_incremental_learning",),
        paper_result="gradient descent from a small initialization recovers the low-rank ground truth "
                     "from nearly isotropic measurements",
        paper_where="main theorem on the full trajectory",
        run=run,
        measure=final_relative_error,
        world=lambda r: r["sensing"][1e-3],
        predicate=at_most(0.05),
        controls=(_LARGE_INIT,),
    ),
)
