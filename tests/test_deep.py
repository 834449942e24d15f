"""utils.deep's networks and the inits of notebook 13 do what the notebook says they do."""

import math

import pytest
import torch

from utils import set_seed, torch_generator
from utils.deep import DeepMLP, stream_variances
from utils.deep_study import RECIPE, VARIANTS, load_study, stored_study
from utils.init import (
    kaiming_init,
    layer_output_variance,
    linear_layers,
    lsuv_init,
    orthogonal_init,
    scale_residual_branches,
)

IMGS = torch.randn(256, 1, 28, 28, generator=torch_generator(0))
LABELS = torch.randint(0, 10, (256,), generator=torch_generator(1))


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize(
    "kwargs, blocks", [({}, 8), ({"norm": "batch"}, 8), ({"norm": "layer"}, 8), ({"residual": True}, 4)]
)
def test_same_layers_and_stream(kwargs, blocks):
    model = DeepMLP(depth=8, width=32, **kwargs)
    assert len(linear_layers(model)) == 10 and len(model.blocks) == blocks
    layers, act, grad = stream_variances(model, IMGS, LABELS)
    assert len(layers) == len(act) == len(grad) == blocks + 1 and layers[-1] == 9
    assert model(IMGS).shape == (256, 10)


def test_bad_arguments():
    with pytest.raises(ValueError, match="even"):
        DeepMLP(depth=5, residual=True)
    with pytest.raises(ValueError, match="Unknown norm"):
        DeepMLP(depth=4, norm="group")
    with pytest.raises(ValueError, match="no residual blocks"):
        scale_residual_branches(DeepMLP(depth=4), 0.5)


def test_orthogonal_init_keeps_norms():
    model = DeepMLP(depth=4, width=64)
    orthogonal_init(model)
    w = model.blocks[0][1].weight.detach().double()
    assert torch.allclose(w @ w.T, 2 * torch.eye(64, dtype=w.dtype), atol=1e-5)  # gain sqrt(2)
    assert all(layer.bias.abs().max() == 0 for layer in linear_layers(model))


def test_lsuv_unit_variance_and_error_on_dead_layer():
    model = DeepMLP(depth=10, width=64)
    lsuv_init(model, IMGS)
    assert all(abs(layer_output_variance(model, layer, IMGS) - 1) < 0.01 for layer in linear_layers(model))
    with pytest.raises(ValueError, match="dead layer"):
        lsuv_init(DeepMLP(depth=4, width=8), torch.zeros(16, 784))


def test_zero_init_blocks_are_identity():
    model = DeepMLP(depth=10, width=64, residual=True)
    kaiming_init(model)
    scale_residual_branches(model, 0.0)
    stream = model.stream(IMGS)
    assert all(torch.equal(s, stream[0]) for s in stream)


def test_branch_scale_growth():
    """(1 + alpha^2)^L: unscaled branches explode, 1/sqrt(L) stays below e (give or take finite width)."""
    growth = {}
    for alpha in (1.0, 1 / math.sqrt(10)):
        set_seed(0)
        model = DeepMLP(depth=20, width=256, residual=True)
        kaiming_init(model)
        scale_residual_branches(model, alpha)
        _, act, _ = stream_variances(model, IMGS, LABELS)
        growth[alpha] = act[-1] / act[0]
    assert growth[1.0] > 100 and 1.3 < growth[1 / math.sqrt(10)] < 4


def test_missing_study_names_the_fixes(tmp_path):
    with pytest.raises(FileNotFoundError, match="RETRAIN = True"):
        load_study(tmp_path / "deep_training.json")


def test_committed_study_matches_the_recipe():
    study = stored_study()
    assert study is not None, "saved_models/studies/deep_training.json was not made with RECIPE"
    assert set(study["results"]) == set(VARIANTS)
    assert all(len(runs) == len(RECIPE["seeds"]) for runs in study["results"].values())
