"""The checkers of notebook 11 accept the right answers and name the typical wrong ones."""

import math

import pytest
import torch

from utils.exercises import ExerciseError
from utils.exercises.quadratic import check_best_heavy_ball, check_rmsprop
from utils.optimizers import Adagrad, OptimizerTemplate, RMSprop


def right(mu, L):
    r = (math.sqrt(L / mu) - 1) / (math.sqrt(L / mu) + 1)
    return 1 / math.sqrt(mu * L), r**2


def classic_alpha(mu, L):  # Polyak's alpha, forgetting the course's averaged convention
    return 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2, right(mu, L)[1]


def unsquared_beta(mu, L):
    return right(mu, L)[0], math.sqrt(right(mu, L)[1])


def gd_step(mu, L):
    return 2 / (mu + L), right(mu, L)[1]


def test_best_heavy_ball(capsys):
    check_best_heavy_ball(right)
    assert "Correct" in capsys.readouterr().out
    for wrong, message in [
        (classic_alpha, "classic step alpha"),
        (unsquared_beta, "RATE"),
        (gd_step, "gradient descent's best step"),
        (lambda mu, L: 1.0, "two numbers"),
        (lambda mu, L: (right(mu, L)[0] * 1.01, right(mu, L)[1]), "expected"),
    ]:
        with pytest.raises(ExerciseError, match=message):
            check_best_heavy_ball(wrong)


class RMSpropEpsInside(RMSprop):
    """Typical mistake: eps inside the square root."""

    def update_param(self, p):
        v = self.param_avg[p].mul_(self.alpha).addcmul_(p.grad, p.grad, value=1 - self.alpha)
        p.addcdiv_(p.grad, (v + self.eps).sqrt(), value=-self.lr)


class RMSpropBiasCorrected(RMSprop):
    """Typical mistake: Adam's bias correction."""

    def __init__(self, params, lr, alpha=0.99, eps=1e-8):
        super().__init__(params, lr, alpha, eps)
        self.t = 0

    def step(self):
        self.t += 1
        super().step()

    def update_param(self, p):
        v = self.param_avg[p].mul_(self.alpha).addcmul_(p.grad, p.grad, value=1 - self.alpha)
        p.addcdiv_(p.grad, (v / (1 - self.alpha**self.t)).sqrt() + self.eps, value=-self.lr)


class RMSpropSwapped(RMSprop):
    """Typical mistake: alpha and 1 - alpha swapped."""

    def update_param(self, p):
        v = self.param_avg[p].mul_(1 - self.alpha).addcmul_(p.grad, p.grad, value=self.alpha)
        p.addcdiv_(p.grad, v.sqrt() + self.eps, value=-self.lr)


class AdagradWithAlpha(Adagrad):
    def __init__(self, params, lr, alpha=0.99, eps=1e-8):
        super().__init__(params, lr, eps)


def test_rmsprop(capsys):
    check_rmsprop(RMSprop)
    assert "Correct" in capsys.readouterr().out
    for wrong in (RMSpropEpsInside, RMSpropBiasCorrected, RMSpropSwapped, AdagradWithAlpha):
        with pytest.raises(ExerciseError, match="diverges from torch.optim.RMSprop"):
            check_rmsprop(wrong)
    with pytest.raises(ExerciseError, match="the class itself"):
        check_rmsprop(RMSprop([torch.zeros(1, requires_grad=True)], lr=0.1))
    with pytest.raises(ExerciseError, match="not implemented"):
        check_rmsprop(
            type(
                "Empty",
                (OptimizerTemplate,),
                {
                    "__init__": lambda self, params, lr, alpha, eps: OptimizerTemplate.__init__(
                        self, params, lr
                    )
                },
            )
        )


class RMSpropDividesByZero(RMSprop):
    """A NaN answer (0/0 on the first step): NaN compares False with any tolerance, so it must be named."""

    def update_param(self, p):
        v = self.param_avg[p].mul_(self.alpha).addcmul_(p.grad, p.grad, value=1 - self.alpha)
        p.addcdiv_(p.grad * 0, v.sqrt() * 0, value=-self.lr)


def test_rmsprop_rejects_nan_weights():
    with pytest.raises(ExerciseError, match="is nan"):
        check_rmsprop(RMSpropDividesByZero)


@pytest.mark.parametrize("cls", [Adagrad, RMSprop])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0, 0.0])
def test_adaptive_optimizers_reject_bad_eps_and_lr(cls, bad):
    w = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match="eps must be a positive finite number"):
        cls(w, lr=0.1, eps=bad)
    with pytest.raises(ValueError, match="lr must be a positive finite number"):
        cls(w, lr=bad)
