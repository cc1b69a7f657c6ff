"""Section 4.3, Structure learning: constraints, scores and data problems (``chapters/04_causal_representation_learning/03_structure_learning.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import torch

from ..validation import check_positive_int
from ._shared import to_adjacency

__all__ = [
    "shd",
    "LinearSEM",
    "random_linear_sem",
    "learn_dag",
    "dag_score",
    "synthetic_structure",
    "pc_cpdag",
    "dropout_chain",
    "ci_test_pvalue",
    "dropout_rejection_rates",
    "sachs_structure",
]


def _is_dag(A: np.ndarray) -> bool:
    return nx.is_directed_acyclic_graph(nx.from_numpy_array(A, create_using=nx.DiGraph))


def shd(truth: Any, learned: Any, require_dag: bool = True) -> int:
    """Structural Hamming distance: edge additions, deletions and reversals turning
    ``learned`` into ``truth`` (a reversed edge counts once).

    An undirected edge of a CPDAG can be passed as ``A[i, j] = A[j, i] = 1``; it counts as one
    error when the true edge exists (its direction is missing) and as one when it does not.

    Args:
        truth: the true DAG (``DiGraph``, edge list or 0/1 matrix).
        learned: the learned graph, same node order and size.
        require_dag: raise when ``truth`` has a directed cycle (it cannot be a causal DAG).

    Returns:
        The number of wrong node pairs.
    """
    T = to_adjacency(truth, name="truth")
    L = to_adjacency(learned, name="learned")
    if T.shape != L.shape:
        raise ValueError(f"truth and learned must have the same shape, got {T.shape} and {L.shape}")
    if require_dag and not _is_dag(T):
        raise ValueError("truth must be acyclic (a DAG); it contains a directed cycle")
    np.fill_diagonal(T, 0)
    np.fill_diagonal(L, 0)
    d = T.shape[0]
    errors = 0
    for i in range(d):
        for j in range(i + 1, d):
            if (T[i, j], T[j, i]) != (L[i, j], L[j, i]):
                errors += 1
    return errors


@dataclass
class LinearSEM:
    """A random linear structural equation model and a sample from it.

    Fields:

    - ``W``: weighted adjacency ``(d, d)``, ``W[i, j] != 0`` for an edge ``i -> j``.
    - ``noise_scale``: standard deviation of each variable's Gaussian noise.
    - ``X``: samples ``(n, d)``.
    """

    W: np.ndarray
    noise_scale: np.ndarray
    X: np.ndarray

    @property
    def adjacency(self) -> np.ndarray:
        """The true graph as a 0/1 matrix."""
        return (self.W != 0).astype(int)


def random_linear_sem(
    d: int = 10, edges_per_node: float = 2.0, n: int = 1000, noise_range: tuple[float, float] = (0.5, 2.0), seed: int = 0
) -> LinearSEM:
    """Sample an Erdos-Renyi DAG (``edges_per_node * d`` edges expected), weights of magnitude
    in [0.5, 2] with random signs, and unequal Gaussian noise scales.

    Args:
        d: number of variables.
        edges_per_node: expected edges per node (ER2 for 2).
        n: samples.
        noise_range: noise standard deviations are uniform in this range (equal when the two
            ends coincide).
        seed: seeds everything.

    Returns:
        A :class:`LinearSEM`.
    """
    d = check_positive_int(d, "d", minimum=2)
    n = check_positive_int(n, "n")
    lo, hi = noise_range
    if not 0 < lo <= hi:
        raise ValueError(f"noise_range must satisfy 0 < low <= high, got {noise_range}")
    rng = np.random.default_rng(seed)
    p = min(1.0, 2 * edges_per_node / (d - 1))
    upper = np.triu(rng.random((d, d)) < p, k=1)
    perm = rng.permutation(d)
    B = upper[np.ix_(perm, perm)]
    W = B * rng.uniform(0.5, 2.0, (d, d)) * rng.choice([-1.0, 1.0], (d, d))
    scale = rng.uniform(lo, hi, d)
    order = list(nx.topological_sort(nx.from_numpy_array(B.astype(int), create_using=nx.DiGraph)))
    X = np.zeros((n, d))
    for j in order:
        X[:, j] = X @ W[:, j] + scale[j] * rng.normal(size=n)
    return LinearSEM(W=W, noise_scale=scale, X=X)


def learn_dag(
    X: Any,
    score: str = "colide",
    lam: float = 0.05,
    threshold: float = 0.3,
    max_iter: int = 10,
    h_tol: float = 1e-6,
    rho_max: float = 1e10,
) -> np.ndarray:
    """Continuous DAG learning (NOTEARS-style) with a least-squares or a concomitant score.

    Minimizes ``score(W) + lam * |W|_1`` subject to ``h(W) = tr(exp(W * W)) - d = 0`` (zero
    exactly when ``W`` is acyclic) by an augmented Lagrangian; each subproblem is solved by
    L-BFGS-B with closed-form gradients (NumPy/SciPy: on a 10-node graph this is far faster
    than autograd). Scores:

    - ``"ls"``: least squares ``|X - XW|_F^2 / (2n)``;
    - ``"colide"``: CoLiDE's concomitant score with one noise scale per variable,
      ``sum_j (|X_j - X W_j|^2 / (2 n sigma_j) + sigma_j / 2)`` profiled over ``sigma_j``,
      which equals ``sum_j |X_j - X W_j| / sqrt(n)``.

    Args:
        X: data ``(n, d)``; centred inside.
        score: ``"ls"`` or ``"colide"``.
        lam: L1 penalty.
        threshold: weights with ``|w| < threshold`` are dropped at the end.
        max_iter, h_tol, rho_max: augmented-Lagrangian controls.

    Returns:
        A weighted adjacency ``(d, d)`` of a DAG (cycles left after thresholding, if any,
        are broken by dropping their weakest edges).
    """
    import scipy.linalg as slin
    import scipy.optimize as sopt

    Xn = np.asarray(X.detach().cpu() if isinstance(X, torch.Tensor) else X, dtype=float)
    if Xn.ndim != 2 or Xn.shape[1] < 2:
        raise ValueError(f"X must be a 2-D array (n, d) with d >= 2, got shape {Xn.shape}")
    if score not in ("ls", "colide"):
        raise ValueError(f"score must be 'ls' or 'colide', got {score!r}")
    n, d = Xn.shape
    Xc = Xn - Xn.mean(0)
    C = Xc.T @ Xc / n  # every score below depends on the data only through C
    eye = np.eye(d)

    def loss_and_grad(W: np.ndarray) -> tuple[float, np.ndarray]:
        CR = C @ (eye - W)  # column j: E[x (x_j - x W_j)]
        sq = np.einsum("ij,ij->j", eye - W, CR)  # mean squared residual per column
        if score == "ls":
            return 0.5 * float(sq.sum()), -CR
        norms = np.sqrt(np.maximum(sq, 1e-12))
        return float(norms.sum()), -CR / norms

    def h_and_grad(W: np.ndarray) -> tuple[float, np.ndarray]:
        E = slin.expm(W * W)
        return float(np.trace(E) - d), E.T * W * 2

    def to_w(v: np.ndarray) -> np.ndarray:
        return (v[: d * d] - v[d * d :]).reshape(d, d)

    rho, alpha, h_val = 1.0, 0.0, np.inf
    v_est = np.zeros(2 * d * d)
    bounds = [(0, 0) if i == j else (0, None) for _ in range(2) for i in range(d) for j in range(d)]

    def fun(v: np.ndarray) -> tuple[float, np.ndarray]:
        W = to_w(v)
        loss, g_loss = loss_and_grad(W)
        h, g_h = h_and_grad(W)
        obj = loss + 0.5 * rho * h * h + alpha * h + lam * v.sum()
        g = g_loss + (rho * h + alpha) * g_h
        return obj, np.concatenate([g.ravel() + lam, -g.ravel() + lam])

    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # 10 x 10 matrices: extra BLAS threads only contend
        for _ in range(max_iter):
            while rho < rho_max:
                v_new = sopt.minimize(fun, v_est, jac=True, method="L-BFGS-B", bounds=bounds).x
                h_new = h_and_grad(to_w(v_new))[0]
                if h_new > 0.25 * h_val:
                    rho *= 10
                else:
                    break
            v_est, h_val = v_new, h_new
            alpha += rho * h_val
            if h_val <= h_tol or rho >= rho_max:
                break
    W = to_w(v_est)
    W[np.abs(W) < threshold] = 0
    return _break_cycles(W)


def _refit_on_graph(X: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Least-squares weights of each variable on its parents in ``A`` (centred data)."""
    Xc = X - X.mean(0)
    d = A.shape[0]
    W = np.zeros((d, d))
    for j in range(d):
        pa = np.flatnonzero(A[:, j])
        if len(pa):
            W[pa, j] = np.linalg.lstsq(Xc[:, pa], Xc[:, j], rcond=None)[0]
    return W


def dag_score(X: Any, graph: Any, score: str = "ls", lam: float = 0.05) -> float:
    """The penalized score :func:`learn_dag` minimizes, at the least-squares fit of a given graph.

    Comparing this value for the true and the learned graph tells the two failure modes apart:
    if the learned graph scores *lower* than the truth, the score itself prefers a wrong graph;
    if it scores higher, the optimizer missed a better solution.

    Args:
        X: data ``(n, d)``.
        graph: a 0/1 adjacency (or ``DiGraph``/edge list) over the ``d`` columns.
        score: ``"ls"`` or ``"colide"`` (see :func:`learn_dag`).
        lam: the L1 penalty.

    Returns:
        The score plus ``lam`` times the L1 norm of the refitted weights.
    """
    Xn = np.asarray(X, dtype=float)
    if Xn.ndim != 2:
        raise ValueError(f"X must be 2-D (n, d), got shape {Xn.shape}")
    A = to_adjacency(graph, name="graph")
    if A.shape[0] != Xn.shape[1]:
        raise ValueError(f"graph must have one node per column of X ({Xn.shape[1]}), got {A.shape[0]}")
    if score not in ("ls", "colide"):
        raise ValueError(f"score must be 'ls' or 'colide', got {score!r}")
    W = _refit_on_graph(Xn, A)
    R = (Xn - Xn.mean(0)) @ (np.eye(len(A)) - W)
    sq = (R**2).mean(0)
    fit = 0.5 * sq.sum() if score == "ls" else np.sqrt(sq).sum()
    return float(fit + lam * np.abs(W).sum())


def synthetic_structure(
    seeds: Sequence[int] = (0,),
    d: int = 10,
    edges_per_node: float = 1.0,
    n: int = 1000,
    lam: float = 0.05,
    threshold: float = 0.3,
    alpha: float = 0.01,
) -> pd.DataFrame:
    """Learn random linear SEMs with unequal noise scales by least squares, CoLiDE and PC.

    One random graph per seed (:func:`random_linear_sem`, noise scales uniform in [0.5, 2]),
    learned by :func:`learn_dag` with both scores and by :func:`pc_cpdag`, each scored by
    :func:`shd` against the truth. Two diagnostic columns give, for each score, the penalized
    score of the learned graph minus that of the true graph (:func:`dag_score`): negative
    means the score prefers a wrong graph, positive that the optimizer missed the truth.

    Args:
        seeds: one graph per seed.
        d, edges_per_node, n: passed to :func:`random_linear_sem`.
        lam, threshold: passed to :func:`learn_dag`.
        alpha: level of PC's tests.

    Returns:
        A DataFrame indexed by seed with ``edges``, ``SHD least squares``, ``SHD CoLiDE``,
        ``SHD PC`` and the two score gaps ``LS gap`` and ``CoLiDE gap``.
    """
    if isinstance(seeds, (int, np.integer)) or len(seeds) == 0:
        raise ValueError(f"seeds must be a non-empty sequence of ints, got {seeds!r}")
    rows = {}
    for seed in seeds:
        sem = random_linear_sem(d, edges_per_node, n, seed=int(seed))
        A = sem.adjacency
        row: dict[str, float] = {"edges": int(A.sum())}
        for name, score in (("least squares", "ls"), ("CoLiDE", "colide")):
            L = (learn_dag(sem.X, score, lam=lam, threshold=threshold) != 0).astype(int)
            row[f"SHD {name}"] = shd(A, L)
            row[f"{'LS' if score == 'ls' else 'CoLiDE'} gap"] = dag_score(sem.X, L, score, lam) - dag_score(sem.X, A, score, lam)
        row["SHD PC"] = shd(A, pc_cpdag(sem.X, alpha=alpha))
        rows[int(seed)] = row
    cols = ["edges", "SHD least squares", "SHD CoLiDE", "SHD PC", "LS gap", "CoLiDE gap"]
    out = pd.DataFrame(rows).T[cols]
    out.index.name = "seed"
    return out.astype({c: int for c in cols[:4]})


def _break_cycles(W: np.ndarray) -> np.ndarray:
    """Drop the weakest edge of each remaining cycle until the graph is acyclic."""
    W = W.copy()
    while True:
        g = nx.from_numpy_array((W != 0).astype(int), create_using=nx.DiGraph)
        try:
            cycle = nx.find_cycle(g)
        except nx.NetworkXNoCycle:
            return W
        i, j = min(cycle, key=lambda e: abs(W[e[0], e[1]]))[:2]
        W[i, j] = 0


def pc_cpdag(X: Any, alpha: float = 0.01, indep_test: str = "fisherz") -> np.ndarray:
    """The PC algorithm of ``causal-learn``; returns its CPDAG as a 0/1 matrix in which an
    undirected edge has both ``A[i, j]`` and ``A[j, i]`` set.

    Args:
        X: data ``(n, d)``.
        alpha: significance level of the conditional-independence tests.
        indep_test: a ``causal-learn`` test name (``"fisherz"`` for linear Gaussian data).

    Returns:
        The adjacency of the estimated CPDAG.
    """
    from causallearn.search.ConstraintBased.PC import pc

    Xn = np.asarray(X, dtype=float)
    if Xn.ndim != 2:
        raise ValueError(f"X must be 2-D (n, d), got shape {Xn.shape}")
    cg = pc(Xn, alpha=alpha, indep_test=indep_test, show_progress=False)
    G = cg.G.graph  # G[j, i] = 1 and G[i, j] = -1 means i -> j; -1/-1 undirected
    d = Xn.shape[1]
    A = np.zeros((d, d), dtype=int)
    for i in range(d):
        for j in range(d):
            if G[j, i] == 1 and G[i, j] == -1:
                A[i, j] = 1
            elif G[i, j] == -1 and G[j, i] == -1:
                A[i, j] = A[j, i] = 1
    return A


def dropout_chain(n: int = 3000, dropout: float = 0.5, seed: int = 0) -> pd.DataFrame:
    """A chain ``X -> Y -> Z`` of log-expression levels with value-dependent dropouts.

    Each variable is observed as 0 with a probability that is higher for low true values
    (a logistic in the standardized value, averaging about ``dropout``), as in single-cell
    RNA sequencing where weakly expressed genes often read as zero.

    Args:
        n: cells.
        dropout: average dropout rate in (0, 1).
        seed: seeds everything.

    Returns:
        A DataFrame with observed columns ``X``, ``Y``, ``Z`` (zeros for dropouts) and the
        true values ``X_true``, ``Y_true``, ``Z_true``.
    """
    n = check_positive_int(n, "n", minimum=20)
    if not 0 < dropout < 1:
        raise ValueError(f"dropout must be in (0, 1), got {dropout}")
    rng = np.random.default_rng(seed)
    x = 2 + rng.normal(size=n)
    y = 1 + 0.8 * x + rng.normal(size=n)
    z = 1 + 0.8 * y + rng.normal(size=n)
    out = {}
    offset = np.log(dropout / (1 - dropout))
    for name, v in (("X", x), ("Y", y), ("Z", z)):
        s = (v - v.mean()) / v.std()
        p = 1 / (1 + np.exp(-(offset - 2.0 * s)))
        out[name] = np.where(rng.random(n) < p, 0.0, v)
        out[f"{name}_true"] = v
    return pd.DataFrame(out)


def ci_test_pvalue(df: pd.DataFrame, x: str, y: str, given: Sequence[str], deletion: bool = False) -> float:
    """Fisher-z partial-correlation test of ``x`` independent of ``y`` given ``given``
    (causal-learn's ``fisherz``), optionally with test-wise deletion of dropouts.

    Args:
        df: data.
        x, y: the tested columns.
        given: the conditioning columns.
        deletion: drop the rows in which any variable of this test is exactly zero.

    Returns:
        The p-value.
    """
    from causallearn.utils.cit import CIT

    cols = [x, y, *given]
    missing = [c for c in cols if c not in df]
    if missing:
        raise ValueError(f"df lacks the columns {missing}")
    data = df[cols].to_numpy(dtype=float)
    if deletion:
        data = data[(data != 0).all(axis=1)]
    if len(data) < len(cols) + 3:
        raise ValueError("too few rows left for the test")
    test = CIT(data, "fisherz")
    return float(test(0, 1, list(range(2, len(cols)))))


def dropout_rejection_rates(reps: int = 200, n: int = 1000, dropout: float = 0.5, level: float = 0.05, seed: int = 0) -> dict[str, float]:
    """How often ``X indep Z | Y`` (true in the chain) is rejected, with and without dropouts.

    Args:
        reps: independent data sets. A rate near the 0.05 level is measured to about
            +-0.015 with 200 (one standard error); with 20, one data set more or less moves it by 0.05.
        n, dropout: passed to :func:`dropout_chain`.
        level: significance level.
        seed: data set ``r`` uses seed ``1000 * seed + r``.

    Returns:
        Rejection rates for ``"no dropouts"``, ``"naive (zeros kept)"`` and
        ``"test-wise deletion"``.
    """
    reps = check_positive_int(reps, "reps")
    hits = {"no dropouts": 0, "naive (zeros kept)": 0, "test-wise deletion": 0}
    for r in range(reps):
        df = dropout_chain(n, dropout, seed=1000 * int(seed) + r)
        hits["no dropouts"] += ci_test_pvalue(df, "X_true", "Z_true", ["Y_true"]) < level
        hits["naive (zeros kept)"] += ci_test_pvalue(df, "X", "Z", ["Y"]) < level
        hits["test-wise deletion"] += ci_test_pvalue(df, "X", "Z", ["Y"], deletion=True) < level
    return {k: v / reps for k, v in hits.items()}


def sachs_structure(sachs: Any, lam: float = 0.1, threshold: float = 0.3, alpha: float = 0.01) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Learn the Sachs protein network three ways and score each against the consensus graph.

    The abundances are log-transformed and standardized. The consensus graph of this release
    contains one directed cycle, so SHD is computed with ``require_dag=False``.

    Args:
        sachs: :func:`biaslab.datasets.causal_data.load_sachs`.
        lam, threshold: passed to :func:`learn_dag`.
        alpha: level of PC's tests.

    Returns:
        ``(table, graphs)``: a DataFrame indexed by method with ``edges`` and ``SHD``, and the
        learned adjacency matrices by method.
    """
    X = np.log(sachs.data.to_numpy(dtype=float))
    X = (X - X.mean(0)) / X.std(0)
    truth = sachs.adjacency
    graphs = {
        "PC (causal-learn)": pc_cpdag(X, alpha=alpha),
        "least squares + acyclicity": (learn_dag(X, "ls", lam=lam, threshold=threshold) != 0).astype(int),
        "CoLiDE score + acyclicity": (learn_dag(X, "colide", lam=lam, threshold=threshold) != 0).astype(int),
    }
    rows = {}
    for name, A in graphs.items():
        undirected = int(((A == 1) & (A.T == 1)).sum() // 2)
        rows[name] = {"edges": int(A.sum()) - undirected, "SHD": shd(truth, A, require_dag=False)}
    return pd.DataFrame(rows).T, graphs
