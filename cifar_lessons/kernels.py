"""im2col / col2im: the compiled kernels, and the NumPy twin used when they are missing.

``im2col(x, field_height, field_width, pad, stride)`` turns every receptive
field of an NCHW batch into a column:

    x    : (N, C, H, W)                 float32 or float64
    cols : (N, C*FH*FW, OH*OW)          row k = (c*FH + i)*FW + j, column p = oh*OW + ow
    OH = (H + 2*pad - FH) // stride + 1,  OW likewise

so that a convolution is ``w.reshape(F, -1) @ cols`` (one product per image,
already in NCHW order). ``col2im`` is its adjoint: it sums every column back
into the positions it was read from, which is exactly the backward pass.

``BACKEND`` says which implementation is live: ``"cython"`` or ``"numpy"``.
"""
import warnings

import numpy as np

try:
    from cifar_lessons import _im2col
except ImportError as error:  # the package was used from a source tree without being built
    _im2col = None
    warnings.warn(
        "cifar_lessons: the compiled im2col/col2im kernels could not be imported "
        f"({error}). Falling back to the NumPy implementation, which is several times slower. "
        "Fix: run `pip install -e .` in the repository root (it needs a C compiler; "
        "on Debian/Ubuntu `apt-get install build-essential`).",
        RuntimeWarning,
        stacklevel=2,
    )

BACKEND = "numpy" if _im2col is None else "cython"


def output_size(size, field, pad, stride):
    """Number of positions a window of ``field`` takes along an axis of ``size``."""
    return (size + 2 * pad - field) // stride + 1


def _check_geometry(height, width, field_height, field_width, pad, stride):
    for name, value in (("field_height", field_height), ("field_width", field_width), ("stride", stride)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if int(pad) != pad or pad < 0:
        raise ValueError(f"pad must be a non-negative integer, got {pad!r}")
    if field_height > height + 2 * pad or field_width > width + 2 * pad:
        raise ValueError(
            f"a {field_height}x{field_width} window does not fit a {height}x{width} input "
            f"padded by {pad}: use a smaller window or more padding"
        )


def _check_float(array, name):
    if array.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, got {array.dtype}: convert it with .astype(np.float32)")


def im2col(x, field_height, field_width, pad=0, stride=1):
    """Receptive fields as columns. x: (N, C, H, W) -> (N, C*FH*FW, OH*OW), same dtype."""
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"x must be a 4-d NCHW array, got shape {x.shape}")
    _check_float(x, "x")
    _check_geometry(x.shape[2], x.shape[3], field_height, field_width, pad, stride)
    if _im2col is None:
        return im2col_numpy(x, field_height, field_width, pad, stride)
    return _im2col.im2col(np.ascontiguousarray(x), field_height, field_width, pad, stride)


def col2im(cols, x_shape, field_height, field_width, pad=0, stride=1):
    """Adjoint of im2col. cols: (N, C*FH*FW, OH*OW) -> (N, C, H, W) = x_shape, windows summed."""
    cols = np.asarray(cols)
    _check_float(cols, "cols")
    N, C, H, W = x_shape
    _check_geometry(H, W, field_height, field_width, pad, stride)
    expected = (N, C * field_height * field_width,
                output_size(H, field_height, pad, stride) * output_size(W, field_width, pad, stride))
    if cols.shape != expected:
        raise ValueError(f"cols has shape {cols.shape}, but x_shape {tuple(x_shape)} with these "
                         f"window settings needs {expected}")
    if _im2col is None:
        return col2im_numpy(cols, x_shape, field_height, field_width, pad, stride)
    return _im2col.col2im(np.ascontiguousarray(cols), N, C, H, W, field_height, field_width, pad, stride)


def im2col_numpy(x, field_height, field_width, pad=0, stride=1):
    """Pure-NumPy im2col, same contract as :func:`im2col` (no argument checks)."""
    N, C, H, W = x.shape
    OH = output_size(H, field_height, pad, stride)
    OW = output_size(W, field_width, pad, stride)
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (field_height, field_width), axis=(2, 3))
    windows = windows[:, :, : OH * stride : stride, : OW * stride : stride]  # (N, C, OH, OW, FH, FW)
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape(N, C * field_height * field_width, OH * OW)


def col2im_numpy(cols, x_shape, field_height, field_width, pad=0, stride=1):
    """Pure-NumPy col2im, same contract as :func:`col2im` (no argument checks)."""
    N, C, H, W = x_shape
    OH = output_size(H, field_height, pad, stride)
    OW = output_size(W, field_width, pad, stride)
    fields = cols.reshape(N, C, field_height, field_width, OH, OW)
    padded = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=cols.dtype)
    for i in range(field_height):
        for j in range(field_width):
            padded[:, :, i : i + stride * OH : stride, j : j + stride * OW : stride] += fields[:, :, i, j]
    return np.ascontiguousarray(padded[:, :, pad : pad + H, pad : pad + W])
