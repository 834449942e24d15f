"""Figures of the course: per-layer distributions of weights, gradients and activations, heat maps of
weight and activation matrices, and loss surfaces with optimizer trajectories on them.

The figures are meant to be projected in a lecture hall, so fonts are large and every panel carries
its number (the variance) in its title. Functions return the Figure and never call plt.show(): in a
notebook the inline backend displays it, in a script or a test nothing blocks. The numbers themselves
come from utils.measure; this module only draws.
"""

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib import patheffects
from matplotlib.colors import ListedColormap

# The course's palette: seaborn's "colorblind" (Okabe-Ito-like) cycle, set once in set_course_style, so
# no figure asks a reader to tell red from green. C0..C9 in any notebook mean these colours.
PALETTE = sns.color_palette("colorblind").as_hex()
# One colour, line style and marker per optimizer (or scheme) for the whole course: curves in 06, paths in
# 07-08, 11-15. Two lines compared always differ by style as well as colour (colour is never the only cue).
OPTIMIZER_COLORS = {
    "SGD": PALETTE[0],  # blue
    "SGDMomentum": PALETTE[1],  # orange
    "Adam": PALETTE[2],  # bluish green
    "SGDNesterov": PALETTE[9],  # sky blue
    "Adagrad": PALETTE[3],  # vermillion
    "RMSprop": PALETTE[6],  # pink
    "AdamW": PALETTE[5],  # brown
    "Muon": PALETTE[4],  # purple
}
OPTIMIZER_STYLES = {
    "SGD": {"linestyle": "-", "marker": "o"},
    "SGDMomentum": {"linestyle": "--", "marker": "s"},
    "Adam": {"linestyle": "-.", "marker": "^"},
    "SGDNesterov": {"linestyle": ":", "marker": "D"},
    "Adagrad": {"linestyle": (0, (5, 1, 1, 1)), "marker": "v"},
    "RMSprop": {"linestyle": (0, (3, 1, 1, 1, 1, 1)), "marker": "P"},
    "AdamW": {"linestyle": (0, (1, 1)), "marker": "X"},
    "Muon": {"linestyle": (0, (6, 2)), "marker": "*"},
}


def optimizer_style(name: str, markevery: int | None = None, label: str | None = None) -> dict:
    """Keyword arguments for ax.plot that draw `name`'s line in its colour, line style and marker (with
    markevery) and label it `label` (default: the name)."""
    style = {"color": OPTIMIZER_COLORS[name], **OPTIMIZER_STYLES[name], "label": label or name}
    if markevery is None:
        style.pop("marker")
    else:
        style["markevery"] = markevery
    return style


# Lines that are not optimizers (conditions, schemes) take PALETTE[i] and LINESTYLES[i]; the
# quantities of notebooks 02-04 keep one colour each: weights, activations and gradients.
LINESTYLES = ("-", "--", "-.", ":", (0, (8, 2, 1, 2, 1, 2)), (0, (1, 1)))
QUANTITY_COLORS = {"weight": PALETTE[2], "activation": PALETTE[1], "gradient": PALETTE[0]}

BINS = 60


def set_course_style() -> None:
    """Large fonts and a clean grid: readable from the back of a lecture hall."""
    sns.set_theme(style="whitegrid", context="talk", font_scale=0.9, palette=PALETTE)
    plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 100, "axes.titleweight": "bold"})


def _power_of_ten(peak: float) -> int:
    """The exponent that brings tiny or huge values (|v| < 1e-3 or >= 1e4) to a few-digit axis; 0 otherwise.

    Left alone, matplotlib writes such axes with an offset text ("1e-10" beside the x label) that
    collides with the labels and titles of a row of small panels.
    """
    if peak == 0.0 or 1e-3 <= peak < 1e4:
        return 0
    return int(np.floor(np.log10(peak)))


def plot_distributions(
    values: dict[str, np.ndarray], title: str, color: str | None = None, xlabel: str = ""
) -> plt.Figure:
    """One histogram per layer, all on the same bins (one x scale for the whole figure), variance in
    each title.

    The common scale is the point: a layer whose values vanish shows as a spike at 0 beside a wide one,
    a layer that explodes spreads over the whole axis. The y axis is the share of the layer's values
    in each bin, so panels compare directly. Plain histograms, no kde: a kde would smear bounded
    (uniform) or constant values beyond where they are. Tiny or huge values are drawn in units of a
    power of ten named in the x label; the titles give the variances of the original values. The colour
    is the quantity's (QUANTITY_COLORS, by xlabel) unless given.
    """
    color = color or QUANTITY_COLORS.get(xlabel, PALETTE[0])
    peak = max((float(np.max(np.abs(v))) for v in values.values() if v.size), default=0.0)
    exponent = _power_of_ten(peak)
    scale = 10.0**exponent
    edge = peak / scale if peak > 0 else 1.0
    bins = np.linspace(-edge, edge, BINS + 1)
    fig, axes = plt.subplots(1, len(values), figsize=(3.6 * len(values), 3.8), squeeze=False, sharex=True)
    for ax, (name, v) in zip(axes[0], values.items(), strict=True):
        shown = np.clip(v / scale, -edge, edge)
        ax.hist(
            shown,
            bins=bins,
            weights=np.full(shown.size, 1 / max(shown.size, 1)),
            color=color,
            alpha=0.8,
            linewidth=0,
        )
        ax.set_title(f"{name}\nvar {np.var(v, dtype=np.float64):.3g}", fontsize=14)
        ax.set_xlabel(f"{xlabel} ($\\times 10^{{{exponent}}}$)".strip() if exponent else xlabel, fontsize=13)
        ax.tick_params(labelsize=11)
        ax.set_ylim(0, None)
    axes[0][0].set_ylabel("share of values", fontsize=13)
    fig.suptitle(title, fontsize=18, y=1.02)
    fig.tight_layout()
    return fig


def plot_heatmaps(matrices: dict[str, np.ndarray], title: str, xlabel: str, ylabel: str) -> plt.Figure:
    """One heat map per matrix (rows x columns), each with its own colour bar.

    Made for what a histogram cannot show: which entries are equal. Identical rows draw as vertical
    stripes, a matrix of one value as a single flat colour (its colour bar then spans one value).
    """
    fig, axes = plt.subplots(1, len(matrices), figsize=(6.5 * len(matrices), 5), squeeze=False)
    for ax, (name, m) in zip(axes[0], matrices.items(), strict=True):
        m = np.asarray(m)
        lo, hi = float(m.min()), float(m.max())
        pad = 1e-12 + 1e-6 * max(abs(lo), abs(hi))  # a constant matrix still gets a valid colour range
        image = ax.imshow(
            m, aspect="auto", cmap="viridis", vmin=lo - pad, vmax=hi + pad, interpolation="nearest"
        )
        bar = fig.colorbar(image, ax=ax, pad=0.02)
        bar.ax.tick_params(labelsize=11)
        bar.formatter.set_useOffset(False)
        ax.set_title(name, fontsize=15)
        ax.set_xlabel(xlabel, fontsize=14)
        ax.set_ylabel(ylabel, fontsize=14)
        ax.grid(False)
        ax.tick_params(labelsize=11)
    fig.suptitle(title, fontsize=18, y=1.02)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------
# Loss surfaces and optimizer trajectories (notebooks 07-08)
# ---------------------------------------------------------------------------------------------------
# Light greys for the heat map, darker = lower loss: the coloured trajectories stay the loudest thing.
# Paths that are not an optimizer (a variant of one) take the first of these its figure does not use yet:
# far from orange and blue, and legible on the grey map.
TRAJECTORY_EXTRA_COLORS = [PALETTE[i] for i in (4, 9, 5, 6)]
SURFACE_BACKGROUND = ListedColormap(plt.cm.Greys(np.linspace(0.75, 0.03, 256)))


def plot_surface_3d(
    grid, title: str = "", zlabel: str = "loss", elev: float = 30, azim: float = -60
) -> plt.Figure:
    """The loss as a height over (w1, w2): the shape at a glance (ravine, pits, plateaus)."""
    w1, w2, z = grid
    fig = plt.figure(figsize=(10, 7.5))
    ax = fig.add_subplot(projection="3d")
    ax.plot_surface(w1, w2, z, cmap="viridis", rstride=2, cstride=2, linewidth=0, antialiased=True)
    ax.view_init(elev=elev, azim=azim)
    ax.set_xlabel("$w_1$", labelpad=12)
    ax.set_ylabel("$w_2$", labelpad=12)
    ax.set_zlabel(zlabel, labelpad=18)
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_major_locator(plt.MaxNLocator(5))
    ax.set_title(title, fontsize=18)
    fig.tight_layout()
    return fig


def _trajectory_label(name: str, path: np.ndarray) -> str:
    w1, w2, loss = (round(float(v), 2) + 0.0 for v in path[-1])  # + 0.0 turns -0.0 into 0.0
    return f"{name}: ends at ({w1:.2f}, {w2:.2f}), loss {loss:.2f}"


def plot_trajectories(grid, paths: dict[str, np.ndarray], title: str = "", ax=None) -> plt.Figure:
    """Heat map of the loss with each optimizer's path (w1, w2 per step) drawn on top.

    paths: name -> array [steps, 3] of (w1, w2, loss) as returned by train_curve; names found in
    OPTIMIZER_COLORS keep the course's colour and marker. The start is a black circle, each end a large cross.
    The first path is drawn on top (SGD's short steps would vanish under the others' longer ones).
    The view stays on the grid: a path that leaves it says where it ended in the legend.
    """
    w1, w2, z = grid
    fig, ax = plt.subplots(figsize=(11, 8)) if ax is None else (ax.figure, ax)
    mesh = ax.pcolormesh(w1, w2, z, cmap=SURFACE_BACKGROUND, shading="auto", rasterized=True)
    ax.contour(w1, w2, z, levels=12, colors="0.45", linewidths=0.8)
    fig.colorbar(mesh, ax=ax, label="loss", pad=0.02)
    outline = [patheffects.Stroke(linewidth=5, foreground="white"), patheffects.Normal()]
    used = {OPTIMIZER_COLORS[name] for name in paths if name in OPTIMIZER_COLORS}
    extras = iter([c for c in TRAJECTORY_EXTRA_COLORS if c not in used] * len(paths))
    for i, (name, path) in enumerate(paths.items()):
        color = OPTIMIZER_COLORS[name] if name in OPTIMIZER_COLORS else next(extras)
        marker = OPTIMIZER_STYLES[name]["marker"] if name in OPTIMIZER_STYLES else "hpd8"[i % 4]
        on_top = 3 + (len(paths) - i) / 100  # first path highest, all below the end markers (zorder 4)
        ax.plot(
            path[:, 0],
            path[:, 1],
            "-",
            marker=marker,  # each optimizer's own marker: colour is never the only cue
            color=color,
            markersize=6,
            linewidth=2.5,
            path_effects=outline,
            label=_trajectory_label(name, path),
            zorder=on_top,
        )
        ax.plot(*path[-1, :2], "X", color=color, markersize=18, markeredgecolor="white", zorder=4)
    for start in {tuple(path[0, :2]) for path in paths.values()}:
        ax.plot(*start, "o", color="black", markersize=14, markeredgecolor="white", zorder=5)
    ax.set_xlim(w1.min(), w1.max())
    ax.set_ylim(w2.min(), w2.max())
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")
    ax.grid(False)
    ax.set_title(title, fontsize=18)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=1, fontsize=14, frameon=False)
    fig.tight_layout()
    return fig
