"""The convolutional networks lesson's checks fail stubs cleanly and name each planted mistake (the
notebook's own solutions passing them is tested with the learner copies, in test_exercises)."""

import numpy as np
import pytest

from cifar_lessons import layers as L
from cifar_lessons.checks import convolutional_networks as checks
from cifar_lessons.checks.core import ExerciseError

FORWARDS = ["conv_forward_naive", "max_pool_forward_naive", "spatial_batchnorm_forward", "spatial_groupnorm_forward"]
BACKWARDS = ["conv_backward_naive", "max_pool_backward_naive"]
PAIRS = [
    ("spatial_batchnorm_forward", "spatial_batchnorm_backward"),
    ("spatial_groupnorm_forward", "spatial_groupnorm_backward"),
]
CHECKS = [(name, (getattr(L, name),)) for name in FORWARDS + BACKWARDS] + [
    (backward, (getattr(L, forward), getattr(L, backward))) for forward, backward in PAIRS
]


def stub(*args):
    raise NotImplementedError


@pytest.mark.parametrize("name, functions", CHECKS, ids=[c[0] for c in CHECKS])
def test_stub_is_not_implemented_yet(name, functions):
    check = getattr(checks, f"check_{name}")
    with pytest.raises(ExerciseError, match=f"^{name}: not implemented yet"):
        check(*functions[:-1], stub)


def conv_flipped(x, w, b, conv_param):
    return L.conv_forward_naive(x, w[:, :, ::-1, ::-1], b, conv_param)


def conv_without_bias(x, w, b, conv_param):
    return L.conv_forward_naive(x, w, np.zeros_like(b), conv_param)


def conv_without_padding(x, w, b, conv_param):
    return L.conv_forward_naive(x, w, b, dict(conv_param, pad=0))


def conv_without_stride(x, w, b, conv_param):
    p = conv_param["pad"]
    out = np.stack(
        [
            [
                [
                    (
                        np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))[n, :, i : i + w.shape[2], j : j + w.shape[3]] * w[f]
                    ).sum()
                    + b[f]
                    for j in range(x.shape[3] + 2 * p - w.shape[3] + 1)
                ]
                for i in range(x.shape[2] + 2 * p - w.shape[2] + 1)
            ]
            for n in range(len(x))
            for f in range(len(w))
        ]
    )
    return out.reshape(len(x), len(w), *out.shape[1:]), None


def conv_backward_with_zero_db(dout, cache):
    dx, dw, db = L.conv_backward_naive(dout, cache)
    return dx, dw, np.zeros_like(db)


def average_pool(x, pool_param):
    h, w, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    windows = np.lib.stride_tricks.sliding_window_view(x, (h, w), axis=(2, 3))[:, :, ::s, ::s]
    return windows.mean(axis=(4, 5)), (x, pool_param)


def pool_backward_assigning(dout, cache):
    x, pool_param = cache
    h, w, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(dout.shape):
        window = dx[n, c, i * s : i * s + h, j * s : j * s + w]
        window[np.unravel_index(x[n, c, i * s : i * s + h, j * s : j * s + w].argmax(), (h, w))] = dout[n, c, i, j]
    return dx


def spatial_bn_reshaped_without_transpose(x, gamma, beta, bn_param):
    out, cache = L.batchnorm_forward(x.reshape(-1, x.shape[1]), gamma, beta, bn_param)
    return out.reshape(x.shape), cache


def spatial_bn_per_pixel(x, gamma, beta, bn_param):
    mean, var = x.mean(axis=0), x.var(axis=0)
    return gamma[:, None, None] * (x - mean) / np.sqrt(var + 1e-5) + beta[:, None, None], None


def spatial_bn_backward_halved_dgamma(dout, cache):
    dx, dgamma, dbeta = L.spatial_batchnorm_backward(dout, cache)
    return dx, dgamma / 2, dbeta


def group_norm_over(axes, grouping):
    def forward(x, gamma, beta, G, gn_param):
        N, C, H, W = x.shape
        grouped = x.reshape(grouping(N, C, H, W, G))
        x_hat = (grouped - grouped.mean(axis=axes, keepdims=True)) / np.sqrt(
            grouped.var(axis=axes, keepdims=True) + 1e-5
        )
        return gamma * x_hat.reshape(x.shape) + beta, None

    return forward


groupnorm_as_layernorm = group_norm_over((1, 2, 3), lambda N, C, H, W, G: (N, C, H, W))
groupnorm_as_instancenorm = group_norm_over((2, 3), lambda N, C, H, W, G: (N, C, H, W))
groupnorm_strided_groups = group_norm_over((1, 3, 4), lambda N, C, H, W, G: (N, C // G, G, H, W))
groupnorm_over_batch = group_norm_over((0, 2), lambda N, C, H, W, G: (N, G, C // G * H * W))


def groupnorm_backward_flat_dgamma(dout, cache):
    dx, dgamma, dbeta = L.spatial_groupnorm_backward(dout, cache)
    return dx, dgamma.ravel(), dbeta


MISTAKES = [
    ("conv_forward_naive", (conv_flipped,), "it flips the filters"),
    ("conv_forward_naive", (conv_without_bias,), "add the bias b"),
    ("conv_forward_naive", (conv_without_padding,), "It ignores the padding"),
    ("conv_forward_naive", (conv_without_stride,), "It ignores the stride"),
    ("conv_backward_naive", (conv_backward_with_zero_db,), "db is wrong"),
    ("max_pool_forward_naive", (average_pool,), "it averages each window"),
    ("max_pool_backward_naive", (pool_backward_assigning,), r"add \(\+=\) each window's gradient"),
    ("spatial_batchnorm_forward", (spatial_bn_reshaped_without_transpose,), "mixes channels"),
    ("spatial_batchnorm_forward", (spatial_bn_per_pixel,), "over the batch alone"),
    ("spatial_batchnorm_backward", (L.spatial_batchnorm_forward, spatial_bn_backward_halved_dgamma), "dgamma is wrong"),
    ("spatial_groupnorm_forward", (groupnorm_as_layernorm,), "G = 1, layer norm"),
    ("spatial_groupnorm_forward", (groupnorm_as_instancenorm,), "G = C, instance norm"),
    ("spatial_groupnorm_forward", (groupnorm_strided_groups,), "every G-th channel"),
    ("spatial_groupnorm_forward", (groupnorm_over_batch,), "pools statistics over the batch"),
    (
        "spatial_groupnorm_backward",
        (L.spatial_groupnorm_forward, groupnorm_backward_flat_dgamma),
        r"dgamma has shape \(4,\), expected \(1, 4, 1, 1\)",
    ),
]


@pytest.mark.parametrize("name, functions, message", MISTAKES, ids=[f"{m[0]}-{m[1][-1].__name__}" for m in MISTAKES])
def test_planted_mistakes_are_named(name, functions, message):
    with pytest.raises(ExerciseError, match=message):
        getattr(checks, f"check_{name}")(*functions)
