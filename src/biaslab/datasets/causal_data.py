"""Classic causal benchmarks, loaded offline from compressed files shipped in ``biaslab``.

- Sachs et al. (2005) protein-signalling flow cytometry data (7,466 cells x 11 proteins) and
  the 18-edge consensus graph used as ground truth in the structure-learning literature.
- The Tuebingen cause-effect pairs (99 real two-variable data sets, each with its known
  causal direction).
- The National Supported Work (NSW) job-training experiment (Dehejia-Wahba sample, 445 men)
  and the CPS comparison group (15,992 men) used to test observational estimators.

Sources and licences: ``biaslab/data/causal/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

__all__ = ["SACHS_CONDITIONS", "SachsData", "TuebingenPair", "load_sachs", "load_tuebingen_pairs", "load_nsw", "load_cps"]

_PKG = "biaslab"


def _open(name: str):
    path = resources.files(_PKG) / "data" / "causal" / name
    if not path.is_file():
        raise FileNotFoundError(f"data file {name!r} is missing from biaslab/data/causal/; reinstall biaslab")
    return path


SACHS_CONDITIONS = (
    ("anti-CD3/CD28", 853), ("anti-CD3/CD28 + ICAM-2", 902), ("anti-CD3/CD28 + Akt inhibitor", 911),
    ("anti-CD3/CD28 + G0076", 723), ("anti-CD3/CD28 + psitectorigenin", 810), ("anti-CD3/CD28 + U0126", 799),
    ("anti-CD3/CD28 + LY294002", 848), ("PMA", 913), ("beta2cAMP", 707),
)


@dataclass
class SachsData:
    """The Sachs protein-signalling data and its consensus graph.

    Fields:

    - ``data``: a DataFrame of 7,466 rows (cells) and 11 columns (protein abundances, raw units).
    - ``edges``: the 18 consensus edges as (cause, effect) pairs of column names.
    """

    data: pd.DataFrame
    edges: list[tuple[str, str]]

    @property
    def condition(self) -> np.ndarray:
        """The experimental condition of each cell, ``0`` to ``8`` in the order of
        ``SACHS_CONDITIONS``: the rows are the nine condition files of Sachs et al. one
        after the other (853, 902, 911, 723, 810, 799, 848, 913 and 707 cells)."""
        sizes = [size for _, size in SACHS_CONDITIONS]
        if sum(sizes) != len(self.data):
            raise ValueError(f"expected {sum(sizes)} cells in condition order, got {len(self.data)}")
        return np.repeat(np.arange(len(sizes)), sizes)

    @property
    def adjacency(self) -> np.ndarray:
        """The consensus graph as a 0/1 matrix ``A[i, j] = 1`` for an edge ``i -> j``,
        in the column order of ``data``."""
        names = list(self.data.columns)
        A = np.zeros((len(names), len(names)), dtype=int)
        for a, b in self.edges:
            A[names.index(a), names.index(b)] = 1
        return A


def load_sachs() -> SachsData:
    """Load the Sachs et al. (2005) flow-cytometry data with its 18-edge consensus graph.

    Returns:
        A :class:`SachsData` with ``data`` (7,466 x 11 DataFrame) and ``edges`` (18 pairs).
    """
    with _open("sachs_data.csv.gz").open("rb") as fh:
        data = pd.read_csv(fh, compression="gzip")
    with _open("sachs_consensus_edges.csv").open("rb") as fh:
        target = pd.read_csv(fh)
    edges = [(str(a), str(b)) for a, b in zip(target["Cause"], target["Effect"])]
    return SachsData(data=data, edges=edges)


@dataclass
class TuebingenPair:
    """One Tuebingen cause-effect pair.

    Fields:

    - ``name``: ``"pair1"`` ... ``"pair99"`` (the numbering of the cdt release).
    - ``cause``: the values of the causal variable.
    - ``effect``: the values of the effect variable.
    """

    name: str
    cause: np.ndarray
    effect: np.ndarray


def load_tuebingen_pairs() -> list[TuebingenPair]:
    """Load the 99 univariate Tuebingen cause-effect pairs, each oriented cause -> effect.

    In the cdt release every pair is stored with the cause first (target +1); this loader
    returns the two columns under the names ``cause`` and ``effect`` so that no method can
    profit from the storage order: shuffle or swap them before scoring.

    Returns:
        A list of 99 :class:`TuebingenPair`.
    """
    with _open("tuebingen_pairs.csv.gz").open("rb") as fh:
        raw = pd.read_csv(fh, compression="gzip")
    with _open("tuebingen_targets.csv").open("rb") as fh:
        target = pd.read_csv(fh).set_index("SampleID")["Target"]
    pairs = []
    for name, a, b in zip(raw["SampleID"], raw["A"], raw["B"]):
        xa = np.array(a.split(), dtype=float)
        xb = np.array(b.split(), dtype=float)
        if target[name] > 0:
            pairs.append(TuebingenPair(str(name), xa, xb))
        else:
            pairs.append(TuebingenPair(str(name), xb, xa))
    return pairs


_NSW_COLUMNS = ["treat", "age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75", "re78"]


def _load_mixtape(name: str) -> pd.DataFrame:
    with _open(name).open("rb") as fh:
        df = pd.read_csv(fh, compression="gzip")
    return df[_NSW_COLUMNS]


def load_nsw() -> pd.DataFrame:
    """Load the NSW job-training experiment (Dehejia-Wahba sample): 445 men, 185 treated.

    Returns:
        A DataFrame with ``treat`` (1 = offered the program, randomized), covariates ``age``,
        ``educ`` (years), ``black``, ``hisp``, ``marr``, ``nodegree`` (0/1), earnings ``re74``,
        ``re75`` and the outcome ``re78`` (US dollars of 1982).
    """
    return _load_mixtape("nsw_mixtape.csv.gz")


def load_cps() -> pd.DataFrame:
    """Load the CPS comparison sample: 15,992 men from the Current Population Survey, none
    treated, with the same columns as :func:`load_nsw` (``treat`` is 0 throughout).

    Returns:
        A DataFrame with the columns of :func:`load_nsw`.
    """
    return _load_mixtape("cps_mixtape.csv.gz")
