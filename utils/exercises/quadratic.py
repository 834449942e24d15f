"""Checkers for the exercises of notebook 11: the best heavy-ball setting in the course's averaged
convention, and RMSprop as an OptimizerTemplate subclass.

The heavy-ball checker recognises the usual slips (the classic step alpha instead of the course's eta,
the rate instead of beta, gradient descent's best step) and names them; the RMSprop checker trains
the student's class against torch.optim.RMSprop in float64 and names the first step that differs.
"""

import math

import torch

from utils.exercises import check, passed
from utils.exercises.optimizers import _compare

CASES = ((0.01, 1.0), (1.0, 50.0), (0.3, 2.7))  # (mu, L) pairs: kappa = 100, 50 and 9
RTOL = 1e-6


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= RTOL * abs(b)


def check_best_heavy_ball(best_heavy_ball) -> None:
    """best_heavy_ball(mu, L) -> (eta, beta): the fastest SGDMomentum(lr=eta, momentum=beta) of the course
    (m <- beta m + (1 - beta) g, w <- w - eta m) on a quadratic with curvatures between mu and L."""
    check(callable(best_heavy_ball), f"Pass your function itself, got {best_heavy_ball!r}.")
    for mu, L in CASES:
        answer = best_heavy_ball(mu, L)
        check(
            isinstance(answer, (tuple, list)) and len(answer) == 2,
            f"best_heavy_ball({mu}, {L}) should return two numbers (eta, beta), got {answer!r}.",
        )
        eta, beta = (float(v) for v in answer)
        rate = (math.sqrt(L / mu) - 1) / (math.sqrt(L / mu) + 1)
        alpha = 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2
        where = f"for mu = {mu}, L = {L} (kappa = {L / mu:g})"
        check(
            not _close(beta, rate),
            f"beta = {beta:.6g} {where} is the convergence RATE "
            "(sqrt(kappa) - 1) / (sqrt(kappa) + 1); the best momentum is its square.",
        )
        check(_close(beta, rate**2), f"beta = {beta:.6g} {where}, expected {rate**2:.6g}.")
        check(
            not _close(eta, alpha),
            f"eta = {eta:.6g} {where} is the classic step alpha = 4 / (sqrt(L) + "
            "sqrt(mu))^2 (torch's lr). The course's averaged momentum steps eta * (1 - beta) per gradient: "
            "divide alpha by (1 - beta).",
        )
        check(
            not _close(eta, 2 / (mu + L)),
            f"eta = {eta:.6g} {where} is gradient descent's best step "
            "2 / (mu + L); with momentum the best step is much larger.",
        )
        expected = alpha / (1 - rate**2)
        check(_close(eta, expected), f"eta = {eta:.6g} {where}, expected {expected:.6g}.")
    return passed("best_heavy_ball")


def check_rmsprop(student_cls) -> None:
    """RMSprop(params, lr, alpha, eps): v <- alpha v + (1 - alpha) g^2;  w <- w - lr g / (sqrt(v) + eps).

    Same convention as torch.optim.RMSprop (no momentum, not centered). A large eps makes its place
    (outside the square root) visible."""
    kwargs = {"lr": 0.01, "alpha": 0.9, "eps": 1e-3}
    return _compare(
        student_cls,
        kwargs,
        lambda params: torch.optim.RMSprop(params, **kwargs),
        "RMSprop",
        "torch.optim.RMSprop(lr=0.01, alpha=0.9, eps=1e-3)",
        "Check: v is a running AVERAGE (alpha * v + (1 - alpha) * g^2, starting at 0, no bias "
        "correction) and eps is added after the square root.",
    )
