"""Section 3.4, Removing information from representations (``chapters/03_fairness/04_removing_information.md``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from ..claims import Claim, Control, at_least, at_most
from ..core import make_mlp, resolve_device, train
from ..validation import (
    as_1d,
    check_positive_int,
)
from ._shared import _ce

__all__ = [
    "probe_accuracy",
    "inlp",
    "make_group_shift_data",
    "mlp_representation",
    "OCCUPATIONS",
    "GENDERED_SUBJECTS",
    "gendered_sentences",
    "random_nullspace",
    "mlp_probe_accuracy",
    "task_loss",
    "erasure_controls",
    "erasure_experiment",
    "sentence_experiment",
    "hidden_layer_experiment",
]


def _fit_score(clf: Any, X_train: np.ndarray, y_train: Any, X_test: np.ndarray, y_test: Any) -> float:
    """Fit a scikit-learn classifier on one BLAS thread and return its held-out accuracy
    (the shared body of the probes below)."""
    from threadpoolctl import threadpool_limits

    if len(X_train) != len(y_train) or len(X_test) != len(y_test):
        raise ValueError("X and y must have the same length (train and test)")
    with threadpool_limits(1):  # small problems: one BLAS thread is fastest and shares the CPU
        clf.fit(X_train, y_train)
        return float(clf.score(X_test, y_test))


def probe_accuracy(
    X_train: np.ndarray, y_train: Any, X_test: np.ndarray, y_test: Any, C: float = 1.0, max_iter: int = 2000
) -> float:
    """Held-out accuracy of a fresh linear probe (scikit-learn logistic regression).

    Args:
        X_train, y_train: probe training data.
        X_test, y_test: held-out data.
        C: inverse regularization strength.
        max_iter: solver iterations.

    Returns:
        Accuracy on the held-out data.
    """
    from sklearn.linear_model import LogisticRegression

    return _fit_score(LogisticRegression(C=C, max_iter=max_iter), X_train, y_train, X_test, y_test)


def inlp(
    X_train: np.ndarray,
    z_train: Any,
    X_test: np.ndarray,
    z_test: Any,
    n_iters: int = 10,
    C: float = 1.0,
    task: tuple[Any, Any] | None = None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Iterative nullspace projection (Ravfogel et al., 2020): remove the linear directions
    that predict a protected attribute ``z``, one probe at a time.

    Each iteration trains a linear probe for ``z`` on the currently projected training data,
    adds its weight vector(s) to the removed directions, and projects the data onto the
    orthogonal complement of all directions removed so far.

    Args:
        X_train, X_test: representations (n, d), e.g. embeddings or hidden activations.
        z_train, z_test: the protected attribute of each row.
        n_iters: probes (iterations).
        C: inverse regularization of each probe (logistic regression).
        task: optional ``(y_train, y_test)`` of a main task; its linear-probe accuracy on the
            projected data is recorded after every iteration.

    Returns:
        ``(P, history)``: the final projection matrix (d, d), and a DataFrame with one row per
        iteration (0 = before any projection): ``iteration``, ``directions`` removed,
        ``attribute probe`` accuracy on the test data (a fresh probe trained on the projected
        training data) and, when ``task`` is given, ``task probe`` accuracy.
    """
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    Xtr = np.asarray(X_train, dtype=np.float64)
    Xte = np.asarray(X_test, dtype=np.float64)
    if Xtr.ndim != 2 or Xte.ndim != 2 or Xtr.shape[1] != Xte.shape[1]:
        raise ValueError(f"X_train and X_test must be 2-D with the same width, got {Xtr.shape} and {Xte.shape}")
    ztr, zte = as_1d(z_train, "z_train"), as_1d(z_test, "z_test")
    if len(ztr) != len(Xtr) or len(zte) != len(Xte):
        raise ValueError("z_train/z_test must have one entry per row of X_train/X_test")
    if len(np.unique(ztr)) < 2:
        raise ValueError("z_train must contain at least two groups")
    n_iters = check_positive_int(n_iters, "n_iters")
    d = Xtr.shape[1]
    directions = np.zeros((0, d))
    P = np.eye(d)
    rows = []

    def record(it: int) -> None:
        row = {"iteration": it, "directions": len(directions),
               "attribute probe": probe_accuracy(Xtr @ P, ztr, Xte @ P, zte, C=C)}
        if task is not None:
            row["task probe"] = probe_accuracy(Xtr @ P, task[0], Xte @ P, task[1], C=C)
        rows.append(row)

    record(0)
    for it in range(1, n_iters + 1):
        with threadpool_limits(1):
            clf = LogisticRegression(C=C, max_iter=2000).fit(Xtr @ P, ztr)
        W = np.atleast_2d(clf.coef_)
        if np.linalg.norm(W) < 1e-8:  # the probe found no direction: nothing left to remove
            break
        directions = np.vstack([directions, W / np.linalg.norm(W, axis=1, keepdims=True)])
        Q, _ = np.linalg.qr(directions.T)  # orthonormal basis of the removed span
        P = np.eye(d) - Q @ Q.T
        record(it)
    return P, pd.DataFrame(rows)


def make_group_shift_data(n: int = 6000, shift: float = 2.5, seed: int = 0) -> dict[str, np.ndarray]:
    """Tabular data in which a binary group ``z`` shifts features the task does not need.

    Eight task features ``u`` ~ N(0, I) decide the label, ``y = 1[w . u + 0.5 noise > 0]``
    for a random ``w``; the group ``z`` (a fair coin, independent of ``y``) moves eight
    further features by ``+shift`` or ``-shift`` along one random unit direction, the way a
    group can change how a record looks without changing its label.

    Args:
        n: rows.
        shift: distance of each group's mean from zero along the group direction (> 0).
        seed: seeds everything.

    Returns:
        ``{"X": (n, 16) float32, "y": label, "z": group}``.
    """
    n = check_positive_int(n, "n")
    if not isinstance(shift, (int, float)) or shift <= 0:
        raise ValueError(f"shift must be a positive number, got {shift!r}")
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(n, 8))
    w = rng.normal(size=8)
    y = (u @ w + 0.5 * rng.normal(size=n) > 0).astype(int)
    z = rng.integers(0, 2, n)
    v = rng.normal(size=8)
    v /= np.linalg.norm(v)
    X = np.hstack([u, rng.normal(size=(n, 8)) + shift * (2 * z[:, None] - 1) * v])
    return {"X": X.astype(np.float32), "y": y, "z": z}


def mlp_representation(
    X: np.ndarray, y: np.ndarray, train_idx: np.ndarray, width: int = 32, depth: int = 2,
    steps: int = 600, seed: int = 0, device: torch.device | str | None = None,
) -> tuple[np.ndarray, float]:
    """Train an MLP classifier on the rows ``train_idx``; return its last hidden layer.

    The network is ``make_mlp(d, n_classes, width, depth)`` trained with Adam (lr 1e-3,
    batch 128, cross-entropy).

    Args:
        X: inputs (n, d).
        y: integer labels (n,).
        train_idx: rows used for training.
        width: hidden units per layer.
        depth: hidden layers.
        steps: Adam steps.
        seed: seeds initialization and batches.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        ``(H, accuracy)``: the hidden activations (n, width) after the last ReLU for every
        row of ``X``, and the network's accuracy on the rows not in ``train_idx``.
    """
    X = np.asarray(X, dtype=np.float32)
    y = as_1d(y, "y").astype(int)
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"X must be 2-D with one row per label, got {X.shape} and {len(y)} labels")
    train_idx = np.asarray(train_idx)
    test = np.setdiff1d(np.arange(len(y)), train_idx)
    torch.manual_seed(seed)
    model = make_mlp(X.shape[1], int(y.max()) + 1, width=width, depth=depth)
    dev = resolve_device(device)
    Xt, yt = torch.as_tensor(X, device=dev), torch.as_tensor(y, device=dev)
    train(model, Xt[train_idx], yt[train_idx], _ce, steps=steps, lr=1e-3, batch_size=128, seed=seed,
          eval_every=steps, device=dev)
    with torch.no_grad():
        H = model[:-1](Xt).cpu().numpy()
        acc = float((model(Xt[test]).argmax(1) == yt[test]).float().mean()) if len(test) else float("nan")
    return H, acc


OCCUPATIONS: dict[str, tuple[str, ...]] = {
    "health": ("nurse", "doctor", "surgeon", "pharmacist", "dentist", "paramedic", "midwife", "therapist"),
    "technology": ("programmer", "engineer", "technician", "developer", "mechanic", "electrician", "architect", "scientist"),
    "arts": ("painter", "singer", "dancer", "poet", "actor", "musician", "sculptor", "novelist"),
    "service": ("cashier", "waiter", "cook", "cleaner", "receptionist", "baker", "hairdresser", "driver"),
}


GENDERED_SUBJECTS: dict[str, tuple[str, ...]] = {
    "female": ("She", "My mother", "My sister", "The woman", "My aunt", "My daughter", "His wife", "The girl"),
    "male": ("He", "My father", "My brother", "The man", "My uncle", "My son", "Her husband", "The boy"),
}


def gendered_sentences() -> pd.DataFrame:
    """Template sentences "{subject} is a {occupation}." with a gendered subject.

    Every one of 16 subjects (8 female, 8 male, as listed in ``GENDERED_SUBJECTS``) is
    combined with every one of 32 occupations in four fields (``OCCUPATIONS``), and with
    two templates: 1,024 sentences.

    Returns:
        A DataFrame with ``sentence``, ``gender`` (``female``/``male``, the grammatical
        gender of the subject word) and ``field`` (the occupation's field).
    """
    templates = ("{s} is a {o}.", "{s} works as a {o}.")
    rows = []
    for gender, subjects in GENDERED_SUBJECTS.items():
        for s in subjects:
            for field, occs in OCCUPATIONS.items():
                for o in occs:
                    for t in templates:
                        rows.append({"sentence": t.format(s=s, o=o), "gender": gender, "field": field})
    return pd.DataFrame(rows)


def random_nullspace(d: int, k: int, seed: int = 0) -> np.ndarray:
    """Projection onto the orthogonal complement of ``k`` random directions in R^d: the
    control for INLP (removing as many directions, but not the informative ones).

    Args:
        d: dimension.
        k: directions removed (0 <= k < d).
        seed: seeds the directions.

    Returns:
        A (d, d) projection matrix.
    """
    d = check_positive_int(d, "d")
    if not isinstance(k, (int, np.integer)) or not 0 <= k < d:
        raise ValueError(f"k must be an integer in [0, d), got {k!r}")
    if k == 0:
        return np.eye(d)
    Q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, k)))
    return np.eye(d) - Q @ Q.T


def mlp_probe_accuracy(
    X_train: np.ndarray, y_train: Any, X_test: np.ndarray, y_test: Any, hidden: int = 64, seed: int = 0
) -> float:
    """Held-out accuracy of a small nonlinear probe (scikit-learn MLP, one hidden layer).

    Args:
        X_train, y_train: probe training data.
        X_test, y_test: held-out data.
        hidden: hidden units.
        seed: seeds the MLP.

    Returns:
        Accuracy on the held-out data.
    """
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(hidden,), max_iter=500, random_state=seed)
    return _fit_score(clf, X_train, y_train, X_test, y_test)


def task_loss(history: pd.DataFrame) -> float:
    """How much the main task's probe lost during INLP: its accuracy before any projection
    minus its lowest accuracy after one.

    Args:
        history: the output of :func:`inlp` run with ``task``.

    Returns:
        ``task probe`` at iteration 0 minus its minimum over the iterations (>= 0).
    """
    if not isinstance(history, pd.DataFrame) or "task probe" not in history.columns:
        raise TypeError("history must be the DataFrame returned by inlp with a task")
    return float(history["task probe"].iloc[0] - history["task probe"].min())


def erasure_controls(
    X_train: np.ndarray, z_train: Any, X_test: np.ndarray, z_test: Any, task_train: Any, task_test: Any,
    P: np.ndarray, history: pd.DataFrame, C: float = 10.0, seed: int = 0, mlp_probes: bool = True,
) -> dict[str, Any]:
    """The negative controls of an INLP run (:func:`inlp` against ``z`` with the task recorded).

    Args:
        X_train, X_test: representations.
        z_train, z_test: the attribute INLP removed.
        task_train, task_test: the main task's labels.
        P, history: what :func:`inlp` returned.
        C: inverse regularization of every linear probe.
        seed: seeds the random directions, the shuffles and the MLP probes.
        mlp_probes: also train the two MLP probes (the slowest part).

    Returns:
        ``majority``: the test majority rate of ``z``; ``random``: the linear probe for ``z``
        after removing as many random directions as INLP did; ``shuffled``: :func:`inlp` for
        one iteration against ``z`` shuffled across the training rows (and the test rows), an
        attribute the representation does not hold; ``against_task``: :func:`inlp` for as
        many iterations against the task itself; ``mlp``: an MLP probe for ``z`` on the
        projected data; ``mlp_shuffled``: the same MLP probe for the shuffled ``z`` (these two
        only with ``mlp_probes``).
    """
    ztr, zte = as_1d(z_train, "z_train"), as_1d(z_test, "z_test")
    rng = np.random.default_rng(seed)
    k = int(history["directions"].iloc[-1])
    P_random = random_nullspace(np.asarray(X_train).shape[1], k, seed=seed)
    ztr_shuffled, zte_shuffled = rng.permutation(ztr), rng.permutation(zte)
    _, shuffled = inlp(X_train, ztr_shuffled, X_test, zte_shuffled, n_iters=1, C=C)
    _, against = inlp(X_train, task_train, X_test, task_test, n_iters=max(int(history["iteration"].iloc[-1]), 1), C=C)
    against_task = against.assign(**{"task probe": against["attribute probe"]})  # the attribute *is* the task
    _, counts = np.unique(zte, return_counts=True)
    out = {
        "majority": float(counts.max() / counts.sum()),
        "random": probe_accuracy(X_train @ P_random, ztr, X_test @ P_random, zte, C=C),
        "shuffled": shuffled,
        "against_task": against_task,
    }
    if mlp_probes:
        out["mlp"] = mlp_probe_accuracy(X_train @ P, ztr, X_test @ P, zte, seed=seed)
        out["mlp_shuffled"] = mlp_probe_accuracy(X_train @ P, ztr_shuffled, X_test @ P, zte_shuffled, seed=seed)
    return out


def erasure_experiment(
    X_train: np.ndarray, z_train: Any, X_test: np.ndarray, z_test: Any, task_train: Any, task_test: Any,
    n_iters: int, C: float = 10.0, seed: int = 0, mlp_probes: bool = True,
) -> dict[str, Any]:
    """INLP against an attribute, with the controls its claims need.

    Args:
        X_train, X_test: representations.
        z_train, z_test: the attribute to remove.
        task_train, task_test: the main task's labels.
        n_iters: INLP iterations.
        C: inverse regularization of every linear probe.
        seed: seeds the controls.
        mlp_probes: passed to :func:`erasure_controls`.

    Returns:
        ``history`` and ``P``: :func:`inlp` with the task recorded, and the entries of
        :func:`erasure_controls`.
    """
    P, history = inlp(X_train, z_train, X_test, z_test, n_iters=n_iters, C=C, task=(task_train, task_test))
    controls = erasure_controls(X_train, z_train, X_test, z_test, task_train, task_test, P, history, C=C, seed=seed,
                                mlp_probes=mlp_probes)
    return {"history": history, "P": P, **controls}


def sentence_experiment(emb: np.ndarray, sentences: pd.DataFrame, seed: int = 0) -> dict[str, Any]:
    """Steps 2 and 3: INLP (15 iterations) against the subject's gender in sentence
    embeddings, the field as the main task, on a stratified half split seeded by ``seed``.

    Args:
        emb: the embeddings of ``sentences["sentence"]``.
        sentences: the output of :func:`gendered_sentences`.
        seed: seeds the split and the controls.

    Returns:
        :func:`erasure_experiment`, plus ``train_idx`` and ``test_idx``.
    """
    from sklearn.model_selection import train_test_split

    z = (sentences["gender"] == "male").astype(int).to_numpy()
    field = sentences["field"].to_numpy()
    tr, te = train_test_split(np.arange(len(z)), test_size=0.5, random_state=seed,
                              stratify=sentences["gender"] + sentences["field"])
    out = erasure_experiment(emb[tr], z[tr], emb[te], z[te], field[tr], field[te], n_iters=15, seed=seed)
    return {**out, "train_idx": tr, "test_idx": te}


def hidden_layer_experiment(seed: int = 0, device: torch.device | str | None = None) -> dict[str, Any]:
    """Step 4: INLP (20 iterations) against the group in the 32-unit last hidden layer of an
    MLP trained on :func:`make_group_shift_data` (6,000 rows, shift 2.5), the label as the task.

    Args:
        seed: seeds the data, the split, the network and the controls.
        device: where to train.

    Returns:
        :func:`erasure_experiment` (without the MLP probes), plus the network's held-out
        ``accuracy``.
    """
    from sklearn.model_selection import train_test_split

    tab = make_group_shift_data(n=6000, shift=2.5, seed=seed)
    tr, te = train_test_split(np.arange(len(tab["y"])), test_size=0.5, random_state=seed,
                              stratify=2 * tab["y"] + tab["z"])
    H, acc = mlp_representation(tab["X"], tab["y"], tr, width=32, depth=2, seed=seed, device=device)
    out = erasure_experiment(H[tr], tab["z"][tr], H[te], tab["z"][te], tab["y"][tr], tab["y"][te], n_iters=20,
                             seed=seed, mlp_probes=False)
    return {**out, "accuracy": acc}


def run(seed: int = 0, device: torch.device | str | None = None) -> dict[str, Any]:
    """Everything section 3.4 checks, for one seed.

    Returns:
        ``sentences``: :func:`sentence_experiment` on all-MiniLM-L6-v2 embeddings (they do
        not depend on the seed; the split, the probes and the controls do); ``hidden``:
        :func:`hidden_layer_experiment`.
    """
    from ..pretrained import load_sentence_encoder

    dev = resolve_device(device)
    sentences = gendered_sentences()
    encoder = load_sentence_encoder(device=dev)
    emb = encoder.encode(sentences["sentence"].tolist(), convert_to_numpy=True, normalize_embeddings=True,
                         batch_size=128)
    return {"sentences": sentence_experiment(emb, sentences, seed=seed),
            "hidden": hidden_layer_experiment(seed=seed, device=dev)}


def _probe(it: int) -> Any:
    return lambda world: float(world["attribute probe"].iloc[it])


def _final_distance(w: tuple[float, float]) -> float:
    return abs(w[0] - w[1])


def _claims_of(part: str, what: str, attribute: str, task: str, n_iters: int, observe: dict[str, str]) -> tuple[Claim, ...]:
    """The four INLP claims of one representation (``part`` of the results)."""
    cite = ("null_it_out",)
    paper = ("INLP makes gender linearly unrecoverable (a linear classifier near chance) from GloVe vectors "
             "and from representations of biographies, while the main task (the profession) loses little "
             "accuracy")
    where = "Ravfogel et al. (2020), the word-embedding and biography experiments"
    shuffled = Control("attribute shuffled", f"the same probe for {attribute} shuffled across rows, which the "
                       "representation does not hold", lambda r: r[part]["shuffled"])

    def obs(name: str, note: str = "") -> dict[str, Any]:
        if name not in observe:
            return {"note": note}
        return {"observation": True, "note": observe[name] + (f"; {note}" if note else "")}

    return (
        Claim(key=f"fairness.removing_information.{part}_probe_reads", run=run, cite=cite, paper_result=paper,
              paper_where=where, statement=f"Before INLP, a linear probe reads {attribute} from {what} with at "
              "least 95% held-out accuracy.",
              world=lambda r: r[part]["history"], measure=_probe(0), predicate=at_least(0.95),
              controls=(shuffled,), **obs("probe_reads")),
        Claim(key=f"fairness.removing_information.{part}_one_iteration", run=run, cite=cite, paper_result=paper,
              paper_where=where, statement=f"One INLP iteration is not enough: the probe still reads {attribute} "
              "at 75% or more.",
              world=lambda r: r[part]["history"], measure=_probe(1), predicate=at_least(0.75),
              controls=(shuffled,), **obs("one_iteration")),
        Claim(key=f"fairness.removing_information.{part}_erased", run=run, cite=cite, paper_result=paper,
              paper_where=where, statement=f"After INLP (at most {n_iters} iterations) the linear probe for {attribute} is "
              "within 0.03 of the majority rate.",
              world=lambda r: (float(r[part]["history"]["attribute probe"].iloc[-1]), r[part]["majority"]),
              measure=_final_distance, predicate=at_most(0.03),
              controls=(Control("random directions", "as many random directions removed as INLP removed",
                                lambda r: (r[part]["random"], r[part]["majority"])),),
              **obs("erased", "|probe accuracy - majority rate| on the held-out half")),
        Claim(key=f"fairness.removing_information.{part}_task_kept", run=run, cite=cite, paper_result=paper,
              paper_where=where, statement=f"Meanwhile the probe for {task} loses at most 2 points.",
              world=lambda r: r[part]["history"], measure=task_loss, predicate=at_most(0.02),
              controls=(Control(f"INLP against {task}", f"as many INLP iterations run against {task} itself",
                                lambda r: r[part]["against_task"]),),
              **obs("task_kept", "task probe before INLP minus its lowest value during INLP")),
    )


CLAIMS = (
    *_claims_of("sentences", "sentence embeddings", "the subject's gender", "the field", 15, {}),
    Claim(
        key="fairness.removing_information.sentences_mlp_reads",
        statement="Linear erasure is not erasure: after INLP an MLP probe still reads the subject's gender with at "
                  "least 85% accuracy.",
        cite=("null_it_out",),
        paper_result="INLP removes linear information only: nonlinear classifiers can still recover part of "
                     "the attribute",
        paper_where="Ravfogel et al. (2020), the word-embedding experiments and the limitations",
        run=run,
        world=lambda r: r["sentences"]["mlp"],
        measure=float,
        predicate=at_least(0.85),
        controls=(Control("shuffled gender", "the same MLP probe on the same projected embeddings, for the "
                          "subject's gender shuffled across sentences", lambda r: r["sentences"]["mlp_shuffled"]),),
    ),
    *_claims_of("hidden", "a trained MLP's 32-unit hidden layer", "the group", "the label", 20, {
        "probe_reads": "an observation: 0.946-0.984 over ten seeds, below 0.95 on one (the layer kept less of an "
                       "attribute the task does not need, not measurement noise: about +-0.004 on 3,000 rows)",
        "erased": "an observation: |probe - majority| is 0.005-0.051 over ten seeds and above 0.03 on two; after 20 "
                  "iterations most of the group's remaining mean difference lies along the label direction, "
                  "which INLP cannot remove without the task",
    }),
)
