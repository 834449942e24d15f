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
# Set-up: make the course's helper package `utils` importable.
# Locally, `pip install -r requirements.txt` installed it; in Colab (or any bare kernel) fetch it.
import importlib.util
import subprocess
import sys

COURSE_REPO = "courseware-dl/init-optim-course"
if importlib.util.find_spec("utils") is None:
    subprocess.run(["git", "clone", "--quiet", "--depth=1", f"https://github.com/{COURSE_REPO}.git", "course"], check=True)
    sys.path.insert(0, "course")

# %% [markdown]
# ## Set-up
# The helper package `utils` holds what every notebook shares: the data, the course network and the
# plots of per-layer distributions.

# %%
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib_inline.backend_inline import set_matplotlib_formats

from utils import set_seed
from utils.data import fashion_mnist_tensors
from utils.depth import plot_variance_vs_depth, variance_by_depth
from utils.exercises.init import check_identity_std, check_predicted_variance
from utils.init import linear_layers
from utils.models import BaseNetwork
from utils.plotting import (activations_by_layer, gradients_by_layer, plot_distributions, print_variances,
                            set_course_style, variances, weights_by_layer)

set_matplotlib_formats("png")
set_course_style()
set_seed(42)

# %% [markdown]
# All diagnostics of notebooks 02–04 use **one fixed batch of 1024 training images**, standardized as in
# notebook 01, so that the numbers of different initializations can be compared directly.

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
# Each panel is one linear layer; its title carries the variance.

# %%
set_seed(42)
const_model = BaseNetwork("identity")
const_init(const_model, fill=0.005)
const_grads = gradients_by_layer(const_model, imgs, labels)
plot_distributions(const_grads, "Weight gradients, constant init 0.005", color="C0", xlabel="gradient")
plt.show()
print_variances(const_grads, "Gradient")

# %% [markdown]
# The hidden layers 2, 4 and 6 receive **a single gradient value** for all of their weights: a histogram
# with one bar, variance 0. The reason is symmetry. With equal weights, every unit of a layer computes
# the same output, so every unit sends back the same error, and unit $i$'s gradient for input $j$,
# $\partial L/\partial w_{ij} = \sum_{\text{batch}} \delta_i\, x_j$, is the same number for every $i$ and
# (in the hidden layers, whose inputs $x_j$ are themselves clones) for every $j$. Layer 0 sees different
# pixels $x_j$, but its 512 units still get identical gradient *rows*.
#
# At this very first step the common value is even **zero**. The ten output units are clones too, so all
# ten logits are equal and the softmax gives $p_k = 0.1$ for every class. The error sent back into the
# network is $\sum_k w_{kj}\,(p_k - y_k) = 0.005 \sum_k (p_k - y_k) = 0$, because both $p$ and the
# one-hot $y$ sum to 1. What the panels show for layers 0–6 ($10^{-10}$ and less, note the axis labels) is
# float32 rounding of that 0; only the output layer 8 gets a real gradient. After its first update the ten
# output units differ, and from then on the hidden layers receive non-zero gradients, still one value per
# layer.

# %%
for name in ["Layer 2", "Layer 4", "Layer 6"]:
    g = const_grads[name]
    assert np.ptp(g) <= 1e-6 * np.abs(g).max(), f"{name}: gradients spread over {np.ptp(g):.3g}, expected one value"
rows = const_grads["Layer 0"].reshape(const_model.layers[0].weight.shape)  # one row per unit
assert (rows == rows[:1]).all(), "Layer 0: the 512 units should receive identical gradient rows"
print("Layers 2, 4, 6: one gradient value each; layer 0: 512 identical gradient rows.")

# %% [markdown]
# Identical gradients mean identical updates, so the symmetry is **never broken**: after any number of
# training steps the units of a layer are still clones, and a layer of 256 units is worth one unit.
# Ten steps of plain gradient descent (on 256 of the images, to be quick) confirm it: every layer moves
# away from 0.005, yet the rows of each weight matrix (one row per unit) stay equal.

# %%
optimizer = torch.optim.SGD(const_model.parameters(), lr=0.01)
for step in range(10):
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(const_model(imgs[:256]), labels[:256]).backward()
    optimizer.step()

for i in (0, 2, 4, 6):
    weight = const_model.layers[i].weight.detach()
    moved = (weight - 0.005).abs().max().item()
    spread = (weight - weight[:1]).abs().max().item() / weight.abs().max().item()
    print(f"Layer {i}: weights moved by up to {moved:.1e}; its {weight.shape[0]} weight rows (units) differ "
          f"by at most {spread:.1e} of the largest weight")
    assert moved > 1e-5, f"Layer {i}: the weights should have been updated"
    assert spread < 1e-4, f"Layer {i}: the units should still be clones, rows differ by {spread:.2g}"

# %% [markdown]
# The activations tell the same story: every unit of a layer outputs the same value for a given image.
# And since nothing controls the scale, the variance drifts from layer to layer (the course's reference run:
# 2.06, 13.5, 22.1, 36.2, 14.8).

# %%
set_seed(42)
const_init(const_model, fill=0.005)  # undo the 10 training steps
const_acts = activations_by_layer(const_model, imgs)
plot_distributions(const_acts, "Activations, constant init 0.005", color="C1", xlabel="activation")
plt.show()
print_variances(const_acts, "Activation")

# %%
for i in (0, 2, 4, 6):
    per_unit = const_acts[f"Layer {i}"].reshape(len(imgs), -1)  # [image, unit]
    assert np.allclose(per_unit, per_unit[:, :1]), f"Layer {i}: the units should output the same value per image"
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

# %%
set_seed(42)
small_model = BaseNetwork("identity")
var_init(small_model, std=0.01)
plot_distributions(weights_by_layer(small_model), "Weights, std 0.01", color="C2", xlabel="weight")
plt.show()

# %%
small_acts = activations_by_layer(small_model, imgs)
plot_distributions(small_acts, "Activations, std 0.01", color="C1", xlabel="activation")
plt.show()
print_variances(small_acts, "Activation")

# %% [markdown]
# The activation variance collapses by orders of magnitude within five layers. A rough count explains it
# (notebook 03 derives it properly): an output $y_i = \sum_{j=1}^{d_x} w_{ij} x_j + b_i$ sums $d_x$ products
# of independent zero-mean terms, so
#
# $$\mathrm{Var}(y) = d_x\, \sigma^2\, \mathrm{Var}(x) + \sigma^2 .$$
#
# Each layer multiplies the variance by $d_x \sigma^2$: $784 \cdot 10^{-4} = 0.078$, then
# $512 \cdot 10^{-4} = 0.05$, then $0.026$... until only the biases' own variance $\sigma^2 = 10^{-4}$ is
# left. The network's output is then almost pure bias noise: it has forgotten its input (in layer 8 the
# histogram is ten spikes, one per output unit: its ten bias values). The rule predicts the measured numbers
# (in layer 8 only roughly: a variance made of just ten random biases scatters a lot around $\sigma^2$):

# %%
std, predicted_var = 0.01, imgs.var().item()
for (name, measured), layer in zip(variances(small_acts).items(), linear_layers(small_model)):
    predicted_var = layer.in_features * std**2 * predicted_var + std**2
    print(f"{name}: predicted {predicted_var:9.3g}   measured {measured:9.3g}")

# %%
small_var = variances(small_acts)
assert small_var["Layer 8"] < 1e-2 * small_var["Layer 0"], "std 0.01: the last layer's variance should be orders of magnitude below the first's"
assert small_var["Layer 2"] < 0.1 * small_var["Layer 0"], "std 0.01: the variance should already shrink >10x by layer 2"
print(f"std 0.01: variance falls {small_var['Layer 0'] / small_var['Layer 8']:.0f}-fold from layer 0 to layer 8.")

# %% [markdown]
# The gradients are tiny too, and they shrink from the last layer towards the first: going backwards they
# are multiplied by the same small weights, and each weight's gradient is also proportional to its
# (vanishing) input.

# %%
small_grads = gradients_by_layer(small_model, imgs, labels)
print_variances(small_grads, "Gradient")

# %% [markdown]
# ### $\sigma = 0.1$: the signal explodes
# Ten times larger, and the factor per layer $d_x \sigma^2$ is now above 1 ($7.8$, $5.1$, $2.6$, $2.6$,
# $1.3$): the variance grows with every layer. The gradients (printed after the activations) are about
# $10^8$ times those at $\sigma = 0.01$. They are largest in the last layer: a weight's gradient is
# proportional to its input, and the last layers' inputs are the exploded activations.

# %%
set_seed(42)
large_model = BaseNetwork("identity")
var_init(large_model, std=0.1)
large_acts = activations_by_layer(large_model, imgs)
plot_distributions(large_acts, "Activations, std 0.1", color="C3", xlabel="activation")
plt.show()
print_variances(large_acts, "Activation")
print_variances(gradients_by_layer(large_model, imgs, labels), "Gradient")

# %%
large_var = list(variances(large_acts).values())
assert all(b > a for a, b in zip(large_var, large_var[1:])), f"std 0.1: the variance should grow every layer, got {large_var}"
assert large_var[-1] > 10 * large_var[0], "std 0.1: the last layer's variance should be >10x the first's"
print(f"std 0.1: variance grows {large_var[-1] / large_var[0]:.0f}-fold from layer 0 to layer 8.")

# %% [markdown]
# ## Variance against depth
# Five layers hide how fast this goes. In a deeper network of width $d$ every hidden layer multiplies the
# variance by the same factor $q = d\,\sigma^2$, so after $L$ layers it is $q^L$: a **straight line on a
# log axis**, falling for $q<1$, rising for $q>1$, flat only for $q = 1$, i.e. $\sigma = 1/\sqrt{d}$.
#
# Below: 30 hidden layers of width 256 (plus the first layer from 784 pixels and the last to 10 classes),
# 256 images, three values of $\sigma$. The dashed line is the goal, variance 1.

# %%
depth_imgs = imgs[:256]


def std_curves(stds, depth=30, width=256):
    """Activation variance at every linear layer of a deep linear network, one curve per std."""
    return {f"std {std:.3g}": variance_by_depth(lambda model: var_init(model, std), "identity", depth_imgs,
                                                depth, width) for std in stds}


curves = std_curves([0.01, 1 / 16, 0.1])
plot_variance_vs_depth({"identity activation, width 256": curves})
plt.show()

# %% [markdown]
# * $\sigma = 0.1$: $q = 2.56$, the variance grows $10^{12}$-fold over 30 layers.
# * $\sigma = 0.01$: $q = 0.0256$; it crashes within a few layers onto the floor $\sigma^2 = 10^{-4}$ set by the
#   biases. Everything the input contributed is gone.
# * $\sigma = 1/16 = 1/\sqrt{256}$: $q = 1$, flat. Only the first layer jumps (it has $d_x = 784$ inputs,
#   not 256): **one $\sigma$ for all layers cannot work when the widths differ**. The std must depend on
#   the layer's width; that is notebook 03.

# %%
hidden = slice(1, -1)  # skip the first layer (784 inputs) and the last (10 outputs)
assert curves["std 0.1"][-2] > 1e8 * curves["std 0.1"][1], "std 0.1 should explode exponentially with depth"
assert curves["std 0.01"][-2] < 1e-2 * curves["std 0.01"][0], "std 0.01 should vanish onto the bias floor"
flat = curves["std 0.0625"][hidden]
assert flat.max() / flat.min() < 10, f"std 1/sqrt(256) should keep the hidden variance flat, spread {flat.max() / flat.min():.1f}x"
print("Explodes at std 0.1, vanishes at std 0.01, flat at std 1/sqrt(width).")


# %% [markdown]
# ### Try it yourself
# Move the sliders: the std (log scale) and the number of hidden layers. Every redraw builds a fresh
# seeded network (under a second on a laptop). Where the widgets do not run (GitHub, nbviewer), the
# figure above is the default view: $\sigma = 1/16$, 30 layers, with the two failing stds for reference.

# %%
def show_std(std=1 / 16, depth=30):
    """The depth figure for one std, next to the two failing ones for reference."""
    curves = std_curves(sorted({0.01, std, 0.1}), depth)
    plot_variance_vs_depth({f"identity activation, width 256, {depth} hidden layers": curves})
    plt.show()


widgets.interact(
    show_std,
    std=widgets.FloatLogSlider(value=1 / 16, base=10, min=-2.5, max=-0.5, step=0.05, continuous_update=False),
    depth=widgets.IntSlider(value=30, min=5, max=50, step=5, continuous_update=False),
);


# %% [markdown]
# ## Summary
# * Constant initialization keeps all units of a layer identical forever: no learning of distinct features.
# * A fixed std scales the variance by $d_x\sigma^2$ per layer: exponential vanishing ($\sigma = 0.01$) or
#   explosion ($\sigma = 0.1$), in the activations and in the gradients.
# * The right std depends on the layer's width. Notebook 03 derives it: $\mathrm{Var}(w) = 1/d_x$.
#
# ## Exercises
# ### Exercise 1: the std that keeps the variance
# For a linear layer with $d$ inputs (identity activation, biases 0) and inputs of variance 1, which std
# of $\mathcal{N}(0, \sigma^2)$ weights keeps the output variance at 1? Write it as a function of $d$.

# %%
def std_for_width(d):
    """The std of N(0, std^2) weights that keeps Var(y) = Var(x) in a linear layer with d inputs."""
    raise NotImplementedError("your answer here")


# check_identity_std(std_for_width)  # uncomment when your function is ready

# %% [markdown]
# #### Solution

# %% jupyter={"source_hidden": true} tags=["solution"]
def std_for_width(d):
    """d * std^2 = 1 keeps Var(y) = d * std^2 * Var(x) equal to Var(x)."""
    return 1 / math.sqrt(d)


check_identity_std(std_for_width);


# %% [markdown]
# ### Exercise 2: predict the depth curve
# Write `predict_variance(std, width, depth, input_var)`: the variance after `depth` linear layers of
# width `width` (weights $\mathcal{N}(0, \sigma^2)$, biases 0, identity activation) when the input has
# variance `input_var`. How many layers does $\sigma = 0.1$ need at width 256 to reach $10^{12}$?

# %%
def predict_variance(std, width, depth, input_var=1.0):
    """Variance after `depth` linear layers of `width` inputs each, weights N(0, std^2), no biases."""
    raise NotImplementedError("your answer here")


# check_predicted_variance(predict_variance)  # uncomment when your function is ready

# %% [markdown]
# #### Solution

# %% jupyter={"source_hidden": true} tags=["solution"]
def predict_variance(std, width, depth, input_var=1.0):
    """Each layer multiplies the variance by width * std^2."""
    return input_var * (width * std**2) ** depth


check_predicted_variance(predict_variance)
layers_needed = math.ceil(math.log(1e12) / math.log(256 * 0.1**2))
print(f"std 0.1, width 256: variance 1e12 after {layers_needed} layers")
