"""Imports point down the stack: the from-scratch layers stand on NumPy alone, the course package
knows nothing of notebooks, and importing it loads nothing heavy."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cifar_lessons"
NUMPY_ONLY = ["layers", "optim", "gradient_check", "shapes"]


def imported_modules(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


@pytest.mark.parametrize("name", NUMPY_ONLY)
def test_the_from_scratch_modules_import_numpy_alone(name):
    outside = {
        module
        for module in imported_modules(PACKAGE / f"{name}.py")
        if module.split(".")[0] not in ("numpy", "cifar_lessons")
    }
    inside = {module for module in imported_modules(PACKAGE / f"{name}.py") if module.startswith("cifar_lessons.")}
    assert not outside, f"{name}.py imports {outside}: the from-scratch layers stand on NumPy alone"
    allowed = tuple(f"cifar_lessons.{other}" for other in NUMPY_ONLY)
    assert all(module.startswith(allowed) for module in inside), f"{name}.py imports {inside}"


def test_the_course_package_never_imports_the_book_tools():
    for path in PACKAGE.rglob("*.py"):
        modules = set(imported_modules(path))
        assert not {m for m in modules if m.split(".")[0] in ("book_tools", "nbformat", "nbclient")}, (
            f"{path.relative_to(PACKAGE.parent)} reads notebooks: that belongs in book_tools"
        )


def test_importing_the_package_loads_nothing_heavy():
    script = (
        "import sys, cifar_lessons, cifar_lessons.layers, cifar_lessons.data, cifar_lessons.models\n"
        "print(sorted({'matplotlib', 'torch', 'ipywidgets', 'IPython'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", f"importing the package loaded {result.stdout.strip()}"
