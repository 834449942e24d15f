"""The checkers of notebook 12 accept the right answers and name the typical wrong ones."""

import pytest
import torch

from utils.exercises import ExerciseError
from utils.exercises.practice import check_adamw, check_rescale
from utils.optimizers import Adam


class AdamW(Adam):
    def __init__(self, params, lr, weight_decay=0.01, **adam_kwargs):
        super().__init__(params, lr, **adam_kwargs)
        self.weight_decay = weight_decay

    def update_param(self, p):
        p.mul_(1 - self.lr * self.weight_decay)
        super().update_param(p)


class AdamL2(AdamW):
    """Typical mistake: L2 added to the gradient (that is Adam + L2)."""

    def update_param(self, p):
        p.grad.add_(p, alpha=self.weight_decay)
        Adam.update_param(self, p)


class DecayWithoutLr(AdamW):
    def update_param(self, p):
        p.mul_(1 - self.weight_decay)
        Adam.update_param(self, p)


class DecayAfterStepScaled(AdamW):
    """Decays the weight AFTER Adam's step: (1 - lr wd)(w - step) instead of (1 - lr wd) w - step."""

    def update_param(self, p):
        Adam.update_param(self, p)
        p.mul_(1 - self.lr * self.weight_decay)


def test_adamw(capsys):
    check_adamw(AdamW)
    assert "Correct" in capsys.readouterr().out
    for wrong in (AdamL2, DecayWithoutLr, DecayAfterStepScaled, Adam):
        with pytest.raises(ExerciseError, match="AdamW"):
            check_adamw(wrong)


def right(net, c):
    with torch.no_grad():
        net.layers[0].weight.mul_(c)
        net.layers[0].bias.mul_(c)
        net.layers[2].weight.div_(c)


def forgot_bias(net, c):
    with torch.no_grad():
        net.layers[0].weight.mul_(c)
        net.layers[2].weight.div_(c)


def one_layer(net, c):
    with torch.no_grad():
        net.layers[4].weight.mul_(c)


def negative(net, c):
    right(net, -c)


def test_rescale(capsys):
    check_rescale(right)
    check_rescale(lambda net, c: right(net, c) or net)  # returning the network is fine too
    assert "Correct" in capsys.readouterr().out
    for wrong in (forgot_bias, one_layer, negative):
        with pytest.raises(ExerciseError, match="different function"):
            check_rescale(wrong)
    with pytest.raises(ExerciseError, match="left every weight"):
        check_rescale(lambda net, c: None)
    with pytest.raises(ExerciseError, match="Use the argument c"):
        check_rescale(lambda net, c: right(net, 10.0))  # ignores c
