"""The checkers of notebooks 07-08 accept a right answer and explain a wrong one."""

import ast
import json

import pytest
import torch
from nbsource import notebook_path

from utils.exercises import ExerciseError
from utils.exercises.surfaces import (
    check_adam_predictions,
    check_first_adam_step,
    check_ravine_settles,
    check_reaches_optimum,
)
from utils.optimizers import SGD, Adam, OptimizerTemplate, SGDMomentum


class SGDExpDecay(OptimizerTemplate):
    """SGD whose learning rate shrinks by `decay` every step (the worked solution of notebook 07)."""

    def __init__(self, params, lr, decay):
        super().__init__(params, lr)
        self.decay = decay

    def step(self):
        super().step()
        self.lr *= self.decay

    def update_param(self, p):
        p.add_(p.grad, alpha=-self.lr)


class ClippedMomentum(SGDMomentum):
    """SGD with momentum on a gradient clipped to norm max_norm (the worked solution of notebook 08)."""

    def __init__(self, params, lr, momentum=0.0, max_norm=1.0):
        super().__init__(params, lr, momentum)
        self.max_norm = max_norm

    def update_param(self, p):
        norm = p.grad.norm()
        if norm > self.max_norm:
            p.grad.mul_(self.max_norm / norm)
        super().update_param(p)


class TorchClipNorm(ClippedMomentum):
    """Right: torch's clip_grad_norm_ (divides by |g| + 1e-6, so each clip differs by ~1e-6 relative)."""

    def update_param(self, p):
        torch.nn.utils.clip_grad_norm_([p], self.max_norm)
        SGDMomentum.update_param(self, p)


class ClipWithEps(ClippedMomentum):
    """Right: notebook 09's formula g * min(1, max_norm / (|g| + 1e-6))."""

    def update_param(self, p):
        p.grad.mul_(min(1.0, self.max_norm / (p.grad.norm().item() + 1e-6)))
        SGDMomentum.update_param(self, p)


class ClipValue(ClippedMomentum):
    """Wrong: torch's clip_grad_value_ clamps each coordinate, it does not scale the vector."""

    def update_param(self, p):
        torch.nn.utils.clip_grad_value_([p], self.max_norm)
        SGDMomentum.update_param(self, p)


class ClampEach(ClippedMomentum):
    """Wrong: clamps each coordinate to [-max_norm, max_norm] instead of scaling the vector."""

    def update_param(self, p):
        p.grad.clamp_(-self.max_norm, self.max_norm)
        SGDMomentum.update_param(self, p)


class AlwaysNormalize(ClippedMomentum):
    """Wrong: rescales every gradient to norm max_norm, small ones included."""

    def update_param(self, p):
        p.grad.mul_(self.max_norm / p.grad.norm())
        SGDMomentum.update_param(self, p)


class ClipToConstant(ClippedMomentum):
    """Wrong: clips to norm 0.1 whatever max_norm says."""

    def update_param(self, p):
        norm = p.grad.norm()
        if norm > 0.1:
            p.grad.mul_(0.1 / norm)
        SGDMomentum.update_param(self, p)


class ConstantMomentum(OptimizerTemplate):
    """Wrong for exercise 07: a hand-written momentum with a constant rate (settles, but is not SGD)."""

    def __init__(self, params, lr):
        super().__init__(params, lr)
        self.m = {p: torch.zeros_like(p) for p in self.params}

    def update_param(self, p):
        self.m[p].mul_(0.9).add_(p.grad, alpha=0.1)
        p.add_(self.m[p], alpha=-self.lr)


def _classes(source: str) -> dict[str, list[str]]:
    """class name -> argument names of its __init__ (empty when it inherits __init__)."""
    found = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            init = [f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"]
            found[node.name] = [a.arg for a in init[0].args.args] if init else []
    return found


@pytest.mark.parametrize("prefix", ["05", "07", "08"])
def test_skeleton_and_solution_define_the_same_classes(prefix):
    """The student's skeleton and the hidden solution name and build their optimizer the same way."""
    doc = json.loads(notebook_path(prefix).read_text())
    code = [
        (c["metadata"].get("tags", []), "".join(c["source"]))
        for c in doc["cells"]
        if c["cell_type"] == "code"
    ]
    pairs = [(code[i - 1][1], src) for i, (tags, src) in enumerate(code) if "solution" in tags]
    assert pairs, f"notebook {prefix} has no solution cells"
    for skeleton, solution in pairs:
        for name, init_args in _classes(solution).items():
            assert _classes(skeleton).get(name) == init_args, (
                f"notebook {prefix}: the solution defines {name}{init_args}, the skeleton does not"
            )


def test_ravine_accepts_a_decaying_schedule(capsys):
    check_ravine_settles(lambda p: SGDExpDecay(p, lr=10, decay=0.97))
    assert "Correct" in capsys.readouterr().out


def test_ravine_rejects_constant_lr_with_the_bounce():
    with pytest.raises(ExerciseError, match="still bouncing.*changed sign"):
        check_ravine_settles(lambda p: SGD(p, lr=10))


def test_ravine_rejects_a_schedule_that_stops_moving():
    with pytest.raises(ExerciseError, match="hardly moves along the valley"):
        check_ravine_settles(lambda p: SGDExpDecay(p, lr=10, decay=0.9))


@pytest.mark.parametrize(
    "wrong",
    [
        lambda p: SGDMomentum(p, lr=10, momentum=0.9),
        lambda p: ConstantMomentum(p, lr=10),
        lambda p: torch.optim.SGD(p, lr=1, momentum=0.9),
        lambda p: torch.optim.SGD(p, lr=10, momentum=0.9),
        lambda p: torch.optim.Adam(p, lr=1),
        lambda p: Adam(p, lr=1),
    ],
    ids=["course-momentum", "own-momentum", "torch-mom-lr1", "torch-mom-lr10", "torch-adam", "adam"],
)
def test_ravine_rejects_optimizers_that_are_not_plain_sgd(wrong):
    with pytest.raises(ExerciseError, match="not along minus the gradient.*plain SGD"):
        check_ravine_settles(wrong)


@pytest.mark.parametrize("decay", [0.95, 0.96, 0.97])
def test_ravine_accepts_plain_sgd_schedules_in_float32(decay):
    """Rounding of the float32 path must not make a plain SGD step look like momentum."""
    check_ravine_settles(lambda p: SGDExpDecay(p, lr=10, decay=decay))


@pytest.mark.parametrize("answer", ["SGD", SGDExpDecay, [0.97]], ids=["string", "class", "list"])
def test_ravine_names_the_wrong_kind_of_answer(answer):
    with pytest.raises(ExerciseError, match="pass a function"):
        check_ravine_settles(answer)


RIGHT = {(0.2, 0.1): (1, -0.5), (-0.6, 0.0): (-1, 0.5), (0.6, 1.3): None}


def test_adam_predictions_accepts_the_right_ones():
    check_adam_predictions(RIGHT)


def test_adam_predictions_explains_eps():
    with pytest.raises(ExerciseError, match="never left the plane.*eps"):
        check_adam_predictions({**RIGHT, (0.6, 1.3): (-1, 0.5)})


def test_adam_predictions_wrong_optimum_and_missing():
    with pytest.raises(ExerciseError, match=r"predicted \(-0.5, -0.8\).*inside the optimum at \(1.0, -0.5\)"):
        check_adam_predictions({**RIGHT, (0.2, 0.1): (-0.5, -0.8)})
    with pytest.raises(ExerciseError, match="no prediction"):
        check_adam_predictions({(0.2, 0.1): (1, -0.5)})


@pytest.mark.parametrize("right", [ClippedMomentum, TorchClipNorm, ClipWithEps])
def test_reaches_optimum_accepts_clipped_momentum(right, capsys):
    check_reaches_optimum(right)
    assert "Correct" in capsys.readouterr().out


def test_reaches_optimum_rejects_a_right_clip_that_is_thrown_out(monkeypatch):
    """The path test itself: unclipped momentum (max_norm ignored after the probes) leaves the hole."""
    from utils.exercises import surfaces

    monkeypatch.setattr(surfaces, "_check_clipping", lambda optimizer_class: None)
    with pytest.raises(ExerciseError, match="must stay in the hole"):
        check_reaches_optimum(lambda_free_momentum())


def lambda_free_momentum():
    """SGDMomentum that accepts (and ignores) max_norm: the unclipped race optimizer."""

    class Unclipped(SGDMomentum):
        def __init__(self, params, lr, momentum=0.0, max_norm=1.0):
            super().__init__(params, lr, momentum)

    return Unclipped


@pytest.mark.parametrize("wrong", [ClampEach, ClipValue, AlwaysNormalize, ClipToConstant, SGDMomentum])
def test_reaches_optimum_rejects_the_wrong_clipping(wrong):
    match = "build it as" if wrong is SGDMomentum else "rescale the whole gradient"
    with pytest.raises(ExerciseError, match=match):
        check_reaches_optimum(wrong)


@pytest.mark.parametrize("adam", [Adam, torch.optim.Adam])
def test_reaches_optimum_rejects_adam(adam):
    with pytest.raises(ExerciseError, match="Adam does this already"):
        check_reaches_optimum(adam)


@pytest.mark.parametrize(
    "answer",
    ["ClippedMomentum", lambda p: ClippedMomentum(p, lr=1, momentum=0.9), [ClippedMomentum]],
    ids=["string", "function", "list"],
)
def test_reaches_optimum_names_the_wrong_kind_of_answer(answer):
    with pytest.raises(ExerciseError, match="pass the class itself"):
        check_reaches_optimum(answer)


def test_adam_predictions_names_the_wrong_kind_of_answer():
    with pytest.raises(ExerciseError, match="give a dict"):
        check_adam_predictions([(1, -0.5), (-1, 0.5), None])


def test_first_adam_step_is_minus_lr_times_the_sign():
    check_first_adam_step([-1.0, -1.0])


def test_first_adam_step_explains_sgd_and_missing_bias_correction():
    with pytest.raises(ExerciseError, match="SGD's step"):
        check_first_adam_step([-0.0104, -0.0066])  # -lr * g at (5, 5)
    with pytest.raises(ExerciseError, match="bias correction"):
        check_first_adam_step([-3.1623, -3.1623])
    with pytest.raises(ExerciseError, match="two numbers"):
        check_first_adam_step(-1.0)


def test_reaches_optimum_message_shows_the_difference():
    """A wrong step's message prints enough digits to see where got and expected differ."""
    with pytest.raises(ExerciseError, match=r"off by [0-9.]+e-0[0-9] of its length, allowed 1e-04"):
        check_reaches_optimum(ClampEach)
