"""Section 2.3, Repairs with group labels (``chapters/02_spurious_correlations/03_repairs_with_group_labels.md``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..core import resolve_device
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
    _fit_kwargs,
    _group_data,
    evaluate,
    features,
    fit_classifier,
    make_classifier,
)

__all__ = [
    "waterbirds_like",
    "reweight",
    "group_dro_update",
    "group_dro",
    "last_layer_retrain",
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


def reweight(ds: SpuriousDataset, device: torch.device | str | None = None, **kwargs) -> tuple[nn.Module, dict[str, float]]:
    """Group reweighting: each training point weighs ``1 / (size of its group)``, so every
    group contributes equally to the loss (needs group labels on the training set).

    Args:
        ds: the dataset.
        device: where to train (``None``: the GPU when present, else the CPU).
        **kwargs: training settings of :func:`fit_classifier`.

    Returns:
        ``(model, metrics)``.
    """
    ds = _check_dataset(ds)
    counts = torch.bincount(ds.train.g, minlength=ds.n_groups).float()
    w = 1.0 / counts[ds.train.g]
    model = fit_classifier(ds.train.X, ds.train.y, weights=w, **_fit_kwargs({**kwargs, "device": device}))
    return model, evaluate(model, ds)


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
    model.train()
    # a loop of its own: GroupDRO's weight update on the group losses of each step is the method
    for _ in range(kw["steps"]):
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
    model.eval()
    metrics = evaluate(model, ds)
    metrics["q"] = q.detach().cpu().numpy()
    if return_history:
        metrics["q_history"] = np.array(history)
    return model, metrics


def _l1_logistic(C: float):
    """An L1-penalized logistic regression (liblinear), across scikit-learn versions."""
    import sklearn
    from sklearn.linear_model import LogisticRegression

    major, minor = (int(v) for v in sklearn.__version__.split(".")[:2])
    if (major, minor) >= (1, 8):
        return LogisticRegression(C=C, l1_ratio=1.0, solver="liblinear", max_iter=3000)
    return LogisticRegression(C=C, penalty="l1", solver="liblinear", max_iter=3000)


def _dfr_fit(Z: np.ndarray, y: np.ndarray, g: np.ndarray, n_groups: int, C: float, n_subsets: int,
             seed: int) -> tuple[np.ndarray, float]:
    """Average the weights of L1 logistic regressions fitted on random group-balanced subsets."""
    counts = np.bincount(g, minlength=n_groups)
    if counts.min() == 0:
        raise ValueError(f"every group needs held-out points; got group counts {counts.tolist()}")
    rng = np.random.default_rng(seed)
    coefs, intercepts = [], []
    for _ in range(n_subsets):
        idx = np.concatenate([rng.choice(np.flatnonzero(g == k), counts.min(), replace=False) for k in range(n_groups)])
        if len(np.unique(y[idx])) < 2:
            raise ValueError("a balanced subset holds a single class; the held-out split is too small")
        clf = _l1_logistic(C).fit(Z[idx], y[idx])
        coefs.append(clf.coef_[0])
        intercepts.append(clf.intercept_[0])
    return np.mean(coefs, 0), float(np.mean(intercepts))


def _linear_worst_group(coef: np.ndarray, b: float, Z: np.ndarray, y: np.ndarray, g: np.ndarray) -> float:
    pred = (Z @ coef + b > 0).astype(np.int64)
    return min(float((pred[g == k] == y[g == k]).mean()) for k in np.unique(g))


def last_layer_retrain(
    ds: SpuriousDataset,
    base_model: nn.Module | None = None,
    n_subsets: int = 10,
    C: float | None = None,
    Cs: Sequence[float] = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0),
    n_splits: int = 5,
    device: torch.device | str | None = None,
    **kwargs,
) -> tuple[nn.Module, dict]:
    """Last-layer retraining (deep feature reweighting): keep an ERM model's features and
    refit only its last layer on group-balanced subsets of a held-out split.

    The recipe of Kirichenko et al.: standardize the held-out features, fit an
    L1-penalized logistic regression (scikit-learn, liblinear) on each of ``n_subsets``
    random subsets in which every group is cut down to the size of the smallest group, and
    average the weights. When ``C`` is ``None`` the regularization strength is chosen from
    ``Cs`` on the held-out split alone: for each of ``n_splits`` random halvings of
    ``ds.val`` (stratified by group), fit on one half and score worst-group accuracy on the
    other, both ways round; the ``C`` with the best mean score is then refitted on the whole
    held-out split. The test splits are never looked at.

    Args:
        ds: the dataset; the balanced subsets are drawn from ``ds.val``.
        base_model: a trained ERM model (trained here with ``**kwargs`` when ``None``).
        n_subsets: number of balanced subsets to average over.
        C: inverse L1 strength; ``None`` to choose it from ``Cs`` as above.
        Cs: candidate values of ``C``.
        n_splits: random halvings of the held-out split used to choose ``C``.
        device: where to train (``None``: the GPU when present, else the CPU).
        **kwargs: training settings of :func:`fit_classifier` for the base model.

    Returns:
        ``(model, metrics)``: a copy of the base model with a new last layer;
        ``metrics["n_balanced"]`` is the size of one balanced subset, ``metrics["C"]`` the
        regularization used, ``metrics["val_scores"]`` the held-out worst-group accuracy of
        each candidate (empty when ``C`` is given) and ``metrics["n_nonzero"]`` the number
        of features the new last layer uses.
    """
    import copy

    ds = _check_dataset(ds)
    n_subsets = check_positive_int(n_subsets, "n_subsets")
    n_splits = check_positive_int(n_splits, "n_splits")
    if C is not None:
        C = check_positive(C, "C")
    Cs = [float(c) for c in Cs]
    if not Cs or min(Cs) <= 0:
        raise ValueError(f"Cs must be a non-empty list of positive numbers, got {Cs}")
    kw = _fit_kwargs({**kwargs, "device": device})
    seed = int(kw.get("seed", 0))
    if base_model is None:
        base_model = fit_classifier(ds.train.X, ds.train.y, **kw)
    Z = features(base_model, ds.val.X).numpy().astype(np.float64)
    mu, sd = Z.mean(0), Z.std(0) + 1e-6
    Zs = (Z - mu) / sd
    g, yv = ds.val.g.numpy(), ds.val.y.numpy()
    counts = np.bincount(g, minlength=ds.n_groups)
    if counts.min() == 0:
        raise ValueError(f"every group needs held-out points; ds.val has group counts {counts.tolist()}")
    scores: dict[float, float] = {}
    if C is None:
        if counts.min() < 2:
            raise ValueError(f"choosing C needs >= 2 held-out points per group; ds.val has {counts.tolist()}")
        rng = np.random.default_rng(seed)
        halves = []
        for _ in range(n_splits):
            half = np.zeros(len(yv), dtype=bool)
            for k in range(ds.n_groups):
                members = rng.permutation(np.flatnonzero(g == k))
                half[members[: len(members) // 2]] = True
            halves += [(half, ~half), (~half, half)]
        for c in Cs:
            accs = []
            for fit_on, score_on in halves:
                coef, b = _dfr_fit(Zs[fit_on], yv[fit_on], g[fit_on], ds.n_groups, c, n_subsets, seed)
                accs.append(_linear_worst_group(coef, b, Zs[score_on], yv[score_on], g[score_on]))
            scores[c] = float(np.mean(accs))
        C = max(Cs, key=lambda c: scores[c])
    coef_s, b_s = _dfr_fit(Zs, yv, g, ds.n_groups, C, n_subsets, seed)
    coef = coef_s / sd  # undo the standardization
    b = float(b_s - (coef_s * mu / sd).sum())
    model = copy.deepcopy(base_model)
    head = model[-1]
    with torch.no_grad():
        c_t = torch.tensor(coef, dtype=head.weight.dtype, device=head.weight.device)
        head.weight.copy_(torch.stack([-c_t / 2, c_t / 2]))
        head.bias.copy_(torch.tensor([-b / 2, b / 2], dtype=head.bias.dtype, device=head.bias.device))
    metrics: dict = evaluate(model, ds)
    metrics["n_balanced"] = int(counts.min() * ds.n_groups)
    metrics["C"] = float(C)
    metrics["val_scores"] = scores
    metrics["n_nonzero"] = int((np.abs(coef_s) > 1e-10).sum())
    return model, metrics
