"""One text for each reference: the book's solution cells are the package's definitions, rendered
by ``python -m book_tools.references``; a cell edited by hand, or a definition the book no longer
shows, is caught."""

import json
import shutil
import types
from pathlib import Path

import pytest

from book_tools import references
from cifar_lessons.from_scratch import layers
from cifar_lessons.teaching import taught_in

BOOK = Path(__file__).resolve().parents[1] / "book"


def test_every_solution_cell_is_the_package_text():
    problems = references.sync(write=False)
    assert not problems, "run `python -m book_tools.references`: " + "; ".join(f"{n}: {p}" for n, p in problems)


@pytest.fixture
def book(tmp_path):
    for notebook in BOOK.glob("*.ipynb"):
        shutil.copy(notebook, tmp_path)
    return tmp_path


def solution_cell(notebook, name):
    content = json.loads(notebook.read_text(encoding="utf-8"))
    for index, cell in enumerate(content["cells"]):
        if "solution" in cell["metadata"].get("tags", []) and f"def {name}(" in "".join(cell["source"]):
            return content, index
    raise AssertionError(f"no solution cell defines {name}")


def test_a_cell_edited_by_hand_is_caught_and_rendered_again(book):
    notebook = book / "01_backprop.ipynb"
    content, index = solution_cell(notebook, "relu_forward")
    original = "".join(content["cells"][index]["source"])
    content["cells"][index]["source"] = original.replace("np.maximum(x, 0)", "x * (x > 0)")
    notebook.write_text(json.dumps(content), encoding="utf-8")
    assert references.sync(book, write=False) == [
        ("01_backprop", f"cell {index} (relu_forward, relu_backward) differs")
    ]
    references.sync(book)
    assert "".join(json.loads(notebook.read_text())["cells"][index]["source"]) == original
    assert references.sync(book, write=False) == []


def test_a_taught_definition_no_cell_shows_is_caught(book, monkeypatch):
    @taught_in("backprop")
    def tanh_forward(x):
        return x, x

    tanh_forward.__module__ = layers.__name__
    monkeypatch.setattr(layers, "tanh_forward", tanh_forward, raising=False)
    assert ("01_backprop", "no solution cell shows tanh_forward") in references.sync(book, write=False)


def test_a_definition_taught_in_another_lesson_is_refused():
    with pytest.raises(references.ReferenceError, match="adam is marked @taught_in\\('fully_connected'\\)"):
        references.rendered(
            types.SimpleNamespace(
                key="backprop", notebook="01_backprop", references=("cifar_lessons.from_scratch.optim",)
            ),
            "def adam(w, dw, config=None):\n    pass\n",
        )


def test_the_taught_in_line_is_not_shown_and_other_decorators_are():
    source = '@taught_in(\n    "fast_cnn",\n    check=f,\n)\n@torch.no_grad()\ndef g(x):\n    return x\n'
    assert references._without_taught_in(source) == "@torch.no_grad()\ndef g(x):\n    return x\n"
