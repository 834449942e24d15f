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
# # 08 · Steep optima, and which optimizer to pick
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/courseware-dl/init-optim-course/blob/main/notebooks/08_steep_optima.ipynb)
#
# Notebook 07 showed a surface that is steep in one direction and shallow in another. Here the difficulty
# is the opposite of a ravine: a loss that is **almost flat everywhere, except for a few narrow, deep
# holes**. The gradient is tiny on the plane and enormous on the rims of the holes, so a fixed step size
# is either too small to cross the plane or too large to stay in a hole. You will
#
# 1. build the surface from three 2D Gaussians and check its depth against the formula,
# 2. race SGD, SGD with momentum and Adam from $(0, 0)$ for 100 steps and see why only Adam ends in a
#    minimum,
# 3. move the hyperparameters with sliders,
# 4. weigh the practical question *which optimizer should I use?*, including why a flat minimum is often
#    better than a sharp one, and
# 5. close the course with a summary and the papers behind it.
#
# It uses the optimizers of notebook 05 (`utils.optimizers`), `train_curve` and the plots of notebook 07.

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
from utils.exercises.surfaces import ADAM_STARTS, check_adam_predictions, check_reaches_optimum
from utils.optimizers import SGD, Adam, SGDMomentum
from utils.plotting import OPTIMIZER_COLORS, PALETTE, plot_surface_3d, plot_trajectories, set_course_style
from utils.sliders import float_slider, int_slider, live_figure, log_slider
from utils.surfaces import OPTIMA, accepts_numpy, surface_grid, train_curve

set_matplotlib_formats("png")
set_course_style()
set_seed(42)


# %% [markdown]
# ## Three sharp holes in a flat plane
#
# The density of a 2D Gaussian with independent coordinates is
#
# $$\mathcal{N}(w_1, w_2) = \frac{1}{2\pi\sigma_1\sigma_2}\exp\!\left(-\frac{(w_1-\mu_1)^2}{2\sigma_1^2}
# -\frac{(w_2-\mu_2)^2}{2\sigma_2^2}\right).$$
#
# Our loss is **minus** the sum of three of them, all with $\sigma_1 = \sigma_2 = 0.2$, centred at
# $(1, -0.5)$, $(-1, 0.5)$ and $(-0.5, -0.8)$ (the list `OPTIMA` of `utils.surfaces`, imported above, so the
# exercises' checkers use the same centres). The peak of each density, and so the depth of each hole, is
# the normalisation $\frac{1}{2\pi\sigma^2} = \frac{1}{2\pi \cdot 0.04} \approx 3.98$; three standard
# deviations ($0.6$) away from a centre, the hole has all but vanished. We reuse `accepts_numpy` from
# notebook 07, so the functions run on tensors and numpy grids alike.

# %%
@accepts_numpy
def bivar_gaussian(w1, w2, x_mean=0.0, y_mean=0.0, x_sig=1.0, y_sig=1.0):
    """Density of an axis-aligned 2D Gaussian: its peak is 1 / (2 pi x_sig y_sig)."""
    norm = 1 / (2 * math.pi * x_sig * y_sig)
    x_exp = (-1 * (w1 - x_mean) ** 2) / (2 * x_sig**2)
    y_exp = (-1 * (w2 - y_mean) ** 2) / (2 * y_sig**2)
    return norm * torch.exp(x_exp + y_exp)


@accepts_numpy
def comb_func(w1, w2):
    """Three sharp minima (Gaussians with sigma 0.2, centred at OPTIMA) on an almost flat plane."""
    return -sum(bivar_gaussian(w1, w2, x_mean=x, y_mean=y, x_sig=0.2, y_sig=0.2) for x, y in OPTIMA)


depth = 1 / (2 * math.pi * 0.2**2)
for centre in OPTIMA:
    value = comb_func(np.array(centre[0]), np.array(centre[1])).item()
    print(f"loss at {centre}: {value:.4f}   (1 / (2 pi sigma^2) = {depth:.4f})")
    assert abs(value + depth) < 0.01, "each hole should be 1/(2 pi sigma^2) ~ 3.98 deep"
print(f"loss at (0, 0): {comb_func(np.array(0.0), np.array(0.0)).item():.2e}  (the plane between the holes)")

# %%
steep_view = surface_grid(comb_func, x_range=(-2, 2), y_range=(-2, 2), num=100)
plot_surface_3d(steep_view, title="Three steep optima in a flat plane", elev=35);


# %% [markdown]
# ## Tiny gradients on the plane, huge ones on the rims
#
# How large is the gradient? For one hole at distance $r$ from its centre, $\|\nabla \mathcal{L}\| =
# \frac{r}{\sigma^2}\cdot\frac{1}{2\pi\sigma^2} e^{-r^2/2\sigma^2}$, largest on the rim $r = \sigma$ and
# falling off like $e^{-r^2/2\sigma^2}$ outside it. Let us measure it at the start $(0, 0)$ and on the rim
# of the hole at $(-0.5, -0.8)$, with a small function that works for any surface (`utils.surfaces` has
# the same one, for the exercises' checkers).

# %%
def gradient(surface, w1: float, w2: float) -> np.ndarray:
    """The gradient of a surface at one point, in float64 so that tiny slopes keep their digits."""
    w = torch.tensor([w1, w2], dtype=torch.float64, requires_grad=True)
    surface(w[0], w[1]).backward()
    return w.grad.numpy()


at_start = np.linalg.norm(gradient(comb_func, 0.0, 0.0))
on_rim = np.linalg.norm(gradient(comb_func, -0.5 + 0.2, -0.8))
print(f"|gradient| at the start (0, 0):            {at_start:.2e}")
print(f"|gradient| on the rim, 0.2 from (-0.5,-0.8): {on_rim:.2f}   (formula: {depth / 0.2 * math.exp(-0.5):.2f})")
print(f"ratio: {on_rim / at_start:,.0f}")
assert on_rim / at_start > 1000, "the rim gradient should be thousands of times the gradient on the plane"

# %% [markdown]
# A ratio of several thousand. With SGD the step is $\eta\,\nabla\mathcal{L}$, so the step on the rim is
# thousands of times the step on the plane: a learning rate that crosses the plane in reasonable time
# launches the parameters out of the hole the moment they reach it.
#
# ## The race: 100 steps from $(0, 0)$
#
# The settings: SGD with $\eta = 0.5$, SGD with momentum ($\eta = 1$, $\beta = 0.9$), Adam with
# $\eta = 0.2$. As in notebook 07, one function computes all three paths and another draws them on a
# grid that is evaluated only once.

# %%
STEEP_DEFAULTS = dict(sgd_lr=0.5, momentum_lr=1.0, momentum=0.9, adam_lr=0.2, beta1=0.9, beta2=0.999,
                      w1_start=0.0, w2_start=0.0, steps=100)
steep_map = surface_grid(comb_func, x_range=(-2, 2), y_range=(-2, 2))


def steep_paths(sgd_lr, momentum_lr, momentum, adam_lr, beta1, beta2, w1_start, w2_start, steps):
    """The path of each optimizer on the steep surface: name -> array [steps + 1, 3] of (w1, w2, loss)."""
    optimizers = {
        "SGD": lambda params: SGD(params, lr=sgd_lr),
        "SGDMomentum": lambda params: SGDMomentum(params, lr=momentum_lr, momentum=momentum),
        "Adam": lambda params: Adam(params, lr=adam_lr, beta1=beta1, beta2=beta2),
    }
    start = (w1_start, w2_start)
    return {name: train_curve(make, comb_func, num_updates=steps + 1, init=start) for name, make in optimizers.items()}


def show_steep(**settings):
    """Draw the three paths for the given settings (defaults: the race) on the precomputed map."""
    settings = {**STEEP_DEFAULTS, **settings}
    return plot_trajectories(steep_map, steep_paths(**settings), title=f"Steep optima: {settings['steps']} steps "
                      f"from ({settings['w1_start']:g}, {settings['w2_start']:g})")


paths = steep_paths(**STEEP_DEFAULTS)
show_steep();


# %% [markdown]
# Paths that leave the map say in the legend where they ended (SGD is drawn on top). What happened:
#
# * **SGD** (blue) crawls: its first steps are shorter than $10^{-3}$. After about 70 steps it reaches
#   the hole at $(-0.5, -0.8)$, but it arrives off-centre, where the wall is steep, and one step far longer
#   than all its others throws it out across the map onto the flat plane, where the gradient is too small
#   to ever bring it back. How long that step is, and so where SGD ends, is chaotic: moving the start by
#   $10^{-6}$ changes it (between about 1 and 6 units). That it is thrown out is not.
# * **SGD with momentum** (orange) moves faster on the plane (the average keeps growing while the
#   gradient points the same way), reaches the rim, and there a single huge gradient dominates the
#   average: $(1-\beta)\,g = 0.1\,g$ is still a long step when $g$ is in the tens. Worse, after the kick
#   the average *remembers* it: with the hole left behind and no gradient on the plane, $m$ only shrinks
#   by $\beta = 0.9$ per step, so it coasts far out of the map.
# * **Adam** (green) divides by the running root-mean-square of the gradient. On the plane, where the
#   gradient is tiny but steady, that gives a first step of $\eta$ in each coordinate and then steps of
#   about $\eta$ (the first few steps, printed below): a fast walk (much faster than SGD's). On the rim the
#   huge gradient enters $\hat v$, and $\hat v$ (with $\beta_2 = 0.999$) keeps it:
#   from then on Adam's steps are far *shorter* than $\eta$, like SGD's with a small learning rate. That
#   is what lets it settle: it reaches the minimum at $(-0.5, -0.8)$ with loss $\approx -3.98$.

# %%
def inside(point):
    """The optimum whose hole (within 0.25 of its centre) contains the point, else None."""
    return next((c for c in OPTIMA if math.dist(point, c) < 0.25), None)


for name, path in paths.items():
    print(f"{name:>12}: ends at ({path[-1, 0]:6.2f}, {path[-1, 1]:6.2f}), loss {path[-1, 2]:7.3f}, "
          f"{'in the hole at ' + str(inside(path[-1, :2])) if inside(path[-1, :2]) else 'on the flat plane'}")

adam = paths["Adam"]
assert inside(adam[-1, :2]) == (-0.5, -0.8), "Adam should end in the hole at (-0.5, -0.8)"
assert adam[-1, 2] < -3.9, f"Adam should reach the bottom (loss ~ -3.98), got {adam[-1, 2]:.3f}"
for name in ["SGD", "SGDMomentum"]:
    assert inside(paths[name][-1, :2]) is None, f"{name} should have been thrown out of every hole"

# %% [markdown]
# The step lengths $\|w^{(t+1)} - w^{(t)}\|$ tell the same story in numbers (log scale): SGD's steps span
# more than three orders of magnitude, momentum has a jump of the same kind. Adam's first step is
# $\eta\sqrt 2$ (a step of $\eta$ in each of the two coordinates), the next few are about $\eta$; after it
# hits the rim they fall far below.

# %%
fig, ax = plt.subplots(figsize=(12, 5.5))
step_lengths = {name: np.linalg.norm(np.diff(path[:, :2], axis=0), axis=1) for name, path in paths.items()}
for name, lengths in step_lengths.items():
    # SGD ends stuck on the plane: steps of exactly 0 (below float32 resolution) have no place on a log axis
    ax.semilogy(np.where(lengths > 0, lengths, np.nan), color=OPTIMIZER_COLORS[name], linewidth=2.5, label=name)
ax.axhline(0.2 * math.sqrt(2), color=OPTIMIZER_COLORS["Adam"], linestyle="--", label=r"Adam: $\eta\sqrt{2}$")
ax.set(title="Step length per step", xlabel="step", ylabel="$\\|\\Delta w\\|$")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
fig.tight_layout()

for name, lengths in step_lengths.items():
    print(f"{name:>12}: shortest step {lengths[lengths > 0].min():.1e}, longest {lengths.max():.2f}")
adam_steps = step_lengths["Adam"]
print(f"Adam's steps: {', '.join(f'{x:.2f}' for x in adam_steps[:5])} (steps 1-5), ..., "
      f"{adam_steps[-1]:.1e} (step {len(adam_steps)})")
assert adam_steps.max() <= 0.2 * math.sqrt(2) * 1.01, "Adam's steps should never exceed lr * sqrt(2)"
assert adam_steps[0] > 0.99 * 0.2 * math.sqrt(2), "Adam's first step is lr in each coordinate"
assert all(0.8 * 0.2 < x < 1.2 * 0.2 for x in adam_steps[1:5]), "Adam's steps 2-5 are about lr"
assert adam_steps[-20:].max() < 0.1 * 0.2, "after the rim, v_hat remembers: Adam's steps fall far below lr"
moving = step_lengths["SGD"][step_lengths["SGD"] > 0]
assert moving.max() / moving.min() > 1000, "SGD's steps should span > 3 decades"

# %% [markdown]
# ## Try it yourself
#
# The static figure of the race above is the default view. With a running kernel, the sliders redraw it
# when you release one: give SGD a smaller learning rate (it never arrives) or a larger one, raise Adam's learning rate
# until it, too, starts to overshoot the hole, or start from another point and see which hole each
# optimizer finds. (On GitHub or nbviewer the sliders do not run; the figure above is their initial view.)

# %%
d = STEEP_DEFAULTS
live_figure(
    show_steep,
    sgd_lr=log_slider("SGD lr", d["sgd_lr"], -2, 1),
    momentum_lr=log_slider("Momentum lr", d["momentum_lr"], -2, 1),
    momentum=float_slider("momentum β", d["momentum"], 0, 0.99, 0.01),
    adam_lr=log_slider("Adam lr", d["adam_lr"], -2, 0.5),
    beta1=float_slider("Adam β1", d["beta1"], 0, 0.99, 0.01),
    beta2=float_slider("Adam β2", d["beta2"], 0.5, 0.999, 0.001, readout_format=".3f"),
    w1_start=float_slider("start w1", d["w1_start"], -2, 2, 0.1, readout_format=".1f"),
    w2_start=float_slider("start w2", d["w2_start"], -2, 2, 0.1, readout_format=".1f"),
    steps=int_slider("steps", d["steps"], 1, 300),
)


# %% [markdown]
# ## Which optimizer should I use?
#
# The two toy surfaces make Adam look like the clear winner: it handled the ravine and it is the only one
# that found a steep minimum. That is one reason why **Adam is the common default**, the optimizer to try
# first on a new problem: its per-parameter step size makes it forgiving of badly scaled gradients and of
# a learning rate that is off by a factor of a few.
#
# Real networks add two caveats.
#
# * **On Fashion-MNIST all three reached about the same test accuracy** (notebook 06). Our toy surfaces
#   exaggerate; the loss surfaces of real networks have many good minima, and momentum SGD with a tuned
#   learning rate (and usually a schedule) finds them too.
# * **The minimum you reach matters, not only how low it is.** Keskar et al. (2017) observed that
#   training that converges to *sharp* minima generalizes worse than training that converges to *flat*
#   ones, and Wilson et al. (2017) found that adaptive methods such as Adam often generalize worse than
#   SGD with momentum on image and language tasks, even when their training loss is as low or lower. This
#   is why many state-of-the-art vision models are still trained with SGD + momentum.
#
# Why would a sharp minimum generalize worse? The test data are not the training data, so the test loss
# surface is (roughly) the training surface moved a little. In a flat minimum a small shift barely changes
# the loss; in a sharp one the same shift climbs far up the wall. The figure below draws exactly this with
# a 1D training loss that has a flat and a sharp minimum of the same depth, and a test loss shifted by 0.3.

# %%
def one_d_loss(w, shift=0.0):
    """A 1D loss with a flat minimum at w = -2 and a sharp one at w = 2, both of depth 1; `shift` moves it."""
    flat = np.exp(-((w - shift + 2) ** 2) / (2 * 1.0**2))
    sharp = np.exp(-((w - shift - 2) ** 2) / (2 * 0.15**2))
    return 1 - flat - sharp


w = np.linspace(-5, 4, 1000)
shift = 0.3
fig, ax = plt.subplots(figsize=(12, 5.5))
ax.plot(w, one_d_loss(w), color="black", linewidth=3, label="training loss")
ax.plot(w, one_d_loss(w, shift), color=PALETTE[3], linewidth=3, linestyle="--", label=f"test loss (shifted by {shift})")
for minimum, name, text_x in [(-2.0, "flat", -4.9), (2.0, "sharp", 2.6)]:
    train, test = one_d_loss(minimum), one_d_loss(minimum, shift)
    ax.annotate("", xy=(minimum, test), xytext=(minimum, train),
                arrowprops=dict(arrowstyle="<->", color=PALETTE[3], linewidth=2.5))
    ax.text(text_x, 0.3, f"{name} minimum:\ntest - train = {test - train:.2f}", fontsize=15, va="center",
            bbox=dict(facecolor="white", edgecolor="none", alpha=0.9))
    print(f"{name:>5} minimum at w = {minimum:+.0f}: training loss {abs(train):.3f}, test loss {test:.3f}")
ax.set(title="Same training loss, different test loss: flat vs sharp minimum", xlabel="parameter $w$",
       ylabel="loss", ylim=(-0.1, 1.35))
ax.legend(loc="upper left")
fig.tight_layout()

gap_flat = one_d_loss(-2.0, shift) - one_d_loss(-2.0)
gap_sharp = one_d_loss(2.0, shift) - one_d_loss(2.0)
assert gap_sharp > 10 * gap_flat, "the same shift should cost the sharp minimum far more than the flat one"

# %% [markdown]
# **A practical recipe.** Start with Adam (learning rate around $10^{-3}$): it is robust and fast to get
# working. If the last percent of test accuracy matters and you can afford a learning-rate search, try SGD
# with momentum 0.9 and a decaying learning rate; compare on a validation set, not the training loss, and
# over a few seeds (notebook 06 showed how small the differences can be). Whatever the optimizer, the
# initialization of notebooks 02-04 and the input normalization of notebook 01 decide whether it starts
# from a trainable point at all.
#
# ## Conclusion of the course
#
# * **Normalize the inputs** (01) to zero mean and unit variance: every later variance argument starts
#   there.
# * **Initialize so that variances are preserved**, forward for activations and backward for gradients:
#   constant initialization never breaks the symmetry, a fixed std makes variances vanish or explode with
#   depth (02); $\mathrm{Var}(w) = 1/d_x$ or Xavier's $2/(d_x + d_y)$ keeps them stable for linear and tanh
#   networks (03), Kaiming's $2/d_x$ for ReLU (04).
# * **Optimizers** (05) are a few lines each: SGD follows the gradient, momentum averages it, Adam also
#   scales each parameter by the size of its own gradients. On a real task the three end up close (06);
#   on surfaces with pathological curvature (07) and steep optima (08) the differences become visible:
#   momentum cancels oscillations, Adam adapts its step size per parameter.
# * There is no optimizer that is best everywhere. Adam is the robust default; SGD with momentum often
#   generalizes better when tuned. Measure on validation data.
#
# ## References
#
# 1. X. Glorot and Y. Bengio. [Understanding the difficulty of training deep feedforward neural
#    networks](https://proceedings.mlr.press/v9/glorot10a.html). AISTATS 2010.
# 2. K. He, X. Zhang, S. Ren and J. Sun. [Delving deep into rectifiers: Surpassing human-level performance
#    on ImageNet classification](https://arxiv.org/abs/1502.01852). ICCV 2015.
# 3. D. P. Kingma and J. Ba. [Adam: A method for stochastic optimization](https://arxiv.org/abs/1412.6980).
#    ICLR 2015.
# 4. N. S. Keskar, D. Mudigere, J. Nocedal, M. Smelyanskiy and P. T. P. Tang. [On large-batch training for
#    deep learning: Generalization gap and sharp minima](https://arxiv.org/abs/1609.04836). ICLR 2017.
# 5. A. C. Wilson, R. Roelofs, M. Stern, N. Srebro and B. Recht. [The marginal value of adaptive gradient
#    methods in machine learning](https://arxiv.org/abs/1705.08292). NeurIPS 2017.
# 6. S. Ruder. [An overview of gradient descent optimization algorithms](https://arxiv.org/abs/1609.04747).
#    arXiv:1609.04747, 2017 (also a readable [blog post](https://www.ruder.io/optimizing-gradient-descent/)).

# %% [markdown]
# ## Exercises
#
# ### Exercise 1: where does Adam go?
#
# Before running anything, predict where `Adam(lr=0.2)` ends after 100 steps from each of the three
# starts below: give the centre of the hole it ends in, or `None` if you think it stays on the plane.
# Think about which hole's pull dominates the gradient far from all of them, and about what Adam does when
# the gradient is far smaller than its $\epsilon = 10^{-8}$.

# %%
print("starts:", ADAM_STARTS)
# Your turn: one entry per start, e.g. (0.2, 0.1): (1.0, -0.5). Then uncomment the check.
my_predictions = {}
# check_adam_predictions(my_predictions)

# %% [markdown]
# #### Solution

# %% jupyter={"source_hidden": true} tags=["solution"]
# The gradient of each hole decays like exp(-r^2 / (2 sigma^2)) with the distance r, so the nearest hole
# dominates: (0.2, 0.1) is nearest to (1, -0.5), (-0.6, 0) to (-1, 0.5). From (0.6, 1.3) every hole is
# more than 1.7 away: the gradient is below 1e-15, far below eps = 1e-8, so Adam's step
# lr * m_hat / (sqrt(v_hat) + eps) ~ lr * |g| / eps ~ 1e-8: it never moves.
for start in ADAM_STARTS:
    print(f"{start}: nearest hole {min(OPTIMA, key=lambda c: math.dist(start, c))}, "
          f"|gradient| {np.linalg.norm(gradient(comb_func, *start)):.1e}")
check_adam_predictions({(0.2, 0.1): (1.0, -0.5), (-0.6, 0.0): (-1.0, 0.5), (0.6, 1.3): None});


# %% [markdown]
# ### Exercise 2: tame the momentum
#
# SGD with momentum was thrown out of the hole by one huge gradient. Keep `SGDMomentum(lr=1, momentum=0.9)`
# but **clip the gradient**: before the momentum update, rescale $g$ to norm at most 1 when it is longer.
# Write the subclass; the checker runs it from $(0, 0)$ for 100 steps and passes when it ends inside a
# hole (the message tells you which step threw it out, if one did).

# %%
class ClippedMomentum(SGDMomentum):
    """Your turn: SGD with momentum whose gradient norm is clipped to max_norm."""

    def __init__(self, params, lr, momentum=0.0, max_norm=1.0):
        super().__init__(params, lr, momentum)
        self.max_norm = max_norm

    def update_param(self, p):
        raise NotImplementedError("your turn: rescale p.grad to norm <= max_norm, then do the momentum update")


# check_reaches_optimum(lambda params: ClippedMomentum(params, lr=1, momentum=0.9))

# %% [markdown]
# #### Solution

# %% jupyter={"source_hidden": true} tags=["solution"]
class ClippedMomentum(SGDMomentum):
    """SGD with momentum on a clipped gradient: g <- g * min(1, max_norm / |g|)."""

    def __init__(self, params, lr, momentum=0.0, max_norm=1.0):
        super().__init__(params, lr, momentum)
        self.max_norm = max_norm

    def update_param(self, p):
        norm = p.grad.norm()
        if norm > self.max_norm:
            p.grad.mul_(self.max_norm / norm)
        super().update_param(p)


check_reaches_optimum(lambda params: ClippedMomentum(params, lr=1, momentum=0.9));
clipped = train_curve(lambda params: ClippedMomentum(params, lr=1, momentum=0.9), comb_func, num_updates=101,
                      init=(0.0, 0.0))
plot_trajectories(steep_map, {"SGDMomentum": paths["SGDMomentum"], "SGDMomentum, clipped": clipped},
                  title="Clipping the gradient keeps momentum in the hole");

# %% [markdown]
# Clipping bounds every step by roughly $\eta \cdot \text{max\_norm}$, the same protection Adam gets from
# its normalization, and is standard practice for networks with occasional gradient spikes (recurrent
# networks, transformers): `torch.nn.utils.clip_grad_norm_` does it for a whole model.
