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
# # 07 · Pathological curvature
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/courseware-dl/init-optim-course/blob/main/notebooks/07_pathological_curvature.ipynb)
#
# In notebook 05 we wrote SGD, SGD with momentum and Adam from scratch; in notebook 06 all three trained
# the same network to about the same test accuracy. That network has hundreds of thousands of
# parameters, so we could not *see* what the optimizers did differently. Here we shrink the problem to
# **two parameters** $(w_1, w_2)$, where the whole loss surface fits in one picture and every step of an
# optimizer is a dot on it.
#
# This notebook looks at one classic difficulty, **pathological curvature**: a loss that is steep in one
# direction and almost flat in another, like a narrow ravine with a gently sloping floor. You will
#
# 1. build the ravine as a function that works on torch tensors (to train) and numpy grids (to plot),
# 2. measure how different its slopes and curvatures are across and along the ravine,
# 3. race SGD, SGD with momentum and Adam down it (100 steps from $(5, 5)$) and explain every path,
# 4. see that no constant SGD learning rate fixes the problem, and
# 5. move the hyperparameters yourself with sliders.
#
# Notebook 08 turns to the opposite difficulty (a flat plane with steep holes) and closes the course with
# the question *which optimizer should I use?*

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
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib_inline.backend_inline import set_matplotlib_formats

from utils import set_seed
from utils.exercises.surfaces import check_first_adam_step, check_ravine_settles
from utils.optimizers import SGD, Adam, OptimizerTemplate, SGDMomentum
from utils.plotting import OPTIMIZER_COLORS, PALETTE, plot_surface_3d, plot_trajectories, set_course_style
from utils.sliders import float_slider, int_slider, live_figure, log_slider
from utils.surfaces import NUM_STEPS, RAVINE_START, gradient, surface_grid, train_curve

set_matplotlib_formats("png")
set_course_style()
set_seed(42)

# %% [markdown]
# ## A ravine in two parameters
#
# The surface is
#
# $$\mathcal{L}(w_1, w_2) = \tanh(w_1)^2 + 0.01\,|w_1| + \sigma(w_2), \qquad \sigma(x) = \frac{1}{1 + e^{-x}}.$$
#
# * Across the ravine ($w_1$): $\tanh(w_1)^2$ is a steep valley around $w_1 = 0$ that flattens out to a
#   plateau at height 1 for $|w_1| \gtrsim 2$; the small term $0.01\,|w_1|$ tilts the plateau so that
#   even far out there is a gentle push back towards the centre.
# * Along the ravine ($w_2$): the sigmoid goes down slowly and keeps going down as $w_2 \to -\infty$,
#   so the best an optimizer can do is to sit at $w_1 = 0$ and keep walking towards negative $w_2$.
#
# An optimizer needs the loss on **tensors** (for autograd); a plot needs it on a **numpy grid**. We write
# the formula once in torch and let a small decorator, `accepts_numpy`, convert numpy inputs on the way in
# and out. The same two functions live in `utils.surfaces`, so the tests (and notebook 08) use exactly
# this code.

# %%
import functools


def accepts_numpy(surface):
    """Let a surface written in torch also take numpy arrays (and return numpy) for plotting."""

    @functools.wraps(surface)
    def wrapper(w1, w2, **kwargs):
        if isinstance(w1, torch.Tensor):
            return surface(w1, w2, **kwargs)
        return surface(torch.as_tensor(w1), torch.as_tensor(w2), **kwargs).numpy()

    return wrapper


@accepts_numpy
def pathological_curve_loss(w1, w2):
    """A ravine: steep across w1 (tanh^2 plus a small |w1| slope), shallow along w2 (a sigmoid)."""
    x1_loss = torch.tanh(w1) ** 2 + 0.01 * torch.abs(w1)
    x2_loss = torch.sigmoid(w2)
    return x1_loss + x2_loss


# Check the code against the formula, worked out with plain math, and check what the decorator returns.
on_tensor = pathological_curve_loss(torch.tensor(1.0), torch.tensor(-2.0))
on_numpy = pathological_curve_loss(np.array(1.0), np.array(-2.0))
by_hand = math.tanh(1.0) ** 2 + 0.01 * 1.0 + 1 / (1 + math.exp(2.0))
print(
    f"loss(1, -2): by hand {by_hand:.6f}, on a tensor {on_tensor.item():.6f} ({type(on_tensor).__name__}), "
    f"on numpy {on_numpy.item():.6f} ({type(on_numpy).__name__})"
)
assert isinstance(on_tensor, torch.Tensor) and isinstance(on_numpy, np.ndarray), (
    "tensor in, tensor out; numpy in, numpy out"
)
assert abs(on_tensor.item() - by_hand) < 1e-6 and abs(on_numpy.item() - by_hand) < 1e-12, (
    "the code must be the formula"
)

# %% [markdown]
# In 3D: the ravine runs along $w_2$, its walls rise across $w_1$. `surface_grid` evaluates the surface
# **once** on a grid of points ($80 \times 80$ is plenty for a 3D mesh); the heat maps below get a finer
# $200 \times 200$ grid, also computed once and reused by every later figure and every slider move.

# %% alt="3D surface of the ravine loss over w1 and w2: a narrow valley runs along w2, with steep walls across w1 rising to flat plateaus, and the valley floor slopes gently downhill towards negative w2."
surface_view = surface_grid(pathological_curve_loss, x_range=(-5, 5), y_range=(-5, 5), num=80)
fig = plot_surface_3d(surface_view, title="The ravine: steep across $w_1$, shallow along $w_2$", azim=-50)


# %% [markdown]
# ## How lopsided is it? Slopes and curvatures
#
# The trouble is not that the surface is steep, nor that it is flat, but that it is both **at once, in
# different directions**. Compare, at a few points, the slope (first derivative) and the curvature
# (second derivative) in each direction. Autograd gives them directly (`create_graph=True` lets us
# differentiate the gradient again).


# %%
def slopes_and_curvatures(w1, w2):
    """(dL/dw1, dL/dw2, d2L/dw1^2, d2L/dw2^2) at one point, by autograd."""
    w = torch.tensor([w1, w2], dtype=torch.float64, requires_grad=True)
    grad = torch.autograd.grad(pathological_curve_loss(w[0], w[1]), w, create_graph=True)[0]
    curv = [torch.autograd.grad(grad[i], w, retain_graph=True)[0][i].item() for i in range(2)]
    return grad[0].item(), grad[1].item(), curv[0], curv[1]


print(f"{'point':>12} | {'slope w1':>9} {'slope w2':>9} | {'curv. w1':>9} {'curv. w2':>9}")
for point in [(5.0, 5.0), (1.0, 0.0), (0.3, -2.0), (0.0, -5.0)]:
    g1, g2, c1, c2 = slopes_and_curvatures(*point)
    print(f"{str(point):>12} | {g1:9.4f} {g2:9.4f} | {c1:9.3f} {c2:9.4f}")

_, _, curv_w1, _ = slopes_and_curvatures(0.1, 0.0)
max_curv_w2 = max(abs(slopes_and_curvatures(0.1, w2)[3]) for w2 in np.linspace(-6, 6, 61))
print(f"\ncurvature across the ravine floor: {curv_w1:.2f}; largest curvature along it: {max_curv_w2:.3f}")
assert curv_w1 > 15 * max_curv_w2, "across the ravine the surface should be far more curved than along it"

# %% [markdown]
# Across the floor of the ravine the curvature is about $2$ (near 0, $\tanh(w_1)^2 \approx w_1^2$); along it
# it is never more than about $0.1$, and at the start $(5, 5)$ the slope along $w_2$ is only
# $\sigma'(5) \approx 0.0066$.
#
# This is what makes one learning rate for both directions impossible. On a quadratic valley with
# curvature $h$, a gradient step multiplies the distance to the bottom by $(1 - \eta h)$; it shrinks only
# if $|1 - \eta h| < 1$, i.e. $\eta < 2/h$. Across the ravine that means $\eta < 1$. But with $\eta < 1$ a
# step along $w_2$ at the start is shorter than $0.0066$: hundreds of steps to get anywhere. Any learning
# rate large enough to walk along the ravine is too large to stay in it.
#
# ## The race: 100 steps from $(5, 5)$
#
# The settings: SGD with $\eta = 10$, SGD with momentum ($\eta = 10$, $\beta = 0.9$, the averaged form
# of notebook 05), Adam with $\eta = 1$. `train_curve` from `utils.surfaces` runs the steps and returns
# one row $(w_1, w_2, \mathcal{L})$ per point, row 0 being the start: `steps` steps give `steps + 1` rows.
# One run of all three takes a fraction of a second, so we wrap it in a function and can call it as often as
# we like.

# %%
# NUM_STEPS = 100 and RAVINE_START = (5, 5) come from utils.surfaces: the exercises' checkers use the same.
RAVINE_DEFAULTS = dict(
    sgd_lr=10.0,
    momentum_lr=10.0,
    momentum=0.9,
    adam_lr=1.0,
    beta1=0.9,
    beta2=0.999,
    w1_start=RAVINE_START[0],
    w2_start=RAVINE_START[1],
    steps=NUM_STEPS,
)


def ravine_paths(sgd_lr, momentum_lr, momentum, adam_lr, beta1, beta2, w1_start, w2_start, steps):
    """The path of each optimizer on the ravine: name -> array [steps + 1, 3] of (w1, w2, loss)."""
    optimizers = {
        "SGD": lambda params: SGD(params, lr=sgd_lr),
        "SGDMomentum": lambda params: SGDMomentum(params, lr=momentum_lr, momentum=momentum),
        "Adam": lambda params: Adam(params, lr=adam_lr, beta1=beta1, beta2=beta2),
    }
    start = (w1_start, w2_start)
    return {
        name: train_curve(make, pathological_curve_loss, num_updates=steps + 1, init=start)
        for name, make in optimizers.items()
    }


paths = ravine_paths(**RAVINE_DEFAULTS)
for name, path in paths.items():
    print(f"{name:>12}: ends at w1 = {path[-1, 0]:6.3f}, w2 = {path[-1, 1]:7.2f}, loss {path[-1, 2]:.4f}")

# %% [markdown]
# On the heat map (darker = lower loss) each dot is one step; the black circle is the start, the large
# crosses the end points.

# %% alt="Paths of SGD, SGD with momentum and Adam, 100 steps from (5, 5), on the ravine's loss map: SGD is thrown from wall to wall and stops near w2 = -7; momentum and Adam settle on the floor and reach about -13."
# The map is wide enough to hold every path of the default run (w2 goes down to about -13).
ravine_map = surface_grid(pathological_curve_loss, x_range=(-7, 7), y_range=(-15, 7))


def show_ravine(**settings):
    """Draw the three paths for the given settings (defaults: the race above) on the precomputed map."""
    settings = {**RAVINE_DEFAULTS, **settings}
    paths = ravine_paths(**settings)
    # plot_trajectories draws the first path on top: SGD, then Adam above momentum, whose path covers Adam's
    paths = {name: paths[name] for name in ("SGD", "Adam", "SGDMomentum")}
    return plot_trajectories(
        ravine_map,
        paths,
        title=f"The ravine: {settings['steps']} steps from "
        f"({settings['w1_start']:g}, {settings['w2_start']:g})",
    )


fig = show_ravine()


# %% [markdown]
# What the picture shows, and the cell below checks. One fact helps to read it: the loss is a **sum** of a
# function of $w_1$ and a function of $w_2$, and all three optimizers update each coordinate on its own,
# so the motion along $w_2$ is exactly what it would be if $w_1$ did not exist (and vice versa).
#
# * **SGD** (blue) drifts slowly off the plateau until it reaches the steep wall, where one step with
#   $\eta = 10$ throws it to the far side of the ravine, often onto the opposite plateau. It keeps
#   switching sides and never settles at $w_1 = 0$. *Where* it is after 100 steps is chaotic (see the
#   next section), so read its end point in the figure as one sample. Along $w_2$ it moves by
#   $\eta\,\sigma'(w_2)$ per step, which becomes tiny once $w_2$ is well below 0: it gets only to
#   $w_2 \approx -7$.
# * **SGD with momentum** (orange) also overshoots at first, then settles at $w_1 \approx 0$ and travels
#   to $w_2 \approx -13$ instead of SGD's $-7$. It has SGD's learning rate, so the race already is the
#   ablation: with $\beta = 0$ momentum *is* SGD (blue). The proposed mechanism: across $w_1$ the averaged
#   gradient changes sign every time the path crosses the floor, so those contributions cancel; along
#   $w_2$ the average still carries the large slopes met around $w_2 \approx 0$ when the slope has become
#   tiny. The section "What settles Adam" below switches the average off in both optimizers. (Momentum
#   has a stability limit of its own, derived in notebook 11 and used in notebook 08:
#   $\eta < 2(1+\beta)/((1-\beta)h)$, which across this floor ($h = 2$) is 19 against SGD's 1. The
#   race's $\eta = 10$ is under the first and far over the second; other rates are not tested here.)
# * **Adam** (green) divides each coordinate's averaged gradient by its own root-mean-square. Its first
#   steps are $\eta$ in *both* coordinates (exercise 1), so it goes diagonally to the floor, and then down
#   the ravine at almost $\eta$ per step: the slope along $w_2$ changes size but keeps its sign, and
#   $\hat m$ and $\sqrt{\hat v}$ follow it together. Not for long, though: see
#   "Adam's steps along the ravine" below. Which of its two parts, the average $\hat m$ or the division by
#   $\sqrt{\hat v}$, makes it settle at $w_1 = 0$ is tested in "What settles Adam" below.


# %%
def jumps_across(w1):
    """Steps that cross the floor (w1 changes sign) AND are longer than 2: thrown from wall to wall,
    not a small wobble around w1 = 0."""
    crosses = np.diff(np.sign(w1)) != 0
    return int((crosses & (np.abs(np.diff(w1)) > 2)).sum())


for name, path in paths.items():
    late = np.abs(path[-10:, 0]).max()
    print(
        f"{name:>12}: |w1| over the last 10 steps <= {late:.3f}, {jumps_across(path[:, 0])} jumps "
        f"across the ravine, final w2 = {path[-1, 1]:.2f}"
    )

sgd, momentum, adam = paths["SGD"], paths["SGDMomentum"], paths["Adam"]
assert jumps_across(sgd[:, 0]) >= 4, "SGD should be thrown across the ravine again and again"
assert np.abs(sgd[-10:, 0]).max() > 1, "SGD should still be far from the floor (w1 = 0) at the end"
for name in ["SGDMomentum", "Adam"]:
    assert jumps_across(paths[name][:, 0]) <= 1, f"{name} should not be thrown from wall to wall"
    assert np.abs(paths[name][-10:, 0]).max() < 0.1, f"{name} should have settled at w1 ~ 0"
    assert paths[name][-1, 1] < -11, f"{name} should travel far down the ravine (w2 below -11)"
assert -8.5 < sgd[-1, 1] < -5, "SGD should only get to about w2 ~ -7"

# %% [markdown]
# ### SGD's end point is chaotic
#
# Move SGD's start by $10^{-6}$ (in float32, which rounds it, two rounding steps at 5: the gap printed at
# step 0) and run it again. The two paths stay
# together for a while, then the difference grows by orders of magnitude (the right panel) until the
# two runs are thrown to different places. So the end point printed for SGD
# above is one sample of a chaotic outcome: a different CPU, rounding one operation differently, gives a
# different end point. What *is* reproducible is the behaviour the cell above checks: thrown across
# the ravine again and again, still far from the floor after 100 steps, and $w_2 \approx -7$.


# %% alt="Left: w1 per step for two SGD runs whose starts differ by one millionth; right: their gap, log scale: the runs agree for about 20 steps, then the gap grows by orders of magnitude and they end on opposite sides."
def sgd_path(w1_start):
    return train_curve(
        lambda params: SGD(params, lr=10.0),
        pathological_curve_loss,
        num_updates=NUM_STEPS + 1,
        init=(w1_start, RAVINE_START[1]),
    )


twin_paths = {"start (5, 5)": sgd_path(5.0), "start (5 + 1e-6, 5)": sgd_path(5.0 + 1e-6)}
first, second = twin_paths.values()
gap = np.abs(first[:, 0] - second[:, 0])
for step in (0, 10, 20, 30, 40, NUM_STEPS):
    print(f"step {step:3d}: w1 = {first[step, 0]:7.3f} and {second[step, 0]:7.3f}, gap {gap[step]:.1e}")
assert 0 < gap[0] < 2e-6, "the two starts differ by a rounding step or two"
assert gap.max() > 1, "the two SGD runs must end up far apart: the end point is chaotic"
assert min(jumps_across(first[:, 0]), jumps_across(second[:, 0])) >= 4, "both are thrown across repeatedly"

fig, axes = plt.subplots(1, 2, figsize=(15, 5.5))
for (label, path), style in zip(twin_paths.items(), ["-", "--"]):
    axes[0].plot(path[:, 0], style, color=OPTIMIZER_COLORS["SGD"], linewidth=2.5, label=label)
axes[0].axhline(0, color="black", linewidth=1)
axes[0].set(title="SGD across the ravine, two starts", xlabel="step", ylabel="$w_1$")
axes[0].legend(loc="lower left", fontsize=13)
axes[1].semilogy(np.maximum(gap, 1e-7), color="black", linewidth=2.5)
axes[1].set(title="The gap between them", xlabel="step", ylabel="$|w_1 - w_1'|$", ylim=(1e-7, 30))
fig.tight_layout()

# %% [markdown]
# The same story as time series: $w_1$ and $w_2$ after every step (SGD drawn last, so on top).

# %% alt="w1 (across the ravine) and w2 (along it) per step for SGD, SGD with momentum and Adam: SGD's w1 keeps jumping between the walls while the others settle near 0, and SGD's w2 stalls near -7 while theirs reach -13."
fig, axes = plt.subplots(1, 2, figsize=(15, 5.5))
for name, path in reversed(paths.items()):
    for ax, column in zip(axes, [0, 1]):
        ax.plot(path[:, column], "-", color=OPTIMIZER_COLORS[name], linewidth=2.5, label=name)
axes[0].set(title="Across the ravine: $w_1$", xlabel="step", ylabel="$w_1$")
axes[1].set(title="Along the ravine: $w_2$", xlabel="step", ylabel="$w_2$")
axes[0].axhline(0, color="black", linewidth=1)
axes[1].legend(loc="lower left")
fig.tight_layout()

# %% [markdown]
# ### Adam's steps along the ravine
#
# Adam is often described as "a step of about $\eta$ whatever the gradient's size". Its own steps along
# $w_2$ say otherwise. The cell below prints and plots them with the slope $|\partial\mathcal{L}/\partial w_2|$
# at each step, and rebuilds from the path Adam's two memories of it: $\hat m$, the running average of the
# slope, and $\sqrt{\hat v}$, its running root-mean-square. Adam's step is $\eta\,\hat m / \sqrt{\hat v}$.

# %% alt="Log-scale sizes per step of Adam's step along w2, the slope, and Adam's two averages m-hat and square-root v-hat: the slope collapses and flattens, m-hat decays with it, square-root v-hat stays large, so Adam's step shrinks from about 1 by a thousandfold."
slope_w2 = np.array([gradient(pathological_curve_loss, w1, w2)[1] for w1, w2, _ in adam[:-1]])
m, v, average, rms = 0.0, 0.0, [], []
for t, g in enumerate(slope_w2, start=1):  # Adam's m and v (beta1 = 0.9, beta2 = 0.999), bias-corrected
    m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g**2
    average.append(m / (1 - 0.9**t))
    rms.append(math.sqrt(v / (1 - 0.999**t)))
adam_w2_steps = np.abs(np.diff(adam[:, 1]))
last = len(adam_w2_steps)
for step in (1, 5, 10, 20, 50, last):
    i = step - 1
    print(
        f"step {step:3d}: Adam's step along w2 {adam_w2_steps[i]:.1e}, slope {abs(slope_w2[i]):.1e}, "
        f"m_hat {average[i]:.1e}, sqrt(v_hat) {rms[i]:.1e}"
    )
assert adam_w2_steps[:10].min() > 0.5, "at first Adam steps about lr = 1 along w2"
assert adam_w2_steps[-1] < 1e-2 * adam_w2_steps[:10].min(), (
    "later its steps along w2 shrink a hundredfold or more"
)
assert rms[-1] > 100 * abs(slope_w2[-1]), "because sqrt(v_hat) remembers slopes far larger than today's"
assert abs(slope_w2[49]) < 2 * abs(slope_w2[-1]) and adam_w2_steps[-1] < 0.1 * adam_w2_steps[49], (
    "from step 50 on the slope is about flat, yet Adam's step along w2 keeps falling tenfold or more"
)

fig, ax = plt.subplots(figsize=(12, 5.5))
steps = np.arange(1, last + 1)
ax.semilogy(
    steps, adam_w2_steps, color=OPTIMIZER_COLORS["Adam"], linewidth=3, label="Adam's step along $w_2$"
)
ax.semilogy(
    steps, np.abs(slope_w2), color="black", linewidth=2, label=r"slope $|\partial\mathcal{L}/\partial w_2|$"
)
ax.semilogy(
    steps,
    average,
    color=PALETTE[1],
    linewidth=2,
    linestyle="--",
    label=r"$\hat m$ (short memory, $\beta_1 = 0.9$)",
)
ax.semilogy(
    steps,
    rms,
    color=PALETTE[4],
    linewidth=2,
    linestyle="-.",
    label=r"$\sqrt{\hat v}$ (long memory, $\beta_2 = 0.999$)",
)
ax.axhline(1.0, color=OPTIMIZER_COLORS["Adam"], linestyle=":", label=r"$\eta = 1$")
ax.set(
    title=r"Adam along the ravine: $\hat m$ decays, $\sqrt{\hat v}$ remembers, the step shrinks",
    xlabel="step",
    ylabel="size",
)
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=13)
fig.tight_layout()

# %% [markdown]
# For the first ten steps the slope along $w_2$ keeps its sign but not its size: $6.6\cdot 10^{-3}$ at
# step 1, $1.6\cdot 10^{-1}$ at step 5, $4.1\cdot 10^{-2}$ at step 10. $\hat m$ and $\sqrt{\hat v}$ follow it
# together, their ratio stays near 1, and Adam steps about $\eta$. Once $w_2$ is below 0 the slope
# $\sigma'(w_2) \approx e^{w_2}$ falls by orders of magnitude, and from about step 50 on it hardly changes
# ($4.1\cdot 10^{-6}$ at step 50, $3.3\cdot 10^{-6}$ at step 100). Adam's step does not stop falling there:
# from $2.0\cdot 10^{-2}$ to $2.2\cdot 10^{-4}$. It follows $\hat m$, which averages over roughly the last
# 10 steps and decays towards today's small slope, while $\sqrt{\hat v}$ still holds the large slopes met
# around $w_2 \approx 0$ (it only goes from $6.1\cdot 10^{-2}$ to $4.3\cdot 10^{-2}$): with
# $\beta_2 = 0.999$ and its bias correction, $\hat v$ at step $t \le 100$ is close to the plain mean of all
# the squared slopes so far, the large early ones included.
#
# Is that memory what shrinks the step? Remove it: the cell below runs the same race with
# $\beta_2 = 0.9$, a memory of about 10 steps, and nothing else changed.

# %%
short_memory = train_curve(
    lambda params: Adam(params, lr=1.0, beta2=0.9),
    pathological_curve_loss,
    num_updates=NUM_STEPS + 1,
    init=RAVINE_START,
)
short_w2_steps = np.abs(np.diff(short_memory[:, 1]))
print(
    f"Adam's last step along w2: {adam_w2_steps[-1]:.1e} with beta2 = 0.999, "
    f"{short_w2_steps[-1]:.1e} with beta2 = 0.9 (final w2 {adam[-1, 1]:.2f} and {short_memory[-1, 1]:.2f})"
)
print(
    f"shrinkage from eta = 1: x{1 / adam_w2_steps[-1]:,.0f} with beta2 = 0.999, of which the long memory "
    f"accounts for x{short_w2_steps[-1] / adam_w2_steps[-1]:.0f}; with beta2 = 0.9 the step is still "
    f"x{1 / short_w2_steps[-1]:.0f} below eta"
)
assert short_w2_steps[-1] > 10 * adam_w2_steps[-1], (
    "without the long memory of v_hat the late steps stay far larger"
)
assert short_w2_steps[-1] < 0.1, "yet even without it the last step stays far below eta = 1"

# %% [markdown]
# With a short memory the last step along $w_2$ is about 30 times larger and Adam ends further down the
# ravine: the long memory of $\hat v$ accounts for that factor of 30 out of a shrinkage of about 4,500
# (from $\eta = 1$ to $2.2\cdot 10^{-4}$). It is not the whole story: with $\beta_2 = 0.9$ the last step
# is still about 150 times below $\eta$.

# %% [markdown]
# Why does the step keep falling with a 10-step memory? Late in the run today's slope is tiny next to the
# slopes of the first steps, so the proposed cause is that $\hat m$ and $\hat v$ are still made mostly of
# those old slopes, forgotten by a factor $\beta_1$ per step in $\hat m$ and $\sqrt{\beta_2}$ per step in
# $\sqrt{\hat v}$. Then the step $\eta\,\hat m/\sqrt{\hat v}$ falls by $\beta_1/\sqrt{\beta_2}$ per step, a
# factor $(\beta_1/\sqrt{\beta_2})^{50}$ from step 50 to step 100, and with $\beta_2 = \beta_1^2 = 0.81$ it
# stops falling. Test both, with $\beta_1 = 0.9$ and three short memories.


# %%
def late_fall(beta2):
    """Adam's step along w2 at step 100 over that at step 50 (lr 1, beta1 0.9), and the step at 100."""
    run = train_curve(
        lambda params: Adam(params, lr=1.0, beta2=beta2),
        pathological_curve_loss,
        num_updates=NUM_STEPS + 1,
        init=RAVINE_START,
    )
    w2_steps = np.abs(np.diff(run[:, 1]))
    return w2_steps[99] / w2_steps[49], w2_steps[99]


falls = {beta2: late_fall(beta2) for beta2 in (0.999, 0.9, 0.85, 0.81)}
for beta2, (fall, last_step) in falls.items():
    predicted = (0.9 / math.sqrt(beta2)) ** 50
    print(
        f"beta2 = {beta2}: step 100 / step 50 = {fall:.3f}, (beta1 / sqrt(beta2))^50 = {predicted:.3f}; "
        f"step 100 = {last_step:.1e}"
    )
    if beta2 < 0.95:
        assert abs(fall / predicted - 1) < 0.1, "with a short memory the late step falls by beta1/sqrt(beta2)"
assert falls[0.81][1] > 0.3, "with beta2 = beta1^2 the step stops falling and stays a sizeable part of eta"

# %% [markdown]
# Both hold: for the three short memories the step falls from step 50 to step 100 by
# $(\beta_1/\sqrt{\beta_2})^{50}$ to within a few percent, and with $\beta_2 = 0.81$ it is still
# $6.4\cdot 10^{-1}$ at step 100 ($\eta = 1$). So with a short memory the late shrinkage is the memory of
# the first, large slopes, in $\hat m$ as well as in $\hat v$, with $\hat m$ forgetting them faster. With
# $\beta_2 = 0.999$ the law is only approximate (0.011 against 0.005) and is not tested here.

# %% [markdown]
# ## What settles Adam: the scaling or the momentum?
#
# Adam does two things SGD does not: it averages the gradient ($\hat m$, with $\beta_1$) and it divides
# each coordinate by its own root-mean-square ($\sqrt{\hat v}$). Either could be what stops the bouncing
# across $w_1$. Switch the average off, $\beta_1 = 0$: Adam then divides each coordinate's *current*
# gradient by its root-mean-square, per-direction scaling alone. Do the same to momentum ($\beta = 0$,
# which is SGD). Same learning rates as the race, 100 steps from $(5, 5)$.

# %%
ablation = {
    "Adam, beta1 = 0.9": lambda params: Adam(params, lr=1.0, beta1=0.9),
    "Adam, beta1 = 0 (scaling only)": lambda params: Adam(params, lr=1.0, beta1=0.0),
    "momentum, beta = 0.9": lambda params: SGDMomentum(params, lr=10.0, momentum=0.9),
    "momentum, beta = 0 (= SGD)": lambda params: SGDMomentum(params, lr=10.0, momentum=0.0),
}
settled = {}
for name, make in ablation.items():
    path = train_curve(make, pathological_curve_loss, num_updates=NUM_STEPS + 1, init=RAVINE_START)
    settled[name] = np.abs(path[-10:, 0]).max()
    print(f"{name:>31}: |w1| over the last 10 steps <= {settled[name]:.3f}, final w2 = {path[-1, 1]:6.2f}")
assert settled["Adam, beta1 = 0.9"] < 0.1 and settled["momentum, beta = 0.9"] < 0.1, (
    "with the average, both settle"
)
assert settled["Adam, beta1 = 0 (scaling only)"] > 0.3, (
    "without it, per-direction scaling alone keeps bouncing"
)
assert settled["momentum, beta = 0 (= SGD)"] > 1, "and momentum without the average is SGD, thrown across"

# %% [markdown]
# Without its average Adam keeps bouncing across the floor ($|w_1|$ stays above 0.3 over the last ten
# steps) and gets less far down the ravine; with it, it settles. At this learning rate, dividing each
# direction by its own gradient size does not settle Adam on this ravine: the momentum in it does (smaller
# rates are not tested here), as in SGD with momentum,
# where the same switch turns a settled path into SGD's bouncing one.

# %% [markdown]
# ## Would a different SGD learning rate do?
#
# It is tempting to think we just picked $\eta = 10$ badly. The argument above says otherwise: across the
# floor we need $\eta < 1$, along the ravine we need a large $\eta$. Let us try 21 learning rates from 0.3
# to 30, 100 steps each, and record the two things we want: $w_1$ settled (largest $|w_1|$ over the last
# 10 steps below 0.1) and progress along the ravine (final $w_2 < -3$).

# %% alt="For 21 SGD learning rates from 0.3 to 30, the largest |w1| over the last 10 steps (left) and w2 after 100 steps (right): no learning rate gets |w1| below 0.1, and only large ones get w2 below -3."
sweep_lrs = np.geomspace(0.3, 30, 21)
sweep = np.array(
    [
        train_curve(
            lambda params: SGD(params, lr=float(lr)),
            pathological_curve_loss,
            num_updates=NUM_STEPS + 1,
            init=RAVINE_START,
        )
        for lr in sweep_lrs
    ]
)
assert sweep.shape[1] == NUM_STEPS + 1, "each run: the start and one row per step"
late_w1 = np.abs(sweep[:, -10:, 0]).max(axis=1)
final_w2 = sweep[:, -1, 1]

fig, axes = plt.subplots(1, 2, figsize=(15, 5.5))
axes[0].loglog(sweep_lrs, late_w1, "o-", color=OPTIMIZER_COLORS["SGD"], linewidth=2.5)
axes[0].axhline(0.1, color="black", linestyle="--", label="goal: below 0.1")
axes[0].set(title="Settled? largest $|w_1|$, last 10 steps", xlabel="SGD learning rate", ylabel="$|w_1|$")
axes[1].semilogx(sweep_lrs, final_w2, "o-", color=OPTIMIZER_COLORS["SGD"], linewidth=2.5)
axes[1].axhline(-3, color="black", linestyle="--", label="goal: below -3")
axes[1].set(title=f"Progress: $w_2$ after {NUM_STEPS} steps", xlabel="SGD learning rate", ylabel="$w_2$")
for ax in axes:
    ax.legend()
fig.tight_layout()

both = (late_w1 < 0.1) & (final_w2 < -3)
print(f"learning rates that settle AND make progress: {sweep_lrs[both].round(2).tolist()}")
assert not both.any(), f"no constant SGD learning rate should solve the ravine in {NUM_STEPS} steps"

# %% [markdown]
# Small learning rates never leave the plateau (where $\tanh$ is saturated the slope is tiny), large ones
# make progress but bounce. There is no constant learning rate that does both. At the race's learning
# rates the remedy both winners share is the average of past gradients ("What settles Adam" above: switch it off and both
# bounce). Another remedy, changing $\eta$ over time, is the second exercise below.
#
# ## Try it yourself
#
# The static figure above is the default view (the settings of the race). With a running kernel the
# sliders below redraw it when you release a slider: push SGD's learning rate down and watch it stall on the plateau, lower the
# momentum to 0 and watch momentum turn into SGD, lower Adam's $\beta_1$ and watch it wobble, or start
# from somewhere else. (On GitHub or nbviewer the sliders do not run: the figure above is what they show
# at their initial values.)

# %% alt="Slider version of the ravine race, by default the same 100-step paths of SGD, momentum and Adam from (5, 5) as above, SGD bouncing between the walls; sliders change each optimizer's settings, the start and the number of steps."
d = RAVINE_DEFAULTS
live_figure(
    show_ravine,
    sgd_lr=log_slider("SGD lr", d["sgd_lr"], -1, 1.5),
    momentum_lr=log_slider("Momentum lr", d["momentum_lr"], -1, 1.5),
    momentum=float_slider("momentum β", d["momentum"], 0, 0.99, 0.01),
    adam_lr=log_slider("Adam lr", d["adam_lr"], -2, 1),
    beta1=float_slider("Adam β1", d["beta1"], 0, 0.99, 0.01),
    beta2=float_slider("Adam β2", d["beta2"], 0.5, 0.999, 0.001, readout_format=".3f"),
    w1_start=float_slider("start w1", d["w1_start"], -6, 6, 0.5, readout_format=".1f"),
    w2_start=float_slider("start w2", d["w2_start"], -5, 6, 0.5, readout_format=".1f"),
    steps=int_slider("steps", d["steps"], 1, 300),
)

# %% [markdown]
# ## Exercises
#
# ### Exercise 1: Adam's first step, by hand
#
# Work out, with pen and paper, the very first update $w^{(1)} - w^{(0)}$ that `Adam(lr=1)` makes from
# $(5, 5)$ (defaults $\beta_1 = 0.9$, $\beta_2 = 0.999$, $\epsilon = 10^{-8}$). The gradient there is about
# $(0.0104, 0.0066)$. Hint: write down $m_1$, $v_1$, then $\hat m_1$ and $\hat v_1$. Your answer explains why
# Adam's first steps in the race above go diagonally, whatever the gradient's size.

# %%
# Your turn: the two numbers (update of w1, update of w2). Replace None, then uncomment the check.
first_adam_step = None
# check_first_adam_step(first_adam_step)

# %% [markdown]
# #### Solution

# %% jupyter={"source_hidden": true} tags=["solution"]
# After one step m_1 = (1 - b1) g and v_1 = (1 - b2) g^2; the bias correction divides them by (1 - b1)
# and (1 - b2), so m_hat = g and v_hat = g^2: the update is -lr * g / (|g| + eps) = -lr * sign(g).
first_adam_step = [-1.0, -1.0]
check_first_adam_step(first_adam_step)


# %% [markdown]
# ### Exercise 2: a learning-rate schedule for SGD
#
# The sweep showed that no *constant* learning rate solves the ravine. Write an SGD whose learning rate
# **changes over the steps**: large at first (to leave the plateau and travel along $w_2$), small later
# (so it can no longer jump across the floor). Write `SGDExpDecay(params, lr, decay)`, plain SGD whose
# learning rate is multiplied by `decay` after every step ($\eta_t = \eta\,\text{decay}^t$), and find a
# `decay` that works with `lr=10`. `step()` is called once per update, so it is a natural place to change
# `self.lr` (call `super().step()` first). The checker runs your optimizer for 100 steps from $(5, 5)$ and
# passes when every step is $-\eta_t$ times the gradient (plain SGD: momentum and Adam, ours or
# torch's, are refused), $|w_1| < 0.1$ over the last 10 steps and $w_2$ ended below $-3$.


# %%
class SGDExpDecay(OptimizerTemplate):
    """Your turn: SGD whose learning rate shrinks by the factor `decay` after every step."""

    def __init__(self, params, lr, decay):
        super().__init__(params, lr)
        self.decay = decay

    def update_param(self, p):
        raise NotImplementedError("your turn: an SGD step with self.lr; then make step() shrink self.lr")


# check_ravine_settles(lambda params: SGDExpDecay(params, lr=10, decay=...))  # your decay

# %% [markdown]
# #### Solution


# %% alt="Ravine paths of SGD with a learning rate decaying from 10 by 0.97 per step, and of SGD with momentum: the decaying schedule settles on the floor but stops near w2 = -5, while momentum travels to about -13." jupyter={"source_hidden": true} tags=["solution"]
class SGDExpDecay(OptimizerTemplate):
    """SGD whose learning rate shrinks by the factor `decay` after every step: lr_t = lr * decay^t."""

    def __init__(self, params, lr, decay):
        super().__init__(params, lr)
        self.decay = decay

    def step(self):
        super().step()
        self.lr *= self.decay

    def update_param(self, p):
        p.add_(p.grad, alpha=-self.lr)


# lr = 10 falls to 10 * 0.97^100 ~ 0.5 after NUM_STEPS = 100 steps: below the stability limit 1 of the floor.
check_ravine_settles(lambda params: SGDExpDecay(params, lr=10, decay=0.97))
schedule_path = train_curve(
    lambda params: SGDExpDecay(params, lr=10, decay=0.97),
    pathological_curve_loss,
    num_updates=NUM_STEPS + 1,
    init=RAVINE_START,
)
fig = plot_trajectories(
    ravine_map,
    {"SGDMomentum": paths["SGDMomentum"], "SGD, lr 10 x 0.97^t": schedule_path},
    title="A decaying learning rate settles, but travels less far than momentum",
)

# %% [markdown]
# The schedule settles, but it still gets only to $w_2 \approx -5$: by the time the learning rate is small
# enough to stay on the floor, it is also too small to walk quickly along it. Momentum and Adam get both.
# In practice schedules and momentum/Adam are combined; notebook 08 asks which optimizer to choose.
