"""Reading a notebook's code the way the exercise tests run it: its definitions, without the data
loading and training around them."""

import ast
import json

from IPython.core.inputtransformer2 import TransformerManager

from book_tools import exercises


def run(source, namespace=None):
    namespace = {} if namespace is None else namespace
    exec(compile(source, "<cell>", "exec"), namespace)
    return namespace


def code_cells(notebook):
    return [cell for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"] if cell["cell_type"] == "code"]


def source(cell):
    return "".join(cell["source"])


def takes_with_use(node):
    """Whether ``node`` is ``names = use(...)``: code taken from an earlier chapter, which later exercises call."""
    return (
        isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", "") == "use"
    )


def definitions(cell):
    """The imports, functions and classes of a cell (magics made Python first), and what it takes
    with ``use`` from earlier chapters, without the rest."""
    tree = ast.parse(TransformerManager().transform_cell(source(cell)))
    tree.body = [node for node in tree.body if isinstance(node, exercises.DEFINITIONS) or takes_with_use(node)]
    return ast.unparse(tree)


def solutions(notebook):
    """A namespace holding the definitions of every cell of ``notebook``, its solutions included."""
    namespace = {}
    for cell in code_cells(notebook):
        run(definitions(cell), namespace)
    return namespace
