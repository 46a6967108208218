"""First-order update rules, CS231n style: ``rule(w, dw, config=None) -> (next_w, config)``.

``config`` holds the hyperparameters and the rule's state (velocity, moving averages, step
count). Pass the returned config back in on the next step; the Solver keeps one per parameter.
A missing config, or missing keys, take the defaults below; an unknown key is a typo and raises.
"""

import numpy as np

DEFAULTS = {
    "sgd": {"learning_rate": 1e-2},
    "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}
STATE = {"sgd": (), "sgd_momentum": ("velocity",), "rmsprop": ("cache",), "adam": ("m", "v", "t")}


def _config(rule, w, dw, config):
    """``config`` completed with the defaults of ``rule``, after checking every input."""
    if np.shape(dw) != np.shape(w):
        raise ValueError(f"{rule}: dw must have the shape of w {np.shape(w)}, got {np.shape(dw)}")
    config = {} if config is None else config
    unknown = set(config) - set(DEFAULTS[rule]) - set(STATE[rule])
    if unknown:
        raise ValueError(
            f"{rule}: unknown config keys {sorted(unknown)}; it takes "
            f"{sorted(DEFAULTS[rule])} (and keeps its state in {list(STATE[rule])})"
        )
    for key, value in DEFAULTS[rule].items():
        config.setdefault(key, value)
    if not config["learning_rate"] > 0:
        raise ValueError(f"{rule}: learning_rate must be > 0, got {config['learning_rate']}")
    for key in ("momentum", "decay_rate", "beta1", "beta2"):
        if key in config and not 0 <= config[key] < 1:
            raise ValueError(f"{rule}: {key} must lie in [0, 1), got {config[key]}")
    if "epsilon" in config and not config["epsilon"] > 0:
        raise ValueError(f"{rule}: epsilon must be > 0, got {config['epsilon']}")
    return config


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: ``w -= learning_rate * dw``.

    w, dw: arrays of the same shape. config: learning_rate (1e-2).
    """
    config = _config("sgd", w, dw, config)
    return w - config["learning_rate"] * dw, config


def sgd_momentum(w, dw, config=None):
    """SGD with momentum: ``v = momentum * v - learning_rate * dw;  w += v``.

    w, dw: arrays of the same shape. config: learning_rate (1e-2), momentum (0.9),
    velocity (zeros like w).
    """
    config = _config("sgd_momentum", w, dw, config)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def rmsprop(w, dw, config=None):
    """RMSProp: divide the step by a moving root mean square of the gradient.

    ``cache = decay_rate * cache + (1 - decay_rate) * dw**2;
    w -= learning_rate * dw / (sqrt(cache) + epsilon)``.
    w, dw: arrays of the same shape. config: learning_rate (1e-2), decay_rate (0.99),
    epsilon (1e-8), cache (zeros like w).
    """
    config = _config("rmsprop", w, dw, config)
    cache = config.get("cache", np.zeros_like(w))
    cache = config["decay_rate"] * cache + (1 - config["decay_rate"]) * dw**2
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


def adam(w, dw, config=None):
    """Adam: momentum on the gradient and RMSProp's scaling, both bias-corrected.

    ``t += 1`` comes first, so the first step divides by ``1 - beta1**1``::

        m = beta1 * m + (1 - beta1) * dw;    m_hat = m / (1 - beta1**t)
        v = beta2 * v + (1 - beta2) * dw**2; v_hat = v / (1 - beta2**t)
        w -= learning_rate * m_hat / (sqrt(v_hat) + epsilon)

    w, dw: arrays of the same shape. config: learning_rate (1e-3), beta1 (0.9),
    beta2 (0.999), epsilon (1e-8), m and v (zeros like w), t (0).
    """
    config = _config("adam", w, dw, config)
    t = config.get("t", 0) + 1
    m = config["beta1"] * config.get("m", np.zeros_like(w)) + (1 - config["beta1"]) * dw
    v = config["beta2"] * config.get("v", np.zeros_like(w)) + (1 - config["beta2"]) * dw**2
    config.update(t=t, m=m, v=v)
    m_hat = m / (1 - config["beta1"] ** t)
    v_hat = v / (1 - config["beta2"] ** t)
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config
