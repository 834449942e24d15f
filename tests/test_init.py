"""utils.init: each scheme gives the weight mean and variance of its formula, layer by layer."""

import math

import pytest
import torch
from torch import nn

from utils.init import const_init, equal_var_init, kaiming_init, linear_layers, var_init, xavier_init
from utils.models import BaseNetwork

WIDE = (1024, 1024, 512)  # large layers: the sample variance is within ~1 % of the formula


def wide_network(act_fn="relu"):
    torch.manual_seed(0)
    return BaseNetwork(act_fn, input_size=784, hidden_sizes=WIDE)


def assert_weight_variances(model, expected_var):
    for i, layer in enumerate(linear_layers(model)):
        w = layer.weight.detach()
        expected = expected_var(i, layer.in_features, layer.out_features)
        assert abs(w.mean().item()) < 0.05 * math.sqrt(expected), f"layer {i}: mean {w.mean().item():.3g}"
        assert w.var().item() == pytest.approx(expected, rel=0.1 if w.numel() < 20_000 else 0.03), (
            f"layer {i}"
        )


def test_const_init_sets_every_parameter():
    model = wide_network()
    const_init(model, 0.005)
    assert all(torch.all(p == 0.005) for p in model.parameters())


def test_var_init_weights_and_biases_share_one_std():
    model = wide_network()
    var_init(model, std=0.1)
    assert_weight_variances(model, lambda i, d_x, d_y: 0.01)
    biases = torch.cat([layer.bias for layer in linear_layers(model)]).detach()
    assert biases.std().item() == pytest.approx(0.1, rel=0.1), "the naive schemes set biases too"


def test_equal_var_init_is_one_over_fan_in():
    model = wide_network("identity")
    equal_var_init(model)
    assert_weight_variances(model, lambda i, d_x, d_y: 1 / d_x)


def test_xavier_init_is_uniform_with_glorot_variance():
    model = wide_network("tanh")
    xavier_init(model)
    assert_weight_variances(model, lambda i, d_x, d_y: 2 / (d_x + d_y))
    for layer in linear_layers(model):
        bound = math.sqrt(6 / (layer.in_features + layer.out_features))
        assert layer.weight.abs().max().item() <= bound
        assert layer.weight.abs().max().item() > 0.95 * bound, "uniform up to the bound, not normal"


def test_kaiming_init_first_layer_keeps_one_over_fan_in():
    model = wide_network("relu")
    kaiming_init(model)
    assert_weight_variances(model, lambda i, d_x, d_y: (1 if i == 0 else 2) / d_x)


@pytest.mark.parametrize("init", [equal_var_init, xavier_init, kaiming_init])
def test_principled_schemes_zero_the_biases(init):
    model = wide_network()
    init(model)
    assert all(torch.all(layer.bias == 0) for layer in linear_layers(model))


def test_layers_without_bias_are_fine():
    model = nn.Sequential(nn.Linear(20, 30, bias=False), nn.ReLU(), nn.Linear(30, 5, bias=False))
    for init in (equal_var_init, xavier_init, kaiming_init):
        init(model)
    const_init(model, 0.5)
    var_init(model, 0.1)


@pytest.mark.parametrize("std", [-0.1, 0.0, float("nan"), float("inf")])
def test_var_init_rejects_bad_std(std):
    with pytest.raises(ValueError, match="std must be a positive finite number"):
        var_init(wide_network(), std)


def test_const_init_rejects_non_finite_fill():
    with pytest.raises(ValueError, match="fill must be a finite number"):
        const_init(wide_network(), float("nan"))


@pytest.mark.parametrize(
    "init",
    [lambda m: const_init(m, 0.1), lambda m: var_init(m, 0.1), equal_var_init, xavier_init, kaiming_init],
)
def test_model_without_linear_layers_is_an_error(init):
    with pytest.raises(ValueError, match="no nn.Linear layers"):
        init(nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU()))
