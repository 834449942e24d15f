"""Trained networks: the course's published ones (read only) and the student's own runs (written apart).

A model is three files: `name.config.json` (its BaseNetwork.config), `name.pt` (its state dict, loaded
with weights_only=True so no code runs) and `name_results.json` (what training measured, its recipe,
the SHA-256 of the two other files under "files", and `record_sha256` over the whole record).

- A published model (load_published_model) is three files of utils.registry: verified there, never
  written. Whether a model is published is the registry's answer, not a file in a folder.
- A student's run (save_run, load_run) goes to a folder of its own,
  <PATH_CHECKPOINT or saved_models>/retrained/<name>/<run id>/. It is written whole into a temporary
  folder, flushed to disk, renamed into place in one step, and only then named by that model's
  latest.json - the rename and latest.json under an exclusive lock (filelock). Two runs at once each
  finish their own folder and latest.json names one of them whole; a killed run leaves at most a
  `.run-*.tmp` folder that nothing reads (the next run deletes it once it is an hour old). No other file
  is written, none is ever replaced but latest.json, and none is deleted but those temporary folders.
"""

import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import filelock
import torch

from utils import CHECKPOINT_DIR
from utils.models import BaseNetwork

RUNS = "retrained"
LATEST = "latest.json"
ABANDONED_SECONDS = 3600
LOCK_SECONDS = 600  # another run of the same model only holds the lock while it renames its folder


class CheckpointError(RuntimeError):
    """A checkpoint cannot be used as it is; the message says what to do about it."""


def model_files(model_name: str) -> dict[str, str]:
    """The file names of one model: config, weights and results (the record)."""
    return {
        "config": f"{model_name}.config.json",
        "weights": f"{model_name}.pt",
        "results": f"{model_name}_results.json",
    }


def folder_of(checkpoint_dir) -> Path:
    return Path(checkpoint_dir).expanduser() if checkpoint_dir is not None else CHECKPOINT_DIR


def runs_dir(checkpoint_dir=None) -> Path:
    """The student's own folder of runs: saved_models/retrained (git-ignored), or under PATH_CHECKPOINT."""
    return folder_of(checkpoint_dir) / RUNS


def standard_json(value):
    """`value` with every NaN or infinity replaced by None: JSON has no such numbers (a diverged run)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: standard_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [standard_json(v) for v in value]
    return value


def json_bytes(obj) -> bytes:
    return (json.dumps(standard_json(obj), indent=2, allow_nan=False) + "\n").encode()


def record_hash(results: dict) -> str:
    """SHA-256 of the whole record but its own hash (the weights enter through "files")."""
    body = {k: v for k, v in results.items() if k != "record_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, allow_nan=False).encode()).hexdigest()


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        _write_synced(Path(tmp), data)
        os.chmod(tmp, 0o644)  # mkstemp makes owner-only files; a checkpoint folder may be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_writable(folder: Path) -> None:
    """Raise a CheckpointError *before* training when `folder` cannot take the files training writes."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise CheckpointError(
            f"Cannot write checkpoints to {folder} ({err.strerror or err}). Training was not started: "
            "point PATH_CHECKPOINT (or checkpoint_dir=) at a folder you can write to."
        ) from err


def save_run(net, results: dict, model_name: str, checkpoint_dir=None) -> Path:
    """Store a finished run of `model_name` as a new run folder and make it the latest; returns the folder."""
    if not isinstance(getattr(net, "config", None), dict):
        raise ValueError(
            f"save_run needs a network with a .config dict (a BaseNetwork), got {type(net).__name__}"
        )
    model_dir, files = runs_dir(checkpoint_dir) / model_name, model_files(model_name)
    check_writable(model_dir)
    tmp = Path(tempfile.mkdtemp(dir=model_dir, prefix=".run-", suffix=".tmp"))
    try:
        state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
        with open(tmp / files["weights"], "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        _write_synced(tmp / files["config"], json_bytes(net.config))
        hashes = {
            key: hashlib.sha256((tmp / files[key]).read_bytes()).hexdigest() for key in ("config", "weights")
        }
        record = standard_json({**results, "files": hashes})
        record["record_sha256"] = record_hash(record)
        _write_synced(tmp / files["results"], json_bytes(record))
        run = model_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{record['record_sha256'][:12]}"
        with filelock.FileLock(model_dir / ".lock", timeout=LOCK_SECONDS):
            if run.exists():  # the same record already stored: nothing new to keep
                shutil.rmtree(tmp)
            else:
                os.rename(tmp, run)
            latest = {"run": run.name, "record_sha256": record["record_sha256"]}
            atomic_write(model_dir / LATEST, json_bytes(latest))
            _remove_abandoned(model_dir)
        return run
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _remove_abandoned(model_dir: Path) -> None:
    """Delete the temporary folders of runs killed before they finished (ours, and hours old: a run that
    is still writing its folder takes seconds), so repeated kills do not fill the disk."""
    for tmp in model_dir.glob(".run-*.tmp"):
        if time.time() - tmp.stat().st_mtime > ABANDONED_SECONDS:
            shutil.rmtree(tmp, ignore_errors=True)


def latest_run(model_name: str, checkpoint_dir=None) -> Path | None:
    """The folder of the latest finished run of `model_name`, or None when there is none."""
    model_dir = runs_dir(checkpoint_dir) / model_name
    pointer = model_dir / LATEST
    if not pointer.is_file():
        return None
    try:
        run = json.loads(pointer.read_text())["run"]
        if not isinstance(run, str) or Path(run).name != run:
            raise ValueError(run)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
        raise CheckpointError(
            f"{pointer} does not name a run ({type(err).__name__}): delete it to start afresh, or "
            f"retrain with train_model(..., model_name={model_name!r}, overwrite=True)."
        ) from None
    return model_dir / run


def _retrain_hint(model_name: str, where) -> str:
    return (
        f"Retrain it with train_model(..., model_name={model_name!r}, overwrite=True); the files in "
        f"{where} are left as they are."
    )


def _read_json(path: Path, model_name: str, hint: str) -> dict:
    try:
        value = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is not readable JSON ({err}). {hint}") from err
    if not isinstance(value, dict):
        raise CheckpointError(f"{path} holds no JSON object. {hint}")
    return value


def _verify(paths: dict, results: dict, hint: str) -> None:
    """Refuse results whose own hash, or whose recorded hashes of config and weights, do not match."""
    if "record_sha256" in results and results["record_sha256"] != record_hash(results):
        raise CheckpointError(
            f"{paths['results']} was edited after it was written (record hash differs). {hint}"
        )
    recorded = results.get("files", {})
    if not isinstance(recorded, dict):
        raise CheckpointError(f"{paths['results']} has a 'files' entry that is not a mapping. {hint}")
    for key in ("config", "weights"):
        digest = recorded.get(key, recorded.get(paths[key].name))
        if digest is not None and digest != hashlib.sha256(paths[key].read_bytes()).hexdigest():
            raise CheckpointError(
                f"{paths[key]} is not the file that {paths['results'].name} was measured on (its SHA-256 "
                f"differs from the one recorded there): it was replaced or edited, so it is not used. {hint}"
            )


def read_model(paths: dict, model_name: str, net=None, hint: str = "") -> tuple:
    """(network, results) from the files `paths` {"config", "weights", "results": Path}, verified.

    With `net`, the weights go into it after checking that its config is the stored one."""
    missing = [str(p) for p in paths.values() if not Path(p).is_file()]
    if missing:
        raise CheckpointError(f"No finished model {model_name!r}: {', '.join(missing)} missing. {hint}")
    results = _read_json(paths["results"], model_name, hint)
    _verify(paths, results, hint)
    config = _read_json(paths["config"], model_name, hint)
    try:
        state = torch.load(paths["weights"], map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, foreign pickle: torch's text suggests unsafe loading
        raise CheckpointError(
            f"{paths['weights']} is not a readable state dict ({type(err).__name__}: the file is damaged "
            f"or holds something else). {hint}"
        ) from None
    if net is None:
        try:
            net = BaseNetwork.from_config(config)
        except (TypeError, ValueError, KeyError, RuntimeError) as err:
            raise CheckpointError(
                f"{paths['config']} does not describe a network this course can build ({err}). {hint}"
            ) from err
    elif getattr(net, "config", None) != config:
        raise CheckpointError(
            f"The checkpoint {model_name!r} was saved from a network with config {config}, but the network "
            f"given has config {getattr(net, 'config', None)}. Build the network with the stored config "
            f"(BaseNetwork.from_config) to load it. {hint}"
        )
    try:
        net.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(
            f"The weights in {paths['weights']} do not fit the network: {err}. {hint}"
        ) from err
    return net, results


def load_run(model_name: str, checkpoint_dir=None, net=None) -> tuple:
    """(network, results) of the latest run of `model_name` in the student's folder."""
    run = latest_run(model_name, checkpoint_dir)
    hint = _retrain_hint(model_name, runs_dir(checkpoint_dir) / model_name)
    if run is None:
        raise CheckpointError(f"No run of {model_name!r} in {runs_dir(checkpoint_dir)}. {hint}")
    paths = {key: run / name for key, name in model_files(model_name).items()}
    return read_model(paths, model_name, net, hint)


def load_model(model_name: str, checkpoint_dir=None, net=None):
    """The network of the latest run of `model_name` (see load_run)."""
    return load_run(model_name, checkpoint_dir, net)[0]


def load_files(folder, model_name: str, net=None) -> tuple:
    """(network, results) of the three files of `model_name` in `folder` (e.g. a study's own output)."""
    paths = {key: Path(folder) / name for key, name in model_files(model_name).items()}
    return read_model(paths, model_name, net, f"Make them again with the code that wrote {folder}.")


def _published_names(name: str) -> dict[str, str]:
    """{"config", "weights", "results": name under saved_models/} of the published model `name`."""
    folder = Path(name).parent
    return {key: (folder / file).as_posix() for key, file in model_files(Path(name).name).items()}


def is_published_model(name: str) -> bool:
    """True when the registry publishes the three files of model `name` (e.g. "practice/practice_SGD")."""
    from utils.registry import read_registry

    return set(_published_names(name).values()) <= read_registry().keys()


def load_published_model(name: str, net=None) -> tuple:
    """(network, results) of the published model `name`: "FashionMNIST_SGD", "practice/practice_SGD"..."""
    from utils.registry import published_file

    paths = {key: published_file(file) for key, file in _published_names(name).items()}
    hint = "Restore saved_models/ with git checkout (utils/published.txt lists the published files)."
    return read_model(paths, Path(name).name, net, hint)


def export_run(model_name: str, checkpoint_dir, dest: Path, as_name: str | None = None) -> list[Path]:
    """Copy the latest run of `model_name` into `dest` as three flat files named `as_name` (for
    tools/regenerate.py, which publishes them); returns the paths written."""
    load_run(model_name, checkpoint_dir)  # refuses anything but a whole, verified run
    run, dest = latest_run(model_name, checkpoint_dir), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for key, name in model_files(model_name).items():
        target = dest / model_files(as_name or model_name)[key]
        shutil.copyfile(run / name, target)
        written.append(target)
    return written
