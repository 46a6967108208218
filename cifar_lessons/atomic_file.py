"""Files that are replaced whole or not at all: what a crash or a full disk interrupts is never half-written."""

import contextlib
import os
from pathlib import Path


@contextlib.contextmanager
def open_atomically(path):
    """A binary file to write ``path``'s new content into; it becomes ``path`` once the block ends.

    If the block raises, ``path`` keeps its old content (or stays absent) and the partial file is
    removed. The partial file sits beside ``path``, so the final rename cannot cross file systems; a
    partial file left there before (a link included) is replaced, never written through.
    """
    path = Path(path)
    partial = path.with_name(f".{path.name}.part")
    partial.unlink(missing_ok=True)
    try:
        with open(partial, "xb") as f:
            yield f
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
