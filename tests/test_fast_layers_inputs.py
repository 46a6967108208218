"""The fast layers on inputs they were not written for: what they cannot compute is refused before a
compiled kernel touches memory, and on inf, NaN and extreme magnitudes they agree with the naive layers.

Calls that could crash the interpreter run in a separate Python process, so that a crash fails
its test instead of ending the test run.
"""

import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cifar_lessons.from_scratch import fast_layers, layers, winograd

PREAMBLE = """\
import numpy as np
from cifar_lessons.from_scratch import fast_layers, winograd
from cifar_lessons.from_scratch import _winograd
x, w, b = np.ones((2, 1, 5, 5)), np.ones((1, 1, 3, 3)), np.ones(1)
out, cache = fast_layers.conv_forward_fast(x, w, b, {"stride": 1, "pad": 1})
"""


def refusal(call):
    """What ``call`` (Python source, after PREAMBLE) does in a fresh process: "refused: <message>"
    for a ValueError or TypeError, else how it ended."""
    code = PREAMBLE + textwrap.dedent(f"""\
        try:
            {call}
        except (ValueError, TypeError) as error:
            print(f"refused: {{error}}")
        else:
            print("computed")
        """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    if result.returncode:
        return f"crashed (exit status {result.returncode}): {result.stderr[-300:]}"
    return result.stdout.strip()


@pytest.mark.parametrize(
    "call, problem",
    [
        ("winograd.conv_forward(x, w, b, -1)", r"pad must be a non-negative integer, got -1"),
        ("winograd.conv_forward(x, w, np.ones(0), 1)", r"b must have shape \(1,\)"),
        ("winograd.conv_forward(x, w.astype(np.float32), b, 1)", "share one dtype"),
        ("winograd.conv_forward(x[:, :, ::2], w, b, 1)", "C-contiguous"),
        ("winograd.conv_backward(np.ones((2, 1, 9, 9)), x, w, 1)", r"dout must have shape \(2, 1, 5, 5\)"),
        ("fast_layers.conv_backward_fast(np.ones((2, 1, 1, 1)), (x, w, 1, -1))", "pad.*non-negative integer"),
        ("fast_layers.conv_backward_fast(out, (x, w, 1, 1, 0))", "tuple of 4 its forward pass returned"),
        ("_winograd.input_tiles(x, np.empty((16, 1, 2)), 1, 3, 3)", r"tiles must be \(16, 1, 18\)"),
        ("_winograd.input_tiles(x, np.empty((16, 1, 18)), -1, 3, 3)", "do not fit"),
        ("_winograd.output_maps(np.empty((16, 1, 18)), np.ones(0), out, 3, 3)", "1 filters but 0 biases"),
        ("_winograd.output_gradients(out, np.empty((16, 1, 2)), 3, 3)", r"must be \(16, 1, 18\)"),
        ("_winograd.input_gradients(np.empty((16, 1, 18)), np.empty((2, 1, 9, 9)), 1, 3, 3)", "do not fit"),
    ],
    ids=[
        "negative pad",
        "short bias",
        "mixed dtypes",
        "strided x",
        "wrong dout",
        "cache with negative pad",
        "cache of five",
        "kernel: short tiles",
        "kernel: negative pad",
        "kernel: short bias",
        "kernel: short gradients",
        "kernel: maps larger than the tiles",
    ],
)
def test_what_the_winograd_kernels_cannot_compute_is_refused_before_they_run(call, problem):
    answer = refusal(call)
    assert answer.startswith("refused: "), answer
    assert re.search(problem, answer), answer


@pytest.mark.parametrize(
    "stride",
    [float("nan"), float("inf"), None, "1", 1.5, [1] * 10**6],
    ids=["nan", "inf", "None", "str", "1.5", "list"],
)
@pytest.mark.parametrize("layer", ["conv_forward_fast", "conv_forward_naive"])
def test_a_stride_that_is_no_positive_integer_is_named(layer, stride):
    x, w, b = np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), np.ones(1)
    forward = getattr(fast_layers if layer.endswith("fast") else layers, layer)
    with pytest.raises(ValueError, match=r"conv_param\['stride'\] must be a positive integer, got ") as caught:
        forward(x, w, b, {"stride": stride, "pad": 1})
    assert len(str(caught.value)) < 200


def test_the_backward_passes_name_a_cache_from_the_other_kind_of_layer():
    x, w, b = np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), np.ones(1)
    conv_param = {"stride": 1, "pad": 1}
    out, naive_cache = layers.conv_forward_naive(x, w, b, conv_param)
    with pytest.raises(ValueError, match="conv_forward_naive.*conv_backward_naive"):
        fast_layers.conv_backward_fast(out, naive_cache)
    _, fast_cache = fast_layers.conv_forward_fast(x, w, b, conv_param)
    with pytest.raises(ValueError, match="conv_forward_fast.*conv_backward_fast"):
        layers.conv_backward_naive(out, fast_cache)
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 1}
    pooled, naive_cache = layers.max_pool_forward_naive(x, pool_param)
    with pytest.raises(ValueError, match="max_pool_forward_naive.*max_pool_backward_naive"):
        fast_layers.max_pool_backward_fast(pooled, naive_cache)


@pytest.mark.parametrize("dtype", [np.int64, np.float16, np.complex128, object])
@pytest.mark.parametrize(
    "layer, args",
    [
        ("affine_forward", lambda x: (x.reshape(2, -1), np.ones((25, 3), x.dtype), np.ones(3, x.dtype))),
        ("relu_forward", lambda x: (x,)),
        ("max_pool_forward_naive", lambda x: (x, {"pool_height": 2, "pool_width": 2, "stride": 1})),
        ("max_pool_forward_fast", lambda x: (x, {"pool_height": 2, "pool_width": 2, "stride": 1})),
        (
            "conv_forward_naive",
            lambda x: (x, np.ones((1, 1, 3, 3), x.dtype), np.ones(1, x.dtype), {"stride": 1, "pad": 1}),
        ),
        (
            "conv_forward_fast",
            lambda x: (x, np.ones((1, 1, 3, 3), x.dtype), np.ones(1, x.dtype), {"stride": 1, "pad": 1}),
        ),
    ],
)
def test_the_naive_layers_refuse_the_dtypes_the_fast_ones_refuse(layer, args, dtype):
    x = np.ones((2, 1, 5, 5), dtype=dtype)
    with pytest.raises(TypeError, match="float32 or float64"):
        getattr(fast_layers if layer.endswith("fast") else layers, layer)(*args(x))


# ---------------------------------------------------------------------------------------------
# inf, NaN and extreme magnitudes

SPECIAL_SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)


def specials(dtype, infinite=True):
    """inf, -inf, NaN and zero (with ``infinite``), and numbers near the largest and the smallest normal
    ones of ``dtype``. Zero times inf is NaN, but BLAS may skip a product whose factor is zero, so the
    naive layer's own result is then the library's choice: an array meeting another's inf or NaN in a
    product holds finite numbers, none zero."""
    info = np.finfo(dtype)
    large = float(info.max) / 64  # sums of a few products of it with normal numbers stay finite in any order
    finite = [large, -large, float(info.tiny), -float(info.tiny)]
    return finite + [np.inf, -np.inf, np.nan, 0.0] if infinite else finite


@st.composite
def arrays_with_specials(draw, shape, dtype, infinite=True, scale=1.0):
    """Standard normal entries times ``scale``, a few replaced by :func:`specials`."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    array = (rng.standard_normal(shape) * scale).astype(dtype)
    for _ in range(draw(st.integers(0, 3))):
        position = tuple(draw(st.integers(0, size - 1)) for size in shape)
        array[position] = draw(st.sampled_from(specials(dtype, infinite)))
    return array


@st.composite
def convolutions(draw):
    """x and b with any special numbers; w and dout, which meet x's padding zeros in products, with finite ones."""
    pad, dtype = draw(st.integers(0, 2)), draw(st.sampled_from([np.float32, np.float64]))
    N, C, F = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    H, W = draw(st.integers(max(1, 3 - 2 * pad), 6)), draw(st.integers(max(1, 3 - 2 * pad), 6))
    x = draw(arrays_with_specials((N, C, H, W), dtype))
    w = draw(arrays_with_specials((F, C, 3, 3), dtype, infinite=False, scale=1e-3))
    b = draw(arrays_with_specials((F,), dtype))
    dout = draw(arrays_with_specials((N, F, H + 2 * pad - 2, W + 2 * pad - 2), dtype, infinite=False))
    return x, w, b, dout, {"stride": 1, "pad": pad}


def assert_agree(fast, naive):
    """Equal where the naive result is inf or NaN; elsewhere close, relative to its largest finite entry."""
    fast, naive = np.asarray(fast), np.asarray(naive)
    assert fast.shape == naive.shape and fast.dtype == naive.dtype
    np.testing.assert_array_equal(np.isnan(fast), np.isnan(naive))
    np.testing.assert_array_equal(fast[np.isinf(naive)], naive[np.isinf(naive)])
    finite = np.isfinite(naive)
    assert np.isfinite(fast[finite]).all()
    scale = max(1.0, np.abs(naive[finite]).max(initial=0))
    tolerance = 1e-4 if naive.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(fast[finite], naive[finite], rtol=0, atol=tolerance * scale)


@SPECIAL_SETTINGS
@given(convolutions())
def test_fast_convolutions_agree_with_naive_on_inf_nan_and_extremes(case):
    x, w, b, dout, conv_param = case
    assert winograd.applies(w.shape, conv_param["stride"])
    with np.errstate(all="ignore"):
        fast, fast_cache = fast_layers.conv_forward_fast(x, w, b, conv_param)
        naive, naive_cache = layers.conv_forward_naive(x, w, b, conv_param)
        assert_agree(fast, naive)
        for fast_grad, naive_grad in zip(
            fast_layers.conv_backward_fast(dout, fast_cache), layers.conv_backward_naive(dout, naive_cache)
        ):
            assert_agree(fast_grad, naive_grad)


def test_one_infinite_pixel_and_large_inputs_give_the_naive_results():
    x, w, b = np.zeros((1, 1, 6, 6), np.float32), np.full((1, 1, 3, 3), 0.01, np.float32), np.zeros(1, np.float32)
    x[0, 0, 2, 2] = np.inf
    conv_param = {"stride": 1, "pad": 1}
    with np.errstate(all="ignore"):
        fast, _ = fast_layers.conv_forward_fast(x, w, b, conv_param)
    assert not np.isnan(fast).any() and np.isinf(fast).sum() == 9
    large = np.full((1, 1, 6, 6), 1e38, np.float32)
    fast, _ = fast_layers.conv_forward_fast(large, w, b, conv_param)
    np.testing.assert_allclose(fast, layers.conv_forward_naive(large, w, b, conv_param)[0], rtol=1e-5)


@st.composite
def poolings(draw):
    height, width, stride = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    H, W = height + stride * draw(st.integers(0, 3)), width + stride * draw(st.integers(0, 3))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    x = draw(arrays_with_specials((2, 2, H, W), dtype))
    pool_param = {"pool_height": height, "pool_width": width, "stride": stride}
    OH, OW = (H - height) // stride + 1, (W - width) // stride + 1
    return x, draw(arrays_with_specials((2, 2, OH, OW), dtype)), pool_param


@SPECIAL_SETTINGS
@given(poolings())
def test_fast_pooling_agrees_with_naive_on_inf_nan_and_extremes(case):
    x, dout, pool_param = case
    with np.errstate(all="ignore"):
        fast, fast_cache = fast_layers.max_pool_forward_fast(x, pool_param)
        naive, naive_cache = layers.max_pool_forward_naive(x, pool_param)
        assert_agree(fast, naive)
        assert_agree(
            fast_layers.max_pool_backward_fast(dout, fast_cache), layers.max_pool_backward_naive(dout, naive_cache)
        )
