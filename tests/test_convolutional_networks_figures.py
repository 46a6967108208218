"""The timing helper and the feature-map and timing plots of the convolution chapter."""

import itertools

import matplotlib
import numpy as np
import pytest

from cifar_lessons import timing

matplotlib.use("Agg")
from cifar_lessons import plots  # noqa: E402  (after choosing a backend that needs no display)


def test_best_time_is_the_fastest_call(monkeypatch):
    ticks = itertools.chain([0.0, 5.0, 10.0, 12.0, 20.0, 23.0])  # calls taking 5, 2 and 3 seconds
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(ticks))
    calls = []
    assert timing.best_time(calls.append, "x", repeats=3) == 2.0
    assert calls == ["x"] * 3
    with pytest.raises(ValueError, match="repeats must be at least 1"):
        timing.best_time(print, repeats=0)


def test_map_grid_draws_each_map_with_its_title():
    maps = [np.full((4, 5), value) for value in range(5)]
    fig = plots.map_grid(maps, titles=[f"map {i}" for i in range(5)], ncols=3)
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 6 and len(drawn) == 5
    assert [ax.get_title() for ax in drawn] == [f"map {i}" for i in range(5)]


def test_timing_bars_show_milliseconds_in_order():
    ax = plots.timing_bars({"slow": 0.2, "fast": 0.002})
    assert [bar.get_width() for bar in ax.patches] == pytest.approx([200.0, 2.0])
    assert [text.get_text().strip() for text in ax.texts] == ["200 ms", "2 ms"]
    assert ax.get_xscale() == "log"
