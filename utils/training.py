"""Training loop of the course: classifiers on Fashion-MNIST (06, 10). (The optimizer paths on the 2D
surfaces of 07-08 are run by utils.surfaces.train_curve.)

train_model keeps whole splits on the device as tensors and slices shuffled batches out of them: no
DataLoader, no per-sample transform, so an epoch costs what the network costs (see
benchmarks/benchmark_training.py for the speed-up over the classic loop).
"""

import sys
import time
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from utils import CHECKPOINT_DIR, get_device
from utils.checkpoints import (download_pretrained, is_complete, load_model, load_results, remove_results,
                               save_model, save_results)


def _in_notebook() -> bool:
    """Inside a Jupyter kernel the progress bar stays off: stored notebooks should not carry its noise."""
    return "ipykernel" in sys.modules


def _to_device(data, device):
    return [(x.to(device), y.to(device)) for x, y in data]


@torch.no_grad()
def evaluate(net: nn.Module, data_split, batch_size: int = 1024) -> tuple[float, float]:
    """(mean cross-entropy loss, accuracy) of `net` on an (images, labels) pair of tensors."""
    x, y = data_split
    net.eval()
    loss_sum, correct = 0.0, 0
    for start in range(0, len(x), batch_size):
        logits = net(x[start:start + batch_size])
        target = y[start:start + batch_size]
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
        idx = order[start:start + batch_size]
        logits = net(x[idx])
        loss = nn.functional.cross_entropy(logits, y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach() * len(idx)
        correct += (logits.argmax(dim=-1) == y[idx]).sum()
    return loss_sum.item() / len(x), correct.item() / len(x)


def _load_pretrained(net, model_name, checkpoint_dir) -> dict | None:
    """Results of a complete stored (or downloadable) model, its weights loaded into `net`; else None."""
    if not (is_complete(model_name, checkpoint_dir) or download_pretrained(model_name, checkpoint_dir)):
        return None
    load_model(model_name, checkpoint_dir, net=net)
    print(f"Loaded the trained {model_name!r} from its checkpoint (train_model(..., overwrite=True) retrains it).")
    return load_results(model_name, checkpoint_dir)


def train_model(net, model_name: str, optim_func, max_epochs: int = 40, batch_size: int = 256,
                overwrite: bool = False, data=None, device=None, checkpoint_dir=None, seed: int = 42) -> dict:
    """Train `net` with cross-entropy, keep the epoch with the best validation accuracy; return its results.

    optim_func(params) builds the optimizer: any object with zero_grad() and step() (the course's own
    optimizers or torch.optim). data: ((x_train, y_train), (x_val, y_val), (x_test, y_test)) tensors,
    by default utils.data.fashion_mnist_tensors. A complete stored result is loaded instead of training
    (after downloading any missing pretrained file the manifest lists) unless overwrite=True.
    The best checkpoint is saved whenever validation improves; the results JSON is written last, so an
    interrupted run never looks finished. `net` ends up holding the best weights.
    """
    if max_epochs < 1 or batch_size < 1:
        raise ValueError(f"max_epochs and batch_size must be at least 1, got {max_epochs} and {batch_size}")
    checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else CHECKPOINT_DIR
    device = torch.device(device) if device is not None else get_device()
    net.to(device)
    if not overwrite:
        results = _load_pretrained(net, model_name, checkpoint_dir)
        if results is not None:
            return results
    remove_results(model_name, checkpoint_dir)
    if data is None:
        from utils.data import fashion_mnist_tensors  # imported here: only training needs the dataset
        data = fashion_mnist_tensors(device)
    (x_train, y_train), val, test = _to_device(data, device)
    optimizer = optim_func(net.parameters())
    generator = torch.Generator().manual_seed(seed)
    history = {"train_acc": [], "val_acc": [], "train_loss": [], "val_loss": []}
    best_val, best_epoch, start = -1.0, -1, time.perf_counter()
    for epoch in tqdm(range(max_epochs), desc=model_name, unit="epoch", disable=_in_notebook()):
        train_loss, train_acc = train_epoch(net, optimizer, x_train, y_train, batch_size, generator)
        val_loss, val_acc = evaluate(net, val)
        for key, value in zip(history, (train_acc, val_acc, train_loss, val_loss)):
            history[key].append(value)
        if val_acc > best_val:
            best_val, best_epoch = val_acc, epoch
            save_model(net, model_name, checkpoint_dir)
    seconds = time.perf_counter() - start
    load_model(model_name, checkpoint_dir, net=net, require_complete=False)
    results = {
        "model_name": model_name,
        "test_acc": test_model(net, test),
        "val_acc_best": best_val,
        "best_epoch": best_epoch,
        **history,
        "epochs": max_epochs,
        "batch_size": batch_size,
        "seed": seed,
        "optimizer": type(optimizer).__name__,
        "device": device.type,
        "seconds_per_epoch": seconds / max(max_epochs, 1),
    }
    save_results(results, model_name, checkpoint_dir)
    return results
