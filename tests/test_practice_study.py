"""The published study of notebook 12: files match the registry, the recipe says how they were made,
every setting has every seed, and the committed networks reproduce the study's numbers."""

import json

import pytest
import torch

from utils import torch_generator
from utils.checkpoints import load_published_model
from utils.practice import KEEP, NETWORKS, STUDY_NAME, snap
from utils.registry import published_file, read_registry

STUDY = json.loads(published_file(STUDY_NAME).read_text())


def test_snap_rounds_to_1_2_5():
    assert [snap(v) for v in (0.0047, 0.00044, 0.0016, 0.0085, 3.0)] == [0.005, 0.0005, 0.002, 0.01, 2.0]


def test_the_registry_publishes_every_kept_network_and_they_are_small():
    names = {name for name in read_registry() if name.startswith(NETWORKS + "/")}
    expected = {
        f"{NETWORKS}/{file}" for kept in KEEP.values() for file in (f"{kept}.config.json", f"{kept}.pt")
    }
    assert expected <= names
    assert sum(published_file(name).stat().st_size for name in names) < 8e6


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
    net = load_published_model(f"{NETWORKS}/{KEEP[name]}")[0].eval()
    loss = torch.nn.functional.cross_entropy(net(x), y)
    assert loss.item() == pytest.approx(STUDY["runs"][name]["0"]["loss"], rel=1e-4)
    eig, _ = top_hessian_eigenvalue(loss, list(net.parameters()), torch_generator(5))
    assert eig == pytest.approx(STUDY["runs"][name]["0"]["top_eigenvalue"], rel=0.02)


def test_make_study_writes_the_study_and_its_networks_into_its_folder_only(tmp_path, monkeypatch):
    """The interface tools/regenerate.py publishes from, on random data small enough for a test."""
    from utils import practice
    from utils.checkpoints import load_files

    g = torch.Generator().manual_seed(0)
    data = [
        (torch.randn(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g))
        for n in (256, 64, 64)
    ]
    monkeypatch.setattr(practice, "fashion_mnist_tensors", lambda device: data)
    monkeypatch.setattr(practice, "SHARPNESS_IMAGES", 32)
    monkeypatch.chdir(tmp_path)
    written = practice.make_study(tmp_path / "out", seeds=(0,), epochs=2, range_steps=20)
    assert written[0] == tmp_path / "out" / STUDY_NAME
    assert {p.relative_to(tmp_path / "out").as_posix() for p in written} == {STUDY_NAME} | {
        f"{NETWORKS}/{kept}{suffix}"
        for kept in KEEP.values()
        for suffix in (".config.json", ".pt", "_results.json")
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "it wrote outside its folder"
    study = json.loads(written[0].read_text())
    assert set(study["runs"]) >= set(KEEP) and study["recipe"]["epochs"] == 2
    for kept in KEEP.values():
        load_files(tmp_path / "out" / NETWORKS, kept)
