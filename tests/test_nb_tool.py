"""The maintainers' notebook tools on a tiny notebook in a temporary folder: tools/nb.py stores
deterministic notebooks, records which source each code cell's outputs came from, takes prose without
executing, never discards an edit on either side without --force, and never stores a failed run;
tools/publish.py setup-cell replaces only a set-up cell. Only three tests start a kernel."""

import base64
import json
import struct
import sys
import zlib

import nbformat
import pytest

from utils import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tools"))
import nb as nbtool  # noqa: E402  (tools/ is not a package)
import nbfiles  # noqa: E402
import publish  # noqa: E402

SETUP = (REPO_ROOT / "tools" / "setup_cell.py").read_text().strip()


def executed(source, outputs=()):
    """A code cell as a run stored it: outputs, count and the hash of the source they came from."""
    cell = nbformat.v4.new_code_cell(source, execution_count=1, outputs=list(outputs))
    cell.metadata[nbfiles.SOURCE_HASH] = nbfiles.digest(source)
    return cell


def tiny(folder, cells=None):
    """notebooks/01_tiny.ipynb (prose, one executed code cell) and its twin, stored by the tool."""
    nb = nbformat.v4.new_notebook()
    nb.cells = cells or [
        nbformat.v4.new_markdown_cell("# Tiny\n\nSome prose."),
        executed("x = 1 + 1\nx", [nbformat.v4.new_output("execute_result", {"text/plain": "2"})]),
    ]
    path = folder / "01_tiny.ipynb"
    nbfiles.store(path, nb)
    return path


def edit_notebook(path, old, new):
    """Edit the .ipynb as Jupyter would: the source changes, the sync record stays."""
    path.write_text(path.read_text().replace(old, new))


def edit_twin(path, old, new):
    twin = nbfiles.twin_path(path)
    twin.write_text(twin.read_text().replace(old, new))


def snapshot(path):
    return path.read_bytes(), nbfiles.twin_path(path).read_bytes()


# ---- deterministic storage (no kernel) ----------------------------------------------------------


def png_with_time() -> str:
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0\0")
    stamped = [chunk(b"IHDR", ihdr), chunk(b"tIME", b"\x07\xea\x0c\x06\x05\x00\x00")]
    stamped += [chunk(b"tEXt", b"Creation Time\0today"), chunk(b"IDAT", idat), chunk(b"IEND", b"")]
    return base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"".join(stamped)).decode() + "\n"


def test_normalize_keeps_only_what_the_course_produced():
    out = nbformat.v4.new_output
    cell = executed(
        "show()",
        [
            out("stream", name="stdout", text="\x1b[31mred\x1b[0m\n"),
            out("stream", name="stdout", text="more\n"),
            out("display_data", {"application/vnd.jupyter.widget-view+json": {"model_id": "ab12"}}),
            out("display_data", {"image/png": png_with_time(), "application/pdf": "JV", "text/plain": "F"}),
            out("error", ename="E", evalue="v", traceback=["\x1b[0;31mE\x1b[0m: v"]),
        ],
    )
    nb = nbformat.v4.new_notebook(metadata={"widgets": {"state": {}}})
    nb.cells = [cell]
    nbfiles.normalize(nb)
    stream, figure, error = cell.outputs
    assert stream.text == "red\nmore\n" and error.traceback == ["E: v"]
    assert set(figure.data) == {"image/png", "text/plain"}
    png = base64.b64decode(figure.data["image/png"])
    assert b"tIME" not in png and b"Creation Time" not in png and png.endswith(b"IEND\xaeB`\x82")
    assert "widgets" not in nb.metadata and nb.metadata.kernelspec == nbfiles.KERNELSPEC


def test_twin_holds_neither_hashes_nor_the_sync_record(tmp_path):
    path = tiny(tmp_path)
    twin = nbfiles.twin_path(path).read_text()
    assert "x = 1 + 1" in twin and nbfiles.SOURCE_HASH not in twin and nbfiles.SYNC_KEY not in twin
    assert nbtool.problems(path) == []


def test_stale_code_cell_is_named(tmp_path):
    path = tiny(tmp_path)
    edit_notebook(path, "x = 1 + 1", "x = 1 + 2")
    nbtool.sync(path)  # the twin follows; the stored output still says 2
    nb = nbformat.read(path, as_version=4)
    assert nbfiles.stale_cells(nb) == [1]
    assert any("code cell 1 ('x = 1 + 2') was edited after it ran" in p for p in nbtool.problems(path))


def test_check_exits_nonzero_on_a_stale_cell_and_sync_writes_a_missing_twin(tmp_path, capsys):
    path = tiny(tmp_path)
    nbfiles.twin_path(path).unlink()
    edit_notebook(path, "x = 1 + 1", "x = 1 + 2")
    nbtool.sync(path)
    assert nbfiles.twin_path(path).exists()
    assert nbtool.main(["check", str(path)]) == 1
    assert "code cell 1" in capsys.readouterr().out


def test_check_names_a_notebook_not_in_stored_form_and_a_twin_out_of_sync(tmp_path):
    path = tiny(tmp_path)
    doc = json.loads(path.read_text())
    doc["cells"][1]["metadata"]["execution"] = {"iopub.execute_input": "2026-11-21T10:00:00Z"}
    path.write_text(json.dumps(doc))
    edit_twin(path, "Some prose.", "Other prose.")
    stored_form, twin = nbtool.problems(path)
    assert "01_tiny.ipynb is not in its stored form" in stored_form and "nb.py clean" in stored_form
    assert "differs from 01_tiny.ipynb" in twin and "nb.py run" in twin and "nb.py sync" in twin


# ---- refusals: both files untouched --------------------------------------------------------------


def test_run_refuses_after_a_notebook_edit(tmp_path, capsys):
    path = tiny(tmp_path)
    edit_notebook(path, "x = 1 + 1", "x = 40 + 2")
    before = snapshot(path)
    assert nbtool.main(["run", str(path)]) == 1
    message = capsys.readouterr().err
    assert "refused: `run` would overwrite 01_tiny.ipynb" in message
    assert f"python tools/nb.py sync {path}" in message and f"run {path} --force" in message
    assert "-x = 1 + 1" in message and "+x = 40 + 2" in message  # the diff: what run would discard
    assert snapshot(path) == before


def test_prose_refuses_after_a_notebook_edit(tmp_path):
    path = tiny(tmp_path)
    edit_notebook(path, "Some prose.", "Prose edited in Jupyter.")
    before = snapshot(path)
    with pytest.raises(nbfiles.Refused, match="`prose` would overwrite 01_tiny.ipynb"):
        nbtool.prose(path)
    assert snapshot(path) == before


@pytest.mark.parametrize("command", ["sync", "clean"])
def test_sync_and_clean_refuse_after_a_twin_edit(tmp_path, capsys, command):
    path = tiny(tmp_path)
    edit_twin(path, "Some prose.", "Prose edited in the twin.")
    before = snapshot(path)
    assert nbtool.main([command, str(path)]) == 1
    message = capsys.readouterr().err
    assert f"refused: `{command}` would overwrite 01_tiny.py" in message
    assert f"python tools/nb.py run {path}" in message and f"prose {path}" in message
    assert "-# Prose edited in the twin." in message
    assert snapshot(path) == before


def test_both_sides_edited_says_so(tmp_path):
    path = tiny(tmp_path)
    edit_twin(path, "Some prose.", "Twin prose.")
    edit_notebook(path, "x = 1 + 1", "x = 1 + 3")
    with pytest.raises(nbfiles.Refused, match="Both were edited since the last sync"):
        nbtool.sync(path)


def test_force_overrides(tmp_path):
    path = tiny(tmp_path)
    edit_twin(path, "Some prose.", "Twin prose.")
    assert nbtool.main(["sync", str(path), "--force"]) == 0
    assert "Some prose." in nbfiles.twin_path(path).read_text()


def test_notebook_without_a_sync_record_is_not_refused(tmp_path):
    """Notebooks stored before nb.py kept a record: nothing tells which side changed."""
    path = tiny(tmp_path)
    doc = json.loads(path.read_text())
    del doc["metadata"][nbfiles.SYNC_KEY]
    path.write_text(json.dumps(doc))
    edit_twin(path, "Some prose.", "Twin prose.")
    assert nbfiles.edited(path) == (False, False, "")


# ---- prose without execution ---------------------------------------------------------------------


def test_prose_takes_markdown_and_keeps_outputs(tmp_path):
    path = tiny(tmp_path)
    unchanged = path.read_bytes()
    nbtool.prose(path)
    assert path.read_bytes() == unchanged, "prose on an unchanged twin rewrote the notebook"
    edit_twin(path, "Some prose.", "Better prose.")
    nbtool.prose(path)
    nb = nbformat.read(path, as_version=4)
    assert "Better prose." in nb.cells[0].source
    assert nb.cells[1].outputs[0].data["text/plain"] == "2" and nbfiles.stale_cells(nb) == []
    assert nbtool.problems(path) == []


def test_prose_refuses_a_code_change_naming_the_cell(tmp_path):
    path = tiny(tmp_path)
    edit_twin(path, "Some prose.", "Better prose.")
    edit_twin(path, "x = 1 + 1", "x = 2 + 2")
    before = snapshot(path)
    with pytest.raises(nbfiles.Refused, match=r"changes code \(cell 1 \('x = 2 \+ 2'\)\).*nb.py run"):
        nbtool.prose(path)
    assert snapshot(path) == before


# ---- execution (a kernel each) -------------------------------------------------------------------

NOISY = """import sys, time
import ipywidgets
import matplotlib.pyplot as plt
print("one"); sys.stdout.flush(); time.sleep(0.2); print("two")
plt.plot([0, 1], [1, 0]); plt.show()
ipywidgets.IntSlider(3)"""


def test_run_stores_the_twin_deterministically(tmp_path, capsys):
    path = tiny(tmp_path)
    edit_twin(path, "x = 1 + 1\nx", NOISY)
    nbtool.execute(path, timeout=120)
    first = snapshot(path)
    nbtool.execute(path, timeout=120)
    assert snapshot(path) == first, "two runs of an unchanged notebook differ"
    assert "[ 1/1] cell  1  import sys" in capsys.readouterr().out  # per-cell progress
    doc = json.loads(path.read_text())
    code = doc["cells"][1]
    kinds = [(o["output_type"], o.get("name")) for o in code["outputs"]]
    assert kinds == [("stream", "stdout"), ("display_data", None)], kinds
    assert "".join(code["outputs"][0]["text"]) == "one\ntwo\n"
    assert "widgets" not in doc["metadata"] and "widget" not in json.dumps(code["outputs"])
    assert code["metadata"] == {nbfiles.SOURCE_HASH: nbfiles.digest(NOISY)}
    assert nbtool.problems(path) == []


def test_a_failing_run_stores_nothing_and_names_the_cell(tmp_path):
    path = tiny(tmp_path)
    edit_twin(path, "x = 1 + 1\nx", "raise RuntimeError('broken cell')")
    before = snapshot(path)
    with pytest.raises(nbtool.RunFailed, match="01_tiny.ipynb: cell 1 failed") as failure:
        nbtool.execute(path, timeout=60)
    assert "broken cell" in str(failure.value) and "\x1b[" not in str(failure.value)
    assert snapshot(path) == before


def test_timeout_names_the_cell(tmp_path):
    path = tiny(tmp_path)
    edit_twin(path, "x = 1 + 1\nx", "import time\ntime.sleep(60)")
    with pytest.raises(nbtool.RunFailed, match=r"cell 1 \('import time'\) ran over 2 s"):
        nbtool.execute(path, timeout=2)


# ---- publish.py setup-cell -----------------------------------------------------------------------


@pytest.fixture
def release(tmp_path, monkeypatch):
    """A copy of pyproject.toml and tools/setup_cell.py for setup-cell to write into."""
    (tmp_path / "tools").mkdir()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "2.3.4"\n')
    (tmp_path / "tools" / "setup_cell.py").write_text(SETUP + "\n")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.setattr(publish, "ROOT", tmp_path)
    return tmp_path


def test_setup_cell_stamps_a_recognised_set_up_cell(release):
    path = tiny(release / "notebooks", [nbformat.v4.new_markdown_cell("# T"), executed(SETUP)])
    assert publish.stamp_setup_cell([path]) == "v2.3.4"
    nb = nbformat.read(path, as_version=4)
    assert 'COURSE_VERSION = "v2.3.4"' in nb.cells[1].source and nbfiles.stale_cells(nb) == []
    assert 'COURSE_VERSION = "v2.3.4"' in (release / "tools" / "setup_cell.py").read_text()


def test_setup_cell_refuses_another_first_cell(release):
    path = tiny(release / "notebooks")
    before = snapshot(path)
    with pytest.raises(SystemExit, match="01_tiny.ipynb: its first code cell is not the set-up cell"):
        publish.stamp_setup_cell([path])
    assert snapshot(path) == before
    assert (release / "tools" / "setup_cell.py").read_text() == SETUP + "\n"


def test_setup_cell_refuses_a_twin_with_edits(release):
    path = tiny(release / "notebooks", [nbformat.v4.new_markdown_cell("# T"), executed(SETUP)])
    edit_twin(path, "# T", "# Title edited in the twin")
    before = snapshot(path)
    with pytest.raises(SystemExit, match="`publish.py setup-cell` would overwrite 01_tiny.py"):
        publish.stamp_setup_cell([path])
    assert snapshot(path) == before


def test_setup_cell_without_a_static_version_says_so(release):
    (release / "pyproject.toml").write_text('[project]\nname = "x"\ndynamic = ["version"]\n')
    with pytest.raises(SystemExit, match='has no static version \\(a line version = "1.2.3"'):
        publish.stamp_setup_cell([])
