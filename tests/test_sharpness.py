"""utils.sharpness: power iteration finds the exact top eigenvalue; filter-normalized directions and
loss_along behave as documented (rescaling-invariant, network restored)."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from utils.models import BaseNetwork
from utils.sharpness import filter_normalized_direction, loss_along, top_hessian_eigenvalue


def test_power_iteration_on_a_known_quadratic():
    w = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    A = torch.diag(torch.tensor([5.0, 1.0, -2.0, 0.5], dtype=torch.float64))
    eig, history = top_hessian_eigenvalue(0.5 * w @ A @ w, [w], torch.Generator().manual_seed(0), rtol=1e-12)
    assert eig == pytest.approx(5.0, rel=1e-6) and len(history) > 1


def test_power_iteration_matches_the_full_hessian_of_a_small_net():
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(40, 3, generator=gen, dtype=torch.float64), torch.randint(2, (40,), generator=gen)
    lin = nn.Linear(3, 2).double()
    params = list(lin.parameters())
    flat = torch.cat([p.detach().flatten() for p in params])

    def loss_of(v):
        return nn.functional.cross_entropy(x @ v[:6].view(2, 3).T + v[6:], y)

    exact = torch.linalg.eigvalsh(torch.autograd.functional.hessian(loss_of, flat))
    eig, _ = top_hessian_eigenvalue(
        nn.functional.cross_entropy(lin(x), y), params, gen, iters=2000, rtol=1e-12
    )
    assert eig == pytest.approx(exact.abs().max().item(), rel=1e-5)


def test_filter_normalized_direction_scales_like_the_weights():
    net = BaseNetwork("relu", input_size=6, num_classes=3, hidden_sizes=(5,))
    d = filter_normalized_direction(net, torch.Generator().manual_seed(0))
    for p, q in zip(net.parameters(), d, strict=True):
        if p.dim() == 2:
            assert torch.allclose(q.norm(dim=1), p.norm(dim=1))
        else:
            assert not q.any()


def test_loss_along_restores_the_network_and_is_rescaling_invariant():
    torch.manual_seed(0)
    net = BaseNetwork("relu", input_size=6, num_classes=3, hidden_sizes=(5, 4))
    x, y = torch.randn(30, 6), torch.randint(3, (30,))
    state = copy.deepcopy(net.state_dict())
    alphas = np.linspace(-1, 1, 5)
    curve = loss_along(net, filter_normalized_direction(net, torch.Generator().manual_seed(3)), alphas, x, y)
    assert all(torch.equal(v, state[k]) for k, v in net.state_dict().items())
    twin = copy.deepcopy(net)
    with torch.no_grad():
        twin.layers[0].weight.mul_(7)
        twin.layers[0].bias.mul_(7)
        twin.layers[2].weight.div_(7)
    twin_curve = loss_along(
        twin, filter_normalized_direction(twin, torch.Generator().manual_seed(3)), alphas, x, y
    )
    assert np.allclose(curve, twin_curve, rtol=1e-4)
