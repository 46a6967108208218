"""Checks of the backpropagation lesson (notebook 01): SiLU (a fork in the graph), affine and ReLU layers,
softmax and SVM losses."""

import numpy as np

from cifar_lessons.checks.core import (
    GRADIENT_TOLERANCE,
    ExerciseError,
    call,
    expect_close,
    expect_gradients,
    expect_tuple,
    passed,
    raise_hint,
)
from cifar_lessons.from_scratch import layers
from cifar_lessons.from_scratch.gradient_check import eval_numerical_gradient_array


def check_silu_forward(silu_forward):
    """``silu_forward(x) -> (out, cache)`` with cache = (x, sigmoid(x))."""
    x = np.random.default_rng(5).uniform(-4, 4, (3, 4, 5))
    out, cache = expect_tuple("silu_forward", call("silu_forward", silu_forward, x.copy()), ["out", "cache"])
    expected, (_, s) = layers.silu_forward(x)
    raise_hint("silu_forward", "out", out, [(s, "that is sigmoid(x) alone; SiLU multiplies it by x")])
    expect_close("silu_forward", "out", out, expected)
    if not isinstance(cache, tuple) or len(cache) != 2:
        raise ExerciseError(
            "silu_forward: cache should be the tuple (x, s) with s = sigmoid(x); silu_backward reads it"
        )
    expect_close("silu_forward", "the cache's x", cache[0], x)
    expect_close("silu_forward", "the cache's s", cache[1], s, advice="s is sigmoid(x) = 1 / (1 + exp(-x)).")
    passed("silu_forward", silu_forward)


def check_silu_backward(silu_backward):
    """``silu_backward(dout, cache) -> dx`` with cache = (x, sigmoid(x)): two paths from x add up."""
    rng = np.random.default_rng(6)
    x = rng.uniform(-4, 4, (4, 6))
    dout = rng.standard_normal(x.shape)
    _, (_, s) = layers.silu_forward(x)
    dx = call("silu_backward", silu_backward, dout, (x.copy(), s.copy()))
    fork = (
        "x reaches out = x * s along two paths, directly and through s = sigmoid(x), and at a fork "
        "the gradients add: accumulate the second path (dx += ...) instead of overwriting the first (dx = ...)"
    )
    product = (
        "a product sends each input the upstream gradient times the OTHER input: d(x * s)/dx = s and d(x * s)/ds = x"
    )
    raise_hint(
        "silu_backward",
        "dx",
        dx,
        [
            (dout * s, f"it holds only the direct path's gradient dout * s; {fork}"),
            (dout * x * s * (1 - s), f"it holds only the path through the sigmoid; {fork}"),
            (dout * (s + x * s), "the sigmoid's local gradient is s * (1 - s), not s"),
            (dout * (x + s * s * (1 - s)), product),
            (dout * (x + x * s * (1 - s)), product),
            (dout * (s + s * s * (1 - s)), product),
        ],
    )
    expect_gradients("silu_backward", silu_backward, layers.silu_forward, {"x": x}, dout)
    passed("silu_backward", silu_backward)


def _affine_inputs(rng, shape=(3, 2, 4, 5), M=6):
    D = int(np.prod(shape[1:]))
    return {"x": rng.standard_normal(shape), "w": rng.standard_normal((D, M)), "b": rng.standard_normal(M)}


def check_affine_forward(affine_forward):
    """``affine_forward(x, w, b) -> (out, cache)`` on 2-D and 4-D inputs."""
    rng = np.random.default_rng(0)
    for shape in ((4, 7), (3, 2, 4, 5)):
        inputs = _affine_inputs(rng, shape)
        out, _ = expect_tuple(
            "affine_forward", call("affine_forward", affine_forward, *inputs.values()), ["out", "cache"]
        )
        expected = layers.affine_forward(*inputs.values())[0]
        expect_close("affine_forward", f"out for x of shape {shape}", out, expected)
    passed("affine_forward", affine_forward)


def check_affine_backward(affine_backward):
    """``affine_backward(dout, cache) -> (dx, dw, db)`` with cache = (x, w, b)."""
    rng = np.random.default_rng(1)
    for shape in ((4, 7), (3, 2, 4, 5)):
        inputs = _affine_inputs(rng, shape)
        dout = rng.standard_normal((shape[0], inputs["w"].shape[1]))
        expect_gradients("affine_backward", affine_backward, layers.affine_forward, inputs, dout)
    passed("affine_backward", affine_backward)


def _relu_input(rng, shape=(4, 6)):
    """Entries at least 0.1 away from the kink, where the numerical gradient is exact."""
    x = rng.uniform(0.1, 1.0, shape) * rng.choice([-1.0, 1.0], shape)
    return x


def check_relu_forward(relu_forward):
    """``relu_forward(x) -> (out, cache)``."""
    x = _relu_input(np.random.default_rng(2), (3, 4, 5))
    out, _ = expect_tuple("relu_forward", call("relu_forward", relu_forward, x.copy()), ["out", "cache"])
    expect_close(
        "relu_forward",
        "out",
        out,
        layers.relu_forward(x)[0],
        where=[(x < 0, "where the input is negative"), (x > 0, "where the input is positive")],
    )
    passed("relu_forward", relu_forward)


def check_relu_backward(relu_backward):
    """``relu_backward(dout, cache) -> dx`` with cache = x."""
    rng = np.random.default_rng(3)
    x = _relu_input(rng, (3, 4, 5))
    dout = rng.standard_normal(x.shape)
    expect_gradients(
        "relu_backward",
        relu_backward,
        layers.relu_forward,
        {"x": x},
        dout,
        where=[
            (x < 0, "where the input was negative: there the gradient must be 0"),
            (x > 0, "where the input was positive: there dout passes through unchanged"),
        ],
    )
    passed("relu_backward", relu_backward)


def _check_loss(name, loss_fn, reference, description):
    """Loss and gradient on tiny and on random scores; finite loss on huge ones."""
    rng = np.random.default_rng(4)
    N, C = 20, 10
    y = rng.integers(C, size=N)
    for scale, label in ((1e-3, "scores near 0"), (1.0, "random scores")):
        x = scale * rng.standard_normal((N, C))
        loss, dx = expect_tuple(name, call(name, loss_fn, x.copy(), y), ["loss", "dx"])
        if not np.ndim(loss) == 0:
            raise ExerciseError(
                f"{name}: loss should be a scalar (the mean over the batch), got shape {np.shape(loss)}"
            )
        expect_close(name, f"loss on {label}", loss, reference(x, y)[0])
        numeric = eval_numerical_gradient_array(lambda v: reference(v, y)[0], x.copy(), 1.0)
        expect_close(name, f"dx on {label}", dx, numeric, GRADIENT_TOLERANCE)
    x = 1e4 * rng.standard_normal((N, C))
    loss, dx = call(name, loss_fn, x.copy(), y)
    if not (np.isfinite(loss) and np.all(np.isfinite(dx))):
        raise ExerciseError(f"{name}: loss or dx is NaN or inf for scores around 1e4; {description}")
    expect_close(name, "loss on scores around 1e4", loss, reference(x, y)[0])
    passed(name, loss_fn)


def check_softmax_loss(softmax_loss):
    """``softmax_loss(x, y) -> (loss, dx)``: mean cross-entropy, ~log(10) for scores near 0."""
    _check_loss(
        "softmax_loss",
        softmax_loss,
        layers.softmax_loss,
        "subtract each row's maximum score before np.exp so it cannot overflow",
    )


def check_svm_loss(svm_loss):
    """``svm_loss(x, y) -> (loss, dx)``: mean hinge loss, ~C - 1 = 9 for scores near 0."""
    _check_loss("svm_loss", svm_loss, layers.svm_loss, "the hinge needs no exponentials")
