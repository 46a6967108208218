"""Your code, carried from one chapter to the next.

A chapter's last cell calls :func:`keep` with the functions and classes you wrote and checked in
it; they are written, with the imports they need, to ``yours/<lesson>.py`` beside the notebook.
A later chapter calls :func:`use` to take them back, and says whose code it got: yours, or the
book's reference where you have not kept yours yet. Only code whose check passed in this session
is kept, so a wrong function stops at its check, not hours later in a training run.
"""

import ast
import builtins
import importlib.util
import inspect
import linecache
import reprlib
import sys
import types
from pathlib import Path

from cifar_lessons.atomic_file import open_atomically
from cifar_lessons.checks.core import ExerciseError, has_passed
from cifar_lessons.lessons import lesson as registered_lesson

FOLDER = "yours"


class KeepError(ValueError):
    """keep() or use() was given what it cannot keep or load; the message says what and the fix."""


def _folder():
    return Path.cwd() / FOLDER


def _lesson_key(name):
    """The key of the lesson ``name`` names: a key names a file, and no other name writes anywhere."""
    try:
        return registered_lesson(name).key
    except ValueError as error:
        raise KeepError(str(error)) from None


def _check_keepable(definition):
    """Raise KeepError unless ``definition`` is a function or class whose source keep() can write alone."""
    if not (inspect.isfunction(definition) or isinstance(definition, type)):
        raise KeepError(
            f"keep takes the functions and classes you wrote, got {reprlib.repr(definition)} "
            f"({type(definition).__name__})"
        )
    if definition.__name__ == "<lambda>":
        raise KeepError("keep cannot keep a lambda, which has no name to use it by: write it as a def")
    outer, _, _ = definition.__qualname__.rpartition(".<locals>.")
    if outer:
        raise KeepError(
            f"{definition.__name__} is defined inside {outer}: keep takes functions and classes defined at the "
            "top level of a cell (their source would need what the outer function defines); move it there"
        )


def _source(definition):
    """The source of a function or class defined in a notebook cell (or a file)."""
    if isinstance(definition, type):
        functions = [f for f in vars(definition).values() if isinstance(f, types.FunctionType)]
        if not functions:
            raise KeepError(f"{definition.__name__} defines no methods: nothing tells where its source is")
        lines = linecache.getlines(functions[0].__code__.co_filename)
        tree = ast.parse("".join(lines))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name == definition.__name__:
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                return "".join(lines[start - 1 : node.end_lineno])
        raise KeepError(f"the source of class {definition.__name__} is not found: define it in a notebook cell")
    try:
        return inspect.getsource(definition)
    except OSError as error:
        raise KeepError(f"the source of {definition.__name__} is not found: define it in a notebook cell") from error


def _global_names(source):
    """The names ``source`` reads but never binds: what its module must import."""
    tree = ast.parse(source)
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return sorted(read - bound - set(dir(builtins)))


def _import_line(name, value, kept_names):
    """The import that gives a kept module ``name`` bound to ``value``, or None if it is kept too."""
    if name in kept_names:
        return None
    if isinstance(value, types.ModuleType):
        module = value.__name__
        if "." in module:
            parent, _, leaf = module.rpartition(".")
            return f"from {parent} import {leaf}" + (f" as {name}" if leaf != name else "")
        return f"import {module}" + (f" as {name}" if module != name else "")
    module = getattr(value, "__module__", None)
    if module and module != "__main__" and getattr(sys.modules.get(module), name, None) is value:
        return f"from {module} import {name}"
    if inspect.isfunction(value) or isinstance(value, type):
        raise KeepError(
            f"your code reads {name!r}, which this notebook defined but you did not pass to keep(): "
            f"pass it too, or import it in the cell that defines your code"
        )
    raise KeepError(
        f"your code reads {name!r}, a {type(value).__name__} this notebook defined, and keep() takes only "
        "functions and classes: define it inside the code that reads it, or pass it in as an argument"
    )


def keep(lesson, *definitions):
    """Write ``definitions`` (functions and classes whose checks passed) to ``yours/<lesson>.py``.

    Prints where they went (and returns nothing, so a notebook stores no machine's path). Raises
    ExerciseError naming any definition whose check has not passed in this session, and KeepError
    for a lesson that is not one, or a definition it cannot keep.
    """
    lesson = _lesson_key(lesson)
    if not definitions:
        raise KeepError("keep(lesson, *definitions): name the functions and classes to keep")
    for definition in definitions:
        _check_keepable(definition)
    waiting = [d.__name__ for d in definitions if not has_passed(d)]
    if waiting:
        raise ExerciseError(
            f"{', '.join(waiting)}: not kept, since no check has passed on this version; "
            "run its check cell (after the cell that defines it) first"
        )
    sources = [_source(d).rstrip() + "\n" for d in definitions]
    kept_names = {d.__name__ for d in definitions}
    namespace = {}  # the notebook's globals, as its functions (and its classes' methods) see them
    for definition in definitions:
        for function in [definition, *vars(definition).values()] if isinstance(definition, type) else [definition]:
            namespace.update(getattr(function, "__globals__", {}))
    imports = []
    for name in _global_names("\n".join(sources)):
        if name not in namespace and name not in kept_names:
            raise KeepError(f"your code reads {name!r}, which is not defined in this notebook")
        line = _import_line(name, namespace.get(name), kept_names)
        if line and line not in imports:
            imports.append(line)
    header = f'"""Your {lesson} code, kept by cifar_lessons.course.yours.keep from its chapter."""\n\n'
    text = (
        header
        + "".join(f"{line}\n" for line in sorted(imports, key=lambda line: (line.startswith("from"), line)))
        + "\n\n"
        + "\n\n".join(sources)
    )
    path = _folder() / f"{lesson}.py"
    path.parent.mkdir(exist_ok=True)
    with open_atomically(path) as f:
        f.write(text.encode("utf-8"))
    sys.modules.pop(f"{FOLDER}.{lesson}", None)
    print(f"kept {', '.join(d.__name__ for d in definitions)} in {FOLDER}/{lesson}.py")


def _load(lesson):
    """The module ``yours/<lesson>.py``, or None when nothing is kept for ``lesson``."""
    path = _folder() / f"{lesson}.py"
    if not path.exists():
        return None
    if str(path.parent.parent) not in sys.path:  # kept modules import each other as yours.<lesson>
        sys.path.insert(0, str(path.parent.parent))
    name = f"{FOLDER}.{lesson}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException as error:  # an interrupted import too: a half-run module must not be used later
            del sys.modules[name]
            if not isinstance(error, Exception):
                raise
            raise KeepError(
                f"{FOLDER}/{lesson}.py cannot be imported ({type(error).__name__}: {str(error)[:200]}): fix it or "
                f"delete it (the book's code is then used), or keep yours again from the {lesson} chapter"
            ) from error
    return sys.modules[name]


def use(lesson, *names, reference):
    """``names`` from your kept ``yours/<lesson>.py``, else from ``reference`` (the book's module).

    Prints whose code each name is. Returns one object for one name, else a tuple in order. Raises
    KeepError for a lesson that is not one, or a kept module that cannot be imported.
    """
    lesson = _lesson_key(lesson)
    mine = _load(lesson)
    found, missing = [], []
    for name in names:
        if mine is not None and hasattr(mine, name):
            found.append(getattr(mine, name))
        else:
            found.append(getattr(reference, name))
            missing.append(name)
    if len(missing) < len(names):
        print(f"yours, from {FOLDER}/{lesson}.py: {', '.join(n for n in names if n not in missing)}")
    if missing:
        print(
            f"the book's, from {reference.__name__}: {', '.join(missing)} "
            f"(keep yours with the last cell of the {lesson} chapter to use them here)"
        )
    return found[0] if len(names) == 1 else tuple(found)
