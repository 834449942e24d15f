"""The stored form of a course notebook and its text twin (used by tools/nb.py and tools/publish.py).

Deterministic: `normalize` leaves only what the course's code and prose produce, so running an
unchanged notebook twice stores the same bytes and a one-number change gives a diff of a few lines:
  * streams are coalesced (one stdout and one stderr block per run of prints), ANSI colour codes are
    stripped from streams, tracebacks and text;
  * ipywidgets are not stored: their views and state carry random model ids and floats that the
    browser rewrites ("10.0" -> "10"); a slider's figure is stored as an ordinary PNG output instead;
  * figures are PNG without time stamps (tIME chunk and date text chunks dropped; no PDF, which
    embeds a CreationDate);
  * the kernelspec is the one ipykernel installs ("Python 3 (ipykernel)"), the name JupyterLab writes
    back when it opens the notebook, so opening it does not mark it modified. language_info is what
    the kernel that ran the notebook reported (JupyterLab writes the same from the same Python);
  * volatile cell metadata (execution timestamps, collapsed/scrolled UI state) is dropped.

Never stale, never out of step without notice:
  * SOURCE_HASH (cell metadata): the hash of the source a code cell had when it was executed; a code
    cell whose source no longer matches it shows outputs of other code (`stale_cells`).
  * SYNC_KEY (notebook metadata): the hash of the twin's text at the last store. A twin whose text
    differs from it was edited since; a notebook whose twin text (as `twin_text` makes it) differs
    from it was edited since (`edited`). Neither key is written into the twin.
"""

import base64
import copy
import difflib
import hashlib
import os
import re
import struct
import tempfile
from pathlib import Path

import jupytext
import nbformat
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TWIN_FORMAT = "py:percent"
VOLATILE_CELL_KEYS = ("execution", "collapsed", "scrolled", "ExecuteTime")
SOURCE_HASH = "source_hash"
SYNC_KEY = "course_sync"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
PNG_TIME_TEXT = (b"Creation Time", b"date:create", b"date:modify", b"date:timestamp")


class Refused(Exception):
    """A command that would discard work or store stale outputs; nothing was written."""


def digest(text: str) -> str:
    """A short content hash (16 hex digits of SHA-256): enough to tell edits apart, short in a diff."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def twin_path(notebook: Path) -> Path:
    """notebooks/NN_name.ipynb -> notebooks/text/NN_name.py"""
    return notebook.parent / "text" / (notebook.stem + ".py")


# ---- deterministic content -----------------------------------------------------------------------


def png_without_time(b64: str) -> str:
    """The PNG with its tIME chunk and date text chunks removed (unchanged when it has none)."""
    data = base64.b64decode(b64)
    pos, kept, dropped = 8, [data[:8]], False
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, end = data[pos + 4 : pos + 8], pos + 12 + length
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"tIME" or (kind in (b"tEXt", b"iTXt", b"zTXt") and body.split(b"\0")[0] in PNG_TIME_TEXT):
            dropped = True
        else:
            kept.append(data[pos:end])
        pos = end
    if not dropped:
        return b64
    return base64.b64encode(b"".join(kept)).decode("ascii") + ("\n" if b64.endswith("\n") else "")


def _clean_output(out) -> None:
    if "text" in out:
        out.text = ANSI.sub("", out.text)
    if "traceback" in out:
        out.traceback = [ANSI.sub("", line) for line in out.traceback]
    data = out.get("data", {})
    data.pop("application/pdf", None)
    if "text/plain" in data:
        data["text/plain"] = ANSI.sub("", data["text/plain"])
    if "image/png" in data:
        data["image/png"] = png_without_time(data["image/png"])


def normalize(nb):
    """Drop what changes from run to run and says nothing about the course (see the module doc)."""
    for cell in nb.cells:
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
        if cell.cell_type != "code":
            continue
        cell.outputs = [o for o in cell.outputs if WIDGET_VIEW not in o.get("data", {})]
        CoalesceStreamsPreprocessor().preprocess_cell(cell, {}, 0)
        for out in cell.outputs:
            _clean_output(out)
    for key in ("jupytext", "widgets"):
        nb.metadata.pop(key, None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    return nb


# ---- twin and sync record ------------------------------------------------------------------------


def twin_text(nb) -> str:
    """The twin's text for `nb`: prose and code of every cell, no outputs, no hashes, no sync record."""
    nb = normalize(copy.deepcopy(nb))
    nb.metadata.pop(SYNC_KEY, None)
    for cell in nb.cells:
        cell.metadata.pop(SOURCE_HASH, None)
    return jupytext.writes(nb, fmt=TWIN_FORMAT)


def record_source_hashes(nb) -> None:
    """Mark each code cell's outputs as coming from its current source (call right after executing)."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.metadata[SOURCE_HASH] = digest(cell.source)


def stale_cells(nb) -> list[int]:
    """Indices of code cells whose source is not the one their stored outputs came from."""
    return [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and cell.metadata.get(SOURCE_HASH) != digest(cell.source)
    ]


def edited(path: Path) -> tuple[bool, bool, str]:
    """(notebook edited since the last sync, twin edited since, unified diff twin -> notebook).

    Both are False when the two agree, when the twin is missing (nothing to lose), or when the notebook
    has no sync record yet (stored before nb.py kept one: nothing tells which side changed)."""
    nb = nbformat.read(path, as_version=4)
    twin = twin_path(path)
    record = nb.metadata.get(SYNC_KEY, {}).get("twin")
    if not twin.exists() or record is None:
        return False, False, ""
    ours, theirs = twin.read_text(encoding="utf-8"), twin_text(nb)
    if ours == theirs:
        return False, False, ""
    diff = difflib.unified_diff(
        ours.splitlines(keepends=True),
        theirs.splitlines(keepends=True),
        fromfile=f"{twin.name} (twin)",
        tofile=f"{path.name} (notebook)",
        n=1,
    )
    return digest(theirs) != record, digest(ours) != record, "".join(list(diff)[:40])


def cli_name(path: Path) -> str:
    """How to name the notebook on nb.py's command line: its number when it is a course notebook."""
    return path.name[:2] if path.parent.resolve() == NOTEBOOKS.resolve() else str(path)


def refuse_to_overwrite(path: Path, side: str, command: str, forceable: bool = True) -> None:
    """Raise Refused when `side` ("notebook" or "twin") has edits since the last sync that `command`
    (an nb.py command, or another tool's, not forceable) would discard by writing it from the other
    side; the message names the command that keeps them and, if forceable, the one that discards them."""
    notebook_edited, twin_edited, diff = edited(path)
    if not (notebook_edited if side == "notebook" else twin_edited):
        return
    tool, name = "python tools/nb.py", cli_name(path)
    if notebook_edited and twin_edited:
        advice = "Both were edited since the last sync: merge the edits into one of them by hand"
    elif side == "notebook":
        advice = f"To keep the notebook's edits run `{tool} sync {name}` (the twin then holds them)"
    else:
        advice = (
            f"To take the twin's edits into the notebook run `{tool} run {name}` (or `{tool} prose "
            f"{name}` when only markdown changed)"
        )
    if forceable:
        advice += f"; to discard them run `{tool} {command} {name} --force`"
    target = path.name if side == "notebook" else twin_path(path).name
    raise Refused(
        f"refused: `{command}` would overwrite {target}, which was edited since the last sync. "
        f"{advice}. Nothing was written. Twin -> notebook:\n{diff}"
    )


# ---- writing -------------------------------------------------------------------------------------


def write_atomically(path: Path, text: str) -> None:
    """Write next to `path` and rename over it, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def store(path: Path, nb) -> None:
    """Write the normalized notebook and its twin, recording the twin's text as the last sync."""
    normalize(nb)
    text = twin_text(nb)
    nb.metadata[SYNC_KEY] = {"twin": digest(text)}
    write_atomically(path, nbformat.writes(nb) + "\n")
    write_atomically(twin_path(path), text)
