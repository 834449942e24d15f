"""The course network: a fully connected classifier whose activation function is a parameter.

Every experiment of the course uses the same architecture (784 -> 512 -> 256 -> 256 -> 128 -> 10), so
that differences come from the initialization or the optimizer alone. The linear layers sit at even
indices of `model.layers` (0, 2, 4, 6, 8), the activations at odd ones.
"""

import torch
from torch import nn


class Identity(nn.Module):
    """f(x) = x: a network of linear layers only, where the variance arithmetic is exact."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


act_fn_by_name = {"identity": Identity, "tanh": nn.Tanh, "relu": nn.ReLU, "leakyrelu": nn.LeakyReLU}


def activation_name(act_fn) -> str:
    """The registry name of an activation given as a name or a module; a clear error otherwise."""
    if isinstance(act_fn, str):
        name = act_fn.lower()
    else:
        name = next((key for key, cls in act_fn_by_name.items() if type(act_fn) is cls), repr(act_fn))
    if name not in act_fn_by_name:
        raise ValueError(
            f"Unknown activation {act_fn!r}. Use one of {sorted(act_fn_by_name)} "
            "(or add it to utils.models.act_fn_by_name)."
        )
    return name


class BaseNetwork(nn.Module):
    """MLP with an activation after every hidden linear layer; inputs are flattened images."""

    def __init__(self, act_fn="relu", input_size=784, num_classes=10, hidden_sizes=(512, 256, 256, 128)):
        super().__init__()
        self.act_name = activation_name(act_fn)
        sizes = [input_size, *hidden_sizes]
        layers = []
        for d_in, d_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(d_in, d_out), act_fn_by_name[self.act_name]()]
        layers.append(nn.Linear(sizes[-1], num_classes))
        self.layers = nn.Sequential(*layers)
        self.config = {
            "act_fn": self.act_name,
            "input_size": input_size,
            "num_classes": num_classes,
            "hidden_sizes": list(hidden_sizes),
        }

    @classmethod
    def from_config(cls, config: dict) -> "BaseNetwork":
        """Rebuild a network from its `config` (as stored in a checkpoint's JSON file)."""
        return cls(**config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x.flatten(start_dim=1))
