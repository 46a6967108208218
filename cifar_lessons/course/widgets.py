"""Interactive demos. Imports ipywidgets and matplotlib, so the package does not import this module.

Every demo has a static twin in :mod:`cifar_lessons.course.plots` that draws the same thing for
all slider positions at once: the book's static pages show that, the live notebook both.
"""

import functools

import ipywidgets
import matplotlib.pyplot as plt

from cifar_lessons.course import plots

# A label as wide as its text: the default width cuts "learning rate" to "learning r..."
LABEL = {"description_width": "initial"}


def loss_curve_demo(train, learning_rates, weight_scales):
    """Sliders over ``learning_rates`` and ``weight_scales``; each move plots the loss history of
    ``train(learning_rate, weight_scale) -> Solver``. Runs are cached, so revisiting is instant.
    Returns the ipywidgets ``interactive`` object."""
    cached = functools.lru_cache(maxsize=None)(train)

    def draw(learning_rate, weight_scale):
        loss = cached(learning_rate, weight_scale).loss_history
        _, ax = plt.subplots(figsize=(6, 3))
        ax.plot(loss, linewidth=0.8)
        ax.set(
            xlabel="iteration",
            ylabel="training loss",
            ylim=(0, 5),
            title=f"learning_rate={learning_rate:g}, weight_scale={weight_scale:g}",
        )
        plt.show()

    def slider(values, description):  # starts in the middle of the range
        return ipywidgets.SelectionSlider(
            options=list(values), value=values[len(values) // 2], description=description, style=LABEL
        )

    return ipywidgets.interactive(
        draw, learning_rate=slider(learning_rates, "learning rate"), weight_scale=slider(weight_scales, "weight scale")
    )


def keep_ratio_explorer(runs):
    """A slider over the keep ratios of ``runs`` (dropout keep ratio -> trained Solver); each move
    draws that run's training and validation accuracy and the gap between them. The static twin
    is :func:`cifar_lessons.course.plots.keep_ratio_summary`. Returns the ipywidgets ``interactive`` object."""
    ratios = sorted(runs, reverse=True)

    def draw(keep_ratio):
        run = runs[keep_ratio]
        ax = plots.accuracy_gap(run, title=f"dropout keep ratio p = {keep_ratio:g}")
        gap = run.train_acc_history[-1] - run.val_acc_history[-1]
        ax.text(0.98, 0.04, f"final gap {gap:.1%}", transform=ax.transAxes, ha="right")
        plt.show()

    return ipywidgets.interactive(
        draw,
        keep_ratio=ipywidgets.SelectionSlider(options=ratios, value=ratios[0], description="keep ratio", style=LABEL),
    )
