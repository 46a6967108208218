"""First-order update rules, CS231n style: ``rule(w, dw, config=None) -> (next_w, config)``.

``config`` holds the hyperparameters and the rule's state (velocity, moving averages, step
count). Pass the returned config back in on the next step; the Solver keeps one per parameter.
A missing config, or missing keys, take the defaults; an unknown key is a typo and raises
(:mod:`.contracts`). Plain SGD is given; the lesson fully_connected writes the other three.
"""

import numpy as np

from cifar_lessons.from_scratch import contracts
from cifar_lessons.teaching import taught_in

RULES = ("sgd", "sgd_momentum", "rmsprop", "adam")  # the names the Solver accepts for update_rule


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: w - learning_rate * dw.

    Inputs: w, dw: arrays of the same shape; config: dict with "learning_rate" (default 1e-2).
    Returns (next_w, config).
    """
    contracts.sgd(w, dw, config)
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config


@taught_in("fully_connected", check=contracts.sgd_momentum)
def sgd_momentum(w, dw, config=None):
    """Stochastic gradient descent with momentum.

    Inputs: w, dw: arrays of the same shape (a parameter and its gradient);
    config: dict with "learning_rate" (default 1e-2), "momentum" (default 0.9) and
    "velocity" (same shape as w; zeros when absent).
    Returns (next_w, config): next_w of w's shape; config holds the new velocity.
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


@taught_in("fully_connected", check=contracts.rmsprop)
def rmsprop(w, dw, config=None):
    """RMSProp: each step divided by a moving root mean square of the gradient.

    Inputs: w, dw: arrays of the same shape; config: dict with "learning_rate" (default 1e-2),
    "decay_rate" (default 0.99), "epsilon" (default 1e-8) and "cache" (same shape as w; zeros
    when absent), the moving average of dw**2.
    Returns (next_w, config): next_w of w's shape; config holds the new cache.
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    cache = config.get("cache", np.zeros_like(w))
    cache = config["decay_rate"] * cache + (1 - config["decay_rate"]) * dw**2
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


@taught_in("fully_connected", check=contracts.adam)
def adam(w, dw, config=None):
    """Adam: momentum on the gradient, RMSProp's scaling, both corrected for starting at zero.

    Inputs: w, dw: arrays of the same shape; config: dict with "learning_rate" (default 1e-3),
    "beta1" (0.9), "beta2" (0.999), "epsilon" (1e-8), the moving averages "m" and "v" (same
    shape as w; zeros when absent) and the step count "t" (0 when absent).
    Returns (next_w, config): next_w of w's shape; config holds the new m, v and t.
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    t = config.get("t", 0) + 1
    m = config["beta1"] * config.get("m", np.zeros_like(w)) + (1 - config["beta1"]) * dw
    v = config["beta2"] * config.get("v", np.zeros_like(w)) + (1 - config["beta2"]) * dw**2
    config.update(t=t, m=m, v=v)
    m_hat = m / (1 - config["beta1"] ** t)
    v_hat = v / (1 - config["beta2"] ** t)
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config
