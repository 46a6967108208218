"""The book's solution cells are rendered from the package: one text for each reference.

    python -m book_tools.references          rewrite every solution cell from the package
    python -m book_tools.references --check  list the cells that differ from it (exit status 1)

A solution cell (tagged ``solution``) defines functions and classes. Each is the package's
definition of that name, found in the modules that the lesson's row of
:data:`cifar_lessons.lessons.LESSONS` names as its references, and shown as the package writes
it, less its ``@taught_in(...)`` line: that decorator says which lesson teaches a definition
and puts the checks of its arguments (:mod:`cifar_lessons.from_scratch.contracts`) around it,
and the learner writes neither. Every definition marked ``@taught_in(lesson)`` must appear in
that lesson's solution cells, and every definition in them must be marked so.
"""

import ast
import importlib
import inspect
import sys
import textwrap
from pathlib import Path

import nbformat

from cifar_lessons.lessons import LESSONS
from cifar_lessons.teaching import TAUGHT_IN

BOOK = Path(__file__).resolve().parents[1] / "book"
SOLUTION_TAG = "solution"


class ReferenceError(Exception):
    """A solution cell names a definition the package does not hold, or teaches it elsewhere."""


def defined_names(source):
    """The names of the functions and classes a cell defines, in order."""
    return [
        node.name
        for node in ast.parse(source).body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    ]


def _without_taught_in(source):
    """``source`` (a definition, dedented) less its ``@taught_in(...)`` decorator, which may span lines."""
    node = ast.parse(source).body[0]
    lines = source.splitlines(keepends=True)
    for decorator in node.decorator_list:
        call = decorator.func if isinstance(decorator, ast.Call) else decorator
        if getattr(call, "id", None) == "taught_in":
            del lines[decorator.lineno - 1 : decorator.end_lineno]
            break
    return "".join(lines)


def lesson_of(value):
    """The lesson a definition's ``@taught_in`` names, through any decorators around it, or None."""
    while value is not None:
        if getattr(value, TAUGHT_IN, None):
            return getattr(value, TAUGHT_IN)
        value = getattr(value, "__wrapped__", None)
    return None


def definition(name, modules):
    """``(text, lesson)``: the package's text of ``name`` from the first of ``modules`` that
    defines it, and the lesson its ``@taught_in`` names (None if it has none)."""
    for module_name in modules:
        module = importlib.import_module(module_name)
        found = getattr(module, name, None)
        if found is None or getattr(inspect.unwrap(found), "__module__", None) != module_name:
            continue
        text = textwrap.dedent(inspect.getsource(inspect.unwrap(found)))
        return _without_taught_in(text).rstrip() + "\n", lesson_of(found)
    raise ReferenceError(f"no module of {', '.join(modules)} defines {name}")


def rendered(lesson, source):
    """What a solution cell of ``lesson`` holding ``source`` should hold: the package's text of
    each definition in it, in its order, two blank lines apart."""
    texts = []
    for name in defined_names(source):
        text, teacher = definition(name, lesson.references)
        if teacher != lesson.key:
            raise ReferenceError(
                f"{lesson.notebook}: {name} is marked @taught_in({teacher!r}), not {lesson.key!r}: "
                "mark it as taught in the lesson that shows it"
            )
        texts.append(text)
    return "\n\n".join(texts).rstrip("\n")


def taught_definitions(lesson):
    """The names the package marks as taught in ``lesson``, in its reference modules."""
    names = set()
    for module_name in lesson.references:
        for name, value in vars(importlib.import_module(module_name)).items():
            if callable(value) and lesson_of(value) == lesson.key:
                names.add(name)
    return names


def sync(book=BOOK, write=True):
    """Render every solution cell of every lesson's notebook; return ``[(notebook, problem)]``
    for the cells that differed (rewritten when ``write``) and for taught definitions no cell shows."""
    problems = []
    for lesson in LESSONS:
        path = book / f"{lesson.notebook}.ipynb"
        notebook = nbformat.read(path, as_version=4)
        shown, changed = set(), False
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code" or SOLUTION_TAG not in cell.metadata.get("tags", []):
                continue
            text = rendered(lesson, cell.source)
            shown.update(defined_names(cell.source))
            if text != cell.source:
                problems.append((lesson.notebook, f"cell {index} ({', '.join(defined_names(cell.source))}) differs"))
                cell.source, changed = text, True
        missing = taught_definitions(lesson) - shown
        if missing:
            problems.append((lesson.notebook, f"no solution cell shows {', '.join(sorted(missing))}"))
        if changed and write:
            nbformat.write(notebook, path)
    return problems


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    check = argv == ["--check"]
    if argv not in ([], ["--check"]):
        sys.exit(__doc__.split("\n\n")[1])
    problems = sync(write=not check)
    for notebook, problem in problems:
        print(f"{notebook}: {problem}" + ("" if check else " (rewritten from the package)" * ("differs" in problem)))
    if check and problems:
        print("run `python -m book_tools.references` to render them from the package")
        sys.exit(1)


if __name__ == "__main__":
    main()
