"""A progress bar's stored output in an executed notebook shows the finished run, not "0%"."""

import os
import subprocess
import sys

import nbformat
from nbclient import NotebookClient

from cifar_lessons.from_scratch.progress import progress_bar


def run_cell(source):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    return notebook.cells[0].outputs


def test_the_stored_text_is_the_finished_bar():
    outputs = run_cell(
        "from cifar_lessons.from_scratch.progress import progress_bar\n"
        "for _ in progress_bar(range(7), desc='epochs'):\n    pass"
    )
    bars = [output for output in outputs if "application/vnd.jupyter.widget-view+json" in output.get("data", {})]
    assert len(bars) == 1, f"one bar, displayed once: {outputs}"
    text = bars[0]["data"]["text/plain"]
    assert "epochs" in text and "100%" in text and "7/7" in text, text


def test_a_disabled_bar_shows_nothing_and_outside_a_notebook_it_is_tqdms(capsys):
    outputs = run_cell(
        "from cifar_lessons.from_scratch.progress import progress_bar\n"
        "for _ in progress_bar(range(3), disable=True):\n    pass"
    )
    assert outputs == []
    assert list(progress_bar(range(3), desc="terminal")) == [0, 1, 2]
    assert "terminal: 100%" in capsys.readouterr().err


def test_a_bar_that_does_not_stay_leaves_an_output_the_book_shows_as_nothing():
    outputs = run_cell(
        "from cifar_lessons.from_scratch.progress import progress_bar\n"
        "for _ in progress_bar(range(4), desc='seeds', leave=False):\n    pass\nprint('done')"
    )
    assert outputs[0]["data"] == {"text/html": ""}, "no text box, which the rendered book would show empty"
    assert outputs[1]["text"] == "done\n"
    assert "application/vnd.jupyter.widget-view+json" not in outputs[0]["data"], "no widget left to render"


def test_nbval_verifies_a_cell_whose_bar_does_not_stay(tmp_path):
    """nbval compares the bar's first display, not the update that empties it: both are empty."""
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "from cifar_lessons.from_scratch.progress import progress_bar\n"
                "print(sum(progress_bar(range(4), desc='seeds', leave=False)))"
            )
        ]
    )
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    nbformat.write(notebook, tmp_path / "bar.ipynb")
    nbval = [sys.executable, "-m", "pytest", "-q", "-c", os.devnull, "-p", "no:cacheprovider", "--nbval-current-env"]
    result = subprocess.run([*nbval, "--nbval", "bar.ipynb"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:]
