"""What two or more sections of chapter 4 (causal representation learning) use: graphs as
0/1 adjacency matrices, and a drawing of learned graphs against the truth.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import networkx as nx
import numpy as np
import torch

__all__ = [
    "to_adjacency",
    "plot_graphs",
    "one_thread",
    "cpdag_adjacency",
    "pc_cpdag",
    "shd",
]


def to_adjacency(graph: Any, nodes: Sequence[str] | None = None, name: str = "graph") -> np.ndarray:
    """Turn a graph (``networkx.DiGraph``, edge list or 0/1 matrix) into a 0/1 adjacency matrix.

    Args:
        graph: a ``DiGraph``, a list of ``(cause, effect)`` pairs, or a square array.
        nodes: node order for a ``DiGraph`` or edge list (default: sorted node names for an
            edge list, the graph's own order for a ``DiGraph``).
        name: the argument name used in error messages.

    Returns:
        An ``int`` array ``A`` with ``A[i, j] = 1`` for an edge ``i -> j``.
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


@contextmanager
def one_thread(device: torch.device) -> Iterator[None]:
    """Train with one torch thread on the CPU (the chapter's models are tiny: thread hand-offs
    cost more than the arithmetic); change nothing on a GPU.

    Args:
        device: the resolved device the model trains on.
    """
    before = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def cpdag_adjacency(G: np.ndarray) -> np.ndarray:
    """A ``causal-learn`` graph matrix (``G.graph`` of a PC, GES or CD-NOD result) as a 0/1
    adjacency: ``i -> j`` sets ``A[i, j]``; an undirected edge ``i - j`` sets both ``A[i, j]``
    and ``A[j, i]``.

    Args:
        G: causal-learn's encoding, ``G[j, i] = 1, G[i, j] = -1`` for ``i -> j`` and
            ``G[i, j] = G[j, i] = -1`` for ``i - j``.

    Returns:
        The ``int`` adjacency matrix.
    """
    G = np.asarray(G)
    if G.ndim != 2 or G.shape[0] != G.shape[1]:
        raise ValueError(f"G must be a square causal-learn graph matrix, got shape {G.shape}")
    directed = (G.T == 1) & (G == -1)
    undirected = (G == -1) & (G.T == -1)
    return (directed | undirected).astype(int)


def pc_cpdag(X: Any, alpha: float = 0.01, indep_test: str = "fisherz") -> np.ndarray:
    """The PC algorithm of ``causal-learn``; returns its CPDAG as a 0/1 matrix in which an
    undirected edge has both ``A[i, j]`` and ``A[j, i]`` set (:func:`cpdag_adjacency`).

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
    return cpdag_adjacency(pc(Xn, alpha=alpha, indep_test=indep_test, show_progress=False).G.graph)


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
