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

A book model's record also holds what makes it comparable with the others: its ``budget`` (what
it trained on, and for how long), its ``validation`` accuracy from every seed of
:data:`~cifar_lessons.course.experiments.SEEDS`, and which test images it got right
(``test_correct``). Two models are compared on validation seed by seed
(:func:`~cifar_lessons.course.experiments.paired_difference`) and on the test images image by
image (:func:`test_difference`): both saw the same images, so their image-to-image noise is
shared and cancels in the difference.
"""

import json
import math
import os
import platform
from pathlib import Path

import numpy as np

from cifar_lessons.course.experiments import SEEDS, Difference, paired_difference
from cifar_lessons.course.tables import markdown_table
from cifar_lessons.data.release import TRAIN_BATCHES
from cifar_lessons.data.subset import SUBSETS, VALIDATION_ROWS, chosen_subset
from cifar_lessons.lessons import LESSONS

RESULT_MIME = "application/vnd.cifar-lessons.result+json"
WHOSE = ("book", "yours")
Z95 = 1.959964  # the standard normal's two-sided 95% quantile


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


def record(
    model,
    test_accuracy=None,
    train_seconds=None,
    parameters=None,
    device=None,
    whose="book",
    data=None,
    *,
    test_correct=None,
    validation=None,
    budget=None,
):
    """Show ``model``'s test accuracy, training time and size, embed them for :func:`collect`, return them.

    ``test_correct`` (one bool per test image: did the model classify it right) gives the test
    accuracy and lets :func:`test_difference` pair two models image by image; ``test_accuracy``
    alone is enough for a challenge entry. A book model (``whose="book"``) also gives its
    ``validation`` accuracy over every seed of :data:`~cifar_lessons.course.experiments.SEEDS`
    and its ``budget``, a short text of what it trained on and for how long. ``device`` is the
    ``torch.device`` it trained on, if any; the result names that machine. ``whose`` is one of
    :data:`WHOSE`: ``"yours"`` for a challenge entry of your own. ``data`` is the subset it
    trained on (default: :func:`~cifar_lessons.data.chosen_subset`).
    """
    from IPython.display import display

    if whose not in WHOSE:
        raise ValueError(f"whose must be one of {WHOSE}, got {whose!r}")
    data = chosen_subset() if data is None else data
    if data not in SUBSETS:
        raise ValueError(f"data must be one of {sorted(SUBSETS)}, got {data!r}")
    if train_seconds is None or parameters is None:
        raise ValueError("record needs the model's train_seconds and its number of parameters")
    if test_correct is not None:
        test_correct = np.asarray(test_correct)
        if test_correct.ndim != 1 or test_correct.dtype != bool or not len(test_correct):
            raise ValueError(
                f"test_correct holds one bool per test image, e.g. predictions == y_test; got {test_correct.dtype} "
                f"of shape {test_correct.shape}"
            )
        if test_accuracy is not None and abs(test_accuracy - test_correct.mean()) > 1e-6:
            raise ValueError(
                f"test_accuracy {test_accuracy} is not the share of test_correct that is True ({test_correct.mean()})"
            )
        test_accuracy = test_correct.mean()
    if test_accuracy is None:
        raise ValueError("record needs the test score: test_correct (one bool per test image) or test_accuracy")
    if whose == "book":
        if test_correct is None or validation is None or not budget:
            raise ValueError(
                "a book model is recorded with what compares it with the others: test_correct (one bool per test "
                f"image), validation (its accuracy from each of the seeds {list(SEEDS)}) and budget (what it trained "
                "on, and for how long)"
            )
        if len(validation) != len(SEEDS):
            raise ValueError(f"validation holds one accuracy per seed of {list(SEEDS)}, got {len(validation)}")
    result = {
        "model": model,
        "test_accuracy": round(float(test_accuracy), 4),
        "train_seconds": round(float(train_seconds), 1),
        "parameters": int(parameters),
        "machine": machine(device),
        "whose": whose,
        "data": data,
    }
    if test_correct is not None:
        result["test_correct"] = "".join("1" if right else "0" for right in test_correct)
    if validation is not None:
        result["validation"] = [round(float(accuracy), 4) for accuracy in validation]
    if budget:
        result["budget"] = str(budget)
    summary = (
        f"{model}\n  test accuracy {result['test_accuracy']:.1%}, trained in "
        f"{result['train_seconds']:.0f} s, {result['parameters']:,} parameters"
    )
    if validation is not None:
        summary += f"\n  validation {mean_sd_text(result['validation'])} over seeds {list(SEEDS)}; budget: {budget}"
    display({"text/plain": summary}, metadata={RESULT_MIME: result}, raw=True)
    return result


def mean_sd_text(values):
    """Accuracies over seeds as ``"mean% ± sd"``."""
    values = np.asarray(values, dtype=np.float64)
    return f"{values.mean():.1%} ± {100 * values.std(ddof=1):.1f}"


def binomial_error(accuracy, images):
    """The half-width of the 95% interval of an accuracy measured on ``images`` independent test
    images (normal approximation of the binomial): about 4.4 points at 50% on 500 images."""
    if images < 1:
        raise ValueError(f"an accuracy needs at least one image, got {images}")
    return Z95 * math.sqrt(accuracy * (1 - accuracy) / images)


def correct_bits(result):
    """``result``'s test_correct as a bool array."""
    return np.frombuffer(result["test_correct"].encode("ascii"), dtype=np.uint8) == ord("1")


def test_difference(first, second):
    """How the test accuracies of two recorded models differ, image by image.

    Both classified the same test images, so the difference is a mean over those images of
    (first right) - (second right); its 95% interval is the normal approximation over the
    images, and it is ``"clear"`` when that interval excludes zero (else ``"within the noise"``).
    Returns a :class:`~cifar_lessons.course.experiments.Difference` whose ``sd`` is that of the
    per-image differences.
    """
    a, b = correct_bits(first), correct_bits(second)
    if a.shape != b.shape:
        raise ValueError(
            f"{first['model']!r} and {second['model']!r} were tested on different numbers of images "
            f"({len(a)} and {len(b)})"
        )
    per_image = a.astype(np.float64) - b
    mean, sd = float(per_image.mean()), float(per_image.std(ddof=1))
    half_width = Z95 * sd / math.sqrt(len(per_image))
    verdict = "clear" if abs(mean) > half_width else "within the noise"
    return Difference(mean, sd, mean - half_width, mean + half_width, verdict)


def validation_difference(first, second):
    """:func:`~cifar_lessons.course.experiments.paired_difference` of two records' validation
    accuracies, seed by seed."""
    return paired_difference(first["validation"], second["validation"])


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


def chapters_not_recorded(results):
    """The notebooks of the chapters that train a final model (those with an accuracy bar) and
    have no record among ``results``: in a learner's folder, the chapters not yet run there."""
    recorded = {r["notebook"] for r in results}
    return [
        f"{lesson.notebook}.ipynb" for lesson in LESSONS if lesson.bars and f"{lesson.notebook}.ipynb" not in recorded
    ]


def data_heading(subset):
    """A heading naming ``subset`` and the sizes of its splits as the models use them, e.g. for a
    table of its results."""
    train_rows, test_rows = SUBSETS[subset]
    validation_rows = VALIDATION_ROWS[subset]
    name = "The lesson subset" if subset == "lesson" else "All of CIFAR-10"
    return (
        f"{name}: {len(TRAIN_BATCHES) * train_rows - validation_rows:,} training, "
        f"{validation_rows:,} validation and {test_rows:,} test images"
    )


def tables_by_data(results, ranked=False, summarized=False):
    """One :func:`table` per data the ``results`` were measured on, each under its heading
    (Markdown); ``summarized``: with its :func:`takeaway` between the heading and the table."""
    sections = by_data(results)
    if not sections:
        return table([], ranked)
    return "\n\n".join(
        f"#### {data_heading(subset)}\n\n" + (f"{takeaway(rows)}\n\n" if summarized else "") + table(rows, ranked)
        for subset, rows in sections.items()
    )


def by_data(results):
    """``results`` split by the data they were measured on: ``{subset: [results]}``, in
    :data:`~cifar_lessons.data.SUBSETS` order, only the subsets that have results."""
    return {subset: rows for subset in SUBSETS if (rows := [r for r in results if r["data"] == subset])}


def ranks(accuracies):
    """Competition ranks of ``accuracies`` (highest first): equal accuracies share a rank, and
    the next rank skips as many places (0.7, 0.6, 0.6, 0.5 -> 1, 2, 2, 4)."""
    return [1 + sum(other > accuracy for other in accuracies) for accuracy in accuracies]


def test_images(result):
    """How many test images ``result``'s accuracy was measured on."""
    if "test_correct" in result:
        return len(result["test_correct"])
    return SUBSETS[result["data"]][1]


def table(results, ranked=False):
    """``results`` (from :func:`collect`) as a Markdown table, one row per model.

    Each test accuracy carries its 95% binomial error (:func:`binomial_error`); models recorded
    with a budget and seeds show them, and their validation accuracy over the seeds. ``ranked``:
    the leaderboard, best test accuracy first, with each model's rank and whose it is (ties
    share a rank and keep their order). When every model trained on the same machine, that
    machine is named once, under the table, rather than in a column of its own (a long
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
            # the leaderboard's notebook has a column of its own; elsewhere it follows the model, so
            # that the table fits the page
            "Model": r["model"] if ranked or not notebook_number(r) else f"{r['model']} ({notebook_number(r)})",
            "Whose": r["whose"],
            "Notebook": notebook_number(r),  # a long name cannot wrap
            "Budget": r.get("budget", ""),
            "Validation (seeds)": mean_sd_text(r["validation"]) if "validation" in r else "",
            "Test accuracy": with_error(r),
            "Time": f"{r['train_seconds']:.0f} s",
            "Parameters": f"{r['parameters']:,}",
            "Trained on": r["machine"],
        }
        for place, r in zip(places, results)
    ]
    columns = [column for column in rows[0] if ranked or column not in ("Rank", "Whose", "Notebook")]
    columns = [c for c in columns if c not in ("Budget", "Validation (seeds)") or any(row[c] for row in rows)]
    numbers = ["Rank", "Validation (seeds)", "Test accuracy", "Time", "Parameters"]
    # the two columns' ± are different quantities, so the table says which is which
    legend = "Test accuracy: one model, ± its 95% binomial error."
    if "Validation (seeds)" in columns:
        legend = "Validation: the mean over the seeds ± their standard deviation. " + legend
    if len(machines) > 1:
        return markdown_table(rows, columns, right=numbers) + f"\n\n{legend}"
    return markdown_table(rows, columns[:-1], right=numbers) + f"\n\n{legend} Every model trained on: {machines.pop()}."


def with_error(result):
    """``result``'s test accuracy and its 95% binomial error, e.g. ``"47.4% ± 4.4"``."""
    return f"{result['test_accuracy']:.1%} ± {100 * binomial_error(result['test_accuracy'], test_images(result)):.1f}"


def interval_text(difference):
    """A difference in points with its 95% interval, e.g. ``"+2.7 [-0.1, +5.5]"``."""
    return f"{100 * difference.mean:+.1f} [{100 * difference.low:+.1f}, {100 * difference.high:+.1f}]"


def notebook_number(result):
    """The number of the notebook that recorded ``result``, e.g. ``"02"``, or ``""``."""
    return Path(result.get("notebook", "")).stem.split("_")[0]


def arc_steps(results):
    """Each of the book's models in ``results`` (one data's records, in notebook order) with
    the one before it: ``[(before, after, validation difference, test difference)]``, the
    validation difference over the seeds, the test difference image by image."""
    book = [r for r in results if r["whose"] == "book" and "validation" in r and "test_correct" in r]
    return [
        (before, after, validation_difference(after, before), test_difference(after, before))
        for before, after in zip(book, book[1:])
    ]


def arc(results):
    """Each of the book's models against the one before it, as a Markdown table: the
    difference in validation accuracy over the seeds and in test accuracy over the images, each
    with its 95% interval and verdict. ``results``: one data's book records, in notebook order."""
    rows = [
        {
            "Model (against the one before it)": after["model"],
            "Validation": interval_text(validation),
            "on validation": validation.verdict,
            "Test": interval_text(test),
            "on test": test.verdict,
        }
        for before, after, validation, test in arc_steps(results)
    ]
    if not rows:
        return "Fewer than two models are recorded with their seeds and test images: nothing to compare yet."
    return markdown_table(rows, list(rows[0]), right=["Validation", "Test"])


def takeaway(results):
    """The page at a glance, in words its numbers allow: the best model on test, and which
    steps of the :func:`arc` are ahead of, behind or not told apart from the model before them
    on validation. ``results``: one data's records."""
    if not results:
        return "No model has been recorded yet."
    best = max(results, key=lambda r: r["test_accuracy"])
    sentences = [f"{best['model']} (notebook {notebook_number(best)}) scores best on test, {with_error(best)}."]
    steps = []
    for before, after, validation, _ in arc_steps(results):
        if validation.clear:
            relation = "clearly ahead of" if validation.mean > 0 else "clearly behind"
        else:
            relation = "not told apart from"
        steps.append(f"{after['model']} is {relation} {before['model']}")
    if steps:
        sentences.append(f"On validation, over the seeds: {'; '.join(steps)}.")
    return " ".join(sentences)


def resolvable_difference(images, accuracy=0.5):
    """The smallest difference between two independent test scores on ``images`` images each
    that their 95% intervals separate, at ``accuracy``: the two binomial errors combined."""
    return math.sqrt(2) * binomial_error(accuracy, images)


def plot(results):
    """Test accuracy, with its 95% binomial error bar, against training time (log scale), one
    point per model, labelled in a column beside the points so that no two labels overlap.
    Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogLocator

    fig, ax = plt.subplots(figsize=(9, 4.5))
    points = [(max(r["train_seconds"], 0.1), 100 * r["test_accuracy"], r) for r in results]
    for x, y, result in points:
        error = 100 * binomial_error(result["test_accuracy"], test_images(result))
        ax.errorbar(x, y, yerr=error, fmt="o", capsize=3, markersize=5)
    ax.set_xscale("log")
    # 1-2-5 ticks: a range of times within one decade still gets labelled ticks.
    ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    ax.xaxis.set_major_formatter(lambda seconds, _: f"{seconds:g}")
    ax.xaxis.set_minor_formatter(lambda seconds, _: "")
    ax.margins(x=0.15, y=0.15)
    ax.set_xlabel("training time (s, log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(True, which="both", alpha=0.3)
    fig.subplots_adjust(left=0.08, right=0.55, bottom=0.12, top=0.9)
    # labels in the margin, in the order of their points' heights, at least one line apart
    low, high = ax.get_ylim()
    line = (high - low) / 11
    order = sorted(range(len(points)), key=lambda k: points[k][1])
    heights, floor = {}, low + line / 2
    for k in order:
        heights[k] = floor = max(points[k][1], floor)
        floor += line
    overflow = floor - line - (high - line / 2)
    for k in order:  # shift the column down if it ran past the top
        heights[k] -= max(overflow, 0)
    for k, (x, y, result) in enumerate(points):
        ax.annotate(
            f"{notebook_number(result)}  {result['model']} ({result['parameters']:,} parameters)".strip(),
            xy=(x, y),
            xytext=(1.03, (heights[k] - low) / (high - low)),
            textcoords="axes fraction",
            va="center",
            fontsize=8,
            arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.6},
        )
    return fig
