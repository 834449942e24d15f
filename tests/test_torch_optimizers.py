"""utils.torch_optimizers: the course's optimizers as torch.optim.Optimizer subclasses.

They must follow torch's conventions (same numbers as torch.optim.Adam / SGD), save and resume through
state_dict, work with LR schedulers, reject bad hyperparameters, and stay equal to notebook 10's code.
"""

import copy
import inspect
import io
import math

import pytest
import torch
from torch import nn

from utils import optimizers as course
from utils.torch_optimizers import TorchAdam, TorchSGDMomentum

STEPS = 25


def make_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3))


def batches(n: int = STEPS, seed: int = 1):
    gen = torch.Generator().manual_seed(seed)
    return [(torch.randn(32, 5, generator=gen), torch.randn(32, 3, generator=gen)) for _ in range(n)]


def train(model, optimizer, data, scheduler=None) -> list[float]:
    """Plain loop; returns the loss of every step."""
    losses = []
    for x, y in data:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.item())
    return losses


def assert_same_weights(a: nn.Module, b: nn.Module, atol: float = 1e-6):
    for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
        assert torch.allclose(p, q, atol=atol, rtol=0), f"{name}: max diff {(p - q).abs().max():.2e}"


@pytest.mark.parametrize("lr, betas", [(1e-3, (0.9, 0.999)), (1e-2, (0.5, 0.9))])
def test_adam_matches_torch(lr, betas):
    ours, ref = make_model(), make_model()
    train(ours, TorchAdam(ours.parameters(), lr=lr, betas=betas), batches())
    train(ref, torch.optim.Adam(ref.parameters(), lr=lr, betas=betas), batches())
    assert_same_weights(ours, ref)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_momentum_matches_torch_sgd_at_scaled_lr(momentum):
    """Averaged momentum at lr == torch's summed momentum at lr * (1 - beta)."""
    ours, ref = make_model(), make_model()
    train(ours, TorchSGDMomentum(ours.parameters(), lr=0.1, momentum=momentum), batches())
    train(ref, torch.optim.SGD(ref.parameters(), lr=0.1 * (1 - momentum), momentum=momentum), batches())
    assert_same_weights(ours, ref)


@pytest.mark.parametrize(
    "ours_cls, course_cls, kwargs, course_kwargs",
    [
        (TorchSGDMomentum, course.SGDMomentum, {"lr": 0.1, "momentum": 0.9}, {"lr": 0.1, "momentum": 0.9}),
        (
            TorchAdam,
            course.Adam,
            {"lr": 1e-2, "betas": (0.8, 0.99)},
            {"lr": 1e-2, "beta1": 0.8, "beta2": 0.99},
        ),
    ],
)
def test_same_updates_as_notebook_05(ours_cls, course_cls, kwargs, course_kwargs):
    ours, ref = make_model(), make_model()
    train(ours, ours_cls(ours.parameters(), **kwargs), batches())
    train(ref, course_cls(ref.parameters(), **course_kwargs), batches())
    assert_same_weights(ours, ref, atol=0)


@pytest.mark.parametrize(
    "cls, kwargs", [(TorchSGDMomentum, {"lr": 0.1, "momentum": 0.9}), (TorchAdam, {"lr": 1e-2})]
)
def test_state_dict_resume_gives_identical_steps(cls, kwargs):
    data = batches()
    straight = make_model()
    straight_losses = train(straight, cls(straight.parameters(), **kwargs), data)

    first = make_model()
    opt = cls(first.parameters(), **kwargs)
    first_losses = train(first, opt, data[:10])
    buffer = io.BytesIO()
    torch.save({"model": first.state_dict(), "optimizer": opt.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)

    resumed = make_model(seed=123)  # different weights: everything must come from the checkpoint
    resumed.load_state_dict(saved["model"])
    opt2 = cls(resumed.parameters(), **kwargs)
    opt2.load_state_dict(saved["optimizer"])
    assert first_losses + train(resumed, opt2, data[10:]) == straight_losses
    assert_same_weights(resumed, straight, atol=0)


def test_param_groups_keep_their_own_hyperparameters():
    model = make_model()
    body, head = model[0], model[2]
    body_before = copy.deepcopy(body)
    opt = TorchAdam([{"params": body.parameters(), "lr": 0.0}, {"params": head.parameters()}], lr=1e-2)
    assert opt.param_groups[1]["lr"] == 1e-2 and opt.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError):  # lr=0 in a group is allowed by torch.optim, not by our constructor
        TorchAdam(model.parameters(), lr=0.0)
    train(model, opt, batches(3))
    assert_same_weights(body, body_before, atol=0)


@pytest.mark.parametrize("cls", [TorchSGDMomentum, TorchAdam])
def test_scheduler_changes_the_lr_it_uses(cls):
    model = make_model()
    opt = cls(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
    lrs = []
    for x, y in batches(15):
        lrs.append(opt.param_groups[0]["lr"])
        train(model, opt, [(x, y)], scheduler=sched)
    assert lrs == [0.1] * 5 + [0.05] * 5 + [0.025] * 5

    # ... and the step really uses the scheduled lr: SGD with lr=0 after a scheduler leaves w unchanged
    opt = TorchSGDMomentum(model.parameters(), lr=0.1)
    torch.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 0.0)
    before = copy.deepcopy(model)
    train(model, opt, batches(2))
    assert_same_weights(model, before, atol=0)


def test_closure_is_called_and_its_loss_returned():
    model = make_model()
    opt = TorchAdam(model.parameters())
    x, y = batches(1)[0]

    def closure():
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss is not None and loss.item() > 0
    assert opt.state[model[0].weight]["step"] == 1


def test_parameters_without_gradient_are_skipped():
    model = make_model()
    frozen = model[0].weight.detach().clone()
    model[0].weight.requires_grad_(False)
    opt = TorchAdam([p for p in model.parameters() if p.requires_grad], lr=0.1)
    train(model, opt, batches(2))
    assert torch.equal(model[0].weight, frozen)


@pytest.mark.parametrize(
    "cls, kwargs, message",
    [
        (TorchSGDMomentum, {"lr": -0.1}, "learning rate must be positive"),
        (TorchSGDMomentum, {"lr": 0.1, "momentum": 1.0}, r"momentum must be in \[0, 1\)"),
        (TorchAdam, {"lr": 0.0}, "learning rate must be positive"),
        (TorchAdam, {"betas": (0.9, 1.0)}, r"betas\[1\] must be in \[0, 1\)"),
        (TorchAdam, {"betas": (-0.1, 0.999)}, r"betas\[0\] must be in \[0, 1\)"),
        (TorchAdam, {"eps": 0.0}, "eps must be positive"),
        (TorchSGDMomentum, {"lr": math.inf}, "learning rate must be positive and finite, got lr=inf"),
        (TorchSGDMomentum, {"lr": math.nan}, "learning rate must be positive and finite, got lr=nan"),
        (
            TorchSGDMomentum,
            {"lr": 0.1, "momentum": math.nan},
            r"momentum must be in \[0, 1\), got momentum=nan",
        ),
        (TorchAdam, {"lr": math.inf}, "learning rate must be positive and finite, got lr=inf"),
        (TorchAdam, {"lr": math.nan}, "learning rate must be positive and finite, got lr=nan"),
        (TorchAdam, {"eps": math.inf}, "eps must be positive and finite, got eps=inf"),
        (TorchAdam, {"eps": math.nan}, "eps must be positive and finite, got eps=nan"),
        (TorchAdam, {"betas": (math.nan, 0.999)}, r"betas\[0\] must be in \[0, 1\), got nan"),
    ],
)
def test_bad_hyperparameters_raise_value_error(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(make_model().parameters(), **kwargs)


@pytest.mark.parametrize("cls", [TorchSGDMomentum, TorchAdam])
def test_empty_parameter_list_is_refused(cls):
    """A used-up generator (model.parameters() iterated once already) would train nothing, silently."""
    params = make_model().parameters()
    list(params)
    with pytest.raises(ValueError, match="empty parameter list"):
        cls(params, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        cls([], lr=0.1)


def test_the_torch_versions_have_their_own_names():
    """One name, one signature: notebook 05's Adam(params, lr, beta1, beta2) is not torch.optim's form."""
    assert not hasattr(course, "TorchAdam") and not hasattr(course, "TorchSGDMomentum")
    assert "betas" in inspect.signature(TorchAdam).parameters
    assert "beta1" in inspect.signature(course.Adam).parameters


# Hostile inputs (the red team's raw tracebacks): refused at construction, naming the value.
@pytest.mark.parametrize(
    "kwargs", [{"lr": "0.1"}, {"lr": None}, {"betas": (0.9,)}, {"betas": 0.9}, {"eps": "1e-8"}]
)
def test_torch_adam_names_a_bad_setting(kwargs):
    with pytest.raises(ValueError, match="must be"):
        TorchAdam(torch.nn.Linear(2, 2).parameters(), **kwargs)


@pytest.mark.parametrize("lr", ["0.1", None])
def test_torch_sgd_momentum_names_a_bad_learning_rate(lr):
    with pytest.raises(ValueError, match="positive finite number"):
        TorchSGDMomentum(torch.nn.Linear(2, 2).parameters(), lr=lr)


def test_torch_adam_refuses_sparse_gradients_in_torchs_words():
    embedding = torch.nn.Embedding(5, 2, sparse=True)
    optimizer = TorchAdam(embedding.parameters())
    embedding(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match="does not support sparse gradients"):
        optimizer.step()
