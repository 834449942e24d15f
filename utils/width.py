"""Width and the maximal update parametrization (muP), notebook 14.

    python tools/regenerate.py mup14   # the transfer study: saved_models/studies/mup_transfer.json

One network family, 784 -> n -> n -> 10 with ReLU and no biases (the MLP of the `mup` package's demo),
in two parametrizations that agree exactly at the base width n0 = BASE_WIDTH and differ in how they
scale with the width multiplier m = n / n0:

* SP, the standard parametrization: PyTorch's default init (variance 1/(3 fan_in), notebooks 03/04) and
  one Adam learning rate for every layer.
* muP, written by hand from the spectral condition (Yang, Simon & Bernstein 2023): every layer's weights
  and updates should have spectral norm ~ sqrt(fan_out / fan_in) as n grows. For Adam that gives the
  rate lr * n0 / fan_in per layer (lr for the input layer, lr / m for the hidden and readout layers) and
  the readout's init std divided by sqrt(m) (std ~ 1/n instead of 1/sqrt(n)); the input and hidden
  inits keep the 1/fan_in variance of notebooks 03/04.

tests/test_width.py checks this muP against the `mup` package (MuReadout, set_base_shapes, MuAdam).
"""

import json
import math
import time
from pathlib import Path

import torch
from torch import nn

from utils import course_seed, set_seed, torch_generator

BASE_WIDTH = 64
PARAMETRIZATIONS = ("SP", "muP")
LAYERS = ("input", "hidden", "readout")
STUDY_NAME = "studies/mup_transfer.json"  # under saved_models/ (utils.registry) or make_study's folder
RECIPE = {
    "network": "784 -> n -> n -> 10, ReLU, no biases",
    "base_width": BASE_WIDTH,
    "widths": [64, 128, 256, 512, 1024],
    "log2_lrs": [-12, -11, -10, -9, -8, -7, -6],
    "seeds": [0, 1, 2],
    "optimizer": "Adam (betas 0.9, 0.999, eps 1e-8)",
    "train_images": 10000,
    "val_images": 2000,
    "epochs": 1,
    "batch_size": 128,
    "metric": "validation cross-entropy after training",
}


class WidthMLP(nn.Module):
    """784 -> width -> width -> 10 with ReLU, no biases; its three layers are named as in LAYERS."""

    def __init__(self, width: int, in_features: int = 784, classes: int = 10):
        super().__init__()
        self.width = width
        self.input = nn.Linear(in_features, width, bias=False)
        self.hidden = nn.Linear(width, width, bias=False)
        self.readout = nn.Linear(width, classes, bias=False)

    def features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every layer's output (pre-activation) on x: what a coordinate check measures."""
        h1 = self.input(x.flatten(1))
        h2 = self.hidden(torch.relu(h1))
        return {"input": h1, "hidden": h2, "readout": self.readout(torch.relu(h2))}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)["readout"]


def _check(parametrization: str) -> None:
    if parametrization not in PARAMETRIZATIONS:
        raise ValueError(f"Unknown parametrization {parametrization!r}: use one of {PARAMETRIZATIONS}.")


def width_mult(width: int, base_width: int = BASE_WIDTH) -> float:
    """m = width / base_width: how many times wider than the base model whose rate was tuned."""
    return width / base_width


def make_model(width: int, parametrization: str, seed: int = 0, base_width: int = BASE_WIDTH) -> WidthMLP:
    """A fresh WidthMLP. Both parametrizations start from the same PyTorch default draw (given the
    seed); muP then divides the readout by sqrt(m), so that its std scales like 1/width."""
    _check(parametrization)
    set_seed(seed)
    model = WidthMLP(width)
    if parametrization == "muP":
        with torch.no_grad():
            model.readout.weight /= math.sqrt(width_mult(width, base_width))
    return model


def lr_multipliers(width: int, parametrization: str, base_width: int = BASE_WIDTH) -> dict[str, float]:
    """Each layer's Adam rate as a multiple of the global rate. muP: base_fan_in / fan_in, i.e. 1 for
    the input layer (its fan-in, 784, does not grow) and 1/m for the hidden and readout layers."""
    _check(parametrization)
    if parametrization == "SP":
        return dict.fromkeys(LAYERS, 1.0)
    m = width_mult(width, base_width)
    return {"input": 1.0, "hidden": 1 / m, "readout": 1 / m}


def make_adam(model: WidthMLP, parametrization: str, lr: float, base_width: int = BASE_WIDTH, **adam):
    """torch.optim.Adam with one parameter group per layer, each at its own rate (named by 'layer')."""
    mults = lr_multipliers(model.width, parametrization, base_width)
    groups = [
        {"params": [getattr(model, name).weight], "lr": lr * mults[name], "layer": name} for name in LAYERS
    ]
    return torch.optim.Adam(groups, lr=lr, **adam)


def mean_abs(t: torch.Tensor) -> float:
    """The typical size of one coordinate: mean |x| (what the `mup` package's coordinate check plots)."""
    return t.abs().mean().item()


def builder(parametrization: str, lr: float, seed: int = 0, base_width: int = BASE_WIDTH):
    """width -> (fresh model, its Adam): how coord_check makes the network of each width."""

    def build(width: int):
        model = make_model(width, parametrization, seed, base_width)
        return model, make_adam(model, parametrization, lr, base_width)

    return build


def coord_check(build, widths, x: torch.Tensor, y: torch.Tensor, steps: int = 4) -> dict[int, list[dict]]:
    """{width: [per step, {layer: mean |output|}]}: train each width's network build(width) -> (model,
    optimizer) `steps` steps on the batch (x, y), measuring every layer's output on x before each step
    and after the last one."""
    out = {}
    for width in widths:
        model, opt = build(width)
        history = []
        for step in range(steps + 1):
            feats = model.features(x)
            history.append({name: mean_abs(f) for name, f in feats.items()})
            if step < steps:
                opt.zero_grad()
                nn.functional.cross_entropy(feats["readout"], y).backward()
                opt.step()
        out[width] = history
    return out


def first_update(width: int, parametrization: str, lr: float, x, y, seed: int = 0):
    """(model before, model after) one Adam step on the batch (x, y): what the step changed."""
    model = make_model(width, parametrization, seed)
    before = {name: getattr(model, name).weight.detach().clone() for name in LAYERS}
    opt = make_adam(model, parametrization, lr)
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    delta = {name: getattr(model, name).weight.detach() - before[name] for name in LAYERS}
    return model, before, delta


def layer_inputs(model: WidthMLP, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """What each layer multiplies: the flattened image, then the ReLU of the layer before."""
    with torch.no_grad():
        feats = model.features(x)
    return {
        "input": x.flatten(1),
        "hidden": torch.relu(feats["input"]),
        "readout": torch.relu(feats["hidden"]),
    }


def update_effect(
    width: int, parametrization: str, lr: float, x, y, seed: int = 0, random_signs: bool = False
):
    """{layer: mean |dW h|}: how much one Adam step on (x, y) moves each layer's output, per coordinate,
    through its own weights (dW applied to the layer's input h at the start). random_signs=True flips the
    sign of every entry of dW at random (same sizes, no alignment with h): the ablation of the alignment."""
    model, before, delta = first_update(width, parametrization, lr, x, y, seed)
    with torch.no_grad():
        model.input.weight.copy_(before["input"])
        model.hidden.weight.copy_(before["hidden"])
        inputs = layer_inputs(model, x)
    gen = torch_generator(seed + 1)
    out = {}
    for name in LAYERS:
        d = delta[name]
        if random_signs:
            d = d * (2 * torch.randint(2, d.shape, generator=gen) - 1)
        out[name] = mean_abs(inputs[name] @ d.T)
    return out


def spectral_norms(width: int, parametrization: str, lr: float, x, y, seed: int = 0) -> dict[str, tuple]:
    """{layer: (||W||_2, ||dW||_2, sqrt(fan_out / fan_in))} at init and for one Adam step on (x, y)."""
    _, before, delta = first_update(width, parametrization, lr, x, y, seed)
    return {
        name: (
            torch.linalg.matrix_norm(before[name], ord=2).item(),
            torch.linalg.matrix_norm(delta[name], ord=2).item(),
            math.sqrt(before[name].shape[0] / before[name].shape[1]),
        )
        for name in LAYERS
    }


def subsets(recipe: dict = RECIPE):
    """The recipe's training and validation images: the first train_images / val_images of each split."""
    from utils.data import fashion_mnist_tensors  # imported here: only training needs the dataset

    (x_train, y_train), (x_val, y_val), _ = fashion_mnist_tensors("cpu")
    n, v = recipe["train_images"], recipe["val_images"]
    return (x_train[:n], y_train[:n]), (x_val[:v], y_val[:v])


def train_run(width: int, parametrization: str, lr: float, seed: int, data, recipe: dict = RECIPE) -> float:
    """Validation loss after `epochs` of Adam at rate lr; inf when training diverged."""
    from utils.training import evaluate, train_epoch

    train, val = data
    model = make_model(width, parametrization, seed, recipe["base_width"])
    opt = make_adam(model, parametrization, lr, recipe["base_width"])
    gen = torch_generator(seed + 1000)
    for _ in range(recipe["epochs"]):
        train_epoch(model, opt, *train, recipe["batch_size"], gen)
    loss = evaluate(model, val)[0]
    return loss if math.isfinite(loss) else math.inf


def run_column(width: int, parametrization: str, seed: int, data, recipe: dict = RECIPE) -> list[float]:
    """Validation loss at every rate of the recipe, for one width, parametrization and seed."""
    return [train_run(width, parametrization, 2.0**k, seed, data, recipe) for k in recipe["log2_lrs"]]


def run_study(recipe: dict = RECIPE, log=print) -> dict:
    """{"recipe", "loss": {parametrization: {width: {seed: [loss per rate]}}}} for the whole grid."""
    data = subsets(recipe)
    start = time.perf_counter()
    loss = {p: {} for p in PARAMETRIZATIONS}
    for width in recipe["widths"]:
        for p in PARAMETRIZATIONS:
            loss[p][str(width)] = {}
            for seed in recipe["seeds"]:
                loss[p][str(width)][str(seed)] = column = run_column(width, p, seed, data, recipe)
                log(f"{p:>3} width {width:>4} seed {seed}: {[round(v, 3) for v in column]}")
    used = {str(s): course_seed(s) for s in recipe["seeds"]}
    meta = {
        "seconds": time.perf_counter() - start,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    return {"recipe": {**recipe, **meta, "course_seeds_used": used}, "loss": loss}


def _json_safe(study: dict) -> str:
    """JSON has no infinity: a diverged run is stored as null."""
    text = json.dumps(study, indent=1)
    return text.replace("Infinity", "null")


def make_study(folder: Path, recipe: dict = RECIPE) -> list[Path]:
    """Run the study with one thread and write folder/studies/mup_transfer.json (whole or not at all)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a shared machine: one core, and the same numbers whatever it has
    try:
        study = run_study(recipe, log=lambda line: print(line, flush=True))
    finally:
        torch.set_num_threads(threads)
    path = Path(folder) / STUDY_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(_json_safe(study))
    partial.replace(path)
    return [path]


def load_study(path: Path | None = None) -> dict:
    """The study at `path`, by default the published one (utils.registry: verified, downloaded if need be);
    losses as floats (a diverged run, stored as null, is inf)."""
    from utils.registry import published_file

    path = Path(path) if path is not None else published_file(STUDY_NAME)
    if not path.is_file():
        raise FileNotFoundError(
            f"No stored study at {path}: the maintainers make it with `python tools/regenerate.py mup14`."
        )
    study = json.loads(path.read_text())
    for widths in study["loss"].values():
        for seeds in widths.values():
            for seed, column in seeds.items():
                seeds[seed] = [math.inf if v is None else v for v in column]
    return study
