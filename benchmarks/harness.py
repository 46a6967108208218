"""What the side-by-side benchmarks share: timing a step, one contestant per process, rounds in turn.

A benchmark script defines ``run_one(case, contestant) -> seconds`` and ``main(rounds, threads)``
and hands both to :func:`command_line`; ``main`` gets its numbers from :func:`interleaved`.
Each contestant runs in a process of its own: NumPy's BLAS and PyTorch each keep a thread pool,
and pools left spinning by one contestant slow the next one down. The contestants take turns
over several rounds, so a busy moment on the machine hits all of them.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

REPEATS = 5
THREAD_POOLS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def time_step(step, repeats=REPEATS):
    """Median seconds of ``step()`` over ``repeats`` calls, after one untimed call."""
    step()  # warm up: first-touch page faults, thread pools, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def threads():
    """The thread count this contestant was given (every pool variable holds the same)."""
    return int(os.environ["OMP_NUM_THREADS"])


def in_subprocess(script, case, contestant, threads):
    """Seconds ``script --one case contestant`` measured, run with every thread pool capped at ``threads``."""
    command = [sys.executable, script, "--one", case, contestant]
    env = dict(os.environ, **{name: str(threads) for name in THREAD_POOLS})
    result = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return json.loads(result.stdout)["seconds"]


def interleaved(script, entries, rounds, threads):
    """``{(case, contestant): [seconds per round]}``, every entry once a round, a different one first each round."""
    seconds = {entry: [] for entry in entries}
    for round_index in range(rounds):
        shift = round_index % len(entries)
        for entry in entries[shift:] + entries[:shift]:
            seconds[entry].append(in_subprocess(script, *entry, threads))
    return seconds


def medians(seconds, case, contestants):
    """``{contestant: median seconds}`` for the contestants of ``case`` that ran."""
    return {c: float(np.median(seconds[(case, c)])) for c in contestants if (case, c) in seconds}


def spread(values):
    """Each round's time in ms, for the end of a table row."""
    return ", ".join(f"{s * 1e3:.0f}" for s in values)


def torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def command_line(doc, run_one, main):
    """Parse ``--rounds``, ``--threads`` and the internal ``--one CASE CONTESTANT``, then run."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--one", nargs=2, metavar=("CASE", "CONTESTANT"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.one:
        print(json.dumps({"seconds": run_one(*arguments.one)}))
    else:
        main(arguments.rounds, arguments.threads)
