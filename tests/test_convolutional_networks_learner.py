"""Chapter 05 run as a learner runs it: the learner's copy, each exercise filled with a correct
solution that rounds differently from the book's (tests/convolutional_networks_reordered.py).
Every assertion the chapter makes about a training result (the convnet ahead of the fully
connected network, the norms ahead of the plain convnet, the test accuracy above its bar) must
hold for it too."""

import ast
import inspect
from pathlib import Path

import convolutional_networks_reordered as reordered
import nbformat
import pytest
from nbclient import NotebookClient

from book_tools import exercises

pytestmark = [pytest.mark.integration, pytest.mark.learner_run]

NOTEBOOK = Path(__file__).resolve().parents[1] / "book" / "05_convolutional_networks.ipynb"


def defined_names(source):
    return [node.name for node in ast.parse(source).body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]


def test_the_chapters_assertions_hold_for_a_solution_that_rounds_differently(tmp_path):
    book = nbformat.read(NOTEBOOK, as_version=4)
    learner = exercises.learner_notebook(book)
    filled = 0
    for book_cell, cell in zip(book.cells, learner.cells):
        if exercises.SOLUTION_TAG in book_cell.metadata.get("tags", []):
            names = defined_names(book_cell.source)
            cell.source = "\n\n\n".join(inspect.getsource(getattr(reordered, name)) for name in names)
            filled += 1
    assert filled >= 10, "the chapter's exercises were not found"
    resources = {"metadata": {"path": str(tmp_path)}}
    NotebookClient(learner, timeout=3600, kernel_name="python3", resources=resources).execute()
    outputs = "".join(
        output.get("text", "") for cell in learner.cells if cell.cell_type == "code" for output in cell.outputs
    )
    assert "ThreeLayerConvNet over FullyConnectedNet([256])" in outputs
    assert (tmp_path / "yours" / "convolutional_networks.py").exists(), "the filled copy keeps the learner's code"
