"""Section 5.8, Challenging common assumptions, in miniature (``chapters/05_disentanglement/08_unsupervised_study.md``).

A grid of beta-VAE, beta-TCVAE and FactorVAE runs on the procedural sprites, two
regularization strengths each and several seeds, trained side by side as one batched
ensemble (each run has its own parameters, initialization, minibatches and optimizer state;
nothing is shared but the matrix multiplications), then scored with the chapter's metrics
and with the unsupervised scores a practitioner could use for model selection.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr
from torch import nn
from torch.nn import functional as F

from ..claims import Claim, Control, at_least, at_most
from ..core import resolve_device, train
from ..datasets.sprites import Sprites, make_sprites
from ..plotting import get_axes
from ..validation import check_keys, check_nonnegative, check_positive_int
from ._shared import _as_codes, dci_scores, mig_score, modularity_explicitness

__all__ = [
    "OBJECTIVES",
    "VAEEnsemble",
    "train_vae_ensemble",
    "gaussian_total_correlation",
    "study_scores",
    "variance_ratio",
    "interleaved_settings",
    "min_rank_agreement",
    "selection_regret",
    "tc_ratio",
    "plot_study",
]

OBJECTIVES = ("beta-VAE", "beta-TCVAE", "FactorVAE")
METRICS = ("MIG", "DCI disentanglement", "modularity")  # the supervised scores the claims pool


class _Linear(nn.Module):
    """``R`` independent linear layers applied to ``R`` batches at once (``(R, B, in) -> (R, B, out)``)."""

    def __init__(self, runs: int, d_in: int, d_out: int) -> None:
        super().__init__()
        bound = 1 / math.sqrt(d_in)  # nn.Linear's default initialization, one draw per run
        self.weight = nn.Parameter(torch.empty(runs, d_in, d_out).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(runs, 1, d_out).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


def _mlp(runs: int, sizes: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [_Linear(runs, a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


class VAEEnsemble(nn.Module):
    """``len(objectives)`` MLP VAEs with their own weights, trained side by side.

    Run ``r`` minimizes its own objective (``objectives[r]``, strength ``strengths[r]``):
    ``"beta-VAE"``, reconstruction + beta KL; ``"beta-TCVAE"``, reconstruction + KL +
    (beta - 1) TC, with the total correlation estimated by minibatch-weighted sampling as in
    Chen et al.; ``"FactorVAE"``, reconstruction + KL + gamma TC, with the total correlation
    estimated by a discriminator between codes and codes permuted dimension by dimension, as
    in Kim and Mnih. The losses of the runs are summed, so each run's gradient is its own.

    Args:
        objectives: one objective name per run.
        strengths: beta (beta-VAE, beta-TCVAE) or gamma (FactorVAE) per run.
        n_data: size of the data set (the minibatch-weighted estimator needs it).
        in_dim, latent_dim, hidden: sizes of each VAE (two hidden layers each way); the
            discriminators have two hidden layers of ``hidden`` units.
    """

    def __init__(self, objectives: Sequence[str], strengths: Sequence[float], n_data: int, in_dim: int = 256,
                 latent_dim: int = 10, hidden: int = 64) -> None:
        super().__init__()
        if len(objectives) != len(strengths) or not objectives:
            raise ValueError("objectives and strengths must be non-empty and of the same length")
        unknown = sorted(set(objectives) - set(OBJECTIVES))
        if unknown:
            raise ValueError(f"unknown objectives {unknown}; expected names from {OBJECTIVES}")
        self.objectives = list(objectives)
        self.tc_runs = [i for i, o in enumerate(self.objectives) if o == "beta-TCVAE"]
        self.register_buffer("strength", torch.tensor([check_nonnegative(s, "strengths") for s in strengths]))
        r = len(objectives)
        self.runs, self.n_data = r, check_positive_int(n_data, "n_data", 2)
        self.in_dim, self.latent_dim = check_positive_int(in_dim, "in_dim"), check_positive_int(latent_dim, "latent_dim")
        hidden = check_positive_int(hidden, "hidden")
        self.encoder = _mlp(r, [in_dim, hidden, hidden, 2 * latent_dim])
        self.decoder = _mlp(r, [latent_dim, hidden, hidden, in_dim])
        self.discriminator = _mlp(r, [latent_dim, hidden, hidden, 2])
        mask = lambda name: torch.tensor([o == name for o in objectives], dtype=torch.float32)[:, None]  # noqa: E731
        for name, attr in zip(OBJECTIVES, ("is_beta", "is_tc", "is_factor")):
            self.register_buffer(attr, mask(name))
        self.last_z: torch.Tensor | None = None

    def encode_params(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior means and log-variances ``(R, B, d)`` of a batch ``(R, B, in_dim)``."""
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar.clamp(-12, 6)

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """Sum over runs of each run's mean objective on its own batch ``x`` of shape ``(R, B, in_dim)``."""
        mu, logvar = self.encode_params(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        rec = F.binary_cross_entropy_with_logits(self.decoder(z), x, reduction="none").sum(-1)  # (R, B)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(-1)
        # beta-TCVAE: minibatch-weighted sampling estimate of the total correlation of q(z),
        # computed for the beta-TCVAE runs only (it is quadratic in the batch)
        tc_mws = torch.zeros_like(kl)
        if self.tc_runs:
            idx = torch.tensor(self.tc_runs, device=x.device)
            m, lv, zt = mu[idx], logvar[idx], z[idx]
            lq = -0.5 * ((zt.unsqueeze(2) - m.unsqueeze(1)) ** 2 / lv.exp().unsqueeze(1) + lv.unsqueeze(1)
                         + math.log(2 * math.pi))  # (R_tc, B, B, d): log q(z_i | x_j) per dimension
            norm = math.log(lq.shape[2] * self.n_data)
            log_qz = torch.logsumexp(lq.sum(-1), dim=2) - norm
            log_prod = (torch.logsumexp(lq, dim=2) - norm).sum(-1)
            tc_mws = tc_mws.index_copy(0, idx, log_qz - log_prod)
        # FactorVAE: density-ratio estimate of the total correlation, log D(z) / (1 - D(z))
        logits = self.discriminator(z)
        tc_disc = logits[..., 0] - logits[..., 1]
        self.last_z = z.detach()
        s = self.strength[:, None]
        reg = (self.is_beta * s * kl + self.is_tc * (kl + (s - 1) * tc_mws) + self.is_factor * (kl + s * tc_disc))
        return (rec + reg).mean(1).sum()

    def discriminator_loss(self, z: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the discriminators on codes (class 0) against codes with every
        dimension permuted independently across the batch (class 1), FactorVAE runs only."""
        R, B, d = z.shape
        perm = torch.argsort(torch.rand(R, B, d, device=z.device), dim=1)
        z_perm = torch.gather(z, 1, perm)
        logits = torch.cat([self.discriminator(z), self.discriminator(z_perm)], 1)  # (R, 2B, 2)
        target = torch.cat([torch.zeros(R, B), torch.ones(R, B)], 1).long().to(z.device)
        ce = F.cross_entropy(logits.reshape(-1, 2), target.reshape(-1), reduction="none").reshape(R, -1).mean(1)
        return (ce * self.is_factor[:, 0]).sum()


def train_vae_ensemble(data: Sprites, objectives: Sequence[str], strengths: Sequence[float], seeds: Sequence[int],
                       steps: int = 2000, batch_size: int = 64, lr: float = 3e-3, latent_dim: int = 10,
                       hidden: int = 64, device: torch.device | str | None = None) -> tuple[VAEEnsemble, pd.DataFrame]:
    """Train one VAE per entry of ``objectives`` side by side (:class:`VAEEnsemble`).

    Run ``r`` is initialized from ``seeds[r]`` and draws its own minibatches (a fixed random
    relabelling of the images, also from ``seeds[r]``, applied to shared batch indices), so that
    runs with different seeds differ in initialization and data order, as separate runs would.
    The VAEs are trained with Adam by :func:`biaslab.core.train`; the FactorVAE discriminators
    take one Adam step (learning rate 1e-4, beta1 = 0.5, as in disentanglement_lib) after
    every VAE step, on the codes of that step.

    Args:
        data: the sprites.
        objectives, strengths: see :class:`VAEEnsemble`.
        seeds: one seed per run.
        steps, batch_size, lr: training settings.
        latent_dim, hidden: model sizes.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        ``(ensemble, history)``; the ensemble is in eval mode.
    """
    if not isinstance(data, Sprites):
        raise TypeError(f"data must be Sprites, got {type(data).__name__}")
    if len(seeds) != len(objectives):
        raise ValueError(f"seeds must have one entry per run: got {len(seeds)} for {len(objectives)} runs")
    device = resolve_device(device)
    X = data.flat.float()
    n = len(X)
    models = []
    for s in seeds:  # each run's initialization comes from its own seed
        torch.manual_seed(int(s))
        models.append(VAEEnsemble(["beta-VAE"], [1.0], n, X.shape[1], latent_dim, hidden).state_dict())
    ens = VAEEnsemble(objectives, strengths, n, X.shape[1], latent_dim, hidden)
    with torch.no_grad():
        for name, p in ens.named_parameters():
            p.copy_(torch.cat([m[name] for m in models]))
    ens.to(device)
    order = torch.stack([torch.randperm(n, generator=torch.Generator().manual_seed(10_007 * int(s) + 1)) for s in seeds], 1)
    images = X.to(device)
    vae_params = [p for name, p in ens.named_parameters() if not name.startswith("discriminator")]
    disc_opt = torch.optim.Adam(ens.discriminator.parameters(), lr=1e-4, betas=(0.5, 0.9))

    def objective(model: VAEEnsemble, idx: torch.Tensor, _: object) -> torch.Tensor:
        # the first record of core.train scores the whole data set; the TC estimator is
        # quadratic in the batch, so that record uses the first batch's worth of images
        return model.loss(images[idx[:batch_size].T])  # (R, B, pixels): each run's own images

    def discriminator_step(model: VAEEnsemble, step: int, loss: torch.Tensor) -> None:
        # a step of its own: FactorVAE's discriminator update is the method
        disc_opt.zero_grad(set_to_none=True)
        model.discriminator_loss(model.last_z).backward()
        disc_opt.step()

    hist = train(ens, order, None, None, steps=steps, lr=lr, batch_size=batch_size, replacement=True,
                 objective=objective, params=vae_params, on_step=discriminator_step, eval_every=max(1, steps // 10),
                 seed=int(seeds[0]), device=device)
    ens.eval()
    ens.last_z = None
    return ens, hist


def gaussian_total_correlation(codes: np.ndarray | torch.Tensor) -> float:
    """Total correlation (nats) of a Gaussian fitted to the codes: the KL divergence between it
    and the product of its marginals, ``0.5 (sum log diag(C) - log det C)`` for the covariance
    ``C`` (disentanglement_lib's ``gaussian_total_correlation``). Zero for uncorrelated codes."""
    C = np.cov(_as_codes(codes), rowvar=False)
    sign, logdet = np.linalg.slogdet(C)
    if sign <= 0:
        return float("inf")
    return float(0.5 * (np.log(np.diag(C)).sum() - logdet))


@torch.no_grad()
def study_scores(ens: VAEEnsemble, data: Sprites, seed: int = 0) -> pd.DataFrame:
    """Every score of every run of a trained ensemble, one row per run.

    Supervised (need the factors; computed on the posterior means): MIG, DCI disentanglement,
    information-based modularity, and MIG on each half of the images (for a test-retest
    control). Unsupervised (what model selection without labels can use): the
    reconstruction error and the ELBO per image (beta = 1, one posterior sample), the KL term,
    and the Gaussian total correlation of the sampled and of the mean representation.

    Returns:
        A DataFrame with one row per run.
    """
    dev = next(ens.parameters()).device
    X = data.flat.float().to(dev)
    mu, logvar = ens.encode_params(X.expand(ens.runs, -1, -1))
    g = torch.Generator(device=dev).manual_seed(int(seed))
    z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=g, device=dev)
    rec = F.binary_cross_entropy_with_logits(ens.decoder(z), X.expand(ens.runs, -1, -1), reduction="none").sum(-1)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(-1)
    half = np.random.default_rng(seed).permutation(len(X)) < len(X) // 2
    rows = []
    for r in range(ens.runs):
        m, zs = mu[r].cpu().numpy(), z[r].cpu().numpy()
        mod = modularity_explicitness(m, data.factors, seed=seed, explicitness=False)
        rows.append({"MIG": mig_score(m, data.factors),
                     "DCI disentanglement": dci_scores(m, data.factors, seed=seed, n_estimators=10)["disentanglement"],
                     "modularity": mod["modularity"],
                     "MIG, half A": mig_score(m[half], data.factors[half]),
                     "MIG, half B": mig_score(m[~half], data.factors[~half]),
                     "reconstruction": float(rec[r].mean()), "ELBO": float(-(rec[r] + kl[r]).mean()),
                     "KL": float(kl[r].mean()), "TC, sampled": gaussian_total_correlation(zs),
                     "TC, mean": gaussian_total_correlation(m)})
    return pd.DataFrame(rows)


def variance_ratio(table: pd.DataFrame, score: str, by: Sequence[str] = ("objective", "strength")) -> float:
    """How much of a score's spread is due to the seed: the mean variance across seeds within
    each setting, divided by the variance of the settings' means.

    Above 1, two seeds of one setting differ more, on average, than the settings do.

    Args:
        table: one row per run, with the columns of ``by`` and ``score``.
        score: the column to analyse.
        by: the columns that define a setting.

    Returns:
        The ratio (``inf`` when every setting has the same mean).
    """
    groups = table.groupby(list(by))[score]
    within = float(groups.var(ddof=1).mean())
    between = float(groups.mean().var(ddof=1))
    return within / between if between > 0 else float("inf")


def interleaved_settings(table: pd.DataFrame, scores: Sequence[str],
                         by: Sequence[str] = ("objective", "strength")) -> float:
    """How often the seed reverses the order of two settings: the share of the pairs of settings
    whose runs interleave (the best run of the worse setting beats the worst run of the better
    one), averaged over ``scores``.

    0 when every setting's runs lie apart from every other's, as when the setting decides the
    score; with no setting effect and three runs per setting it is 0.9 on average.

    Args:
        table: one row per run, with the columns of ``by`` and of ``scores``.
        scores: the columns to analyse (one or more).
        by: the columns that define a setting.

    Returns:
        A share in [0, 1].
    """
    if isinstance(scores, str) or not scores:
        raise ValueError(f"scores must be a non-empty sequence of column names, got {scores!r}")
    check_keys(table, [*by, *scores], "table")
    shares = []
    for score in scores:
        runs = [g.to_numpy(float) for _, g in table.groupby(list(by))[score]]
        if len(runs) < 2:
            raise ValueError(f"table must hold at least two settings, got {len(runs)}")
        shares.append(np.mean([not (a.max() < b.min() or b.max() < a.min()) for a, b in itertools.combinations(runs, 2)]))
    return float(np.mean(shares))


def min_rank_agreement(table: pd.DataFrame, scores: Sequence[str]) -> float:
    """The least Spearman rank correlation, across the runs, between any two of ``scores``
    (with two scores, their rank correlation).

    Args:
        table: one row per run.
        scores: two or more columns.

    Returns:
        A number in [-1, 1]; 1 when every pair ranks the runs alike.
    """
    if isinstance(scores, str) or len(scores) < 2:
        raise ValueError(f"scores must name at least two columns, got {scores!r}")
    check_keys(table, scores, "table")
    return float(min(spearmanr(table[a], table[b]).statistic for a, b in itertools.combinations(scores, 2)))


def selection_regret(table: pd.DataFrame, select_by: str, target: str = "MIG", larger_is_better: bool = True) -> float:
    """What model selection by ``select_by`` achieves on ``target``: the target score of the run
    selected (the best by ``select_by``) as a share of the best target score in the grid.

    Returns:
        A number in [0, 1] for a non-negative target; 1 when the selection finds the best run.
    """
    for col in (select_by, target):
        if col not in table:
            raise ValueError(f"no column {col!r} in the table; it has {list(table.columns)}")
    pick = table[select_by].idxmax() if larger_is_better else table[select_by].idxmin()
    best = table[target].max()
    return float(table.loc[pick, target] / best) if best > 0 else float("nan")


def plot_study(table: pd.DataFrame, score: str = "MIG", ax=None):
    """Each run's score by setting (objective and strength), one dot per seed."""
    ax = get_axes(ax, figsize=(7, 3.5))
    settings = list(dict.fromkeys(zip(table.objective, table.strength)))
    for i, (o, s) in enumerate(settings):
        vals = table[(table.objective == o) & (table.strength == s)][score]
        ax.scatter(np.full(len(vals), i), vals, color=f"C{OBJECTIVES.index(o)}", s=30, zorder=3)
        ax.plot([i - 0.25, i + 0.25], [vals.mean()] * 2, color="k", lw=1)
    ax.set_xticks(range(len(settings)))
    ax.set_xticklabels([f"{o}\n{'beta' if o != 'FactorVAE' else 'gamma'} = {s:g}" for o, s in settings], fontsize=8)
    ax.set_ylabel(score)
    return ax


GRID = (("beta-VAE", 2.0), ("beta-VAE", 6.0), ("beta-TCVAE", 2.0), ("beta-TCVAE", 6.0),
        ("FactorVAE", 10.0), ("FactorVAE", 40.0))


def run(seed: int = 0, device: torch.device | str | None = None, seeds_per_setting: int = 3, steps: int = 800,
        batch_size: int = 64) -> dict:
    """One replicate of the study: every setting of ``GRID`` (3 objectives x 2 strengths) with
    ``seeds_per_setting`` training seeds (``seed * seeds_per_setting + i``), trained side by
    side on the sprites without rotation (576 images: shape, scale, x and y vary), then scored
    (:func:`study_scores`).

    Returns:
        ``{"sprites", "ensemble", "history", "table"}``; ``table`` has one row per run with its
        ``objective``, ``strength``, ``seed`` and scores.
    """
    seeds_per_setting = check_positive_int(seeds_per_setting, "seeds_per_setting", 2)
    sprites = make_sprites(n_rotation=1)
    runs = [(o, s, seed * seeds_per_setting + i) for o, s in GRID for i in range(seeds_per_setting)]
    ens, hist = train_vae_ensemble(sprites, [r[0] for r in runs], [r[1] for r in runs], [r[2] for r in runs],
                                   steps=steps, batch_size=batch_size, device=device)
    table = pd.concat([pd.DataFrame(runs, columns=["objective", "strength", "seed"]), study_scores(ens, sprites, seed)],
                      axis=1)
    return {"sprites": sprites, "ensemble": ens, "history": hist, "table": table}


def tc_ratio(table: pd.DataFrame, column: str) -> float:
    """Mean total correlation of the strong settings over that of the weak ones, for the two
    objectives that penalize it (beta-TCVAE and FactorVAE).

    Args:
        table: the study's table (``run()["table"]``), with ``objective`` and ``strength``.
        column: the total-correlation column (``"TC, sampled"`` or ``"TC, mean"``).

    Returns:
        The ratio; below 1 when the stronger penalty lowers the total correlation.
    """
    t = table[table.objective.isin(["beta-TCVAE", "FactorVAE"])]
    strong = t.groupby("objective").strength.transform("max") == t.strength
    return float(t[strong][column].mean() / t[~strong][column].mean())


_LOC = "Locatello et al."
_RETEST = ("MIG", "MIG, half A", "MIG, half B")  # one metric measured three times
CLAIMS = (
    Claim(key="disentangle.unsupervised_study.seeds_interleave",
          statement=("Good seeds of a worse setting beat bad seeds of a better one: for at least a third of the pairs "
                     "of settings (objective and strength) the runs of the two interleave, averaged over MIG, DCI "
                     "disentanglement and modularity."),
          cite=("locatello_challenging_2019",),
          paper_result=("The random seed and the hyperparameters matter more than the choice of objective: good runs "
                        "of a bad setting often beat bad runs of a good one (distributions of FactorVAE score and MIG "
                        "over 50 seeds per setting)"),
          paper_where=f"{_LOC}, Sec. 5, on the importance of models and hyperparameters", run=run,
          measure=lambda w: interleaved_settings(*w), predicate=at_least(1 / 3),
          world=lambda r: (r["table"], METRICS),
          controls=(Control("reconstruction error", "the same share for the reconstruction error, which the "
                            "regularization strength does control", lambda r: (r["table"], ("reconstruction",))),
                    Control("KL term", "the same share for the KL term of the ELBO", lambda r: (r["table"], ("KL",)))),
          note=("15 pairs of settings, three seeds each; 0.9 on average when the setting does not matter, 0 when it "
                "decides the score")),
    Claim(key="disentangle.unsupervised_study.seed_variance",
          statement=("Seeds of one setting differ in MIG, on average, at least as much as the settings (objective and "
                     "strength) differ from each other: within-setting over between-setting variance."),
          cite=("locatello_challenging_2019",),
          paper_result=("The random seed and the hyperparameters matter more than the choice of objective (distributions "
                        "of FactorVAE score and MIG over 50 seeds per setting)"),
          paper_where=f"{_LOC}, Sec. 5, on the importance of models and hyperparameters", run=run,
          measure=lambda t: variance_ratio(t, "MIG"), predicate=at_least(1.0), world=lambda r: r["table"],
          controls=(Control("reconstruction error", "the same ratio for the reconstruction error, which the "
                            "regularization strength does control", lambda r: r["table"].assign(MIG=r["table"].reconstruction)),
                    Control("KL term", "the same ratio for the KL term of the ELBO",
                            lambda r: r["table"].assign(MIG=r["table"].KL))),
          observation=True,
          note="variance across the three seeds of each setting, averaged, over the variance of the six settings' means"),
    Claim(key="disentangle.unsupervised_study.metrics_rank_differently",
          statement=("MIG, DCI disentanglement and modularity do not rank the runs alike: the least rank correlation "
                     "between two of them across the grid is at most 0.85."),
          cite=("locatello_challenging_2019", "ridgeway_mozer_2018"),
          paper_result=("Most disentanglement metrics are correlated with each other, with exceptions; modularity is "
                        "the least correlated with the others on most data sets (rank correlations across models)"),
          paper_where=f"{_LOC}, Sec. 5, on how much the metrics agree", run=run,
          measure=lambda w: min_rank_agreement(*w), predicate=at_most(0.85), world=lambda r: (r["table"], METRICS),
          controls=(Control("one metric measured twice", "the same least rank correlation between MIG and MIG computed "
                            "on two disjoint halves of the images: one metric, different samples",
                            lambda r: (r["table"], _RETEST)),),
          note="Spearman rank correlation over the 18 runs of one replicate, least of the three pairs"),
    Claim(key="disentangle.unsupervised_study.metrics_disagree",
          statement="MIG and modularity rank the runs differently: Spearman correlation between them across the grid.",
          cite=("locatello_challenging_2019", "ridgeway_mozer_2018"),
          paper_result=("Modularity is the least correlated with the other metrics on most data sets"),
          paper_where=f"{_LOC}, Sec. 5, on how much the metrics agree", run=run,
          measure=lambda t: min_rank_agreement(t, ("MIG", "modularity")), predicate=at_most(0.5),
          world=lambda r: r["table"], observation=True, note="Spearman rank correlation over the 18 runs of one replicate"),
    Claim(key="disentangle.unsupervised_study.elbo_ranks_unlike_mig",
          statement=("The ELBO, the score a practitioner without labels selects by, ranks the runs unlike MIG: their "
                     "rank correlation across the grid is at most 0.7 (the ELBO accounts for less than half of the "
                     "rank variance of MIG)."),
          cite=("locatello_challenging_2019",),
          paper_result=("Unsupervised scores (reconstruction error, total correlation of the sampled representation, "
                        "KL) are at best weakly correlated with the disentanglement metrics, so good models cannot be "
                        "identified without labels"),
          paper_where=f"{_LOC}, Sec. 5, on recipes for model selection", run=run,
          measure=lambda w: min_rank_agreement(*w), predicate=at_most(0.7), world=lambda r: (r["table"], ("ELBO", "MIG")),
          controls=(Control("a score with labels", "MIG measured on one half of the images (a validation split "
                            "with labels) in place of the ELBO, against MIG on the other half",
                            lambda r: (r["table"], ("MIG, half A", "MIG, half B"))),),
          note="Spearman rank correlation over the 18 runs of one replicate"),
    Claim(key="disentangle.unsupervised_study.unsupervised_selection",
          statement=("Selecting the run with the best ELBO does not find the most disentangled run: its MIG as a share "
                     "of the best MIG in the grid."),
          cite=("locatello_challenging_2019",),
          paper_result=("Good models cannot be identified without labels: the unsupervised scores are at best weakly "
                        "correlated with the disentanglement metrics"),
          paper_where=f"{_LOC}, Sec. 5, on recipes for model selection", run=run, measure=lambda share: share,
          predicate=at_most(0.8), world=lambda r: selection_regret(r["table"], "ELBO"),
          controls=(Control("selection with labels", "selecting by MIG measured on half of the images (a validation "
                            "split with labels), scored on the whole grid",
                            lambda r: selection_regret(r["table"], "MIG, half A")),),
          observation=True, note="1 means the selection found the most disentangled run"),
    Claim(key="disentangle.unsupervised_study.sampled_tc_falls",
          statement=("The strong settings of beta-TCVAE and FactorVAE have a lower total correlation of the sampled "
                     "representation than the weak ones: ratio of the means."),
          cite=("locatello_challenging_2019", "kim_mnih_factorvae_2018", "chen_isolating_2018"),
          paper_result=("The total correlation of the sampled representation falls as the regularization strength "
                        "grows, for the methods that penalize it"),
          paper_where=f"{_LOC}, Sec. 5, on enforcing an uncorrelated aggregate posterior", run=run, measure=lambda r_: r_, predicate=at_most(0.8),
          world=lambda r: tc_ratio(r["table"], "TC, sampled"), observation=True),
    Claim(key="disentangle.unsupervised_study.mean_tc",
          statement=("The same ratio for the mean representation, which downstream tasks use."),
          cite=("locatello_challenging_2019",),
          paper_result=("The total correlation of the mean representation does not fall with the regularization "
                        "strength; for most methods it rises"),
          paper_where=f"{_LOC}, Sec. 5, on enforcing an uncorrelated aggregate posterior", run=run, measure=lambda r_: r_, predicate=at_most(0.8),
          world=lambda r: tc_ratio(r["table"], "TC, mean"), observation=True),
)
