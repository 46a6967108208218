"""Learner notebooks: how solutions are blanked, and that every exercise's check catches the blank.

For each solution cell of the book, its check cell must raise ExerciseError on the stub and pass
on the solution. Both run in a namespace holding only the imports and definitions of the cells
before them, and what their ``use()`` calls take from earlier chapters (no data loading, no
training), so checks must take the learner's functions alone.
"""

import json
import textwrap
from pathlib import Path

import nbformat
import pytest
from notebook_code import code_cells, definitions, run, source

from book_tools import exercises

BOOK = Path(__file__).resolve().parents[1] / "book"


def test_stub_keeps_signatures_and_docstrings_and_raises():
    source = textwrap.dedent('''\
        import numpy as np


        def affine_forward(x, w, b):
            """Computes the forward pass of an affine layer.

            Returns (out, cache).
            """
            out = x.reshape(x.shape[0], -1) @ w + b
            return out, (x, w, b)


        class TwoLayerNet:
            """A two-layer net."""

            def __init__(self, hidden_dim=100):
                self.hidden_dim = hidden_dim

            @staticmethod
            def loss(X,
                     y=None):
                def helper():
                    return 1
                return helper()


        def relu(x):
            # the kink at zero
            return np.maximum(0, x)
        ''')
    stubbed = exercises.stub(source)
    for kept in [
        "import numpy as np",
        "def affine_forward(x, w, b):",
        '    """Computes the forward pass of an affine layer.\n\n    Returns (out, cache).\n    """',
        'class TwoLayerNet:\n    """A two-layer net."""',
        "    @staticmethod\n    def loss(X,\n             y=None):",
        "# TODO: write the body of affine_forward (see its docstring), then run the check below.",
        "# TODO: write the body of TwoLayerNet.__init__, then run the check below.",
        "# TODO: write the body of relu, then run the check below.",
    ]:
        assert kept in stubbed
    for given_away in ["reshape", "self.hidden_dim", "helper", "maximum", "kink"]:
        assert given_away not in stubbed
    namespace = run(stubbed)
    for call in (
        lambda: namespace["affine_forward"](1, 2, 3),
        lambda: namespace["TwoLayerNet"](),
        lambda: namespace["TwoLayerNet"].loss(1),
        lambda: namespace["relu"](1),
    ):
        with pytest.raises(NotImplementedError):
            call()


@pytest.mark.parametrize(
    "source, problem",
    [
        ("x = 1\ndef f():\n    return x\n", "line 1 is a Assign"),
        ("def f(): return 1\n", "f: put its body on the lines after its def line"),
    ],
    ids=["statement", "one-line def"],
)
def test_stub_refuses_cells_it_cannot_blank_safely(source, problem):
    with pytest.raises(ValueError, match=problem):
        exercises.stub(source)


def test_stub_blanks_comments_after_the_last_line_of_a_body():
    source = textwrap.dedent('''\
        def double(x):
            """Twice x."""
            return 2 * x

            # the answer: multiply by two
        # a note on the next function, kept
        class Net:
            def loss(self):
                return 1
                # loss: return one
            # a note on the class, kept
        ''')
    stubbed = exercises.stub(source)
    assert "multiply by two" not in stubbed and "return one" not in stubbed
    assert "# a note on the next function, kept" in stubbed and "    # a note on the class, kept" in stubbed


def fake_notebook():
    cells = [
        nbformat.v4.new_code_cell("import math", execution_count=1),
        nbformat.v4.new_code_cell(
            'def area(r):\n    """Area of a circle."""\n    return math.pi * r ** 2',
            execution_count=2,
            metadata={"tags": ["solution", "hide-input"]},
        ),
        nbformat.v4.new_markdown_cell("Check it:"),
        nbformat.v4.new_code_cell(
            "print(area(1))", execution_count=3, outputs=[nbformat.v4.new_output("stream", text="3.14\n")]
        ),
        nbformat.v4.new_code_cell(
            "area(2)", execution_count=4, outputs=[nbformat.v4.new_output("stream", text="12.6\n")]
        ),
        nbformat.v4.new_markdown_cell("**Question.** Why square r?"),
        nbformat.v4.new_markdown_cell(
            "<details>\n<summary>Answer</summary>\n\nArea scales as length squared.\n\n</details>",
            metadata={"tags": ["answer"]},
        ),
    ]
    return nbformat.v4.new_notebook(cells=cells)


def test_learner_notebook_blanks_solutions_and_replaces_answers():
    notebook = fake_notebook()
    learner = exercises.learner_notebook(notebook)
    imports, solution, _, check, later, question, answer = learner.cells
    assert "math.pi" not in solution.source and "raise NotImplementedError" in solution.source
    assert solution.metadata["tags"] == ["exercise"], "the learner's stub is not folded away"
    assert imports.source == "import math" and (check.source, later.source) == ("print(area(1))", "area(2)")
    assert question.source == notebook.cells[5].source
    assert (answer.source, answer.metadata["tags"]) == (exercises.YOUR_ANSWER, [])
    assert "math.pi" in notebook.cells[1].source, "the book's own notebook must stay untouched"


def with_compare_cell(markdown="Compare your output with the book's below.", code="print(area(3))", tags=None):
    """The fake notebook with a widget state, and a cell tagged compare after a markdown cell."""
    notebook = fake_notebook()
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    notebook.cells[4].metadata["execution"] = {"iopub.status.idle": "2026-01-01T00:00:00Z"}
    notebook.cells += [
        nbformat.v4.new_markdown_cell(markdown),
        nbformat.v4.new_code_cell(
            code,
            execution_count=5,
            metadata={"tags": tags or ["compare"]},
            outputs=[nbformat.v4.new_output("stream", text="28.3\n")],
        ),
    ]
    return notebook


def test_the_learner_copy_clears_every_output_but_those_of_cells_tagged_compare():
    notebook = with_compare_cell()
    learner = exercises.learner_notebook(notebook)
    for number, cell in enumerate(learner.cells[:-1]):
        assert cell.get("outputs", []) == [] and cell.get("execution_count") is None, f"cell {number}"
        assert "execution" not in cell.metadata, f"cell {number} keeps when the book ran it"
    assert "widgets" not in learner.metadata, "the book's progress bars are outputs too"
    assert (learner.cells[-1].outputs, learner.cells[-1].execution_count) == (notebook.cells[-1].outputs, 5)
    assert notebook.cells[4].outputs and "widgets" in notebook.metadata, "the book's own notebook must stay untouched"


@pytest.mark.parametrize(
    "markdown, code",
    [
        ("Compare your output with the book's below.", "print(area(3))"),
        ("A larger circle.", "print(area(3))  # compare yours with the book's"),
        ("A larger circle.", 'print("Your result, for comparison with the book\'s:", area(3))'),
        ("A larger circle.", "%time print(area(3))\n# Comparing: the book's output is below"),
    ],
    ids=["markdown above", "comment", "string", "comment after a magic"],
)
def test_a_compare_cell_that_says_so_keeps_its_output(markdown, code):
    learner = exercises.learner_notebook(with_compare_cell(markdown, code))
    assert learner.cells[-1].outputs


@pytest.mark.parametrize(
    "markdown, code",
    [
        ("A larger circle.", "print(area(3))"),
        ("A larger circle.", "compare_areas(3)"),
        ("Compare your output with the book's below.", None),
    ],
    ids=["silent", "a call named compare", "said above another cell"],
)
def test_a_compare_cell_that_does_not_say_so_is_refused(markdown, code):
    notebook = with_compare_cell(markdown, code or "print(area(3))")
    if code is None:  # the markdown tells of the cell after it, not of the compare cell
        notebook.cells.insert(-1, nbformat.v4.new_code_cell("print(area(2))"))
    with pytest.raises(exercises.LearnerCopyError, match=r"cell \d+ is tagged 'compare'.*neither .* say so.*compare"):
        exercises.learner_notebook(notebook)


@pytest.mark.parametrize("index, which", [(1, "an exercise"), (3, "the check of an exercise")])
def test_a_compare_tag_on_an_exercise_or_its_check_is_refused(index, which):
    notebook = fake_notebook()
    notebook.cells[index].metadata.setdefault("tags", []).append("compare")
    notebook.cells[index].source += "  # compare with the book"
    with pytest.raises(exercises.LearnerCopyError, match=f"cell {index + 1} is tagged 'compare' but is {which}"):
        exercises.learner_notebook(notebook)


BOOK_NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))


@pytest.mark.parametrize("path", BOOK_NOTEBOOKS, ids=lambda path: path.stem)
def test_no_learner_copy_holds_an_output_but_what_it_tells_the_learner_to_compare_with(path):
    book = nbformat.read(path, as_version=4)
    learner = exercises.learner_notebook(book)
    for number, (ours, theirs) in enumerate(zip(learner.cells, book.cells), 1):
        if ours.get("outputs") or ours.get("execution_count") is not None:
            assert exercises.COMPARE_TAG in ours.metadata.get("tags", []), f"{path.name} cell {number}"
            assert ours.outputs == theirs.outputs
            above = [cell.source for cell in learner.cells[: number - 1][-1:] if cell.cell_type == "markdown"]
            assert any("compar" in text.lower() for text in [ours.source, *above]), (
                f"{path.name} cell {number} keeps the book's output without telling the learner to compare"
            )
    assert "widgets" not in learner.metadata or any(
        "application/vnd.jupyter.widget-view+json" in output.get("data", {})
        for cell in learner.cells
        for output in cell.get("outputs", [])
    ), f"{path.name}: the learner's copy keeps the book's progress bars"


def test_command_writes_every_notebook_and_copies_other_files(tmp_path, capsys):
    book = tmp_path / "book"
    book.mkdir()
    nbformat.write(fake_notebook(), book / "01_circles.ipynb")
    (book / "figure.png").write_bytes(b"png")
    exercises.main([str(tmp_path / "out"), str(book)])
    learner = nbformat.read(tmp_path / "out" / "01_circles.ipynb", as_version=4)
    assert "raise NotImplementedError" in learner.cells[1].source
    assert (tmp_path / "out" / "figure.png").read_bytes() == b"png"
    assert "01_circles.ipynb: 1 exercise, 1 question" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="no notebooks"):
        exercises.main([str(tmp_path / "out2"), str(tmp_path)])


@pytest.mark.parametrize(
    "args",
    [["book", "book"], ["book"], ["book", "./book/../book"], ["link", "book"]],
    ids=["same", "default source", "respelled", "symlink"],
)
def test_command_refuses_to_write_over_the_book(tmp_path, monkeypatch, args):
    book = tmp_path / "book"
    book.mkdir()
    nbformat.write(fake_notebook(), book / "01_circles.ipynb")
    (tmp_path / "link").symlink_to(book)
    before = (book / "01_circles.ipynb").read_bytes()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="is the book folder itself.*another folder"):
        exercises.main(args)
    assert (book / "01_circles.ipynb").read_bytes() == before
    assert sorted(p.name for p in book.iterdir()) == ["01_circles.ipynb"]


def test_an_option_is_not_taken_for_the_folder_to_write_into(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        exercises.main(["--help"])
    assert exit_.value.code == 0 and "OUT_DIR" in capsys.readouterr().out.upper()
    with pytest.raises(SystemExit) as exit_:
        exercises.main(["--out", "copies"])
    assert exit_.value.code == 2 and "unrecognized arguments" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_exercise_that_cannot_be_blanked_names_its_notebook_and_cell(tmp_path):
    book = tmp_path / "book"
    book.mkdir()
    notebook = fake_notebook()
    notebook.cells[1].source = "x = 1\ndef area(r):\n    return x"
    nbformat.write(notebook, book / "01_circles.ipynb")
    with pytest.raises(
        SystemExit, match=r"01_circles\.ipynb: solution cell 2 \(which starts 'x = 1'\): .*line 1 is a Assign"
    ):
        exercises.main([str(tmp_path / "out"), str(book)])
    notebook.cells[1].source = "%timeit 1\ndef area(r):\n    return 1"
    with pytest.raises(ValueError, match=r"solution cell 2 \(which starts '%timeit 1'\): invalid syntax"):
        exercises.learner_notebook(notebook)


EXERCISES = [
    pytest.param(notebook, index, id=f"{notebook.stem}-cell{index}")
    for notebook in sorted(BOOK.glob("*.ipynb"))
    for index, cell in enumerate(code_cells(notebook))
    if exercises.SOLUTION_TAG in cell["metadata"].get("tags", [])
]


@pytest.mark.parametrize("notebook, index", EXERCISES)
def test_check_fails_on_the_stub_and_passes_on_the_solution(notebook, index):
    from cifar_lessons.checks import ExerciseError

    cells = code_cells(notebook)
    solution, check = cells[index], cells[index + 1]
    context = "\n".join(definitions(cell) for cell in cells[:index])
    assert exercises.SOLUTION_TAG not in check["metadata"].get("tags", []), (
        f"{notebook.name}: the cell after solution cell {index} must check it, not be another solution"
    )

    namespace = run(exercises.stub(source(solution)), run(context))
    with pytest.raises(ExerciseError, match="not implemented"):
        run(source(check), namespace)

    namespace = run(source(solution), run(context))
    run(source(check), namespace)


def test_a_failing_check_shows_the_learner_its_diagnosis_not_the_checkers_traceback():
    import nbformat
    from nbclient import NotebookClient

    cell = nbformat.v4.new_code_cell(
        "from cifar_lessons.checks.backprop import check_relu_forward\n"
        "def relu_forward(x):\n    raise NotImplementedError\n"
        "check_relu_forward(relu_forward)"
    )
    notebook = nbformat.v4.new_notebook(cells=[cell])
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True).execute()
    (error,) = [output for output in notebook.cells[0].outputs if output["output_type"] == "error"]
    assert error["traceback"] == [
        "ExerciseError: relu_forward: not implemented yet (it raises NotImplementedError); "
        "write its body and run the cell again"
    ]


@pytest.mark.parametrize("notebook, index", EXERCISES)
def test_the_book_folds_every_solution_away_until_the_reader_opens_it(notebook, index):
    tags = code_cells(notebook)[index]["metadata"]["tags"]
    assert exercises.FOLDED_TAG in tags, f"{notebook.name}: tag solution cell {index} {exercises.FOLDED_TAG!r}"


ANSWERS = [
    pytest.param(notebook, index, id=f"{notebook.stem}-cell{index}")
    for notebook in sorted(BOOK.glob("*.ipynb"))
    for index, cell in enumerate(json.loads(notebook.read_text(encoding="utf-8"))["cells"])
    if exercises.ANSWER_TAG in cell["metadata"].get("tags", [])
]


@pytest.mark.parametrize("notebook, index", ANSWERS)
def test_every_answer_folds_in_the_book_and_in_jupyter_after_its_question(notebook, index):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    answer, question = "".join(cells[index]["source"]), "".join(cells[index - 1]["source"])
    assert cells[index]["cell_type"] == "markdown" and answer.startswith("<details>\n<summary>Answer</summary>\n\n"), (
        f"{notebook.name} cell {index}: an answer is a markdown cell opening with "
        "'<details>\\n<summary>Answer</summary>' and a blank line (so its markdown renders)"
    )
    assert answer.endswith("\n\n</details>"), (
        f"{notebook.name} cell {index}: end the answer with a blank line and </details>"
    )
    assert "**Question" in question, f"{notebook.name} cell {index}: the cell before an answer asks its **Question.**"


@pytest.mark.parametrize("notebook", sorted(BOOK.glob("0[1-8]_*.ipynb")), ids=lambda path: path.stem)
def test_every_chapter_has_exercises_and_two_to_four_questions(notebook):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    tags = [cell["metadata"].get("tags", []) for cell in cells]
    assert any(exercises.SOLUTION_TAG in t for t in tags), f"{notebook.name} has no exercise"
    questions = sum(exercises.ANSWER_TAG in t for t in tags)
    assert 2 <= questions <= 4, f"{notebook.name} asks {questions} questions; a chapter asks 2 to 4"
