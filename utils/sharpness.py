"""How sharp is a trained minimum? The top Hessian eigenvalue and the loss along random directions
(notebook 12).

The Hessian of a network with 235,146 weights has 5.5e10 entries; we never build it. A Hessian-vector
product H v costs about two backward passes (differentiate the gradient once more, along v), and power
iteration needs nothing else: v <- H v / |H v| converges to the eigenvector of the largest |eigenvalue|.
"""

import torch
from torch import nn


def _normalized(vectors):
    norm = torch.sqrt(sum((v * v).sum() for v in vectors))
    return [v / norm for v in vectors]


def top_hessian_eigenvalue(loss, params, generator, iters: int = 100, rtol: float = 1e-4):
    """(eigenvalue, history) of the Hessian's largest-magnitude eigenvalue, by power iteration.

    loss: a scalar tensor still attached to its graph; params: the tensors to differentiate by.
    The gradient is built once with create_graph=True; each iteration differentiates it along v
    (a Hessian-vector product by double backward). Stops when the Rayleigh quotient v.Hv changes by
    less than rtol (relative) from one iteration to the next.
    """
    grads = torch.autograd.grad(loss, params, create_graph=True)
    v = _normalized([torch.randn(p.shape, generator=generator, dtype=p.dtype).to(p.device) for p in params])
    history = []
    for _ in range(iters):
        hv = torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True)
        history.append(
            sum((h * u).sum() for h, u in zip(hv, v, strict=True)).item()
        )  # Rayleigh quotient, |v| = 1
        if len(history) > 1 and abs(history[-1] - history[-2]) < rtol * abs(history[-1]):
            break
        v = _normalized(hv)
    return history[-1], history


def filter_normalized_direction(net: nn.Module, generator) -> list[torch.Tensor]:
    """A random direction in weight space scaled like the weights (Li et al. 2018): each row of each
    weight matrix (one neuron's incoming weights) gets the norm of that row; biases are not moved.
    Rescaling a layer rescales its direction with it, so curves along such directions can be compared
    across networks whose weights have different sizes."""
    direction = []
    for p in net.parameters():
        if p.dim() < 2:
            direction.append(torch.zeros_like(p))
            continue
        d = torch.randn(p.shape, generator=generator, dtype=p.dtype).to(p.device)
        direction.append(d * (p.norm(dim=1, keepdim=True) / d.norm(dim=1, keepdim=True)))
    return direction


@torch.no_grad()
def loss_along(net: nn.Module, direction, alphas, x, y) -> list[float]:
    """Cross-entropy on (x, y) at the weights w + alpha * direction for each alpha; `net` is restored."""
    net.eval()
    start = [p.detach().clone() for p in net.parameters()]
    losses = []
    try:
        for alpha in alphas:
            for p, w, d in zip(net.parameters(), start, direction, strict=True):
                p.copy_(w + float(alpha) * d)
            losses.append(nn.functional.cross_entropy(net(x), y).item())
    finally:
        for p, w in zip(net.parameters(), start, strict=True):
            p.copy_(w)
    return losses
