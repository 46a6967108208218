"""Every chapter's final model, measured on the same test rows, and how the Results page and the
challenge's leaderboard show them.

A notebook calls :func:`record` once per finished model. The measurement is stored in the
metadata of that output under its own key (:data:`RESULT_MIME`), from which the book's tools
read it back without running anything; the page shows only its summary line. Training time
varies run to run, so the cell that calls ``record`` carries the ``nbval-ignore-output`` tag.

Each record says whose model it is (:data:`WHOSE`): the book's (every chapter's model and the
challenge's baseline) or yours (an entry you submit to the challenge of notebook 08), and which
data it trained and was tested on (``CIFAR_LESSONS_DATA``: the lesson subset or all of CIFAR-10).
Models of different data are never ranked together: :func:`by_data` separates them.
"""

import json
import os
import platform
from pathlib import Path

import numpy as np

from cifar_lessons.course.tables import markdown_table
from cifar_lessons.data.release import TRAIN_BATCHES
from cifar_lessons.data.subset import SUBSETS, chosen_subset

RESULT_MIME = "application/vnd.cifar-lessons.result+json"
WHOSE = ("book", "yours")


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


def record(model, test_accuracy, train_seconds, parameters, device=None, whose="book", data=None):
    """Show ``model``'s test accuracy, training time and size, embed them for :func:`collect`, return them.

    ``device`` is the ``torch.device`` it trained on, if any; the result names that machine.
    ``whose`` is one of :data:`WHOSE`: ``"yours"`` for a challenge entry of your own. ``data``
    is the subset it trained on (default: :func:`~cifar_lessons.data.chosen_subset`).
    """
    from IPython.display import display

    if whose not in WHOSE:
        raise ValueError(f"whose must be one of {WHOSE}, got {whose!r}")
    data = chosen_subset() if data is None else data
    if data not in SUBSETS:
        raise ValueError(f"data must be one of {sorted(SUBSETS)}, got {data!r}")
    result = {
        "model": model,
        "test_accuracy": round(float(test_accuracy), 4),
        "train_seconds": round(float(train_seconds), 1),
        "parameters": int(parameters),
        "machine": machine(device),
        "whose": whose,
        "data": data,
    }
    summary = (
        f"{model}\n  test accuracy {result['test_accuracy']:.1%}, trained in "
        f"{result['train_seconds']:.0f} s, {result['parameters']:,} parameters"
    )
    display({"text/plain": summary}, metadata={RESULT_MIME: result}, raw=True)
    return result


def collect(book_dir, whose=None):
    """Every result recorded in the stored outputs of the notebooks in ``book_dir``, in notebook
    order; ``whose`` (one of :data:`WHOSE`) keeps only the book's models or only yours."""
    if whose is not None and whose not in WHOSE:
        raise ValueError(f"whose must be None or one of {WHOSE}, got {whose!r}")
    results = []
    for notebook in sorted(Path(book_dir).glob("*.ipynb")):
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            for output in cell.get("outputs", []):
                if RESULT_MIME in output.get("metadata", {}):
                    result = dict(output["metadata"][RESULT_MIME], notebook=notebook.name)
                    if whose in (None, result["whose"]):
                        results.append(result)
    return results


def leaderboard(saved, session, notebook):
    """The challenge's leaderboard rows: ``saved`` (from :func:`collect`)
    with the records of ``notebook`` replaced by ``session``, the records this run of it made.

    The saved copy of the notebook that is running holds its last run's records, which this run
    replaces as it goes; so its entries are taken from this run, and every other notebook's from
    its stored outputs. Rank the rows with ``table(rows, ranked=True)``.
    """
    return [r for r in saved if r["notebook"] != notebook] + [dict(r, notebook=notebook) for r in session]


def data_heading(subset):
    """A heading naming ``subset`` and its sizes, e.g. for a table of its results."""
    train_rows, test_rows = SUBSETS[subset]
    name = "The lesson subset" if subset == "lesson" else "All of CIFAR-10"
    return f"{name}: {len(TRAIN_BATCHES) * train_rows:,} training and {test_rows:,} test images"


def tables_by_data(results, ranked=False):
    """One :func:`table` per data the ``results`` were measured on, each under its heading (Markdown)."""
    sections = by_data(results)
    if not sections:
        return table([], ranked)
    return "\n\n".join(f"#### {data_heading(subset)}\n\n{table(rows, ranked)}" for subset, rows in sections.items())


def by_data(results):
    """``results`` split by the data they were measured on: ``{subset: [results]}``, in
    :data:`~cifar_lessons.data.SUBSETS` order, only the subsets that have results."""
    return {subset: rows for subset in SUBSETS if (rows := [r for r in results if r["data"] == subset])}


def ranks(accuracies):
    """Competition ranks of ``accuracies`` (highest first): equal accuracies share a rank, and
    the next rank skips as many places (0.7, 0.6, 0.6, 0.5 -> 1, 2, 2, 4)."""
    return [1 + sum(other > accuracy for other in accuracies) for accuracy in accuracies]


def table(results, ranked=False):
    """``results`` (from :func:`collect`) as a Markdown table, one row per model.

    ``ranked``: the leaderboard, best test accuracy first, with each model's rank and whose it
    is (ties share a rank and keep their order). When every model trained on the same machine,
    that machine is named once, under the table, rather than in a column of its own (a long
    processor name would widen every row).
    """
    if not results:
        return "No model has been scored on the test split yet." if ranked else "No chapter has recorded a result yet."
    if len(by_data(results)) > 1:
        raise ValueError(
            "these results were measured on different data (the lesson subset and all of CIFAR-10): "
            "tabulate each subset's on its own, e.g. `for subset, rows in by_data(results).items()`"
        )
    if ranked:
        results = sorted(results, key=lambda r: -r["test_accuracy"])  # stable: ties keep their order
    places = ranks([r["test_accuracy"] for r in results])
    machines = {r["machine"] for r in results}
    rows = [
        {
            "Rank": place,
            "Model": r["model"],
            "Whose": r["whose"],
            "Notebook": Path(r["notebook"]).stem.split("_")[0],  # its number: a long name cannot wrap
            "Test accuracy": f"{r['test_accuracy']:.1%}",
            "Training time": f"{r['train_seconds']:.0f} s",
            "Parameters": f"{r['parameters']:,}",
            "Trained on": r["machine"],
        }
        for place, r in zip(places, results)
    ]
    columns = [column for column in rows[0] if ranked or column not in ("Rank", "Whose")]
    numbers = ["Rank", "Test accuracy", "Training time", "Parameters"]
    if len(machines) > 1:
        return markdown_table(rows, columns, right=numbers)
    return markdown_table(rows, columns[:-1], right=numbers) + f"\n\nEvery model trained on: {machines.pop()}."


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
