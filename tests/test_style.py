"""The code reads as the Python world expects: ruff's linter and formatter, configured in
pyproject.toml (line length 120), find nothing in the package, the tools, the tests or the notebooks."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def ruff():
    found = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if not found:
        pytest.fail("ruff is missing: it comes with requirements.txt; run `make install`")
    return found


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff_finds_nothing(command):
    result = subprocess.run([ruff(), *command, "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, (
        f"`ruff {' '.join(command)} .` (fix with `ruff check --fix` / `ruff format`):\n" + result.stdout + result.stderr
    )
