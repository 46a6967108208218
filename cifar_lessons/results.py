"""Every chapter's final model, measured on the same test rows, gathered for the Results page.

A notebook calls :func:`record` once per finished model. The measurement is stored in the
notebook's outputs under its own MIME type, so :func:`collect` can read it back from the
committed notebooks without running anything. Training time varies run to run, so the cell
that calls ``record`` carries the ``nbval-ignore-output`` tag.
"""
import json
from pathlib import Path

RESULT_MIME = "application/vnd.cifar-lessons.result+json"


def record(model, chapter, test_accuracy, train_seconds, parameters):
    """Show ``model``'s test accuracy, training time and size, and embed them for :func:`collect`."""
    from IPython.display import display

    result = {"model": model, "chapter": chapter, "test_accuracy": round(float(test_accuracy), 4),
              "train_seconds": round(float(train_seconds), 1), "parameters": int(parameters)}
    summary = (f"{model}: test accuracy {result['test_accuracy']:.1%}, trained in "
               f"{result['train_seconds']:.0f} s, {result['parameters']:,} parameters")
    display({RESULT_MIME: result, "text/plain": summary}, raw=True)
    return result


def collect(book_dir):
    """All results recorded in the notebooks under ``book_dir``, in notebook order."""
    results = []
    for notebook in sorted(Path(book_dir).glob("*.ipynb")):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            for output in cell.get("outputs", []):
                if RESULT_MIME in output.get("data", {}):
                    results.append(dict(output["data"][RESULT_MIME], notebook=notebook.name))
    return results


def markdown_table(results):
    """A Markdown table of ``results`` (as :func:`collect` returns them), best test accuracy first."""
    lines = ["| model | chapter | test accuracy | training time | parameters |",
             "| --- | --- | ---: | ---: | ---: |"]
    for r in sorted(results, key=lambda r: r["test_accuracy"], reverse=True):
        lines.append(f"| {r['model']} | {r['chapter']} | {r['test_accuracy']:.1%} | "
                     f"{r['train_seconds']:.0f} s | {r['parameters']:,} |")
    return "\n".join(lines)
