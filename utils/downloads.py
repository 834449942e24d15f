"""Download of the course's pretrained checkpoints, verified and bounded.

The course's manifest (saved_models/MANIFEST.sha256, shipped with the code) lists every pretrained file
with its SHA-256. A checkpoint folder without a manifest of its own (a fresh PATH_CHECKPOINT) gets a copy
of it on the first download, so that its files are checked from then on. Every present file is checked
against the manifest before it counts; a missing or mismatching one is fetched from $COURSE_MODELS_URL
(default: the course repository on GitHub), streamed into a temporary file and kept only when its
SHA-256 matches. A download is bounded in total time and size, so a stalled or endless server cannot hang
a notebook; every failure ends in one printed line, and the caller trains instead.
"""

import hashlib
import http.client
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

from utils import COURSE_REPO, REPO_ROOT
from utils.checkpoints import (
    MANIFEST_NAME,
    CheckpointError,
    atomic_write,
    folder_of,
    model_files,
    parse_manifest,
    read_manifest,
    sha256,
)

MODELS_URL_ENV = "COURSE_MODELS_URL"
DEFAULT_MODELS_URL = f"https://raw.githubusercontent.com/{COURSE_REPO}/main/saved_models/"
COURSE_MANIFEST = REPO_ROOT / "saved_models" / MANIFEST_NAME
MAX_BYTES = 32 * 2**20  # the largest pretrained file is ~2.3 MB; anything past this is not ours
TOTAL_SECONDS = 60.0  # for one file, whatever the server does (plus at most one read timeout)
READ_TIMEOUT = 10.0


class DownloadError(RuntimeError):
    """A download did not give the file the manifest describes."""


def models_url() -> str:
    """Where pretrained files are downloaded from: $COURSE_MODELS_URL, else the course repository."""
    url = os.environ.get(MODELS_URL_ENV, DEFAULT_MODELS_URL)
    return url if url.endswith("/") else url + "/"


def pretrained_manifest(folder: Path) -> dict[str, str]:
    """The folder's own manifest, else the course's (a fresh PATH_CHECKPOINT has none yet)."""
    own = read_manifest(folder)
    if own or (folder / MANIFEST_NAME).is_file():
        return own
    return parse_manifest(COURSE_MANIFEST.read_text(), COURSE_MANIFEST) if COURSE_MANIFEST.is_file() else {}


def fetch(
    url: str,
    target: Path,
    expected_sha: str,
    total_seconds: float = TOTAL_SECONDS,
    max_bytes: int = MAX_BYTES,
    read_timeout: float = READ_TIMEOUT,
) -> None:
    """Stream `url` into `target` (atomically), keeping it only if its SHA-256 is `expected_sha`.

    Raises DownloadError (or the network's OSError / HTTPException) past `total_seconds` or `max_bytes`,
    on a body shorter than announced, or on a wrong checksum; `target` is then left as it was.
    """
    deadline = time.monotonic() + total_seconds

    def stream(out):
        digest, size = hashlib.sha256(), 0
        with urllib.request.urlopen(url, timeout=read_timeout) as response:
            announced = response.headers.get("Content-Length")
            if announced is not None and int(announced) > max_bytes:
                raise DownloadError(f"the server announces {int(announced):,} bytes, more than {max_bytes:,}")
            while chunk := response.read1(1 << 16):
                size += len(chunk)
                if size > max_bytes:
                    raise DownloadError(f"more than {max_bytes:,} bytes: not a course checkpoint")
                if time.monotonic() > deadline:
                    raise DownloadError(f"not finished after {total_seconds:.0f} s ({size:,} bytes received)")
                digest.update(chunk)
                out.write(chunk)
        if announced is not None and size != int(announced):
            raise DownloadError(f"the connection dropped after {size:,} of {int(announced):,} bytes")
        if digest.hexdigest() != expected_sha:
            raise DownloadError(f"the file does not match {MANIFEST_NAME}; it was not saved")

    atomic_write(target, stream)


def _reason(err: Exception) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return str(err)  # "HTTP Error 404: Not Found"
    if isinstance(err, urllib.error.URLError):
        return f"{err.reason}"  # "[Errno 111] Connection refused"
    return f"{type(err).__name__}: {err}"


def download_pretrained(
    model_name: str,
    checkpoint_dir=None,
    base_url: str | None = None,
    timeout: float = READ_TIMEOUT,
    total_seconds: float = TOTAL_SECONDS,
) -> bool:
    """Make the pretrained files of `model_name` present *and verified*; True if they then are.

    False for a model the manifest does not list. A file that is missing or differs from the manifest
    is downloaded; any failure prints one line saying what happened and returns False (train instead).
    """
    folder = folder_of(checkpoint_dir)
    try:
        manifest = pretrained_manifest(folder)
    except CheckpointError as err:
        print(f"{err} Training instead.")
        return False
    names = list(model_files(model_name).values())
    if not all(name in manifest for name in names):
        return False
    todo = [n for n in names if not (folder / n).is_file() or sha256(folder / n) != manifest[n]]
    if not todo:
        return True
    changed = [n for n in todo if (folder / n).is_file()]
    base_url, name = base_url or models_url(), MANIFEST_NAME
    try:
        if not (folder / MANIFEST_NAME).is_file():  # from now on this folder's files are checked on load
            text = "".join(f"{manifest[n]}  {n}\n" for n in sorted(manifest))
            atomic_write(folder / MANIFEST_NAME, lambda f: f.write(text.encode()))
        for name in todo:
            fetch(base_url + name, folder / name, manifest[name], total_seconds, read_timeout=timeout)
    except (OSError, http.client.HTTPException, ValueError, DownloadError) as err:
        why = f"{', '.join(changed)} differ from {MANIFEST_NAME}; " if changed else ""
        print(
            f"Could not download the pretrained {name} from {base_url} ({why}{_reason(err)}); "
            "training instead."
        )
        return False
    if changed:
        print(f"{', '.join(changed)} differed from {MANIFEST_NAME} and were downloaded again.")
    return True
