"""Checkers for the exercises at the end of notebooks 02-13.

A student calls a checker on their answer. A wrong answer raises ExerciseError with a message that says
what is wrong and by how much (which step diverged, which layer, which value); a right one prints a
short confirmation. Checkers return nothing, so a notebook calls them the same way everywhere:
`check_conv_fans(my_function)`, never `assert check_...`. Each topic has its own module in this package.
"""

import sys
from pathlib import Path

CHECKERS = Path(__file__).resolve().parent
# Errors a wrong kind of answer raises inside a checker (a string, a list, an instance for a class...).
ANSWER_ERRORS = (
    NotImplementedError,
    TypeError,
    ValueError,
    AttributeError,
    IndexError,
    KeyError,
    RuntimeError,
)


class ExerciseError(AssertionError):
    """The answer is not right yet; the message says what to look at."""

    def _render_traceback_(self):
        """What Jupyter shows instead of a traceback: the verdict alone, not the checker's source (which
        would print its hints and expected values)."""
        return [f"ExerciseError: {self}"]


def _where(filename: str) -> str:
    """'checker' for this package's code, 'student' for a notebook cell's, '' for a library's."""
    if Path(filename).resolve().is_relative_to(CHECKERS):
        return "checker"
    return "student" if filename.startswith(("<ipython-input", "/tmp/ipykernel_")) else ""


def verdict(error: BaseException) -> str | None:
    """One sentence for an error raised while a checker ran, or None when the traceback is the help:
    an error in the student's own code (their cell's frame is the last one of ours) keeps it."""
    frames, tb = [], error.__traceback__
    while tb is not None:
        frames.append((_where(tb.tb_frame.f_code.co_filename), tb.tb_frame.f_code.co_name))
        tb = tb.tb_next
    ours = [(where, name) for where, name in frames if where]
    if not any(where == "checker" for where, _ in ours):
        return None
    where, name = ours[-1]
    if isinstance(error, NotImplementedError) and where == "student":
        return f"fill in `{name}` first: it still raises NotImplementedError."
    if where == "checker":
        return (
            f"the checker could not use your answer ({type(error).__name__}: {error}). Check what it "
            "is: a function or class where the exercise asks for one, and the type and shape it returns."
        )
    return None


def _show_short(shell, etype, value, tb, tb_offset=None):
    """IPython's handler for ANSWER_ERRORS: a checker's verdict in one line, anything else as usual."""
    message = verdict(value)
    if message is None:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
    else:
        shell._showtraceback(etype, value, [f"ExerciseError: {message}"])


def _install() -> None:
    """In a notebook, make wrong kinds of answers and untouched skeletons speak plainly."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython else None
    if shell is not None:
        shell.set_custom_exc(ANSWER_ERRORS, _show_short)


_install()


def check(condition: bool, message: str) -> None:
    """Raise ExerciseError(message) unless `condition` holds."""
    if not condition:
        raise ExerciseError(message)


def passed(name: str) -> None:
    """Confirm a correct answer the same way in every notebook."""
    print(f"Correct: {name} passes every check.")
