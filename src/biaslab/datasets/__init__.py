"""Real data sets, loaded offline from files shipped inside this package.

Every loader returns a documented ``pandas.DataFrame`` (or a small dataclass of them); the
README beside the data files (``biaslab/data/``) names each file's source and licence.
"""

# --- chapter 3 (fairness): census income, recidivism, credit ---------------------------
from .fairness_data import ADULT_PROTECTED, COMPAS_PROTECTED, GERMAN_PROTECTED, adult, compas, german  # noqa: E402,F401



# --- chapter 4 (causal): protein signalling, cause-effect pairs, job training -----------
from .causal_data import SachsData, TuebingenPair, load_cps, load_nsw, load_sachs, load_tuebingen_pairs  # noqa: E402,F401



