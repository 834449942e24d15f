"""The recipe of a training run: what made a result, so a stored result is reused only for the same recipe.

A recipe is read from the objects the run really uses - the optimizer as built (torch.optim's
param_groups without the parameters, or the course optimizers' hyperparameter attributes), the network's
config, the spread of its initial weights - plus epochs, batch size, seed and data split. Its
`environment` (torch version, device, threads, machine, COURSE_SEED) is recorded but not compared: the
course's pretrained models are meant for any machine, and they are loaded under any COURSE_SEED (the
robustness run checks the live cells; the recipe records the seeds the stored files were made with).
"""

import json
import os
import platform

import torch
from torch import nn

from utils import COURSE_SEED_ENV

NOT_COMPARED = ("environment",)
INIT_TOLERANCE = 0.1  # weight std per layer: the init's scale, not the seed's draw (<= 2 % noise per layer)


def _plain(value):
    """A JSON-ready copy of a hyperparameter value, or None when it is not a plain setting (a tensor list)."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, (tuple, list)) and all(isinstance(v, (bool, int, float, str)) for v in value):
        return list(value)
    return None


def optimizer_recipe(optimizer) -> dict:
    """Class and hyperparameters of an optimizer as built (so a changed lr is seen whatever the code)."""
    if isinstance(optimizer, torch.optim.Optimizer):
        groups = [{k: _plain(v) for k, v in g.items() if k != "params"} for g in optimizer.param_groups]
        settings = groups[0] if len(groups) == 1 else {"param_groups": groups}
    else:
        settings = {k: _plain(v) for k, v in vars(optimizer).items() if _plain(v) is not None}
    kind = type(optimizer)
    return {"class": f"{kind.__module__}.{kind.__qualname__}", **settings}


def init_recipe(net: nn.Module) -> dict:
    """The std of each linear layer's initial weights: tells Kaiming from N(0, 0.01^2), not seed from seed."""
    stds = [m.weight.detach().float().std().item() for m in net.modules() if isinstance(m, nn.Linear)]
    return {"weight_std": [float(f"{s:.4g}") for s in stds]}


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def environment(device) -> dict:
    return {
        "torch": torch.__version__,
        "device": torch.device(device).type,
        "threads": torch.get_num_threads(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "course_seed": os.environ.get(COURSE_SEED_ENV) or None,
    }


def make_recipe(net, optimizer, epochs: int, batch_size: int, seed: int, data_split: dict, device) -> dict:
    config = getattr(net, "config", None) or {"class": type(net).__qualname__}
    recipe = {
        "optimizer": optimizer_recipe(optimizer),
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
        "init": init_recipe(net),
        "network": config,
        "data": data_split,
        "environment": environment(device),
    }
    return json.loads(json.dumps(recipe))  # the form it has once stored: tuples become lists


def _flatten(tree, prefix=""):
    if not isinstance(tree, dict):
        return {prefix: tree}
    out = {}
    for key, value in tree.items():
        if not prefix and key in NOT_COMPARED:
            continue
        out.update(_flatten(value, f"{prefix}.{key}" if prefix else key))
    return out


def _same(key: str, a, b) -> bool:
    if key == "init.weight_std" and isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return all(abs(x - y) <= INIT_TOLERANCE * max(abs(x), abs(y)) for x, y in zip(a, b, strict=True))
    return a == b


def recipe_differences(stored: dict | None, wanted: dict) -> list[str]:
    """What differs between a stored recipe and the wanted one, one 'key: stored -> wanted' per item."""
    if not isinstance(stored, dict):
        return ["the stored results do not record their recipe (made by an older version of the course)"]
    old, new = _flatten(stored), _flatten(wanted)
    if old.get("optimizer.class") != new.get("optimizer.class"):  # another optimizer: its settings differ too
        old, new = (
            {k: v for k, v in d.items() if not k.startswith("optimizer.") or k == "optimizer.class"}
            for d in (old, new)
        )
    return [
        f"{key}: {old.get(key, '(none)')} -> {new.get(key, '(none)')}"
        for key in sorted(old.keys() | new.keys())
        if not _same(key, old.get(key), new.get(key))
    ]
