"""Generated testbeds of Section 5.6 (``chapters/05_disentanglement/06_features_in_models.md``):
sparse activations made of known features, with or without sub-features, and the word pairs of
six relations used for analogy parallelograms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from ..validation import check_positive_int

__all__ = ["SparseFeatureData", "sparse_feature_data", "HierarchicalFeatureData", "hierarchical_feature_data",
           "ANALOGY_PAIRS", "analogy_words"]


@dataclass
class SparseFeatureData:
    """Activations built as sparse non-negative combinations of known unit-norm features.

    Fields: ``X``, the activations ``(n, dim)``; ``features``, the ground-truth unit-norm
    feature directions ``(n_features, dim)``; ``codes``, the sparse coefficients
    ``(n, n_features)``.
    """

    X: torch.Tensor
    features: torch.Tensor
    codes: torch.Tensor


def sparse_feature_data(n: int = 4000, n_features: int = 24, dim: int = 32, p_active: float = 0.05,
                        seed: int = 0) -> SparseFeatureData:
    """Synthetic "model activations": each sample switches on every feature independently with
    probability ``p_active`` with a magnitude uniform in [0.5, 1.5], and sums the active
    feature directions. More features than dimensions is allowed (superposition).

    Args:
        n: samples.
        n_features: number of ground-truth features.
        dim: activation dimension.
        p_active: probability that a feature is on in a sample.
        seed: seed of the features and the samples.

    Returns:
        A :class:`SparseFeatureData`.
    """
    n = check_positive_int(n, "n", 2)
    n_features = check_positive_int(n_features, "n_features")
    dim = check_positive_int(dim, "dim")
    if not 0 < float(p_active) <= 1:
        raise ValueError(f"p_active must be in (0, 1], got {p_active}")
    g = torch.Generator().manual_seed(int(seed))
    feats = torch.randn(n_features, dim, generator=g)
    feats = feats / feats.norm(dim=1, keepdim=True)
    on = (torch.rand(n, n_features, generator=g) < p_active).float()
    codes = on * (0.5 + torch.rand(n, n_features, generator=g))
    return SparseFeatureData(codes @ feats, feats, codes)


@dataclass
class HierarchicalFeatureData:
    """Activations whose parent features are unions of finer, mutually exclusive children.

    Fields: ``X`` ``(n, dim)``; ``parents`` ``(n_parents, dim)`` and ``children``
    ``(n_parents * n_children, dim)``, unit norm, the children of parent ``i`` in rows
    ``i * n_children`` to ``(i + 1) * n_children - 1``.
    """

    X: torch.Tensor
    parents: torch.Tensor
    children: torch.Tensor


def hierarchical_feature_data(n: int = 4000, n_parents: int = 8, n_children: int = 3, dim: int = 32,
                              p_active: float = 0.05, child_cos: float = 0.8, split: bool = True,
                              seed: int = 0) -> HierarchicalFeatureData:
    """Sparse activations with sub-features: each parent is on with probability ``p_active``
    (magnitude uniform in [0.5, 1.5]); when on, exactly one of its children, drawn uniformly,
    carries it. A child's direction is the parent's plus a component of its own orthogonal to
    it, with cosine ``child_cos`` to the parent.

    Args:
        n, dim: samples and activation dimension.
        n_parents, n_children: parents, and children per parent.
        p_active: probability that a parent is on in a sample.
        child_cos: cosine between a child and its parent, in (0, 1).
        split: ``False`` puts every occurrence along the parent itself (no sub-features), with
            the same parents, children, samples and magnitudes: the control data.
        seed: seed of the directions and the samples.

    Returns:
        A :class:`HierarchicalFeatureData`.
    """
    n, dim = check_positive_int(n, "n", 2), check_positive_int(dim, "dim", 2)
    n_parents, n_children = check_positive_int(n_parents, "n_parents"), check_positive_int(n_children, "n_children")
    if not 0 < float(p_active) <= 1 or not 0 < float(child_cos) < 1:
        raise ValueError(f"p_active must be in (0, 1] and child_cos in (0, 1), got {p_active} and {child_cos}")
    g = torch.Generator().manual_seed(int(seed))
    P = F.normalize(torch.randn(n_parents, dim, generator=g), dim=1)
    U = torch.randn(n_parents, n_children, dim, generator=g)
    U = F.normalize(U - (U * P[:, None]).sum(-1, keepdim=True) * P[:, None], dim=-1)
    C = child_cos * P[:, None] + math.sqrt(1 - child_cos ** 2) * U
    mag = (torch.rand(n, n_parents, generator=g) < p_active) * (0.5 + torch.rand(n, n_parents, generator=g))
    which = torch.randint(0, n_children, (n, n_parents), generator=g)
    dirs = C[torch.arange(n_parents), which] if split else P.expand(n, -1, -1)
    return HierarchicalFeatureData((mag[..., None] * dirs).sum(1), P, C.reshape(-1, dim))


ANALOGY_PAIRS: dict[str, tuple[tuple[str, str], ...]] = {
    # 16 word pairs for each of six relations; the last one ("opposite") has no consistent
    # direction (hot -> cold and cold -> hot are both opposites) and serves as a control
    "gender": (("man", "woman"), ("king", "queen"), ("boy", "girl"), ("father", "mother"), ("brother", "sister"),
               ("husband", "wife"), ("son", "daughter"), ("uncle", "aunt"), ("nephew", "niece"),
               ("prince", "princess"), ("actor", "actress"), ("waiter", "waitress"),
               ("grandfather", "grandmother"), ("lord", "lady"), ("monk", "nun"), ("groom", "bride")),
    "plural": (("cat", "cats"), ("dog", "dogs"), ("house", "houses"), ("car", "cars"), ("tree", "trees"),
               ("book", "books"), ("bird", "birds"), ("river", "rivers"), ("city", "cities"), ("chair", "chairs"),
               ("apple", "apples"), ("horse", "horses"), ("flower", "flowers"), ("ship", "ships"),
               ("cloud", "clouds"), ("song", "songs")),
    "capital": (("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid"),
                ("Japan", "Tokyo"), ("China", "Beijing"), ("Russia", "Moscow"), ("Egypt", "Cairo"),
                ("Greece", "Athens"), ("Portugal", "Lisbon"), ("Austria", "Vienna"), ("Poland", "Warsaw"),
                ("Norway", "Oslo"), ("Sweden", "Stockholm"), ("Ireland", "Dublin"), ("Kenya", "Nairobi")),
    "past tense": (("walk", "walked"), ("go", "went"), ("see", "saw"), ("eat", "ate"), ("run", "ran"),
                   ("write", "wrote"), ("take", "took"), ("give", "gave"), ("speak", "spoke"), ("drink", "drank"),
                   ("swim", "swam"), ("sing", "sang"), ("jump", "jumped"), ("play", "played"), ("buy", "bought"),
                   ("think", "thought")),
    "comparative": (("big", "bigger"), ("small", "smaller"), ("fast", "faster"), ("slow", "slower"),
                    ("tall", "taller"), ("short", "shorter"), ("old", "older"), ("young", "younger"),
                    ("strong", "stronger"), ("weak", "weaker"), ("cold", "colder"), ("warm", "warmer"),
                    ("long", "longer"), ("high", "higher"), ("rich", "richer"), ("dark", "darker")),
    "opposite": (("hot", "cold"), ("up", "down"), ("good", "bad"), ("happy", "sad"), ("light", "dark"),
                 ("early", "late"), ("open", "closed"), ("full", "empty"), ("hard", "soft"), ("wet", "dry"),
                 ("clean", "dirty"), ("love", "hate"), ("win", "lose"), ("begin", "end"), ("push", "pull"),
                 ("buy", "sell")),
}


def analogy_words(pairs: dict[str, Sequence[tuple[str, str]]] | None = None) -> list[str]:
    """The sorted set of words that occur in a dictionary of relation pairs.

    Args:
        pairs: relation name -> list of ``(a, b)`` word pairs; default ``ANALOGY_PAIRS``.

    Returns:
        A sorted list of distinct words.
    """
    pairs = ANALOGY_PAIRS if pairs is None else pairs
    return sorted({w for ps in pairs.values() for p in ps for w in p})
