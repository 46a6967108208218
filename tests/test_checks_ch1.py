"""The chapter-1 checks pass the reference solutions and catch planted mistakes with the right message."""
import numpy as np
import pytest

from cifar_lessons import checks, layers, optim
from cifar_lessons.checks import ExerciseError

REFERENCES = {name: getattr(layers, name) for name in
              ("affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss", "svm_loss")}
REFERENCES.update({name: getattr(optim, name) for name in optim.DEFAULTS})


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_reference_passes(name, capsys):
    getattr(checks, f"check_{name}")(REFERENCES[name])
    assert capsys.readouterr().out == f"{name}: all checks passed\n"


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_stub_is_not_implemented_yet(name):
    def stub(*args):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match=f"^{name}: not implemented yet"):
        getattr(checks, f"check_{name}")(stub)


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


@np.errstate(all="ignore")
def adam_increments_t_after_correction(w, dw, config=None):
    config = dict(config or {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8})
    t = config.get("t", 0)
    m = config["beta1"] * config.get("m", 0) + (1 - config["beta1"]) * dw
    v = config["beta2"] * config.get("v", 0) + (1 - config["beta2"]) * dw**2
    m_hat, v_hat = m / (1 - config["beta1"] ** t), v / (1 - config["beta2"] ** t)
    config.update(m=m, v=v, t=t + 1)
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config


def momentum_forgetting_velocity(w, dw, config=None):
    config = config or {"learning_rate": 1e-2, "momentum": 0.9}
    return w - config["learning_rate"] * dw, {k: v for k, v in config.items() if k != "velocity"}


@pytest.mark.parametrize("check, fn, message", [
    (checks.check_affine_forward, lambda x, w, b: x.reshape(len(x), -1) @ w + b, r"should return \(out, cache\)"),
    (checks.check_affine_forward, lambda x, w, b: (x.reshape(len(x), -1) @ w, None),
     r"out for x of shape \(4, 7\) is wrong: relative error"),
    (checks.check_affine_backward, affine_backward_transposed_dw, r"dw has shape \(6, 7\), expected \(7, 6\) \(transposed\?\)"),
    (checks.check_affine_backward, lambda dout, cache: layers.affine_backward(dout, cache)[:2],
     r"should return \(dx, dw, db\), got a tuple of 2"),
    (checks.check_relu_forward, lambda x: (np.abs(x), x), "out is wrong.*only where the input is negative"),
    (checks.check_relu_backward, relu_backward_without_mask,
     "dx is wrong.*only where the input was negative: there the gradient must be 0"),
    (checks.check_relu_backward, relu_backward_blocking_positives, "only where the input was positive"),
    (checks.check_relu_backward, lambda dout, cache: -layers.relu_backward(dout, cache), "wrong sign"),
    (checks.check_softmax_loss, softmax_loss_without_shift, "NaN or inf for scores around 1e4; subtract each row's maximum"),
    (checks.check_softmax_loss, lambda x, y: layers.softmax_loss(x, y)[0], r"should return \(loss, dx\)"),
    (checks.check_svm_loss, svm_loss_summed_not_averaged, "svm_loss: loss on scores near 0 is wrong"),
    (checks.check_svm_loss, lambda x, y: 1 / 0, "svm_loss crashed: ZeroDivisionError"),
    (checks.check_adam, adam_increments_t_after_correction,
     "next_w after step 1 holds NaN or inf.*Increment t before the bias correction"),
    (checks.check_sgd_momentum, momentum_forgetting_velocity, "after step 1 config has no 'velocity'"),
    (checks.check_sgd, lambda w, dw, config=None: (w + 0.1 * dw, config), "next_w after step 1 is wrong"),
])
def test_checks_catch_planted_mistakes(check, fn, message):
    with pytest.raises(ExerciseError, match=message):
        check(fn)


def test_square_transposed_gradient_is_named():
    def backward(dout, cache):
        x, w, b = cache
        dx, dw, db = layers.affine_backward(dout, cache)
        return dx, dw.T, db

    square = {"x": np.random.default_rng(0).standard_normal((5, 4)), "w": np.random.default_rng(1).standard_normal((4, 4)),
              "b": np.zeros(4)}
    with pytest.raises(ExerciseError, match="dw is wrong.*It looks transposed"):
        checks.expect_gradients("affine_backward", backward, layers.affine_forward, square, np.ones((5, 4)))


def test_exercise_error_is_an_assertion_error():
    assert issubclass(ExerciseError, AssertionError)
