"""Hostile and unusual inputs where they enter: train_model's arguments, environment variables, a data
folder with a folder where a file belongs. Each gets the right result or one clear error naming the fix,
before any training starts (never_steps fails the test if a step is taken)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from utils import course_seed
from utils.checkpoints import latest_run, model_files
from utils.models import BaseNetwork
from utils.optimizers import SGD
from utils.training import train_model


def make_data(sizes=(64, 32, 32), channels=1, generator_seed=0):
    g = torch.Generator().manual_seed(generator_seed)
    return [
        (torch.randn(n, channels, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g))
        for n in sizes
    ]


def small_net():
    torch.manual_seed(0)
    return BaseNetwork("relu", hidden_sizes=(8,))


def never_steps(params):
    optimizer = SGD(params, lr=0.1)
    optimizer.step = lambda: pytest.fail("must not train")
    return optimizer


def train(tmp_path, net=None, optim_func=never_steps, data=None, **kwargs):
    net = small_net() if net is None else net
    data = make_data() if data is None else data
    return train_model(
        net, "h", optim_func, data=data, device="cpu", checkpoint_dir=tmp_path, **{"max_epochs": 1, **kwargs}
    )


def with_split(index, x=None, y=None):
    data = make_data()
    old_x, old_y = data[index]
    data[index] = (old_x if x is None else x(old_x), old_y if y is None else y(old_y))
    return data


@pytest.mark.parametrize(
    "data, words",
    [
        (with_split(0, x=lambda x: x[:0], y=lambda y: y[:0]), "training split is empty"),
        (with_split(1, x=lambda x: x[:0], y=lambda y: y[:0]), "validation split is empty"),
        (with_split(2, x=lambda x: x[:0], y=lambda y: y[:0]), "test split is empty"),
        (make_data(channels=3), "has 2352 values .* takes 784"),
        (with_split(0, x=lambda x: (x * 50 + 100).clamp(0, 255).to(torch.uint8)), "torch.uint8: standardize"),
        (with_split(0, y=lambda y: y * 11), "labels run from 0 to 99.* 10 classes"),
        (with_split(1, y=lambda y: y - 1), "validation labels run from -1"),
        (with_split(0, y=lambda y: y.float()), "labels must be 64 whole numbers"),
        (with_split(2, y=lambda y: y[:5]), "labels must be 32 whole numbers"),
        (with_split(0, y=lambda y: y[:, None]), "labels must be 64 whole numbers"),
        (with_split(0, x=lambda x: x.tolist()), "training images must be a tensor"),
        (with_split(0, x=lambda x: x.double()), "torch.float64 but the network's weights are torch.float32"),
        (make_data()[:2], "got 2 splits instead of 3"),
        (5, "data must be"),
        ([(1, 2, 3)] * 3, "data must be"),
    ],
)
def test_bad_data_is_refused_before_training_naming_the_fix(tmp_path, data, words):
    with pytest.raises((ValueError, TypeError), match=words):
        train(tmp_path, data=data)
    assert not list(tmp_path.rglob("*.pt"))


def test_a_double_network_on_float_data_is_named(tmp_path):
    with pytest.raises(ValueError, match="torch.float32 but the network's weights are torch.float64"):
        train(tmp_path, net=small_net().double())


def test_numpy_arrays_are_accepted(tmp_path):
    data = [(x.numpy(), y.numpy()) for x, y in make_data()]
    results = train(tmp_path, data=data, optim_func=lambda p: SGD(p, lr=0.1))
    assert results["epochs"] == 1 and 0 <= results["test_acc"] <= 1


@pytest.mark.parametrize("epochs", [np.int64(2), np.int32(2), torch.tensor(2).item()])
def test_any_integral_number_of_epochs_is_accepted(tmp_path, epochs):
    results = train(tmp_path, optim_func=lambda p: SGD(p, lr=0.1), max_epochs=epochs)
    assert results["epochs"] == 2 and len(results["val_acc"]) == 2


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(max_epochs=0), "max_epochs must be a whole number >= 1"),
        (dict(max_epochs=2.5), "max_epochs must be a whole number"),
        (dict(max_epochs=3.0), "max_epochs must be a whole number"),
        (dict(max_epochs=True), "max_epochs must be a whole number"),
        (dict(max_epochs="3"), "max_epochs must be a whole number"),
        (dict(batch_size=0), "batch_size must be a whole number"),
        (dict(batch_size=None), "batch_size must be a whole number"),
    ],
)
def test_bad_counts_are_refused(tmp_path, kwargs, words):
    with pytest.raises(ValueError, match=words):
        train(tmp_path, **kwargs)


def no_return(params):
    SGD(params, lr=0.1)


@pytest.mark.parametrize(
    "optim_func, words",
    [
        (no_return, "returned None, not an optimizer: it must `return` one"),
        (SGD([torch.zeros(1, requires_grad=True)], lr=0.1), "it is one already .* pass a function instead"),
        (torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), "it is one already"),
        ("sgd", "optim_func must be a function"),
        (lambda p: "SGD", "returned 'SGD', not an optimizer"),
    ],
)
def test_a_wrong_optim_func_is_named_with_the_fix(tmp_path, optim_func, words):
    with pytest.raises(TypeError, match=words):
        train(tmp_path, optim_func=optim_func)


@pytest.mark.parametrize(
    "net", [torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10)), "relu", None]
)
def test_a_network_that_is_not_a_base_network_is_refused_before_training(tmp_path, net):
    with pytest.raises(TypeError, match="trains a utils.models.BaseNetwork"):
        train_model(
            net, "h", never_steps, max_epochs=1, data=make_data(), device="cpu", checkpoint_dir=tmp_path
        )


@pytest.mark.parametrize("name", ["", "../x", "a/b", None, 3])
def test_a_model_name_that_is_not_a_plain_file_name(tmp_path, name):
    with pytest.raises(ValueError, match="model_name must be a plain file name"):
        train_model(small_net(), name, never_steps, max_epochs=1, data=make_data(), checkpoint_dir=tmp_path)


def test_a_diverged_run_says_so_and_stores_standard_json(tmp_path, capsys):
    results = train(tmp_path, optim_func=lambda p: SGD(p, lr=1e30), max_epochs=2)
    out = capsys.readouterr().out
    assert "the run diverged (try a smaller learning rate)" in out
    text = (latest_run("h", tmp_path) / model_files("h")["results"]).read_text()
    assert "NaN" not in text and "Infinity" not in text and json.loads(text) == results
    assert results["diverged_epoch"] in (1, 2) and None in results["train_loss"]


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", "-7"])
def test_a_bad_course_seed_is_named(monkeypatch, value):
    monkeypatch.setenv("COURSE_SEED", value)
    with pytest.raises(ValueError, match=f"COURSE_SEED='{value}' is not a whole number >= 0"):
        course_seed(42)


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_course_seed_means_unset(monkeypatch, value):
    monkeypatch.setenv("COURSE_SEED", value)
    assert course_seed(42) == 42


def test_a_large_course_seed_works(monkeypatch):
    monkeypatch.setenv("COURSE_SEED", str(2**40))
    assert 0 <= course_seed(42) < 2**31


FOLDERS = (
    "import utils, utils.downloads as d; print(utils.DATA_DIR, utils.CHECKPOINT_DIR, d.CACHE_DIR, sep='\\n')"
)


def folders(**env):
    out = subprocess.run(
        [sys.executable, "-c", FOLDERS], env={**os.environ, **env}, capture_output=True, text=True, check=True
    ).stdout
    return out.splitlines()


def test_empty_folder_variables_mean_unset_and_tilde_is_expanded(tmp_path):
    defaults = folders(PATH_DATASETS="", PATH_CHECKPOINT="", COURSE_CACHE_DIR="")
    assert (
        defaults[0].endswith("data")
        and defaults[1].endswith("saved_models")
        and "init-optim-course" in defaults[2]
    )
    home = str(tmp_path)
    chosen = folders(HOME=home, PATH_DATASETS="~/d", PATH_CHECKPOINT="~/c", COURSE_CACHE_DIR="~/k")
    assert chosen == [f"{home}/d", f"{home}/c", f"{home}/k"]


def test_an_empty_local_copy_variable_is_not_a_folder_named_empty(monkeypatch, capsys):
    from utils import data

    monkeypatch.setenv(data.LOCAL_COPY_ENV, "")
    assert all(label != f"${data.LOCAL_COPY_ENV}" for _, label, _ in data._local_copies())


def test_a_folder_where_a_data_file_belongs_is_named_and_kept(tmp_path):
    from utils import data

    blocker = data._raw_dir(tmp_path) / "train-images-idx3-ubyte"
    blocker.mkdir(parents=True)
    (blocker / "mine.txt").write_text("my work")
    with pytest.raises(
        FileExistsError, match="is a folder .* where Fashion-MNIST's file train-images-idx3-ubyte"
    ):
        data.ensure_fashion_mnist(tmp_path)
    assert (blocker / "mine.txt").read_text() == "my work"


def test_published_files_do_not_depend_on_path_checkpoint(tmp_path):
    """Notebook 12 with PATH_CHECKPOINT at a fresh folder: the published study is still found."""
    code = "from utils.registry import published_file; print(published_file('studies/practice.json'))"
    env = {**os.environ, "PATH_CHECKPOINT": str(tmp_path), "COURSE_MODELS_URL": "http://127.0.0.1:9/"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().endswith("saved_models/studies/practice.json") and not list(tmp_path.iterdir())


@pytest.mark.parametrize("device, words", [("gpu", "device='gpu' is not a device"), (3.5, "is not a device")])
def test_a_device_that_is_not_one_is_named(tmp_path, device, words):
    with pytest.raises(ValueError, match=words):
        train_model(
            small_net(),
            "h",
            never_steps,
            max_epochs=1,
            data=make_data(),
            device=device,
            checkpoint_dir=tmp_path,
        )


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_gpu_this_machine_lacks_is_named(tmp_path):
    with pytest.raises(ValueError, match="no cuda device: leave device=None"):
        train_model(
            small_net(),
            "h",
            never_steps,
            max_epochs=1,
            data=make_data(),
            device="cuda",
            checkpoint_dir=tmp_path,
        )
