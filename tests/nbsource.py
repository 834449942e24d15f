"""Read the course notebooks as files: their cells, and the definitions they teach.

Used by the tests that keep a notebook and utils from drifting apart: the notebook is where the
student reads the code, utils is where later notebooks import it from, and both must say the same.
"""

import ast
import inspect
import json
import textwrap
from pathlib import Path

from IPython.core.inputtransformer2 import TransformerManager

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


def notebooks() -> list[Path]:
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def notebook_path(prefix: str) -> Path:
    """The notebook whose name starts with `prefix`, e.g. "05"."""
    (path,) = NOTEBOOK_DIR.glob(f"{prefix}_*.ipynb")
    return path


def cells(path: Path, cell_type: str = "code") -> list[str]:
    doc = json.loads(Path(path).read_text())
    return ["".join(c["source"]) for c in doc["cells"] if c["cell_type"] == cell_type]


def _strip_docstrings(node: ast.AST) -> ast.AST:
    for sub in ast.walk(node):
        body = getattr(sub, "body", None)
        if (
            isinstance(sub, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            sub.body = body[1:] or [ast.Pass()]
    return node


def _python(source: str, where: str) -> ast.Module:
    """A cell's source as Python: IPython magics and shell escapes become the calls IPython runs.

    A cell that still does not parse fails loudly, naming the notebook and cell: a definition in a cell
    the test cannot read would otherwise escape the drift check.
    """
    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError as err:
        raise AssertionError(
            f"{where} is not valid Python ({err.msg}, line {err.lineno}): fix the cell"
        ) from err


def notebook_definition(path: Path, name: str) -> str:
    """ast dump (docstrings and comments ignored) of the last definition of `name` in a notebook."""
    found = None
    for i, src in enumerate(cells(path)):
        for node in _python(src, f"{path.name}, code cell {i}").body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
                found = node
    assert found is not None, f"{path.name} does not define {name}"
    return ast.dump(_strip_docstrings(found))


def module_definition(obj) -> str:
    """ast dump (docstrings and comments ignored) of a function or class from utils."""
    node = ast.parse(textwrap.dedent(inspect.getsource(obj))).body[0]
    return ast.dump(_strip_docstrings(node))


def assert_no_drift(prefix: str, *objects) -> None:
    """Each object of utils is defined in notebook `prefix` with the same code."""
    path = notebook_path(prefix)
    for obj in objects:
        assert notebook_definition(path, obj.__name__) == module_definition(obj), (
            f"{obj.__name__} in {path.name} and in {obj.__module__} differ: change both together"
        )
