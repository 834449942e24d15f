"""utils.data's last source, the download from torchvision's mirrors, against a local server that misbehaves.

Every failure must end in the one clear error that names the three fixes, within a bounded time, and
leave no unchecked file in use. The server listens on 127.0.0.1 only and is stopped by the test.
"""

import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from utils import data


class Misbehaving(BaseHTTPRequestHandler):
    behaviour = "garbage"
    release = threading.Event()

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        if self.behaviour == "not found":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        if self.behaviour == "garbage":  # a whole body, but not the archive torchvision expects
            self.wfile.write(gzip.compress(b"not fashion-mnist")[:100] * 1000)
        elif self.behaviour == "drop":  # the connection closes in the middle of the body
            self.wfile.write(b"\x1f\x8b" + bytes(500))
        elif self.behaviour == "stall":  # headers, then silence
            self.wfile.flush()
            self.release.wait(10)
        elif self.behaviour == "drip":  # a byte every 0.2 s: each read succeeds, the whole never ends
            while not self.release.wait(0.2):
                self.wfile.write(b"\x1f")
                self.wfile.flush()


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A local mirror (behaviour set per test), no local copy, and a short timeout for the stall case."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    httpd.daemon_threads = True
    httpd.block_on_close = False
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Misbehaving.release.clear()
    monkeypatch.delenv(data.LOCAL_COPY_ENV, raising=False)
    monkeypatch.setattr(data, "DEBIAN_COPY", tmp_path / "no-debian-package")
    monkeypatch.setattr(data, "DOWNLOAD_SECONDS", 1.5)
    monkeypatch.setattr(data, "MIRRORS", [f"http://127.0.0.1:{httpd.server_port}/"])
    monkeypatch.setattr(data.downloads, "CACHE_DIR", tmp_path / "cache")
    yield tmp_path
    Misbehaving.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("behaviour", ["garbage", "drop", "stall", "drip", "not found"])
def test_every_download_failure_is_the_clear_error(server, monkeypatch, behaviour):
    monkeypatch.setattr(Misbehaving, "behaviour", behaviour)
    start = time.monotonic()
    with pytest.raises(FileNotFoundError) as err:
        data.ensure_fashion_mnist(server / "data")
    assert time.monotonic() - start < 8, "a silent server must not hang the loader"
    message = str(err.value)
    assert "could not be downloaded" in message and "Fix it in one of three ways" in message
    assert "PATH_DATASETS" in message and data.LOCAL_COPY_ENV in message and "internet" in message
    raw = data._raw_dir(server / "data")
    assert not any((raw / name).exists() for name in data.RAW_CHECKSUMS), "no unchecked data file is left"


def test_download_leaves_the_socket_timeout_as_it_was(server, monkeypatch):
    """The deadline is the download's own: no process-wide socket default is set."""
    import socket

    monkeypatch.setattr(Misbehaving, "behaviour", "drip")
    before = socket.getdefaulttimeout()
    with pytest.raises(FileNotFoundError, match="not finished after 1.5 s"):
        data.ensure_fashion_mnist(server / "data")
    assert socket.getdefaulttimeout() == before
