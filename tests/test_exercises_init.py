"""The checkers of the exercises in notebooks 02-04 accept a right answer and explain a typical wrong one."""

import math

import pytest
import torch

from utils.exercises import ExerciseError
from utils.exercises.init import (check_backward_std, check_empirical_gain, check_identity_std,
                                  check_leaky_relu_std, check_predicted_variance, check_xavier_uniform)


def test_identity_std():
    check_identity_std(lambda d: 1 / math.sqrt(d))
    with pytest.raises(ExerciseError, match="that is the variance"):
        check_identity_std(lambda d: 1 / d)


def test_predicted_variance():
    check_predicted_variance(lambda s, w, d, v: v * (w * s**2) ** d)
    with pytest.raises(ExerciseError, match="used std where the rule needs"):
        check_predicted_variance(lambda s, w, d, v: v * (w * s) ** d)
    with pytest.raises(ExerciseError, match="power of depth"):
        check_predicted_variance(lambda s, w, d, v: v * w * s**2 * d)


def test_xavier_uniform():
    def right(weight):
        bound = math.sqrt(6 / sum(weight.shape))
        return weight.uniform_(-bound, bound)

    check_xavier_uniform(right)
    with pytest.raises(ExerciseError, match="normal distribution has no bound"):
        check_xavier_uniform(lambda w: w.normal_(0, math.sqrt(2 / sum(w.shape))))
    with pytest.raises(ExerciseError, match="in place"):
        check_xavier_uniform(lambda w: torch.zeros_like(w))
    with pytest.raises(ExerciseError, match=r"variance a\^2/3"):  # the variance 2/(d_x+d_y) used as the bound^2
        check_xavier_uniform(lambda w: w.uniform_(-math.sqrt(2 / sum(w.shape)), math.sqrt(2 / sum(w.shape))))


def test_backward_std():
    check_backward_std(lambda shape: 1 / math.sqrt(shape[0]))
    with pytest.raises(ExerciseError, match="forward condition"):
        check_backward_std(lambda shape: 1 / math.sqrt(shape[1]))


def test_leaky_relu_std():
    check_leaky_relu_std(lambda d_x, a: math.sqrt(2 / ((1 + a**2) * d_x)))
    with pytest.raises(ExerciseError, match=r"so it is \(1 \+ a\^2\)"):
        check_leaky_relu_std(lambda d_x, a: math.sqrt(2 / ((1 + a) * d_x)))


def monte_carlo_gain(act_fn, moment=lambda x: x.pow(2).mean()):
    torch.manual_seed(0)
    return 1 / moment(act_fn(torch.randn(1_000_000))).sqrt().item()


def test_empirical_gain():
    check_empirical_gain(monte_carlo_gain)
    with pytest.raises(ExerciseError, match="not Var"):
        check_empirical_gain(lambda f: monte_carlo_gain(f, moment=lambda x: x.var()))
