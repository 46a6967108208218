"""The book's solutions compute, bit for bit, what the package's reference computes.

A later chapter takes earlier chapters' code with ``use``: the learner's kept code where there is
some, the package's reference where there is none. When the book runs, the kept code is the
book's solutions, and whether it exists yet depends on which chapters ran before. The stored
outputs can only be the same either way if the two agree exactly, in float32 (training) and
float64 (gradient checks), so every function that a later chapter takes is compared here (the
networks, classes, are trained side by side in test_kept_solutions.py).
"""

import ast
import json
from pathlib import Path

import numpy as np
import pytest
from notebook_code import solutions

BOOK = Path(__file__).resolve().parents[1] / "book"


def taken():
    """``(lesson, name, reference module)`` for every name a chapter takes with ``use``."""
    found = set()
    for notebook in sorted(BOOK.glob("*.ipynb")):
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code" or "use(" not in "".join(cell["source"]):
                continue
            for node in ast.walk(ast.parse("".join(line for line in cell["source"] if not line.startswith("%")))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "use":
                    lesson, *names = [arg.value for arg in node.args]
                    reference = next(k.value for k in node.keywords if k.arg == "reference")
                    found.update((lesson, name, ast.unparse(reference)) for name in names if not name[0].isupper())
    return sorted(found)


LESSON_NOTEBOOKS = {path.stem.split("_", 1)[1]: path for path in BOOK.glob("[0-9]*.ipynb")}


def same(ours, theirs, where="result"):
    """Assert ``ours`` equals ``theirs`` exactly: arrays in value, dtype and shape, recursively."""
    if isinstance(theirs, np.ndarray) or isinstance(ours, np.ndarray):
        assert np.asarray(ours).dtype == np.asarray(theirs).dtype, f"{where}: dtype"
        np.testing.assert_array_equal(ours, theirs, err_msg=where, strict=True)
    elif isinstance(theirs, dict):
        assert sorted(ours) == sorted(theirs), f"{where}: keys"
        for key in theirs:
            same(ours[key], theirs[key], f"{where}[{key!r}]")
    elif isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs), f"{where}: length"
        for index, (a, b) in enumerate(zip(ours, theirs)):
            same(a, b, f"{where}[{index}]")
    else:
        assert ours == theirs, where


def inputs(dtype, seed=0):
    rng = np.random.default_rng(seed)

    def array(*shape):
        return rng.standard_normal(shape).astype(dtype)

    return rng, array


def exercise_layer(forward, backward, args, dout_shape):
    """``forward(*args)``'s output and ``backward``'s gradients from its own cache."""
    out, cache = forward(*args)
    dout = np.random.default_rng(9).standard_normal(dout_shape).astype(out.dtype)
    return out, backward(dout, cache)


def run_pair(name, objects, dtype):
    """What ``name`` computes, for a name a chapter takes: a forward with its backward, a loss, a
    rule over a few steps, or a network's loss and gradients."""
    rng, array = inputs(dtype)
    if name.endswith("_backward") or name.endswith("_backward_alt"):
        return None  # exercised with its forward pass
    if name == "affine_forward":
        return exercise_layer(
            objects["affine_forward"], objects["affine_backward"], (array(4, 2, 3), array(6, 5), array(5)), (4, 5)
        )
    if name == "relu_forward":
        return exercise_layer(objects["relu_forward"], objects["relu_backward"], (array(4, 6),), (4, 6))
    if name in ("softmax_loss", "svm_loss"):
        return objects[name](array(6, 10), rng.integers(10, size=6))
    if name in ("batchnorm_forward", "layernorm_forward"):
        backward = objects[name.replace("forward", "backward")]
        param = {"mode": "train"} if name.startswith("batch") else {}
        return exercise_layer(objects[name], backward, (array(8, 5), array(5), array(5), param), (8, 5))
    if name in ("sgd_momentum", "rmsprop", "adam"):
        w, config, steps = array(4, 5), None, []
        for _ in range(3):
            w, config = objects[name](w, array(4, 5), config)
            steps.append(w)
        return steps
    pytest.skip(f"no inputs known for {name}: add them to run_pair")


@pytest.mark.parametrize("lesson, name, reference", taken(), ids=lambda value: str(value))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_a_solution_later_chapters_take_computes_what_the_reference_does(lesson, name, reference, dtype):
    import importlib

    module = importlib.import_module(reference if "." in reference else f"cifar_lessons.{reference}")
    book = solutions(LESSON_NOTEBOOKS[lesson])
    if name not in book:
        pytest.fail(f"chapter {lesson} has no solution named {name}, yet a later chapter takes it with use()")
    ours = run_pair(name, book, dtype)
    if ours is None:
        return
    theirs = run_pair(name, {key: getattr(module, key, book.get(key)) for key in book}, dtype)
    same(ours, theirs, f"{lesson}.{name} ({np.dtype(dtype).name})")
