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

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib_inline.backend_inline import set_matplotlib_formats
from torch import nn

from utils import set_seed
from utils.data import fashion_mnist_tensors
from utils.exercises.init import check_backward_std, check_xavier_uniform
from utils.init import linear_layers
from utils.models import BaseNetwork
from utils.plotting import (activations_by_layer, gradients_by_layer, plot_distributions, print_variances,
                            set_course_style, variances, weights_by_layer)

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
# Assume the weights are independent of each other and of the inputs, and that weights and inputs have
# mean 0 (the inputs are standardized; the weights are drawn centred). For two independent variables
#
# $$\mathrm{Var}(w x) = \mathbb{E}[w^2]\,\mathbb{E}[x^2] - \mathbb{E}[w]^2\,\mathbb{E}[x]^2
# = \mathrm{Var}(w)\,\mathrm{Var}(x) + \mathrm{Var}(w)\,\mathbb{E}[x]^2 + \mathbb{E}[w]^2\,\mathrm{Var}(x),$$
#
# which with zero means is just $\mathrm{Var}(w)\,\mathrm{Var}(x)$: the **product-variance rule**. The
# terms $w_{ij} x_j$ of the sum are uncorrelated (neighbouring pixels $x_j$ are correlated, but each term
# carries its own independent zero-mean weight), and the variance of a sum of uncorrelated terms is the
# sum of their variances, so
#
# $$\mathrm{Var}(y_i) = d_x\, \mathrm{Var}(w)\, \mathrm{Var}(x)
# \qquad\Longrightarrow\qquad \mathrm{Var}(y) = \mathrm{Var}(x) \iff \mathrm{Var}(w) = \frac{1}{d_x}.$$
#
# First a numerical check of the general product rule, with deliberately non-zero means (they will
# matter in notebook 04, where ReLU outputs are never centred):

# %%
torch.manual_seed(0)
w = 0.2 + 0.5 * torch.randn(1_000_000, dtype=torch.float64)
x = 1.0 + 2.0 * torch.randn(1_000_000, dtype=torch.float64)
rule = w.var() * x.var() + w.var() * x.mean() ** 2 + w.mean() ** 2 * x.var()
zero_mean_rule = w.var() * x.var()
print(f"Var(w x) measured {(w * x).var():.4f}, general rule {rule:.4f}, zero-mean rule alone {zero_mean_rule:.4f}")
assert abs((w * x).var() / rule - 1) < 0.02, "the product-variance rule should match the sample to 2 %"


# %% [markdown]
# The zero-mean rule alone misses the mean terms; with zero means it is exact. Now the initialization
# itself: weights $\mathcal{N}(0, 1/d_x)$, biases 0. Each layer gets its own std, $1/\sqrt{d_x}$.

# %%
def equal_var_init(model):
    """Weights ~ N(0, 1/d_x), biases 0: the forward pass keeps the variance (identity activation)."""
    with torch.no_grad():
        for layer in linear_layers(model):
            d_x = layer.in_features
            layer.weight.normal_(0.0, 1 / math.sqrt(d_x))
            if layer.bias is not None:
                layer.bias.zero_()


# %%
set_seed(42)
equal_model = BaseNetwork("identity")
equal_var_init(equal_model)
plot_distributions(weights_by_layer(equal_model), "Weights, equal variance 1/d_x", color="C2", xlabel="weight")
plt.show()
equal_acts = activations_by_layer(equal_model, imgs)
plot_distributions(equal_acts, "Activations, equal variance 1/d_x", color="C1", xlabel="activation")
plt.show()
print_variances(equal_acts, "Activation")

# %% [markdown]
# The first layer's weights are the narrowest ($d_x = 784$), the last ones the widest ($d_x = 128$), and the
# activations keep a variance close to 1 all the way through (the course's reference run: 1.01, 1.07,
# 1.13, 1.13, 1.05). The output layer scatters most: its variance rests on only ten random weight vectors.

# %%
equal_var = variances(equal_acts)
assert all(0.5 < v < 2 for v in equal_var.values()), f"equal variance should keep every layer near 1, got {equal_var}"
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
# only when $d_x = d_y$. Equal-variance init satisfies the forward one; its gradient variances:

# %%
equal_grads = gradients_by_layer(equal_model, imgs, labels)
print_variances(equal_grads, "Gradient")
equal_grad_var = variances(equal_grads)
assert equal_grad_var["Layer 8"] > 10 * equal_grad_var["Layer 0"], "equal variance: gradients should shrink >10x towards the input"


# %% [markdown]
# Going backwards from the loss, each layer multiplies the gradient variance by
# $d_y\,\mathrm{Var}(w) = d_y/d_x$, below 1 in every layer that narrows (10/128 in the last one): the
# gradients reaching the first layer are about 50 times smaller than those of the last. The forward
# condition alone does not protect the backward pass.

# %% [markdown]
# ## Xavier (Glorot) initialization
# Glorot & Bengio (2010) take the **harmonic mean** of the two conditions $1/d_x$ and $1/d_y$:
#
# $$\mathrm{Var}(w) = \frac{2}{\dfrac{1}{1/d_x} + \dfrac{1}{1/d_y}} = \frac{2}{d_x + d_y}.$$
#
# They draw the weights from a uniform distribution. $U(-a, a)$ has variance
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


# %%
set_seed(42)
xavier_model = BaseNetwork("identity")
xavier_init(xavier_model)
plot_distributions(weights_by_layer(xavier_model), "Weights, Xavier uniform", color="C2", xlabel="weight")
plt.show()

# %% [markdown]
# Flat-topped histograms, each bounded by its own $a$. The gradients:

# %%
xavier_grads = gradients_by_layer(xavier_model, imgs, labels)
plot_distributions(xavier_grads, "Weight gradients, Xavier, identity activation", color="C0", xlabel="gradient")
plt.show()
print_variances(xavier_grads, "Gradient")

# %% [markdown]
# And the activations:

# %%
xavier_acts = activations_by_layer(xavier_model, imgs)
plot_distributions(xavier_acts, "Activations, Xavier, identity activation", color="C1", xlabel="activation")
plt.show()
print_variances(xavier_acts, "Activation")

# %% [markdown]
# No more exponential drift: the activation variances stay within a small factor of 1, and the gradient
# variances of the five layers within a factor of about 40 of each other (reference run: gradients
# 4.0e-4 … 1.25e-2, activations 1.22, 1.58, 1.54, 2.02, 2.69). The activation variance does grow a little, and the
# forward rule predicts by how much: a layer multiplies it by $d_x \cdot \frac{2}{d_x+d_y}$, which is above 1
# wherever the layer narrows ($d_y < d_x$), most of all in the last one, $128 \to 10$:

# %%
predicted = 1.0
for (name, measured), layer in zip(variances(xavier_acts).items(), linear_layers(xavier_model)):
    d_x, d_y = layer.in_features, layer.out_features
    factor = d_x * 2 / (d_x + d_y)
    predicted *= factor
    print(f"{name} ({d_x:3d} -> {d_y:3d}): factor {factor:.2f}, predicted variance {predicted:.2f}, measured {measured:.2f}")
    assert 0.67 < measured / predicted < 1.5, f"{name}: measured {measured:.2f} is far from the predicted {predicted:.2f}"

# %%
xavier_grad_var = variances(xavier_grads)
assert xavier_grad_var["Layer 8"] > xavier_grad_var["Layer 0"], "Xavier: the last layer's gradients should be the largest"
assert max(xavier_grad_var.values()) / min(xavier_grad_var.values()) < 1e3, "Xavier: gradient variances within 3 decades"
print("Xavier: activations and gradients stay within small factors; the narrowing 128 -> 10 layer is the largest.")

# %% [markdown]
# ## Xavier with tanh
# Xavier was designed for activations like tanh, which are **linear around 0** ($\tanh y \approx y$) and
# odd (outputs stay centred), so the derivation holds as long as the activations are not too large. But
# $|\tanh y| < |y|$ for every $y \neq 0$, so $\mathbb{E}[\tanh(y)^2] < \mathrm{Var}(y)$, and by a lot once
# $|y|$ reaches the saturated range near $\pm 1$ and beyond: each layer loses variance, quickly while the
# values are large, then only a little once they are small enough for tanh to be nearly linear.

# %%
set_seed(42)
tanh_model = BaseNetwork("tanh")
xavier_init(tanh_model)
tanh_grads = gradients_by_layer(tanh_model, imgs, labels)
plot_distributions(tanh_grads, "Weight gradients, Xavier, tanh", color="C0", xlabel="gradient")
plt.show()
print_variances(tanh_grads, "Gradient")
tanh_acts = activations_by_layer(tanh_model, imgs)
plot_distributions(tanh_acts, "Activations, Xavier, tanh", color="C1", xlabel="activation")
plt.show()
print_variances(tanh_acts, "Activation")

# %% [markdown]
# The variance drops from about 1.2 to about 0.25 and then levels off (reference run: 1.20, 0.59, 0.30,
# 0.25, 0.27). That is harmless: the network is in tanh's linear range, nothing is saturated and the
# gradients flow. (Over many more layers the variance keeps shrinking slowly, roughly like 1/depth
# rather than exponentially; notebook 04's depth figure shows it. PyTorch's recommended gain of 5/3 for
# tanh layers counters this shrinking.)

# %%
tanh_var = list(variances(tanh_acts).values())
assert tanh_var[0] > 2 * tanh_var[2], f"tanh + Xavier: the variance should first decay, got {tanh_var}"
assert all(0.1 < v < 0.6 for v in tanh_var[2:]), f"tanh + Xavier: later layers should settle near 0.25, got {tanh_var}"
print("tanh + Xavier: decays, then settles in tanh's linear range.")

# %% [markdown]
# ## Hand-written Xavier against `torch.nn.init.xavier_uniform_`
# PyTorch ships Xavier as `nn.init.xavier_uniform_(tensor, gain=1.0)` (bound $\text{gain}\cdot\sqrt{6/(d_x+d_y)}$)
# and `nn.init.xavier_normal_` (std $\text{gain}\cdot\sqrt{2/(d_x+d_y)}$). On one large layer, both
# versions must give the same bound and the same variance:

# %%
set_seed(0)
ours = nn.Linear(784, 512)
xavier_init(nn.Sequential(ours))
reference = torch.empty(512, 784)
nn.init.xavier_uniform_(reference)

bound, target = math.sqrt(6 / (784 + 512)), 2 / (784 + 512)
for name, weight in [("hand-written", ours.weight.detach()), ("torch.nn.init", reference)]:
    print(f"{name:>13}: Var(w) = {weight.var():.3e} (2/(d_x+d_y) = {target:.3e}), "
          f"max |w| = {weight.abs().max():.4f} (bound {bound:.4f})")
    assert abs(weight.var() / target - 1) < 0.02, f"{name}: variance off the Glorot value by more than 2 %"
    assert bound * 0.99 < weight.abs().max() <= bound, f"{name}: the weights should fill U(-a, a) up to a"

# %%
fig, ax = plt.subplots(figsize=(9, 4.5))
bins = np.linspace(-bound, bound, 41)
ax.hist(ours.weight.detach().flatten().numpy(), bins=bins, density=True, alpha=0.6, label="hand-written xavier_init")
ax.hist(reference.flatten().numpy(), bins=bins, density=True, histtype="step", linewidth=2.5, color="black",
        label="nn.init.xavier_uniform_")
ax.axhline(1 / (2 * bound), color="C3", linestyle="--", linewidth=2, label="density of U(-a, a)")
ax.set_xlabel("weight of a 784 → 512 layer")
ax.set_ylabel("density")
ax.set_ylim(0, 1.4 / (2 * bound))
ax.legend(fontsize=12, loc="upper center", ncol=3, bbox_to_anchor=(0.5, -0.2))
plt.show()


# %% [markdown]
# Same distribution. PyTorch's `gain` argument exists for activations that are not linear around 0; the
# values come from `nn.init.calculate_gain`, which notebook 04 derives for ReLU.
#
# ## Summary
# * Product-variance rule: $\mathrm{Var}(y) = d_x \mathrm{Var}(w)\mathrm{Var}(x)$ for centred, independent
#   weights and inputs, so $\mathrm{Var}(w) = 1/d_x$ keeps the forward variance; the backward pass asks
#   for $1/d_y$.
# * Xavier: $\mathrm{Var}(w) = 2/(d_x+d_y)$, uniform with bound $\sqrt{6}/\sqrt{d_x+d_y}$; variances stay
#   within small factors of 1 for identity and tanh networks.
# * Both assume the activation is linear around 0 and keeps its outputs centred. ReLU does neither:
#   notebook 04.
#
# ## Exercises
# ### Exercise 1: Xavier-uniform by hand
# Write `my_xavier_uniform_(weight)` that fills an `nn.Linear` weight (shape $[d_y, d_x]$) **in place**
# with Glorot's uniform distribution. Don't call `nn.init`.

# %%
def my_xavier_uniform_(weight):
    """Fill `weight` ([d_y, d_x]) in place with U(-a, a), a = sqrt(6 / (d_x + d_y))."""
    raise NotImplementedError("your answer here")


# check_xavier_uniform(my_xavier_uniform_)  # uncomment when your function is ready

# %% [markdown]
# #### Solution

# %% jupyter={"source_hidden": true} tags=["solution"]
def my_xavier_uniform_(weight):
    """U(-a, a) has variance a^2 / 3; a = sqrt(6 / (d_x + d_y)) makes it 2 / (d_x + d_y)."""
    d_y, d_x = weight.shape
    bound = math.sqrt(6 / (d_x + d_y))
    with torch.no_grad():
        return weight.uniform_(-bound, bound)


check_xavier_uniform(my_xavier_uniform_);


# %% [markdown]
# ### Exercise 2: the backward condition
# Write `backward_std(weight_shape)`: the std of centred normal weights that keeps the **gradient's**
# variance the same from a layer's output to its input. `weight_shape` is the shape of `nn.Linear.weight`.
# Careful which dimension is which.

# %%
def backward_std(weight_shape):
    """Std that keeps Var(dL/dx) = Var(dL/dy) for a weight of shape weight_shape = [d_y, d_x]."""
    raise NotImplementedError("your answer here")


# check_backward_std(backward_std)  # uncomment when your function is ready

# %% [markdown]
# #### Solution

# %% jupyter={"source_hidden": true} tags=["solution"]
def backward_std(weight_shape):
    """dL/dx = W^T dL/dy sums over the d_y outputs: d_y Var(w) = 1."""
    d_y, d_x = weight_shape
    return 1 / math.sqrt(d_y)


check_backward_std(backward_std);
