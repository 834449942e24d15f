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

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("PATH_DATASETS", REPO_ROOT / "data"))
CHECKPOINT_DIR = Path(os.environ.get("PATH_CHECKPOINT", REPO_ROOT / "saved_models"))

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


def set_seed(seed: int = 42) -> None:
    """Seed python, numpy and torch (all devices), so every figure in a notebook is reproducible.

    Equivalent to pytorch-lightning's seed_everything without paying its import time in every notebook.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
