"""utils.muon against torch.optim.Muon, and notebook 15's taught code against utils.muon."""

import copy

import pytest
import torch
from nbsource import assert_no_drift
from torch import nn

from utils.models import BaseNetwork
from utils.muon import Muon, TorchMuon, adjust_lr, muon_with_adamw, newton_schulz, split_for_muon


def _train(make, net, steps: int = 100):
    """`steps` steps of `make(matrices)` on fixed random batches; returns the trained network."""
    optimizer = make([p for p in net.parameters() if p.ndim == 2])
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        x = torch.randn(32, 20, generator=gen)
        y = torch.randint(5, (32,), generator=gen)
        optimizer.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        optimizer.step()
    return net


@pytest.mark.parametrize("cls", [Muon, TorchMuon])
@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"nesterov": False},
        {"adjust_lr_fn": "match_rms_adamw"},
        {"adjust_lr_fn": "original", "weight_decay": 0.0},
        {"momentum": 0.9, "ns_steps": 3},
    ],
)
def test_equals_torch_muon_over_100_steps(cls, settings):
    torch.manual_seed(0)
    net = BaseNetwork("relu", input_size=20, num_classes=5, hidden_sizes=(48, 16))
    ours = _train(lambda ps: cls(ps, lr=0.02, **settings), copy.deepcopy(net))
    theirs = _train(lambda ps: torch.optim.Muon(ps, lr=0.02, **settings), copy.deepcopy(net))
    moved = max(
        (p - q).abs().max().item() for p, q in zip(theirs.parameters(), net.parameters(), strict=True)
    )
    assert moved > 1e-2, "the run should move the weights, or the comparison proves nothing"
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)


def test_newton_schulz_is_torchs_and_orients_tall_matrices():
    from torch.optim._muon import _zeropower_via_newtonschulz

    G = torch.randn(70, 30)
    assert torch.equal(newton_schulz(G), _zeropower_via_newtonschulz(G, (3.4445, -4.7750, 2.0315), 5, 1e-7))
    assert newton_schulz(G).shape == (70, 30)


def test_adjust_lr_and_bad_settings():
    assert adjust_lr(0.1, None, (400, 100)) == pytest.approx(0.2)
    assert adjust_lr(0.1, "match_rms_adamw", (400, 100)) == pytest.approx(0.4)
    with pytest.raises(ValueError, match="adjust_lr_fn"):
        adjust_lr(0.1, "rms", (4, 4))
    bias = nn.Parameter(torch.zeros(3))
    for cls in (Muon, TorchMuon):
        with pytest.raises(ValueError, match="AdamW"):
            cls([bias])
        with pytest.raises(ValueError, match="momentum"):
            cls([nn.Parameter(torch.zeros(3, 3))], momentum=1.0)


def test_muon_with_adamw_splits_hidden_matrices_from_the_rest():
    net = BaseNetwork("relu", input_size=20, num_classes=5, hidden_sizes=(16, 8))
    matrices, rest = split_for_muon(net)
    assert [tuple(p.shape) for p in matrices] == [(16, 20), (8, 16)]
    assert len(rest) == len(list(net.parameters())) - 2
    pair = muon_with_adamw(net, lr=1e-3, adjust_lr_fn="match_rms_adamw")
    muon, adamw = pair.optimizers
    assert isinstance(muon, torch.optim.Muon) and isinstance(adamw, torch.optim.AdamW)
    before = [p.detach().clone() for p in net.parameters()]
    nn.functional.cross_entropy(net(torch.randn(8, 20)), torch.randint(5, (8,))).backward()
    pair.step()
    assert all(not torch.equal(b, p) for b, p in zip(before, net.parameters(), strict=True)), (
        "every parameter moves"
    )
    with pytest.raises(ValueError, match="hidden"):
        split_for_muon(nn.Sequential(nn.Linear(3, 2)))


def test_notebook_15_and_utils_muon_agree():
    assert_no_drift("15", newton_schulz, adjust_lr, Muon)
