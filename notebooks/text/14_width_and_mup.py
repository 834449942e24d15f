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
# # 14 · Width and the maximal update parametrization (muP)
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/courseware-dl/init-optim-course/blob/main/notebooks/14_width_and_mup.ipynb)
#
# You tuned a learning rate on a small network. You make it wider, and the rate that was best is now too
# large. Why, and can the network be written so that the best rate **stays put** as it grows? That is the
# question of the *maximal update parametrization*, muP (Yang & Hu 2021; Yang et al., *Tensor Programs V*,
# 2022), and the reason large models are tuned on small copies of themselves. In this notebook you will:
#
# 1. run a **coordinate check**: train networks of width 64 to 2048 a few Adam steps and watch the size of
#    their outputs: it grows with the width in the standard parametrization and stays flat under muP;
# 2. find the **mechanism**: an Adam step has entries of size lr whatever the width, and it is aligned
#    with the input it multiplies, so its effect grows like the width (an ablation that flips the step's
#    signs at random, keeping their size, removes the alignment and halves the growth exponent);
# 3. derive muP's rules from one condition on **spectral norms** (Yang, Simon & Bernstein 2023), the same
#    condition that gives notebooks 03/04's $\mathrm{Var}(w) = 1/d_{\text{in}}$, and write muP by hand as
#    Adam parameter groups (the tests check it against Microsoft's `mup` package);
# 4. see **learning-rate transfer** on Fashion-MNIST: widths 64 to 1024, 7 rates, 3 seeds, a study
#    stored in `saved_models/studies/mup_transfer.json` (made by `python -m utils.width`); one column of
#    it is rerun live;
# 5. look at the **caveats**: what muP does not promise, and what breaks it.
#
# Everything runs live in well under a minute except the stored study.

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
import inspect
import math

import matplotlib.pyplot as plt
import matplotlib.ticker as ticker
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from matplotlib_inline.backend_inline import set_matplotlib_formats

from utils import set_seed, torch_generator
from utils.data import fashion_mnist_tensors
from utils.exercises.width import check_mup_adam
from utils.plotting import set_course_style
from utils.width import (
    LAYERS,
    builder,
    coord_check,
    load_study,
    lr_multipliers,
    make_adam,
    make_model,
    run_column,
    spectral_norms,
    subsets,
    update_effect,
)

set_matplotlib_formats("png")
set_course_style()
torch.set_num_threads(1)  # small networks: one thread is as fast, and immune to busy neighbours
set_seed(0)
COLORS = sns.color_palette("colorblind")
STYLE = {
    "SP": {"ls": "--", "marker": "s"},
    "muP": {"ls": "-", "marker": "o"},
}  # SP dashed squares, muP solid dots


def log_axes(ax, widths):
    """Log-log axes with the widths as x ticks and plain numbers (1, 2, 5, 10, ...) on the y axis."""
    ax.set(xscale="log", yscale="log", xlabel="width n")
    ax.set_xticks(widths, [str(w) for w in widths])
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
    ax.yaxis.set_minor_locator(ticker.NullLocator())


# %% [markdown]
# ## The network and its two parametrizations
#
# One family of networks, $784 \to n \to n \to 10$ with ReLU and no biases (the MLP of the `mup`
# package's demo), whose **width** $n$ we vary. It has three kinds of layer: the *input* layer
# ($n \times 784$: its fan-in is fixed, its fan-out grows), the *hidden* layer ($n \times n$: both grow)
# and the *readout* ($10 \times n$: its fan-in grows). Two ways to scale it with $n$, which agree exactly
# at the **base width** $n_0 = 64$; write $m = n / n_0$ for the width multiplier:
#
# * **SP**, the standard parametrization: PyTorch's default init, $\mathrm{Var}(w) = 1/(3\,d_{\text{in}})$
#   (notebook 04's rule up to its gain), and one Adam learning rate for every layer.
# * **muP**: the same init for the input and hidden layers, the readout's weights divided by $\sqrt m$,
#   and Adam's rate divided by $m$ for the hidden layer and the readout. Section 3 derives these rules.
#
# The code is `utils/width.py`; here are its two functions that make the difference:

# %%
print(inspect.getsource(make_model))
print(inspect.getsource(lr_multipliers))

# %% [markdown]
# A batch of 64 training images to measure on, drawn at random:

# %%
(x_train, y_train), _, _ = fashion_mnist_tensors()
pick = torch.randperm(len(x_train), generator=torch_generator(0))[:64]
xb, yb = x_train[pick], y_train[pick]
WIDTHS = [64, 128, 256, 512, 1024, 2048]
LR = 2.0**-7
print(f"batch {tuple(xb.shape)}; widths {WIDTHS}; Adam, lr = 2^-7 = {LR:.4g}")

# %% [markdown]
# ## 1 · The coordinate check
#
# Train a network of each width for a few Adam steps on this batch, at one learning rate, and measure the
# typical size of one coordinate, mean $|x|$, of every layer's output after each step. A good
# parametrization makes these sizes independent of the width: then a rate that works at one width does the
# same thing at every width. The `mup` package ships a tool for this check (`mup.coord_check`).

# %% alt="Coordinate check: mean output size per layer against width, at init and after Adam steps 1 to 3, SP versus muP: after one step SP's hidden and readout outputs grow with the width, muP's stay flat."
STEPS = 3
checks = {p: coord_check(builder(p, LR), WIDTHS, xb, yb, steps=STEPS) for p in ("SP", "muP")}

fig, axes = plt.subplots(1, 3, figsize=(18, 5.5), sharex=True)
for ax, layer in zip(axes, LAYERS):
    for p, check in checks.items():
        for step in range(STEPS + 1):
            ax.plot(
                WIDTHS,
                [check[w][step][layer] for w in WIDTHS],
                color=COLORS[step],
                **STYLE[p],
                label=f"{p}, {'init' if step == 0 else f'after step {step}'}",
            )
    log_axes(ax, WIDTHS)
    ax.set_title(f"{layer} layer's output")
axes[0].set_ylabel("mean |x| of one coordinate")
axes[2].legend(fontsize=11, ncol=2, loc="upper left")
fig.suptitle("Coordinate check: Adam at lr = 2^-7 (SP dashed squares, muP solid dots)", y=1.02)
plt.show()


# %%
def growth(check, layer, step):
    """How many times larger the layer's output is at the widest width than at the narrowest."""
    return check[WIDTHS[-1]][step][layer] / check[WIDTHS[0]][step][layer]


table = pd.DataFrame(
    {
        f"{p}, {layer}": [growth(checks[p], layer, s) for s in range(STEPS + 1)]
        for p in checks
        for layer in LAYERS
    },
    index=["init"] + [f"after step {s}" for s in range(1, STEPS + 1)],
)
print(f"mean |x| at width {WIDTHS[-1]} / at width {WIDTHS[0]} ({WIDTHS[-1] // WIDTHS[0]} times wider):")
print(table.round(2).to_string())
assert growth(checks["SP"], "readout", 1) > 8 and growth(checks["SP"], "hidden", 1) > 3, (
    "under SP one Adam step should blow up the outputs of the wide network"
)
assert all(0.3 < growth(checks["muP"], layer, s) < 3 for layer in LAYERS for s in range(2, STEPS + 1)), (
    "under muP every layer's output should keep its size across widths once training has started"
)

# %% [markdown]
# At initialization both parametrizations are fine: every output has the same size at every width
# (notebooks 03/04 saw to that; muP's readout even starts smaller). **One** Adam step changes that under
# SP: the hidden layer's and the readout's outputs become larger the wider the network, by the factors
# printed above for 32 times the width. The factors change from seed to seed, and shrink over the next
# steps as Adam reacts to the huge outputs, but after the first step they are large on every seed (the
# assert's bounds hold with a wide margin over 20 seeds). Under muP the outputs stay within a small factor
# of the base width's values. So under SP a rate that suits width 64 moves the wide networks' outputs far
# more; section 4 shows what that does to real training (widths 64 to 1024).
#
# ## 2 · Why: the size of one update, per coordinate
#
# Take one layer with input $h \in \mathbb R^{n}$ (a row of the batch) and weights $W$. After a step $\Delta W$,
# its output changes by $(\Delta W h)_i = \sum_{j=1}^{n} \Delta W_{ij} h_j$. Two facts make this grow with $n$:
#
# * **Adam's step does not shrink with the width.** On its first step Adam moves a weight by
#   $\mathrm{lr}\cdot g/(|g| + \epsilon)$ (notebook 05): by the full $\pm\,\mathrm{lr}$ unless its gradient is
#   zero or comparable to $\epsilon = 10^{-8}$, however small the gradients of a wide layer are.
# * **The step is aligned with $h$.** For one example the gradient of a linear layer is $g\,h^\top$, so
#   Adam's step is $\Delta W_{ij} = -\mathrm{lr}\,\mathrm{sign}(g_i)\,\mathrm{sign}(h_j)$ and every term of
#   $(\Delta W h)_i$ has the same sign: the $n$ terms add up like $n \cdot \mathrm{lr}\,\overline{|h|}$, where
#   random signs would cancel to about $\sqrt n \cdot \mathrm{lr}\,\overline{|h|}$. A batch sums such
#   rank-one gradients; whether the alignment survives is measured below.
#
# First the step itself, under SP, at the narrowest and the widest width:

# %%
first_step = {}
for w in (WIDTHS[0], WIDTHS[-1]):
    model = make_model(w, "SP")
    torch.nn.functional.cross_entropy(model(xb), yb).backward()
    grads = {name: getattr(model, name).weight.grad.clone() for name in LAYERS}
    before = {name: getattr(model, name).weight.detach().clone() for name in LAYERS}
    make_adam(model, "SP", LR).step()
    step = {name: (getattr(model, name).weight.detach() - before[name]).abs() for name in LAYERS}
    first_step[w] = {
        name: {
            "mean |gradient|": grads[name].abs().mean().item(),
            "mean |step| / lr": step[name].mean().item() / LR,
            "moved by the full lr": (step[name] > 0.99 * LR).float().mean().item(),
            "zero gradient": (grads[name] == 0).float().mean().item(),
        }
        for name in LAYERS
    }
print(
    pd.concat({w: pd.DataFrame(v).T for w, v in first_step.items()}, names=["width", "layer"]).to_string(
        float_format="{:.3g}".format
    )
)
narrow, wide = first_step[WIDTHS[0]], first_step[WIDTHS[-1]]
assert wide["hidden"]["mean |gradient|"] < 0.5 * narrow["hidden"]["mean |gradient|"], (
    "the wide hidden layer should get smaller gradients"
)
assert all(wide[n]["mean |step| / lr"] > 0.8 * narrow[n]["mean |step| / lr"] for n in LAYERS), (
    "Adam's step should not shrink with the width"
)
for w in first_step:
    assert all(
        abs(v["moved by the full lr"] + v["zero gradient"] - 1) < 0.02 for v in first_step[w].values()
    ), "every weight should move by the full lr unless its gradient is zero"

# %% [markdown]
# The wide network's hidden-layer gradients are several times smaller (its readout's are not: they are
# $g\,h^\top$ with $h$ of order 1), yet no layer's step is smaller: every weight moves by the full rate
# except those whose gradient is exactly zero (the two shares printed add up to 1; a zero gradient comes
# from a unit that ReLU switched off for the whole batch). Now the alignment.
#
# The next cell measures $\overline{|\Delta W h|}$ for every layer after one step, against the width; and, as the
# **ablation** of the second fact, the same with the sign of every entry of $\Delta W$ flipped at random
# (same sizes, no alignment with $h$).

# %% alt="Change of one output coordinate after one Adam step against the width, per layer, for SP, muP and SP with random signs: SP's hidden and readout effects grow with slope about 1, random signs about 1/2, muP stays flat."
effects = {
    "SP": [update_effect(w, "SP", LR, xb, yb) for w in WIDTHS],
    "muP": [update_effect(w, "muP", LR, xb, yb) for w in WIDTHS],
    "SP, random signs": [update_effect(w, "SP", LR, xb, yb, random_signs=True) for w in WIDTHS],
}


def slope(values) -> float:
    """The exponent a of values ~ width^a: the slope of a straight line through the log-log points."""
    return float(np.polyfit(np.log(WIDTHS), np.log(values), 1)[0])


fig, axes = plt.subplots(1, 3, figsize=(18, 5.5), sharex=True)
styles = {
    "SP": ("--", "s", COLORS[0]),
    "muP": ("-", "o", COLORS[1]),
    "SP, random signs": (":", "^", COLORS[2]),
}
for ax, layer in zip(axes, LAYERS):
    for name, rows in effects.items():
        ls, marker, color = styles[name]
        values = [r[layer] for r in rows]
        ax.plot(
            WIDTHS, values, ls=ls, marker=marker, color=color, label=f"{name} (slope {slope(values):.2f})"
        )
    log_axes(ax, WIDTHS)
    ax.set_title(f"{layer} layer: mean |ΔW h|")
    ax.legend(fontsize=11, loc="upper left")
axes[0].set_ylabel("change of one output coordinate")
fig.suptitle("One Adam step's effect on each layer's output, against the width", y=1.02)
plt.show()

# %%
slopes = pd.DataFrame(
    {name: {layer: slope([r[layer] for r in rows]) for layer in LAYERS} for name, rows in effects.items()}
)
print("exponent a in  mean |ΔW h| ~ width^a:")
print(slopes.round(2).to_string())
assert 0.8 < slopes.loc["hidden", "SP"] < 1.2 and 0.8 < slopes.loc["readout", "SP"] < 1.2, (
    "under SP the hidden layer's and readout's update effect should grow like the width"
)
assert all(0.3 < slopes.loc[layer, "SP, random signs"] < 0.7 for layer in ("hidden", "readout")), (
    "without the alignment the growth should drop to about sqrt(width)"
)
assert abs(slopes.loc["hidden", "muP"]) < 0.15 and abs(slopes.loc["readout", "muP"]) < 0.15, (
    "under muP the update effect should not depend on the width"
)
assert abs(slopes.loc["input", "SP"]) < 0.15, "the input layer's fan-in is 784 at every width: no growth"

# %% [markdown]
# The measured exponents are the two facts at work. Under SP the hidden layer's and the readout's
# update effect grows like $n^{1}$; flip the signs of the same step's entries at random and it grows only
# like $n^{1/2}$: the alignment is what makes it linear. The input layer sums over its 784 pixels at every width, so nothing
# grows there. Under muP the hidden and readout rates are divided by $m$, which cancels the factor $n$:
# the effect is flat.
#
# Compare with the initialization: a random $W$ with $\mathrm{Var}(w) = 1/n$ is *not* aligned with $h$, so
# $Wh$ sums $n$ random terms of size $1/\sqrt n$ and stays of order 1 (notebook 03). Init and update need
# different rules because one is random and the other is not.
#
# ## 3 · muP from one condition: spectral norms
#
# Yang, Simon & Bernstein (2023) put the two rules into one statement. For a layer $y = Wx$ with
# $d_{\text{in}}$ inputs and $d_{\text{out}}$ outputs whose coordinates should all stay of order 1,
# $\|x\|_2 \sim \sqrt{d_{\text{in}}}$ and $\|y\|_2 \sim \sqrt{d_{\text{out}}}$. The spectral norm
# $\|W\|_*$ (the largest singular value) is the most $W$ can stretch a vector, so ask, for the weights **and
# for every update**:
#
# $$\|W\|_* \sim \sqrt{d_{\text{out}}/d_{\text{in}}}, \qquad \|\Delta W\|_* \sim \sqrt{d_{\text{out}}/d_{\text{in}}}.$$
#
# Only how things scale with $n$ matters here; 784 and 10 are constants.
#
# * **Init.** A $d_{\text{out}} \times d_{\text{in}}$ matrix of independent entries with std $\sigma$ (Gaussian, or
#   PyTorch's uniform) has
#   $\|W\|_* \approx \sigma(\sqrt{d_{\text{out}}} + \sqrt{d_{\text{in}}})$. Hidden ($n \times n$): $\sigma\sqrt n \sim 1$
#   gives $\sigma^2 \sim 1/n = 1/d_{\text{in}}$, notebook 03's rule. Input ($n \times 784$): $\sigma\sqrt n \sim \sqrt n$ gives
#   $\sigma$ constant, again $1/d_{\text{in}}$. Readout ($10 \times n$): $\sigma \sqrt n \sim 1/\sqrt n$ gives
#   $\sigma \sim 1/n$, **smaller** than $1/\sqrt{d_{\text{in}}}$: the one init that changes.
# * **Adam's update.** One step has entries $\pm\,\mathrm{lr}$ and (from a batch) is dominated by a few
#   directions (a small stable rank, although almost all its singular values are non-zero); a rank-one matrix of $\pm\,\mathrm{lr}$ entries has $\|\Delta W\|_* = \mathrm{lr}\sqrt{d_{\text{out}} d_{\text{in}}}$. Setting
#   this $\sim \sqrt{d_{\text{out}}/d_{\text{in}}}$ gives $\mathrm{lr} \sim 1/d_{\text{in}}$: constant for the input
#   layer, $1/n$ for the hidden layer and the readout, which is muP's $\mathrm{lr}/m$.
#
# SP follows the init rule except at the readout, and ignores the update rule. The cell measures both
# spectral norms, at init and for one Adam step, divided by $\sqrt{d_{\text{out}}/d_{\text{in}}}$: the condition
# says these ratios should not depend on the width.

# %% alt="Spectral norm over the square root of d_out/d_in against width, per layer, at init and for one Adam step, SP versus muP: muP's lines are flat apart from the shared input init, SP's readout weights and hidden and readout updates grow."
NORM_WIDTHS = [64, 256, 1024]
norms = {p: {w: spectral_norms(w, p, LR, xb, yb) for w in NORM_WIDTHS} for p in ("SP", "muP")}
ratio = {
    (p, layer, k): [norms[p][w][layer][k] / norms[p][w][layer][2] for w in NORM_WIDTHS]
    for p in norms
    for layer in LAYERS
    for k in (0, 1)
}

fig, axes = plt.subplots(1, 2, figsize=(18, 5.5), sharex=True)
for ax, k, what in zip(axes, (0, 1), ("weights at init, ‖W‖", "one Adam step, ‖ΔW‖")):
    for i, layer in enumerate(LAYERS):
        for p in norms:
            ax.plot(NORM_WIDTHS, ratio[p, layer, k], color=COLORS[i], **STYLE[p], label=f"{p}, {layer}")
    log_axes(ax, NORM_WIDTHS)
    ax.set(ylabel="spectral norm / sqrt(d_out / d_in)", title=what)
axes[1].legend(fontsize=12, ncol=2, loc="upper left", bbox_to_anchor=(1.02, 1))
fig.suptitle("The spectral condition: flat lines are what muP asks for (SP dashed, muP solid)", y=1.02)
plt.show()


# %%
def change(p, layer, k):
    """How many times the ratio grows from the narrowest to the widest width."""
    return ratio[p, layer, k][-1] / ratio[p, layer, k][0]


summary = pd.DataFrame(
    {
        f"{p}, {'W' if k == 0 else 'ΔW'}": {layer: change(p, layer, k) for layer in LAYERS}
        for p in norms
        for k in (0, 1)
    }
)
print(f"ratio at width {NORM_WIDTHS[-1]} / ratio at width {NORM_WIDTHS[0]}:")
print(summary.round(2).to_string())
assert all(0.67 < change("muP", layer, 1) < 1.5 for layer in LAYERS), (
    "muP's update should meet the spectral condition at every width"
)
assert all(0.67 < change("muP", layer, 0) < 1.5 for layer in ("hidden", "readout")), (
    "muP's hidden and readout weights should meet the spectral condition at every width"
)
# The input layer's weights (n x 784) are below their large-width limit while n < 784: a random matrix has
# ||W|| ~ sigma (sqrt(n) + sqrt(784)), so the ratio should change by this much from width 64 to 1024:
n0, n1 = NORM_WIDTHS[0], NORM_WIDTHS[-1]
predicted = (math.sqrt(n1) + 28) / (math.sqrt(n0) + 28) * math.sqrt(n0 / n1)
print(
    f"input layer's W ratio: measured x{change('muP', 'input', 0):.2f}, predicted by sigma(sqrt(n) + 28): "
    f"x{predicted:.2f}"
)
assert abs(change("muP", "input", 0) / predicted - 1) < 0.1, (
    "the input layer's norm should follow sigma(sqrt(n) + 28)"
)
assert change("SP", "hidden", 1) > 8 and change("SP", "readout", 1) > 8, (
    "SP's hidden and readout updates should be far too large at width 1024"
)
predicted_readout = (math.sqrt(n1) + math.sqrt(10)) / (math.sqrt(n0) + math.sqrt(10))
print(
    f"SP's readout W ratio: measured x{change('SP', 'readout', 0):.2f}, predicted by sigma(sqrt(n) + sqrt(10)) "
    f"with sigma ~ 1/sqrt(n): x{predicted_readout:.2f} (-> sqrt({n1 // n0}) = {math.sqrt(n1 / n0):.0f} for large n)"
)
# sigma(sqrt(a) + sqrt(b)) is a large-matrix formula: a 10 x 64 matrix's top singular value fluctuates more
assert 0.8 < change("SP", "readout", 0) / predicted_readout < 1.25, (
    "SP's readout init should be too large by about sqrt(width)"
)

# %% [markdown]
# muP's lines are flat (within the factors printed above), except the input layer's weights, whose norm
# is still dominated by its 784 inputs at these widths (the printed prediction; both parametrizations share
# that init). SP's hidden-layer and readout updates grow about 16-fold over 16 times the width, and SP's
# readout weights by the printed factor, which tends to $\sqrt{16}$ as the width grows.
# In short, per layer: **init std $\sim \frac{1}{\sqrt{d_{\text{in}}}}\min(1, \sqrt{d_{\text{out}}/d_{\text{in}}})$ and
# Adam rate $\sim 1/d_{\text{in}}$**, with the min read as $n$ grows (1 for the input layer, whose
# $d_{\text{out}} = n$ outgrows 784), anchored so that the base width is unchanged. Here are the
# numbers the code uses at each width:

# %%
rows = []
for w in [64, 256, 1024]:
    for p in ("SP", "muP"):
        model = make_model(w, p)
        opt = make_adam(model, p, lr=1.0)
        rows.append(
            {
                "width": w,
                "parametrization": p,
                **{
                    f"{g['layer']} std": getattr(model, g["layer"]).weight.std().item()
                    for g in opt.param_groups
                },
                **{f"{g['layer']} lr / lr": g["lr"] for g in opt.param_groups},
            }
        )
print(pd.DataFrame(rows).set_index(["width", "parametrization"]).to_string(float_format="{:.4g}".format))

# %% [markdown]
# The `mup` package writes the readout differently (a `MuReadout` layer that multiplies by $1/m$ in its
# forward pass, with weights scaled up by $\sqrt m$ and its rate left alone). Adam's step ignores the scale of
# the gradient (up to its $\epsilon$), so the two should be the same network trained the same way;
# `tests/test_width.py` runs both and finds the same outputs at init, the same per-layer effective rates and
# the same network after five Adam steps, at widths 128, 256 and 1024.
#
# ## 4 · Learning-rate transfer on Fashion-MNIST
#
# The coordinate check is about a few steps. Does the best rate of real training stay put? The stored
# study trains every width from 64 to 1024 at 7 rates $2^{-12}, \dots, 2^{-6}$, with 3 seeds each, in both
# parametrizations, and records the validation loss. Its recipe:

# %%
study = load_study()
recipe = study["recipe"]
for key in (
    "network",
    "widths",
    "log2_lrs",
    "seeds",
    "optimizer",
    "train_images",
    "val_images",
    "epochs",
    "batch_size",
    "metric",
):
    print(f"{key:>13}: {recipe[key]}")
print(f"the stored study took {recipe['seconds'] / 60:.0f} min on one thread of a shared 2-core CPU")
STUDY_WIDTHS, LOG2 = recipe["widths"], np.array(recipe["log2_lrs"])


def curve(p, width):
    """(mean, sample std) of the validation loss over the seeds, at every rate of the grid."""
    runs = np.array(list(study["loss"][p][str(width)].values()))
    return runs.mean(axis=0), runs.std(axis=0, ddof=1)


best = {p: {w: int(LOG2[np.argmin(curve(p, w)[0])]) for w in STUDY_WIDTHS} for p in ("SP", "muP")}

# %% alt="Validation loss against Adam's learning rate for widths 64 to 1024, mean and spread over 3 seeds, best rate starred, SP and muP side by side: SP's best rate shifts smaller as width grows, muP's stays put."
fig, axes = plt.subplots(1, 2, figsize=(17, 6), sharey=True)
for ax, p in zip(axes, ("SP", "muP")):
    for i, w in enumerate(STUDY_WIDTHS):
        mean, std = curve(p, w)
        ax.errorbar(
            LOG2,
            mean,
            yerr=std,
            color=COLORS[i],
            ls=STYLE[p]["ls"],
            marker=STYLE[p]["marker"],
            capsize=4,
            label=f"width {w}",
        )
        k = list(LOG2).index(best[p][w])
        ax.plot(LOG2[k], mean[k], marker="*", ms=22, color=COLORS[i], mec="black", zorder=5)
    ax.set(xlabel="log2 of Adam's learning rate", title=f"{p}: best rate per width (stars)")
    ax.set_xticks(LOG2)
axes[0].set_ylabel("validation loss (mean ± std, 3 seeds)\n(axis cut at 0.75)")
axes[0].set_ylim(0.44, 0.75)
axes[1].legend(title="wider →", fontsize=12)
fig.suptitle("Learning-rate transfer: SP's optimum moves left as the width grows, muP's stays", y=1.02)
plt.show()

# %%
table = pd.DataFrame({f"{p} best log2 lr": best[p] for p in best})
for p in best:
    table[f"{p} loss there"] = [curve(p, w)[0][list(LOG2).index(best[p][w])] for w in STUDY_WIDTHS]


def flatness(p, w):
    """(how much worse the best neighbouring rate is than the best, the seeds' std at the best)."""
    mean, std = curve(p, w)
    k = int(np.argmin(mean))
    return min(mean[j] for j in (k - 1, k + 1) if 0 <= j < len(mean)) - mean[k], std[k]


for p in best:
    table[f"{p} gap to neighbour"] = [flatness(p, w)[0] for w in STUDY_WIDTHS]
    table[f"{p} seed std there"] = [flatness(p, w)[1] for w in STUDY_WIDTHS]
print(table.round(3).to_string())
assert all(gap < std for gap, std in (flatness(p, w) for p in best for w in STUDY_WIDTHS)), (
    "every curve should be flatter at its optimum than the seeds' spread"
)
sp_move = best["SP"][STUDY_WIDTHS[0]] - best["SP"][STUDY_WIDTHS[-1]]
mup_spread = max(best["muP"].values()) - min(best["muP"].values())
print(
    f"SP's best rate moves {sp_move} powers of 2 from width {STUDY_WIDTHS[0]} to {STUDY_WIDTHS[-1]}; "
    f"muP's best rates span {mup_spread} power(s) of 2"
)
assert sp_move >= 2, "SP's optimum should move to smaller rates by at least a factor 4"
assert mup_spread <= 1, "muP's optimum should stay within one grid step at every width"

# %% [markdown]
# Read the two panels with the seeds' spread in mind. Near its optimum each curve is flat: on every curve the
# best neighbouring rate is closer to the best than the seeds' std there (the last two columns), so the star
# can hop by one grid step. Beyond that noise, SP's
# optimum moves to smaller rates as the network widens (the table above), while muP's stays within one
# step of the base width's. The robust way to see it is what a practitioner does: **tune at width 64, use
# that rate at width 1024**.


# %%
def loss_at(p, width, log2_lr):
    return curve(p, width)[0][list(LOG2).index(log2_lr)]


small, large = STUDY_WIDTHS[0], STUDY_WIDTHS[-1]
tuned_small = best["SP"][small]  # the same network at the base width: both parametrizations agree there
assert tuned_small == best["muP"][small], "SP and muP are one network at the base width"
transfer = pd.DataFrame(
    [
        {
            "parametrization": p,
            "log2 lr tuned at 64": tuned_small,
            "loss there": loss_at(p, large, tuned_small),
            "log2 lr tuned at 1024": best[p][large],
            "loss at 1024's best": loss_at(p, large, best[p][large]),
        }
        for p in ("SP", "muP")
    ]
).set_index("parametrization")
transfer["cost of reusing 64's rate"] = transfer["loss there"] - transfer["loss at 1024's best"]
print(f"validation loss at width {large}, mean over 3 seeds:")
print(transfer.round(3).to_string())
sp_cost, mup_cost = transfer["cost of reusing 64's rate"]
seeds_at = {
    k: np.array(list(study["loss"]["SP"][str(large)].values()))[:, list(LOG2).index(k)]
    for k in (tuned_small, best["SP"][large])
}
print(
    f"SP at width {large}, per seed: 2^{tuned_small}: {seeds_at[tuned_small].round(3).tolist()}, "
    f"2^{best['SP'][large]}: {seeds_at[best['SP'][large]].round(3).tolist()}"
)
assert sp_cost > 0.05 and seeds_at[tuned_small].min() > seeds_at[best["SP"][large]].max(), (
    "SP at the small model's rate should be worse at width 1024, on every seed"
)
assert mup_cost < 0.02, "muP at the small model's rate should be within noise of its own optimum"

# %% [markdown]
# ### One column, live
#
# The stored numbers come from `utils.width.run_column`; the next cell reruns the base width's column
# (width 64, where SP and muP are the same network) for one seed, in a few seconds. With `COURSE_SEED`
# unset it repeats the stored seed 0 up to round-off; with another seed it is a new draw. One seed is a noisy
# copy of a three-seed mean: near and above the optimum a single run's loss can jump by several hundredths
# from one rate to the next (the error bars above), so the checks below compare the best loss, where the
# optimum lies within two grid steps, and the small rates, where runs agree closely.

# %%
live = np.array(run_column(small, "muP", seed=0, data=subsets(recipe), recipe=recipe))
stored_mean, stored_std = curve("muP", small)
print("log2 lr        ", LOG2.tolist())
print("live loss      ", live.round(3).tolist())
print("stored mean    ", stored_mean.round(3).tolist())
print("stored seed 0  ", np.round(study["loss"]["muP"][str(small)]["0"], 3).tolist())
live_best = int(LOG2[np.argmin(live)])
print(f"live best rate 2^{live_best}; stored best 2^{best['muP'][small]}")
assert abs(live_best - best["muP"][small]) <= 2, (
    "the live optimum should be within two grid steps of the stored one"
)
assert abs(live.min() - stored_mean.min()) < 0.08, (
    "the live best loss should be the stored one, within the seeds' spread"
)
assert np.all(np.abs(live - stored_mean)[:3] < 0.08), (
    "at the three smallest rates the live column should match the stored"
)
assert live[0] > live.min() + 0.2, "the smallest rate should be far too small, live as in the study"

# %% [markdown]
# ## 5 · Caveats: what muP promises and what it does not
#
# **muP moves the optimum, not the loss.** At a single width, SP tuned *at that width* is a perfectly good
# network; muP's promise is only that the tuning done on a small model carries over. The study's best
# losses per width, each parametrization at its own best rate:

# %%
best_loss = pd.DataFrame({p: {w: curve(p, w)[0].min() for w in STUDY_WIDTHS} for p in ("SP", "muP")})
best_loss["SP - muP"] = best_loss["SP"] - best_loss["muP"]
print("validation loss at each parametrization's own best rate (mean over 3 seeds):")
print(best_loss.round(3).to_string())
print(f"SP - muP at width {large}: {best_loss['SP - muP'][large]:.3f}")
assert all(best_loss["muP"][w] < best_loss["muP"][small] - 0.01 for w in STUDY_WIDTHS[1:]), (
    "at muP's best rate every wider network should beat the base width"
)
assert best_loss["SP"][large] < best_loss["SP"][small] - 0.03, "SP tuned at 1024 should beat SP tuned at 64"
assert best_loss["SP - muP"][large] < -0.01, (
    "in this short training SP tuned at 1024 should beat muP tuned at 1024"
)
assert best_loss["SP"].idxmin() == large, "SP's widest network, tuned, should be the best of the table"

# %% [markdown]
# Three things to read in this table, all from the stored run:
#
# * Under muP, every width from 128 up beats the base width at its best rate, but beyond 128 the gain stops
#   in this one-epoch training: the best losses of widths 128 to 1024 are within a few thousandths.
# * Under SP, tuned at each width, the widest network is the best of the table.
# * At width 1024, SP **tuned at 1024** ends below muP tuned at 1024 (the difference printed above). muP's
#   promise is about *where* the best rate is, not about how low the loss gets; on this small task and
#   budget, SP re-tuned at the large width wins. What muP removes is the re-tuning: section 4 showed what
#   SP loses when it is not re-tuned.

# %% [markdown]
# **Transfer needs every rule.** The coordinate check catches a muP that is only half written. Here is muP
# with the readout left as in SP (its init not divided by $\sqrt m$, its rate not divided by $m$), and muP with
# the hidden layer's rate left as in SP, each after one step:


# %% alt="Hidden and readout outputs after one step against width for muP, SP and two half-written muPs: an SP hidden rate makes the hidden output grow like SP's, either slip makes the readout output grow, full muP stays flat."
def partial_mup(sp_layers):
    """A builder for muP with the layers in `sp_layers` left as SP has them (init and rate)."""

    def build(width):
        model = make_model(width, "muP")
        if "readout" in sp_layers:
            model.readout.weight.data = make_model(width, "SP").readout.weight.data
        opt = make_adam(model, "muP", LR)
        for group in opt.param_groups:
            if group["layer"] in sp_layers:
                group["lr"] = LR
        return model, opt

    return build


partial = {
    name: coord_check(partial_mup(layers), WIDTHS, xb, yb, steps=1)
    for name, layers in {"readout as in SP": ("readout",), "hidden rate as in SP": ("hidden",)}.items()
}
fig, axes = plt.subplots(1, 2, figsize=(16, 5.5))
for ax, layer in zip(axes, ("hidden", "readout")):
    for i, (name, check) in enumerate({"muP": checks["muP"], "SP": checks["SP"], **partial}.items()):
        ax.plot(
            WIDTHS,
            [check[w][1][layer] for w in WIDTHS],
            color=COLORS[i],
            marker="osD^"[i],
            ls=["-", "--", "-.", ":"][i],
            label=name,
        )
    log_axes(ax, WIDTHS)
    ax.set(ylabel="mean |x| after one step", title=f"{layer} layer's output")
axes[0].legend()
fig.suptitle("Half-written muP fails the coordinate check", y=1.02)
plt.show()
for name, layer in (("readout as in SP", "readout"), ("hidden rate as in SP", "hidden")):
    print(
        f"{name}: the {layer} layer's output after one step grows x{growth(partial[name], layer, 1):.1f} "
        f"from width 64 to 2048 (muP: x{growth(checks['muP'], layer, 1):.1f})"
    )
assert growth(partial["readout as in SP"], "readout", 1) > 2.5, "a readout as in SP should break the check"
assert growth(partial["hidden rate as in SP"], "hidden", 1) > 3, (
    "a hidden rate as in SP should break the check"
)

# %% [markdown]
# Either slip brings back growth with the width in the layer it touches (the factors printed above): a rate's
# effect is no longer the same at every width, which is what transfer rests on.
#
# Other things are reported to break transfer that this notebook does not test; take them as pointers, not
# results: trainable gains of normalization layers (Lingle 2024, arXiv 2404.05728). Transfer across
# *depth* needs more than muP: residual branches scaled like $1/\sqrt L$ (notebook 13's idea; Bordelon et
# al. 2023, Yang et al. 2023). And this study is small: one epoch on 10,000 images, one optimizer, three
# seeds; the stored loss curves are flat near their optimum.
#
# ## Summary
#
# * Under the standard parametrization, Adam's first step moves every weight with a nonzero gradient by the
#   full rate and is aligned
#   with the layer's input, so its effect on a layer's output grows like the width (exponent 1; 1/2 once
#   random signs remove the alignment). The best rate must therefore shrink as the network widens.
# * **muP** divides Adam's rate by $m$ for every layer whose fan-in grows (hidden, readout) and the
#   readout's init by $\sqrt m$. Both rules come from one condition, spectral norms of weights and updates
#   $\sim \sqrt{d_{\text{out}}/d_{\text{in}}}$, which for the weights is notebook 03's $1/d_{\text{in}}$ again.
# * On Fashion-MNIST, SP's best rate moves to smaller values from width 64 to 1024 and the small model's
#   rate costs it at width 1024; muP's best rate stays within one grid step and the small model's rate is as
#   good as the large model's own.
# * muP does not make a given width better: tuned at width 1024, SP beat muP in this study. It makes
#   tuning once, small, enough, provided every rule is in place (the coordinate check tells).
#
# ## Exercise
# ### Exercise 1: muP's parameter groups
# Write `mup_adam(model, lr, base_width)`: a `torch.optim.Adam` for a `WidthMLP` (layers `model.input`,
# `model.hidden`, `model.readout`, width `model.width`) with one parameter group per layer, each at muP's rate
# (derive it from $\mathrm{lr} \sim 1/d_{\text{in}}$, anchored at `base_width`). The checker reads the rates at
# three widths and then trains with your optimizer to see that every layer's output moves as much at
# width 1024 as at width 64.


# %%
def mup_adam(model, lr, base_width):
    """torch.optim.Adam with muP's learning rate for each layer of `model`."""
    raise NotImplementedError("your answer here")


# check_mup_adam(mup_adam)  # uncomment when your function is ready

# %% [markdown]
# #### Solution


# %% jupyter={"source_hidden": true} tags=["solution"]
def mup_adam(model, lr, base_width):
    """Adam's rate ~ 1/fan_in: the input layer's fan-in (784) is fixed; hidden and readout scale by 1/m."""
    m = model.width / base_width
    rates = {"input": lr, "hidden": lr / m, "readout": lr / m}
    groups = [{"params": [getattr(model, name).weight], "lr": rate} for name, rate in rates.items()]
    return torch.optim.Adam(groups)


check_mup_adam(mup_adam)
