"""The package's folders are its map, and imports point down it:

- ``from_scratch``: the library the NumPy chapters build, on NumPy alone;
- ``data``: finding, downloading and reading CIFAR-10, which knows nothing of models;
- ``torch``: the PyTorch side, which may use the data and the library's metrics and progress bars;
- ``checks``: the exercises' checks, which compare a learner's code with the references (and
  train it on the chapter's data where the check is a training result);
- ``course``: what the notebooks use around the library (your kept code, experiments over seeds,
  results, tables, plots), which may use everything below it;
- at the top, ``lessons`` (the registry of lessons) and ``start`` (every notebook's first cell),
  and two that every part may use: ``teaching`` (which lesson teaches a definition) and
  ``atomic_file`` (files replaced whole or not at all).

Nothing in the package writes notebooks or imports the book's tools, and importing it loads
nothing heavy.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cifar_lessons"
# What each part of the package may import of the package, beyond itself.
SHARED = {"teaching", "atomic_file"}
MAY_IMPORT = {
    "from_scratch": SHARED,
    "data": SHARED,
    "torch": {"data", "from_scratch", *SHARED},
    "checks": {"from_scratch", "data", "torch", "lessons", *SHARED},
    "course": {"from_scratch", "data", "torch", "checks", "lessons", *SHARED},
    "lessons": {"data"},
    "start": {"data", "from_scratch", "torch", "course"},
    "teaching": set(),
    "atomic_file": set(),
}
# Outside the standard library, what the from-scratch library and the data stand on.
THIRD_PARTY = {
    "from_scratch": {"numpy", "threadpoolctl", "tqdm", "IPython"},
    "data": {"numpy", "tqdm"},
}


def imported_modules(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def part(path, package=PACKAGE):
    """The part of the package a module belongs to: its subpackage, or its own name at the top."""
    relative = path.relative_to(package)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def modules_of(name):
    return sorted(PACKAGE.glob(f"{name}/*.py")) or [PACKAGE / f"{name}.py"]


def test_every_module_belongs_to_a_part_of_the_map():
    parts = {part(path) for path in PACKAGE.rglob("*.py")} - {"__init__"}
    assert parts == set(MAY_IMPORT), f"add {parts - set(MAY_IMPORT)} to the map in this file's docstring"


def violations(path, allowed, package=PACKAGE):
    """The package modules ``path`` imports outside its own part and ``allowed``."""
    return {
        module
        for module in imported_modules(path)
        if module.startswith("cifar_lessons.")
        and module.split(".")[1] not in {part(path, package), *allowed}
        and module.split(".")[1] in MAY_IMPORT
    }


@pytest.mark.parametrize("name", sorted(MAY_IMPORT))
def test_imports_point_down_the_map(name):
    for path in modules_of(name):
        wrong = violations(path, MAY_IMPORT[name])
        assert not wrong, (
            f"{path.relative_to(PACKAGE.parent)} imports {sorted(wrong)}: {name} may import {MAY_IMPORT[name]}"
        )


@pytest.mark.parametrize("name", sorted(THIRD_PARTY))
def test_the_library_and_the_data_stand_on_numpy_alone(name):
    for path in modules_of(name):
        outside = {
            module.split(".")[0]
            for module in imported_modules(path)
            if module.split(".")[0] not in (*sys.stdlib_module_names, "cifar_lessons")
        }
        assert outside <= THIRD_PARTY[name], f"{path.relative_to(PACKAGE.parent)} imports {outside - THIRD_PARTY[name]}"


def test_a_wrong_import_is_caught(tmp_path):
    planted = tmp_path / "cifar_lessons" / "data" / "planted.py"
    planted.parent.mkdir(parents=True)
    planted.write_text("from cifar_lessons.from_scratch import models\n", encoding="utf-8")
    found = violations(planted, MAY_IMPORT["data"], package=tmp_path / "cifar_lessons")
    assert found == {"cifar_lessons.from_scratch", "cifar_lessons.from_scratch.models"}


def test_the_course_package_never_imports_the_book_tools():
    for path in PACKAGE.rglob("*.py"):
        modules = set(imported_modules(path))
        assert not {m for m in modules if m.split(".")[0] in ("book_tools", "nbformat", "nbclient")}, (
            f"{path.relative_to(PACKAGE.parent)} imports the book's tools: they import the package, not the other way"
        )


def test_importing_the_package_loads_nothing_heavy():
    script = (
        "import sys, cifar_lessons, cifar_lessons.lessons, cifar_lessons.data\n"
        "import cifar_lessons.from_scratch.layers, cifar_lessons.from_scratch.models\n"
        "print(sorted({'matplotlib', 'torch', 'ipywidgets', 'IPython'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", f"importing the package loaded {result.stdout.strip()}"
