"""Learning-rate schedules and the learning-rate range test of notebook 12.

torch.optim.lr_scheduler changes `lr` in an optimizer's param_groups; the course's training loop
(utils.training.train_epoch) only calls zero_grad() and step(). `Scheduled` joins the two, so a
per-batch schedule runs in the same loop as every other experiment of the course.
"""

import math

import torch
from torch import nn


def warmup_cosine(warmup_steps: int, total_steps: int):
    """The factor of the peak learning rate at each step (for torch's LambdaLR): a linear warm-up from
    1/warmup_steps to 1, then half a cosine from 1 down to 0 at total_steps."""
    if not 0 < warmup_steps < total_steps:
        raise ValueError(f"need 0 < warmup_steps < total_steps, got {warmup_steps} and {total_steps}")

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
        return 0.5 * (1 + math.cos(math.pi * progress))

    return factor


class Scheduled:
    """A torch optimizer whose step() also advances its scheduler: the schedule moves once per batch."""

    def __init__(self, optimizer: torch.optim.Optimizer, make_scheduler):
        self.optimizer = optimizer
        self.scheduler = make_scheduler(optimizer)

    def zero_grad(self):
        self.optimizer.zero_grad()

    def step(self):
        self.optimizer.step()
        self.scheduler.step()


def lr_range_test(net, optimizer, x, y, lrs, batch_size: int, generator, stop_factor: float = 4.0):
    """The learning-rate range test (per batch, as fastai's lr_find): one batch per learning rate in
    `lrs` (increasing), training as it goes; returns the loss of each batch. It stops at the first batch
    whose loss passes stop_factor times the lowest so far (or is not finite): one such batch ends it."""
    net.train()
    losses = []
    for lr in lrs:
        for group in optimizer.param_groups:
            group["lr"] = float(lr)
        idx = torch.randint(len(x), (batch_size,), generator=generator)
        loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if not math.isfinite(losses[-1]) or losses[-1] > stop_factor * min(losses):
            break
    return losses


def smoothed(losses, beta: float = 0.9) -> list[float]:
    """Exponential moving average of a noisy per-batch loss curve, bias-corrected like Adam's moments
    (so the first values are not pulled towards 0)."""
    avg, out = 0.0, []
    for t, loss in enumerate(losses, start=1):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta**t))
    return out


def suggest_lr(lrs, losses, divide_by: float = 10.0) -> float:
    """The range test's rule of thumb: a tenth of the learning rate at which the smoothed loss is lowest
    (the minimum sits on a wide plateau, before the loss turns up; a tenth of it is a cautious choice)."""
    curve = smoothed(losses)
    best = min(range(len(curve)), key=curve.__getitem__)
    return float(lrs[best]) / divide_by
