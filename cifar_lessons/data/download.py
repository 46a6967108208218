"""The official release, downloaded with a checksum and unpacked atomically."""

import gzip
import hashlib
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from cifar_lessons.data.errors import CIFAR10Error
from cifar_lessons.data.release import BATCHES_DIRNAME, CIFAR10_MD5, CIFAR10_URL, batches_folder

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
        unpacked = batches_folder(staging)
        if unpacked is None:
            raise CIFAR10Error(f"the downloaded archive holds no '{BATCHES_DIRNAME}' folder with all batches")
        target = dest_dir / BATCHES_DIRNAME
        if target.exists():
            shutil.rmtree(target)  # an incomplete earlier copy: batches_folder did not accept it
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
