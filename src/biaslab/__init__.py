"""biaslab: the helper package of the book "What Neural Networks Learn and Why".

The package is laid out like the book: one subpackage per chapter
(``biaslab.inductive_bias``, ``biaslab.spurious``, ``biaslab.fairness``, ``biaslab.causal``,
``biaslab.disentangle``) with one module per section, named after the section's file. The
top level holds what every chapter uses: seeding, the device rule and the one training loop
(:mod:`biaslab.core`), input checks (:mod:`biaslab.validation`), the figure style
(:mod:`biaslab.plotting`), the offline data sets (``biaslab.datasets``) and the pretrained
sentence encoder (:mod:`biaslab.pretrained`).
"""

from .core import (
    get_device,
    make_activation,
    make_mlp,
    resolve_device,
    seed_everything,
    train,
)
from . import claims  # noqa: F401  (biaslab.claims.check_claims in every check cell)
from .claims import ClaimFailed
from .plotting import glue, plot_style

__version__ = "0.1.0"

__all__ = [
    "ClaimFailed",
    "get_device",
    "make_activation",
    "glue",
    "make_mlp",
    "plot_style",
    "resolve_device",
    "seed_everything",
    "train",
]
