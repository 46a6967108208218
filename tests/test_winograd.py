"""Winograd F(2x2, 3x3): the fast 3x3 convolution equals the naive one and PyTorch's, forward and both
gradients; the compiled tile transforms equal their NumPy twins and are the adjoints of each other."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cifar_lessons.from_scratch import fast_layers, kernels, layers, threads, winograd

torch = pytest.importorskip("torch")
SETTINGS = settings(max_examples=25, deadline=None)
TOLERANCE = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-13}  # relative to the largest entry
KERNELS = ("input_tiles", "output_maps", "output_gradients", "input_gradients")


@st.composite
def cases(draw):
    """3x3 stride-1 convolutions of every small size, odd or even output, any padding."""
    pad = draw(st.integers(0, 3))
    H, W = draw(st.integers(max(1, 3 - 2 * pad), 9)), draw(st.integers(max(1, 3 - 2 * pad), 9))
    N, C, F = draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    dtype = np.dtype(draw(st.sampled_from([np.float32, np.float64])))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x, w, b = (rng.standard_normal(shape).astype(dtype) for shape in ((N, C, H, W), (F, C, 3, 3), (F,)))
    return x, w, b, pad


def assert_close(actual, expected, dtype):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape and actual.dtype == dtype
    scale = max(1.0, np.abs(expected).max(initial=0))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=TOLERANCE[dtype] * scale)


@SETTINGS
@given(cases())
def test_winograd_convolution_agrees_with_naive_and_torch(case):
    x, w, b, pad = case
    conv_param = {"stride": 1, "pad": pad}
    assert winograd.applies(w.shape, 1)
    fast, cache = fast_layers.conv_forward_fast(x, w, b, conv_param)
    naive, naive_cache = layers.conv_forward_naive(x.astype(np.float64), w.astype(np.float64), b, conv_param)
    dout = np.random.default_rng(0).standard_normal(naive.shape)
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    expected = torch.nn.functional.conv2d(*tensors, padding=pad)
    expected.backward(torch.tensor(dout.astype(x.dtype)))
    assert_close(fast, naive.astype(x.dtype), x.dtype)
    assert_close(fast, expected.detach().numpy(), x.dtype)
    for grad, wanted, torch_grad in zip(
        fast_layers.conv_backward_fast(dout, cache), layers.conv_backward_naive(dout, naive_cache), tensors
    ):
        assert_close(grad, wanted.astype(x.dtype), x.dtype)
        assert_close(grad, torch_grad.grad.numpy(), x.dtype)


def _transform_inputs(x, w, pad, seed=1):
    # Random inputs for each kernel: x, transformed tiles, products and dout of matching shapes.
    N, C = x.shape[:2]
    F = w.shape[0]
    TH, TW = winograd.tile_counts(*x.shape[2:], pad)
    rng = np.random.default_rng(seed)
    tiles = rng.standard_normal((16, C, N * TH * TW)).astype(x.dtype)
    products = rng.standard_normal((16, F, N * TH * TW)).astype(x.dtype)
    dout = rng.standard_normal((N, F, x.shape[2] + 2 * pad - 2, x.shape[3] + 2 * pad - 2)).astype(x.dtype)
    return TH, TW, tiles, products, dout


def _run(kernel, x, b, pad, TH, TW, tiles, products, dout):
    # Calls one kernel (compiled or twin) on the inputs of _transform_inputs; returns what it wrote.
    N, C, H, W = x.shape
    F = b.shape[0]
    if kernel.__name__.startswith("input_tiles"):
        out = np.full((16, C, N * TH * TW), np.nan, x.dtype)
        kernel(x, out, pad, TH, TW)
    elif kernel.__name__.startswith("output_maps"):
        out = np.full(dout.shape, np.nan, x.dtype)
        kernel(products, b, out, TH, TW)
    elif kernel.__name__.startswith("output_gradients"):
        out = np.full((16, F, N * TH * TW), np.nan, x.dtype)
        kernel(dout, out, TH, TW)
    else:
        out = np.full(x.shape, np.nan, x.dtype)
        kernel(tiles, out, pad, TH, TW)
    return out


@SETTINGS
@given(cases())
def test_compiled_tile_transforms_equal_their_numpy_twins(case):
    x, w, b, pad = case
    inputs = _transform_inputs(x, w, pad)
    for name in KERNELS:
        compiled = _run(getattr(winograd._winograd, name), x, b, pad, *inputs)
        twin = _run(getattr(winograd, f"{name}_numpy"), x, b, pad, *inputs)
        assert not np.isnan(compiled).any(), f"{name} left part of its output unwritten"
        assert_close(compiled, twin, x.dtype)


@SETTINGS
@given(cases(), st.sampled_from(["compiled", "numpy"]))
def test_each_backward_transform_is_the_adjoint_of_its_forward_one(case, which):
    # <T a, c> == <a, T' c> for every a and c is what makes the backward pass the gradient.
    x, w, b, pad = case
    x, w, b = x.astype(np.float64), w.astype(np.float64), np.zeros_like(b, np.float64)
    TH, TW, tiles, products, dout = _transform_inputs(x, w, pad)

    def kernel(name):
        return getattr(winograd._winograd, name) if which == "compiled" else getattr(winograd, f"{name}_numpy")

    forward = _run(kernel("input_tiles"), x, b, pad, TH, TW, tiles, products, dout)
    backward = _run(kernel("input_gradients"), x, b, pad, TH, TW, tiles, products, dout)
    np.testing.assert_allclose(np.vdot(forward, tiles), np.vdot(x, backward), rtol=1e-12)
    forward = _run(kernel("output_maps"), x, b, pad, TH, TW, tiles, products, dout)
    backward = _run(kernel("output_gradients"), x, b, pad, TH, TW, tiles, products, dout)
    np.testing.assert_allclose(np.vdot(forward, dout), np.vdot(products, backward), rtol=1e-12)
    filters = np.random.default_rng(2).standard_normal((16,) + w.shape[:2])
    np.testing.assert_allclose(
        np.vdot(winograd.transform_filters(w), filters), np.vdot(w, winograd.filter_gradients(filters, w.shape))
    )


def test_shares_of_chunks_on_several_threads_give_the_serial_result(monkeypatch):
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((7, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    conv_param = {"stride": 1, "pad": 1}
    out, cache = fast_layers.conv_forward_fast(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    grads = fast_layers.conv_backward_fast(dout, cache)
    monkeypatch.setattr(winograd, "CHUNK_BYTES", 1)  # one image per chunk, dealt out to three threads
    monkeypatch.setattr(threads, "count", lambda: 3)
    threaded, threaded_cache = fast_layers.conv_forward_fast(x, w, b, conv_param)
    np.testing.assert_array_equal(threaded, out)  # each image is computed alone: same bits
    threaded_grads = fast_layers.conv_backward_fast(dout, threaded_cache)
    np.testing.assert_array_equal(threaded_grads[0], grads[0])
    np.testing.assert_allclose(threaded_grads[1], grads[1], rtol=1e-12)  # summed in another order
    np.testing.assert_array_equal(fast_layers.conv_backward_fast(dout, threaded_cache)[1], threaded_grads[1])


def test_float32_winograd_is_as_accurate_as_float32_im2col():
    # The transforms add before they multiply; on a realistic layer that must not cost float32 accuracy.
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 64, 16, 16))
    w, b = rng.standard_normal((32, 64, 3, 3)) * 0.05, np.zeros(32)
    conv_param = {"stride": 1, "pad": 1}
    exact, cache = layers.conv_forward_naive(x, w, b, conv_param)
    dout = rng.standard_normal(exact.shape)
    exact_grads = layers.conv_backward_naive(dout, cache)
    x32, w32, b32, dout32 = (a.astype(np.float32) for a in (x, w, b, dout))
    fast, fast_cache = fast_layers.conv_forward_fast(x32, w32, b32, conv_param)
    im2col = (w32.reshape(32, -1) @ kernels.im2col_matrix(x32, 3, 3, 1, 1)).reshape(32, 4, 16, 16).transpose(1, 0, 2, 3)

    def error(a, b):
        return np.abs(a - b).max() / np.abs(b).max()

    assert error(fast, exact) < 4 * max(error(im2col, exact), 1e-7)
    for grad, wanted in zip(fast_layers.conv_backward_fast(dout32, fast_cache), exact_grads):
        assert error(grad, wanted) < 1e-5


def test_winograd_refuses_other_filters_and_strides_and_names_the_layer_that_takes_them():
    x, b = np.zeros((1, 1, 7, 7)), np.zeros(1)
    for w, stride in ((np.zeros((1, 1, 5, 5)), 1), (np.zeros((1, 1, 3, 3)), 2)):
        with pytest.raises(ValueError, match="use conv_forward_fast"):
            fast_layers.conv_forward_winograd(x, w, b, {"stride": stride, "pad": 1})
