"""keep() and use() on what they cannot keep or load: each is refused with a KeepError naming it and
the fix, nothing is written outside yours/, and a kept module that fails to import leaves nothing behind."""

import importlib.util
import sys
import textwrap

import pytest

from cifar_lessons.checks.core import passed
from cifar_lessons.course import yours
from cifar_lessons.course.yours import KeepError, keep, use
from cifar_lessons.from_scratch import layers

CELL = textwrap.dedent("""\
    import numpy as np

    LEARNING_RATE = 0.1


    def relu_forward(x):
        return np.maximum(x, 0), x


    def step(w, dw):
        return w - LEARNING_RATE * dw


    def outer():
        def inner(x):
            return x

        return inner
    """)


@pytest.fixture
def cell(tmp_path, monkeypatch, capsys):
    """The definitions of a notebook cell whose checks passed, in a chapter's folder as the working directory."""
    book = tmp_path / "book"
    book.mkdir()
    monkeypatch.chdir(book)
    (tmp_path / "cell.py").write_text(CELL)
    spec = importlib.util.spec_from_file_location("cell", tmp_path / "cell.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    nested = module.outer()
    passed("the cell", module.relu_forward, module.step, nested)
    capsys.readouterr()
    yield module, nested
    sys.modules.pop(f"{yours.FOLDER}.backprop", None)


@pytest.mark.parametrize(
    "lesson",
    ["../../pkg/layers", "/tmp/anywhere/layers", 'backprop"""\nimport os\n"""', 3, None],
    ids=["relative path", "absolute path", "code", "number", "None"],
)
def test_keep_and_use_take_only_a_lessons_key(tmp_path, cell, lesson):
    module, _ = cell
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "layers.py").write_text("kept as it is")
    with pytest.raises(KeepError, match="no lesson is called"):
        keep(lesson, module.relu_forward)
    with pytest.raises(KeepError, match="no lesson is called"):
        use(lesson, "relu_forward", reference=layers)
    assert (tmp_path / "pkg" / "layers.py").read_text() == "kept as it is"
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["book", "cell.py", "layers.py", "pkg"]


@pytest.mark.parametrize(
    "definition, problem",
    [
        (lambda module, nested: 3, r"keep takes the functions and classes you wrote, got 3 \(int\)"),
        (lambda module, nested: nested, "inner is defined inside outer: keep takes functions and classes defined at"),
        (lambda module, nested: len, r"got <built-in function len> \(builtin_function_or_method\)"),
        (lambda module, nested: lambda x: x, "a lambda"),
    ],
    ids=["number", "nested function", "builtin", "lambda"],
)
def test_keep_names_what_is_no_function_or_class_it_can_keep(cell, definition, problem):
    with pytest.raises(KeepError, match=problem):
        keep("backprop", definition(*cell))
    assert not (yours._folder() / "backprop.py").exists()


def test_keep_says_a_constant_cannot_be_kept_rather_than_passed(cell):
    module, _ = cell
    with pytest.raises(KeepError, match="'LEARNING_RATE', a float this notebook defined.*define it inside") as caught:
        keep("backprop", module.step)
    assert "pass it too" not in str(caught.value)


def test_a_kept_module_that_fails_to_import_is_named_and_not_remembered(cell):
    folder = yours._folder()
    folder.mkdir()
    (folder / "backprop.py").write_text("def relu_forward(x):\n    return 'stale'\n\n\nraise KeyboardInterrupt\n")
    with pytest.raises(KeyboardInterrupt):
        use("backprop", "relu_forward", reference=layers)
    assert f"{yours.FOLDER}.backprop" not in sys.modules
    (folder / "backprop.py").write_text("def relu_forward(x):\n    return 'fixed'\n\n\nundefined_name\n")
    with pytest.raises(KeepError, match=r"yours/backprop\.py cannot be imported \(NameError: .*fix it or delete it"):
        use("backprop", "relu_forward", reference=layers)
    (folder / "backprop.py").write_text("def relu_forward(x):\n    return 'fixed'\n")
    assert use("backprop", "relu_forward", reference=layers)(0) == "fixed"


@pytest.mark.parametrize(
    "names, problem",
    [
        (
            ("relu_fwd",),
            "'relu_fwd' is neither kept in yours/backprop.py nor defined in cifar_lessons.from_scratch.layers",
        ),
        ((3,), "use takes the names of what to take back, as text, got 3"),
        ((), "name what to take back"),
    ],
    ids=["misspelt", "not text", "none"],
)
def test_use_names_what_it_cannot_take_back(cell, names, problem):
    with pytest.raises(KeepError, match=problem):
        use("backprop", *names, reference=layers)
