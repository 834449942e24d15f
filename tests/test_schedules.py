"""utils.schedules: the warm-up + cosine factors, the Scheduled wrapper, the range test and its rule."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from utils.schedules import Scheduled, lr_range_test, smoothed, suggest_lr, warmup_cosine


def test_warmup_cosine_shape():
    f = warmup_cosine(10, 110)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(60) == pytest.approx(0.5) and f(110) == pytest.approx(0.0) and f(500) == pytest.approx(0.0)
    assert all(f(t) >= f(t + 1) for t in range(10, 120))
    with pytest.raises(ValueError, match="warmup_steps < total_steps"):
        warmup_cosine(10, 10)


def test_scheduled_steps_the_scheduler_once_per_batch():
    w = nn.Parameter(torch.zeros(1))
    opt = Scheduled(
        torch.optim.SGD([w], lr=1.0), lambda o: torch.optim.lr_scheduler.LambdaLR(o, warmup_cosine(4, 8))
    )
    seen = []
    for _ in range(4):
        seen.append(opt.optimizer.param_groups[0]["lr"])
        opt.zero_grad()
        (w * 1.0).sum().backward()
        opt.step()
    assert seen == pytest.approx([0.25, 0.5, 0.75, 1.0])


def test_smoothed_is_bias_corrected():
    assert smoothed([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])


def test_suggest_lr_takes_a_tenth_of_the_minimum():
    lrs = np.geomspace(1e-4, 1, 1000)  # fine steps: the smoothing lags only a few percent
    losses = [abs(math.log10(lr) + 2) + 1 for lr in lrs]  # lowest at lr = 1e-2
    assert suggest_lr(lrs, losses) == pytest.approx(1e-3, rel=0.3)


def test_range_test_stops_when_the_loss_explodes():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(512, 10, generator=gen), torch.randint(3, (512,), generator=gen)
    net = nn.Linear(10, 3)
    lrs = np.geomspace(1e-3, 1e4, 200)
    losses = lr_range_test(net, torch.optim.SGD(net.parameters(), lr=1.0), x, y, lrs, 64, gen)
    assert 10 < len(losses) < len(lrs)
    assert losses[-1] > 4 * min(losses) or not math.isfinite(losses[-1])
