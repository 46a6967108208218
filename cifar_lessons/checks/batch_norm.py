"""Checks of the batch normalization lesson (notebook 03): batch norm, layer norm, and the network
that puts them between each hidden affine layer and its ReLU."""

import copy

import numpy as np

from cifar_lessons.checks.core import ExerciseError, call, expect_close, expect_tuple, passed, raise_hint
from cifar_lessons.checks.networks import (
    NORM_LAYERS,
    expect_fully_connected_init,
    expect_hidden_backward,
    expect_hooks_used,
    expect_same_loss,
    expect_settings,
    expect_value,
    forward_loss,
    forward_scores,
    hidden_input,
    network_pair,
)
from cifar_lessons.from_scratch import contracts, layers, models


def _normalization_case(N=8, D=5, seed=0):
    """float64 data whose mean and spread are far from 0 and 1, so that each mistake shows."""
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(3.0, 2.0, size=(N, D)),
        "gamma": rng.uniform(0.5, 2.0, size=D),
        "beta": rng.normal(size=D),
        "dout": rng.normal(size=(N, D)),
        "running_mean": rng.normal(size=D),
        "running_var": rng.uniform(0.5, 2.0, size=D),
    }


def _standardized(x, axis, eps, ddof=0):
    return (x - x.mean(axis=axis, keepdims=True)) / np.sqrt(x.var(axis=axis, ddof=ddof, keepdims=True) + eps)


def _forward_hints(case, axis, eps):
    """Wrong outputs of a normalization forward pass and what each mistake is."""
    x, gamma, beta = case["x"], case["gamma"], case["beta"]
    other = (
        "each example over its features (axis=1), which is layer norm"
        if axis == 0
        else "each feature over the batch (axis=0), which is batch norm"
    )
    mean = x.mean(axis=axis, keepdims=True)
    return [
        (gamma * _standardized(x, 1 - axis, eps) + beta, f"it normalizes {other}"),
        (
            gamma * _standardized(x, axis, eps, ddof=1) + beta,
            "use the biased variance x.var(axis) (divide by the count, not count - 1)",
        ),
        (_standardized(x, axis, eps), "scale by gamma and shift by beta after normalizing"),
        (
            gamma * (x - mean) / np.sqrt(x.var(axis=axis, keepdims=True)) + beta,
            "add eps under the square root: (x - mean) / sqrt(var + eps)",
        ),
        (
            gamma * (x - mean) / (x.std(axis=axis, keepdims=True) + eps) + beta,
            "add eps to the variance, inside the square root: sqrt(var + eps), not std + eps",
        ),
    ]


OTHER_SETTINGS = {"eps": 0.3, "momentum": 0.5}  # far from the defaults, so that a hardcoded one shows


def _ignored(param_name, key):
    """The hint for a setting read as its default instead of from the param dict."""
    return f"it ignores {param_name}[{key!r}]: read it with {param_name}.get({key!r}, {contracts.NORM_DEFAULTS[key]})"


def _call_forward(name, forward, x, gamma, beta, param):
    """``forward(x, gamma, beta, param)``'s out, failing it when it changed the caller's x."""
    before = x.copy()
    out, _ = expect_tuple(name, call(name, forward, x, gamma, beta, param), ["out", "cache"])
    if not np.array_equal(x, before):
        raise ExerciseError(
            f"{name}: it changed the caller's x in place (x -= mean writes into the input array); "
            "compute a new array instead: centered = x - mean"
        )
    return out


def _expect_batchnorm(name, batchnorm_forward, case, bn_param, when, hints):
    """The output and the stored running estimates of a learner's batch norm on ``bn_param``,
    against the reference's; ``hints`` maps "out", "running_mean", "running_var" to
    (bn_param changed, hint): the reference on the changed bn_param is the mistake's result."""
    x, gamma, beta = case["x"], case["gamma"], case["beta"]
    expected_param = copy.deepcopy(bn_param)
    results = {"out": layers.batchnorm_forward(x, gamma, beta, expected_param)[0], **expected_param}
    wrong = {}
    for key, (changed, hint) in hints.items():
        mistaken = copy.deepcopy(changed)
        wrong[key] = [({"out": layers.batchnorm_forward(x, gamma, beta, mistaken)[0], **mistaken}[key], hint)]
    actual = {"out": _call_forward(name, batchnorm_forward, x, gamma, beta, bn_param), **bn_param}
    for key in [key for key in ("out", "running_mean", "running_var") if key in results]:
        what = f"the {bn_param['mode']}-mode output" if key == "out" else f"bn_param[{key!r}]"
        raise_hint(name, f"{what} {when}", actual.get(key), wrong.get(key, []))
        expect_close(name, f"{what} {when}", actual.get(key), results[key])


def check_batchnorm_forward(batchnorm_forward):
    """Train mode (output, running estimates) and test mode of a learner's batch norm forward pass."""
    name, case = "batchnorm_forward", _normalization_case()
    momentum, eps = contracts.NORM_DEFAULTS["momentum"], contracts.NORM_DEFAULTS["eps"]
    x, gamma, beta = case["x"], case["gamma"], case["beta"]

    def param(mode, **settings):
        stats = {"running_mean": case["running_mean"].copy(), "running_var": case["running_var"].copy()}
        return {"mode": mode, "eps": eps, "momentum": momentum, **stats, **settings}

    expected_param = param("train")
    expected, _ = layers.batchnorm_forward(x, gamma, beta, expected_param)
    bn_param = param("train")
    out = _call_forward(name, batchnorm_forward, x, gamma, beta, bn_param)
    running_mean, running_var = case["running_mean"], case["running_var"]
    raise_hint(
        name,
        "the train-mode output",
        out,
        _forward_hints(case, 0, eps)
        + [
            (
                gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta,
                "train mode normalizes with the batch's own mean and variance, not the running estimates",
            )
        ],
    )
    expect_close(name, "the train-mode output", out, expected)

    batch_mean, batch_var, unbiased_var = x.mean(axis=0), x.var(axis=0), x.var(axis=0, ddof=1)
    for key, old, batch, extra in [
        ("running_mean", running_mean, batch_mean, []),
        (
            "running_var",
            running_var,
            batch_var,
            [
                (
                    momentum * running_var + (1 - momentum) * unbiased_var,
                    "fold in the biased batch variance (divide by N), the one that normalized the batch",
                )
            ],
        ),
    ]:
        what = f"bn_param[{key!r}] after a train step"
        if key not in bn_param:
            raise ExerciseError(f"{name}: train mode must store the updated estimate in bn_param[{key!r}]")
        raise_hint(
            name,
            what,
            bn_param[key],
            extra
            + [
                (old, "train mode must update it (and store the new array back in bn_param)"),
                (
                    (1 - momentum) * old + momentum * batch,
                    f"momentum weights the old estimate: {key} = momentum * {key} + (1 - momentum) * batch value",
                ),
            ],
        )
        expect_close(name, what, bn_param[key], expected_param[key])

    bn_param = param("test")
    expected, _ = layers.batchnorm_forward(x, gamma, beta, param("test"))
    out = _call_forward(name, batchnorm_forward, x, gamma, beta, bn_param)
    raise_hint(
        name,
        "the test-mode output",
        out,
        [
            (
                layers.batchnorm_forward(x, gamma, beta, param("train"))[0],
                "test mode normalizes with bn_param['running_mean'] and bn_param['running_var'], not the batch's "
                "statistics",
            )
        ],
    )
    expect_close(name, "the test-mode output", out, expected)
    for key in ("running_mean", "running_var"):
        expect_close(
            name, f"bn_param[{key!r}] after a test-mode call (test mode must not change it)", bn_param[key], case[key]
        )

    for mode in ("train", "test"):
        settings = param(mode, **OTHER_SETTINGS)
        hints = {"out": (dict(settings, eps=eps), _ignored("bn_param", "eps"))}
        if mode == "train":
            ignored = _ignored("bn_param", "momentum")
            hints.update({key: (dict(settings, momentum=momentum), ignored) for key in ("running_mean", "running_var")})
        _expect_batchnorm(name, batchnorm_forward, case, settings, f"with bn_param {OTHER_SETTINGS}", hints)

    fresh = {"mode": "train"}
    call(name, batchnorm_forward, x, gamma, beta, fresh)
    for key in ("running_mean", "running_var"):
        if np.shape(fresh.get(key)) != gamma.shape:
            raise ExerciseError(
                f"{name}: with no running estimates in bn_param yet, train mode must create "
                f"bn_param[{key!r}] of shape {gamma.shape}"
            )
    starts = "with none in bn_param, running_mean starts at 0 and running_var at 1 (np.zeros(D) and np.ones(D))"
    zeros, ones = np.zeros_like(gamma), np.ones_like(gamma)
    train = {
        key: ({"mode": "train", key: start}, starts) for key, start in [("running_mean", ones), ("running_var", zeros)]
    }
    for mode, hints in [("train", train), ("test", {"out": ({"mode": "test", "running_var": zeros}, starts)})]:
        _expect_batchnorm(name, batchnorm_forward, case, {"mode": mode}, f"with bn_param {{'mode': {mode!r}}}", hints)
    passed(name, batchnorm_forward)


def _check_normalization_backward(name, forward, backward, reference, param, axis):
    """Compare a learner's (dx, dgamma, dbeta) with the reference, naming a missed path if one is."""
    case, eps = _normalization_case(), param["eps"]
    x, gamma, beta, dout = case["x"], case["gamma"], case["beta"], case["dout"]
    reference_forward, reference_backward = reference
    expected = reference_backward(dout, reference_forward(x, gamma, beta, dict(param))[1])
    forward_name = reference_forward.__name__  # a stubbed forward pass should be named as such
    _, cache = expect_tuple(forward_name, call(forward_name, forward, x, gamma, beta, dict(param)), ["out", "cache"])
    grads = expect_tuple(name, call(name, backward, dout, cache), ["dx", "dgamma", "dbeta"])

    x_hat, dx_hat = _standardized(x, axis, eps), dout * gamma
    inv_std = 1 / np.sqrt(x.var(axis=axis, keepdims=True) + eps)
    count = x.shape[axis]
    mean_path = dx_hat.mean(axis=axis, keepdims=True)
    variance_path = x_hat * (dx_hat * x_hat).mean(axis=axis, keepdims=True)
    over = "the batch (axis=0)" if axis == 0 else "each example's features (axis=1)"
    other = 1 - axis
    dx_hints = [
        (inv_std * dx_hat, "it treats the mean and variance as constants, but every x moves them too"),
        (inv_std * (dx_hat - mean_path), "it misses the path through the variance"),
        (inv_std * (dx_hat - variance_path), "it misses the path through the mean"),
        (
            inv_std * (dx_hat - count * mean_path - count * variance_path),
            f"the paths through the mean and the variance lack their 1/{'N' if axis == 0 else 'D'}: "
            f"the mean and the variance average over {count} values",
        ),
        (
            (dx_hat - mean_path - variance_path) / np.sqrt(x.var(axis=axis, keepdims=True)),
            "it leaves eps out: divide by sqrt(var + eps), the standard deviation the forward pass used",
        ),
        (
            inv_std
            * (
                dx_hat
                - dx_hat.mean(axis=other, keepdims=True)
                - x_hat * (dx_hat * x_hat).mean(axis=other, keepdims=True)
            ),
            f"the means of the mean and variance paths run over {over}, the axis the forward pass normalized",
        ),
    ]
    if axis == 1:  # gamma varies along the normalized axis, so it cannot be pulled out of the means
        dx_hints += [
            (
                gamma
                * inv_std
                * (dout - dout.mean(axis=1, keepdims=True) - x_hat * (dout * x_hat).mean(axis=1, keepdims=True)),
                "it applies the closed form to dout and multiplies by gamma after; gamma varies along the "
                "features, so apply the closed form to dx_hat = gamma * dout",
            ),
            (
                inv_std
                * (dout - dout.mean(axis=1, keepdims=True) - x_hat * (dout * x_hat).mean(axis=1, keepdims=True)),
                "it leaves gamma out: apply the closed form to dx_hat = gamma * dout",
            ),
        ]
    hints = [
        dx_hints,
        [
            ((dout * x).sum(axis=0), "dgamma sums dout * x_hat (the normalized x), not dout * x"),
            ((dout * x_hat).mean(axis=0), "dgamma sums over the batch; it does not average"),
        ],
        [(dout.mean(axis=0), "dbeta sums dout over the batch; it does not average")],
    ]
    for label, actual, wanted, mistakes in zip(["dx", "dgamma", "dbeta"], grads, expected, hints):
        raise_hint(name, label, actual, mistakes)
        expect_close(name, label, actual, wanted)
    passed(name, backward)


BATCHNORM_CHECK_PARAM = {"mode": "train", **contracts.NORM_DEFAULTS}


def check_batchnorm_backward(batchnorm_forward, batchnorm_backward):
    """Gradients of a learner's train-mode batch norm (forward for the cache, backward under test)."""
    _check_normalization_backward(
        "batchnorm_backward",
        batchnorm_forward,
        batchnorm_backward,
        (layers.batchnorm_forward, layers.batchnorm_backward),
        BATCHNORM_CHECK_PARAM,
        0,
    )


def check_batchnorm_backward_alt(batchnorm_forward, batchnorm_backward_alt):
    """Gradients of a learner's closed-form batch norm backward pass."""
    _check_normalization_backward(
        "batchnorm_backward_alt",
        batchnorm_forward,
        batchnorm_backward_alt,
        (layers.batchnorm_forward, layers.batchnorm_backward),
        BATCHNORM_CHECK_PARAM,
        0,
    )


def check_layernorm_forward(layernorm_forward):
    """A learner's layer norm forward pass on a batch and on single examples."""
    name, case, eps = "layernorm_forward", _normalization_case(), contracts.NORM_DEFAULTS["eps"]
    x, gamma, beta = case["x"], case["gamma"], case["beta"]
    expected, _ = layers.layernorm_forward(x, gamma, beta, {"eps": eps})
    out, _ = expect_tuple(name, call(name, layernorm_forward, x, gamma, beta, {"eps": eps}), ["out", "cache"])
    raise_hint(name, "the output", out, _forward_hints(case, 1, eps))
    expect_close(name, "the output", out, expected)
    other = {"eps": OTHER_SETTINGS["eps"]}
    out, _ = expect_tuple(name, call(name, layernorm_forward, x, gamma, beta, other), ["out", "cache"])
    raise_hint(name, f"the output for ln_param {other}", out, [(expected, _ignored("ln_param", "eps"))])
    expect_close(name, f"the output for ln_param {other}", out, layers.layernorm_forward(x, gamma, beta, other)[0])
    single, _ = expect_tuple(name, call(name, layernorm_forward, x[:1], gamma, beta, {"eps": eps}), ["out", "cache"])
    expect_close(
        name, "the output for a batch of one example (each example is normalized on its own)", single, expected[:1]
    )
    passed(name, layernorm_forward)


def check_layernorm_backward(layernorm_forward, layernorm_backward):
    """Gradients of a learner's layer norm (forward for the cache, backward under test)."""
    _check_normalization_backward(
        "layernorm_backward",
        layernorm_forward,
        layernorm_backward,
        (layers.layernorm_forward, layers.layernorm_backward),
        dict(contracts.NORM_DEFAULTS),
        1,
    )


# ---------------------------------------------------------------------------------------------
# The normalized network: batch or layer norm between each hidden affine layer and its ReLU

NORMALIZED_CASES = [  # normalization, hidden_dims, reg
    ("batchnorm", [6, 5], 0.0),
    ("layernorm", [6, 5], 0.4),
    ("batchnorm", [5, 7, 4], 0.4),
    ("layernorm", [6], 0.0),
    (None, [6, 5], 0.4),
]
NORM_NAMES = {"batchnorm": "batch norm (batchnorm_forward)", "layernorm": "layer norm (layernorm_forward)"}


def _normalize(normalization, x, gamma, beta):
    """``x`` through the reference normalization, in train mode, from fresh statistics."""
    forward, _ = NORM_LAYERS[normalization]
    return forward(x, gamma, beta, {"mode": "train"})[0]


def _check_normalized_layer(name, model, reference, i, rng):
    """hidden_forward(x, i) and hidden_backward(dout, cache, i, grads) of an affine - norm - ReLU layer."""
    normalization, params = reference.normalization, reference.params
    x = hidden_input(reference, i, rng)
    affine = layers.affine_forward(x, params[f"W{i}"], params[f"b{i}"])[0]
    out, cache = expect_tuple(f"{name}.hidden_forward", call(name, model.hidden_forward, x, i), ["out", "cache"])
    expected, reference_cache = reference.hidden_forward(x, i)
    mistakes = [
        (
            np.maximum(affine, 0),
            f"it does not normalize: with normalization={normalization!r} a hidden layer is affine, "
            f"{NORM_NAMES[normalization]}, ReLU",
        )
    ]
    gamma, beta = params[f"gamma{i}"], params[f"beta{i}"]
    other = "layernorm" if normalization == "batchnorm" else "batchnorm"
    mistakes += [
        (
            _normalize(normalization, np.maximum(affine, 0), gamma, beta),
            "it normalizes after the ReLU: normalize the affine layer's output, then apply the ReLU",
        ),
        (
            np.maximum(_normalize(other, affine, gamma, beta), 0),
            f"self.normalization is {normalization!r}, so the layer is {NORM_NAMES[normalization]}, not "
            f"{NORM_NAMES[other]}",
        ),
        (
            np.maximum(_normalize(normalization, affine, np.ones_like(gamma), np.zeros_like(beta)), 0),
            f"scale by params['gamma{i}'] and shift by params['beta{i}'], the layer's own",
        ),
    ]
    expect_value(name, f"hidden_forward(x, {i}) in train mode", out, expected, mistakes)
    dout = rng.normal(size=expected.shape)
    expect_hidden_backward(name, model, reference, i, cache, reference_cache, dout)


def _in_mode(model, mode):
    """A copy of ``model`` whose batch norm layers stay in ``mode``."""
    model = copy.deepcopy(model)
    for bn_param in model.bn_params:
        bn_param["mode"] = mode
    return model


def _expect_training_call(name, model, reference, X, y, when, mistakes):
    """A training call of ``model.loss``, naming batch norm left in test mode also when it makes
    the backward pass crash (a test-mode forward pass leaves no cache)."""
    try:
        expect_same_loss(name, model, reference, X, y, when, mistakes)
    except ExerciseError:
        if any(bn_param.get("mode") == "test" for bn_param in model.bn_params):
            raise ExerciseError(f"{name}: the loss {when} is wrong: {LEFT_IN_TEST_MODE}") from None
        raise


LEFT_IN_TEST_MODE = "batch norm in test mode (with y given, loss must set every bn_param['mode'] to 'train')"
LEFT_IN_TRAIN_MODE = (
    "batch norm in train mode: loss(X) without labels is test mode, and must set every "
    "bn_param['mode'] to 'test' so that batch norm uses its running averages"
)


ROUNDING_ZERO = 1e-10  # far below any gradient of the checks' float64 networks, far above rounding


def without_rounding_in_biases(model):
    """``model`` with the gradient of every bias in front of a batch norm set to exactly zero
    when it is zero but for rounding: batch norm subtracts the bias again, so the gradient is
    zero, and each correct solution (staged or closed form) rounds it to another 1e-16."""

    def snapped(grads):
        for i in range(1, model.num_layers):
            gradient = grads.get(f"b{i}")
            if gradient is not None and np.max(np.abs(gradient), initial=0) < ROUNDING_ZERO:
                grads[f"b{i}"] = np.zeros_like(gradient)

    hidden_backward, loss = model.hidden_backward, model.loss

    def backward(dout, cache, i, grads):
        dx = hidden_backward(dout, cache, i, grads)
        snapped(grads)
        return dx

    def training_loss(X, y=None):
        result = loss(X, y)
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict):
            snapped(result[1])
        return result

    model.hidden_backward, model.loss = backward, training_loss
    return model


def _check_normalized_init(name, NormalizedNet):
    """NormalizedNet.__init__: FullyConnectedNet's weights, and a norm's parameters and own state
    for every hidden layer."""
    for normalization in (None, "batchnorm", "layernorm"):
        built = expect_fully_connected_init(
            name,
            NormalizedNet,
            models.NormalizedNet,
            seed_hint=" (pass the settings on: super().__init__(hidden_dims, **settings))",
            normalization=normalization,
        )
        for model, reference, when in built:
            when = f"{when}, normalization={normalization!r}"
            expect_settings(name, model, {"normalization": normalization}, when)
            bn_params = getattr(model, "bn_params", None)
            if not isinstance(bn_params, list) or len(bn_params) != len(reference.bn_params):
                raise ExerciseError(
                    f"{name}: {when}, self.bn_params should be a list of {len(reference.bn_params)} dicts, one per "
                    f"hidden layer{' (none without a norm)' if normalization is None else ''}; got {bn_params!r}"
                )
            if not all(isinstance(bn_param, dict) for bn_param in bn_params):
                raise ExerciseError(f"{name}: {when}, every entry of self.bn_params should be a dict")
            if len({id(bn_param) for bn_param in bn_params}) < len(bn_params):
                raise ExerciseError(
                    f"{name}: {when}, hidden layers share one dict in self.bn_params, so they would share their "
                    "running averages: make a new dict for each ([{}] * n repeats one dict n times)"
                )


def check_normalized_net(NormalizedNet):
    """A learner's ``NormalizedNet`` (a FullyConnectedNet with batch or layer norm between each
    hidden affine layer and its ReLU): its hooks, then a training call, a test call and a training
    call again against the book's network, on tiny float64 networks of each normalization."""
    name = "NormalizedNet"
    _check_normalized_init(name, NormalizedNet)
    for normalization, hidden_dims, reg in NORMALIZED_CASES:
        settings = {"normalization": normalization, "reg": reg}
        model, reference, X, y = network_pair(name, NormalizedNet, models.NormalizedNet, hidden_dims, **settings)
        if normalization == "batchnorm":
            model, reference = without_rounding_in_biases(model), without_rounding_in_biases(reference)
        when = f"for normalization={normalization!r}, hidden_dims={hidden_dims}"
        if normalization:
            rng = np.random.default_rng(len(hidden_dims))
            for i in range(1, model.num_layers):
                _check_normalized_layer(name, copy.deepcopy(model), copy.deepcopy(reference), i, rng)
        in_test_mode = (forward_loss(_in_mode(reference, "test"), X, y), {})
        _expect_training_call(name, model, reference, X, y, f"{when}, training", [(in_test_mode, LEFT_IN_TEST_MODE)])
        in_train_mode = forward_scores(_in_mode(reference, "train"), X)
        expect_same_loss(name, model, reference, X, None, f"{when}, test", [(in_train_mode, LEFT_IN_TRAIN_MODE)])
        in_test_mode = (forward_loss(_in_mode(reference, "test"), X, y), {})
        when_again = f"{when}, training after a test call"
        _expect_training_call(name, model, reference, X, y, when_again, [(in_test_mode, LEFT_IN_TEST_MODE)])
        for k, (ours, theirs) in enumerate(zip(model.bn_params, reference.bn_params)):
            for key in ("running_mean", "running_var") if normalization == "batchnorm" else ():
                expect_close(
                    name,
                    f"bn_params[{k}][{key!r}] after two training calls (hidden layer {k + 1} must normalize "
                    f"with self.bn_params[{k}], its own)",
                    ours.get(key),
                    theirs[key],
                )
        expect_hooks_used(name, NormalizedNet, models.NormalizedNet, hidden_dims, **settings)
    passed(name, NormalizedNet)
