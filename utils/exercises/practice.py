"""Checkers for the exercises of notebook 12: AdamW as a subclass of the course's Adam, and a rescaling
of a ReLU network that keeps its function but changes its sharpness (Dinh et al. 2017).

The AdamW checker trains the student's class against torch.optim.AdamW in float64 and names the first
step that differs. The rescaling checker compares the network's outputs before and after, and the top
Hessian eigenvalue of its loss, so that both a changed function and an unchanged Hessian are caught.
"""

import copy

import torch
from torch import nn

from utils import torch_generator
from utils.exercises import check, passed
from utils.exercises.optimizers import _compare
from utils.models import BaseNetwork
from utils.sharpness import top_hessian_eigenvalue


def check_adamw(student_cls) -> None:
    """AdamW(params, lr, weight_decay): w <- (1 - lr * weight_decay) w, then the course's Adam step.

    Same convention as torch.optim.AdamW (defaults beta1 0.9, beta2 0.999, eps 1e-8)."""
    kwargs = {"lr": 0.01, "weight_decay": 0.1}
    return _compare(
        student_cls,
        kwargs,
        lambda params: torch.optim.AdamW(params, **kwargs),
        "AdamW",
        "torch.optim.AdamW(lr=0.01, weight_decay=0.1)",
        "Check: the decay multiplies the WEIGHT by (1 - lr * weight_decay) before Adam's step; it "
        "is not added to the gradient (that is Adam + L2) and it is scaled by the learning rate.",
    )


def _probe():
    """A small ReLU network with fixed random weights, inputs and labels (float64)."""
    gen = torch_generator(0)
    net = BaseNetwork("relu", input_size=20, num_classes=5, hidden_sizes=(16, 12)).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=gen, dtype=torch.float64))
    x = torch.randn(64, 20, generator=gen, dtype=torch.float64)
    y = torch.randint(5, (64,), generator=gen)
    return net, x, y


def _sharpness(net, x, y) -> float:
    loss = nn.functional.cross_entropy(net(x), y)
    return top_hessian_eigenvalue(loss, list(net.parameters()), torch_generator(1), iters=300, rtol=1e-8)[0]


def _rescaled(rescale, net, c: float) -> nn.Module:
    """A copy of `net` after rescale(copy, c), whether the answer changes it in place or returns it."""
    changed = copy.deepcopy(net)
    result = rescale(changed, c)
    return result if isinstance(result, nn.Module) else changed


def check_rescale(rescale) -> None:
    """rescale(net, c) changes a BaseNetwork in place (or returns the changed network) so that it computes
    exactly the same function, while the top Hessian eigenvalue of its loss changes; c = 1 changes
    nothing (so an answer must use c, not a number of its own)."""
    net, x, y = _probe()
    changed = _rescaled(rescale, net, 10.0)
    moved = max(
        ((p - q).abs().max() / q.abs().max()).item()
        for p, q in zip(changed.parameters(), net.parameters(), strict=True)
    )
    check(
        moved > 0.5,
        f"rescale(net, 10) left every weight (almost) as it was (largest relative change {moved:.2g}).",
    )
    with torch.no_grad():
        gap = (changed(x) - net(x)).abs().max().item()
    check(
        gap < 1e-8,
        f"After rescale(net, 10) the network computes a different function: a logit moved by "
        f"{gap:.3g}. ReLU(c z) = c ReLU(z) only for c > 0, and z = W x + b: scale a layer's weight AND "
        "bias by c, and only the weight of the NEXT linear layer by 1 / c.",
    )
    before, after = _sharpness(net, x, y), _sharpness(changed, x, y)
    check(
        not 0.5 < after / before < 2,
        f"The function is the same, but the top Hessian eigenvalue hardly moved "
        f"({before:.4g} -> {after:.4g}); rescale the weights so that the curvature changes.",
    )
    unchanged = _rescaled(rescale, net, 1.0)
    moved_by_one = max(
        (p - q).abs().max().item() for p, q in zip(unchanged.parameters(), net.parameters(), strict=True)
    )
    check(
        moved_by_one < 1e-12,
        f"rescale(net, 1) changed a weight by {moved_by_one:.3g}: with c = 1 nothing should move. Use the "
        "argument c (multiply by c, divide by c), not a fixed factor.",
    )
    return passed("rescale")
