"""The backpropagation lesson's checks pass independent, correct implementations and name planted mistakes."""

import numpy as np
import pytest
from lesson_checks import check_tests

from cifar_lessons.checks.backprop import (
    check_affine_backward,
    check_affine_forward,
    check_relu_backward,
    check_relu_forward,
    check_silu_backward,
    check_silu_forward,
    check_softmax_loss,
    check_svm_loss,
)
from cifar_lessons.checks.core import ExerciseError, expect_gradients
from cifar_lessons.from_scratch import layers


def silu_forward(x):
    s = 0.5 * (1 + np.tanh(x / 2))
    return x * s, (x, s)


def silu_backward(dout, cache):
    x, s = cache
    return dout * s * (1 + x * (1 - s))


def affine_forward(x, w, b):
    return np.einsum("nd,dm->nm", x.reshape(len(x), -1), w) + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, _ = cache
    return (
        np.einsum("nm,dm->nd", dout, w).reshape(x.shape),
        np.einsum("nd,nm->dm", x.reshape(len(x), -1), dout),
        np.einsum("nm->m", dout),
    )


def relu_forward(x):
    return np.where(x > 0, x, 0.0), x


def relu_backward(dout, cache):
    return np.where(cache > 0, dout, 0.0)


def softmax_loss(x, y):
    log_probs = x - np.logaddexp.reduce(x, axis=1, keepdims=True)
    one_hot = np.eye(x.shape[1])[y]
    return -np.sum(one_hot * log_probs) / len(y), (np.exp(log_probs) - one_hot) / len(y)


def svm_loss(x, y):
    loss, dx = 0.0, np.zeros_like(x)
    for n, label in enumerate(y):
        for j in range(x.shape[1]):
            if j != label and x[n, j] - x[n, label] + 1 > 0:
                loss += x[n, j] - x[n, label] + 1
                dx[n, j] += 1
                dx[n, label] -= 1
    return loss / len(y), dx / len(y)


INDEPENDENT = {
    check_silu_forward: (silu_forward,),
    check_silu_backward: (silu_backward,),
    check_affine_forward: (affine_forward,),
    check_affine_backward: (affine_backward,),
    check_relu_forward: (relu_forward,),
    check_relu_backward: (relu_backward,),
    check_softmax_loss: (softmax_loss,),
    check_svm_loss: (svm_loss,),
}


test_a_correct_implementation_written_differently_passes, test_stub_is_not_implemented_yet = check_tests(INDEPENDENT)


def silu_backward_overwriting_the_fork(dout, cache):
    x, s = cache
    dx = dout * s
    dx = dout * x * s * (1 - s)
    return dx


def silu_backward_forgetting_the_sigmoid_path(dout, cache):
    return dout * cache[1]


def silu_backward_sigmoid_derivative_as_sigmoid(dout, cache):
    x, s = cache
    return dout * s + dout * x * s


def silu_backward_own_input_through_the_product(dout, cache):
    x, s = cache
    return dout * x + dout * s * s * (1 - s)


def affine_backward_transposed_dw(dout, cache):
    dx, dw, db = layers.affine_backward(dout, cache)
    return dx, dw.T, db


def affine_backward_square_transposed_dw(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), (x.reshape(len(x), -1).T @ dout).T, dout.sum(axis=0)


def relu_backward_without_mask(dout, cache):
    return dout


def relu_backward_blocking_positives(dout, cache):
    return np.zeros_like(dout)


@np.errstate(all="ignore")
def softmax_loss_without_shift(x, y):
    probs = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(len(y)), y]).mean()
    probs[np.arange(len(y)), y] -= 1
    return loss, probs / len(y)


def svm_loss_summed_not_averaged(x, y):
    loss, dx = layers.svm_loss(x, y)
    return loss * len(y), dx * len(y)


@pytest.mark.parametrize(
    "check, fn, message",
    [
        (check_silu_forward, lambda x: (1 / (1 + np.exp(-x)), None), r"that is sigmoid\(x\) alone"),
        (check_silu_forward, lambda x: (x / (1 + np.exp(-x)), x), r"cache should be the tuple \(x, s\)"),
        (
            check_silu_forward,
            lambda x: (x / (1 + np.exp(-x)), (x, np.exp(-x))),
            r"the cache's s is wrong.*s is sigmoid\(x\)",
        ),
        (check_silu_backward, silu_backward_overwriting_the_fork, "only the path through the sigmoid.*gradients add"),
        (check_silu_backward, silu_backward_forgetting_the_sigmoid_path, r"only the direct path's.*dx \+= \.\.\."),
        (check_silu_backward, silu_backward_sigmoid_derivative_as_sigmoid, r"local gradient is s \* \(1 - s\), not s"),
        (check_silu_backward, silu_backward_own_input_through_the_product, "times the OTHER input"),
        (check_silu_backward, lambda dout, cache: -silu_backward(dout, cache), "dx is wrong.*wrong sign"),
        (check_affine_forward, lambda x, w, b: x.reshape(len(x), -1) @ w + b, r"should return \(out, cache\)"),
        (
            check_affine_forward,
            lambda x, w, b: (x.reshape(len(x), -1) @ w, None),
            r"out for x of shape \(4, 7\) is wrong: relative error",
        ),
        (
            check_affine_backward,
            affine_backward_transposed_dw,
            r"dw has shape \(6, 7\), expected \(7, 6\) \(transposed\?\)",
        ),
        (
            check_affine_backward,
            lambda dout, cache: layers.affine_backward(dout, cache)[:2],
            r"should return \(dx, dw, db\), got a tuple of 2",
        ),
        (check_relu_forward, lambda x: (np.abs(x), x), "out is wrong.*only where the input is negative"),
        (
            check_relu_backward,
            relu_backward_without_mask,
            "dx is wrong.*only where the input was negative: there the gradient must be 0",
        ),
        (check_relu_backward, relu_backward_blocking_positives, "only where the input was positive"),
        (check_relu_backward, lambda dout, cache: -layers.relu_backward(dout, cache), "wrong sign"),
        (
            check_softmax_loss,
            softmax_loss_without_shift,
            "NaN or inf for scores around 1e4; subtract each row's maximum",
        ),
        (check_softmax_loss, lambda x, y: layers.softmax_loss(x, y)[0], r"should return \(loss, dx\)"),
        (check_svm_loss, svm_loss_summed_not_averaged, "svm_loss: loss on scores near 0 is wrong"),
        (check_svm_loss, lambda x, y: 1 / 0, "svm_loss crashed: ZeroDivisionError"),
    ],
)
def test_checks_catch_planted_mistakes(check, fn, message):
    with pytest.raises(ExerciseError, match=message):
        check(fn)


def test_square_transposed_gradient_is_named():
    def backward(dout, cache):
        x, w, b = cache
        dx, dw, db = layers.affine_backward(dout, cache)
        return dx, dw.T, db

    square = {
        "x": np.random.default_rng(0).standard_normal((5, 4)),
        "w": np.random.default_rng(1).standard_normal((4, 4)),
        "b": np.zeros(4),
    }
    with pytest.raises(ExerciseError, match="dw is wrong.*It looks transposed"):
        expect_gradients("affine_backward", backward, layers.affine_forward, square, np.ones((5, 4)))


def test_exercise_error_is_an_assertion_error():
    assert issubclass(ExerciseError, AssertionError)


def test_a_crash_shows_the_line_of_the_learners_code_not_the_checkers():
    def affine_forward(x, w, b):
        flat = x.reshape(x.shape[0], -1)
        out = flat @ w.T + b  # w is (D, M)
        return out, (x, w, b)

    with pytest.raises(ExerciseError, match=r"affine_forward crashed: ValueError") as caught:
        check_affine_forward(affine_forward)
    line = affine_forward.__code__.co_firstlineno + 2
    assert str(caught.value).endswith(f"\n  in affine_forward, line {line}: out = flat @ w.T + b  # w is (D, M)")
