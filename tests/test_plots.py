"""The figures and widgets draw what they say: checked through what a reader sees (lines, bars,
labels, images), not through how they are drawn."""

import types

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
from types import SimpleNamespace  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402

from cifar_lessons.course import plots  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def fake_solver(losses, val, train):
    return types.SimpleNamespace(loss_history=losses, val_acc_history=val, train_acc_history=train)


def test_computational_graph_writes_values_and_gradients():
    ax = plots.computational_graph({"a": (0, 0, "a"), "f": (1, 0, "f")}, [("a", "f", 3.0, -4.0)])
    texts = [t.get_text() for t in ax.texts]
    assert {"3", "-4", "a", "f"} <= set(texts)


def test_training_curves_draw_one_loss_and_two_accuracy_lines_per_solver():
    solvers = {
        "one": fake_solver(list(np.linspace(2, 1, 30)), [0.1, 0.2], [0.1, 0.3]),
        "two": fake_solver([2.0, 1.5], [0.1, 0.4], [0.2, 0.5]),
    }
    loss_ax, acc_ax = plots.training_curves(solvers, smooth=10).axes
    assert [line.get_label() for line in loss_ax.lines] == ["one", "two"]
    assert len(loss_ax.lines[0].get_xdata()) == 21  # 30 losses averaged over windows of 10
    assert len(acc_ax.lines) == 4


def test_search_heatmap_places_every_value():
    rows = [{"lr": lr, "reg": reg, "val_acc": lr + reg} for lr in (0.1, 0.01) for reg in (1.0, 2.0)]
    ax = plots.search_heatmap(rows, x="lr", y="reg")
    grid = ax.images[0].get_array()
    np.testing.assert_allclose(grid, [[1.01, 1.1], [2.01, 2.1]])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.01", "0.1"]


def test_loss_curve_grid_lays_out_rows_and_columns():
    runs = {(r, c): [r, c] for r in (1.0, 2.0) for c in (0.1, 0.2, 0.3)}
    fig = plots.loss_curve_grid(runs, "lr", "ws")
    assert len(fig.axes) == 6
    assert fig.axes[5].get_title() == "lr=2, ws=0.3"


def test_loss_curve_demo_trains_each_setting_once():
    from cifar_lessons.course.widgets import loss_curve_demo

    calls = []

    def train(learning_rate, weight_scale):
        calls.append((learning_rate, weight_scale))
        return fake_solver([1.0, 0.5], [], [])

    demo = loss_curve_demo(train, [1e-3, 1e-2, 1e-1], [0.1, 1.0])
    assert [w.description for w in demo.children[:2]] == ["learning rate", "weight scale"]
    demo.children[0].value = 1e-3
    demo.children[0].value = 1e-2
    assert calls == [(1e-2, 1.0), (1e-3, 1.0)]


def fake_run(train, val):
    return SimpleNamespace(loss_history=[2.3, 2.0, 1.5, 1.2], train_acc_history=train, val_acc_history=val)


RUNS = {
    1.0: fake_run([0.1, 0.6, 0.9], [0.1, 0.3, 0.3]),
    0.5: fake_run([0.1, 0.5, 0.7], [0.1, 0.3, 0.35]),
    0.25: fake_run([0.1, 0.4, 0.5], [0.1, 0.3, 0.36]),
}


def test_a_series_over_seeds_is_drawn_as_its_mean_with_error_bars():
    ax = plots.sweep_plot([1, 2, 3], {"a": [[0.1, 0.2, 0.3], [0.3, 0.4, 0.5]], "b": [0.5, 0.5, 0.5]}, xlabel="x")
    mean_line, single_line = ax.lines[0], ax.lines[-1]
    assert list(mean_line.get_ydata()) == pytest.approx([0.2, 0.3, 0.4])
    assert list(single_line.get_ydata()) == [0.5, 0.5, 0.5]
    legend = sorted(text.get_text() for text in ax.get_legend().get_texts())
    assert legend == ["a (mean ± sd, 2 seeds)", "b"]


def test_an_entry_of_one_seed_gets_its_bar_without_an_error_bar_or_a_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plots.seed_bars({"three seeds": [0.4, 0.5, 0.6], "one seed": [0.3]})
    assert sorted(bar.get_width() for bar in ax.patches) == pytest.approx([0.3, 0.5])
    error_bars = [container for container in ax.containers if type(container).__name__ == "ErrorbarContainer"]
    assert len(error_bars) == 1, "only the entry with several seeds has an error bar"


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
    assert [ax.get_title() for ax in fig.axes] == [
        "keep ratio 1",
        "keep ratio 0.5",
        "keep ratio 0.25",
        "the gap against p",
    ]
    training, validation = fig.axes[-1].lines
    assert list(training.get_ydata()) == [0.9, 0.7, 0.5] and list(validation.get_ydata()) == [0.3, 0.35, 0.36]


def test_keep_ratio_explorer_offers_every_ratio_and_draws_the_chosen_run(monkeypatch):
    widgets = pytest.importorskip("cifar_lessons.course.widgets")
    drawn = []
    monkeypatch.setattr(widgets.plots, "accuracy_gap", lambda run, title: drawn.append(title) or plt.gca())
    slider = widgets.keep_ratio_explorer(RUNS).children[0]
    assert slider.options == (1.0, 0.5, 0.25)
    slider.value = 0.25
    assert drawn[-1] == "dropout keep ratio p = 0.25"


def test_training_curves_take_a_pytorch_history_beside_a_solver():
    history = [
        {"epoch": 1, "train_loss": 2.0, "val_accuracy": 0.3},
        {"epoch": 2, "train_loss": 1.5, "val_accuracy": 0.5},
    ]
    solver = fake_solver([2.0, 1.8, 1.7], [0.1, 0.4], [0.1, 0.5])
    loss_ax, acc_ax = plots.training_curves({"torch": SimpleNamespace(history=history), "numpy": solver}, smooth=1).axes
    assert list(loss_ax.lines[0].get_ydata()) == [2.0, 1.5]
    assert list(acc_ax.lines[0].get_ydata()) == [0.3, 0.5], "validation accuracy per epoch"
    assert len(acc_ax.lines) == 3, "a PyTorch history records no training accuracy"


def test_color_channels_shows_the_image_and_each_channel():
    image = np.zeros((3, 4, 4))
    image[1] = 255
    fig = plots.color_channels(image, "green square")
    assert [ax.get_title() for ax in fig.axes] == ["green square", "red channel", "green channel", "blue channel"]
    assert fig.axes[2].images[0].get_array().max() == 255


def test_class_balance_draws_each_splits_shares():
    counts = {"train": np.array([30, 10]), "test": np.array([5, 5])}
    ax = plots.class_balance(counts, ["cat", "dog"]).axes[0]
    assert sorted(round(bar.get_height(), 2) for bar in ax.patches) == [0.25, 0.5, 0.5, 0.75]


def test_pixel_histograms_count_every_pixel():
    fig = plots.pixel_histograms({"a": np.ones((2, 3)), "b": np.arange(10)})
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    assert sum(bar.get_height() for bar in fig.axes[1].patches) == 10


def test_speedup_plot_shows_times_and_their_ratio():
    fig = plots.speedup_plot([1, 2], [1.0, 4.0], [0.5, 1.0])
    assert list(fig.axes[1].lines[0].get_ydata()) == [2.0, 4.0]


def test_matrices_are_drawn_on_a_scale_symmetric_about_zero():
    fig = plots.matrices({"m": np.array([[1.0, -3.0], [0.5, 2.0]])})
    assert fig.axes[0].images[0].get_clim() == (-3.0, 3.0)


def test_tensor_grid_draws_every_image():
    torch = pytest.importorskip("torch")
    fig = plots.tensor_grid(torch.rand(6, 3, 8, 8), nrow=3, title="six")
    height, width, _ = fig.axes[0].images[0].get_array().shape
    assert (height, width) == (2 * 8 + 3, 3 * 8 + 4) and fig.axes[0].get_title() == "six"
