"""The arithmetic the stored outputs depend on: every library held to its AVX2 kernels by the pins
(as each reports), a fingerprint that notices any other arithmetic, and nbval's two modes: exact
under the pinned arithmetic, where a planted wrong output fails, and tolerant under a foreign one,
where the book still runs and passes and only rounding-dependent numbers go uncompared."""

import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from book_tools import arithmetic

ROOT = Path(__file__).resolve().parents[1]
# A notebook that runs in seconds and prints rounding-dependent numbers (float32 gradient checks).
NOTEBOOK = ROOT / "book" / "01_backprop.ipynb"
FOREIGN = arithmetic.FOREIGN_X86_64

x86_64 = pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64"), reason="the pins choose kernels on x86-64 CPUs only"
)


def avx2():
    if not np._core._multiarray_umath.__cpu_features__.get("AVX2"):
        pytest.skip("this CPU has no AVX2: the pins cannot choose AVX2 kernels here")


def environment(**settings):
    """This process's environment with the pins and ``settings``, without a fingerprint measured earlier."""
    env = {**os.environ, **arithmetic.pins(), "CIFAR_LESSONS_DATA": "lesson", **settings}
    env.pop("CIFAR_LESSONS_MEASURED_ARITHMETIC", None)
    return env


@pytest.fixture(scope="module")
def pinned():
    return arithmetic.measure(environment())


@x86_64
def test_the_pins_hold_every_library_to_its_avx2_kernels(pinned):
    avx2()
    assert pinned["reports"] == {
        "numpy": "X86_V3",
        "openblas": "Haswell",
        "aten": "AVX2",
        "onednn": "Intel AVX2",
        "mkl": "CNR COMPATIBLE",
    }
    assert arithmetic.measure(environment()) == pinned, "the fingerprint must repeat under the same arithmetic"


@x86_64
def test_the_fingerprint_notices_every_library_computing_other_bits(pinned):
    avx2()
    for name, value in FOREIGN.items():
        changed = arithmetic.measure(environment(**{name: value}))
        assert arithmetic.differences(pinned, changed), f"{name}={value} went unnoticed"
    foreign = arithmetic.measure(environment(**FOREIGN))
    assert arithmetic.differences(pinned, foreign) == ["aten", "mkl", "numpy", "onednn", "openblas"]


def test_the_tolerant_mode_compares_words_not_numbers_verdicts_or_classes():
    stored = "batch size  2: lead -4.1 ± 1.5 points (clear)\n 15 dogs taken for cats\n| --- |\n| 60.7% |"
    here = "batch size  2: lead -3.9 ± 12.0 points (within the noise)\n  9 cats taken for frogs\n| ----- |\n| 9.9% |"
    assert arithmetic.tolerant_text(stored) == arithmetic.tolerant_text(here)
    assert arithmetic.tolerant_text("lead over layer norm") != arithmetic.tolerant_text("lead over batch norm")


def test_a_notebook_without_a_fingerprint_is_never_taken_as_exact():
    assert arithmetic.differences(None, {"probes": {}}) == ["no fingerprint stored"]


def run_nbval(notebooks, env):
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", "-rf", *map(str, notebooks)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def failures(result):
    """The tests a pytest run reports as failed, as ``path::Cell N``."""
    return re.findall(r"^FAILED (\S+::Cell \d+)", result.stdout, re.MULTILINE)


@pytest.fixture
def planted_folder(tmp_path):
    """A folder inside the book, so that its notebooks run as the book's do (under this checkout's
    conftest.py), removed afterwards; jupyter-book builds only the pages of _toc.yml."""
    folder = ROOT / "book" / f"_planted_{tmp_path.name}"
    folder.mkdir()
    yield folder
    shutil.rmtree(folder)


def planted(folder, name, change):
    """A copy of NOTEBOOK in ``folder`` with ``change(text)`` applied to the first output of its
    first cell tagged ``rounding``; and that cell's name in nbval's report (``path::Cell N``,
    counting code cells)."""
    content = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [c for c in content["cells"] if c["cell_type"] == "code"]
    number, cell = next((n, c) for n, c in enumerate(code) if "rounding" in c["metadata"].get("tags", []))
    output = cell["outputs"][0]
    output["text"] = change("".join(output["text"]))
    copy = folder / f"{name}.ipynb"
    copy.write_text(json.dumps(content), encoding="utf-8")
    return copy, f"{copy.relative_to(ROOT)}::Cell {number}"


def a_number_changed(text):
    return re.sub(r"\d\.\d", "9.9", text, count=1)


def a_word_changed(text):
    return text.replace("relative error", "absolute error", 1)


@pytest.mark.integration
@x86_64
def test_the_exact_mode_compares_every_number(pinned, planted_folder):
    avx2()
    assert arithmetic.stored(NOTEBOOK) == pinned, "re-execute the notebooks (make notebooks) under the pins"
    notebook, cell = planted(planted_folder, "number", a_number_changed)
    result = run_nbval([notebook], environment())
    assert "arithmetic: EXACT for all 1 notebooks" in result.stdout, result.stdout[-3000:]
    assert failures(result) == [cell], result.stdout[-3000:]


@pytest.mark.integration
@x86_64
def test_a_foreign_arithmetic_is_noticed_and_compared_tolerantly(planted_folder):
    """The book's notebook passes; so does a copy with a planted number, in a cell tagged
    rounding; a copy with a planted word in that cell fails."""
    avx2()
    number, _ = planted(planted_folder, "number", a_number_changed)
    word, cell = planted(planted_folder, "word", a_word_changed)
    result = run_nbval([NOTEBOOK, number, word], environment(**FOREIGN))
    assert failures(result) == [cell], result.stdout[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("arithmetic:")]
    assert len(lines) == 2 and lines[0] == lines[-1], "the mode is said at the top and the bottom"
    assert "TOLERANT for 3 of 3" in lines[0] and "aten, mkl, numpy, onednn, openblas differ" in lines[0]
