"""Where the data is: an explicit path, ``CIFAR10_DIR``, or the user cache (downloading it there)."""

import os
from pathlib import Path

from cifar_lessons.data.download import download_cifar10
from cifar_lessons.data.errors import CIFAR10Error
from cifar_lessons.data.release import (
    BATCHES_DIRNAME,
    CIFAR10_URL,
    TEST_BATCH,
    TRAIN_BATCHES,
    batches_folder,
    missing_batches,
)


def default_cache_dir():
    """Where downloads go: ``$XDG_CACHE_HOME/cifar_lessons``, else ``~/.cache/cifar_lessons``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cifar_lessons"


def _what_is_missing(folder):
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        return f"{folder} is not a folder" if folder.exists() else f"{folder} does not exist"
    inner = folder / BATCHES_DIRNAME
    candidate = inner if inner.is_dir() else folder
    return f"{candidate} lacks {', '.join(missing_batches(candidate))}"


def find_cifar10(path=None, download=True, cache_dir=None):
    """Return the ``cifar-10-batches-py`` folder to read, downloading into the cache if needed.

    An explicit ``path`` or ``CIFAR10_DIR`` that holds no dataset is an error (not a reason
    to look elsewhere): a typo should not silently trigger a 163 MB download.
    """
    for source, folder in (("path", path), ("CIFAR10_DIR", os.environ.get("CIFAR10_DIR"))):
        if folder is None:
            continue
        if not str(folder).strip():  # an empty setting is a mistake, not a request for the default
            raise CIFAR10Error(
                f"{source} is empty. Set it to the folder holding '{BATCHES_DIRNAME}', or "
                f"unset it to download the dataset into {default_cache_dir()}."
            )
        found = batches_folder(folder)
        if found is None:
            raise CIFAR10Error(
                f"{source}={str(folder)!r} holds no CIFAR-10 python batches: {_what_is_missing(folder)} "
                f"(expected {', '.join(TRAIN_BATCHES)} and {TEST_BATCH}, in that folder or in its "
                f"'{BATCHES_DIRNAME}' subfolder). Fix the path, or unset it to download "
                f"the dataset into {default_cache_dir()}."
            )
        return found
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    found = batches_folder(cache_dir)
    if found is not None:
        return found
    if not download:
        raise CIFAR10Error(
            f"CIFAR-10 is not in {cache_dir} and download=False. Set CIFAR10_DIR to a folder "
            f"holding '{BATCHES_DIRNAME}', or allow the download from {CIFAR10_URL}."
        )
    return download_cifar10(cache_dir)
