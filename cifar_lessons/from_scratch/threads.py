"""A batch of images worked on by several threads: chunks of images dealt out in shares, one thread each.

The fast layers use as many threads as NumPy's BLAS may (``OMP_NUM_THREADS`` or
``OPENBLAS_NUM_THREADS`` when Python starts, or ``threadpoolctl.threadpool_limits`` later), so
one setting governs both. While the shares run, BLAS is held to one thread: each share's
matrix products then run on its own thread, and no second pool of threads spins, waiting,
beside ours (on two cores, two pools taking turns ran twice as slow as one).
"""

import functools
from concurrent.futures import ThreadPoolExecutor, wait

import threadpoolctl


@functools.cache
def _controller():
    return threadpoolctl.ThreadpoolController()


def count():
    """How many threads the layers may use: as many as NumPy's BLAS may, at least one."""
    return max([info["num_threads"] for info in _controller().select(user_api="blas").info()], default=1)


def shares(num_images, chunk_size=None, threads=None):
    """Chunks ``(start, stop)`` of at most ``chunk_size`` images (default: an equal part for each thread),
    dealt out in turn into at most ``threads`` shares (default :func:`count`). Always at least one
    share, empty for an empty batch."""
    threads = threads or count()
    chunk_size = max(1, chunk_size or -(-num_images // threads))
    chunks = [(start, min(start + chunk_size, num_images)) for start in range(0, num_images, chunk_size)]
    return [chunks[first::threads] for first in range(max(1, min(threads, len(chunks))))]


def chunked_shares(num_images, bytes_per_image, chunk_bytes):
    """:func:`shares` of chunks whose buffers, ``bytes_per_image`` an image, fit in ``chunk_bytes`` (at least
    one image), and no larger than an equal part of the batch for each thread."""
    size = min(chunk_bytes // bytes_per_image, -(-num_images // count()))
    return shares(num_images, max(1, size))


@functools.cache
def _helpers(count):
    # Threads kept for the life of the process: starting fresh ones on every call cost more than a
    # small layer's work.
    return ThreadPoolExecutor(count, thread_name_prefix="cifar_lessons")


def run(task, shares):
    """``[task(share) for share in shares]``: the first share on the calling thread, each other one on a
    thread of its own, with BLAS held to one thread meanwhile."""
    if len(shares) == 1:
        return [task(shares[0])]
    with _controller().limit(limits=1, user_api="blas"):
        others = [_helpers(len(shares) - 1).submit(task, share) for share in shares[1:]]
        try:
            first = task(shares[0])
        finally:
            wait(others)  # none may still write into the caller's arrays once this returns or raises
        return [first] + [future.result() for future in others]
