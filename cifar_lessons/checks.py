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


def expect_close(name, what, actual, expected, tolerance=VALUE_TOLERANCE, where=None):
    """Raise an ExerciseError unless ``actual`` has ``expected``'s shape and relative error <= tolerance.

    ``where`` is an optional list of ``(mask, description)``: when every wrong entry lies in
    one mask, the message says so (e.g. "where the input was negative").
    """
    expected = np.asarray(expected, dtype=np.float64)
    if actual is None:
        raise ExerciseError(f"{name}: {what} is None; expected an array of shape {expected.shape}")
    actual = np.asarray(actual, dtype=np.float64)
    if actual.shape != expected.shape:
        hint = " (transposed?)" if actual.shape == expected.shape[::-1] else ""
        raise ExerciseError(f"{name}: {what} has shape {actual.shape}, expected {expected.shape}{hint}")
    if not np.all(np.isfinite(actual)):
        raise ExerciseError(f"{name}: {what} holds NaN or inf (overflow?)")
    error = rel_error(actual, expected)
    if error > tolerance:
        index = np.unravel_index(np.argmax(np.abs(actual - expected)), actual.shape)
        raise ExerciseError(
            f"{name}: {what} is wrong: relative error {error:.1e} (tolerance {tolerance:.0e}); at index "
            f"{tuple(int(i) for i in index)} it is {actual[index]:.6g}, expected {expected[index]:.6g}."
            + _hint(actual, expected, where))


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
            raise ExerciseError(f"{name}: loss should be a scalar (the mean over the batch), got shape {np.shape(loss)}")
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


def _check_update_rule(name, rule, config, steps=3):
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
        expect_close(name, f"next_w after step {step}", w_ours, w_theirs)
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
    _check_update_rule("adam", adam, {"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8})
