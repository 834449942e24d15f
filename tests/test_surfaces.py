"""The loss surfaces of notebooks 07-08, train_curve's and gradient's contracts, and the surface plots."""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from utils.optimizers import SGD, Adam  # noqa: E402
from utils.plotting import plot_surface_3d, plot_trajectories  # noqa: E402
from utils.surfaces import (  # noqa: E402
    OPTIMA,
    accepts_numpy,
    bivar_gaussian,
    comb_func,
    gradient,
    pathological_curve_loss,
    surface_grid,
    train_curve,
)

SURFACES = [pathological_curve_loss, comb_func, bivar_gaussian]


def test_train_curve_rows_are_points_before_each_step():
    path = train_curve(lambda p: SGD(p, lr=0.1), pathological_curve_loss, num_updates=7, init=(5, 5))
    assert path.shape == (7, 3)
    np.testing.assert_allclose(
        path[0], [5, 5, pathological_curve_loss(np.float64(5), np.float64(5))], rtol=1e-6
    )
    np.testing.assert_allclose(path[:, 2], pathological_curve_loss(path[:, 0], path[:, 1]), rtol=1e-5)


@pytest.mark.parametrize("surface", SURFACES, ids=lambda f: f.__name__)
def test_surface_same_on_tensors_and_numpy(surface):
    w1, w2 = np.meshgrid(np.linspace(-2, 2, 9), np.linspace(-2, 2, 9), indexing="ij")
    on_numpy = surface(w1, w2)
    on_torch = surface(torch.tensor(w1), torch.tensor(w2))
    assert isinstance(on_numpy, np.ndarray) and isinstance(on_torch, torch.Tensor)
    np.testing.assert_allclose(on_numpy, on_torch.numpy(), rtol=1e-12)


def test_surfaces_have_gradients():
    w = torch.tensor([0.3, -0.4], requires_grad=True)
    (pathological_curve_loss(w[0], w[1]) + comb_func(w[0], w[1])).backward()
    assert torch.isfinite(w.grad).all() and w.grad.abs().sum() > 0


def test_ravine_values():
    # tanh(0)^2 + 0 + sigmoid(0) = 0.5; far out along w1 the tanh^2 term is ~1 plus the |w1| slope.
    assert pathological_curve_loss(np.float64(0), np.float64(0)) == pytest.approx(0.5)
    assert pathological_curve_loss(np.float64(10), np.float64(0)) == pytest.approx(1 + 0.1 + 0.5, abs=1e-6)


def test_steep_optima_depth_is_the_gaussian_peak():
    peak = 1 / (2 * math.pi * 0.2**2)
    assert peak == pytest.approx(3.979, abs=1e-3)
    assert OPTIMA == ((1, -0.5), (-1, 0.5), (-0.5, -0.8))
    for centre in OPTIMA:
        assert comb_func(np.float64(centre[0]), np.float64(centre[1])) == pytest.approx(-peak, rel=1e-3)
        assert np.abs(gradient(comb_func, *centre)).max() < 1e-3, "each centre is a minimum: no slope"
    assert abs(comb_func(np.float64(0.6), np.float64(1.3))) < 1e-10  # the plane between the pits


def test_gradient_matches_the_formula():
    # d/dw1 [tanh(w1)^2 + 0.01 |w1|] = 2 tanh(w1) (1 - tanh(w1)^2) + 0.01 sign(w1); d/dw2 sigmoid = s (1 - s)
    g = gradient(pathological_curve_loss, 0.5, -1.0)
    t, s = math.tanh(0.5), 1 / (1 + math.exp(1.0))
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, [2 * t * (1 - t**2) + 0.01, s * (1 - s)], rtol=1e-12)
    # on the plane of comb_func the slope is tiny but not rounded to zero (float64 keeps its digits)
    assert 0 < np.abs(gradient(comb_func, 0.6, 1.3)).max() < 1e-10


def test_accepts_numpy_keeps_the_name():
    assert accepts_numpy(lambda a, b: a + b)(np.ones(2), np.ones(2)).tolist() == [2, 2]
    assert comb_func.__name__ == "comb_func"


def test_surface_grid():
    w1, w2, z = surface_grid(comb_func, (-2, 2), (-1, 1), num=11)
    assert w1.shape == w2.shape == z.shape == (11, 11)
    assert w1[0, 0] == -2 and w2[0, -1] == 1  # "ij": w1 varies along rows, w2 along columns
    with pytest.raises(ValueError, match="at least 2"):
        surface_grid(comb_func, num=1)


def test_plots_return_figures():
    grid = surface_grid(comb_func, (-2, 2), (-2, 2), num=30)
    paths = {
        name: train_curve(make, comb_func, num_updates=5, init=(0, 0))
        for name, make in [("SGD", lambda p: SGD(p, lr=0.5)), ("Adam", lambda p: Adam(p, lr=0.2))]
    }
    for fig in (plot_surface_3d(grid, "3D"), plot_trajectories(grid, paths, "2D")):
        assert isinstance(fig, plt.Figure)
        plt.close(fig)
    fig, ax = plt.subplots()
    assert plot_trajectories(grid, {"mine": paths["SGD"]}, ax=ax) is fig
    plt.close(fig)
