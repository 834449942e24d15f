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
# # 04 · Kaiming (He) initialization for ReLU
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/courseware-dl/init-optim-course/blob/main/notebooks/04_kaiming_init.ipynb)
#
# Xavier initialization (notebook 03) assumes an activation that is linear around 0 and keeps outputs
# centred. ReLU, $\max(0, y)$, is neither: it throws away half of its input and its outputs are never
# negative. This notebook
#
# 1. derives **Kaiming (He) initialization**, $\mathrm{Var}(w) = 2/d_x$, and why the first layer keeps $1/d_x$;
# 2. shows Xavier shrinking a deep ReLU network by about $\times 0.5$ per layer, next to Kaiming;
# 3. compares with PyTorch's `nn.init.kaiming_normal_` and `nn.init.calculate_gain` (tanh, LeakyReLU...);
# 4. ends with one figure that summarises notebooks 02–04: activation variance against depth for every
#    scheme and activation, with sliders.

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

# %% [markdown]
# ## Set-up

# %%
import functools
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib_inline.backend_inline import set_matplotlib_formats
from torch import nn

from utils import course_seed, set_seed, torch_generator
from utils.data import fashion_mnist_tensors
from utils.exercises.init import check_empirical_gain, check_gelu_init, gelu_network
from utils.init import equal_var_init, linear_layers, var_init, xavier_init
from utils.measure import (
    activations_by_layer,
    output_gradients_by_layer,
    print_variances,
    variances,
    weights_by_layer,
)
from utils.models import BaseNetwork
from utils.plotting import plot_distributions, set_course_style
from utils.sliders import int_slider, live_figure, log_slider
from utils.variance_depth import plot_variance_vs_depth, variance_by_depth

set_matplotlib_formats("png")
set_course_style()
set_seed(42)

# %% [markdown]
# The same fixed batch of 1024 standardized training images as in notebooks 02 and 03:

# %%
(train_imgs, train_labels), _, _ = fashion_mnist_tensors()
imgs, labels = train_imgs[:1024], train_labels[:1024]
print(f"batch {tuple(imgs.shape)}: pixel mean {imgs.mean():.3f}, pixel variance {imgs.var():.3f}")

# %% [markdown]
# ## Deriving the factor 2
# Let $\tilde y$ be a linear layer's output and $x = \max(0, \tilde y)$ the ReLU's output that feeds the next
# layer, $y = \sum_j w_j x_j$. Two facts from notebook 03 still hold: the weights are centred and
# independent of the inputs, and $\tilde y$ itself is centred and symmetric (it is a sum of products with
# symmetric weights). What changes is $x$: its mean is positive. The general product rule with
# $\mathbb{E}[w] = 0$ gives
#
# $$\mathrm{Var}(w x) = \mathrm{Var}(w)\left(\mathrm{Var}(x) + \mathbb{E}[x]^2\right) = \mathrm{Var}(w)\,\mathbb{E}[x^2],$$
#
# so the next layer needs the **second moment** $\mathbb{E}[x^2]$, not the variance of $x$. ReLU keeps exactly
# the positive half of a symmetric $\tilde y$:
#
# $$\mathbb{E}[x^2] = \int_0^\infty \tilde y^2\, p(\tilde y)\, d\tilde y = \frac{1}{2}\,\mathbb{E}[\tilde y^2]
# = \frac{\mathrm{Var}(\tilde y)}{2}.$$
#
# A check on real outputs rather than ideal Gaussians: one 784 → 512 layer with weights
# $\mathcal{N}(0, 1/d_x)$ applied to our batch. Each unit's $\tilde y$ is not centred over the images
# (single pixels are not, notebook 01), but a unit with weights $-w$ is as likely as one with $w$, so pooled
# over units $\tilde y$ is symmetric. The tolerance is 5 standard errors of the ratio, computed from the
# spread of the 512 units' contributions:

# %%
weight = torch.randn(512, 784, generator=torch_generator(0)) / math.sqrt(784)
y_tilde = imgs.flatten(start_dim=1) @ weight.T  # [images, units]
x = torch.relu(y_tilde)
per_unit_x2, per_unit_half = x.pow(2).mean(dim=0), y_tilde.pow(2).mean(dim=0) / 2
ratio = per_unit_x2.mean() / per_unit_half.mean()
standard_error = (per_unit_x2 - ratio * per_unit_half).std() / math.sqrt(512) / per_unit_half.mean()
print(
    f"E[y~^2] = {y_tilde.pow(2).mean():.3f}   E[x^2] = {x.pow(2).mean():.3f}   Var(x) = {x.var():.3f}   "
    f"E[x^2] / (E[y~^2] / 2) = {ratio:.3f} (standard error {standard_error:.3f})"
)
assert abs(ratio - 1) < 5 * standard_error < 0.5, (
    "E[relu(y~)^2] should be E[y~^2]/2, and tell it from E[y~^2]"
)


# %% [markdown]
# $\mathbb{E}[x^2]$ is half of $\mathrm{Var}(\tilde y)$, and $\mathrm{Var}(x)$ is smaller still (the mean
# absorbs the rest). Putting it together,
#
# $$\mathrm{Var}(y) = d_x\, \mathrm{Var}(w)\, \frac{\mathrm{Var}(\tilde y)}{2}
# \qquad\Longrightarrow\qquad \mathrm{Var}(y) = \mathrm{Var}(\tilde y) \iff \mathrm{Var}(w) = \frac{2}{d_x}.$$
#
# That is **Kaiming (He) initialization** (He et al., 2015). The **first layer** is the exception: its inputs
# are the standardized pixels, not ReLU outputs, whose pooled $\mathbb{E}[x^2]$ is already 1 (notebook 01), and it keeps
# $\mathrm{Var}(w) = 1/d_x$.
#
# **Backward.** The same argument on $\partial L/\partial \tilde y = \mathrm{relu}'(\tilde y)\,\partial L/\partial x$
# (half of the derivatives are 0) gives $\mathrm{Var}(w) = 2/d_y$. He et al. point out that either choice is
# enough: with the forward one, the gradient variance changes by $d_y/d_x$ per layer, and over the whole
# network these factors telescope to the last layer's width over the first hidden layer's (10/512 for the
# course network, measured below): a constant, not an exponential in depth.


# %%
def kaiming_init(model):
    """He et al. (2015) for ReLU: weights ~ N(0, 2/d_x), biases 0. The first layer sees the raw
    (standardized) inputs, not ReLU outputs, so it keeps Var(w) = 1/d_x."""
    with torch.no_grad():
        for i, layer in enumerate(linear_layers(model)):
            d_x = layer.in_features
            gain_squared = 1.0 if i == 0 else 2.0  # PyTorch's gain is sqrt(2): Var(w) = gain^2 / d_x
            layer.weight.normal_(0.0, math.sqrt(gain_squared / d_x))
            if layer.bias is not None:
                layer.bias.zero_()


# %% [markdown]
# ## Kaiming on the ReLU network


# %% alt="Histograms of the weights per layer with Kaiming init: bell curves, wider than with equal variance from layer 2 on, and widest in the output layer, which has the fewest inputs."
def by_linear_layer(values):
    """Rename utils.measure's keys ("Layer 0, 2, ..., 8", positions in model.layers) to "linear layer
    1, 2, ..., 5", the numbering of this notebook's depth plots, so printouts and figures agree."""
    return {f"linear layer {k}": v for k, v in enumerate(values.values(), start=1)}


set_seed(42)
kaiming_model = BaseNetwork("relu")
kaiming_init(kaiming_model)
plot_distributions(by_linear_layer(weights_by_layer(kaiming_model)), "Weights, Kaiming", xlabel="weight")
plt.show()

# %% alt="Histograms of the activations before each ReLU with Kaiming init: about the same bell curve in every hidden layer, the variance staying near 1."
kaiming_acts = by_linear_layer(activations_by_layer(kaiming_model, imgs))
plot_distributions(kaiming_acts, "Activations (before ReLU), Kaiming", xlabel="activation")
plt.show()
print_variances(kaiming_acts, "Activation")

# %% [markdown]
# The hidden layers stay at variance ≈ 1 (printed above; between about 0.6 and 1.6 whatever the seed). The output
# layer's number, pooled over only 10 units, scatters most from seed to seed.

# %%
kaiming_var = variances(kaiming_acts)
hidden_var = [kaiming_var[f"linear layer {k}"] for k in (1, 2, 3, 4)]
assert all(0.6 < v < 1.6 for v in hidden_var), (
    f"Kaiming + ReLU: hidden-layer variances should stay near 1, got {hidden_var}"
)
print("Kaiming + ReLU: every hidden layer keeps its activation variance near 1.")

# %% [markdown]
# ## Xavier on a ReLU network
# With Xavier, a square hidden layer has $\mathrm{Var}(w) = 2/(d+d) = 1/d$, so it multiplies the variance by
# $d \cdot \frac{1}{d} \cdot \frac{1}{2} = \frac12$. In the five-layer network:

# %%
set_seed(42)
xavier_relu = BaseNetwork("relu")
xavier_init(xavier_relu)
xavier_relu_acts = by_linear_layer(activations_by_layer(xavier_relu, imgs))
print_variances(xavier_relu_acts, "Activation")
relu_var = list(variances(xavier_relu_acts).values())
assert 0.1 < relu_var[-2] / relu_var[0] < 0.5, "Xavier + ReLU: four layers should lose a factor of 2 to 10"

# %% [markdown]
# Four layers already lose a factor of several. The backward pass tells the same story. Going back
# through a ReLU zeroes half of the signal's entries, so each layer multiplies the backward signal's
# variance by $d_y\,\mathrm{Var}(w)/2$: with Kaiming that is $d_y/d_x$, and over the network the factors
# telescope to $10/512$, as for equal variance in a linear network (notebook 03). With Xavier,
# $\mathrm{Var}(w) = 2/(d_x+d_y)$, the factor is $d_y/(d_x+d_y)$: each layer loses an extra factor
# $(d_x+d_y)/d_x$, which is 2 in a square layer, 1.5 where the width halves and only about 1.08 in the
# $128 \to 10$ layer. Over the network these multiply to about 5; the measured ratio
# (1/202 against 1/51, printed below) is about 4:

# %%
for scheme, model in [("Kaiming", kaiming_model), ("Xavier", xavier_relu)]:
    signal = list(variances(output_gradients_by_layer(model, imgs, labels)).values())
    layers = linear_layers(model)
    predicted = math.prod(layer.out_features * layer.weight.var().item() / 2 for layer in layers[1:])
    measured = signal[0] / signal[-1]
    print(
        f"{scheme}: backward signal at linear layer 1 / at linear layer 5 = {measured:.4f} (1/{1 / measured:.0f}), "
        f"predicted {predicted:.4f}"
    )
    assert 0.7 < measured / predicted < 1.45, (
        f"{scheme}: the backward signal should follow d_y Var(w) / 2 per layer"
    )
    if scheme == "Kaiming":
        kaiming_signal = measured
extra = [(layer.in_features + layer.out_features) / layer.in_features for layer in layers[1:]]
print(
    "Xavier's extra loss per layer, (d_x + d_y) / d_x: "
    + ", ".join(f"{x:.2f}" for x in extra)
    + f"; product {math.prod(extra):.1f}, measured {kaiming_signal / measured:.1f}"
)
assert kaiming_signal > 2.5 * measured, (
    "Kaiming should keep several times more of the backward signal than Xavier"
)

# %% [markdown]
# In a deep network the factor $\frac12$ of the square layers compounds: here 30
# hidden layers of width 256 (256 images, no gradients needed), Xavier next to Kaiming.

# %% alt="Activation variance per layer of a ReLU network with 30 hidden layers, log scale, Xavier against Kaiming: Xavier's variance halves layer after layer down to about 10^-9, Kaiming's stays near 1."
depth_imgs = imgs[:256]
relu_curves = {
    name: variance_by_depth(init, "relu", depth_imgs, depth=30)
    for name, init in [("Xavier", xavier_init), ("Kaiming", kaiming_init)]
}
plot_variance_vs_depth({"ReLU, 30 hidden layers": relu_curves})
plt.show()


# %%
def ratio_per_layer(var):
    """Geometric mean of the variance ratio between consecutive hidden layers."""
    hidden = np.log(var[1:-1])  # skip the first layer (784 inputs) and the last (10 outputs)
    return float(np.exp(np.mean(np.diff(hidden))))


for name, var in relu_curves.items():
    print(f"{name}: variance x{ratio_per_layer(var):.2f} per layer, last hidden layer {var[-2]:.2g}")
assert 0.45 < ratio_per_layer(relu_curves["Xavier"]) < 0.55, (
    "Xavier + ReLU should shrink the variance about x0.5 per layer"
)
assert 0.9 < ratio_per_layer(relu_curves["Kaiming"]) < 1.1, (
    "Kaiming + ReLU should keep the variance per layer near x1"
)

# %% [markdown]
# Xavier halves the variance at every layer: from about 1.5 at the first layer (784 inputs) it halves 29
# times to the last hidden layer, $1.5 \cdot 0.5^{29} \approx 3 \cdot 10^{-9}$; Kaiming's curve only wanders:
# each layer multiplies the variance by a random factor near 1 (a finite layer of 256 random units), and
# these factors compound (printed above: the average factor per layer), a drift of a small factor over 30
# layers against Xavier's $10^{9}$.
#
# ## PyTorch's version: `kaiming_normal_` and `calculate_gain`
# `nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu")` draws $\mathcal{N}(0, \text{gain}^2/d_x)$
# with $\text{gain} = \sqrt 2$; `mode="fan_out"` uses $d_y$, He et al.'s backward version. Our first layer
# corresponds to `nonlinearity="linear"` (gain 1). On large layers ours gives the formula's variance (the
# sample variance of $n$ normal draws has a relative standard error of $\sqrt{2/n}$, 0.16 % for
# 784 × 1024; the assert allows 2 %), printed next to PyTorch's:

# %%
set_seed(0)
pair = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024))
kaiming_init(pair)
torch_first, torch_hidden = torch.empty(1024, 784), torch.empty(1024, 1024)
nn.init.kaiming_normal_(torch_first, mode="fan_in", nonlinearity="linear")
nn.init.kaiming_normal_(torch_hidden, mode="fan_in", nonlinearity="relu")

for name, ours, theirs, target in [
    ("first layer", pair[0].weight, torch_first, 1 / 784),
    ("hidden layer", pair[2].weight, torch_hidden, 2 / 1024),
]:
    ours = ours.detach()
    print(f"{name:>12}: ours {ours.var():.3e}, torch {theirs.var():.3e}, formula {target:.3e}")
    assert abs(ours.var() / target - 1) < 0.02, f"{name}: our variance is off the formula"

# %% [markdown]
# `nn.init.calculate_gain` lists the factor for each activation ($\mathrm{Var}(w) = \text{gain}^2/d_x$). For
# `LeakyReLU(negative_slope=a)` the negative half is kept, scaled by $a$, so
# $\mathbb{E}[x^2] = \frac{1 + a^2}{2}\mathrm{Var}(\tilde y)$, $\text{gain}^2 = \frac{2}{1 + a^2}$ and
# $\text{gain} = \sqrt{2/(1 + a^2)}$: ReLU at $a = 0$, linear at $a = 1$. The table prints PyTorch's values;
# the cell after it measures $\mathbb{E}[x^2]$ on the real layer outputs of the check above. The tanh gain
# 5/3 does not come from this argument: exercise 1 measures $1/\sqrt{\mathbb{E}[\tanh(y)^2]}$ for
# $y \sim \mathcal{N}(0, 1)$, which is smaller.

# %%
# NBVAL_CHECK_OUTPUT
print(f"{'activation':>18}  {'gain':>6}  {'gain^2':>7}")
for nonlinearity, param in [
    ("linear", None),
    ("sigmoid", None),
    ("tanh", None),
    ("relu", None),
    ("leaky_relu", 0.01),
    ("leaky_relu", 0.2),
    ("selu", None),
]:
    gain = nn.init.calculate_gain(nonlinearity, param)
    label = nonlinearity + (f"({param})" if param is not None else "")
    print(f"{label:>18}  {gain:6.3f}  {gain**2:7.3f}")


# %%
for a in (0.01, 0.2, 0.5):
    leaky = nn.functional.leaky_relu(y_tilde, a).pow(2).mean()
    measured_gain = (y_tilde.pow(2).mean() / leaky).sqrt().item()  # the gain that restores E[y~^2]
    print(
        f"LeakyReLU({a}): measured gain {measured_gain:.3f}, sqrt(2/(1+a^2)) = {math.sqrt(2 / (1 + a**2)):.3f}, "
        f"calculate_gain {nn.init.calculate_gain('leaky_relu', a):.3f}"
    )
    assert abs(measured_gain / nn.init.calculate_gain("leaky_relu", a) - 1) < 0.1, f"LeakyReLU({a}): gain off"

# %% [markdown]
# A last PyTorch detail: an `nn.Linear` you do not re-initialize draws its weights with
# `kaiming_uniform_(a=math.sqrt(5))`, which is $U(-1/\sqrt{d_x}, 1/\sqrt{d_x})$, variance $1/(3 d_x)$
# (and biases from the same range). That is **a third** of the equal-variance value, so a deep network left
# at PyTorch's default shrinks by $\times\frac13$ per layer with the identity, $\times\frac16$ with ReLU
# (the figure below shows both; the cell prints one layer's variance).

# %%
set_seed(0)
default = nn.Linear(1024, 1024)
print(f"PyTorch default: Var(w) * 3 * d_x = {default.weight.var().item() * 3 * 1024:.3f}")


# %% [markdown]
# ## The whole chapter in one figure
# Activation variance against depth, hidden layers of width 256, for every scheme of notebooks 02–04
# and every activation. The dashed line is the goal; each panel has its own (log) scale. The sliders set
# the fixed std (log scale) and the depth; the figure redraws when you release one (only the curves
# that changed are recomputed). Where the widgets do not run (GitHub, nbviewer), the figure is the
# default view: std 0.1, 30 hidden layers.

# %% alt="Default slider view, std 0.1 and 30 hidden layers: activation variance per layer for five init schemes under identity, tanh and ReLU: no scheme stays near 1 for all three, Kaiming alone does for ReLU; sliders change std and depth."
SCHEMES = {
    "equal variance": equal_var_init,
    "Xavier": xavier_init,
    "Kaiming": kaiming_init,
    "PyTorch default": lambda model: None,
}  # PyTorch's own init, left untouched


@functools.lru_cache
def scheme_curve(act, scheme, depth):
    """Variance against depth for one activation and one scheme of SCHEMES (cached)."""
    return variance_by_depth(SCHEMES[scheme], act, depth_imgs, depth)


@functools.lru_cache
def fixed_std_curve(act, std, depth):
    return variance_by_depth(lambda model: var_init(model, std), act, depth_imgs, depth)


def summary_panels(std=0.1, depth=30):
    """One panel per activation, one curve per scheme: moving the std slider recomputes three networks."""
    return {
        act: {f"fixed std {std:.2g}": fixed_std_curve(act, std, depth)}
        | {scheme: scheme_curve(act, scheme, depth) for scheme in SCHEMES}
        for act in ("identity", "tanh", "relu")
    }


def summary_figure(std, depth):
    return plot_variance_vs_depth(
        summary_panels(std, depth), f"Activation variance, {depth} hidden layers of width 256"
    )


summary = summary_panels()
live_figure(
    summary_figure,
    std=log_slider("fixed std σ", 0.1, -2.5, -0.5),
    depth=int_slider("hidden layers", 30, 5, 50, 5),
)


# %% [markdown]
# Read it panel by panel:
#
# * **identity**: equal variance and Xavier are flat and coincide (square layers: $1/d_x = 2/(d_x+d_y)$); Kaiming's factor
#   2 explodes ($\times 2$ per layer); a fixed std of 0.1 explodes ($\times 256\sigma^2$, about 2.6);
#   PyTorch's default vanishes ($\times\frac13$) onto the floor its biases set (their variance is
#   $1/(3 \cdot 256) \approx 1.3\cdot 10^{-3}$; the floor is that divided by $1 - \frac13$, notebook 02's exercise 1).
# * **tanh**: bounded outputs cap every explosion. Equal variance and Xavier, flat with the identity,
#   shrink slowly (not exponentially) with tanh: same weights, only the activation changed. Kaiming's
#   factor 2 overcompensates for small values and the curve levels off where it balances the squashing,
#   at the $v$ with $2\,\mathbb{E}[\tanh(y)^2] = v$ for $y \sim \mathcal{N}(0, v)$: flat, but at about 0.6,
#   below the goal. The fixed std 0.1 ($\times 256\sigma^2 = 2.56$) levels off the same way, at about 1,
#   right on the goal. The cell below solves both fixed-point equations and compares them with the curves.
# * **ReLU**: only Kaiming stays near 1 (it wanders by a small factor: 0.37 at the last hidden layer,
#   printed earlier); equal variance and Xavier halve the variance per layer; PyTorch's default divides it
#   by six, down to its bias floor of about $1.6 \cdot 10^{-3}$ (printed below), where it is flat too, but
#   three decades below the goal.
#
# No single scheme is right for every activation: **the initialization must match the activation**.


# %%
def hidden(act, scheme):
    return summary[act][scheme][1:-1]


assert hidden("identity", "Xavier").max() / hidden("identity", "Xavier").min() < 10, (
    "identity + Xavier should stay flat"
)
assert hidden("identity", "Kaiming")[-1] > 1e6 * hidden("identity", "Kaiming")[0], (
    "identity + Kaiming should explode (x2 per layer)"
)
assert hidden("relu", "Kaiming").max() / hidden("relu", "Kaiming").min() < 10, (
    "ReLU + Kaiming should stay flat"
)
assert hidden("relu", "Xavier")[-1] < 1e-6 * hidden("relu", "Xavier")[0], (
    "ReLU + Xavier should vanish (x0.5 per layer)"
)
assert hidden("relu", "PyTorch default")[-1] < 1e-2, (
    "ReLU + PyTorch default should collapse onto its bias floor (~1e-3)"
)
assert hidden("tanh", "Xavier")[-1] < 0.5 * hidden("tanh", "Xavier")[0], "tanh + Xavier should shrink"


def tanh_fixed_point(factor):
    """The v > 0 with factor * E[tanh(y)^2] = v for y ~ N(0, v) (Gauss-Hermite quadrature, bisection)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(100)

    def excess(v):
        return factor * np.sum(weights * np.tanh(np.sqrt(v) * nodes) ** 2) / math.sqrt(2 * math.pi) - v

    low, high = 1e-6, 10.0
    for _ in range(60):
        low, high = ((low + high) / 2, high) if excess((low + high) / 2) > 0 else (low, (low + high) / 2)
    return low


for scheme, factor in [("Kaiming", 2.0), ("fixed std 0.1", 2.56)]:
    level, fixed_point = hidden("tanh", scheme)[-10:].mean(), tanh_fixed_point(factor)
    print(
        f"tanh + {scheme}: last 10 hidden layers average {level:.3f}, fixed point of x{factor} E[tanh^2]: {fixed_point:.3f}"
    )
    assert abs(level / fixed_point - 1) < 0.15, f"tanh + {scheme}: the level should be the fixed point"
for act, scheme, low, high in [
    ("tanh", "Kaiming", 0.4, 0.85),
    ("tanh", "fixed std 0.1", 0.7, 1.4),
    ("relu", "PyTorch default", 1e-3, 2.5e-3),
]:
    last = hidden(act, scheme)[-10:]
    print(f"{act} + {scheme}: last 10 hidden layers between {last.min():.2g} and {last.max():.2g}")
    assert low < last.min() and last.max() < high, (
        f"{act} + {scheme}: should level off between {low} and {high}"
    )
print("Flat only where the scheme matches the activation.")


# %% [markdown]
# ## Summary
# * After a ReLU the next layer needs $\mathbb{E}[x^2] = \mathrm{Var}(\tilde y)/2$: Kaiming's
#   $\mathrm{Var}(w) = 2/d_x$ (first layer $1/d_x$) keeps a ReLU network's variance at 1.
# * Xavier on ReLU loses $\times\frac12$ per layer; PyTorch's untouched `nn.Linear` loses $\times\frac16$.
# * `nn.init.calculate_gain` gives the factor for other activations; LeakyReLU: $\sqrt{2/(1+a^2)}$ (its square
#   multiplies the variance). For an activation
#   it does not list, measure $\mathbb{E}[f(y)^2]$ (the exercises).
#
# Notebook 05 turns to the other half of the course: the optimizers that move these weights.
#
# ## Exercises
# ### Exercise 1: a gain for any activation
# For an activation $f$ and $y \sim \mathcal{N}(0, 1)$, the gain that keeps the variance at 1 is
# $1/\sqrt{\mathbb{E}[f(y)^2]}$ (the same argument as for ReLU, without the integral done by hand).
# Estimate it by Monte Carlo from $10^6$ samples of $y$ for any `act_fn` (a module such as `nn.GELU()`). Which values do you get for
# GELU and SiLU, which `nn.init.calculate_gain` does not know? And for tanh, against PyTorch's 5/3?


# %%
def empirical_gain(act_fn):
    """1 / sqrt(E[act_fn(y)^2]) for y ~ N(0, 1), estimated from samples."""
    raise NotImplementedError("your answer here")


# check_empirical_gain(empirical_gain)  # uncomment when your function is ready

# %% [markdown]
# #### Solution


# %% jupyter={"source_hidden": true} tags=["solution"]
def empirical_gain(act_fn):
    """The next layer needs E[x^2] (not Var(x)): Var(y_next) = d_x Var(w) E[f(y)^2]."""
    y = torch.randn(1_000_000, generator=torch_generator(0))
    with torch.no_grad():
        return 1 / act_fn(y).pow(2).mean().sqrt().item()


check_empirical_gain(empirical_gain)
for name, act_fn in [("GELU", nn.GELU()), ("SiLU", nn.SiLU()), ("tanh", nn.Tanh()), ("ReLU", nn.ReLU())]:
    print(f"{name:>5}: empirical gain {empirical_gain(act_fn):.3f}")
print(
    f"PyTorch's calculate_gain: tanh {nn.init.calculate_gain('tanh'):.3f}, relu {nn.init.calculate_gain('relu'):.3f}"
)


# %% [markdown]
# ### Exercise 2: Kaiming for GELU
# Transformers use GELU. Write `gelu_init(model)`: Kaiming's scheme with GELU's gain from exercise 1
# (weights $\mathcal{N}(0, \text{gain}^2/d_x)$, biases 0, and, as for ReLU, gain 1 in the first layer, which
# sees the standardized pixels). Then compare, over 20 hidden GELU layers of width 256, with the ReLU gain
# $\sqrt 2$ that is easy to reuse by mistake.


# %%
def gelu_init(model):
    """Kaiming-style init for a network of nn.Linear layers with GELU between them."""
    raise NotImplementedError("your answer here")


# check_gelu_init(gelu_init)  # uncomment when your function is ready

# %% [markdown]
# #### Solution


# %% alt="Activation variance per layer of a GELU network with 20 hidden layers, GELU's own gain against ReLU's gain root 2: GELU's gain keeps the variance within a decade of 1, ReLU's gain shrinks it by about four decades." jupyter={"source_hidden": true} tags=["solution"]
def gain_init(gain):
    """Weights N(0, gain^2 / d_x) (first layer: gain 1), biases 0."""

    def init(model):
        with torch.no_grad():
            for i, layer in enumerate(linear_layers(model)):
                layer.weight.normal_(0.0, (1.0 if i == 0 else gain) / math.sqrt(layer.in_features))
                layer.bias.zero_()

    return init


gelu_init = gain_init(empirical_gain(nn.GELU()))
check_gelu_init(gelu_init)

gelu_curves = {}
for label, init in [("GELU gain", gelu_init), ("ReLU gain √2", gain_init(math.sqrt(2)))]:
    set_seed(42)
    deep_gelu = gelu_network((784,) + (256,) * 20 + (10,))
    init(deep_gelu)
    gelu_curves[label] = np.array(
        list(variances(activations_by_layer(deep_gelu, depth_imgs.flatten(start_dim=1))).values())
    )
plot_variance_vs_depth({"GELU, 20 hidden layers": gelu_curves})
plt.show()
print(
    f"last hidden layer: GELU gain {gelu_curves['GELU gain'][-2]:.2g}, ReLU gain {gelu_curves['ReLU gain √2'][-2]:.2g}"
)
print(
    f"at variance 1, ReLU's gain keeps 2 E[gelu(y)^2] = {2 / empirical_gain(nn.GELU()) ** 2:.2f} of the variance "
    f"per layer; 0.85^19 = {0.85**19:.2g}"
)
assert 0.05 < gelu_curves["GELU gain"][-2] < 20, (
    "GELU's own gain should keep the variance within a factor of twenty of 1"
)
assert gelu_curves["ReLU gain √2"][-2] < 0.2, "ReLU's gain should shrink a GELU network's variance by decades"
assert gelu_curves["GELU gain"][-2] > 100 * gelu_curves["ReLU gain √2"][-2], (
    "the two gains should end decades apart"
)

# %% [markdown]
# With ReLU's gain the variance at the last hidden layer ends one to five decades below 1 (2.7e-5 to 0.043
# over 20 seeds), far below the $0.85^{19}$ that a constant factor $2\,\mathbb{E}[\mathrm{gelu}(y)^2] = 0.85$
# per layer would give. The factor is not constant: GELU is not scale-free (close to $y/2$ for small $y$, to
# ReLU for large $y$), so for $y \sim \mathcal{N}(0, v)$ a layer multiplies the variance by
# $f(v) = 2\,\mathbb{E}[\mathrm{gelu}(y)^2]/v$, which is 0.85 only at $v = 1$ and falls towards $1/2$ as $v$
# shrinks. The next cell computes $f$ and measures each layer's factor on eight networks (one network's
# layers scatter too much to tell the two models apart). It compares the layers whose input variance is
# still above 0.7 with those below 0.3: a constant factor predicts the same mean log-factor in both groups,
# $f(v)$ a smaller one where $v$ is small. The difference is tested against 5 standard errors computed from
# the layers' scatter.

# %%
nodes, node_weights = np.polynomial.hermite_e.hermegauss(200)


def gelu_factor(v, gain_squared=2.0):
    """gain^2 E[gelu(y)^2] / v for y ~ N(0, v): the factor a layer applies to the variance v."""
    y = torch.tensor(math.sqrt(v) * nodes)
    return (
        gain_squared
        * float(np.sum(node_weights * nn.functional.gelu(y).pow(2).numpy()))
        / math.sqrt(2 * math.pi)
        / v
    )


print("f(v) at v = 1, 0.5, 0.1, 0.001: " + ", ".join(f"{gelu_factor(v):.3f}" for v in (1, 0.5, 0.1, 0.001)))
inputs, factors = [], []  # every hidden layer of eight networks: input variance, measured factor
for seed in range(8):
    torch.manual_seed(course_seed(seed))
    net = gelu_network((784,) + (256,) * 20 + (10,))
    gain_init(math.sqrt(2))(net)
    var = np.array(list(variances(activations_by_layer(net, depth_imgs.flatten(start_dim=1))).values()))[:-1]
    inputs += list(var[:-1])
    factors += list(var[1:] / var[:-1])
inputs, log_factors = np.array(inputs), np.log(factors)
groups = {"v > 0.7": inputs > 0.7, "v < 0.3": inputs < 0.3}
for name, mask in groups.items():
    print(
        f"{name}: {mask.sum():3d} layers, measured factor {np.exp(log_factors[mask].mean()):.3f} (geometric mean), "
        f"f(v) {np.exp(np.mean(np.log([gelu_factor(v) for v in inputs[mask]]))):.3f}, constant 0.85"
    )
high, low = groups.values()
drop = log_factors[high].mean() - log_factors[low].mean()
predicted_drop = np.mean(np.log([gelu_factor(v) for v in inputs[high]])) - np.mean(
    np.log([gelu_factor(v) for v in inputs[low]])
)
standard_error = math.sqrt(
    log_factors[high].var(ddof=1) / high.sum() + log_factors[low].var(ddof=1) / low.sum()
)
print(
    f"ln(factor) drops by {drop:.3f} from the first group to the second; f(v) predicts {predicted_drop:.3f}, "
    f"a constant factor 0 (standard error {standard_error:.3f})"
)
assert drop > 5 * standard_error, "the factor per layer should fall with the variance, not stay constant"
assert 0.4 < drop / predicted_drop < 1.2, "f(v) should predict most of how much the factor falls"

# %% [markdown]
# The factor falls with the variance, many standard errors beyond what a constant factor allows. $f(v)$
# gets the direction and most of the size (over 20 seeds the measured drop is 0.58 to 0.84 of its
# prediction); the measured factors run above $f(v)$, more so at small variances. The formula assumes
# Gaussian pre-activations; what makes the gap is not tested here. With GELU's own gain the
# variance of the last hidden layer stays within a factor of twenty of 1 (0.24 to 11 over `COURSE_SEED`
# 1 to 20), but unlike Kaiming's on
# ReLU it is not flat: the gain is right only at variance 1. Above 1 the factor $\text{gain}^2\,
# \mathbb{E}[\mathrm{gelu}(y)^2]/v$ exceeds 1, below 1 it falls short (printed next), so a deviation,
# either way, grows from layer to layer.

# %%
gelu_gain_squared = empirical_gain(nn.GELU()) ** 2
print(
    f"GELU's gain: factor {gelu_factor(2, gelu_gain_squared):.3f} at v = 2, {gelu_factor(0.5, gelu_gain_squared):.3f} at v = 0.5"
)
assert gelu_factor(2, gelu_gain_squared) > 1.02 and gelu_factor(0.5, gelu_gain_squared) < 0.98, (
    "1 should be unstable"
)
