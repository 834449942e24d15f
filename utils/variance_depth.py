"""Activation variance against depth: the one figure that summarises notebooks 02-04 (utils.sliders
redraws it live).

Five layers hide what an initialization does; thirty or fifty make it unmistakable, because a scheme
that multiplies the variance by a factor q per layer gives q**depth, a straight line on a log axis
(q > 1 explodes, q < 1 vanishes, q = 1 is flat). Everything here runs under no_grad on a few hundred
inputs, so a slider can redraw it live.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

from utils import course_seed
from utils.measure import activations_by_layer, variances
from utils.models import BaseNetwork

MARKERS = "osD^v"  # curves that coincide (equal variance and Xavier on square layers) stay visible


def deep_network(act_fn, depth: int, width: int = 256, input_size: int = 784) -> BaseNetwork:
    """The course network with `depth` hidden layers of `width` units (depth + 1 linear layers)."""
    if depth < 1 or width < 1:
        raise ValueError(f"depth and width must be positive integers, got depth={depth}, width={width}.")
    return BaseNetwork(act_fn, input_size=input_size, hidden_sizes=(width,) * depth)


def variance_by_depth(
    init_fn, act_fn, imgs: torch.Tensor, depth: int = 30, width: int = 256, seed: int = 0
) -> np.ndarray:
    """Variance of the output of every linear layer (before its activation) of a freshly initialized
    deep network; `init_fn(model)` initializes it. Seeded, so a redraw shows the same network."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small matrices: one thread is as fast, and immune to busy neighbours
    try:
        torch.manual_seed(course_seed(seed))
        model = deep_network(act_fn, depth, width, input_size=imgs[0].numel())
        init_fn(model)
        return np.array(list(variances(activations_by_layer(model, imgs)).values()))
    finally:
        torch.set_num_threads(threads)


def plot_variance_vs_depth(
    panels: dict[str, dict[str, np.ndarray]],
    title: str = "",
    ylabel: str = "activation variance",
    goal: float | None = 1.0,
) -> plt.Figure:
    """One panel per entry of `panels` ({panel title: {curve label: variances}}), log y axis,
    a dashed line at `goal` (variance 1 for activations; None: no line), one shared legend below the
    panels. Each panel keeps its own y range: a shared one would squash a panel whose curves all stay
    within a few decades."""
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 5.5), squeeze=False)
    for ax, (panel, curves) in zip(axes[0], panels.items(), strict=True):
        for i, (label, var) in enumerate(curves.items()):
            ax.plot(
                np.arange(1, len(var) + 1),
                var,
                marker=MARKERS[i % len(MARKERS)],
                markersize=6,
                linewidth=2.5,
                color=f"C{i}",
                label=label,
            )
        if goal is not None:
            ax.axhline(goal, color="black", linestyle="--", linewidth=1.5)
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.set_title(panel, fontsize=18)
        ax.set_xlabel("linear layer", fontsize=15)
        ax.set_ylabel(ylabel, fontsize=15)
        ax.tick_params(labelsize=13)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=min(len(labels), 5),
        fontsize=14,
        bbox_to_anchor=(0.5, -0.02),
        frameon=False,
    )
    if title:
        fig.suptitle(title, fontsize=20)
    # Fixed margins instead of tight_layout, whose extra draw pass would double the time of a slider's redraw.
    fig.subplots_adjust(
        left=1.25 / fig.get_figwidth(),
        right=1 - 0.3 / fig.get_figwidth(),
        bottom=0.27,
        top=0.82 if title else 0.9,
        wspace=0.3,
    )
    return fig


def plot_curves_vs_depth(
    panels: dict[str, dict[str, tuple]], ylabels: list[str], title: str = "", ncol: int = 4
) -> plt.Figure:
    """Like plot_variance_vs_depth, for curves that are not one point per layer (a residual block spans
    two linear layers): `panels` is {panel title: {curve label: (layer indices, values)}}, one y label
    per panel, log y axis, dashed line at 1, one shared legend below."""
    fig, axes = plt.subplots(1, len(panels), figsize=(7.5 * len(panels), 6), squeeze=False)
    for ax, ylabel, (panel, curves) in zip(axes[0], ylabels, panels.items(), strict=True):
        for i, (label, (layers, values)) in enumerate(curves.items()):
            ax.plot(
                layers,
                values,
                marker=MARKERS[i % len(MARKERS)],
                markersize=5,
                linewidth=2.5,
                color=f"C{i}",
                label=label,
            )
        ax.axhline(1.0, color="black", linestyle="--", linewidth=1.5, zorder=1)
        ax.set_yscale("log")
        values = np.concatenate([np.asarray(v, dtype=float) for _, v in curves.values()] + [np.ones(1)])
        low, high = values[values > 0].min(), values.max()
        if high / low < 100:  # a narrow range: show whole decades, not tick labels like 9.9996e-1
            ax.set_ylim(low / 3, high * 3)
        ax.set_title(panel, fontsize=18)
        ax.set_xlabel("linear layer", fontsize=15)
        ax.set_ylabel(ylabel, fontsize=15)
        ax.tick_params(labelsize=13)
    handles, labels = axes[0][0].get_legend_handles_labels()
    rows = -(-len(labels) // ncol)
    fig.legend(
        handles, labels, loc="lower center", ncol=ncol, fontsize=14, bbox_to_anchor=(0.5, 0), frameon=False
    )
    if title:
        fig.suptitle(title, fontsize=20)
    fig.tight_layout(rect=(0, 0.06 + 0.05 * rows, 1, 1))
    return fig
