"""The course network: a fully connected classifier whose activation function is a parameter.

Every experiment of the course uses the same architecture (784 -> 512 -> 256 -> 256 -> 128 -> 10), so
that differences come from the initialization or the optimizer alone. The linear layers sit at even
indices of `model.layers` (0, 2, 4, 6, 8), the activations at odd ones.

`BaseNetwork.config` is everything needed to rebuild the network (checkpoints store it as JSON), so it
must be complete: an activation's arguments (LeakyReLU's slope) are recorded in it, sizes are checked,
and a config that does not describe a BaseNetwork is refused with the reason rather than half-used.
"""

import inspect
import math
import numbers
from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn


class Identity(nn.Module):
    """f(x) = x: a network of linear layers only, where the variance arithmetic is exact."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


act_fn_by_name = {"identity": Identity, "tanh": nn.Tanh, "relu": nn.ReLU, "leakyrelu": nn.LeakyReLU}

CONFIG_KEYS = ("act_fn", "input_size", "num_classes", "hidden_sizes")
ACT_KWARGS_KEY = "act_kwargs"  # in a config only when the activation has non-default arguments


def _unknown_activation(act_fn) -> ValueError:
    return ValueError(
        f"Unknown activation {act_fn!r}. Use one of {sorted(act_fn_by_name)}, as a name, a class or a module "
        "such as nn.LeakyReLU(0.3) (or add it to utils.models.act_fn_by_name)."
    )


def _init_defaults(cls) -> dict:
    """{argument: default} of an activation class's constructor."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]  # without self
    return {p.name: p.default for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _check_argument(name: str, key: str, value, default) -> None:
    """A value the JSON config can hold and the activation can use: bool for a flag, finite number else."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    else:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok:
        kind = "True or False" if isinstance(default, bool) else "a finite number"
        raise TypeError(f"The {name} activation's argument {key} must be {kind}, got {value!r}.")


def make_activation(name: str, kwargs: dict | None = None) -> nn.Module:
    """The activation `name` of act_fn_by_name built with `kwargs`, each checked (name and type)."""
    if not isinstance(name, str) or name.lower() not in act_fn_by_name:
        raise _unknown_activation(name)
    name, kwargs = name.lower(), dict(kwargs or {})
    defaults = _init_defaults(act_fn_by_name[name])
    for key, value in kwargs.items():
        if key not in defaults:
            raise ValueError(
                f"The {name} activation has no argument {key!r}; "
                f"its arguments are {sorted(defaults) or 'none'}."
            )
        _check_argument(name, key, value, defaults[key])
    return act_fn_by_name[name](**kwargs)


def _public_state(module: nn.Module) -> dict:
    """The module's own settings (attributes), without torch's bookkeeping and the train/eval flag."""
    return {k: v for k, v in vars(module).items() if not k.startswith("_") and k != "training"}


def activation_spec(act_fn) -> tuple[str, dict]:
    """(registry name, arguments that differ from the defaults) of an activation given as a name, a class
    or a module, such that make_activation(name, arguments) rebuilds it exactly.

    A module whose settings cannot be written down that way is refused rather than silently rebuilt with
    other settings (before this check, nn.LeakyReLU(0.3) became a network with slope 0.01).
    """
    if isinstance(act_fn, str):
        make_activation(act_fn)  # checks the name
        return act_fn.lower(), {}
    name = next((key for key, cls in act_fn_by_name.items() if act_fn is cls or type(act_fn) is cls), None)
    if name is None:
        raise _unknown_activation(act_fn)
    if isinstance(act_fn, type):
        return name, {}
    defaults = _init_defaults(act_fn_by_name[name])
    kwargs = {
        key: getattr(act_fn, key)
        for key, default in defaults.items()
        if hasattr(act_fn, key) and getattr(act_fn, key) != default
    }
    rebuilt = make_activation(name, kwargs)  # also checks that each value fits in a JSON config
    if _public_state(rebuilt) != _public_state(act_fn) or any(True for _ in act_fn.parameters()):
        raise ValueError(
            f"{act_fn!r} has settings that the network's config cannot record (it records only the "
            f"constructor arguments {sorted(defaults)}). Build it as {type(act_fn).__name__}(...) with its "
            "arguments only, or pass the activation's name."
        )
    return name, kwargs


def _positive_int(what: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be a positive whole number, got {value!r} ({type(value).__name__}).")
    if value <= 0:
        raise ValueError(f"{what} must be positive, got {value}: a layer needs at least one unit.")
    return int(value)


def _hidden_sizes(value) -> list[int]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(
            f"hidden_sizes must be a list of positive whole numbers such as [512, 256], got {value!r} "
            f"({type(value).__name__})."
        )
    return [_positive_int(f"hidden_sizes[{i}]", size) for i, size in enumerate(value)]


class BaseNetwork(nn.Module):
    """MLP with an activation after every hidden linear layer; inputs are flattened images.

    `act_fn` is a name of act_fn_by_name, one of its classes, or a module such as nn.LeakyReLU(0.3):
    every hidden layer gets its own activation module with the same settings. hidden_sizes may be empty
    (a linear classifier); every size must be a positive whole number.
    """

    def __init__(self, act_fn="relu", input_size=784, num_classes=10, hidden_sizes=(512, 256, 256, 128)):
        super().__init__()
        self.act_name, act_kwargs = activation_spec(act_fn)
        input_size = _positive_int("input_size", input_size)
        num_classes = _positive_int("num_classes", num_classes)
        hidden_sizes = _hidden_sizes(hidden_sizes)
        sizes = [input_size, *hidden_sizes]
        layers = []
        for d_in, d_out in pairwise(sizes):
            layers += [nn.Linear(d_in, d_out), make_activation(self.act_name, act_kwargs)]
        layers.append(nn.Linear(sizes[-1], num_classes))
        self.layers = nn.Sequential(*layers)
        self.config = {
            "act_fn": self.act_name,
            "input_size": input_size,
            "num_classes": num_classes,
            "hidden_sizes": hidden_sizes,
        }
        if act_kwargs:
            self.config[ACT_KWARGS_KEY] = act_kwargs

    @classmethod
    def from_config(cls, config: dict) -> "BaseNetwork":
        """Rebuild a network from its `config` (as stored in a checkpoint's JSON file).

        Raises TypeError or ValueError saying which key is wrong and why: not a dict, a missing or extra
        key, an unknown activation or argument, a size that is not a positive whole number.
        """
        if not isinstance(config, dict):
            raise TypeError(f"A network config must be a JSON object (dict), got {type(config).__name__}.")
        extra = sorted(set(config) - {*CONFIG_KEYS, ACT_KWARGS_KEY})
        missing = [key for key in CONFIG_KEYS if key not in config]
        if extra or missing:
            wrong = [f"unknown key(s) {extra}"] * bool(extra) + [f"missing key(s) {missing}"] * bool(missing)
            raise ValueError(
                f"Not a BaseNetwork config: {' and '.join(wrong)}. "
                f"It has exactly the keys {list(CONFIG_KEYS)}, and {ACT_KWARGS_KEY!r} for an activation's "
                "arguments."
            )
        act_kwargs = config.get(ACT_KWARGS_KEY, {})
        if not isinstance(act_kwargs, dict):
            raise TypeError(
                f'{ACT_KWARGS_KEY} must be a JSON object such as {{"negative_slope": 0.3}}, '
                f"got {act_kwargs!r}."
            )
        act_fn = make_activation(config["act_fn"], act_kwargs)
        return cls(act_fn, **{key: config[key] for key in CONFIG_KEYS[1:]})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x.flatten(start_dim=1))
