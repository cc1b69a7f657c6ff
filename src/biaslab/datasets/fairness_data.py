"""Offline loaders for the real fairness data of chapter 3: UCI Adult, ProPublica's COMPAS
and the Statlog German credit data.

The files are compressed copies vendored in ``biaslab/data/fairness/`` (see the README
there for source, licence and the changes made); nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "adult", "compas", "german", "ADULT_PROTECTED", "COMPAS_PROTECTED", "GERMAN_PROTECTED",
    "ADULT_NUMERIC", "ADULT_CATEGORICAL", "adult_features", "GERMAN_NUMERIC", "GERMAN_CATEGORICAL", "german_features",
]

ADULT_PROTECTED = ("sex", "race")
COMPAS_PROTECTED = ("race", "sex")
GERMAN_PROTECTED = ("sex", "age_group")


def _path(name: str):
    return resources.files("biaslab") / "data" / "fairness" / name


def adult(split: str = "all", dropna: bool = True) -> pd.DataFrame:
    """The UCI Adult census-income data (1994 US census extract), loaded offline.

    Columns: ``age``, ``workclass``, ``education_num``, ``marital_status``, ``occupation``,
    ``relationship``, ``race``, ``sex``, ``capital_gain``, ``capital_loss``,
    ``hours_per_week``, ``native_country`` (features; ``race`` and ``sex`` are the protected
    attributes, coded as in the census: ``sex`` is Female/Male, ``race`` has five
    categories), ``income`` (the original ``<=50K``/``>50K`` string), ``label`` (1 when
    income is above $50K) and ``split`` (the original ``train``/``test`` file).

    Args:
        split: ``"train"`` (32,561 rows), ``"test"`` (16,281 rows) or ``"all"``.
        dropna: drop the rows with a missing value (``?`` in the original files), as the
            data's documentation does (45,222 rows remain of the 48,842).

    Returns:
        A DataFrame, one row per person.
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    with _path("adult.csv.gz").open("rb") as f:
        df = pd.read_csv(f, compression="gzip", na_values="?")
    if split != "all":
        df = df[df["split"] == split]
    if dropna:
        df = df.dropna()
    df = df.reset_index(drop=True)
    df["label"] = (df["income"] == ">50K").astype(int)
    return df


def compas(filtered: bool = True) -> pd.DataFrame:
    """ProPublica's COMPAS two-year recidivism data (Broward County, Florida), loaded offline.

    Columns: ``sex``, ``age``, ``age_cat``, ``race`` (protected attributes, with the
    categories of the county's records: African-American, Caucasian, Hispanic, Asian, Native
    American, Other), the criminal-history counts ``juv_fel_count``, ``juv_misd_count``,
    ``juv_other_count``, ``priors_count``, the charge degree ``c_charge_degree`` (F/M),
    the COMPAS outputs ``decile_score`` (1-10) and ``score_text`` (Low/Medium/High), and the
    label ``two_year_recid`` (1 when the person was *re-arrested* within two years; an arrest
    is not an offence, so the label carries the policing that produced it). A column
    ``high_risk`` is 1 when ``score_text`` is Medium or High, ProPublica's binarization.

    Args:
        filtered: apply ProPublica's filter (screening within 30 days of arrest, known
            outcome, no ordinary traffic offences, a score present): 6,172 of 7,214 rows.

    Returns:
        A DataFrame, one row per person.
    """
    with _path("compas.csv.gz").open("rb") as f:
        df = pd.read_csv(f, compression="gzip")
    if filtered:
        keep = (
            df["days_b_screening_arrest"].between(-30, 30)
            & (df["is_recid"] != -1)
            & (df["c_charge_degree"] != "O")
            & (df["score_text"].notna())
            & (df["score_text"] != "N/A")
        )
        df = df[keep]
    df = df.reset_index(drop=True)
    df["high_risk"] = (df["score_text"] != "Low").astype(int)
    return df


def german() -> pd.DataFrame:
    """The Statlog German credit data (1,000 loan applicants of a southern German bank,
    1973-1975), loaded offline, with the original codes (``A11``, ...) decoded to words.

    Columns: the 20 original attributes, ``checking_account``, ``duration`` (months),
    ``credit_history``, ``purpose``, ``credit_amount`` (Deutsche Mark), ``savings``,
    ``employment_since``, ``installment_rate`` (% of disposable income), ``personal_status``
    (the original attribute mixing sex and marital status, e.g. ``"male : single"``),
    ``other_debtors``, ``residence_since``, ``property``, ``age`` (years), ``installment_plans``,
    ``housing``, ``existing_credits``, ``job``, ``people_liable``, ``telephone`` and
    ``foreign_worker`` (booleans), and ``credit`` (``good``/``bad``, 700/300). Added columns:
    ``label`` (1 for good credit), ``sex`` (Female/Male, derived from ``personal_status``: the
    data record no other sex and no single women) and ``age_group`` (``"under 25"`` or
    ``"25 and over"``, the split used by Kamiran and Calders, 2009; 149 and 851 people).
    The protected attributes are ``sex`` and ``age_group`` (``GERMAN_PROTECTED``).

    Returns:
        A DataFrame of 1,000 rows, one per applicant.
    """
    with _path("german.csv.gz").open("rb") as f:
        df = pd.read_csv(f, compression="gzip")
    df["label"] = (df["credit"] == "good").astype(int)
    df["sex"] = df["personal_status"].str.split(" : ").str[0].map({"female": "Female", "male": "Male"})
    df["age_group"] = pd.Categorical(
        ["under 25" if a < 25 else "25 and over" for a in df["age"]], categories=["under 25", "25 and over"]
    )
    return df


# --- the feature encodings the chapter's models use ---------------------------------------

ADULT_NUMERIC = ("age", "education_num", "capital_gain", "capital_loss", "hours_per_week")


ADULT_CATEGORICAL = ("workclass", "marital_status", "occupation", "relationship", "native_country")


def _design_matrix(
    df: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str],
    transforms: dict[str, Callable[[Any], Any]], data_name: str, loader: str,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Shared body of the tabular feature builders: check columns, transform and standardize
    the numeric ones, one-hot encode the categorical ones."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in (*numeric, *categorical, "label") if c not in df.columns]
    if missing:
        raise ValueError(f"df lacks the {data_name} columns {missing}; load it with biaslab.datasets.{loader}()")
    num = df[list(numeric)].astype(float).copy()
    for col, fn in transforms.items():
        num[col] = fn(num[col])
    num = (num - num.mean()) / num.std()
    onehot = pd.get_dummies(df[list(categorical)].astype(str), dtype=float)
    X = pd.concat([num, onehot], axis=1)
    return X.to_numpy(dtype=np.float64), df["label"].to_numpy(dtype=int), list(X.columns)


def adult_features(
    df: pd.DataFrame, include_protected: bool = False
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Turn the Adult DataFrame into a numeric design matrix and labels.

    Numeric columns are standardized (capital gains and losses after ``log1p``); categorical
    columns are one-hot encoded. ``sex`` and ``race`` are left out unless
    ``include_protected`` is true; note that ``relationship`` (Husband/Wife) and
    ``marital_status`` remain, and they are strong proxies for ``sex``.

    Args:
        df: the output of :func:`adult`.
        include_protected: also one-hot encode ``sex`` and ``race``.

    Returns:
        ``(X, y, feature_names)`` with ``X`` float64 of shape (n, d) and ``y`` int of shape (n,).
    """
    cats = list(ADULT_CATEGORICAL) + (["sex", "race"] if include_protected else [])
    return _design_matrix(df, ADULT_NUMERIC, cats, {"capital_gain": np.log1p, "capital_loss": np.log1p},
                          "Adult", "adult")


GERMAN_NUMERIC = ("duration", "credit_amount", "installment_rate", "residence_since", "existing_credits", "people_liable")


GERMAN_CATEGORICAL = (
    "checking_account", "credit_history", "purpose", "savings", "employment_since", "other_debtors",
    "property", "installment_plans", "housing", "job", "telephone", "foreign_worker",
)


def german_features(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Turn the German credit DataFrame into a numeric design matrix and labels.

    Numeric columns are standardized (``credit_amount`` after a log); categorical columns
    are one-hot encoded. The protected attributes and their sources (``age``,
    ``age_group``, ``sex``, ``personal_status``) are left out; ``employment_since``,
    ``housing`` and ``job`` remain and carry part of the age information.

    Args:
        df: the output of :func:`german`.

    Returns:
        ``(X, y, feature_names)`` with ``X`` float64 of shape (n, d) and ``y`` int of shape
        (n,) (1 for good credit).
    """
    return _design_matrix(df, GERMAN_NUMERIC, GERMAN_CATEGORICAL, {"credit_amount": np.log},
                          "German credit", "german")
