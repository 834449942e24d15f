"""Checkers for the exercises of notebook 13 (very deep networks): LSUV, and the residual branch scale.

The LSUV checker runs the student's function on a deep network that starts from a deliberately bad
init and on a batch that is not standardized, then looks at what LSUV promises: every linear layer's
output has variance 1 on the batch, the weights are random (scaled) orthogonal matrices, the biases are 0.
Each typical mistake breaks one of these (rescaling all layers from one forward pass, dividing by the
variance instead of the std, skipping the orthogonal start, starting from the identity, calibrating on a
batch of one's own), and the message names it. A loop that never settles is stopped after a fixed number
of forward passes, with a message that says so.
"""

import math

import torch

from utils import torch_generator
from utils.deep import DeepMLP
from utils.exercises import check, passed
from utils.init import layer_output_variance, linear_layers, var_init

LSUV_TOL = 0.01  # the exercise's tolerance: |Var - 1| < 0.01 for every layer
ROUNDING = 1e-3  # slack for a variance computed another way (float64, biased): not a looser target
PASSES_PER_LAYER = 20  # forward passes allowed per linear layer; the solution needs 1-3
TRACE_LIMIT = 8.0  # |trace| of a random orthogonal matrix is about N(0, 1): 8 is never reached by chance


def _off_orthogonal(weight: torch.Tensor) -> float:
    """Largest |entry| of W W^T / mean(diag) - I over the smaller side: 0 for a scaled orthogonal matrix."""
    w = weight.detach().double()
    gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    gram = gram / gram.diagonal().mean()
    return (gram - torch.eye(len(gram), dtype=gram.dtype)).abs().max().item()


def check_lsuv(lsuv_fn) -> None:
    """Exercise 13.1: lsuv_fn(model, imgs) initializes `model` in place by LSUV on the batch `imgs`."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small matrices: one thread is as fast, and immune to busy neighbours
    try:
        _check_lsuv(lsuv_fn)
    finally:
        torch.set_num_threads(threads)
    return passed(getattr(lsuv_fn, "__name__", "your function"))


class _PassLimit:
    """A forward pre-hook that stops the student's function (ExerciseError) after `limit` passes."""

    def __init__(self, limit: int):
        self.limit, self.passes = limit, 0

    def __call__(self, module, inputs):
        self.passes += 1
        check(
            self.passes <= self.limit,
            f"Your function ran the network {self.limit} times without finishing, and the checker "
            "stopped it: its loop does not settle. Dividing the weights by the variance instead of the "
            "std (its square root) overshoots back and forth forever; cap the rescalings of each layer "
            "(say 10) so that a mistake cannot hang.",
        )


def _check_lsuv(lsuv_fn) -> None:
    # Not standardized (mean 0.5, std 2), so an LSUV that calibrates on a batch of its own fails.
    imgs = 0.5 + 2.0 * torch.randn(256, 1, 28, 28, generator=torch_generator(0))
    model = DeepMLP(depth=20, width=64)
    var_init(model, 0.5)  # a bad start (exploding, non-zero biases) that LSUV must overwrite
    layers = linear_layers(model)
    handle = model.register_forward_pre_hook(_PassLimit(PASSES_PER_LAYER * len(layers)))
    try:
        lsuv_fn(model, imgs)
    finally:
        handle.remove()
    for i, layer in enumerate(layers):  # the start first: a wrong start also spoils the variances
        _check_start(i, layer)
    for i, layer in enumerate(layers):
        var = layer_output_variance(model, layer, imgs)
        check(
            abs(var - 1) < LSUV_TOL + ROUNDING,
            f"Linear layer {i} of {len(layers)}: output variance {var:.4g} on the batch `imgs` "
            f"(output.var() over all entries), expected 1 within {LSUV_TOL}. Usual causes: dividing the "
            "weights by the variance instead of the std (its square root); calibrating on another batch "
            "than the `imgs` given; stopping at a looser tolerance (a layer that starts within it is "
            "left as it is); or rescaling every layer from one "
            "forward pass: each layer must be measured after the layers before it are fixed, since "
            "rescaling a layer changes every output after it.",
        )


def _check_start(i: int, layer: torch.nn.Linear) -> None:
    """Zero biases, and a weight that is a multiple of a random orthogonal matrix (not the identity)."""
    check(
        layer.bias is None or layer.bias.abs().max().item() == 0,
        f"Linear layer {i}: biases are not 0 (largest |b| = {layer.bias.abs().max().item():.3g}); "
        "the orthogonal start sets them to 0.",
    )
    off = _off_orthogonal(layer.weight)
    check(
        off < 1e-3,
        f"Linear layer {i}: W W^T is not a multiple of the identity (largest deviation "
        f"{off:.3g}): LSUV starts from an orthogonal init (nn.init.orthogonal_), then only "
        "rescales.",
    )
    if layer.in_features == layer.out_features:
        w = layer.weight.detach().double()
        trace = (w.trace() * math.sqrt(len(w)) / w.norm()).item()  # the trace of its orthogonal factor
        check(
            abs(trace) < TRACE_LIMIT,
            f"Linear layer {i}: the weight is a multiple of the identity or close to it (its orthogonal "
            f"factor has trace {trace:.3g}; a random one's is about N(0, 1)). LSUV starts from a RANDOM "
            "orthogonal matrix (nn.init.orthogonal_), not nn.init.eye_.",
        )


def check_branch_scale(branch_scale) -> None:
    """Exercise 13.2: branch_scale(L) -> alpha such that L residual blocks x + alpha * branch(x) (branch
    variance-preserving and uncorrelated with x) multiply the variance by exactly 2: (1 + alpha^2)^L = 2."""
    for blocks in (1, 2, 5, 20, 100, 1000):
        alpha = float(branch_scale(blocks))
        check(
            alpha >= 0,
            f"L = {blocks}: alpha = {alpha:.4g} is negative. (1 + alpha^2)^L does not see the sign, but "
            "a branch scale is a size (scale_residual_branches takes alpha >= 0): give the positive root.",
        )
        growth = (1 + alpha**2) ** blocks
        hint = ""
        if math.isclose(alpha, 1 / blocks, rel_tol=1e-3) and blocks > 1:
            hint = (
                " alpha = 1/L shrinks too fast: (1 + 1/L^2)^L -> 1, the branches add almost nothing. "
                "The variance adds alpha^2 per block, so it is alpha^2 that must scale like 1/L."
            )
        elif math.isclose(alpha, 1 / math.sqrt(blocks), rel_tol=1e-3) and blocks > 1:
            hint = (
                " alpha = 1/sqrt(L) is the right law, but (1 + 1/L)^L grows towards e, not 2: solve exactly."
            )
        elif math.isclose(alpha, math.sqrt(math.log(2) / blocks), rel_tol=1e-3):
            hint = " sqrt(ln 2 / L) is the large-L approximation; solve (1 + alpha^2)^L = 2 exactly."
        elif math.isclose(alpha, 2 ** (1 / blocks) - 1, rel_tol=1e-3):
            hint = " That is alpha^2; the branch scale is its square root."
        check(
            abs(growth / 2 - 1) < 1e-3,
            f"L = {blocks} blocks, alpha = {alpha:.4g}: the variance grows by "
            f"(1 + alpha^2)^L = {growth:.4g}, expected 2.{hint}",
        )
    return passed(getattr(branch_scale, "__name__", "your function"))
