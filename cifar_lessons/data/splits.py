"""The dataset as the chapters use it: train, validation and test splits, centred or standardized."""

import numpy as np

from cifar_lessons.data.batches import read_batch
from cifar_lessons.data.find import find_cifar10
from cifar_lessons.data.release import CLASS_NAMES, TEST_BATCH, TRAIN_BATCHES
from cifar_lessons.data.subset import SUBSETS, VALIDATION_ROWS, chosen_subset


def load_cifar10(path=None, subset=None, num_val=None, dtype=np.float32, download=True):
    """Load CIFAR-10 as NCHW float arrays with train / validation / test splits.

    Returns a dict with ``X_train, y_train, X_val, y_val, X_test, y_test`` (images
    ``(n, 3, 32, 32)`` of ``dtype`` holding raw pixel values 0..255, labels int64),
    and ``class_names``. ``subset="lesson"`` takes 5 x 1,000 training and 500 test
    rows, ``"full"`` all 50,000 + 10,000; None follows :func:`chosen_subset`. The last
    ``num_val`` training rows (default :data:`VALIDATION_ROWS` of the subset) become the
    validation split, the same rows on every machine.
    """
    subset = chosen_subset() if subset is None else subset
    if subset not in SUBSETS:
        raise ValueError(f"subset must be one of {sorted(SUBSETS)}, got {subset!r}")
    num_val = VALIDATION_ROWS[subset] if num_val is None else num_val
    train_rows, test_rows = SUBSETS[subset]
    folder = find_cifar10(path, download=download)
    parts = [read_batch(folder / name, train_rows) for name in TRAIN_BATCHES]
    X = np.concatenate([images for images, _ in parts])
    y = np.concatenate([labels for _, labels in parts])
    if not 0 <= num_val < len(y):
        raise ValueError(f"num_val must be in [0, {len(y)}), got {num_val}")
    X_test, y_test = read_batch(folder / TEST_BATCH, test_rows)
    split = len(y) - num_val
    return {
        "X_train": X[:split].astype(dtype),
        "y_train": y[:split],
        "X_val": X[split:].astype(dtype),
        "y_val": y[split:],
        "X_test": X_test.astype(dtype),
        "y_test": y_test,
        "class_names": CLASS_NAMES,
    }


def normalize(data, method="mean_image"):
    """Center (and scale) every split in ``data`` with statistics of the *training* split only.

    ``method="mean_image"`` subtracts the mean training image (3, 32, 32);
    ``"per_channel"`` subtracts each channel's mean and divides by its standard deviation.
    Returns ``(new_data, stats)`` where stats holds ``mean`` (and ``std``) for reuse.
    """
    X_train = data["X_train"]
    if method == "mean_image":
        stats = {"mean": X_train.mean(axis=0)}
    elif method == "per_channel":
        stats = {"mean": X_train.mean(axis=(0, 2, 3), keepdims=True), "std": X_train.std(axis=(0, 2, 3), keepdims=True)}
    else:
        raise ValueError(f"method must be 'mean_image' or 'per_channel', got {method!r}")
    normalized = dict(data)
    for key in [key for key in ("X_train", "X_val", "X_test") if key in data]:
        X = data[key] - stats["mean"]
        if "std" in stats:
            X = X / stats["std"]
        normalized[key] = X.astype(data[key].dtype)
    return normalized, stats


def with_mirror_images(data):
    """``data`` with a left-right mirror image of every training image added (labels repeated):
    a flipped photo of a cat is still a cat. Validation and test splits are left as they are."""
    return dict(
        data,
        X_train=np.concatenate([data["X_train"], data["X_train"][..., ::-1]]),
        y_train=np.concatenate([data["y_train"], data["y_train"]]),
    )
