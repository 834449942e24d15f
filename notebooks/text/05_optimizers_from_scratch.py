# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · Optimizers from scratch
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/courseware-dl/init-optim-course/blob/main/notebooks/05_optimizers_from_scratch.ipynb)
#
# Notebooks 01-04 chose where the weights **start**. From here on the question is how they **move**.
# An optimizer is the rule that turns the gradient into a step, and in this notebook we write the three
# that the rest of the course uses, from nothing but tensor arithmetic:
#
# 1. **SGD**: step against the gradient;
# 2. **SGD with momentum**: step against a running *average* of gradients;
# 3. **Adam**: a running average of gradients, divided by a running average of their *size*, so every
#    weight gets its own step length.
#
# Then we check them against `torch.optim` on the course's network and Fashion-MNIST, step for step,
# and settle a classic source of confusion: the four different ways people write momentum, and which
# learning rates make them the same algorithm. Notebook 06 trains with these exact classes (they are
# also in `utils.optimizers`, and a test keeps both copies equal).

# %%
# Set-up: make the course's helper package `utils` importable. Where it is installed (pip install -r
# requirements.txt) nothing happens; in Colab, or any kernel without it, this fetches the course at
# the version this notebook belongs to into ./course. Safe to run again, e.g. after a runtime restart.
import importlib
import os
import subprocess
import sys

COURSE_REPO = "courseware-dl/init-optim-course"
COURSE_VERSION = "v1.0.0"  # the git tag of the course release this notebook belongs to


class CourseSetupError(RuntimeError):
    def _render_traceback_(self):  # Jupyter shows this message alone, and "Run all" stops here
        return [str(self)]


def course_utils_importable():
    """True when `import utils` finds the course's package (not, say, a utils.py of your own)."""
    try:
        return importlib.import_module("utils").__dict__.get("COURSE_REPO") == COURSE_REPO
    except Exception:
        return False


def git(*args):
    subprocess.run(["git", *args], check=True, capture_output=True, text=True, timeout=300)


if not course_utils_importable():
    try:
        if not os.path.isdir("course/.git"):
            url = f"https://github.com/{COURSE_REPO}.git"
            git("clone", "--quiet", "--depth=1", "--branch", COURSE_VERSION, url, "course")
        else:  # fetched before (e.g. before a runtime restart): move it to this notebook's version
            git("-C", "course", "fetch", "--quiet", "--depth=1", "origin", "tag", COURSE_VERSION)
            git("-C", "course", "checkout", "--quiet", "--force", COURSE_VERSION)
    except (OSError, subprocess.SubprocessError) as error:
        if not os.path.isdir("course/utils"):
            reason = (getattr(error, "stderr", None) or str(error)).strip().splitlines()[-1:]
            raise CourseSetupError(
                f"Set-up failed: could not fetch the course's helper package (version {COURSE_VERSION} "
                f"of github.com/{COURSE_REPO}) into ./course ({' '.join(reason)}). Connect this runtime "
                "to the internet (in Colab: Runtime > Disconnect and delete runtime, then run again), "
                "or run the notebooks on your machine after `pip install -r requirements.txt` (README)."
            ) from None
    sys.path.insert(0, os.path.abspath("course"))
    for name in [m for m in sys.modules if m == "utils" or m.startswith("utils.")]:
        del sys.modules[name]  # a `utils` imported before this cell is not the course's
    if not course_utils_importable():
        raise CourseSetupError(
            "Set-up failed: ./course holds no course package `utils`. Delete the "
            "folder `course` and run this cell again."
        )

# %%
import copy
import math
import numbers

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib_inline.backend_inline import set_matplotlib_formats
from torch import nn

from utils import set_seed, torch_generator
from utils.data import fashion_mnist_tensors
from utils.exercises.optimizers import check_adagrad, check_nesterov
from utils.models import BaseNetwork
from utils.plotting import OPTIMIZER_COLORS, PALETTE, set_course_style

set_matplotlib_formats("png")
set_course_style()
set_seed(42)


# %% [markdown]
# ## What an optimizer is
#
# Training repeats one move: compute the gradient $g_t = \nabla_w \mathcal{L}(w_{t-1})$ of the loss on a
# batch, then update the weights. An optimizer is the function that makes the update,
#
# $$w_t = f\left(w_{t-1},\; g_t,\; \text{state}_{t-1}\right),$$
#
# where the *state* is whatever the optimizer remembers from earlier steps (nothing for SGD, a running
# average for momentum, two for Adam). Every optimizer has a **learning rate** $\eta$: it sets the
# **step size**, how far one update moves the weights. Everything else is about the *direction* and
# about how the step length adapts.
#
# ### The template
#
# All our optimizers share the same bookkeeping, so we write it once:
#
# * `__init__` keeps the list of parameters and the learning rate. It rejects a learning rate that is not
#   a positive finite number, and an empty list of parameters (easy to get: `model.parameters()` is a
#   generator, used up after one pass): a clear error now beats a silent non-training run later. Like
#   `torch.optim`, it also refuses a tensor that is not a leaf of the graph (a result computed from a
#   parameter, not the parameter). It refuses a parameter listed twice as well, where `torch.optim`
#   (version 2.13) only warns that this will become an error;
# * `zero_grad()` resets the gradients. PyTorch **adds** every `backward()` into `p.grad`, so without this
#   the gradient of step $t$ would include those of all earlier steps. It also detaches the gradient,
#   so no computation graph stays alive through it;
# * `step()` runs under `torch.no_grad()` (an update is not part of the model's computation, autograd must
#   not record it) and calls `update_param(p)` for every parameter **that has a gradient**: a parameter
#   that has never received one (a frozen layer, say) is skipped. One that was used before but not in
#   this step's forward pass is *not*: our `zero_grad` left it a gradient of zeros (see the last cell of
#   this section);
#   sparse gradients (from `nn.Embedding(sparse=True)`) are refused, as by `torch.optim.Adam`;
# * `update_param(p)` is the one thing a concrete optimizer defines.
#
# `_check_range` and `_check_positive` are tiny helpers that reject hyperparameters outside their allowed
# range (`inf` and `nan` included: `nan` fails every comparison) or that are not numbers (`lr="0.1"`).


# %%
def _check_range(name: str, value: float, low: float, high: float) -> None:
    """Reject a hyperparameter outside [low, high), or not a number, saying what is allowed."""
    if not isinstance(value, numbers.Real) or not low <= value < high:
        raise ValueError(f"{name} must be a number in [{low}, {high}), got {name}={value!r}")


def _check_positive(name: str, value: float) -> None:
    """Reject a step size or eps that is not a positive finite number (0, negative, inf, nan, a string)."""
    if not isinstance(value, numbers.Real) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a positive finite number, got {name}={value!r}")


class OptimizerTemplate:
    """Holds the parameters and the learning rate; subclasses define one parameter's update."""

    def __init__(self, params, lr: float):
        _check_positive("lr", lr)
        self.params = list(params)
        if not self.params:
            raise ValueError(
                "got an empty list of parameters: pass model.parameters() freshly to each "
                "optimizer (a generator is used up after one pass)"
            )
        if len({id(p) for p in self.params}) < len(self.params):
            raise ValueError("a parameter is listed more than once: list each parameter once")
        if not all(p.is_leaf for p in self.params):
            raise ValueError("can't optimize a non-leaf tensor: pass the parameters themselves")
        self.lr = lr

    def zero_grad(self):
        """Reset every gradient to zero (detached, so no graph is kept alive through it)."""
        for p in self.params:
            if p.grad is not None:
                p.grad.detach_()
                p.grad.zero_()

    @torch.no_grad()
    def step(self):
        """Apply update_param to every parameter that received a gradient."""
        for p in self.params:
            if p.grad is None:  # e.g. a frozen layer, or one that never received a gradient
                continue
            if p.grad.is_sparse:
                raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
            self.update_param(p)

    def update_param(self, p):
        raise NotImplementedError


# %% [markdown]
# Why `zero_grad` is needed: two `backward()` calls without it give **twice** the gradient.

# %%
w = torch.tensor([1.0, -2.0], requires_grad=True)
template = OptimizerTemplate([w], lr=0.1)
for _ in range(2):
    (w**2).sum().backward()  # dL/dw = 2w
print("after two backward() calls:   ", w.grad)
template.zero_grad()
(w**2).sum().backward()
print("after zero_grad() + backward():", w.grad)
assert torch.equal(w.grad, 2 * w.detach()), "after zero_grad only the new gradient is there"


# %% [markdown]
# A parameter that the forward pass stops using: `a` and `b` both enter the loss in step 1, only `a` in
# step 2. After step 2, has `b` moved? With SGD a zero gradient changes nothing, but Adam (below) keeps
# a running average $m$ and would still step along it. Our `zero_grad` zeroes `b.grad` in place; torch's
# (`set_to_none=True` by default) sets it to `None`, so `step()` skips `b`. The cell runs Adam (defined
# below, imported here from `utils.optimizers`, the same code) both ways, and torch.optim.Adam.

# %%
from utils.optimizers import Adam as CourseAdam


def moved_in_step_2(make_optimizer, set_to_none):
    """How far b moves in step 2, where the loss no longer uses it."""
    a, b = torch.ones(1, requires_grad=True), torch.ones(1, requires_grad=True)
    optimizer = make_optimizer([a, b])
    for loss in (lambda: (a * b).sum(), lambda: (a**2).sum()):
        if set_to_none:
            a.grad = b.grad = None
        else:
            optimizer.zero_grad()
        loss().backward()
        before = b.item()
        optimizer.step()
    return b.item() - before


unused = {
    "ours, zero_grad (zeros in place)": moved_in_step_2(lambda p: CourseAdam(p, lr=0.1), False),
    "ours, gradients set to None": moved_in_step_2(lambda p: CourseAdam(p, lr=0.1), True),
    "torch.optim.Adam, zero_grad()": moved_in_step_2(lambda p: torch.optim.Adam(p, lr=0.1), False),
}
for name, moved in unused.items():
    print(f"{name:>33}: b moved by {moved:+.4f} in step 2")
assert abs(unused["ours, zero_grad (zeros in place)"]) > 0.01, (
    "a zero gradient still lets Adam's average move b"
)
assert unused["ours, gradients set to None"] == 0 and unused["torch.optim.Adam, zero_grad()"] == 0, (
    "None: skipped"
)


# %% [markdown]
# ## SGD
#
# Stochastic gradient descent steps straight downhill, by the learning rate times the gradient:
#
# $$w_t = w_{t-1} - \eta\, g_t .$$
#
# ("Stochastic" because $g_t$ is computed on a random batch, not on the whole training set.) The update
# is done **in place** (`p.add_`): the optimizer changes the tensor that the model holds, it does not
# make a new one.


# %%
class SGD(OptimizerTemplate):
    """w <- w - lr * g"""

    def update_param(self, p):
        p.add_(p.grad, alpha=-self.lr)


# %% [markdown]
# The learning rate is literally the step size: the distance moved is $\eta\,\lVert g\rVert$.

# %%
for lr in (0.1, 0.5):
    w = torch.tensor([3.0, 4.0], requires_grad=True)  # loss ||w||^2 / 2 has gradient w, |g| = 5
    optimizer = SGD([w], lr=lr)
    before = w.detach().clone()
    (0.5 * (w**2).sum()).backward()
    optimizer.step()
    distance = (w.detach() - before).norm().item()
    print(f"lr = {lr}: moved {distance:.3f} = lr * |g| = {lr} * 5")
    assert abs(distance - lr * 5) < 1e-6, "SGD moves by lr * |g|"


# %% [markdown]
# ## SGD with momentum
#
# A single batch's gradient is noisy, and in a ravine it points mostly across the valley instead of along
# it (notebook 07). Momentum steps along an **exponential moving average** of the gradients instead:
#
# $$m_t = \beta\, m_{t-1} + (1-\beta)\, g_t, \qquad w_t = w_{t-1} - \eta\, m_t, \qquad m_0 = 0 .$$
#
# Unrolled, $m_t = (1-\beta)\sum_{k=1}^{t} \beta^{\,t-k} g_k$: the weights $(1-\beta)\beta^{t-k}$ sum to at most
# 1, and the average covers roughly the last $1/(1-\beta)$ gradients (10 for $\beta = 0.9$). Noise that
# flips sign from step to step cancels in the average; a direction that stays the same survives ($m$
# tends to $g$, below).
# $\beta = 0$ gives back SGD. This is the **averaged** form; torch.optim writes momentum differently,
# which is the subject of the last section.
#
# The state, one $m$ per parameter, lives in a dictionary keyed by the parameter tensor.


# %%
class SGDMomentum(OptimizerTemplate):
    """m <- beta * m + (1 - beta) * g;  w <- w - lr * m   (momentum as an average of gradients)."""

    def __init__(self, params, lr: float, momentum: float = 0.0):
        super().__init__(params, lr)
        _check_range("momentum", momentum, 0.0, 1.0)
        self.momentum = momentum
        self.param_momentum = {p: torch.zeros_like(p) for p in self.params}

    def update_param(self, p):
        m = self.param_momentum[p]
        m.mul_(self.momentum).add_(p.grad, alpha=1 - self.momentum)
        p.add_(m, alpha=-self.lr)


# %% [markdown]
# With a constant gradient $g$ the average starts at $0$ and fills up as $m_t = (1 - \beta^t)\,g$: the first
# steps are **shorter** than SGD's ($(1-0.9)\,g$, then $(1-0.9^2)\,g$, ...). After $1/(1-\beta) = 10$ steps the step
# has reached about two thirds of SGD's ($1 - 0.9^{10} \approx 1 - 1/e$), after 30 steps 96 %. (Adam corrects exactly this start-up bias; our momentum does not.)

# %%
beta, g = 0.9, torch.tensor([1.0])
w = torch.zeros(1, requires_grad=True)
optimizer = SGDMomentum([w], lr=1.0, momentum=beta)
for t in range(1, 31):
    w.grad = g.clone()  # the same gradient at every step
    optimizer.step()
    m = optimizer.param_momentum[w]
    assert torch.allclose(m, (1 - beta**t) * g), f"step {t}: m should be (1 - beta^t) g"
    if t in (1, 2, 3, 10, 30):
        print(f"step {t:2d}: m = {m.item():.4f} = (1 - 0.9^{t}) g")


# %% [markdown]
# ## Adam
#
# Adam (Kingma & Ba, 2015) keeps two moving averages per weight, of the gradient and of its square,
#
# $$m_t = \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 ,$$
#
# corrects their start at zero (the $(1-\beta^t)$ factor we just saw) with a per-parameter step count $t$,
#
# $$\hat m_t = \frac{m_t}{1-\beta_1^{\,t}}, \qquad \hat v_t = \frac{v_t}{1-\beta_2^{\,t}},$$
#
# and divides one by the square root of the other:
#
# $$w_t = w_{t-1} - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}.$$
#
# $\hat m_t / \sqrt{\hat v_t}$ is (roughly) the gradient measured in units of its own typical size. While a
# weight's gradient keeps its sign and its size, $\hat m_t \approx g$ and $\hat v_t \approx g^2$, so the ratio
# is about $\pm 1$ and the weight moves about $\eta$ per step, whether $g$ is big or small. That is not
# true in general:
#
# * when the gradient **flips sign**, the average $\hat m_t$ cancels towards 0 but $\hat v_t$ (an average of
#   squares) does not, so the steps become much shorter than $\eta$;
# * when the gradient **shrinks**, $\hat v_t$ still remembers the larger gradients of the past (with
#   $\beta_2 = 0.999$ and the bias correction it is close to the plain mean of all squared gradients so
#   far, for the first few hundred steps), so the steps shrink too.
#
# $\epsilon$ (default $10^{-8}$) keeps the division finite when $\hat v_t = 0$, and it sets a scale: a
# gradient far below $\epsilon$ gives a step far below $\eta$ (notebook 08's first exercise). Defaults:
# $\beta_1 = 0.9$, $\beta_2 = 0.999$.


# %%
class Adam(OptimizerTemplate):
    """Running averages m of g and v of g^2, bias-corrected, give each weight its own step size:
    w <- w - lr * m_hat / (sqrt(v_hat) + eps)."""

    def __init__(self, params, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(params, lr)
        _check_range("beta1", beta1, 0.0, 1.0)
        _check_range("beta2", beta2, 0.0, 1.0)
        _check_positive("eps", eps)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.param_step = {p: 0 for p in self.params}
        self.param_momentum = {p: torch.zeros_like(p) for p in self.params}
        self.param_2nd_momentum = {p: torch.zeros_like(p) for p in self.params}

    def update_param(self, p):
        self.param_step[p] += 1
        t = self.param_step[p]
        m = self.param_momentum[p].mul_(self.beta1).add_(p.grad, alpha=1 - self.beta1)
        v = self.param_2nd_momentum[p].mul_(self.beta2).addcmul_(p.grad, p.grad, value=1 - self.beta2)
        m_hat = m / (1 - self.beta1**t)
        v_hat = v / (1 - self.beta2**t)
        p.addcdiv_(m_hat, v_hat.sqrt() + self.eps, value=-self.lr)


# %% [markdown]
# The scale-free step, shown on the first update: there $\hat m_1 = g$ and $\hat v_1 = g^2$, so every weight
# moves by $\eta\,\operatorname{sign}(g)$ whether its gradient is $10^{-3}$ or $10^{3}$ (SGD would move them
# $10^6$ times differently).

# %%
w = torch.zeros(3, requires_grad=True)
optimizer = Adam([w], lr=0.01)
w.grad = torch.tensor([1e-3, -1.0, 1e3])
optimizer.step()
print("gradients:        ", w.grad.tolist())
print("Adam's first step:", w.detach().tolist())
assert torch.allclose(w.detach(), -0.01 * w.grad.sign(), rtol=1e-4), "first Adam step = -lr * sign(g)"

# %% [markdown]
# After the first step, the step length depends on the gradient's history. Three weights, 30 steps of
# Adam with $\eta = 0.01$: one gets the same gradient every step, one a gradient that flips sign every
# step, one a gradient that halves every step.

# %%
histories = {
    "same sign and size": lambda t: 1.0,
    "flips sign": lambda t: (-1.0) ** t,
    "halves every step": lambda t: 0.5**t,
}
adam_steps = {}
for name, g_of_t in histories.items():
    w = torch.zeros(1, requires_grad=True)
    optimizer, steps = Adam([w], lr=0.01), []
    for t in range(30):
        before = w.item()
        w.grad = torch.tensor([g_of_t(t)])
        optimizer.step()
        steps.append(abs(w.item() - before))
    adam_steps[name] = np.array(steps)
    print(f"{name:>19}: |step| at step 1 {steps[0]:.4f}, step 5 {steps[4]:.4f}, step 30 {steps[-1]:.1e}")
same, flips, halves = adam_steps.values()
assert np.allclose(same, 0.01, rtol=1e-4), "a steady gradient: every step is lr"
assert flips[9:].max() < 0.2 * 0.01, "a gradient that flips sign: steps far below lr"
assert halves[-1] < 0.1 * 0.01, "a shrinking gradient: steps shrink"

# The cause proposed for the last one: v_hat's long memory. Shorten it (beta2 = 0.5) and nothing else.
w = torch.zeros(1, requires_grad=True)
optimizer = Adam([w], lr=0.01, beta2=0.5)
for t in range(30):
    before = w.item()
    w.grad = torch.tensor([0.5**t])
    optimizer.step()
print(f"halves every step, beta2 = 0.5: |step| at step 30 {abs(w.item() - before):.1e}")
assert abs(w.item() - before) > 0.01, "with a short memory of v the steps no longer shrink: they grow past lr"

# %% [markdown]
# With $\beta_2 = 0.5$, $\hat v$ forgets the large early gradients within a few steps and the steps no
# longer shrink; they grow past $\eta$ ($\hat m$, with $\beta_1 = 0.9$, now remembers longer than
# $\hat v$). The shrinking steps of the default come from $\hat v$'s long memory.

# %% [markdown]
# ## Step for step against `torch.optim`
#
# If our classes are right, they must do exactly what `torch.optim.SGD` and `torch.optim.Adam` do. The
# test: the course's ReLU network (`BaseNetwork`, 784-512-256-256-128-10), deep-copied so both copies
# start from identical weights, trained 200 steps on the **same** Fashion-MNIST batches of 64 images,
# one copy with our optimizer and one with torch's. After every step we record the largest difference
# between any two corresponding weights.
#
# The function below can give the second copy either **its own** gradient (each model does its own
# forward and backward pass, a completely independent training run) or **the first copy's** gradient
# (both optimizers see the identical gradient sequence, so any difference comes from the update
# arithmetic alone). It can also **nudge** one weight of the second copy by one float32 rounding step
# (`torch.nextafter`, the next representable number) before training starts; we use that at the end.

# %%
(train_images, train_labels), (val_images, val_labels), _ = fashion_mnist_tensors()
STEPS, BATCH = 200, 64
batch_indices = torch.randint(0, len(train_images), (STEPS, BATCH), generator=torch_generator(0))
NUDGED = ("layers.0.weight", (0, 14 * 28 + 14))  # first unit of layer 0, from the centre pixel


def backward_on(model, idx):
    loss = nn.functional.cross_entropy(model(train_images[idx]), train_labels[idx])
    loss.backward()
    return loss.item()


def side_by_side(make_ours, make_torch, share_gradients=False, nudge=False, act_fn="relu"):
    """Max |w_ours - w_torch| over all weights after each step, and the two trained models."""
    set_seed(42)
    ours_model = BaseNetwork(act_fn)
    torch_model = copy.deepcopy(ours_model)
    if nudge:
        with torch.no_grad():
            name, index = NUDGED
            w = torch_model.get_parameter(name)
            w[index] = torch.nextafter(w[index], torch.tensor(math.inf))
    ours, theirs = make_ours(ours_model.parameters()), make_torch(torch_model.parameters())
    differences = []
    for idx in batch_indices:
        ours.zero_grad()
        theirs.zero_grad()
        backward_on(ours_model, idx)
        if share_gradients:
            for p, q in zip(ours_model.parameters(), torch_model.parameters()):
                q.grad = p.grad.clone()
        else:
            backward_on(torch_model, idx)
        ours.step()
        theirs.step()
        differences.append(
            max((p - q).abs().max().item() for p, q in zip(ours_model.parameters(), torch_model.parameters()))
        )
    return np.array(differences), (ours_model, torch_model)


@torch.no_grad()
def val_accuracy(model):
    return (model(val_images).argmax(1) == val_labels).float().mean().item()


# %% [markdown]
# **SGD** does the same single operation as torch (`p.add_(g, alpha=-lr)`), so the two training runs are
# identical to the last bit, for all 200 steps, even with each model computing its own gradients:

# %%
sgd_diff, _ = side_by_side(lambda p: SGD(p, lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1))
print(f"SGD vs torch.optim.SGD: max |difference| over {STEPS} steps = {sgd_diff.max()}")
assert sgd_diff.max() == 0.0, "SGD must be bit-identical to torch.optim.SGD"

# %% [markdown]
# **Adam** is a different story in the last bit. Fed the same gradients, ours and torch's stay within a
# few float32 rounding steps of each other:

# %%
adam_shared, _ = side_by_side(
    lambda p: Adam(p, lr=1e-3), lambda p: torch.optim.Adam(p, lr=1e-3), share_gradients=True
)
largest_weight = max(p.abs().max().item() for p in BaseNetwork("relu").parameters())
round_off = torch.finfo(torch.float32).eps * largest_weight  # one rounding step of the largest weight
print(
    f"Adam, same gradients: step 1 {adam_shared[0]:.1e}, step 10 {adam_shared[9]:.1e}, "
    f"step 100 {adam_shared[99]:.1e}, step 200 {adam_shared[-1]:.1e}"
)
print(f"one float32 rounding step of the largest weight: {round_off:.1e}")
assert 0 < adam_shared.max() < 10 * round_off, (
    "same gradients: Adam must differ from torch, by round-off only"
)

# %% [markdown]
# **Why Adam differs in the last bit.** torch evaluates the same formula in a different order, to save
# memory traffic: it updates $m$ with `lerp` ($m + (1-\beta_1)(g - m)$ instead of $\beta_1 m + (1-\beta_1) g$),
# folds $1/(1-\beta_1^t)$ into the step size instead of dividing $m$, and computes
# $\sqrt{v}/\sqrt{1-\beta_2^t}$ instead of $\sqrt{v/(1-\beta_2^t)}$. In exact arithmetic these are equal; in
# float32 every operation rounds its result to 24 significant bits (relative error up to $6\cdot10^{-8}$),
# and different operations round differently. If the order is the whole cause, reordering our arithmetic
# as torch does must make the two bit-identical. The cell below does exactly that (`TorchOrderAdam`,
# same formula, torch's operations) and runs ours, the reordered one and torch's on the same 200
# gradients for 1,000 weights:


# %%
class TorchOrderAdam(Adam):
    """Our Adam with torch's order of operations: lerp for m, lr / (1 - beta1^t), sqrt(v) / sqrt(1 - beta2^t)."""

    def update_param(self, p):
        self.param_step[p] += 1
        t = self.param_step[p]
        m = self.param_momentum[p].lerp_(p.grad, 1 - self.beta1)
        v = self.param_2nd_momentum[p].mul_(self.beta2).addcmul_(p.grad, p.grad, value=1 - self.beta2)
        denom = (v.sqrt() / math.sqrt(1 - self.beta2**t)).add_(self.eps)
        p.addcdiv_(m, denom, value=-self.lr / (1 - self.beta1**t))


def largest_gap_to_torch(adam_class, steps=200):
    """Largest |w - w_torch| when adam_class and torch.optim.Adam get the same gradients."""
    gen = torch_generator(0)
    ours = torch.randn(1000, generator=gen).requires_grad_()
    theirs = ours.detach().clone().requires_grad_()
    optimizers = adam_class([ours], lr=1e-3), torch.optim.Adam([theirs], lr=1e-3)
    gap = 0.0
    for _ in range(steps):
        ours.grad = torch.randn(1000, generator=gen) * 1e-3
        theirs.grad = ours.grad.clone()
        for optimizer in optimizers:
            optimizer.step()
        gap = max(gap, (ours - theirs).abs().max().item())
    return gap


order_gaps = {cls.__name__: largest_gap_to_torch(cls) for cls in (Adam, TorchOrderAdam)}
print("largest |w - w_torch| over 200 steps: " + ", ".join(f"{n} {g:.1e}" for n, g in order_gaps.items()))
assert order_gaps["Adam"] > 0 and order_gaps["TorchOrderAdam"] == 0, (
    "torch's order of operations is the whole difference"
)

# %% [markdown]
# ### How far can one rounding step go?
#
# With shared gradients the last-bit differences stay last-bit differences. But two *independent* runs
# (each model its own forward and backward pass) feed every difference back into the next gradient.
# To see what that does, we make the smallest possible difference on purpose: two copies of the network,
# trained with the same optimizer on the same batches, identical except that one weight of the second
# copy is moved by **one float32 rounding step** (`torch.nextafter`). Once with our Adam, once with our
# SGD. The cell prints the largest weight difference as training goes on.

# %%
nudge_gap, nudge_models = side_by_side(lambda p: Adam(p, lr=1e-3), lambda p: Adam(p, lr=1e-3), nudge=True)
sgd_nudge_gap, _ = side_by_side(lambda p: SGD(p, lr=0.1), lambda p: SGD(p, lr=0.1), nudge=True)
name, index = NUDGED
set_seed(42)
w0 = BaseNetwork("relu").get_parameter(name)[index]
nudge = (torch.nextafter(w0, torch.tensor(math.inf)) - w0).item()
for step in (1, 10, 50, 100, 150, 200):
    print(
        f"step {step:3d}: max |w - w_nudged| = {nudge_gap[step - 1]:.1e} with Adam, "
        f"{sgd_nudge_gap[step - 1]:.1e} with SGD"
    )
accuracies = [val_accuracy(model) for model in nudge_models]
print(
    f"the nudge: {nudge:.1e}; Adam's validation accuracy after {STEPS} steps: {100 * accuracies[0]:.1f} % and "
    f"{100 * accuracies[1]:.1f} %"
)
for gaps_of_run in (nudge_gap, sgd_nudge_gap):
    # over 20 seeds: a gap that survives grows 70-fold to 10^7-fold; on some seeds rounding erases it (0)
    assert gaps_of_run[-1] == 0 or gaps_of_run[-1] > 10 * gaps_of_run[0], (
        "the gap must not stay at its step-1 size"
    )
assert abs(accuracies[0] - accuracies[1]) < 0.01, "the two runs drift apart but train equally well"

# %% [markdown]
# Are the bursts a property of training in general, or of this network? The same experiment with one
# change: **tanh** instead of ReLU after every hidden layer (same sizes, same initialization, same
# batches, same nudge, same optimizers). The cell prints the largest gap of each run over the 200 steps.

# %%
BURST = 1e-4  # over COURSE_SEED 1-20 tanh's largest gap was 5.3e-6 (Adam) and 1.3e-7 (SGD)
make_optimizer = {"Adam": lambda p: Adam(p, lr=1e-3), "SGD": lambda p: SGD(p, lr=0.1)}
tanh_gaps = {
    opt_name: side_by_side(make, make, nudge=True, act_fn="tanh")[0]
    for opt_name, make in make_optimizer.items()
}
relu_gaps = {"Adam": nudge_gap, "SGD": sgd_nudge_gap}
for opt_name, tanh_gap in tanh_gaps.items():
    print(
        f"{opt_name:4s}: largest gap over {STEPS} steps {relu_gaps[opt_name].max():.1e} with ReLU, "
        f"{tanh_gap.max():.1e} with tanh (tanh at step 1: {tanh_gap[0]:.1e}, at step {STEPS}: {tanh_gap[-1]:.1e})"
    )
assert all(gap.max() < BURST for gap in tanh_gaps.values()), (
    f"with tanh no gap should burst to {BURST:.0e} within {STEPS} steps"
)

# %% alt="Largest weight gap per step, log scale, between two runs one rounding step apart, with Adam and with SGD: in the ReLU network both gaps grow in bursts by orders of magnitude, in the tanh network they stay below a millionth, and ours versus torch's Adam on shared gradients stays near the nudge."
fig, ax = plt.subplots(figsize=(11, 5.5))
steps = np.arange(1, STEPS + 1)
ax.semilogy(
    steps, nudge_gap, color=OPTIMIZER_COLORS["Adam"], lw=2.5, label="Adam, one weight nudged by one ulp, ReLU"
)
ax.semilogy(
    steps,
    sgd_nudge_gap,
    color=OPTIMIZER_COLORS["SGD"],
    lw=2.5,
    label="SGD, one weight nudged by one ulp, ReLU",
)
for opt_name, tanh_gap in tanh_gaps.items():
    ax.semilogy(
        steps, tanh_gap, color=OPTIMIZER_COLORS[opt_name], lw=2, ls=":", label=f"{opt_name}, nudged, tanh"
    )
ax.semilogy(
    steps, adam_shared, color="black", lw=2, ls="--", label="ours vs torch.optim.Adam, same gradients"
)
ax.axhline(nudge, color="gray", lw=1.5, ls=":")
ax.text(STEPS, nudge * 1.5, "the nudge: one float32 step", ha="right", va="bottom", fontsize=13, color="gray")
ax.set_ylim(nudge / 10, 1)
ax.set_xlabel("step")
ax.set_ylabel(r"max $|w - w'|$ over all weights")
ax.set_title("One rounding step apart: nudged runs (ReLU, tanh), and ours vs torch", fontsize=15)
ax.legend(loc="upper left", fontsize=13)
plt.show()

# %% [markdown]
# The solid green and blue lines are the gaps between the two nudged runs of the ReLU network: neither
# stays where it was after step 1. They grow in **bursts**: nearly flat for a while, then up by orders of
# magnitude in a few to some tens of steps, by amounts that depend on the seed and on the CPU. Run under other seeds
# (`COURSE_SEED`), a gap grows anywhere from some tens-fold to ten-million-fold, and on some seeds the
# nudge is rounded away in a few steps and the two runs become identical: whether it survives is itself
# a matter of the last bit. A burst is not a steady exponential growth, and no cell here measures a rate
# of growth, so we do not call it chaos.
#
# The dotted lines are the same experiment in the tanh network (Adam's starts higher, from step 1 on,
# which this notebook does not test the cause of): there the gaps stay small, below the
# burst level `BURST` = $10^{-4}$ (printed above). Over `COURSE_SEED` 1 to 20 the largest tanh gap in 200
# steps was $5.3\cdot10^{-6}$ with Adam and $1.3\cdot10^{-7}$ with SGD; with ReLU, at least one of the
# two optimizers burst above $10^{-4}$ on 17 of the 20 seeds (on the other three both ReLU gaps stayed
# at tanh's level, and on one of them Adam's nudge was rounded away). So the bursts come with the ReLU
# network, though not on every seed. Which of ReLU's properties
# makes them (its kink, its unbounded output, ...) is not tested here. Neither Adam run of the ReLU
# network is wrong: they reach the same validation accuracy (printed above, to within one percentage
# point), like two runs with different seeds.
#
# Runs whose arithmetic differs in order start a few rounding steps apart in the same way: ours against
# `torch.optim.Adam` with each model computing its own gradients, a GPU instead of a CPU, another library
# version or another number of threads. Bit-identical training needs bit-identical operations, which
# our SGD has and our Adam, in its own order, does not.

# %% [markdown]
# ## Four ways to write momentum
#
# Momentum has several conventions in papers and libraries, and the same `momentum=0.9, lr=0.1` means
# different algorithms in each. With $\beta$ the momentum and $g_t$ the gradient:
#
# | convention | state update | weight update | same as this course's $(\eta, \beta)$ when |
# |---|---|---|---|
# | **this course** (averaged) | $m_t = \beta m_{t-1} + (1-\beta) g_t$, $m_0 = 0$ | $w_t = w_{t-1} - \eta\, m_t$ | (reference) |
# | **velocity** form | $v_t = \beta v_{t-1} - \eta_v\, g_t$, $v_0 = 0$ | $w_t = w_{t-1} + v_t$ | $\eta_v = (1-\beta)\,\eta$: **identical at every step**, $v_t = -\eta\, m_t$ |
# | **torch.optim.SGD**, `dampening=0` (default) | $b_t = \beta b_{t-1} + g_t$, $b_1 = g_1$ | $w_t = w_{t-1} - \eta_{\mathrm{t}}\, b_t$ | $\eta_{\mathrm{t}} = (1-\beta)\,\eta$: **identical at every step**, $b_t = m_t/(1-\beta)$ |
# | **torch.optim.SGD**, `dampening=`$\beta$ | $b_t = \beta b_{t-1} + (1-\beta) g_t$, but $b_1 = g_1$ | $w_t = w_{t-1} - \eta_{\mathrm{t}}\, b_t$ | **never exactly**: with $\eta_{\mathrm{t}} = \eta$ the rule is ours from step 2 on, but step 1 is $1/(1-\beta)$ times too long ($b_1 = g_1$, not $(1-\beta) g_1$) |
#
# Three consequences worth remembering:
#
# * torch's default `SGD(lr=0.1, momentum=0.9)` is **not** our `SGDMomentum(lr=0.1, momentum=0.9)`: its buffer
#   is a *sum*, about $1/(1-\beta) = 10$ times our average, so it steps about 10 times further. Ours with
#   `lr=0.1` is torch's with `lr=0.01`.
# * torch applies no dampening at the first step (`buf = g.clone()`). With `dampening=0` that changes
#   nothing ($\beta\cdot 0 + g_1 = g_1$), which is why that row is exact from step 1. With `dampening=`$\beta$
#   the buffer starts $\beta g_1$ too high; each step keeps $\beta$ of that excess in the buffer, and the
#   weights it pushed feed their offset back through the gradient until the loss pulls them back.
# * the velocity form is ours in disguise: multiply our state by $-\eta$.
#
# The cell below proves each row on a 1-D quadratic bowl $\mathcal{L}(w) = \tfrac12 a w^2$ with noisy
# gradients $g_t = a w_{t-1} + \xi_t$ (the same noise sequence $\xi_t$ for everyone), in float64 so that
# "identical" means $\sim 10^{-16}$.

# %%
LR, BETA, A, T = 0.1, 0.9, 1.0, 100
noise = torch.randn(T, generator=torch_generator(1), dtype=torch.float64)


def gradient(w, t):
    return A * w + noise[t]


def run_ours():
    w = torch.tensor([5.0], dtype=torch.float64, requires_grad=True)
    optimizer, path = SGDMomentum([w], lr=LR, momentum=BETA), []
    for t in range(T):
        w.grad = gradient(w.detach(), t)
        optimizer.step()
        path.append(w.item())
    return np.array(path)


def run_velocity(lr_v):
    w, v, path = 5.0, 0.0, []
    for t in range(T):
        v = BETA * v - lr_v * gradient(torch.tensor(w, dtype=torch.float64), t).item()
        w = w + v
        path.append(w)
    return np.array(path)


def run_torch(lr, dampening):
    w = torch.tensor([5.0], dtype=torch.float64, requires_grad=True)
    optimizer, path = torch.optim.SGD([w], lr=lr, momentum=BETA, dampening=dampening), []
    for t in range(T):
        w.grad = gradient(w.detach(), t)
        optimizer.step()
        path.append(w.item())
    return np.array(path)


paths = {
    "this course (lr 0.1)": run_ours(),
    "velocity, lr_v = (1-β)·lr = 0.01": run_velocity((1 - BETA) * LR),
    "torch, dampening=0, lr = 0.01": run_torch((1 - BETA) * LR, dampening=0),
    "torch, dampening=β, lr = 0.1": run_torch(LR, dampening=BETA),
    "torch, dampening=0, lr = 0.1": run_torch(LR, dampening=0),
}
ours_path = paths["this course (lr 0.1)"]
for name, path in paths.items():
    gap = np.abs(path - ours_path)
    print(
        f"{name:34s} step 1: w = {path[0]:.6f}  |gap| step 1 {gap[0]:.1e}, step 2-{T} max {gap[1:].max():.1e}, "
        f"step {T} {gap[-1]:.1e}"
    )

gaps = {name: np.abs(path - ours_path) for name, path in paths.items()}
assert gaps["velocity, lr_v = (1-β)·lr = 0.01"].max() < 1e-12, "velocity with lr_v = (1-β) lr is ours"
assert gaps["torch, dampening=0, lr = 0.01"].max() < 1e-12, (
    "torch dampening=0 with lr (1-β) is ours, step 1 included"
)
damped = gaps["torch, dampening=β, lr = 0.1"]
print(
    f"\ndampening=β: gap {damped[0]:.2f} at step 1, largest {damped.max():.2f} at step {damped.argmax() + 1}, "
    f"{damped[-1]:.3f} at step {T}"
)
assert abs(damped[0] - LR * BETA * (A * 5.0 + noise[0].item())) < 1e-12, (
    "dampening=β: step 1 is off by lr·β·g_1"
)
assert damped[1:].max() > 3 * damped[0], "dampening=β: the extra momentum keeps pushing after step 1"
assert damped[-10:].max() < damped.max() / 10, "dampening=β: then the offset fades"

# %% alt="Momentum variants on a noisy quadratic bowl: left, their weight paths; right, each gap to this course's rule, log scale: the velocity form and torch at lr 0.01 match to round-off, dampened torch drifts then fades, torch at lr 0.1 swings wide."
styles = {
    "this course (lr 0.1)": dict(color="black", lw=5, alpha=0.35),
    "velocity, lr_v = (1-β)·lr = 0.01": dict(color=PALETTE[0], lw=2.5, ls="--"),
    "torch, dampening=0, lr = 0.01": dict(color=PALETTE[1], lw=2.5, ls=":"),
    "torch, dampening=β, lr = 0.1": dict(color=PALETTE[2], lw=2.5),
    "torch, dampening=0, lr = 0.1": dict(color=PALETTE[3], lw=2.5, ls="-."),
}
steps = np.arange(1, T + 1)
fig, (left, right) = plt.subplots(1, 2, figsize=(16, 6))
for name, path in paths.items():
    left.plot(steps, path, label=name, **styles[name])
    if name != "this course (lr 0.1)":
        right.semilogy(steps, np.maximum(gaps[name], 1e-17), label=name, **styles[name])
left.set(xlabel="step", ylabel="w", title=r"Trajectories on $\frac{1}{2}w^2$ + noise (β = 0.9)")
left.legend(fontsize=12, loc="upper right")
right.axhline(1e-15, color="gray", lw=1, ls=":")
right.text(T, 2e-15, "float64 round-off", ha="right", fontsize=13, color="gray")
right.text(
    T / 2,
    1e-13,
    "velocity and torch (dampening=0, lr·(1-β)):\n0 at step 1, round-off after",
    ha="center",
    va="bottom",
    fontsize=13,
    color=PALETTE[0],
)
right.set(
    xlabel="step",
    ylabel=r"$|w - w_{\mathrm{this\ course}}|$ (exact 0 drawn at $10^{-17}$)",
    title="Gap to this course's momentum",
    ylim=(1e-17, 1e2),
)
right.legend(fontsize=11, loc="center right")
plt.tight_layout()
plt.show()


# %% [markdown]
# Left: the velocity form and torch's undamped buffer at $\eta_{\mathrm{t}} = (1-\beta)\eta$ lie exactly on
# our trajectory (the thick grey line). torch with `dampening=`$\beta$ overshoots at step 1 (its first
# step is 10 times ours) and then follows the same rule. Its gap (right, green) does **not** fade at
# once: the excess $\beta g_1$ in its buffer keeps pushing for about $1/(1-\beta) = 10$ more steps, so the gap
# first grows (in the stored run from 0.42 at step 1 to 2.34 at step 12, more than 5 times the
# first) and only then fades as the bowl pulls the weight back. Both runs see the same noise, so the
# gap's shape does not depend on it (the gap obeys the noise-free rule); only its scale, set by $g_1$, does. torch's default undamped buffer with the *same* `lr=0.1` (red) is a different, much
# more aggressive algorithm: 10 times the effective step size. When you copy a recipe "momentum 0.9, lr
# 0.1" from a paper or a library, first find out which row of the table it uses.

# %% [markdown]
# ## Exercises
#
# Each exercise is an `OptimizerTemplate` subclass; the checker trains a small model with your class and
# with a reference (torch.optim set to the same convention) side by side in float64, and tells you the
# first step where the weights differ, which weight, and by how much.
#
# ### Exercise 1: Adagrad
#
# Adagrad (Duchi et al., 2011) made per-weight step sizes popular in machine learning (the idea is older:
# delta-bar-delta, Jacobs 1988; Rprop, Riedmiller and Braun 1993). It divides by the root of the **sum**
# of all squared gradients so far (not an average, so each weight's effective learning rate
# $\eta/\sqrt{s_t}$ only shrinks):
#
# $$s_t = s_{t-1} + g_t^2, \quad s_0 = 0, \qquad w_t = w_{t-1} - \eta\,\frac{g_t}{\sqrt{s_t} + \epsilon}.$$
#
# Write `Adagrad(params, lr, eps=1e-10)` and check it with `check_adagrad(Adagrad)` (reference:
# `torch.optim.Adagrad`).


# %%
class Adagrad(OptimizerTemplate):
    """Your turn: one running sum of squared gradients per parameter."""

    def __init__(self, params, lr, eps=1e-10):
        super().__init__(params, lr)
        _check_positive("eps", eps)  # eps=nan would make every weight nan, eps=inf would freeze them
        self.eps = eps

    def update_param(self, p):
        raise NotImplementedError("your turn: update the running sum, then step")


# check_adagrad(Adagrad)

# %% [markdown]
# #### Solution


# %% jupyter={"source_hidden": true} tags=["solution"]
class Adagrad(OptimizerTemplate):
    """s <- s + g^2;  w <- w - lr * g / (sqrt(s) + eps): each weight's steps shrink with its own history."""

    def __init__(self, params, lr, eps=1e-10):
        super().__init__(params, lr)
        _check_positive("eps", eps)  # eps=nan would make every weight nan, eps=inf would freeze them
        self.eps = eps
        self.param_sum = {p: torch.zeros_like(p) for p in self.params}

    def update_param(self, p):
        s = self.param_sum[p].addcmul_(p.grad, p.grad)
        p.addcdiv_(p.grad, s.sqrt() + self.eps, value=-self.lr)


check_adagrad(Adagrad)


# %% [markdown]
# ### Exercise 2: Nesterov momentum
#
# Nesterov's variant for deep learning was written by Sutskever et al. (2013) in a look-ahead form: the
# gradient is taken at the point the momentum is about to carry the weights to,
# $v \leftarrow \mu v - \epsilon \nabla f(\theta + \mu v)$. Libraries use the reformulation of Bengio,
# Boulanger-Lewandowski and Pascanu (2012, arXiv:1212.0901), which takes the gradient at the current
# weights (`torch.optim.SGD(nesterov=True)`): after updating the average, it steps along the average
# *as it would be after one more step with the same gradient*. In this course's averaged convention:
#
# $$m_t = \beta\, m_{t-1} + (1-\beta)\, g_t, \qquad w_t = w_{t-1} - \eta\,\big(\beta\, m_t + (1-\beta)\, g_t\big).$$
#
# Write `SGDNesterov(params, lr, momentum=0.0)` (hint: subclass `SGDMomentum` and change `update_param`)
# and check it with `check_nesterov(SGDNesterov)`. The reference is `torch.optim.SGD(nesterov=True)` with
# `lr` multiplied by $(1-\beta)$: by the table above, that is the same convention.


# %%
class SGDNesterov(SGDMomentum):
    """Your turn: momentum with a look-ahead step."""

    def update_param(self, p):
        raise NotImplementedError("your turn: update m, then step along beta * m + (1 - beta) * g")


# check_nesterov(SGDNesterov)

# %% [markdown]
# #### Solution


# %% jupyter={"source_hidden": true} tags=["solution"]
class SGDNesterov(SGDMomentum):
    """m <- beta m + (1 - beta) g;  w <- w - lr (beta m + (1 - beta) g)."""

    def update_param(self, p):
        m = self.param_momentum[p]
        m.mul_(self.momentum).add_(p.grad, alpha=1 - self.momentum)
        p.add_(self.momentum * m + (1 - self.momentum) * p.grad, alpha=-self.lr)


check_nesterov(SGDNesterov)

# %% [markdown]
# ## Summary
#
# * An optimizer maps (weights, gradient, state) to new weights; the learning rate is the step size.
# * SGD: $w \leftarrow w - \eta g$. Momentum (averaged): step along an exponential moving average of
#   gradients. Adam: a bias-corrected average divided by the root of a bias-corrected average of
#   squares, so a weight whose gradient keeps its sign and size moves about $\eta$ per step; one whose
#   gradient flips sign or shrinks moves less.
# * Our SGD is bit-identical to `torch.optim.SGD`; our Adam agrees with `torch.optim.Adam` to float32
#   round-off for the same gradients, and bit for bit once it uses torch's order of operations.
#   In the ReLU network a difference of one rounding step, unless rounding erases it, grows in bursts,
#   tens-fold to millions-fold within 200 steps, with Adam as with SGD; in the same network with tanh it
#   stays small. Two ReLU runs one rounding step apart drift apart and still train equally well.
# * Momentum conventions differ by constant factors: ours with $(\eta, \beta)$ = torch's with
#   $((1-\beta)\eta, \beta)$ = velocity with $\eta_v = (1-\beta)\eta$.
#
# Next, notebook 06 trains the course's network on Fashion-MNIST with all three optimizers.
