"""utils.checkpoints: atomic save/load, clear errors for damaged checkpoints, manifest, and the download of
missing pretrained files, served by a local http.server on 127.0.0.1."""

import functools
import http.server
import threading

import pytest
import torch

from utils import CHECKPOINT_DIR
from utils.checkpoints import (DEFAULT_MODELS_URL, MANIFEST_NAME, CheckpointError, download_pretrained,
                               is_complete, load_model, load_results, model_files, models_url, read_manifest,
                               save_model, save_results, sha256, write_manifest)
from utils.models import BaseNetwork

RESULTS = {"test_acc": 0.5, "val_acc": [0.4, 0.5]}


def stored_model(folder, name="m", hidden=(16, 8)):
    torch.manual_seed(0)
    net = BaseNetwork("relu", hidden_sizes=hidden)
    save_model(net, name, folder)
    save_results(RESULTS, name, folder)
    return net


def test_round_trip(tmp_path):
    net = stored_model(tmp_path)
    loaded = load_model("m", tmp_path)
    assert loaded.config == net.config and is_complete("m", tmp_path)
    for (k, a), b in zip(net.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), f"{k} changed in the round trip"
    assert load_results("m", tmp_path) == RESULTS
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_truncated_checkpoint_gives_clear_error(tmp_path):
    stored_model(tmp_path)
    weights = tmp_path / "m.pt"
    weights.write_bytes(weights.read_bytes()[:200])
    with pytest.raises(CheckpointError, match=r"corrupt.*Delete m.config.json, m.pt, m_results.json.*overwrite=True"):
        load_model("m", tmp_path)


def test_mismatched_config_gives_clear_error(tmp_path):
    stored_model(tmp_path, hidden=(16, 8))
    with pytest.raises(CheckpointError, match=r"hidden_sizes.*\[16, 8\].*hidden_sizes.*\[32, 8\].*from_config"):
        load_model("m", tmp_path, net=BaseNetwork("relu", hidden_sizes=(32, 8)))


def test_weights_that_do_not_fit_the_config(tmp_path):
    stored_model(tmp_path, hidden=(16, 8))
    torch.save(BaseNetwork("relu", hidden_sizes=(32, 8)).state_dict(), tmp_path / "m.pt")
    with pytest.raises(CheckpointError, match="do not fit the network"):
        load_model("m", tmp_path)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match=r"No checkpoint 'nope'.*missing"):
        load_model("nope", tmp_path)
    with pytest.raises(CheckpointError, match="never trained to the end"):
        load_results("nope", tmp_path)


def test_save_model_needs_a_config(tmp_path):
    with pytest.raises(ValueError, match="config"):
        save_model(torch.nn.Linear(2, 2), "lin", tmp_path)


def test_manifest_round_trip(tmp_path):
    stored_model(tmp_path)
    sums = write_manifest(tmp_path)
    assert set(sums) == set(model_files("m").values()) and read_manifest(tmp_path) == sums


def test_committed_models_match_their_manifest():
    manifest = read_manifest(CHECKPOINT_DIR)
    present = {p.name for p in CHECKPOINT_DIR.iterdir() if p.is_file() and p.name != MANIFEST_NAME}
    assert set(manifest) == present, "saved_models/ and its manifest list different files"
    for name, digest in manifest.items():
        assert sha256(CHECKPOINT_DIR / name) == digest, f"{name} does not match {MANIFEST_NAME}: run write_manifest()"


def test_models_url_from_environment(monkeypatch):
    monkeypatch.delenv("COURSE_MODELS_URL", raising=False)
    assert models_url() == DEFAULT_MODELS_URL
    monkeypatch.setenv("COURSE_MODELS_URL", "http://mirror.example/models")
    assert models_url() == "http://mirror.example/models/"


# --- download against a local server --------------------------------------------------------------

class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/remote on 127.0.0.1 (a free port) for the duration of one test."""
    remote = tmp_path / "remote"
    remote.mkdir()
    handler = functools.partial(QuietHandler, directory=str(remote))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield remote, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def published(remote, local):
    """Publish a model on the 'server' and give the local folder only the manifest."""
    stored_model(remote)
    write_manifest(remote)
    local.mkdir()
    (local / MANIFEST_NAME).write_bytes((remote / MANIFEST_NAME).read_bytes())


def test_download_fetches_only_missing_files(server, tmp_path):
    remote, url = server
    local = tmp_path / "local"
    published(remote, local)
    (local / "m.config.json").write_bytes((remote / "m.config.json").read_bytes())
    (remote / "m.config.json").unlink()  # a request for it would 404: it must not be asked for
    assert download_pretrained("m", local, base_url=url)
    assert all(sha256(local / n) == sha256(remote / n) for n in ("m.pt", "m_results.json"))
    assert load_results("m", local) == RESULTS and load_model("m", local).config["hidden_sizes"] == [16, 8]


def test_download_rejects_wrong_checksum(server, tmp_path, capsys):
    remote, url = server
    local = tmp_path / "local"
    published(remote, local)
    (remote / "m.pt").write_bytes(b"not the file the manifest describes")
    assert not download_pretrained("m", local, base_url=url)
    assert "does not match MANIFEST.sha256" in capsys.readouterr().out
    assert not (local / "m.pt").exists(), "a file with the wrong checksum was saved"
    assert not is_complete("m", local)


def test_download_404(server, tmp_path, capsys):
    remote, url = server
    local = tmp_path / "local"
    published(remote, local)
    (remote / "m_results.json").unlink()
    assert not download_pretrained("m", local, base_url=url)
    out = capsys.readouterr().out
    assert "Could not download the pretrained m_results.json" in out and "training instead" in out
    assert not (local / "m_results.json").exists()


def test_download_server_down(tmp_path, capsys):
    remote, local = tmp_path / "remote", tmp_path / "local"
    remote.mkdir()
    published(remote, local)
    with http.server.HTTPServer(("127.0.0.1", 0), QuietHandler) as closed:  # a port nobody listens on
        port = closed.server_address[1]
    assert not download_pretrained("m", local, base_url=f"http://127.0.0.1:{port}/", timeout=2)
    assert "training instead" in capsys.readouterr().out


def test_no_download_for_models_outside_the_manifest(tmp_path):
    assert not download_pretrained("unknown", tmp_path, base_url="http://127.0.0.1:9/")
