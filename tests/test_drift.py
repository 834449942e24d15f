"""Code a notebook teaches and utils holds for later notebooks must stay the same in both places.

One table, one check: each row names a notebook, and the utils objects whose definitions (ast, with
docstrings and comments ignored) must equal the notebook's last definition of the same name. A cell
the reader cannot parse fails loudly (tests/nbsource.py), so a definition never escapes the check.
"""

import nbformat
import pytest
from nbsource import assert_no_drift, notebook_definition

from utils import init as inits
from utils import optimizers, schedules, sharpness, surfaces, torch_optimizers, training

# (notebook, what it teaches, the utils objects that must match its cells)
TAUGHT = [
    ("02", "constant and fixed-variance init", [inits.const_init, inits.var_init]),
    ("03", "equal-variance and Xavier init", [inits.equal_var_init, inits.xavier_init]),
    ("04", "Kaiming init", [inits.kaiming_init]),
    (
        "05",
        "the optimizers, written in front of the student",
        [
            optimizers._check_range,
            optimizers._check_positive,
            optimizers.OptimizerTemplate,
            optimizers.SGD,
            optimizers.SGDMomentum,
            optimizers.Adam,
        ],
    ),
    ("05", "exercise solutions reused by notebook 11", [optimizers.SGDNesterov, optimizers.Adagrad]),
    ("06", "the training loop", [training.train_epoch, training.evaluate, training.test_model]),
    ("07", "the ravine surface", [surfaces.accepts_numpy, surfaces.pathological_curve_loss]),
    ("08", "the steep surface", [surfaces.bivar_gaussian, surfaces.comb_func, surfaces.gradient]),
    ("10", "torch.optim optimizers", [torch_optimizers.TorchSGDMomentum, torch_optimizers.TorchAdam]),
    ("11", "RMSprop", [optimizers.RMSprop]),
    (
        "12",
        "range test and warm-up + cosine schedule",
        [schedules.lr_range_test, schedules.smoothed, schedules.suggest_lr, schedules.warmup_cosine],
    ),
    (
        "12",
        "sharpness tools",
        [sharpness._normalized, sharpness.top_hessian_eigenvalue, sharpness.filter_normalized_direction],
    ),
    (
        "13",
        "orthogonal init, LSUV and residual branch scaling",
        [
            inits.orthogonal_init,
            inits.layer_output_variance,
            inits.lsuv_init,
            inits.residual_branches,
            inits.scale_residual_branches,
        ],
    ),
]


@pytest.mark.parametrize("notebook, taught, objects", TAUGHT, ids=[f"{n}-{t}" for n, t, _ in TAUGHT])
def test_notebook_and_utils_define_the_same_code(notebook, taught, objects):
    assert_no_drift(notebook, *objects)


def test_reader_fails_loudly_on_an_unreadable_cell(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%matplotlib inline\ndef taught(x):\n    return x"),
        nbformat.v4.new_code_cell("def broken(:\n    pass"),
    ]
    path = tmp_path / "99_bad.ipynb"
    path.write_text(nbformat.writes(nb))
    with pytest.raises(AssertionError, match="99_bad.ipynb, code cell 1 is not valid Python"):
        notebook_definition(path, "taught")


def test_reader_reads_definitions_in_cells_with_magics(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%matplotlib inline\n!echo hi\nx = !ls\ndef taught(x):\n    return x")
    ]
    path = tmp_path / "99_magic.ipynb"
    path.write_text(nbformat.writes(nb))
    assert "taught" in notebook_definition(path, "taught")


def test_a_drifted_copy_is_named():
    """The check can fail: a utils object whose code differs from the notebook's is reported by name."""

    def const_init(model, value):
        return None

    with pytest.raises(AssertionError, match="const_init in 02_.* differ: change both together"):
        assert_no_drift("02", const_init)
