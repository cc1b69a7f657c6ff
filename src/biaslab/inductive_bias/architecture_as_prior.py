"""Section 1.2, Architecture as prior: what attention does without its helpers (``chapters/01_inductive_bias/02_architecture_as_prior.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from ..plotting import get_axes
from ..validation import (
    check_positive,
    check_positive_int,
)

__all__ = [
    "rank_collapse_residual",
    "attention_stack_residuals",
    "patch_signal_data",
    "make_patch_net",
    "locality_sample_complexity",
    "plot_sample_complexity",
    "plot_rank_collapse",
]


def rank_collapse_residual(X: torch.Tensor) -> float:
    """Relative distance of a token matrix to the nearest matrix whose rows are all equal.

    ``||X - 1 mean(X)|| / ||X||`` (Frobenius norms): 0 when every token carries the same
    vector (rank collapse), about 1 for unrelated tokens.

    Args:
        X: tensor of shape ``(n_tokens, d)``.

    Returns:
        A number in ``[0, 1]``.
    """
    X = torch.as_tensor(X)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"X must have shape (n_tokens, d) with n_tokens >= 2, got {tuple(X.shape)}")
    norm = X.norm().item()
    if norm == 0:
        raise ValueError("X must not be all zeros")
    return (X - X.mean(0, keepdim=True)).norm().item() / norm


def attention_stack_residuals(
    n_layers: int = 12,
    n_tokens: int = 32,
    d: int = 64,
    skip: bool = False,
    mlp: bool = False,
    n_stacks: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """Rank-collapse residual after each layer of a random single-head self-attention stack.

    Each layer computes ``softmax(X Wq (X Wk)^T / sqrt(d)) X Wv`` with Gaussian weights of
    variance ``1/d``; ``skip`` adds the input back (``X + attention(X)``) and ``mlp`` appends
    a residual ReLU MLP block. Inputs are standard Gaussian tokens. No normalization layers.

    Args:
        n_layers, n_tokens, d: depth, sequence length and width.
        skip: use skip connections around attention.
        mlp: add a residual MLP block after each attention layer.
        n_stacks: random stacks; the median residual per layer is returned.
        seed: seed of inputs and weights.

    Returns:
        Array of length ``n_layers + 1`` (entry 0 is the input).
    """
    n_layers = check_positive_int(n_layers, "n_layers")
    n_tokens = check_positive_int(n_tokens, "n_tokens", 2)
    d = check_positive_int(d, "d")
    n_stacks = check_positive_int(n_stacks, "n_stacks")
    g = torch.Generator().manual_seed(seed)
    kw = {"generator": g, "dtype": torch.float64}
    runs = []
    for _ in range(n_stacks):
        X = torch.randn(n_tokens, d, **kw)
        res = [rank_collapse_residual(X)]
        for _ in range(n_layers):
            Wq, Wk, Wv = (torch.randn(d, d, **kw) / math.sqrt(d) for _ in range(3))
            A = torch.softmax((X @ Wq) @ (X @ Wk).T / math.sqrt(d), dim=1)
            Y = A @ X @ Wv
            X = X + Y if skip else Y
            if mlp:
                W1 = torch.randn(d, d, **kw) * math.sqrt(2.0 / d)
                W2 = torch.randn(d, d, **kw) / math.sqrt(d)
                X = X + torch.relu(X @ W1) @ W2
            res.append(rank_collapse_residual(X))
        runs.append(res)
    return np.median(np.array(runs), axis=0)


def patch_signal_data(
    n: int,
    k: int = 16,
    p: int = 8,
    amplitude: float = 4.0,
    template: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A signal that can sit in any one of ``k`` patches: the label is its sign.

    Each input has ``k`` patches of ``p`` standard Gaussian entries. In one patch, chosen
    uniformly at random per input, ``amplitude * y * template`` is added, where
    ``y = +-1`` is the label and ``template`` a fixed unit vector. A simple version of the
    "dynamic signal distribution" task: local (the signal fills one patch) and translation
    invariant (any patch).

    Args:
        n: number of inputs.
        k, p: number of patches and patch dimension.
        amplitude: signal strength in units of the noise's standard deviation (> 0).
        template: unit vector of length ``p`` (drawn from ``generator`` if ``None``).
        generator: a seeded ``torch.Generator``.

    Returns:
        ``(X, y)``: ``X`` of shape ``(n, k, p)``, ``y`` of shape ``(n,)`` with values +-1.
    """
    n = check_positive_int(n, "n")
    k = check_positive_int(k, "k")
    p = check_positive_int(p, "p")
    amplitude = check_positive(amplitude, "amplitude")
    if template is None:
        template = torch.randn(p, generator=generator)
    template = torch.as_tensor(template, dtype=torch.float32)
    if template.shape != (p,) or template.norm() == 0:
        raise ValueError(f"template must be a non-zero vector of length p={p}, got shape {tuple(template.shape)}")
    template = template / template.norm()
    y = torch.randint(0, 2, (n,), generator=generator).float() * 2 - 1
    X = torch.randn(n, k, p, generator=generator)
    where = torch.randint(0, k, (n,), generator=generator)
    X[torch.arange(n), where] += amplitude * y[:, None] * template
    return X, y


class _PatchCNN(nn.Module):
    def __init__(self, k: int, p: int, channels: int):
        super().__init__()
        self.filters, self.readout = nn.Linear(p, channels), nn.Linear(channels, 1)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.readout(F.relu(self.filters(X)).amax(1)).squeeze(-1)


class _PatchLCN(nn.Module):
    def __init__(self, k: int, p: int, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(k, p, channels).uniform_(-1, 1) / math.sqrt(p))
        self.bias = nn.Parameter(torch.empty(k, channels).uniform_(-1, 1) / math.sqrt(p))
        self.readout = nn.Linear(channels, 1)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        h = torch.einsum("nkp,kpc->nkc", X, self.weight) + self.bias
        return self.readout(F.relu(h).amax(1)).squeeze(-1)


def make_patch_net(arch: str, k: int = 16, p: int = 8, channels: int = 8) -> nn.Module:
    """A CNN, a locally connected net (LCN) or a fully connected net (FCN) over ``k`` patches.

    - ``"cnn"``: ``channels`` filters of size ``p`` shared by all patches (locality and weight
      sharing), ReLU, max-pooling over patches, linear read-out.
    - ``"lcn"``: the same, but every patch has its own filters (locality, no sharing).
    - ``"fcn"``: one hidden layer of ``channels * k`` ReLU units connected to all ``k * p``
      inputs, linear read-out (neither).

    Args:
        arch: ``"cnn"``, ``"lcn"`` or ``"fcn"``.
        k, p: number of patches and patch dimension.
        channels: filters per patch (hidden width ``channels * k`` for the FCN).

    Returns:
        A module mapping ``(n, k, p)`` inputs to ``(n,)`` logits.
    """
    k, p, channels = (check_positive_int(v, name) for v, name in ((k, "k"), (p, "p"), (channels, "channels")))
    if arch == "cnn":
        return _PatchCNN(k, p, channels)
    if arch == "lcn":
        return _PatchLCN(k, p, channels)
    if arch == "fcn":
        return nn.Sequential(nn.Flatten(), nn.Linear(k * p, channels * k), nn.ReLU(), nn.Linear(channels * k, 1), nn.Flatten(0))
    raise ValueError(f"arch must be 'cnn', 'lcn' or 'fcn', got {arch!r}")


def locality_sample_complexity(
    n_values: Sequence[int] = (16, 32, 64, 128, 256, 512),
    archs: Sequence[str] = ("cnn", "lcn", "fcn"),
    k: int = 16,
    p: int = 8,
    amplitude: float = 4.0,
    channels: int = 8,
    steps: int = 300,
    lr: float = 1e-2,
    reps: int = 4,
    n_test: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Test accuracy of CNN, LCN and FCN on :func:`patch_signal_data`, over training-set sizes.

    For each size and repetition, a fresh training set and network are drawn; the network is
    trained full batch with Adam on the logistic loss for ``steps`` steps and scored on
    ``n_test`` fresh inputs. The template is fixed per ``seed``.

    Args:
        n_values: training-set sizes (positive).
        archs: architectures, see :func:`make_patch_net`.
        k, p, amplitude: task, see :func:`patch_signal_data`.
        channels: network size, see :func:`make_patch_net`.
        steps, lr: Adam steps and learning rate.
        reps: repetitions per cell (the mean is reported).
        n_test: test inputs.
        seed: seed of everything.

    Returns:
        DataFrame indexed by ``n``, one column of mean test accuracy per architecture.
    """
    ns = [check_positive_int(n, "each entry of n_values") for n in n_values]
    if not ns or not archs:
        raise ValueError("n_values and archs must be non-empty")
    for a in archs:
        make_patch_net(a, 2, 2, 1)  # validates the names early
    steps = check_positive_int(steps, "steps")
    reps = check_positive_int(reps, "reps")
    n_test = check_positive_int(n_test, "n_test")
    template = torch.randn(p, generator=torch.Generator().manual_seed(10_000 + seed))
    out = {}
    for a_i, arch in enumerate(archs):
        col = {}
        for n in ns:
            accs = []
            for r in range(reps):
                g = torch.Generator().manual_seed(seed * 1000 + r)
                X, y = patch_signal_data(n, k, p, amplitude, template, g)
                Xt, yt = patch_signal_data(n_test, k, p, amplitude, template, g)
                torch.manual_seed(seed * 1000 + r)
                model = make_patch_net(arch, k, p, channels)
                opt = torch.optim.Adam(model.parameters(), lr=lr)
                for _ in range(steps):
                    loss = F.softplus(-y * model(X)).mean()
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                with torch.no_grad():
                    accs.append(((model(Xt) > 0).float() * 2 - 1 == yt).float().mean().item())
            col[n] = float(np.mean(accs))
        out[arch] = col
    table = pd.DataFrame(out)
    table.index.name = "n"
    return table


def plot_sample_complexity(table: pd.DataFrame, ax=None):
    """Test accuracy against training-set size (log x-axis), one line per architecture.

    Args:
        table: from :func:`locality_sample_complexity`.
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.
    """
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise ValueError("table must be a non-empty DataFrame from locality_sample_complexity")
    ax = get_axes(ax)
    labels = {"cnn": "CNN (local, shared)", "lcn": "LCN (local, not shared)", "fcn": "FCN (dense)"}
    for col in table.columns:
        ax.plot(table.index, table[col], "o-", label=labels.get(col, col))
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(table.index), [str(n) for n in table.index])
    ax.axhline(0.5, color="0.5", ls=":", lw=0.8)
    ax.set_xlabel("training-set size n")
    ax.set_ylabel("test accuracy")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


def plot_rank_collapse(residuals: dict[str, np.ndarray], ax=None):
    """Rank-collapse residual against layer on a log scale, one line per architecture.

    Args:
        residuals: ``{label: array}`` from :func:`attention_stack_residuals`.
        ax: matplotlib axes (a new figure if ``None``).

    Returns:
        The axes.
    """
    if not residuals:
        raise ValueError("residuals must contain at least one curve")
    ax = get_axes(ax)
    for label, r in residuals.items():
        r = np.asarray(r)
        ax.plot(np.arange(len(r)), np.maximum(r, 1e-17), "o-", label=label)
    ax.set_yscale("log")
    ax.set_xlabel("layer")
    ax.set_ylabel("relative distance to rank 1")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax
