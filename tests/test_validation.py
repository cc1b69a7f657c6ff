"""Unit tests of biaslab.validation: every check names the argument in its error."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from biaslab import validation as v


def test_check_positive_int():
    assert v.check_positive_int(np.int64(3), "n") == 3 and isinstance(v.check_positive_int(3, "n"), int)
    assert v.check_positive_int(0, "n", minimum=0) == 0
    for bad, err in ((0, ValueError), (2.0, TypeError), (True, TypeError), ("3", TypeError)):
        with pytest.raises(err, match="steps"):
            v.check_positive_int(bad, "steps")


def test_check_choice():
    assert v.check_choice("tanh", "activation", ("relu", "tanh")) == "tanh"
    assert v.check_choice(2, "depth", (1, 2)) == 2
    with pytest.raises(ValueError, match=r"activation must be one of \['relu', 'tanh'\], got 'sin'"):
        v.check_choice("sin", "activation", ("relu", "tanh"))
    with pytest.raises(TypeError, match="activation must be a string, got int"):
        v.check_choice(3, "activation", ("relu", "tanh"))
    with pytest.raises(ValueError, match="depth must be one of"):
        v.check_choice(3, "depth", (1, 2))


def test_check_fraction_is_for_bounded_numbers():
    assert v.check_fraction(0.5, "rho") == 0.5 and v.check_fraction(1, "rho") == 1.0
    with pytest.raises(ValueError, match=r"rho must be in \(0.0, 1.0\]"):
        v.check_fraction(0.0, "rho")
    with pytest.raises(TypeError, match="rho"):
        v.check_fraction("0.5", "rho")
    with pytest.raises(ValueError, match="check_positive"):
        v.check_fraction(3.0, "lr", 0.0, math.inf)


def test_check_positive_and_nonnegative():
    assert v.check_positive(1e-3, "lr") == 1e-3
    for bad in (0, -1, math.inf, math.nan):
        with pytest.raises(ValueError, match="lr must be a finite number > 0"):
            v.check_positive(bad, "lr")
    assert v.check_nonnegative(0, "weight_decay") == 0.0
    for bad in (-0.1, math.nan):
        with pytest.raises(ValueError, match="weight_decay must be >= 0"):
            v.check_nonnegative(bad, "weight_decay")
    with pytest.raises(TypeError, match="weight_decay"):
        v.check_nonnegative(None, "weight_decay")


def test_as_1d_accepts_arrays_series_and_tensors():
    for x in ([1, 2], np.array([1, 2]), pd.Series([1, 2]), torch.tensor([1, 2])):
        assert v.as_1d(x, "x").tolist() == [1, 2]
    with pytest.raises(ValueError, match="x must be one-dimensional"):
        v.as_1d(np.zeros((2, 2)), "x")
    with pytest.raises(ValueError, match="x must not be empty"):
        v.as_1d([], "x")
    with pytest.raises(ValueError, match="x needs at least 20 values"):
        v.as_1d(range(5), "x", min_length=20)
    with pytest.raises(ValueError, match="x contains NaN"):
        v.as_1d([1.0, math.nan], "x", finite=True)


def test_binary_probabilities_groups_and_lengths():
    assert v.check_binary([True, False, 1], "y").tolist() == [1, 0, 1]
    with pytest.raises(ValueError, match="y must hold only 0 and 1"):
        v.check_binary([0, 2], "y")
    assert v.check_probabilities([0.0, 0.5, 1.0], "p").dtype == float
    with pytest.raises(ValueError, match="p must hold probabilities"):
        v.check_probabilities([0.5, 1.5], "p")
    assert v.check_groups(["a", "b", "a"], "sex", 3).tolist() == ["a", "b", "a"]
    with pytest.raises(ValueError, match="sex must have the same length"):
        v.check_groups(["a", "b"], "sex", 3)
    with pytest.raises(ValueError, match="sex must contain at least two groups"):
        v.check_groups(["a", "a"], "sex", 2)
    v.check_same_length(a=[1, 2], b=np.zeros(2))
    with pytest.raises(ValueError, match=r"'a': 2, 'b': 3"):
        v.check_same_length(a=[1, 2], b=[1, 2, 3])


def test_check_tensor():
    x = torch.zeros(3, 2)
    assert v.check_tensor(x, "x") is x
    assert v.check_tensor(torch.zeros(3), "u", ndim=1).shape == (3,)
    with pytest.raises(TypeError, match=r"x must be a 2-D tensor, got Tensor \(\(3,\)\)"):
        v.check_tensor(torch.zeros(3), "x")
    with pytest.raises(TypeError, match="s must be a 2-D tensor, got ndarray"):
        v.check_tensor(np.zeros((3, 2)), "s")
    with pytest.raises(TypeError, match="no shape"):
        v.check_tensor([[1.0]], "x")


def test_check_keys():
    import networkx as nx

    v.check_keys(pd.DataFrame({"a": [1], "b": [2]}), ["b", "a"], "df")
    v.check_keys({"x": 1}, ("x",), "train", "the keys")
    v.check_keys(nx.DiGraph([("u", "w")]), ["w"], "graph", "the variables")
    with pytest.raises(ValueError, match=r"df lacks the columns \['c', 'd'\]"):
        v.check_keys(pd.DataFrame({"a": [1]}), ["c", "a", "d"], "df")
    with pytest.raises(ValueError, match=r"train lacks the keys \['y'\]"):
        v.check_keys({"x": 1}, ["x", "y"], "train", "the keys")


def test_check_group_frame():
    import pandas as pd

    from biaslab.validation import check_group_frame

    f = check_group_frame(["a", "b", "a"], "sensitive", 3)
    assert list(f.columns) == ["group"] and len(f) == 3
    two = check_group_frame(pd.DataFrame({"race": ["x", "y"], "sex": ["m", "m"]}, index=[5, 7]), "sensitive", 2)
    assert list(two.index) == [0, 1]
    assert list(check_group_frame(pd.Series([1, 2], name="age"), "s", 2).columns) == ["age"]
    with pytest.raises(ValueError, match="sensitive must have the same length"):
        check_group_frame(["a", "b"], "sensitive", 3)
    with pytest.raises(ValueError, match="at least two groups"):
        check_group_frame(["a", "a"], "sensitive", 2)
    with pytest.raises(ValueError, match="missing"):
        check_group_frame(pd.Series(["a", None]), "sensitive", 2)
    with pytest.raises(ValueError, match="at least one column"):
        check_group_frame(pd.DataFrame(index=[0, 1]), "sensitive", 2)
