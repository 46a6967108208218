"""im2col / col2im: compiled kernels against the NumPy twin, the adjoint identity, the fallback."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cifar_lessons.from_scratch import kernels


@st.composite
def geometries(draw):
    field_height, field_width = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    pad, stride = draw(st.integers(0, 2)), draw(st.integers(1, 3))
    height = draw(st.integers(max(1, field_height - 2 * pad), 9))
    width = draw(st.integers(max(1, field_width - 2 * pad), 9))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), height, width)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return shape, field_height, field_width, pad, stride, dtype, draw(st.integers(0, 2**31))


@settings(max_examples=150, deadline=None)
@given(geometries())
def test_kernels_match_numpy_and_are_adjoint(geometry):
    shape, fh, fw, pad, stride, dtype, seed = geometry
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    cols = kernels.im2col_matrix(x, fh, fw, pad, stride)
    assert cols.dtype == dtype
    np.testing.assert_array_equal(cols, np.concatenate(list(kernels.im2col_numpy(x, fh, fw, pad, stride)), axis=1))

    y = rng.standard_normal(cols.shape).astype(dtype)
    back = kernels.col2im_matrix(y, shape, fh, fw, pad, stride)
    assert back.dtype == dtype and back.shape == shape
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    per_image = y.reshape(cols.shape[0], shape[0], -1).transpose(1, 0, 2)
    np.testing.assert_allclose(
        back, kernels.col2im_numpy(per_image, shape, fh, fw, pad, stride), rtol=tolerance, atol=tolerance
    )
    # col2im is the adjoint of im2col: <im2col(x), y> == <x, col2im(y)>, up to the rounding of
    # col2im's sums, which is relative to the size of the terms, not of a sum that may cancel
    x64 = x.astype(np.float64)
    terms = np.vdot(np.abs(x64), np.abs(back))
    np.testing.assert_allclose(
        np.vdot(cols.astype(np.float64), y),
        np.vdot(x64, back),
        rtol=0,
        atol=(1e-5 if dtype == np.float32 else 1e-12) * terms,
    )


def test_layout_matches_a_weight_matrix_product():
    """cols is laid out so that w.reshape(F, -1) @ cols is the convolution, image after image."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((4, 3, 3, 3))
    out = (w.reshape(4, -1) @ kernels.im2col_matrix(x, 3, 3, pad=1, stride=2)).reshape(4, 2, 3, 3).transpose(1, 0, 2, 3)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    expected = np.einsum("nchw,fchw->nf", padded[:, :, 2:5, 4:7], w)  # output position (1, 2)
    np.testing.assert_allclose(out[:, :, 1, 2], expected)


def test_non_contiguous_input_is_accepted():
    x = np.random.default_rng(1).standard_normal((4, 3, 8, 8))[:, :, ::2]
    np.testing.assert_array_equal(
        kernels.im2col_matrix(x, 2, 2, 0, 1), np.concatenate(list(kernels.im2col_numpy(x, 2, 2, 0, 1)), axis=1)
    )


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: kernels.im2col_matrix(np.zeros((2, 3, 4)), 2, 2), "4-d NCHW"),
        (lambda: kernels.im2col_matrix(np.zeros((1, 1, 4, 4), np.int64), 2, 2), "float32 or float64"),
        (lambda: kernels.im2col_matrix(np.zeros((1, 1, 4, 4)), 6, 2, pad=0), "does not fit"),
        (lambda: kernels.im2col_matrix(np.zeros((1, 1, 4, 4)), 2, 2, stride=0), "stride must be a positive"),
        (lambda: kernels.im2col_matrix(np.zeros((1, 1, 4, 4)), 2, 2, pad=-1), "pad must be a non-negative"),
        (lambda: kernels.col2im_matrix(np.zeros((4, 8)), (1, 1, 4, 4), 2, 2), r"needs \(4, 9\)"),
    ],
)
def test_bad_arguments_say_what_is_wrong(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_compiled_kernels_are_live():
    assert kernels.BACKEND == "cython", "the extension is not built: run `pip install -e .`"


def test_missing_extension_falls_back_loudly_to_numpy():
    script = (
        "import sys, warnings\n"
        "sys.modules['cifar_lessons.from_scratch._im2col'] = None\n"  # makes the import fail as if never built
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    from cifar_lessons.from_scratch import kernels\n"
        "import numpy as np\n"
        "x = np.arange(32.).reshape(1, 2, 4, 4)\n"
        "assert np.array_equal(kernels.im2col_matrix(x, 2, 2, 1, 2), kernels.im2col_numpy(x, 2, 2, 1, 2)[0])\n"
        "print(kernels.BACKEND)\n"
        "print(caught[0].message)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    backend, message = result.stdout.split("\n", 1)
    assert backend == "numpy"
    assert "could not be imported" in message and "pip install -e ." in message


@settings(max_examples=60, deadline=None)
@given(geometries())
def test_matrix_layout_is_the_batch_side_by_side_and_overwrites_its_buffers(geometry):
    shape, fh, fw, pad, stride, dtype, seed = geometry
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    cols = kernels.im2col_numpy(x, fh, fw, pad, stride)
    buffer = np.full((cols.shape[1], shape[0] * cols.shape[2]), np.nan, dtype=dtype)  # garbage must not survive
    matrix = kernels.im2col_matrix(x, fh, fw, pad, stride, out=buffer)
    assert matrix is buffer
    np.testing.assert_array_equal(matrix, np.concatenate(list(cols), axis=1))

    y = rng.standard_normal(matrix.shape).astype(dtype)
    per_image = y.reshape(cols.shape[1], shape[0], -1).transpose(1, 0, 2)
    out = np.full(shape, np.nan, dtype=dtype)
    kernels.col2im_matrix(y, shape, fh, fw, pad, stride, out=out)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(
        out, kernels.col2im_numpy(per_image, shape, fh, fw, pad, stride), rtol=tolerance, atol=tolerance
    )


@st.composite
def pools(draw):
    height, width, stride = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    shape = (
        draw(st.integers(1, 3)),
        draw(st.integers(1, 3)),
        draw(st.integers(height, 9)),
        draw(st.integers(width, 9)),
    )
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    values = draw(st.sampled_from(["distinct", "ties", "nans"]))
    return shape, height, width, stride, dtype, values, draw(st.integers(0, 2**31))


@settings(max_examples=60, deadline=None)
@given(pools())
def test_max_pool_kernels_match_numpy(pool):
    shape, height, width, stride, dtype, values, seed = pool
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) if values != "ties" else rng.integers(0, 3, shape)
    x = x.astype(dtype)
    if values == "nans":
        x[rng.random(shape) < 0.3] = np.nan
    out, argmax = kernels.max_pool(x, height, width, stride)
    expected_out, expected_argmax = kernels.max_pool_numpy(x, height, width, stride)
    np.testing.assert_array_equal(out, expected_out)
    np.testing.assert_array_equal(argmax, expected_argmax)  # the first maximum on ties (or NaN), in both
    dout = rng.standard_normal(out.shape).astype(dtype)
    np.testing.assert_allclose(
        kernels.max_pool_scatter(dout, argmax, shape),
        kernels.max_pool_scatter_numpy(dout, expected_argmax, shape),
        rtol=1e-6,
    )


def test_matrix_buffers_of_the_wrong_shape_are_refused():
    x = np.zeros((2, 1, 4, 4))
    with pytest.raises(ValueError, match=r"out must be a C-contiguous float64 array of shape \(4, 18\)"):
        kernels.im2col_matrix(x, 2, 2, 0, 1, out=np.empty((4, 9)))


@pytest.mark.parametrize("position", [-(10**9), 16, 10**9])
def test_scatter_refuses_argmax_positions_outside_the_planes(position):
    # In a separate process: an unchecked position is written to, far outside dx, and crashes Python.
    script = (
        "import numpy as np\n"
        "from cifar_lessons.from_scratch import kernels\n"
        f"argmax = np.full((1, 2, 2, 2), {position}, dtype=np.int32)\n"
        "try:\n"
        "    kernels.max_pool_scatter(np.ones((1, 2, 2, 2)), argmax, (1, 2, 4, 4))\n"
        "except ValueError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr or f"exit status {result.returncode}"
    assert "argmax holds positions outside the 4x4 planes" in result.stdout


@pytest.mark.parametrize(
    "argmax, x_shape, message",
    [
        (np.zeros((1, 2, 2, 2), np.float64), (1, 2, 4, 4), "argmax must hold integer positions"),
        (np.zeros((1, 2, 2, 2), np.int32), (1, 2, 4), r"x_shape must be \(N, C, H, W\)"),
        (np.zeros((1, 2, 2), np.int32), (1, 2, 4, 4), "must match the pooled output"),
    ],
)
def test_scatter_refuses_what_max_pool_did_not_return(argmax, x_shape, message):
    with pytest.raises((ValueError, TypeError), match=message):
        kernels.max_pool_scatter(np.ones((1, 2, 2, 2)), argmax, x_shape)
