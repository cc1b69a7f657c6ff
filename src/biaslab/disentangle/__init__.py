"""Disentanglement: procedural sprites, disentanglement metrics, small autoencoders.

Data makers, models, training runs, metrics, plots and claims for chapter 5, one module per
section. The sprites (``biaslab.datasets.sprites``) reproduce the structure of dSprites
(every combination of a few known factors, rendered in code) at 16x16 so that every demo
trains in seconds.
"""

# One module per section, in book order; each re-exports the names in its ``__all__``
# (its runner ``run`` and its ``CLAIMS`` stay in the section module).
from . import (
    _shared,
    identifiability,
    vae_diagnostics,
    structured_latents,
    attribute_control,
    directions_in_generators,
    features_in_models,
    unsupervised_study,
)

SECTIONS = (
    identifiability,
    vae_diagnostics,
    structured_latents,
    attribute_control,
    directions_in_generators,
    features_in_models,
    unsupervised_study,
)  # before the star imports: a function may share a module's name
__all__ = [name for module in (_shared, *SECTIONS) for name in module.__all__] + ['FACTOR_NAMES', 'SHAPES', 'Sprites', 'make_sprites',
    'ANALOGY_PAIRS', 'HierarchicalFeatureData', 'SparseFeatureData', 'analogy_words', 'hierarchical_feature_data',
    'sparse_feature_data']

from ._shared import *  # noqa: E402,F403
from .identifiability import *  # noqa: E402,F403
from .vae_diagnostics import *  # noqa: E402,F403
from .structured_latents import *  # noqa: E402,F403
from .attribute_control import *  # noqa: E402,F403
from .directions_in_generators import *  # noqa: E402,F403
from .features_in_models import *  # noqa: E402,F403
from .unsupervised_study import *  # noqa: E402,F403
from ..datasets.sprites import FACTOR_NAMES, SHAPES, Sprites, make_sprites  # noqa: E402,F401
from ..datasets.feature_data import (ANALOGY_PAIRS, HierarchicalFeatureData, SparseFeatureData,  # noqa: E402,F401
                                     analogy_words, hierarchical_feature_data, sparse_feature_data)
