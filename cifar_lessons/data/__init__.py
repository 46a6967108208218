"""CIFAR-10: find it, download it (checksummed, atomically), read it safely, split it.

Where the data is looked for, in order:

1. the ``path`` argument of :func:`load_cifar10`,
2. the ``CIFAR10_DIR`` environment variable,
3. the user cache (``$XDG_CACHE_HOME/cifar_lessons`` or ``~/.cache/cifar_lessons``),
   downloading the official release there when it is missing.

Each may name the ``cifar-10-batches-py`` folder itself or a folder holding it.

The *lesson subset* is the first 1,000 rows of each training batch and the first
500 rows of the test batch: the same arrays whether the folder holds the full
release or only those rows, so the book's outputs match on every machine.

Which of the two the chapters train on is one setting, the ``CIFAR_LESSONS_DATA`` environment
variable: unset (or ``lesson``) for the lesson subset, ``full`` for all 60,000 images. A hub
admin sets it for everyone; a learner sets it before starting Jupyter.
"""

from cifar_lessons.data.batches import read_batch, release_mismatch
from cifar_lessons.data.download import download_cifar10
from cifar_lessons.data.errors import CIFAR10Error
from cifar_lessons.data.find import default_cache_dir, find_cifar10
from cifar_lessons.data.release import CLASS_NAMES
from cifar_lessons.data.splits import load_cifar10, normalize, with_mirror_images
from cifar_lessons.data.subset import DATA_SETTING, SUBSETS, chosen_subset, describe, for_data

__all__ = [
    "CIFAR10Error",
    "CLASS_NAMES",
    "DATA_SETTING",
    "SUBSETS",
    "chosen_subset",
    "default_cache_dir",
    "describe",
    "download_cifar10",
    "find_cifar10",
    "for_data",
    "load_cifar10",
    "normalize",
    "read_batch",
    "release_mismatch",
    "with_mirror_images",
]
