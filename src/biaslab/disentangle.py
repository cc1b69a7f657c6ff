"""Disentanglement: procedural sprites, disentanglement metrics, small autoencoders.

Data makers, models, training runs, metrics and plots for chapter 5. Each function names the
section that teaches it. The sprites reproduce the structure of dSprites (every combination
of a few known factors, rendered in code) at 16x16 so that every demo trains in seconds.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from .core import train
from .plotting import get_axes
from .validation import check_nonnegative, check_positive_int

__all__ = [
    "Sprites",
    "make_sprites",
    "mutual_info_matrix",
    "factor_entropies",
    "mig_score",
    "dci_scores",
    "modularity_explicitness",
    "disentanglement_report",
    "random_rotation",
    "reference_codes",
    "rotation_experiment",
    "SpriteAutoencoder",
    "train_autoencoder",
    "encode",
    "VQAutoencoder",
    "train_vq_autoencoder",
    "codebook_usage",
    "elbo",
    "rotate_latent_space",
    "active_units",
    "passive_correlations",
    "vae_diagnostics",
    "attribute_monotonicity",
    "name_dimensions",
    "latent_traversal",
    "sefa_directions",
    "direction_factor_correlations",
    "HouseholderProjector",
    "householder_finetune",
    "reconstruction_error",
    "SparseFeatureData",
    "sparse_feature_data",
    "SparseAutoencoder",
    "train_sae",
    "feature_recovery",
    "circular_structure",
    "ANALOGY_PAIRS",
    "analogy_words",
    "analogy_offsets",
    "parallelogram_quality",
    "ParallelogramResult",
    "lda_parallelograms",
    "plot_parallelograms",
    "plot_traversal",
    "plot_sprites",
    "plot_mi_matrix",
    "position_map",
    "plot_position_map",
]

SHAPES = ("square", "ellipse", "triangle")
FACTOR_NAMES = ("shape", "scale", "rotation", "x", "y")


# ======================================================================================
# Procedural sprites
# ======================================================================================
@dataclass
class Sprites:
    """Every combination of the generative factors, rendered as a small grayscale image.

    Fields: ``images``, a float tensor ``(n, 1, size, size)`` with values in [0, 1];
    ``factors``, an integer array ``(n, 5)`` with the index of each factor's value;
    ``values``, a float array ``(n, 5)`` with the factor values themselves (shape index,
    relative scale, rotation in degrees, x and y in pixels); ``factor_names``
    (``("shape", "scale", "rotation", "x", "y")``) and ``factor_sizes`` (number of values of
    each factor).

    See: chapters/05_disentanglement/01_identifiability.
    """

    images: torch.Tensor
    factors: np.ndarray
    values: np.ndarray
    factor_names: tuple[str, ...] = FACTOR_NAMES
    factor_sizes: tuple[int, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def flat(self) -> torch.Tensor:
        """The images as ``(n, size * size)`` vectors."""
        return self.images.reshape(len(self.images), -1)


def _inside(shape: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Whether local coordinates (unit half-size) fall inside the shape."""
    if shape == 0:  # square
        return (np.abs(u) <= 0.85) & (np.abs(v) <= 0.85)
    if shape == 1:  # ellipse, elongated along u
        return (u / 1.05) ** 2 + (v / 0.6) ** 2 <= 1.0
    # triangle with circumradius 1.15, one vertex pointing along +v
    r = 1.15
    out = np.ones_like(u, dtype=bool)
    for k in range(3):
        a = math.pi / 2 + 2 * math.pi * k / 3 + math.pi  # outward normal of the edge opposite vertex k
        out &= u * math.cos(a) + v * math.sin(a) <= r / 2
    return out


def make_sprites(
    size: int = 16,
    n_scale: int = 3,
    n_rotation: int = 4,
    n_x: int = 8,
    n_y: int = 8,
    shapes: Sequence[str] = SHAPES,
    max_rotation: float = 80.0,
    supersample: int = 4,
) -> Sprites:
    """Render every combination of shape, scale, rotation, x and y (a 16x16 dSprites).

    The data are deterministic: there is no randomness in the rendering, so every call with
    the same arguments returns the same images. Shuffle or subsample with a seed downstream.

    Args:
        size: image side in pixels (>= 8).
        n_scale, n_rotation, n_x, n_y: number of values of each factor (>= 1).
        shapes: a subset of ``("square", "ellipse", "triangle")``.
        max_rotation: largest rotation in degrees; rotations are evenly spaced in
            ``[0, max_rotation]`` (keep it below 90 so that no two squares coincide).
        supersample: sub-pixel samples per axis for anti-aliasing.

    Returns:
        A :class:`Sprites` with ``len(shapes) * n_scale * n_rotation * n_x * n_y`` images.

    See: chapters/05_disentanglement/01_identifiability.
    """
    size = check_positive_int(size, "size", 8)
    n_scale = check_positive_int(n_scale, "n_scale")
    n_rotation = check_positive_int(n_rotation, "n_rotation")
    n_x = check_positive_int(n_x, "n_x")
    n_y = check_positive_int(n_y, "n_y")
    supersample = check_positive_int(supersample, "supersample")
    if isinstance(shapes, str) or not isinstance(shapes, Sequence) or len(shapes) == 0:
        raise TypeError(f"shapes must be a non-empty sequence of names from {SHAPES}")
    for s in shapes:
        if s not in SHAPES:
            raise ValueError(f"unknown shape {s!r} in shapes; expected names from {SHAPES}")
    if not 0 <= float(max_rotation) < 360:
        raise ValueError(f"max_rotation must be in [0, 360), got {max_rotation}")
    shape_ids = [SHAPES.index(s) for s in shapes]
    half = size / 16 * np.linspace(2.2, 3.6, n_scale) if n_scale > 1 else np.array([size / 16 * 2.9])
    rots = np.linspace(0.0, float(max_rotation), n_rotation) if n_rotation > 1 else np.array([0.0])
    margin = 4.0 * size / 16
    xs = np.linspace(margin, size - margin, n_x) if n_x > 1 else np.array([size / 2])
    ys = np.linspace(margin, size - margin, n_y) if n_y > 1 else np.array([size / 2])
    grids = np.meshgrid(np.arange(len(shape_ids)), np.arange(n_scale), np.arange(n_rotation),
                        np.arange(n_x), np.arange(n_y), indexing="ij")
    factors = np.stack([g.reshape(-1) for g in grids], axis=1)
    # sub-pixel sample positions
    off = (np.arange(supersample) + 0.5) / supersample
    py, px = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    ss = (size, size, supersample, supersample)
    sy = np.broadcast_to(py[..., None, None] + off[:, None], ss).reshape(-1)
    sx = np.broadcast_to(px[..., None, None] + off[None, :], ss).reshape(-1)
    images = np.zeros((len(factors), size * size), dtype=np.float32)
    for i, (s, k, r, ix, iy) in enumerate(factors):
        th = math.radians(rots[r])
        dx, dy = (sx - xs[ix]) / half[k], (sy - ys[iy]) / half[k]
        u = math.cos(th) * dx + math.sin(th) * dy
        v = -math.sin(th) * dx + math.cos(th) * dy
        inside = _inside(shape_ids[s], u, v).astype(np.float32)
        images[i] = inside.reshape(size, size, supersample * supersample).mean(-1).reshape(-1)
    values = np.stack([np.array(shape_ids)[factors[:, 0]], half[factors[:, 1]] / half.max(),
                       rots[factors[:, 2]], xs[factors[:, 3]], ys[factors[:, 4]]], axis=1).astype(np.float64)
    return Sprites(
        images=torch.from_numpy(images).reshape(-1, 1, size, size),
        factors=factors.astype(np.int64),
        values=values,
        factor_names=FACTOR_NAMES,
        factor_sizes=(len(shape_ids), n_scale, n_rotation, n_x, n_y),
    )


# ======================================================================================
# Metrics
# ======================================================================================
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

    Latent dimensions are discretized into ``n_bins`` equal-width bins, and the mutual
    information of the two discrete variables is computed with scikit-learn's
    ``mutual_info_score``.

    Args:
        codes: latent codes ``(n, d)``.
        factors: integer factor indices ``(n, k)`` (one row per code).
        n_bins: bins per latent dimension.

    Returns:
        Array ``(d, k)``.

    See: chapters/05_disentanglement/01_identifiability.
    """
    from sklearn.metrics import mutual_info_score

    codes = _as_codes(codes)
    factors = _as_factors(factors, len(codes))
    n_bins = check_positive_int(n_bins, "n_bins", 2)
    binned = _discretize(codes, n_bins)
    mi = np.zeros((codes.shape[1], factors.shape[1]))
    for i in range(codes.shape[1]):
        for j in range(factors.shape[1]):
            mi[i, j] = mutual_info_score(factors[:, j], binned[:, i])
    return mi


def factor_entropies(factors: np.ndarray) -> np.ndarray:
    """Entropy (nats) of each discrete factor, as scikit-learn's ``mutual_info_score(f, f)``.

    See: chapters/05_disentanglement/01_identifiability.
    """
    from sklearn.metrics import mutual_info_score

    factors = _as_factors(factors, len(factors))
    return np.array([mutual_info_score(factors[:, j], factors[:, j]) for j in range(factors.shape[1])])


def mig_score(codes: np.ndarray | torch.Tensor, factors: np.ndarray, n_bins: int = 20) -> float:
    """Mutual information gap: for each factor, the gap between the two latent dimensions
    most informative about it, divided by the factor's entropy, averaged over factors.

    A code in which each factor is captured by one dimension scores near 1; a code that spreads
    every factor over several dimensions (or ignores it) scores near 0. Factors with a single
    value (zero entropy) are skipped.

    Args:
        codes: latent codes ``(n, d)`` with ``d >= 2``.
        factors: integer factor indices ``(n, k)``.
        n_bins: bins per latent dimension.

    Returns:
        MIG in [0, 1].

    See: chapters/05_disentanglement/01_identifiability.
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


def dci_scores(
    codes: np.ndarray | torch.Tensor,
    factors: np.ndarray,
    test_frac: float = 0.3,
    seed: int = 0,
    n_estimators: int = 30,
    max_depth: int = 6,
) -> dict[str, float]:
    """DCI: disentanglement, completeness and informativeness from a random-forest
    importance matrix (Eastwood & Williams).

    One random forest per factor predicts the factor from the code; ``R[i, j]`` is latent
    ``i``'s importance for factor ``j``. *Disentanglement* is 1 minus the entropy of each
    row (base ``k``), weighted by the row's share of total importance; *completeness* is
    1 minus the entropy of each column (base ``d``); *informativeness* is the mean held-out
    accuracy of the forests.

    Args:
        codes: latent codes ``(n, d)``.
        factors: integer factor indices ``(n, k)``; constant factors are skipped.
        test_frac: held-out fraction for informativeness.
        seed: seed of the split and the forests.
        n_estimators, max_depth: forest size.

    Returns:
        ``{"disentanglement", "completeness", "informativeness"}``, each in [0, 1].

    See: chapters/05_disentanglement/01_identifiability.
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
    codes: np.ndarray | torch.Tensor, factors: np.ndarray, n_bins: int = 20, seed: int = 0
) -> dict[str, float]:
    """Information-based modularity, compactness and explicitness (InfoM, InfoC, InfoE),
    in the spirit of the latent-quantization paper's InfoMEC.

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

    Returns:
        ``{"modularity", "compactness", "explicitness"}``, each in [0, 1].

    See: chapters/05_disentanglement/03_structured_latents.
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
    """MIG, modularity/compactness/explicitness and (optionally) DCI in one dictionary.

    See: chapters/05_disentanglement/01_identifiability.
    """
    out = {"MIG": mig_score(codes, factors)}
    out.update(modularity_explicitness(codes, factors, seed=seed))
    if dci:
        out.update({f"DCI {k}": v for k, v in dci_scores(codes, factors, seed=seed).items()})
    return out


def random_rotation(d: int, seed: int = 0) -> torch.Tensor:
    """A random orthogonal ``d x d`` matrix with determinant +1 (Haar-distributed rotation).

    See: chapters/05_disentanglement/01_identifiability.
    """
    d = check_positive_int(d, "d")
    g = torch.Generator().manual_seed(int(seed))
    A = torch.randn(d, d, generator=g, dtype=torch.float64)
    Q, R = torch.linalg.qr(A)
    Q = Q * torch.sign(torch.diagonal(R))[None, :]
    if torch.det(Q) < 0:
        Q[:, 0] = -Q[:, 0]
    return Q.float()


def reference_codes(data: Sprites, noise: float = 0.01, seed: int = 0) -> dict[str, np.ndarray]:
    """Three codes with known answers for checking a metric: *aligned* (each coordinate is
    one standardized factor plus a little noise), *rotated* (the aligned code times a random
    rotation: same information, mixed coordinates) and *random* (independent noise).

    Args:
        data: the sprites whose factors the codes describe.
        noise: standard deviation of the noise added to the aligned code.
        seed: seed of the noise and the rotation.

    Returns:
        ``{"aligned", "rotated", "random"}``, each an array ``(n, 5)``.

    See: chapters/05_disentanglement/01_identifiability.
    """
    if not isinstance(data, Sprites):
        raise TypeError(f"data must be Sprites, got {type(data).__name__}")
    rng = np.random.default_rng(seed)
    v = data.values + check_nonnegative(noise, "noise") * rng.normal(size=data.values.shape)
    aligned = (v - v.mean(0)) / np.maximum(v.std(0), 1e-12)
    Q = random_rotation(aligned.shape[1], seed).numpy().astype(np.float64)
    return {"aligned": aligned, "rotated": aligned @ Q.T, "random": rng.normal(size=aligned.shape)}


def rotation_experiment(model: "SpriteAutoencoder", data: Sprites, n_rotations: int = 10,
                        seed: int = 0) -> pd.DataFrame:
    """Rotate a trained VAE's latent space ``n_rotations`` times and measure what changes.

    For each random rotation ``Q``: the ELBO of the exactly rotated model (see :func:`elbo`),
    the largest change of any reconstructed pixel (decoding ``Q mu`` with the rotated decoder
    vs ``mu`` with the original) and the MIG of the rotated means. Row ``"original"`` holds
    the unrotated model.

    Args:
        model: a trained VAE.
        data: the sprites (with factors) to evaluate on.
        n_rotations: how many random rotations.
        seed: seed of the rotations (rotation ``r`` uses ``1000 * seed + r``) and of the ELBO's
            Monte Carlo noise (shared by all rows).

    Returns:
        DataFrame indexed by ``original, rotation 1, ...`` with columns ``ELBO``,
        ``max pixel change`` and ``MIG``.

    See: chapters/05_disentanglement/01_identifiability.
    """
    n_rotations = check_positive_int(n_rotations, "n_rotations")
    mu = encode(model, data)
    with torch.no_grad():
        x0 = torch.sigmoid(model.decode(torch.from_numpy(mu).float()))
    rows = {"original": {"ELBO": elbo(model, data, seed=seed)["elbo"], "max pixel change": 0.0,
                         "MIG": mig_score(mu, data.factors)}}
    for r in range(n_rotations):
        Q = random_rotation(model.latent_dim, 1000 * seed + r)
        rot = rotate_latent_space(model, Q)
        mu_r = encode(rot, data)
        with torch.no_grad():
            x1 = torch.sigmoid(rot.decode(torch.from_numpy(mu_r).float()))
        rows[f"rotation {r + 1}"] = {"ELBO": elbo(model, data, seed=seed, rotation=Q)["elbo"],
                                     "max pixel change": float((x1 - x0).abs().max()),
                                     "MIG": mig_score(mu_r, data.factors)}
    return pd.DataFrame(rows).T


# ======================================================================================
# Models
# ======================================================================================
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

    See: chapters/05_disentanglement/02_vae_diagnostics.
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


def train_autoencoder(
    data: Sprites | torch.Tensor,
    kind: str = "vae",
    latent_dim: int = 10,
    beta: float = 4.0,
    steps: int = 3000,
    batch_size: int = 128,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    hidden: int = 128,
    n_values: int = 10,
    commitment: float = 0.5,
    attribute: np.ndarray | None = None,
    attribute_weight: float = 10.0,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> tuple[SpriteAutoencoder, pd.DataFrame]:
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
        device: where to train.

    Returns:
        ``(model, history)``; the model is in eval mode, history has ``step`` and ``loss``.

    See: chapters/05_disentanglement/02_vae_diagnostics.
    """
    X = data.flat if isinstance(data, Sprites) else data
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"data must be Sprites or a tensor, got {type(data).__name__}")
    X = X.reshape(len(X), -1).float()
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
                 no_decay=["codebook"] if kind == "qlae" else None)
    model.eval()
    model.aux, model.last_mu = torch.zeros(()), None
    return model, hist


def _attribute_loss(z: torch.Tensor, a: torch.Tensor, delta: float = 1.0) -> torch.Tensor:
    """AR-VAE's attribute regularization: tanh of latent differences vs sign of attribute
    differences, mean absolute error over all pairs in the batch."""
    dz = z[:, None] - z[None, :]
    da = a[:, None] - a[None, :]
    return (torch.tanh(delta * dz) - torch.sign(da)).abs().mean()


class VQAutoencoder(nn.Module):
    """An MLP autoencoder whose latent vector is split into ``n_codebooks`` equal parts, each
    replaced by its nearest entry in its own codebook of ``codebook_size`` vectors (vector
    quantization with a straight-through gradient).

    With ``n_codebooks=1`` this is a plain VQ autoencoder with ``codebook_size`` possible
    codes; with ``n_codebooks=2`` the same code length admits ``codebook_size ** 2``
    combinations (a *factorized* codebook).

    Args:
        in_dim: pixels per image.
        code_dim: length of the latent vector (divisible by ``n_codebooks``).
        n_codebooks: number of sub-codebooks.
        codebook_size: entries per sub-codebook.
        hidden: hidden units per layer.

    See: chapters/05_disentanglement/03_structured_latents.
    """

    def __init__(self, in_dim: int = 256, code_dim: int = 8, n_codebooks: int = 1, codebook_size: int = 16,
                 hidden: int = 128) -> None:
        super().__init__()
        self.in_dim = check_positive_int(in_dim, "in_dim")
        code_dim = check_positive_int(code_dim, "code_dim")
        self.n_codebooks = check_positive_int(n_codebooks, "n_codebooks")
        self.codebook_size = check_positive_int(codebook_size, "codebook_size", 2)
        if code_dim % n_codebooks:
            raise ValueError(f"code_dim ({code_dim}) must be divisible by n_codebooks ({n_codebooks})")
        self.part = code_dim // n_codebooks
        hidden = check_positive_int(hidden, "hidden")
        self.encoder = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                     nn.Linear(hidden, code_dim))
        self.decoder = nn.Sequential(nn.Linear(code_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                     nn.Linear(hidden, in_dim))
        self.codebooks = nn.Parameter(0.5 * torch.randn(n_codebooks, codebook_size, self.part))
        self.aux = torch.zeros(())

    def indices(self, x: torch.Tensor) -> torch.Tensor:
        """Code indices ``(n, n_codebooks)`` of a batch of images."""
        z = self.encoder(x.reshape(len(x), -1)).reshape(len(x), self.n_codebooks, self.part)
        d = ((z.unsqueeze(2) - self.codebooks.unsqueeze(0)) ** 2).sum(-1)  # (n, c, k)
        return d.argmin(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(len(x), -1)
        if x.shape[1] != self.in_dim:
            raise ValueError(f"x must have {self.in_dim} pixels per image, got {x.shape[1]}")
        z = self.encoder(x).reshape(len(x), self.n_codebooks, self.part)
        idx = ((z.unsqueeze(2) - self.codebooks.unsqueeze(0)) ** 2).sum(-1).argmin(-1)
        zq = torch.stack([self.codebooks[c][idx[:, c]] for c in range(self.n_codebooks)], dim=1)
        self.aux = F.mse_loss(zq, z.detach()) + 0.25 * F.mse_loss(z, zq.detach())
        z = z + (zq - z).detach()
        return self.decoder(z.reshape(len(x), -1))


def train_vq_autoencoder(
    data: Sprites | torch.Tensor,
    n_codebooks: int = 1,
    codebook_size: int = 16,
    code_dim: int = 8,
    steps: int = 2000,
    batch_size: int = 128,
    lr: float = 2e-3,
    hidden: int = 128,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> tuple[VQAutoencoder, pd.DataFrame]:
    """Train a :class:`VQAutoencoder` (Bernoulli likelihood plus codebook and commitment losses).

    Returns:
        ``(model, history)``, the model in eval mode.

    See: chapters/05_disentanglement/03_structured_latents.
    """
    X = data.flat if isinstance(data, Sprites) else data
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"data must be Sprites or a tensor, got {type(data).__name__}")
    X = X.reshape(len(X), -1).float()
    torch.manual_seed(seed)
    model = VQAutoencoder(X.shape[1], code_dim, n_codebooks, codebook_size, hidden).to(device)
    # start the codebooks at encoder outputs of random images, so that no entry starts dead
    with torch.no_grad():
        g = torch.Generator().manual_seed(seed)
        pick = torch.randint(len(X), (n_codebooks * codebook_size,), generator=g)
        z = model.encoder(X[pick].to(device)).reshape(n_codebooks, codebook_size, n_codebooks, -1)
        model.codebooks.copy_(torch.stack([z[c, :, c] for c in range(n_codebooks)]))

    def loss_fn(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits, y, reduction="sum") / len(y) + 10.0 * model.aux

    hist = train(model, X, X, loss_fn, steps=steps, lr=lr, optimizer="adam", batch_size=batch_size,
                 eval_every=max(1, steps // 20), seed=seed)
    model.eval()
    model.aux = torch.zeros(())
    return model, hist


@torch.no_grad()
def codebook_usage(model: VQAutoencoder, data: Sprites | torch.Tensor) -> dict[str, float]:
    """How a VQ autoencoder uses its codes, and how well it reconstructs.

    Returns:
        ``{"distinct codes", "perplexity", "perplexity per codebook", "reconstruction MSE"}``:
        the number of distinct full codes used on the data, the perplexity (``exp`` of the
        entropy) of the full code, the mean perplexity of each sub-codebook's index, and the
        summed squared pixel error per image.

    See: chapters/05_disentanglement/03_structured_latents.
    """
    if not isinstance(model, VQAutoencoder):
        raise TypeError(f"model must be a VQAutoencoder, got {type(model).__name__}")
    X = data.flat if isinstance(data, Sprites) else data
    dev = next(model.parameters()).device
    X = X.reshape(len(X), -1).float().to(dev)
    idx = model.indices(X).cpu().numpy()

    def perplexity(labels: np.ndarray) -> float:
        _, counts = np.unique(labels, return_counts=True, axis=0)
        p = counts / counts.sum()
        return float(np.exp(-(p * np.log(p)).sum()))

    rec = torch.sigmoid(model(X))
    return {
        "distinct codes": float(len(np.unique(idx, axis=0))),
        "perplexity": perplexity(idx),
        "perplexity per codebook": float(np.mean([perplexity(idx[:, c]) for c in range(idx.shape[1])])),
        "reconstruction MSE": float(((rec - X) ** 2).sum(1).mean()),
    }


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

    See: chapters/05_disentanglement/02_vae_diagnostics.
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
def elbo(model: SpriteAutoencoder, data: Sprites | torch.Tensor, seed: int = 0,
         rotation: torch.Tensor | None = None) -> dict[str, float]:
    """The VAE's evidence lower bound per image (one Monte Carlo sample), in nats.

    With ``rotation`` (an orthogonal ``d x d`` matrix ``Q``), the ELBO of the *rotated* model
    is computed instead: posterior ``N(Q mu, Q Sigma Q^T)`` (a full covariance), prior
    ``N(0, I)``, decoder ``x -> dec(Q^T z)``. The KL divergence is evaluated with the general
    full-covariance formula, so the equality with the unrotated ELBO is a measurement, not an
    identity built into the code.

    Args:
        model: a trained VAE.
        data: :class:`Sprites` or image tensor.
        seed: seed of the Monte Carlo noise (use the same one to compare models).
        rotation: optional orthogonal matrix.

    Returns:
        ``{"elbo", "reconstruction", "kl"}``, averages per image.

    See: chapters/05_disentanglement/01_identifiability.
    """
    if model.kind != "vae":
        raise ValueError("elbo needs a VAE (kind='vae')")
    X = data.flat if isinstance(data, Sprites) else data
    dev = next(model.parameters()).device
    X = X.reshape(len(X), -1).float().to(dev)
    mu, logvar = model.encode_params(X)
    mu, logvar = mu.double(), logvar.double()
    g = torch.Generator(device=dev).manual_seed(int(seed))
    eps = torch.randn(mu.shape, generator=g, device=dev, dtype=torch.float64)
    d = mu.shape[1]
    if rotation is None:
        z = mu + torch.exp(0.5 * logvar) * eps
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
        dec_in = z
    else:
        Q = _check_rotation(rotation, d).to(dev).double()
        mu_r = mu @ Q.T
        cov = Q @ torch.diag_embed(logvar.exp()) @ Q.T  # (n, d, d)
        z_r = mu_r + ((torch.exp(0.5 * logvar) * eps) @ Q.T)
        kl = 0.5 * (torch.diagonal(cov, dim1=1, dim2=2).sum(1) + mu_r.pow(2).sum(1) - d - torch.logdet(cov))
        dec_in = z_r @ Q  # the rotated decoder's first layer is W Q^T
    logits = model.decoder.double()(dec_in)
    model.decoder.float()
    rec = -F.binary_cross_entropy_with_logits(logits, X.double(), reduction="none").sum(1)
    return {"elbo": float((rec - kl).mean()), "reconstruction": float(rec.mean()), "kl": float(kl.mean())}


def _check_rotation(Q: torch.Tensor, d: int) -> torch.Tensor:
    if not isinstance(Q, torch.Tensor):
        raise TypeError(f"rotation must be a torch tensor, got {type(Q).__name__}")
    if Q.shape != (d, d):
        raise ValueError(f"rotation must have shape ({d}, {d}) to match the latent width, got {tuple(Q.shape)}")
    err = (Q.double() @ Q.double().T - torch.eye(d, dtype=torch.float64)).abs().max().item()
    if err > 1e-4:
        raise ValueError(f"rotation must be orthogonal (Q Q^T = I), deviation {err:.2g}")
    return Q


def rotate_latent_space(model: SpriteAutoencoder, rotation: torch.Tensor) -> SpriteAutoencoder:
    """A copy of ``model`` whose latent space is rotated by ``Q``: the encoder's mean becomes
    ``Q mu`` and the decoder's first layer ``W Q^T``, so that decoding ``Q z`` gives exactly
    what decoding ``z`` gave before.

    For a VAE only the mean head is rotated (the posterior variances stay per-coordinate, so
    sampling from the copy is an approximation; :func:`elbo` with ``rotation=`` evaluates the
    exactly rotated model).

    Args:
        model: a trained :class:`SpriteAutoencoder` (``"ae"`` or ``"vae"``).
        rotation: an orthogonal ``(latent_dim, latent_dim)`` matrix.

    Returns:
        The rotated copy.

    See: chapters/05_disentanglement/01_identifiability.
    """
    if model.kind == "qlae":
        raise ValueError("a quantized latent space cannot be rotated: its codebook is per-axis")
    d = model.latent_dim
    Q = _check_rotation(rotation, d).to(next(model.parameters()).device).float()
    model.aux, model.last_mu = torch.zeros(()), None
    new = copy.deepcopy(model)
    with torch.no_grad():
        last = new.encoder[-1]
        last.weight[:d] = Q @ last.weight[:d]
        last.bias[:d] = Q @ last.bias[:d]
        first = new.decoder[0]
        first.weight.copy_(first.weight @ Q.T)
    return new


# ======================================================================================
# VAE diagnostics
# ======================================================================================
@torch.no_grad()
def active_units(model: SpriteAutoencoder, data: Sprites | torch.Tensor, threshold: float = 0.01) -> np.ndarray:
    """Which latent dimensions are *active*: the variance of their posterior mean across
    the data exceeds ``threshold`` (Burda et al.'s criterion).

    Returns:
        Boolean array ``(latent_dim,)``.

    See: chapters/05_disentanglement/02_vae_diagnostics.
    """
    mu = encode(model, data)
    return mu.var(0) > check_nonnegative(threshold, "threshold")


def passive_correlations(codes: np.ndarray, active: np.ndarray) -> dict[str, float]:
    """Largest absolute Pearson correlation between two passive dimensions, and between two
    active dimensions, of a set of codes.

    Args:
        codes: ``(n, d)`` codes (means or samples).
        active: boolean mask ``(d,)`` from :func:`active_units`.

    Returns:
        ``{"passive": max |corr| among passive pairs, "active": among active pairs}``
        (NaN when a group has fewer than two dimensions).

    See: chapters/05_disentanglement/02_vae_diagnostics.
    """
    codes = _as_codes(codes)
    active = np.asarray(active, dtype=bool)
    if active.shape != (codes.shape[1],):
        raise ValueError(f"active must have one entry per latent dimension ({codes.shape[1]}), got {active.shape}")

    def max_corr(cols: np.ndarray) -> float:
        if cols.shape[1] < 2:
            return float("nan")
        c = np.corrcoef(cols, rowvar=False)
        c = np.nan_to_num(c)
        np.fill_diagonal(c, 0)
        return float(np.abs(c).max())

    return {"passive": max_corr(codes[:, ~active]), "active": max_corr(codes[:, active])}


def vae_diagnostics(model: SpriteAutoencoder, data: Sprites, seed: int = 0,
                    threshold: float = 0.01) -> dict[str, float]:
    """Active-unit count and the mean-vs-sampled correlation test of passive variables.

    Args:
        model: a trained VAE.
        data: the sprites.
        seed: seed of the posterior samples.
        threshold: variance threshold of :func:`active_units`.

    Returns:
        ``{"active units", "passive, mean", "passive, sampled", "active, mean",
        "active, sampled"}``: the count, then the largest absolute correlation between two
        passive (or two active) dimensions of the mean and of the sampled codes.

    See: chapters/05_disentanglement/02_vae_diagnostics.
    """
    if model.kind != "vae":
        raise ValueError("vae_diagnostics needs a VAE (kind='vae')")
    act = active_units(model, data, threshold)
    mean = passive_correlations(encode(model, data), act)
    samp = passive_correlations(encode(model, data, sampled=True, seed=seed), act)
    return {"active units": int(act.sum()), "passive, mean": mean["passive"], "passive, sampled": samp["passive"],
            "active, mean": mean["active"], "active, sampled": samp["active"]}


def attribute_monotonicity(codes: np.ndarray, attribute: np.ndarray) -> pd.Series:
    """Absolute Spearman rank correlation between each latent dimension and an attribute.

    A dimension that works as a *fader* for the attribute (moving it moves the attribute in one
    direction only) has a rank correlation near 1.

    Args:
        codes: latent codes ``(n, d)``.
        attribute: one value per code ``(n,)``.

    Returns:
        Series indexed ``z0 .. z{d-1}``.

    See: chapters/05_disentanglement/04_attribute_control.
    """
    from scipy.stats import spearmanr

    codes = _as_codes(codes)
    a = np.asarray(attribute, dtype=np.float64).reshape(-1)
    if len(a) != len(codes):
        raise ValueError(f"attribute must have one value per code: got {len(a)} for {len(codes)} codes")
    rho = []
    for j in range(codes.shape[1]):
        c = codes[:, j]
        rho.append(0.0 if c.std() < 1e-12 else abs(float(spearmanr(c, a).statistic)))
    return pd.Series(rho, index=[f"z{j}" for j in range(codes.shape[1])])


def name_dimensions(codes: np.ndarray, data: Sprites) -> pd.DataFrame:
    """For each latent dimension, the factor it is most informative about and how much.

    Returns:
        DataFrame with one row per dimension: ``factor`` (name) and ``NMI`` (mutual
        information divided by the factor's entropy).

    See: chapters/05_disentanglement/02_vae_diagnostics.
    """
    nmi = mutual_info_matrix(codes, data.factors) / np.maximum(factor_entropies(data.factors), 1e-12)
    best = nmi.argmax(1)
    return pd.DataFrame({"factor": [data.factor_names[j] for j in best], "NMI": nmi.max(1)},
                        index=[f"z{i}" for i in range(len(best))])


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

    See: chapters/05_disentanglement/02_vae_diagnostics.
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


# ======================================================================================
# Directions in generators
# ======================================================================================
def sefa_directions(model: SpriteAutoencoder, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form latent directions from a decoder's first layer (SeFa).

    A direction ``n`` in latent space changes the first hidden layer by ``W n``; the unit
    directions that change it most are the top eigenvectors of ``W^T W``.

    Args:
        model: a trained :class:`SpriteAutoencoder`.
        k: how many directions (default all).

    Returns:
        ``(eigenvalues, directions)``: eigenvalues in decreasing order ``(k,)`` and unit
        directions as columns ``(latent_dim, k)``.

    See: chapters/05_disentanglement/05_directions_in_generators.
    """
    W = model.decoder[0].weight.detach().double().cpu()  # (hidden, d)
    d = W.shape[1]
    k = d if k is None else check_positive_int(k, "k")
    if k > d:
        raise ValueError(f"k must be at most the latent width {d}, got {k}")
    vals, vecs = torch.linalg.eigh(W.T @ W)
    order = torch.argsort(vals, descending=True)[:k]
    return vals[order].numpy(), vecs[:, order].numpy()


def direction_factor_correlations(codes: np.ndarray, directions: np.ndarray, data: Sprites) -> pd.DataFrame:
    """Absolute Pearson correlation between the projection of the codes on each direction and
    each ground-truth factor value.

    Args:
        codes: latent codes ``(n, d)``.
        directions: unit directions as columns ``(d, k)``.
        data: the sprites the codes describe (for the factor values).

    Returns:
        DataFrame ``(k, 5)``: rows ``dir 1..k``, columns the factor names.

    See: chapters/05_disentanglement/05_directions_in_generators.
    """
    codes = _as_codes(codes)
    D = np.asarray(directions, dtype=np.float64)
    if D.ndim != 2 or D.shape[0] != codes.shape[1]:
        raise ValueError(f"directions must have shape ({codes.shape[1]}, k) to match the latent width, got {D.shape}")
    if len(data.values) != len(codes):
        raise ValueError(f"data must have one image per code: got {len(data.values)} for {len(codes)} codes")
    proj = codes @ D
    out = np.zeros((D.shape[1], data.values.shape[1]))
    for i in range(D.shape[1]):
        for j in range(data.values.shape[1]):
            a, b = proj[:, i], data.values[:, j]
            out[i, j] = 0.0 if a.std() < 1e-12 or b.std() < 1e-12 else abs(np.corrcoef(a, b)[0, 1])
    return pd.DataFrame(out, index=[f"dir {i + 1}" for i in range(D.shape[1])], columns=list(data.factor_names))


class HouseholderProjector(nn.Module):
    """A linear layer whose weight is a low-rank product ``U diag(s) V^T`` with orthonormal
    ``U`` and ``V``, each built from Householder reflections (the Householder projector).

    ``U`` (``out_dim x rank``) and ``V`` (``in_dim x rank``) are the first ``rank`` columns of
    products of ``rank`` reflections ``I - 2 v v^T / v^T v``, so they stay exactly orthonormal
    whatever the optimizer does; ``s = softplus(raw)`` (times a fixed sign) are the singular
    values. The eigenvectors of ``W^T W`` are then the columns of ``V``, and ``W^T W`` has
    exactly ``rank`` nonzero eigenvalues. The layer exposes ``weight`` like ``nn.Linear``.

    Args:
        in_dim: input width (the latent width when it replaces a decoder's first layer).
        out_dim: output width.
        rank: number of directions kept, at most ``min(in_dim, out_dim)``.

    See: chapters/05_disentanglement/05_directions_in_generators.
    """

    def __init__(self, in_dim: int, out_dim: int, rank: int) -> None:
        super().__init__()
        self.in_dim = check_positive_int(in_dim, "in_dim")
        self.out_dim = check_positive_int(out_dim, "out_dim")
        self.rank = check_positive_int(rank, "rank")
        if rank > min(in_dim, out_dim):
            raise ValueError(f"rank must be at most min(in_dim, out_dim) = {min(in_dim, out_dim)}, got {rank}")
        self.u = nn.Parameter(torch.randn(rank, out_dim))
        self.v = nn.Parameter(torch.randn(rank, in_dim))
        self.raw_s = nn.Parameter(torch.zeros(rank))
        self.register_buffer("sign", torch.ones(rank))
        self.bias = nn.Parameter(torch.zeros(out_dim))

    @staticmethod
    def _frame(vecs: torch.Tensor, n: int) -> torch.Tensor:
        Q = torch.eye(n, len(vecs), dtype=vecs.dtype, device=vecs.device)
        for v in reversed(list(vecs)):
            Q = Q - 2 * torch.outer(v, v @ Q) / (v @ v)
        return Q

    @staticmethod
    def _reflectors(Q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Householder vectors ``(k, n)`` whose frame is ``Q * signs``, from a QR factorization."""
        a, tau = torch.geqrf(Q)
        k = Q.shape[1]
        vecs = (torch.tril(a, -1) + torch.eye(*Q.shape, dtype=Q.dtype))[:, :k].T.contiguous()
        # LAPACK skips a reflection (tau = 0) when the column is already in place; our frame
        # always reflects, which flips that column: compensate with its sign
        flip = torch.where(tau[:k] == 0, -1.0, 1.0).to(Q.dtype)
        return vecs, torch.sign(torch.diagonal(a[:k, :k])) * flip

    @classmethod
    def from_linear(cls, layer: nn.Linear, rank: int) -> "HouseholderProjector":
        """A projector initialized with the best rank-``rank`` approximation of ``layer``
        (its truncated SVD), so that fine-tuning starts from the trained model.

        Args:
            layer: a trained ``nn.Linear``.
            rank: number of singular directions kept.

        Returns:
            A :class:`HouseholderProjector` on the same device as ``layer``.
        """
        if not isinstance(layer, nn.Linear):
            raise TypeError(f"layer must be an nn.Linear, got {type(layer).__name__}")
        W = layer.weight.detach().double().cpu()
        m = cls(W.shape[1], W.shape[0], rank)
        U, S, Vh = torch.linalg.svd(W, full_matrices=False)
        if S[rank - 1] <= 1e-8:
            raise ValueError(f"layer has fewer than rank={rank} nonzero singular values")
        uvecs, du = cls._reflectors(U[:, :rank])
        vvecs, dv = cls._reflectors(Vh[:rank].T)
        with torch.no_grad():
            m.u.copy_(uvecs.float())
            m.v.copy_(vvecs.float())
            m.raw_s.copy_(torch.log(torch.expm1(S[:rank])).float())
            m.sign.copy_((du * dv).float())
            if layer.bias is not None:
                m.bias.copy_(layer.bias.detach().cpu())
        return m.to(layer.weight.device)

    def directions(self) -> torch.Tensor:
        """The orthonormal input-side directions ``V`` as columns ``(in_dim, rank)``."""
        return self._frame(self.v, self.in_dim)

    @property
    def weight(self) -> torch.Tensor:
        """The weight ``U diag(s) V^T``, ``(out_dim, in_dim)``."""
        s = F.softplus(self.raw_s) * self.sign
        return (self._frame(self.u, self.out_dim) * s) @ self.directions().T

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.shape[-1] != self.in_dim:
            raise ValueError(f"input must have {self.in_dim} features, got {z.shape[-1]}")
        return z @ self.weight.T + self.bias


def householder_finetune(model: SpriteAutoencoder, data: Sprites, rank: int | None, steps: int = 300, lr: float = 5e-4,
                         batch_size: int = 128, seed: int = 0,
                         device: torch.device | str = "cpu") -> tuple[SpriteAutoencoder, pd.DataFrame]:
    """Replace a trained decoder's first layer by a :class:`HouseholderProjector` initialized
    from its truncated SVD, and fine-tune the whole model briefly with its own loss.

    Args:
        model: a trained :class:`SpriteAutoencoder` (left unchanged: a copy is fine-tuned).
        data: the sprites it was trained on.
        rank: directions kept by the projector. ``None`` keeps the plain first layer and
            fine-tunes with the same recipe: the matched control, which separates what the
            projector does from what the extra training does.
        steps, lr, batch_size: AdamW settings of the fine-tuning. The default ``lr`` is a
            quarter of the rate the chapter trains with: the optimizer starts afresh, and at
            the full rate its first steps knock a trained model off its minimum (for one seed
            of Section 5.5, 300 steps at ``2e-3`` left reconstruction 2.7% worse).
        seed: seed of the batches and the VAE's noise.
        device: where to train.

    Returns:
        ``(fine-tuned copy, history)``.

    See: chapters/05_disentanglement/05_directions_in_generators.
    """
    if not isinstance(model, SpriteAutoencoder):
        raise TypeError(f"model must be a SpriteAutoencoder, got {type(model).__name__}")
    if not isinstance(data, Sprites):
        raise TypeError(f"data must be Sprites, got {type(data).__name__}")
    if rank is not None:
        rank = check_positive_int(rank, "rank")
        if rank > model.latent_dim:
            raise ValueError(f"rank must be at most the latent width {model.latent_dim}, got {rank}")
    torch.manual_seed(seed)
    ft = copy.deepcopy(model).to(device)
    if rank is not None:
        ft.decoder[0] = HouseholderProjector.from_linear(ft.decoder[0], rank)
    ft.train()
    X = data.flat.to(device)

    def loss_fn(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits, y, reduction="sum") / len(y) + ft.aux

    hist = train(ft, X, X, loss_fn, steps=steps, lr=lr, optimizer="adamw", weight_decay=0.0, batch_size=batch_size,
                 eval_every=max(1, steps // 10), seed=seed)
    ft.eval()
    ft.aux, ft.last_mu = torch.zeros(()), None
    return ft, hist


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

    See: chapters/05_disentanglement/05_directions_in_generators.
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


# ======================================================================================
# Features inside trained models: sparse autoencoders and circular features
# ======================================================================================
@dataclass
class SparseFeatureData:
    """Activations built as sparse non-negative combinations of known unit-norm features.

    Fields: ``X``, the activations ``(n, dim)``; ``features``, the ground-truth unit-norm
    feature directions ``(n_features, dim)``; ``codes``, the sparse coefficients
    ``(n, n_features)``.

    See: chapters/05_disentanglement/06_features_in_models.
    """

    X: torch.Tensor
    features: torch.Tensor
    codes: torch.Tensor


def sparse_feature_data(n: int = 4000, n_features: int = 24, dim: int = 32, p_active: float = 0.05,
                        seed: int = 0) -> SparseFeatureData:
    """Synthetic "model activations": each sample switches on every feature independently with
    probability ``p_active`` with a magnitude uniform in [0.5, 1.5], and sums the active
    feature directions. More features than dimensions is allowed (superposition).

    Args:
        n: samples.
        n_features: number of ground-truth features.
        dim: activation dimension.
        p_active: probability that a feature is on in a sample.
        seed: seed of the features and the samples.

    Returns:
        A :class:`SparseFeatureData`.

    See: chapters/05_disentanglement/06_features_in_models.
    """
    n = check_positive_int(n, "n", 2)
    n_features = check_positive_int(n_features, "n_features")
    dim = check_positive_int(dim, "dim")
    if not 0 < float(p_active) <= 1:
        raise ValueError(f"p_active must be in (0, 1], got {p_active}")
    g = torch.Generator().manual_seed(int(seed))
    feats = torch.randn(n_features, dim, generator=g)
    feats = feats / feats.norm(dim=1, keepdim=True)
    on = (torch.rand(n, n_features, generator=g) < p_active).float()
    codes = on * (0.5 + torch.rand(n, n_features, generator=g))
    return SparseFeatureData(codes @ feats, feats, codes)


class SparseAutoencoder(nn.Module):
    """A one-layer sparse autoencoder: ``f = ReLU(W_e (x - b) + c)``, ``x_hat = W_d f + b``,
    with the decoder's atoms (columns of ``W_d``) kept at unit norm.

    See: chapters/05_disentanglement/06_features_in_models.
    """

    def __init__(self, dim: int, n_atoms: int) -> None:
        super().__init__()
        dim = check_positive_int(dim, "dim")
        n_atoms = check_positive_int(n_atoms, "n_atoms")
        self.dim, self.n_atoms = dim, n_atoms
        W = torch.randn(dim, n_atoms)
        W = W / W.norm(dim=0, keepdim=True)
        self.W_d = nn.Parameter(W)
        self.W_e = nn.Parameter(W.T.clone())
        self.b = nn.Parameter(torch.zeros(dim))
        self.c = nn.Parameter(torch.zeros(n_atoms))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Non-negative atom activations ``(n, n_atoms)``."""
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (n, {self.dim}), got {tuple(x.shape)}")
        return F.relu((x - self.b) @ self.W_e.T + self.c)

    def atoms(self) -> torch.Tensor:
        """Unit-norm dictionary atoms ``(n_atoms, dim)``."""
        return (self.W_d / self.W_d.norm(dim=0, keepdim=True)).T

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.encode(x)
        self.last_codes = f
        return f @ self.atoms() + self.b


def train_sae(data: SparseFeatureData | torch.Tensor, n_atoms: int, l1: float = 0.05, steps: int = 3000,
              batch_size: int = 256, lr: float = 3e-3, seed: int = 0,
              device: torch.device | str = "cpu") -> tuple[SparseAutoencoder, pd.DataFrame]:
    """Train a :class:`SparseAutoencoder` with squared error plus ``l1`` times the L1 norm of
    the activations.

    Args:
        data: :class:`SparseFeatureData` or activations ``(n, dim)``.
        n_atoms: dictionary size.
        l1: sparsity weight.
        steps, batch_size, lr: Adam settings.
        seed: seed of the initialization and the batches.
        device: where to train.

    Returns:
        ``(sae, history)``.

    See: chapters/05_disentanglement/06_features_in_models.
    """
    X = data.X if isinstance(data, SparseFeatureData) else data
    if not isinstance(X, torch.Tensor) or X.ndim != 2:
        raise TypeError("data must be SparseFeatureData or a 2-D tensor of activations")
    l1 = check_nonnegative(l1, "l1")
    torch.manual_seed(seed)
    sae = SparseAutoencoder(X.shape[1], n_atoms).to(device)

    def loss_fn(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return ((x_hat - x) ** 2).sum(1).mean() + l1 * sae.last_codes.sum(1).mean()

    hist = train(sae, X, X, loss_fn, steps=steps, lr=lr, batch_size=batch_size, eval_every=max(1, steps // 20), seed=seed)
    sae.eval()
    sae.last_codes = None
    return sae, hist


def feature_recovery(atoms: torch.Tensor, features: torch.Tensor, threshold: float = 0.9) -> pd.DataFrame:
    """How well a dictionary recovers known features.

    Args:
        atoms: learned unit-norm atoms ``(m, dim)``.
        features: ground-truth unit-norm features ``(k, dim)``.
        threshold: cosine above which an atom counts as a copy of a feature.

    Returns:
        DataFrame with one row per feature: ``max cosine`` (best atom) and ``atoms above
        threshold``.

    See: chapters/05_disentanglement/06_features_in_models.
    """
    A = torch.as_tensor(atoms).detach().float().cpu()
    Fe = torch.as_tensor(features).detach().float().cpu()
    if A.ndim != 2 or Fe.ndim != 2 or A.shape[1] != Fe.shape[1]:
        raise ValueError(f"atoms and features must be (m, dim) and (k, dim) with the same dim, got "
                         f"{tuple(A.shape)} and {tuple(Fe.shape)}")
    A = A / A.norm(dim=1, keepdim=True)
    Fe = Fe / Fe.norm(dim=1, keepdim=True)
    cos = Fe @ A.T  # (k, m)
    return pd.DataFrame({"max cosine": cos.max(1).values.numpy(),
                         "atoms above threshold": (cos > threshold).sum(1).numpy()})


def circular_structure(embedding: torch.Tensor, frequencies: Sequence[int] | None = None,
                       top_k: int = 3) -> pd.DataFrame:
    """Do residues ``a = 0..p-1`` sit on circles in an embedding table, in the order ``2 pi k a / p``?

    For each frequency ``k`` (default: the ``top_k`` frequencies with the most power), the
    embedding is projected onto the two principal directions of its frequency-``k`` Fourier
    component; the angle of each residue in that plane is compared with ``2 pi k a / p`` by
    their *circular correlation* (the mean resultant length of ``phi - theta`` or ``phi + theta``:
    1 when the angles agree up to a rotation and a reflection), and the spread of the radii by
    their coefficient of variation.

    Args:
        embedding: tensor ``(p, d)``, one row per residue.
        frequencies: frequencies to test (``1..p // 2``).
        top_k: how many strongest frequencies to test when ``frequencies`` is ``None``.

    Returns:
        DataFrame indexed by frequency with ``power share``, ``circular corr`` (absolute) and
        ``radius CV``.

    See: chapters/05_disentanglement/06_features_in_models.
    """
    E = torch.as_tensor(embedding).detach().double().cpu()
    if E.ndim != 2 or E.shape[0] < 5:
        raise ValueError(f"embedding must have shape (p, d) with p >= 5, got {tuple(E.shape)}")
    p = E.shape[0]
    E = E - E.mean(0)
    coef = torch.fft.fft(E, dim=0)  # (p, d)
    power = coef[1:p // 2 + 1].abs().pow(2).sum(1)
    share = power / power.sum()
    if frequencies is None:
        frequencies = [int(k) + 1 for k in torch.argsort(power, descending=True)[:top_k]]
    rows = {}
    a = torch.arange(p, dtype=torch.float64)
    for k in frequencies:
        k = int(k)
        if not 1 <= k <= p // 2:
            raise ValueError(f"frequencies must be in [1, {p // 2}], got {k}")
        # the frequency-k part of the table, then its principal plane
        wave = torch.stack([torch.cos(2 * math.pi * k * a / p), torch.sin(2 * math.pi * k * a / p)], 1)
        part = wave @ torch.linalg.lstsq(wave, E).solution
        _, _, Vh = torch.linalg.svd(part, full_matrices=False)
        P = E @ Vh[:2].T
        phi = torch.atan2(P[:, 1], P[:, 0])
        theta = 2 * math.pi * k * a / p
        rows[k] = {"power share": float(share[k - 1]), "circular corr": abs(_circ_corr(phi, theta)),
                   "radius CV": float(P.norm(dim=1).std() / P.norm(dim=1).mean())}
    out = pd.DataFrame(rows).T
    out.index.name = "frequency"
    return out


def _circ_corr(phi: torch.Tensor, theta: torch.Tensor) -> float:
    """Circular association of two angle samples up to a rotation and a reflection: the mean
    resultant length of ``phi - theta`` (or of ``phi + theta``, whichever is larger). It is 1
    when ``phi = +-theta + c`` exactly and near 0 for unrelated angles."""
    d1 = torch.complex(torch.cos(phi - theta), torch.sin(phi - theta)).mean().abs()
    d2 = torch.complex(torch.cos(phi + theta), torch.sin(phi + theta)).mean().abs()
    return float(max(d1, d2))


# ======================================================================================
# Analogy parallelograms and linear discriminant analysis
# ======================================================================================
ANALOGY_PAIRS: dict[str, tuple[tuple[str, str], ...]] = {
    # 16 word pairs for each of six relations; the last one ("opposite") has no consistent
    # direction (hot -> cold and cold -> hot are both opposites) and serves as a control
    "gender": (("man", "woman"), ("king", "queen"), ("boy", "girl"), ("father", "mother"), ("brother", "sister"),
               ("husband", "wife"), ("son", "daughter"), ("uncle", "aunt"), ("nephew", "niece"),
               ("prince", "princess"), ("actor", "actress"), ("waiter", "waitress"),
               ("grandfather", "grandmother"), ("lord", "lady"), ("monk", "nun"), ("groom", "bride")),
    "plural": (("cat", "cats"), ("dog", "dogs"), ("house", "houses"), ("car", "cars"), ("tree", "trees"),
               ("book", "books"), ("bird", "birds"), ("river", "rivers"), ("city", "cities"), ("chair", "chairs"),
               ("apple", "apples"), ("horse", "horses"), ("flower", "flowers"), ("ship", "ships"),
               ("cloud", "clouds"), ("song", "songs")),
    "capital": (("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid"),
                ("Japan", "Tokyo"), ("China", "Beijing"), ("Russia", "Moscow"), ("Egypt", "Cairo"),
                ("Greece", "Athens"), ("Portugal", "Lisbon"), ("Austria", "Vienna"), ("Poland", "Warsaw"),
                ("Norway", "Oslo"), ("Sweden", "Stockholm"), ("Ireland", "Dublin"), ("Kenya", "Nairobi")),
    "past tense": (("walk", "walked"), ("go", "went"), ("see", "saw"), ("eat", "ate"), ("run", "ran"),
                   ("write", "wrote"), ("take", "took"), ("give", "gave"), ("speak", "spoke"), ("drink", "drank"),
                   ("swim", "swam"), ("sing", "sang"), ("jump", "jumped"), ("play", "played"), ("buy", "bought"),
                   ("think", "thought")),
    "comparative": (("big", "bigger"), ("small", "smaller"), ("fast", "faster"), ("slow", "slower"),
                    ("tall", "taller"), ("short", "shorter"), ("old", "older"), ("young", "younger"),
                    ("strong", "stronger"), ("weak", "weaker"), ("cold", "colder"), ("warm", "warmer"),
                    ("long", "longer"), ("high", "higher"), ("rich", "richer"), ("dark", "darker")),
    "opposite": (("hot", "cold"), ("up", "down"), ("good", "bad"), ("happy", "sad"), ("light", "dark"),
                 ("early", "late"), ("open", "closed"), ("full", "empty"), ("hard", "soft"), ("wet", "dry"),
                 ("clean", "dirty"), ("love", "hate"), ("win", "lose"), ("begin", "end"), ("push", "pull"),
                 ("buy", "sell")),
}


def analogy_words(pairs: dict[str, Sequence[tuple[str, str]]] | None = None) -> list[str]:
    """The sorted set of words that occur in a dictionary of relation pairs.

    Args:
        pairs: relation name -> list of ``(a, b)`` word pairs; default ``ANALOGY_PAIRS``.

    Returns:
        A sorted list of distinct words.

    See: chapters/05_disentanglement/06_features_in_models.
    """
    pairs = ANALOGY_PAIRS if pairs is None else pairs
    return sorted({w for ps in pairs.values() for p in ps for w in p})


def analogy_offsets(embeddings: np.ndarray, words: Sequence[str],
                    pairs: dict[str, Sequence[tuple[str, str]]] | None = None) -> pd.DataFrame:
    """Offset vectors ``e(b) - e(a)`` of every word pair, labelled by relation.

    Args:
        embeddings: array ``(len(words), dim)``, one row per word.
        words: the words, in the order of ``embeddings``.
        pairs: relation name -> list of ``(a, b)``; default ``ANALOGY_PAIRS``.

    Returns:
        A DataFrame with columns ``relation``, ``a``, ``b`` and ``offset`` (a 1-D array).

    See: chapters/05_disentanglement/06_features_in_models.
    """
    pairs = ANALOGY_PAIRS if pairs is None else pairs
    E = np.asarray(embeddings, dtype=float)
    if isinstance(words, str):
        raise TypeError("words must be a sequence of strings, not one string")
    if E.ndim != 2 or len(E) != len(words):
        raise ValueError(f"embeddings must have shape (len(words), dim) = ({len(words)}, dim), got {E.shape}")
    index = {w: i for i, w in enumerate(words)}
    rows = []
    for rel, ps in pairs.items():
        for a, b in ps:
            if a not in index or b not in index:
                raise ValueError(f"pair ({a!r}, {b!r}) of relation {rel!r} has a word missing from words")
            rows.append({"relation": rel, "a": a, "b": b, "offset": E[index[b]] - E[index[a]]})
    return pd.DataFrame(rows)


def parallelogram_quality(offsets: np.ndarray, relations: Sequence[str]) -> pd.Series:
    """Mean cosine between the offsets of different pairs of the same relation.

    Two pairs ``(a, b)`` and ``(c, d)`` of a relation form a parallelogram when ``b - a`` and
    ``d - c`` are parallel: cosine 1. A relation scores the mean cosine over all its pairs of
    pairs; a set of random directions in high dimension scores about 0.

    Args:
        offsets: array ``(n, dim)`` of offset vectors.
        relations: length-``n`` labels; each relation needs at least two offsets.

    Returns:
        A Series indexed by relation.

    See: chapters/05_disentanglement/06_features_in_models.
    """
    D = np.asarray(offsets, dtype=float)
    lab = np.asarray(relations)
    if D.ndim != 2 or len(lab) != len(D):
        raise ValueError(f"offsets must be (n, dim) with one relation label per row, got {D.shape} and {len(lab)} labels")
    Dn = D / np.maximum(np.linalg.norm(D, axis=1, keepdims=True), 1e-12)
    out = {}
    for rel in pd.unique(lab):
        X = Dn[lab == rel]
        if len(X) < 2:
            raise ValueError(f"relation {rel!r} needs at least two offsets, got {len(X)}")
        C = X @ X.T
        out[rel] = float((C.sum() - np.trace(C)) / (len(X) * (len(X) - 1)))
    return pd.Series(out, name="parallelogram quality")


@dataclass
class ParallelogramResult:
    """Held-out parallelogram quality before and after linear projections of the offsets.

    Fields: ``table`` (relations x ``raw``/``PCA``/``LDA``, mean cosine between held-out
    offsets of the same relation, with a ``mean`` row), ``lda`` and ``pca`` (the linear maps
    ``(dim, k)`` fitted on the training pairs), ``train`` and ``test`` (the offset tables of
    :func:`analogy_offsets`, split by pair).

    See: chapters/05_disentanglement/06_features_in_models.
    """

    table: pd.DataFrame
    lda: np.ndarray
    pca: np.ndarray
    train: pd.DataFrame
    test: pd.DataFrame


def lda_parallelograms(embeddings: np.ndarray, words: Sequence[str],
                       pairs: dict[str, Sequence[tuple[str, str]]] | None = None,
                       test_frac: float = 0.5, seed: int = 0) -> ParallelogramResult:
    """Do analogy parallelograms sharpen once a linear discriminant projection removes distractors?

    Splits each relation's pairs into training and held-out pairs (``seed``), fits a shrinkage
    linear discriminant analysis (scikit-learn) that separates the training offsets by relation,
    and scores :func:`parallelogram_quality` of the held-out offsets in the raw space, after the
    LDA map, and after a PCA map of the same dimension fitted on the same training offsets
    (the control: a projection that keeps the largest directions of the offsets without using
    the relation labels).

    Args:
        embeddings: array ``(len(words), dim)``.
        words: the words, in the order of ``embeddings``.
        pairs: relation name -> pairs; default ``ANALOGY_PAIRS``.
        test_frac: share of each relation's pairs held out.
        seed: seed of the split.

    Returns:
        A :class:`ParallelogramResult`.

    See: chapters/05_disentanglement/06_features_in_models.
    """
    from sklearn.decomposition import PCA
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    test_frac = float(test_frac)
    if not 0 < test_frac < 1:
        raise ValueError(f"test_frac must be in (0, 1), got {test_frac}")
    off = analogy_offsets(embeddings, words, pairs)
    rng = np.random.default_rng(seed)
    is_test = np.zeros(len(off), dtype=bool)
    for rel in pd.unique(off.relation):
        idx = np.where(off.relation == rel)[0]
        n_test = int(round(test_frac * len(idx)))
        if n_test < 2 or len(idx) - n_test < 2:
            raise ValueError(f"relation {rel!r} has {len(idx)} pairs: too few for test_frac={test_frac}")
        is_test[rng.choice(idx, n_test, replace=False)] = True
    train_df, test_df = off[~is_test].reset_index(drop=True), off[is_test].reset_index(drop=True)
    D_tr, D_te = np.stack(train_df.offset), np.stack(test_df.offset)
    k = train_df.relation.nunique() - 1
    lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto", n_components=k).fit(D_tr, train_df.relation)
    # the linear part of lda.transform (offsets are differences, so the centring cancels)
    M_lda = lda.transform(np.eye(D_tr.shape[1])) - lda.transform(np.zeros((1, D_tr.shape[1])))
    M_pca = PCA(n_components=k).fit(D_tr).components_.T
    table = pd.DataFrame({"raw": parallelogram_quality(D_te, test_df.relation),
                          "PCA": parallelogram_quality(D_te @ M_pca, test_df.relation),
                          "LDA": parallelogram_quality(D_te @ M_lda, test_df.relation)})
    table.loc["mean"] = table.mean()
    return ParallelogramResult(table, M_lda, M_pca, train_df, test_df)


def plot_parallelograms(embeddings: np.ndarray, words: Sequence[str], pairs: Sequence[tuple[str, str, str]],
                        projection: np.ndarray | None = None, ax=None, title: str | None = None):
    """Draw word pairs as arrows ``a -> b`` in two dimensions, coloured by relation.

    Args:
        embeddings: array ``(len(words), dim)``.
        words: the words, in the order of ``embeddings``.
        pairs: ``(relation, a, b)`` triples to draw.
        projection: a ``(dim, k >= 2)`` linear map; its first two columns are drawn. Default:
            the top two principal components of the drawn words.
        ax: matplotlib axes.
        title: axes title.

    Returns:
        The axes.

    See: chapters/05_disentanglement/06_features_in_models.
    """

    E = np.asarray(embeddings, dtype=float)
    index = {w: i for i, w in enumerate(words)}
    used = sorted({w for _, a, b in pairs for w in (a, b)})
    if any(w not in index for w in used):
        raise ValueError(f"pairs use words missing from words: {[w for w in used if w not in index]}")
    if projection is None:
        X = E[[index[w] for w in used]]
        _, _, Vt = np.linalg.svd(X - X.mean(0), full_matrices=False)
        projection = Vt[:2].T
    P = np.asarray(projection, dtype=float)
    if P.ndim != 2 or P.shape[0] != E.shape[1] or P.shape[1] < 2:
        raise ValueError(f"projection must have shape ({E.shape[1]}, k >= 2), got {P.shape}")
    Z = E @ P[:, :2]
    ax = get_axes(ax, figsize=(5, 4.5))
    rels = list(dict.fromkeys(r for r, _, _ in pairs))
    for r, a, b in pairs:
        c = f"C{rels.index(r)}"
        za, zb = Z[index[a]], Z[index[b]]
        ax.annotate("", xy=zb, xytext=za, arrowprops=dict(arrowstyle="->", color=c, lw=1.3))
        ax.scatter([za[0], zb[0]], [za[1], zb[1]], color=c, s=[12, 0])
        ax.text(*za, a, fontsize=7, color=c, ha="right", va="top")
        ax.text(*zb, b, fontsize=7, color=c, ha="left", va="bottom")
    for i, r in enumerate(rels):
        ax.plot([], [], color=f"C{i}", label=r)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    ax.set(xticks=[], yticks=[])
    if title:
        ax.set_title(title)
    return ax


# ======================================================================================
# Plots
# ======================================================================================
def plot_traversal(grid: torch.Tensor, row_labels: Sequence[str] | None = None, ax=None):
    """Show a traversal grid from :func:`latent_traversal` as one image (rows = dimensions).

    See: chapters/05_disentanglement/02_vae_diagnostics.
    """

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


def plot_sprites(data: Sprites, idx: Sequence[int], ax=None, ncols: int = 12):
    """Show some sprites in a grid.

    See: chapters/05_disentanglement/01_identifiability.
    """
    idx = list(idx)
    rows = math.ceil(len(idx) / ncols)
    side = data.images.shape[-1]
    grid = torch.zeros(rows, ncols, side, side)
    for a, i in enumerate(idx):
        grid[a // ncols, a % ncols] = data.images[i, 0]
    ax = plot_traversal(grid, row_labels=[""] * rows, ax=ax)
    ax.set_yticks([])
    ax.set_xticks([])
    return ax


def position_map(code: np.ndarray, data: Sprites) -> np.ndarray:
    """Mean of one latent coordinate at every sprite position: an ``(n_y, n_x)`` array.

    A pure slider for x changes only from column to column (vertical stripes); a coordinate
    that also depends on y has tilted or bent contours.

    Args:
        code: one value per image ``(n,)`` (a column of the codes).
        data: the sprites the codes belong to.

    See: chapters/05_disentanglement/04_attribute_control.
    """
    c = np.asarray(code, dtype=np.float64).reshape(-1)
    if len(c) != len(data):
        raise ValueError(f"code must have one value per image: got {len(c)} for {len(data)} images")
    ny, nx = int(data.factor_sizes[4]), int(data.factor_sizes[3])
    total = np.zeros((ny, nx))
    count = np.zeros((ny, nx))
    np.add.at(total, (data.factors[:, 4], data.factors[:, 3]), c)
    np.add.at(count, (data.factors[:, 4], data.factors[:, 3]), 1)
    return total / np.maximum(count, 1)


def plot_position_map(code: np.ndarray, data: Sprites, ax=None, title: str | None = None):
    """Heat map of :func:`position_map`: x position across, y position down.

    See: chapters/05_disentanglement/04_attribute_control.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    grid = position_map(code, data)
    ax = get_axes(ax, figsize=(3.5, 3.2))
    im = ax.imshow(grid, cmap="coolwarm", origin="upper", aspect="equal")
    ax.set(xlabel="x position (index)", ylabel="y position (index)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(False)
    if title:
        ax.set_title(title)
    plt.colorbar(im, ax=ax, fraction=0.046, label="mean code")
    return ax


def plot_mi_matrix(mi: np.ndarray, factor_names: Sequence[str], ax=None, title: str | None = None):
    """Heat map of a normalized mutual-information matrix (latents x factors).

    See: chapters/05_disentanglement/01_identifiability.
    """
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
