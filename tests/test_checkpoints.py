"""utils.checkpoints: runs written whole into folders of their own (locked, atomic), verification by the
record's own hash and the hashes of config and weights, clear errors for damaged, swapped or edited
files, and published models that load from the registry only."""

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from utils.checkpoints import (
    LATEST,
    CheckpointError,
    check_writable,
    export_run,
    is_published_model,
    latest_run,
    load_files,
    load_model,
    load_published_model,
    load_run,
    model_files,
    record_hash,
    runs_dir,
    save_run,
)
from utils.models import BaseNetwork
from utils.registry import read_registry

RESULTS = {"test_acc": 0.5, "val_acc": [0.4, 0.5]}


def stored_model(folder, name="m", hidden=(16, 8), act_fn="relu", results=RESULTS, seed=0):
    torch.manual_seed(seed)
    net = BaseNetwork(act_fn, hidden_sizes=hidden)
    save_run(net, results, name, folder)
    return net


def files_of(folder, name="m"):
    run = latest_run(name, folder)
    return {key: run / file for key, file in model_files(name).items()}


def rewrite_results(path, change):
    """Edit a results file and re-seal it (so the damage under test reaches the next check)."""
    results = json.loads(path.read_text())
    change(results)
    results["record_sha256"] = record_hash(results)
    path.write_text(json.dumps(results))


def test_round_trip(tmp_path):
    net = stored_model(tmp_path)
    loaded, stored = load_run("m", tmp_path)
    assert loaded.config == net.config
    for (k, a), b in zip(net.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b), f"{k} changed in the round trip"
    assert {k: stored[k] for k in RESULTS} == RESULTS and set(stored["files"]) == {"config", "weights"}
    assert stored["record_sha256"] == record_hash(stored)
    model_dir = runs_dir(tmp_path) / "m"
    assert sorted(p.name for p in model_dir.iterdir()) == sorted(
        [".lock", LATEST, latest_run("m", tmp_path).name]
    )


def test_a_second_run_is_a_new_folder_and_the_first_stays(tmp_path):
    stored_model(tmp_path, hidden=(16, 8))
    first = latest_run("m", tmp_path)
    before = {p.name: p.read_bytes() for p in first.iterdir()}
    stored_model(tmp_path, hidden=(32,), results={"test_acc": 0.7})
    assert latest_run("m", tmp_path) != first and load_model("m", tmp_path).config["hidden_sizes"] == [32]
    assert {p.name: p.read_bytes() for p in first.iterdir()} == before


def test_diverged_results_are_standard_json(tmp_path):
    stored_model(tmp_path, results={"train_loss": [1.0, float("nan"), float("inf")]})
    text = files_of(tmp_path)["results"].read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert load_run("m", tmp_path)[1]["train_loss"] == [1.0, None, None]


def test_truncated_weights_give_a_clear_error_without_unsafe_advice(tmp_path):
    stored_model(tmp_path)
    files = files_of(tmp_path)
    files["weights"].write_bytes(files["weights"].read_bytes()[:200])
    rewrite_results(files["results"], lambda r: r["files"].pop("weights"))  # so torch.load meets the damage
    with pytest.raises(CheckpointError, match=r"m.pt is not a readable state dict.*overwrite=True") as err:
        load_model("m", tmp_path)
    assert "weights_only" not in str(err.value) and err.value.__cause__ is None


def test_swapped_weights_are_refused(tmp_path):
    stored_model(tmp_path / "a")
    stored_model(tmp_path / "b", seed=1)
    files_of(tmp_path / "a")["weights"].write_bytes(files_of(tmp_path / "b")["weights"].read_bytes())
    with pytest.raises(CheckpointError, match=r"m.pt is not the file that m_results.json was measured on"):
        load_model("m", tmp_path / "a")


def test_edited_config_is_refused(tmp_path):
    stored_model(tmp_path)
    config = files_of(tmp_path)["config"]
    config.write_text(config.read_text().replace("relu", "tanh"))
    with pytest.raises(CheckpointError, match=r"m.config.json is not the file"):
        load_model("m", tmp_path)


def test_edited_results_are_refused(tmp_path):
    stored_model(tmp_path)
    path = files_of(tmp_path)["results"]
    path.write_text(path.read_text().replace("0.5", "0.9"))
    with pytest.raises(CheckpointError, match="edited after it was written"):
        load_model("m", tmp_path)


@pytest.mark.parametrize("files", [["m.pt"], "m.pt", 3])
def test_a_files_entry_of_the_wrong_kind_is_a_clear_error(tmp_path, files):
    stored_model(tmp_path)
    rewrite_results(files_of(tmp_path)["results"], lambda r: r.update(files=files))
    with pytest.raises(CheckpointError, match="'files' entry that is not a mapping"):
        load_model("m", tmp_path)


@pytest.mark.parametrize("text", ["", "[1, 2]", "{not json", "\xff"])
def test_unreadable_results_are_a_clear_error(tmp_path, text):
    stored_model(tmp_path)
    files_of(tmp_path)["results"].write_text(text, encoding="latin-1")
    with pytest.raises(CheckpointError, match="m_results.json (is not readable JSON|holds no JSON object)"):
        load_model("m", tmp_path)


@pytest.mark.parametrize(
    "config, what",
    [
        (
            {"act_fn": "relu", "input_size": 784, "num_classes": 10, "hidden_sizes": [16], "colour": "red"},
            "colour",
        ),
        ({"act_fn": "relu", "input_size": 784, "num_classes": 10, "hidden_sizes": [-4]}, "-4"),
        ({"act_fn": "swoosh", "input_size": 784, "num_classes": 10, "hidden_sizes": [16]}, "swoosh"),
    ],
)
def test_bad_configs_name_the_file(tmp_path, config, what):
    stored_model(tmp_path)
    files = files_of(tmp_path)
    files["config"].write_text(json.dumps(config))
    rewrite_results(files["results"], lambda r: r["files"].pop("config"))
    with pytest.raises(CheckpointError, match=r"m.config.json does not describe a network .*" + what):
        load_model("m", tmp_path)


def test_a_config_that_is_not_an_object_names_the_file(tmp_path):
    stored_model(tmp_path)
    files = files_of(tmp_path)
    files["config"].write_text("[16, 8]")
    rewrite_results(files["results"], lambda r: r["files"].pop("config"))
    with pytest.raises(CheckpointError, match=r"m.config.json holds no JSON object"):
        load_model("m", tmp_path)


def test_mismatched_config_gives_clear_error(tmp_path):
    stored_model(tmp_path, hidden=(16, 8))
    with pytest.raises(
        CheckpointError, match=r"hidden_sizes.*\[16, 8\].*hidden_sizes.*\[32, 8\].*from_config"
    ):
        load_model("m", tmp_path, net=BaseNetwork("relu", hidden_sizes=(32, 8)))


def test_missing_run(tmp_path):
    with pytest.raises(CheckpointError, match=r"No run of 'nope'.*overwrite=True"):
        load_model("nope", tmp_path)


@pytest.mark.parametrize("pointer", ["", "{}", '{"run": "../../elsewhere"}', '{"run": 3}'])
def test_a_damaged_latest_pointer_is_a_clear_error(tmp_path, pointer):
    stored_model(tmp_path)
    (runs_dir(tmp_path) / "m" / LATEST).write_text(pointer)
    with pytest.raises(CheckpointError, match="does not name a run"):
        load_model("m", tmp_path)


def test_save_run_needs_a_config(tmp_path):
    with pytest.raises(ValueError, match="config"):
        save_run(torch.nn.Linear(2, 2), RESULTS, "lin", tmp_path)
    assert not list(tmp_path.rglob("*.pt"))


def test_read_only_folder_is_reported_before_writing(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("utils.checkpoints.tempfile.TemporaryFile", refuse)
    with pytest.raises(CheckpointError, match="Cannot write checkpoints to .*PATH_CHECKPOINT"):
        check_writable(tmp_path / "ro")


def test_a_run_that_fails_while_writing_leaves_the_previous_one(tmp_path, monkeypatch):
    stored_model(tmp_path, hidden=(16, 8))
    monkeypatch.setattr(
        "utils.checkpoints.os.fsync", lambda fd: (_ for _ in ()).throw(OSError(28, "No space"))
    )
    with pytest.raises(OSError, match="No space"):
        stored_model(tmp_path, hidden=(32,))
    assert load_model("m", tmp_path).config["hidden_sizes"] == [16, 8]
    assert not list(runs_dir(tmp_path).rglob("*.tmp")), "a temporary folder was left behind"


def _save_many(folder, seed, count):
    for i in range(count):
        torch.manual_seed(seed * 1000 + i)
        net = BaseNetwork("relu", hidden_sizes=(8,))
        save_run(net, {"writer": seed, "i": i}, "shared", folder)


def test_two_concurrent_runs_of_one_model_end_consistent(tmp_path):
    """Two processes saving the same model over and over: every moment, and at the end, the latest run's
    weights are the ones its results were measured on."""
    ctx = multiprocessing.get_context("spawn")
    writers = [ctx.Process(target=_save_many, args=(tmp_path, seed, 15)) for seed in (1, 2)]
    for writer in writers:
        writer.start()
    checks = 0
    while any(w.is_alive() for w in writers):
        if latest_run("shared", tmp_path) is not None:
            load_run("shared", tmp_path)  # verifies weights and config against the record
            checks += 1
        time.sleep(0.01)
    for writer in writers:
        writer.join(30)
        assert writer.exitcode == 0
    _, results = load_run("shared", tmp_path)
    assert results["i"] == 14 and checks > 0
    assert len([p for p in (runs_dir(tmp_path) / "shared").iterdir() if p.is_dir()]) == 30


KILLED_SAVE = """
import sys, torch
from utils.checkpoints import save_run
from utils.models import BaseNetwork
print("saving", flush=True)
for i in range(10**6):
    save_run(BaseNetwork("relu", hidden_sizes=(64,)), {"i": i}, "victim", sys.argv[1])
"""


def test_a_save_killed_at_any_moment_leaves_a_whole_model(tmp_path):
    stored_model(tmp_path, name="victim")
    for delay in (0.5, 0.9, 1.3):
        child = subprocess.Popen(
            [sys.executable, "-c", KILLED_SAVE, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout.readline() == "saving\n"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        child.stdout.close()
        load_run("victim", tmp_path)  # whole and verified, whichever run is the latest


def test_export_run_copies_a_whole_verified_run(tmp_path):
    net = stored_model(tmp_path)
    written = export_run("m", tmp_path, tmp_path / "out", "renamed")
    assert sorted(p.name for p in written) == sorted(model_files("renamed").values())
    assert load_files(tmp_path / "out", "renamed")[0].config == net.config
    os.remove(files_of(tmp_path)["weights"])
    with pytest.raises(CheckpointError):
        export_run("m", tmp_path, tmp_path / "out2")
    assert not (tmp_path / "out2").exists()


def test_whether_a_model_is_published_is_the_registrys_answer():
    assert is_published_model("FashionMNIST_SGD") and is_published_model("practice/practice_Adam")
    assert not is_published_model("m") and not is_published_model("practice/FashionMNIST_SGD")


def test_published_models_load_and_record_their_recipe():
    names = {n.removesuffix("_results.json") for n in read_registry() if n.endswith("_results.json")}
    assert {"FashionMNIST_SGD", "FashionMNIST_SGDMomentum", "FashionMNIST_Adam"} <= names
    for name in names:
        net, results = load_published_model(name)
        if "/" not in name:
            recipe = results["recipe"]
            assert recipe["epochs"] == 40 and recipe["optimizer"]["class"].startswith("utils.optimizers.")


def test_temporary_folders_of_killed_runs_are_removed_once_hours_old(tmp_path):
    stored_model(tmp_path)
    model_dir = runs_dir(tmp_path) / "m"
    old, fresh = model_dir / ".run-old.tmp", model_dir / ".run-fresh.tmp"
    for folder in (old, fresh):
        folder.mkdir()
        (folder / "m.pt").write_bytes(b"half a run")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    stored_model(tmp_path, seed=1)
    assert not old.exists() and fresh.exists(), "only the abandoned folder goes; a run in progress stays"
