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
    check_my_fully_connected_model,
    check_overfit_settings,
    check_rmsprop,
    check_sgd_momentum,
)
from cifar_lessons.from_scratch import models, optim
from cifar_lessons.from_scratch.solver import Solver


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


def rule_with(rule, change):
    """``rule`` with its step (next_w, config) changed by ``change(w, dw, config, next_w, new_config)``."""

    def planted(w, dw, config=None):
        config = dict(config or {})
        next_w, new_config = rule(w, dw, dict(config))
        return change(w, dw, config, next_w, new_config)

    return planted


def momentum_forgetting_velocity(w, dw, config=None):
    config = config or {"learning_rate": 1e-2, "momentum": 0.9}
    return w - config["learning_rate"] * dw, {k: v for k, v in config.items() if k != "velocity"}


def momentum_without_the_old_velocity(w, dw, config=None):
    config = dict(config or {})
    v = -config.get("learning_rate", 1e-2) * dw
    return w + v, {**config, "velocity": v}


def momentum_subtracting_the_velocity(w, dw, config=None):
    config = dict(config or {})
    v = config.get("momentum", 0.9) * config.get("velocity", 0) - config.get("learning_rate", 1e-2) * dw
    return w - v, {**config, "velocity": v}


def momentum_restarting_every_step(w, dw, config=None):
    config = dict(config or {})
    config.pop("velocity", None)
    return sgd_momentum(w, dw, config)


@np.errstate(all="ignore")
def rmsprop_step(w, dw, config, *, epsilon=True, epsilon_inside=False, square=True, swap=False, root=True):
    config = {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8, **(config or {})}
    rho = config["decay_rate"]
    new = dw * dw if square else dw
    old = config.get("cache", np.zeros_like(w))
    cache = (1 - rho) * old + rho * new if swap else rho * old + (1 - rho) * new
    eps = config["epsilon"] if epsilon else 0.0
    scale = np.sqrt(cache + eps) if epsilon_inside else (np.sqrt(cache) if root else cache) + eps
    return w - config["learning_rate"] * dw / scale, {**config, "cache": cache}


@np.errstate(all="ignore")
def adam_step(w, dw, config, *, epsilon=True, epsilon_inside=False, correct=True, t_late=False, swap=False):
    config = {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, **(config or {})}
    beta1, beta2 = (config["beta2"], config["beta1"]) if swap else (config["beta1"], config["beta2"])
    t = config.get("t", 0)
    t_now = t if t_late else t + 1
    m = beta1 * config.get("m", np.zeros_like(w)) + (1 - beta1) * dw
    v = beta2 * config.get("v", np.zeros_like(w)) + (1 - beta2) * dw * dw
    m_hat, v_hat = (m / (1 - beta1**t_now), v / (1 - beta2**t_now)) if correct else (m, v)
    eps = config["epsilon"] if epsilon else 0.0
    scale = np.sqrt(v_hat + eps) if epsilon_inside else np.sqrt(v_hat) + eps
    return w - config["learning_rate"] * m_hat / scale, {**config, "m": m, "v": v, "t": t + 1}


def planted(step, **slip):
    return functools.partial(step, **slip)


def with_defaults(rule, **defaults):
    """``rule`` whose config starts from ``defaults`` (wrong ones) where the caller gives none."""

    def planted(w, dw, config=None):
        return rule(w, dw, {**defaults, **(config or {})})

    return planted


def adam_defaults_only_without_config(w, dw, config=None):
    config = {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8} if config is None else config
    return adam(w, dw, config) if "beta1" in config else config["beta1"]


def momentum_keeping_its_default_aside(w, dw, config=None):
    config = {"learning_rate": 1e-2, **(config or {})}
    v = config.get("momentum", 0.9) * config.get("velocity", 0) - config["learning_rate"] * dw
    return w + v, {**config, "velocity": v}


# For every update rule, the slips learners make, each with the words the check's message must name it by.
PLANTED_RULES = {
    check_sgd_momentum: [
        (momentum_forgetting_velocity, "after step 1 config has no 'velocity'"),
        (momentum_without_the_old_velocity, "the previous velocity is missing"),
        (momentum_subtracting_the_velocity, "the velocity already points downhill"),
        (momentum_restarting_every_step, "after step 2 is wrong: .*the previous velocity is missing"),
        (
            with_defaults(sgd_momentum, momentum=0.5),
            r"called with config=None, config\['momentum'\] is 0.5, expected the default 0.9",
        ),
        (
            momentum_keeping_its_default_aside,
            r"config=None, the config it returns has no 'momentum': store its default, "
            r"config.setdefault\('momentum', 0.9\)",
        ),
    ],
    check_rmsprop: [
        (planted(rmsprop_step, epsilon=False), "where the gradient dw is 0.*Add epsilon to the denominator"),
        (planted(rmsprop_step, epsilon_inside=True), "epsilon goes outside the square root"),
        (planted(rmsprop_step, square=False), "where dw is not 0: the cache is the moving average of dw\\*\\*2"),
        (planted(rmsprop_step, swap=True), "the two weights are swapped"),
        (planted(rmsprop_step, root=False), "divide by the square root of the cache"),
        (with_defaults(rmsprop, decay_rate=0.9), r"config\['decay_rate'\] is 0.9, expected the default 0.99"),
        (with_defaults(rmsprop, epsilon=1e-7), r"config\['epsilon'\] is 1e-07, expected the default 1e-08"),
    ],
    check_adam: [
        (planted(adam_step, epsilon=False), "where the gradient dw is 0.*Add epsilon to the denominator"),
        (planted(adam_step, epsilon_inside=True), "epsilon goes outside the square root"),
        (planted(adam_step, correct=False), "the bias correction is missing"),
        (planted(adam_step, t_late=True), "increment t before the bias correction"),
        (planted(adam_step, swap=True), "they are swapped"),
        (
            with_defaults(adam, learning_rate=1e-2),
            r"config=None, config\['learning_rate'\] is 0.01, expected the default 0.001",
        ),
        (with_defaults(adam, beta2=0.99), r"config\['beta2'\] is 0.99, expected the default 0.999"),
        (
            adam_defaults_only_without_config,
            r"adam crashed: KeyError: 'beta1'. Called with config={'learning_rate': 0.05}, it must fill in each "
            r"setting it is not given \(learning_rate, beta1, beta2, epsilon\) with its default",
        ),
    ],
}


@pytest.mark.parametrize(
    "check, fn, message",
    [(check, fn, message) for check, slips in PLANTED_RULES.items() for fn, message in slips],
    ids=lambda value: getattr(value, "__name__", None) if callable(value) and hasattr(value, "__name__") else None,
)
def test_checks_catch_planted_mistakes(check, fn, message):
    with pytest.raises(ExerciseError, match=message):
        check(fn)


def test_a_zero_gradient_entry_is_no_mistake_of_a_rule_with_epsilon(capsys):
    for check, rule in ((check_rmsprop, rmsprop), (check_adam, adam)):
        check(rule)
    assert capsys.readouterr().out == "rmsprop: all checks passed\nadam: all checks passed\n"


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
        L, caches, h = self.num_layers, [], np.asarray(X, dtype=self.dtype)
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


def uncast(self, X, y=None):
    self.dtype = np.asarray(X).dtype  # what loss casts X to: so it computes in X's dtype
    return Network.loss(self, X, y)


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
        (
            type("Planted", (Network,), {"loss": uncast}),
            "for float64 images a float32 network returns float64 scores and non-float32 gradients",
        ),
    ],
)
def test_the_network_check_names_planted_mistakes(network, message):
    with pytest.raises(ExerciseError, match="^FullyConnectedNet: ") as error:
        check_fully_connected_net(network)
    assert message in str(error.value)


def legacy_generator(seed):
    """NumPy's global generator, seeded with ``seed`` when one is given."""
    if seed is not None:
        np.random.seed(seed)
    return np.random


def network_init(
    draw_weights=None, bias=0.0, dtype_of=None, layers_of=None, settings=True, generator=None, reverse=False
):
    """``Network`` whose ``__init__`` slips: ``draw_weights(rng_or_none, seed, rows, columns, scale)``
    draws each W, ``bias`` fills each b, ``dtype_of(dtype)`` is the dtype it builds in,
    ``layers_of(sizes)`` the sizes it walks, without ``settings`` it sets no reg, ``generator(seed)``
    is the rng it draws from, and with ``reverse`` it draws the last layer first."""

    def __init__(
        self, hidden_dims, input_dim=3072, num_classes=10, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None
    ):
        sizes = [input_dim, *hidden_dims, num_classes]
        sizes = layers_of(sizes) if layers_of else sizes
        rng = generator(seed) if generator else np.random if seed is None else np.random.default_rng(seed)
        built = dtype_of(dtype) if dtype_of else dtype
        self.params = {}
        walk = list(enumerate(zip(sizes, sizes[1:]), start=1))
        for i, (rows, columns) in walk[::-1] if reverse else walk:
            if draw_weights:
                w = draw_weights(rng, seed, rows, columns, weight_scale)
            else:
                w = weight_scale * rng.standard_normal((rows, columns))
            self.params[f"W{i}"] = w.astype(built)
            self.params[f"b{i}"] = np.full(columns, bias, dtype=built)
        self.num_layers, self.dtype = len(sizes) - 1, dtype
        if settings:
            self.reg = reg

    return type("Planted", (Network,), {"__init__": __init__})


PLANTED_INITS = [
    (
        network_init(lambda rng, seed, r, c, s: s * rng.standard_normal((c, r))),
        r"has shape \(4, 8\), expected \(8, 4\): W1 maps",
    ),
    (network_init(lambda rng, seed, r, c, s: s**2 * rng.standard_normal((r, c))), "not their variance"),
    (
        network_init(lambda rng, seed, r, c, s: rng.standard_normal((r, c))),
        "multiply the standard normal draws by weight_scale",
    ),
    (network_init(lambda rng, seed, r, c, s: s * rng.uniform(0, 1, (r, c))), "centred at 0"),
    (
        network_init(lambda rng, seed, r, c, s: s * np.random.standard_normal((r, c))),
        "with a seed, draw from np.random.default_rng",
    ),
    (
        network_init(lambda rng, seed, r, c, s: s * np.random.default_rng(0).standard_normal((r, c))),
        "seed=3 and seed=4 give the same weights",
    ),
    (
        network_init(lambda rng, seed, r, c, s: s * np.random.default_rng(seed).standard_normal((r, c))),
        "with seed=None, draw the weights from NumPy's global generator",
    ),
    (
        network_init(reverse=True),
        r"hidden_dims=\[6, 5\], dtype=float32, seed=0, the weights are not the book's: it draws the weights in "
        "reverse layer order, W3 first",
    ),
    (network_init(generator=legacy_generator), "the weights are not the book's: it draws them from NumPy's legacy"),
    (
        network_init(lambda rng, seed, r, c, s: s * rng.standard_normal((r, c + 1))[:, :c]),
        r"the weights are not the book's: with a seed, draw W1, W2, ... in order",
    ),
    (network_init(bias=1.0), r"params\['b1'\] should start at 0"),
    (network_init(dtype_of=lambda dtype: np.float64), "build every parameter in the dtype asked for"),
    (network_init(layers_of=lambda sizes: sizes[:-1]), "self.params should hold"),
    (network_init(settings=False), r"__init__ should set self.reg"),
]


@pytest.mark.parametrize("network, message", PLANTED_INITS)
def test_the_network_check_names_planted_init_mistakes(network, message):
    with pytest.raises(ExerciseError, match=f"^FullyConnectedNet: .*{message}"):
        check_fully_connected_net(network)


# The learner's own choices: the hand-tuned overfit and a model of their own


@pytest.fixture(scope="module")
def small_data():
    from cifar_lessons.data import load_cifar10, normalize

    data, _ = normalize(load_cifar10(), "per_channel")
    return {
        "X_train": data["X_train"][:50],
        "y_train": data["y_train"][:50],
        "X_val": data["X_val"],
        "y_val": data["y_val"],
    }


def settings(three, five):
    return lambda num_layers: {3: three, 5: five}[num_layers]


def test_the_overfit_check_passes_settings_that_memorize(small_data, capsys):
    check_overfit_settings(settings((1e-2, 0.1), (1e-2, 0.1)), models.FullyConnectedNet, optim.sgd_momentum, small_data)
    out = capsys.readouterr().out
    assert "3 layers, learning rate 0.01, weight scale 0.1: 100% training accuracy after epoch" in out
    assert out.endswith("overfit_settings: all checks passed\n")


PLANTED_SETTINGS = [
    (settings((1.0, 0.1), (1e-2, 0.1)), "with 3 layers, .* killed the network.*lower the learning rate"),
    (settings((1e2, 0.1), (1e-2, 0.1)), "with 3 layers, the loss exploded.*lower it"),
    (settings((1e-2, 1e-3), (1e-2, 0.1)), "with 3 layers, the loss stayed at log 10.*raise the weight scale"),
    (settings((1e-2, 3.0), (1e-2, 0.1)), "with 3 layers, the first loss is .* lower the weight scale"),
    (settings((1e-4, 0.1), (1e-2, 0.1)), "with 3 layers, the loss fell .* too slowly.*raise the learning rate"),
    (
        settings((1e-2, 0.1), (1e-2, 0.03)),
        "^overfit_settings: not memorized yet: with 5 layers, the loss stayed at log 10",
    ),
    (settings((1e-2, 0.1), 0.01), r"overfit_settings\(5\) should return \(learning_rate, weight_scale\)"),
    (settings((1e-2, -0.1), (1e-2, 0.1)), "two positive numbers"),
]


@pytest.mark.parametrize("overfit_settings, message", PLANTED_SETTINGS)
def test_the_overfit_check_names_what_is_wrong(small_data, overfit_settings, message):
    with pytest.raises(ExerciseError, match=message):
        check_overfit_settings(overfit_settings, models.FullyConnectedNet, optim.sgd_momentum, small_data)


@pytest.fixture(scope="module")
def synthetic():
    """Images whose class a linear model can read (learnable), and the same with random labels."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((700, 20))
    y = np.argmax(X @ rng.standard_normal((20, 10)), axis=1)
    learnable = {"X_train": X[:500], "y_train": y[:500], "X_val": X[500:], "y_val": y[500:]}
    return learnable, {**learnable, "y_train": rng.integers(10, size=500), "y_val": rng.integers(10, size=200)}


def own_model(
    dims=(50,),
    learning_rate=1e-2,
    num_epochs=10,
    returns_model=False,
    with_validation=False,
    rule="adam",
    weight_scale=0.1,
    **model,
):
    def my_fully_connected_model(data, seed=0):
        if with_validation:
            data = {
                **data,
                "X_train": np.concatenate([data["X_train"], data["X_val"]]),
                "y_train": np.concatenate([data["y_train"], data["y_val"]]),
            }
        network = models.FullyConnectedNet(list(dims), input_dim=20, weight_scale=weight_scale, seed=seed, **model)
        solver = Solver(
            network,
            data,
            update_rule=rule,
            optim_config={"learning_rate": learning_rate},
            num_epochs=num_epochs,
            batch_size=50,
            verbose=False,
            progress=False,
            seed=seed,
        )
        with np.errstate(all="ignore"):
            solver.train()
        return solver.model if returns_model else solver

    return my_fully_connected_model


def test_the_own_model_check_passes_a_model_above_the_bar(synthetic, capsys):
    check_my_fully_connected_model(own_model(), synthetic[0])
    out = capsys.readouterr().out
    assert "points above the bar of 40%" in out and out.endswith("my_fully_connected_model: all checks passed\n")


@pytest.mark.parametrize(
    "kind, fn, message",
    [
        (0, own_model(num_epochs=200), "over the budget of 90,000: fewer epochs"),
        (0, own_model(with_validation=True), "it trained on validation images"),
        (0, own_model(returns_model=True), "should return the Solver that trained the model"),
        (1, own_model(dims=(200,), num_epochs=60), "below the bar: it fits the training images .* it overfits"),
        (0, own_model(learning_rate=1e-3, num_epochs=2), "below the bar: it does not fit even the training images"),
        (
            0,
            own_model(dims=(50, 50), weight_scale=1e-3, rule="sgd_momentum"),
            r"below the bar: its training accuracy \(\d+%\) is about chance .*it learned nothing. Likely causes: a "
            "weight scale so small that the scores are too small to move .* or a learning rate too small",
        ),
        (1, own_model(learning_rate=1e-6, num_epochs=2), "it learned nothing"),
        (
            0,
            own_model(learning_rate=1e6, num_epochs=3, rule="sgd"),
            "the loss went NaN or inf: lower the learning rate",
        ),
    ],
)
def test_the_own_model_check_names_what_is_wrong(synthetic, kind, fn, message):
    with pytest.raises(ExerciseError, match=message):
        check_my_fully_connected_model(fn, synthetic[kind])
