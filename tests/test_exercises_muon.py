"""The checker of notebook 15 accepts Newton-Schulz in any float dtype and names the typical wrong answers."""

import pytest
import torch

from utils.exercises import ExerciseError
from utils.exercises.muon import check_orthogonalize
from utils.muon import CUBIC, newton_schulz


def iteration(
    coefficients=(3.4445, -4.7750, 2.0315),
    steps=5,
    normalize=True,
    orient=True,
    transpose_back=True,
    dtype=None,
):
    def orthogonalize(G):
        a, b, c = coefficients
        X = G.to(dtype) if dtype else G
        tall = orient and G.shape[0] > G.shape[1]
        X = X.T if tall else X
        X = X / X.norm() if normalize else X
        for _ in range(steps):
            A = X @ X.T
            X = a * X + (b * A + c * A @ A) @ X
        return X.T if tall and transpose_back else X

    return orthogonalize


def exact(G):
    U, _, Vh = torch.linalg.svd(G, full_matrices=False)
    return U @ Vh


@pytest.mark.parametrize("seed", range(1, 21))
def test_accepts_the_solution_on_every_seed(seed, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_SEED", str(seed))
    check_orthogonalize(iteration(dtype=torch.bfloat16))  # torch's precision, the least accurate one
    check_orthogonalize(iteration())
    assert "Correct" in capsys.readouterr().out


def test_accepts_other_right_answers():
    check_orthogonalize(iteration(dtype=torch.float64))
    check_orthogonalize(newton_schulz)
    # without the transpose the same polynomial runs on the larger Gram matrix: slower, same numbers
    check_orthogonalize(iteration(orient=False))


@pytest.mark.parametrize(
    "wrong, message",
    [
        (iteration(CUBIC), "cubic"),
        (iteration(steps=4), "4 steps"),
        (iteration(steps=6), "6 steps"),
        (exact, "exact U V"),
        (iteration(normalize=False), "Frobenius norm first"),
        (iteration(transpose_back=False), "transposed back"),
        (lambda G: G / G.norm(), "away from Muon"),
        (lambda G: None, "not a tensor"),
    ],
)
@pytest.mark.parametrize("seed", [1, 7, 20])
def test_names_the_typical_mistakes(wrong, message, seed, monkeypatch):
    monkeypatch.setenv("COURSE_SEED", str(seed))
    with pytest.raises(ExerciseError, match=message):
        check_orthogonalize(wrong)
