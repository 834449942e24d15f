"""Every notebook has a reviewable text twin in sync with it and stores no volatile metadata. The
tools that keep it so are tested on a tiny notebook in tests/test_nb_tool.py."""

import sys

import pytest
from nbsource import notebooks

from utils import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tools"))
import nb as nbtool  # noqa: E402  (tools/ is not a package)


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_twin_in_sync_and_no_timestamps(path):
    found = nbtool.sync_problems(path)
    assert not found, "\n".join(found)
