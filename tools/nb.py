#!/usr/bin/env python3
"""Maintain the course notebooks: each .ipynb (stored executed, so it renders) has a text twin,
notebooks/text/NN_name.py in jupytext's py:percent format, which is the file a maintainer edits and
reviews (prose and code only, no outputs, no timestamps).

    python tools/nb.py run notebooks/text/05_optimizers_from_scratch.py   # or the .ipynb, or "05"
        take the twin's cells into the notebook, execute it top to bottom (each cell under --timeout
        seconds), strip volatile metadata and store notebook and twin; the stored files change only
        when the whole run succeeded, so an interrupted or failing run never replaces a good one.
    python tools/nb.py sync [NOTEBOOK ...]      rewrite twins from the stored notebooks (no execution)
    python tools/nb.py clean [NOTEBOOK ...]     strip volatile metadata from stored notebooks
    python tools/nb.py check [NOTEBOOK ...]     exit 1 if a twin is out of sync or a notebook is not clean

A notebook is named by its path, its twin's path or its two-digit number; none means every notebook.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TWIN_FORMAT = "py:percent"
# Cell metadata that changes on every run and says nothing about the course.
VOLATILE_CELL_KEYS = ("execution", "collapsed", "scrolled", "ExecuteTime")


def twin_path(notebook: Path) -> Path:
    """notebooks/NN_name.ipynb -> notebooks/text/NN_name.py"""
    return notebook.parent / "text" / (notebook.stem + ".py")


def resolve(name: str) -> Path:
    """The stored .ipynb behind a notebook path, a twin path or a two-digit number."""
    path = Path(name)
    if path.suffix == ".ipynb" and path.is_file():
        return path.resolve()
    if path.suffix == ".py" and path.is_file():
        return path.resolve().parent.parent / (path.stem + ".ipynb")
    stem = path.stem
    matches = sorted(NOTEBOOKS.glob(f"{stem}.ipynb")) or sorted(NOTEBOOKS.glob(f"{stem}_*.ipynb"))
    if len(matches) != 1:
        raise SystemExit(
            f"{name!r} names no single notebook in {NOTEBOOKS} (found {len(matches)}); "
            "give a path like notebooks/05_optimizers_from_scratch.ipynb or a number like 05"
        )
    return matches[0]


def all_notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop what changes on every run (timestamps, UI state); keep sources, outputs and tags."""
    for cell in nb.cells:
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
    nb.metadata.pop("jupytext", None)  # jupytext's own bookkeeping: the twin's header says the same
    return nb


def twin_text(nb: nbformat.NotebookNode) -> str:
    return jupytext.writes(nb, fmt=TWIN_FORMAT)


def write_atomically(path: Path, text: str) -> None:
    """Write next to `path` and rename over it, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def store(path: Path, nb: nbformat.NotebookNode) -> None:
    clean(nb)
    write_atomically(path, nbformat.writes(nb) + "\n")
    write_atomically(twin_path(path), twin_text(nb))


def take_twin(path: Path) -> nbformat.NotebookNode:
    """The stored notebook with the twin's cells (sources, markdown, tags), unchanged cells keep outputs."""
    nb = nbformat.read(path, as_version=4)
    twin = twin_path(path)
    if not twin.exists():
        return nb
    return combine_inputs_with_outputs(jupytext.read(twin, fmt=TWIN_FORMAT), nb, fmt=TWIN_FORMAT)


def execute(path: Path, timeout: int) -> None:
    from nbclient import NotebookClient

    nb = take_twin(path)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    print(f"executing {path.name} (each cell at most {timeout} s) ...", flush=True)
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    store(path, nb)
    print(f"stored {path} and {twin_path(path)}")


def problems(path: Path) -> list[str]:
    """What makes a stored notebook or its twin unfit to commit (empty when all is well)."""
    nb = nbformat.read(path, as_version=4)
    found = [
        f"{path.name}: cell {i} stores volatile metadata {key!r} (run: python tools/nb.py clean)"
        for i, cell in enumerate(nb.cells)
        for key in VOLATILE_CELL_KEYS
        if key in cell.metadata
    ]
    twin = twin_path(path)
    if not twin.exists():
        found.append(f"{path.name}: no text twin {twin} (run: python tools/nb.py sync {path.name})")
    elif twin.read_text(encoding="utf-8") != twin_text(nb):
        found.append(
            f"{twin} differs from {path.name}: after editing the twin run "
            f"`python tools/nb.py run {twin}`; after editing the notebook run "
            f"`python tools/nb.py sync {path.name}`"
        )
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["run", "sync", "clean", "check"])
    parser.add_argument("notebooks", nargs="*", help="paths or two-digit numbers (default: all)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds one cell may run (default 600)")
    args = parser.parse_args(argv)
    paths = [resolve(n) for n in args.notebooks] or all_notebooks()
    if args.command == "run":
        for path in paths:
            execute(path, args.timeout)
    elif args.command in ("sync", "clean"):
        for path in paths:
            store(path, nbformat.read(path, as_version=4))
    else:
        found = [p for path in paths for p in problems(path)]
        print("\n".join(found) or f"{len(paths)} notebook(s) clean and in sync with their twins")
        return 1 if found else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
