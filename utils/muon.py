"""Muon, the optimizer that orthogonalizes its updates (notebook 15), written by hand twice.

`newton_schulz` turns a matrix G = U S V^T into roughly U V^T with five multiply-adds, `adjust_lr` is
torch's per-shape learning-rate factor, `Muon` is the update rule on notebook 05's OptimizerTemplate (the
notebook writes it in front of the student; a drift test keeps both copies equal) and `TorchMuon` the
same rule as a torch.optim.Optimizer (param_groups, per-parameter state, step(closure)). Both compute
exactly what torch.optim.Muon computes, operation for operation, so they agree with it to the last bit
(tests/test_muon.py). Muon only takes matrices: `muon_with_adamw` gives the hidden layers' weight matrices
to Muon and everything else (biases, the output layer) to AdamW, as torch's documentation advises.
"""

import math

import torch
from torch import nn

from utils.optimizers import OptimizerTemplate, _check_positive, _check_range

QUINTIC = (3.4445, -4.7750, 2.0315)  # torch.optim.Muon's default (Keller Jordan's coefficients)
CUBIC = (1.5, -0.5, 0.0)  # (3x - x^3) / 2: the classic Newton-Schulz step, which converges to 1
ADJUSTMENTS = (None, "original", "match_rms_adamw")


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


def _check_muon_settings(params, momentum, weight_decay, adjust_lr_fn, ns_steps) -> None:
    """The settings torch.optim.Muon refuses, and a momentum >= 1 (torch 2.13 accepts it), each refused with
    a message that says what to do."""
    _check_range("momentum", momentum, 0.0, 1.0)
    _check_range("weight_decay", weight_decay, 0.0, math.inf)
    _check_range("ns_steps", ns_steps, 1, 100)
    if adjust_lr_fn not in ADJUSTMENTS:
        raise ValueError(f"adjust_lr_fn must be one of {ADJUSTMENTS}, got {adjust_lr_fn!r}")
    for p in params:
        if p.ndim != 2:
            raise ValueError(
                f"Muon updates matrices only, got a parameter of shape {tuple(p.shape)}: give biases and "
                "other non-2-D parameters to AdamW (utils.muon.muon_with_adamw splits a model for you)"
            )


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


class TorchMuon(torch.optim.Optimizer):
    """notebook 15's Muon as a torch.optim.Optimizer, with torch.optim.Muon's arguments and updates:
    hyperparameters in param_groups (a scheduler can move lr), the buffer in state[p]["momentum_buffer"]."""

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
        _check_positive("lr", lr)
        _check_positive("eps", eps)
        defaults = {
            "lr": lr,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "nesterov": nesterov,
            "ns_coefficients": tuple(ns_coefficients),
            "eps": eps,
            "ns_steps": ns_steps,
            "adjust_lr_fn": adjust_lr_fn,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            _check_muon_settings(
                group["params"],
                group["momentum"],
                group["weight_decay"],
                group["adjust_lr_fn"],
                group["ns_steps"],
            )

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every matrix that has a gradient; returns closure()'s loss, if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            mu, lr = group["momentum"], group["lr"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["momentum_buffer"] = torch.zeros_like(p)
                buf = state["momentum_buffer"].lerp_(p.grad, 1 - mu)
                update = p.grad.lerp(buf, mu) if group["nesterov"] else buf
                orthogonal = newton_schulz(update, group["ns_coefficients"], group["ns_steps"], group["eps"])
                p.mul_(1 - lr * group["weight_decay"])
                p.add_(orthogonal, alpha=-adjust_lr(lr, group["adjust_lr_fn"], p.shape))
        return loss


def split_for_muon(model: nn.Module) -> tuple[list, list]:
    """(hidden matrices, the rest): the weight matrices of every nn.Linear but the last (the output
    layer, a classifier head like a language model's, stays with AdamW), and every other parameter."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if len(linears) < 2:
        raise ValueError("split_for_muon needs a model with a hidden nn.Linear before its output layer")
    hidden = {id(m.weight) for m in linears[:-1]}
    matrices = [p for p in model.parameters() if id(p) in hidden]
    rest = [p for p in model.parameters() if id(p) not in hidden]
    return matrices, rest


class Optimizers:
    """Several optimizers that train one model together: zero_grad() and step() call each of them."""

    def __init__(self, *optimizers):
        self.optimizers = optimizers

    def zero_grad(self):
        for optimizer in self.optimizers:
            optimizer.zero_grad()

    def step(self):
        for optimizer in self.optimizers:
            optimizer.step()


def muon_with_adamw(
    model: nn.Module, lr: float, weight_decay: float = 0.01, muon_class=torch.optim.Muon, **muon_kwargs
):
    """Muon for the hidden weight matrices, AdamW (same lr and weight decay) for the rest. With
    adjust_lr_fn="match_rms_adamw" one learning rate suits both (Moonshot's recipe)."""
    matrices, rest = split_for_muon(model)
    return Optimizers(
        muon_class(matrices, lr=lr, weight_decay=weight_decay, **muon_kwargs),
        torch.optim.AdamW(rest, lr=lr, weight_decay=weight_decay),
    )
