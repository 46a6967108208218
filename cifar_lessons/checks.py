"""Exercise checks: run a learner's function on seeded inputs and say precisely what is wrong.

Every ``check_*(fn)`` prints one line, ``<name>: all checks passed``, or raises
:class:`ExerciseError` naming the output or gradient that is wrong, its shape or how far
off it is and where. A function that still raises ``NotImplementedError`` gets
"not implemented yet". Backward passes are checked against numerical gradients of the
reference forward pass (float64), so the learner's backward receives the reference's cache.
"""
import numpy as np

from cifar_lessons import layers, optim
from cifar_lessons.gradient_check import eval_numerical_gradient_array, rel_error

GRADIENT_TOLERANCE = 1e-6  # float64 centered differences agree with a correct gradient to ~1e-9
VALUE_TOLERANCE = 1e-7


class ExerciseError(AssertionError):
    """An exercise's function is wrong; the message says what and where."""


# ---------------------------------------------------------------------------------------------
# Shared core: calling, comparing, reporting


def call(name, fn, *args):
    """``fn(*args)``, turning a missing or crashing implementation into a clear ExerciseError."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise ExerciseError(f"{name}: not implemented yet (it raises NotImplementedError); "
                            "write its body and run the cell again") from None
    except ExerciseError:
        raise
    except Exception as error:
        raise ExerciseError(f"{name} crashed: {type(error).__name__}: {error}") from error


def expect_tuple(name, result, names):
    """``result`` unpacked into ``len(names)`` values, or an ExerciseError naming the expected form."""
    form = "(" + ", ".join(names) + ")"
    if not isinstance(result, tuple) or len(result) != len(names):
        got = f"a tuple of {len(result)}" if isinstance(result, tuple) else type(result).__name__
        raise ExerciseError(f"{name} should return {form}, got {got}")
    return result


def _hint(actual, expected, where=None):
    """A guess at the mistake behind a mismatch, or ''."""
    if actual.shape == expected.shape[::-1] and actual.ndim == 2 and rel_error(actual.T, expected) < 1e-5:
        return " It looks transposed."
    if rel_error(actual, -expected) < 1e-5:
        return " It has the wrong sign."
    if where is not None:
        wrong = ~np.isclose(actual, expected, rtol=1e-5, atol=1e-8)
        for mask, description in where:
            if wrong.any() and not wrong[~mask].any():
                return f" It is wrong only {description}."
    return ""


def expect_close(name, what, actual, expected, tolerance=VALUE_TOLERANCE, where=None, advice=""):
    """Raise an ExerciseError unless ``actual`` has ``expected``'s shape and relative error <= tolerance.

    ``where`` is an optional list of ``(mask, description)``: when every wrong entry lies in
    one mask, the message says so (e.g. "where the input was negative"). ``advice`` ends the
    message of a wrong or non-finite value.
    """
    expected = np.asarray(expected, dtype=np.float64)
    if actual is None:
        raise ExerciseError(f"{name}: {what} is None; expected an array of shape {expected.shape}")
    actual = np.asarray(actual, dtype=np.float64)
    if actual.shape != expected.shape:
        hint = " (transposed?)" if actual.shape == expected.shape[::-1] else ""
        raise ExerciseError(f"{name}: {what} has shape {actual.shape}, expected {expected.shape}{hint}")
    if not np.all(np.isfinite(actual)):
        raise ExerciseError(f"{name}: {what} holds NaN or inf (overflow?). {advice}".rstrip())
    error = rel_error(actual, expected)
    if error > tolerance:
        index = np.unravel_index(np.argmax(np.abs(actual - expected)), actual.shape)
        raise ExerciseError(
            f"{name}: {what} is wrong: relative error {error:.1e} (tolerance {tolerance:.0e}); at index "
            f"{tuple(int(i) for i in index)} it is {actual[index]:.6g}, expected {expected[index]:.6g}."
            + _hint(actual, expected, where) + (f" {advice}" if advice else ""))


def expect_gradients(name, backward, forward, inputs, dout, where=None):
    """Check a learner's ``backward(dout, cache)`` against numerical gradients of ``forward``.

    ``forward(*inputs.values())`` is the reference ``-> (out, cache)``; ``inputs`` maps each
    differentiated argument's name to its float64 array (non-array arguments can be bound into
    ``forward``). The learner's backward must return one gradient per input, in order (a
    single array when there is one input).
    """
    names = list(inputs)
    _, cache = forward(*inputs.values())
    result = call(name, backward, dout, cache)
    grads = (result,) if len(names) == 1 else expect_tuple(name, result, ["d" + n for n in names])
    for position, (input_name, grad) in enumerate(zip(names, grads)):
        def output_of(value, position=position):
            args = list(inputs.values())
            args[position] = value
            return forward(*args)[0]

        numeric = eval_numerical_gradient_array(output_of, inputs[input_name].copy(), dout)
        expect_close(name, "d" + input_name, grad, numeric, GRADIENT_TOLERANCE, where)


def passed(name):
    print(f"{name}: all checks passed")


# ---------------------------------------------------------------------------------------------
# Chapter 1: affine, ReLU, losses, update rules


def _affine_inputs(rng, shape=(3, 2, 4, 5), M=6):
    D = int(np.prod(shape[1:]))
    return {"x": rng.standard_normal(shape), "w": rng.standard_normal((D, M)), "b": rng.standard_normal(M)}


def check_affine_forward(affine_forward):
    """``affine_forward(x, w, b) -> (out, cache)`` on 2-D and 4-D inputs."""
    rng = np.random.default_rng(0)
    for shape in ((4, 7), (3, 2, 4, 5)):
        inputs = _affine_inputs(rng, shape)
        out, _ = expect_tuple("affine_forward", call("affine_forward", affine_forward, *inputs.values()),
                              ["out", "cache"])
        expected = layers.affine_forward(*inputs.values())[0]
        expect_close("affine_forward", f"out for x of shape {shape}", out, expected)
    passed("affine_forward")


def check_affine_backward(affine_backward):
    """``affine_backward(dout, cache) -> (dx, dw, db)`` with cache = (x, w, b)."""
    rng = np.random.default_rng(1)
    for shape in ((4, 7), (3, 2, 4, 5)):
        inputs = _affine_inputs(rng, shape)
        dout = rng.standard_normal((shape[0], inputs["w"].shape[1]))
        expect_gradients("affine_backward", affine_backward, layers.affine_forward, inputs, dout)
    passed("affine_backward")


def _relu_input(rng, shape=(4, 6)):
    """Entries at least 0.1 away from the kink, where the numerical gradient is exact."""
    x = rng.uniform(0.1, 1.0, shape) * rng.choice([-1.0, 1.0], shape)
    return x


def check_relu_forward(relu_forward):
    """``relu_forward(x) -> (out, cache)``."""
    x = _relu_input(np.random.default_rng(2), (3, 4, 5))
    out, _ = expect_tuple("relu_forward", call("relu_forward", relu_forward, x.copy()), ["out", "cache"])
    expect_close("relu_forward", "out", out, layers.relu_forward(x)[0],
                 where=[(x < 0, "where the input is negative"), (x > 0, "where the input is positive")])
    passed("relu_forward")


def check_relu_backward(relu_backward):
    """``relu_backward(dout, cache) -> dx`` with cache = x."""
    rng = np.random.default_rng(3)
    x = _relu_input(rng, (3, 4, 5))
    dout = rng.standard_normal(x.shape)
    expect_gradients("relu_backward", relu_backward, layers.relu_forward, {"x": x}, dout,
                     where=[(x < 0, "where the input was negative: there the gradient must be 0"),
                            (x > 0, "where the input was positive: there dout passes through unchanged")])
    passed("relu_backward")


def _check_loss(name, loss_fn, reference, description):
    """Loss and gradient on tiny and on random scores; finite loss on huge ones."""
    rng = np.random.default_rng(4)
    N, C = 20, 10
    y = rng.integers(C, size=N)
    for scale, label in ((1e-3, "scores near 0"), (1.0, "random scores")):
        x = scale * rng.standard_normal((N, C))
        loss, dx = expect_tuple(name, call(name, loss_fn, x.copy(), y), ["loss", "dx"])
        if not np.ndim(loss) == 0:
            raise ExerciseError(f"{name}: loss should be a scalar (the mean over the batch), "
                                f"got shape {np.shape(loss)}")
        expect_close(name, f"loss on {label}", loss, reference(x, y)[0])
        numeric = eval_numerical_gradient_array(lambda v: reference(v, y)[0], x.copy(), 1.0)
        expect_close(name, f"dx on {label}", dx, numeric, GRADIENT_TOLERANCE)
    x = 1e4 * rng.standard_normal((N, C))
    loss, dx = call(name, loss_fn, x.copy(), y)
    if not (np.isfinite(loss) and np.all(np.isfinite(dx))):
        raise ExerciseError(f"{name}: loss or dx is NaN or inf for scores around 1e4; {description}")
    expect_close(name, "loss on scores around 1e4", loss, reference(x, y)[0])
    passed(name)


def check_softmax_loss(softmax_loss):
    """``softmax_loss(x, y) -> (loss, dx)``: mean cross-entropy, ~log(10) for scores near 0."""
    _check_loss("softmax_loss", softmax_loss, layers.softmax_loss,
                "subtract each row's maximum score before np.exp so it cannot overflow")


def check_svm_loss(svm_loss):
    """``svm_loss(x, y) -> (loss, dx)``: mean hinge loss, ~C - 1 = 9 for scores near 0."""
    _check_loss("svm_loss", svm_loss, layers.svm_loss, "the hinge needs no exponentials")


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
    passed(name)


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
    _check_update_rule("adam", adam, {"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
                       advice="Increment t before the bias correction, so step 1 divides m by 1 - beta1.")


# ---------------------------------------------------------------------------------------------
# Chapter 2: batch norm, layer norm, dropout


def _raise_hint(name, what, actual, candidates, tolerance=1e-7):
    """Raise naming the mistake when ``actual`` equals one of the (wrong_result, hint) candidates."""
    actual = np.asarray(actual)
    for wrong, hint in candidates:
        if actual.shape == np.shape(wrong) and rel_error(actual, wrong) < tolerance:
            raise ExerciseError(f"{name}: {what} is wrong: {hint}")


def _normalization_case(N=8, D=5, seed=0):
    """float64 data whose mean and spread are far from 0 and 1, so that each mistake shows."""
    rng = np.random.default_rng(seed)
    return {"x": rng.normal(3.0, 2.0, size=(N, D)), "gamma": rng.uniform(0.5, 2.0, size=D),
            "beta": rng.normal(size=D), "dout": rng.normal(size=(N, D)),
            "running_mean": rng.normal(size=D), "running_var": rng.uniform(0.5, 2.0, size=D)}


def _standardized(x, axis, eps, ddof=0):
    return (x - x.mean(axis=axis, keepdims=True)) / np.sqrt(x.var(axis=axis, ddof=ddof, keepdims=True) + eps)


def _forward_hints(case, axis, eps):
    """Wrong outputs of a normalization forward pass and what each mistake is."""
    x, gamma, beta = case["x"], case["gamma"], case["beta"]
    other = "each example over its features (axis=1), which is layer norm" if axis == 0 else \
        "each feature over the batch (axis=0), which is batch norm"
    mean = x.mean(axis=axis, keepdims=True)
    return [
        (gamma * _standardized(x, 1 - axis, eps) + beta, f"it normalizes {other}"),
        (gamma * _standardized(x, axis, eps, ddof=1) + beta,
         "use the biased variance x.var(axis) (divide by the count, not count - 1)"),
        (_standardized(x, axis, eps), "scale by gamma and shift by beta after normalizing"),
        (gamma * (x - mean) / np.sqrt(x.var(axis=axis, keepdims=True)) + beta,
         "add eps under the square root: (x - mean) / sqrt(var + eps)"),
        (gamma * (x - mean) / (x.std(axis=axis, keepdims=True) + eps) + beta,
         "add eps to the variance, inside the square root: sqrt(var + eps), not std + eps"),
    ]


def check_batchnorm_forward(batchnorm_forward):
    """Train mode (output, running estimates) and test mode of a learner's batch norm forward pass."""
    name, case = "batchnorm_forward", _normalization_case()
    momentum, eps = layers.BATCHNORM_DEFAULTS["momentum"], layers.BATCHNORM_DEFAULTS["eps"]
    x, gamma, beta = case["x"], case["gamma"], case["beta"]

    def param(mode):
        return {"mode": mode, "eps": eps, "momentum": momentum,
                "running_mean": case["running_mean"].copy(), "running_var": case["running_var"].copy()}

    expected_param = param("train")
    expected, _ = layers.batchnorm_forward(x, gamma, beta, expected_param)
    bn_param = param("train")
    out, _ = expect_tuple(name, call(name, batchnorm_forward, x, gamma, beta, bn_param), ["out", "cache"])
    running_mean, running_var = case["running_mean"], case["running_var"]
    _raise_hint(name, "the train-mode output", out, _forward_hints(case, 0, eps) + [
        (gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta,
         "train mode normalizes with the batch's own mean and variance, not the running estimates")])
    expect_close(name, "the train-mode output", out, expected)

    batch_mean, batch_var, unbiased_var = x.mean(axis=0), x.var(axis=0), x.var(axis=0, ddof=1)
    for key, old, batch, extra in [
        ("running_mean", running_mean, batch_mean, []),
        ("running_var", running_var, batch_var,
         [(momentum * running_var + (1 - momentum) * unbiased_var,
           "fold in the biased batch variance (divide by N), the one that normalized the batch")]),
    ]:
        what = f"bn_param[{key!r}] after a train step"
        if key not in bn_param:
            raise ExerciseError(f"{name}: train mode must store the updated estimate in bn_param[{key!r}]")
        _raise_hint(name, what, bn_param[key], extra + [
            (old, "train mode must update it (and store the new array back in bn_param)"),
            ((1 - momentum) * old + momentum * batch,
             f"momentum weights the old estimate: {key} = momentum * {key} + (1 - momentum) * batch value"),
        ])
        expect_close(name, what, bn_param[key], expected_param[key])

    bn_param = param("test")
    expected, _ = layers.batchnorm_forward(x, gamma, beta, param("test"))
    out, _ = expect_tuple(name, call(name, batchnorm_forward, x, gamma, beta, bn_param), ["out", "cache"])
    _raise_hint(name, "the test-mode output", out, [
        (layers.batchnorm_forward(x, gamma, beta, param("train"))[0],
         "test mode normalizes with bn_param['running_mean'] and bn_param['running_var'], not the batch's "
         "statistics")])
    expect_close(name, "the test-mode output", out, expected)
    for key in ("running_mean", "running_var"):
        expect_close(name, f"bn_param[{key!r}] after a test-mode call (test mode must not change it)",
                 bn_param[key], case[key])

    fresh = {"mode": "train"}
    call(name, batchnorm_forward, x, gamma, beta, fresh)
    for key in ("running_mean", "running_var"):
        if np.shape(fresh.get(key)) != gamma.shape:
            raise ExerciseError(f"{name}: with no running estimates in bn_param yet, train mode must create "
                                f"bn_param[{key!r}] of shape {gamma.shape}")
    passed(name)


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
    mean_path = dx_hat.mean(axis=axis, keepdims=True)
    variance_path = x_hat * (dx_hat * x_hat).mean(axis=axis, keepdims=True)
    hints = [
        [(inv_std * dx_hat, "it treats the mean and variance as constants, but every x moves them too"),
         (inv_std * (dx_hat - mean_path), "it misses the path through the variance"),
         (inv_std * (dx_hat - variance_path), "it misses the path through the mean")],
        [((dout * x).sum(axis=0), "dgamma sums dout * x_hat (the normalized x), not dout * x")],
        [],
    ]
    for label, actual, wanted, mistakes in zip(["dx", "dgamma", "dbeta"], grads, expected, hints):
        _raise_hint(name, label, actual, mistakes)
        expect_close(name, label, actual, wanted)
    passed(name)


BATCHNORM_CHECK_PARAM = {"mode": "train", **layers.BATCHNORM_DEFAULTS}


def check_batchnorm_backward(batchnorm_forward, batchnorm_backward):
    """Gradients of a learner's train-mode batch norm (forward for the cache, backward under test)."""
    _check_normalization_backward("batchnorm_backward", batchnorm_forward, batchnorm_backward,
                                  (layers.batchnorm_forward, layers.batchnorm_backward), BATCHNORM_CHECK_PARAM, 0)


def check_batchnorm_backward_alt(batchnorm_forward, batchnorm_backward_alt):
    """Gradients of a learner's closed-form batch norm backward pass."""
    _check_normalization_backward("batchnorm_backward_alt", batchnorm_forward, batchnorm_backward_alt,
                                  (layers.batchnorm_forward, layers.batchnorm_backward), BATCHNORM_CHECK_PARAM, 0)


def check_layernorm_forward(layernorm_forward):
    """A learner's layer norm forward pass on a batch and on single examples."""
    name, case, eps = "layernorm_forward", _normalization_case(), layers.LAYERNORM_DEFAULTS["eps"]
    x, gamma, beta = case["x"], case["gamma"], case["beta"]
    expected, _ = layers.layernorm_forward(x, gamma, beta, {"eps": eps})
    out, _ = expect_tuple(name, call(name, layernorm_forward, x, gamma, beta, {"eps": eps}), ["out", "cache"])
    _raise_hint(name, "the output", out, _forward_hints(case, 1, eps))
    expect_close(name, "the output", out, expected)
    single, _ = expect_tuple(name, call(name, layernorm_forward, x[:1], gamma, beta, {"eps": eps}), ["out", "cache"])
    expect_close(name, "the output for a batch of one example (each example is normalized on its own)",
             single, expected[:1])
    passed(name)


def check_layernorm_backward(layernorm_forward, layernorm_backward):
    """Gradients of a learner's layer norm (forward for the cache, backward under test)."""
    _check_normalization_backward("layernorm_backward", layernorm_forward, layernorm_backward,
                                  (layers.layernorm_forward, layers.layernorm_backward), dict(layers.LAYERNORM_DEFAULTS), 1)


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
        raise ExerciseError(f"{name}: it kept {fraction:.1%} of the units, about 1 - p; p is the probability "
                            "of KEEPING a unit: keep where rand < p")
    if abs(fraction - p) > allowed:
        raise ExerciseError(f"{name}: it kept {fraction:.1%} of the units, expected about p = {p:.0%}")
    scale = out[kept] / x[kept]
    for wrong, hint in [(1.0, "inverted dropout divides the kept units by p, so that test mode needs no "
                              "scaling"),
                        (1 / (1 - p), "divide the kept units by p (the keep probability), not by 1 - p")]:
        if np.allclose(scale, wrong):
            raise ExerciseError(f"{name}: kept units are x * {wrong:.3g}: {hint}")
    if not np.allclose(scale, 1 / p):
        raise ExerciseError(f"{name}: a kept unit should equal x / p = x * {1 / p:.3g}; yours range over "
                            f"x * [{scale.min():.3g}, {scale.max():.3g}]")
    again, _ = call(name, dropout_forward, x, dict(param))
    if not np.array_equal(again, out):
        raise ExerciseError(f"{name}: two calls with the same dropout_param['seed'] drew different masks; "
                            "draw the mask from a generator seeded with it")
    test_out, _ = call(name, dropout_forward, x, {"p": p, "mode": "test"})
    if not np.array_equal(test_out, x):
        raise ExerciseError(f"{name}: test mode must return x unchanged (inverted dropout did its scaling "
                            "in training)")
    passed(name)


def check_dropout_backward(dropout_forward, dropout_backward):
    """A learner's dropout backward pass: the forward mask in train mode, the identity in test mode."""
    name, (x, dout), p = "dropout_backward", _dropout_case(), 0.3
    train = {"p": p, "mode": "train", "seed": 0}
    out, cache = expect_tuple("dropout_forward", call("dropout_forward", dropout_forward, x, train), ["out", "cache"])
    mask = np.asarray(out) / x
    dx = call(name, dropout_backward, dout, cache)
    _raise_hint(name, "dx in train mode", dx, [
        (dout, "pass the gradient through the forward mask: dx = dout * mask"),
        (dout * (mask != 0), "the mask includes the 1 / p scale, so dx = dout * mask also divides by p"),
    ])
    expect_close(name, "dx in train mode (it should be dout * mask, the mask of the forward pass)", dx, dout * mask)
    test = {"p": p, "mode": "test"}
    _, cache = expect_tuple("dropout_forward", call("dropout_forward", dropout_forward, x, test), ["out", "cache"])
    expect_close(name, "dx in test mode (it should be dout unchanged)",
                 call(name, dropout_backward, dout, cache), dout)
    passed(name)


# ---------------------------------------------------------------------------------------------
# Chapter 3: convolution, max pooling, spatial batch norm and group norm

CONV_CASES = [  # (x shape, w shape, conv_param): padding, stride 2, non-square filters
    ((2, 3, 5, 5), (4, 3, 3, 3), {"stride": 1, "pad": 1}),
    ((2, 3, 7, 7), (3, 3, 3, 3), {"stride": 2, "pad": 1}),
    ((3, 2, 6, 5), (2, 2, 3, 2), {"stride": 1, "pad": 0}),
]
POOL_PARAMS = [{"pool_height": 2, "pool_width": 2, "stride": 2},
               {"pool_height": 3, "pool_width": 3, "stride": 2},
               {"pool_height": 2, "pool_width": 3, "stride": 1}]


def _conv_case(x_shape, w_shape, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])


def _expect_shape(name, what, actual, expected_shape, wrong_shapes):
    shape = np.shape(actual)
    if shape != tuple(expected_shape):
        hint = wrong_shapes.get(shape, "")
        raise ExerciseError(f"{name}: {what} has shape {shape}, expected {tuple(expected_shape)}. {hint}".rstrip())


def check_conv_forward_naive(conv_forward_naive):
    """``conv_forward_naive(x, w, b, conv_param) -> (out, cache)`` with padding, strides, non-square filters."""
    name = "conv_forward_naive"
    for seed, (x_shape, w_shape, conv_param) in enumerate(CONV_CASES):
        x, w, b = _conv_case(x_shape, w_shape, seed)
        expected = layers.conv_forward_naive(x, w, b, conv_param)[0]
        result = call(name, conv_forward_naive, x.copy(), w.copy(), b.copy(), dict(conv_param))
        out, _ = expect_tuple(name, result, ["out", "cache"])
        stride, pad, (N, _, H, W), (F, _, HH, WW) = conv_param["stride"], conv_param["pad"], x_shape, w_shape
        what = f"out for x {x_shape}, w {w_shape}, stride {stride}, pad {pad}"
        _expect_shape(name, what, out, expected.shape, {
            (N, F, (H - HH) // stride + 1, (W - WW) // stride + 1):
                "It ignores the padding: pad H and W with conv_param['pad'] zeros on each side.",
            (N, F, H + 2 * pad - HH + 1, W + 2 * pad - WW + 1):
                "It ignores the stride: windows start every conv_param['stride'] pixels.",
        })
        _raise_hint(name, what, out, [
            (layers.conv_forward_naive(x, w[:, :, ::-1, ::-1], b, conv_param)[0],
             "it flips the filters. Deep learning's convolution is a cross-correlation: "
             "multiply each window by w as it is"),
            (expected - b[:, None, None], "add the bias b[f] to every output of filter f"),
        ])
        expect_close(name, what, out, expected)
    passed(name)


def check_conv_backward_naive(conv_backward_naive):
    """``conv_backward_naive(dout, cache) -> (dx, dw, db)`` against numerical gradients; cache = (x, w, b, conv_param)."""
    name = "conv_backward_naive"
    rng = np.random.default_rng(10)
    for seed, (x_shape, w_shape, conv_param) in enumerate(CONV_CASES):
        x, w, b = _conv_case(x_shape, w_shape, seed)
        out = layers.conv_forward_naive(x, w, b, conv_param)[0]
        expect_gradients(name, conv_backward_naive,
                         lambda x, w, b, conv_param=conv_param: layers.conv_forward_naive(x, w, b, conv_param),
                         {"x": x, "w": w, "b": b}, rng.standard_normal(out.shape))
    passed(name)


def _distinct_input(shape, seed):
    """Values at least 0.01 apart, so every window has one clear maximum and numerical gradients are exact."""
    rng = np.random.default_rng(seed)
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.01 - 1.0) * rng.choice([-1.0, 1.0])


def check_max_pool_forward_naive(max_pool_forward_naive):
    """``max_pool_forward_naive(x, pool_param) -> (out, cache)``, tiling and overlapping windows."""
    name = "max_pool_forward_naive"
    for seed, pool_param in enumerate(POOL_PARAMS):
        x = _distinct_input((2, 3, 7, 7) if pool_param["pool_height"] == 3 else (2, 3, 6, 8), seed)
        expected = layers.max_pool_forward_naive(x, pool_param)[0]
        out, _ = expect_tuple(name, call(name, max_pool_forward_naive, x.copy(), dict(pool_param)), ["out", "cache"])
        what = f"out with {pool_param}"
        _expect_shape(name, what, out, expected.shape, {})
        windows = np.lib.stride_tricks.sliding_window_view(
            x, (pool_param["pool_height"], pool_param["pool_width"]), axis=(2, 3))
        means = windows[:, :, ::pool_param["stride"], ::pool_param["stride"]].mean(axis=(4, 5))
        _raise_hint(name, what, out, [(means, "it averages each window; max pooling takes the largest value")])
        expect_close(name, what, out, expected)
    passed(name)


def check_max_pool_backward_naive(max_pool_backward_naive):
    """``max_pool_backward_naive(dout, cache) -> dx`` against numerical gradients; cache = (x, pool_param)."""
    name = "max_pool_backward_naive"
    rng = np.random.default_rng(20)
    for seed, pool_param in enumerate(POOL_PARAMS):
        x = _distinct_input((2, 2, 7, 7) if pool_param["pool_height"] == 3 else (2, 2, 6, 8), seed)
        out, cache = layers.max_pool_forward_naive(x, pool_param)
        dout = rng.standard_normal(out.shape)
        dx = call(name, max_pool_backward_naive, dout, cache)
        if np.shape(dx) == x.shape and pool_param["stride"] < pool_param["pool_height"]:
            overwritten = _max_pool_backward_overwriting(dout, x, pool_param)
            _raise_hint(name, f"dx with overlapping windows {pool_param}", dx, [
                (overwritten, "where windows overlap, add (+=) each window's gradient instead of assigning it")])
        expect_gradients(name, max_pool_backward_naive,
                         lambda x, pool_param=pool_param: layers.max_pool_forward_naive(x, pool_param),
                         {"x": x}, dout)
    passed(name)


def _max_pool_backward_overwriting(dout, x, pool_param):
    # The classic bug: dx[window] = ... instead of += where windows share their maximum.
    height, width, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(dout.shape):
        window = x[n, c, i * stride:i * stride + height, j * stride:j * stride + width]
        a, b = np.unravel_index(np.argmax(window), window.shape)
        dx[n, c, i * stride + a, j * stride + b] = dout[n, c, i, j]
    return dx


def _spatial_case(seed=0, shape=(3, 4, 5, 6)):
    rng = np.random.default_rng(seed)
    C = shape[1]
    return (rng.normal(3.0, 2.0, size=shape) * rng.uniform(0.5, 3.0, size=(1, C, 1, 1)),
            rng.uniform(0.5, 2.0, size=C), rng.normal(size=C), rng.normal(size=shape))


def _normalized_over(x, axes, eps=1e-5):
    return (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


def check_spatial_batchnorm_forward(spatial_batchnorm_forward):
    """``spatial_batchnorm_forward(x, gamma, beta, bn_param)``: per channel over N, H, W; train and test mode."""
    name = "spatial_batchnorm_forward"
    x, gamma, beta, _ = _spatial_case()
    g, bt = gamma[:, None, None], beta[:, None, None]
    for mode in ("train", "test"):
        param = {"mode": mode, "running_mean": np.full(4, 0.5), "running_var": np.full(4, 2.0)}
        expected = layers.spatial_batchnorm_forward(x, gamma, beta, dict(param))[0]
        out, _ = expect_tuple(name, call(name, spatial_batchnorm_forward, x.copy(), gamma, beta, dict(param)),
                              ["out", "cache"])
        _expect_shape(name, f"out in {mode} mode", out, x.shape, {})
        _raise_hint(name, f"out in {mode} mode", out, [
            (g * _normalized_over(x, 0) + bt, "it normalizes every (channel, pixel) over the batch alone; "
                                              "spatial batch norm pools each channel over N, H and W"),
            (layers.batchnorm_forward(x.reshape(-1, 4), gamma, beta, dict(param))[0].reshape(x.shape),
             "x.reshape(-1, C) mixes channels: move the channels last first, "
             "x.transpose(0, 2, 3, 1).reshape(-1, C), and undo it afterwards"),
        ])
        expect_close(name, f"out in {mode} mode", out, expected)
    passed(name)


def _check_spatial_backward(name, forward, backward, reference_forward, reference_backward, args):
    """Compare a learner's (dx, dgamma, dbeta) with the reference's; args = forward's arguments, then dout."""
    dout = args[-1]
    expected = reference_backward(dout, reference_forward(*args[:-1])[1])
    _, cache = expect_tuple(name, call(name, forward, *args[:-1]), ["out", "cache"])
    grads = expect_tuple(name, call(name, backward, dout, cache), ["dx", "dgamma", "dbeta"])
    for label, actual, wanted in zip(["dx", "dgamma", "dbeta"], grads, expected):
        expect_close(name, label, actual, wanted)
    passed(name)


def check_spatial_batchnorm_backward(spatial_batchnorm_forward, spatial_batchnorm_backward):
    """Gradients of a learner's train-mode spatial batch norm (forward for the cache, backward under test)."""
    x, gamma, beta, dout = _spatial_case(1)
    _check_spatial_backward("spatial_batchnorm_backward", spatial_batchnorm_forward, spatial_batchnorm_backward,
                            layers.spatial_batchnorm_forward, layers.spatial_batchnorm_backward, (x, gamma, beta, {"mode": "train"}, dout))


GROUPNORM_CHECK_GROUPS = 2


def check_spatial_groupnorm_forward(spatial_groupnorm_forward):
    """``spatial_groupnorm_forward(x, gamma, beta, G, gn_param)``: per image and group of C // G channels."""
    name, G = "spatial_groupnorm_forward", GROUPNORM_CHECK_GROUPS
    x, gamma, beta, _ = _spatial_case(2)
    gamma, beta = gamma.reshape(1, -1, 1, 1), beta.reshape(1, -1, 1, 1)
    expected = layers.spatial_groupnorm_forward(x, gamma, beta, G, {})[0]
    out, _ = expect_tuple(name, call(name, spatial_groupnorm_forward, x.copy(), gamma, beta, G, {}), ["out", "cache"])
    _expect_shape(name, "out", out, x.shape, {})
    N, C, H, W = x.shape
    _raise_hint(name, "out", out, [
        (gamma * _normalized_over(x, (1, 2, 3)) + beta,
         "it normalizes all channels of an image together (that is G = 1, layer norm); "
         "split them into G groups: x.reshape(N, G, C // G, H, W)"),
        (gamma * _normalized_over(x, (2, 3)) + beta,
         "it normalizes every channel alone (that is G = C, instance norm); normalize groups of C // G channels"),
        (gamma * _normalized_over(x.reshape(N, C // G, G, H, W), (1, 3, 4)).reshape(x.shape) + beta,
         "its groups take every G-th channel; a group is C // G neighbouring channels: "
         "x.reshape(N, G, C // G, H, W)"),
        (gamma * _normalized_over(x.reshape(N, G, -1), (0, 2)).reshape(x.shape) + beta,
         "it pools statistics over the batch; group norm normalizes each image on its own"),
    ])
    expect_close(name, "out", out, expected)
    passed(name)


def check_spatial_groupnorm_backward(spatial_groupnorm_forward, spatial_groupnorm_backward):
    """Gradients of a learner's spatial group norm (forward for the cache, backward under test)."""
    x, gamma, beta, dout = _spatial_case(3)
    G = GROUPNORM_CHECK_GROUPS
    _check_spatial_backward("spatial_groupnorm_backward", spatial_groupnorm_forward, spatial_groupnorm_backward,
                            layers.spatial_groupnorm_forward, layers.spatial_groupnorm_backward,
                            (x, gamma.reshape(1, -1, 1, 1), beta.reshape(1, -1, 1, 1), G, {}, dout))
