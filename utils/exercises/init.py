"""Checkers for the exercises of notebooks 02-04 (initialization).

The exercises ask for transfer, not recall: a rule from the notebook applied where it was not shown
(a fixed point of the variance, widths that change, a convolution, a backward signal, an activation
without a textbook gain). Each checker tries the student's answer on cases chosen so that the typical
mistakes give different answers (variance instead of std, fan-out instead of fan-in, the kernel size
forgotten, ReLU's gain reused...) and names the mistake when it sees one.
"""

import math

import numpy as np
import torch
from torch import nn

from utils.exercises import check, passed


def _close(got, expected, rel=1e-4) -> bool:
    return got is not None and math.isclose(float(got), float(expected), rel_tol=rel)


def _number(value, what: str, allow_inf: bool = False) -> float:
    """`value` as a float; a one-sentence ExerciseError for a string, a tuple, a list, None, NaN (or an
    infinity, unless allowed), so a wrong kind of answer is named instead of crashing in float()."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    elif isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    check(
        isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool),
        f"{what} should be one number, got {type(value).__name__} {value!r}.",
    )
    value = float(value)
    check(not math.isnan(value), f"{what} is NaN: return a number.")
    check(allow_inf or math.isfinite(value), f"{what} is {value}: return a finite number.")
    return value


# ---------------------------------------------------------------- 02: constant and fixed variance
def check_bias_floor(bias_floor) -> None:
    """Exercise 02.1: bias_floor(std, width) -> the variance a deep network of `width`-unit linear layers
    settles at when var_init draws every weight and bias from N(0, std^2) (identity activation): the
    fixed point of v -> q v + std^2 with q = width * std^2, i.e. std^2 / (1 - q); math.inf when q >= 1."""
    for std, width in [(0.01, 256), (0.04, 256), (0.05, 256), (0.02, 1000), (0.1, 256), (1 / 16, 256)]:
        q = width * std**2
        got = _number(bias_floor(std, width), f"bias_floor({std}, {width})", allow_inf=True)
        if q >= 1:
            check(
                math.isinf(got) and got > 0,
                f"std={std}, width={width}: q = width * std^2 = {q:.3g} >= 1, so every layer multiplies the "
                "variance by at least 1 and adds std^2: it grows without bound (return math.inf), "
                f"got {got:.4g}.",
            )
            continue
        expected = std**2 / (1 - q)
        hint = ""
        if _close(got, std**2):
            hint = (
                " That is one layer's bias alone; the output of the layer before also carries over, "
                "multiplied by q: solve v = q v + std^2."
            )
        elif _close(got, std / (1 - q)):
            hint = " You used the std where the recursion needs the bias variance std^2."
        elif _close(got, q * std**2 / (1 - q)):
            hint = " Close: the layer's own bias adds std^2 on top of q times the previous layer's variance."
        check(
            _close(got, expected, rel=1e-3),
            f"std={std}, width={width} (q = {q:.3g}): expected std^2 / (1 - q) = {expected:.4g}, "
            f"got {got:.4g}.{hint}",
        )
    return passed("bias_floor")


SCHEDULE = (784, 2048, 512, 128, 32, 10)


def check_width_schedule_stds(stds_for_widths) -> None:
    """Exercise 02.2: stds_for_widths(widths) -> one std per linear layer (layer l maps widths[l] inputs to
    widths[l + 1] outputs) so that every layer keeps the variance of its input (identity activation)."""
    for widths in (SCHEDULE, (100, 400, 25, 10)):
        answer = stds_for_widths(list(widths))
        check(
            isinstance(answer, list | tuple | np.ndarray | torch.Tensor),
            f"stds_for_widths({list(widths)}) should return one std per layer (a list), "
            f"got {type(answer).__name__} {answer!r}.",
        )
        got = [_number(s, f"stds_for_widths({list(widths)})[{i}]") for i, s in enumerate(answer)]
        check(
            len(got) == len(widths) - 1,
            f"widths {list(widths)} describe {len(widths) - 1} linear layers, "
            f"so return {len(widths) - 1} stds; got {len(got)}.",
        )
        for layer, (d_x, d_y, std) in enumerate(zip(widths, widths[1:], got, strict=False)):
            expected = 1 / math.sqrt(d_x)
            hint = ""
            if _close(std, 1 / math.sqrt(d_y)) and d_x != d_y:
                hint = (
                    " You used the layer's outputs (fan-out); each output sums d_x = widths[l] inputs, "
                    "so the forward pass needs d_x * std^2 = 1."
                )
            elif _close(std, 1 / d_x):
                hint = " You returned the variance 1/d_x; the std is its square root."
            elif len(set(got)) == 1:
                hint = (
                    " One std for all layers cannot work when the widths differ (notebook 02's depth figure)."
                )
            check(
                _close(std, expected),
                f"widths {list(widths)}, layer {layer} ({d_x} -> {d_y}): expected std 1/sqrt({d_x}) = "
                f"{expected:.4g}, got {std:.4g} (this layer would multiply the variance by "
                f"{d_x * std**2:.3g}).{hint}",
            )
    return passed("stds_for_widths")


# ---------------------------------------------------------------- 03: equal variance and Xavier
CONVS = ((3, 16, (3, 3)), (16, 32, (5, 3)), (64, 8, (1, 1)), (8, 24, (7, 7)))


def check_conv_fans(conv_fans) -> None:
    """Exercise 03.1: conv_fans(conv) -> (fan_in, fan_out) of an nn.Conv2d: each output value sums
    in_channels * kh * kw products, each input value feeds out_channels * kh * kw of them."""
    for c_in, c_out, (kh, kw) in CONVS:
        conv = nn.Conv2d(c_in, c_out, (kh, kw))
        answer = conv_fans(conv)
        check(
            isinstance(answer, tuple | list) and len(answer) == 2,
            f"conv_fans({conv}) should return a pair (fan_in, fan_out), "
            f"got {type(answer).__name__} {answer!r}.",
        )
        fans = [_number(f, f"conv_fans({conv}) element {i}") for i, f in enumerate(answer)]
        check(
            all(f == int(f) for f in fans),
            f"conv_fans({conv}): fans count terms, so whole numbers; got {answer}.",
        )
        got = tuple(int(f) for f in fans)
        expected = (c_in * kh * kw, c_out * kh * kw)
        hint = ""
        if got == (c_in, c_out):
            hint = (
                " You counted channels only: an output sums over a kh x kw window of every input channel, "
                "so the kernel size multiplies both fans."
            )
        elif got == expected[::-1]:
            hint = (
                " fan_in and fan_out are swapped: conv.weight has shape [out_channels, in_channels, kh, kw]."
            )
        elif got == (c_in * (kh + kw), c_out * (kh + kw)):
            hint = " The window holds kh * kw values, not kh + kw."
        elif got[0] == expected[0]:
            hint = " fan_in is right; fan_out counts the outputs each input feeds: out_channels * kh * kw."
        check(
            got == expected,
            f"nn.Conv2d({c_in}, {c_out}, kernel_size=({kh}, {kw})): expected (fan_in, fan_out)"
            f" = {expected}, got {got}.{hint}",
        )
    return passed("conv_fans")


def _xavier_backward_ratio(widths) -> float:
    return math.prod(2 * d_y / (d_x + d_y) for d_x, d_y in zip(widths[1:], widths[2:], strict=False))


def check_backward_ratio(backward_ratio) -> None:
    """Exercise 03.2: backward_ratio(widths) -> Var(dL/dy) at the first linear layer's output divided by
    Var(dL/dy) at the last one's, for a linear network with Xavier init (layer l maps widths[l] to
    widths[l + 1]): every layer but the first multiplies the backward signal by d_y Var(w)."""
    for widths in ((784, 512, 256, 256, 128, 10), (784, 64, 256, 1024, 10), (100, 50, 50, 50, 20)):
        got = _number(backward_ratio(list(widths)), f"backward_ratio({list(widths)})")
        expected = _xavier_backward_ratio(widths)
        hint = ""
        if _close(got, _xavier_backward_ratio(widths[:1] + widths)) or _close(
            got, expected * 2 * widths[1] / (widths[0] + widths[1])
        ):
            hint = (
                " You included the first layer's factor; the backward signal at the first layer's output "
                "has not passed through the first layer's weights yet."
            )
        elif _close(
            got, math.prod(2 * d_x / (d_x + d_y) for d_x, d_y in zip(widths[1:], widths[2:], strict=False))
        ):
            hint = (
                " You used the forward factor d_x Var(w); backwards, dL/dx = W^T dL/dy sums over d_y outputs."
            )
        elif _close(got, widths[-1] / widths[1]):
            hint = " That is the ratio for equal-variance init (Var(w) = 1/d_x); Xavier uses 2 / (d_x + d_y)."
        elif _close(got, 1 / expected):
            hint = " Upside down: the ratio asked for is first layer over last layer."
        check(
            _close(got, expected, rel=1e-3),
            f"widths {list(widths)}: expected a ratio of {expected:.4g}, got {got:.4g}.{hint}",
        )
    return passed("backward_ratio")


# ---------------------------------------------------------------- 04: Kaiming
def _gaussian_mean(fn) -> float:
    """E[fn(y)] for y ~ N(0, 1), by Gauss-Hermite quadrature (exact to many digits, no randomness)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(200)
    with torch.no_grad():
        values = fn(torch.tensor(nodes, dtype=torch.float64)).numpy()
    return float(np.sum(weights * values) / math.sqrt(2 * math.pi))


def _exact_gain(act_fn: nn.Module) -> float:
    """1 / sqrt(E[f(y)^2]) for y ~ N(0, 1)."""
    return 1 / math.sqrt(_gaussian_mean(lambda y: act_fn(y) ** 2))


def check_empirical_gain(empirical_gain) -> None:
    """Exercise 04.1: empirical_gain(act_fn) -> 1 / sqrt(E[act_fn(y)^2]) for y ~ N(0, 1), the factor by
    which Kaiming-style inits scale 1/sqrt(d_x) so that Var(y) stays 1 through act_fn."""
    for act_fn in (nn.Identity(), nn.ReLU(), nn.LeakyReLU(0.2), nn.Tanh(), nn.GELU(), nn.SiLU()):
        got = _number(empirical_gain(act_fn), f"empirical_gain({act_fn})")
        expected = _exact_gain(act_fn)
        hint = ""
        if isinstance(act_fn, nn.ReLU) and abs(got - 1 / math.sqrt(0.5 - 1 / (2 * math.pi))) < 0.02:
            hint = (
                " That is 1/sqrt(Var(relu(y))). The next layer needs E[x^2], not Var(x): "
                "Var(y_next) = d_x Var(w) E[x^2], and ReLU outputs have a non-zero mean."
            )
        elif isinstance(act_fn, nn.ReLU) and abs(got - 0.5) < 0.02:
            hint = " You returned E[x^2] itself; the gain is 1/sqrt(E[x^2])."
        elif not isinstance(act_fn, nn.ReLU) and abs(got - math.sqrt(2)) < 0.01:
            hint = " That is ReLU's gain sqrt(2); measure E[f(y)^2] for this activation."
        check(
            abs(got / expected - 1) < 0.02,
            f"{act_fn}: expected a gain of {expected:.4f}, got {got:.4f} "
            f"(a Monte Carlo estimate should be within 2 %).{hint}",
        )
    return passed("empirical_gain")


GELU_WIDTHS = (784, 512, 256, 256, 128, 10)


def gelu_network(widths=GELU_WIDTHS) -> nn.Sequential:
    """Linear layers of the given widths with a GELU after every hidden one (the course network, GELU)."""
    layers = []
    for d_x, d_y in zip(widths, widths[1:], strict=False):
        layers += [nn.Linear(d_x, d_y), nn.GELU()]
    return nn.Sequential(*layers[:-1])


def check_gelu_init(gelu_init) -> None:
    """Exercise 04.2: gelu_init(model) re-initializes in place a network of nn.Linear layers with GELU
    between them: weights N(0, gain^2 / d_x) with GELU's gain 1/sqrt(E[gelu(y)^2]) (first layer gain 1:
    it sees the standardized pixels, not GELU outputs), biases 0.

    A layer's sample std has a relative standard error of 1/sqrt(2n) for its n normal weights (0.11 % for
    784 x 512, 2 % for 128 x 10): the tolerance is 5 of them, so a right answer passes on any seed, and
    the wrong gains are still far outside it in the large layers, which are checked first."""
    check(
        callable(gelu_init), f"gelu_init should be a function of the model, got {type(gelu_init).__name__}."
    )
    model = gelu_network()
    with torch.no_grad():
        for param in model.parameters():
            param.fill_(float("nan"))
    gelu_init(model)
    gain = _exact_gain(nn.GELU())
    std_gelu = math.sqrt(
        _gaussian_mean(lambda y: nn.functional.gelu(y) ** 2) - _gaussian_mean(nn.functional.gelu) ** 2
    )
    linears = [m for m in model if isinstance(m, nn.Linear)]
    for i, layer in enumerate(linears):
        w = layer.weight.detach()
        check(not torch.isnan(w).any(), f"Layer {i}'s weights were not set: fill every nn.Linear in place.")
        check(layer.bias is None or not layer.bias.detach().any(), f"Layer {i}: set the biases to 0.")
        d_x, d_y = layer.in_features, layer.out_features
        check(
            torch.unique(w, dim=0).shape[0] == d_y,
            f"Layer {i}: some units got identical weight rows. Units that start equal stay equal (symmetry, "
            "notebook 02): draw every weight independently.",
        )
        target = (1.0 if i == 0 else gain) / math.sqrt(d_x)
        got = w.std().item()
        tol = 5 / math.sqrt(2 * w.numel())  # 5 standard errors of a sample std, relative
        hint = ""
        if i > 0 and abs(got * math.sqrt(d_x) / math.sqrt(2) - 1) < tol:
            hint = (
                " That is ReLU's gain sqrt(2): GELU keeps part of the negative half, E[gelu(y)^2] = "
                f"{1 / gain**2:.3f}, not 1/2."
            )
        elif i > 0 and abs(got * math.sqrt(d_x) - 1) < tol:
            hint = (
                " That is gain 1 (equal variance): GELU's outputs have E[gelu(y)^2] < 1, "
                "so the variance shrinks."
            )
        elif i > 0 and abs(got * math.sqrt(d_x) * std_gelu - 1) < tol:
            hint = " You used 1/std(gelu(y)); the next layer needs E[x^2], mean included, not Var(x)."
        elif abs(got * math.sqrt(d_y) / (target * math.sqrt(d_x)) - 1) < tol and d_x != d_y:
            hint = " You divided by d_y (fan-out); the forward pass sums over d_x inputs."
        elif i == 0 and abs(got * math.sqrt(d_x) / gain - 1) < tol:
            hint = " The first layer sees the standardized pixels, not GELU outputs: gain 1 there."
        check(
            abs(got / target - 1) < tol,
            f"Layer {i} ({d_x} -> {d_y}): weight std {got:.4g}, expected {target:.4g} "
            f"({'1' if i == 0 else f'gain {gain:.3f}'} / sqrt({d_x})) within {tol:.1%}.{hint}",
        )
        # 5 standard errors of the mean of w.numel() centred draws
        check(
            abs(w.mean().item()) < 5 * target / math.sqrt(w.numel()),
            f"Layer {i}: the weights must be centred on 0.",
        )
    return passed("gelu_init")
