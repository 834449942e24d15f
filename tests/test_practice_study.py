"""The committed study of notebook 12: files match their manifest, the recipe says how they were made,
every setting has every seed, and the committed networks reproduce the study's numbers."""

import json

import pytest
import torch

from utils import CHECKPOINT_DIR, torch_generator
from utils.checkpoints import load_model, read_manifest, sha256
from utils.practice import KEEP, snap

STUDY = json.loads((CHECKPOINT_DIR / "studies" / "practice.json").read_text())
PRACTICE_DIR = CHECKPOINT_DIR / "practice"


def test_snap_rounds_to_1_2_5():
    assert [snap(v) for v in (0.0047, 0.00044, 0.0016, 0.0085, 3.0)] == [0.005, 0.0005, 0.002, 0.01, 2.0]


def test_manifest_matches_every_committed_file():
    manifest = read_manifest(PRACTICE_DIR)
    files = sorted(p.name for p in PRACTICE_DIR.iterdir() if p.name != "MANIFEST.sha256")
    assert sorted(manifest) == files
    assert all(sha256(PRACTICE_DIR / name) == digest for name, digest in manifest.items())
    assert sum((PRACTICE_DIR / name).stat().st_size for name in files) < 8e6


def test_study_is_complete_and_recorded():
    recipe = STUDY["recipe"]
    assert recipe["course_seed_env"] is None and recipe["seeds"] == [0, 1, 2]
    assert len(STUDY["runs"]) == 10
    for name, runs in STUDY["runs"].items():
        assert sorted(runs) == ["0", "1", "2"], name
        assert all(len(r["val_acc"]) == recipe["epochs"] for r in runs.values()), name


@pytest.mark.parametrize("name", sorted(KEEP))
def test_committed_networks_reproduce_the_study(name):
    from utils.data import fashion_mnist_tensors
    from utils.sharpness import top_hessian_eigenvalue

    (x, y), _, _ = fashion_mnist_tensors("cpu")
    x, y = x[: STUDY["recipe"]["sharpness_images"]], y[: STUDY["recipe"]["sharpness_images"]]
    net = load_model(KEEP[name], PRACTICE_DIR).eval()
    loss = torch.nn.functional.cross_entropy(net(x), y)
    assert loss.item() == pytest.approx(STUDY["runs"][name]["0"]["loss"], rel=1e-4)
    eig, _ = top_hessian_eigenvalue(loss, list(net.parameters()), torch_generator(5))
    assert eig == pytest.approx(STUDY["runs"][name]["0"]["top_eigenvalue"], rel=0.02)
