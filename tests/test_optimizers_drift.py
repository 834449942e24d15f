"""Notebook 05 writes the optimizers in front of the student; utils.optimizers must hold the same code."""

from nbsource import assert_no_drift

from utils.optimizers import SGD, Adam, OptimizerTemplate, SGDMomentum, _check_positive, _check_range


def test_notebook_05_and_utils_define_the_same_optimizers():
    assert_no_drift("05", _check_range, _check_positive, OptimizerTemplate, SGD, SGDMomentum, Adam)
