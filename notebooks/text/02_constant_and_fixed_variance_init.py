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
# # 02 · Constant and fixed-variance initialization
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/courseware-dl/init-optim-course/blob/main/notebooks/02_constant_and_fixed_variance_init.ipynb)
#
# Before a network learns anything, its weights need values. This notebook shows why the two most obvious
# choices fail, and what a good choice has to achieve:
#
# 1. **Constant initialization**: every weight gets the same value. The units of a layer become clones of
#    each other, and gradient descent can never tell them apart.
# 2. **One fixed standard deviation for every layer**: random weights $w \sim \mathcal{N}(0, \sigma^2)$.
#    Too small a $\sigma$ and the signal vanishes layer by layer; too large and it explodes.
#
# It builds on notebook 01 (inputs standardized to mean 0 and variance 1). Notebooks 03 and 04 derive the
# schemes that fix the problem: equal variance, Xavier and Kaiming.

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
# The helper package `utils` holds what every notebook shares: the data, the course network, the
# per-layer measurements (`utils.measure`) and their plots (`utils.plotting`).

# %%
import functools
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib_inline.backend_inline import set_matplotlib_formats

from utils import set_seed
from utils.data import fashion_mnist_tensors
from utils.exercises.init import check_bias_floor, check_width_schedule_stds
from utils.init import linear_layers
from utils.measure import (
    activations_by_layer,
    gradients_by_layer,
    output_gradients_by_layer,
    print_variances,
    variances,
    weights_by_layer,
    with_widths,
)
from utils.models import BaseNetwork
from utils.plotting import plot_distributions, plot_heatmaps, set_course_style
from utils.sliders import int_slider, live_figure, log_slider
from utils.variance_depth import plot_variance_vs_depth, variance_by_depth

set_matplotlib_formats("png")
set_course_style()
set_seed(42)

# %% [markdown]
# The diagnostics of notebooks 02–04 use **one fixed batch of 1024 training images**, standardized as in
# notebook 01, so that the numbers of different initializations can be compared directly (the deep
# networks of the variance-against-depth sections use its first 256).

# %%
(train_imgs, train_labels), _, _ = fashion_mnist_tensors()
imgs, labels = train_imgs[:1024], train_labels[:1024]
print(f"batch {tuple(imgs.shape)}: pixel mean {imgs.mean():.3f}, pixel variance {imgs.var():.3f}")

# %% [markdown]
# ## What a good initialization must achieve
# A deep network is a long chain of layers $y = Wx + b$. Whatever one layer does to the *scale* of its
# input, the next layer does again, so a small factor per layer becomes an exponential over the depth.
# A good initialization therefore keeps two things the same from layer to layer:
#
# * the **variance of the activations** (forward pass): otherwise the output is either a constant or
#   astronomically large, whatever the input;
# * the **variance of the gradients** (backward pass): otherwise the first layers either never learn or
#   take huge, destructive steps.
#
# To see the arithmetic exactly we start with the **identity activation**: the course network
# 784 → 512 → 256 → 256 → 128 → 10 with $f(x) = x$, a purely linear network. Its five linear layers sit at
# indices 0, 2, 4, 6, 8 of `model.layers`.

# %%
print(BaseNetwork("identity"))


# %% [markdown]
# ## Constant initialization
# The simplest idea: give every weight and every bias the same small value. `linear_layers(model)` (from
# `utils.init`) lists a model's `nn.Linear` layers in order, and refuses a model that has none.


# %%
def const_init(model, fill=0.0):
    """Every weight and bias = `fill`: all units of a layer compute the same thing (symmetry)."""
    if not math.isfinite(fill):
        raise ValueError(f"fill must be a finite number, got {fill!r}.")
    with torch.no_grad():
        for layer in linear_layers(model):
            for param in layer.parameters():
                param.fill_(fill)


# %% [markdown]
# We set every parameter to 0.005 and compute the gradient of the cross-entropy loss on our batch.
# Each panel is one linear layer, its title carries the variance, and all panels share one x axis, so
# a layer whose values are all (nearly) 0 is a single bar at 0.

# %% alt="Histograms of the weight gradients per layer after a constant init of 0.005: layers 0 to 6 are a single spike at 0, only the output layer 8 shows ten distinct values."
set_seed(42)
const_model = BaseNetwork("identity")
const_init(const_model, fill=0.005)
const_grads = gradients_by_layer(const_model, imgs, labels)
plot_distributions(
    with_widths(const_grads, const_model), "Weight gradients, constant init 0.005", xlabel="gradient"
)
plt.show()
print_variances(const_grads, "Gradient")

# %% [markdown]
# The hidden layers 2, 4 and 6 receive **a single gradient value** for all of their weights: a histogram
# with one bar, variance 0. The reason is symmetry. With equal weights, every unit of a layer computes
# the same output, so every unit sends back the same error $\delta_i = \partial L/\partial y_i$ (the
# loss's derivative with respect to the unit's output $y_i$), and unit $i$'s gradient for input $j$,
# $\partial L/\partial w_{ij} = \sum_{\text{batch}} \delta_i\, x_j$, is the same number for every $i$ and
# (in the hidden layers, whose inputs $x_j$ are themselves clones) for every $j$. Layer 0 sees different
# pixels $x_j$, but its 512 units still get identical gradient *rows*.
#
# At this very first step the common value is even **zero**. The ten output units are clones too, so all
# ten logits are equal and the softmax gives $p_k = 0.1$ for every class. The error sent back into the
# network is $\sum_k w_{kj}\,(p_k - y_k) = 0.005 \sum_k (p_k - y_k) = 0$, because both $p$ and the
# one-hot $y$ sum to 1. Layers 0–6 are a single spike at 0 on the common axis (float rounding can split
# it across two adjacent bins); their printed variances, many orders of magnitude below layer 8's, are
# round-off: float32 arithmetic computes a quantity that is exactly 0 as tiny non-zero numbers. Only the
# output layer 8 gets a real gradient (the squared-error experiment below removes the cause: with a loss whose
# errors do not sum to 0 the hidden gradients are no longer 0). After its first update the ten
# output units differ, and from then on the hidden layers receive non-zero gradients, still one value per
# layer.

# %%
for name in ["Layer 2", "Layer 4", "Layer 6"]:
    g = const_grads[name]
    assert np.ptp(g) <= 1e-6 * np.abs(g).max(), (
        f"{name}: gradients spread over {np.ptp(g):.3g}, expected one value"
    )
rows = const_grads["Layer 0"].reshape(const_model.layers[0].weight.shape)  # one row per unit
assert (rows == rows[:1]).all(), "Layer 0: the 512 units should receive identical gradient rows"
print("Layers 2, 4, 6: one gradient value each; layer 0: 512 identical gradient rows.")

# %% [markdown]
# The zero comes from $\sum_k (p_k - y_k) = 0$. Remove that cause and the zero goes: the squared error
# between the ten logits and the one-hot label sends back $\ell_k - y_k$, whose sum over the ten classes
# is $10\,\ell - 1 \neq 0$ for equal logits $\ell$. Same constant network, same batch, only the loss
# changed:

# %%
# NBVAL_CHECK_OUTPUT
mse_model = BaseNetwork("identity")
const_init(mse_model, fill=0.005)
one_hot = torch.nn.functional.one_hot(labels, 10).float()
torch.nn.functional.mse_loss(mse_model(imgs), one_hot).backward()
for i in (2, 4, 6):
    ce_size = np.abs(const_grads[f"Layer {i}"]).max()
    mse_grad = mse_model.layers[i].weight.grad
    print(
        f"Layer {i}: largest |gradient| {ce_size:.1e} with cross-entropy, {mse_grad.abs().max():.1e} with "
        f"squared error ({mse_grad.unique().numel()} distinct value(s))"
    )
    assert mse_grad.abs().max() > 1e3 * ce_size, (
        f"Layer {i}: the squared error should give a non-zero gradient"
    )

# %% [markdown]
# Identical gradients mean identical updates, so the symmetry is **never broken**: after any number of
# training steps the units of a layer are still clones, and a layer of 256 units is worth one unit.
# Ten steps of plain gradient descent (on 256 of the images, to be quick) confirm it: every layer moves
# away from 0.005, yet the rows of each weight matrix (one row per unit) stay equal.

# %%
optimizer = torch.optim.SGD(const_model.parameters(), lr=0.01)
for _ in range(10):
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(const_model(imgs[:256]), labels[:256]).backward()
    optimizer.step()

for i in (0, 2, 4, 6):
    weight = const_model.layers[i].weight.detach()
    moved = (weight - 0.005).abs().max().item()
    spread = (weight - weight[:1]).abs().max().item() / weight.abs().max().item()
    print(
        f"Layer {i}: weights moved by up to {moved:.1e}; its {weight.shape[0]} weight rows (units) differ "
        f"by at most {spread:.1e} of the largest weight"
    )
    assert moved > 1e-5, f"Layer {i}: the weights should have been updated"
    assert spread < 1e-4, f"Layer {i}: the units should still be clones, rows differ by {spread:.2g}"

# %% [markdown]
# A histogram cannot show *which* weights are equal; a heat map can. Below, the first 32 rows (units) of
# layer 0's weight matrix after these ten steps, one column per pixel, next to the same layer of a
# network that started from PyTorch's random default initialization and took the same ten steps.

# %% alt="Heat maps of the first 32 units of layer 0's weights after 10 SGD steps: from the constant init every unit's row is identical, giving vertical stripes, while from a random init every unit differs."
set_seed(42)
random_model = BaseNetwork("identity")  # PyTorch's default init: random weights
optimizer = torch.optim.SGD(random_model.parameters(), lr=0.01)
for _ in range(10):
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(random_model(imgs[:256]), labels[:256]).backward()
    optimizer.step()

plot_heatmaps(
    {
        "constant init 0.005": const_model.layers[0].weight.detach()[:32],
        "random init": random_model.layers[0].weight.detach()[:32],
    },
    "Layer 0 weights after 10 SGD steps",
    xlabel="input pixel",
    ylabel="unit",
)
plt.show()

# %% [markdown]
# On the left every row is the same: vertical stripes, one shade per pixel (the pixels got different
# updates), but 32 identical units. On the right every unit is different.

# %% [markdown]
# The activations tell the same story: every unit of a layer outputs the same value for a given image,
# so each row of the heat map (one image, 64 units) is a single colour. And since nothing controls the
# scale, the activation variance drifts from layer to layer (printed below the figure).

# %% alt="Heat maps of layer 0 and layer 2 activations, 32 images by 64 units, after a constant init: each image's row is uniform, so every unit of a layer outputs the same value."
const_init(const_model, fill=0.005)  # undo the 10 training steps
const_acts = activations_by_layer(const_model, imgs)
plot_heatmaps(
    {f"Layer {i}": const_acts[f"Layer {i}"].reshape(len(imgs), -1)[:32, :64] for i in (0, 2)},
    "Activations, constant init 0.005",
    xlabel="unit",
    ylabel="image",
)
plt.show()
print_variances(const_acts, "Activation")

# %%
for i in (0, 2, 4, 6):
    per_unit = const_acts[f"Layer {i}"].reshape(len(imgs), -1)  # [image, unit]
    assert np.allclose(per_unit, per_unit[:, :1]), (
        f"Layer {i}: the units should output the same value per image"
    )
print("In every hidden layer all units output the same value for a given image.")


# %% [markdown]
# **Lesson 1: the weights must be random**, so that the units of a layer start different and learn
# different features. The next question is *how* random.
#
# ## One fixed standard deviation for every layer
# Draw every weight and bias from $\mathcal{N}(0, \sigma^2)$ with the same $\sigma$ everywhere.


# %%
def var_init(model, std=0.01):
    """Every weight and bias ~ N(0, std^2), the same std in every layer, whatever its width."""
    if not (math.isfinite(std) and std > 0):
        raise ValueError(f"std must be a positive finite number, got {std!r} (for std 0 use const_init).")
    with torch.no_grad():
        for layer in linear_layers(model):
            for param in layer.parameters():
                param.normal_(0.0, std)


# %% [markdown]
# ### $\sigma = 0.01$: the signal vanishes
# The weights look alike in every layer, a bell curve of width 0.01:

# %% alt="Histograms of the weights per layer with std 0.01: the same narrow bell curve of variance about 0.0001 in every layer."
set_seed(42)
small_model = BaseNetwork("identity")
var_init(small_model, std=0.01)
plot_distributions(
    with_widths(weights_by_layer(small_model), small_model), "Weights, std 0.01", xlabel="weight"
)
plt.show()

# %% alt="Histograms of the activations per layer with weights of std 0.01: the spread collapses from layer to layer, the variance falling from about 0.08 to below 0.0001 by the output."
small_acts = activations_by_layer(small_model, imgs)
plot_distributions(with_widths(small_acts, small_model), "Activations, std 0.01", xlabel="activation")
plt.show()
print_variances(small_acts, "Activation")

# %% [markdown]
# The activation variance collapses by orders of magnitude within five layers. A rough count explains it
# (notebook 03 derives it properly): an output $y_i = \sum_{j=1}^{d_x} w_{ij} x_j + b_i$ sums $d_x$ products
# $w_{ij} x_j$, zero-mean terms that are uncorrelated because each carries its own independent weight, so
#
# $$\mathrm{Var}(y) = d_x\, \sigma^2\, \mathbb{E}[x^2] + \sigma^2 .$$
#
# Each layer multiplies the mean square of its input (for the centred layer outputs, their variance) by
# $d_x \sigma^2$: $784 \cdot 10^{-4} = 0.078$, then
# $512 \cdot 10^{-4} = 0.051$, then $0.026$... until little more than the biases' own variance
# $\sigma^2 = 10^{-4}$ is left. The network's output is then almost pure bias noise: it has forgotten its
# input (layer 8's ten outputs are essentially its ten bias values). The rule predicts the measured numbers
# (in layer 8 only roughly: a variance made of just ten random biases scatters a lot around $\sigma^2$):

# %%
std, predicted_var = 0.01, imgs.pow(2).mean().item()  # the first layer's E[x^2]
for (name, measured), layer in zip(variances(small_acts).items(), linear_layers(small_model), strict=True):
    factor = layer.in_features * std**2
    predicted_var = factor * predicted_var + std**2
    print(
        f"{name}: factor d_x std^2 = {factor:.2g}, predicted {predicted_var:9.3g}   measured {measured:9.3g}"
    )

# %%
small_var = variances(small_acts)
assert small_var["Layer 8"] < 1e-2 * small_var["Layer 0"], (
    "std 0.01: the last layer's variance should be orders of magnitude below the first's"
)
assert small_var["Layer 2"] < 0.1 * small_var["Layer 0"], (
    "std 0.01: the variance should already shrink >10x by layer 2"
)
print(
    f"std 0.01: variance falls {small_var['Layer 0'] / small_var['Layer 8']:.0f}-fold from layer 0 to layer 8."
)

# %% [markdown]
# The gradients are tiny too, and they shrink from the last layer towards the first. Not because of the
# first layer's input: that is the standardized pixels, variance 1. A weight's gradient is a product,
# $\partial L/\partial w_{ij} = \sum_{\text{batch}} \delta_i\, x_j$, of the layer's input $x_j$ and the
# **backward signal** $\delta = \partial L/\partial y$ at the layer's output, and it is the backward
# signal that vanishes. Backpropagation computes $\partial L/\partial x = W^\top \delta$, a sum over the
# $d_y$ outputs, so going backwards each layer multiplies its variance by $d_y\,\sigma^2$: the mirror image
# of the forward factor $d_x\,\sigma^2$. `output_gradients_by_layer` measures $\delta$ at every layer:

# %%
small_grads = gradients_by_layer(small_model, imgs, labels)
print_variances(small_grads, "Weight gradient")
small_signal = variances(output_gradients_by_layer(small_model, imgs, labels))
layers, names = linear_layers(small_model), list(small_signal)
for k in range(len(names) - 1, 0, -1):  # from the output back towards the input
    measured, predicted = small_signal[names[k - 1]] / small_signal[names[k]], layers[k].out_features * std**2
    print(f"backward signal, {names[k]} -> {names[k - 1]}: x{measured:.3g} (d_y std^2 = {predicted:.3g})")
    assert 0.5 < measured / predicted < 2, f"{names[k]}: the backward signal should shrink by about d_y std^2"
signal_loss = small_signal["Layer 8"] / small_signal["Layer 0"]
print(f"backward signal: {signal_loss:.2g} times smaller at layer 0 than at layer 8")

# %% [markdown]
# The backward signal loses a factor $d_y\sigma^2$ per layer, about eight orders of magnitude between
# layer 8 and layer 0. The weight gradients lose far less between those layers, because the inputs
# $x_j$ move the other way: the vanished activations feed the last layers, the full-size pixels the
# first. (The section after the $\sigma = 0.1$ figure divides both factors out, layer by layer, and finds
# that they account for most of the gradients' spread, though not all of it at $\sigma = 0.01$.)

# %% [markdown]
# ### $\sigma = 0.1$: the signal explodes
# Ten times larger, and the factor per layer $d_x \sigma^2$ is now above 1 ($7.8$, $5.1$, $2.6$, $2.6$,
# $1.3$): the variance grows in every hidden layer. The 10-unit output layer scatters: a variance over
# only ten outputs can come out below layer 6's on some seeds, although its factor is above 1. The weight
# gradients (printed after the activations) are $10^8$ to $10^9$ times those at $\sigma = 0.01$ here
# (from $0.8\cdot 10^8$ to $1.1\cdot 10^9$ over 20 other seeds). They are largest in the last layer; the
# cell after the figure tests where that comes from.

# %% alt="Histograms of the activations per layer with weights of std 0.1: the spread widens from layer to layer, the variance growing from about 8 to about 300."
set_seed(42)
large_model = BaseNetwork("identity")
var_init(large_model, std=0.1)
large_acts = activations_by_layer(large_model, imgs)
plot_distributions(with_widths(large_acts, large_model), "Activations, std 0.1", xlabel="activation")
plt.show()
print_variances(large_acts, "Activation")
large_grads = variances(gradients_by_layer(large_model, imgs, labels))
for name, var in large_grads.items():
    print(
        f"Weight gradient variance, {name}: {var:.3g} ({var / variances(small_grads)[name]:.2g} x std 0.01's)"
    )

# %%
large_var = list(variances(large_acts).values())
hidden_var = large_var[:4]  # layers 0-6; the 10-unit output layer 8 scatters too much to compare
assert all(b > a for a, b in zip(hidden_var, hidden_var[1:])), (
    f"std 0.1: the variance should grow in every hidden layer, got {large_var}"
)
assert large_var[-1] > 10 * large_var[0], "std 0.1: the last layer's variance should be >10x the first's"
assert max(large_grads, key=large_grads.get) == "Layer 8", (
    "std 0.1: the last layer's gradients should be largest"
)
assert all(5e7 < large_grads[k] / v < 2e9 for k, v in variances(small_grads).items()), (
    "gradients ~1e8-1e9 x std 0.01's"
)
print(f"std 0.1: variance grows {large_var[-1] / large_var[0]:.0f}-fold from layer 0 to layer 8.")

# %% [markdown]
# ### What sets the size of a weight's gradient
# A weight's gradient is $\sum_{\text{batch}} \delta_i x_j$: the backward signal at the layer's output
# times the layer's input. If that is what sets its size, the gradient variance divided by
# $\mathbb{E}[\delta^2]\,\mathbb{E}[x^2]$ should be about the same in every layer, although the gradient
# variances themselves span hundreds. The cell divides out both factors, for both networks:


# %%
def gradient_over_signal_times_input(model):
    """Per layer: (weight-gradient variance, that variance / (E[delta^2] E[x^2]))."""
    grads = variances(gradients_by_layer(model, imgs, labels))
    deltas = output_gradients_by_layer(model, imgs, labels)
    acts = activations_by_layer(model, imgs)
    names = list(grads)
    inputs = [imgs.pow(2).mean().item()] + [float(np.mean(acts[n] ** 2)) for n in names[:-1]]
    return {
        n: (grads[n], grads[n] / (np.mean(deltas[n] ** 2) * x2)) for n, x2 in zip(names, inputs, strict=True)
    }


for model, label, ratio_limit in [(large_model, "std 0.1", 2), (small_model, "std 0.01", 50)]:
    per_layer = gradient_over_signal_times_input(model)
    grad_spread = max(g for g, _ in per_layer.values()) / min(g for g, _ in per_layer.values())
    ratio_spread = max(r for _, r in per_layer.values()) / min(r for _, r in per_layer.values())
    print(
        f"{label}: gradient variances span {grad_spread:.0f}x over the layers; divided by "
        f"E[delta^2] E[x^2] they span {ratio_spread:.1f}x"
    )
    assert ratio_spread < ratio_limit and grad_spread > 8 * ratio_spread, (
        f"{label}: delta and x should set the gradient"
    )

# %% [markdown]
# At $\sigma = 0.1$ the two factors account for the gradients to within a factor of 2 in every layer
# (1.4 here), against a spread of 200 and more: the last layer's gradients are the largest because this
# product is (the cell does not say which of the two factors contributes more). At $\sigma = 0.01$ they account for most of the spread but not all
# (a factor of 15 to 25 remains over 20 seeds), so there the product is only the rough picture.
#
# ## Variance against depth
# Five layers hide how fast this goes. In a deeper network of width $d$ every hidden layer multiplies the
# variance by the same factor $q = d\,\sigma^2$, so after $L$ layers it is $q^L$: a **straight line on a
# log axis**, falling for $q<1$, rising for $q>1$, flat only for $q = 1$, i.e. $\sigma = 1/\sqrt{d}$.
#
# (A note on names: the printouts call a layer by its index in the model, "Layer 0, 2, 4, ...", because
# the activations sit in between; the depth figures count linear layers 1, 2, 3, ... So "Layer 8" of the
# five-layer network is linear layer 5.)
#
# Below: 30 hidden layers of width 256 (plus the first layer from 784 pixels and the last to 10 classes),
# 256 images, three values of $\sigma$. The dashed line is the goal, variance 1.

# %%
depth_imgs = imgs[:256]


@functools.lru_cache
def std_curve(std, depth=30, width=256):
    """Activation variance at every linear layer of a deep linear network (cached: a slider that comes
    back to a value redraws at once)."""
    return variance_by_depth(lambda model: var_init(model, std), "identity", depth_imgs, depth, width)


curves = {f"std {std:.3g}": std_curve(std) for std in (0.01, 1 / 16, 0.1)}
for std in (0.01, 1 / 16, 0.1):
    var, q = curves[f"std {std:.3g}"], 256 * std**2
    print(
        f"std {std:.3g}: q = 256 std^2 = {q:.3g}, q^28 = {q**28:.2g}; variance at hidden layer 2 {var[1]:.2g}, "
        f"at hidden layer 30 {var[-2]:.2g}"
    )

# %% [markdown]
# Move the sliders: the std (log scale) and the number of hidden layers; the figure redraws when you
# release a slider. Where the widgets do not run (GitHub, nbviewer), the figure is the default view:
# $\sigma = 1/16$, 30 layers, with the two failing stds for reference.


# %% alt="Default slider view: activation variance per layer, 30 layers of width 256, weight stds 0.01, 1/16 and 0.1: 0.01 collapses to a floor, 0.1 explodes past 10^12, 1/16 stays flat about 3 times above 1; sliders change std and depth."
def std_figure(std, depth):
    """The depth figure for one std, next to the two failing ones for reference."""
    shown = {f"std {s:.3g}": std_curve(s, depth) for s in sorted({0.01, std, 0.1})}
    return plot_variance_vs_depth({f"width 256, {depth} hidden layers": shown})


live_figure(
    std_figure, std=log_slider("std σ", 1 / 16, -2.5, -0.5), depth=int_slider("hidden layers", 30, 5, 50, 5)
)

# %% [markdown]
# * $\sigma = 0.1$: $q = 2.56$, the variance grows like $q^{L}$. Count the layers: `depth=30` builds 31
#   linear layers (784 → 256, then 29 square ones, then 256 → 10); the curve's second point is hidden
#   layer 2, its second-to-last hidden layer 30, so between them lie 28 square layers and the growth
#   should be $q^{28} \approx 2.7\cdot 10^{11}$. Each random layer multiplies by $q$ only on average, so
#   one network's growth scatters around $q^{28}$; the cell below averages the logarithm over eight
#   networks, which is precise enough to tell 28 factors of $q$ from 29.
# * $\sigma = 0.01$: $q = 0.0256$; it crashes within a few layers onto a floor near $\sigma^2 = 10^{-4}$ set by
#   the biases (exercise 1 computes it). Everything the input contributed is gone.
# * $\sigma = 1/16 = 1/\sqrt{256}$: $q = 1$, flat, but the whole curve sits about 3 times above the dashed
#   goal (3.1 at hidden layer 2, printed above). The plot's first point is already the first layer's output, and that
#   layer has $d_x = 784$ inputs, not 256: it multiplied the input's variance 1 by $784/256 \approx 3$, and the flat layers carry
#   the excess on. **One $\sigma$ for all layers cannot work when the widths differ**. The std must depend on
#   the layer's width; that is notebook 03.

# %%
hidden = slice(1, -1)  # skip the first layer (784 inputs) and the last (10 outputs)
q = 2.56
log_excess = np.log(
    [  # ln(growth / q^28) for eight networks (seeds 0-7), hidden layer 2 -> 30
        (lambda var: var[-2] / var[1] / q**28)(
            variance_by_depth(lambda m: var_init(m, 0.1), "identity", depth_imgs, seed=s)
        )
        for s in range(8)
    ]
)
tolerance = 5 * log_excess.std(ddof=1) / np.sqrt(len(log_excess))  # 5 standard errors of the mean
print(
    f"growth / q^28: geometric mean {np.exp(log_excess.mean()):.2f} over 8 networks "
    f"(5 standard errors: x/ {np.exp(tolerance):.2f}); growth / q^29: {np.exp(log_excess.mean() - np.log(q)):.2f}"
)
assert abs(log_excess.mean()) < tolerance, "std 0.1 should grow by q^28 from hidden layer 2 to 30"
assert abs(log_excess.mean() - np.log(q)) > tolerance, "the measurement should tell q^28 from q^29"
assert curves["std 0.01"][-2] < 1e-2 * curves["std 0.01"][0], "std 0.01 should vanish onto the bias floor"
flat = curves["std 0.0625"][hidden]
assert flat.max() / flat.min() < 2.5, (  # 1.2x-1.7x over 30 seeds; q = 1.08 or 0.93: 4.2x and more
    f"std 1/sqrt(256) should keep the hidden variance flat, spread {flat.max() / flat.min():.1f}x"
)
assert 2 < curves["std 0.0625"][0] < 4.5, (
    "std 1/16: the first layer (784 inputs) should triple the input's variance"
)
print("Explodes at std 0.1, vanishes at std 0.01, flat at std 1/sqrt(width).")


# %% [markdown]
# ## Summary
# * Constant initialization keeps all units of a layer identical forever: no learning of distinct features.
# * A fixed std scales the activations' variance by $d_x\sigma^2$ per layer on the way forward, and the
#   backward signal's by $d_y\sigma^2$ on the way back: exponential vanishing ($\sigma = 0.01$) or
#   explosion ($\sigma = 0.1$).
# * The right std depends on the layer's width. Notebook 03 derives it: $\mathrm{Var}(w) = 1/d_x$.
#
# ## Exercises
# ### Exercise 1: the bias floor
# With $\sigma = 0.01$ the depth curve does not fall to 0: it stops on a floor. `var_init` gives the biases
# the same $\mathcal{N}(0, \sigma^2)$ as the weights, so each layer of width $d$ maps a variance $v$ to
# $q\,v + \sigma^2$ with $q = d\sigma^2$. Write `bias_floor(std, width)`: the variance a very deep network
# settles at. What happens when $q \ge 1$? (Return `math.inf` there.)


# %%
def bias_floor(std, width):
    """The variance that layer after layer of var_init(std) at this width settles at (math.inf if none)."""
    raise NotImplementedError("your answer here")


# check_bias_floor(bias_floor)  # uncomment when your function is ready

# %% [markdown]
# #### Solution


# %% jupyter={"source_hidden": true} tags=["solution"]
def bias_floor(std, width):
    """The fixed point of v -> q v + std^2: v = std^2 / (1 - q); for q >= 1 every layer adds, no floor."""
    q = width * std**2
    return math.inf if q >= 1 else std**2 / (1 - q)


check_bias_floor(bias_floor)
floor, reached = bias_floor(0.01, 256), curves["std 0.01"][hidden][-10:]
print(
    f"std 0.01, width 256: floor {floor:.3g}; the depth curve's last 10 hidden layers: {reached.min():.3g} to {reached.max():.3g}"
)
assert 0.5 < reached.mean() / floor < 2, "the depth curve should settle on the predicted floor"


# %% [markdown]
# ### Exercise 2: widths that change
# Real networks change width: 784 pixels → 2048 → 512 → 128 → 32 → 10 classes. Keep one
# `nn.init.normal_` per layer but choose its std: write `stds_for_widths(widths)`, one std per linear layer
# (layer $l$ maps `widths[l]` inputs to `widths[l + 1]` outputs), so that every layer keeps the variance of
# its input (identity activation, biases 0). Then check it on that network.


# %%
def stds_for_widths(widths):
    """One std per linear layer so that Var(output) = Var(input) in every layer."""
    raise NotImplementedError("your answer here")


# check_width_schedule_stds(stds_for_widths)  # uncomment when your function is ready

# %% [markdown]
# #### Solution


# %% jupyter={"source_hidden": true} tags=["solution"]
def stds_for_widths(widths):
    """Each output sums d_x = widths[l] products: d_x std^2 = 1 (the layer's inputs, not its outputs)."""
    return [1 / math.sqrt(d_x) for d_x in widths[:-1]]


check_width_schedule_stds(stds_for_widths)
widths = [784, 2048, 512, 128, 32, 10]
set_seed(42)
schedule_model = BaseNetwork("identity", hidden_sizes=widths[1:-1])
with torch.no_grad():
    for layer, std in zip(linear_layers(schedule_model), stds_for_widths(widths), strict=True):
        torch.nn.init.normal_(layer.weight, 0.0, std)
        torch.nn.init.zeros_(layer.bias)
schedule_acts = activations_by_layer(schedule_model, imgs)
print_variances(schedule_acts, "Activation")
schedule_var = variances(schedule_acts)
assert all(0.5 < v < 2 for v in list(schedule_var.values())[:-1]), (
    "every hidden layer should stay near variance 1"
)
