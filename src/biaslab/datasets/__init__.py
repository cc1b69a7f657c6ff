"""Data sets: real ones loaded offline from files shipped inside this package, and testbeds
generated in code.

Every loader returns a documented ``pandas.DataFrame`` (or a small dataclass of them); the
README beside the data files (``biaslab/data/``) names each file's source and licence. The
generated testbeds (sprites, colored digits, the LMS data) take sizes and a seed.
"""

# --- chapter 4 (causal): protein signalling, cause-effect pairs, job training -----------
from .causal_data import (  # noqa: E402,F401
    SachsData,
    TuebingenPair,
    load_cps,
    load_nsw,
    load_sachs,
    load_tuebingen_pairs,
)

# --- chapter 3 (fairness): census income, recidivism, credit ---------------------------
from .fairness_data import (  # noqa: E402,F401
    ADULT_CATEGORICAL,
    ADULT_NUMERIC,
    ADULT_PROTECTED,
    COMPAS_PROTECTED,
    GERMAN_CATEGORICAL,
    GERMAN_NUMERIC,
    GERMAN_PROTECTED,
    adult,
    adult_features,
    compas,
    german,
    german_features,
)
# --- chapter 3 (fairness): applicants with one unfair region, made in code --------------
from .regional_data import make_regional_bias_data  # noqa: E402,F401
# --- chapter 2 (spurious correlations): shortcut testbeds made in code ----------------
from .shortcut_data import GroupData, SpuriousDataset, colored_digits, lms_slab  # noqa: E402,F401

# --- chapter 5 (disentanglement): procedural sprites with known factors --------------------
from .sprites import FACTOR_NAMES, SHAPES, Sprites, make_sprites  # noqa: E402,F401

# --- chapter 5 (disentanglement): sparse features, sub-features, analogy word pairs --------
from .feature_data import (  # noqa: E402,F401
    ANALOGY_PAIRS,
    HierarchicalFeatureData,
    SparseFeatureData,
    analogy_words,
    hierarchical_feature_data,
    sparse_feature_data,
)



