"""Section 4.1, Interventions, counterfactuals and identification (``chapters/04_causal_representation_learning/01_interventions.md``).
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

from ..core import make_mlp, resolve_device, train
from ..validation import check_positive_int
from ._shared import one_thread

__all__ = [
    "Mechanism",
    "NoiseSampler",
    "SCM",
    "smoking_scm",
    "additive_scm",
    "naive_conditional",
    "front_door_estimate",
    "front_door_experiment",
    "NSW_COVARIATES",
    "ate_naive",
    "att_regression",
    "att_ipw",
    "TARNet",
    "att_tarnet",
    "nsw_estimates",
]


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
    """
    _, t, y = _effect_inputs(df, treatment, outcome, [])
    return float(y[t == 1].mean() - y[t == 0].mean())


def att_regression(df: pd.DataFrame, treatment: str = "treat", outcome: str = "re78", covariates: Sequence[str] = NSW_COVARIATES) -> float:
    """Effect on the treated by regression adjustment: fit the outcome of the controls on the
    covariates, predict the treated units' untreated outcomes, and average the differences.
    """
    from sklearn.linear_model import LinearRegression

    X, t, y = _effect_inputs(df, treatment, outcome, covariates)
    F = _features(X, covariates)
    mu0 = LinearRegression().fit(F[t == 0], y[t == 0])
    return float((y[t == 1] - mu0.predict(F[t == 1])).mean())


def att_ipw(df: pd.DataFrame, treatment: str = "treat", outcome: str = "re78", covariates: Sequence[str] = NSW_COVARIATES, trim: float = 0.99) -> float:
    """Effect on the treated by propensity weighting: controls are weighted by the odds
    ``e(x) / (1 - e(x))`` of a logistic propensity model (propensities clipped at ``trim``).
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
    df: pd.DataFrame, treatment: str = "treat", outcome: str = "re78", covariates: Sequence[str] = NSW_COVARIATES,
    steps: int = 1000, lr: float = 1e-3, weight_decay: float = 1e-2, batch_size: int = 1024, seed: int = 0,
    device: torch.device | str | None = None,
) -> float:
    """Effect on the treated from a TARNet: train both heads on the factual outcomes (in units
    of 10,000 USD), then average ``y - mu0(x)`` over the treated.

    Args:
        df: data with the treatment, outcome and covariate columns.
        steps, lr, weight_decay, batch_size: minibatch AdamW training (batches drawn with
            replacement) by :func:`biaslab.core.train`.
        seed: seeds the initialization and the minibatches.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        The estimated effect on the treated, in USD.
    """
    X, t, y = _effect_inputs(df, treatment, outcome, covariates)
    F = _features(X, covariates)
    dev = resolve_device(device)
    torch.manual_seed(int(seed))
    net = TARNet(F.shape[1])
    xt = torch.tensor(F, dtype=torch.float32)
    tt = torch.tensor(t, dtype=torch.long)
    scale = 10_000.0
    yt = torch.tensor(y / scale, dtype=torch.float32)
    # weight the two arms equally so that the few treated units are not drowned out
    w = torch.where(tt == 1, 0.5 / (tt == 1).float().mean(), 0.5 / (tt == 0).float().mean())

    def factual_loss(model: nn.Module, xb: torch.Tensor, yb: tuple[torch.Tensor, ...]) -> torch.Tensor:
        tb, ob, wb = yb
        pred = model(xb).gather(1, tb[:, None]).squeeze(1)
        return (wb * (pred - ob) ** 2).mean()

    steps = check_positive_int(steps, "steps")
    with one_thread(dev):
        train(net, xt, (tt, yt, w), None, steps, lr=lr, optimizer="adamw", weight_decay=weight_decay,
              batch_size=batch_size, replacement=True, objective=factual_loss, eval_every=steps,
              seed=seed, device=dev)
        with torch.no_grad():
            mu0 = net(xt.to(dev))[:, 0].cpu().numpy() * scale
    return float((y[t == 1] - mu0[t == 1]).mean())


def nsw_estimates(nsw: pd.DataFrame, cps: pd.DataFrame, seed: int = 0, device: torch.device | str | None = None) -> pd.DataFrame:
    """Every estimator of the job-training effect, against the experimental benchmark.

    The benchmark is the difference of means in the randomized NSW experiment. The
    observational data keep the NSW treated units and replace the NSW controls by CPS men.

    Args:
        nsw: :func:`biaslab.datasets.causal_data.load_nsw`.
        cps: :func:`biaslab.datasets.causal_data.load_cps`.
        seed: seed of the TARNet.
        device: where the TARNet trains (``None``: the GPU when present, else the CPU).

    Returns:
        A DataFrame indexed by estimator with columns ``estimate`` and ``error`` (USD).
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
