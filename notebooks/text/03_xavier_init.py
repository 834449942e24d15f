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
# # 03 · Equal-variance and Xavier initialization
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/courseware-dl/init-optim-course/blob/main/notebooks/03_xavier_init.ipynb)
#
# Notebook 02 showed that one standard deviation for every layer makes the signal vanish or explode,
# and that the right std must depend on the layer's width. Here we derive it:
#
# 1. **Equal-variance initialization**: from the variance of a sum of products, $\mathrm{Var}(w) = 1/d_x$
#    keeps the activations' variance constant through a linear network.
# 2. **The backward pass** asks for $1/d_y$ instead; **Xavier (Glorot) initialization** takes the
#    compromise $\mathrm{Var}(w) = 2/(d_x + d_y)$, usually drawn from a uniform distribution.
# 3. What changes with a **tanh** activation, and how the hand-written Xavier compares with
#    `torch.nn.init.xavier_uniform_`.
#
# Notebook 04 then adapts the argument to ReLU (Kaiming initialization).

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
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib_inline.backend_inline import set_matplotlib_formats
from torch import nn

from utils import set_seed, torch_generator
from utils.data import FASHION_MNIST_MEAN, FASHION_MNIST_STD, fashion_mnist_tensors
from utils.exercises.init import check_backward_ratio, check_conv_fans
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
from utils.plotting import PALETTE, plot_distributions, set_course_style
from utils.variance_depth import plot_variance_vs_depth

set_matplotlib_formats("png")
set_course_style()
set_seed(42)

# %% [markdown]
# The same fixed batch of 1024 standardized training images as in notebook 02:

# %%
(train_imgs, train_labels), _, _ = fashion_mnist_tensors()
imgs, labels = train_imgs[:1024], train_labels[:1024]
print(f"batch {tuple(imgs.shape)}: pixel mean {imgs.mean():.3f}, pixel variance {imgs.var():.3f}")

# %% [markdown]
# ## The forward pass: $\mathrm{Var}(w) = 1/d_x$
# Take one output of a linear layer with $d_x$ inputs, biases at 0:
#
# $$y_i = \sum_{j=1}^{d_x} w_{ij}\, x_j .$$
#
# Assume the weights are independent of each other and of the inputs, and have mean 0 (they are drawn
# centred). For two independent variables
#
# $$\mathrm{Var}(w x) = \mathbb{E}[w^2]\,\mathbb{E}[x^2] - \mathbb{E}[w]^2\,\mathbb{E}[x]^2
# = \mathrm{Var}(w)\,\mathrm{Var}(x) + \mathrm{Var}(w)\,\mathbb{E}[x]^2 + \mathbb{E}[w]^2\,\mathrm{Var}(x),$$
#
# which with $\mathbb{E}[w] = 0$ is $\mathrm{Var}(w)\,\mathbb{E}[x^2]$, and with centred inputs too just
# $\mathrm{Var}(w)\,\mathrm{Var}(x)$: the **product-variance rule**. Our standardized inputs are centred
# only pooled over all pixels (single pixels keep means from $-0.81$ to $+0.99$, notebook 01), and pooled
# their mean square $\mathbb{E}[x^2]$ is 1, which is what the rule needs. The
# terms $w_{ij} x_j$ of the sum are uncorrelated (neighbouring pixels $x_j$ are correlated, but each term
# carries its own independent zero-mean weight), and the variance of a sum of uncorrelated terms is the
# sum of their variances, so
#
# $$\mathrm{Var}(y_i) = d_x\, \mathrm{Var}(w)\, \mathrm{Var}(x)
# \qquad\Longrightarrow\qquad \mathrm{Var}(y) = \mathrm{Var}(x) \iff \mathrm{Var}(w) = \frac{1}{d_x}$$
#
# for centred inputs ($\mathbb{E}[x^2]$ in place of $\mathrm{Var}(x)$ otherwise). This is LeCun et al.'s
# (1998, "Efficient BackProp") rule. Two checks on real pixels with one 784 → 512 layer: raw pixels in
# $[0, 1]$ (mean 0.29, not centred) should give $d_x \mathrm{Var}(w)\,\mathbb{E}[x^2]$, not
# $d_x \mathrm{Var}(w)\,\mathrm{Var}(x)$ (the mean term matters; it will again in notebook 04, where
# ReLU outputs are never centred). And only the variance of the weights enters, not the shape of their
# distribution: uniform weights of the same variance should give the same output variance as normal ones.

# %%
raw_pixels = (imgs * FASHION_MNIST_STD + FASHION_MNIST_MEAN).flatten(1)  # undo notebook 01's Normalize
generator = torch_generator(0)
normal_w = torch.randn(512, 784, generator=generator) / math.sqrt(784)
uniform_w = (torch.rand(512, 784, generator=generator) * 2 - 1) * math.sqrt(3 / 784)  # Var = a^2/3 = 1/784
mean_square, variance = raw_pixels.pow(2).mean().item(), raw_pixels.var().item()
out_normal, out_uniform = (raw_pixels @ normal_w.T).var().item(), (raw_pixels @ uniform_w.T).var().item()
print(
    f"raw pixels: E[x^2] = {mean_square:.3f}, Var(x) = {variance:.3f}; output variance with N(0, 1/784) "
    f"weights {out_normal:.3f}, with uniform weights of the same variance {out_uniform:.3f}"
)
assert abs(out_normal / mean_square - 1) < 0.25, "the output variance should be d_x Var(w) E[x^2]"
assert out_normal / variance > 1.3, "the zero-mean rule d_x Var(w) Var(x) should miss the mean term"
assert abs(out_uniform / out_normal - 1) < 0.25, "only the weights' variance should matter, not their shape"


# %% [markdown]
# Now the initialization itself: weights $\mathcal{N}(0, 1/d_x)$, biases 0. Each layer gets its own std,
# $1/\sqrt{d_x}$.


# %%
def equal_var_init(model):
    """Weights ~ N(0, 1/d_x), biases 0: the forward pass keeps the variance (identity activation)."""
    with torch.no_grad():
        for layer in linear_layers(model):
            d_x = layer.in_features
            layer.weight.normal_(0.0, 1 / math.sqrt(d_x))
            if layer.bias is not None:
                layer.bias.zero_()


# %% alt=["Histograms of the weights per layer with equal variance 1/d_x: bell curves that widen in the later layers, which have fewer inputs.", "Histograms of the activations per layer with equal variance 1/d_x: all about the same bell curve, the variance staying near 1 in every layer."]
set_seed(42)
equal_model = BaseNetwork("identity")
equal_var_init(equal_model)
plot_distributions(
    with_widths(weights_by_layer(equal_model), equal_model), "Weights, equal variance 1/d_x", xlabel="weight"
)
plt.show()
equal_acts = activations_by_layer(equal_model, imgs)
plot_distributions(
    with_widths(equal_acts, equal_model), "Activations, equal variance 1/d_x", xlabel="activation"
)
plt.show()
print_variances(equal_acts, "Activation")

# %% [markdown]
# On the common axis the first layer's weights are the narrowest ($d_x = 784$), the last ones the widest
# ($d_x = 128$), and the activations keep a variance close to 1 all the way through (printed above; between
# 0.5 and 2 in every layer whatever the seed). The output layer's variance, pooled over only ten units,
# scatters most from seed to seed.

# %%
equal_var = variances(equal_acts)
assert all(0.5 < v < 2 for v in equal_var.values()), (
    f"equal variance should keep every layer near 1, got {equal_var}"
)
print("Equal-variance init: every layer's activation variance stays between 0.5 and 2.")

# %% [markdown]
# ## The backward pass: $\mathrm{Var}(w) = 1/d_y$
# Backpropagation runs the same layer in reverse. The gradient with respect to an input sums over the
# $d_y$ outputs that input feeds:
#
# $$\frac{\partial L}{\partial x_j} = \sum_{i=1}^{d_y} w_{ij}\, \frac{\partial L}{\partial y_i}
# \qquad\Longrightarrow\qquad
# \mathrm{Var}\!\left(\frac{\partial L}{\partial x}\right) = d_y\, \mathrm{Var}(w)\,
# \mathrm{Var}\!\left(\frac{\partial L}{\partial y}\right),$$
#
# so the gradients keep their variance only if $\mathrm{Var}(w) = 1/d_y$. Both conditions hold at once
# only when $d_x = d_y$. Equal-variance init satisfies the forward one. What it does to the backward
# signal $\partial L/\partial y$ at each layer's output (`output_gradients_by_layer`): every layer but the
# first multiplies it by $d_y\,\mathrm{Var}(w) = d_y/d_x$ on its way back, below 1 wherever the network
# narrows (10/128 in the last layer).


# %%
def backward_report(model, scheme):
    """Backward-signal variance at every linear layer's output, each step against d_y Var(w), and the
    whole way back (layer 0 over the last layer) against the product of those factors."""
    signal = variances(output_gradients_by_layer(model, imgs, labels))
    layers, names = linear_layers(model), list(signal)
    predicted_total = 1.0
    for k in range(len(names) - 1, 0, -1):
        factor = layers[k].out_features * layers[k].weight.var().item()
        predicted_total *= factor
        print(
            f"{scheme}, {names[k]} -> {names[k - 1]}: x{signal[names[k - 1]] / signal[names[k]]:.3f} "
            f"(d_y Var(w) = {factor:.3f})"
        )
    measured_total = signal[names[0]] / signal[names[-1]]
    print(
        f"{scheme}: layer 0 / layer 8 = {measured_total:.4f} (1/{1 / measured_total:.0f}); the product of "
        f"the d_y Var(w) factors predicts {predicted_total:.4f}"
    )
    return signal, measured_total, predicted_total


equal_signal, equal_total, equal_predicted = backward_report(equal_model, "equal variance")
assert 0.7 < equal_total / equal_predicted < 1.45, (
    "equal variance: the backward signal should follow the d_y/d_x rule"
)

# %% [markdown]
# The factors telescope: $\frac{10}{128}\cdot\frac{128}{256}\cdot\frac{256}{256}\cdot\frac{256}{512} = \frac{10}{512}$,
# so the signal reaching the first layer is about 50 times weaker than at the loss. The forward condition
# alone does not protect the backward pass.

# %% [markdown]
# ## Xavier (Glorot) initialization
# Glorot & Bengio (2010) take the **harmonic mean** of the two conditions $1/d_x$ and $1/d_y$:
#
# $$\mathrm{Var}(w) = \frac{2}{\dfrac{1}{1/d_x} + \dfrac{1}{1/d_y}} = \frac{2}{d_x + d_y}.$$
#
# They draw the weights from a uniform distribution; since only the variance enters (checked above), the
# choice of shape is free, and `nn.init.xavier_normal_` draws normal weights instead. $U(-a, a)$ has variance
# $\frac{1}{2a}\int_{-a}^{a} w^2\,dw = a^2/3$, so the bound that gives the Glorot variance is
#
# $$a = \sqrt{3 \cdot \frac{2}{d_x + d_y}} = \frac{\sqrt{6}}{\sqrt{d_x + d_y}}.$$


# %%
def xavier_init(model):
    """Glorot & Bengio (2010): weights ~ U(-a, a) with a = sqrt(6 / (d_x + d_y)), so that
    Var(w) = a^2 / 3 = 2 / (d_x + d_y), the harmonic mean of the forward (1/d_x) and backward (1/d_y)
    conditions; biases 0."""
    with torch.no_grad():
        for layer in linear_layers(model):
            d_x, d_y = layer.in_features, layer.out_features
            bound = math.sqrt(6 / (d_x + d_y))
            layer.weight.uniform_(-bound, bound)
            if layer.bias is not None:
                layer.bias.zero_()


# %% alt="Histograms of the weights per layer with Xavier uniform init: flat-topped distributions, each ending at its own bound, wider in the later, smaller layers."
set_seed(42)
xavier_model = BaseNetwork("identity")
xavier_init(xavier_model)
plot_distributions(
    with_widths(weights_by_layer(xavier_model), xavier_model), "Weights, Xavier uniform", xlabel="weight"
)
plt.show()

# %% [markdown]
# Flat-topped histograms, each ending at its own bound $a$. The backward signal (the figure counts linear
# layers 1 to 5 where the printouts say Layer 0 to Layer 8; the signal starts at the loss, on the right):

# %% alt="Backward-signal variance per linear layer, log scale, flowing from the loss on the right to the input on the left, equal variance against Xavier: Xavier loses less of the signal on the way back, keeping about 1/15 instead of 1/50."
xavier_signal, xavier_total, xavier_predicted = backward_report(xavier_model, "Xavier")
assert 0.7 < xavier_total / xavier_predicted < 1.45, (
    "Xavier: the backward signal should follow the d_y Var(w) rule"
)
assert xavier_total > 2 * equal_total, "Xavier should lose less of the backward signal than equal variance"
plot_variance_vs_depth(
    {
        "identity activation": {
            "equal variance": np.array(list(equal_signal.values())),
            "Xavier": np.array(list(xavier_signal.values())),
        }
    },
    ylabel="backward-signal variance\n(flows right to left)",
    goal=None,
)
plt.show()

# %% [markdown]
# Each narrowing layer now multiplies the backward signal by $\frac{2 d_y}{d_x+d_y}$ instead of $\frac{d_y}{d_x}$:
# the first layer gets about 1/15 of the signal at the loss instead of 1/50. Xavier pays for it in the
# forward pass: the activations now grow a little.

# %% alt="Histograms of the activations per layer with Xavier init and the identity activation: the spread grows a little from layer to layer, the variance rising from about 1.3 to about 3.6."
xavier_acts = activations_by_layer(xavier_model, imgs)
plot_distributions(
    with_widths(xavier_acts, xavier_model), "Activations, Xavier, identity activation", xlabel="activation"
)
plt.show()
print_variances(xavier_acts, "Activation")

# %% [markdown]
# No exponential drift, but the activation variance grows in every layer that narrows and stays about
# level in the square $256 \to 256$ layer, and the forward rule predicts by how much: a layer multiplies it
# by $d_x \cdot \frac{2}{d_x+d_y}$, which is 1 in a square layer and above 1 wherever the layer narrows
# ($d_y < d_x$), most of all in the last one, $128 \to 10$:

# %%
predicted = 1.0
for (name, measured), layer in zip(variances(xavier_acts).items(), linear_layers(xavier_model), strict=True):
    d_x, d_y = layer.in_features, layer.out_features
    factor = d_x * 2 / (d_x + d_y)
    predicted *= factor
    print(
        f"{name} ({d_x:3d} -> {d_y:3d}): factor {factor:.2f}, predicted variance {predicted:.2f}, measured {measured:.2f}"
    )
    # the 10-unit output layer scatters most (0.62 to 1.64 times the prediction over COURSE_SEED 1-30; hidden: 0.82-1.27)
    low, high = (0.4, 2.5) if d_y == 10 else (0.67, 1.5)
    assert low < measured / predicted < high, (
        f"{name}: measured {measured:.2f} is far from the predicted {predicted:.2f}"
    )

# %% [markdown]
# What about the weight gradients themselves? A weight's gradient multiplies the backward signal at its
# layer's output with the layer's input, $\partial L/\partial w_{ij} = \sum_{\text{batch}} \delta_i x_j$
# (notebook 02 checks that these two factors set its size). For both schemes the five layers'
# weight-gradient variances spread over a few tens (between 10 and 100 on any seed), largest in the last
# layer:

# %%
for scheme, model in [("equal variance", equal_model), ("Xavier", xavier_model)]:
    grad_var = variances(gradients_by_layer(model, imgs, labels))
    spread = max(grad_var.values()) / min(grad_var.values())
    print(
        f"{scheme}: weight-gradient variances {min(grad_var.values()):.2g} ... {max(grad_var.values()):.2g}, "
        f"spread {spread:.0f}x, largest in {max(grad_var, key=grad_var.get)}"
    )
    assert 10 < spread < 100, (
        f"{scheme}: the weight-gradient variances should spread over a few tens, got {spread:.0f}x"
    )
    assert max(grad_var, key=grad_var.get) == "Layer 8", (
        f"{scheme}: the last layer's gradients should be largest"
    )

# %% [markdown]
# ## Xavier with tanh
# Xavier was designed for activations like tanh, which are **linear around 0** ($\tanh y \approx y$) and
# odd (outputs stay centred). But $|\tanh y| < |y|$ for every $y \neq 0$, so $\mathbb{E}[\tanh(y)^2] <
# \mathrm{Var}(y)$: each tanh keeps only a share $\mathbb{E}[\tanh(y)^2]/\mathrm{Var}(y)$ of its input's
# variance, a smaller one the larger its inputs (tanh bends from $|y| \approx 1$ on and
# saturates beyond $|y| \approx 2$). The next linear layer then multiplies what is left by its forward
# factor $d_x\mathrm{Var}(w)$. The figure shows the linear layers' outputs, the inputs of each tanh.

# %% alt="Histograms of the linear-layer outputs before each tanh with Xavier init: the variance drops from about 1.3 in the first layer to between 0.25 and 0.6 in the later ones."
set_seed(42)
tanh_model = BaseNetwork("tanh")
xavier_init(tanh_model)
tanh_acts = activations_by_layer(tanh_model, imgs)
plot_distributions(
    with_widths(tanh_acts, tanh_model),
    "Linear-layer outputs (before tanh), Xavier",
    xlabel="linear-layer output",
)
plt.show()
print_variances(tanh_acts, "Linear-layer output")

# %% [markdown]
# The variance drops from 1.28 in the first layer to 0.29 by the third, then levels off (0.249 and 0.3,
# printed above). Is that because the inputs are now small enough for tanh to be nearly linear? The next
# cell splits every layer's change into its two factors: the share tanh keeps, computed exactly for
# Gaussian inputs of the measured variance (Gauss-Hermite quadrature) and measured on the batch, and the
# linear layer's factor. Their product predicts the next layer's variance. Then it removes one candidate
# cause: the same network with equal-variance init, whose linear factors are all 1.

# %%
NODES, NODE_WEIGHTS = np.polynomial.hermite_e.hermegauss(100)


def tanh_keeps(variance):
    """E[tanh(y)^2] / Var(y) for y ~ N(0, variance), by Gauss-Hermite quadrature (no sampling error)."""
    mean_square = np.sum(NODE_WEIGHTS * np.tanh(math.sqrt(variance) * NODES) ** 2) / math.sqrt(2 * math.pi)
    return float(mean_square) / variance


def tanh_report(model, scheme):
    """Each layer's variance predicted from the previous one: (share tanh keeps) x (d_x Var(w)).
    Returns the measured variances and the shares tanh kept on the batch."""
    acts = activations_by_layer(model, imgs)
    var, layers = variances(acts), linear_layers(model)
    names, kept = list(var), {}
    print(f"{scheme}: {names[0]} {var[names[0]]:.3f}")
    for k in range(1, len(names)):
        previous = acts[names[k - 1]].astype(np.float64)
        kept[names[k - 1]] = np.mean(np.tanh(previous) ** 2) / var[names[k - 1]]
        factor = layers[k].in_features * layers[k].weight.var().item()
        predicted = var[names[k - 1]] * tanh_keeps(var[names[k - 1]]) * factor
        print(
            f"  {names[k]}: tanh keeps {tanh_keeps(var[names[k - 1]]):.3f} (measured {kept[names[k - 1]]:.3f})"
            f" x linear factor {factor:.2f}: predicted {predicted:.3f}, measured {var[names[k]]:.3f}"
        )
        low, high = (0.4, 2.5) if layers[k].out_features == 10 else (0.75, 1.33)
        assert low < var[names[k]] / predicted < high, f"{scheme}, {names[k]}: off the prediction"
    return var, kept


tanh_var, tanh_kept = tanh_report(tanh_model, "Xavier")
set_seed(42)
ablation = BaseNetwork("tanh")
equal_var_init(ablation)
ablation_var, _ = tanh_report(ablation, "equal variance (every linear factor 1)")
assert all(tanh_kept[name] < 0.8 for name in ["Layer 4", "Layer 6"]), (
    f"tanh should still take a fifth or more of the variance where Xavier's curve levels off: {tanh_kept}"
)
hidden_steps = [ablation_var[f"Layer {k + 2}"] / ablation_var[f"Layer {k}"] for k in (0, 2, 4)]
assert all(step < 0.85 for step in hidden_steps), (
    f"with linear factors 1 every hidden layer should lose variance, got steps {hidden_steps}"
)

# %% [markdown]
# Where Xavier's curve levels off, tanh still keeps only about two thirds of the variance in each layer:
# its inputs are not in the nearly linear range. What stops the decay is Xavier's forward factor in the
# narrowing layers: in the first ones tanh takes more than the factor gives back (it keeps 0.344 of the
# first layer's variance), but from the third layer on the factors of $256 \to 128$ and $128 \to 10$
# (1.32 and 1.92 as drawn) slow the decay: the first gives back part of what tanh takes, the second on
# most seeds all of it. With every linear factor 1 the variance keeps
# falling in every hidden layer, and the same product predicts it. (In a deep network without narrowing
# layers Xavier's variance keeps shrinking; notebook 04's depth figure shows it. PyTorch's
# `calculate_gain('tanh')` is 5/3, a larger scale for tanh layers.)
#
# The backward signal pays too: each layer also multiplies it by tanh's slope, below 1, so the first
# layer gets less of it than in the identity network (the printed prediction is the identity network's,
# from $d_y\mathrm{Var}(w)$ alone), yet it still arrives:

# %%
assert tanh_var["Layer 0"] > 2 * tanh_var["Layer 4"], (
    f"tanh + Xavier: the variance should first decay, got {tanh_var}"
)
tanh_signal, tanh_total, _ = backward_report(tanh_model, "Xavier + tanh")
assert 1e-3 < tanh_total < xavier_total, (
    "tanh: the backward signal should shrink more than without tanh, not vanish"
)

# %% [markdown]
# ## Hand-written Xavier against `torch.nn.init.xavier_uniform_`
# PyTorch ships Xavier as `nn.init.xavier_uniform_(tensor, gain=1.0)` (bound $\text{gain}\cdot\sqrt{6/(d_x+d_y)}$)
# and `nn.init.xavier_normal_` (std $\text{gain}\cdot\sqrt{2/(d_x+d_y)}$). On one large layer, ours must
# give the Glorot bound and variance (the variance of 401,408 uniform draws has a relative standard error
# of $\sqrt{0.8/401408} \approx 0.14\,\%$; the assert allows 2 %, about 14 standard errors), and the
# figure compares its histogram with PyTorch's:

# %%
set_seed(0)
ours = nn.Linear(784, 512)
xavier_init(nn.Sequential(ours))
reference = torch.empty(512, 784)
nn.init.xavier_uniform_(reference)

bound, target = math.sqrt(6 / (784 + 512)), 2 / (784 + 512)
for name, weight in [("hand-written", ours.weight.detach()), ("torch.nn.init", reference)]:
    print(
        f"{name:>13}: Var(w) = {weight.var():.3e} (2/(d_x+d_y) = {target:.3e}), "
        f"max |w| = {weight.abs().max():.4f} (bound {bound:.4f})"
    )
hand_written = ours.weight.detach()
print(
    f"relative standard error of the sample variance: sqrt(0.8 / {hand_written.numel():,}) = "
    f"{math.sqrt(0.8 / hand_written.numel()):.2%}"
)
assert abs(hand_written.var() / target - 1) < 0.02, (
    "hand-written: variance off the Glorot value by more than 2 %"
)
assert bound * 0.99 < hand_written.abs().max() <= bound, (
    "hand-written: the weights should fill U(-a, a) up to a"
)

# %% alt="Density histogram of the weights of a 784 to 512 layer from the hand-written xavier_init and from torch's xavier_uniform_, with the uniform density drawn as a line: the two histograms coincide and both are flat at that density."
fig, ax = plt.subplots(figsize=(9, 4.5))
bins = np.linspace(-bound, bound, 41)
ax.hist(
    ours.weight.detach().flatten().numpy(),
    bins=bins,
    density=True,
    alpha=0.6,
    label="hand-written xavier_init",
)
ax.hist(
    reference.flatten().numpy(),
    bins=bins,
    density=True,
    histtype="step",
    linewidth=2.5,
    color="black",
    label="nn.init.xavier_uniform_",
)
ax.axhline(1 / (2 * bound), color=PALETTE[3], linestyle="--", linewidth=2, label="density of U(-a, a)")
ax.set_xlabel("weight of a 784 → 512 layer")
ax.set_ylabel("density")
ax.set_ylim(0, 1.4 / (2 * bound))
ax.legend(fontsize=12, loc="upper center", ncol=3, bbox_to_anchor=(0.5, -0.2))
plt.show()


# %% [markdown]
# Same distribution. PyTorch's `gain` argument multiplies the bound (and the std) for a given activation;
# the values come from `nn.init.calculate_gain` (5/3 for tanh, $\sqrt 2$ for ReLU, which notebook 04
# derives).
#
# ## Summary
# * Product-variance rule: $\mathrm{Var}(y) = d_x \mathrm{Var}(w)\,\mathbb{E}[x^2]$ for centred weights
#   independent of the inputs, so $\mathrm{Var}(w) = 1/d_x$ keeps the forward variance (LeCun et al. 1998)
#   whatever the weights' distribution; the backward pass asks for $1/d_y$.
# * Xavier: $\mathrm{Var}(w) = 2/(d_x+d_y)$, uniform with bound $\sqrt{6}/\sqrt{d_x+d_y}$; activation
#   variances stay within small factors of 1 for identity and tanh networks, and the backward signal loses
#   less on its way to the first layer than with equal variance (about 1/15 against 1/50 here).
# * Each tanh keeps only the share $\mathbb{E}[\tanh(y)^2]/\mathrm{Var}(y)$ of its input's variance, still
#   about two thirds where the variance here levels off; there Xavier's factor in the narrowing layers makes
#   up for it, and with factors 1 the variance keeps falling.
# * To compare schemes, look at the backward signal $\partial L/\partial y$: the weight gradients mix it with
#   the layer's input and spread over a few tens with either scheme.
# * Both assume the activation is linear around 0 and keeps its outputs centred. ReLU does neither:
#   notebook 04.
#
# ## Exercises
# ### Exercise 1: fans of a convolution
# Xavier (and Kaiming) need the number of terms each output sums, $d_x$ ("fan-in"), and the number of
# outputs each input feeds, $d_y$ ("fan-out"). For an `nn.Conv2d(in_channels, out_channels, kernel_size)`
# each output value is a sum over a window of the input. Write `conv_fans(conv)` returning
# `(fan_in, fan_out)`, then use it to give a convolution with as many output as input channels Xavier's
# variance and check that its output keeps the input's variance (with fan-in ≠ fan-out it would not:
# Xavier's variance is then not $1/d_x$). (Don't call `nn.init`; `conv.weight` has shape `[out, in, kh, kw]`.)


# %%
def conv_fans(conv):
    """(fan_in, fan_out) of an nn.Conv2d: the d_x and d_y of the Xavier formula."""
    raise NotImplementedError("your answer here")


# check_conv_fans(conv_fans)  # uncomment when your function is ready

# %% [markdown]
# #### Solution


# %% jupyter={"source_hidden": true} tags=["solution"]
def conv_fans(conv):
    """An output sums in_channels * kh * kw products; an input feeds out_channels * kh * kw outputs."""
    out_channels, in_channels, kh, kw = conv.weight.shape
    return in_channels * kh * kw, out_channels * kh * kw


check_conv_fans(conv_fans)
set_seed(0)
conv = nn.Conv2d(16, 16, kernel_size=5, bias=False)  # fan_in = fan_out: Xavier = equal variance here
fan_in, fan_out = conv_fans(conv)
with torch.no_grad():
    conv.weight.uniform_(-math.sqrt(6 / (fan_in + fan_out)), math.sqrt(6 / (fan_in + fan_out)))
    feature_maps = torch.randn(64, 16, 28, 28, generator=torch_generator(1))
    out_var = conv(feature_maps).var().item()
print(
    f"fan_in = fan_out = {fan_in}; Var(output) = {out_var:.3f} for inputs of variance {feature_maps.var():.3f}"
)
assert 0.8 < out_var < 1.25, "with the conv's fans, Xavier should keep the variance near 1"


# %% [markdown]
# ### Exercise 2: where the backward signal goes
# In a linear network with Xavier init, write `backward_ratio(widths)`: the predicted variance of the
# backward signal $\partial L/\partial y$ at the first linear layer's output divided by that at the last
# one's, for layers mapping `widths[l]` to `widths[l + 1]`. Then measure it (`output_gradients_by_layer`)
# on a network that first narrows (784 → 64), then widens (64 → 256 → 1024) and narrows again (1024 → 10).


# %%
def backward_ratio(widths):
    """Var(dL/dy) at the first linear layer's output / at the last one's, Xavier init, identity activation."""
    raise NotImplementedError("your answer here")


# check_backward_ratio(backward_ratio)  # uncomment when your function is ready

# %% [markdown]
# #### Solution


# %% jupyter={"source_hidden": true} tags=["solution"]
def backward_ratio(widths):
    """Every layer after the first multiplies the signal by d_y Var(w) = 2 d_y / (d_x + d_y) on its way back."""
    return math.prod(2 * d_y / (d_x + d_y) for d_x, d_y in zip(widths[1:], widths[2:], strict=False))


check_backward_ratio(backward_ratio)
widths = [784, 64, 256, 1024, 10]
set_seed(42)
widening = BaseNetwork("identity", hidden_sizes=widths[1:-1])
xavier_init(widening)
signal = variances(output_gradients_by_layer(widening, imgs, labels))
measured = signal["Layer 0"] / signal[f"Layer {2 * (len(widths) - 2)}"]
print(f"widths {widths}: predicted {backward_ratio(widths):.4f}, measured {measured:.4f}")
assert 0.7 < measured / backward_ratio(widths) < 1.45, (
    "the measured backward signal should follow the prediction"
)
