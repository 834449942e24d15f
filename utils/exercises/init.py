"""Checkers for the exercises of notebooks 02-04 (initialization).

Each checker calls the student's function on a few cases chosen so that the typical mistakes give
different answers (variance instead of std, d_x instead of d_y, the slope instead of its square...)
and names the mistake when it sees one.
"""

import math

import numpy as np
import torch
from torch import nn

from utils.exercises import check, passed

WIDTHS = (16, 128, 256, 784, 1000)


def _close(got, expected, rel=1e-4) -> bool:
    return got is not None and math.isclose(float(got), float(expected), rel_tol=rel)


# ---------------------------------------------------------------- 02: constant and fixed variance
def check_identity_std(std_for_width) -> None:
    """Exercise 02.1: std_for_width(d) -> the std that keeps the variance of a linear layer of width d
    (identity activation, biases 0) equal to the variance of its input."""
    for d in WIDTHS:
        got = float(std_for_width(d))
        expected = 1 / math.sqrt(d)
        hint = ""
        if _close(got, 1 / d):
            hint = " You returned 1/d: that is the variance; the std is its square root."
        elif _close(got, math.sqrt(d)) or _close(got, d):
            hint = " The std must shrink as the layer gets wider: each output sums d terms."
        check(_close(got, expected), f"For width d={d}: expected std {expected:.4g} (so that d * std^2 = 1), "
                                     f"got {got:.4g} (d * std^2 = {d * got**2:.4g}).{hint}")
    return passed("std_for_width")


def check_predicted_variance(predict_variance) -> None:
    """Exercise 02.2: predict_variance(std, width, depth, input_var) -> variance after `depth` linear
    layers of width `width` (weights N(0, std^2), biases 0, identity activation)."""
    for std, width, depth, input_var in [(0.01, 256, 3, 1.0), (0.1, 256, 5, 1.0), (0.05, 400, 10, 2.0),
                                         (0.0625, 256, 30, 1.0)]:
        got = float(predict_variance(std, width, depth, input_var))
        expected = input_var * (width * std**2) ** depth
        hint = ""
        if _close(got, input_var * (width * std) ** depth):
            hint = " You used std where the rule needs Var(w) = std^2."
        elif _close(got, input_var * width * std**2 * depth):
            hint = " The factor multiplies at every layer: it is a power of depth, not a product with it."
        check(_close(got, expected, rel=1e-3),
              f"std={std}, width={width}, depth={depth}, input_var={input_var}: expected {expected:.4g} "
              f"(= input_var * (width * std^2)^depth), got {got:.4g}.{hint}")
    return passed("predict_variance")


# ---------------------------------------------------------------- 03: equal variance and Xavier
def check_xavier_uniform(xavier_uniform_fn) -> None:
    """Exercise 03.1: xavier_uniform_fn(weight) fills an nn.Linear weight of shape [d_y, d_x] in place
    with U(-a, a), a = sqrt(6 / (d_x + d_y))."""
    d_y, d_x = 300, 700
    weight = torch.full((d_y, d_x), float("nan"))
    with torch.no_grad():
        xavier_uniform_fn(weight)
    check(not torch.isnan(weight).any(), "The weight still holds its old values: fill it in place "
                                         "(e.g. weight.uniform_(-a, a) under torch.no_grad()).")
    bound = math.sqrt(6 / (d_x + d_y))
    var, largest = weight.var().item(), weight.abs().max().item()
    check(largest <= bound * (1 + 1e-5), f"Some |w| = {largest:.4g} exceed the bound a = sqrt(6/(d_x+d_y)) "
                                         f"= {bound:.4g}: a normal distribution has no bound; use uniform_.")
    expected = 2 / (d_x + d_y)
    check(abs(var / expected - 1) < 0.03, f"Var(w) = {var:.4g}, expected 2/(d_x+d_y) = {expected:.4g} "
                                          "(a uniform on [-a, a] has variance a^2/3).")
    check(abs(weight.mean().item()) < 0.01 * bound, f"The weights have mean {weight.mean().item():.3g}: "
                                                     "they must be centred on 0, U(-a, a).")
    check(largest >= 0.98 * bound, f"The largest |w| is {largest:.4g}, but U(-a, a) with a = {bound:.4g} "
                                   "comes right up to a: is your bound too small?")
    return passed(getattr(xavier_uniform_fn, "__name__", "your function"))


def check_backward_std(backward_std) -> None:
    """Exercise 03.2: backward_std(weight_shape) -> the std that keeps the gradient's variance equal
    from a layer's output to its input; weight_shape is nn.Linear's [d_y, d_x]."""
    for d_y, d_x in [(300, 700), (10, 128), (512, 784)]:
        got = float(backward_std((d_y, d_x)))
        expected = 1 / math.sqrt(d_y)
        hint = ""
        if _close(got, 1 / math.sqrt(d_x)):
            hint = (" You returned 1/sqrt(d_x), the forward condition. Backward, dL/dx = W^T dL/dy sums over "
                    "the d_y outputs, and nn.Linear stores W as [d_y, d_x] = weight_shape.")
        elif _close(got, 1 / d_y):
            hint = " You returned 1/d_y: that is the variance; the std is its square root."
        check(_close(got, expected), f"weight_shape=({d_y}, {d_x}): expected std 1/sqrt(d_y) = {expected:.4g}, "
                                     f"got {got:.4g}.{hint}")
    return passed("backward_std")


# ---------------------------------------------------------------- 04: Kaiming
def check_leaky_relu_std(leaky_relu_std) -> None:
    """Exercise 04.1: leaky_relu_std(d_x, a) -> the std of Kaiming's init for LeakyReLU(negative_slope=a),
    Var(w) = 2 / ((1 + a^2) d_x), which must agree with torch.nn.init.calculate_gain."""
    for d_x in (128, 784):
        for a in (0.0, 0.01, 0.2, 1.0):
            got = float(leaky_relu_std(d_x, a))
            expected = nn.init.calculate_gain("leaky_relu", a) / math.sqrt(d_x)
            hint = ""
            if _close(got, math.sqrt(2 / ((1 + a) * d_x))):
                hint = (" You used (1 + a); the negative half contributes a^2 * Var(y)/2 to E[x^2], "
                        "so it is (1 + a^2).")
            elif _close(got, 2 / ((1 + a**2) * d_x)):
                hint = " You returned the variance; the std is its square root."
            check(_close(got, expected),
                  f"d_x={d_x}, a={a}: expected sqrt(2 / ((1 + a^2) d_x)) = {expected:.4g} (torch: "
                  f"calculate_gain('leaky_relu', {a}) / sqrt(d_x)), got {got:.4g}.{hint}")
    return passed("leaky_relu_std")


def _exact_gain(act_fn: nn.Module) -> float:
    """1 / sqrt(E[f(y)^2]) for y ~ N(0, 1), by Gauss-Hermite quadrature (exact to many digits)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(200)
    with torch.no_grad():
        fy = act_fn(torch.tensor(nodes, dtype=torch.float64)).numpy()
    second_moment = float(np.sum(weights * fy**2) / math.sqrt(2 * math.pi))
    return 1 / math.sqrt(second_moment)


def check_empirical_gain(empirical_gain) -> None:
    """Exercise 04.2: empirical_gain(act_fn) -> 1 / sqrt(E[act_fn(y)^2]) for y ~ N(0, 1), the factor by
    which Kaiming-style inits scale 1/sqrt(d_x) so that Var(y) stays 1 through act_fn."""
    for act_fn in (nn.Identity(), nn.ReLU(), nn.LeakyReLU(0.2), nn.Tanh()):
        got = float(empirical_gain(act_fn))
        expected = _exact_gain(act_fn)
        hint = ""
        if isinstance(act_fn, nn.ReLU) and abs(got - 1 / math.sqrt(0.5 - 1 / (2 * math.pi))) < 0.02:
            hint = (" That is 1/sqrt(Var(relu(y))). The next layer needs E[x^2], not Var(x): "
                    "Var(y_next) = d_x Var(w) E[x^2], and ReLU outputs have a non-zero mean.")
        elif isinstance(act_fn, nn.ReLU) and abs(got - 0.5) < 0.02:
            hint = " You returned E[x^2] itself; the gain is 1/sqrt(E[x^2])."
        check(abs(got / expected - 1) < 0.02, f"{act_fn}: expected a gain of {expected:.4f}, got {got:.4f} "
                                              f"(a Monte Carlo estimate should be within 2 %).{hint}")
    return passed("empirical_gain")
