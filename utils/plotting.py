"""Figures of the course: per-layer distributions of weights, gradients and activations.

The figures are meant to be projected in a lecture hall, so fonts are large and every panel carries
its number (the variance) in its title. Functions return the Figure and never call plt.show(): in a
notebook the inline backend displays it, in a script or a test nothing blocks.
"""

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch
from torch import nn

# One colour per optimizer for the whole course (curves in 06, trajectories in 07-08, exercises).
OPTIMIZER_COLORS = {"SGD": "#1f77b4", "SGDMomentum": "#ff7f0e", "Adam": "#2ca02c"}
KDE_SAMPLE = 5_000  # a kde over 400k weights takes seconds; 5k points draw the same curve


def set_course_style() -> None:
    """Large fonts and a clean grid: readable from the back of a lecture hall."""
    sns.set_theme(style="whitegrid", context="talk", font_scale=0.9)
    plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 100, "axes.titleweight": "bold"})


def _linear_layers(model: nn.Module) -> dict[str, nn.Linear]:
    """The network's linear layers, named by their index in `model.layers` ("Layer 0", "Layer 2"...)."""
    return {f"Layer {i}": m for i, m in enumerate(model.layers) if isinstance(m, nn.Linear)}


def weights_by_layer(model: nn.Module) -> dict[str, np.ndarray]:
    """Every linear layer's weight matrix, flattened."""
    return {name: m.weight.detach().cpu().flatten().numpy() for name, m in _linear_layers(model).items()}


def gradients_by_layer(model: nn.Module, imgs: torch.Tensor, labels: torch.Tensor) -> dict[str, np.ndarray]:
    """Gradients of the cross-entropy loss on one batch w.r.t. every linear layer's weights."""
    model.zero_grad()
    nn.functional.cross_entropy(model(imgs), labels).backward()
    grads = {name: m.weight.grad.detach().cpu().flatten().numpy() for name, m in _linear_layers(model).items()}
    model.zero_grad()
    return grads


@torch.no_grad()
def activations_by_layer(model: nn.Module, imgs: torch.Tensor) -> dict[str, np.ndarray]:
    """Outputs of every linear layer (before its activation function) for one batch."""
    x = imgs.flatten(start_dim=1)
    outputs = {}
    for i, layer in enumerate(model.layers):
        x = layer(x)
        if isinstance(layer, nn.Linear):
            outputs[f"Layer {i}"] = x.cpu().flatten().numpy()
    return outputs


def variances(values: dict[str, np.ndarray]) -> dict[str, float]:
    """Variance of each layer's values (float64, so tiny variances keep their digits)."""
    return {name: float(np.var(v, dtype=np.float64)) for name, v in values.items()}


def print_variances(values: dict[str, np.ndarray], what: str) -> None:
    """One line per layer: the numbers the course's story is told with."""
    for name, var in variances(values).items():
        print(f"{what} variance, {name}: {var:.3g}")


def plot_distributions(values: dict[str, np.ndarray], title: str, color: str = "C0", xlabel: str = "") -> plt.Figure:
    """One histogram (density, 50 bins) per layer, with a kde on a subsample, variance in each title."""
    fig, axes = plt.subplots(1, len(values), figsize=(3.6 * len(values), 3.6), squeeze=False)
    rng = np.random.default_rng(0)
    for ax, (name, v) in zip(axes[0], values.items()):
        sns.histplot(v, bins=50, stat="density", color=color, alpha=0.6, edgecolor=None, ax=ax)
        if np.ptp(v) > 0:
            sample = rng.choice(v, size=min(KDE_SAMPLE, v.size), replace=False)
            sns.kdeplot(sample, color=color, linewidth=2, ax=ax, warn_singular=False)
        ax.set_title(f"{name}\nvar {np.var(v, dtype=np.float64):.3g}", fontsize=14)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("")
        ax.tick_params(labelsize=11)
    fig.suptitle(title, fontsize=18, y=1.02)
    fig.tight_layout()
    return fig
