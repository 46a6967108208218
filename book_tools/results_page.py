"""The Results page's data: every result the chapters recorded, read from their stored outputs."""

import json
from pathlib import Path

from cifar_lessons.results import RESULT_MIME


def collect(book_dir):
    """All results recorded in the notebooks under ``book_dir``, in notebook order."""
    results = []
    for notebook in sorted(Path(book_dir).glob("*.ipynb")):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            for output in cell.get("outputs", []):
                if RESULT_MIME in output.get("metadata", {}):
                    results.append(dict(output["metadata"][RESULT_MIME], notebook=notebook.name))
    return results
