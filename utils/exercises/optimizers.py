"""Checkers for the exercises of notebook 05: write Adagrad and Nesterov momentum as
OptimizerTemplate subclasses (RMSProp waits for notebook 10, as a real torch.optim.Optimizer).

Each checker trains two copies of a small smooth model in float64, one with the student's optimizer
and one with torch.optim configured to the same convention, and compares the parameters after every
step. float64 and a smooth loss keep round-off near 1e-16, so any visible difference is a real
difference in the update rule; the message names the first step and the weight where it shows.
"""

import copy

import torch
from torch import nn

from utils import course_seed, torch_generator
from utils.exercises import ExerciseError, check, passed
from utils.optimizers import OptimizerTemplate

STEPS = 30
TOLERANCE = 1e-9


def _problem():
    """A tiny tanh MLP and fixed regression data (float64, seeded): smooth, so no chaos, no kinks.

    The model is drawn under fork_rng: checking an answer must not move the student's random stream."""
    gen = torch_generator(0)
    x = torch.randn(32, 4, generator=gen, dtype=torch.float64)
    y = torch.randn(32, 1, generator=gen, dtype=torch.float64)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(course_seed(0))
        model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    return model, x, y


def _train_step(model, optimizer, x, y) -> None:
    optimizer.zero_grad()
    nn.functional.mse_loss(model(x), y).backward()
    optimizer.step()


def _first_divergence(model, reference_model):
    """(name, index, got, expected) of the largest parameter difference, or None below TOLERANCE.

    A NaN or inf weight counts as an infinite difference: `nan > TOLERANCE` is False, and would pass."""
    worst = None
    for (name, p), q in zip(model.named_parameters(), reference_model.parameters(), strict=True):
        diff = (p - q).abs()
        if torch.isnan(diff).any():  # NaN compares False with everything: name it before max() hides it
            index = tuple(int(i) for i in torch.nonzero(torch.isnan(diff))[0])
            return (float("nan"), name, index, p[index].item(), q[index].item())
        if diff.max() > TOLERANCE and (worst is None or diff.max() > worst[0]):
            index = tuple(int(i) for i in torch.unravel_index(diff.argmax(), diff.shape))
            worst = (diff.max().item(), name, index, p[index].item(), q[index].item())
    return worst


def _compare(student_cls, student_kwargs: dict, make_reference, name: str, reference_name: str, hint: str):
    """Run the student's optimizer and the reference side by side; raise at the first divergent step."""
    # By name: notebook 05 defines its own OptimizerTemplate (the same code as utils.optimizers').
    check(
        isinstance(student_cls, type)
        and any(c.__name__ == OptimizerTemplate.__name__ for c in student_cls.__mro__),
        f"Pass the class itself (not an instance), a subclass of OptimizerTemplate; got {student_cls!r}.",
    )
    model, x, y = _problem()
    reference_model = copy.deepcopy(model)
    try:
        student = student_cls(model.parameters(), **student_kwargs)
    except TypeError as err:
        raise ExerciseError(
            f"{name}{tuple(student_kwargs)} could not be built: {err}. "
            f"The checker calls {name}(params, {', '.join(f'{k}={v}' for k, v in student_kwargs.items())})."
        ) from err
    reference = make_reference(reference_model.parameters())
    start = [p.detach().clone() for p in model.parameters()]
    for step in range(1, STEPS + 1):
        try:
            _train_step(model, student, x, y)
        except NotImplementedError as err:
            raise ExerciseError(f"{name}.update_param is not implemented yet.") from err
        _train_step(reference_model, reference, x, y)
        if step == 1:
            check(
                any(not torch.equal(p, s) for p, s in zip(model.parameters(), start, strict=True)),
                f"{name} did not change any parameter in step 1: "
                "update p in place (p.add_, p.addcdiv_, ...).",
            )
        worst = _first_divergence(model, reference_model)
        if worst is not None:
            diff, param, index, got, expected = worst
            raise ExerciseError(
                f"{name} diverges from {reference_name} at step {step} of {STEPS}: parameter "
                f"'{param}'{list(index)} is {got:.10g}, expected {expected:.10g} "
                f"(difference {diff:.3g}). {hint}"
            )
    return passed(name)


def check_adagrad(student_cls) -> None:
    """Adagrad(params, lr, eps): s <- s + g^2;  w <- w - lr g / (sqrt(s) + eps).

    Same convention as torch.optim.Adagrad (lr_decay=0, initial_accumulator_value=0)."""
    kwargs = {"lr": 0.1, "eps": 1e-10}
    return _compare(
        student_cls,
        kwargs,
        lambda params: torch.optim.Adagrad(params, lr=0.1, eps=1e-10),
        "Adagrad",
        "torch.optim.Adagrad(lr=0.1, eps=1e-10)",
        "Check: s is a plain running SUM of g^2 (no decay, starts at 0); eps is added after the square root.",
    )


def check_nesterov(student_cls) -> None:
    """SGDNesterov(params, lr, momentum) in this course's averaged convention:
    m <- beta m + (1 - beta) g;  w <- w - lr (beta m + (1 - beta) g).

    Since m = (1 - beta) buf for torch's undamped buffer, this is torch.optim.SGD(nesterov=True,
    momentum=beta, dampening=0) with lr_torch = lr (1 - beta)."""
    lr, beta = 0.1, 0.9
    return _compare(
        student_cls,
        {"lr": lr, "momentum": beta},
        lambda params: torch.optim.SGD(params, lr=lr * (1 - beta), momentum=beta, nesterov=True),
        "SGDNesterov",
        "the averaged-convention reference torch.optim.SGD(lr=0.1 * (1 - 0.9), momentum=0.9, nesterov=True)",
        "Check: first update m with the new gradient, then step along beta * m + (1 - beta) * g "
        "(the momentum AFTER one more look-ahead), not along m itself.",
    )
