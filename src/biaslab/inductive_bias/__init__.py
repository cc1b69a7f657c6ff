"""Inductive bias: what a network prefers before and during training.

Data makers, models, training runs, measurements and claims for chapter 1, one module per
section, named after the section's file (``spectral_bias`` for ``03_spectral_bias.md``).
"""

# One module per section, in book order; each re-exports the names in its ``__all__``
# (its runner ``run`` and its ``CLAIMS`` stay in the section module: ``ib.spectral_bias.run``).
from . import (
    priors_before_training,
    architecture_as_prior,
    spectral_bias,
    simplicity_bias,
    implicit_regularization,
    memorization,
    grokking,
    generative_models,
)
SECTIONS = (
    priors_before_training, architecture_as_prior, spectral_bias, simplicity_bias,
    implicit_regularization, memorization, grokking, generative_models,
)  # before the star imports: a function may share a module's name

__all__ = [name for module in SECTIONS for name in module.__all__] + [
    'piecewise_smooth_image', 'eos_regression_data', 'MatrixSensingData', 'matrix_sensing_data']

from .priors_before_training import *  # noqa: E402,F403
from .architecture_as_prior import *  # noqa: E402,F403
from .spectral_bias import *  # noqa: E402,F403
from .simplicity_bias import *  # noqa: E402,F403
from .implicit_regularization import *  # noqa: E402,F403
from .memorization import *  # noqa: E402,F403
from .grokking import *  # noqa: E402,F403
from .generative_models import *  # noqa: E402,F403
from ..datasets.toy_tasks import (  # noqa: E402,F401
    MatrixSensingData,
    eos_regression_data,
    matrix_sensing_data,
    piecewise_smooth_image,
)
