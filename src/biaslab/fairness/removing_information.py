"""Section 3.4, Removing information from representations (``chapters/03_fairness/04_removing_information.md``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from ..claims import Claim, Control, at_least, at_most
from ..core import make_mlp, resolve_device, train
from ..validation import as_1d, check_fraction, check_positive_int, check_same_length
from ._shared import _ce

__all__ = [
    "probe_accuracy", "inlp", "make_group_shift_data", "mlp_representation", "OCCUPATIONS", "GENDERED_SUBJECTS",
    "gendered_sentences", "random_nullspace", "mlp_probe_accuracy", "task_loss", "erasure_controls",
    "erasure_experiment", "sentence_experiment", "hidden_layer_experiment", "BIO_ACTIVITIES", "FEMALE_SHARE",
    "make_bios", "tpr_gaps", "occupation_experiment", "adult_proxies_experiment",
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
    """Held-out accuracy of a fresh linear probe (scikit-learn logistic regression, inverse
    regularization ``C``) trained on ``(X_train, y_train)``, tested on ``(X_test, y_test)``."""
    from sklearn.linear_model import LogisticRegression

    return _fit_score(LogisticRegression(C=C, max_iter=max_iter), X_train, y_train, X_test, y_test)


def inlp(X_train: np.ndarray, z_train: Any, X_test: np.ndarray, z_test: Any, n_iters: int = 10, C: float = 1.0,
         task: tuple[Any, Any] | None = None) -> tuple[np.ndarray, pd.DataFrame]:
    """Iterative nullspace projection (Ravfogel et al., 2020): remove the linear directions
    that predict a protected attribute ``z``, one probe at a time.

    Each iteration fits a linear probe for ``z`` on the projected training data, adds its
    weights to the removed directions and projects onto the complement of all of them.

    Args: representations ``X_train``, ``X_test`` (n, d) and the attribute of each row
    (``z_train``, ``z_test``); ``n_iters`` probes with inverse regularization ``C``; ``task``:
    optional ``(y_train, y_test)`` of a main task, probed after every iteration.

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

    Eight features ``u`` ~ N(0, I) decide ``y = 1[w . u + 0.5 noise > 0]``; the group ``z`` (a
    fair coin) moves eight further features by +-``shift`` along one random unit direction.

    Returns ``{"X": (n, 16) float32, "y": label, "z": group}`` for ``n`` rows; ``shift`` (> 0)
    is each group's distance from zero along the group direction; ``seed`` seeds everything.
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

    Args: inputs ``X`` (n, d), integer labels ``y``, the training rows ``train_idx``, ``width``
    and ``depth`` of the hidden layers, Adam ``steps``, ``seed`` and ``device``.

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
    """Template sentences "{subject} is a {occupation}.": each of the 16 ``GENDERED_SUBJECTS``
    with each of the 32 ``OCCUPATIONS`` in two templates (1,024 rows of ``sentence``, ``gender``
    of the subject word, ``female``/``male``, and the occupation's ``field``)."""
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
    """The (d, d) projection onto the orthogonal complement of ``k`` (0 <= k < d) random
    directions seeded by ``seed``: the control for INLP (as many directions, not the informative ones)."""
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
    """Held-out accuracy of a small nonlinear probe (scikit-learn MLP, one hidden layer of
    ``hidden`` units, seeded by ``seed``), trained and tested as :func:`probe_accuracy`."""
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(hidden,), max_iter=500, random_state=seed)
    return _fit_score(clf, X_train, y_train, X_test, y_test)


def task_loss(history: pd.DataFrame) -> float:
    """How much the main task's probe lost during INLP (``history`` from :func:`inlp` with
    ``task``): ``task probe`` at iteration 0 minus its minimum over the iterations (>= 0)."""
    if not isinstance(history, pd.DataFrame) or "task probe" not in history.columns:
        raise TypeError("history must be the DataFrame returned by inlp with a task")
    return float(history["task probe"].iloc[0] - history["task probe"].min())


def erasure_controls(
    X_train: np.ndarray, z_train: Any, X_test: np.ndarray, z_test: Any, task_train: Any, task_test: Any,
    P: np.ndarray, history: pd.DataFrame, C: float = 10.0, seed: int = 0, mlp_probes: bool = True,
) -> dict[str, Any]:
    """The negative controls of an INLP run (:func:`inlp` against ``z`` with the task recorded).

    Args: the representations, the attribute ``z`` INLP removed and the task's labels (train
    and test), what :func:`inlp` returned (``P``, ``history``), the probes' ``C``, ``seed``
    (random directions, shuffles, MLP probes), ``mlp_probes`` (also train the slow MLP probes).

    Returns:
        ``majority`` (test majority rate of ``z``); ``random`` (linear probe for ``z`` after as
        many random directions); ``shuffled`` (one :func:`inlp` iteration against ``z``
        shuffled); ``against_task`` (as many INLP iterations against the task); ``mlp`` and
        ``mlp_shuffled`` (an MLP probe for ``z`` and for shuffled ``z`` after ``P``).
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

    Arguments as :func:`erasure_controls`, with ``n_iters`` INLP iterations. Returns ``history``
    and ``P`` (:func:`inlp` with the task recorded) and the entries of :func:`erasure_controls`.
    """
    P, history = inlp(X_train, z_train, X_test, z_test, n_iters=n_iters, C=C, task=(task_train, task_test))
    controls = erasure_controls(X_train, z_train, X_test, z_test, task_train, task_test, P, history, C=C, seed=seed,
                                mlp_probes=mlp_probes)
    return {"history": history, "P": P, **controls}


def sentence_experiment(emb: np.ndarray, sentences: pd.DataFrame, seed: int = 0) -> dict[str, Any]:
    """Steps 2 and 3: INLP (15 iterations) against the subject's gender in sentence
    embeddings, the field as the main task, on a stratified half split seeded by ``seed``; ``emb``
    embeds ``sentences["sentence"]`` (:func:`gendered_sentences`). Returns :func:`erasure_experiment`,
    plus ``train_idx`` and ``test_idx``.
    """
    from sklearn.model_selection import train_test_split

    z = (sentences["gender"] == "male").astype(int).to_numpy()
    field = sentences["field"].to_numpy()
    tr, te = train_test_split(np.arange(len(z)), test_size=0.5, random_state=seed,
                              stratify=sentences["gender"] + sentences["field"])
    out = erasure_experiment(emb[tr], z[tr], emb[te], z[te], field[tr], field[te], n_iters=15, seed=seed)
    return {**out, "train_idx": tr, "test_idx": te}


def hidden_layer_experiment(seed: int = 0, device: torch.device | str | None = None) -> dict[str, Any]:
    """Step 6: INLP (20 iterations) against the group in the 32-unit last hidden layer of an
    MLP trained on :func:`make_group_shift_data` (6,000 rows, shift 2.5), the label as the task.

    Returns :func:`erasure_experiment` (without the MLP probes), plus the network's held-out
    ``accuracy``; ``seed`` seeds data, split, network and controls.
    """
    from sklearn.model_selection import train_test_split

    tab = make_group_shift_data(n=6000, shift=2.5, seed=seed)
    tr, te = train_test_split(np.arange(len(tab["y"])), test_size=0.5, random_state=seed,
                              stratify=2 * tab["y"] + tab["z"])
    H, acc = mlp_representation(tab["X"], tab["y"], tr, width=32, depth=2, seed=seed, device=device)
    out = erasure_experiment(H[tr], tab["z"][tr], H[te], tab["z"][te], tab["y"][tr], tab["y"][te], n_iters=20,
                             seed=seed, mlp_probes=False)
    return {**out, "accuracy": acc}


BIO_ACTIVITIES: dict[str, tuple[str, ...]] = {
    "health": ("treats patients every day", "works at the hospital", "cares for the sick", "gives injections at the clinic"),
    "technology": ("writes software", "repairs machines", "designs circuits", "builds computer systems"),
    "arts": ("performs on stage", "paints portraits", "writes poems", "plays in an orchestra"),
    "service": ("serves customers", "works at the restaurant", "cleans offices", "bakes bread for the shop"),
    "any": ("works long hours", "loves the job", "studied for years", "meets many people", "works in the city",
            "has a busy schedule", "is good at the work", "started the job last year"),
}  # "any": activities that say nothing about the field


FEMALE_SHARE: dict[str, float] = {"health": 0.8, "technology": 0.2, "arts": 0.6, "service": 0.5}


def make_bios(n: int = 4000, p_specific: float = 0.5, seed: int = 0) -> pd.DataFrame:
    """One-sentence "biographies" of people whose occupation field correlates with gender.

    The field is uniform; the person is a woman with the field's ``FEMALE_SHARE`` (skewed as in
    bias-in-bios). The sentence is "{subject} {activity}." (a subject of that gender from
    ``GENDERED_SUBJECTS``; with probability ``p_specific`` an activity of the field, else one
    of ``BIO_ACTIVITIES["any"]``, which does not name it: there only gender helps to guess).

    Returns a DataFrame of ``n`` people with ``sentence``, ``gender`` (``female``/``male``),
    ``field`` and ``specific`` (whether the activity names the field); ``seed`` seeds it.
    """
    n = check_positive_int(n, "n")
    p_specific = check_fraction(p_specific, "p_specific")
    rng = np.random.default_rng(seed)
    field = rng.choice(list(FEMALE_SHARE), n)
    gender = np.where(rng.random(n) < np.array([FEMALE_SHARE[f] for f in field]), "female", "male")
    specific = rng.random(n) < p_specific
    subject = [rng.choice(GENDERED_SUBJECTS[g]) for g in gender]
    activity = [rng.choice(BIO_ACTIVITIES[f if s else "any"]) for f, s in zip(field, specific)]
    return pd.DataFrame({"sentence": [f"{s} {a}." for s, a in zip(subject, activity)], "gender": gender,
                         "field": field, "specific": specific})


def tpr_gaps(y_true: Any, y_pred: Any, gender: Any, female: Any = "female") -> pd.Series:
    """GAP^TPR of De-Arteaga et al. and Ravfogel et al.: for each occupation, the true
    positive rate of women minus that of men (fairlearn's ``MetricFrame`` with
    ``true_positive_rate``, one-vs-rest per occupation).

    ``gender`` has two values; ``female`` is the one whose TPR comes first. Returns a Series
    indexed by occupation; its root mean square is the paper's summary.
    """
    from fairlearn.metrics import MetricFrame, true_positive_rate

    y_true, y_pred, gender = as_1d(y_true, "y_true"), as_1d(y_pred, "y_pred"), as_1d(gender, "gender")
    check_same_length(y_true=y_true, y_pred=y_pred, gender=gender)
    groups = np.unique(gender)
    if len(groups) != 2 or female not in groups:
        raise ValueError(f"gender must have exactly two values, one of them {female!r}; got {groups.tolist()}")
    male = groups[groups != female][0]
    out = {}
    for occ in np.unique(y_true):
        tpr = MetricFrame(metrics=true_positive_rate, y_true=y_true == occ, y_pred=y_pred == occ,
                          sensitive_features=gender).by_group
        out[occ] = float(tpr.loc[female] - tpr.loc[male])
    return pd.Series(out, name="TPR gap (women - men)")


def occupation_experiment(emb: np.ndarray, bios: pd.DataFrame, seed: int = 0) -> dict[str, Any]:
    """Step 4 and 5: a linear occupation classifier (logistic regression, C = 10) on bios
    embeddings, before and after INLP (15 iterations) against gender, after removing as many
    random directions, and after fairlearn's ``CorrelationRemover`` (alpha = 1, fitted on the
    embeddings plus a gender column); ``emb`` embeds ``bios["sentence"]`` (:func:`make_bios`),
    ``seed`` seeds the half split, the random directions and the MLP probes.

    Returns ``table`` (one row per representation: the classifier's ``accuracy``, ``TPR gap
    RMS``, linear ``gender probe`` accuracy, ``gender MLP probe`` for
    CorrelationRemover), ``gaps`` (per field), ``majority`` (gender, test half),
    ``mlp_shuffled`` (MLP probe for shuffled gender on the CorrelationRemover features), ``history``.
    """
    from fairlearn.preprocessing import CorrelationRemover
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    emb = np.asarray(emb, dtype=np.float64)
    if emb.ndim != 2 or len(emb) != len(bios):
        raise ValueError(f"emb must be 2-D with one row per bio, got {emb.shape} for {len(bios)} bios")
    z, y, g = (bios["gender"] == "male").astype(int).to_numpy(), bios["field"].to_numpy(), bios["gender"].to_numpy()
    rng = np.random.default_rng(seed)
    tr = rng.permutation(len(z))
    tr, te = tr[: len(z) // 2], tr[len(z) // 2:]
    P, history = inlp(emb[tr], z[tr], emb[te], z[te], n_iters=15, C=10.0)
    k = int(history["directions"].iloc[-1])
    with threadpool_limits(1):
        X_cr = CorrelationRemover(sensitive_feature_ids=[emb.shape[1]], alpha=1.0).fit_transform(
            np.hstack([emb, z[:, None]]))
    reps = {"original": emb, "INLP": emb @ P, f"{k} random directions": emb @ random_nullspace(emb.shape[1], k, seed=seed),
            "CorrelationRemover": X_cr}
    rows, gaps = {}, {}
    for name, X in reps.items():
        with threadpool_limits(1):
            pred = LogisticRegression(C=10.0, max_iter=2000).fit(X[tr], y[tr]).predict(X[te])
        gaps[name] = tpr_gaps(y[te], pred, g[te])
        rows[name] = {"accuracy": float((pred == y[te]).mean()), "TPR gap RMS": float(np.sqrt((gaps[name] ** 2).mean())),
                      "gender probe": probe_accuracy(X[tr], z[tr], X[te], z[te], C=10.0)}
        if name == "CorrelationRemover":  # (Step 3 shows the MLP probe after INLP)
            rows[name]["gender MLP probe"] = mlp_probe_accuracy(X[tr], z[tr], X[te], z[te], seed=seed)
    zs = rng.permutation(z)
    return {"table": pd.DataFrame(rows).T, "gaps": pd.DataFrame(gaps), "history": history,
            "majority": float(max(z[te].mean(), 1 - z[te].mean())),
            "mlp_shuffled": mlp_probe_accuracy(X_cr[tr], zs[tr], X_cr[te], zs[te], seed=seed)}


def adult_proxies_experiment(seed: int = 0, device: torch.device | str | None = None) -> dict[str, Any]:
    """Step 7: Step 6 on Adult. An MLP (``mlp_representation``) given ``sex`` as an input is
    trained for income on 3,000 of 6,000 sampled rows; INLP (20 iterations) runs against sex
    on its hidden layer, with an MLP probe for sex (and for sex shuffled) on the result.

    ``seed`` seeds the sample, split, network and probes. Returns ``history`` (INLP with income
    as the task), ``majority``, ``mlp``, ``mlp_shuffled`` and the network's held-out ``accuracy``.
    """
    from sklearn.model_selection import train_test_split

    from ..datasets import adult, adult_features

    df = adult()
    X, y, _ = adult_features(df, include_protected=True)
    s = (df["sex"] == "Male").to_numpy().astype(int)
    rows = np.random.default_rng(seed).choice(len(y), 6000, replace=False)
    X, y, s = X[rows], y[rows], s[rows]
    tr, te = train_test_split(np.arange(6000), test_size=0.5, random_state=seed, stratify=2 * y + s)
    H, acc = mlp_representation(X, y, tr, seed=seed, device=device)
    P, history = inlp(H[tr], s[tr], H[te], s[te], n_iters=20, C=10.0, task=(y[tr], y[te]))
    sh = np.random.default_rng(seed).permutation(s)
    return {"history": history, "majority": float(max(s[te].mean(), 1 - s[te].mean())), "accuracy": acc,
            "mlp": mlp_probe_accuracy(H[tr] @ P, s[tr], H[te] @ P, s[te], seed=seed),
            "mlp_shuffled": mlp_probe_accuracy(H[tr] @ P, sh[tr], H[te] @ P, sh[te], seed=seed)}


def run(seed: int = 0, device: torch.device | str | None = None) -> dict[str, Any]:
    """Everything section 3.4 checks, for one seed: ``sentences`` (:func:`sentence_experiment`
    on all-MiniLM-L6-v2 embeddings), ``bios`` (:func:`occupation_experiment` on :func:`make_bios`),
    ``hidden`` (:func:`hidden_layer_experiment`), ``adult`` (:func:`adult_proxies_experiment`)."""
    from ..pretrained import load_sentence_encoder

    dev = resolve_device(device)
    sentences = gendered_sentences()
    encoder = load_sentence_encoder(device=dev)
    emb = encoder.encode(sentences["sentence"].tolist(), convert_to_numpy=True, normalize_embeddings=True,
                         batch_size=128)
    bios = make_bios(seed=seed)
    uniq = bios["sentence"].unique()
    bios_emb = encoder.encode(uniq.tolist(), convert_to_numpy=True, normalize_embeddings=True, batch_size=128)
    bios_emb = bios_emb[pd.Index(uniq).get_indexer(bios["sentence"])]
    return {"sentences": sentence_experiment(emb, sentences, seed=seed),
            "bios": occupation_experiment(bios_emb, bios, seed=seed),
            "hidden": hidden_layer_experiment(seed=seed, device=dev),
            "adult": adult_proxies_experiment(seed=seed, device=dev)}


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


def _bios_claim(name: str, statement: str, world: Any, measure: Any, predicate: Any, control: Control, **kw: Any) -> Claim:
    return Claim(key=f"fairness.removing_information.{name}", statement=statement, cite=("null_it_out",), run=run,
                 paper_result="On biographies whose profession correlates with gender, INLP against gender makes the "
                 "profession classifier's true positive rates for women and men closer (a lower GAP^TPR RMS over "
                 "professions) at a small cost in accuracy; the guarantee is linear only",
                 paper_where="Ravfogel et al. (2020), the bias-in-bios experiments", world=world, measure=measure,
                 predicate=predicate, controls=(control,), **kw)


def _tab(rep: str, col: str) -> Any:
    return lambda r: (float(r["bios"]["table"].loc["original", col]), float(r["bios"]["table"].loc[rep, col]))


def _drop(w: tuple[float, float]) -> float:
    return w[0] - w[1]


def _random_row(r: dict[str, Any]) -> str:
    return next(i for i in r["bios"]["table"].index if "random" in i)


def _random_ctl(col: str) -> Control:
    return Control("random directions", "as many random directions removed as INLP removed",
                   lambda r: _tab(_random_row(r), col)(r))


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
    _bios_claim("bios_tpr_gap_reduced", "On bios whose field correlates with gender, INLP against gender lowers the "
                "field classifier's TPR-gap RMS (women minus men, over the four fields) by at least 0.10.",
                _tab("INLP", "TPR gap RMS"), _drop, at_least(0.10), _random_ctl("TPR gap RMS")),
    _bios_claim("bios_accuracy_cost", "That fairness costs accuracy: the field classifier loses at least 2 points "
                "after INLP, because gender really helps to guess the field of an ambiguous bio.",
                _tab("INLP", "accuracy"), _drop, at_least(0.02), _random_ctl("accuracy")),
    _bios_claim("bios_cr_tpr_gap_reduced", "fairlearn's CorrelationRemover (alpha = 1) also lowers the TPR-gap RMS "
                "by at least 0.10.", _tab("CorrelationRemover", "TPR gap RMS"), _drop, at_least(0.10),
                _random_ctl("TPR gap RMS")),
    _bios_claim("bios_cr_linear_blind", "After CorrelationRemover a linear probe reads gender no better than the "
                "majority rate plus 0.03.",
                lambda r: (float(r["bios"]["table"].loc["CorrelationRemover", "gender probe"]), r["bios"]["majority"]),
                _drop, at_most(0.03), Control("random directions", "the linear probe after removing as many random "
                "directions as INLP removed", lambda r: (float(r["bios"]["table"].loc[_random_row(r), "gender probe"]),
                                                          r["bios"]["majority"]))),
    _bios_claim("bios_cr_mlp_reads", "But it is not erasure: an MLP probe reads gender from the CorrelationRemover "
                "features with at least 95% accuracy.",
                lambda r: float(r["bios"]["table"].loc["CorrelationRemover", "gender MLP probe"]), float, at_least(0.95),
                Control("shuffled gender", "the same MLP probe for gender shuffled across people",
                        lambda r: r["bios"]["mlp_shuffled"])),
    Claim(key="fairness.removing_information.adult_mlp_reads", run=run, cite=("null_it_out",),
          statement="On Adult, after 20 INLP iterations against sex on the income network's hidden layer, an MLP "
                    "probe still reads sex at least 0.02 above the majority rate.",
          paper_result="INLP removes linear information only: nonlinear classifiers can still recover part of "
                       "the attribute", paper_where="Ravfogel et al. (2020), the limitations",
          world=lambda r: (r["adult"]["mlp"], r["adult"]["majority"]), measure=_drop, predicate=at_least(0.02),
          controls=(Control("shuffled sex", "the same MLP probe for sex shuffled across rows",
                            lambda r: (r["adult"]["mlp_shuffled"], r["adult"]["majority"])),)),
    Claim(key="fairness.removing_information.adult_linear_erased", run=run, cite=("null_it_out",),
          statement="On Adult, after 20 INLP iterations the linear probe for sex is within 0.03 of the majority rate.",
          paper_result="INLP makes the attribute linearly unrecoverable", paper_where="Ravfogel et al. (2020)",
          world=lambda r: (float(r["adult"]["history"]["attribute probe"].iloc[-1]), r["adult"]["majority"]),
          measure=_final_distance, predicate=at_most(0.03), observation=True,
          note="an observation: the distance is 0.003-0.049 over ten seeds (the proxies relationship, marital "
               "status and occupation carry sex and income together)"),
)
