"""utils.plotting: the distribution and heat-map figures return quickly, share one scale and never block."""

import time

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from utils import plotting
from utils.measure import weights_by_layer
from utils.models import BaseNetwork


@pytest.fixture(autouse=True)
def no_show(monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plotting must not call plt.show()"))


def test_plot_distributions_returns_a_figure_fast():
    torch.manual_seed(0)
    start = time.perf_counter()
    fig = plotting.plot_distributions(weights_by_layer(BaseNetwork("relu")), "Weights", xlabel="weight")
    elapsed = time.perf_counter() - start
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 5
    assert "var" in fig.axes[0].get_title() and fig.axes[0].get_ylabel()
    assert elapsed < 5, f"a distribution figure of ~570k weights took {elapsed:.1f}s"
    plt.close(fig)


def test_one_x_scale_for_all_layers():
    """A vanishing layer must look narrow next to a wide one, not like the same bell curve."""
    rng = np.random.default_rng(0)
    fig = plotting.plot_distributions(
        {"wide": rng.normal(0, 1, 1000), "narrow": rng.normal(0, 0.01, 1000)}, ""
    )
    assert fig.axes[0].get_xlim() == fig.axes[1].get_xlim()
    narrow_bars = [p for p in fig.axes[1].patches if p.get_height() > 0]
    assert len(narrow_bars) <= 3, "the narrow layer should fill only the bins around 0"
    plt.close(fig)


def test_tiny_values_get_a_power_of_ten_in_the_label():
    fig = plotting.plot_distributions({"Layer 0": np.array([1e-10, -2e-10])}, "", xlabel="gradient")
    assert "10^{-10}" in fig.axes[0].get_xlabel()
    plt.close(fig)


def test_constant_values_plot():
    fig = plotting.plot_distributions({"Layer 0": np.full(1000, 0.005, dtype=np.float32)}, "Constant")
    assert fig.axes[0].get_title().endswith("var 0")
    assert sum(p.get_height() for p in fig.axes[0].patches) == pytest.approx(1.0)
    plt.close(fig)


def test_plot_heatmaps_draws_constant_and_varying_matrices():
    fig = plotting.plot_heatmaps({"one value": np.full((4, 5), 0.005), "noise": np.eye(3)}, "t", "x", "y")
    heatmaps = [ax for ax in fig.axes if ax.get_images()]
    assert len(heatmaps) == 2 and heatmaps[0].get_ylabel() == "y"
    plt.close(fig)
