"""How much faster is the course's training loop than the classic DataLoader loop? Measured side by side.

Both loops train the same network (the course's ReLU BaseNetwork, Kaiming init) with the same optimizer
(the course's SGD, lr=0.1) and batch size (256) on the same device, in one run:
  course:  the whole training split lives on the device as one normalized tensor; each batch is a slice
           of a shuffled index (utils.training, what train_model does);
  classic: torchvision's FashionMNIST dataset with a ToTensor + Normalize transform applied to every
           image, batched by a DataLoader(batch_size=256, shuffle=True), copied to the device per batch.
Each loop runs `--batches` batches per repetition (or whole epochs with --epochs), `--repeats` times,
interleaved; the fastest repetition is extrapolated to one epoch of 50,000 images. Usage:
    python benchmarks/benchmark_training.py                 # fastest device, 60 batches per loop
    python benchmarks/benchmark_training.py --epochs 1      # one full epoch of each loop
    python benchmarks/benchmark_training.py --device cpu --threads 1   # a busy shared CPU
"""

import argparse
import copy
import math
import time

import torch
from torch import nn
from torch.utils.data import DataLoader

from utils import get_device, set_seed
from utils.data import TRAIN_SIZE, fashion_mnist_datasets, fashion_mnist_tensors
from utils.init import kaiming_init
from utils.models import BaseNetwork
from utils.optimizers import SGD
from utils.training import train_epoch

BATCH_SIZE = 256


def _sync(device: torch.device) -> None:
    """GPU work is asynchronous: wait for it, or the timer stops before the work is done."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def _step(net, optimizer, x, y) -> None:
    loss = nn.functional.cross_entropy(net(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def time_course_loop(net, device, num_batches: int) -> float:
    """Seconds for `num_batches` batches of the course loop (tensors on the device, sliced batches)."""
    (x, y), _, _ = fashion_mnist_tensors(device)
    optimizer = SGD(net.parameters(), lr=0.1)
    generator = torch.Generator().manual_seed(0)
    remaining = num_batches * BATCH_SIZE
    _sync(device)
    start = time.perf_counter()
    while remaining > 0:  # train_epoch is the loop train_model runs, fed num_batches worth of images
        take = min(remaining, len(x))
        train_epoch(net, optimizer, x[:take], y[:take], BATCH_SIZE, generator)
        remaining -= take
    _sync(device)
    return time.perf_counter() - start


def time_classic_loop(net, device, num_batches: int) -> float:
    """Seconds for `num_batches` batches of the classic loop (per-image transforms, DataLoader, copies)."""
    train, _, _ = fashion_mnist_datasets()
    loader = DataLoader(train, batch_size=BATCH_SIZE, shuffle=True)
    optimizer = SGD(net.parameters(), lr=0.1)
    net.train()
    done = 0
    _sync(device)
    start = time.perf_counter()
    while done < num_batches:
        for x, y in loader:
            _step(net, optimizer, x.to(device), y.to(device))
            done += 1
            if done == num_batches:
                break
    _sync(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: utils.get_device())")
    parser.add_argument(
        "--epochs", type=float, default=None, help="whole epochs per loop (overrides --batches)"
    )
    parser.add_argument("--batches", type=int, default=60, help="batches per loop, extrapolated to an epoch")
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="timings per loop, interleaved; the fastest counts (least disturbed by other load)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device) if args.device else get_device()
    per_epoch = math.ceil(TRAIN_SIZE / BATCH_SIZE)
    num_batches = round(args.epochs * per_epoch) if args.epochs else args.batches
    if num_batches < 1:
        raise ValueError(f"--batches/--epochs must give at least one batch, got {num_batches}")

    result = compare_loops(device, num_batches, args.repeats)
    print(
        f"device: {device} ({torch.get_num_threads()} CPU threads), batch size {BATCH_SIZE}, "
        f"{num_batches} batches per loop, fastest of {max(args.repeats, 1)}, extrapolated to one epoch of "
        f"{TRAIN_SIZE} images ({per_epoch} batches)"
    )
    print(f"course loop  (tensors on the device):              {result['course_s_per_epoch']:7.2f} s/epoch")
    print(f"classic loop (DataLoader + per-sample transforms): {result['classic_s_per_epoch']:7.2f} s/epoch")
    print(f"speed-up: {result['speed_up']:.1f}x")


def compare_loops(device: torch.device, num_batches: int, repeats: int) -> dict:
    """Seconds per epoch of both loops on one network copy each, interleaved; the fastest repeat counts."""
    per_epoch = math.ceil(TRAIN_SIZE / BATCH_SIZE)
    set_seed(42)
    base = BaseNetwork("relu")
    kaiming_init(base)
    base.to(device)
    for loop in (time_course_loop, time_classic_loop):  # warm-up: first-call allocations, lazy init
        loop(copy.deepcopy(base), device, 2)
    times = {time_course_loop: [], time_classic_loop: []}
    for _ in range(max(repeats, 1)):  # interleaved, so a burst of other load hits both loops alike
        for loop, seconds in times.items():
            seconds.append(loop(copy.deepcopy(base), device, num_batches) * per_epoch / num_batches)
    course, classic = min(times[time_course_loop]), min(times[time_classic_loop])
    return {
        "batches": num_batches,
        "repeats": max(repeats, 1),
        "course_s_per_epoch": course,
        "classic_s_per_epoch": classic,
        "speed_up": classic / course,
    }


if __name__ == "__main__":
    main()
