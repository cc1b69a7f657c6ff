"""The book's figure style and the small helpers every plotting function shares."""

from __future__ import annotations

from typing import Any

__all__ = ["get_axes", "glue", "plot_intervals", "plot_style"]


def plot_style() -> None:
    """Apply the book's figure style: seaborn's colorblind palette, a clean grid, readable
    fonts. Call once in a notebook's setup cell."""
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    mpl.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "figure.figsize": (7.0, 4.0),
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
        }
    )


def get_axes(ax: Any = None, figsize: tuple[float, float] | None = None) -> Any:
    """The axes a plotting function draws on: ``ax`` itself, or new axes of a new figure.

    Args:
        ax: a matplotlib ``Axes``, or ``None`` for a new figure.
        figsize: the new figure's size in inches (ignored when ``ax`` is given).

    Returns:
        A matplotlib ``Axes``.
    """
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def glue(name: str, value: float, display: bool = False) -> None:
    """Hand a measured number to the page's prose, wherever the notebook runs.

    On the site, Jupyter Book's ``glue`` stores it and ``{glue:text}`name:.2f``` in the prose
    prints it, so no measured number is typed by hand. Where ``myst_nb`` is not installed
    (Colab, plain Jupyter) the value is printed instead, as ``name = value``, and the
    notebook's Markdown names it in backticks.

    Args:
        name: the key the prose uses.
        value: the number.
        display: also show it in the cell's output (on the site).
    """
    try:
        from myst_nb import glue as _glue
    except ImportError:
        print(f"{name} = {value:.4g}")
        return
    # a plain float: myst_nb formats the text form, and numpy's is "np.float64(...)"
    _glue(name, float(value), display=display)


def plot_intervals(table: Any, ax: Any = None, title: str | None = None) -> Any:
    """Estimates with their intervals, one row each: a dot for the estimate, a bar for the
    interval (e.g. the table of :func:`biaslab.fairness.rate_intervals_by_group`).

    Args:
        table: the table (its rate column is the one that is not ``count``, ``n``, ``low`` or
            ``high``).
        ax: matplotlib axes (a new figure when ``None``).
        title: the axes title.

    Returns:
        The axes.
    """
    import numpy as np
    import pandas as pd

    if not isinstance(table, pd.DataFrame) or not {"count", "n", "low", "high"} <= set(table.columns):
        raise TypeError("table must be a DataFrame with columns count, n, low, high and one estimate")
    rate = [c for c in table.columns if c not in ("count", "n", "low", "high")]
    if len(rate) != 1:
        raise ValueError(f"table must hold exactly one rate column, got {rate}")
    rate = rate[0]
    ax = get_axes(ax, figsize=(8, 0.5 * len(table) + 1.5))
    labels = [", ".join(map(str, k)) if isinstance(k, tuple) else str(k) for k in table.index]
    pos = np.arange(len(table))[::-1]
    est = table[rate].to_numpy(dtype=float)
    err = np.vstack([est - table["low"].to_numpy(dtype=float), table["high"].to_numpy(dtype=float) - est])
    ax.errorbar(est, pos, xerr=err, fmt="o", capsize=4)
    ax.set_yticks(pos, [f"{lab} (n={n})" for lab, n in zip(labels, table["n"])])
    ax.set(xlabel=rate, ylim=(-0.6, len(table) - 0.4))
    if title:
        ax.set_title(title)
    return ax
