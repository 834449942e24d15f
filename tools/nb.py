#!/usr/bin/env python3
"""Maintain the course notebooks: each .ipynb (stored executed, so it renders) has a text twin,
notebooks/text/NN_name.py in jupytext's py:percent format, which is the file a maintainer edits and
reviews (prose and code only, no outputs, no timestamps).

    python tools/nb.py run 05      take the twin's cells into the notebook, execute it top to bottom in
                                   a fresh kernel (progress per cell; each cell under --timeout seconds)
                                   and store notebook and twin, only when the whole run succeeded
    python tools/nb.py prose 05    take the twin's markdown into the notebook without executing; refuses
                                   when a code cell differs (those need `run`)
    python tools/nb.py sync 05     rewrite the twin from the notebook (after editing it in Jupyter)
    python tools/nb.py clean 05    normalize the stored notebook (see tools/nbfiles.py) and its twin
    python tools/nb.py check       exit 1 if a twin is out of sync, a notebook not clean, or a code
                                   cell's stored outputs came from another source (stale)

Nothing is ever discarded silently: `run` and `prose` refuse when the notebook was edited since the
last sync, `sync` and `clean` when the twin was; each refusal prints a short diff and the command that
does what you meant, and writes nothing. --force overrides.

A notebook is named by its path, its twin's path or its two-digit number; none means every notebook.
"""

import argparse
import copy
import os
import sys
import time
from pathlib import Path
from queue import Empty

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs
from nbfiles import (
    ANSI,
    NOTEBOOKS,
    SOURCE_HASH,
    TWIN_FORMAT,
    Refused,
    cli_name,
    normalize,
    record_source_hashes,
    refuse_to_overwrite,
    stale_cells,
    store,
    twin_path,
    twin_text,
)

# The kernel's environment on top of ours: no progress bars (their timings would be stored); a fixed
# hash seed (set orders of strings, printed or iterated, are the same every run); one CPU thread, as
# in README's robustness run: torch's sums then do not depend on how many cores the machine has.
KERNEL_ENV = {"TQDM_DISABLE": "1", "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}


POLL_S = 1.0  # longest wait on the kernel's channels before looking again


def sliced(get_msg):
    """A channel's get_msg that polls in slices of POLL_S. Under load a message can arrive without
    waking a long poll: a 4 s cell of notebook 11 took exactly its 600 s timeout, then passed with
    the same outputs. The next slice finds such a message at once."""

    async def get(timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = POLL_S if deadline is None else min(POLL_S, max(deadline - time.monotonic(), 0.0))
            try:
                return await get_msg(timeout=left)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    return get


def notebook_client(nb, folder: Path, timeout: int, **hooks):
    """An nbclient NotebookClient for `nb`, run in `folder`, whose kernel channels poll in slices and
    whose run fails (instead of storing a cell without some outputs) when outputs come too late."""
    from nbclient import NotebookClient

    class Client(NotebookClient):
        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            for channel in (kc.shell_channel, kc.iopub_channel):
                channel.get_msg = sliced(channel.get_msg)
            return kc

    return Client(
        nb,
        timeout=timeout,
        kernel_name="python3",
        raise_on_iopub_timeout=True,
        resources={"metadata": {"path": str(folder)}},
        **hooks,
    )


class RunFailed(Exception):
    """A cell raised or ran out of time; the stored notebook was left as it was."""


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


def take_twin(path: Path):
    """The stored notebook with the twin's cells (sources, markdown, tags); matched cells keep outputs."""
    nb = nbformat.read(path, as_version=4)
    twin = twin_path(path)
    if not twin.exists():
        return nb
    return combine_inputs_with_outputs(jupytext.read(twin, fmt=TWIN_FORMAT), nb, fmt=TWIN_FORMAT)


def first_line(cell) -> str:
    line = next((s for s in cell.source.splitlines() if s.strip()), "")
    return line if len(line) <= 60 else line[:57] + "..."


class Progress:
    """nbclient hooks: one line per code cell with its elapsed time; remembers the running cell."""

    def __init__(self, nb):
        self.total = sum(c.cell_type == "code" and bool(c.source.strip()) for c in nb.cells)
        self.done, self.index, self.started = 0, None, 0.0

    def start(self, cell, cell_index, **_):
        self.done, self.index, self.started = self.done + 1, cell_index, time.perf_counter()
        print(f"  [{self.done:>2}/{self.total}] cell {cell_index:>2}  {first_line(cell)}", end="", flush=True)

    def executed(self, cell, cell_index, execute_reply, **_):
        status = "" if execute_reply["content"]["status"] == "ok" else "  FAILED"
        print(f"  ({time.perf_counter() - self.started:.1f} s){status}", flush=True)


def execute(path: Path, timeout: int, force: bool = False) -> None:
    """Run the twin's cells in a fresh kernel; store notebook and twin only if every cell succeeded."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    if not force:
        refuse_to_overwrite(path, "notebook", "run")
    nb = take_twin(path)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    progress = Progress(nb)
    client = notebook_client(
        nb, path.parent, timeout, on_cell_execute=progress.start, on_cell_executed=progress.executed
    )
    print(f"executing {path.name} (each cell at most {timeout} s)", flush=True)
    started = time.perf_counter()
    try:
        client.execute(env={**os.environ, **KERNEL_ENV})
    except CellTimeoutError as error:
        print("  TIMED OUT", flush=True)
        cell = nb.cells[progress.index]
        late = "its outputs came too late" if "IOPub" in str(error) else f"ran over {timeout} s"
        raise RunFailed(
            f"{path.name}: cell {progress.index} ({first_line(cell)!r}) {late}; nothing was stored "
            "(--timeout SECONDS allows a cell more time)"
        ) from None
    except CellExecutionError as error:
        message = ANSI.sub("", str(error))
        raise RunFailed(f"{path.name}: cell {progress.index} failed; nothing was stored\n{message}") from None
    record_source_hashes(nb)
    store(path, nb)
    print(f"stored {path} and {twin_path(path)} ({time.perf_counter() - started:.0f} s)")


def prose(path: Path, force: bool = False) -> None:
    """Take the twin's markdown (and cell metadata) into the notebook without executing it."""
    if not force:
        refuse_to_overwrite(path, "notebook", "prose")
    stored = nbformat.read(path, as_version=4)
    nb = take_twin(path)
    old = [c for c in stored.cells if c.cell_type == "code"]
    new = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    changed = [
        f"cell {i} ({first_line(c)!r})"
        for k, (i, c) in enumerate(new)
        if k >= len(old) or c.source != old[k].source
    ]
    if changed or len(new) != len(old):
        what = ", ".join(changed) or f"{len(old) - len(new)} code cell(s) removed"
        raise Refused(
            f"refused: the twin of {path.name} changes code ({what}); code needs executing: "
            f"run `python tools/nb.py run {cli_name(path)}`. Nothing was written."
        )
    for (_, cell), before in zip(new, old, strict=True):
        cell.outputs, cell.execution_count = before.outputs, before.execution_count
        cell.metadata.pop(SOURCE_HASH, None)
        if SOURCE_HASH in before.metadata:
            cell.metadata[SOURCE_HASH] = before.metadata[SOURCE_HASH]
    store(path, nb)


def sync(path: Path, force: bool = False, command: str = "sync") -> None:
    """Rewrite the twin from the stored notebook (and normalize the notebook)."""
    if not force:
        refuse_to_overwrite(path, "twin", command)
    store(path, nbformat.read(path, as_version=4))


def sync_problems(path: Path) -> list[str]:
    """A stored notebook that `normalize` would change, or a twin that is missing or differs from it."""
    nb = nbformat.read(path, as_version=4)
    found = []
    if nbformat.writes(normalize(copy.deepcopy(nb))) != nbformat.writes(nb):
        found.append(
            f"{path.name} is not in its stored form (it holds time stamps, widget state, split streams, "
            f"colour codes or another kernelspec): run `python tools/nb.py clean {cli_name(path)}`"
        )
    twin = twin_path(path)
    if not twin.exists():
        found.append(f"{path.name}: no text twin {twin} (run: python tools/nb.py sync {path.name})")
    elif twin.read_text(encoding="utf-8") != twin_text(nb):
        found.append(
            f"{twin.name} differs from {path.name}: after editing the twin run "
            f"`python tools/nb.py run {cli_name(path)}`; after editing the notebook run "
            f"`python tools/nb.py sync {cli_name(path)}`"
        )
    return found


def stale_problems(path: Path) -> list[str]:
    """Code cells whose stored outputs came from another source (or from no recorded source)."""
    nb = nbformat.read(path, as_version=4)
    rerun = f"run `python tools/nb.py run {cli_name(path)}`"
    if not any(SOURCE_HASH in c.metadata for c in nb.cells):
        return [f"{path.name}: no code cell records the source its outputs came from: {rerun}"]
    return [
        f"{path.name}: code cell {i} ({first_line(nb.cells[i])!r}) was edited after it ran, its outputs "
        f"may be stale: {rerun}"
        for i in stale_cells(nb)
    ]


def problems(path: Path) -> list[str]:
    """What makes a stored notebook or its twin unfit to commit (empty when all is well)."""
    return sync_problems(path) + stale_problems(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["run", "prose", "sync", "clean", "check"])
    parser.add_argument("notebooks", nargs="*", help="paths or two-digit numbers (default: all)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds one cell may run (default 600)")
    parser.add_argument("--force", action="store_true", help="overwrite edits made since the last sync")
    args = parser.parse_args(argv)
    paths = [resolve(n) for n in args.notebooks] or all_notebooks()
    try:
        for path in paths:
            if args.command == "run":
                execute(path, args.timeout, args.force)
            elif args.command == "prose":
                prose(path, args.force)
            elif args.command in ("sync", "clean"):
                sync(path, args.force, args.command)
    except (Refused, RunFailed) as error:
        print(error, file=sys.stderr)
        return 1
    if args.command == "check":
        found = [p for path in paths for p in problems(path)]
        print("\n".join(found) or f"{len(paths)} notebook(s) clean, in sync with their twins, not stale")
        return 1 if found else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
