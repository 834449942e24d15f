"""utils.quadratic: the theory (momentum_rate) and the measurement (run_on_quadratic + measured_rate)
agree, and each fails for the wrong method or setting; the appended optimizers match torch.optim."""

import numpy as np
import pytest
import torch

from utils.optimizers import SGD, Adagrad, Adam, RMSprop, SGDMomentum, SGDNesterov
from utils.quadratic import (
    curvatures,
    distances_on_grid,
    error_norms,
    measured_rate,
    momentum_rate,
    run_on_quadratic,
)


def test_curvatures_span_kappa():
    lam = curvatures(100, n=5, largest=2.0)
    assert lam.max() == pytest.approx(2.0) and lam.max() / lam.min() == pytest.approx(100)
    with pytest.raises(ValueError, match="at least 1"):
        curvatures(0.5)


def test_gd_rate_is_largest_one_minus_eta_lambda():
    lam = np.array([0.1, 0.5, 1.0])
    assert momentum_rate(1.5, 0.0, lam) == pytest.approx(0.85)
    assert momentum_rate(2.5, 0.0, lam) == pytest.approx(1.5)


@pytest.mark.parametrize("kappa", [10, 100])
def test_measured_rates_match_theory(kappa):
    lam = curvatures(kappa)
    start = np.ones_like(lam)
    mu, L = lam.min(), lam.max()
    root = np.sqrt(kappa)
    beta = ((root - 1) / (root + 1)) ** 2
    hb = measured_rate(
        run_on_quadratic(lambda p: SGDMomentum(p, lr=1 / np.sqrt(mu * L), momentum=beta), lam, start, 3000)
    )
    assert hb == pytest.approx((root - 1) / (root + 1), rel=5e-3)
    b = (root - 1) / (root + 1)
    nag = measured_rate(
        run_on_quadratic(lambda p: SGDNesterov(p, lr=1 / L / (1 - b), momentum=b), lam, start, 3000)
    )
    assert nag == pytest.approx(1 - 1 / root, rel=5e-3)
    assert momentum_rate(1 / L, b, lam, nesterov=True) == pytest.approx(1 - 1 / root, rel=1e-6)
    # heavy ball and Nesterov with the same setting are different methods: the theory tells them apart
    assert abs(momentum_rate(1 / L, b, lam) - momentum_rate(1 / L, b, lam, nesterov=True)) > 1e-3


def test_run_on_quadratic_accepts_a_full_matrix():
    rotation = np.array([[0.6, -0.8], [0.8, 0.6]])
    A = rotation @ np.diag([1.0, 0.1]) @ rotation.T
    path = run_on_quadratic(lambda p: SGD(p, lr=1.0), A, rotation @ np.array([1.0, 1.0]), 10)
    x = path @ rotation
    assert np.allclose(x[:, 1], 0.9 ** np.arange(11)) and np.allclose(x[1:, 0], 0)


def test_measured_rate_survives_underflow():
    path = run_on_quadratic(lambda p: SGD(p, lr=0.5), [1.0], [1.0], 2000)  # 0.5^2000 underflows
    assert measured_rate(path) == pytest.approx(0.5)


def test_measured_rate_keeps_precision_below_1e_154():
    # the error falls far below 1e-154, where squared entries turn subnormal: GD's rate stays exact
    lam = curvatures(10)
    path = run_on_quadratic(lambda p: SGD(p, lr=2 / (lam.min() + lam.max())), lam, np.ones_like(lam), 5000)
    norms = error_norms(path)
    assert norms[-1] < 1e-190 * norms[0] and len(norms) < len(path)
    assert measured_rate(path) == pytest.approx(9 / 11, rel=1e-9)
    assert error_norms(np.array([[3e-200, 4e-200]]))[0] == pytest.approx(5e-200, rel=1e-12)


def test_heavy_ball_excess_is_the_factor_t():
    # at the best setting the error decays like t rho^t: the measured rate is rho 2^(2/T), T = steps kept
    lam = curvatures(10)
    root = np.sqrt(10)
    rho = (root - 1) / (root + 1)
    path = run_on_quadratic(
        lambda p: SGDMomentum(p, lr=1 / np.sqrt(lam.min() * lam.max()), momentum=rho**2),
        lam,
        np.ones_like(lam),
        5000,
    )
    steps = len(error_norms(path)) - 1
    assert measured_rate(path) / rho - 1 == pytest.approx(2 * np.log(2) / steps, rel=0.05)


def _train_pair(ours, reference, steps=20):
    gen = torch.Generator().manual_seed(0)
    w1 = torch.randn(5, dtype=torch.float64, generator=gen).requires_grad_()
    w2 = w1.detach().clone().requires_grad_()
    a, b = ours([w1]), reference([w2])
    for _ in range(steps):
        for w, opt in ((w1, a), (w2, b)):
            opt.zero_grad()
            (w**4).sum().backward()
            opt.step()
    return w1.detach(), w2.detach()


@pytest.mark.parametrize(
    "ours, reference",
    [
        (
            lambda p: RMSprop(p, lr=0.01, alpha=0.9, eps=1e-3),
            lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-3),
        ),
        (lambda p: Adagrad(p, lr=0.1), lambda p: torch.optim.Adagrad(p, lr=0.1, eps=1e-10)),
        (
            lambda p: SGDNesterov(p, lr=0.1, momentum=0.9),
            lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True),
        ),
    ],
)
def test_appended_optimizers_match_torch(ours, reference):
    w1, w2 = _train_pair(ours, reference)
    assert torch.allclose(w1, w2, rtol=1e-12, atol=1e-14)


def test_rmsprop_rejects_bad_alpha():
    with pytest.raises(ValueError, match="alpha"):
        RMSprop([torch.zeros(1, requires_grad=True)], lr=0.1, alpha=1.0)


@pytest.mark.parametrize("rule", ["SGD", "Adagrad", "RMSprop", "Adam"])
def test_distances_on_grid_match_the_optimizers(rule):
    """One numpy row per rate gives the same run as the optimizer itself (course's, or torch's RMSprop).

    100 steps: RMSprop at lr 0.3 on this problem amplifies round-off, and after ~150 steps two runs that
    differ in the last bit part ways."""
    turn = np.array([[1.0, -1.0], [1.0, 1.0]]) / np.sqrt(2)
    hessian, start = turn @ np.diag([1.0, 0.01]) @ turn.T, np.array([0.3, -1.2])
    makers = {"SGD": SGD, "Adagrad": Adagrad, "RMSprop": torch.optim.RMSprop, "Adam": Adam}
    lrs = [0.03, 0.3]
    grid = distances_on_grid(rule, hessian, start, lrs, 100)
    for lr, got in zip(lrs, grid, strict=True):
        path = run_on_quadratic(lambda p, lr=lr: makers[rule](p, lr=lr), hessian, start, 100)
        assert got == pytest.approx(np.linalg.norm(path[-1]) / np.linalg.norm(start), rel=1e-9, abs=1e-15)


def test_distances_on_grid_beta1_and_divergence():
    lam = np.diag([1.0, 0.01])
    no_momentum = distances_on_grid("Adam", lam, [1.0, 1.0], [0.1], 50, beta1=0.0)[0]
    path = run_on_quadratic(lambda p: Adam(p, lr=0.1, beta1=0.0), lam, [1.0, 1.0], 50)
    assert no_momentum == pytest.approx(np.linalg.norm(path[-1]) / np.sqrt(2), rel=1e-9, abs=1e-15)
    assert distances_on_grid("SGD", lam, [1.0, 1.0], [2.5], 2000)[0] == np.inf
    with pytest.raises(ValueError, match="rule must be one of"):
        distances_on_grid("Lion", lam, [1.0, 1.0], [0.1], 5)
