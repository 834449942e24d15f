"""The checkers of the exercises in notebooks 02-04 accept a right answer and name the typical wrong ones."""

import math

import pytest
import torch
from torch import nn

from utils.exercises import ExerciseError
from utils.exercises.init import (
    check_backward_ratio,
    check_bias_floor,
    check_conv_fans,
    check_empirical_gain,
    check_gelu_init,
    check_width_schedule_stds,
)


def right_bias_floor(std, width):
    q = width * std**2
    return math.inf if q >= 1 else std**2 / (1 - q)


def test_bias_floor(capsys):
    check_bias_floor(right_bias_floor)
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda s, w: s**2, "bias alone"),
        (lambda s, w: s / (1 - w * s**2) if w * s**2 < 1 else math.inf, "used the std"),
        (lambda s, w: w * s**4 / (1 - w * s**2) if w * s**2 < 1 else math.inf, "own bias adds"),
        (lambda s, w: s**2 / abs(1 - w * s**2 + 1e-9), "grows without bound"),  # forgets q >= 1
    ],
)
def test_bias_floor_rejects(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        check_bias_floor(wrong)


def test_width_schedule_stds():
    check_width_schedule_stds(lambda widths: [1 / math.sqrt(d) for d in widths[:-1]])


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda widths: [1 / math.sqrt(d) for d in widths[1:]], "fan-out"),
        (lambda widths: [1 / d for d in widths[:-1]], "variance 1/d_x"),
        (lambda widths: [1 / 16] * (len(widths) - 1), "One std for all layers"),
        (lambda widths: [1 / math.sqrt(d) for d in widths], "return 5 stds"),
    ],
)
def test_width_schedule_stds_rejects(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        check_width_schedule_stds(wrong)


def test_conv_fans():
    def right(conv):
        c_out, c_in, kh, kw = conv.weight.shape
        return c_in * kh * kw, c_out * kh * kw

    check_conv_fans(right)
    check_conv_fans(lambda conv: nn.init._calculate_fan_in_and_fan_out(conv.weight))  # torch agrees


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda conv: (conv.in_channels, conv.out_channels), "channels only"),
        (lambda conv: nn.init._calculate_fan_in_and_fan_out(conv.weight)[::-1], "swapped"),
        (
            lambda conv: (
                conv.in_channels * sum(conv.kernel_size),
                conv.out_channels * sum(conv.kernel_size),
            ),
            "not kh \\+ kw",
        ),
        (lambda conv: (conv.weight[0].numel(), conv.out_channels), "fan_in is right"),
    ],
)
def test_conv_fans_rejects(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        check_conv_fans(wrong)


def xavier_ratio(widths, factor=lambda d_x, d_y: 2 * d_y / (d_x + d_y), start=1):
    return math.prod(factor(d_x, d_y) for d_x, d_y in zip(widths[start:], widths[start + 1 :], strict=False))


def test_backward_ratio():
    check_backward_ratio(xavier_ratio)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda widths: xavier_ratio(widths, start=0), "included the first layer"),
        (
            lambda widths: xavier_ratio(widths, factor=lambda d_x, d_y: 2 * d_x / (d_x + d_y)),
            "forward factor",
        ),
        (lambda widths: xavier_ratio(widths, factor=lambda d_x, d_y: d_y / d_x), "equal-variance"),
        (lambda widths: 1 / xavier_ratio(widths), "Upside down"),
    ],
)
def test_backward_ratio_rejects(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        check_backward_ratio(wrong)


def monte_carlo_gain(act_fn, moment=lambda x: x.pow(2).mean()):
    generator = torch.Generator().manual_seed(0)
    return 1 / moment(act_fn(torch.randn(1_000_000, generator=generator))).sqrt().item()


def test_empirical_gain():
    check_empirical_gain(monte_carlo_gain)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda f: monte_carlo_gain(f, moment=lambda x: x.var()), "not Var"),
        (lambda f: math.sqrt(2) if not isinstance(f, nn.Identity) else 1.0, "ReLU's gain"),
    ],
)
def test_empirical_gain_rejects(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        check_empirical_gain(wrong)


def gelu_init_with(gain, first_gain=1.0, fan=lambda layer: layer.in_features, bias=0.0):
    def init(model):
        with torch.no_grad():
            for i, layer in enumerate(m for m in model.modules() if isinstance(m, nn.Linear)):
                layer.weight.normal_(0.0, (first_gain if i == 0 else gain) / math.sqrt(fan(layer)))
                layer.bias.fill_(bias)

    return init


GELU_GAIN = 1 / math.sqrt(0.4252)  # E[gelu(y)^2] for y ~ N(0, 1) to 4 digits


def test_gelu_init():
    torch.manual_seed(0)
    check_gelu_init(gelu_init_with(GELU_GAIN))


@pytest.mark.parametrize(
    "wrong, message",
    [
        (gelu_init_with(math.sqrt(2)), "ReLU's gain"),
        (gelu_init_with(1.0), "gain 1"),
        (gelu_init_with(1.7010), "1/std"),
        (gelu_init_with(GELU_GAIN, first_gain=GELU_GAIN), "standardized pixels"),
        (gelu_init_with(GELU_GAIN, fan=lambda layer: layer.out_features), "fan-out"),
        (gelu_init_with(GELU_GAIN, bias=0.01), "biases to 0"),
        (lambda model: None, "not set"),
    ],
)
def test_gelu_init_rejects(wrong, message):
    torch.manual_seed(0)
    with pytest.raises(ExerciseError, match=message):
        check_gelu_init(wrong)


@pytest.mark.parametrize("seed", range(20))
def test_gelu_init_accepts_the_solution_on_every_seed(seed):
    """The tolerance is 5 standard errors of each layer's sample std: the right answer passes on any seed."""
    torch.manual_seed(seed)
    check_gelu_init(gelu_init_with(GELU_GAIN))


def copy_first_row(model):
    gelu_init_with(GELU_GAIN)(model)
    with torch.no_grad():
        for layer in (m for m in model.modules() if isinstance(m, nn.Linear)):
            layer.weight.copy_(layer.weight[:1].expand_as(layer.weight))


def test_gelu_init_names_copied_rows_as_symmetry():
    with pytest.raises(ExerciseError, match="symmetry"):
        check_gelu_init(copy_first_row)


WRONG_KINDS = [0.5, (1.0, 2.0), [1.0], float("nan"), "1.53", None]


@pytest.mark.parametrize("answer", WRONG_KINDS, ids=repr)
def test_wrong_kinds_of_answers_give_one_sentence(answer):
    checkers = [
        (check_bias_floor, lambda std, width: answer),
        (check_backward_ratio, lambda widths: answer),
        (check_empirical_gain, lambda act_fn: answer),
        (check_conv_fans, lambda conv: answer),
        (check_width_schedule_stds, lambda widths: answer),
        (check_gelu_init, answer),
    ]
    for checker, wrong in checkers:
        if (
            checker in (check_bias_floor, check_backward_ratio, check_empirical_gain)
            and isinstance(answer, float)
            and not math.isnan(answer)
        ):
            continue  # a plain float is the right kind for these; its value is tested elsewhere
        with pytest.raises(ExerciseError) as info:
            checker(wrong)
        assert info.value.args[0].count(". ") <= 1, f"{checker.__name__}: {info.value}"
