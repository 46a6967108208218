"""Checks of the dropout lesson (notebook 04): inverted dropout, forward and backward, and the
network that applies it after every hidden ReLU."""

import copy
import functools
import types

import numpy as np

from cifar_lessons.checks.batch_norm import without_rounding_in_biases
from cifar_lessons.checks.core import (
    ExerciseError,
    call,
    expect_close,
    expect_tuple,
    passed,
    raise_hint,
    with_advice,
)
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
from cifar_lessons.from_scratch import layers, models


def _dropout_case():
    rng = np.random.default_rng(0)
    return rng.uniform(1.0, 2.0, size=(400, 250)), rng.normal(size=(400, 250))  # no zeros: 0 marks a drop


def check_dropout_forward(dropout_forward):
    """Keep probability, 1/p scaling, seeding and test mode of a learner's inverted dropout."""
    name, (x, _), p = "dropout_forward", _dropout_case(), 0.3
    param = {"p": p, "mode": "train", "seed": 0}
    out, _ = expect_tuple(name, call(name, dropout_forward, x, dict(param)), ["out", "cache"])
    out = np.asarray(out)
    if out.shape != x.shape:
        raise ExerciseError(f"{name}: out has shape {out.shape}, expected x's shape {x.shape}")
    kept = out != 0
    fraction = kept.mean()
    allowed = 5 * np.sqrt(p * (1 - p) / x.size)  # five standard deviations of a binomial fraction
    if abs(fraction - (1 - p)) < allowed:
        raise ExerciseError(
            f"{name}: it kept {fraction:.1%} of the units, about 1 - p; p is the probability "
            "of KEEPING a unit: keep where rand < p"
        )
    if abs(fraction - p) > allowed:
        raise ExerciseError(f"{name}: it kept {fraction:.1%} of the units, expected about p = {p:.0%}")
    scale = out[kept] / x[kept]
    for wrong, hint in [
        (1.0, "inverted dropout divides the kept units by p, so that test mode needs no scaling"),
        (1 / (1 - p), "divide the kept units by p (the keep probability), not by 1 - p"),
        (p, "they are multiplied by p; inverted dropout divides them by p, so that their mean stays x"),
    ]:
        if np.allclose(scale, wrong):
            raise ExerciseError(f"{name}: kept units are x * {wrong:.3g}: {hint}")
    if not np.allclose(scale, 1 / p):
        raise ExerciseError(
            f"{name}: a kept unit should equal x / p = x * {1 / p:.3g}; yours range over "
            f"x * [{scale.min():.3g}, {scale.max():.3g}]"
        )
    test_out, _ = call(name, dropout_forward, x, {"p": p, "mode": "test"})
    if not np.array_equal(test_out, x):
        raise ExerciseError(f"{name}: test mode must return x unchanged (inverted dropout did its scaling in training)")
    again, _ = call(name, dropout_forward, x, dict(param))
    if not np.array_equal(again, out):
        raise ExerciseError(
            f"{name}: two calls with the same dropout_param['seed'] drew different masks; "
            "draw the mask from a generator seeded with it"
        )
    if not np.array_equal(kept, np.random.default_rng(param["seed"]).random(x.shape) < p):
        legacy = np.array_equal(kept, np.random.RandomState(param["seed"]).random_sample(x.shape) < p)
        raise ExerciseError(
            f"{name}: with dropout_param['seed'] set, "
            + ("it draws from np.random.RandomState(seed) or np.random.seed(seed); " if legacy else "")
            + "draw the mask as rng.random(x.shape) < p with rng = np.random.default_rng(seed), or your numbers differ "
            "from the book's (and np.random.seed would reset NumPy's global generator too)"
        )
    single, _ = call(name, dropout_forward, x.astype(np.float32), dict(param))
    if np.asarray(single).dtype != np.float32:
        raise ExerciseError(
            f"{name}: for float32 x, out is {np.asarray(single).dtype}; it should keep x's dtype (build the mask "
            "in x.dtype, e.g. (rng.random(x.shape) < p).astype(x.dtype) / p), or a float32 network silently "
            "computes in float64"
        )
    state = np.random.get_state()
    try:
        masks = []
        for _ in range(2):
            np.random.seed(1)
            masks.append(np.asarray(call(name, dropout_forward, x, {"p": p, "mode": "train"})[0]) != 0)
    finally:
        np.random.set_state(state)
    if not np.array_equal(*masks):
        raise ExerciseError(
            f"{name}: without dropout_param['seed'], two calls after np.random.seed(1) drew different masks; draw "
            "from NumPy's global generator (np.random.random(x.shape) < p), not a new np.random.default_rng()"
        )
    passed(name, dropout_forward)


def check_dropout_backward(dropout_forward, dropout_backward):
    """A learner's dropout backward pass: the forward mask in train mode, the identity in test mode."""
    name, (x, dout), p = "dropout_backward", _dropout_case(), 0.3
    train = {"p": p, "mode": "train", "seed": 0}
    out, cache = expect_tuple("dropout_forward", call("dropout_forward", dropout_forward, x, train), ["out", "cache"])
    mask = np.asarray(out) / x
    dx = call(name, dropout_backward, dout, cache)
    raise_hint(
        name,
        "dx in train mode",
        dx,
        [
            (dout, "pass the gradient through the forward mask: dx = dout * mask"),
            (dout * (mask != 0), "the mask includes the 1 / p scale, so dx = dout * mask also divides by p"),
        ],
    )
    expect_close(name, "dx in train mode (it should be dout * mask, the mask of the forward pass)", dx, dout * mask)
    test = {"p": p, "mode": "test"}
    _, cache = expect_tuple("dropout_forward", call("dropout_forward", dropout_forward, x, test), ["out", "cache"])
    expect_close(name, "dx in test mode (it should be dout unchanged)", call(name, dropout_backward, dout, cache), dout)
    passed(name, dropout_backward)


# ---------------------------------------------------------------------------------------------
# The network with dropout after every hidden ReLU

DROPOUT_CASES = [  # normalization, hidden_dims, dropout_keep_ratio, reg
    (None, [6, 5], 0.5, 0.0),
    ("batchnorm", [6, 5], 0.6, 0.3),
    ("layernorm", [5, 7, 4], 0.75, 0.0),
    (None, [6], 1, 0.3),
]


def _reference_network(dropout_forward, dropout_backward):
    """The book's DropoutNet computing with the learner's dropout functions: their masks, which a
    seed fixes but which another (correct) way of drawing them may draw otherwise. Its methods'
    code is the book's own, run with those two names bound to the learner's functions."""
    namespace = {**vars(models), "dropout_forward": dropout_forward, "dropout_backward": dropout_backward}
    methods = {}
    for name in ("hidden_forward", "hidden_backward"):
        method = getattr(models.DropoutNet, name)
        methods[name] = types.FunctionType(method.__code__, namespace, name, method.__defaults__, method.__closure__)
    return type("Reference", (models.DropoutNet,), methods)


def _in_dropout_mode(model, mode):
    """A copy of ``model`` whose dropout stays in ``mode``."""
    model = copy.deepcopy(model)
    model.dropout_param["mode"] = mode
    return model


def _dropout_layer_mistakes(reference, dropout_forward, x, i):
    """The outputs of hidden layer i with dropout left out or put elsewhere, and their names."""
    if not reference.use_dropout:
        return []
    params, param = reference.params, dict(reference.dropout_param)
    no_dropout = models.NormalizedNet.hidden_forward(copy.deepcopy(reference), x, i)[0]
    norm = NORM_LAYERS.get(reference.normalization, (None,))[0]

    def normalized(z):
        return z if norm is None else norm(z, params[f"gamma{i}"], params[f"beta{i}"], {"mode": "train"})[0]

    affine = layers.affine_forward(x, params[f"W{i}"], params[f"b{i}"])[0]
    dropped_input = layers.affine_forward(dropout_forward(x, param)[0], params[f"W{i}"], params[f"b{i}"])[0]
    return [
        (no_dropout, "no unit was dropped: apply dropout_forward(out, self.dropout_param) after the ReLU"),
        (
            np.maximum(normalized(dropped_input), 0),
            "dropout comes last in a hidden layer, on its output, not on its input x",
        ),
        (
            np.maximum(normalized(dropout_forward(affine, param)[0]), 0),
            "dropout comes after the ReLU, not before the normalization",
        ),
    ]


def _check_dropout_layer(name, model, reference, dropout_forward, i, rng):
    """hidden_forward(x, i) and hidden_backward(dout, cache, i, grads) of a layer ending in dropout."""
    x = hidden_input(reference, i, rng)
    out, cache = expect_tuple(f"{name}.hidden_forward", call(name, model.hidden_forward, x, i), ["out", "cache"])
    mistakes = _dropout_layer_mistakes(reference, dropout_forward, x, i)
    expected, reference_cache = reference.hidden_forward(x, i)
    expect_value(name, f"hidden_forward(x, {i}) in train mode", out, expected, mistakes)
    dout = rng.normal(size=expected.shape)
    unmasked_grads = {}
    unmasked_dx = models.NormalizedNet.hidden_backward(reference, dout, reference_cache[0], i, unmasked_grads)
    unmasked = (unmasked_dx, unmasked_grads, "hidden_backward sends dout back through dropout_backward first")
    expect_hidden_backward(name, model, reference, i, cache, reference_cache, dout, [unmasked])


def _check_dropout_init(name, DropoutNet):
    """DropoutNet.__init__: NormalizedNet's parameters, with the seed passed on, and dropout's state."""
    for keep in (0.75, 1):
        built = expect_fully_connected_init(
            name,
            DropoutNet,
            models.DropoutNet,
            seed_hint=" (DropoutNet takes the seed for its masks; pass it on too: super().__init__(..., seed=seed))",
            normalization="batchnorm",
            dropout_keep_ratio=keep,
        )
        for model, reference, when in built:
            when = f"{when}, dropout_keep_ratio={keep}, seed=0"
            expect_settings(name, model, {"use_dropout": keep != 1}, when)
            if keep == 1:
                continue
            param = getattr(model, "dropout_param", None)
            if not isinstance(param, dict):
                raise ExerciseError(f"{name}: __init__ should set self.dropout_param, a dict ({when})")
            if param.get("p") == 1 - keep:
                raise ExerciseError(
                    f"{name}: dropout_param['p'] is the probability of KEEPING a unit: {keep}, not {1 - keep}"
                )
            if param != reference.dropout_param:
                raise ExerciseError(
                    f"{name}: {when}, self.dropout_param is {param!r}, expected {reference.dropout_param!r}: "
                    "'p' the keep ratio, 'mode' 'train', and with a seed the seed, so that every call draws one mask"
                )
    unseeded = call(name, lambda: DropoutNet([5], input_dim=4, num_classes=3, dropout_keep_ratio=0.5))
    if "seed" in getattr(unseeded, "dropout_param", {}):
        raise ExerciseError(
            f"{name}: built without a seed, dropout_param holds a 'seed': training needs a fresh mask every step"
        )


def check_dropout_net(DropoutNet, dropout_forward, dropout_backward):
    """A learner's ``DropoutNet`` (a NormalizedNet with dropout after every hidden ReLU): its hooks,
    then a training call, a test call and a training call again against the book's network on the
    learner's dropout functions, on tiny float64 networks whose seed fixes the dropout mask."""
    name = "DropoutNet"
    _check_dropout_init(name, DropoutNet)
    Reference = _reference_network(dropout_forward, dropout_backward)
    for normalization, hidden_dims, keep, reg in DROPOUT_CASES:
        settings = {"normalization": normalization, "dropout_keep_ratio": keep, "reg": reg}
        when = f"for dropout_keep_ratio={keep}, normalization={normalization!r}, hidden_dims={hidden_dims}"
        try:
            model, reference, X, y = network_pair(name, DropoutNet, Reference, hidden_dims, **settings)
            if normalization == "batchnorm":
                model, reference = without_rounding_in_biases(model), without_rounding_in_biases(reference)
            rng = np.random.default_rng(len(hidden_dims))
            for i in range(1, model.num_layers):
                _check_dropout_layer(name, copy.deepcopy(model), copy.deepcopy(reference), dropout_forward, i, rng)
            in_test_mode = (forward_loss(_in_dropout_mode(reference, "test"), X, y), {})
            left_in_test_mode = "no unit was dropped: with y given, set self.dropout_param['mode'] = 'train'"
            expect_same_loss(name, model, reference, X, y, f"{when}, training", [(in_test_mode, left_in_test_mode)])
            test_mistakes = [
                (
                    forward_scores(_in_dropout_mode(reference, "train"), X),
                    "units were dropped in test mode: loss(X) without labels must set "
                    "self.dropout_param['mode'] = 'test'",
                ),
                (
                    forward_scores(_in_dropout_mode(reference, "test"), X, functools.partial(np.multiply, keep)),
                    "inverted dropout did its scaling in training (the kept units were divided by p): "
                    "test mode uses every unit as it is, not multiplied by p",
                ),
            ]
            expect_same_loss(name, model, reference, X, None, f"{when}, test", test_mistakes)
            in_test_mode = (forward_loss(_in_dropout_mode(reference, "test"), X, y), {})
            when_again = f"{when}, training after a test call"
            expect_same_loss(name, model, reference, X, y, when_again, [(in_test_mode, left_in_test_mode)])
        except ExerciseError as error:
            if keep == 1 and "crashed" in str(error):
                raise with_advice(
                    error,
                    "With dropout_keep_ratio=1 the network has no dropout: self.use_dropout is False and "
                    "self.dropout_param is empty, so apply dropout only when self.use_dropout",
                ) from None
            raise
        expect_hooks_used(name, DropoutNet, Reference, hidden_dims, **settings)
    passed(name, DropoutNet)
