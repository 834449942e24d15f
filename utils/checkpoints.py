"""Saving, loading and downloading the course's trained networks.

A trained model `name` is three files in a checkpoint folder:
  name.config.json   the network's BaseNetwork.config (how to rebuild it),
  name.pt            its state dict (torch.save; loaded with weights_only=True, so no code runs),
  name_results.json  what training measured (test accuracy, per-epoch curves...).
The results file is written last and marks the model as *complete*: a run that dies half-way leaves
weights without results, and load_model refuses them instead of handing out an unfinished model.
Every file is written to a temporary file in the same folder and then renamed (os.replace), so a file
is either absent or whole.

Pretrained files are listed with their SHA-256 in MANIFEST.sha256 (`sha256sum` format). Missing ones
are downloaded from $COURSE_MODELS_URL (default: the course repository on GitHub), checked against the
manifest, and written atomically; offline, the caller falls back to training.
"""

import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import torch

from utils import CHECKPOINT_DIR, COURSE_REPO
from utils.models import BaseNetwork

MANIFEST_NAME = "MANIFEST.sha256"
MODELS_URL_ENV = "COURSE_MODELS_URL"
DEFAULT_MODELS_URL = f"https://raw.githubusercontent.com/{COURSE_REPO}/main/saved_models/"


class CheckpointError(RuntimeError):
    """A checkpoint cannot be used as it is; the message says what to do about it."""


def model_files(model_name: str) -> dict[str, str]:
    """The file names of one model: config, weights and results (the completeness marker)."""
    return {
        "config": f"{model_name}.config.json",
        "weights": f"{model_name}.pt",
        "results": f"{model_name}_results.json",
    }


def _folder(checkpoint_dir) -> Path:
    return Path(checkpoint_dir) if checkpoint_dir is not None else CHECKPOINT_DIR


def atomic_write(path: Path, write) -> None:
    """Call write(file) on a temporary file next to `path`, then rename it to `path` in one step."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, 0o644)  # mkstemp creates owner-only files; checkpoints are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_json(path: Path, obj) -> None:
    atomic_write(path, lambda f: f.write((json.dumps(obj, indent=2) + "\n").encode()))


def save_model(model: BaseNetwork, model_name: str, checkpoint_dir=None) -> None:
    """Write the model's config and weights (not its results: see save_results)."""
    folder, files = _folder(checkpoint_dir), model_files(model_name)
    if not hasattr(model, "config"):
        raise ValueError(f"save_model needs a network with a .config dict (a BaseNetwork), got {type(model).__name__}")
    _write_json(folder / files["config"], model.config)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    atomic_write(folder / files["weights"], lambda f: torch.save(state, f))


def save_results(results: dict, model_name: str, checkpoint_dir=None) -> None:
    """Write the results JSON: the last file of a training run, which marks the model complete."""
    _write_json(_folder(checkpoint_dir) / model_files(model_name)["results"], results)


def remove_results(model_name: str, checkpoint_dir=None) -> None:
    """Un-mark a model as complete (before retraining it, so a crash cannot pair old results with new weights)."""
    (_folder(checkpoint_dir) / model_files(model_name)["results"]).unlink(missing_ok=True)


def is_complete(model_name: str, checkpoint_dir=None) -> bool:
    """True when config, weights and results of `model_name` are all present."""
    folder = _folder(checkpoint_dir)
    return all((folder / name).is_file() for name in model_files(model_name).values())


def _retrain_hint(model_name: str, folder: Path) -> str:
    names = ", ".join(model_files(model_name).values())
    return (f"Delete {names} in {folder} (or re-download them), or retrain with "
            f"train_model(..., model_name={model_name!r}, overwrite=True).")


def load_results(model_name: str, checkpoint_dir=None) -> dict:
    """The results JSON of a complete model."""
    folder = _folder(checkpoint_dir)
    path = folder / model_files(model_name)["results"]
    if not path.is_file():
        raise CheckpointError(f"No results for {model_name!r} in {folder}: the model was never trained to the "
                              f"end there. " + _retrain_hint(model_name, folder))
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path.name} is not valid JSON ({err}). " + _retrain_hint(model_name, folder)) from err


def load_model(model_name: str, checkpoint_dir=None, net: BaseNetwork | None = None, require_complete: bool = True):
    """Rebuild the network from its config and load its weights; returns the network.

    With `net`, the weights are loaded into it after checking that its config matches the stored one.
    require_complete=False also accepts weights without results (train_model uses it mid-run).
    Raises CheckpointError saying what to do for a missing, unfinished, corrupt or mismatched checkpoint.
    """
    folder, files = _folder(checkpoint_dir), model_files(model_name)
    if require_complete and not (folder / files["results"]).is_file() and (folder / files["weights"]).is_file():
        raise CheckpointError(f"The checkpoint {model_name!r} in {folder} has weights but no results: the run that "
                              "wrote it was interrupted, so it is not a finished model. " + _retrain_hint(model_name, folder))
    try:
        config = json.loads((folder / files["config"]).read_text())
        state = torch.load(folder / files["weights"], map_location="cpu", weights_only=True)
    except FileNotFoundError as err:
        raise CheckpointError(f"No checkpoint {model_name!r} in {folder} ({Path(err.filename).name} is missing). "
                              + _retrain_hint(model_name, folder)) from err
    except Exception as err:  # truncated zip, bad pickle, bad JSON: all mean "this file is damaged"
        raise CheckpointError(f"The checkpoint {model_name!r} in {folder} is corrupt ({type(err).__name__}: {err}). "
                              + _retrain_hint(model_name, folder)) from err
    if net is None:
        net = BaseNetwork.from_config(config)
    elif getattr(net, "config", None) != config:
        raise CheckpointError(f"The checkpoint {model_name!r} was saved from a network with config {config}, but the "
                              f"network given has config {getattr(net, 'config', None)}. Build the network with the stored "
                              "config (BaseNetwork.from_config) to load it. " + _retrain_hint(model_name, folder))
    try:
        net.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(f"The weights of {model_name!r} do not fit the network: {err}. "
                              + _retrain_hint(model_name, folder)) from err
    return net


# --- checksums and download of pretrained files -------------------------------------------------

def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(checkpoint_dir=None) -> dict[str, str]:
    """{file name: SHA-256} from the folder's MANIFEST.sha256 ({} if there is none)."""
    path = _folder(checkpoint_dir) / MANIFEST_NAME
    if not path.is_file():
        return {}
    pairs = (line.split(maxsplit=1) for line in path.read_text().splitlines() if line.strip())
    return {name.strip().lstrip("*"): digest for digest, name in pairs}


def write_manifest(checkpoint_dir=None) -> dict[str, str]:
    """(Re)write MANIFEST.sha256 for every model file in the folder; returns what it wrote."""
    folder = _folder(checkpoint_dir)
    sums = {p.name: sha256(p) for p in sorted(folder.iterdir())
            if p.is_file() and p.name != MANIFEST_NAME and not p.name.startswith(".")}
    text = "".join(f"{digest}  {name}\n" for name, digest in sums.items())
    atomic_write(folder / MANIFEST_NAME, lambda f: f.write(text.encode()))
    return sums


def models_url() -> str:
    """Where pretrained files are downloaded from: $COURSE_MODELS_URL, else the course repository."""
    url = os.environ.get(MODELS_URL_ENV, DEFAULT_MODELS_URL)
    return url if url.endswith("/") else url + "/"


def _download(url: str, target: Path, expected_sha: str, timeout: float) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        payload = response.read()
    got = hashlib.sha256(payload).hexdigest()
    if got != expected_sha:
        raise CheckpointError(f"{url} does not match {MANIFEST_NAME} (SHA-256 {got[:12]}..., expected "
                              f"{expected_sha[:12]}...); the file was not saved.")
    atomic_write(target, lambda f: f.write(payload))


def download_pretrained(model_name: str, checkpoint_dir=None, base_url: str | None = None,
                        timeout: float = 10.0) -> bool:
    """Fetch the missing files of `model_name` that the manifest lists; True if the model is then complete.

    Files already present are not downloaded again. Any failure (offline, 404, wrong checksum) prints
    one line saying what happened and returns False, so the caller can train instead.
    """
    folder, manifest = _folder(checkpoint_dir), read_manifest(checkpoint_dir)
    names = list(model_files(model_name).values())
    if not all(name in manifest for name in names):
        return is_complete(model_name, folder)  # not a pretrained model of the course: nothing to fetch
    base_url = base_url or models_url()
    for name in names:
        if (folder / name).is_file():
            continue
        try:
            _download(base_url + name, folder / name, manifest[name], timeout)
        except (urllib.error.URLError, OSError, CheckpointError) as err:
            reason = getattr(err, "reason", err)
            print(f"Could not download the pretrained {name} from {base_url} ({reason}); training instead.")
            return False
    return is_complete(model_name, folder)
