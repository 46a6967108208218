"""Checks of the fully connected networks lesson (notebook 02): the update rules."""

import numpy as np

from cifar_lessons import optim
from cifar_lessons.checks.core import ExerciseError, call, expect_close, expect_tuple, passed


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
        for key in optim.STATE[name]:
            if key not in ours:
                raise ExerciseError(f"{name}: after step {step} config has no {key!r}; store it for the next step")
            expect_close(name, f"config[{key!r}] after step {step}", ours[key], theirs[key])
        expect_close(name, f"next_w after step {step}", w_ours, w_theirs, advice=advice)
    expect_tuple(name, call(name, rule, w.copy(), w.copy(), None), ["next_w", "config"])
    passed(name, rule)


def check_sgd(sgd):
    """``sgd(w, dw, config=None) -> (next_w, config)``."""
    _check_update_rule("sgd", sgd, {"learning_rate": 0.1})


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
