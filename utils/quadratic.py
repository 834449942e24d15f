"""The quadratic model of notebook 11: f(w) = 1/2 w^T A w, and what the course's optimizers do on it.

On a quadratic every optimizer of the course (SGD, momentum, Nesterov) is a *linear* map of its state,
so its speed is one number: the spectral radius of that map, the factor by which the error shrinks per
step in the long run. `momentum_rate` computes it from the theory; `run_on_quadratic` and
`measured_rate` measure it by running the optimizer itself, in float64 so that round-off stays far
below what is measured.
"""

import numpy as np
import torch


def curvatures(kappa: float, n: int = 6, largest: float = 1.0) -> np.ndarray:
    """n Hessian eigenvalues from largest / kappa to largest, evenly spaced on a log scale."""
    if not kappa >= 1:
        raise ValueError(f"the condition number kappa = L / mu is at least 1, got {kappa}")
    return largest * np.geomspace(1 / kappa, 1, n)


def run_on_quadratic(make_optimizer, hessian, start, steps: int) -> np.ndarray:
    """The weights after every step of make_optimizer([w]) on f(w) = 1/2 w^T A w, w_0 = start.

    `hessian` is the matrix A, or a vector of its eigenvalues (then A is diagonal: we work in the
    eigenbasis). Returns a float64 array [steps + 1, n]; row 0 is the start.
    """
    hessian = torch.as_tensor(np.asarray(hessian), dtype=torch.float64)
    if hessian.dim() == 1:
        hessian = torch.diag(hessian)
    w = torch.nn.Parameter(torch.as_tensor(np.asarray(start), dtype=torch.float64).clone())
    optimizer = make_optimizer([w])
    path = [w.detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        (0.5 * w @ hessian @ w).backward()
        optimizer.step()
        path.append(w.detach().clone())
    return torch.stack(path).numpy()


def error_norms(path: np.ndarray, cutoff: float = 1e-200) -> np.ndarray:
    """|w_t| for every row of a run, up to (not including) the first step where it fell below cutoff |w_0|.

    Each row is divided by its largest entry before the norm is taken: np.linalg.norm squares the
    entries, and squares of numbers below ~1e-154 are subnormal (few significant digits) or zero, which
    would bend the measured rate long before the cutoff. Float64 itself underflows near 1e-308.
    """
    path = np.asarray(path, dtype=np.float64)
    scale = np.abs(path).max(axis=1)
    safe = np.where(scale > 0, scale, 1.0)
    norms = scale * np.linalg.norm(path / safe[:, None], axis=1)
    return norms[: np.argmax(norms < cutoff * norms[0]) or len(norms)]


def measured_rate(path: np.ndarray) -> float:
    """The error's shrink factor per step over the second half of a run: (|w_T| / |w_T/2|)^(2/T).

    The first half lets the fastest directions die out, so what is left is the slowest one: the rate.
    T is the number of steps kept by `error_norms`: those before the error fell below 1e-200 of its start.
    """
    norms = error_norms(path)
    half = (len(norms) - 1) // 2
    return float((norms[-1] / norms[-1 - half]) ** (1 / half))


def momentum_rate(alpha, beta, lambdas, nesterov: bool = False):
    """Spectral radius of heavy-ball (or Nesterov) momentum on a quadratic with eigenvalues `lambdas`.

    Classic variables: alpha is the step per gradient (torch's lr), beta the momentum; beta = 0 is
    gradient descent, |1 - alpha lambda|. Per eigenvalue the error pair (x_t, x_t-1) is multiplied by
    a 2x2 matrix with trace T and determinant D; its eigenvalues are the roots of z^2 - T z + D.
    alpha and beta may be arrays (they broadcast): the rate maps of the notebook are one call.
    """
    alpha, beta = np.broadcast_arrays(np.asarray(alpha, dtype=float), np.asarray(beta, dtype=float))
    a, b, lam = alpha[..., None], beta[..., None], np.asarray(lambdas, dtype=float)
    if nesterov:
        trace, det = (1 - a * lam) * (1 + b), (1 - a * lam) * b
    else:
        trace, det = 1 + b - a * lam, b + 0 * lam
    root = np.sqrt(trace**2 - 4 * det + 0j)
    radius = np.maximum(np.abs(trace + root), np.abs(trace - root)) / 2
    return radius.max(axis=-1)


ADAPTIVE_RULES = ("SGD", "Adagrad", "RMSprop", "Adam")


def distances_on_grid(rule: str, hessian, start, lrs, steps: int, beta1: float = 0.9) -> np.ndarray:
    """|w_steps| / |w_0| of `rule` on f(w) = 1/2 w^T A w, for every learning rate in `lrs` at once.

    The same updates as the course's SGD, Adagrad and Adam and torch.optim.RMSprop (default alpha and eps;
    tests/test_quadratic.py compares them), run in numpy with one row per learning rate: a grid of rates
    costs one run instead of one run per rate. A run that overflows counts as infinitely far.
    """
    if rule not in ADAPTIVE_RULES:
        raise ValueError(f"rule must be one of {ADAPTIVE_RULES}, got {rule!r}")
    hessian, start = np.asarray(hessian, dtype=np.float64), np.asarray(start, dtype=np.float64)
    lr = np.asarray(lrs, dtype=np.float64)[:, None]
    w = np.tile(start, (len(lr), 1))
    m, v = np.zeros_like(w), np.zeros_like(w)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            g = w @ hessian  # A is symmetric: row i holds A w_i
            if rule == "SGD":
                w = w - lr * g
            elif rule == "Adagrad":
                v = v + g * g
                w = w - lr * g / (np.sqrt(v) + 1e-10)
            elif rule == "RMSprop":
                v = 0.99 * v + (1 - 0.99) * g * g
                w = w - lr * g / (np.sqrt(v) + 1e-8)
            else:
                m = beta1 * m + (1 - beta1) * g
                v = 0.999 * v + (1 - 0.999) * g * g
                w = w - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        distance = np.linalg.norm(w, axis=1) / np.linalg.norm(start)
    return np.where(np.isfinite(distance), distance, np.inf)
