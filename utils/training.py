"""Training loop of the course: classifiers on Fashion-MNIST (06, 10). (The optimizer paths on the 2D
surfaces of 07-08 are run by utils.surfaces.train_curve.)

train_model keeps whole splits on the device as tensors and slices shuffled batches out of them: no
DataLoader, no per-sample transform, so an epoch costs what the network costs (see
benchmarks/benchmark_training.py for the speed-up over the classic loop). Its results record their
recipe (utils.recipes); a stored result is reused only for the same recipe, and a retrain replaces the
old model only once the new one is complete - never the course's pretrained files (see train_model).
"""

import time
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from utils import REPO_ROOT, get_device, torch_generator
from utils.checkpoints import (
    CheckpointError,
    check_writable,
    folder_of,
    is_complete,
    load_model,
    load_results,
    model_files,
    save_model,
    save_results,
)
from utils.downloads import download_pretrained, models_url, pretrained_manifest
from utils.recipes import make_recipe, recipe_differences

RETRAINED = "retrained"
TEST_SIZE = 10_000  # Fashion-MNIST's official test split




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
    """Where retrains of the course's pretrained models go: a folder of the student's own, beside them
    (saved_models/retrained is git-ignored), so the published files are never written over."""
    return folder_of(checkpoint_dir) / RETRAINED


def output_dir(model_name: str, checkpoint_dir=None) -> Path:
    """The folder a training of `model_name` writes to: retrained_dir for a pretrained model (listed in
    the manifest), else the checkpoint folder itself."""
    folder = folder_of(checkpoint_dir)
    pretrained = all(name in pretrained_manifest(folder) for name in model_files(model_name).values())
    return retrained_dir(folder) if pretrained else folder


def data_recipe(data) -> dict:
    """The data split of a run: the course's seeded split, or the sizes of the tensors given."""
    if data is None:
        from utils.data import SPLIT_SEED, TRAIN_SIZE, VAL_SIZE

        return {
            "source": "fashion_mnist_tensors",
            "split_seed": SPLIT_SEED,
            "sizes": [TRAIN_SIZE, VAL_SIZE, TEST_SIZE],
        }
    try:
        (x_train, _), (x_val, _), (x_test, _) = data
    except (TypeError, ValueError):
        raise ValueError(
            "data must be ((x_train, y_train), (x_val, y_val), (x_test, y_test)) tensors"
        ) from None
    return {"source": "given", "sizes": [len(x_train), len(x_val), len(x_test)]}


def _reuse(net, model_name: str, folder: Path, out: Path, recipe: dict) -> dict | None:
    """Results of a stored model made with `recipe`, its weights loaded into `net`; else None, with the
    reason printed. The published model comes first, then the student's own retrain."""
    for where in dict.fromkeys([folder, out]):
        pretrained = where == folder and out != folder
        if pretrained and not is_complete(model_name, where):
            print(f"No pretrained {model_name!r} in {shown(where)} yet: downloading it from {models_url()}")
        if pretrained and not download_pretrained(model_name, where):
            continue
        if not is_complete(model_name, where):
            continue
        differences = recipe_differences(load_results(model_name, where).get("recipe"), recipe)
        if differences:
            print(
                f"The stored {model_name!r} in {shown(where)} was made with another recipe "
                f"({'; '.join(differences)}): not used."
            )
            continue
        try:
            load_model(model_name, where, net=net)
        except CheckpointError as err:
            print(f"{err} Not used.")
            continue
        print(
            f"Loaded the trained {model_name!r} from {shown(where)} "
            "(train_model(..., overwrite=True) retrains it)."
        )
        return load_results(model_name, where)
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
    the course's pretrained one (verified, downloaded if missing), else an earlier retrain; a stored
    result of another recipe is named with what differs, and not used. Training writes the new model
    beside the old one and replaces it only once it is complete. A pretrained model is never written
    over: its retrain goes to retrained_dir(checkpoint_dir). `net` ends up holding the best weights.
    """
    if not (
        isinstance(max_epochs, int) and isinstance(batch_size, int) and max_epochs >= 1 and batch_size >= 1
    ):
        raise ValueError(
            f"max_epochs and batch_size must be whole numbers >= 1, got {max_epochs!r} and {batch_size!r}"
        )
    if not model_name or Path(model_name).name != model_name:
        raise ValueError(f"model_name must be a plain file name (no folders), got {model_name!r}")
    folder = folder_of(checkpoint_dir)
    device = torch.device(device) if device is not None else get_device()
    net.to(device)
    optimizer = optim_func(net.parameters())
    recipe = make_recipe(net, optimizer, max_epochs, batch_size, seed, data_recipe(data), device)
    out = output_dir(model_name, folder)
    if not overwrite:
        results = _reuse(net, model_name, folder, out, recipe)
        if results is not None:
            return results
    check_writable(out)
    print(f"Training {model_name!r} for {max_epochs} epochs into {shown(out)}.")
    if data is None:
        from utils.data import fashion_mnist_tensors  # imported here: only training needs the dataset

        data = fashion_mnist_tensors(device)
    results = fit(net, optimizer, _to_device(data, device), max_epochs, batch_size, seed, model_name)
    results = {"model_name": model_name, **results, "recipe": recipe}
    save_model(net, model_name, out)
    save_results(results, model_name, out)
    return load_results(model_name, out)


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
    net.load_state_dict(best_state)
    return {
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
    }
