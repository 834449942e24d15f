"""tools/refresh_pretrained.py: the maintainer's way to re-make saved_models/, from notebook 06's recipe."""

import importlib.util
import subprocess
import sys

import pytest

from utils import REPO_ROOT

TOOL = REPO_ROOT / "tools" / "refresh_pretrained.py"


def load_tool():
    spec = importlib.util.spec_from_file_location("refresh_pretrained", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_it_switches_on_exactly_the_retrains_asked_for():
    tool = load_tool()
    both = tool.notebook_source(models=True, studies=True)
    assert "\nRETRAIN = True" in both and "\nRETRAIN_STUDIES = True" in both
    studies = tool.notebook_source(models=False, studies=True)
    assert "\nRETRAIN = False" in studies and "\nRETRAIN_STUDIES = True" in studies


def test_it_refuses_a_notebook_whose_switch_moved(monkeypatch, tmp_path):
    tool = load_tool()
    twin = tmp_path / "06.py"
    twin.write_text("RETRAIN_FLAG = False\n")
    monkeypatch.setattr(tool, "TWIN", twin)
    with pytest.raises(SystemExit, match="RETRAIN = False"):
        tool.notebook_source(models=True, studies=False)


def test_it_asks_what_to_remake():
    done = subprocess.run([sys.executable, str(TOOL)], capture_output=True, text=True)
    assert done.returncode == 2 and "--models, --studies" in done.stderr


def test_the_manifest_lists_the_published_model_files_only():
    manifest = (REPO_ROOT / "saved_models" / "MANIFEST.sha256").read_text()
    names = [line.split()[1] for line in manifest.splitlines()]
    assert "README.md" not in names and all(n.startswith("FashionMNIST_") for n in names) and len(names) == 9
