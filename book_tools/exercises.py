"""Learner notebooks: the book's notebooks with every exercise's solution blanked to a stub.

    python -m book_tools.exercises OUT_DIR [BOOK_DIR]

An exercise is a code cell tagged ``solution`` holding function or class definitions; the next
code cell checks them. In the learner's copy each function keeps its ``def`` line and docstring
and its body becomes a TODO that raises ``NotImplementedError``, so the check says "not
implemented yet" until the learner writes it. The outputs of both cells are cleared.

A question's answer is a markdown cell tagged ``answer``: an HTML ``<details>`` block, which
folds in the rendered book and in Jupyter alike. The learner's copy keeps the question and puts
a cell for their own answer in its place. Every other cell, with its outputs, is copied
unchanged, and so is every other file of BOOK_DIR.
"""

import ast
import copy
import shutil
import sys
from pathlib import Path

SOLUTION_TAG = "solution"
EXERCISE_TAG = "exercise"
# The rendered book folds each solution away ("Show code cell source"), so a reader can try first;
# the learner's copy shows its stub.
FOLDED_TAG = "hide-input"
ANSWER_TAG = "answer"
YOUR_ANSWER = "**Your answer:** *write it here*"
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


def _functions(nodes, prefix=""):
    """``(qualified name, node)`` of the functions defined in ``nodes`` or in their classes."""
    for node in nodes:
        if isinstance(node, ast.ClassDef):
            yield from _functions(node.body, f"{prefix}{node.name}.")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield prefix + node.name, node


def _docstring(node):
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first
    return None


def _end_of_trailing_comments(lines, last, def_column):
    """``last`` moved past the comment lines after it that are indented as a body under a def at
    ``def_column``: they belong to that body, and could give the solution away."""
    for number in range(last, len(lines)):
        text = lines[number]
        if not text.strip():
            continue
        if not (text.lstrip().startswith("#") and len(text) - len(text.lstrip()) > def_column):
            break
        last = number + 1
    return last


def stub(source):
    """``source``, a solution cell, with each function's body replaced by a TODO stub.

    Raises ValueError when the cell holds anything but imports and definitions, since the
    learner's copy would then give away (or lose) that code.
    """
    tree = ast.parse(source)
    for node in tree.body:
        if not isinstance(node, DEFINITIONS) and node is not _docstring(tree):
            raise ValueError(
                f"a solution cell may hold only imports, functions and classes, but line "
                f"{node.lineno} is a {type(node).__name__}: move it to another cell"
            )
    lines = source.splitlines(keepends=True)
    for name, function in sorted(_functions(tree.body), key=lambda f: f[1].lineno, reverse=True):
        docstring = _docstring(function)
        body = function.body[1:] if docstring else function.body
        if function.body[0].lineno == function.lineno:
            raise ValueError(f"{name}: put its body on the lines after its def line")
        if docstring:
            first = docstring.end_lineno
        else:  # the body starts after the header, including any comments that open it
            first = function.body[0].lineno - 1
            while lines[first - 1].strip() == "" or lines[first - 1].lstrip().startswith("#"):
                first -= 1
        last = _end_of_trailing_comments(lines, body[-1].end_lineno if body else first, function.col_offset)
        indent = " " * function.body[0].col_offset
        see = " (see its docstring)" if docstring else ""
        lines[first:last] = [
            f"{indent}# TODO: write the body of {name}{see}, then run the check below.\n",
            f"{indent}raise NotImplementedError\n",
        ]
    return "".join(lines).rstrip("\n")


def learner_notebook(notebook):
    """A copy of ``notebook`` (an nbformat node) with its solution cells stubbed out and its
    answers replaced by a place for the learner's."""
    learner = copy.deepcopy(notebook)
    for cell in learner.cells:
        if ANSWER_TAG in cell.metadata.get("tags", []):
            cell.source = YOUR_ANSWER
            cell.metadata["tags"] = [tag for tag in cell.metadata["tags"] if tag != ANSWER_TAG]
    code = [(number, cell) for number, cell in enumerate(learner.cells, 1) if cell.cell_type == "code"]
    for index, (number, cell) in enumerate(code):
        tags = cell.metadata.get("tags", [])
        if SOLUTION_TAG not in tags:
            continue
        cell.metadata["tags"] = [EXERCISE_TAG if tag == SOLUTION_TAG else tag for tag in tags if tag != FOLDED_TAG]
        try:
            cell.source = stub(cell.source)
        except (ValueError, SyntaxError) as error:
            opening = cell.source.strip().partition("\n")[0]
            raise ValueError(f"solution cell {number} (which starts {opening!r}): {error}") from error
        for _, cleared in [(number, cell)] + code[index + 1 : index + 2]:
            cleared.outputs, cleared.execution_count = [], None
    return learner


def write_exercises(out_dir, book_dir="book"):
    """Write the learner version of every notebook in ``book_dir`` (and copy its other files)."""
    import nbformat

    out_dir, book_dir = Path(out_dir), Path(book_dir)
    if not any(book_dir.glob("*.ipynb")):
        raise FileNotFoundError(f"no notebooks in {book_dir.resolve()}: give the book's folder")
    if out_dir.exists() and out_dir.samefile(book_dir):  # the learner copies would replace the solutions
        raise ValueError(
            f"OUT_DIR {str(out_dir)!r} is the book folder itself ({book_dir.resolve()}): "
            "give another folder, e.g. `python -m book_tools.exercises exercises book`"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(book_dir.iterdir()):
        if path.suffix == ".ipynb":
            notebook = nbformat.read(path, as_version=4)
            try:
                learner = learner_notebook(notebook)
            except ValueError as error:
                raise ValueError(f"{path}: {error}") from error
            nbformat.write(learner, out_dir / path.name)
            count = sum(SOLUTION_TAG in c.metadata.get("tags", []) for c in notebook.cells)
            questions = sum(ANSWER_TAG in c.metadata.get("tags", []) for c in notebook.cells)
            print(
                f"{out_dir / path.name}: {count} exercise{'s' * (count != 1)}, "
                f"{questions} question{'s' * (questions != 1)}"
            )
        elif path.is_file():
            shutil.copy2(path, out_dir / path.name)


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (1, 2):
        sys.exit("usage: python -m book_tools.exercises OUT_DIR [BOOK_DIR]")
    write_exercises(*args)


if __name__ == "__main__":
    main()
