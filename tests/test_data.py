"""utils.data: where the files come from (in order), how each file is checked, the split and normalization.

Faults are injected in temporary folders: tiny idx files stand in for Fashion-MNIST (the checksum table
is pointed at them with `trust`), next to truncated, garbage, resized and re-randomized copies.
No test touches the network: torchvision's mirror is a closed port on 127.0.0.1.
"""

import gzip
import hashlib
import os
import struct
import time

import numpy as np
import pytest
import torch

from utils import data
from utils.data import FASHION_MNIST_MEAN, FASHION_MNIST_STD

REAL_DEBIAN_COPY = data.DEBIAN_COPY


def idx_payloads(n_images, seed=None):
    """The four unpacked idx files of a tiny but valid Fashion-MNIST with `n_images` images each."""
    rng = np.random.default_rng(n_images if seed is None else seed)
    pixels = rng.integers(0, 256, n_images * 784, dtype=np.uint8).tobytes()
    images = struct.pack(">IIII", 2051, n_images, 28, 28) + pixels
    labels = struct.pack(">II", 2049, n_images) + rng.integers(0, 10, n_images, dtype=np.uint8).tobytes()
    return {name: images if "images" in name else labels for name in data.RAW_CHECKSUMS}


def write_idx_files(folder, n_images, gz=True, seed=None):
    """The four files in `folder`: as the original .gz archives, or unpacked (torchvision's raw layout)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, payload in idx_payloads(n_images, seed).items():
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(payload))
        else:
            (folder / name).write_bytes(payload)


def trust(monkeypatch, n_images):
    """Make the checksum table accept the tiny data set of `n_images` images (and nothing else)."""
    table = {name: (len(p), hashlib.md5(p).hexdigest()) for name, p in idx_payloads(n_images).items()}
    monkeypatch.setattr(data, "RAW_CHECKSUMS", table)


def n_train_images(root):
    from torchvision.datasets import FashionMNIST

    return len(FashionMNIST(root, train=True))


def leftovers(folder):
    """Every half-written file anywhere under `folder`."""
    return [p for p in folder.rglob("*") if p.name.endswith(".partial") or ".tmp" in p.name]


@pytest.fixture
def no_sources(tmp_path, monkeypatch):
    """No local copy anywhere and a download mirror that refuses at once (no network is touched)."""
    monkeypatch.delenv(data.LOCAL_COPY_ENV, raising=False)
    monkeypatch.setattr(data, "DEBIAN_COPY", tmp_path / "no-debian-package")
    monkeypatch.setattr(data.FashionMNIST, "mirrors", ["http://127.0.0.1:9/"])
    monkeypatch.setattr(data, "_verified", set())
    return tmp_path


@pytest.fixture
def env_and_debian(no_sources, monkeypatch):
    """$FASHION_MNIST_DIR = tmp/copy, Debian's package = tmp/debian (a good 9-image set, the one trusted)."""
    monkeypatch.setenv(data.LOCAL_COPY_ENV, str(no_sources / "copy"))
    monkeypatch.setattr(data, "DEBIAN_COPY", no_sources / "debian")
    write_idx_files(no_sources / "debian", 9)
    trust(monkeypatch, 9)
    return no_sources


# --- the order of the sources -------------------------------------------------------------------


def test_files_already_in_data_dir_come_first(no_sources, monkeypatch, capsys):
    root = no_sources / "data"
    write_idx_files(data._raw_dir(root), 5, gz=False)
    write_idx_files(no_sources / "copy", 7)
    monkeypatch.setenv(data.LOCAL_COPY_ENV, str(no_sources / "copy"))
    trust(monkeypatch, 5)
    assert n_train_images(data.ensure_fashion_mnist(root)) == 5
    assert capsys.readouterr().err == "", "good files need no message"


def test_env_folder_before_debian_package(no_sources, monkeypatch, capsys):
    write_idx_files(no_sources / "copy", 7)
    write_idx_files(no_sources / "debian", 9)  # not trusted: trying it first would print a message
    monkeypatch.setenv(data.LOCAL_COPY_ENV, str(no_sources / "copy"))
    monkeypatch.setattr(data, "DEBIAN_COPY", no_sources / "debian")
    trust(monkeypatch, 7)
    assert n_train_images(data.ensure_fashion_mnist(no_sources / "data")) == 7
    assert capsys.readouterr().err == ""


def test_debian_package_when_no_env_folder(no_sources, monkeypatch, capsys):
    write_idx_files(no_sources / "debian", 9)
    monkeypatch.setattr(data, "DEBIAN_COPY", no_sources / "debian")
    trust(monkeypatch, 9)
    root = data.ensure_fashion_mnist(no_sources / "data")
    assert n_train_images(root) == 9
    assert sorted(p.name for p in data._raw_dir(root).iterdir()) == sorted(data.RAW_CHECKSUMS)
    assert capsys.readouterr().err == ""


def test_incomplete_local_copy_is_skipped_with_a_message(env_and_debian, capsys):
    write_idx_files(env_and_debian / "copy", 9)
    (env_and_debian / "copy" / data.RAW_FILES[0]).unlink()
    assert n_train_images(data.ensure_fashion_mnist(env_and_debian / "data")) == 9
    err = capsys.readouterr().err
    assert f"${data.LOCAL_COPY_ENV}" in err and f"lacks {data.RAW_FILES[0]}" in err


def test_env_folder_that_does_not_exist_is_named(env_and_debian, capsys):
    assert n_train_images(data.ensure_fashion_mnist(env_and_debian / "data")) == 9
    assert f"{data.LOCAL_COPY_ENV}={env_and_debian / 'copy'} is not a folder" in capsys.readouterr().err


def test_one_clear_error_when_nothing_is_available(no_sources):
    with pytest.raises(FileNotFoundError) as err:
        data.ensure_fashion_mnist(no_sources / "data")
    message = str(err.value)
    assert "PATH_DATASETS" in message and data.LOCAL_COPY_ENV in message
    assert "apt-get install dataset-fashion-mnist" in message and "internet" in message


# --- bad local copies: named, skipped, the next source used, nothing half-written left ------------


def truncated_gz(payload):
    return gzip.compress(payload)[: len(gzip.compress(payload)) // 2]


BAD_ARCHIVES = {
    "truncated .gz": (lambda p: truncated_gz(p), "is not a complete gzip archive (EOFError"),
    "garbage bytes": (lambda p: b"garbage, not gzip " * 30, "is not a complete gzip archive (BadGzipFile"),
    "empty file": (lambda p: b"", "is 0 bytes instead of"),
    "one byte short": (lambda p: gzip.compress(p[:-1]), "bytes instead of"),
    "random pixels, valid header": (
        lambda p: gzip.compress(p[:16] + os.urandom(len(p) - 16)),
        "(its bytes are not Fashion-MNIST's)",
    ),
    "endless archive": (lambda p: gzip.compress(p + bytes(10**6)), "unpacks to more than"),
}


@pytest.mark.parametrize("kind", sorted(BAD_ARCHIVES))
@pytest.mark.parametrize("index", [0, 3])
def test_bad_archive_in_env_folder_falls_back_to_debian(env_and_debian, capsys, kind, index):
    make_bad, expected = BAD_ARCHIVES[kind]
    write_idx_files(env_and_debian / "copy", 9)
    name = data.RAW_FILES[index]
    payload = idx_payloads(9)[name.removesuffix(".gz")]
    (env_and_debian / "copy" / name).write_bytes(make_bad(payload))
    root = data.ensure_fashion_mnist(env_and_debian / "data")
    assert n_train_images(root) == 9
    err = capsys.readouterr().err
    assert str(env_and_debian / "copy" / name) in err and expected in err, err
    assert f"unset ${data.LOCAL_COPY_ENV}" in err and "Trying the next source" in err
    assert not leftovers(env_and_debian), "no half-written file may be left behind"


def test_bad_debian_copy_ends_in_the_clear_error(env_and_debian, capsys):
    write_idx_files(env_and_debian / "copy", 9)
    (env_and_debian / "copy" / data.RAW_FILES[1]).write_bytes(b"not gzip")
    (env_and_debian / "debian" / data.RAW_FILES[2]).write_bytes(truncated_gz(b"x" * 10_000))
    with pytest.raises(FileNotFoundError, match="Fix it in one of three ways"):
        data.ensure_fashion_mnist(env_and_debian / "data")
    err = capsys.readouterr().err
    assert str(env_and_debian / "copy" / data.RAW_FILES[1]) in err
    assert str(env_and_debian / "debian" / data.RAW_FILES[2]) in err and "apt-get install --reinstall" in err
    assert not leftovers(env_and_debian)
    assert not any(data._raw_dir(env_and_debian / "data").iterdir()), "a bad copy must leave no data file"


def test_interrupted_copy_leaves_nothing_behind(env_and_debian, monkeypatch):
    calls = []
    real_unpack = data._unpack

    def unpack_then_interrupt(src, out):
        calls.append(src)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_unpack(src, out)

    monkeypatch.setattr(data, "_unpack", unpack_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        data.ensure_fashion_mnist(env_and_debian / "data")
    assert not any(data._raw_dir(env_and_debian / "data").iterdir())


# --- bad files already in the data folder: named, removed, replaced --------------------------------


DAMAGED_RAW = {
    "truncated": (lambda p: p[: len(p) // 2], "bytes instead of"),
    "wrong size (more images)": (lambda p: p + p[-784:], "bytes instead of"),
    "random pixels, valid header": (lambda p: p[:16] + os.urandom(len(p) - 16), "has MD5"),
    "garbage": (lambda p: os.urandom(len(p)), "has MD5"),
}


@pytest.mark.parametrize("kind", sorted(DAMAGED_RAW))
def test_damaged_file_in_data_dir_is_replaced(env_and_debian, capsys, kind):
    damage, expected = DAMAGED_RAW[kind]
    raw = data._raw_dir(env_and_debian / "data")
    write_idx_files(raw, 9, gz=False)
    bad = raw / "train-images-idx3-ubyte"
    bad.write_bytes(damage(bad.read_bytes()))
    assert n_train_images(data.ensure_fashion_mnist(env_and_debian / "data")) == 9
    assert bad.read_bytes() == idx_payloads(9)["train-images-idx3-ubyte"], "replaced by the good copy"
    err = capsys.readouterr().err
    assert str(bad) in err and expected in err and "removing it" in err


def test_damaged_file_in_data_dir_and_no_source_is_the_clear_error(no_sources, monkeypatch, capsys):
    raw = data._raw_dir(no_sources / "data")
    write_idx_files(raw, 9, gz=False, seed=1)  # valid headers, other pixels: loads, but is not the data
    trust(monkeypatch, 9)
    with pytest.raises(FileNotFoundError, match="Fix it in one of three ways"):
        data.ensure_fashion_mnist(no_sources / "data")
    assert "has MD5" in capsys.readouterr().err


def test_a_file_is_hashed_once_per_process_and_again_when_it_changes(no_sources, monkeypatch, capsys):
    root = no_sources / "data"
    write_idx_files(data._raw_dir(root), 5, gz=False)
    trust(monkeypatch, 5)
    hashed = []
    real_md5 = data.hashlib.md5
    monkeypatch.setattr(data.hashlib, "md5", lambda: hashed.append(1) or real_md5())
    data.ensure_fashion_mnist(root)
    assert len(hashed) == 4
    data.ensure_fashion_mnist(root)
    assert len(hashed) == 4, "an unchanged file is not hashed twice"
    path = data._raw_dir(root) / "t10k-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-1] + bytes([(path.read_bytes()[-1] + 1) % 256]))
    with pytest.raises(FileNotFoundError):
        data.ensure_fashion_mnist(root)
    assert f"{path} has MD5" in capsys.readouterr().err


def test_old_torchvision_cache_is_not_loaded_instead_of_the_checked_files(no_sources, monkeypatch, capsys):
    root = no_sources / "data"
    write_idx_files(data._raw_dir(root), 5, gz=False)
    trust(monkeypatch, 5)
    processed = root / "FashionMNIST" / "processed"
    processed.mkdir(parents=True)
    for name in ("training.pt", "test.pt"):  # what torchvision < 0.9 left: 2 unchecked images
        torch.save(
            (torch.zeros(2, 28, 28, dtype=torch.uint8), torch.zeros(2, dtype=torch.long)), processed / name
        )
    assert n_train_images(data.ensure_fashion_mnist(root)) == 5
    assert "old torchvision cache" in capsys.readouterr().err


# --- a data folder that cannot be written ------------------------------------------------------------


def check_not_writable_error(err, folder):
    message = str(err.value)
    assert str(folder) in message and "PATH_DATASETS" in message and "writable folder" in message


def test_data_folder_that_cannot_be_created(env_and_debian):
    (env_and_debian / "a-file").write_text("not a folder")
    root = env_and_debian / "a-file" / "data"
    with pytest.raises(PermissionError) as err:
        data.ensure_fashion_mnist(root)
    check_not_writable_error(err, root)


@pytest.fixture
def read_only_data_dir(env_and_debian):
    root = env_and_debian / "data"
    root.mkdir()
    root.chmod(0o555)
    yield root
    root.chmod(0o755)


def test_read_only_data_folder(read_only_data_dir):
    if os.access(read_only_data_dir, os.W_OK):
        pytest.skip("running as root: chmod cannot make a folder read-only (see the test above)")
    with pytest.raises(PermissionError) as err:
        data.ensure_fashion_mnist(read_only_data_dir)
    check_not_writable_error(err, read_only_data_dir)


def test_read_only_data_folder_as_root(env_and_debian, monkeypatch):
    """What a read-only folder does to a non-root user, injected where chmod cannot (running as root)."""

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(env_and_debian / "data"))

    monkeypatch.setattr(data.tempfile, "TemporaryFile", refuse)
    with pytest.raises(PermissionError) as err:
        data.ensure_fashion_mnist(env_and_debian / "data")
    check_not_writable_error(err, env_and_debian / "data")


def test_read_only_data_folder_with_good_files_is_used(env_and_debian, monkeypatch):
    root = env_and_debian / "data"
    write_idx_files(data._raw_dir(root), 9, gz=False)
    for folder in (data._raw_dir(root), data._raw_dir(root).parent, root):
        folder.chmod(0o555)
    monkeypatch.setattr(data, "DEBIAN_COPY", env_and_debian / "none")
    try:
        assert n_train_images(data.ensure_fashion_mnist(root)) == 9
    finally:
        for folder in (root, data._raw_dir(root).parent, data._raw_dir(root)):
            folder.chmod(0o755)


def test_full_disk_while_unpacking_says_the_disk_is_full(env_and_debian, monkeypatch):
    def unpack_to_full_disk(src, out):
        out.write(b"some bytes")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(data, "_unpack", unpack_to_full_disk)
    with pytest.raises(
        OSError, match="the disk is full .*No space left on device.*Free some space.*PATH_DATASETS"
    ) as err:
        data.ensure_fashion_mnist(env_and_debian / "data")
    assert not isinstance(err.value, PermissionError)
    assert not leftovers(env_and_debian)


def test_unreadable_file_in_data_dir_is_replaced(env_and_debian, monkeypatch, capsys):
    raw = data._raw_dir(env_and_debian / "data")
    write_idx_files(raw, 9, gz=False)
    real_check, refused = data._check_raw_file, []

    def unreadable_labels(path):  # as root, chmod 000 would not stop the read: refuse it here, once
        if path.name == "train-labels-idx1-ubyte" and not refused:
            refused.append(path)
            raise PermissionError(13, "Permission denied", str(path))
        return real_check(path)

    monkeypatch.setattr(data, "_check_raw_file", unreadable_labels)
    assert n_train_images(data.ensure_fashion_mnist(env_and_debian / "data")) == 9
    assert "train-labels-idx1-ubyte cannot be read (PermissionError" in capsys.readouterr().err


# --- the real files --------------------------------------------------------------------------------


@pytest.mark.skipif(not REAL_DEBIAN_COPY.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_checksum_table_matches_debians_copy():
    for name, (size, md5) in data.RAW_CHECKSUMS.items():
        payload = gzip.decompress((REAL_DEBIAN_COPY / f"{name}.gz").read_bytes())
        assert (len(payload), hashlib.md5(payload).hexdigest()) == (size, md5), name


def test_checksum_table_covers_torchvisions_files():
    assert sorted(data.RAW_CHECKSUMS) == sorted(name.removesuffix(".gz") for name in data.RAW_FILES)


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


def test_partial_files_of_killed_copies_are_removed_once_hours_old(tmp_path):
    raw = data._raw_dir(tmp_path)
    raw.mkdir(parents=True)
    old, fresh = raw / "train-images-idx3-ubyte.gz.abc.partial", raw / "t10k-labels-idx1-ubyte.gz.def.partial"
    for path in (old, fresh):
        path.write_bytes(b"half a file")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    data._ensure_writable(tmp_path)
    assert not old.exists() and fresh.exists()
