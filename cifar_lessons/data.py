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

import gzip
import hashlib
import os
import reprlib
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from cifar_lessons import batch_pickle

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
BATCHES_DIRNAME = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGE_SHAPE = (3, 32, 32)
FULL_ROWS_PER_BATCH = 10_000
LESSON_TRAIN_ROWS_PER_BATCH = 1_000
LESSON_TEST_ROWS = 500
SUBSETS = {
    "lesson": (LESSON_TRAIN_ROWS_PER_BATCH, LESSON_TEST_ROWS),
    "full": (FULL_ROWS_PER_BATCH, FULL_ROWS_PER_BATCH),
}
# The last training rows held out for validation: a tenth of the lesson subset, and CS231n's
# 1,000 of the full training set.
VALIDATION_ROWS = {"lesson": 500, "full": 1_000}
DATA_SETTING = "CIFAR_LESSONS_DATA"


def chosen_subset():
    """The data the chapters train on, as ``CIFAR_LESSONS_DATA`` says: "lesson" (unset) or "full"."""
    value = os.environ.get(DATA_SETTING, "").strip() or "lesson"
    if value not in SUBSETS:
        raise ValueError(
            f"{DATA_SETTING}={value!r} names no data: unset it (or set 'lesson') for the lesson subset "
            f"of 5,000 training and 500 test images, or set 'full' for all 50,000 and 10,000"
        )
    return value


def for_data(subset=None, **settings):
    """The value of ``settings`` for ``subset`` (default: :func:`chosen_subset`), e.g.
    ``for_data(lesson=10, full=30)`` epochs. Every subset needs a value."""
    subset = chosen_subset() if subset is None else subset
    missing = sorted(set(SUBSETS) - set(settings))
    if missing or set(settings) - set(SUBSETS):
        raise ValueError(f"for_data needs one value per subset, {sorted(SUBSETS)}; got {sorted(settings)}")
    return settings[subset]


def describe(subset):
    """One line naming ``subset``'s sizes and how to switch to the other."""
    train_rows, test_rows = SUBSETS[subset]
    train = len(TRAIN_BATCHES) * train_rows
    if subset == "lesson":
        return (
            f"Data: the lesson subset, {train:,} training and {test_rows:,} test images. "
            f"For all of CIFAR-10, set {DATA_SETTING}=full before starting Jupyter "
            "(a hub admin can set it for everyone)."
        )
    return (
        f"Data: all of CIFAR-10, {train:,} training and {test_rows:,} test images ({DATA_SETTING}=full). "
        f"Unset {DATA_SETTING} for the lesson subset."
    )


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


class CIFAR10Error(RuntimeError):
    """The data cannot be found, downloaded or read; the message says how to fix it."""


# ---------------------------------------------------------------------------------------------
# Finding the data


def default_cache_dir():
    """Where downloads go: ``$XDG_CACHE_HOME/cifar_lessons``, else ``~/.cache/cifar_lessons``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cifar_lessons"


def _batches_dir(folder):
    """The ``cifar-10-batches-py`` folder at or inside ``folder``, or None."""
    folder = Path(folder).expanduser()
    for candidate in (folder, folder / BATCHES_DIRNAME):
        if (candidate / TEST_BATCH).is_file() and all((candidate / b).is_file() for b in TRAIN_BATCHES):
            return candidate
    return None


def _what_is_missing(folder):
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        return f"{folder} is not a folder" if folder.exists() else f"{folder} does not exist"
    inner = folder / BATCHES_DIRNAME
    candidate = inner if inner.is_dir() else folder
    missing = [name for name in (*TRAIN_BATCHES, TEST_BATCH) if not (candidate / name).is_file()]
    return f"{candidate} lacks {', '.join(missing)}"


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
        found = _batches_dir(folder)
        if found is None:
            raise CIFAR10Error(
                f"{source}={str(folder)!r} holds no CIFAR-10 python batches: {_what_is_missing(folder)} "
                f"(expected {', '.join(TRAIN_BATCHES)} and {TEST_BATCH}, in that folder or in its "
                f"'{BATCHES_DIRNAME}' subfolder). Fix the path, or unset it to download "
                f"the dataset into {default_cache_dir()}."
            )
        return found
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    found = _batches_dir(cache_dir)
    if found is not None:
        return found
    if not download:
        raise CIFAR10Error(
            f"CIFAR-10 is not in {cache_dir} and download=False. Set CIFAR10_DIR to a folder "
            f"holding '{BATCHES_DIRNAME}', or allow the download from {CIFAR10_URL}."
        )
    return download_cifar10(cache_dir)


# ---------------------------------------------------------------------------------------------
# Downloading


MAX_DOWNLOAD_BYTES = 200 * 2**20  # the release is 163 MB: a server sending more is not sending it
MAX_DOWNLOAD_SECONDS = 3600
STALE_SECONDS = 15 * 60  # a live download writes far more often than this (every read or its timeout)
LEFTOVER_PREFIX = ".cifar-10-"


class _RetryableDownloadError(Exception):
    pass


def _cache_advice():
    return (
        "Set XDG_CACHE_HOME to a writable folder with "
        f"{MAX_DOWNLOAD_BYTES // 2**20} MB free, or point CIFAR10_DIR at a copy of the dataset."
    )


def _offline_advice():
    return (
        f"download {CIFAR10_URL} elsewhere, unpack it, and point CIFAR10_DIR at the folder holding '{BATCHES_DIRNAME}'"
    )


def _too_large(url, max_bytes):
    return CIFAR10Error(
        f"{url} sends more than {max_bytes} bytes, more than the CIFAR-10 release: it is "
        f"not the dataset. Check the URL, or {_offline_advice()}."
    )


def _received(url, timeout, progress, max_bytes, deadline):
    """The body of ``url``, chunk by chunk as it arrives, cut off past ``max_bytes`` or the ``deadline``."""
    from tqdm.auto import tqdm

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length", "")
            expected = int(length) if length.isdigit() else None
            if expected is not None and expected > max_bytes:
                raise _too_large(url, max_bytes)
            received = 0
            with tqdm(total=expected, unit="B", unit_scale=True, desc="CIFAR-10", disable=not progress) as bar:
                # read1 returns what one read brings, so a server trickling bytes still meets the deadline
                while chunk := response.read1(1 << 20):
                    received += len(chunk)
                    if received > max_bytes:
                        raise _too_large(url, max_bytes)
                    if time.monotonic() > deadline:
                        raise CIFAR10Error(
                            f"downloading {url} takes too long ({received} bytes in the time "
                            f"allowed): the connection is too slow; {_offline_advice()}."
                        )
                    bar.update(len(chunk))
                    yield chunk
            if expected is not None and received != expected:
                raise _RetryableDownloadError(f"transfer interrupted after {received} of {expected} bytes")
    except urllib.error.HTTPError as error:
        if error.code >= 500 or error.code == 429:
            raise _RetryableDownloadError(f"server error {error.code}") from error
        raise CIFAR10Error(f"downloading {url} failed: HTTP {error.code} {error.reason}") from error
    except (urllib.error.URLError, OSError) as error:  # refused, reset, timed out, cut short
        raise _RetryableDownloadError(str(error)) from error


def _fetch(url, destination, timeout, progress, max_bytes, deadline):
    """Stream ``url`` into ``destination`` and return its MD5 hex digest."""
    digest = hashlib.md5()
    try:
        with open(destination, "wb") as out:
            for chunk in _received(url, timeout, progress, max_bytes, deadline):
                out.write(chunk)
                digest.update(chunk)
    except OSError as error:  # _received turns network errors into others: this is the disk
        raise CIFAR10Error(
            f"could not write the download to {destination} ({error}). Free some space there. {_cache_advice()}"
        ) from error
    return digest.hexdigest()


def _remove_stale_leftovers(dest_dir):
    """Delete what downloads killed before they could clean up left in ``dest_dir``."""
    for leftover in dest_dir.glob(LEFTOVER_PREFIX + "*"):
        try:
            if time.time() - leftover.stat().st_mtime < STALE_SECONDS:
                continue  # another download, still running
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
        except FileNotFoundError:  # its own download finished meanwhile
            pass


def download_cifar10(
    dest_dir,
    url=CIFAR10_URL,
    md5=CIFAR10_MD5,
    retries=3,
    backoff=1.0,
    timeout=60,
    progress=True,
    max_bytes=MAX_DOWNLOAD_BYTES,
    max_seconds=MAX_DOWNLOAD_SECONDS,
):
    """Download, verify and unpack the CIFAR-10 python tarball into ``dest_dir``.

    The tarball is streamed to a temporary file beside its destination, its MD5 is checked,
    and only then is it unpacked (into a temporary folder, renamed into place), so an
    interrupted or corrupt download never leaves a partial dataset behind; what a killed
    download left behind is deleted by the next one. Network errors and 5xx answers are
    retried ``retries`` times, waiting ``backoff * 2**attempt`` seconds. A server that sends
    more than ``max_bytes``, or a download still unfinished after ``max_seconds`` (retries
    included), is given up on. Returns the ``cifar-10-batches-py`` folder.
    """
    deadline = time.monotonic() + max_seconds
    dest_dir = Path(dest_dir)
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        fd, part = tempfile.mkstemp(prefix=LEFTOVER_PREFIX, suffix=".tar.gz.part", dir=dest_dir)
    except OSError as error:
        raise CIFAR10Error(f"cannot write the download into {dest_dir} ({error}). {_cache_advice()}") from error
    os.close(fd)
    _remove_stale_leftovers(dest_dir)
    part = Path(part)
    try:
        for attempt in range(retries + 1):
            try:
                actual = _fetch(url, part, timeout, progress, max_bytes, deadline)
                break
            except _RetryableDownloadError as error:
                wait = backoff * 2**attempt
                if attempt == retries or time.monotonic() + wait > deadline:
                    raise CIFAR10Error(
                        f"could not download CIFAR-10 from {url} after {attempt + 1} attempts ({error}). "
                        f"If this machine is offline, {_offline_advice()}."
                    ) from error
                time.sleep(wait)
        if actual != md5:
            raise CIFAR10Error(
                f"the file downloaded from {url} has MD5 {actual}, expected {md5}: it is corrupt or "
                "not the CIFAR-10 release, and was deleted. Try again later or download it by hand."
            )
        _unpack(part, dest_dir, url)
    finally:
        part.unlink(missing_ok=True)
    return dest_dir / BATCHES_DIRNAME


def _unpack(tarball, dest_dir, url):
    staging = Path(tempfile.mkdtemp(prefix=LEFTOVER_PREFIX + "unpack-", dir=dest_dir))
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            archive.extractall(staging, filter="data")  # refuses absolute paths, links out, devices
        unpacked = _batches_dir(staging)
        if unpacked is None:
            raise CIFAR10Error(f"the downloaded archive holds no '{BATCHES_DIRNAME}' folder with all batches")
        target = dest_dir / BATCHES_DIRNAME
        if target.exists():
            shutil.rmtree(target)  # an incomplete earlier copy: _batches_dir did not accept it
        os.replace(unpacked, target)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise CIFAR10Error(
            f"the archive downloaded from {url} cannot be unpacked ({type(error).__name__}: "
            f"{error}): it is not the CIFAR-10 release. Check the URL and checksum, or "
            f"{_offline_advice()}."
        ) from error
    except OSError as error:
        raise CIFAR10Error(f"could not unpack the download into {dest_dir} ({error}). {_cache_advice()}") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Reading batches without running arbitrary code


def _refetch_advice(path):
    return (
        f"Delete '{Path(path).parent}' and run again to download a fresh copy (or copy the "
        "folder again if CIFAR10_DIR points at a local copy)."
    )


def _checked_images(data, path):
    width = int(np.prod(IMAGE_SHAPE))
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != width:
        raise CIFAR10Error(
            f"{path}: 'data' should be uint8 of shape (n, {width}), got "
            f"{getattr(data, 'dtype', type(data).__name__)} {getattr(data, 'shape', '')}. "
            f"{_refetch_advice(path)}"
        )
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


def read_batch(path, rows=None):
    """Read one python batch file: ``(images uint8 (n, 3, 32, 32), labels int64 (n,))``.

    ``rows`` keeps the first rows only; asking for more than the file holds is an error.
    """
    path = Path(path)
    try:
        batch = batch_pickle.load(path)
    except batch_pickle.BadBatchFile as error:
        raise CIFAR10Error(f"{path} is not a CIFAR-10 batch: {error}. {_refetch_advice(path)}") from error
    if "data" not in batch or "labels" not in batch:
        raise CIFAR10Error(f"{path} has no 'data' and 'labels' entries. {_refetch_advice(path)}")
    data = _checked_images(batch["data"], path)
    labels = _checked_labels(batch["labels"], data.shape[0], path)
    if rows is not None:
        if data.shape[0] < rows:
            raise CIFAR10Error(
                f"{path} holds {data.shape[0]} images, fewer than the {rows} asked for. The lesson "
                f"subset folder cannot serve subset='full' ({DATA_SETTING}=full): unset CIFAR10_DIR to "
                f"download the full release, or unset {DATA_SETTING} to train on the lesson subset."
            )
        data, labels = data[:rows], labels[:rows]
    return data.reshape(-1, *IMAGE_SHAPE), labels


def release_mismatch(folder):
    """None when the first training image in ``folder`` (``cifar-10-batches-py`` or the folder
    holding it) starts as in the official release, else what differs."""
    folder = _batches_dir(folder) or Path(folder)
    images, _ = read_batch(folder / TRAIN_BATCHES[0], rows=1)
    row = tuple(int(value) for value in images[0, 0, 0])
    if row == RELEASE_FIRST_ROW:
        return None
    shown = f"its first image's first row reads {list(row[:6])}, the release's {list(RELEASE_FIRST_ROW[:6])}"
    if row[1:] == RELEASE_FIRST_ROW[:-1]:
        return f"every pixel is shifted by one byte ({shown})"
    return f"its pixels differ from the release ({shown})"


# ---------------------------------------------------------------------------------------------
# The dataset as the chapters use it


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
