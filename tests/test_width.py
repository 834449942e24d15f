"""utils.width: the hand-written muP equals the `mup` package's (the oracle), the coordinate check and the
update's alignment behave as notebook 14 says, and the study is written and read back whole."""

import json
import math

import mup
import numpy as np
import pytest
import torch
from torch import nn

from utils import width as W

WIDTHS = (128, 256, 1024)


class MupMLP(nn.Module):
    """The same network written the `mup` package's way: a MuReadout instead of the last nn.Linear.
    Layers are created in the same order as WidthMLP's, so one seed gives the same initial draw."""

    def __init__(self, width: int):
        super().__init__()
        self.input = nn.Linear(784, width, bias=False)
        self.hidden = nn.Linear(width, width, bias=False)
        self.readout = mup.MuReadout(width, 10, bias=False)

    def forward(self, x):
        return self.readout(torch.relu(self.hidden(torch.relu(self.input(x.flatten(1))))))


def mup_model(width: int, seed: int = 0) -> MupMLP:
    torch.manual_seed(seed)
    model = MupMLP(width)
    mup.set_base_shapes(model, MupMLP(W.BASE_WIDTH), delta=MupMLP(2 * W.BASE_WIDTH))
    return model


def batches(steps: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(32, 1, 28, 28, generator=gen), torch.randint(10, (32,), generator=gen))
        for _ in range(steps)
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_init_equals_mup_package(width):
    """The function at init: mup's MuReadout (weight x sqrt(m), forward / m) = our readout / sqrt(m)."""
    ours, theirs = W.make_model(width, "muP", seed=0), mup_model(width, seed=0)
    x = torch.randn(16, 1, 28, 28)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(ours.hidden.weight, theirs.hidden.weight)


@pytest.mark.parametrize("width", WIDTHS)
def test_effective_learning_rates_equal_mup_package(width):
    """Each layer's rate as seen by its effective weight: MuAdam's group rate, divided by m for the
    MuReadout (its forward multiplies the weight by 1/m, and Adam's step ignores the gradient's scale)."""
    model, lr = mup_model(width), 0.01
    opt = mup.MuAdam(model.parameters(), lr=lr)
    theirs = {}
    for group in opt.param_groups:
        for p in group["params"]:
            name = next(n for n, q in model.named_parameters() if q is p).split(".")[0]
            readout = 1 / model.readout.width_mult() if name == "readout" else 1.0
            theirs[name] = group["lr"] * readout / lr
    ours = W.lr_multipliers(width, "muP")
    assert ours == pytest.approx(theirs, rel=1e-12)
    assert ours["hidden"] == pytest.approx(W.BASE_WIDTH / width)


@pytest.mark.parametrize("width", WIDTHS)
def test_training_equals_mup_package(width):
    """Five Adam steps: our parameter groups and MuAdam + MuReadout give the same network. Adam's eps is
    made negligible in both: mup's form hands Adam the readout's gradient m times smaller, so with the
    default eps the two differ by a little more than round-off at large widths."""
    ours, theirs = W.make_model(width, "muP", seed=1), mup_model(width, seed=1)
    opt_ours = W.make_adam(ours, "muP", 3e-3, eps=1e-12)
    opt_theirs = mup.MuAdam(theirs.parameters(), lr=3e-3, eps=1e-12)
    for x, y in batches(5):
        for model, opt in ((ours, opt_ours), (theirs, opt_theirs)):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    x = batches(1, seed=9)[0][0]
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-3, atol=1e-4)
    step = 3e-3 * W.BASE_WIDTH / width  # the size of one hidden-layer Adam step
    torch.testing.assert_close(ours.hidden.weight, theirs.hidden.weight, rtol=0, atol=0.02 * step)


def test_sp_and_mup_are_one_network_at_the_base_width():
    sp, mu = W.make_model(W.BASE_WIDTH, "SP", seed=3), W.make_model(W.BASE_WIDTH, "muP", seed=3)
    for name in W.LAYERS:
        assert torch.equal(getattr(sp, name).weight, getattr(mu, name).weight)
    assert W.lr_multipliers(W.BASE_WIDTH, "muP") == W.lr_multipliers(W.BASE_WIDTH, "SP")


def test_sp_uses_one_rate_and_mup_shrinks_hidden_and_readout():
    opt = W.make_adam(W.make_model(512, "SP"), "SP", 1e-3)
    assert {g["layer"]: g["lr"] for g in opt.param_groups} == {"input": 1e-3, "hidden": 1e-3, "readout": 1e-3}
    opt = W.make_adam(W.make_model(512, "muP"), "muP", 1e-3)
    assert {g["layer"]: g["lr"] for g in opt.param_groups} == pytest.approx(
        {"input": 1e-3, "hidden": 1e-3 / 8, "readout": 1e-3 / 8}
    )


def test_unknown_parametrization_is_named():
    with pytest.raises(ValueError, match="NTK"):
        W.make_model(64, "NTK")


def slope(widths, values) -> float:
    return float(np.polyfit(np.log(widths), np.log(values), 1)[0])


def test_update_effect_grows_linearly_under_sp_and_stays_flat_under_mup():
    widths = (64, 256, 1024)
    x, y = batches(1)[0]
    sp = [W.update_effect(w, "SP", 2**-7, x, y)["hidden"] for w in widths]
    mu = [W.update_effect(w, "muP", 2**-7, x, y)["hidden"] for w in widths]
    flipped = {w: W.update_effect(w, "SP", 2**-7, x, y, random_signs=True) for w in widths}
    assert 0.8 < slope(widths, sp) < 1.2
    assert abs(slope(widths, mu)) < 0.2
    for layer in ("hidden", "readout"):
        assert 0.3 < slope(widths, [flipped[w][layer] for w in widths]) < 0.7


def test_coord_check_output_blows_up_under_sp_only():
    x, y = batches(1)[0]
    sp = W.coord_check(W.builder("SP", 2**-7), (64, 1024), x, y, steps=2)
    mu = W.coord_check(W.builder("muP", 2**-7), (64, 1024), x, y, steps=2)
    assert sp[1024][2]["readout"] > 4 * sp[64][2]["readout"]
    assert 0.4 < mu[1024][2]["readout"] / mu[64][2]["readout"] < 2.5
    assert len(sp[64]) == 3  # before the first step and after each of the two


def test_spectral_norms_follow_the_spectral_condition_under_mup():
    x, y = batches(1)[0]
    small, large = (W.spectral_norms(w, "muP", 2**-7, x, y) for w in (64, 1024))
    for name in W.LAYERS:
        for k in (0, 1):  # the weights and the update, each relative to sqrt(fan_out / fan_in)
            ratio = (large[name][k] / large[name][2]) / (small[name][k] / small[name][2])
            assert 0.4 < ratio < 2.5, (name, k, ratio)
    sp_small, sp_large = (W.spectral_norms(w, "SP", 2**-7, x, y) for w in (64, 1024))
    assert sp_large["hidden"][1] > 8 * sp_small["hidden"][1]


TINY = {
    **W.RECIPE,
    "widths": [64, 128],
    "log2_lrs": [-9, -7],
    "seeds": [0],
    "train_images": 256,
    "val_images": 64,
}


def test_make_study_writes_the_whole_grid(tmp_path, monkeypatch):
    gen = torch.Generator().manual_seed(0)
    data = ((torch.randn(256, 1, 28, 28, generator=gen), torch.randint(10, (256,), generator=gen)),) * 2
    monkeypatch.setattr(W, "subsets", lambda recipe: data)
    (path,) = W.make_study(tmp_path, TINY)
    assert path == tmp_path / W.STUDY_NAME
    study = W.load_study(path)
    assert {k: study["recipe"][k] for k in TINY} == TINY
    assert study["recipe"]["threads"] == 1
    for p in W.PARAMETRIZATIONS:
        assert set(study["loss"][p]) == {"64", "128"}
        assert all(
            len(column) == 2 and all(math.isfinite(v) for v in column)
            for column in study["loss"][p]["128"].values()
        )
    assert study["loss"]["SP"]["64"] == study["loss"]["muP"]["64"]  # one network at the base width


def test_diverged_runs_are_stored_as_null_and_read_as_inf(tmp_path):
    path = tmp_path / "study.json"
    path.write_text(W._json_safe({"recipe": {}, "loss": {"SP": {"64": {"0": [0.5, math.inf]}}}}))
    assert json.loads(path.read_text())["loss"]["SP"]["64"]["0"] == [0.5, None]
    assert W.load_study(path)["loss"]["SP"]["64"]["0"] == [0.5, math.inf]


def test_missing_study_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="regenerate.py mup14"):
        W.load_study(tmp_path / "none.json")


def test_committed_study_is_the_recipe_grid():
    study = W.load_study()
    assert {k: study["recipe"][k] for k in W.RECIPE} == W.RECIPE
    for p in W.PARAMETRIZATIONS:
        assert set(study["loss"][p]) == {str(w) for w in W.RECIPE["widths"]}
        for seeds in study["loss"][p].values():
            assert set(seeds) == {str(s) for s in W.RECIPE["seeds"]}
            assert all(len(column) == len(W.RECIPE["log2_lrs"]) for column in seeds.values())
