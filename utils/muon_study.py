"""The study of notebook 15: Muon against AdamW on Fashion-MNIST, each at its own tuned learning rate.

    python tools/regenerate.py muon15     # writes saved_models/studies/muon_vs_adamw.json (COURSE_SEED unset)

Same network, data, batches, schedule and weight decay for both; only the optimizer differs. Muon is
torch.optim.Muon on the hidden weight matrices (adjust_lr_fn="match_rms_adamw", so one learning rate
suits it and the AdamW that trains the biases and the output layer: utils.muon.muon_with_adamw); AdamW is
torch.optim.AdamW on everything. Each optimizer gets a grid of peak rates; each run warms up for
`warmup_steps` and then decays along half a cosine to 0 at the last step, so every accuracy is read at
the end of a decayed schedule. The rate is chosen per optimizer by the mean validation accuracy over the
seeds; the test accuracy is reported at that rate. A data subset keeps the whole study to a few minutes
on one CPU thread.
"""

import json
import sys
import time
from pathlib import Path

import torch

from utils import course_seed, set_seed, torch_generator
from utils.init import kaiming_init
from utils.models import BaseNetwork
from utils.muon import Optimizers, muon_with_adamw
from utils.schedules import Scheduled, warmup_cosine
from utils.training import evaluate, train_epoch

STUDY_NAME = "studies/muon_vs_adamw.json"  # under saved_models/ (utils.registry) or make_study's folder
RECIPE = {
    "train_images": 10_000,  # the first images of the course's 50k training split
    "val_images": 5_000,  # the first images of its validation split (chooses the rate)
    "test_images": 10_000,  # Fashion-MNIST's whole test set (reports the accuracy)
    "hidden_sizes": [256, 256],
    "epochs": 3,
    "batch_size": 128,
    "warmup_steps": 20,
    "schedule": "linear warm-up, then half a cosine to 0 at the last step (per batch)",
    "weight_decay": 0.01,
    "lrs": {"AdamW": [3e-4, 1e-3, 3e-3, 1e-2, 3e-2], "Muon": [1e-3, 3e-3, 1e-2, 3e-2, 1e-1]},
    "muon": {"momentum": 0.95, "nesterov": True, "adjust_lr_fn": "match_rms_adamw"},
    "seeds": [0, 1, 2],
}


def make_optimizer(name: str, model, lr: float, recipe: dict = RECIPE):
    """AdamW on every parameter, or torch.optim.Muon on the hidden matrices with AdamW on the rest."""
    if name == "AdamW":
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=recipe["weight_decay"])
    if name == "Muon":
        return muon_with_adamw(model, lr, recipe["weight_decay"], **recipe["muon"])
    raise ValueError(f"Unknown optimizer {name!r}: use one of {list(recipe['lrs'])}.")


def scheduled(optimizer, total_steps: int, warmup_steps: int):
    """Every torch optimizer inside `optimizer` advanced along warm-up + cosine once per batch."""
    inner = optimizer.optimizers if isinstance(optimizer, Optimizers) else (optimizer,)
    factor = warmup_cosine(warmup_steps, total_steps)
    return Optimizers(*(Scheduled(o, lambda o: torch.optim.lr_scheduler.LambdaLR(o, factor)) for o in inner))


def subset(data, recipe: dict = RECIPE):
    """The study's (train, val, test) from the course's three splits."""
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = data
    n, v, t = recipe["train_images"], recipe["val_images"], recipe["test_images"]
    return (x_train[:n], y_train[:n]), (x_val[:v], y_val[:v]), (x_test[:t], y_test[:t])


def train_run(name: str, lr: float, seed: int, data, recipe: dict = RECIPE) -> dict:
    """One optimizer, one peak rate, one seed: validation and test accuracy at the end of the schedule,
    the training loss per epoch and the seconds per step (training only)."""
    (x_train, y_train), val, test = data
    set_seed(seed)
    model = BaseNetwork("relu", hidden_sizes=recipe["hidden_sizes"])
    kaiming_init(model)
    steps_per_epoch = -(-len(x_train) // recipe["batch_size"])
    total = recipe["epochs"] * steps_per_epoch
    optimizer = scheduled(make_optimizer(name, model, lr, recipe), total, recipe["warmup_steps"])
    generator = torch_generator(seed)
    losses = []
    start = time.perf_counter()
    for _ in range(recipe["epochs"]):
        losses.append(train_epoch(model, optimizer, x_train, y_train, recipe["batch_size"], generator)[0])
    seconds = time.perf_counter() - start
    return {
        "train_loss": losses,
        "val_acc": evaluate(model, val)[1],
        "test_acc": evaluate(model, test)[1],
        "seconds_per_step": seconds / total,
    }


def run_study(recipe: dict = RECIPE, log=print) -> dict:
    """{optimizer: {lr: {seed: run}}} for the whole grid, with the recipe and the seeds actually used."""
    from utils.data import fashion_mnist_tensors  # imported here: only training needs the dataset

    data = subset(fashion_mnist_tensors("cpu"), recipe)
    runs = {}
    for name, lrs in recipe["lrs"].items():
        runs[name] = {}
        for lr in lrs:
            runs[name][str(lr)] = {}
            for seed in recipe["seeds"]:
                runs[name][str(lr)][str(seed)] = run = train_run(name, lr, seed, data, recipe)
                log(
                    f"{name:>5} lr {lr:<7g} seed {seed}: val {run['val_acc']:.4f} test {run['test_acc']:.4f} "
                    f"{1000 * run['seconds_per_step']:.1f} ms/step"
                )
    return {
        "recipe": {
            **recipe,
            "course_seeds_used": {str(s): course_seed(s) for s in recipe["seeds"]},
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
        "runs": runs,
    }


def make_study(folder: Path) -> list[Path]:
    """Run the study on one thread and write folder/studies/muon_vs_adamw.json (whole or not at all);
    `folder` is a checkpoint folder such as saved_models/. Returns the paths written."""
    torch.set_num_threads(1)  # a shared machine: one core, and the same numbers whatever it has
    study = run_study(log=lambda line: print(line, flush=True))
    path = Path(folder) / STUDY_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(study, indent=1))
    partial.replace(path)
    print(f"wrote {path}", file=sys.stderr)
    return [path]


def load_study(path: Path | None = None) -> dict:
    """The study at `path`, by default the published one (utils.registry: verified, downloaded if need be)."""
    from utils.registry import published_file

    path = Path(path) if path is not None else published_file(STUDY_NAME)
    if not path.is_file():
        raise FileNotFoundError(
            f"No stored study at {path}: the maintainers make it with `python tools/regenerate.py muon15`."
        )
    return json.loads(path.read_text())
