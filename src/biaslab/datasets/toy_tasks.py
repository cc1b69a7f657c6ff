"""Small tasks of chapter 1 generated in code: a test image, a regression task, matrix sensing.

Each takes its sizes and a seed and returns tensors (or a small dataclass of them), so the
demos need no download. ``biaslab.inductive_bias`` re-exports every name.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..validation import check_choice, check_positive_int

__all__ = ["piecewise_smooth_image", "eos_regression_data", "MatrixSensingData", "matrix_sensing_data"]


def piecewise_smooth_image(n: int = 32) -> torch.Tensor:
    """A small grey-level test image: smooth shading, a disc, a shaded square and a bar.

    Piecewise-smooth images are what a convolutional generator reproduces easily, so they
    show the deep image prior well.

    Args:
        n: side length in pixels (>= 8).

    Returns:
        Tensor of shape ``(n, n)`` with values in ``[0, 1]``.
    """
    n = check_positive_int(n, "n", 8)
    y, x = torch.meshgrid(torch.linspace(0, 1, n), torch.linspace(0, 1, n), indexing="ij")
    img = 0.25 + 0.3 * x
    img = torch.where((x - 0.35) ** 2 + (y - 0.4) ** 2 < 0.18**2, torch.tensor(0.9), img)
    img = torch.where((x > 0.55) & (x < 0.85) & (y > 0.55) & (y < 0.85), 0.1 + 0.2 * y, img)
    img = torch.where((y > 0.12) & (y < 0.2) & (x > 0.5) & (x < 0.9), torch.tensor(0.7), img)
    return img.clamp(0, 1)


def eos_regression_data(n: int = 200, d: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A small nonlinear regression task: ``y = sum_j sin(1.5 x^T w_j)`` for 3 random ``w_j``.

    Args:
        n: number of samples (>= 2).
        d: input dimension (>= 1).
        seed: seed of inputs and teacher directions.

    Returns:
        ``(X, y)`` with shapes ``(n, d)`` and ``(n, 1)``; ``X`` is standard Gaussian.
    """
    n = check_positive_int(n, "n", 2)
    d = check_positive_int(d, "d")
    g = torch.Generator().manual_seed(int(seed))
    X = torch.randn(n, d, generator=g)
    W = torch.randn(d, 3, generator=g)
    y = torch.sin(1.5 * X @ W).sum(1, keepdim=True)
    return X, y


@dataclass
class MatrixSensingData:
    """Linear measurements ``y_i = <A_i, W*>`` of a low-rank matrix ``W*``."""

    A: torch.Tensor  # (m, d, d) Gaussian sensing matrices
    y: torch.Tensor  # (m,) measurements
    W_star: torch.Tensor  # (d, d) ground truth
    singular_values: tuple[float, ...]


def matrix_sensing_data(
    d: int = 16,
    singular_values: Sequence[float] = (4.0, 2.0, 1.0),
    n_measurements: int = 200,
    seed: int = 0,
    measurements: str = "orthogonal",
) -> MatrixSensingData:
    """A random ``d x d`` matrix with the given singular values, seen through random linear measurements.

    ``W* = U diag(s) V^T`` with random orthonormal ``U, V``; each measurement is
    ``<A_i, W*>``. With fewer measurements than ``d^2`` entries, infinitely many matrices fit
    them; a low-rank ``W*`` is still identifiable once ``n_measurements`` exceeds its
    ``r (2d - r)`` degrees of freedom.

    With ``measurements="gaussian"`` the ``A_i`` have i.i.d. standard normal entries. With
    ``"orthogonal"`` the same Gaussian draws are orthogonalized (as vectors of length ``d^2``)
    and rescaled to the same average squared norm ``d^2``, so that
    ``(1/m) sum_i vec(A_i) vec(A_i)^T`` is ``d^2/m`` times a projection (the identity once ``m >= d^2``). Both give an unbiased
    back-projection ``(1/m) sum_i y_i A_i`` of ``W*``, which is the direction gradient
    descent first moves in from a small initialization; the orthogonal one has a smaller
    error (squared Frobenius norm ``(d^2/m - 1) ||W*||^2`` instead of about
    ``(d^2/m) ||W*||^2`` for ``m < d^2``), so its singular values stay closer to those of ``W*``.

    Args:
        d: matrix size.
        singular_values: the nonzero singular values (positive, at most ``d`` of them).
        n_measurements: number of measurements ``m``.
        seed: seed of ``W*`` and the measurements.
        measurements: ``"gaussian"`` or ``"orthogonal"`` (see above).

    Returns:
        A :class:`MatrixSensingData`.
    """
    d = check_positive_int(d, "d", 2)
    m = check_positive_int(n_measurements, "n_measurements")
    s = [float(v) for v in singular_values]
    if not s or len(s) > d or any(not v > 0 for v in s):
        raise ValueError(f"singular_values must be 1..{d} positive numbers, got {list(singular_values)}")
    check_choice(measurements, "measurements", ("gaussian", "orthogonal"))
    g = torch.Generator().manual_seed(int(seed))
    U, _ = torch.linalg.qr(torch.randn(d, d, generator=g))
    V, _ = torch.linalg.qr(torch.randn(d, d, generator=g))
    r = len(s)
    W_star = (U[:, :r] * torch.tensor(s)) @ V[:, :r].T
    A = torch.randn(m, d, d, generator=g)
    if measurements == "orthogonal":
        G = A.reshape(m, d * d)
        if m <= d * d:  # orthonormal rows, scaled to squared norm d^2
            Q, _ = torch.linalg.qr(G.T)
            A = (d * Q.T).reshape(m, d, d).contiguous()
        else:  # orthonormal columns: (1/m) A^T A = identity
            Q, _ = torch.linalg.qr(G)
            A = (math.sqrt(m) * Q).reshape(m, d, d).contiguous()
    y = (A * W_star).sum((1, 2))
    return MatrixSensingData(A=A, y=y, W_star=W_star, singular_values=tuple(s))
