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
# # 15 · Muon and the geometry of updates
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/courseware-dl/init-optim-course/blob/main/notebooks/15_muon_and_update_geometry.ipynb)
#
# Notebooks 05-12 treated every weight as a number of its own: SGD moves each one against its gradient,
# Adam divides each one's step by the size of its own gradients. A weight **matrix** is more than a bag
# of numbers: it maps vectors to vectors, and its gradient has a shape (a few strong directions, many
# weak ones). **Muon** (Keller Jordan and collaborators, 2024; `torch.optim.Muon` in the torch this course pins) is an
# optimizer built on that shape: it
# replaces the gradient matrix $G = U S V^\top$ by (roughly) $U V^\top$, the same directions with every
# singular value set to 1. In this notebook you will
#
# 1. see optimizers as **steepest descent under a norm**: sign descent (what Adam is without its
#    averages) for the largest-entry norm, $U V^\top$ for the spectral norm, checked numerically;
# 2. watch the **Newton-Schulz** iteration that approximates $U V^\top$ with matrix products only, drawn on
#    singular values: why Muon's coefficients $(3.4445, -4.7750, 2.0315)$ do **not** converge to 1 and the
#    band they reach instead, measured on a real gradient;
# 3. write **Muon by hand** (on notebook 05's template, and as a `torch.optim.Optimizer` in `utils`) and prove
#    it equal to `torch.optim.Muon` bit for bit; see why a factor $(1-\mu)$ between its documentation and
#    its code does not matter, and where it would;
# 4. compare **Muon and AdamW** on Fashion-MNIST, each at its own tuned learning rate, over 3 seeds;
# 5. measure **AdamW's equilibrium**: with weight decay, the weights' size, the update's size and the angle
#    they turn per step settle at values a formula predicts.
#
# It builds on notebooks 05 (the optimizer template), 10 (`torch.optim.Optimizer`), 11 (updates in an
# eigenbasis) and 12 (schedules, AdamW).

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
import copy
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from matplotlib_inline.backend_inline import set_matplotlib_formats
from torch import nn
from torch.optim._muon import _zeropower_via_newtonschulz  # torch's own Newton-Schulz (a private function)

from utils import set_seed, torch_generator
from utils.data import fashion_mnist_tensors
from utils.exercises.muon import check_orthogonalize
from utils.init import kaiming_init
from utils.models import BaseNetwork
from utils.muon import TorchMuon, _check_muon_settings, muon_with_adamw, split_for_muon
from utils.muon_study import RECIPE, load_study, subset, train_run
from utils.optimizers import OptimizerTemplate, _check_positive
from utils.plotting import set_course_style

set_matplotlib_formats("png")
set_course_style()
set_seed(42)
COLORS = sns.color_palette("colorblind")

# %% [markdown]
# ## 1 · Steepest descent under a norm
#
# Near the current weights the loss is almost linear: $\mathcal{L}(W + D) \approx \mathcal{L}(W) +
# \langle G, D\rangle$, with $G$ the gradient and $\langle G, D\rangle = \sum_{ij} G_{ij} D_{ij}$. The
# **steepest descent step of size $\eta$ under a norm** $\lVert\cdot\rVert$ is the step that lowers this
# linear model most among all steps with $\lVert D\rVert \le \eta$:
#
# $$D^\star = -\eta\, \arg\max_{\lVert D\rVert \le 1} \langle G, D\rangle .$$
#
# The norm decides the answer (this view of optimizers is Bernstein & Newhouse's, "Old Optimizer, New
# Norm", 2024):
#
# * the **Euclidean** norm gives $D^\star = -\eta\, G / \lVert G\rVert_F$: plain (normalized) gradient descent;
# * the **largest-entry** norm $\lVert D\rVert_\infty = \max_{ij} |D_{ij}|$ lets every entry move by $\eta$
#   independently, so each goes all the way in its own best direction: $D^\star = -\eta\,\operatorname{sign}(G)$,
#   **sign descent**, and $\langle G, \operatorname{sign} G\rangle = \sum |G_{ij}|$;
# * the **spectral** norm $\lVert D\rVert_2 = \sigma_{\max}(D)$ (the most $D$ can stretch a vector) gives
#   $D^\star = -\eta\, U V^\top$ for $G = U S V^\top$ (the reduced SVD), and $\langle G, U V^\top\rangle =
#   \operatorname{tr}(S) = \sum_i \sigma_i$.
#
# The claim is easy to test: no other step on the same ball may beat these. We try the answer itself,
# 2000 small perturbations of it put back on the ball, and the plain gradient direction.

# %%
gen = torch_generator(0)
G = torch.randn(64, 32, generator=gen, dtype=torch.float64)
U, S, Vh = torch.linalg.svd(G, full_matrices=False)


def on_inf_ball(D):
    return D / D.abs().amax(dim=(-2, -1), keepdim=True)


def on_spectral_ball(D):
    return D / torch.linalg.matrix_norm(D, ord=2, keepdim=True)


def gain(D):
    """<G, D> for one step or a batch of steps."""
    return (G * D).sum(dim=(-2, -1))


noise = 0.05 * torch.randn(2000, 64, 32, generator=gen, dtype=torch.float64)
rows = {
    "largest-entry norm": (G.sign(), on_inf_ball(G.sign() + noise), on_inf_ball(G)),
    "spectral norm": (U @ Vh, on_spectral_ball(U @ Vh + noise), on_spectral_ball(G)),
}
for norm, (answer, perturbed, gradient) in rows.items():
    best, runner_up, plain = gain(answer).item(), gain(perturbed).max().item(), gain(gradient).item()
    print(
        f"{norm:>18}: <G, D*> = {best:.2f}; best of 2000 perturbations {runner_up:.2f}; "
        f"gradient direction {plain:.2f}"
    )
    assert runner_up < best and plain < best, f"nothing on the {norm} ball should beat the claimed step"
print(f"sum |G_ij| = {G.abs().sum():.2f}; sum of singular values = {S.sum():.2f}")

# %% [markdown]
# Both answers win, and by a wide margin over the plain gradient direction put on the same ball. Sign
# descent should look familiar: it is **Adam without its averages**. With $\beta_1 = \beta_2 = 0$, Adam's
# step is $\eta\, g / (\sqrt{g^2} + \epsilon) = \eta \operatorname{sign}(g)$ (up to $\epsilon$). Adam's
# moving averages are what turn it back into something else:


# %%
def adam_step_sizes(betas, steps: int = 10):
    """|w_t - w_{t-1}| / lr for every weight at the last of `steps` Adam steps on random gradients."""
    gen = torch_generator(1)
    w = torch.zeros(1000, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([w], lr=0.01, betas=betas, eps=1e-12)
    for _ in range(steps):
        before = w.detach().clone()
        w.grad = torch.randn(1000, generator=gen, dtype=torch.float64)
        optimizer.step()
    return ((w.detach() - before).abs() / 0.01).numpy()


for betas in [(0.0, 0.0), (0.9, 0.999)]:
    sizes = adam_step_sizes(betas)
    print(f"Adam, betas {betas}: step / lr ranges from {sizes.min():.4f} to {sizes.max():.4f}")
assert np.allclose(adam_step_sizes((0.0, 0.0)), 1.0, atol=1e-9), "without averages Adam is sign descent"
assert adam_step_sizes((0.9, 0.999)).std() > 0.1, "with averages the steps should differ per weight"

# %% [markdown]
# ### The gradient of a real network
#
# Is the spectral norm a sensible choice? Look at a real gradient: the first layer (784 inputs, 256
# units) of the course's ReLU network (Kaiming init, hidden sizes 256, 256), on 1024 Fashion-MNIST
# images. We print the share of $\lVert G\rVert_F^2 = \sum_i \sigma_i^2$ carried by the top singular value and the
# **stable rank** $\lVert G\rVert_F^2 / \sigma_1^2$ (how many directions the gradient really uses).

# %%
(x_train, y_train), (x_val, y_val), (x_test, y_test) = fashion_mnist_tensors("cpu")


def first_layer_gradient(seed: int, images: int = 1024):
    """The gradient of the first weight matrix of a freshly initialized network on random images."""
    set_seed(seed)
    net = BaseNetwork("relu", hidden_sizes=(256, 256))
    kaiming_init(net)
    idx = torch.randperm(len(x_train), generator=torch_generator(seed))[:images]
    nn.functional.cross_entropy(net(x_train[idx]), y_train[idx]).backward()
    return net.layers[0].weight.grad.double()


G = first_layer_gradient(0)
sigma = torch.linalg.svdvals(G)
x_in = (sigma / G.norm()).numpy()  # the singular values after dividing by the Frobenius norm
top_share, stable_rank = x_in[0] ** 2, 1 / x_in[0] ** 2
print(
    f"G: {tuple(G.shape)}; top singular value's share of |G|_F^2: {top_share:.2f}; "
    f"stable rank {stable_rank:.1f} (of 256 possible)"
)
print(f"sigma_i / |G|_F from {x_in[0]:.3f} down to {x_in[-1]:.1e}")
assert stable_rank < 10, "a real gradient should use only a handful of directions strongly"

# %% [markdown]
# One direction carries a large share of the gradient and the stable rank is a few units out of 256: an
# SGD step (the gradient itself) moves the weights mostly along a few directions, while the weak ones (still real
# signal, summed over 1024 images) hardly move. The spectral step $U V^\top$ moves **every** direction
# the gradient has by the same amount. That is Muon's bet. Muon does not compute an SVD: it approximates
# $U V^\top$ with a few matrix products.
#
# ## 2 · Newton-Schulz: a polynomial applied to the singular values
#
# For $X = U S V^\top$, $X X^\top X = U S^3 V^\top$, and likewise for every odd power. So any odd polynomial
# $p(X) = aX + b (XX^\top)X + c (XX^\top)^2 X$ equals $U\, p(S)\, V^\top$: **it applies the scalar polynomial
# $p(x) = ax + bx^3 + cx^5$ to every singular value** and keeps $U$ and $V$. Repeating it $k$ times applies
# $p^{\circ k}$. If $p^{\circ k}(x) \approx 1$ for every singular value, the result is $\approx U V^\top$.
# Divide by the Frobenius norm first, so every singular value starts in $(0, 1]$.
#
# Muon's Newton-Schulz step, as `torch.optim.Muon` runs it (in bfloat16, on the wide orientation so that
# $XX^\top$ is the smaller Gram matrix; `torch.addmm(C, A, B, beta=s, alpha=t)` is $sC + tAB$ in one call):

# %%
QUINTIC = (3.4445, -4.7750, 2.0315)  # torch.optim.Muon's default (Keller Jordan's coefficients)
CUBIC = (1.5, -0.5, 0.0)  # (3x - x^3) / 2: the classic Newton-Schulz step, which converges to 1


def newton_schulz(G, coefficients=QUINTIC, steps: int = 5, eps: float = 1e-7, dtype=torch.bfloat16):
    """About U V^T for G = U S V^T: each step maps every singular value x to a x + b x^3 + c x^5.

    Divide by the Frobenius norm first (it bounds the spectral norm, so all singular values start in
    [0, 1]); work on the wide orientation (X X^T is then the smaller Gram matrix); bfloat16 as torch does.
    """
    a, b, c = coefficients
    X = G.to(dtype)
    tall = G.size(0) > G.size(1)
    if tall:
        X = X.T
    X = X / X.norm().clamp(min=eps)
    for _ in range(steps):
        A = X @ X.T
        B = torch.addmm(A, A, A, beta=b, alpha=c)  # b A + c A A
        X = torch.addmm(X, B, X, beta=a)  # a X + B X  =  a X + b X X^T X + c (X X^T)^2 X
    return X.T if tall else X


def iterate(x, coefficients=QUINTIC, steps: int = 5):
    """The scalar map x -> a x + b x^3 + c x^5, applied `steps` times."""
    a, b, c = coefficients
    for _ in range(steps):
        x = a * x + b * x**3 + c * x**5
    return x


torch_ns = _zeropower_via_newtonschulz(G.float(), QUINTIC, 5, 1e-7)
exact_ns = newton_schulz(G, dtype=torch.float64)  # the same iteration in float64
predicted = np.sort(iterate(x_in))[::-1]
measured64 = torch.linalg.svdvals(exact_ns).numpy()
print(f"ours == torch's, bit for bit: {torch.equal(newton_schulz(G.float()), torch_ns)}")
print(
    f"float64: largest gap between the singular values of NS(G) and p^5(sigma_i/|G|_F): "
    f"{np.abs(measured64 - predicted).max():.1e}"
)
assert torch.equal(newton_schulz(G.float()), torch_ns), "our Newton-Schulz should be torch's, bit for bit"
assert np.allclose(measured64, predicted, atol=1e-9), "NS should act on each singular value on its own"

# %% [markdown]
# The matrix iteration is the scalar one, singular value by singular value (to $10^{-9}$ in float64). So
# we can study it on numbers. The figure draws one step $p(x)$ (left), five steps $p^{\circ 5}(x)$ for
# inputs from $10^{-4}$ to 1 (middle; the ticks at the bottom are the real gradient's
# $\sigma_i/\lVert G\rVert_F$), and 40 steps from $x = 1$ (right), for Muon's quintic, the classic cubic
# $(3x - x^3)/2$ and the classic quintic $(15x - 10x^3 + 3x^5)/8$.

# %% alt="Muon's quintic against the classic cubic and quintic iterations on one singular value, after one, five and 40 steps: Muon's lifts small values fastest but oscillates in a band around 1, the classic ones settle at 1 but leave small values low."
CLASSIC_QUINTIC = (15 / 8, -10 / 8, 3 / 8)
RESCALED = tuple(c / sum(QUINTIC) for c in QUINTIC)  # Muon's, divided by their sum: p(1) = 1
ITERATIONS = {
    "Muon's quintic": QUINTIC,
    "cubic (3x - x³)/2": CUBIC,
    "quintic (15x - 10x³ + 3x⁵)/8": CLASSIC_QUINTIC,
}
STYLES = [
    dict(color=COLORS[0], ls="-", lw=3.5),
    dict(color=COLORS[1], ls="--", lw=3),
    dict(color=COLORS[2], ls=":", lw=3.5),
]
orbits = {name: [1.0] for name in ITERATIONS}
for name, co in ITERATIONS.items():
    for _ in range(40):
        orbits[name].append(iterate(orbits[name][-1], co, 1))
tail = np.array(orbits["Muon's quintic"][10:])
band = (tail.min(), tail.max())

fig, axes = plt.subplots(1, 3, figsize=(20, 6))
x = np.linspace(0, 1.25, 400)
xs = np.geomspace(1e-4, 1, 600)
for (name, co), style in zip(ITERATIONS.items(), STYLES, strict=True):
    axes[0].plot(x, iterate(x, co, 1), label=name, **style)
    axes[1].semilogx(xs, iterate(xs, co, 5), label=name, **style)
    axes[2].plot(orbits[name], marker="o", ms=5, label=name, **style)
axes[0].plot(x, x, color="grey", lw=1.5, label="y = x")
axes[0].set(xlabel="singular value x", ylabel="p(x)", title="One step", ylim=(0, 1.4))
axes[1].plot(x_in, np.full_like(x_in, 0.03), "|", color="black", ms=18, label="real gradient's σᵢ/|G|")
axes[1].set(
    xlabel="singular value before (σ / |G|_F)", ylabel="after 5 steps", title="Five steps", ylim=(0, 1.4)
)
axes[2].set(xlabel="step", ylabel="x", title="40 steps from x = 1", ylim=(0.4, 1.4))
for ax in axes[1:]:
    ax.axhspan(*band, color=COLORS[0], alpha=0.15)
axes[0].legend(loc="upper left", fontsize=12)
axes[1].legend(loc="upper left", fontsize=12)
fig.tight_layout()
plt.show()

# %% [markdown]
# Read the three panels:
#
# * **Slope at 0.** Near $x = 0$, $p(x) \approx ax$: each step multiplies a small singular value by $a$.
#   Muon's quintic has $a = 3.4445$, the cubic $1.5$, the classic quintic $1.875$. (torch's docstring says
#   Muon's coefficients were chosen to make this slope large, so that five steps lift small singular values.)
# * **No fixed point at 1.** $p(1) = a + b + c$ is 1 for both classic iterations (and $p'(1) = 0$: they
#   converge to 1 very fast once close), but $0.701$ for Muon's. Its iterates do not settle: they jump
#   between the two edges of a **band** (shaded), forever.
# * **The band.** After five steps, every input above a threshold lands in the band's neighbourhood; the
#   classic iterations, after five steps, still leave small inputs far below 1.
#
# The next cell computes these claims instead of reading them off the figure: the value and slope at
# 1, the band of the long-run orbit, and how many steps each iteration needs to lift $x = 0.01$ above 0.6.


# %%
def steps_to_reach(x, coefficients, level: float = 0.6, limit: int = 100) -> int:
    for k in range(limit):
        if x > level:
            return k
        x = iterate(x, coefficients, 1)
    return limit


for name, co in ITERATIONS.items():
    a, b, c = co
    orbit = orbits[name]
    print(
        f"{name:>30}: p(1) = {a + b + c:.3f}, p'(1) = {a + 3 * b + 5 * c:+.3f}, slope at 0 = {a:.5g}; "
        f"steps to lift 0.01 above 0.6: {steps_to_reach(0.01, co)}; from x = {orbit[0]}, the last 10 steps "
        f"stay within {max(abs(v - 1) for v in orbit[-10:]):.1e} of 1"
    )
print(f"Muon's quintic, long-run band of the orbit from x = 1: [{band[0]:.3f}, {band[1]:.3f}]")
threshold = xs[np.argmax(iterate(xs, QUINTIC, 5) > band[0] - 0.1)]
after5 = iterate(xs[xs >= threshold], QUINTIC, 5)
print(f"five steps take every x >= {threshold:.1e} into [{after5.min():.2f}, {after5.max():.2f}]")
assert min(tail) < 0.75 and max(tail) > 1.1, (
    "Muon's iterates should not converge: they should keep a wide band"
)
assert all(max(abs(v - 1) for v in orbits[name][-10:]) < 1e-12 for name in list(ITERATIONS)[1:]), (
    "the classic ones converge"
)
a, b, c = RESCALED
with np.errstate(over="ignore", invalid="ignore"):
    escaped = iterate(xs, RESCALED, 5)
peak = iterate(np.linspace(0, 1, 10_001), RESCALED, 1).max()
print(
    f"{'Muon/0.701':>30}: p(1) = {a + b + c:.3f}, slope at 0 = {a:.3g}; its largest value on [0, 1] is "
    f"{peak:.3f}; after five steps {np.mean(~(escaped <= 2)):.0%} of the x in [1e-4, 1] are above 2 "
    f"(Muon's own: {np.mean(iterate(xs, QUINTIC, 5) > 2):.0%})"
)
assert np.mean(~(escaped <= 2)) > 0.25 and iterate(xs, QUINTIC, 5).max() < 1.25, (
    "the rescaled map should run away"
)
assert (
    steps_to_reach(0.01, QUINTIC) <= 4 < 6 <= min(steps_to_reach(0.01, co) for co in (CUBIC, CLASSIC_QUINTIC))
)

# %% [markdown]
# So the trade is explicit. The classic iterations are exact in the limit (1 is a fixed point, $p(1) = 1$,
# and an attracting one, $p'(1) = 0$) but slow to lift small singular values; Muon's is fast (slope 3.4445)
# and pays with a band instead of a point, because 1 is not even a fixed point of it ($p(1) = 0.701$).
# Rescaling is no way out: divide Muon's coefficients by 0.701 and 1 becomes a fixed point and the slope
# at 0 grows to 4.91, but the polynomial then overshoots (its largest value on $[0, 1]$ is printed above)
# and the iterates run away: after five steps a large share of the singular values is above 2 and growing
# (printed above), where Muon's own stay below 1.25. A steep start and staying bounded pull the
# coefficients in opposite directions.
#
# Measured on the real gradient, with `torch.optim.Muon`'s own function (bfloat16, five steps): where do
# its singular values go?

# %%
out_sigma = torch.linalg.svdvals(torch_ns.double()).numpy()
strong = x_in >= threshold
print(
    f"{strong.sum()} of {len(x_in)} singular values are above {threshold:.1e} |G|_F; after torch's "
    f"Newton-Schulz they lie in [{out_sigma[: strong.sum()].min():.3f}, {out_sigma[: strong.sum()].max():.3f}]"
)
print(
    f"the other {(~strong).sum()} end between {out_sigma[strong.sum() :].min():.3f} and "
    f"{out_sigma[strong.sum() :].max():.3f}"
)
print(
    f"bfloat16 against the float64 prediction p^5(sigma_i / |G|_F): largest gap "
    f"{np.abs(out_sigma - predicted).max():.3f}; five steps multiply a small x by at most a^5 = {QUINTIC[0] ** 5:.0f}"
)
assert np.abs(out_sigma - predicted).max() < 0.05, "bfloat16 should follow the scalar prediction closely"
assert after5.min() - 0.03 < out_sigma[: strong.sum()].min() and out_sigma.max() < after5.max() + 0.03

# %% [markdown]
# The strong singular values of the gradient all land in the predicted range; the weakest ones, below the
# threshold, are lifted by up to $3.4445^5 \approx 485$ times but stay below it. What Muon applies is not
# $U V^\top$ but $U S' V^\top$ with $S'$ in a band around 1 — in bfloat16, within about 0.01 of the float64
# prediction.


# %% [markdown]
# ## 3 · Muon, written by hand
#
# `torch.optim.Muon`'s documentation writes its algorithm with the **sum** form of momentum (torch.optim.SGD's,
# notebook 05): for a weight matrix $W$ with gradient $g_t$,
#
# $$B_t = \mu B_{t-1} + g_t, \qquad \tilde B_t = \begin{cases} g_t + \mu B_t & \text{Nesterov} \\ B_t & \text{otherwise}\end{cases},
#   \qquad O_t = \mathrm{NS}_5(\tilde B_t),$$
# $$W \leftarrow (1 - \gamma\lambda)\, W - \gamma'\, O_t, \qquad
#   \gamma' = \begin{cases}\gamma \sqrt{\max(1, A/B)} & \text{"original" (the default)} \\ 0.2\,\gamma\sqrt{\max(A, B)} & \text{"match\_rms\_adamw"}\end{cases}$$
#
# for an $A \times B$ matrix, learning rate $\gamma$, weight decay $\lambda$ (decoupled, as in AdamW, with the
# *unadjusted* rate). The second adjustment makes the update's RMS about $0.2\gamma$ (an orthogonal-ish
# $A\times B$ matrix has RMS $1/\sqrt{\max(A,B)}$), about the RMS of an AdamW step, so AdamW's learning rate
# can be reused (Moonshot AI, 2025). Its **code**, however, updates the buffer with `buf.lerp_(g, 1 - mu)`,
# that is $B_t = \mu B_{t-1} + (1-\mu) g_t$: the course's **averaged** momentum of notebook 05. We write
# what the code does, on notebook 05's `OptimizerTemplate`, and come back to the difference in a moment.
# `_check_muon_settings` rejects what torch rejects (a negative momentum or weight decay, an unknown
# adjustment, a parameter that is not a matrix) and, stricter than torch 2.13 at construction, a momentum of
# 1 or more, `ns_steps = 0` and an infinite weight decay.


# %%
def adjust_lr(lr: float, adjust_lr_fn, shape) -> float:
    """torch's learning rate for one matrix of `shape` (rows, cols): "original" (None) multiplies by
    sqrt(max(1, rows / cols)); "match_rms_adamw" by 0.2 sqrt(max(rows, cols)), which gives the update
    about the RMS of an AdamW step (0.2), so AdamW's learning rate can be reused."""
    rows, cols = shape
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1, rows / cols))
    if adjust_lr_fn == "match_rms_adamw":
        return lr * (0.2 * math.sqrt(max(rows, cols)))
    raise ValueError(f"adjust_lr_fn must be one of {ADJUSTMENTS}, got {adjust_lr_fn!r}")


ADJUSTMENTS = (None, "original", "match_rms_adamw")


class Muon(OptimizerTemplate):
    """Momentum (the course's average), orthogonalized by Newton-Schulz, with decoupled weight decay:
    B <- mu B + (1 - mu) g;  O = NS(mu B + (1 - mu) g  if nesterov else  B);
    W <- (1 - lr wd) W - adjust_lr(lr) O."""

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients=QUINTIC,
        eps: float = 1e-7,
        ns_steps: int = 5,
        adjust_lr_fn=None,
    ):
        super().__init__(params, lr)
        _check_muon_settings(self.params, momentum, weight_decay, adjust_lr_fn, ns_steps)
        _check_positive("eps", eps)
        self.weight_decay, self.momentum, self.nesterov = weight_decay, momentum, nesterov
        self.ns_coefficients, self.eps, self.ns_steps = ns_coefficients, eps, ns_steps
        self.adjust_lr_fn = adjust_lr_fn
        self.param_buffer = {p: torch.zeros_like(p) for p in self.params}

    def update_param(self, p):
        buf = self.param_buffer[p].lerp_(p.grad, 1 - self.momentum)  # mu B + (1 - mu) g
        update = p.grad.lerp(buf, self.momentum) if self.nesterov else buf
        orthogonal = newton_schulz(update, self.ns_coefficients, self.ns_steps, self.eps)
        p.mul_(1 - self.lr * self.weight_decay)
        p.add_(orthogonal, alpha=-adjust_lr(self.lr, self.adjust_lr_fn, p.shape))


# %% [markdown]
# What the two adjustments do to the size of a step, on the real gradient of section 1 (learning rate 1, so
# the number is the update's RMS per unit of learning rate):

# %%
for adjust in ADJUSTMENTS[1:]:
    step = adjust_lr(1.0, adjust, G.shape) * newton_schulz(G).double()
    print(
        f"{adjust:>15}: RMS of Muon's update of the {tuple(G.shape)} gradient at lr 1: {step.pow(2).mean().sqrt():.3f}"
    )
    if adjust == "match_rms_adamw":
        assert 0.1 < step.pow(2).mean().sqrt() < 0.3, (
            "match_rms_adamw should give an update RMS of about 0.2 lr"
        )

# %% [markdown]
# With `match_rms_adamw` the update's RMS is near $0.2$ per unit of learning rate (exactly $0.2$ times the
# RMS of the singular values Newton-Schulz left), about the size of an AdamW step (section 5 measures one);
# with "original" it is several times smaller for this wide matrix, so its learning rate must be
# correspondingly larger. (With this adjustment, section 4 finds the same best rate for Muon and AdamW.)
#
# ### Step for step against `torch.optim.Muon`
#
# Three copies of a small network (hidden sizes 64, 32) take 10 steps on Fashion-MNIST batches: one with
# `torch.optim.Muon`, one with our `Muon`, one with `TorchMuon` (the same rule as a real
# `torch.optim.Optimizer`, in `utils.muon`, with `param_groups` and `state` as in notebook 10). Muon takes
# matrices only, so all three train the three weight matrices and leave the biases alone. Every setting
# that changes the arithmetic is tried: both adjustments, Nesterov on and off, with and without weight
# decay. We ask for **bit-for-bit** equality.


# %%
def train_three(settings: dict, steps: int = 10, torch_settings: dict | None = None):
    """Largest |difference| of any weight between torch.optim.Muon and (our Muon, TorchMuon)."""
    set_seed(3)
    base = BaseNetwork("relu", hidden_sizes=(64, 32))
    nets = [copy.deepcopy(base) for _ in range(3)]
    makers = [
        lambda ps: torch.optim.Muon(ps, lr=0.02, **(torch_settings or settings)),
        lambda ps: Muon(ps, lr=0.02, **settings),
        lambda ps: TorchMuon(ps, lr=0.02, **settings),
    ]
    optimizers = [
        make([p for p in net.parameters() if p.ndim == 2]) for make, net in zip(makers, nets, strict=True)
    ]
    gen = torch_generator(4)
    for _ in range(steps):
        idx = torch.randint(len(x_train), (128,), generator=gen)
        for net, optimizer in zip(nets, optimizers, strict=True):
            optimizer.zero_grad()
            nn.functional.cross_entropy(net(x_train[idx]), y_train[idx]).backward()
            optimizer.step()
    return [
        max((p - q).abs().max().item() for p, q in zip(nets[0].parameters(), net.parameters(), strict=True))
        for net in nets[1:]
    ]


rows = []
for adjust in (None, "match_rms_adamw"):
    for nesterov in (True, False):
        for weight_decay in (0.1, 0.0):
            settings = {"adjust_lr_fn": adjust, "nesterov": nesterov, "weight_decay": weight_decay}
            ours, torch_like = train_three(settings)
            rows.append(
                {
                    **settings,
                    "adjust_lr_fn": str(adjust),
                    "|ours - torch|": ours,
                    "|TorchMuon - torch|": torch_like,
                }
            )
table = pd.DataFrame(rows)
print(table.to_string(index=False))
assert (table[["|ours - torch|", "|TorchMuon - torch|"]] == 0).all().all(), (
    "Muon should equal torch's bit for bit"
)

# %% [markdown]
# Zero in every row: the same operations in the same order give the same bits. A check that always
# reports zero proves nothing, so here is the same comparison with one setting changed on torch's side
# only: each change must show up.

# %%
for change in ({"nesterov": False}, {"adjust_lr_fn": "match_rms_adamw"}, {"weight_decay": 0.0}):
    settings = {"adjust_lr_fn": None, "nesterov": True, "weight_decay": 0.1}
    gap = train_three(settings, torch_settings={**settings, **change})[0]
    print(f"torch with {change}, ours without: largest weight difference {gap:.2e}")
    assert gap > 1e-4, f"the comparison should see a change of {change}"

# %% [markdown]
# ### The factor $(1-\mu)$: why documentation and code agree anyway
#
# Unroll both forms with the same gradients. The code's buffer is $(1-\mu)$ times the documented one at
# every step, $B^{\text{code}}_t = (1-\mu) B^{\text{doc}}_t$, and so is the Nesterov mix:
# $(1-\mu) g_t + \mu B^{\text{code}}_t = (1-\mu)(g_t + \mu B^{\text{doc}}_t)$. With $\mu = 0.95$ that is a factor 20.
# Newton-Schulz starts by dividing by the Frobenius norm, and $cX / \lVert cX\rVert_F = X / \lVert X\rVert_F$ for any
# $c > 0$: the factor cancels. Below, both forms run on the same 20 real gradients (the first layer, 20
# batches), and we compare their updates before and after Newton-Schulz, in float64 and in bfloat16.


# %%
def updates(grads, mu, nesterov: bool, form: str):
    """The matrices Muon hands to Newton-Schulz, step by step; `mu` is a number or one per step."""
    mus = mu if isinstance(mu, list) else [mu] * len(grads)
    buf, out = torch.zeros_like(grads[0]), []
    for g, m in zip(grads, mus, strict=True):
        if form == "documented":
            buf = m * buf + g
            out.append(g + m * buf if nesterov else buf)
        else:  # the code: buf.lerp_(g, 1 - m), g.lerp(buf, m)
            buf = buf.lerp(g, 1 - m)
            out.append(g.lerp(buf, m) if nesterov else buf)
    return out


set_seed(5)
net = BaseNetwork("relu", hidden_sizes=(256, 256))
kaiming_init(net)
grads = []
for batch in torch.randperm(len(x_train), generator=torch_generator(5))[: 20 * 128].view(20, 128):
    net.zero_grad()
    nn.functional.cross_entropy(net(x_train[batch]), y_train[batch]).backward()
    grads.append(net.layers[0].weight.grad.double().clone())


def relative_gap(A, B):
    return ((A - B).norm() / B.norm()).item()


for nesterov in (True, False):
    doc, code = updates(grads, 0.95, nesterov, "documented"), updates(grads, 0.95, nesterov, "code")
    ratio = max(abs(c.norm() / d.norm() - 0.05).item() for c, d in zip(code, doc, strict=True))
    f64 = max(
        relative_gap(newton_schulz(c, dtype=torch.float64), newton_schulz(d, dtype=torch.float64))
        for c, d in zip(code, doc, strict=True)
    )
    bf16 = max(
        relative_gap(newton_schulz(c).double(), newton_schulz(d).double())
        for c, d in zip(code, doc, strict=True)
    )
    rounding = max(
        relative_gap(newton_schulz(d).double(), newton_schulz(d, dtype=torch.float64)) for d in doc
    )
    print(
        f"Nesterov {nesterov!s:>5}: |code| / |doc| = 0.05 within {ratio:.0e}; after NS: float64 gap {f64:.0e}, "
        f"bfloat16 gap {bf16:.1e} (bfloat16's own error against float64: {rounding:.1e})"
    )
    assert ratio < 1e-12 and f64 < 1e-12, "the factor (1 - mu) should cancel exactly in float64"
    assert bf16 < 2 * rounding, "in bfloat16 the two forms should differ by about bfloat16's own error"

# %% [markdown]
# Before Newton-Schulz the two forms differ by exactly the factor 20; after it, not at all in float64
# (up to float64 rounding), and in bfloat16 by about as much as bfloat16's own error against float64
# (each form rounds its own input to bfloat16). The factor cancels **because** Newton-Schulz normalizes
# its input. Three ways to lose that:
#
# 1. **No normalization.** SGD with momentum feeds the buffer to the step directly, so the two forms are
#    different learning rates, 20 times apart (notebook 05's lesson).
# 2. **A momentum that changes during training** (a warm-up of $\mu$, used in some recipes): the code's
#    buffer weighs each past gradient by its own $(1-\mu_t)$, so the two buffers are no longer proportional
#    and the normalization cannot undo it.
# 3. **Tiny gradients.** The division is by $\max(\lVert X\rVert_F, \epsilon)$ with $\epsilon = 10^{-7}$: an update 20
#    times smaller reaches the clamp 20 times sooner.

# %%
doc_sum = updates(grads, 0.95, False, "documented")[-1]
code_avg = updates(grads, 0.95, False, "code")[-1]
sgd_ratio = (doc_sum.norm() / code_avg.norm()).item()
warmup = list(np.linspace(0.85, 0.95, len(grads)))
drift = relative_gap(
    newton_schulz(updates(grads, warmup, True, "code")[-1], dtype=torch.float64),
    newton_schulz(updates(grads, warmup, True, "documented")[-1], dtype=torch.float64),
)
scale = 1e-6 / updates(grads, 0.95, True, "documented")[-1].norm()  # the documented update's norm: 1e-6
tiny = [g * scale for g in grads]
small_doc = newton_schulz(updates(tiny, 0.95, True, "documented")[-1], dtype=torch.float64)
small_code = newton_schulz(updates(tiny, 0.95, True, "code")[-1], dtype=torch.float64)
below_eps = relative_gap(small_code, small_doc)
print(f"1. SGD-style step from the raw buffer: documented / code = {sgd_ratio:.3f} (1 / (1 - mu) = 20)")
print(f"2. momentum warmed up from 0.85 to 0.95: the two Newton-Schulz outputs differ by {100 * drift:.1f} %")
print(
    f"3. gradients {scale:.0e} times as large (norm of the update: documented 1e-6, code 5e-8, eps 1e-7): "
    f"the two Newton-Schulz outputs differ by {100 * below_eps:.1f} %"
)
assert abs(sgd_ratio - 20) < 1e-9, "without normalization the forms differ by 1 / (1 - mu)"
assert drift > 0.01, "a changing momentum should not cancel"
assert below_eps > 0.01, "below eps the code's 20x smaller update should not be normalized"

# %% [markdown]
# With a constant momentum and gradients far above $10^{-7}$, as in any real training run, the two forms
# are the same optimizer; the documentation's form is the easier one to read, the code's the one whose
# buffer stays the size of a gradient.
#
# ### Matrices to Muon, everything else to AdamW
#
# Muon is defined for matrices: `torch.optim.Muon` refuses a bias outright. Its documentation advises
# AdamW for biases and other parameters that are not 2-D, and (following Keller Jordan) the output layer
# is usually left to AdamW as well, like a language model's embedding and head. `utils.muon` has a helper
# that splits a model this way and steps both optimizers together.

# %%
net = BaseNetwork("relu", hidden_sizes=(256, 256))
try:
    torch.optim.Muon(net.parameters())
    refused = None
except ValueError as error:
    refused = str(error)
print(f"torch.optim.Muon(all parameters): ValueError: {refused}")
matrices, rest = split_for_muon(net)
names = {id(p): name for name, p in net.named_parameters()}
print("to Muon: ", [f"{names[id(p)]} {tuple(p.shape)}" for p in matrices])
print("to AdamW:", [f"{names[id(p)]} {tuple(p.shape)}" for p in rest])
pair = muon_with_adamw(net, lr=3e-3, adjust_lr_fn="match_rms_adamw")
print("muon_with_adamw:", [type(o).__name__ for o in pair.optimizers])
assert refused is not None and "2D" in refused, "torch.optim.Muon should refuse a bias"
assert len(matrices) + len(rest) == len(list(net.parameters())) and all(p.ndim == 2 for p in matrices)

# %% [markdown]
# ## 4 · Muon against AdamW on Fashion-MNIST
#
# Comparisons of optimizers are easy to get wrong: an optimizer run at someone else's learning rate
# loses, and rankings read before the learning rate has decayed can flip at the end. So the committed
# study (`utils.muon_study`, made with `python -m utils.muon_study`; one CPU thread) gives each optimizer
# **its own grid** of peak rates, trains each setting with **3 seeds** under warm-up + cosine decay to 0
# (notebook 12's schedule), and reads the accuracy **at the end** of the schedule. The rate is chosen per
# optimizer by the mean validation accuracy; the test accuracy is reported at that rate.
#
# * **AdamW**: `torch.optim.AdamW` on every parameter;
# * **Muon**: `torch.optim.Muon` (momentum 0.95, Nesterov, `adjust_lr_fn="match_rms_adamw"`) on the two
#   hidden weight matrices, AdamW with the same rate on the biases and the output layer (`muon_with_adamw`).

# %%
study = load_study()
recipe, runs = study["recipe"], study["runs"]
print(
    f"network: BaseNetwork(relu, hidden_sizes={tuple(recipe['hidden_sizes'])}), Kaiming init; "
    f"{recipe['train_images']} training images, {recipe['epochs']} epochs, batches of {recipe['batch_size']}, "
    f"weight decay {recipe['weight_decay']}"
)
print(f"schedule: {recipe['schedule']}, {recipe['warmup_steps']} warm-up steps; seeds {recipe['seeds']}")
print(
    f"rate chosen on {recipe['val_images']} validation images, accuracy reported on {recipe['test_images']} "
    f"test images; torch {recipe['torch']}, {recipe['threads']} thread"
)


def values(name, lr, key):
    return np.array([run[key] for run in runs[name][lr].values()])


summary = {}
for name in runs:
    lrs = list(runs[name])
    val = np.array([values(name, lr, "val_acc").mean() for lr in lrs])
    best = lrs[int(val.argmax())]
    test = values(name, best, "test_acc")
    summary[name] = {
        "lrs": [float(lr) for lr in lrs],
        "val": val,
        "val_std": np.array([values(name, lr, "val_acc").std(ddof=1) for lr in lrs]),
        "best": best,
        "test": test,
        "index": int(val.argmax()),
        "ms": 1000 * np.mean([r["seconds_per_step"] for lr in lrs for r in runs[name][lr].values()]),
    }
    print(
        f"{name:>5}: best peak rate {float(best):g} (grid {[float(lr) for lr in lrs]}); test accuracy "
        f"{100 * test.mean():.2f} ± {100 * test.std(ddof=1):.2f} % (mean ± std of {len(test)} seeds: "
        f"{', '.join(f'{100 * t:.2f}' for t in test)}); {summary[name]['ms']:.0f} ms per step"
    )
for name, s in summary.items():
    assert 0 < s["index"] < len(s["lrs"]) - 1, (
        f"{name}'s best rate should lie inside its grid, not at an edge"
    )

# %% alt="Left: validation accuracy against peak learning rate for AdamW and Muon, 3 seeds each, both peaking inside their grids; right: test accuracy at each one's chosen rate, every seed marked: Muon about 1.5 points above AdamW."
fig, axes = plt.subplots(1, 2, figsize=(18, 6.5), gridspec_kw={"width_ratios": [1.6, 1]})
markers = {"AdamW": ("o", "-"), "Muon": ("s", "--")}
for (name, s), color in zip(summary.items(), COLORS, strict=False):
    marker, ls = markers[name]
    axes[0].errorbar(
        s["lrs"],
        100 * s["val"],
        yerr=100 * s["val_std"],
        marker=marker,
        ls=ls,
        color=color,
        lw=3,
        ms=11,
        capsize=8,
        label=name,
    )
    k = list(summary).index(name)
    axes[1].errorbar(
        k,
        100 * s["test"].mean(),
        yerr=100 * s["test"].std(ddof=1),
        fmt=marker,
        color=color,
        ms=14,
        capsize=12,
        lw=3,
    )
    axes[1].plot([k + 0.15] * len(s["test"]), 100 * s["test"], "x", color="black", ms=10, mew=2)
axes[0].set_xscale("log")
axes[0].set_ylim(82, 89)  # the view around the optima; a rate that collapses below is written at the bottom
for (name, s), color in zip(summary.items(), COLORS, strict=False):
    for lr, v in zip(s["lrs"], s["val"], strict=True):
        if 100 * v < 82:
            axes[0].annotate(
                f"{name}, lr {lr:g}:\n{100 * v:.0f} % (below)",
                (lr, 82),
                xytext=(lr / 30, 82.6),
                color=color,
                fontsize=13,
                arrowprops={"arrowstyle": "->", "color": color},
            )
axes[0].set(
    xlabel="peak learning rate", ylabel="validation accuracy (%)", title="Each optimizer's own grid (3 seeds)"
)
axes[0].legend(loc="upper left")
axes[1].set_xticks(range(len(summary)), [f"{n}\nlr {float(s['best']):g}" for n, s in summary.items()])
axes[1].set(
    xlim=(-0.6, len(summary) - 0.4), ylabel="test accuracy (%)", title="At the chosen rate (x: each seed)"
)
fig.tight_layout()
plt.show()

# %% [markdown]
# The figure answers the first question, whether each optimizer was tuned: both curves peak inside their
# grids, so neither is judged at an edge. Now the comparison at the chosen rates, with the standard error
# of the difference of two means over 3 seeds each, the training loss at the end, and the time per step
# (the median over all of each optimizer's runs; the study ran on one thread of a CPU that other jobs
# were sharing, so the times are rough).

# %%
m_muon, m_adamw = summary["Muon"]["test"], summary["AdamW"]["test"]
difference = m_muon.mean() - m_adamw.mean()
se = math.sqrt(m_muon.var(ddof=1) / len(m_muon) + m_adamw.var(ddof=1) / len(m_adamw))
loss = {n: np.mean([r["train_loss"][-1] for r in runs[n][summary[n]["best"]].values()]) for n in summary}
ms = {
    n: 1000 * np.median([r["seconds_per_step"] for lr in runs[n] for r in runs[n][lr].values()])
    for n in summary
}
print(
    f"test accuracy, Muon - AdamW: {100 * difference:+.2f} points, standard error {100 * se:.2f} "
    f"({difference / se:.0f} standard errors)"
)
print(f"final training loss at the chosen rates: Muon {loss['Muon']:.3f}, AdamW {loss['AdamW']:.3f}")
print(
    f"time per step: Muon {ms['Muon']:.0f} ms, AdamW {ms['AdamW']:.0f} ms (x{ms['Muon'] / ms['AdamW']:.1f})"
)
assert difference > 5 * se, "in the stored study Muon should beat AdamW by more than 5 standard errors"
assert loss["Muon"] < loss["AdamW"], "Muon should reach the lower training loss"
assert ms["Muon"] > ms["AdamW"], "a Muon step should cost more than an AdamW step on this CPU"

# %% [markdown]
# **What the numbers show.** On this task, each optimizer at its own best peak rate of a half-decade grid,
# at the end of a cosine decay, Muon's test accuracy is 1.5 points above AdamW's (86.56 ± 0.09 % against
# 85.05 ± 0.04 %), far beyond the seed-to-seed spread, and its training loss ends far lower (0.142
# against 0.329). Both happened to pick the same peak rate, 0.003: with `match_rms_adamw`, AdamW's rate
# carried over to Muon, as that adjustment intends. A Muon step cost about three times an AdamW step here
# (the median over the study's runs).
#
# **What they do not show.** This is one small network (two hidden layers of 256), 10,000 images, 3 epochs
# and 3 seeds on a CPU: not a claim about large models, where a careful tuned comparison (Wen et al., 2025)
# found the gains of matrix optimizers shrinking with model size. Equal **steps**, not equal **time**: per
# second of CPU, AdamW could run several times as many steps, and this study did not test whether that
# closes the gap. The grids are coarse (a factor of about 3
# between rates), momentum, $\beta$'s, weight decay and batch size were not tuned for either, and Muon's
# AdamW part shares its rate. And Muon's advantage is much larger on the training loss than on the test
# accuracy: on 10,000 images, fitting faster is not the same as generalizing better.
#
# A short live run: both optimizers at their chosen rate with the study's recipe cut to **one epoch** and one
# seed. Its accuracies sit below the study's (a third of the training); it shows that the recipe runs here and
# what a step costs on this machine now, not the study's gap.

# %%
data = subset(((x_train, y_train), (x_val, y_val), (x_test, y_test)))
live = {
    n: train_run(n, float(summary[n]["best"]), 0, data, {**RECIPE, "epochs": 1}) for n in ("AdamW", "Muon")
}
for name, run in live.items():
    print(
        f"{name:>5}, one epoch: validation accuracy {100 * run['val_acc']:.2f} %, training loss "
        f"{run['train_loss'][0]:.3f}, {1000 * run['seconds_per_step']:.0f} ms per step"
    )
assert all(run["val_acc"] > 0.8 for run in live.values()), "one epoch should already bring both above 80 %"
assert all(run["val_acc"] < summary[n]["val"][summary[n]["index"]] for n, run in live.items()), (
    "3 epochs beat 1"
)

# %% [markdown]
# ## 5 · AdamW at equilibrium
#
# Weight decay pulls every weight towards 0 by the fraction $\eta\lambda$ per step; the updates push it
# around. For a layer whose scale does not matter (one followed by a normalization, Kosson et al., 2024),
# the two settle into an **equilibrium**. Its values can be worked out for the simplest case, AdamW driven by
# **pure noise**: independent gradients $g \sim \mathcal N(0, 1)$ at every step, so $\sqrt{\hat v} \approx 1$ and Adam's
# normalized step is $u = \hat m / (\sqrt{\hat v} + \epsilon) \approx m$, an exponential average of white noise.
#
# * **Update RMS.** $m = (1-\beta_1)\sum_k \beta_1^k g_{t-k}$ has variance $(1-\beta_1)^2 / (1-\beta_1^2)$, so
#   $\text{RMS}(u) = \sqrt{(1-\beta_1)/(1+\beta_1)}$ — 0.22942 for $\beta_1 = 0.9$ (printed below): momentum averages the
#   noise away.
# * **Weight RMS.** $w \leftarrow (1-\eta\lambda) w - \eta u$. Summed over many steps the averaging does not help
#   (each gradient still enters with total weight 1), so the weights do a random walk with unit-size
#   steps $\eta$ per step, shrunk by $2\eta\lambda$ in variance per step: $\eta^2 = 2\eta\lambda\,\text{RMS}(w)^2$, hence
#   $\text{RMS}(w) = \sqrt{\eta / (2\lambda)}$.
# * **Angle per step.** Decay only shortens $w$; the update, nearly orthogonal to $w$, turns it by
#   $\eta\,\text{RMS}(u) / \text{RMS}(w) = \sqrt{2\eta\lambda\,(1-\beta_1)/(1+\beta_1)}$ radians.
#
# These are limits for small $\eta\lambda$. Summing the discrete steps exactly (momentum correlates
# neighbouring updates, and decay acts between them) gives, for $\rho = 1 - \eta\lambda$,
# $\text{RMS}(w)^2 = \eta^2 \frac{1-\beta_1}{1+\beta_1}\cdot\frac{1+\rho\beta_1}{(1-\rho\beta_1)(1-\rho^2)}$, printed below beside
# the limit; at our settings it is about 1 % below the limit, more than the standard error of our measurement,
# so the weight RMS is tested against this exact value (and its distance to the limit printed). We measure
# with `torch.optim.AdamW` on a 16 × 1024 matrix in float64, from $w = 0$, after
# $8 / (\eta\lambda)$ steps (the distance to equilibrium shrinks like $e^{-2\eta\lambda t}$). Every weight is an
# independent sample, so the standard error of each RMS comes from the 16384 weights, and that of the angle
# from the 16 rows (each row is its own vector); we accept a measurement within **5 standard errors** of
# its formula.


# %%
def adamw_on_noise(lr: float, weight_decay: float, beta1: float, steps: int, seed: int = 0, shape=(16, 1024)):
    """Drive torch.optim.AdamW with N(0, 1) gradients; return the last step's weights, Adam's normalized
    update u = (w_t - (1 - lr wd) w_{t-1}) / lr, and each row's angle between w_{t-1} and w_t."""
    gen = torch_generator(seed)
    w = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.AdamW([w], lr=lr, betas=(beta1, 0.999), weight_decay=weight_decay)
    for _ in range(steps):
        before = w.detach().clone()
        w.grad = torch.randn(shape, generator=gen, dtype=torch.float64)
        optimizer.step()
    after = w.detach()
    update = (after - (1 - lr * weight_decay) * before) / lr
    cos = (after * before).sum(1) / (after.norm(dim=1) * before.norm(dim=1))
    return after, update, torch.arccos(cos.clamp(max=1.0))


def rms_and_error(v):
    """RMS of the entries and its standard error (from the standard error of the mean square)."""
    sq = (v.flatten() ** 2).numpy()
    rms = math.sqrt(sq.mean())
    return rms, sq.std(ddof=1) / math.sqrt(sq.size) / (2 * rms)


def equilibrium(lr, weight_decay, beta1, seed=0):
    """Measured (value, standard error) and the closed form of the weight RMS, update RMS and angle."""
    w, u, angle = adamw_on_noise(lr, weight_decay, beta1, int(8 / (lr * weight_decay)), seed)
    a = angle.numpy()
    measured = {
        "weight RMS": rms_and_error(w),
        "update RMS": rms_and_error(u),
        "angle (rad)": (a.mean(), a.std(ddof=1) / math.sqrt(a.size)),
    }
    ratio = (1 - beta1) / (1 + beta1)
    formula = {
        "weight RMS": math.sqrt(lr / (2 * weight_decay)),
        "update RMS": math.sqrt(ratio),
        "angle (rad)": math.sqrt(2 * lr * weight_decay * ratio),
    }
    rho = 1 - lr * weight_decay
    exact = lr * math.sqrt(ratio * (1 + rho * beta1) / ((1 - rho * beta1) * (1 - rho**2)))
    return measured, formula, exact


def report(title, measured, formula, exact):
    print(
        f"{title}\n   exact discrete weight RMS {exact:.5f} ({100 * (exact / formula['weight RMS'] - 1):+.2f} % "
        "from the limit)"
    )
    for key, (value, se) in measured.items():
        z = (value - (exact if key == "weight RMS" else formula[key])) / se
        print(
            f"   {key:>11}: measured {value:.5f} ± {se:.5f}, formula {formula[key]:.5f} "
            f"({100 * (value / formula[key] - 1):+.2f} %; {z:+.1f} standard errors from "
            f"{'the exact value' if key == 'weight RMS' else 'the formula'})"
        )
        assert abs(z) < 5, f"{title}: {key} should be within 5 standard errors of its formula"


base = {"lr": 2e-3, "weight_decay": 1.0, "beta1": 0.9}
measured, formula, exact = equilibrium(**base)
report(
    f"AdamW on noise, {base}, {int(8 / (base['lr'] * base['weight_decay']))} steps:", measured, formula, exact
)

# %% [markdown]
# All three land on their formulas. Now the ablations: each formula says how the equilibrium should move
# when one setting changes, and each change is measured the same way.
#
# * $\eta \times 4$ and $\lambda / 4$: $\eta\lambda$ is unchanged, so the **angle and the update should stay**, while
#   $\eta/\lambda$ grows 16-fold, so the **weight RMS should grow 4-fold**;
# * $\beta_1 = 0.5$: less averaging, so the **update RMS should grow** to $\sqrt{0.5/1.5} = 0.57735$ and the angle
#   with it, while the **weight RMS should not move**;
# * $\lambda = 0$: no equilibrium at all — the weights random-walk away, their RMS growing like $\eta\sqrt{t}$.

# %%
ablations = {
    "lr x4, weight decay / 4": {"lr": 8e-3, "weight_decay": 0.25, "beta1": 0.9},
    "beta1 = 0.5": {"lr": 2e-3, "weight_decay": 1.0, "beta1": 0.5},
}
for title, settings in ablations.items():
    m, f, e = equilibrium(**settings, seed=1)
    report(f"{title} ({settings}):", m, f, e)
    for key, (value, se) in m.items():
        ratio, expected = value / measured[key][0], f[key] / formula[key]
        ratio_se = ratio * math.hypot(se / value, measured[key][1] / measured[key][0])
        print(
            f"   {key:>11} moved x{ratio:.3f} (formula: x{expected:.3f}; 5 standard errors: {5 * ratio_se:.3f})"
        )
        assert abs(ratio - expected) < 5 * ratio_se, f"{title}: {key} should move as its formula says"
steps = int(8 / (base["lr"] * base["weight_decay"]))  # as many as the baseline's
walk = [rms_and_error(adamw_on_noise(base["lr"], 0.0, 0.9, n, seed=2)[0])[0] for n in (steps // 4, steps)]
print(
    f"weight decay 0: weight RMS {walk[0]:.4f} after {steps // 4} steps, {walk[1]:.4f} after {steps} "
    f"(x{walk[1] / walk[0]:.2f}; a random walk gives x2); the baseline's equilibrium was {measured['weight RMS'][0]:.4f}"
)
assert walk[1] > 2 * measured["weight RMS"][0] and 1.8 < walk[1] / walk[0] < 2.2, (
    "without decay: no equilibrium"
)
unit_steps = walk[1] / (base["lr"] * math.sqrt(steps))
print(
    f"after {steps} steps: weight RMS / (lr sqrt(steps)) = {unit_steps:.3f}: steps of RMS 1 per unit of lr, not "
    f"{formula['update RMS']:.3f} (the update's own RMS): the averaging does not shrink the walk"
)
assert 0.9 < unit_steps < 1.1, (
    "summed over many steps, momentum's averaging should not shrink the random walk"
)

# %% [markdown]
# Every ablation moves the equilibrium the way its formula says, and without weight decay there is none.
# The **angular speed** $\sqrt{2\eta\lambda(1-\beta_1)/(1+\beta_1)}$ depends on the product $\eta\lambda$ only (the
# first ablation kept the product and the angle stayed), while the **weight norm** depends on $\eta/\lambda$.
# Kosson et al. argue that for a layer followed by a normalization, whose output ignores the weights'
# scale, it is this angular speed, not $\eta$ alone, that sets how fast the layer learns. And the weight norm
# at equilibrium is set by $\eta$ and $\lambda$ when the gradients carry no signal: comparing weight norms or
# sharpness across settings of $\eta$ and $\lambda$ needs care (notebook 12's caveat).

# %% [markdown]
# ## Exercises
#
# ### Exercise: Newton-Schulz from scratch
#
# Write `orthogonalize(G)`: Muon's five Newton-Schulz steps with the quintic $(a, b, c) = (3.4445, -4.7750,
# 2.0315)$, for a matrix of any shape, without looking at `newton_schulz` above. Any float dtype will do. The
# checker compares your result with the same iteration in float64 on wide, tall and square matrices, some far
# from norm 1, and names the mistakes it recognises.


# %%
def orthogonalize(G):
    """Your turn: about U V^T for G = U S V^T, by five Newton-Schulz steps."""
    raise NotImplementedError("your turn: normalize, orient, iterate, orient back")


# check_orthogonalize(orthogonalize)

# %% [markdown]
# #### Solution


# %% jupyter={"source_hidden": true} tags=["solution"]
def orthogonalize(G):
    """Five steps of X <- a X + (b A + c A^2) X, A = X X^T, on the wide orientation of G / |G|_F."""
    a, b, c = 3.4445, -4.7750, 2.0315
    tall = G.shape[0] > G.shape[1]
    X = G.T if tall else G
    X = X / X.norm()
    for _ in range(5):
        A = X @ X.T
        X = a * X + (b * A + c * A @ A) @ X
    return X.T if tall else X


check_orthogonalize(orthogonalize)

# %% [markdown]
# ## Summary
#
# * **Steepest descent depends on the norm.** Under the largest-entry norm it is sign descent (Adam with
#   $\beta_1 = \beta_2 = 0$); under the spectral norm it is $-\eta\, U V^\top$: every direction of the gradient
#   matrix moves by the same amount. A real gradient's stable rank is a few units, so this changes a lot.
# * **Newton-Schulz** applies an odd polynomial to every singular value. Muon's quintic has slope 3.4445 at
#   0 (fast to lift small singular values) and $p(1) = 0.701$, so it does not converge: it leaves the
#   singular values in a band around 1, which is what torch's Muon applies (measured on a real gradient).
# * **Muon by hand** equals `torch.optim.Muon` bit for bit, for both learning-rate adjustments, with and
#   without Nesterov and weight decay. The code's averaged momentum and the documentation's summed one
#   differ by the factor $(1-\mu)$, which the normalization cancels — except without normalization, with a
#   changing momentum, or below $\epsilon$. Matrices go to Muon, everything else to AdamW.
# * **Muon vs AdamW**, each at its own tuned rate, at the end of a cosine decay, 3 seeds: Muon 1.5 points
#   more accurate on this small CPU task, at about three times the cost per step; equal time, larger models and
#   tuned momentum or decay were not tested.
# * **AdamW at equilibrium** on noise: weight RMS $\sqrt{\eta/(2\lambda)}$, update RMS $\sqrt{(1-\beta_1)/(1+\beta_1)}$ and
#   angle $\sqrt{2\eta\lambda(1-\beta_1)/(1+\beta_1)}$ per step, measured within 5 standard errors, and moving as the
#   formulas say when $\eta$, $\lambda$ or $\beta_1$ change.
