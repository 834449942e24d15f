"""The course's SGD with momentum and Adam as real torch.optim.Optimizer subclasses (notebook 10).

Notebook 05's classes (utils.optimizers: SGDMomentum(params, lr, momentum), Adam(params, lr, beta1,
beta2)) show the update rules on a bare list of parameters. The classes here compute the very same
updates but speak torch.optim's protocol and take torch.optim's arguments (Adam's `betas=(b1, b2)`), so
they carry the prefix `Torch`: one name, one signature. Hyperparameters live in `param_groups` (so a
learning-rate scheduler can change them and groups can differ), per-parameter buffers live in
`self.state[p]` (so `state_dict()` / `load_state_dict()` save and resume a run), and `step(closure)`
works as every torch optimizer's does - which is what pytorch-lightning expects.

Bad hyperparameters (NaN and inf included) raise ValueError; so does an empty parameter list (the base
class refuses it: usually a `model.parameters()` generator that was already used up).
"""

import math
import numbers

import torch


class TorchSGDMomentum(torch.optim.Optimizer):
    """m <- beta * m + (1 - beta) * g;  w <- w - lr * m   (the course's averaged momentum).

    Equals torch.optim.SGD(lr=lr * (1 - beta), momentum=beta), whose buffer is the plain sum
    buf <- beta * buf + g = m / (1 - beta).
    """

    def __init__(self, params, lr: float = 0.1, momentum: float = 0.0):
        if not isinstance(lr, numbers.Real) or not 0 < lr < math.inf:  # also false for NaN
            raise ValueError(f"learning rate must be a positive finite number, got lr={lr!r}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got momentum={momentum}")
        super().__init__(params, defaults={"lr": lr, "momentum": momentum})

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss, if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():  # the closure recomputes the loss and its gradients
                loss = closure()
        for group in self.param_groups:
            beta = group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:  # first step of this parameter: lazily create its buffer
                    state["momentum_buffer"] = torch.zeros_like(p)
                m = state["momentum_buffer"]
                m.mul_(beta).add_(p.grad, alpha=1 - beta)
                p.add_(m, alpha=-group["lr"])
        return loss


class TorchAdam(torch.optim.Optimizer):
    """m, v: running averages of g and g^2, bias-corrected with the parameter's own step count t;
    w <- w - lr * m_hat / (sqrt(v_hat) + eps). Same arguments and updates as torch.optim.Adam."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8):
        if not isinstance(lr, numbers.Real) or not 0 < lr < math.inf:
            raise ValueError(f"learning rate must be a positive finite number, got lr={lr!r}")
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got betas={betas!r}")
        for i, beta in enumerate(betas):
            if not isinstance(beta, numbers.Real) or not 0.0 <= beta < 1.0:
                raise ValueError(f"betas[{i}] must be in [0, 1), got {beta}")
        if not isinstance(eps, numbers.Real) or not 0 < eps < math.inf:
            raise ValueError(f"eps must be a positive finite number, got eps={eps!r}")
        super().__init__(params, defaults={"lr": lr, "betas": tuple(betas), "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss, if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("TorchAdam does not support sparse gradients")
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                m = state["exp_avg"].mul_(beta1).add_(p.grad, alpha=1 - beta1)
                v = state["exp_avg_sq"].mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                m_hat = m / (1 - beta1**t)
                v_hat = v / (1 - beta2**t)
                p.addcdiv_(m_hat, v_hat.sqrt() + group["eps"], value=-group["lr"])
        return loss
