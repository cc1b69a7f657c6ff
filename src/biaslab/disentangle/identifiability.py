"""Section 5.1, Is disentanglement identifiable? (``chapters/05_disentanglement/01_identifiability.md``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from ..datasets.sprites import Sprites
from ..validation import check_nonnegative, check_positive_int
from ._shared import SpriteAutoencoder, encode, mig_score, plot_traversal

__all__ = [
    "random_rotation",
    "reference_codes",
    "rotation_experiment",
    "elbo",
    "rotate_latent_space",
    "plot_sprites",
]


def random_rotation(d: int, seed: int = 0) -> torch.Tensor:
    """A random orthogonal ``d x d`` matrix with determinant +1 (Haar-distributed rotation).
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
    """
    n_rotations = check_positive_int(n_rotations, "n_rotations")
    mu = encode(model, data)
    dev = next(model.parameters()).device
    with torch.no_grad():
        x0 = torch.sigmoid(model.decode(torch.from_numpy(mu).float().to(dev)))
    rows = {"original": {"ELBO": elbo(model, data, seed=seed)["elbo"], "max pixel change": 0.0,
                         "MIG": mig_score(mu, data.factors)}}
    for r in range(n_rotations):
        Q = random_rotation(model.latent_dim, 1000 * seed + r)
        rot = rotate_latent_space(model, Q)
        mu_r = encode(rot, data)
        with torch.no_grad():
            x1 = torch.sigmoid(rot.decode(torch.from_numpy(mu_r).float().to(dev)))
        rows[f"rotation {r + 1}"] = {"ELBO": elbo(model, data, seed=seed, rotation=Q)["elbo"],
                                     "max pixel change": float((x1 - x0).abs().max()),
                                     "MIG": mig_score(mu_r, data.factors)}
    return pd.DataFrame(rows).T


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


def plot_sprites(data: Sprites, idx: Sequence[int], ax=None, ncols: int = 12):
    """Show some sprites in a grid.
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
