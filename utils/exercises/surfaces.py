"""Checkers for the exercises of notebooks 07-08: optimizers on the ravine and on the steep optima.

Each checker runs the student's optimizer (or reads the student's prediction) on the same surface and
with the same number of steps as the notebook, and says where the path went wrong.
"""

import numpy as np
import torch

from utils.exercises import check, passed
from utils.optimizers import Adam, SGDMomentum
from utils.surfaces import (
    ADAM_LR,
    NUM_STEPS,
    OPTIMA,
    RAVINE_START,
    STEEP_START,
    comb_func,
    gradient,
    pathological_curve_loss,
    train_curve,
)

# How close to one of comb_func's OPTIMA counts as "inside" it (Adam ends within 0.01 of a centre).
BASIN_RADIUS = 0.25
# Clipped momentum at lr = 1 never settles: it circles its hole up to about 0.44 from the centre (60
# starts within 1e-5 of STEEP_START). It passes when its last LATE_STEPS points stay within 3 sigma.
HOLE_RADIUS = 0.6
LATE_STEPS = 30
# Start points of the "where does Adam go?" exercise, with Adam(lr=ADAM_LR) as in notebook 08.
ADAM_STARTS = ((0.2, 0.1), (-0.6, 0.0), (0.6, 1.3))


def _make_optimizer(optimizer_func, params):
    """Call the student's optimizer_func, turning the wrong kind of answer into a one-line ExerciseError."""
    check(
        callable(optimizer_func) and not isinstance(optimizer_func, type),
        f"pass a function that builds the optimizer, e.g. lambda params: MyOptimizer(params, lr=...); "
        f"got {optimizer_func!r}",
    )
    optimizer = optimizer_func(params)
    check(
        callable(getattr(optimizer, "step", None)) and callable(getattr(optimizer, "zero_grad", None)),
        f"your function must return an optimizer (with step() and zero_grad()), it returned {optimizer!r}",
    )
    return optimizer


def _run(optimizer_func, curve_func, start, steps=NUM_STEPS):
    """The path of the student's optimizer (start + one row per step), and the optimizer itself."""
    made = []

    def make(params):
        made.append(_make_optimizer(optimizer_func, params))
        return made[-1]

    path = train_curve(make, curve_func, num_updates=steps + 1, init=start)
    check(
        np.isfinite(path).all(),
        f"the path contains nan/inf (first bad step: {np.argmin(np.isfinite(path).all(1))})",
    )
    return path, made[0]


def _basin(point):
    """The optimum whose basin holds `point`, or None when it lies on the flat plane."""
    for centre in OPTIMA:
        if np.hypot(point[0] - centre[0], point[1] - centre[1]) < BASIN_RADIUS:
            return centre
    return None


def check_first_adam_step(step, lr: float = 1.0) -> None:
    """Exercise 07: the first update w_1 - w_0 of Adam(lr) from (5, 5) on the ravine, worked out by hand."""
    step = np.asarray(step, dtype=np.float64)
    check(step.shape == (2,), f"give the update as two numbers (for w1 and w2), got shape {step.shape}")
    path, _ = _run(lambda params: Adam(params, lr=lr), pathological_curve_loss, RAVINE_START, steps=1)
    expected = path[1, :2] - path[0, :2]
    g = gradient(pathological_curve_loss, *RAVINE_START)
    if np.allclose(step, -lr * g, rtol=0.05):
        check(
            False,
            f"{step} is SGD's step -lr * g. Adam divides the averaged gradient by the root of the "
            "averaged squared gradient: what is m_hat / sqrt(v_hat) after one step?",
        )
    no_correction = -lr * 0.1 * g / np.sqrt(0.001 * g**2)
    if np.allclose(step, no_correction, rtol=0.05):
        check(
            False,
            f"{step} leaves out the bias correction: after one step m = 0.1 g and v = 0.001 g^2, "
            "but m_hat = m / (1 - 0.9) and v_hat = v / (1 - 0.999)",
        )
    check(
        np.allclose(step, expected, rtol=1e-3, atol=1e-6),
        f"expected the update {expected.round(4)}, got {step.round(4)} (gradient at (5, 5): {g})",
    )
    return passed("Adam's first step")


def _first_step_off_the_gradient(path, curve_func):
    """The first step that is not -lr_t * gradient with one lr_t >= 0 for both coordinates, or None.

    A step of plain SGD (whatever its schedule) lies on the line of the gradient at its start point and
    points downhill; momentum and Adam leave that line. Each coordinate of the float32 path carries a
    rounding error of about 2^-24 |w|: a step may leave the line by a few of those.
    """
    w = path[:, :2].astype(np.float64)
    for t in range(len(w) - 1):
        g, step = gradient(curve_func, *w[t]), w[t + 1] - w[t]
        tolerance = 16 * 2.0**-24 * (1 + np.abs(w[t : t + 2]).max())
        off_line = abs(step[0] * g[1] - step[1] * g[0]) / max(np.linalg.norm(g), 1e-300)
        if off_line > tolerance or step @ g > tolerance * np.linalg.norm(g):
            return t
    return None


def check_ravine_settles(optimizer_func) -> None:
    """Exercise 07: plain SGD with a learning-rate schedule settles in the ravine.

    Passes when every step is -lr_t * gradient (plain SGD, any schedule) and, NUM_STEPS steps from
    RAVINE_START, |w1| < 0.1 over the last 10 steps and w2 went below -3.
    """
    path, optimizer = _run(optimizer_func, pathological_curve_loss, RAVINE_START)
    off = _first_step_off_the_gradient(path, pathological_curve_loss)
    check(
        off is None,
        f"step {off} of {type(optimizer).__name__} is not along minus the gradient: momentum and Adam "
        "(yours or torch.optim's) move elsewhere. This exercise asks for plain SGD, w <- w - lr_t * g, "
        "whose learning rate lr_t changes over the steps",
    )
    check(
        path[-1, 1] < -3,
        f"w2 only got to {path[-1, 1]:.2f} (needs < -3; plain SGD with lr=10 reaches about -6.7): "
        "the learning rate is (or becomes) so small that the optimizer hardly moves along the valley",
    )
    w1_end = np.abs(path[-10:, 0]).max()
    flips = int((np.diff(np.sign(path[:, 0])) != 0).sum())
    check(
        w1_end < 0.1,
        f"w1 is still bouncing: |w1| reached {w1_end:.3g} in the last 10 steps (needs < 0.1); "
        f"w1 changed sign {flips} times in {NUM_STEPS} steps. Shrink the learning rate over time, "
        "so the late steps are too small to jump across the ravine.",
    )
    return passed(f"SGD with your schedule (ends at w1={path[-1, 0]:.3f}, w2={path[-1, 1]:.2f})")


def check_adam_predictions(predictions: dict) -> None:
    """Exercise 08: predict where Adam(lr=ADAM_LR) ends after NUM_STEPS steps from each start in ADAM_STARTS.

    predictions: start -> the centre of the optimum it ends in, e.g. (1, -0.5), or None for "it stays
    on the flat plane".
    """
    check(isinstance(predictions, dict), f"give a dict start -> centre (or None), got {predictions!r}")
    missing = [s for s in ADAM_STARTS if s not in predictions]
    check(not missing, f"no prediction for the start(s) {missing}: give one for each of {list(ADAM_STARTS)}")
    for start in ADAM_STARTS:
        path, _ = _run(lambda params: Adam(params, lr=ADAM_LR), comb_func, start)
        reached, guess = _basin(path[-1]), predictions[start]
        where = f"Adam ends at ({path[-1, 0]:.2f}, {path[-1, 1]:.2f}) with loss {path[-1, 2]:.2f}"
        if reached is None:
            check(
                guess is None,
                f"from {start} you predicted the optimum at {guess}, but {where}: it never left the plane. "
                f"Compare the gradient there, {np.abs(gradient(comb_func, *start)).max():.1e}, "
                "with Adam's eps = 1e-8.",
            )
        else:
            check(
                guess is not None and np.allclose(guess, reached),
                f"from {start} you predicted {guess}, but {where}, inside the optimum at {reached}. "
                "Far from the pits, which Gaussian's pull dominates the gradient?",
            )
    return passed("each of your predictions")


def _reference_clipped_step(grads, lr, momentum, max_norm):
    """The positions after each gradient in `grads` of the exercise's rule, from w = 0 and m = 0:
    g <- g * min(1, max_norm / |g|) (one norm for the whole parameter), then course SGDMomentum."""
    w = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    optimizer = SGDMomentum([w], lr=lr, momentum=momentum)
    positions = []
    for g in grads:
        g = torch.tensor(g, dtype=torch.float64)
        w.grad = g * min(1.0, max_norm / g.norm().item())
        optimizer.step()
        positions.append(w.detach().clone().numpy())
    return positions


# Gradients that tell the usual slips apart: one far below max_norm (left alone, not normalized up),
# one above it with unequal coordinates (scaled as a vector, not clamped per coordinate), a
# large one, and one below max_norm but above 0.1 (clipped to max_norm, not to a constant).
PROBE_GRADIENTS = ((0.003, -0.004), (0.9, 1.2), (-30.0, 40.0), (0.3, 0.1))
# How far a position may differ from the rule, relative to its length. Right answers that add an eps to
# the norm (torch.nn.utils.clip_grad_norm_'s 1e-6, notebook 09's formula) move each clip by at most
# eps / max_norm = 2e-6 for these probes, so by at most 8e-6 over four steps (measured: 6.8e-7); the
# typical slips (per-coordinate clamp, clip_grad_value_, always normalizing, clipping to 0.1) are off by
# 0.24 or more at their first differing step.
PROBE_RTOL = 1e-4


def _check_clipping(optimizer_class) -> None:
    """Feed PROBE_GRADIENTS to the student's class for two max_norms and compare each position."""
    for max_norm in (1.0, 0.5):
        w = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
        try:
            optimizer = optimizer_class([w], lr=1.0, momentum=0.9, max_norm=max_norm)
        except TypeError as error:
            check(False, f"build it as {optimizer_class.__name__}(params, lr, momentum, max_norm): {error}")
        expected = _reference_clipped_step(PROBE_GRADIENTS, 1.0, 0.9, max_norm)
        for step, (g, want) in enumerate(zip(PROBE_GRADIENTS, expected, strict=True), start=1):
            w.grad = torch.tensor(g, dtype=torch.float64)
            optimizer.step()
            got = w.detach().numpy()
            off = np.linalg.norm(got - want) / np.linalg.norm(want)
            check(
                off <= PROBE_RTOL,
                f"with max_norm={max_norm}, after gradient {g} (norm {np.hypot(*g):.3g}) at step {step} "
                f"w is {np.array2string(got, precision=10)}, expected {np.array2string(want, precision=10)} "
                f"(off by {off:.1e} of its length, allowed {PROBE_RTOL:.0e}): rescale the whole gradient "
                "to norm max_norm only when its norm is larger (g * max_norm / |g|), then momentum",
            )


def check_reaches_optimum(optimizer_class) -> None:
    """Exercise 08: SGD with momentum on a clipped gradient ends inside an optimum's basin.

    optimizer_class(params, lr, momentum, max_norm): first its steps are compared with the rule
    (clip the gradient's norm to max_norm, then the averaged momentum update) on PROBE_GRADIENTS; then
    it runs NUM_STEPS steps from STEEP_START with lr=1, momentum=0.9, max_norm=1, and its last
    LATE_STEPS points must lie within HOLE_RADIUS of one optimum.
    """
    check(
        isinstance(optimizer_class, type),
        "pass the class itself (ClippedMomentum, not ClippedMomentum(...) or a function); "
        f"got {optimizer_class!r}",
    )
    check(
        not issubclass(optimizer_class, (Adam, torch.optim.Adam)),
        "Adam does this already (see above): tame SGD with momentum instead",
    )
    _check_clipping(optimizer_class)
    path, _ = _run(
        lambda params: optimizer_class(params, lr=1.0, momentum=0.9, max_norm=1.0), comb_func, STEEP_START
    )
    centre = min(OPTIMA, key=lambda c: np.hypot(path[-1, 0] - c[0], path[-1, 1] - c[1]))
    late = np.hypot(path[-LATE_STEPS:, 0] - centre[0], path[-LATE_STEPS:, 1] - centre[1]).max()
    if late > HOLE_RADIUS:
        steps = np.hypot(*np.diff(path[:, :2], axis=0).T)
        jump = int(np.argmax(steps))
        check(
            False,
            f"over the last {LATE_STEPS} steps the path went {late:.2f} from the nearest centre {centre} "
            f"(needs <= {HOLE_RADIUS}: it must stay in the hole); it ends at ({path[-1, 0]:.2f}, "
            f"{path[-1, 1]:.2f}) and its longest step, {jump}, was {steps[jump]:.2f} long",
        )
    return passed(f"your optimizer (stays within {late:.2f} of the centre {centre})")
