"""The initialization schemes of notebooks 02-04, for the notebooks that come after them.

Notebooks 02 (constant, fixed std), 03 (equal variance, Xavier) and 04 (Kaiming) derive and write each
function in front of the student; the same code lives here so later notebooks can import it, and
tests/test_init_drift.py fails if a notebook and this module drift apart.

Conventions (COURSE.md, "the shared setting"): the naive schemes set every parameter of every linear
layer, biases included; the principled ones draw the weights from their formula and set biases to 0.
Every function works in place on the model's nn.Linear layers, in the order they are applied.
"""

import math

import torch
from torch import nn


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """The model's linear layers in forward order; a ValueError if it has none (nothing to initialize)."""
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not layers:
        raise ValueError(
            f"{type(model).__name__} has no nn.Linear layers: these schemes initialize fully connected "
            "networks (for example utils.models.BaseNetwork)."
        )
    return layers


def const_init(model, fill=0.0):
    """Every weight and bias = `fill`: all units of a layer compute the same thing (symmetry)."""
    if not math.isfinite(fill):
        raise ValueError(f"fill must be a finite number, got {fill!r}.")
    with torch.no_grad():
        for layer in linear_layers(model):
            for param in layer.parameters():
                param.fill_(fill)


def var_init(model, std=0.01):
    """Every weight and bias ~ N(0, std^2), the same std in every layer, whatever its width."""
    if not (math.isfinite(std) and std > 0):
        raise ValueError(f"std must be a positive finite number, got {std!r} (for std 0 use const_init).")
    with torch.no_grad():
        for layer in linear_layers(model):
            for param in layer.parameters():
                param.normal_(0.0, std)


def equal_var_init(model):
    """Weights ~ N(0, 1/d_x), biases 0: the forward pass keeps the variance (identity activation)."""
    with torch.no_grad():
        for layer in linear_layers(model):
            d_x = layer.in_features
            layer.weight.normal_(0.0, 1 / math.sqrt(d_x))
            if layer.bias is not None:
                layer.bias.zero_()


def xavier_init(model):
    """Glorot & Bengio (2010): weights ~ U(-a, a) with a = sqrt(6 / (d_x + d_y)), so that
    Var(w) = a^2 / 3 = 2 / (d_x + d_y), the harmonic mean of the forward (1/d_x) and backward (1/d_y)
    conditions; biases 0."""
    with torch.no_grad():
        for layer in linear_layers(model):
            d_x, d_y = layer.in_features, layer.out_features
            bound = math.sqrt(6 / (d_x + d_y))
            layer.weight.uniform_(-bound, bound)
            if layer.bias is not None:
                layer.bias.zero_()


def kaiming_init(model):
    """He et al. (2015) for ReLU: weights ~ N(0, 2/d_x), biases 0. The first layer sees the raw
    (standardized) inputs, not ReLU outputs, so it keeps Var(w) = 1/d_x."""
    with torch.no_grad():
        for i, layer in enumerate(linear_layers(model)):
            d_x = layer.in_features
            gain_squared = 1.0 if i == 0 else 2.0  # gain sqrt(2) after a ReLU: Var(w) = gain^2 / d_x
            layer.weight.normal_(0.0, math.sqrt(gain_squared / d_x))
            if layer.bias is not None:
                layer.bias.zero_()


# ---------------------------------------------------------------- notebook 13: very deep networks
def orthogonal_init(model):
    """Saxe et al. (2014): every weight matrix a random orthogonal one (rows orthonormal when it is wide),
    scaled by the gain of the activation before it: 1 for the first layer (standardized pixels), sqrt(2)
    after a ReLU (Kaiming's factor 2 on the second moment); biases 0. An orthogonal matrix keeps the norm
    of every vector exactly, where a Gaussian one keeps it only on average."""
    with torch.no_grad():
        for i, layer in enumerate(linear_layers(model)):
            nn.init.orthogonal_(layer.weight, gain=1.0 if i == 0 else math.sqrt(2))
            if layer.bias is not None:
                layer.bias.zero_()


def layer_output_variance(model, layer, imgs):
    """Variance of `layer`'s output when `model` runs on the batch `imgs` (read by a forward hook)."""
    seen = []
    handle = layer.register_forward_hook(lambda module, inputs, output: seen.append(output.var().item()))
    try:
        with torch.no_grad():
            model(imgs)
    finally:
        handle.remove()
    return seen[0]


def lsuv_init(model, imgs, tol=0.01, max_iters=10):
    """Mishkin & Matas (2016), layer-sequential unit variance: orthogonal init, then, layer by layer in
    forward order, divide the weights by the std of the layer's output on a data batch until that
    variance is 1 within `tol`. Each layer is fixed after the ones before it, so it sees their final
    scale: whatever the activations do, the data sets the scale, not a formula."""
    orthogonal_init(model)
    for i, layer in enumerate(linear_layers(model)):
        for _ in range(max_iters):
            var = layer_output_variance(model, layer, imgs)
            if not var > 0:
                raise ValueError(
                    f"Linear layer {i} outputs variance {var} on this batch: LSUV cannot "
                    "rescale a dead layer (check the batch and the network's activations)."
                )
            if abs(var - 1) < tol:
                break
            with torch.no_grad():
                layer.weight /= math.sqrt(var)


def residual_branches(model):
    """The `branch` of every residual block (a block computes x + branch(x)), in forward order."""
    branches = [m.branch for m in model.modules() if isinstance(getattr(m, "branch", None), nn.Module)]
    if not branches:
        raise ValueError(
            f"{type(model).__name__} has no residual blocks (modules with a `branch`): branch "
            "scaling applies to residual networks such as utils.deep.DeepMLP(residual=True)."
        )
    return branches


def scale_residual_branches(model, alpha):
    """Multiply the last linear layer of every residual branch by `alpha`, so each block starts as
    x + alpha * branch(x). With L blocks the variance grows like (1 + alpha^2)^L: alpha = 0 (zero-init, the
    idea of Fixup and SkipInit) starts every block as the identity; alpha ~ 1/sqrt(L) keeps it bounded."""
    if not (math.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}.")
    with torch.no_grad():
        for branch in residual_branches(model):
            last = linear_layers(branch)[-1]
            for param in last.parameters():
                param.mul_(alpha)
