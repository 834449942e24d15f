"""Notebook 14's checker accepts muP's parameter groups on every seed and rejects the typical wrong ones."""

import pytest
import torch

from utils.exercises import ExerciseError
from utils.exercises.width import check_mup_adam


def groups(model, lr, rates):
    return torch.optim.Adam(
        [{"params": [getattr(model, name).weight], "lr": lr * rate} for name, rate in rates.items()], lr=lr
    )


def solution(model, lr, base_width):
    m = model.width / base_width
    return groups(model, lr, {"input": 1.0, "hidden": 1 / m, "readout": 1 / m})


def not_scaled(model, lr, base_width):
    return torch.optim.Adam(model.parameters(), lr=lr)


def hidden_by_m_squared(model, lr, base_width):
    m = model.width / base_width
    return groups(model, lr, {"input": 1.0, "hidden": 1 / m**2, "readout": 1 / m})


def readout_forgotten(model, lr, base_width):
    m = model.width / base_width
    return groups(model, lr, {"input": 1.0, "hidden": 1 / m, "readout": 1.0})


def input_scaled_too(model, lr, base_width):
    m = model.width / base_width
    return groups(model, lr, {"input": 1 / m, "hidden": 1 / m, "readout": 1 / m})


def init_rule_for_rates(model, lr, base_width):
    m = model.width / base_width
    return groups(model, lr, {"input": 1.0, "hidden": m**-0.5, "readout": m**-0.5})


def sgd(model, lr, base_width):
    return torch.optim.SGD(model.parameters(), lr=lr)


def readout_twice(model, lr, base_width):
    """Wrong: the readout's weight also lands in the input layer's group."""
    opt = solution(model, lr, base_width)
    opt.param_groups[0]["params"].append(model.readout.weight)
    return opt


@pytest.mark.parametrize("seed", range(1, 21))
def test_accepts_the_solution_on_every_seed(seed, monkeypatch):
    monkeypatch.setenv("COURSE_SEED", str(seed))
    check_mup_adam(solution)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (not_scaled, "not scaled at all"),
        (hidden_by_m_squared, r"Divided by m\^2"),
        (readout_forgotten, "the readout is a layer like the others"),
        (input_scaled_too, "input layer's fan-in is 784"),
        (init_rule_for_rates, "init's rule"),
        (sgd, "torch.optim.Adam"),
        (readout_twice, "2 parameter groups"),
    ],
)
def test_rejects_typical_mistakes(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        check_mup_adam(wrong)
