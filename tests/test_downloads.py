"""utils.downloads against a local http.server on 127.0.0.1 that misbehaves on purpose: missing files,
wrong bytes, a connection dropped mid-body, a stall (one byte every 2 s) and an endless body. Every case
must end in one printed line (and training instead) within a bounded time, never in a hang or a raw
traceback, and a file is kept only when it matches the manifest."""

import http.server
import threading
import time

import pytest
import torch

from utils.checkpoints import (
    MANIFEST_NAME,
    is_complete,
    load_model,
    save_model,
    save_results,
    sha256,
    write_manifest,
)
from utils.downloads import DEFAULT_MODELS_URL, DownloadError, download_pretrained, fetch, models_url
from utils.models import BaseNetwork


def publish(folder, hidden=(16, 8), seed=0):
    torch.manual_seed(seed)
    save_model(BaseNetwork("relu", hidden_sizes=hidden), "m", folder)
    save_results({"test_acc": 0.5}, "m", folder)
    write_manifest(folder)


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the folder; a path starting with /drop/, /stall/ or /endless/ misbehaves that way."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        mode = self.path.strip("/").split("/")[0]
        if mode not in ("drop", "stall", "endless"):
            return super().do_GET()
        self.send_response(200)
        if mode != "endless":
            self.send_header("Content-Length", "5000")
        self.end_headers()
        try:
            if mode == "drop":
                self.wfile.write(b"x" * 100)
                self.wfile.flush()
                self.close_connection = True
            elif mode == "stall":
                while not self.server.stopping.is_set():
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    self.server.stopping.wait(2)
            else:
                while not self.server.stopping.is_set():
                    self.wfile.write(b"x" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def server(tmp_path):
    """(remote folder, base URL) of a server that the test stops, with every connection it opened."""
    remote = tmp_path / "remote"
    remote.mkdir()

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def finish_request(self, request, client_address):
            Handler(request, client_address, self, directory=str(remote))

    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.stopping = threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield remote, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.stopping.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def local(tmp_path, server):
    """A local folder that has only the manifest of the published model."""
    remote, _ = server
    publish(remote)
    folder = tmp_path / "local"
    folder.mkdir()
    (folder / MANIFEST_NAME).write_bytes((remote / MANIFEST_NAME).read_bytes())
    return folder


def test_models_url_from_environment(monkeypatch):
    monkeypatch.delenv("COURSE_MODELS_URL", raising=False)
    assert models_url() == DEFAULT_MODELS_URL
    monkeypatch.setenv("COURSE_MODELS_URL", "http://mirror.example/models")
    assert models_url() == "http://mirror.example/models/"


def test_download_fetches_missing_files_and_verifies_them(server, local):
    remote, url = server
    (local / "m.config.json").write_bytes((remote / "m.config.json").read_bytes())
    (remote / "m.config.json").unlink()  # a request for it would 404: a verified file is not fetched again
    assert download_pretrained("m", local, base_url=url)
    assert all(sha256(local / n) == sha256(remote / n) for n in ("m.pt", "m_results.json"))
    assert load_model("m", local).config["hidden_sizes"] == [16, 8]


def test_files_that_differ_from_the_manifest_are_downloaded_again(server, local, capsys):
    """The case of an interrupted old-style overwrite: a present but different file is never used."""
    remote, url = server
    publish(local, hidden=(32,), seed=1)  # another model under the same names...
    (local / MANIFEST_NAME).write_bytes((remote / MANIFEST_NAME).read_bytes())  # ...the published manifest
    assert download_pretrained("m", local, base_url=url)
    assert "differed from MANIFEST.sha256 and were downloaded again" in capsys.readouterr().out
    assert load_model("m", local).config["hidden_sizes"] == [16, 8]


def test_a_fresh_folder_gets_the_course_manifest(tmp_path, server):
    """A new PATH_CHECKPOINT has no manifest: the course's is used, and copied there for later checks."""
    _, url = server
    folder = tmp_path / "fresh"
    assert not download_pretrained("FashionMNIST_SGD", folder, base_url=url, timeout=2)  # 404 here
    assert (folder / MANIFEST_NAME).is_file() and "FashionMNIST_SGD.pt" in (
        folder / MANIFEST_NAME
    ).read_text()


def test_wrong_bytes_are_not_saved(server, local, capsys):
    remote, url = server
    (remote / "m.pt").write_bytes(b"not the file the manifest describes")
    assert not download_pretrained("m", local, base_url=url)
    assert "does not match MANIFEST.sha256" in capsys.readouterr().out
    assert not (local / "m.pt").exists() and not is_complete("m", local)


def test_http_error(server, local, capsys):
    remote, url = server
    (remote / "m_results.json").unlink()
    assert not download_pretrained("m", local, base_url=url)
    out = capsys.readouterr().out
    assert "Could not download the pretrained m_results.json" in out and "HTTP Error 404" in out
    assert out.count("\n") == 1 and "training instead" in out


def test_server_down(local, capsys):
    with http.server.HTTPServer(("127.0.0.1", 0), Handler) as closed:  # a port nobody listens on
        port = closed.server_address[1]
    assert not download_pretrained("m", local, base_url=f"http://127.0.0.1:{port}/", timeout=2)
    assert "training instead" in capsys.readouterr().out


@pytest.mark.parametrize(
    "mode, message, seconds",
    [
        ("drop", "dropped after 100 of 5,000 bytes", 5),
        ("stall", "not finished after 3 s", 8),
        ("endless", "more than 1,000,000 bytes", 5),
    ],
)
def test_misbehaving_server_is_bounded(server, tmp_path, mode, message, seconds):
    _, url = server
    start = time.monotonic()
    with pytest.raises(DownloadError, match=message):
        fetch(
            f"{url}{mode}/m.pt",
            tmp_path / "m.pt",
            "0" * 64,
            total_seconds=3,
            max_bytes=1_000_000,
            read_timeout=4,
        )
    assert time.monotonic() - start < seconds
    assert not (tmp_path / "m.pt").exists() and not list(tmp_path.glob(".m.pt*")), "a partial file was left"


def test_misbehaving_server_ends_in_one_line(server, local, capsys):
    _, url = server
    start = time.monotonic()
    assert not download_pretrained("m", local, base_url=f"{url}stall/", timeout=4, total_seconds=3)
    out = capsys.readouterr().out
    assert time.monotonic() - start < 8 and out.count("\n") == 1 and "training instead" in out


def test_no_download_for_models_outside_the_manifest(local):
    assert not download_pretrained("unknown", local, base_url="http://127.0.0.1:9/")
