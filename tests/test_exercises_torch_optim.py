"""The checkers of notebook 10's exercises accept a right answer and explain a typical wrong one."""

import math

import pytest
import torch

from utils.exercises import ExerciseError
from utils.exercises.torch_optim import check_resumes_exactly, check_rmsprop
from utils.torch_optimizers import TorchAdam, TorchSGDMomentum


def solution_checks(lr, alpha, eps):
    """The notebook's solution: lr and eps positive and finite, alpha in [0, 1)."""
    if not 0 < lr < math.inf:
        raise ValueError(f"learning rate must be a positive finite number, got lr={lr}")
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f"alpha must be in [0, 1), got alpha={alpha}")
    if not 0 < eps < math.inf:
        raise ValueError(f"eps must be a positive finite number, got eps={eps}")


def torch_checks(lr, alpha, eps):
    """torch.optim.RMSprop's own checks: they let lr=inf and alpha=1.5 through."""
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= alpha:
        raise ValueError(f"Invalid alpha value: {alpha}")


def alpha_up_to_one(lr, alpha, eps):
    """The usual off-by-one: alpha = 1 gets through (v stays 0, w runs off to -1e18 in three steps)."""
    if not (0 < lr < math.inf and 0 <= alpha <= 1 and 0 < eps < math.inf):
        raise ValueError("out of range")


def eps_without_upper_bound(lr, alpha, eps):
    if not (0 < lr < math.inf and 0 <= alpha < 1 and eps > 0):
        raise ValueError("out of range")


def alpha_by_exclusion(lr, alpha, eps):
    """Tests for the bad values instead of the good ones: nan fails both comparisons and gets through."""
    if not (0 < lr < math.inf and 0 < eps < math.inf) or alpha < 0 or alpha >= 1:
        raise ValueError("out of range")


def eps_from_zero(lr, alpha, eps):
    if not (0 < lr < math.inf and 0 <= alpha < 1 and 0 <= eps < math.inf):
        raise ValueError("out of range")


def assert_checks(lr, alpha, eps):
    assert 0 < lr < math.inf and 0 <= alpha < 1 and 0 < eps < math.inf


def make_rmsprop(
    eps_inside_sqrt=False,
    ignore_groups=False,
    alpha_from_defaults=False,
    ignore_closure=False,
    validate=solution_checks,
):
    class RMSprop(torch.optim.Optimizer):
        def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8):
            if validate is not None:
                validate(lr, alpha, eps)
            super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps})

        @torch.no_grad()
        def step(self, closure=None):
            loss = None
            if closure is not None and not ignore_closure:
                with torch.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                lr = self.defaults["lr"] if ignore_groups else group["lr"]
                alpha = self.defaults["alpha"] if alpha_from_defaults else group["alpha"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        state["square_avg"] = torch.zeros_like(p)
                    v = state["square_avg"].mul_(alpha).addcmul_(p.grad, p.grad, value=1 - alpha)
                    denom = (v + group["eps"]).sqrt() if eps_inside_sqrt else v.sqrt() + group["eps"]
                    p.addcdiv_(p.grad, denom, value=-lr)
            return loss

    return RMSprop


class AttributeMomentum(torch.optim.Optimizer):
    """Keeps its buffers in an attribute instead of self.state: state_dict() does not see them."""

    def __init__(self, params, lr=0.1, momentum=0.9):
        super().__init__(params, {"lr": lr, "momentum": momentum})
        self.buffers = {}

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                m = self.buffers.setdefault(p, torch.zeros_like(p))
                m.mul_(group["momentum"]).add_(p.grad)
                p.add_(m, alpha=-group["lr"])


def test_rmsprop_accepts_the_right_answer(capsys):
    check_rmsprop(make_rmsprop())
    assert "Correct" in capsys.readouterr().out


def test_rmsprop_rejects_eps_inside_the_square_root():
    with pytest.raises(ExerciseError, match=r"Step 1 differs from torch.optim.RMSprop.*eps outside"):
        check_rmsprop(make_rmsprop(eps_inside_sqrt=True))


@pytest.mark.parametrize("wrong", [{"ignore_groups": True}, {"alpha_from_defaults": True}])
def test_rmsprop_rejects_reading_the_defaults(wrong):
    with pytest.raises(ExerciseError, match=r"differs from torch.optim.RMSprop.*, not self.defaults\['"):
        check_rmsprop(make_rmsprop(**wrong))


def test_rmsprop_rejects_an_ignored_closure():
    with pytest.raises(ExerciseError, match=r"step\(closure\) called the closure 0 time"):
        check_rmsprop(make_rmsprop(ignore_closure=True))


@pytest.mark.parametrize(
    "validate, message",
    [
        (None, r"RMSprop\(params, lr=-0.01\) was accepted: in __init__, raise ValueError"),
        (torch_checks, r"RMSprop\(params, lr=0.0\) was accepted"),
        (assert_checks, r"RMSprop\(params, lr=-0.01\) raised AssertionError.*Raise ValueError"),
        (alpha_up_to_one, r"RMSprop\(params, alpha=1.0\) was accepted"),
        (eps_without_upper_bound, r"RMSprop\(params, eps=inf\) was accepted"),
        (alpha_by_exclusion, r"RMSprop\(params, alpha=nan\) was accepted"),
        (eps_from_zero, r"RMSprop\(params, eps=0.0\) was accepted"),
    ],
)
def test_rmsprop_rejects_missing_or_loose_validation(validate, message):
    with pytest.raises(ExerciseError, match=message):
        check_rmsprop(make_rmsprop(validate=validate))


def test_rmsprop_names_the_wrong_kind_of_answer():
    with pytest.raises(ExerciseError, match="the class, not an instance"):
        check_rmsprop(make_rmsprop()([torch.zeros(1, requires_grad=True)]))

    class Stub(torch.optim.Optimizer):
        def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8):
            raise NotImplementedError

    with pytest.raises(ExerciseError, match="__init__ is not implemented yet"):
        check_rmsprop(Stub)


def test_rmsprop_rejects_a_plain_class():
    class NotAnOptimizer:
        pass

    with pytest.raises(ExerciseError, match="a subclass of torch.optim.Optimizer"):
        check_rmsprop(NotAnOptimizer)


@pytest.mark.parametrize(
    "cls, kwargs", [(TorchSGDMomentum, {"lr": 0.1, "momentum": 0.9}), (TorchAdam, {"lr": 0.01})]
)
def test_resume_accepts_the_course_optimizers(cls, kwargs):
    check_resumes_exactly(cls, reference=cls, **kwargs)
    check_resumes_exactly(make_rmsprop(), reference=torch.optim.RMSprop, lr=0.01)


def make_momentum(rule):
    """Buffers in self.state (so resuming works), with a given update rule."""

    class Momentum(torch.optim.Optimizer):
        def __init__(self, params, lr=0.1, momentum=0.9):
            super().__init__(params, {"lr": lr, "momentum": momentum})

        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    state = self.state[p]
                    if not state:
                        state["momentum_buffer"] = torch.zeros_like(p)
                    rule(state["momentum_buffer"], p, group)

    return Momentum


def stateless(m, p, group):  # "fixed" by dropping the momentum: plain SGD resumes trivially
    p.add_(p.grad, alpha=-group["lr"])


def summed(m, p, group):  # torch's undamped sum instead of the course's average
    m.mul_(group["momentum"]).add_(p.grad)
    p.add_(m, alpha=-group["lr"])


@pytest.mark.parametrize("rule", [stateless, summed])
def test_resume_rejects_a_changed_update_rule(rule):
    with pytest.raises(ExerciseError, match="no longer takes TorchSGDMomentum's steps"):
        check_resumes_exactly(make_momentum(rule), reference=TorchSGDMomentum, lr=0.1, momentum=0.9)


def test_resume_rejects_an_ignored_closure_and_an_instance():
    def averaged(m, p, group):
        m.mul_(group["momentum"]).add_(p.grad, alpha=1 - group["momentum"])
        p.add_(m, alpha=-group["lr"])

    with pytest.raises(ExerciseError, match=r"called the closure 0 time"):
        check_resumes_exactly(make_momentum(averaged), reference=TorchSGDMomentum, lr=0.1, momentum=0.9)
    with pytest.raises(ExerciseError, match="the class, not an instance"):
        check_resumes_exactly(TorchSGDMomentum([torch.zeros(1, requires_grad=True)]), lr=0.1)


def test_resume_rejects_state_kept_outside_self_state():
    with pytest.raises(ExerciseError, match=r"differs .* at step 6 .* state keys \[\] .* self.state\[p\]"):
        check_resumes_exactly(AttributeMomentum, lr=0.1, momentum=0.9)
