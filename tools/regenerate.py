"""The maintainers' one command that re-makes the course's published files and their registry.

    python tools/regenerate.py --list              # the artifacts it knows
    python tools/regenerate.py models06 practice12 # re-make those (all of them with no name)

An artifact is a function registered in ARTIFACTS below, one line each:

    def make_study(folder: Path) -> list[Path]

It writes its files into `folder` at the paths they are to have under saved_models/ (for example
folder/"studies"/"my_study.json", or folder/"practice"/"net.pt"), writes nothing anywhere else (training
runs go to a temporary checkpoint folder of its own), and returns the paths it wrote. It runs with
COURSE_SEED unset and one torch thread, so the published numbers are the course's own seeds'. A new
study lives in its own module in utils/ (importable by its notebook) and registers here, e.g.
`"eos12": utils.edge_of_stability.make_study`.

Every chosen artifact is made in a scratch folder first; nothing is installed unless all succeed. Then
the install, in an order that keeps the published set valid if it is killed at any moment:
  1. the current published version of each file to be replaced is kept in the content-keyed cache
     (utils.registry finds a file there by its SHA-256, without a download);
  2. each new file is written beside its target, flushed to disk, and renamed over it;
  3. utils/published.txt, the registry that says which bytes are published, is replaced in one rename.
Killed before 3, the registry still names the old bytes (in the cache where the folder has new ones);
after 3, the new. Notebook RETRAIN switches never come here: they write into the student's own folder.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import utils.edge_of_stability  # noqa: E402
import utils.muon_study  # noqa: E402
import utils.width  # noqa: E402
from utils import PUBLISHED_DIR, downloads  # noqa: E402
from utils.checkpoints import atomic_write, export_run  # noqa: E402
from utils.registry import REGISTRY_FILE, file_hash, read_registry  # noqa: E402

TWIN_06 = REPO_ROOT / "notebooks" / "text" / "06_training_fashionmnist.py"
MODELS_06 = ("FashionMNIST_SGD", "FashionMNIST_SGDMomentum", "FashionMNIST_Adam")
STUDIES_06 = ("poor_init.json", "seeds.json")
HEADER = (
    "# The course's published files: name under saved_models/, SHA-256. Written by tools/regenerate.py.\n"
)


def run_notebook_06(checkpoints: Path, switch: str) -> None:
    """Run notebook 06's twin (its recipe and its asserts) with `switch` on, training into `checkpoints`."""
    source = TWIN_06.read_text()
    if source.count(f"\n{switch} = False") != 1:
        raise SystemExit(f"{TWIN_06} must set `{switch} = False` exactly once at the start of a line")
    script = checkpoints / "notebook06.py"
    script.write_text(source.replace(f"\n{switch} = False", f"\n{switch} = True"))
    env = {
        **os.environ,
        "PATH_CHECKPOINT": str(checkpoints),
        "MPLBACKEND": "Agg",
        "PYTHONPATH": str(REPO_ROOT),
    }
    runner = (
        f"import torch; torch.set_num_threads(1); exec(compile(open({str(script)!r}).read(), 'nb06', 'exec'))"
    )
    subprocess.run([sys.executable, "-c", runner], env=env, cwd=REPO_ROOT / "notebooks", check=True)


def make_models06(folder: Path) -> list[Path]:
    """The three networks of notebook 06, section 3 (its RETRAIN = True)."""
    with tempfile.TemporaryDirectory(prefix="models06_") as checkpoints:
        run_notebook_06(Path(checkpoints), "RETRAIN")
        return [path for name in MODELS_06 for path in export_run(name, checkpoints, folder)]


def make_studies06(folder: Path) -> list[Path]:
    """The two studies of notebook 06, section 4 (its RETRAIN_STUDIES = True)."""
    from utils.checkpoints import runs_dir

    with tempfile.TemporaryDirectory(prefix="studies06_") as checkpoints:
        run_notebook_06(Path(checkpoints), "RETRAIN_STUDIES")
        (folder / "studies").mkdir(parents=True, exist_ok=True)
        return [
            Path(shutil.copyfile(runs_dir(checkpoints) / "studies" / name, folder / "studies" / name))
            for name in STUDIES_06
        ]


def make_practice12(folder: Path) -> list[Path]:
    from utils.practice import make_study

    return make_study(folder)


def make_deep13(folder: Path) -> list[Path]:
    from utils.deep_study import make_study

    return make_study(folder)


ARTIFACTS = {
    "models06": make_models06,
    "studies06": make_studies06,
    "practice12": make_practice12,
    "deep13": make_deep13,
    "eos12": utils.edge_of_stability.make_study,
    "mup14": utils.width.make_study,
    "muon15": utils.muon_study.make_study,
}


def _copy_synced(source: Path, target: Path) -> None:
    """Copy `source` to a temporary file beside `target`, flush it to disk, rename it over `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, source.read_bytes())


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def install(files: dict[str, Path], published_dir: Path, registry_file: Path, cache_dir: Path) -> dict:
    """Publish {name under saved_models/: new file}; returns the new registry (see the module docstring)."""
    old = read_registry(registry_file)
    new = {**old, **{name: file_hash(path) for name, path in files.items()}}
    for name in files:  # 1. the old bytes stay reachable by their hash
        current = published_dir / name
        if name in old and current.is_file() and file_hash(current) == old[name] != new[name]:
            kept = cache_dir / old[name] / current.name
            if not kept.is_file():
                kept.parent.mkdir(parents=True, exist_ok=True)
                _copy_synced(current, kept)
    for name, path in sorted(files.items()):  # 2. the new bytes in place, one rename each
        _copy_synced(path, published_dir / name)
    for folder in {(published_dir / name).parent for name in files}:
        _sync_folder(folder)
    text = HEADER + "".join(f"{name} {digest}\n" for name, digest in sorted(new.items()))
    atomic_write(registry_file, text.encode())  # 3. the commit
    _sync_folder(registry_file.parent)
    return new


def regenerate(names, published_dir: Path, registry_file: Path, cache_dir: Path) -> dict:
    """Make every artifact in `names` into one scratch folder, then install them all together."""
    os.environ.pop("COURSE_SEED", None)  # the published files are made with the course's own seeds
    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="regenerate_") as scratch:
        scratch, files = Path(scratch), {}
        for name in names:
            print(f"making {name}", flush=True)
            for path in ARTIFACTS[name](scratch):
                path = Path(path)
                if not path.is_file() or not path.resolve().is_relative_to(scratch.resolve()):
                    raise SystemExit(f"{name} returned {path}, which is not a file it wrote into {scratch}")
                files[path.resolve().relative_to(scratch.resolve()).as_posix()] = path
        print(f"installing {len(files)} files into {published_dir}", flush=True)
        return install(files, published_dir, registry_file, cache_dir)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "artifacts", nargs="*", help=f"what to re-make (default: all of {', '.join(ARTIFACTS)})"
    )
    parser.add_argument("--list", action="store_true", help="list the artifacts and exit")
    # for tests: another published folder, registry and cache than the package's
    parser.add_argument("--published-dir", type=Path, default=PUBLISHED_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--registry", type=Path, default=REGISTRY_FILE, help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", type=Path, default=downloads.CACHE_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.list:
        for name, make in ARTIFACTS.items():
            print(f"{name}: {(make.__doc__ or '').strip()}")
        return
    unknown = [name for name in args.artifacts if name not in ARTIFACTS]
    if unknown:
        parser.error(f"unknown artifact(s) {', '.join(unknown)}: choose from {', '.join(ARTIFACTS)}")
    registry = regenerate(
        args.artifacts or list(ARTIFACTS), args.published_dir, args.registry, args.cache_dir
    )
    print(f"{args.registry} now lists {len(registry)} published files; commit it with saved_models/.")


if __name__ == "__main__":
    main()
