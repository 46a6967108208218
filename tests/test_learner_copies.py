"""A learner's copy with every stub filled in by the book's solution is the book again.

The generated copy differs from the book only where the learner writes: the solution cells (stubs)
and the answers (a place for theirs). Filling those back in gives, cell for cell, the code the
book runs, so nbval's re-execution of the book (which verifies every stored output, the recorded
results included) is the re-execution of the filled copies. One short chapter is also re-executed
here from its filled copy, outside the book's folder, to show that nothing else ties it to the book.
"""

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from book_tools import exercises

pytestmark = pytest.mark.integration

BOOK = Path(__file__).resolve().parents[1] / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))
SANITIZE = [(re.compile(r"\d+(\.\d+)?\s*(ms|s|us|µs)\b"), "DURATION"), (re.compile(r"0x[0-9a-f]{6,}"), "ADDRESS")]


def filled_copy(book_notebook):
    """The learner's copy of ``book_notebook`` with each stub and answer replaced by the book's."""
    learner = exercises.learner_notebook(book_notebook)
    for book_cell, learner_cell in zip(book_notebook.cells, learner.cells):
        tags = book_cell.metadata.get("tags", [])
        if exercises.SOLUTION_TAG in tags or exercises.ANSWER_TAG in tags:
            learner_cell.source = book_cell.source
    return learner


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_a_filled_copy_runs_the_books_code_cell_for_cell(path):
    book = nbformat.read(path, as_version=4)
    filled = filled_copy(book)
    assert len(filled.cells) == len(book.cells)
    for number, (ours, theirs) in enumerate(zip(filled.cells, book.cells)):
        assert (ours.cell_type, ours.source) == (theirs.cell_type, theirs.source), f"{path.name} cell {number}"
        if ours.cell_type == "code":
            assert [t for t in ours.metadata.get("tags", []) if t.startswith("nbval")] == [
                t for t in theirs.metadata.get("tags", []) if t.startswith("nbval")
            ], f"{path.name} cell {number}: nbval treats the copy's cell differently"


def text_outputs(cell):
    """What nbval compares in a cell's outputs: printed text (however many writes it took) and
    plain-text results, sanitized."""
    text = "".join(output.get("text") or output.get("data", {}).get("text/plain", "") for output in cell.outputs)
    for pattern, replacement in SANITIZE:
        text = pattern.sub(replacement, text)
    return text


def test_the_backprop_chapters_filled_copy_reexecutes_to_the_books_outputs(tmp_path):
    book = nbformat.read(BOOK / "01_backprop.ipynb", as_version=4)
    exercises.write_exercises(tmp_path / "exercises", BOOK)
    copy = tmp_path / "exercises" / "01_backprop.ipynb"
    learner = nbformat.read(copy, as_version=4)
    assert any("raise NotImplementedError" in cell.source for cell in learner.cells), "the copy has no stubs"
    filled = filled_copy(book)
    shutil.rmtree(tmp_path / "exercises" / "yours", ignore_errors=True)
    resources = {"metadata": {"path": str(copy.parent)}}
    NotebookClient(filled, timeout=600, kernel_name="python3", resources=resources).execute()
    for number, (ours, theirs) in enumerate(zip(filled.cells, book.cells)):
        if ours.cell_type == "code" and "nbval-ignore-output" not in ours.metadata.get("tags", []):
            assert text_outputs(ours) == text_outputs(theirs), f"cell {number} of the filled copy"
    assert (copy.parent / "yours" / "backprop.py").exists(), "the filled copy keeps the learner's layers"

    # The next chapter, from the top to its last use() cell, takes back every layer the learner kept.
    following = nbformat.read(tmp_path / "exercises" / "02_fully_connected.ipynb", as_version=4)
    last_use = max(
        number for number, cell in enumerate(following.cells) if cell.cell_type == "code" and "use(" in cell.source
    )
    following.cells = following.cells[: last_use + 1]
    NotebookClient(following, timeout=600, kernel_name="python3", resources=resources).execute()
    taken = [text_outputs(cell) for cell in following.cells if cell.cell_type == "code" and "use(" in cell.source]
    assert taken and all(text.startswith("yours, from yours/backprop.py: ") for text in taken), taken
    assert not any("the book's" in text for text in taken), taken
