"""utils.sliders: the figure is an ordinary output drawn at the sliders' defaults, changes are debounced,
tracks are aligned, and the frames for the book cover each slider's range."""

import asyncio
import json
import math

import matplotlib.pyplot as plt
import pytest

from utils import sliders


class FakeHandle:
    def __init__(self):
        self.updates = 0

    def update(self, _obj, metadata=None):
        self.updates += 1


@pytest.fixture
def shown(monkeypatch):
    handle, widgets_shown = FakeHandle(), []

    def fake_display(obj, metadata=None, display_id=False):
        if display_id:
            return handle
        widgets_shown.append(obj)

    monkeypatch.setattr(sliders, "display", fake_display)
    return handle, widgets_shown


def counting_figure(calls):
    def make_figure(std, layers):
        calls.append((std, layers))
        return plt.figure(figsize=(2, 2))

    return make_figure


def test_sliders_redraw_on_release_with_aligned_tracks(shown):
    std, layers = sliders.log_slider("std", 0.1, -2, 0), sliders.int_slider("hidden layers", 30, 5, 50, 5)
    calls = []
    sliders.live_figure(counting_figure(calls), std=std, layers=layers)
    assert calls == [(0.1, 30)], "the default figure is drawn once, as an ordinary output"
    layers.value = 40  # no event loop running: redraws at once
    assert calls[-1] == (0.1, 40) and shown[0].updates == 1
    assert all(s.continuous_update is False for s in (std, layers))
    assert std.style.description_width == layers.style.description_width == "15ch"


def test_a_burst_of_changes_gives_one_redraw(shown):
    handle, _ = shown
    layers = sliders.int_slider("layers", 30, 5, 50, 5)
    calls = []

    async def burst():
        sliders.live_figure(counting_figure(calls), std=sliders.log_slider("std", 0.1, -2, 0), layers=layers)
        for value in (35, 40, 45, 50):  # arrow key held down
            layers.value = value
        await asyncio.sleep(sliders.DEBOUNCE_S * 2)

    asyncio.run(burst())
    assert calls == [(0.1, 30), (0.1, 50)] and handle.updates == 1
    plt.close("all")


def test_in_a_real_kernel_a_burst_of_changes_redraws_once():
    """The kernel's own event loop runs the debounce timer: three quick changes, one redraw, last value."""
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    cells = [
        "from utils.sliders import int_slider, live_figure, log_slider\n"
        "import matplotlib.pyplot as plt\n"
        "calls = []\n"
        "def make(std, layers):\n"
        "    calls.append((std, layers))\n"
        "    return plt.figure(figsize=(2, 2))\n"
        "layers = int_slider('layers', 30, 5, 50, 5)\n"
        "live_figure(make, std=log_slider('std', 0.1, -2, 0), layers=layers)",
        "for value in (35, 40, 45):\n    layers.value = value\nprint(calls)",
        "import asyncio\nawait asyncio.sleep(3 * DEBOUNCE_S)\nprint(calls)".replace(
            "DEBOUNCE_S", str(sliders.DEBOUNCE_S)
        ),
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    assert "image/png" in nb.cells[0].outputs[0]["data"], "the default figure is an ordinary PNG output"
    assert nb.cells[1].outputs[0]["text"].strip() == "[(0.1, 30)]", "no redraw while the changes keep coming"
    assert nb.cells[2].outputs[0]["text"].strip() == "[(0.1, 30), (0.1, 45)]"


@pytest.mark.parametrize(
    "slider",
    [
        sliders.float_slider("beta", 0.669427, 0, 0.99, 0.01, readout_format=".4f"),
        sliders.log_slider("eta", 10**0.5123, -1, 2.4, 0.02),
        sliders.int_slider("steps", 150, 10, 1000, 10),
    ],
)
def test_a_slider_starts_exactly_on_its_default_and_steps_from_there(slider):
    """The stored figure is drawn at the default: the slider must show that value, and its arrow keys
    must reach it again (a grid that missed it would snap the slider off the prose's value)."""
    log = isinstance(slider, sliders.widgets.FloatLogSlider)
    default = math.log10(slider.value) if log else slider.value
    assert slider.min <= default <= slider.max
    position = (default - slider.min) / slider.step
    assert abs(position - round(position)) < 1e-6


def test_a_default_below_the_range_is_refused():
    with pytest.raises(ValueError, match="below its minimum"):
        sliders.float_slider("beta", -0.5, 0, 0.99, 0.01)


def test_many_sliders_sit_in_a_grid_of_three_columns():
    many = {f"s{i}": sliders.int_slider(f"slider {i}", 1, 0, 5) for i in range(9)}
    panel = sliders.slider_panel(many)
    assert panel.layout.grid_template_columns == "repeat(3, minmax(0, 1fr))"
    assert sliders.slider_panel(dict(list(many.items())[:2])).layout.grid_template_columns.startswith(
        "repeat(1,"
    )


def test_frames_cover_each_slider_with_the_others_at_their_defaults(tmp_path, monkeypatch, shown):
    monkeypatch.setenv(sliders.FRAMES_ENV, str(tmp_path))
    calls = []
    std, layers = sliders.log_slider("std", 0.1, -2, 0), sliders.int_slider("layers", 30, 5, 50, 5)
    sliders.live_figure(counting_figure(calls), std=std, layers=layers)
    folder = next(tmp_path.iterdir())
    index = json.loads((folder / "index.json").read_text())["sliders"]
    assert [s["name"] for s in index] == ["std", "layers"]
    for entry in index:
        assert len(entry["frames"]) == len(entry["values"]) >= 5
        assert entry["frames"][entry["default"]] == "default.png", "one default frame, shared"
        assert all((folder / f).read_bytes().startswith(b"\x89PNG") for f in entry["frames"])
    assert index[1]["values"][index[1]["default"]] == "30" and index[1]["values"][0] == "5"
    assert {c[1] for c in calls if c[0] != 0.1} == {30}, "moving std keeps layers at its default"
    assert calls.count((0.1, 30)) == 2, "the default is drawn once for the output and once for the frames"
    assert {c[0] for c in calls if c[1] != 30} == {0.1}, "moving layers keeps std at its default"
