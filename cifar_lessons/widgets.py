"""Interactive demos. Imports ipywidgets and matplotlib, so the package does not import this module."""
import ipywidgets as widgets
import matplotlib.pyplot as plt

from cifar_lessons import plots


def keep_ratio_explorer(runs):
    """A slider over the keep ratios of ``runs`` (keep ratio -> trained Solver) that draws the
    chosen run's training and validation accuracy and the gap between them."""
    ratios = sorted(runs, reverse=True)

    def show(keep_ratio):
        run = plots.accuracy_gap(runs[keep_ratio], title=f"dropout keep ratio p = {keep_ratio:g}")
        gap = runs[keep_ratio].train_acc_history[-1] - runs[keep_ratio].val_acc_history[-1]
        run.text(0.98, 0.04, f"final gap {gap:.1%}", transform=run.transAxes, ha="right")
        plt.show()

    slider = widgets.SelectionSlider(options=ratios, value=ratios[0], description="keep ratio",
                                     continuous_update=False)
    return widgets.interact(show, keep_ratio=slider)
