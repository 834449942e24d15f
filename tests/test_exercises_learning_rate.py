"""The checkers of notebook 09's exercises accept a right answer and explain a typical wrong one."""

import math

import numpy as np
import pytest
import torch

from utils.exercises import ExerciseError
from utils.exercises.learning_rate import check_stability_bracket, check_warmup


def toy_final_loss(lr: float) -> float:
    """A stand-in for training: trains below lr = 0.4, collapses to 1.0 up to 1, diverges above."""
    if lr < 0.4:
        return 0.02
    return 1.0 if lr <= 1.0 else math.nan


def test_bracket_accepts_a_tight_bracket(capsys):
    check_stability_bracket(0.35, 0.42, toy_final_loss, threshold=0.5)
    assert "Correct" in capsys.readouterr().out


def test_bracket_rejects_a_wide_bracket():
    with pytest.raises(ExerciseError, match=r"hi / lo = 10: narrow the bracket"):
        check_stability_bracket(0.1, 1.0, toy_final_loss, threshold=0.5)


def test_bracket_rejects_a_lo_that_collapses():
    with pytest.raises(
        ExerciseError, match=r"At lo=0.5 the final loss is 1, not below 0.5: lo is already too large"
    ):
        check_stability_bracket(0.5, 0.6, toy_final_loss, threshold=0.5)


def test_bracket_rejects_a_hi_that_still_trains():
    with pytest.raises(ExerciseError, match=r"At hi=0.3 .* hi still trains"):
        check_stability_bracket(0.25, 0.3, toy_final_loss, threshold=0.5)


def test_bracket_counts_nan_as_not_training():
    check_stability_bracket(0.39, 0.45, lambda lr: 0.0 if lr < 0.4 else math.nan, threshold=0.5)


def right_warmup(step, base_lr, warmup_steps):
    return base_lr * min(1.0, (step + 1) / warmup_steps)


def test_warmup_accepts_the_right_schedule():
    check_warmup(right_warmup)


@pytest.mark.parametrize("kind", [np.float32, torch.tensor], ids=["numpy float32", "torch scalar"])
def test_warmup_accepts_the_right_schedule_in_float32(kind):
    check_warmup(lambda step, base_lr, warmup_steps: kind(right_warmup(step, base_lr, warmup_steps)))


def test_warmup_rejects_a_zero_first_step():
    with pytest.raises(ExerciseError, match=r"At step 0 your lr is 0"):
        check_warmup(lambda step, base_lr, warmup_steps: base_lr * min(1.0, step / warmup_steps))


def test_warmup_rejects_a_schedule_that_keeps_growing():
    with pytest.raises(ExerciseError, match=r"At step 50 .* expected lr 0.5, got 0.51. After the warm-up"):
        check_warmup(lambda step, base_lr, warmup_steps: base_lr * (step + 1) / warmup_steps)


def test_warmup_rejects_a_hard_coded_setting():
    def hard_coded(step, base_lr, warmup_steps):  # right only for the notebook's (0.5, 50)
        return 0.5 * min(1.0, (step + 1) / 50)

    with pytest.raises(ExerciseError, match="base_lr=0.1, warmup_steps=7"):
        check_warmup(hard_coded)


def test_warmup_names_the_wrong_kind_of_answer():
    with pytest.raises(ExerciseError, match="should return a number"):
        check_warmup(lambda step, base_lr, warmup_steps: [base_lr])
    with pytest.raises(ExerciseError, match="Pass your function itself"):
        check_warmup(0.5)
