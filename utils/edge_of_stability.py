"""The edge of stability (notebook 12): full-batch gradient descent drives the sharpness up to 2/eta.

    python tools/regenerate.py eos12      # writes saved_models/studies/edge_of_stability.json

On a quadratic, gradient descent with step eta diverges along any direction whose curvature exceeds
2/eta (notebook 11). A network's curvature is not fixed: Cohen et al. (2021) found that full-batch GD
makes the top Hessian eigenvalue (the sharpness) grow until it reaches 2/eta, and that it then hovers
there while the loss keeps falling, not monotonically. This module reproduces that on a small problem
(the first 1,000 Fashion-MNIST training images, a tanh MLP, the square loss as in the paper) and
measures the sharpness with notebook 12's Hessian-vector power iteration (utils.sharpness).
"""

import json
import time
from pathlib import Path

import torch
from torch import nn

from utils import course_seed
from utils.sharpness import top_hessian_eigenvalue

STUDY_NAME = "studies/edge_of_stability.json"  # under saved_models/ (utils.registry) or make_study's folder
RECIPE = {
    "images": 1000,  # the first images of the course's training split
    "hidden_sizes": [200, 200],
    "activation": "tanh",
    "loss": "0.5 * squared error summed over the 10 one-hot outputs, averaged over the images",
    "etas": [0.02, 0.04],
    "steps": 2500,
    "sharpness_every": 20,
    "power_iterations": 100,
    "power_rtol": 1e-3,
    "seed": 0,
}


def subset(images: int, source=None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `images` training images (normalized, flattened) and their one-hot labels."""
    if source is None:
        from utils.data import fashion_mnist_tensors  # imported here: only a fresh run needs the dataset

        source = fashion_mnist_tensors("cpu")[0]
    x, y = source
    if images > len(x):
        raise ValueError(f"images={images} but the training split has only {len(x)}: ask for fewer")
    return x[:images].flatten(1), nn.functional.one_hot(y[:images], 10).float()


def make_net(seed: int, hidden_sizes=(200, 200), in_features: int = 784) -> nn.Sequential:
    """A tanh MLP with PyTorch's default init, its weights drawn from course_seed(seed)."""
    torch.manual_seed(course_seed(seed))
    sizes = [in_features, *hidden_sizes]
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(fan_in, fan_out), nn.Tanh()]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], 10))


def square_loss(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """0.5 |f(x) - y|^2 per image, averaged over the images: the square loss of Cohen et al."""
    return 0.5 * ((net(x) - y) ** 2).sum(dim=1).mean()


def sharpness(net: nn.Module, x, y, seed: int, recipe: dict = RECIPE) -> float:
    """The top Hessian eigenvalue of the full-batch loss, by power iteration (utils.sharpness)."""
    params = list(net.parameters())
    eig, _ = top_hessian_eigenvalue(
        square_loss(net, x, y),
        params,
        torch.Generator().manual_seed(seed),
        iters=recipe["power_iterations"],
        rtol=recipe["power_rtol"],
    )
    return eig


def run_gd(net: nn.Module, x, y, eta: float, steps: int, recipe: dict = RECIPE) -> dict:
    """Full-batch GD with step eta for `steps` steps: the loss at every step, the sharpness every
    recipe["sharpness_every"] steps (measured before the step of that index)."""
    loss_history, sharp_steps, sharp = [], [], []
    for step in range(steps):
        if step % recipe["sharpness_every"] == 0:
            sharp_steps.append(step)
            sharp.append(sharpness(net, x, y, seed=step, recipe=recipe))
        net.zero_grad()
        loss = square_loss(net, x, y)
        loss.backward()
        loss_history.append(loss.item())
        with torch.no_grad():
            for p in net.parameters():
                p -= eta * p.grad
    return {"eta": eta, "loss": loss_history, "sharpness_steps": sharp_steps, "sharpness": sharp}


def run_study(recipe: dict = RECIPE, source=None, log=print) -> dict:
    """Both etas of `recipe` from the same initial network; the recipe is stored with the runs."""
    x, y = subset(recipe["images"], source)
    runs = {}
    for eta in recipe["etas"]:
        start = time.perf_counter()
        net = make_net(recipe["seed"], recipe["hidden_sizes"], x.shape[1])
        runs[str(eta)] = run = run_gd(net, x, y, eta, recipe["steps"], recipe)
        run["seconds"] = time.perf_counter() - start
        log(
            f"eta {eta}: sharpness {run['sharpness'][0]:.1f} -> max {max(run['sharpness']):.1f} (2/eta = "
            f"{2 / eta:.1f}), loss {run['loss'][0]:.4f} -> {run['loss'][-1]:.4f}, {run['seconds']:.0f} s"
        )
    recipe_used = {
        **recipe,
        "course_seed_used": course_seed(recipe["seed"]),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    return {"recipe": recipe_used, "runs": runs}


def make_study(folder: Path, recipe: dict = RECIPE, source=None) -> list[Path]:
    """Compute the whole study (one thread: the same numbers on any machine, and one core of a shared
    one; about 10 CPU minutes on a loaded machine) and write it to folder/STUDY_NAME. `source` (images,
    labels) replaces the training split, for tests."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        study = run_study(recipe, source, log=lambda line: print(line, flush=True))
    finally:
        torch.set_num_threads(threads)
    path = Path(folder) / STUDY_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(study, indent=1))
    partial.replace(path)  # written whole or not at all
    return [path]


def load_study(path: Path | None = None) -> dict:
    """The study at `path`, by default the published one (utils.registry: verified, downloaded if need be)."""
    from utils.registry import published_file

    path = Path(path) if path is not None else published_file(STUDY_NAME)
    if not path.is_file():
        raise FileNotFoundError(
            f"No stored study at {path}: the maintainers make it with `python tools/regenerate.py eos12`."
        )
    return json.loads(path.read_text())
