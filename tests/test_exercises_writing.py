"""Writing the learner copies: nothing a learner typed is overwritten, nothing is written through a
link into the book, and a notebook that cannot be read writes nothing at all.

The fuzz test writes the copies of mutated notebooks in a separate Python process
(tests/file_reader.py), so that a notebook which crashes or stalls the command fails its test.
"""

import json
import os
import shutil

import nbformat
import pytest
from file_reader import Reader
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_exercises import fake_notebook

from book_tools import exercises
from book_tools.exercises import LearnerCopyError


@pytest.fixture
def book(tmp_path):
    folder = tmp_path / "book"
    folder.mkdir()
    nbformat.write(fake_notebook(), folder / "01_circles.ipynb")
    nbformat.write(fake_notebook(), folder / "02_squares.ipynb")
    (folder / "figure.png").write_bytes(b"png")
    return folder


def contents(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


@pytest.mark.parametrize("link", ["symlink", "hard link"])
def test_links_into_the_book_are_never_written_through(tmp_path, book, link):
    before = contents(book)
    out = tmp_path / "exercises"
    out.mkdir()
    for path in book.iterdir():  # what `cp -rs book exercises` or `cp -al book exercises` makes
        (out / path.name).symlink_to(path) if link == "symlink" else os.link(path, out / path.name)
    with pytest.raises(SystemExit, match=r"01_circles\.ipynb is a (symbolic|hard) link.*remove.*Nothing was written"):
        exercises.main([str(out), str(book)])
    assert contents(book) == before


def learner_types_an_answer(path):
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[1].source += "\n    return 3.14159 * r * r"
    nbformat.write(notebook, path)


def test_a_second_run_never_replaces_what_the_learner_typed_and_updates_the_rest(tmp_path, book):
    out = tmp_path / "exercises"
    exercises.main([str(out), str(book)])
    exercises.main([str(out), str(book)])  # nothing typed yet: written again
    learner_types_an_answer(out / "01_circles.ipynb")
    typed = (out / "01_circles.ipynb").read_bytes()
    changed = fake_notebook()
    changed.cells[0].source = "import math  # and more"
    for name in ("01_circles.ipynb", "02_squares.ipynb"):  # the book is updated
        nbformat.write(changed, book / name)
    with pytest.raises(
        SystemExit, match=r"not replaced: .*01_circles\.ipynb differs from the copy this command wrote.*move it"
    ) as refused:
        exercises.main([str(out), str(book)])
    assert "Every other copy was written" in str(refused.value)
    assert (out / "01_circles.ipynb").read_bytes() == typed
    assert "and more" in (out / "02_squares.ipynb").read_text()
    with pytest.raises(SystemExit, match="01_circles"):  # and so on every later run
        exercises.main([str(out), str(book)])
    assert (out / "01_circles.ipynb").read_bytes() == typed


def test_a_changed_book_updates_the_copies_no_learner_changed(tmp_path, book):
    out = tmp_path / "exercises"
    exercises.write_exercises(out, book)
    changed = fake_notebook()
    changed.cells[0].source = "import math  # and more"
    nbformat.write(changed, book / "01_circles.ipynb")
    exercises.write_exercises(out, book)
    assert "and more" in (out / "01_circles.ipynb").read_text()


def test_copies_not_written_by_this_command_are_not_replaced(tmp_path, book):
    out = tmp_path / "exercises"
    out.mkdir()
    (out / "01_circles.ipynb").write_text("my own notebook")
    with pytest.raises(LearnerCopyError, match="01_circles.ipynb differs from the copy this command wrote"):
        exercises.write_exercises(out, book)
    assert (out / "01_circles.ipynb").read_text() == "my own notebook"


def test_an_out_dir_that_is_a_file_is_named(tmp_path, book):
    (tmp_path / "exercises").write_text("a file")
    with pytest.raises(LearnerCopyError, match="OUT_DIR .*exercises is a file, not a folder: give a folder"):
        exercises.write_exercises(tmp_path / "exercises", book)


def dumped(notebook):
    return nbformat.writes(notebook).encode("utf-8")


def with_tags_string():
    notebook = json.loads(nbformat.writes(fake_notebook()))
    notebook["cells"][1]["metadata"]["tags"] = "solution"
    return json.dumps(notebook).encode("utf-8")


def nested(depth):
    """A notebook whose metadata holds lists nested ``depth`` deep, written as text: Python's own JSON
    reader stops far short of 100,000 levels."""
    notebook = fake_notebook()
    notebook.metadata["deep"] = "DEEP"
    return nbformat.writes(notebook).replace('"DEEP"', "[" * depth + "]" * depth).encode("utf-8")


@pytest.mark.parametrize(
    "content, problem",
    [
        (b'{"cells": [', "is not JSON"),
        (dumped(fake_notebook()).replace(b"Area", b"\xff\xfe"), r"is not UTF-8 text \(byte \d+\)"),
        (with_tags_string(), r"is not a notebook .*cells/1/metadata/tags"),
        (nested(200), "nests deeper than 64 levels"),
        (nested(100_000), "nests deeper than"),
        (b"[]", "is not a notebook"),
    ],
    ids=["bad JSON", "not UTF-8", "tags a string", "deep", "deeper than the parser", "a list"],
)
def test_a_notebook_that_cannot_be_read_is_named_and_nothing_is_written(tmp_path, book, content, problem):
    (book / "03_broken.ipynb").write_bytes(content)
    with pytest.raises(LearnerCopyError, match=f"03_broken.ipynb {problem}"):
        exercises.write_exercises(tmp_path / "exercises", book)
    assert not (tmp_path / "exercises").exists()


def test_tags_that_are_no_list_are_named_in_a_notebook_read_without_checks():
    notebook = fake_notebook()
    notebook.cells[1].metadata["tags"] = "solution"
    with pytest.raises(LearnerCopyError, match=r"cell 2: metadata\.tags must be a list of strings.*\['solution'\]"):
        exercises.learner_notebook(notebook)


# ---------------------------------------------------------------------------------------------
# Fuzzing: a valid notebook, mutated

WRITER_ANSWER = """
import contextlib
import io
import shutil
import tempfile
from pathlib import Path

from book_tools.exercises import LearnerCopyError, write_exercises


def answer(book):
    out = Path(tempfile.mkdtemp()) / "exercises"
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # its report, which is not the answer
            write_exercises(out, book)
    except LearnerCopyError as error:
        return f"refused: {error}"
    except BaseException as error:
        return f"raised {type(error).__name__}: {error}"
    finally:
        shutil.rmtree(out.parent)
    return "written"
"""

HOSTILE_VALUES = [None, 0, -1, 1.5, "", "solution", "x" * 1000, [], {}, ["solution"], [["solution"]], {"tags": 1}]


@st.composite
def mutated_notebooks(draw):
    text = nbformat.writes(fake_notebook())
    mutation = draw(st.sampled_from(["truncate", "flip bits", "insert", "replace a value"]))
    payload = bytearray(text.encode("utf-8"))
    if mutation == "truncate":
        return bytes(payload[: draw(st.integers(0, len(payload) - 1))])
    if mutation == "flip bits":
        for _ in range(draw(st.integers(1, 4))):
            payload[draw(st.integers(0, len(payload) - 1))] ^= 1 << draw(st.integers(0, 7))
        return bytes(payload)
    if mutation == "insert":
        position = draw(st.integers(0, len(payload)))
        return bytes(payload[:position] + draw(st.binary(min_size=1, max_size=16)) + payload[position:])
    notebook = json.loads(text)
    parent, key = None, None
    value = notebook
    while isinstance(value, (dict, list)) and value and (parent is None or draw(st.booleans())):
        keys = sorted(value) if isinstance(value, dict) else range(len(value))
        parent, key = value, draw(st.sampled_from(list(keys)))
        value = parent[key]
    if parent is not None:
        parent[key] = draw(st.sampled_from(HOSTILE_VALUES))
    return json.dumps(notebook).encode("utf-8")


@pytest.fixture(scope="module")
def writer():
    process = Reader(WRITER_ANSWER, seconds=10)
    yield process
    process.close()


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=mutated_notebooks())
def test_mutated_notebooks_are_written_or_refused_never_anything_else(tmp_path, writer, payload):
    book = tmp_path / "book"
    shutil.rmtree(book, ignore_errors=True)
    book.mkdir()
    (book / "01_circles.ipynb").write_bytes(payload)
    answer = writer.read(book)
    assert answer == "written" or answer.startswith("refused: "), answer
