"""Checker for the exercise of notebook 15: Muon's Newton-Schulz orthogonalization written by the student.

The student's orthogonalize(G) is run on wide, tall and square matrices with one strong direction (like
a real gradient), some scaled far from norm 1, and compared with the same iteration in float64. The
tolerance (6 % of the Frobenius norm) accepts bfloat16 arithmetic, as torch computes it (about 2 %),
and rejects the typical mistakes, which are 19 % or more away: the cubic's coefficients, another number
of steps, the exact U V^T, no division by the Frobenius norm (overflow, or no movement at all), and a tall
matrix transposed but not transposed back. A mistake the checker recognises is named.
"""

import torch

from utils import torch_generator
from utils.exercises import check, passed
from utils.muon import CUBIC, newton_schulz

TOLERANCE = 0.06


def _cases():
    """(description, matrix): random matrices plus one strong rank-one direction, as in a gradient."""
    gen = torch_generator(15)
    out = []
    for what, shape, scale in [
        ("a wide 20 x 50 matrix", (20, 50), 1.0),
        ("a tall 50 x 20 matrix", (50, 20), 1.0),
        ("a square 30 x 30 matrix times 1000", (30, 30), 1e3),
        ("a tall 40 x 10 matrix times 0.001", (40, 10), 1e-3),
    ]:
        noise = torch.randn(shape, generator=gen)
        spike = torch.randn(shape[0], 1, generator=gen) @ torch.randn(1, shape[1], generator=gen)
        out.append((what, scale * (noise + 3 * spike / (shape[0] * shape[1]) ** 0.25)))
    return out


def _gap(result, reference) -> float:
    return ((result.double() - reference).norm() / reference.norm()).item()


def _known_mistakes(G):
    """What the typical wrong answers return for G (in float64)."""
    U, _, Vh = torch.linalg.svd(G.double(), full_matrices=False)
    return {
        "the cubic's coefficients (1.5, -0.5, 0)": newton_schulz(G, CUBIC, dtype=torch.float64),
        "4 steps instead of 5": newton_schulz(G, steps=4, dtype=torch.float64),
        "6 steps instead of 5": newton_schulz(G, steps=6, dtype=torch.float64),
        "the exact U V^T of the SVD; Newton-Schulz's five steps leave the singular values in a band "
        "around 1, not at 1": U @ Vh,
    }


def check_orthogonalize(student) -> None:
    """student(G) must return Muon's five Newton-Schulz steps on G: divide by the Frobenius norm, work on
    the wide orientation, X <- a X + (b A + c A^2) X with A = X X^T and (a, b, c) = (3.4445, -4.7750,
    2.0315). Any float dtype is fine (torch uses bfloat16)."""
    for what, G in _cases():
        reference = newton_schulz(G, dtype=torch.float64)
        result = student(G.clone())
        check(
            isinstance(result, torch.Tensor), f"orthogonalize returned {type(result).__name__}, not a tensor."
        )
        check(
            tuple(result.shape) == tuple(G.shape),
            f"For {what} orthogonalize returned shape {tuple(result.shape)}, not {tuple(G.shape)}: a tall "
            "matrix is transposed to work on X X^T, the smaller Gram matrix, and must be transposed back.",
        )
        check(
            bool(torch.isfinite(result).all()),
            f"For {what} the result is not finite. Divide G by its Frobenius norm first: then every "
            "singular value starts in [0, 1], where the polynomial stays bounded.",
        )
        gap = _gap(result, reference)
        if gap < TOLERANCE:
            continue
        sigma = torch.linalg.svdvals(result.double())
        message = (
            f"For {what} your result is {100 * gap:.0f} % (Frobenius) away from Muon's Newton-Schulz; its "
            f"singular values run from {sigma.min():.3g} to {sigma.max():.3g}, where Muon's lie between "
            f"{torch.linalg.svdvals(reference).min():.3g} and {torch.linalg.svdvals(reference).max():.3g}."
        )
        for mistake, wrong in _known_mistakes(G).items():
            if _gap(result, wrong) < TOLERANCE:
                message += f" It matches {mistake}."
        if sigma.max() < 1e-2 or sigma.max() > 10:
            message += " Did you divide by the Frobenius norm first?"
        check(False, message)
    return passed("orthogonalize")
