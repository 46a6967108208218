"""How nbval compares the notebooks' stored outputs: exactly, or tolerantly where the arithmetic differs.

Before any notebook runs, the tests measure this machine's arithmetic fingerprint
(:mod:`book_tools.arithmetic`) and compare it with the one stored in each notebook when its
outputs were computed. Where they match, every output is compared as it is. Where a library
computes other bits here, the notebook runs in the *tolerant* mode: every cell still runs and
every assertion still holds, and the numbers printed by cells tagged ``rounding`` (training
results, which a last-bit difference moves), the verdicts read off them and the classes they
name are not compared (:func:`book_tools.arithmetic.tolerant_text`); their other words still
are. The mode of each notebook, and why, is said at the top and at the bottom of the run.
"""

import json
import os
from pathlib import Path

from book_tools import arithmetic

ROUNDING_TAG = "rounding"
MEASURED = "CIFAR_LESSONS_MEASURED_ARITHMETIC"  # the controller measures once; xdist's workers inherit it


def _runs_notebooks(config):
    return config.getoption("nbval", False) and any(
        Path(arg.split("::")[0]).suffix == ".ipynb" or any(Path(arg).glob("*.ipynb")) for arg in config.args
    )


def _measured():
    if MEASURED not in os.environ:
        os.environ[MEASURED] = json.dumps(arithmetic.measure())
    return json.loads(os.environ[MEASURED])


def _mode(notebook):
    """``(tolerant, reason)`` for one notebook on this machine."""
    measured = _measured()
    differing = arithmetic.differences(arithmetic.stored(notebook), measured)
    if not differing:
        return False, "this machine computes the bits its outputs were stored with"
    return True, f"{', '.join(differing)} differ{'s' * (len(differing) == 1)} from where its outputs were stored"


def _summary(config):
    notebooks = sorted({Path(arg.split("::")[0]) for arg in config.args if arg.endswith(".ipynb")}) or sorted(
        notebook for arg in config.args for notebook in Path(arg).glob("*.ipynb")
    )
    modes = {notebook.stem: _mode(notebook) for notebook in notebooks}
    tolerant = {name: reason for name, (is_tolerant, reason) in modes.items() if is_tolerant}
    runs = arithmetic.describe(_measured())
    if not tolerant:
        return f"arithmetic: EXACT for all {len(modes)} notebooks: every output compared. This machine runs {runs}"
    reasons = "; ".join(f"{name} ({reason})" for name, reason in tolerant.items())
    return (
        f"arithmetic: TOLERANT for {len(tolerant)} of {len(modes)} notebooks, whose cells tagged {ROUNDING_TAG!r} "
        f"print numbers that are not compared: {reasons}. Every other notebook EXACT. This machine runs {runs}"
    )


def pytest_configure(config):
    config.arithmetic_summary = _summary(config) if _runs_notebooks(config) else None


def pytest_report_header(config):
    return config.arithmetic_summary


def pytest_terminal_summary(terminalreporter, config):
    if config.arithmetic_summary:
        terminalreporter.write_line(config.arithmetic_summary)


def _tolerant(sanitize):
    def sanitized(text):
        text = sanitize(text)
        return arithmetic.tolerant_text(text) if isinstance(text, str) else text

    return sanitized


def pytest_collection_modifyitems(config, items):
    tolerant = {}
    for item in items:
        cell = getattr(item, "cell", None)
        if cell is None or ROUNDING_TAG not in cell.metadata.get("tags", []):
            continue
        notebook = Path(item.path)
        if notebook not in tolerant:
            tolerant[notebook] = _mode(notebook)[0]
        if tolerant[notebook]:
            item.sanitize = _tolerant(item.sanitize)
