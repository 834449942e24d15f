"""The precomputed study of notebook 12: learning-rate range tests, schedules, Adam + L2 against AdamW,
and the sharpness of the trained minima, on Fashion-MNIST with 3 seeds.

make_study(folder) writes folder/studies/practice.json (every number the notebook shows) and the seed-0
networks of four optimizers as folder/practice/<name>.* (config + weights + results); about 25 min on one
CPU thread. tools/regenerate.py publishes them; notebook 12's RETRAIN runs it into the student's own
folder. A run under COURSE_SEED records it in the recipe; the published files were made with it unset.
"""

import copy
import json
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from utils import COURSE_SEED_ENV, course_seed, set_seed, torch_generator
from utils.checkpoints import export_run
from utils.data import fashion_mnist_tensors
from utils.init import kaiming_init
from utils.models import BaseNetwork
from utils.schedules import Scheduled, lr_range_test, suggest_lr, warmup_cosine
from utils.sharpness import filter_normalized_direction, loss_along, top_hessian_eigenvalue
from utils.training import train_model

STUDY_NAME = "studies/practice.json"  # where the study and its networks go, under saved_models/ or `folder`
NETWORKS = "practice"
SEEDS = (0, 1, 2)
EPOCHS, BATCH_SIZE, HIDDEN = 15, 256, (256, 128)
RANGE = {"SGD": (1e-4, 10.0), "Adam": (1e-6, 1.0)}  # lr from, to; one batch per lr
RANGE_STEPS = 300
WARMUP_EPOCHS = 1
L2, ADAMW_DECAYS = 5e-4, (5e-4, 0.1)
SHARPNESS_IMAGES, ALPHAS, DIRECTIONS = 2000, np.linspace(-1, 1, 41), 2
HIGH = 10  # the schedules are also run at 10x the range test's choice: about where its loss was lowest
# The seed-0 networks published for the notebook: study name -> model name in saved_models/practice.
KEEP = {
    "SGD constant": "practice_SGD",
    "Adam": "practice_Adam",
    "Adam + L2": "practice_Adam_L2",
    "AdamW 0.1": "practice_AdamW",
}


def snap(lr: float) -> float:
    """The value 1, 2 or 5 x 10^k nearest to lr on a log scale: a round number a person would write down."""
    exponent = math.floor(math.log10(lr))
    grid = [m * 10.0**e for e in (exponent, exponent + 1) for m in (1, 2, 5)]
    return min(grid, key=lambda g: abs(math.log(g / lr)))


def base_network(seed: int) -> BaseNetwork:
    set_seed(seed)
    net = BaseNetwork("relu", hidden_sizes=HIDDEN)
    kaiming_init(net)
    return net


def range_tests(data, seeds, steps):
    """{optimizer: {"lrs": [...], "losses": {seed: [...]}}} and the suggested lr per optimizer."""
    (x, y), _, _ = data
    makers = {
        "SGD": lambda p: torch.optim.SGD(p, lr=1.0, momentum=0.9),
        "Adam": lambda p: torch.optim.Adam(p),
    }
    out = {}
    for name, make in makers.items():
        lrs = np.geomspace(*RANGE[name], steps)
        losses = {}
        for seed in seeds:
            net = base_network(seed)
            losses[seed] = lr_range_test(
                net, make(net.parameters()), x, y, lrs, BATCH_SIZE, torch_generator(seed + 100)
            )
        suggested = [suggest_lr(lrs, curve) for curve in losses.values()]
        lr = snap(float(np.exp(np.mean(np.log(suggested)))))
        out[name] = {"lrs": lrs.tolist(), "losses": losses, "suggested": suggested, "chosen_lr": lr}
        print(f"range test {name}: suggested {np.round(suggested, 6).tolist()} -> lr {lr:g}", flush=True)
    return out


def configs(sgd_lr: float, adam_lr: float, steps: int, epochs: int = EPOCHS) -> dict:
    """name -> optim_func(params) for every run of the study (torch's conventions: SGD momentum 0.9 with an
    undamped buffer; Adam's weight_decay is L2 added to the gradient, AdamW's is decoupled)."""
    warmup = WARMUP_EPOCHS * steps // epochs
    runs = {}
    for suffix, lr in (("", sgd_lr), (f", lr x{HIGH}", HIGH * sgd_lr)):
        runs["SGD constant" + suffix] = lambda p, lr=lr: torch.optim.SGD(p, lr=lr, momentum=0.9)
        runs["SGD warm-up + cosine" + suffix] = lambda p, lr=lr: Scheduled(
            torch.optim.SGD(p, lr=lr, momentum=0.9),
            lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(warmup, steps)),
        )
        runs["SGD one-cycle" + suffix] = lambda p, lr=lr: Scheduled(
            torch.optim.SGD(p, lr=lr, momentum=0.9),
            lambda opt: torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps + 1),
        )
    runs.update(
        {
            "Adam": lambda p: torch.optim.Adam(p, lr=adam_lr),
            "Adam + L2": lambda p: torch.optim.Adam(p, lr=adam_lr, weight_decay=L2),
        }
    )
    for decay in ADAMW_DECAYS:
        runs[f"AdamW {decay:g}"] = lambda p, decay=decay: torch.optim.AdamW(p, lr=adam_lr, weight_decay=decay)
    return runs


def sharpness(net, x, y, seed: int) -> dict:
    """Top Hessian eigenvalue of the training loss on x, y and loss curves along random filter-normalized
    directions; plus each layer's weight norm (weight decay shrinks it)."""
    net.eval()
    loss = torch.nn.functional.cross_entropy(net(x), y)
    params = list(net.parameters())
    eig, history = top_hessian_eigenvalue(loss, params, torch_generator(seed + 200))
    gen = torch_generator(seed + 300)
    curves = [loss_along(net, filter_normalized_direction(net, gen), ALPHAS, x, y) for _ in range(DIRECTIONS)]
    norms = [p.norm().item() for p in params if p.dim() == 2]
    return {
        "top_eigenvalue": eig,
        "power_iterations": len(history),
        "loss": loss.item(),
        "direction_losses": curves,
        "weight_norms": norms,
    }


def make_study(folder: Path, seeds=SEEDS, epochs: int = EPOCHS, range_steps: int = RANGE_STEPS) -> list[Path]:
    """Run the whole study into `folder`; returns the files written (the study JSON and the networks)."""
    folder = Path(folder)
    start = time.perf_counter()
    data = fashion_mnist_tensors("cpu")
    (x_train, y_train), _, _ = data
    x_sharp, y_sharp = x_train[:SHARPNESS_IMAGES], y_train[:SHARPNESS_IMAGES]
    ranges = range_tests(data, seeds, range_steps)
    steps = epochs * math.ceil(len(x_train) / BATCH_SIZE)
    runs = configs(ranges["SGD"]["chosen_lr"], ranges["Adam"]["chosen_lr"], steps, epochs)
    results, written = {name: {} for name in runs}, []
    with tempfile.TemporaryDirectory() as scratch:
        for seed in seeds:
            net0 = base_network(seed)
            for name, optim_func in runs.items():
                net = copy.deepcopy(net0)
                model_name = f"practice_{name.replace(' ', '_').replace('+', 'plus')}_seed{seed}"
                r = train_model(
                    net,
                    model_name,
                    optim_func,
                    max_epochs=epochs,
                    batch_size=BATCH_SIZE,
                    overwrite=True,
                    data=data,
                    device="cpu",
                    checkpoint_dir=scratch,
                    seed=course_seed(seed),
                )
                r["optimizer"] = name
                r.update(sharpness(net, x_sharp, y_sharp, seed))
                results[name][seed] = r
                print(
                    f"seed {seed} {name:>22}: test {r['test_acc']:.4f}, "
                    f"top eigenvalue {r['top_eigenvalue']:.2f} "
                    f"({time.perf_counter() - start:.0f} s)",
                    flush=True,
                )
                if seed == seeds[0] and name in KEEP:
                    written += export_run(model_name, scratch, folder / NETWORKS, KEEP[name])
                    results[name][seed]["checkpoint"] = KEEP[name]
    recipe = {
        "seeds": list(seeds),
        "course_seed_env": os.environ.get(COURSE_SEED_ENV),
        "epochs": epochs,
        "batch_size": BATCH_SIZE,
        "hidden_sizes": list(HIDDEN),
        "init": "kaiming",
        "range_steps": range_steps,
        "range": RANGE,
        "warmup_epochs": WARMUP_EPOCHS,
        "l2": L2,
        "adamw_decays": list(ADAMW_DECAYS),
        "sgd_momentum": 0.9,
        "sharpness_images": SHARPNESS_IMAGES,
        "alphas": ALPHAS.tolist(),
        "high_factor": HIGH,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "seconds": time.perf_counter() - start,
    }
    study_file = folder / STUDY_NAME
    study_file.parent.mkdir(parents=True, exist_ok=True)
    study_file.write_text(
        json.dumps({"recipe": recipe, "range_test": ranges, "runs": results}, indent=1) + "\n"
    )
    return [study_file, *written]
