"""The checkers of notebook 06's exercises accept a right answer and explain typical wrong ones."""

import ast

import pytest
from nbsource import cells, notebook_path

from utils.exercises import ExerciseError
from utils.exercises.training import check_accuracy, check_early_stopping
from utils.training import test_model as course_accuracy


def notebook_solution(name: str):
    """The last definition of `name` in notebook 06 (its solution cell), compiled on its own."""
    nodes = [
        node
        for cell in cells(notebook_path("06"))
        for node in ast.parse(cell).body
        if isinstance(node, ast.FunctionDef) and node.name == name
    ]
    namespace = {}
    exec(compile(ast.Module(body=[nodes[-1]], type_ignores=[]), "06", "exec"), namespace)
    return namespace[name]


reference_early_stopping = notebook_solution("early_stopping")


def test_accuracy_accepts_the_course_loop():
    check_accuracy(lambda net, data, batch_size: course_accuracy(net, data, batch_size))


def mean_of_batches(net, data, batch_size):
    x, y = data
    accs = [
        (net(x[i : i + batch_size]).argmax(-1) == y[i : i + batch_size]).float().mean().item()
        for i in range(0, len(x), batch_size)
    ]
    return sum(accs) / len(accs)


def correct_in_full_batches(net, data, batch_size):
    """(correct predictions, images) over the full batches only: the last, shorter one is skipped."""
    x, y = data
    full = len(x) // batch_size * batch_size
    correct = sum(
        (net(x[i : i + batch_size]).argmax(-1) == y[i : i + batch_size]).sum().item()
        for i in range(0, full, batch_size)
    )
    return correct, full


def drops_last_batch(net, data, batch_size):
    correct, full = correct_in_full_batches(net, data, batch_size)
    return correct / full


def drops_last_batch_divides_by_all(net, data, batch_size):
    """Skips the last, shorter batch, yet divides by every image."""
    return correct_in_full_batches(net, data, batch_size)[0] / len(data[0])


def test_accuracy_rejects_typical_mistakes():
    with pytest.raises(ExerciseError, match="averaged the per-batch accuracies"):
        check_accuracy(mean_of_batches)
    with pytest.raises(ExerciseError, match="last, smaller batch was left out"):
        check_accuracy(drops_last_batch)
    with pytest.raises(ExerciseError, match="last, smaller batch was left out"):
        check_accuracy(drops_last_batch_divides_by_all)
    with pytest.raises(ExerciseError, match="Python float"):
        check_accuracy(lambda net, data, bs: (net(data[0]).argmax(-1) == data[1]).float().mean())
    with pytest.raises(ExerciseError, match="fraction in"):
        check_accuracy(lambda net, data, bs: float((net(data[0]).argmax(-1) == data[1]).sum()))


def test_accuracy_rejects_one_forward_pass_that_ignores_batch_size():
    with pytest.raises(ExerciseError, match="called on 1000 images at once"):
        check_accuracy(lambda net, data, bs: (net(data[0]).argmax(-1) == data[1]).float().mean().item())


@pytest.mark.parametrize("answer", ["accuracy", 0.666, [course_accuracy]], ids=["string", "number", "list"])
def test_accuracy_names_the_wrong_kind_of_answer(answer):
    with pytest.raises(ExerciseError, match="pass your function itself"):
        check_accuracy(answer)


@pytest.mark.parametrize("answer", ["early_stopping", (3, 5), None], ids=["string", "tuple", "none"])
def test_early_stopping_names_the_wrong_kind_of_answer(answer):
    with pytest.raises(ExerciseError, match="pass your function itself"):
        check_early_stopping(answer)


def never_resets(val_acc, patience):
    """Wrong: counts every epoch without improvement since the start, never restarting the count."""
    best, best_epoch, waited = float("-inf"), 0, 0
    for epoch, acc in enumerate(val_acc):
        if acc > best:
            best, best_epoch = acc, epoch
        else:
            waited += 1
            if waited == patience:
                return best_epoch, epoch
    return best_epoch, len(val_acc) - 1


def needs_a_margin(val_acc, patience):
    """Wrong: only an improvement by more than 0.05 counts."""
    best, best_epoch, waited = float("-inf"), 0, 0
    for epoch, acc in enumerate(val_acc):
        if acc > best + 0.05:
            best, best_epoch, waited = acc, epoch, 0
        else:
            waited += 1
            if waited == patience:
                return best_epoch, epoch
    return best_epoch, len(val_acc) - 1


def test_early_stopping_rejects_a_count_that_never_restarts_and_a_margin():
    with pytest.raises(ExerciseError, match="starts again at every improvement"):
        check_early_stopping(never_resets)
    with pytest.raises(ExerciseError, match="however small"):
        check_early_stopping(needs_a_margin)


def test_early_stopping_accepts_a_list_and_numpy_integers():
    import numpy as np

    check_early_stopping(lambda v, p: [int(x) for x in reference_early_stopping(v, p)])
    check_early_stopping(lambda v, p: tuple(np.int64(x) for x in reference_early_stopping(v, p)))


def test_early_stopping_accepts_the_notebook_solution():
    check_early_stopping(reference_early_stopping)


def test_early_stopping_rejects_typical_mistakes():
    def ties_improve(val_acc, patience):
        best, best_epoch, waited = float("-inf"), 0, 0
        for epoch, acc in enumerate(val_acc):
            if acc >= best:
                best, best_epoch, waited = acc, epoch, 0
            else:
                waited += 1
                if waited == patience:
                    return best_epoch, epoch
        return best_epoch, len(val_acc) - 1

    def one_late(val_acc, patience):
        best, stop = reference_early_stopping(val_acc, patience)
        return best, min(stop + 1, len(val_acc) - 1) if stop < len(val_acc) - 1 else stop

    with pytest.raises(ExerciseError, match="a tie is not an improvement.*strictly higher"):
        check_early_stopping(ties_improve)
    with pytest.raises(ExerciseError, match="one epoch late"):
        check_early_stopping(one_late)
    with pytest.raises(ExerciseError, match="pair"):
        check_early_stopping(lambda val_acc, patience: max(range(len(val_acc)), key=val_acc.__getitem__))
