"""One python batch file read without running code from it, its images and labels checked."""

import reprlib
from pathlib import Path

import numpy as np

from cifar_lessons.data import safe_pickle
from cifar_lessons.data.errors import CIFAR10Error
from cifar_lessons.data.release import CLASS_NAMES, IMAGE_SHAPE, RELEASE_FIRST_ROW, TRAIN_BATCHES, batches_folder
from cifar_lessons.data.subset import DATA_SETTING, SUBSETS


def _refetch_advice(path):
    return (
        f"Delete '{Path(path).parent}' and run again to download a fresh copy (or copy the "
        "folder again if CIFAR10_DIR points at a local copy)."
    )


def _checked_images(data, path):
    width = int(np.prod(IMAGE_SHAPE))
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != width:
        got = f"{data.dtype} of shape {data.shape}" if isinstance(data, np.ndarray) else f"a {type(data).__name__}"
        raise CIFAR10Error(f"{path}: 'data' should be uint8 of shape (n, {width}), got {got}. {_refetch_advice(path)}")
    return data


def _first_wrong_label(labels):
    """``(label,)`` for the first label that is not an integer class index, else None.

    A float would be truncated by the conversion to int64 (6.7 to 6, NaN to a huge negative
    number), so it is wrong even where its value looks right.
    """
    classes = range(len(CLASS_NAMES))
    if isinstance(labels, np.ndarray):  # plain integers (batch_pickle allows no other dtype): the extremes suffice
        extremes = (int(labels.min()), int(labels.max())) if labels.size else ()
        return next(((label,) for label in extremes if label not in classes), None)
    return next(((label,) for label in labels if type(label) is not int or label not in classes), None)


def _checked_labels(labels, count, path):
    """``labels`` as int64, after checking their type and number before their values."""
    if not (type(labels) is list or isinstance(labels, np.ndarray) and labels.ndim == 1):
        raise CIFAR10Error(
            f"{path}: 'labels' should be a list of integers, got {type(labels).__name__} "
            f"{getattr(labels, 'shape', '')}. {_refetch_advice(path)}"
        )
    if len(labels) != count:
        raise CIFAR10Error(f"{path}: {count} images but {len(labels)} labels. {_refetch_advice(path)}")
    wrong = _first_wrong_label(labels)
    if wrong is not None:
        raise CIFAR10Error(
            f"{path}: labels outside 0..{len(CLASS_NAMES) - 1}: found {reprlib.repr(wrong[0])} "
            f"({type(wrong[0]).__name__}), where every label is an integer class index. "
            f"{_refetch_advice(path)}"
        )
    return np.array(labels, dtype=np.int64)


def _fewer_rows_advice(path, held, asked):
    """What to do about a batch of ``held`` rows asked for ``asked``: a whole lesson-subset batch asked
    for the full release's rows is the wrong data; any other is a damaged file."""
    if held in SUBSETS["lesson"] and asked in SUBSETS["full"]:
        return (
            f"The lesson subset folder cannot serve subset='full' ({DATA_SETTING}=full): unset CIFAR10_DIR to "
            f"download the full release, or unset {DATA_SETTING} to train on the lesson subset."
        )
    return _refetch_advice(path)


def read_batch(path, rows=None):
    """Read one python batch file: ``(images uint8 (n, 3, 32, 32), labels int64 (n,))``.

    ``rows`` keeps the first rows only; asking for more than the file holds is an error.
    """
    path = Path(path)
    try:
        batch = safe_pickle.load(path)
    except safe_pickle.BadBatchFile as error:
        raise CIFAR10Error(f"{path} is not a CIFAR-10 batch: {error}. {_refetch_advice(path)}") from error
    except OSError as error:
        raise CIFAR10Error(
            f"cannot read {path} ({error.strerror or error}): make it a file readable by this user. "
            f"{_refetch_advice(path)}"
        ) from error
    if "data" not in batch or "labels" not in batch:
        raise CIFAR10Error(f"{path} has no 'data' and 'labels' entries. {_refetch_advice(path)}")
    data = _checked_images(batch["data"], path)
    labels = _checked_labels(batch["labels"], data.shape[0], path)
    if rows is not None:
        if data.shape[0] < rows:
            advice = _fewer_rows_advice(path, data.shape[0], rows)
            raise CIFAR10Error(f"{path} holds {data.shape[0]} images, fewer than the {rows} asked for. {advice}")
        data, labels = data[:rows], labels[:rows]
    return data.reshape(-1, *IMAGE_SHAPE), labels


def release_mismatch(folder):
    """None when the first training image in ``folder`` (``cifar-10-batches-py`` or the folder
    holding it) starts as in the official release, else what differs."""
    folder = batches_folder(folder) or Path(folder)
    images, _ = read_batch(folder / TRAIN_BATCHES[0], rows=1)
    row = tuple(int(value) for value in images[0, 0, 0])
    if row == RELEASE_FIRST_ROW:
        return None
    shown = f"its first image's first row reads {list(row[:6])}, the release's {list(RELEASE_FIRST_ROW[:6])}"
    if row[1:] == RELEASE_FIRST_ROW[:-1]:
        return f"every pixel is shifted by one byte ({shown})"
    return f"its pixels differ from the release ({shown})"
