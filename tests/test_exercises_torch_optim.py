"""The checkers of notebook 10's exercises accept a right answer and explain a typical wrong one."""

import pytest
import torch

from utils.exercises import ExerciseError
from utils.exercises.torch_optim import check_resumes_exactly, check_rmsprop
from utils.torch_optimizers import TorchAdam, TorchSGDMomentum


def make_rmsprop(eps_inside_sqrt=False, ignore_groups=False):
    class RMSprop(torch.optim.Optimizer):
        def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8):
            super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps})

        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                lr = self.defaults["lr"] if ignore_groups else group["lr"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        state["square_avg"] = torch.zeros_like(p)
                    v = (
                        state["square_avg"]
                        .mul_(group["alpha"])
                        .addcmul_(p.grad, p.grad, value=1 - group["alpha"])
                    )
                    denom = (v + group["eps"]).sqrt() if eps_inside_sqrt else v.sqrt() + group["eps"]
                    p.addcdiv_(p.grad, denom, value=-lr)

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
        check_rmsprop(make_rmsprop(eps_inside_sqrt=True), eps=1e-3)


def test_rmsprop_rejects_ignoring_param_groups():
    with pytest.raises(ExerciseError, match=r"Only the head .* group\['lr'\]"):
        check_rmsprop(make_rmsprop(ignore_groups=True))


def test_rmsprop_rejects_a_plain_class():
    class NotAnOptimizer:
        pass

    with pytest.raises(ExerciseError, match="must subclass torch.optim.Optimizer"):
        check_rmsprop(NotAnOptimizer)


@pytest.mark.parametrize(
    "cls, kwargs", [(TorchSGDMomentum, {"lr": 0.1, "momentum": 0.9}), (TorchAdam, {"lr": 0.01})]
)
def test_resume_accepts_the_course_optimizers(cls, kwargs):
    check_resumes_exactly(cls, **kwargs)


def test_resume_rejects_state_kept_outside_self_state():
    with pytest.raises(ExerciseError, match=r"differs .* at step 6 .* state keys \[\] .* self.state\[p\]"):
        check_resumes_exactly(AttributeMomentum, lr=0.1, momentum=0.9)
