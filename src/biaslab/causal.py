"""Causal representation learning: structural causal models, effect estimators, causal
discovery (bivariate orientation and DAG learning) and graph metrics.

Every graph is a ``networkx.DiGraph`` or a 0/1 adjacency matrix ``A[i, j] = 1`` for ``i -> j``.
See: chapters/04_causal_representation_learning.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import torch
from torch import nn

from .core import make_mlp
from .validation import as_1d, check_positive_int

__all__ = [
    "SCM",
    "smoking_scm",
    "additive_scm",
    "front_door_estimate",
    "backdoor_estimate",
    "front_door_experiment",
    "naive_conditional",
    "ate_naive",
    "att_regression",
    "att_ipw",
    "TARNet",
    "att_tarnet",
    "nsw_estimates",
    "spacing_entropy",
    "conditional_nll",
    "direction_score",
    "location_scale_pair",
    "orientation_accuracy",
    "tuebingen_orientation",
    "LinearSEM",
    "random_linear_sem",
    "learn_dag",
    "dag_score",
    "synthetic_structure",
    "pc_cpdag",
    "sachs_structure",
    "dropout_chain",
    "ci_test_pvalue",
    "dropout_rejection_rates",
    "drifting_pair",
    "cdnod_vs_pc",
    "mechanism_parameters",
    "max_cross_correlation",
    "segment_sources",
    "whiten",
    "LinearVAE",
    "fit_latent_model",
    "action_latent_data",
    "bent_outcome",
    "interventional_mean",
    "linear_invariance_penalty",
    "fit_rep4ex_encoder",
    "extrapolate_with_representation",
    "intervention_extrapolation",
    "extrapolation_mse",
    "to_adjacency",
    "shd",
    "mcc",
    "plot_graphs",
]


# --------------------------------------------------------------------------------------
# graphs
# --------------------------------------------------------------------------------------
def to_adjacency(graph: Any, nodes: Sequence[str] | None = None, name: str = "graph") -> np.ndarray:
    """Turn a graph (``networkx.DiGraph``, edge list or 0/1 matrix) into a 0/1 adjacency matrix.

    Args:
        graph: a ``DiGraph``, a list of ``(cause, effect)`` pairs, or a square array.
        nodes: node order for a ``DiGraph`` or edge list (default: sorted node names for an
            edge list, the graph's own order for a ``DiGraph``).
        name: the argument name used in error messages.

    Returns:
        An ``int`` array ``A`` with ``A[i, j] = 1`` for an edge ``i -> j``.

    See: chapters/04_causal_representation_learning/03_structure_learning.
    """
    if isinstance(graph, nx.Graph):
        if not isinstance(graph, nx.DiGraph):
            raise TypeError(f"{name} must be a directed graph (networkx.DiGraph), got an undirected Graph")
        order = list(nodes) if nodes is not None else list(graph.nodes)
        return nx.to_numpy_array(graph, nodelist=order, weight=None).astype(int)
    if isinstance(graph, (list, tuple)) and (len(graph) == 0 or isinstance(graph[0], (list, tuple))):
        if nodes is None:
            nodes = sorted({v for e in graph for v in e})
        index = {v: i for i, v in enumerate(nodes)}
        A = np.zeros((len(nodes), len(nodes)), dtype=int)
        for a, b in graph:
            A[index[a], index[b]] = 1
        return A
    A = np.asarray(graph.detach().cpu() if isinstance(graph, torch.Tensor) else graph)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"{name} must be a square adjacency matrix, got shape {A.shape}")
    return (A != 0).astype(int)


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

    See: chapters/04_causal_representation_learning/03_structure_learning.
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

    See: chapters/04_causal_representation_learning/05_causal_representations.
    """
    from scipy.optimize import linear_sum_assignment

    a = np.asarray(z_true.detach().cpu() if isinstance(z_true, torch.Tensor) else z_true, dtype=float)
    b = np.asarray(z_hat.detach().cpu() if isinstance(z_hat, torch.Tensor) else z_hat, dtype=float)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"z_true and z_hat must be 2-D (n, k), got shapes {a.shape} and {b.shape}")
    if a.shape != b.shape:
        raise ValueError(f"z_true and z_hat must have the same shape, got {a.shape} and {b.shape}")
    k = a.shape[1]
    c = np.corrcoef(a.T, b.T)[:k, k:]
    c = np.nan_to_num(np.abs(c))
    rows, cols = linear_sum_assignment(-c)
    return float(c[rows, cols].mean())


def plot_graphs(
    graphs: Mapping[str, Any],
    nodes: Sequence[str] | None = None,
    truth: Any = None,
    axes: Sequence[Any] | None = None,
    layout: str = "circular",
) -> list[Any]:
    """Draw causal graphs side by side with one layout (truth vs learned).

    Edges of a learned graph are coloured against ``truth``: correct (black), reversed
    (orange), extra (red, dashed); undirected edges (both directions set) are drawn without
    arrowheads. Missing true edges are drawn in light grey.

    Args:
        graphs: ``{title: graph}``, each a ``DiGraph``, edge list or adjacency matrix.
        nodes: node names (for matrices) in the matrix order.
        truth: the true graph used to colour the others (optional).
        axes: matplotlib axes, one per graph (default: a new row of subplots).
        layout: ``"circular"`` or ``"spring"``.

    Returns:
        The list of axes.

    See: chapters/04_causal_representation_learning/03_structure_learning.
    """
    import matplotlib.pyplot as plt

    mats = {k: to_adjacency(g, nodes=nodes, name=k) for k, g in graphs.items()}
    d = next(iter(mats.values())).shape[0]
    names = list(nodes) if nodes is not None else [str(i) for i in range(d)]
    T = to_adjacency(truth, nodes=nodes, name="truth") if truth is not None else None
    base = nx.DiGraph()
    base.add_nodes_from(names)
    if layout == "circular":
        pos = nx.circular_layout(base)
    elif layout == "spring":
        base.add_edges_from((names[i], names[j]) for i, j in zip(*np.nonzero(T if T is not None else next(iter(mats.values())))))
        pos = nx.spring_layout(base, seed=0)
    else:
        raise ValueError(f"layout must be 'circular' or 'spring', got {layout!r}")
    if axes is None:
        _, axes = plt.subplots(1, len(mats), figsize=(4.2 * len(mats), 4.2))
        axes = np.atleast_1d(axes)
    colors = {"ok": "black", "rev": "#de8f05", "extra": "#d55e00", "missing": "#cccccc"}
    for ax, (title, A) in zip(axes, mats.items()):
        g = nx.DiGraph()
        g.add_nodes_from(names)
        nx.draw_networkx_nodes(g, pos, ax=ax, node_color="#a1c9f4", node_size=650)
        nx.draw_networkx_labels(g, pos, ax=ax, font_size=8)
        groups: dict[str, list] = {k: [] for k in colors}
        undirected: dict[str, list] = {k: [] for k in colors}
        for i in range(d):
            for j in range(d):
                if i == j or not A[i, j]:
                    continue
                if A[j, i]:
                    if i < j:
                        kind = "ok" if T is None or (T[i, j] or T[j, i]) else "extra"
                        undirected[kind].append((names[i], names[j]))
                    continue
                if T is None or T[i, j]:
                    kind = "ok"
                elif T[j, i]:
                    kind = "rev"
                else:
                    kind = "extra"
                groups[kind].append((names[i], names[j]))
        if T is not None and A is not T:
            for i, j in zip(*np.nonzero(T)):
                if not A[i, j] and not A[j, i]:
                    groups["missing"].append((names[i], names[j]))
        for kind, edges in groups.items():
            if edges:
                nx.draw_networkx_edges(
                    g, pos, edgelist=edges, ax=ax, edge_color=colors[kind], arrows=True, arrowsize=14,
                    style="dashed" if kind == "extra" else "solid", node_size=650, width=1.6,
                )
        for kind, edges in undirected.items():
            if edges:
                nx.draw_networkx_edges(
                    g, pos, edgelist=edges, ax=ax, edge_color=colors[kind], arrows=False, width=1.6,
                    style="dashed" if kind == "extra" else "solid", node_size=650,
                )
        ax.set_title(title)
        ax.set_axis_off()
    return list(axes)


# --------------------------------------------------------------------------------------
# structural causal models
# --------------------------------------------------------------------------------------
Mechanism = Callable[[Mapping[str, torch.Tensor], torch.Tensor], torch.Tensor]
NoiseSampler = Callable[[int, torch.Generator], torch.Tensor]


@dataclass
class SCM:
    """A structural causal model: a DAG, one mechanism per variable and independent noises.

    Each variable ``v`` is computed as ``v = mechanisms[v](parent_values, u_v)`` with
    ``u_v = noise[v](n, generator)``, in topological order. ``hidden`` names variables that
    exist in the model but are not returned by :meth:`sample` (hidden confounders).

    Fields:

    - ``graph``: the causal DAG over all variables (hidden ones included).
    - ``mechanisms``: ``{v: f(parents: dict of tensors, u: tensor) -> tensor}``.
    - ``noise``: ``{v: sampler(n, generator) -> tensor of shape (n,)}``.
    - ``hidden``: variables left out of the samples.
    - ``inverses``: optional ``{v: g(parents, value) -> u}`` used for abduction; variables
      without one are treated as additive (``u = value - f(parents, 0)``).

    See: chapters/04_causal_representation_learning/01_interventions.
    """

    graph: nx.DiGraph
    mechanisms: dict[str, Mechanism]
    noise: dict[str, NoiseSampler]
    hidden: tuple[str, ...] = ()
    inverses: dict[str, Callable[[Mapping[str, torch.Tensor], torch.Tensor], torch.Tensor]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.graph, nx.DiGraph):
            raise TypeError(f"graph must be a networkx.DiGraph, got {type(self.graph).__name__}")
        if not nx.is_directed_acyclic_graph(self.graph):
            raise ValueError("graph must be acyclic: a structural causal model needs a DAG")
        nodes = set(self.graph.nodes)
        for label, d in (("mechanisms", self.mechanisms), ("noise", self.noise)):
            if set(d) != nodes:
                raise ValueError(f"{label} must have one entry per node; missing {sorted(nodes - set(d))}, extra {sorted(set(d) - nodes)}")
        unknown = set(self.hidden) - nodes
        if unknown:
            raise ValueError(f"hidden names unknown variables {sorted(unknown)}")
        self.order = list(nx.topological_sort(self.graph))

    @property
    def observed(self) -> list[str]:
        """The variables returned by :meth:`sample`, in topological order."""
        return [v for v in self.order if v not in self.hidden]

    def sample_noise(self, n: int, seed: int = 0) -> dict[str, torch.Tensor]:
        """Draw ``n`` values of every exogenous noise variable."""
        n = check_positive_int(n, "n")
        gen = torch.Generator().manual_seed(int(seed))
        return {v: self.noise[v](n, gen) for v in self.order}

    def _propagate(self, u: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        values: dict[str, torch.Tensor] = {}
        for v in self.order:
            parents = {p: values[p] for p in self.graph.predecessors(v)}
            values[v] = self.mechanisms[v](parents, u[v])
        return values

    def sample(self, n: int, seed: int = 0, include_hidden: bool = False) -> pd.DataFrame:
        """Draw ``n`` joint samples of the observed variables.

        Args:
            n: number of samples.
            seed: seeds the noise.
            include_hidden: also return the hidden variables.

        Returns:
            A DataFrame with one column per variable, in topological order.
        """
        values = self._propagate(self.sample_noise(n, seed))
        cols = self.order if include_hidden else self.observed
        return pd.DataFrame({v: values[v].detach().cpu().numpy() for v in cols})

    def do(self, interventions: Mapping[str, float]) -> SCM:
        """The intervened model: each named variable is set to a constant, and the edges into
        it are cut (the graph surgery of the do-operator).

        Args:
            interventions: ``{variable: value}``.

        Returns:
            A new :class:`SCM`; the original is unchanged.
        """
        if not isinstance(interventions, Mapping) or not interventions:
            raise TypeError("interventions must be a non-empty dict {variable: value}")
        unknown = set(interventions) - set(self.graph.nodes)
        if unknown:
            raise ValueError(f"interventions name unknown variables {sorted(unknown)}")
        graph = self.graph.copy()
        mechanisms = dict(self.mechanisms)
        for v, value in interventions.items():
            graph.remove_edges_from(list(graph.in_edges(v)))
            mechanisms[v] = _constant(float(value))
        return SCM(graph, mechanisms, dict(self.noise), self.hidden, dict(self.inverses))

    def abduct(self, observation: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Abduction: recover the noise values that produced a full observation.

        Args:
            observation: values of every variable (hidden ones included), scalars or arrays.

        Returns:
            ``{variable: noise tensor}``.
        """
        missing = set(self.order) - set(observation)
        if missing:
            raise ValueError(f"abduction needs every variable of the model; missing {sorted(missing)}")
        vals = {v: torch.as_tensor(np.asarray(observation[v], dtype=np.float32)).reshape(-1) for v in self.order}
        u = {}
        for v in self.order:
            parents = {p: vals[p] for p in self.graph.predecessors(v)}
            if v in self.inverses:
                u[v] = self.inverses[v](parents, vals[v])
            else:
                u[v] = vals[v] - self.mechanisms[v](parents, torch.zeros_like(vals[v]))
        return u

    def counterfactual(self, observation: Mapping[str, Any], interventions: Mapping[str, float]) -> pd.DataFrame:
        """Counterfactual by abduction, action and prediction.

        Args:
            observation: the observed values of every variable for one or more units.
            interventions: the hypothetical intervention ``{variable: value}``.

        Returns:
            A DataFrame with the counterfactual value of every variable for each unit.
        """
        u = self.abduct(observation)
        values = self.do(interventions)._propagate(u)
        return pd.DataFrame({v: values[v].detach().cpu().numpy() for v in self.order})


def _constant(value: float) -> Mechanism:
    def f(parents: Mapping[str, torch.Tensor], u: torch.Tensor) -> torch.Tensor:
        return torch.full_like(u, value)

    return f


def _bernoulli_mechanism(logit: Callable[[Mapping[str, torch.Tensor]], torch.Tensor]) -> Mechanism:
    def f(parents: Mapping[str, torch.Tensor], u: torch.Tensor) -> torch.Tensor:
        return (u < torch.sigmoid(logit(parents))).float()

    return f


def _uniform(n: int, gen: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=gen)


def smoking_scm(confounding: float = 3.0) -> SCM:
    """The front-door example: smoking -> tar -> cancer, with a hidden genotype that causes
    both smoking and cancer. All variables are binary.

    Args:
        confounding: log-odds effect of the hidden genotype on smoking and on cancer.

    Returns:
        An :class:`SCM` over ``genotype`` (hidden), ``smoking``, ``tar``, ``cancer``.

    See: chapters/04_causal_representation_learning/01_interventions.
    """
    c = float(confounding)
    g = nx.DiGraph([("genotype", "smoking"), ("genotype", "cancer"), ("smoking", "tar"), ("tar", "cancer")])
    mech = {
        "genotype": _bernoulli_mechanism(lambda p: torch.tensor(-0.5)),
        "smoking": _bernoulli_mechanism(lambda p: -c / 2 + c * p["genotype"]),
        "tar": _bernoulli_mechanism(lambda p: -2.0 + 4.0 * p["smoking"]),
        "cancer": _bernoulli_mechanism(lambda p: -2.5 + 1.5 * p["tar"] + c * p["genotype"]),
    }
    noise = {v: _uniform for v in g.nodes}
    return SCM(g, mech, noise, hidden=("genotype",))


def additive_scm(weights: Mapping[tuple[str, str], float], noise_scale: Mapping[str, float] | float = 1.0) -> SCM:
    """A linear-Gaussian SCM with additive noise, invertible for counterfactuals.

    Args:
        weights: ``{(cause, effect): coefficient}``.
        noise_scale: one standard deviation for all variables, or one per variable.

    Returns:
        An :class:`SCM` with ``v = sum_p w_pv * p + sigma_v * eps_v``.

    See: chapters/04_causal_representation_learning/01_interventions.
    """
    g = nx.DiGraph()
    g.add_edges_from(weights)
    if not nx.is_directed_acyclic_graph(g):
        raise ValueError("weights must describe an acyclic graph")
    scales = {v: float(noise_scale[v] if isinstance(noise_scale, Mapping) else noise_scale) for v in g.nodes}

    def mech(v: str) -> Mechanism:
        def f(parents: Mapping[str, torch.Tensor], u: torch.Tensor) -> torch.Tensor:
            out = u.clone()
            for p, val in parents.items():
                out = out + float(weights[(p, v)]) * val
            return out

        return f

    def noise(v: str) -> NoiseSampler:
        return lambda n, gen: scales[v] * torch.randn(n, generator=gen)

    return SCM(g, {v: mech(v) for v in g.nodes}, {v: noise(v) for v in g.nodes})


# --------------------------------------------------------------------------------------
# identification formulas (binary treatment, mediator and outcome)
# --------------------------------------------------------------------------------------
def _binary_columns(df: pd.DataFrame, cols: Sequence[str]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(df).__name__}")
    for c in cols:
        if c not in df:
            raise ValueError(f"column {c!r} not in data (columns: {list(df.columns)})")
        if not set(np.unique(df[c])) <= {0, 1}:
            raise ValueError(f"column {c!r} must be binary 0/1")


def naive_conditional(df: pd.DataFrame, x: str, y: str, x_value: int) -> float:
    """P(y = 1 | x = x_value): what conditioning (not intervening) gives.

    See: chapters/04_causal_representation_learning/01_interventions.
    """
    _binary_columns(df, [x, y])
    sel = df[x] == x_value
    if not sel.any():
        raise ValueError(f"no rows with {x} = {x_value}")
    return float(df.loc[sel, y].mean())


def front_door_estimate(df: pd.DataFrame, x: str, m: str, y: str, x_value: int) -> float:
    """Front-door adjustment for P(y = 1 | do(x = x_value)) with a binary mediator ``m``.

    ``sum_m P(m | x) sum_x' P(y | m, x') P(x')``: valid when ``m`` intercepts every directed
    path from ``x`` to ``y``, nothing confounds ``x`` and ``m``, and ``x`` blocks every back-door
    path from ``m`` to ``y``, even when ``x`` and ``y`` share a hidden cause.

    Args:
        df: observational data with binary columns ``x``, ``m``, ``y``.
        x, m, y: column names of treatment, mediator, outcome.
        x_value: 0 or 1.

    Returns:
        The estimated interventional probability.

    See: chapters/04_causal_representation_learning/01_interventions.
    """
    _binary_columns(df, [x, m, y])
    if x_value not in (0, 1):
        raise ValueError(f"x_value must be 0 or 1, got {x_value}")
    p_x = df[x].value_counts(normalize=True)
    total = 0.0
    for mv in (0, 1):
        sel_x = df[x] == x_value
        p_m = float((df.loc[sel_x, m] == mv).mean())
        inner = 0.0
        for xv in (0, 1):
            cell = df[(df[m] == mv) & (df[x] == xv)]
            if len(cell) and xv in p_x:
                inner += float(cell[y].mean()) * float(p_x[xv])
        total += p_m * inner
    return total


def backdoor_estimate(df: pd.DataFrame, x: str, y: str, z: str, x_value: int) -> float:
    """Back-door adjustment ``sum_z P(y | x, z) P(z)`` for a binary adjustment variable ``z``.

    See: chapters/04_causal_representation_learning/01_interventions.
    """
    _binary_columns(df, [x, y, z])
    total = 0.0
    for zv, pz in df[z].value_counts(normalize=True).items():
        cell = df[(df[x] == x_value) & (df[z] == zv)]
        if len(cell):
            total += float(cell[y].mean()) * float(pz)
    return total


def front_door_experiment(scm: SCM | None = None, n: int = 400_000, seed: int = 0) -> pd.DataFrame:
    """Compare conditioning, front-door adjustment and the simulated intervention.

    Draws ``n`` observational samples of :func:`smoking_scm` (genotype hidden) and ``n``
    samples of each intervened model ``do(smoking = s)``.

    Args:
        scm: the model (default: :func:`smoking_scm`); it needs ``smoking``, ``tar`` and
            ``cancer``.
        n: samples per distribution.
        seed: seeds the observational sample (the interventional ones use ``seed + 1000``).

    Returns:
        A DataFrame indexed by ``s`` (0, 1) with the columns ``P(cancer | do(s)) simulated``,
        ``front-door estimate`` and ``naive P(cancer | s)``.

    See: chapters/04_causal_representation_learning/01_interventions.
    """
    scm = smoking_scm() if scm is None else scm
    obs = scm.sample(n, seed=seed)
    rows = {}
    for s in (0, 1):
        truth = float(scm.do({"smoking": s}).sample(n, seed=seed + 1000 + s)["cancer"].mean())
        rows[s] = {
            "P(cancer | do(s)) simulated": truth,
            "front-door estimate": front_door_estimate(obs, "smoking", "tar", "cancer", s),
            "naive P(cancer | s)": naive_conditional(obs, "smoking", "cancer", s),
        }
    out = pd.DataFrame(rows).T
    out.index.name = "s"
    return out


# --------------------------------------------------------------------------------------
# treatment effects on the treated (NSW / CPS)
# --------------------------------------------------------------------------------------
NSW_COVARIATES = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]


def _effect_inputs(df: pd.DataFrame, treatment: str, outcome: str, covariates: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in [treatment, outcome, *covariates] if c not in df]
    if missing:
        raise ValueError(f"df lacks the columns {missing}")
    t = df[treatment].to_numpy(dtype=float)
    if not set(np.unique(t)) <= {0.0, 1.0}:
        raise ValueError(f"{treatment!r} must be binary 0/1")
    if t.min() == t.max():
        raise ValueError(f"{treatment!r} must contain both treated and control units")
    return df[list(covariates)].to_numpy(dtype=float), t, df[outcome].to_numpy(dtype=float)


def _features(X: np.ndarray, covariates: Sequence[str]) -> np.ndarray:
    """Covariates plus the usual Lalonde extras: squares of age, education and earnings, and
    indicators of zero earnings."""
    extra = []
    for name in ("age", "educ", "re74", "re75"):
        if name in covariates:
            col = X[:, list(covariates).index(name)]
            extra.append(col**2)
            if name.startswith("re"):
                extra.append((col == 0).astype(float))
    F = np.column_stack([X, *extra]) if extra else X
    return (F - F.mean(0)) / (F.std(0) + 1e-12)


def ate_naive(df: pd.DataFrame, treatment: str = "treat", outcome: str = "re78") -> float:
    """Difference of mean outcomes, treated minus control.

    See: chapters/04_causal_representation_learning/01_interventions.
    """
    _, t, y = _effect_inputs(df, treatment, outcome, [])
    return float(y[t == 1].mean() - y[t == 0].mean())


def att_regression(df: pd.DataFrame, treatment: str = "treat", outcome: str = "re78", covariates: Sequence[str] = NSW_COVARIATES) -> float:
    """Effect on the treated by regression adjustment: fit the outcome of the controls on the
    covariates, predict the treated units' untreated outcomes, and average the differences.

    See: chapters/04_causal_representation_learning/01_interventions.
    """
    from sklearn.linear_model import LinearRegression

    X, t, y = _effect_inputs(df, treatment, outcome, covariates)
    F = _features(X, covariates)
    mu0 = LinearRegression().fit(F[t == 0], y[t == 0])
    return float((y[t == 1] - mu0.predict(F[t == 1])).mean())


def att_ipw(df: pd.DataFrame, treatment: str = "treat", outcome: str = "re78", covariates: Sequence[str] = NSW_COVARIATES, trim: float = 0.99) -> float:
    """Effect on the treated by propensity weighting: controls are weighted by the odds
    ``e(x) / (1 - e(x))`` of a logistic propensity model (propensities clipped at ``trim``).

    See: chapters/04_causal_representation_learning/01_interventions.
    """
    from sklearn.linear_model import LogisticRegression

    X, t, y = _effect_inputs(df, treatment, outcome, covariates)
    F = _features(X, covariates)
    e = LogisticRegression(C=1.0, max_iter=2000).fit(F, t).predict_proba(F)[:, 1]
    e = np.clip(e, 1e-6, trim)
    w = e[t == 0] / (1 - e[t == 0])
    return float(y[t == 1].mean() - np.sum(w * y[t == 0]) / np.sum(w))


class TARNet(nn.Module):
    """Treatment-agnostic representation network: a shared representation ``phi(x)`` and one
    outcome head per treatment arm (Shalit, Johansson and Sontag, 2017).

    See: chapters/04_causal_representation_learning/01_interventions.
    """

    def __init__(self, in_dim: int, rep_dim: int = 32, width: int = 64) -> None:
        super().__init__()
        self.phi = make_mlp(in_dim, rep_dim, width=width, depth=2, activation="relu")
        self.heads = nn.ModuleList([make_mlp(rep_dim, 1, width=width, depth=1, activation="relu") for _ in range(2)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Both potential outcomes, shape ``(n, 2)`` (column 0: untreated, 1: treated)."""
        h = torch.relu(self.phi(x))
        return torch.cat([head(h) for head in self.heads], dim=1)


def att_tarnet(
    df: pd.DataFrame,
    treatment: str = "treat",
    outcome: str = "re78",
    covariates: Sequence[str] = NSW_COVARIATES,
    steps: int = 1000,
    lr: float = 1e-3,
    weight_decay: float = 1e-2,
    batch_size: int = 1024,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> float:
    """Effect on the treated from a TARNet: train both heads on the factual outcomes (in units
    of 10,000 USD), then average ``y - mu0(x)`` over the treated.

    Args:
        df: data with the treatment, outcome and covariate columns.
        steps, lr, weight_decay, batch_size: minibatch AdamW training (batches drawn with
            replacement).
        seed: seeds the initialization.
        device: where to train.

    Returns:
        The estimated effect on the treated, in USD.

    See: chapters/04_causal_representation_learning/01_interventions.
    """
    X, t, y = _effect_inputs(df, treatment, outcome, covariates)
    F = _features(X, covariates)
    torch.manual_seed(int(seed))
    net = TARNet(F.shape[1]).to(device)
    xt = torch.tensor(F, dtype=torch.float32, device=device)
    tt = torch.tensor(t, dtype=torch.long, device=device)
    scale = 10_000.0
    yt = torch.tensor(y / scale, dtype=torch.float32, device=device)
    # weight the two arms equally so that the few treated units are not drowned out
    w = torch.where(tt == 1, 0.5 / (tt == 1).float().mean(), 0.5 / (tt == 0).float().mean())
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(int(seed))
    n = len(xt)
    threads = torch.get_num_threads()
    if torch.device(device).type == "cpu":
        torch.set_num_threads(1)  # tiny matrices: one thread is faster than two
    try:
        for _ in range(check_positive_int(steps, "steps")):
            idx = torch.randint(0, n, (batch_size,), generator=gen).to(device)
            opt.zero_grad(set_to_none=True)
            pred = net(xt[idx]).gather(1, tt[idx, None]).squeeze(1)
            loss = (w[idx] * (pred - yt[idx]) ** 2).mean()
            loss.backward()
            opt.step()
        with torch.no_grad():
            mu0 = net(xt)[:, 0].cpu().numpy() * scale
    finally:
        torch.set_num_threads(threads)
    return float((y[t == 1] - mu0[t == 1]).mean())


def nsw_estimates(nsw: pd.DataFrame, cps: pd.DataFrame, seed: int = 0, device: torch.device | str = "cpu") -> pd.DataFrame:
    """Every estimator of the job-training effect, against the experimental benchmark.

    The benchmark is the difference of means in the randomized NSW experiment. The
    observational data keep the NSW treated units and replace the NSW controls by CPS men.

    Args:
        nsw: :func:`biaslab.datasets.causal_data.load_nsw`.
        cps: :func:`biaslab.datasets.causal_data.load_cps`.
        seed: seed of the TARNet.
        device: where the TARNet trains.

    Returns:
        A DataFrame indexed by estimator with columns ``estimate`` and ``error`` (USD).

    See: chapters/04_causal_representation_learning/01_interventions.
    """
    benchmark = ate_naive(nsw)
    obs = pd.concat([nsw[nsw["treat"] == 1], cps], ignore_index=True)
    rows = {
        "experiment (NSW, randomized)": benchmark,
        "naive difference (NSW treated vs CPS)": ate_naive(obs),
        "regression adjustment": att_regression(obs),
        "propensity weighting": att_ipw(obs),
        "TARNet (two-headed network)": att_tarnet(obs, seed=seed, device=device),
    }
    out = pd.DataFrame({"estimate": rows})
    out["error"] = out["estimate"] - benchmark
    return out


# --------------------------------------------------------------------------------------
# bivariate orientation: additive vs location-scale noise models
# --------------------------------------------------------------------------------------


def _standardize(a: np.ndarray) -> np.ndarray:
    sd = a.std()
    if sd == 0:
        raise ValueError("a variable is constant: its direction cannot be scored")
    return (a - a.mean()) / sd


def spacing_entropy(x: Any, min_spacing: float = 1e-3) -> float:
    """Differential entropy of a sample by the m-spacing (Vasicek) estimator, in nats.

    Args:
        x: a one-dimensional sample.
        min_spacing: floor on the spacings, so that repeated values (discrete data) do not
            give ``log 0``.

    Returns:
        The estimated entropy.

    See: chapters/04_causal_representation_learning/02_cause_effect_pairs.
    """
    a = np.sort(as_1d(x, "x", min_length=20, finite=True))
    n = len(a)
    m = max(1, int(round(np.sqrt(n) / 2)))
    i = np.arange(n)
    gaps = a[np.clip(i + m, 0, n - 1)] - a[np.clip(i - m, 0, n - 1)]
    return float(np.mean(np.log(n / (2 * m) * np.maximum(gaps, min_spacing))))


def conditional_nll(x: Any, y: Any, scale: bool = True, n_knots: int = 8, alpha: float = 1e-2, iters: int = 3) -> float:
    """Average Gaussian negative log-likelihood of ``y`` given ``x`` under a noise model.

    The mean ``f(x)`` (and, with ``scale=True``, the log-variance ``log g(x)^2``) is a cubic
    spline in ``x`` fitted by ridge regression; the scale model is refitted ``iters`` times
    with inverse-variance weights for the mean.

    Args:
        x, y: one-dimensional samples of equal length (standardize them first).
        scale: ``True`` for a location-scale model ``y = f(x) + g(x) eps``, ``False`` for the
            homoscedastic additive-noise model ``y = f(x) + sigma eps``.
        n_knots, alpha: spline knots and ridge penalty.
        iters: reweighting rounds of the location-scale fit.

    Returns:
        The mean negative log-likelihood per sample, in nats.

    See: chapters/04_causal_representation_learning/02_cause_effect_pairs.
    """
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import SplineTransformer

    x, y = as_1d(x, "x", min_length=20, finite=True), as_1d(y, "y", min_length=20, finite=True)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    B = SplineTransformer(n_knots=n_knots, degree=3).fit_transform(x[:, None])
    w = np.ones_like(y)
    for _ in range(iters if scale else 1):
        mu = Ridge(alpha=alpha).fit(B, y, sample_weight=w).predict(B)
        r = y - mu
        if not scale:
            return float(0.5 * (np.log(2 * np.pi * max(r.var(), 1e-12)) + 1))
        # E[log chi^2_1] = -1.27: undo the bias of regressing log squared residuals
        v = np.exp(Ridge(alpha=alpha).fit(B, np.log(r**2 + 1e-8)).predict(B) + 1.27)
        w = 1 / v
    v = v * np.mean(r**2 / v)  # calibrate the overall scale
    return float(0.5 * np.mean(np.log(2 * np.pi * v) + r**2 / v))


def direction_score(x: Any, y: Any, scale: bool = True) -> float:
    """Log-likelihood evidence for ``x -> y`` over ``y -> x`` (positive: ``x`` causes ``y``).

    Each direction is scored by the negative log-likelihood of its factorization, the
    marginal of the putative cause (:func:`spacing_entropy`) plus the conditional of the
    effect (:func:`conditional_nll`), after standardizing both variables.

    Args:
        x, y: one-dimensional samples of equal length.
        scale: location-scale (``True``) or homoscedastic additive-noise (``False``) model.

    Returns:
        ``nll(y -> x) - nll(x -> y)`` per sample, in nats.

    See: chapters/04_causal_representation_learning/02_cause_effect_pairs.
    """
    x, y = _standardize(as_1d(x, "x", min_length=20, finite=True)), _standardize(as_1d(y, "y", min_length=20, finite=True))
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    forward = spacing_entropy(x) + conditional_nll(x, y, scale)
    backward = spacing_entropy(y) + conditional_nll(y, x, scale)
    return backward - forward


def location_scale_pair(n: int = 1000, heteroscedasticity: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A random cause-effect pair ``y = f(x) + g(x) eps`` with ``g(x) = 0.3 exp(h s x)``.

    The cause is Gaussian or uniform, ``f`` a random mix of a tanh, a line and a parabola,
    and the noise scale grows exponentially along ``x`` (or against it) at rate
    ``h = heteroscedasticity`` times a random factor in [0.75, 1.25]; ``h = 0`` gives an
    additive-noise pair.

    Args:
        n: samples.
        heteroscedasticity: ``h >= 0``.
        seed: seeds everything.

    Returns:
        ``(x, y)``, with ``x`` the cause.

    See: chapters/04_causal_representation_learning/02_cause_effect_pairs.
    """
    n = check_positive_int(n, "n", minimum=20)
    if heteroscedasticity < 0:
        raise ValueError(f"heteroscedasticity must be >= 0, got {heteroscedasticity}")
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n) if rng.random() < 0.5 else rng.uniform(-2, 2, size=n)
    a, b, c, q, d = rng.normal(size=5)
    f = a * np.tanh(b * x) + c * x + 0.3 * q * x**2
    g = 0.3 * np.exp(heteroscedasticity * np.sign(d) * x * rng.uniform(0.75, 1.25))
    return x, f + g * rng.normal(size=n)


def orientation_accuracy(
    heteroscedasticity: float, n_pairs: int = 50, n: int = 1000, seed: int = 0
) -> dict[str, float]:
    """Fraction of random pairs whose direction each score gets right.

    Args:
        heteroscedasticity: passed to :func:`location_scale_pair`.
        n_pairs: pairs to score.
        n: samples per pair.
        seed: pair ``i`` uses seed ``1000 * seed + i``.

    Returns:
        ``{"location-scale": accuracy, "additive (homoscedastic)": accuracy}``.

    See: chapters/04_causal_representation_learning/02_cause_effect_pairs.
    """
    n_pairs = check_positive_int(n_pairs, "n_pairs")
    hits = {"location-scale": 0, "additive (homoscedastic)": 0}
    for i in range(n_pairs):
        x, y = location_scale_pair(n, heteroscedasticity, seed=1000 * int(seed) + i)
        hits["location-scale"] += direction_score(x, y, scale=True) > 0
        hits["additive (homoscedastic)"] += direction_score(x, y, scale=False) > 0
    return {k: v / n_pairs for k, v in hits.items()}


def tuebingen_orientation(pairs: Sequence[Any], max_n: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Score every Tuebingen pair in both directions with both noise models.

    Args:
        pairs: :func:`biaslab.datasets.causal_data.load_tuebingen_pairs` (objects with ``name``,
            ``cause`` and ``effect``).
        max_n: pairs with more samples are subsampled to this many (seeded).
        seed: seeds the subsampling.

    Returns:
        A DataFrame indexed by pair name with the sample size and, per model, the score of
        ``cause -> effect`` and whether it is positive (correct).

    See: chapters/04_causal_representation_learning/02_cause_effect_pairs.
    """
    rng = np.random.default_rng(seed)
    rows = {}
    for p in pairs:
        n = len(p.cause)
        idx = rng.choice(n, size=min(n, max_n), replace=False)
        x, y = np.asarray(p.cause)[idx], np.asarray(p.effect)[idx]
        ls = direction_score(x, y, scale=True)
        an = direction_score(x, y, scale=False)
        rows[p.name] = {"n": n, "location-scale score": ls, "additive score": an,
                        "location-scale correct": ls > 0, "additive correct": an > 0}
    return pd.DataFrame(rows).T.infer_objects()


# --------------------------------------------------------------------------------------
# structure learning: linear SEMs, a continuous DAG learner, PC, dropouts
# --------------------------------------------------------------------------------------
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

    See: chapters/04_causal_representation_learning/03_structure_learning.
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

    See: chapters/04_causal_representation_learning/03_structure_learning.
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

    See: chapters/04_causal_representation_learning/03_structure_learning.
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

    See: chapters/04_causal_representation_learning/03_structure_learning.
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

    See: chapters/04_causal_representation_learning/03_structure_learning.
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

    See: chapters/04_causal_representation_learning/03_structure_learning.
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

    See: chapters/04_causal_representation_learning/03_structure_learning.
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

    See: chapters/04_causal_representation_learning/03_structure_learning.
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

    See: chapters/04_causal_representation_learning/03_structure_learning.
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


# --------------------------------------------------------------------------------------
# heterogeneity: CD-NOD and independent mechanism changes
# --------------------------------------------------------------------------------------
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

    See: chapters/04_causal_representation_learning/04_heterogeneity.
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

    See: chapters/04_causal_representation_learning/04_heterogeneity.
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

    See: chapters/04_causal_representation_learning/04_heterogeneity.
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

    See: chapters/04_causal_representation_learning/04_heterogeneity.
    """
    marg, cond = ["mean", "log var"], ["slope", "intercept", "log resid var"]
    missing = [c for c in marg + cond if c not in params]
    if missing:
        raise ValueError(f"params lacks the columns {missing}")
    c = params[marg + cond].corr().loc[marg, cond].abs()
    return float(c.to_numpy().max())


# --------------------------------------------------------------------------------------
# causal representations: identifiable VAE with an auxiliary segment variable
# --------------------------------------------------------------------------------------
def segment_sources(
    n_segments: int = 40, n_per_segment: int = 100, n_sources: int = 5, obs_dim: int = 10, noise: float = 0.05, seed: int = 0
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

    Returns:
        ``{"x": (n, obs_dim), "u": (n,) long, "s": (n, n_sources)}``.

    See: chapters/04_causal_representation_learning/05_causal_representations.
    """
    n_segments = check_positive_int(n_segments, "n_segments", minimum=2)
    n_sources = check_positive_int(n_sources, "n_sources")
    obs_dim = check_positive_int(obs_dim, "obs_dim")
    if obs_dim < n_sources:
        raise ValueError(f"obs_dim must be >= n_sources, got {obs_dim} < {n_sources}")
    g = torch.Generator().manual_seed(int(seed))
    lam = torch.exp(torch.empty(n_segments, n_sources).uniform_(np.log(0.1), np.log(3.0), generator=g))
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

    See: chapters/04_causal_representation_learning/05_causal_representations.
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 2:
        raise TypeError(f"x must be a 2-D tensor (n, d), got {type(x).__name__} {getattr(x, 'shape', '')}")
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

    See: chapters/04_causal_representation_learning/05_causal_representations.
    """

    def __init__(self, obs_dim: int, latent_dim: int, n_segments: int | None = None) -> None:
        super().__init__()
        self.enc = nn.Linear(obs_dim, latent_dim)
        # one posterior variance shared by all latents, so that nothing but the prior can
        # prefer one rotation of the latent space over another; it matches the true posterior
        # only when the decoder's columns are orthogonal, which is why fit_latent_model whitens
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
    data: dict[str, torch.Tensor], identifiable: bool, steps: int = 1000, lr: float = 2e-2, seed: int = 0, whiten_x: bool = True
) -> float:
    """Train a :class:`LinearVAE` (iVAE when ``identifiable``) and return the MCC of its
    posterior means against the true sources.

    Args:
        data: :func:`segment_sources`.
        identifiable: use the segment label in the prior.
        steps, lr: full-batch Adam.
        seed: seeds the initialization and the sampling noise.
        whiten_x: train on :func:`whiten`-ed observations (as many directions as sources).
            Whitening uses only the pooled covariance, which is the same for every rotation
            of the sources, so it tells neither model where the sources are; it makes the
            mixing orthogonal, the case where the model's single posterior variance can
            match the true posterior, and it makes the optimization well conditioned.

    Returns:
        The mean correlation coefficient (:func:`mcc`).

    See: chapters/04_causal_representation_learning/05_causal_representations.
    """
    torch.manual_seed(int(seed))
    x, u, s = data["x"], data["u"], data["s"]
    if whiten_x:
        x = whiten(x, s.shape[1])
    model = LinearVAE(x.shape[1], s.shape[1], int(u.max()) + 1 if identifiable else None)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: one thread is faster than two
    try:
        for _ in range(check_positive_int(steps, "steps")):
            opt.zero_grad(set_to_none=True)
            model.loss(x, u).backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    with torch.no_grad():
        return mcc(s, model.enc(x))


# --------------------------------------------------------------------------------------
# causal representations: intervention extrapolation (Rep4Ex)
# --------------------------------------------------------------------------------------
def bent_outcome(z: torch.Tensor) -> torch.Tensor:
    """The outcome function of the extrapolation toy: slope 1 for ``|z| <= 2``, slope -1 beyond.

    See: chapters/04_causal_representation_learning/05_causal_representations.
    """
    return z - 2 * torch.relu(z - 2) + 2 * torch.relu(-z - 2)


def _mix_latent(z: torch.Tensor) -> torch.Tensor:
    """The nonlinear, injective observation map ``R -> R^3`` of the extrapolation toy."""
    return torch.cat([torch.exp(z / 2), 3 * torch.tanh(z / 2), nn.functional.softplus(2 * z)], 1)


def action_latent_data(n: int = 5000, action_range: float = 1.5, noise: float = 0.7, seed: int = 0) -> dict[str, torch.Tensor]:
    """Actions that shift a hidden latent linearly, seen through a nonlinear observation.

    ``A ~ U[-action_range, action_range]``, ``Z = A + V`` with ``V ~ N(0, noise^2)``, observed
    ``X = g(Z) + 0.02 eps`` for a fixed injective nonlinear ``g: R -> R^3``, and outcome
    ``Y = bent_outcome(Z) + 0.3 eps'``. The noise lets ``Z`` reach values (``|Z| > 2``, where the
    outcome bends) that the training actions alone do not.

    Args:
        n: samples.
        action_range: training actions are uniform on ``[-action_range, action_range]``.
        noise: standard deviation of ``V``.
        seed: seeds everything.

    Returns:
        ``{"A", "X", "Y", "Z"}`` as float tensors of shapes ``(n, 1)``, ``(n, 3)``, ``(n, 1)``, ``(n, 1)``.

    See: chapters/04_causal_representation_learning/05_causal_representations.
    """
    n = check_positive_int(n, "n", minimum=20)
    if not action_range > 0 or not noise > 0:
        raise ValueError(f"action_range and noise must be positive, got {action_range} and {noise}")
    g = torch.Generator().manual_seed(int(seed))
    A = torch.empty(n, 1).uniform_(-action_range, action_range, generator=g)
    Z = A + noise * torch.randn(n, 1, generator=g)
    X = _mix_latent(Z) + 0.02 * torch.randn(n, 3, generator=g)
    Y = bent_outcome(Z) + 0.3 * torch.randn(n, 1, generator=g)
    return {"A": A, "X": X, "Y": Y, "Z": Z}


def interventional_mean(actions: Any, noise: float = 0.7, n_mc: int = 200_000) -> np.ndarray:
    """``E[Y | do(A = a)] = E[bent_outcome(a + V)]`` for each action, by Monte Carlo.

    Args:
        actions: action values (array-like).
        noise: standard deviation of ``V`` (as in :func:`action_latent_data`).
        n_mc: Monte Carlo samples (a fixed seed).

    Returns:
        An array of the same length as ``actions``.

    See: chapters/04_causal_representation_learning/05_causal_representations.
    """
    a = np.asarray(actions, dtype=float).ravel()
    v = noise * torch.randn(n_mc, generator=torch.Generator().manual_seed(123))
    return np.array([bent_outcome(float(ai) + v).mean().item() for ai in a])


def _elu_mlp(in_dim: int, out_dim: int, width: int = 32, depth: int = 2) -> nn.Sequential:
    layers: list[nn.Module] = []
    d = in_dim
    for _ in range(depth):
        layers += [nn.Linear(d, width), nn.ELU()]
        d = width
    return nn.Sequential(*layers, nn.Linear(d, out_dim))


def _fit(params: Any, loss_fn: Callable[[], torch.Tensor], steps: int, lr: float = 3e-3) -> None:
    opt = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss_fn().backward()
        opt.step()


def linear_invariance_penalty(phi: torch.Tensor, A: torch.Tensor, n_bands: int = 5, n_quantiles: int = 40) -> torch.Tensor:
    """How much the representation, minus its linear regression on the action, still depends on it.

    The residual ``R = phi - (c + A M)`` (least squares, differentiable) is standardized, the
    samples are split into ``n_bands`` bands of increasing action, and the penalty is the mean
    squared difference between each band's quantiles of ``R`` and the pooled quantiles, summed over bands. It is
    zero when ``R`` has the same distribution for every action, as it does when
    ``phi = affine(Z)`` and ``Z = A M0 + V`` with ``V`` independent of ``A``.

    Args:
        phi: representation ``(n, 1)``.
        A: actions ``(n, 1)``.
        n_bands, n_quantiles: bands of actions, quantile levels compared in each.

    Returns:
        A scalar tensor.

    See: chapters/04_causal_representation_learning/05_causal_representations.
    """
    if phi.ndim != 2 or phi.shape[1] != 1 or A.shape != phi.shape:
        raise ValueError(f"phi and A must both have shape (n, 1), got {tuple(phi.shape)} and {tuple(A.shape)}")
    F = torch.cat([torch.ones_like(A), A], 1)
    R = phi - F @ torch.linalg.lstsq(F, phi).solution
    R = (R / (R.std() + 1e-6)).ravel()[torch.argsort(A.ravel())]
    qs = torch.linspace(0.02, 0.98, n_quantiles)
    pooled = torch.quantile(R, qs)
    return sum(((torch.quantile(band, qs) - pooled) ** 2).mean() for band in torch.chunk(R, n_bands))


def fit_rep4ex_encoder(A: torch.Tensor, X: torch.Tensor, lam: float = 10.0, steps: int = 1500, seed: int = 0) -> Callable[[torch.Tensor], torch.Tensor]:
    """An autoencoder with a one-dimensional code, trained with the linear-invariance penalty.

    Minimizes ``|dec(enc(x)) - x|^2 + lam * linear_invariance_penalty(enc(x), A)`` by full-batch
    Adam. With ``lam = 0`` it is a plain autoencoder.

    Args:
        A: actions ``(n, 1)``.
        X: observations ``(n, d)``.
        lam: weight of :func:`linear_invariance_penalty`.
        steps: Adam steps.
        seed: seeds the initialization.

    Returns:
        The encoder as a function of raw observations (standardized inside).

    See: chapters/04_causal_representation_learning/05_causal_representations.
    """
    if X.ndim != 2 or A.shape != (len(X), 1):
        raise ValueError(f"X must be (n, d) and A (n, 1), got {tuple(X.shape)} and {tuple(A.shape)}")
    torch.manual_seed(int(seed))
    mean, std = X.mean(0), X.std(0)
    Xs = (X - mean) / std
    enc, dec = _elu_mlp(X.shape[1], 1, depth=1), _elu_mlp(1, X.shape[1])

    def loss() -> torch.Tensor:
        phi = enc(Xs)
        rec = ((dec(phi) - Xs) ** 2).mean()
        return rec + lam * linear_invariance_penalty(phi, A) if lam > 0 else rec

    _fit(list(enc.parameters()) + list(dec.parameters()), loss, check_positive_int(steps, "steps"))
    enc.requires_grad_(False)
    return lambda x: enc((x - mean) / std)


def extrapolate_with_representation(phi: torch.Tensor, A: torch.Tensor, Y: torch.Tensor, actions: Any, steps: int = 1500, seed: int = 0) -> np.ndarray:
    """Predict ``E[Y | do(A = a)]`` from a representation assumed affine in the latent.

    Regress the representation on the action (``phi = c + A M + V_hat``), fit an MLP ``nu`` of
    the (standardized) representation to ``Y``, and average ``nu(c + a M + V_hat_i)`` over the
    training residuals ``V_hat_i``: the action moves the representation linearly, the noise
    keeps its training distribution.

    Args:
        phi: representation ``(n, 1)`` (e.g. a Rep4Ex encoder's output, or the true latent).
        A, Y: actions and outcomes ``(n, 1)``.
        actions: the actions to predict for.
        steps: Adam steps for ``nu``.
        seed: seeds the initialization.

    Returns:
        Predictions, one per action.

    See: chapters/04_causal_representation_learning/05_causal_representations.
    """
    if not phi.shape == A.shape == Y.shape or phi.ndim != 2 or phi.shape[1] != 1:
        raise ValueError(f"phi, A and Y must all have shape (n, 1), got {tuple(phi.shape)}, {tuple(A.shape)}, {tuple(Y.shape)}")
    phi = phi.detach()
    F = torch.cat([torch.ones_like(A), A], 1)
    coef = torch.linalg.lstsq(F, phi).solution
    v_hat = phi - F @ coef
    m, s = phi.mean(), phi.std()
    torch.manual_seed(int(seed))
    nu = _elu_mlp(1, 1)
    _fit(nu.parameters(), lambda: ((nu((phi - m) / s) - Y) ** 2).mean(), check_positive_int(steps, "steps"))
    with torch.no_grad():
        return np.array([nu((coef[0] + coef[1] * float(a) + v_hat - m) / s).mean().item() for a in np.asarray(actions, dtype=float).ravel()])


def intervention_extrapolation(
    n: int = 5000, action_range: float = 1.5, noise: float = 0.7, lam: float = 10.0, steps: int = 1500,
    grid: Any = None, seed: int = 0,
) -> pd.DataFrame:
    """Rep4Ex vs an MLP from the action, predicting outcomes of actions inside and outside training.

    Data from :func:`action_latent_data`. Predictors of ``E[Y | do(A = a)]``: an MLP from ``A``
    to ``Y``; :func:`extrapolate_with_representation` on a Rep4Ex encoder
    (:func:`fit_rep4ex_encoder`); the same on the true latent ``Z`` (an oracle for reference).
    The truth is :func:`interventional_mean`.

    Args:
        n, action_range, noise: passed to :func:`action_latent_data`.
        lam, steps: passed to :func:`fit_rep4ex_encoder` (``steps`` also trains the MLPs).
        grid: actions to predict for (default: 29 points on ``[-3.5, 3.5]``).
        seed: seeds data and models.

    Returns:
        A DataFrame indexed by action with columns ``truth``, ``MLP from A``, ``Rep4Ex``,
        ``true latent (oracle)`` and a boolean ``unseen`` (outside the training range).
        ``df.attrs["r2"]`` holds the squared correlation of the Rep4Ex representation with ``Z``.

    See: chapters/04_causal_representation_learning/05_causal_representations.
    """
    data = action_latent_data(n, action_range, noise, seed)
    A, X, Y, Z = data["A"], data["X"], data["Y"], data["Z"]
    a = np.linspace(-3.5, 3.5, 29) if grid is None else np.asarray(grid, dtype=float).ravel()
    steps = check_positive_int(steps, "steps")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: one thread is faster than two
    try:
        torch.manual_seed(int(seed))
        mlp = _elu_mlp(1, 1)
        _fit(mlp.parameters(), lambda: ((mlp(A) - Y) ** 2).mean(), steps)
        with torch.no_grad():
            pred_mlp = mlp(torch.tensor(a, dtype=torch.float32)[:, None]).ravel().numpy()
        enc = fit_rep4ex_encoder(A, X, lam=lam, steps=steps, seed=seed)
        with torch.no_grad():
            phi = enc(X)
        pred_rep = extrapolate_with_representation(phi, A, Y, a, steps=steps, seed=seed)
        pred_oracle = extrapolate_with_representation(Z, A, Y, a, steps=steps, seed=seed)
    finally:
        torch.set_num_threads(threads)
    out = pd.DataFrame(
        {"truth": interventional_mean(a, noise), "MLP from A": pred_mlp, "Rep4Ex": pred_rep,
         "true latent (oracle)": pred_oracle, "unseen": np.abs(a) > action_range},
        index=pd.Index(a, name="action"),
    )
    out.attrs["r2"] = float(np.corrcoef(phi.ravel().numpy(), Z.ravel().numpy())[0, 1] ** 2)
    return out


def extrapolation_mse(table: pd.DataFrame, lo: float = 2.0) -> pd.Series:
    """Mean squared error of each predictor against the truth over actions with ``|a| >= lo``.

    Args:
        table: :func:`intervention_extrapolation`.
        lo: the smallest ``|action|`` counted (the unseen ranges).

    Returns:
        A Series indexed by predictor.

    See: chapters/04_causal_representation_learning/05_causal_representations.
    """
    if "truth" not in table.columns:
        raise ValueError("table must come from intervention_extrapolation (no 'truth' column)")
    far = table[np.abs(table.index.to_numpy()) >= lo]
    cols = [c for c in table.columns if c not in ("truth", "unseen")]
    return ((far[cols].sub(far["truth"], axis=0)) ** 2).mean().rename("MSE on unseen actions")
