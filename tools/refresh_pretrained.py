"""Maintainer command: re-make the course's published models (saved_models/) with today's code.

    python tools/refresh_pretrained.py [--models] [--studies] [--threads N]
    python tools/refresh_pretrained.py --manifest-only

Notebook 06 holds the one recipe of the published models, so this command runs its text twin with
RETRAIN = True (--models) and/or RETRAIN_STUDIES = True (--studies) and PATH_CHECKPOINT pointing at a scratch
folder: everything trains there, and the notebook's own asserts must pass. Only then are the three models
(each one committed as a whole, see utils.checkpoints) and the study results copied into saved_models/,
and MANIFEST.sha256 rewritten. A student's RETRAIN never writes there; this command is the only way in.
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

from utils.checkpoints import MANIFEST_NAME, atomic_write, install_model, write_manifest  # noqa: E402

TWIN = REPO_ROOT / "notebooks" / "text" / "06_training_fashionmnist.py"
TARGET = REPO_ROOT / "saved_models"
MODELS = ("FashionMNIST_SGD", "FashionMNIST_SGDMomentum", "FashionMNIST_Adam")
STUDIES = ("poor_init.json", "seeds.json")


def notebook_source(models: bool, studies: bool) -> str:
    """The twin's code with the chosen retrain switches on (each must appear exactly once)."""
    source = TWIN.read_text()
    switches = {"RETRAIN = False": "RETRAIN = True"} if models else {}
    if studies:
        switches["RETRAIN_STUDIES = False"] = "RETRAIN_STUDIES = True"
    for old, new in switches.items():
        if source.count(f"\n{old}") != 1:
            raise SystemExit(f"{TWIN} must set `{old}` exactly once at the start of a line")
        source = source.replace(f"\n{old}", f"\n{new}")
    return source


def run_notebook(scratch: Path, models: bool, studies: bool, threads: int) -> None:
    script = scratch / "notebook06.py"
    script.write_text(notebook_source(models, studies))
    runner = (
        f"import torch; torch.set_num_threads({threads}); "
        f"exec(compile(open({str(script)!r}).read(), 'nb06', 'exec'))"
    )
    env = {**os.environ, "PATH_CHECKPOINT": str(scratch), "MPLBACKEND": "Agg", "PYTHONPATH": str(REPO_ROOT)}
    env.pop("COURSE_SEED", None)  # the published files are made with the course's own seeds
    subprocess.run([sys.executable, "-c", runner], env=env, cwd=REPO_ROOT / "notebooks", check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--models", action="store_true", help="retrain the three models of section 3")
    parser.add_argument("--studies", action="store_true", help="re-run the two studies of section 4")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (recorded in each recipe)")
    parser.add_argument("--manifest-only", action="store_true", help="only rewrite MANIFEST.sha256")
    args = parser.parse_args()
    if not (args.manifest_only or args.models or args.studies):
        parser.error("say what to re-make: --models, --studies (or both), or --manifest-only")
    if not args.manifest_only:
        with tempfile.TemporaryDirectory(prefix="refresh_pretrained_") as scratch:
            scratch = Path(scratch)
            if not args.models:  # the notebook then loads the published models, from the scratch folder
                shutil.copy(TARGET / MANIFEST_NAME, scratch / MANIFEST_NAME)
                for name in MODELS:
                    install_model(name, TARGET, scratch)
            run_notebook(scratch, args.models, args.studies, args.threads)
            for name in MODELS if args.models else ():
                install_model(name, scratch / "retrained", TARGET)
            for name in STUDIES if args.studies else ():
                source = scratch / "retrained" / "studies" / name
                atomic_write(
                    TARGET / "studies" / name, lambda f, s=source: shutil.copyfileobj(s.open("rb"), f)
                )
    for name, digest in write_manifest(TARGET).items():
        print(f"{digest}  {name}")


if __name__ == "__main__":
    main()
