"""The Results page's data: every result the chapters recorded, read from their stored outputs."""

import json
from pathlib import Path

from cifar_lessons.course.results import RESULT_MIME, WHOSE


def collect(book_dir, whose=None):
    """All results recorded in the notebooks under ``book_dir``, in notebook order.

    ``whose`` (one of :data:`~cifar_lessons.course.results.WHOSE`) keeps only the book's models or only
    yours; a record from before that field existed is the book's.
    """
    if whose is not None and whose not in WHOSE:
        raise ValueError(f"whose must be None or one of {WHOSE}, got {whose!r}")
    results = []
    for notebook in sorted(Path(book_dir).glob("*.ipynb")):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            for output in cell.get("outputs", []):
                if RESULT_MIME in output.get("metadata", {}):
                    result = {"whose": "book", **output["metadata"][RESULT_MIME], "notebook": notebook.name}
                    if whose in (None, result["whose"]):
                        results.append(result)
    return results
