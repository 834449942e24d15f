"""Every download of the course: pooch's hash-checked cache, with a total deadline and a size cap.

pooch.retrieve does the bookkeeping (a file already in the cache with the right hash is not fetched
again; a download lands in a temporary file and is kept only when its hash matches). What pooch and
requests do not bound is time: their timeout is per socket read, so a server that drips one byte of
its headers or body every few seconds never ends. `bounded_downloader` runs pooch's HTTPDownloader in a
worker thread that the caller waits for at most `total_seconds` (connecting, headers and body together),
writing into a file that stops at `max_bytes`. Whatever goes wrong ends in one DownloadError line that
says what to do.
"""

import threading
from pathlib import Path

import pooch
import requests

from utils import env_path

CACHE_ENV = "COURSE_CACHE_DIR"
CACHE_DIR = env_path(CACHE_ENV, Path(pooch.os_cache("init-optim-course")))
TOTAL_SECONDS = 60.0  # one file, whatever the server does
MAX_BYTES = 64 * 2**20  # Fashion-MNIST's largest archive is 26 MB, a course model 2.3 MB
CHUNK = 1 << 16


class DownloadError(RuntimeError):
    """A download did not give the file it should have; the message says what to do."""


class _Capped:
    """The file pooch's downloader writes into: it refuses bytes past `max_bytes`, or once cancelled."""

    def __init__(self, f, max_bytes: int, cancelled: threading.Event):
        self.f, self.max_bytes, self.cancelled, self.size = f, max_bytes, cancelled, 0

    def write(self, chunk: bytes) -> int:
        if self.cancelled.is_set():
            raise DownloadError("cancelled at the deadline")
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise DownloadError(f"more than {self.max_bytes:,} bytes: not the course's file")
        return self.f.write(chunk)

    def flush(self) -> None:
        self.f.flush()


def bounded_downloader(total_seconds: float = TOTAL_SECONDS, max_bytes: int = MAX_BYTES):
    """pooch's HTTPDownloader (with its progress bar), ended after `total_seconds` and `max_bytes`."""

    def download(url: str, output_file, _pooch=None) -> None:
        outcome, cancelled = {}, threading.Event()
        http = pooch.HTTPDownloader(progressbar=True, timeout=total_seconds)

        def work():
            try:
                with open(output_file, "wb") as f:
                    http(url, _Capped(f, max_bytes, cancelled), None)
            except BaseException as err:  # handed to the waiting thread, which raises it
                outcome["error"] = err

        worker = threading.Thread(target=work, daemon=True, name=f"download {url}")
        worker.start()
        worker.join(total_seconds)
        if worker.is_alive():  # the worker stops at its next chunk; a dripping server holds only it
            cancelled.set()
            raise DownloadError(f"not finished after {total_seconds:g} s")
        if "error" in outcome:
            raise outcome["error"]

    return download


def reason(err: BaseException) -> str:
    """One line for what went wrong in a download."""
    if isinstance(err, requests.HTTPError) and err.response is not None:
        return f"HTTP {err.response.status_code} {err.response.reason}"
    if isinstance(err, requests.exceptions.ChunkedEncodingError):
        return "the connection dropped before the whole file came"
    if isinstance(err, requests.ConnectionError):
        return "cannot connect (offline, or the server is down)"
    if isinstance(err, requests.Timeout):
        return "the server stopped answering"
    if isinstance(err, ValueError) and "hash" in str(err).lower():
        return "the file's hash differs from the one published: it was not kept"
    return f"{type(err).__name__}: {err}"


def fetch(
    url: str,
    known_hash: str,
    folder: Path,
    fname: str,
    what: str,
    total_seconds: float = TOTAL_SECONDS,
    max_bytes: int = MAX_BYTES,
) -> Path:
    """The file `fname` in `folder`, downloaded from `url` unless it is there with `known_hash`
    ("sha256:..." or "md5:..."). Raises DownloadError with one line naming `what` and the fix."""
    try:
        return Path(
            pooch.retrieve(
                url,
                known_hash=known_hash,
                fname=fname,
                path=folder,
                downloader=bounded_downloader(total_seconds, max_bytes),
            )
        )
    except Exception as err:  # network, HTTP, hash, disk: all end in the same kind of line
        raise DownloadError(
            f"Could not download {what} from {url} ({reason(err)}). Check the connection and rerun, "
            f"or point ${CACHE_ENV} at a folder that holds the file."
        ) from err
