"""Wall-clock timing for the notebooks' quick speed comparisons (``benchmarks/`` measures carefully).

:func:`best_time` times a call. :func:`phase_times` also says where the time went: the fast
layers mark their phases (``with timing.phase("im2col"): ...``), which cost two clock reads,
and only while :func:`phase_times` records.
"""

import contextlib
import time

import threadpoolctl

_recording = None  # {phase: seconds} while phase_times runs its call


def best_time(fn, *args, repeats=3):
    """Seconds taken by the fastest of ``repeats`` calls ``fn(*args)``: the least noisy estimate of its cost."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times)


@contextlib.contextmanager
def phase(name):
    """Adds the seconds the block takes to phase ``name`` of the call :func:`phase_times` is timing."""
    if _recording is None:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        _recording[name] = _recording.get(name, 0.0) + time.perf_counter() - start


def phase_times(fn, *args, repeats=3):
    """``{phase: seconds, ..., "everything else": seconds}`` of the fastest of ``repeats`` calls
    ``fn(*args)``, on one thread so that the phases add up to the call's time."""
    global _recording
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    best = None
    with threadpoolctl.threadpool_limits(limits=1):
        for _ in range(repeats):
            _recording = {}
            start = time.perf_counter()
            try:
                fn(*args)
            finally:
                total, phases, _recording = time.perf_counter() - start, _recording, None
            if best is None or total < sum(best.values()):
                best = {**phases, "everything else": total - sum(phases.values())}
    return best
