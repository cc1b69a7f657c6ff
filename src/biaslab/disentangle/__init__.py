"""Disentanglement: procedural sprites, disentanglement metrics, small autoencoders.

Data makers, models, training runs, metrics and plots for chapter 5. Each function names the
section that teaches it. The sprites reproduce the structure of dSprites (every combination
of a few known factors, rendered in code) at 16x16 so that every demo trains in seconds.
"""

from ..datasets.sprites import FACTOR_NAMES, SHAPES, Sprites, make_sprites
from ._shared import (
    SpriteAutoencoder,
    active_units,
    dci_scores,
    disentanglement_report,
    encode,
    factor_entropies,
    latent_traversal,
    mig_score,
    modularity_explicitness,
    mutual_info_matrix,
    plot_mi_matrix,
    plot_traversal,
    reconstruction_error,
    train_autoencoder,
)
from .attribute_control import (
    attribute_monotonicity,
    plot_position_map,
    position_map,
)
from .directions_in_generators import (
    HouseholderProjector,
    direction_factor_correlations,
    householder_finetune,
    sefa_directions,
)
from .features_in_models import (
    ANALOGY_PAIRS,
    ParallelogramResult,
    SparseAutoencoder,
    SparseFeatureData,
    analogy_offsets,
    analogy_words,
    circular_structure,
    feature_recovery,
    lda_parallelograms,
    parallelogram_quality,
    plot_parallelograms,
    sparse_feature_data,
    train_sae,
)
from .identifiability import (
    elbo,
    plot_sprites,
    random_rotation,
    reference_codes,
    rotate_latent_space,
    rotation_experiment,
)
from .structured_latents import (
    VQAutoencoder,
    codebook_usage,
    train_vq_autoencoder,
)
from .vae_diagnostics import (
    name_dimensions,
    passive_correlations,
    vae_diagnostics,
)

__all__ = [
    "SHAPES",
    "FACTOR_NAMES",
    "Sprites",
    "make_sprites",
    "mutual_info_matrix",
    "factor_entropies",
    "mig_score",
    "dci_scores",
    "modularity_explicitness",
    "disentanglement_report",
    "SpriteAutoencoder",
    "train_autoencoder",
    "encode",
    "active_units",
    "latent_traversal",
    "reconstruction_error",
    "plot_traversal",
    "plot_mi_matrix",
    "random_rotation",
    "reference_codes",
    "rotation_experiment",
    "elbo",
    "rotate_latent_space",
    "plot_sprites",
    "passive_correlations",
    "vae_diagnostics",
    "name_dimensions",
    "VQAutoencoder",
    "train_vq_autoencoder",
    "codebook_usage",
    "attribute_monotonicity",
    "position_map",
    "plot_position_map",
    "sefa_directions",
    "direction_factor_correlations",
    "HouseholderProjector",
    "householder_finetune",
    "SparseFeatureData",
    "sparse_feature_data",
    "SparseAutoencoder",
    "train_sae",
    "feature_recovery",
    "circular_structure",
    "ANALOGY_PAIRS",
    "analogy_words",
    "analogy_offsets",
    "parallelogram_quality",
    "ParallelogramResult",
    "lda_parallelograms",
    "plot_parallelograms",
]
