"""Real data sets, loaded offline from files shipped inside this package.

Every loader returns a documented ``pandas.DataFrame`` (or a small dataclass of them); the
README beside the data files (``biaslab/data/``) names each file's source and licence.
"""

# --- chapter 5 (disentanglement): procedural sprites with known factors --------------------
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
from .sprites import FACTOR_NAMES, SHAPES, Sprites, make_sprites  # noqa: E402,F401



