"""tools/seeds.py on a tiny notebook whose assert fails for some seeds: each failure is reported with
notebook, seed, cell and the assert's message, and the exit status says that a run failed."""

import sys

import nbformat
import pytest

from utils import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tools"))
import seeds  # noqa: E402  (tools/ is not a package)

CELLS = [
    "import os\nseed = int(os.environ['COURSE_SEED'])\nthreads = os.environ['OMP_NUM_THREADS']",
    "assert seed % 3 != 0, f'measured {seed % 3} for seed {seed}'\nassert threads == '1', threads",
]


def test_parse_seeds():
    assert seeds.parse_seeds("1-3,7,2") == [1, 2, 3, 7]
    for bad in ("3-1", "a", "1-", ""):
        with pytest.raises(Exception, match="write seeds like 1-20"):
            seeds.parse_seeds(bad)


def test_failing_seeds_are_reported_with_cell_and_message(tmp_path, capsys):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Tiny")] + [nbformat.v4.new_code_cell(c) for c in CELLS]
    path = tmp_path / "99_tiny.ipynb"
    nbformat.write(nb, path)
    assert seeds.main([str(path), "--seeds", "2-3", "--jobs", "2", "--timeout", "60"]) == 1
    out = capsys.readouterr().out
    assert "99_tiny.ipynb seed 2: ok" in out
    assert '99_tiny.ipynb seed 3: cell 2 ("assert seed % 3 != 0,' in out
    assert "AssertionError: measured 0 for seed 3" in out
    assert "1 of 2 runs passed; wall time" in out
