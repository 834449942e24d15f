"""utils.variance_depth: the variance-against-depth curves of notebooks 02-04."""

import numpy as np
import pytest
import torch

from utils import variance_depth as depth
from utils.init import equal_var_init, kaiming_init


@pytest.fixture
def imgs():
    return torch.randn(128, 1, 28, 28, generator=torch.Generator().manual_seed(0))


def test_variance_by_depth_is_one_value_per_linear_layer_and_reproducible(imgs):
    first = depth.variance_by_depth(equal_var_init, "identity", imgs, depth=10, width=64)
    again = depth.variance_by_depth(equal_var_init, "identity", imgs, depth=10, width=64)
    assert first.shape == (11,) and np.array_equal(first, again)


def test_kaiming_keeps_a_relu_network_near_one(imgs):
    var = depth.variance_by_depth(kaiming_init, "relu", imgs, depth=20, width=256)
    assert 0.2 < var[-2] < 5, f"Kaiming + ReLU should stay near 1 after 20 layers, got {var[-2]:.3g}"
