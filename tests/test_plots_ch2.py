"""Chapter 2's figures and the keep-ratio widget draw what they say, from a Solver's histories."""
from types import SimpleNamespace

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from cifar_lessons import plots  # noqa: E402


def fake_run(train, val):
    return SimpleNamespace(loss_history=[2.3, 2.0, 1.5, 1.2], train_acc_history=train, val_acc_history=val)


RUNS = {1.0: fake_run([0.1, 0.6, 0.9], [0.1, 0.3, 0.3]), 0.5: fake_run([0.1, 0.5, 0.7], [0.1, 0.3, 0.35]),
        0.25: fake_run([0.1, 0.4, 0.5], [0.1, 0.3, 0.36])}


def teardown_function():
    plt.close("all")


def test_a_series_over_seeds_is_drawn_as_its_mean_with_error_bars():
    ax = plots.sweep_plot([1, 2, 3], {"a": [[0.1, 0.2, 0.3], [0.3, 0.4, 0.5]], "b": [0.5, 0.5, 0.5]}, xlabel="x")
    mean_line, single_line = ax.lines[0], ax.lines[-1]
    assert list(mean_line.get_ydata()) == pytest.approx([0.2, 0.3, 0.4])
    assert list(single_line.get_ydata()) == [0.5, 0.5, 0.5]
    legend = sorted(text.get_text() for text in ax.get_legend().get_texts())
    assert legend == ["a (mean ± sd, 2 seeds)", "b"]


def test_seed_bars_show_each_mean_and_every_seed():
    ax = plots.seed_bars({"first": [0.4, 0.5, 0.6], "second": [0.2, 0.2, 0.2]})
    position = {tick.get_text(): y for tick, y in zip(ax.get_yticklabels(), ax.get_yticks())}
    assert position["first"] > position["second"], "the first entry is drawn at the top"
    assert sorted(bar.get_width() for bar in ax.patches) == pytest.approx([0.2, 0.5])
    assert sorted(len(line.get_xdata()) for line in ax.lines if line.get_marker() == "o") == [3, 3]


def test_sweep_plot_draws_each_series_against_the_values():
    ax = plots.sweep_plot([1e-3, 1e-2], {"x": [0.1, 0.2], "y": [0.3, 0.4]}, xlabel="scale", logx=True)
    assert ax.get_xscale() == "log" and len(ax.lines) == 2
    assert list(ax.lines[1].get_ydata()) == [0.3, 0.4]


def test_keep_ratio_summary_has_a_panel_per_ratio_and_the_final_accuracies():
    fig = plots.keep_ratio_summary(RUNS)
    assert [ax.get_title() for ax in fig.axes] == ["keep ratio 1", "keep ratio 0.5", "keep ratio 0.25",
                                                   "the gap against p"]
    training, validation = fig.axes[-1].lines
    assert list(training.get_ydata()) == [0.9, 0.7, 0.5] and list(validation.get_ydata()) == [0.3, 0.35, 0.36]


def test_keep_ratio_explorer_offers_every_ratio_and_draws_the_chosen_run(monkeypatch):
    widgets = pytest.importorskip("cifar_lessons.widgets")
    drawn = []
    monkeypatch.setattr(widgets.plots, "accuracy_gap", lambda run, title: drawn.append(title) or plt.gca())
    slider = widgets.keep_ratio_explorer(RUNS).children[0]
    assert slider.options == (1.0, 0.5, 0.25)
    slider.value = 0.25
    assert drawn[-1] == "dropout keep ratio p = 0.25"
