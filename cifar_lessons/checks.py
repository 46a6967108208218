"""Exercise checkers: run a learner's function against the reference and say exactly what is wrong."""
import numpy as np

from cifar_lessons import layers
from cifar_lessons.gradient_check import rel_error


class ExerciseError(AssertionError):
    """A learner's function gives a wrong result; the message says what and by how much."""


def _call(name, function, *args):
    try:
        return function(*args)
    except NotImplementedError:
        raise ExerciseError(f"{name}: not implemented yet (it raised NotImplementedError)") from None


def _pair(name, result, names):
    if not isinstance(result, tuple) or len(result) != len(names):
        got = f"a tuple of {len(result)}" if isinstance(result, tuple) else type(result).__name__
        raise ExerciseError(f"{name}: it should return a tuple ({', '.join(names)}), got {got}")
    return result


def _compare(name, what, actual, expected, tolerance=1e-7):
    actual = np.asarray(actual)
    if actual.shape != expected.shape:
        raise ExerciseError(f"{name}: {what} has shape {actual.shape}, expected {expected.shape}")
    error = rel_error(actual, expected)
    if not error < tolerance:
        raise ExerciseError(f"{name}: {what} is wrong (relative error {error:.1e}, should be below {tolerance:.0e})")


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
    name, case, momentum, eps = "batchnorm_forward", _normalization_case(), 0.9, 1e-5
    x, gamma, beta = case["x"], case["gamma"], case["beta"]

    def param(mode):
        return {"mode": mode, "eps": eps, "momentum": momentum,
                "running_mean": case["running_mean"].copy(), "running_var": case["running_var"].copy()}

    expected_param = param("train")
    expected, _ = layers.batchnorm_forward(x, gamma, beta, expected_param)
    bn_param = param("train")
    out, _ = _pair(name, _call(name, batchnorm_forward, x, gamma, beta, bn_param), ("out", "cache"))
    running_mean, running_var = case["running_mean"], case["running_var"]
    _raise_hint(name, "the train-mode output", out, _forward_hints(case, 0, eps) + [
        (gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta,
         "train mode normalizes with the batch's own mean and variance, not the running estimates")])
    _compare(name, "the train-mode output", out, expected)

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
        _compare(name, what, bn_param[key], expected_param[key])

    bn_param = param("test")
    expected, _ = layers.batchnorm_forward(x, gamma, beta, param("test"))
    out, _ = _pair(name, _call(name, batchnorm_forward, x, gamma, beta, bn_param), ("out", "cache"))
    _raise_hint(name, "the test-mode output", out, [
        (layers.batchnorm_forward(x, gamma, beta, param("train"))[0],
         "test mode normalizes with bn_param['running_mean'] and bn_param['running_var'], not the batch's "
         "statistics")])
    _compare(name, "the test-mode output", out, expected)
    for key in ("running_mean", "running_var"):
        _compare(name, f"bn_param[{key!r}] after a test-mode call (test mode must not change it)",
                 bn_param[key], case[key])

    fresh = {"mode": "train"}
    _call(name, batchnorm_forward, x, gamma, beta, fresh)
    for key in ("running_mean", "running_var"):
        if np.shape(fresh.get(key)) != gamma.shape:
            raise ExerciseError(f"{name}: with no running estimates in bn_param yet, train mode must create "
                                f"bn_param[{key!r}] of shape {gamma.shape}")
    print(f"{name}: all checks passed")


def _check_normalization_backward(name, forward, backward, reference, param, axis):
    """Compare a learner's (dx, dgamma, dbeta) with the reference, naming a missed path if one is."""
    case, eps = _normalization_case(), param["eps"]
    x, gamma, beta, dout = case["x"], case["gamma"], case["beta"], case["dout"]
    reference_forward, reference_backward = reference
    expected = reference_backward(dout, reference_forward(x, gamma, beta, dict(param))[1])
    _, cache = _pair(name, _call(name, forward, x, gamma, beta, dict(param)), ("out", "cache"))
    grads = _pair(name, _call(name, backward, dout, cache), ("dx", "dgamma", "dbeta"))

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
    for label, actual, wanted, mistakes in zip(("dx", "dgamma", "dbeta"), grads, expected, hints):
        _raise_hint(name, label, actual, mistakes)
        _compare(name, label, actual, wanted)
    print(f"{name}: all checks passed")


BATCHNORM_CHECK_PARAM = {"mode": "train", "eps": 1e-5, "momentum": 0.9}


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
    name, case, eps = "layernorm_forward", _normalization_case(), 1e-5
    x, gamma, beta = case["x"], case["gamma"], case["beta"]
    expected, _ = layers.layernorm_forward(x, gamma, beta, {"eps": eps})
    out, _ = _pair(name, _call(name, layernorm_forward, x, gamma, beta, {"eps": eps}), ("out", "cache"))
    _raise_hint(name, "the output", out, _forward_hints(case, 1, eps))
    _compare(name, "the output", out, expected)
    single, _ = _pair(name, _call(name, layernorm_forward, x[:1], gamma, beta, {"eps": eps}), ("out", "cache"))
    _compare(name, "the output for a batch of one example (each example is normalized on its own)",
             single, expected[:1])
    print(f"{name}: all checks passed")


def check_layernorm_backward(layernorm_forward, layernorm_backward):
    """Gradients of a learner's layer norm (forward for the cache, backward under test)."""
    _check_normalization_backward("layernorm_backward", layernorm_forward, layernorm_backward,
                                  (layers.layernorm_forward, layers.layernorm_backward), {"eps": 1e-5}, 1)


def _dropout_case():
    rng = np.random.default_rng(0)
    return rng.uniform(1.0, 2.0, size=(400, 250)), rng.normal(size=(400, 250))  # no zeros: 0 marks a drop


def check_dropout_forward(dropout_forward):
    """Keep probability, 1/p scaling, seeding and test mode of a learner's inverted dropout."""
    name, (x, _), p = "dropout_forward", _dropout_case(), 0.3
    param = {"p": p, "mode": "train", "seed": 0}
    out, _ = _pair(name, _call(name, dropout_forward, x, dict(param)), ("out", "cache"))
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
    again, _ = _call(name, dropout_forward, x, dict(param))
    if not np.array_equal(again, out):
        raise ExerciseError(f"{name}: two calls with the same dropout_param['seed'] drew different masks; "
                            "draw the mask from a generator seeded with it")
    test_out, _ = _call(name, dropout_forward, x, {"p": p, "mode": "test"})
    if not np.array_equal(test_out, x):
        raise ExerciseError(f"{name}: test mode must return x unchanged (inverted dropout did its scaling "
                            "in training)")
    print(f"{name}: all checks passed")


def check_dropout_backward(dropout_forward, dropout_backward):
    """A learner's dropout backward pass: the forward mask in train mode, the identity in test mode."""
    name, (x, dout), p = "dropout_backward", _dropout_case(), 0.3
    out, cache = _pair(name, _call(name, dropout_forward, x, {"p": p, "mode": "train", "seed": 0}),
                       ("out", "cache"))
    mask = np.asarray(out) / x
    dx = _call(name, dropout_backward, dout, cache)
    _raise_hint(name, "dx in train mode", dx, [
        (dout, "pass the gradient through the forward mask: dx = dout * mask"),
        (dout * (mask != 0), "the mask includes the 1 / p scale, so dx = dout * mask also divides by p"),
    ])
    _compare(name, "dx in train mode (it should be dout * mask, the mask of the forward pass)", dx, dout * mask)
    _, cache = _pair(name, _call(name, dropout_forward, x, {"p": p, "mode": "test"}), ("out", "cache"))
    _compare(name, "dx in test mode (it should be dout unchanged)", _call(name, dropout_backward, dout, cache),
             dout)
    print(f"{name}: all checks passed")
