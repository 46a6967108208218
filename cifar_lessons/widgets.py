"""Interactive demos. Imports ipywidgets and matplotlib, so the package does not import this module.

Every demo has a static twin in :mod:`cifar_lessons.plots` that draws the same thing for
all slider positions at once: the book's static pages show that, the live notebook both.
"""
import functools

import ipywidgets
import matplotlib.pyplot as plt


def loss_curve_demo(train, learning_rates, weight_scales):
    """Sliders over ``learning_rates`` and ``weight_scales``; each move plots the loss history of
    ``train(learning_rate, weight_scale) -> Solver``. Runs are cached, so revisiting is instant.
    Returns the ipywidgets ``interactive`` object."""
    cached = functools.lru_cache(maxsize=None)(train)

    def draw(learning_rate, weight_scale):
        loss = cached(learning_rate, weight_scale).loss_history
        _, ax = plt.subplots(figsize=(6, 3))
        ax.plot(loss, linewidth=0.8)
        ax.set(xlabel="iteration", ylabel="training loss", ylim=(0, 5),
               title=f"learning_rate={learning_rate:g}, weight_scale={weight_scale:g}")
        plt.show()

    return ipywidgets.interactive(
        draw,
        learning_rate=ipywidgets.SelectionSlider(options=list(learning_rates), value=learning_rates[len(learning_rates) // 2],
                                                 description="learning rate"),
        weight_scale=ipywidgets.SelectionSlider(options=list(weight_scales), value=weight_scales[len(weight_scales) // 2],
                                                description="weight scale"),
    )
