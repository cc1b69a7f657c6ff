"""Shared core of the book: seeding, the device rule, models every chapter uses, the one
training loop, and the claim check.

Everything several chapters need that is not a validator (:mod:`biaslab.validation`) or a
plot helper (:mod:`biaslab.plotting`) lives here, and nothing else.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Union

import numpy as np
import pandas as pd
import torch
from torch import nn

from .validation import check_nonnegative, check_positive, check_positive_int

__all__ = [
    "get_device",
    "make_mlp",
    "make_activation",
    "resolve_device",
    "seed_everything",
    "train",
    "Snake",
    "ACTIVATIONS",
]


# --------------------------------------------------------------------------------------
# reproducibility and device
# --------------------------------------------------------------------------------------
def seed_everything(seed: int = 0) -> int:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) so that a demo is repeatable.

    Args:
        seed: a non-negative integer.

    Returns:
        The seed, so that a notebook can print it.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    return seed


def get_device(verbose: bool = True) -> torch.device:
    """Pick the GPU when one is present (as in Colab) and the CPU otherwise.

    Args:
        verbose: print one line with the versions of biaslab and torch and the device
            chosen, e.g. ``biaslab 0.1.0, torch 2.13.0: running on CPU (2 threads)``.

    Returns:
        A ``torch.device``; pass it to the training functions of every theme module.
    """
    device = resolve_device(None)
    if device.type == "cuda":
        label = f"GPU ({torch.cuda.get_device_name(0)})"
    else:
        label = f"CPU ({torch.get_num_threads()} threads)"
    if verbose:
        from biaslab import __version__  # at call time: biaslab/__init__.py has finished importing

        print(f"biaslab {__version__}, torch {torch.__version__}: running on {label}")
    return device


def resolve_device(device: torch.device | str | None = None) -> torch.device:
    """The book's one device rule: ``None`` means the GPU when present, else the CPU.

    Every public function of ``biaslab`` that builds or trains a model takes ``device`` and
    passes it here, so that a notebook that hands over the device its setup cell chose (or
    none at all) runs on the GPU in Colab and on the CPU elsewhere, with no code change.

    Args:
        device: ``None``, a ``torch.device``, or a string such as ``"cpu"`` or ``"cuda"``.

    Returns:
        A ``torch.device``.

    Raises:
        TypeError: when ``device`` is of another type.
        ValueError: when the string names no device torch knows.
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(device, torch.device):
        return device
    if isinstance(device, str):
        try:
            return torch.device(device)
        except RuntimeError as e:
            raise ValueError(f"device must name a torch device such as 'cpu' or 'cuda', got {device!r}") from e
    raise TypeError(f"device must be None, a string or a torch.device, got {type(device).__name__}")


# --------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------
class Snake(nn.Module):
    """The Snake activation ``x + sin(a x)^2 / a`` with a fixed or learnable frequency ``a``.

    It keeps ReLU's monotone trend while adding a periodic component, so that a network
    built from it can continue a periodic signal beyond the training interval.
    """

    def __init__(self, a: float = 1.0, learnable: bool = False) -> None:
        super().__init__()
        a = float(a)
        if a <= 0:
            raise ValueError(f"a must be > 0, got {a}")
        param = torch.tensor(a)
        if learnable:
            self.a = nn.Parameter(param)
        else:
            self.register_buffer("a", param)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.sin(self.a * x) ** 2 / self.a


class _Sin(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x)


class _Gauss(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(-(x**2))


ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sin": _Sin,
    "gauss": _Gauss,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "snake": Snake,
}


def make_activation(name: str) -> nn.Module:
    """Build an activation module by name (one of ``ACTIVATIONS``).

    Args:
        name: ``"relu"``, ``"tanh"``, ``"sin"``, ``"gauss"``, ``"gelu"``, ``"elu"`` or ``"snake"``.

    Returns:
        A fresh ``nn.Module``.
    """
    if not isinstance(name, str):
        raise TypeError(f"activation must be a string, got {type(name).__name__}")
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def make_mlp(
    in_dim: int,
    out_dim: int,
    width: int = 256,
    depth: int = 3,
    activation: str = "relu",
) -> nn.Sequential:
    """A plain multi-layer perceptron: ``depth`` hidden layers of ``width`` units.

    Args:
        in_dim: input features.
        out_dim: outputs.
        width: units per hidden layer.
        depth: number of hidden layers (>= 1).
        activation: a name from ``ACTIVATIONS``.

    Returns:
        An ``nn.Sequential`` with PyTorch's default initialization.
    """
    in_dim = check_positive_int(in_dim, "in_dim")
    out_dim = check_positive_int(out_dim, "out_dim")
    width = check_positive_int(width, "width")
    depth = check_positive_int(depth, "depth")
    make_activation(activation)  # validates the name early
    layers: list[nn.Module] = []
    d = in_dim
    for _ in range(depth):
        layers += [nn.Linear(d, width), make_activation(activation)]
        d = width
    layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)


# --------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------
Batch = Union[torch.Tensor, tuple[torch.Tensor, ...], None]


def _index(data: Batch, idx: Any) -> Batch:
    if data is None:
        return None
    if isinstance(data, tuple):
        return tuple(d[idx] for d in data)
    return data[idx]


def _to(data: Batch, device: torch.device) -> Batch:
    if data is None:
        return None
    if isinstance(data, tuple):
        return tuple(d.to(device) for d in data)
    return data.to(device)


def _length(data: Batch, name: str) -> int | None:
    if data is None:
        return None
    parts = data if isinstance(data, tuple) else (data,)
    if not parts or not all(isinstance(d, torch.Tensor) for d in parts):
        raise TypeError(f"{name} must be a torch tensor or a tuple of torch tensors")
    lengths = {len(d) for d in parts}
    if len(lengths) != 1:
        raise ValueError(f"the tensors of {name} must have the same length, got {sorted(lengths)}")
    return lengths.pop()


def _make_scheduler(scheduler: str | Callable[..., Any] | None, opt: torch.optim.Optimizer, steps: int, lr: float):
    if scheduler is None:
        return None
    if scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    if scheduler == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    if callable(scheduler):
        return scheduler(opt, steps)
    raise ValueError(f"scheduler must be None, 'cosine', 'onecycle' or a callable (optimizer, steps), got {scheduler!r}")


def train(
    model: nn.Module,
    X: Batch,
    y: Batch,
    loss_fn: Callable[[torch.Tensor, Any], torch.Tensor] | None,
    steps: int,
    lr: float = 1e-3,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    batch_size: int | None = None,
    eval_every: int | Sequence[int] = 50,
    eval_fn: Callable[[nn.Module, int], dict[str, float]] | None = None,
    seed: int = 0,
    optimizer_kwargs: dict[str, Any] | None = None,
    no_decay: Sequence[str] | None = None,
    *,
    replacement: bool = False,
    objective: Callable[[nn.Module, Any, Any], torch.Tensor] | None = None,
    params: Iterable[torch.nn.Parameter] | None = None,
    scheduler: str | Callable[[torch.optim.Optimizer, int], Any] | None = None,
    stop_when: Callable[[dict[str, float]], bool] | None = None,
    on_step: Callable[[nn.Module, int, torch.Tensor], None] | None = None,
    device: torch.device | str | None = None,
    eval_with_grad: bool = False,
) -> pd.DataFrame:
    """The book's one training loop: it returns a history instead of printing.

    Args:
        model: the network; it is trained in place.
        X, y: training inputs and targets: tensors, or tuples of tensors of one length (e.g.
            ``(labels, weights)``), indexed together for every minibatch. ``y`` may be
            ``None`` when ``objective`` needs no targets.
        loss_fn: ``loss_fn(model(xb), yb)`` returns a scalar tensor; ``None`` when
            ``objective`` is given.
        steps: number of optimizer steps.
        lr: learning rate (> 0).
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"``.
        weight_decay: decoupled for AdamW, L2 for the others.
        batch_size: ``None`` for full-batch training, else the minibatch size.
        eval_every: record every this many steps (and at step 0 and the last step), or an
            explicit sequence of the steps to record.
        eval_fn: ``eval_fn(model, step) -> dict`` of extra numbers to record; it runs in
            ``eval`` mode under ``torch.no_grad()``.
        seed: seeds the minibatch draws.
        optimizer_kwargs: extra keyword arguments for the optimizer (e.g. ``betas``).
        no_decay: names of parameters (as in ``model.named_parameters()``) exempt from
            weight decay, e.g. a codebook; ``None`` decays every parameter.
        replacement: draw each minibatch independently, with replacement
            (``torch.randint``), instead of walking through reshuffled epochs.
        objective: ``objective(model, xb, yb) -> loss`` for losses that are not a function of
            ``model(xb)`` alone (an ELBO, a weighted loss); replaces ``loss_fn``.
        params: the tensors to optimize (default ``model.parameters()``).
        scheduler: ``None``, ``"cosine"`` (cosine decay to zero), ``"onecycle"`` (10% warm-up
            to ``lr``, then cosine decay), or ``scheduler(optimizer, steps)`` returning a
            PyTorch scheduler; it is stepped after every optimizer step.
        stop_when: ``stop_when(row) -> bool``, checked after every recorded row: training
            stops early when it returns true (e.g. ``lambda r: r["train_acc"] >= 0.95``).
        on_step: ``on_step(model, step, loss)``, called after every optimizer step, to record
            something or to apply an extra update.
        device: where to train: the model and data are moved there; ``None`` keeps the
            model's own device.
        eval_with_grad: run ``eval_fn`` with gradients enabled and the model in training
            mode, for measurements that differentiate (a Hessian eigenvalue).

    Returns:
        A DataFrame with one row per evaluation: ``step``, ``loss`` (the full-data loss at step
        0, the minibatch loss after) and ``eval_fn``'s keys.
    """
    steps = check_positive_int(steps, "steps")
    lr = check_positive(lr, "lr")
    weight_decay = check_nonnegative(weight_decay, "weight_decay")
    if isinstance(eval_every, Sequence):
        record_at = {check_positive_int(s, "each entry of eval_every", 0) for s in eval_every} | {0, steps}
    else:
        every = check_positive_int(eval_every, "eval_every")
        record_at = None
    if objective is None and loss_fn is None:
        raise TypeError("give loss_fn, or objective for a loss that is not a function of model(X)")
    if X is None:
        raise TypeError("X must be a torch tensor or a tuple of torch tensors")
    n = _length(X, "X")
    ny = _length(y, "y")
    if ny is not None and ny != n:
        raise ValueError(f"X and y must have the same length, got {n} and {ny}")
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    if device is not None:
        model.to(resolve_device(device))
    param_list = list(model.parameters() if params is None else params)
    groups: list[torch.nn.Parameter] | list[dict[str, Any]] = param_list
    if no_decay is not None:
        if isinstance(no_decay, str) or not isinstance(no_decay, Sequence):
            raise TypeError("no_decay must be a sequence of parameter names, e.g. ['codebook']")
        named = dict(model.named_parameters())
        unknown = [name for name in no_decay if name not in named]
        if unknown:
            raise ValueError(f"no_decay names unknown parameters {unknown}; the model has {sorted(named)}")
        exempt = set(no_decay)
        groups = [{"params": [p for name, p in named.items() if name not in exempt]},
                  {"params": [named[name] for name in exempt], "weight_decay": 0.0}]
        groups = [g for g in groups if g["params"]]
    kwargs = dict(optimizer_kwargs or {})
    if optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(groups, lr=lr, weight_decay=weight_decay, **kwargs)
    elif optimizer == "adamw":
        opt = torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay, **kwargs)
    elif optimizer == "sgd":
        opt = torch.optim.SGD(groups, lr=lr, weight_decay=weight_decay, **kwargs)
    else:
        raise ValueError(f"unknown optimizer {optimizer!r}; expected 'adam', 'adamw' or 'sgd'")
    sched = _make_scheduler(scheduler, opt, steps, lr)
    if device is not None:
        dev = resolve_device(device)
    else:
        dev = param_list[0].device if param_list else torch.device("cpu")
    X, y = _to(X, dev), _to(y, dev)

    def loss_of(xb: Batch, yb: Batch) -> torch.Tensor:
        return objective(model, xb, yb) if objective is not None else loss_fn(model(xb), yb)

    gen = torch.Generator().manual_seed(int(seed))
    order = torch.randperm(n, generator=gen) if batch_size is not None and not replacement else None
    pos = 0
    rows: list[dict[str, float]] = []

    def record(step: int, loss: float) -> bool:
        row: dict[str, float] = {"step": step, "loss": loss}
        if eval_fn is not None and eval_with_grad:
            row.update(eval_fn(model, step))
        elif eval_fn is not None:
            was_training = model.training
            model.eval()
            with torch.no_grad():
                row.update(eval_fn(model, step))
            model.train(was_training)
        rows.append(row)
        return stop_when is not None and bool(stop_when(row))

    def due(step: int) -> bool:
        return step in record_at if record_at is not None else (step % every == 0 or step == steps)

    model.train()
    with torch.no_grad():
        initial = float(loss_of(X, y))
    stop = record(0, initial)
    step = 0
    while not stop and step < steps:
        step += 1
        if batch_size is None or (batch_size >= n and not replacement):
            xb, yb = X, y
        else:
            if replacement:
                idx = torch.randint(0, n, (batch_size,), generator=gen)
            else:
                if pos + batch_size > n:
                    order, pos = torch.randperm(n, generator=gen), 0
                idx = order[pos : pos + batch_size]
                pos += batch_size
            idx = idx.to(dev)
            xb, yb = _index(X, idx), _index(y, idx)
        opt.zero_grad(set_to_none=True)
        loss = loss_of(xb, yb)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        if on_step is not None:
            on_step(model, step, loss.detach())
        if due(step):
            stop = record(step, float(loss.detach()))
    return pd.DataFrame(rows)
