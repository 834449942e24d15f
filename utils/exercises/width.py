"""Checker for the exercise of notebook 14 (width and muP): muP's Adam parameter groups, by hand.

The student writes mup_adam(model, lr, base_width) for a utils.width.WidthMLP already initialized by muP.
The checker reads the rate each layer got at three widths and names the typical mistakes (no scaling,
1/m^2, the readout forgotten, the input layer scaled too); then it trains with the student's optimizer
and measures what muP promises: the change of every layer's output after two steps does not grow or
shrink with the width.
"""

import math

import torch
from torch import nn

from utils import torch_generator
from utils.exercises import check, passed
from utils.width import LAYERS, make_model, mean_abs, width_mult

WIDTHS = (64, 256, 1024)
BASE, LR = 64, 2.0**-7
FLAT = (0.4, 2.5)  # the measured change at width 1024 over width 64 must lie in this band


def _layer_lrs(model, optimizer) -> dict[str, float]:
    """{layer: the rate its weight is trained at}, checking that every weight sits in exactly one group."""
    rates = {}
    for name in LAYERS:
        weight = getattr(model, name).weight
        found = [g["lr"] for g in optimizer.param_groups for p in g["params"] if p is weight]
        check(
            len(found) == 1,
            f"The {name} layer's weight is in {len(found)} parameter groups; put it in exactly one.",
        )
        rates[name] = found[0]
    return rates


def _hint(name: str, got: float, m: float) -> str:
    """What a typical wrong rate for layer `name` at width multiplier m looks like, in words."""
    ratio = got / LR
    if name == "input" and math.isclose(ratio, 1 / m, rel_tol=1e-6):
        return " The input layer's fan-in is 784 at every width, so its rate does not change."
    if name != "input" and math.isclose(ratio, 1.0, rel_tol=1e-6):
        forgot = (
            " (the readout is a layer like the others: its fan-in is the width too)"
            if name == "readout"
            else ""
        )
        return f" It is not scaled at all: a layer whose fan-in grows m-fold needs its rate / m{forgot}."
    if math.isclose(ratio, 1 / m**2, rel_tol=1e-6):
        return " Divided by m^2: one 1/m is enough, Adam's step does not scale with the gradient."
    if math.isclose(ratio, 1 / math.sqrt(m), rel_tol=1e-6):
        return " Divided by sqrt(m): that is the init's rule (std ~ 1/sqrt(fan_in)), not the rate's."
    return ""


def _output_changes(mup_adam, width: int, x, y) -> dict[str, float]:
    """{layer: mean |change of its output on x|} after two steps with the student's optimizer."""
    model = make_model(width, "muP", seed=0, base_width=BASE)
    with torch.no_grad():
        start = model.features(x)
    optimizer = mup_adam(model, LR, BASE)
    for _ in range(2):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    with torch.no_grad():
        end = model.features(x)
    return {name: mean_abs(end[name] - start[name]) for name in LAYERS}


def check_mup_adam(mup_adam) -> None:
    """Exercise 14.1: mup_adam(model, lr, base_width) -> torch.optim.Adam with muP's rate per layer."""
    for width in WIDTHS:
        model = make_model(width, "muP", seed=0, base_width=BASE)
        optimizer = mup_adam(model, LR, BASE)
        check(
            isinstance(optimizer, torch.optim.Adam),
            f"Return a torch.optim.Adam, not {type(optimizer).__name__}.",
        )
        m = width_mult(width, BASE)
        expected = {"input": LR, "hidden": LR / m, "readout": LR / m}
        for name, got in _layer_lrs(model, optimizer).items():
            check(
                math.isclose(got, expected[name], rel_tol=1e-6),
                f"Width {width} (m = {m:g}), {name} layer: rate {got:.4g}, expected {expected[name]:.4g} "
                f"(lr = {LR:.4g}).{_hint(name, got, m)}",
            )
    gen = torch_generator(14)
    x, y = torch.randn(64, 1, 28, 28, generator=gen), torch.randint(10, (64,), generator=gen)
    small, large = (_output_changes(mup_adam, width, x, y) for width in (WIDTHS[0], WIDTHS[-1]))
    for name in LAYERS:
        ratio = large[name] / small[name]
        check(
            FLAT[0] < ratio < FLAT[1],
            f"Trained with your optimizer, the {name} layer's output moved {ratio:.3g} times as much at "
            f"width {WIDTHS[-1]} as at width {WIDTHS[0]}; muP keeps it within {FLAT}.",
        )
    return passed(getattr(mup_adam, "__name__", "your function"))
