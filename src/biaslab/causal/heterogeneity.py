"""Section 4.4, Heterogeneity as a signal (``chapters/04_causal_representation_learning/04_heterogeneity.md``).
"""

from __future__ import annotations

import contextlib
import io
import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..claims import Claim, Control, at_least, at_most
from ..plotting import get_axes
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
    "icp_environments",
    "invariant_causal_prediction",
    "icp_accuracy",
    "plot_icp_subsets",
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


def icp_environments(
    n_per_env: int = 300, seed: int = 0, heterogeneous: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, frozenset[int]]:
    """A target ``Y`` with two causes and two non-causes, observed in three environments.

    ``X0`` and ``X1`` cause ``Y = b0 X0 + b1 X1 + N(0, 1)``; ``X2 = c Y + N(0, 0.5^2)`` is an
    effect of ``Y`` (the best single predictor of it) and ``X3 = X0 + N(0, 1)`` an effect of
    ``X0``; weights are drawn with random sign and magnitude in [0.5, 1.5]. Environment 0 is
    observational; environment 1 shifts the mean of ``X0``, environment 2 shifts ``X1`` and
    the mean of ``X2``'s noise (shifts of 1 to 2 standard deviations). ``Y``'s own mechanism is
    the same in all three, so the regression of ``Y`` on its causes is invariant.

    Args:
        n_per_env: samples per environment.
        seed: seeds everything.
        heterogeneous: ``False`` draws all three environments from the observational
            distribution (the control: nothing changes).

    Returns:
        ``(X, y, env, parents)``: ``(n, 4)`` predictors, ``(n,)`` target, ``(n,)``
        environment labels 0-2 and the set of ``Y``'s causes, ``{0, 1}``.
    """
    n = check_positive_int(n_per_env, "n_per_env", minimum=10)
    rng = np.random.default_rng(seed)
    sign_mag = lambda k: rng.choice([-1.0, 1.0], k) * rng.uniform(0.5, 1.5, k)  # noqa: E731
    b, c = sign_mag(2), sign_mag(1)[0]
    shift = rng.choice([-1.0, 1.0], 3) * rng.uniform(1.0, 2.0, 3) * float(heterogeneous)
    env = np.repeat(np.arange(3), n)
    x0 = rng.normal(size=3 * n) + shift[0] * (env == 1)
    x1 = rng.normal(size=3 * n) + shift[1] * (env == 2)
    y = b[0] * x0 + b[1] * x1 + rng.normal(size=3 * n)
    x2 = c * y + 0.5 * rng.normal(size=3 * n) + shift[2] * (env == 2)
    x3 = x0 + rng.normal(size=3 * n)
    return np.column_stack([x0, x1, x2, x3]), y, env, frozenset({0, 1})


def _residual_pvalue(r: np.ndarray, env: np.ndarray) -> float:
    """Peters et al.'s approximate test that residuals have one distribution in every
    environment: each environment against the rest, Welch's t-test for the mean and an F-test
    for the variance, Bonferroni-corrected over the two tests and the environments."""
    from scipy import stats

    levels = np.unique(env)
    pvals = []
    for e in levels:
        a, rest = r[env == e], r[env != e]
        p_mean = stats.ttest_ind(a, rest, equal_var=False).pvalue
        f = stats.f.cdf(np.var(a, ddof=1) / np.var(rest, ddof=1), len(a) - 1, len(rest) - 1)
        pvals.append(2 * min(p_mean, 2 * min(f, 1 - f)))
    return float(min(1.0, len(levels) * min(pvals)))


def invariant_causal_prediction(
    X: np.ndarray, y: np.ndarray, env: np.ndarray, alpha: float = 0.05
) -> tuple[frozenset[int], pd.DataFrame]:
    """Invariant causal prediction (Peters, Buhlmann and Meinshausen, 2016).

    For every subset ``S`` of the predictors, regress ``y`` on ``X[:, S]`` (least squares with
    an intercept, all environments pooled) and test whether the residuals have the same
    distribution in every environment (each environment against the rest: Welch's t-test of
    the means, an F-test of the variances, Bonferroni-corrected). The subsets that pass at
    level ``alpha`` are the plausible sets of causes; their intersection is the estimate, which
    is contained in the true causes with probability at least ``1 - alpha`` when the target's
    mechanism is the same in every environment. When every subset is rejected (the target's
    own mechanism changed) or the empty set passes (nothing changed), the estimate is empty.

    Args:
        X: ``(n, p)`` predictors (``p`` small: all ``2^p`` subsets are tested).
        y: ``(n,)`` target.
        env: ``(n,)`` environment labels, at least two distinct.
        alpha: the test level.

    Returns:
        ``(estimate, table)``: the intersection of the accepted subsets as a frozenset of
        column indices, and one row per subset with its ``p-value`` and ``accepted``.
    """
    X, y, env = np.asarray(X, dtype=float), np.asarray(y, dtype=float).ravel(), np.asarray(env).ravel()
    if X.ndim != 2 or len(X) != len(y) or len(env) != len(y):
        raise ValueError(f"X must be (n, p) with y and env of length n, got {X.shape}, {y.shape}, {env.shape}")
    if X.shape[1] > 10:
        raise ValueError(f"X has {X.shape[1]} columns; testing all subsets needs 10 or fewer")
    if len(np.unique(env)) < 2:
        raise ValueError("env must hold at least two environments")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    rows, accepted = [], []
    for k in range(X.shape[1] + 1):
        for S in itertools.combinations(range(X.shape[1]), k):
            F = np.column_stack([np.ones(len(y)), X[:, list(S)]])
            r = y - F @ np.linalg.lstsq(F, y, rcond=None)[0]
            p = _residual_pvalue(r, env)
            rows.append({"subset": "{" + ", ".join(f"X{i}" for i in S) + "}", "p-value": p, "accepted": p > alpha})
            if p > alpha:
                accepted.append(frozenset(S))
    estimate = frozenset.intersection(*accepted) if accepted else frozenset()
    return estimate, pd.DataFrame(rows).set_index("subset")


def _significant_predictors(X: np.ndarray, y: np.ndarray, alpha: float = 0.05) -> frozenset[int]:
    """The predictors whose pooled least-squares coefficient is significant at ``alpha``
    (t-tests): the regression baseline that ignores the environments."""
    from scipy import stats

    F = np.column_stack([np.ones(len(y)), X])
    coef, *_ = np.linalg.lstsq(F, y, rcond=None)
    resid = y - F @ coef
    dof = len(y) - F.shape[1]
    se = np.sqrt(np.diag(np.linalg.inv(F.T @ F)) * (resid @ resid) / dof)
    p = 2 * stats.t.sf(np.abs(coef / se), dof)
    return frozenset(int(i) for i in np.flatnonzero(p[1:] < alpha))


def icp_accuracy(
    n_problems: int = 20, seed: int = 0, heterogeneous: bool = True, alpha: float = 0.05
) -> dict[str, float]:
    """ICP and the pooled-regression baseline on many :func:`icp_environments` problems
    (problem ``k``: seed ``1000 * seed + k``).

    Returns:
        ``icp_found`` (fraction of problems where ICP's estimate is a non-empty subset of the
        causes), ``icp_false`` (where it contains a non-cause), ``icp_exact`` (where it equals
        the causes) and ``regression_false`` (where the significant pooled coefficients include
        a non-cause).
    """
    n_problems = check_positive_int(n_problems, "n_problems")
    found = false = exact = reg_false = 0
    for k in range(n_problems):
        X, y, env, parents = icp_environments(seed=1000 * int(seed) + k, heterogeneous=heterogeneous)
        est, _ = invariant_causal_prediction(X, y, env, alpha)
        found += bool(est) and est <= parents
        false += not est <= parents
        exact += est == parents
        reg_false += not _significant_predictors(X, y, alpha) <= parents
    return {"icp_found": found / n_problems, "icp_false": false / n_problems, "icp_exact": exact / n_problems,
            "regression_false": reg_false / n_problems}


def plot_icp_subsets(table: pd.DataFrame, alpha: float = 0.05, ax=None):
    """Each subset's invariance p-value (:func:`invariant_causal_prediction`'s table) as a bar,
    the accepted ones coloured, with the level ``alpha`` as a line.

    Args:
        table: the table.
        alpha: the level drawn.
        ax: matplotlib axes (a new figure when ``None``).

    Returns:
        The axes.
    """
    if not isinstance(table, pd.DataFrame) or not {"p-value", "accepted"} <= set(table.columns):
        raise TypeError("table must be the DataFrame returned by invariant_causal_prediction")
    ax = get_axes(ax, figsize=(7, 3))
    colours = np.where(table["accepted"], "#029e73", "#bbbbbb")
    ax.bar(range(len(table)), np.maximum(table["p-value"], 1e-12), color=colours)
    ax.axhline(alpha, color="#d55e00", ls="--", lw=1, label=f"level {alpha}")
    ax.set_yscale("log")
    ax.set_xticks(range(len(table)), table.index, rotation=60, ha="right", fontsize=8)
    ax.set(ylabel="invariance p-value", ylim=(1e-12, 2))
    ax.legend(loc="lower right", fontsize=9)
    return ax


def run(seed: int = 0, device: Any = None) -> dict[str, Any]:
    """Everything section 4.4 shows and its claims read, for one seed (nothing trains on a
    device; ``device`` is accepted for the runners' common signature).

    Returns:
        ``orientation`` and ``orientation_no_drift`` (:func:`heterogeneity_orientation` with
        and without drifts, 40 problems), ``de_finetti`` and ``de_finetti_iid``
        (:func:`de_finetti_accuracy` with and without heterogeneity), ``sachs``
        (:func:`sachs_with_conditions`, seed-free), and ``icp`` and ``icp_iid``
        (:func:`icp_accuracy` with and without shifted environments).
    """
    return {
        "orientation": heterogeneity_orientation(seed=seed),
        "orientation_no_drift": heterogeneity_orientation(seed=seed, drift_range=(0.0, 0.0)),
        "de_finetti": de_finetti_accuracy(seed=seed),
        "de_finetti_iid": de_finetti_accuracy(seed=seed, heterogeneous=False),
        "sachs": sachs_with_conditions(),
        "icp": icp_accuracy(seed=seed),
        "icp_iid": icp_accuracy(seed=seed, heterogeneous=False),
    }


def _correct(r: Mapping[str, Any], table: str, method: str) -> float:
    return float((r[table][method] == "correct").mean())


_CDNOD = ("Adding the domain or time index as a variable that nothing causes lets a constraint-based search orient "
          "edges next to changing mechanisms, and more of the graph than from i.i.d. data.")
_DEF = ("For exchangeable data with independent causal mechanisms, X -> Y holds exactly when Y_1 is independent of "
        "X_2 given X_1; bivariate directions that i.i.d. data leave open are identified from multi-environment data.")

_ICP = ("Under interventions that leave the target's own mechanism unchanged, the intersection of all predictor "
        "sets whose regression residuals are invariant across environments is contained in the true causes with "
        "probability at least 1 - alpha; the method is conservative: when it cannot decide, it returns the empty set.")

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
    Claim(
        key="causal.heterogeneity.icp_finds_causes", run=run, cite=("peters_icp_2016",),
        statement="invariant causal prediction returns a non-empty subset of the target's causes on at least 80% of 20 "
                  "problems with three environments",
        paper_result=_ICP, paper_where="Sec. 3 (the coverage theorem) and Sec. 6 (simulations)",
        world=lambda r: r["icp"]["icp_found"], measure=lambda v: v, predicate=at_least(0.8),
        controls=(Control("no shifts", "the same problems with all three environments drawn from one distribution: "
                          "the empty set is invariant, so nothing is identified", lambda r: r["icp_iid"]["icp_found"]),),
    ),
    Claim(
        key="causal.heterogeneity.icp_no_false_causes", run=run, cite=("peters_icp_2016",),
        statement="ICP's estimate contains a non-cause on at most 10% of the 20 problems (level 0.05)",
        paper_result=_ICP, paper_where="Sec. 3 (the coverage theorem)",
        world=lambda r: r["icp"]["icp_false"], measure=lambda v: v, predicate=at_most(0.1),
        controls=(Control("pooled regression", "the predictors with a significant coefficient in one least-squares "
                          "regression on the pooled environments, which keeps the target's effect X2",
                          lambda r: r["icp"]["regression_false"]),),
    ),
)
