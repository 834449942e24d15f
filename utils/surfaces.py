"""The two 2D loss surfaces of notebooks 07-08, written once for training and for plotting.

An optimizer needs the surface on torch tensors (to get gradients); a plot needs it on a numpy grid.
Each surface is written in torch, like the formula, and `accepts_numpy` lets it take numpy arrays too,
so the picture and the trajectory always come from the very same function.
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


@accepts_numpy
def comb_func(w1, w2):
    """Three sharp minima (Gaussians with sigma 0.2) on an almost flat plane."""
    z = -bivar_gaussian(w1, w2, x_mean=1.0, y_mean=-0.5, x_sig=0.2, y_sig=0.2)
    z -= bivar_gaussian(w1, w2, x_mean=-1.0, y_mean=0.5, x_sig=0.2, y_sig=0.2)
    z -= bivar_gaussian(w1, w2, x_mean=-0.5, y_mean=-0.8, x_sig=0.2, y_sig=0.2)
    return z


def surface_grid(curve_func, x_range=(-5.0, 5.0), y_range=(-5.0, 5.0), num: int = 200):
    """Evaluate a surface once on a num x num grid: (W1, W2, Z), ready for every plot and redraw."""
    if num < 2:
        raise ValueError(f"num must be at least 2 grid points per axis, got {num}")
    w1, w2 = np.meshgrid(np.linspace(*x_range, num), np.linspace(*y_range, num), indexing="ij")
    return w1, w2, curve_func(w1, w2)
