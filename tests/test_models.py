"""utils.models: the course network's shapes, its config round trip, and its errors."""

import json

import pytest
import torch
from torch import nn

from utils.models import BaseNetwork, Identity, act_fn_by_name


@pytest.mark.parametrize("act_fn", sorted(act_fn_by_name))
def test_shapes_and_layer_layout(act_fn):
    net = BaseNetwork(act_fn)
    assert net(torch.randn(8, 1, 28, 28)).shape == (8, 10)
    linear = [i for i, m in enumerate(net.layers) if isinstance(m, nn.Linear)]
    assert linear == [0, 2, 4, 6, 8]
    assert [net.layers[i].out_features for i in linear] == [512, 256, 256, 128, 10]
    assert all(isinstance(net.layers[i], act_fn_by_name[act_fn]) for i in (1, 3, 5, 7))


def test_activation_given_as_module():
    assert BaseNetwork(Identity()).config["act_fn"] == "identity"
    assert BaseNetwork(nn.Tanh()).config["act_fn"] == "tanh"


def test_config_round_trips_through_json():
    net = BaseNetwork("tanh", input_size=20, num_classes=3, hidden_sizes=(16, 8))
    rebuilt = BaseNetwork.from_config(json.loads(json.dumps(net.config)))
    assert rebuilt.config == net.config
    rebuilt.load_state_dict(net.state_dict())  # same architecture: the weights fit
    x = torch.randn(4, 20)
    assert torch.equal(rebuilt(x), net(x))


@pytest.mark.parametrize("bad", ["rleu", "sigmoid", nn.GELU()])
def test_unknown_activation_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="Unknown activation.*Use one of"):
        BaseNetwork(bad)
