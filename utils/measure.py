"""Per-layer measurements of a network: its weights, its weight gradients and its activations.

Notebooks 02-04 tell their story with these numbers (how the variance changes from layer to layer);
utils.plotting draws them and utils.variance_depth repeats them over deep networks. Every function returns a
dict {"Layer i": flat numpy array}, named by the layer's index in its container (for the course's
BaseNetwork: "Layer 0", "Layer 2", ... "Layer 8", the positions of its nn.Linear in `model.layers`).
"""

import numpy as np
import torch
from torch import nn

from utils.init import linear_layers


def named_linear_layers(model: nn.Module) -> dict[str, nn.Linear]:
    """The model's linear layers in forward order, named "Layer i" after their index in their container."""
    names = {module: name for name, module in model.named_modules()}
    return {f"Layer {names[layer].rsplit('.', 1)[-1]}": layer for layer in linear_layers(model)}


def with_widths(values: dict[str, np.ndarray], model: nn.Module) -> dict[str, np.ndarray]:
    """The same per-layer values, each name followed by its layer's widths ("Layer 0 (784 → 512)"), for
    figure titles: a reader compares a layer's histogram with its d_x and d_y without counting layers."""
    layers = named_linear_layers(model)
    return {
        f"{name} ({layers[name].in_features} → {layers[name].out_features})": v for name, v in values.items()
    }


def weights_by_layer(model: nn.Module) -> dict[str, np.ndarray]:
    """Every linear layer's weight matrix, flattened."""
    return {name: m.weight.detach().cpu().flatten().numpy() for name, m in named_linear_layers(model).items()}


def gradients_by_layer(model: nn.Module, imgs: torch.Tensor, labels: torch.Tensor) -> dict[str, np.ndarray]:
    """Gradients of the cross-entropy loss on one batch w.r.t. every linear layer's weights.

    The model's gradients are reset before and after, so the measurement neither sees nor leaves
    anything behind."""
    model.zero_grad()
    nn.functional.cross_entropy(model(imgs), labels).backward()
    layers = named_linear_layers(model)
    grads = {name: m.weight.grad.detach().cpu().flatten().numpy().copy() for name, m in layers.items()}
    model.zero_grad()
    return grads


def output_gradients_by_layer(
    model: nn.Module, imgs: torch.Tensor, labels: torch.Tensor
) -> dict[str, np.ndarray]:
    """The backward signal: gradients of the cross-entropy loss on one batch w.r.t. every linear layer's
    output. Backpropagation multiplies it by W^T (and the activation's derivative) at each layer, so its
    variance from layer to layer is what an initialization's backward condition controls."""
    layers = named_linear_layers(model)
    grads = {}

    def keep(name):
        def hook(_module, _inputs, out):  # returns None: a forward hook's return value replaces the output
            out.register_hook(lambda g: grads.__setitem__(name, g))

        return hook

    hooks = [layer.register_forward_hook(keep(name)) for name, layer in layers.items()]
    try:
        model.zero_grad()
        nn.functional.cross_entropy(model(imgs), labels).backward()
    finally:
        for hook in hooks:
            hook.remove()
        model.zero_grad()
    return {name: grads[name].detach().cpu().flatten().numpy() for name in layers}


@torch.no_grad()
def activations_by_layer(model: nn.Module, imgs: torch.Tensor) -> dict[str, np.ndarray]:
    """Outputs of every linear layer (before its activation function) for one batch, via forward hooks."""
    outputs = {}
    hooks = [
        layer.register_forward_hook(lambda _m, _inp, out, name=name: outputs.__setitem__(name, out))
        for name, layer in named_linear_layers(model).items()
    ]
    try:
        model(imgs)
    finally:
        for hook in hooks:
            hook.remove()
    return {name: out.cpu().flatten().numpy() for name, out in outputs.items()}


def variances(values: dict[str, np.ndarray]) -> dict[str, float]:
    """Variance of each layer's values (float64, so tiny variances keep their digits)."""
    return {name: float(np.var(v, dtype=np.float64)) for name, v in values.items()}


def print_variances(values: dict[str, np.ndarray], what: str) -> None:
    """One line per layer: the numbers the course's story is told with."""
    for name, var in variances(values).items():
        print(f"{what} variance, {name}: {var:.3g}")
