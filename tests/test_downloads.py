"""utils.downloads and utils.registry against local servers (127.0.0.1) that behave and misbehave.

Every failure ends within its deadline in one DownloadError / PublishedError line; a published file is
the package's copy when it matches the registry, else the registry's bytes from the content-keyed cache;
nothing is ever written into the published folder.
"""

import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from utils import downloads, registry

BODY = b"the published bytes" * 100
DIGEST = hashlib.sha256(BODY).hexdigest()


class Handler(BaseHTTPRequestHandler):
    behaviour = "good"
    stop = threading.Event()

    def log_message(self, *args):
        pass

    def do_GET(self):
        mode = self.behaviour
        if mode == "drip headers":  # one header byte every 0.3 s, for ever
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            while not self.stop.wait(0.3):
                self.wfile.write(b"X")
                self.wfile.flush()
            return
        if mode == "404":
            self.send_error(404)
            return
        self.send_response(200)
        if mode == "huge length":
            self.send_header("Content-Length", str(10**12))
        elif mode != "endless":
            self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        if mode == "good":
            self.wfile.write(BODY)
        elif mode == "wrong bytes":
            self.wfile.write(BODY[::-1])
        elif mode == "drop":
            self.wfile.write(BODY[:100])
        elif mode == "drip body":  # one body byte every 0.3 s: no single read ever times out
            for byte in BODY:
                if self.stop.wait(0.3):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
        elif mode == "endless":
            while not self.stop.is_set():
                self.wfile.write(bytes(1 << 16))


@pytest.fixture
def server(monkeypatch):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    Handler.stop.clear()
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    Handler.stop.set()
    httpd.shutdown()
    httpd.server_close()


def test_a_good_download_is_kept_and_then_served_from_the_cache(server, tmp_path, monkeypatch):
    path = downloads.fetch(server + "f.bin", f"sha256:{DIGEST}", tmp_path, "f.bin", "f", total_seconds=5)
    assert path.read_bytes() == BODY
    monkeypatch.setattr(Handler, "behaviour", "404")  # a second fetch must not ask the server
    assert downloads.fetch(server + "f.bin", f"sha256:{DIGEST}", tmp_path, "f.bin", "f", 5) == path


@pytest.mark.parametrize(
    "behaviour, words",
    [
        ("drip headers", "not finished after 2 s"),
        ("drip body", "not finished after 2 s"),
        ("endless", "more than"),
        ("huge length", "dropped"),
        ("drop", "dropped"),
        ("wrong bytes", "hash differs"),
        ("404", "HTTP 404"),
    ],
)
def test_every_misbehaving_server_ends_in_one_line_within_the_deadline(
    server, tmp_path, monkeypatch, behaviour, words
):
    monkeypatch.setattr(Handler, "behaviour", behaviour)
    start = time.monotonic()
    with pytest.raises(downloads.DownloadError) as err:
        downloads.fetch(
            server + "f.bin", f"sha256:{DIGEST}", tmp_path, "f.bin", "the file f", 2, max_bytes=10**6
        )
    assert time.monotonic() - start < 4, "the total deadline was not kept"
    message = str(err.value)
    assert words in message and "the file f" in message and "\n" not in message and "rerun" in message
    assert not (tmp_path / "f.bin").exists(), "a failed download was kept"


def test_a_server_that_is_down(tmp_path):
    with pytest.raises(downloads.DownloadError, match="cannot connect"):
        downloads.fetch("http://127.0.0.1:9/f", f"sha256:{DIGEST}", tmp_path, "f", "f", 2)


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A registry listing one published file, a published folder and an empty cache, all the test's own."""
    folder = tmp_path / "published"
    (folder / "studies").mkdir(parents=True)
    (folder / "studies" / "s.json").write_bytes(BODY)
    (tmp_path / "published.txt").write_text(f"# comment\nstudies/s.json {DIGEST}\n")
    monkeypatch.setattr(registry, "REGISTRY_FILE", tmp_path / "published.txt")
    monkeypatch.setattr(registry, "PUBLISHED_DIR", folder)
    monkeypatch.setattr(downloads, "CACHE_DIR", tmp_path / "cache")
    return folder


def test_the_packages_copy_is_used_when_it_matches(course, monkeypatch):
    monkeypatch.setenv("COURSE_MODELS_URL", "http://127.0.0.1:9/")
    assert registry.published_file("studies/s.json") == course / "studies" / "s.json"


@pytest.mark.parametrize("damage", ["edited", "deleted", "emptied"])
def test_a_damaged_copy_is_replaced_by_the_registrys_bytes_in_the_cache_not_in_place(
    course, server, monkeypatch, damage
):
    local = course / "studies" / "s.json"
    if damage == "deleted":
        local.unlink()
    else:
        local.write_bytes(b"" if damage == "emptied" else b"my own edit")
    before = {p: p.read_bytes() for p in course.rglob("*") if p.is_file()}
    monkeypatch.setenv("COURSE_MODELS_URL", server)
    monkeypatch.setattr(Handler, "behaviour", "good")
    path = registry.published_file("studies/s.json")
    assert path.read_bytes() == BODY and course not in path.parents
    assert {p: p.read_bytes() for p in course.rglob("*") if p.is_file()} == before, (
        "the folder was written to"
    )


def test_offline_with_a_damaged_copy_is_one_clear_line(course, monkeypatch):
    (course / "studies" / "s.json").write_bytes(b"edited")
    monkeypatch.setenv("COURSE_MODELS_URL", "http://127.0.0.1:9/")
    with pytest.raises(registry.PublishedError, match="differs from the published one.*cannot connect"):
        registry.published_file("studies/s.json")


def test_a_name_the_registry_does_not_list_is_not_published(course):
    (course / "mine.json").write_text("{}")
    with pytest.raises(registry.PublishedError, match="not a published file"):
        registry.published_file("mine.json")


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_models_url_means_the_default(monkeypatch, value):
    monkeypatch.setenv("COURSE_MODELS_URL", value)
    assert registry.models_url() == registry.DEFAULT_MODELS_URL


def test_a_models_url_that_is_not_a_url_is_named(monkeypatch):
    monkeypatch.setenv("COURSE_MODELS_URL", "saved_models")
    with pytest.raises(registry.PublishedError, match="COURSE_MODELS_URL='saved_models' is not a URL"):
        registry.models_url()


def test_a_models_url_without_a_final_slash_gets_one(monkeypatch):
    monkeypatch.setenv("COURSE_MODELS_URL", "http://example.org/files")
    assert registry.models_url() == "http://example.org/files/"


def test_the_course_registry_matches_the_committed_files():
    """Every published file is committed with the bytes the registry names (so a clone needs no download)."""
    listed = registry.read_registry()
    assert len(listed) >= 25
    for name, digest in listed.items():
        assert registry.file_hash(registry.PUBLISHED_DIR / name) == digest, name
