"""Spurious correlations: shortcut testbeds, group metrics and the methods that repair them.

Data makers (colored digits, the LMS slab data, a Waterbirds-like generator, cue-conflict
sprites), group metrics (``worst_group_accuracy``, ``group_table``) and methods that take a
dataset and return a fitted model and a metrics dict (``erm``, ``reweight``, ``group_dro``,
``last_layer_retrain``, ``jtt``, ``counterfactual_augment``, ``irm``, ...) for chapter 2.
Each function names the section that teaches it.
"""

from ._shared import (
    GroupData,
    SpuriousDataset,
    colored_digits,
    erm,
    evaluate,
    features,
    fit_classifier,
    group_accuracies,
    lms_slab,
    plot_colored_digits,
    predict,
    shuffle_coordinate,
)
from .counterfactual_data import (
    color_swap,
    counterfactual_augment,
    fake_to_real,
    synthetic_copy,
    synthetic_fill,
)
from .invariance import (
    fit_invariant_linear,
    invariant_subset_fit,
    irmv1_penalty,
    linear_environments,
    linear_test_error,
    penalty_landscape,
    scale_penalty,
)
from .measuring_the_damage import (
    cluster_purity,
    group_table,
    plot_group_accuracies,
    rho_sweep,
    worst_group_accuracy,
)
from .repairs_with_group_labels import (
    group_dro,
    group_dro_update,
    last_layer_retrain,
    reweight,
    waterbirds_like,
)
from .repairs_without_group_labels import (
    color_ink,
    conditional_independence_penalty,
    debias_by_independence,
    jtt,
)
from .value_of_ood_data import (
    agreement_loss,
    conflict_pool,
    diversify_two_heads,
    ood_value_curve,
    plot_heads,
)
from .why_shortcuts import (
    CUES,
    TwoLayerReLU,
    cue_conflict_sprites,
    cue_preference,
    feature_contamination_data,
    feature_contamination_run,
    lms_slab_run,
    plot_bars,
    plot_lms_slab,
)

__all__ = [
    "GroupData",
    "SpuriousDataset",
    "colored_digits",
    "lms_slab",
    "shuffle_coordinate",
    "group_accuracies",
    "predict",
    "evaluate",
    "fit_classifier",
    "erm",
    "features",
    "plot_colored_digits",
    "CUES",
    "cue_conflict_sprites",
    "cue_preference",
    "lms_slab_run",
    "feature_contamination_data",
    "TwoLayerReLU",
    "feature_contamination_run",
    "plot_lms_slab",
    "plot_bars",
    "worst_group_accuracy",
    "group_table",
    "cluster_purity",
    "rho_sweep",
    "plot_group_accuracies",
    "waterbirds_like",
    "reweight",
    "group_dro_update",
    "group_dro",
    "last_layer_retrain",
    "jtt",
    "color_ink",
    "conditional_independence_penalty",
    "debias_by_independence",
    "color_swap",
    "counterfactual_augment",
    "synthetic_copy",
    "synthetic_fill",
    "fake_to_real",
    "linear_environments",
    "irmv1_penalty",
    "scale_penalty",
    "fit_invariant_linear",
    "linear_test_error",
    "invariant_subset_fit",
    "penalty_landscape",
    "ood_value_curve",
    "conflict_pool",
    "agreement_loss",
    "diversify_two_heads",
    "plot_heads",
]
