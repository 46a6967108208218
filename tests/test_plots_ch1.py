"""Chapter-1 figures and the loss-curve widget draw what they say."""
import types

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from cifar_lessons import plots  # noqa: E402


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
    solvers = {"one": fake_solver(list(np.linspace(2, 1, 30)), [0.1, 0.2], [0.1, 0.3]),
               "two": fake_solver([2.0, 1.5], [0.1, 0.4], [0.2, 0.5])}
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
    from cifar_lessons.widgets import loss_curve_demo

    calls = []

    def train(learning_rate, weight_scale):
        calls.append((learning_rate, weight_scale))
        return fake_solver([1.0, 0.5], [], [])

    demo = loss_curve_demo(train, [1e-3, 1e-2, 1e-1], [0.1, 1.0])
    assert [w.description for w in demo.children[:2]] == ["learning rate", "weight scale"]
    demo.children[0].value = 1e-3
    demo.children[0].value = 1e-2
    assert calls == [(1e-2, 1.0), (1e-3, 1.0)]
