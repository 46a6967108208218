"""The fully connected lesson's checks of the update rules pass independent, correct implementations
and name planted mistakes."""

import numpy as np
import pytest
from lesson_checks import check_tests

from cifar_lessons.checks.core import ExerciseError
from cifar_lessons.checks.fully_connected import check_adam, check_rmsprop, check_sgd, check_sgd_momentum


def sgd(w, dw, config=None):
    config = {"learning_rate": 1e-2, **(config or {})}
    return w - config["learning_rate"] * dw, config


def sgd_momentum(w, dw, config=None):
    config = {"learning_rate": 1e-2, "momentum": 0.9, **(config or {})}
    velocity = config["momentum"] * config.get("velocity", np.zeros_like(w)) - config["learning_rate"] * dw
    return w + velocity, {**config, "velocity": velocity}


def rmsprop(w, dw, config=None):
    config = {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8, **(config or {})}
    cache = config["decay_rate"] * config.get("cache", np.zeros_like(w)) + (1 - config["decay_rate"]) * dw * dw
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), {**config, "cache": cache}


def adam(w, dw, config=None):
    config = {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "t": 0, **(config or {})}
    beta1, beta2, t = config["beta1"], config["beta2"], config["t"] + 1
    m = beta1 * config.get("m", np.zeros_like(w)) + (1 - beta1) * dw
    v = beta2 * config.get("v", np.zeros_like(w)) + (1 - beta2) * dw * dw
    step = config["learning_rate"] * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + config["epsilon"])
    return w - step, {**config, "m": m, "v": v, "t": t}


INDEPENDENT = {check_sgd: (sgd,), check_sgd_momentum: (sgd_momentum,), check_rmsprop: (rmsprop,), check_adam: (adam,)}


test_a_correct_implementation_written_differently_passes, test_stub_is_not_implemented_yet = check_tests(INDEPENDENT)


@np.errstate(all="ignore")
def adam_increments_t_after_correction(w, dw, config=None):
    config = dict(config or {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8})
    t = config.get("t", 0)
    m = config["beta1"] * config.get("m", 0) + (1 - config["beta1"]) * dw
    v = config["beta2"] * config.get("v", 0) + (1 - config["beta2"]) * dw**2
    m_hat, v_hat = m / (1 - config["beta1"] ** t), v / (1 - config["beta2"] ** t)
    config.update(m=m, v=v, t=t + 1)
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config


def momentum_forgetting_velocity(w, dw, config=None):
    config = config or {"learning_rate": 1e-2, "momentum": 0.9}
    return w - config["learning_rate"] * dw, {k: v for k, v in config.items() if k != "velocity"}


@pytest.mark.parametrize(
    "check, fn, message",
    [
        (
            check_adam,
            adam_increments_t_after_correction,
            "next_w after step 1 holds NaN or inf.*Increment t before the bias correction",
        ),
        (check_sgd_momentum, momentum_forgetting_velocity, "after step 1 config has no 'velocity'"),
        (check_sgd, lambda w, dw, config=None: (w + 0.1 * dw, config), "next_w after step 1 is wrong"),
    ],
)
def test_checks_catch_planted_mistakes(check, fn, message):
    with pytest.raises(ExerciseError, match=message):
        check(fn)
