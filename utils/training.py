"""Training loop of the course: classifiers on Fashion-MNIST (06, 10). (The optimizer paths on the 2D
surfaces of 07-08 are run by utils.surfaces.train_curve.)

train_model keeps whole splits on the device as tensors and slices shuffled batches out of them: no
DataLoader, no per-sample transform, so an epoch costs what the network costs (see
benchmarks/benchmark_training.py for the speed-up over the classic loop). It checks every argument before
training starts, each message naming the fix. Its results record their recipe (utils.recipes); a stored
result is reused only for the same recipe: the course's published model (utils.registry, read only),
else the student's latest run. A retrain is a new run folder of the student's (utils.checkpoints).
"""

import json
import numbers
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from utils import REPO_ROOT, get_device, torch_generator
from utils.checkpoints import (
    CheckpointError,
    check_writable,
    is_published_model,
    latest_run,
    load_published_model,
    load_run,
    model_files,
    runs_dir,
    save_run,
    standard_json,
)
from utils.recipes import make_recipe, recipe_differences
from utils.registry import PublishedError

TEST_SIZE = 10_000  # Fashion-MNIST's official test split
SPLITS = ("training", "validation", "test")


def _to_device(data, device):
    return [(x.to(device), y.to(device)) for x, y in data]


@torch.no_grad()
def evaluate(net: nn.Module, data_split, batch_size: int = 1024) -> tuple[float, float]:
    """(mean cross-entropy loss, accuracy) of `net` on an (images, labels) pair of tensors."""
    x, y = data_split
    net.eval()
    loss_sum, correct = 0.0, 0
    for start in range(0, len(x), batch_size):
        logits = net(x[start : start + batch_size])
        target = y[start : start + batch_size]
        loss_sum += nn.functional.cross_entropy(logits, target, reduction="sum")
        correct += (logits.argmax(dim=-1) == target).sum()
    return float(loss_sum) / len(x), int(correct) / len(x)


def test_model(net: nn.Module, data_split, batch_size: int = 1024) -> float:
    """Accuracy (a float in [0, 1]) of `net` on an (images, labels) pair of tensors."""
    return evaluate(net, data_split, batch_size)[1]


test_model.__test__ = False  # a library function, not a pytest test (its name starts with "test")


def train_epoch(net, optimizer, x, y, batch_size, generator) -> tuple[float, float]:
    """One pass over (x, y) in shuffled batches; returns the mean training loss and accuracy."""
    net.train()
    order = torch.randperm(len(x), generator=generator).to(x.device)
    loss_sum = torch.zeros((), device=x.device)  # summed on the device: no GPU->CPU wait per batch
    correct = torch.zeros((), dtype=torch.long, device=x.device)
    for start in range(0, len(x), batch_size):
        idx = order[start : start + batch_size]
        logits = net(x[idx])
        loss = nn.functional.cross_entropy(logits, y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach() * len(idx)
        correct += (logits.argmax(dim=-1) == y[idx]).sum()
    return loss_sum.item() / len(x), correct.item() / len(x)


def shown(path: Path) -> str:
    """A folder as messages show it: relative to the course folder when inside it (no local paths)."""
    path = Path(path).resolve()
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def retrained_dir(checkpoint_dir=None) -> Path:
    """The student's own folder (saved_models/retrained, git-ignored, or $PATH_CHECKPOINT/retrained):
    every retrain and re-run study goes there, never over the course's published files."""
    return runs_dir(checkpoint_dir)


def data_recipe(data) -> dict:
    """The data split of a run: the course's seeded split, or the sizes of the tensors given."""
    if data is None:
        from utils.data import SPLIT_SEED, TRAIN_SIZE, VAL_SIZE

        return {
            "source": "fashion_mnist_tensors",
            "split_seed": SPLIT_SEED,
            "sizes": [TRAIN_SIZE, VAL_SIZE, TEST_SIZE],
        }
    return {"source": "given", "sizes": [len(x) for x, _ in data]}


def _whole(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1 (such as {name}=10), got {value!r}")
    return int(value)


def _as_tensor(value, what: str) -> torch.Tensor:
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{what} must be a tensor (or numpy array), got {type(value).__name__}")
    return value


def check_data(data, net) -> list:
    """The three (images, labels) splits as tensors fit for `net`; a ValueError naming the fix otherwise."""
    shape = "data must be ((x_train, y_train), (x_val, y_val), (x_test, y_test))"
    try:
        pairs = [(x, y) for x, y in data]
    except (TypeError, ValueError):
        raise ValueError(f"{shape}, got {type(data).__name__}") from None
    if len(pairs) != 3:
        raise ValueError(f"{shape}: got {len(pairs)} splits instead of 3")
    config, dtype = net.config, next(net.parameters()).dtype
    checked = []
    for split, (x, y) in zip(SPLITS, pairs, strict=True):
        x, y = _as_tensor(x, f"the {split} images"), _as_tensor(y, f"the {split} labels")
        if len(x) == 0:
            raise ValueError(f"the {split} split is empty: give it at least one image")
        if not x.is_floating_point():
            raise ValueError(
                f"the {split} images are {x.dtype}: standardize them to floats first, e.g. "
                "(x.float() / 255 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD (utils.data)"
            )
        if x.dtype != dtype:
            raise ValueError(
                f"the {split} images are {x.dtype} but the network's weights are {dtype}: use x.to({dtype})"
            )
        if x[0].numel() != config["input_size"]:
            raise ValueError(
                f"each {split} image has {x[0].numel()} values (shape {tuple(x.shape[1:])}) but the network "
                f"takes {config['input_size']}: give [N, 1, 28, 28] grey images, or a network for this size"
            )
        if y.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8) or y.shape != (len(x),):
            raise ValueError(
                f"the {split} labels must be {len(x)} whole numbers (int64), got {y.dtype} "
                f"of shape {tuple(y.shape)}"
            )
        if y.min() < 0 or y.max() >= config["num_classes"]:
            raise ValueError(
                f"the {split} labels run from {int(y.min())} to {int(y.max())}, but the network has "
                f"{config['num_classes']} classes (labels 0 to {config['num_classes'] - 1})"
            )
        checked.append((x, y.long()))
    return checked


def make_optimizer(optim_func, params):
    """optim_func(params), checked: it must be a function that returns an optimizer."""
    if hasattr(optim_func, "step") and hasattr(optim_func, "zero_grad"):
        raise TypeError(
            f"optim_func must build the optimizer, but it is one already ({type(optim_func).__name__}): pass "
            "a function instead, e.g. optim_func=lambda params: SGD(params, lr=0.1)"
        )
    if not callable(optim_func):
        raise TypeError(
            f"optim_func must be a function such as lambda params: SGD(params, lr=0.1), got {optim_func!r}"
        )
    optimizer = optim_func(params)
    if not (callable(getattr(optimizer, "step", None)) and callable(getattr(optimizer, "zero_grad", None))):
        raise TypeError(
            f"optim_func returned {optimizer!r}, not an optimizer: it must `return` one, e.g. "
            "def optim_func(params): return SGD(params, lr=0.1)"
        )
    return optimizer


def check_device(device) -> torch.device:
    """`device` as a torch.device this machine has; None picks the fastest (utils.get_device)."""
    if device is None:
        return get_device()
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"device={device!r} is not a device ({err}): use 'cpu', 'cuda', 'mps' or None"
        ) from None
    available = {"cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if not available.get(device.type, True):
        raise ValueError(
            f"device={str(device)!r}, but this machine has no {device.type} device: leave device=None "
            "and the fastest one available is used"
        )
    return device


def check_network(net) -> None:
    if not isinstance(net, nn.Module) or not isinstance(getattr(net, "config", None), dict):
        raise TypeError(
            f"train_model trains a utils.models.BaseNetwork (it stores the network's .config to rebuild "
            f"it), got {type(net).__name__}: build it with BaseNetwork(...)"
        )


def _stored(net, model_name: str, folder: Path, recipe: dict) -> dict | None:
    """Results of a stored model made with `recipe`, its weights loaded into `net`; else None, with the
    reason printed. The published model comes first, then the student's latest run."""
    loaders = []
    if is_published_model(model_name):
        loaders.append(("the course's published files", lambda: load_published_model(model_name)))
    try:
        has_run = latest_run(model_name, folder) is not None
    except CheckpointError as err:
        print(f"{err} Not used.")
        has_run = False
    if has_run:
        loaders.append((shown(runs_dir(folder) / model_name), lambda: load_run(model_name, folder)))
    for where, load in loaders:
        try:
            stored_net, results = load()
        except (CheckpointError, PublishedError) as err:
            print(f"{err} Not used.")
            continue
        differences = recipe_differences(results.get("recipe"), recipe)
        if differences:
            print(
                f"The stored {model_name!r} in {where} was made with another recipe "
                f"({'; '.join(differences)}): not used."
            )
            continue
        net.load_state_dict(stored_net.state_dict())  # the same recipe, so the same network config
        print(
            f"Loaded the trained {model_name!r} from {where} (train_model(..., overwrite=True) retrains it)."
        )
        return results
    return None


def train_model(
    net,
    model_name: str,
    optim_func,
    max_epochs: int = 40,
    batch_size: int = 256,
    overwrite: bool = False,
    data=None,
    device=None,
    checkpoint_dir=None,
    seed: int = 42,
) -> dict:
    """Train `net` with cross-entropy, keep the epoch with the best validation accuracy; return its results.

    optim_func(params) builds the optimizer: any object with zero_grad() and step() (the course's own
    optimizers or torch.optim). data: ((x_train, y_train), (x_val, y_val), (x_test, y_test)) tensors,
    by default utils.data.fashion_mnist_tensors. seed (through utils.course_seed) orders the batches.

    Unless overwrite=True, a stored result made with the same recipe (utils.recipes) is loaded instead:
    the course's published one, else the student's latest run; one of another recipe is named with what
    differs, and not used. Training writes a new run folder (utils.checkpoints.save_run) under
    retrained_dir(checkpoint_dir) once it is complete; nothing else is written. `net` ends up holding
    the best weights.
    """
    max_epochs, batch_size = _whole("max_epochs", max_epochs), _whole("batch_size", batch_size)
    if not isinstance(model_name, str) or not model_name or Path(model_name).name != model_name:
        raise ValueError(f"model_name must be a plain file name (no folders), got {model_name!r}")
    check_network(net)
    folder = checkpoint_dir
    device = check_device(device)
    net.to(device)
    if data is not None:
        data = check_data(data, net)
    optimizer = make_optimizer(optim_func, net.parameters())
    recipe = make_recipe(net, optimizer, max_epochs, batch_size, seed, data_recipe(data), device)
    if not overwrite:
        results = _stored(net, model_name, folder, recipe)
        if results is not None:
            return results
    out = runs_dir(folder) / model_name
    check_writable(out)
    print(f"Training {model_name!r} for {max_epochs} epochs into {shown(out)}.")
    if data is None:
        from utils.data import fashion_mnist_tensors  # imported here: only training needs the dataset

        data = fashion_mnist_tensors(device)
    results = fit(net, optimizer, _to_device(data, device), max_epochs, batch_size, seed, model_name)
    results = {"model_name": model_name, **results, "recipe": recipe}
    run = save_run(net, results, model_name, folder)
    return json.loads((run / model_files(model_name)["results"]).read_text())  # as stored: NaN is null


def fit(net, optimizer, data, max_epochs: int, batch_size: int, seed: int, desc: str = "training") -> dict:
    """The training run itself: epochs with a progress bar, best validation epoch kept (in memory, so
    nothing is written until the run is complete); `net` ends holding it. Returns the measurements."""
    (x_train, y_train), val, test = data
    generator = torch_generator(seed)
    history = {"train_acc": [], "val_acc": [], "train_loss": [], "val_loss": []}
    best_val, best_epoch, best_state, start = -1.0, -1, None, time.perf_counter()
    epochs = tqdm(range(max_epochs), desc=desc, unit="epoch")
    for epoch in epochs:
        train_loss, train_acc = train_epoch(net, optimizer, x_train, y_train, batch_size, generator)
        val_loss, val_acc = evaluate(net, val)
        for key, value in zip(history, (train_acc, val_acc, train_loss, val_loss), strict=True):
            history[key].append(value)
        if val_acc > best_val:
            best_val, best_epoch = val_acc, epoch
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        epochs.set_postfix(val_acc=f"{val_acc:.2%}", best=f"{best_val:.2%}")
    seconds = time.perf_counter() - start
    diverged = next((i for i, loss in enumerate(history["train_loss"]) if not np.isfinite(loss)), None)
    if diverged is not None:
        print(
            f"{desc}: the training loss became {history['train_loss'][diverged]} in epoch {diverged + 1}: "
            "the "
            "run diverged (try a smaller learning rate). Its results store that loss as null."
        )
    net.load_state_dict(best_state)
    return standard_json(
        {
            "test_acc": test_model(net, test),
            "val_acc_best": best_val,
            "best_epoch": best_epoch,
            **history,
            "epochs": max_epochs,
            "batch_size": batch_size,
            "seed": seed,
            "optimizer": type(optimizer).__name__,
            "device": x_train.device.type,
            "seconds_per_epoch": seconds / max_epochs,
            "diverged_epoch": None if diverged is None else diverged + 1,
        }
    )
