"""Notebook 12 writes the range test, the warm-up + cosine schedule and the sharpness tools in front of the
student; utils.schedules and utils.sharpness (used by the study in utils.practice) must hold the same code."""

from nbsource import assert_no_drift

from utils.schedules import lr_range_test, smoothed, suggest_lr, warmup_cosine
from utils.sharpness import _normalized, filter_normalized_direction, top_hessian_eigenvalue


def test_notebook_12_and_utils_schedules_agree():
    assert_no_drift("12", lr_range_test, smoothed, suggest_lr, warmup_cosine)


def test_notebook_12_and_utils_sharpness_agree():
    assert_no_drift("12", _normalized, top_hessian_eigenvalue, filter_normalized_direction)
