"""Section 4.4, Heterogeneity as a signal (``chapters/04_causal_representation_learning/04_heterogeneity.md``).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..claims import Claim, Control, at_least
from ..validation import check_positive_int
from ._shared import cpdag_adjacency, pc_cpdag, shd

__all__ = [
    "drifting_pair",
    "orientation_verdict",
    "heterogeneity_orientation",
    "exchangeable_pair_environments",
    "de_finetti_direction",
    "de_finetti_accuracy",
    "cdnod_cpdag",
    "sachs_with_conditions",
]


def drifting_pair(
    n_domains: int = 5, n_per_domain: int = 200, seed: int = 0, drift_range: tuple[float, float] = (0.3, 0.6)
) -> tuple[np.ndarray, np.ndarray, tuple[int, int], int]:
    """Two linearly related variables whose mechanisms drift with a domain index.

    In each problem either the cause's marginal (its mean) or the effect's mechanism (an
    additive shift) drifts linearly with the domain index, by 0.3 to 0.6 standard deviations
    per domain; the column order is shuffled.

    Args:
        n_domains: number of domains (or time segments).
        n_per_domain: samples per domain.
        seed: seeds everything.
        drift_range: drift per domain, in noise standard deviations (``(0, 0)``: none).

    Returns:
        ``(X, c, (i, j), k)``: data ``(n, 2)``, the domain index ``(n,)``, the true edge
        ``i -> j`` as column indices, and the column ``k`` whose mechanism drifts.
    """
    n_domains = check_positive_int(n_domains, "n_domains", minimum=2)
    n_per_domain = check_positive_int(n_per_domain, "n_per_domain", minimum=5)
    rng = np.random.default_rng(seed)
    c = np.repeat(np.arange(n_domains), n_per_domain).astype(float)
    cause_changes = rng.random() < 0.5
    drift = rng.choice([-1.0, 1.0]) * rng.uniform(*drift_range) * c
    cause = (drift if cause_changes else 0.0) + rng.normal(size=len(c))
    b = rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.5)
    effect = b * cause + (0.0 if cause_changes else drift) + rng.normal(size=len(c))
    if rng.random() < 0.5:
        return np.column_stack([effect, cause]), c, (1, 0), 1 if cause_changes else 0
    return np.column_stack([cause, effect]), c, (0, 1), 0 if cause_changes else 1


def orientation_verdict(A: np.ndarray, truth: tuple[int, int]) -> str:
    """``"correct"``, ``"reversed"``, ``"undirected"`` or ``"missing"`` for the edge between
    the two variables of ``truth`` in a 0/1 adjacency (undirected: both entries set)."""
    i, j = truth
    A = np.asarray(A)
    if A[i, j] and A[j, i]:
        return "undirected"
    if A[i, j]:
        return "correct"
    return "reversed" if A[j, i] else "missing"


def cdnod_cpdag(X: np.ndarray, c: np.ndarray, alpha: float = 0.01) -> np.ndarray:
    """CD-NOD of ``causal-learn`` (Fisher-z tests) with the domain or time index ``c`` as an
    extra, exogenous variable; its graph over the columns of ``X`` and then ``c`` (last), as a
    0/1 adjacency (:func:`biaslab.causal.cpdag_adjacency`)."""
    from causallearn.search.ConstraintBased.CDNOD import cdnod

    X, c = np.asarray(X, dtype=float), np.asarray(c, dtype=float).reshape(-1, 1)
    if X.ndim != 2 or len(c) != len(X):
        raise ValueError(f"X must be (n, d) and c (n,), got shapes {X.shape} and {c.shape}")
    with contextlib.redirect_stderr(io.StringIO()):  # causal-learn 0.1.4.8 ignores show_progress in one step
        G = cdnod(X, c, alpha=alpha, indep_test="fisherz", show_progress=False).G.graph
    return cpdag_adjacency(G)


def heterogeneity_orientation(
    n_problems: int = 40, alpha: float = 0.01, seed: int = 0, drift_range: tuple[float, float] = (0.3, 0.6),
) -> pd.DataFrame:
    """Orient the edge of many :func:`drifting_pair` problems four ways.

    CD-NOD with the domain index (:func:`cdnod_cpdag`); PC on ``(X, Y, C)`` with the index as an
    ordinary variable, without the knowledge that nothing causes it; PC on the pooled ``(X, Y)``;
    and DirectLiNGAM of ``causal-learn`` on the pooled ``(X, Y)``, which the drifts make
    non-Gaussian (mixtures of shifted Gaussians).

    Args:
        n_problems: problems; problem ``k`` uses seed ``1000 * seed + k``.
        alpha: level of the Fisher-z tests.
        seed: see above.
        drift_range: passed to :func:`drifting_pair` (``(0, 0)``: no heterogeneity).

    Returns:
        One row per problem and one column per method, each an :func:`orientation_verdict`.
    """
    from causallearn.search.FCMBased.lingam import DirectLiNGAM

    rows = []
    for k in range(check_positive_int(n_problems, "n_problems")):
        X, c, truth, _ = drifting_pair(seed=1000 * int(seed) + k, drift_range=drift_range)
        lingam = DirectLiNGAM(random_state=0).fit(X).adjacency_matrix_  # B[j, i] != 0 for i -> j
        rows.append({
            "CD-NOD (domain index)": orientation_verdict(cdnod_cpdag(X, c, alpha), truth),
            "PC on (X, Y, C)": orientation_verdict(pc_cpdag(np.column_stack([X, c]), alpha=alpha), truth),
            "PC (pooled)": orientation_verdict(pc_cpdag(X, alpha=alpha), truth),
            "DirectLiNGAM (pooled)": orientation_verdict((lingam.T != 0).astype(int), truth),
        })
    return pd.DataFrame(rows)


def exchangeable_pair_environments(n_envs: int = 3000, seed: int = 0, heterogeneous: bool = True) -> tuple[np.ndarray, tuple[int, int]]:
    """Two samples from each of many environments of a linear pair ``X -> Y``.

    Per environment, the mean and spread of the cause and the slope and intercept of the
    effect's mechanism are drawn independently (the independent causal mechanisms of causal
    de Finetti); with ``heterogeneous=False`` they are the same everywhere (i.i.d. data). The
    column order is shuffled.

    Args:
        n_envs: environments, two samples each.
        seed: seeds everything.
        heterogeneous: let the mechanisms vary across environments.

    Returns:
        ``(D, (i, j))``: an array ``(n_envs, 2, 2)`` (environment, sample, variable) and the
        true edge ``i -> j`` as variable indices.
    """
    n_envs = check_positive_int(n_envs, "n_envs", minimum=10)
    rng = np.random.default_rng(seed)
    size = (n_envs, 1) if heterogeneous else (1, 1)
    mu, sd = rng.uniform(-2, 2, size), rng.uniform(0.5, 2.0, size)
    b, a = rng.uniform(0.5, 2.0, size) * rng.choice([-1.0, 1.0]), rng.uniform(-2, 2, size)
    x = mu + sd * rng.normal(size=(n_envs, 2))
    y = a + b * x + rng.normal(size=(n_envs, 2))
    if rng.random() < 0.5:
        return np.stack([y, x], axis=2), (1, 0)
    return np.stack([x, y], axis=2), (0, 1)


def de_finetti_direction(D: np.ndarray) -> tuple[int, int]:
    """The causal de Finetti orientation test for a pair, from two samples per environment.

    Under independent mechanisms, ``X -> Y`` implies ``Y_1 indep X_2 | X_1`` (the second
    sample's cause says nothing about the first sample's effect beyond the first cause),
    while ``X_1 indep Y_2 | Y_1`` fails. Both conditional independences are tested with
    causal-learn's Fisher-z test across environments; the direction whose independence has
    the larger p-value wins.

    Args:
        D: ``(n_envs, 2, 2)`` from :func:`exchangeable_pair_environments`.

    Returns:
        The inferred edge ``(cause, effect)`` as variable indices.
    """
    from causallearn.utils.cit import CIT

    D = np.asarray(D, dtype=float)
    if D.ndim != 3 or D.shape[1:] != (2, 2):
        raise ValueError(f"D must have shape (n_envs, 2, 2), got {D.shape}")
    # columns: x1, y1, x2, y2 (variable 0 = x, variable 1 = y)
    test = CIT(np.column_stack([D[:, 0, 0], D[:, 0, 1], D[:, 1, 0], D[:, 1, 1]]), "fisherz")
    p_forward = test(1, 2, [0])  # y1 indep x2 | x1: holds for 0 -> 1
    p_backward = test(0, 3, [1])  # x1 indep y2 | y1: holds for 1 -> 0
    return (0, 1) if p_forward > p_backward else (1, 0)


def de_finetti_accuracy(n_problems: int = 40, n_envs: int = 3000, seed: int = 0, heterogeneous: bool = True) -> float:
    """Fraction of :func:`exchangeable_pair_environments` problems (problem ``k``: seed
    ``1000 * seed + k``) that :func:`de_finetti_direction` orients correctly."""
    n_problems = check_positive_int(n_problems, "n_problems")
    hits = 0
    for k in range(n_problems):
        D, truth = exchangeable_pair_environments(n_envs, seed=1000 * int(seed) + k, heterogeneous=heterogeneous)
        hits += de_finetti_direction(D) == truth
    return hits / n_problems


def sachs_with_conditions(alpha: float = 0.01) -> pd.DataFrame:
    """PC on the pooled Sachs cells against CD-NOD with the nine experimental conditions as
    the domain index, both on the log-abundances, scored against the consensus graph.

    Returns:
        A DataFrame indexed by method with ``edges`` (an undirected edge counted once),
        ``SHD`` (:func:`biaslab.causal.shd`, against the 18-edge consensus graph) and the
        number of ``undirected`` edges.
    """
    from ..datasets import load_sachs

    sachs = load_sachs()
    X = np.log(sachs.data.to_numpy(dtype=float))
    graphs = {"PC (pooled cells)": pc_cpdag(X, alpha=alpha),
              "CD-NOD (condition index)": cdnod_cpdag(X, sachs.condition, alpha)[:-1, :-1]}
    rows = {}
    for name, A in graphs.items():
        undirected = int(((A == 1) & (A.T == 1)).sum() // 2)
        rows[name] = {"edges": int(A.sum()) - undirected, "SHD": shd(sachs.adjacency, A, require_dag=False),
                      "undirected": undirected}
    return pd.DataFrame(rows).T


def run(seed: int = 0, device: Any = None) -> dict[str, Any]:
    """Everything section 4.4 shows and its claims read, for one seed (nothing trains on a
    device; ``device`` is accepted for the runners' common signature).

    Returns:
        ``orientation`` and ``orientation_no_drift`` (:func:`heterogeneity_orientation` with
        and without drifts, 40 problems), ``de_finetti`` and ``de_finetti_iid``
        (:func:`de_finetti_accuracy` with and without heterogeneity), and ``sachs``
        (:func:`sachs_with_conditions`, seed-free).
    """
    return {
        "orientation": heterogeneity_orientation(seed=seed),
        "orientation_no_drift": heterogeneity_orientation(seed=seed, drift_range=(0.0, 0.0)),
        "de_finetti": de_finetti_accuracy(seed=seed),
        "de_finetti_iid": de_finetti_accuracy(seed=seed, heterogeneous=False),
        "sachs": sachs_with_conditions(),
    }


def _correct(r: Mapping[str, Any], table: str, method: str) -> float:
    return float((r[table][method] == "correct").mean())


_CDNOD = ("Adding the domain or time index as a variable that nothing causes lets a constraint-based search orient "
          "edges next to changing mechanisms, and more of the graph than from i.i.d. data.")
_DEF = ("For exchangeable data with independent causal mechanisms, X -> Y holds exactly when Y_1 is independent of "
        "X_2 given X_1; bivariate directions that i.i.d. data leave open are identified from multi-environment data.")

CLAIMS = (
    Claim(
        key="causal.heterogeneity.cdnod_orients", run=run, cite=("causal_discovery_heterogeneous",),
        statement="with the domain index, CD-NOD orients at least 90% of 40 drifting pairs correctly",
        paper_result=_CDNOD, paper_where="Sec. 3 (the orientation rules) and the simulations",
        world=lambda r: _correct(r, "orientation", "CD-NOD (domain index)"), measure=lambda v: v,
        predicate=at_least(0.9),
        controls=(Control("no drift", "the same problems with nothing changing across domains",
                          lambda r: _correct(r, "orientation_no_drift", "CD-NOD (domain index)")),),
    ),
    Claim(
        key="causal.heterogeneity.pc_with_index", run=run, cite=("causal_discovery_heterogeneous", "spirtes_causation_2000"),
        statement="PC on (X, Y, C), the index as an ordinary variable: fraction of edges oriented correctly",
        paper_result=_CDNOD, paper_where="Sec. 3", world=lambda r: _correct(r, "orientation", "PC on (X, Y, C)"),
        measure=lambda v: v, predicate=at_least(0.9), observation=True,
        note="observation: PC orients the problems whose effect drifts (a collider X -> Y <- C), not those whose cause drifts",
    ),
    Claim(
        key="causal.heterogeneity.lingam_pooled", run=run, cite=("shimizu_lingam_2006",),
        statement="DirectLiNGAM on the pooled pair: fraction of edges oriented correctly",
        paper_result="A linear model with non-Gaussian noise is identifiable from i.i.d. data (LiNGAM).",
        paper_where="Shimizu et al. (2006), the identifiability theorem",
        world=lambda r: _correct(r, "orientation", "DirectLiNGAM (pooled)"), measure=lambda v: v,
        predicate=at_least(0.9), observation=True,
        note="observation: pooling drifting domains makes the noise a mixture of Gaussians, which LiNGAM can exploit",
    ),
    Claim(
        key="causal.heterogeneity.de_finetti_orients", run=run, cite=("causal_de_finetti",),
        statement="the causal de Finetti test orients at least 90% of 40 pairs from two samples in each of 3,000 environments",
        paper_result=_DEF, paper_where="the bivariate causal de Finetti theorem and its experiments",
        world=lambda r: r["de_finetti"], measure=lambda v: v, predicate=at_least(0.9),
        controls=(Control("i.i.d. environments", "the same test when every environment has the same mechanisms",
                          lambda r: r["de_finetti_iid"]),),
    ),
    Claim(
        key="causal.heterogeneity.sachs_conditions", run=run, cite=("causal_discovery_heterogeneous", "sachs_2005"),
        statement="on Sachs, PC's SHD minus CD-NOD's with the nine conditions as the index (positive favours CD-NOD)",
        paper_result=_CDNOD, paper_where="Sec. 3",
        world=lambda r: float(r["sachs"].loc["PC (pooled cells)", "SHD"] - r["sachs"].loc["CD-NOD (condition index)", "SHD"]),
        measure=lambda v: v, predicate=at_least(1.0), observation=True, note="deterministic (seed-free)",
    ),
)
