"""The checkers of notebook 05's exercises accept a right optimizer and explain a typical wrong one."""

import pytest
import torch

from utils.exercises import ExerciseError
from utils.exercises.optimizers import check_adagrad, check_nesterov
from utils.optimizers import OptimizerTemplate, SGDMomentum


class Adagrad(OptimizerTemplate):
    def __init__(self, params, lr, eps=1e-10):
        super().__init__(params, lr)
        self.eps = eps
        self.param_sum = {p: torch.zeros_like(p) for p in self.params}

    def update_param(self, p):
        s = self.param_sum[p].addcmul_(p.grad, p.grad)
        p.addcdiv_(p.grad, s.sqrt() + self.eps, value=-self.lr)


class AdagradWithDecay(Adagrad):
    """Typical mistake: a decaying average (that is RMSProp) instead of Adagrad's running sum."""

    def update_param(self, p):
        s = self.param_sum[p].mul_(0.9).addcmul_(p.grad, p.grad, value=0.1)
        p.addcdiv_(p.grad, s.sqrt() + self.eps, value=-self.lr)


class SGDNesterov(SGDMomentum):
    def update_param(self, p):
        m = self.param_momentum[p]
        m.mul_(self.momentum).add_(p.grad, alpha=1 - self.momentum)
        p.add_(self.momentum * m + (1 - self.momentum) * p.grad, alpha=-self.lr)


class Unfinished(OptimizerTemplate):
    def __init__(self, params, lr, eps=1e-10):
        super().__init__(params, lr)


def test_adagrad():
    check_adagrad(Adagrad)
    with pytest.raises(ExerciseError, match=r"diverges from torch.optim.Adagrad.* at step 1 .*running SUM"):
        check_adagrad(AdagradWithDecay)
    with pytest.raises(ExerciseError, match="not implemented yet"):
        check_adagrad(Unfinished)
    with pytest.raises(ExerciseError, match="the class itself"):
        check_adagrad(Adagrad([torch.zeros(1, requires_grad=True)], lr=0.1))


class NaNAdagrad(Adagrad):
    """Wrong: a step that leaves every weight NaN (e.g. eps=nan, or a 0/0)."""

    def update_param(self, p):
        p.fill_(float("nan"))


class InfAdagrad(Adagrad):
    def update_param(self, p):
        p.fill_(float("inf"))


@pytest.mark.parametrize("broken", [NaNAdagrad, InfAdagrad])
def test_adagrad_rejects_nan_and_inf_weights(broken):
    with pytest.raises(ExerciseError, match=r"diverges from torch.optim.Adagrad.* at step 1 .*(nan|inf)"):
        check_adagrad(broken)


@pytest.mark.parametrize("answer", ["Adagrad", [Adagrad], None], ids=["string", "list", "none"])
def test_checkers_name_the_wrong_kind_of_answer(answer):
    for checker in (check_adagrad, check_nesterov):
        with pytest.raises(ExerciseError, match="the class itself"):
            checker(answer)


def test_nesterov():
    check_nesterov(SGDNesterov)
    with pytest.raises(ExerciseError, match=r"SGDNesterov diverges .* at step 1 .*look-ahead"):
        check_nesterov(SGDMomentum)  # plain momentum: steps along m, one look-ahead short
    with pytest.raises(ExerciseError, match="could not be built"):
        check_nesterov(Adagrad)  # no momentum argument
