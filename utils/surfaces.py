"""The two 2D loss surfaces of notebooks 07-08, and the optimizer paths on them.

An optimizer needs the surface on torch tensors (to get gradients); a plot needs it on a numpy grid.
Each surface is written in torch, like the formula, and `accepts_numpy` lets it take numpy arrays too,
so the picture and the trajectory always come from the very same function. train_curve runs an
optimizer on a surface; gradient measures the slope at one point.
"""

import functools
import math

import numpy as np
import torch


def accepts_numpy(surface):
    """Let a surface written in torch also take numpy arrays (and return numpy) for plotting."""

    @functools.wraps(surface)
    def wrapper(w1, w2, **kwargs):
        if isinstance(w1, torch.Tensor):
            return surface(w1, w2, **kwargs)
        return surface(torch.as_tensor(w1), torch.as_tensor(w2), **kwargs).numpy()

    return wrapper


@accepts_numpy
def pathological_curve_loss(w1, w2):
    """A ravine: steep across w1 (tanh^2 plus a small |w1| slope), shallow along w2 (a sigmoid)."""
    x1_loss = torch.tanh(w1) ** 2 + 0.01 * torch.abs(w1)
    x2_loss = torch.sigmoid(w2)
    return x1_loss + x2_loss


@accepts_numpy
def bivar_gaussian(w1, w2, x_mean=0.0, y_mean=0.0, x_sig=1.0, y_sig=1.0):
    """Density of an axis-aligned 2D Gaussian: its peak is 1 / (2 pi x_sig y_sig)."""
    norm = 1 / (2 * math.pi * x_sig * y_sig)
    x_exp = (-1 * (w1 - x_mean) ** 2) / (2 * x_sig**2)
    y_exp = (-1 * (w2 - y_mean) ** 2) / (2 * y_sig**2)
    return norm * torch.exp(x_exp + y_exp)


# The race settings notebooks 07-08 and their exercises' checkers share: NUM_STEPS optimizer steps from
# RAVINE_START (07) or STEEP_START (08), and Adam's learning rate on the steep surface (08).
NUM_STEPS = 100
RAVINE_START = (5.0, 5.0)
STEEP_START = (0.0, 0.0)
ADAM_LR = 0.2

# The centres of comb_func's three minima (notebook 08 and its exercises use them too).
OPTIMA = ((1.0, -0.5), (-1.0, 0.5), (-0.5, -0.8))


@accepts_numpy
def comb_func(w1, w2):
    """Three sharp minima (Gaussians with sigma 0.2, centred at OPTIMA) on an almost flat plane."""
    return -sum(bivar_gaussian(w1, w2, x_mean=x, y_mean=y, x_sig=0.2, y_sig=0.2) for x, y in OPTIMA)


def gradient(surface, w1: float, w2: float) -> np.ndarray:
    """The gradient of a surface at one point, in float64 so that tiny slopes keep their digits."""
    w = torch.tensor([w1, w2], dtype=torch.float64, requires_grad=True)
    surface(w[0], w[1]).backward()
    return w.grad.numpy()


def train_curve(
    optimizer_func, curve_func, num_updates: int = NUM_STEPS + 1, init=RAVINE_START
) -> np.ndarray:
    """Record `num_updates` points of an optimizer's path on a 2D loss surface (num_updates - 1 steps).

    optimizer_func: called with [w] (w a 2-element parameter) and returns an optimizer.
    curve_func(w1, w2): the loss surface, on tensors.
    Returns an array [num_updates, 3] of (w1, w2, loss) *before* each step: row 0 is the start point.
    """
    weights = torch.nn.Parameter(torch.tensor(init, dtype=torch.float32))
    optimizer = optimizer_func([weights])
    points = []
    for _ in range(num_updates):
        loss = curve_func(weights[0], weights[1])
        points.append(torch.cat([weights.detach(), loss.detach().reshape(1)]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return torch.stack(points).numpy()


def surface_grid(curve_func, x_range=(-5.0, 5.0), y_range=(-5.0, 5.0), num: int = 200):
    """Evaluate a surface once on a num x num grid: (W1, W2, Z), ready for every plot and redraw."""
    if num < 2:
        raise ValueError(f"num must be at least 2 grid points per axis, got {num}")
    w1, w2 = np.meshgrid(np.linspace(*x_range, num), np.linspace(*y_range, num), indexing="ij")
    return w1, w2, curve_func(w1, w2)
