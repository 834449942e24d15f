"""Fashion-MNIST for the course: torchvision datasets, a seeded split, and whole splits as tensors.

The files are looked for in a fixed order, so the same code works on a laptop, on an offline lab
machine and in Colab:
  1. already under DATA_DIR (torchvision's layout, DATA_DIR/FashionMNIST/raw/),
  2. a local copy of the four original .gz files: the folder named by $FASHION_MNIST_DIR, else
     Debian's package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist),
  3. a download from torchvision's mirrors (utils.downloads: pooch's cache and MD5 check, with a total
     deadline per archive, so a slow or dripping mirror ends in the clear error instead of a hang).
Empty environment variables count as unset, and `~` is expanded. Every file is checked before it is used
(size, then MD5 of the unpacked bytes: see RAW_CHECKSUMS). A bad
file is named with what to do about it, and the next source is tried; a bad file under DATA_DIR is
removed so that a good copy can take its place. If no source works, one error names the three fixes.
"""

import errno
import gzip
import hashlib
import os
import sys
import tempfile
import time
import zlib
from pathlib import Path

import torch
from torch.utils.data import random_split
from torchvision import transforms
from torchvision.datasets import FashionMNIST

from utils import DATA_DIR, downloads, env_value

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

# Size and MD5 of the four files *unpacked*, which is what every source has in common. torchvision's
# FashionMNIST.resources holds the MD5 of the .gz archives it downloads (and checks them itself), but
# Debian's package ships the same data re-compressed (other archive MD5s), and files already unpacked
# under DATA_DIR have no archive left to check. Computed from Debian's copy; other loaders list the same
# values for the unpacked official files. Size is checked first only to give a clearer message.
RAW_CHECKSUMS = {
    "train-images-idx3-ubyte": (47_040_016, "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
    "train-labels-idx1-ubyte": (60_008, "9018921c3c673c538a1fc5bad174d6f9"),
    "t10k-images-idx3-ubyte": (7_840_016, "8181f5470baa50b63fa0f6fddb340f0a"),
    "t10k-labels-idx1-ubyte": (10_008, "15d484375f8d13e6eb1aabb0c3f46965"),
}
_BLOCK = 1 << 20
DOWNLOAD_SECONDS = 300.0  # one archive (26 MB at most): connecting, headers and body together
MIRRORS = FashionMNIST.mirrors
ABANDONED_SECONDS = 3600  # a .partial file this old belongs to a killed copy
_verified: set[tuple] = set()  # files checked in this process (path, size, mtime, inode, expected MD5)


def _raw_dir(root: Path) -> Path:
    return Path(root) / "FashionMNIST" / "raw"


def _report(message: str) -> None:
    """Tell the user about a skipped source (not fatal: the next source is tried)."""
    print(f"Fashion-MNIST: {message}", file=sys.stderr)


def _mismatch(name: str, size: int, md5: str) -> str | None:
    """Why unpacked bytes of `size` and `md5` are not the file `name`; None when they are."""
    expected_size, expected_md5 = RAW_CHECKSUMS[name]
    if size != expected_size:
        return f"is {size:,} bytes instead of {expected_size:,} (truncated, or not Fashion-MNIST)"
    if md5 != expected_md5:
        return f"has MD5 {md5} instead of {expected_md5} (its bytes are not Fashion-MNIST's)"
    return None


def _verified_key(path: Path) -> tuple:
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino, RAW_CHECKSUMS[path.name]


def _check_raw_file(path: Path) -> str | None:
    """Why the unpacked file `path` is not the right one; None when it is (checked once per process)."""
    key = _verified_key(path)
    if key in _verified:
        return None
    stat = path.stat()
    if stat.st_size != RAW_CHECKSUMS[path.name][0]:
        return _mismatch(path.name, stat.st_size, "")
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_BLOCK), b""):
            digest.update(block)
    problem = _mismatch(path.name, stat.st_size, digest.hexdigest())
    if problem is None:
        _verified.add(key)
    return problem


def _not_writable(root: Path, err: OSError) -> OSError:
    if err.errno == errno.ENOSPC:
        return OSError(
            errno.ENOSPC,
            f"Fashion-MNIST (about 55 MB unpacked) does not fit in the data folder {root}: the disk is full "
            f"({err}). Free some space, or set PATH_DATASETS to a folder on another disk and restart "
            "the kernel.",
        )
    return PermissionError(
        f"Fashion-MNIST has to be written into the data folder {root}, but it cannot be written there "
        f"({type(err).__name__}: {err}). Set the environment variable PATH_DATASETS to a writable folder "
        "(for example PATH_DATASETS=$HOME/datasets) and restart the kernel, or make this folder writable."
    )


def _data_dir_is_good(root: Path) -> bool:
    """True when all four files under `root` are right; a wrong one is named and removed."""
    raw = _raw_dir(root)
    good = True
    for name in RAW_CHECKSUMS:
        path = raw / name
        if path.exists() and not path.is_file():  # not ours to remove
            raise FileExistsError(
                f"{path} is a folder (or other non-file) where Fashion-MNIST's file {name} belongs: move it "
                "away, or set PATH_DATASETS to another folder."
            )
        if not path.is_file():
            good = False
            continue
        try:
            problem = _check_raw_file(path)
        except OSError as err:  # unreadable: as useless as a damaged file
            problem = f"cannot be read ({type(err).__name__}: {err})"
        if problem:
            good = False
            _report(f"{path} {problem}: removing it, a good copy is taken from the next source.")
            try:
                path.unlink()
            except OSError as err:
                raise _not_writable(root, err) from err
    return good


def _remove_legacy_cache(root: Path) -> None:
    """torchvision < 0.9 cached the data as processed/*.pt, and torchvision still loads those instead of
    the raw files when both exist: they would bypass every check, so they are removed."""
    processed = Path(root) / "FashionMNIST" / "processed"
    legacy = [processed / FashionMNIST.training_file, processed / FashionMNIST.test_file]
    if all(path.is_file() for path in legacy):
        _report(
            f"{processed} holds an old torchvision cache that would be loaded instead of the checked "
            "files: removing it."
        )
        try:
            for path in legacy:
                path.unlink()
        except OSError as err:
            raise _not_writable(root, err) from err


def _ensure_writable(root: Path) -> None:
    """Create torchvision's raw folder under `root` and prove a file can be written there; delete the
    .partial files of copies killed hours ago (an unpack in progress takes seconds)."""
    try:
        _raw_dir(root).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=_raw_dir(root)):
            pass
        for partial in _raw_dir(root).glob("*-ubyte.gz.*.partial"):
            if time.time() - partial.stat().st_mtime > ABANDONED_SECONDS:
                partial.unlink()
    except OSError as err:
        raise _not_writable(root, err) from err


def _local_copies() -> list[tuple[Path, str, str]]:
    """(folder, how the user names it, what to do when one of its files is bad), in the order tried."""
    copies = []
    if env_value(LOCAL_COPY_ENV):
        copies.append(
            (
                Path(env_value(LOCAL_COPY_ENV)).expanduser(),
                f"${LOCAL_COPY_ENV}",
                f"Replace it with the original file, or unset ${LOCAL_COPY_ENV}.",
            )
        )
    copies.append(
        (
            DEBIAN_COPY,
            "Debian's package dataset-fashion-mnist",
            "Reinstall the package: sudo apt-get install --reinstall dataset-fashion-mnist.",
        )
    )
    return copies


def _unpack(src: Path, out) -> str | None:
    """Unpack the archive `src` into the open file `out`; why it is not the right file, or None.

    Reading stops as soon as more bytes come out than the real file has (a wrong or endless archive).
    Errors *writing* `out` propagate: they are the data folder's fault, not the copy's.
    """
    name = src.name.removesuffix(".gz")
    limit = RAW_CHECKSUMS[name][0]
    digest, size = hashlib.md5(), 0
    try:
        fin = gzip.open(src, "rb")
    except OSError as err:
        return f"cannot be read ({type(err).__name__}: {err})"
    with fin:
        while True:
            try:
                block = fin.read(_BLOCK)
            except (OSError, EOFError, zlib.error) as err:  # BadGzipFile is an OSError
                return f"is not a complete gzip archive ({type(err).__name__}: {err})"
            if not block:
                break
            size += len(block)
            if size > limit:
                return f"unpacks to more than the {limit:,} bytes of {name} (not Fashion-MNIST)"
            digest.update(block)
            out.write(block)
    return _mismatch(name, size, digest.hexdigest())


def _copy_from(folder: Path, label: str, advice: str, root: Path) -> bool:
    """Unpack and check the four .gz files of `folder` into `root`; True when all four were good.

    Each file goes to a temporary file first; the four are renamed into place only once all are checked,
    so a bad or interrupted copy leaves nothing behind.
    """
    if not folder.is_dir():
        if label.startswith("$"):
            _report(f"{label}={folder} is not a folder: trying the next source.")
        return False
    missing = [name for name in RAW_FILES if not (folder / name).is_file()]
    if missing:
        _report(f"{label} ({folder}) lacks {', '.join(missing)}: trying the next source.")
        return False
    raw, unpacked = _raw_dir(root), {}
    try:
        for name in RAW_FILES:
            try:
                fd, tmp = tempfile.mkstemp(dir=raw, prefix=f"{name}.", suffix=".partial")
                unpacked[name] = Path(tmp)
                with os.fdopen(fd, "wb") as out:
                    problem = _unpack(folder / name, out)
            except OSError as err:
                raise _not_writable(root, err) from err
            if problem:
                _report(f"{folder / name} ({label}) {problem}. {advice} Trying the next source.")
                return False
        for name, tmp in unpacked.items():
            os.chmod(tmp, 0o644)  # mkstemp makes owner-only files; a data folder may be shared
            tmp.replace(raw / name.removesuffix(".gz"))
            _verified.add(_verified_key(raw / name.removesuffix(".gz")))  # checked while unpacking
        return True
    finally:
        for tmp in unpacked.values():
            tmp.unlink(missing_ok=True)


def _fetch_archives() -> Path:
    """The four archives from the first of torchvision's mirrors that serves them all (MD5-checked by
    pooch, each within DOWNLOAD_SECONDS), in the download cache; the folder that holds them."""
    folder, reasons = downloads.CACHE_DIR / "fashion-mnist", []
    for mirror in MIRRORS:
        try:
            for name, md5 in FashionMNIST.resources:
                downloads.fetch(mirror + name, f"md5:{md5}", folder, name, name, DOWNLOAD_SECONDS)
            return folder
        except downloads.DownloadError as err:
            reasons.append(str(err))
    raise RuntimeError(" / ".join(reasons) or "no mirror to download from")


def _download(root: Path) -> None:
    """Download the archives, then unpack and check them into `root` like any local copy."""
    try:
        folder = _fetch_archives()
        if not _copy_from(folder, "the downloaded copy", f"Delete {folder} and rerun.", root):
            raise RuntimeError(f"the archives downloaded into {folder} are not Fashion-MNIST")
    except RuntimeError as err:  # no internet, proxy, server down, bad bytes...: all end in the same advice
        raise FileNotFoundError(
            f"Fashion-MNIST was not found and could not be downloaded ({err}).\n"
            "Fix it in one of three ways:\n"
            f"  1. put the raw files in {_raw_dir(root)} (torchvision's layout), or set PATH_DATASETS "
            "to a folder that has them;\n"
            f"  2. point ${LOCAL_COPY_ENV} at a folder with the four original *-ubyte.gz files, or "
            "install Debian's package: sudo apt-get install dataset-fashion-mnist;\n"
            "  3. connect to the internet so the course can download it."
        ) from err


def ensure_fashion_mnist(root: Path = DATA_DIR) -> Path:
    """Make sure the four checked Fashion-MNIST files are under `root`; return `root`.

    Raises PermissionError naming the folder when `root` cannot be written (and lacks good files), and
    FileNotFoundError naming the three fixes when no source has the data.
    """
    root = Path(root)
    _remove_legacy_cache(root)
    if _data_dir_is_good(root):
        return root
    _ensure_writable(root)
    for folder, label, advice in _local_copies():
        if _copy_from(folder, label, advice, root):
            return root
    _download(root)
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
