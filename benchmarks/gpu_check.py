"""One prepared check of the course on the fastest device present (a GPU when there is one).

A GPU is lent to the project rarely and briefly, so everything it should measure is in this one
command, written and tested on the CPU beforehand (`--quick` runs in the test suite, so it never rots):

1. loops:     the course's training loop against the classic DataLoader loop
              (benchmarks/benchmark_training.py's two loops, side by side, ratio printed);
2. retrain:   notebook 06's three networks rebuilt from the recipes of the committed results
              (saved_models/FashionMNIST_*_results.json: optimizer and settings, seed, network, epochs),
              trained on the device with utils.training.fit, compared with the committed CPU results;
              nothing is written next to the published files (fit keeps the best state in memory);
3. notebooks: notebooks 06, 09, 10, 12 and 13 through nbval on that device (10 runs a Lightning Trainer
              with accelerator="auto": on a GPU machine, the GPU).

It writes gpu_check.json and gpu_check.md (a short table) into --out. Usage:

    python benchmarks/gpu_check.py                  # the full check, about 5 minutes on one H100
    python benchmarks/gpu_check.py --quick          # seconds on a CPU: a few batches, 1 epoch on a subset
"""

import argparse
import importlib
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.benchmark_training import compare_loops  # noqa: E402
from utils import get_device, set_seed  # noqa: E402
from utils.data import fashion_mnist_tensors  # noqa: E402
from utils.init import kaiming_init  # noqa: E402
from utils.models import BaseNetwork  # noqa: E402
from utils.recipes import INIT_TOLERANCE, init_recipe  # noqa: E402
from utils.training import fit  # noqa: E402

MODELS = ("SGD", "SGDMomentum", "Adam")
NOTEBOOKS = ("06", "09", "10", "12", "13")
QUICK_IMAGES = 2048  # --quick: one epoch on this many training images, scored on as many of val and test


def committed_results(name: str) -> dict:
    path = REPO_ROOT / "saved_models" / f"FashionMNIST_{name}_results.json"
    return json.loads(path.read_text())


def build_optimizer(spec: dict, params):
    """The optimizer a committed recipe names ("class": dotted path, then its settings)."""
    module, _, cls = spec["class"].rpartition(".")
    settings = {k: v for k, v in spec.items() if k != "class"}
    return getattr(importlib.import_module(module), cls)(params, **settings)


def rebuild(recipe: dict) -> BaseNetwork:
    """Notebook 06's starting network: seed, then Kaiming init; checked against the recorded init."""
    set_seed(recipe["seed"])
    net = BaseNetwork(**recipe["network"])
    kaiming_init(net)
    made, recorded = init_recipe(net)["weight_std"], recipe["init"]["weight_std"]
    if any(abs(a / b - 1) > INIT_TOLERANCE for a, b in zip(made, recorded, strict=True)):
        raise RuntimeError(f"the rebuilt init {made} is not the recorded one {recorded}: the recipe changed")
    return net


def retrain(device: torch.device, quick: bool) -> dict:
    """Each of 06's networks trained again on `device` (1 epoch on a subset with --quick)."""
    data = fashion_mnist_tensors(device)
    if quick:
        data = tuple((x[:QUICK_IMAGES], y[:QUICK_IMAGES]) for x, y in data)
    out = {}
    for name in MODELS:
        stored = committed_results(name)
        recipe = stored["recipe"]
        net = rebuild(recipe).to(device)
        epochs = 1 if quick else recipe["epochs"]
        run = fit(
            net,
            build_optimizer(recipe["optimizer"], net.parameters()),
            data,
            epochs,
            recipe["batch_size"],
            recipe["seed"],
            desc=name,
        )
        out[name] = {
            "epochs": epochs,
            "seconds_per_epoch": run["seconds_per_epoch"],
            "test_acc": run["test_acc"],
            "committed_test_acc": stored["test_acc"],
            "committed_seconds_per_epoch": stored["seconds_per_epoch"],
            "committed_environment": recipe["environment"],
        }
    return out


def run_notebooks(numbers, timeout: int) -> dict:
    """Each notebook through nbval (README's test command on one file, no workers); pass/fail, wall time."""
    out = {}
    for number in numbers:
        (path,) = (REPO_ROOT / "notebooks").glob(f"{number}_*.ipynb")
        start = time.perf_counter()
        try:
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-n", "0", str(path)],  # one process: its time
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            status, tail = ("passed" if done.returncode == 0 else "failed"), done.stdout[-1500:]
        except subprocess.TimeoutExpired:
            status, tail = "timed out", f"stopped after {timeout} s"
        out[path.name] = {"status": status, "seconds": time.perf_counter() - start, "tail": tail}
    return out


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{device.type} ({torch.get_num_threads()} threads)"


def table(report: dict) -> str:
    """The short human-readable summary (also gpu_check.md)."""
    lines = [f"device: {report['device']}  (torch {report['torch']}, quick={report['quick']})", ""]
    loops = report.get("loops")
    if isinstance(loops, dict) and "error" not in loops:
        lines.append(
            f"loops: course {loops['course_s_per_epoch']:.2f} s/epoch, classic "
            f"{loops['classic_s_per_epoch']:.2f} s/epoch, speed-up {loops['speed_up']:.1f}x"
        )
    retrained = report.get("retrain")
    if isinstance(retrained, dict) and "error" not in retrained:
        lines += [
            "",
            "| network | epochs | s/epoch | test acc. | committed (CPU) acc. | committed s/epoch |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {name} | {r['epochs']} | {r['seconds_per_epoch']:.2f} | {r['test_acc']:.2%} | "
            f"{r['committed_test_acc']:.2%} | {r['committed_seconds_per_epoch']:.1f} |"
            for name, r in retrained.items()
        ]
        total = sum(r["seconds_per_epoch"] * r["epochs"] for r in retrained.values())
        lines.append(f"\nall three networks: {total:.0f} s of training")
    notebooks = report.get("notebooks")
    if isinstance(notebooks, dict) and "error" not in notebooks:
        lines += [
            "",
            *(
                f"{name}: {r['status']} in {r['seconds']:.0f} s" if isinstance(r, dict) else f"{name}: {r}"
                for name, r in notebooks.items()
            ),
        ]
    lines += [
        f"{part}: FAILED: {report[part]['error']}"
        for part in ("loops", "retrain", "notebooks")
        if isinstance(report.get(part), dict) and "error" in report[part]
    ]
    return "\n".join(lines) + "\n"


def attempt(work):
    """One part's result, or its error: a failure in one part must not lose the others' figures."""
    try:
        return work()
    except Exception as error:  # reported in the JSON and the table, and the exit code
        return {"error": f"{type(error).__name__}: {error}"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a few batches, 1 epoch on a subset, no notebooks"
    )
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: utils.get_device())")
    parser.add_argument(
        "--out", type=Path, default=REPO_ROOT / "build" / "gpu_check", help="folder for the report"
    )
    parser.add_argument("--notebook-timeout", type=int, default=300, help="seconds per notebook")
    args = parser.parse_args(argv)
    device = torch.device(args.device) if args.device else get_device()
    report = {"device": describe(device), "torch": torch.__version__, "quick": args.quick}
    batches, repeats = (3, 1) if args.quick else (200, 3)
    report["loops"] = attempt(lambda: compare_loops(device, batches, repeats))
    report["retrain"] = attempt(lambda: retrain(device, args.quick))
    report["notebooks"] = (
        {"skipped": "--quick: the test suite runs every notebook"}
        if args.quick
        else attempt(lambda: run_notebooks(NOTEBOOKS, args.notebook_timeout))
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_check.json").write_text(json.dumps(report, indent=1, allow_nan=False) + "\n")
    summary = table(report)
    (args.out / "gpu_check.md").write_text(summary)
    print(summary, end="")
    return 1 if problems(report) else 0


def problems(report: dict) -> list[str]:
    """The parts that failed (an error, a notebook that did not pass, a non-finite accuracy)."""
    found = [part for part in ("loops", "retrain", "notebooks") if "error" in report[part]]
    if "error" not in report["retrain"]:
        found += [name for name, r in report["retrain"].items() if not math.isfinite(r["test_acc"])]
    if "error" not in report["notebooks"] and "skipped" not in report["notebooks"]:
        found += [name for name, r in report["notebooks"].items() if r["status"] != "passed"]
    return found


if __name__ == "__main__":
    sys.exit(main())
