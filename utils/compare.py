"""Comparing two trained copies of a network, as notebooks 09 and 10 do to show that two ways of
writing an update take the same steps."""

from torch import nn


def max_weight_diff(a: nn.Module, b: nn.Module) -> float:
    """Largest absolute difference between corresponding parameters of two networks of one architecture.

    0.0 means bit-for-bit equal weights; float32 round-off of one run against a reordered computation of
    the same run shows up as about 1e-7 times the size of the weights.
    """
    params_a, params_b = list(a.parameters()), list(b.parameters())
    shapes_a, shapes_b = [tuple(p.shape) for p in params_a], [tuple(q.shape) for q in params_b]
    if shapes_a != shapes_b:
        raise ValueError(
            "max_weight_diff compares two networks of the same architecture; the parameter "
            f"shapes differ: {shapes_a} vs {shapes_b}"
        )
    return max((p - q).abs().max().item() for p, q in zip(params_a, params_b, strict=True))
