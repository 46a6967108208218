"""Learner notebooks: the book's notebooks with every exercise's solution blanked to a stub.

    python -m book_tools.exercises OUT_DIR [BOOK_DIR]

An exercise is a code cell tagged ``solution`` holding function or class definitions; the next
code cell checks them. In the learner's copy each function keeps its ``def`` line and docstring
and its body becomes a TODO that raises ``NotImplementedError``, so the check says "not
implemented yet" until the learner writes it.

A question's answer is a markdown cell tagged ``answer``: an HTML ``<details>`` block, which
folds in the rendered book and in Jupyter alike. The learner's copy keeps the question and puts
a cell for their own answer in its place.

The learner's copy shows none of the book's results: every output of every cell is cleared (and
the state of the book's progress bars), except in the cells tagged ``compare``, whose outputs the
learner is meant to compare their own run with; such a cell, or the markdown right above it, says
so (it contains "compare"). Every other cell is copied unchanged, and so is every other file of
BOOK_DIR.

What a learner typed is never overwritten: OUT_DIR's ``.exercises.json`` records what the command
wrote last, and a file there that differs from it (and from what would be written now) is left
as it is and named, with the fix, while the other copies are written; so is a link, which would
be written through into whatever it points to, the book perhaps. Every notebook is read (within
a budget of bytes and nesting) and every copy made before the first is written, so a notebook
that cannot be read writes nothing.
"""

import argparse
import ast
import copy
import hashlib
import io
import json
import os
import re
import reprlib
import sys
import tokenize
from pathlib import Path

from cifar_lessons.atomic_file import open_atomically

SOLUTION_TAG = "solution"
EXERCISE_TAG = "exercise"
# The rendered book folds each solution away ("Show code cell source"), so a reader can try first;
# the learner's copy shows its stub.
FOLDED_TAG = "hide-input"
ANSWER_TAG = "answer"
# A cell whose outputs the learner's copy keeps, for the learner to compare their own run with.
COMPARE_TAG = "compare"
YOUR_ANSWER = "**Your answer:** *write it here*"
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
MANIFEST = ".exercises.json"  # in OUT_DIR: each file's name -> the SHA-256 of what was written last
MAX_NOTEBOOK_BYTES = 64 * 2**20  # the book's largest notebook is under 1 MB
MAX_DEPTH = 64  # the book's notebooks nest 11 levels at most


class LearnerCopyError(ValueError):
    """The learner copies cannot be written as asked; the message names the file and the fix."""


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


def _tags(cell, number):
    tags = cell.metadata.get("tags", [])
    if not (isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)):
        raise LearnerCopyError(
            f"cell {number}: metadata.tags must be a list of strings, got {type(tags).__name__} "
            f"{reprlib.repr(tags)}: write it as a list, e.g. ['solution']"
        )
    return tags


def learner_notebook(notebook):
    """A copy of ``notebook`` (an nbformat node) with its solution cells stubbed out, its answers
    replaced by a place for the learner's, and every output cleared but those of ``compare`` cells."""
    learner = copy.deepcopy(notebook)
    for number, cell in enumerate(learner.cells, 1):
        if ANSWER_TAG in _tags(cell, number):
            cell.source = YOUR_ANSWER
            cell.metadata["tags"] = [tag for tag in cell.metadata["tags"] if tag != ANSWER_TAG]
    code = [(number, cell) for number, cell in enumerate(learner.cells, 1) if cell.cell_type == "code"]
    checks = {
        id(cell)
        for (_, solution), (_, cell) in zip(code, code[1:])
        if SOLUTION_TAG in solution.metadata.get("tags", [])
    }
    for number, cell in code:
        tags = _tags(cell, number)
        if COMPARE_TAG in tags:
            _check_compare_cell(learner.cells, number, solution=SOLUTION_TAG in tags, check=id(cell) in checks)
        else:
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)  # when the book's run executed it
        if SOLUTION_TAG not in tags:
            continue
        cell.metadata["tags"] = [EXERCISE_TAG if tag == SOLUTION_TAG else tag for tag in tags if tag != FOLDED_TAG]
        try:
            cell.source = stub(cell.source)
        except (ValueError, SyntaxError, RecursionError, MemoryError) as error:
            opening = reprlib.repr(cell.source.strip().partition("\n")[0])
            raise LearnerCopyError(f"solution cell {number} (which starts {opening}): {error}") from error
    if not any(_shows_a_widget(cell) for cell in learner.cells):
        learner.metadata.pop("widgets", None)  # the state of the book's progress bars
    return learner


def _check_compare_cell(cells, number, solution, check):
    """Refuses a ``compare`` tag on the cells the learner's own code fills, and on a cell that does
    not tell the learner to compare (in its comments or strings, or in the markdown right above it)."""
    if solution or check:
        which = "an exercise" if solution else "the check of an exercise"
        raise LearnerCopyError(
            f"cell {number} is tagged {COMPARE_TAG!r} but is {which}, whose output the learner's own code "
            f"makes: tag a cell after it {COMPARE_TAG!r} instead"
        )
    above = []
    for cell in reversed(cells[: number - 1]):
        if cell.cell_type != "markdown":
            break
        above.append(cell.source)
    if not any(_says_compare(text) for text in [*_words(cells[number - 1].source), *above]):
        raise LearnerCopyError(
            f"cell {number} is tagged {COMPARE_TAG!r}, so the learner's copy keeps the book's output, but neither "
            "its comments nor the markdown right above it say so: write there, e.g., "
            "'compare your output with the book's below'"
        )


def _words(code):
    """The comments and string literals of ``code``: what it says to a reader, not what it calls."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):  # IPython syntax, e.g. a magic: its comment lines then
        return [line for line in code.splitlines() if line.lstrip().startswith("#")]
    return [token.string for token in tokens if token.type in (tokenize.COMMENT, tokenize.STRING)]


def _says_compare(text):
    return re.search(r"\bcompar(e|ing|ison)", text, re.IGNORECASE) is not None


def _shows_a_widget(cell):
    return any(
        "application/vnd.jupyter.widget-view+json" in output.get("data", {}) for output in cell.get("outputs", [])
    )


def _nests_deeper(value, limit):
    """Whether ``value``'s lists and dicts nest more than ``limit`` levels: walked without recursion."""
    stack = [(value, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > limit:
                return True
            stack.extend((item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))
    return False


def read_notebook(path):
    """The notebook at ``path`` as an nbformat v4 node, read within a budget of bytes and nesting
    and validated against nbformat's schema, or LearnerCopyError saying what is wrong."""
    import nbformat

    fix = "repair it in Jupyter, or restore it from the book's repository (git checkout -- FILE)"
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_NOTEBOOK_BYTES + 1)
    except OSError as error:
        raise LearnerCopyError(f"cannot read {path} ({error.strerror or error}): make it readable") from error
    if len(raw) > MAX_NOTEBOOK_BYTES:
        raise LearnerCopyError(f"{path} holds more than {MAX_NOTEBOOK_BYTES} bytes, more than a notebook: {fix}")
    try:
        content = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise LearnerCopyError(f"{path} is not UTF-8 text (byte {error.start}): {fix}") from error
    except RecursionError as error:
        raise LearnerCopyError(f"{path} nests deeper than {MAX_DEPTH} levels, deeper than a notebook: {fix}") from error
    except ValueError as error:
        raise LearnerCopyError(f"{path} is not JSON ({error}): {fix}") from error
    if _nests_deeper(content, MAX_DEPTH):
        raise LearnerCopyError(f"{path} nests deeper than {MAX_DEPTH} levels, deeper than a notebook: {fix}")
    if not isinstance(content, dict):
        raise LearnerCopyError(f"{path} is not a notebook (it holds a {type(content).__name__}): {fix}")
    try:
        notebook = nbformat.convert(nbformat.reader.reads(raw), 4)  # its source lines joined into text
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        where = "/".join(str(part) for part in error.absolute_path)
        raise LearnerCopyError(f"{path} is not a notebook (at {where}: {error.message[:200]}): {fix}") from error
    except (ValueError, KeyError, TypeError, AttributeError, AssertionError) as error:  # nbformat's own checks
        raise LearnerCopyError(
            f"{path} is not a notebook ({type(error).__name__}: {str(error)[:200]}): {fix}"
        ) from error
    return notebook


def _learner_copies(book_dir):
    """``{file name: (bytes to write, what to print)}`` for every file of ``book_dir``, made in full
    before anything is written."""
    import nbformat

    copies = {}
    for path in sorted(book_dir.iterdir()):
        if path.suffix == ".ipynb":
            notebook = read_notebook(path)
            try:
                learner = learner_notebook(notebook)
            except LearnerCopyError as error:
                raise LearnerCopyError(f"{path}: {error}") from error
            text = nbformat.writes(learner)
            text += "" if text.endswith("\n") else "\n"  # as nbformat.write ends a file
            count = sum(SOLUTION_TAG in c.metadata.get("tags", []) for c in notebook.cells)
            questions = sum(ANSWER_TAG in c.metadata.get("tags", []) for c in notebook.cells)
            summary = f"{count} exercise{'s' * (count != 1)}, {questions} question{'s' * (questions != 1)}"
            copies[path.name] = (text.encode("utf-8"), summary)
        elif path.is_file():
            try:
                copies[path.name] = (path.read_bytes(), None)
            except OSError as error:
                raise LearnerCopyError(f"cannot read {path} ({error.strerror or error}): make it readable") from error
    return copies


def _digest(content):
    return hashlib.sha256(content).hexdigest()


def _file_digest(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _last_written(out_dir):
    """What this command wrote last into ``out_dir``: file name -> digest (nothing, if unknown)."""
    try:
        written = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return written if isinstance(written, dict) and all(isinstance(v, str) for v in written.values()) else {}


def _why_not_replaced(target, content, last_digest):
    """Why ``target`` must not be replaced by ``content``, or None when nothing would be lost."""
    if target.is_symlink():
        return (
            f"{target} is a symbolic link (to {os.readlink(target)}): writing it would change what it points to, "
            "the book perhaps; remove the link, and this command writes a file of its own"
        )
    if not target.exists():
        return None
    if not target.is_file():
        return f"{target} is not a file: move it away"
    if target.stat().st_nlink > 1:
        return (
            f"{target} is a hard link, its contents shared with another name (the book's, perhaps): "
            "remove it, and this command writes a file of its own"
        )
    try:
        current = _file_digest(target)
    except OSError as error:
        return f"{target} cannot be read ({error.strerror or error}): move it away"
    if current in (last_digest, _digest(content)):
        return None
    return (
        f"{target} differs from the copy this command wrote last: it may hold your work, so it is not "
        "replaced; move it away (or rename it), then run again for a fresh copy"
    )


def write_exercises(out_dir, book_dir="book"):
    """Write the learner version of every notebook in ``book_dir`` (and copy its other files).

    Raises LearnerCopyError, before writing anything, when a notebook cannot be read or blanked; and,
    after writing every other copy, when a file in ``out_dir`` that holds what this command did not
    write last (the learner's work), or a link, was left as it is.
    """
    out_dir, book_dir = Path(out_dir), Path(book_dir)
    if not book_dir.is_dir() or not any(book_dir.glob("*.ipynb")):
        raise LearnerCopyError(f"no notebooks in {book_dir.resolve()}: give the book's folder")
    if out_dir.exists() and not out_dir.is_dir():
        raise LearnerCopyError(f"OUT_DIR {out_dir} is a file, not a folder: give a folder")
    if out_dir.exists() and out_dir.samefile(book_dir):  # the learner copies would replace the solutions
        raise LearnerCopyError(
            f"OUT_DIR {str(out_dir)!r} is the book folder itself ({book_dir.resolve()}): "
            "give another folder, e.g. `python -m book_tools.exercises exercises book`"
        )
    copies = _learner_copies(book_dir)
    written = _last_written(out_dir)
    refused = {
        name: problem
        for name, (content, _) in copies.items()
        if (problem := _why_not_replaced(out_dir / name, content, written.get(name)))
    }
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, (content, summary) in copies.items():
            if name in refused:
                continue
            with open_atomically(out_dir / name) as f:  # replaces the file, never writes into it
                f.write(content)
            written[name] = _digest(content)
            with open_atomically(out_dir / MANIFEST) as f:  # at once: a later run then knows this copy
                f.write(json.dumps(written, indent=1, sort_keys=True).encode("utf-8"))
            if summary:
                print(f"{out_dir / name}: {summary}")
    except OSError as error:  # what was written so far is what a second run writes, which replaces it
        raise LearnerCopyError(
            f"could not write into {out_dir} ({error.strerror or error}): free some space"
        ) from error
    if refused:
        problems = list(refused.values())
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        others = "every other copy was written" if len(refused) < len(copies) else "nothing was written"
        raise LearnerCopyError(f"not replaced: {'; '.join(problems[:5])}{more}. {others.capitalize()}.")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m book_tools.exercises", description="Write the learner copies of the book's notebooks."
    )
    parser.add_argument("out_dir", help="the folder the learner copies are written to")
    parser.add_argument("book_dir", nargs="?", default="book", help="the book's notebooks (default: book)")
    args = parser.parse_args(argv)
    try:
        write_exercises(args.out_dir, args.book_dir)
    except LearnerCopyError as error:
        sys.exit(f"python -m book_tools.exercises: {error}")


if __name__ == "__main__":
    main()
