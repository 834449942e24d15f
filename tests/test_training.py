"""utils.training.train_model / test_model on a small subset of Fashion-MNIST, in a temporary folder."""

import json

import pytest
import torch

from utils import set_seed
from utils.checkpoints import CheckpointError, load_model, model_files
from utils.data import fashion_mnist_tensors
from utils.init import kaiming_init
from utils.models import BaseNetwork
from utils.optimizers import SGD, Adam
from utils.training import test_model as accuracy_of
from utils.training import evaluate, train_epoch, train_model

from nbsource import assert_no_drift

RESULT_KEYS = {"test_acc", "val_acc_best", "best_epoch", "train_acc", "val_acc", "train_loss", "val_loss",
               "epochs", "batch_size", "seed", "optimizer", "model_name", "device", "seconds_per_epoch"}


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
    results = train_model(net, "tiny", sgd, max_epochs=2, data=small_data, device="cpu", checkpoint_dir=tmp_path)
    assert RESULT_KEYS <= set(results), f"missing result keys: {RESULT_KEYS - set(results)}"
    assert results["train_loss"][1] < results["train_loss"][0], "the training loss did not go down"
    assert results["test_acc"] > max(0.6, before + 0.3), f"test accuracy {results['test_acc']} after 2 epochs"
    assert len(results["val_acc"]) == 2 and results["val_acc_best"] == max(results["val_acc"])
    assert {p.name for p in tmp_path.iterdir()} == set(model_files("tiny").values()), "stray or missing files"
    stored = json.loads((tmp_path / "tiny_results.json").read_text())
    assert stored == results, "the results JSON differs from the returned results"
    reloaded = load_model("tiny", tmp_path)
    assert accuracy_of(reloaded, small_data[2]) == results["test_acc"], "the checkpoint is not the best epoch's"


def test_net_holds_the_best_epoch_not_the_last(small_data, tmp_path):
    net = fresh_net()
    results = train_model(net, "best", lambda p: SGD(p, lr=2.0), max_epochs=3, data=small_data,
                          device="cpu", checkpoint_dir=tmp_path)
    assert accuracy_of(net, small_data[1]) == results["val_acc_best"], "net does not hold the best epoch"


def test_complete_result_is_loaded_not_retrained(small_data, tmp_path, capsys):
    first = train_model(fresh_net(), "skip", sgd, max_epochs=1, data=small_data, device="cpu", checkpoint_dir=tmp_path)
    net = fresh_net(seed=1)
    again = train_model(net, "skip", lambda p: pytest.fail("must not train"), max_epochs=1, data=small_data,
                        device="cpu", checkpoint_dir=tmp_path)
    assert again == first and "overwrite=True" in capsys.readouterr().out
    assert accuracy_of(net, small_data[2]) == first["test_acc"], "the stored weights were not loaded into net"


def test_overwrite_retrains(small_data, tmp_path):
    first = train_model(fresh_net(), "over", sgd, max_epochs=1, data=small_data, device="cpu", checkpoint_dir=tmp_path)
    second = train_model(fresh_net(), "over", lambda p: Adam(p, lr=1e-3), max_epochs=1, data=small_data,
                         device="cpu", checkpoint_dir=tmp_path, overwrite=True)
    assert (first["optimizer"], second["optimizer"]) == ("SGD", "Adam")
    assert json.loads((tmp_path / "over_results.json").read_text())["optimizer"] == "Adam"


def test_torch_optim_works_too(small_data, tmp_path):
    results = train_model(fresh_net(), "torch", lambda p: torch.optim.SGD(p, lr=0.1), max_epochs=1,
                          data=small_data, device="cpu", checkpoint_dir=tmp_path)
    assert results["optimizer"] == "SGD" and results["test_acc"] > 0.5


def test_interrupted_run_leaves_no_complete_result(small_data, tmp_path, monkeypatch):
    """A crash after the checkpoint but before the results JSON: nothing may look finished."""
    import utils.training

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed between checkpoint and results")

    monkeypatch.setattr(utils.training, "save_results", crash)
    with pytest.raises(KeyboardInterrupt):
        train_model(fresh_net(), "cut", sgd, max_epochs=1, data=small_data, device="cpu", checkpoint_dir=tmp_path)
    assert (tmp_path / "cut.pt").is_file() and not (tmp_path / "cut_results.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")], "a temporary file was left behind"
    with pytest.raises(CheckpointError, match="interrupted.*overwrite=True"):
        load_model("cut", tmp_path)
    monkeypatch.undo()  # the next call must train again instead of loading the unfinished checkpoint
    results = train_model(fresh_net(), "cut", sgd, max_epochs=1, data=small_data, device="cpu", checkpoint_dir=tmp_path)
    assert (tmp_path / "cut_results.json").is_file() and results["epochs"] == 1


def test_bad_arguments(small_data, tmp_path):
    with pytest.raises(ValueError, match="max_epochs"):
        train_model(fresh_net(), "x", sgd, max_epochs=0, data=small_data, checkpoint_dir=tmp_path)


def test_test_model_is_accuracy():
    x = torch.randn(50, 1, 28, 28)
    net = fresh_net()
    y = net(x).argmax(dim=-1)
    y[:10] = (y[:10] + 1) % 10
    assert accuracy_of(net, (x, y), batch_size=7) == pytest.approx(0.8)


def test_notebook_06_teaches_the_same_loop():
    assert_no_drift("06", train_epoch, evaluate, accuracy_of)


def test_offline_download_falls_back_to_training(small_data, tmp_path, monkeypatch, capsys):
    """The manifest lists the model, its files are missing and the server is down: train instead."""
    (tmp_path / "MANIFEST.sha256").write_text("".join(f"{'0' * 64}  {name}\n" for name in model_files("dl").values()))
    monkeypatch.setenv("COURSE_MODELS_URL", "http://127.0.0.1:9/")  # the discard port: nothing answers
    results = train_model(fresh_net(), "dl", sgd, max_epochs=1, data=small_data, device="cpu", checkpoint_dir=tmp_path)
    assert "training instead" in capsys.readouterr().out
    assert results["epochs"] == 1 and (tmp_path / "dl_results.json").is_file()
