"""Every notebook opens with the same first code cell, which makes it work on a fresh hub or Colab:
install the package if it is missing (from this repository), then ``start(...)``."""

import ast
import json
from pathlib import Path

import pytest
import yaml
from IPython.core.inputtransformer2 import TransformerManager

from cifar_lessons.start import NOT_THE_RELEASE

ROOT = Path(__file__).resolve().parents[1]
REPOSITORY = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
FIRST_CELL = f"""\
try:
    import cifar_lessons  # noqa: F401 (only: is it installed?)
except ImportError:  # a fresh JupyterHub or Colab: install the book's package first
    %pip install -q "cifar-lessons @ git+{REPOSITORY}"
from cifar_lessons.start import start
"""
START_OPTIONS = {"seed", "need_data", "use_torch"}


@pytest.mark.parametrize("notebook", sorted((ROOT / "book").glob("*.ipynb")), ids=lambda path: path.stem)
def test_first_code_cell_installs_the_package_and_starts(notebook):
    content = json.loads(notebook.read_text(encoding="utf-8"))
    assert content["metadata"]["kernelspec"]["name"] == "python3"
    cell = next(cell for cell in content["cells"] if cell["cell_type"] == "code")
    source = "".join(cell["source"])
    assert source.startswith(FIRST_CELL), f"{notebook.name}: the first code cell must begin with\n{FIRST_CELL}"
    assert "nbval-ignore-output" in cell["metadata"].get("tags", []), (
        f"{notebook.name}: tag the first code cell nbval-ignore-output (it prints this machine's paths)"
    )

    (call,) = ast.parse(TransformerManager().transform_cell(source[len(FIRST_CELL) :])).body
    start = call.value
    assert (
        isinstance(call, (ast.Expr, ast.Assign))
        and isinstance(start, ast.Call)
        and ast.unparse(start.func) == "start"
        and not start.args
    ), f"{notebook.name}: after the import, the cell must only call start(seed=..., ...)"
    options = {keyword.arg: ast.literal_eval(keyword.value) for keyword in start.keywords}
    assert set(options) <= START_OPTIONS and isinstance(options.get("seed"), int), (
        f"{notebook.name}: call start with seed=<int> and only {sorted(START_OPTIONS)}, not {options}"
    )


@pytest.mark.parametrize("notebook", sorted((ROOT / "book").glob("*.ipynb")), ids=lambda path: path.stem)
def test_no_stored_output_was_computed_on_a_copy_that_is_not_the_release(notebook):
    """The first cell warns when the data differs from the official release; the book's own
    outputs must never carry that warning (re-execute the notebook on the release instead)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    warned = [
        index
        for index, cell in enumerate(cells)
        for output in cell.get("outputs", [])
        if NOT_THE_RELEASE in json.dumps(output)
    ]
    assert not warned, f"{notebook.name}: cells {warned} were computed on a copy of CIFAR-10 that is not the release"
