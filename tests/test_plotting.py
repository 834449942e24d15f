"""utils.plotting: the distribution diagnostics return figures quickly and never block."""

import time

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from utils import plotting
from utils.models import BaseNetwork


@pytest.fixture
def net_and_batch():
    torch.manual_seed(0)
    return BaseNetwork("relu"), torch.randn(1024, 1, 28, 28), torch.randint(0, 10, (1024,))


def test_collectors_cover_every_linear_layer(net_and_batch):
    net, x, y = net_and_batch
    names = [f"Layer {i}" for i in (0, 2, 4, 6, 8)]
    weights = plotting.weights_by_layer(net)
    grads = plotting.gradients_by_layer(net, x, y)
    acts = plotting.activations_by_layer(net, x)
    assert list(weights) == list(grads) == list(acts) == names
    assert weights["Layer 0"].size == 784 * 512 and acts["Layer 8"].size == 1024 * 10
    assert all(p.grad is None or not p.grad.any() for p in net.parameters()), "gradients are reset afterwards"
    assert plotting.variances(weights)["Layer 0"] == pytest.approx(np.var(weights["Layer 0"]), rel=1e-6)


def test_plot_distributions_returns_a_figure_fast_and_does_not_show(net_and_batch, monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plotting must not call plt.show()"))
    net, x, _ = net_and_batch
    start = time.perf_counter()
    fig = plotting.plot_distributions(plotting.weights_by_layer(net), "Weights", xlabel="weight")
    elapsed = time.perf_counter() - start
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 5
    assert "var" in fig.axes[0].get_title()
    assert elapsed < 5, f"a distribution figure of ~570k weights took {elapsed:.1f}s"
    plt.close(fig)


def test_constant_values_plot_without_kde_error():
    fig = plotting.plot_distributions({"Layer 0": np.full(1000, 0.005, dtype=np.float32)}, "Constant")
    assert fig.axes[0].get_title().endswith("var 0")
    plt.close(fig)


def test_print_variances(capsys):
    plotting.print_variances({"Layer 0": np.array([1.0, -1.0])}, "Weight")
    assert capsys.readouterr().out == "Weight variance, Layer 0: 1\n"
