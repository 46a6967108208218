"""Facts of the official CIFAR-10 release: where it is, its checksum, its files and classes, and
how the first row of its first image reads (which tells a faithful copy from a damaged one)."""

from pathlib import Path

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
BATCHES_DIRNAME = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGE_SHAPE = (3, 32, 32)
FULL_ROWS_PER_BATCH = 10_000
# The red channel's first row of the first training image (a frog), as the official release holds
# it: a copy whose bytes were moved or changed does not start this way.
RELEASE_FIRST_ROW = (
    59,
    43,
    50,
    68,
    98,
    119,
    139,
    145,
    149,
    149,
    131,
    125,
    142,
    144,
    137,
    129,
    137,
    134,
    124,
    139,
    139,
    133,
    136,
    139,
    152,
    163,
    168,
    159,
    158,
    158,
    152,
    148,
)


def missing_batches(folder):
    """The names of the batch files ``folder`` lacks."""
    return [name for name in (*TRAIN_BATCHES, TEST_BATCH) if not (Path(folder) / name).is_file()]


def batches_folder(folder):
    """The ``cifar-10-batches-py`` folder at or inside ``folder`` that holds every batch file, or None."""
    folder = Path(folder).expanduser()
    for candidate in (folder, folder / BATCHES_DIRNAME):
        if not missing_batches(candidate):
            return candidate
    return None
