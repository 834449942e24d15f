"""Very deep fully connected networks for notebook 13: plain, normalized (BatchNorm / LayerNorm) and residual.

Every variant has the same skeleton, so that differences come from the one thing that changes:
a stem (Linear 784 -> width, then the normalization if any), a stack of width -> width blocks, and a head
(ReLU, Linear width -> 10). Blocks are pre-activation (ReLU first), so the stream handed from block to
block is a linear layer's output (or its normalized version): the quantity whose variance notebooks 02-04
keep at 1. A plain block is one linear layer; a residual block, x + W2 relu(W1 relu(x)), holds two, so
`depth` hidden linear layers make `depth` plain blocks or `depth // 2` residual blocks (same parameters).
"""

from torch import nn

NORMS = {None: nn.Identity, "batch": nn.BatchNorm1d, "layer": nn.LayerNorm}


def make_norm(norm: str | None, width: int) -> nn.Module:
    """The normalization layer named by `norm` (None, "batch" or "layer") for `width` features."""
    if norm not in NORMS:
        raise ValueError(f"Unknown norm {norm!r}: use one of {list(NORMS)}.")
    return nn.Identity() if norm is None else NORMS[norm](width)


class PlainBlock(nn.Sequential):
    """ReLU -> Linear -> (normalization): one hidden layer of a plain network."""

    def __init__(self, width: int, norm: str | None = None):
        super().__init__(nn.ReLU(), nn.Linear(width, width), make_norm(norm, width))


class ResidualBlock(nn.Module):
    """x + branch(x), branch = ReLU -> Linear -> ReLU -> Linear. The identity path carries the signal
    (and the gradient) through unchanged; the init decides how much the branch adds."""

    def __init__(self, width: int):
        super().__init__()
        self.branch = nn.Sequential(nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))

    def forward(self, x):
        return x + self.branch(x)


class DeepMLP(nn.Module):
    """Stem, `depth` hidden linear layers of `width` units in blocks, head; `model.blocks` in order."""

    def __init__(
        self,
        depth: int = 40,
        width: int = 128,
        norm: str | None = None,
        residual: bool = False,
        input_size: int = 784,
        num_classes: int = 10,
    ):
        super().__init__()
        if depth < 2 or width < 1 or (residual and depth % 2):
            raise ValueError(
                f"depth must be >= 2 (even for a residual network) and width >= 1, got "
                f"depth={depth}, width={width}, residual={residual}."
            )
        if residual and norm is not None:
            raise ValueError("The residual variant is the normalization-free one: use norm=None.")
        self.stem = nn.Sequential(nn.Linear(input_size, width), make_norm(norm, width))
        blocks = (
            [ResidualBlock(width) for _ in range(depth // 2)]
            if residual
            else [PlainBlock(width, norm) for _ in range(depth)]
        )
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(width, num_classes))

    def stream(self, x):
        """The stem's output, then every block's output, in order (what the variance plots show)."""
        x = self.stem(x.flatten(start_dim=1))
        outputs = [x]
        for block in self.blocks:
            x = block(x)
            outputs.append(x)
        return outputs

    def forward(self, x):
        return self.head(self.stream(x)[-1])


def stream_variances(model: DeepMLP, imgs, labels) -> tuple[list[int], list[float], list[float]]:
    """(linear-layer index of each stream tensor, its variance, the variance of the loss gradient w.r.t. it)
    on one batch. The stem's output is layer 1; a plain block adds one linear layer, a residual block two.
    The model stays in its current mode (a fresh one is in training mode: BatchNorm uses the batch)."""
    outputs = model.stream(imgs)
    for out in outputs:
        out.retain_grad()
    model.zero_grad()
    nn.functional.cross_entropy(model.head(outputs[-1]), labels).backward()
    model.zero_grad()
    per_block = 2 if isinstance(model.blocks[0], ResidualBlock) else 1
    layers = [1 + per_block * i for i in range(len(outputs))]
    return (
        layers,
        [out.detach().var().item() for out in outputs],
        [out.grad.var().item() for out in outputs],
    )
