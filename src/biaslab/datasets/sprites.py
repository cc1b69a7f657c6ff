"""Procedural sprites: every combination of shape, scale, rotation and position, drawn in code.

The stand-in for dSprites (Matthey et al. 2017) that chapter 5 uses: each image is rendered
from its generative factors, so the factors are known exactly and nothing is downloaded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ..validation import check_positive_int

__all__ = ["FACTOR_NAMES", "SHAPES", "Sprites", "make_sprites"]


SHAPES = ("square", "ellipse", "triangle")


FACTOR_NAMES = ("shape", "scale", "rotation", "x", "y")


@dataclass
class Sprites:
    """Every combination of the generative factors, rendered as a small grayscale image.

    Fields: ``images``, a float tensor ``(n, 1, size, size)`` with values in [0, 1];
    ``factors``, an integer array ``(n, 5)`` with the index of each factor's value;
    ``values``, a float array ``(n, 5)`` with the factor values themselves (shape index,
    relative scale, rotation in degrees, x and y in pixels); ``factor_names``
    (``("shape", "scale", "rotation", "x", "y")``) and ``factor_sizes`` (number of values of
    each factor).
    """

    images: torch.Tensor
    factors: np.ndarray
    values: np.ndarray
    factor_names: tuple[str, ...] = FACTOR_NAMES
    factor_sizes: tuple[int, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def flat(self) -> torch.Tensor:
        """The images as ``(n, size * size)`` vectors."""
        return self.images.reshape(len(self.images), -1)


def _inside(shape: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Whether local coordinates (unit half-size) fall inside the shape."""
    if shape == 0:  # square
        return (np.abs(u) <= 0.85) & (np.abs(v) <= 0.85)
    if shape == 1:  # ellipse, elongated along u
        return (u / 1.05) ** 2 + (v / 0.6) ** 2 <= 1.0
    # triangle with circumradius 1.15, one vertex pointing along +v
    r = 1.15
    out = np.ones_like(u, dtype=bool)
    for k in range(3):
        a = math.pi / 2 + 2 * math.pi * k / 3 + math.pi  # outward normal of the edge opposite vertex k
        out &= u * math.cos(a) + v * math.sin(a) <= r / 2
    return out


def make_sprites(
    size: int = 16,
    n_scale: int = 3,
    n_rotation: int = 4,
    n_x: int = 8,
    n_y: int = 8,
    shapes: Sequence[str] = SHAPES,
    max_rotation: float = 80.0,
    supersample: int = 4,
) -> Sprites:
    """Render every combination of shape, scale, rotation, x and y (a 16x16 dSprites).

    The data are deterministic: there is no randomness in the rendering, so every call with
    the same arguments returns the same images. Shuffle or subsample with a seed downstream.

    Args:
        size: image side in pixels (>= 8).
        n_scale, n_rotation, n_x, n_y: number of values of each factor (>= 1).
        shapes: a subset of ``("square", "ellipse", "triangle")``.
        max_rotation: largest rotation in degrees; rotations are evenly spaced in
            ``[0, max_rotation]`` (keep it below 90 so that no two squares coincide).
        supersample: sub-pixel samples per axis for anti-aliasing.

    Returns:
        A :class:`Sprites` with ``len(shapes) * n_scale * n_rotation * n_x * n_y`` images.
    """
    size = check_positive_int(size, "size", 8)
    n_scale = check_positive_int(n_scale, "n_scale")
    n_rotation = check_positive_int(n_rotation, "n_rotation")
    n_x = check_positive_int(n_x, "n_x")
    n_y = check_positive_int(n_y, "n_y")
    supersample = check_positive_int(supersample, "supersample")
    if isinstance(shapes, str) or not isinstance(shapes, Sequence) or len(shapes) == 0:
        raise TypeError(f"shapes must be a non-empty sequence of names from {SHAPES}")
    for s in shapes:
        if s not in SHAPES:
            raise ValueError(f"unknown shape {s!r} in shapes; expected names from {SHAPES}")
    if not 0 <= float(max_rotation) < 360:
        raise ValueError(f"max_rotation must be in [0, 360), got {max_rotation}")
    shape_ids = [SHAPES.index(s) for s in shapes]
    half = size / 16 * np.linspace(2.2, 3.6, n_scale) if n_scale > 1 else np.array([size / 16 * 2.9])
    rots = np.linspace(0.0, float(max_rotation), n_rotation) if n_rotation > 1 else np.array([0.0])
    margin = 4.0 * size / 16
    xs = np.linspace(margin, size - margin, n_x) if n_x > 1 else np.array([size / 2])
    ys = np.linspace(margin, size - margin, n_y) if n_y > 1 else np.array([size / 2])
    grids = np.meshgrid(np.arange(len(shape_ids)), np.arange(n_scale), np.arange(n_rotation),
                        np.arange(n_x), np.arange(n_y), indexing="ij")
    factors = np.stack([g.reshape(-1) for g in grids], axis=1)
    # sub-pixel sample positions
    off = (np.arange(supersample) + 0.5) / supersample
    py, px = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    ss = (size, size, supersample, supersample)
    sy = np.broadcast_to(py[..., None, None] + off[:, None], ss).reshape(-1)
    sx = np.broadcast_to(px[..., None, None] + off[None, :], ss).reshape(-1)
    images = np.zeros((len(factors), size * size), dtype=np.float32)
    for i, (s, k, r, ix, iy) in enumerate(factors):
        th = math.radians(rots[r])
        dx, dy = (sx - xs[ix]) / half[k], (sy - ys[iy]) / half[k]
        u = math.cos(th) * dx + math.sin(th) * dy
        v = -math.sin(th) * dx + math.cos(th) * dy
        inside = _inside(shape_ids[s], u, v).astype(np.float32)
        images[i] = inside.reshape(size, size, supersample * supersample).mean(-1).reshape(-1)
    values = np.stack([np.array(shape_ids)[factors[:, 0]], half[factors[:, 1]] / half.max(),
                       rots[factors[:, 2]], xs[factors[:, 3]], ys[factors[:, 4]]], axis=1).astype(np.float64)
    return Sprites(
        images=torch.from_numpy(images).reshape(-1, 1, size, size),
        factors=factors.astype(np.int64),
        values=values,
        factor_names=FACTOR_NAMES,
        factor_sizes=(len(shape_ids), n_scale, n_rotation, n_x, n_y),
    )
