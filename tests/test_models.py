"""utils.models: the course network's shapes, its config round trip, and its errors."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from utils.models import BaseNetwork, Identity, act_fn_by_name

SAVED_MODELS = Path(__file__).resolve().parent.parent / "saved_models"


@pytest.mark.parametrize("act_fn", sorted(act_fn_by_name))
def test_shapes_and_layer_layout(act_fn):
    net = BaseNetwork(act_fn)
    assert net(torch.randn(8, 1, 28, 28)).shape == (8, 10)
    linear = [i for i, m in enumerate(net.layers) if isinstance(m, nn.Linear)]
    assert linear == [0, 2, 4, 6, 8]
    assert [net.layers[i].out_features for i in linear] == [512, 256, 256, 128, 10]
    assert all(isinstance(net.layers[i], act_fn_by_name[act_fn]) for i in (1, 3, 5, 7))


def test_activation_given_as_module_or_class():
    assert BaseNetwork(Identity()).config["act_fn"] == "identity"
    assert BaseNetwork(nn.Tanh()).config["act_fn"] == "tanh"
    assert BaseNetwork(nn.LeakyReLU).config == BaseNetwork("leakyrelu").config
    assert BaseNetwork(nn.ReLU().eval()).config == BaseNetwork("relu").config, "train/eval is not a setting"


def test_config_round_trips_through_json():
    net = BaseNetwork("tanh", input_size=20, num_classes=3, hidden_sizes=(16, 8))
    rebuilt = BaseNetwork.from_config(json.loads(json.dumps(net.config)))
    assert rebuilt.config == net.config
    rebuilt.load_state_dict(net.state_dict())  # same architecture: the weights fit
    x = torch.randn(4, 20)
    assert torch.equal(rebuilt(x), net(x))


def test_leaky_relu_keeps_its_slope_in_every_layer_and_through_json():
    net = BaseNetwork(nn.LeakyReLU(0.3), input_size=3, num_classes=2, hidden_sizes=(4, 4))
    acts = [net.layers[i] for i in (1, 3)]
    assert [a.negative_slope for a in acts] == [0.3, 0.3]
    assert acts[0] is not acts[1], "each layer has its own module"
    assert torch.allclose(acts[0](torch.tensor([-1.0, 2.0])), torch.tensor([-0.3, 2.0]))
    assert net.config["act_kwargs"] == {"negative_slope": 0.3}
    rebuilt = BaseNetwork.from_config(json.loads(json.dumps(net.config)))
    assert [rebuilt.layers[i].negative_slope for i in (1, 3)] == [0.3, 0.3]
    rebuilt.load_state_dict(net.state_dict())
    x = torch.randn(16, 3)
    assert torch.equal(rebuilt(x), net(x))
    assert rebuilt.config == net.config


def test_default_arguments_are_not_recorded_and_others_are():
    assert "act_kwargs" not in BaseNetwork(nn.LeakyReLU(0.01)).config
    assert BaseNetwork(nn.ReLU(inplace=True)).config["act_kwargs"] == {"inplace": True}


@pytest.mark.skipif(not list(SAVED_MODELS.glob("*.config.json")), reason="no committed checkpoints")
def test_committed_configs_still_load_unchanged():
    for path in SAVED_MODELS.glob("*.config.json"):
        config = json.loads(path.read_text())
        assert BaseNetwork.from_config(config).config == config, path.name


@pytest.mark.parametrize("bad", ["rleu", "sigmoid", nn.GELU(), nn.GELU, None, 3])
def test_unknown_activation_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="Unknown activation.*Use one of"):
        BaseNetwork(bad)


def test_activation_with_settings_the_config_cannot_record_is_refused():
    act = nn.LeakyReLU(0.3)
    act.scale = 2.0  # a setting no constructor argument records
    with pytest.raises(ValueError, match=r"cannot record.*negative_slope.*LeakyReLU\(\.\.\.\)"):
        BaseNetwork(act)


class ScaledReLU(nn.ReLU):
    """A subclass is not the registered class: its behaviour could differ, so it is refused."""


@pytest.mark.parametrize(
    "act, error",
    [
        (nn.LeakyReLU(float("nan")), TypeError),
        (nn.LeakyReLU(float("inf")), TypeError),
        (ScaledReLU(), ValueError),
    ],
)
def test_activation_modules_that_cannot_be_recorded(act, error):
    with pytest.raises(error, match="finite number|Unknown activation"):
        BaseNetwork(act)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"hidden_sizes": [0]}, ValueError, r"hidden_sizes\[0\] must be positive, got 0"),
        ({"hidden_sizes": [64, -3]}, ValueError, r"hidden_sizes\[1\] must be positive, got -3"),
        ({"num_classes": 0}, ValueError, "num_classes must be positive, got 0"),
        ({"input_size": -784}, ValueError, "input_size must be positive, got -784"),
        ({"input_size": 0}, ValueError, "input_size must be positive, got 0"),
        ({"input_size": [784]}, TypeError, r"input_size must be a positive whole number, got \[784\]"),
        ({"num_classes": 10.0}, TypeError, "num_classes must be a positive whole number, got 10.0"),
        ({"num_classes": True}, TypeError, "num_classes must be a positive whole number, got True"),
        ({"hidden_sizes": 512}, TypeError, "hidden_sizes must be a list"),
        ({"hidden_sizes": "512"}, TypeError, "hidden_sizes must be a list"),
        ({"hidden_sizes": [[512]]}, TypeError, r"hidden_sizes\[0\] must be a positive whole number"),
    ],
)
def test_bad_sizes_name_the_value(kwargs, error, message):
    with pytest.raises(error, match=message):
        BaseNetwork("relu", **kwargs)


def test_sizes_of_any_integer_type_are_stored_as_json_ints():
    net = BaseNetwork(
        "relu", input_size=np.int64(20), hidden_sizes=(np.int32(8),), num_classes=torch.tensor(3).item()
    )
    assert json.loads(json.dumps(net.config))["hidden_sizes"] == [8]
    assert BaseNetwork("relu", hidden_sizes=()).config["hidden_sizes"] == [], (
        "no hidden layer: a linear classifier"
    )


GOOD = {"act_fn": "relu", "input_size": 20, "num_classes": 3, "hidden_sizes": [16, 8]}


@pytest.mark.parametrize(
    "change, error, message",
    [
        ({"dropout": 0.5}, ValueError, r"unknown key\(s\) \['dropout'\]"),
        ({"input_size": None}, TypeError, "input_size must be a positive whole number, got None"),
        ({"input_size": [20]}, TypeError, r"input_size must be a positive whole number, got \[20\]"),
        ({"hidden_sizes": 16}, TypeError, "hidden_sizes must be a list"),
        ({"hidden_sizes": [16, -8]}, ValueError, r"hidden_sizes\[1\] must be positive, got -8"),
        ({"num_classes": -3}, ValueError, "num_classes must be positive, got -3"),
        ({"act_fn": "sigmoid"}, ValueError, "Unknown activation 'sigmoid'"),
        ({"act_fn": {"name": "relu"}}, ValueError, "Unknown activation"),
        ({"act_kwargs": {"slope": 0.3}}, ValueError, "no argument 'slope'; its arguments are"),
        (
            {"act_fn": "leakyrelu", "act_kwargs": {"negative_slope": "0.3"}},
            TypeError,
            "must be a finite number",
        ),
        ({"act_fn": "relu", "act_kwargs": {"inplace": 1}}, TypeError, "inplace must be True or False"),
        ({"act_kwargs": [0.3]}, TypeError, "act_kwargs must be a JSON object"),
    ],
)
def test_bad_config_is_a_clear_error(change, error, message):
    with pytest.raises(error, match=message):
        BaseNetwork.from_config({**GOOD, **change})


def test_config_missing_a_key_or_not_a_dict():
    with pytest.raises(ValueError, match=r"missing key\(s\) \['hidden_sizes'\]"):
        BaseNetwork.from_config({k: v for k, v in GOOD.items() if k != "hidden_sizes"})
    with pytest.raises(TypeError, match="must be a JSON object"):
        BaseNetwork.from_config([GOOD])
