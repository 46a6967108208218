"""Your code carried between chapters: keep() writes only checked code, with its imports, and
use() gives it back to a later chapter's kernel, or the book's reference where nothing is kept."""

import nbformat
import pytest
from nbclient import NotebookClient

CHAPTER_ONE = [
    "import numpy as np\n"
    "from cifar_lessons.from_scratch import models\n"
    "from cifar_lessons.checks.backprop import check_relu_forward\n"
    "from cifar_lessons.checks.core import passed\n"
    "from cifar_lessons.course.yours import keep",
    "def relu_forward(x):\n    return np.maximum(x, 0), x\n\n\n"
    "class Net(models.FullyConnectedNet):\n    def scores(self, X):\n        return relu_forward(X)[0]",
    "check_relu_forward(relu_forward)",
    'keep("backprop", relu_forward, Net)',
    'passed("Net", Net)\nkeep("backprop", relu_forward, Net)',
]
CHAPTER_TWO = [
    "import numpy as np\n"
    "from cifar_lessons.from_scratch import layers, models\n"
    "from cifar_lessons.checks.core import passed\n"
    "from cifar_lessons.course.yours import keep, use",
    'relu_forward, affine_forward = use("backprop", "relu_forward", "affine_forward", reference=layers)',
    'Net = use("backprop", "Net", reference=models)',
    "class WiderNet(Net):\n    def wide(self, X):\n        return np.hstack([self.scores(X), relu_forward(X)[0]])",
    'passed("WiderNet", WiderNet)\nkeep("fully_connected", WiderNet)',
]
CHAPTER_THREE = [
    "import numpy as np\nfrom cifar_lessons.from_scratch import models\nfrom cifar_lessons.course.yours import use",
    'WiderNet = use("fully_connected", "WiderNet", reference=models)\n'
    "print(WiderNet([2]).wide(np.array([[-1.0, 3.0]])))",
]


def run(cells, folder):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    resources = {"metadata": {"path": str(folder)}}  # the kernel's working directory, as the notebook's
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True, resources=resources).execute()
    return ["".join(o.get("text", "") or "\n".join(o.get("traceback", [])) for o in c.outputs) for c in notebook.cells]


@pytest.fixture(scope="module")
def chapters(tmp_path_factory):
    folder = tmp_path_factory.mktemp("book")
    before = run(CHAPTER_TWO[:3], folder)
    return folder, before, run(CHAPTER_ONE, folder), run(CHAPTER_TWO, folder), run(CHAPTER_THREE, folder)


def test_a_later_chapter_uses_the_books_code_until_yours_is_kept(chapters):
    _, before, *_ = chapters
    assert before[1] == (
        "the book's, from cifar_lessons.from_scratch.layers: relu_forward, affine_forward "
        "(keep yours with the last cell of the backprop chapter to use them here)\n"
    )


WHERE = (
    "(yours/ is beside this notebook, where every chapter in this folder finds it; on Colab, or to keep it "
    "elsewhere, set CIFAR_LESSONS_YOURS to a folder every notebook reaches, e.g. on your Drive.)\n"
)


def test_what_passed_is_kept_and_what_did_not_is_named(chapters):
    _, _, one, _, _ = chapters
    assert one[3] == (
        "kept relu_forward in yours/backprop.py\n"
        "not kept (later chapters use the book's): Net, whose check has not passed on this version: "
        "run its check cell, then this one\n" + WHERE
    )
    assert one[4] == "Net: all checks passed\nkept relu_forward, Net in yours/backprop.py\n" + WHERE


def test_the_kept_module_holds_your_code_and_the_imports_it_needs(chapters):
    folder, *_ = chapters
    text = (folder / "yours" / "backprop.py").read_text()
    assert "import numpy as np\nfrom cifar_lessons.from_scratch import models\n" in text
    assert "def relu_forward(x):\n    return np.maximum(x, 0), x\n" in text
    assert "class Net(models.FullyConnectedNet):\n    def scores(self, X):" in text


def test_later_chapters_get_your_code_and_build_on_it(chapters):
    folder, _, _, two, three = chapters
    assert two[1] == (
        "yours, from yours/backprop.py: relu_forward\n"
        "the book's, from cifar_lessons.from_scratch.layers: affine_forward "
        "(keep yours with the last cell of the backprop chapter to use them here)\n"
    )
    assert "from yours.backprop import Net" in (folder / "yours" / "fully_connected.py").read_text()
    assert three[1] == "yours, from yours/fully_connected.py: WiderNet\n[[0. 3. 0. 3.]]\n"


@pytest.fixture(scope="module")
def chapters_on_machines_of_their_own(tmp_path_factory):
    """The three chapters, each in a folder (a machine) of its own, with CIFAR_LESSONS_YOURS naming a
    folder on a drive all of them mount."""
    drive = tmp_path_factory.mktemp("drive")
    setting = f"%env CIFAR_LESSONS_YOURS={drive}/my code"
    outputs = [run([setting, *chapter], tmp_path_factory.mktemp("machine")) for chapter in CHAPTERS]
    return drive / "my code", outputs


CHAPTERS = [CHAPTER_ONE, CHAPTER_TWO, CHAPTER_THREE]


def test_cifar_lessons_yours_carries_your_code_to_notebooks_on_other_machines(chapters_on_machines_of_their_own):
    folder, (one, two, three) = chapters_on_machines_of_their_own
    assert one[5].endswith(f"kept relu_forward, Net in {folder}/backprop.py\n")
    assert two[2].startswith(f"yours, from {folder}/backprop.py: relu_forward\n")
    assert three[2] == f"yours, from {folder}/fully_connected.py: WiderNet\n[[0. 3. 0. 3.]]\n"
