"""Section 4.4, Heterogeneity as a signal (``chapters/04_causal_representation_learning/04_heterogeneity.md``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..validation import check_positive_int

__all__ = [
    "drifting_pair",
    "cdnod_vs_pc",
    "mechanism_parameters",
    "max_cross_correlation",
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


def _edge_direction(G: np.ndarray, i: int, j: int) -> tuple[int, int] | None:
    """Direction of the edge between ``i`` and ``j`` in a causal-learn graph, ``None`` when
    it is undirected or absent."""
    if G[j, i] == 1 and G[i, j] == -1:
        return (i, j)
    if G[i, j] == 1 and G[j, i] == -1:
        return (j, i)
    return None


def cdnod_vs_pc(n_problems: int = 40, alpha: float = 0.01, seed: int = 0) -> pd.DataFrame:
    """Orient the edge of many drifting pairs with CD-NOD (domain index given) and with PC on
    the pooled data, both from ``causal-learn`` with Fisher-z tests.

    Args:
        n_problems: problems; problem ``k`` uses seed ``1000 * seed + k``.
        alpha: test level.
        seed: see above.

    Returns:
        One row per problem: ``"CD-NOD"`` and ``"PC (pooled)"``, each ``"correct"``,
        ``"reversed"`` or ``"undirected"``.
    """
    from causallearn.search.ConstraintBased.CDNOD import cdnod
    from causallearn.search.ConstraintBased.PC import pc

    n_problems = check_positive_int(n_problems, "n_problems")

    def verdict(d: tuple[int, int] | None, truth: tuple[int, int]) -> str:
        return "undirected" if d is None else ("correct" if d == truth else "reversed")

    rows = []
    for k in range(n_problems):
        X, c, truth, _ = drifting_pair(seed=1000 * int(seed) + k)
        G = cdnod(X, c[:, None], alpha=alpha, indep_test="fisherz", show_progress=False).G.graph
        P = pc(X, alpha=alpha, indep_test="fisherz", show_progress=False).G.graph
        rows.append({"CD-NOD": verdict(_edge_direction(G, 0, 1), truth), "PC (pooled)": verdict(_edge_direction(P, 0, 1), truth)})
    return pd.DataFrame(rows)


def mechanism_parameters(n_envs: int = 500, n_per_env: int = 200, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Fit both factorizations of ``X -> Y`` in many environments whose mechanisms change
    independently (the mean and spread of ``X``, the slope of ``Y`` on ``X``).

    Args:
        n_envs: environments.
        n_per_env: samples per environment.
        seed: seeds everything.

    Returns:
        ``{"causal": df, "anticausal": df}``; each row is one environment with the fitted
        parameters of the marginal (``mean``, ``log var``) and of the conditional (``slope``,
        ``intercept``, ``log resid var``) of that factorization.
    """
    n_envs = check_positive_int(n_envs, "n_envs", minimum=3)
    n_per_env = check_positive_int(n_per_env, "n_per_env", minimum=5)
    rng = np.random.default_rng(seed)
    out: dict[str, list[dict[str, float]]] = {"causal": [], "anticausal": []}
    for _ in range(n_envs):
        mu, sd, b = rng.uniform(-2, 2), rng.uniform(0.5, 2.0), rng.uniform(0.5, 2.0)
        x = mu + sd * rng.normal(size=n_per_env)
        y = b * x + rng.normal(size=n_per_env)
        for name, (u, v) in (("causal", (x, y)), ("anticausal", (y, x))):
            slope, intercept = np.polyfit(u, v, 1)
            resid = v - (slope * u + intercept)
            out[name].append({"mean": u.mean(), "log var": np.log(u.var()), "slope": slope,
                              "intercept": intercept, "log resid var": np.log(resid.var())})
    return {k: pd.DataFrame(v) for k, v in out.items()}


def max_cross_correlation(params: pd.DataFrame) -> float:
    """Largest absolute correlation between a marginal parameter (``mean``, ``log var``) and
    a conditional parameter (``slope``, ``intercept``, ``log resid var``) across environments.
    """
    marg, cond = ["mean", "log var"], ["slope", "intercept", "log resid var"]
    missing = [c for c in marg + cond if c not in params]
    if missing:
        raise ValueError(f"params lacks the columns {missing}")
    c = params[marg + cond].corr().loc[marg, cond].abs()
    return float(c.to_numpy().max())
