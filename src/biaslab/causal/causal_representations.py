"""Section 4.5, Causal representations: identifying latent variables (``chapters/04_causal_representation_learning/05_causal_representations.md``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ..core import resolve_device, train
from ..claims import Claim, Control, at_least
from ..validation import check_positive_int, check_tensor
from ._shared import one_thread

__all__ = [
    "mcc",
    "segment_sources",
    "whiten",
    "LinearVAE",
    "fit_latent_model",
    "fastica_mcc",
    "random_rotation_mcc",
    "leaky_mixing",
    "tcl_components",
    "nonlinear_comparison",
]


def mcc(z_true: Any, z_hat: Any) -> float:
    """Mean correlation coefficient between true and recovered latent variables.

    Absolute Pearson correlations between every true and every recovered component are
    matched one-to-one (Hungarian algorithm); the score is the mean over matched pairs, so it
    is invariant to permutation, sign and scale of the recovered components.

    Args:
        z_true: array ``(n, k)`` of true sources.
        z_hat: array ``(n, k)`` of recovered components.

    Returns:
        A float in ``[0, 1]``; 1 means recovery up to permutation and scaling.
    """
    from scipy.optimize import linear_sum_assignment

    a, b = (np.asarray(z.detach().cpu() if isinstance(z, torch.Tensor) else z, dtype=float) for z in (z_true, z_hat))
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"z_true and z_hat must be 2-D (n, k) of the same shape, got {a.shape} and {b.shape}")
    k = a.shape[1]
    c = np.nan_to_num(np.abs(np.corrcoef(a.T, b.T)[:k, k:]))
    rows, cols = linear_sum_assignment(-c)
    return float(c[rows, cols].mean())


def segment_sources(
    n_segments: int = 40, n_per_segment: int = 100, n_sources: int = 5, obs_dim: int = 10, noise: float = 0.05, seed: int = 0,
    variance_range: tuple[float, float] = (0.1, 3.0),
) -> dict[str, torch.Tensor]:
    """Gaussian sources whose variances change across observed segments, mixed linearly.

    Source ``i`` in segment ``u`` is ``N(0, lambda[u, i])`` with ``lambda`` log-uniform in
    [0.1, 3], rescaled so that every source has average variance 1 over the segments;
    observations are ``x = s A + noise`` with a Gaussian random mixing ``A``. Without the
    segment label, Gaussian sources are identifiable only up to a rotation; with it, up to
    permutation and scaling.

    Args:
        n_segments, n_per_segment: segments and samples per segment.
        n_sources, obs_dim: latent and observed dimensions (``obs_dim >= n_sources``).
        noise: observation noise standard deviation.
        seed: seeds everything.
        variance_range: the segment variances are log-uniform in this range; ``(1, 1)`` gives
            stationary Gaussian sources, which no segment label or ICA can separate.

    Returns:
        ``{"x": (n, obs_dim), "u": (n,) long, "s": (n, n_sources)}``.
    """
    n_segments = check_positive_int(n_segments, "n_segments", minimum=2)
    n_sources = check_positive_int(n_sources, "n_sources")
    obs_dim = check_positive_int(obs_dim, "obs_dim")
    if obs_dim < n_sources:
        raise ValueError(f"obs_dim must be >= n_sources, got {obs_dim} < {n_sources}")
    g = torch.Generator().manual_seed(int(seed))
    lo, hi = variance_range
    if not 0 < lo <= hi:
        raise ValueError(f"variance_range must satisfy 0 < low <= high, got {variance_range}")
    lam = torch.exp(torch.empty(n_segments, n_sources).uniform_(np.log(lo), np.log(hi) + 1e-12, generator=g))
    lam = lam / lam.mean(0)  # every source has average variance 1: the pooled covariance is isotropic
    u = torch.arange(n_segments).repeat_interleave(check_positive_int(n_per_segment, "n_per_segment"))
    s = torch.randn(len(u), n_sources, generator=g) * lam[u].sqrt()
    A = torch.randn(n_sources, obs_dim, generator=g)
    x = s @ A + noise * torch.randn(len(u), obs_dim, generator=g)
    return {"x": x, "u": u, "s": s}


def whiten(x: torch.Tensor, dim: int) -> torch.Tensor:
    """PCA whitening: centre ``x``, project it on its ``dim`` leading principal directions and
    scale each projection to unit variance.

    If ``x = s A + small noise`` with sources of identity covariance, the whitened data are
    ``s R`` for an orthogonal ``R`` (up to sampling error): whitening removes the scales and
    angles of the mixing but not its rotation, which second moments cannot see.

    Args:
        x: ``(n, d)`` observations.
        dim: number of directions kept, ``1 <= dim <= d``.

    Returns:
        ``(n, dim)`` tensor with (sample) covariance the identity.
    """
    check_tensor(x, "x")
    dim = check_positive_int(dim, "dim")
    if dim > x.shape[1]:
        raise ValueError(f"dim must be <= the number of columns of x ({x.shape[1]}), got {dim}")
    xc = x - x.mean(0)
    evals, evecs = torch.linalg.eigh(xc.T @ xc / len(x))
    evals, evecs = evals.flip(0)[:dim], evecs.flip(1)[:, :dim]
    if evals[-1] <= 1e-12 * evals[0]:
        raise ValueError(f"x has fewer than {dim} directions with nonzero variance")
    return xc @ evecs / evals.sqrt()


class LinearVAE(nn.Module):
    """A VAE with a linear Gaussian encoder and decoder; with ``n_segments`` it is an
    identifiable VAE (iVAE): the prior ``p(z | u) = N(0, diag(lambda_u))`` has a learned
    variance per segment ``u``; without it the prior is ``N(0, I)``.
    """

    def __init__(self, obs_dim: int, latent_dim: int, n_segments: int | None = None) -> None:
        super().__init__()
        self.enc = nn.Linear(obs_dim, latent_dim)
        # one posterior variance shared by all latents, so that nothing but the prior can prefer
        # one rotation of the latent space over another (why it needs whitening: fit_latent_model)
        self.enc_logvar = nn.Parameter(torch.tensor(-2.0))
        self.dec = nn.Linear(latent_dim, obs_dim)
        self.dec_logvar = nn.Parameter(torch.tensor(-2.0))
        self.prior_logvar = nn.Embedding(n_segments, latent_dim) if n_segments else None
        if self.prior_logvar is not None:
            nn.init.zeros_(self.prior_logvar.weight)

    def loss(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Negative ELBO per sample (up to a constant)."""
        mu = self.enc(x)
        z = mu + torch.randn_like(mu) * (0.5 * self.enc_logvar).exp()
        rec = ((x - self.dec(z)) ** 2).sum(1) / self.dec_logvar.exp() / 2 + 0.5 * x.shape[1] * self.dec_logvar
        plv = self.prior_logvar(u) if self.prior_logvar is not None else torch.zeros_like(mu)
        qv = self.enc_logvar.exp()
        kl = 0.5 * ((qv + mu**2) / plv.exp() + plv - self.enc_logvar - 1).sum(1)
        return (rec + kl).mean()


def fit_latent_model(
    data: dict[str, torch.Tensor], identifiable: bool, steps: int = 1000, lr: float = 2e-2, seed: int = 0,
    whiten_x: bool = True, device: torch.device | str | None = None,
) -> float:
    """Train a :class:`LinearVAE` (iVAE when ``identifiable``) and return the MCC of its
    posterior means against the true sources.

    Args:
        data: :func:`segment_sources`.
        identifiable: use the segment label in the prior.
        steps, lr: full-batch Adam (:func:`biaslab.core.train`).
        seed: seeds the initialization and the sampling noise.
        whiten_x: train on :func:`whiten`-ed observations (as many directions as sources),
            which tells neither model where the sources are (see :func:`whiten`); it makes the
            mixing orthogonal, the case where the model's single posterior variance can match
            the true posterior, and the optimization well conditioned.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        The mean correlation coefficient (:func:`mcc`).
    """
    dev = resolve_device(device)
    torch.manual_seed(int(seed))
    x, u, s = data["x"], data["u"], data["s"]
    if whiten_x:
        x = whiten(x, s.shape[1])
    model = LinearVAE(x.shape[1], s.shape[1], int(u.max()) + 1 if identifiable else None)
    steps = check_positive_int(steps, "steps")
    with one_thread(dev):
        train(model, x, u, None, steps, lr=lr, objective=lambda m, xb, ub: m.loss(xb, ub),
              eval_every=steps, seed=seed, device=dev)
        with torch.no_grad():
            z = model.enc(x.to(dev)).cpu()
    return mcc(s, z)


def _fastica(x: np.ndarray, n_components: int, seed: int) -> np.ndarray:
    """scikit-learn's FastICA as the section runs it (unit-variance whitening, 1,000 iterations)."""
    from sklearn.decomposition import FastICA

    return FastICA(n_components=n_components, whiten="unit-variance", random_state=seed, max_iter=1000).fit_transform(x)


def fastica_mcc(data: dict[str, torch.Tensor], seed: int = 0) -> float:
    """MCC of scikit-learn's FastICA (no segment label) against the true sources: linear ICA
    identifies non-Gaussian sources of a linear mixture up to permutation and scaling."""
    s = data["s"].numpy()
    return mcc(s, _fastica(data["x"].numpy(), s.shape[1], seed))


def random_rotation_mcc(data: dict[str, torch.Tensor], seed: int = 0) -> float:
    """MCC of the whitened observations turned by a uniformly random rotation: what a model
    that can identify the sources only up to a rotation scores by chance."""
    from scipy.stats import special_ortho_group

    s = data["s"]
    R = torch.tensor(special_ortho_group.rvs(s.shape[1], random_state=seed), dtype=torch.float32)
    return mcc(s, whiten(data["x"], s.shape[1]) @ R)


def leaky_mixing(s: torch.Tensor, layers: int = 3, slope: float = 0.2, seed: int = 0) -> torch.Tensor:
    """An invertible nonlinear mixing: ``layers`` times a random rotation, then a leaky ReLU.

    The mixing of the nonlinear ICA simulations of Hyvarinen and Morioka (2016) and Khemakhem
    et al. (2020): square, well-conditioned (orthogonal) layers, each followed by a leaky ReLU of
    slope ``slope``, so the map is a bijection but no linear unmixing undoes it.

    Args:
        s: ``(n, k)`` sources.
        layers: number of mixing layers (>= 1).
        slope: the leaky ReLU's slope for negative inputs, in (0, 1].
        seed: seeds the rotations.

    Returns:
        ``(n, k)`` observations.
    """
    check_tensor(s, "s")
    layers = check_positive_int(layers, "layers")
    if not 0 < slope <= 1:
        raise ValueError(f"slope must be in (0, 1], got {slope}")
    g = torch.Generator().manual_seed(int(seed) + 7)
    h = s
    for _ in range(layers):
        h = nn.functional.leaky_relu(h @ torch.linalg.qr(torch.randn(s.shape[1], s.shape[1], generator=g))[0], slope)
    return h


class _TCLNet(nn.Module):
    """Time-contrastive learning: features ``|h(x)|`` feed a multinomial regression on the segment."""

    def __init__(self, dim: int, n_segments: int, width: int) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Linear(dim, width), nn.LeakyReLU(0.2), nn.Linear(width, width),
                                      nn.LeakyReLU(0.2), nn.Linear(width, dim))
        self.head = nn.Linear(dim, n_segments)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Segment logits."""
        return self.head(self.features(x).abs())


def tcl_components(x: torch.Tensor, u: torch.Tensor, steps: int = 500, width: int = 64, seed: int = 0,
                   device: torch.device | str | None = None) -> np.ndarray:
    """Time-contrastive learning (Hyvarinen and Morioka, 2016) followed by linear ICA.

    An MLP feature extractor, ending in an absolute value, is trained with a multinomial
    logistic regression to tell which segment ``u`` each observation comes from (full-batch
    Adam on cross-entropy). For sources whose variances change across segments, the trained
    features are a linear mixture of functions of the individual sources (their squares, up to
    the network's approximation); FastICA on the features undoes that linear mixture.

    Args:
        x: ``(n, k)`` observations (standardized inside).
        u: ``(n,)`` segment labels ``0 .. n_segments - 1``.
        steps: training steps.
        width: hidden units of the feature extractor.
        seed: seeds the initialization and FastICA.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        ``(n, k)`` recovered components, to be compared with ``|s|``.
    """
    check_tensor(x, "x")
    if not isinstance(u, torch.Tensor) or u.shape != (len(x),):
        raise ValueError("u must be a 1-D tensor of segment labels, one per row of x")
    dev = resolve_device(device)
    torch.manual_seed(int(seed))
    net = _TCLNet(x.shape[1], int(u.max()) + 1, check_positive_int(width, "width"))
    xs = (x - x.mean(0)) / x.std(0)
    train(net, xs, u.long(), nn.functional.cross_entropy, steps=check_positive_int(steps, "steps"), lr=3e-3,
          eval_every=steps, seed=seed, device=dev)
    with torch.no_grad():
        h = net.features(xs.to(dev)).abs().cpu().numpy()
    return _fastica(h, x.shape[1], seed)


def nonlinear_comparison(seed: int = 0, layers: int = 3, steps: int = 500,
                         device: torch.device | str | None = None) -> dict[str, float]:
    """FastICA against time-contrastive learning on segment-modulated sources, nonlinearly mixed.

    The sources of :func:`segment_sources` (five, 40 segments, no observation noise) go through
    :func:`leaky_mixing`. What is identifiable from the segment label is each source up to sign
    and a monotone function of its magnitude, so every method is scored by the MCC with
    ``|s|`` (FastICA's components by their absolute value); FastICA's MCC with the signed
    sources is reported beside it.

    Args:
        seed: seeds the data, the mixing, the networks and FastICA.
        layers: mixing layers (:func:`leaky_mixing`).
        steps, device: passed to :func:`tcl_components`.

    Returns:
        ``fastica`` (MCC with ``|s|``), ``fastica_signed`` (MCC with ``s``), ``tcl`` and
        ``tcl_shuffled`` (the same training with the segment labels permuted across samples).
    """
    d = segment_sources(seed=seed, obs_dim=5, noise=0.0)
    s, u = d["s"], d["u"]
    x = leaky_mixing(s, layers=layers, seed=seed)
    ica = _fastica(x.numpy(), s.shape[1], seed)
    shuffled = u[torch.randperm(len(u), generator=torch.Generator().manual_seed(seed))]
    return {
        "fastica": mcc(s.abs(), np.abs(ica)), "fastica_signed": mcc(s, ica),
        "tcl": mcc(s.abs(), tcl_components(x, u, steps=steps, seed=seed, device=device)),
        "tcl_shuffled": mcc(s.abs(), tcl_components(x, shuffled, steps=steps, seed=seed, device=device)),
    }


# full-batch Adam steps of the runner's three latent-model fits (the identifiable VAE reaches
# an MCC of 0.998 or more by then for seeds 0-9)
LATENT_STEPS = 700


def run(seed: int = 0, device: torch.device | str | None = None) -> dict[str, Any]:
    """Everything section 4.5 shows and its claims read, for one seed.

    Returns:
        MCCs on :func:`segment_sources` data (``vae``, ``ivae``, ``ivae_shuffled`` with the
        segment labels permuted, ``fastica``, ``rotation``), ``fastica_gaussian`` (FastICA on
        sources whose variance never changes, pooled Gaussian), and ``nonlinear``
        (:func:`nonlinear_comparison`).
    """
    data = segment_sources(seed=seed)
    shuffled = dict(data, u=data["u"][torch.randperm(len(data["u"]), generator=torch.Generator().manual_seed(seed))])
    gaussian = segment_sources(seed=seed, variance_range=(1.0, 1.0))
    return {
        "data": data,
        "vae": fit_latent_model(data, identifiable=False, steps=LATENT_STEPS, seed=seed, device=device),
        "ivae": fit_latent_model(data, identifiable=True, steps=LATENT_STEPS, seed=seed, device=device),
        "ivae_shuffled": fit_latent_model(shuffled, identifiable=True, steps=LATENT_STEPS, seed=seed, device=device),
        "fastica": fastica_mcc(data, seed), "rotation": random_rotation_mcc(data, seed),
        "fastica_gaussian": fastica_mcc(gaussian, seed),
        "nonlinear": nonlinear_comparison(seed=seed, device=device),
    }


_IVAE = ("With an observed auxiliary variable that modulates the sources' distribution (here their variances per "
         "segment), the iVAE identifies the latents up to permutation and pointwise transformation; on their "
         "simulations it recovers the sources (MCC near 0.9 or more) where a plain VAE does not.")
_SHUFFLED = "with the segment labels permuted across samples, so the label carries no information"

CLAIMS = (
    Claim(
        key="causal.causal_representations.fastica_needs_no_label", run=run, cite=("hyvarinen_ica_2000",),
        statement="with linear mixing, label-free FastICA recovers the segment-modulated sources (MCC >= 0.95)",
        paper_result="Linear ICA identifies a linear mixture of independent sources, at most one of them Gaussian, "
                     "up to permutation and scaling.",
        paper_where="the identifiability of ICA (Sec. 3)", world=lambda r: r["fastica"], measure=lambda v: v,
        predicate=at_least(0.95),
        controls=(Control("stationary Gaussian sources", "the same mixing of sources whose variance never changes: "
                          "pooled, they are Gaussian, identifiable only up to a rotation", lambda r: r["fastica_gaussian"]),),
    ),
    Claim(
        key="causal.causal_representations.ivae_uses_the_label", run=run, cite=("khemakhem_ivae_2020",),
        statement="the identifiable VAE, given the segment label, recovers the sources (MCC >= 0.97)",
        paper_result=_IVAE, paper_where="Sec. 6 (simulations)", world=lambda r: r["ivae"], measure=lambda v: v,
        predicate=at_least(0.97),
        controls=(Control("shuffled labels", f"the same model trained {_SHUFFLED}", lambda r: r["ivae_shuffled"]),),
    ),
    Claim(
        key="causal.causal_representations.vae_is_a_rotation", run=run, cite=("khemakhem_ivae_2020",),
        statement="the plain linear VAE (probabilistic PCA) scores like a random rotation: MCC of the VAE minus that of "
                  "a random rotation of the whitened data",
        paper_result=_IVAE, paper_where="Sec. 6 (simulations)", world=lambda r: r["vae"] - r["rotation"],
        measure=lambda v: v, predicate=at_least(0.1), observation=True,
    ),
    Claim(
        key="causal.causal_representations.tcl_needs_the_label", run=run, cite=("hyvarinen_tcl_2016",),
        statement="with nonlinear mixing, time-contrastive learning on the segment label recovers |s| better than "
                  "label-free FastICA: its MCC is at least 0.1 higher",
        paper_result="On simulated nonstationary sources mixed by leaky-ReLU MLPs of one to five layers, TCL "
                     "followed by linear ICA recovers the sources with a higher mean absolute correlation than the "
                     "baselines without segment information (kernel ICA, a denoising autoencoder), the accuracy "
                     "falling as the mixing deepens.",
        paper_where="Sec. 5 (simulations)", world=lambda r: r["nonlinear"], measure=lambda v: v["tcl"] - v["fastica"],
        predicate=at_least(0.1),
        controls=(Control("shuffled labels", f"the same TCL training {_SHUFFLED}",
                          lambda r: dict(r["nonlinear"], tcl=r["nonlinear"]["tcl_shuffled"])),),
        note="three mixing layers; MCC with |s|, since the segment variances identify each source only up to sign",
    ),
)
