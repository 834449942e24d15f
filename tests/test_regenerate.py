"""tools/regenerate.py: one command for every published file; an install killed at any moment leaves
a valid published set (the old one or the new one, never a mix), tested with SIGKILL on a tiny fake
artifact in a published folder, registry and cache of the test's own."""

import hashlib
import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from utils import registry

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "regenerate.py"
NAMES = [f"studies/fake{i}.json" for i in range(4)] + ["fake/net.pt"]


def load_tool():
    spec = importlib.util.spec_from_file_location("regenerate", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_every_committed_artifact_has_its_maker():
    tool = load_tool()
    assert set(tool.ARTIFACTS) == {
        "models06",
        "studies06",
        "practice12",
        "deep13",
        "eos12",
        "mup14",
        "muon15",
    }
    assert all(callable(make) for make in tool.ARTIFACTS.values())


def test_an_unknown_artifact_is_named(capsys):
    with pytest.raises(SystemExit):
        load_tool().main(["nope"])
    assert "unknown artifact(s) nope" in capsys.readouterr().err


def test_list_names_each_artifact(capsys):
    load_tool().main(["--list"])
    out = capsys.readouterr().out
    assert all(f"{name}:" in out for name in load_tool().ARTIFACTS)


def test_the_old_entry_points_are_gone():
    assert not (ROOT / "tools" / "refresh_pretrained.py").exists()
    for module in ("practice", "deep_study"):
        assert "__main__" not in (ROOT / "utils" / f"{module}.py").read_text(), module


def test_a_maker_that_writes_outside_its_folder_installs_nothing(tmp_path):
    tool = load_tool()
    (tmp_path / "registry.txt").write_text("")
    tool.ARTIFACTS["bad"] = lambda folder: [tmp_path / "elsewhere.json"]
    (tmp_path / "elsewhere.json").write_text("{}")
    with pytest.raises(SystemExit, match="not a file it wrote"):
        tool.regenerate(["bad"], tmp_path / "published", tmp_path / "registry.txt", tmp_path / "cache")
    assert (tmp_path / "registry.txt").read_text() == "" and not (tmp_path / "published").exists()


def test_notebook_06_has_each_switch_once():
    source = load_tool().TWIN_06.read_text()
    assert all(source.count(f"\n{switch} = False") == 1 for switch in ("RETRAIN", "RETRAIN_STUDIES"))


def test_a_notebook_whose_switch_moved_is_refused(tmp_path, monkeypatch):
    tool = load_tool()
    twin = tmp_path / "06.py"
    twin.write_text("x = 1\nRETRAIN = True\n")
    monkeypatch.setattr(tool, "TWIN_06", twin)
    with pytest.raises(SystemExit, match="must set `RETRAIN = False` exactly once"):
        tool.run_notebook_06(tmp_path, "RETRAIN")


CHILD = """
import os, sys, time
sys.path.insert(0, {root!r})
import importlib.util
spec = importlib.util.spec_from_file_location("regenerate", {tool!r})
tool = importlib.util.module_from_spec(spec); spec.loader.exec_module(tool)
version = sys.argv[1]

def make_fake(folder):
    paths = []
    for name in {names!r}:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(version + " " + name)
        paths.append(path)
    return paths

tool.ARTIFACTS["fake"] = make_fake
real_replace = os.replace

def slow_replace(src, dst):  # every rename of the install is announced, then a pause to be killed in
    real_replace(src, dst)
    print("renamed", dst, flush=True)
    time.sleep(0.1)

os.replace = slow_replace
tool.main(["fake", "--published-dir", sys.argv[2], "--registry", sys.argv[3], "--cache-dir", sys.argv[4]])
print("done", flush=True)
"""


def run(version, tmp_path, kill_after=None):
    """Run the fake regeneration; with kill_after=k, SIGKILL it right after its k-th rename."""
    script = CHILD.format(root=str(ROOT), tool=str(TOOL), names=NAMES)
    args = [sys.executable, "-c", script, version, *(str(tmp_path / p) for p in ("pub", "reg.txt", "cache"))]
    child = subprocess.Popen(
        args, stdout=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    renames = 0
    for line in child.stdout:
        renames += line.startswith("renamed")
        if kill_after is not None and renames == kill_after:
            child.send_signal(signal.SIGKILL)
            break
    child.wait(30)
    child.stdout.close()
    return renames


def published_set(tmp_path, monkeypatch):
    """{name: bytes} of every file the test registry publishes, as utils.registry serves them offline."""
    monkeypatch.setenv("COURSE_MODELS_URL", "http://127.0.0.1:9/")  # nothing answers: no download
    listed = registry.read_registry(tmp_path / "reg.txt")
    return {
        name: registry.published_file(
            name, tmp_path / "reg.txt", tmp_path / "pub", tmp_path / "cache", 2
        ).read_text()
        for name in listed
    }


def test_one_regeneration_installs_files_and_registry_together(tmp_path, monkeypatch):
    (tmp_path / "reg.txt").write_text("")
    run("v1", tmp_path)
    assert published_set(tmp_path, monkeypatch) == {name: f"v1 {name}" for name in NAMES}
    for name, digest in registry.read_registry(tmp_path / "reg.txt").items():
        assert hashlib.sha256((tmp_path / "pub" / name).read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("kill_after", [3, 10, 11])
def test_a_killed_regeneration_leaves_the_previous_set_valid(tmp_path, monkeypatch, kill_after):
    """A second regeneration renames 11 times: 5 old files kept in the cache, 5 new files into place, then
    the registry. Killed after any of them, the old set or the new one is served whole; a rerun mends."""
    (tmp_path / "reg.txt").write_text("")
    assert run("v1", tmp_path) == 6  # a first install: five files and the registry
    old, new = ({name: f"{v} {name}" for name in NAMES} for v in ("v1", "v2"))
    run("v2", tmp_path, kill_after=kill_after)
    assert published_set(tmp_path, monkeypatch) == (new if kill_after == 11 else old)
    run("v2", tmp_path)
    assert published_set(tmp_path, monkeypatch) == new
