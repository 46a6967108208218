"""The fully connected lesson's checks of the update rules and of the network pass independent, correct
implementations and name planted mistakes."""

import functools

import numpy as np
import pytest
from lesson_checks import check_tests

from cifar_lessons.checks.core import ExerciseError
from cifar_lessons.checks.fully_connected import (
    check_adam,
    check_fully_connected_net,
    check_rmsprop,
    check_sgd_momentum,
)


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


INDEPENDENT = {check_sgd_momentum: (sgd_momentum,), check_rmsprop: (rmsprop,), check_adam: (adam,)}


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
    ],
)
def test_checks_catch_planted_mistakes(check, fn, message):
    with pytest.raises(ExerciseError, match=message):
        check(fn)


class Network:
    """A correct network written differently: the weights drawn layer by layer with rng.normal,
    ReLU masks by hand, the softmax spelled out, the L2 term's gradient added as each layer's
    gradient arrives."""

    def __init__(
        self, hidden_dims, input_dim=3072, num_classes=10, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None
    ):
        sizes = [input_dim] + list(hidden_dims) + [num_classes]
        draw = np.random.normal if seed is None else np.random.default_rng(seed).normal
        self.params = {}
        for i, (rows, columns) in enumerate(zip(sizes, sizes[1:]), start=1):
            self.params["W" + str(i)] = draw(0.0, weight_scale, size=(rows, columns)).astype(dtype)
            self.params["b" + str(i)] = np.zeros(columns, dtype)
        self.num_layers, self.reg, self.dtype = len(sizes) - 1, reg, dtype

    def hidden_forward(self, x, i):
        z = x.reshape(len(x), -1) @ self.params[f"W{i}"] + self.params[f"b{i}"]
        return np.where(z > 0, z, 0.0), (x, z)

    def hidden_backward(self, dout, cache, i, grads):
        x, z = cache
        dz = np.where(z > 0, dout, 0.0)
        grads[f"W{i}"] = x.reshape(len(x), -1).T @ dz
        grads[f"b{i}"] = dz.sum(axis=0)
        return (dz @ self.params[f"W{i}"].T).reshape(x.shape)

    def hooks(self):
        return self.hidden_forward, self.hidden_backward

    def loss(self, X, y=None):
        forward, backward = self.hooks()
        L, caches, h = self.num_layers, [], X
        for i in range(1, L):
            h, cache = forward(h, i)
            caches.append(cache)
        h = h.reshape(len(h), -1)
        scores = h @ self.params[f"W{L}"] + self.params[f"b{L}"]
        if y is None:
            return scores
        p = np.exp(scores - scores.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        weights = [self.params[f"W{i}"] for i in range(1, L + 1)]
        loss = -np.log(p[np.arange(len(y)), y]).mean() + self.reg / 2 * sum(np.vdot(w, w) for w in weights)
        p[np.arange(len(y)), y] -= 1
        dscores = p / len(y)
        grads = {f"W{L}": h.T @ dscores + self.reg * weights[-1], f"b{L}": dscores.sum(axis=0)}
        dh = dscores @ self.params[f"W{L}"].T
        for i in reversed(range(1, L)):
            dh = backward(dh, caches[i - 1], i, grads)
            grads[f"W{i}"] = grads[f"W{i}"] + self.reg * self.params[f"W{i}"]
        return loss, grads


def test_the_network_check_passes_a_network_written_differently(capsys):
    check_fully_connected_net(Network)
    assert capsys.readouterr().out == "FullyConnectedNet: all checks passed\n"


def test_the_network_check_fails_a_stub_as_not_implemented():
    class Stub(Network):
        def loss(self, X, y=None):
            raise NotImplementedError

    for stub in (Stub, lambda *args, **kwargs: Stub.loss(None, None)):
        with pytest.raises(ExerciseError, match="^FullyConnectedNet: not implemented yet"):
            check_fully_connected_net(stub)


def with_penalty_on(prefix, scale, in_loss=True):
    """``Network`` whose L2 term adds ``scale`` times reg * sum(p**2) / 2 over the parameters named ``prefix``
    (to the loss if ``in_loss``) and its gradient ``scale`` * reg * p."""

    def change(model, loss, grads):
        chosen = {key: p for key, p in model.params.items() if key.startswith(prefix)}
        if in_loss:
            loss += scale * model.reg / 2 * sum(np.sum(p * p) for p in chosen.values())
        return loss, {key: g + scale * model.reg * chosen[key] if key in chosen else g for key, g in grads.items()}

    def loss(self, X, y=None):
        result = Network.loss(self, X, y)
        return result if y is None else change(self, *result)

    return type("Planted", (Network,), {"loss": loss})


def relu_first(self, x, i):
    h = np.maximum(x, 0).reshape(len(x), -1)
    return h @ self.params[f"W{i}"] + self.params[f"b{i}"], (x, np.ones(1))


def no_relu(self, x, i):
    return x.reshape(len(x), -1) @ self.params[f"W{i}"] + self.params[f"b{i}"], (x, np.ones(1))


def bypassing_hooks(self):
    return functools.partial(Network.hidden_forward, self), functools.partial(Network.hidden_backward, self)


def penalized_in_hidden_backward(self, dout, cache, i, grads):
    dx = Network.hidden_backward(self, dout, cache, i, grads)
    grads[f"W{i}"] = grads[f"W{i}"] + self.reg * self.params[f"W{i}"]
    return dx


def loss_in_test_mode(self, X, y=None):
    return Network.loss(self, X, np.zeros(len(X), dtype=int) if y is None else y)


def relu_on_scores(self, X, y=None):
    return np.maximum(Network.loss(self, X), 0) if y is None else Network.loss(self, X, y)


@pytest.mark.parametrize(
    "network, message",
    [
        (with_penalty_on("W", -1.0), "it misses the L2 term 0.5 * reg * sum(W**2)"),
        (with_penalty_on("W", 1.0, in_loss=True), "the 0.5 is missing"),
        (with_penalty_on("W", -1.0, in_loss=False), "the gradient misses the L2 term's share, reg * W"),
        (with_penalty_on("W", 1.0, in_loss=False), "is reg * W, not 2 * reg * W"),
        (with_penalty_on("b", 1.0), "the L2 term covers the weights W1 ... WL only, not the biases"),
        (type("Planted", (Network,), {"hidden_forward": relu_first}), "it applies the ReLU first"),
        (type("Planted", (Network,), {"hidden_forward": no_relu}), "the ReLU is missing"),
        (type("Planted", (Network,), {"hidden_backward": penalized_in_hidden_backward}), "loss() adds reg * W once"),
        (type("Planted", (Network,), {"hooks": bypassing_hooks}), "loss() should run hidden layer i through"),
        (
            type("Planted", (Network,), {"loss": loss_in_test_mode}),
            "without labels is test mode and should return the scores",
        ),
        (type("Planted", (Network,), {"loss": relu_on_scores}), "no ReLU after it"),
    ],
)
def test_the_network_check_names_planted_mistakes(network, message):
    with pytest.raises(ExerciseError, match="^FullyConnectedNet: ") as error:
        check_fully_connected_net(network)
    assert message in str(error.value)
