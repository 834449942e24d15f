"""In a notebook, a checker's verdict is a short message, never a traceback through the checker's source
(which would show its hints and expected values); an untouched skeleton says what to fill in."""

import nbformat
import pytest
from nbclient import NotebookClient

from utils.exercises import ExerciseError, verdict
from utils.exercises.init import check_conv_fans

CELLS = {
    "wrong answer": "check_conv_fans(lambda conv: (conv.in_channels, conv.out_channels))",
    "skeleton": "def conv_fans(conv):\n    raise NotImplementedError('your answer here')\n"
    "check_conv_fans(conv_fans)",
    "wrong kind": "check_conv_fans((27, 144))",
    "student's own bug": "def conv_fans(conv):\n    return conv.kernel_sizes\ncheck_conv_fans(conv_fans)",
}


def shown_by_notebook(sources: dict) -> dict:
    """The traceback lines a notebook shows for each source cell (one kernel, errors allowed)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from utils.exercises.init import check_conv_fans")]
    nb.cells += [nbformat.v4.new_code_cell(source) for source in sources.values()]
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    shown = {}
    for case, cell in zip(sources, nb.cells[1:], strict=True):
        (error,) = [o for o in cell.outputs if o.output_type == "error"]
        shown[case] = "\n".join(error.traceback).splitlines()
    return shown


@pytest.fixture(scope="module")
def shown():
    return shown_by_notebook(CELLS)


def test_a_wrong_answer_shows_at_most_three_lines(shown):
    assert len(shown["wrong answer"]) <= 3 and "You counted channels only" in shown["wrong answer"][0]
    assert not any("def check_conv_fans" in line for line in shown["wrong answer"])


def test_an_untouched_skeleton_says_fill_in_first(shown):
    assert shown["skeleton"] == [
        "ExerciseError: fill in `conv_fans` first: it still raises NotImplementedError."
    ]


def test_a_wrong_kind_of_answer_is_one_sentence(shown):
    assert len(shown["wrong kind"]) == 1 and "could not use your answer" in shown["wrong kind"][0]


def test_a_bug_in_the_students_own_code_keeps_its_traceback(shown):
    assert len(shown["student's own bug"]) > 3 and any(
        "kernel_sizes" in line for line in shown["student's own bug"]
    )


def test_verdict_outside_a_checker_is_none():
    try:
        {}["missing"]
    except KeyError as error:
        assert verdict(error) is None
    with pytest.raises(ExerciseError):
        check_conv_fans(lambda conv: (conv.in_channels, conv.out_channels))
