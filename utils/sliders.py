"""Sliders that redraw a figure: the one slider helper of the course (notebooks 02, 04, 07, 08, 11).

    live_figure(make_figure, std=log_slider("std", 0.1, -2.5, -0.5), depth=int_slider("layers", 30, 5, 50))

shows make_figure(std=0.1, depth=30) as an ordinary PNG output, the sliders under it. The PNG is what
a notebook shows before it is run (GitHub, nbviewer, JupyterLab before Run All: stored notebooks keep
no widgets), so it must be the figure the prose describes: each slider starts on its default value
exactly (its grid is shifted to pass through it). With a kernel, releasing a slider redraws the figure in
place. The tracks of one figure are aligned (one description width) and laid out in a grid of up to
three columns under the figure, so a figure with many sliders stays on screen while they move.

For the book (no kernel) the publish command sets COURSE_FRAMES_DIR: each live_figure then also draws
frames along each slider's range (the others at their defaults) into COURSE_FRAMES_DIR/<n>/, n counting
the calls of the process, with an index.json that tools/publish.py turns into a frame player.
"""

import asyncio
import io
import json
import math
import os
from pathlib import Path

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import PIL.Image
from IPython.display import Image, display

DEBOUNCE_S = 0.3  # a burst of slider changes (arrow keys held down) gives one redraw, after the last
FRAMES_ENV = "COURSE_FRAMES_DIR"
FRAMES_PER_DEMO = 45  # frames of one live_figure, shared out among its sliders (4 to 9 each): the
FRAME_DPI = 64  # page weight of a demo stays under ~3 MB; 256-colour PNGs at a modest dpi
OUTPUT_KEY = "live_figure"  # metadata of the figure output: which call drew it (the publisher finds it)

_calls = 0  # live_figure calls in this process: numbers the frame folders in notebook order


def _aligned_start(value: float, low: float, step: float) -> float:
    """The lowest point >= low of the grid of `step` through `value`: the slider then stops on `value`."""
    if not low <= value:
        raise ValueError(f"a slider's default {value} lies below its minimum {low}")
    return value - math.floor((value - low) / step + 1e-9) * step


def _options(description: str) -> dict:
    """Redraw on release only (a redraw takes up to a second: no queue of redraws while dragging)."""
    return {"description": description, "continuous_update": False, "layout": widgets.Layout(width="100%")}


def log_slider(description: str, value: float, min_exp: float, max_exp: float, step: float = 0.05):
    """A slider over about 10**min_exp .. 10**max_exp, even steps in the exponent, stopping on `value`."""
    if value <= 0:
        raise ValueError(f"a log slider's default must be positive, got {value} for {description!r}")
    low = _aligned_start(math.log10(value), min_exp, step)
    return widgets.FloatLogSlider(
        value=value, base=10, min=low, max=max_exp, step=step, readout_format=".3g", **_options(description)
    )


def float_slider(description: str, value: float, low: float, high: float, step: float, readout_format=".2f"):
    """A slider over low .. high in steps of `step`, stopping on `value` (its grid passes through it)."""
    start = _aligned_start(value, low, step)
    return widgets.FloatSlider(
        value=value, min=start, max=high, step=step, readout_format=readout_format, **_options(description)
    )


def int_slider(description: str, value: int, low: int, high: int, step: int = 1):
    return widgets.IntSlider(value=value, min=low, max=high, step=step, **_options(description))


def _png(fig: plt.Figure, dpi: float | None = None) -> bytes:
    """The figure as PNG bytes at its inline size (or `dpi`); the figure is closed: nothing else shows it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi or fig.dpi)
    plt.close(fig)
    return buffer.getvalue()


def slider_panel(sliders: dict, columns: int | None = None) -> widgets.GridBox:
    """The sliders in a grid (1 column for up to 2 sliders, 2 for up to 4, else 3), one description width
    for all, so their tracks start and end at the same x."""
    columns = columns or (1 if len(sliders) <= 2 else 2 if len(sliders) <= 4 else 3)
    width = max(len(s.description) for s in sliders.values()) + 2
    for slider in sliders.values():
        slider.style.description_width = f"{width}ch"
    return widgets.GridBox(
        list(sliders.values()),
        layout=widgets.Layout(
            grid_template_columns=f"repeat({columns}, minmax(0, 1fr))",
            grid_gap="2px 24px",
            width="100%",
            max_width=f"{380 * columns}px",
        ),
    )


def frame_values(slider, count: int) -> list:
    """About `count` values spread over the slider's range, on its grid, its default among them."""
    if isinstance(slider, widgets.FloatLogSlider):
        exps = np.linspace(slider.min, slider.max, count)
        exps = slider.min + np.round((exps - slider.min) / slider.step) * slider.step
        values = [float(slider.base**e) for e in exps]
    else:
        raw = np.linspace(slider.min, slider.max, count)
        values = slider.min + np.round((raw - slider.min) / slider.step) * slider.step
        values = [int(v) if isinstance(slider, widgets.IntSlider) else round(float(v), 10) for v in values]
    values = [v for v in values if not math.isclose(v, slider.value, rel_tol=1e-6, abs_tol=1e-12)]
    return sorted([*values, slider.value])


def _frame_png(fig: plt.Figure) -> bytes:
    """A frame for the book: FRAME_DPI, 256 colours (a third of the bytes of a full-colour PNG)."""
    buffer = io.BytesIO()
    PIL.Image.open(io.BytesIO(_png(fig, FRAME_DPI))).convert("RGB").quantize(256).save(
        buffer, "png", optimize=True
    )
    return buffer.getvalue()


def record_frames(make_figure, sliders: dict, folder: Path) -> None:
    """Frames along each slider's range (the others at their defaults) and index.json describing them;
    the default figure is drawn once and shared by every slider."""
    folder.mkdir(parents=True, exist_ok=True)
    defaults = {name: s.value for name, s in sliders.items()}
    (folder / "default.png").write_bytes(_frame_png(make_figure(**defaults)))
    count = min(9, max(4, FRAMES_PER_DEMO // len(sliders)))
    index = []
    for i, (name, slider) in enumerate(sliders.items()):
        values = frame_values(slider, count)
        files = [
            f"s{i}_{j}.png" if value != slider.value else "default.png" for j, value in enumerate(values)
        ]
        for file, value in zip(files, values, strict=True):
            if file != "default.png":
                (folder / file).write_bytes(_frame_png(make_figure(**{**defaults, name: value})))
        floating = isinstance(slider, widgets.FloatSlider | widgets.FloatLogSlider)
        readout = slider.readout_format if floating else "d"
        index.append(
            {
                "name": name,
                "description": slider.description,
                "values": [format(v, readout) for v in values],
                "default": values.index(slider.value),
                "frames": files,
            }
        )
    (folder / "index.json").write_text(json.dumps({"sliders": index}, indent=1), encoding="utf-8")


def live_figure(make_figure, columns: int | None = None, **sliders) -> None:
    """Show make_figure(**slider values) as an ordinary figure output, then the sliders below it.

    The figure is a plain PNG output (it is what GitHub, nbviewer and the book show: the default view)
    that a slider change replaces in place. Changes are debounced: each one only restarts a short
    timer on the kernel's event loop, so a burst of changes queues no redraws and the figure follows
    the last value. Outside a running event loop (a plain script) a change redraws at once.
    """
    global _calls
    number, _calls = _calls, _calls + 1

    def current():
        return Image(_png(make_figure(**{name: slider.value for name, slider in sliders.items()})))

    handle = display(current(), metadata={OUTPUT_KEY: number}, display_id=True)
    if os.environ.get(FRAMES_ENV):
        record_frames(make_figure, sliders, Path(os.environ[FRAMES_ENV]) / str(number))
    pending = None

    def redraw():
        handle.update(current(), metadata={OUTPUT_KEY: number})

    def on_change(_change):
        nonlocal pending
        if pending is not None:
            pending.cancel()
        try:
            pending = asyncio.get_running_loop().call_later(DEBOUNCE_S, redraw)
        except RuntimeError:  # no event loop: nothing to debounce against
            pending = None
            redraw()

    for slider in sliders.values():
        slider.observe(on_change, names="value")
    display(slider_panel(sliders, columns))
