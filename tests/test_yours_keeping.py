"""What keep() keeps: what passed its check, with the helpers it calls, while naming what it did not
keep; and where: yours/ beside the notebook, or the folder CIFAR_LESSONS_YOURS names, which every
notebook of a learner finds (on Colab, a folder on their Drive)."""

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

from cifar_lessons.checks.core import ExerciseError, passed
from cifar_lessons.course import yours
from cifar_lessons.course.yours import KeepError, keep, use
from cifar_lessons.from_scratch import layers

README = Path(__file__).resolve().parents[1] / "README.md"

CELL = textwrap.dedent("""\
    import numpy as np


    def scale(x):
        return 2 * x


    def doubled_relu(x):
        return scale(np.maximum(x, 0))


    class Base:
        def offset(self):
            return 1


    class Net(Base):
        def scores(self, x):
            return doubled_relu(x) + self.offset()


    def unchecked(x):
        return x


    act = lambda x: x  # noqa: E731


    def calls_a_lambda(x):
        return act(x)


    def even(n):
        return n == 0 or odd(n - 1)


    def odd(n):
        return n != 0 and even(n - 1)
    """)


def forget_kept_modules():
    for name in [name for name in sys.modules if name == yours.FOLDER or name.startswith(f"{yours.FOLDER}.")]:
        del sys.modules[name]


@pytest.fixture
def cell(tmp_path, monkeypatch, capsys):
    """A notebook cell's definitions, some of whose checks passed, with a chapter's folder as the working
    directory (as a notebook's kernel has) and CIFAR_LESSONS_YOURS unset."""
    monkeypatch.delenv(yours.SETTING, raising=False)
    book = tmp_path / "book"
    book.mkdir()
    monkeypatch.chdir(book)
    (tmp_path / "cell.py").write_text(CELL)
    spec = importlib.util.spec_from_file_location("cell", tmp_path / "cell.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    passed("the cell", module.doubled_relu, module.Net, module.calls_a_lambda, module.even)
    capsys.readouterr()
    yield module
    forget_kept_modules()


def as_a_new_session():
    """What a later notebook's kernel holds: no kept module imported yet."""
    forget_kept_modules()


def test_keep_keeps_what_passed_and_names_what_did_not(cell, capsys):
    keep("backprop", cell.unchecked, cell.doubled_relu)
    printed = capsys.readouterr().out
    assert printed.startswith("kept doubled_relu in yours/backprop.py, with what they call: scale\n")
    assert (
        "not kept (later chapters use the book's): unchecked, whose check has not passed on this version: "
        "run its check cell, then this one\n"
    ) in printed
    as_a_new_session()
    relu, unchecked = use("backprop", "doubled_relu", "unchecked", reference=cell)
    assert relu(cell.np.array([-1.0, 3.0])).tolist() == [0.0, 6.0]
    assert unchecked is cell.unchecked, "what was not kept is the reference's"


def test_what_cannot_be_kept_is_named_and_the_rest_is_kept(cell, capsys):
    keep("backprop", cell.calls_a_lambda, cell.doubled_relu)
    printed = capsys.readouterr().out
    assert printed.startswith("kept doubled_relu in yours/backprop.py")
    assert (
        "not kept (later chapters use the book's): calls_a_lambda: it calls act, which cannot be kept with it: "
        "keep cannot keep a lambda"
    ) in printed


def test_nothing_kept_is_an_error_naming_why(cell):
    with pytest.raises(ExerciseError, match="unchecked: not kept, since no check has passed"):
        keep("backprop", cell.unchecked)
    with pytest.raises(KeepError, match="nothing kept: calls_a_lambda: it calls act"):
        keep("backprop", cell.calls_a_lambda)
    assert not (Path("yours") / "backprop.py").exists()


def test_the_helpers_a_kept_class_calls_and_its_base_are_kept_before_it_and_run(cell, capsys):
    keep("backprop", cell.Net, cell.even)
    assert capsys.readouterr().out.startswith(
        "kept Net, even in yours/backprop.py, with what they call: Base, scale, doubled_relu, odd\n"
    )
    text = (Path("yours") / "backprop.py").read_text()
    assert text.index("def scale") < text.index("def doubled_relu") < text.index("class Net")
    assert text.index("class Base") < text.index("class Net(Base)")
    as_a_new_session()
    Net, even = use("backprop", "Net", "even", reference=layers)
    assert Net().scores(cell.np.array([-1.0, 3.0])).tolist() == [1.0, 7.0]
    assert (even(4), even(3)) == (True, False)


def test_keep_says_where_yours_is_and_how_to_carry_it(cell, capsys):
    keep("backprop", cell.doubled_relu)
    assert capsys.readouterr().out.endswith(
        "(yours/ is beside this notebook, where every chapter in this folder finds it; on Colab, or to keep it "
        "elsewhere, set CIFAR_LESSONS_YOURS to a folder every notebook reaches, e.g. on your Drive.)\n"
    )


def test_by_default_yours_is_found_beside_the_notebook_only(cell, tmp_path, monkeypatch, capsys):
    keep("backprop", cell.doubled_relu)
    assert (tmp_path / "book" / "yours" / "backprop.py").is_file()
    as_a_new_session()
    elsewhere = tmp_path / "colab-machine-2"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert use("backprop", "doubled_relu", reference=cell) is cell.doubled_relu
    assert capsys.readouterr().out.startswith("the book's, from cell: doubled_relu")


def test_cifar_lessons_yours_names_a_folder_every_notebook_finds(cell, tmp_path, monkeypatch, capsys):
    drive = tmp_path / "drive" / "MyDrive"
    drive.mkdir(parents=True)
    monkeypatch.setenv(yours.SETTING, str(drive / "my code"))
    keep("backprop", cell.doubled_relu)
    assert (
        capsys.readouterr().out == f"kept doubled_relu in {drive / 'my code'}/backprop.py, with what they call: scale\n"
    )
    assert not (tmp_path / "book" / "yours").exists()

    as_a_new_session()  # the next chapter, on another machine that mounts the same drive
    chapter_two = tmp_path / "machine-2"
    chapter_two.mkdir()
    monkeypatch.chdir(chapter_two)
    relu = use("backprop", "doubled_relu", reference=layers)
    assert capsys.readouterr().out == f"yours, from {drive / 'my code'}/backprop.py: doubled_relu\n"
    (chapter_two / "cell2.py").write_text("def wider(x):\n    return doubled_relu(x) + 1\n")
    spec = importlib.util.spec_from_file_location("cell2", chapter_two / "cell2.py")
    cell2 = importlib.util.module_from_spec(spec)
    cell2.doubled_relu = relu
    spec.loader.exec_module(cell2)
    passed("wider", cell2.wider)
    keep("fully_connected", cell2.wider)
    assert "from yours.backprop import doubled_relu" in (drive / "my code" / "fully_connected.py").read_text()

    as_a_new_session()  # a third chapter: the kept modules import each other from the folder, whatever its name
    wider = use("fully_connected", "wider", reference=cell2)
    assert wider is not cell2.wider and wider(cell.np.array([-1.0, 3.0])).tolist() == [1.0, 7.0]


@pytest.mark.parametrize(
    "setting, problem",
    [
        ("  ", "CIFAR_LESSONS_YOURS is empty: unset it"),
        ("a-file", "CIFAR_LESSONS_YOURS names .*a-file, which is a file: name a folder"),
        ("unmounted/MyDrive/mine", r"but .*unmounted/MyDrive does not exist: create it, or mount the drive"),
    ],
    ids=["empty", "a file", "a drive not mounted"],
)
def test_a_setting_naming_no_usable_folder_is_named_with_the_fix(cell, monkeypatch, setting, problem):
    Path("a-file").write_text("notes")
    monkeypatch.setenv(yours.SETTING, setting)
    with pytest.raises(KeepError, match=problem):
        keep("backprop", cell.doubled_relu)
    with pytest.raises(KeepError, match=problem):
        use("backprop", "doubled_relu", reference=layers)
    assert sorted(path.name for path in Path.cwd().iterdir()) == ["a-file"]


def test_the_readme_tells_learners_where_yours_is_and_how_to_carry_it():
    text = README.read_text(encoding="utf-8")
    learners = text[text.index("## For learners") :]
    assert yours.SETTING in learners and "Drive" in learners and "beside" in learners


def test_a_decorated_function_reads_the_notebooks_names_beneath_its_decorator(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cell.py").write_text(
        "import numpy as np\nimport torch\n\n\n@torch.no_grad()\ndef zeros(n):\n    return torch.tensor(np.zeros(n))\n"
    )
    spec = importlib.util.spec_from_file_location("cell", tmp_path / "cell.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    passed("zeros", module.zeros)
    keep("backprop", module.zeros)
    assert "\nkept zeros in yours/backprop.py\n" in capsys.readouterr().out
    assert "import numpy as np\nimport torch\n" in (tmp_path / "yours" / "backprop.py").read_text()
    forget_kept_modules()
