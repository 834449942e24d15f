"""Fashion-MNIST for the course: torchvision datasets, a seeded split, and whole splits as tensors.

The files are looked for in a fixed order, so the same code works on a laptop, on an offline lab
machine and in Colab:
  1. already under DATA_DIR (torchvision's layout, DATA_DIR/FashionMNIST/raw/),
  2. a local copy of the four original .gz files: the folder named by $FASHION_MNIST_DIR, else
     Debian's package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist),
  3. torchvision's download.
If none works, one error names the three ways to fix it.
"""

import gzip
import os
import shutil
from pathlib import Path

import torch
from torch.utils.data import random_split
from torchvision import transforms
from torchvision.datasets import FashionMNIST

from utils import DATA_DIR

# Mean and standard deviation of all 47,040,000 training pixels after scaling to [0, 1]
# (notebook 01 computes them; 0.28604 and 0.35302 to five digits).
FASHION_MNIST_MEAN = 0.2861
FASHION_MNIST_STD = 0.3530
CLASS_NAMES = FashionMNIST.classes
DEBIAN_COPY = Path("/usr/share/datasets/fashion-mnist")
LOCAL_COPY_ENV = "FASHION_MNIST_DIR"
SPLIT_SEED = 42
TRAIN_SIZE, VAL_SIZE = 50_000, 10_000
RAW_FILES = [name for name, _ in FashionMNIST.resources]  # the four *-ubyte.gz archives


def _raw_dir(root: Path) -> Path:
    return Path(root) / "FashionMNIST" / "raw"


def _has_raw_files(root: Path) -> bool:
    raw = _raw_dir(root)
    return all((raw / name.removesuffix(".gz")).is_file() for name in RAW_FILES)


def _local_copies() -> list[Path]:
    folders = [Path(os.environ[LOCAL_COPY_ENV])] if os.environ.get(LOCAL_COPY_ENV) else []
    return folders + [DEBIAN_COPY]


def _copy_from(folder: Path, root: Path) -> bool:
    """Unpack the four .gz files of `folder` into torchvision's layout under `root`, if all are there."""
    sources = [folder / name for name in RAW_FILES]
    if not all(src.is_file() for src in sources):
        return False
    raw = _raw_dir(root)
    raw.mkdir(parents=True, exist_ok=True)
    for src in sources:
        target = raw / src.name.removesuffix(".gz")
        partial = target.with_suffix(".partial")
        with gzip.open(src, "rb") as fin, open(partial, "wb") as fout:
            shutil.copyfileobj(fin, fout)
        partial.replace(target)  # atomic: a half-unpacked file is never mistaken for data
    return True


def ensure_fashion_mnist(root: Path = DATA_DIR) -> Path:
    """Make sure the raw Fashion-MNIST files are under `root`; return `root`.

    Raises FileNotFoundError naming the three fixes when no source has the data.
    """
    root = Path(root)
    if _has_raw_files(root):
        return root
    for folder in _local_copies():
        if _copy_from(folder, root):
            return root
    try:
        FashionMNIST(root, train=True, download=True)
        FashionMNIST(root, train=False, download=True)
    except Exception as err:  # no internet, proxy, server down...: all end in the same advice
        raise FileNotFoundError(
            f"Fashion-MNIST was not found and could not be downloaded ({type(err).__name__}: {err}).\n"
            "Fix it in one of three ways:\n"
            f"  1. put the raw files in {_raw_dir(root)} (torchvision's layout), or set PATH_DATASETS "
            "to a folder that has them;\n"
            f"  2. point ${LOCAL_COPY_ENV} at a folder with the four original *-ubyte.gz files, or "
            "install Debian's package: sudo apt-get install dataset-fashion-mnist;\n"
            "  3. connect to the internet so torchvision can download it."
        ) from err
    return root


def normalize_transform() -> transforms.Compose:
    """Image -> tensor in [0, 1] -> standardized with the training-set mean and std."""
    return transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((FASHION_MNIST_MEAN,), (FASHION_MNIST_STD,))]
    )


def fashion_mnist_datasets(transform=None, root: Path = DATA_DIR):
    """(train, val, test) torchvision datasets; train/val is a 50k/10k split seeded with SPLIT_SEED.

    `transform` defaults to normalize_transform().
    """
    root = ensure_fashion_mnist(root)
    transform = transform or normalize_transform()
    full_train = FashionMNIST(root, train=True, transform=transform)
    generator = torch.Generator().manual_seed(SPLIT_SEED)
    train, val = random_split(full_train, [TRAIN_SIZE, VAL_SIZE], generator=generator)
    test = FashionMNIST(root, train=False, transform=transform)
    return train, val, test


def _as_tensors(images: torch.Tensor, labels: torch.Tensor, device) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 [N, 28, 28] -> the same values normalize_transform() gives, as float [N, 1, 28, 28]."""
    x = (images.to(device).float().div_(255) - FASHION_MNIST_MEAN) / FASHION_MNIST_STD
    return x.unsqueeze(1), labels.to(device)


def fashion_mnist_tensors(device="cpu", root: Path = DATA_DIR):
    """The same three splits as fashion_mnist_datasets(), each a normalized (images, labels) pair on
    `device`, so a training loop slices batches without any per-sample transform or data loader."""
    train, val, test = fashion_mnist_datasets(root=root)
    full = train.dataset
    return (
        _as_tensors(full.data[train.indices], full.targets[train.indices], device),
        _as_tensors(full.data[val.indices], full.targets[val.indices], device),
        _as_tensors(test.data, test.targets, device),
    )
