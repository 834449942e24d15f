"""The optimizers appended to utils.optimizers for notebook 11 are the notebooks' exercise solutions:
Adagrad and Nesterov from notebook 05, RMSprop from notebook 11."""

from nbsource import assert_no_drift

from utils.optimizers import Adagrad, RMSprop, SGDNesterov


def test_notebook_05_solutions_and_utils_agree():
    assert_no_drift("05", SGDNesterov, Adagrad)


def test_notebook_11_rmsprop_and_utils_agree():
    assert_no_drift("11", RMSprop)
