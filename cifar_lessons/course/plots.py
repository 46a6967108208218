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
    fig, axes = plt.subplots(
        len(class_names), per_class, figsize=(per_class * size, len(class_names) * size), squeeze=False
    )
    for label, name in enumerate(class_names):
        for column, index in enumerate(np.flatnonzero(y == label)[:per_class]):
            ax = axes[label, column]
            ax.imshow(to_image(X[index]), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if column == 0:
                ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
        for ax in axes[label, column + 1 :]:
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
        ax.text(
            column,
            row,
            int(count),
            ha="center",
            va="center",
            fontsize=7,
            color="white" if count > threshold else "black",
        )
    return ax


# ---------------------------------------------------------------------------------------------
# Chapter 1: graphs, training curves, searches


def computational_graph(nodes, edges, ax=None):
    """Draw a small computational graph, each edge labelled with its forward value and gradient.

    ``nodes`` maps a name to ``(x, y, text)``; ``edges`` lists ``(from, to, value, gradient)``:
    the value is written above the arrow (green), the gradient below it (red).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3))
    for start, end, value, gradient in edges:
        (x0, y0, _), (x1, y1, _) = nodes[start], nodes[end]
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={"arrowstyle": "->", "shrinkA": 18, "shrinkB": 18, "color": "0.4"},
        )
        xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
        ax.text(xm, ym + 0.12, f"{value:g}", color="green", ha="center", fontsize=11)
        ax.text(xm, ym - 0.2, f"{gradient:g}", color="red", ha="center", fontsize=11)
    for x, y, text in nodes.values():
        ax.text(
            x,
            y,
            text,
            ha="center",
            va="center",
            fontsize=12,
            bbox={"boxstyle": "circle", "facecolor": "white", "edgecolor": "0.3"},
        )
    xs, ys = [n[0] for n in nodes.values()], [n[1] for n in nodes.values()]
    ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.axis("off")
    return ax


def _curves(run):
    """(loss steps, losses, epochs, validation accuracy, training accuracy or None) of a run: a
    Solver (loss per iteration, accuracies from epoch 0) or a PyTorch training history (one dict
    per epoch with ``train_loss`` and ``val_accuracy``, or a result holding it as ``history``)."""
    if hasattr(run, "loss_history"):
        return (
            np.arange(1, len(run.loss_history) + 1),
            np.asarray(run.loss_history),
            np.arange(len(run.val_acc_history)),
            run.val_acc_history,
            run.train_acc_history,
        )
    history = getattr(run, "history", run)
    epochs = np.array([row["epoch"] for row in history])
    return (
        epochs,
        np.array([row["train_loss"] for row in history]),
        epochs,
        [row["val_accuracy"] for row in history],
        None,
    )


def training_curves(runs, smooth=10, title=None):
    """Training loss (moving average over ``smooth`` points) and validation accuracy (solid;
    training accuracy dashed, where recorded) for every ``label -> run`` in ``runs``, side by
    side, under an optional ``title``. A run is a Solver or a PyTorch training history (see
    :func:`_curves`). Returns the figure."""
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 3.8))
    for label, run in runs.items():
        steps, loss, epochs, val, train = _curves(run)
        window = max(1, min(smooth, len(loss)))
        averaged = np.convolve(loss, np.ones(window) / window, mode="valid")
        (line,) = loss_ax.plot(steps[window - 1 :], averaged, label=label)
        acc_ax.plot(epochs, val, "-o", color=line.get_color(), markersize=3, label=f"{label} val")
        if train is not None:
            acc_ax.plot(epochs, train, "--", color=line.get_color(), alpha=0.6)
    loss_ax.set(
        xlabel="iteration" if hasattr(next(iter(runs.values())), "loss_history") else "epoch",
        ylabel="training loss",
        title="loss (moving average)",
    )
    acc_ax.set(xlabel="epoch", ylabel="accuracy", title="validation (solid) and training (dashed) accuracy")
    loss_ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def search_heatmap(rows, x, y, value="val_acc", ax=None):
    """Heat map of ``value`` over a grid search's ``rows`` (list of dicts), ``x`` across, ``y`` down."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    xs, ys = sorted({row[x] for row in rows}), sorted({row[y] for row in rows})
    grid = np.full((len(ys), len(xs)), np.nan)
    for row in rows:
        grid[ys.index(row[y]), xs.index(row[x])] = row[value]
    image = ax.imshow(grid, cmap="viridis")
    ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs])
    ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys])
    ax.set(xlabel=x, ylabel=y, title=f"{value} by {x} and {y}")
    for (i, j), v in np.ndenumerate(grid):
        ax.text(j, i, f"{v:.3f}", ha="center", va="center", color="white" if v < np.nanmean(grid) else "black")
    ax.figure.colorbar(image, ax=ax)
    return ax


def loss_curve_grid(runs, row_name, column_name, ylim=(0, 5)):
    """One small loss curve per ``(row_value, column_value) -> loss history`` in ``runs``, laid out
    as a grid with ``row_name`` down and ``column_name`` across, all on the same y axis
    (``ylim``, so that a diverging run shows as a curve leaving the top)."""
    rows, columns = sorted({r for r, _ in runs}), sorted({c for _, c in runs})
    fig, axes = plt.subplots(
        len(rows), len(columns), figsize=(3 * len(columns), 2.2 * len(rows)), sharex=True, sharey=True, squeeze=False
    )
    for (r, c), loss in runs.items():
        ax = axes[rows.index(r), columns.index(c)]
        ax.plot(loss, linewidth=0.8)
        ax.set_title(f"{row_name}={r:g}, {column_name}={c:g}", fontsize=8)
    axes[0, 0].set_ylim(*ylim)
    for ax in axes[-1]:
        ax.set_xlabel("iteration")
    for ax in axes[:, 0]:
        ax.set_ylabel("loss")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Chapter 2: sweeps, the overfitting gap


def sweep_plot(values, series, xlabel, ylabel="validation accuracy", logx=False, ax=None, **line_style):
    """One line per entry of ``series`` (label -> y values, one per entry of ``values``).

    A series given over seeds, shape ``(seeds, len(values))``, is drawn as its mean with error
    bars of one standard deviation. Returns the axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.8))
    for label, ys in series.items():
        ys = np.asarray(ys, dtype=np.float64)
        if ys.ndim == 2:
            ax.errorbar(
                values,
                ys.mean(axis=0),
                yerr=ys.std(axis=0, ddof=1),
                fmt="-o",
                ms=4,
                capsize=3,
                label=f"{label} (mean ± sd, {len(ys)} seeds)",
                **line_style,
            )
        else:
            ax.plot(values, ys, "-o", ms=4, label=label, **line_style)
    if logx:
        ax.set_xscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def seed_bars(runs, xlabel="validation accuracy", ax=None):
    """One horizontal bar per entry of ``runs`` (label -> one value per seed): the mean, an error
    bar of one standard deviation (where there are several seeds), and every seed's value as a
    dot. Returns the axes."""
    labels = list(runs)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.45 * len(labels) + 1.0))
    positions = np.arange(len(labels))[::-1]
    for position, label in zip(positions, labels):
        values = np.asarray(runs[label], dtype=np.float64)
        spread = values.std(ddof=1) if len(values) > 1 else None  # one seed has no spread to show
        ax.barh(position, values.mean(), xerr=spread, color="C0", alpha=0.35, capsize=3)
        ax.plot(values, np.full(len(values), position), "o", color="C0", ms=3)
    ax.set_yticks(positions, labels)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    return ax


def accuracy_gap(run, ax=None, title=None):
    """Training and validation accuracy of one run per epoch, the overfitting gap between them shaded."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    epochs = np.arange(len(run.train_acc_history))
    ax.plot(epochs, run.train_acc_history, "-", color="C0", label="training")
    ax.plot(epochs, run.val_acc_history, "-", color="C1", label="validation")
    ax.fill_between(epochs, run.val_acc_history, run.train_acc_history, color="C3", alpha=0.15, label="gap")
    ax.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02), title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return ax


def keep_ratio_summary(runs):
    """For ``runs`` (dropout keep ratio -> trained Solver): every run's accuracy curves, and the
    final training and validation accuracy against the keep ratio. Returns the figure."""
    ratios = sorted(runs, reverse=True)
    fig, axes = plt.subplots(1, len(ratios) + 1, figsize=(3.1 * (len(ratios) + 1), 3.2))
    for ratio, ax in zip(ratios, axes):
        accuracy_gap(runs[ratio], ax=ax, title=f"keep ratio {ratio:g}")
        if ax is not axes[0]:
            ax.set_ylabel("")
            ax.get_legend().remove()
    final = {
        "training": [runs[r].train_acc_history[-1] for r in ratios],
        "validation": [runs[r].val_acc_history[-1] for r in ratios],
    }
    summary = sweep_plot(ratios, final, xlabel="keep ratio p", ylabel="final accuracy", ax=axes[-1])
    summary.fill_between(ratios, final["validation"], final["training"], color="C3", alpha=0.15)
    summary.set(ylim=(0, 1.02), title="the gap against p")
    summary.invert_xaxis()
    fig.tight_layout()
    return fig


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


def time_breakdown(phases, reference, roof=None, title=None, ax=None):
    """Where each method's time goes: ``phases`` is {method: {phase: seconds}}, drawn as one stacked
    horizontal bar per method, a colour per phase, and labelled with the method's total time as a
    multiple of ``reference``'s. ``roof`` = (label, seconds) draws it as a dashed line. Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 0.9 + 0.5 * len(phases)))
    colors = {}
    for row, parts in enumerate(phases.values()):
        left = 0.0
        for name, seconds in parts.items():
            first = name not in colors  # each phase in the legend once
            color = colors.setdefault(name, f"C{len(colors)}")
            ax.barh(row, seconds * 1e3, left=left, color=color, label=name if first else None)
            left += seconds * 1e3
        ax.text(left, row, f" {left / (sum(phases[reference].values()) * 1e3):.2f}x", va="center", fontsize=8)
    ax.set_yticks(range(len(phases)), list(phases))
    ax.invert_yaxis()
    if roof:
        ax.axvline(roof[1] * 1e3, color="k", linestyle="--", linewidth=1, label=roof[0])
    ax.set_xlabel(f"milliseconds (labels: time as a multiple of {reference}'s)")
    ax.set_xlim(right=ax.get_xlim()[1] * 1.12)
    ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title)
    return ax


def color_channels(image, title):
    """One CHW image (pixel values 0..255) in colour, then its red, green and blue channels. Returns the figure."""
    fig, axes = plt.subplots(1, 4, figsize=(9, 2.4))
    axes[0].imshow(to_image(image))
    axes[0].set_title(title)
    for ax, channel, name in zip(axes[1:], image, ("red", "green", "blue")):
        ax.imshow(channel, cmap=f"{name.capitalize()}s", vmin=0, vmax=255)
        ax.set_title(f"{name} channel")
    for ax in axes:
        ax.axis("off")
    return fig


def class_balance(counts, class_names):
    """Bars of each class's share of every split (split name -> counts per class), chance level dashed."""
    fig, ax = plt.subplots(figsize=(9, 3))
    positions, width = np.arange(len(class_names)), 0.8 / len(counts)
    for offset, (split, count) in enumerate(counts.items()):
        ax.bar(positions + (offset - (len(counts) - 1) / 2) * width, count / count.sum(), width=width, label=split)
    ax.axhline(1 / len(class_names), color="k", lw=0.8, ls="--")
    ax.set_xticks(positions, class_names, rotation=30)
    ax.set_ylabel("fraction of split")
    ax.legend()
    return fig


def pixel_histograms(versions, bins=60):
    """One histogram of all pixel values per entry of ``versions`` (name -> images), side by side."""
    fig, axes = plt.subplots(1, len(versions), figsize=(3.4 * len(versions), 2.6), sharey=True, squeeze=False)
    for ax, (name, images) in zip(axes[0], versions.items()):
        ax.hist(np.ravel(images), bins=bins, color="gray")
        ax.set_title(name)
        ax.set_xlabel("pixel value")
    return fig


def speedup_plot(sizes, slow, fast, labels=("Python loops", "vectorized"), xlabel="batch size N", title=None):
    """Run times of two versions of one computation against a size (log-log), and the ratio. Returns the figure."""
    fig, (time_ax, ratio_ax) = plt.subplots(1, 2, figsize=(10, 3.5))
    time_ax.loglog(sizes, slow, "o-", label=labels[0])
    time_ax.loglog(sizes, fast, "o-", label=labels[1])
    time_ax.set(xlabel=xlabel, ylabel="seconds", title=title)
    time_ax.legend()
    ratio_ax.semilogx(sizes, np.asarray(slow) / np.asarray(fast), "o-", color="C2")
    ratio_ax.set(xlabel=xlabel, ylabel="speedup (×)", title=f"{labels[1]} / {labels[0]}", ylim=(0, None))
    for ax in (time_ax, ratio_ax):
        ax.set_xticks(sizes, [str(size) for size in sizes])
        ax.minorticks_off()
    fig.tight_layout()
    return fig


def matrices(named, cmap="RdBu_r"):
    """Heat maps of square matrices (title -> matrix) side by side, each on a colour scale symmetric
    about 0, with its colour bar. Returns the figure."""
    fig, axes = plt.subplots(1, len(named), figsize=(4.5 * len(named), 3.6), layout="constrained", squeeze=False)
    for ax, (title, matrix) in zip(axes[0], named.items()):
        matrix = np.asarray(matrix)
        limit = np.abs(matrix).max()
        image = ax.imshow(matrix, cmap=cmap, vmin=-limit, vmax=limit)
        ax.set_title(title)
        fig.colorbar(image, ax=ax, fraction=0.046)
    return fig


def tensor_grid(images, nrow=8, title=None, figsize=(8, 4.4), **make_grid_options):
    """Images (n, c, h, w), a PyTorch tensor, in one grid drawn by ``torchvision.utils.make_grid``,
    each image scaled to its own range. Returns the figure."""
    import torchvision

    grid = torchvision.utils.make_grid(
        images.detach().cpu(), nrow=nrow, normalize=True, scale_each=True, **{"padding": 1, **make_grid_options}
    )
    fig, ax = plt.subplots(figsize=figsize)
    ax.imshow(grid.permute(1, 2, 0).numpy())
    ax.axis("off")
    if title:
        ax.set_title(title)
    return fig
