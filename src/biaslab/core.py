"""Shared core of the book: seeding, device choice, a plain training loop, plot style, claims.

Everything a section needs that is not specific to one theme lives here, and nothing else.
See: the book's introduction ("How the demos work").
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

__all__ = [
    "ClaimFailed",
    "check_claim",
    "get_device",
    "make_mlp",
    "make_activation",
    "plot_style",
    "seed_everything",
    "train",
    "Snake",
    "ACTIVATIONS",
]


# --------------------------------------------------------------------------------------
# input checks shared by every module
# --------------------------------------------------------------------------------------
def _check_positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """Return ``value`` if it is an int >= ``minimum``; raise a clear error otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_fraction(value: Any, name: str, low: float = 0.0, high: float = 1.0) -> float:
    """Return ``value`` as a float in the open/closed interval (low, high]; raise otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not (low < float(value) <= high):
        raise ValueError(f"{name} must be in ({low}, {high}], got {value}")
    return float(value)


def _check_nonnegative(value: Any, name: str) -> float:
    """Return ``value`` as a float >= 0; raise a clear error otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if float(value) < 0 or math.isnan(float(value)):
        raise ValueError(f"{name} must be >= 0, got {value}")
    return float(value)


# --------------------------------------------------------------------------------------
# reproducibility and device
# --------------------------------------------------------------------------------------
def seed_everything(seed: int = 0) -> int:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) so that a demo is repeatable.

    Args:
        seed: a non-negative integer.

    Returns:
        The seed, so that a notebook can print it.

    See: every section's setup cell.
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

    See: every section's setup cell.
    """
    if torch.cuda.is_available():
        device = torch.device("cuda")
        label = f"GPU ({torch.cuda.get_device_name(0)})"
    else:
        device = torch.device("cpu")
        label = f"CPU ({torch.get_num_threads()} threads)"
    if verbose:
        from biaslab import __version__  # at call time: biaslab/__init__.py has finished importing

        print(f"biaslab {__version__}, torch {torch.__version__}: running on {label}")
    return device


# --------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------
class Snake(nn.Module):
    """The Snake activation ``x + sin(a x)^2 / a`` with a fixed or learnable frequency ``a``.

    It keeps ReLU's monotone trend while adding a periodic component, so that a network
    built from it can continue a periodic signal beyond the training interval.

    See: chapters/01_inductive_bias/spectral_bias (periodic extrapolation).
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
    "snake": Snake,
}


def make_activation(name: str) -> nn.Module:
    """Build an activation module by name (one of ``ACTIVATIONS``).

    Args:
        name: ``"relu"``, ``"tanh"``, ``"sin"``, ``"gauss"``, ``"gelu"`` or ``"snake"``.

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

    See: chapters/01_inductive_bias/spectral_bias.
    """
    in_dim = _check_positive_int(in_dim, "in_dim")
    out_dim = _check_positive_int(out_dim, "out_dim")
    width = _check_positive_int(width, "width")
    depth = _check_positive_int(depth, "depth")
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
def train(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    steps: int,
    lr: float = 1e-3,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    batch_size: int | None = None,
    eval_every: int = 50,
    eval_fn: Callable[[nn.Module, int], dict[str, float]] | None = None,
    seed: int = 0,
    optimizer_kwargs: dict[str, Any] | None = None,
    no_decay: Sequence[str] | None = None,
) -> pd.DataFrame:
    """A plain training loop that returns a history instead of printing.

    Args:
        model: the network; it is trained in place on the device of its parameters.
        X, y: training inputs and targets (moved to the model's device).
        loss_fn: ``loss_fn(model(xb), yb)`` returns a scalar tensor.
        steps: number of optimizer steps.
        lr: learning rate.
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"``.
        weight_decay: decoupled for AdamW, L2 for the others.
        batch_size: ``None`` for full-batch training, else minibatches drawn without
            replacement, reshuffled every epoch.
        eval_every: call ``eval_fn`` (and record the loss) every this many steps, and at
            step 0 and the last step.
        eval_fn: ``eval_fn(model, step) -> dict`` of extra numbers to record.
        seed: seeds the minibatch order.
        optimizer_kwargs: extra keyword arguments for the optimizer (e.g. ``betas``).
        no_decay: names of parameters (as in ``model.named_parameters()``) exempt from
            weight decay, e.g. a codebook; ``None`` decays every parameter.

    Returns:
        A DataFrame with one row per evaluation: ``step``, ``loss`` and ``eval_fn``'s keys.

    See: the book's introduction ("How the demos work").
    """
    steps = _check_positive_int(steps, "steps")
    eval_every = _check_positive_int(eval_every, "eval_every")
    lr = _check_fraction(lr, "lr", 0.0, float("inf"))
    weight_decay = _check_nonnegative(weight_decay, "weight_decay")
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError("X and y must be torch tensors")
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    if batch_size is not None:
        batch_size = _check_positive_int(batch_size, "batch_size")
    kwargs = dict(optimizer_kwargs or {})
    params = list(model.parameters())
    groups: list[torch.nn.Parameter] | list[dict[str, Any]] = params
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
    if optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(groups, lr=lr, weight_decay=weight_decay, **kwargs)
    elif optimizer == "adamw":
        opt = torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay, **kwargs)
    elif optimizer == "sgd":
        opt = torch.optim.SGD(groups, lr=lr, weight_decay=weight_decay, **kwargs)
    else:
        raise ValueError(f"unknown optimizer {optimizer!r}; expected 'adam', 'adamw' or 'sgd'")
    device = params[0].device if params else torch.device("cpu")
    X, y = X.to(device), y.to(device)
    gen = torch.Generator().manual_seed(int(seed))
    n = len(X)
    order = torch.randperm(n, generator=gen)
    pos = 0
    rows: list[dict[str, float]] = []

    def record(step: int, loss: float) -> None:
        row: dict[str, float] = {"step": step, "loss": loss}
        if eval_fn is not None:
            model.eval()
            with torch.no_grad():
                row.update(eval_fn(model, step))
            model.train()
        rows.append(row)

    model.train()
    with torch.no_grad():
        record(0, float(loss_fn(model(X), y)))
    for step in range(1, steps + 1):
        if batch_size is None or batch_size >= n:
            xb, yb = X, y
        else:
            if pos + batch_size > n:
                order, pos = torch.randperm(n, generator=gen), 0
            idx = order[pos : pos + batch_size].to(device)
            pos += batch_size
            xb, yb = X[idx], y[idx]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        if step % eval_every == 0 or step == steps:
            record(step, float(loss.detach()))
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# figures and claims
# --------------------------------------------------------------------------------------
def plot_style() -> None:
    """Apply the book's figure style: seaborn's colorblind palette, a clean grid, readable
    fonts. Call once in a notebook's setup cell.

    See: every section's setup cell.
    """
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    mpl.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "figure.figsize": (7.0, 4.0),
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
        }
    )


class ClaimFailed(AssertionError):
    """Raised by :func:`check_claim` when a demo no longer shows its phenomenon."""


def check_claim(condition: bool, name: str, value: Any = None) -> None:
    """Assert a measured claim and print it, so that the notebook states what it proved.

    Args:
        condition: the claim, evaluated on measured numbers (e.g. ``gain >= 0.15``).
        name: what is claimed, in words.
        value: the measured value(s) to print beside the claim.

    Returns:
        None, so that a check cell shows only the printed line, not the value a second time.

    Raises:
        ClaimFailed: when ``condition`` is false; the message names the claim and the value.

    See: the "What we measured" cell of every section.
    """
    if not isinstance(name, str) or not name:
        raise TypeError("name must be a non-empty string describing the claim")
    if isinstance(condition, torch.Tensor):
        condition = bool(condition.item())
    shown = _format_value(value)
    if not bool(condition):
        raise ClaimFailed(f"CLAIM FAILED: {name} (measured: {shown})")
    print(f"claim holds: {name} (measured: {shown})")


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_format_value(v)}" for k, v in value.items())
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "[" + ", ".join(_format_value(v) for v in value) + "]"
    return str(value)
