"""utils.checkpoints: staged (all-or-nothing) saves, verification against the manifest and the results'
own hashes, and clear errors for damaged, swapped or edited files."""

import json
import os

import pytest
import torch

from utils import REPO_ROOT
from utils.checkpoints import (
    MANIFEST_NAME,
    CheckpointError,
    check_writable,
    install_model,
    is_complete,
    is_model_file,
    load_model,
    load_results,
    model_files,
    read_manifest,
    save_model,
    save_results,
    sha256,
    write_manifest,
)
from utils.models import BaseNetwork

RESULTS = {"test_acc": 0.5, "val_acc": [0.4, 0.5]}
PUBLISHED = REPO_ROOT / "saved_models"


def stored_model(folder, name="m", hidden=(16, 8), act_fn="relu", results=RESULTS):
    torch.manual_seed(0)
    net = BaseNetwork(act_fn, hidden_sizes=hidden)
    save_model(net, name, folder)
    save_results(results, name, folder)
    return net


def test_round_trip(tmp_path):
    net = stored_model(tmp_path)
    loaded = load_model("m", tmp_path)
    assert loaded.config == net.config and is_complete("m", tmp_path)
    for (k, a), b in zip(net.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b), f"{k} changed in the round trip"
    stored = load_results("m", tmp_path)
    assert {k: stored[k] for k in RESULTS} == RESULTS and set(stored["files"]) == {"m.config.json", "m.pt"}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(model_files("m").values()), "stray files"


def test_a_saved_model_is_staged_until_its_results_commit_it(tmp_path):
    """save_model alone leaves the previous complete model in place, untouched."""
    stored_model(tmp_path, hidden=(16, 8))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    save_model(BaseNetwork("relu", hidden_sizes=(32,)), "m", tmp_path)  # a new run, killed before results
    assert all((tmp_path / n).read_bytes() == b for n, b in before.items()), "the old model was touched"
    assert load_model("m", tmp_path).config["hidden_sizes"] == [16, 8]


@pytest.mark.parametrize("cut", range(6))
def test_a_save_cut_anywhere_leaves_one_whole_model(tmp_path, monkeypatch, cut):
    """Six renames make a save: three staged files written, then three moves. Killed before rename `cut`,
    the folder serves the old model (commit record not yet written) or, finished by the next reader, the
    new one."""
    stored_model(tmp_path, hidden=(16, 8))
    real_replace, done = os.replace, []

    def replace_until_cut(src, dst):
        if len(done) == cut:
            raise KeyboardInterrupt("killed during the save")
        done.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_until_cut)
    with pytest.raises(KeyboardInterrupt):
        stored_model(tmp_path, hidden=(32,), results={"test_acc": 0.9})
    monkeypatch.undo()
    net, results = load_model("m", tmp_path), load_results("m", tmp_path)
    expected = ([32], 0.9) if cut >= 3 else ([16, 8], 0.5)
    assert (net.config["hidden_sizes"], results["test_acc"]) == expected


def test_truncated_checkpoint_gives_clear_error_without_unsafe_advice(tmp_path):
    stored_model(tmp_path)
    weights = tmp_path / "m.pt"
    weights.write_bytes(weights.read_bytes()[:200])
    results = json.loads((tmp_path / "m_results.json").read_text())
    results["files"]["m.pt"] = sha256(weights)  # so the damage reaches torch.load, not the hash check
    (tmp_path / "m_results.json").write_text(json.dumps(results))
    with pytest.raises(
        CheckpointError, match=r"m.pt is not a readable state dict.*Delete m.config.json"
    ) as err:
        load_model("m", tmp_path)
    assert "weights_only" not in str(err.value) and err.value.__cause__ is None


def test_swapped_weights_are_refused(tmp_path):
    stored_model(tmp_path / "a", hidden=(16, 8))
    torch.manual_seed(1)
    save_model(BaseNetwork("relu", hidden_sizes=(16, 8)), "m", tmp_path / "b")
    save_results({"test_acc": 0.1}, "m", tmp_path / "b")
    (tmp_path / "a" / "m.pt").write_bytes((tmp_path / "b" / "m.pt").read_bytes())  # fits, but is not ours
    with pytest.raises(CheckpointError, match=r"a/m.pt is not the file that m_results.json was measured on"):
        load_model("m", tmp_path / "a")


def test_edited_config_is_refused(tmp_path):
    stored_model(tmp_path)
    config = tmp_path / "m.config.json"
    config.write_text(config.read_text().replace("relu", "tanh"))
    with pytest.raises(CheckpointError, match=r"m.config.json is not the file"):
        load_model("m", tmp_path)


def test_files_that_differ_from_the_manifest_are_refused(tmp_path):
    stored_model(tmp_path)
    write_manifest(tmp_path)
    stored_model(tmp_path, hidden=(32,))  # consistent with its own results, but not the published model
    with pytest.raises(CheckpointError, match=r"m.config.json does not match .*MANIFEST.sha256"):
        load_model("m", tmp_path)


@pytest.mark.parametrize(
    "config, what",
    [
        ({"act_fn": "relu", "hidden_sizes": [16], "colour": "red"}, "colour"),
        ([16, 8], "JSON object"),
        ({"act_fn": "relu", "hidden_sizes": [-4]}, ""),
        ({"act_fn": "swoosh", "hidden_sizes": [16]}, "swoosh"),
    ],
)
def test_bad_configs_name_the_file(tmp_path, config, what):
    stored_model(tmp_path)
    (tmp_path / "m.config.json").write_text(json.dumps(config))
    results = json.loads((tmp_path / "m_results.json").read_text())
    results["files"]["m.config.json"] = sha256(tmp_path / "m.config.json")  # an edit its results agree with
    (tmp_path / "m_results.json").write_text(json.dumps(results))
    with pytest.raises(CheckpointError, match=r"m.config.json does not describe a network .*" + what):
        load_model("m", tmp_path)


def test_mismatched_config_gives_clear_error(tmp_path):
    stored_model(tmp_path, hidden=(16, 8))
    with pytest.raises(
        CheckpointError, match=r"hidden_sizes.*\[16, 8\].*hidden_sizes.*\[32, 8\].*from_config"
    ):
        load_model("m", tmp_path, net=BaseNetwork("relu", hidden_sizes=(32, 8)))


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match=r"No checkpoint 'nope'.*missing"):
        load_model("nope", tmp_path)
    with pytest.raises(CheckpointError, match="never trained to the end"):
        load_results("nope", tmp_path)


def test_weights_without_results_are_not_a_model(tmp_path):
    stored_model(tmp_path)
    (tmp_path / "m_results.json").unlink()
    with pytest.raises(CheckpointError, match="interrupted.*overwrite=True"):
        load_model("m", tmp_path)


def test_save_model_needs_a_config(tmp_path):
    with pytest.raises(ValueError, match="config"):
        save_model(torch.nn.Linear(2, 2), "lin", tmp_path)


def test_manifest_round_trip_lists_model_files_only(tmp_path):
    stored_model(tmp_path)
    (tmp_path / "README.md").write_text("notes")
    sums = write_manifest(tmp_path)
    assert set(sums) == set(model_files("m").values()) and read_manifest(tmp_path) == sums


def test_malformed_manifest_line_names_file_and_line(tmp_path):
    stored_model(tmp_path)
    write_manifest(tmp_path)
    with open(tmp_path / MANIFEST_NAME, "a") as f:
        f.write("not-a-digest m.pt\n")
    with pytest.raises(CheckpointError, match=r"MANIFEST.sha256, line 4, is not '<64 hex digits>"):
        load_model("m", tmp_path)


def test_read_only_folder_is_reported_before_training(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):  # root ignores permissions: make the folder refuse writes another way

        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr("utils.checkpoints.tempfile.TemporaryFile", refuse)
    with pytest.raises(
        CheckpointError, match=r"Cannot write checkpoints to .*ro \(Permission denied\).*PATH_CHECKPOINT"
    ):
        check_writable(folder)


def test_install_model_replaces_only_a_complete_verified_model(tmp_path):
    stored_model(tmp_path / "new", hidden=(32,))
    stored_model(tmp_path / "old", hidden=(16, 8))
    install_model("m", tmp_path / "new", tmp_path / "old")
    assert load_model("m", tmp_path / "old").config["hidden_sizes"] == [32]
    (tmp_path / "new" / "m_results.json").unlink()
    with pytest.raises(CheckpointError):
        install_model("m", tmp_path / "new", tmp_path / "old")
    assert load_model("m", tmp_path / "old").config["hidden_sizes"] == [32]


def test_published_models_match_their_manifest():
    manifest = read_manifest(PUBLISHED)
    present = {p.name for p in PUBLISHED.iterdir() if p.is_file() and is_model_file(p.name)}
    assert set(manifest) == present, "saved_models/ and its manifest list different model files"
    for name, digest in manifest.items():
        assert sha256(PUBLISHED / name) == digest, (
            f"{name} does not match {MANIFEST_NAME}: see saved_models/README.md"
        )


def test_published_models_load_and_record_their_recipe():
    for name in {
        n.removesuffix("_results.json") for n in read_manifest(PUBLISHED) if n.endswith("_results.json")
    }:
        load_model(name, PUBLISHED)
        recipe = load_results(name, PUBLISHED)["recipe"]
        assert recipe["epochs"] == 40 and recipe["optimizer"]["class"].startswith("utils.optimizers.")
