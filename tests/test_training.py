"""utils.training.train_model / test_model on a small subset of Fashion-MNIST, in a temporary folder:
results that know their recipe, published files never written, a killed retrain that loses nothing, and
every bad argument refused before training with a message naming the fix."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from utils import registry, set_seed
from utils.checkpoints import CheckpointError, latest_run, load_model, model_files, runs_dir
from utils.data import fashion_mnist_tensors
from utils.init import kaiming_init, var_init
from utils.models import BaseNetwork
from utils.optimizers import SGD, Adam
from utils.training import test_model as accuracy_of
from utils.training import train_model

RESULT_KEYS = {
    "test_acc",
    "val_acc_best",
    "best_epoch",
    "train_acc",
    "val_acc",
    "train_loss",
    "val_loss",
    "epochs",
    "batch_size",
    "seed",
    "optimizer",
    "model_name",
    "device",
    "seconds_per_epoch",
    "recipe",
    "files",
    "record_sha256",
    "diverged_epoch",
}


def load_results(name, folder):
    """The results of the latest run of `name` in the checkpoint folder `folder`."""
    return json.loads((latest_run(name, folder) / model_files(name)["results"]).read_text())


def tree(folder):
    """{relative path: bytes} of every file under `folder`."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small_data():
    """2,000 training, 1,000 validation and 1,000 test images: a few seconds per epoch on a laptop CPU."""
    (xt, yt), (xv, yv), (xs, ys) = fashion_mnist_tensors("cpu")
    return (xt[:2000], yt[:2000]), (xv[:1000], yv[:1000]), (xs[:1000], ys[:1000])


def fresh_net(seed=0):
    set_seed(seed)
    net = BaseNetwork("relu")
    kaiming_init(net)
    return net


def sgd(params):
    return SGD(params, lr=0.1)


def test_one_epoch_learns_and_writes_complete_files(small_data, tmp_path):
    net = fresh_net()
    before = accuracy_of(net, small_data[2])
    results = train_model(
        net, "tiny", sgd, max_epochs=2, data=small_data, device="cpu", checkpoint_dir=tmp_path
    )
    assert RESULT_KEYS <= set(results), f"missing result keys: {RESULT_KEYS - set(results)}"
    assert results["train_loss"][1] < results["train_loss"][0], "the training loss did not go down"
    assert results["test_acc"] > max(0.6, before + 0.3), f"test accuracy {results['test_acc']} after 2 epochs"
    assert len(results["val_acc"]) == 2 and results["val_acc_best"] == max(results["val_acc"])
    run = latest_run("tiny", tmp_path)
    assert {p.name for p in run.iterdir()} == set(model_files("tiny").values()), "stray or missing files"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["retrained"], "a file outside the run folders"
    stored = json.loads((run / "tiny_results.json").read_text())
    assert stored == results, "the results JSON differs from the returned results"
    recipe = results["recipe"]
    assert recipe["optimizer"] == {"class": "utils.optimizers.SGD", "lr": 0.1}
    assert (recipe["epochs"], recipe["batch_size"], recipe["seed"]) == (2, 256, 42)
    assert recipe["network"] == net.config and recipe["data"]["sizes"] == [2000, 1000, 1000]
    assert len(recipe["init"]["weight_std"]) == 5 and recipe["environment"]["threads"] >= 1
    reloaded = load_model("tiny", tmp_path)
    assert accuracy_of(reloaded, small_data[2]) == results["test_acc"], (
        "the checkpoint is not the best epoch's"
    )


def test_net_holds_the_best_epoch_not_the_last(small_data, tmp_path):
    net = fresh_net()
    results = train_model(
        net,
        "best",
        lambda p: SGD(p, lr=2.0),
        max_epochs=3,
        data=small_data,
        device="cpu",
        checkpoint_dir=tmp_path,
    )
    assert accuracy_of(net, small_data[1]) == results["val_acc_best"], "net does not hold the best epoch"


def never_steps(params):
    """The recipe's SGD(lr=0.1), which fails the test if training starts."""
    optimizer = SGD(params, lr=0.1)
    optimizer.step = lambda: pytest.fail("must not train")
    return optimizer


def test_complete_result_is_loaded_not_retrained(small_data, tmp_path, capsys):
    first = train_model(
        fresh_net(), "skip", sgd, max_epochs=1, data=small_data, device="cpu", checkpoint_dir=tmp_path
    )
    net = fresh_net(seed=1)
    again = train_model(
        net, "skip", never_steps, max_epochs=1, data=small_data, device="cpu", checkpoint_dir=tmp_path
    )
    assert again == first and "overwrite=True" in capsys.readouterr().out
    assert accuracy_of(net, small_data[2]) == first["test_acc"], "the stored weights were not loaded into net"


def test_overwrite_retrains(small_data, tmp_path):
    first = train_model(
        fresh_net(), "over", sgd, max_epochs=1, data=small_data, device="cpu", checkpoint_dir=tmp_path
    )
    second = train_model(
        fresh_net(),
        "over",
        lambda p: Adam(p, lr=1e-3),
        max_epochs=1,
        data=small_data,
        device="cpu",
        checkpoint_dir=tmp_path,
        overwrite=True,
    )
    assert (first["optimizer"], second["optimizer"]) == ("SGD", "Adam")
    assert load_results("over", tmp_path)["optimizer"] == "Adam"


def test_torch_optim_works_too(small_data, tmp_path):
    results = train_model(
        fresh_net(),
        "torch",
        lambda p: torch.optim.SGD(p, lr=0.1),
        max_epochs=1,
        data=small_data,
        device="cpu",
        checkpoint_dir=tmp_path,
    )
    assert results["optimizer"] == "SGD" and results["test_acc"] > 0.5


def test_interrupted_run_leaves_the_previous_model(small_data, tmp_path, monkeypatch):
    """A crash after the weights but before the results: the old model stays complete and loadable."""
    import utils.checkpoints

    first = train_model(
        fresh_net(), "cut", sgd, max_epochs=1, data=small_data, device="cpu", checkpoint_dir=tmp_path
    )

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed between checkpoint and results")

    monkeypatch.setattr(utils.checkpoints.os, "rename", crash)
    with pytest.raises(KeyboardInterrupt):
        train_model(
            fresh_net(1),
            "cut",
            sgd,
            max_epochs=2,
            data=small_data,
            device="cpu",
            checkpoint_dir=tmp_path,
            overwrite=True,
        )
    assert not list(runs_dir(tmp_path).rglob("*.tmp")), "a temporary file was left behind"
    assert load_results("cut", tmp_path) == first
    assert accuracy_of(load_model("cut", tmp_path), small_data[2]) == first["test_acc"]


KILLED_RETRAIN = """
import sys, torch
from utils.models import BaseNetwork
from utils.optimizers import SGD
from utils.training import train_model
g = torch.Generator().manual_seed(5)
data = [(torch.randn(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g))
        for n in (512, 256, 256)]
net = BaseNetwork("relu", hidden_sizes=(32,))
train_model(net, "victim", lambda p: SGD(p, lr=0.01), max_epochs=100_000, data=data, device="cpu",
            checkpoint_dir=sys.argv[1], overwrite=True)
"""


def test_retrain_killed_mid_training_keeps_the_previous_model(tmp_path):
    """SIGKILL (a Colab disconnect) in the middle of a retrain: the previous model still loads, unchanged."""
    net = BaseNetwork("relu", hidden_sizes=(32,))
    g = torch.Generator().manual_seed(5)
    data = [
        (torch.randn(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g))
        for n in (512, 256, 256)
    ]
    before = train_model(net, "victim", sgd, max_epochs=2, data=data, device="cpu", checkpoint_dir=tmp_path)
    files = tree(tmp_path)
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_RETRAIN, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert "Training 'victim'" in child.stdout.readline()  # training has started...
        time.sleep(2)  # ...and runs for a while
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        child.stdout.close()
    assert tree(tmp_path) == files, "the previous model was touched"
    assert load_results("victim", tmp_path) == before and load_model("victim", tmp_path).config == net.config


def test_bad_arguments(small_data, tmp_path):
    with pytest.raises(ValueError, match="max_epochs"):
        train_model(fresh_net(), "x", sgd, max_epochs=0, data=small_data, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="plain file name"):
        train_model(fresh_net(), "../x", sgd, max_epochs=1, data=small_data, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="data must be"):
        train_model(fresh_net(), "x", sgd, max_epochs=1, data=small_data[:2], checkpoint_dir=tmp_path)


@pytest.mark.parametrize(
    "change, what",
    [
        (dict(optim_func=lambda p: SGD(p, lr=0.05)), "optimizer.lr: 0.1 -> 0.05"),
        (
            dict(optim_func=lambda p: Adam(p, lr=1e-3)),
            "optimizer.class: utils.optimizers.SGD -> utils.optimizers.Adam",
        ),
        (dict(max_epochs=2), "epochs: 1 -> 2"),
        (dict(batch_size=128), "batch_size: 256 -> 128"),
        (dict(seed=7), "seed: 42 -> 7"),
        (dict(net="poor init"), "init.weight_std"),
        (dict(net="tanh"), "network.act_fn: relu -> tanh"),
    ],
)
def test_a_stored_result_of_another_recipe_is_not_used(small_data, tmp_path, capsys, change, what):
    stored = train_model(
        fresh_net(), "rec", sgd, max_epochs=1, data=small_data, device="cpu", checkpoint_dir=tmp_path
    )
    call = {"net": fresh_net(1), "optim_func": sgd, "max_epochs": 1, "batch_size": 256, "seed": 42, **change}
    if call["net"] == "poor init":
        call["net"] = fresh_net(1)
        var_init(call["net"], std=0.01)
    elif call["net"] == "tanh":
        set_seed(1)
        call["net"] = BaseNetwork("tanh")
        kaiming_init(call["net"])
    capsys.readouterr()
    again = train_model(
        call.pop("net"),
        "rec",
        call.pop("optim_func"),
        data=small_data,
        device="cpu",
        checkpoint_dir=tmp_path,
        **call,
    )
    out = capsys.readouterr().out
    assert "was made with another recipe" in out and what in out and "Training 'rec'" in out
    assert again["recipe"] != stored["recipe"] and load_results("rec", tmp_path) == again


def test_the_same_recipe_on_another_seed_of_the_course_is_reused(small_data, tmp_path, monkeypatch, capsys):
    """COURSE_SEED moves the initial weights, not the recipe: the stored result is loaded, not retrained."""
    stored = train_model(
        fresh_net(), "cs", sgd, max_epochs=1, data=small_data, device="cpu", checkpoint_dir=tmp_path
    )
    monkeypatch.setenv("COURSE_SEED", "3")
    again = train_model(
        fresh_net(),
        "cs",
        lambda p: SGD(p, lr=0.1),
        max_epochs=1,
        data=small_data,
        device="cpu",
        checkpoint_dir=tmp_path,
    )
    assert again == stored and "Loaded the trained 'cs'" in capsys.readouterr().out


def test_results_without_a_recipe_are_not_used(small_data, tmp_path, capsys):
    train_model(fresh_net(), "old", sgd, max_epochs=1, data=small_data, device="cpu", checkpoint_dir=tmp_path)
    path = latest_run("old", tmp_path) / "old_results.json"
    results = json.loads(path.read_text())
    del results["recipe"], results["record_sha256"]
    path.write_text(json.dumps(results))
    train_model(fresh_net(), "old", sgd, max_epochs=1, data=small_data, device="cpu", checkpoint_dir=tmp_path)
    assert "do not record their recipe" in capsys.readouterr().out


def published(tmp_path, small_data, monkeypatch, name="pub"):
    """A trained model `name` published as the course publishes: in a registry and a published folder of
    the test's own (and a cache), as utils/published.txt and saved_models/ are."""
    train_model(
        fresh_net(), name, sgd, max_epochs=1, data=small_data, device="cpu", checkpoint_dir=tmp_path / "make"
    )
    folder = tmp_path / "published"
    folder.mkdir()
    lines = []
    for file in model_files(name).values():
        (folder / file).write_bytes((latest_run(name, tmp_path / "make") / file).read_bytes())
        lines.append(f"{file} {registry.file_hash(folder / file)}\n")
    (tmp_path / "published.txt").write_text("".join(lines))
    monkeypatch.setattr(registry, "REGISTRY_FILE", tmp_path / "published.txt")
    monkeypatch.setattr(registry, "PUBLISHED_DIR", folder)
    monkeypatch.setattr(registry.downloads, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setenv("COURSE_MODELS_URL", "http://127.0.0.1:9/")  # the discard port: nothing answers
    return folder, tree(folder)


def test_a_published_model_is_loaded_and_never_written(small_data, tmp_path, monkeypatch, capsys):
    folder, files = published(tmp_path, small_data, monkeypatch)
    net = fresh_net(1)
    loaded = train_model(
        net, "pub", never_steps, max_epochs=1, data=small_data, device="cpu", checkpoint_dir=folder
    )
    assert "Loaded the trained 'pub' from the course's published files" in capsys.readouterr().out
    assert accuracy_of(net, small_data[2]) == loaded["test_acc"] and tree(folder) == files


@pytest.mark.parametrize("where", ["published", "elsewhere"])
def test_retraining_a_published_model_never_writes_over_it(small_data, tmp_path, monkeypatch, capsys, where):
    """Also with PATH_CHECKPOINT (checkpoint_dir) pointing at the published folder itself."""
    folder, files = published(tmp_path, small_data, monkeypatch)
    checkpoints = folder if where == "published" else tmp_path / "mine"
    retrained = train_model(
        fresh_net(1),
        "pub",
        sgd,
        max_epochs=1,
        data=small_data,
        device="cpu",
        checkpoint_dir=checkpoints,
        overwrite=True,
    )
    assert "into " + str(runs_dir(checkpoints) / "pub") in capsys.readouterr().out
    assert {k: v for k, v in tree(folder).items() if k.parts[0] != "retrained"} == files, (
        "a published file changed"
    )
    assert load_results("pub", checkpoints) == retrained
    changed = train_model(
        fresh_net(1),
        "pub",
        lambda p: SGD(p, lr=0.05),
        max_epochs=1,
        data=small_data,
        device="cpu",
        checkpoint_dir=checkpoints,
    )  # another recipe: trained into the student's folder too
    again = train_model(
        fresh_net(1),
        "pub",
        lambda p: SGD(p, lr=0.05),
        max_epochs=1,
        data=small_data,
        device="cpu",
        checkpoint_dir=checkpoints,
    )  # the student's own result is found again
    assert again == changed and "Loaded the trained 'pub' from " in capsys.readouterr().out


@pytest.mark.parametrize("damage", ["swapped weights", "deleted weights", "empty results"])
def test_a_damaged_published_file_is_not_used_nor_repaired_in_place(
    small_data, tmp_path, monkeypatch, capsys, damage
):
    folder, _ = published(tmp_path, small_data, monkeypatch)
    if damage == "swapped weights":
        (folder / "pub.pt").write_bytes(b"something else")
    elif damage == "deleted weights":
        (folder / "pub.pt").unlink()
    else:
        (folder / "pub_results.json").write_text("")
    before = tree(folder)
    train_model(
        fresh_net(), "pub", sgd, max_epochs=1, data=small_data, device="cpu", checkpoint_dir=tmp_path / "mine"
    )
    out = capsys.readouterr().out
    assert "the published one cannot be had" in out and "Not used." in out and "Training 'pub'" in out
    assert tree(folder) == before, "the damaged folder was written to"
    assert latest_run("pub", tmp_path / "mine") is not None


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_students_own_files_in_path_checkpoint_are_never_touched(
    small_data, tmp_path, monkeypatch, overwrite
):
    """A student's FashionMNIST_SGD.* of their own in PATH_CHECKPOINT, beside an empty MANIFEST.sha256:
    neither replaced nor used, whether the call retrains or not."""
    folder = tmp_path / "mine"
    folder.mkdir()
    for file in model_files("FashionMNIST_SGD").values():
        (folder / file).write_text("my own work")
    (folder / "MANIFEST.sha256").write_text("")  # an empty manifest of an older course: decides nothing now
    before = tree(folder)
    monkeypatch.setenv("COURSE_MODELS_URL", "http://127.0.0.1:9/")
    set_seed(42)
    train_model(
        BaseNetwork("relu", hidden_sizes=(16,)),
        "FashionMNIST_SGD",
        sgd,
        max_epochs=1,
        data=small_data,
        device="cpu",
        checkpoint_dir=folder,
        overwrite=overwrite,
    )
    assert {k: v for k, v in tree(folder).items() if k.parts[0] != "retrained"} == before
    assert latest_run("FashionMNIST_SGD", folder) is not None


def test_read_only_checkpoint_folder_fails_before_training(small_data, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("utils.checkpoints.tempfile.TemporaryFile", refuse)
    with pytest.raises(CheckpointError, match="Cannot write checkpoints.*Training was not started"):
        train_model(
            fresh_net(),
            "ro",
            never_steps,
            max_epochs=1,
            data=small_data,
            device="cpu",
            checkpoint_dir=tmp_path,
        )
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_training_shows_a_progress_bar_with_validation_accuracy(small_data, tmp_path, capsys):
    train_model(fresh_net(), "bar", sgd, max_epochs=2, data=small_data, device="cpu", checkpoint_dir=tmp_path)
    err = capsys.readouterr().err
    assert "bar: 100%" in err and "2/2" in err and "val_acc=" in err


def test_test_model_is_accuracy():
    x = torch.randn(50, 1, 28, 28)
    net = fresh_net()
    y = net(x).argmax(dim=-1)
    y[:10] = (y[:10] + 1) % 10
    assert accuracy_of(net, (x, y), batch_size=7) == pytest.approx(0.8)
