"""The book's figure style and the small helpers every plotting function shares."""

from __future__ import annotations

from typing import Any

__all__ = ["get_axes", "glue", "plot_style"]


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
