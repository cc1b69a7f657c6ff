"""biaslab: the helper package of the book "What Neural Networks Learn and Why".

The shared core is imported at the top level; each theme lives in its own module:
``biaslab.inductive_bias``, ...
"""

from .core import (
    ClaimFailed,
    check_claim,
    get_device,
    make_activation,
    make_mlp,
    plot_style,
    seed_everything,
    train,
)

__version__ = "0.1.0"

__all__ = [
    "ClaimFailed",
    "check_claim",
    "get_device",
    "make_activation",
    "make_mlp",
    "plot_style",
    "seed_everything",
    "train",
]
