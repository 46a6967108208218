"""Pictures the chapters share. Imports matplotlib, so the package does not import this module."""
import matplotlib.pyplot as plt
import numpy as np


def to_image(x):
    """One CHW image (any float range) -> HWC array in [0, 1] that imshow draws as it is."""
    x = np.asarray(x, dtype=np.float64).transpose(1, 2, 0)
    low, high = x.min(), x.max()
    return (x - low) / (high - low) if high > low else np.zeros_like(x)


def image_grid(X, labels=None, class_names=None, ncols=10, size=1.2, titles=None):
    """Draw NCHW images in a grid, each titled by its class name (or by ``titles``). Returns the figure."""
    n = len(X)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * (size + 0.25)), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= n:
            continue
        ax.imshow(to_image(X[index]), interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[index], fontsize=8)
        elif labels is not None:
            ax.set_title(class_names[labels[index]] if class_names else str(labels[index]), fontsize=8)
    fig.tight_layout()
    return fig


def class_examples(X, y, class_names, per_class=8, size=1.0):
    """One row per class: the first ``per_class`` images of each, the class name at the left."""
    fig, axes = plt.subplots(len(class_names), per_class, figsize=(per_class * size, len(class_names) * size),
                             squeeze=False)
    for label, name in enumerate(class_names):
        for column, index in enumerate(np.flatnonzero(y == label)[:per_class]):
            ax = axes[label, column]
            ax.imshow(to_image(X[index]), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if column == 0:
                ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
        for ax in axes[label, column + 1:]:
            ax.axis("off")
        for spine in ("top", "right", "bottom", "left"):
            for ax in axes[label]:
                ax.spines[spine].set_visible(False)
    fig.tight_layout()
    return fig


def confusion_matrix_plot(confusion, class_names, ax=None):
    """Heat map of a (K, K) confusion matrix, true classes down, predictions across, counts written in."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5.5))
    ax.imshow(confusion, cmap="Blues")
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = confusion.max() / 2
    for (row, column), count in np.ndenumerate(confusion):
        ax.text(column, row, int(count), ha="center", va="center", fontsize=7,
                color="white" if count > threshold else "black")
    return ax


def training_curves(histories, title=None):
    """Loss, training and validation accuracy of several runs side by side.

    ``histories`` maps a label to anything with ``loss_history``, ``train_acc_history`` and
    ``val_acc_history`` (a trained Solver). Returns the figure.
    """
    fig, (loss_ax, train_ax, val_ax) = plt.subplots(1, 3, figsize=(13, 3.6))
    for label, run in histories.items():
        loss_ax.plot(run.loss_history, lw=0.6, alpha=0.8, label=label)
        train_ax.plot(run.train_acc_history, "-o", ms=3, label=label)
        val_ax.plot(run.val_acc_history, "-o", ms=3, label=label)
    loss_ax.set(title="training loss", xlabel="iteration")
    train_ax.set(title="training accuracy", xlabel="epoch")
    val_ax.set(title="validation accuracy", xlabel="epoch")
    val_ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def sweep_plot(values, series, xlabel, ylabel="validation accuracy", logx=False, ax=None, **line_style):
    """One line per entry of ``series`` (label -> y values, one per entry of ``values``). Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.8))
    for label, ys in series.items():
        ax.plot(values, ys, "-o", ms=4, label=label, **line_style)
    if logx:
        ax.set_xscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def map_grid(maps, titles=None, ncols=6, size=1.8, cmap="gray"):
    """Draw 2-D arrays (feature maps, filter responses) in a grid, each scaled to its own range.

    ``maps``: a sequence of (H, W) arrays. Returns the figure.
    """
    nrows = -(-len(maps) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * (size + 0.3)), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < len(maps):
            ax.imshow(maps[index], cmap=cmap, interpolation="nearest")
            if titles is not None:
                ax.set_title(titles[index], fontsize=8)
    fig.tight_layout()
    return fig


def timing_bars(seconds, title=None, ax=None):
    """Horizontal bars of run times (label -> seconds) on a log axis, each labelled in ms. Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * len(seconds)))
    labels, values = list(seconds), [seconds[label] * 1e3 for label in seconds]
    ax.barh(labels, values, color=[f"C{i}" for i in range(len(values))])
    ax.set_xscale("log")
    ax.invert_yaxis()
    for row, value in enumerate(values):
        ax.text(value, row, f" {value:.3g} ms", va="center", fontsize=8)
    ax.set_xlabel("milliseconds (log scale)")
    ax.set_xlim(right=max(values) * 8)
    if title:
        ax.set_title(title)
    return ax
