"""Checkers for the exercises at the end of notebook 06 (training on Fashion-MNIST).

1. accuracy(net, data_split, batch_size): the evaluation loop on tensors, batch by batch.
2. early_stopping(val_acc, patience): from a run's per-epoch validation accuracies, the epoch whose
   checkpoint early stopping keeps and the epoch at which it stops training.
"""

import numbers

import torch

from utils import set_seed
from utils.exercises import check, passed
from utils.models import BaseNetwork


def _reference_accuracy(net, x, y) -> float:
    with torch.no_grad():
        return (net(x).argmax(dim=-1) == y).float().mean().item()


def _largest_batch_seen(net) -> list[int]:
    """Record the size of every batch `net` is called on (a forward pre-hook): [largest so far]."""
    largest = [0]

    def record(module, inputs):
        largest[0] = max(largest[0], len(inputs[0]))

    net.register_forward_pre_hook(record)
    return largest


def check_accuracy(accuracy) -> None:
    """accuracy(net, (x, y), batch_size) must equal the fraction of correct predictions over all of x,
    computed in batches of at most batch_size images (also when the last batch is smaller than the
    others), and come back as a plain float."""
    check(
        callable(accuracy) and not isinstance(accuracy, type),
        f"pass your function itself, accuracy(net, data_split, batch_size); got {accuracy!r}",
    )
    set_seed(0)
    net = BaseNetwork("relu", hidden_sizes=(32,))
    x = torch.randn(1000, 1, 28, 28)
    y = net(x).argmax(dim=-1).detach()
    y[::3] = (y[::3] + 1) % 10  # every third prediction wrong: the accuracy is 0.666
    expected = _reference_accuracy(net, x, y)
    largest = _largest_batch_seen(net)
    for batch_size in (1000, 300, 7):
        largest[0] = 0
        got = accuracy(net, (x, y), batch_size)
        check(
            largest[0] <= batch_size,
            f"with batch_size={batch_size} the network was called on {largest[0]} images at once: "
            "evaluate x in slices of batch_size images (a huge split would not fit in memory in one pass)",
        )
        check(
            isinstance(got, float),
            f"accuracy should return a Python float (use .item()), got {type(got).__name__}.",
        )
        check(
            0.0 <= got <= 1.0,
            f"accuracy must be a fraction in [0, 1], got {got} (divide by the number of images).",
        )
        if abs(got - expected) > 1e-6 and batch_size != 1000:
            per_batch_mean = _mean_of_batch_accuracies(net, x, y, batch_size)
            kept = len(x) // batch_size * batch_size
            dropped = _reference_accuracy(net, x[:kept], y[:kept])
            if abs(got - per_batch_mean) < 1e-6:
                hint = (
                    "you averaged the per-batch accuracies; the last batch is smaller, so count correct "
                    "predictions over all batches and divide once by the number of images"
                )
            elif min(abs(got - dropped), abs(got - dropped * kept / len(x))) < 1e-6:  # / kept or / len(x)
                hint = "the last, smaller batch was left out: range(0, len(x), batch_size) covers every image"
            else:
                hint = "compare argmax(dim=-1) of the logits with the labels, sum, and divide by len(x)"
            check(
                False,
                f"with batch_size={batch_size} on 1,000 images: expected {expected:.4f}, got {got:.4f}: "
                f"{hint}.",
            )
        check(
            abs(got - expected) < 1e-6,
            f"with one batch of 1,000 images: expected {expected:.4f}, got {got:.4f}: "
            "compare argmax(dim=-1) of the logits with the labels.",
        )
    return passed("accuracy")


def _mean_of_batch_accuracies(net, x, y, batch_size) -> float:
    accs = [
        _reference_accuracy(net, x[i : i + batch_size], y[i : i + batch_size])
        for i in range(0, len(x), batch_size)
    ]
    return sum(accs) / len(accs)


# (val_acc, patience, what it tests, (best_epoch, stop_epoch)): answers worked out by hand, epochs from 0;
# the one implementation is the notebook's solution (tests/test_exercises_training.py runs it on these)
EARLY_STOPPING_CASES = [
    ([0.50, 0.60, 0.70, 0.65, 0.66, 0.64, 0.80], 3, "stops before a late improvement", (2, 5)),
    ([0.50, 0.60, 0.70, 0.65, 0.66, 0.64, 0.80], 10, "never runs out of patience", (6, 6)),
    ([0.50, 0.70, 0.70, 0.70, 0.60], 2, "a tie is not an improvement", (1, 3)),
    ([0.80, 0.70, 0.60], 1, "stops after the first epoch without improvement", (0, 1)),
    (
        [0.50, 0.60, 0.55, 0.70, 0.65, 0.80, 0.75, 0.90],
        2,
        "the count of epochs without improvement starts again at every improvement",
        (7, 7),
    ),
    ([0.80, 0.81, 0.82, 0.83, 0.84], 2, "any higher accuracy is an improvement, however small", (4, 4)),
]


def check_early_stopping(early_stopping) -> None:
    """early_stopping(val_acc, patience) -> (best_epoch, stop_epoch), on hand-made curves."""
    check(
        callable(early_stopping) and not isinstance(early_stopping, type),
        f"pass your function itself, early_stopping(val_acc, patience); got {early_stopping!r}",
    )
    for val_acc, patience, what, expected in EARLY_STOPPING_CASES:
        got = early_stopping(list(val_acc), patience)
        check(
            isinstance(got, (tuple, list))
            and len(got) == 2
            and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in got),
            f"return a pair of epoch numbers (best_epoch, stop_epoch), got {got!r}.",
        )
        got = tuple(int(v) for v in got)
        if got == expected:
            continue
        where = f"val_acc={val_acc}, patience={patience} ({what}): expected {expected}, got {got}"
        if got[0] != expected[0]:
            hint = (
                "best_epoch is the epoch of the highest validation accuracy seen before stopping "
                "(the first one, if it repeats: only a strictly higher value is an improvement)"
            )
        elif got[1] == expected[1] + 1:
            hint = (
                "you stop one epoch late: stop in the epoch where the count of epochs without improvement "
                "reaches patience"
            )
        elif got[1] == expected[1] - 1:
            hint = "you stop one epoch early: allow `patience` epochs without improvement, then stop"
        else:
            hint = "stop_epoch is the epoch in which the patience runs out, else the last epoch"
        check(False, f"{where}: {hint}.")
    return passed("early_stopping")
