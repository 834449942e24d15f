"""utils.measure: per-layer weights, gradients, backward signals and activations of a network."""

import numpy as np
import pytest
import torch
from torch import nn

from utils import measure
from utils.models import BaseNetwork


@pytest.fixture
def net_and_batch():
    torch.manual_seed(0)
    return BaseNetwork("relu"), torch.randn(1024, 1, 28, 28), torch.randint(0, 10, (1024,))


def test_collectors_cover_every_linear_layer(net_and_batch):
    net, x, y = net_and_batch
    names = [f"Layer {i}" for i in (0, 2, 4, 6, 8)]
    weights = measure.weights_by_layer(net)
    grads = measure.gradients_by_layer(net, x, y)
    signal = measure.output_gradients_by_layer(net, x, y)
    acts = measure.activations_by_layer(net, x)
    assert list(weights) == list(grads) == list(signal) == list(acts) == names
    assert weights["Layer 0"].size == 784 * 512 and acts["Layer 8"].size == 1024 * 10
    assert signal["Layer 8"].size == 1024 * 10 and grads["Layer 8"].size == 10 * 128
    assert all(p.grad is None for p in net.parameters()), "gradients are reset afterwards"
    assert not any(m._forward_hooks for m in net.modules()), "hooks are removed afterwards"


def test_activations_match_a_manual_forward_pass(net_and_batch):
    net, x, _ = net_and_batch
    with torch.no_grad():
        first = net.layers[0](x.flatten(start_dim=1))
        logits = net(x)
    acts = measure.activations_by_layer(net, x)
    np.testing.assert_allclose(acts["Layer 0"], first.flatten().numpy())
    np.testing.assert_allclose(acts["Layer 8"], logits.flatten().numpy())


def test_output_gradient_of_the_last_layer_is_softmax_minus_onehot(net_and_batch):
    net, x, y = net_and_batch
    signal = measure.output_gradients_by_layer(net, x, y)["Layer 8"].reshape(len(x), 10)
    with torch.no_grad():
        expected = (net(x).softmax(dim=1) - nn.functional.one_hot(y, 10)) / len(x)
    np.testing.assert_allclose(signal, expected.numpy(), atol=1e-7)


def test_weight_gradient_is_signal_times_input(net_and_batch):
    """dL/dW = (dL/dy)^T x: the weight gradient and the backward signal measure the same backward pass."""
    net, x, y = net_and_batch
    signal = measure.output_gradients_by_layer(net, x, y)["Layer 8"].reshape(len(x), 10)
    with torch.no_grad():
        inputs = net.layers[:-1](x.flatten(start_dim=1))
    expected = torch.from_numpy(signal).T @ inputs
    np.testing.assert_allclose(
        measure.gradients_by_layer(net, x, y)["Layer 8"], expected.flatten().numpy(), rtol=1e-4, atol=1e-8
    )


def test_names_follow_the_container_index_for_any_model():
    model = nn.Sequential(nn.Linear(4, 3), nn.GELU(), nn.Linear(3, 2))
    assert list(measure.weights_by_layer(model)) == ["Layer 0", "Layer 2"]


def test_variances_and_print_variances(capsys):
    values = {"Layer 0": np.array([1.0, -1.0], dtype=np.float32)}
    assert measure.variances(values) == {"Layer 0": 1.0}
    measure.print_variances(values, "Weight")
    assert capsys.readouterr().out == "Weight variance, Layer 0: 1\n"


def test_with_widths_names_each_layer_by_its_widths():
    net = BaseNetwork("identity", hidden_sizes=[6, 4])
    named = measure.with_widths(measure.weights_by_layer(net), net)
    assert list(named) == ["Layer 0 (784 → 6)", "Layer 2 (6 → 4)", "Layer 4 (4 → 10)"]
    assert named["Layer 2 (6 → 4)"].size == 24
