"""utils.depth: the variance-against-depth curves and the debounced sliders that redraw them."""

import asyncio

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from utils import depth
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


class FakeHandle:
    def __init__(self):
        self.updates = 0

    def update(self, _obj):
        self.updates += 1


@pytest.fixture
def shown(monkeypatch):
    handle, widgets_shown = FakeHandle(), []

    def fake_display(obj, display_id=False):
        if display_id:
            return handle
        widgets_shown.append(obj)

    monkeypatch.setattr(depth, "display", fake_display)
    return handle, widgets_shown


def counting_figure(calls):
    def make_figure(std, layers):
        calls.append((std, layers))
        return plt.figure(figsize=(2, 2))

    return make_figure


def test_sliders_redraw_on_release_with_wide_tracks(shown):
    std, layers = depth.log_slider("std", 0.1, -2, 0), depth.int_slider("layers", 30, 5, 50, 5)
    for slider in (std, layers):
        assert slider.continuous_update is False and slider.layout.width == "60%"
    calls = []
    depth.live_figure(counting_figure(calls), std=std, layers=layers)
    assert calls == [(0.1, 30)], "the default figure is drawn once, as an ordinary output"
    layers.value = 40  # no event loop running: redraws at once
    assert calls[-1] == (0.1, 40) and shown[0].updates == 1


def test_a_burst_of_changes_gives_one_redraw(shown):
    handle, _ = shown
    layers = depth.int_slider("layers", 30, 5, 50, 5)
    calls = []

    async def burst():
        depth.live_figure(counting_figure(calls), std=depth.log_slider("std", 0.1, -2, 0), layers=layers)
        for value in (35, 40, 45, 50):  # arrow key held down
            layers.value = value
        await asyncio.sleep(depth.DEBOUNCE_S * 2)

    asyncio.run(burst())
    assert calls == [(0.1, 30), (0.1, 50)] and handle.updates == 1
    plt.close("all")


def test_in_a_real_kernel_a_burst_of_changes_redraws_once():
    """The kernel's own event loop runs the debounce timer: three quick changes, one redraw, last value."""
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    cells = [
        "from utils.depth import int_slider, live_figure, log_slider\n"
        "import matplotlib.pyplot as plt\n"
        "calls = []\n"
        "def make(std, layers):\n"
        "    calls.append((std, layers))\n"
        "    return plt.figure(figsize=(2, 2))\n"
        "layers = int_slider('layers', 30, 5, 50, 5)\n"
        "live_figure(make, std=log_slider('std', 0.1, -2, 0), layers=layers)",
        "for value in (35, 40, 45):\n    layers.value = value\nprint(calls)",
        "import asyncio\nawait asyncio.sleep(3 * DEBOUNCE_S)\nprint(calls)".replace(
            "DEBOUNCE_S", str(depth.DEBOUNCE_S)
        ),
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    assert "image/png" in nb.cells[0].outputs[0]["data"], "the default figure is an ordinary PNG output"
    assert nb.cells[1].outputs[0]["text"].strip() == "[(0.1, 30)]", "no redraw while the changes keep coming"
    assert nb.cells[2].outputs[0]["text"].strip() == "[(0.1, 30), (0.1, 45)]"
