"""What the checks of the networks share (lessons fully_connected, batch_norm, dropout and
convolutional_networks): a learner's ``__init__`` against the reference's (the parameters it
makes and how it draws them), and a learner's network built beside the reference's with the
same weights, its scores, loss and gradients compared, hidden layer by hidden layer, naming the
slips learners make.
"""

import numpy as np

from cifar_lessons.checks.core import ExerciseError, call, expect_close, expect_tuple, raise_hint
from cifar_lessons.from_scratch import layers

# The book's normalizations of a fully connected hidden layer: (forward, backward) of each
NORM_LAYERS = {
    "batchnorm": (layers.batchnorm_forward, layers.batchnorm_backward_alt),
    "layernorm": (layers.layernorm_forward, layers.layernorm_backward),
}
INPUT_SHAPE, NUM_CLASSES, BATCH = (2, 4), 4, 5  # tiny float64 networks: 5 examples of 2 x 4 values, 4 classes


def network_pair(name, network, reference_class, hidden_dims, seed=0, **settings):
    """A learner's ``network`` and a ``reference_class`` network of the same settings, with the
    same random parameters (biases away from 0, so that a penalty on them shows), float64.

    Returns ``(model, reference, X, y)`` with X (BATCH, *INPUT_SHAPE) and y (BATCH,) to run them on.
    """
    kwargs = dict(input_dim=int(np.prod(INPUT_SHAPE)), num_classes=NUM_CLASSES, dtype=np.float64, seed=seed, **settings)
    model = call(name, lambda: network(hidden_dims, **kwargs))
    reference = reference_class(hidden_dims, **kwargs)
    expect_parameters(name, model, reference, f"for hidden_dims={hidden_dims}")
    rng = np.random.default_rng(seed)
    for key, value in reference.params.items():
        if key.startswith("W"):
            value = rng.normal(scale=1 / np.sqrt(value.shape[0]), size=value.shape)
        elif key.startswith("gamma"):
            value = rng.uniform(0.5, 1.5, size=value.shape)
        else:
            value = rng.normal(scale=0.5, size=value.shape)
        reference.params[key], model.params[key] = value, value.copy()
    return model, reference, rng.normal(size=(BATCH, *INPUT_SHAPE)), rng.integers(NUM_CLASSES, size=BATCH)


def expect_parameters(name, model, reference, when):
    """``model.params`` against ``reference.params``, both built with the same settings: the same
    names, shapes and dtype, biases and betas at 0, gammas at 1."""
    params = getattr(model, "params", None)
    if not isinstance(params, dict):
        raise ExerciseError(f"{name}: __init__ should set self.params, a dict from a parameter's name to its array")
    missing, extra = sorted(set(reference.params) - set(params)), sorted(set(params) - set(reference.params))
    if missing or extra:
        raise ExerciseError(
            f"{name}: {when}, self.params should hold {sorted(reference.params, key=_parameter_order)}; "
            + "; ".join(part for part in (missing and f"{missing} missing", extra and f"{extra} extra") if part)
        )
    for key, expected in reference.params.items():
        value = params[key]
        if np.shape(value) != expected.shape:
            hint = ""
            if np.shape(value) == expected.shape[::-1] and key.startswith("W"):
                hint = f": {key} maps the values coming in (rows) to the ones going out (columns), x @ {key}"
            raise ExerciseError(
                f"{name}: {when}, params[{key!r}] has shape {np.shape(value)}, expected {expected.shape}{hint}"
            )
        if getattr(value, "dtype", None) != expected.dtype:
            raise ExerciseError(
                f"{name}: {when}, params[{key!r}] is {getattr(value, 'dtype', type(value).__name__)}, expected "
                f"{expected.dtype}: build every parameter in the dtype asked for (.astype(dtype))"
            )
        start = {"b": 0, "beta": 0, "gamma": 1}.get(key.rstrip("0123456789"))
        if start is not None and not np.all(value == start):
            raise ExerciseError(f"{name}: params[{key!r}] should start at {start} everywhere")


def _parameter_order(key):
    return (key.rstrip("0123456789"), int(key[len(key.rstrip("0123456789")) :] or 0))


def expect_weight_draws(name, build, weight_scale, seed_hint=""):
    """``build(seed)`` makes a network with ``weight_scale`` and enough weights to measure: its
    weights are N(0, weight_scale**2) draws, the same for the same seed, other for another seed,
    and from NumPy's global generator when the seed is None. ``seed_hint`` ends the message of a
    network that ignores its seed."""
    model = call(name, build, 3)
    weights = np.concatenate([w.ravel() for key, w in sorted(model.params.items()) if key.startswith("W")])
    sd, mean = float(weights.std()), float(weights.mean())
    expected = f"expected about {weight_scale:g}, the weight_scale"
    if abs(mean) > 0.1 * weight_scale:
        raise ExerciseError(
            f"{name}: the initial weights average {mean:.3g}: draw them from a normal distribution centred at 0 "
            "(rng.standard_normal), times weight_scale"
        )
    if not 0.9 * weight_scale < sd < 1.1 * weight_scale:
        for wrong, hint in (
            (1.0, "multiply the standard normal draws by weight_scale"),
            (weight_scale**2, "weight_scale is their standard deviation, not their variance"),
            (np.sqrt(weight_scale), "weight_scale is their standard deviation, not their variance"),
        ):
            if 0.9 * wrong < sd < 1.1 * wrong:
                raise ExerciseError(f"{name}: the initial weights have standard deviation {sd:.3g}, {expected}: {hint}")
        raise ExerciseError(f"{name}: the initial weights have standard deviation {sd:.3g}, {expected}")
    again, other = call(name, build, 3), call(name, build, 4)
    if not all(np.array_equal(model.params[key], again.params[key]) for key in model.params):
        raise ExerciseError(
            f"{name}: two networks built with seed=3 have different weights: with a seed, draw from "
            f"np.random.default_rng(seed){seed_hint}"
        )
    if all(np.array_equal(model.params[key], other.params[key]) for key in model.params):
        raise ExerciseError(f"{name}: seed=3 and seed=4 give the same weights: the seed must choose the draw")
    np.random.seed(7)
    first = call(name, build, None)
    np.random.seed(7)
    second = call(name, build, None)
    if not all(np.array_equal(first.params[key], second.params[key]) for key in first.params):
        raise ExerciseError(
            f"{name}: with seed=None, draw the weights from NumPy's global generator, np.random (a training run "
            "seeds it, so the run is reproducible): two networks built after np.random.seed(7) differ"
        )


def _loss_and_grads(name, model, X, y):
    return expect_tuple(name, call(name, model.loss, X, y), ["loss", "grads"])


def expect_cast_to_dtype(name, model, X, y, run_loss=_loss_and_grads):
    """A float32 ``model`` given float64 images ``X`` computes in float32: loss casts X to
    self.dtype. ``run_loss(name, model, X, y)`` returns its ``(loss, grads)``."""
    of_float32 = np.asarray(call(name, model.loss, X.astype(np.float32))).dtype
    if of_float32 != np.float32:
        raise ExerciseError(
            f"{name}: a float32 network's scores for float32 images are {of_float32}: some layer computes in "
            "float64 (an np.zeros without dtype?); every layer should keep its input's dtype"
        )
    of_float64 = np.asarray(call(name, model.loss, X)).dtype
    grads = run_loss(name, model, X, y)[1]
    wrong = sorted(key for key, grad in grads.items() if getattr(grad, "dtype", None) != np.float32)
    if of_float64 != np.float32 or wrong:
        raise ExerciseError(
            f"{name}: for float64 images a float32 network returns {of_float64} scores"
            + (f" and non-float32 gradients of {wrong}" if wrong else "")
            + ": cast X to self.dtype first in loss, X = X.astype(self.dtype), so that it computes in float32 "
            "(half the memory and time of float64)"
        )


def expect_settings(name, model, expected, when):
    """``model``'s attributes named in ``expected`` (name -> value) have those values."""
    for attribute, value in expected.items():
        if not hasattr(model, attribute):
            raise ExerciseError(f"{name}: __init__ should set self.{attribute} ({when}: {value!r})")
        if getattr(model, attribute) != value:
            raise ExerciseError(
                f"{name}: {when}, self.{attribute} is {getattr(model, attribute)!r}, expected {value!r}"
            )


def expect_fully_connected_init(name, network, reference_class, seed_hint="", **settings):
    """A FullyConnectedNet-style ``network(hidden_dims, ...)``: the parameters and settings it
    builds, against ``reference_class``'s with the same ``settings``, for softmax regression and
    networks of one to three hidden layers in both dtypes, and how it draws its weights.

    Returns the pairs ``(model, reference, when)`` it built, for a subclass's own checks."""
    built = []
    for hidden_dims in ([], [6, 5], [5, 7, 4]):
        for dtype in (np.float32, np.float64):
            kwargs = dict(input_dim=8, num_classes=4, reg=0.7, weight_scale=0.1, dtype=dtype, seed=0, **settings)
            model = call(name, lambda: network(hidden_dims, **kwargs))  # noqa: B023 (called at once)
            reference = reference_class(hidden_dims, **kwargs)
            when = f"for hidden_dims={hidden_dims}, dtype={np.dtype(dtype).name}"
            expect_parameters(name, model, reference, when)
            expect_settings(name, model, {"num_layers": len(hidden_dims) + 1, "reg": 0.7, "dtype": dtype}, when)
            built.append((model, reference, when))

    def wide(seed):
        return network([60, 50], input_dim=100, num_classes=10, weight_scale=0.05, seed=seed, **settings)

    expect_weight_draws(name, wide, 0.05, seed_hint)
    for model, reference, when in built:
        _expect_the_books_draws(name, model, reference, when, weight_scale=0.1, seed=0)
    return built


def _expect_the_books_draws(name, model, reference, when, weight_scale, seed):
    """With a seed, the weights are the ones the book's network draws: W1, W2, ... in order, each
    ``weight_scale * rng.standard_normal(shape)`` from ``rng = np.random.default_rng(seed)``, so
    that a seed means the same network in every chapter and in the learner's copy of it."""
    keys = sorted((key for key in reference.params if key.startswith("W")), key=_parameter_order)

    def same(weights):
        return all(np.allclose(model.params[key], weights[key], rtol=1e-6, atol=0) for key in keys)

    if same(reference.params):
        return

    def drawn(rng, order):
        return {key: weight_scale * rng.standard_normal(reference.params[key].shape) for key in order}

    for weights, hint in (
        (
            drawn(np.random.default_rng(seed), keys[::-1]),
            f"it draws the weights in reverse layer order, W{len(keys)} first: draw W1 first, then W2, ...",
        ),
        (
            drawn(np.random.RandomState(seed), keys),
            "it draws them from NumPy's legacy generator (np.random.seed(seed), then np.random.randn or "
            "np.random.standard_normal): with a seed, draw from rng = np.random.default_rng(seed), which leaves "
            "the global generator alone",
        ),
    ):
        if same(weights):
            raise ExerciseError(f"{name}: {when}, seed={seed}, the weights are not the book's: {hint}")
    raise ExerciseError(
        f"{name}: {when}, seed={seed}, the weights are not the book's: with a seed, draw W1, W2, ... in order "
        "from one rng = np.random.default_rng(seed), each weight_scale * rng.standard_normal((D_{i-1}, D_i)), "
        "with nothing else drawn between"
    )


def forward_scores(model, X, after_hidden=None):
    """The scores of ``model``'s hidden layers as they stand (no switch of train or test mode),
    with ``after_hidden(out)`` applied to every hidden layer's output if given."""
    out = X
    for i in range(1, model.num_layers):
        out, _ = model.hidden_forward(out, i)
        out = out if after_hidden is None else after_hidden(out)
    L = model.num_layers
    return layers.affine_forward(out, model.params[f"W{L}"], model.params[f"b{L}"])[0]


def penalty(model):
    """The L2 term of ``model``'s loss: 0.5 * reg * the sum of every W**2."""
    return sum(0.5 * model.reg * np.sum(w * w) for key, w in model.params.items() if key.startswith("W"))


def forward_loss(model, X, y, after_hidden=None):
    """The loss of :func:`forward_scores`, with the L2 term."""
    return layers.softmax_loss(forward_scores(model, X, after_hidden), y)[0] + penalty(model)


def expect_value(name, what, actual, expected, mistakes, advice=""):
    """``actual`` against ``expected``, naming the mistake when it equals one of ``mistakes``'
    (wrong_value, hint) that differ from ``expected``."""
    expected = np.asarray(expected, dtype=np.float64)
    candidates = [
        (wrong, hint)
        for wrong, hint in mistakes
        if wrong is not None and np.shape(wrong) == expected.shape and not np.allclose(wrong, expected, rtol=1e-6)
    ]
    if actual is not None and np.shape(actual) == expected.shape:
        raise_hint(name, what, np.asarray(actual, dtype=np.float64), candidates)
    expect_close(name, what, actual, expected, advice=advice)


def expect_same_loss(name, model, reference, X, y=None, when="", mistakes=(), advice=""):
    """``model.loss(X, y)`` against ``reference.loss(X, y)``: the scores when y is None (test
    mode), else the loss and the gradient of every parameter.

    ``mistakes`` are ``(output, hint)`` pairs: the output a known mistake gives on this call
    (scores, or ``(loss, grads)``), and the hint that names it. ``advice`` ends the message of
    a wrong gradient. Returns the learner's output.
    """
    expected = reference.loss(X.copy(), y)
    result = call(name, model.loss, X.copy(), y)
    if y is None:
        if isinstance(result, tuple) or np.ndim(result) == 0:
            raise ExerciseError(
                f"{name}: loss(X) without labels is test mode and should return the scores (N, C), not the loss"
            )
        expect_value(name, f"the scores {when}", result, expected, mistakes)
        return result
    loss, grads = expect_tuple(name, result, ["loss", "grads"])
    if np.ndim(loss) != 0:
        raise ExerciseError(f"{name}: the loss should be one number, got shape {np.shape(loss)}")
    expect_value(name, f"the loss {when}", loss, expected[0], [(wrong[0], hint) for wrong, hint in mistakes])
    if not isinstance(grads, dict):
        raise ExerciseError(f"{name}: grads should be a dict, parameter name -> gradient; got {type(grads).__name__}")
    for key in reference.params:
        if key not in grads:
            raise ExerciseError(
                f"{name}: grads has no {key!r}; store the gradient of every parameter under its name "
                "(the Solver updates each params[name] with grads[name])"
            )
        wrong_grads = [(wrong[1].get(key), hint) for wrong, hint in mistakes]
        expect_value(name, f"grads[{key!r}] {when}", grads[key], expected[1][key], wrong_grads, advice)
    return result


def regularization_mistakes(reference, expected):
    """The loss and gradients that the usual slips with the L2 term give, and their names."""
    loss, grads = expected
    weights = {key: w for key, w in reference.params.items() if key.startswith("W")}
    biases = {key: b for key, b in reference.params.items() if key.startswith("b")}
    reg, L = reference.reg, reference.num_layers
    term = penalty(reference)

    def with_grads(scale):
        return {**grads, **{key: grads[key] + scale * reg * w for key, w in weights.items()}}

    return [
        ((loss - term, grads), "it misses the L2 term 0.5 * reg * sum(W**2) over every weight matrix"),
        ((loss + term, grads), "the L2 term is 0.5 * reg * sum(W**2): the 0.5 is missing"),
        (
            (loss - term + 0.5 * reg * np.sum(weights[f"W{L}"] ** 2), grads),
            f"the L2 term sums over every weight matrix, W1 to W{L}, not only the last one",
        ),
        (
            (loss - 0.5 * reg * np.sum(weights[f"W{L}"] ** 2), grads),
            f"the L2 term sums over every weight matrix, W1 to W{L}, the last one too",
        ),
        (
            (
                loss + sum(0.5 * reg * np.sum(b * b) for b in biases.values()),
                {**grads, **{key: grads[key] + reg * b for key, b in biases.items()}},
            ),
            "the L2 term covers the weights W1 ... WL only, not the biases",
        ),
        ((loss, with_grads(-1)), "the gradient misses the L2 term's share, reg * W"),
        ((loss, with_grads(1)), "the gradient of 0.5 * reg * sum(W**2) is reg * W, not 2 * reg * W"),
        ((loss, with_grads(-0.5)), "the gradient of 0.5 * reg * sum(W**2) is reg * W, not 0.5 * reg * W"),
    ]


NO_RELU_ON_SCORES = (
    "the scores are the last affine layer's output: no ReLU after it (they go to the softmax as they are)"
)


def hidden_input(reference, i, rng):
    """A random input for hidden layer i of ``reference``: (BATCH, *INPUT_SHAPE) or (BATCH, D_{i-1})."""
    return rng.normal(size=(BATCH, *INPUT_SHAPE) if i == 1 else (BATCH, reference.params[f"W{i}"].shape[0]))


def expect_hidden_backward(name, model, reference, i, cache, reference_cache, dout, mistakes=()):
    """``model.hidden_backward(dout, cache, i, grads)`` against the reference's: the dx it returns
    and every gradient it stores. ``mistakes`` are ``(dx, grads, hint)`` of known slips."""
    grads, expected_grads = {}, {}
    dx = call(name, model.hidden_backward, dout, cache, i, grads)
    if isinstance(dx, tuple):
        raise ExerciseError(
            f"{name}: hidden_backward should return dx alone, and store its parameters' gradients in grads"
        )
    expected_dx = reference.hidden_backward(dout, reference_cache, i, expected_grads)
    what = f"hidden_backward(dout, cache, {i}, grads)"
    expect_value(name, f"the dx {what} returns", dx, expected_dx, [(wrong, hint) for wrong, _, hint in mistakes])
    for key, expected in expected_grads.items():
        if key not in grads:
            raise ExerciseError(f"{name}: {what} should store the gradient of {key} in grads[{key!r}]")
        wrong_grads = [(wrong.get(key), hint) for _, wrong, hint in mistakes]
        if key.startswith("W"):
            wrong_grads.append(
                (
                    expected + reference.reg * reference.params[key],
                    "hidden_backward leaves out the L2 term: loss() adds reg * W once, to every weight gradient",
                )
            )
        expect_value(name, f"grads[{key!r}] from {what}", grads[key], expected, wrong_grads)


def expect_hooks_used(name, network, reference_class, hidden_dims, **settings):
    """``network``'s loss must run every hidden layer through ``hidden_forward`` and ``hidden_backward``."""
    order = []

    class Watched(network):
        def hidden_forward(self, x, i):
            order.append(("hidden_forward", i))
            return super().hidden_forward(x, i)

        def hidden_backward(self, dout, cache, i, grads):
            order.append(("hidden_backward", i))
            return super().hidden_backward(dout, cache, i, grads)

    model, _, X, y = network_pair(name, Watched, reference_class, hidden_dims, **settings)
    call(name, model.loss, X, y)
    L = model.num_layers
    expected = [("hidden_forward", i) for i in range(1, L)] + [("hidden_backward", i) for i in range(L - 1, 0, -1)]
    if order != expected:
        raise ExerciseError(
            f"{name}: loss() should run hidden layer i through self.hidden_forward(x, i), for i = 1 to {L - 1}, "
            f"then through self.hidden_backward(dout, cache, i, grads) from i = {L - 1} down to 1; it called "
            f"{order or 'neither'}. The next chapters change the hidden layers by overriding these two methods"
        )
