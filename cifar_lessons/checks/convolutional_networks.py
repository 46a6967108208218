"""Checks of the convolutional networks lesson (notebook 05): naive convolution and max pooling,
spatial batch norm and group norm."""

import numpy as np

from cifar_lessons import layers
from cifar_lessons.checks.core import (
    ExerciseError,
    call,
    expect_close,
    expect_gradients,
    expect_tuple,
    passed,
    raise_hint,
)

CONV_CASES = [  # (x shape, w shape, conv_param): padding, stride 2, non-square filters
    ((2, 3, 5, 5), (4, 3, 3, 3), {"stride": 1, "pad": 1}),
    ((2, 3, 7, 7), (3, 3, 3, 3), {"stride": 2, "pad": 1}),
    ((3, 2, 6, 5), (2, 2, 3, 2), {"stride": 1, "pad": 0}),
]
POOL_PARAMS = [
    {"pool_height": 2, "pool_width": 2, "stride": 2},
    {"pool_height": 3, "pool_width": 3, "stride": 2},
    {"pool_height": 2, "pool_width": 3, "stride": 1},
]


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
        _expect_shape(
            name,
            what,
            out,
            expected.shape,
            {
                (
                    N,
                    F,
                    (H - HH) // stride + 1,
                    (W - WW) // stride + 1,
                ): "It ignores the padding: pad H and W with conv_param['pad'] zeros on each side.",
                (
                    N,
                    F,
                    H + 2 * pad - HH + 1,
                    W + 2 * pad - WW + 1,
                ): "It ignores the stride: windows start every conv_param['stride'] pixels.",
            },
        )
        raise_hint(
            name,
            what,
            out,
            [
                (
                    layers.conv_forward_naive(x, w[:, :, ::-1, ::-1], b, conv_param)[0],
                    "it flips the filters. Deep learning's convolution is a cross-correlation: "
                    "multiply each window by w as it is",
                ),
                (expected - b[:, None, None], "add the bias b[f] to every output of filter f"),
            ],
        )
        expect_close(name, what, out, expected)
    passed(name, conv_forward_naive)


def check_conv_backward_naive(conv_backward_naive):
    """``conv_backward_naive(dout, cache) -> (dx, dw, db)`` against numerical gradients;
    cache = (x, w, b, conv_param)."""
    name = "conv_backward_naive"
    rng = np.random.default_rng(10)
    for seed, (x_shape, w_shape, conv_param) in enumerate(CONV_CASES):
        x, w, b = _conv_case(x_shape, w_shape, seed)
        out = layers.conv_forward_naive(x, w, b, conv_param)[0]
        expect_gradients(
            name,
            conv_backward_naive,
            lambda x, w, b, conv_param=conv_param: layers.conv_forward_naive(x, w, b, conv_param),
            {"x": x, "w": w, "b": b},
            rng.standard_normal(out.shape),
        )
    passed(name, conv_backward_naive)


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
            x, (pool_param["pool_height"], pool_param["pool_width"]), axis=(2, 3)
        )
        means = windows[:, :, :: pool_param["stride"], :: pool_param["stride"]].mean(axis=(4, 5))
        raise_hint(name, what, out, [(means, "it averages each window; max pooling takes the largest value")])
        expect_close(name, what, out, expected)
    passed(name, max_pool_forward_naive)


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
            raise_hint(
                name,
                f"dx with overlapping windows {pool_param}",
                dx,
                [(overwritten, "where windows overlap, add (+=) each window's gradient instead of assigning it")],
            )
        expect_gradients(
            name,
            max_pool_backward_naive,
            lambda x, pool_param=pool_param: layers.max_pool_forward_naive(x, pool_param),
            {"x": x},
            dout,
        )
    passed(name, max_pool_backward_naive)


def _max_pool_backward_overwriting(dout, x, pool_param):
    # The classic bug: dx[window] = ... instead of += where windows share their maximum.
    height, width, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(dout.shape):
        window = x[n, c, i * stride : i * stride + height, j * stride : j * stride + width]
        a, b = np.unravel_index(np.argmax(window), window.shape)
        dx[n, c, i * stride + a, j * stride + b] = dout[n, c, i, j]
    return dx


def _spatial_case(seed=0, shape=(3, 4, 5, 6)):
    rng = np.random.default_rng(seed)
    C = shape[1]
    return (
        rng.normal(3.0, 2.0, size=shape) * rng.uniform(0.5, 3.0, size=(1, C, 1, 1)),
        rng.uniform(0.5, 2.0, size=C),
        rng.normal(size=C),
        rng.normal(size=shape),
    )


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
        out, _ = expect_tuple(
            name, call(name, spatial_batchnorm_forward, x.copy(), gamma, beta, dict(param)), ["out", "cache"]
        )
        _expect_shape(name, f"out in {mode} mode", out, x.shape, {})
        raise_hint(
            name,
            f"out in {mode} mode",
            out,
            [
                (
                    g * _normalized_over(x, 0) + bt,
                    "it normalizes every (channel, pixel) over the batch alone; "
                    "spatial batch norm pools each channel over N, H and W",
                ),
                (
                    layers.batchnorm_forward(x.reshape(-1, 4), gamma, beta, dict(param))[0].reshape(x.shape),
                    "x.reshape(-1, C) mixes channels: move the channels last first, "
                    "x.transpose(0, 2, 3, 1).reshape(-1, C), and undo it afterwards",
                ),
            ],
        )
        expect_close(name, f"out in {mode} mode", out, expected)
    passed(name, spatial_batchnorm_forward)


def _check_spatial_backward(name, forward, backward, reference_forward, reference_backward, args):
    """Compare a learner's (dx, dgamma, dbeta) with the reference's; args = forward's arguments, then dout."""
    dout = args[-1]
    expected = reference_backward(dout, reference_forward(*args[:-1])[1])
    _, cache = expect_tuple(name, call(name, forward, *args[:-1]), ["out", "cache"])
    grads = expect_tuple(name, call(name, backward, dout, cache), ["dx", "dgamma", "dbeta"])
    for label, actual, wanted in zip(["dx", "dgamma", "dbeta"], grads, expected):
        expect_close(name, label, actual, wanted)
    passed(name, backward)


def check_spatial_batchnorm_backward(spatial_batchnorm_forward, spatial_batchnorm_backward):
    """Gradients of a learner's train-mode spatial batch norm (forward for the cache, backward under test)."""
    x, gamma, beta, dout = _spatial_case(1)
    _check_spatial_backward(
        "spatial_batchnorm_backward",
        spatial_batchnorm_forward,
        spatial_batchnorm_backward,
        layers.spatial_batchnorm_forward,
        layers.spatial_batchnorm_backward,
        (x, gamma, beta, {"mode": "train"}, dout),
    )


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
    raise_hint(
        name,
        "out",
        out,
        [
            (
                gamma * _normalized_over(x, (1, 2, 3)) + beta,
                "it normalizes all channels of an image together (that is G = 1, layer norm); "
                "split them into G groups: x.reshape(N, G, C // G, H, W)",
            ),
            (
                gamma * _normalized_over(x, (2, 3)) + beta,
                "it normalizes every channel alone (that is G = C, instance norm); normalize groups of C // G channels",
            ),
            (
                gamma * _normalized_over(x.reshape(N, C // G, G, H, W), (1, 3, 4)).reshape(x.shape) + beta,
                "its groups take every G-th channel; a group is C // G neighbouring channels: "
                "x.reshape(N, G, C // G, H, W)",
            ),
            (
                gamma * _normalized_over(x.reshape(N, G, -1), (0, 2)).reshape(x.shape) + beta,
                "it pools statistics over the batch; group norm normalizes each image on its own",
            ),
        ],
    )
    expect_close(name, "out", out, expected)
    passed(name, spatial_groupnorm_forward)


def check_spatial_groupnorm_backward(spatial_groupnorm_forward, spatial_groupnorm_backward):
    """Gradients of a learner's spatial group norm (forward for the cache, backward under test)."""
    x, gamma, beta, dout = _spatial_case(3)
    G = GROUPNORM_CHECK_GROUPS
    _check_spatial_backward(
        "spatial_groupnorm_backward",
        spatial_groupnorm_forward,
        spatial_groupnorm_backward,
        layers.spatial_groupnorm_forward,
        layers.spatial_groupnorm_backward,
        (x, gamma.reshape(1, -1, 1, 1), beta.reshape(1, -1, 1, 1), G, {}, dout),
    )
