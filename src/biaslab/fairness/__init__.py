"""Fairness: group metrics, the impossibility result, where bias lives, amplification,
removing information from representations, fair training objectives.

The regional applicants of section 3.5 come from ``biaslab.datasets.regional_data``.

Group metrics and mitigation baselines come from ``fairlearn``; this module hand-writes
only what the chapter teaches (and tests it against fairlearn where they overlap).
"""

# One module per section, in book order; each re-exports the names in its ``__all__``
# (its runner ``run`` and its ``CLAIMS`` stay in the section module).
from . import (
    _shared,
    measuring_fairness,
    where_bias_lives,
    amplification,
    removing_information,
    fair_objectives,
    individual_causal,
)

SECTIONS = (
    measuring_fairness,
    where_bias_lives,
    amplification,
    removing_information,
    fair_objectives,
    individual_causal,
)  # before the star imports: a function may share a module's name
__all__ = [name for module in (_shared, *SECTIONS) for name in module.__all__] + ["make_regional_bias_data"]

from ._shared import *  # noqa: E402,F403
from .measuring_fairness import *  # noqa: E402,F403
from .where_bias_lives import *  # noqa: E402,F403
from .amplification import *  # noqa: E402,F403
from .removing_information import *  # noqa: E402,F403
from .fair_objectives import *  # noqa: E402,F403
from .individual_causal import *  # noqa: E402,F403
from ..datasets.regional_data import make_regional_bias_data  # noqa: E402,F401
