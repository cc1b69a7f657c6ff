"""Spurious correlations: shortcut testbeds, group metrics and the methods that repair them.

Data makers (colored digits and the LMS slab data, from ``biaslab.datasets.shortcut_data``;
a Waterbirds-like generator, cue-conflict sprites), group metrics (``worst_group_accuracy``, ``group_table``) and methods that take a
dataset and return a fitted model and a metrics dict (``erm``, ``reweight``, ``group_dro``,
``last_layer_retrain``, ``jtt``, ``counterfactual_augment``, ``irm``, ...) for chapter 2.
One module per section, named after the section's file.
"""

# One module per section, in book order; each re-exports the names in its ``__all__``
# (its runner ``run`` and its ``CLAIMS`` stay in the section module).
from . import (
    _shared,
    why_shortcuts,
    measuring_the_damage,
    repairs_with_group_labels,
    repairs_without_group_labels,
    counterfactual_data,
    invariance,
    value_of_ood_data,
    real_features,
)

SECTIONS = (
    why_shortcuts,
    measuring_the_damage,
    repairs_with_group_labels,
    repairs_without_group_labels,
    counterfactual_data,
    invariance,
    value_of_ood_data,
    real_features,
)  # before the star imports: a function may share a module's name
__all__ = [name for module in (_shared, *SECTIONS) for name in module.__all__] + [
    'GroupData', 'SpuriousDataset', 'colored_digits', 'lms_slab']

from ._shared import *  # noqa: E402,F403
from .why_shortcuts import *  # noqa: E402,F403
from .measuring_the_damage import *  # noqa: E402,F403
from .repairs_with_group_labels import *  # noqa: E402,F403
from .repairs_without_group_labels import *  # noqa: E402,F403
from .counterfactual_data import *  # noqa: E402,F403
from .invariance import *  # noqa: E402,F403
from .value_of_ood_data import *  # noqa: E402,F403
from .real_features import *  # noqa: E402,F403
from ..datasets.shortcut_data import GroupData, SpuriousDataset, colored_digits, lms_slab  # noqa: E402,F401
