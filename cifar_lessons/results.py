"""Every chapter's final model, measured on the same test rows, and how the Results page shows them.

A notebook calls :func:`record` once per finished model. The measurement is stored in the
metadata of that output under its own key (:data:`RESULT_MIME`), from which the book's tools
read it back without running anything; the page shows only its summary line. Training time
varies run to run, so the cell that calls ``record`` carries the ``nbval-ignore-output`` tag.
"""

import os
import platform
from pathlib import Path

import numpy as np

from cifar_lessons.tables import markdown_table

RESULT_MIME = "application/vnd.cifar-lessons.result+json"


def machine(device=None):
    """Where a model trained: the GPU's name for a CUDA ``device``, else the CPU's and its cores."""
    if device is not None and str(device).startswith("cuda"):
        import torch

        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            cpu = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores"


def record(model, test_accuracy, train_seconds, parameters, device=None):
    """Show ``model``'s test accuracy, training time and size, embed them for :func:`collect`, return them.

    ``device`` is the ``torch.device`` it trained on, if any; the result names that machine.
    """
    from IPython.display import display

    result = {
        "model": model,
        "test_accuracy": round(float(test_accuracy), 4),
        "train_seconds": round(float(train_seconds), 1),
        "parameters": int(parameters),
        "machine": machine(device),
    }
    summary = (
        f"{model}\n  test accuracy {result['test_accuracy']:.1%}, trained in "
        f"{result['train_seconds']:.0f} s, {result['parameters']:,} parameters"
    )
    display({"text/plain": summary}, metadata={RESULT_MIME: result}, raw=True)
    return result


def table(results):
    """``results`` (from :func:`~book_tools.results_page.collect`) as a Markdown table, one row per model.

    When every model trained on the same machine, that machine is named once, under the table,
    rather than in a column of its own (a long processor name would widen every row).
    """
    if not results:
        return "No chapter has recorded a result yet."
    machines = {r.get("machine", "not recorded") for r in results}
    rows = [
        {
            "Model": r["model"],
            "Notebook": Path(r["notebook"]).stem.split("_")[0],  # its number: a long name cannot wrap
            "Test accuracy": f"{r['test_accuracy']:.1%}",
            "Training time": f"{r['train_seconds']:.0f} s",
            "Parameters": f"{r['parameters']:,}",
            "Trained on": r.get("machine", "not recorded"),
        }
        for r in results
    ]
    numbers = ["Test accuracy", "Training time", "Parameters"]
    if len(machines) > 1:
        return markdown_table(rows, right=numbers)
    return (
        markdown_table(rows, columns=list(rows[0])[:-1], right=numbers)
        + f"\n\nEvery model trained on: {machines.pop()}."
    )


def plot(results):
    """Test accuracy against training time (log scale), one labelled point per model. Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogLocator

    fig, ax = plt.subplots(figsize=(7, 4.5))
    points = [(max(r["train_seconds"], 0.1), 100 * r["test_accuracy"], r) for r in results]
    for x, y, _ in points:
        ax.scatter(x, y, s=40)
    ax.set_xscale("log")
    # 1-2-5 ticks: a range of times within one decade still gets labelled ticks.
    ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    ax.xaxis.set_major_formatter(lambda seconds, _: f"{seconds:g}")
    ax.xaxis.set_minor_formatter(lambda seconds, _: "")
    ax.margins(x=0.25, y=0.15)
    middle = np.sqrt(np.prod(ax.get_xlim()))
    for x, y, result in points:  # labels point inwards, so none runs off the plot
        ax.annotate(
            f"{result['model']}\n({result['parameters']:,} parameters)",
            (x, y),
            textcoords="offset points",
            xytext=(6 if x < middle else -6, 4),
            ha="left" if x < middle else "right",
            fontsize=8,
        )
    ax.set_xlabel("training time (s, log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig
