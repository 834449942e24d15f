"""The training study of notebook 13: every deep-network variant, a few epochs, several seeds.

Each variant is the same 40-layer, 128-unit ReLU network (utils.deep.DeepMLP) with one thing changed: the
init, a normalization layer, or residual connections. All train with the same optimizer, learning rate,
batch size and number of epochs, so the accuracies compare the starts, not tuned recipes. The notebook
loads the published JSON (load_study); with RETRAIN = True it calls run_study() itself and keeps the result
in memory (the stored run took about 40 minutes on one thread of a shared machine). make_study(folder) is
what tools/regenerate.py publishes as saved_models/studies/deep_training.json.
"""

import json
import math
import time
from pathlib import Path

import torch

from utils import course_seed, set_seed, torch_generator
from utils.deep import DeepMLP
from utils.init import kaiming_init, lsuv_init, orthogonal_init, scale_residual_branches
from utils.training import evaluate, train_epoch

STUDY_NAME = "studies/deep_training.json"  # under saved_models/ (utils.registry) or make_study's folder
RECIPE = {
    "depth": 40,
    "width": 128,
    "epochs": 4,
    "batch_size": 128,
    "optimizer": "SGD",
    "lr": 0.003,
    "momentum": 0.9,
    "seeds": [0, 1, 2],
    "lsuv_batch": "first 1024 training images",
}


def _zero_init_residual(model):
    kaiming_init(model)
    scale_residual_branches(model, 0.0)


# name -> (DeepMLP keyword arguments, init(model, imgs) or None for PyTorch's default nn.Linear init)
VARIANTS = {
    "PyTorch default": ({}, None),
    "Kaiming": ({}, lambda model, imgs: kaiming_init(model)),
    "orthogonal": ({}, lambda model, imgs: orthogonal_init(model)),
    "LSUV": ({}, lsuv_init),
    "BatchNorm": ({"norm": "batch"}, None),
    "LayerNorm": ({"norm": "layer"}, None),
    "BatchNorm + Kaiming": ({"norm": "batch"}, lambda model, imgs: kaiming_init(model)),
    "LayerNorm + Kaiming": ({"norm": "layer"}, lambda model, imgs: kaiming_init(model)),
    "residual, Kaiming": ({"residual": True}, lambda model, imgs: kaiming_init(model)),
    "residual, zero-init": ({"residual": True}, lambda model, imgs: _zero_init_residual(model)),
}


def build_variant(name: str, imgs: torch.Tensor, seed: int, depth: int = 40, width: int = 128) -> DeepMLP:
    """A freshly initialized network of variant `name`; `imgs` is the batch LSUV calibrates on."""
    if name not in VARIANTS:
        raise ValueError(f"Unknown variant {name!r}: use one of {list(VARIANTS)}.")
    kwargs, init = VARIANTS[name]
    set_seed(seed)
    model = DeepMLP(depth, width, input_size=imgs[0].numel(), **kwargs)
    if init is not None:
        init(model, imgs)
    return model


def _finite(x: float) -> float | None:
    """JSON has no NaN or infinity: a diverged run's loss is stored as null."""
    return x if math.isfinite(x) else None


def train_variant(name: str, seed: int, data, recipe: dict = RECIPE) -> dict:
    """One variant, one seed: per-epoch training loss and validation accuracy, final test accuracy."""
    (x_train, y_train), val, test = data
    model = build_variant(name, x_train[:1024], seed, recipe["depth"], recipe["width"])
    optimizer = torch.optim.SGD(model.parameters(), lr=recipe["lr"], momentum=recipe["momentum"])
    generator = torch_generator(seed)
    history = {"train_loss": [], "val_acc": []}
    start = time.perf_counter()
    for _ in range(recipe["epochs"]):
        train_loss, _ = train_epoch(model, optimizer, x_train, y_train, recipe["batch_size"], generator)
        history["train_loss"].append(_finite(train_loss))
        history["val_acc"].append(evaluate(model, val)[1])
    return {**history, "test_acc": evaluate(model, test)[1], "seconds": time.perf_counter() - start}


def run_study(recipe: dict = RECIPE, variants=tuple(VARIANTS), log=print) -> dict:
    """{variant: {seed: results}} for every variant and seed of `recipe`, with the recipe and the seeds
    actually used (course_seed of each, so a run under COURSE_SEED says so)."""
    from utils.data import fashion_mnist_tensors  # imported here: only training needs the dataset

    data = fashion_mnist_tensors("cpu")
    results = {}
    for name in variants:
        results[name] = {}
        for seed in recipe["seeds"]:
            results[name][str(seed)] = run = train_variant(name, seed, data, recipe)
            log(
                f"{name:>22} seed {seed}: val acc {[round(a, 4) for a in run['val_acc']]}, "
                f"test {run['test_acc']:.4f}, {run['seconds']:.0f} s"
            )
    used_seeds = {str(s): course_seed(s) for s in recipe["seeds"]}
    return {
        "recipe": {
            **recipe,
            "course_seeds_used": used_seeds,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
        "results": results,
    }


def stored_study(path: Path | None = None, recipe: dict = RECIPE) -> dict | None:
    """The study at `path` (default: the published one) if it was made with `recipe`; None otherwise."""
    study = load_study(path)
    made_with = {key: study["recipe"].get(key) for key in recipe}
    return study if made_with == recipe else None


def load_study(path: Path | None = None) -> dict:
    """The study at `path`, by default the published one (utils.registry: verified, downloaded if need be)."""
    from utils.registry import published_file

    path = Path(path) if path is not None else published_file(STUDY_NAME)
    if not path.is_file():
        raise FileNotFoundError(f"No stored study at {path}: set RETRAIN = True to train it here.")
    return json.loads(path.read_text())


def make_study(folder: Path) -> list[Path]:
    """Train every variant with RECIPE and write folder/studies/deep_training.json; returns [that file]."""
    study = run_study(log=lambda line: print(line, flush=True))
    path = Path(folder) / STUDY_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(study, indent=1))
    return [path]
