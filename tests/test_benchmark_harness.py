"""The benchmarks' shared harness: contestants take turns, a different one first each round."""

import importlib.util
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[1] / "benchmarks" / "harness.py"


def load_harness():
    spec = importlib.util.spec_from_file_location("harness", HARNESS)
    harness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(harness)
    return harness


def test_every_entry_runs_once_a_round_and_the_first_one_rotates(monkeypatch):
    harness = load_harness()
    order = []

    def fake(script, case, contestant, threads):
        order.append(contestant)
        return len(order) / 1000

    monkeypatch.setattr(harness, "in_subprocess", fake)
    entries = [("fc", "numpy"), ("fc", "torch"), ("fc", "gemm")]
    seconds = harness.interleaved("fc.py", entries, rounds=4, threads=1)
    rounds = [order[i : i + 3] for i in range(0, len(order), 3)]
    assert rounds == [
        ["numpy", "torch", "gemm"],
        ["torch", "gemm", "numpy"],
        ["gemm", "numpy", "torch"],
        ["numpy", "torch", "gemm"],
    ]
    assert seconds[("fc", "numpy")] == [0.001, 0.006, 0.008, 0.010]
    assert harness.medians(seconds, "fc", ("numpy", "absent")) == {"numpy": pytest.approx(0.007)}
    assert harness.spread([0.0014, 0.0026]) == "1, 3"


def test_a_step_is_warmed_up_once_then_timed_repeats_times():
    harness = load_harness()
    calls = []
    seconds = harness.time_step(lambda: calls.append(None), repeats=3)
    assert len(calls) == 4
    assert seconds >= 0
