"""Section 4.6, Intervention extrapolation: representations that predict unseen actions (``chapters/04_causal_representation_learning/06_extrapolation.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..claims import Claim, Control, at_least, at_most
from ..core import make_mlp, resolve_device, train
from ..validation import check_positive_int
from ._shared import one_thread

__all__ = [
    "bent_outcome",
    "action_latent_data",
    "interventional_mean",
    "linear_invariance_penalty",
    "fit_rep4ex_encoder",
    "extrapolate_with_representation",
    "intervention_extrapolation",
    "extrapolation_mse",
]


def bent_outcome(z: torch.Tensor) -> torch.Tensor:
    """The outcome function of the extrapolation toy: slope 1 for ``|z| <= 2``, slope -1 beyond.
    """
    return z - 2 * torch.relu(z - 2) + 2 * torch.relu(-z - 2)


def _mix_latent(z: torch.Tensor) -> torch.Tensor:
    """The nonlinear, injective observation map ``R -> R^3`` of the extrapolation toy."""
    return torch.cat([torch.exp(z / 2), 3 * torch.tanh(z / 2), nn.functional.softplus(2 * z)], 1)


def action_latent_data(n: int = 5000, action_range: float = 1.5, noise: float = 0.7, seed: int = 0,
                       confounding: float = 1.0) -> dict[str, torch.Tensor]:
    """Actions that shift a hidden latent linearly, seen through a nonlinear observation.

    ``A ~ U[-action_range, action_range]``, ``Z = A + V`` with ``V ~ N(0, noise^2)``, observed
    ``X = g(Z) + 0.02 eps`` for a fixed injective nonlinear ``g: R -> R^3``, and outcome
    ``Y = bent_outcome(Z) + 0.3 eps'``. The noise lets ``Z`` reach values (``|Z| > 2``, where the
    outcome bends) that the training actions alone do not. ``Y_confounded = Y + confounding * V``
    is the same outcome with a hidden confounder: ``V`` moves both the latent and the outcome.
    Since ``E[V] = 0``, both outcomes have the same ``E[Y | do(A = a)]``.

    Args:
        n: samples.
        action_range: training actions are uniform on ``[-action_range, action_range]``.
        noise: standard deviation of ``V``.
        seed: seeds everything.
        confounding: weight of ``V`` in ``Y_confounded``.

    Returns:
        ``{"A", "X", "Y", "Z", "Y_confounded"}`` as float tensors of shapes ``(n, 1)``,
        ``(n, 3)``, ``(n, 1)``, ``(n, 1)``, ``(n, 1)``.
    """
    n = check_positive_int(n, "n", minimum=20)
    if not action_range > 0 or not noise > 0:
        raise ValueError(f"action_range and noise must be positive, got {action_range} and {noise}")
    g = torch.Generator().manual_seed(int(seed))
    A = torch.empty(n, 1).uniform_(-action_range, action_range, generator=g)
    Z = A + noise * torch.randn(n, 1, generator=g)
    X = _mix_latent(Z) + 0.02 * torch.randn(n, 3, generator=g)
    Y = bent_outcome(Z) + 0.3 * torch.randn(n, 1, generator=g)
    return {"A": A, "X": X, "Y": Y, "Z": Z, "Y_confounded": Y + float(confounding) * (Z - A)}


def interventional_mean(actions: Any, noise: float = 0.7, n_mc: int = 200_000) -> np.ndarray:
    """``E[Y | do(A = a)] = E[bent_outcome(a + V)]`` for each action, by Monte Carlo.

    Args:
        actions: action values (array-like).
        noise: standard deviation of ``V`` (as in :func:`action_latent_data`).
        n_mc: Monte Carlo samples (a fixed seed).

    Returns:
        An array of the same length as ``actions``.
    """
    a = np.asarray(actions, dtype=float).ravel()
    v = noise * torch.randn(n_mc, generator=torch.Generator().manual_seed(123))
    return np.array([bent_outcome(float(ai) + v).mean().item() for ai in a])


def _elu_mlp(in_dim: int, out_dim: int, depth: int = 2) -> nn.Sequential:
    """The section's small networks: ``depth`` hidden layers of 32 ELU units."""
    return make_mlp(in_dim, out_dim, width=32, depth=depth, activation="elu")


def linear_invariance_penalty(phi: torch.Tensor, A: torch.Tensor, n_bands: int = 5, n_quantiles: int = 40) -> torch.Tensor:
    """How much the representation, minus its linear regression on the action, still depends on it.

    The residual ``R = phi - (c + A M)`` (least squares, differentiable) is standardized, the
    samples are split into ``n_bands`` bands of increasing action, and the penalty is the mean
    squared difference between each band's quantiles of ``R`` and the pooled quantiles, summed over bands. It is
    zero when ``R`` has the same distribution for every action, as it does when
    ``phi = affine(Z)`` and ``Z = A M0 + V`` with ``V`` independent of ``A``.

    Args:
        phi: representation ``(n, 1)``.
        A: actions ``(n, 1)``.
        n_bands, n_quantiles: bands of actions, quantile levels compared in each.

    Returns:
        A scalar tensor.
    """
    if phi.ndim != 2 or phi.shape[1] != 1 or A.shape != phi.shape:
        raise ValueError(f"phi and A must both have shape (n, 1), got {tuple(phi.shape)} and {tuple(A.shape)}")
    F = torch.cat([torch.ones_like(A), A], 1)
    R = phi - F @ torch.linalg.lstsq(F, phi).solution
    R = (R / (R.std() + 1e-6)).ravel()[torch.argsort(A.ravel())]
    qs = torch.linspace(0.02, 0.98, n_quantiles, device=R.device)
    pooled = torch.quantile(R, qs)
    return sum(((torch.quantile(band, qs) - pooled) ** 2).mean() for band in torch.chunk(R, n_bands))


def fit_rep4ex_encoder(
    A: torch.Tensor, X: torch.Tensor, lam: float = 10.0, steps: int = 1500, seed: int = 0,
    device: torch.device | str | None = None,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """An autoencoder with a one-dimensional code, trained with the linear-invariance penalty.

    Minimizes ``|dec(enc(x)) - x|^2 + lam * linear_invariance_penalty(enc(x), A)`` by full-batch
    Adam (:func:`biaslab.core.train`). With ``lam = 0`` it is a plain autoencoder.

    Args:
        A: actions ``(n, 1)``.
        X: observations ``(n, d)``.
        lam: weight of :func:`linear_invariance_penalty`.
        steps: Adam steps.
        seed: seeds the initialization.
        device: where to train (``None``: the GPU when present, else the CPU).

    Returns:
        The encoder as a function of raw observations (standardized inside); it returns a
        CPU tensor.
    """
    if X.ndim != 2 or A.shape != (len(X), 1):
        raise ValueError(f"X must be (n, d) and A (n, 1), got {tuple(X.shape)} and {tuple(A.shape)}")
    steps = check_positive_int(steps, "steps")
    dev = resolve_device(device)
    torch.manual_seed(int(seed))
    mean, std = X.mean(0), X.std(0)
    Xs = (X - mean) / std
    ae = nn.Sequential(_elu_mlp(X.shape[1], 1, depth=1), _elu_mlp(1, X.shape[1]))

    def objective(model: nn.Module, xb: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        phi = model[0](xb)
        rec = ((model[1](phi) - xb) ** 2).mean()
        return rec + lam * linear_invariance_penalty(phi, ab) if lam > 0 else rec

    with one_thread(dev):
        train(ae, Xs, A, None, steps, lr=3e-3, objective=objective, eval_every=steps, seed=seed, device=dev)
    enc = ae[0].requires_grad_(False)
    mean, std = mean.to(dev), std.to(dev)
    return lambda x: enc((x.to(dev) - mean) / std).cpu()


class _Additive(nn.Module):
    """``nu(phi) + lambda(v)`` for inputs ``(n, 2)`` holding ``phi`` and ``v``: the control-function model."""

    def __init__(self) -> None:
        super().__init__()
        self.nu, self.lam = _elu_mlp(1, 1), _elu_mlp(1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The sum of the two networks."""
        return self.nu(x[:, :1]) + self.lam(x[:, 1:])


def extrapolate_with_representation(
    phi: torch.Tensor, A: torch.Tensor, Y: torch.Tensor, actions: Any, steps: int = 1500, seed: int = 0,
    device: torch.device | str | None = None, control_function: bool = False,
) -> np.ndarray:
    """Predict ``E[Y | do(A = a)]`` from a representation assumed affine in the latent.

    Regress the representation on the action (``phi = c + A M + V_hat``), fit an MLP ``nu`` of
    the (standardized) representation to ``Y``, and average ``nu(c + a M + V_hat_i)`` over the
    training residuals ``V_hat_i``: the action moves the representation linearly, the noise
    keeps its training distribution. With ``control_function``, ``Y`` is regressed on
    ``nu(phi) + lambda(V_hat)`` instead, and the prediction adds the mean of ``lambda(V_hat_i)``:
    when a hidden confounder moves both the latent's noise and the outcome, ``V_hat`` absorbs
    it, which a regression on ``phi`` alone cannot separate from the effect of the latent.

    Args:
        phi: representation ``(n, 1)`` (e.g. a Rep4Ex encoder's output, or the true latent).
        A, Y: actions and outcomes ``(n, 1)``.
        actions: the actions to predict for.
        steps, seed, device: as in :func:`fit_rep4ex_encoder`, for training ``nu``.
        control_function: add the residual ``V_hat`` as a second, additive input.

    Returns:
        Predictions, one per action.
    """
    if not phi.shape == A.shape == Y.shape or phi.ndim != 2 or phi.shape[1] != 1:
        raise ValueError(f"phi, A and Y must all have shape (n, 1), got {tuple(phi.shape)}, {tuple(A.shape)}, {tuple(Y.shape)}")
    steps = check_positive_int(steps, "steps")
    dev = resolve_device(device)
    phi = phi.detach().cpu()
    F = torch.cat([torch.ones_like(A), A], 1)
    coef = torch.linalg.lstsq(F, phi).solution
    v_hat = phi - F @ coef
    m, s = phi.mean(), phi.std()
    torch.manual_seed(int(seed))
    acts = np.asarray(actions, dtype=float).ravel()
    if control_function:
        model = _Additive()
        v_s = v_hat / v_hat.std()
        with one_thread(dev):
            train(model, torch.cat([(phi - m) / s, v_s], 1), Y, nn.functional.mse_loss, steps, lr=3e-3,
                  eval_every=steps, seed=seed, device=dev)
            with torch.no_grad():
                offset = model.lam(v_s.to(dev)).mean().item()
                return np.array([model.nu(((coef[0] + coef[1] * float(a) + v_hat - m) / s).to(dev)).mean().item()
                                 + offset for a in acts])
    nu = _elu_mlp(1, 1)
    with one_thread(dev):
        train(nu, (phi - m) / s, Y, nn.functional.mse_loss, steps, lr=3e-3, eval_every=steps, seed=seed, device=dev)
        with torch.no_grad():
            return np.array([nu(((coef[0] + coef[1] * float(a) + v_hat - m) / s).to(dev)).mean().item() for a in acts])


def intervention_extrapolation(
    n: int = 5000, action_range: float = 1.5, noise: float = 0.7, lam: float = 10.0, steps: int = 1500,
    grid: Any = None, seed: int = 0, device: torch.device | str | None = None, confounded: bool = False,
    baselines: bool = True,
) -> pd.DataFrame:
    """Rep4Ex vs an MLP from the action, predicting outcomes of actions inside and outside training.

    Data from :func:`action_latent_data`. Predictors of ``E[Y | do(A = a)]``: an MLP from ``A``
    to ``Y``; :func:`extrapolate_with_representation` on a Rep4Ex encoder
    (:func:`fit_rep4ex_encoder`); the same on the true latent ``Z`` (an oracle for reference).
    The truth is :func:`interventional_mean`.

    Args:
        n, action_range, noise: passed to :func:`action_latent_data`.
        lam, steps: passed to :func:`fit_rep4ex_encoder` (``steps`` also trains the MLPs).
        grid: actions to predict for (default: 29 points on ``[-3.5, 3.5]``).
        seed: seeds data and models.
        device: where to train (``None``: the GPU when present, else the CPU).
        confounded: also the columns ``Rep4Ex, confounded Y`` and ``Rep4Ex + control function,
            confounded Y`` (the same encoder, the outcome ``Y_confounded``) and ``Rep4Ex +
            control function`` (on ``Y``).
        baselines: train the MLP from ``A`` and the oracle (``False``: leave their columns out,
            for a second call on the same data that only changes the encoder).

    Returns:
        A DataFrame indexed by action with columns ``truth``, ``MLP from A``, ``Rep4Ex``,
        ``true latent (oracle)`` and a boolean ``unseen`` (outside the training range).
        ``df.attrs["r2"]`` holds the squared correlation of the Rep4Ex representation with ``Z``.
    """
    data = action_latent_data(n, action_range, noise, seed)
    A, X, Y, Z = data["A"], data["X"], data["Y"], data["Z"]
    a = np.linspace(-3.5, 3.5, 29) if grid is None else np.asarray(grid, dtype=float).ravel()
    steps = check_positive_int(steps, "steps")
    dev = resolve_device(device)
    cols = {"truth": interventional_mean(a, noise)}
    if baselines:
        torch.manual_seed(int(seed))
        mlp = _elu_mlp(1, 1)
        with one_thread(dev):
            train(mlp, A, Y, nn.functional.mse_loss, steps, lr=3e-3, eval_every=steps, seed=seed, device=dev)
            with torch.no_grad():
                cols["MLP from A"] = mlp(torch.tensor(a, dtype=torch.float32, device=dev)[:, None]).ravel().cpu().numpy()
    phi = fit_rep4ex_encoder(A, X, lam=lam, steps=steps, seed=seed, device=dev)(X)  # its weights are frozen
    cols["Rep4Ex"] = extrapolate_with_representation(phi, A, Y, a, steps=steps, seed=seed, device=dev)
    if baselines:
        cols["true latent (oracle)"] = extrapolate_with_representation(Z, A, Y, a, steps=steps, seed=seed, device=dev)
    if confounded:  # the same encoder: confounding moves only the outcome
        Yc = data["Y_confounded"]
        for name, (y, cf) in {"Rep4Ex, confounded Y": (Yc, False), "Rep4Ex + control function, confounded Y": (Yc, True),
                              "Rep4Ex + control function": (Y, True)}.items():
            cols[name] = extrapolate_with_representation(phi, A, y, a, steps=steps, seed=seed, device=dev,
                                                         control_function=cf)
    out = pd.DataFrame({**cols, "unseen": np.abs(a) > action_range}, index=pd.Index(a, name="action"))
    out.attrs["r2"] = float(np.corrcoef(phi.ravel().numpy(), Z.ravel().numpy())[0, 1] ** 2)
    return out


def extrapolation_mse(table: pd.DataFrame, lo: float = 2.0) -> pd.Series:
    """Mean squared error of each predictor against the truth over actions with ``|a| >= lo``.

    Args:
        table: :func:`intervention_extrapolation`.
        lo: the smallest ``|action|`` counted (the unseen ranges).

    Returns:
        A Series indexed by predictor.
    """
    if "truth" not in table.columns:
        raise ValueError("table must come from intervention_extrapolation (no 'truth' column)")
    far = table[np.abs(table.index.to_numpy()) >= lo]
    cols = [c for c in table.columns if c not in ("truth", "unseen")]
    return ((far[cols].sub(far["truth"], axis=0)) ** 2).mean().rename("MSE on unseen actions")


def run(seed: int = 0, device: torch.device | str | None = None) -> dict[str, Any]:
    """Everything section 4.6 shows and its claims read, for one seed.

    Returns:
        ``extrap`` (:func:`intervention_extrapolation`, with the confounded-outcome columns),
        ``extrap_autoencoder`` (the same pipeline with a plain autoencoder, ``lam = 0``, the
        control) and their ``mse`` and ``mse_autoencoder`` series (:func:`extrapolation_mse`).
    """
    extrap = intervention_extrapolation(steps=1000, seed=seed, device=device, confounded=True)
    # the control: the same pipeline with a plain autoencoder (lam = 0), on the same data and actions;
    # the MLP and the oracle do not depend on the encoder, so they are trained once
    plain = intervention_extrapolation(lam=0.0, steps=1000, seed=seed, device=device, baselines=False)
    plain = plain.assign(**{c: extrap[c] for c in ("MLP from A", "true latent (oracle)")})
    return {"extrap": extrap, "extrap_autoencoder": plain,
            "mse": extrapolation_mse(extrap), "mse_autoencoder": extrapolation_mse(plain)}


_REP4EX = ("Under a linear-invariance constraint the learned representation is an affine function of the latent, "
           "which suffices to predict the effect of actions outside the training support; a plain autoencoder's "
           "representation does not extrapolate.")

CLAIMS = (
    Claim(
        key="causal.extrapolation.rep4ex_extrapolates", run=run, cite=("identifying_representations_intervention",),
        statement="on actions outside the training range, Rep4Ex's MSE is at most 0.2 times the MLP's",
        paper_result=_REP4EX, paper_where="the extrapolation theorem and the simulations",
        world=lambda r: r["mse"]["Rep4Ex"] / r["mse"]["MLP from A"], measure=lambda v: v, predicate=at_most(0.2),
        observation=True,
        note="observation: over seeds 0-9 the ratio reached 0.197 on one seed in one sweep (it varies between runs of a seed), too close to the rule to assert it; "
             "the plain-autoencoder control stays near or above 1 on every seed",
        controls=(Control("plain autoencoder", "the same pipeline with the linear-invariance penalty off (lam = 0)",
                          lambda r: r["mse_autoencoder"]["Rep4Ex"] / r["mse_autoencoder"]["MLP from A"]),),
    ),
    Claim(
        key="causal.extrapolation.control_function_needed", run=run,
        cite=("identifying_representations_intervention",),
        statement="when a hidden confounder moves both the latent's noise and the outcome, the control function "
                  "lowers Rep4Ex's MSE on unseen actions by at least 1.0",
        paper_result="With hidden confounding between the latent's noise and the outcome, the effect of unseen "
                     "actions remains identified: the estimated noise enters as a control function, an additive "
                     "second input of the outcome model.",
        paper_where="the control-function step of the extrapolation method",
        world=lambda r: r["mse"], measure=lambda m: m["Rep4Ex, confounded Y"] - m["Rep4Ex + control function, confounded Y"],
        predicate=at_least(1.0),
        controls=(Control("no confounding", "the same two estimators on the unconfounded outcome, where the control "
                          "function has nothing to remove",
                          lambda r: {"Rep4Ex, confounded Y": r["mse"]["Rep4Ex"],
                                     "Rep4Ex + control function, confounded Y": r["mse"]["Rep4Ex + control function"]}),),
        note="the confounded outcome is Y + V, with the same encoder; MSE against E[Y | do(A = a)] for |a| >= 2",
    ),
)
