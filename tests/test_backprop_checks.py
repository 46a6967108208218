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


def silu_backward_path_without_dout(dout, cache):
    x, s = cache
    return dout * s + x * s * (1 - s)


def affine_forward_without_reshape(x, w, b):
    return x @ w + b, (x, w, b)


def affine_backward_transposed_dw(dout, cache):
    dx, dw, db = layers.affine_backward(dout, cache)
    return dx, dw.T, db


def affine_backward_dx_not_reshaped(dout, cache):
    x, w, b = cache
    return dout @ w.T, x.reshape(len(x), -1).T @ dout, dout.sum(axis=0)


def affine_backward_db_over_wrong_axis(dout, cache):
    dx, dw, _ = layers.affine_backward(dout, cache)
    return dx, dw, dout.sum(axis=1)


def affine_backward_db_mean(dout, cache):
    dx, dw, _ = layers.affine_backward(dout, cache)
    return dx, dw, dout.mean(axis=0)


def affine_backward_dw_mean(dout, cache):
    dx, dw, db = layers.affine_backward(dout, cache)
    return dx, dw / len(dout), db


def affine_backward_untransposed_w(dout, cache):
    x, w, b = cache
    return (dout @ w).reshape(x.shape), x.reshape(len(x), -1).T @ dout, dout.sum(axis=0)


def relu_backward_without_mask(dout, cache):
    return dout


def relu_backward_blocking_positives(dout, cache):
    return np.zeros_like(dout)


def relu_backward_masking_by_dout(dout, cache):
    return dout * (dout > 0)


def relu_backward_inverted_mask(dout, cache):
    return dout * (cache < 0)


@np.errstate(all="ignore")
def softmax_loss_without_shift(x, y):
    probs = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(len(y)), y]).mean()
    probs[np.arange(len(y)), y] -= 1
    return loss, probs / len(y)


@np.errstate(all="ignore")
def softmax_loss_of_underflowed_probabilities(x, y, eps=0.0):
    """The textbook recipe: shifted, normalized, then the log of the probabilities (plus ``eps``)."""
    e = np.exp(x - x.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(len(y)), y] + eps).mean()
    p[np.arange(len(y)), y] -= 1
    return loss, p / len(y)


def softmax_loss_with_a_constant_in_the_log(x, y):
    return softmax_loss_of_underflowed_probabilities(x, y, eps=1e-12)


def softmax_loss_forgetting_one_over_n(x, y):
    loss, dx = layers.softmax_loss(x, y)
    return loss, dx * len(y)


def softmax_loss_summed(x, y):
    loss, dx = layers.softmax_loss(x, y)
    return loss * len(y), dx * len(y)


def softmax_loss_without_one_hot(x, y):
    loss, dx = layers.softmax_loss(x, y)
    dx[np.arange(len(y)), y] += 1 / len(y)
    return loss, dx


def softmax_loss_normalized_over_columns(x, y):
    e = np.exp(x - x.max(axis=0, keepdims=True))
    p = e / e.sum(axis=0, keepdims=True)
    loss = -np.log(p[np.arange(len(y)), y]).mean()
    p[np.arange(len(y)), y] -= 1
    return loss, p / len(y)


def softmax_loss_shifted_by_column_maximum(x, y):
    e = np.exp(x - x.max(axis=0, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(len(y)), y]).mean()
    p[np.arange(len(y)), y] -= 1
    return loss, p / len(y)


def svm_loss_summed_not_averaged(x, y):
    loss, dx = layers.svm_loss(x, y)
    return loss * len(y), dx


def svm_loss_forgetting_one_over_n_in_dx(x, y):
    loss, dx = layers.svm_loss(x, y)
    return loss, dx * len(y)


def svm_loss_with_the_correct_class_margin(x, y):
    rows = np.arange(len(y))
    margins = np.maximum(0, x - x[rows, y][:, None] + 1)
    dx = (margins > 0).astype(float)
    dx[rows, y] -= dx.sum(axis=1)
    return margins.sum() / len(y), dx / len(y)


def svm_loss_correct_class_once(x, y):
    loss, dx = layers.svm_loss(x, y)
    dx[np.arange(len(y)), y] = -1 / len(y)
    return loss, dx


def svm_loss_gradient_by_margin_size(x, y):
    rows = np.arange(len(y))
    margins = np.maximum(0, x - x[rows, y][:, None] + 1)
    margins[rows, y] = 0
    dx = margins.copy()
    dx[rows, y] = -margins.sum(axis=1)
    return margins.sum() / len(y), dx / len(y)


def svm_loss_without_the_margin(x, y):
    rows = np.arange(len(y))
    margins = np.maximum(0, x - x[rows, y][:, None])
    margins[rows, y] = 0
    dx = (margins > 0).astype(float)
    dx[rows, y] = -dx.sum(axis=1)
    return margins.sum() / len(y), dx / len(y)


# For every exercise, the slips learners make, each with the words the check's message must name it by.
PLANTED = {
    check_silu_forward: [
        (lambda x: (1 / (1 + np.exp(-x)), None), r"that is sigmoid\(x\) alone"),
        (lambda x: (x / (1 + np.exp(-x)), x), r"cache should be the tuple \(x, s\)"),
        (lambda x: (x / (1 + np.exp(-x)), (x, np.exp(-x))), r"the cache's s is wrong.*s is sigmoid\(x\)"),
    ],
    check_silu_backward: [
        (silu_backward_overwriting_the_fork, "only the path through the sigmoid.*gradients add"),
        (silu_backward_forgetting_the_sigmoid_path, r"only the direct path's.*dx \+= \.\.\."),
        (silu_backward_sigmoid_derivative_as_sigmoid, r"local gradient is s \* \(1 - s\), not s"),
        (silu_backward_own_input_through_the_product, "times the OTHER input"),
        (silu_backward_path_without_dout, "the path through the sigmoid is missing dout"),
        (lambda dout, cache: -silu_backward(dout, cache), "dx is wrong.*wrong sign"),
    ],
    check_affine_forward: [
        (lambda x, w, b: (layers.affine_forward(x, w, b)[0], None), "affine_backward cannot use the cache"),
        (
            lambda x, w, b: layers.affine_forward(x.reshape(len(x), -1), w, b),
            r"affine_backward computes dx of shape \(3, 40\), expected \(3, 2, 4, 5\); the cache must be "
            r"\(x, w, b\) with x as given",
        ),
        (lambda x, w, b: (layers.affine_forward(x, w, b)[0], (x, w.T, b)), "affine_backward cannot use the cache"),
        (lambda x, w, b: x.reshape(len(x), -1) @ w + b, r"should return \(out, cache\)"),
        (lambda x, w, b: (x.reshape(len(x), -1) @ w, None), "the bias b is missing"),
        (affine_forward_without_reshape, r"crashed: ValueError.*flatten each example to a row first"),
    ],
    check_affine_backward: [
        (affine_backward_transposed_dw, "dw for x of shape .* it looks transposed"),
        (
            lambda dout, cache: layers.affine_backward(dout, cache)[:2],
            r"should return \(dx, dw, db\), got a tuple of 2",
        ),
        (affine_backward_dx_not_reshaped, r"give dx the original shape of x"),
        (affine_backward_db_over_wrong_axis, r"db sums dout over the examples, axis=0"),
        (affine_backward_db_mean, "db is a sum over the examples, not a mean"),
        (affine_backward_dw_mean, "dw is a sum over the examples, not a mean"),
        (affine_backward_untransposed_w, r"crashed: ValueError.*dx = dout @ w.T"),
    ],
    check_relu_forward: [
        (lambda x: (np.maximum(x, 0), None), "relu_backward cannot use the cache.*the cache must be x"),
        (lambda x: (np.maximum(x, 0), -x), "relu_backward computes a wrong dx; the cache must be x"),
        (lambda x: (np.abs(x), x), "out is wrong.*only where the input is negative"),
        (lambda x: (np.minimum(x, 0), x), r"that is min\(x, 0\)"),
        (lambda x: (x, x), "out is wrong.*only where the input is negative"),
    ],
    check_relu_backward: [
        (relu_backward_without_mask, "dx is wrong.*only where the input was negative: there the gradient must be 0"),
        (relu_backward_blocking_positives, "only where the input was positive"),
        (lambda dout, cache: -layers.relu_backward(dout, cache), "wrong sign"),
        (relu_backward_masking_by_dout, r"the mask is where the input x \(the cache\) was positive, not where dout is"),
        (relu_backward_inverted_mask, r"passes where the input was positive \(x > 0\)"),
    ],
    check_softmax_loss: [
        (softmax_loss_without_shift, "NaN or inf for rows of scores around 1e4 .*subtract each row's maximum"),
        (
            softmax_loss_of_underflowed_probabilities,
            r"NaN or inf for scores where the correct class lies 1000 below.*underflows to 0 and log\(0\) is -inf: "
            r"compute log p directly as shifted - log\(sum\(exp\(shifted\)\)\) \(the log-softmax\)",
        ),
        (
            softmax_loss_with_a_constant_in_the_log,
            r"is 27.6\d*, expected 100\d.*a constant added inside the log.*clips the loss.*log-softmax",
        ),
        (lambda x, y: layers.softmax_loss(x, y)[0], r"should return \(loss, dx\)"),
        (softmax_loss_forgetting_one_over_n, "dx is N times too large"),
        (softmax_loss_summed, "the loss is the mean over the N examples, not their sum"),
        (softmax_loss_without_one_hot, "subtract 1 at each example's correct class"),
        (softmax_loss_normalized_over_columns, r"normalize each row \(axis=1\)"),
        (softmax_loss_shifted_by_column_maximum, r"subtract each row's own maximum.*\(axis=0\)"),
    ],
    check_svm_loss: [
        (svm_loss_summed_not_averaged, "not their sum: divide by N"),
        (svm_loss_forgetting_one_over_n_in_dx, "dx is N times too large"),
        (svm_loss_with_the_correct_class_margin, "the correct class is not a violation of its own margin"),
        (svm_loss_correct_class_once, r"-\(number of violations\) / N"),
        (svm_loss_gradient_by_margin_size, "1/N, whatever the size of its margin"),
        (svm_loss_without_the_margin, "the margin 1 is missing"),
        (lambda x, y: 1 / 0, "svm_loss crashed: ZeroDivisionError"),
    ],
}


@pytest.mark.parametrize(
    "check, fn, message",
    [(check, fn, message) for check, slips in PLANTED.items() for fn, message in slips],
    ids=lambda value: getattr(value, "__name__", None) if callable(value) else None,
)
def test_checks_catch_planted_mistakes(check, fn, message):
    with pytest.raises(ExerciseError, match=message):
        check(fn)


def test_every_exercise_has_planted_mistakes():
    assert set(PLANTED) == set(INDEPENDENT)
    assert all(len(slips) >= 2 for slips in PLANTED.values())


def test_relu_forward_may_cache_its_output(capsys):
    check_relu_forward(lambda x: (np.maximum(x, 0),) * 2)
    assert capsys.readouterr().out == "relu_forward: all checks passed\n"


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
