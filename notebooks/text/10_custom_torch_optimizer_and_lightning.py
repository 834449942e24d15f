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
# # 10 · A real `torch.optim.Optimizer`, LR schedulers and PyTorch Lightning
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/courseware-dl/init-optim-course/blob/main/notebooks/10_custom_torch_optimizer_and_lightning.ipynb)
#
# Notebook 05 wrote SGD with momentum and Adam from scratch as small classes that hold a list of
# parameters. They compute the right updates, but nothing else in the PyTorch ecosystem can use them:
# a learning-rate scheduler, a checkpoint, or a training framework such as
# [PyTorch Lightning](https://lightning.ai/docs/pytorch/stable/) all expect the protocol of
# `torch.optim.Optimizer`.
#
# In this notebook you will
# 1. see exactly which parts of that protocol are missing from notebook 05's classes;
# 2. rewrite the course's `SGDMomentum` and `Adam` as `torch.optim.Optimizer` subclasses, `TorchSGDMomentum`
#    and `TorchAdam` (`param_groups`, `defaults`, per-parameter `state`, `step(closure)`), and check them against
#    notebook 05 and against `torch.optim`, step for step;
# 3. save and resume an optimizer through `state_dict()` / `load_state_dict()` with identical steps;
# 4. drive the learning rate with `torch.optim.lr_scheduler` and watch it change in `param_groups`;
# 5. train the course network (ReLU, Kaiming init) with a Lightning `Trainer` whose
#    `configure_optimizers` returns our optimizer and a scheduler, and show that it takes **exactly the
#    same steps** as a plain PyTorch loop.
#
# It builds on notebook 05 (the update rules) and notebook 04 (Kaiming initialization).

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
import io
import logging
import math
import numbers
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib_inline.backend_inline import set_matplotlib_formats
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

# Colab does not ship PyTorch Lightning: install it there (and only when it is missing).
if importlib.util.find_spec("pytorch_lightning") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pytorch-lightning"], check=True)
import pytorch_lightning as pl
from pytorch_lightning.utilities.warnings import PossibleUserWarning

from utils import get_device, set_seed, torch_generator
from utils import optimizers as course
from utils.compare import max_weight_diff
from utils.data import fashion_mnist_tensors
from utils.init import kaiming_init
from utils.models import BaseNetwork
from utils.plotting import set_course_style

set_matplotlib_formats("png")
set_course_style()
set_seed(42)
# The networks here are small: the toy ones gain nothing from more threads (their operations are too small
# to split), and the course network trains for only 80 steps.
torch.set_num_threads(1)

# %% [markdown]
# ## 1. What a scheduler (or Lightning) expects from an optimizer
#
# A learning-rate scheduler does not know any update rule. It reads and writes entries of each dict in
# `optimizer.param_groups`: `"lr"` always, and more (every scheduler built by the constructor of the base
# class `LRScheduler`, which is all but `ReduceLROnPlateau`, adds `"initial_lr"`; `OneCycleLR` also
# writes the momentum). And it refuses anything that is not a `torch.optim.Optimizer`:
# its constructor checks the class before it looks at anything else. Notebook 05's `Adam` keeps its
# learning rate in a plain attribute `self.lr`; even when we give it a `param_groups` list of the right
# shape, the scheduler refuses it, on the class alone:

# %%
toy = nn.Linear(3, 1)
course_adam = course.Adam(toy.parameters(), lr=1e-3)
course_adam.param_groups = [{"params": course_adam.params, "lr": course_adam.lr}]  # what a scheduler writes
try:
    torch.optim.lr_scheduler.StepLR(course_adam, step_size=1)
    rejected = None
except TypeError as err:
    rejected = err
print(f"{type(rejected).__name__}: {rejected}")
assert rejected is not None, "even with param_groups, a class that is not a torch.optim.Optimizer is refused"


# %% [markdown]
# The protocol has four parts; each one has a reason:
#
# | part | what it is | why it exists |
# |---|---|---|
# | `defaults` | the hyperparameters given to the constructor | filled into every group that does not set its own |
# | `param_groups` | a list of dicts: `{"params": [...], "lr": ..., ...}` | different hyperparameters for different parts of a network (e.g. a smaller lr for a pretrained body); schedulers write `group["lr"]` |
# | `state` | a dict `parameter -> dict of buffers` | per-parameter memory (momentum, step count), created lazily at the first step |
# | `step(closure=None)` | applies one update to every parameter that has a gradient | the optional `closure` re-evaluates the loss (needed by L-BFGS; Lightning always passes one) |
#
# `state_dict()` and `load_state_dict()` come for free from the base class, **as long as every buffer
# lives in `self.state[p]` and every hyperparameter in `param_groups`**: those two are what gets saved.

# %% [markdown]
# ## 2. The course's optimizers as `torch.optim.Optimizer` subclasses
#
# The update rules are copied from notebook 05 line by line. What changes is where things are kept:
# hyperparameters are read from the group (`group["lr"]`, not `self.lr`), and buffers from
# `self.state[p]`. We keep notebook 05's *averaged* momentum,
# $m \leftarrow \beta m + (1-\beta)\,g,\; w \leftarrow w - \eta\, m$, and take Adam's arguments in
# `torch.optim.Adam`'s form (`betas=(beta1, beta2)`) so that it can replace `torch.optim.Adam` where
# only `lr`, `betas` and `eps` are used (it has no `weight_decay` or `amsgrad`). Since the
# arguments differ from notebook 05's `Adam(params, lr, beta1, beta2)`, the new classes get their own
# names, with the prefix `Torch`: one name, one signature.
#
# The constructors refuse what would silently ruin a run: a learning rate or `eps` that is not a positive
# finite number (`not 0 < x < math.inf` is also true for NaN), and a `beta` outside $[0, 1)$. An empty
# parameter list, usually a `model.parameters()` generator that was already used up, is refused by the
# base class. Check 3 below shows why the guards are worth their lines.


# %%
class TorchSGDMomentum(torch.optim.Optimizer):
    """m <- beta * m + (1 - beta) * g;  w <- w - lr * m   (the course's averaged momentum).

    Equals torch.optim.SGD(lr=lr * (1 - beta), momentum=beta), whose buffer is the plain sum
    buf <- beta * buf + g = m / (1 - beta).
    """

    def __init__(self, params, lr: float = 0.1, momentum: float = 0.0):
        if not isinstance(lr, numbers.Real) or not 0 < lr < math.inf:  # also false for NaN
            raise ValueError(f"learning rate must be positive and finite, got lr={lr!r}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got momentum={momentum}")
        super().__init__(params, defaults={"lr": lr, "momentum": momentum})

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss, if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():  # the closure recomputes the loss and its gradients
                loss = closure()
        for group in self.param_groups:
            beta = group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:  # first step of this parameter: lazily create its buffer
                    state["momentum_buffer"] = torch.zeros_like(p)
                m = state["momentum_buffer"]
                m.mul_(beta).add_(p.grad, alpha=1 - beta)
                p.add_(m, alpha=-group["lr"])
        return loss


# %%
class TorchAdam(torch.optim.Optimizer):
    """m, v: running averages of g and g^2, bias-corrected with the parameter's own step count t;
    w <- w - lr * m_hat / (sqrt(v_hat) + eps). Same arguments and updates as torch.optim.Adam."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8):
        if not isinstance(lr, numbers.Real) or not 0 < lr < math.inf:
            raise ValueError(f"learning rate must be positive and finite, got lr={lr!r}")
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got betas={betas!r}")
        for i, beta in enumerate(betas):
            if not isinstance(beta, numbers.Real) or not 0.0 <= beta < 1.0:
                raise ValueError(f"betas[{i}] must be in [0, 1), got {beta}")
        if not isinstance(eps, numbers.Real) or not 0 < eps < math.inf:
            raise ValueError(f"eps must be positive and finite, got eps={eps!r}")
        super().__init__(params, defaults={"lr": lr, "betas": tuple(betas), "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss, if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("TorchAdam does not support sparse gradients")
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                m = state["exp_avg"].mul_(beta1).add_(p.grad, alpha=1 - beta1)
                v = state["exp_avg_sq"].mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                m_hat = m / (1 - beta1**t)
                v_hat = v / (1 - beta2**t)
                p.addcdiv_(m_hat, v_hat.sqrt() + group["eps"], value=-group["lr"])
        return loss


# %% [markdown]
# The same classes live in `utils/torch_optimizers.py` (a test keeps the two copies equal).
#
# **Check 1: same updates as notebook 05.** We train two copies of a small network on the same random
# batches, one with notebook 05's class and one with the new one. Same arithmetic in the same order
# means the weights must be *bit-for-bit* identical, not just close.


# %%
def small_net(seed=0):
    set_seed(seed)
    return nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 1))


def random_batches(n=30, seed=1):
    gen = torch_generator(seed)
    return [(torch.randn(64, 8, generator=gen), torch.randn(64, 1, generator=gen)) for _ in range(n)]


def fit(model, optimizer, batches, scheduler=None):
    """A plain training loop; returns the loss of every step."""
    losses = []
    for x, y in batches:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.item())
    return losses


pairs = {
    "SGDMomentum": (
        lambda p: course.SGDMomentum(p, lr=0.1, momentum=0.9),
        lambda p: TorchSGDMomentum(p, lr=0.1, momentum=0.9),
    ),
    "Adam": (lambda p: course.Adam(p, lr=1e-2), lambda p: TorchAdam(p, lr=1e-2)),
}
for name, (make_old, make_new) in pairs.items():
    old, new = small_net(), small_net()
    fit(old, make_old(old.parameters()), random_batches())
    fit(new, make_new(new.parameters()), random_batches())
    diff = max_weight_diff(old, new)
    print(f"{name:12s} notebook 05 vs torch.optim.Optimizer subclass: max weight difference {diff:.1e}")
    assert diff == 0.0, f"{name}: the subclass must repeat notebook 05's arithmetic exactly"

# %% [markdown]
# **Check 2: the conventions of `torch.optim`.** `TorchAdam` should agree with `torch.optim.Adam`.
# For momentum the two libraries disagree on purpose: `torch.optim.SGD` accumulates a *sum*,
# $b \leftarrow \beta b + g$, which is our average divided by $(1-\beta)$. So our
# `TorchSGDMomentum(lr=η, momentum=β)` equals `torch.optim.SGD(lr=η(1-β), momentum=β)`. Both hold to
# float32 round-off (torch arranges the arithmetic slightly differently):

# %%
ours, ref = small_net(), small_net()
fit(ours, TorchAdam(ours.parameters(), lr=1e-2), random_batches())
fit(ref, torch.optim.Adam(ref.parameters(), lr=1e-2), random_batches())
adam_diff = max_weight_diff(ours, ref)

beta, lr = 0.9, 0.1
ours, ref = small_net(), small_net()
fit(ours, TorchSGDMomentum(ours.parameters(), lr=lr, momentum=beta), random_batches())
fit(ref, torch.optim.SGD(ref.parameters(), lr=lr * (1 - beta), momentum=beta), random_batches())
sgd_diff = max_weight_diff(ours, ref)

print(f"TorchAdam        vs torch.optim.Adam                       : {adam_diff:.1e}")
print(f"TorchSGDMomentum vs torch.optim.SGD(lr*(1-beta), momentum) : {sgd_diff:.1e}")
assert adam_diff < 1e-6 and sgd_diff < 1e-6, "the conventions should agree to float32 round-off"

# %% [markdown]
# **Check 3: bad hyperparameters fail loudly.** `torch.optim.SGD` accepts `lr=float("inf")` and trains on
# with weights that are no longer numbers; our constructors refuse it, and NaN, and an empty list:

# %%
net = small_net()
fit(net, torch.optim.SGD(net.parameters(), lr=math.inf), random_batches(2))
print(
    f"torch.optim.SGD(lr=inf), after 2 steps: all weights finite? {all(p.isfinite().all() for p in net.parameters())}"
)
used_up = small_net().parameters()
list(used_up)
refused = []
for make in [
    lambda: TorchAdam(small_net().parameters(), lr=math.inf),
    lambda: TorchAdam(small_net().parameters(), eps=math.nan),
    lambda: TorchSGDMomentum(small_net().parameters(), lr=math.nan),
    lambda: TorchSGDMomentum(used_up, lr=0.1),
]:
    try:
        make()
    except ValueError as err:
        refused.append(str(err))
print("refused:", *refused, sep="\n  ")
assert len(refused) == 4, "each of the four bad constructions should raise ValueError"

# %% [markdown]
# ## 3. Parameter groups
#
# A list of dicts instead of a list of tensors gives each part of a network its own hyperparameters;
# what a group leaves out comes from `defaults`. Here the last layer gets a ten times larger learning
# rate and a different $\beta_1$. Filling in the defaults is the base class's job; ours is that `step()`
# really uses each group's own values. The check: one optimizer with two groups must take exactly the
# steps of two separate optimizers, one per layer, each built with that layer's hyperparameters.

# %%
HEAD = {"lr": 1e-2, "betas": (0.5, 0.999)}
net = small_net()
grouped = TorchAdam([{"params": net[0].parameters()}, {"params": net[2].parameters(), **HEAD}], lr=1e-3)
for i, group in enumerate(grouped.param_groups):
    print(
        f"group {i}: {len(group['params'])} tensors, lr={group['lr']}, betas={group['betas']}, eps={group['eps']}"
    )
fit(net, grouped, random_batches())

split, one_lr = small_net(), small_net()
separate = [TorchAdam(split[0].parameters(), lr=1e-3), TorchAdam(split[2].parameters(), **HEAD)]
for inputs, targets in random_batches():  # fit() with two optimizers side by side
    for opt in separate:
        opt.zero_grad()
    nn.functional.mse_loss(split(inputs), targets).backward()
    for opt in separate:
        opt.step()
fit(one_lr, TorchAdam(one_lr.parameters(), lr=1e-3), random_batches())
print(f"two groups vs two separate optimizers: max weight difference {max_weight_diff(net, split):.1e}")
print(f"two groups vs one lr for all:          max weight difference {max_weight_diff(net, one_lr):.1e}")
assert max_weight_diff(net, split) == 0.0, "each group must be updated with its own lr and betas"
assert max_weight_diff(net, one_lr) > 1e-3, "the head's own hyperparameters should change the run"

# %% [markdown]
# ## 4. Saving and resuming: `state_dict()` / `load_state_dict()`
#
# A checkpoint must hold the optimizer as well as the model: Adam's running averages and step counts
# are part of where training is. We train 30 steps in one go, then repeat the run with an interruption
# after 12 steps: model and optimizer go through `torch.save` / `torch.load` (into memory here; a
# file works the same), a **fresh** model and optimizer load them, and training continues. The two runs
# must be identical, loss for loss.

# %%
batches = random_batches()
straight = small_net()
straight_losses = fit(straight, TorchAdam(straight.parameters(), lr=1e-2), batches)

model = small_net()
optimizer = TorchAdam(model.parameters(), lr=1e-2)
losses_before = fit(model, optimizer, batches[:12])
buffer = io.BytesIO()
torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, buffer)

buffer.seek(0)
checkpoint = torch.load(buffer, weights_only=True)
resumed = small_net(seed=123)  # other weights: everything must come from the checkpoint
resumed.load_state_dict(checkpoint["model"])
resumed_optimizer = TorchAdam(resumed.parameters(), lr=1e-2)
resumed_optimizer.load_state_dict(checkpoint["optimizer"])
losses_after = fit(resumed, resumed_optimizer, batches[12:])

state = checkpoint["optimizer"]["state"][0]
print("saved param_groups[0]:", {k: v for k, v in checkpoint["optimizer"]["param_groups"][0].items()})
print(
    "saved state of parameter 0:",
    {k: (tuple(v.shape) if torch.is_tensor(v) else v) for k, v in state.items()},
)
print(f"max weight difference, interrupted vs straight run: {max_weight_diff(resumed, straight):.1e}")
assert losses_before + losses_after == straight_losses, "resuming must repeat the uninterrupted run exactly"


# %% [markdown]
# Note that the saved `param_groups` refer to parameters by their position (`"params": [0, 1, 2, 3]`),
# not by name: load a state dict into an optimizer built over the same parameters, in the same order.

# %% [markdown]
# ## 5. Learning-rate schedulers
#
# A scheduler sets `group["lr"]` at every call of `scheduler.step()` (usually once per epoch), to the value
# its rule gives for that epoch (for `StepLR` that changes only every `step_size` calls).
# Because our `step()` reads `group["lr"]` each time, the update uses the new value at once. Below:
# `StepLR` halves the lr every 10 epochs, `CosineAnnealingLR` lowers it along half a cosine to 0 in
# 30 epochs. We read the lr back from `param_groups`, where the optimizer sees it.


# %% alt="The learning rate the optimizer uses at each of 30 epochs under StepLR and CosineAnnealingLR, both starting at 0.1: StepLR halves it every 10 epochs in steps, the cosine schedule lowers it smoothly to 0."
def lr_trace(make_scheduler, epochs=30, lr=0.1):
    """The lr in param_groups at the start of every epoch (one scheduler.step() per epoch)."""
    optimizer = TorchSGDMomentum(small_net().parameters(), lr=lr, momentum=0.9)
    scheduler = make_scheduler(optimizer)
    trace = []
    for _ in range(epochs):
        trace.append(optimizer.param_groups[0]["lr"])
        optimizer.step()  # no gradients yet, so nothing moves; torch expects step() before scheduler.step()
        scheduler.step()
    return np.array(trace)


schedules = {
    "StepLR(step_size=10, gamma=0.5)": lr_trace(
        lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    ),
    "CosineAnnealingLR(T_max=30)": lr_trace(
        lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=30)
    ),
}
fig, ax = plt.subplots(figsize=(9, 4.5))
for (name, trace), marker in zip(schedules.items(), "os"):
    ax.plot(trace, marker=marker, markersize=5, label=name, drawstyle="steps-post")
ax.set(xlabel="epoch", ylabel="param_groups[0]['lr']", title="The lr the optimizer uses, epoch by epoch")
ax.legend(fontsize=13)
plt.show()


# %% [markdown]
# The scheduled value is really the one the step uses: with a `LambdaLR` that multiplies the lr by 0,
# SGD must leave the weights where they are.

# %%
net = small_net()
frozen_by_schedule = TorchSGDMomentum(net.parameters(), lr=0.1)
torch.optim.lr_scheduler.LambdaLR(frozen_by_schedule, lr_lambda=lambda epoch: 0.0)
before = copy.deepcopy(net)
fit(net, frozen_by_schedule, random_batches(5))
print(
    f"lr in param_groups: {frozen_by_schedule.param_groups[0]['lr']}, weight change: {max_weight_diff(net, before)}"
)
assert max_weight_diff(net, before) == 0.0, "step() must read the lr from param_groups"

# %% [markdown]
# ## 6. The course network in PyTorch Lightning
#
# Lightning separates *what* to compute (a `LightningModule`: the network, the loss of one batch, the
# optimizer) from *how* to run it (the `Trainer`: loops, devices, logging, checkpoints). To check that
# nothing changes the arithmetic, we train the course network twice, from the same initial weights and
# on the same batches in the same order:
#
# * a plain PyTorch loop, written out below, and
# * a Lightning `Trainer` whose `configure_optimizers` returns our `TorchAdam` and a `StepLR` scheduler.
#
# Setting: the ReLU network 784-512-256-256-128-10 with Kaiming initialization (notebook 04),
# `TorchAdam(lr=1e-3)`, the lr halved after every epoch, batches of 256 from the first 10,000 training images,
# 2 epochs (80 steps). That is small enough for a laptop CPU and long enough to see the loss fall.
# Both runs use the same device: `get_device()` for the plain loop, and the `Trainer`'s automatic choice
# (`accelerator="auto"`) for Lightning; both pick an accelerator when there is one (`get_device()`: a CUDA
# GPU, else Apple's MPS), else the CPU. The `Trainer` is
# told `devices=1`: with `devices="auto"` on a machine with several GPUs, Lightning inside a Jupyter kernel
# picks the `ddp_fork` strategy, and forking fails once the plain loop above has initialised CUDA
# ("Cannot re-initialize CUDA in forked subprocess").

# %%
(train_images, train_labels), _, _ = fashion_mnist_tensors()
subset = TensorDataset(train_images[:10_000], train_labels[:10_000])
EPOCHS, BATCH_SIZE, LR = 2, 256, 1e-3


DEVICE = get_device()


def train_loader():
    """Shuffled batches whose order depends only on this generator's seed (same in both runs)."""
    return DataLoader(subset, batch_size=BATCH_SIZE, shuffle=True, generator=torch_generator(0))


def make_optimizer(params):
    optimizer = TorchAdam(params, lr=LR)
    return optimizer, torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)


set_seed(42)
initial_net = BaseNetwork("relu")
kaiming_init(initial_net)
print(f"{len(subset)} images, {len(train_loader())} batches per epoch, {EPOCHS} epochs")

# %% [markdown]
# ### The plain loop
#
# Zero the gradients, forward, loss, backward, step; after each epoch, one scheduler step.

# %%
plain_net = copy.deepcopy(initial_net).to(DEVICE)
optimizer, scheduler = make_optimizer(plain_net.parameters())
plain_losses, plain_lrs = [], []
loader = train_loader()
for _ in range(EPOCHS):
    plain_lrs.append(optimizer.param_groups[0]["lr"])
    for images, labels in loader:
        images, labels = images.to(DEVICE), labels.to(DEVICE)
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(plain_net(images), labels)
        loss.backward()
        optimizer.step()
        plain_losses.append(loss.item())
    scheduler.step()
print(
    f"plain loop: {len(plain_losses)} steps, loss {plain_losses[0]:.3f} -> {plain_losses[-1]:.3f}, lr per epoch {plain_lrs}"
)


# %% [markdown]
# ### The LightningModule
#
# `training_step` returns the loss of one batch; Lightning does the backward pass and calls
# `optimizer.step(closure)` itself. `configure_optimizers` returns our optimizer and scheduler; by
# default Lightning steps the scheduler once per epoch, like the loop above. We record each loss and
# the lr of each epoch so we can compare.
#
# Lightning talks a lot by default. For a clean notebook we switch off its progress bar, model summary,
# logger and checkpoints in the `Trainer`, raise its log level (that hides the
# "GPU available / TPU available" lines, which only report the hardware), and filter two specific
# warnings that are not about our code: the hint to use more `DataLoader` workers (our data is already
# a tensor in memory, so workers would only add overhead) and a deprecation inside Lightning's own use
# of `torch.utils._pytree`.


# %%
class LitClassifier(pl.LightningModule):
    """The course network, its loss, and its optimizer + scheduler, in Lightning's form."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.step_losses, self.epoch_lrs = [], []

    def on_train_epoch_start(self):
        self.epoch_lrs.append(self.optimizers().param_groups[0]["lr"])

    def training_step(self, batch, batch_idx):
        images, labels = batch
        loss = nn.functional.cross_entropy(self.net(images), labels)
        self.step_losses.append(loss.item())
        return loss

    def configure_optimizers(self):
        optimizer, scheduler = make_optimizer(self.parameters())
        return {"optimizer": optimizer, "lr_scheduler": scheduler}


logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)  # the GPU/TPU availability report
warnings.filterwarnings("ignore", category=PossibleUserWarning, message=".*does not have many workers")
warnings.filterwarnings(
    "ignore", category=FutureWarning, message=r"`isinstance\(treespec, LeafSpec\)` is deprecated"
)

lit = LitClassifier(copy.deepcopy(initial_net))
trainer = pl.Trainer(
    max_epochs=EPOCHS,
    accelerator="auto",
    devices=1,
    enable_progress_bar=False,
    enable_model_summary=False,
    logger=False,
    enable_checkpointing=False,
)
trainer.fit(lit, train_dataloaders=train_loader())
print(f"Lightning chose {type(trainer.accelerator).__name__} with {trainer.num_devices} device(s)")
print(
    f"Lightning: {len(lit.step_losses)} steps, loss {lit.step_losses[0]:.3f} -> {lit.step_losses[-1]:.3f}, lr per epoch {lit.epoch_lrs}"
)

# %% [markdown]
# ### Same steps?
#
# Same initial weights, same batches, same optimizer class, same scheduler, same device: the per-step
# losses and the final weights should agree to round-off (here they agree *exactly*: both runs do the
# same float operations in the same order). This holds on one device. For several GPUs the
# `LightningModule` stays as it is; the `Trainer` changes: `devices=N` with `strategy="ddp"`, run as a
# script (`python train.py`), since a notebook can only fork, and forking fails after CUDA was initialised
# (this notebook runs on one device, so neither is tested here). With $N$ GPUs and DDP each GPU runs its
# own process on its own batches of 256, drawn from its `DistributedSampler`
# shard of the data, and the gradients are averaged across them: a step sees $N \times 256$ examples and
# an epoch has $N$ times fewer steps. The steps are then a data-parallel run's, no longer step for step
# the plain loop's.

# %% alt="Training loss per update step over two epochs for a plain PyTorch loop and the Lightning Trainer, both with our Adam and StepLR: the two curves lie exactly on top of each other, with the learning rate halved at epoch 2."
loss_diff = np.abs(np.array(plain_losses) - np.array(lit.step_losses)).max()
weight_diff = max_weight_diff(plain_net.cpu(), lit.net.cpu())
print(f"max difference of the {len(plain_losses)} per-step losses: {loss_diff:.1e}")
print(f"max difference of the final weights:       {weight_diff:.1e}")
assert len(lit.step_losses) == len(plain_losses) == EPOCHS * len(train_loader()), "both runs take every step"
assert lit.epoch_lrs == plain_lrs == [LR, LR / 2], "the scheduler halves the lr after each epoch in both runs"
assert loss_diff < 1e-6 and weight_diff < 1e-6, "Lightning and the plain loop should take the same steps"

fig, ax = plt.subplots(figsize=(9, 4.5))
ax.plot(plain_losses, lw=4, alpha=0.5, label="plain PyTorch loop")
ax.plot(lit.step_losses, "k--", lw=1.5, label="Lightning Trainer")
ax.axvline(len(train_loader()), color="grey", lw=1)
ax.text(len(train_loader()) + 1, max(plain_losses) * 0.9, "epoch 2: lr halved", fontsize=12)
ax.set(
    xlabel="update step",
    ylabel="training loss (batch)",
    title="TorchAdam (ours) + StepLR: two runs, one curve",
)
ax.legend(fontsize=13)
plt.show()

# %% [markdown]
# Our optimizer now behaves like any `torch.optim` optimizer: schedulers drive it, checkpoints resume
# it, and Lightning runs it without changing a single step. The same recipe (hyperparameters in
# `param_groups`, buffers in `self.state[p]`, `step(closure)`) turns any update rule into a
# first-class PyTorch optimizer: the exercises ask you to do it for RMSProp.

# %% [markdown]
# ## Exercises
#
# ### Exercise 1: RMSProp as a `torch.optim.Optimizer`
#
# RMSProp (Hinton's lecture notes, 2012) is Adam without the first moment and without bias correction:
#
# $$v \leftarrow \alpha\, v + (1-\alpha)\, g^2, \qquad w \leftarrow w - \eta\, \frac{g}{\sqrt{v} + \epsilon}.$$
#
# Write `RMSprop(params, lr=0.01, alpha=0.99, eps=1e-8)` as a subclass of `torch.optim.Optimizer`.
# `check_rmsprop` compares it with `torch.optim.RMSprop` step for step, with two parameter groups that
# have different `lr`, `alpha` and `eps`, then calls `step(closure)` once, and last checks that your
# `__init__` raises `ValueError` for a hyperparameter out of range (a zero, negative, infinite or nan `lr` or
# `eps`, an `alpha` outside $[0, 1)$; `torch.optim.RMSprop` itself lets `lr=inf` and `alpha=1.5` through).

# %%
from utils.exercises.torch_optim import check_resumes_exactly, check_rmsprop


class RMSprop(torch.optim.Optimizer):
    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8):
        # TODO: validate the hyperparameters, then hand them to the base class as defaults
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure=None):
        # TODO: for every group and every parameter with a gradient, update v (in self.state[p]) and w
        raise NotImplementedError


# check_rmsprop(RMSprop)  # uncomment when your class is ready

# %% [markdown]
# #### Solution


# %% jupyter={"source_hidden": true} tags=["solution"]
class RMSprop(torch.optim.Optimizer):
    """v <- alpha * v + (1 - alpha) * g^2;  w <- w - lr * g / (sqrt(v) + eps)."""

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8):
        if not 0 < lr < math.inf:  # also rejects nan, which fails every comparison
            raise ValueError(f"learning rate must be a positive finite number, got lr={lr}")
        if not 0.0 <= alpha < 1.0:
            raise ValueError(f"alpha must be in [0, 1), got alpha={alpha}")
        if not 0 < eps < math.inf:
            raise ValueError(f"eps must be a positive finite number, got eps={eps}")
        super().__init__(params, defaults={"lr": lr, "alpha": alpha, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["square_avg"] = torch.zeros_like(p)
                v = (
                    state["square_avg"]
                    .mul_(group["alpha"])
                    .addcmul_(p.grad, p.grad, value=1 - group["alpha"])
                )
                p.addcdiv_(p.grad, v.sqrt() + group["eps"], value=-group["lr"])
        return loss


check_rmsprop(RMSprop)


# %% [markdown]
# ### Exercise 2: make a checkpoint resume exactly
#
# The optimizer below computes correct momentum steps, but a run that is saved and resumed does not
# continue where it left off. Find out why, fix it, and confirm with `check_resumes_exactly`, which checks
# that your class still takes `TorchSGDMomentum`'s steps (the `reference`), then
# trains 12 steps straight through and again with a save/load after step 5. (Hint: print
# `optimizer.state_dict()` after a few steps.)


# %%
class ForgetfulMomentum(torch.optim.Optimizer):
    """Averaged momentum, as in TorchSGDMomentum... but where do the buffers live?"""

    def __init__(self, params, lr=0.1, momentum=0.9):
        super().__init__(params, defaults={"lr": lr, "momentum": momentum})
        self.buffers = {}

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                m = self.buffers.setdefault(p, torch.zeros_like(p))
                m.mul_(group["momentum"]).add_(p.grad, alpha=1 - group["momentum"])
                p.add_(m, alpha=-group["lr"])
        return loss


# check_resumes_exactly(ForgetfulMomentum, reference=TorchSGDMomentum, lr=0.1, momentum=0.9)  # fails: read its message, then fix the class

# %% [markdown]
# #### Solution


# %% jupyter={"source_hidden": true} tags=["solution"]
# state_dict() saves self.state and param_groups only: the attribute self.buffers is lost, so the
# resumed optimizer restarts its momentum from zero. Keeping the buffer in self.state[p] fixes it.
class RememberingMomentum(torch.optim.Optimizer):
    def __init__(self, params, lr=0.1, momentum=0.9):
        super().__init__(params, defaults={"lr": lr, "momentum": momentum})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["momentum_buffer"] = torch.zeros_like(p)
                m = state["momentum_buffer"]
                m.mul_(group["momentum"]).add_(p.grad, alpha=1 - group["momentum"])
                p.add_(m, alpha=-group["lr"])
        return loss


try:
    check_resumes_exactly(ForgetfulMomentum, reference=TorchSGDMomentum, lr=0.1, momentum=0.9)
except AssertionError as err:
    print("ForgetfulMomentum:", err, "\n")
check_resumes_exactly(RememberingMomentum, reference=TorchSGDMomentum, lr=0.1, momentum=0.9)
check_resumes_exactly(RMSprop, reference=torch.optim.RMSprop, lr=0.01)
for bad in ({"lr": math.inf}, {"eps": math.inf}, {"eps": math.nan}):
    try:
        RMSprop(small_net().parameters(), **bad)
    except ValueError as err:
        print(f"RMSprop({bad}) refused: {err}")
    else:
        raise AssertionError(f"RMSprop should refuse {bad}")
