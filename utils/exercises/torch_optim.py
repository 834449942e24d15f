"""Checkers for notebook 10's exercises: an optimizer of your own as a real torch.optim.Optimizer.

Both checkers run the student's class on a small fixed regression problem, next to a reference run,
and report the first step at which the two part ways, with the size of the difference.
"""

import io

import torch
from torch import nn

from utils import course_seed, torch_generator
from utils.exercises import ExerciseError, check, passed

STEPS = 12
RESUME_AT = 5


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(course_seed(seed))
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))


def _batches(n: int = STEPS):
    gen = torch_generator(7)
    return [(torch.randn(16, 4, generator=gen), torch.randn(16, 2, generator=gen)) for _ in range(n)]


def _train(model, optimizer, data) -> list[torch.Tensor]:
    """Plain loop; returns a flat copy of all weights after every step."""
    snapshots = []
    for x, y in data:
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        snapshots.append(torch.cat([p.detach().flatten() for p in model.parameters()]).clone())
    return snapshots


def _first_difference(ours, ref, atol: float):
    """(step, max abs difference) of the first step where the weights differ by more than atol."""
    for step, (a, b) in enumerate(zip(ours, ref, strict=True), start=1):
        diff = (a - b).abs().max().item()
        if not diff <= atol:  # also catches NaN
            return step, diff
    return None


def _two_groups(model, lr: float, alpha: float, eps: float) -> list[dict]:
    """Body at the defaults, head with its own lr, alpha and eps: catches a step that reads any of them
    from self.defaults instead of its group."""
    head = {"lr": 10 * lr, "alpha": alpha**2, "eps": 10 * eps}
    return [{"params": model[0].parameters()}, {"params": model[2].parameters(), **head}]


def _optimizer_class(cls, what: str) -> None:
    check(
        isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer),
        f"Pass {what} itself (the class, not an instance), a subclass of torch.optim.Optimizer (schedulers "
        f"and Lightning check it); got {cls!r}.",
    )


def _build(cls, *args, **kwargs):
    """cls(*args, **kwargs), with a one-sentence error for a stub or a wrong signature."""
    try:
        return cls(*args, **kwargs)
    except NotImplementedError as err:
        raise ExerciseError(f"{cls.__name__}.__init__ is not implemented yet.") from err
    except TypeError as err:
        raise ExerciseError(f"{cls.__name__}(params, {kwargs}) could not be built: {err}.") from err


def _check_closure(optimizer, model, name: str) -> None:
    """step(closure) must re-evaluate the loss through the closure, with gradients on, and return it."""
    x, y = _batches(1)[0]
    calls = []

    def closure():
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        calls.append(loss.detach())
        return loss

    returned = optimizer.step(closure)
    check(
        len(calls) == 1
        and returned is not None
        and torch.equal(torch.as_tensor(returned).detach(), calls[0]),
        f"{name}.step(closure) called the closure {len(calls)} time(s) and returned {returned!r}: call it "
        "once (inside torch.enable_grad(): step runs under no_grad) and return its loss (as torch.optim).",
    )


def check_rmsprop(rmsprop_class, lr: float = 0.01, alpha: float = 0.9, eps: float = 1e-3) -> None:
    """rmsprop_class(params, lr=, alpha=, eps=) must take the same steps as torch.optim.RMSprop.

    eps is 1e-3 by default: with 1e-8, eps inside the square root changes the weights by less than the
    checker's tolerance."""
    _optimizer_class(rmsprop_class, "your RMSprop class")
    ours, ref = _model(), _model()
    opt = _build(rmsprop_class, _two_groups(ours, lr, alpha, eps), lr=lr, alpha=alpha, eps=eps)
    check(
        opt.param_groups[0]["lr"] == lr and opt.param_groups[1]["lr"] == 10 * lr,
        "pass your hyperparameters to super().__init__(params, defaults) so every param group gets them.",
    )
    ref_opt = torch.optim.RMSprop(_two_groups(ref, lr, alpha, eps), lr=lr, alpha=alpha, eps=eps)
    try:
        ours_steps = _train(ours, opt, _batches())
    except NotImplementedError as err:
        raise ExerciseError(f"{rmsprop_class.__name__}.step is not implemented yet.") from err
    first = _first_difference(ours_steps, _train(ref, ref_opt, _batches()), atol=1e-6)
    if first is not None:
        step, diff = first
        hint = (
            " Recall v <- alpha*v + (1-alpha)*g^2 (v starts at 0, no bias correction) and "
            "w <- w - lr*g/(sqrt(v) + eps), with eps outside the square root, each read from the group."
        )
        for key in ("lr", "alpha", "eps"):  # the hypothesis "the head read `key` from self.defaults"
            model = _model()
            groups = _two_groups(model, lr, alpha, eps)
            groups[1][key] = {"lr": lr, "alpha": alpha, "eps": eps}[key]
            hypothesis = _train(model, torch.optim.RMSprop(groups, lr=lr, alpha=alpha, eps=eps), _batches())
            if _first_difference(ours_steps, hypothesis, atol=1e-6) is None:
                hint = (
                    f" The head (param group 1, with its own {key}) was stepped with the default {key}: read "
                    f"group['{key}'], not self.defaults['{key}']."
                )
        check(False, f"Step {step} differs from torch.optim.RMSprop by up to {diff:.3g}.{hint}")
    check(
        len(opt.state) == 4,
        f"self.state holds {len(opt.state)} parameters; expected 4 (one entry per "
        "parameter that got a gradient): keep the running average v in self.state[p].",
    )
    _check_closure(opt, ours, rmsprop_class.__name__)
    _check_refuses(rmsprop_class, {"lr": lr, "alpha": alpha, "eps": eps}, RMSPROP_OUT_OF_RANGE)
    return passed("RMSProp as a torch.optim.Optimizer")


# Hyperparameters RMSprop must refuse: a step of inf or nan, a negative step or eps (uphill, or a
# division by a number that can reach 0), an average with a negative weight or one above 1 (v can then
# turn negative, and its square root nan). torch.optim.RMSprop itself accepts lr=inf and alpha=1.5.
RMSPROP_OUT_OF_RANGE = (
    ("lr", -0.01),
    ("lr", 0.0),
    ("lr", float("inf")),
    ("lr", float("nan")),
    ("alpha", -0.1),
    ("alpha", 1.0),  # the usual off-by-one (<= 1): v stays 0 and the first steps are lr * g / eps
    ("alpha", 1.5),
    ("alpha", float("nan")),
    ("eps", -1e-8),
    ("eps", 0.0),  # a coordinate whose gradient is 0 gets 0 / 0 = nan
    ("eps", float("inf")),
    ("eps", float("nan")),
)


def _check_refuses(cls, good: dict, out_of_range) -> None:
    """cls(params, **good) with one hyperparameter replaced by each (key, value) must raise ValueError."""
    for key, value in out_of_range:
        kwargs = {**good, key: value}
        try:
            cls(_model().parameters(), **kwargs)
        except ValueError:
            continue
        except Exception as err:  # the student's own code raised something else: name it
            check(
                False,
                f"{cls.__name__}(params, {key}={value}) raised {type(err).__name__}: {err}. Raise ValueError "
                "for a hyperparameter out of range, as torch.optim does.",
            )
        check(
            False,
            f"{cls.__name__}(params, {key}={value}) was accepted: in __init__, raise ValueError naming a bad "
            "value (lr and eps positive and finite, alpha in [0, 1)).",
        )


def check_resumes_exactly(optimizer_class, reference=None, **hyperparameters) -> None:
    """Train STEPS steps straight through, and again with a save/load of model and optimizer after
    RESUME_AT steps (through torch.save, as a real checkpoint); the two runs must be identical.

    reference: an optimizer class with the intended update rule. Resuming alone cannot tell a right fix
    from one that changes the rule (e.g. drops the momentum): the straight run must also match it."""
    _optimizer_class(optimizer_class, "your optimizer class")
    data = _batches()
    reference_model = _model()
    straight = _train(
        reference_model, _build(optimizer_class, reference_model.parameters(), **hyperparameters), data
    )
    if reference is not None:
        oracle = _model()
        intended = _train(oracle, reference(oracle.parameters(), **hyperparameters), data)
        first_diff = _first_difference(straight, intended, atol=1e-6)
        if first_diff is not None:
            check(
                False,
                f"{optimizer_class.__name__} no longer takes {reference.__name__}'s steps (step "
                f"{first_diff[0]} differs by {first_diff[1]:.3g}): keep the update rule and change"
                " only where its state lives.",
            )
    first = _model()
    opt = _build(optimizer_class, first.parameters(), **hyperparameters)
    before = _train(first, opt, data[:RESUME_AT])
    buffer = io.BytesIO()
    torch.save({"model": first.state_dict(), "optimizer": opt.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)

    resumed = _model(seed=1)
    resumed.load_state_dict(saved["model"])
    new_opt = optimizer_class(resumed.parameters(), **hyperparameters)
    new_opt.load_state_dict(saved["optimizer"])
    after = _train(resumed, new_opt, data[RESUME_AT:])
    first_diff = _first_difference(before + after, straight, atol=0.0)
    if first_diff is not None:
        step, diff = first_diff
        keys = sorted(saved["optimizer"]["state"].get(0, {}))
        check(
            False,
            f"The resumed run differs from the uninterrupted one at step {step} (resumed after step "
            f"{RESUME_AT}; max weight difference {diff:.3g}). The checkpoint holds state keys {keys} for the "
            "first parameter: everything step() needs (buffers, step counts) must live in self.state[p], "
            "which is what state_dict() saves.",
        )
    _check_closure(new_opt, resumed, optimizer_class.__name__)
    return passed(f"resuming {optimizer_class.__name__} from its state_dict")
