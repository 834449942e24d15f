# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 09 · The learning rate, gradient clipping, and three ways to write an update
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/courseware-dl/init-optim-course/blob/main/notebooks/09_learning_rate_and_clipping.ipynb)
#
# The learning rate is the one hyperparameter every optimizer has, and the first one to get right.
# On a small regression network, where a full training run takes a fraction of a second, we can afford
# to look at it closely. In this notebook you will
# 1. sweep the learning rate over five decades and find the three regimes: **too small** (barely
#    moves), **good**, and **too large** (the loss diverges);
# 2. watch a ReLU network **collapse to its output bias** after a few oversized steps: its hidden units
#    die, and it predicts one constant, the mean target;
# 3. rescue the same learning rate with **gradient-norm clipping** (`torch.nn.utils.clip_grad_norm_`,
#    and a hand-written version that must agree with it);
# 4. compare **full-batch gradient descent with minibatch SGD**, per epoch, per update and per second;
# 5. rewrite momentum in **velocity form** and Adam with its **bias correction folded into the step
#    size**, and check both against notebook 05's optimizers.
#
# It builds on notebook 05 (the optimizers, `utils.optimizers`) and notebook 04 (ReLU networks).

# %%
# Set-up: make the course's helper package `utils` importable.
# Locally, `pip install -r requirements.txt` installed it; in Colab (or any bare kernel) fetch it.
import importlib.util
import subprocess
import sys

COURSE_REPO = "courseware-dl/init-optim-course"
if importlib.util.find_spec("utils") is None:
    subprocess.run(["git", "clone", "--quiet", "--depth=1", f"https://github.com/{COURSE_REPO}.git", "course"], check=True)
    sys.path.insert(0, "course")

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib_inline.backend_inline import set_matplotlib_formats
from torch import nn

from utils import optimizers as course
from utils import set_seed
from utils.plotting import set_course_style

set_matplotlib_formats("png")
set_course_style()
set_seed(42)
# The networks here are tiny (64 units per layer): splitting such small operations across threads costs
# about as much as it saves, so one thread is as fast as several, and the timings of section 5 stay steady.
torch.set_num_threads(1)


# %% [markdown]
# ## 1. A task small enough to train a hundred times
#
# We generate the data ourselves: 256 points $x \in [-2, 2]$ with targets
# $y = \sin(2x) + x/2 + \text{noise}$ (noise std 0.1). The model is a ReLU network
# 1 → 64 → 64 → 1 with PyTorch's default initialization, trained on the mean squared error.
#
# One number sets the scale for everything below: the loss of the best **constant** prediction. For the
# mean squared error the best constant is the mean target $\bar y$, and its loss is the variance of $y$.
# A network that does no better than that has learned nothing about $x$.

# %%
def make_data(n=256, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, generator=gen) * 4 - 2
    y = torch.sin(2 * x) + 0.5 * x + 0.1 * torch.randn(n, 1, generator=gen)
    return x, y


def make_mlp(seed=0, width=64):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(1, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1))


x, y = make_data()
MEAN_LOSS = nn.functional.mse_loss(torch.full_like(y, y.mean().item()), y).item()
print(f"{len(x)} points, mean target {y.mean():.4f}; loss of predicting the mean = Var(y) = {MEAN_LOSS:.4f}")
assert math.isclose(MEAN_LOSS, y.var(unbiased=False).item(), rel_tol=1e-5)

fig, ax = plt.subplots(figsize=(8, 4))
ax.scatter(x, y, s=12, alpha=0.6, label="data")
ax.axhline(y.mean().item(), color="grey", ls="--", label=r"mean target $\bar y$")
ax.set(xlabel="x", ylabel="y", title=r"Regression task: $y = \sin 2x + x/2 +$ noise")
ax.legend(fontsize=13, loc="upper left")
plt.show()

# %% [markdown]
# ## 2. A learning-rate sweep over five decades
#
# `train` runs full-batch gradient descent ($w \leftarrow w - \eta\, \nabla L(w)$, every update sees all
# 256 points) for 200 updates from a fixed initialization and returns the final loss. It stops early
# when the loss stops being a finite number. (`max_norm` adds gradient clipping, used in section 4.)
#
# We try 21 learning rates from $10^{-4}$ to $10$, four per decade, each from two initializations.

# %%
STEPS = 200


def train(lr, seed=0, steps=STEPS, max_norm=None):
    """Full-batch gradient descent; returns (final loss, network). NaN if the loss blew up."""
    net = make_mlp(seed)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(net(x), y)
        if not torch.isfinite(loss):
            return math.nan, net
        loss.backward()
        if max_norm is not None:
            nn.utils.clip_grad_norm_(net.parameters(), max_norm)
        optimizer.step()
    final = nn.functional.mse_loss(net(x), y).item()
    return (final if math.isfinite(final) else math.nan), net


LRS = 10 ** np.linspace(-4, 1, 21)
SEEDS = (0, 1)
start = time.perf_counter()
final_loss = np.array([[train(lr, seed)[0] for seed in SEEDS] for lr in LRS])
print(f"{len(LRS) * len(SEEDS)} training runs in {time.perf_counter() - start:.1f} s")
for lr, losses in zip(LRS, final_loss):
    print(f"lr = {lr:8.2e}   final loss " + "   ".join(f"{loss:7.4f}" for loss in losses))


# %% [markdown]
# Three regimes appear. We call a learning rate *good* when its final loss (mean over the two seeds) is
# within 3× of the best one. Below that range the steps are **too small** to get anywhere in 200
# updates. Above it the steps are **too large**: the final loss rises again, and further right it either
# stalls at exactly the variance of $y$ (a *collapse*, the subject of the next section) or overflows to
# NaN (drawn as × at the top of the plot).

# %%
def regimes(lrs, losses):
    """Indices of the good range (final loss within 3x of the best) and of the first/last lr."""
    mean = np.where(np.isfinite(losses).all(axis=1), losses.mean(axis=1), np.inf)
    good = np.flatnonzero(mean <= 3 * mean.min())
    return mean, good


mean_loss, good = regimes(LRS, final_loss)
best_lr = LRS[np.argmin(mean_loss)]
diverged = ~np.isfinite(final_loss)
collapsed = np.isclose(final_loss, MEAN_LOSS, rtol=1e-3)


def plot_sweep(ax, lrs, losses, label, color, marker="o"):
    finite = np.isfinite(losses)
    for s in range(losses.shape[1]):
        ax.plot(lrs[finite[:, s]], losses[finite[:, s], s], marker=marker, color=color, alpha=0.8,
                label=label if s == 0 else None)
        ax.plot(lrs[~finite[:, s]], np.full((~finite[:, s]).sum(), 3.0), "x", color=color, markersize=12, mew=3)


fig, ax = plt.subplots(figsize=(11, 5.5))
ax.axvspan(LRS[0] / 1.5, LRS[good[0]] / 10**0.125, color="tab:blue", alpha=0.08)
ax.axvspan(LRS[good[0]] / 10**0.125, LRS[good[-1]] * 10**0.125, color="tab:green", alpha=0.12)
ax.axvspan(LRS[good[-1]] * 10**0.125, LRS[-1] * 1.5, color="tab:red", alpha=0.08)
for x_text, text in [(3e-4, "too small"), (math.sqrt(LRS[good[0]] * LRS[good[-1]]), "good"), (2.0, "too large")]:
    ax.text(x_text, 4.5e-3, text, ha="center", fontsize=15, weight="bold")
plot_sweep(ax, LRS, final_loss, "final loss (2 seeds)", "k")
ax.axhline(MEAN_LOSS, color="tab:red", ls="--", lw=1.5, label=r"Var$(y)$: predict the mean")
ax.text(1.3e-4, 3.3, "× = NaN (diverged)", fontsize=13)
ax.set(xscale="log", yscale="log", ylim=(3e-3, 6), xlim=(LRS[0] / 1.5, LRS[-1] * 1.5),
       xlabel="learning rate", ylabel=f"loss after {STEPS} updates", title="Learning-rate sweep, full-batch GD")
ax.legend(fontsize=13, loc="upper center")
plt.show()

print(f"best lr {best_lr:.3g} (loss {mean_loss.min():.4f}); good range {LRS[good[0]]:.3g} .. {LRS[good[-1]]:.3g}")
print(f"collapsed to the mean: lr = {', '.join(f'{lr:.3g}' for lr in LRS[collapsed.any(axis=1)])}")
print(f"NaN:                   lr = {', '.join(f'{lr:.3g}' for lr in LRS[diverged.any(axis=1)])}")
assert 0 < good[0] and good[-1] < len(LRS) - 1, "the good range should lie strictly inside the sweep"
assert final_loss[0].min() > 0.5 * MEAN_LOSS, "the smallest lr should have made little progress in 200 updates"
assert diverged[-1].all(), "the largest lr should overflow"
assert collapsed[good[-1] + 1:].any(), "some too-large lr should collapse to the mean prediction"

# %% [markdown]
# Two things to take away. The good range spans about half a decade here (0.03 to 0.1), and the two
# sides fail differently: to the left the loss rises gradually, and more updates would still get there;
# to the right the failure is abrupt and permanent: at ten times the best learning rate (0.32) one of the
# two seeds has already collapsed, at 0.56 one overflows, and from 1 on both do. And "too large" does not
# always mean NaN; the more treacherous failure is a loss that stalls at a plausible-looking value.

# %% [markdown]
# ## 3. Collapse: a ReLU network that predicts a constant
#
# Take a learning rate from the too-large region, $\eta = 0.5$ (between the sweep's 0.32 and 0.56), and
# seed 0. We count, per hidden layer,
# the **dead** ReLU units: those whose input is $\le 0$ for *every* one of the 256 points, so they output 0
# everywhere and pass back no gradient. We compare the network before training with the network after
# 200 updates at $\eta = 0.5$ (and after 200 updates at a good $\eta = 0.1$ for reference). Some units are
# dead from the start: with a one-dimensional input, a unit whose kink lies outside $[-2, 2]$ on the wrong
# side never fires. What matters is what training does to that number.

# %%
LR_BIG, LR_GOOD = 0.5, 0.1


@torch.no_grad()
def dead_fraction(net, inputs):
    """Fraction of units in each hidden ReLU layer that are inactive for every input."""
    fractions, h = [], inputs
    for layer in net:
        h = layer(h)
        if isinstance(layer, nn.ReLU):
            fractions.append((h <= 0).all(dim=0).float().mean().item())
    return fractions


nets = {"before training": make_mlp(0), f"after, lr={LR_GOOD}": train(LR_GOOD)[1], f"after, lr={LR_BIG}": train(LR_BIG)[1]}
dead = {name: dead_fraction(net, x) for name, net in nets.items()}
for name, fractions in dead.items():
    print(f"{name:18s} dead units: layer 1 {fractions[0]:6.1%}   layer 2 {fractions[1]:6.1%}")

with torch.no_grad():
    collapsed_out = nets[f"after, lr={LR_BIG}"](x)
print(f"\nlr={LR_BIG}: output std over the data {collapsed_out.std():.1e}, output mean {collapsed_out.mean():.5f}, "
      f"mean target {y.mean():.5f}")
assert dead[f"after, lr={LR_BIG}"][1] == 1.0, "every unit of the second hidden layer should be dead"
assert max(dead["before training"][1], dead[f"after, lr={LR_GOOD}"][1]) < 0.5, "a normal run keeps most units"
assert collapsed_out.std() < 1e-5, "the collapsed network should output a constant"
assert abs(collapsed_out.mean() - y.mean()) < 1e-4, "... and that constant should be the mean target"


# %% [markdown]
# Why the mean? Once every unit of the last hidden layer is dead, the output is
# $\hat y = w^\top \mathrm{ReLU}(\cdot) + b = b$ for every input, and the only parameter that still gets a
# gradient is the output bias $b$: $\partial L / \partial b = 2(b - \bar y)$. Gradient descent on $b$
# alone converges to $\bar y$ (for $\eta < 1$), the best constant, and the loss stalls at
# $\mathrm{Var}(y)$. The units are dead for good: no gradient reaches their weights, so nothing can
# revive them.
#
# How did they die? Following the first few updates shows it. At $\eta = 0.5$ every step overshoots:
# the loss *rises* and the gradient grows with it (from about 3 to about 17 in three updates), and each
# oversized step pushes more units of the second layer below zero for all inputs: a quarter at the
# start, 95 % after four updates. From then on only the output bias learns.

# %%
def first_steps(lr, n=8, seed=0):
    """Gradient norm, loss and dead fraction of hidden layer 2 over the first n full-batch updates."""
    net = make_mlp(seed)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    rows = []
    for step in range(n):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(net(x), y)
        loss.backward()
        grad_norm = torch.cat([p.grad.flatten() for p in net.parameters()]).norm().item()
        rows.append((step, loss.item(), grad_norm, dead_fraction(net, x)[1]))
        optimizer.step()
    return rows


print(" step     loss  |grad|  dead in layer 2")
for step, loss, grad_norm, dead_2 in first_steps(LR_BIG):
    print(f"{step:5d} {loss:8.3f} {grad_norm:7.2f} {dead_2:9.0%}")


# %% [markdown]
# ## 4. Rescue by gradient-norm clipping
#
# Gradient clipping caps the length of the step without changing its direction. With all gradients
# stacked into one vector $g$ and a threshold $c$:
#
# $$g \leftarrow g \cdot \min\!\left(1, \frac{c}{\lVert g \rVert_2 + 10^{-6}}\right).$$
#
# A learning rate $\eta$ then moves the weights by at most $\eta c$ per update, however steep the loss
# is where we stand. Written by hand, next to PyTorch's `torch.nn.utils.clip_grad_norm_`:

# %%
@torch.no_grad()
def clip_grad_norm(parameters, max_norm):
    """Scale all gradients together so that their joint L2 norm is at most max_norm; return the norm
    before clipping (as torch.nn.utils.clip_grad_norm_ does)."""
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = torch.sqrt(sum((g**2).sum() for g in grads))
    scale = min(1.0, max_norm / (total_norm.item() + 1e-6))
    for g in grads:
        g.mul_(scale)
    return total_norm


def gradients_of(net):
    net.zero_grad()
    nn.functional.mse_loss(net(x), y).backward()
    return net


ours, ref = gradients_of(make_mlp(0)), gradients_of(make_mlp(0))
norm_ours = clip_grad_norm(list(ours.parameters()), max_norm=0.1)
norm_ref = nn.utils.clip_grad_norm_(ref.parameters(), max_norm=0.1)
grad_diff = max((p.grad - q.grad).abs().max().item() for p, q in zip(ours.parameters(), ref.parameters()))
clipped_norm = torch.cat([p.grad.flatten() for p in ours.parameters()]).norm().item()
print(f"norm before clipping: ours {norm_ours:.6f}, torch {norm_ref:.6f}; after clipping {clipped_norm:.6f}")
print(f"max difference of the clipped gradients: {grad_diff:.1e}")
assert torch.allclose(norm_ours, norm_ref) and grad_diff < 1e-7, "the hand-written clip should match torch's"
assert math.isclose(clipped_norm, 0.1, rel_tol=1e-4), "after clipping the joint norm equals max_norm"

# %% [markdown]
# Now the rescue: the same sweep with clipping at $c = 0.1$ (seed 0), and the fits at $\eta = 0.5$ with
# and without it.

# %%
MAX_NORM = 0.1
clipped_loss = np.array([[train(lr, 0, max_norm=MAX_NORM)[0]] for lr in LRS])
loss_clipped_big, net_clipped_big = train(LR_BIG, max_norm=MAX_NORM)

fig, (ax_sweep, ax_fit) = plt.subplots(1, 2, figsize=(15, 5.5))
plot_sweep(ax_sweep, LRS, final_loss[:, :1], "no clipping", "k")
plot_sweep(ax_sweep, LRS, clipped_loss, f"clip_grad_norm_, max_norm={MAX_NORM}", "tab:orange", marker="s")
ax_sweep.axhline(MEAN_LOSS, color="tab:red", ls="--", lw=1.5, label=r"Var$(y)$")
ax_sweep.set(xscale="log", yscale="log", ylim=(3e-3, 6), xlabel="learning rate", ylabel=f"loss after {STEPS} updates",
             title="Sweep with and without clipping (seed 0)")
ax_sweep.legend(fontsize=12, loc="lower left")

grid = torch.linspace(-2, 2, 200).unsqueeze(1)
ax_fit.scatter(x, y, s=10, alpha=0.4, color="grey", label="data")
with torch.no_grad():
    for label, net, style in [(f"lr={LR_GOOD}", nets[f"after, lr={LR_GOOD}"], "-"),
                              (f"lr={LR_BIG}", nets[f"after, lr={LR_BIG}"], "--"),
                              (f"lr={LR_BIG} + clipping", net_clipped_big, "-")]:
        ax_fit.plot(grid, net(grid), style, lw=3, label=label)
ax_fit.set(xlabel="x", ylabel="prediction", title="The fitted functions")
ax_fit.legend(fontsize=12, loc="upper left")
plt.tight_layout()
plt.show()

print(f"lr={LR_BIG}: loss {train(LR_BIG)[0]:.4f} without clipping, {loss_clipped_big:.4f} with clipping "
      f"(best unclipped run: {np.nanmin(final_loss):.4f})")
print(f"dead units with clipping: {dead_fraction(net_clipped_big, x)}")
assert loss_clipped_big < 2 * np.nanmin(final_loss), "clipping should rescue lr=0.5 to a good fit"
assert np.isfinite(clipped_loss).all(), "with clipping no lr in the sweep overflows"


# %% [markdown]
# Clipping moves the right edge of the good range far out: with every step shorter than $\eta c$,
# no single update can throw the network into the dead region, and no lr in the sweep overflows any more.
# The price shows on the left: where the raw gradient is longer than $c$, clipping also shortens the
# steps of small learning rates, so they make even less progress. In practice $c$ is chosen a bit above
# the typical gradient norm, so that clipping only acts on the rare huge gradient (it is standard
# in training recurrent networks and transformers).

# %% [markdown]
# ## 5. Full-batch gradient descent vs minibatch SGD
#
# So far every update used all 256 points. Minibatch SGD uses a random batch of 16 per update, so an
# *epoch* (one pass over the data) is 16 updates instead of 1. Same network, the best learning rate of
# the sweep, $\eta = 0.03$, 60 epochs each; we record the loss on the full data after every epoch, the number of updates so far
# and the elapsed time.

# %%
def run_epochs(batch_size, epochs=60, lr=0.03, seed=0):
    """SGD over shuffled minibatches (batch_size = len(x): full-batch GD). Returns per-epoch
    full-data loss, cumulative updates and cumulative seconds of training (evaluation excluded)."""
    net = make_mlp(seed)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    losses, updates, seconds, clock = [], [], [], 0.0
    for _ in range(epochs):
        start = time.perf_counter()
        for idx in torch.randperm(len(x), generator=gen).split(batch_size):
            optimizer.zero_grad()
            nn.functional.mse_loss(net(x[idx]), y[idx]).backward()
            optimizer.step()
        clock += time.perf_counter() - start
        with torch.no_grad():
            losses.append(nn.functional.mse_loss(net(x), y).item())
        updates.append((updates[-1] if updates else 0) + math.ceil(len(x) / batch_size))
        seconds.append(clock)
    return np.array(losses), np.array(updates), np.array(seconds)


runs = {"full batch (256)": run_epochs(len(x)), "minibatch (16)": run_epochs(16)}
fig, axes = plt.subplots(1, 3, figsize=(16, 5), sharey=True)
for (name, (losses, updates, seconds)), color in zip(runs.items(), ["tab:blue", "tab:orange"]):
    for ax, axis in zip(axes, [np.arange(1, len(losses) + 1), updates, seconds]):
        ax.plot(axis, losses, color=color, lw=2.5, label=name)
for ax, xlabel in zip(axes, ["epoch", "updates", "seconds of training"]):
    ax.set(xlabel=xlabel, yscale="log")
axes[1].set_xscale("log")
axes[0].set(ylabel="loss on all data", title="per epoch")
axes[1].set_title("per update")
axes[2].set_title("per second (this machine)")
axes[0].legend(fontsize=13)
plt.tight_layout()
plt.show()

full, mini = runs["full batch (256)"], runs["minibatch (16)"]
n_full_updates = full[1][-1]
same = np.searchsorted(mini[1], n_full_updates)  # the first minibatch epoch with as many updates
mini_at_same_updates = mini[0][same]
print(f"after 60 epochs: full batch {full[0][-1]:.4f}, minibatch {mini[0][-1]:.4f}")
print(f"after {n_full_updates} updates: full batch {full[0][-1]:.4f}; minibatch after {mini[1][same]} updates "
      f"({same + 1} epochs): {mini_at_same_updates:.4f}")
print(f"time per update: full batch {1e3 * full[2][-1] / full[1][-1]:.2f} ms, "
      f"minibatch {1e3 * mini[2][-1] / mini[1][-1]:.2f} ms (16 times less data)")
roughness = {name: np.abs(np.diff(np.log(run[0][len(run[0]) // 2:]))).mean() for name, run in runs.items()}
print("mean |change of log loss| per epoch, second half: " + ", ".join(f"{k} {v:.3f}" for k, v in roughness.items()))
assert mini[0][-1] < full[0][-1] / 3, "per epoch, minibatch SGD should be far ahead"
assert 1 / 3 < mini_at_same_updates / full[0][-1] < 3, "per update, the two should make similar progress"
assert roughness["minibatch (16)"] > 3 * roughness["full batch (256)"], "the minibatch curve should be the noisy one"


# %% [markdown]
# Per update the two make similar progress: a gradient estimated from 16 points points roughly the
# same way as the exact one, so each noisy step is worth about as much as an exact step. But a
# full-batch update costs as much arithmetic as 16 minibatch updates, so per epoch minibatch SGD is far
# ahead. Per second it is still ahead, but by less: on a network this tiny, the time of an update is
# mostly fixed overhead (Python and the launch of each operation), so a full-batch update costs not 16 times
# as much as a minibatch update but about twice as much (the time per update printed above). The price of small
# batches is noise: the minibatch loss jitters from epoch to epoch instead of falling smoothly, which is
# one reason learning rates are lowered late in training. On a GPU the same holds on a larger scale: a
# bigger batch costs hardly any extra time until the hardware is busy, which is why batches there are
# usually far larger than 16.

# %% [markdown]
# ## 6. Momentum in velocity form
#
# Three ways to write SGD with momentum circulate in papers and libraries (notebook 05 has the full
# comparison); with the right learning rates they take identical steps:
#
# | form | update | where |
# |---|---|---|
# | average (this course) | $m \leftarrow \beta m + (1-\beta) g,\quad w \leftarrow w - \eta\, m$ | `utils.optimizers.SGDMomentum(lr=η)` |
# | sum (PyTorch) | $b \leftarrow \beta b + g,\quad w \leftarrow w - \eta_b\, b$ | `torch.optim.SGD(lr=η_b, momentum=β)` |
# | velocity (Sutskever et al., 2013) | $u \leftarrow \beta u - \eta_v\, g,\quad w \leftarrow w + u$ | written below |
#
# Since $m = (1-\beta)\,b$ and $u = -\eta_v\, b$, all three agree when $\eta_v = \eta_b = \eta\,(1-\beta)$.
# With $\beta = 0.9$, the course's $\eta = 0.1$ is $\eta_v = 0.01$ in the other two forms. Trained side
# by side on our regression network:

# %%
def train_velocity(lr_v, beta, steps=100, seed=0):
    """Full-batch SGD with momentum in velocity form: u <- beta*u - lr_v*g; w <- w + u."""
    net = make_mlp(seed)
    velocity = [torch.zeros_like(p) for p in net.parameters()]
    for _ in range(steps):
        net.zero_grad()
        nn.functional.mse_loss(net(x), y).backward()
        with torch.no_grad():
            for p, u in zip(net.parameters(), velocity):
                u.mul_(beta).add_(p.grad, alpha=-lr_v)
                p.add_(u)
    return net


def train_with(make_optimizer, steps=100, seed=0):
    net = make_mlp(seed)
    optimizer = make_optimizer(net.parameters())
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.mse_loss(net(x), y).backward()
        optimizer.step()
    return net


def max_diff(a, b):
    return max((p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters()))


LR_AVG, BETA = 0.1, 0.9
averaged = train_with(lambda params: course.SGDMomentum(params, lr=LR_AVG, momentum=BETA))
summed = train_with(lambda params: torch.optim.SGD(params, lr=LR_AVG * (1 - BETA), momentum=BETA))
velocity_form = train_velocity(lr_v=LR_AVG * (1 - BETA), beta=BETA)
print(f"velocity (lr_v={LR_AVG * (1 - BETA):.2f}) vs course average (lr={LR_AVG}): max weight difference {max_diff(velocity_form, averaged):.1e}")
print(f"velocity (lr_v={LR_AVG * (1 - BETA):.2f}) vs torch.optim.SGD (lr={LR_AVG * (1 - BETA):.2f}):  max weight difference {max_diff(velocity_form, summed):.1e}")
wrong = train_velocity(lr_v=LR_AVG, beta=BETA)
print(f"velocity with the course's lr={LR_AVG} unchanged: max weight difference {max_diff(wrong, averaged):.1e}")
assert max_diff(velocity_form, averaged) < 1e-5 and max_diff(velocity_form, summed) < 1e-5, "the three forms should agree"
assert max_diff(wrong, averaged) > 1e-2, "copying the lr across conventions changes the run"

# %% [markdown]
# The differences of about $10^{-7}$ are float32 round-off (the same numbers, computed in a different
# order). Copying a learning rate from a paper that uses another convention, without the factor
# $1-\beta$, gives a step ten times too large (for $\beta = 0.9$).

# %% [markdown]
# ## 7. Adam with the bias correction folded into the step size
#
# Notebook 05's Adam (Kingma & Ba 2015, Algorithm 1) corrects both moments and then divides:
#
# $$\hat m_t = \frac{m_t}{1-\beta_1^t},\quad \hat v_t = \frac{v_t}{1-\beta_2^t},\quad
# w \leftarrow w - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}.$$
#
# Both corrections are scalars, so they can be moved into the step size (the paper notes this in
# section 2; TensorFlow/Keras implement it this way):
#
# $$\eta_t = \eta\, \frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t},\qquad
# w \leftarrow w - \eta_t\, \frac{m_t}{\sqrt{v_t} + \hat\epsilon}.$$
#
# The two are equal if $\hat\epsilon = \epsilon\sqrt{1-\beta_2^t}$. Implementations that use a fixed
# $\hat\epsilon = \epsilon$ instead put $\epsilon$ next to $\sqrt{v_t}$ rather than $\sqrt{\hat v_t}$:
# relative to notebook 05, their effective epsilon is $\epsilon / \sqrt{1-\beta_2^t}$, which is
# $\approx 32\,\epsilon$ at $t=1$ and falls towards $\epsilon$ as $t$ grows:

# %%
for t in [1, 10, 100, 1_000, 10_000]:
    print(f"t = {t:6d}: effective eps of the folded form = {1 / math.sqrt(1 - 0.999**t):6.2f} x eps")

# %% [markdown]
# We compare the update rules on **identical gradients**, so that only the formula differs (on a real
# network, Adam's sign-like steps would amplify any difference, even round-off, into a different
# trajectory). One parameter tensor has six rows; row $i$ receives random gradients of size
# $10^{-10}, 10^{-8}, \dots, 1$, the same sequence for every variant, for 200 steps. For each variant we
# measure, per row, how far its total displacement is from notebook 05's `Adam`, relative to that
# displacement.

# %%
GRAD_SCALES = 10.0 ** np.arange(-10, 1, 2)


def folded_adam_displacement(grads, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, exact_eps=False):
    """Adam with the bias correction folded into the step size, on a fixed gradient sequence:
    w <- w - lr_t * m / (sqrt(v) + eps_hat),  lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)."""
    w, m, v = torch.zeros_like(grads[0]), torch.zeros_like(grads[0]), torch.zeros_like(grads[0])
    for t, g in enumerate(grads, start=1):
        lr_t = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
        eps_hat = eps * math.sqrt(1 - beta2**t) if exact_eps else eps
        m.mul_(beta1).add_(g, alpha=1 - beta1)
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        w.addcdiv_(m, v.sqrt() + eps_hat, value=-lr_t)
    return w


def course_adam_displacement(grads, lr=0.01):
    """The same gradients through notebook 05's Adam (utils.optimizers.Adam)."""
    w = torch.zeros_like(grads[0], requires_grad=True)
    optimizer = course.Adam([w], lr=lr)
    for g in grads:
        w.grad = g.clone()
        optimizer.step()
    return w.detach()


gen = torch.Generator().manual_seed(0)
grads = [torch.from_numpy(GRAD_SCALES).float()[:, None] * torch.randn(len(GRAD_SCALES), 1000, generator=gen)
         for _ in range(200)]
reference = course_adam_displacement(grads)


def relative_difference(w):
    """Per row: max |w - reference| / max |reference|."""
    return ((w - reference).abs().amax(dim=1) / reference.abs().amax(dim=1)).numpy()


rel_fixed = relative_difference(folded_adam_displacement(grads))
rel_exact = relative_difference(folded_adam_displacement(grads, exact_eps=True))
print("gradient size   eps_hat = eps   eps_hat = eps*sqrt(1-b2^t)   (relative difference from notebook 05)")
for scale, fixed, exact in zip(GRAD_SCALES, rel_fixed, rel_exact):
    print(f"{scale:12.0e}   {fixed:12.1e}   {exact:12.1e}")
assert rel_exact.max() < 1e-5, "with eps_hat = eps*sqrt(1 - beta2^t) the folded form is notebook 05's Adam"
assert (np.diff(rel_fixed) < 0).all(), "a fixed eps_hat matters less, the larger the gradients"
assert rel_fixed[-1] < 1e-4, "for gradients of size 1 the fixed eps_hat barely matters"
assert rel_fixed[GRAD_SCALES <= 1e-8].min() > 0.1, "for gradients near eps it changes the step a lot"

# %% [markdown]
# With the matching $\hat\epsilon$ the folded form *is* notebook 05's Adam, to float32 round-off, for
# every gradient size. With a fixed $\hat\epsilon = \epsilon$ the difference grows as the gradients
# shrink towards $\epsilon$: negligible for gradients of order 1, noticeable from about $10^{-4}$ down
# (a coordinate whose first few gradients happen to be tiny gets a visibly smaller step, since its
# effective epsilon is up to 32× larger early on), and of the order of the step itself near
# $\epsilon = 10^{-8}$. In typical training that changes little; it matters when $\epsilon$ is made
# large on purpose (some recipes use $10^{-3}$ or more): then the two conventions are genuinely
# different optimizers, and an `eps` copied from one library to another does not mean the same thing.

# %% [markdown]
# ## Exercises
#
# ### Exercise 1: the edge of stability
#
# Find the largest learning rate at which full-batch GD (seed 0, 200 updates) still trains, i.e. ends
# with a loss below $\mathrm{Var}(y)/2$, to within 25 %: give a bracket `(lo, hi)` with `hi / lo <= 1.25`
# where `lo` trains and `hi` does not. The sweep above tells you where to start; bisect in log space.

# %%
from utils.exercises.learning_rate import check_stability_bracket, check_warmup


def final_loss_at(lr):
    return train(lr, seed=0)[0]


lo, hi = None, None  # TODO: your bracket
# check_stability_bracket(lo, hi, final_loss_at, threshold=MEAN_LOSS / 2)  # uncomment to check

# %% [markdown]
# #### Solution

# %% jupyter={"source_hidden": true} tags=["solution"]
def trains(lr):
    loss = final_loss_at(lr)
    return math.isfinite(loss) and loss < MEAN_LOSS / 2


# Start from the last lr of the sweep that trained and the next one, then halve the gap (in log space).
ok = np.isfinite(final_loss[:, 0]) & (final_loss[:, 0] < MEAN_LOSS / 2)
last_ok = np.flatnonzero(ok)[-1]
lo, hi = LRS[last_ok], LRS[last_ok + 1]
while hi / lo > 1.25:
    mid = math.sqrt(lo * hi)
    lo, hi = (mid, hi) if trains(mid) else (lo, mid)
print(f"largest stable lr is in [{lo:.4f}, {hi:.4f}]")
check_stability_bracket(lo, hi, final_loss_at, threshold=MEAN_LOSS / 2)


# %% [markdown]
# ### Exercise 2: learning-rate warm-up
#
# Clipping is one cure for oversized first steps; **warm-up** is another: start with a small learning
# rate and raise it linearly to the target over the first updates, while the gradients are largest.
# Write `warmup_lr(step, base_lr, warmup_steps)`, the lr of update `step` (counted from 0): it grows
# linearly from `base_lr / warmup_steps` at step 0 to `base_lr` at step `warmup_steps - 1`, and stays at
# `base_lr` afterwards. Then find out whether 50 warm-up steps rescue $\eta = 0.5$ the way clipping did.

# %%
def warmup_lr(step, base_lr, warmup_steps):
    raise NotImplementedError  # TODO


# check_warmup(warmup_lr)  # uncomment to check

# %% [markdown]
# #### Solution

# %% jupyter={"source_hidden": true} tags=["solution"]
def warmup_lr(step, base_lr, warmup_steps):
    return base_lr * min(1.0, (step + 1) / warmup_steps)


check_warmup(warmup_lr)

# The rescue: full-batch GD at lr=0.5, with the lr of each update set by the warm-up.
net = make_mlp(0)
optimizer = torch.optim.SGD(net.parameters(), lr=LR_BIG)
for step in range(STEPS):
    optimizer.param_groups[0]["lr"] = warmup_lr(step, LR_BIG, warmup_steps=50)
    optimizer.zero_grad()
    nn.functional.mse_loss(net(x), y).backward()
    optimizer.step()
warm_loss = nn.functional.mse_loss(net(x), y).item()
print(f"lr={LR_BIG} with 50 warm-up steps: final loss {warm_loss:.4f}; dead units per layer {dead_fraction(net, x)}")
# It does not: 0.5 is above the largest stable lr of Exercise 1 (about 0.4), and that limit is set by the
# curvature the network meets during training, not only by the large first gradients. Warm-up avoids the
# first blow-up, but once the lr reaches 0.5 the steps overshoot again and the units die. Clipping works
# because it bounds *every* step. Warm-up helps where the target lr is stable once training is under way.
assert warm_loss > MEAN_LOSS / 2, "here warm-up alone should not rescue lr=0.5"
