"""What two or more sections of chapter 5 use: the disentanglement metrics, the small sprite
autoencoder (VAE, beta-VAE and their relatives) and its plots.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from ..core import resolve_device, train
from ..datasets.sprites import Sprites
from ..plotting import get_axes
from ..validation import check_nonnegative, check_positive_int

__all__ = [
    "mutual_info_matrix",
    "factor_entropies",
    "mig_score",
    "dci_scores",
    "modularity_explicitness",
    "disentanglement_report",
    "SpriteAutoencoder",
    "train_autoencoder",
    "encode",
    "active_units",
    "latent_traversal",
    "reconstruction_error",
    "plot_traversal",
    "plot_mi_matrix",
]


def _as_codes(codes: object, name: str = "codes") -> np.ndarray:
    if isinstance(codes, torch.Tensor):
        codes = codes.detach().cpu().numpy()
    if not isinstance(codes, np.ndarray):
        raise TypeError(f"{name} must be a numpy array or torch tensor, got {type(codes).__name__}")
    if codes.ndim != 2 or codes.shape[0] < 2 or codes.shape[1] < 1:
        raise ValueError(f"{name} must have shape (n, d) with n >= 2 and d >= 1, got {codes.shape}")
    if not np.all(np.isfinite(codes)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return codes.astype(np.float64)


def _as_factors(factors: object, n: int) -> np.ndarray:
    if isinstance(factors, torch.Tensor):
        factors = factors.detach().cpu().numpy()
    if not isinstance(factors, np.ndarray):
        raise TypeError(f"factors must be a numpy array or torch tensor, got {type(factors).__name__}")
    if factors.ndim == 1:
        factors = factors[:, None]
    if factors.ndim != 2:
        raise ValueError(f"factors must have shape (n, k), got {factors.shape}")
    if len(factors) != n:
        raise ValueError(f"factors must have one row per code: got {len(factors)} rows for {n} codes")
    if not np.issubdtype(factors.dtype, np.integer):
        raise TypeError("factors must hold integer value indices (discretize continuous factors first)")
    return factors


def _discretize(codes: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width bins per latent dimension (a constant dimension gets a single bin)."""
    out = np.zeros(codes.shape, dtype=np.int64)
    for j in range(codes.shape[1]):
        c = codes[:, j]
        lo, hi = c.min(), c.max()
        if hi - lo < 1e-12:
            continue
        edges = np.linspace(lo, hi, n_bins + 1)[1:-1]
        out[:, j] = np.digitize(c, edges)
    return out


def mutual_info_matrix(codes: np.ndarray | torch.Tensor, factors: np.ndarray, n_bins: int = 20) -> np.ndarray:
    """Mutual information (nats) between every latent dimension and every factor.

    The estimator of disentanglement_lib: each latent dimension is cut into ``n_bins``
    equal-width bins over its range, and the plug-in mutual information of the two discrete
    variables is computed (scikit-learn's ``mutual_info_score``). Equal-width rather than
    quantile bins keep the numbers comparable with published ones; they also make the score
    depend on how a coordinate encodes its factor, not only on its order (a cubed coordinate
    loses a little). The plug-in estimate is biased upwards, by about (bins - 1)(values - 1)
    / 2N nats for independent variables (Section 5.1 measures it with a permutation null).

    Args:
        codes: latent codes ``(n, d)``.
        factors: integer factor indices ``(n, k)`` (one row per code).
        n_bins: bins per latent dimension.

    Returns:
        Array ``(d, k)``.
    """
    from sklearn.metrics import mutual_info_score

    codes = _as_codes(codes)
    factors = _as_factors(factors, len(codes))
    n_bins = check_positive_int(n_bins, "n_bins", 2)
    binned = _discretize(codes, n_bins)
    # scikit-learn's estimator on contingency tables counted once per pair (passing the table
    # skips the label checks, which cost more than the estimate itself)
    fac = [np.unique(factors[:, j], return_inverse=True)[1] for j in range(factors.shape[1])]
    mi = np.zeros((codes.shape[1], factors.shape[1]))
    for i in range(codes.shape[1]):
        for j, f in enumerate(fac):
            table = np.zeros((f.max() + 1, n_bins), dtype=np.int64)
            np.add.at(table, (f, binned[:, i]), 1)
            mi[i, j] = mutual_info_score(None, None, contingency=table[:, table.sum(0) > 0])
    return mi


def factor_entropies(factors: np.ndarray) -> np.ndarray:
    """Entropy (nats) of each discrete factor, as scikit-learn's ``mutual_info_score(f, f)``."""
    from sklearn.metrics import mutual_info_score

    factors = _as_factors(factors, len(factors))
    return np.array([mutual_info_score(factors[:, j], factors[:, j]) for j in range(factors.shape[1])])


def mig_score(codes: np.ndarray | torch.Tensor, factors: np.ndarray, n_bins: int = 20) -> float:
    """Mutual information gap: for each factor, the gap between the two latent dimensions
    most informative about it, divided by the factor's entropy, averaged over factors.

    A code in which each factor is captured by one dimension scores near 1; a code that spreads
    every factor over several dimensions (or ignores it) scores near 0. Factors with a single
    value (zero entropy) are skipped. This is disentanglement_lib's estimator (binned posterior
    means, :func:`mutual_info_matrix`), not the Monte Carlo estimator over the full posterior
    of Chen et al. that introduced the score.

    Args:
        codes: latent codes ``(n, d)`` with ``d >= 2``.
        factors: integer factor indices ``(n, k)``.
        n_bins: bins per latent dimension.

    Returns:
        MIG in [0, 1].
    """
    codes = _as_codes(codes)
    if codes.shape[1] < 2:
        raise ValueError(f"codes must have at least 2 dimensions for a gap, got {codes.shape[1]}")
    mi = mutual_info_matrix(codes, factors, n_bins)
    h = factor_entropies(_as_factors(factors, len(codes)))
    gaps = []
    for j in range(mi.shape[1]):
        if h[j] <= 1e-12:
            continue
        top = np.sort(mi[:, j])[::-1]
        gaps.append((top[0] - top[1]) / h[j])
    if not gaps:
        raise ValueError("every factor is constant: nothing to measure")
    return float(np.mean(gaps))


def _entropy_base(p: np.ndarray, base: int) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum() / math.log(base)) if base > 1 else 0.0


def _codes_and_varying_factors(codes: object, factors: object) -> tuple[np.ndarray, np.ndarray]:
    """Validate codes and factors and drop the factors that never vary (shared by the metrics)."""
    codes = _as_codes(codes)
    factors = _as_factors(factors, len(codes))
    keep = [j for j in range(factors.shape[1]) if len(np.unique(factors[:, j])) > 1]
    if not keep:
        raise ValueError("every factor is constant: nothing to measure")
    return codes, factors[:, keep]


def dci_scores(codes: np.ndarray | torch.Tensor, factors: np.ndarray, test_frac: float = 0.3, seed: int = 0,
               n_estimators: int = 30, max_depth: int = 6) -> dict[str, float]:
    """DCI: disentanglement, completeness and informativeness from a random-forest
    importance matrix (Eastwood & Williams).

    One random forest per factor predicts the factor from the code; ``R[i, j]`` is latent
    ``i``'s impurity-based importance for factor ``j``, computed on the training split.
    *Disentanglement* is 1 minus the entropy of each row (base ``k``), weighted by the row's
    share of total importance; *completeness* is 1 minus the entropy of each column (base
    ``d``); *informativeness* is the forests' mean classification accuracy on the held-out
    split (an accuracy, not the prediction error of the original paper).

    Args:
        codes: latent codes ``(n, d)``.
        factors: integer factor indices ``(n, k)``; constant factors are skipped.
        test_frac: held-out fraction for informativeness.
        seed: seed of the split and the forests.
        n_estimators, max_depth: forest size.

    Returns:
        ``{"disentanglement", "completeness", "informativeness"}``, each in [0, 1].
    """
    from sklearn.ensemble import RandomForestClassifier

    codes, factors = _codes_and_varying_factors(codes, factors)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(codes))
    n_test = max(1, int(round(test_frac * len(codes))))
    te, tr = perm[:n_test], perm[n_test:]
    d, k = codes.shape[1], factors.shape[1]
    R = np.zeros((d, k))
    acc = []
    for j in range(k):
        rf = RandomForestClassifier(n_estimators=n_estimators, max_depth=max_depth, random_state=seed, n_jobs=1,
                                    max_features=None)
        rf.fit(codes[tr], factors[tr, j])
        R[:, j] = rf.feature_importances_
        acc.append(rf.score(codes[te], factors[te, j]))
    R = np.abs(R) + 1e-12
    row_share = R.sum(1) / R.sum()
    dis = np.array([1 - _entropy_base(R[i] / R[i].sum(), k) for i in range(d)]) if k > 1 else np.ones(d)
    comp = np.array([1 - _entropy_base(R[:, j] / R[:, j].sum(), d) for j in range(k)]) if d > 1 else np.ones(k)
    return {
        "disentanglement": float((row_share * dis).sum()),
        "completeness": float(comp.mean()),
        "informativeness": float(np.mean(acc)),
    }


def modularity_explicitness(
    codes: np.ndarray | torch.Tensor, factors: np.ndarray, n_bins: int = 20, seed: int = 0, explicitness: bool = True
) -> dict[str, float]:
    """Information-based modularity, compactness and explicitness (InfoM, InfoC, InfoE),
    in the spirit of the latent-quantization paper's InfoMEC, which refines the modularity
    and explicitness of Ridgeway and Mozer (2018).

    With ``NMI[i, j] = I(z_i; s_j) / H(s_j)``: *modularity* asks whether each active latent
    dimension carries information about one factor only (per dimension: ``max_j NMI / sum_j
    NMI``, rescaled so that a uniform spread gives 0 and a single factor gives 1, averaged over
    active dimensions); *compactness* asks the same of each factor across dimensions;
    *explicitness* asks whether each factor can be read out *linearly* (held-out accuracy of a
    logistic regression on all dimensions, rescaled so that chance is 0 and perfect is 1).
    A dimension is active when its total NMI exceeds 0.05.

    Args:
        codes: latent codes ``(n, d)``.
        factors: integer factor indices ``(n, k)``; constant factors are skipped.
        n_bins: bins per latent dimension for the mutual information.
        seed: seed of the train/test split of the linear read-out.
        explicitness: also fit the linear read-outs (the slow part); without, only
            ``{"modularity", "compactness"}`` are returned.

    Returns:
        ``{"modularity", "compactness", "explicitness"}``, each in [0, 1].
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    codes, factors = _codes_and_varying_factors(codes, factors)
    nmi = mutual_info_matrix(codes, factors, n_bins) / factor_entropies(factors)[None, :]
    d, k = nmi.shape
    active = nmi.sum(1) > 0.05
    if k > 1 and active.any():
        rows = nmi[active]
        mod = (rows.max(1) / rows.sum(1) - 1 / k) / (1 - 1 / k)
        modularity = float(np.clip(mod, 0, 1).mean())
    else:
        modularity = 1.0 if active.any() else 0.0
    if d > 1:
        cols = nmi + 1e-12
        comp = (cols.max(0) / cols.sum(0) - 1 / d) / (1 - 1 / d)
        compactness = float(np.clip(comp, 0, 1).mean())
    else:
        compactness = 1.0
    if not explicitness:
        return {"modularity": modularity, "compactness": compactness}
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(codes))
    n_test = max(1, len(codes) // 3)
    te, tr = perm[:n_test], perm[n_test:]
    X = StandardScaler().fit(codes[tr]).transform(codes)
    expl = []
    for j in range(k):
        y = factors[:, j]
        clf = LogisticRegression(max_iter=300, C=10.0).fit(X[tr], y[tr])
        chance = np.bincount(y[te]).max() / len(te)
        acc = clf.score(X[te], y[te])
        expl.append(max(0.0, (acc - chance) / (1 - chance)) if chance < 1 else 1.0)
    return {"modularity": modularity, "compactness": compactness, "explicitness": float(np.mean(expl))}


def disentanglement_report(
    codes: np.ndarray | torch.Tensor, factors: np.ndarray, seed: int = 0, dci: bool = True
) -> dict[str, float]:
    """MIG, modularity/compactness/explicitness and (optionally) DCI in one dictionary."""
    out = {"MIG": mig_score(codes, factors)}
    out.update(modularity_explicitness(codes, factors, seed=seed))
    if dci:
        out.update({f"DCI {k}": v for k, v in dci_scores(codes, factors, seed=seed).items()})
    return out


class SpriteAutoencoder(nn.Module):
    """An MLP autoencoder for small images: plain (``"ae"``), variational (``"vae"``) or with
    quantized latents (``"qlae"``: a learnable scalar codebook per latent dimension).

    ``forward`` returns the decoder's logits and stores the extra loss terms (the KL
    divergence of the VAE, the quantization and commitment losses of the QLAE) in
    ``self.aux``, which :func:`train_autoencoder`'s loss adds.

    Args:
        in_dim: pixels per image.
        latent_dim: latent dimensions.
        kind: ``"ae"``, ``"vae"`` or ``"qlae"``.
        hidden: hidden units per layer (two hidden layers on each side).
        beta: weight of the KL term (``"vae"`` only).
        n_values: codebook values per dimension (``"qlae"`` only); for vector codebooks
            see :class:`VQAutoencoder`.
        commitment: weight of the QLAE's commitment loss, which pulls the encoder's outputs
            towards their codebook values (the quantization loss, which moves the codebook,
            has weight 1). Both are squared distances summed over latent dimensions, on the
            same per-image scale as the summed pixel loss.
    """

    def __init__(self, in_dim: int = 256, latent_dim: int = 10, kind: str = "vae", hidden: int = 128,
                 beta: float = 1.0, n_values: int = 10, commitment: float = 0.5) -> None:
        super().__init__()
        if kind not in ("ae", "vae", "qlae"):
            raise ValueError(f"kind must be 'ae', 'vae' or 'qlae', got {kind!r}")
        self.in_dim = check_positive_int(in_dim, "in_dim")
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        hidden = check_positive_int(hidden, "hidden")
        self.kind = kind
        self.beta = check_nonnegative(beta, "beta")
        self.commitment = check_nonnegative(commitment, "commitment")
        out = 2 * latent_dim if kind == "vae" else latent_dim
        self.encoder = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                     nn.Linear(hidden, out))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                     nn.Linear(hidden, in_dim))
        if kind == "qlae":
            n_values = check_positive_int(n_values, "n_values", 2)
            self.codebook = nn.Parameter(torch.linspace(-1, 1, n_values).repeat(latent_dim, 1))
        self.aux = torch.zeros(())
        self.last_mu: torch.Tensor | None = None
        self.sample = True

    def _check_input(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch tensor, got {type(x).__name__}")
        x = x.reshape(len(x), -1)
        if x.shape[1] != self.in_dim:
            raise ValueError(f"x must have {self.in_dim} pixels per image, got {x.shape[1]}")
        return x

    def encode_params(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Posterior mean and log-variance (``None`` for deterministic encoders)."""
        h = self.encoder(self._check_input(x))
        if self.kind == "vae":
            mu, logvar = h.chunk(2, dim=1)
            return mu, logvar.clamp(-12, 6)
        return h, None

    def quantize(self, z: torch.Tensor) -> torch.Tensor:
        """Snap each dimension to the nearest value of its own codebook (QLAE only)."""
        dist = (z.unsqueeze(-1) - self.codebook.unsqueeze(0)).abs()  # (n, d, v)
        idx = dist.argmin(-1)
        return torch.gather(self.codebook.expand(len(z), -1, -1), 2, idx.unsqueeze(-1)).squeeze(-1)

    def latent(self, x: torch.Tensor) -> torch.Tensor:
        """The latent the decoder sees at test time: mean (VAE), code (AE), quantized (QLAE)."""
        mu, _ = self.encode_params(x)
        return self.quantize(mu) if self.kind == "qlae" else mu

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder logits ``(n, in_dim)`` for latents ``(n, latent_dim)``."""
        if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must be a tensor of shape (n, {self.latent_dim}), got "
                             f"{tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__}")
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu, logvar = self.encode_params(x)
        self.last_mu = mu
        if self.kind == "vae":
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if self.sample else mu
            kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()
            self.aux = self.beta * kl
        elif self.kind == "qlae":
            zq = self.quantize(mu)
            quantization = (zq - mu.detach()).pow(2).sum(1).mean()  # moves the codebook
            commit = (mu - zq.detach()).pow(2).sum(1).mean()  # moves the encoder
            self.aux = quantization + self.commitment * commit
            z = mu + (zq - mu).detach()  # straight-through
        else:
            z = mu
            self.aux = torch.zeros((), device=mu.device)
        return self.decoder(z)


def train_autoencoder(data: Sprites | torch.Tensor, kind: str = "vae", latent_dim: int = 10, beta: float = 4.0,
                      steps: int = 3000, batch_size: int = 128, lr: float = 1e-3, weight_decay: float = 0.0,
                      hidden: int = 128, n_values: int = 10, commitment: float = 0.5,
                      attribute: np.ndarray | None = None, attribute_weight: float = 10.0, seed: int = 0,
                      device: torch.device | str | None = None) -> tuple[SpriteAutoencoder, pd.DataFrame]:
    """Train one :class:`SpriteAutoencoder` with a pixel-wise Bernoulli likelihood.

    The loss per image is the summed binary cross-entropy plus the model's extra terms
    (``beta`` times the KL divergence for a VAE, quantization losses for a QLAE). With
    ``attribute`` given, latent dimension 0 is also regularized to order the images as the
    attribute does (the attribute-regularization loss of AR-VAE: ``tanh`` of pairwise latent
    differences matched to the signs of pairwise attribute differences, within each batch).

    Args:
        data: a :class:`Sprites` or a tensor of images ``(n, ...)`` with values in [0, 1].
        kind: ``"ae"``, ``"vae"`` or ``"qlae"``.
        latent_dim, hidden, beta, n_values, commitment: model settings (see
            :class:`SpriteAutoencoder`).
        steps, batch_size, lr, weight_decay: AdamW settings. Weight decay applies to the
            encoder and decoder only: a QLAE's codebook is exempt (as in the latent-quantization
            paper), so that decay does not pull its values towards zero.
        attribute: optional array ``(n,)`` of one attribute per image.
        attribute_weight: weight of the attribute-regularization loss.
        seed: seed of the initialization, the batches and the VAE's noise.
        device: where to train (``None``: the GPU when present, else the CPU); the model
            stays there.

    Returns:
        ``(model, history)``; the model is in eval mode, history has ``step`` and ``loss``.
    """
    X = data.flat if isinstance(data, Sprites) else data
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"data must be Sprites or a tensor, got {type(data).__name__}")
    X = X.reshape(len(X), -1).float()
    device = resolve_device(device)
    torch.manual_seed(seed)
    model = SpriteAutoencoder(X.shape[1], latent_dim, kind, hidden, beta, n_values, commitment).to(device)
    Y = X
    if attribute is not None:
        a = np.asarray(attribute, dtype=np.float32).reshape(-1)
        if len(a) != len(X):
            raise ValueError(f"attribute must have one value per image: got {len(a)} for {len(X)} images")
        Y = torch.cat([X, torch.from_numpy(a).unsqueeze(1)], dim=1)
    n_pix = X.shape[1]
    w_attr = check_nonnegative(attribute_weight, "attribute_weight")

    def loss_fn(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        rec = F.binary_cross_entropy_with_logits(logits, y[:, :n_pix], reduction="sum") / len(y)
        loss = rec + model.aux
        if attribute is not None:
            loss = loss + w_attr * _attribute_loss(model.last_mu[:, 0], y[:, n_pix])
        return loss

    hist = train(model, X, Y, loss_fn, steps=steps, lr=lr, optimizer="adamw", weight_decay=weight_decay,
                 batch_size=batch_size, eval_every=max(1, steps // 20), seed=seed,
                 no_decay=["codebook"] if kind == "qlae" else None, device=device)
    model.eval()
    model.aux, model.last_mu = torch.zeros(()), None
    return model, hist


def _attribute_loss(z: torch.Tensor, a: torch.Tensor, delta: float = 1.0) -> torch.Tensor:
    """AR-VAE's attribute regularization: tanh of latent differences vs sign of attribute
    differences, mean absolute error over all pairs in the batch."""
    dz = z[:, None] - z[None, :]
    da = a[:, None] - a[None, :]
    return (torch.tanh(delta * dz) - torch.sign(da)).abs().mean()


@torch.no_grad()
def encode(model: SpriteAutoencoder, data: Sprites | torch.Tensor, sampled: bool = False,
           seed: int = 0) -> np.ndarray:
    """Latent codes of every image: the mean (default) or a posterior sample (VAE only).

    Args:
        model: a trained :class:`SpriteAutoencoder`.
        data: :class:`Sprites` or image tensor.
        sampled: draw ``z = mu + sigma * eps`` instead of returning ``mu``.
        seed: seed of ``eps``.

    Returns:
        Array ``(n, latent_dim)``.
    """
    X = data.flat if isinstance(data, Sprites) else data
    dev = next(model.parameters()).device
    X = X.reshape(len(X), -1).float().to(dev)
    mu, logvar = model.encode_params(X)
    if sampled:
        if logvar is None:
            raise ValueError("sampled=True needs a VAE (kind='vae')")
        g = torch.Generator(device=dev).manual_seed(int(seed))
        eps = torch.randn(mu.shape, generator=g, device=dev)
        return (mu + torch.exp(0.5 * logvar) * eps).cpu().numpy()
    if model.kind == "qlae":
        mu = model.quantize(mu)
    return mu.cpu().numpy()


@torch.no_grad()
def active_units(model: SpriteAutoencoder, data: Sprites | torch.Tensor, threshold: float = 0.01) -> np.ndarray:
    """Which latent dimensions are *active*: the variance of their posterior mean across
    the data exceeds ``threshold`` (Burda et al.'s criterion).

    Returns:
        Boolean array ``(latent_dim,)``.
    """
    mu = encode(model, data)
    return mu.var(0) > check_nonnegative(threshold, "threshold")


@torch.no_grad()
def latent_traversal(model: SpriteAutoencoder, image: torch.Tensor, dims: Sequence[int] | None = None,
                     values: Sequence[float] = tuple(np.linspace(-2.5, 2.5, 7))) -> torch.Tensor:
    """Decode an image's code with one latent dimension at a time set to each of ``values``.

    Args:
        model: a trained :class:`SpriteAutoencoder`.
        image: one image (any shape with ``in_dim`` pixels).
        dims: dimensions to traverse (default all).
        values: values to set.

    Returns:
        Tensor ``(len(dims), len(values), side, side)`` of pixel intensities.
    """
    dev = next(model.parameters()).device
    x = image.reshape(1, -1).float().to(dev)
    z0 = model.latent(x)
    dims = list(range(model.latent_dim)) if dims is None else list(dims)
    for i in dims:
        if not 0 <= int(i) < model.latent_dim:
            raise ValueError(f"dims must be in [0, {model.latent_dim}), got {i}")
    vals = torch.tensor(list(values), dtype=torch.float32, device=dev)
    Z = z0.repeat(len(dims) * len(vals), 1)
    for a, i in enumerate(dims):
        Z[a * len(vals):(a + 1) * len(vals), i] = vals
    side = int(round(math.sqrt(model.in_dim)))
    return torch.sigmoid(model.decode(Z)).reshape(len(dims), len(vals), side, side).cpu()


def reconstruction_error(model: SpriteAutoencoder, data: Sprites | torch.Tensor, metric: str = "bce") -> float:
    """Reconstruction error per image when decoding the test-time latent (the quantized code
    of a QLAE, the posterior mean of a VAE).

    Args:
        model: a trained :class:`SpriteAutoencoder`.
        data: sprites or images.
        metric: ``"bce"``, the summed binary cross-entropy of the pixels (the training
            loss, in nats), or ``"mse"``, the summed squared error of the pixel
            intensities (comparable across models with different likelihoods).

    Returns:
        Mean over images of the per-image sum.
    """
    if metric not in ("bce", "mse"):
        raise ValueError(f"metric must be 'bce' or 'mse', got {metric!r}")
    X = data.flat if isinstance(data, Sprites) else data
    dev = next(model.parameters()).device
    with torch.no_grad():
        X = model._check_input(X.float().to(dev))
        logits = model.decode(model.latent(X))
        if metric == "mse":
            return float(((torch.sigmoid(logits) - X) ** 2).sum(1).mean())
        return float(F.binary_cross_entropy_with_logits(logits, X, reduction="sum") / len(X))


def plot_traversal(grid: torch.Tensor, row_labels: Sequence[str] | None = None, ax=None):
    """Show a traversal grid from :func:`latent_traversal` as one image (rows = dimensions)."""
    if grid.ndim != 4:
        raise ValueError(f"grid must have shape (rows, cols, h, w), got {tuple(grid.shape)}")
    r, c, h, w = grid.shape
    pad = 1
    canvas = np.zeros((r * (h + pad) - pad, c * (w + pad) - pad))
    for i in range(r):
        for j in range(c):
            canvas[i * (h + pad):i * (h + pad) + h, j * (w + pad):j * (w + pad) + w] = grid[i, j].numpy()
    ax = get_axes(ax, figsize=(0.6 * c + 1, 0.6 * r + 0.5))
    ax.imshow(canvas, cmap="gray_r", vmin=0, vmax=1)
    ax.set_xticks([j * (w + pad) + w / 2 for j in range(c)])
    ax.set_xticklabels([])
    ax.set_yticks([i * (h + pad) + h / 2 for i in range(r)])
    ax.set_yticklabels(row_labels if row_labels is not None else [f"z{i}" for i in range(r)])
    ax.grid(False)
    return ax


def plot_mi_matrix(mi: np.ndarray, factor_names: Sequence[str], ax=None, title: str | None = None):
    """Heat map of a normalized mutual-information matrix (latents x factors)."""
    import matplotlib.pyplot as plt

    ax = get_axes(ax, figsize=(4, 4))
    im = ax.imshow(mi, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(factor_names)))
    ax.set_xticklabels(factor_names, rotation=45)
    ax.set_yticks(range(mi.shape[0]))
    ax.set_yticklabels([f"z{i}" for i in range(mi.shape[0])])
    ax.set_xlabel("factor")
    ax.set_ylabel("latent dimension")
    ax.grid(False)
    if title:
        ax.set_title(title)
    plt.colorbar(im, ax=ax, fraction=0.046, label="I(z; s) / H(s)")
    return ax
