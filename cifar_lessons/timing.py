"""Wall-clock timing for the notebooks' quick speed comparisons (``benchmarks/`` measures carefully)."""

import time


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
