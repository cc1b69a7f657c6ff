"""Section 5.6, Features inside trained models: sparse autoencoders and circles (``chapters/05_disentanglement/06_features_in_models.md``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from ..claims import Claim, Control, at_least, at_most
from ..core import resolve_device, train
from ..datasets.feature_data import (ANALOGY_PAIRS, HierarchicalFeatureData, SparseFeatureData,
                                     analogy_words, hierarchical_feature_data, sparse_feature_data)
from ..plotting import get_axes
from ..validation import check_nonnegative, check_positive_int

__all__ = [
    "SparseAutoencoder",
    "train_sae",
    "feature_recovery",
    "circular_structure",
    "analogy_offsets",
    "parallelogram_quality",
    "ParallelogramResult",
    "distractor_projection",
    "analogy_accuracy",
    "lda_parallelograms",
    "plot_parallelograms",
]


class SparseAutoencoder(nn.Module):
    """A one-layer sparse autoencoder: ``f = ReLU(W_e (x - b) + c)``, ``x_hat = W_d f + b``,
    with the decoder's atoms (columns of ``W_d``) kept at unit norm.
    """

    def __init__(self, dim: int, n_atoms: int) -> None:
        super().__init__()
        dim = check_positive_int(dim, "dim")
        n_atoms = check_positive_int(n_atoms, "n_atoms")
        self.dim, self.n_atoms = dim, n_atoms
        W = torch.randn(dim, n_atoms)
        W = W / W.norm(dim=0, keepdim=True)
        self.W_d = nn.Parameter(W)
        self.W_e = nn.Parameter(W.T.clone())
        self.b = nn.Parameter(torch.zeros(dim))
        self.c = nn.Parameter(torch.zeros(n_atoms))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Non-negative atom activations ``(n, n_atoms)``."""
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (n, {self.dim}), got {tuple(x.shape)}")
        return F.relu((x - self.b) @ self.W_e.T + self.c)

    def atoms(self) -> torch.Tensor:
        """Unit-norm dictionary atoms ``(n_atoms, dim)``."""
        return (self.W_d / self.W_d.norm(dim=0, keepdim=True)).T

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.encode(x)
        self.last_codes = f
        return f @ self.atoms() + self.b


def train_sae(data: SparseFeatureData | torch.Tensor, n_atoms: int, l1: float = 0.05, steps: int = 3000,
              batch_size: int = 256, lr: float = 3e-3, seed: int = 0,
              device: torch.device | str | None = None) -> tuple[SparseAutoencoder, pd.DataFrame]:
    """Train a :class:`SparseAutoencoder` with squared error plus ``l1`` times the L1 norm of
    the activations.

    Args:
        data: :class:`SparseFeatureData`, :class:`HierarchicalFeatureData` or activations ``(n, dim)``.
        n_atoms: dictionary size.
        l1: sparsity weight.
        steps, batch_size, lr: Adam settings.
        seed: seed of the initialization and the batches.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        ``(sae, history)``.
    """
    X = data.X if isinstance(data, (SparseFeatureData, HierarchicalFeatureData)) else data
    if not isinstance(X, torch.Tensor) or X.ndim != 2:
        raise TypeError("data must be SparseFeatureData or a 2-D tensor of activations")
    l1 = check_nonnegative(l1, "l1")
    device = resolve_device(device)
    torch.manual_seed(seed)
    sae = SparseAutoencoder(X.shape[1], n_atoms).to(device)

    def loss_fn(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return ((x_hat - x) ** 2).sum(1).mean() + l1 * sae.last_codes.sum(1).mean()

    hist = train(sae, X, X, loss_fn, steps=steps, lr=lr, batch_size=batch_size, eval_every=max(1, steps // 20), seed=seed,
                 device=device)
    sae.eval()
    sae.last_codes = None
    return sae, hist


def feature_recovery(atoms: torch.Tensor, features: torch.Tensor, threshold: float = 0.9) -> pd.DataFrame:
    """How well a dictionary recovers known features.

    Args:
        atoms: learned unit-norm atoms ``(m, dim)``.
        features: ground-truth unit-norm features ``(k, dim)``.
        threshold: cosine above which an atom counts as a copy of a feature.

    Returns:
        DataFrame with one row per feature: ``max cosine`` (best atom) and ``atoms above
        threshold``.
    """
    A, Fe = torch.as_tensor(atoms).detach().float().cpu(), torch.as_tensor(features).detach().float().cpu()
    if A.ndim != 2 or Fe.ndim != 2 or A.shape[1] != Fe.shape[1]:
        raise ValueError(f"atoms and features must be (m, dim) and (k, dim) with the same dim, got "
                         f"{tuple(A.shape)} and {tuple(Fe.shape)}")
    cos = F.normalize(Fe, dim=1) @ F.normalize(A, dim=1).T  # (k, m)
    return pd.DataFrame({"max cosine": cos.max(1).values.numpy(),
                         "atoms above threshold": (cos > threshold).sum(1).numpy()})


def circular_structure(embedding: torch.Tensor, frequencies: Sequence[int] | None = None,
                       top_k: int = 3) -> pd.DataFrame:
    """Do residues ``a = 0..p-1`` sit on circles in an embedding table, in the order ``2 pi k a / p``?

    For each frequency ``k`` (default: the ``top_k`` frequencies with the most power), the
    embedding is projected onto the two principal directions of its frequency-``k`` Fourier
    component; the angle of each residue in that plane is compared with ``2 pi k a / p`` by
    their *circular correlation* (the mean resultant length of ``phi - theta`` or ``phi + theta``:
    1 when the angles agree up to a rotation and a reflection), and the spread of the radii by
    their coefficient of variation.

    Args:
        embedding: tensor ``(p, d)``, one row per residue.
        frequencies: frequencies to test (``1..p // 2``).
        top_k: how many strongest frequencies to test when ``frequencies`` is ``None``.

    Returns:
        DataFrame indexed by frequency with ``power share``, ``circular corr`` (absolute) and
        ``radius CV``.
    """
    E = torch.as_tensor(embedding).detach().double().cpu()
    if E.ndim != 2 or E.shape[0] < 5:
        raise ValueError(f"embedding must have shape (p, d) with p >= 5, got {tuple(E.shape)}")
    p = E.shape[0]
    E = E - E.mean(0)
    coef = torch.fft.fft(E, dim=0)  # (p, d)
    power = coef[1:p // 2 + 1].abs().pow(2).sum(1)
    share = power / power.sum()
    if frequencies is None:
        frequencies = [int(k) + 1 for k in torch.argsort(power, descending=True)[:top_k]]
    rows = {}
    a = torch.arange(p, dtype=torch.float64)
    for k in frequencies:
        k = int(k)
        if not 1 <= k <= p // 2:
            raise ValueError(f"frequencies must be in [1, {p // 2}], got {k}")
        # the frequency-k part of the table, then its principal plane
        wave = torch.stack([torch.cos(2 * math.pi * k * a / p), torch.sin(2 * math.pi * k * a / p)], 1)
        part = wave @ torch.linalg.lstsq(wave, E).solution
        _, _, Vh = torch.linalg.svd(part, full_matrices=False)
        P = E @ Vh[:2].T
        phi = torch.atan2(P[:, 1], P[:, 0])
        theta = 2 * math.pi * k * a / p
        rows[k] = {"power share": float(share[k - 1]), "circular corr": abs(_circ_corr(phi, theta)),
                   "radius CV": float(P.norm(dim=1).std() / P.norm(dim=1).mean())}
    out = pd.DataFrame(rows).T
    out.index.name = "frequency"
    return out


def _circ_corr(phi: torch.Tensor, theta: torch.Tensor) -> float:
    """Circular association of two angle samples up to a rotation and a reflection: the mean
    resultant length of ``phi - theta`` (or of ``phi + theta``, whichever is larger). It is 1
    when ``phi = +-theta + c`` exactly and near 0 for unrelated angles."""
    d1 = torch.complex(torch.cos(phi - theta), torch.sin(phi - theta)).mean().abs()
    d2 = torch.complex(torch.cos(phi + theta), torch.sin(phi + theta)).mean().abs()
    return float(max(d1, d2))


def analogy_offsets(embeddings: np.ndarray, words: Sequence[str],
                    pairs: dict[str, Sequence[tuple[str, str]]] | None = None) -> pd.DataFrame:
    """Offset vectors ``e(b) - e(a)`` of every word pair, labelled by relation.

    Args:
        embeddings: array ``(len(words), dim)``, one row per word.
        words: the words, in the order of ``embeddings``.
        pairs: relation name -> list of ``(a, b)``; default ``ANALOGY_PAIRS``.

    Returns:
        A DataFrame with columns ``relation``, ``a``, ``b`` and ``offset`` (a 1-D array).
    """
    pairs = ANALOGY_PAIRS if pairs is None else pairs
    E = np.asarray(embeddings, dtype=float)
    if isinstance(words, str):
        raise TypeError("words must be a sequence of strings, not one string")
    if E.ndim != 2 or len(E) != len(words):
        raise ValueError(f"embeddings must have shape (len(words), dim) = ({len(words)}, dim), got {E.shape}")
    index = {w: i for i, w in enumerate(words)}
    rows = []
    for rel, ps in pairs.items():
        for a, b in ps:
            if a not in index or b not in index:
                raise ValueError(f"pair ({a!r}, {b!r}) of relation {rel!r} has a word missing from words")
            rows.append({"relation": rel, "a": a, "b": b, "offset": E[index[b]] - E[index[a]]})
    return pd.DataFrame(rows)


def parallelogram_quality(offsets: np.ndarray, relations: Sequence[str]) -> pd.Series:
    """Mean cosine between the offsets of different pairs of the same relation.

    Two pairs ``(a, b)`` and ``(c, d)`` of a relation form a parallelogram when ``b - a`` and
    ``d - c`` are parallel: cosine 1. A relation scores the mean cosine over all its pairs of
    pairs; a set of random directions in high dimension scores about 0.

    Args:
        offsets: array ``(n, dim)`` of offset vectors.
        relations: length-``n`` labels; each relation needs at least two offsets.

    Returns:
        A Series indexed by relation.
    """
    D, lab = np.asarray(offsets, dtype=float), np.asarray(relations)
    if D.ndim != 2 or len(lab) != len(D):
        raise ValueError(f"offsets must be (n, dim) with one relation label per row, got {D.shape} and {len(lab)} labels")
    Dn = D / np.maximum(np.linalg.norm(D, axis=1, keepdims=True), 1e-12)
    out = {}
    for rel in pd.unique(lab):
        X = Dn[lab == rel]
        if len(X) < 2:
            raise ValueError(f"relation {rel!r} needs at least two offsets, got {len(X)}")
        C = X @ X.T
        out[rel] = float((C.sum() - np.trace(C)) / (len(X) * (len(X) - 1)))
    return pd.Series(out, name="parallelogram quality")


def distractor_projection(offsets: np.ndarray, relations: Sequence[str], k: int = 5) -> np.ndarray:
    """The projection that removes the ``k`` directions in which offsets of one relation disagree most.

    The offsets of each relation are centred on that relation's mean; the top ``k`` principal
    directions of what is left (the within-relation scatter) are projected out, all the other
    dimensions are kept.

    Args:
        offsets: array ``(n, dim)`` of training offsets.
        relations: length-``n`` relation labels.
        k: number of distractor directions to remove (``0 <= k < dim``).

    Returns:
        The ``(dim, dim)`` orthogonal projection ``I - V V^T``.
    """
    D, lab = np.asarray(offsets, dtype=float), np.asarray(relations)
    if D.ndim != 2 or len(lab) != len(D):
        raise ValueError(f"offsets must be (n, dim) with one relation label per row, got {D.shape} and {len(lab)} labels")
    if not 0 <= int(k) < D.shape[1]:
        raise ValueError(f"k must be in [0, {D.shape[1]}), got {k}")
    Dc = D.copy()
    for rel in pd.unique(lab):
        Dc[lab == rel] -= Dc[lab == rel].mean(0)
    V = np.linalg.svd(Dc, full_matrices=False)[2][:int(k)].T
    return np.eye(D.shape[1]) - V @ V.T


def analogy_accuracy(embeddings: np.ndarray, words: Sequence[str], pairs: pd.DataFrame,
                     projection: np.ndarray | None = None, exclude: Sequence[str] = ("opposite",)) -> float:
    """Share of analogies ``a : b :: c : d`` solved by vector arithmetic in a projected space.

    For every two different pairs ``(a, b)`` and ``(c, d)`` of one relation, the word embeddings
    are mapped by ``projection`` and normalized, and the analogy counts as solved when ``d`` is
    the word (other than ``a``, ``b``, ``c``) with the largest dot product with ``c + b - a``.

    Args:
        embeddings: array ``(len(words), dim)``.
        words: the words, in the order of ``embeddings``.
        pairs: table with columns ``relation``, ``a``, ``b`` (e.g. ``ParallelogramResult.test``).
        projection: ``(dim, k)`` map; default the identity.
        exclude: relations left out (by default the "opposite" control).

    Returns:
        The share of solved analogies.
    """
    E = np.asarray(embeddings, dtype=float)
    Z = E if projection is None else E @ np.asarray(projection, dtype=float)
    Z = Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)
    index = {w: i for i, w in enumerate(words)}
    if not {"relation", "a", "b"} <= set(pairs.columns):
        raise ValueError("pairs needs the columns relation, a and b")
    hits = []
    for rel, t in pairs[~pairs.relation.isin(list(exclude))].groupby("relation"):
        ab = [(index[a], index[b]) for a, b in zip(t.a, t.b)]
        for a, b in ab:
            for c, d in ab:
                if a != c:
                    score = Z @ (Z[c] + Z[b] - Z[a])
                    score[[a, b, c]] = -np.inf
                    hits.append(int(np.argmax(score)) == d)
    if not hits:
        raise ValueError("pairs has no relation with two pairs to compare")
    return float(np.mean(hits))


@dataclass
class ParallelogramResult:
    """Held-out parallelogram quality and analogy accuracy before and after linear maps.

    Fields: ``table`` (relations x ``raw``/``PCA``/``LDA``/``distractors out``, mean cosine
    between held-out offsets of the same relation, with a ``mean`` row), ``accuracy`` (the
    :func:`analogy_accuracy` of the held-out pairs in each space), ``lda``, ``pca`` and
    ``distractor`` (the maps fitted on the training pairs), ``train`` and ``test`` (the offset
    tables of :func:`analogy_offsets`, split by pair).
    """

    table: pd.DataFrame
    accuracy: pd.Series
    lda: np.ndarray
    pca: np.ndarray
    distractor: np.ndarray
    train: pd.DataFrame
    test: pd.DataFrame


def lda_parallelograms(embeddings: np.ndarray, words: Sequence[str],
                       pairs: dict[str, Sequence[tuple[str, str]]] | None = None,
                       test_frac: float = 0.5, n_distractors: int = 5, seed: int = 0) -> ParallelogramResult:
    """Do analogy parallelograms sharpen once a linear projection removes distractors?

    Splits each relation's pairs into training and held-out pairs (``seed``) and fits, on the
    training offsets, a shrinkage linear discriminant analysis (scikit-learn) that separates
    them by relation, a PCA map of the same dimension (no relation labels), and a
    :func:`distractor_projection` that removes ``n_distractors`` directions and keeps the rest.
    Scores :func:`parallelogram_quality` and :func:`analogy_accuracy` of the held-out pairs in
    the raw space and after each map.

    Args:
        embeddings: array ``(len(words), dim)``.
        words: the words, in the order of ``embeddings``.
        pairs: relation name -> pairs; default ``ANALOGY_PAIRS``.
        test_frac: share of each relation's pairs held out.
        n_distractors: directions removed by the distractor projection.
        seed: seed of the split.

    Returns:
        A :class:`ParallelogramResult`.
    """
    from sklearn.decomposition import PCA
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    test_frac = float(test_frac)
    if not 0 < test_frac < 1:
        raise ValueError(f"test_frac must be in (0, 1), got {test_frac}")
    off = analogy_offsets(embeddings, words, pairs)
    rng = np.random.default_rng(seed)
    is_test = np.zeros(len(off), dtype=bool)
    for rel in pd.unique(off.relation):
        idx = np.where(off.relation == rel)[0]
        n_test = int(round(test_frac * len(idx)))
        if n_test < 2 or len(idx) - n_test < 2:
            raise ValueError(f"relation {rel!r} has {len(idx)} pairs: too few for test_frac={test_frac}")
        is_test[rng.choice(idx, n_test, replace=False)] = True
    train_df, test_df = off[~is_test].reset_index(drop=True), off[is_test].reset_index(drop=True)
    D_tr, D_te, k = np.stack(train_df.offset), np.stack(test_df.offset), train_df.relation.nunique() - 1
    lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto", n_components=k).fit(D_tr, train_df.relation)
    # the linear part of lda.transform (offsets are differences, so the centring cancels)
    maps = {"raw": np.eye(D_tr.shape[1]), "PCA": PCA(n_components=k).fit(D_tr).components_.T,
            "LDA": lda.transform(np.eye(D_tr.shape[1])) - lda.transform(np.zeros((1, D_tr.shape[1]))),
            "distractors out": distractor_projection(D_tr, train_df.relation, n_distractors)}
    table = pd.DataFrame({name: parallelogram_quality(D_te @ M, test_df.relation) for name, M in maps.items()})
    table.loc["mean"] = table.mean()
    acc = pd.Series({name: analogy_accuracy(embeddings, words, test_df, M) for name, M in maps.items()},
                    name="analogy accuracy")
    return ParallelogramResult(table, acc, maps["LDA"], maps["PCA"], maps["distractors out"], train_df, test_df)


def plot_parallelograms(embeddings: np.ndarray, words: Sequence[str], pairs: Sequence[tuple[str, str, str]],
                        projection: np.ndarray | None = None, ax=None, title: str | None = None):
    """Draw word pairs as arrows ``a -> b`` in two dimensions, coloured by relation.

    Args:
        embeddings: array ``(len(words), dim)``.
        words: the words, in the order of ``embeddings``.
        pairs: ``(relation, a, b)`` triples to draw.
        projection: a ``(dim, k >= 2)`` linear map; its first two columns are drawn. Default:
            the top two principal components of the drawn words.
        ax: matplotlib axes.
        title: axes title.

    Returns:
        The axes.
    """
    E, index = np.asarray(embeddings, dtype=float), {w: i for i, w in enumerate(words)}
    used = sorted({w for _, a, b in pairs for w in (a, b)})
    if any(w not in index for w in used):
        raise ValueError(f"pairs use words missing from words: {[w for w in used if w not in index]}")
    if projection is None:
        X = E[[index[w] for w in used]]
        _, _, Vt = np.linalg.svd(X - X.mean(0), full_matrices=False)
        projection = Vt[:2].T
    P = np.asarray(projection, dtype=float)
    if P.ndim != 2 or P.shape[0] != E.shape[1] or P.shape[1] < 2:
        raise ValueError(f"projection must have shape ({E.shape[1]}, k >= 2), got {P.shape}")
    Z = E @ P[:, :2]
    ax = get_axes(ax, figsize=(5, 4.5))
    rels = list(dict.fromkeys(r for r, _, _ in pairs))
    for r, a, b in pairs:
        c = f"C{rels.index(r)}"
        za, zb = Z[index[a]], Z[index[b]]
        ax.annotate("", xy=zb, xytext=za, arrowprops=dict(arrowstyle="->", color=c, lw=1.3))
        ax.scatter([za[0], zb[0]], [za[1], zb[1]], color=c, s=[12, 0])
        ax.text(*za, a, fontsize=7, color=c, ha="right", va="top")
        ax.text(*zb, b, fontsize=7, color=c, ha="left", va="bottom")
    for i, r in enumerate(rels):
        ax.plot([], [], color=f"C{i}", label=r)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    ax.set(xticks=[], yticks=[])
    if title:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------------------------
# the section's runner and claims
# --------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def _analogy_embeddings(device: str) -> tuple[np.ndarray, list[str]]:
    """The sentence encoder's embedding of every analogy word (one per process and device)."""
    from ..fairness.where_bias_lives import embed_words
    from ..pretrained import load_sentence_encoder

    words = analogy_words()
    return embed_words(load_sentence_encoder(device), words, templates=("{}",)), words


def _parent_or_child(atoms: torch.Tensor, data: HierarchicalFeatureData) -> pd.DataFrame:
    """For each parent, its closest atom's cosine with the parent and with the nearest child."""
    A = atoms.detach().cpu()
    best = A[(data.parents @ A.T).argmax(1)]
    return pd.DataFrame({"cos to parent": (best * data.parents).sum(1).numpy(),
                         "cos to nearest child": (best @ data.children.T).max(1).values.numpy()})


def run(seed: int = 0, device: torch.device | str | None = None) -> dict:
    """Everything Section 5.6 shows and checks, for one seed.

    Returns:
        ``data`` (:func:`sparse_feature_data`), ``sae`` and ``recovery`` (24 atoms, L1 0.05),
        ``recovery_dense`` (the same without the L1 penalty, the control); ``hier`` and
        ``hier_flat`` (:func:`hierarchical_feature_data` with and without sub-features),
        ``hier_saes`` (8 and 24 atoms on ``hier``, and ``"24 flat"`` on ``hier_flat``),
        ``children_recovery`` (:func:`feature_recovery` of the children by each) and
        ``parent_or_child`` (per parent, its closest atom's cosine with it and with its nearest
        child); ``history`` and ``grokked`` (:func:`biaslab.inductive_bias.grokking_run`),
        ``circles`` and ``circles_random`` (:func:`circular_structure` of the grokked embedding
        and of a random table); ``word_emb``, ``words`` and ``par`` (:func:`lda_parallelograms`).
    """
    from ..inductive_bias.grokking import grokking_run

    dev = resolve_device(device)
    data = sparse_feature_data(n=4000, n_features=24, dim=32, p_active=0.05, seed=seed)
    sae = train_sae(data, n_atoms=24, l1=0.05, steps=3000, seed=seed, device=dev)[0]
    dense = train_sae(data, n_atoms=24, l1=0.0, steps=3000, seed=seed, device=dev)[0]
    hier, flat = hierarchical_feature_data(seed=seed), hierarchical_feature_data(seed=seed, split=False)
    hs = {str(m): train_sae(hier, n_atoms=m, l1=0.05, steps=3000, seed=seed, device=dev)[0] for m in (8, 24)}
    hs["24 flat"] = train_sae(flat, n_atoms=24, l1=0.05, steps=3000, seed=seed, device=dev)[0]
    history, grokked = grokking_run(p=47, train_frac=0.6, weight_decay=1.0, steps=4000, seed=seed, device=dev)
    random_table = torch.randn(47, grokked.embed.weight.shape[1], generator=torch.Generator().manual_seed(seed))
    word_emb, words = _analogy_embeddings(str(dev))
    return {
        "data": data, "sae": sae, "recovery": feature_recovery(sae.atoms(), data.features),
        "recovery_dense": feature_recovery(dense.atoms(), data.features),
        "hier": hier, "hier_flat": flat, "hier_saes": hs,
        "children_recovery": {m: feature_recovery(s.atoms(), hier.children) for m, s in hs.items()},
        "parent_or_child": {m: _parent_or_child(hs[m].atoms(), hier) for m in ("8", "24")},
        "history": history, "grokked": grokked,
        "circles": circular_structure(grokked.embed.weight), "circles_random": circular_structure(random_table),
        "word_emb": word_emb, "words": words, "par": lda_parallelograms(word_emb, words, test_frac=0.5, seed=seed),
    }


_PAR = ("analogy parallelograms in an SAE's dictionary sharpen once nuisance directions such as word length "
        "are projected out with linear discriminant analysis")
_SPLIT = ("as the dictionary grows, a feature of a smaller dictionary splits into several finer features "
          "(e.g. a base64 feature into letter- and digit-specific ones), and the features form families")
CLAIMS = (
    Claim(
        key="disentangle.features_in_models.sae_recovers_features",
        statement="An SAE with as many atoms as planted features recovers every feature: the closest atom of "
                  "each has cosine at least 0.99.",
        cite=("principled_evaluations_sparse",),
        paper_result="unsupervised SAEs recover interpretable task features, judged against supervised "
                     "feature dictionaries built for the task",
        paper_where="Makelov et al., the IOI evaluations",
        run=run, measure=lambda rec: float(rec["max cosine"].min()), predicate=at_least(0.99),
        world=lambda r: r["recovery"],
        controls=(Control("no sparsity penalty", "the same 24-atom autoencoder, data and training with the L1 "
                          "weight set to 0: any basis of the same span reconstructs as well",
                          lambda r: r["recovery_dense"]),),
        note="24 unit-norm features in 32 dimensions, each on with probability 5%",
    ),
    Claim(
        key="disentangle.features_in_models.large_dictionary_splits",
        statement="On data whose parent features are unions of three mutually exclusive children, a 24-atom SAE "
                  "splits them: at least 90% of the 24 children have an atom within cosine 0.95.",
        cite=("bricken_monosemanticity_2023",), paper_result=_SPLIT,
        paper_where="Bricken et al., feature splitting across dictionaries of 512 to 131,072 features",
        run=run, measure=lambda rec: float((rec["max cosine"] >= 0.95).mean()), predicate=at_least(0.9),
        world=lambda r: r["children_recovery"]["24"],
        controls=(Control("no sub-features", "the same SAE and score on data where every occurrence of a parent "
                          "lies along the parent itself, scored against the same children",
                          lambda r: r["children_recovery"]["24 flat"]),),
        note="8 parents x 3 children in 32 dimensions, child-parent cosine 0.8, each parent on with probability 5%",
    ),
    Claim(
        key="disentangle.features_in_models.small_dictionary_unites",
        statement="An 8-atom SAE on the same data keeps the union: for every parent, the closest atom is closer "
                  "to the parent than to any child.",
        cite=("bricken_monosemanticity_2023",), paper_result=_SPLIT,
        paper_where="Bricken et al., feature splitting", run=run, measure=lambda t: float((t["cos to parent"] > t["cos to nearest child"]).mean()),
       
        predicate=at_least(1.0), world=lambda r: r["parent_or_child"]["8"], observation=True,
        note="an observation that does not hold: 1 to 6 of the 8 parents (12-75%) over seeds 0-9; the atom "
             "sits between the parent and one child. With 24 atoms the closest atom of every parent is a child",
    ),
    Claim(
        key="disentangle.features_in_models.residues_on_circles",
        statement="In the three strongest frequencies of the grokked embedding, the residues go round a circle "
                  "in order: circular correlation at least 0.95 in each.",
        cite=("language_model_features",),
        paper_result="weekdays and months are SAE features that lie on circles in GPT-2 and Mistral 7B, and "
                     "Mistral 7B and Llama 3 8B use them for modular arithmetic on days and months",
        paper_where="Engels et al., the circle features and their interventions",
        run=run, measure=lambda c: float(c["circular corr"].min()), predicate=at_least(0.95),
        world=lambda r: r["circles"],
        controls=(Control("random table", "the same projection and score on a random table of the same shape",
                          lambda r: r["circles_random"]),),
    ),
    Claim(
        key="disentangle.features_in_models.circles_round",
        statement="Those circles are round: the radii of the residues vary by less than 15% (coefficient of "
                  "variation) in each of the three planes.",
        cite=("language_model_features",),
        paper_result="weekdays and months are SAE features that lie on circles in GPT-2 and Mistral 7B",
        paper_where="Engels et al., the circle features",
        run=run, measure=lambda c: float(c["radius CV"].max()), predicate=at_most(0.15),
        world=lambda r: r["circles"],
        controls=(Control("random table", "the same radii on a random table of the same shape",
                          lambda r: r["circles_random"]),),
    ),
    Claim(
        key="disentangle.features_in_models.lda_parallelograms",
        statement="After an LDA projection fitted on half of the pairs, held-out analogy offsets of one relation "
                  "have a mean cosine of at least 0.75 (averaged over the six relations).",
        cite=("geometry_concepts_sparse",),
        paper_result=_PAR,
        paper_where="Li et al., the smallest (\"atomic\") scale",
        run=run, measure=lambda v: float(v), predicate=at_least(0.75),
        world=lambda r: r["par"].table.loc["mean", "LDA"],
        controls=(Control("raw space", "the same held-out offsets without a projection",
                          lambda r: r["par"].table.loc["mean", "raw"]),),
        note="all-MiniLM-L6-v2 word embeddings; 16 pairs for each of six relations, half held out",
    ),
    Claim(
        key="disentangle.features_in_models.lda_beats_pca",
        statement="The LDA projection sharpens the held-out parallelograms by at least 0.05 more mean cosine than "
                  "a PCA projection of the same dimension fitted to the same offsets.",
        cite=("geometry_concepts_sparse",),
        paper_result=_PAR,
        paper_where="Li et al., the smallest (\"atomic\") scale",
        run=run, measure=lambda t: float(t.loc["mean", "LDA"] - t.loc["mean", "PCA"]), predicate=at_least(0.05),
        world=lambda r: r["par"].table, observation=True,
        note="an observation: the gain over PCA is 0.03-0.13 over seeds 0-9 (below 0.05 for one); PCA alone "
             "reaches 0.69-0.77, so most of the sharpening comes from keeping five dimensions",
    ),
    Claim(
        key="disentangle.features_in_models.arithmetic_survives_distractor_removal",
        statement="Projecting out five distractor directions (the top within-relation scatter of the training "
                  "offsets) keeps analogy arithmetic: the nearest word to c + b - a is d for at least 90% of "
                  "held-out analogies of the five real relations.",
        cite=("geometry_concepts_sparse",), paper_result=_PAR, paper_where="Li et al., the atomic scale",
        run=run, measure=lambda v: float(v), predicate=at_least(0.9),
        world=lambda r: r["par"].accuracy["distractors out"],
        controls=(Control("LDA space", "the same arithmetic in the five LDA coordinates",
                          lambda r: r["par"].accuracy["LDA"]),),
    ),
    Claim(
        key="disentangle.features_in_models.distractor_removal_keeps_parallelograms",
        statement="Removing those five directions changes the held-out mean parallelogram quality by less than "
                  "0.01 from the raw space: the sharpening needs the dimensionality cut.",
        cite=("geometry_concepts_sparse",), paper_result=_PAR, paper_where="Li et al., the atomic scale",
        run=run, measure=lambda t: abs(float(t.loc["mean", "distractors out"] - t.loc["mean", "raw"])),
        predicate=at_most(0.01), world=lambda r: r["par"].table,
        controls=(Control("LDA map", "the same change for the LDA map",
                          lambda r: r["par"].table.assign(**{"distractors out": r["par"].table["LDA"]})),),
    ),
)
