"""Notebooks 02-04 write the initialization schemes; utils.init holds the same code for later notebooks."""

from nbsource import assert_no_drift

from utils.init import const_init, equal_var_init, kaiming_init, var_init, xavier_init


def test_02_constant_and_fixed_variance():
    assert_no_drift("02", const_init, var_init)


def test_03_equal_variance_and_xavier():
    assert_no_drift("03", equal_var_init, xavier_init)


def test_04_kaiming():
    assert_no_drift("04", kaiming_init)
