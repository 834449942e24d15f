"""Checkers for the exercises at the end of notebooks 02-13.

A student calls a checker on their answer. A wrong answer raises ExerciseError with a message that says
what is wrong and by how much (which step diverged, which layer, which value); a right one prints a
short confirmation. Checkers return nothing, so a notebook calls them the same way everywhere:
`check_conv_fans(my_function)`, never `assert check_...`. Each topic has its own module in this package.
"""


class ExerciseError(AssertionError):
    """The answer is not right yet; the message says what to look at."""


def check(condition: bool, message: str) -> None:
    """Raise ExerciseError(message) unless `condition` holds."""
    if not condition:
        raise ExerciseError(message)


def passed(name: str) -> None:
    """Confirm a correct answer the same way in every notebook."""
    print(f"Correct: {name} passes every check.")
