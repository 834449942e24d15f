"""The optimizers that notebook 05 writes from scratch: SGD, SGD with momentum, and Adam.

They work on a plain list of parameters (no param_groups, no state_dict): the smallest code that shows
each update rule. Notebook 10 turns them into real torch.optim.Optimizer subclasses.
"""

import math
import numbers

import torch


def _check_range(name: str, value: float, low: float, high: float) -> None:
    """Reject a hyperparameter outside [low, high), or not a number, saying what is allowed."""
    if not isinstance(value, numbers.Real) or not low <= value < high:
        raise ValueError(f"{name} must be a number in [{low}, {high}), got {name}={value!r}")


def _check_positive(name: str, value: float) -> None:
    """Reject a step size or eps that is not a positive finite number (0, negative, inf, nan, a string)."""
    if not isinstance(value, numbers.Real) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a positive finite number, got {name}={value!r}")


class OptimizerTemplate:
    """Holds the parameters and the learning rate; subclasses define one parameter's update."""

    def __init__(self, params, lr: float):
        _check_positive("lr", lr)
        self.params = list(params)
        if not self.params:
            raise ValueError(
                "got an empty list of parameters: pass model.parameters() freshly to each "
                "optimizer (a generator is used up after one pass)"
            )
        if len({id(p) for p in self.params}) < len(self.params):
            raise ValueError("a parameter is listed more than once: list each parameter once")
        if not all(p.is_leaf for p in self.params):
            raise ValueError("can't optimize a non-leaf tensor: pass the parameters themselves")
        self.lr = lr

    def zero_grad(self):
        """Reset every gradient to zero (detached, so no graph is kept alive through it)."""
        for p in self.params:
            if p.grad is not None:
                p.grad.detach_()
                p.grad.zero_()

    @torch.no_grad()
    def step(self):
        """Apply update_param to every parameter that received a gradient."""
        for p in self.params:
            if p.grad is None:  # e.g. a frozen layer, or one that never received a gradient
                continue
            if p.grad.is_sparse:
                raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
            self.update_param(p)

    def update_param(self, p):
        raise NotImplementedError


class SGD(OptimizerTemplate):
    """w <- w - lr * g"""

    def update_param(self, p):
        p.add_(p.grad, alpha=-self.lr)


class SGDMomentum(OptimizerTemplate):
    """m <- beta * m + (1 - beta) * g;  w <- w - lr * m   (momentum as an average of gradients)."""

    def __init__(self, params, lr: float, momentum: float = 0.0):
        super().__init__(params, lr)
        _check_range("momentum", momentum, 0.0, 1.0)
        self.momentum = momentum
        self.param_momentum = {p: torch.zeros_like(p) for p in self.params}

    def update_param(self, p):
        m = self.param_momentum[p]
        m.mul_(self.momentum).add_(p.grad, alpha=1 - self.momentum)
        p.add_(m, alpha=-self.lr)


class Adam(OptimizerTemplate):
    """Running averages m of g and v of g^2, bias-corrected, give each weight its own step size:
    w <- w - lr * m_hat / (sqrt(v_hat) + eps)."""

    def __init__(self, params, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(params, lr)
        _check_range("beta1", beta1, 0.0, 1.0)
        _check_range("beta2", beta2, 0.0, 1.0)
        _check_positive("eps", eps)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.param_step = {p: 0 for p in self.params}
        self.param_momentum = {p: torch.zeros_like(p) for p in self.params}
        self.param_2nd_momentum = {p: torch.zeros_like(p) for p in self.params}

    def update_param(self, p):
        self.param_step[p] += 1
        t = self.param_step[p]
        m = self.param_momentum[p].mul_(self.beta1).add_(p.grad, alpha=1 - self.beta1)
        v = self.param_2nd_momentum[p].mul_(self.beta2).addcmul_(p.grad, p.grad, value=1 - self.beta2)
        m_hat = m / (1 - self.beta1**t)
        v_hat = v / (1 - self.beta2**t)
        p.addcdiv_(m_hat, v_hat.sqrt() + self.eps, value=-self.lr)


# Added for notebook 11 (the quadratic model): Adagrad and Nesterov momentum are the solutions of
# notebook 05's exercises, RMSprop the one of notebook 11's; the drift tests keep each one identical to
# its notebook.
class SGDNesterov(SGDMomentum):
    """m <- beta m + (1 - beta) g;  w <- w - lr (beta m + (1 - beta) g)."""

    def update_param(self, p):
        m = self.param_momentum[p]
        m.mul_(self.momentum).add_(p.grad, alpha=1 - self.momentum)
        p.add_(self.momentum * m + (1 - self.momentum) * p.grad, alpha=-self.lr)


class Adagrad(OptimizerTemplate):
    """s <- s + g^2;  w <- w - lr * g / (sqrt(s) + eps): each weight's steps shrink with its own history."""

    def __init__(self, params, lr, eps=1e-10):
        super().__init__(params, lr)
        _check_positive("eps", eps)
        self.eps = eps
        self.param_sum = {p: torch.zeros_like(p) for p in self.params}

    def update_param(self, p):
        s = self.param_sum[p].addcmul_(p.grad, p.grad)
        p.addcdiv_(p.grad, s.sqrt() + self.eps, value=-self.lr)


class RMSprop(OptimizerTemplate):
    """v <- alpha v + (1 - alpha) g^2;  w <- w - lr g / (sqrt(v) + eps): Adagrad with a running *average*
    of squared gradients, so old gradients are forgotten and the steps stop shrinking."""

    def __init__(self, params, lr, alpha=0.99, eps=1e-8):
        super().__init__(params, lr)
        _check_range("alpha", alpha, 0.0, 1.0)
        _check_positive("eps", eps)
        self.alpha, self.eps = alpha, eps
        self.param_avg = {p: torch.zeros_like(p) for p in self.params}

    def update_param(self, p):
        v = self.param_avg[p].mul_(self.alpha).addcmul_(p.grad, p.grad, value=1 - self.alpha)
        p.addcdiv_(p.grad, v.sqrt() + self.eps, value=-self.lr)
