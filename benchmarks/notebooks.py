"""Each chapter's wall time and peak memory, run top to bottom, to size a hub's nodes.

    python benchmarks/notebooks.py [--data full] [--timeout 7200] [NOTEBOOK ...]

Each notebook runs in a kernel of its own on a copy (the book's stored outputs are untouched),
with ``CIFAR_LESSONS_DATA`` set to ``--data``. At full size without the real release, point
``CIFAR10_DIR`` at a stand-in built by ``benchmarks/standin.py``. Every cell runs even after one
fails (on a stand-in, whose images repeat, an accuracy bar may fail: its time still counts), and
the row lists the cells that failed. Peak memory is the kernel's largest resident set. Prints one
Markdown row per notebook as it finishes.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BOOK = Path(__file__).resolve().parents[1] / "book"


def measure(notebook, subset, timeout):
    """``(seconds, peak MiB, error or None)`` of one run of ``notebook`` in a fresh process."""
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / notebook.name
        shutil.copy2(notebook, copy)
        script = (
            "import json, resource, sys, time, nbformat\n"
            "from nbclient import NotebookClient\n"
            "notebook = nbformat.read(sys.argv[1], as_version=4)\n"
            "start = time.perf_counter()\n"
            f"NotebookClient(notebook, timeout={timeout}, kernel_name='python3', allow_errors=True,\n"
            "               resources={'metadata': {'path': sys.argv[2]}}).execute()\n"
            "seconds = time.perf_counter() - start\n"
            "failed = [f'cell {i} ({o.ename})' for i, c in enumerate(notebook.cells) if c.cell_type == 'code'\n"
            "          for o in c.get('outputs', []) if o.get('output_type') == 'error']\n"
            "error = ', '.join(failed) or None\n"
            "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
            "print(json.dumps([seconds, peak, error]))\n"
        )
        env = dict(os.environ, CIFAR_LESSONS_DATA=subset)
        result = subprocess.run(
            [sys.executable, "-c", script, str(copy), folder], env=env, capture_output=True, text=True, check=True
        )
        return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every chapter of book/")
    parser.add_argument("--data", choices=("lesson", "full"), default="full")
    parser.add_argument("--timeout", type=int, default=7200, help="seconds per cell")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted(p for p in BOOK.glob("[0-9]*.ipynb"))
    print(
        f"CIFAR_LESSONS_DATA={args.data}, CIFAR10_DIR={os.environ.get('CIFAR10_DIR', '(unset)')}, "
        f"{os.cpu_count()} cores, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')}"
    )
    print("| notebook | wall time | peak memory | |\n| --- | ---: | ---: | --- |", flush=True)
    for notebook in notebooks:
        seconds, peak, error = measure(notebook, args.data, args.timeout)
        print(
            f"| {notebook.stem} | {seconds / 60:.1f} min | {peak / 1024:.1f} GiB | "
            f"{'failed: ' + error if error else 'every cell ran'} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
