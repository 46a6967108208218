"""The timing helper and the feature-map and timing plots of the convolution chapter."""

import itertools

import matplotlib
import numpy as np
import pytest

from cifar_lessons.from_scratch import timing

matplotlib.use("Agg")
from cifar_lessons.course import plots  # noqa: E402  (after choosing a backend that needs no display)


def test_best_time_is_the_fastest_call(monkeypatch):
    ticks = itertools.chain([0.0, 5.0, 10.0, 12.0, 20.0, 23.0])  # calls taking 5, 2 and 3 seconds
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(ticks))
    calls = []
    assert timing.best_time(calls.append, "x", repeats=3) == 2.0
    assert calls == ["x"] * 3
    with pytest.raises(ValueError, match="repeats must be at least 1"):
        timing.best_time(print, repeats=0)


def test_phase_times_splits_the_fastest_call_into_its_phases(monkeypatch):
    # Two calls: 10 s (a 4 s "copy"), then 6 s (a 1 s and a 2 s "copy", a 1 s "product").
    ticks = itertools.chain([0.0, 1.0, 5.0, 10.0, 20.0, 21.0, 22.0, 22.5, 24.5, 24.5, 25.5, 26.0])

    def call(plan):
        for name in plan.pop(0):
            with timing.phase(name):
                pass

    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(ticks))
    phases = timing.phase_times(call, [["copy"], ["copy", "copy", "product"]], repeats=2)
    assert phases == {"copy": 3.0, "product": 1.0, "everything else": 2.0}
    with timing.phase("copy"):  # outside phase_times nothing is recorded, and no clock is read
        pass
    assert timing._recording is None


def test_map_grid_draws_each_map_with_its_title():
    maps = [np.full((4, 5), value) for value in range(5)]
    fig = plots.map_grid(maps, titles=[f"map {i}" for i in range(5)], ncols=3)
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 6 and len(drawn) == 5
    assert [ax.get_title() for ax in drawn] == [f"map {i}" for i in range(5)]


def test_time_breakdown_stacks_each_methods_phases_and_labels_its_ratio():
    phases = {"slow": {"total": 0.4}, "fast": {"copy": 0.05, "product": 0.1}, "reference": {"total": 0.2}}
    ax = plots.time_breakdown(phases, reference="reference", roof=("products alone", 0.08))
    assert [bar.get_width() for bar in ax.patches] == pytest.approx([400.0, 50.0, 100.0, 200.0])
    assert [bar.get_x() for bar in ax.patches] == pytest.approx([0.0, 0.0, 50.0, 0.0])
    assert [text.get_text().strip() for text in ax.texts] == ["2.00x", "0.75x", "1.00x"]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["products alone", "total", "copy", "product"]
    assert ax.patches[0].get_facecolor() == ax.patches[3].get_facecolor()  # one colour per phase
    assert ax.lines[0].get_xdata()[0] == pytest.approx(80.0)
