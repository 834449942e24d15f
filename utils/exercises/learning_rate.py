"""Checkers for notebook 09's exercises: where a growing learning rate stops training, and a warm-up.

The learning-rate checker does not know the notebook's task: it takes the function that trains and
returns the final loss, so it runs exactly the experiment the student ran.
"""

import math
import numbers

from utils.exercises import check, passed


def _as_number(value) -> float | None:
    """A Python, NumPy or one-element torch number as a float; None for anything else (a list...)."""
    if isinstance(value, numbers.Real):
        return float(value)
    if type(value).__module__.startswith(("torch", "numpy")) and getattr(value, "ndim", None) == 0:
        return float(value)
    return None


def _trains(final_loss: float, threshold: float) -> bool:
    return math.isfinite(final_loss) and final_loss < threshold


def check_stability_bracket(lo: float, hi: float, final_loss, threshold: float, ratio: float = 1.25) -> None:
    """(lo, hi) brackets the largest learning rate that trains: training at lo reaches a final loss
    below `threshold`, training at hi does not (it diverges or collapses), and hi / lo <= ratio.

    final_loss(lr) -> float trains from the same initial weights and returns the final loss.
    """
    check(0 < lo < hi, f"Give two learning rates with 0 < lo < hi; got lo={lo}, hi={hi}.")
    check(
        hi / lo <= ratio * (1 + 1e-9),
        f"hi / lo = {hi / lo:.3g}: narrow the bracket until hi / lo <= {ratio} (bisect in log space: "
        "try sqrt(lo * hi) and keep the half where the outcome changes).",
    )
    loss_lo = final_loss(lo)
    check(
        _trains(loss_lo, threshold),
        f"At lo={lo:.4g} the final loss is {loss_lo:.4g}, not below {threshold:.4g}: lo is already too "
        "large (it diverged or collapsed). Move the bracket down.",
    )
    loss_hi = final_loss(hi)
    check(
        not _trains(loss_hi, threshold),
        f"At hi={hi:.4g} the final loss is {loss_hi:.4g} < {threshold:.4g}: hi still trains, so the "
        "largest stable learning rate is above your bracket. Move it up.",
    )
    return passed(f"stability bracket [{lo:.4g}, {hi:.4g}]")


WARMUP_SETTINGS = ((0.5, 50), (0.1, 7), (2.0, 1))  # (base_lr, warmup_steps): a hard-coded answer fails


def check_warmup(warmup_lr) -> None:
    """warmup_lr(step, base_lr, warmup_steps) -> the lr of update `step` (counted from 0): linear from
    base_lr / warmup_steps at step 0 to base_lr at step warmup_steps - 1, then base_lr. Tried at several
    settings, so a function that ignores its arguments fails."""
    check(callable(warmup_lr), f"Pass your function itself, got {warmup_lr!r}.")
    for base_lr, warmup_steps in WARMUP_SETTINGS:
        for step in sorted({0, 1, warmup_steps // 2, warmup_steps - 1, warmup_steps, 3 * warmup_steps}):
            expected = base_lr * min(1.0, (step + 1) / warmup_steps)
            returned = warmup_lr(step, base_lr, warmup_steps)
            got = _as_number(returned)
            check(
                got is not None,
                f"warmup_lr({step}, {base_lr}, {warmup_steps}) should return a number, got {returned!r}.",
            )
            if step == 0 and got == 0:
                check(
                    False,
                    "At step 0 your lr is 0, so the first update does nothing: use (step + 1) / "
                    "warmup_steps, which is base_lr / warmup_steps at step 0.",
                )
            check(
                math.isclose(got, expected, rel_tol=1e-6),  # float32 arithmetic is right too
                f"At step {step} (base_lr={base_lr}, warmup_steps={warmup_steps}) expected lr "
                f"{expected:.6g}, got {got:.6g}."
                + (" After the warm-up the lr stays at base_lr." if step >= warmup_steps else ""),
            )
    return passed("linear warm-up")
