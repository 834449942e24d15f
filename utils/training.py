"""Training loops of the course: optimizer paths on 2D loss surfaces (07-08)."""

import numpy as np
import torch
from torch import nn


def train_curve(optimizer_func, curve_func, num_updates: int = 100, init=(5, 5)) -> np.ndarray:
    """Run `num_updates` steps of an optimizer on a 2D loss surface.

    optimizer_func: called with [w] (w a 2-element parameter) and returns an optimizer.
    curve_func(w1, w2): the loss surface, on tensors.
    Returns an array [num_updates, 3] of (w1, w2, loss) *before* each step: row 0 is the start point.
    """
    weights = nn.Parameter(torch.tensor(init, dtype=torch.float32))
    optimizer = optimizer_func([weights])
    points = []
    for _ in range(num_updates):
        loss = curve_func(weights[0], weights[1])
        points.append(torch.cat([weights.detach(), loss.detach().reshape(1)]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return torch.stack(points).numpy()
