"""What two or more sections of the chapter "Spurious correlations: shortcut testbeds, group metrics and the methods that repair them" use.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..core import make_mlp, resolve_device, train
from ..datasets.shortcut_data import (  # noqa: F401 (the chapter's sections import them from here)
    GroupData,
    SpuriousDataset,
    _attribute,
    _balanced_attribute,
    _check_rho,
    _colorize,
    _digits_split,
    _group_data,
    colored_digits,
    lms_slab,
)
from ..validation import (
    check_nonnegative,
    check_positive_int,
)

__all__ = [
    "shuffle_coordinate",
    "group_accuracies",
    "predict",
    "evaluate",
    "PROTOCOL",
    "make_classifier",
    "fit_classifier",
    "erm",
    "group_dro_update",
    "group_dro",
    "features",
    "plot_colored_digits",
]




def _check_dataset(ds) -> SpuriousDataset:
    if not isinstance(ds, SpuriousDataset):
        raise TypeError(f"ds must be a SpuriousDataset, got {type(ds).__name__}")
    return ds


def _as_long(v, name: str) -> torch.Tensor:
    if isinstance(v, np.ndarray):
        v = torch.from_numpy(v)
    elif isinstance(v, (list, tuple)):
        v = torch.tensor(v)
    if not isinstance(v, torch.Tensor):
        raise TypeError(f"{name} must be a tensor, array or list, got {type(v).__name__}")
    if v.dim() != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {tuple(v.shape)}")
    return v.detach().cpu().long()


def shuffle_coordinate(X: torch.Tensor, coord: int, seed: int = 0) -> torch.Tensor:
    """Permute one coordinate across the rows: it keeps its marginal but loses the label.

    Args:
        X: inputs ``(n, d)``.
        coord: index of the coordinate to shuffle.
        seed: seeds the permutation.

    Returns:
        A copy of ``X`` with column ``coord`` permuted.
    """
    if not isinstance(X, torch.Tensor) or X.dim() != 2:
        raise TypeError("X must be a 2-D torch tensor")
    if isinstance(coord, bool) or not isinstance(coord, (int, np.integer)) or not 0 <= coord < X.shape[1]:
        raise ValueError(f"coord must be an integer in [0, {X.shape[1]}), got {coord}")
    gen = torch.Generator().manual_seed(int(seed))
    out = X.clone()
    out[:, coord] = X[torch.randperm(len(X), generator=gen), coord]
    return out


def group_accuracies(y_true, y_pred, groups, n_groups: int | None = None) -> dict[int, float]:
    """Accuracy within each group that has at least one point.

    Args:
        y_true, y_pred, groups: 1-D tensors, arrays or lists of equal length.
        n_groups: if given, group ids must lie in ``[0, n_groups)``.

    Returns:
        ``{group id: accuracy}`` for every group present.
    """
    y_true, y_pred, groups = _as_long(y_true, "y_true"), _as_long(y_pred, "y_pred"), _as_long(groups, "groups")
    if not len(y_true) == len(y_pred) == len(groups):
        raise ValueError(
            f"y_true, y_pred and groups must have the same length, got {len(y_true)}, {len(y_pred)}, {len(groups)}"
        )
    if len(y_true) == 0:
        raise ValueError("y_true is empty")
    if n_groups is not None and (groups.min() < 0 or groups.max() >= n_groups):
        raise ValueError(f"groups must lie in [0, {n_groups}), got range [{groups.min()}, {groups.max()}]")
    correct = (y_true == y_pred).float()
    return {int(k): float(correct[groups == k].mean()) for k in torch.unique(groups)}


@torch.no_grad()
def predict(model: nn.Module, X: torch.Tensor, batch: int = 4096) -> torch.Tensor:
    """Class predictions of ``model`` on ``X``, computed on the model's device.

    Args:
        model: a classifier mapping inputs to logits.
        X: inputs.
        batch: rows per forward pass.

    Returns:
        A long tensor of predicted classes, on the CPU.
    """
    model.eval()
    device = next(model.parameters()).device
    out = [model(X[i : i + batch].to(device)).argmax(1).cpu() for i in range(0, len(X), batch)]
    return torch.cat(out)


def evaluate(model: nn.Module, ds: SpuriousDataset) -> dict[str, float]:
    """The metrics every method reports on a :class:`SpuriousDataset`.

    Args:
        model: a classifier mapping inputs to logits.
        ds: the dataset.

    Returns:
        ``avg_acc`` (in-distribution test accuracy), ``worst_group_acc`` (lowest accuracy
        over the groups of the balanced test split), ``balanced_acc`` (accuracy on the
        balanced test split) and ``group_<k>`` for each group's accuracy.
    """
    ds = _check_dataset(ds)
    p_id = predict(model, ds.test_id.X)
    p = predict(model, ds.test.X)
    accs = group_accuracies(ds.test.y, p, ds.test.g)
    out = {
        "avg_acc": float((p_id == ds.test_id.y).float().mean()),
        "worst_group_acc": min(accs.values()),
        "balanced_acc": float((p == ds.test.y).float().mean()),
    }
    out.update({f"group_{k}": v for k, v in accs.items()})
    return out


def make_classifier(
    in_dim: int,
    n_classes: int = 2,
    width: int = 128,
    depth: int = 1,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> nn.Module:
    """The chapter's one model builder: a ReLU MLP classifier, or a linear one.

    Every method of the chapter that trains a fresh network builds it here, so that a method
    and its ERM baseline start from the same architecture and the same initialization.

    Args:
        in_dim: input features.
        n_classes: outputs (logits).
        width: units per hidden layer.
        depth: hidden layers; ``0`` gives a linear model (``nn.Linear``).
        seed: seeds the initialization.
        device: where the model lives (``None``: the GPU when present, else the CPU).

    Returns:
        An untrained ``nn.Module`` on ``device``: an ``nn.Sequential`` ending in an
        ``nn.Linear`` layer for ``depth >= 1``.
    """
    in_dim = check_positive_int(in_dim, "in_dim")
    n_classes = check_positive_int(n_classes, "n_classes", minimum=2)
    depth = check_positive_int(depth, "depth", minimum=0)
    seed = check_positive_int(seed, "seed", minimum=0)
    torch.manual_seed(seed)
    if depth == 0:
        model: nn.Module = nn.Linear(in_dim, n_classes)
    else:
        model = make_mlp(in_dim, n_classes, width=width, depth=depth)
    return model.to(resolve_device(device))


class _Selector:
    """Model selection by worst-group accuracy on a held-out split: remember the best state."""

    def __init__(self, data: GroupData | None) -> None:
        if data is not None and not isinstance(data, GroupData):
            raise TypeError(f"select_on must be a GroupData (a held-out split with groups), got {type(data).__name__}")
        self.data, self.best, self.step, self.state = data, -1.0, None, None

    def __call__(self, model: nn.Module, step: int) -> dict[str, float]:
        if self.data is None or step == 0:  # the untrained network is no candidate
            return {}
        was = model.training
        model.eval()
        with torch.no_grad():
            dev = next(model.parameters()).device
            pred = model(self.data.X.to(dev)).argmax(1).cpu()
        model.train(was)
        wga = min(group_accuracies(self.data.y, pred, self.data.g).values())
        if wga > self.best:
            import copy

            self.best, self.step, self.state = wga, step, copy.deepcopy(model.state_dict())
        return {"val_worst_group_acc": wga}

    def restore(self, model: nn.Module) -> dict[str, float]:
        if self.state is not None:
            model.load_state_dict(self.state)
        return {} if self.data is None else {"selected_step": float(self.step), "val_worst_group_acc": self.best}


def _fit(X, y, weights=None, width=128, depth=1, steps=300, lr=1e-3, weight_decay=0.0, batch_size=None, seed=0,
         device=None, model=None, select_on=None, select_every=25):
    """:func:`fit_classifier`, also returning what model selection chose (``{}`` without it)."""
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError("X and y must be torch tensors")
    device = resolve_device(device)
    n_classes = max(int(y.max()) + 1 if len(y) else 2, 2)
    if model is None:
        model = make_classifier(X.shape[1], n_classes, width=width, depth=depth, seed=seed, device=device)
    else:
        torch.manual_seed(int(seed))
    model = model.to(device)
    if weights is None:
        target = y
        loss_fn = F.cross_entropy
    else:
        if not isinstance(weights, torch.Tensor) or weights.shape != y.shape:
            raise ValueError("weights must be a tensor with the same shape as y")
        if (weights < 0).any():
            raise ValueError("weights must be non-negative")
        w = weights.float() / weights.float().mean()
        target = torch.stack([y.float(), w], 1)

        def loss_fn(logits, t):
            return (F.cross_entropy(logits, t[:, 0].long(), reduction="none") * t[:, 1]).mean()

    selector = _Selector(select_on)
    every = check_positive_int(select_every, "select_every") if select_on is not None else steps
    train(model, X, target, loss_fn, steps=steps, lr=lr, weight_decay=weight_decay, batch_size=batch_size,
          eval_every=every, eval_fn=selector if select_on is not None else None, seed=seed, device=device)
    info = selector.restore(model)
    model.eval()
    return model, info


def fit_classifier(
    X: torch.Tensor,
    y: torch.Tensor,
    weights: torch.Tensor | None = None,
    width: int = 128,
    depth: int = 1,
    steps: int = 300,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    batch_size: int | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    model: nn.Module | None = None,
    select_on: GroupData | None = None,
    select_every: int = 25,
) -> nn.Module:
    """Fit a ReLU MLP classifier with (optionally per-example weighted) cross-entropy.

    Args:
        X, y: training inputs and long labels.
        weights: optional non-negative per-example weights (normalized to mean 1).
        width, depth: MLP size (``depth`` hidden layers); ``depth=0`` gives a linear model.
        steps: Adam steps.
        lr: learning rate.
        weight_decay: L2 penalty.
        batch_size: ``None`` for full batch.
        seed: seeds initialization and minibatch order.
        device: where to train (``None``: the GPU when present, else the CPU).
        model: continue training this model instead of making a new one.
        select_on: a held-out split with group labels: every ``select_every`` steps (and at
            the last), its worst-group accuracy is measured and the best state is
            kept (model selection by worst-group validation accuracy, the protocol of the
            GroupDRO and DFR papers); ``None`` keeps the last state.
        select_every: steps between two evaluations on ``select_on``.

    Returns:
        The trained (or selected) model, on ``device``.
    """
    return _fit(X, y, weights=weights, width=width, depth=depth, steps=steps, lr=lr, weight_decay=weight_decay,
                batch_size=batch_size, seed=seed, device=device, model=model, select_on=select_on,
                select_every=select_every)[0]


PROTOCOL = {"steps": 600, "weight_decay": 0.0, "select_every": 25}
"""The chapter's fair-comparison protocol: every method and its ERM baseline train the same MLP
for 600 full-batch Adam steps without weight decay, and keep the checkpoint (every 25 steps)
with the best worst-group accuracy on a held-out selection split (pass it as ``select_on``)."""

_DEFAULTS = dict(width=128, depth=1, steps=300, lr=1e-3, weight_decay=0.0, batch_size=None, select_on=None,
                 select_every=25)


def _fit_kwargs(kwargs: dict) -> dict:
    out = dict(_DEFAULTS)
    unknown = set(kwargs) - set(out) - {"seed", "device"}
    if unknown:
        raise TypeError(f"unknown training argument(s): {sorted(unknown)}")
    out.update(kwargs)
    return out


def erm(ds: SpuriousDataset, device: torch.device | str | None = None, **kwargs) -> tuple[nn.Module, dict[str, float]]:
    """Empirical risk minimization: plain average cross-entropy on the training split.

    Args:
        ds: the dataset.
        device: where to train (``None``: the GPU when present, else the CPU).
        **kwargs: training settings of :func:`fit_classifier` (``width``, ``depth``,
            ``steps``, ``lr``, ``weight_decay``, ``batch_size``, ``seed``, ``select_on``,
            ``select_every``).

    Returns:
        ``(model, metrics)`` with the metrics of :func:`evaluate` (and, with ``select_on``,
        ``selected_step`` and ``val_worst_group_acc``).
    """
    ds = _check_dataset(ds)
    model, info = _fit(ds.train.X, ds.train.y, **_fit_kwargs({**kwargs, "device": device}))
    return model, {**evaluate(model, ds), **info}


def group_dro_update(q: torch.Tensor, group_losses: torch.Tensor, eta: float) -> torch.Tensor:
    """One exponentiated-gradient step of GroupDRO's group weights.

    ``q_g <- q_g * exp(eta * loss_g)``, then renormalized: weight flows toward the groups
    with the highest loss.

    Args:
        q: current weights over groups (non-negative, sums to 1).
        group_losses: the current loss of each group (same shape as ``q``).
        eta: step size (>= 0).

    Returns:
        The new weights, a probability vector.
    """
    if not isinstance(q, torch.Tensor) or not isinstance(group_losses, torch.Tensor):
        raise TypeError("q and group_losses must be torch tensors")
    if q.shape != group_losses.shape or q.dim() != 1:
        raise ValueError(f"q and group_losses must be 1-D of the same shape, got {tuple(q.shape)} and {tuple(group_losses.shape)}")
    if (q < 0).any() or not torch.isclose(q.sum(), torch.tensor(1.0, dtype=q.dtype), atol=1e-4):
        raise ValueError("q must be a probability vector (non-negative, summing to 1)")
    eta = check_nonnegative(eta, "eta")
    q = q * torch.exp(eta * group_losses.detach())
    return q / q.sum()


def group_dro(
    ds: SpuriousDataset, eta: float = 0.1, return_history: bool = False,
    device: torch.device | str | None = None, **kwargs
) -> tuple[nn.Module, dict[str, float]]:
    """Online GroupDRO: minimize the q-weighted sum of group losses while q moves toward
    the worst group by exponentiated gradient (:func:`group_dro_update`).

    Args:
        ds: the dataset (group labels on the training split are used).
        eta: step size of the group weights.
        return_history: also record the group weights (``metrics["q_history"]``).
        device: where to train (``None``: the GPU when present, else the CPU).
        **kwargs: training settings of :func:`fit_classifier`.

    Returns:
        ``(model, metrics)``; ``metrics["q"]`` holds the final group weights.
    """
    ds = _check_dataset(ds)
    eta = check_nonnegative(eta, "eta")
    kw = _fit_kwargs({**kwargs, "device": device})
    seed, device = kw.pop("seed", 0), resolve_device(kw.pop("device", None))
    model = make_classifier(ds.in_dim, 2, width=kw["width"], depth=kw["depth"], seed=seed, device=device)
    opt = torch.optim.Adam(model.parameters(), lr=kw["lr"], weight_decay=kw["weight_decay"])
    X, y, g = ds.train.X.to(device), ds.train.y.to(device), ds.train.g.to(device)
    q = torch.full((ds.n_groups,), 1.0 / ds.n_groups, device=device)
    onehot = F.one_hot(g, ds.n_groups).float()  # (n, G)
    counts = onehot.sum(0).clamp(min=1)
    gen = torch.Generator().manual_seed(int(seed))
    history = []
    selector = _Selector(kw["select_on"])
    every = check_positive_int(kw["select_every"], "select_every")
    model.train()
    selector(model, 0)
    # a loop of its own: GroupDRO's weight update on the group losses of each step is the method
    for step in range(1, kw["steps"] + 1):
        if kw["batch_size"] is None:
            idx = slice(None)
        else:
            idx = torch.randint(0, len(y), (kw["batch_size"],), generator=gen).to(device)
        losses = F.cross_entropy(model(X[idx]), y[idx], reduction="none")
        oh = onehot[idx]
        cnt = oh.sum(0) if kw["batch_size"] is not None else counts
        group_losses = (oh * losses[:, None]).sum(0) / cnt.clamp(min=1)
        present = cnt > 0
        q = group_dro_update(q, torch.where(present, group_losses, torch.zeros_like(group_losses)), eta)
        loss = (q * group_losses).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if return_history:
            history.append(q.detach().cpu().numpy().copy())
        if kw["select_on"] is not None and (step % every == 0 or step == kw["steps"]):
            selector(model, step)
    info = selector.restore(model)
    model.eval()
    metrics = {**evaluate(model, ds), **info}
    metrics["q"] = q.detach().cpu().numpy()
    if return_history:
        metrics["q_history"] = np.array(history)
    return model, metrics


@torch.no_grad()
def features(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """The penultimate-layer representation of an MLP made by :func:`fit_classifier`.

    Args:
        model: an ``nn.Sequential`` whose last module is the linear classifier.
        X: inputs.

    Returns:
        The activations fed to the last layer, on the CPU.
    """
    if not isinstance(model, nn.Sequential) or not isinstance(model[-1], nn.Linear):
        raise TypeError("model must be an nn.Sequential ending in an nn.Linear layer")
    model.eval()
    device = next(model.parameters()).device
    return model[:-1](X.to(device)).cpu()


def plot_colored_digits(data: GroupData, n: int = 10):
    """Show the first ``n`` colored digits of a split, titled with their labels.

    Args:
        data: a split of :func:`colored_digits`.
        n: number of images.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    n = check_positive_int(n, "n")
    n = min(n, len(data))
    fig, axes = plt.subplots(1, n, figsize=(1.1 * n, 1.5))
    axes = np.atleast_1d(axes)
    for ax, i in zip(axes, range(n)):
        img = data.X[i].view(2, 8, 8).numpy()
        rgb = np.dstack([img[0], img[1], np.zeros_like(img[0])])
        ax.imshow(rgb)
        ax.set_title(f"y={int(data.y[i])}", fontsize=9)
        ax.axis("off")
    return fig
