"""Checkers for notebook 10's exercises: an optimizer of your own as a real torch.optim.Optimizer.

Both checkers run the student's class on a small fixed regression problem, next to a reference run,
and report the first step at which the two part ways, with the size of the difference.
"""

import io

import torch
from torch import nn

from utils import course_seed, torch_generator
from utils.exercises import check, passed

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


def _two_groups(model, lr: float) -> list[dict]:
    """Body and head in separate groups, the head at 10x the lr: catches a step that ignores groups."""
    return [{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 10 * lr}]


def check_rmsprop(rmsprop_class, lr: float = 0.01, alpha: float = 0.9, eps: float = 1e-8) -> None:
    """rmsprop_class(params, lr=, alpha=, eps=) must take the same steps as torch.optim.RMSprop."""
    check(
        issubclass(rmsprop_class, torch.optim.Optimizer),
        f"{rmsprop_class.__name__} must subclass torch.optim.Optimizer (schedulers and Lightning check it).",
    )
    ours, ref = _model(), _model()
    opt = rmsprop_class(_two_groups(ours, lr), lr=lr, alpha=alpha, eps=eps)
    check(
        opt.param_groups[0]["lr"] == lr and opt.param_groups[1]["lr"] == 10 * lr,
        "pass your hyperparameters to super().__init__(params, defaults) so every param group gets them.",
    )
    ref_opt = torch.optim.RMSprop(_two_groups(ref, lr), lr=lr, alpha=alpha, eps=eps)
    ours_steps, ref_steps = _train(ours, opt, _batches()), _train(ref, ref_opt, _batches())
    first = _first_difference(ours_steps, ref_steps, atol=1e-6)
    if first is not None:
        step, diff = first
        body = slice(0, 4 * 8 + 8)  # weights and biases of the first layer (param group 0)
        head_only = (ours_steps[step - 1][body] - ref_steps[step - 1][body]).abs().max() <= 1e-6
        hint = (
            " Only the head (param group 1, lr=10*lr) is off: read lr from group['lr'], not from "
            "self.defaults."
            if head_only
            else " Recall v <- alpha*v + (1-alpha)*g^2 and w <- w - lr*g/(sqrt(v) + eps), with eps outside "
            "the square root."
        )
        check(False, f"Step {step} differs from torch.optim.RMSprop by up to {diff:.3g}.{hint}")
    check(
        len(opt.state) == 4,
        f"self.state holds {len(opt.state)} parameters; expected 4 (one entry per "
        "parameter that got a gradient): keep the running average v in self.state[p].",
    )
    return passed("RMSProp as a torch.optim.Optimizer")


def check_resumes_exactly(optimizer_class, **hyperparameters) -> None:
    """Train STEPS steps straight through, and again with a save/load of model and optimizer after
    RESUME_AT steps (through torch.save, as a real checkpoint); the two runs must be identical."""
    data = _batches()
    reference = _model()
    straight = _train(reference, optimizer_class(reference.parameters(), **hyperparameters), data)
    first = _model()
    opt = optimizer_class(first.parameters(), **hyperparameters)
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
    return passed(f"resuming {optimizer_class.__name__} from its state_dict")
