"""Section 5.3, Structured latents: quantization and factorized codebooks (``chapters/05_disentanglement/03_structured_latents.md``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from ..core import resolve_device, train
from ..datasets.sprites import Sprites
from ..validation import check_positive_int

__all__ = [
    "VQAutoencoder",
    "train_vq_autoencoder",
    "codebook_usage",
]


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
    device: torch.device | str | None = None,
) -> tuple[VQAutoencoder, pd.DataFrame]:
    """Train a :class:`VQAutoencoder` (Bernoulli likelihood plus codebook and commitment losses).

    Args:
        data: :class:`Sprites` or images ``(n, ...)`` with values in [0, 1].
        n_codebooks, codebook_size, code_dim, hidden: model settings (see :class:`VQAutoencoder`).
        steps, batch_size, lr: Adam settings.
        seed: seed of the initialization, the codebook's starting entries and the batches.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        ``(model, history)``, the model in eval mode.
    """
    X = data.flat if isinstance(data, Sprites) else data
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"data must be Sprites or a tensor, got {type(data).__name__}")
    X = X.reshape(len(X), -1).float()
    device = resolve_device(device)
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
                 eval_every=max(1, steps // 20), seed=seed, device=device)
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
