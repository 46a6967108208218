"""Your code, carried from one chapter to the next.

A chapter's last cell calls :func:`keep` with the functions and classes you wrote and checked in
it; they are written, with the imports they need and the helper functions they call, to
``yours/<lesson>.py``. A later chapter calls :func:`use` to take them back, and says whose code it
got: yours, or the book's reference where you have not kept yours yet. Only code whose check
passed in this session is kept (and the helpers it calls, which its check covered), so a wrong
function stops at its check, not hours later in a training run; what is not kept is named.

``yours/`` is beside the notebook (the kernel's working folder), where every chapter in the same
folder finds it. Where each notebook runs on a machine of its own (Colab), or to keep your code
anywhere else, set the environment variable ``CIFAR_LESSONS_YOURS`` to a folder every notebook
reaches, e.g. one on your Google Drive, in each notebook before ``keep`` or ``use``.
"""

import ast
import builtins
import importlib.util
import inspect
import linecache
import os
import reprlib
import sys
import types
from pathlib import Path

from cifar_lessons.atomic_file import open_atomically
from cifar_lessons.checks.core import ExerciseError, has_passed
from cifar_lessons.lessons import lesson as registered_lesson

FOLDER = "yours"  # the folder beside the notebook, and the package kept modules import each other from
SETTING = "CIFAR_LESSONS_YOURS"  # another folder for it, which every notebook reaches
COLAB_HINT = (
    f"On Colab each notebook runs on a machine of its own: mount your Drive and set {SETTING} to a folder "
    f"on it in every notebook, e.g. `%env {SETTING}=/content/drive/MyDrive/cifar-lessons-yours`"
)


class KeepError(ValueError):
    """keep() or use() was given what it cannot keep or load; the message says what and the fix."""


def _folder():
    """Where kept code lives: the folder $CIFAR_LESSONS_YOURS names, else yours/ beside the notebook."""
    setting = os.environ.get(SETTING)
    if setting is None:
        return Path.cwd() / FOLDER
    if not setting.strip():
        raise KeepError(f"{SETTING} is empty: unset it (yours/ beside the notebook is then used) or name a folder")
    folder = Path(setting.strip()).expanduser()
    folder = folder if folder.is_absolute() else Path.cwd() / folder
    if folder.exists() and not folder.is_dir():
        raise KeepError(f"{SETTING} names {folder}, which is a file: name a folder")
    if not folder.parent.is_dir():  # an unmounted Drive: a folder made in its place would vanish with the machine
        raise KeepError(
            f"{SETTING} names {folder}, but {folder.parent} does not exist: create it, or mount the drive it is on "
            "(on Colab: `from google.colab import drive; drive.mount('/content/drive')`)"
        )
    return folder


def _shown(folder):
    """``folder`` as messages write it: yours/ where it is beside the notebook, else in full."""
    return f"{FOLDER}/" if os.environ.get(SETTING) is None else f"{folder}/"


def _package(folder):
    """The package ``yours``, whose modules are the files of ``folder``: kept modules import each other
    as ``yours.<lesson>`` wherever the folder is and whatever it is called."""
    package = sys.modules.get(FOLDER)
    if package is None or list(getattr(package, "__path__", [])) != [str(folder)]:
        for name in [name for name in sys.modules if name.startswith(f"{FOLDER}.")]:
            del sys.modules[name]  # modules of another folder
        package = types.ModuleType(FOLDER, "Your code, kept by cifar_lessons.course.yours.keep.")
        package.__path__ = [str(folder)]
        sys.modules[FOLDER] = package
    return package


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


def _importable(name, value):
    """The import that binds ``name`` to ``value`` (a module, or what a module defines), or None
    when ``value`` is defined in the notebook."""
    if isinstance(value, types.ModuleType):
        module = value.__name__
        if "." in module:
            parent, _, leaf = module.rpartition(".")
            return f"from {parent} import {leaf}" + (f" as {name}" if leaf != name else "")
        return f"import {module}" + (f" as {name}" if module != name else "")
    module, own_name = getattr(value, "__module__", None), getattr(value, "__name__", None)
    if (
        isinstance(module, str)
        and module != "__main__"
        and isinstance(own_name, str)
        and getattr(sys.modules.get(module), own_name, None) is value
    ):
        return f"from {module} import {own_name}" + (f" as {name}" if own_name != name else "")
    return None


def _needs(definition, namespace):
    """``(imports, helpers)``: the import lines ``definition``'s source needs, and the functions and
    classes of the notebook it reads, which are kept with it. Raises KeepError for anything else it
    reads from the notebook."""
    imports, helpers = [], []
    for name in _global_names(_source(definition)):
        if name not in namespace:
            raise KeepError(f"it reads {name!r}, which is not defined in this notebook")
        value = namespace[name]
        line = _importable(name, value)
        if line:
            imports.append(line)
        elif inspect.isfunction(value) or isinstance(value, type):
            try:
                _check_keepable(value)
            except KeepError as error:
                raise KeepError(f"it calls {name}, which cannot be kept with it: {error}") from None
            if value.__name__ != name:
                raise KeepError(
                    f"it calls {value.__name__} by another name, {name!r}: call it {value.__name__} to keep it"
                )
            helpers.append(value)
        else:
            raise KeepError(
                f"it reads {name!r}, a {type(value).__name__} this notebook defined, and keep() takes only "
                "functions and classes: define it inside the code that reads it, or pass it in as an argument"
            )
    return imports, helpers


def _globals(definition):
    """The notebook's globals, as ``definition`` (a function, or a class's methods) sees them beneath
    its decorators."""
    namespace = {}
    functions = [definition, *vars(definition).values()] if isinstance(definition, type) else [definition]
    for function in functions:
        function = getattr(function, "__func__", function)  # a static or class method's function
        if callable(function):
            namespace.update(getattr(inspect.unwrap(function), "__globals__", {}))
    return namespace


def _with_helpers(definition):
    """``definition`` and the notebook's functions and classes it reads, each after those it reads, with
    the imports they need: ``(definitions, import lines)``. Raises KeepError when one cannot be kept."""
    order, imports, visiting = [], [], set()

    def visit(current):
        if current in order or current in visiting:  # visiting: functions calling each other
            return
        visiting.add(current)
        lines, helpers = _needs(current, _globals(current))
        for helper in helpers:
            visit(helper)
        imports.extend(line for line in lines if line not in imports)
        order.append(current)

    visit(definition)
    return order, imports


def keep(lesson, *definitions):
    """Write ``definitions`` (functions and classes whose checks passed), with the helpers they call, to
    ``yours/<lesson>.py`` (or $CIFAR_LESSONS_YOURS/<lesson>.py).

    Prints what was kept and where, and names each definition not kept and why (and returns nothing,
    so a notebook stores no machine's path). Raises KeepError for a lesson that is not one, or for
    what is no function or class; and, when nothing can be kept, ExerciseError if no check has passed,
    else KeepError naming why.
    """
    lesson = _lesson_key(lesson)
    if not definitions:
        raise KeepError("keep(lesson, *definitions): name the functions and classes to keep")
    for definition in definitions:
        _check_keepable(definition)
    folder = _folder()
    kept, imports, refused = [], [], {}
    for definition in definitions:
        if not has_passed(definition):
            continue
        try:
            closure, lines = _with_helpers(definition)
        except KeepError as error:
            refused[definition] = f"{definition.__name__}: {error}"
            continue
        kept.extend(d for d in closure if d not in kept)
        imports.extend(line for line in lines if line not in imports)
    unchecked = [d for d in definitions if d not in kept and d not in refused]
    if not kept:
        if refused:
            raise KeepError("nothing kept: " + "; ".join(refused.values()))
        raise ExerciseError(
            f"{', '.join(d.__name__ for d in unchecked)}: not kept, since no check has passed on this version; "
            "run its check cell (after the cell that defines it) first"
        )
    header = f'"""Your {lesson} code, kept by cifar_lessons.course.yours.keep from its chapter."""\n\n'
    text = (
        header
        + "".join(f"{line}\n" for line in sorted(imports, key=lambda line: (line.startswith("from"), line)))
        + "\n\n"
        + "\n\n".join(_source(d).rstrip() + "\n" for d in kept)
    )
    folder.mkdir(exist_ok=True)
    with open_atomically(folder / f"{lesson}.py") as f:
        f.write(text.encode("utf-8"))
    sys.modules.pop(f"{FOLDER}.{lesson}", None)
    _report(lesson, folder, definitions, kept, refused, unchecked)


def _report(lesson, folder, definitions, kept, refused, unchecked):
    named = [d.__name__ for d in kept if d in definitions]
    helpers = [d.__name__ for d in kept if d not in definitions]
    lines = [f"kept {', '.join(named)} in {_shown(folder)}{lesson}.py"]
    if helpers:
        lines[0] += f", with what they call: {', '.join(helpers)}"
    reasons = [*refused.values()] + [
        f"{d.__name__}, whose check has not passed on this version: run its check cell, then this one"
        for d in unchecked
    ]
    lines += [f"not kept (later chapters use the book's): {reason}" for reason in reasons]
    if os.environ.get(SETTING) is None:
        lines.append(
            f"({FOLDER}/ is beside this notebook, where every chapter in this folder finds it; on Colab, or to keep "
            f"it elsewhere, set {SETTING} to a folder every notebook reaches, e.g. on your Drive.)"
        )
    print("\n".join(lines))


def _load(lesson):
    """The module ``yours/<lesson>.py``, or None when nothing is kept for ``lesson``."""
    folder = _folder()
    path = folder / f"{lesson}.py"
    if not path.is_file():
        return None
    _package(folder)
    name = f"{FOLDER}.{lesson}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException as error:  # an interrupted import too: a half-run module must not be used later
            sys.modules.pop(name, None)
            if not isinstance(error, Exception):
                raise
            raise KeepError(
                f"{_shown(folder)}{lesson}.py cannot be imported ({type(error).__name__}: {str(error)[:200]}): "
                f"fix it or delete it (the book's code is then used), or keep yours again from the {lesson} chapter"
            ) from error
    return sys.modules[name]


def use(lesson, *names, reference):
    """``names`` from your kept ``yours/<lesson>.py`` (or $CIFAR_LESSONS_YOURS/<lesson>.py), else from
    ``reference`` (the book's module).

    Prints whose code each name is. Returns one object for one name, else a tuple in order. Raises
    KeepError for a lesson that is not one, or a kept module that cannot be imported.
    """
    lesson = _lesson_key(lesson)
    if not names:
        raise KeepError("use(lesson, *names, reference=module): name what to take back")
    for name in names:
        if not (isinstance(name, str) and name.isidentifier()):
            raise KeepError(f"use takes the names of what to take back, as text, got {reprlib.repr(name)}")
    mine = _load(lesson)
    found, missing = [], []
    for name in names:
        if mine is not None and hasattr(mine, name):
            found.append(getattr(mine, name))
        elif hasattr(reference, name):
            found.append(getattr(reference, name))
            missing.append(name)
        else:
            raise KeepError(
                f"{name!r} is neither kept in {_shown(_folder())}{lesson}.py nor defined in "
                f"{getattr(reference, '__name__', reprlib.repr(reference))}: check its spelling"
            )
    shown = _shown(_folder())
    if len(missing) < len(names):
        print(f"yours, from {shown}{lesson}.py: {', '.join(n for n in names if n not in missing)}")
    if missing:
        print(
            f"the book's, from {reference.__name__}: {', '.join(missing)} "
            f"(keep yours with the last cell of the {lesson} chapter to use them here)"
        )
    return found[0] if len(names) == 1 else tuple(found)
