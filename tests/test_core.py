"""Unit tests of biaslab.core: seeding, device, models, the training loop, claims."""


import matplotlib
import pandas as pd
import pytest
import torch

matplotlib.use("Agg")

import biaslab
from biaslab.core import ACTIVATIONS, Snake, make_activation


def test_seed_everything_repeats_random_draws():
    biaslab.seed_everything(3)
    a = torch.randn(5)
    biaslab.seed_everything(3)
    assert torch.equal(a, torch.randn(5))


@pytest.mark.parametrize("bad, err", [(-1, ValueError), (1.5, TypeError), ("0", TypeError), (True, TypeError)])
def test_seed_everything_rejects_bad_seed(bad, err):
    with pytest.raises(err, match="seed"):
        biaslab.seed_everything(bad)


def test_get_device_is_cpu_without_gpu(capsys):
    dev = biaslab.get_device()
    assert dev.type == ("cuda" if torch.cuda.is_available() else "cpu")
    out = capsys.readouterr().out
    assert out.startswith(f"biaslab {biaslab.__version__}, torch {torch.__version__}: running on ")
    if not torch.cuda.is_available():
        assert out.endswith(f": running on CPU ({torch.get_num_threads()} threads)\n")
    biaslab.get_device(verbose=False)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_make_activation_all_names(name):
    x = torch.linspace(-2, 2, 9)
    assert make_activation(name)(x).shape == x.shape


def test_make_activation_unknown_name():
    with pytest.raises(ValueError, match="unknown activation 'swishy'"):
        make_activation("swishy")
    with pytest.raises(TypeError, match="activation"):
        make_activation(3)


def test_snake_formula_and_bad_frequency():
    x = torch.tensor([0.0, 1.0, -2.0])
    assert torch.allclose(Snake(2.0)(x), x + torch.sin(2 * x) ** 2 / 2)
    assert isinstance(Snake(1.0, learnable=True).a, torch.nn.Parameter)
    with pytest.raises(ValueError, match="a must be > 0"):
        Snake(0.0)


def test_make_mlp_shapes_and_bad_sizes():
    net = biaslab.make_mlp(3, 2, width=8, depth=2, activation="tanh")
    assert net(torch.zeros(4, 3)).shape == (4, 2)
    assert sum(isinstance(m, torch.nn.Linear) for m in net) == 3
    with pytest.raises(ValueError, match="width must be >= 1"):
        biaslab.make_mlp(3, 2, width=0)
    with pytest.raises(ValueError, match="depth must be >= 1"):
        biaslab.make_mlp(3, 2, depth=-1)
    with pytest.raises(TypeError, match="in_dim must be an integer"):
        biaslab.make_mlp(3.0, 2)


def test_train_reduces_loss_and_returns_history():
    torch.manual_seed(0)
    X = torch.randn(64, 2)
    y = X @ torch.tensor([[1.0], [-2.0]])
    model = torch.nn.Linear(2, 1)
    hist = biaslab.train(model, X, y, torch.nn.functional.mse_loss, steps=200, lr=0.05, eval_every=50,
                         eval_fn=lambda m, s: {"w0": m.weight[0, 0].item()})
    assert isinstance(hist, pd.DataFrame)
    assert list(hist.step) == [0, 50, 100, 150, 200]
    assert {"step", "loss", "w0"} <= set(hist.columns)
    assert hist.loss.iloc[-1] < 0.01 * hist.loss.iloc[0]


def test_train_minibatches_and_optimizers():
    X, y = torch.randn(50, 3), torch.randn(50, 1)
    for opt in ("adam", "adamw", "sgd"):
        hist = biaslab.train(torch.nn.Linear(3, 1), X, y, torch.nn.functional.mse_loss, steps=30,
                             batch_size=16, optimizer=opt, eval_every=10)
        assert len(hist) == 4


def test_train_no_decay_exempts_named_parameters():
    class Two(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = torch.nn.Parameter(torch.ones(3))
            self.b = torch.nn.Parameter(torch.ones(3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * 0.0 + (self.a * self.b).sum() * 0.0  # zero gradient: only decay moves weights

    X, y = torch.randn(8, 1), torch.zeros(8, 1)
    m = Two()
    biaslab.train(m, X, y, torch.nn.functional.mse_loss, steps=20, lr=0.1, optimizer="adamw",
                  weight_decay=0.5, no_decay=["b"])
    assert torch.all(m.a < 0.5) and torch.allclose(m.b, torch.ones(3))
    m = Two()  # default: everything decays, as before
    biaslab.train(m, X, y, torch.nn.functional.mse_loss, steps=20, lr=0.1, optimizer="adamw", weight_decay=0.5)
    assert torch.all(m.b < 0.5)
    with pytest.raises(ValueError, match="unknown parameters"):
        biaslab.train(Two(), X, y, torch.nn.functional.mse_loss, steps=1, no_decay=["c"])
    with pytest.raises(TypeError, match="sequence of parameter names"):
        biaslab.train(Two(), X, y, torch.nn.functional.mse_loss, steps=1, no_decay="b")


def test_train_bad_input():
    X, y, m, loss = torch.randn(10, 2), torch.randn(10, 1), torch.nn.Linear(2, 1), torch.nn.functional.mse_loss
    with pytest.raises(ValueError, match="same length"):
        biaslab.train(m, X, y[:5], loss, steps=1)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        biaslab.train(m, X, y, loss, steps=0)
    with pytest.raises(ValueError, match="unknown optimizer"):
        biaslab.train(m, X, y, loss, steps=1, optimizer="lbfgs")
    with pytest.raises(ValueError, match="weight_decay"):
        biaslab.train(m, X, y, loss, steps=1, weight_decay=-1)
    with pytest.raises(TypeError, match="torch tensors"):
        biaslab.train(m, X.numpy(), y, loss, steps=1)
    with pytest.raises(ValueError, match="lr"):
        biaslab.train(m, X, y, loss, steps=1, lr=0)


def test_plot_style_sets_palette():
    biaslab.plot_style()
    assert matplotlib.rcParams["axes.spines.top"] is False


def test_every_public_helper_is_exported():
    """The API page documents ``__all__``: a public function or class missing from it is
    invisible on the site and breaks the ``{func}`` links of the chapters."""
    import importlib
    import inspect

    for name in ("core", "validation", "plotting", "pretrained", "inductive_bias", "spurious", "fairness", "causal", "disentangle", "datasets"):
        mod = importlib.import_module(f"biaslab.{name}")
        exported = set(getattr(mod, "__all__", []))
        public = {n for n, obj in vars(mod).items()
                  if not n.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
                  and obj.__module__ == mod.__name__}
        assert public <= exported, (name, sorted(public - exported))


# ---------------------------------------------------------------- the one training loop: options
def test_train_stop_when_and_explicit_eval_steps():
    X = torch.randn(32, 2)
    y = X @ torch.tensor([[1.0], [-1.0]])
    h = biaslab.train(torch.nn.Linear(2, 1), X, y, torch.nn.functional.mse_loss, steps=500, lr=0.1,
                      eval_every=[3, 7, 50, 200], stop_when=lambda r: r["step"] >= 50)
    assert list(h.step) == [0, 3, 7, 50]  # stopped at the first recorded step that satisfies the rule
    with pytest.raises(ValueError, match="each entry of eval_every"):
        biaslab.train(torch.nn.Linear(2, 1), X, y, torch.nn.functional.mse_loss, steps=5, eval_every=[-1])


def test_train_replacement_draws_independent_batches():
    X, y = torch.arange(10.0)[:, None], torch.zeros(10, 1)
    seen = []

    class Spy(torch.nn.Linear):
        def forward(self, x):
            if len(x) == 4:
                seen.append(x.flatten().tolist())
            return super().forward(x)

    biaslab.train(Spy(1, 1), X, y, torch.nn.functional.mse_loss, steps=30, batch_size=4, replacement=True, seed=3)
    g = torch.Generator().manual_seed(3)
    assert seen[0] == torch.randint(0, 10, (4,), generator=g).float().tolist()
    assert any(len(set(b)) < 4 for b in seen)  # with replacement a batch can repeat an example


def test_train_objective_params_tuple_targets_and_on_step():
    X = torch.randn(20, 3)
    w = torch.tensor([2.0, 0.0, -1.0])
    y, weights = X @ w, torch.ones(20)
    model = torch.nn.Linear(3, 1, bias=False)
    steps = []
    biaslab.train(model, X, (y, weights), None, steps=300, lr=0.05,
                  objective=lambda m, xb, yb: (yb[1] * (m(xb).squeeze(1) - yb[0]) ** 2).mean(),
                  on_step=lambda m, step, loss: steps.append(step))
    assert torch.allclose(model.weight.detach().flatten(), w, atol=0.05) and steps == list(range(1, 301))
    frozen = torch.nn.Linear(3, 1)
    before = frozen.bias.detach().clone()
    biaslab.train(frozen, X, y[:, None], torch.nn.functional.mse_loss, steps=5, params=[frozen.weight])
    assert torch.equal(frozen.bias.detach(), before)  # only the tensors in params move
    with pytest.raises(TypeError, match="loss_fn"):
        biaslab.train(model, X, y, None, steps=1)
    with pytest.raises(ValueError, match="same length"):
        biaslab.train(model, X, (y, weights[:5]), None, steps=1, objective=lambda m, a, b: m(a).sum())


def test_train_schedulers_and_eval_with_grad():
    X, y = torch.randn(16, 2), torch.randn(16, 1)
    for sched in ("cosine", "onecycle", lambda opt, steps: torch.optim.lr_scheduler.StepLR(opt, 5)):
        assert len(biaslab.train(torch.nn.Linear(2, 1), X, y, torch.nn.functional.mse_loss, steps=20,
                                 scheduler=sched, eval_every=10)) == 3
    with pytest.raises(ValueError, match="scheduler"):
        biaslab.train(torch.nn.Linear(2, 1), X, y, torch.nn.functional.mse_loss, steps=2, scheduler="linear")
    grads = biaslab.train(torch.nn.Linear(2, 1), X, y, torch.nn.functional.mse_loss, steps=4, eval_every=2,
                          eval_with_grad=True, eval_fn=lambda m, s: {"grad": float(torch.is_grad_enabled())})
    assert grads["grad"].tolist() == [1.0, 1.0, 1.0]  # step 0 included
    plain = biaslab.train(torch.nn.Linear(2, 1), X, y, torch.nn.functional.mse_loss, steps=2, eval_every=2,
                          eval_fn=lambda m, s: {"grad": float(torch.is_grad_enabled())})
    assert plain["grad"].tolist() == [0.0, 0.0]


def test_train_device_moves_model_and_data():
    model = torch.nn.Linear(2, 1)
    biaslab.train(model, torch.randn(8, 2), torch.randn(8, 1), torch.nn.functional.mse_loss, steps=2, device="cpu")
    assert next(model.parameters()).device.type == "cpu"


def test_resolve_device():
    assert biaslab.resolve_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert biaslab.resolve_device("cpu") == torch.device("cpu")
    assert biaslab.resolve_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(TypeError, match="device"):
        biaslab.resolve_device(3)
    with pytest.raises(ValueError, match="device"):
        biaslab.resolve_device("tpu-ish")


def test_glue_prints_without_myst_nb(monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_myst_nb(name, *args, **kwargs):
        if name == "myst_nb":
            raise ImportError("not installed")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst_nb)
    biaslab.glue("gap", 12.3456)
    assert capsys.readouterr().out == "gap = 12.35\n"
