"""The course's published files: which they are is decided here, by name and SHA-256, inside the package.

utils/published.txt (pooch's registry format, `<name> <sha256>` per line) lists every file the course
publishes: the models of notebook 06, the studies of 06, 12 and 13 and the networks of 12, each named by
its path under saved_models/. Only tools/regenerate.py writes it. No file in a folder a user can edit or
empty decides what is published, and nothing here writes to saved_models/ or to PATH_CHECKPOINT:

- published_file(name) is the package's own copy when its SHA-256 is the registry's;
- otherwise (an edited, deleted or older copy, or a package without saved_models/) it is the registry's
  version from a cache keyed by content, CACHE_DIR/<sha256>/<file name>, downloaded once from
  $COURSE_MODELS_URL (default: the course repository) with utils.downloads' deadline and size cap.
A user's own file is never used as a published one, and never replaced.
"""

import os
from pathlib import Path

import pooch

from utils import COURSE_REPO, PUBLISHED_DIR, downloads, env_value

REGISTRY_FILE = Path(__file__).with_name("published.txt")
MODELS_URL_ENV = "COURSE_MODELS_URL"
DEFAULT_MODELS_URL = f"https://raw.githubusercontent.com/{COURSE_REPO}/main/saved_models/"
_hashes: dict[tuple, str] = {}  # (path, size, mtime, inode) -> SHA-256: each file is hashed once


class PublishedError(RuntimeError):
    """A published file cannot be had; the message says what to do."""


def models_url() -> str:
    """Where published files are downloaded from: $COURSE_MODELS_URL (empty means unset), else GitHub."""
    url = env_value(MODELS_URL_ENV) or DEFAULT_MODELS_URL
    if "://" not in url:
        raise PublishedError(
            f"{MODELS_URL_ENV}={url!r} is not a URL: unset it, or set it to an address such as "
            f"{DEFAULT_MODELS_URL}"
        )
    return url if url.endswith("/") else url + "/"


def read_registry(path: Path | None = None) -> dict[str, str]:
    """{published name: SHA-256} (pooch parses the file and names a malformed line)."""
    registry = pooch.create(path=os.devnull, base_url="")
    registry.load_registry(path or REGISTRY_FILE)
    return dict(registry.registry)


def file_hash(path: Path) -> str:
    """SHA-256 of `path`, remembered for as long as the file is unchanged."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    if key not in _hashes:
        _hashes[key] = pooch.file_hash(str(path))
    return _hashes[key]


def published_file(
    name: str,
    registry_file: Path | None = None,
    published_dir: Path | None = None,
    cache_dir: Path | None = None,
    total_seconds: float = downloads.TOTAL_SECONDS,
) -> Path:
    """The published file `name` (e.g. "studies/practice.json"), verified; read it, never write to it."""
    registry = read_registry(registry_file)
    if name not in registry:
        raise PublishedError(f"{name!r} is not a published file of the course (see {REGISTRY_FILE}).")
    digest = registry[name].lower()
    local = Path(published_dir or PUBLISHED_DIR) / name
    if local.is_file() and file_hash(local) == digest:
        return local
    cache = Path(cache_dir or downloads.CACHE_DIR) / digest
    try:
        return downloads.fetch(
            models_url() + name,
            f"sha256:{digest}",
            cache,
            Path(name).name,
            f"the published {name}",
            total_seconds,
        )
    except downloads.DownloadError as err:
        why = "differs from the published one" if local.is_file() else "is missing"
        raise PublishedError(f"{local} {why}, and the published one cannot be had: {err}") from err
