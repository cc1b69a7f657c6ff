"""Causal representation learning: structural causal models, effect estimators, causal
discovery (bivariate orientation and DAG learning) and graph metrics.

Every graph is a ``networkx.DiGraph`` or a 0/1 adjacency matrix ``A[i, j] = 1`` for ``i -> j``.
"""

# One module per section, in book order; each re-exports the names in its ``__all__``
# (its runner ``run`` and its ``CLAIMS`` stay in the section module).
from . import (
    _shared,
    interventions,
    cause_effect_pairs,
    structure_learning,
    heterogeneity,
    causal_representations,
    extrapolation,
)

SECTIONS = (
    interventions,
    cause_effect_pairs,
    structure_learning,
    heterogeneity,
    causal_representations,
    extrapolation,
)  # before the star imports: a function may share a module's name
__all__ = [name for module in (_shared, *SECTIONS) for name in module.__all__]

from ._shared import *  # noqa: E402,F403
from .interventions import *  # noqa: E402,F403
from .cause_effect_pairs import *  # noqa: E402,F403
from .structure_learning import *  # noqa: E402,F403
from .heterogeneity import *  # noqa: E402,F403
from .causal_representations import *  # noqa: E402,F403
from .extrapolation import *  # noqa: E402,F403
