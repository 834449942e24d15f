"""utils.compare.max_weight_diff: the one comparison of two trained networks (notebooks 09 and 10)."""

import copy

import pytest
import torch
from torch import nn

from utils.compare import max_weight_diff


def test_zero_for_copies_and_the_largest_difference_otherwise():
    a = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    b = copy.deepcopy(a)
    assert max_weight_diff(a, b) == 0.0
    with torch.no_grad():
        b[2].bias[1] += 0.25
        b[0].weight[0, 0] -= 0.5
    assert max_weight_diff(a, b) == pytest.approx(0.5)


def test_refuses_networks_of_different_shapes():
    with pytest.raises(ValueError, match="same architecture"):
        max_weight_diff(nn.Linear(3, 4), nn.Linear(4, 3))
