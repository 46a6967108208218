"""The book's solutions, kept and built on chapter after chapter, compute bit for bit what the
reference computes: a chapter's stored outputs do not depend on whether use() returns the code
the reader kept in an earlier chapter (which, in the book, is the solution) or the book's own."""

import json

import numpy as np
import pytest
from notebook_code import code_cells, source
from test_exercises import BOOK

from cifar_lessons.from_scratch import layers, models, optim
from cifar_lessons.from_scratch.solver import Solver


def solutions(notebook, namespace):
    """``namespace`` with the solution cells of ``notebook`` run in it, as a kept module would hold them."""
    for cell in code_cells(BOOK / notebook):
        if "solution" in cell["metadata"].get("tags", []):
            exec(compile(source(cell), notebook, "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def kept():
    backprop = {name: getattr(layers, name) for name in ("affine_forward", "affine_backward", "relu_forward")}
    backprop.update(relu_backward=layers.relu_backward, softmax_loss=layers.softmax_loss)
    fully_connected = solutions(
        "02_fully_connected.ipynb", {"np": np, "FullyConnectedBase": models.FullyConnectedBase, **backprop}
    )
    batch_norm = solutions(
        "03_batch_norm.ipynb", {"np": np, "FullyConnectedNet": fully_connected["FullyConnectedNet"], **backprop}
    )
    dropout = solutions("04_dropout.ipynb", {"np": np, "NormalizedNet": batch_norm["NormalizedNet"]})
    return {"adam": fully_connected["adam"], "DropoutNet": dropout["DropoutNet"]}


def train(network, update_rule, settings):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3, 4, 4)).astype(np.float32)
    y = rng.integers(5, size=60)
    data = {"X_train": X[:40], "y_train": y[:40], "X_val": X[40:], "y_val": y[40:]}
    np.random.seed(0)  # the weights and the dropout masks
    model = network([12, 10], input_dim=48, num_classes=5, weight_scale=0.3, reg=0.01, **settings)
    solver = Solver(
        model, data, update_rule=update_rule, num_epochs=2, batch_size=8, verbose=False, progress=False, seed=0
    )
    solver.train()
    return solver


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"normalization": "batchnorm", "dropout_keep_ratio": 0.5},
        {"normalization": "layernorm", "dropout_keep_ratio": 0.7},
    ],
    ids=json.dumps,
)
def test_the_kept_chain_trains_exactly_as_the_reference(kept, settings):
    ours = train(kept["DropoutNet"], kept["adam"], settings)
    theirs = train(models.FullyConnectedNet, optim.adam, settings)
    assert ours.loss_history == theirs.loss_history
    for name, value in theirs.model.params.items():
        np.testing.assert_array_equal(ours.model.params[name], value, err_msg=name)
