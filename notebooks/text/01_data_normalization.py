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
# Every notebook of this course trains or inspects the same network on the same data:
# **Fashion-MNIST**, 70,000 grey 28×28 pictures of clothes in 10 classes. Before we talk about
# initialization or optimization, the inputs have to be in the shape that the mathematics of the later
# notebooks assumes: **zero mean and unit variance**.
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
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib_inline.backend_inline import set_matplotlib_formats
from torchvision import transforms

from utils import set_seed
from utils.data import (CLASS_NAMES, FASHION_MNIST_MEAN, FASHION_MNIST_STD, fashion_mnist_datasets,
                        fashion_mnist_tensors)
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
print(f"one image: shape {tuple(image.shape)}, dtype {image.dtype}, values in [{image.min():.1f}, {image.max():.1f}], "
      f"class {label} = {CLASS_NAMES[label]!r}")


# %%
def show_examples(dataset, rows=3, cols=8):
    """A grid of the first rows*cols images of `dataset`, each titled with its class name."""
    fig, axes = plt.subplots(rows, cols, figsize=(2.0 * cols, 2.3 * rows))
    for ax, (img, lbl) in zip(axes.flat, (dataset[i] for i in range(rows * cols))):
        ax.imshow(img.squeeze(0), cmap="gray_r")
        ax.set_title(CLASS_NAMES[lbl], fontsize=13)
        ax.axis("off")
    fig.tight_layout()
    return fig


show_examples(raw_train);

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
# 60,000 anyway, as is customary for this data set (the published constants 0.2861 and 0.3530 are theirs),
# because the 50,000 images of our training split give the same numbers to three decimals, as the cell shows.

# %%
# NBVAL_CHECK_OUTPUT
all_train_pixels = raw_train.dataset.data.float() / 255      # [60000, 28, 28], values in [0, 1]
split_pixels = all_train_pixels[raw_train.indices]           # our 50,000-image training split
print(f"all training images:  mean {all_train_pixels.mean():.5f}, std {all_train_pixels.std():.5f}")
print(f"50k training split:   mean {split_pixels.mean():.5f}, std {split_pixels.std():.5f}")
print(f"constants in utils:   mean {FASHION_MNIST_MEAN}, std {FASHION_MNIST_STD}")

# %%
assert abs(all_train_pixels.mean() - FASHION_MNIST_MEAN) < 1e-4, "the mean in utils.data does not match the data"
assert abs(all_train_pixels.std() - FASHION_MNIST_STD) < 1e-4, "the std in utils.data does not match the data"
# "Same to three decimals": the split's mean and std lie within half a unit of the third decimal.
for stat in (torch.mean, torch.std):
    assert abs(stat(split_pixels) - stat(all_train_pixels)) < 5e-4, f"the split changes the {stat.__name__} beyond 3 decimals"

# %% [markdown]
# From these two numbers we build the transform that every later notebook uses: `ToTensor()` scales to
# $[0, 1]$, then `Normalize(mean, std)` computes $(x - 0.2861) / 0.3530$ for every pixel.

# %%
normalize = transforms.Compose([transforms.ToTensor(), transforms.Normalize((FASHION_MNIST_MEAN,), (FASHION_MNIST_STD,))])
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
    print(f"{name:>11}: mean {batch.mean():+.3f}  std {batch.std():.3f}  min {batch.min():+.3f}  max {batch.max():+.3f}")

# %% [markdown]
# The batch now has mean ≈ 0 and standard deviation ≈ 1 (not exactly: it is one batch, not the whole
# training set). But the range is **not symmetric**: the minimum is $-0.810$ and the maximum $2.022$.
# That is no bug. The minimum is a background pixel (raw value 0), $(0 - 0.2861)/0.3530 = -0.810$; the
# maximum a pixel at full intensity (raw value 1), $(1 - 0.2861)/0.3530 = 2.022$. Because most pixels are
# background, the mean (0.2861) is much closer to 0 than to 1 in raw units: the background lands less than
# one standard deviation below the mean, and the brightest pixels two standard deviations above it.

# %%
expected_min = (0 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD
expected_max = (1 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD
assert abs(norm_batch.mean()) < 0.05 and abs(norm_batch.std() - 1) < 0.05, "a normalized batch should have mean ~0, std ~1"
assert abs(norm_batch.min() - expected_min) < 1e-3 and abs(norm_batch.max() - expected_max) < 1e-3, "min/max should be black and white pixels"
print(f"black pixel -> {expected_min:.3f}, white pixel -> {expected_max:.3f}")


# %% [markdown]
# The histograms show the same thing: a huge spike at the background value, and the clothes spread
# over the rest of the range. Normalization only **shifts and rescales** the axis; the shape of the
# distribution stays the same. (The y axis is logarithmic, otherwise the spike hides everything else.)

# %%
def plot_pixel_histograms(batches, colors=PALETTE[:2]):
    """Side-by-side pixel histograms (log counts) of named batches, with mean and std in the titles."""
    fig, axes = plt.subplots(1, len(batches), figsize=(7 * len(batches), 4.5))
    for ax, (name, batch), color in zip(axes, batches.items(), colors):
        ax.hist(batch.flatten().numpy(), bins=60, color=color, alpha=0.8)
        ax.set_yscale("log")
        ax.set_title(f"{name}\nmean {batch.mean():.2f}, std {batch.std():.2f}")
        ax.set_xlabel("pixel value")
        ax.set_ylabel("count (log scale)")
    fig.tight_layout()
    return fig


plot_pixel_histograms({"raw pixels in [0, 1]": raw_batch, "after Normalize(0.2861, 0.3530)": norm_batch});

# %% [markdown]
# ## 4. Why the next notebooks need this
#
# The initialization rules of notebooks 02–04 are derived for a linear layer $y = Wx$ whose inputs have
# **zero mean**. Then, with independent zero-mean weights of variance $\sigma_w^2$,
#
# $$\mathrm{Var}(y_i) = \sum_{j=1}^{d_x} \mathrm{Var}(w_{ij} x_j) = d_x\, \sigma_w^2\, \mathbb{E}[x_j^2]
# = d_x\, \sigma_w^2\, \big(\mathrm{Var}(x_j) + \mathbb{E}[x_j]^2\big).$$
#
# With $\sigma_w^2 = 1/d_x$ (notebook 03) the output variance equals $\mathbb{E}[x^2]$, which is 1 only
# if the inputs have mean 0 and variance 1. For raw pixels, $\mathbb{E}[x^2] = 0.2861^2 + 0.3530^2
# \approx 0.21$ (printed below, next to what one batch measures): the very first layer would already
# shrink the signal five-fold. Let us check it with one layer of 784 → 512 units.

# %%
print(f"raw pixels, from the constants: E[x^2] = mean^2 + std^2 = {FASHION_MNIST_MEAN**2 + FASHION_MNIST_STD**2:.2f}")
layer = torch.nn.Linear(784, 512, bias=False)
torch.nn.init.normal_(layer.weight, std=1 / np.sqrt(784))
with torch.no_grad():
    for name, batch in [("raw [0, 1]", raw_batch), ("normalized", norm_batch)]:
        x = batch.flatten(start_dim=1)
        print(f"{name:>11}: E[x^2] = {x.pow(2).mean():.3f}  ->  output variance {layer(x).var():.3f}")

# %%
with torch.no_grad():
    var_raw = layer(raw_batch.flatten(start_dim=1)).var().item()
    var_norm = layer(norm_batch.flatten(start_dim=1)).var().item()
assert var_raw < 0.35, "raw inputs should shrink the output variance well below 1"
assert 0.8 < var_norm < 1.25, "normalized inputs should keep the output variance near 1"

# %% [markdown]
# ## 5. The alternative: scaling to $[-1, 1]$
#
# Another common choice is `Normalize((0.5,), (0.5,))`, which maps $[0, 1]$ onto $[-1, 1]$ without
# looking at the data. It guarantees a symmetric, bounded range, which is why it is the usual choice
# when a network must **produce** images (a `tanh` output layer of a GAN or an autoencoder covers exactly
# $[-1, 1]$). But it does not give zero mean and unit variance:

# %%
# NBVAL_CHECK_OUTPUT
to_pm1 = (raw_batch - 0.5) / 0.5
print(f"scaled to [-1, 1]: mean {to_pm1.mean():+.3f}  std {to_pm1.std():.3f}  min {to_pm1.min():+.3f}  max {to_pm1.max():+.3f}"
      f"  E[x^2] {to_pm1.pow(2).mean():.2f}")

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
# (notebook 06) the course therefore normalizes each whole split once and keeps it as a tensor on the
# device: `fashion_mnist_tensors(device)`. It gives exactly the values of the transform above, for the
# same split.

# %%
(x_train, y_train), (x_val, y_val), (x_test, y_test) = fashion_mnist_tensors("cpu")
print(f"train {tuple(x_train.shape)}, validation {tuple(x_val.shape)}, test {tuple(x_test.shape)}")
max_diff = (x_train[:1024] - norm_batch).abs().max().item()
print(f"largest difference to the transformed batch: {max_diff:.1e}")
assert max_diff < 1e-5 and torch.equal(y_train[:5], torch.tensor([train_set[i][1] for i in range(5)])), \
    "the tensor path must reproduce the transform and the split"

# %% [markdown]
# ## Summary
#
# - Fashion-MNIST: 50,000 training / 10,000 validation (seeded split) / 10,000 test images.
# - Training pixels have mean $0.2861$ and standard deviation $0.3530$; `Normalize` with these numbers
#   gives inputs with mean ≈ 0 and variance ≈ 1, in the range $[-0.810, 2.022]$.
# - The variance rules of the next notebooks assume exactly that: with raw pixels the first layer's
#   output variance would be $\mathbb{E}[x^2] \approx 0.21$ instead of 1.
#
# **Next:** [02 · Constant and fixed-variance initialization](02_constant_and_fixed_variance_init.ipynb):
# what goes wrong when every weight starts the same, or with the wrong spread.
