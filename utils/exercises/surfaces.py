"""Checkers for the exercises of notebooks 07-08: optimizers on the ravine and on the steep optima.

Each checker runs the student's optimizer (or reads the student's prediction) on the same surface and
with the same number of steps as the notebook, and says where the path went wrong.
"""

import numpy as np

from utils.exercises import check, passed
from utils.optimizers import Adam, SGDMomentum
from utils.surfaces import OPTIMA, comb_func, gradient, pathological_curve_loss, train_curve

NUM_STEPS = 100
RAVINE_START = (5.0, 5.0)
STEEP_START = (0.0, 0.0)
# How close to one of comb_func's OPTIMA counts as "inside" it.
BASIN_RADIUS = 0.25
# Start points of the "where does Adam go?" exercise, with Adam(lr=0.2) as in notebook 08.
ADAM_STARTS = ((0.2, 0.1), (-0.6, 0.0), (0.6, 1.3))
ADAM_LR = 0.2


def _run(optimizer_func, curve_func, start, steps=NUM_STEPS):
    """The path of the student's optimizer, and the optimizer itself (to see what kind it is)."""
    made = []

    def make(params):
        made.append(optimizer_func(params))
        return made[-1]

    path = train_curve(make, curve_func, num_updates=steps + 1, init=start)  # the start + one row per step
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


def check_ravine_settles(optimizer_func) -> None:
    """Exercise 07: plain SGD with a learning-rate schedule settles in the ravine.

    Passes when, 100 steps from (5, 5), |w1| < 0.1 over the last 10 steps and w2 went below -3.
    """
    path, optimizer = _run(optimizer_func, pathological_curve_loss, RAVINE_START)
    check(
        not isinstance(optimizer, (SGDMomentum, Adam)),
        f"{type(optimizer).__name__} settles already (see above): this exercise asks for plain SGD "
        "whose learning rate changes over the steps",
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
    """Exercise 08: predict where Adam(lr=0.2) ends after 100 steps from each start in ADAM_STARTS.

    predictions: start -> the centre of the optimum it ends in, e.g. (1, -0.5), or None for "it stays
    on the flat plane".
    """
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


def check_reaches_optimum(optimizer_func) -> None:
    """Exercise 08: make SGD with momentum end inside an optimum's basin, 100 steps from (0, 0)."""
    path, optimizer = _run(optimizer_func, comb_func, STEEP_START)
    check(
        not isinstance(optimizer, Adam), "Adam does this already (see above): tame SGD with momentum instead"
    )
    if _basin(path[-1]) is None:
        steps = np.hypot(*np.diff(path[:, :2], axis=0).T)
        jump = int(np.argmax(steps))
        story = (
            f"step {jump} jumped {steps[jump]:.2f} across the map: next to a pit the gradient is huge, and "
            "the averaged momentum passes it on in full. Bound the step, e.g. clip the gradient's norm."
            if steps[jump] > 0.5
            else "it never reached a pit: its steps on the flat plane are too small"
        )
        check(
            False,
            f"the path ends at ({path[-1, 0]:.2f}, {path[-1, 1]:.2f}) with loss {path[-1, 2]:.2f}, "
            f"outside every optimum's basin: {story}",
        )
    return passed(f"your optimizer (ends at loss {path[-1, 2]:.2f})")
