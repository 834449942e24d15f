"""Figures everyone can read: no two colours of one axes that a deuteranope (about one man in twelve has
a red-green deficiency) cannot tell apart, and every optimizer drawn the same way across the course."""

import itertools
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgb

from utils.plotting import OPTIMIZER_COLORS, OPTIMIZER_STYLES, PALETTE, optimizer_style, set_course_style

# Machado, Oliveira & Fernandes (2009), deuteranopia at severity 1, on linear RGB.
DEUTERANOPIA = np.array(
    [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
)
MIN_DELTA_E = 12  # CIE76 distance: well above the ~2.3 just-noticeable difference, for thin lines


def _linear(rgb):
    rgb = np.asarray(rgb)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb):
    xyz = (
        np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear_rgb
    )
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def seen_by_deuteranope(color):
    return _lab(np.clip(DEUTERANOPIA @ _linear(to_rgb(color)), 0, 1))


def confusable_pairs(colors) -> list[tuple]:
    """Pairs of distinct colours closer than MIN_DELTA_E once simulated for a deuteranope."""
    distinct = list(dict.fromkeys(to_rgb(c) for c in colors))
    return [
        (a, b)
        for a, b in itertools.combinations(distinct, 2)
        if np.linalg.norm(seen_by_deuteranope(a) - seen_by_deuteranope(b)) < MIN_DELTA_E
    ]


def line_colors(ax) -> list:
    return [
        line.get_color()
        for line in ax.get_lines()
        if line.get_label() and not line.get_label().startswith("_")
    ]


def test_the_check_catches_a_red_green_pair():
    assert confusable_pairs(["#d62728", "#2ca02c"])  # matplotlib's default C3/C2: the classic failure
    assert not confusable_pairs(["#0173b2", "#de8f05"])


def test_the_course_palette_has_no_confusable_pair_among_optimizers():
    assert confusable_pairs(OPTIMIZER_COLORS.values()) == []


def test_the_style_sets_the_colour_blind_cycle():
    set_course_style()
    assert [to_rgb(c) for c in plt.rcParams["axes.prop_cycle"].by_key()["color"]] == [
        to_rgb(c) for c in PALETTE
    ]


def test_every_optimizer_differs_by_line_style_and_marker_too():
    assert len({str(s["linestyle"]) for s in OPTIMIZER_STYLES.values()}) == len(OPTIMIZER_STYLES)
    assert len({s["marker"] for s in OPTIMIZER_STYLES.values()}) == len(OPTIMIZER_STYLES)
    assert set(OPTIMIZER_STYLES) == set(OPTIMIZER_COLORS)


@pytest.mark.parametrize(
    "names", [("SGD", "SGDMomentum", "Adam"), ("Adam", "AdamW", "Muon"), tuple(OPTIMIZER_COLORS)]
)
def test_a_rendered_comparison_figure_passes(names):
    set_course_style()
    fig, ax = plt.subplots()
    for i, name in enumerate(names):
        ax.plot(np.arange(10), np.arange(10) * (i + 1), **optimizer_style(name, markevery=3))
    assert confusable_pairs(line_colors(ax)) == []
    plt.close(fig)


def shapes_shared(ax) -> list[tuple]:
    """Labelled lines of one axes that share line style and marker: told apart by colour alone."""
    lines = [line for line in ax.get_lines() if line.get_label() and not line.get_label().startswith("_")]
    shape = {line.get_label(): (str(line.get_linestyle()), str(line.get_marker())) for line in lines}
    return [(a, b) for a, b in itertools.combinations(shape, 2) if shape[a] == shape[b]]


def assert_readable(fig):
    for ax in fig.axes:
        assert confusable_pairs(line_colors(ax)) == [], f"confusable colours in {ax.get_title()!r}"
        assert shapes_shared(ax) == [], f"lines told apart by colour alone in {ax.get_title()!r}"
    plt.close(fig)


def test_the_checks_catch_a_figure_that_relies_on_red_and_green():
    fig, ax = plt.subplots()
    ax.plot([0, 1], color="#d62728", label="a")
    ax.plot([1, 0], color="#2ca02c", label="b")
    assert confusable_pairs(line_colors(ax)) and shapes_shared(ax) == [("a", "b")]
    plt.close(fig)


def test_variance_vs_depth_figures_are_readable():
    from utils.variance_depth import plot_curves_vs_depth, plot_variance_vs_depth

    set_course_style()
    curves = {name: np.geomspace(1, 10.0**k, 31) for k, name in enumerate(["a", "b", "c", "d", "e"], -2)}
    assert_readable(plot_variance_vs_depth({"tanh": curves, "ReLU": curves}))
    layers = np.arange(1, 11)
    stepped = {name: (layers, np.full(10, 2.0**k)) for k, name in enumerate(["x", "y", "z", "w"])}
    assert_readable(plot_curves_vs_depth({"act": stepped, "grad": stepped}, ["variance", "variance"]))


def test_trajectory_figures_of_07_and_08_are_readable():
    """What the sliders of 07 and 08 redraw: three optimizers, or one with a schedule beside another."""
    from utils.plotting import plot_trajectories

    set_course_style()
    w = np.linspace(-2, 2, 20)
    grid = (*np.meshgrid(w, w, indexing="ij"), np.add.outer(w**2, w**2))
    path = np.column_stack([np.linspace(1, 0, 11), np.linspace(1, -1, 11), np.linspace(2, 0, 11)])
    assert_readable(plot_trajectories(grid, {"SGD": path, "Adam": path * 0.9, "SGDMomentum": path * 0.8}))
    assert_readable(plot_trajectories(grid, {"SGDMomentum": path, "SGD, lr 10 x 0.97^t": path * 0.5}))


HARD_CODED = re.compile(
    r"""(?:color|colors|mec|mfc|markeredgecolor|markerfacecolor)\s*=\s*["'](?!(?:black|k|grey|gray|dimgrey|white|w|none|0\.\d+)["'])"""
    r"""|["'](?:tab:\w+|#[0-9a-fA-F]{6}|C\d)["']"""
)


def test_the_notebooks_take_their_colours_from_the_palette():
    """No hard-coded colour in a twin but black, grey or white (references); the rest comes from
    PALETTE, OPTIMIZER_COLORS or optimizer_style, so a palette change reaches every figure."""
    twins = sorted((Path(__file__).resolve().parent.parent / "notebooks" / "text").glob("[0-9][0-9]_*.py"))
    found = [
        f"{twin.name}:{n}: {line.strip()}"
        for twin in twins
        for n, line in enumerate(twin.read_text(encoding="utf-8").splitlines(), 1)
        if not line.lstrip().startswith("#") and HARD_CODED.search(line)
    ]
    assert found == [], "hard-coded colours (use utils.plotting's PALETTE / OPTIMIZER_COLORS):\n" + "\n".join(
        found
    )
