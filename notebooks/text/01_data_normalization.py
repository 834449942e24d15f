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
# # 01 · Data normalization
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/courseware-dl/init-optim-course/blob/main/notebooks/01_data_normalization.ipynb)
#
# Most notebooks of this course train or inspect networks on the same data: **Fashion-MNIST**, 70,000
# grey 28×28 pictures of clothes in 10 classes (07, 08 and 11 study small functions of two weights
# instead, and 09 a small regression network on synthetic data). Before we talk about initialization or optimization, the
# inputs have to be in the shape that the mathematics of the later notebooks assumes: a **mean square
# of 1**, which standardizing to zero mean and unit variance gives.
#
# In this notebook you will
# 1. load Fashion-MNIST with torchvision and look at it,
# 2. compute the mean and standard deviation of the training pixels and build a `Normalize` transform,
# 3. check what the transform does to a batch (and why its minimum and maximum are not symmetric),
# 4. see, with one linear layer, why the initialization notebooks (02–04) depend on this step,
# 5. compare with the other common choice, scaling to $[-1, 1]$.
#
# **How to use the course.** Run the cells from top to bottom. Every claim in the text is followed by a
# cell that shows it; short `assert`s check the key ones, so if something in your set-up differs you
# find out at once. The outputs are stored, so you can also just read.

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
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib_inline.backend_inline import set_matplotlib_formats
from torchvision import transforms

from utils import set_seed
from utils.data import (
    CLASS_NAMES,
    FASHION_MNIST_MEAN,
    FASHION_MNIST_STD,
    fashion_mnist_datasets,
    fashion_mnist_tensors,
)
from utils.plotting import PALETTE, set_course_style

set_matplotlib_formats("png")
set_course_style()
set_seed(42)

# %% [markdown]
# ## 1. The data set
#
# `fashion_mnist_datasets` wraps torchvision's `FashionMNIST`. It looks for the files in a fixed order:
# already in `data/`, then a local copy (a folder named by `$FASHION_MNIST_DIR`, or Debian's package
# `dataset-fashion-mnist`), then torchvision's download. If none works, you get one error message that
# names the three ways to fix it.
#
# The 60,000 training images are split into **50,000 for training and 10,000 for validation** with a
# fixed seed, so every notebook (and every student) sees the same split. The 10,000 test images are kept
# apart for the final evaluation in notebook 06.
#
# For now we ask for the raw pixels, only converted to tensors in $[0, 1]$ by `ToTensor()`.

# %%
raw_train, raw_val, raw_test = fashion_mnist_datasets(transform=transforms.ToTensor())
print(f"train {len(raw_train):,} | validation {len(raw_val):,} | test {len(raw_test):,} images")
image, label = raw_train[0]
print(
    f"one image: shape {tuple(image.shape)}, dtype {image.dtype}, values in [{image.min():.1f}, {image.max():.1f}], "
    f"class {label} = {CLASS_NAMES[label]!r}"
)


# %% alt="A grid of 24 Fashion-MNIST training images, each titled with its class, such as ankle boot, pullover, sandal, trouser and bag: dark clothing items on a large plain background."
def show_examples(dataset, rows=3, cols=8):
    """A grid of the first rows*cols images of `dataset`, each titled with its class name."""
    fig, axes = plt.subplots(rows, cols, figsize=(2.0 * cols, 2.3 * rows))
    for ax, (img, lbl) in zip(axes.flat, (dataset[i] for i in range(rows * cols))):
        ax.imshow(img.squeeze(0), cmap="gray_r")
        ax.set_title(CLASS_NAMES[lbl], fontsize=13)
        ax.axis("off")
    fig.tight_layout()
    return fig


fig = show_examples(raw_train)

# %% [markdown]
# Note the large background around every object. In the files it is black (value 0); the reversed grey
# map `gray_r` used here draws 0 as white and 1 as black. It will matter in a moment.
#
# ## 2. Mean and standard deviation of the training pixels
#
# Standardizing means $\hat x = (x - \mu) / \sigma$, with $\mu$ and $\sigma$ the mean and standard
# deviation of **all training pixels** (one value each, since the images have one channel). We compute
# them from the training images: the test images must not influence anything we fit, not even the
# preprocessing.
#
# The dataset keeps all 60,000 training images in one `uint8` tensor, so this is one line (no loop over
# a data loader needed). Strictly, our 10,000 validation images are among those 60,000. We use all
# 60,000 anyway, as is customary for this data set: the constants 0.2861 and 0.3530 stored in `utils.data`
# lie within $10^{-4}$ of their mean 0.28604 and standard deviation 0.35302 (the cells below print all
# four and assert that), and the 50,000 images of our training split give the same numbers to three
# decimals.

# %%
# NBVAL_CHECK_OUTPUT
all_train_pixels = raw_train.dataset.data.float() / 255  # [60000, 28, 28], values in [0, 1]
split_pixels = all_train_pixels[raw_train.indices]  # our 50,000-image training split
print(f"all training images:  mean {all_train_pixels.mean():.5f}, std {all_train_pixels.std():.5f}")
print(f"50k training split:   mean {split_pixels.mean():.5f}, std {split_pixels.std():.5f}")
print(f"constants in utils:   mean {FASHION_MNIST_MEAN}, std {FASHION_MNIST_STD}")

# %%
assert abs(all_train_pixels.mean() - FASHION_MNIST_MEAN) < 1e-4, (
    "the mean in utils.data does not match the data"
)
assert abs(all_train_pixels.std() - FASHION_MNIST_STD) < 1e-4, "the std in utils.data does not match the data"
# "Same to three decimals": the split's mean and std lie within half a unit of the third decimal.
for stat in (torch.mean, torch.std):
    assert abs(stat(split_pixels) - stat(all_train_pixels)) < 5e-4, (
        f"the split changes the {stat.__name__} beyond 3 decimals"
    )

# %% [markdown]
# From these two numbers we build the transform that every later notebook uses: `ToTensor()` scales to
# $[0, 1]$, then `Normalize(mean, std)` computes $(x - 0.2861) / 0.3530$ for every pixel.

# %%
normalize = transforms.Compose(
    [transforms.ToTensor(), transforms.Normalize((FASHION_MNIST_MEAN,), (FASHION_MNIST_STD,))]
)
train_set, val_set, test_set = fashion_mnist_datasets(transform=normalize)
normalize


# %% [markdown]
# ## 3. One batch after the transform
#
# We take a batch of 1,024 training images (the same batch size the diagnostics of notebooks 02–04
# use) and look at its statistics.


# %%
# NBVAL_CHECK_OUTPUT
def batch_of(dataset, size=1024):
    """The first `size` images of `dataset` stacked into one tensor."""
    return torch.stack([dataset[i][0] for i in range(size)])


raw_batch, norm_batch = batch_of(raw_train), batch_of(train_set)
for name, batch in [("raw [0, 1]", raw_batch), ("normalized", norm_batch)]:
    print(
        f"{name:>11}: mean {batch.mean():+.3f}  std {batch.std():.3f}  min {batch.min():+.3f}  max {batch.max():+.3f}"
    )

# %% [markdown]
# The batch now has mean ≈ 0 and standard deviation ≈ 1 (not exactly: it is one batch, not the whole
# training set). But the range is **not symmetric**: the minimum is $-0.810$ and the maximum $2.022$.
# That is no bug. The minimum is a background pixel (raw value 0), $(0 - 0.2861)/0.3530 = -0.810$; the
# maximum a pixel at full intensity (raw value 1), $(1 - 0.2861)/0.3530 = 2.022$. The mean (0.2861) is much
# closer to 0 than to 1 in raw units, so the background lands less than one standard deviation below the
# mean and the brightest pixels two above it. What pulls the mean down is the background: half the
# pixels are exactly 0. Leave them out and the mean of the remaining pixels is above the middle of
# $[0, 1]$ (the next cell measures both).

# %%
# NBVAL_CHECK_OUTPUT
expected_min = (0 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD
expected_max = (1 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD
print(f"black pixel -> {expected_min:.3f}, white pixel -> {expected_max:.3f}")
background = all_train_pixels == 0
object_mean = all_train_pixels[~background].mean().item()
print(
    f"background (exactly 0): {background.float().mean():.1%} of the training pixels; "
    f"mean of the other pixels {object_mean:.3f}, of all pixels {all_train_pixels.mean():.3f}"
)
assert abs(norm_batch.mean()) < 0.05 and abs(norm_batch.std() - 1) < 0.05, (
    "a normalized batch should have mean ~0, std ~1"
)
assert 0.45 < background.float().mean() < 0.55, "about half the pixels should be background"
assert object_mean > 0.5 > all_train_pixels.mean(), (
    "without the background the mean should move above the middle"
)


# %% [markdown]
# The histograms show the same thing: a huge spike at the background value, and the clothes spread
# over the rest of the range. Normalization only **shifts and rescales** the axis; the shape of the
# distribution stays the same. (The y axis is logarithmic, otherwise the spike hides everything else. Each
# bar holds exactly four of the 256 grey levels, so no bar gets more levels than its neighbours.)


# %% alt="Log-scale histograms of pixel values, raw in [0, 1] and after normalizing with mean 0.2861 and std 0.3530: the same shape, a huge spike at the background value and a broad spread, only shifted and rescaled to mean 0 and std 1."
def plot_pixel_histograms(batches, colors=PALETTE[:2]):
    """Side-by-side pixel histograms (log counts) of named batches, with mean and std in the titles.
    `batches` maps a name to (batch, (shift, scale)), the affine map from raw [0, 1] values: the bin
    edges lie halfway between grey levels (4 levels per bin), so the bins do not alias the 256 levels."""
    raw_edges = (np.arange(0, 257, 4) - 0.5) / 255
    fig, axes = plt.subplots(1, len(batches), figsize=(7 * len(batches), 4.5))
    for ax, (name, (batch, (shift, scale))), color in zip(axes, batches.items(), colors):
        ax.hist(batch.flatten().numpy(), bins=(raw_edges - shift) / scale, color=color, alpha=0.8)
        ax.set_yscale("log")
        ax.set_title(f"{name}\nmean {batch.mean():.2f}, std {batch.std():.2f}")
        ax.set_xlabel("pixel value")
        ax.set_ylabel("count (log scale)")
    fig.tight_layout()
    return fig


fig = plot_pixel_histograms(
    {
        "raw pixels in [0, 1]": (raw_batch, (0, 1)),
        "after Normalize(0.2861, 0.3530)": (norm_batch, (FASHION_MNIST_MEAN, FASHION_MNIST_STD)),
    }
)

# %% [markdown]
# ## 4. Why the next notebooks need this
#
# The initialization rules of notebooks 02–04 are derived for a linear layer $y = Wx$. With independent
# zero-mean weights of variance $\sigma_w^2$ (independent of the inputs),
#
# $$\mathrm{Var}(y_i) = \sum_{j=1}^{d_x} \mathrm{Var}(w_{ij} x_j) = d_x\, \sigma_w^2\, \mathbb{E}[x_j^2]
# = d_x\, \sigma_w^2\, \big(\mathrm{Var}(x_j) + \mathbb{E}[x_j]^2\big).$$
#
# With $\sigma_w^2 = 1/d_x$ (notebook 03) the output variance equals the inputs' mean square
# $\mathbb{E}[x^2] = \mathrm{Var}(x) + \mathbb{E}[x]^2$. What the rule needs is $\mathbb{E}[x^2] = 1$: mean 0
# and variance 1 is one way to get it, not the only one (dividing the raw pixels by their root mean square
# works too, as the next cell shows). Here "variance" and "mean" are pooled over all images and all 784
# pixels, which is what the layer's output variance, also pooled, depends on. For raw pixels,
# $\mathbb{E}[x^2] = 0.2861^2 + 0.3530^2 \approx 0.21$ (printed below, next to what one batch measures):
# the very first layer would already shrink the signal five-fold. Let us check it with one layer of
# 784 → 512 units.

# %%
print(
    f"raw pixels, from the constants: E[x^2] = mean^2 + std^2 = {FASHION_MNIST_MEAN**2 + FASHION_MNIST_STD**2:.2f}"
)
layer = torch.nn.Linear(784, 512, bias=False)
torch.nn.init.normal_(layer.weight, std=1 / np.sqrt(784))
raw_rms = raw_batch.pow(2).mean().sqrt()
inputs = {"raw [0, 1]": raw_batch, "normalized": norm_batch, "raw / rms": raw_batch / raw_rms}
out_var = {}
with torch.no_grad():
    for name, batch in inputs.items():
        x = batch.flatten(start_dim=1)
        out_var[name] = layer(x).var().item()
        print(
            f"{name:>11}: mean {x.mean():+.3f}, E[x^2] = {x.pow(2).mean():.3f}  ->  output variance {out_var[name]:.3f}"
        )

# %%
assert out_var["raw [0, 1]"] < 0.35, "raw inputs should shrink the output variance well below 1"
assert 0.8 < out_var["normalized"] < 1.25, "normalized inputs should keep the output variance near 1"
assert 0.8 < out_var["raw / rms"] < 1.25, "a mean square of 1 should be enough, even with a mean of 0.29"

# %% [markdown]
# So for keeping the variance, centring is not needed. Two more facts about what standardizing with one
# mean and one standard deviation does and does not give:
#
# * It centres the pixels **pooled**, not each pixel: a pixel that is background in almost every image
#   keeps a negative mean, a pixel in the middle of the picture a positive one (the next cell prints the
#   range of the 784 per-pixel means). "Inputs with mean 0" in the later notebooks means the pooled mean.
# * Centring has a second motivation, for optimization rather than for the variance: LeCun et al. (1998,
#   "Efficient BackProp") argue that inputs of one sign make all the weight updates of a unit share a
#   sign, which slows training. This course does not test that argument: what this section shows is only
#   that centring is not needed for the variance.

# %%
# NBVAL_CHECK_OUTPUT
pixel_means = ((all_train_pixels - FASHION_MNIST_MEAN) / FASHION_MNIST_STD).mean(dim=0)
print(
    f"per-pixel means after Normalize: from {pixel_means.min():+.2f} to {pixel_means.max():+.2f} "
    f"(pooled mean {pixel_means.mean():+.4f})"
)
assert pixel_means.min() < -0.5 and pixel_means.max() > 0.5, "single pixels should keep means far from 0"

# %% [markdown]
# ## 5. The alternative: scaling to $[-1, 1]$
#
# Another common choice is `Normalize((0.5,), (0.5,))`, which maps $[0, 1]$ onto $[-1, 1]$ without
# looking at the data. It gives a symmetric, bounded range, the range a `tanh` output layer covers, and it
# is common when a network must **produce** images (GANs, autoencoders). But it does not give zero mean
# and unit variance:

# %%
# NBVAL_CHECK_OUTPUT
to_pm1 = (raw_batch - 0.5) / 0.5
print(
    f"scaled to [-1, 1]: mean {to_pm1.mean():+.3f}  std {to_pm1.std():.3f}  min {to_pm1.min():+.3f}  max {to_pm1.max():+.3f}"
    f"  E[x^2] {to_pm1.pow(2).mean():.2f}"
)

# %% [markdown]
# With mean $-0.422$ and standard deviation $0.712$, $\mathbb{E}[x^2] = \text{mean}^2 + \text{std}^2$ is
# about two thirds (printed above), so the variance arithmetic above would be off by a third. Rules of thumb:
#
# | scaling | what it guarantees | typical use |
# |---|---|---|
# | standardize with data statistics | mean 0, variance 1 on the training set | classifiers; whenever the init math should hold (this course) |
# | fixed $[-1, 1]$ | bounded, symmetric range | generative models with `tanh` outputs; quick baselines |
# | statistics of a pretrained model | matches what the model was trained on | fine-tuning (e.g. ImageNet's per-channel mean/std) |
#
# ## 6. The fast path used from notebook 06 on
#
# A transform applied image by image costs Python work for every sample of every epoch. For training
# (notebook 06) the course instead normalizes each whole split once and keeps it as a tensor on the
# device: `fashion_mnist_tensors(device)`. It gives exactly the values of the transform above, for the
# same split; the cell also times one batch of 1,024 images both ways.

# %%
(x_train, y_train), (x_val, y_val), (x_test, y_test) = fashion_mnist_tensors("cpu")
print(f"train {tuple(x_train.shape)}, validation {tuple(x_val.shape)}, test {tuple(x_test.shape)}")
max_diff = (x_train[:1024] - norm_batch).abs().max().item()
print(f"largest difference to the transformed batch: {max_diff:.1e}")
start = time.perf_counter()
batch_of(train_set)
per_image_s = time.perf_counter() - start
start = time.perf_counter()
x_train[:1024].clone()
tensor_s = time.perf_counter() - start
print(
    f"one batch of 1,024: {per_image_s * 1e3:.0f} ms through the transform, {tensor_s * 1e3:.2f} ms as a tensor slice"
)
assert per_image_s > 10 * tensor_s, "the per-image transform should cost far more than slicing a tensor"
assert max_diff < 1e-5 and torch.equal(y_train[:5], torch.tensor([train_set[i][1] for i in range(5)])), (
    "the tensor path must reproduce the transform and the split"
)

# %% [markdown]
# ## Summary
#
# - Fashion-MNIST: 50,000 training / 10,000 validation (seeded split) / 10,000 test images.
# - Training pixels have mean $0.28604$ and standard deviation $0.35302$ (stored as 0.2861 and 0.3530);
#   `Normalize` with these numbers gives inputs with pooled mean ≈ 0 and variance ≈ 1, in the range
#   $[-0.810, 2.022]$; single pixels keep means from $-0.81$ to $+0.99$.
# - The variance rules of the next notebooks need a mean square $\mathbb{E}[x^2]$ of 1: with raw pixels
#   the first layer's output variance would be $\mathbb{E}[x^2] \approx 0.21$ instead of 1; for the
#   variance, raw pixels divided by their root mean square work as well as standardized ones (whether
#   centring helps training is not tested here).
#
# **Next:** [02 · Constant and fixed-variance initialization](02_constant_and_fixed_variance_init.ipynb):
# what goes wrong when every weight starts the same, or with the wrong spread.
