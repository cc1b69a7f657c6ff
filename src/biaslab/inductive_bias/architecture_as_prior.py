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

from ..claims import Claim, Control, at_least
from ..core import resolve_device, train
from ..plotting import get_axes
from ..validation import check_fraction, check_positive, check_positive_int

__all__ = [
    "rank_collapse_residual",
    "attention_stack_residuals",
    "patch_signal_data",
    "make_patch_net",
    "locality_sample_complexity",
    "samples_to_accuracy",
    "sample_advantage",
    "depth_to_collapse",
    "collapse_exponent",
    "LOCALITY_N",
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
    signal: str = "local",
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
        template: unit vector of length ``p`` (``k * p`` for a global signal; drawn from
            ``generator`` if ``None``).
        generator: a seeded ``torch.Generator``.
        signal: ``"local"`` (the task above) or ``"global"``, the control: a fixed template
            of length ``k * p`` spread over every patch, always in the same place, with the
            same total strength; nothing local or translation invariant to exploit.

    Returns:
        ``(X, y)``: ``X`` of shape ``(n, k, p)``, ``y`` of shape ``(n,)`` with values +-1.
    """
    n = check_positive_int(n, "n")
    k = check_positive_int(k, "k")
    p = check_positive_int(p, "p")
    amplitude = check_positive(amplitude, "amplitude")
    if signal not in ("local", "global"):
        raise ValueError(f"signal must be 'local' or 'global', got {signal!r}")
    size = p if signal == "local" else k * p
    if template is None:
        template = torch.randn(size, generator=generator)
    template = torch.as_tensor(template, dtype=torch.float32)
    if template.shape != (size,) or template.norm() == 0:
        raise ValueError(f"template must be a non-zero vector of length {size}, got shape {tuple(template.shape)}")
    template = template / template.norm()
    y = torch.randint(0, 2, (n,), generator=generator).float() * 2 - 1
    X = torch.randn(n, k, p, generator=generator)
    if signal == "global":
        return X + amplitude * y[:, None, None] * template.view(k, p), y
    where = torch.randint(0, k, (n,), generator=generator)
    X[torch.arange(n), where] += amplitude * y[:, None] * template
    return X, y


class _PatchCNN(nn.Module):
    def __init__(self, k: int, p: int, channels: int):
        super().__init__()
        self.filters, self.readout = nn.Linear(p, channels), nn.Linear(channels, 1)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.readout(F.relu(self.filters(X)).amax(1)).squeeze(-1)


class _PatchFCN(nn.Module):
    """Fully connected: ``k`` groups of ``channels`` units, each unit sees every input; max over
    the groups, as the CNN and LCN pool over patches."""

    def __init__(self, k: int, p: int, channels: int):
        super().__init__()
        self.k, self.c = k, channels
        self.hidden, self.readout = nn.Linear(k * p, k * channels), nn.Linear(channels, 1)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.hidden(X.flatten(1))).view(len(X), self.k, self.c)
        return self.readout(h.amax(1)).squeeze(-1)


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
    - ``"fcn"``: ``k`` groups of ``channels`` ReLU units, each connected to all ``k * p``
      inputs, the same max-pooling over the groups, linear read-out (neither locality nor
      sharing, the same pooling).

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
        return _PatchFCN(k, p, channels)
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
    signal: str = "local",
    seed: int = 0,
    device: torch.device | str | None = None,
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
        signal: ``"local"`` or ``"global"`` (see :func:`patch_signal_data`).
        seed: seed of everything.
        device: where to train (``None``: the GPU when present).

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
    device = resolve_device(device)
    template = torch.randn(p if signal == "local" else k * p, generator=torch.Generator().manual_seed(10_000 + seed))
    out = {}
    for arch in archs:
        col = {}
        for n in ns:
            accs = []
            for r in range(reps):
                g = torch.Generator().manual_seed(seed * 1000 + r)
                X, y = patch_signal_data(n, k, p, amplitude, template, g, signal)
                Xt, yt = patch_signal_data(n_test, k, p, amplitude, template, g, signal)
                torch.manual_seed(seed * 1000 + r)
                model = make_patch_net(arch, k, p, channels).to(device)
                train(model, X, y, lambda out, t: F.softplus(-t * out).mean(), steps=steps, lr=lr,
                      eval_every=steps, device=device)
                with torch.no_grad():
                    accs.append(((model(Xt.to(device)).cpu() > 0).float() * 2 - 1 == yt).float().mean().item())
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


def samples_to_accuracy(table: pd.DataFrame, arch: str, level: float = 0.75) -> float:
    """The training-set size at which an architecture first reaches ``level`` test accuracy,
    interpolated on a log scale between the sizes of a :func:`locality_sample_complexity` table.

    Args:
        table: accuracy by ``n`` (index) and architecture (columns).
        arch: the column.
        level: the accuracy to reach.

    Returns:
        The size; the smallest size when it is reached there already, ``inf`` if never.
    """
    if arch not in table:
        raise ValueError(f"table has no column {arch!r}; columns: {list(table.columns)}")
    level = check_fraction(level, "level")
    acc = table[arch].sort_index()
    ns = acc.index.to_numpy(dtype=float)
    if acc.iloc[0] >= level:
        return float(ns[0])
    for i in range(1, len(acc)):
        a0, a1 = acc.iloc[i - 1], acc.iloc[i]
        if a1 >= level:
            frac = (level - a0) / (a1 - a0)
            return float(np.exp(np.log(ns[i - 1]) + frac * (np.log(ns[i]) - np.log(ns[i - 1]))))
    return math.inf


def sample_advantage(table: pd.DataFrame, level: float = 0.75) -> float:
    """How many times more examples the FCN needs than the CNN to reach ``level`` accuracy
    (``inf`` when only the CNN reaches it, 0 when only the FCN does)."""
    cnn, fcn = samples_to_accuracy(table, "cnn", level), samples_to_accuracy(table, "fcn", level)
    if math.isinf(cnn):
        return 0.0
    return fcn / cnn


def depth_to_collapse(residuals: np.ndarray, level: float = 0.01) -> float:
    """The first layer at which the rank-collapse residual is below ``level`` (``inf`` if never)."""
    below = np.flatnonzero(np.asarray(residuals) < level)
    return float(below[0]) if len(below) else math.inf


def collapse_exponent(residuals: np.ndarray, low: float = 1e-12, high: float = 0.5) -> float:
    """The median of ``log r_{l+1} / log r_l`` over consecutive layers whose residuals both lie
    in ``[low, high]`` (away from 1 and from the floor of double precision).

    A doubly exponential decay ``r_l ~ c^(3^l)`` gives 3; an exponential decay ``r_l ~ c^l``
    gives ``(l + 1) / l``, at most 2 and near 1 deep in the stack.

    Returns:
        The median ratio (NaN when no two consecutive layers qualify).
    """
    r = np.asarray(residuals, dtype=float)
    ok = (r >= low) & (r <= high)
    ratios = [np.log(r[i + 1]) / np.log(r[i]) for i in range(len(r) - 1) if ok[i] and ok[i + 1]]
    return float(np.median(ratios)) if ratios else math.nan


# --------------------------------------------------------------------------------------
# the section's runner and claims
# --------------------------------------------------------------------------------------
LOCALITY_N = (16, 32, 64, 128, 256)


def run(seed: int = 0, device: torch.device | str | None = None) -> dict[str, object]:
    """Everything section 1.2 shows and checks, for one seed.

    Returns:
        ``residuals``: ``{variant: attention_stack_residuals(...)}`` to depth 36 for pure
        attention, attention with skips, and with skips and MLP blocks (25 stacks each);
        ``locality``: CNN, LCN and FCN accuracy by training-set size on the local patch task;
        ``locality_global``: CNN and FCN on the global-template control.
    """
    variants = {"pure attention": (False, False), "attention + skip": (True, False),
                "attention + skip + MLP": (True, True)}
    return {
        "residuals": {name: attention_stack_residuals(36, skip=s, mlp=m, n_stacks=25, seed=seed)
                      for name, (s, m) in variants.items()},
        "locality": locality_sample_complexity(LOCALITY_N, reps=3, seed=seed, device=device),
        "locality_global": locality_sample_complexity((16, 64, 256), ("cnn", "fcn"), reps=2, signal="global",
                                                      seed=seed, device=device),
    }


def _delay(r: dict[str, np.ndarray]) -> float:
    """How many times deeper the skip stack collapses (residual < 0.01) than pure attention."""
    return depth_to_collapse(r["variant"]) / depth_to_collapse(r["pure attention"]) if np.isfinite(
        depth_to_collapse(r["variant"])) else math.nan


CLAIMS = (
    Claim(
        key="inductive_bias.architecture_as_prior.doubly_exponential",
        statement="In a stack of pure self-attention layers each layer raises the rank-collapse residual "
                  "to a power of at least 2.5 (log r_{l+1} / log r_l >= 2.5): a doubly exponential decay.",
        cite=("attention_you_need",),
        paper_result="without skip connections and MLPs the output converges to a rank-1 matrix "
                     "doubly exponentially in depth, at a cubic rate",
        paper_where="Sec. 2, the main theorem on pure self-attention networks",
        run=run,
        measure=collapse_exponent,
        world=lambda r: r["residuals"]["pure attention"],
        predicate=at_least(2.5),
        controls=(Control("attention with skips", "the same measurement on the stack with skip connections, "
                          "whose residual decays slowly", lambda r: r["residuals"]["attention + skip"]),),
        note="median over layers whose residuals lie in [1e-12, 0.5]; median of 25 random stacks",
    ),
    Claim(
        key="inductive_bias.architecture_as_prior.skips_delay_collapse",
        statement="Skip connections delay rank collapse but do not prevent it: with skips the residual "
                  "first drops below 0.01 at least 4x deeper than without, and within 36 layers.",
        cite=("attention_you_need",),
        paper_result="skip connections (and MLPs) stop the degeneration; with skips cut, trained "
                     "BERT, ALBERT and XLNet models collapse",
        paper_where="Sec. 3 (skips and MLPs) and Sec. 4 (experiments)",
        run=run,
        measure=_delay,
        world=lambda r: {**r["residuals"], "variant": r["residuals"]["attention + skip"]},
        predicate=at_least(4.0),
        controls=(Control("pure attention", "the same measurement on the stack without skips",
                          lambda r: {**r["residuals"], "variant": r["residuals"]["pure attention"]}),),
    ),
    Claim(
        key="inductive_bias.architecture_as_prior.locality_sample_efficiency",
        statement="To reach 75% test accuracy on the patch task, the fully connected net needs at least "
                  "8x the training examples of the CNN (same units, same max-pooling).",
        cite=("role_locality_weight",),
        paper_result="on the dynamic signal distribution a CNN needs on the order of k + d samples, a "
                     "locally connected net about k d and a fully connected net about k^2 d",
        paper_where="main theorems: the CNN upper bound and the LCN and FCN lower bounds",
        run=run,
        measure=sample_advantage,
        world=lambda r: r["locality"],
        predicate=at_least(8.0),
        controls=(Control("global template", "the same comparison when the signal is one fixed template "
                          "spread over all patches: nothing local or translation invariant to exploit",
                          lambda r: r["locality_global"]),),
        note="sizes 16-256, 3 training sets each; inf: the FCN does not reach 75% by n = 256",
    ),
)
