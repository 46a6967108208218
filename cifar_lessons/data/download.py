"""The official release, downloaded with a checksum and unpacked atomically."""

import gzip
import hashlib
import http.client
import os
import re
import shutil
import socket
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from cifar_lessons.data.errors import CIFAR10Error
from cifar_lessons.data.release import BATCHES_DIRNAME, CIFAR10_MD5, CIFAR10_URL, batches_folder, missing_batches

MAX_DOWNLOAD_BYTES = 200 * 2**20  # the release is 163 MB: a server sending more is not sending it
MAX_DOWNLOAD_SECONDS = 3600
MAX_UNPACKED_BYTES = 256 * 2**20  # the release unpacks to 178 MB in 8 files
MAX_MEMBERS = 100
STALE_SECONDS = 15 * 60  # a live download writes far more often than this (every read or its timeout)
LEFTOVER_PREFIX = ".cifar-10-"
STAGING_PREFIX = LEFTOVER_PREFIX + "unpack-"
PART_SUFFIX = ".tar.gz.part"
# What a download names its files: the prefix, tempfile's 8 random characters, the suffix. Nothing
# else in the destination is the download's to delete.
_RANDOM = "[a-z0-9_]{8}"
LEFTOVER_NAMES = (
    re.compile(re.escape(LEFTOVER_PREFIX) + _RANDOM + re.escape(PART_SUFFIX)),
    re.compile(re.escape(STAGING_PREFIX) + _RANDOM),
)


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


def _too_slow(url, received):
    return CIFAR10Error(
        f"downloading {url} takes too long ({received} bytes in the time allowed): the connection is too "
        f"slow; {_offline_advice()}."
    )


class _Deadline:
    """Shuts the connections of one attempt when the download's time is up, so that no read, the
    headers' included, outlasts it: a socket's timeout bounds each read, not their sum."""

    def __init__(self, deadline):
        self.passed, self._sockets, self._lock = False, [], threading.Lock()
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._shut_all)
        self._timer.daemon = True

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exception):
        self._timer.cancel()

    def opener(self):
        """A urllib opener whose HTTP and HTTPS connections this deadline shuts."""
        deadline = self

        def watching(handler_class):
            class Watching(handler_class):
                def do_open(self, connection_class, request, **kwargs):
                    class Watched(connection_class):
                        def connect(self):
                            super().connect()
                            deadline._watch(self.sock)

                    return super().do_open(Watched, request, **kwargs)

            return Watching

        return urllib.request.build_opener(watching(urllib.request.HTTPHandler), watching(urllib.request.HTTPSHandler))

    def _watch(self, sock):
        with self._lock:
            self._sockets.append(sock)
            if self.passed:
                self._shut(sock)

    def _shut_all(self):
        with self._lock:
            self.passed = True
            for sock in self._sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock):
        try:  # socket's own shutdown, not SSLSocket's, which would unwrap a socket another thread reads
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:  # already closed
            pass


def _received(url, timeout, progress, max_bytes, deadline):
    """The body of ``url``, chunk by chunk as it arrives, cut off past ``max_bytes`` or the ``deadline``."""
    from tqdm.auto import tqdm

    received = 0
    with _Deadline(deadline) as time_limit:
        try:
            with time_limit.opener().open(url, timeout=timeout) as response:
                length = response.headers.get("Content-Length", "")
                expected = int(length) if length.isdigit() else None
                if expected is not None and expected > max_bytes:
                    raise _too_large(url, max_bytes)
                with tqdm(total=expected, unit="B", unit_scale=True, desc="CIFAR-10", disable=not progress) as bar:
                    # read1 returns what one read brings, so a server trickling bytes still meets the deadline
                    while chunk := response.read1(1 << 20):
                        received += len(chunk)
                        if received > max_bytes:
                            raise _too_large(url, max_bytes)
                        bar.update(len(chunk))
                        yield chunk
                if time_limit.passed:
                    raise _too_slow(url, received)
                if expected is not None and received != expected:
                    raise _RetryableDownloadError(f"transfer interrupted after {received} of {expected} bytes")
        except urllib.error.HTTPError as error:
            if error.code >= 500 or error.code == 429:
                raise _RetryableDownloadError(f"server error {error.code}") from error
            raise CIFAR10Error(f"downloading {url} failed: HTTP {error.code} {error.reason}") from error
        # refused, reset, timed out, cut short, or not speaking HTTP
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            if time_limit.passed:
                raise _too_slow(url, received) from error
            raise _RetryableDownloadError(f"{type(error).__name__}: {str(error)[:200]}") from error


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


def _is_leftover(path):
    """Whether ``path`` is named and made as a download names and makes its partial files and folders."""
    if path.is_symlink() or not any(pattern.fullmatch(path.name) for pattern in LEFTOVER_NAMES):
        return False
    return path.is_dir() if path.name.startswith(STAGING_PREFIX) else path.is_file()


def _remove_stale_leftovers(dest_dir):
    """Delete what downloads killed before they could clean up left in ``dest_dir``."""
    for leftover in filter(_is_leftover, dest_dir.glob(LEFTOVER_PREFIX + "*")):
        try:
            if time.time() - leftover.stat().st_mtime < STALE_SECONDS:
                continue  # another download, still running
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
        except FileNotFoundError:  # its own download finished meanwhile
            pass


def _existing_copy(target):
    """``target`` when it holds the whole release, None when nothing is there. Anything else there a
    download did not write (it moves a complete folder into place), so it is left as it is: an error."""
    if not (target.exists() or target.is_symlink()):
        return None
    if batches_folder(target) == target:
        return target
    missing = ", ".join(missing_batches(target)) if target.is_dir() else "every batch (it is not a folder)"
    raise CIFAR10Error(
        f"{target} lacks {missing}. A download did not write it, so it is left as it is: move it away "
        "(or complete it from a copy of the dataset), then run again."
    )


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
    download left behind is deleted by the next one, and nothing else is: a complete copy already
    in ``dest_dir`` is returned as it is, an incomplete one is an error. Network errors, 5xx
    answers and malformed ones are retried ``retries`` times, waiting ``backoff * 2**attempt``
    seconds. A server that sends more than ``max_bytes``, or a download still unfinished after
    ``max_seconds`` (retries and the wait for headers included), is given up on, and so is an
    archive that unpacks to more than the release. Returns the ``cifar-10-batches-py`` folder.
    """
    deadline = time.monotonic() + max_seconds
    dest_dir = Path(dest_dir)
    existing = _existing_copy(dest_dir / BATCHES_DIRNAME)
    if existing is not None:
        return existing
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        fd, part = tempfile.mkstemp(prefix=LEFTOVER_PREFIX, suffix=PART_SUFFIX, dir=dest_dir)
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


def _members(archive, url):
    """The members of ``archive``, read header by header, refused past MAX_MEMBERS or MAX_UNPACKED_BYTES:
    a checksum proves the archive is the one asked for, not that it is small."""
    members, size = [], 0
    for member in archive:
        members.append(member)
        size += member.size
        if len(members) > MAX_MEMBERS or size > MAX_UNPACKED_BYTES:
            raise CIFAR10Error(
                f"the archive downloaded from {url} unpacks to more than {MAX_UNPACKED_BYTES} bytes or "
                f"{MAX_MEMBERS} files, more than the CIFAR-10 release: check the URL and checksum, or "
                f"{_offline_advice()}."
            )
    return members


def _unpack(tarball, dest_dir, url):
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=dest_dir))
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            # the data filter refuses absolute paths, links out, devices
            archive.extractall(staging, members=_members(archive, url), filter="data")
        unpacked = batches_folder(staging)
        if unpacked is None:
            raise CIFAR10Error(f"the downloaded archive holds no '{BATCHES_DIRNAME}' folder with all batches")
        target = dest_dir / BATCHES_DIRNAME
        try:
            os.rename(unpacked, target)
        except OSError:  # something appeared there meanwhile: another download's copy will do
            if _existing_copy(target) is None:
                raise
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
