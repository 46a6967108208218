"""Convolution, max pooling and spatial normalization: naive, fast and PyTorch agree, forward and backward."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cifar_lessons.from_scratch import fast_layers, layer_utils, layers, threads
from cifar_lessons.from_scratch.gradient_check import eval_numerical_gradient_array, rel_error

torch = pytest.importorskip("torch")
F = torch.nn.functional
SETTINGS = settings(max_examples=20, deadline=None)
TOLERANCE = {np.dtype(np.float32): 2e-4, np.dtype(np.float64): 1e-10}  # relative to the largest entry


@st.composite
def conv_cases(draw):
    """Small convolutions whose windows tile the padded input (the layers insist on it)."""
    HH, WW = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    pad, stride = draw(st.integers(0, 2)), draw(st.integers(1, 3))
    H = (draw(st.integers(1, 3)) - 1) * stride + HH - 2 * pad
    W = (draw(st.integers(1, 3)) - 1) * stride + WW - 2 * pad
    assume(H >= 1 and W >= 1)
    N, C, num_filters = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((num_filters, C, HH, WW)).astype(dtype)
    b = rng.standard_normal(num_filters).astype(dtype)
    return x, w, b, {"stride": stride, "pad": pad}


def assert_close(actual, expected, dtype):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape and actual.dtype == dtype
    scale = max(1.0, np.abs(expected).max(initial=0))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=TOLERANCE[np.dtype(dtype)] * scale)


def torch_grads(fn, arrays, dout):
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


@SETTINGS
@given(conv_cases())
def test_conv_naive_fast_and_torch_agree(case):
    x, w, b, conv_param = case
    naive, naive_cache = layers.conv_forward_naive(x, w, b, conv_param)
    fast, fast_cache = fast_layers.conv_forward_fast(x, w, b, conv_param)
    dout = np.random.default_rng(0).standard_normal(naive.shape).astype(x.dtype)
    expected, expected_grads = torch_grads(
        lambda x, w, b: F.conv2d(x, w, b, stride=conv_param["stride"], padding=conv_param["pad"]), (x, w, b), dout
    )
    assert_close(naive, expected, x.dtype)
    assert_close(fast, expected, x.dtype)
    for grads in (layers.conv_backward_naive(dout, naive_cache), fast_layers.conv_backward_fast(dout, fast_cache)):
        for grad, wanted in zip(grads, expected_grads):
            assert_close(grad, wanted, x.dtype)


@st.composite
def pool_cases(draw):
    height, width, stride = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    H, W = height + stride * draw(st.integers(0, 3)), width + stride * draw(st.integers(0, 3))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # distinct values: on ties the first maximum takes the gradient, which torch does not promise
    x = rng.permutation(2 * 3 * H * W).reshape(2, 3, H, W).astype(dtype) * rng.choice([-1, 1])
    return x, {"pool_height": height, "pool_width": width, "stride": stride}


@SETTINGS
@given(pool_cases())
def test_max_pool_naive_fast_and_torch_agree(case):
    x, pool_param = case
    naive, naive_cache = layers.max_pool_forward_naive(x, pool_param)
    fast, fast_cache = fast_layers.max_pool_forward_fast(x, pool_param)
    dout = np.random.default_rng(0).standard_normal(naive.shape).astype(x.dtype)
    size, stride = (pool_param["pool_height"], pool_param["pool_width"]), pool_param["stride"]
    expected, (dx,) = torch_grads(lambda x: F.max_pool2d(x, size, stride), (x,), dout)
    assert_close(naive, expected, x.dtype)
    assert_close(fast, expected, x.dtype)
    assert_close(layers.max_pool_backward_naive(dout, naive_cache), dx, x.dtype)
    assert_close(fast_layers.max_pool_backward_fast(dout, fast_cache), dx, x.dtype)


@SETTINGS
@given(
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 5),
    st.integers(1, 5),
    st.sampled_from([np.float32, np.float64]),
    st.integers(0, 2**32 - 1),
)
def test_the_2x2_stride_2_kernel_keeps_numpys_ties_and_nans(N, C, OH, OW, dtype, seed):
    # Few distinct values, so windows hold ties, and some NaNs: the first maximum, or the first NaN,
    # must win, exactly as in the naive layer (NumPy's max and argmax).
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, size=(N, C, 2 * OH, 2 * OW)).astype(dtype)
    x[rng.random(x.shape) < 0.1] = np.nan
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    naive, naive_cache = layers.max_pool_forward_naive(x, pool_param)
    fast, fast_cache = fast_layers.max_pool_forward_fast(x, pool_param)
    np.testing.assert_array_equal(fast, naive)
    dout = rng.standard_normal(naive.shape).astype(dtype)
    np.testing.assert_array_equal(
        fast_layers.max_pool_backward_fast(dout, fast_cache), layers.max_pool_backward_naive(dout, naive_cache)
    )


def test_max_pool_ties_send_the_gradient_to_the_first_maximum_once():
    x = np.ones((1, 1, 2, 2))
    for forward, backward in ((fast_layers.max_pool_forward_fast, fast_layers.max_pool_backward_fast),):
        out, cache = forward(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
        np.testing.assert_array_equal(backward(np.full(out.shape, 3.0), cache), [[[[3.0, 0], [0, 0]]]])


def test_max_pool_nan_wins_its_window_in_both_layers():
    x = np.arange(32.0).reshape(1, 2, 4, 4)
    x[0, 0, 1, 1] = x[0, 1, 0, 1] = x[0, 1, 3, 2] = np.nan  # none first in its window; two in one window
    x[0, 1, 2, 3] = np.nan
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    naive, naive_cache = layers.max_pool_forward_naive(x, pool_param)
    fast, fast_cache = fast_layers.max_pool_forward_fast(x, pool_param)
    assert np.isnan(naive[0, 0, 0, 0]) and np.isnan(naive[0, 1, 1, 1])
    np.testing.assert_array_equal(fast, naive)
    dout = np.arange(1.0, 9.0).reshape(naive.shape)
    np.testing.assert_array_equal(
        fast_layers.max_pool_backward_fast(dout, fast_cache), layers.max_pool_backward_naive(dout, naive_cache)
    )


@pytest.mark.parametrize("threads_allowed", [1, 3])
def test_im2col_conv_spans_several_chunks_on_any_number_of_threads(monkeypatch, threads_allowed):
    monkeypatch.setattr(fast_layers, "CHUNK_BYTES", 1)  # one image per chunk
    monkeypatch.setattr(threads, "count", lambda: threads_allowed)
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((5, 3, 7, 7)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    conv_param = {"stride": 2, "pad": 1}
    out, cache = fast_layers.conv_forward_im2col(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    naive, naive_cache = layers.conv_forward_naive(x, w, b, conv_param)
    np.testing.assert_allclose(out, naive, atol=1e-12)
    for grad, wanted in zip(
        fast_layers.conv_backward_im2col(dout, cache), layers.conv_backward_naive(dout, naive_cache)
    ):
        np.testing.assert_allclose(grad, wanted, atol=1e-12)


def test_naive_layers_pass_numerical_gradient_checks():
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    conv_param = {"stride": 2, "pad": 1}
    out, cache = layers.conv_forward_naive(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    inputs = (x, w, b)
    for position, grad in enumerate(layers.conv_backward_naive(dout, cache)):

        def f(value, position=position):
            args = list(inputs)
            args[position] = value
            return layers.conv_forward_naive(*args, conv_param)[0]

        assert rel_error(grad, eval_numerical_gradient_array(f, inputs[position].copy(), dout)) < 1e-8

    x = rng.permutation(2 * 2 * 6 * 6).reshape(2, 2, 6, 6) * 0.01
    pool_param = {"pool_height": 3, "pool_width": 2, "stride": 1}
    out, cache = layers.max_pool_forward_naive(x, pool_param)
    dout = rng.standard_normal(out.shape)
    numeric = eval_numerical_gradient_array(lambda x: layers.max_pool_forward_naive(x, pool_param)[0], x, dout)
    assert rel_error(layers.max_pool_backward_naive(dout, cache), numeric) < 1e-8


def test_the_fast_layers_caches_are_copies_not_views():
    """Changing x or w in place after a fast layer's forward pass (as an in-place ReLU would)
    leaves its gradients alone. (The naive layers, as the book writes them, keep their inputs.)"""
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    conv_param = {"stride": 1, "pad": 1}
    for forward, backward in ((fast_layers.conv_forward_fast, fast_layers.conv_backward_fast),):
        changed_x, changed_w = x.copy(), w.copy()
        out, cache = forward(changed_x, changed_w, b, conv_param)
        changed_x *= -1
        changed_w += 1
        dout = np.ones_like(out)
        for grad, wanted in zip(backward(dout, cache), backward(dout, forward(x, w, b, conv_param)[1])):
            np.testing.assert_array_equal(grad, wanted)
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    for forward, backward in ((fast_layers.max_pool_forward_fast, fast_layers.max_pool_backward_fast),):
        changed = x.copy()
        out, cache = forward(changed, pool_param)
        changed *= -1
        np.testing.assert_array_equal(
            backward(np.ones_like(out), cache), backward(np.ones_like(out), forward(x, pool_param)[1])
        )


CONV_MISTAKES = [
    ((1, 1, 5, 5), (1, 1, 2, 2), {"stride": 2, "pad": 0}, "stride 2 does not tile the height"),
    ((1, 1, 5, 6), (1, 1, 3, 3), {"stride": 2, "pad": 1}, "stride 2 does not tile the width"),
    ((1, 1, 4, 4), (1, 1, 3, 3), {"stride": 0, "pad": 1}, "stride'\\] must be a positive integer"),
    ((1, 1, 4, 4), (1, 1, 3, 3), {"stride": 1, "pad": -1}, "pad'\\] must be a non-negative integer"),
    ((1, 1, 4, 4), (1, 1, 3, 3), {"stride": 1.5, "pad": 1}, "must be a positive integer"),
    ((1, 1, 4, 4), (1, 1, 7, 7), {"stride": 1, "pad": 1}, "does not fit"),
    ((1, 2, 4, 4), (1, 3, 3, 3), {"stride": 1, "pad": 1}, "x has 2 channels but w expects 3"),
    ((1, 1, 4, 4), (1, 1, 3, 3), {"stride": 1}, "missing \\['pad'\\]"),
    ((1, 4, 4), (1, 1, 3, 3), {"stride": 1, "pad": 1}, "x must be \\(N, C, H, W\\)"),
]


@pytest.mark.parametrize("forward", [layers.conv_forward_naive, fast_layers.conv_forward_fast])
@pytest.mark.parametrize("x_shape, w_shape, conv_param, message", CONV_MISTAKES)
def test_bad_convolutions_say_what_is_wrong(forward, x_shape, w_shape, conv_param, message):
    with pytest.raises(ValueError, match=message):
        forward(np.zeros(x_shape), np.zeros(w_shape), np.zeros(w_shape[0]), conv_param)


@pytest.mark.parametrize(
    "forward, backward",
    [
        (layers.conv_forward_naive, layers.conv_backward_naive),
        (fast_layers.conv_forward_fast, fast_layers.conv_backward_fast),
    ],
)
@pytest.mark.parametrize("dout_shape", [(2, 3, 24, 1), (2, 3, 6, 4), (2, 3, 4, 6, 1)])
def test_conv_backward_refuses_a_dout_not_shaped_as_the_output(forward, backward, dout_shape):
    out, cache = forward(np.zeros((2, 1, 4, 6)), np.zeros((3, 1, 3, 3)), np.zeros(3), {"stride": 1, "pad": 1})
    assert out.shape == (2, 3, 4, 6)
    with pytest.raises(ValueError, match=r"dout must have the shape of the forward output \(2, 3, 4, 6\)"):
        backward(np.zeros(dout_shape), cache)


@pytest.mark.parametrize("forward", [layers.conv_forward_naive, fast_layers.conv_forward_fast])
@pytest.mark.parametrize(
    "x_shape, w_shape", [((1, 0, 4, 4), (2, 0, 3, 3)), ((1, 3, 4, 4), (0, 3, 3, 3))], ids=["no channels", "no filters"]
)
def test_a_convolution_without_channels_or_filters_says_so(forward, x_shape, w_shape):
    with pytest.raises(ValueError, match="needs at least one input channel and one filter"):
        forward(np.zeros(x_shape), np.zeros(w_shape), np.zeros(w_shape[0]), {"stride": 1, "pad": 1})


def test_an_empty_batch_passes_through_every_spatial_layer():
    x, w, b = np.zeros((0, 4, 4, 4)), np.zeros((2, 4, 3, 3)), np.zeros(2)
    conv_param, pool_param = {"stride": 1, "pad": 1}, {"pool_height": 2, "pool_width": 2, "stride": 2}
    for forward, backward in (
        (layers.conv_forward_naive, layers.conv_backward_naive),
        (fast_layers.conv_forward_fast, fast_layers.conv_backward_fast),
    ):
        out, cache = forward(x, w, b, conv_param)
        assert out.shape == (0, 2, 4, 4)
        assert [grad.shape for grad in backward(out, cache)] == [x.shape, w.shape, b.shape]
    for forward, backward in ((fast_layers.max_pool_forward_fast, fast_layers.max_pool_backward_fast),):
        out, cache = forward(x, pool_param)
        assert out.shape == (0, 4, 2, 2) and backward(out, cache).shape == x.shape
    gamma = np.ones((1, 4, 1, 1))
    out, cache = layers.spatial_groupnorm_forward(x, gamma, 0 * gamma, 2, {})
    assert out.shape == x.shape and layers.spatial_groupnorm_backward(out, cache)[0].shape == x.shape
    out, _ = layers.spatial_batchnorm_forward(x, np.ones(4), np.zeros(4), {"mode": "test"})
    assert out.shape == x.shape


@pytest.mark.parametrize("forward", [layers.max_pool_forward_naive, fast_layers.max_pool_forward_fast])
@pytest.mark.parametrize(
    "pool_param, message",
    [
        ({"pool_height": 2, "pool_width": 2, "stride": 2}, "stride 2 does not tile the height"),
        ({"pool_height": 2, "pool_width": 0, "stride": 1}, "pool_width'\\] must be a positive integer"),
        ({"pool_height": 9, "pool_width": 2, "stride": 1}, "does not fit"),
        ({"pool_height": 2, "stride": 1}, "missing \\['pool_width'\\]"),
    ],
)
def test_bad_pooling_says_what_is_wrong(forward, pool_param, message):
    with pytest.raises(ValueError, match=message):
        forward(np.zeros((1, 1, 5, 6)), pool_param)


@pytest.mark.parametrize("forward", [layers.conv_forward_naive, fast_layers.conv_forward_fast])
@pytest.mark.parametrize("dtype", [np.uint8, np.int64])
def test_convolutions_refuse_integer_inputs_that_would_wrap(forward, dtype):
    x, w = np.full((1, 1, 3, 3), 100, dtype), np.full((1, 1, 3, 3), 100, dtype)  # 9 * 100 * 100 overflows uint8
    with pytest.raises(TypeError, match=f"float32 or float64, got {np.dtype(dtype)}"):
        forward(x, w, np.zeros(1, dtype), {"stride": 1, "pad": 1})


def test_fast_layers_work_without_the_compiled_kernels():
    """With the extension missing, the fast layers run on the NumPy twins, after a loud warning."""
    script = (
        "import sys, warnings\n"
        "sys.modules['cifar_lessons.from_scratch._im2col'] = None\n"  # makes the imports fail as if never built
        "sys.modules['cifar_lessons.from_scratch._winograd'] = None\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    from cifar_lessons.from_scratch import fast_layers, kernels, layers, winograd\n"
        "import numpy as np\n"
        "assert kernels.BACKEND == 'numpy' and 'could not be imported' in str(caught[0].message)\n"
        "rng = np.random.default_rng(0)\n"
        "x, w, b = rng.standard_normal((3, 2, 7, 7)), rng.standard_normal((4, 2, 3, 3)), rng.standard_normal(4)\n"
        "for dtype in (np.float32, np.float64):\n"
        "    x, w, b = x.astype(dtype), w.astype(dtype), b.astype(dtype)\n"
        "    for p in ({'stride': 2, 'pad': 1}, {'stride': 1, 'pad': 1}):\n"  # im2col, then Winograd
        "        out, cache = fast_layers.conv_forward_fast(x, w, b, p)\n"
        "        ref, ref_cache = layers.conv_forward_naive(x, w, b, p)\n"
        "        assert out.dtype == dtype and np.allclose(out, ref, atol=1e-4)\n"
        "        for g, r in zip(fast_layers.conv_backward_fast(np.ones_like(out), cache),\n"
        "                        layers.conv_backward_naive(np.ones_like(ref), ref_cache)):\n"
        "            assert g.dtype == dtype and np.allclose(g, r, atol=1e-4)\n"
        "    assert winograd._winograd is None\n"
        "    q = {'pool_height': 3, 'pool_width': 3, 'stride': 2}\n"
        "    out, cache = fast_layers.max_pool_forward_fast(x, q)\n"
        "    ref, ref_cache = layers.max_pool_forward_naive(x, q)\n"
        "    assert np.array_equal(out, ref)\n"
        "    assert np.array_equal(fast_layers.max_pool_backward_fast(ref, cache),\n"
        "                          layers.max_pool_backward_naive(ref, ref_cache))\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@st.composite
def spatial_cases(draw):
    N, H, W = draw(st.integers(2, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    G, per_group = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(2.0, 3.0, (N, G * per_group, H, W))
    return x, G, rng.uniform(0.5, 2, G * per_group), rng.normal(size=G * per_group), rng.normal(size=x.shape)


@SETTINGS
@given(spatial_cases())
def test_spatial_batchnorm_and_groupnorm_match_torch(case):
    x, G, gamma, beta, dout = case
    out, cache = layers.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
    expected, expected_grads = torch_grads(
        lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True, eps=1e-5), (x, gamma, beta), dout
    )
    assert_close(out, expected, np.float64)
    for grad, wanted in zip(layers.spatial_batchnorm_backward(dout, cache), expected_grads):
        np.testing.assert_allclose(grad, wanted, atol=1e-8)

    out, cache = layers.spatial_groupnorm_forward(x, gamma.reshape(1, -1, 1, 1), beta.reshape(1, -1, 1, 1), G, {})
    expected, expected_grads = torch_grads(lambda x, g, b: F.group_norm(x, G, g, b, eps=1e-5), (x, gamma, beta), dout)
    assert_close(out, expected, np.float64)
    dx, dgamma, dbeta = layers.spatial_groupnorm_backward(dout, cache)
    assert dgamma.shape == dbeta.shape == (1, x.shape[1], 1, 1)
    for grad, wanted in zip((dx, dgamma.ravel(), dbeta.ravel()), expected_grads):
        np.testing.assert_allclose(grad, wanted, atol=1e-8)


def test_spatial_batchnorm_test_mode_uses_running_statistics():
    rng = np.random.default_rng(4)
    bn_param = {"mode": "train"}
    for _ in range(200):
        layers.spatial_batchnorm_forward(rng.normal(5.0, 2.0, (8, 3, 4, 4)), np.ones(3), np.zeros(3), bn_param)
    bn_param["mode"] = "test"
    out, _ = layers.spatial_batchnorm_forward(rng.normal(5.0, 2.0, (500, 3, 4, 4)), np.ones(3), np.zeros(3), bn_param)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=0.05)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, atol=0.05)


@pytest.mark.parametrize(
    "G, gamma_shape, message",
    [
        (4, (1, 6, 1, 1), "G must be a positive divisor of the 6 channels"),
        (0, (1, 6, 1, 1), "G must be a positive divisor"),
        (2, (6,), "gamma must have shape \\(1, 6, 1, 1\\)"),
    ],
)
def test_bad_groupnorm_says_what_is_wrong(G, gamma_shape, message):
    with pytest.raises(ValueError, match=message):
        layers.spatial_groupnorm_forward(np.zeros((2, 6, 3, 3)), np.ones(gamma_shape), np.zeros((1, 6, 1, 1)), G, {})


SANDWICHES = [
    (
        "conv_relu_pool",
        lambda x, w, b: layer_utils.conv_relu_pool_forward(
            x, w, b, {"stride": 1, "pad": 1}, {"pool_height": 2, "pool_width": 2, "stride": 2}
        ),
        layer_utils.conv_relu_pool_backward,
    ),
]


@pytest.mark.parametrize("name, forward, backward", SANDWICHES, ids=[s[0] for s in SANDWICHES])
def test_sandwiches_pass_numerical_gradient_checks(name, forward, backward):
    rng = np.random.default_rng(5)
    inputs = [rng.standard_normal((2, 3, 4, 4)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)]
    out, cache = forward(*inputs)
    dout = rng.standard_normal(out.shape)
    for position, grad in enumerate(backward(dout, cache)):

        def f(value, position=position):
            args = list(inputs)
            args[position] = value
            return forward(*args)[0]

        numeric = eval_numerical_gradient_array(f, inputs[position].copy(), dout)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)
