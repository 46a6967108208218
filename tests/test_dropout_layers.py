"""Inverted dropout: identity at test time, expectation kept in training, one mask per forward pass."""

import re

import numpy as np
import pytest

from cifar_lessons.from_scratch.gradient_check import eval_numerical_gradient_array
from cifar_lessons.from_scratch.layers import dropout_backward, dropout_forward

X = np.random.default_rng(0).normal(size=(20, 30)) + 3.0  # no exact zeros, so out == 0 marks a dropped unit


def test_test_mode_is_the_identity_forward_and_backward():
    out, cache = dropout_forward(X, {"p": 0.3, "mode": "test"})
    np.testing.assert_array_equal(out, X)
    dout = np.random.default_rng(1).normal(size=X.shape)
    np.testing.assert_array_equal(dropout_backward(dout, cache), dout)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_train_mode_keeps_a_fraction_p_scaled_by_one_over_p(p):
    out, _ = dropout_forward(X, {"p": p, "mode": "train", "seed": 0})
    kept = out != 0
    np.testing.assert_allclose(out[kept], X[kept] / p)
    # a kept count is Binomial(n, p): five standard deviations is a bound a correct layer never crosses
    assert abs(kept.mean() - p) < 5 * np.sqrt(p * (1 - p) / X.size)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_train_mode_preserves_the_expectation(p):
    ones = np.ones((400, 500))
    out, _ = dropout_forward(ones, {"p": p, "mode": "train", "seed": 7})
    # each entry is 1/p with probability p, else 0: mean 1, variance (1 - p) / p
    assert abs(out.mean() - 1.0) < 5 * np.sqrt((1 - p) / p / ones.size)


def test_backward_uses_the_forward_mask():
    out, cache = dropout_forward(X, {"p": 0.4, "mode": "train", "seed": 3})
    dout = np.random.default_rng(4).normal(size=X.shape)
    dx = dropout_backward(dout, cache)
    np.testing.assert_allclose(dx, dout * out / X)
    assert np.array_equal(dx == 0, out == 0)


def test_gradient_matches_numerical():
    dout = np.random.default_rng(5).normal(size=X.shape)
    param = {"p": 0.6, "mode": "train", "seed": 11}
    numerical = eval_numerical_gradient_array(lambda x: dropout_forward(x, param)[0], X.copy(), dout)
    np.testing.assert_allclose(dropout_backward(dout, dropout_forward(X, param)[1]), numerical, rtol=1e-6, atol=1e-8)


def test_same_seed_same_mask_other_seed_other_mask():
    first, _ = dropout_forward(X, {"p": 0.5, "mode": "train", "seed": 42})
    again, _ = dropout_forward(X, {"p": 0.5, "mode": "train", "seed": 42})
    other, _ = dropout_forward(X, {"p": 0.5, "mode": "train", "seed": 43})
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_without_a_seed_masks_follow_numpys_global_generator():
    np.random.seed(9)
    first, _ = dropout_forward(X, {"p": 0.5, "mode": "train"})
    second, _ = dropout_forward(X, {"p": 0.5, "mode": "train"})
    np.random.seed(9)
    replay, _ = dropout_forward(X, {"p": 0.5, "mode": "train"})
    assert not np.array_equal(first, second)  # a fresh mask every pass
    np.testing.assert_array_equal(first, replay)


def test_keep_everything_and_float32():
    x = X.astype(np.float32)
    out, _ = dropout_forward(x, {"p": 1.0, "mode": "train", "seed": 0})
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, x)
    assert dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 0})[0].dtype == np.float32


@pytest.mark.parametrize(
    "param, message",
    [
        ({"p": 0.0, "mode": "train"}, "KEEPING a unit and must be in (0, 1], got 0.0"),
        ({"p": 1.5, "mode": "train"}, "got 1.5"),
        ({"mode": "train"}, "needs 'p'"),
        ({"p": 0.5, "mode": "training"}, "mode must be 'train' or 'test'"),
    ],
)
def test_bad_parameters_are_rejected(param, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        dropout_forward(X, param)


def test_backward_rejects_a_gradient_of_another_shape():
    _, cache = dropout_forward(X, {"p": 0.5, "mode": "train", "seed": 0})
    with pytest.raises(ValueError, match="dout must have the shape of the forward output"):
        dropout_backward(np.ones((2, 2)), cache)
