"""Checks of the convolutional networks lesson (notebook 05): naive convolution and max pooling,
spatial batch norm and group norm, the sandwich layers and the three-layer convnet."""

import copy

import numpy as np

from cifar_lessons.checks.core import (
    ExerciseError,
    call,
    expect_close,
    expect_gradients,
    expect_tuple,
    passed,
    raise_hint,
    with_advice,
)
from cifar_lessons.checks.networks import (
    expect_cast_to_dtype,
    expect_parameters,
    expect_settings,
    expect_weight_draws,
)
from cifar_lessons.from_scratch import fast_layers, layer_utils, layers, models
from cifar_lessons.from_scratch.gradient_check import rel_error

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
    x, w, b = (a.astype(np.float32) for a in _conv_case(*CONV_CASES[0][:2], 0))
    out, _ = expect_tuple(name, call(name, conv_forward_naive, x, w, b, dict(CONV_CASES[0][2])), ["out", "cache"])
    _expect_dtype(name, "out", out, "np.zeros(..., dtype=x.dtype)")
    passed(name, conv_forward_naive)


def _expect_dtype(name, what, out, fix):
    """``out`` of float32 inputs is float32: a float64 result is twice the memory and time."""
    if getattr(out, "dtype", None) != np.float32:
        raise ExerciseError(
            f"{name}: for float32 inputs, {what} is {getattr(out, 'dtype', type(out).__name__)}, expected float32: "
            f"np.zeros and np.empty make float64 unless told otherwise ({fix})"
        )


def check_conv_backward_naive(conv_backward_naive):
    """``conv_backward_naive(dout, cache) -> (dx, dw, db)`` against numerical gradients;
    cache = (x, w, b, conv_param)."""
    name = "conv_backward_naive"
    rng = np.random.default_rng(10)
    for seed, (x_shape, w_shape, conv_param) in enumerate(CONV_CASES):
        x, w, b = _conv_case(x_shape, w_shape, seed)
        out, cache = layers.conv_forward_naive(x, w, b, conv_param)
        dout = rng.standard_normal(out.shape)
        grads = _expect_conv_backward_shapes(name, call(name, conv_backward_naive, dout, cache), x, w, conv_param)
        expected = layers.conv_backward_naive(dout, cache)
        what = f"for x {x_shape}, w {w_shape}, stride {conv_param['stride']}, pad {conv_param['pad']}"
        slips = _conv_backward_slips(dout, x, w, conv_param)
        for label, grad, wanted, slips_of_grad in zip(["dx", "dw"], grads, expected, slips):
            _raise_hint(name, f"{label} {what}", grad, wanted, slips_of_grad)
        expect_gradients(
            name,
            conv_backward_naive,
            lambda x, w, b, conv_param=conv_param: layers.conv_forward_naive(x, w, b, conv_param),
            {"x": x, "w": w, "b": b},
            dout,
        )
    passed(name, conv_backward_naive)


def _expect_conv_backward_shapes(name, result, x, w, conv_param):
    """(dx, dw, db) shaped like (x, w, b), naming the slips that change a shape."""
    dx, dw, db = expect_tuple(name, result, ["dx", "dw", "db"])
    pad = conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _expect_shape(
        name,
        "dx",
        dx,
        x.shape,
        {(N, C, H + 2 * pad, W + 2 * pad): "Cut the padding off dx_pad: dx_pad[:, :, pad:pad + H, pad:pad + W]."},
    )
    _expect_shape(
        name,
        "dw",
        dw,
        w.shape,
        {
            (C, HH, WW, F): "Its axes are in the wrong order: contract dout's N axis with the window's, "
            "np.tensordot(dout[:, :, i, j], window, axes=([0], [0])), to get (F, C, HH, WW).",
            (C, F, HH, WW): "Its axes are in the wrong order: dw is shaped like w, (F, C, HH, WW).",
        },
    )
    _expect_shape(name, "db", db, (F,), {(N, F): "Sum dout over the images too: axes (0, 2, 3)."})
    return dx, dw, db


def _conv_backward_reordered(dout, x, w, conv_param, *, stride=None, assign=False, flip=False):
    """(dx, dw) of conv_backward_naive with one slip: windows every ``stride`` pixels instead of
    conv_param's, ``=`` where windows' gradients add, or the filters flipped for dx."""
    stride, pad = stride or conv_param["stride"], conv_param["pad"]
    HH, WW = w.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad, dw = np.zeros_like(x_pad), np.zeros_like(w)
    w_dx = w[:, :, ::-1, ::-1] if flip else w
    for i, j in np.ndindex(dout.shape[2:]):
        rows, cols = slice(i * stride, i * stride + HH), slice(j * stride, j * stride + WW)
        if rows.stop > x_pad.shape[2] or cols.stop > x_pad.shape[3]:
            continue
        dw += np.tensordot(dout[:, :, i, j], x_pad[:, :, rows, cols], axes=([0], [0]))
        window_dx = np.tensordot(dout[:, :, i, j], w_dx, axes=([1], [0]))
        if assign:
            dx_pad[:, :, rows, cols] = window_dx
        else:
            dx_pad[:, :, rows, cols] += window_dx
    return dx_pad[:, :, pad : pad + x.shape[2], pad : pad + x.shape[3]], dw


def _conv_backward_slips(dout, x, w, conv_param):
    """For dx and for dw, the (wrong value, hint) of each slip learners make."""
    slips = (
        (
            _conv_backward_reordered(dout, x, w, conv_param, stride=1),
            "it ignores the stride: window (i, j) starts at row i * stride, column j * stride, in the backward "
            "pass too",
        ),
        (
            _conv_backward_reordered(dout, x, w, conv_param, assign=True),
            "where windows overlap, add (+=) each window's gradient into dx_pad instead of assigning it",
        ),
        (
            _conv_backward_reordered(dout, x, w, conv_param, flip=True),
            "it flips the filters: the forward pass multiplied each window by w as it is, so its gradient flows "
            "back through w as it is",
        ),
    )
    return [[(grads[k], hint) for grads, hint in slips] for k in (0, 1)]


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
    x = _distinct_input((2, 3, 6, 8), 0).astype(np.float32)
    out, _ = expect_tuple(name, call(name, max_pool_forward_naive, x, dict(POOL_PARAMS[0])), ["out", "cache"])
    _expect_dtype(name, "out", out, "np.zeros(..., dtype=x.dtype)")
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
    _expect_first_maximum(name, max_pool_backward_naive)
    passed(name, max_pool_backward_naive)


def _expect_first_maximum(name, max_pool_backward_naive):
    """On ties (a window whose maximum appears twice, as in a ReLU's zeros), the whole gradient goes to
    the first maximum in row-major order, as argmax picks it: the convention the text and the fast
    layers follow."""
    rng = np.random.default_rng(21)
    x = rng.integers(0, 3, size=(2, 2, 4, 4)).astype(np.float64)  # few values: many ties
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    out, cache = layers.max_pool_forward_naive(x, pool_param)
    dout = rng.standard_normal(out.shape)
    dx = call(name, max_pool_backward_naive, dout, cache)
    windows = x.reshape(2, 2, 2, 2, 2, 2).transpose(0, 1, 2, 4, 3, 5)  # (N, C, i, j, p, q)
    tied = (windows == windows.max(axis=(4, 5), keepdims=True)) * dout[:, :, :, :, None, None]
    every_tie = tied.transpose(0, 1, 2, 4, 3, 5).reshape(x.shape)
    what = "dx for windows with tied maxima"
    _expect_shape(name, what, dx, x.shape, {})
    raise_hint(
        name,
        what,
        dx,
        [
            (
                every_tie,
                "it sends the gradient to every input equal to the maximum; on ties, send it to the first "
                "maximum only (row-major order, as argmax finds it)",
            )
        ],
    )
    expect_close(name, what, dx, layers.max_pool_backward_naive(dout, cache), advice="On ties, the first maximum "
                 "(row-major order, as argmax finds it) takes the whole gradient.")  # fmt: skip


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


# ---------------------------------------------------------------------------------------------
# Sandwich layers and the three-layer convnet

SANDWICH_CONV_PARAM = {"stride": 1, "pad": 1}
SANDWICH_POOL_PARAM = {"pool_height": 2, "pool_width": 2, "stride": 2}


def _call_backward(name, backward, dout, cache, order):
    """``backward(dout, cache)``; a crash is most often a step out of order or the wrong cache."""
    try:
        return call(name, backward, dout, cache)
    except ExerciseError as error:
        if " crashed: " not in str(error):
            raise
        raise with_advice(
            error,
            f"Undo the forward's layers in reverse order ({order}), giving each backward the cache its own "
            "forward returned",
        ) from error


def _conv_relu_pool_case(seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)


def check_conv_relu_pool_forward(conv_relu_pool_forward):
    """``conv_relu_pool_forward(x, w, b, conv_param, pool_param) -> (out, cache)``, float64 and float32."""
    name = "conv_relu_pool_forward"
    x, w, b = _conv_relu_pool_case(30)
    expected = layer_utils.conv_relu_pool_forward(x, w, b, SANDWICH_CONV_PARAM, SANDWICH_POOL_PARAM)[0]
    result = call(
        name, conv_relu_pool_forward, x.copy(), w.copy(), b.copy(), dict(SANDWICH_CONV_PARAM), dict(SANDWICH_POOL_PARAM)
    )
    out, _ = expect_tuple(name, result, ["out", "cache"])
    N, F, H, W = x.shape[0], w.shape[0], x.shape[2], x.shape[3]
    _expect_shape(
        name, "out", out, expected.shape, {(N, F, H, W): "It skips the max pool, which halves height and width."}
    )
    conv = fast_layers.conv_forward_fast(x, w, b, SANDWICH_CONV_PARAM)[0]
    raise_hint(
        name,
        "out",
        out,
        [(fast_layers.max_pool_forward_fast(conv, SANDWICH_POOL_PARAM)[0], "it skips the ReLU after the convolution")],
    )
    expect_close(name, "out", out, expected)
    single = [a.astype(np.float32) for a in (x, w, b)]
    out, _ = call(name, conv_relu_pool_forward, *single, dict(SANDWICH_CONV_PARAM), dict(SANDWICH_POOL_PARAM))
    if np.asarray(out).dtype != np.float32:
        raise ExerciseError(
            f"{name}: out is {np.asarray(out).dtype} for float32 inputs; the network trains in float32. "
            "Build it from fast_layers.conv_forward_fast and fast_layers.max_pool_forward_fast, which keep "
            "float32 (naive layers that fill np.zeros arrays compute in float64, and slowly)"
        )
    passed(name, conv_relu_pool_forward)


def _expect_sandwich_gradients(name, grads, expected, without_relu, advice):
    """Compare a sandwich's (dx, dw, db) with the reference's, naming a skipped ReLU backward."""
    for label, actual, wanted, skipped in zip(["dx", "dw", "db"], grads, expected, without_relu):
        raise_hint(name, label, actual, [(skipped, f"it skips the ReLU's backward: {advice}")])
        expect_close(name, label, actual, wanted)


def check_conv_relu_pool_backward(conv_relu_pool_forward, conv_relu_pool_backward):
    """Gradients of a learner's conv_relu_pool_forward (its cache) against the reference's."""
    name = "conv_relu_pool_backward"
    x, w, b = _conv_relu_pool_case(31)
    params = (dict(SANDWICH_CONV_PARAM), dict(SANDWICH_POOL_PARAM))
    out, reference_cache = layer_utils.conv_relu_pool_forward(x, w, b, *params)
    dout = np.random.default_rng(32).standard_normal(out.shape)
    expected = layer_utils.conv_relu_pool_backward(dout, reference_cache)
    conv_cache, _, pool_cache = reference_cache
    without_relu = fast_layers.conv_backward_fast(fast_layers.max_pool_backward_fast(dout, pool_cache), conv_cache)
    _, cache = expect_tuple(name, call(name, conv_relu_pool_forward, x, w, b, *params), ["out", "cache"])
    grads = expect_tuple(
        name,
        _call_backward(name, conv_relu_pool_backward, dout, cache, "max pool, ReLU, convolution"),
        ["dx", "dw", "db"],
    )
    _expect_sandwich_gradients(
        name, grads, expected, without_relu, "pass max pool's gradient through relu_backward first"
    )
    passed(name, conv_relu_pool_backward)


def _affine_relu_case(seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((4, 2, 3, 2)), rng.standard_normal((12, 5)), rng.standard_normal(5)


def check_affine_relu_forward(affine_relu_forward):
    """``affine_relu_forward(x, w, b) -> (out, cache)`` with x (N, d_1, ..., d_k)."""
    name = "affine_relu_forward"
    x, w, b = _affine_relu_case(33)
    expected = layer_utils.affine_relu_forward(x, w, b)[0]
    out, _ = expect_tuple(name, call(name, affine_relu_forward, x.copy(), w.copy(), b.copy()), ["out", "cache"])
    _expect_shape(name, "out", out, expected.shape, {})
    raise_hint(
        name,
        "out",
        out,
        [
            (layers.affine_forward(x, w, b)[0], "it skips the ReLU after the affine layer"),
            (
                layers.affine_forward(np.maximum(x, 0), w, b)[0],
                "it applies the ReLU to the input; it belongs on the affine layer's output",
            ),
        ],
    )
    expect_close(name, "out", out, expected)
    passed(name, affine_relu_forward)


def check_affine_relu_backward(affine_relu_forward, affine_relu_backward):
    """Gradients of a learner's affine_relu_forward (its cache) against the reference's."""
    name = "affine_relu_backward"
    x, w, b = _affine_relu_case(34)
    out, reference_cache = layer_utils.affine_relu_forward(x, w, b)
    dout = np.random.default_rng(35).standard_normal(out.shape)
    expected = layer_utils.affine_relu_backward(dout, reference_cache)
    without_relu = layers.affine_backward(dout, reference_cache[0])
    _, cache = expect_tuple(name, call(name, affine_relu_forward, x, w, b), ["out", "cache"])
    grads = expect_tuple(
        name, _call_backward(name, affine_relu_backward, dout, cache, "ReLU, affine"), ["dx", "dw", "db"]
    )
    _expect_sandwich_gradients(
        name, grads, expected, without_relu, "pass dout through relu_backward before affine_backward"
    )
    passed(name, affine_relu_backward)


TINY_CONVNET = {"input_dim": (3, 6, 6), "num_filters": 4, "filter_size": 3, "hidden_dim": 7, "dtype": np.float64}


def _tiny_batch(seed=40):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((3, 3, 6, 6)), rng.integers(10, size=3)


def _tiny_models(name, model_class, seed, shift=True, **settings):
    """The reference net and the learner's, built alike, the learner's holding copies of the reference's
    parameters. ``shift`` moves biases (and gamma1, beta1) away from 0 (and 1), so mistakes about them show."""
    reference_class = models.NormalizedConvNet if settings.get("normalization") else models.ThreeLayerConvNet
    reference = reference_class(**TINY_CONVNET, seed=seed, **settings)
    rng = np.random.default_rng(seed)
    for key, value in reference.params.items():
        if shift and not key.startswith("W"):
            reference.params[key] = value + rng.uniform(0.1, 0.3, value.shape) * rng.choice([-1.0, 1.0], value.shape)
    model = call(name, lambda: model_class(**TINY_CONVNET, seed=seed, **settings))
    model.params = {key: value.copy() for key, value in reference.params.items()}
    return reference, model


def _run_loss(name, model, X, y):
    """``model.loss(X, y)`` as ``(loss, grads)``, a crash explained like a backward pass's."""
    result = _call_backward(
        name, lambda X, y: model.loss(X, y), X, y, "the last affine layer first, the convolution last"
    )
    return expect_tuple(name, result, ["loss", "grads"])


def _loss_and_grads(name, model, X, y):
    loss, grads = _run_loss(name, model, X, y)
    if np.ndim(loss) != 0:
        raise ExerciseError(f"{name}: the loss should be a scalar, got shape {np.shape(loss)}")
    if not isinstance(grads, dict):
        raise ExerciseError(f"{name}: grads should be a dict (parameter name -> gradient), got {type(grads).__name__}")
    missing, extra = sorted(set(model.params) - set(grads)), sorted(set(grads) - set(model.params))
    if missing or extra:
        raise ExerciseError(
            f"{name}: grads should hold one gradient per parameter, {sorted(model.params)}; "
            + (f"it misses {missing}" if missing else f"it has extra keys {extra}")
        )
    return float(loss), grads


def _expect_scores(name, model, reference, X, candidates=()):
    scores = call(name, model.loss, X)
    if isinstance(scores, tuple):
        raise ExerciseError(f"{name}: loss(X) with y=None should return the scores alone (test time), got a tuple")
    _expect_shape(name, "loss(X)", scores, (len(X), 10), {})
    raise_hint(name, "loss(X)", scores, candidates)
    expect_close(name, "loss(X)", scores, reference.loss(X))


def _raise_hint(name, what, actual, expected, candidates):
    """:func:`raise_hint` with the candidates that differ from ``expected`` (a mistake that changes
    nothing on this input is not one to name)."""
    raise_hint(name, what, actual, [(wrong, hint) for wrong, hint in candidates if rel_error(wrong, expected) > 1e-6])


def _regularization_hints(params, loss_without_reg, reg):
    weights = ["W1", "W2", "W3"]
    squares = {key: np.sum(value * value) for key, value in params.items()}
    every_weight = sum(squares[key] for key in weights)
    candidates = [
        (loss_without_reg, "it leaves out the L2 term 0.5 * reg * (sum(W1**2) + sum(W2**2) + sum(W3**2))"),
        (loss_without_reg + reg * every_weight, "its L2 term lacks the factor 0.5 (whose gradient is reg * W)"),
        (
            loss_without_reg + 0.5 * reg * sum(squares.values()),
            "it regularizes every parameter; only the weights W1, W2, W3 are",
        ),
    ]
    for key in weights:
        candidates.append(
            (loss_without_reg + 0.5 * reg * (every_weight - squares[key]), f"its L2 term leaves out {key}")
        )
    return candidates


def _expect_loss_and_grads(name, model, reference, X, y):
    loss, grads = _loss_and_grads(name, model, X, y)
    expected_loss, expected_grads = reference.loss(X, y)
    reg = reference.reg
    unregularized = copy.deepcopy(reference)
    unregularized.reg = 0.0
    loss_without_reg, grads_without_reg = unregularized.loss(X, y)
    _raise_hint(
        name,
        f"the loss with reg={reg}",
        loss,
        expected_loss,
        _regularization_hints(reference.params, loss_without_reg, reg),
    )
    expect_close(name, f"the loss with reg={reg}", loss, expected_loss)
    for key in sorted(expected_grads):
        hints = [(grads_without_reg[key], f"it misses the L2 term's gradient reg * {key}")]
        if not key.startswith("W"):
            hints = [
                (grads_without_reg[key] + reg * reference.params[key], f"it regularizes {key}; only W1, W2, W3 are")
            ]
        _raise_hint(name, f"grads[{key!r}]", grads[key], expected_grads[key], hints)
        expect_close(name, f"grads[{key!r}]", grads[key], expected_grads[key])


def _check_convnet_init(name, network, **settings):
    """A ThreeLayerConvNet-style ``__init__``: the parameters, convolution and pool settings it
    builds against the reference's with the same settings, in both dtypes, and its weight draws."""
    reference_class = models.NormalizedConvNet if settings.get("normalization") else models.ThreeLayerConvNet
    for geometry in (TINY_CONVNET, {"input_dim": (3, 8, 10), "num_filters": 2, "filter_size": 5, "hidden_dim": 3}):
        for dtype in (np.float32, np.float64):
            kwargs = {**geometry, "dtype": dtype, "weight_scale": 0.1, "reg": 0.7, "seed": 0, **settings}
            model = call(name, lambda: network(**kwargs))  # noqa: B023 (called at once)
            reference = reference_class(**kwargs)
            when = f"for input_dim={kwargs['input_dim']}, filter_size={kwargs['filter_size']}, {np.dtype(dtype).name}"
            C, H, W = kwargs["input_dim"]
            unpooled = (kwargs["num_filters"] * H * W, kwargs["hidden_dim"])
            if np.shape(getattr(model, "params", {}).get("W2")) == unpooled:
                raise ExerciseError(
                    f"{name}: {when}, params['W2'] has shape {unpooled}: the 2x2 pool halves H and W before the "
                    f"affine layer, so it sees F * H/2 * W/2 = {reference.params['W2'].shape[0]} values"
                )
            expect_parameters(name, model, reference, when)
            expected = {"conv_param": reference.conv_param, "pool_param": reference.pool_param, "reg": 0.7}
            if getattr(model, "conv_param", {}).get("pad") == 0:
                raise ExerciseError(
                    f"{name}: conv_param['pad'] is 0, so the convolution shrinks H and W: pad by "
                    "(filter_size - 1) // 2 to keep them"
                )
            expect_settings(name, model, {**expected, "dtype": dtype}, when)
            if settings.get("normalization"):
                expect_settings(name, model, {"normalization": settings["normalization"]}, when)
                bn_params = getattr(model, "bn_params", None)
                if not (isinstance(bn_params, list) and len(bn_params) == 1 and isinstance(bn_params[0], dict)):
                    raise ExerciseError(
                        f"{name}: {when}, self.bn_params should be a list of one dict, the norm's state"
                    )

    def wide(seed):
        return network(input_dim=(3, 16, 16), num_filters=16, filter_size=5, hidden_dim=50, weight_scale=0.05,
                       seed=seed, **settings)  # fmt: skip

    expect_weight_draws(name, wide, 0.05)


def _expect_block_methods_used(name, network, **settings):
    """``network.loss`` runs the convolutional block through ``self.conv_block_forward`` and
    ``self.conv_block_backward``: the normalized convnet changes the block by overriding them."""
    calls = []

    class Watched(network):
        def conv_block_forward(self, X):
            calls.append("conv_block_forward")
            return super().conv_block_forward(X)

        def conv_block_backward(self, dout, cache, grads):
            calls.append("conv_block_backward")
            return super().conv_block_backward(dout, cache, grads)

    Watched.__name__ = network.__name__
    X, y = _tiny_batch()
    model = call(name, lambda: Watched(**TINY_CONVNET, seed=0, **settings))
    call(name, model.loss, X, y)
    if calls != ["conv_block_forward", "conv_block_backward"]:
        raise ExerciseError(
            f"{name}: loss(X, y) should run the convolutional block through self.conv_block_forward(X) and "
            f"self.conv_block_backward(dout, cache, grads), once each; it called {calls or 'neither'}. "
            "NormalizedConvNet changes the block by overriding these two methods"
        )


def check_three_layer_convnet(ThreeLayerConvNet):
    """``ThreeLayerConvNet(**settings).loss(X, y)`` against the reference on a tiny float64 net:
    the initial loss, the scores, the L2 term and the gradient of every parameter."""
    name = "ThreeLayerConvNet"
    _check_convnet_init(name, ThreeLayerConvNet)
    X, y = _tiny_batch()
    _, small = _tiny_models(name, ThreeLayerConvNet, seed=41, shift=False, weight_scale=1e-3)
    loss, _ = _loss_and_grads(name, small, X, y)
    if abs(loss - np.log(10)) > 0.05:
        hint = " It looks summed over the batch: average it." if abs(loss - len(X) * np.log(10)) < 0.1 else ""
        raise ExerciseError(
            f"{name}: with tiny weights every class is about equally likely, so the loss should be about "
            f"log(10) = 2.303; it is {loss:.3f}.{hint}"
        )
    reference, model = _tiny_models(name, ThreeLayerConvNet, seed=42, weight_scale=0.3, reg=0.7)
    pooled = reference.conv_block_forward(X)[0]
    hidden = layers.affine_forward(pooled, reference.params["W2"], reference.params["b2"])[0]
    skipped = layers.affine_forward(hidden, reference.params["W3"], reference.params["b3"])[0]
    _expect_scores(name, model, reference, X, [(skipped, "it skips the ReLU after the hidden affine layer")])
    _expect_loss_and_grads(name, model, reference, X, y)
    _expect_block_methods_used(name, ThreeLayerConvNet)
    float32 = call(name, lambda: ThreeLayerConvNet(**{**TINY_CONVNET, "dtype": np.float32, "seed": 0}))
    expect_cast_to_dtype(name, float32, *_tiny_batch(), run_loss=_run_loss)
    passed(name, ThreeLayerConvNet)


def check_normalized_convnet(NormalizedConvNet):
    """``NormalizedConvNet(normalization=..., groups=...)`` with spatial batch norm and with group
    norm against the reference: loss and every gradient, then test-mode scores."""
    name = "NormalizedConvNet"
    for normalization in ("batchnorm", "groupnorm"):
        _check_convnet_init(name, NormalizedConvNet, normalization=normalization, groups=2)
        _expect_block_methods_used(name, NormalizedConvNet, normalization=normalization, groups=2)
    X, y = _tiny_batch(43)
    for normalization in ("batchnorm", "groupnorm"):
        settings = {"weight_scale": 0.3, "reg": 0.7, "normalization": normalization, "groups": 2}
        reference, model = _tiny_models(name, NormalizedConvNet, seed=44, **settings)
        plain = models.ThreeLayerConvNet(**TINY_CONVNET, seed=44, weight_scale=0.3, reg=0.7)
        plain.params = {key: value for key, value in reference.params.items() if key in plain.params}
        loss, _ = _run_loss(name, model, X, y)
        if np.ndim(loss) == 0 and abs(loss - plain.loss(X, y)[0]) < 1e-9:
            raise ExerciseError(
                f"{name}: with normalization={normalization!r} its loss is ThreeLayerConvNet's without the norm: "
                "override conv_block_forward and conv_block_backward, and make ThreeLayerConvNet.loss call them"
            )
        model.params = {key: value.copy() for key, value in reference.params.items()}
        model.bn_params = [dict(p) for p in reference.bn_params]
        _expect_loss_and_grads(f"{name}({normalization!r})", model, reference, X, y)
        if normalization == "batchnorm":  # both have now seen one training batch: their running statistics agree
            batch_statistics = copy.deepcopy(reference)
            batch_statistics.bn_params[0]["momentum"] = 0.0  # the running statistics become this batch's
            batch_statistics.loss(X, y)
            _expect_scores(
                name,
                model,
                reference,
                X,
                [
                    (
                        batch_statistics.loss(X),
                        "at test time (y is None) batch norm must use its running statistics: "
                        "set self.bn_params[0]['mode'] to 'test' when y is None, and to 'train' otherwise",
                    )
                ],
            )
    passed(name, NormalizedConvNet)
