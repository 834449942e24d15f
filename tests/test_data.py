"""utils.data: where the files come from (in order), the split, and the normalization."""

import gzip
import struct

import numpy as np
import pytest
import torch

from utils import data
from utils.data import FASHION_MNIST_MEAN, FASHION_MNIST_STD


def write_idx_files(folder, n_images, gz=True):
    """A tiny but valid Fashion-MNIST: the four idx files with `n_images` images each."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(n_images)
    images = struct.pack(">IIII", 2051, n_images, 28, 28) + rng.integers(0, 256, n_images * 784, dtype=np.uint8).tobytes()
    labels = struct.pack(">II", 2049, n_images) + rng.integers(0, 10, n_images, dtype=np.uint8).tobytes()
    for name in data.RAW_FILES:
        payload = images if "images" in name else labels
        if gz:
            (folder / name).write_bytes(gzip.compress(payload))
        else:
            (folder / name.removesuffix(".gz")).write_bytes(payload)


def n_train_images(root):
    from torchvision.datasets import FashionMNIST
    return len(FashionMNIST(root, train=True))


@pytest.fixture
def no_sources(tmp_path, monkeypatch):
    """No local copy anywhere and a download mirror that refuses at once (no network is touched)."""
    monkeypatch.delenv(data.LOCAL_COPY_ENV, raising=False)
    monkeypatch.setattr(data, "DEBIAN_COPY", tmp_path / "no-debian-package")
    monkeypatch.setattr(data.FashionMNIST, "mirrors", ["http://127.0.0.1:9/"])
    return tmp_path


def test_files_already_in_data_dir_come_first(no_sources, monkeypatch):
    root = no_sources / "data"
    write_idx_files(data._raw_dir(root), 5, gz=False)
    write_idx_files(no_sources / "copy", 7)
    monkeypatch.setenv(data.LOCAL_COPY_ENV, str(no_sources / "copy"))
    assert n_train_images(data.ensure_fashion_mnist(root)) == 5


def test_env_folder_before_debian_package(no_sources, monkeypatch):
    write_idx_files(no_sources / "copy", 7)
    write_idx_files(no_sources / "debian", 9)
    monkeypatch.setenv(data.LOCAL_COPY_ENV, str(no_sources / "copy"))
    monkeypatch.setattr(data, "DEBIAN_COPY", no_sources / "debian")
    assert n_train_images(data.ensure_fashion_mnist(no_sources / "data")) == 7


def test_debian_package_when_no_env_folder(no_sources, monkeypatch):
    write_idx_files(no_sources / "debian", 9)
    monkeypatch.setattr(data, "DEBIAN_COPY", no_sources / "debian")
    root = data.ensure_fashion_mnist(no_sources / "data")
    assert n_train_images(root) == 9
    assert not list(data._raw_dir(root).glob("*.partial")), "no half-written file may be left behind"


def test_incomplete_local_copy_is_skipped(no_sources, monkeypatch):
    write_idx_files(no_sources / "copy", 7)
    (no_sources / "copy" / data.RAW_FILES[0]).unlink()
    write_idx_files(no_sources / "debian", 9)
    monkeypatch.setenv(data.LOCAL_COPY_ENV, str(no_sources / "copy"))
    monkeypatch.setattr(data, "DEBIAN_COPY", no_sources / "debian")
    assert n_train_images(data.ensure_fashion_mnist(no_sources / "data")) == 9


def test_one_clear_error_when_nothing_is_available(no_sources):
    with pytest.raises(FileNotFoundError) as err:
        data.ensure_fashion_mnist(no_sources / "data")
    message = str(err.value)
    assert "PATH_DATASETS" in message and data.LOCAL_COPY_ENV in message
    assert "apt-get install dataset-fashion-mnist" in message and "internet" in message


def test_split_sizes_and_seed():
    train, val, test = data.fashion_mnist_datasets()
    assert (len(train), len(val), len(test)) == (50_000, 10_000, 10_000)
    again, _, _ = data.fashion_mnist_datasets()
    assert train.indices == again.indices, "the split must be the same every time"
    assert not set(train.indices[:1000]) & set(val.indices), "train and validation must not overlap"


def test_normalization_constants_match_the_training_pixels():
    train, _, _ = data.fashion_mnist_datasets()
    pixels = train.dataset.data.float() / 255
    assert pixels.mean().item() == pytest.approx(FASHION_MNIST_MEAN, abs=1e-4)
    assert pixels.std().item() == pytest.approx(FASHION_MNIST_STD, abs=1e-4)


def test_tensors_equal_the_transformed_datasets():
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = data.fashion_mnist_tensors()
    train, val, test = data.fashion_mnist_datasets()
    assert x_train.shape == (50_000, 1, 28, 28) and x_val.shape[0] == 10_000 and x_test.shape[0] == 10_000
    for x, y, ds in [(x_train, y_train, train), (x_val, y_val, val), (x_test, y_test, test)]:
        for i in (0, 123, len(ds) - 1):
            img, label = ds[i]
            assert torch.allclose(x[i], img, atol=1e-6) and y[i].item() == label
    assert abs(x_train.mean().item()) < 0.01 and abs(x_train.std().item() - 1) < 0.01
