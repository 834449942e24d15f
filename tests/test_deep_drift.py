"""Notebook 13 writes orthogonal init, LSUV and residual branch scaling; utils.init holds the same code."""

from nbsource import assert_no_drift

from utils.init import (
    layer_output_variance,
    lsuv_init,
    orthogonal_init,
    residual_branches,
    scale_residual_branches,
)


def test_13_very_deep_networks():
    assert_no_drift(
        "13", orthogonal_init, layer_output_variance, lsuv_init, residual_branches, scale_residual_branches
    )
