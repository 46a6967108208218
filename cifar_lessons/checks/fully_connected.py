"""Checks of the fully connected networks lesson (notebook 02): the update rules and the network."""

import numpy as np

from cifar_lessons.checks.core import ExerciseError, call, expect_close, expect_tuple, passed
from cifar_lessons.checks.networks import (
    NO_RELU_ON_SCORES,
    expect_fully_connected_init,
    expect_hidden_backward,
    expect_hooks_used,
    expect_same_loss,
    expect_value,
    hidden_input,
    network_pair,
    penalty,
    regularization_mistakes,
)
from cifar_lessons.from_scratch import contracts, layers, models, optim


def _check_update_rule(name, rule, config, steps=3, advice=""):
    """Run ``rule`` and the reference side by side for a few steps from ``config``; compare
    next_w and the rule's state after every step, then check that config=None works."""
    rng = np.random.default_rng(5)
    w = rng.standard_normal((4, 5))
    ours, theirs = dict(config), dict(config)
    w_ours = w_theirs = w
    reference = getattr(optim, name)
    for step in range(1, steps + 1):
        dw = rng.standard_normal(w.shape)
        w_ours, ours = expect_tuple(name, call(name, rule, w_ours.copy(), dw.copy(), ours), ["next_w", "config"])
        w_theirs, theirs = reference(w_theirs, dw, theirs)
        if not isinstance(ours, dict):
            raise ExerciseError(f"{name}: the config it returns should be a dict, got {type(ours).__name__}")
        for key in contracts.STATE[name]:
            if key not in ours:
                raise ExerciseError(f"{name}: after step {step} config has no {key!r}; store it for the next step")
            expect_close(name, f"config[{key!r}] after step {step}", ours[key], theirs[key])
        expect_close(name, f"next_w after step {step}", w_ours, w_theirs, advice=advice)
    expect_tuple(name, call(name, rule, w.copy(), w.copy(), None), ["next_w", "config"])
    passed(name, rule)


def check_sgd_momentum(sgd_momentum):
    """``sgd_momentum(w, dw, config=None) -> (next_w, config)``, state in config['velocity']."""
    _check_update_rule("sgd_momentum", sgd_momentum, {"learning_rate": 0.1, "momentum": 0.9})


def check_rmsprop(rmsprop):
    """``rmsprop(w, dw, config=None) -> (next_w, config)``, state in config['cache']."""
    _check_update_rule("rmsprop", rmsprop, {"learning_rate": 0.01, "decay_rate": 0.9, "epsilon": 1e-8})


def check_adam(adam):
    """``adam(w, dw, config=None) -> (next_w, config)``, state in config['m'], ['v'], ['t']."""
    _check_update_rule(
        "adam",
        adam,
        {"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
        advice="Increment t before the bias correction, so step 1 divides m by 1 - beta1.",
    )


# ---------------------------------------------------------------------------------------------
# The network, and what the checks of the networks of notebooks 03 and 04 share with its check


def _check_affine_relu_layer(name, model, reference, i, rng):
    """hidden_forward(x, i) and hidden_backward(dout, cache, i, grads) of an affine - ReLU layer."""
    W, b = reference.params[f"W{i}"], reference.params[f"b{i}"]
    x = hidden_input(reference, i, rng)
    affine, affine_cache = layers.affine_forward(x, W, b)
    result = call(name, model.hidden_forward, x, i)
    out, cache = expect_tuple(f"{name}.hidden_forward", result, ["out", "cache"])
    expected, reference_cache = reference.hidden_forward(x, i)
    expect_value(
        name,
        f"hidden_forward(x, {i})",
        out,
        expected,
        [
            (affine, "a hidden layer is affine, then ReLU: the ReLU is missing"),
            (
                layers.affine_forward(np.maximum(x, 0), W, b)[0],
                "a hidden layer is affine, then ReLU, in that order: it applies the ReLU first",
            ),
        ],
    )
    dout = rng.normal(size=expected.shape)
    dx, dW, db = layers.affine_backward(dout, affine_cache)
    skipped_relu = (dx, {f"W{i}": dW, f"b{i}": db}, "hidden_backward sends dout through relu_backward first")
    expect_hidden_backward(name, model, reference, i, cache, reference_cache, dout, [skipped_relu])


NETWORK_CASES = [([], 0.0), ([6], 0.7), ([6, 5], 0.0), ([6, 5], 0.7), ([5, 7, 4], 0.3)]  # hidden_dims, reg


def check_fully_connected_net(FullyConnectedNet):
    """A learner's ``FullyConnectedNet``: its hidden layers' hooks, its scores, loss and every
    gradient against the book's on tiny float64 networks of one to four layers, with and without
    regularization, and that ``loss`` runs the hooks; first its ``__init__``."""
    name = "FullyConnectedNet"
    expect_fully_connected_init(name, FullyConnectedNet, models.FullyConnectedNet)
    for hidden_dims, reg in NETWORK_CASES:
        model, reference, X, y = network_pair(name, FullyConnectedNet, models.FullyConnectedNet, hidden_dims, reg=reg)
        rng = np.random.default_rng(len(hidden_dims))
        for i in range(1, model.num_layers):
            _check_affine_relu_layer(name, model, reference, i, rng)
        when = f"for hidden_dims={hidden_dims}, reg={reg}"
        scores = reference.loss(X)
        expect_same_loss(name, model, reference, X, None, when, [(np.maximum(scores, 0), NO_RELU_ON_SCORES)])
        expected = reference.loss(X, y)
        relu_on_scores = layers.softmax_loss(np.maximum(scores, 0), y)[0] + penalty(reference)
        expect_same_loss(
            name,
            model,
            reference,
            X,
            y,
            when,
            [((relu_on_scores, expected[1]), NO_RELU_ON_SCORES), *regularization_mistakes(reference, expected)],
            advice="hidden_forward and hidden_backward are right on their own, so look at how loss() chains them: "
            "back from the last layer to the first, each hidden layer with the cache its own forward pass "
            "returned, then reg * W on every weight gradient",
        )
        expect_hooks_used(name, FullyConnectedNet, models.FullyConnectedNet, hidden_dims, reg=reg)
    passed(name, FullyConnectedNet)
