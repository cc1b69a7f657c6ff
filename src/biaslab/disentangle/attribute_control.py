"""Section 5.4, Attribute control: a latent dimension as a fader (``chapters/05_disentanglement/04_attribute_control.md``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..claims import Claim, Control, at_least
from ..datasets.sprites import Sprites, make_sprites
from ..plotting import get_axes
from ._shared import _as_codes, encode, train_autoencoder

__all__ = [
    "attribute_monotonicity",
    "position_map",
    "plot_position_map",
]


def attribute_monotonicity(codes: np.ndarray, attribute: np.ndarray) -> pd.Series:
    """Absolute Spearman rank correlation between each latent dimension and an attribute.

    A dimension that works as a *fader* for the attribute (moving it moves the attribute in one
    direction only) has a rank correlation near 1.

    Args:
        codes: latent codes ``(n, d)``.
        attribute: one value per code ``(n,)``.

    Returns:
        Series indexed ``z0 .. z{d-1}``.
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


def position_map(code: np.ndarray, data: Sprites) -> np.ndarray:
    """Mean of one latent coordinate at every sprite position: an ``(n_y, n_x)`` array.

    A pure slider for x changes only from column to column (vertical stripes); a coordinate
    that also depends on y has tilted or bent contours.

    Args:
        code: one value per image ``(n,)`` (a column of the codes).
        data: the sprites the codes belong to.
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


# --------------------------------------------------------------------------------------
# the section's runner and claims
# --------------------------------------------------------------------------------------
def run(seed: int = 0, device: torch.device | str | None = None) -> dict:
    """Everything Section 5.4 shows and checks, for one seed: on 32x32 sprites with 16 x and
    16 y positions (3,072 images), 80% (a seeded random split) train a plain VAE, the same VAE
    with the attribute regularizer on ``z0`` for the x position, and a beta = 4 VAE, all with
    the same architecture, steps and seed; the other 20% are held out for every score.

    Returns:
        ``{"sprites", "train", "test", "plain", "ar", "beta4", "codes_plain", "codes_ar",
        "codes_beta4", "rho_plain", "rho_ar", "rho_beta4", "best", "probe"}``: the split
        (index arrays), the models, their codes of all sprites, the held-out
        :func:`attribute_monotonicity` Series over the coordinates, each unsupervised model's
        best coordinate for x chosen on the training images (``best``: a Series of held-out
        correlations named by model), and the held-out absolute Spearman correlation of a linear regression of
        x on the plain VAE's code fitted on the training images (``probe``).
    """
    from scipy.stats import spearmanr
    from sklearn.linear_model import LinearRegression

    sprites = make_sprites(size=32, n_scale=2, n_rotation=2, n_x=16, n_y=16)
    x_pos = sprites.values[:, 3]
    perm = np.random.default_rng(seed).permutation(len(sprites))
    test, train = np.sort(perm[: len(perm) // 5]), np.sort(perm[len(perm) // 5:])
    settings = dict(latent_dim=10, steps=1500, lr=2e-3, seed=seed, device=device)
    models = {"plain": train_autoencoder(sprites.images[train], "vae", beta=1.0, **settings)[0],
              "ar": train_autoencoder(sprites.images[train], "vae", beta=1.0, attribute=x_pos[train], **settings)[0],
              "beta4": train_autoencoder(sprites.images[train], "vae", beta=4.0, **settings)[0]}
    out: dict = {"sprites": sprites, "train": train, "test": test, **models}
    best = {}
    for name, model in models.items():
        codes = encode(model, sprites)
        out[f"codes_{name}"] = codes
        out[f"rho_{name}"] = attribute_monotonicity(codes[test], x_pos[test])
        best[name] = out[f"rho_{name}"][attribute_monotonicity(codes[train], x_pos[train]).idxmax()]
    out["best"] = pd.Series(best, name="held-out |Spearman| of the best training coordinate")
    probe = LinearRegression().fit(out["codes_plain"][train], x_pos[train])
    out["probe"] = abs(float(spearmanr(probe.predict(out["codes_plain"][test]), x_pos[test]).statistic))
    return out


CLAIMS = (
    Claim(
        key="disentangle.attribute_control.regularized_fader",
        statement=("The coordinate the regularizer is put on (z0) orders held-out sprites by x position with a "
                   "Spearman correlation of at least 0.98."),
        cite=("pati_arvae_2021",),
        paper_result=("after training with the attribute regularizer, the regularized latent dimension is monotonic "
                      "in its attribute, so that changing that one code changes the attribute, on image data sets "
                      "(dSprites, Morpho-MNIST) and on symbolic music"),
        paper_where="Pati and Lerch, Secs. 4-5",
        run=run,
        measure=float,
        predicate=at_least(0.98),
        world=lambda r: r["rho_ar"]["z0"],
        controls=(Control("plain VAE, best coordinate",
                          "the same VAE and training without the regularizer; its best coordinate for x, chosen "
                          "on the training images with the labels (a choice the regularized model does not get)",
                          lambda r: r["best"]["plain"]),
                  Control("beta = 4 VAE, best coordinate", "the same, with four times the KL weight, whose stronger "
                          "pull towards the axes can make a coordinate a slider without labels",
                          lambda r: r["best"]["beta4"]),
                  Control("linear probe on the plain VAE", "a linear regression of x on all ten coordinates of the "
                          "plain VAE, fitted on the training images: the same labels, used after training",
                          lambda r: r["probe"])),
        note="|Spearman| with x over the 614 held-out sprites; every model trained on the other 2,458",
    ),
)
