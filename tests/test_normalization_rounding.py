"""Chapters 03 and 04 hold for every correct solution, not just the book's: their learner copies,
filled in with layers written another way (float64 statistics, a dict cache, another order of
operations, the dropout scale divided rather than multiplied), run to the end, every assertion
about a training result included, while their numbers differ from the book's in the last digits."""

import re
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from book_tools import exercises

pytestmark = [pytest.mark.integration, pytest.mark.learner_run]

BOOK = Path(__file__).resolve().parents[1] / "book"

NORMALIZATION = '''
def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch norm with its statistics accumulated in float64 and a dict for a cache."""
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    D = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(D, dtype=x.dtype))
    if bn_param["mode"] == "test":
        scale = gamma / np.sqrt(running_var + eps)
        return (x * scale + (beta - running_mean * scale)).astype(x.dtype), None
    wide = x.astype(np.float64)
    mean = wide.sum(axis=0) / len(x)
    var = np.square(wide - mean).sum(axis=0) / len(x)
    inv_std = 1 / np.sqrt(var + eps)
    x_hat = ((wide - mean) * inv_std).astype(x.dtype)
    bn_param["running_mean"] = (momentum * running_mean + (1 - momentum) * mean).astype(x.dtype)
    bn_param["running_var"] = (momentum * running_var + (1 - momentum) * var).astype(x.dtype)
    return x_hat * gamma + beta, {"x_hat": x_hat, "inv_std": inv_std.astype(x.dtype), "gamma": gamma}


def batchnorm_backward(dout, cache):
    """The staged gradient, each path written out."""
    x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    N = len(dout)
    dx_hat = gamma * dout
    centered = x_hat / inv_std
    dvar = -0.5 * inv_std**3 * np.sum(dx_hat * centered, axis=0)
    dmean = -inv_std * np.sum(dx_hat, axis=0)
    dx = dx_hat * inv_std + 2 * dvar * centered / N + dmean / N
    return dx, np.sum(x_hat * dout, axis=0), np.sum(dout, axis=0)


def batchnorm_backward_alt(dout, cache):
    """The closed form with sums rather than means."""
    x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    N = len(dout)
    dbeta, dgamma = np.sum(dout, axis=0), np.sum(x_hat * dout, axis=0)
    dx = (gamma * inv_std / N) * (N * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    """Layer norm through the transpose of batch norm's statistics, in float64."""
    eps = ln_param.get("eps", 1e-5)
    wide = x.astype(np.float64).T
    centered = wide - wide.mean(axis=0)
    inv_std = 1 / np.sqrt(np.square(centered).mean(axis=0) + eps)
    x_hat = (centered * inv_std).T.astype(x.dtype)
    return x_hat * gamma + beta, (x_hat, inv_std.astype(x.dtype)[:, None], gamma)


def layernorm_backward(dout, cache):
    x_hat, inv_std, gamma = cache
    D = dout.shape[1]
    g = dout * gamma
    dx = inv_std / D * (D * g - g.sum(axis=1, keepdims=True) - x_hat * (g * x_hat).sum(axis=1, keepdims=True))
    return dx, np.sum(x_hat * dout, axis=0), np.sum(dout, axis=0)
'''

DROPOUT = '''
def dropout_forward(x, dropout_param):
    """Dropout that divides by p where it keeps, with a boolean mask for a cache."""
    p = dropout_param["p"]
    if dropout_param["mode"] == "test":
        return x, (dropout_param, None)
    seed = dropout_param.get("seed")
    draws = np.random.random_sample(x.shape) if seed is None else np.random.default_rng(seed).random(x.shape)
    kept = draws < p
    return np.where(kept, x / x.dtype.type(p), 0).astype(x.dtype), (dropout_param, kept)


def dropout_backward(dout, cache):
    dropout_param, kept = cache
    if kept is None:
        return dout
    return np.where(kept, dout / dout.dtype.type(dropout_param["p"]), 0).astype(dout.dtype)
'''


def definitions(source):
    """Each top-level function of ``source`` by name."""
    return {
        match.group(1): block
        for block in re.split(r"\n(?=def )", textwrap.dedent(source).strip())
        if (match := re.match(r"def (\w+)", block))
    }


def filled_another_way(path, alternatives):
    """The learner copy of ``path`` with each stub filled: by an alternative when one is given, by
    the book's solution otherwise."""
    book = nbformat.read(path, as_version=4)
    learner = exercises.learner_notebook(book)
    for book_cell, learner_cell in zip(book.cells, learner.cells):
        tags = book_cell.metadata.get("tags", [])
        if exercises.ANSWER_TAG in tags:
            learner_cell.source = book_cell.source
        elif exercises.SOLUTION_TAG in tags:
            defined = re.findall(r"^def (\w+)", book_cell.source, flags=re.MULTILINE)
            replaced = [alternatives[name] for name in defined if name in alternatives]
            learner_cell.source = "\n\n\n".join(replaced) if replaced else book_cell.source
    return book, learner


def printed(cell):
    return "".join(output.get("text", "") for output in cell.outputs if output.get("output_type") == "stream")


@pytest.mark.parametrize(
    "notebook, alternatives",
    [("03_batch_norm.ipynb", definitions(NORMALIZATION)), ("04_dropout.ipynb", definitions(DROPOUT))],
)
def test_a_differently_rounding_solution_passes_the_chapter(tmp_path, notebook, alternatives):
    book, filled = filled_another_way(BOOK / notebook, alternatives)
    replaced = [cell for cell in filled.cells if any(f"def {name}(" in cell.source for name in alternatives)]
    assert len(replaced) >= 2, "the alternatives replace no exercise"
    resources = {"metadata": {"path": str(tmp_path)}}  # a failing assertion raises, with its message
    NotebookClient(filled, timeout=1800, kernel_name="python3", resources=resources).execute()
    trained = [
        (ours, theirs)
        for ours, theirs in zip(filled.cells, book.cells)
        if ours.cell_type == "code" and "rounding" in ours.metadata.get("tags", []) and printed(theirs)
    ]
    assert any(printed(ours) != printed(theirs) for ours, theirs in trained), (
        "every printed number equals the book's: the alternative does not round differently"
    )
