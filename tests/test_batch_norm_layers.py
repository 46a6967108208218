"""Batch norm and layer norm against PyTorch (float64), numerical gradients, and bad input.

PyTorch's ``F.batch_norm`` keeps running statistics with the other convention::

    torch:  running = (1 - m) * running + m * batch        ours:  running = momentum * running + (1 - momentum) * batch

so ``m = 1 - momentum``; and torch folds in the *unbiased* batch variance (divided by N - 1)
where ours, like CS231n, folds in the biased one (divided by N) that also normalizes the batch.
"""

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cifar_lessons.from_scratch.gradient_check import eval_numerical_gradient_array
from cifar_lessons.from_scratch.layers import (
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
)


@st.composite
def normalization_cases(draw):
    """Random (N, D) data with gamma, beta, upstream gradient, running stats, momentum and eps."""
    N, D = draw(st.integers(2, 9)), draw(st.integers(1, 7))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([0.1, 1.0, 30.0]))
    return {
        "x": rng.normal(draw(st.floats(-5, 5)), scale, size=(N, D)),
        "gamma": rng.normal(size=D),
        "beta": rng.normal(size=D),
        "dout": rng.normal(size=(N, D)),
        "running_mean": rng.normal(size=D),
        "running_var": rng.uniform(0.1, 3.0, size=D),
        "momentum": draw(st.sampled_from([0.0, 0.5, 0.9, 0.99, 1.0])),
        "eps": draw(st.sampled_from([1e-5, 1e-3])),
    }


def _torch_leaves(*arrays):
    return [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]


def _close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-10)


@settings(max_examples=60, deadline=None)
@given(normalization_cases())
def test_batchnorm_train_matches_torch(case):
    N = len(case["x"])
    bn_param = {
        "mode": "train",
        "momentum": case["momentum"],
        "eps": case["eps"],
        "running_mean": case["running_mean"].copy(),
        "running_var": case["running_var"].copy(),
    }
    out, cache = batchnorm_forward(case["x"], case["gamma"], case["beta"], bn_param)
    dx, dgamma, dbeta = batchnorm_backward(case["dout"], cache)

    x, gamma, beta = _torch_leaves(case["x"], case["gamma"], case["beta"])
    running_mean, running_var = torch.tensor(case["running_mean"]), torch.tensor(case["running_var"])
    expected = F.batch_norm(
        x, running_mean, running_var, gamma, beta, training=True, momentum=1 - case["momentum"], eps=case["eps"]
    )
    expected.backward(torch.tensor(case["dout"]))

    _close(out, expected.detach().numpy())
    _close(dx, x.grad.numpy())
    _close(dgamma, gamma.grad.numpy())
    _close(dbeta, beta.grad.numpy())
    _close(bn_param["running_mean"], running_mean.numpy())
    # torch added (1 - momentum) * unbiased_var; ours adds (1 - momentum) * biased_var, (N - 1) / N of it
    kept = case["momentum"] * case["running_var"]
    _close(bn_param["running_var"], kept + (running_var.numpy() - kept) * (N - 1) / N)


@settings(max_examples=40, deadline=None)
@given(normalization_cases())
def test_batchnorm_test_mode_matches_torch_eval(case):
    bn_param = {
        "mode": "test",
        "eps": case["eps"],
        "running_mean": case["running_mean"].copy(),
        "running_var": case["running_var"].copy(),
    }
    out, _ = batchnorm_forward(case["x"], case["gamma"], case["beta"], bn_param)
    expected = F.batch_norm(
        torch.tensor(case["x"]),
        torch.tensor(case["running_mean"]),
        torch.tensor(case["running_var"]),
        torch.tensor(case["gamma"]),
        torch.tensor(case["beta"]),
        training=False,
        eps=case["eps"],
    )
    _close(out, expected.numpy())
    _close(bn_param["running_mean"], case["running_mean"])  # test mode leaves the estimates alone
    _close(bn_param["running_var"], case["running_var"])


@settings(max_examples=60, deadline=None)
@given(normalization_cases())
def test_batchnorm_backward_alt_equals_backward(case):
    _, cache = batchnorm_forward(case["x"], case["gamma"], case["beta"], {"mode": "train", "eps": case["eps"]})
    for staged, closed_form in zip(
        batchnorm_backward(case["dout"], cache), batchnorm_backward_alt(case["dout"], cache)
    ):
        _close(closed_form, staged)


@settings(max_examples=60, deadline=None)
@given(normalization_cases())
def test_layernorm_matches_torch(case):
    out, cache = layernorm_forward(case["x"], case["gamma"], case["beta"], {"eps": case["eps"]})
    dx, dgamma, dbeta = layernorm_backward(case["dout"], cache)

    x, gamma, beta = _torch_leaves(case["x"], case["gamma"], case["beta"])
    expected = F.layer_norm(x, (x.shape[1],), gamma, beta, eps=case["eps"])
    expected.backward(torch.tensor(case["dout"]))
    _close(out, expected.detach().numpy())
    _close(dx, x.grad.numpy())
    _close(dgamma, gamma.grad.numpy())
    _close(dbeta, beta.grad.numpy())


@pytest.mark.parametrize(
    "forward, backward",
    [
        (batchnorm_forward, batchnorm_backward),
        (batchnorm_forward, batchnorm_backward_alt),
        (layernorm_forward, layernorm_backward),
    ],
)
def test_normalization_gradients_match_numerical(forward, backward):
    rng = np.random.default_rng(0)
    x, dout = rng.normal(2, 3, size=(6, 5)), rng.normal(size=(6, 5))
    gamma, beta = rng.normal(size=5), rng.normal(size=5)

    def run(x, gamma, beta):
        return forward(x, gamma, beta, {"mode": "train"})[0]

    dx, dgamma, dbeta = backward(dout, forward(x, gamma, beta, {"mode": "train"})[1])
    for name, analytic, numerical in [
        ("dx", dx, eval_numerical_gradient_array(lambda v: run(v, gamma, beta), x.copy(), dout)),
        ("dgamma", dgamma, eval_numerical_gradient_array(lambda v: run(x, v, beta), gamma.copy(), dout)),
        ("dbeta", dbeta, eval_numerical_gradient_array(lambda v: run(x, gamma, v), beta.copy(), dout)),
    ]:
        np.testing.assert_allclose(analytic, numerical, rtol=1e-6, atol=1e-8, err_msg=name)


def test_batchnorm_normalizes_the_batch_and_keeps_float32():
    x = np.random.default_rng(1).normal(7, 4, size=(200, 3)).astype(np.float32)
    out, _ = batchnorm_forward(x, np.full(3, 2.0, np.float32), np.full(3, -1.0, np.float32), {"mode": "train"})
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.mean(axis=0), -1.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), 2.0, atol=1e-3)


def test_running_estimates_converge_to_the_data_statistics():
    rng = np.random.default_rng(2)
    bn_param = {"mode": "train"}
    for _ in range(200):
        batchnorm_forward(rng.normal([3.0, -2.0], [0.5, 4.0], size=(64, 2)), np.ones(2), np.zeros(2), bn_param)
    np.testing.assert_allclose(bn_param["running_mean"], [3.0, -2.0], atol=0.2)
    np.testing.assert_allclose(bn_param["running_var"], [0.25, 16.0], rtol=0.15)


def test_test_mode_before_any_training_only_scales_and_shifts():
    x = np.random.default_rng(3).normal(size=(4, 3))
    out, _ = batchnorm_forward(x, np.full(3, 2.0), np.full(3, 0.5), {"mode": "test", "eps": 1e-5})
    _close(out, 2.0 * x / np.sqrt(1 + 1e-5) + 0.5)


@pytest.mark.parametrize(
    "x_shape, gamma_shape, param, message",
    [
        ((4, 3, 2), (3,), {"mode": "train"}, "x must be 2-D"),
        ((4, 3), (4,), {"mode": "train"}, "gamma must have shape (3,)"),
        ((4, 3), (3,), {"mode": "train", "eps": 0}, "eps must be > 0"),
        ((4, 3), (3,), {"mode": "eval"}, "mode must be 'train' or 'test'"),
        ((4, 3), (3,), {}, "bn_param needs 'mode'"),
        ((4, 3), (3,), {"mode": "train", "momentum": 1.5}, "momentum must be in [0, 1]"),
        ((1, 3), (3,), {"mode": "train"}, "at least 2 values per feature"),
        ((4, 3), (3,), {"mode": "test", "running_var": np.ones(5)}, "bn_param['running_var'] has shape (5,)"),
    ],
)
def test_batchnorm_rejects_bad_input(x_shape, gamma_shape, param, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        batchnorm_forward(np.zeros(x_shape), np.ones(gamma_shape), np.zeros(3), param)


def test_layernorm_rejects_bad_input_and_backward_needs_train_cache():
    with pytest.raises(ValueError, match="beta must have shape"):
        layernorm_forward(np.zeros((2, 3)), np.ones(3), np.zeros(2), {})
    _, cache = batchnorm_forward(np.zeros((2, 3)), np.ones(3), np.zeros(3), {"mode": "test"})
    with pytest.raises(ValueError, match="test-mode forward pass"):
        batchnorm_backward(np.zeros((2, 3)), cache)
    _, cache = batchnorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3), {"mode": "train"})
    with pytest.raises(ValueError, match=r"dout must have the shape of the forward output \(2, 3\), got \(3, 2\)"):
        batchnorm_backward_alt(np.zeros((3, 2)), cache)
