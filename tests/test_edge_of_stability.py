"""utils.edge_of_stability on a tiny case: GD with a step above 2/sharpness is unstable on the first step
(the measured sharpness is the true top eigenvalue), the study file has its recipe and full trajectories,
and a bad request is refused with a clear message."""

import json

import pytest
import torch

from utils import edge_of_stability as eos

TINY = {
    **eos.RECIPE,
    "images": 64,
    "hidden_sizes": [8],
    "etas": [0.05, 0.1],
    "steps": 30,
    "sharpness_every": 10,
}


def tiny_data():
    gen = torch.Generator().manual_seed(0)
    return torch.randn(64, 1, 4, 4, generator=gen), torch.randint(10, (64,), generator=gen)


def test_sharpness_is_the_top_eigenvalue_of_the_full_hessian():
    x, y = eos.subset(64, tiny_data())
    net = eos.make_net(0, [3], in_features=16).double()
    x, y = x.double(), y.double()
    names, shapes = zip(*[(n, p.shape) for n, p in net.named_parameters()], strict=True)
    flat = torch.cat([p.detach().flatten() for p in net.parameters()])

    def loss_of(vector):
        pieces = torch.split(vector, [s.numel() for s in shapes])
        weights = {n: piece.view(s) for n, piece, s in zip(names, pieces, shapes, strict=True)}
        out = torch.func.functional_call(net, weights, (x,))
        return 0.5 * ((out - y) ** 2).sum(dim=1).mean()

    exact = torch.linalg.eigvalsh(torch.autograd.functional.hessian(loss_of, flat))
    recipe = {**eos.RECIPE, "power_iterations": 3000, "power_rtol": 1e-12}
    assert eos.sharpness(net, x, y, seed=0, recipe=recipe) == pytest.approx(
        exact.abs().max().item(), rel=1e-4
    )


def test_run_gd_records_every_step_and_descends_below_two_over_sharpness():
    x, y = eos.subset(64, tiny_data())
    net = eos.make_net(0, [8], in_features=16)
    start = eos.sharpness(net, x, y, seed=0)
    run = eos.run_gd(net, x, y, eta=0.5 / start, steps=30, recipe=TINY)
    assert len(run["loss"]) == 30 and run["sharpness_steps"] == [0, 10, 20]
    assert run["loss"][-1] < run["loss"][0]  # eta = 0.5/sharpness: stable, the loss falls


def test_a_step_far_above_two_over_sharpness_makes_the_loss_grow():
    x, y = eos.subset(64, tiny_data())
    net = eos.make_net(0, [8], in_features=16)
    start = eos.sharpness(net, x, y, seed=0)
    run = eos.run_gd(net, x, y, eta=8 / start, steps=10, recipe=TINY)
    assert max(run["loss"]) > 2 * run["loss"][0]  # four times past the 2/sharpness limit


def test_make_study_writes_recipe_and_trajectories(tmp_path):
    [path] = eos.make_study(tmp_path, TINY, tiny_data())
    study = json.loads(path.read_text())
    assert study["recipe"]["etas"] == [0.05, 0.1] and study["recipe"]["steps"] == 30
    assert set(study["runs"]) == {"0.05", "0.1"}
    assert all(len(run["loss"]) == 30 and len(run["sharpness"]) == 3 for run in study["runs"].values())


def test_bad_requests_are_refused_clearly(tmp_path):
    with pytest.raises(ValueError, match="ask for fewer"):
        eos.subset(1000, tiny_data())
    with pytest.raises(FileNotFoundError, match="regenerate.py eos12"):
        eos.load_study(tmp_path / "missing.json")
