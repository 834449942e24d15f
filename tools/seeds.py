#!/usr/bin/env python3
"""Run notebooks under many seeds: every assert in the course must hold on any COURSE_SEED.

    python tools/seeds.py 08 11 --seeds 1-20      notebooks 08 and 11, seeds 1..20
    python tools/seeds.py --seeds 1-5,42          every notebook, seeds 1..5 and 42
        --jobs N       executions at once (default: the CPUs this process may use)
        --timeout S    seconds one cell may run (default 600)

Each (notebook, seed) is executed in a fresh kernel with COURSE_SEED set, one CPU thread
(OMP_NUM_THREADS=1, as README's robustness run) and no progress bars, nothing is written to disk.
A failing run is reported with its notebook, seed, cell index, the cell's first line and the error
message (an assert's message carries the value it measured); the summary gives the wall time. Exit
status 1 when any run failed.
"""

import argparse
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
from nb import all_notebooks, first_line, notebook_client, resolve
from nbfiles import ANSI

RUN_ENV = {"OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}


def parse_seeds(spec: str) -> list[int]:
    """ "1-20" or "1,3,7" or "1-5,42" -> the seeds, in order, without repeats."""
    seeds = []
    for part in spec.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match or (match[2] and int(match[2]) < int(match[1])):
            raise argparse.ArgumentTypeError(f"--seeds {spec!r}: write seeds like 1-20 or 1,3,7 or 1-5,42")
        low, high = int(match[1]), int(match[2] or match[1])
        seeds += [s for s in range(low, high + 1) if s not in seeds]
    return seeds


def run_one(path: Path, seed: int, timeout: int) -> dict:
    """Execute `path` under COURSE_SEED=seed; the failure (cell, first line, error) or None."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    client = notebook_client(nb, path.parent, timeout)
    started, failure = time.perf_counter(), None
    try:
        client.execute(env={**os.environ, **RUN_ENV, "COURSE_SEED": str(seed)})
    except CellExecutionError as error:
        index = next(
            (
                i
                for i, c in enumerate(nb.cells)
                if any(o.output_type == "error" for o in c.get("outputs", []))
            ),
            None,
        )
        where = f"cell {index} ({first_line(nb.cells[index])!r})" if index is not None else "a cell"
        message = f"{error.ename}: {error.evalue}" if error.ename else str(error).strip().splitlines()[-1]
        failure = f"{where}: {ANSI.sub('', message)}"
    except (CellTimeoutError, DeadKernelError) as error:
        failure = f"{type(error).__name__}: {ANSI.sub('', str(error)).splitlines()[0]}"
    return {"notebook": path.name, "seed": seed, "seconds": time.perf_counter() - started, "failure": failure}


def run_all(paths: list[Path], seeds: list[int], jobs: int, timeout: int) -> list[dict]:
    """Every (notebook, seed) pair, `jobs` at a time; prints each result as it comes."""
    results = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(run_one, path, seed, timeout) for path in paths for seed in seeds]
        for future in as_completed(futures):
            result = future.result()
            status = f"FAILED {result['failure']}" if result["failure"] else "ok"
            print(
                f"{result['notebook']} seed {result['seed']}: {status} ({result['seconds']:.0f} s)",
                flush=True,
            )
            results.append(result)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("notebooks", nargs="*", help="paths or two-digit numbers (default: all)")
    parser.add_argument("--seeds", type=parse_seeds, required=True, help="e.g. 1-20, 1,3,7 or 1-5,42")
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)), help="executions at once")
    parser.add_argument("--timeout", type=int, default=600, help="seconds one cell may run (default 600)")
    args = parser.parse_args(argv)
    paths = [resolve(n) for n in args.notebooks] or all_notebooks()
    started = time.perf_counter()
    print(f"{len(paths)} notebook(s) x {len(args.seeds)} seed(s), {args.jobs} at a time", flush=True)
    results = run_all(paths, args.seeds, max(args.jobs, 1), args.timeout)
    failed = sorted((r for r in results if r["failure"]), key=lambda r: (r["notebook"], r["seed"]))
    wall = time.perf_counter() - started
    print(f"\n{len(results) - len(failed)} of {len(results)} runs passed; wall time {wall:.0f} s")
    for r in failed:
        print(f"  {r['notebook']} seed {r['seed']}: {r['failure']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
