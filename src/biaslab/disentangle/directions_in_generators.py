"""Section 5.5, Directions in generators: reading controls off the decoder's weights (``chapters/05_disentanglement/05_directions_in_generators.md``).
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from ..claims import Claim, Control, at_least, between
from ..core import resolve_device, train
from ..datasets.sprites import Sprites, make_sprites
from ..validation import check_positive_int
from ._shared import SpriteAutoencoder, _as_codes, active_units, encode, reconstruction_error, train_autoencoder

__all__ = [
    "sefa_directions",
    "direction_factor_correlations",
    "factor_directions",
    "subspace_share",
    "HouseholderProjector",
    "householder_finetune",
]


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


def factor_directions(codes: np.ndarray, data: Sprites, factors: tuple[str, ...] = ("x", "y")) -> np.ndarray:
    """The supervised latent direction of each factor: the unit vector of the covariance between
    the codes and the factor's value, the direction in which the codes move, on average, as the
    factor grows (found with labels, as supervised editing methods find attribute directions).

    A covariance rather than a regression: a regression would give large weights to passive
    coordinates, whose tiny variations happen to correlate with a factor, although moving along
    them changes nothing.

    Args:
        codes: latent codes ``(n, d)``.
        data: the sprites the codes describe.
        factors: names of the factors.

    Returns:
        Unit directions as columns ``(d, len(factors))``.
    """
    codes = _as_codes(codes)
    if len(data.values) != len(codes):
        raise ValueError(f"data must have one image per code: got {len(data.values)} for {len(codes)} codes")
    unknown = [f for f in factors if f not in data.factor_names]
    if unknown:
        raise ValueError(f"unknown factors {unknown}; expected names from {data.factor_names}")
    Z = codes - codes.mean(0)
    out = []
    for f in factors:
        v = data.values[:, data.factor_names.index(f)]
        w = Z.T @ (v - v.mean()) / len(v)
        out.append(w / max(np.linalg.norm(w), 1e-12))
    return np.stack(out, 1)


def subspace_share(vectors: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """The share of each vector's squared norm that lies in the span of ``basis``.

    Args:
        vectors: columns ``(d, m)``.
        basis: columns ``(d, k)`` (orthonormalized here).

    Returns:
        Array ``(m,)`` with values in [0, 1].
    """
    V, B = np.asarray(vectors, dtype=np.float64), np.asarray(basis, dtype=np.float64)
    if V.ndim != 2 or B.ndim != 2 or V.shape[0] != B.shape[0]:
        raise ValueError(f"vectors and basis must be (d, m) and (d, k) with the same d, got {V.shape} and {B.shape}")
    Q, _ = np.linalg.qr(B)
    return ((Q.T @ V) ** 2).sum(0) / np.maximum((V ** 2).sum(0), 1e-24)


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
                         device: torch.device | str | None = None) -> tuple[SpriteAutoencoder, pd.DataFrame]:
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
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        ``(fine-tuned copy, history)``.
    """
    if not isinstance(model, SpriteAutoencoder):
        raise TypeError(f"model must be a SpriteAutoencoder, got {type(model).__name__}")
    if not isinstance(data, Sprites):
        raise TypeError(f"data must be Sprites, got {type(data).__name__}")
    if rank is not None:
        rank = check_positive_int(rank, "rank")
        if rank > model.latent_dim:
            raise ValueError(f"rank must be at most the latent width {model.latent_dim}, got {rank}")
    device = resolve_device(device)
    torch.manual_seed(seed)
    ft = copy.deepcopy(model).to(device)
    if rank is not None:
        ft.decoder[0] = HouseholderProjector.from_linear(ft.decoder[0], rank)
    ft.train()
    X = data.flat.to(device)

    def loss_fn(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits, y, reduction="sum") / len(y) + ft.aux

    hist = train(ft, X, X, loss_fn, steps=steps, lr=lr, optimizer="adamw", weight_decay=0.0, batch_size=batch_size,
                 eval_every=max(1, steps // 10), seed=seed, device=device)
    ft.eval()
    ft.aux, ft.last_mu = torch.zeros(()), None
    return ft, hist


def run(seed: int = 0, device: torch.device | str | None = None, steps: int = 3000, finetune_steps: int = 300) -> dict:
    """Everything Section 5.5 shows, for one seed: a beta-VAE (beta = 4) on the full sprites,
    its SeFa spectrum and directions, the share of the supervised x and y directions inside
    the span of the top ``k`` SeFa directions (``k`` = active coordinates), the same share for
    a random ``k``-dimensional subspace and for the bottom ``k`` SeFa directions (the
    controls), and the Householder fine-tuning against the plain model fine-tuned alike.

    Returns:
        ``{"sprites", "vae", "active", "k", "eigvals", "directions", "share", "alignment",
        "householder", "plain_finetuned", "compare"}``.
    """
    device = resolve_device(device)
    sprites = make_sprites()
    vae, _ = train_autoencoder(sprites, "vae", latent_dim=10, beta=4.0, steps=steps, lr=2e-3, seed=seed, device=device)
    active = active_units(vae, sprites)
    k = int(active.sum())
    eigvals, D = sefa_directions(vae)
    mu = encode(vae, sprites)
    sup = factor_directions(mu, sprites)
    rand = np.linalg.qr(np.random.default_rng(seed).normal(size=(D.shape[0], k)))[0]
    share = {"top": subspace_share(sup, D[:, :k]), "random": subspace_share(sup, rand),
             "bottom": subspace_share(sup, D[:, -k:])}
    hh, _ = householder_finetune(vae, sprites, rank=k, steps=finetune_steps, seed=seed, device=device)
    plain_ft, _ = householder_finetune(vae, sprites, rank=None, steps=finetune_steps, seed=seed, device=device)

    def summary(model: SpriteAutoencoder) -> dict:
        vals, dirs = sefa_directions(model)
        c = direction_factor_correlations(encode(model, sprites), dirs[:, :k], sprites)
        return {"reconstruction error (nats)": reconstruction_error(model, sprites),
                "nonzero eigenvalues": int((vals > 1e-6 * vals[0]).sum()),
                "best |corr|, worst of top two": float(c.max(axis=1).iloc[:min(2, k)].min())}

    compare = pd.DataFrame({"plain first layer, as trained": summary(vae), "plain, fine-tuned alike": summary(plain_ft),
                            "Householder projector": summary(hh)})
    return {"sprites": sprites, "vae": vae, "active": active, "k": k, "eigvals": eigvals, "directions": D,
            "share": share, "alignment": compare.loc["best |corr|, worst of top two", "plain first layer, as trained"],
            "householder": hh, "plain_finetuned": plain_ft, "compare": compare}


CLAIMS = (
    Claim(
        key="disentangle.directions_in_generators.sefa_subspace",
        statement=("The top k SeFa directions, computed from the decoder's weights without data or labels, span the "
                   "supervised x and y directions (the covariance of the codes with each factor): the smaller of the "
                   "two shares of squared norm inside their span."),
        cite=("shen_sefa_2021",),
        paper_result=("The top eigenvectors of W^T W of a GAN's first latent-acting layer, found without data or "
                      "training, are semantically meaningful edits (pose, gender, age on StyleGAN faces) comparable to "
                      "those of supervised methods such as InterFaceGAN (qualitative and user study)"),
        paper_where="Shen and Zhou, Secs. 3-4",
        run=run,
        measure=lambda share: float(np.min(share)),
        predicate=at_least(0.9),
        world=lambda r: r["share"]["top"],
        controls=(
            Control("random subspace", "a random k-dimensional subspace of the latent space (expected share k/10)",
                    lambda r: r["share"]["random"]),
            Control("bottom directions", "the k SeFa directions with the smallest eigenvalues",
                    lambda r: r["share"]["bottom"]),
        ),
        note="k = number of active coordinates; share of the unit regression direction's squared norm",
    ),
    Claim(
        key="disentangle.directions_in_generators.single_direction_alignment",
        statement="Each of the top two SeFa directions lines up with one factor: the worse of their best |corr|.",
        cite=("shen_sefa_2021",),
        paper_result="Single top eigenvectors correspond to single attributes on StyleGAN and other GANs (qualitative)",
        paper_where="Shen and Zhou, Sec. 4",
        run=run,
        measure=lambda a: a,
        predicate=at_least(0.9),
        world=lambda r: r["alignment"],
        observation=True,
        note="directions with nearly equal eigenvalues are defined only up to a rotation within their plane",
    ),
    Claim(
        key="disentangle.directions_in_generators.householder_reconstruction",
        statement=("A rank-k Householder projector in place of the decoder's first layer, fine-tuned briefly, "
                   "reconstructs as well as the plain model fine-tuned alike: error ratio."),
        cite=("householder_projector_unsupervised",),
        paper_result=("Replacing StyleGAN's projection by a low-rank orthogonal Householder projector and fine-tuning "
                      "briefly makes each eigenvector a distinct attribute with little loss of image quality "
                      "(qualitative edits; FID close to the original)"),
        paper_where="Song et al., Secs. 4-5",
        run=run,
        measure=lambda c: c.loc["reconstruction error (nats)", "Householder projector"]
        / c.loc["reconstruction error (nats)", "plain, fine-tuned alike"],
        predicate=between(0.98, 1.02),
        world=lambda r: r["compare"],
        observation=True,
        note="reconstruction error of the projector model over that of the plain model fine-tuned with the same recipe",
    ),
    Claim(
        key="disentangle.directions_in_generators.householder_alignment",
        statement=("The projector does not make single directions more factor-aligned here: change of the worse "
                   "best |corr| of the top two directions against the plain model fine-tuned alike."),
        cite=("householder_projector_unsupervised",),
        paper_result="Each eigenvector of the projector becomes a distinct, interpretable attribute (qualitative)",
        paper_where="Song et al., Sec. 5",
        run=run,
        measure=lambda c: c.loc["best |corr|, worst of top two", "Householder projector"]
        - c.loc["best |corr|, worst of top two", "plain, fine-tuned alike"],
        predicate=at_least(0.05),
        world=lambda r: r["compare"],
        observation=True,
        note="positive: the projector's top directions are better aligned",
    ),
)
