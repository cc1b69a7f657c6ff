"""Input checks shared by every chapter of the book.

Every public function of ``biaslab`` checks its arguments with these helpers, so that bad
input gets a clear ``TypeError`` or ``ValueError`` naming the argument and what was
expected, instead of a silent wrong answer or a deep torch traceback. Each check returns the
value converted to a plain Python or NumPy type, so that a caller can write
``steps = check_positive_int(steps, "steps")``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "check_group_frame",
    "as_1d",
    "check_binary",
    "check_choice",
    "check_fraction",
    "check_groups",
    "check_keys",
    "check_nonnegative",
    "check_positive",
    "check_positive_int",
    "check_probabilities",
    "check_same_length",
    "check_tensor",
]

_NUMBER = (int, float, np.floating, np.integer)


def _as_number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, _NUMBER):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    return float(value)


def check_positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """Check that ``value`` is an integer of at least ``minimum``.

    Args:
        value: the argument to check (``bool`` is rejected).
        name: the argument's name, used in the error message.
        minimum: the smallest accepted value.

    Returns:
        ``value`` as an ``int``.

    Raises:
        TypeError: when ``value`` is not an integer.
        ValueError: when it is below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_choice(value: Any, name: str, choices: Sequence[Any]) -> Any:
    """Check that ``value`` is one of ``choices`` (a mode such as ``"gaussian"``, an activation name).

    Args:
        value: the argument to check.
        name: the argument's name, used in the error message.
        choices: the accepted values.

    Returns:
        ``value`` unchanged.

    Raises:
        TypeError: when every choice is a string and ``value`` is not.
        ValueError: when ``value`` is not among ``choices``.
    """
    if all(isinstance(c, str) for c in choices) and not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_fraction(value: Any, name: str, low: float = 0.0, high: float = 1.0) -> float:
    """Check that ``value`` is a number in the half-open interval ``(low, high]``.

    Meant for bounded quantities (a fraction of the data, a probability level); use
    :func:`check_positive` for unbounded ones such as a learning rate.

    Args:
        value: the argument to check.
        name: the argument's name, used in the error message.
        low: the excluded lower end.
        high: the included upper end (finite).

    Returns:
        ``value`` as a ``float``.

    Raises:
        TypeError: when ``value`` is not a number.
        ValueError: when it lies outside ``(low, high]``, or ``high`` is not finite.
    """
    if not math.isfinite(high):
        raise ValueError(f"check_fraction needs a finite upper end; use check_positive for {name}")
    v = _as_number(value, name)
    if not (low < v <= high):
        raise ValueError(f"{name} must be in ({low}, {high}], got {value}")
    return v


def check_positive(value: Any, name: str) -> float:
    """Check that ``value`` is a finite number greater than zero (a learning rate, a scale).

    Args:
        value: the argument to check.
        name: the argument's name, used in the error message.

    Returns:
        ``value`` as a ``float``.

    Raises:
        TypeError: when ``value`` is not a number.
        ValueError: when it is not finite or not > 0.
    """
    v = _as_number(value, name)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return v


def check_nonnegative(value: Any, name: str) -> float:
    """Check that ``value`` is a number of at least zero (a weight decay, a penalty weight).

    Args:
        value: the argument to check.
        name: the argument's name, used in the error message.

    Returns:
        ``value`` as a ``float``.

    Raises:
        TypeError: when ``value`` is not a number.
        ValueError: when it is negative or NaN.
    """
    v = _as_number(value, name)
    if math.isnan(v) or v < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return v


def as_1d(x: Any, name: str, min_length: int = 1, finite: bool = False) -> np.ndarray:
    """Convert an array-like (list, NumPy array, pandas Series, torch tensor) to a 1-D array.

    Args:
        x: the values.
        name: the argument's name, used in the error message.
        min_length: the fewest values accepted.
        finite: also reject NaN and infinite values (the array is then converted to float).

    Returns:
        A one-dimensional ``np.ndarray`` (its dtype kept, or float when ``finite``).

    Raises:
        ValueError: when ``x`` is not one-dimensional, too short, or (with ``finite``) holds
            NaN or infinite values.
    """
    if hasattr(x, "to_numpy"):
        x = x.to_numpy()
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=float) if finite else np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if len(arr) < min_length:
        if min_length == 1:
            raise ValueError(f"{name} must not be empty")
        raise ValueError(f"{name} needs at least {min_length} values, got {len(arr)}")
    if finite and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def check_binary(x: Any, name: str) -> np.ndarray:
    """Check that ``x`` is a non-empty 1-D array of 0s and 1s (labels, predictions, a group flag).

    Args:
        x: the values (booleans are accepted).
        name: the argument's name, used in the error message.

    Returns:
        The values as an ``int`` array.

    Raises:
        ValueError: when ``x`` is not 1-D or holds a value other than 0 and 1.
    """
    arr = as_1d(x, name)
    vals = set(np.unique(arr).tolist())
    if not vals <= {0, 1, True, False}:
        raise ValueError(f"{name} must hold only 0 and 1, got values {sorted(vals)[:5]}")
    return arr.astype(int)


def check_probabilities(x: Any, name: str) -> np.ndarray:
    """Check that ``x`` is a non-empty 1-D array of probabilities in ``[0, 1]``.

    Args:
        x: the values.
        name: the argument's name, used in the error message.

    Returns:
        The values as a ``float`` array.

    Raises:
        ValueError: when ``x`` is not 1-D, or holds NaN or a value outside ``[0, 1]``.
    """
    arr = as_1d(x, name).astype(float)
    if np.isnan(arr).any() or arr.min() < 0 or arr.max() > 1:
        raise ValueError(f"{name} must hold probabilities in [0, 1], got range [{arr.min()}, {arr.max()}]")
    return arr


def check_groups(x: Any, name: str, n: int) -> np.ndarray:
    """Check that ``x`` is a 1-D array of group labels of length ``n`` with at least two groups.

    Args:
        x: the group labels (any hashable values).
        name: the argument's name, used in the error message.
        n: the expected length (that of the labels they go with).

    Returns:
        The group labels as an array.

    Raises:
        ValueError: when the length differs from ``n`` or only one group is present.
    """
    arr = as_1d(x, name)
    if len(arr) != n:
        raise ValueError(f"{name} must have the same length as the labels ({n}), got {len(arr)}")
    if len(np.unique(arr)) < 2:
        raise ValueError(f"{name} must contain at least two groups, got only {np.unique(arr).tolist()}")
    return arr


def check_same_length(**arrays: Any) -> None:
    """Check that every keyword argument has the same length.

    Args:
        **arrays: the sequences to compare, by argument name.

    Raises:
        ValueError: naming every argument and its length when they differ.
    """
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"arguments must have the same length, got {lengths}")


def check_keys(x: Any, required: Iterable[Any], name: str, what: str = "the columns") -> None:
    """Check that ``x`` (a mapping, a DataFrame, a graph: anything supporting ``in``) holds every
    name of ``required``.

    Args:
        x: the container (a DataFrame is searched by column, a mapping by key).
        required: the names that must be present.
        name: the argument's name, used in the error message.
        what: what the names are, for the message (``"the columns"``, ``"the keys"``).

    Raises:
        ValueError: ``"{name} lacks {what} [...]"``, listing the missing names in the order given.
    """
    missing = [k for k in required if k not in x]
    if missing:
        raise ValueError(f"{name} lacks {what} {missing}")


def check_tensor(x: Any, name: str, ndim: int = 2) -> Any:
    """Check that ``x`` is a torch tensor with ``ndim`` dimensions (a batch of rows: ``ndim=2``).

    Args:
        x: the argument to check.
        name: the argument's name, used in the error message.
        ndim: the required number of dimensions.

    Returns:
        ``x`` itself.

    Raises:
        TypeError: when ``x`` is not a tensor, or has another number of dimensions.
    """
    import torch

    if not isinstance(x, torch.Tensor) or x.ndim != ndim:
        shape = tuple(x.shape) if hasattr(x, "shape") else "no shape"
        raise TypeError(f"{name} must be a {ndim}-D tensor, got {type(x).__name__} ({shape})")
    return x


def check_group_frame(x: Any, name: str, n: int):
    """Group labels as a DataFrame of one or more columns (several columns: their
    intersections are the groups), checked: ``n`` rows, no missing label, two groups or more.

    Args:
        x: a sequence or Series (one attribute, column ``"group"`` unless the Series is named)
            or a DataFrame with one column per attribute.
        name: the argument's name, for error messages.
        n: the required length.

    Returns:
        A ``pandas.DataFrame`` with a fresh ``RangeIndex``.

    Raises:
        ValueError: on a wrong length, no column, a missing label or a single group.
    """
    import pandas as pd

    if isinstance(x, pd.DataFrame):
        frame = x.reset_index(drop=True)
    elif isinstance(x, pd.Series):
        frame = x.reset_index(drop=True).to_frame(x.name or "group")
    else:
        frame = pd.DataFrame({"group": as_1d(x, name)})
    if frame.shape[1] == 0:
        raise ValueError(f"{name} must hold at least one column of group labels")
    if len(frame) != n:
        raise ValueError(f"{name} must have the same length as the labels ({n}), got {len(frame)}")
    if frame.isna().any().any():
        raise ValueError(f"{name} must not contain missing group labels")
    if len(frame.drop_duplicates()) < 2:
        raise ValueError(f"{name} must contain at least two groups")
    return frame
