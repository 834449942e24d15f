"""Every notebook has a reviewable text twin in sync with it and stores no volatile metadata; the
maintainer's tool (tools/nb.py) never replaces a stored notebook with a failed run; the drift test
refuses a cell it cannot read instead of skipping it."""

import json
import subprocess
import sys

import nbformat
import pytest
from nbsource import notebook_definition, notebooks

from utils import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tools"))
import nb as nbtool  # noqa: E402  (tools/ is not a package)

NOTEBOOKS = notebooks()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_twin_in_sync_and_no_timestamps(path):
    assert nbtool.problems(path) == []


def _tiny_notebook(folder, cells):
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = cells
    path = folder / "01_tiny.ipynb"
    nbtool.store(path, nb)
    return path


def test_run_takes_the_twin_and_stores_a_clean_run(tmp_path):
    path = _tiny_notebook(
        tmp_path, [nbformat.v4.new_markdown_cell("# Tiny"), nbformat.v4.new_code_cell("1 + 1")]
    )
    twin = nbtool.twin_path(path)
    twin.write_text(twin.read_text().replace("1 + 1", "2 + 3"))
    nbtool.execute(path, timeout=60)
    doc = json.loads(path.read_text())
    code = doc["cells"][1]
    assert "".join(code["source"]) == "2 + 3" and code["execution_count"] == 1
    assert "".join(code["outputs"][0]["data"]["text/plain"]) == "5"
    assert "execution" not in code["metadata"]
    assert nbtool.problems(path) == []


def test_a_failing_run_leaves_the_stored_notebook_alone(tmp_path):
    path = _tiny_notebook(tmp_path, [nbformat.v4.new_code_cell("x = 1")])
    before = path.read_text()
    twin = nbtool.twin_path(path)
    twin.write_text(twin.read_text().replace("x = 1", "raise RuntimeError('broken cell')"))
    with pytest.raises(Exception, match="broken cell"):
        nbtool.execute(path, timeout=60)
    assert path.read_text() == before


def test_check_names_a_twin_out_of_sync(tmp_path):
    path = _tiny_notebook(tmp_path, [nbformat.v4.new_markdown_cell("Some prose.")])
    twin = nbtool.twin_path(path)
    twin.write_text(twin.read_text().replace("Some prose.", "Edited prose."))
    (problem,) = nbtool.problems(path)
    assert "differs from 01_tiny.ipynb" in problem and "tools/nb.py run" in problem


def test_check_rejects_timestamps(tmp_path):
    cell = nbformat.v4.new_code_cell("1")
    cell.metadata["execution"] = {"iopub.execute_input": "2026-11-21T10:00:00Z"}
    path = tmp_path / "01_tiny.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell]
    path.write_text(nbformat.writes(nb))
    assert any("volatile metadata 'execution'" in p for p in nbtool.problems(path))


def test_check_command_exits_nonzero_on_a_problem(tmp_path):
    path = _tiny_notebook(tmp_path, [nbformat.v4.new_markdown_cell("Prose.")])
    nbtool.twin_path(path).unlink()
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / "nb.py"), "check", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "no text twin" in result.stdout


def test_drift_test_fails_loudly_on_an_unreadable_cell(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%matplotlib inline\ndef taught(x):\n    return x"),
        nbformat.v4.new_code_cell("def broken(:\n    pass"),
    ]
    path = tmp_path / "99_bad.ipynb"
    path.write_text(nbformat.writes(nb))
    with pytest.raises(AssertionError, match="99_bad.ipynb, code cell 1 is not valid Python"):
        notebook_definition(path, "taught")


def test_drift_test_reads_definitions_in_cells_with_magics(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%matplotlib inline\n!echo hi\nx = !ls\ndef taught(x):\n    return x")
    ]
    path = tmp_path / "99_magic.ipynb"
    path.write_text(nbformat.writes(nb))
    assert "taught" in notebook_definition(path, "taught")
