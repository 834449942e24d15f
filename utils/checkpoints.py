"""Saving, verifying and loading the course's trained networks.

A trained model `name` is three files in a checkpoint folder:
  name.config.json   the network's BaseNetwork.config (how to rebuild it),
  name.pt            its state dict (torch.save; loaded with weights_only=True, so no code runs),
  name_results.json  what training measured, how (its `recipe`) and the SHA-256 of the two files above.
A model is replaced only once its successor is complete: save_model writes the new config and weights
*beside* the old ones (name.pt.staged ...), save_results writes the staged results last - the commit
record - and only then moves the three staged files over the old ones. A run killed before the commit
leaves the old model untouched; one killed during the moves is finished by the next reader
(_finish_commit), so a folder never serves a mix of two models.

A folder with a MANIFEST.sha256 (`sha256sum` format, model files only) holds pretrained files: each one
is checked against the manifest before it is loaded. Every model is also checked against the hashes its
results recorded, so a swapped .pt or an edited config is refused, naming the file.
"""

import hashlib
import json
import os
import tempfile
from pathlib import Path

import torch

from utils import CHECKPOINT_DIR
from utils.models import BaseNetwork

MANIFEST_NAME = "MANIFEST.sha256"
STAGED = ".staged"
MODEL_SUFFIXES = (".config.json", ".pt", "_results.json")


class CheckpointError(RuntimeError):
    """A checkpoint cannot be used as it is; the message says what to do about it."""


def model_files(model_name: str) -> dict[str, str]:
    """The file names of one model: config, weights and results (the completeness marker)."""
    return {
        "config": f"{model_name}.config.json",
        "weights": f"{model_name}.pt",
        "results": f"{model_name}_results.json",
    }


def folder_of(checkpoint_dir) -> Path:
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


def _staged(path: Path) -> Path:
    return path.with_name(path.name + STAGED)


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


def save_model(model: BaseNetwork, model_name: str, checkpoint_dir=None) -> None:
    """Stage the model's config and weights beside the current files; save_results commits them."""
    folder, files = folder_of(checkpoint_dir), model_files(model_name)
    if not hasattr(model, "config"):
        raise ValueError(
            f"save_model needs a network with a .config dict (a BaseNetwork), got {type(model).__name__}"
        )
    _write_json(_staged(folder / files["config"]), model.config)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    atomic_write(_staged(folder / files["weights"]), lambda f: torch.save(state, f))


def save_results(results: dict, model_name: str, checkpoint_dir=None) -> None:
    """Commit the model staged by save_model: write its results (with the SHA-256 of its config and
    weights) as the commit record, then move the staged files over the old ones."""
    folder, files = folder_of(checkpoint_dir), model_files(model_name)
    staged = {key: _staged(folder / files[key]) for key in ("config", "weights")}
    if not all(path.is_file() for path in staged.values()):
        raise CheckpointError(
            f"Nothing staged for {model_name!r} in {folder}: call save_model before save_results."
        )
    hashes = {files[key]: sha256(path) for key, path in staged.items()}
    _write_json(_staged(folder / files["results"]), {**results, "files": hashes})
    _finish_commit(model_name, folder)


def install_model(model_name: str, source_dir, target_dir) -> None:
    """Copy a complete, verified model into target_dir; the old one there is replaced only once the
    copy is complete (the same staged commit as save_results). For tools/refresh_pretrained.py."""
    source, target, files = Path(source_dir), Path(target_dir), model_files(model_name)
    load_model(model_name, source)  # refuses an incomplete or inconsistent model
    for key in ("config", "weights", "results"):  # results last: the commit record
        data = (source / files[key]).read_bytes()
        atomic_write(_staged(target / files[key]), lambda f, data=data: f.write(data))
    _finish_commit(model_name, target)


def _finish_commit(model_name: str, folder: Path) -> None:
    """Move a committed (staged results present) model over the old one, results last. Repeating it after
    a crash half-way finishes the same commit; without staged results the staged files are ignored."""
    files = model_files(model_name)
    if not _staged(folder / files["results"]).is_file():
        return
    try:
        for key in ("config", "weights", "results"):
            staged = _staged(folder / files[key])
            if staged.is_file():
                os.replace(staged, folder / files[key])
    except OSError:
        pass  # a read-only folder: the hash checks below refuse whatever mix is left


def is_complete(model_name: str, checkpoint_dir=None) -> bool:
    """True when config, weights and results of `model_name` are all present (not yet verified)."""
    folder = folder_of(checkpoint_dir)
    _finish_commit(model_name, folder)
    return all((folder / name).is_file() for name in model_files(model_name).values())


def _retrain_hint(model_name: str, folder: Path) -> str:
    names = ", ".join(model_files(model_name).values())
    return (
        f"Delete {names} in {folder} (a pretrained model is then downloaded again), or retrain with "
        f"train_model(..., model_name={model_name!r}, overwrite=True)."
    )


def load_results(model_name: str, checkpoint_dir=None) -> dict:
    """The results JSON of a complete model."""
    folder = folder_of(checkpoint_dir)
    _finish_commit(model_name, folder)
    path = folder / model_files(model_name)["results"]
    if not path.is_file():
        raise CheckpointError(
            f"No results for {model_name!r} in {folder}: the model was never trained to the end there. "
            + _retrain_hint(model_name, folder)
        )
    try:
        results = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(
            f"{path} is not valid JSON ({err}). " + _retrain_hint(model_name, folder)
        ) from err
    if not isinstance(results, dict):
        raise CheckpointError(f"{path} holds no results dict. " + _retrain_hint(model_name, folder))
    return results


def verify_model(model_name: str, checkpoint_dir=None) -> None:
    """Refuse a model whose files differ from the folder's manifest or from the hashes in its results."""
    folder, files = folder_of(checkpoint_dir), model_files(model_name)
    manifest = read_manifest(folder)
    for name in files.values():
        if name in manifest and (folder / name).is_file() and sha256(folder / name) != manifest[name]:
            raise CheckpointError(
                f"{folder / name} does not match {folder / MANIFEST_NAME}: it was changed after it was "
                f"published, so it is not used. Restore it (git checkout, or delete it to download it "
                f"again), or retrain into a folder of your own."
            )
    recorded = load_results(model_name, folder).get("files", {})
    for name, digest in recorded.items():
        if name in files.values() and (folder / name).is_file() and sha256(folder / name) != digest:
            raise CheckpointError(
                f"{folder / name} is not the file that {files['results']} was measured on (its SHA-256 "
                "differs from the one recorded there): it was replaced or edited, so it is not used. "
                + _retrain_hint(model_name, folder)
            )


def _read_state(path: Path, model_name: str, folder: Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (
        Exception
    ) as err:  # truncated zip, foreign pickle: torch's text suggests unsafe loading, not quoted
        raise CheckpointError(
            f"{path} is not a readable state dict ({type(err).__name__}: the file is damaged or holds "
            "something else). " + _retrain_hint(model_name, folder)
        ) from None


def _build(config, path: Path, model_name: str, folder: Path) -> BaseNetwork:
    try:
        if not isinstance(config, dict):
            raise TypeError(f"expected a JSON object, got {type(config).__name__}")
        return BaseNetwork.from_config(config)
    except (TypeError, ValueError, KeyError, RuntimeError) as err:
        raise CheckpointError(
            f"{path} does not describe a network this course can build ({err}). "
            + _retrain_hint(model_name, folder)
        ) from err


def load_model(model_name: str, checkpoint_dir=None, net: BaseNetwork | None = None):
    """Rebuild the network from its config and load its weights; returns the network.

    Only a complete model whose files pass verify_model is loaded. With `net`, the weights are loaded
    into it after checking that its config matches the stored one. Raises CheckpointError saying what to
    do for a missing, unfinished, corrupt, edited or mismatched checkpoint.
    """
    folder, files = folder_of(checkpoint_dir), model_files(model_name)
    _finish_commit(model_name, folder)
    missing = [name for name in files.values() if not (folder / name).is_file()]
    if missing and len(missing) < 3 and files["results"] in missing:
        raise CheckpointError(
            f"The checkpoint {model_name!r} in {folder} has no results: the run that wrote it was "
            "interrupted, so it is not a finished model. " + _retrain_hint(model_name, folder)
        )
    if missing:
        raise CheckpointError(
            f"No checkpoint {model_name!r} in {folder} ({', '.join(missing)} missing). "
            + _retrain_hint(model_name, folder)
        )
    verify_model(model_name, folder)
    config_path = folder / files["config"]
    try:
        config = json.loads(config_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(
            f"{config_path} is not valid JSON ({err}). " + _retrain_hint(model_name, folder)
        ) from err
    state = _read_state(folder / files["weights"], model_name, folder)
    if net is None:
        net = _build(config, config_path, model_name, folder)
    elif getattr(net, "config", None) != config:
        raise CheckpointError(
            f"The checkpoint {model_name!r} was saved from a network with config {config}, but the network "
            f"given has config {getattr(net, 'config', None)}. Build the network with the stored config "
            "(BaseNetwork.from_config) to load it. " + _retrain_hint(model_name, folder)
        )
    try:
        net.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(
            f"The weights in {folder / files['weights']} do not fit the network: {err}. "
            + _retrain_hint(model_name, folder)
        ) from err
    return net


# --- checksums --------------------------------------------------------------------------------------


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_manifest(text: str, source) -> dict[str, str]:
    """{file name: SHA-256} from `sha256sum` lines; a malformed line raises, naming `source` and the line."""
    sums = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        digest = parts[0].lower()
        if len(parts) != 2 or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise CheckpointError(
                f"{source}, line {number}, is not '<64 hex digits>  <file name>': {line[:80]!r}. Restore "
                "the file (git checkout) or rewrite it with tools/refresh_pretrained.py --manifest-only."
            )
        sums[parts[1].strip().lstrip("*")] = digest
    return sums


def read_manifest(checkpoint_dir=None) -> dict[str, str]:
    """{file name: SHA-256} from the folder's MANIFEST.sha256 ({} if there is none)."""
    path = folder_of(checkpoint_dir) / MANIFEST_NAME
    return parse_manifest(path.read_text(), path) if path.is_file() else {}


def is_model_file(name: str) -> bool:
    return name.endswith(MODEL_SUFFIXES) and not name.startswith(".")


def write_manifest(checkpoint_dir=None) -> dict[str, str]:
    """(Re)write MANIFEST.sha256 for every model file at the top of the folder; returns what it wrote."""
    folder = folder_of(checkpoint_dir)
    sums = {p.name: sha256(p) for p in sorted(folder.iterdir()) if p.is_file() and is_model_file(p.name)}
    text = "".join(f"{digest}  {name}\n" for name, digest in sums.items())
    atomic_write(folder / MANIFEST_NAME, lambda f: f.write(text.encode()))
    return sums
