"""Helpers shared by the course notebooks on initializing and optimizing deep networks.

The notebooks teach by writing code in front of the student; whatever a *later* notebook needs again
lives here, so it is written once. Paths are resolved from the repository root and can be moved with
environment variables, which is how Colab, CI and shared lab machines point at their own folders.
"""

import os
import random
from pathlib import Path

import numpy as np
import torch


def env_value(name: str) -> str | None:
    """The environment variable `name`, stripped; None when it is unset *or empty* (`VAR=` means unset)."""
    value = os.environ.get(name, "").strip()
    return value or None


def env_path(name: str, default: Path) -> Path:
    """A folder named by the environment variable `name` (with `~` expanded), else `default`."""
    value = env_value(name)
    return Path(value).expanduser() if value else Path(default)


REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = env_path("PATH_DATASETS", REPO_ROOT / "data")
# The course's published files (read only: see utils.registry) always come from the package's own
# saved_models/; PATH_CHECKPOINT moves only the student's folder, where retrains go (utils.checkpoints).
PUBLISHED_DIR = REPO_ROOT / "saved_models"
CHECKPOINT_DIR = env_path("PATH_CHECKPOINT", PUBLISHED_DIR)

# The course's public repository (GitHub "owner/name"): Colab badges, the notebooks' set-up cell and
# the download of pretrained checkpoints all point here.
COURSE_REPO = "courseware-dl/init-optim-course"


def get_device() -> torch.device:
    """The fastest device this machine has: a CUDA GPU, else Apple's MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


COURSE_SEED_ENV = "COURSE_SEED"


def course_seed(seed: int) -> int:
    """The seed to use where the course would use `seed`.

    With COURSE_SEED unset this is `seed` itself, so the stored outputs reproduce. With COURSE_SEED set,
    every seed of the course is mixed with it into a new one (distinct seeds stay distinct): rerunning
    the notebooks under another COURSE_SEED checks that their claims hold on any seed, not only on ours.
    """
    value = env_value(COURSE_SEED_ENV)
    if value is None:
        return seed
    try:
        offset = int(value)
        if offset < 0:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"{COURSE_SEED_ENV}={value!r} is not a whole number >= 0: unset it for the course's own "
            f"seeds, or set it to an integer such as {COURSE_SEED_ENV}=1"
        ) from None
    return int(np.random.SeedSequence([seed, offset]).generate_state(1)[0]) % 2**31


def set_seed(seed: int = 42) -> None:
    """Seed python, numpy and torch (all devices) with course_seed(seed).

    Equivalent to pytorch-lightning's seed_everything without paying its import time in every notebook.
    """
    seed = course_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def torch_generator(seed: int) -> torch.Generator:
    """A torch.Generator seeded with course_seed(seed): a random stream of its own for one experiment."""
    return torch.Generator().manual_seed(course_seed(seed))


def numpy_rng(seed: int) -> np.random.Generator:
    """A numpy Generator seeded with course_seed(seed)."""
    return np.random.default_rng(course_seed(seed))
