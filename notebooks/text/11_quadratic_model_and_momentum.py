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
# # 11 · The quadratic model: why momentum works, and with which setting
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/courseware-dl/init-optim-course/blob/main/notebooks/11_quadratic_model_and_momentum.ipynb)
#
# Notebook 07 *showed* that SGD bounces in a ravine while momentum and Adam walk down it. This notebook
# *explains* it, with the one model where everything can be computed: a **quadratic**,
# $f(w) = \tfrac12 w^\top A w$. Near any minimum a smooth loss looks like one (Taylor), so what holds
# here is what an optimizer does in the last part of training, and in every steep direction on the way.
# You will
#
# 1. run gradient descent in the **eigenbasis** of $A$ and see each direction shrink by exactly
#    $|1 - \eta\lambda_i|$ per step: stability needs $\eta < 2/\lambda_{\max}$, the best constant step is
#    $\eta = 2/(\lambda_{\min} + \lambda_{\max})$, and its rate $(\kappa - 1)/(\kappa + 1)$ depends only on
#    the condition number $\kappa = \lambda_{\max}/\lambda_{\min}$;
# 2. derive the best **heavy-ball momentum** and its rate $(\sqrt\kappa - 1)/(\sqrt\kappa + 1)$ — in the
#    course's averaged convention the best step turns out to be simply $\eta = 1/\sqrt{\lambda_{\min}\lambda_{\max}}$ —
#    and **Nesterov**'s variant;
# 3. **measure** every rate by running the course's own optimizers, and check it against the theory;
# 4. read notebook 07's ravine through its curvatures: they predict SGD's largest stable learning rate
#    there, and why momentum with the same $\eta = 10$ did not bounce;
# 5. map where momentum converges and how fast with **sliders** over $\kappa$, $\eta$ and $\beta$;
# 6. see what **Adagrad and RMSprop** (and Adam) do on a quadratic: they equalize curvatures only when the
#    ravine is aligned with the axes.
#
# Sources: Polyak (1964) for the heavy ball, Nesterov (1983), Goh's Distill article *Why Momentum Really
# Works* (2017) for the picture, d2l.ai's optimization chapter for the setting.

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
from matplotlib.colors import LogNorm
from matplotlib_inline.backend_inline import set_matplotlib_formats

from utils import numpy_rng, set_seed
from utils.exercises.quadratic import check_best_heavy_ball, check_rmsprop
from utils.optimizers import (
    SGD,
    OptimizerTemplate,
    SGDMomentum,
    SGDNesterov,
    _check_positive,
    _check_range,
)
from utils.plotting import OPTIMIZER_COLORS, OPTIMIZER_STYLES, PALETTE, set_course_style
from utils.quadratic import (
    curvatures,
    distances_on_grid,
    error_norms,
    measured_rate,
    momentum_rate,
    run_on_quadratic,
)
from utils.sliders import float_slider, int_slider, live_figure, log_slider
from utils.surfaces import pathological_curve_loss, train_curve

set_matplotlib_formats("png")
set_course_style()
set_seed(42)
COLORS = OPTIMIZER_COLORS  # one colour per optimizer, the same in every notebook

# %% [markdown]
# ## 1 · Gradient descent in the eigenbasis
#
# A symmetric positive definite $A$ has orthonormal eigenvectors $q_i$ with eigenvalues (curvatures)
# $0 < \mu = \lambda_{\min} \le \dots \le \lambda_{\max} = L$. Write the weights in that basis,
# $x_i = q_i^\top w$. The gradient is $\nabla f = A w$, so one step $w \leftarrow w - \eta A w$ becomes
#
# $$x_i \leftarrow (1 - \eta \lambda_i)\, x_i \qquad \text{for every } i \text{ separately.}$$
#
# The directions do not talk to each other: gradient descent is $n$ one-dimensional problems, and after $t$
# steps $x_i = (1 - \eta\lambda_i)^t x_i^{(0)}$. Let us check that on a quadratic whose eigenvectors are a
# random rotation (so nothing is aligned with the axes), running the course's `SGD` from notebook 05 on it.
# `run_on_quadratic` (in `utils.quadratic`) runs any optimizer of the course on $f$ in float64 and returns
# the weights after every step.

# %%
lambdas = curvatures(kappa=100, n=6)  # 0.01 ... 1, evenly spaced on a log scale
rotation, _ = np.linalg.qr(numpy_rng(0).standard_normal((6, 6)))  # a random orthonormal basis
A = rotation @ np.diag(lambdas) @ rotation.T
w0 = numpy_rng(1).standard_normal(6)
eta = 1.0  # = 1 / L
path = run_on_quadratic(lambda params: SGD(params, lr=eta), A, w0, steps=100)

x = path @ rotation  # the same path in the eigenbasis: x_i = q_i . w
steps = np.arange(len(x))[:, None]
predicted = (1 - eta * lambdas) ** steps * x[0]
print("curvature lambda_i :", np.round(lambdas, 4))
print("factor |1 - eta l_i|:", np.round(np.abs(1 - eta * lambdas), 4))
print(f"largest gap between the run and (1 - eta lambda_i)^t x_i(0): {np.abs(x - predicted).max():.1e}")

# %% [markdown]
# Each direction on its own, on a log scale: straight lines, with slope $\log|1 - \eta\lambda_i|$. The
# steep direction ($\lambda = L = 1$, $\eta\lambda = 1$) is solved in one step (up to round-off: its curve then wobbles near $10^{-16}$); the flattest one shrinks by
# only 1 % per step, and in the long run it alone decides how long the whole run takes (within the 100
# steps drawn, a slightly steeper direction that started farther out can still be ahead of it).

# %% alt="Distance along each of six eigendirections per step, log scale, for gradient descent with step 1/L, with the formula drawn dotted: each falls on a straight line, the steepest solved in one step, the flattest shrinking only 1 percent per step."
fig, ax = plt.subplots(figsize=(11, 6))
colors = plt.cm.viridis(np.linspace(0, 0.9, len(lambdas)))
for i, (lam, color) in enumerate(zip(lambdas, colors)):
    ax.semilogy(np.abs(x[:, i]) + 1e-300, color=color, lw=3, label=f"$\\lambda$ = {lam:.3g}")
    ax.semilogy(np.abs(predicted[:, i]) + 1e-300, "k:", lw=1.5)
ax.set(
    xlabel="step",
    ylabel="$|x_i|$ (distance along $q_i$)",
    ylim=(1e-17, 10),
    title="GD with $\\eta = 1/L$: each eigendirection shrinks by $|1-\\eta\\lambda_i|$ per step",
)
ax.legend(
    loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=13, title="dotted: the formula", title_fontsize=13
)
plt.show()

# %% [markdown]
# ## 2 · Stability and the best constant step
#
# The error as a whole shrinks, in the long run, by the factor of its slowest direction,
#
# $$\rho_{\rm GD}(\eta) = \max_i |1 - \eta\lambda_i| = \max\big(|1 - \eta\mu|,\ |1 - \eta L|\big),$$
#
# the **rate** (smaller is faster). Two things follow.
#
# * **Stability**: $|1 - \eta L| < 1$ needs $\eta < 2/L$. Above it, the steepest direction flips sign and
#   *grows* every step: the run diverges, however flat the other directions are.
# * **The best step** balances the two ends, $1 - \eta\mu = \eta L - 1$, which gives
#   $\eta^\star = 2/(\mu + L)$ and
#   $$\rho^\star_{\rm GD} = \frac{L - \mu}{L + \mu} = \frac{\kappa - 1}{\kappa + 1} \approx 1 - \frac{2}{\kappa}.$$
#   To shrink the error by $e$ takes about $\kappa/2$ steps: the condition number *is* the difficulty.
#
# `measured_rate` measures a rate from a run of $T$ steps: the average shrink factor per step over its
# second half, $(|w_T| / |w_{T/2}|)^{2/T}$. That is the slowest direction's factor plus a bias from the others,
# which have not quite died out: if the second-slowest factor is $q$ times the slowest one and the run
# starts at the same distance along each of the $n$ eigendirections, the bias is at most
# $\ln(1 + (n-1)\,q^T)/T$ relatively: largest at the smallest $\eta$, where the two flattest directions shrink
# almost equally fast (the cell prints it). A start that barely touches the slowest direction would need a
# far longer run. Every dot below is one run of
# `SGD` for $T = 600$ steps from $w = (1, \dots, 1)$ in the eigenbasis, and the check after the figure
# compares each with the theory within that bound, computed for its $\eta$.

# %% alt="Gradient descent's rate per step against the learning rate on a quadratic with condition number 10: the theoretical rate, the larger of the flattest and steepest factors, matches every measured dot, is best at 2/(mu+L) and exceeds 1 beyond 2/L."
kappa = 10
lam10 = curvatures(kappa)
mu, L = lam10.min(), lam10.max()
even_start = np.ones(len(lam10))  # the same distance along every eigendirection (A is diagonal here)
etas = np.linspace(0.05, 2.15, 400)
dot_etas = np.linspace(0.1, 2.1, 21)
T = 600
measured = [measured_rate(run_on_quadratic(lambda p: SGD(p, lr=e), lam10, even_start, T)) for e in dot_etas]

fig, ax = plt.subplots(figsize=(12, 6.5))
ax.plot(etas, np.abs(1 - etas * mu), "--", color=PALETTE[2], lw=2.5, label="$|1-\\eta\\mu|$ (flattest)")
ax.plot(etas, np.abs(1 - etas * L), "-.", color=PALETTE[4], lw=2.5, label="$|1-\\eta L|$ (steepest)")
ax.plot(etas, momentum_rate(etas, 0.0, lam10), color="black", lw=3.5, label="rate = the larger one")
ax.plot(dot_etas, measured, "o", color=COLORS["SGD"], ms=10, label="measured (SGD, 600 steps)")
ax.axvline(2 / L, color=PALETTE[3], lw=2)
ax.text(2 / L - 0.03, 1.45, "$2/L$: unstable beyond", color=PALETTE[3], ha="right")
ax.annotate(
    f"$\\eta^\\star = 2/(\\mu+L)$\nrate $(\\kappa-1)/(\\kappa+1)$ = {(kappa - 1) / (kappa + 1):.3f}",
    xy=(2 / (mu + L), (kappa - 1) / (kappa + 1)),
    xytext=(0.75, 0.3),
    arrowprops=dict(arrowstyle="->", lw=2, color="black"),
)
ax.set(
    xlabel="learning rate $\\eta$ (with $L = 1$)",
    ylabel="rate (shrink factor per step)",
    ylim=(0, 1.6),
    title=f"Gradient descent on a quadratic with $\\kappa$ = {kappa}",
)
ax.legend(loc="upper left", fontsize=13)
plt.show()
theory = momentum_rate(dot_etas, 0.0, lam10)
factors = np.sort(np.abs(1 - dot_etas[:, None] * lam10), axis=1)
q = factors[:, -2] / factors[:, -1]  # second-slowest over slowest factor, per learning rate
bound = np.log1p((len(lam10) - 1) * q**T) / T  # the bias of measured_rate from an even start
bound += 1e-12  # and float64 round-off, which the 2/T-th root of measured_rate shrinks far below this
relative_gap = np.abs(np.array(measured) / theory - 1)
print(f"at eta = {dot_etas[0]:.1f}: q = {q[0]:.4f}, bound ln(1 + (n-1) q^T) / T = {bound[0]:.1e}")
print(f"largest relative gap between measured and theoretical rate: {relative_gap.max():.1e}")
print(f"largest gap as a fraction of its bound ln(1 + (n-1) q^T) / T: {np.max(relative_gap / bound):.2f}")
assert np.all(relative_gap <= bound), (
    "every measured GD rate should match max |1 - eta lambda_i| within the bias"
)

# %% [markdown]
# Right at the edge: $\eta$ 0.5 % below $2/L$ still converges (slowly: the steep direction flips sign
# every step), 0.5 % above it diverges. And the best step's rate is measured at three condition numbers:

# %%
start = numpy_rng(2).standard_normal(len(lam10))  # a random start, for this section and the next ones
for factor in (0.995, 1.005):
    run = run_on_quadratic(lambda p: SGD(p, lr=factor * 2 / L), lam10, start, 2000)
    print(
        f"eta = {factor:.3f} x 2/L: |w| went from {np.linalg.norm(run[0]):.2f} to {np.linalg.norm(run[-1]):.2e}"
    )
    assert (np.linalg.norm(run[-1]) < 1e-3) == (factor < 1), "GD should be stable exactly for eta < 2/L"

gd_rates = {}
for kappa in (10, 100, 1000):
    lam = curvatures(kappa)
    eta_best = 2 / (lam.min() + lam.max())
    gd_rates[kappa] = measured_rate(run_on_quadratic(lambda p: SGD(p, lr=eta_best), lam, start, 5000))
    theory = (kappa - 1) / (kappa + 1)
    print(
        f"kappa = {kappa:4d}: best GD rate measured {gd_rates[kappa]:.5f}, theory (k-1)/(k+1) = {theory:.5f}"
    )
    assert abs(gd_rates[kappa] / theory - 1) < 1e-6, f"GD's best rate at kappa = {kappa} is off the theory"

# %% [markdown]
# ## 3 · Heavy-ball momentum: a 2 × 2 matrix per direction
#
# Momentum remembers the last step. In the *classic* (Polyak, torch) variables, with a step $\alpha$ per
# gradient,
#
# $$w_{t+1} = w_t - \alpha\nabla f(w_t) + \beta\,(w_t - w_{t-1}).$$
#
# The course's averaged momentum of notebook 05, $m_t = \beta m_{t-1} + (1-\beta) g_t$,
# $w_t = w_{t-1} - \eta\, m_t$, is **the same algorithm with $\alpha = (1-\beta)\eta$** (notebook 05's table
# of conventions). In the eigenbasis every direction is again on its own, but now it needs two numbers of
# history:
#
# $$\begin{pmatrix} x_{t+1} \\ x_t \end{pmatrix} = \underbrace{\begin{pmatrix} 1 + \beta - \alpha\lambda & -\beta \\ 1 & 0 \end{pmatrix}}_{M(\lambda)}
#   \begin{pmatrix} x_t \\ x_{t-1} \end{pmatrix}.$$
#
# The rate is the largest $|z|$ over the eigenvalues $z$ of $M(\lambda_i)$, the roots of
# $z^2 - (1 + \beta - \alpha\lambda)z + \beta = 0$ (`momentum_rate` in `utils.quadratic` computes them).
# Their product is $\beta$. When the roots are complex (the direction *oscillates*) both have modulus
# exactly $\sqrt\beta$, whatever $\lambda$ is. So the best we can do is to choose $\beta$ as small as possible
# such that **every** curvature from $\mu$ to $L$ gives complex roots: that is the discriminant
# $(1 + \beta - \alpha\lambda)^2 - 4\beta \le 0$ at both ends, i.e. $(1 - \sqrt\beta)^2 \le \alpha\mu$ and
# $\alpha L \le (1 + \sqrt\beta)^2$. Making both tight:
#
# $$\sqrt{\beta^\star} = \frac{\sqrt\kappa - 1}{\sqrt\kappa + 1}, \qquad \alpha^\star = \frac{4}{(\sqrt L + \sqrt\mu)^2},
#   \qquad \rho^\star_{\rm HB} = \sqrt{\beta^\star} = \frac{\sqrt\kappa - 1}{\sqrt\kappa + 1} \approx 1 - \frac{2}{\sqrt\kappa}.$$
#
# $\kappa$ became $\sqrt\kappa$: at $\kappa = 100$, about 5 steps per factor $e$ instead of 50. In the
# course's convention the best step is $\eta^\star = \alpha^\star/(1 - \beta^\star)$, and since
# $1 - \beta^\star = 4\sqrt\kappa/(\sqrt\kappa + 1)^2$ this simplifies to
#
# $$\eta^\star = \frac{1}{\sqrt{\mu L}},$$
#
# one over the geometric mean of the extreme curvatures: $\sqrt\kappa/2$ times gradient descent's stability
# limit $2/L$, so above it once $\kappa > 4$ and five times above it at $\kappa = 100$. Momentum's own limit is larger: $M(L)$ stays stable while
# $\alpha L < 2(1 + \beta)$, i.e. $\eta < 2(1+\beta)/((1-\beta)L)$.
#
# Now the measurement, with the course's `SGDMomentum` at $(\eta^\star, \beta^\star)$:


# %%
def best_heavy_ball_setting(mu, L):
    """(eta, beta) of the fastest heavy ball in the course's averaged convention (w <- w - eta m)."""
    beta = ((np.sqrt(L / mu) - 1) / (np.sqrt(L / mu) + 1)) ** 2
    return 1 / np.sqrt(mu * L), beta


hb_rates = {}
for kappa in (10, 100, 1000):
    lam = curvatures(kappa)
    eta_hb, beta_hb = best_heavy_ball_setting(lam.min(), lam.max())
    alpha = 4 / (np.sqrt(lam.max()) + np.sqrt(lam.min())) ** 2
    assert abs(eta_hb * (1 - beta_hb) - alpha) < 1e-12 * alpha, (
        "eta* (1 - beta*) should be the classic alpha*"
    )
    run = run_on_quadratic(lambda p: SGDMomentum(p, lr=eta_hb, momentum=beta_hb), lam, start, 5000)
    hb_rates[kappa] = measured_rate(run)
    theory = (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)
    kept = len(error_norms(run)) - 1  # steps before the error fell below 1e-200 of its start
    excess = hb_rates[kappa] / theory - 1
    print(
        f"kappa = {kappa:4d}: eta* = {eta_hb:6.2f}, beta* = {beta_hb:.4f}; rate measured {hb_rates[kappa]:.5f}, "
        f"theory {theory:.5f} (GD: {gd_rates[kappa]:.5f});  T = {kept:4d} steps kept, "
        f"excess {excess:.2e}, 2 ln 2 / T = {2 * np.log(2) / kept:.2e}"
    )
    assert 0 < excess < 5e-3, f"heavy ball's best rate at kappa = {kappa} is off the theory"
    assert abs(excess / (2 * np.log(2) / kept) - 1) < 0.05, "the excess should be the factor t of t rho^t"
    assert abs(momentum_rate(alpha, beta_hb, lam) / theory - 1) < 1e-6, (
        "the 2x2 matrices should give the same rate"
    )

# %% [markdown]
# The measured rate sits a hair *above* the theory (by less than 0.5 %; gradient descent's matched it to
# all printed digits), and that is a real effect, not noise: at the optimum the two roots of $M(\mu)$ and
# of $M(L)$ coincide, the matrix is not diagonalizable, and the error decays like $t\,\rho^t$ rather than
# $\rho^t$. Over the second half of the $T$ steps that `measured_rate` keeps (those before the error fell
# below $10^{-200}$ of its start, fewer than the 5000 run when the rate is fast) the factor $t$ multiplies
# the measured rate by $2^{2/T}$, i.e. adds $2\ln 2 / T$ to it relatively: the two last columns above.
#
# ## 4 · Nesterov: the gradient at the look-ahead point
#
# Nesterov's momentum (notebook 05, exercise 2) evaluates the gradient where momentum is about to carry the
# weights. The course's `SGDNesterov`, like torch's, stores the weights at that look-ahead point instead
# (a change of variables): the matrix, and so the rate, are the same, as the measurement below confirms. On a quadratic its matrix has trace $(1-\alpha\lambda)(1+\beta)$ and determinant $(1-\alpha\lambda)\beta$
# (again $\alpha = (1-\beta)\eta$ for the course's `SGDNesterov`). The textbook setting for a strongly convex
# function, $\alpha = 1/L$ and $\beta = (\sqrt\kappa - 1)/(\sqrt\kappa + 1)$, makes the roots of $M(\mu)$
# coincide at $z = 1 - 1/\sqrt\kappa$: the rate is
#
# $$\rho_{\rm NAG} = 1 - \frac{1}{\sqrt\kappa},$$
#
# again $\sqrt\kappa$, with half of heavy ball's exponent. On quadratics heavy ball is the faster of the two;
# Nesterov's advantage is that its guarantee holds for *every* smooth strongly convex function, where the
# heavy ball with its quadratic-optimal setting can fail to converge (Lessard, Recht & Packard, 2016).

# %%
nag_rates = {}
for kappa in (10, 100, 1000):
    lam = curvatures(kappa)
    beta_nag = (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)
    eta_nag = (1 / lam.max()) / (1 - beta_nag)  # the course's eta for alpha = 1/L
    run = run_on_quadratic(lambda p: SGDNesterov(p, lr=eta_nag, momentum=beta_nag), lam, start, 5000)
    nag_rates[kappa] = measured_rate(run)
    theory = 1 - 1 / np.sqrt(kappa)
    print(
        f"kappa = {kappa:4d}: Nesterov rate measured {nag_rates[kappa]:.5f}, theory 1 - 1/sqrt(k) = {theory:.5f}"
    )
    assert 0 <= nag_rates[kappa] / theory - 1 < 5e-3, f"Nesterov's rate at kappa = {kappa} is off the theory"
    assert hb_rates[kappa] < nag_rates[kappa] < gd_rates[kappa], "expected heavy ball < Nesterov < GD"

# %% [markdown]
# The difference in practice: the number of steps to shrink the error a millionfold,
# $\ln 10^{6} / (-\ln\rho)$, for each method at its best setting, from the measured rates.

# %% alt="Steps needed to shrink the error a millionfold against condition number 10, 100 and 1000, log-log, for tuned gradient descent, Nesterov and the heavy ball: gradient descent grows like kappa, both momentum methods like its square root, the heavy ball fastest."
fig, ax = plt.subplots(figsize=(11, 6))
kappas = np.array([10, 100, 1000])
for name, rates, label in [
    ("SGD", gd_rates, "GD, $\\eta = 2/(\\mu+L)$"),
    ("SGDNesterov", nag_rates, "Nesterov, $\\alpha = 1/L$"),
    ("SGDMomentum", hb_rates, "heavy ball, $(\\eta^\\star, \\beta^\\star)$"),
]:
    steps_needed = np.log(1e6) / -np.log([rates[k] for k in kappas])
    ax.loglog(
        kappas,
        steps_needed,
        "-",
        marker=OPTIMIZER_STYLES[name]["marker"],
        color=COLORS[name],
        lw=3,
        ms=11,
        label=label,
    )
    for k, s in zip(kappas, steps_needed):
        ax.annotate(
            f"{s:.0f}", (k, s), textcoords="offset points", xytext=(8, -18), fontsize=13, color=COLORS[name]
        )
ax.set(
    xlabel="condition number $\\kappa = L/\\mu$",
    ylabel="steps to shrink the error $10^6$-fold",
    title="GD needs ~$\\kappa$ steps, momentum ~$\\sqrt{\\kappa}$",
)
ax.legend(loc="upper left")
plt.show()
ratio = np.log(hb_rates[1000]) / np.log(gd_rates[1000])
print(f"at kappa = 1000 the best heavy ball needs {ratio:.0f} times fewer steps than the best GD")
assert 25 < ratio < 40, "the gain should be about sqrt(kappa) ~ 32 at kappa = 1000"

# %% [markdown]
# ## 5 · Where does momentum converge, and how fast? (sliders)
#
# The left map colours the heavy ball's speed for every $(\eta, \beta)$ in the course's convention: the
# number of steps that shrink the error tenfold, $-1/\log_{10}\rho$ (darker is faster; white: unstable,
# the error grows). The row $\beta = 0$ is gradient descent. The cross marks the
# best setting $(\eta^\star, \beta^\star)$, the circle the setting of the sliders. The right panel runs the
# course's `SGD`, `SGDMomentum` and `SGDNesterov` with the sliders' $\eta$ (and $\beta$) on a quadratic with
# the sliders' $\kappa$, and draws the distance to the minimum; dotted lines are the theoretical rates
# $\rho^t$. Things to try: push $\eta$ past GD's limit $2/L$ (GD explodes, momentum does not); lower $\beta$
# at a large $\eta$ (momentum explodes too); raise $\kappa$ (everything slows, GD most).

# %% alt="At condition number 100, left: the heavy ball's speed over learning rate and momentum, unstable settings blank, best setting marked; right: at that setting only the heavy ball converges, while SGD and Nesterov explode."
eta_grid = np.geomspace(0.1, 300, 220)
beta_grid = np.linspace(0, 0.995, 200)
SLIDER_START = numpy_rng(3).standard_normal(6)
ETA_STAR, BETA_STAR = best_heavy_ball_setting(curvatures(100).min(), curvatures(100).max())  # the default


def show_momentum(log10_kappa=2.0, eta=ETA_STAR, beta=BETA_STAR, steps=150):
    """Rate map of the heavy ball (left) and the three optimizers' runs (right) for one setting."""
    kappa = 10.0**log10_kappa
    lam = curvatures(kappa)
    E, B = np.meshgrid(eta_grid, beta_grid, indexing="ij")
    rates = momentum_rate(E * (1 - B), B, lam)
    with np.errstate(divide="ignore"):
        steps_per_10x = np.where(rates < 1, -1 / np.log10(rates), np.nan)
    fig, (ax_map, ax_run) = plt.subplots(1, 2, figsize=(17, 6.5), gridspec_kw={"width_ratios": [1, 1.15]})
    image = ax_map.pcolormesh(E, B, steps_per_10x, cmap="viridis", norm=LogNorm(1, 1e4), shading="auto")
    fig.colorbar(image, ax=ax_map, label="steps per 10x shrink")
    eta_best, beta_best = best_heavy_ball_setting(lam.min(), lam.max())
    ax_map.plot(eta_best, beta_best, "x", color="black", ms=16, mew=4)
    ax_map.plot(eta, beta, "o", mfc="none", mec=PALETTE[3], ms=16, mew=3.5)
    ax_map.set(
        xscale="log",
        xlabel="learning rate $\\eta$ (course convention, $L = 1$)",
        ylabel="momentum $\\beta$",
        title=f"Heavy ball, $\\kappa$ = {kappa:.3g}: best rate {np.sqrt(beta_best):.3f}",
    )
    runs = {
        "SGD": lambda p: SGD(p, lr=eta),
        "SGDMomentum": lambda p: SGDMomentum(p, lr=eta, momentum=beta),
        "SGDNesterov": lambda p: SGDNesterov(p, lr=eta, momentum=beta),
    }
    theory = {
        "SGD": momentum_rate(eta, 0.0, lam),
        "SGDMomentum": momentum_rate(eta * (1 - beta), beta, lam),
        "SGDNesterov": momentum_rate(eta * (1 - beta), beta, lam, nesterov=True),
    }
    t = np.arange(steps + 1)
    for name, make in runs.items():
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run overflows: drawn up to 1e4
            dist = np.linalg.norm(run_on_quadratic(make, lam, SLIDER_START, steps), axis=1) / np.linalg.norm(
                SLIDER_START
            )
            predicted = float(theory[name]) ** t
        ax_run.semilogy(
            t,
            np.where(dist < 1e4, dist, np.nan),
            color=COLORS[name],
            lw=3,
            marker=OPTIMIZER_STYLES[name]["marker"],
            markevery=max(steps // 8, 1),
            label=f"{name}: rate {float(theory[name]):.3f}",
        )
        ax_run.semilogy(t, np.where(predicted < 1e4, predicted, np.nan), ":", color=COLORS[name], lw=2)
    ax_run.set(
        ylim=(1e-12, 1e3),
        xlabel="step",
        ylabel="distance to the minimum (relative)",
        title=f"$\\eta$ = {eta:.3g}, $\\beta$ = {beta:.4f}",
    )
    ax_run.legend(loc="lower left", fontsize=13)
    fig.tight_layout()
    print(
        f"eta = {eta:.4g}, beta = {beta:.4f}: rate "
        + ", ".join(f"{n} {float(r):.4f}" for n, r in theory.items())
    )
    return fig


show_momentum()
with np.errstate(over="ignore", invalid="ignore"):
    default_ends = {
        name: np.linalg.norm(run_on_quadratic(make, curvatures(100), np.ones(6), 150)[-1]) / np.sqrt(6)
        for name, make in [
            ("SGD", lambda p: SGD(p, lr=ETA_STAR)),
            ("SGDMomentum", lambda p: SGDMomentum(p, lr=ETA_STAR, momentum=BETA_STAR)),
            ("SGDNesterov", lambda p: SGDNesterov(p, lr=ETA_STAR, momentum=BETA_STAR)),
        ]
    }
print(
    "from w = (1, ..., 1), |w| after 150 steps: " + ", ".join(f"{n} {d:.1e}" for n, d in default_ends.items())
)
assert (
    default_ends["SGDMomentum"] < 1e-9
    and not default_ends["SGD"] < 1e9
    and not default_ends["SGDNesterov"] < 1e9
), "at the default only the heavy ball should converge"

# %% [markdown]
# At the default setting ($\kappa = 100$, the best heavy ball $\eta^\star = 10$, $\beta^\star = 0.6694$)
# the heavy ball converges at its best rate $\sqrt{\beta^\star} = 0.8182$, while gradient descent with the
# same $\eta$ is five times past its limit $2/L$ and explodes. So does Nesterov, whose limit is lower. Setting $z = -1$ in its characteristic polynomial gives its limit
# $\alpha L < 2(1+\beta)/(1+2\beta)$, against the heavy ball's $\alpha L < 2(1+\beta)$ (with
# $\alpha = (1-\beta)\eta$). The map's stable region is a wedge that widens as $\beta \to 1$. The cell
# below checks both limits at 0.99 and 1.01 times their value, with the theory's rate and with 400 steps of
# the course's `SGDMomentum` and `SGDNesterov` from $w = (1, \dots, 1)$ (relative distance printed):

# %%
lam100 = curvatures(100)
for beta in (0.0, 0.5, 0.9, 0.99):
    for nesterov, alpha_limit in ((False, 2 * (1 + beta)), (True, 2 * (1 + beta) / (1 + 2 * beta))):
        inside = momentum_rate(0.99 * alpha_limit, beta, lam100, nesterov=nesterov)
        outside = momentum_rate(1.01 * alpha_limit, beta, lam100, nesterov=nesterov)
        name, method = ("Nesterov", SGDNesterov) if nesterov else ("heavy ball", SGDMomentum)
        ends = [
            np.linalg.norm(
                run_on_quadratic(
                    lambda p, f=f: method(p, lr=f * alpha_limit / (1 - beta), momentum=beta),
                    lam100,
                    np.ones(6),
                    400,
                )[-1]
            )
            / np.sqrt(6)
            for f in (0.99, 1.01)
        ]
        print(
            f"beta = {beta:4.2f}, {name:>10}: stable for eta < {alpha_limit / (1 - beta):6.1f};  "
            f"rate at 0.99x: {inside:.4f}, at 1.01x: {outside:.4f};  |w| after 400 steps: "
            f"{ends[0]:.1e} at 0.99x, {ends[1]:.1e} at 1.01x"
        )
        assert ends[0] < 1 and ends[1] > 100, (
            f"the course's {name} should converge at 0.99x its limit, not at 1.01x"
        )

# %% [markdown]
# With a running kernel the sliders redraw the figure (on GitHub or nbviewer the figure above is what they
# show at their initial values).

# %% alt="Slider version of the heavy-ball map and runs, by default the same view as above at condition number 100 and the best setting; sliders change kappa, learning rate, momentum and steps."
live_figure(
    show_momentum,
    log10_kappa=float_slider("log10 κ", 2, 0, 4, 0.1, readout_format=".1f"),
    eta=log_slider("learning rate η", ETA_STAR, -1, 2.4, 0.02),
    beta=float_slider("momentum β", BETA_STAR, 0, 0.99, 0.01, readout_format=".4f"),
    steps=int_slider("steps", 150, 10, 1000, 10),
)

# %% [markdown]
# ## 6 · Notebook 07's ravine, read through its curvatures
#
# The ravine $\mathcal{L} = \tanh(w_1)^2 + 0.01|w_1| + \sigma(w_2)$ is not a quadratic, but near its floor
# ($w_1 \approx 0$) it is close to one. It is a sum of a term in $w_1$ and a term in $w_2$, so its Hessian is
# diagonal everywhere; on the floor it is $\approx 2$ across and $\sigma''(w_2)$ along. `torch.autograd.functional.hessian` gives the matrix at a few points of the floor
# (at $w_1 = 10^{-3}$, off the kink of $|w_1|$):


# %%
def ravine_hessian(w1, w2):
    w = torch.tensor([w1, w2], dtype=torch.float64)
    return torch.autograd.functional.hessian(lambda v: pathological_curve_loss(v[0], v[1]), w).numpy()


print(f"{'point':>14} | {'across (w1)':>11} {'along (w2)':>11} | {'off-diagonal':>12} | {'kappa':>8}")
for w2 in (-3.0, -7.0, -13.0):
    H = ravine_hessian(1e-3, w2)
    print(
        f"{str((1e-3, w2)):>14} | {H[0, 0]:11.4f} {H[1, 1]:11.2e} | {abs(H[0, 1]):12.1e} | {H[0, 0] / H[1, 1]:8.0f}"
    )
H7 = ravine_hessian(1e-3, -7.0)

# %% [markdown]
# What the quadratic model predicts from these numbers:
#
# * **SGD's stable learning rate is $\eta < 2/\lambda_{\max} = 2/2 = 1$** on the floor. Notebook 07's SGD
#   used $\eta = 10$, ten times the limit: that is why it was thrown from wall to wall. Only where
#   $\tanh$ saturates (far up the walls) is the curvature small enough for $\eta = 10$.
# * The course's momentum with $\beta = 0.9$ is stable while $\eta < 2(1+\beta)/((1-\beta)\lambda_{\max}) = 19$.
#   Notebook 07's `SGDMomentum` with $\eta = 10$ was **inside** its stable range — the same $\eta$,
#   but it steps only $(1-\beta)\eta = 1$ per gradient and lets the oscillation cancel in its average.
#
# Along the floor the quadratic model has nothing to say: $\sigma(w_2)$ has no minimum (it keeps falling as
# $w_2 \to -\infty$), and its curvature shrinks from 4.09e-02 at $w_2 = -3$ to 2.26e-06 at $w_2 = -13$, so the
# "condition number" of the table runs from 49 to 884831 within one walk. The rates of sections 2-4
# describe convergence to a minimum with fixed curvatures; neither holds along the floor.
#
# The two predictions are checked on the ravine itself: 300 steps from just beside the floor, at 0.8 and 1.2
# times each limit (the kink of $0.01|w_1|$ leaves a small wobble even below the limit).

# %%
wobbles = {}
limits = {"SGD": 2 / H7[0, 0], "SGDMomentum": 2 * (1 + 0.9) / ((1 - 0.9) * H7[0, 0])}
makers = {
    "SGD": lambda lr: lambda p: SGD(p, lr=lr),
    "SGDMomentum": lambda lr: lambda p: SGDMomentum(p, lr=lr, momentum=0.9),
}
for name, limit in limits.items():
    wobble = {}
    for factor in (0.8, 1.2):
        run = train_curve(
            makers[name](factor * limit), pathological_curve_loss, num_updates=301, init=(0.05, -7.0)
        )
        wobble[factor] = np.abs(run[-50:, 0]).max()
    print(
        f"{name:>12}: predicted limit eta < {limit:4.1f};  largest |w1| over the last 50 steps: "
        f"{wobble[0.8]:.3f} at 0.8x, {wobble[1.2]:.3f} at 1.2x"
    )
    assert wobble[0.8] < 0.1 < 0.3 < wobble[1.2], (
        f"{name} should settle below its predicted limit and not above"
    )
    wobbles[name] = wobble
assert abs(wobbles["SGD"][0.8] - wobbles["SGDMomentum"][0.8]) < 1e-4, "the 2-cycles should coincide"

# %% [markdown]
# Momentum at $0.8\times$ its limit ends in exactly the wobble of SGD at $0.8\times$ its own, to every
# printed digit. Not a coincidence: in a period-2 oscillation the gradient flips sign every step, and the
# averaged momentum $m = \beta m' + (1-\beta) g$ settles at $m = \frac{1-\beta}{1+\beta}\,g$. So a
# bouncing momentum method *is* SGD with $\eta\,(1-\beta)/(1+\beta)$ — which is where its limit
# $2(1+\beta)/((1-\beta)L)$ comes from.
#
# The linear prediction is local: it holds near the floor. Started far up a wall, momentum at $0.8\times$
# its limit can be caught in a large swing between the walls, where the curvature is far from 2.
#
# ## 7 · Adagrad, RMSprop and Adam on a quadratic: a per-axis rescaling
#
# Momentum fights a large $\kappa$ by remembering. The adaptive methods of notebook 05 (Adagrad, Adam) and
# RMSprop fight it by rescaling: each weight's step is divided by the root of (a sum or an average of) its
# own squared gradients. If the Hessian is **diagonal**, a weight with large curvature also has large
# gradients and gets a smaller step: the rescaling cancels the curvatures, and $\kappa$ hardly matters. But
# the rescaling is per *coordinate*. Rotate the same quadratic by 45° and each coordinate sees both
# curvatures mixed: the rescaling no longer separates them. Gradient descent does not care about the
# rotation at all.
#
# RMSprop (Hinton's lecture notes, 2012) is Adagrad with the sum replaced by a running average,
# $v \leftarrow \alpha v + (1-\alpha) g^2$, so that old gradients are forgotten (this notebook's exercise 2
# writes it). The experiment puts the cause to the test twice: rotating the quadratic removes the alignment
# (the rescaling's advantage should go), and Adam with $\beta_1 = 0$ removes Adam's momentum.

# %%
lam2 = np.array([1.0, 0.01])  # kappa = 100
turn = np.array([[1, -1], [1, 1]]) / np.sqrt(2)  # 45 degrees
problems = {
    "axis-aligned": (np.diag(lam2), np.array([1.0, 1.0])),
    "rotated 45°": (turn @ np.diag(lam2) @ turn.T, turn @ np.array([1.0, 1.0])),
}
methods = {
    "SGD": ("SGD", 0.9),
    "Adagrad": ("Adagrad", 0.9),
    "RMSprop": ("RMSprop", 0.9),
    "Adam": ("Adam", 0.9),
    "Adam, beta1 = 0": ("Adam", 0.0),
}
lr_grid = np.geomspace(1e-3, 2, 67)  # 12.2 % apart (2000 ** (1/66) = 1.122)
FLOOR = 1e-16  # float64 round-off: a distance below this is "at the minimum"
grid_runs = {
    (name, where): np.maximum(distances_on_grid(rule, H, s, lr_grid, 300, beta1=b1), FLOOR)
    for name, (rule, b1) in methods.items()
    for where, (H, s) in problems.items()
}
best = {key: d.min() for key, d in grid_runs.items()}
print(f"{'':>15} | each at its best rate: distance after 300 steps (relative)  | rotated / aligned")
for name in methods:
    rates = "  ".join(f"{lr_grid[grid_runs[name, w].argmin()]:.3g}" for w in problems)
    print(
        f"{name:>15} | {best[name, 'axis-aligned']:10.1e} {best[name, 'rotated 45°']:10.1e}   "
        f"(best rates {rates:>12}) | {best[name, 'rotated 45°'] / best[name, 'axis-aligned']:9.1e}"
    )
gd_rotated = best["SGD", "rotated 45°"]
for name in ("Adagrad", "RMSprop", "Adam, beta1 = 0"):
    assert best[name, "rotated 45°"] > 1e6 * best[name, "axis-aligned"], (
        f"{name}: the rotation should cost it"
    )
    assert 0.1 < best[name, "rotated 45°"] / gd_rotated < 10, f"{name} should end about as far as GD, rotated"
assert best["Adam", "rotated 45°"] < 1e-3 * gd_rotated, (
    "tuned Adam should beat tuned GD on the rotated problem"
)
assert best["Adam, beta1 = 0", "rotated 45°"] > 1e3 * best["Adam", "rotated 45°"], (
    "without beta1 that lead goes"
)
assert best["Adam", "rotated 45°"] < 1e4 * best["Adam", "axis-aligned"], (
    "momentum should keep Adam's ratio small"
)

# %% [markdown]
# Each method is run at each of 67 learning rates from $10^{-3}$ to 2 (`distances_on_grid` in
# `utils.quadratic` runs the whole grid at once, with the same updates as the course's optimizers and
# `torch.optim.RMSprop`); the table keeps its best. Comparing methods at rates picked by hand would compare
# the rates, not the methods. The figure shows the whole grid: the distance after 300 steps against the
# learning rate, solid on the aligned quadratic, dashed on the rotated one, a dot at each best (SGD's two
# lines coincide).

# %% alt="Distance after 300 steps against the learning rate for SGD, Adagrad, RMSprop, Adam and Adam without momentum, on an axis-aligned quadratic and one rotated by 45 degrees: the rescaling methods reach round-off only when aligned, Adam with momentum does well on both."
fig, axes = plt.subplots(1, len(methods), figsize=(20, 5.5), sharey=True)
for ax, (name, (rule, _)) in zip(axes, methods.items()):
    for where, style in zip(problems, ("-", "--")):
        d = grid_runs[name, where]
        ax.loglog(lr_grid, np.where(d < 10, d, np.nan), style, color=COLORS[rule], lw=3, label=where)
        ax.plot(
            lr_grid[d.argmin()],
            d.min(),
            "o",
            color=COLORS[rule],
            ms=11,
            mfc="white" if style == "--" else None,
        )
    ax.set(title=name, xlabel="learning rate", ylim=(FLOOR / 3, 10))
axes[0].set_ylabel("distance after 300 steps (relative)")
axes[0].legend(loc="lower left", fontsize=13)
fig.tight_layout()
plt.show()

# %% [markdown]
# What the numbers show after 300 steps, with every method at its own best rate (none of it depends on
# the seed: the problems, starts and grid are fixed):
#
# * Gradient descent ends at the same distance on both problems (ratio 1): its path is the aligned one,
#   rotated.
# * Adagrad, RMSprop and Adam with $\beta_1 = 0$ (pure rescaling, no momentum) reach the table's floor of
#   $10^{-16}$ (float64 round-off) on the aligned quadratic, and on the one rotated by 45° (where the Hessian's
#   two diagonal entries are equal, so a per-coordinate scaling is almost a scalar) end about where gradient
#   descent ends, within a factor of 10 of it either side. Their ratio column, $10^{13}$ or more, only says
#   how far the rotated run is from round-off: the aligned runs are clamped at the floor. A per-coordinate
#   rescaling cannot undo a rotation: each coordinate of the rotated problem sees both curvatures mixed.
# * Adam with $\beta_1 = 0.9$ ends far closer than gradient descent on *both* problems, and its ratio is
#   far smaller. The line $\beta_1 = 0$ removes its momentum and nothing else, and its lead on the rotated
#   problem goes with it: what carries Adam down the rotated ravine is momentum, as in sections 3-5.
#
# "About where gradient descent ends" is a statement about 300 steps. The cell below runs the same grid
# on the rotated problem for 100, 300 and 1000 steps, each method again at its best rate, and divides by
# gradient descent's best distance after as many steps. Some of these runs amplify round-off, so it does
# so from nine starts that differ from the one above by at most 4 units in the last bit, and prints the
# smallest and largest ratio over them.

# %%
rotated_H, rotated_start = problems["rotated 45°"]
nudged_starts = [rotated_start + k * np.spacing(rotated_start) for k in range(-4, 5)]
step_counts = (100, 300, 1000)
rescalers = ("Adagrad", "RMSprop", "Adam, beta1 = 0")


def best_distance(name, start, steps):
    """The method's distance after `steps` at its best rate of the grid, clamped at round-off."""
    rule, b1 = methods[name]
    return max(distances_on_grid(rule, rotated_H, start, lr_grid, steps, beta1=b1).min(), FLOOR)


behind = {  # (method, steps) -> best distance / GD's best distance, one per nudged start
    (name, n): [best_distance(name, s, n) / best_distance("SGD", s, n) for s in nudged_starts]
    for name in rescalers
    for n in step_counts
}
print(f"{'rotated 45°':>15} | best distance / GD's best distance: smallest - largest over the 9 starts")
print(f"{'':>15} | " + "".join(f"{f'after {n} steps':>20}" for n in step_counts))
for name in rescalers:
    spans = [f"{min(behind[name, n]):.2g} - {max(behind[name, n]):.2g}" for n in step_counts]
    print(f"{name:>15} | " + "".join(f"{span:>20}" for span in spans))
for name in ("Adagrad", "RMSprop"):
    assert min(behind[name, 1000]) > 10 * max(behind[name, 100]), f"{name} should fall behind GD over time"
for n in (100, 300):
    for name in rescalers:
        assert 0.1 < min(behind[name, n]) <= max(behind[name, n]) < 10, (
            f"{name} should be near GD at {n} steps"
        )

# %% [markdown]
# With more steps Adagrad and RMSprop fall further behind gradient descent: near it after 100 steps, tens
# to thousands of times farther after 1000. Adam with $\beta_1 = 0$ ends 0.25 to 3.6 times as far as
# gradient descent after 1000 steps over these nine starts: where exactly depends on the last bits of the start, a run that
# amplifies round-off (no bound is asserted there). So the digits of the tables can change on another
# CPU, Adam with $\beta_1 = 0$'s most; the factors asserted above hold with wide margins over the nine
# starts. Every method here is at its best rate *of the grid* (GD's, 1.78, lies below its optimal
# $2/(\mu+L)$), so the printed factors also move with the grid. Real networks' Hessians are neither
# diagonal nor random; where they stand between the two is not
# measured here.
#
# ## Exercises
#
# ### Exercise 1: the best heavy ball, in the course's convention
#
# Write `best_heavy_ball(mu, L)` returning `(eta, beta)` for the course's `SGDMomentum(lr=eta,
# momentum=beta)` (averaged momentum, $w \leftarrow w - \eta m$): the fastest setting on a quadratic whose
# curvatures lie between `mu` and `L`. Careful with the convention — the formula for $\alpha^\star$ above is
# the *classic* step.


# %%
def best_heavy_ball(mu, L):
    """Your turn: return (eta, beta)."""
    raise NotImplementedError


# check_best_heavy_ball(best_heavy_ball)

# %% [markdown]
# #### Solution


# %% jupyter={"source_hidden": true} tags=["solution"]
def best_heavy_ball(mu, L):
    """beta* = ((sqrt k - 1)/(sqrt k + 1))^2; the classic alpha* = 4/(sqrt L + sqrt mu)^2 equals
    (1 - beta*) eta*, which simplifies to eta* = 1/sqrt(mu L)."""
    root_kappa = np.sqrt(L / mu)
    return 1 / np.sqrt(mu * L), ((root_kappa - 1) / (root_kappa + 1)) ** 2


check_best_heavy_ball(best_heavy_ball)
eta_b, beta_b = best_heavy_ball(0.01, 1.0)
rate_b = measured_rate(
    run_on_quadratic(lambda p: SGDMomentum(p, lr=eta_b, momentum=beta_b), curvatures(100), start, 3000)
)
print(f"measured rate with your setting at kappa = 100: {rate_b:.4f} (theory {9 / 11:.4f})")

# %% [markdown]
# ### Exercise 2: RMSprop
#
# Write `RMSprop(params, lr, alpha=0.99, eps=1e-8)` as an `OptimizerTemplate` subclass:
#
# $$v_t = \alpha\, v_{t-1} + (1-\alpha)\, g_t^2, \quad v_0 = 0, \qquad w_t = w_{t-1} - \eta\,\frac{g_t}{\sqrt{v_t} + \epsilon}.$$
#
# It is the rule of notebook 10's exercise 1, there as a `torch.optim.Optimizer`; here in the course's own
# smaller API of notebook 05, to compare the two. `check_rmsprop(RMSprop)` trains a small model with your class and with `torch.optim.RMSprop` side by side
# in float64 and names the first step where they differ.


# %%
class RMSprop(OptimizerTemplate):
    """Your turn: a running average of squared gradients per parameter."""

    def __init__(self, params, lr, alpha=0.99, eps=1e-8):
        super().__init__(params, lr)
        self.alpha, self.eps = alpha, eps

    def update_param(self, p):
        raise NotImplementedError("your turn: update the running average, then step")


# check_rmsprop(RMSprop)

# %% [markdown]
# #### Solution


# %% jupyter={"source_hidden": true} tags=["solution"]
class RMSprop(OptimizerTemplate):
    """v <- alpha v + (1 - alpha) g^2;  w <- w - lr g / (sqrt(v) + eps): Adagrad with a running *average*
    of squared gradients, so old gradients are forgotten and the steps stop shrinking."""

    def __init__(self, params, lr, alpha=0.99, eps=1e-8):
        super().__init__(params, lr)  # rejects an lr that is not a positive finite number
        _check_range("alpha", alpha, 0.0, 1.0)
        _check_positive("eps", eps)
        self.alpha, self.eps = alpha, eps
        self.param_avg = {p: torch.zeros_like(p) for p in self.params}

    def update_param(self, p):
        v = self.param_avg[p].mul_(self.alpha).addcmul_(p.grad, p.grad, value=1 - self.alpha)
        p.addcdiv_(p.grad, v.sqrt() + self.eps, value=-self.lr)


check_rmsprop(RMSprop)

# %% [markdown]
# ## Summary
#
# * On a quadratic, gradient descent acts on each eigendirection alone: $x_i \leftarrow (1-\eta\lambda_i)x_i$.
#   Stable iff $\eta < 2/L$; best $\eta = 2/(\mu+L)$ with rate $(\kappa-1)/(\kappa+1)$: about $\kappa/2$ steps per factor $e$.
# * Heavy-ball momentum turns each direction into a 2 × 2 linear system. Its best setting,
#   $\beta^\star = ((\sqrt\kappa-1)/(\sqrt\kappa+1))^2$ and — in the course's averaged convention —
#   $\eta^\star = 1/\sqrt{\mu L}$, gives the rate $(\sqrt\kappa-1)/(\sqrt\kappa+1)$: about $\sqrt\kappa/2$ steps per factor $e$.
#   Nesterov with $\alpha = 1/L$ reaches $1 - 1/\sqrt\kappa$. All measured above, to within 0.5 %.
# * Momentum's stability limit, $\eta < 2(1+\beta)/((1-\beta)L)$, is why notebook 07's momentum with
#   $\eta = 10$ stayed on the ravine's floor (limit 19) while SGD with $\eta = 10$ (limit 1) did not.
# * Adagrad, RMSprop and Adam rescale per coordinate: a cure for curvatures aligned with the axes, not for
#   a ravine rotated by 45°, where at their best rates they end about where gradient descent ends after 300
#   steps, and Adagrad and RMSprop fall further behind it with more steps (other angles are not tested
#   here); tuned Adam
#   beats it there only through its momentum ($\beta_1 = 0$ loses the lead).
#
# Notebook 12 goes back to Fashion-MNIST: learning-rate range tests and schedules, Adam with L2 against
# AdamW, and how sharp the minima are that the optimizers find.
