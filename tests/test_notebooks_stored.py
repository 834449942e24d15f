"""Every notebook is stored as one clean top-to-bottom run, renders before it runs, and follows the
course conventions (title + Colab badge, the shared set-up cell)."""

import json
import re
import sys

import pytest
from nbsource import cells, notebooks

from utils import COURSE_REPO, REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tools"))
import nb as nbtool  # noqa: E402  (tools/ is not a package)

SETUP_CELL = (REPO_ROOT / "tools" / "setup_cell.py").read_text().strip()

LOCAL_PATH = re.compile(r"/(work|tmp|home|root|Users)/|[A-Z]:\\\\")
NOTEBOOKS = notebooks()


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ has no NN_name.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_as_one_clean_run(path):
    doc = json.loads(path.read_text())
    code = [c for c in doc["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), f"execution counts {counts}: re-run top to bottom"
    for cell in code:
        for out in cell["outputs"]:
            assert out["output_type"] != "error", f"stored error: {out.get('ename')}: {out.get('evalue')}"
            assert not (
                out["output_type"] == "stream"
                and out["name"] == "stderr"
                and "Warning" in "".join(out["text"])
            ), f"stored warning: {''.join(out['text'])[:300]}"
            assert not LOCAL_PATH.search(json.dumps(out)), (
                f"a stored output shows a local path: {json.dumps(out)[:300]}"
            )
    assert path.stat().st_size < 3_000_000, "notebook over 3 MB: use PNG figures"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_come_from_the_stored_sources(path):
    """Each code cell records the hash of the source it ran with (tools/nb.py run): a cell edited in
    the .ipynb and not re-executed shows outputs of other code, and is named here."""
    found = nbtool.stale_problems(path)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_title_badge_and_setup(path):
    title = cells(path, "markdown")[0]
    assert title.startswith("# "), "the first cell is the title"
    badge = f"https://colab.research.google.com/github/{COURSE_REPO}/blob/main/notebooks/{path.name}"
    assert badge in title, "the title cell has a Colab badge that opens this very notebook"
    assert cells(path)[0].strip() == SETUP_CELL, (
        "the first code cell is tools/setup_cell.py, verbatim (python tools/publish.py setup-cell writes it)"
    )
    setup = next(c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
    assert setup["outputs"] == [], "the set-up cell prints nothing where the course is installed"
